/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-account-types.h"

G_DEFINE_QUARK (tern-account-error-quark, tern_account_error)

G_DEFINE_ENUM_TYPE (TernReceivingProtocol, tern_receiving_protocol,
  G_DEFINE_ENUM_VALUE (TERN_RECEIVING_PROTOCOL_IMAP, "imap"),
  G_DEFINE_ENUM_VALUE (TERN_RECEIVING_PROTOCOL_POP3, "pop3"))

G_DEFINE_ENUM_TYPE (TernSecurity, tern_security,
  G_DEFINE_ENUM_VALUE (TERN_SECURITY_TLS, "tls"),
  G_DEFINE_ENUM_VALUE (TERN_SECURITY_STARTTLS, "starttls"),
  G_DEFINE_ENUM_VALUE (TERN_SECURITY_NONE, "none"))

G_DEFINE_ENUM_TYPE (TernPop3AfterDownload, tern_pop3_after_download,
  G_DEFINE_ENUM_VALUE (TERN_POP3_AFTER_DOWNLOAD_DELETE, "delete"),
  G_DEFINE_ENUM_VALUE (TERN_POP3_AFTER_DOWNLOAD_KEEP, "keep"),
  G_DEFINE_ENUM_VALUE (TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS, "keep-for-days"))

G_DEFINE_ENUM_TYPE (TernAuthMethod, tern_auth_method,
  G_DEFINE_ENUM_VALUE (TERN_AUTH_METHOD_PASSWORD, "password"),
  G_DEFINE_ENUM_VALUE (TERN_AUTH_METHOD_OAUTH2, "oauth2"))

G_DEFINE_ENUM_TYPE (TernComposeFormat, tern_compose_format,
  G_DEFINE_ENUM_VALUE (TERN_COMPOSE_FORMAT_RICH, "rich"),
  G_DEFINE_ENUM_VALUE (TERN_COMPOSE_FORMAT_PLAIN, "plain"))

static const char *
enum_nick (GType type,
           int   value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *found = g_enum_get_value (klass, value);

  /* The classes of static enum types live as long as the program, so the
   * nick stays valid after the reference is dropped. */
  return found != NULL ? found->value_nick : NULL;
}

const char *
tern_security_to_string (TernSecurity security)
{
  return enum_nick (TERN_TYPE_SECURITY, security);
}

const char *
tern_receiving_protocol_to_string (TernReceivingProtocol protocol)
{
  return enum_nick (TERN_TYPE_RECEIVING_PROTOCOL, protocol);
}

const char *
tern_auth_method_to_string (TernAuthMethod method)
{
  return enum_nick (TERN_TYPE_AUTH_METHOD, method);
}

const char *
tern_compose_format_to_string (TernComposeFormat format)
{
  return enum_nick (TERN_TYPE_COMPOSE_FORMAT, format);
}

const char *
tern_pop3_after_download_to_string (TernPop3AfterDownload after)
{
  return enum_nick (TERN_TYPE_POP3_AFTER_DOWNLOAD, after);
}

/**
 * tern_receiving_protocol_default_port:
 *
 * Returns: the port a server listens on for @protocol with @security when
 *   the account does not say otherwise.
 */
guint16
tern_receiving_protocol_default_port (TernReceivingProtocol protocol,
                                      TernSecurity          security)
{
  gboolean implicit_tls = security == TERN_SECURITY_TLS;

  if (protocol == TERN_RECEIVING_PROTOCOL_POP3)
    return implicit_tls ? 995 : 110;

  return implicit_tls ? 993 : 143;
}

/**
 * tern_smtp_default_port:
 *
 * Returns: the submission port for @security: 465 with TLS from the first
 *   byte, 587 otherwise.
 */
guint16
tern_smtp_default_port (TernSecurity security)
{
  return security == TERN_SECURITY_TLS ? 465 : 587;
}

/**
 * tern_account_address_is_valid:
 * @address: a bare address, "user@example.com"
 *
 * A plain check of the shape of an address, enough to catch a typing slip
 * in an account file: one "@" with text on both sides, a domain with a dot
 * between labels, and nothing that belongs to a header rather than an
 * address (spaces, angle brackets, commas, quotes, control characters).
 *
 * Returns: %TRUE when @address looks like one address.
 */
gboolean
tern_account_address_is_valid (const char *address)
{
  const char *at;
  const char *domain;
  const char *p;

  if (address == NULL || !g_utf8_validate (address, -1, NULL))
    return FALSE;

  at = strchr (address, '@');
  if (at == NULL || at == address || strchr (at + 1, '@') != NULL)
    return FALSE;

  for (p = address; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c <= 0x20 || c == 0x7f || strchr ("<>(),;:\"[]\\", c) != NULL)
        return FALSE;
    }

  domain = at + 1;
  if (*domain == '\0' || *domain == '.' || *domain == '-' ||
      g_str_has_suffix (domain, ".") || strstr (domain, "..") != NULL ||
      strchr (domain, '.') == NULL)
    return FALSE;

  return TRUE;
}

static char *
normalize_address (const char *address)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (address));
  gsize len = strlen (trimmed);

  /* Tolerate "<user@host>", the form addresses take inside headers. */
  if (len >= 2 && trimmed[0] == '<' && trimmed[len - 1] == '>')
    {
      trimmed[len - 1] = '\0';
      return g_utf8_casefold (trimmed + 1, -1);
    }

  return g_utf8_casefold (trimmed, -1);
}

/**
 * tern_account_address_equal:
 *
 * Compares two bare addresses without regard to case, the way people type
 * them.  (Strictly the local part is case-sensitive, but no provider makes
 * Info@ and info@ two mailboxes, and replying from the wrong alias is the
 * worse mistake.)
 *
 * Returns: %TRUE when @a and @b name the same address.
 */
gboolean
tern_account_address_equal (const char *a,
                            const char *b)
{
  g_autofree char *folded_a = NULL;
  g_autofree char *folded_b = NULL;

  if (a == NULL || b == NULL || !g_utf8_validate (a, -1, NULL) || !g_utf8_validate (b, -1, NULL))
    return FALSE;

  folded_a = normalize_address (a);
  folded_b = normalize_address (b);

  return *folded_a != '\0' && g_str_equal (folded_a, folded_b);
}
