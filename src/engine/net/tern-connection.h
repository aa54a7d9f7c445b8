/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The connection the IMAP, POP3 and SMTP engines share: one TCP connection
 * to one host and port, made with TLS from the first byte, upgraded by
 * STARTTLS, or left plain when the user chose no encryption.  It reads CRLF
 * lines of bounded length and writes whole buffers, every call async with a
 * GCancellable and a deadline.
 *
 * The order of calls is:
 *
 *   1. tern_connection_new(), then the optional setters (TLS database,
 *      pinned certificate, timeouts, local address);
 *   2. tern_connection_connect_async() once;
 *   3. any number of reads (tern_connection_read_line_async(), and for
 *      IMAP literals tern_connection_read_bytes_async() or
 *      tern_connection_read_async()) and tern_connection_write_async(),
 *      one read and one write at a time, so that a protocol may pipeline:
 *      commands go out while replies come in;
 *   4. for %TERN_CONNECTION_SECURITY_STARTTLS, the engine sends its STARTTLS
 *      (or STLS) command, reads the positive reply, and only then calls
 *      tern_connection_starttls_async().  Everything learned before it is
 *      the engine's to forget;
 *   5. for IMAP COMPRESS=DEFLATE, the engine calls
 *      tern_connection_start_compression() right after the server's
 *      positive reply, before any other read.
 *
 * A certificate that does not validate is refused with
 * %TERN_CONNECTION_ERROR_CERTIFICATE; tern_connection_get_peer_certificate()
 * and tern_connection_get_peer_certificate_errors() then tell what was
 * refused and why, so the account layer can show the fingerprint to the
 * user and, once the user accepts it, pin it on the next connection with
 * tern_connection_set_pinned_certificate().
 *
 * Errors are in %TERN_CONNECTION_ERROR, except cancellation by the caller,
 * which stays %G_IO_ERROR_CANCELLED.  After any error but a certificate
 * error before the handshake finished, the connection is no longer usable.
 */

#define TERN_CONNECTION_ERROR (tern_connection_error_quark ())

/**
 * TernConnectionError:
 * @TERN_CONNECTION_ERROR_CONNECT_FAILED: the host could not be resolved or
 *   reached
 * @TERN_CONNECTION_ERROR_TIMED_OUT: connecting, the handshake, a read or a
 *   write took longer than its timeout
 * @TERN_CONNECTION_ERROR_CLOSED: the server closed the connection (before a
 *   line, or in the middle of one), or it was closed here
 * @TERN_CONNECTION_ERROR_LINE_TOO_LONG: the server sent a line longer than
 *   the caller's limit
 * @TERN_CONNECTION_ERROR_IO: reading or writing failed for another reason
 * @TERN_CONNECTION_ERROR_TLS: the TLS handshake failed for a reason other
 *   than the certificate
 * @TERN_CONNECTION_ERROR_CERTIFICATE: the server's certificate does not
 *   validate and is not pinned, or is pinned but revoked
 * @TERN_CONNECTION_ERROR_STARTTLS_INJECTION: the server sent bytes after its
 *   reply to STARTTLS and before the handshake
 * @TERN_CONNECTION_ERROR_INVALID_STATE: the call does not fit the
 *   connection's state (STARTTLS on a connection that is not in STARTTLS
 *   mode or already encrypted, reading before connecting, two reads at once)
 * @TERN_CONNECTION_ERROR_BAD_PIN: the text given as a pinned certificate is
 *   neither a PEM certificate nor a SHA-256 fingerprint
 */
typedef enum {
  TERN_CONNECTION_ERROR_CONNECT_FAILED,
  TERN_CONNECTION_ERROR_TIMED_OUT,
  TERN_CONNECTION_ERROR_CLOSED,
  TERN_CONNECTION_ERROR_LINE_TOO_LONG,
  TERN_CONNECTION_ERROR_IO,
  TERN_CONNECTION_ERROR_TLS,
  TERN_CONNECTION_ERROR_CERTIFICATE,
  TERN_CONNECTION_ERROR_STARTTLS_INJECTION,
  TERN_CONNECTION_ERROR_INVALID_STATE,
  TERN_CONNECTION_ERROR_BAD_PIN,
} TernConnectionError;

/**
 * TernConnectionSecurity:
 * @TERN_CONNECTION_SECURITY_TLS: TLS from the first byte (IMAPS, POP3S,
 *   SMTPS)
 * @TERN_CONNECTION_SECURITY_STARTTLS: plain at first, upgraded by
 *   tern_connection_starttls_async(); the engine must not send anything
 *   secret before that
 * @TERN_CONNECTION_SECURITY_NONE: no encryption, only ever because the user
 *   chose it in so many words
 */
typedef enum {
  TERN_CONNECTION_SECURITY_TLS,
  TERN_CONNECTION_SECURITY_STARTTLS,
  TERN_CONNECTION_SECURITY_NONE,
} TernConnectionSecurity;

/* Used when the caller sets no timeout of its own. */
#define TERN_CONNECTION_DEFAULT_TIMEOUT_MSEC (30 * 1000)

#define TERN_TYPE_CONNECTION (tern_connection_get_type ())

G_DECLARE_FINAL_TYPE (TernConnection, tern_connection, TERN, CONNECTION, GObject)

GQuark                 tern_connection_error_quark            (void);

TernConnection        *tern_connection_new                    (void);

void                   tern_connection_set_tls_database       (TernConnection          *self,
                                                               GTlsDatabase            *database);
gboolean               tern_connection_set_pinned_certificate (TernConnection          *self,
                                                               const char              *pin,
                                                               GError                 **error);
void                   tern_connection_set_connect_timeout    (TernConnection          *self,
                                                               guint                    msec);
void                   tern_connection_set_io_timeout         (TernConnection          *self,
                                                               guint                    msec);
guint                  tern_connection_get_io_timeout         (TernConnection          *self);
void                   tern_connection_set_local_address      (TernConnection          *self,
                                                               const char              *address);

void                   tern_connection_connect_async          (TernConnection          *self,
                                                               const char              *host,
                                                               guint16                  port,
                                                               TernConnectionSecurity   security,
                                                               GCancellable            *cancellable,
                                                               GAsyncReadyCallback      callback,
                                                               gpointer                 user_data);
gboolean               tern_connection_connect_finish         (TernConnection          *self,
                                                               GAsyncResult            *result,
                                                               GError                 **error);

void                   tern_connection_read_line_async        (TernConnection          *self,
                                                               gsize                    max_length,
                                                               GCancellable            *cancellable,
                                                               GAsyncReadyCallback      callback,
                                                               gpointer                 user_data);
char                  *tern_connection_read_line_finish       (TernConnection          *self,
                                                               GAsyncResult            *result,
                                                               gsize                   *out_length,
                                                               GError                 **error);

void                   tern_connection_read_bytes_async       (TernConnection          *self,
                                                               gsize                    count,
                                                               GCancellable            *cancellable,
                                                               GAsyncReadyCallback      callback,
                                                               gpointer                 user_data);
void                   tern_connection_read_async             (TernConnection          *self,
                                                               gsize                    max_count,
                                                               GCancellable            *cancellable,
                                                               GAsyncReadyCallback      callback,
                                                               gpointer                 user_data);
GBytes                *tern_connection_read_bytes_finish      (TernConnection          *self,
                                                               GAsyncResult            *result,
                                                               GError                 **error);
gsize                  tern_connection_get_buffered_size      (TernConnection          *self);
char                  *tern_connection_read_buffered_line     (TernConnection          *self,
                                                               gsize                    max_length,
                                                               gsize                   *out_length,
                                                               GError                 **error);
GBytes                *tern_connection_read_buffered_bytes    (TernConnection          *self,
                                                               gsize                    max_count);

void                   tern_connection_write_async            (TernConnection          *self,
                                                               GBytes                  *bytes,
                                                               GCancellable            *cancellable,
                                                               GAsyncReadyCallback      callback,
                                                               gpointer                 user_data);
gboolean               tern_connection_write_finish           (TernConnection          *self,
                                                               GAsyncResult            *result,
                                                               GError                 **error);

void                   tern_connection_starttls_async         (TernConnection          *self,
                                                               GCancellable            *cancellable,
                                                               GAsyncReadyCallback      callback,
                                                               gpointer                 user_data);
gboolean               tern_connection_starttls_finish        (TernConnection          *self,
                                                               GAsyncResult            *result,
                                                               GError                 **error);

gboolean               tern_connection_start_compression      (TernConnection          *self,
                                                               GError                 **error);
gboolean               tern_connection_is_compressed          (TernConnection          *self);

void                   tern_connection_close                  (TernConnection          *self);

const char            *tern_connection_get_host               (TernConnection          *self);
guint16                tern_connection_get_port               (TernConnection          *self);
TernConnectionSecurity tern_connection_get_security           (TernConnection          *self);
gboolean               tern_connection_is_encrypted           (TernConnection          *self);
GSocket               *tern_connection_get_socket             (TernConnection          *self);
GTlsCertificate       *tern_connection_get_peer_certificate   (TernConnection          *self);
GTlsCertificateFlags   tern_connection_get_peer_certificate_errors (TernConnection     *self);

char                  *tern_certificate_get_sha256_fingerprint (GTlsCertificate        *certificate);

G_END_DECLS
