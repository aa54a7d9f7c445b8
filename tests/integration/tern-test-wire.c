/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "tern-test-wire.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

/* Every blocking call gives up after this long, so a broken server fails a
 * test instead of hanging it until meson's timeout. */
#define WIRE_TIMEOUT_SECONDS 20

/* Lines longer than this are a broken server, not a reply. */
#define WIRE_MAX_LINE (1024 * 1024)

struct _TernTestWire
{
  TernTestServers *servers;
  guint16 port;
  GSocketConnection *connection;
  /* The connection, or the TLS connection over it. */
  GIOStream *stream;
  GDataInputStream *input;
};

static void
set_stream (TernTestWire *self,
            GIOStream    *stream)
{
  g_set_object (&self->stream, stream);
  g_clear_object (&self->input);
  self->input = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_LF);
  /* Dropping the buffer at STARTTLS must not close the socket under it. */
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (self->input), FALSE);
}

void
tern_test_wire_free (TernTestWire *self)
{
  if (self == NULL)
    return;

  g_clear_object (&self->input);
  if (self->stream != NULL)
    g_io_stream_close (self->stream, NULL, NULL);
  g_clear_object (&self->stream);
  g_clear_object (&self->connection);
  g_free (self);
}

/**
 * tern_test_wire_connect:
 *
 * Connects to @port of the test servers, with TCP_NODELAY set, and with a
 * validated TLS handshake first when @flags has %TERN_TEST_WIRE_FLAGS_TLS.
 *
 * Returns: (transfer full): the connection, or %NULL with @error set
 */
TernTestWire *
tern_test_wire_connect (TernTestServers    *servers,
                        guint16             port,
                        TernTestWireFlags   flags,
                        GError            **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(TernTestWire) self = g_new0 (TernTestWire, 1);

  self->servers = servers;
  self->port = port;

  g_socket_client_set_timeout (client, WIRE_TIMEOUT_SECONDS);
  /* Loopback traffic never goes through a proxy, and looking one up would
   * read the desktop's settings. */
  g_socket_client_set_enable_proxy (client, FALSE);
  if (flags & TERN_TEST_WIRE_FLAGS_AS_REMOTE)
    {
      g_autoptr(GInetAddress) inet = NULL;
      g_autoptr(GSocketAddress) local = NULL;

      inet = g_inet_address_new_from_string (servers->remote_client_address);
      local = g_inet_socket_address_new (inet, 0);

      g_socket_client_set_local_address (client, local);
    }

  self->connection = g_socket_client_connect_to_host (client, servers->host, port, NULL, error);
  if (self->connection == NULL)
    return NULL;

  /* TLS records written in pieces would otherwise wait for delayed ACKs. */
  if (!g_socket_set_option (g_socket_connection_get_socket (self->connection),
                            IPPROTO_TCP, TCP_NODELAY, 1, error))
    return NULL;

  set_stream (self, G_IO_STREAM (self->connection));

  if ((flags & TERN_TEST_WIRE_FLAGS_TLS) && !tern_test_wire_start_tls (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * tern_test_wire_start_tls_full:
 * @database: (nullable): the CAs to trust; %NULL for the system's own
 * @identity: the name or address the certificate must show
 *
 * Runs a TLS handshake over the connection.  It fails, without a handshake,
 * when the server has sent bytes that were not read yet: after a STARTTLS
 * reply nothing may come before the handshake.
 */
gboolean
tern_test_wire_start_tls_full (TernTestWire  *self,
                               GTlsDatabase  *database,
                               const char    *identity,
                               GError       **error)
{
  g_autoptr(GSocketConnectable) server_identity = NULL;
  g_autoptr(GIOStream) tls = NULL;

  if (g_buffered_input_stream_get_available (G_BUFFERED_INPUT_STREAM (self->input)) > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the server sent bytes before the TLS handshake");
      return FALSE;
    }

  server_identity = g_network_address_new (identity, self->port);
  tls = g_tls_client_connection_new (self->stream, server_identity, error);
  if (tls == NULL)
    return FALSE;
  if (database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), database);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, error))
    return FALSE;

  set_stream (self, tls);
  return TRUE;
}

/**
 * tern_test_wire_start_tls:
 *
 * tern_test_wire_start_tls_full() trusting only the set's CA and expecting
 * the certificate to name the servers' address.
 */
gboolean
tern_test_wire_start_tls (TernTestWire  *self,
                          GError       **error)
{
  g_autoptr(GTlsDatabase) database = tern_test_servers_new_tls_database (self->servers, error);

  if (database == NULL)
    return FALSE;
  return tern_test_wire_start_tls_full (self, database, self->servers->host, error);
}

gboolean
tern_test_wire_is_tls (TernTestWire *self)
{
  return G_IS_TLS_CONNECTION (self->stream);
}

/**
 * tern_test_wire_read_line:
 *
 * Returns: (transfer full): the next line without its CRLF, or %NULL with
 *   @error set (also when the server closed the connection)
 */
char *
tern_test_wire_read_line (TernTestWire  *self,
                          GError       **error)
{
  gsize length = 0;
  g_autofree char *line = NULL;
  g_autoptr(GError) local_error = NULL;

  line = g_data_input_stream_read_line (self->input, &length, NULL, &local_error);
  if (line == NULL)
    {
      if (local_error != NULL)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                     "the server closed the connection");
      return NULL;
    }
  if (length > WIRE_MAX_LINE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "a line of %zu bytes", length);
      return NULL;
    }
  if (length > 0 && line[length - 1] == '\r')
    line[length - 1] = '\0';
  return g_steal_pointer (&line);
}

/**
 * tern_test_wire_read_bytes:
 *
 * Returns: (transfer full): exactly @count bytes, or %NULL with @error set
 */
GBytes *
tern_test_wire_read_bytes (TernTestWire  *self,
                           gsize          count,
                           GError       **error)
{
  g_autofree guint8 *data = g_malloc (count + 1);
  gsize done = 0;

  if (!g_input_stream_read_all (G_INPUT_STREAM (self->input), data, count, &done, NULL, error))
    return NULL;
  if (done != count)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                   "the server closed the connection after %zu of %zu bytes", done, count);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&data), count);
}

gboolean
tern_test_wire_write (TernTestWire  *self,
                      const char    *data,
                      gssize         length,
                      GError       **error)
{
  GOutputStream *output = g_io_stream_get_output_stream (self->stream);

  if (length < 0)
    length = strlen (data);
  return g_output_stream_write_all (output, data, length, NULL, NULL, error);
}

gboolean
tern_test_wire_send_line (TernTestWire  *self,
                          const char    *line,
                          GError       **error)
{
  g_autofree char *with_crlf = g_strconcat (line, "\r\n", NULL);

  return tern_test_wire_write (self, with_crlf, -1, error);
}

gboolean
tern_test_wire_smtp_reply (TernTestWire  *self,
                           guint          expected_code,
                           char         **out_reply,
                           GError       **error)
{
  g_autoptr(GString) reply = g_string_new (NULL);
  guint code = 0;

  for (;;)
    {
      g_autofree char *line = tern_test_wire_read_line (self, error);
      guint64 line_code = 0;
      char digits[4] = { 0 };

      if (line == NULL)
        return FALSE;
      if (strlen (line) < 3 || (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "not an SMTP reply line: %s", line);
          return FALSE;
        }
      memcpy (digits, line, 3);
      if (!g_ascii_string_to_unsigned (digits, 10, 200, 599, &line_code, error))
        return FALSE;
      code = (guint) line_code;
      if (reply->len > 0)
        g_string_append_c (reply, '\n');
      g_string_append (reply, line);
      if (line[3] != '-')
        break;
    }

  if (out_reply != NULL)
    *out_reply = g_strdup (reply->str);
  if (code != expected_code)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "expected SMTP %u, got: %s", expected_code, reply->str);
      return FALSE;
    }
  return TRUE;
}

/* The size of a literal announced at the end of an IMAP line ("{12}" or
 * "{12+}"), or -1. */
static gssize
literal_size (const char *line)
{
  gsize length = strlen (line);
  const char *open;
  guint64 size = 0;
  g_autofree char *digits = NULL;

  if (length < 3 || line[length - 1] != '}')
    return -1;
  open = strrchr (line, '{');
  if (open == NULL)
    return -1;
  digits = g_strndup (open + 1, line + length - 1 - (open + 1));
  if (g_str_has_suffix (digits, "+"))
    digits[strlen (digits) - 1] = '\0';
  if (!g_ascii_string_to_unsigned (digits, 10, 0, 64 * 1024 * 1024, &size, NULL))
    return -1;
  return (gssize) size;
}

char *
tern_test_wire_imap_command (TernTestWire  *self,
                             const char    *tag,
                             const char    *command,
                             GString       *out_untagged,
                             GError       **error)
{
  g_autofree char *request = g_strdup_printf ("%s %s", tag, command);
  g_autofree char *tag_space = g_strdup_printf ("%s ", tag);

  if (!tern_test_wire_send_line (self, request, error))
    return NULL;

  for (;;)
    {
      g_autoptr(GString) response = g_string_new (NULL);

      /* One response: a line, and after each literal the rest of it. */
      for (;;)
        {
          g_autofree char *line = tern_test_wire_read_line (self, error);
          gssize size;

          if (line == NULL)
            return NULL;
          g_string_append (response, line);
          size = literal_size (line);
          if (size < 0)
            break;
          {
            g_autoptr(GBytes) literal = tern_test_wire_read_bytes (self, size, error);

            if (literal == NULL)
              return NULL;
            g_string_append_c (response, '\n');
            g_string_append_len (response, g_bytes_get_data (literal, NULL), size);
          }
        }

      if (g_str_has_prefix (response->str, tag_space))
        return g_strdup (response->str + strlen (tag_space));
      if (out_untagged != NULL)
        {
          g_string_append (out_untagged, response->str);
          g_string_append_c (out_untagged, '\n');
        }
    }
}

char *
tern_test_wire_pop3_multiline (TernTestWire  *self,
                               GError       **error)
{
  g_autoptr(GString) body = g_string_new (NULL);

  for (;;)
    {
      g_autofree char *line = tern_test_wire_read_line (self, error);

      if (line == NULL)
        return NULL;
      if (strcmp (line, ".") == 0)
        return g_string_free (g_steal_pointer (&body), FALSE);
      g_string_append (body, line[0] == '.' ? line + 1 : line);
      g_string_append (body, "\r\n");
    }
}
