/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernConnection against scripted servers on 127.0.0.1: what a real server
 * will not do on purpose (bytes injected after the STARTTLS reply, closing
 * in the middle of a line, endless lines, silence) must end in a clear
 * error, never in a hang, unbounded memory or a plaintext answer taken for
 * an encrypted one. */

#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tern-connection.h"
#include "tern-test-util.h"

#define MAX_LINE 1000

/* One scripted server: it accepts one client on a free port of 127.0.0.1
 * and plays its script on a thread of its own, with blocking I/O. */
typedef void (*FakeScript) (GSocketConnection *client);

typedef struct
{
  GSocketListener *listener;
  guint16 port;
  FakeScript script;
  GThread *thread;
} FakeServer;

static gpointer
fake_server_thread (gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr(GSocketConnection) client = NULL;

  client = g_socket_listener_accept (server->listener, NULL, NULL, NULL);
  if (client != NULL)
    server->script (client);
  return NULL;
}

static FakeServer *
fake_server_start (FakeScript script)
{
  FakeServer *server = g_new0 (FakeServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  server->listener = g_socket_listener_new ();
  g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  server->script = script;
  server->thread = g_thread_new ("fake-server", fake_server_thread, server);
  return server;
}

/* The client must have closed its connection first, for scripts that wait
 * for it. */
static void
fake_server_stop (FakeServer *server)
{
  g_thread_join (server->thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_free (server);
}

static void
send_text (GSocketConnection *client,
           const char        *text)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

/* Reads one line from the client, byte by byte so that nothing after it is
 * consumed; NULL when the client is gone. */
static char *
receive_line (GSocketConnection *client)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client));
  GString *line = g_string_new (NULL);
  char c;

  while (g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    {
      if (c == '\n')
        {
          if (line->len > 0 && line->str[line->len - 1] == '\r')
            g_string_truncate (line, line->len - 1);
          return g_string_free (line, FALSE);
        }
      g_string_append_c (line, c);
    }
  g_string_free (line, TRUE);
  return NULL;
}

static void
wait_for_client_to_close (GSocketConnection *client)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client));
  char buffer[256];

  while (g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL) > 0)
    ;
}

/* Client side, each call waited for on the main context. */

static TernConnection *
connect_to (FakeServer             *server,
            TernConnectionSecurity  security)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_connection_connect_async (connection, "127.0.0.1", server->port, security, NULL,
                                 tern_test_got_result_cb, &result);
  tern_connection_connect_finish (connection, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return g_steal_pointer (&connection);
}

static char *
read_line (TernConnection  *connection,
           gsize            max_length,
           GCancellable    *cancellable,
           GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_connection_read_line_async (connection, max_length, cancellable,
                                   tern_test_got_result_cb, &result);
  return tern_connection_read_line_finish (connection, tern_test_wait_for (&result), NULL,
                                           error);
}

static gboolean
write_text (TernConnection  *connection,
            const char      *text,
            GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  tern_connection_write_async (connection, bytes, NULL, tern_test_got_result_cb, &result);
  return tern_connection_write_finish (connection, tern_test_wait_for (&result), error);
}

static gboolean
start_tls (TernConnection  *connection,
           GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_connection_starttls_async (connection, NULL, tern_test_got_result_cb, &result);
  return tern_connection_starttls_finish (connection, tern_test_wait_for (&result), error);
}

/* Lines, writes and TCP_NODELAY */

static void
echo_script (GSocketConnection *client)
{
  g_autofree char *line = NULL;
  g_autofree char *reply = NULL;

  send_text (client, "* OK hello\r\nbare LF line\nempty next\r\n\r\n");
  line = receive_line (client);
  reply = g_strdup_printf ("echo %s\r\n", line != NULL ? line : "(nothing)");
  send_text (client, reply);
  wait_for_client_to_close (client);
}

static void
test_lines_and_writes (void)
{
  FakeServer *server = fake_server_start (echo_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;
  const char *expected[] = { "* OK hello", "bare LF line", "empty next", "" };
  gint nodelay = 0;

  g_assert_false (tern_connection_is_encrypted (connection));

  /* Every mail socket must have Nagle's algorithm off. */
  g_assert_true (g_socket_get_option (tern_connection_get_socket (connection),
                                      IPPROTO_TCP, TCP_NODELAY, &nodelay, &error));
  g_assert_no_error (error);
  g_assert_cmpint (nodelay, !=, 0);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GAsyncResult) line_result = NULL;
      g_autofree char *got = NULL;

      tern_connection_read_line_async (connection, MAX_LINE, NULL, tern_test_got_result_cb,
                                       &line_result);
      got = tern_connection_read_line_finish (connection, tern_test_wait_for (&line_result),
                                              &length, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (got, ==, expected[i]);
      g_assert_cmpuint (length, ==, strlen (expected[i]));
    }

  g_assert_true (write_text (connection, "a NOOP\r\n", &error));
  g_assert_no_error (error);
  line = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "echo a NOOP");

  tern_connection_close (connection);
  fake_server_stop (server);
}

/* STARTTLS injection */

static void
injection_in_one_write_script (GSocketConnection *client)
{
  g_autofree char *command = NULL;

  send_text (client, "* OK ready\r\n");
  command = receive_line (client);
  if (g_strcmp0 (command, "a STARTTLS") == 0)
    send_text (client, "a OK Begin TLS\r\n* OK injected\r\n");
  wait_for_client_to_close (client);
}

static void
injection_later_script (GSocketConnection *client)
{
  g_autofree char *command = NULL;

  send_text (client, "* OK ready\r\n");
  command = receive_line (client);
  if (g_strcmp0 (command, "a STARTTLS") == 0)
    {
      send_text (client, "a OK Begin TLS\r\n");
      /* In a TCP segment of its own, so the client has read only the reply
       * and the injected bytes wait in its socket. */
      g_usleep (100 * 1000);
      send_text (client, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
    }
  wait_for_client_to_close (client);
}

static void
run_injection (FakeScript script,
               guint      pause_msec)
{
  FakeServer *server = fake_server_start (script);
  g_autoptr(TernConnection) connection = connect_to (server,
                                                     TERN_CONNECTION_SECURITY_STARTTLS);
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *after = NULL;

  greeting = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (greeting, ==, "* OK ready");
  g_assert_true (write_text (connection, "a STARTTLS\r\n", &error));
  g_assert_no_error (error);
  reply = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "a OK Begin TLS");

  if (pause_msec > 0)
    g_usleep (pause_msec * 1000);

  g_assert_false (start_tls (connection, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_STARTTLS_INJECTION);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_false (tern_connection_is_encrypted (connection));

  /* The injected line is never handed to the engine. */
  after = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (after);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);

  g_clear_object (&connection);
  fake_server_stop (server);
}

static void
test_injection_in_one_write (void)
{
  run_injection (injection_in_one_write_script, 0);
}

static void
test_injection_waiting_in_socket (void)
{
  run_injection (injection_later_script, 500);
}

/* Servers that close */

static void
close_mid_line_script (GSocketConnection *client)
{
  send_text (client, "* OK complete line\r\n* OK half a li");
}

static void
test_closed_mid_line (void)
{
  FakeServer *server = fake_server_start (close_mid_line_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  first = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "* OK complete line");

  second = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
  g_assert_nonnull (strstr (error->message, "middle of a line"));

  fake_server_stop (server);
}

static void
close_after_bye_script (GSocketConnection *client)
{
  send_text (client, "* BYE going away\r\n");
}

static void
test_closed_between_lines (void)
{
  FakeServer *server = fake_server_start (close_after_bye_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  first = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "* BYE going away");

  second = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
  g_assert_null (strstr (error->message, "middle of a line"));

  fake_server_stop (server);
}

/* Long lines */

static void
limit_lines_script (GSocketConnection *client)
{
  g_autofree char *at_limit = g_strnfill (MAX_LINE, 'a');
  g_autofree char *over_limit = g_strnfill (MAX_LINE + 1, 'b');
  g_autofree char *text = g_strdup_printf ("%s\r\n%s\r\n", at_limit, over_limit);

  send_text (client, text);
  wait_for_client_to_close (client);
}

static void
test_line_limit_is_exact (void)
{
  FakeServer *server = fake_server_start (limit_lines_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  first = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (first), ==, MAX_LINE);

  second = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_LINE_TOO_LONG);

  tern_connection_close (connection);
  fake_server_stop (server);
}

static void
endless_line_script (GSocketConnection *client)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));
  g_autofree char *chunk = g_strnfill (64 * 1024, 'x');

  send_text (client, "* OK here it comes\r\n");
  /* 64 MiB at most, until the client hangs up. */
  for (guint i = 0; i < 1024; i++)
    {
      if (!g_output_stream_write_all (out, chunk, strlen (chunk), NULL, NULL, NULL))
        break;
    }
}

static void
test_endless_line (void)
{
  FakeServer *server = fake_server_start (endless_line_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *line = NULL;

  greeting = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);

  line = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (line);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_LINE_TOO_LONG);
  g_test_message ("%s", error->message);

  g_clear_object (&connection);
  fake_server_stop (server);
}

/* Silence, cancellation, refusal */

static void
silent_script (GSocketConnection *client)
{
  send_text (client, "* OK then nothing\r\n");
  wait_for_client_to_close (client);
}

static void
test_read_times_out (void)
{
  FakeServer *server = fake_server_start (silent_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *line = NULL;
  gint64 start;
  gint64 elapsed;

  greeting = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);

  tern_connection_set_io_timeout (connection, 300);
  start = g_get_monotonic_time ();
  line = read_line (connection, MAX_LINE, NULL, &error);
  elapsed = g_get_monotonic_time () - start;
  g_assert_null (line);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_TIMED_OUT);
  g_test_message ("%s", error->message);
  g_assert_cmpint (elapsed, >=, 250 * 1000);
  g_assert_cmpint (elapsed, <, 5 * G_USEC_PER_SEC);

  tern_connection_close (connection);
  fake_server_stop (server);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_is_not_a_timeout (void)
{
  FakeServer *server = fake_server_start (silent_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *line = NULL;

  greeting = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);

  g_timeout_add (100, cancel_cb, cancellable);
  line = read_line (connection, MAX_LINE, cancellable, &error);
  g_assert_null (line);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  tern_connection_close (connection);
  fake_server_stop (server);
}

static void
test_connect_refused (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  /* A port that was free a moment ago and now has nobody listening. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);

  tern_connection_connect_async (connection, "127.0.0.1", port, TERN_CONNECTION_SECURITY_TLS,
                                 NULL, tern_test_got_result_cb, &result);
  g_assert_false (tern_connection_connect_finish (connection, tern_test_wait_for (&result),
                                                  &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CONNECT_FAILED);
  g_test_message ("%s", error->message);
}

static void
test_bad_pins_are_refused (void)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (tern_connection_set_pinned_certificate (connection, "AB:CD", &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_BAD_PIN);
  g_clear_error (&error);

  g_assert_false (tern_connection_set_pinned_certificate (
                    connection,
                    "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                    &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_BAD_PIN);
  g_clear_error (&error);

  g_assert_true (tern_connection_set_pinned_certificate (
                   connection,
                   "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF",
                   &error));
  g_assert_no_error (error);
}

/* Literals: exact reads, buffered reads */

static void
literal_script (GSocketConnection *client)
{
  /* A line announcing a literal, the literal (with CRLF and NUL inside)
   * and the rest of the line, all in one write. */
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));
  static const char data[] = "* 1 FETCH (BODY[] {12}\r\nab\r\n\0cd\r\nefg)\r\nnext\r\n";

  g_output_stream_write_all (out, data, sizeof data - 1, NULL, NULL, NULL);
  g_usleep (50 * 1000);
  send_text (client, "late");
  wait_for_client_to_close (client);
}

static GBytes *
read_bytes (TernConnection  *connection,
            gsize            count,
            gboolean         exact,
            GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  if (exact)
    tern_connection_read_bytes_async (connection, count, NULL, tern_test_got_result_cb,
                                      &result);
  else
    tern_connection_read_async (connection, count, NULL, tern_test_got_result_cb, &result);
  return tern_connection_read_bytes_finish (connection, tern_test_wait_for (&result), error);
}

static void
test_literal_reads (void)
{
  FakeServer *server = fake_server_start (literal_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *next = NULL;
  g_autoptr(GBytes) literal = NULL;
  g_autoptr(GBytes) late = NULL;
  g_autoptr(GBytes) empty = NULL;

  line = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "* 1 FETCH (BODY[] {12}");

  /* Exactly the literal's bytes, although more is buffered. */
  literal = read_bytes (connection, 12, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (literal, NULL), g_bytes_get_size (literal),
                   "ab\r\n\0cd\r\nefg", 12);
  rest = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rest, ==, ")");
  next = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_cmpstr (next, ==, "next");

  empty = read_bytes (connection, 0, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);

  /* Nothing buffered: the read waits for what comes next, and returns it
   * although it is shorter than asked for. */
  g_assert_cmpuint (tern_connection_get_buffered_size (connection), ==, 0);
  late = read_bytes (connection, 100, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (late, NULL), g_bytes_get_size (late), "late", 4);

  tern_connection_close (connection);
  fake_server_stop (server);
}

static void
test_buffered_reads (void)
{
  FakeServer *server = fake_server_start (literal_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *next = NULL;
  g_autofree char *none = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  gsize length = 0;

  /* Nothing buffered before the first read. */
  g_assert_null (tern_connection_read_buffered_line (connection, MAX_LINE, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (tern_connection_read_buffered_bytes (connection, 10));

  line = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_cmpstr (line, ==, "* 1 FETCH (BODY[] {12}");

  /* The rest arrived in the same write: it is handed out without waiting. */
  first = tern_connection_read_buffered_bytes (connection, 5);
  g_assert_cmpmem (g_bytes_get_data (first, NULL), g_bytes_get_size (first), "ab\r\n\0", 5);
  second = tern_connection_read_buffered_bytes (connection, 7);
  g_assert_cmpmem (g_bytes_get_data (second, NULL), g_bytes_get_size (second), "cd\r\nefg", 7);
  rest = tern_connection_read_buffered_line (connection, MAX_LINE, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rest, ==, ")");
  g_assert_cmpuint (length, ==, 1);
  next = tern_connection_read_buffered_line (connection, MAX_LINE, NULL, &error);
  g_assert_cmpstr (next, ==, "next");
  none = tern_connection_read_buffered_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (none);
  g_assert_no_error (error);

  tern_connection_close (connection);
  fake_server_stop (server);
}

static void
short_literal_script (GSocketConnection *client)
{
  send_text (client, "abc");
  /* Closes with the literal unfinished. */
}

static void
test_literal_cut_short (void)
{
  FakeServer *server = fake_server_start (short_literal_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = read_bytes (connection, 10, TRUE, &error);
  g_assert_null (bytes);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
  g_assert_nonnull (strstr (error->message, "literal"));

  g_clear_object (&connection);
  fake_server_stop (server);
}

/* COMPRESS=DEFLATE: the server side compresses with zlib's raw deflate and
 * a sync flush, as RFC 4978 asks. */

static GBytes *
deflate_piece (GConverter *compressor,
               const char *text)
{
  GByteArray *out = g_byte_array_new ();
  gsize length = strlen (text);
  const char *in = text;
  guint8 chunk[4096];

  for (;;)
    {
      gsize bytes_read = 0;
      gsize bytes_written = 0;
      GConverterResult res;

      res = g_converter_convert (compressor, in, length, chunk, sizeof chunk, G_CONVERTER_FLUSH,
                                 &bytes_read, &bytes_written, NULL);
      if (res == G_CONVERTER_ERROR)
        break;
      g_byte_array_append (out, chunk, bytes_written);
      in += bytes_read;
      length -= bytes_read;
      if (length == 0 && bytes_written < sizeof chunk)
        break;
    }
  return g_byte_array_free_to_bytes (out);
}

static void
compress_script (GSocketConnection *client)
{
  g_autoptr(GConverter) compressor =
    G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW, -1));
  g_autoptr(GConverter) decompressor =
    G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));
  g_autofree char *command = receive_line (client);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  g_autoptr(GString) plain = g_string_new (NULL);
  g_autofree char *big = NULL;
  guint8 buffer[4096];
  char text[8192];

  if (g_strcmp0 (command, "a COMPRESS DEFLATE") != 0)
    return;
  /* The reply, and compressed bytes in the same write. */
  first = deflate_piece (compressor, "* OK compressed hello\r\n");
  g_output_stream_write_all (out, "a OK DEFLATE active\r\n", 21, NULL, NULL, NULL);
  g_output_stream_write_all (out, g_bytes_get_data (first, NULL), g_bytes_get_size (first),
                             NULL, NULL, NULL);

  /* What the client sends is compressed too: decompress until a line. */
  while (strchr (plain->str, '\n') == NULL)
    {
      gssize count = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL);
      gsize bytes_read = 0;
      gsize bytes_written = 0;

      if (count <= 0)
        return;
      g_converter_convert (decompressor, buffer, count, text, sizeof text - 1,
                           G_CONVERTER_NO_FLAGS, &bytes_read, &bytes_written, NULL);
      g_string_append_len (plain, text, bytes_written);
    }
  /* A long reply, larger than the client's decompression chunk. */
  big = g_strnfill (100000, 'x');
  {
    g_autofree char *reply = g_strdup_printf ("echo %.*s %s\r\n",
                                              (int) strcspn (plain->str, "\r\n"), plain->str,
                                              big);

    second = deflate_piece (compressor, reply);
  }
  g_output_stream_write_all (out, g_bytes_get_data (second, NULL), g_bytes_get_size (second),
                             NULL, NULL, NULL);
  wait_for_client_to_close (client);
}

static void
test_compression_round_trip (void)
{
  FakeServer *server = fake_server_start (compress_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *hello = NULL;
  g_autofree char *echo = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *big = g_strnfill (100000, 'x');

  g_assert_true (write_text (connection, "a COMPRESS DEFLATE\r\n", &error));
  g_assert_no_error (error);
  reply = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_cmpstr (reply, ==, "a OK DEFLATE active");
  g_assert_false (tern_connection_is_compressed (connection));
  g_assert_true (tern_connection_start_compression (connection, &error));
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_compressed (connection));
  g_assert_false (tern_connection_start_compression (connection, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_INVALID_STATE);
  g_clear_error (&error);

  /* Compressed bytes that arrived with the reply were kept and inflated. */
  hello = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hello, ==, "* OK compressed hello");

  g_assert_true (write_text (connection, "b NOOP\r\n", &error));
  g_assert_no_error (error);
  echo = read_line (connection, 200000, NULL, &error);
  g_assert_no_error (error);
  expected = g_strdup_printf ("echo b NOOP %s", big);
  g_assert_cmpstr (echo, ==, expected);

  tern_connection_close (connection);
  fake_server_stop (server);
}

static void
garbage_compress_script (GSocketConnection *client)
{
  send_text (client, "a OK DEFLATE active\r\n");
  g_usleep (50 * 1000);
  /* Not a deflate stream: a stored block with a wrong length check. */
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (client)),
                             "\x00\x05\x00\x05\x00hello", 10, NULL, NULL, NULL);
  wait_for_client_to_close (client);
}

static void
test_compression_garbage (void)
{
  FakeServer *server = fake_server_start (garbage_compress_script);
  g_autoptr(TernConnection) connection = connect_to (server, TERN_CONNECTION_SECURITY_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *line = NULL;

  reply = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_cmpstr (reply, ==, "a OK DEFLATE active");
  g_assert_true (tern_connection_start_compression (connection, &error));
  line = read_line (connection, MAX_LINE, NULL, &error);
  g_assert_null (line);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_IO);

  g_clear_object (&connection);
  fake_server_stop (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/connection/fake/reads-crlf-lines-and-writes-with-nodelay",
                   test_lines_and_writes);
  g_test_add_func ("/connection/fake/starttls/rejects-bytes-after-ok-in-one-write",
                   test_injection_in_one_write);
  g_test_add_func ("/connection/fake/starttls/rejects-bytes-waiting-in-socket",
                   test_injection_waiting_in_socket);
  g_test_add_func ("/connection/fake/close-mid-line-is-an-error", test_closed_mid_line);
  g_test_add_func ("/connection/fake/close-between-lines-is-an-error",
                   test_closed_between_lines);
  g_test_add_func ("/connection/fake/line-limit-is-exact", test_line_limit_is_exact);
  g_test_add_func ("/connection/fake/endless-line-is-an-error", test_endless_line);
  g_test_add_func ("/connection/fake/read-times-out", test_read_times_out);
  g_test_add_func ("/connection/fake/cancel-is-not-a-timeout", test_cancel_is_not_a_timeout);
  g_test_add_func ("/connection/fake/connect-refused", test_connect_refused);
  g_test_add_func ("/connection/fake/malformed-pins-are-refused", test_bad_pins_are_refused);
  g_test_add_func ("/connection/fake/literal/reads-exact-bytes-then-lines", test_literal_reads);
  g_test_add_func ("/connection/fake/literal/close-inside-is-an-error", test_literal_cut_short);
  g_test_add_func ("/connection/fake/buffered/lines-and-bytes-without-waiting",
                   test_buffered_reads);
  g_test_add_func ("/connection/fake/compress/deflate-both-ways", test_compression_round_trip);
  g_test_add_func ("/connection/fake/compress/garbage-is-an-error", test_compression_garbage);

  return g_test_run ();
}
