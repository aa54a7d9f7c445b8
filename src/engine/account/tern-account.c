/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-account-private.h"
#include "tern-account.h"
#include "tern-identity.h"

/*
 * TernAccount: the settings of one account, as the user gave them: where
 * mail comes from (IMAP or POP3), where it goes out (SMTP), how often and
 * how far back to sync, what POP3 does with the server's copy, and the
 * identities (addresses) the account sends from.  The services that act on
 * these settings hold the account; the account itself does no I/O beyond
 * reading and writing its file, which tern-account-file.c does.
 */

G_DEFINE_FINAL_TYPE (TernAccount, tern_account, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_ORDER,
  PROP_DISPLAY_NAME,
  PROP_ENABLED,
  PROP_RECEIVING_PROTOCOL,
  PROP_RECEIVING_HOST,
  PROP_RECEIVING_PORT,
  PROP_RECEIVING_SECURITY,
  PROP_RECEIVING_USERNAME,
  PROP_SENDING_HOST,
  PROP_SENDING_PORT,
  PROP_SENDING_SECURITY,
  PROP_SENDING_USERNAME,
  PROP_RECEIVING_PASSWORD_COMMAND,
  PROP_SENDING_PASSWORD_COMMAND,
  PROP_SYNC_INTERVAL,
  PROP_OFFLINE_DAYS,
  PROP_POP3_AFTER_DOWNLOAD,
  PROP_POP3_KEEP_DAYS,
  PROP_POP3_DELETE_ON_SERVER,
  PROP_POP3_DELIVER_TO,
  PROP_IDENTITIES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_string (TernAccount  *self,
            char        **field,
            const char   *value,
            guint         prop)
{
  if (value != NULL && *value == '\0')
    value = NULL;

  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_uint (TernAccount *self,
          guint       *field,
          guint        value,
          guint        prop)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_boolean (TernAccount *self,
             gboolean    *field,
             gboolean     value,
             guint        prop)
{
  value = !!value;
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_port (TernAccount *self,
          guint16     *field,
          guint16      value,
          guint        prop)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/**
 * tern_account_get_file_digest:
 *
 * Returns: (nullable): the SHA-256, in hex, of the account's file as it
 *   was read or last written, or %NULL for an account never on disk.
 */
const char *
tern_account_get_file_digest (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->file_digest;
}

static void
tern_account_finalize (GObject *object)
{
  TernAccount *self = TERN_ACCOUNT (object);

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->display_name, g_free);
  g_clear_pointer (&self->receiving_host, g_free);
  g_clear_pointer (&self->receiving_username, g_free);
  g_clear_pointer (&self->sending_host, g_free);
  g_clear_pointer (&self->sending_username, g_free);
  g_clear_pointer (&self->receiving_password_command, g_free);
  g_clear_pointer (&self->sending_password_command, g_free);
  g_clear_pointer (&self->pop3_deliver_to, g_free);
  g_clear_pointer (&self->oauth2_provider, g_free);
  g_clear_pointer (&self->goa_id, g_free);
  g_clear_pointer (&self->oauth2_authorization_uri, g_free);
  g_clear_pointer (&self->oauth2_token_uri, g_free);
  g_clear_pointer (&self->oauth2_client_id, g_free);
  g_clear_pointer (&self->oauth2_scope, g_free);
  g_clear_object (&self->identities);
  g_clear_pointer (&self->source, g_key_file_unref);
  g_clear_pointer (&self->file_digest, g_free);

  G_OBJECT_CLASS (tern_account_parent_class)->finalize (object);
}

static void
tern_account_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TernAccount *self = TERN_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_ORDER:
      g_value_set_uint (value, self->order);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, tern_account_get_display_name (self));
      break;
    case PROP_ENABLED:
      g_value_set_boolean (value, self->enabled);
      break;
    case PROP_RECEIVING_PROTOCOL:
      g_value_set_enum (value, self->receiving_protocol);
      break;
    case PROP_RECEIVING_HOST:
      g_value_set_string (value, self->receiving_host);
      break;
    case PROP_RECEIVING_PORT:
      g_value_set_uint (value, self->receiving_port);
      break;
    case PROP_RECEIVING_SECURITY:
      g_value_set_enum (value, self->receiving_security);
      break;
    case PROP_RECEIVING_USERNAME:
      g_value_set_string (value, self->receiving_username);
      break;
    case PROP_SENDING_HOST:
      g_value_set_string (value, self->sending_host);
      break;
    case PROP_SENDING_PORT:
      g_value_set_uint (value, self->sending_port);
      break;
    case PROP_SENDING_SECURITY:
      g_value_set_enum (value, self->sending_security);
      break;
    case PROP_SENDING_USERNAME:
      g_value_set_string (value, self->sending_username);
      break;
    case PROP_RECEIVING_PASSWORD_COMMAND:
      g_value_set_string (value, self->receiving_password_command);
      break;
    case PROP_SENDING_PASSWORD_COMMAND:
      g_value_set_string (value, self->sending_password_command);
      break;
    case PROP_SYNC_INTERVAL:
      g_value_set_uint (value, self->sync_interval);
      break;
    case PROP_OFFLINE_DAYS:
      g_value_set_uint (value, self->offline_days);
      break;
    case PROP_POP3_AFTER_DOWNLOAD:
      g_value_set_enum (value, self->pop3_after_download);
      break;
    case PROP_POP3_KEEP_DAYS:
      g_value_set_uint (value, self->pop3_keep_days);
      break;
    case PROP_POP3_DELETE_ON_SERVER:
      g_value_set_boolean (value, self->pop3_delete_on_server);
      break;
    case PROP_POP3_DELIVER_TO:
      g_value_set_string (value, self->pop3_deliver_to);
      break;
    case PROP_IDENTITIES:
      g_value_set_object (value, self->identities);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_account_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TernAccount *self = TERN_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_DISPLAY_NAME:
      tern_account_set_display_name (self, g_value_get_string (value));
      break;
    case PROP_ENABLED:
      tern_account_set_enabled (self, g_value_get_boolean (value));
      break;
    case PROP_RECEIVING_PROTOCOL:
      tern_account_set_receiving_protocol (self, g_value_get_enum (value));
      break;
    case PROP_RECEIVING_HOST:
      tern_account_set_receiving_host (self, g_value_get_string (value));
      break;
    case PROP_RECEIVING_PORT:
      tern_account_set_receiving_port (self, (guint16) g_value_get_uint (value));
      break;
    case PROP_RECEIVING_SECURITY:
      tern_account_set_receiving_security (self, g_value_get_enum (value));
      break;
    case PROP_RECEIVING_USERNAME:
      tern_account_set_receiving_username (self, g_value_get_string (value));
      break;
    case PROP_SENDING_HOST:
      tern_account_set_sending_host (self, g_value_get_string (value));
      break;
    case PROP_SENDING_PORT:
      tern_account_set_sending_port (self, (guint16) g_value_get_uint (value));
      break;
    case PROP_SENDING_SECURITY:
      tern_account_set_sending_security (self, g_value_get_enum (value));
      break;
    case PROP_SENDING_USERNAME:
      tern_account_set_sending_username (self, g_value_get_string (value));
      break;
    case PROP_RECEIVING_PASSWORD_COMMAND:
      tern_account_set_receiving_password_command (self, g_value_get_string (value));
      break;
    case PROP_SENDING_PASSWORD_COMMAND:
      tern_account_set_sending_password_command (self, g_value_get_string (value));
      break;
    case PROP_SYNC_INTERVAL:
      tern_account_set_sync_interval (self, g_value_get_uint (value));
      break;
    case PROP_OFFLINE_DAYS:
      tern_account_set_offline_days (self, g_value_get_uint (value));
      break;
    case PROP_POP3_AFTER_DOWNLOAD:
      tern_account_set_pop3_after_download (self, g_value_get_enum (value));
      break;
    case PROP_POP3_KEEP_DAYS:
      tern_account_set_pop3_keep_days (self, g_value_get_uint (value));
      break;
    case PROP_POP3_DELETE_ON_SERVER:
      tern_account_set_pop3_delete_on_server (self, g_value_get_boolean (value));
      break;
    case PROP_POP3_DELIVER_TO:
      tern_account_set_pop3_deliver_to (self, g_value_get_string (value));
      break;
    case PROP_ID:
    case PROP_ORDER:
    case PROP_IDENTITIES:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_account_class_init (TernAccountClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = tern_account_finalize;
  object_class->get_property = tern_account_get_property;
  object_class->set_property = tern_account_set_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, ro);
  properties[PROP_ORDER] = g_param_spec_uint ("order", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_DISPLAY_NAME] = g_param_spec_string ("display-name", NULL, NULL, NULL, rw);
  properties[PROP_ENABLED] = g_param_spec_boolean ("enabled", NULL, NULL, TRUE, rw);
  properties[PROP_RECEIVING_PROTOCOL] =
    g_param_spec_enum ("receiving-protocol", NULL, NULL, TERN_TYPE_RECEIVING_PROTOCOL,
                       TERN_RECEIVING_PROTOCOL_IMAP, rw);
  properties[PROP_RECEIVING_HOST] =
    g_param_spec_string ("receiving-host", NULL, NULL, NULL, rw);
  properties[PROP_RECEIVING_PORT] =
    g_param_spec_uint ("receiving-port", NULL, NULL, 0, TERN_ACCOUNT_MAX_PORT, 993, rw);
  properties[PROP_RECEIVING_SECURITY] =
    g_param_spec_enum ("receiving-security", NULL, NULL, TERN_TYPE_SECURITY,
                       TERN_SECURITY_TLS, rw);
  properties[PROP_RECEIVING_USERNAME] =
    g_param_spec_string ("receiving-username", NULL, NULL, NULL, rw);
  properties[PROP_SENDING_HOST] = g_param_spec_string ("sending-host", NULL, NULL, NULL, rw);
  properties[PROP_SENDING_PORT] =
    g_param_spec_uint ("sending-port", NULL, NULL, 0, TERN_ACCOUNT_MAX_PORT, 587, rw);
  properties[PROP_SENDING_SECURITY] =
    g_param_spec_enum ("sending-security", NULL, NULL, TERN_TYPE_SECURITY,
                       TERN_SECURITY_STARTTLS, rw);
  properties[PROP_SENDING_USERNAME] =
    g_param_spec_string ("sending-username", NULL, NULL, NULL, rw);
  properties[PROP_RECEIVING_PASSWORD_COMMAND] =
    g_param_spec_string ("receiving-password-command", NULL, NULL, NULL, rw);
  properties[PROP_SENDING_PASSWORD_COMMAND] =
    g_param_spec_string ("sending-password-command", NULL, NULL, NULL, rw);
  properties[PROP_SYNC_INTERVAL] =
    g_param_spec_uint ("sync-interval", NULL, NULL, 0, TERN_ACCOUNT_MAX_SYNC_MINUTES,
                       TERN_ACCOUNT_DEFAULT_SYNC_MINUTES, rw);
  properties[PROP_OFFLINE_DAYS] =
    g_param_spec_uint ("offline-days", NULL, NULL, 0, TERN_ACCOUNT_MAX_OFFLINE_DAYS,
                       TERN_ACCOUNT_DEFAULT_OFFLINE_DAYS, rw);
  properties[PROP_POP3_AFTER_DOWNLOAD] =
    g_param_spec_enum ("pop3-after-download", NULL, NULL, TERN_TYPE_POP3_AFTER_DOWNLOAD,
                       TERN_POP3_AFTER_DOWNLOAD_DELETE, rw);
  properties[PROP_POP3_KEEP_DAYS] =
    g_param_spec_uint ("pop3-keep-days", NULL, NULL, 1, TERN_ACCOUNT_MAX_KEEP_DAYS,
                       TERN_ACCOUNT_DEFAULT_KEEP_DAYS, rw);
  properties[PROP_POP3_DELETE_ON_SERVER] =
    g_param_spec_boolean ("pop3-delete-on-server", NULL, NULL, FALSE, rw);
  properties[PROP_POP3_DELIVER_TO] =
    g_param_spec_string ("pop3-deliver-to", NULL, NULL, NULL, rw);
  properties[PROP_IDENTITIES] =
    g_param_spec_object ("identities", NULL, NULL, G_TYPE_LIST_MODEL, ro);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_account_init (TernAccount *self)
{
  self->enabled = TRUE;
  self->receiving_protocol = TERN_RECEIVING_PROTOCOL_IMAP;
  self->receiving_security = TERN_SECURITY_TLS;
  self->receiving_port = tern_receiving_protocol_default_port (self->receiving_protocol,
                                                               self->receiving_security);
  self->sending_security = TERN_SECURITY_STARTTLS;
  self->sending_port = tern_smtp_default_port (self->sending_security);
  self->sync_interval = TERN_ACCOUNT_DEFAULT_SYNC_MINUTES;
  self->offline_days = TERN_ACCOUNT_DEFAULT_OFFLINE_DAYS;
  self->pop3_after_download = TERN_POP3_AFTER_DOWNLOAD_DELETE;
  self->pop3_keep_days = TERN_ACCOUNT_DEFAULT_KEEP_DAYS;
  self->identities = g_list_store_new (TERN_TYPE_IDENTITY);
}

/**
 * tern_account_new:
 *
 * A new account with Tern's defaults (IMAP over TLS, SMTP with STARTTLS,
 * a check every 15 minutes, 30 days offline) and no id: the account
 * manager gives it one when it is added.
 *
 * Returns: (transfer full): a new #TernAccount.
 */
TernAccount *
tern_account_new (void)
{
  return g_object_new (TERN_TYPE_ACCOUNT, NULL);
}

/* Ids */

/**
 * tern_account_id_is_valid:
 *
 * Returns: %TRUE when @id can name an account file: lower-case ASCII
 *   letters, digits and "-", not starting with "-", and not the store's
 *   "local".
 */
gboolean
tern_account_id_is_valid (const char *id)
{
  const char *p;

  if (id == NULL || *id == '\0' || *id == '-' || g_str_equal (id, RESERVED_ID))
    return FALSE;

  for (p = id; *p != '\0'; p++)
    {
      if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
        return FALSE;
    }

  return TRUE;
}

/* Properties */

const char *
tern_account_get_id (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->id;
}

void
tern_account_set_id (TernAccount *self,
                     const char  *id)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (id == NULL || tern_account_id_is_valid (id));

  set_string (self, &self->id, id, PROP_ID);
}

guint
tern_account_get_order (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), 0);

  return self->order;
}

void
tern_account_set_order (TernAccount *self,
                        guint        order)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_uint (self, &self->order, order, PROP_ORDER);
}

/**
 * tern_account_get_display_name:
 *
 * Returns: (transfer none) (nullable): the name the user gave the account,
 *   else the address of its default identity.
 */
const char *
tern_account_get_display_name (TernAccount *self)
{
  TernIdentity *identity;

  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  if (self->display_name != NULL)
    return self->display_name;

  identity = tern_account_get_default_identity (self);
  return identity != NULL ? tern_identity_get_address (identity) : NULL;
}

void
tern_account_set_display_name (TernAccount *self,
                               const char  *name)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->display_name, name, PROP_DISPLAY_NAME);
}

gboolean
tern_account_get_enabled (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), FALSE);

  return self->enabled;
}

void
tern_account_set_enabled (TernAccount *self,
                          gboolean     enabled)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_boolean (self, &self->enabled, enabled, PROP_ENABLED);
}

TernReceivingProtocol
tern_account_get_receiving_protocol (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), TERN_RECEIVING_PROTOCOL_IMAP);

  return self->receiving_protocol;
}

void
tern_account_set_receiving_protocol (TernAccount           *self,
                                     TernReceivingProtocol  protocol)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  if (self->receiving_protocol == protocol)
    return;

  self->receiving_protocol = protocol;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECEIVING_PROTOCOL]);
}

const char *
tern_account_get_receiving_host (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->receiving_host;
}

void
tern_account_set_receiving_host (TernAccount *self,
                                 const char  *host)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->receiving_host, host, PROP_RECEIVING_HOST);
}

guint16
tern_account_get_receiving_port (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), 0);

  return self->receiving_port;
}

void
tern_account_set_receiving_port (TernAccount *self,
                                 guint16      port)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_port (self, &self->receiving_port, port, PROP_RECEIVING_PORT);
}

TernSecurity
tern_account_get_receiving_security (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), TERN_SECURITY_TLS);

  return self->receiving_security;
}

void
tern_account_set_receiving_security (TernAccount  *self,
                                     TernSecurity  security)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  if (self->receiving_security == security)
    return;

  self->receiving_security = security;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECEIVING_SECURITY]);
}

const char *
tern_account_get_receiving_username (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->receiving_username;
}

void
tern_account_set_receiving_username (TernAccount *self,
                                     const char  *username)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->receiving_username, username, PROP_RECEIVING_USERNAME);
}

const char *
tern_account_get_sending_host (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->sending_host;
}

void
tern_account_set_sending_host (TernAccount *self,
                               const char  *host)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->sending_host, host, PROP_SENDING_HOST);
}

guint16
tern_account_get_sending_port (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), 0);

  return self->sending_port;
}

void
tern_account_set_sending_port (TernAccount *self,
                               guint16      port)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_port (self, &self->sending_port, port, PROP_SENDING_PORT);
}

TernSecurity
tern_account_get_sending_security (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), TERN_SECURITY_TLS);

  return self->sending_security;
}

void
tern_account_set_sending_security (TernAccount  *self,
                                   TernSecurity  security)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  if (self->sending_security == security)
    return;

  self->sending_security = security;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SENDING_SECURITY]);
}

const char *
tern_account_get_sending_username (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->sending_username;
}

void
tern_account_set_sending_username (TernAccount *self,
                                   const char  *username)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->sending_username, username, PROP_SENDING_USERNAME);
}

/**
 * tern_account_get_receiving_password_command:
 *
 * The account's `password-command` for the receiving server: a shell
 * command whose first line of output is the password, for people who keep
 * passwords in a tool of their own (pass, gpg, a vault).  The command is
 * kept in the account file; its output never is.
 *
 * Returns: (nullable): the command, or %NULL when the password is in the
 *   keyring.
 */
const char *
tern_account_get_receiving_password_command (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->receiving_password_command;
}

void
tern_account_set_receiving_password_command (TernAccount *self,
                                             const char  *command)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->receiving_password_command, command,
              PROP_RECEIVING_PASSWORD_COMMAND);
}

/**
 * tern_account_get_sending_password_command:
 *
 * As tern_account_get_receiving_password_command(), for the SMTP server.
 *
 * Returns: (nullable): the command, or %NULL when the password is in the
 *   keyring.
 */
const char *
tern_account_get_sending_password_command (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->sending_password_command;
}

void
tern_account_set_sending_password_command (TernAccount *self,
                                           const char  *command)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_string (self, &self->sending_password_command, command,
              PROP_SENDING_PASSWORD_COMMAND);
}

/**
 * tern_account_get_auth_method:
 *
 * Returns: whether the account's servers get a password or an OAuth2
 *   access token.  With %TERN_AUTH_METHOD_OAUTH2 the keyring holds the
 *   refresh token (%TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN) and the provider
 *   settings below say where to use it.
 */
TernAuthMethod
tern_account_get_auth_method (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), TERN_AUTH_METHOD_PASSWORD);

  return self->auth_method;
}

void
tern_account_set_auth_method (TernAccount    *self,
                              TernAuthMethod  method)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  self->auth_method = method;
}

/**
 * tern_account_get_oauth2_provider:
 *
 * Returns: (nullable): "google", "microsoft" or "custom", or %NULL when
 *   the account has no OAuth2 settings.
 */
const char *
tern_account_get_oauth2_provider (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->oauth2_provider;
}

/* The next four: (nullable), set only for a "custom" provider. */
const char *
tern_account_get_oauth2_authorization_uri (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->oauth2_authorization_uri;
}

const char *
tern_account_get_oauth2_token_uri (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->oauth2_token_uri;
}

const char *
tern_account_get_oauth2_client_id (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->oauth2_client_id;
}

const char *
tern_account_get_oauth2_scope (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->oauth2_scope;
}

static void
replace_string (char       **field,
                const char  *value)
{
  g_free (*field);
  *field = value != NULL && *value != '\0' ? g_strdup (value) : NULL;
}

/**
 * tern_account_get_goa_id:
 *
 * Returns: (nullable): the id of the GNOME Online Accounts account this
 *   account was made from (GoaId= in the file); its passwords are then
 *   asked of GOA, which keeps them.
 */
const char *
tern_account_get_goa_id (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->goa_id;
}

void
tern_account_set_goa_id (TernAccount *self,
                         const char  *goa_id)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  replace_string (&self->goa_id, goa_id);
}

/**
 * tern_account_set_oauth2:
 * @provider: (nullable): "google", "microsoft" or "custom"
 * @authorization_uri: (nullable): for "custom": the authorization endpoint
 * @token_uri: (nullable): for "custom": the token endpoint
 * @client_id: (nullable): for "custom": Tern's client ID there
 * @scope: (nullable): for "custom": the scopes, separated by spaces
 *
 * Sets where the account's OAuth2 tokens come from.  The values are
 * checked when the account is saved (tern_account_save_to_file()).
 */
void
tern_account_set_oauth2 (TernAccount *self,
                         const char  *provider,
                         const char  *authorization_uri,
                         const char  *token_uri,
                         const char  *client_id,
                         const char  *scope)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  replace_string (&self->oauth2_provider, provider);
  replace_string (&self->oauth2_authorization_uri, authorization_uri);
  replace_string (&self->oauth2_token_uri, token_uri);
  replace_string (&self->oauth2_client_id, client_id);
  replace_string (&self->oauth2_scope, scope);
}

/**
 * tern_account_get_sync_interval:
 *
 * Returns: the minutes between two checks for new mail; 0 when the user
 *   checks by hand.
 */
guint
tern_account_get_sync_interval (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), 0);

  return self->sync_interval;
}

void
tern_account_set_sync_interval (TernAccount *self,
                                guint        minutes)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (minutes <= TERN_ACCOUNT_MAX_SYNC_MINUTES);

  set_uint (self, &self->sync_interval, minutes, PROP_SYNC_INTERVAL);
}

/**
 * tern_account_get_offline_days:
 *
 * Returns: how many days back Tern keeps whole messages for reading
 *   offline; 0 for all of them.
 */
guint
tern_account_get_offline_days (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), 0);

  return self->offline_days;
}

void
tern_account_set_offline_days (TernAccount *self,
                               guint        days)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (days <= TERN_ACCOUNT_MAX_OFFLINE_DAYS);

  set_uint (self, &self->offline_days, days, PROP_OFFLINE_DAYS);
}

TernPop3AfterDownload
tern_account_get_pop3_after_download (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), TERN_POP3_AFTER_DOWNLOAD_DELETE);

  return self->pop3_after_download;
}

void
tern_account_set_pop3_after_download (TernAccount           *self,
                                      TernPop3AfterDownload  after)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  if (self->pop3_after_download == after)
    return;

  self->pop3_after_download = after;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POP3_AFTER_DOWNLOAD]);
}

/**
 * tern_account_get_pop3_keep_days:
 *
 * Returns: with %TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS, how many days a
 *   downloaded message stays on the server.
 */
guint
tern_account_get_pop3_keep_days (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), 0);

  return self->pop3_keep_days;
}

void
tern_account_set_pop3_keep_days (TernAccount *self,
                                 guint        days)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (days >= 1 && days <= TERN_ACCOUNT_MAX_KEEP_DAYS);

  set_uint (self, &self->pop3_keep_days, days, PROP_POP3_KEEP_DAYS);
}

/**
 * tern_account_get_pop3_delete_on_server:
 *
 * Returns: %TRUE when deleting a message here deletes the copy left on the
 *   POP3 server too.
 */
gboolean
tern_account_get_pop3_delete_on_server (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), FALSE);

  return self->pop3_delete_on_server;
}

void
tern_account_set_pop3_delete_on_server (TernAccount *self,
                                        gboolean     delete_too)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  set_boolean (self, &self->pop3_delete_on_server, delete_too, PROP_POP3_DELETE_ON_SERVER);
}

/**
 * tern_account_get_pop3_deliver_to:
 *
 * Returns: (transfer none) (nullable): the id of the account whose Inbox
 *   receives this POP3 account's mail, or %NULL for this account's own.
 */
const char *
tern_account_get_pop3_deliver_to (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return self->pop3_deliver_to;
}

void
tern_account_set_pop3_deliver_to (TernAccount *self,
                                  const char  *account_id)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));

  if (g_strcmp0 (account_id, self->id) == 0)
    account_id = NULL;

  set_string (self, &self->pop3_deliver_to, account_id, PROP_POP3_DELIVER_TO);
}

/* Identities */

/**
 * tern_account_get_identities:
 *
 * Returns: (transfer none): the account's identities, a #GListModel of
 *   #TernIdentity in the order the user gave them.
 */
GListModel *
tern_account_get_identities (TernAccount *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  return G_LIST_MODEL (self->identities);
}

/**
 * tern_account_add_identity:
 *
 * Appends @identity.  The first identity of an account becomes its
 * default.
 */
void
tern_account_add_identity (TernAccount  *self,
                           TernIdentity *identity)
{
  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (TERN_IS_IDENTITY (identity));

  if (g_list_model_get_n_items (G_LIST_MODEL (self->identities)) == 0)
    tern_identity_set_is_default (identity, TRUE);
  else if (tern_identity_get_is_default (identity))
    tern_account_set_default_identity (self, identity);

  g_list_store_append (self->identities, identity);
}

/**
 * tern_account_remove_identity:
 *
 * Removes @identity.  When it was the default, the first identity left
 * becomes the default.
 */
void
tern_account_remove_identity (TernAccount  *self,
                              TernIdentity *identity)
{
  g_autoptr(TernIdentity) held = NULL;
  guint position;

  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (TERN_IS_IDENTITY (identity));

  if (!g_list_store_find (self->identities, identity, &position))
    return;

  /* The list may hold the only reference (tern_account_find_identity()
   * gives none): keep the identity alive until it is fully removed. */
  held = g_object_ref (identity);
  g_list_store_remove (self->identities, position);

  if (tern_identity_get_is_default (identity))
    {
      g_autoptr(TernIdentity) first = g_list_model_get_item (G_LIST_MODEL (self->identities), 0);

      tern_identity_set_is_default (identity, FALSE);
      if (first != NULL)
        tern_identity_set_is_default (first, TRUE);
    }
}

/**
 * tern_account_get_default_identity:
 *
 * Returns: (transfer none) (nullable): the identity that sends when no
 *   other fits, or %NULL for an account without identities.
 */
TernIdentity *
tern_account_get_default_identity (TernAccount *self)
{
  guint n_items;

  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->identities));
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(TernIdentity) identity = g_list_model_get_item (G_LIST_MODEL (self->identities), i);

      if (tern_identity_get_is_default (identity))
        return identity;
    }

  return NULL;
}

/**
 * tern_account_set_default_identity:
 * @identity: an identity of @self
 *
 * Makes @identity the default and every other identity not.
 */
void
tern_account_set_default_identity (TernAccount  *self,
                                   TernIdentity *identity)
{
  guint n_items;

  g_return_if_fail (TERN_IS_ACCOUNT (self));
  g_return_if_fail (TERN_IS_IDENTITY (identity));

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->identities));
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(TernIdentity) other = g_list_model_get_item (G_LIST_MODEL (self->identities), i);

      tern_identity_set_is_default (other, other == identity);
    }
  tern_identity_set_is_default (identity, TRUE);
}

/**
 * tern_account_find_identity:
 * @address: a bare address
 *
 * Returns: (transfer none) (nullable): the identity of @self with
 *   @address, compared without regard to case, or %NULL.
 */
TernIdentity *
tern_account_find_identity (TernAccount *self,
                            const char  *address)
{
  guint n_items;

  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  if (address == NULL)
    return NULL;

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->identities));
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(TernIdentity) identity = g_list_model_get_item (G_LIST_MODEL (self->identities), i);

      if (tern_account_address_equal (tern_identity_get_address (identity), address))
        return identity;
    }

  return NULL;
}

/**
 * tern_account_choose_identity:
 * @delivered_to: (array zero-terminated=1) (nullable): the original's
 *   Delivered-To addresses
 * @x_original_to: (array zero-terminated=1) (nullable): its X-Original-To
 * @to: (array zero-terminated=1) (nullable): its To
 * @cc: (array zero-terminated=1) (nullable): its Cc
 *
 * Chooses the From of a reply to (or a forward of) a message that came to
 * @self: the identity whose address the message was sent to, looking in
 * Delivered-To first (where the server says it delivered the message,
 * which names an alias even when the message came by Bcc or a list), then
 * X-Original-To, To and Cc, each in its own order; else the default.
 * Addresses are bare ("user@example.com") and compared without regard to
 * case.
 *
 * Returns: (transfer none) (nullable): the identity to send from; %NULL
 *   only for an account without identities.
 */
TernIdentity *
tern_account_choose_identity (TernAccount        *self,
                              const char * const *delivered_to,
                              const char * const *x_original_to,
                              const char * const *to,
                              const char * const *cc)
{
  const char * const *headers[] = { delivered_to, x_original_to, to, cc };

  g_return_val_if_fail (TERN_IS_ACCOUNT (self), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      for (guint j = 0; headers[i] != NULL && headers[i][j] != NULL; j++)
        {
          TernIdentity *identity = tern_account_find_identity (self, headers[i][j]);

          if (identity != NULL)
            return identity;
        }
    }

  return tern_account_get_default_identity (self);
}
