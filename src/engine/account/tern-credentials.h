/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account.h"

G_BEGIN_DECLS

/*
 * TernCredentials: where an account's secrets live.  A secret is found by
 * the account's id and its kind (the receiving server's password, the
 * sending server's password, an OAuth2 refresh token).  Tern never keeps a
 * secret in an account file, and no provider writes one to a log.
 *
 * Providers:
 *   - TernCredentialsSecret: the desktop keyring through the Secret
 *     Service (libsecret; inside Flatpak, libsecret goes through the
 *     secret portal by itself);
 *   - TernCredentialsCommand: the account's `password-command`, whose first
 *     line of output is the password (read only; what it does not answer
 *     goes to a fallback provider);
 *   - TernCredentialsMemory: a table in memory, for tests.
 *
 * tern_credentials_for_account() picks the provider an account uses.
 */

#define TERN_CREDENTIALS_ERROR (tern_credentials_error_quark ())

/**
 * TernCredentialsError:
 * @TERN_CREDENTIALS_ERROR_FAILED: the provider could not be reached (no
 *   keyring running, a locked keyring the user did not open, …)
 * @TERN_CREDENTIALS_ERROR_NOT_FOUND: no secret of that kind is stored for
 *   the account
 * @TERN_CREDENTIALS_ERROR_COMMAND_FAILED: the password command could not
 *   start, failed, or printed no password
 * @TERN_CREDENTIALS_ERROR_TIMED_OUT: the password command took too long and
 *   was stopped
 * @TERN_CREDENTIALS_ERROR_READ_ONLY: the secret comes from a command and
 *   cannot be stored or deleted through Tern
 * @TERN_CREDENTIALS_ERROR_INVALID: the secret or the account id is not one
 *   a provider accepts (empty, or with a line break or NUL)
 */
typedef enum
{
  TERN_CREDENTIALS_ERROR_FAILED,
  TERN_CREDENTIALS_ERROR_NOT_FOUND,
  TERN_CREDENTIALS_ERROR_COMMAND_FAILED,
  TERN_CREDENTIALS_ERROR_TIMED_OUT,
  TERN_CREDENTIALS_ERROR_READ_ONLY,
  TERN_CREDENTIALS_ERROR_INVALID,
} TernCredentialsError;

GQuark tern_credentials_error_quark (void);

typedef enum
{
  TERN_CREDENTIAL_RECEIVING_PASSWORD,
  TERN_CREDENTIAL_SENDING_PASSWORD,
  TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN,
} TernCredentialKind;

#define TERN_TYPE_CREDENTIAL_KIND (tern_credential_kind_get_type ())
GType       tern_credential_kind_get_type  (void) G_GNUC_CONST;
/* "receiving-password", "sending-password", "oauth2-refresh-token". */
const char *tern_credential_kind_to_string (TernCredentialKind kind);

#define TERN_TYPE_CREDENTIALS (tern_credentials_get_type ())

G_DECLARE_INTERFACE (TernCredentials, tern_credentials, TERN, CREDENTIALS, GObject)

struct _TernCredentialsInterface
{
  GTypeInterface parent_iface;

  void      (*lookup_async)  (TernCredentials     *self,
                              const char          *account_id,
                              TernCredentialKind   kind,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
  char     *(*lookup_finish) (TernCredentials     *self,
                              GAsyncResult        *result,
                              GError             **error);
  void      (*store_async)   (TernCredentials     *self,
                              const char          *account_id,
                              TernCredentialKind   kind,
                              const char          *secret,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
  gboolean  (*store_finish)  (TernCredentials     *self,
                              GAsyncResult        *result,
                              GError             **error);
  void      (*delete_async)  (TernCredentials     *self,
                              const char          *account_id,
                              TernCredentialKind   kind,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
  gboolean  (*delete_finish) (TernCredentials     *self,
                              GAsyncResult        *result,
                              GError             **error);
};

void             tern_credentials_lookup_async  (TernCredentials     *self,
                                                 const char          *account_id,
                                                 TernCredentialKind   kind,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
char            *tern_credentials_lookup_finish (TernCredentials     *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
void             tern_credentials_store_async   (TernCredentials     *self,
                                                 const char          *account_id,
                                                 TernCredentialKind   kind,
                                                 const char          *secret,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean         tern_credentials_store_finish  (TernCredentials     *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
void             tern_credentials_delete_async  (TernCredentials     *self,
                                                 const char          *account_id,
                                                 TernCredentialKind   kind,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean         tern_credentials_delete_finish (TernCredentials     *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

TernCredentials *tern_credentials_for_account   (TernAccount         *account,
                                                 TernCredentials     *keyring);

/* Overwrites a secret's bytes and frees it; for g_autoptr-like use with
 * g_clear_pointer (&secret, tern_credentials_free_secret). */
void             tern_credentials_free_secret   (char                *secret);

G_END_DECLS
