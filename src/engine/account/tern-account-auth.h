/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account.h"
#include "tern-credentials.h"
#include "tern-oauth2.h"

G_BEGIN_DECLS

/*
 * What an account's engines log in with: the password from the account's
 * credentials, or, for an account with Auth=oauth2, an OAuth2 access token
 * got with the refresh token those credentials keep.  The access token is
 * kept in memory until shortly before it expires and is never written
 * anywhere; when a server refuses it, tern_account_auth_retry_after_error()
 * says whether to get a fresh one and log in once more.
 *
 * One #TernAccountAuth per account and process; not thread-safe (use it
 * from one main context).
 */

#define TERN_TYPE_ACCOUNT_AUTH (tern_account_auth_get_type ())

G_DECLARE_FINAL_TYPE (TernAccountAuth, tern_account_auth, TERN, ACCOUNT_AUTH, GObject)

TernAccountAuth *tern_account_auth_new               (TernAccount          *account,
                                                      TernCredentials      *credentials);
TernAccount     *tern_account_auth_get_account       (TernAccountAuth      *self);
gboolean         tern_account_auth_uses_oauth2       (TernAccountAuth      *self);
void             tern_account_auth_set_oauth2        (TernAccountAuth      *self,
                                                      TernOAuth2           *oauth2);

void             tern_account_auth_get_secret_async  (TernAccountAuth      *self,
                                                      TernCredentialKind    kind,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
char            *tern_account_auth_get_secret_finish (TernAccountAuth      *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);

gboolean         tern_account_auth_retry_after_error (TernAccountAuth      *self,
                                                      const GError         *error);
void             tern_account_auth_forget_token      (TernAccountAuth      *self);

G_END_DECLS
