/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-engine.h"
#include "tern-store.h"
#include "tern-account.h"
#include "tern-connection.h"
#include "tern-credentials.h"

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
  /* Opened by the first command that needs it. */
  TernStore *store;
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

TernStore    *tern_cli_open_store    (TernCliContext  *context,
                                     GError         **error);
GAsyncResult *tern_cli_wait         (GAsyncResult   **slot);
void          tern_cli_got_result   (GObject         *source,
                                     GAsyncResult    *result,
                                     gpointer         user_data);
gboolean      tern_cli_parse        (const char      *command,
                                     const char      *parameters,
                                     const char      *summary,
                                     const GOptionEntry *entries,
                                     int             *argc,
                                     char          ***argv);
TernFolder   *tern_cli_find_folder  (TernCliContext  *context,
                                     const char      *name,
                                     gboolean         create,
                                     GError         **error);

int  tern_cli_command_info    (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_import  (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_list    (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_show    (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_search  (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_export  (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_folders (TernCliContext  *context,
                               int              argc,
                               char           **argv);
int  tern_cli_command_account    (TernCliContext  *context,
                                  int              argc,
                                  char           **argv);
int  tern_cli_command_identity   (TernCliContext  *context,
                                  int              argc,
                                  char           **argv);
int  tern_cli_command_autoconfig (TernCliContext  *context,
                                  int              argc,
                                  char           **argv);
int  tern_cli_command_trust      (TernCliContext  *context,
                                  int              argc,
                                  char           **argv);
int  tern_cli_command_fetch   (TernCliContext  *context, int argc, char **argv);
int  tern_cli_command_send    (TernCliContext  *context, int argc, char **argv);
int  tern_cli_command_outbox  (TernCliContext  *context, int argc, char **argv);
TernAccount  *tern_cli_load_account  (TernCliContext *context, const char *id, GError **error);
char         *tern_cli_lookup_secret (TernAccount *account, TernCredentialKind kind, GError **error);
GTlsDatabase *tern_cli_tls_database  (const char *ca_file, GError **error);
char         *tern_cli_trusted_pin   (TernCliContext *context, const char *host, guint16 port);
TernConnectionSecurity tern_cli_connection_security (TernSecurity security);
int  tern_cli_bench_mail      (TernCliContext  *context, int argc, char **argv);
int  tern_cli_command_bench   (TernCliContext  *context,
                               int              argc,
                               char           **argv);

G_END_DECLS
