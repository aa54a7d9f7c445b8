/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/*
 * The values an account file may hold, shared by accounts, identities and
 * the account manager.  Each enum has the word the file uses for it
 * (its GEnumValue nick): "imap", "starttls", "keep-for-days" and so on.
 */

#define TERN_ACCOUNT_ERROR (tern_account_error_quark ())

typedef enum
{
  /* The file is not a key file at all, or cannot be read or written. */
  TERN_ACCOUNT_ERROR_FAILED,
  /* A key Tern needs is not there. */
  TERN_ACCOUNT_ERROR_MISSING_KEY,
  /* A key holds a value Tern does not accept. */
  TERN_ACCOUNT_ERROR_INVALID_VALUE,
  /* The file holds a password, which belongs in the keyring. */
  TERN_ACCOUNT_ERROR_PASSWORD_IN_FILE,
  /* The account, or the mailbox it reads, is already there. */
  TERN_ACCOUNT_ERROR_EXISTS,
  /* The account is not one the manager knows. */
  TERN_ACCOUNT_ERROR_NOT_FOUND,
  /* The file changed on disk (another program wrote it) since the account
   * was read from it. */
  TERN_ACCOUNT_ERROR_CHANGED,
} TernAccountError;

GQuark tern_account_error_quark (void);

typedef enum
{
  TERN_RECEIVING_PROTOCOL_IMAP,
  TERN_RECEIVING_PROTOCOL_POP3,
} TernReceivingProtocol;

#define TERN_TYPE_RECEIVING_PROTOCOL (tern_receiving_protocol_get_type ())
GType tern_receiving_protocol_get_type (void) G_GNUC_CONST;

typedef enum
{
  /* TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465). */
  TERN_SECURITY_TLS,
  /* A plain connection upgraded with STARTTLS, never falling back. */
  TERN_SECURITY_STARTTLS,
  /* No encryption, only when the user chose it in so many words. */
  TERN_SECURITY_NONE,
} TernSecurity;

#define TERN_TYPE_SECURITY (tern_security_get_type ())
GType tern_security_get_type (void) G_GNUC_CONST;

/* What a POP3 account does with a message on the server once the local copy
 * is safe on disk. */
typedef enum
{
  TERN_POP3_AFTER_DOWNLOAD_DELETE,
  TERN_POP3_AFTER_DOWNLOAD_KEEP,
  TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS,
} TernPop3AfterDownload;

#define TERN_TYPE_POP3_AFTER_DOWNLOAD (tern_pop3_after_download_get_type ())
GType tern_pop3_after_download_get_type (void) G_GNUC_CONST;

/* How Tern proves who the user is to the account's servers. */
typedef enum
{
  /* A password from the keyring or the account's password command. */
  TERN_AUTH_METHOD_PASSWORD,
  /* An OAuth2 access token (XOAUTH2 or OAUTHBEARER), got with the refresh
   * token the keyring keeps. */
  TERN_AUTH_METHOD_OAUTH2,
} TernAuthMethod;

#define TERN_TYPE_AUTH_METHOD (tern_auth_method_get_type ())
GType tern_auth_method_get_type (void) G_GNUC_CONST;

/* How the composer starts a message from an identity. */
typedef enum
{
  /* Rich text: bold, italic, links, lists, quotes and images. */
  TERN_COMPOSE_FORMAT_RICH,
  /* Plain text only; the formatting bar is off until the user turns it on. */
  TERN_COMPOSE_FORMAT_PLAIN,
} TernComposeFormat;

#define TERN_TYPE_COMPOSE_FORMAT (tern_compose_format_get_type ())
GType tern_compose_format_get_type (void) G_GNUC_CONST;

/* The largest port number, and the limits of the numbers a file may hold. */
#define TERN_ACCOUNT_MAX_PORT            65535
#define TERN_ACCOUNT_MAX_SYNC_MINUTES    (7 * 24 * 60)
#define TERN_ACCOUNT_MAX_OFFLINE_DAYS    36500
#define TERN_ACCOUNT_MAX_KEEP_DAYS       36500

#define TERN_ACCOUNT_DEFAULT_SYNC_MINUTES 15
#define TERN_ACCOUNT_DEFAULT_OFFLINE_DAYS 30
#define TERN_ACCOUNT_DEFAULT_KEEP_DAYS    14

const char *tern_security_to_string              (TernSecurity           security);
const char *tern_receiving_protocol_to_string    (TernReceivingProtocol  protocol);
const char *tern_pop3_after_download_to_string   (TernPop3AfterDownload  after);
const char *tern_auth_method_to_string           (TernAuthMethod         method);
const char *tern_compose_format_to_string        (TernComposeFormat      format);

guint16     tern_receiving_protocol_default_port (TernReceivingProtocol  protocol,
                                                  TernSecurity           security);
guint16     tern_smtp_default_port               (TernSecurity           security);

gboolean    tern_account_address_is_valid        (const char            *address);
gboolean    tern_account_address_equal           (const char            *a,
                                                  const char            *b);

G_END_DECLS
