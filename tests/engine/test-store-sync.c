/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "tern-message-flags.h"
#include "tern-message-list-model.h"
#include "tern-store-outbox.h"
#include "tern-store-sync.h"
#include "tern-store.h"
#include "tern-test-util.h"

/*
 * The store's side of IMAP folder sync: folders from a server's LIST,
 * their sync state, UID maps, messages known by their headers and their
 * bodies later, server flag changes and expunges, a UIDVALIDITY reset,
 * and the offline action queue across a restart, with the uploads of
 * sent mail the outbox queues.
 */

#define ACCOUNT "work"
#define JAN_01_2024 G_GINT64_CONSTANT (1704067200)
#define DAY (G_GINT64_CONSTANT (86400))

typedef struct
{
  char *dir;
  TernStore *store;
  GPtrArray *changes;
} Fixture;

typedef struct
{
  TernStoreChangeKind kind;
  GArray *folders;
  GArray *messages;
} Change;

static void
change_free (Change *change)
{
  g_array_unref (change->folders);
  g_clear_pointer (&change->messages, g_array_unref);
  g_free (change);
}

static void
store_changed_cb (TernStore           *store,
                  TernStoreChangeKind  kind,
                  GArray              *folders,
                  GArray              *messages,
                  Fixture             *fixture)
{
  Change *change = g_new0 (Change, 1);

  change->kind = kind;
  change->folders = g_array_ref (folders);
  change->messages = messages != NULL ? g_array_ref (messages) : NULL;
  g_ptr_array_add (fixture->changes, change);
}

static void
watch_store (Fixture *fixture)
{
  g_signal_connect (fixture->store, "changed", G_CALLBACK (store_changed_cb), fixture);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->dir = tern_test_make_temp_dir ("tern-store-sync-XXXXXX");
  fixture->store = tern_test_open_store (fixture->dir);
  fixture->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) change_free);
  watch_store (fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  tern_test_close_store (&fixture->store);
  tern_test_remove_tree (fixture->dir);
  g_ptr_array_unref (fixture->changes);
  g_free (fixture->dir);
}

static void
fixture_reopen (Fixture *fixture)
{
  tern_test_close_store (&fixture->store);
  fixture->store = tern_test_open_store (fixture->dir);
  watch_store (fixture);
}

/* Whether a change of @kind naming message @id was heard. */
static gboolean
heard (Fixture             *fixture,
       TernStoreChangeKind  kind,
       gint64               id)
{
  tern_test_drain_main_context ();

  for (guint i = 0; i < fixture->changes->len; i++)
    {
      Change *change = g_ptr_array_index (fixture->changes, i);

      if (change->kind != kind || change->messages == NULL)
        continue;
      for (guint j = 0; j < change->messages->len; j++)
        {
          if (g_array_index (change->messages, gint64, j) == id)
            return TRUE;
        }
    }

  return FALSE;
}

static gint64
index_int (Fixture    *fixture,
           const char *sql)
{
  g_autofree char *path = g_build_filename (fixture->dir, "store.sqlite", NULL);
  sqlite3 *db = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  value = tern_test_query_int (db, sql);
  sqlite3_close (db);

  return value;
}

/* Runs @sql, which gives one text, on the index beside the store. */
static char *
index_text (Fixture    *fixture,
            const char *sql)
{
  g_autofree char *path = g_build_filename (fixture->dir, "store.sqlite", NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return value;
}

/* Runs @sql on the bodies database, beside the store. */
static void
bodies_exec (Fixture    *fixture,
             const char *sql)
{
  g_autofree char *path = g_build_filename (fixture->dir, "bodies.sqlite", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* FTS5 checks its index against itself: a search entry taken out with
 * other words than it was made with fails this. */
static void
assert_search_index_sound (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->dir, "store.sqlite", NULL);
  sqlite3 *db = NULL;
  char *message = NULL;
  int rc;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  rc = sqlite3_exec (db, "INSERT INTO message_fts (message_fts, rank) VALUES ('integrity-check', 1)",
                     NULL, NULL, &message);
  if (rc != SQLITE_OK)
    g_error ("The search index is damaged: %s", message);
  sqlite3_close (db);
}

/* Store calls, waited for */

static GPtrArray *
update_folders (TernStore *store,
                GPtrArray *remote)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  tern_store_update_remote_folders_async (store, ACCOUNT, remote, NULL, tern_test_got_result_cb,
                                          &result);
  folders = tern_store_update_remote_folders_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  return folders;
}

static TernSyncFolder *
find_folder (GPtrArray  *folders,
             const char *path)
{
  for (guint i = 0; i < folders->len; i++)
    {
      TernSyncFolder *folder = g_ptr_array_index (folders, i);

      if (g_strcmp0 (folder->path, path) == 0)
        return folder;
    }

  return NULL;
}

static GPtrArray *
list_sync_folders (TernStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  tern_store_list_sync_folders_async (store, ACCOUNT, NULL, tern_test_got_result_cb, &result);
  folders = tern_store_list_sync_folders_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  return folders;
}

static TernRemoteFolder *
remote (const char     *name,
        char            delimiter,
        TernFolderRole  role)
{
  TernRemoteFolder *folder = tern_remote_folder_new (name, name, delimiter);

  folder->role = role;
  return folder;
}

/* The INBOX and Sent of a server, for tests that need a folder. */
static gint64
server_inbox (TernStore *store)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_remote_folder_free);
  g_autoptr(GPtrArray) folders = NULL;

  g_ptr_array_add (list, remote ("INBOX", '/', TERN_FOLDER_ROLE_INBOX));
  g_ptr_array_add (list, remote ("Archive", '/', TERN_FOLDER_ROLE_ARCHIVE));
  g_ptr_array_add (list, remote ("Trash", '/', TERN_FOLDER_ROLE_TRASH));
  folders = update_folders (store, list);

  return find_folder (folders, "INBOX")->id;
}

static gint64
folder_id (TernStore  *store,
           const char *path)
{
  g_autoptr(GPtrArray) folders = list_sync_folders (store);
  TernSyncFolder *folder = find_folder (folders, path);

  g_assert_nonnull (folder);
  return folder->id;
}

static TernHeaderMessage *
header_message (guint32     uid,
                const char *subject,
                const char *from,
                const char *message_id,
                const char *references,
                gint64      date)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (date);
  g_autofree char *rfc_date = tern_test_rfc_date (when);
  g_autoptr(GBytes) header = NULL;

  g_string_append_printf (text, "From: %s\r\nTo: Team <team@example.org>\r\nSubject: %s\r\n"
                          "Date: %s\r\nMessage-ID: <%s>\r\n",
                          from, subject, rfc_date, message_id);
  if (references != NULL)
    g_string_append_printf (text, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", references,
                            references);
  g_string_append (text, "\r\n");
  header = g_bytes_new (text->str, text->len);

  return tern_header_message_new (header, uid, 0, date, 4000 + uid);
}

static GBytes *
full_message (const char *subject,
              const char *from,
              const char *message_id,
              const char *references,
              gint64      date,
              const char *body)
{
  g_autoptr(TernHeaderMessage) header = header_message (0, subject, from, message_id, references,
                                                        date);
  g_autoptr(GString) text = g_string_new_len (g_bytes_get_data (header->header, NULL),
                                              g_bytes_get_size (header->header));

  /* The header section is the same as header_message()'s: the body
   * follows its blank line. */
  g_string_append (text, body);
  return g_bytes_new (text->str, text->len);
}

static GArray *
add_headers (TernStore *store,
             gint64     folder,
             GPtrArray *messages)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GArray *ids;

  tern_store_add_headers_async (store, folder, messages, NULL, tern_test_got_result_cb, &result);
  ids = tern_store_add_headers_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, messages->len);

  return ids;
}

/* Adds messages UID 1..@count with subjects "Message N", newest last. */
static GArray *
add_numbered (TernStore *store,
              gint64     folder,
              guint      count)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);

  for (guint i = 1; i <= count; i++)
    {
      g_autofree char *subject = g_strdup_printf ("Message %u", i);
      g_autofree char *message_id = g_strdup_printf ("m%u@example.org", i);

      g_ptr_array_add (messages, header_message (i, subject, "Ann <ann@example.org>", message_id,
                                                 NULL, JAN_01_2024 + i * DAY));
    }

  return add_headers (store, folder, messages);
}

static TernMessage *
get_message (TernStore *store,
             gint64     id,
             GError   **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_get_message_async (store, id, NULL, tern_test_got_result_cb, &result);
  return tern_store_get_message_finish (store, tern_test_wait_for (&result), error);
}

static GArray *
search (TernStore  *store,
        const char *query)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GArray *ids;

  tern_store_search_async (store, query, 0, 0, NULL, tern_test_got_result_cb, &result);
  ids = tern_store_search_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  return ids;
}

static guint
search_count (TernStore  *store,
              const char *query)
{
  g_autoptr(GArray) ids = search (store, query);

  return ids->len;
}

static TernUidMap *
uid_map (TernStore *store,
         gint64     folder,
         guint32    after,
         guint      limit)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernUidMap *map;

  tern_store_get_uid_map_async (store, folder, after, limit, NULL, tern_test_got_result_cb,
                                &result);
  map = tern_store_get_uid_map_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  return map;
}

static void
attach (TernStore *store,
        gint64     id,
        GBytes    *raw,
        guint      expected)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) raws = g_ptr_array_new ();

  g_array_append_val (ids, id);
  g_ptr_array_add (raws, raw);
  tern_store_attach_bodies_async (store, ids, raws, NULL, tern_test_got_result_cb, &result);
  g_assert_cmpuint (tern_store_attach_bodies_finish (store, tern_test_wait_for (&result), &error),
                    ==, expected);
  g_assert_no_error (error);
}

static void
apply_changes (TernStore *store,
               gint64     folder,
               GPtrArray *updates,
               GArray    *gone,
               gint64     highestmodseq)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_apply_server_changes_async (store, folder, updates, gone, highestmodseq, NULL,
                                         tern_test_got_result_cb, &result);
  g_assert_true (tern_store_apply_server_changes_finish (store, tern_test_wait_for (&result),
                                                         NULL, &error));
  g_assert_no_error (error);
}

static guint
queue_action (TernStore      *store,
              TernActionKind  kind,
              gint64          id,
              gint64          target,
              guint           add,
              guint           remove,
              GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_append_val (ids, id);
  tern_store_queue_action_async (store, kind, ids, target, add, remove, NULL,
                                 tern_test_got_result_cb, &result);
  return tern_store_queue_action_finish (store, tern_test_wait_for (&result), error);
}

static GPtrArray *
list_actions (TernStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *actions;

  tern_store_list_actions_async (store, ACCOUNT, NULL, tern_test_got_result_cb, &result);
  actions = tern_store_list_actions_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  return actions;
}

static void
finish_action (TernStore  *store,
               gint64      action,
               guint32     new_uid,
               const char *failure)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));

  g_array_append_val (uids, new_uid);
  tern_store_finish_action_async (store, action, new_uid > 0 ? uids : NULL, failure, NULL,
                                  tern_test_got_result_cb, &result);
  g_assert_true (tern_store_finish_action_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
}

static void
set_state (TernStore *store,
           gint64     folder,
           gint64     uidvalidity,
           gint64     uidnext,
           gint64     highestmodseq)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_set_folder_state_async (store, folder, uidvalidity, uidnext, highestmodseq, NULL,
                                     tern_test_got_result_cb, &result);
  g_assert_true (tern_store_set_folder_state_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
}

static void
reset_folder (TernStore *store,
              gint64     folder,
              gint64     uidvalidity)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_reset_folder_async (store, folder, uidvalidity, NULL, tern_test_got_result_cb,
                                 &result);
  g_assert_true (tern_store_reset_folder_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
}

/* Tests */

static void
test_path_from_remote (void)
{
  g_autofree char *dotted = tern_store_path_from_remote ("INBOX.Lists.dev", '.');
  g_autofree char *slashed = tern_store_path_from_remote ("Lists/dev", '/');
  g_autofree char *slash_in_level = tern_store_path_from_remote ("a/b.c", '.');
  g_autofree char *flat = tern_store_path_from_remote ("Sent Items", '\0');

  g_assert_cmpstr (dotted, ==, "INBOX/Lists/dev");
  g_assert_cmpstr (slashed, ==, "Lists/dev");
  g_assert_cmpstr (slash_in_level, ==, "a\xe2\x88\x95" "b/c");
  g_assert_cmpstr (flat, ==, "Sent Items");
}

static void
test_folders_follow_server_list (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_remote_folder_free);
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernFolder) local = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  TernRemoteFolder *lists;
  TernSyncFolder *dev;
  gint64 dev_id;

  tern_store_ensure_folder_async (fixture->store, TERN_LOCAL_ACCOUNT, "Kept", TERN_FOLDER_ROLE_LOCAL,
                                  NULL, tern_test_got_result_cb, &result);
  local = tern_store_ensure_folder_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  g_ptr_array_add (list, remote ("INBOX", '.', TERN_FOLDER_ROLE_INBOX));
  g_ptr_array_add (list, remote ("INBOX.Sent", '.', TERN_FOLDER_ROLE_SENT));
  lists = remote ("Lists", '.', TERN_FOLDER_ROLE_NONE);
  lists->selectable = FALSE;
  g_ptr_array_add (list, lists);
  g_ptr_array_add (list, remote ("Lists.dev", '.', TERN_FOLDER_ROLE_NONE));
  ((TernRemoteFolder *) g_ptr_array_index (list, 3))->subscribed = FALSE;

  folders = update_folders (fixture->store, list);
  g_assert_cmpuint (folders->len, ==, 4);
  g_assert_cmpint (find_folder (folders, "INBOX")->role, ==, TERN_FOLDER_ROLE_INBOX);
  g_assert_cmpint (find_folder (folders, "INBOX/Sent")->role, ==, TERN_FOLDER_ROLE_SENT);
  g_assert_cmpstr (find_folder (folders, "INBOX/Sent")->remote_name, ==, "INBOX.Sent");
  g_assert_cmpint (find_folder (folders, "INBOX/Sent")->delimiter, ==, '.');
  g_assert_false (find_folder (folders, "Lists")->selectable);
  dev = find_folder (folders, "Lists/dev");
  g_assert_nonnull (dev);
  g_assert_false (dev->subscribed);
  g_assert_true (dev->selectable);
  dev_id = dev->id;

  ids = add_numbered (fixture->store, dev_id, 3);
  g_assert_cmpuint (search_count (fixture->store, "subject:message"), ==, 3);

  /* The server deleted Lists.dev: it goes with its mail; the folder on
   * this computer stays. */
  g_ptr_array_remove_index (list, 3);
  after = update_folders (fixture->store, list);
  g_assert_cmpuint (after->len, ==, 3);
  g_assert_null (find_folder (after, "Lists/dev"));
  g_assert_cmpuint (search_count (fixture->store, "subject:message"), ==, 0);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 0);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM folders WHERE account = 'local'"),
                   ==, 1);

  tern_test_drain_main_context ();
  g_assert_cmpuint (fixture->changes->len, >, 0);
}

static void
test_folder_state_saved (Fixture       *fixture,
                         gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GPtrArray) folders = NULL;
  TernSyncFolder *folder;

  set_state (fixture->store, inbox, 1700000001, 42, 9000);
  set_state (fixture->store, inbox, -1, 43, -1);
  fixture_reopen (fixture);

  folders = list_sync_folders (fixture->store);
  folder = find_folder (folders, "INBOX");
  g_assert_cmpint (folder->uidvalidity, ==, 1700000001);
  g_assert_cmpint (folder->uidnext, ==, 43);
  g_assert_cmpint (folder->highestmodseq, ==, 9000);
}

static void
test_headers_listed_searchable_threaded (Fixture       *fixture,
                                         gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GPtrArray) again = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) same = NULL;
  g_autoptr(TernMessage) parent = NULL;
  g_autoptr(TernMessage) reply = NULL;
  g_autoptr(TernUidMap) map = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GError) error = NULL;
  TernHeaderMessage *first;

  first = header_message (7, "Quarterly figures", "Berta Kunz <berta@example.org>",
                          "q1@example.org", NULL, JAN_01_2024);
  first->flags = TERN_MESSAGE_FLAG_SEEN;
  first->has_attachments = TRUE;
  first->modseq = 77;
  g_ptr_array_add (messages, first);
  g_ptr_array_add (messages, header_message (9, "Re: Quarterly figures", "Carl <carl@example.org>",
                                             "q2@example.org", "q1@example.org",
                                             JAN_01_2024 + DAY));
  ids = add_headers (fixture->store, inbox, messages);

  parent = get_message (fixture->store, g_array_index (ids, gint64, 0), &error);
  g_assert_no_error (error);
  reply = get_message (fixture->store, g_array_index (ids, gint64, 1), &error);
  g_assert_no_error (error);

  g_assert_cmpint (tern_message_get_body_state (parent), ==, TERN_BODY_STATE_NONE);
  g_assert_cmpstr (tern_message_get_subject (parent), ==, "Quarterly figures");
  g_assert_cmpstr (tern_message_get_from_address (parent), ==, "berta@example.org");
  g_assert_cmpint (tern_message_get_uid (parent), ==, 7);
  g_assert_cmpint (tern_message_get_size (parent), ==, 4007);
  g_assert_true (tern_message_has_attachments (parent));
  g_assert_cmpint (tern_message_get_conversation_id (reply), ==,
                   tern_message_get_conversation_id (parent));

  /* Found by subject and by sender, once each. */
  found = search (fixture->store, "quarterly");
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_cmpuint (search_count (fixture->store, "from:berta"), ==, 1);
  g_assert_cmpuint (search_count (fixture->store, "kunz"), ==, 1);

  /* The body is not there yet. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GBytes) raw = NULL;

    tern_store_get_raw_async (fixture->store, g_array_index (ids, gint64, 0), NULL,
                              tern_test_got_result_cb, &result);
    raw = tern_store_get_raw_finish (fixture->store, tern_test_wait_for (&result), &error);
    g_assert_null (raw);
    g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* Counts: two messages, one unread. */
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'INBOX'"), ==, 2);
  g_assert_cmpint (index_int (fixture, "SELECT unread FROM folders WHERE path = 'INBOX'"), ==, 1);

  /* A batch given again (a sync that dropped and started over) adds
   * nothing and returns the same ids. */
  g_ptr_array_add (again, header_message (9, "Re: Quarterly figures", "Carl <carl@example.org>",
                                          "q2@example.org", "q1@example.org", JAN_01_2024 + DAY));
  same = add_headers (fixture->store, inbox, again);
  g_assert_cmpint (g_array_index (same, gint64, 0), ==, g_array_index (ids, gint64, 1));
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 2);

  map = uid_map (fixture->store, inbox, 0, 0);
  g_assert_cmpuint (map->entries->len, ==, 2);
  g_assert_cmpuint (g_array_index (map->entries, TernUidEntry, 0).uid, ==, 7);
  g_assert_cmpuint (g_array_index (map->entries, TernUidEntry, 0).flags, ==, TERN_MESSAGE_FLAG_SEEN);
  g_assert_cmpint (g_array_index (map->entries, TernUidEntry, 0).modseq, ==, 77);
  g_assert_cmpuint (g_array_index (map->entries, TernUidEntry, 1).uid, ==, 9);
  g_assert_nonnull (tern_uid_map_lookup (map, 9));
  g_assert_null (tern_uid_map_lookup (map, 8));

  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_ADDED, g_array_index (ids, gint64, 1)));
}

static void
test_headers_ids_never_meet_bodies (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GArray) headers = add_numbered (fixture->store, inbox, 3);
  g_autoptr(GPtrArray) mail = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GArray) added = NULL;
  g_autoptr(GBytes) raw = full_message ("Local", "me@example.org", "local@example.org", NULL,
                                        JAN_01_2024, "local body\r\n");
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (mail, tern_new_message_new (raw, 0, 0));
  added = tern_test_add_messages (fixture->store, inbox, mail, TERN_STORE_DURABILITY_NORMAL,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_array_index (added, gint64, 0), >, g_array_index (headers, gint64, 2));

  /* A rebuild-free reopen keeps all four. */
  fixture_reopen (fixture);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 4);
}

/* Headers after a stored body, and a body after headers again: every id
 * is new, above all given before, even one whose row is gone. */
static void
test_headers_ids_follow_bodies (Fixture       *fixture,
                                gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GPtrArray) mail = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GPtrArray) more = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GPtrArray) later = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GArray) local = NULL;
  g_autoptr(GArray) headers = NULL;
  g_autoptr(GArray) again = NULL;
  g_autoptr(GArray) last = NULL;
  g_autoptr(GBytes) raw = full_message ("Local", "me@example.org", "local@example.org", NULL,
                                        JAN_01_2024, "local body\r\n");
  g_autoptr(GBytes) raw2 = full_message ("Local 2", "me@example.org", "local2@example.org", NULL,
                                         JAN_01_2024, "second body\r\n");
  g_autoptr(GError) error = NULL;
  gint64 highest;

  g_ptr_array_add (mail, tern_new_message_new (raw, 0, 0));
  local = tern_test_add_messages (fixture->store, inbox, mail, TERN_STORE_DURABILITY_NORMAL,
                                  &error);
  g_assert_no_error (error);

  headers = add_numbered (fixture->store, inbox, 5);
  for (guint i = 0; i < headers->len; i++)
    {
      g_assert_cmpint (g_array_index (headers, gint64, i), >, g_array_index (local, gint64, 0));
      if (i > 0)
        g_assert_cmpint (g_array_index (headers, gint64, i), >,
                         g_array_index (headers, gint64, i - 1));
    }
  highest = g_array_index (headers, gint64, 4);

  /* A body stored now is numbered above the headers' ids. */
  g_ptr_array_add (more, tern_new_message_new (raw2, 0, 0));
  again = tern_test_add_messages (fixture->store, inbox, more, TERN_STORE_DURABILITY_NORMAL,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_array_index (again, gint64, 0), >, highest);
  highest = g_array_index (again, gint64, 0);

  /* With the highest body gone, its id is still never given again; a
   * batch mixing known and new UIDs keeps the known ones' ids. */
  bodies_exec (fixture, "DELETE FROM bodies WHERE id = (SELECT max (id) FROM bodies)");
  g_ptr_array_add (later, header_message (3, "Message 3", "Ann <ann@example.org>",
                                          "m3@example.org", NULL, JAN_01_2024 + 3 * DAY));
  g_ptr_array_add (later, header_message (6, "Message 6", "Ann <ann@example.org>",
                                          "m6@example.org", NULL, JAN_01_2024 + 6 * DAY));
  last = add_headers (fixture->store, inbox, later);
  g_assert_cmpint (g_array_index (last, gint64, 0), ==, g_array_index (headers, gint64, 2));
  g_assert_cmpint (g_array_index (last, gint64, 1), >, highest);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 8);
}

static void
test_attach_body_fills_the_row (Fixture       *fixture,
                                gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) stored = NULL;
  g_autoptr(TernMessage) before = NULL;
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernHeaderMessage *header;
  gint64 id;

  header = header_message (3, "Travel plans", "Dora <dora@example.org>", "t1@example.org", NULL,
                           JAN_01_2024);
  header->keywords = g_strdup ("$Work");
  header->modseq = 12;
  g_ptr_array_add (messages, header);
  ids = add_headers (fixture->store, inbox, messages);
  id = g_array_index (ids, gint64, 0);
  before = get_message (fixture->store, id, &error);
  g_assert_no_error (error);

  /* The user flagged it before its body came. */
  tern_test_set_flags (fixture->store, ids, TERN_MESSAGE_FLAG_FLAGGED, 0);
  g_assert_cmpuint (search_count (fixture->store, "zanzibar"), ==, 0);

  raw = full_message ("Travel plans", "Dora <dora@example.org>", "t1@example.org", NULL,
                      JAN_01_2024, "We fly to Zanzibar on Monday.\r\n");
  attach (fixture->store, id, raw, 1);

  message = get_message (fixture->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_message_get_body_state (message), ==, TERN_BODY_STATE_COMPLETE);
  g_assert_cmpint (tern_message_get_uid (message), ==, 3);
  g_assert_cmpuint (tern_message_get_flags (message), ==, TERN_MESSAGE_FLAG_FLAGGED);
  g_assert_cmpint (tern_message_get_conversation_id (message), ==,
                   tern_message_get_conversation_id (before));
  g_assert_nonnull (strstr (tern_message_get_preview (message), "Zanzibar"));
  g_assert_cmpint (index_int (fixture, "SELECT modseq FROM messages"), ==, 12);
  g_assert_cmpint (index_int (fixture, "SELECT keywords = '$Work' FROM messages"), ==, 1);

  /* The words of the body are found; those of the header once. */
  g_assert_cmpuint (search_count (fixture->store, "zanzibar"), ==, 1);
  g_assert_cmpuint (search_count (fixture->store, "travel"), ==, 1);
  g_assert_cmpuint (search_count (fixture->store, "from:dora"), ==, 1);

  tern_store_get_raw_async (fixture->store, id, NULL, tern_test_got_result_cb, &result);
  stored = tern_store_get_raw_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (stored, raw));

  /* Counts did not move. */
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'INBOX'"), ==, 1);
  g_assert_cmpint (index_int (fixture, "SELECT unread FROM folders WHERE path = 'INBOX'"), ==, 1);

  /* Attaching again does nothing. */
  attach (fixture->store, id, raw, 1);
  g_assert_cmpuint (search_count (fixture->store, "zanzibar"), ==, 1);
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_UPDATED, id));

  assert_search_index_sound (fixture);

  /* The words of the headers alone leave the search index exactly: a
   * body whose headers differ (as no server would send) leaves none of
   * them findable. */
  {
    g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
    g_autoptr(GArray) other_ids = NULL;
    g_autoptr(GBytes) other_raw = NULL;
    TernHeaderMessage *other;
    const char *text;

    other = header_message (4, "Quokka census", "Fenna Quist <fenna@example.org>",
                            "q@example.org", NULL, JAN_01_2024);
    g_ptr_array_add (others, other);
    other_ids = add_headers (fixture->store, inbox, others);
    g_assert_cmpuint (search_count (fixture->store, "quokka"), ==, 1);
    g_assert_cmpuint (search_count (fixture->store, "quist"), ==, 1);
    g_assert_cmpuint (search_count (fixture->store, "to:team"), ==, 2);

    text = "From: Gus <gus@example.net>\r\nTo: nobody@example.net\r\n"
           "Subject: Wombat count\r\nMessage-ID: <q@example.org>\r\n\r\n"
           "Nothing else.\r\n";

    other_raw = g_bytes_new_static (text, strlen (text));
    attach (fixture->store, g_array_index (other_ids, gint64, 0), other_raw, 1);
    g_assert_cmpuint (search_count (fixture->store, "quokka"), ==, 0);
    g_assert_cmpuint (search_count (fixture->store, "quist"), ==, 0);
    g_assert_cmpuint (search_count (fixture->store, "fenna"), ==, 0);
    g_assert_cmpuint (search_count (fixture->store, "to:team"), ==, 1);
    g_assert_cmpuint (search_count (fixture->store, "wombat"), ==, 1);
  }

  /* The body survives a reopen. */
  fixture_reopen (fixture);
  g_assert_cmpuint (search_count (fixture->store, "zanzibar"), ==, 1);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 2);
}

static void
test_server_flags_and_expunges (Fixture       *fixture,
                                gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 5);
  g_autoptr(GPtrArray) updates = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_flag_update_free);
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(TernUidMap) map = NULL;
  g_autoptr(GBytes) raw = NULL;
  guint32 uid;

  /* Message 4 has its body: its words must go with it. */
  raw = full_message ("Message 4", "Ann <ann@example.org>", "m4@example.org", NULL,
                      JAN_01_2024 + 4 * DAY, "Walrus content\r\n");
  attach (fixture->store, g_array_index (ids, gint64, 3), raw, 1);
  g_assert_cmpuint (search_count (fixture->store, "walrus"), ==, 1);

  g_assert_cmpint (index_int (fixture, "SELECT unread FROM folders WHERE path = 'INBOX'"), ==, 5);

  g_ptr_array_add (updates, tern_flag_update_new (1, TERN_MESSAGE_FLAG_SEEN, NULL, 101));
  g_ptr_array_add (updates, tern_flag_update_new (2, TERN_MESSAGE_FLAG_FLAGGED, "$Label1", 102));
  g_ptr_array_add (updates, tern_flag_update_new (3, 0, NULL, 103));
  g_ptr_array_add (updates, tern_flag_update_new (99, TERN_MESSAGE_FLAG_SEEN, NULL, 104));
  uid = 4;
  g_array_append_val (gone, uid);
  uid = 5;
  g_array_append_val (gone, uid);
  apply_changes (fixture->store, inbox, updates, gone, 104);

  map = uid_map (fixture->store, inbox, 0, 0);
  g_assert_cmpuint (map->entries->len, ==, 3);
  g_assert_cmpuint (tern_uid_map_lookup (map, 1)->flags, ==, TERN_MESSAGE_FLAG_SEEN);
  g_assert_cmpint (tern_uid_map_lookup (map, 1)->modseq, ==, 101);
  g_assert_cmpuint (tern_uid_map_lookup (map, 2)->flags, ==, TERN_MESSAGE_FLAG_FLAGGED);
  g_assert_cmpint (tern_uid_map_lookup (map, 3)->modseq, ==, 103);
  g_assert_null (tern_uid_map_lookup (map, 4));

  g_assert_cmpint (index_int (fixture, "SELECT unread FROM folders WHERE path = 'INBOX'"), ==, 2);
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'INBOX'"), ==, 3);
  g_assert_cmpint (index_int (fixture, "SELECT highestmodseq FROM folders WHERE path = 'INBOX'"),
                   ==, 104);
  g_assert_cmpint (index_int (fixture, "SELECT keywords = '$Label1' FROM messages WHERE uid = 2"),
                   ==, 1);
  g_assert_cmpuint (search_count (fixture->store, "walrus"), ==, 0);
  g_assert_cmpuint (search_count (fixture->store, "subject:message"), ==, 3);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages WHERE uid = 4"), ==, 0);
  assert_search_index_sound (fixture);

  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_UPDATED, g_array_index (ids, gint64, 0)));
  g_assert_false (heard (fixture, TERN_STORE_CHANGE_MESSAGES_UPDATED, g_array_index (ids, gint64, 2)));
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_REMOVED, g_array_index (ids, gint64, 4)));
}

static void
test_uid_map_pages (Fixture       *fixture,
                    gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 1200);
  g_autoptr(TernUidMap) all = uid_map (fixture->store, inbox, 0, 0);
  guint32 after = 0;
  guint seen = 0;

  g_assert_cmpuint (all->entries->len, ==, 1200);

  for (;;)
    {
      g_autoptr(TernUidMap) page = uid_map (fixture->store, inbox, after, 500);

      if (page->entries->len == 0)
        break;
      g_assert_cmpuint (page->entries->len, <=, 500);
      for (guint i = 0; i < page->entries->len; i++)
        {
          TernUidEntry *entry = &g_array_index (page->entries, TernUidEntry, i);

          g_assert_cmpuint (entry->uid, ==, after + 1);
          g_assert_cmpint (entry->id, ==, g_array_index (ids, gint64, entry->uid - 1));
          after = entry->uid;
          seen++;
        }
    }
  g_assert_cmpuint (seen, ==, 1200);
}

static void
test_missing_bodies_newest_first (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 10);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) missing = NULL;
  g_autoptr(GBytes) raw = full_message ("Message 10", "Ann <ann@example.org>", "m10@example.org",
                                        NULL, JAN_01_2024 + 10 * DAY, "body\r\n");

  attach (fixture->store, g_array_index (ids, gint64, 9), raw, 1);

  tern_store_list_missing_bodies_async (fixture->store, inbox, JAN_01_2024 + 6 * DAY, 0, NULL,
                                        tern_test_got_result_cb, &result);
  missing = tern_store_list_missing_bodies_finish (fixture->store, tern_test_wait_for (&result),
                                                   &error);
  g_assert_no_error (error);
  /* 6, 7, 8, 9: dated from the 7th day on, 10 has its body. */
  g_assert_cmpuint (missing->len, ==, 4);
  g_assert_cmpuint (g_array_index (missing, TernUidEntry, 0).uid, ==, 9);
  g_assert_cmpuint (g_array_index (missing, TernUidEntry, 3).uid, ==, 6);
}

static void
test_reset_keeps_local_only (Fixture       *fixture,
                             gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  gint64 archive = folder_id (fixture->store, "Archive");
  g_autoptr(GArray) inbox_ids = add_numbered (fixture->store, inbox, 3);
  g_autoptr(GArray) archive_ids = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) archived = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GError) error = NULL;
  TernPendingAction *kept;
  gint64 moved;

  g_ptr_array_add (archived, header_message (50, "Old report", "Eve <eve@example.org>",
                                             "old@example.org", NULL, JAN_01_2024));
  archive_ids = add_headers (fixture->store, archive, archived);
  moved = g_array_index (archive_ids, gint64, 0);
  set_state (fixture->store, inbox, 111, 4, 0);

  /* Queued: a flag on an INBOX message, and a move from Archive into
   * INBOX, whose local copy sits in INBOX without a UID. */
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_SET_FLAGS,
                                  g_array_index (inbox_ids, gint64, 0), 0,
                                  TERN_MESSAGE_FLAG_SEEN, 0, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, moved, inbox, 0, 0, &error),
                    ==, 1);
  g_assert_no_error (error);

  reset_folder (fixture->store, inbox, 222);

  /* The server's three are gone; the moved-in message, which only this
   * computer has in INBOX, stays, and so does its queued move. */
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages WHERE uid IS NOT NULL AND "
                                       "folder_id = (SELECT id FROM folders WHERE path = 'INBOX')"),
                   ==, 0);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages WHERE uid IS NULL"), ==, 1);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 1);
  kept = g_ptr_array_index (actions, 0);
  g_assert_cmpint (kept->kind, ==, TERN_ACTION_MOVE);
  g_assert_cmpint (kept->folder_id, ==, archive);
  g_assert_cmpuint (g_array_index (kept->uids, guint32, 0), ==, 50);

  folders = list_sync_folders (fixture->store);
  g_assert_cmpint (find_folder (folders, "INBOX")->uidvalidity, ==, 222);
  g_assert_cmpint (find_folder (folders, "INBOX")->uidnext, ==, 0);
  g_assert_cmpint (find_folder (folders, "INBOX")->total, ==, 1);
  g_assert_cmpuint (search_count (fixture->store, "subject:message"), ==, 0);
  g_assert_cmpuint (search_count (fixture->store, "report"), ==, 1);
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_REMOVED,
                        g_array_index (inbox_ids, gint64, 2)));
}

static void
test_queue_applies_and_survives_restart (Fixture       *fixture,
                                         gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  gint64 archive = folder_id (fixture->store, "Archive");
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 4);
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(TernUidMap) map = NULL;
  g_autoptr(TernMessage) moved = NULL;
  g_autoptr(GError) error = NULL;
  TernPendingAction *action;

  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_SET_FLAGS, g_array_index (ids, gint64, 0),
                                  0, TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED, 0, &error),
                    ==, 1);
  g_assert_no_error (error);
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, g_array_index (ids, gint64, 1),
                                  archive, 0, 0, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_DELETE, g_array_index (ids, gint64, 2),
                                  0, 0, 0, &error), ==, 1);
  g_assert_no_error (error);

  /* Applied here at once. */
  g_assert_cmpint (index_int (fixture, "SELECT unread FROM folders WHERE path = 'INBOX'"), ==, 1);
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'Archive'"), ==, 1);
  g_assert_cmpuint (search_count (fixture->store, "\"message 3\""), ==, 0);
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_UPDATED, g_array_index (ids, gint64, 0)));
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_UPDATED, g_array_index (ids, gint64, 1)));
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_REMOVED, g_array_index (ids, gint64, 2)));

  fixture_reopen (fixture);

  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 3);
  action = g_ptr_array_index (actions, 0);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_SET_FLAGS);
  g_assert_cmpuint (action->flags_add, ==, TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED);
  g_assert_cmpuint (g_array_index (action->uids, guint32, 0), ==, 1);
  g_assert_cmpint (action->folder_id, ==, inbox);
  action = g_ptr_array_index (actions, 1);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_MOVE);
  g_assert_cmpint (action->target_id, ==, archive);
  g_assert_cmpuint (g_array_index (action->uids, guint32, 0), ==, 2);
  g_assert_cmpint (g_array_index (action->message_ids, gint64, 0), ==, g_array_index (ids, gint64, 1));
  action = g_ptr_array_index (actions, 2);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_DELETE);
  g_assert_cmpuint (g_array_index (action->uids, guint32, 0), ==, 3);
  g_assert_true (g_ptr_array_index (actions, 0) != NULL &&
                 ((TernPendingAction *) g_ptr_array_index (actions, 0))->id <
                 ((TernPendingAction *) g_ptr_array_index (actions, 2))->id);

  /* A resync must not fetch the moved and deleted messages again. */
  map = uid_map (fixture->store, inbox, 0, 0);
  g_assert_cmpuint (map->entries->len, ==, 2);
  g_assert_cmpuint (map->pending_uids->len, ==, 2);
  g_assert_cmpuint (g_array_index (map->pending_uids, guint32, 0), ==, 2);
  g_assert_cmpuint (g_array_index (map->pending_uids, guint32, 1), ==, 3);

  /* Replay: a failure keeps the action and counts it. */
  finish_action (fixture->store, ((TernPendingAction *) g_ptr_array_index (actions, 0))->id, 0,
                 "Server said NO");
  g_clear_pointer (&actions, g_ptr_array_unref);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 3);
  g_assert_cmpuint (((TernPendingAction *) g_ptr_array_index (actions, 0))->attempts, ==, 1);
  g_assert_cmpstr (((TernPendingAction *) g_ptr_array_index (actions, 0))->last_error, ==,
                   "Server said NO");

  for (guint i = 0; i < actions->len; i++)
    {
      action = g_ptr_array_index (actions, i);
      finish_action (fixture->store, action->id, action->kind == TERN_ACTION_MOVE ? 31 : 0, NULL);
    }
  g_clear_pointer (&actions, g_ptr_array_unref);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 0);

  /* The moved message took the UID the server gave it. */
  moved = get_message (fixture->store, g_array_index (ids, gint64, 1), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_message_get_folder_id (moved), ==, archive);
  g_assert_cmpint (tern_message_get_uid (moved), ==, 31);
}

/* A message moved again before its first move reached the server: the
 * queue holds one action from where the server has it, or none. */
static void
test_queue_second_move_starts_from_the_server (Fixture       *fixture,
                                                gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  gint64 archive = folder_id (fixture->store, "Archive");
  gint64 trash = folder_id (fixture->store, "Trash");
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 3);
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(TernMessage) back = NULL;
  g_autoptr(GError) error = NULL;
  gint64 first = g_array_index (ids, gint64, 0);
  gint64 second = g_array_index (ids, gint64, 1);
  gint64 third = g_array_index (ids, gint64, 2);
  TernPendingAction *action;

  /* Moved and moved back: nothing for the server, the UID kept. */
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, first, archive, 0, 0, &error),
                    ==, 1);
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, first, inbox, 0, 0, &error),
                    ==, 0);
  g_assert_no_error (error);
  back = get_message (fixture->store, first, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_message_get_folder_id (back), ==, inbox);
  g_assert_cmpint (tern_message_get_uid (back), ==, 1);

  /* Moved twice: one move, from the Inbox to the last folder. */
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, second, archive, 0, 0, &error),
                    ==, 1);
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, second, trash, 0, 0,
                                  &error), ==, 1);
  g_assert_no_error (error);

  /* Moved, then deleted: the server's copy is deleted where it is. */
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, third, archive, 0, 0, &error),
                    ==, 1);
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_DELETE, third, 0, 0, 0, &error),
                    ==, 1);
  g_assert_no_error (error);

  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 2);
  action = g_ptr_array_index (actions, 0);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_MOVE);
  g_assert_cmpint (action->folder_id, ==, inbox);
  g_assert_cmpint (action->target_id, ==, trash);
  g_assert_cmpuint (action->uids->len, ==, 1);
  g_assert_cmpuint (g_array_index (action->uids, guint32, 0), ==, 2);
  action = g_ptr_array_index (actions, 1);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_DELETE);
  g_assert_cmpint (action->folder_id, ==, inbox);
  g_assert_cmpuint (g_array_index (action->uids, guint32, 0), ==, 3);

  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'INBOX'"), ==, 1);
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'Archive'"), ==, 0);
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'Trash'"), ==, 1);
}

static void
test_queue_local_only_is_not_queued (Fixture       *fixture,
                                     gconstpointer  user_data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernFolder) local = NULL;
  g_autoptr(GPtrArray) mail = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GBytes) raw = full_message ("Kept here", "me@example.org", "here@example.org", NULL,
                                        JAN_01_2024, "text\r\n");
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  gint64 inbox = server_inbox (fixture->store);

  tern_store_ensure_folder_async (fixture->store, TERN_LOCAL_ACCOUNT, "Saved", TERN_FOLDER_ROLE_LOCAL,
                                  NULL, tern_test_got_result_cb, &result);
  local = tern_store_ensure_folder_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_ptr_array_add (mail, tern_new_message_new (raw, 0, 0));
  ids = tern_test_add_messages (fixture->store, tern_folder_get_id (local), mail,
                                TERN_STORE_DURABILITY_NORMAL, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_SET_FLAGS, g_array_index (ids, gint64, 0),
                                  0, TERN_MESSAGE_FLAG_SEEN, 0, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpint (index_int (fixture, "SELECT flags FROM messages"), ==, TERN_MESSAGE_FLAG_SEEN);

  /* Moving across accounts is not a queued action. */
  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, g_array_index (ids, gint64, 0),
                                  inbox, 0, 0, &error), ==, 0);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID);
}

static void
test_gone_messages_drop_their_actions (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  gint64 trash = folder_id (fixture->store, "Trash");
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 3);
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) both = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernPendingAction *left;
  guint32 uid;

  g_assert_cmpuint (queue_action (fixture->store, TERN_ACTION_MOVE, g_array_index (ids, gint64, 0),
                                  trash, 0, 0, &error), ==, 1);
  g_array_append_val (both, g_array_index (ids, gint64, 1));
  g_array_append_val (both, g_array_index (ids, gint64, 2));
  tern_store_queue_action_async (fixture->store, TERN_ACTION_SET_FLAGS, both, 0,
                                 TERN_MESSAGE_FLAG_FLAGGED, 0, NULL, tern_test_got_result_cb,
                                 &result);
  g_assert_cmpuint (tern_store_queue_action_finish (fixture->store, tern_test_wait_for (&result),
                                                    &error), ==, 1);
  g_assert_no_error (error);

  /* Another client expunged UIDs 1 and 2. */
  uid = 1;
  g_array_append_val (gone, uid);
  uid = 2;
  g_array_append_val (gone, uid);
  apply_changes (fixture->store, inbox, NULL, gone, 0);

  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 1);
  left = g_ptr_array_index (actions, 0);
  g_assert_cmpint (left->kind, ==, TERN_ACTION_SET_FLAGS);
  g_assert_cmpuint (left->uids->len, ==, 1);
  g_assert_cmpuint (g_array_index (left->uids, guint32, 0), ==, 3);
  g_assert_cmpint (g_array_index (left->message_ids, gint64, 0), ==, g_array_index (ids, gint64, 2));

  /* The local copy of the move went too: the server has nothing to move. */
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 1);
  g_assert_cmpint (index_int (fixture, "SELECT total FROM folders WHERE path = 'Trash'"), ==, 0);
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_REMOVED, g_array_index (ids, gint64, 0)));
}

static void
test_queued_flags_win_until_replayed (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GArray) ids = add_numbered (fixture->store, inbox, 2);
  g_autoptr(GPtrArray) updates = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_flag_update_free);
  g_autoptr(GError) error = NULL;

  queue_action (fixture->store, TERN_ACTION_SET_FLAGS, g_array_index (ids, gint64, 0), 0,
                TERN_MESSAGE_FLAG_SEEN, 0, &error);
  g_assert_no_error (error);

  /* The server has not heard of it yet and says unseen. */
  g_ptr_array_add (updates, tern_flag_update_new (1, 0, NULL, 5));
  g_ptr_array_add (updates, tern_flag_update_new (2, TERN_MESSAGE_FLAG_SEEN, NULL, 6));
  apply_changes (fixture->store, inbox, updates, NULL, 6);

  g_assert_cmpint (index_int (fixture, "SELECT flags FROM messages WHERE uid = 1"), ==,
                   TERN_MESSAGE_FLAG_SEEN);
  g_assert_cmpint (index_int (fixture, "SELECT flags FROM messages WHERE uid = 2"), ==,
                   TERN_MESSAGE_FLAG_SEEN);
}

/* Runs the main context until @model holds @n items. */
static void
wait_for_items (GListModel *model,
                guint       n)
{
  gint64 deadline = g_get_monotonic_time () + TERN_TEST_WAIT_SECONDS * G_USEC_PER_SEC;

  while (g_list_model_get_n_items (model) != n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, n);
}

static void
test_list_models_follow_sync (Fixture       *fixture,
                              gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  gint64 archive = folder_id (fixture->store, "Archive");
  g_autoptr(TernMessageListModel) inbox_model = tern_message_list_model_new_for_folder (fixture->store,
                                                                                       inbox, FALSE);
  g_autoptr(TernMessageListModel) archive_model = tern_message_list_model_new_for_folder (fixture->store,
                                                                                         archive, FALSE);
  g_autoptr(GAsyncResult) loaded = NULL;
  g_autoptr(GAsyncResult) archive_loaded = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GError) error = NULL;
  guint32 uid = 3;

  tern_message_list_model_load_async (inbox_model, NULL, tern_test_got_result_cb, &loaded);
  g_assert_true (tern_message_list_model_load_finish (inbox_model, tern_test_wait_for (&loaded),
                                                      &error));
  tern_message_list_model_load_async (archive_model, NULL, tern_test_got_result_cb,
                                      &archive_loaded);
  g_assert_true (tern_message_list_model_load_finish (archive_model,
                                                      tern_test_wait_for (&archive_loaded), &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (inbox_model)), ==, 0);

  /* Headers arrive; newest first in the list. */
  ids = add_numbered (fixture->store, inbox, 3);
  wait_for_items (G_LIST_MODEL (inbox_model), 3);
  g_assert_cmpint (tern_message_list_model_get_message_id (inbox_model, 0), ==,
                   g_array_index (ids, gint64, 2));

  /* A queued move shows in both lists at once. */
  queue_action (fixture->store, TERN_ACTION_MOVE, g_array_index (ids, gint64, 0), archive, 0, 0,
                &error);
  g_assert_no_error (error);
  wait_for_items (G_LIST_MODEL (inbox_model), 2);
  wait_for_items (G_LIST_MODEL (archive_model), 1);

  /* The server expunged the newest. */
  g_array_append_val (gone, uid);
  apply_changes (fixture->store, inbox, NULL, gone, 0);
  wait_for_items (G_LIST_MODEL (inbox_model), 1);
  g_assert_cmpint (tern_message_list_model_get_message_id (inbox_model, 0), ==,
                   g_array_index (ids, gint64, 1));
}

/* What the outbox does with a message sent for an IMAP account: queued,
 * claimed, filed in Sent for upload.  Returns the message's id. */
static gint64
file_sent_copy (TernStore  *store,
                const char *subject)
{
  const char *recipients[] = { "erin@example.org", NULL };
  g_autoptr(GAsyncResult) added = NULL;
  g_autoptr(GAsyncResult) claimed = NULL;
  g_autoptr(GAsyncResult) filed = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(TernOutboxItem) sending = NULL;
  g_autofree char *message_id = g_strdup_printf ("%s@example.org", subject);
  g_autoptr(GBytes) raw = full_message (subject, "Me <me@example.org>", message_id, NULL,
                                        JAN_01_2024, "Sent from here.\r\n");
  g_autoptr(GError) error = NULL;

  tern_store_outbox_add_async (store, ACCOUNT, "me@example.org", recipients, raw, 0, NULL,
                               tern_test_got_result_cb, &added);
  item = tern_store_outbox_add_finish (store, tern_test_wait_for (&added), &error);
  g_assert_no_error (error);
  tern_store_outbox_claim_async (store, ACCOUNT, g_get_real_time () / G_USEC_PER_SEC, NULL,
                                 tern_test_got_result_cb, &claimed);
  sending = tern_store_outbox_claim_finish (store, tern_test_wait_for (&claimed), &error);
  g_assert_no_error (error);
  g_assert_nonnull (sending);
  tern_store_outbox_sent_async (store, sending->id, TERN_SENT_COPY_UPLOAD, NULL,
                                tern_test_got_result_cb, &filed);
  g_assert_true (tern_store_outbox_change_finish (store, tern_test_wait_for (&filed), &error));
  g_assert_no_error (error);

  return sending->message_id;
}

static void
finish_append (TernStore *store,
               gint64     action,
               gint64     folder,
               guint32    uidvalidity,
               guint32    uid)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  tern_store_finish_append_async (store, action, folder, uidvalidity, uid, NULL,
                                  tern_test_got_result_cb, &result);
  ok = tern_store_finish_append_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
test_sent_copy_upload (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_remote_folder_free);
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(TernUidMap) map = NULL;
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  TernPendingAction *action;
  gint64 sent;
  gint64 kept;
  gint64 dropped;
  gint64 stale;
  gint64 first;

  g_ptr_array_add (list, remote ("INBOX", '/', TERN_FOLDER_ROLE_INBOX));
  g_ptr_array_add (list, remote ("Sent", '/', TERN_FOLDER_ROLE_SENT));
  folders = update_folders (fixture->store, list);
  sent = find_folder (folders, "Sent")->id;
  set_state (fixture->store, sent, 7, 1, 0);
  g_assert_cmpstr (tern_action_kind_to_string (TERN_ACTION_APPEND), ==, "append");
  g_assert_cmpint (TERN_PENDING_ACTION_APPEND, ==, TERN_ACTION_APPEND);

  kept = file_sent_copy (fixture->store, "Kept");
  dropped = file_sent_copy (fixture->store, "Dropped");
  stale = file_sent_copy (fixture->store, "Stale");

  /* The uploads list as such, with their message and flags though they
   * name no UID, and a UIDVALIDITY reset of Sent keeps them. */
  reset_folder (fixture->store, sent, 8);
  fixture_reopen (fixture);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 3);
  action = g_ptr_array_index (actions, 0);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_APPEND);
  g_assert_cmpint (action->folder_id, ==, sent);
  g_assert_cmpuint (action->uids->len, ==, 0);
  g_assert_cmpuint (action->message_ids->len, ==, 1);
  g_assert_cmpint (g_array_index (action->message_ids, gint64, 0), ==, kept);
  g_assert_cmpstr (action->argument, ==, "\\Seen");
  first = action->id;

  /* A failed upload is recorded and stays. */
  finish_action (fixture->store, first, 0, "The server said no");
  g_clear_pointer (&actions, g_ptr_array_unref);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 3);
  g_assert_cmpuint (((TernPendingAction *) g_ptr_array_index (actions, 0))->attempts, ==, 1);

  /* APPENDUID: the local row becomes the server's message. */
  finish_append (fixture->store, first, sent, 8, 31);
  message = get_message (fixture->store, kept, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_message_get_folder_id (message), ==, sent);
  g_assert_cmpint (tern_message_get_uid (message), ==, 31);
  map = uid_map (fixture->store, sent, 0, 0);
  g_assert_cmpuint (map->entries->len, ==, 1);
  g_assert_cmpint (tern_uid_map_lookup (map, 31)->id, ==, kept);
  g_assert_true (heard (fixture, TERN_STORE_CHANGE_MESSAGES_UPDATED, kept));

  /* No UID from the server: the local copy goes, for the sync to fetch
   * the server's. */
  finish_append (fixture->store, ((TernPendingAction *) g_ptr_array_index (actions, 1))->id, sent,
                 0, 0);
  g_clear_pointer (&message, tern_message_unref);
  message = get_message (fixture->store, dropped, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_assert_null (message);
  g_clear_error (&error);

  /* A UID of another UIDVALIDITY means nothing here: the same. */
  finish_append (fixture->store, ((TernPendingAction *) g_ptr_array_index (actions, 2))->id, sent,
                 7, 32);
  message = get_message (fixture->store, stale, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_clear_pointer (&actions, g_ptr_array_unref);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 0);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM messages"), ==, 1);
  assert_search_index_sound (fixture);
}

/* The server deleted the Sent folder before the upload: the sent copy
 * is no server mail, and stays, in the local Sent folder. */
static void
test_sent_copy_outlives_its_folder (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_remote_folder_free);
  g_autoptr(GPtrArray) without = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_remote_folder_free);
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  TernPendingAction *action;
  gint64 sent;
  gint64 id;

  g_ptr_array_add (list, remote ("INBOX", '/', TERN_FOLDER_ROLE_INBOX));
  g_ptr_array_add (list, remote ("Sent", '/', TERN_FOLDER_ROLE_SENT));
  folders = update_folders (fixture->store, list);
  sent = find_folder (folders, "Sent")->id;
  id = file_sent_copy (fixture->store, "Orphan");

  g_ptr_array_add (without, remote ("INBOX", '/', TERN_FOLDER_ROLE_INBOX));
  after = update_folders (fixture->store, without);
  g_assert_null (find_folder (after, "Sent"));

  message = get_message (fixture->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_message_get_folder_id (message), !=, sent);
  g_assert_cmpint (tern_message_get_uid (message), ==, 0);
  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM folders WHERE account = 'local' "
                                       "AND path = 'Sent' AND id = (SELECT folder_id FROM messages)"),
                   ==, 1);
  actions = list_actions (fixture->store);
  g_assert_cmpuint (actions->len, ==, 1);
  action = g_ptr_array_index (actions, 0);
  g_assert_cmpint (action->kind, ==, TERN_ACTION_APPEND);
  g_assert_cmpint (action->folder_id, ==, 0);
  g_assert_cmpint (g_array_index (action->message_ids, gint64, 0), ==, id);
}

/* A batch of headers counts every use of an address, keeps its latest
 * use, and takes the name given last at or after every earlier use, as
 * the messages would one by one; a row written before keeps its name
 * against an older use. */
static void
test_headers_collect_addresses (Fixture       *fixture,
                                gconstpointer  user_data)
{
  gint64 inbox = server_inbox (fixture->store);
  g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  g_autoptr(GArray) first = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autofree char *ann = NULL;
  g_autofree char *bea = NULL;
  g_autofree char *cy = NULL;

  g_ptr_array_add (before, header_message (1, "One", "Bea <bea@example.org>", "a1@example.org",
                                           NULL, JAN_01_2024 + 10 * DAY));
  first = add_headers (fixture->store, inbox, before);

  g_ptr_array_add (batch, header_message (2, "Two", "Ann Old <ann@example.org>",
                                          "a2@example.org", NULL, JAN_01_2024 + DAY));
  g_ptr_array_add (batch, header_message (3, "Three", "ANN@Example.org", "a3@example.org", NULL,
                                          JAN_01_2024 + 5 * DAY));
  g_ptr_array_add (batch, header_message (4, "Four", "Ann Late <ann@example.org>",
                                          "a4@example.org", NULL, JAN_01_2024 + 3 * DAY));
  g_ptr_array_add (batch, header_message (5, "Five", "Bea Older <bea@example.org>",
                                          "a5@example.org", NULL, JAN_01_2024 + 2 * DAY));
  g_ptr_array_add (batch, header_message (6, "Six", "Ann New <Ann@example.org>",
                                          "a6@example.org", NULL, JAN_01_2024 + 5 * DAY));
  g_ptr_array_add (batch, header_message (7, "Seven", "Cy <cy@example.org>", "a7@example.org",
                                          NULL, JAN_01_2024 + DAY));
  g_ptr_array_add (batch, header_message (8, "Eight", "cy@example.org", "a8@example.org", NULL,
                                          JAN_01_2024 + 2 * DAY));
  g_ptr_array_add (batch, header_message (9, "Nine", "no address", "a9@example.org", NULL,
                                          JAN_01_2024 + 2 * DAY));
  ids = add_headers (fixture->store, inbox, batch);
  g_assert_cmpuint (ids->len, ==, 8);

  g_assert_cmpint (index_int (fixture, "SELECT count (*) FROM addresses"), ==, 3);
  ann = index_text (fixture, "SELECT name FROM addresses WHERE address = 'ann@example.org'");
  g_assert_cmpstr (ann, ==, "Ann New");
  g_assert_cmpint (index_int (fixture, "SELECT use_count FROM addresses "
                                       "WHERE address = 'ann@example.org'"), ==, 4);
  g_assert_cmpint (index_int (fixture, "SELECT last_used FROM addresses "
                                       "WHERE address = 'ann@example.org'"),
                   ==, JAN_01_2024 + 5 * DAY);
  bea = index_text (fixture, "SELECT name FROM addresses WHERE address = 'bea@example.org'");
  g_assert_cmpstr (bea, ==, "Bea");
  g_assert_cmpint (index_int (fixture, "SELECT use_count FROM addresses "
                                       "WHERE address = 'bea@example.org'"), ==, 2);
  g_assert_cmpint (index_int (fixture, "SELECT last_used FROM addresses "
                                       "WHERE address = 'bea@example.org'"),
                   ==, JAN_01_2024 + 10 * DAY);
  cy = index_text (fixture, "SELECT name FROM addresses WHERE address = 'cy@example.org'");
  g_assert_cmpstr (cy, ==, "Cy");
  g_assert_cmpint (index_int (fixture, "SELECT use_count FROM addresses "
                                       "WHERE address = 'cy@example.org'"), ==, 2);
  g_assert_cmpint (index_int (fixture, "SELECT last_used FROM addresses "
                                       "WHERE address = 'cy@example.org'"),
                   ==, JAN_01_2024 + 2 * DAY);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/store/sync/folders/path-from-server-name", test_path_from_remote);
  ADD ("/store/sync/folders/follow-the-server-list", test_folders_follow_server_list);
  ADD ("/store/sync/folders/state-saved-across-reopen", test_folder_state_saved);
  ADD ("/store/sync/headers/listed-searchable-threaded", test_headers_listed_searchable_threaded);
  ADD ("/store/sync/headers/collect-addresses", test_headers_collect_addresses);
  ADD ("/store/sync/headers/ids-never-meet-bodies", test_headers_ids_never_meet_bodies);
  ADD ("/store/sync/headers/ids-follow-bodies", test_headers_ids_follow_bodies);
  ADD ("/store/sync/headers/attach-body-fills-the-row", test_attach_body_fills_the_row);
  ADD ("/store/sync/headers/missing-bodies-newest-first", test_missing_bodies_newest_first);
  ADD ("/store/sync/uid-map/pages-cover-the-folder", test_uid_map_pages);
  ADD ("/store/sync/server/flags-and-expunges-in-one-batch", test_server_flags_and_expunges);
  ADD ("/store/sync/server/queued-flags-win-until-replayed", test_queued_flags_win_until_replayed);
  ADD ("/store/sync/reset/uidvalidity-keeps-local-only", test_reset_keeps_local_only);
  ADD ("/store/sync/queue/applies-at-once-and-survives-restart",
       test_queue_applies_and_survives_restart);
  ADD ("/store/sync/queue/local-only-is-not-queued", test_queue_local_only_is_not_queued);
  ADD ("/store/sync/queue/second-move-starts-from-the-server",
       test_queue_second_move_starts_from_the_server);
  ADD ("/store/sync/queue/gone-messages-drop-their-actions", test_gone_messages_drop_their_actions);
  ADD ("/store/sync/list-models-follow-sync", test_list_models_follow_sync);
  ADD ("/store/sync/queue/sent-copy-upload", test_sent_copy_upload);
  ADD ("/store/sync/queue/sent-copy-outlives-its-folder", test_sent_copy_outlives_its_folder);

  return g_test_run ();
}
