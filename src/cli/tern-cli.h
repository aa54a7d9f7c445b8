/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-engine.h"

G_BEGIN_DECLS

/* Exit statuses of tern-cli. */
enum {
  TERN_CLI_EXIT_OK = 0,
  TERN_CLI_EXIT_FAILURE = 1,
  TERN_CLI_EXIT_USAGE = 2,
};

typedef struct _TernCliContext TernCliContext;

struct _TernCliContext
{
  /* The profile's folders: from --data-dir, or the XDG base directories. */
  TernPaths *paths;
};

typedef int (*TernCliCommandFunc) (TernCliContext  *context,
                                   int              argc,
                                   char           **argv);

typedef struct
{
  const char         *name;
  const char         *summary;
  TernCliCommandFunc  run;
} TernCliCommand;

int  tern_cli_run          (int              argc,
                            char           **argv);

int  tern_cli_command_info (TernCliContext  *context,
                            int              argc,
                            char           **argv);

G_END_DECLS
