/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-credentials-memory.h"

/*
 * TernCredentialsMemory: secrets in a hash table, gone when the object
 * is.  Tests use it where the app uses the keyring, so that they exercise
 * the same interface without a Secret Service.
 */

struct _TernCredentialsMemory
{
  GObject parent_instance;

  /* "account-id kind" → secret */
  GHashTable *secrets;
};

static void tern_credentials_memory_iface_init (TernCredentialsInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TernCredentialsMemory, tern_credentials_memory, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TERN_TYPE_CREDENTIALS,
                                                      tern_credentials_memory_iface_init))

static char *
make_key (const char         *account_id,
          TernCredentialKind  kind)
{
  /* Account ids hold no spaces, so the key cannot be ambiguous. */
  return g_strdup_printf ("%s %s", account_id, tern_credential_kind_to_string (kind));
}

static void
memory_lookup_async (TernCredentials     *credentials,
                     const char          *account_id,
                     TernCredentialKind   kind,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  TernCredentialsMemory *self = TERN_CREDENTIALS_MEMORY (credentials);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *key = make_key (account_id, kind);
  const char *secret;

  g_task_set_source_tag (task, memory_lookup_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  secret = g_hash_table_lookup (self->secrets, key);
  if (secret == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                               "no %s is stored for the account “%s”",
                               tern_credential_kind_to_string (kind), account_id);
      return;
    }

  g_task_return_pointer (task, g_strdup (secret), (GDestroyNotify) tern_credentials_free_secret);
}

static char *
memory_lookup_finish (TernCredentials  *credentials,
                      GAsyncResult     *result,
                      GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
memory_store_async (TernCredentials     *credentials,
                    const char          *account_id,
                    TernCredentialKind   kind,
                    const char          *secret,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  TernCredentialsMemory *self = TERN_CREDENTIALS_MEMORY (credentials);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, memory_store_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  g_hash_table_replace (self->secrets, make_key (account_id, kind), g_strdup (secret));
  g_task_return_boolean (task, TRUE);
}

static gboolean
memory_finish_boolean (TernCredentials  *credentials,
                       GAsyncResult     *result,
                       GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
memory_delete_async (TernCredentials     *credentials,
                     const char          *account_id,
                     TernCredentialKind   kind,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  TernCredentialsMemory *self = TERN_CREDENTIALS_MEMORY (credentials);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *key = make_key (account_id, kind);

  g_task_set_source_tag (task, memory_delete_async);

  if (g_task_return_error_if_cancelled (task))
    return;

  g_hash_table_remove (self->secrets, key);
  g_task_return_boolean (task, TRUE);
}

static void
tern_credentials_memory_iface_init (TernCredentialsInterface *iface)
{
  iface->lookup_async = memory_lookup_async;
  iface->lookup_finish = memory_lookup_finish;
  iface->store_async = memory_store_async;
  iface->store_finish = memory_finish_boolean;
  iface->delete_async = memory_delete_async;
  iface->delete_finish = memory_finish_boolean;
}

static void
tern_credentials_memory_finalize (GObject *object)
{
  TernCredentialsMemory *self = TERN_CREDENTIALS_MEMORY (object);

  g_clear_pointer (&self->secrets, g_hash_table_unref);

  G_OBJECT_CLASS (tern_credentials_memory_parent_class)->finalize (object);
}

static void
tern_credentials_memory_class_init (TernCredentialsMemoryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_credentials_memory_finalize;
}

static void
tern_credentials_memory_init (TernCredentialsMemory *self)
{
  self->secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) tern_credentials_free_secret);
}

/**
 * tern_credentials_memory_new:
 *
 * Returns: (transfer full): an empty in-memory provider.
 */
TernCredentials *
tern_credentials_memory_new (void)
{
  return g_object_new (TERN_TYPE_CREDENTIALS_MEMORY, NULL);
}
