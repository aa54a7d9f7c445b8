/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernImapClient against the real Dovecot of tests/servers/: IMAPS and
 * STARTTLS, PLAIN and SCRAM, a wrong password, LIST with special use,
 * SELECT with CONDSTORE and QRESYNC, FETCH of a loaded mailbox, STORE,
 * MOVE, APPEND with APPENDUID, IDLE seeing a message appended by a second
 * client and one delivered over LMTP, QUOTA, COMPRESS=DEFLATE, and the fallbacks with the extensions
 * switched off. */

#include <string.h>

#include "tern-imap-client.h"
#include "tern-test-servers.h"

#define WAIT_SECONDS 60

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

/* Quota and COMPRESS need Dovecot plugins, SCRAM an auth setting; one set
 * of servers serves the whole program, so they are turned on once. */
static void
configure_dovecot (TernTestServers *servers)
{
  static gboolean done;
  g_autoptr(GError) error = NULL;

  if (done)
    return;
  done = TRUE;
  g_assert_true (tern_test_servers_dovecot_set (servers, "mail_plugins",
                                                "$mail_plugins quota zlib", &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "protocol imap/mail_plugins",
                                                "$mail_plugins imap_quota imap_zlib", &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "plugin/quota", "maildir:User quota",
                                                &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "plugin/quota_rule",
                                                "*:storage=10M:messages=1000", &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "auth_mechanisms",
                                                "plain login scram-sha-1 scram-sha-256", &error));
  g_assert_no_error (error);
}

static TernTestServers *
get_servers (void)
{
  TernTestServers *servers = tern_test_servers_get_or_skip ();

  if (servers != NULL)
    configure_dovecot (servers);
  return servers;
}

static TernImapClient *
try_open_session (TernTestServers        *servers,
                  TernConnectionSecurity  security,
                  guint                   user_index,
                  const char             *mechanism,
                  const char             *password,
                  GError                **error)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) logged_in = NULL;
  const TernTestUser *user = tern_test_servers_get_user (servers, user_index);
  guint16 port = security == TERN_CONNECTION_SECURITY_TLS ? servers->imaps_port
                                                           : servers->imap_port;

  database = tern_test_servers_new_tls_database (servers, error);
  g_assert_nonnull (database);
  tern_connection_set_tls_database (connection, database);
  tern_connection_set_io_timeout (connection, 30 * 1000);
  /* From this address Dovecot treats Tern as remote, as a real server
   * would: no plaintext login before TLS. */
  tern_connection_set_local_address (connection, servers->remote_client_address);
  client = tern_imap_client_new (connection);

  tern_imap_client_connect_async (client, servers->host, port, security, NULL, got_result_cb,
                                  &connected);
  if (!tern_imap_client_connect_finish (client, wait_for (&connected), error))
    return NULL;
  if (mechanism != NULL)
    tern_imap_client_login_mechanism_async (client, mechanism, user->login,
                                            password != NULL ? password : user->password, NULL,
                                            got_result_cb, &logged_in);
  else
    tern_imap_client_login_async (client, user->login,
                                  password != NULL ? password : user->password, NULL,
                                  got_result_cb, &logged_in);
  if (!tern_imap_client_login_finish (client, wait_for (&logged_in), error))
    return NULL;
  return g_steal_pointer (&client);
}

static TernImapClient *
open_session (TernTestServers *servers,
              guint            user_index)
{
  g_autoptr(GError) error = NULL;
  TernImapClient *client = try_open_session (servers, TERN_CONNECTION_SECURITY_TLS, user_index,
                                             NULL, NULL, &error);

  g_assert_no_error (error);
  return client;
}

static void
logout (TernImapClient *client)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_imap_client_logout_async (client, NULL, got_result_cb, &result);
  g_assert_true (tern_imap_client_simple_finish (client, wait_for (&result), &error));
  g_assert_no_error (error);
}

static TernImapSelected *
select_mailbox (TernImapClient      *client,
                const char          *mailbox,
                TernImapSelectFlags  flags,
                guint32              uidvalidity,
                guint64              modseq)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernImapSelected *selected;

  tern_imap_client_select_async (client, mailbox, flags, uidvalidity, modseq, NULL, NULL,
                                 got_result_cb, &result);
  selected = tern_imap_client_select_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  return selected;
}

static void
enable (TernImapClient *client,
        const char     *extension)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *extensions[] = { extension, NULL };

  tern_imap_client_enable_async (client, extensions, NULL, got_result_cb, &result);
  g_assert_true (tern_imap_client_simple_finish (client, wait_for (&result), &error));
  g_assert_no_error (error);
}

typedef struct
{
  guint count;
  guint with_envelope;
  guint with_structure;
  guint with_references;
  guint flagged;
  guint32 max_uid;
  gboolean all_ids_match;
} FetchStats;

static void
count_fetch_cb (const TernImapFetch *fetch,
                gpointer             user_data)
{
  FetchStats *stats = user_data;

  stats->count++;
  stats->max_uid = MAX (stats->max_uid, fetch->uid);
  if (fetch->envelope != NULL)
    {
      stats->with_envelope++;
      if (fetch->envelope->message_id == NULL
          || !g_str_has_prefix (fetch->envelope->message_id, "<tern-load-1-"))
        stats->all_ids_match = FALSE;
    }
  if (tern_imap_fetch_get_body_structure (fetch) != NULL)
    stats->with_structure++;
  if (tern_imap_fetch_get_section (fetch, "HEADER.FIELDS (REFERENCES)") != NULL)
    stats->with_references++;
  if (tern_imap_fetch_has_flag (fetch, "\\Flagged"))
    stats->flagged++;
}

static FetchStats
fetch_all (TernImapClient *client,
           const char     *uid_set,
           const char     *items,
           guint64         changed_since,
           GArray        **out_vanished)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  FetchStats stats = { 0 };

  stats.all_ids_match = TRUE;
  tern_imap_client_uid_fetch_async (client, uid_set, items, changed_since,
                                    out_vanished != NULL, count_fetch_cb, &stats, NULL,
                                    got_result_cb, &result);
  g_assert_true (tern_imap_client_uid_fetch_finish (client, wait_for (&result), out_vanished,
                                                    &error));
  g_assert_no_error (error);
  return stats;
}

static GPtrArray *
list_all (TernImapClient      *client,
          TernImapStatusItems  items)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *mailboxes;

  tern_imap_client_list_async (client, "", "*", items, NULL, got_result_cb, &result);
  mailboxes = tern_imap_client_list_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  return mailboxes;
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

static guint32
status_messages (TernImapClient *client,
                 const char     *mailbox)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernImapMailboxStatus status;

  tern_imap_client_status_async (client, mailbox, TERN_IMAP_STATUS_MESSAGES, NULL,
                                 got_result_cb, &result);
  g_assert_true (tern_imap_client_status_finish (client, wait_for (&result), &status, &error));
  g_assert_no_error (error);
  g_assert_true (status.present & TERN_IMAP_STATUS_MESSAGES);
  return status.messages;
}

static guint32
append_message (TernImapClient *client,
                const char     *mailbox,
                const char     *subject,
                guint32        *out_uidvalidity)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("From: Alice <alice@tern.test>\r\n"
                                           "To: Bob <bob@tern.test>\r\n"
                                           "Subject: %s\r\n"
                                           "Message-ID: <%s@tern.test>\r\n"
                                           "\r\n"
                                           "Hello from Tern.\r\n", subject, subject);
  g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));
  g_autoptr(GDateTime) date = g_date_time_new_utc (2024, 5, 6, 7, 8, 9);
  static const char * const flags[] = { "\\Seen", "$Tern", NULL };
  guint32 uid = 0;

  tern_imap_client_append_async (client, mailbox, flags, date, message, NULL, got_result_cb,
                                 &result);
  g_assert_true (tern_imap_client_append_finish (client, wait_for (&result), out_uidvalidity,
                                                 &uid, &error));
  g_assert_no_error (error);
  return uid;
}

/* Logins */

static void
test_imaps_login (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;

  if (servers == NULL)
    return;
  client = open_session (servers, 0);
  g_assert_true (tern_connection_is_encrypted (tern_imap_client_get_connection (client)));
  /* The strongest mechanism Dovecot offers is chosen. */
  g_assert_cmpstr (tern_imap_client_get_auth_mechanism (client), ==, "SCRAM-SHA-256");
  g_assert_cmpint (tern_imap_client_get_state (client), ==,
                   TERN_IMAP_CLIENT_STATE_AUTHENTICATED);
  g_assert_true (tern_imap_client_has_capability (client, "IDLE"));
  g_assert_true (tern_imap_client_has_capability (client, "QRESYNC"));

  /* ID: Tern says who it is, Dovecot answers with its name. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GHashTable) fields = NULL;
    g_autoptr(GError) error = NULL;
    static const char * const ours[] = { "name", "Tern", "version", "test", NULL };

    tern_imap_client_id_async (client, ours, NULL, got_result_cb, &result);
    fields = tern_imap_client_id_finish (client, wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpstr (g_hash_table_lookup (fields, "name"), ==, "Dovecot");
  }
  logout (client);
}

static void
test_mechanisms (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  static const char * const mechanisms[] = { "PLAIN", "LOGIN", "SCRAM-SHA-1",
                                             "SCRAM-SHA-256" };

  if (servers == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (mechanisms); i++)
    {
      g_autoptr(GError) error = NULL;
      /* dave's password has a space, quotes and a letter that is not ASCII. */
      g_autoptr(TernImapClient) client = try_open_session (servers,
                                                           TERN_CONNECTION_SECURITY_TLS, 3,
                                                           mechanisms[i], NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (tern_imap_client_get_auth_mechanism (client), ==, mechanisms[i]);
      logout (client);
    }
}

static void
test_starttls_login (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GError) error = NULL;

  if (servers == NULL)
    return;
  client = try_open_session (servers, TERN_CONNECTION_SECURITY_STARTTLS, 1, "PLAIN", NULL,
                             &error);
  g_assert_no_error (error);
  g_assert_true (tern_connection_is_encrypted (tern_imap_client_get_connection (client)));
  /* The capabilities are those given under TLS. */
  g_assert_false (tern_imap_client_has_capability (client, "STARTTLS"));
  g_assert_false (tern_imap_client_has_capability (client, "LOGINDISABLED"));
  g_assert_true (tern_imap_client_has_capability (client, "MOVE"));
  logout (client);
}

static void
test_wrong_password (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GError) error = NULL;

  if (servers == NULL)
    return;
  client = try_open_session (servers, TERN_CONNECTION_SECURITY_TLS, 0, NULL, "not the password",
                             &error);
  g_assert_null (client);
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  client = try_open_session (servers, TERN_CONNECTION_SECURITY_STARTTLS, 0, "PLAIN", "wrong",
                             &error);
  g_assert_null (client);
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED);
}

/* Mailboxes */

static void
test_list_special_use (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(GAsyncResult) created = NULL;
  g_autoptr(GAsyncResult) namespaces_result = NULL;
  g_autoptr(TernImapNamespaces) namespaces = NULL;
  g_autoptr(GError) error = NULL;
  static const struct {
    const char *name;
    TernImapMailboxRole role;
  } expected[] = {
    { "INBOX", TERN_IMAP_MAILBOX_ROLE_INBOX },
    { "Drafts", TERN_IMAP_MAILBOX_ROLE_DRAFTS },
    { "Sent", TERN_IMAP_MAILBOX_ROLE_SENT },
    { "Junk", TERN_IMAP_MAILBOX_ROLE_JUNK },
    { "Trash", TERN_IMAP_MAILBOX_ROLE_TRASH },
    { "Archive", TERN_IMAP_MAILBOX_ROLE_ARCHIVE },
  };
  TernImapMailbox *mailbox;

  if (servers == NULL)
    return;
  client = open_session (servers, 2);

  /* A name that needs modified UTF-7 on the wire. */
  tern_imap_client_create_async (client, "Bl\xc3\xa5" "b\xc3\xa6r/K\xc3\xb8" "b", NULL,
                                 got_result_cb, &created);
  g_assert_true (tern_imap_client_simple_finish (client, wait_for (&created), &error));
  g_assert_no_error (error);

  mailboxes = list_all (client, TERN_IMAP_STATUS_MESSAGES | TERN_IMAP_STATUS_UIDNEXT
                                | TERN_IMAP_STATUS_UIDVALIDITY);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      mailbox = find_mailbox (mailboxes, expected[i].name);
      g_assert_nonnull (mailbox);
      g_assert_cmpint (mailbox->role, ==, expected[i].role);
      g_assert_true (mailbox->has_status);
      g_assert_cmpuint (mailbox->status.uidvalidity, >, 0);
      g_assert_cmpint (mailbox->delimiter, ==, '/');
      /* The harness subscribes the special mailboxes, not INBOX. */
      if (expected[i].role != TERN_IMAP_MAILBOX_ROLE_INBOX)
        g_assert_true (mailbox->attributes & TERN_IMAP_MAILBOX_SUBSCRIBED);
    }
  mailbox = find_mailbox (mailboxes, "Bl\xc3\xa5" "b\xc3\xa6r/K\xc3\xb8" "b");
  g_assert_nonnull (mailbox);
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_NONE);
  mailbox = find_mailbox (mailboxes, "Bl\xc3\xa5" "b\xc3\xa6r");
  g_assert_nonnull (mailbox);
  g_assert_true (mailbox->attributes & TERN_IMAP_MAILBOX_HAS_CHILDREN);

  tern_imap_client_namespace_async (client, NULL, got_result_cb, &namespaces_result);
  namespaces = tern_imap_client_namespace_finish (client, wait_for (&namespaces_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (namespaces->personal->len, ==, 1);
  g_assert_cmpint (((TernImapNamespace *) g_ptr_array_index (namespaces->personal, 0))->delimiter,
                   ==, '/');
  logout (client);
}

/* Select, fetch, store, resync */

static void
test_select_fetch_store_resync (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(TernImapClient) other = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(TernImapSelected) again = NULL;
  g_autoptr(GAsyncResult) stored = NULL;
  g_autoptr(GAsyncResult) body_result = NULL;
  g_autoptr(GAsyncResult) search_result = NULL;
  g_autoptr(GAsyncResult) expunge_result = NULL;
  g_autoptr(GArray) modified = NULL;
  g_autoptr(GArray) uids = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vanished_text = NULL;
  static const char * const flagged[] = { "\\Flagged", NULL };
  static const char * const deleted[] = { "\\Deleted", NULL };
  const TernTestUser *user;
  FetchStats stats;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 0);
  g_assert_true (tern_test_servers_load_mailbox (servers, user->login, "Load", 200, &error));
  g_assert_no_error (error);

  client = open_session (servers, 0);
  enable (client, "QRESYNC");
  g_assert_true (tern_imap_client_is_enabled (client, "QRESYNC"));
  selected = select_mailbox (client, "Load", TERN_IMAP_SELECT_CONDSTORE, 0, 0);
  g_assert_cmpuint (selected->exists, ==, 200);
  g_assert_cmpuint (selected->uidvalidity, >, 0);
  g_assert_cmpuint (selected->uidnext, ==, 201);
  g_assert_cmpuint (selected->highestmodseq, >, 0);
  g_assert_false (selected->read_only);

  stats = fetch_all (client, "1:*", TERN_IMAP_FETCH_SUMMARY, 0, NULL);
  g_assert_cmpuint (stats.count, ==, 200);
  g_assert_cmpuint (stats.with_envelope, ==, 200);
  g_assert_cmpuint (stats.with_structure, ==, 200);
  g_assert_cmpuint (stats.with_references, ==, 200);
  g_assert_true (stats.all_ids_match);
  g_assert_cmpuint (stats.max_uid, ==, 200);

  tern_imap_client_fetch_body_async (client, 7, NULL, NULL, got_result_cb, &body_result);
  body = tern_imap_client_fetch_body_finish (client, wait_for (&body_result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                  "X-Tern-Load: seed=1 index="));

  /* The same body streamed is the same bytes. */
  {
    g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();
    g_autoptr(GAsyncResult) streamed = NULL;
    guint64 size = 0;

    tern_imap_client_fetch_body_to_stream_async (client, 7, NULL, output, NULL, got_result_cb,
                                                 &streamed);
    g_assert_true (tern_imap_client_fetch_body_to_stream_finish (client, wait_for (&streamed),
                                                                 &size, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (size, ==, g_bytes_get_size (body));
    g_assert_cmpmem (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (output)), size,
                     g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  }

  /* A second client changes flags and expunges; the first resyncs with
   * QRESYNC from the modseq it knew. */
  other = open_session (servers, 0);
  g_clear_pointer (&again, tern_imap_selected_free);
  again = select_mailbox (other, "Load", TERN_IMAP_SELECT_NONE, 0, 0);
  tern_imap_client_uid_store_async (other, "1:5", TERN_IMAP_STORE_ADD, flagged, 0, NULL,
                                    got_result_cb, &stored);
  g_assert_true (tern_imap_client_uid_store_finish (other, wait_for (&stored), &modified,
                                                    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (modified->len, ==, 0);
  g_clear_object (&stored);
  tern_imap_client_uid_store_async (other, "6:7", TERN_IMAP_STORE_ADD, deleted, 0, NULL,
                                    got_result_cb, &stored);
  g_assert_true (tern_imap_client_uid_store_finish (other, wait_for (&stored), NULL, &error));
  tern_imap_client_uid_expunge_async (other, "6:7", NULL, got_result_cb, &expunge_result);
  g_assert_true (tern_imap_client_simple_finish (other, wait_for (&expunge_result), &error));
  g_assert_no_error (error);
  tern_imap_client_uid_search_async (other, "FLAGGED", NULL, got_result_cb, &search_result);
  uids = tern_imap_client_uid_search_finish (other, wait_for (&search_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, >=, 5);
  logout (other);
  g_clear_pointer (&again, tern_imap_selected_free);

  logout (client);
  g_clear_object (&client);
  client = open_session (servers, 0);
  enable (client, "QRESYNC");
  again = select_mailbox (client, "Load", TERN_IMAP_SELECT_NONE, selected->uidvalidity,
                          selected->highestmodseq);
  vanished_text = tern_imap_uid_set_to_string (again->vanished);
  g_assert_cmpstr (vanished_text, ==, "6:7");
  g_assert_cmpuint (again->changed->len, ==, 5);
  for (guint i = 0; i < again->changed->len; i++)
    g_assert_true (tern_imap_fetch_has_flag (g_ptr_array_index (again->changed, i),
                                             "\\Flagged"));
  g_assert_cmpuint (again->exists, ==, 198);

  /* CONDSTORE alone: only what changed since. */
  stats = fetch_all (client, "1:*", "(UID FLAGS)", selected->highestmodseq, NULL);
  g_assert_cmpuint (stats.count, ==, 5);
  g_assert_cmpuint (stats.flagged, ==, 5);
  logout (client);
}

/* Moves and appends */

static void
test_append_and_move (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(TernImapCopyResult) moved = NULL;
  g_autoptr(GAsyncResult) move_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *source = NULL;
  guint32 uidvalidity = 0;
  guint32 uid;
  guint32 trash_before;

  if (servers == NULL)
    return;
  client = open_session (servers, 1);
  uid = append_message (client, "Drafts", "draft-one", &uidvalidity);
  g_assert_cmpuint (uid, >, 0);
  g_assert_cmpuint (uidvalidity, >, 0);
  g_assert_cmpuint (append_message (client, "Drafts", "draft-two", NULL), ==, uid + 1);
  trash_before = status_messages (client, "Trash");

  selected = select_mailbox (client, "Drafts", TERN_IMAP_SELECT_NONE, 0, 0);
  g_assert_cmpuint (selected->uidvalidity, ==, uidvalidity);
  g_assert_cmpuint (selected->exists, ==, 2);
  source = g_strdup_printf ("%u", uid);
  tern_imap_client_uid_move_async (client, source, "Trash", NULL, got_result_cb, &move_result);
  moved = tern_imap_client_copy_finish (client, wait_for (&move_result), &error);
  g_assert_no_error (error);
  g_assert_true (moved->source_expunged);
  g_assert_cmpuint (moved->uidvalidity, >, 0);
  g_assert_nonnull (moved->dest_uids);
  g_assert_cmpuint (tern_imap_uid_set_count (moved->dest_uids), ==, 1);
  g_assert_cmpuint (status_messages (client, "Trash"), ==, trash_before + 1);
  g_assert_cmpuint (status_messages (client, "Drafts"), ==, 1);
  logout (client);
}

/* IDLE */

static void
count_exists_cb (TernImapClient *client,
                 guint           count,
                 gpointer        user_data)
{
  guint *last = user_data;

  *last = count;
}

/* Delivers a message as Postfix would, over Dovecot's LMTP, with blocking
 * I/O: the IMAP client's events wait in the main context meanwhile. */
static void
deliver_by_lmtp (TernTestServers *servers,
                 const char      *recipient,
                 const char      *subject)
{
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GError) error = NULL;
  GOutputStream *out;
  g_autofree char *script = NULL;
  /* The replies: greeting, LHLO (last line), MAIL, RCPT, DATA, end of data. */
  static const char * const expected[] = { "220", "250 ", "250", "250", "354", "250" };
  guint step = 0;

  connection = g_socket_client_connect_to_host (socket_client, servers->host,
                                                servers->lmtp_port, NULL, &error);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  script = g_strdup_printf ("LHLO tern.test\r\nMAIL FROM:<carol@tern.test>\r\n"
                            "RCPT TO:<%s>\r\nDATA\r\n", recipient);
  g_assert_true (g_output_stream_write_all (out, script, strlen (script), NULL, NULL, &error));

  while (step < G_N_ELEMENTS (expected))
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (step == 1 && !g_str_has_prefix (line, "250 "))
        continue;
      g_assert_true (g_str_has_prefix (line, expected[step]));
      if (step == 4)
        {
          g_autofree char *message = g_strdup_printf ("From: carol@tern.test\r\n"
                                                      "To: %s\r\nSubject: %s\r\n\r\n"
                                                      "Delivered.\r\n.\r\n",
                                                      recipient, subject);

          g_assert_true (g_output_stream_write_all (out, message, strlen (message), NULL, NULL,
                                                    &error));
        }
      step++;
    }
  g_output_stream_write_all (out, "QUIT\r\n", 6, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static void
test_idle_sees_append (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) watcher = NULL;
  g_autoptr(TernImapClient) writer = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GAsyncResult) idle = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;
  guint exists = 0;

  if (servers == NULL)
    return;
  watcher = open_session (servers, 2);
  selected = select_mailbox (watcher, "INBOX", TERN_IMAP_SELECT_NONE, 0, 0);
  g_signal_connect (watcher, "exists", G_CALLBACK (count_exists_cb), &exists);
  tern_imap_client_idle_async (watcher, NULL, got_result_cb, &idle);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!tern_imap_client_is_idling (watcher) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (tern_imap_client_is_idling (watcher));

  writer = open_session (servers, 2);
  append_message (writer, "INBOX", "pushed", NULL);
  logout (writer);

  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (exists != selected->exists + 1 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (exists, ==, selected->exists + 1);

  /* And a message delivered as mail arrives, over LMTP. */
  deliver_by_lmtp (servers, tern_test_servers_get_user (servers, 2)->login, "delivered");
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (exists != selected->exists + 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (exists, ==, selected->exists + 2);

  tern_imap_client_idle_done (watcher);
  g_assert_true (tern_imap_client_simple_finish (watcher, wait_for (&idle), &error));
  g_assert_no_error (error);
  logout (watcher);
}

/* QUOTA and COMPRESS */

static void
test_quota (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) quotas = NULL;
  g_autoptr(GError) error = NULL;
  TernImapQuota *quota;

  if (servers == NULL)
    return;
  client = open_session (servers, 1);
  append_message (client, "INBOX", "quota-use", NULL);
  tern_imap_client_get_quota_root_async (client, "INBOX", NULL, got_result_cb, &result);
  quotas = tern_imap_client_get_quota_root_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (quotas->len, ==, 1);
  quota = g_ptr_array_index (quotas, 0);
  g_assert_cmpstr (quota->root, ==, "User quota");
  g_assert_true (quota->has_storage);
  g_assert_cmpuint (quota->storage_limit, ==, 10 * 1024);
  g_assert_true (quota->has_messages);
  g_assert_cmpuint (quota->messages_limit, ==, 1000);
  g_assert_cmpuint (quota->messages_used, >=, 1);
  logout (client);
}

static void
test_compress (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *user;
  FetchStats stats;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 3);
  g_assert_true (tern_test_servers_load_mailbox (servers, user->login, "Zipped", 100, &error));
  g_assert_no_error (error);
  client = open_session (servers, 3);
  g_assert_true (tern_imap_client_has_capability (client, "COMPRESS=DEFLATE"));
  tern_imap_client_compress_async (client, NULL, got_result_cb, &result);
  g_assert_true (tern_imap_client_simple_finish (client, wait_for (&result), &error));
  g_assert_no_error (error);
  g_assert_true (tern_imap_client_is_compressed (client));

  mailboxes = list_all (client, 0);
  g_assert_nonnull (find_mailbox (mailboxes, "Zipped"));
  selected = select_mailbox (client, "Zipped", TERN_IMAP_SELECT_READ_ONLY, 0, 0);
  g_assert_true (selected->read_only);
  stats = fetch_all (client, "1:*", "(UID FLAGS ENVELOPE BODY.PEEK[])", 0, NULL);
  g_assert_cmpuint (stats.count, ==, 100);
  g_assert_true (stats.all_ids_match);
  logout (client);
}

/* The fallbacks, with Dovecot's extensions switched off */

static void
test_extensions_off (void)
{
  g_autoptr(TernTestServers) servers = get_servers ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(GAsyncResult) move_result = NULL;
  g_autoptr(GAsyncResult) quota_result = NULL;
  g_autoptr(GAsyncResult) search_result = NULL;
  g_autoptr(GAsyncResult) namespace_result = NULL;
  g_autoptr(GAsyncResult) unselect_result = NULL;
  g_autoptr(GPtrArray) quotas = NULL;
  g_autoptr(GArray) uids = NULL;
  g_autoptr(TernImapNamespaces) namespaces = NULL;
  g_autoptr(TernImapCopyResult) moved = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *source = NULL;
  TernImapMailbox *mailbox;
  guint32 uid;
  guint32 junk_before;

  if (servers == NULL)
    return;
  g_assert_true (tern_test_servers_set_imap_capability (servers, "IMAP4rev1 SASL-IR ENABLE",
                                                        &error));
  g_assert_no_error (error);

  client = open_session (servers, 3);
  /* Not offered, so not enabled, and the commands that have no fallback
   * say so instead of sending what the server did not announce. */
  enable (client, "QRESYNC");
  g_assert_false (tern_imap_client_is_enabled (client, "QRESYNC"));
  {
    g_autoptr(GAsyncResult) idle = NULL;
    g_autoptr(GAsyncResult) compress = NULL;
    g_autoptr(GAsyncResult) id = NULL;
    g_autoptr(GHashTable) fields = NULL;

    tern_imap_client_idle_async (client, NULL, got_result_cb, &idle);
    g_assert_false (tern_imap_client_simple_finish (client, wait_for (&idle), &error));
    g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_UNSUPPORTED);
    g_clear_error (&error);
    tern_imap_client_compress_async (client, NULL, got_result_cb, &compress);
    g_assert_false (tern_imap_client_simple_finish (client, wait_for (&compress), &error));
    g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_UNSUPPORTED);
    g_clear_error (&error);
    tern_imap_client_id_async (client, NULL, NULL, got_result_cb, &id);
    fields = tern_imap_client_id_finish (client, wait_for (&id), &error);
    g_assert_null (fields);
    g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }
  g_assert_false (tern_imap_client_has_capability (client, "MOVE"));
  g_assert_false (tern_imap_client_has_capability (client, "UIDPLUS"));
  g_assert_false (tern_imap_client_has_capability (client, "LITERAL+"));
  g_assert_false (tern_imap_client_has_capability (client, "LIST-EXTENDED"));

  /* LIST, LSUB and STATUS; Dovecot still names the special uses. */
  mailboxes = list_all (client, TERN_IMAP_STATUS_MESSAGES);
  mailbox = find_mailbox (mailboxes, "Junk");
  g_assert_nonnull (mailbox);
  g_assert_cmpint (mailbox->role, ==, TERN_IMAP_MAILBOX_ROLE_JUNK);
  g_assert_true (mailbox->attributes & TERN_IMAP_MAILBOX_SUBSCRIBED);
  g_assert_true (mailbox->has_status);
  junk_before = mailbox->status.messages;

  tern_imap_client_namespace_async (client, NULL, got_result_cb, &namespace_result);
  namespaces = tern_imap_client_namespace_finish (client, wait_for (&namespace_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (namespaces->personal->len, ==, 1);

  /* APPEND with a synchronizing literal (no LITERAL+).  Dovecot sends
   * APPENDUID all the same, and Tern takes it. */
  uid = append_message (client, "INBOX", "fallback", NULL);
  g_assert_cmpuint (uid, >, 0);

  selected = select_mailbox (client, "INBOX", TERN_IMAP_SELECT_CONDSTORE, 0, 0);
  tern_imap_client_uid_search_async (client, "HEADER Message-ID <fallback@tern.test>", NULL,
                                     got_result_cb, &search_result);
  uids = tern_imap_client_uid_search_finish (client, wait_for (&search_result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 1);

  /* The move without MOVE and without UIDPLUS: copied, marked deleted,
   * and not expunged. */
  source = g_strdup_printf ("%u", g_array_index (uids, guint32, 0));
  tern_imap_client_uid_move_async (client, source, "Junk", NULL, got_result_cb, &move_result);
  moved = tern_imap_client_copy_finish (client, wait_for (&move_result), &error);
  g_assert_no_error (error);
  g_assert_false (moved->source_expunged);
  g_assert_cmpuint (status_messages (client, "Junk"), ==, junk_before + 1);
  g_assert_cmpuint (status_messages (client, "INBOX"), ==, selected->exists);

  tern_imap_client_get_quota_root_async (client, "INBOX", NULL, got_result_cb, &quota_result);
  quotas = tern_imap_client_get_quota_root_finish (client, wait_for (&quota_result), &error);
  g_assert_null (quotas);
  g_assert_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* Without UNSELECT: EXAMINE and CLOSE, which expunge nothing. */
  tern_imap_client_unselect_async (client, NULL, got_result_cb, &unselect_result);
  g_assert_true (tern_imap_client_simple_finish (client, wait_for (&unselect_result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (status_messages (client, "INBOX"), ==, selected->exists);
  logout (client);

  g_assert_true (tern_test_servers_set_imap_capability (servers, NULL, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imap/dovecot/imaps-login-chooses-scram", test_imaps_login);
  g_test_add_func ("/imap/dovecot/login-with-each-mechanism", test_mechanisms);
  g_test_add_func ("/imap/dovecot/starttls-then-login", test_starttls_login);
  g_test_add_func ("/imap/dovecot/wrong-password-is-authentication-failed",
                   test_wrong_password);
  g_test_add_func ("/imap/dovecot/list-special-use-status-namespace", test_list_special_use);
  g_test_add_func ("/imap/dovecot/select-fetch-store-qresync", test_select_fetch_store_resync);
  g_test_add_func ("/imap/dovecot/append-uid-and-move", test_append_and_move);
  g_test_add_func ("/imap/dovecot/idle-sees-append-and-lmtp-delivery", test_idle_sees_append);
  g_test_add_func ("/imap/dovecot/quota", test_quota);
  g_test_add_func ("/imap/dovecot/compress-deflate", test_compress);
  g_test_add_func ("/imap/dovecot/extensions-off-fallbacks", test_extensions_off);

  return g_test_run ();
}
