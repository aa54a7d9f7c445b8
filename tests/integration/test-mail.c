/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Tern's mail engines end to end against the real Dovecot and Postfix of
 * tests/servers/: a POP3 mailbox downloaded into the store and emptied. */

#include <string.h>

#include "tern-pop3-client.h"
#include "tern-pop3-downloader.h"
#include "tern-test-servers.h"
#include "tern-test-util.h"

static TernPop3Downloader *
new_downloader (TernTestServers       *servers,
                TernStore             *store,
                const TernTestUser    *user,
                TernPop3AfterDownload  after)
{
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  TernPop3Downloader *downloader = tern_pop3_downloader_new (store, user->login);

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  tern_pop3_downloader_set_server (downloader, servers->host, servers->pop3_port,
                                   TERN_CONNECTION_SECURITY_STARTTLS);
  tern_pop3_downloader_set_tls_database (downloader, database);
  tern_pop3_downloader_set_local_address (downloader, servers->remote_client_address);
  tern_pop3_downloader_set_login (downloader, user->login, user->password);
  tern_pop3_downloader_set_io_timeout (downloader, 30 * 1000);
  tern_pop3_downloader_set_after_download (downloader, after, 0);
  return downloader;
}

static gboolean
run_check (TernPop3Downloader     *downloader,
           TernPop3DownloadStats  *stats,
           GError                **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_pop3_downloader_run_async (downloader, NULL, tern_test_got_result_cb, &result);
  return tern_pop3_downloader_run_finish (downloader, tern_test_wait_for (&result), stats, error);
}

static gint64
count_in_inbox (const char *dir,
                const char *account)
{
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autofree char *sql = g_strdup_printf ("SELECT count (*) FROM messages m JOIN folders f "
                                          "ON f.id = m.folder_id WHERE f.account = '%s' "
                                          "AND f.role = 1", account);
  sqlite3 *db = NULL;
  gint64 count;

  g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  count = tern_test_query_int (db, sql);
  sqlite3_close (db);
  return count;
}

static void
test_pop3_download_empties_mailbox (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autofree char *dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  const TernTestUser *user;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 1);
  g_assert_true (tern_test_servers_load_mailbox (servers, user->login, "INBOX", 150, &error));
  g_assert_no_error (error);

  dir = tern_test_make_temp_dir ("tern-pop3-it-XXXXXX");
  store = tern_test_open_store (dir);

  /* Left on the server first: downloaded once, however often checked. */
  downloader = new_downloader (servers, store, user, TERN_POP3_AFTER_DOWNLOAD_KEEP);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.on_server, ==, 150);
  g_assert_cmpuint (stats.downloaded, ==, 150);
  g_assert_cmpuint (stats.deleted, ==, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.on_server, ==, 150);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_clear_object (&downloader);

  /* Then deleted after download: the server is emptied, nothing twice. */
  downloader = new_downloader (servers, store, user, TERN_POP3_AFTER_DOWNLOAD_DELETE);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (stats.deleted, ==, 150);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.on_server, ==, 0);
  g_clear_object (&downloader);

  tern_test_close_store (&store);
  g_assert_cmpint (count_in_inbox (dir, user->login), ==, 150);
  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mail/pop3/download-empties-mailbox", test_pop3_download_empties_mailbox);

  return g_test_run ();
}
