/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-connection.h"

G_BEGIN_DECLS

/*
 * The client side of SMTP submission over a #TernConnection.
 *
 * The order of calls is:
 *
 *   1. tern_smtp_client_new(), then the setters of the connection
 *      tern_smtp_client_get_connection() returns (TLS database, pin,
 *      timeouts, local address);
 *   2. tern_smtp_client_connect_async(): connects, reads the greeting, says
 *      EHLO (HELO when the server refuses EHLO), and for
 *      %TERN_CONNECTION_SECURITY_STARTTLS upgrades the connection and says
 *      EHLO again.  A server that does not offer STARTTLS when it was asked
 *      for ends the connection with %TERN_SMTP_ERROR_NO_STARTTLS;
 *   3. tern_smtp_client_authenticate_async() when the account has a login;
 *   4. any number of tern_smtp_client_send_async(), one at a time;
 *   5. tern_smtp_client_quit_async().
 *
 * Only one operation runs at a time.  Errors of the server are in
 * %TERN_SMTP_ERROR, with the server's reply code, enhanced status code and
 * text in the message; errors of the wire stay in %TERN_CONNECTION_ERROR,
 * and after those the client is no longer usable.
 */

#define TERN_SMTP_ERROR (tern_smtp_error_quark ())

/**
 * TernSmtpError:
 * @TERN_SMTP_ERROR_PROTOCOL: the server sent something that is not SMTP
 * @TERN_SMTP_ERROR_TEMPORARY: a 4xx reply: trying again later may work
 * @TERN_SMTP_ERROR_PERMANENT: a 5xx reply: trying again will not help
 * @TERN_SMTP_ERROR_NO_STARTTLS: STARTTLS was asked for and the server does
 *   not offer it, or refused it
 * @TERN_SMTP_ERROR_AUTH_FAILED: the server refused the credentials (535)
 * @TERN_SMTP_ERROR_AUTH_UNSUPPORTED: the server offers no mechanism Tern
 *   implements, or no AUTH at all
 * @TERN_SMTP_ERROR_NOT_ENCRYPTED: authenticating would send a secret in
 *   clear on a connection whose user did not choose no encryption
 * @TERN_SMTP_ERROR_MESSAGE_TOO_LARGE: the message is larger than the SIZE
 *   the server announced; nothing was uploaded
 * @TERN_SMTP_ERROR_SMTPUTF8_UNSUPPORTED: an address is not ASCII and the
 *   server does not offer SMTPUTF8
 * @TERN_SMTP_ERROR_INVALID_ADDRESS: an address is empty or holds characters
 *   that cannot go into an SMTP command
 * @TERN_SMTP_ERROR_INVALID_STATE: the call does not fit the client's state
 *   (not connected, another operation running, a broken connection)
 */
typedef enum {
  TERN_SMTP_ERROR_PROTOCOL,
  TERN_SMTP_ERROR_TEMPORARY,
  TERN_SMTP_ERROR_PERMANENT,
  TERN_SMTP_ERROR_NO_STARTTLS,
  TERN_SMTP_ERROR_AUTH_FAILED,
  TERN_SMTP_ERROR_AUTH_UNSUPPORTED,
  TERN_SMTP_ERROR_NOT_ENCRYPTED,
  TERN_SMTP_ERROR_MESSAGE_TOO_LARGE,
  TERN_SMTP_ERROR_SMTPUTF8_UNSUPPORTED,
  TERN_SMTP_ERROR_INVALID_ADDRESS,
  TERN_SMTP_ERROR_INVALID_STATE,
} TernSmtpError;

/**
 * TernSmtpExtensions:
 *
 * The EHLO keywords Tern uses; CHUNKING and others are ignored.
 */
typedef enum {
  TERN_SMTP_EXTENSION_NONE                = 0,
  TERN_SMTP_EXTENSION_PIPELINING          = 1 << 0,
  TERN_SMTP_EXTENSION_8BITMIME            = 1 << 1,
  TERN_SMTP_EXTENSION_SMTPUTF8            = 1 << 2,
  TERN_SMTP_EXTENSION_SIZE                = 1 << 3,
  TERN_SMTP_EXTENSION_DSN                 = 1 << 4,
  TERN_SMTP_EXTENSION_ENHANCEDSTATUSCODES = 1 << 5,
  TERN_SMTP_EXTENSION_AUTH                = 1 << 6,
  TERN_SMTP_EXTENSION_STARTTLS            = 1 << 7,
} TernSmtpExtensions;

/* The longest reply line Tern reads, and the most lines in one reply. */
#define TERN_SMTP_MAX_REPLY_LINE   4096
#define TERN_SMTP_MAX_REPLY_LINES  256

/**
 * TernSmtpSendResult:
 *
 * What became of each recipient of a message that was sent: the accepted
 * ones got it, each refused one has the error of its RCPT reply.
 */
typedef struct _TernSmtpSendResult TernSmtpSendResult;

const char * const *tern_smtp_send_result_get_accepted (TernSmtpSendResult *self);
const char * const *tern_smtp_send_result_get_refused  (TernSmtpSendResult *self);
const GError       *tern_smtp_send_result_get_error    (TernSmtpSendResult *self,
                                                        const char         *address);
void                tern_smtp_send_result_free         (TernSmtpSendResult *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernSmtpSendResult, tern_smtp_send_result_free)

/**
 * TernSmtpDsnNotify:
 * @TERN_SMTP_DSN_NOTIFY_DEFAULT: no NOTIFY parameter: the server's default
 * @TERN_SMTP_DSN_NOTIFY_SUCCESS: a report when the message is delivered
 * @TERN_SMTP_DSN_NOTIFY_FAILURE: a report when delivery fails
 * @TERN_SMTP_DSN_NOTIFY_DELAY: a report when delivery is delayed
 * @TERN_SMTP_DSN_NOTIFY_NEVER: no report at all; not to be combined with
 *   the others
 *
 * When a delivery status notification (RFC 3461) is wanted for each
 * recipient.
 */
typedef enum {
  TERN_SMTP_DSN_NOTIFY_DEFAULT = 0,
  TERN_SMTP_DSN_NOTIFY_SUCCESS = 1 << 0,
  TERN_SMTP_DSN_NOTIFY_FAILURE = 1 << 1,
  TERN_SMTP_DSN_NOTIFY_DELAY   = 1 << 2,
  TERN_SMTP_DSN_NOTIFY_NEVER   = 1 << 3,
} TernSmtpDsnNotify;

/**
 * TernSmtpDsnRet:
 * @TERN_SMTP_DSN_RET_DEFAULT: no RET parameter: the server's default
 * @TERN_SMTP_DSN_RET_FULL: a failure report carries the whole message
 * @TERN_SMTP_DSN_RET_HDRS: a failure report carries only its header
 */
typedef enum {
  TERN_SMTP_DSN_RET_DEFAULT,
  TERN_SMTP_DSN_RET_FULL,
  TERN_SMTP_DSN_RET_HDRS,
} TernSmtpDsnRet;

/**
 * TernSmtpDsn:
 * @notify: when each recipient's server should report
 * @ret: how much of the message a failure report returns
 * @envid: (nullable): an identifier of this sending that reports quote
 *   back; printable ASCII is best, anything else is xtext-encoded
 *
 * The delivery status notifications asked for one message.  They are only
 * sent to a server that offers DSN; see
 * tern_smtp_send_result_get_dsn_unavailable().
 */
typedef struct {
  TernSmtpDsnNotify notify;
  TernSmtpDsnRet ret;
  const char *envid;
} TernSmtpDsn;

gboolean            tern_smtp_send_result_get_dsn_unavailable (TernSmtpSendResult *self);

char               *tern_smtp_xtext_encode                 (const char *text);

#define TERN_TYPE_SMTP_CLIENT (tern_smtp_client_get_type ())

G_DECLARE_FINAL_TYPE (TernSmtpClient, tern_smtp_client, TERN, SMTP_CLIENT, GObject)

GQuark              tern_smtp_error_quark                 (void);

TernSmtpClient     *tern_smtp_client_new                  (void);
TernConnection     *tern_smtp_client_get_connection       (TernSmtpClient          *self);
void                tern_smtp_client_set_helo_name        (TernSmtpClient          *self,
                                                           const char              *name);

void                tern_smtp_client_connect_async        (TernSmtpClient          *self,
                                                           const char              *host,
                                                           guint16                  port,
                                                           TernConnectionSecurity   security,
                                                           GCancellable            *cancellable,
                                                           GAsyncReadyCallback      callback,
                                                           gpointer                 user_data);
gboolean            tern_smtp_client_connect_finish       (TernSmtpClient          *self,
                                                           GAsyncResult            *result,
                                                           GError                 **error);

void                tern_smtp_client_authenticate_async   (TernSmtpClient          *self,
                                                           const char              *username,
                                                           const char              *secret,
                                                           gboolean                 secret_is_oauth_token,
                                                           GCancellable            *cancellable,
                                                           GAsyncReadyCallback      callback,
                                                           gpointer                 user_data);
gboolean            tern_smtp_client_authenticate_finish  (TernSmtpClient          *self,
                                                           GAsyncResult            *result,
                                                           GError                 **error);

void                tern_smtp_client_send_async           (TernSmtpClient          *self,
                                                           const char              *from,
                                                           const char * const      *recipients,
                                                           GBytes                  *message,
                                                           GCancellable            *cancellable,
                                                           GAsyncReadyCallback      callback,
                                                           gpointer                 user_data);
void                tern_smtp_client_send_full_async      (TernSmtpClient          *self,
                                                           const char              *from,
                                                           const char * const      *recipients,
                                                           GBytes                  *message,
                                                           const TernSmtpDsn       *dsn,
                                                           GCancellable            *cancellable,
                                                           GAsyncReadyCallback      callback,
                                                           gpointer                 user_data);
TernSmtpSendResult *tern_smtp_client_send_finish          (TernSmtpClient          *self,
                                                           GAsyncResult            *result,
                                                           GError                 **error);

void                tern_smtp_client_quit_async           (TernSmtpClient          *self,
                                                           GCancellable            *cancellable,
                                                           GAsyncReadyCallback      callback,
                                                           gpointer                 user_data);
gboolean            tern_smtp_client_quit_finish          (TernSmtpClient          *self,
                                                           GAsyncResult            *result,
                                                           GError                 **error);

TernSmtpExtensions  tern_smtp_client_get_extensions       (TernSmtpClient          *self);
guint64             tern_smtp_client_get_max_size         (TernSmtpClient          *self);
const char * const *tern_smtp_client_get_auth_mechanisms  (TernSmtpClient          *self);
gboolean            tern_smtp_client_is_authenticated     (TernSmtpClient          *self);

G_END_DECLS
