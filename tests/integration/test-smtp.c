/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernSmtpClient against the real Postfix of tests/servers/: submission
 * with STARTTLS from a remote address and SMTPS, a message whose lines
 * start with dots read back byte for byte over IMAPS, refused logins,
 * recipients refused by address, the SIZE limit, and a server without
 * PIPELINING. */

#include <string.h>

#include "tern-smtp-client.h"
#include "tern-test-servers.h"
#include "tern-test-wire.h"

#define WAIT_SECONDS 20
#define DELIVERY_TIMEOUT_USEC (30 * G_USEC_PER_SEC)

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

/* A client connected to submission (STARTTLS, from the remote address) or
 * SMTPS, and logged in as @user unless @user is NULL. */
static TernSmtpClient *
connect_client (TernTestServers    *servers,
                gboolean            smtps,
                const TernTestUser *user,
                const char         *password)
{
  g_autoptr(TernSmtpClient) client = tern_smtp_client_new ();
  TernConnection *connection = tern_smtp_client_get_connection (client);
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) auth_result = NULL;
  g_autoptr(GError) error = NULL;

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  tern_connection_set_tls_database (connection, database);
  tern_connection_set_io_timeout (connection, 10 * 1000);
  if (!smtps)
    tern_connection_set_local_address (connection, servers->remote_client_address);

  tern_smtp_client_connect_async (client, servers->host,
                                  smtps ? servers->smtps_port : servers->submission_port,
                                  smtps ? TERN_CONNECTION_SECURITY_TLS
                                        : TERN_CONNECTION_SECURITY_STARTTLS,
                                  NULL, got_result_cb, &result);
  tern_smtp_client_connect_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_encrypted (connection));

  if (user != NULL)
    {
      tern_smtp_client_authenticate_async (client, user->login, password, FALSE, NULL,
                                           got_result_cb, &auth_result);
      tern_smtp_client_authenticate_finish (client, wait_for (&auth_result), &error);
      g_assert_no_error (error);
      g_assert_true (tern_smtp_client_is_authenticated (client));
    }
  return g_steal_pointer (&client);
}

static TernSmtpSendResult *
send_message (TernSmtpClient      *client,
              const char          *from,
              const char * const  *recipients,
              const char          *message,
              GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (message, strlen (message));

  tern_smtp_client_send_async (client, from, recipients, bytes, NULL, got_result_cb, &result);
  return tern_smtp_client_send_finish (client, wait_for (&result), error);
}

static void
quit (TernSmtpClient *client)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_smtp_client_quit_async (client, NULL, got_result_cb, &result);
  tern_smtp_client_quit_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
}

static char *
imap_quote (const char *text)
{
  GString *quoted = g_string_new ("\"");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (quoted, '\\');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

/* Waits for the message with @message_id in @user's INBOX and returns its
 * body (what follows the header, as delivered). */
static char *imaps_fetch_body_matching (TernTestServers    *servers,
                                        const TernTestUser *user,
                                        const char         *criteria);

static char *
imaps_fetch_body (TernTestServers    *servers,
                  const TernTestUser *user,
                  const char         *message_id)
{
  g_autofree char *criteria = g_strdup_printf ("HEADER Message-ID \"%s\"", message_id);

  return imaps_fetch_body_matching (servers, user, criteria);
}

/* Waits for a message of @user's INBOX that IMAP SEARCH @criteria finds and
 * returns its body. */
static char *
imaps_fetch_body_matching (TernTestServers    *servers,
                           const TernTestUser *user,
                           const char         *criteria)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *login_name = imap_quote (user->login);
  g_autofree char *login_password = imap_quote (user->password);
  g_autofree char *login = g_strdup_printf ("LOGIN %s %s", login_name, login_password);
  g_autofree char *status = NULL;
  g_autofree char *select = NULL;
  g_autofree char *search = g_strdup_printf ("UID SEARCH %s", criteria);
  gint64 deadline = g_get_monotonic_time () + DELIVERY_TIMEOUT_USEC;
  guint64 uid = 0;

  g_assert_true (g_str_is_ascii (user->password));
  wire = tern_test_wire_connect (servers, servers->imaps_port, TERN_TEST_WIRE_FLAGS_TLS,
                                 &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  status = tern_test_wire_imap_command (wire, "L1", login, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));
  select = tern_test_wire_imap_command (wire, "S1", "SELECT INBOX", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (select, "OK"));

  while (uid == 0)
    {
      g_autoptr(GString) untagged = g_string_new (NULL);
      g_autofree char *search_status = NULL;
      const char *found;

      search_status = tern_test_wire_imap_command (wire, "S2", search, untagged, &error);
      g_assert_no_error (error);
      found = strstr (untagged->str, "* SEARCH");
      g_assert_nonnull (found);
      found += strlen ("* SEARCH");
      if (*found == ' ')
        {
          /* More than one may match (a server can send two delivery
           * reports for one message): the first will do. */
          g_auto(GStrv) uids = g_strsplit (g_strstrip ((char *) found + 1), " ", 2);

          g_assert_true (g_ascii_string_to_unsigned (uids[0], 10, 1, G_MAXUINT32, &uid, &error));
          g_assert_no_error (error);
          break;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("No message of %s's INBOX matched %s in time", user->login, criteria);
      g_usleep (20 * 1000);
    }

  {
    g_autoptr(GString) untagged = g_string_new (NULL);
    g_autofree char *fetch = g_strdup_printf ("UID FETCH %" G_GUINT64_FORMAT
                                              " BODY.PEEK[TEXT]", uid);
    g_autofree char *fetch_status = tern_test_wire_imap_command (wire, "F1", fetch, untagged,
                                                                 &error);
    const char *open;
    char *end = NULL;
    guint64 size;

    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (fetch_status, "OK"));
    /* "* 1 FETCH (UID n BODY[TEXT] {size}\n<size bytes>)" */
    open = strstr (untagged->str, "BODY[TEXT] {");
    g_assert_nonnull (open);
    size = g_ascii_strtoull (open + strlen ("BODY[TEXT] {"), &end, 10);
    g_assert_true (end[0] == '}' && end[1] == '\n');
    g_assert_cmpuint (strlen (end + 2), >=, size);
    return g_strndup (end + 2, size);
  }
}

static char *
unique_message_id (TernTestServers *servers)
{
  g_autofree char *uuid = g_uuid_string_random ();

  return g_strdup_printf ("<tern-smtp-%s@%s>", uuid, servers->domain);
}

static char *
make_message (const char *from,
              const char *message_id,
              const char *body)
{
  return g_strdup_printf ("From: %s\nTo: undisclosed-recipients:;\nSubject: dots\n"
                          "Message-ID: %s\nMIME-Version: 1.0\n"
                          "Content-Type: text/plain; charset=utf-8\n\n%s",
                          from, message_id, body);
}

/* The body with LF line ends that the test sends, and what IMAP must give
 * back: the same with CRLF, the dots exactly as written. */
static const char *body_lf =
  ".\n"
  ".leading dot\n"
  "..two leading dots\n"
  "middle . and end.\n"
  "...\n"
  "\n"
  "last line\n";
static const char *body_crlf =
  ".\r\n"
  ".leading dot\r\n"
  "..two leading dots\r\n"
  "middle . and end.\r\n"
  "...\r\n"
  "\r\n"
  "last line\r\n";

static void
test_submission_delivers_dots_to_two_users (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernSmtpClient) client = NULL;
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *message = NULL;
  const TernTestUser *alice;
  const TernTestUser *bob;

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, 0);
  bob = tern_test_servers_get_user (servers, 1);

  client = connect_client (servers, FALSE, alice, alice->password);
  g_assert_true (tern_smtp_client_get_extensions (client) & TERN_SMTP_EXTENSION_PIPELINING);
  /* What was learned before STARTTLS is gone: Postfix offers it only then. */
  g_assert_false (tern_smtp_client_get_extensions (client) & TERN_SMTP_EXTENSION_STARTTLS);

  message_id = unique_message_id (servers);
  message = make_message (alice->login, message_id, body_lf);
  {
    const char *recipients[] = { alice->login, bob->login, NULL };

    result = send_message (client, alice->login, recipients, message, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length ((GStrv) tern_smtp_send_result_get_accepted (result)), ==, 2);
  g_assert_null (tern_smtp_send_result_get_refused (result)[0]);
  quit (client);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *body = imaps_fetch_body (servers, i == 0 ? alice : bob, message_id);

      g_assert_cmpstr (body, ==, body_crlf);
    }
}

static void
test_smtps_wrong_password_fails (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernSmtpClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *alice;

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, 0);

  client = connect_client (servers, TRUE, NULL, NULL);
  tern_smtp_client_authenticate_async (client, alice->login, "not the password", FALSE, NULL,
                                       got_result_cb, &result);
  g_assert_false (tern_smtp_client_authenticate_finish (client, wait_for (&result), &error));
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_AUTH_FAILED);
  g_test_message ("%s", error->message);
  g_assert_false (tern_smtp_client_is_authenticated (client));
  quit (client);
}

static void
test_refused_recipient_reported_by_address (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernSmtpClient) client = NULL;
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *message = NULL;
  const TernTestUser *alice;
  const TernTestUser *bob;
  const GError *refusal;
  const char *elsewhere = "someone@elsewhere.example";

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, 0);
  bob = tern_test_servers_get_user (servers, 1);

  /* The test set lets logged-in users relay (and bounces later); a
   * recipient restriction without that exception makes Postfix refuse
   * other domains at RCPT, as a strict submission server does. */
  g_assert_true (tern_test_servers_postfix_set (servers, "smtpd_recipient_restrictions",
                                                "reject_unauth_destination", &error));
  g_assert_no_error (error);

  client = connect_client (servers, TRUE, alice, alice->password);
  message_id = unique_message_id (servers);
  message = make_message (alice->login, message_id, body_lf);
  {
    const char *recipients[] = { elsewhere, bob->login, NULL };

    result = send_message (client, alice->login, recipients, message, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (result)[0], ==, bob->login);
  g_assert_null (tern_smtp_send_result_get_accepted (result)[1]);
  g_assert_cmpstr (tern_smtp_send_result_get_refused (result)[0], ==, elsewhere);
  refusal = tern_smtp_send_result_get_error (result, elsewhere);
  g_assert_error ((GError *) refusal, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PERMANENT);
  g_assert_nonnull (strstr (refusal->message, "5.7.1"));
  g_test_message ("%s", refusal->message);
  quit (client);

  g_assert_true (tern_test_servers_postfix_set (servers, "smtpd_recipient_restrictions", NULL,
                                                &error));
  g_assert_no_error (error);

  {
    g_autofree char *body = imaps_fetch_body (servers, bob, message_id);

    g_assert_cmpstr (body, ==, body_crlf);
  }
}

/* A limit set on the server for this test; Postfix wants it above its
 * header_size_limit (102400). */
#define SMALL_SIZE_LIMIT 200000

static void
test_size_limit_refused_before_upload (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernSmtpClient) client = NULL;
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(TernSmtpSendResult) small_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big_body = NULL;
  g_autofree char *message = NULL;
  g_autofree char *small = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *limit_text = NULL;
  const TernTestUser *alice;
  guint64 limit;
  const char *recipients[] = { NULL, NULL };

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, 0);
  recipients[0] = alice->login;

  g_assert_true (tern_test_servers_postfix_set (servers, "message_size_limit",
                                                G_STRINGIFY (SMALL_SIZE_LIMIT), &error));
  g_assert_no_error (error);

  client = connect_client (servers, TRUE, alice, alice->password);
  limit = tern_smtp_client_get_max_size (client);
  g_assert_cmpuint (limit, ==, SMALL_SIZE_LIMIT);

  message_id = unique_message_id (servers);
  big_body = g_strnfill (limit, 'x');
  message = make_message (alice->login, message_id, big_body);
  result = send_message (client, alice->login, recipients, message, &error);
  g_assert_null (result);
  g_assert_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_MESSAGE_TOO_LARGE);
  limit_text = g_strdup_printf ("at most %" G_GUINT64_FORMAT " bytes", limit);
  g_assert_nonnull (strstr (error->message, limit_text));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* Nothing was uploaded: the same session sends a small message at once. */
  g_clear_pointer (&message_id, g_free);
  message_id = unique_message_id (servers);
  small = make_message (alice->login, message_id, body_lf);
  small_result = send_message (client, alice->login, recipients, small, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (small_result)[0], ==, alice->login);
  quit (client);

  g_assert_true (tern_test_servers_postfix_set (servers, "message_size_limit", NULL, &error));
  g_assert_no_error (error);
}

static void
test_without_pipelining (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernSmtpClient) client = NULL;
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *message = NULL;
  g_autofree char *body = NULL;
  const TernTestUser *alice;
  const TernTestUser *bob;

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, 0);
  bob = tern_test_servers_get_user (servers, 1);

  g_assert_true (tern_test_servers_postfix_set (servers, "smtpd_discard_ehlo_keywords",
                                                "pipelining", &error));
  g_assert_no_error (error);

  client = connect_client (servers, FALSE, alice, alice->password);
  g_assert_false (tern_smtp_client_get_extensions (client) & TERN_SMTP_EXTENSION_PIPELINING);

  message_id = unique_message_id (servers);
  message = make_message (alice->login, message_id, body_lf);
  {
    const char *recipients[] = { bob->login, NULL };

    result = send_message (client, alice->login, recipients, message, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (result)[0], ==, bob->login);
  quit (client);

  g_assert_true (tern_test_servers_postfix_set (servers, "smtpd_discard_ehlo_keywords", NULL,
                                                &error));
  g_assert_no_error (error);

  body = imaps_fetch_body (servers, bob, message_id);
  g_assert_cmpstr (body, ==, body_crlf);
}

/* Postfix offers DSN on submission: a send asking for delivery status
 * notifications is accepted with its parameters, the message arrives, and
 * the success report Postfix writes back to the sender quotes the ENVID. */
static void
test_dsn_accepted (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernSmtpClient) client = NULL;
  g_autoptr(TernSmtpSendResult) result = NULL;
  g_autoptr(GAsyncResult) async_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *message = NULL;
  g_autofree char *body = NULL;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *envid = g_strdup_printf ("tern+dsn=%s", uuid);
  g_autofree char *report_criteria = NULL;
  g_autofree char *report = NULL;
  const TernTestUser *alice;
  const TernTestUser *bob;
  TernSmtpDsn dsn = {
    TERN_SMTP_DSN_NOTIFY_SUCCESS | TERN_SMTP_DSN_NOTIFY_FAILURE | TERN_SMTP_DSN_NOTIFY_DELAY,
    TERN_SMTP_DSN_RET_HDRS, NULL,
  };

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, 0);
  bob = tern_test_servers_get_user (servers, 1);
  dsn.envid = envid;

  client = connect_client (servers, FALSE, alice, alice->password);
  if (!(tern_smtp_client_get_extensions (client) & TERN_SMTP_EXTENSION_DSN))
    {
      g_test_skip ("The test Postfix does not offer DSN");
      quit (client);
      return;
    }
  message_id = unique_message_id (servers);
  message = make_message (alice->login, message_id, "receipt, please\n");
  bytes = g_bytes_new (message, strlen (message));
  {
    const char *recipients[] = { bob->login, NULL };

    tern_smtp_client_send_full_async (client, alice->login, recipients, bytes, &dsn, NULL,
                                      got_result_cb, &async_result);
    result = tern_smtp_client_send_finish (client, wait_for (&async_result), &error);
  }
  g_assert_no_error (error);
  g_assert_false (tern_smtp_send_result_get_dsn_unavailable (result));
  g_assert_cmpstr (tern_smtp_send_result_get_accepted (result)[0], ==, bob->login);
  quit (client);

  body = imaps_fetch_body (servers, bob, message_id);
  g_assert_cmpstr (body, ==, "receipt, please\r\n");

  /* NOTIFY=SUCCESS: a report to the sender, with the ENVID decoded. */
  report_criteria = g_strdup_printf ("TEXT \"%s\"", envid);
  report = imaps_fetch_body_matching (servers, alice, report_criteria);
  g_assert_nonnull (strstr (report, envid));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/smtp/submission-starttls-delivers-dot-lines-to-two-users",
                   test_submission_delivers_dots_to_two_users);
  g_test_add_func ("/integration/smtp/smtps-wrong-password-is-auth-failed",
                   test_smtps_wrong_password_fails);
  g_test_add_func ("/integration/smtp/relay-denied-reported-by-address",
                   test_refused_recipient_reported_by_address);
  g_test_add_func ("/integration/smtp/size-limit-refused-before-upload",
                   test_size_limit_refused_before_upload);
  g_test_add_func ("/integration/smtp/works-without-pipelining", test_without_pipelining);
  g_test_add_func ("/integration/smtp/dsn-accepted-and-reported", test_dsn_accepted);

  return g_test_run ();
}
