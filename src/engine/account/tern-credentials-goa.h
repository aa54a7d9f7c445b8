/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-credentials.h"

G_BEGIN_DECLS

/*
 * The passwords of an account made from a GNOME Online Accounts account:
 * GOA keeps them (in the user's keyring) and hands them out over D-Bus
 * (org.gnome.OnlineAccounts.PasswordBased.GetPassword, "imap-password" and
 * "smtp-password"), or, for an OAuth2 online account such as Google's,
 * access tokens (org.gnome.OnlineAccounts.OAuth2Based.GetAccessToken).
 * Read only: the user changes them in Settings.  Built only with libgoa
 * (TERN_HAVE_GOA).
 */

#define TERN_TYPE_CREDENTIALS_GOA (tern_credentials_goa_get_type ())

G_DECLARE_FINAL_TYPE (TernCredentialsGoa, tern_credentials_goa, TERN, CREDENTIALS_GOA, GObject)

TernCredentials *tern_credentials_goa_new (const char *goa_id);

void             tern_credentials_goa_get_access_token_async  (TernCredentialsGoa  *self,
                                                               GCancellable        *cancellable,
                                                               GAsyncReadyCallback  callback,
                                                               gpointer             user_data);
char            *tern_credentials_goa_get_access_token_finish (TernCredentialsGoa  *self,
                                                               GAsyncResult        *result,
                                                               gint                *expires_in,
                                                               GError             **error);

G_END_DECLS
