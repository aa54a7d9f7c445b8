/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-credentials.h"

G_BEGIN_DECLS

/* How long a password command may run before it is stopped: long enough
 * for the user to type a gpg passphrase. */
#define TERN_CREDENTIALS_COMMAND_DEFAULT_TIMEOUT_MSEC (120 * 1000)

/* The most output a password command may print. */
#define TERN_CREDENTIALS_COMMAND_MAX_OUTPUT (64 * 1024)

#define TERN_TYPE_CREDENTIALS_COMMAND (tern_credentials_command_get_type ())

G_DECLARE_FINAL_TYPE (TernCredentialsCommand, tern_credentials_command, TERN,
                      CREDENTIALS_COMMAND, GObject)

TernCredentials *tern_credentials_command_new         (const char             *receiving_command,
                                                       const char             *sending_command,
                                                       TernCredentials        *fallback);
void             tern_credentials_command_set_timeout (TernCredentialsCommand *self,
                                                       guint                   msec);

G_END_DECLS
