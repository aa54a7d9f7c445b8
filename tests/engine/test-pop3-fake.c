/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernPop3Client against scripted servers on 127.0.0.1: STLS refused or
 * missing, bytes injected after the STLS reply, dot-stuffed bodies, "-ERR"
 * replies, wrong passwords, oversized messages and a server that drops the
 * connection in the middle of RETR. */

#include "config.h"

#include <string.h>

#include "tern-pop3-client.h"
#include "tern-test-util.h"

/* One step of a script: when the client sends @command, the server answers
 * @reply, then closes the connection when @close_after is set. */
typedef struct
{
  const char *command;
  const char *reply;
  gboolean close_after;
} Step;

typedef struct
{
  GSocketListener *listener;
  guint16 port;
  const char *greeting;
  const Step *steps;
  GThread *thread;
  /* Every line the client sent, in order. */
  GPtrArray *received;
} FakeServer;

static void
send_text (GSocketConnection *client,
           const char        *text)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

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

static gpointer
fake_server_thread (gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr(GSocketConnection) client = NULL;
  char *line;

  client = g_socket_listener_accept (server->listener, NULL, NULL, NULL);
  if (client == NULL)
    return NULL;
  send_text (client, server->greeting);
  while ((line = receive_line (client)) != NULL)
    {
      const Step *step = NULL;

      g_ptr_array_add (server->received, line);
      for (guint i = 0; server->steps[i].command != NULL; i++)
        if (g_str_equal (server->steps[i].command, line))
          {
            step = &server->steps[i];
            break;
          }
      if (step == NULL)
        {
          send_text (client, "-ERR unknown command\r\n");
          continue;
        }
      send_text (client, step->reply);
      if (step->close_after)
        break;
    }
  g_io_stream_close (G_IO_STREAM (client), NULL, NULL);
  return NULL;
}

static FakeServer *
fake_server_start (const char *greeting,
                   const Step *steps)
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
  server->greeting = greeting;
  server->steps = steps;
  server->received = g_ptr_array_new_with_free_func (g_free);
  server->thread = g_thread_new ("fake-pop3", fake_server_thread, server);
  return server;
}

/* The client must have closed its connection first. */
static void
fake_server_stop (FakeServer *server)
{
  g_thread_join (server->thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_ptr_array_unref (server->received);
  g_free (server);
}

static gboolean
server_received_prefix (FakeServer *server,
                        const char *prefix)
{
  for (guint i = 0; i < server->received->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (server->received, i), prefix))
      return TRUE;
  return FALSE;
}

/* Client side, each call waited for on the main context. */

static TernPop3Client *
new_client (void)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();

  tern_connection_set_io_timeout (connection, 10 * 1000);
  return tern_pop3_client_new (connection);
}

static gboolean
client_connect (TernPop3Client          *client,
                FakeServer              *server,
                TernConnectionSecurity   security,
                GError                 **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_pop3_client_connect_async (client, "127.0.0.1", server->port, security, NULL,
                                  tern_test_got_result_cb, &result);
  return tern_pop3_client_connect_finish (client, tern_test_wait_for (&result), error);
}

static gboolean
client_login (TernPop3Client  *client,
              const char      *password,
              GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_pop3_client_login_async (client, "alice", password, NULL, tern_test_got_result_cb,
                                &result);
  return tern_pop3_client_login_finish (client, tern_test_wait_for (&result), error);
}

static GBytes *
client_retr (TernPop3Client  *client,
             guint            number,
             GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_pop3_client_retr_async (client, number, NULL, tern_test_got_result_cb, &result);
  return tern_pop3_client_retr_finish (client, tern_test_wait_for (&result), error);
}

static gboolean
client_noop (TernPop3Client  *client,
             GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_pop3_client_noop_async (client, NULL, tern_test_got_result_cb, &result);
  return tern_pop3_client_simple_finish (client, tern_test_wait_for (&result), error);
}

static void
assert_bytes_equal (GBytes     *bytes,
                    const char *expected)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autofree char *text = g_strndup (data, size);

  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (size, ==, strlen (expected));
}

#define GREETING "+OK POP3 ready <1896.697170952@tern.test>\r\n"
#define CAPA_PLAIN "+OK\r\nUSER\r\nUIDL\r\n.\r\n"
#define CAPA_STLS "+OK\r\nUSER\r\nSTLS\r\n.\r\n"

/* A session on a connection the user chose to leave unencrypted, logged
 * in with USER and PASS, then @steps. */
static TernPop3Client *
logged_in_client (FakeServer *server)
{
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tern_pop3_client_get_apop_timestamp (client), ==,
                   "<1896.697170952@tern.test>");
  g_assert_true (client_login (client, "secret", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tern_pop3_client_get_auth_mechanism (client), ==, "USER");
  return g_steal_pointer (&client);
}

/* STARTTLS */

static void
test_starttls_missing (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_PLAIN, FALSE },
    { "USER alice", "+OK\r\n", FALSE },
    { "PASS secret", "+OK\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_STARTTLS_UNAVAILABLE);
  g_clear_error (&error);

  /* No fallback: the session is over, and a login is refused here. */
  g_assert_false (client_login (client, "secret", &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_INVALID_STATE);

  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_starttls_missing_sends_no_user (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_PLAIN, FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_STARTTLS_UNAVAILABLE);
  g_clear_error (&error);
  g_assert_false (client_login (client, "secret", &error));
  g_clear_object (&client);

  /* Checked once the server has seen everything the client sent. */
  g_thread_join (server->thread);
  server->thread = g_thread_new ("noop", (GThreadFunc) g_strdup, NULL);
  g_assert_cmpuint (server->received->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (server->received, 0), ==, "CAPA");
  g_assert_false (server_received_prefix (server, "USER"));
  fake_server_stop (server);
}

static void
test_starttls_refused (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_STLS, FALSE },
    { "STLS", "-ERR TLS not available now\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;
  GPtrArray *received;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_STARTTLS_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "TLS not available now"));
  g_clear_object (&client);

  g_thread_join (server->thread);
  server->thread = g_thread_new ("noop", (GThreadFunc) g_strdup, NULL);
  received = server->received;
  g_assert_cmpuint (received->len, ==, 2);
  g_assert_false (server_received_prefix (server, "USER"));
  g_assert_false (server_received_prefix (server, "PASS"));
  fake_server_stop (server);
}

static void
test_starttls_injection (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_STLS, FALSE },
    { "STLS", "+OK Begin TLS\r\n+OK injected\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_STARTTLS_INJECTION);
  g_clear_error (&error);
  g_assert_false (tern_connection_is_encrypted (tern_pop3_client_get_connection (client)));
  g_assert_false (client_login (client, "secret", &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_INVALID_STATE);
  g_clear_object (&client);

  g_thread_join (server->thread);
  server->thread = g_thread_new ("noop", (GThreadFunc) g_strdup, NULL);
  g_assert_false (server_received_prefix (server, "USER"));
  fake_server_stop (server);
}

/* Bodies */

static void
test_dot_unstuffing (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_PLAIN, FALSE },
    { "USER alice", "+OK\r\n", FALSE },
    { "PASS secret", "+OK maildrop ready\r\n", FALSE },
    { "RETR 1", "+OK 40 octets\r\n"
                "Subject: dots\r\n"
                "\r\n"
                "..\r\n"
                "...\r\n"
                "..leading\r\n"
                ".not stuffed\r\n"
                "a {3}\r\n"
                "..\r\n"
                "\r\n"
                ".\r\n", FALSE },
    { "RETR 2", "+OK\r\n.\r\n", FALSE },
    { "QUIT", "+OK bye\r\n", TRUE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = logged_in_client (server);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  message = client_retr (client, 1, &error);
  g_assert_no_error (error);
  /* ".." is ".", a "." line inside the body (sent stuffed) does not end
   * it, and a lone "." that was not stuffed is taken as it came. */
  assert_bytes_equal (message,
                      "Subject: dots\r\n"
                      "\r\n"
                      ".\r\n"
                      "..\r\n"
                      ".leading\r\n"
                      "not stuffed\r\n"
                      "a {3}\r\n"
                      ".\r\n"
                      "\r\n");

  empty = client_retr (client, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);

  tern_pop3_client_quit_async (client, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_pop3_client_simple_finish (client, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_err_mapped (void)
{
  static const Step steps[] = {
    { "CAPA", "-ERR what?\r\n", FALSE },
    { "USER alice", "+OK\r\n", FALSE },
    { "PASS secret", "+OK\r\n", FALSE },
    { "RETR 9", "-ERR no such message, only 2 in maildrop\r\n", FALSE },
    { "NOOP", "+OK\r\n", FALSE },
    { "STAT", "+OK two 20\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = logged_in_client (server);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  message = client_retr (client, 9, &error);
  g_assert_null (message);
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED);
  g_assert_nonnull (strstr (error->message, "no such message, only 2 in maildrop"));
  g_assert_nonnull (strstr (error->message, "RETR"));
  g_clear_error (&error);

  /* A "-ERR" leaves the session usable. */
  g_assert_true (client_noop (client, &error));
  g_assert_no_error (error);

  /* A malformed reply does not. */
  tern_pop3_client_stat_async (client, NULL, tern_test_got_result_cb, &result);
  g_assert_false (tern_pop3_client_stat_finish (client, tern_test_wait_for (&result), NULL,
                                                NULL, &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_BAD_RESPONSE);
  g_clear_error (&error);
  g_assert_false (client_noop (client, &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_INVALID_STATE);

  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_wrong_password (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_PLAIN, FALSE },
    { "USER alice", "+OK\r\n", FALSE },
    { "PASS wrong", "-ERR [AUTH] Authentication failed.\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;
  guint pass_count = 0;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_false (client_login (client, "wrong", &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "Authentication failed"));
  g_assert_null (tern_pop3_client_get_auth_mechanism (client));
  g_clear_object (&client);

  g_thread_join (server->thread);
  server->thread = g_thread_new ("noop", (GThreadFunc) g_strdup, NULL);
  for (guint i = 0; i < server->received->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (server->received, i), "PASS"))
      pass_count++;
  g_assert_cmpuint (pass_count, ==, 1);
  fake_server_stop (server);
}

static void
test_sasl_plain_on_tls_only (void)
{
  static const Step steps[] = {
    { "CAPA", "+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n", FALSE },
    { "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "+OK logged in\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = new_client ();
  g_autoptr(GError) error = NULL;

  /* Security NONE was chosen, so PLAIN may go out in clear. */
  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_true (client_login (client, "secret", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tern_pop3_client_get_auth_mechanism (client), ==, "PLAIN");
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_too_large (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_PLAIN, FALSE },
    { "USER alice", "+OK\r\n", FALSE },
    { "PASS secret", "+OK\r\n", FALSE },
    { "RETR 1", "+OK\r\n0123456789\r\n0123456789\r\n.\r\n", FALSE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = logged_in_client (server);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;

  tern_pop3_client_set_max_message_size (client, 16);
  message = client_retr (client, 1, &error);
  g_assert_null (message);
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_MESSAGE_TOO_LARGE);
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_dropped_mid_retr (void)
{
  static const Step steps[] = {
    { "CAPA", CAPA_PLAIN, FALSE },
    { "USER alice", "+OK\r\n", FALSE },
    { "PASS secret", "+OK\r\n", FALSE },
    { "RETR 1", "+OK\r\nSubject: cut\r\n\r\nhalf a bo", TRUE },
    { NULL, NULL, FALSE },
  };
  FakeServer *server = fake_server_start (GREETING, steps);
  g_autoptr(TernPop3Client) client = logged_in_client (server);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GError) error = NULL;

  message = client_retr (client, 1, &error);
  g_assert_null (message);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_false (client_noop (client, &error));
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_INVALID_STATE);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* Pipelining: this server answers nothing until it has three RETR, so a
 * client that waits for each reply before the next command times out. */

static gpointer
pipelining_thread (gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr(GSocketConnection) client = NULL;
  char *line;
  guint retr = 0;

  client = g_socket_listener_accept (server->listener, NULL, NULL, NULL);
  if (client == NULL)
    return NULL;
  send_text (client, GREETING);
  while ((line = receive_line (client)) != NULL)
    {
      g_ptr_array_add (server->received, line);
      if (g_str_equal (line, "CAPA"))
        send_text (client, "+OK\r\nUSER\r\nPIPELINING\r\n.\r\n");
      else if (g_str_has_prefix (line, "USER") || g_str_has_prefix (line, "PASS"))
        send_text (client, "+OK\r\n");
      else if (g_str_has_prefix (line, "RETR") && ++retr == 3)
        send_text (client, "+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n+OK\r\nthree\r\n.\r\n");
      else if (!g_str_has_prefix (line, "RETR"))
        send_text (client, "-ERR\r\n");
    }
  return NULL;
}

static void
test_pipelining (void)
{
  static const Step no_steps[] = { { NULL, NULL, FALSE } };
  FakeServer *server = g_new0 (FakeServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(TernPop3Client) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  const guint numbers[] = { 1, 2, 3 };

  server->listener = g_socket_listener_new ();
  g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  server->steps = no_steps;
  server->received = g_ptr_array_new_with_free_func (g_free);
  server->thread = g_thread_new ("fake-pop3", pipelining_thread, server);

  client = logged_in_client (server);
  g_assert_true (tern_pop3_client_has_capability (client, "pipelining"));
  tern_pop3_client_retr_many_async (client, numbers, G_N_ELEMENTS (numbers), NULL,
                                    tern_test_got_result_cb, &result);
  messages = tern_pop3_client_retr_many_finish (client, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);
  assert_bytes_equal (g_ptr_array_index (messages, 0), "one\r\n");
  assert_bytes_equal (g_ptr_array_index (messages, 1), "two\r\n");
  assert_bytes_equal (g_ptr_array_index (messages, 2), "three\r\n");
  /* The result holds the client, which must go to close its connection. */
  g_clear_object (&result);
  g_clear_object (&client);
  fake_server_stop (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pop3/fake/starttls/missing-stls-ends-connection", test_starttls_missing);
  g_test_add_func ("/pop3/fake/starttls/missing-stls-sends-no-user",
                   test_starttls_missing_sends_no_user);
  g_test_add_func ("/pop3/fake/starttls/refused-stls-sends-no-password",
                   test_starttls_refused);
  g_test_add_func ("/pop3/fake/starttls/rejects-bytes-after-ok", test_starttls_injection);
  g_test_add_func ("/pop3/fake/retr/dot-unstuffing", test_dot_unstuffing);
  g_test_add_func ("/pop3/fake/retr/too-large-is-an-error", test_too_large);
  g_test_add_func ("/pop3/fake/retr/dropped-connection-is-an-error", test_dropped_mid_retr);
  g_test_add_func ("/pop3/fake/retr/pipelined", test_pipelining);
  g_test_add_func ("/pop3/fake/errors/err-text-kept", test_err_mapped);
  g_test_add_func ("/pop3/fake/login/wrong-password-fails-once", test_wrong_password);
  g_test_add_func ("/pop3/fake/login/sasl-plain-with-initial-response",
                   test_sasl_plain_on_tls_only);

  return g_test_run ();
}
