/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-credentials.h"
#ifdef TERN_HAVE_GOA
#include "tern-credentials-goa.h"
#endif
#include "tern-credentials-command.h"

/*
 * The credentials interface: the wrappers check what every provider would
 * check (an account id, a secret that is not empty), so that providers
 * only do their own work.  A call the wrapper refuses completes with its
 * error through a GTask of the wrapper's own, which the _finish wrapper
 * recognises by its source tag.
 */

G_DEFINE_QUARK (tern-credentials-error-quark, tern_credentials_error)

G_DEFINE_INTERFACE (TernCredentials, tern_credentials, G_TYPE_OBJECT)

static void
tern_credentials_default_init (TernCredentialsInterface *iface)
{
}

GType
tern_credential_kind_get_type (void)
{
  static gsize type_id = 0;
  static const GEnumValue values[] = {
    { TERN_CREDENTIAL_RECEIVING_PASSWORD, "TERN_CREDENTIAL_RECEIVING_PASSWORD",
      "receiving-password" },
    { TERN_CREDENTIAL_SENDING_PASSWORD, "TERN_CREDENTIAL_SENDING_PASSWORD",
      "sending-password" },
    { TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, "TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN",
      "oauth2-refresh-token" },
    { 0, NULL, NULL }
  };

  if (g_once_init_enter (&type_id))
    g_once_init_leave (&type_id, g_enum_register_static ("TernCredentialKind", values));

  return type_id;
}

/**
 * tern_credential_kind_to_string:
 *
 * Returns: the word for @kind that providers store with a secret, such
 *   as "receiving-password".
 */
const char *
tern_credential_kind_to_string (TernCredentialKind kind)
{
  switch (kind)
    {
    case TERN_CREDENTIAL_RECEIVING_PASSWORD:
      return "receiving-password";
    case TERN_CREDENTIAL_SENDING_PASSWORD:
      return "sending-password";
    case TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN:
      return "oauth2-refresh-token";
    default:
      g_return_val_if_reached ("unknown");
    }
}

static gboolean
check_request (const char          *account_id,
               TernCredentialKind   kind,
               gboolean             with_secret,
               const char          *secret,
               GError             **error)
{
  if (account_id == NULL || *account_id == '\0')
    {
      g_set_error_literal (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_INVALID,
                           "a secret belongs to an account, and no account was given");
      return FALSE;
    }

  if (kind > TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN)
    {
      g_set_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_INVALID,
                   "%d is not a kind of secret", (int) kind);
      return FALSE;
    }

  if (with_secret && (secret == NULL || *secret == '\0'))
    {
      g_set_error_literal (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_INVALID,
                           "an empty password is not stored");
      return FALSE;
    }

  return TRUE;
}

static void
refuse (TernCredentials     *self,
        gpointer             source_tag,
        GError              *error,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_return_error (task, error);
}

/**
 * tern_credentials_lookup_async:
 * @self: a #TernCredentials
 * @account_id: the account's id
 * @kind: which secret
 * @cancellable: (nullable): a #GCancellable
 *
 * Finds a secret.  A provider may ask the user (to unlock a keyring, to
 * touch a key for a command's gpg): the call may take a while.
 */
void
tern_credentials_lookup_async (TernCredentials     *self,
                               const char          *account_id,
                               TernCredentialKind   kind,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GError *error = NULL;

  g_return_if_fail (TERN_IS_CREDENTIALS (self));

  if (!check_request (account_id, kind, FALSE, NULL, &error))
    {
      refuse (self, tern_credentials_lookup_async, error, callback, user_data);
      return;
    }

  TERN_CREDENTIALS_GET_IFACE (self)->lookup_async (self, account_id, kind, cancellable,
                                                   callback, user_data);
}

/**
 * tern_credentials_lookup_finish:
 *
 * Returns: (transfer full) (nullable): the secret, to be freed with
 *   tern_credentials_free_secret(); %NULL with %TERN_CREDENTIALS_ERROR_NOT_FOUND
 *   when none is stored, or another error.
 */
char *
tern_credentials_lookup_finish (TernCredentials  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (TERN_IS_CREDENTIALS (self), NULL);

  if (g_async_result_is_tagged (result, tern_credentials_lookup_async))
    return g_task_propagate_pointer (G_TASK (result), error);

  return TERN_CREDENTIALS_GET_IFACE (self)->lookup_finish (self, result, error);
}

/**
 * tern_credentials_store_async:
 * @secret: the secret, not empty
 *
 * Stores a secret, replacing the one of the same account and kind.
 */
void
tern_credentials_store_async (TernCredentials     *self,
                              const char          *account_id,
                              TernCredentialKind   kind,
                              const char          *secret,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GError *error = NULL;

  g_return_if_fail (TERN_IS_CREDENTIALS (self));

  if (!check_request (account_id, kind, TRUE, secret, &error))
    {
      refuse (self, tern_credentials_store_async, error, callback, user_data);
      return;
    }

  TERN_CREDENTIALS_GET_IFACE (self)->store_async (self, account_id, kind, secret, cancellable,
                                                  callback, user_data);
}

gboolean
tern_credentials_store_finish (TernCredentials  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (TERN_IS_CREDENTIALS (self), FALSE);

  if (g_async_result_is_tagged (result, tern_credentials_store_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return TERN_CREDENTIALS_GET_IFACE (self)->store_finish (self, result, error);
}

/**
 * tern_credentials_delete_async:
 *
 * Deletes a secret.  Deleting one that is not there is not an error.
 */
void
tern_credentials_delete_async (TernCredentials     *self,
                               const char          *account_id,
                               TernCredentialKind   kind,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GError *error = NULL;

  g_return_if_fail (TERN_IS_CREDENTIALS (self));

  if (!check_request (account_id, kind, FALSE, NULL, &error))
    {
      refuse (self, tern_credentials_delete_async, error, callback, user_data);
      return;
    }

  TERN_CREDENTIALS_GET_IFACE (self)->delete_async (self, account_id, kind, cancellable,
                                                   callback, user_data);
}

gboolean
tern_credentials_delete_finish (TernCredentials  *self,
                                GAsyncResult     *result,
                                GError          **error)
{
  g_return_val_if_fail (TERN_IS_CREDENTIALS (self), FALSE);

  if (g_async_result_is_tagged (result, tern_credentials_delete_async))
    return g_task_propagate_boolean (G_TASK (result), error);

  return TERN_CREDENTIALS_GET_IFACE (self)->delete_finish (self, result, error);
}

/**
 * tern_credentials_for_account:
 * @account: the account
 * @keyring: the provider for secrets that no command gives (libsecret in
 *   the app and tern-cli, an in-memory one in tests)
 *
 * Picks the provider for @account: its password commands when it has
 * any (for the passwords they give; everything else, and the passwords
 * of a server without a command, still go to @keyring), else @keyring.
 * An account made from a GNOME Online Accounts password account (GoaId=)
 * gets its passwords from GOA instead, when Tern is built with it.
 *
 * Returns: (transfer full): the provider.
 */
TernCredentials *
tern_credentials_for_account (TernAccount     *account,
                              TernCredentials *keyring)
{
  const char *receiving;
  const char *sending;

  g_return_val_if_fail (TERN_IS_ACCOUNT (account), NULL);
  g_return_val_if_fail (TERN_IS_CREDENTIALS (keyring), NULL);

#ifdef TERN_HAVE_GOA
  /* GOA keeps an online account's passwords, or signs it in with OAuth2
   * and hands out its tokens; Tern never copies them.  An online account
   * given an OAuth2 provider of Tern's own keeps its refresh token in the
   * keyring instead. */
  if (tern_account_get_goa_id (account) != NULL &&
      (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_PASSWORD ||
       tern_account_get_oauth2_provider (account) == NULL))
    return tern_credentials_goa_new (tern_account_get_goa_id (account));
#endif

  receiving = tern_account_get_receiving_password_command (account);
  sending = tern_account_get_sending_password_command (account);
  if (receiving == NULL && sending == NULL)
    return g_object_ref (keyring);

  return tern_credentials_command_new (receiving, sending, keyring);
}

typedef struct
{
  char *account_id;
  GArray *kinds;
  guint next;
  GError *first_error;
} Forget;

static void
forget_free (Forget *forget)
{
  g_free (forget->account_id);
  g_array_unref (forget->kinds);
  g_clear_error (&forget->first_error);
  g_free (forget);
}

static void forget_next (GTask *task);

static void
forget_deleted_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  Forget *forget = g_task_get_task_data (task);
  GError *error = NULL;

  /* Keep going after a failure, so that as much as possible is gone; the
   * first failure is reported. */
  if (!tern_credentials_delete_finish (TERN_CREDENTIALS (source), result, &error))
    {
      if (forget->first_error == NULL)
        forget->first_error = error;
      else
        g_error_free (error);
    }

  forget_next (task);
}

static void
forget_next (GTask *task)
{
  Forget *forget = g_task_get_task_data (task);

  if (forget->next < forget->kinds->len)
    {
      TernCredentialKind kind = g_array_index (forget->kinds, TernCredentialKind, forget->next++);

      tern_credentials_delete_async (g_task_get_source_object (task), forget->account_id, kind,
                                     g_task_get_cancellable (task), forget_deleted_cb, task);
      return;
    }

  if (forget->first_error != NULL)
    g_task_return_error (task, g_steal_pointer (&forget->first_error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/**
 * tern_credentials_forget_account_async:
 * @keyring: the provider the account's secrets are kept in
 * @account: an account being removed
 *
 * Deletes every secret @keyring keeps for @account: the passwords that no
 * password command gives, and the OAuth2 refresh token.
 */
void
tern_credentials_forget_account_async (TernCredentials     *keyring,
                                       TernAccount         *account,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  GTask *task;
  Forget *forget;
  TernCredentialKind kind;

  g_return_if_fail (TERN_IS_CREDENTIALS (keyring));
  g_return_if_fail (TERN_IS_ACCOUNT (account));

  task = g_task_new (keyring, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_credentials_forget_account_async);
  forget = g_new0 (Forget, 1);
  forget->account_id = g_strdup (tern_account_get_id (account));
  forget->kinds = g_array_new (FALSE, FALSE, sizeof (TernCredentialKind));
  g_task_set_task_data (task, forget, (GDestroyNotify) forget_free);

  /* A password a command gives was never in the keyring. */
  if (tern_account_get_receiving_password_command (account) == NULL)
    {
      kind = TERN_CREDENTIAL_RECEIVING_PASSWORD;
      g_array_append_val (forget->kinds, kind);
    }
  if (tern_account_get_sending_password_command (account) == NULL)
    {
      kind = TERN_CREDENTIAL_SENDING_PASSWORD;
      g_array_append_val (forget->kinds, kind);
    }
  kind = TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN;
  g_array_append_val (forget->kinds, kind);

  forget_next (task);
}

gboolean
tern_credentials_forget_account_finish (TernCredentials  *keyring,
                                        GAsyncResult     *result,
                                        GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, keyring), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tern_credentials_free_secret:
 * @secret: (nullable) (transfer full): a secret
 *
 * Overwrites @secret's bytes before freeing it, so that a password does
 * not linger in freed memory.
 */
void
tern_credentials_free_secret (char *secret)
{
  if (secret == NULL)
    return;

  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}
