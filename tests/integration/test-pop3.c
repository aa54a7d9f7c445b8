/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernPop3Client against the real Dovecot of tests/servers/: STLS from a
 * remote address, POP3S with SASL, UIDL and pipelined RETR of a loaded
 * mailbox, RSET, DELE + QUIT, and a wrong password. */

#include <string.h>

#include "tern-pop3-client.h"
#include "tern-test-servers.h"

#define WAIT_SECONDS 30

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

static TernPop3Client *
open_session (TernTestServers        *servers,
              TernConnectionSecurity  security,
              const char             *password,
              GError                **error)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(TernPop3Client) client = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) logged_in = NULL;
  const TernTestUser *user = tern_test_servers_get_user (servers, 0);
  guint16 port = security == TERN_CONNECTION_SECURITY_TLS ? servers->pop3s_port
                                                           : servers->pop3_port;

  database = tern_test_servers_new_tls_database (servers, error);
  g_assert_nonnull (database);
  tern_connection_set_tls_database (connection, database);
  tern_connection_set_io_timeout (connection, 20 * 1000);
  /* From this address Dovecot treats Tern as remote, as a real server
   * would: no plaintext login before TLS. */
  tern_connection_set_local_address (connection, servers->remote_client_address);
  client = tern_pop3_client_new (connection);

  tern_pop3_client_connect_async (client, servers->host, port, security, NULL, got_result_cb,
                                  &connected);
  if (!tern_pop3_client_connect_finish (client, wait_for (&connected), error))
    return NULL;
  tern_pop3_client_login_async (client, user->login, password != NULL ? password
                                : user->password, NULL, got_result_cb, &logged_in);
  if (!tern_pop3_client_login_finish (client, wait_for (&logged_in), error))
    return NULL;
  return g_steal_pointer (&client);
}

static guint
stat_count (TernPop3Client *client)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint count = G_MAXUINT;

  tern_pop3_client_stat_async (client, NULL, got_result_cb, &result);
  g_assert_true (tern_pop3_client_stat_finish (client, wait_for (&result), &count, NULL,
                                               &error));
  g_assert_no_error (error);
  return count;
}

static void
simple (TernPop3Client *client,
        void (*start) (TernPop3Client *, GCancellable *, GAsyncReadyCallback, gpointer))
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  start (client, NULL, got_result_cb, &result);
  g_assert_true (tern_pop3_client_simple_finish (client, wait_for (&result), &error));
  g_assert_no_error (error);
}

static void
dele (TernPop3Client *client,
      guint           number)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_pop3_client_dele_async (client, number, NULL, got_result_cb, &result);
  g_assert_true (tern_pop3_client_simple_finish (client, wait_for (&result), &error));
  g_assert_no_error (error);
}

static void
test_stls_login (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernPop3Client) client = NULL;
  g_autoptr(GError) error = NULL;

  if (servers == NULL)
    return;
  client = open_session (servers, TERN_CONNECTION_SECURITY_STARTTLS, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_encrypted (tern_pop3_client_get_connection (client)));
  /* Asked again after TLS: Dovecot no longer offers STLS, and offers SASL. */
  g_assert_false (tern_pop3_client_has_capability (client, "STLS"));
  g_assert_true (tern_pop3_client_has_capability (client, "SASL"));
  g_assert_cmpstr (tern_pop3_client_get_auth_mechanism (client), ==, "PLAIN");
  g_assert_cmpuint (stat_count (client), ==, 0);
  simple (client, tern_pop3_client_quit_async);
}

static void
test_wrong_password (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernPop3Client) client = NULL;
  g_autoptr(GError) error = NULL;

  if (servers == NULL)
    return;
  client = open_session (servers, TERN_CONNECTION_SECURITY_TLS, "not the password", &error);
  g_assert_null (client);
  g_assert_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_AUTH_FAILED);
  g_test_message ("%s", error->message);
}

static void
test_mailbox (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernPop3Client) client = NULL;
  g_autoptr(TernPop3Client) again = NULL;
  g_autoptr(GAsyncResult) uidl_result = NULL;
  g_autoptr(GAsyncResult) list_result = NULL;
  g_autoptr(GAsyncResult) many_result = NULL;
  g_autoptr(GPtrArray) uids = NULL;
  g_autoptr(GPtrArray) sizes = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GHashTable) seen_uids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  guint numbers[50];

  if (servers == NULL)
    return;
  g_assert_true (tern_test_servers_load_mailbox (servers,
                                                 tern_test_servers_get_user (servers, 0)->login,
                                                 "INBOX", 50, &error));
  g_assert_no_error (error);

  client = open_session (servers, TERN_CONNECTION_SECURITY_TLS, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_pop3_client_get_auth_mechanism (client), ==, "PLAIN");
  g_assert_cmpuint (stat_count (client), ==, 50);

  tern_pop3_client_uidl_async (client, NULL, got_result_cb, &uidl_result);
  uids = tern_pop3_client_uidl_finish (client, wait_for (&uidl_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 50);
  for (guint i = 0; i < uids->len; i++)
    {
      TernPop3Entry *entry = g_ptr_array_index (uids, i);

      g_assert_cmpuint (entry->number, ==, i + 1);
      g_assert_false (g_hash_table_contains (seen_uids, entry->uid));
      g_hash_table_add (seen_uids, entry->uid);
    }

  tern_pop3_client_list_async (client, NULL, got_result_cb, &list_result);
  sizes = tern_pop3_client_list_finish (client, wait_for (&list_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sizes->len, ==, 50);

  for (guint i = 0; i < 50; i++)
    numbers[i] = i + 1;
  g_assert_true (tern_pop3_client_has_capability (client, "PIPELINING"));
  tern_pop3_client_retr_many_async (client, numbers, 50, NULL, got_result_cb, &many_result);
  messages = tern_pop3_client_retr_many_finish (client, wait_for (&many_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 50);
  for (guint i = 0; i < 50; i++)
    {
      GBytes *message = g_ptr_array_index (messages, i);
      TernPop3Entry *entry = g_ptr_array_index (sizes, i);
      gsize size = 0;
      const char *data = g_bytes_get_data (message, &size);
      g_autofree char *text = g_strndup (data, size);
      g_autofree char *message_id = g_strdup_printf ("<tern-load-1-%u@tern.test>", i + 1);

      /* LIST counts CRLF line ends, as Tern keeps them. */
      g_assert_cmpuint (size, ==, entry->size);
      g_assert_nonnull (strstr (text, message_id));
    }

  /* RSET undoes DELE. */
  dele (client, 1);
  dele (client, 2);
  g_assert_cmpuint (stat_count (client), ==, 48);
  simple (client, tern_pop3_client_rset_async);
  g_assert_cmpuint (stat_count (client), ==, 50);
  simple (client, tern_pop3_client_noop_async);

  /* DELE takes effect with QUIT. */
  for (guint i = 1; i <= 50; i++)
    dele (client, i);
  simple (client, tern_pop3_client_quit_async);

  again = open_session (servers, TERN_CONNECTION_SECURITY_STARTTLS, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stat_count (again), ==, 0);
  simple (again, tern_pop3_client_quit_async);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pop3/dovecot/stls-then-login", test_stls_login);
  g_test_add_func ("/pop3/dovecot/wrong-password-is-auth-failed", test_wrong_password);
  g_test_add_func ("/pop3/dovecot/uidl-retr-rset-dele", test_mailbox);

  return g_test_run ();
}
