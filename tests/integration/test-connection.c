/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernConnection against the real Dovecot and Postfix of tests/servers/:
 * implicit TLS, STARTTLS on IMAP and submission, TCP_NODELAY, and the
 * certificate policy (refused without the set's CA, accepted when pinned,
 * refused when the pin is wrong). */

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tern-connection.h"
#include "tern-test-servers.h"

#define MAX_LINE 8192
#define WAIT_SECONDS 20

static void
got_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static gboolean
timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (*slot == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_nonnull (*slot);
  return *slot;
}

static gboolean
connect_to (TernConnection          *connection,
            const char              *host,
            guint16                  port,
            TernConnectionSecurity   security,
            GError                 **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_connection_connect_async (connection, host, port, security, NULL, got_result_cb,
                                 &result);
  return tern_connection_connect_finish (connection, wait_for (&result), error);
}

static TernConnection *
new_connection (TernTestServers *servers)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  tern_connection_set_tls_database (connection, database);
  tern_connection_set_connect_timeout (connection, 10 * 1000);
  tern_connection_set_io_timeout (connection, 10 * 1000);
  return g_steal_pointer (&connection);
}

static char *
read_line (TernConnection *connection)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *line;

  tern_connection_read_line_async (connection, MAX_LINE, NULL, got_result_cb, &result);
  line = tern_connection_read_line_finish (connection, wait_for (&result), NULL, &error);
  g_assert_no_error (error);
  return line;
}

/* Reads lines up to and including the first that starts with @prefix, and
 * returns them all, joined by newlines. */
static char *
read_until (TernConnection *connection,
            const char     *prefix)
{
  GString *text = g_string_new (NULL);

  for (;;)
    {
      g_autofree char *line = read_line (connection);

      g_string_append (text, line);
      g_string_append_c (text, '\n');
      if (g_str_has_prefix (line, prefix))
        break;
    }
  return g_string_free (text, FALSE);
}

static void
write_text (TernConnection *connection,
            const char     *text)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr(GError) error = NULL;

  tern_connection_write_async (connection, bytes, NULL, got_result_cb, &result);
  tern_connection_write_finish (connection, wait_for (&result), &error);
  g_assert_no_error (error);
}

static void
start_tls (TernConnection *connection)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_connection_starttls_async (connection, NULL, got_result_cb, &result);
  tern_connection_starttls_finish (connection, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_encrypted (connection));
}

static void
assert_nodelay (TernConnection *connection)
{
  g_autoptr(GError) error = NULL;
  gint nodelay = 0;

  g_assert_true (g_socket_get_option (tern_connection_get_socket (connection),
                                      IPPROTO_TCP, TCP_NODELAY, &nodelay, &error));
  g_assert_no_error (error);
  g_assert_cmpint (nodelay, !=, 0);
}

static void
check_implicit_tls (guint16     port_of (TernTestServers *),
                    const char *greeting_prefix)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;

  if (servers == NULL)
    return;

  connection = new_connection (servers);
  g_assert_true (connect_to (connection, servers->host, port_of (servers),
                             TERN_CONNECTION_SECURITY_TLS, &error));
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_encrypted (connection));
  g_assert_cmpuint (tern_connection_get_peer_certificate_errors (connection), ==, 0);
  assert_nodelay (connection);

  greeting = read_line (connection);
  g_assert_true (g_str_has_prefix (greeting, greeting_prefix));
}

static guint16
imaps_port (TernTestServers *servers)
{
  return servers->imaps_port;
}

static guint16
pop3s_port (TernTestServers *servers)
{
  return servers->pop3s_port;
}

static void
test_imaps_greeting (void)
{
  check_implicit_tls (imaps_port, "* OK");
}

static void
test_pop3s_greeting (void)
{
  check_implicit_tls (pop3s_port, "+OK");
}

static void
test_imap_starttls (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *before = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *after = NULL;

  if (servers == NULL)
    return;

  /* From the "remote" address, Dovecot offers no plaintext login before
   * TLS, as a real server does; after TLS it does. */
  connection = new_connection (servers);
  tern_connection_set_local_address (connection, servers->remote_client_address);
  g_assert_true (connect_to (connection, servers->host, servers->imap_port,
                             TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_no_error (error);
  g_assert_false (tern_connection_is_encrypted (connection));
  assert_nodelay (connection);

  greeting = read_line (connection);
  g_assert_true (g_str_has_prefix (greeting, "* OK"));

  write_text (connection, "p CAPABILITY\r\n");
  before = read_until (connection, "p ");
  g_assert_nonnull (strstr (before, "STARTTLS"));
  g_assert_null (strstr (before, "AUTH=PLAIN"));

  write_text (connection, "a STARTTLS\r\n");
  reply = read_line (connection);
  g_assert_true (g_str_has_prefix (reply, "a OK"));
  start_tls (connection);
  assert_nodelay (connection);

  write_text (connection, "b CAPABILITY\r\n");
  after = read_until (connection, "b ");
  g_assert_nonnull (strstr (after, "AUTH=PLAIN"));
  g_assert_true (strstr (after, "\nb OK") != NULL);
}

static void
test_submission_starttls (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *before = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *after = NULL;

  if (servers == NULL)
    return;

  connection = new_connection (servers);
  g_assert_true (connect_to (connection, servers->host, servers->submission_port,
                             TERN_CONNECTION_SECURITY_STARTTLS, &error));
  g_assert_no_error (error);
  assert_nodelay (connection);

  greeting = read_until (connection, "220 ");
  write_text (connection, "EHLO client.tern.test\r\n");
  before = read_until (connection, "250 ");
  g_assert_nonnull (strstr (before, "STARTTLS"));

  write_text (connection, "STARTTLS\r\n");
  reply = read_line (connection);
  g_assert_true (g_str_has_prefix (reply, "220"));
  start_tls (connection);

  write_text (connection, "EHLO client.tern.test\r\n");
  after = read_until (connection, "250 ");
  g_assert_nonnull (strstr (after, "AUTH"));
  g_assert_null (strstr (after, "STARTTLS"));
}

/* Connects to IMAPS with the system's CA list, which does not know the
 * set's CA, optionally pinning @pin; returns the error or NULL. */
static GError *
connect_without_ca (TernTestServers  *servers,
                    const char       *pin,
                    TernConnection  **out_connection)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  GError *error = NULL;

  if (pin != NULL)
    {
      g_assert_true (tern_connection_set_pinned_certificate (connection, pin, &error));
      g_assert_no_error (error);
    }
  connect_to (connection, servers->host, servers->imaps_port, TERN_CONNECTION_SECURITY_TLS,
              &error);
  *out_connection = g_steal_pointer (&connection);
  return error;
}

static void
test_certificate_refused_then_pinned (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernConnection) refused = NULL;
  g_autoptr(TernConnection) pinned = NULL;
  g_autoptr(TernConnection) pinned_pem = NULL;
  g_autoptr(TernConnection) wrong = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *pem = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *greeting_pem = NULL;
  GTlsCertificate *certificate;

  if (servers == NULL)
    return;

  /* Refused, with the reason and the fingerprint the user would compare. */
  error = connect_without_ca (servers, NULL, &refused);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "not signed by a known certificate authority"));
  g_assert_false (tern_connection_is_encrypted (refused));
  g_assert_true (tern_connection_get_peer_certificate_errors (refused)
                 & G_TLS_CERTIFICATE_UNKNOWN_CA);
  certificate = tern_connection_get_peer_certificate (refused);
  g_assert_nonnull (certificate);
  fingerprint = tern_certificate_get_sha256_fingerprint (certificate);
  g_assert_cmpuint (strlen (fingerprint), ==, 32 * 3 - 1);
  g_assert_nonnull (strstr (error->message, fingerprint));
  g_clear_error (&error);

  /* Accepted once the user pinned that fingerprint... */
  error = connect_without_ca (servers, fingerprint, &pinned);
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_encrypted (pinned));
  g_assert_true (tern_connection_get_peer_certificate_errors (pinned)
                 & G_TLS_CERTIFICATE_UNKNOWN_CA);
  greeting = read_line (pinned);
  g_assert_true (g_str_has_prefix (greeting, "* OK"));

  /* ...or the certificate itself. */
  g_object_get (certificate, "certificate-pem", &pem, NULL);
  error = connect_without_ca (servers, pem, &pinned_pem);
  g_assert_no_error (error);
  greeting_pem = read_line (pinned_pem);
  g_assert_true (g_str_has_prefix (greeting_pem, "* OK"));

  /* Another certificate's pin does not help. */
  error = connect_without_ca (servers,
                              "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                              "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
                              &wrong);
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, "not the pinned certificate"));
  g_assert_false (tern_connection_is_encrypted (wrong));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/connection/imaps-reads-greeting", test_imaps_greeting);
  g_test_add_func ("/integration/connection/pop3s-reads-greeting", test_pop3s_greeting);
  g_test_add_func ("/integration/connection/imap-starttls-shows-auth-plain",
                   test_imap_starttls);
  g_test_add_func ("/integration/connection/submission-starttls-then-ehlo",
                   test_submission_starttls);
  g_test_add_func ("/integration/connection/certificate-refused-then-pinned",
                   test_certificate_refused_then_pinned);

  return g_test_run ();
}
