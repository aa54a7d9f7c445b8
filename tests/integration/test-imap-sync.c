/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernImapSync against the real Dovecot of tests/servers/: a first sync and
 * a resync without changes, a flag set and a message expunged by a second
 * client, offline actions replayed after a restart, a UIDVALIDITY change,
 * bodies, archiving to this computer, IDLE push, the upload of sent mail
 * the outbox filed, a queued action of an unknown kind, and tern-cli
 * (sync and its commands, bench imap).  The sync tests run
 * with QRESYNC, with CONDSTORE alone, and with neither. */

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

#include "tern-imap-sync.h"
#include "tern-message-flags.h"
#include "tern-store-outbox.h"
#include "tern-store-sync.h"
#include "tern-test-servers.h"
#include "tern-test-wire.h"

#define WAIT_SECONDS 30

typedef enum
{
  MODE_QRESYNC,
  MODE_CONDSTORE,
  MODE_PLAIN,
} Mode;

static const char *mode_names[] = { "qresync", "condstore", "plain" };

/* Waiting */

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

/* The store */

static char *
make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("tern-imap-sync-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static TernStore *
open_store (const char *dir)
{
  g_autoptr(GError) error = NULL;
  TernStore *store = tern_store_open_sync (dir, NULL, &error);

  g_assert_no_error (error);
  return store;
}

static void
close_store (TernStore **store)
{
  tern_store_close (*store);
  /* Let the store's last tasks go on this context before it is freed. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (store);
}

static gint64
index_int (const char *dir,
           const char *sql)
{
  g_autofree char *path = g_build_filename (dir, "store.sqlite", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 12000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return value;
}

static gint64
folder_count (const char *dir,
              const char *path)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count (*) FROM messages WHERE folder_id = "
                                          "(SELECT id FROM folders WHERE path = '%s')",
                                          path);

  return index_int (dir, sql);
}

static gint64
message_id_of (const char *dir,
               const char *path,
               guint32     uid)
{
  g_autofree char *sql = g_strdup_printf ("SELECT id FROM messages WHERE uid = %u AND folder_id = "
                                          "(SELECT id FROM folders WHERE path = '%s')",
                                          uid, path);

  return index_int (dir, sql);
}

/* The sync */

static TernImapSync *
new_sync (TernTestServers *servers,
          TernStore       *store,
          guint            user,
          Mode             mode)
{
  const TernTestUser *login = tern_test_servers_get_user (servers, user);
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  TernImapSync *sync = tern_imap_sync_new (store, login->login);
  const char *no_qresync[] = { "QRESYNC", NULL };
  const char *neither[] = { "QRESYNC", "CONDSTORE", NULL };

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  tern_imap_sync_set_server (sync, servers->host, servers->imaps_port,
                             TERN_CONNECTION_SECURITY_TLS);
  tern_imap_sync_set_tls_database (sync, database);
  tern_imap_sync_set_local_address (sync, servers->remote_client_address);
  tern_imap_sync_set_login (sync, login->login, login->password);
  tern_imap_sync_set_offline_days (sync, 0);
  if (mode == MODE_CONDSTORE)
    tern_imap_sync_set_disabled_extensions (sync, no_qresync);
  else if (mode == MODE_PLAIN)
    tern_imap_sync_set_disabled_extensions (sync, neither);

  return sync;
}

static TernImapSyncStats
run_sync (TernImapSync *sync,
          const char   *folder)
{
  TernImapSyncStats stats = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_true (tern_imap_sync_run (sync, folder, &stats, NULL, &error));
  g_assert_no_error (error);
  return stats;
}

/* A second client */

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

static TernTestWire *
other_client (TernTestServers *servers,
              guint            user)
{
  const TernTestUser *login = tern_test_servers_get_user (servers, user);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *quoted_login = imap_quote (login->login);
  g_autofree char *command = g_strdup_printf ("LOGIN %s {%zu+}\r\n%s", quoted_login,
                                              strlen (login->password), login->password);
  g_autofree char *status = NULL;

  wire = tern_test_wire_connect (servers, servers->imaps_port, TERN_TEST_WIRE_FLAGS_TLS, &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  status = tern_test_wire_imap_command (wire, "L", command, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));

  return g_steal_pointer (&wire);
}

static char *
command (TernTestWire *wire,
         const char   *text,
         GString      *untagged)
{
  g_autoptr(GError) error = NULL;
  char *status = tern_test_wire_imap_command (wire, "C", text, untagged, &error);

  g_assert_no_error (error);
  return status;
}

static void
command_ok (TernTestWire *wire,
            const char   *text)
{
  g_autofree char *status = command (wire, text, NULL);

  if (!g_str_has_prefix (status, "OK"))
    g_error ("%s: %s", text, status);
}

static void
append_message (TernTestWire *wire,
                const char   *folder,
                const char   *subject,
                const char   *date)
{
  g_autofree char *message = g_strdup_printf ("From: Zoe <zoe@tern.test>\r\n"
                                              "To: someone@tern.test\r\n"
                                              "Subject: %s\r\n"
                                              "Message-ID: <%s@tern.test>\r\n"
                                              "\r\n"
                                              "Body of %s.\r\n",
                                              subject, subject, subject);
  g_autofree char *text = g_strdup_printf ("APPEND %s \"%s\" {%zu+}\r\n%s", folder, date,
                                           strlen (message), message);

  command_ok (wire, text);
}

static void
load (TernTestServers *servers,
      guint            user,
      const char      *folder,
      guint            count)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tern_test_servers_load_mailbox (servers,
                                                 tern_test_servers_get_user (servers, user)->login,
                                                 folder, count, &error));
  g_assert_no_error (error);
}

/* The flags of @uid in FETCH responses, as the server wrote them. */
static char *
flags_of (const char *untagged,
          guint32     uid)
{
  g_autofree char *needle = g_strdup_printf ("UID %u FLAGS (", uid);
  const char *start = strstr (untagged, needle);
  const char *end;

  g_assert_nonnull (start);
  end = strchr (start, ')');
  g_assert_nonnull (end);
  return g_strndup (start, end - start + 1);
}

/* Tests */

static void
test_first_sync_and_resync (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autofree char *dir = NULL;
  g_autofree char *folder = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats;
  gint64 started;

  if (servers == NULL)
    return;
  folder = g_strdup_printf ("First-%s", mode_names[mode]);
  load (servers, 0, folder, 600);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 0, mode);

  stats = run_sync (sync, folder);
  g_assert_cmpuint (stats.new_messages, ==, 600);
  g_assert_cmpint (folder_count (dir, folder), ==, 600);
  /* Known by their headers: subject, sender and threading, no body. */
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE body_state = 0"), ==, 600);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE message_id = "
                                   "'tern-load-1-17@tern.test'"), ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT count (DISTINCT conversation_id) FROM messages"), <, 600);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM folders WHERE role = 1"), ==, 1);

  /* Nothing changed: nothing to do, and quickly. */
  started = g_get_monotonic_time ();
  stats = run_sync (sync, folder);
  g_test_message ("no-change resync (%s): %.1f ms", mode_names[mode],
                  (g_get_monotonic_time () - started) / 1000.0);
  g_assert_cmpuint (stats.new_messages, ==, 0);
  g_assert_cmpuint (stats.flag_changes, ==, 0);
  g_assert_cmpuint (stats.expunged, ==, 0);
  g_assert_cmpint (folder_count (dir, folder), ==, 600);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
test_second_client_changes (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *select = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats;

  if (servers == NULL)
    return;
  folder = g_strdup_printf ("Shared-%s", mode_names[mode]);
  load (servers, 1, folder, 20);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 1, mode);
  run_sync (sync, folder);
  g_assert_cmpint (folder_count (dir, folder), ==, 20);

  /* Another device flags one message, reads another, deletes a third and
   * new mail arrives. */
  wire = other_client (servers, 1);
  select = g_strdup_printf ("SELECT %s", folder);
  command_ok (wire, select);
  command_ok (wire, "UID STORE 3 +FLAGS (\\Flagged)");
  command_ok (wire, "UID STORE 5 FLAGS (\\Seen $Work)");
  command_ok (wire, "UID STORE 7 +FLAGS (\\Deleted)");
  command_ok (wire, "UID EXPUNGE 7");
  append_message (wire, folder, "Late-news", "05-Mar-2024 10:00:00 +0000");

  stats = run_sync (sync, folder);
  g_assert_cmpuint (stats.new_messages, ==, 1);
  g_assert_cmpuint (stats.expunged, ==, 1);
  g_assert_cmpint (folder_count (dir, folder), ==, 20);
  g_assert_cmpint (index_int (dir, "SELECT flags & 4 FROM messages WHERE uid = 3"), ==, 4);
  g_assert_cmpint (index_int (dir, "SELECT flags & 1 FROM messages WHERE uid = 5"), ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT keywords = '$Work' FROM messages WHERE uid = 5"), ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE uid = 7"), ==, 0);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE subject = 'Late-news'"),
                   ==, 1);

  /* A flag taken away elsewhere goes here too. */
  command_ok (wire, "UID STORE 3 -FLAGS (\\Flagged)");
  run_sync (sync, folder);
  g_assert_cmpint (index_int (dir, "SELECT flags & 4 FROM messages WHERE uid = 3"), ==, 0);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
queue (TernStore      *store,
       TernActionKind  kind,
       gint64          id,
       gint64          target,
       guint           add)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;

  g_array_append_val (ids, id);
  tern_store_queue_action_async (store, kind, ids, target, add, 0, NULL, got_result_cb, &result);
  g_assert_cmpuint (tern_store_queue_action_finish (store, wait_for (&result), &error), ==, 1);
  g_assert_no_error (error);
}

static void
test_offline_actions_replayed (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autofree char *dir = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *target = NULL;
  g_autofree char *target_path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *status = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats;
  gint64 target_id;

  if (servers == NULL)
    return;
  folder = g_strdup_printf ("Queue-%s", mode_names[mode]);
  target = g_strdup_printf ("Kept-%s", mode_names[mode]);
  load (servers, 2, folder, 6);
  load (servers, 2, target, 1);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 2, mode);
  run_sync (sync, folder);
  run_sync (sync, target);
  g_clear_object (&sync);
  target_path = g_strdup (target);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT id FROM folders WHERE path = '%s'", target);

    target_id = index_int (dir, sql);
  }

  /* Offline: read, move and delete, then quit. */
  queue (store, TERN_ACTION_SET_FLAGS, message_id_of (dir, folder, 1), 0,
         TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED);
  queue (store, TERN_ACTION_MOVE, message_id_of (dir, folder, 2), target_id, 0);
  queue (store, TERN_ACTION_DELETE, message_id_of (dir, folder, 3), 0, 0);
  g_assert_cmpint (folder_count (dir, folder), ==, 4);
  g_assert_cmpint (folder_count (dir, target_path), ==, 2);
  close_store (&store);

  /* Back, and online. */
  store = open_store (dir);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions"), ==, 3);
  sync = new_sync (servers, store, 2, mode);
  stats = run_sync (sync, NULL);
  g_assert_cmpuint (stats.actions_replayed, ==, 3);
  g_assert_cmpuint (stats.actions_failed, ==, 0);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions"), ==, 0);

  /* The server has each change; the store agrees, and kept one copy of
   * the moved message, with its new UID. */
  wire = other_client (servers, 2);
  text = g_strdup_printf ("SELECT %s", folder);
  command_ok (wire, text);
  g_free (status);
  status = command (wire, "UID FETCH 1:* (UID FLAGS)", untagged);
  g_assert_true (g_str_has_prefix (status, "OK"));
  {
    g_autofree char *flags = flags_of (untagged->str, 1);

    g_assert_nonnull (strstr (flags, "\\Seen"));
    g_assert_nonnull (strstr (flags, "\\Flagged"));
  }
  g_assert_null (strstr (untagged->str, "UID 2 "));
  g_assert_null (strstr (untagged->str, "UID 3 "));
  g_assert_nonnull (strstr (untagged->str, "UID 4 "));

  g_string_truncate (untagged, 0);
  g_free (text);
  text = g_strdup_printf ("STATUS %s (MESSAGES)", target);
  g_free (status);
  status = command (wire, text, untagged);
  g_assert_nonnull (strstr (untagged->str, "MESSAGES 2"));

  g_assert_cmpint (folder_count (dir, folder), ==, 4);
  g_assert_cmpint (folder_count (dir, target_path), ==, 2);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE uid IS NULL"), ==, 0);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT flags & 5 FROM messages WHERE uid = 1 AND "
                                            "folder_id = (SELECT id FROM folders WHERE path = '%s')",
                                            folder);

    g_assert_cmpint (index_int (dir, sql), ==, 5);
  }

  /* A second run finds nothing to do. */
  stats = run_sync (sync, NULL);
  g_assert_cmpuint (stats.actions_replayed, ==, 0);
  g_assert_cmpuint (stats.new_messages, ==, 0);
  g_assert_cmpint (folder_count (dir, target_path), ==, 2);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
test_gone_message_drops_actions (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats;

  if (servers == NULL)
    return;
  load (servers, 2, "Vanishing", 4);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 2, MODE_QRESYNC);
  run_sync (sync, "Vanishing");

  /* Flagged here while another device deletes it. */
  queue (store, TERN_ACTION_SET_FLAGS, message_id_of (dir, "Vanishing", 2), 0,
         TERN_MESSAGE_FLAG_FLAGGED);
  wire = other_client (servers, 2);
  command_ok (wire, "SELECT Vanishing");
  command_ok (wire, "UID STORE 2 +FLAGS (\\Deleted)");
  command_ok (wire, "UID EXPUNGE 2");

  stats = run_sync (sync, "Vanishing");
  g_assert_cmpuint (stats.actions_failed, ==, 0);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions"), ==, 0);
  g_assert_cmpint (folder_count (dir, "Vanishing"), ==, 3);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
cancel_on_first_batch_cb (TernStore           *store,
                          TernStoreChangeKind  kind,
                          GArray              *folders,
                          GArray              *messages,
                          gpointer             user_data)
{
  if (kind == TERN_STORE_CHANGE_MESSAGES_ADDED)
    g_cancellable_cancel (user_data);
}

static void
test_cut_short_sync_recovers (gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *folder = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats = { 0 };
  gulong handler;
  gint64 kept;

  if (servers == NULL)
    return;
  folder = g_strdup_printf ("Cut-%s", mode_names[mode]);
  load (servers, 0, folder, 12000);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 0, mode);
  tern_imap_sync_set_first_batch (sync, 20);

  /* The first sync stops once the newest messages are in. */
  handler = g_signal_connect (store, "changed", G_CALLBACK (cancel_on_first_batch_cb),
                              cancellable);
  g_assert_false (tern_imap_sync_run (sync, folder, &stats, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_signal_handler_disconnect (store, handler);
  kept = folder_count (dir, folder);
  g_test_message ("kept %" G_GINT64_FORMAT " of 12000 before the cut", kept);
  g_assert_cmpint (kept, >=, 20);
  g_assert_cmpint (kept, <, 12000);
  /* The newest came first. */
  {
    g_autofree char *sql = g_strdup_printf ("SELECT max (uid) FROM messages WHERE folder_id = "
                                            "(SELECT id FROM folders WHERE path = '%s')", folder);

    g_assert_cmpint (index_int (dir, sql), ==, 12000);
  }

  /* The next sync fetches what the first left. */
  stats = run_sync (sync, folder);
  g_assert_cmpuint (stats.new_messages, ==, 12000 - kept);
  g_assert_cmpint (folder_count (dir, folder), ==, 12000);
  stats = run_sync (sync, folder);
  g_assert_cmpuint (stats.new_messages, ==, 0);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
test_uidvalidity_change (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats;
  gint64 before;

  if (servers == NULL)
    return;
  load (servers, 3, "Renewed", 5);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 3, MODE_QRESYNC);
  run_sync (sync, "Renewed");
  g_assert_cmpint (folder_count (dir, "Renewed"), ==, 5);
  before = index_int (dir, "SELECT uidvalidity FROM folders WHERE path = 'Renewed'");

  /* The folder is made anew on the server, with other mail. */
  wire = other_client (servers, 3);
  command_ok (wire, "DELETE Renewed");
  command_ok (wire, "CREATE Renewed");
  append_message (wire, "Renewed", "Fresh-one", "01-Feb-2024 10:00:00 +0000");
  append_message (wire, "Renewed", "Fresh-two", "02-Feb-2024 10:00:00 +0000");

  stats = run_sync (sync, "Renewed");
  g_assert_cmpuint (stats.resets, ==, 1);
  g_assert_cmpint (folder_count (dir, "Renewed"), ==, 2);
  g_assert_cmpint (index_int (dir, "SELECT uidvalidity FROM folders WHERE path = 'Renewed'"), !=,
                   before);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE subject LIKE 'Fresh-%'"),
                   ==, 2);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
test_bodies_and_archive (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernFolder) local = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *status = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *recent = g_date_time_format (now, "%d-%b-%Y %H:%M:%S +0000");
  TernImapSyncStats stats;
  guint moved = 0;

  if (servers == NULL)
    return;
  wire = other_client (servers, 3);
  command_ok (wire, "CREATE Old");
  append_message (wire, "Old", "Ancient-one", "01-Jan-2020 10:00:00 +0000");
  append_message (wire, "Old", "Ancient-two", "02-Jan-2020 10:00:00 +0000");
  append_message (wire, "Old", "Recent-one", recent);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 3, MODE_QRESYNC);

  /* Bodies of the last 30 days come with the sync; older ones on open. */
  tern_imap_sync_set_offline_days (sync, 30);
  stats = run_sync (sync, "Old");
  g_assert_cmpuint (stats.new_messages, ==, 3);
  g_assert_cmpuint (stats.bodies, ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT body_state FROM messages WHERE subject = 'Recent-one'"),
                   ==, TERN_BODY_STATE_COMPLETE);
  g_assert_true (tern_imap_sync_fetch_body (sync, index_int (dir, "SELECT id FROM messages WHERE "
                                                                  "subject = 'Ancient-one'"),
                                            NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (index_int (dir, "SELECT body_state FROM messages WHERE subject = 'Ancient-one'"),
                   ==, TERN_BODY_STATE_COMPLETE);

  /* Mail older than 30 days moves to this computer. */
  tern_store_ensure_folder_async (store, TERN_LOCAL_ACCOUNT, "Old mail", TERN_FOLDER_ROLE_LOCAL,
                                  NULL, got_result_cb, &result);
  local = tern_store_ensure_folder_finish (store, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (tern_imap_sync_archive (sync, "Old", 30, tern_folder_get_id (local), &moved, NULL,
                                         &error));
  g_assert_no_error (error);
  g_assert_cmpuint (moved, ==, 2);
  g_assert_cmpint (folder_count (dir, "Old mail"), ==, 2);
  g_assert_cmpint (folder_count (dir, "Old"), ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE body_state = 1 AND "
                                   "subject LIKE 'Ancient-%' AND folder_id = "
                                   "(SELECT id FROM folders WHERE path = 'Old mail')"), ==, 2);

  status = command (wire, "STATUS Old (MESSAGES)", untagged);
  g_assert_nonnull (strstr (untagged->str, "MESSAGES 1"));

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

static void
test_append_and_quota (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GBytes) draft = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  const char *text = "From: dave@tern.test\r\nTo: erin@tern.test\r\nSubject: Unfinished-draft\r\n"
                     "Message-ID: <draft-1@tern.test>\r\n\r\nTo be continued.\r\n";
  guint64 used = 0;
  guint64 limit = 0;
  guint32 uid = 0;

  if (servers == NULL)
    return;

  /* The quota plugin, for new connections, with room for every test. */
  g_assert_true (tern_test_servers_dovecot_set (servers, "mail_plugins", "$mail_plugins quota",
                                                &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "protocol imap/mail_plugins",
                                                "$mail_plugins imap_quota", &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "plugin/quota", "maildir:User quota",
                                                &error));
  g_assert_true (tern_test_servers_dovecot_set (servers, "plugin/quota_rule", "*:storage=1G",
                                                &error));
  g_assert_no_error (error);

  wire = other_client (servers, 3);
  command_ok (wire, "CREATE Drafts");

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 3, MODE_QRESYNC);
  draft = g_bytes_new_static (text, strlen (text));
  g_assert_true (tern_imap_sync_append (sync, "Drafts", draft,
                                        TERN_MESSAGE_FLAG_DRAFT | TERN_MESSAGE_FLAG_SEEN, &uid, NULL,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uid, >, 0);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT flags & 17 FROM messages WHERE uid = %u AND "
                                            "subject = 'Unfinished-draft' AND folder_id = "
                                            "(SELECT id FROM folders WHERE path = 'Drafts')", uid);

    g_assert_cmpint (index_int (dir, sql), ==, 17);
  }
  g_assert_cmpint (index_int (dir, "SELECT role FROM folders WHERE path = 'Drafts'"), ==,
                   TERN_FOLDER_ROLE_DRAFTS);

  g_assert_true (tern_imap_sync_get_quota (sync, &used, &limit, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (limit, ==, 1024 * 1024);
  g_assert_cmpuint (used, >, 0);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

/* Sent mail the outbox filed for upload */

typedef enum
{
  UPLOAD_UIDPLUS,
  UPLOAD_NO_UIDPLUS,
} UploadMode;

static gint64
sent_row_count (const char *dir,
                const char *message_id)
{
  /* The store keeps Message-IDs without their angle brackets. */
  g_autofree char *sql = g_strdup_printf ("SELECT count (*) FROM messages WHERE '<' || message_id "
                                          "|| '>' = '%s'", message_id);

  return index_int (dir, sql);
}

/* What the outbox does with a message it sent for an IMAP account: into
 * the queue, claimed, and filed in Sent for upload.  Returns the
 * message's id in the store. */
static gint64
send_through_outbox (TernStore  *store,
                     const char *account,
                     GBytes     *raw)
{
  const char *recipients[] = { "erin@tern.test", NULL };
  g_autoptr(GAsyncResult) added = NULL;
  g_autoptr(GAsyncResult) claimed = NULL;
  g_autoptr(GAsyncResult) filed = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(TernOutboxItem) sending = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_outbox_add_async (store, account, account, recipients, raw, 0, NULL, got_result_cb,
                               &added);
  item = tern_store_outbox_add_finish (store, wait_for (&added), &error);
  g_assert_no_error (error);
  tern_store_outbox_claim_async (store, account, g_get_real_time () / G_USEC_PER_SEC, NULL,
                                 got_result_cb, &claimed);
  sending = tern_store_outbox_claim_finish (store, wait_for (&claimed), &error);
  g_assert_no_error (error);
  g_assert_nonnull (sending);
  g_assert_cmpint (sending->id, ==, item->id);
  tern_store_outbox_sent_async (store, item->id, TERN_SENT_COPY_UPLOAD, NULL, got_result_cb,
                                &filed);
  g_assert_true (tern_store_outbox_change_finish (store, wait_for (&filed), &error));
  g_assert_no_error (error);

  return item->message_id;
}

/* The server's copies of @message_id in Sent: their UIDs, and the bytes
 * and FETCH data of the first. */
static GArray *
server_sent_copies (TernTestWire  *wire,
                    const char    *message_id,
                    GBytes       **out_raw,
                    char         **out_fetch)
{
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autofree char *search = g_strdup_printf ("UID SEARCH HEADER Message-ID %s", message_id);
  g_autofree char *status = NULL;
  GArray *uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  const char *p;

  command_ok (wire, "SELECT Sent");
  status = command (wire, search, untagged);
  g_assert_true (g_str_has_prefix (status, "OK"));
  p = strstr (untagged->str, "* SEARCH");
  g_assert_nonnull (p);
  p += strlen ("* SEARCH");
  while (*p == ' ')
    {
      char *end = NULL;
      guint32 uid = (guint32) g_ascii_strtoull (p + 1, &end, 10);

      if (end == p + 1)
        break;
      g_array_append_val (uids, uid);
      p = end;
    }

  if (uids->len > 0)
    {
      g_autofree char *fetch = g_strdup_printf ("UID FETCH %u (FLAGS INTERNALDATE BODY.PEEK[])",
                                                g_array_index (uids, guint32, 0));
      const char *open;
      char *end = NULL;
      guint64 size;

      g_string_truncate (untagged, 0);
      g_free (status);
      status = command (wire, fetch, untagged);
      g_assert_true (g_str_has_prefix (status, "OK"));
      open = strstr (untagged->str, "BODY[] {");
      g_assert_nonnull (open);
      size = g_ascii_strtoull (open + strlen ("BODY[] {"), &end, 10);
      g_assert_true (end[0] == '}' && end[1] == '\n');
      g_assert_cmpuint (untagged->len - (end + 2 - untagged->str), >=, size);
      *out_raw = g_bytes_new (end + 2, size);
      *out_fetch = g_strndup (untagged->str, open - untagged->str);
    }

  return uids;
}

static void
test_sent_copy_uploaded (gconstpointer data)
{
  UploadMode mode = GPOINTER_TO_INT (data);
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) on_server = NULL;
  g_autoptr(GArray) uids = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *text = NULL;
  g_autofree char *message_id = NULL;
  g_autofree char *fetched = NULL;
  g_autofree char *sql = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  const TernTestUser *user;
  const char *no_uidplus[] = { "UIDPLUS", NULL };
  TernImapSyncStats stats;
  gint64 id;
  gint64 sent_id;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 1);
  message_id = g_strdup_printf ("<sent-%s@tern.test>",
                                mode == UPLOAD_UIDPLUS ? "uidplus" : "no-uidplus");
  /* A body long enough, and with a bare line of dots and trailing spaces,
   * to show the upload keeps every byte. */
  text = g_strdup_printf ("From: %s\r\nTo: erin@tern.test\r\nSubject: Sent-copy\r\n"
                          "Date: Mon, 02 Jan 2023 10:00:00 +0000\r\nMessage-ID: %s\r\n"
                          "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "\r\nFirst line.  \r\n..\r\n.\r\nGr\xc3\xbc\xc3\x9f" "e\r\n",
                          user->login, message_id);
  raw = g_bytes_new (text, strlen (text));

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 1, MODE_QRESYNC);
  if (mode == UPLOAD_NO_UIDPLUS)
    tern_imap_sync_set_disabled_extensions (sync, no_uidplus);
  run_sync (sync, "Sent");
  sent_id = index_int (dir, "SELECT id FROM folders WHERE path = 'Sent'");
  g_assert_cmpint (index_int (dir, "SELECT role FROM folders WHERE path = 'Sent'"), ==,
                   TERN_FOLDER_ROLE_SENT);

  /* Sent and filed: in Sent here, not on the server yet. */
  id = send_through_outbox (store, user->login, raw);
  sql = g_strdup_printf ("SELECT folder_id FROM messages WHERE id = %" G_GINT64_FORMAT
                         " AND uid IS NULL", id);
  g_assert_cmpint (index_int (dir, sql), ==, sent_id);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions WHERE kind = 16"), ==,
                   1);

  stats = run_sync (sync, "Sent");
  g_assert_cmpuint (stats.actions_replayed, ==, 1);
  g_assert_cmpuint (stats.actions_failed, ==, 0);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions"), ==, 0);

  /* The server's Sent holds it once, to the byte, read, dated by its
   * Date header. */
  wire = other_client (servers, 1);
  uids = server_sent_copies (wire, message_id, &on_server, &fetched);
  g_assert_cmpuint (uids->len, ==, 1);
  g_assert_true (g_bytes_equal (on_server, raw));
  g_assert_nonnull (strstr (fetched, "\\Seen"));
  g_assert_nonnull (strstr (fetched, "INTERNALDATE \"02-Jan-2023 10:00:00 +0000\""));

  /* One copy here too, with the server's UID: with APPENDUID the very row
   * the outbox filed, else the server's copy, fetched by the sync. */
  g_assert_cmpint (sent_row_count (dir, message_id), ==, 1);
  g_free (sql);
  sql = g_strdup_printf ("SELECT count (*) FROM messages WHERE folder_id = %" G_GINT64_FORMAT
                         " AND uid = %u AND '<' || message_id || '>' = '%s'", sent_id,
                         g_array_index (uids, guint32, 0), message_id);
  g_assert_cmpint (index_int (dir, sql), ==, 1);
  g_free (sql);
  sql = g_strdup_printf ("SELECT count (*) FROM messages WHERE id = %" G_GINT64_FORMAT, id);
  if (mode == UPLOAD_UIDPLUS)
    {
      g_assert_cmpint (index_int (dir, sql), ==, 1);
      g_assert_cmpuint (stats.new_messages, ==, 0);
    }
  else
    {
      g_assert_cmpint (index_int (dir, sql), ==, 0);
      g_assert_cmpuint (stats.new_messages, ==, 1);
    }

  /* A second sync, after a restart, neither fetches it again nor loses
   * it. */
  g_clear_object (&sync);
  close_store (&store);
  store = open_store (dir);
  sync = new_sync (servers, store, 1, MODE_QRESYNC);
  stats = run_sync (sync, "Sent");
  g_assert_cmpuint (stats.actions_replayed, ==, 0);
  g_assert_cmpuint (stats.new_messages, ==, 0);
  g_assert_cmpint (sent_row_count (dir, message_id), ==, 1);
  g_array_unref (g_steal_pointer (&uids));
  g_clear_pointer (&on_server, g_bytes_unref);
  g_clear_pointer (&fetched, g_free);
  uids = server_sent_copies (wire, message_id, &on_server, &fetched);
  g_assert_cmpuint (uids->len, ==, 1);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

/* An account with no Sent folder on the server gets one, and the upload
 * waits here until then. */
static void
test_sent_folder_made (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) on_server = NULL;
  g_autoptr(GArray) uids = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *fetched = NULL;
  g_autofree char *sql = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(GError) error = NULL;
  const char *text = "From: x@tern.test\r\nTo: erin@tern.test\r\nSubject: Made-sent\r\n"
                     "Message-ID: <made-sent@tern.test>\r\n\r\nHello.\r\n";
  TernImapSyncStats stats;
  const char *account;
  gint64 id;

  if (servers == NULL)
    return;
  account = tern_test_servers_get_user (servers, 0)->login;
  raw = g_bytes_new_static (text, strlen (text));

  /* Sent before the store knew any folder of the account: the copy waits
   * in the local Sent, marked for "the account's Sent folder". */
  dir = make_dir ();
  store = open_store (dir);
  id = send_through_outbox (store, account, raw);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions WHERE kind = 16 "
                                   "AND folder_id IS NULL"), ==, 1);

  /* The server has no Sent folder: Dovecot stops making one of its own
   * (for new connections); nothing ever put mail in this user's. */
  g_assert_true (tern_test_servers_dovecot_set (servers, "namespace inbox/mailbox Sent/auto", "no",
                                                &error));
  g_assert_no_error (error);
  wire = other_client (servers, 0);
  {
    g_autoptr(GString) listed = g_string_new (NULL);
    g_autofree char *status = command (wire, "LIST \"\" \"*\"", listed);

    g_assert_true (g_str_has_prefix (status, "OK"));
    g_assert_null (strstr (listed->str, "Sent"));
  }

  sync = new_sync (servers, store, 0, MODE_QRESYNC);
  g_assert_true (tern_imap_sync_replay (sync, &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.actions_replayed, ==, 1);

  uids = server_sent_copies (wire, "<made-sent@tern.test>", &on_server, &fetched);
  g_assert_cmpuint (uids->len, ==, 1);
  g_assert_true (g_bytes_equal (on_server, raw));
  sql = g_strdup_printf ("SELECT uid FROM messages WHERE id = %" G_GINT64_FORMAT
                         " AND folder_id = (SELECT id FROM folders WHERE path = 'Sent' "
                         "AND remote_name IS NOT NULL)", id);
  g_assert_cmpint (index_int (dir, sql), ==, g_array_index (uids, guint32, 0));
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions"), ==, 0);

  g_assert_true (tern_test_servers_dovecot_set (servers, "namespace inbox/mailbox Sent/auto", NULL,
                                                &error));
  g_assert_no_error (error);
  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

/* An action of a kind Tern does not know keeps its error and holds back
 * none of the actions after it. */
static void
test_unknown_action_kind (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autofree char *dir = NULL;
  g_autofree char *status = NULL;
  g_autofree char *path = NULL;
  g_autofree char *sql = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats;
  const char *account;
  sqlite3 *db = NULL;

  if (servers == NULL)
    return;
  account = tern_test_servers_get_user (servers, 3)->login;
  load (servers, 3, "Unknown-kind", 2);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 3, MODE_QRESYNC);
  run_sync (sync, "Unknown-kind");
  g_clear_object (&sync);
  close_store (&store);

  /* A row as a later version of Tern might leave, queued first. */
  path = g_build_filename (dir, "store.sqlite", NULL);
  sql = g_strdup_printf ("INSERT INTO pending_actions (account, folder_id, kind, message_ids, "
                         "uids, created) VALUES ('%s', (SELECT id FROM folders WHERE path = "
                         "'Unknown-kind'), 99, '%" G_GINT64_FORMAT "', '1', 1)",
                         account, message_id_of (dir, "Unknown-kind", 1));
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = open_store (dir);
  queue (store, TERN_ACTION_SET_FLAGS, message_id_of (dir, "Unknown-kind", 2), 0,
         TERN_MESSAGE_FLAG_FLAGGED);
  sync = new_sync (servers, store, 3, MODE_QRESYNC);
  stats = run_sync (sync, NULL);
  g_assert_cmpuint (stats.actions_failed, ==, 1);
  g_assert_cmpuint (stats.actions_replayed, ==, 1);

  /* The action after it reached the server. */
  wire = other_client (servers, 3);
  command_ok (wire, "SELECT Unknown-kind");
  status = command (wire, "UID FETCH 2 (FLAGS)", untagged);
  g_assert_true (g_str_has_prefix (status, "OK"));
  g_assert_nonnull (strstr (untagged->str, "\\Flagged"));

  /* The unknown one stays, with what went wrong, and keeps nothing back
   * the next time either. */
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM pending_actions"), ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT attempts FROM pending_actions WHERE kind = 99 AND "
                                   "last_error LIKE '%Unknown queued action 99%'"), ==, 1);
  stats = run_sync (sync, NULL);
  g_assert_cmpuint (stats.actions_failed, ==, 1);
  g_assert_cmpint (index_int (dir, "SELECT attempts FROM pending_actions WHERE kind = 99"), ==, 2);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

typedef struct
{
  TernImapSync *sync;
  GCancellable *cancellable;
  gint arrived;
  GError *error;
} Watch;

static void
new_mail_cb (const char *path,
             GArray     *ids,
             gpointer    user_data)
{
  Watch *watch = user_data;

  g_atomic_int_add (&watch->arrived, ids->len);
}

static gpointer
watch_thread (gpointer data)
{
  Watch *watch = data;
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  tern_imap_sync_watch (watch->sync, new_mail_cb, watch, watch->cancellable, &watch->error);
  tern_imap_sync_disconnect (watch->sync);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  return NULL;
}

static void
test_idle_push (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(GThread) thread = NULL;
  Watch watch = { 0 };
  gint64 deadline;
  gint64 sent;

  if (servers == NULL)
    return;
  load (servers, 0, "INBOX", 3);

  dir = make_dir ();
  store = open_store (dir);
  sync = new_sync (servers, store, 0, MODE_QRESYNC);
  watch.sync = sync;
  watch.cancellable = cancellable;
  thread = g_thread_new ("watch", watch_thread, &watch);

  /* The first sync of the INBOX. */
  deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  while (g_atomic_int_get (&watch.arrived) < 3 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (10000);
  g_assert_cmpint (g_atomic_int_get (&watch.arrived), ==, 3);

  /* New mail shows within seconds. */
  g_usleep (G_USEC_PER_SEC / 2);
  wire = other_client (servers, 0);
  sent = g_get_monotonic_time ();
  append_message (wire, "INBOX", "Pushed", "06-Mar-2024 10:00:00 +0000");
  while (g_atomic_int_get (&watch.arrived) < 4 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (10000);
  g_assert_cmpint (g_atomic_int_get (&watch.arrived), ==, 4);
  g_test_message ("IDLE push: %.0f ms", (g_get_monotonic_time () - sent) / 1000.0);
  g_assert_cmpint (index_int (dir, "SELECT count (*) FROM messages WHERE subject = 'Pushed'"),
                   ==, 1);

  g_cancellable_cancel (cancellable);
  g_thread_join (g_steal_pointer (&thread));
  g_assert_error (watch.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&watch.error);

  g_clear_object (&sync);
  close_store (&store);
  remove_tree (dir);
}

/* tern-cli */

static char *
run_cli (const char  *root,
         int         *out_status,
         const char  *first,
         ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  const char *arg;
  va_list ap;
  int status = -1;

  g_ptr_array_add (args, (char *) TERN_CLI_PATH);
  g_ptr_array_add (args, (char *) "--data-dir");
  g_ptr_array_add (args, (char *) root);
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  if (err != NULL && *err != '\0')
    g_test_message ("tern-cli: %s", err);
  *out_status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
  return out;
}

/* The median of three numbers. */
static double
middle_of (JsonArray *runs)
{
  double a = json_array_get_double_element (runs, 0);
  double b = json_array_get_double_element (runs, 1);
  double c = json_array_get_double_element (runs, 2);

  return MAX (MIN (a, b), MIN (MAX (a, b), c));
}

static void
test_cli_bench_imap (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *out = NULL;
  g_autofree char *port = NULL;
  const TernTestUser *user;
  JsonObject *figures;
  JsonArray *tern_runs;
  JsonArray *raw_runs;
  int status;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 1);
  load (servers, 1, "BenchBox", 60);
  root = make_dir ();
  port = g_strdup_printf ("%u", servers->imaps_port);

  out = run_cli (root, &status, "bench", "imap", "--headers-only", "--rounds", "3", "--json",
                 "--host", servers->hostname, "--port", port, "--user", user->login,
                 "--password", user->password, "--ca-file", servers->ca_file,
                 "--folder", "BenchBox", NULL);
  g_assert_cmpint (status, ==, 0);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  figures = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpint (json_object_get_int_member (figures, "messages"), ==, 60);
  g_assert_cmpint (json_object_get_int_member (figures, "rounds"), ==, 3);
  tern_runs = json_object_get_array_member (figures, "tern_header_sync_runs_s");
  raw_runs = json_object_get_array_member (figures, "raw_fetch_runs_s");
  g_assert_cmpuint (json_array_get_length (tern_runs), ==, 3);
  g_assert_cmpuint (json_array_get_length (raw_runs), ==, 3);
  /* Each figure is the median of its turns. */
  g_assert_cmpfloat (json_object_get_double_member (figures, "tern_header_sync_s"), ==,
                     middle_of (tern_runs));
  g_assert_cmpfloat (json_object_get_double_member (figures, "raw_fetch_s"), ==,
                     middle_of (raw_runs));
  g_assert_cmpfloat (middle_of (tern_runs), >, 0);
  g_assert_cmpfloat (json_object_get_double_member (figures, "resync_ms"), >, 0);
  g_assert_cmpfloat (json_object_get_double_member (figures, "peak_rss_mb"), >, 0);
  /* Without the full sync, its figures are null. */
  g_assert_true (json_object_get_null_member (figures, "tern_full_sync_s"));
  g_assert_true (json_object_get_null_member (figures, "mbsync_s"));

  /* Turns are counted from one. */
  g_free (out);
  out = run_cli (root, &status, "bench", "imap", "--rounds", "0", "--host", servers->hostname,
                 "--user", user->login, "--password", user->password, NULL);
  g_assert_cmpint (status, !=, 0);

  remove_tree (root);
}

static void
test_cli (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const TernTestUser *user;
  g_autofree char *root = NULL;
  g_autofree char *accounts = NULL;
  g_autofree char *ini = NULL;
  g_autofree char *ini_path = NULL;
  g_autofree char *data = NULL;
  g_autofree char *out = NULL;
  g_autofree char *id = NULL;
  g_autofree char *status_text = NULL;
  int status;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 1);
  load (servers, 1, "CliBox", 5);

  root = make_dir ();
  accounts = g_build_filename (root, "config", "accounts", NULL);
  g_assert_cmpint (g_mkdir_with_parents (accounts, 0700), ==, 0);
  /* Dovecot lets its own address log in without TLS; the account says
   * "none" in so many words. */
  ini = g_strdup_printf ("[Account]\nName=Cli\nOfflineDays=30\n"
                         "[Receiving]\nProtocol=imap\nHost=%s\nPort=%u\nSecurity=none\n"
                         "Username=%s\nPasswordCommand=printf '%%s\\n' '%s'\n"
                         "[Sending]\nHost=%s\nPort=587\n"
                         "[Identity 1]\nAddress=%s\n",
                         servers->host, servers->imap_port, user->login, user->password,
                         servers->host, user->login);
  ini_path = g_build_filename (accounts, "cli.ini", NULL);
  g_assert_true (g_file_set_contents (ini_path, ini, -1, &error));
  g_assert_no_error (error);
  data = g_build_filename (root, "data", NULL);

  out = run_cli (root, &status, "sync", "cli", "--folder", "CliBox", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "5 new"));
  g_assert_cmpint (folder_count (data, "CliBox"), ==, 5);

  /* Flagged here and at once on the server. */
  id = g_strdup_printf ("%" G_GINT64_FORMAT, message_id_of (data, "CliBox", 4));
  g_free (out);
  out = run_cli (root, &status, "flag", id, NULL);
  g_assert_cmpint (status, ==, 0);
  wire = other_client (servers, 1);
  command_ok (wire, "SELECT CliBox");
  status_text = command (wire, "UID FETCH 4 (FLAGS)", untagged);
  g_assert_nonnull (strstr (untagged->str, "\\Flagged"));

  /* Deleted offline: gone here, on the server after the next sync. */
  g_free (out);
  out = run_cli (root, &status, "delete", "--offline", id, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpint (folder_count (data, "CliBox"), ==, 4);
  g_assert_cmpint (index_int (data, "SELECT count (*) FROM pending_actions"), ==, 1);
  g_free (out);
  out = run_cli (root, &status, "sync", "cli", "--folder", "CliBox", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "1 actions replayed"));
  g_string_truncate (untagged, 0);
  g_free (status_text);
  command_ok (wire, "NOOP");
  status_text = command (wire, "UID SEARCH ALL", untagged);
  g_assert_nonnull (strstr (untagged->str, "SEARCH 1 2 3 5"));

  /* Over IMAPS, with the harness's own CA unknown to the system: refused
   * until the user trusts the certificate, then pinned. */
  {
    g_autofree char *tls_ini = g_strdup_printf ("[Account]\nName=Tls\nOfflineDays=30\n"
                                                "[Receiving]\nProtocol=imap\nHost=%s\nPort=%u\n"
                                                "Security=tls\nUsername=%s\n"
                                                "PasswordCommand=printf '%%s\\n' '%s'\n"
                                                "[Sending]\nHost=%s\nPort=587\n"
                                                "[Identity 1]\nAddress=%s\n",
                                                servers->host, servers->imaps_port, user->login,
                                                user->password, servers->host, user->login);
    g_autofree char *tls_path = g_build_filename (accounts, "tls.ini", NULL);
    g_autofree char *server = g_strdup_printf ("%s:%u", servers->host, servers->imaps_port);

    g_assert_true (g_file_set_contents (tls_path, tls_ini, -1, &error));
    g_free (out);
    out = run_cli (root, &status, "sync", "tls", "--folder", "CliBox", NULL);
    g_assert_cmpint (status, ==, 1);
    g_free (out);
    out = run_cli (root, &status, "trust", server, "--starttls", "none", "--yes", NULL);
    g_assert_cmpint (status, ==, 0);
    g_free (out);
    out = run_cli (root, &status, "sync", "tls", "--folder", "CliBox", NULL);
    g_assert_cmpint (status, ==, 0);
    g_assert_nonnull (strstr (out, "tls: 1 folders"));
  }

  /* An unknown account is a clear error. */
  g_free (out);
  out = run_cli (root, &status, "quota", "nobody", NULL);
  g_assert_cmpint (status, ==, 1);

  remove_tree (root);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (Mode mode = MODE_QRESYNC; mode <= MODE_PLAIN; mode++)
    {
      g_autofree char *first = g_strdup_printf ("/imap-sync/%s/first-sync-then-resync-without-changes",
                                                mode_names[mode]);
      g_autofree char *second = g_strdup_printf ("/imap-sync/%s/second-client-changes-show-up",
                                                 mode_names[mode]);
      g_autofree char *offline = g_strdup_printf ("/imap-sync/%s/offline-actions-replayed-after-restart",
                                                  mode_names[mode]);

      g_test_add_data_func (first, GINT_TO_POINTER (mode), test_first_sync_and_resync);
      g_test_add_data_func (second, GINT_TO_POINTER (mode), test_second_client_changes);
      g_test_add_data_func (offline, GINT_TO_POINTER (mode), test_offline_actions_replayed);
      g_free (first);
      first = g_strdup_printf ("/imap-sync/%s/sync-cut-short-recovers", mode_names[mode]);
      g_test_add_data_func (first, GINT_TO_POINTER (mode), test_cut_short_sync_recovers);
    }
  g_test_add_func ("/imap-sync/gone-message-drops-its-actions", test_gone_message_drops_actions);
  g_test_add_func ("/imap-sync/uidvalidity-change-resets-the-folder", test_uidvalidity_change);
  g_test_add_func ("/imap-sync/bodies-and-archive-to-this-computer", test_bodies_and_archive);
  g_test_add_func ("/imap-sync/idle-push", test_idle_push);
  g_test_add_func ("/imap-sync/append-a-draft-and-read-the-quota", test_append_and_quota);
  g_test_add_func ("/imap-sync/cli/sync-flag-and-offline-delete", test_cli);
  g_test_add_func ("/imap-sync/cli/bench-imap-gives-medians-of-its-turns", test_cli_bench_imap);
  g_test_add_data_func ("/imap-sync/sent-copy/uploaded-with-appenduid",
                        GINT_TO_POINTER (UPLOAD_UIDPLUS), test_sent_copy_uploaded);
  g_test_add_data_func ("/imap-sync/sent-copy/uploaded-without-appenduid",
                        GINT_TO_POINTER (UPLOAD_NO_UIDPLUS), test_sent_copy_uploaded);
  g_test_add_func ("/imap-sync/sent-copy/sent-folder-made-on-the-server", test_sent_folder_made);
  g_test_add_func ("/imap-sync/unknown-action-kind-blocks-nothing", test_unknown_action_kind);

  return g_test_run ();
}
