/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#define GOA_API_IS_SUBJECT_TO_CHANGE
#include <goa/goa.h>

#include "tern-credentials-goa.h"

struct _TernCredentialsGoa
{
  GObject parent_instance;

  char *goa_id;
};

static void tern_credentials_goa_iface_init (TernCredentialsInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TernCredentialsGoa, tern_credentials_goa, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TERN_TYPE_CREDENTIALS,
                                                      tern_credentials_goa_iface_init))

typedef struct
{
  TernCredentialKind kind;
  GoaObject *object;
  /* An access token is asked for, not a password. */
  gboolean token;
  gint expires_in;
} Lookup;

static void
lookup_free (Lookup *lookup)
{
  g_clear_object (&lookup->object);
  g_free (lookup);
}

static void
got_password_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  char *password = NULL;

  if (!goa_password_based_call_get_password_finish (GOA_PASSWORD_BASED (source), &password,
                                                    result, &error))
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "GNOME Online Accounts has no password for it: %s",
                               error->message);
      return;
    }
  if (password == NULL || *password == '\0')
    {
      g_free (password);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "GNOME Online Accounts has an empty password for it");
      return;
    }

  g_task_return_pointer (task, password, (GDestroyNotify) tern_credentials_free_secret);
}

static void
got_token_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  char *token = NULL;

  if (!goa_oauth2_based_call_get_access_token_finish (GOA_OAUTH2_BASED (source), &token,
                                                      &lookup->expires_in, result, &error))
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_FAILED,
                               "GNOME Online Accounts gave no access token: %s",
                               error->message);
      return;
    }
  if (token == NULL || *token == '\0')
    {
      g_free (token);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_FAILED,
                               "GNOME Online Accounts gave an empty access token");
      return;
    }

  g_task_return_pointer (task, token, (GDestroyNotify) tern_credentials_free_secret);
}

static void
got_client_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernCredentialsGoa *self = g_task_get_source_object (task);
  Lookup *lookup = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GoaClient) client = goa_client_new_finish (result, &error);
  GoaPasswordBased *password_based;

  if (client == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_FAILED,
                               "GNOME Online Accounts cannot be reached: %s", error->message);
      return;
    }

  lookup->object = goa_client_lookup_by_id (client, self->goa_id);
  if (lookup->object == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "the online account “%s” is no longer in GNOME Online Accounts",
                               self->goa_id);
      return;
    }

  if (lookup->token)
    {
      GoaOAuth2Based *oauth2_based = goa_object_peek_oauth2_based (lookup->object);

      if (oauth2_based == NULL)
        {
          g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                                   "the online account “%s” does not sign in with OAuth2",
                                   self->goa_id);
          return;
        }
      goa_oauth2_based_call_get_access_token (oauth2_based, g_task_get_cancellable (task),
                                              got_token_cb, g_object_ref (task));
      return;
    }

  password_based = goa_object_peek_password_based (lookup->object);
  if (password_based == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "the online account “%s” does not sign in with a password",
                               self->goa_id);
      return;
    }

  goa_password_based_call_get_password (password_based,
                                        lookup->kind == TERN_CREDENTIAL_SENDING_PASSWORD
                                          ? "smtp-password" : "imap-password",
                                        g_task_get_cancellable (task), got_password_cb,
                                        g_object_ref (task));
}

static void
goa_lookup_async (TernCredentials     *credentials,
                  const char          *account_id,
                  TernCredentialKind   kind,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GTask *task = g_task_new (credentials, cancellable, callback, user_data);
  Lookup *lookup;

  g_task_set_source_tag (task, goa_lookup_async);
  if (kind != TERN_CREDENTIAL_RECEIVING_PASSWORD && kind != TERN_CREDENTIAL_SENDING_PASSWORD)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "GNOME Online Accounts keeps no %s for Tern",
                               tern_credential_kind_to_string (kind));
      g_object_unref (task);
      return;
    }

  lookup = g_new0 (Lookup, 1);
  lookup->kind = kind;
  g_task_set_task_data (task, lookup, (GDestroyNotify) lookup_free);
  goa_client_new (cancellable, got_client_cb, task);
}

static char *
goa_lookup_finish (TernCredentials  *credentials,
                   GAsyncResult     *result,
                   GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
read_only_async (TernCredentials     *credentials,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  GTask *task = g_task_new (credentials, cancellable, callback, user_data);

  g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_READ_ONLY,
                           "the passwords of an online account are changed in Settings, "
                           "Online Accounts");
  g_object_unref (task);
}

static void
goa_store_async (TernCredentials     *credentials,
                 const char          *account_id,
                 TernCredentialKind   kind,
                 const char          *secret,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  read_only_async (credentials, cancellable, callback, user_data);
}

static void
goa_delete_async (TernCredentials     *credentials,
                  const char          *account_id,
                  TernCredentialKind   kind,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  read_only_async (credentials, cancellable, callback, user_data);
}

static gboolean
goa_finish_boolean (TernCredentials  *credentials,
                    GAsyncResult     *result,
                    GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
tern_credentials_goa_iface_init (TernCredentialsInterface *iface)
{
  iface->lookup_async = goa_lookup_async;
  iface->lookup_finish = goa_lookup_finish;
  iface->store_async = goa_store_async;
  iface->store_finish = goa_finish_boolean;
  iface->delete_async = goa_delete_async;
  iface->delete_finish = goa_finish_boolean;
}

static void
tern_credentials_goa_finalize (GObject *object)
{
  TernCredentialsGoa *self = TERN_CREDENTIALS_GOA (object);

  g_free (self->goa_id);

  G_OBJECT_CLASS (tern_credentials_goa_parent_class)->finalize (object);
}

static void
tern_credentials_goa_class_init (TernCredentialsGoaClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_credentials_goa_finalize;
}

static void
tern_credentials_goa_init (TernCredentialsGoa *self)
{
}

/**
 * tern_credentials_goa_new:
 * @goa_id: the online account's id (goa_account_get_id())
 *
 * Returns: (transfer full): the passwords GOA keeps for that account.
 */
TernCredentials *
tern_credentials_goa_new (const char *goa_id)
{
  TernCredentialsGoa *self;

  g_return_val_if_fail (goa_id != NULL, NULL);

  self = g_object_new (TERN_TYPE_CREDENTIALS_GOA, NULL);
  self->goa_id = g_strdup (goa_id);

  return TERN_CREDENTIALS (self);
}

/**
 * tern_credentials_goa_get_access_token_async:
 *
 * Asks GNOME Online Accounts for an access token of an OAuth2 online
 * account (org.gnome.OnlineAccounts.OAuth2Based.GetAccessToken); GOA
 * refreshes it itself.
 */
void
tern_credentials_goa_get_access_token_async (TernCredentialsGoa  *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  GTask *task;
  Lookup *lookup;

  g_return_if_fail (TERN_IS_CREDENTIALS_GOA (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_credentials_goa_get_access_token_async);
  lookup = g_new0 (Lookup, 1);
  lookup->token = TRUE;
  g_task_set_task_data (task, lookup, (GDestroyNotify) lookup_free);
  goa_client_new (cancellable, got_client_cb, task);
}

/**
 * tern_credentials_goa_get_access_token_finish:
 * @expires_in: (out) (optional): the seconds the token lasts, 0 when GOA
 *   does not say
 *
 * Returns: (transfer full): the token, to be freed with
 *   tern_credentials_free_secret(), or %NULL with @error set.
 */
char *
tern_credentials_goa_get_access_token_finish (TernCredentialsGoa  *self,
                                              GAsyncResult        *result,
                                              gint                *expires_in,
                                              GError             **error)
{
  Lookup *lookup;
  char *token;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  token = g_task_propagate_pointer (G_TASK (result), error);
  lookup = g_task_get_task_data (G_TASK (result));
  if (expires_in != NULL)
    *expires_in = token != NULL ? MAX (lookup->expires_in, 0) : 0;
  return token;
}
