/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern-message-flags.h"
#include "tern-store.h"
#include "tern-test-util.h"

/*
 * What the store keeps through damage: an index overwritten, cut short or
 * gone is made again from the stored bodies; bodies written but not yet
 * indexed are indexed on the next open; and tern-cli killed in the middle
 * of an import leaves a store that opens and holds exactly what it
 * committed.
 */

#define JAN_01_2024 G_GINT64_CONSTANT (1704067200)
#define DAY G_GINT64_CONSTANT (86400)

/* SQLite, to look at the files and to damage them */

static sqlite3 *
open_sqlite (const char *path,
             gboolean    read_only)
{
  sqlite3 *db = NULL;
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;

  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  return db;
}

static gint64
file_query_int (const char *path,
                const char *sql)
{
  sqlite3 *db = open_sqlite (path, FALSE);
  gint64 value;

  g_assert_nonnull (db);
  value = tern_test_query_int (db, sql);
  sqlite3_close (db);
  return value;
}

static char *
file_query_text (const char *path,
                 const char *sql)
{
  sqlite3 *db = open_sqlite (path, FALSE);
  sqlite3_stmt *stmt = NULL;
  char *text;

  g_assert_nonnull (db);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}

/* Folds the write-ahead log into the database file and removes it, so that
 * the file alone holds the database, as after a clean shutdown. */
static void
checkpoint (const char *path)
{
  sqlite3 *db = open_sqlite (path, FALSE);

  g_assert_nonnull (db);
  tern_test_exec_sql (db, "PRAGMA wal_checkpoint(TRUNCATE)");
  tern_test_exec_sql (db, "PRAGMA journal_mode = DELETE");
  sqlite3_close (db);
}

static void
assert_integrity (const char *path)
{
  g_autofree char *result = file_query_text (path, "PRAGMA integrity_check");

  g_assert_cmpstr (result, ==, "ok");
}

/* The store */

static TernFolder *
ensure_folder (TernStore      *store,
               const char     *account,
               const char     *path,
               TernFolderRole  role)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernFolder *folder;

  tern_store_ensure_folder_async (store, account, path, role, NULL, tern_test_got_result_cb,
                                  &result);
  folder = tern_store_ensure_folder_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return folder;
}

static GPtrArray *
list_folders (TernStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  tern_store_list_folders_async (store, NULL, NULL, tern_test_got_result_cb, &result);
  folders = tern_store_list_folders_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return folders;
}

static TernFolder *
find_folder (TernStore  *store,
             const char *account,
             const char *path)
{
  g_autoptr(GPtrArray) folders = list_folders (store);

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = g_ptr_array_index (folders, i);

      if (g_str_equal (tern_folder_get_account (folder), account) &&
          g_str_equal (tern_folder_get_path (folder), path))
        return tern_folder_ref (folder);
    }

  return NULL;
}

static GPtrArray *
list_messages (TernStore *store,
               gint64     folder_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;

  tern_store_list_messages_async (store, folder_id, 0, G_MAXINT, NULL, tern_test_got_result_cb,
                                  &result);
  messages = tern_store_list_messages_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return messages;
}

static GBytes *
get_raw (TernStore *store,
         gint64     id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *raw;

  tern_store_get_raw_async (store, id, NULL, tern_test_got_result_cb, &result);
  raw = tern_store_get_raw_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return raw;
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

static GArray *
add_raw (TernStore  *store,
         gint64      folder_id,
         const char *raw,
         guint       flags)
{
  g_autoptr(GPtrArray) messages =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GBytes) bytes = g_bytes_new (raw, strlen (raw));
  g_autoptr(GError) error = NULL;
  GArray *ids;

  g_ptr_array_add (messages, tern_new_message_new (bytes, flags, 0));
  ids = tern_test_add_messages (store, folder_id, messages, TERN_STORE_DURABILITY_SYNCED, &error);
  g_assert_no_error (error);
  return ids;
}

/* A store with mail in several folders, and a record of where each
 * message is, to check a rebuilt index against. */

typedef struct
{
  char *message_id;
  char *account;
  char *path;
  guint flags;
  gboolean has_attachments;
  GBytes *raw;
} Expected;

static void
expected_free (Expected *expected)
{
  g_free (expected->message_id);
  g_free (expected->account);
  g_free (expected->path);
  g_bytes_unref (expected->raw);
  g_free (expected);
}

typedef struct
{
  char *dir;
  char *index;
  char *bodies;
  TernStore *store;
  GPtrArray *expected;
  gint64 body_rows;
} Fixture;

/* A Date header value in English whatever the locale, as mail has it. */
static char *
make_mail (guint       number,
           const char *subject,
           gboolean    with_attachment)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (JAN_01_2024 + number * DAY);
  g_autofree char *date_text = tern_test_rfc_date (date);

  if (with_attachment)
    return g_strdup_printf ("From: Sender %u <sender%u@example.org>\n"
                            "To: me@example.org\n"
                            "Subject: %s\n"
                            "Date: %s\n"
                            "Message-ID: <m%u@durable.example>\n"
                            "MIME-Version: 1.0\n"
                            "Content-Type: multipart/mixed; boundary=\"cut\"\n"
                            "\n"
                            "--cut\n"
                            "Content-Type: text/plain\n"
                            "\n"
                            "Message %u with a file.\n"
                            "--cut\n"
                            "Content-Type: application/pdf\n"
                            "Content-Disposition: attachment; filename=\"scan-%u.pdf\"\n"
                            "Content-Transfer-Encoding: base64\n"
                            "\n"
                            "JVBERi0xLjQK\n"
                            "--cut--\n",
                            number, number, subject, date_text, number, number, number);

  return g_strdup_printf ("From: Sender %u <sender%u@example.org>\n"
                          "To: me@example.org\n"
                          "Subject: %s\n"
                          "Date: %s\n"
                          "Message-ID: <m%u@durable.example>\n"
                          "\n"
                          "Message %u. %s\n",
                          number, number, subject, date_text, number, number,
                          /* Some long enough to be stored compressed. */
                          number % 3 == 0 ? "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                            "A long and repetitive paragraph follows. "
                                          : "Short.");
}

static void
add_expected (Fixture    *fixture,
              TernFolder *folder,
              guint       number,
              guint       flags)
{
  g_autofree char *subject = g_strdup_printf ("Mail number %u", number);
  g_autofree char *raw = make_mail (number, subject, number % 4 == 1);
  g_autoptr(GArray) ids = add_raw (fixture->store, tern_folder_get_id (folder), raw, flags);
  Expected *expected = g_new0 (Expected, 1);

  g_assert_cmpuint (ids->len, ==, 1);
  expected->message_id = g_strdup_printf ("m%u@durable.example", number);
  expected->account = g_strdup (tern_folder_get_account (folder));
  expected->path = g_strdup (tern_folder_get_path (folder));
  expected->flags = flags;
  expected->has_attachments = number % 4 == 1;
  expected->raw = g_bytes_new (raw, strlen (raw));
  g_ptr_array_add (fixture->expected, expected);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernFolder) inbox = NULL;
  g_autoptr(TernFolder) archive = NULL;
  g_autoptr(TernFolder) local = NULL;
  g_autoptr(TernFolder) moved_to = NULL;
  g_autoptr(TernFolder) renamed = NULL;
  g_autoptr(GArray) move = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) rename_result = NULL;
  g_autoptr(GPtrArray) in_inbox = NULL;
  guint number = 0;

  fixture->dir = tern_test_make_temp_dir ("tern-durable-XXXXXX");
  fixture->index = g_build_filename (fixture->dir, "store.sqlite", NULL);
  fixture->bodies = g_build_filename (fixture->dir, "bodies.sqlite", NULL);
  fixture->expected = g_ptr_array_new_with_free_func ((GDestroyNotify) expected_free);
  fixture->store = tern_test_open_store (fixture->dir);

  inbox = ensure_folder (fixture->store, "work", "INBOX", TERN_FOLDER_ROLE_INBOX);
  archive = ensure_folder (fixture->store, "work", "Archive/2023", TERN_FOLDER_ROLE_NONE);
  local = ensure_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Kept/Old", TERN_FOLDER_ROLE_NONE);
  moved_to = ensure_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Moved", TERN_FOLDER_ROLE_NONE);

  for (guint i = 0; i < 12; i++, number++)
    add_expected (fixture, inbox, number,
                  i % 3 == 0 ? TERN_MESSAGE_FLAG_SEEN : i % 3 == 1 ? TERN_MESSAGE_FLAG_FLAGGED : 0);
  for (guint i = 0; i < 5; i++, number++)
    add_expected (fixture, archive, number, TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_ANSWERED);
  for (guint i = 0; i < 5; i++, number++)
    add_expected (fixture, local, number, 0);

  /* Changes made after adding must survive a rebuild too: a flag, a move
   * and a rename. */
  in_inbox = list_messages (fixture->store, tern_folder_get_id (inbox));
  for (guint i = 0; i < in_inbox->len; i++)
    {
      TernMessage *message = g_ptr_array_index (in_inbox, i);
      gint64 id = tern_message_get_id (message);

      for (guint j = 0; j < fixture->expected->len; j++)
        {
          Expected *expected = g_ptr_array_index (fixture->expected, j);

          if (g_strcmp0 (expected->message_id, tern_message_get_message_id (message)) != 0)
            continue;

          if (g_str_equal (expected->message_id, "m2@durable.example"))
            {
              g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
              g_autoptr(GAsyncResult) flags_result = NULL;

              g_array_append_val (ids, id);
              tern_store_set_flags_async (fixture->store, ids, TERN_MESSAGE_FLAG_FLAGGED, 0,
                                          NULL, tern_test_got_result_cb, &flags_result);
              g_assert_true (tern_store_set_flags_finish (fixture->store,
                                                          tern_test_wait_for (&flags_result),
                                                          &error));
              expected->flags |= TERN_MESSAGE_FLAG_FLAGGED;
            }
          else if (g_str_equal (expected->message_id, "m4@durable.example") ||
                   g_str_equal (expected->message_id, "m5@durable.example"))
            {
              g_array_append_val (move, id);
              g_free (expected->account);
              g_free (expected->path);
              expected->account = g_strdup (TERN_LOCAL_ACCOUNT);
              expected->path = g_strdup ("Moved");
            }
        }
    }
  tern_store_move_messages_async (fixture->store, move, tern_folder_get_id (moved_to), NULL,
                                  tern_test_got_result_cb, &result);
  g_assert_true (tern_store_move_messages_finish (fixture->store, tern_test_wait_for (&result),
                                                  &error));
  g_assert_no_error (error);

  tern_store_rename_folder_async (fixture->store, tern_folder_get_id (local), "Kept/Older",
                                  NULL, tern_test_got_result_cb, &rename_result);
  renamed = tern_store_rename_folder_finish (fixture->store, tern_test_wait_for (&rename_result),
                                             &error);
  g_assert_no_error (error);
  for (guint j = 0; j < fixture->expected->len; j++)
    {
      Expected *expected = g_ptr_array_index (fixture->expected, j);

      if (g_str_equal (expected->path, "Kept/Old"))
        {
          g_free (expected->path);
          expected->path = g_strdup ("Kept/Older");
        }
    }

  tern_test_close_store (&fixture->store);
  checkpoint (fixture->index);
  checkpoint (fixture->bodies);
  fixture->body_rows = file_query_int (fixture->bodies, "SELECT count (*) FROM bodies");
  g_assert_cmpint (fixture->body_rows, ==, fixture->expected->len);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_test_log_set_fatal_handler (NULL, NULL);
  tern_test_close_store (&fixture->store);
  tern_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->index);
  g_free (fixture->bodies);
  g_ptr_array_unref (fixture->expected);
}

/* Every recorded message is in its folder, with its flags and its exact
 * bytes, and nothing else is there. */
static void
assert_all_mail_back (Fixture *fixture)
{
  g_autoptr(GPtrArray) folders = list_folders (fixture->store);
  g_autoptr(GHashTable) found = g_hash_table_new (g_str_hash, g_str_equal);
  guint n_messages = 0;

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = g_ptr_array_index (folders, i);
      g_autoptr(GPtrArray) messages = list_messages (fixture->store, tern_folder_get_id (folder));
      gint64 unread = 0;

      for (guint j = 0; j < messages->len; j++)
        {
          TernMessage *message = g_ptr_array_index (messages, j);
          const char *message_id = tern_message_get_message_id (message);
          Expected *expected = NULL;
          g_autoptr(GBytes) raw = NULL;

          for (guint k = 0; k < fixture->expected->len && expected == NULL; k++)
            {
              Expected *candidate = g_ptr_array_index (fixture->expected, k);

              if (g_strcmp0 (candidate->message_id, message_id) == 0)
                expected = candidate;
            }

          g_test_message ("Message %s in %s:%s", message_id, tern_folder_get_account (folder),
                          tern_folder_get_path (folder));
          g_assert_nonnull (expected);
          g_assert_false (g_hash_table_contains (found, expected->message_id));
          g_hash_table_add (found, expected->message_id);

          g_assert_cmpstr (tern_folder_get_account (folder), ==, expected->account);
          g_assert_cmpstr (tern_folder_get_path (folder), ==, expected->path);
          g_assert_cmpuint (tern_message_get_flags (message), ==, expected->flags);
          g_assert_cmpint (tern_message_has_attachments (message), ==, expected->has_attachments);

          raw = get_raw (fixture->store, tern_message_get_id (message));
          g_assert_cmpmem (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                           g_bytes_get_data (expected->raw, NULL),
                           g_bytes_get_size (expected->raw));

          if ((tern_message_get_flags (message) &
               (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0)
            unread++;
          n_messages++;
        }

      g_assert_cmpint (tern_folder_get_total (folder), ==, messages->len);
      g_assert_cmpint (tern_folder_get_unread (folder), ==, unread);
    }

  g_assert_cmpuint (n_messages, ==, fixture->expected->len);

  /* The full-text index is whole again. */
  {
    g_autoptr(GArray) all = search (fixture->store, "message");
    g_autoptr(GArray) with_files = search (fixture->store, "has:attachment");
    g_autoptr(GArray) by_file = search (fixture->store, "scan");

    g_assert_cmpuint (all->len, ==, fixture->expected->len);
    g_assert_cmpuint (with_files->len, ==, by_file->len);
    g_assert_cmpuint (with_files->len, >, 0);
  }
}

static gboolean
has_damaged_copy (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      if (g_str_has_prefix (name, "store.sqlite.damaged-") && !g_str_has_suffix (name, "-wal") &&
          !g_str_has_suffix (name, "-shm"))
        return TRUE;
    }

  return FALSE;
}

static void
reopen_after_damage (Fixture *fixture)
{
  /* The store warns that it makes the index again. */
  g_test_expect_message ("tern-engine", G_LOG_LEVEL_WARNING, "*damaged*");
  fixture->store = tern_test_open_store (fixture->dir);
  g_test_assert_expected_messages ();
}

static void
assert_bodies_untouched (Fixture *fixture)
{
  tern_test_close_store (&fixture->store);
  g_assert_cmpint (file_query_int (fixture->bodies, "SELECT count (*) FROM bodies"), ==,
                   fixture->body_rows);
  g_assert_cmpint (file_query_int (fixture->bodies, "SELECT count (*) FROM body_meta"), ==,
                   fixture->body_rows);
  assert_integrity (fixture->index);
  assert_integrity (fixture->bodies);
}

static void
overwrite (const char *path,
           goffset     offset,
           gsize       length)
{
  int fd = g_open (path, O_WRONLY, 0);
  g_autofree guint8 *garbage = g_malloc (length);

  g_assert_cmpint (fd, >=, 0);
  for (gsize i = 0; i < length; i++)
    garbage[i] = (guint8) g_test_rand_int ();
  g_assert_cmpint (pwrite (fd, garbage, length, offset), ==, (gssize) length);
  g_assert_cmpint (close (fd), ==, 0);
}

static void
test_rebuild_after_garbage_pages (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  GStatBuf info;
  const gsize page = 4096;

  g_assert_cmpint (g_stat (fixture->index, &info), ==, 0);
  g_assert_cmpint (info.st_size, >, 4 * page);
  /* Every page after the first two: the tables' pages are garbage. */
  overwrite (fixture->index, 2 * page, info.st_size - 2 * page);

  reopen_after_damage (fixture);
  g_assert_true (tern_store_was_rebuilt (fixture->store));
  g_assert_true (has_damaged_copy (fixture->dir));
  assert_all_mail_back (fixture);
  assert_bodies_untouched (fixture);
}

static void
test_rebuild_after_garbage_header (Fixture       *fixture,
                                   gconstpointer  user_data)
{
  overwrite (fixture->index, 0, 100);

  reopen_after_damage (fixture);
  g_assert_true (tern_store_was_rebuilt (fixture->store));
  g_assert_true (has_damaged_copy (fixture->dir));
  assert_all_mail_back (fixture);
  assert_bodies_untouched (fixture);
}

static void
test_rebuild_after_truncation (Fixture       *fixture,
                               gconstpointer  user_data)
{
  GStatBuf info;

  g_assert_cmpint (g_stat (fixture->index, &info), ==, 0);
  /* Cut in the middle of a page. */
  g_assert_cmpint (truncate (fixture->index, info.st_size / 2 + 1000), ==, 0);

  reopen_after_damage (fixture);
  g_assert_true (tern_store_was_rebuilt (fixture->store));
  g_assert_true (has_damaged_copy (fixture->dir));
  assert_all_mail_back (fixture);
  assert_bodies_untouched (fixture);
}

/* Making a lost index again may well be worth a warning; it is not a
 * failure. */
static gboolean
warnings_are_not_fatal_cb (const char     *log_domain,
                           GLogLevelFlags  log_level,
                           const char     *message,
                           gpointer        user_data)
{
  return (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) != 0;
}

static void
test_rebuild_after_index_emptied (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_assert_cmpint (truncate (fixture->index, 0), ==, 0);
  g_test_log_set_fatal_handler (warnings_are_not_fatal_cb, NULL);

  /* An empty index next to stored mail is a lost index, not a new store. */
  fixture->store = tern_test_open_store (fixture->dir);
  assert_all_mail_back (fixture);
  assert_bodies_untouched (fixture);
}

static void
test_rebuild_after_index_deleted (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_assert_cmpint (g_unlink (fixture->index), ==, 0);
  g_test_log_set_fatal_handler (warnings_are_not_fatal_cb, NULL);

  fixture->store = tern_test_open_store (fixture->dir);
  assert_all_mail_back (fixture);
  assert_bodies_untouched (fixture);
}

static void
test_rebuild_keeps_folder_roles (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autoptr(TernFolder) inbox = NULL;

  overwrite (fixture->index, 0, 100);
  reopen_after_damage (fixture);
  g_assert_true (tern_store_was_rebuilt (fixture->store));

  /* The Inbox is still the Inbox: the unified Inbox shows it. */
  inbox = find_folder (fixture->store, "work", "INBOX");
  g_assert_nonnull (inbox);
  g_assert_cmpint (tern_folder_get_role (inbox), ==, TERN_FOLDER_ROLE_INBOX);
}

static void
test_rebuild_never_overwrites_an_earlier_damaged_copy (Fixture       *fixture,
                                                       gconstpointer  user_data)
{
  g_autoptr(GPtrArray) earlier = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint copies = 0;

  /* Copies kept from earlier damage, named for the seconds around now, as
   * when the index is damaged again soon after a rebuild. */
  for (int offset = -1; offset <= 3; offset++)
    {
      g_autoptr(GDateTime) when = g_date_time_add_seconds (now, offset);
      g_autofree char *stamp = g_date_time_format (when, "%Y%m%d-%H%M%S");
      g_autofree char *path = g_strdup_printf ("%s.damaged-%s", fixture->index, stamp);
      g_autoptr(GError) error = NULL;

      g_file_set_contents (path, "an earlier damaged index", -1, &error);
      g_assert_no_error (error);
      g_ptr_array_add (earlier, g_steal_pointer (&path));
    }

  overwrite (fixture->index, 0, 100);
  reopen_after_damage (fixture);
  assert_all_mail_back (fixture);
  tern_test_close_store (&fixture->store);

  for (guint i = 0; i < earlier->len; i++)
    {
      g_autofree char *contents = NULL;
      g_autoptr(GError) error = NULL;

      g_file_get_contents (g_ptr_array_index (earlier, i), &contents, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (contents, ==, "an earlier damaged index");
    }

  listing = g_dir_open (fixture->dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      if (g_str_has_prefix (name, "store.sqlite.damaged-") && !g_str_has_suffix (name, "-wal") &&
          !g_str_has_suffix (name, "-shm"))
        copies++;
    }
  g_assert_cmpuint (copies, ==, earlier->len + 1);
}

static void
test_unindexed_bodies_are_indexed_on_open (Fixture       *fixture,
                                           gconstpointer  user_data)
{
  g_autofree char *ids = NULL;
  g_autofree char *update = NULL;
  g_auto(GStrv) id_list = NULL;
  sqlite3 *db;
  gint64 lost_total;

  /* As if Tern died after committing these bodies and before indexing
   * them: their index rows are gone and they are marked "written".  A
   * message's id is its body's id. */
  ids = file_query_text (fixture->index,
                         "SELECT group_concat (id) FROM messages WHERE message_id IN "
                         "('m1@durable.example', 'm3@durable.example', 'm13@durable.example', "
                         "'m18@durable.example')");
  id_list = g_strsplit (ids, ",", -1);
  g_assert_cmpuint (g_strv_length (id_list), ==, 4);

  db = open_sqlite (fixture->index, FALSE);
  g_assert_nonnull (db);
  tern_test_exec_sql (db, "PRAGMA foreign_keys = ON");
  tern_test_exec_sql (db, "DELETE FROM messages WHERE message_id IN ('m1@durable.example', "
                "'m3@durable.example', 'm13@durable.example', 'm18@durable.example')");
  lost_total = tern_test_query_int (db, "SELECT sum (total) FROM folders");
  sqlite3_close (db);
  g_assert_cmpint (lost_total, ==, fixture->expected->len - 4);

  db = open_sqlite (fixture->bodies, FALSE);
  g_assert_nonnull (db);
  update = g_strdup_printf ("UPDATE body_meta SET state = 0 WHERE id IN (%s)", ids);
  tern_test_exec_sql (db, update);
  g_assert_cmpint (sqlite3_changes (db), ==, 4);
  sqlite3_close (db);

  fixture->store = tern_test_open_store (fixture->dir);
  g_assert_false (tern_store_was_rebuilt (fixture->store));
  g_assert_false (has_damaged_copy (fixture->dir));
  assert_all_mail_back (fixture);
  assert_bodies_untouched (fixture);

  /* And they are marked indexed, so the next open does nothing more. */
  g_assert_cmpint (file_query_int (fixture->bodies,
                                   "SELECT count (*) FROM body_meta WHERE state != 1"), ==, 0);
}

/* Killing tern-cli in the middle of an import */

/* Message @number of the generated mbox, as the mbox reader hands it out. */
static char *
kill_test_mail (guint number)
{
  return g_strdup_printf ("From: Bulk %u <bulk%u@example.org>\n"
                          "To: me@example.org\n"
                          "Subject: Bulk message %u\n"
                          "Date: Mon, 1 Jan 2024 %02u:%02u:%02u +0000\n"
                          "Message-ID: <bulk-%u@kill.example>\n"
                          "\n"
                          "Body of bulk message %u.\n",
                          number, number % 97, number, (number / 3600) % 24, (number / 60) % 60,
                          number % 60, number, number);
}

static void
write_bulk_mbox (const char *path,
                 guint       count)
{
  g_autoptr(GString) text = g_string_sized_new (count * 260);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < count; i++)
    {
      g_autofree char *mail = kill_test_mail (i);

      g_string_append_printf (text, "From bulk@example.org Mon Jan  1 00:00:00 2024\n%s\n", mail);
    }

  g_file_set_contents (path, text->str, text->len, &error);
  g_assert_no_error (error);
}

static gint64
count_rows_now (const char *index)
{
  sqlite3 *db;
  sqlite3_stmt *stmt = NULL;
  gint64 count = 0;

  if (!g_file_test (index, G_FILE_TEST_EXISTS))
    return 0;

  db = open_sqlite (index, TRUE);
  if (db == NULL)
    return 0;
  sqlite3_busy_timeout (db, 50);
  if (sqlite3_prepare_v2 (db, "SELECT count (*) FROM messages", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  return count;
}

static GPid
spawn_import (const char *root,
              const char *mbox)
{
  const char *argv[] = {
    TERN_CLI_PATH, "--data-dir", root, "import", "--quiet", "--mbox", mbox, "--folder", "Bulk",
    NULL,
  };
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  g_spawn_async (NULL, (char **) argv, NULL,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                 G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  return pid;
}

/* Kills the import once it committed some messages.  Returns FALSE when it
 * finished first. */
static gboolean
kill_import_midway (const char *root,
                    const char *index,
                    const char *mbox)
{
  GPid pid = spawn_import (root, mbox);
  gint64 deadline = g_get_monotonic_time () + TERN_TEST_WAIT_SECONDS * G_USEC_PER_SEC;
  int status = 0;

  for (;;)
    {
      pid_t done = waitpid (pid, &status, WNOHANG);

      g_assert_cmpint (done, >=, 0);
      if (done == pid)
        {
          g_spawn_close_pid (pid);
          g_test_message ("The import finished before it could be killed");
          return FALSE;
        }

      if (count_rows_now (index) > 0)
        break;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (2000);
    }

  /* A little later, somewhere in the middle of a batch. */
  g_usleep (g_test_rand_int_range (0, 100000));
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);

  if (WIFEXITED (status))
    {
      g_test_message ("The import finished before it could be killed");
      return FALSE;
    }

  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  return TRUE;
}

static guint
bulk_number (const char *message_id)
{
  char *end = NULL;
  guint64 number;

  g_assert_true (g_str_has_prefix (message_id, "bulk-"));
  number = g_ascii_strtoull (message_id + strlen ("bulk-"), &end, 10);
  g_assert_cmpstr (end, ==, "@kill.example");
  return (guint) number;
}

static void
test_kill_during_import_keeps_committed_mail (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("tern-kill-XXXXXX", &error);
  g_autofree char *mbox = g_build_filename (root, "bulk.mbox", NULL);
  g_autofree char *data_dir = g_build_filename (root, "data", NULL);
  g_autofree char *index = g_build_filename (data_dir, "store.sqlite", NULL);
  g_autofree char *bodies = g_build_filename (data_dir, "bodies.sqlite", NULL);
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
  gboolean killed = FALSE;
  guint count = 20000;
  gint64 unread = 0;
  guint n;

  g_assert_no_error (error);

  for (guint attempt = 0; attempt < 4 && !killed; attempt++, count *= 2)
    {
      tern_test_remove_tree (data_dir);
      write_bulk_mbox (mbox, count);
      killed = kill_import_midway (root, index, mbox);
    }
  g_assert_true (killed);
  count /= 2;

  store = tern_test_open_store (data_dir);
  folder = find_folder (store, TERN_LOCAL_ACCOUNT, "Bulk");
  g_assert_nonnull (folder);
  messages = list_messages (store, tern_folder_get_id (folder));
  n = messages->len;
  g_test_message ("%u of %u messages were committed before the kill", n, count);
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (n, <=, count);

  /* Each stored message is the one of the mbox with its Message-ID, byte
   * for byte, and none is there twice. */
  for (guint i = 0; i < n; i++)
    {
      TernMessage *message = g_ptr_array_index (messages, i);
      guint number = bulk_number (tern_message_get_message_id (message));
      g_autofree char *expected = kill_test_mail (number);
      g_autoptr(GBytes) raw = get_raw (store, tern_message_get_id (message));

      g_assert_cmpuint (number, <, count);
      g_assert_true (g_hash_table_add (seen, GUINT_TO_POINTER (number + 1)));
      g_assert_cmpmem (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                       expected, strlen (expected));
      if ((tern_message_get_flags (message) &
           (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0)
        unread++;
    }

  /* The counts match the rows. */
  g_assert_cmpint (tern_folder_get_total (folder), ==, n);
  g_assert_cmpint (tern_folder_get_unread (folder), ==, unread);
  g_assert_cmpint (unread, ==, n);
  tern_test_close_store (&store);

  assert_integrity (index);
  assert_integrity (bodies);
  /* No body is left over that the index does not show. */
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM bodies"), ==, n);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta WHERE state != 1"),
                   ==, 0);

  /* Importing again works, into the same folder. */
  {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int wait_status = 0;
    const char *argv[] = {
      TERN_CLI_PATH, "--data-dir", root, "import", "--quiet", "--mbox", mbox, "--folder", "Bulk",
      NULL,
    };
    g_autoptr(TernFolder) again = NULL;

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                  &wait_status, &error);
    g_assert_no_error (error);
    g_assert_true (WIFEXITED (wait_status));
    g_assert_cmpint (WEXITSTATUS (wait_status), ==, 0);

    store = tern_test_open_store (data_dir);
    again = find_folder (store, TERN_LOCAL_ACCOUNT, "Bulk");
    g_assert_cmpint (tern_folder_get_total (again), ==, n + count);
    g_assert_cmpint (tern_folder_get_unread (again), ==, n + count);
    tern_test_close_store (&store);
  }

  tern_test_remove_tree (root);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/store/rebuild/after-garbage-pages", test_rebuild_after_garbage_pages);
  ADD ("/store/rebuild/after-garbage-header", test_rebuild_after_garbage_header);
  ADD ("/store/rebuild/after-truncation", test_rebuild_after_truncation);
  ADD ("/store/rebuild/after-index-emptied", test_rebuild_after_index_emptied);
  ADD ("/store/rebuild/after-index-deleted", test_rebuild_after_index_deleted);
  ADD ("/store/rebuild/keeps-folder-roles", test_rebuild_keeps_folder_roles);
  ADD ("/store/rebuild/never-overwrites-an-earlier-damaged-copy",
       test_rebuild_never_overwrites_an_earlier_damaged_copy);
  ADD ("/store/recovery/unindexed-bodies-are-indexed-on-open",
       test_unindexed_bodies_are_indexed_on_open);
  g_test_add_func ("/store/durability/kill-during-import-keeps-committed-mail",
                   test_kill_during_import_keeps_committed_mail);

#undef ADD

  return g_test_run ();
}
