/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-account.h"
#include "tern-identity.h"

G_BEGIN_DECLS

/* What the files of account/ share and nobody else calls. */

/* The account id the store keeps for its local folders. */
#define RESERVED_ID "local"

/* tern-account.c keeps the properties, tern-account-file.c the file. */
struct _TernAccount
{
  GObject parent_instance;

  char *id;
  guint order;
  char *display_name;
  gboolean enabled;

  TernReceivingProtocol receiving_protocol;
  char *receiving_host;
  guint16 receiving_port;
  TernSecurity receiving_security;
  char *receiving_username;

  char *sending_host;
  guint16 sending_port;
  TernSecurity sending_security;
  char *sending_username;

  /* password-command, per server; never the password itself. */
  char *receiving_password_command;
  char *sending_password_command;

  /* Auth= and the [OAuth2] group; the refresh token is in the keyring. */
  TernAuthMethod auth_method;
  char *oauth2_provider;
  char *oauth2_authorization_uri;
  char *oauth2_token_uri;
  char *oauth2_client_id;
  char *oauth2_scope;

  /* The GNOME Online Accounts account it came from, if any. */
  char *goa_id;

  guint sync_interval;
  guint offline_days;

  TernPop3AfterDownload pop3_after_download;
  guint pop3_keep_days;
  gboolean pop3_delete_on_server;
  char *pop3_deliver_to;

  GListStore *identities;

  /* The file as it was read, so that a rewrite keeps what Tern does not
   * know. */
  GKeyFile *source;
  /* The SHA-256 of the file as read or last written, to see whether
   * another program wrote it since. */
  char *file_digest;
};

void        tern_identity_set_is_default (TernIdentity *self,
                                          gboolean      is_default);

void        tern_account_set_id          (TernAccount  *self,
                                          const char   *id);
void        tern_account_set_order       (TernAccount  *self,
                                          guint         order);

gboolean    tern_account_id_is_valid     (const char   *id);

G_END_DECLS
