/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-account-private.h"
#include "tern-identity.h"

/*
 * TernIdentity: one address an account sends from (the main address or an
 * alias such as info@ or support@), with the name, reply-to and signature
 * that go with it and, when the alias belongs to another provider, its own
 * SMTP server.  One identity of each account is the default.
 */

struct _TernIdentity
{
  GObject parent_instance;

  char *name;
  char *address;
  char *reply_to;
  char *signature;
  char *smtp_host;
  guint16 smtp_port;
  TernSecurity smtp_security;
  char *smtp_username;
  TernComposeFormat compose_format;
  gboolean is_default;
};

G_DEFINE_FINAL_TYPE (TernIdentity, tern_identity, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_ADDRESS,
  PROP_REPLY_TO,
  PROP_SIGNATURE,
  PROP_SMTP_HOST,
  PROP_SMTP_PORT,
  PROP_SMTP_SECURITY,
  PROP_SMTP_USERNAME,
  PROP_COMPOSE_FORMAT,
  PROP_IS_DEFAULT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_string (TernIdentity  *self,
            char         **field,
            const char    *value,
            guint          prop)
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
tern_identity_finalize (GObject *object)
{
  TernIdentity *self = TERN_IDENTITY (object);

  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->address, g_free);
  g_clear_pointer (&self->reply_to, g_free);
  g_clear_pointer (&self->signature, g_free);
  g_clear_pointer (&self->smtp_host, g_free);
  g_clear_pointer (&self->smtp_username, g_free);

  G_OBJECT_CLASS (tern_identity_parent_class)->finalize (object);
}

static void
tern_identity_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TernIdentity *self = TERN_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_REPLY_TO:
      g_value_set_string (value, self->reply_to);
      break;
    case PROP_SIGNATURE:
      g_value_set_string (value, self->signature);
      break;
    case PROP_SMTP_HOST:
      g_value_set_string (value, self->smtp_host);
      break;
    case PROP_SMTP_PORT:
      g_value_set_uint (value, self->smtp_port);
      break;
    case PROP_SMTP_SECURITY:
      g_value_set_enum (value, self->smtp_security);
      break;
    case PROP_SMTP_USERNAME:
      g_value_set_string (value, self->smtp_username);
      break;
    case PROP_COMPOSE_FORMAT:
      g_value_set_enum (value, self->compose_format);
      break;
    case PROP_IS_DEFAULT:
      g_value_set_boolean (value, self->is_default);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_identity_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TernIdentity *self = TERN_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_NAME:
      tern_identity_set_name (self, g_value_get_string (value));
      break;
    case PROP_ADDRESS:
      tern_identity_set_address (self, g_value_get_string (value));
      break;
    case PROP_REPLY_TO:
      tern_identity_set_reply_to (self, g_value_get_string (value));
      break;
    case PROP_SIGNATURE:
      tern_identity_set_signature (self, g_value_get_string (value));
      break;
    case PROP_SMTP_HOST:
      tern_identity_set_smtp_host (self, g_value_get_string (value));
      break;
    case PROP_SMTP_PORT:
      tern_identity_set_smtp_port (self, (guint16) g_value_get_uint (value));
      break;
    case PROP_SMTP_SECURITY:
      tern_identity_set_smtp_security (self, g_value_get_enum (value));
      break;
    case PROP_SMTP_USERNAME:
      tern_identity_set_smtp_username (self, g_value_get_string (value));
      break;
    case PROP_COMPOSE_FORMAT:
      tern_identity_set_compose_format (self, g_value_get_enum (value));
      break;
    case PROP_IS_DEFAULT:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_identity_class_init (TernIdentityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = tern_identity_finalize;
  object_class->get_property = tern_identity_get_property;
  object_class->set_property = tern_identity_set_property;

  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, flags);
  properties[PROP_REPLY_TO] = g_param_spec_string ("reply-to", NULL, NULL, NULL, flags);
  properties[PROP_SIGNATURE] = g_param_spec_string ("signature", NULL, NULL, NULL, flags);
  properties[PROP_SMTP_HOST] = g_param_spec_string ("smtp-host", NULL, NULL, NULL, flags);
  properties[PROP_SMTP_PORT] =
    g_param_spec_uint ("smtp-port", NULL, NULL, 0, TERN_ACCOUNT_MAX_PORT, 587, flags);
  properties[PROP_SMTP_SECURITY] =
    g_param_spec_enum ("smtp-security", NULL, NULL, TERN_TYPE_SECURITY,
                       TERN_SECURITY_STARTTLS, flags);
  properties[PROP_SMTP_USERNAME] =
    g_param_spec_string ("smtp-username", NULL, NULL, NULL, flags);
  properties[PROP_COMPOSE_FORMAT] =
    g_param_spec_enum ("compose-format", NULL, NULL, TERN_TYPE_COMPOSE_FORMAT,
                       TERN_COMPOSE_FORMAT_RICH, flags);
  properties[PROP_IS_DEFAULT] =
    g_param_spec_boolean ("is-default", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_identity_init (TernIdentity *self)
{
  self->smtp_port = 587;
  self->smtp_security = TERN_SECURITY_STARTTLS;
}

/**
 * tern_identity_new:
 * @name: (nullable): the display name, "Ada Lovelace"
 * @address: the bare address, "ada@example.com"
 *
 * Returns: (transfer full): a new identity, not yet the default of any
 *   account.
 */
TernIdentity *
tern_identity_new (const char *name,
                   const char *address)
{
  return g_object_new (TERN_TYPE_IDENTITY,
                       "name", name,
                       "address", address,
                       NULL);
}

const char *
tern_identity_get_name (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), NULL);

  return self->name;
}

void
tern_identity_set_name (TernIdentity *self,
                        const char   *name)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  set_string (self, &self->name, name, PROP_NAME);
}

const char *
tern_identity_get_address (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), NULL);

  return self->address;
}

void
tern_identity_set_address (TernIdentity *self,
                           const char   *address)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  set_string (self, &self->address, address, PROP_ADDRESS);
}

const char *
tern_identity_get_reply_to (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), NULL);

  return self->reply_to;
}

void
tern_identity_set_reply_to (TernIdentity *self,
                            const char   *reply_to)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  set_string (self, &self->reply_to, reply_to, PROP_REPLY_TO);
}

const char *
tern_identity_get_signature (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), NULL);

  return self->signature;
}

void
tern_identity_set_signature (TernIdentity *self,
                             const char   *signature)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  set_string (self, &self->signature, signature, PROP_SIGNATURE);
}

/**
 * tern_identity_get_compose_format:
 *
 * Returns: how the composer starts a message from this identity.
 */
TernComposeFormat
tern_identity_get_compose_format (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), TERN_COMPOSE_FORMAT_RICH);

  return self->compose_format;
}

void
tern_identity_set_compose_format (TernIdentity      *self,
                                  TernComposeFormat  format)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));
  g_return_if_fail (format == TERN_COMPOSE_FORMAT_RICH || format == TERN_COMPOSE_FORMAT_PLAIN);

  if (self->compose_format == format)
    return;
  self->compose_format = format;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPOSE_FORMAT]);
}

/**
 * tern_identity_has_smtp_server:
 *
 * Returns: %TRUE when this identity sends through its own SMTP server
 *   rather than its account's.
 */
gboolean
tern_identity_has_smtp_server (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), FALSE);

  return self->smtp_host != NULL;
}

const char *
tern_identity_get_smtp_host (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), NULL);

  return self->smtp_host;
}

void
tern_identity_set_smtp_host (TernIdentity *self,
                             const char   *host)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  set_string (self, &self->smtp_host, host, PROP_SMTP_HOST);
}

guint16
tern_identity_get_smtp_port (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), 0);

  return self->smtp_port;
}

void
tern_identity_set_smtp_port (TernIdentity *self,
                             guint16       port)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  if (self->smtp_port == port)
    return;

  self->smtp_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMTP_PORT]);
}

TernSecurity
tern_identity_get_smtp_security (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), TERN_SECURITY_TLS);

  return self->smtp_security;
}

void
tern_identity_set_smtp_security (TernIdentity *self,
                                 TernSecurity  security)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  if (self->smtp_security == security)
    return;

  self->smtp_security = security;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SMTP_SECURITY]);
}

const char *
tern_identity_get_smtp_username (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), NULL);

  return self->smtp_username;
}

void
tern_identity_set_smtp_username (TernIdentity *self,
                                 const char   *username)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  set_string (self, &self->smtp_username, username, PROP_SMTP_USERNAME);
}

gboolean
tern_identity_get_is_default (TernIdentity *self)
{
  g_return_val_if_fail (TERN_IS_IDENTITY (self), FALSE);

  return self->is_default;
}

void
tern_identity_set_is_default (TernIdentity *self,
                              gboolean      is_default)
{
  g_return_if_fail (TERN_IS_IDENTITY (self));

  is_default = !!is_default;
  if (self->is_default == is_default)
    return;

  self->is_default = is_default;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_DEFAULT]);
}
