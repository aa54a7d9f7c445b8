/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernSmtpClient against scripted SMTP servers on 127.0.0.1: what a real
 * server does rarely or never on purpose (refusing EHLO, hiding STARTTLS,
 * injecting bytes after its STARTTLS reply, dropping the connection after
 * the message) must end in the right error, and what goes on the wire
 * (dot-stuffing, pipelining) must be exact. */

#include "config.h"

#include <string.h>

#include "tern-smtp-client.h"
#include "tern-test-util.h"

typedef struct _FakeServer FakeServer;
typedef void (*FakeScript) (FakeServer *server, GSocketConnection *client);

/* One scripted server: it accepts one client and plays its script on a
 * thread of its own; what the client sent is kept for the test to check
 * once the thread has ended. */
struct _FakeServer
{
  GSocketListener *listener;
  guint16 port;
  FakeScript script;
  GThread *thread;
  GPtrArray *received;
  GString *data;
};

static gpointer
fake_server_thread (gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr(GSocketConnection) client = NULL;

  client = g_socket_listener_accept (server->listener, NULL, NULL, NULL);
  if (client != NULL)
    server->script (server, client);
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
  server->received = g_ptr_array_new_with_free_func (g_free);
  server->data = g_string_new (NULL);
  server->thread = g_thread_new ("fake-smtp", fake_server_thread, server);
  return server;
}

static void
fake_server_stop (FakeServer *server)
{
  g_thread_join (server->thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_ptr_array_unref (server->received);
  g_string_free (server->data, TRUE);
  g_free (server);
}

static void
send_text (GSocketConnection *client,
           const char        *text)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

/* One line from the client, without its CRLF, byte by byte so nothing
 * after it is consumed; it is also kept in server->received. */
static char *
receive_line (FakeServer        *server,
              GSocketConnection *client)
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
          g_ptr_array_add (server->received, g_strdup (line->str));
          return g_string_free (line, FALSE);
        }
      g_string_append_c (line, c);
    }
  g_string_free (line, TRUE);
  return NULL;
}

/* The raw bytes after DATA, up to and including CRLF.CRLF, into
 * server->data. */
static void
receive_data (FakeServer        *server,
              GSocketConnection *client)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client));
  char c;

  while (g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    {
      g_string_append_c (server->data, c);
      if (g_str_has_suffix (server->data->str, "\r\n.\r\n")
          || strcmp (server->data->str, ".\r\n") == 0)
        return;
    }
}

/* Reads lines until the client hangs up. */
static void
drain (FakeServer        *server,
       GSocketConnection *client)
{
  for (;;)
    {
      g_autofree char *line = receive_line (server, client);

      if (line == NULL)
        return;
      if (strcmp (line, "QUIT") == 0)
        send_text (client, "221 2.0.0 Bye\r\n");
      else if (strcmp (line, "RSET") == 0)
        send_text (client, "250 2.0.0 Ok\r\n");
      else
        send_text (client, "502 5.5.2 Not in this script\r\n");
    }
}

static gboolean
received_line_with_prefix (FakeServer *server,
                           const char *prefix)
{
  for (guint i = 0; i < server->received->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (server->received, i), prefix))
      return TRUE;
  return FALSE;
}

/* Client side, each call waited for on the main context. */

static TernSmtpClient *
new_client (void)
{
  TernSmtpClient *client = tern_smtp_client_new ();

  tern_connection_set_io_timeout (tern_smtp_client_get_connection (client), 5000);
  return client;
}

static gboolean
smtp_connect (TernSmtpClient          *client,
              FakeServer              *server,
              TernConnectionSecurity   security,
              GError                 **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_smtp_client_connect_async (client, "127.0.0.1", server->port, security, NULL,
                                  tern_test_got_result_cb, &result);
  return tern_smtp_client_connect_finish (client, tern_test_wait_for (&result), error);
}

static gboolean
smtp_auth (TernSmtpClient  *client,
           GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_smtp_client_authenticate_async (client, "alice@tern.test", "secret", FALSE, NULL,
                                       tern_test_got_result_cb, &result);
  return tern_smtp_client_authenticate_finish (client, tern_test_wait_for (&result), error);
}

static TernSmtpSendResult *
smtp_send (TernSmtpClient      *client,
           const char * const  *recipients,
           const char          *message,
           GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (message, strlen (message));

  tern_smtp_client_send_async (client, "alice@tern.test", recipients, bytes, NULL,
                               tern_test_got_result_cb, &result);
  return tern_smtp_client_send_finish (client, tern_test_wait_for (&result), error);
}

static void
smtp_quit (TernSmtpClient *client)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_smtp_client_quit_async (client, NULL, tern_test_got_result_cb, &result);
  tern_smtp_client_quit_finish (client, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
}

/* EHLO refused, HELO then; one command at a time without PIPELINING. */

static void
helo_script (FakeServer        *server,
             GSocketConnection *client)
{
  g_autofree char *ehlo = NULL;
  g_autofree char *helo = NULL;
  g_autofree char *mail = NULL;
  g_autofree char *rcpt = NULL;
  g_autofree char *data = NULL;

  send_text (client, "220-fake.test old server\r\n220 no extensions here\r\n");
  ehlo = receive_line (server, client);
  send_text (client, "500 5.5.1 What is EHLO?\r\n");
  helo = receive_line (server, client);
  send_text (client, "250 fake.test\r\n");
  mail = receive_line (server, client);
  send_text (client, "250 Ok\r\n");
  rcpt = receive_line (server, client);
  send_text (client, "250 Ok\r\n");
  data = receive_line (server, client);
  send_text (client, "354 Go ahead\r\n");
  receive_data (server, client);
  send_text (client, "250 Queued\r\n");
  drain (server, client);
}

static void
test_ehlo_refused_falls_back_to_helo (void)
{
  FakeServer *server = fake_server_start (helo_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "bob@tern.test", NULL };

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tern_smtp_client_get_extensions (client), ==, TERN_SMTP_EXTENSION_NONE);

  result = smtp_send (client, recipients, "Subject: hi\n\nhello\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (result)[0], ==, "bob@tern.test");
  smtp_quit (client);
  g_clear_object (&client);

  g_assert_true (g_str_has_prefix (g_ptr_array_index (server->received, 0), "EHLO "));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (server->received, 1), "HELO "));
  /* No SIZE parameter without the extension. */
  g_assert_cmpstr (g_ptr_array_index (server->received, 2), ==, "MAIL FROM:<alice@tern.test>");
  g_assert_cmpstr (server->data->str, ==, "Subject: hi\r\n\r\nhello\r\n.\r\n");
  fake_server_stop (server);
}

/* STARTTLS missing, and bytes injected after the STARTTLS reply */

static void
no_starttls_script (FakeServer        *server,
                    GSocketConnection *client)
{
  g_autofree char *ehlo = NULL;

  send_text (client, "220 fake.test ESMTP\r\n");
  ehlo = receive_line (server, client);
  send_text (client, "250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
  drain (server, client);
}

static void
test_starttls_missing_is_an_error (void)
{
  FakeServer *server = fake_server_start (no_starttls_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (smtp_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_NO_STARTTLS);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* The client is unusable: no AUTH, nothing in clear. */
  g_assert_false (smtp_auth (client, &error));
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_STATE);
  g_clear_object (&client);

  /* EHLO was the only thing the server heard. */
  g_assert_cmpuint (server->received->len, ==, 1);
  fake_server_stop (server);
}

static void
injection_script (FakeServer        *server,
                  GSocketConnection *client)
{
  g_autofree char *ehlo = NULL;
  g_autofree char *starttls = NULL;

  send_text (client, "220 fake.test ESMTP\r\n");
  ehlo = receive_line (server, client);
  send_text (client, "250-fake.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n");
  starttls = receive_line (server, client);
  send_text (client, "220 2.0.0 Ready to start TLS\r\n250-fake.test\r\n250 AUTH PLAIN\r\n");
  drain (server, client);
}

static void
test_starttls_injection_is_an_error (void)
{
  FakeServer *server = fake_server_start (injection_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (smtp_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_STARTTLS_INJECTION);
  g_test_message ("%s", error->message);
  g_clear_object (&client);

  g_assert_cmpuint (server->received->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (server->received, 1), ==, "STARTTLS");
  fake_server_stop (server);
}

/* Pipelining and dot-stuffing */

static const char *ehlo_pipelining =
  "250-fake.test greets you\r\n"
  "250-PIPELINING\r\n"
  "250-SIZE 100000\r\n"
  "250-8BITMIME\r\n"
  "250-ENHANCEDSTATUSCODES\r\n"
  "250-CHUNKING\r\n"
  "250-DSN\r\n"
  "250 AUTH PLAIN LOGIN\r\n";

/* Reads MAIL, two RCPT and DATA before answering anything: a client that
 * waits for each reply never gets one. */
static void
pipelining_script (FakeServer        *server,
                   GSocketConnection *client)
{
  send_text (client, "220 fake.test ESMTP\r\n");
  g_free (receive_line (server, client));
  send_text (client, ehlo_pipelining);
  for (guint i = 0; i < 4; i++)
    g_free (receive_line (server, client));
  send_text (client, "250 2.1.0 Ok\r\n"
                     "250 2.1.5 Ok\r\n"
                     "450-4.2.0 <busy@tern.test>: mailbox busy,\r\n"
                     "450 4.2.0 try later\r\n"
                     "354 End data with <CR><LF>.<CR><LF>\r\n");
  receive_data (server, client);
  send_text (client, "250 2.0.0 Ok: queued\r\n");
  drain (server, client);
}

static void
test_pipelined_dot_stuffing_is_exact (void)
{
  FakeServer *server = fake_server_start (pipelining_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "bob@tern.test", "busy@tern.test", NULL };
  const GError *refusal;
  g_autofree char *mail = NULL;
  /* LF and CRLF mixed, lines of dots, a bare "." line, no final newline,
   * and an 8-bit byte. */
  const char *message = "Subject: dots\r\n\n.\n..\r\n.hidden\nmiddle . dot\n...x\n\n"
                        "caf\xc3\xa9\nlast";
  const char *expected = "Subject: dots\r\n\r\n..\r\n...\r\n..hidden\r\nmiddle . dot\r\n"
                         "....x\r\n\r\ncaf\xc3\xa9\r\nlast\r\n.\r\n";

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tern_smtp_client_get_max_size (client), ==, 100000);
  g_assert_true (tern_smtp_client_get_extensions (client) & TERN_SMTP_EXTENSION_PIPELINING);
  g_assert_cmpstr (tern_smtp_client_get_auth_mechanisms (client)[1], ==, "LOGIN");

  result = smtp_send (client, recipients, message, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (result)[0], ==, "bob@tern.test");
  g_assert_null (tern_smtp_send_result_get_accepted (result)[1]);
  g_assert_cmpstr (tern_smtp_send_result_get_refused (result)[0], ==, "busy@tern.test");
  refusal = tern_smtp_send_result_get_error (result, "busy@tern.test");
  g_assert_error ((GError *) refusal, TERN_SMTP_ERROR, TERN_SMTP_ERROR_TEMPORARY);
  g_assert_nonnull (strstr (refusal->message, "450 4.2.0 <busy@tern.test>: mailbox busy, / "
                                              "try later"));
  g_assert_null (tern_smtp_send_result_get_error (result, "bob@tern.test"));
  smtp_quit (client);
  g_clear_object (&client);

  /* SIZE counts the message with CRLF line ends, without the four dots
   * added nor the final ".". */
  mail = g_strdup_printf ("MAIL FROM:<alice@tern.test> SIZE=%zu BODY=8BITMIME",
                          strlen (expected) - 4 - 3);
  g_assert_cmpstr (g_ptr_array_index (server->received, 1), ==, mail);
  g_assert_cmpstr (g_ptr_array_index (server->received, 4), ==, "DATA");
  g_assert_cmpstr (server->data->str, ==, expected);
  fake_server_stop (server);
}

/* 4xx and 5xx */

static void
final_reply_script (FakeServer        *server,
                    GSocketConnection *client)
{
  send_text (client, "220 fake.test ESMTP\r\n");
  g_free (receive_line (server, client));
  send_text (client, "250-fake.test\r\n250 ENHANCEDSTATUSCODES\r\n");
  for (guint round = 0; round < 2; round++)
    {
      g_free (receive_line (server, client));
      send_text (client, "250 2.1.0 Ok\r\n");
      g_free (receive_line (server, client));
      send_text (client, "250 2.1.5 Ok\r\n");
      g_free (receive_line (server, client));
      send_text (client, "354 Go ahead\r\n");
      receive_data (server, client);
      if (round == 0)
        send_text (client, "451 4.3.0 Try again later\r\n");
      else
        send_text (client, "554-5.7.1 Rejected: first line\r\n554 5.7.1 second line\r\n");
      g_free (receive_line (server, client));
      send_text (client, "250 2.0.0 Ok\r\n");
    }
  drain (server, client);
}

static void
test_4xx_is_temporary_and_5xx_permanent (void)
{
  FakeServer *server = fake_server_start (final_reply_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) first = NULL;
  g_autoptr(TernSmtpSendResult) second = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "bob@tern.test", NULL };

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);

  first = smtp_send (client, recipients, "Subject: one\n\nbody\n", &error);
  g_assert_null (first);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_TEMPORARY);
  g_assert_nonnull (strstr (error->message, "451 4.3.0 Try again later"));
  g_clear_error (&error);

  second = smtp_send (client, recipients, "Subject: two\n\nbody\n", &error);
  g_assert_null (second);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PERMANENT);
  g_assert_nonnull (strstr (error->message, "554 5.7.1 Rejected: first line / second line"));
  g_clear_error (&error);

  smtp_quit (client);
  g_clear_object (&client);
  /* Each failed transaction was reset. */
  g_assert_cmpstr (g_ptr_array_index (server->received, 4), ==, "RSET");
  g_assert_cmpstr (g_ptr_array_index (server->received, 8), ==, "RSET");
  fake_server_stop (server);
}

/* Everyone refused, message too large, AUTH refused */

static void
refusals_script (FakeServer        *server,
                 GSocketConnection *client)
{
  send_text (client, "220 fake.test ESMTP\r\n");
  g_free (receive_line (server, client));
  send_text (client, "250-fake.test\r\n250-SIZE 50\r\n250 AUTH PLAIN\r\n");
  g_free (receive_line (server, client));
  send_text (client, "535 5.7.8 Error: authentication failed\r\n");
  g_free (receive_line (server, client));
  send_text (client, "250 2.1.0 Ok\r\n");
  g_free (receive_line (server, client));
  send_text (client, "554 5.7.1 <x@elsewhere.test>: Relay access denied\r\n");
  drain (server, client);
}

static void
test_refusals (void)
{
  FakeServer *server = fake_server_start (refusals_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "x@elsewhere.test", NULL };
  const char *utf8_recipients[] = { "jos\xc3\xa9@tern.test", NULL };
  g_autofree char *big = g_strnfill (60, 'x');

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);

  g_assert_false (smtp_auth (client, &error));
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "5.7.8"));
  g_clear_error (&error);

  result = smtp_send (client, recipients, big, &error);
  g_assert_null (result);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "at most 50 bytes"));
  g_clear_error (&error);

  result = smtp_send (client, utf8_recipients, "short\n", &error);
  g_assert_null (result);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_SMTPUTF8_UNSUPPORTED);
  g_clear_error (&error);

  result = smtp_send (client, recipients, "short\n", &error);
  g_assert_null (result);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PERMANENT);
  g_assert_nonnull (strstr (error->message, "x@elsewhere.test"));
  g_assert_nonnull (strstr (error->message, "Relay access denied"));
  g_clear_error (&error);

  smtp_quit (client);
  g_clear_object (&client);

  /* One AUTH only, PLAIN with its initial response; no MAIL for the
   * refused messages, no DATA without a recipient. */
  g_assert_cmpuint (server->received->len, ==, 6);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (server->received, 1), "AUTH PLAIN "));
  g_assert_cmpstr (g_ptr_array_index (server->received, 2), ==,
                   "MAIL FROM:<alice@tern.test> SIZE=7");
  g_assert_cmpstr (g_ptr_array_index (server->received, 4), ==, "RSET");
  g_assert_false (received_line_with_prefix (server, "DATA"));
  fake_server_stop (server);
}

/* Dropped after the message */

static void
drop_after_data_script (FakeServer        *server,
                        GSocketConnection *client)
{
  send_text (client, "220 fake.test ESMTP\r\n");
  g_free (receive_line (server, client));
  send_text (client, "250-fake.test\r\n250 PIPELINING\r\n");
  for (guint i = 0; i < 3; i++)
    g_free (receive_line (server, client));
  send_text (client, "250 Ok\r\n250 Ok\r\n354 Go ahead\r\n");
  receive_data (server, client);
  /* Closes without a reply. */
}

static void
test_drop_after_data_is_an_error (void)
{
  FakeServer *server = fake_server_start (drop_after_data_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "bob@tern.test", NULL };

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  result = smtp_send (client, recipients, "Subject: lost\n\nbody\n", &error);
  g_assert_null (result);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
  g_clear_error (&error);

  result = smtp_send (client, recipients, "again\n", &error);
  g_assert_null (result);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_STATE);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* Not an SMTP reply */

static void
garbage_script (FakeServer        *server,
                GSocketConnection *client)
{
  send_text (client, "* OK this is IMAP\r\n");
  drain (server, client);
}

static void
test_malformed_greeting_is_an_error (void)
{
  FakeServer *server = fake_server_start (garbage_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PROTOCOL);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* Delivery status notifications: parameters when DSN is offered, none and
 * a note in the result when it is not. */

static void
dsn_script_common (FakeServer        *server,
                   GSocketConnection *client,
                   const char        *extensions)
{
  g_autofree char *ehlo = NULL;

  send_text (client, "220 fake.test ESMTP\r\n");
  ehlo = receive_line (server, client);
  send_text (client, extensions);
  for (;;)
    {
      g_autofree char *line = receive_line (server, client);

      if (line == NULL)
        return;
      if (strcmp (line, "DATA") == 0)
        {
          send_text (client, "354 Go ahead\r\n");
          receive_data (server, client);
          send_text (client, "250 2.0.0 Queued\r\n");
        }
      else if (strcmp (line, "QUIT") == 0)
        {
          send_text (client, "221 2.0.0 Bye\r\n");
          drain (server, client);
          return;
        }
      else
        send_text (client, "250 2.1.0 Ok\r\n");
    }
}

static void
dsn_offered_script (FakeServer        *server,
                    GSocketConnection *client)
{
  dsn_script_common (server, client,
                     "250-fake.test\r\n250-DSN\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n");
}

static void
dsn_missing_script (FakeServer        *server,
                    GSocketConnection *client)
{
  dsn_script_common (server, client, "250-fake.test\r\n250 8BITMIME\r\n");
}

static TernSmtpSendResult *
smtp_send_dsn (TernSmtpClient      *client,
               const char * const  *recipients,
               const TernSmtpDsn   *dsn,
               GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new_static ("Subject: hi\n\nhello\n", 19);

  tern_smtp_client_send_full_async (client, "alice@tern.test", recipients, bytes, dsn, NULL,
                                    tern_test_got_result_cb, &result);
  return tern_smtp_client_send_finish (client, tern_test_wait_for (&result), error);
}

static void
test_dsn_offered (void)
{
  FakeServer *server = fake_server_start (dsn_offered_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "bob+lists@tern.test", "carol=x@tern.test", NULL };
  TernSmtpDsn dsn = {
    TERN_SMTP_DSN_NOTIFY_FAILURE | TERN_SMTP_DSN_NOTIFY_DELAY | TERN_SMTP_DSN_NOTIFY_SUCCESS,
    TERN_SMTP_DSN_RET_HDRS, "id+1=2 é",
  };
  TernSmtpDsn never = { TERN_SMTP_DSN_NOTIFY_NEVER, TERN_SMTP_DSN_RET_FULL, NULL };
  const char *utf8_recipients[] = { "zoë+1@tern.test", NULL };

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  result = smtp_send_dsn (client, recipients, &dsn, &error);
  g_assert_no_error (error);
  g_assert_false (tern_smtp_send_result_get_dsn_unavailable (result));
  g_clear_pointer (&result, tern_smtp_send_result_free);
  result = smtp_send_dsn (client, recipients, &never, &error);
  g_assert_no_error (error);
  g_clear_pointer (&result, tern_smtp_send_result_free);
  result = smtp_send_dsn (client, utf8_recipients, &never, &error);
  g_assert_no_error (error);
  smtp_quit (client);
  g_clear_object (&client);

  g_assert_cmpstr (g_ptr_array_index (server->received, 1), ==,
                   "MAIL FROM:<alice@tern.test> RET=HDRS ENVID=id+2B1+3D2+20+C3+A9");
  g_assert_cmpstr (g_ptr_array_index (server->received, 2), ==,
                   "RCPT TO:<bob+lists@tern.test> NOTIFY=SUCCESS,FAILURE,DELAY "
                   "ORCPT=rfc822;bob+2Blists@tern.test");
  g_assert_cmpstr (g_ptr_array_index (server->received, 3), ==,
                   "RCPT TO:<carol=x@tern.test> NOTIFY=SUCCESS,FAILURE,DELAY "
                   "ORCPT=rfc822;carol+3Dx@tern.test");
  g_assert_cmpstr (g_ptr_array_index (server->received, 4), ==, "DATA");
  g_assert_cmpstr (g_ptr_array_index (server->received, 5), ==,
                   "MAIL FROM:<alice@tern.test> RET=FULL");
  g_assert_cmpstr (g_ptr_array_index (server->received, 6), ==,
                   "RCPT TO:<bob+lists@tern.test> NOTIFY=NEVER "
                   "ORCPT=rfc822;bob+2Blists@tern.test");
  /* Not ASCII: SMTPUTF8 is in use, so ORCPT has the utf-8 type. */
  g_assert_cmpstr (g_ptr_array_index (server->received, 9), ==,
                   "MAIL FROM:<alice@tern.test> SMTPUTF8 RET=FULL");
  g_assert_cmpstr (g_ptr_array_index (server->received, 10), ==,
                   "RCPT TO:<zoë+1@tern.test> NOTIFY=NEVER ORCPT=utf-8;zoë\\x{2B}1@tern.test");
  fake_server_stop (server);
}

static void
test_dsn_not_offered (void)
{
  FakeServer *server = fake_server_start (dsn_missing_script);
  g_autoptr(TernSmtpClient) client = new_client ();
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *recipients[] = { "bob@tern.test", NULL };
  TernSmtpDsn dsn = { TERN_SMTP_DSN_NOTIFY_FAILURE, TERN_SMTP_DSN_RET_HDRS, "abc" };

  g_assert_true (smtp_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  result = smtp_send_dsn (client, recipients, &dsn, &error);
  g_assert_no_error (error);
  g_assert_true (tern_smtp_send_result_get_dsn_unavailable (result));
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (result)[0], ==, "bob@tern.test");
  g_clear_pointer (&result, tern_smtp_send_result_free);
  /* Nothing asked for: nothing to report. */
  result = smtp_send_dsn (client, recipients, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (tern_smtp_send_result_get_dsn_unavailable (result));
  smtp_quit (client);
  g_clear_object (&client);

  g_assert_cmpstr (g_ptr_array_index (server->received, 1), ==, "MAIL FROM:<alice@tern.test>");
  g_assert_cmpstr (g_ptr_array_index (server->received, 2), ==, "RCPT TO:<bob@tern.test>");
  g_assert_cmpstr (g_ptr_array_index (server->received, 3), ==, "DATA");
  g_assert_cmpstr (g_ptr_array_index (server->received, 4), ==, "MAIL FROM:<alice@tern.test>");
  fake_server_stop (server);
}

static void
test_xtext (void)
{
  g_autofree char *a = tern_smtp_xtext_encode ("a+b=c");
  g_autofree char *b = tern_smtp_xtext_encode ("x y\x7f~!");

  g_assert_cmpstr (a, ==, "a+2Bb+3Dc");
  g_assert_cmpstr (b, ==, "x+20y+7F~!");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/smtp/fake/ehlo-refused-falls-back-to-helo",
                   test_ehlo_refused_falls_back_to_helo);
  g_test_add_func ("/smtp/fake/starttls/missing-is-an-error-without-auth",
                   test_starttls_missing_is_an_error);
  g_test_add_func ("/smtp/fake/starttls/rejects-bytes-after-220",
                   test_starttls_injection_is_an_error);
  g_test_add_func ("/smtp/fake/pipelined-dot-stuffing-is-exact",
                   test_pipelined_dot_stuffing_is_exact);
  g_test_add_func ("/smtp/fake/4xx-is-temporary-5xx-permanent",
                   test_4xx_is_temporary_and_5xx_permanent);
  g_test_add_func ("/smtp/fake/auth-size-utf8-and-recipient-refusals", test_refusals);
  g_test_add_func ("/smtp/fake/drop-after-data-is-an-error", test_drop_after_data_is_an_error);
  g_test_add_func ("/smtp/fake/malformed-greeting-is-an-error",
                   test_malformed_greeting_is_an_error);

  g_test_add_func ("/smtp/fake/dsn/offered-exact-parameters", test_dsn_offered);
  g_test_add_func ("/smtp/fake/dsn/not-offered-none-and-reported", test_dsn_not_offered);
  g_test_add_func ("/smtp/fake/dsn/xtext", test_xtext);

  return g_test_run ();
}
