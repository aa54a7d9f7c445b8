/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tern-connection.h"

/* How much one read asks the socket for.  A line may span many reads; the
 * buffer never holds more than the caller's line limit plus one chunk. */
#define READ_CHUNK_SIZE (32 * 1024)

#define SHA256_LENGTH 32

struct _TernConnection
{
  GObject parent_instance;

  /* Options, set before connecting. */
  GTlsDatabase *database;
  guint8 pin[SHA256_LENGTH];
  gboolean has_pin;
  guint connect_timeout_msec;
  guint io_timeout_msec;
  char *local_address;

  /* Set by tern_connection_connect_async(). */
  char *host;
  guint16 port;
  TernConnectionSecurity security;
  gboolean connect_started;

  GSocketConnection *socket_connection;
  /* NULL until the handshake succeeded; then all I/O goes through it. */
  GTlsConnection *tls_connection;
  gboolean closed;

  /* Bytes read from the server and not yet returned as a line. */
  GByteArray *buffer;
  /* READ_CHUNK_SIZE bytes, on the heap: too large for a GObject instance. */
  guint8 *chunk;
  gboolean reading;
  gboolean writing;

  /* COMPRESS=DEFLATE: raw deflate on both directions, inside TLS. */
  GConverter *compressor;
  GConverter *decompressor;

  /* What the last handshake saw of the server's certificate. */
  GTlsCertificate *peer_certificate;
  GTlsCertificateFlags peer_errors;
};

G_DEFINE_FINAL_TYPE (TernConnection, tern_connection, G_TYPE_OBJECT)

G_DEFINE_QUARK (tern-connection-error-quark, tern_connection_error)

/*
 * What one async call keeps while it runs.  Every call gets its own
 * cancellable, cancelled either by the caller's or by the call's deadline,
 * so that a timeout ends the pending GIO operation and is told apart from
 * a cancellation by the caller.
 */
typedef struct
{
  GCancellable *cancellable;
  GCancellable *caller_cancellable;
  gulong caller_handler;
  GSource *timer;
  gboolean timed_out;
  guint timeout_msec;
  const char *what;

  gsize max_length;
  GBytes *bytes;
  GTlsConnection *tls;

  /* tern_connection_read_bytes_async(): the bytes read so far. */
  GByteArray *target;
  gboolean any_amount;
  gboolean direct;
} OpData;

static void
op_caller_cancelled_cb (GCancellable *caller_cancellable,
                        gpointer      user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
}

static gboolean
op_timed_out_cb (gpointer user_data)
{
  OpData *data = user_data;

  data->timed_out = TRUE;
  g_cancellable_cancel (data->cancellable);
  return G_SOURCE_REMOVE;
}

/* Stops the deadline and forgets the caller's cancellable; safe to call
 * more than once. */
static void
op_data_stop (OpData *data)
{
  if (data->timer != NULL)
    {
      g_source_destroy (data->timer);
      g_clear_pointer (&data->timer, g_source_unref);
    }
  if (data->caller_handler != 0)
    {
      g_cancellable_disconnect (data->caller_cancellable, data->caller_handler);
      data->caller_handler = 0;
    }
}

static void
op_data_free (OpData *data)
{
  op_data_stop (data);
  g_clear_object (&data->caller_cancellable);
  g_clear_object (&data->cancellable);
  g_clear_pointer (&data->bytes, g_bytes_unref);
  g_clear_object (&data->tls);
  g_clear_pointer (&data->target, g_byte_array_unref);
  g_free (data);
}

static GTask *
op_task_new (TernConnection      *self,
             gpointer             source_tag,
             const char          *what,
             guint                timeout_msec,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  OpData *data = g_new0 (OpData, 1);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) op_data_free);

  data->cancellable = g_cancellable_new ();
  data->what = what;
  data->timeout_msec = timeout_msec;
  if (cancellable != NULL)
    {
      data->caller_cancellable = g_object_ref (cancellable);
      data->caller_handler = g_cancellable_connect (cancellable,
                                                    G_CALLBACK (op_caller_cancelled_cb),
                                                    g_object_ref (data->cancellable),
                                                    g_object_unref);
    }
  if (timeout_msec > 0)
    {
      data->timer = g_timeout_source_new (timeout_msec);
      g_source_set_callback (data->timer, op_timed_out_cb, data, NULL);
      g_source_set_static_name (data->timer, "[tern] connection deadline");
      g_source_attach (data->timer, g_task_get_context (task));
    }

  return task;
}

/* Ends @task with @error (taken), first turning a cancellation by the
 * deadline into a timeout and any foreign error into one of ours. */
static void
op_return_error (GTask                *task,
                 TernConnectionError   code,
                 GError               *error)
{
  TernConnection *self = g_task_get_source_object (task);
  OpData *data = g_task_get_task_data (task);

  op_data_stop (data);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (data->timed_out)
        {
          g_task_return_new_error (task, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_TIMED_OUT,
                                   "%s:%u timed out after %.1f seconds while %s",
                                   self->host, self->port,
                                   data->timeout_msec / 1000.0, data->what);
          g_error_free (error);
        }
      else
        {
          g_task_return_error (task, error);
        }
      return;
    }

  if (error->domain == TERN_CONNECTION_ERROR)
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_new_error (task, TERN_CONNECTION_ERROR, code,
                           "%s:%u: error while %s: %s",
                           self->host, self->port, data->what, error->message);
  g_error_free (error);
}

static void
op_return_boolean (GTask *task)
{
  op_data_stop (g_task_get_task_data (task));
  g_task_return_boolean (task, TRUE);
}

static GIOStream *
current_stream (TernConnection *self)
{
  if (self->tls_connection != NULL)
    return G_IO_STREAM (self->tls_connection);
  return G_IO_STREAM (self->socket_connection);
}

/* Whether the connection can carry I/O; sets @error otherwise. */
static gboolean
check_open (TernConnection  *self,
            GError         **error)
{
  if (self->socket_connection == NULL)
    {
      g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                   "The connection is not established");
      return FALSE;
    }
  if (self->closed)
    {
      g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED,
                   "The connection to %s:%u is closed", self->host, self->port);
      return FALSE;
    }
  return TRUE;
}

static void
tern_connection_dispose (GObject *object)
{
  TernConnection *self = TERN_CONNECTION (object);

  tern_connection_close (self);
  g_clear_object (&self->tls_connection);
  g_clear_object (&self->socket_connection);
  g_clear_object (&self->database);
  g_clear_object (&self->peer_certificate);
  g_clear_object (&self->compressor);
  g_clear_object (&self->decompressor);

  G_OBJECT_CLASS (tern_connection_parent_class)->dispose (object);
}

static void
tern_connection_finalize (GObject *object)
{
  TernConnection *self = TERN_CONNECTION (object);

  g_free (self->host);
  g_free (self->local_address);
  g_byte_array_unref (self->buffer);
  g_free (self->chunk);

  G_OBJECT_CLASS (tern_connection_parent_class)->finalize (object);
}

static void
tern_connection_class_init (TernConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tern_connection_dispose;
  object_class->finalize = tern_connection_finalize;
}

static void
tern_connection_init (TernConnection *self)
{
  self->buffer = g_byte_array_new ();
  self->chunk = g_malloc (READ_CHUNK_SIZE);
  self->connect_timeout_msec = TERN_CONNECTION_DEFAULT_TIMEOUT_MSEC;
  self->io_timeout_msec = TERN_CONNECTION_DEFAULT_TIMEOUT_MSEC;
}

/**
 * tern_connection_new:
 *
 * Returns: (transfer full): a connection not yet connected, with the system's
 *   TLS database and 30-second timeouts
 */
TernConnection *
tern_connection_new (void)
{
  return g_object_new (TERN_TYPE_CONNECTION, NULL);
}

/**
 * tern_connection_set_tls_database:
 * @database: (nullable): the certificate authorities to validate against;
 *   %NULL for the system's
 *
 * Applies to handshakes that start afterwards.
 */
void
tern_connection_set_tls_database (TernConnection *self,
                                  GTlsDatabase   *database)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (database == NULL || G_IS_TLS_DATABASE (database));

  g_set_object (&self->database, database);
}

static gboolean
parse_hex_fingerprint (const char *text,
                       guint8      out[SHA256_LENGTH])
{
  guint count = 0;
  int high = -1;

  for (const char *p = text; *p != '\0'; p++)
    {
      int value;

      if (*p == ':' || *p == ' ')
        continue;
      value = g_ascii_xdigit_value (*p);
      if (value < 0 || count == SHA256_LENGTH)
        return FALSE;
      if (high < 0)
        {
          high = value;
        }
      else
        {
          out[count++] = (guint8) (high << 4 | value);
          high = -1;
        }
    }

  return count == SHA256_LENGTH && high < 0;
}

static gboolean
certificate_sha256 (GTlsCertificate *certificate,
                    guint8           out[SHA256_LENGTH])
{
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize length = SHA256_LENGTH;

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return FALSE;

  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, out, &length);
  return length == SHA256_LENGTH;
}

/**
 * tern_connection_set_pinned_certificate:
 * @pin: (nullable): the certificate the user accepted, as PEM or as the
 *   SHA-256 fingerprint of its DER form in hex (colons and case do not
 *   matter); %NULL to pin nothing
 *
 * Lets the handshakes of this connection, to the host and port it connects
 * to, accept exactly this certificate although it does not validate.  A
 * certificate whose errors include %G_TLS_CERTIFICATE_REVOKED is refused
 * all the same.  A certificate that validates is accepted whether or not
 * it is the pinned one.
 *
 * Returns: %FALSE with %TERN_CONNECTION_ERROR_BAD_PIN when @pin is neither
 *   form; the previous pin is then kept
 */
gboolean
tern_connection_set_pinned_certificate (TernConnection  *self,
                                        const char      *pin,
                                        GError         **error)
{
  guint8 digest[SHA256_LENGTH];

  g_return_val_if_fail (TERN_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (pin == NULL)
    {
      self->has_pin = FALSE;
      return TRUE;
    }

  if (strstr (pin, "-----BEGIN") != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GTlsCertificate) certificate = g_tls_certificate_new_from_pem (pin, -1,
                                                                               &local_error);

      if (certificate == NULL || !certificate_sha256 (certificate, digest))
        {
          g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_BAD_PIN,
                       "The pinned certificate cannot be read: %s",
                       local_error != NULL ? local_error->message : "no DER data");
          return FALSE;
        }
    }
  else if (!parse_hex_fingerprint (pin, digest))
    {
      g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_BAD_PIN,
                   "“%s” is neither a PEM certificate nor a SHA-256 fingerprint", pin);
      return FALSE;
    }

  memcpy (self->pin, digest, SHA256_LENGTH);
  self->has_pin = TRUE;
  return TRUE;
}

/**
 * tern_connection_set_connect_timeout:
 * @msec: how long resolving, connecting and each TLS handshake may take;
 *   0 for no limit
 */
void
tern_connection_set_connect_timeout (TernConnection *self,
                                     guint           msec)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));

  self->connect_timeout_msec = msec;
}

/**
 * tern_connection_set_io_timeout:
 * @msec: how long one tern_connection_read_line_async() or
 *   tern_connection_write_async() may take; 0 for no limit
 *
 * An engine waiting for IMAP IDLE sets a longer one, or none, for that read.
 */
void
tern_connection_set_io_timeout (TernConnection *self,
                                guint           msec)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));

  self->io_timeout_msec = msec;
}

/**
 * tern_connection_get_io_timeout:
 *
 * Returns: the I/O timeout in milliseconds, 0 for none
 */
guint
tern_connection_get_io_timeout (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), 0);

  return self->io_timeout_msec;
}

/**
 * tern_connection_set_local_address:
 * @address: (nullable): the local IP address to connect from; %NULL to let
 *   the system choose
 */
void
tern_connection_set_local_address (TernConnection *self,
                                   const char     *address)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));

  g_free (self->local_address);
  self->local_address = g_strdup (address);
}

static const char *
describe_certificate_flag (GTlsCertificateFlags flag)
{
  switch (flag)
    {
    case G_TLS_CERTIFICATE_UNKNOWN_CA:
      return "it is not signed by a known certificate authority";
    case G_TLS_CERTIFICATE_BAD_IDENTITY:
      return "it does not name the server";
    case G_TLS_CERTIFICATE_NOT_ACTIVATED:
      return "it is not valid yet";
    case G_TLS_CERTIFICATE_EXPIRED:
      return "it has expired";
    case G_TLS_CERTIFICATE_REVOKED:
      return "it has been revoked";
    case G_TLS_CERTIFICATE_INSECURE:
      return "it uses an insecure algorithm";
    case G_TLS_CERTIFICATE_GENERIC_ERROR:
    case G_TLS_CERTIFICATE_NO_FLAGS:
    case G_TLS_CERTIFICATE_VALIDATE_ALL:
    default:
      return "it could not be checked";
    }
}

static char *
describe_certificate_errors (GTlsCertificateFlags errors)
{
  GString *text = g_string_new (NULL);

  for (guint bit = 0; bit < 32; bit++)
    {
      GTlsCertificateFlags flag = 1u << bit;

      if ((errors & flag) == 0)
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append (text, describe_certificate_flag (flag));
    }
  if (text->len == 0)
    g_string_append (text, describe_certificate_flag (G_TLS_CERTIFICATE_GENERIC_ERROR));

  return g_string_free (text, FALSE);
}

/* Called during the handshake only when the certificate does not validate. */
static gboolean
accept_certificate_cb (GTlsConnection       *tls,
                       GTlsCertificate      *peer_certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  TernConnection *self = user_data;
  guint8 digest[SHA256_LENGTH];

  g_set_object (&self->peer_certificate, peer_certificate);
  self->peer_errors = errors;

  if (!self->has_pin || (errors & G_TLS_CERTIFICATE_REVOKED) != 0)
    return FALSE;
  if (!certificate_sha256 (peer_certificate, digest))
    return FALSE;

  return memcmp (digest, self->pin, SHA256_LENGTH) == 0;
}

static void
handshake_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernConnection *self = g_task_get_source_object (task);
  OpData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
          && self->peer_certificate != NULL && self->peer_errors != 0)
        {
          g_autofree char *reasons = describe_certificate_errors (self->peer_errors);
          g_autofree char *fingerprint =
            tern_certificate_get_sha256_fingerprint (self->peer_certificate);
          const char *pin_note = "";

          if (self->has_pin)
            {
              pin_note = (self->peer_errors & G_TLS_CERTIFICATE_REVOKED) != 0
                ? " (a revoked certificate is refused even when pinned)"
                : " (and it is not the pinned certificate)";
            }
          g_clear_error (&error);
          error = g_error_new (TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE,
                               "The certificate of %s:%u was refused: %s%s. "
                               "Its SHA-256 fingerprint is %s",
                               self->host, self->port, reasons, pin_note,
                               fingerprint != NULL ? fingerprint : "unknown");
        }
      tern_connection_close (self);
      op_return_error (task, TERN_CONNECTION_ERROR_TLS, g_steal_pointer (&error));
      return;
    }

  if (self->peer_certificate == NULL)
    {
      g_set_object (&self->peer_certificate,
                    g_tls_connection_get_peer_certificate (data->tls));
      self->peer_errors = g_tls_connection_get_peer_certificate_errors (data->tls);
    }
  self->tls_connection = g_steal_pointer (&data->tls);
  op_return_boolean (task);
}

/* Starts the TLS handshake over the plain connection; @task ends with it. */
static void
start_handshake (TernConnection *self,
                 GTask          *task)
{
  OpData *data = g_task_get_task_data (task);
  g_autoptr(GSocketConnectable) identity = g_network_address_new (self->host, self->port);
  g_autoptr(GError) error = NULL;
  GIOStream *tls;

  g_clear_object (&self->peer_certificate);
  self->peer_errors = 0;

  tls = g_tls_client_connection_new (G_IO_STREAM (self->socket_connection), identity, &error);
  if (tls == NULL)
    {
      op_return_error (task, TERN_CONNECTION_ERROR_TLS, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  data->tls = G_TLS_CONNECTION (tls);

  if (self->database != NULL)
    g_tls_connection_set_database (data->tls, self->database);
  g_signal_connect_object (data->tls, "accept-certificate",
                           G_CALLBACK (accept_certificate_cb), self, 0);

  g_tls_connection_handshake_async (data->tls, G_PRIORITY_DEFAULT, data->cancellable,
                                    handshake_cb, task);
}

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  TernConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  self->socket_connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result,
                                                            &error);
  if (self->socket_connection == NULL)
    {
      op_return_error (task, TERN_CONNECTION_ERROR_CONNECT_FAILED, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  /* Without it, a TLS record written in pieces waits for the server's
   * delayed ACK: about 40 ms per exchange after STARTTLS. */
  socket = g_socket_connection_get_socket (self->socket_connection);
  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    {
      g_warning ("Could not set TCP_NODELAY on the connection to %s:%u: %s",
                 self->host, self->port, error->message);
      g_clear_error (&error);
    }

  if (self->security == TERN_CONNECTION_SECURITY_TLS)
    {
      start_handshake (self, task);
      return;
    }

  op_return_boolean (task);
  g_object_unref (task);
}

/**
 * tern_connection_connect_async:
 * @host: a host name or IP address; also the identity the certificate
 *   must name
 * @port: the TCP port
 * @security: TLS from the start, STARTTLS later, or none
 * @cancellable: (nullable): cancels the call
 *
 * Connects, sets TCP_NODELAY, and for %TERN_CONNECTION_SECURITY_TLS does the
 * handshake, all within the connect timeout.  Call it once per connection.
 */
void
tern_connection_connect_async (TernConnection         *self,
                               const char             *host,
                               guint16                 port,
                               TernConnectionSecurity  security,
                               GCancellable           *cancellable,
                               GAsyncReadyCallback     callback,
                               gpointer                user_data)
{
  GTask *task;
  OpData *data;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketConnectable) address = NULL;

  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (host != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (self->connect_started)
    {
      g_task_report_new_error (self, callback, user_data, tern_connection_connect_async,
                               TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                               "A connection is made only once");
      return;
    }
  self->connect_started = TRUE;
  self->host = g_strdup (host);
  self->port = port;
  self->security = security;

  task = op_task_new (self, tern_connection_connect_async, "connecting",
                      self->connect_timeout_msec, cancellable, callback, user_data);
  data = g_task_get_task_data (task);

  client = g_socket_client_new ();
  if (self->local_address != NULL)
    {
      g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string (self->local_address,
                                                                               0);

      if (local == NULL)
        {
          op_return_error (task, TERN_CONNECTION_ERROR_CONNECT_FAILED,
                           g_error_new (TERN_CONNECTION_ERROR,
                                        TERN_CONNECTION_ERROR_CONNECT_FAILED,
                                        "“%s” is not a local IP address",
                                        self->local_address));
          g_object_unref (task);
          return;
        }
      g_socket_client_set_local_address (client, local);
    }

  address = g_network_address_new (host, port);
  g_socket_client_connect_async (client, address, data->cancellable, connected_cb, task);
}

/**
 * tern_connection_connect_finish:
 *
 * Returns: %TRUE once connected (and, for TLS, encrypted with a certificate
 *   that validates or is pinned)
 */
gboolean
tern_connection_connect_finish (TernConnection  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void read_step (GTask *task);

/* Runs @length bytes through the decompressor into the read buffer. */
static gboolean
decompress_into_buffer (TernConnection  *self,
                        const guint8    *input,
                        gsize            length,
                        GError         **error)
{
  guint8 out[16384];

  for (;;)
    {
      gsize bytes_read = 0;
      gsize bytes_written = 0;
      g_autoptr(GError) local_error = NULL;
      GConverterResult res;

      res = g_converter_convert (self->decompressor, input, length, out, sizeof out,
                                 G_CONVERTER_NO_FLAGS, &bytes_read, &bytes_written,
                                 &local_error);
      if (res == G_CONVERTER_ERROR)
        {
          /* No progress is possible without more input. */
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            return TRUE;
          g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_IO,
                       "%s:%u sent data that does not decompress: %s",
                       self->host, self->port, local_error->message);
          return FALSE;
        }
      g_byte_array_append (self->buffer, out, (guint) bytes_written);
      input += bytes_read;
      length -= bytes_read;
      if (res == G_CONVERTER_FINISHED)
        {
          if (length > 0)
            {
              g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_IO,
                           "%s:%u sent data after the end of its compressed stream",
                           self->host, self->port);
              return FALSE;
            }
          return TRUE;
        }
      /* Done when the input is used up and zlib had room to spare, so
       * nothing is left inside it. */
      if (length == 0 && bytes_written < sizeof out)
        return TRUE;
    }
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  TernConnection *self = g_task_get_source_object (task);
  OpData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gssize count;

  count = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (count < 0)
    {
      self->reading = FALSE;
      op_return_error (task, TERN_CONNECTION_ERROR_IO, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (count == 0)
    {
      gboolean partial = self->buffer->len > 0
                         || (data->target != NULL && data->target->len > 0);

      self->reading = FALSE;
      op_data_stop (data);
      if (!partial)
        g_task_return_new_error (task, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED,
                                 "%s:%u closed the connection", self->host, self->port);
      else
        g_task_return_new_error (task, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED,
                                 "%s:%u closed the connection in the middle of %s",
                                 self->host, self->port,
                                 data->target != NULL ? "a literal" : "a line");
      g_object_unref (task);
      return;
    }

  if (data->direct)
    {
      /* The bytes went straight into the caller's buffer. */
      data->direct = FALSE;
      g_byte_array_set_size (data->target, data->target->len + (guint) count);
    }
  else if (self->decompressor != NULL)
    {
      if (!decompress_into_buffer (self, self->chunk, (gsize) count, &error))
        {
          self->reading = FALSE;
          tern_connection_close (self);
          op_return_error (task, TERN_CONNECTION_ERROR_IO, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
    }
  else
    {
      g_byte_array_append (self->buffer, self->chunk, (guint) count);
    }
  read_step (task);
}

/* Reads one more piece from the stream; read_cb() goes on with it. */
static void
read_more (GTask *task)
{
  TernConnection *self = g_task_get_source_object (task);
  OpData *data = g_task_get_task_data (task);
  GInputStream *input = g_io_stream_get_input_stream (current_stream (self));

  /* A large literal on an uncompressed stream is read straight into its
   * buffer instead of going through the chunk. */
  if (data->target != NULL && self->decompressor == NULL && self->buffer->len == 0)
    {
      gsize missing = data->max_length - data->target->len;

      if (missing > READ_CHUNK_SIZE)
        {
          guint old_length = data->target->len;

          missing = MIN (missing, 1024 * 1024);
          g_byte_array_set_size (data->target, old_length + (guint) missing);
          g_byte_array_set_size (data->target, old_length);
          data->direct = TRUE;
          g_input_stream_read_async (input, data->target->data + old_length, missing,
                                     G_PRIORITY_DEFAULT, data->cancellable, read_cb, task);
          return;
        }
    }

  g_input_stream_read_async (input, self->chunk, READ_CHUNK_SIZE, G_PRIORITY_DEFAULT,
                             data->cancellable, read_cb, task);
}

static void read_line_step (GTask *task);
static void read_bytes_step (GTask *task);

static void
read_step (GTask *task)
{
  OpData *data = g_task_get_task_data (task);

  if (data->target != NULL)
    read_bytes_step (task);
  else
    read_line_step (task);
}

/* Returns a line when the buffer holds one, reads more when it may still
 * come within the limit, and fails otherwise.  Owns @task. */
static void
read_line_step (GTask *task)
{
  TernConnection *self = g_task_get_source_object (task);
  OpData *data = g_task_get_task_data (task);
  /* A line of max_length bytes ends with its LF at index max_length + 1. */
  gsize window = data->max_length > G_MAXSIZE - 2 ? G_MAXSIZE : data->max_length + 2;
  gsize scan = MIN (self->buffer->len, window);
  /* An empty GByteArray may have no data at all: memchr() takes no NULL. */
  const guint8 *newline = scan > 0 ? memchr (self->buffer->data, '\n', scan) : NULL;

  if (newline != NULL)
    {
      gsize consumed = (gsize) (newline - self->buffer->data) + 1;
      gsize length = consumed - 1;
      char *line;

      if (length > 0 && self->buffer->data[length - 1] == '\r')
        length--;
      if (length > data->max_length)
        goto too_long;

      /* The GBytes keeps a NUL after the line, which may hold NULs itself. */
      line = g_malloc (length + 1);
      memcpy (line, self->buffer->data, length);
      line[length] = '\0';
      g_byte_array_remove_range (self->buffer, 0, (guint) consumed);

      self->reading = FALSE;
      op_data_stop (data);
      g_task_return_pointer (task, g_bytes_new_take (line, length + 1),
                             (GDestroyNotify) g_bytes_unref);
      g_object_unref (task);
      return;
    }

  if (self->buffer->len >= window)
    goto too_long;

  read_more (task);
  return;

too_long:
  /* What follows is the rest of a line nobody will read: the connection
   * cannot go on. */
  self->reading = FALSE;
  g_byte_array_set_size (self->buffer, 0);
  tern_connection_close (self);
  op_data_stop (data);
  g_task_return_new_error (task, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_LINE_TOO_LONG,
                           "%s:%u sent a line longer than %" G_GSIZE_FORMAT " bytes",
                           self->host, self->port, data->max_length);
  g_object_unref (task);
}

/**
 * tern_connection_read_line_async:
 * @max_length: the longest line accepted, without its line end; more is an
 *   error, and the connection is closed
 * @cancellable: (nullable): cancels the call
 *
 * Reads one line ending in CRLF (a bare LF is accepted too) within the I/O
 * timeout.  One read at a time.
 */
void
tern_connection_read_line_async (TernConnection      *self,
                                 gsize                max_length,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;
  OpData *data;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (max_length > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = op_task_new (self, tern_connection_read_line_async, "reading",
                      self->io_timeout_msec, cancellable, callback, user_data);
  data = g_task_get_task_data (task);
  data->max_length = max_length;

  if (!check_open (self, &error))
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE, error);
      g_object_unref (task);
      return;
    }
  if (self->reading)
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE,
                       g_error_new (TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                                    "Another read is pending"));
      g_object_unref (task);
      return;
    }

  self->reading = TRUE;
  read_line_step (task);
}

/**
 * tern_connection_read_line_finish:
 * @out_length: (out) (optional): the length of the line, which may hold
 *   NUL bytes
 *
 * Returns: (transfer full): the line without its line end, NUL-terminated
 */
char *
tern_connection_read_line_finish (TernConnection  *self,
                                  GAsyncResult    *result,
                                  gsize           *out_length,
                                  GError         **error)
{
  GBytes *line;
  gsize size = 0;
  char *text;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  line = g_task_propagate_pointer (G_TASK (result), error);
  if (out_length != NULL)
    *out_length = 0;
  if (line == NULL)
    return NULL;

  text = g_bytes_unref_to_data (line, &size);
  if (out_length != NULL)
    *out_length = size - 1;
  return text;
}

/* Moves what the buffer holds into the target, and finishes once the
 * target is full (or, for tern_connection_read_async(), not empty).  Owns
 * @task. */
static void
read_bytes_step (GTask *task)
{
  TernConnection *self = g_task_get_source_object (task);
  OpData *data = g_task_get_task_data (task);
  gsize missing = data->max_length - data->target->len;
  gsize take = MIN (missing, (gsize) self->buffer->len);

  if (take > 0)
    {
      g_byte_array_append (data->target, self->buffer->data, (guint) take);
      g_byte_array_remove_range (self->buffer, 0, (guint) take);
    }

  if (data->target->len == data->max_length || (data->any_amount && data->target->len > 0))
    {
      self->reading = FALSE;
      op_data_stop (data);
      g_task_return_pointer (task, g_byte_array_free_to_bytes (g_steal_pointer (&data->target)),
                             (GDestroyNotify) g_bytes_unref);
      g_object_unref (task);
      return;
    }

  read_more (task);
}

static void
start_read_bytes (TernConnection      *self,
                  gsize                count,
                  gboolean             any_amount,
                  gpointer             source_tag,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GTask *task;
  OpData *data;
  GError *error = NULL;

  task = op_task_new (self, source_tag, "reading", self->io_timeout_msec, cancellable,
                      callback, user_data);
  data = g_task_get_task_data (task);
  data->max_length = count;
  data->any_amount = any_amount;

  if (!check_open (self, &error))
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE, error);
      g_object_unref (task);
      return;
    }
  if (self->reading)
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE,
                       g_error_new (TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                                    "Another read is pending"));
      g_object_unref (task);
      return;
    }
  if (count == 0)
    {
      op_data_stop (data);
      g_task_return_pointer (task, g_bytes_new (NULL, 0), (GDestroyNotify) g_bytes_unref);
      g_object_unref (task);
      return;
    }

  /* The whole literal is allocated once: the caller bounds @count. */
  data->target = g_byte_array_sized_new (any_amount ? MIN (count, READ_CHUNK_SIZE)
                                                    : (guint) count);
  self->reading = TRUE;
  read_bytes_step (task);
}

/**
 * tern_connection_read_bytes_async:
 * @count: how many bytes to read, exactly; the caller bounds it (an IMAP
 *   literal is checked against the engine's limit first), as the buffer
 *   for all of them is allocated at once
 * @cancellable: (nullable): cancels the call
 *
 * Reads exactly @count bytes, whatever they hold (an IMAP literal), within
 * the I/O timeout for each piece.  Bytes already buffered by an earlier
 * line read come first.  One read at a time.
 */
void
tern_connection_read_bytes_async (TernConnection      *self,
                                  gsize                count,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (count <= G_MAXUINT);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  start_read_bytes (self, count, FALSE, tern_connection_read_bytes_async, cancellable,
                    callback, user_data);
}

/**
 * tern_connection_read_async:
 * @max_count: the most bytes to return, at least 1
 * @cancellable: (nullable): cancels the call
 *
 * Returns what is buffered already, or else waits for the next piece the
 * server sends, up to @max_count bytes.  One read at a time.
 */
void
tern_connection_read_async (TernConnection      *self,
                            gsize                max_count,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (max_count > 0 && max_count <= G_MAXUINT);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  start_read_bytes (self, max_count, TRUE, tern_connection_read_async, cancellable,
                    callback, user_data);
}

/**
 * tern_connection_read_bytes_finish:
 *
 * Finishes tern_connection_read_bytes_async() and
 * tern_connection_read_async().
 *
 * Returns: (transfer full): the bytes read
 */
GBytes *
tern_connection_read_bytes_finish (TernConnection  *self,
                                   GAsyncResult    *result,
                                   GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_connection_read_buffered_line:
 * @max_length: the longest line accepted, without its line end
 * @out_length: (out) (optional): the length of the line
 *
 * Returns a line at once when the buffer holds a whole one, without
 * waiting and without the cost of an async call: an engine reading many
 * short lines tries this first and calls tern_connection_read_line_async()
 * only when it returns %NULL without an error.  Not while a read is
 * pending.
 *
 * Returns: (transfer full) (nullable): the line without its line end, or
 *   %NULL: with @error set (%TERN_CONNECTION_ERROR_LINE_TOO_LONG, and the
 *   connection closed) when the buffered bytes already make too long a
 *   line, without it when no whole line is buffered yet
 */
char *
tern_connection_read_buffered_line (TernConnection  *self,
                                    gsize            max_length,
                                    gsize           *out_length,
                                    GError         **error)
{
  gsize window;
  gsize scan;
  const guint8 *newline;
  gsize consumed;
  gsize length;
  char *line;

  g_return_val_if_fail (TERN_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (max_length > 0, NULL);

  if (out_length != NULL)
    *out_length = 0;
  if (self->reading || self->buffer->len == 0)
    return NULL;

  window = max_length > G_MAXSIZE - 2 ? G_MAXSIZE : max_length + 2;
  scan = MIN (self->buffer->len, window);
  newline = memchr (self->buffer->data, '\n', scan);
  if (newline == NULL)
    {
      if (self->buffer->len < window)
        return NULL;
      goto too_long;
    }

  consumed = (gsize) (newline - self->buffer->data) + 1;
  length = consumed - 1;
  if (length > 0 && self->buffer->data[length - 1] == '\r')
    length--;
  if (length > max_length)
    goto too_long;

  line = g_malloc (length + 1);
  memcpy (line, self->buffer->data, length);
  line[length] = '\0';
  g_byte_array_remove_range (self->buffer, 0, (guint) consumed);
  if (out_length != NULL)
    *out_length = length;
  return line;

too_long:
  g_byte_array_set_size (self->buffer, 0);
  tern_connection_close (self);
  g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_LINE_TOO_LONG,
               "%s:%u sent a line longer than %" G_GSIZE_FORMAT " bytes",
               self->host, self->port, max_length);
  return NULL;
}

/**
 * tern_connection_read_buffered_bytes:
 * @max_count: the most bytes to return
 *
 * Like tern_connection_read_buffered_line() for a literal's bytes: returns
 * at once up to @max_count of the bytes already buffered.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL when nothing is
 *   buffered (or a read is pending)
 */
GBytes *
tern_connection_read_buffered_bytes (TernConnection *self,
                                     gsize           max_count)
{
  gsize take;
  GBytes *bytes;

  g_return_val_if_fail (TERN_IS_CONNECTION (self), NULL);

  if (self->reading || self->buffer->len == 0 || max_count == 0)
    return NULL;
  take = MIN (max_count, (gsize) self->buffer->len);
  bytes = g_bytes_new (self->buffer->data, take);
  g_byte_array_remove_range (self->buffer, 0, (guint) take);
  return bytes;
}

/**
 * tern_connection_get_buffered_size:
 *
 * Returns: how many bytes the server sent that were read from the socket
 *   (and decompressed) but not yet returned by a read call
 */
gsize
tern_connection_get_buffered_size (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), 0);

  return self->buffer->len;
}

/**
 * tern_connection_start_compression:
 *
 * Turns on raw DEFLATE (RFC 1951, as IMAP COMPRESS=DEFLATE and RFC 4978
 * use it) in both directions, inside TLS when there is TLS.  The engine
 * calls it right after the server's positive reply to its COMPRESS
 * command, with no read or write pending; bytes already buffered after
 * that reply are taken as compressed.  Every write is then flushed with a
 * sync flush, so that each command reaches the server whole.
 *
 * Returns: %FALSE with %TERN_CONNECTION_ERROR_INVALID_STATE when compression
 *   is on already, the connection is not open or a call is pending, or with
 *   %TERN_CONNECTION_ERROR_IO when the buffered bytes do not decompress
 */
gboolean
tern_connection_start_compression (TernConnection  *self,
                                   GError         **error)
{
  g_autoptr(GByteArray) pending = NULL;

  g_return_val_if_fail (TERN_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_open (self, error))
    return FALSE;
  if (self->compressor != NULL || self->reading || self->writing)
    {
      g_set_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                   "Compression can start only once, with no read or write pending");
      return FALSE;
    }

  self->compressor = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, -1));
  self->decompressor = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW));

  pending = g_byte_array_new ();
  g_byte_array_append (pending, self->buffer->data, self->buffer->len);
  g_byte_array_set_size (self->buffer, 0);
  if (pending->len > 0 && !decompress_into_buffer (self, pending->data, pending->len, error))
    {
      tern_connection_close (self);
      return FALSE;
    }
  return TRUE;
}

/**
 * tern_connection_is_compressed:
 *
 * Returns: whether tern_connection_start_compression() turned on DEFLATE
 */
gboolean
tern_connection_is_compressed (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), FALSE);

  return self->compressor != NULL;
}

/* Compresses all of @input with a sync flush, so the server can decompress
 * everything written so far. */
static GBytes *
compress_bytes (TernConnection *self,
                GBytes         *input)
{
  gsize length = 0;
  const guint8 *in = g_bytes_get_data (input, &length);
  GByteArray *out = g_byte_array_sized_new ((guint) MIN (length + 64, G_MAXUINT));
  guint8 chunk[16384];

  for (;;)
    {
      gsize bytes_read = 0;
      gsize bytes_written = 0;
      GConverterResult res;

      res = g_converter_convert (self->compressor, in, length, chunk, sizeof chunk,
                                 G_CONVERTER_FLUSH, &bytes_read, &bytes_written, NULL);
      if (res == G_CONVERTER_ERROR)
        break;
      g_byte_array_append (out, chunk, (guint) bytes_written);
      in += bytes_read;
      length -= bytes_read;
      if (length == 0 && bytes_written < sizeof chunk)
        break;
    }

  return g_byte_array_free_to_bytes (out);
}

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernConnection *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      op_return_error (task, TERN_CONNECTION_ERROR_IO, g_steal_pointer (&error));
      return;
    }
  op_return_boolean (task);
}

/**
 * tern_connection_write_async:
 * @bytes: what to send, all of it
 * @cancellable: (nullable): cancels the call
 *
 * Writes every byte of @bytes within the I/O timeout.  One write at a time;
 * a read may be pending meanwhile.
 */
void
tern_connection_write_async (TernConnection      *self,
                             GBytes              *bytes,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;
  OpData *data;
  GError *error = NULL;
  gsize size;
  gconstpointer buffer;

  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (bytes != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = op_task_new (self, tern_connection_write_async, "writing",
                      self->io_timeout_msec, cancellable, callback, user_data);
  data = g_task_get_task_data (task);
  data->bytes = g_bytes_ref (bytes);

  if (!check_open (self, &error))
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE, error);
      g_object_unref (task);
      return;
    }
  if (self->writing)
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE,
                       g_error_new (TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                                    "Another write is pending"));
      g_object_unref (task);
      return;
    }

  self->writing = TRUE;
  if (self->compressor != NULL)
    {
      GBytes *compressed = compress_bytes (self, data->bytes);

      g_bytes_unref (data->bytes);
      data->bytes = compressed;
    }
  buffer = g_bytes_get_data (data->bytes, &size);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (current_stream (self)),
                                   buffer, size, G_PRIORITY_DEFAULT, data->cancellable,
                                   write_cb, task);
}

gboolean
tern_connection_write_finish (TernConnection  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tern_connection_starttls_async:
 * @cancellable: (nullable): cancels the call
 *
 * Upgrades a %TERN_CONNECTION_SECURITY_STARTTLS connection to TLS.  The
 * engine calls it after reading the server's positive reply to its STARTTLS
 * (or STLS) command, with no read pending.  Any byte the server sent after
 * that reply, read already or still waiting in the socket, fails the call
 * with %TERN_CONNECTION_ERROR_STARTTLS_INJECTION and closes the connection:
 * it would otherwise be taken as an answer given under TLS.  The handshake
 * runs within the connect timeout and validates the certificate as
 * tern_connection_connect_async() does.
 */
void
tern_connection_starttls_async (TernConnection      *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;
  GError *error = NULL;
  gssize waiting;

  g_return_if_fail (TERN_IS_CONNECTION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = op_task_new (self, tern_connection_starttls_async, "starting TLS",
                      self->connect_timeout_msec, cancellable, callback, user_data);

  if (!check_open (self, &error))
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE, error);
      g_object_unref (task);
      return;
    }
  if (self->security != TERN_CONNECTION_SECURITY_STARTTLS || self->tls_connection != NULL
      || self->reading || self->writing)
    {
      op_return_error (task, TERN_CONNECTION_ERROR_INVALID_STATE,
                       g_error_new (TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE,
                                    "STARTTLS is only for a plain connection in STARTTLS "
                                    "mode with no read or write pending"));
      g_object_unref (task);
      return;
    }

  waiting = g_socket_get_available_bytes (g_socket_connection_get_socket (self->socket_connection));
  if (self->buffer->len > 0 || waiting > 0)
    {
      gsize count = self->buffer->len + (gsize) MAX (waiting, 0);

      g_byte_array_set_size (self->buffer, 0);
      tern_connection_close (self);
      op_return_error (task, TERN_CONNECTION_ERROR_STARTTLS_INJECTION,
                       g_error_new (TERN_CONNECTION_ERROR,
                                    TERN_CONNECTION_ERROR_STARTTLS_INJECTION,
                                    "%s:%u sent %" G_GSIZE_FORMAT " unexpected bytes after its "
                                    "reply to STARTTLS; the connection was closed",
                                    self->host, self->port, count));
      g_object_unref (task);
      return;
    }

  start_handshake (self, task);
}

gboolean
tern_connection_starttls_finish (TernConnection  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tern_connection_close:
 *
 * Closes the socket at once, without a TLS goodbye; pending calls fail.
 * Does nothing when the connection is not open.
 */
void
tern_connection_close (TernConnection *self)
{
  g_return_if_fail (TERN_IS_CONNECTION (self));

  if (self->socket_connection == NULL || self->closed)
    return;

  self->closed = TRUE;
  g_socket_close (g_socket_connection_get_socket (self->socket_connection), NULL);
}

const char *
tern_connection_get_host (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), NULL);

  return self->host;
}

guint16
tern_connection_get_port (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), 0);

  return self->port;
}

TernConnectionSecurity
tern_connection_get_security (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), TERN_CONNECTION_SECURITY_TLS);

  return self->security;
}

/**
 * tern_connection_is_encrypted:
 *
 * Returns: whether the handshake succeeded, so that what goes over the
 *   connection now is encrypted
 */
gboolean
tern_connection_is_encrypted (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), FALSE);

  return self->tls_connection != NULL;
}

/**
 * tern_connection_get_socket:
 *
 * Returns: (transfer none) (nullable): the TCP socket, once connected
 */
GSocket *
tern_connection_get_socket (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), NULL);

  if (self->socket_connection == NULL)
    return NULL;
  return g_socket_connection_get_socket (self->socket_connection);
}

/**
 * tern_connection_get_peer_certificate:
 *
 * Returns: (transfer none) (nullable): the certificate the server showed in
 *   the last handshake, also after it was refused; %NULL before any
 */
GTlsCertificate *
tern_connection_get_peer_certificate (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), NULL);

  return self->peer_certificate;
}

/**
 * tern_connection_get_peer_certificate_errors:
 *
 * Returns: why the certificate of the last handshake did not validate;
 *   %G_TLS_CERTIFICATE_NO_FLAGS when it did.  Not empty after a success
 *   when the certificate was accepted because it is pinned.
 */
GTlsCertificateFlags
tern_connection_get_peer_certificate_errors (TernConnection *self)
{
  g_return_val_if_fail (TERN_IS_CONNECTION (self), G_TLS_CERTIFICATE_NO_FLAGS);

  return self->peer_errors;
}

/**
 * tern_certificate_get_sha256_fingerprint:
 *
 * Returns: (transfer full) (nullable): the SHA-256 of the certificate's DER
 *   form as upper-case hex pairs separated by colons, the form users compare
 *   and tern_connection_set_pinned_certificate() takes
 */
char *
tern_certificate_get_sha256_fingerprint (GTlsCertificate *certificate)
{
  guint8 digest[SHA256_LENGTH];
  GString *text;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  if (!certificate_sha256 (certificate, digest))
    return NULL;

  text = g_string_sized_new (SHA256_LENGTH * 3);
  for (guint i = 0; i < SHA256_LENGTH; i++)
    g_string_append_printf (text, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (text, FALSE);
}
