/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-goa.h"

/*
 * A GOA mail account has an IMAP and an SMTP server, each a "host" or
 * "host:port", with "use SSL" (TLS from the first byte), "use TLS"
 * (STARTTLS) or neither (no encryption, which the user chose in Settings).
 * GOA's "accept SSL errors" is not carried over: Tern shows a certificate
 * that does not validate and lets the user pin it instead.
 */

G_DEFINE_QUARK (tern-goa-error-quark, tern_goa_error)

static gboolean
split_server (const char  *text,
              char       **host,
              guint16     *port)
{
  const char *colon;
  guint64 number = 0;

  *port = 0;
  if (text == NULL || *text == '\0')
    return FALSE;

  colon = strrchr (text, ':');
  /* A colon inside brackets, or several colons, is an IPv6 address. */
  if (colon != NULL && text[0] != '[' && strchr (text, ':') == colon)
    {
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
        return FALSE;
      *host = g_strndup (text, colon - text);
      *port = (guint16) number;
    }
  else if (text[0] == '[')
    {
      const char *end = strchr (text, ']');

      if (end == NULL)
        return FALSE;
      if (end[1] == ':' &&
          !g_ascii_string_to_unsigned (end + 2, 10, 1, 65535, &number, NULL))
        return FALSE;
      *host = g_strndup (text + 1, end - text - 1);
      *port = (guint16) number;
    }
  else
    {
      *host = g_strdup (text);
    }

  return **host != '\0';
}

static TernSecurity
security_of (gboolean use_ssl,
             gboolean use_tls)
{
  if (use_ssl)
    return TERN_SECURITY_TLS;
  if (use_tls)
    return TERN_SECURITY_STARTTLS;
  return TERN_SECURITY_NONE;
}

/**
 * tern_goa_account_new:
 * @object: an online account
 *
 * Returns: (transfer full) (nullable): a new account (without an id; the
 *   account manager gives it one) with the online account's servers and
 *   address, or %NULL with a %TERN_GOA_ERROR.
 */
TernAccount *
tern_goa_account_new (GoaObject  *object,
                      GError    **error)
{
  GoaAccount *goa_account = goa_object_peek_account (object);
  GoaMail *mail = goa_object_peek_mail (object);
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernIdentity) identity = NULL;
  g_autofree char *imap_host = NULL;
  g_autofree char *smtp_host = NULL;
  const char *address;
  const char *label;
  TernSecurity security;
  guint16 port;

  if (mail == NULL || (goa_account != NULL && goa_account_get_mail_disabled (goa_account)))
    {
      g_set_error_literal (error, TERN_GOA_ERROR, TERN_GOA_ERROR_NO_MAIL,
                           "this online account has no mail, or mail is turned off for it "
                           "in Settings");
      return NULL;
    }

  address = goa_mail_get_email_address (mail);
  if (address == NULL || !tern_account_address_is_valid (address))
    {
      g_set_error (error, TERN_GOA_ERROR, TERN_GOA_ERROR_UNSUPPORTED,
                   "the online account's address “%s” is not one Tern can use",
                   address != NULL ? address : "");
      return NULL;
    }

  if (!goa_mail_get_imap_supported (mail) ||
      !split_server (goa_mail_get_imap_host (mail), &imap_host, &port))
    {
      g_set_error (error, TERN_GOA_ERROR, TERN_GOA_ERROR_UNSUPPORTED,
                   "the online account of %s has no IMAP server", address);
      return NULL;
    }

  account = tern_account_new ();
  if (goa_account != NULL)
    tern_account_set_goa_id (account, goa_account_get_id (goa_account));
  /* Google's, Microsoft's: GOA hands out access tokens, not passwords. */
  if (goa_object_peek_oauth2_based (object) != NULL &&
      goa_object_peek_password_based (object) == NULL)
    tern_account_set_auth_method (account, TERN_AUTH_METHOD_OAUTH2);
  identity = tern_identity_new (goa_mail_get_name (mail), address);
  tern_account_add_identity (account, identity);

  label = goa_account != NULL ? goa_account_get_presentation_identity (goa_account) : NULL;
  tern_account_set_display_name (account, label != NULL && *label != '\0' ? label : address);

  security = security_of (goa_mail_get_imap_use_ssl (mail), goa_mail_get_imap_use_tls (mail));
  tern_account_set_receiving_protocol (account, TERN_RECEIVING_PROTOCOL_IMAP);
  tern_account_set_receiving_host (account, imap_host);
  tern_account_set_receiving_security (account, security);
  tern_account_set_receiving_port (account, port != 0 ? port
                                   : tern_receiving_protocol_default_port (
                                       TERN_RECEIVING_PROTOCOL_IMAP, security));
  tern_account_set_receiving_username (account, goa_mail_get_imap_user_name (mail) != NULL &&
                                                *goa_mail_get_imap_user_name (mail) != '\0'
                                                  ? goa_mail_get_imap_user_name (mail)
                                                  : address);

  if (!goa_mail_get_smtp_supported (mail) ||
      !split_server (goa_mail_get_smtp_host (mail), &smtp_host, &port))
    {
      g_set_error (error, TERN_GOA_ERROR, TERN_GOA_ERROR_UNSUPPORTED,
                   "the online account of %s has no SMTP server to send with", address);
      return NULL;
    }

  security = security_of (goa_mail_get_smtp_use_ssl (mail), goa_mail_get_smtp_use_tls (mail));
  tern_account_set_sending_host (account, smtp_host);
  tern_account_set_sending_security (account, security);
  tern_account_set_sending_port (account, port != 0 ? port : tern_smtp_default_port (security));
  tern_account_set_sending_username (account, goa_mail_get_smtp_user_name (mail) != NULL &&
                                              *goa_mail_get_smtp_user_name (mail) != '\0'
                                                ? goa_mail_get_smtp_user_name (mail)
                                                : address);

  return g_steal_pointer (&account);
}

/**
 * tern_goa_accounts_from_list:
 * @objects: (element-type GoaObject): what goa_client_get_accounts() gives
 * @problems: (out) (optional) (element-type GError): why the online
 *   accounts with mail that were left out could not be used
 *
 * Returns: (transfer full) (element-type TernAccount): the mail accounts
 *   among @objects; accounts without mail are skipped silently.
 */
GPtrArray *
tern_goa_accounts_from_list (GList      *objects,
                             GPtrArray **problems)
{
  GPtrArray *accounts = g_ptr_array_new_with_free_func (g_object_unref);

  if (problems != NULL)
    *problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);

  for (GList *l = objects; l != NULL; l = l->next)
    {
      GError *error = NULL;
      TernAccount *account;

      if (goa_object_peek_mail (l->data) == NULL)
        continue;

      account = tern_goa_account_new (l->data, &error);
      if (account != NULL)
        g_ptr_array_add (accounts, account);
      else if (problems != NULL && !g_error_matches (error, TERN_GOA_ERROR,
                                                     TERN_GOA_ERROR_NO_MAIL))
        g_ptr_array_add (*problems, error);
      else
        g_error_free (error);
    }

  return accounts;
}
