/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-account-auth.h"
#ifdef TERN_HAVE_GOA
#include "tern-credentials-goa.h"
#endif
#include "tern-imap-client.h"
#include "tern-pop3-client.h"
#include "tern-sasl.h"
#include "tern-smtp-client.h"

/* A token is not used in its last minute: the login may take that long. */
#define EXPIRY_MARGIN_SECONDS 60
/* How long a token is kept when the provider did not say how long it lasts. */
#define UNKNOWN_LIFETIME_SECONDS 600
/* A token the provider gave this recently, refused at once, is not worth
 * asking for again. */
#define FRESH_SECONDS 60

struct _TernAccountAuth
{
  GObject parent_instance;

  TernAccount *account;
  TernCredentials *credentials;
  TernOAuth2 *oauth2;

  /* The cached access token, wiped when dropped, and when it stops being
   * used (monotonic microseconds). */
  char *access_token;
  gint64 valid_until;
  /* The last token handed out came straight from the provider (at
   * obtained_at, monotonic microseconds): a refusal soon after is not cured
   * by asking again. */
  gboolean token_fresh;
  gint64 obtained_at;
};

G_DEFINE_FINAL_TYPE (TernAccountAuth, tern_account_auth, G_TYPE_OBJECT)

static void
tern_account_auth_finalize (GObject *object)
{
  TernAccountAuth *self = TERN_ACCOUNT_AUTH (object);

  g_clear_pointer (&self->access_token, tern_credentials_free_secret);
  g_clear_object (&self->account);
  g_clear_object (&self->credentials);
  g_clear_object (&self->oauth2);

  G_OBJECT_CLASS (tern_account_auth_parent_class)->finalize (object);
}

static void
tern_account_auth_class_init (TernAccountAuthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_account_auth_finalize;
}

static void
tern_account_auth_init (TernAccountAuth *self)
{
}

/**
 * tern_account_auth_new:
 * @account: the account
 * @credentials: where its passwords or its refresh token are kept (usually
 *   tern_credentials_for_account())
 *
 * Returns: (transfer full): the account's logins.
 */
TernAccountAuth *
tern_account_auth_new (TernAccount     *account,
                       TernCredentials *credentials)
{
  TernAccountAuth *self;

  g_return_val_if_fail (TERN_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (TERN_IS_CREDENTIALS (credentials), NULL);

  self = g_object_new (TERN_TYPE_ACCOUNT_AUTH, NULL);
  self->account = g_object_ref (account);
  self->credentials = g_object_ref (credentials);

  return self;
}

/**
 * tern_account_auth_get_account:
 *
 * Returns: (transfer none): the account.
 */
TernAccount *
tern_account_auth_get_account (TernAccountAuth *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT_AUTH (self), NULL);

  return self->account;
}

/**
 * tern_account_auth_uses_oauth2:
 *
 * Returns: %TRUE when the secrets are OAuth2 access tokens, to be handed
 *   to the engines with their set_oauth2_login() setters.
 */
gboolean
tern_account_auth_uses_oauth2 (TernAccountAuth *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT_AUTH (self), FALSE);

  return tern_account_get_auth_method (self->account) == TERN_AUTH_METHOD_OAUTH2;
}

/**
 * tern_account_auth_set_oauth2:
 * @oauth2: (nullable): the sign-in to refresh tokens with
 *
 * Replaces the sign-in made from the account's settings
 * (tern_oauth2_new_for_account()).
 */
void
tern_account_auth_set_oauth2 (TernAccountAuth *self,
                              TernOAuth2      *oauth2)
{
  g_return_if_fail (TERN_IS_ACCOUNT_AUTH (self));

  g_set_object (&self->oauth2, oauth2);
}

/**
 * tern_account_auth_forget_token:
 *
 * Drops the cached access token; the next secret is a fresh one.
 */
void
tern_account_auth_forget_token (TernAccountAuth *self)
{
  g_return_if_fail (TERN_IS_ACCOUNT_AUTH (self));

  g_clear_pointer (&self->access_token, tern_credentials_free_secret);
  self->valid_until = 0;
}

static void
password_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *secret = tern_credentials_lookup_finish (TERN_CREDENTIALS (source), result, &error);

  if (secret == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, secret, (GDestroyNotify) tern_credentials_free_secret);
}

/* Keeps @token, which lasts @expires_in seconds (0: not said), and
 * hands it to @task. */
static void
keep_token (GTask  *task,
            char   *token,
            gint64  expires_in)
{
  TernAccountAuth *self = g_task_get_source_object (task);

  if (expires_in <= 0)
    expires_in = UNKNOWN_LIFETIME_SECONDS;
  tern_account_auth_forget_token (self);
  self->access_token = g_strdup (token);
  self->valid_until = g_get_monotonic_time () +
                      MAX (expires_in - EXPIRY_MARGIN_SECONDS, 0) * G_USEC_PER_SEC;
  self->token_fresh = TRUE;
  self->obtained_at = g_get_monotonic_time ();
  g_task_return_pointer (task, token, (GDestroyNotify) tern_credentials_free_secret);
}

static void
token_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  gint64 expires_in = 0;
  char *token = tern_oauth2_get_access_token_finish_full (TERN_OAUTH2 (source), result,
                                                          &expires_in, &error);

  if (token == NULL)
    g_task_return_error (task, error);
  else
    keep_token (task, token, expires_in);
}

#ifdef TERN_HAVE_GOA
static void
goa_token_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  gint expires_in = 0;
  char *token = tern_credentials_goa_get_access_token_finish (TERN_CREDENTIALS_GOA (source),
                                                              result, &expires_in, &error);

  if (token == NULL)
    g_task_return_error (task, error);
  else
    keep_token (task, token, expires_in);
}
#endif

/**
 * tern_account_auth_get_secret_async:
 * @kind: %TERN_CREDENTIAL_RECEIVING_PASSWORD or
 *   %TERN_CREDENTIAL_SENDING_PASSWORD: which server it is for
 *
 * Gets what the engines log in with: for a password account the password
 * of @kind; for an OAuth2 account the cached access token while it is
 * good, else a new one from the provider, got with the refresh token in
 * the credentials (a rotated refresh token is stored back).
 */
void
tern_account_auth_get_secret_async (TernAccountAuth     *self,
                                    TernCredentialKind   kind,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  GTask *task;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_ACCOUNT_AUTH (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_account_auth_get_secret_async);

  if (!tern_account_auth_uses_oauth2 (self))
    {
      tern_credentials_lookup_async (self->credentials, tern_account_get_id (self->account), kind,
                                     cancellable, password_cb, task);
      return;
    }

  if (self->access_token != NULL && g_get_monotonic_time () < self->valid_until)
    {
      self->token_fresh = FALSE;
      g_task_return_pointer (task, g_strdup (self->access_token),
                             (GDestroyNotify) tern_credentials_free_secret);
      g_object_unref (task);
      return;
    }

#ifdef TERN_HAVE_GOA
  /* An online account: GOA signs in and refreshes; Tern asks it. */
  if (TERN_IS_CREDENTIALS_GOA (self->credentials))
    {
      tern_credentials_goa_get_access_token_async (TERN_CREDENTIALS_GOA (self->credentials),
                                                   cancellable, goa_token_cb, task);
      return;
    }
#endif

  if (self->oauth2 == NULL)
    {
      self->oauth2 = tern_oauth2_new_for_account (self->account, &error);
      if (self->oauth2 == NULL)
        {
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
    }

  tern_oauth2_get_access_token_async (self->oauth2, self->credentials,
                                      tern_account_get_id (self->account), cancellable, token_cb,
                                      task);
}

/**
 * tern_account_auth_get_secret_finish:
 *
 * Returns: (transfer full) (nullable): the password or the access token,
 *   to be freed with tern_credentials_free_secret(); %NULL with the
 *   credentials' error (%TERN_CREDENTIALS_ERROR_NOT_FOUND: no refresh
 *   token, sign in again) or the provider's (%TERN_OAUTH2_ERROR_REFUSED:
 *   the refresh token was revoked or expired).
 */
char *
tern_account_auth_get_secret_finish (TernAccountAuth  *self,
                                     GAsyncResult     *result,
                                     GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
is_login_refused (const GError *error)
{
  return g_error_matches (error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID) ||
         g_error_matches (error, TERN_IMAP_CLIENT_ERROR,
                          TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED) ||
         g_error_matches (error, TERN_POP3_ERROR, TERN_POP3_ERROR_AUTH_FAILED) ||
         g_error_matches (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_AUTH_FAILED);
}

/**
 * tern_account_auth_retry_after_error:
 * @error: why a login or a run of an engine failed
 *
 * For an OAuth2 account whose server refused a token Tern had kept: the
 * token is forgotten, and the caller should get a secret again and log in
 * once more.  A token straight from the provider, refused within a minute,
 * is not retried (asking again would give the same answer), and nor is any
 * other error.  A caller that kept a token itself (a POP3 downloader
 * checking every few minutes) gets the retry once the token is older.
 *
 * Returns: %TRUE when one more login with a fresh token is worth it.
 */
gboolean
tern_account_auth_retry_after_error (TernAccountAuth *self,
                                     const GError    *error)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT_AUTH (self), FALSE);

  if (!tern_account_auth_uses_oauth2 (self) || error == NULL || !is_login_refused (error))
    return FALSE;

  tern_account_auth_forget_token (self);
  return !self->token_fresh ||
         g_get_monotonic_time () - self->obtained_at > FRESH_SECONDS * G_USEC_PER_SEC;
}
