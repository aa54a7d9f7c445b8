/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernImapClient against scripted servers on 127.0.0.1: greetings of every
 * kind, STARTTLS refused or attacked, SASL-IR and continuations, a refused
 * login, literals both ways, replies one byte at a time, pipelining,
 * unsolicited responses, BYE and garbage, a connection dropped at every
 * step, the move without MOVE and APPENDLIMIT. */

#include "config.h"

#include <string.h>

#include "tern-imap-client.h"
#include "tern-sasl.h"
#include "tern-test-util.h"

/* One step of a script: the client's next line must start with @command
 * (after its tag, or the whole line when it has no tag); the server then
 * answers @reply, where "$T" stands for the line's tag. */
typedef enum {
  STEP_REPLY,
  /* Answer one byte at a time. */
  STEP_SLOW,
  /* Close the connection without answering. */
  STEP_DROP,
  /* Answer, then close the connection. */
  STEP_REPLY_DROP,
  /* Answer nothing now: a later step answers for several lines. */
  STEP_QUIET,
  /* Answer a line announcing a synchronizing literal without the "+". */
  STEP_REFUSE_LITERAL,
} StepKind;

typedef struct
{
  const char *command;
  const char *reply;
  StepKind kind;
} Step;

typedef struct
{
  GSocketListener *listener;
  guint16 port;
  char *greeting;
  const Step *steps;
  guint n_steps;
  GThread *thread;
  /* Every line the client sent, literals included, in order. */
  GPtrArray *received;
  GMutex lock;
  /* Lines that did not match the script. */
  guint mismatches;
  /* Drop the connection after this many lines; 0 for never. */
  guint drop_after;
} FakeServer;

static void
send_all (GSocketConnection *client,
          const char        *text,
          gboolean           slow)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));
  gsize length = strlen (text);

  if (!slow)
    {
      g_output_stream_write_all (out, text, length, NULL, NULL, NULL);
      return;
    }
  for (gsize i = 0; i < length; i++)
    {
      g_output_stream_write_all (out, text + i, 1, NULL, NULL, NULL);
      g_output_stream_flush (out, NULL, NULL);
      g_usleep (200);
    }
}

/* Reads one line; a literal announced at its end ({N} or {N+}) is read too,
 * with a "+" first for a synchronizing one, and the line goes on after it. */
static char *
receive_command (GSocketConnection *client,
                 gboolean           refuse_literal)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client));
  GString *line = g_string_new (NULL);
  char c;

  while (g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    {
      const char *open;
      gboolean sync;
      guint64 size;
      char *buffer;
      gsize got = 0;

      if (c != '\n')
        {
          g_string_append_c (line, c);
          continue;
        }
      if (line->len > 0 && line->str[line->len - 1] == '\r')
        g_string_truncate (line, line->len - 1);
      if (line->len == 0 || line->str[line->len - 1] != '}'
          || (open = strrchr (line->str, '{')) == NULL)
        return g_string_free (line, FALSE);

      sync = line->str[line->len - 2] != '+';
      if (sync && refuse_literal)
        return g_string_free (line, FALSE);
      size = g_ascii_strtoull (open + 1, NULL, 10);
      if (sync)
        send_all (client, "+ go on\r\n", FALSE);
      buffer = g_malloc (size + 1);
      if (!g_input_stream_read_all (in, buffer, size, &got, NULL, NULL) || got != size)
        {
          g_free (buffer);
          break;
        }
      g_string_append (line, "\n");
      g_string_append_len (line, buffer, size);
      g_free (buffer);
    }
  g_string_free (line, TRUE);
  return NULL;
}

static char *
expand_tag (const char *reply,
            const char *tag)
{
  GString *out = g_string_new (NULL);

  for (const char *p = reply; *p != '\0'; p++)
    {
      if (p[0] == '$' && p[1] == 'T')
        {
          g_string_append (out, tag);
          p++;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static gpointer
fake_server_thread (gpointer user_data)
{
  FakeServer *server = user_data;
  g_autoptr(GSocketConnection) client = NULL;
  guint next = 0;
  guint count = 0;
  char *line;

  client = g_socket_listener_accept (server->listener, NULL, NULL, NULL);
  if (client == NULL)
    return NULL;
  send_all (client, server->greeting, FALSE);
  while ((line = receive_command (client, next < server->n_steps
                                   && server->steps[next].kind == STEP_REFUSE_LITERAL)) != NULL)
    {
      const char *space = strchr (line, ' ');
      g_autofree char *tag = space != NULL ? g_strndup (line, space - line) : g_strdup ("*");
      const char *rest = space != NULL ? space + 1 : line;
      const Step *step = next < server->n_steps ? &server->steps[next] : NULL;
      gboolean matches;

      g_mutex_lock (&server->lock);
      g_ptr_array_add (server->received, line);
      g_mutex_unlock (&server->lock);
      count++;

      if (server->drop_after > 0 && count >= server->drop_after)
        break;

      matches = step != NULL && (g_str_has_prefix (rest, step->command)
                                 || g_str_has_prefix (line, step->command));
      if (!matches)
        {
          g_autofree char *bad = g_strdup_printf ("%s BAD unexpected\r\n", tag);

          g_mutex_lock (&server->lock);
          server->mismatches++;
          g_mutex_unlock (&server->lock);
          g_test_message ("fake server: unexpected line: %s", line);
          send_all (client, bad, FALSE);
          continue;
        }
      next++;
      if (step->kind == STEP_DROP)
        break;
      if (step->kind != STEP_QUIET)
        {
          g_autofree char *reply = expand_tag (step->reply, tag);

          send_all (client, reply, step->kind == STEP_SLOW);
        }
      if (step->kind == STEP_REPLY_DROP)
        break;
    }
  g_io_stream_close (G_IO_STREAM (client), NULL, NULL);
  return NULL;
}

static FakeServer *
fake_server_start_full (const char *greeting,
                        const Step *steps,
                        guint       n_steps,
                        guint       drop_after)
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
  server->greeting = g_strdup (greeting);
  server->steps = steps;
  server->n_steps = n_steps;
  server->drop_after = drop_after;
  server->received = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&server->lock);
  server->thread = g_thread_new ("fake-imap", fake_server_thread, server);
  return server;
}

#define fake_server_start(greeting, steps) \
  fake_server_start_full ((greeting), (steps), G_N_ELEMENTS (steps), 0)

/* The client must have closed its connection first. */
static void
fake_server_stop (FakeServer *server)
{
  g_thread_join (server->thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_ptr_array_unref (server->received);
  g_mutex_clear (&server->lock);
  g_free (server->greeting);
  g_free (server);
}

static guint
count_received (FakeServer *server,
                const char *needle)
{
  guint count = 0;

  g_mutex_lock (&server->lock);
  for (guint i = 0; i < server->received->len; i++)
    if (strstr (g_ptr_array_index (server->received, i), needle) != NULL)
      count++;
  g_mutex_unlock (&server->lock);
  return count;
}

static const char *
received_line (FakeServer *server,
               guint       index)
{
  const char *line = NULL;

  g_mutex_lock (&server->lock);
  if (index < server->received->len)
    line = g_ptr_array_index (server->received, index);
  g_mutex_unlock (&server->lock);
  return line;
}

/* Client side, each call waited for on the main context. */

static TernImapClient *
new_client (void)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();

  tern_connection_set_io_timeout (connection, 10 * 1000);
  return tern_imap_client_new (connection);
}

static gboolean
client_connect (TernImapClient          *client,
                FakeServer              *server,
                TernConnectionSecurity   security,
                GError                 **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_connect_async (client, "127.0.0.1", server->port, security, NULL,
                                  tern_test_got_result_cb, &result);
  return tern_imap_client_connect_finish (client, tern_test_wait_for (&result), error);
}

static gboolean
client_login (TernImapClient  *client,
              const char      *password,
              GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_login_async (client, "alice", password, NULL, tern_test_got_result_cb,
                                &result);
  return tern_imap_client_login_finish (client, tern_test_wait_for (&result), error);
}

static TernImapSelected *
client_select (TernImapClient  *client,
               const char      *mailbox,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_select_async (client, mailbox, TERN_IMAP_SELECT_NONE, 0, 0, NULL, NULL,
                                 tern_test_got_result_cb, &result);
  return tern_imap_client_select_finish (client, tern_test_wait_for (&result), error);
}

static gboolean
client_noop (TernImapClient  *client,
             GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_noop_async (client, NULL, tern_test_got_result_cb, &result);
  return tern_imap_client_simple_finish (client, tern_test_wait_for (&result), error);
}

static void
client_logout (TernImapClient *client)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_imap_client_logout_async (client, NULL, tern_test_got_result_cb, &result);
  tern_imap_client_simple_finish (client, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
}

static void
collect_fetch_cb (const TernImapFetch *fetch,
                  gpointer             user_data)
{
  GPtrArray *out = user_data;
  GBytes *body = tern_imap_fetch_get_section (fetch, "");
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "uid=%u", fetch->uid);
  if (fetch->flags != NULL)
    {
      g_autofree char *flags = g_strjoinv (",", fetch->flags);

      g_string_append_printf (text, " flags=%s", flags);
    }
  if (fetch->envelope != NULL)
    g_string_append_printf (text, " subject=%s", fetch->envelope->subject);
  if (body != NULL)
    g_string_append_printf (text, " body=%.*s", (int) g_bytes_get_size (body),
                            (const char *) g_bytes_get_data (body, NULL));
  g_ptr_array_add (out, g_string_free (text, FALSE));
}

static gboolean
client_fetch (TernImapClient  *client,
              const char      *uid_set,
              const char      *items,
              GPtrArray       *out,
              GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_uid_fetch_async (client, uid_set, items, 0, FALSE, collect_fetch_cb, out,
                                    NULL, tern_test_got_result_cb, &result);
  return tern_imap_client_uid_fetch_finish (client, tern_test_wait_for (&result), NULL, error);
}

#define GREETING_PLAIN "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+ UIDPLUS " \
                       "MOVE IDLE QRESYNC CONDSTORE ENABLE] ready\r\n"

/* Greetings */

static void
test_greeting_capability_code (void)
{
  static const Step steps[] = {
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (GREETING_PLAIN, steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tern_imap_client_get_state (client), ==,
                   TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED);
  /* The greeting's code was enough: no CAPABILITY command. */
  g_assert_true (tern_imap_client_has_capability (client, "sasl-ir"));
  g_assert_true (tern_imap_client_has_capability (client, "AUTH=PLAIN"));
  g_assert_false (tern_imap_client_has_capability (client, "STARTTLS"));
  client_logout (client);
  g_assert_cmpuint (count_received (server, "CAPABILITY"), ==, 0);
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_CLOSED);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_greeting_capability_command (void)
{
  static const Step steps[] = {
    { "CAPABILITY", "* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE\r\n$T OK done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* OK ready\r\n", steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_true (tern_imap_client_has_capability (client, "IDLE"));
  g_assert_cmpstr (received_line (server, 0), ==, "T1 CAPABILITY");
  {
    g_auto(GStrv) caps = tern_imap_client_dup_capabilities (client);
    g_autofree char *joined = g_strjoinv (" ", caps);

    g_assert_cmpstr (joined, ==, "AUTH=PLAIN IDLE IMAP4REV1");
  }
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_greeting_preauth (void)
{
  static const Step steps[] = {
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi alice\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tern_imap_client_get_state (client), ==,
                   TERN_IMAP_CLIENT_STATE_AUTHENTICATED);
  g_assert_true (tern_imap_client_was_preauthenticated (client));
  client_logout (client);
  fake_server_stop (server);
}

static void
test_greeting_preauth_without_tls (void)
{
  static const Step steps[] = { { "never", "", STEP_REPLY } };
  FakeServer *server = fake_server_start ("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED);
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_CLOSED);
  g_clear_object (&client);
  fake_server_stop (server);
  /* Nothing was sent on the plain connection. */
}

static void
test_greeting_bye (void)
{
  static const Step steps[] = { { "never", "", STEP_REPLY } };
  FakeServer *server = fake_server_start ("* BYE [UNAVAILABLE] too many connections\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BYE);
  g_assert_nonnull (strstr (error->message, "too many connections"));
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_greeting_garbage (void)
{
  static const Step steps[] = { { "never", "", STEP_REPLY } };
  FakeServer *server = fake_server_start ("HTTP/1.1 400 Bad Request\r\n", steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* STARTTLS */

static void
test_starttls_missing (void)
{
  static const Step steps[] = { { "never", "", STEP_REPLY } };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED);
  g_clear_object (&client);
  fake_server_stop (server);
  /* The script's only step was never reached. */
}

static void
test_starttls_refused (void)
{
  static const Step steps[] = {
    { "STARTTLS", "$T NO [UNAVAILABLE] not today\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED);
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_starttls_injection (void)
{
  static const Step steps[] = {
    { "STARTTLS", "$T OK begin\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_false (client_connect (client, server, TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_STARTTLS_INJECTION);
  g_assert_false (tern_imap_client_has_capability (client, "AUTH=PLAIN"));
  g_clear_object (&client);
  fake_server_stop (server);
}

/* Login */

static void
test_login_sasl_ir (void)
{
  static const Step steps[] = {
    { "AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==",
      "$T OK [CAPABILITY IMAP4rev1 IDLE MOVE] logged in\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (GREETING_PLAIN, steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_true (client_login (client, "secret", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tern_imap_client_get_auth_mechanism (client), ==, "PLAIN");
  g_assert_cmpint (tern_imap_client_get_state (client), ==,
                   TERN_IMAP_CLIENT_STATE_AUTHENTICATED);
  /* The capabilities of the login's reply replace those of the greeting. */
  g_assert_true (tern_imap_client_has_capability (client, "MOVE"));
  g_assert_false (tern_imap_client_has_capability (client, "SASL-IR"));
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_login_sasl_continuation (void)
{
  static const Step steps[] = {
    { "AUTHENTICATE PLAIN", "+ \r\n", STEP_REPLY },
    { "AGFsaWNlAHNlY3JldA==", "T1 OK logged in\r\n", STEP_REPLY },
    { "CAPABILITY", "* CAPABILITY IMAP4rev1 IDLE\r\n$T OK done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_true (client_login (client, "secret", &error));
  g_assert_no_error (error);
  /* No capabilities in the reply: they were asked for again. */
  g_assert_true (tern_imap_client_has_capability (client, "IDLE"));
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_login_failure_not_retried (void)
{
  static const Step steps[] = {
    { "AUTHENTICATE PLAIN", "$T NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
      STEP_REPLY },
  };
  FakeServer *server = fake_server_start (GREETING_PLAIN, steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_false (client_login (client, "wrong", &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED);
  g_assert_nonnull (strstr (error->message, "Authentication failed"));
  g_clear_error (&error);
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_CLOSED);

  /* A second try on the same client is refused without touching the wire. */
  g_assert_false (client_login (client, "wrong", &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE);

  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_login_oauth_expired (void)
{
  static const Step steps[] = {
    { "AUTHENTICATE XOAUTH2 ", "+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n", STEP_REPLY },
    { "", "T1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR] "
                                          "ready\r\n", steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  tern_imap_client_login_oauth_async (client, "alice@example.com", "ya29.old", NULL,
                                      tern_test_got_result_cb, &result);
  g_assert_false (tern_imap_client_login_finish (client, tern_test_wait_for (&result), &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID);
  g_assert_cmpstr (tern_imap_client_get_auth_mechanism (client), ==, NULL);
  g_clear_object (&client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_login_command_literal (void)
{
  /* No SASL mechanism Tern knows, no LITERAL+: LOGIN with a synchronizing
   * literal for the password that is not ASCII. */
  static const Step steps[] = {
    { "LOGIN alice {8}\np\xc3\xa4ss\"wd", "$T OK [CAPABILITY IMAP4rev1] in\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 AUTH=GSSAPI] ready\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_true (client_login (client, "p\xc3\xa4ss\"wd", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (tern_imap_client_get_auth_mechanism (client), ==, "LOGIN-COMMAND");
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_login_disabled (void)
{
  static const Step steps[] = { { "never", "", STEP_REPLY } };
  FakeServer *server = fake_server_start ("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n",
                                          steps);
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_false (client_login (client, "secret", &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_NO_MECHANISM);
  tern_imap_client_close (client);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* A session logged in with PREAUTH, for the tests of commands. */
static TernImapClient *
preauth_session (FakeServer *server)
{
  TernImapClient *client = new_client ();
  g_autoptr(GError) error = NULL;

  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  g_assert_no_error (error);
  return client;
}

#define PREAUTH(caps) "* PREAUTH [CAPABILITY IMAP4rev1 " caps "] hi\r\n"

#define SELECT_REPLY \
  "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n" \
  "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n" \
  "* 3 EXISTS\r\n" \
  "* OK [UIDVALIDITY 1234] UIDs valid\r\n" \
  "* OK [UIDNEXT 7] next\r\n" \
  "* OK [HIGHESTMODSEQ 90] modseq\r\n" \
  "$T OK [READ-WRITE] selected\r\n"

/* Replies one byte at a time */

static void
test_one_byte_at_a_time (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_SLOW },
    { "UID FETCH 4:5 (UID FLAGS ENVELOPE BODY.PEEK[])",
      "* 1 FETCH (UID 4 FLAGS (\\Seen) ENVELOPE (\"Mon, 1 Jan 2024 10:00:00 +0000\" "
      "{5}\r\nHello NIL NIL NIL NIL NIL NIL NIL \"<a@b>\") BODY[] {8}\r\nab\r\ncd\r\n)\r\n"
      "* 2 FETCH (UID 5 FLAGS () ENVELOPE (NIL \"Second\" NIL NIL NIL NIL NIL NIL NIL NIL) "
      "BODY[] {0}\r\n)\r\n"
      "$T OK done\r\n", STEP_SLOW },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("UIDPLUS"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GPtrArray) fetched = g_ptr_array_new_with_free_func (g_free);

  selected = client_select (client, "inbox", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (selected->mailbox, ==, "INBOX");
  g_assert_cmpuint (selected->uidvalidity, ==, 1234);
  g_assert_cmpuint (selected->uidnext, ==, 7);
  g_assert_cmpuint (selected->exists, ==, 3);
  g_assert_cmpuint (selected->highestmodseq, ==, 90);
  g_assert_false (selected->read_only);
  g_assert_cmpuint (g_strv_length (selected->flags), ==, 5);
  g_assert_cmpuint (g_strv_length (selected->permanent_flags), ==, 3);
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_SELECTED);

  g_assert_true (client_fetch (client, "4:5", "(UID FLAGS ENVELOPE BODY.PEEK[])", fetched,
                               &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fetched->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (fetched, 0), ==,
                   "uid=4 flags=\\Seen subject=Hello body=ab\r\ncd\r\n");
  g_assert_cmpstr (g_ptr_array_index (fetched, 1), ==, "uid=5 flags= subject=Second body=");
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* Pipelining: the server answers only once it has all three commands, so a
 * client that waits for each reply would time out. */

static void
test_pipelined_in_order (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "NOOP", NULL, STEP_QUIET },
    { "UID SEARCH UNSEEN", NULL, STEP_QUIET },
    { "STATUS Sent (MESSAGES UIDNEXT)",
      "T2 OK noop done\r\n"
      "* SEARCH 4 6\r\nT3 OK search done\r\n"
      "* STATUS Sent (MESSAGES 12 UIDNEXT 40)\r\nT4 OK status done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GAsyncResult) noop = NULL;
  g_autoptr(GAsyncResult) search = NULL;
  g_autoptr(GAsyncResult) status = NULL;
  g_autoptr(GArray) uids = NULL;
  TernImapMailboxStatus mailbox_status;

  selected = client_select (client, "INBOX", &error);
  g_assert_no_error (error);

  tern_imap_client_noop_async (client, NULL, tern_test_got_result_cb, &noop);
  tern_imap_client_uid_search_async (client, "UNSEEN", NULL, tern_test_got_result_cb, &search);
  tern_imap_client_status_async (client, "Sent",
                                 TERN_IMAP_STATUS_MESSAGES | TERN_IMAP_STATUS_UIDNEXT, NULL,
                                 tern_test_got_result_cb, &status);

  g_assert_true (tern_imap_client_status_finish (client, tern_test_wait_for (&status),
                                                 &mailbox_status, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (mailbox_status.messages, ==, 12);
  g_assert_cmpuint (mailbox_status.uidnext, ==, 40);
  g_assert_true (tern_imap_client_simple_finish (client, tern_test_wait_for (&noop), &error));
  uids = tern_imap_client_uid_search_finish (client, tern_test_wait_for (&search), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 2);
  g_assert_cmpuint (g_array_index (uids, guint32, 0), ==, 4);
  g_assert_cmpuint (g_array_index (uids, guint32, 1), ==, 6);

  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* Unsolicited responses */

typedef struct
{
  GString *log;
} Events;

static void
exists_cb (TernImapClient *client,
           guint           count,
           Events         *events)
{
  g_string_append_printf (events->log, "exists %u;", count);
}

static void
expunge_cb (TernImapClient *client,
            guint           seq,
            Events         *events)
{
  g_string_append_printf (events->log, "expunge %u;", seq);
}

static void
vanished_cb (TernImapClient *client,
             GArray         *ranges,
             Events         *events)
{
  g_autofree char *set = tern_imap_uid_set_to_string (ranges);

  g_string_append_printf (events->log, "vanished %s;", set);
}

static void
fetch_cb (TernImapClient      *client,
          const TernImapFetch *fetch,
          Events              *events)
{
  g_autofree char *flags = g_strjoinv (",", fetch->flags);

  g_string_append_printf (events->log, "fetch %u uid %u %s;", fetch->seq, fetch->uid, flags);
}

static void
alert_cb (TernImapClient *client,
          const char     *text,
          Events         *events)
{
  g_string_append_printf (events->log, "alert %s;", text);
}

static void
bye_cb (TernImapClient *client,
        const char     *text,
        Events         *events)
{
  g_string_append_printf (events->log, "bye %s;", text);
}

static void
connect_events (TernImapClient *client,
                Events         *events)
{
  g_signal_connect (client, "exists", G_CALLBACK (exists_cb), events);
  g_signal_connect (client, "expunge", G_CALLBACK (expunge_cb), events);
  g_signal_connect (client, "vanished", G_CALLBACK (vanished_cb), events);
  g_signal_connect (client, "fetch", G_CALLBACK (fetch_cb), events);
  g_signal_connect (client, "alert", G_CALLBACK (alert_cb), events);
  g_signal_connect (client, "bye", G_CALLBACK (bye_cb), events);
}

static void
test_unsolicited_reach_signals (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "NOOP",
      "* 5 EXISTS\r\n* 3 EXPUNGE\r\n* 2 FETCH (FLAGS (\\Seen \\Flagged))\r\n"
      "* VANISHED 40:42,44\r\n* OK [ALERT] Disk almost full\r\n$T OK done\r\n", STEP_REPLY },
    { "UID FETCH 1:* (UID FLAGS)",
      "* 1 FETCH (UID 10 FLAGS ())\r\n* 4 EXISTS\r\n* 2 FETCH (FLAGS (\\Deleted))\r\n"
      "* 2 FETCH (UID 11 FLAGS (\\Seen))\r\n$T OK done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GPtrArray) fetched = g_ptr_array_new_with_free_func (g_free);
  Events events = { g_string_new (NULL) };

  connect_events (client, &events);
  selected = client_select (client, "INBOX", &error);
  g_assert_no_error (error);
  /* What came with SELECT belongs to the select. */
  g_assert_cmpstr (events.log->str, ==, "");

  g_assert_true (client_noop (client, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (events.log->str, ==,
                   "exists 5;expunge 3;fetch 2 uid 0 \\Seen,\\Flagged;vanished 40:42,44;"
                   "alert Disk almost full;");
  g_string_truncate (events.log, 0);

  /* During a fetch, FETCH responses with a UID are the fetch's; the others
   * are changes made elsewhere. */
  g_assert_true (client_fetch (client, "1:*", "(UID FLAGS)", fetched, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fetched->len, ==, 2);
  g_assert_cmpstr (events.log->str, ==, "exists 4;fetch 2 uid 0 \\Deleted;");
  g_string_truncate (events.log, 0);

  client_logout (client);
  g_assert_cmpstr (events.log->str, ==, "bye bye;");
  g_string_free (events.log, TRUE);
  fake_server_stop (server);
}

/* BYE and garbage */

static void
test_bye_mid_command (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", "* 3 EXISTS\r\n* BYE Server shutting down\r\n", STEP_REPLY_DROP },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  Events events = { g_string_new (NULL) };

  connect_events (client, &events);
  selected = client_select (client, "INBOX", &error);
  g_assert_null (selected);
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BYE);
  g_assert_nonnull (strstr (error->message, "shutting down"));
  g_assert_cmpstr (events.log->str, ==, "bye Server shutting down;");
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_CLOSED);
  g_string_free (events.log, TRUE);
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_garbage_line (void)
{
  static const Step steps[] = {
    { "NOOP", "* 3 EXISTS\r\n)))garbage(((\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) second = NULL;

  /* A second command waiting behind the first fails with it. */
  g_assert_false (client_noop (client, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE);
  g_clear_error (&error);
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_CLOSED);
  g_assert_false (client_noop (client, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE);
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_unknown_tag (void)
{
  static const Step steps[] = {
    { "NOOP", "X99 OK not yours\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;

  g_assert_false (client_noop (client, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE);
  g_clear_object (&client);
  fake_server_stop (server);
}

static void
test_literal_too_big (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID FETCH 4 (UID BODY.PEEK[])", "* 1 FETCH (UID 4 BODY[] {2000}\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = NULL;

  tern_imap_client_set_max_literal (client, 1000);
  selected = client_select (client, "INBOX", &error);
  g_assert_no_error (error);
  tern_imap_client_fetch_body_async (client, 4, NULL, NULL, tern_test_got_result_cb, &result);
  body = tern_imap_client_fetch_body_finish (client, tern_test_wait_for (&result), &error);
  g_assert_null (body);
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_TOO_BIG);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* A body streamed to a GOutputStream: larger than the literal limit and
 * than one piece, and then one arriving a byte at a time. */

static void
test_body_to_stream (void)
{
  g_autofree char *big = NULL;
  g_autofree char *reply = NULL;
  Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID FETCH 4 (UID BODY.PEEK[])", NULL, STEP_REPLY },
    { "UID FETCH 5 (UID BODY.PEEK[1])",
      "* 2 FETCH (UID 5 BODY[1] {10}\r\nhello\r\nbye FLAGS (\\Seen))\r\n$T OK done\r\n",
      STEP_SLOW },
    { "NOOP", "$T OK fine\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server;
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GOutputStream) first = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) second = g_memory_output_stream_new_resizable ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  guint64 size = 0;
  GString *body = g_string_new (NULL);

  /* 300 kB of lines, with a "}" and CRLF inside. */
  while (body->len < 300 * 1000)
    g_string_append_printf (body, "line %" G_GSIZE_FORMAT " {brace}\r\n", body->len);
  big = g_string_free (body, FALSE);
  reply = g_strdup_printf ("* 1 FETCH (UID 4 BODY[] {%" G_GSIZE_FORMAT "}\r\n%s)\r\n"
                           "$T OK done\r\n", strlen (big), big);
  steps[1].reply = reply;
  server = fake_server_start (PREAUTH (""), steps);
  client = preauth_session (server);
  tern_imap_client_set_max_literal (client, 1000);
  selected = client_select (client, "INBOX", &error);
  g_assert_no_error (error);

  tern_imap_client_fetch_body_to_stream_async (client, 4, NULL, first, NULL,
                                               tern_test_got_result_cb, &result);
  g_assert_true (tern_imap_client_fetch_body_to_stream_finish (client,
                                                               tern_test_wait_for (&result),
                                                               &size, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, strlen (big));
  g_assert_cmpmem (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (first)),
                   g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (first)),
                   big, strlen (big));

  tern_imap_client_fetch_body_to_stream_async (client, 5, "1", second, NULL,
                                               tern_test_got_result_cb, &result2);
  g_assert_true (tern_imap_client_fetch_body_to_stream_finish (client,
                                                               tern_test_wait_for (&result2),
                                                               &size, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, 10);
  g_assert_cmpmem (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (second)), 10,
                   "hello\r\nbye", 10);

  /* The session goes on after the streamed literals. */
  g_assert_true (client_noop (client, &error));
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* A drop at every step of login, select and fetch */

static const Step session_steps[] = {
  { "AUTHENTICATE PLAIN", "$T OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n", STEP_REPLY },
  { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
  { "UID FETCH 1:* (UID FLAGS BODY.PEEK[])",
    "* 1 FETCH (UID 4 FLAGS () BODY[] {10}\r\n0123456789)\r\n"
    "* 2 FETCH (UID 5 FLAGS () BODY[] {10}\r\n0123456789)\r\n$T OK done\r\n", STEP_REPLY },
  { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
};

/* Runs login, select and fetch; returns how far it got without error. */
static guint
run_session (FakeServer  *server,
             GError     **error)
{
  g_autoptr(TernImapClient) client = new_client ();
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GPtrArray) fetched = g_ptr_array_new_with_free_func (g_free);

  if (!client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, error))
    return 0;
  if (!client_login (client, "secret", error))
    return 1;
  selected = client_select (client, "INBOX", error);
  if (selected == NULL)
    return 2;
  if (!client_fetch (client, "1:*", "(UID FLAGS BODY.PEEK[])", fetched, error))
    return 3;
  g_assert_cmpuint (fetched->len, ==, 2);
  client_logout (client);
  return 4;
}

static void
test_drop_at_every_step (void)
{
  for (guint drop = 1; drop <= G_N_ELEMENTS (session_steps); drop++)
    {
      FakeServer *server = fake_server_start_full (GREETING_PLAIN, session_steps,
                                                   G_N_ELEMENTS (session_steps), drop);
      g_autoptr(GError) error = NULL;
      guint reached = run_session (server, &error);

      g_test_message ("dropped after line %u: reached step %u: %s", drop, reached,
                      error != NULL ? error->message : "no error");
      if (drop < G_N_ELEMENTS (session_steps))
        {
          g_assert_cmpuint (reached, ==, drop);
          g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
        }
      else
        {
          /* A drop after LOGOUT is what LOGOUT leads to anyway. */
          g_assert_cmpuint (reached, ==, 4);
        }
      fake_server_stop (server);
    }
}

static void
test_drop_inside_literal (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID FETCH 1:* (UID FLAGS BODY.PEEK[])", "* 1 FETCH (UID 4 FLAGS () BODY[] {100}\r\n0123",
      STEP_REPLY_DROP },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GPtrArray) fetched = g_ptr_array_new_with_free_func (g_free);

  selected = client_select (client, "INBOX", &error);
  g_assert_no_error (error);
  g_assert_false (client_fetch (client, "1:*", "(UID FLAGS BODY.PEEK[])", fetched, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED);
  g_assert_cmpuint (fetched->len, ==, 0);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* Moves */

static TernImapCopyResult *
client_move (TernImapClient  *client,
             const char      *uid_set,
             const char      *destination,
             GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_uid_move_async (client, uid_set, destination, NULL,
                                   tern_test_got_result_cb, &result);
  return tern_imap_client_copy_finish (client, tern_test_wait_for (&result), error);
}

static void
test_move_with_move (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID MOVE 4:5 Trash",
      "* OK [COPYUID 77 4:5 100:101] moved\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n$T OK done\r\n",
      STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("MOVE UIDPLUS"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(TernImapCopyResult) moved = NULL;
  g_autofree char *dest = NULL;
  Events events = { g_string_new (NULL) };

  connect_events (client, &events);
  selected = client_select (client, "INBOX", &error);
  moved = client_move (client, "4:5", "Trash", &error);
  g_assert_no_error (error);
  g_assert_true (moved->source_expunged);
  g_assert_cmpuint (moved->uidvalidity, ==, 77);
  dest = tern_imap_uid_set_to_string (moved->dest_uids);
  g_assert_cmpstr (dest, ==, "100:101");
  g_assert_cmpstr (events.log->str, ==, "expunge 1;expunge 1;");
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  g_string_free (events.log, TRUE);
  fake_server_stop (server);
}

static void
test_move_fallback_uidplus (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID COPY 4:6 Trash", "$T OK [COPYUID 77 4:6 100:102] copied\r\n", STEP_REPLY },
    { "UID STORE 4:6 +FLAGS.SILENT (\\Deleted)", "$T OK stored\r\n", STEP_REPLY },
    { "UID EXPUNGE 4:6", "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n$T OK done\r\n",
      STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("UIDPLUS"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(TernImapCopyResult) moved = NULL;

  selected = client_select (client, "INBOX", &error);
  moved = client_move (client, "4:6", "Trash", &error);
  g_assert_no_error (error);
  g_assert_true (moved->source_expunged);
  g_assert_cmpuint (moved->uidvalidity, ==, 77);
  client_logout (client);

  /* Exactly those UIDs, in that order, and never a bare EXPUNGE. */
  g_assert_cmpstr (received_line (server, 1), ==, "T2 UID COPY 4:6 Trash");
  g_assert_cmpstr (received_line (server, 2), ==, "T3 UID STORE 4:6 +FLAGS.SILENT (\\Deleted)");
  g_assert_cmpstr (received_line (server, 3), ==, "T4 UID EXPUNGE 4:6");
  g_assert_cmpuint (count_received (server, " EXPUNGE"), ==, 1);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_move_fallback_without_uidplus (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID COPY 4 Trash", "$T OK copied\r\n", STEP_REPLY },
    { "UID STORE 4 +FLAGS.SILENT (\\Deleted)", "$T OK stored\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(TernImapCopyResult) moved = NULL;
  g_autoptr(GAsyncResult) expunged = NULL;

  selected = client_select (client, "INBOX", &error);
  moved = client_move (client, "4", "Trash", &error);
  g_assert_no_error (error);
  /* Only marked deleted: the caller is told. */
  g_assert_false (moved->source_expunged);
  g_assert_null (moved->dest_uids);

  tern_imap_client_uid_expunge_async (client, "4", NULL, tern_test_got_result_cb, &expunged);
  g_assert_false (tern_imap_client_simple_finish (client, tern_test_wait_for (&expunged),
                                                  &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_UNSUPPORTED);

  client_logout (client);
  g_assert_cmpuint (count_received (server, "EXPUNGE"), ==, 0);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* APPEND */

static gboolean
client_append (TernImapClient  *client,
               const char      *mailbox,
               const char      *text,
               guint32         *out_uid,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));
  g_autoptr(GDateTime) date = g_date_time_new_utc (2024, 3, 5, 9, 8, 7);
  static const char * const flags[] = { "\\Seen", "$Forwarded", NULL };

  tern_imap_client_append_async (client, mailbox, flags, date, message, NULL,
                                 tern_test_got_result_cb, &result);
  return tern_imap_client_append_finish (client, tern_test_wait_for (&result), NULL, out_uid,
                                         error);
}

static void
test_append_limit_before_upload (void)
{
  static const Step steps[] = {
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("APPENDLIMIT=100 LITERAL+"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autofree char *big = g_strnfill (200, 'x');

  g_assert_cmpuint (tern_imap_client_get_append_limit (client), ==, 100);
  g_assert_false (client_append (client, "Drafts", big, NULL, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_TOO_BIG);
  client_logout (client);
  g_assert_cmpuint (count_received (server, "APPEND"), ==, 0);
  fake_server_stop (server);
}

static void
test_append_literal_plus (void)
{
  static const Step steps[] = {
    { "APPEND Drafts (\\Seen $Forwarded) \"05-Mar-2024 09:08:07 +0000\" {9+}\nSubject:x",
      "$T OK [APPENDUID 55 812] appended\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("LITERAL+ UIDPLUS"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  guint32 uid = 0;

  g_assert_true (client_append (client, "Drafts", "Subject:x", &uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uid, ==, 812);
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_append_sync_literal_refused (void)
{
  /* No LITERAL+: the server refuses the literal instead of sending "+";
   * the message is never sent, and the session goes on. */
  static const Step steps[] = {
    { "APPEND Drafts", "$T NO [OVERQUOTA] no room\r\n", STEP_REFUSE_LITERAL },
    { "NOOP", "$T OK fine\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  g_autofree char *greeting = g_strdup (PREAUTH (""));
  FakeServer *server;
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GError) error = NULL;

  server = fake_server_start_full (greeting, steps, G_N_ELEMENTS (steps), 0);
  client = preauth_session (server);
  g_assert_false (client_append (client, "Drafts", "Subject:x", NULL, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_NO);
  g_assert_nonnull (strstr (error->message, "OVERQUOTA"));
  g_clear_error (&error);
  g_assert_true (client_noop (client, &error));
  g_assert_no_error (error);
  client_logout (client);
  fake_server_stop (server);
}

/* IDLE */

static gboolean
is_idling_cb (gpointer user_data)
{
  return tern_imap_client_is_idling (user_data);
}

static void
wait_until (GSourceFunc condition,
            gpointer    data)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!condition (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
test_idle_events (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "IDLE", "+ idling\r\n* 4 EXISTS\r\n* 2 FETCH (FLAGS (\\Seen))\r\n", STEP_REPLY },
    { "DONE", "* 1 EXPUNGE\r\nT2 OK idle done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("IDLE"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GAsyncResult) idle = NULL;
  g_autoptr(GAsyncResult) refused = NULL;
  Events events = { g_string_new (NULL) };

  connect_events (client, &events);
  selected = client_select (client, "INBOX", &error);
  tern_imap_client_idle_async (client, NULL, tern_test_got_result_cb, &idle);
  wait_until (is_idling_cb, client);

  /* Other commands wait for the end of IDLE: they are refused. */
  tern_imap_client_noop_async (client, NULL, tern_test_got_result_cb, &refused);
  g_assert_false (tern_imap_client_simple_finish (client, tern_test_wait_for (&refused),
                                                  &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE);
  g_clear_error (&error);

  while (strstr (events.log->str, "fetch") == NULL)
    g_main_context_iteration (NULL, TRUE);
  tern_imap_client_idle_done (client);
  g_assert_true (tern_imap_client_simple_finish (client, tern_test_wait_for (&idle), &error));
  g_assert_no_error (error);
  g_assert_false (tern_imap_client_is_idling (client));
  g_assert_cmpstr (events.log->str, ==, "exists 4;fetch 2 uid 0 \\Seen;expunge 1;");
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  g_string_free (events.log, TRUE);
  fake_server_stop (server);
}

/* LIST with special use, and the fallback */

static GPtrArray *
client_list (TernImapClient      *client,
             TernImapStatusItems  items,
             GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_list_async (client, "", "*", items, NULL, tern_test_got_result_cb, &result);
  return tern_imap_client_list_finish (client, tern_test_wait_for (&result), error);
}

static TernImapMailbox *
find_mailbox (GPtrArray  *mailboxes,
              const char *name)
{
  for (guint i = 0; i < mailboxes->len; i++)
    {
      TernImapMailbox *mailbox = g_ptr_array_index (mailboxes, i);

      if (g_str_equal (mailbox->name, name))
        return mailbox;
    }
  return NULL;
}

static void
test_list_extended (void)
{
  static const Step steps[] = {
    { "LIST \"\" \"*\" RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UIDNEXT))",
      "* LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX\r\n"
      "* STATUS INBOX (MESSAGES 3 UIDNEXT 9)\r\n"
      "* LIST (\\HasNoChildren \\Sent \\Subscribed) \"/\" \"Sent Items\"\r\n"
      "* LIST (\\HasNoChildren \\Trash) \"/\" Bin\r\n"
      "* LIST (\\HasChildren \\Noselect) \"/\" &AOQ-rger\r\n"
      "* LIST (\\HasNoChildren) \"/\" \"&AOQ-rger/Bl&AOQ-h\"\r\n"
      "$T OK done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("LIST-EXTENDED SPECIAL-USE LIST-STATUS"),
                                          steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  TernImapMailbox *mailbox;

  mailboxes = client_list (client, TERN_IMAP_STATUS_MESSAGES | TERN_IMAP_STATUS_UIDNEXT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mailboxes->len, ==, 5);
  mailbox = find_mailbox (mailboxes, "INBOX");
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_INBOX);
  g_assert_true (mailbox->has_status);
  g_assert_cmpuint (mailbox->status.messages, ==, 3);
  g_assert_cmpuint (mailbox->status.uidnext, ==, 9);
  g_assert_true (mailbox->attributes & TERN_IMAP_MAILBOX_SUBSCRIBED);
  mailbox = find_mailbox (mailboxes, "Sent Items");
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_SENT);
  mailbox = find_mailbox (mailboxes, "Bin");
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_TRASH);
  g_assert_false (mailbox->attributes & TERN_IMAP_MAILBOX_SUBSCRIBED);
  mailbox = find_mailbox (mailboxes, "\xc3\xa4rger");
  g_assert_nonnull (mailbox);
  g_assert_true (mailbox->attributes & TERN_IMAP_MAILBOX_NOSELECT);
  g_assert_cmpint (mailbox->delimiter, ==, '/');
  g_assert_nonnull (find_mailbox (mailboxes, "\xc3\xa4rger/Bl\xc3\xa4h"));
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

static void
test_list_fallback (void)
{
  static const Step steps[] = {
    { "LIST \"\" \"*\"",
      "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
      "* LIST (\\HasNoChildren) \".\" INBOX.Sent\r\n"
      "* LIST (\\HasNoChildren) \".\" Spam\r\n"
      "$T OK done\r\n", STEP_REPLY },
    { "LSUB \"\" \"*\"", "* LSUB () \".\" Spam\r\n$T OK done\r\n", STEP_REPLY },
    { "STATUS INBOX (MESSAGES)", "* STATUS INBOX (MESSAGES 2)\r\n$T OK done\r\n", STEP_REPLY },
    { "STATUS INBOX.Sent (MESSAGES)", "* STATUS INBOX.Sent (MESSAGES 5)\r\n$T OK done\r\n",
      STEP_REPLY },
    { "STATUS Spam (MESSAGES)", "* STATUS Spam (MESSAGES 0)\r\n$T OK done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  TernImapMailbox *mailbox;

  mailboxes = client_list (client, TERN_IMAP_STATUS_MESSAGES, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mailboxes->len, ==, 3);
  mailbox = find_mailbox (mailboxes, "INBOX.Sent");
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_SENT);
  g_assert_cmpuint (mailbox->status.messages, ==, 5);
  mailbox = find_mailbox (mailboxes, "Spam");
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_JUNK);
  g_assert_true (mailbox->attributes & TERN_IMAP_MAILBOX_SUBSCRIBED);
  g_assert_true (mailbox->has_status);
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* QRESYNC select */

static void
test_select_qresync (void)
{
  static const Step steps[] = {
    { "ENABLE QRESYNC", "* ENABLED QRESYNC\r\n$T OK enabled\r\n", STEP_REPLY },
    { "SELECT INBOX (QRESYNC (1234 80 1:20))",
      "* 3 EXISTS\r\n* OK [UIDVALIDITY 1234] ok\r\n* OK [HIGHESTMODSEQ 90] ok\r\n"
      "* VANISHED (EARLIER) 2:4,9\r\n* 1 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (85))\r\n"
      "$T OK [READ-WRITE] selected\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("ENABLE QRESYNC CONDSTORE"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) enabled = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autofree char *vanished = NULL;
  static const char * const extensions[] = { "QRESYNC", "UTF8=ACCEPT", NULL };
  TernImapFetch *changed;

  tern_imap_client_enable_async (client, extensions, NULL, tern_test_got_result_cb, &enabled);
  g_assert_true (tern_imap_client_simple_finish (client, tern_test_wait_for (&enabled),
                                                 &error));
  g_assert_true (tern_imap_client_is_enabled (client, "qresync"));
  g_assert_false (tern_imap_client_is_enabled (client, "UTF8=ACCEPT"));

  tern_imap_client_select_async (client, "INBOX", TERN_IMAP_SELECT_CONDSTORE, 1234, 80, "1:20",
                                 NULL, tern_test_got_result_cb, &result);
  selected = tern_imap_client_select_finish (client, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  vanished = tern_imap_uid_set_to_string (selected->vanished);
  g_assert_cmpstr (vanished, ==, "2:4,9");
  g_assert_cmpuint (selected->changed->len, ==, 1);
  changed = g_ptr_array_index (selected->changed, 0);
  g_assert_cmpuint (changed->uid, ==, 5);
  g_assert_cmpuint (changed->modseq, ==, 85);
  g_assert_true (tern_imap_fetch_has_flag (changed, "\\seen"));
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* A server that stops answering: the read times out. */

static void
test_silent_server_times_out (void)
{
  static const Step steps[] = {
    { "NOOP", NULL, STEP_QUIET },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  tern_connection_set_io_timeout (connection, 300);
  client = tern_imap_client_new (connection);
  g_assert_true (client_connect (client, server, TERN_CONNECTION_SECURITY_NONE, &error));
  start = g_get_monotonic_time ();
  g_assert_false (client_noop (client, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_CLOSED);
  g_clear_object (&client);
  fake_server_stop (server);
}

/* Cancelling a command returns at once; its reply is still read and
 * dropped, and the session goes on. */

static void
cancel_soon_cb (const TernImapFetch *fetch,
                gpointer             user_data)
{
  GPtrArray *seen = user_data;

  g_ptr_array_add (seen, g_strdup_printf ("%u", fetch->uid));
}

static void
test_cancelled_fetch (void)
{
  static const Step steps[] = {
    { "SELECT INBOX", SELECT_REPLY, STEP_REPLY },
    { "UID FETCH 1:* (UID FLAGS)", NULL, STEP_QUIET },
    { "NOOP", "* 1 FETCH (UID 4 FLAGS ())\r\nT2 OK fetch done\r\n$T OK noop done\r\n",
      STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH (""), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) fetched = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  Events events = { g_string_new (NULL) };

  connect_events (client, &events);
  selected = client_select (client, "INBOX", &error);
  tern_imap_client_uid_fetch_async (client, "1:*", "(UID FLAGS)", 0, FALSE, cancel_soon_cb, seen,
                                    cancellable, tern_test_got_result_cb, &fetched);
  g_cancellable_cancel (cancellable);
  g_assert_false (tern_imap_client_uid_fetch_finish (client, tern_test_wait_for (&fetched), NULL,
                                                     &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_true (client_noop (client, &error));
  g_assert_no_error (error);
  /* The late FETCH went nowhere: not to the cancelled caller, not to the
   * signals as a change made elsewhere. */
  g_assert_cmpuint (seen->len, ==, 0);
  g_assert_cmpstr (events.log->str, ==, "");
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  g_string_free (events.log, TRUE);
  fake_server_stop (server);
}

/* A SELECT cancelled while it waits behind another command is never sent,
 * and leaves no mailbox selected. */

static void
test_cancelled_select_not_sent (void)
{
  static const Step steps[] = {
    { "LIST", NULL, STEP_QUIET },
    { "NOOP", "T1 OK list done\r\n$T OK noop done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("LIST-EXTENDED"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GAsyncResult) selected = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(TernImapSelected) none = NULL;
  g_autoptr(GPtrArray) fetched = g_ptr_array_new_with_free_func (g_free);

  tern_imap_client_list_async (client, "", "*", 0, NULL, tern_test_got_result_cb, &listed);
  tern_imap_client_select_async (client, "INBOX", TERN_IMAP_SELECT_NONE, 0, 0, NULL,
                                 cancellable, tern_test_got_result_cb, &selected);
  g_cancellable_cancel (cancellable);
  none = tern_imap_client_select_finish (client, tern_test_wait_for (&selected), &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_true (client_noop (client, &error));
  mailboxes = tern_imap_client_list_finish (client, tern_test_wait_for (&listed), &error);
  g_assert_no_error (error);
  g_assert_false (client_fetch (client, "1:*", "(UID)", fetched, &error));
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE);
  client_logout (client);
  g_assert_cmpuint (count_received (server, "SELECT"), ==, 0);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* UTF8=ACCEPT: names go and come in UTF-8 rather than modified UTF-7. */

static void
test_utf8_accept (void)
{
  static const Step steps[] = {
    { "ENABLE UTF8=ACCEPT", "* ENABLED UTF8=ACCEPT\r\n$T OK enabled\r\n", STEP_REPLY },
    { "CREATE \"Bl\xc3\xa4h\"", "$T OK created\r\n", STEP_REPLY },
    { "LIST \"\" \"*\"",
      "* LIST () \"/\" \"Bl\xc3\xa4h\"\r\n* LIST () \"/\" \"&AOQ-\"\r\n$T OK done\r\n",
      STEP_REPLY },
    { "LSUB", "$T OK done\r\n", STEP_REPLY },
    { "LOGOUT", "* BYE bye\r\n$T OK done\r\n", STEP_REPLY },
  };
  FakeServer *server = fake_server_start (PREAUTH ("ENABLE UTF8=ACCEPT"), steps);
  g_autoptr(TernImapClient) client = preauth_session (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) enabled = NULL;
  g_autoptr(GAsyncResult) created = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  static const char * const extensions[] = { "UTF8=ACCEPT", NULL };

  tern_imap_client_enable_async (client, extensions, NULL, tern_test_got_result_cb, &enabled);
  g_assert_true (tern_imap_client_simple_finish (client, tern_test_wait_for (&enabled),
                                                 &error));
  g_assert_true (tern_imap_client_is_enabled (client, "UTF8=ACCEPT"));
  tern_imap_client_create_async (client, "Bl\xc3\xa4h", NULL, tern_test_got_result_cb,
                                 &created);
  g_assert_true (tern_imap_client_simple_finish (client, tern_test_wait_for (&created),
                                                 &error));
  g_assert_no_error (error);
  mailboxes = client_list (client, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mailboxes->len, ==, 2);
  g_assert_nonnull (find_mailbox (mailboxes, "Bl\xc3\xa4h"));
  /* Taken as it is: no modified UTF-7 decoding once UTF-8 is on. */
  g_assert_nonnull (find_mailbox (mailboxes, "&AOQ-"));
  client_logout (client);
  g_assert_cmpuint (server->mismatches, ==, 0);
  fake_server_stop (server);
}

/* UID sets */

static void
test_uid_sets (void)
{
  static const guint32 uids[] = { 9, 3, 4, 5, 12, 0, 10, 4 };
  g_autofree char *set = tern_imap_uid_set_from_uids (uids, G_N_ELEMENTS (uids));
  g_autoptr(GArray) ranges = tern_imap_uid_set_parse (set, NULL);
  g_autoptr(GArray) big = tern_imap_uid_set_parse ("1:4294967295", NULL);
  g_autoptr(GError) error = NULL;
  static const char * const bad[] = { "", "1:*", "0", "1,,2", "a", "4294967296", "1:", "2," };

  g_assert_cmpstr (set, ==, "3:5,9:10,12");
  g_assert_cmpuint (tern_imap_uid_set_count (ranges), ==, 6);
  g_assert_true (tern_imap_uid_set_contains (ranges, 10));
  g_assert_false (tern_imap_uid_set_contains (ranges, 11));
  /* A huge range costs one entry. */
  g_assert_cmpuint (big->len, ==, 1);
  g_assert_cmpuint (tern_imap_uid_set_count (big), ==, G_MAXUINT32);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GArray) none = tern_imap_uid_set_parse (bad[i], &error);

      g_assert_null (none);
      g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap/fake/greeting/capability-in-code", test_greeting_capability_code);
  g_test_add_func ("/imap/fake/greeting/capability-by-command",
                   test_greeting_capability_command);
  g_test_add_func ("/imap/fake/greeting/preauth", test_greeting_preauth);
  g_test_add_func ("/imap/fake/greeting/preauth-before-tls-ends-the-connection",
                   test_greeting_preauth_without_tls);
  g_test_add_func ("/imap/fake/greeting/bye", test_greeting_bye);
  g_test_add_func ("/imap/fake/greeting/garbage", test_greeting_garbage);
  g_test_add_func ("/imap/fake/starttls/missing-ends-the-connection", test_starttls_missing);
  g_test_add_func ("/imap/fake/starttls/refused-ends-the-connection", test_starttls_refused);
  g_test_add_func ("/imap/fake/starttls/rejects-bytes-after-ok", test_starttls_injection);
  g_test_add_func ("/imap/fake/login/sasl-ir", test_login_sasl_ir);
  g_test_add_func ("/imap/fake/login/sasl-continuation", test_login_sasl_continuation);
  g_test_add_func ("/imap/fake/login/failure-reported-once-not-retried",
                   test_login_failure_not_retried);
  g_test_add_func ("/imap/fake/login/login-command-with-literal", test_login_command_literal);
  g_test_add_func ("/imap/fake/login/oauth-token-expired", test_login_oauth_expired);
  g_test_add_func ("/imap/fake/login/logindisabled-means-no-mechanism", test_login_disabled);
  g_test_add_func ("/imap/fake/response/one-byte-at-a-time", test_one_byte_at_a_time);
  g_test_add_func ("/imap/fake/pipeline/answered-in-order", test_pipelined_in_order);
  g_test_add_func ("/imap/fake/unsolicited/reach-the-signals", test_unsolicited_reach_signals);
  g_test_add_func ("/imap/fake/bye-mid-command", test_bye_mid_command);
  g_test_add_func ("/imap/fake/garbage-line-ends-the-session", test_garbage_line);
  g_test_add_func ("/imap/fake/unknown-tag-ends-the-session", test_unknown_tag);
  g_test_add_func ("/imap/fake/literal/too-big-ends-the-session", test_literal_too_big);
  g_test_add_func ("/imap/fake/drop/at-every-step-of-login-select-fetch",
                   test_drop_at_every_step);
  g_test_add_func ("/imap/fake/drop/inside-a-literal", test_drop_inside_literal);
  g_test_add_func ("/imap/fake/body-to-stream", test_body_to_stream);
  g_test_add_func ("/imap/fake/move/with-move", test_move_with_move);
  g_test_add_func ("/imap/fake/move/fallback-copy-store-uid-expunge",
                   test_move_fallback_uidplus);
  g_test_add_func ("/imap/fake/move/fallback-without-uidplus-never-expunges",
                   test_move_fallback_without_uidplus);
  g_test_add_func ("/imap/fake/append/limit-refused-before-upload",
                   test_append_limit_before_upload);
  g_test_add_func ("/imap/fake/append/literal-plus", test_append_literal_plus);
  g_test_add_func ("/imap/fake/append/synchronizing-literal-refused",
                   test_append_sync_literal_refused);
  g_test_add_func ("/imap/fake/idle/events-and-done", test_idle_events);
  g_test_add_func ("/imap/fake/list/extended-with-special-use-and-status", test_list_extended);
  g_test_add_func ("/imap/fake/list/fallback-list-lsub-status", test_list_fallback);
  g_test_add_func ("/imap/fake/select/qresync", test_select_qresync);
  g_test_add_func ("/imap/fake/utf8-accept-names", test_utf8_accept);
  g_test_add_func ("/imap/fake/silent-server-times-out", test_silent_server_times_out);
  g_test_add_func ("/imap/fake/cancelled-fetch-returns-at-once", test_cancelled_fetch);
  g_test_add_func ("/imap/fake/cancelled-select-is-never-sent", test_cancelled_select_not_sent);
  g_test_add_func ("/imap/fake/uid-sets", test_uid_sets);

  return g_test_run ();
}
