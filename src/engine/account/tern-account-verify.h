/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account.h"
#include "tern-trust.h"

G_BEGIN_DECLS

/*
 * Verifying an account's settings by logging in to both of its servers:
 * the receiving one (IMAP or POP3) and the sending one (SMTP), with the
 * account's security, the user's pinned certificates and the passwords
 * given.  Nothing is read or sent beyond the login.
 */

#define TERN_VERIFY_ERROR (tern_verify_error_quark ())

typedef enum
{
  /* The server refused the user name or password. */
  TERN_VERIFY_ERROR_LOGIN_REFUSED,
  /* The server's answers were not the protocol's. */
  TERN_VERIFY_ERROR_PROTOCOL,
  /* Logging in would send the password in clear, which the account's
   * security does not allow, or the server offers no way Tern can use. */
  TERN_VERIFY_ERROR_NO_SAFE_LOGIN,
} TernVerifyError;

GQuark   tern_verify_error_quark    (void);

void     tern_account_verify_async  (TernAccount          *account,
                                     const char           *receiving_password,
                                     const char           *sending_password,
                                     TernTrustStore       *trust,
                                     GTlsDatabase         *database,
                                     const char           *local_address,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean tern_account_verify_finish (GAsyncResult         *result,
                                     GError              **error);

G_END_DECLS
