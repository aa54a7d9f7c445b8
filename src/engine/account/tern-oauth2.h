/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-credentials.h"

G_BEGIN_DECLS

/*
 * OAuth2 sign-in for mail providers that want it (Google, Microsoft):
 * the authorization code flow with PKCE (RFC 7636) for a native app
 * (RFC 8252): the system browser opens the provider's page, the provider
 * redirects to a one-time HTTP server on 127.0.0.1, and the code is
 * exchanged for tokens.  The refresh token is kept with the account's
 * credentials; the access token goes to the engines for XOAUTH2 or
 * OAUTHBEARER.
 */

#define TERN_OAUTH2_ERROR (tern_oauth2_error_quark ())

typedef enum
{
  /* The provider has no client ID in this build of Tern. */
  TERN_OAUTH2_ERROR_NOT_CONFIGURED,
  /* The user said no, or closed the page (no answer in time). */
  TERN_OAUTH2_ERROR_DENIED,
  /* The provider answered with an error, such as an expired refresh token. */
  TERN_OAUTH2_ERROR_REFUSED,
  /* The answer was not what OAuth2 says (a wrong state, bad JSON). */
  TERN_OAUTH2_ERROR_PROTOCOL,
  /* The browser could not be opened. */
  TERN_OAUTH2_ERROR_BROWSER,
} TernOAuth2Error;

GQuark tern_oauth2_error_quark (void);

typedef struct
{
  char *access_token;
  /* NULL when the provider did not send a new one. */
  char *refresh_token;
  /* Seconds from when it was issued; 0 when unknown. */
  gint64 expires_in;
} TernOAuth2Tokens;

void tern_oauth2_tokens_free (TernOAuth2Tokens *tokens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernOAuth2Tokens, tern_oauth2_tokens_free)

/* Opens @uri for the user; by default in the system browser. */
typedef gboolean (*TernOAuth2OpenUriFunc) (const char  *uri,
                                           gpointer     user_data,
                                           GError     **error);

#define TERN_TYPE_OAUTH2 (tern_oauth2_get_type ())

G_DECLARE_FINAL_TYPE (TernOAuth2, tern_oauth2, TERN, OAUTH2, GObject)

TernOAuth2       *tern_oauth2_new                   (const char             *authorization_uri,
                                                     const char             *token_uri,
                                                     const char             *client_id,
                                                     const char             *client_secret,
                                                     const char             *scope);
TernOAuth2       *tern_oauth2_new_for_provider      (const char             *provider,
                                                     GError                **error);
const char       *tern_oauth2_provider_for_host     (const char             *host);
void              tern_oauth2_set_open_uri_func     (TernOAuth2             *self,
                                                     TernOAuth2OpenUriFunc   func,
                                                     gpointer                user_data);
void              tern_oauth2_set_timeout           (TernOAuth2             *self,
                                                     guint                   seconds);

void              tern_oauth2_authorize_async       (TernOAuth2             *self,
                                                     const char             *login_hint,
                                                     GCancellable           *cancellable,
                                                     GAsyncReadyCallback     callback,
                                                     gpointer                user_data);
TernOAuth2Tokens *tern_oauth2_authorize_finish      (TernOAuth2             *self,
                                                     GAsyncResult           *result,
                                                     GError                **error);
void              tern_oauth2_refresh_async         (TernOAuth2             *self,
                                                     const char             *refresh_token,
                                                     GCancellable           *cancellable,
                                                     GAsyncReadyCallback     callback,
                                                     gpointer                user_data);
TernOAuth2Tokens *tern_oauth2_refresh_finish        (TernOAuth2             *self,
                                                     GAsyncResult           *result,
                                                     GError                **error);
void              tern_oauth2_get_access_token_async  (TernOAuth2           *self,
                                                       TernCredentials      *credentials,
                                                       const char           *account_id,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char             *tern_oauth2_get_access_token_finish (TernOAuth2           *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
char             *tern_oauth2_get_access_token_finish_full (TernOAuth2      *self,
                                                            GAsyncResult    *result,
                                                            gint64          *out_expires_in,
                                                            GError         **error);

TernOAuth2       *tern_oauth2_new_for_account       (TernAccount            *account,
                                                     GError                **error);

G_END_DECLS
