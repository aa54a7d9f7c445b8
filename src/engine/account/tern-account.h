/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account-types.h"
#include "tern-identity.h"

G_BEGIN_DECLS

#define TERN_TYPE_ACCOUNT (tern_account_get_type ())

G_DECLARE_FINAL_TYPE (TernAccount, tern_account, TERN, ACCOUNT, GObject)

TernAccount          *tern_account_new                       (void);
TernAccount          *tern_account_new_from_file             (const char            *path,
                                                              GError               **error);
gboolean              tern_account_save_to_file              (TernAccount           *self,
                                                              const char            *path,
                                                              GError               **error);

const char           *tern_account_get_id                    (TernAccount           *self);
const char           *tern_account_get_file_digest           (TernAccount           *self);
guint                 tern_account_get_order                 (TernAccount           *self);

const char           *tern_account_get_display_name          (TernAccount           *self);
void                  tern_account_set_display_name          (TernAccount           *self,
                                                              const char            *name);
gboolean              tern_account_get_enabled               (TernAccount           *self);
void                  tern_account_set_enabled               (TernAccount           *self,
                                                              gboolean               enabled);

/* Receiving */
TernReceivingProtocol tern_account_get_receiving_protocol    (TernAccount           *self);
void                  tern_account_set_receiving_protocol    (TernAccount           *self,
                                                              TernReceivingProtocol  protocol);
const char           *tern_account_get_receiving_host        (TernAccount           *self);
void                  tern_account_set_receiving_host        (TernAccount           *self,
                                                              const char            *host);
guint16               tern_account_get_receiving_port        (TernAccount           *self);
void                  tern_account_set_receiving_port        (TernAccount           *self,
                                                              guint16                port);
TernSecurity          tern_account_get_receiving_security    (TernAccount           *self);
void                  tern_account_set_receiving_security    (TernAccount           *self,
                                                              TernSecurity           security);
const char           *tern_account_get_receiving_username    (TernAccount           *self);
void                  tern_account_set_receiving_username    (TernAccount           *self,
                                                              const char            *username);

/* Sending */
const char           *tern_account_get_sending_host          (TernAccount           *self);
void                  tern_account_set_sending_host          (TernAccount           *self,
                                                              const char            *host);
guint16               tern_account_get_sending_port          (TernAccount           *self);
void                  tern_account_set_sending_port          (TernAccount           *self,
                                                              guint16                port);
TernSecurity          tern_account_get_sending_security      (TernAccount           *self);
void                  tern_account_set_sending_security      (TernAccount           *self,
                                                              TernSecurity           security);
const char           *tern_account_get_sending_username      (TernAccount           *self);
void                  tern_account_set_sending_username      (TernAccount           *self,
                                                              const char            *username);

/* Credentials: a command that prints the password, instead of the keyring */
const char           *tern_account_get_receiving_password_command (TernAccount      *self);
void                  tern_account_set_receiving_password_command (TernAccount      *self,
                                                                   const char       *command);
const char           *tern_account_get_sending_password_command   (TernAccount      *self);
void                  tern_account_set_sending_password_command   (TernAccount      *self,
                                                                   const char       *command);

/* OAuth2 instead of a password.  @provider is "google", "microsoft" or
 * "custom"; the endpoints, client ID and scope are read only for "custom". */
TernAuthMethod        tern_account_get_auth_method           (TernAccount           *self);
void                  tern_account_set_auth_method           (TernAccount           *self,
                                                              TernAuthMethod         method);
const char           *tern_account_get_oauth2_provider       (TernAccount           *self);
const char           *tern_account_get_oauth2_authorization_uri (TernAccount        *self);
const char           *tern_account_get_oauth2_token_uri      (TernAccount           *self);
const char           *tern_account_get_oauth2_client_id      (TernAccount           *self);
const char           *tern_account_get_oauth2_scope          (TernAccount           *self);
void                  tern_account_set_oauth2                (TernAccount           *self,
                                                              const char            *provider,
                                                              const char            *authorization_uri,
                                                              const char            *token_uri,
                                                              const char            *client_id,
                                                              const char            *scope);

/* GNOME Online Accounts: the online account's id when the account came
 * from there; its passwords then come from GOA. */
const char           *tern_account_get_goa_id                (TernAccount           *self);
void                  tern_account_set_goa_id                (TernAccount           *self,
                                                              const char            *goa_id);

/* Schedule and offline copy */
guint                 tern_account_get_sync_interval         (TernAccount           *self);
void                  tern_account_set_sync_interval         (TernAccount           *self,
                                                              guint                  minutes);
guint                 tern_account_get_offline_days          (TernAccount           *self);
void                  tern_account_set_offline_days          (TernAccount           *self,
                                                              guint                  days);

/* POP3 */
TernPop3AfterDownload tern_account_get_pop3_after_download   (TernAccount           *self);
void                  tern_account_set_pop3_after_download   (TernAccount           *self,
                                                              TernPop3AfterDownload  after);
guint                 tern_account_get_pop3_keep_days        (TernAccount           *self);
void                  tern_account_set_pop3_keep_days        (TernAccount           *self,
                                                              guint                  days);
gboolean              tern_account_get_pop3_delete_on_server (TernAccount           *self);
void                  tern_account_set_pop3_delete_on_server (TernAccount           *self,
                                                              gboolean               delete_too);
const char           *tern_account_get_pop3_deliver_to       (TernAccount           *self);
void                  tern_account_set_pop3_deliver_to       (TernAccount           *self,
                                                              const char            *account_id);

/* Identities */
GListModel           *tern_account_get_identities            (TernAccount           *self);
void                  tern_account_add_identity              (TernAccount           *self,
                                                              TernIdentity          *identity);
void                  tern_account_remove_identity           (TernAccount           *self,
                                                              TernIdentity          *identity);
TernIdentity         *tern_account_get_default_identity      (TernAccount           *self);
void                  tern_account_set_default_identity      (TernAccount           *self,
                                                              TernIdentity          *identity);
TernIdentity         *tern_account_find_identity             (TernAccount           *self,
                                                              const char            *address);
TernIdentity         *tern_account_choose_identity           (TernAccount           *self,
                                                              const char * const    *delivered_to,
                                                              const char * const    *x_original_to,
                                                              const char * const    *to,
                                                              const char * const    *cc);

G_END_DECLS
