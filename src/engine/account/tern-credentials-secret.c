/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <libsecret/secret.h>

#include "tern-credentials-secret.h"

/*
 * TernCredentialsSecret: secrets in the desktop keyring, through the
 * Secret Service D-Bus API that GNOME Keyring and KeePassXC provide.  In a
 * Flatpak sandbox libsecret keeps them in a file of its own, encrypted with
 * a key the secret portal hands out; nothing here needs to know which.
 *
 * Each item carries the schema named after the application id and two
 * attributes: "account" (the account's id) and "kind"
 * ("receiving-password", "sending-password", "oauth2-refresh-token").
 */

struct _TernCredentialsSecret
{
  GObject parent_instance;
};

static void tern_credentials_secret_iface_init (TernCredentialsInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TernCredentialsSecret, tern_credentials_secret, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TERN_TYPE_CREDENTIALS,
                                                      tern_credentials_secret_iface_init))

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    APPLICATION_ID, SECRET_SCHEMA_NONE,
    {
      { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };

  return &schema;
}

/* Errors from libsecret and D-Bus become Tern's, kept readable; the
 * caller's own cancellation stays what it is. */
static GError *
keyring_error (GError     *error,
               const char *doing)
{
  GError *result;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;

  result = g_error_new (TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_FAILED,
                        "could not %s the keyring: %s", doing, error->message);
  g_error_free (error);
  return result;
}

typedef struct
{
  char *account_id;
  TernCredentialKind kind;
} Request;

static void
request_free (Request *request)
{
  g_free (request->account_id);
  g_free (request);
}

static GTask *
new_task (TernCredentials     *self,
          const char          *account_id,
          TernCredentialKind   kind,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data,
          gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  request->account_id = g_strdup (account_id);
  request->kind = kind;
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  return task;
}

static void
lookup_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;
  char *secret = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, keyring_error (error, "read from"));
      return;
    }

  if (secret == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "the keyring holds no %s for the account “%s”",
                               tern_credential_kind_to_string (request->kind),
                               request->account_id);
      return;
    }

  /* libsecret's copy lives in non-pageable memory; Tern's is wiped when
   * freed. */
  g_task_return_pointer (task, g_strdup (secret), (GDestroyNotify) tern_credentials_free_secret);
  secret_password_free (secret);
}

static void
secret_lookup_async (TernCredentials     *self,
                     const char          *account_id,
                     TernCredentialKind   kind,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  GTask *task = new_task (self, account_id, kind, cancellable, callback, user_data,
                          secret_lookup_async);

  secret_password_lookup (get_schema (), cancellable, lookup_done_cb, task,
                          "account", account_id,
                          "kind", tern_credential_kind_to_string (kind),
                          NULL);
}

static char *
secret_lookup_finish (TernCredentials  *self,
                      GAsyncResult     *result,
                      GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
store_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!secret_password_store_finish (result, &error))
    g_task_return_error (task, keyring_error (error, "write to"));
  else
    g_task_return_boolean (task, TRUE);
}

static void
secret_store_async (TernCredentials     *self,
                    const char          *account_id,
                    TernCredentialKind   kind,
                    const char          *secret,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  GTask *task = new_task (self, account_id, kind, cancellable, callback, user_data,
                          secret_store_async);
  g_autofree char *label = NULL;

  /* The label is what the user sees in Seahorse / Passwords and Keys. */
  switch (kind)
    {
    case TERN_CREDENTIAL_RECEIVING_PASSWORD:
      label = g_strdup_printf ("Tern: incoming mail password (%s)", account_id);
      break;
    case TERN_CREDENTIAL_SENDING_PASSWORD:
      label = g_strdup_printf ("Tern: outgoing mail password (%s)", account_id);
      break;
    case TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN:
    default:
      label = g_strdup_printf ("Tern: sign-in token (%s)", account_id);
      break;
    }

  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label, secret, cancellable,
                         store_done_cb, task,
                         "account", account_id,
                         "kind", tern_credential_kind_to_string (kind),
                         NULL);
}

static gboolean
secret_finish_boolean (TernCredentials  *self,
                       GAsyncResult     *result,
                       GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
delete_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* FALSE without an error means there was nothing to delete. */
  secret_password_clear_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, keyring_error (error, "delete from"));
  else
    g_task_return_boolean (task, TRUE);
}

static void
secret_delete_async (TernCredentials     *self,
                     const char          *account_id,
                     TernCredentialKind   kind,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  GTask *task = new_task (self, account_id, kind, cancellable, callback, user_data,
                          secret_delete_async);

  secret_password_clear (get_schema (), cancellable, delete_done_cb, task,
                         "account", account_id,
                         "kind", tern_credential_kind_to_string (kind),
                         NULL);
}

static void
tern_credentials_secret_iface_init (TernCredentialsInterface *iface)
{
  iface->lookup_async = secret_lookup_async;
  iface->lookup_finish = secret_lookup_finish;
  iface->store_async = secret_store_async;
  iface->store_finish = secret_finish_boolean;
  iface->delete_async = secret_delete_async;
  iface->delete_finish = secret_finish_boolean;
}

static void
tern_credentials_secret_class_init (TernCredentialsSecretClass *klass)
{
}

static void
tern_credentials_secret_init (TernCredentialsSecret *self)
{
}

/**
 * tern_credentials_secret_new:
 *
 * Returns: (transfer full): a provider that keeps secrets in the desktop
 *   keyring (or, in Flatpak, where the secret portal says).
 */
TernCredentials *
tern_credentials_secret_new (void)
{
  return g_object_new (TERN_TYPE_CREDENTIALS_SECRET, NULL);
}
