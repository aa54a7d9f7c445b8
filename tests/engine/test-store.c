/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "tern-message-flags.h"
#include "tern-mime-message.h"
#include "tern-search-query.h"
#include "tern-store-import.h"
#include "tern-store-private.h"
#include "tern-store.h"
#include "tern-test-util.h"

/*
 * The local store seen through its public calls: opening and migrating,
 * messages and their facts, flags, moves, copies, deletions, folders,
 * conversations, search, completion, import and export.  Every test opens
 * a store of its own in a temporary folder.
 */

#define MIGRATIONS_DIR "/io/github/ternmail/Tern/store/sql/"

/* Unix times of a few dates the tests use. */
#define JAN_01_2024 G_GINT64_CONSTANT (1704067200)
#define DAY (G_GINT64_CONSTANT (86400))

/* Ends the lists of ids given to ids_of() and join_ids(). */
#define END ((gint64) 0)

/* Compares two lists of ids made by search_ids(), folder_ids() or
 * join_ids(), and frees them. */
#define assert_ids(actual, expected) \
  G_STMT_START { \
    g_autofree char *actual_ = (actual); \
    g_autofree char *expected_ = (expected); \
    g_assert_cmpstr (actual_, ==, expected_); \
  } G_STMT_END

/* Files */

static GBytes *
read_data (const char *name)
{
  g_autofree char *path = tern_test_data_path (name);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);

  return g_bytes_new_take (contents, length);
}

/* Direct SQLite access, to look at and tamper with the files as a crash,
 * an older Tern or a newer one would leave them. */

static sqlite3 *
open_sqlite (const char *path)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

  g_assert_cmpint (rc, ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  return db;
}

static gint64
file_query_int (const char *path,
                const char *sql)
{
  sqlite3 *db = open_sqlite (path);
  gint64 value = tern_test_query_int (db, sql);

  sqlite3_close (db);
  return value;
}

/* The store */

typedef struct
{
  char *dir;
  TernStore *store;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->dir = tern_test_make_temp_dir ("tern-store-XXXXXX");
  fixture->store = tern_test_open_store (fixture->dir);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  tern_test_close_store (&fixture->store);
  tern_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static void
fixture_reopen (Fixture *fixture)
{
  tern_test_close_store (&fixture->store);
  fixture->store = tern_test_open_store (fixture->dir);
}

static TernFolder *
create_folder (TernStore       *store,
               const char      *account,
               const char      *path,
               TernFolderRole   role,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_create_folder_async (store, account, path, role, NULL, tern_test_got_result_cb,
                                  &result);
  return tern_store_create_folder_finish (store, tern_test_wait_for (&result), error);
}

static TernFolder *
ensure_folder (TernStore       *store,
               const char      *account,
               const char      *path,
               TernFolderRole   role,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_ensure_folder_async (store, account, path, role, NULL, tern_test_got_result_cb,
                                  &result);
  return tern_store_ensure_folder_finish (store, tern_test_wait_for (&result), error);
}

static gint64
new_folder (TernStore      *store,
            const char     *account,
            const char     *path,
            TernFolderRole  role)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernFolder) folder = create_folder (store, account, path, role, &error);

  g_assert_no_error (error);
  g_assert_nonnull (folder);
  return tern_folder_get_id (folder);
}

static GPtrArray *
list_folders (TernStore  *store,
              const char *account)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *folders;

  tern_store_list_folders_async (store, account, NULL, tern_test_got_result_cb, &result);
  folders = tern_store_list_folders_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (folders);

  return folders;
}

/* A fresh snapshot of a folder, or NULL when it is gone. */
static TernFolder *
get_folder (TernStore *store,
            gint64     folder_id)
{
  g_autoptr(GPtrArray) folders = list_folders (store, NULL);

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = g_ptr_array_index (folders, i);

      if (tern_folder_get_id (folder) == folder_id)
        return tern_folder_ref (folder);
    }

  return NULL;
}

static TernFolder *
find_folder (TernStore  *store,
             const char *account,
             const char *path)
{
  g_autoptr(GPtrArray) folders = list_folders (store, account);

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = g_ptr_array_index (folders, i);

      if (g_str_equal (tern_folder_get_path (folder), path))
        return tern_folder_ref (folder);
    }

  return NULL;
}

static gboolean
has_folder (TernStore  *store,
            const char *account,
            const char *path)
{
  g_autoptr(TernFolder) folder = find_folder (store, account, path);

  return folder != NULL;
}

static void
assert_counts (TernStore *store,
               gint64     folder_id,
               gint64     total,
               gint64     unread)
{
  g_autoptr(TernFolder) folder = get_folder (store, folder_id);

  g_assert_nonnull (folder);
  g_assert_cmpint (tern_folder_get_total (folder), ==, total);
  g_assert_cmpint (tern_folder_get_unread (folder), ==, unread);
}

static GArray *
add_messages (TernStore  *store,
              gint64      folder_id,
              GPtrArray  *raws,
              guint       flags,
              GError    **error)
{
  g_autoptr(GPtrArray) messages =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);

  for (guint i = 0; i < raws->len; i++)
    g_ptr_array_add (messages, tern_new_message_new (g_ptr_array_index (raws, i), flags, 0));

  return tern_test_add_messages (store, folder_id, messages, TERN_STORE_DURABILITY_NORMAL, error);
}

static gint64
add_bytes (TernStore *store,
           gint64     folder_id,
           GBytes    *raw,
           guint      flags)
{
  g_autoptr(GPtrArray) raws = g_ptr_array_new ();
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (raws, raw);
  ids = add_messages (store, folder_id, raws, flags, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_cmpint (g_array_index (ids, gint64, 0), >, 0);

  return g_array_index (ids, gint64, 0);
}

static gint64
add_text (TernStore  *store,
          gint64      folder_id,
          const char *raw,
          guint       flags)
{
  g_autoptr(GBytes) bytes = g_bytes_new (raw, strlen (raw));

  return add_bytes (store, folder_id, bytes, flags);
}

static char *
rfc_date (gint64 unix_time)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc (unix_time);
  static const char * const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char * const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  };

  return g_strdup_printf ("%s, %02d %s %d %02d:%02d:%02d +0000",
                          days[g_date_time_get_day_of_week (date) - 1],
                          g_date_time_get_day_of_month (date),
                          months[g_date_time_get_month (date) - 1],
                          g_date_time_get_year (date),
                          g_date_time_get_hour (date),
                          g_date_time_get_minute (date),
                          g_date_time_get_second (date));
}

/* A small message.  @message_id is without its angle brackets; @in_reply_to
 * and @references (space-separated IDs without brackets) may be NULL. */
static char *
make_mail (const char *message_id,
           const char *subject,
           const char *from,
           const char *to,
           gint64      date,
           const char *in_reply_to,
           const char *references,
           const char *body)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *date_text = rfc_date (date);

  g_string_append_printf (text, "From: %s\n", from);
  g_string_append_printf (text, "To: %s\n", to);
  g_string_append_printf (text, "Subject: %s\n", subject);
  g_string_append_printf (text, "Date: %s\n", date_text);
  if (message_id != NULL)
    g_string_append_printf (text, "Message-ID: <%s>\n", message_id);
  if (in_reply_to != NULL)
    g_string_append_printf (text, "In-Reply-To: <%s>\n", in_reply_to);
  if (references != NULL)
    {
      g_auto(GStrv) ids = g_strsplit (references, " ", -1);

      g_string_append (text, "References:");
      for (guint i = 0; ids[i] != NULL; i++)
        g_string_append_printf (text, " <%s>", ids[i]);
      g_string_append_c (text, '\n');
    }
  g_string_append_printf (text, "\n%s\n", body);

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gint64
add_mail (TernStore  *store,
          gint64      folder_id,
          const char *message_id,
          const char *subject,
          gint64      date,
          const char *in_reply_to,
          const char *references)
{
  g_autofree char *raw = make_mail (message_id, subject, "Alice <alice@example.org>",
                                    "Bob <bob@example.com>", date, in_reply_to, references,
                                    "Hello.");

  return add_text (store, folder_id, raw, 0);
}

static GArray *
id_array (void)
{
  return g_array_new (FALSE, FALSE, sizeof (gint64));
}

static GArray *
ids_of (gint64 first,
        ...)
{
  GArray *ids = id_array ();
  va_list args;

  va_start (args, first);
  for (gint64 id = first; id != 0; id = va_arg (args, gint64))
    g_array_append_val (ids, id);
  va_end (args);

  return ids;
}

static TernMessage *
get_message (TernStore  *store,
             gint64      id,
             GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_get_message_async (store, id, NULL, tern_test_got_result_cb, &result);
  return tern_store_get_message_finish (store, tern_test_wait_for (&result), error);
}

static TernMessage *
must_get_message (TernStore *store,
                  gint64     id)
{
  g_autoptr(GError) error = NULL;
  TernMessage *message = get_message (store, id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

static GBytes *
get_raw (TernStore  *store,
         gint64      id,
         GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_get_raw_async (store, id, NULL, tern_test_got_result_cb, &result);
  return tern_store_get_raw_finish (store, tern_test_wait_for (&result), error);
}

static GArray *
copy_messages (TernStore *store,
               GArray    *ids,
               gint64     folder_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GArray *copies;

  tern_store_copy_messages_async (store, ids, folder_id, NULL, tern_test_got_result_cb, &result);
  copies = tern_store_copy_messages_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (copies);
  return copies;
}

static GArray *
search (TernStore   *store,
        const char  *query,
        gint64       folder_id,
        guint        limit,
        GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_search_async (store, query, folder_id, limit, NULL, tern_test_got_result_cb, &result);
  return tern_store_search_finish (store, tern_test_wait_for (&result), error);
}

/* The ids a search finds, as "3,1,2", in the order found. */
static char *
search_ids (TernStore  *store,
            const char *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = search (store, query, 0, 0, &error);
  g_autoptr(GString) text = g_string_new (NULL);

  g_assert_no_error (error);
  g_assert_nonnull (ids);
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                            g_array_index (ids, gint64, i));

  return g_string_free (g_steal_pointer (&text), FALSE);
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
  g_assert_nonnull (messages);
  return messages;
}

/* The ids of a folder's messages, newest first, as "3,1,2". */
static char *
folder_ids (TernStore *store,
            gint64     folder_id)
{
  g_autoptr(GPtrArray) messages = list_messages (store, folder_id);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < messages->len; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                            tern_message_get_id (g_ptr_array_index (messages, i)));

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
join_ids (gint64 first,
          ...)
{
  g_autoptr(GString) text = g_string_new (NULL);
  va_list args;

  va_start (args, first);
  for (gint64 id = first; id != 0; id = va_arg (args, gint64))
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, text->len > 0 ? "," : "", id);
  va_end (args);

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
assert_same_bytes (GBytes *actual,
                   GBytes *expected)
{
  gsize actual_size;
  gsize expected_size;
  const guint8 *actual_data = g_bytes_get_data (actual, &actual_size);
  const guint8 *expected_data = g_bytes_get_data (expected, &expected_size);

  g_assert_cmpmem (actual_data, actual_size, expected_data, expected_size);
}

static gint64
conversation_of (TernStore *store,
                 gint64     id)
{
  g_autoptr(TernMessage) message = must_get_message (store, id);

  return tern_message_get_conversation_id (message);
}

/* Whether two messages are in one conversation (==) or not (!=). */
#define assert_conversation(store, a, op, b) \
  g_assert_cmpint (conversation_of (store, a), op, conversation_of (store, b))

/* Opening */

static void
test_open_creates_index_and_bodies (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tern-store-XXXXXX", &error);
  g_autofree char *data_dir = NULL;
  g_autofree char *index = NULL;
  g_autofree char *bodies = NULL;
  g_autoptr(TernStore) store = NULL;

  g_assert_no_error (error);
  /* The data folder itself is made when missing. */
  data_dir = g_build_filename (dir, "profile", "data", NULL);
  index = g_build_filename (data_dir, "store.sqlite", NULL);
  bodies = g_build_filename (data_dir, "bodies.sqlite", NULL);

  store = tern_test_open_store (data_dir);
  g_assert_cmpstr (tern_store_get_data_dir (store), ==, data_dir);
  g_assert_false (tern_store_was_rebuilt (store));
  g_assert_true (g_file_test (index, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (bodies, G_FILE_TEST_IS_REGULAR));

  /* Mail is private: nobody but the user reads these. */
  {
    const char * const private_files[] = { data_dir, index, bodies };

    for (guint i = 0; i < G_N_ELEMENTS (private_files); i++)
      {
        GStatBuf info;

        g_assert_cmpint (g_stat (private_files[i], &info), ==, 0);
        g_assert_cmpint (info.st_mode & 0077, ==, 0);
      }
  }
  tern_test_close_store (&store);

  g_assert_cmpint (file_query_int (index, "PRAGMA user_version"), ==, tern_store_index_version ());
  g_assert_cmpint (tern_store_index_version (), >=, 1);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta"), ==, 0);

  tern_test_remove_tree (dir);
}

static void
test_open_reopen_keeps_everything (Fixture       *fixture,
                                   gconstpointer  user_data)
{
  g_autoptr(TernFolder) inbox = NULL;
  g_autoptr(TernFolder) child = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) expected = read_data ("attachment.eml");
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(GArray) seen = NULL;
  gint64 inbox_id = new_folder (fixture->store, "acct", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 child_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Projects/Tern",
                                TERN_FOLDER_ROLE_NONE);
  gint64 first = add_bytes (fixture->store, inbox_id, expected, 0);
  gint64 second = add_mail (fixture->store, inbox_id, "two@example.org", "Second", JAN_01_2024,
                            NULL, NULL);

  seen = ids_of (second, END);
  tern_test_set_flags (fixture->store, seen, TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED, 0);

  fixture_reopen (fixture);
  g_assert_false (tern_store_was_rebuilt (fixture->store));

  folders = list_folders (fixture->store, NULL);
  /* acct:INBOX, local:Projects and local:Projects/Tern. */
  g_assert_cmpuint (folders->len, ==, 3);

  inbox = get_folder (fixture->store, inbox_id);
  g_assert_nonnull (inbox);
  g_assert_cmpstr (tern_folder_get_account (inbox), ==, "acct");
  g_assert_cmpstr (tern_folder_get_path (inbox), ==, "INBOX");
  g_assert_cmpint (tern_folder_get_role (inbox), ==, TERN_FOLDER_ROLE_INBOX);
  g_assert_cmpint (tern_folder_get_total (inbox), ==, 2);
  g_assert_cmpint (tern_folder_get_unread (inbox), ==, 1);

  child = get_folder (fixture->store, child_id);
  g_assert_nonnull (child);
  g_assert_cmpstr (tern_folder_get_name (child), ==, "Tern");

  raw = get_raw (fixture->store, first, NULL);
  g_assert_nonnull (raw);
  assert_same_bytes (raw, expected);

  message = must_get_message (fixture->store, second);
  g_assert_cmpuint (tern_message_get_flags (message), ==,
                    TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED);
  g_assert_cmpstr (tern_message_get_subject (message), ==, "Second");
}

static void
test_open_refuses_newer_index_untouched (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tern-store-XXXXXX", &error);
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autofree char *pragma = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize before_size = 0;
  gsize after_size = 0;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(GDir) listing = NULL;
  const char *name;
  sqlite3 *db;
  int newer = tern_store_index_version () + 1;
  gint64 folder_id;

  g_assert_no_error (error);
  store = tern_test_open_store (dir);
  folder_id = new_folder (store, TERN_LOCAL_ACCOUNT, "Kept", TERN_FOLDER_ROLE_NONE);
  add_mail (store, folder_id, "kept@example.org", "Kept", JAN_01_2024, NULL, NULL);
  tern_test_close_store (&store);

  /* A newer Tern wrote this index; closing the last connection folds the
   * write-ahead log into the file, so the file alone holds the index. */
  db = open_sqlite (index);
  pragma = g_strdup_printf ("PRAGMA user_version = %d", newer);
  tern_test_exec_sql (db, pragma);
  tern_test_exec_sql (db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close (db);

  g_file_get_contents (index, &before, &before_size, &error);
  g_assert_no_error (error);

  store = tern_store_open_sync (dir, NULL, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_TOO_NEW);
  g_assert_null (store);
  g_clear_error (&error);
  tern_test_drain_main_context ();

  g_file_get_contents (index, &after, &after_size, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (after, after_size, before, before_size);
  g_assert_cmpint (file_query_int (index, "PRAGMA user_version"), ==, newer);
  g_assert_cmpint (file_query_int (index, "SELECT count (*) FROM messages"), ==, 1);

  /* Nothing was moved aside as damaged. */
  listing = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (listing)) != NULL)
    g_assert_null (strstr (name, "damaged"));

  tern_test_remove_tree (dir);
}

/* g_ptr_array_sort() hands the comparison pointers to the elements. */
static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The migrations of this build, in order, from the engine's resources. */
static GPtrArray *
list_migrations (void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  GPtrArray *migrations = g_ptr_array_new_with_free_func (g_free);

  /* Asking for the version registers the store's resources. */
  g_assert_cmpint (tern_store_index_version (), >=, 1);

  names = g_resources_enumerate_children (MIGRATIONS_DIR, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (g_str_has_suffix (names[i], ".sql"))
        g_ptr_array_add (migrations, g_strdup (names[i]));
    }
  g_ptr_array_sort (migrations, compare_names);
  g_assert_cmpint (migrations->len, ==, tern_store_index_version ());

  return migrations;
}

/* Makes the index an older Tern left: the first @version migrations
 * applied, as that Tern applied them. */
static void
build_index_at_version (const char *path,
                        int         version)
{
  g_autoptr(GPtrArray) migrations = list_migrations ();
  sqlite3 *db;

  if (version == 0)
    {
      g_autoptr(GError) error = NULL;

      /* Version 0 is the empty file a first start leaves. */
      g_file_set_contents (path, "", 0, &error);
      g_assert_no_error (error);
      return;
    }

  db = open_sqlite (path);
  for (int i = 0; i < version; i++)
    {
      g_autofree char *resource = g_strconcat (MIGRATIONS_DIR,
                                               (char *) g_ptr_array_index (migrations, i), NULL);
      g_autoptr(GBytes) sql = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE,
                                                       NULL);
      g_autofree char *text = NULL;
      g_autofree char *pragma = g_strdup_printf ("PRAGMA user_version = %d", i + 1);

      g_assert_nonnull (sql);
      text = g_strndup (g_bytes_get_data (sql, NULL), g_bytes_get_size (sql));
      tern_test_exec_sql (db, "BEGIN");
      tern_test_exec_sql (db, text);
      tern_test_exec_sql (db, pragma);
      tern_test_exec_sql (db, "COMMIT");
    }

  /* Every version since the first has folders; the one made here must
   * survive the migration. */
  tern_test_exec_sql (db,
                      "INSERT INTO folders (account, path, name) VALUES ('local', 'Old', 'Old')");
  sqlite3_close (db);
}

static void
test_open_migrates_from_every_earlier_version (void)
{
  int latest = tern_store_index_version ();

  g_assert_cmpint (latest, >=, 1);

  for (int version = 0; version < latest; version++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *dir = g_dir_make_tmp ("tern-store-XXXXXX", &error);
      g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
      g_autoptr(TernStore) store = NULL;
      g_autoptr(TernFolder) folder = NULL;
      g_autoptr(TernFolder) old = NULL;
      g_autoptr(TernMessage) message = NULL;
      gint64 id;

      g_test_message ("Migrating from version %d to %d", version, latest);
      g_assert_no_error (error);
      build_index_at_version (index, version);

      store = tern_test_open_store (dir);
      g_assert_false (tern_store_was_rebuilt (store));

      if (version > 0)
        {
          old = find_folder (store, TERN_LOCAL_ACCOUNT, "Old");
          g_assert_nonnull (old);
        }

      /* The migrated index works: a folder, a message, a search. */
      folder = create_folder (store, TERN_LOCAL_ACCOUNT, "New", TERN_FOLDER_ROLE_NONE, &error);
      g_assert_no_error (error);
      id = add_mail (store, tern_folder_get_id (folder), "migrated@example.org",
                     "Migrated mail", JAN_01_2024, NULL, NULL);
      message = must_get_message (store, id);
      g_assert_cmpstr (tern_message_get_subject (message), ==, "Migrated mail");
      assert_ids (search_ids (store, "migrated"), join_ids (id, END));
      tern_test_close_store (&store);

      g_assert_cmpint (file_query_int (index, "PRAGMA user_version"), ==, latest);
      g_assert_cmpint (file_query_int (index, "SELECT count (*) FROM messages"), ==, 1);

      tern_test_remove_tree (dir);
    }
}

/* The search index is filled with the settings the writer was measured
 * with, kept in the index itself (every connection reads them). */
static void
test_open_tunes_search_index (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tern-store-XXXXXX", &error);
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = NULL;

  g_assert_no_error (error);
  store = tern_test_open_store (dir);
  tern_test_close_store (&store);

  g_assert_cmpint (file_query_int (index, "SELECT v FROM message_fts_config "
                                          "WHERE k = 'automerge'"), ==, 8);
  g_assert_cmpint (file_query_int (index, "SELECT v FROM message_fts_config "
                                          "WHERE k = 'hashsize'"), ==, 4 * 1024 * 1024);

  tern_test_remove_tree (dir);
}

static void
test_open_migrates_empty_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tern-store-XXXXXX", &error);
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = NULL;
  gint64 folder_id;

  g_assert_no_error (error);
  build_index_at_version (index, 0);
  store = tern_test_open_store (dir);
  g_assert_false (tern_store_was_rebuilt (store));
  folder_id = new_folder (store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  add_mail (store, folder_id, "a@example.org", "A", JAN_01_2024, NULL, NULL);
  assert_counts (store, folder_id, 1, 1);
  tern_test_close_store (&store);

  g_assert_cmpint (file_query_int (index, "PRAGMA user_version"), ==, tern_store_index_version ());
  tern_test_remove_tree (dir);
}

/* Messages */

static void
test_messages_raw_round_trip_is_byte_identical (Fixture       *fixture,
                                                gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) large = g_string_new ("From: a@example.org\r\nSubject: Large\r\n\r\n");
  static const char latin1[] =
    "From: \xe9lodie <e@example.fr>\nSubject: caf\xe9\nX-Odd:   spaces kept   \n\n"
    "Body in Latin-1: \xe0 bient\xf4t\n\n\n";
  static const char no_final_newline[] = "Subject: no newline at the end\n\nLast line";

  /* CRLF line endings; long enough to be compressed when stored. */
  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (large, "Line %u of a long and repetitive message.\r\n", i);

  g_ptr_array_add (raws, g_bytes_new (large->str, large->len));
  g_ptr_array_add (raws, g_bytes_new (latin1, sizeof latin1 - 1));
  g_ptr_array_add (raws, g_bytes_new (no_final_newline, sizeof no_final_newline - 1));
  g_ptr_array_add (raws, read_data ("attachment.eml"));
  /* Not a message at all: still kept as it came. */
  g_ptr_array_add (raws, g_bytes_new ("\x01\x02 binary \xff\xfe", 12));

  ids = add_messages (fixture->store, folder_id, raws, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, raws->len);

  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(GBytes) raw = get_raw (fixture->store, g_array_index (ids, gint64, i), &error);
      g_autoptr(TernMessage) message = must_get_message (fixture->store,
                                                         g_array_index (ids, gint64, i));

      g_assert_no_error (error);
      assert_same_bytes (raw, g_ptr_array_index (raws, i));
      g_assert_cmpint (tern_message_get_size (message), ==,
                       g_bytes_get_size (g_ptr_array_index (raws, i)));
      g_assert_cmpint (tern_message_get_folder_id (message), ==, folder_id);
    }

  assert_counts (fixture->store, folder_id, raws->len, raws->len);
}

static void
test_messages_facts_come_from_the_headers (Fixture       *fixture,
                                           gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GBytes) raw = read_data ("attachment.eml");
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(TernMessage) plain = NULL;
  TernAttachment *attachment;
  GPtrArray *attachments;
  gint64 id = add_bytes (fixture->store, folder_id, raw, 0);
  gint64 plain_id = add_mail (fixture->store, folder_id, "plain@example.org", "Plain",
                              JAN_01_2024, NULL, NULL);

  message = must_get_message (fixture->store, id);
  g_assert_cmpint (tern_message_get_id (message), ==, id);
  g_assert_cmpstr (tern_message_get_subject (message), ==, "Café menu for Friday");
  g_assert_cmpstr (tern_message_get_from_name (message), ==, "Renée Dupont");
  g_assert_cmpstr (tern_message_get_from_address (message), ==, "renee@example.fr");
  g_assert_nonnull (strstr (tern_message_get_to (message), "bob@example.com"));
  g_assert_nonnull (strstr (tern_message_get_to (message), "carol@example.net"));
  g_assert_nonnull (strstr (tern_message_get_cc (message), "dave@example.org"));
  /* Fri, 15 Mar 2024 09:30:00 +0100 */
  g_assert_cmpint (tern_message_get_date (message), ==, 1710491400);
  g_assert_cmpstr (tern_message_get_message_id (message), ==, "menu-2024@example.fr");
  g_assert_true (g_str_has_prefix (tern_message_get_preview (message),
                                   "Here is the menu for Friday's lunch at the café."));
  g_assert_null (strstr (tern_message_get_preview (message), "JVBERi0"));
  g_assert_cmpuint (tern_message_get_flags (message), ==, 0);
  g_assert_cmpint (tern_message_get_body_state (message), ==, TERN_BODY_STATE_COMPLETE);

  g_assert_true (tern_message_has_attachments (message));
  attachments = tern_message_get_attachments (message);
  g_assert_nonnull (attachments);
  g_assert_cmpuint (attachments->len, ==, 1);
  attachment = g_ptr_array_index (attachments, 0);
  g_assert_cmpstr (attachment->filename, ==, "menu.pdf");
  g_assert_cmpstr (attachment->mime_type, ==, "application/pdf");
  g_assert_cmpint (attachment->size, >, 40);
  g_assert_cmpint (attachment->size, <, 100);
  g_assert_false (attachment->is_inline);

  plain = must_get_message (fixture->store, plain_id);
  g_assert_false (tern_message_has_attachments (plain));
  g_assert_cmpuint (tern_message_get_attachments (plain)->len, ==, 0);
  g_assert_cmpint (tern_message_get_date (plain), ==, JAN_01_2024);
  g_assert_cmpstr (tern_message_get_from_name (plain), ==, "Alice");
  g_assert_cmpstr (tern_message_get_preview (plain), ==, "Hello.");
}

static void
test_messages_missing_message_is_not_found (Fixture       *fixture,
                                            gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernMessage) message = get_message (fixture->store, 4242, &error);
  g_autoptr(GBytes) raw = NULL;

  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_assert_null (message);
  g_clear_error (&error);

  raw = get_raw (fixture->store, 4242, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_assert_null (raw);
}

static GArray *
add_with_uid (TernStore   *store,
              gint64       folder_id,
              const char  *raw,
              gint64       uid,
              GError     **error)
{
  g_autoptr(GPtrArray) messages =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GBytes) bytes = g_bytes_new (raw, strlen (raw));
  TernNewMessage *message = tern_new_message_new (bytes, 0, 0);

  message->uid = uid;
  g_ptr_array_add (messages, message);
  return tern_test_add_messages (store, folder_id, messages, TERN_STORE_DURABILITY_NORMAL, error);
}

static void
test_messages_failed_add_leaves_no_trace (Fixture       *fixture,
                                          gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, "imap", "INBOX", TERN_FOLDER_ROLE_INBOX);
  g_autofree char *first = make_mail ("first@x", "First", "a@example.org", "b@example.org",
                                      JAN_01_2024, NULL, NULL, "One.");
  g_autofree char *clash = make_mail ("clash@x", "Clash", "a@example.org", "b@example.org",
                                      JAN_01_2024 + 60, NULL, NULL, "Two.");
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GArray) refused = NULL;
  g_autoptr(GError) error = NULL;

  ids = add_with_uid (fixture->store, folder_id, first, 7, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 1);

  /* A second message with the same UID in the folder is refused. */
  refused = add_with_uid (fixture->store, folder_id, clash, 7, &error);
  g_assert_nonnull (error);
  g_assert_null (refused);
  g_clear_error (&error);
  assert_counts (fixture->store, folder_id, 1, 1);

  /* What was refused does not come back later, and the store still
   * opens. */
  tern_test_close_store (&fixture->store);
  fixture->store = tern_store_open_sync (fixture->dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->store);
  assert_counts (fixture->store, folder_id, 1, 1);
  assert_ids (folder_ids (fixture->store, folder_id),
              join_ids (g_array_index (ids, gint64, 0), END));
}

static void
test_messages_ids_are_never_reused (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 first = add_mail (fixture->store, folder_id, "first@x", "First", JAN_01_2024, NULL, NULL);
  gint64 newest = add_mail (fixture->store, folder_id, "newest@x", "Newest", JAN_01_2024 + 60,
                            NULL, NULL);
  g_autoptr(GArray) doomed = ids_of (newest, END);
  gint64 later;

  /* An id names one message for good: a view, a queued action or a sync
   * that still holds the id of a deleted message must never reach another
   * one through it. */
  tern_test_delete_messages (fixture->store, doomed);
  later = add_mail (fixture->store, folder_id, "later@x", "Later", JAN_01_2024 + 120, NULL, NULL);
  g_assert_cmpint (later, !=, newest);
  g_assert_cmpint (later, !=, first);

  fixture_reopen (fixture);
  g_clear_pointer (&doomed, g_array_unref);
  doomed = ids_of (later, END);
  tern_test_delete_messages (fixture->store, doomed);
  fixture_reopen (fixture);
  g_assert_cmpint (add_mail (fixture->store, folder_id, "last@x", "Last", JAN_01_2024 + 180,
                             NULL, NULL), >, later);
}

/* Flags */

static void
test_flags_unread_count_follows_seen (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 a = add_mail (fixture->store, folder_id, "a@x", "A", JAN_01_2024, NULL, NULL);
  gint64 b = add_mail (fixture->store, folder_id, "b@x", "B", JAN_01_2024 + 60, NULL, NULL);
  gint64 c = add_mail (fixture->store, folder_id, "c@x", "C", JAN_01_2024 + 120, NULL, NULL);
  g_autoptr(GArray) ab = ids_of (a, b, END);
  g_autoptr(GArray) just_a = ids_of (a, END);
  g_autoptr(GArray) just_c = ids_of (c, END);
  g_autoptr(TernMessage) message = NULL;

  assert_counts (fixture->store, folder_id, 3, 3);

  tern_test_set_flags (fixture->store, ab, TERN_MESSAGE_FLAG_SEEN, 0);
  assert_counts (fixture->store, folder_id, 3, 1);

  /* Setting a flag a message has already changes nothing. */
  tern_test_set_flags (fixture->store, ab, TERN_MESSAGE_FLAG_SEEN, 0);
  assert_counts (fixture->store, folder_id, 3, 1);

  tern_test_set_flags (fixture->store, just_a, TERN_MESSAGE_FLAG_FLAGGED, TERN_MESSAGE_FLAG_SEEN);
  assert_counts (fixture->store, folder_id, 3, 2);
  message = must_get_message (fixture->store, a);
  g_assert_cmpuint (tern_message_get_flags (message), ==, TERN_MESSAGE_FLAG_FLAGGED);

  /* A message marked deleted is not waiting to be read. */
  tern_test_set_flags (fixture->store, just_c, TERN_MESSAGE_FLAG_DELETED, 0);
  assert_counts (fixture->store, folder_id, 3, 1);

  assert_ids (search_ids (fixture->store, "is:unread"), join_ids (a, END));
}

/* Moving, copying, deleting */

static void
test_move_keeps_ids_and_moves_counts (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  gint64 from = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "From", TERN_FOLDER_ROLE_NONE);
  gint64 to = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "To", TERN_FOLDER_ROLE_NONE);
  gint64 a = add_mail (fixture->store, from, "a@x", "A", JAN_01_2024, NULL, NULL);
  gint64 b = add_mail (fixture->store, from, "b@x", "B", JAN_01_2024 + 60, NULL, NULL);
  gint64 c = add_mail (fixture->store, from, "c@x", "C", JAN_01_2024 + 120, NULL, NULL);
  g_autoptr(GArray) seen = ids_of (b, END);
  g_autoptr(GArray) moving = ids_of (a, b, END);
  g_autoptr(GBytes) before = get_raw (fixture->store, a, NULL);
  g_autoptr(GBytes) after = NULL;
  g_autoptr(TernMessage) message = NULL;

  tern_test_set_flags (fixture->store, seen, TERN_MESSAGE_FLAG_SEEN, 0);
  tern_test_move_messages (fixture->store, moving, to);

  assert_counts (fixture->store, from, 1, 1);
  assert_counts (fixture->store, to, 2, 1);
  assert_ids (folder_ids (fixture->store, from), join_ids (c, END));
  assert_ids (folder_ids (fixture->store, to), join_ids (b, a, END));

  message = must_get_message (fixture->store, a);
  g_assert_cmpint (tern_message_get_folder_id (message), ==, to);
  after = get_raw (fixture->store, a, NULL);
  assert_same_bytes (after, before);

  /* A search in the new folder finds them, one in the old does not. */
  {
    g_autoptr(GArray) in_to = search (fixture->store, "hello", to, 0, NULL);
    g_autoptr(GArray) in_from = search (fixture->store, "hello", from, 0, NULL);

    g_assert_cmpuint (in_to->len, ==, 2);
    g_assert_cmpuint (in_from->len, ==, 1);
  }
}

static void
test_copy_makes_new_ids_with_identical_bodies (Fixture       *fixture,
                                               gconstpointer  user_data)
{
  gint64 from = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "From", TERN_FOLDER_ROLE_NONE);
  gint64 to = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "To", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GBytes) raw = read_data ("attachment.eml");
  gint64 a = add_bytes (fixture->store, from, raw,
                        TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED);
  gint64 b = add_mail (fixture->store, from, "b@x", "B", JAN_01_2024, NULL, NULL);
  g_autoptr(GArray) originals = ids_of (a, b, END);
  g_autoptr(GArray) copies = copy_messages (fixture->store, originals, to);

  g_assert_cmpuint (copies->len, ==, 2);
  for (guint i = 0; i < copies->len; i++)
    {
      gint64 original = g_array_index (originals, gint64, i);
      gint64 copy = g_array_index (copies, gint64, i);
      g_autoptr(GBytes) original_raw = get_raw (fixture->store, original, NULL);
      g_autoptr(GBytes) copy_raw = get_raw (fixture->store, copy, NULL);
      g_autoptr(TernMessage) original_message = must_get_message (fixture->store, original);
      g_autoptr(TernMessage) copy_message = must_get_message (fixture->store, copy);

      g_assert_cmpint (copy, !=, a);
      g_assert_cmpint (copy, !=, b);
      assert_same_bytes (copy_raw, original_raw);
      g_assert_cmpint (tern_message_get_folder_id (copy_message), ==, to);
      g_assert_cmpuint (tern_message_get_flags (copy_message), ==,
                        tern_message_get_flags (original_message));
      g_assert_cmpstr (tern_message_get_subject (copy_message), ==,
                       tern_message_get_subject (original_message));
      g_assert_cmpuint (tern_message_get_attachments (copy_message)->len, ==,
                        tern_message_get_attachments (original_message)->len);
    }

  assert_counts (fixture->store, from, 2, 1);
  assert_counts (fixture->store, to, 2, 1);
  {
    g_autoptr(GArray) found = search (fixture->store, "menu", 0, 0, NULL);

    g_assert_cmpuint (found->len, ==, 2);
  }

  /* The copies stand alone: deleting the originals leaves them whole. */
  tern_test_delete_messages (fixture->store, originals);
  for (guint i = 0; i < copies->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) copy_raw = get_raw (fixture->store, g_array_index (copies, gint64, i),
                                            &error);

      g_assert_no_error (error);
    }
  assert_counts (fixture->store, to, 2, 1);
}

static void
test_delete_removes_from_folder_search_and_bodies (Fixture       *fixture,
                                                   gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GBytes) raw = read_data ("attachment.eml");
  gint64 a = add_bytes (fixture->store, folder_id, raw, 0);
  gint64 b = add_mail (fixture->store, folder_id, "b@x", "Menu remains", JAN_01_2024, NULL, NULL);
  g_autoptr(GArray) doomed = ids_of (a, END);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) gone_raw = NULL;
  g_autoptr(TernMessage) gone = NULL;
  g_autofree char *bodies = g_build_filename (fixture->dir, "bodies.sqlite", NULL);

  assert_ids (search_ids (fixture->store, "menu"), join_ids (a, b, END));

  tern_test_delete_messages (fixture->store, doomed);

  assert_counts (fixture->store, folder_id, 1, 1);
  assert_ids (folder_ids (fixture->store, folder_id), join_ids (b, END));
  assert_ids (search_ids (fixture->store, "menu"), join_ids (b, END));
  assert_ids (search_ids (fixture->store, "has:attachment"), g_strdup (""));

  gone = get_message (fixture->store, a, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  gone_raw = get_raw (fixture->store, a, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);

  tern_test_close_store (&fixture->store);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM bodies"), ==, 1);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta"), ==, 1);
}

/* Folders */

static void
test_folders_create_ensure_and_list (Fixture       *fixture,
                                     gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernFolder) deep = NULL;
  g_autoptr(TernFolder) parent = NULL;
  g_autoptr(TernFolder) again = NULL;
  g_autoptr(TernFolder) sent = NULL;
  g_autoptr(GPtrArray) local = NULL;
  g_autoptr(GPtrArray) all = NULL;

  deep = create_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Archive/2023/March",
                        TERN_FOLDER_ROLE_ARCHIVE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_folder_get_path (deep), ==, "Archive/2023/March");
  g_assert_cmpstr (tern_folder_get_name (deep), ==, "March");
  g_assert_cmpstr (tern_folder_get_account (deep), ==, TERN_LOCAL_ACCOUNT);
  g_assert_cmpint (tern_folder_get_role (deep), ==, TERN_FOLDER_ROLE_ARCHIVE);
  g_assert_cmpint (tern_folder_get_total (deep), ==, 0);

  /* Missing parents are made on the way. */
  parent = find_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Archive/2023");
  g_assert_nonnull (parent);
  g_assert_cmpint (tern_folder_get_parent_id (deep), ==, tern_folder_get_id (parent));

  /* Ensuring finds what is there, and gives it a role it lacked. */
  again = ensure_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Archive/2023",
                         TERN_FOLDER_ROLE_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_folder_get_id (again), ==, tern_folder_get_id (parent));

  sent = ensure_folder (fixture->store, "work", "Sent", TERN_FOLDER_ROLE_SENT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_folder_get_role (sent), ==, TERN_FOLDER_ROLE_SENT);
  g_clear_pointer (&sent, tern_folder_unref);
  sent = ensure_folder (fixture->store, "work", "Sent", TERN_FOLDER_ROLE_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_folder_get_role (sent), ==, TERN_FOLDER_ROLE_SENT);

  local = list_folders (fixture->store, TERN_LOCAL_ACCOUNT);
  g_assert_cmpuint (local->len, ==, 3);
  g_assert_cmpstr (tern_folder_get_path (g_ptr_array_index (local, 0)), ==, "Archive");
  g_assert_cmpstr (tern_folder_get_path (g_ptr_array_index (local, 1)), ==, "Archive/2023");
  g_assert_cmpstr (tern_folder_get_path (g_ptr_array_index (local, 2)), ==, "Archive/2023/March");

  all = list_folders (fixture->store, NULL);
  g_assert_cmpuint (all->len, ==, 4);
}

static void
test_folders_existing_folder_is_refused (Fixture       *fixture,
                                         gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernFolder) twin = NULL;
  g_autoptr(TernFolder) other_account = NULL;

  new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Receipts", TERN_FOLDER_ROLE_NONE);
  twin = create_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Receipts", TERN_FOLDER_ROLE_NONE,
                        &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_EXISTS);
  g_assert_null (twin);
  g_assert_nonnull (strstr (error->message, "Receipts"));
  g_clear_error (&error);

  /* The same path in another account is another folder. */
  other_account = create_folder (fixture->store, "work", "Receipts", TERN_FOLDER_ROLE_NONE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (other_account);
}

static void
test_folders_invalid_names_are_refused (Fixture       *fixture,
                                        gconstpointer  user_data)
{
  static const char * const invalid[] = {
    "", "/Rooted", "Trailing/", "Double//Slash", "/", "Bad\xff" "UTF-8",
  };
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GString) long_name = g_string_new (NULL);

  for (guint i = 0; i < 1100; i++)
    g_string_append_c (long_name, 'x');

  for (guint i = 0; i <= G_N_ELEMENTS (invalid); i++)
    {
      const char *name = i < G_N_ELEMENTS (invalid) ? invalid[i] : long_name->str;
      g_autoptr(GError) error = NULL;
      g_autoptr(TernFolder) folder = create_folder (fixture->store, TERN_LOCAL_ACCOUNT, name,
                                                    TERN_FOLDER_ROLE_NONE, &error);

      g_test_message ("Folder name %u", i);
      g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID);
      g_assert_null (folder);
      g_clear_error (&error);

      folder = ensure_folder (fixture->store, TERN_LOCAL_ACCOUNT, name, TERN_FOLDER_ROLE_NONE,
                              &error);
      g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID);
      g_assert_null (folder);
    }

  folders = list_folders (fixture->store, NULL);
  g_assert_cmpuint (folders->len, ==, 0);
}

static void
test_folders_rename_takes_subfolders_along (Fixture       *fixture,
                                            gconstpointer  user_data)
{
  gint64 top = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Projects", TERN_FOLDER_ROLE_NONE);
  gint64 deep = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Projects/Tern/Design",
                            TERN_FOLDER_ROLE_NONE);
  gint64 lookalike = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Projects-old",
                                 TERN_FOLDER_ROLE_NONE);
  gint64 id = add_mail (fixture->store, deep, "deep@x", "Deep", JAN_01_2024, NULL, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) clash_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernFolder) renamed = NULL;
  g_autoptr(TernFolder) clash = NULL;
  g_autoptr(TernFolder) moved_deep = NULL;
  g_autoptr(TernFolder) untouched = NULL;
  g_autoptr(TernMessage) message = NULL;

  tern_store_rename_folder_async (fixture->store, top, "Work/Projects", NULL,
                                  tern_test_got_result_cb, &result);
  renamed = tern_store_rename_folder_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_folder_get_id (renamed), ==, top);
  g_assert_cmpstr (tern_folder_get_path (renamed), ==, "Work/Projects");
  g_assert_cmpstr (tern_folder_get_name (renamed), ==, "Projects");

  moved_deep = get_folder (fixture->store, deep);
  g_assert_cmpstr (tern_folder_get_path (moved_deep), ==, "Work/Projects/Tern/Design");
  g_assert_true (has_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Work/Projects/Tern"));
  g_assert_true (has_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Work"));
  g_assert_false (has_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Projects/Tern"));
  g_assert_false (has_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Projects"));

  /* A folder whose name only begins like the renamed one stays. */
  untouched = get_folder (fixture->store, lookalike);
  g_assert_cmpstr (tern_folder_get_path (untouched), ==, "Projects-old");

  /* Messages stay in their folder through the rename. */
  message = must_get_message (fixture->store, id);
  g_assert_cmpint (tern_message_get_folder_id (message), ==, deep);
  assert_counts (fixture->store, deep, 1, 1);

  /* Renaming onto an existing folder is refused. */
  tern_store_rename_folder_async (fixture->store, lookalike, "Work/Projects", NULL,
                                  tern_test_got_result_cb, &clash_result);
  clash = tern_store_rename_folder_finish (fixture->store, tern_test_wait_for (&clash_result),
                                           &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_EXISTS);
  g_assert_null (clash);
}

static void
test_folders_delete_takes_messages_and_subfolders (Fixture       *fixture,
                                                   gconstpointer  user_data)
{
  gint64 top = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Old", TERN_FOLDER_ROLE_NONE);
  gint64 child = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Old/2019", TERN_FOLDER_ROLE_NONE);
  gint64 keep = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Older", TERN_FOLDER_ROLE_NONE);
  gint64 a = add_mail (fixture->store, top, "a@x", "Ancient", JAN_01_2024, NULL, NULL);
  gint64 b = add_mail (fixture->store, child, "b@x", "Ancient", JAN_01_2024, NULL, NULL);
  gint64 c = add_mail (fixture->store, keep, "c@x", "Ancient", JAN_01_2024, NULL, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw_a = NULL;
  g_autoptr(GBytes) raw_b = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  tern_store_delete_folder_async (fixture->store, top, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_delete_folder_finish (fixture->store, tern_test_wait_for (&result),
                                                  &error));
  g_assert_no_error (error);

  g_assert_false (has_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Old"));
  g_assert_false (has_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Old/2019"));
  folders = list_folders (fixture->store, NULL);
  g_assert_cmpuint (folders->len, ==, 1);
  assert_counts (fixture->store, keep, 1, 1);

  assert_ids (search_ids (fixture->store, "ancient"), join_ids (c, END));
  /* The bodies go too, the subfolder's included. */
  raw_a = get_raw (fixture->store, a, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  raw_b = get_raw (fixture->store, b, &error);
  g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The folder can be made again, empty. */
  top = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Old", TERN_FOLDER_ROLE_NONE);
  assert_counts (fixture->store, top, 0, 0);
}

/* Conversations */

static void
test_threading_references_chain_is_one_conversation (Fixture       *fixture,
                                                     gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 root = add_mail (fixture->store, folder_id, "root@x", "Plan", JAN_01_2024, NULL, NULL);
  gint64 reply = add_mail (fixture->store, folder_id, "reply@x", "Re: Plan", JAN_01_2024 + 60,
                           "root@x", "root@x");
  /* Only References, no In-Reply-To. */
  gint64 deeper = add_mail (fixture->store, folder_id, "deeper@x", "Re: Plan", JAN_01_2024 + 120,
                            NULL, "root@x reply@x");
  /* Only In-Reply-To, and a changed subject. */
  gint64 renamed = add_mail (fixture->store, folder_id, "renamed@x", "Another topic",
                             JAN_01_2024 + 180, "deeper@x", NULL);
  gint64 other = add_mail (fixture->store, folder_id, "other@x", "Plan", JAN_01_2024 + 240, NULL,
                           NULL);

  assert_conversation (fixture->store, reply, ==, root);
  assert_conversation (fixture->store, deeper, ==, root);
  assert_conversation (fixture->store, renamed, ==, root);
  assert_conversation (fixture->store, other, !=, root);
}

static void
test_threading_reply_before_parent (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 reply = add_mail (fixture->store, folder_id, "reply@x", "Re: Budget", JAN_01_2024 + 60,
                           "parent@x", "parent@x");
  gint64 sibling = add_mail (fixture->store, folder_id, "sibling@x", "Re: Budget",
                             JAN_01_2024 + 90, "parent@x", "parent@x");
  gint64 parent = add_mail (fixture->store, folder_id, "parent@x", "Budget", JAN_01_2024, NULL,
                            NULL);

  assert_conversation (fixture->store, sibling, ==, reply);
  assert_conversation (fixture->store, parent, ==, reply);
}

static void
test_threading_link_merges_two_halves (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  /* a <- b <- c, with b arriving last: a and c start apart. */
  gint64 a = add_mail (fixture->store, folder_id, "a@x", "Trip", JAN_01_2024, NULL, NULL);
  /* Subjects that are not replies, so that only the links join them. */
  gint64 c = add_mail (fixture->store, folder_id, "c@x", "Tickets booked", JAN_01_2024 + 120,
                       "b@x", "b@x");
  gint64 c_reply = add_mail (fixture->store, folder_id, "d@x", "Seats", JAN_01_2024 + 150,
                             "c@x", "b@x c@x");
  gint64 b;

  assert_conversation (fixture->store, a, !=, c);
  assert_conversation (fixture->store, c_reply, ==, c);

  b = add_mail (fixture->store, folder_id, "b@x", "Dates", JAN_01_2024 + 60, "a@x", "a@x");

  assert_conversation (fixture->store, b, ==, a);
  assert_conversation (fixture->store, c, ==, a);
  assert_conversation (fixture->store, c_reply, ==, a);

  /* A later reply to any of them finds the merged conversation. */
  g_assert_cmpint (conversation_of (fixture->store,
                                    add_mail (fixture->store, folder_id, "e@x", "Hotel",
                                              JAN_01_2024 + 200, "c@x", "c@x")),
                   ==, conversation_of (fixture->store, a));
}

static void
test_threading_reply_in_sent_joins_conversation (Fixture       *fixture,
                                                 gconstpointer  user_data)
{
  gint64 inbox = new_folder (fixture->store, "work", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 sent = new_folder (fixture->store, "work", "Sent", TERN_FOLDER_ROLE_SENT);
  gint64 question = add_mail (fixture->store, inbox, "question@them", "Invoice 42",
                              JAN_01_2024, NULL, NULL);
  g_autofree char *raw = make_mail ("answer@me", "Re: Invoice 42", "Me <me@example.org>",
                                    "Them <them@example.com>", JAN_01_2024 + 3600,
                                    "question@them", "question@them", "Paid.");
  gint64 answer = add_text (fixture->store, sent, raw, TERN_MESSAGE_FLAG_SEEN);
  gint64 follow_up = add_mail (fixture->store, inbox, "thanks@them", "Re: Invoice 42",
                               JAN_01_2024 + 7200, "answer@me", "question@them answer@me");

  assert_conversation (fixture->store, answer, ==, question);
  assert_conversation (fixture->store, follow_up, ==, question);
}

/* The ids of a conversation's messages as listed, as "3,1,2". */
static char *
conversation_ids (TernStore *store,
                  gint64     conversation_id,
                  gint64     from_folder_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  tern_store_list_conversation_async (store, conversation_id, from_folder_id, NULL,
                                      tern_test_got_result_cb, &result);
  messages = tern_store_list_conversation_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (messages);
  for (guint i = 0; i < messages->len; i++)
    {
      TernMessage *message = g_ptr_array_index (messages, i);

      g_assert_cmpint (tern_message_get_conversation_id (message), ==, conversation_id);
      g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                              tern_message_get_id (message));
    }

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
test_conversation_lists_every_folder_oldest_first (Fixture       *fixture,
                                                   gconstpointer  user_data)
{
  gint64 inbox = new_folder (fixture->store, "work", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 sent = new_folder (fixture->store, "work", "Sent", TERN_FOLDER_ROLE_SENT);
  gint64 archive = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Old", TERN_FOLDER_ROLE_NONE);
  /* Added out of date order, so that the order listed is the dates'. */
  gint64 renamed = add_mail (fixture->store, inbox, "renamed@them", "Venue changed",
                             JAN_01_2024 + 7200, "answer@me", "question@them answer@me");
  gint64 question = add_mail (fixture->store, inbox, "question@them", "Conference dinner",
                              JAN_01_2024, NULL, NULL);
  g_autofree char *raw = make_mail ("answer@me", "Re: Conference dinner", "Me <me@example.org>",
                                    "Them <them@example.com>", JAN_01_2024 + 3600,
                                    "question@them", "question@them", "Count me in.");
  gint64 answer = add_text (fixture->store, sent, raw, TERN_MESSAGE_FLAG_SEEN);
  /* The same subject, in the same folder and in another, without a link:
   * another conversation. */
  gint64 same_subject = add_mail (fixture->store, inbox, "again@them", "Conference dinner",
                                  JAN_01_2024 + 600, NULL, NULL);
  gint64 elsewhere = add_mail (fixture->store, archive, "old@them", "Conference dinner",
                               JAN_01_2024 + 900, NULL, NULL);
  gint64 conversation = conversation_of (fixture->store, question);

  g_assert_cmpint (conversation, >, 0);
  g_assert_cmpint (conversation_of (fixture->store, same_subject), !=, conversation);
  g_assert_cmpint (conversation_of (fixture->store, elsewhere), !=, conversation);

  /* Whole and in date order, from any folder or none. */
  assert_ids (conversation_ids (fixture->store, conversation, inbox),
              join_ids (question, answer, renamed, END));
  assert_ids (conversation_ids (fixture->store, conversation, sent),
              join_ids (question, answer, renamed, END));
  assert_ids (conversation_ids (fixture->store, conversation, 0),
              join_ids (question, answer, renamed, END));
  assert_ids (conversation_ids (fixture->store, conversation_of (fixture->store, same_subject),
                                inbox),
              join_ids (same_subject, END));

  /* Conversation 0 is none, and a conversation that is not has nothing. */
  assert_ids (conversation_ids (fixture->store, 0, inbox), g_strdup (""));
  assert_ids (conversation_ids (fixture->store, G_MAXINT64, inbox), g_strdup (""));

  /* Deleted messages are gone from it. */
  {
    g_autoptr(GArray) ids = ids_of (answer, END);

    tern_test_delete_messages (fixture->store, ids);
  }
  assert_ids (conversation_ids (fixture->store, conversation, inbox),
              join_ids (question, renamed, END));
}

static void
test_conversation_leaves_out_trash_and_junk (Fixture       *fixture,
                                             gconstpointer  user_data)
{
  gint64 inbox = new_folder (fixture->store, "work", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 trash = new_folder (fixture->store, "work", "Trash", TERN_FOLDER_ROLE_TRASH);
  gint64 junk = new_folder (fixture->store, "work", "Junk", TERN_FOLDER_ROLE_JUNK);
  gint64 root = add_mail (fixture->store, inbox, "root@them", "Roof repair", JAN_01_2024,
                          NULL, NULL);
  gint64 thrown = add_mail (fixture->store, trash, "thrown@them", "Re: Roof repair",
                            JAN_01_2024 + 60, "root@them", "root@them");
  gint64 spam = add_mail (fixture->store, junk, "spam@them", "Re: Roof repair",
                          JAN_01_2024 + 120, "root@them", "root@them");
  gint64 kept = add_mail (fixture->store, inbox, "kept@them", "Quote for the roof",
                          JAN_01_2024 + 180, "thrown@them", "root@them thrown@them");
  gint64 conversation = conversation_of (fixture->store, root);

  g_assert_cmpint (conversation_of (fixture->store, thrown), ==, conversation);
  g_assert_cmpint (conversation_of (fixture->store, spam), ==, conversation);
  g_assert_cmpint (conversation_of (fixture->store, kept), ==, conversation);

  /* From the Inbox: what was thrown away is not shown. */
  assert_ids (conversation_ids (fixture->store, conversation, inbox),
              join_ids (root, kept, END));
  /* From the Trash: its own message among the others, not the Junk's. */
  assert_ids (conversation_ids (fixture->store, conversation, trash),
              join_ids (root, thrown, kept, END));
  assert_ids (conversation_ids (fixture->store, conversation, junk),
              join_ids (root, spam, kept, END));
  /* From no folder: everything. */
  assert_ids (conversation_ids (fixture->store, conversation, 0),
              join_ids (root, thrown, spam, kept, END));

  /* Moved back out of the Trash, a message shows again. */
  {
    g_autoptr(GArray) ids = ids_of (thrown, END);

    tern_test_move_messages (fixture->store, ids, inbox);
  }
  assert_ids (conversation_ids (fixture->store, conversation, inbox),
              join_ids (root, thrown, kept, END));
}

static void
test_conversation_keeps_the_newest_when_long (Fixture       *fixture,
                                              gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  guint total = TERN_STORE_CONVERSATION_LIMIT + 3;
  g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  gint64 conversation;

  for (guint i = 0; i < total; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u@x", i);
      g_autofree char *parent = i > 0 ? g_strdup_printf ("m%u@x", i - 1) : NULL;
      g_autofree char *subject = g_strdup_printf ("Step %u", i);
      char *raw = make_mail (id, subject, "Alice <alice@example.org>", "Bob <bob@example.com>",
                             JAN_01_2024 + i * 60, parent, parent, "Next.");

      g_ptr_array_add (raws, g_bytes_new_take (raw, strlen (raw)));
    }
  ids = add_messages (fixture->store, folder_id, raws, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, total);
  conversation = conversation_of (fixture->store, g_array_index (ids, gint64, 0));
  g_assert_cmpint (conversation_of (fixture->store, g_array_index (ids, gint64, total - 1)), ==,
                   conversation);

  tern_store_list_conversation_async (fixture->store, conversation, folder_id, NULL,
                                      tern_test_got_result_cb, &result);
  messages = tern_store_list_conversation_finish (fixture->store, tern_test_wait_for (&result),
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, TERN_STORE_CONVERSATION_LIMIT);
  /* The newest, oldest first: the first three are left out. */
  g_assert_cmpint (tern_message_get_id (g_ptr_array_index (messages, 0)), ==,
                   g_array_index (ids, gint64, 3));
  g_assert_cmpint (tern_message_get_id (g_ptr_array_index (messages, messages->len - 1)), ==,
                   g_array_index (ids, gint64, total - 1));
  for (guint i = 1; i < messages->len; i++)
    g_assert_cmpint (tern_message_get_date (g_ptr_array_index (messages, i - 1)), <,
                     tern_message_get_date (g_ptr_array_index (messages, i)));
}

static void
test_threading_subject_fallback (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 start = add_mail (fixture->store, folder_id, "start@x", "Garden party", JAN_01_2024,
                           NULL, NULL);
  /* Replies whose references Tern never saw, from clients that keep them
   * out, within a month. */
  gint64 re = add_mail (fixture->store, folder_id, "re@x", "Re: Garden party",
                        JAN_01_2024 + 10 * DAY, NULL, NULL);
  gint64 fwd = add_mail (fixture->store, folder_id, "fwd@x", "Fwd: Garden party",
                         JAN_01_2024 + 20 * DAY, NULL, "unknown@elsewhere");
  gint64 plain = add_mail (fixture->store, folder_id, "plain@x", "Garden party",
                           JAN_01_2024 + 2 * DAY, NULL, NULL);

  assert_conversation (fixture->store, re, ==, start);
  assert_conversation (fixture->store, fwd, ==, start);
  /* Equal plain subjects are different conversations: "Lunch?" is asked
   * every week. */
  assert_conversation (fixture->store, plain, !=, start);
}

static void
test_threading_subject_fallback_only_within_30_days (Fixture       *fixture,
                                                     gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 start = add_mail (fixture->store, folder_id, "start@x", "Annual review", JAN_01_2024,
                           NULL, NULL);
  gint64 late = add_mail (fixture->store, folder_id, "late@x", "Re: Annual review",
                          JAN_01_2024 + 45 * DAY, NULL, NULL);
  gint64 early = add_mail (fixture->store, folder_id, "early@x", "Re: Annual review",
                           JAN_01_2024 - 45 * DAY, NULL, NULL);

  assert_conversation (fixture->store, late, !=, start);
  assert_conversation (fixture->store, early, !=, start);
}

static void
test_threading_subject_fallback_ignores_case (Fixture       *fixture,
                                              gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 start = add_mail (fixture->store, folder_id, "start@x", "Server migration", JAN_01_2024,
                           NULL, NULL);
  /* Some mail programs shout the subject of a reply. */
  gint64 shouted = add_mail (fixture->store, folder_id, "shout@x", "RE: SERVER MIGRATION",
                             JAN_01_2024 + DAY, NULL, NULL);
  /* Letters beyond ASCII fold as well. */
  gint64 summer = add_mail (fixture->store, folder_id, "ete@x", "\303\211t\303\251 \303\240 Paris",
                            JAN_01_2024, NULL, NULL);
  gint64 loud = add_mail (fixture->store, folder_id, "loud@x",
                          "RE: \303\211T\303\211 \303\200 PARIS", JAN_01_2024 + DAY, NULL, NULL);

  assert_conversation (fixture->store, shouted, ==, start);
  assert_conversation (fixture->store, loud, ==, summer);
  assert_conversation (fixture->store, loud, !=, start);
}

/* Search */

typedef struct
{
  gint64 report;  /* Jan 10, seen, from Alice to Bob, with an attachment */
  gint64 cafe;    /* Feb 1, unread, from Élodie to Alice */
  gint64 lunch;   /* Mar 5, seen and flagged, from Bob to Carol */
} SearchMail;

static void
add_search_mail (Fixture    *fixture,
                 gint64      folder_id,
                 SearchMail *mail)
{
  g_autofree char *cafe = make_mail ("cafe@x", "Café au lait demain",
                                     "Élodie Dupont <elodie@exemple.fr>",
                                     "Alice Smith <alice@example.org>", JAN_01_2024 + 31 * DAY,
                                     NULL, NULL,
                                     "On se retrouve au café près de la gare. zebra");
  g_autofree char *lunch = make_mail ("lunch@x", "Lunch plans", "Bob Jones <bob@example.com>",
                                      "Carol <carol@example.net>", JAN_01_2024 + 64 * DAY,
                                      NULL, NULL, "Shall we try the noodle bar? zebra");
  g_autofree char *report_date = rfc_date (JAN_01_2024 + 9 * DAY);
  g_autofree char *report = g_strdup_printf (
    "From: Alice Smith <alice@example.org>\n"
    "To: Bob Jones <bob@example.com>\n"
    "Subject: Quarterly report\n"
    "Date: %s\n"
    "Message-ID: <report@x>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "\n"
    "The numbers are attached. zebra\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "Content-Disposition: attachment; filename=\"figures.xlsx\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAECAwQFBgcICQ==\n"
    "--b--\n",
    report_date);

  /* Added out of date order, so that "newest first" is not "last added
   * first". */
  mail->cafe = add_text (fixture->store, folder_id, cafe, 0);
  mail->lunch = add_text (fixture->store, folder_id, lunch,
                          TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED);
  mail->report = add_text (fixture->store, folder_id, report, TERN_MESSAGE_FLAG_SEEN);
}

static void
test_search_finds_words_and_prefixes (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  SearchMail mail;

  add_search_mail (fixture, folder_id, &mail);

  assert_ids (search_ids (fixture->store, "quarterly"), join_ids (mail.report, END));
  assert_ids (search_ids (fixture->store, "QUARTERLY"), join_ids (mail.report, END));
  /* Words of the body, and the start of a word. */
  assert_ids (search_ids (fixture->store, "noodle"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "quart"), join_ids (mail.report, END));
  assert_ids (search_ids (fixture->store, "nood"), join_ids (mail.lunch, END));
  /* Every word must match. */
  assert_ids (search_ids (fixture->store, "zebra noodle"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "noodle quarterly"), g_strdup (""));
  /* Attachment names are searched. */
  assert_ids (search_ids (fixture->store, "figures"), join_ids (mail.report, END));
  assert_ids (search_ids (fixture->store, "nothingmatches"), g_strdup (""));
}

/* Before Tern gave the search index a message's distinct words, it gave it
 * the whole text of each column.  An index written so must keep working:
 * its messages are found, and deleting one takes every word of it out. */
static void
index_whole_text (sqlite3    *db,
                  gint64      id,
                  const char *raw)
{
  g_autoptr(TernMimeMessage) mime = tern_mime_message_parse ((const guint8 *) raw, strlen (raw));
  g_autoptr(GString) sender = g_string_new (NULL);
  GPtrArray *from = tern_mime_message_get_from (mime);
  GPtrArray *to = tern_mime_message_get_to (mime);
  g_autoptr(GString) recipients = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;

  for (guint i = 0; i < from->len; i++)
    {
      const TernAddress *address = g_ptr_array_index (from, i);

      g_string_append_printf (sender, "%s %s ", address->name != NULL ? address->name : "",
                              address->address);
    }
  for (guint i = 0; i < to->len; i++)
    {
      const TernAddress *address = g_ptr_array_index (to, i);

      g_string_append_printf (recipients, "%s ", address->address);
    }

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO message_fts (rowid, subject, sender, "
                                       "recipients, body, attachments) VALUES (?, ?, ?, ?, ?, '')",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, tern_mime_message_get_subject (mime), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, sender->str, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, recipients->str, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, tern_mime_message_get_body_text (mime), -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
}

static void
test_search_index_of_whole_texts_still_works (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tern-store-XXXXXX", &error);
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = NULL;
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *first = make_mail ("first@x", "Quarterly Zyxwvut review",
                                      "Émile Dubois <emile@example.org>", "alice@example.org",
                                      JAN_01_2024, NULL, NULL,
                                      "Zyxwvut ZYXWVUT zyxwvut, the café and the Café: qwertzu "
                                      "report report REPORT");
  g_autofree char *second = make_mail ("second@x", "Blorptastic news", "bob@example.org",
                                       "alice@example.org", JAN_01_2024 + 60, NULL, NULL,
                                       "Nothing to see here but blorptastic things.");
  gint64 folder_id;
  gint64 a, b;
  sqlite3 *db;

  g_assert_no_error (error);
  store = tern_test_open_store (dir);
  folder_id = new_folder (store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  a = add_text (store, folder_id, first, 0);
  b = add_text (store, folder_id, second, 0);
  tern_test_close_store (&store);

  /* The index made again as the earlier Tern made it. */
  db = open_sqlite (index);
  tern_test_exec_sql (db, "INSERT INTO message_fts (message_fts) VALUES ('delete-all')");
  index_whole_text (db, a, first);
  index_whole_text (db, b, second);
  sqlite3_close (db);

  store = tern_test_open_store (dir);
  g_assert_false (tern_store_was_rebuilt (store));
  assert_ids (search_ids (store, "zyxwvut"), join_ids (a, END));
  assert_ids (search_ids (store, "CAFE"), join_ids (a, END));
  assert_ids (search_ids (store, "from:emile"), join_ids (a, END));
  assert_ids (search_ids (store, "blorpt"), join_ids (b, END));

  g_array_append_val (gone, a);
  tern_test_delete_messages (store, gone);
  assert_ids (search_ids (store, "zyxwvut"), g_strdup (""));
  assert_ids (search_ids (store, "report"), g_strdup (""));
  assert_ids (search_ids (store, "blorptastic"), join_ids (b, END));
  tern_test_close_store (&store);

  /* No word of the deleted message is left in the index. */
  db = open_sqlite (index);
  tern_test_exec_sql (db, "CREATE VIRTUAL TABLE temp.terms USING fts5vocab (main, message_fts, "
                          "'row')");
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM temp.terms WHERE doc > 0 AND "
                                            "term IN ('zyxwvut', 'qwertzu', 'quarterly', "
                                            "'review', 'emile', 'dubois', 'cafe', 'report')"),
                   ==, 0);
  g_assert_cmpint (tern_test_query_int (db, "SELECT doc FROM temp.terms WHERE "
                                            "term = 'blorptastic'"), ==, 1);
  sqlite3_close (db);

  tern_test_remove_tree (dir);
}

static void
test_search_folds_diacritics (Fixture       *fixture,
                              gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  SearchMail mail;

  add_search_mail (fixture, folder_id, &mail);

  assert_ids (search_ids (fixture->store, "cafe"), join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "café"), join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "CAFÉ"), join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "pres"), join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "elodie"), join_ids (mail.cafe, END));
}

static void
test_search_fields_and_states (Fixture       *fixture,
                               gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  SearchMail mail;

  add_search_mail (fixture, folder_id, &mail);

  assert_ids (search_ids (fixture->store, "from:alice"), join_ids (mail.report, END));
  assert_ids (search_ids (fixture->store, "from:bob@example.com"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "to:alice"), join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "to:carol"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "subject:lunch"), join_ids (mail.lunch, END));
  /* A word of the body is not in the subject. */
  assert_ids (search_ids (fixture->store, "subject:noodle"), g_strdup (""));
  assert_ids (search_ids (fixture->store, "has:attachment"), join_ids (mail.report, END));
  assert_ids (search_ids (fixture->store, "is:unread"), join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "is:flagged"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "is:flagged zebra"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "from:alice is:unread"), g_strdup (""));
}

static void
test_search_dates (Fixture       *fixture,
                   gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  SearchMail mail;

  add_search_mail (fixture, folder_id, &mail);

  assert_ids (search_ids (fixture->store, "before:2024-01-20"), join_ids (mail.report, END));
  assert_ids (search_ids (fixture->store, "after:2024-02-15"), join_ids (mail.lunch, END));
  assert_ids (search_ids (fixture->store, "after:2024-01-20 before:2024-02-15"),
              join_ids (mail.cafe, END));
  assert_ids (search_ids (fixture->store, "before:2023-06-01"), g_strdup (""));
}

static void
test_search_bad_date_is_an_error (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  static const struct { const char *query; const char *word; } cases[] = {
    { "before:yesterday", "before:yesterday" },
    { "after:2024-13-45", "after:2024-13-45" },
    { "zebra before:15/01/2024", "before:15/01/2024" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) ids = search (fixture->store, cases[i].query, 0, 0, &error);

      g_assert_error (error, TERN_SEARCH_QUERY_ERROR, TERN_SEARCH_QUERY_ERROR_BAD_DATE);
      g_assert_null (ids);
      /* The message names what the user typed wrong. */
      g_assert_nonnull (strstr (error->message, cases[i].word));
    }
}

static void
test_search_newest_first_in_folder_with_limit (Fixture       *fixture,
                                               gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 elsewhere = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Else", TERN_FOLDER_ROLE_NONE);
  g_autofree char *zebra = make_mail ("z@x", "Elsewhere", "z@example.org", "y@example.org",
                                      JAN_01_2024 + 100 * DAY, NULL, NULL, "zebra");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) limited = NULL;
  g_autoptr(GArray) in_folder = NULL;
  SearchMail mail;
  gint64 other;

  add_search_mail (fixture, folder_id, &mail);
  other = add_text (fixture->store, elsewhere, zebra, 0);

  assert_ids (search_ids (fixture->store, "zebra"),
              join_ids (other, mail.lunch, mail.cafe, mail.report, END));

  in_folder = search (fixture->store, "zebra", folder_id, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (in_folder->len, ==, 3);
  g_assert_cmpint (g_array_index (in_folder, gint64, 0), ==, mail.lunch);

  limited = search (fixture->store, "zebra", 0, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (limited->len, ==, 2);
  g_assert_cmpint (g_array_index (limited, gint64, 0), ==, other);
  g_assert_cmpint (g_array_index (limited, gint64, 1), ==, mail.lunch);
}

/* Completion */

static GPtrArray *
complete (TernStore  *store,
          const char *prefix,
          guint       limit)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *suggestions;

  tern_store_complete_address_async (store, prefix, limit, NULL, tern_test_got_result_cb, &result);
  suggestions = tern_store_complete_address_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (suggestions);
  return suggestions;
}

static void
add_from (Fixture    *fixture,
          gint64      folder_id,
          const char *from,
          guint       times)
{
  for (guint i = 0; i < times; i++)
    {
      g_autofree char *id = g_strdup_printf ("%s-%u@x", from, i);
      g_autofree char *raw = make_mail (id, "Note", from, "Me <me@example.org>",
                                        JAN_01_2024 + i * DAY, NULL, NULL, "Hi");

      add_text (fixture->store, folder_id, raw, 0);
    }
}

static void
test_complete_most_used_first (Fixture       *fixture,
                               gconstpointer  user_data)
{
  gint64 inbox = new_folder (fixture->store, "work", "INBOX", TERN_FOLDER_ROLE_INBOX);
  g_autoptr(GPtrArray) by_address = NULL;
  g_autoptr(GPtrArray) by_name = NULL;
  g_autoptr(GPtrArray) limited = NULL;
  g_autoptr(GPtrArray) wildcard = NULL;

  add_from (fixture, inbox, "Albert Ross <albert@example.org>", 1);
  add_from (fixture, inbox, "Alice Smith <alice@example.org>", 3);
  add_from (fixture, inbox, "Alfred Hitch <ALFRED@Example.org>", 2);
  add_from (fixture, inbox, "Bob <bob@example.com>", 4);

  by_address = complete (fixture->store, "al", 10);
  g_assert_cmpuint (by_address->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (by_address, 0), ==, "Alice Smith <alice@example.org>");
  g_assert_cmpstr (g_ptr_array_index (by_address, 1), ==, "Alfred Hitch <alfred@example.org>");
  g_assert_cmpstr (g_ptr_array_index (by_address, 2), ==, "Albert Ross <albert@example.org>");

  /* Any word of the name. */
  by_name = complete (fixture->store, "hitch", 10);
  g_assert_cmpuint (by_name->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (by_name, 0), ==, "Alfred Hitch <alfred@example.org>");

  limited = complete (fixture->store, "al", 1);
  g_assert_cmpuint (limited->len, ==, 1);

  /* What the user types is taken literally. */
  wildcard = complete (fixture->store, "%", 10);
  g_assert_cmpuint (wildcard->len, ==, 0);
}

static void
test_complete_collects_sent_recipients (Fixture       *fixture,
                                        gconstpointer  user_data)
{
  gint64 sent = new_folder (fixture->store, "work", "Sent", TERN_FOLDER_ROLE_SENT);
  g_autofree char *raw = make_mail ("out@me", "Hello", "Me <me@example.org>",
                                    "Zoë Martin <zoe@example.net>, yann@example.net",
                                    JAN_01_2024, NULL, NULL, "Hi");
  g_autoptr(GPtrArray) zoe = NULL;
  g_autoptr(GPtrArray) yann = NULL;
  g_autoptr(GPtrArray) me = NULL;

  add_text (fixture->store, sent, raw, TERN_MESSAGE_FLAG_SEEN);

  zoe = complete (fixture->store, "zo", 10);
  g_assert_cmpuint (zoe->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (zoe, 0), ==, "Zoë Martin <zoe@example.net>");
  yann = complete (fixture->store, "yann", 10);
  g_assert_cmpuint (yann->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (yann, 0), ==, "yann@example.net");
  /* The sender of the user's own mail is the user. */
  me = complete (fixture->store, "me", 10);
  g_assert_cmpuint (me->len, ==, 0);
}

/* Import and export */

static TernImportResult *
import (TernStore          *store,
        gint64              folder_id,
        const char         *path,
        TernMailFileFormat  format)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  TernImportResult *imported;

  tern_store_import_async (store, folder_id, file, format, NULL, NULL, NULL,
                           tern_test_got_result_cb, &result);
  imported = tern_store_import_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (imported);
  return imported;
}

/* The message with this Message-ID in the folder. */
static TernMessage *
find_by_message_id (TernStore  *store,
                    gint64      folder_id,
                    const char *message_id)
{
  g_autoptr(GPtrArray) messages = list_messages (store, folder_id);

  for (guint i = 0; i < messages->len; i++)
    {
      TernMessage *message = g_ptr_array_index (messages, i);

      if (g_strcmp0 (tern_message_get_message_id (message), message_id) == 0)
        return tern_message_ref (message);
    }

  return NULL;
}

static void
test_import_mbox (Fixture       *fixture,
                  gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Imported",
                                 TERN_FOLDER_ROLE_NONE);
  g_autofree char *path = tern_test_data_path ("sample.mbox");
  g_autoptr(TernImportResult) imported = import (fixture->store, folder_id, path,
                                                 TERN_MAIL_FILE_MBOX);
  g_autoptr(TernMessage) report = NULL;
  g_autoptr(TernMessage) reply = NULL;
  g_autoptr(TernMessage) menu = NULL;
  g_autoptr(GBytes) reply_raw = NULL;
  g_autoptr(GBytes) menu_raw = NULL;
  g_autoptr(GBytes) expected_menu = read_data ("attachment.eml");
  static const char expected_reply[] =
    "From: Bob Jones <bob@example.com>\n"
    "To: Alice Smith <alice@example.org>\n"
    "Subject: Re: Quarterly report\n"
    "Date: Tue, 16 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <q1-reply@example.com>\n"
    "In-Reply-To: <q1-report@example.org>\n"
    "References: <q1-report@example.org>\n"
    "\n"
    "Thanks, the numbers look good.\n"
    "\n"
    ">From the desk of Bob.\n";

  g_assert_cmpuint (imported->imported, ==, 4);
  g_assert_cmpuint (imported->skipped, ==, 0);
  /* The first message is marked read in the mbox. */
  assert_counts (fixture->store, folder_id, 4, 3);

  report = find_by_message_id (fixture->store, folder_id, "q1-report@example.org");
  g_assert_nonnull (report);
  g_assert_cmpuint (tern_message_get_flags (report) & TERN_MESSAGE_FLAG_SEEN, !=, 0);
  reply = find_by_message_id (fixture->store, folder_id, "q1-reply@example.com");
  g_assert_nonnull (reply);
  g_assert_cmpuint (tern_message_get_flags (reply), ==, 0);
  g_assert_cmpint (tern_message_get_conversation_id (reply), ==,
                   tern_message_get_conversation_id (report));

  reply_raw = get_raw (fixture->store, tern_message_get_id (reply), NULL);
  g_assert_cmpmem (g_bytes_get_data (reply_raw, NULL), g_bytes_get_size (reply_raw),
                   expected_reply, sizeof expected_reply - 1);

  menu = find_by_message_id (fixture->store, folder_id, "menu-2024@example.fr");
  g_assert_nonnull (menu);
  g_assert_true (tern_message_has_attachments (menu));
  menu_raw = get_raw (fixture->store, tern_message_get_id (menu), NULL);
  assert_same_bytes (menu_raw, expected_menu);
}

/* An mbox of @n short messages, "Message 1" to "Message N", but for
 * message @refused, whose subject is "refused". */
static char *
write_numbered_mbox (const char *dir,
                     guint       n,
                     guint       refused)
{
  g_autofree char *path = g_build_filename (dir, "numbered.mbox", NULL);
  g_autoptr(GString) mbox = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *subject = i == refused ? g_strdup ("refused")
                                              : g_strdup_printf ("Message %u", i);

      g_string_append_printf (mbox,
                              "From sender@example.org Mon Jan  1 00:00:00 2024\n"
                              "From: Sender <sender@example.org>\n"
                              "To: me@example.org\n"
                              "Subject: %s\n"
                              "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
                              "Message-ID: <numbered-%u@example.org>\n"
                              "\n"
                              "Body of message %u.\n"
                              "\n",
                              subject, i, i);
    }

  g_file_set_contents (path, mbox->str, mbox->len, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
test_import_marks_bodies_indexed (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Many",
                                 TERN_FOLDER_ROLE_NONE);
  g_autofree char *mbox = write_numbered_mbox (fixture->dir, 1203, 0);
  g_autofree char *bodies = g_build_filename (fixture->dir, "bodies.sqlite", NULL);
  g_autoptr(TernImportResult) imported = import (fixture->store, folder_id, mbox,
                                                 TERN_MAIL_FILE_MBOX);

  g_assert_cmpuint (imported->imported, ==, 1203);
  assert_counts (fixture->store, folder_id, 1203, 1203);

  /* Every body is there once, and known to be in the index: the next open
   * has nothing to recover. */
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta"), ==, 1203);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta WHERE state = 1"),
                   ==, 1203);

  fixture_reopen (fixture);
  assert_counts (fixture->store, folder_id, 1203, 1203);
}

static void
test_import_refused_batch_leaves_no_body (Fixture       *fixture,
                                          gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Refused",
                                 TERN_FOLDER_ROLE_NONE);
  /* The second batch holds the refused message; a third follows. */
  const guint batch = TERN_STORE_IMPORT_BATCH;
  g_autofree char *mbox = write_numbered_mbox (fixture->dir, 2 * batch + batch / 2,
                                               batch + batch / 2);
  g_autofree char *index = g_build_filename (fixture->dir, "store.sqlite", NULL);
  g_autofree char *bodies = g_build_filename (fixture->dir, "bodies.sqlite", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (mbox);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImportResult) imported = NULL;
  g_autofree char *expected = NULL;
  sqlite3 *db;

  /* The index refuses that message, as a full disk or a damaged page
   * would refuse a write. */
  db = open_sqlite (index);
  g_assert_cmpint (sqlite3_exec (db,
                                 "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                                 "WHEN NEW.subject = 'refused' "
                                 "BEGIN SELECT RAISE (ABORT, 'refused by the test'); END",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  tern_store_import_async (fixture->store, folder_id, file, TERN_MAIL_FILE_MBOX, NULL, NULL,
                           NULL, tern_test_got_result_cb, &result);
  imported = tern_store_import_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_null (imported);
  g_assert_nonnull (error);
  expected = g_strdup_printf ("%u messages were imported before an error", batch);
  g_assert_nonnull (strstr (error->message, expected));

  /* The first batch stays; no body of a later one is left behind, and
   * the next open does not bring any back. */
  assert_counts (fixture->store, folder_id, batch, batch);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta"), ==, batch);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM bodies"), ==, batch);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta WHERE state = 1"),
                   ==, batch);

  fixture_reopen (fixture);
  assert_counts (fixture->store, folder_id, batch, batch);
}

/* Batches that end with the source: nothing is left over after the
 * last one read, which the import hands over only once reading ends. */
static void
test_import_whole_batches (Fixture       *fixture,
                           gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Whole",
                                 TERN_FOLDER_ROLE_NONE);
  const guint batch = TERN_STORE_IMPORT_BATCH;
  g_autofree char *mbox = write_numbered_mbox (fixture->dir, 3 * batch, 0);
  g_autofree char *bodies = g_build_filename (fixture->dir, "bodies.sqlite", NULL);
  g_autoptr(TernImportResult) imported = import (fixture->store, folder_id, mbox,
                                                 TERN_MAIL_FILE_MBOX);
  const guint numbers[] = { batch, batch + 1, 2 * batch + 1, 3 * batch };

  g_assert_cmpuint (imported->imported, ==, 3 * batch);
  assert_counts (fixture->store, folder_id, 3 * batch, 3 * batch);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM body_meta WHERE state = 1"),
                   ==, 3 * batch);

  /* The messages on either side of each batch's end are in the search
   * index: searching a number (a prefix) finds the one message with it. */
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *number = g_strdup_printf ("%u", numbers[i]);
      g_autoptr(GArray) found = NULL;
      g_autoptr(GError) error = NULL;

      found = search (fixture->store, number, folder_id, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (found->len, ==, 1);
    }
}

/* A refusal in the last batch, handed over after reading ended, is still
 * the import's error, and the batches before it stay. */
static void
test_import_refused_last_batch (Fixture       *fixture,
                                gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "RefusedLast",
                                 TERN_FOLDER_ROLE_NONE);
  const guint batch = TERN_STORE_IMPORT_BATCH;
  g_autofree char *mbox = write_numbered_mbox (fixture->dir, 2 * batch, 2 * batch);
  g_autofree char *index = g_build_filename (fixture->dir, "store.sqlite", NULL);
  g_autofree char *bodies = g_build_filename (fixture->dir, "bodies.sqlite", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (mbox);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImportResult) imported = NULL;
  g_autofree char *expected = NULL;
  sqlite3 *db;

  db = open_sqlite (index);
  g_assert_cmpint (sqlite3_exec (db,
                                 "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                                 "WHEN NEW.subject = 'refused' "
                                 "BEGIN SELECT RAISE (ABORT, 'refused by the test'); END",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  tern_store_import_async (fixture->store, folder_id, file, TERN_MAIL_FILE_MBOX, NULL, NULL,
                           NULL, tern_test_got_result_cb, &result);
  imported = tern_store_import_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_null (imported);
  g_assert_nonnull (error);
  expected = g_strdup_printf ("%u messages were imported before an error", batch);
  g_assert_nonnull (strstr (error->message, expected));

  assert_counts (fixture->store, folder_id, batch, batch);
  g_assert_cmpint (file_query_int (bodies, "SELECT count (*) FROM bodies"), ==, batch);

  fixture_reopen (fixture);
  assert_counts (fixture->store, folder_id, batch, batch);
}

static void
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
test_import_maildir_keeps_flags (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "FromMaildir",
                                 TERN_FOLDER_ROLE_NONE);
  g_autofree char *maildir = g_build_filename (fixture->dir, "Maildir", NULL);
  g_autofree char *cur = g_build_filename (maildir, "cur", NULL);
  g_autofree char *new_dir = g_build_filename (maildir, "new", NULL);
  g_autofree char *tmp = g_build_filename (maildir, "tmp", NULL);
  g_autofree char *seen = make_mail ("seen@x", "Seen", "a@example.org", "b@example.org",
                                     JAN_01_2024, NULL, NULL, "Read already.");
  g_autofree char *flagged = make_mail ("flagged@x", "Flagged", "a@example.org", "b@example.org",
                                        JAN_01_2024 + DAY, NULL, NULL, "Important.");
  g_autofree char *fresh = make_mail ("new@x", "New", "a@example.org", "b@example.org",
                                      JAN_01_2024 + 2 * DAY, NULL, NULL, "Just arrived.");
  g_autofree char *draft = make_mail ("draft@x", "Draft", "a@example.org", "b@example.org",
                                      JAN_01_2024 + 3 * DAY, NULL, NULL, "Unfinished.");
  g_autoptr(TernImportResult) imported = NULL;
  struct { const char *message_id; const char *raw; guint flags; } expected[] = {
    { "seen@x", seen, TERN_MESSAGE_FLAG_SEEN },
    { "flagged@x", flagged, TERN_MESSAGE_FLAG_FLAGGED | TERN_MESSAGE_FLAG_ANSWERED },
    { "new@x", fresh, 0 },
    { "draft@x", draft,
      TERN_MESSAGE_FLAG_DRAFT | TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED },
  };

  g_assert_cmpint (g_mkdir_with_parents (cur, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (new_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (tmp, 0700), ==, 0);
  write_file (cur, "1704067200.M1P1.host:2,S", seen);
  write_file (cur, "1704153600.M2P2.host:2,FR", flagged);
  write_file (new_dir, "1704240000.M3P3.host", fresh);
  write_file (cur, "1704326400.M4P4.host:2,DST", draft);
  /* A delivery in progress is not mail yet. */
  write_file (tmp, "1704326401.M5P5.host", "Subject: half\n\n");

  imported = import (fixture->store, folder_id, maildir, TERN_MAIL_FILE_MAILDIR);
  g_assert_cmpuint (imported->imported, ==, 4);
  g_assert_cmpuint (imported->skipped, ==, 0);
  /* Flagged and new are unread; the draft is seen and trashed. */
  assert_counts (fixture->store, folder_id, 4, 2);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(TernMessage) message = find_by_message_id (fixture->store, folder_id,
                                                           expected[i].message_id);
      g_autoptr(GBytes) raw = NULL;

      g_assert_nonnull (message);
      g_assert_cmpuint (tern_message_get_flags (message), ==, expected[i].flags);
      raw = get_raw (fixture->store, tern_message_get_id (message), NULL);
      g_assert_cmpmem (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                       expected[i].raw, strlen (expected[i].raw));
    }
}

/* A message without the Status and X-Status lines of its header, which an
 * mbox uses to carry flags. */
static char *
strip_status_headers (GBytes *raw)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);
  g_autofree char *text = g_strndup (data, size);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean in_header = TRUE;
  gboolean dropping = FALSE;
  const char *line = text;

  while (*line != '\0')
    {
      const char *end = strchr (line, '\n');
      gsize length = end != NULL ? (gsize) (end - line + 1) : strlen (line);

      if (in_header && (length == 1 || (length == 2 && line[0] == '\r')))
        in_header = FALSE;

      if (in_header)
        {
          if (line[0] == ' ' || line[0] == '\t')
            {
              /* A folded line belongs to the field above. */
            }
          else
            {
              dropping = g_ascii_strncasecmp (line, "Status:", 7) == 0 ||
                         g_ascii_strncasecmp (line, "X-Status:", 9) == 0;
            }
          if (!dropping)
            g_string_append_len (out, line, length);
        }
      else
        {
          g_string_append_len (out, line, length);
        }

      line += length;
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_export_and_reimport_keep_messages_and_flags (Fixture       *fixture,
                                                  gconstpointer  user_data)
{
  gint64 source = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Source", TERN_FOLDER_ROLE_NONE);
  gint64 target = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Target", TERN_FOLDER_ROLE_NONE);
  g_autofree char *mbox_path = tern_test_data_path ("sample.mbox");
  g_autofree char *export_path = g_build_filename (fixture->dir, "export.mbox", NULL);
  g_autoptr(GFile) export_file = g_file_new_for_path (export_path);
  g_autoptr(TernImportResult) first = import (fixture->store, source, mbox_path,
                                              TERN_MAIL_FILE_MBOX);
  g_autoptr(TernImportResult) again = NULL;
  g_autoptr(GPtrArray) originals = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) flag_them = id_array ();
  g_autoptr(GArray) answer_them = id_array ();
  g_autofree char *tricky = NULL;
  guint written;
  static const guint keepable = TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_ANSWERED |
                                TERN_MESSAGE_FLAG_FLAGGED | TERN_MESSAGE_FLAG_DELETED |
                                TERN_MESSAGE_FLAG_DRAFT;

  /* One message an mbox must quote: lines that begin with "From ". */
  tricky = make_mail ("tricky@x", "Quoting", "a@example.org", "b@example.org", JAN_01_2024,
                      NULL, NULL,
                      "From the start of a line.\n>From a quoted one.\n\nFrom here too.");
  add_text (fixture->store, source, tricky, TERN_MESSAGE_FLAG_DRAFT);

  originals = list_messages (fixture->store, source);
  g_assert_cmpuint (originals->len, ==, 5);
  for (guint i = 0; i < originals->len; i++)
    {
      gint64 id = tern_message_get_id (g_ptr_array_index (originals, i));

      g_array_append_val (i % 2 == 0 ? flag_them : answer_them, id);
    }
  tern_test_set_flags (fixture->store, flag_them,
                       TERN_MESSAGE_FLAG_FLAGGED | TERN_MESSAGE_FLAG_DELETED, 0);
  tern_test_set_flags (fixture->store, answer_them,
                       TERN_MESSAGE_FLAG_ANSWERED | TERN_MESSAGE_FLAG_SEEN, 0);
  g_clear_pointer (&originals, g_ptr_array_unref);
  originals = list_messages (fixture->store, source);

  tern_store_export_mbox_async (fixture->store, source, export_file, NULL, tern_test_got_result_cb,
                                &result);
  written = tern_store_export_mbox_finish (fixture->store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (written, ==, 5);

  again = import (fixture->store, target, export_path, TERN_MAIL_FILE_MBOX);
  g_assert_cmpuint (again->imported, ==, 5);
  g_assert_cmpuint (again->skipped, ==, 0);

  for (guint i = 0; i < originals->len; i++)
    {
      TernMessage *original = g_ptr_array_index (originals, i);
      g_autoptr(TernMessage) copy = find_by_message_id (fixture->store, target,
                                                        tern_message_get_message_id (original));
      g_autoptr(GBytes) original_raw = NULL;
      g_autoptr(GBytes) copy_raw = NULL;
      g_autofree char *original_text = NULL;
      g_autofree char *copy_text = NULL;

      g_test_message ("Message %s", tern_message_get_message_id (original));
      g_assert_nonnull (copy);
      g_assert_cmpuint (tern_message_get_flags (copy) & keepable, ==,
                        tern_message_get_flags (original) & keepable);
      g_assert_cmpstr (tern_message_get_subject (copy), ==, tern_message_get_subject (original));
      g_assert_cmpint (tern_message_get_date (copy), ==, tern_message_get_date (original));

      original_raw = get_raw (fixture->store, tern_message_get_id (original), NULL);
      copy_raw = get_raw (fixture->store, tern_message_get_id (copy), NULL);
      original_text = strip_status_headers (original_raw);
      copy_text = strip_status_headers (copy_raw);
      g_assert_cmpstr (copy_text, ==, original_text);
    }

  {
    g_autoptr(TernFolder) a = get_folder (fixture->store, source);
    g_autoptr(TernFolder) b = get_folder (fixture->store, target);

    g_assert_cmpint (tern_folder_get_total (b), ==, tern_folder_get_total (a));
    g_assert_cmpint (tern_folder_get_unread (b), ==, tern_folder_get_unread (a));
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/store/open/creates-index-and-bodies", test_open_creates_index_and_bodies);
  ADD ("/store/open/reopen-keeps-everything", test_open_reopen_keeps_everything);
  g_test_add_func ("/store/open/refuses-newer-index-untouched",
                   test_open_refuses_newer_index_untouched);
  g_test_add_func ("/store/open/migrates-empty-file", test_open_migrates_empty_file);
  g_test_add_func ("/store/open/tunes-search-index", test_open_tunes_search_index);
  g_test_add_func ("/store/open/migrates-from-every-earlier-version",
                   test_open_migrates_from_every_earlier_version);

  ADD ("/store/messages/raw-round-trip-is-byte-identical",
       test_messages_raw_round_trip_is_byte_identical);
  ADD ("/store/messages/facts-come-from-the-headers", test_messages_facts_come_from_the_headers);
  ADD ("/store/messages/missing-message-is-not-found", test_messages_missing_message_is_not_found);
  ADD ("/store/messages/failed-add-leaves-no-trace", test_messages_failed_add_leaves_no_trace);
  ADD ("/store/messages/ids-are-never-reused", test_messages_ids_are_never_reused);
  ADD ("/store/flags/unread-count-follows-seen", test_flags_unread_count_follows_seen);
  ADD ("/store/move/keeps-ids-and-moves-counts", test_move_keeps_ids_and_moves_counts);
  ADD ("/store/copy/new-ids-identical-bodies", test_copy_makes_new_ids_with_identical_bodies);
  ADD ("/store/delete/gone-from-folder-search-and-bodies",
       test_delete_removes_from_folder_search_and_bodies);

  ADD ("/store/folders/create-ensure-and-list", test_folders_create_ensure_and_list);
  ADD ("/store/folders/existing-folder-is-refused", test_folders_existing_folder_is_refused);
  ADD ("/store/folders/invalid-names-are-refused", test_folders_invalid_names_are_refused);
  ADD ("/store/folders/rename-takes-subfolders-along", test_folders_rename_takes_subfolders_along);
  ADD ("/store/folders/delete-takes-messages-and-subfolders",
       test_folders_delete_takes_messages_and_subfolders);

  ADD ("/store/threading/references-chain-is-one-conversation",
       test_threading_references_chain_is_one_conversation);
  ADD ("/store/threading/reply-before-parent", test_threading_reply_before_parent);
  ADD ("/store/threading/link-merges-two-halves", test_threading_link_merges_two_halves);
  ADD ("/store/threading/reply-in-sent-joins-conversation",
       test_threading_reply_in_sent_joins_conversation);
  ADD ("/store/threading/subject-fallback-for-re-and-fwd-only", test_threading_subject_fallback);
  ADD ("/store/threading/subject-fallback-only-within-30-days",
       test_threading_subject_fallback_only_within_30_days);
  ADD ("/store/threading/subject-fallback-ignores-case",
       test_threading_subject_fallback_ignores_case);

  ADD ("/store/conversation/every-folder-oldest-first",
       test_conversation_lists_every_folder_oldest_first);
  ADD ("/store/conversation/leaves-out-trash-and-junk", test_conversation_leaves_out_trash_and_junk);
  ADD ("/store/conversation/keeps-the-newest-when-long",
       test_conversation_keeps_the_newest_when_long);

  ADD ("/store/search/words-and-prefixes", test_search_finds_words_and_prefixes);
  ADD ("/store/search/diacritics-folded", test_search_folds_diacritics);
  g_test_add_func ("/store/search/index-of-whole-texts-still-works",
                   test_search_index_of_whole_texts_still_works);
  ADD ("/store/search/fields-and-states", test_search_fields_and_states);
  ADD ("/store/search/before-and-after", test_search_dates);
  ADD ("/store/search/bad-date-is-an-error", test_search_bad_date_is_an_error);
  ADD ("/store/search/newest-first-in-folder-with-limit",
       test_search_newest_first_in_folder_with_limit);

  ADD ("/store/complete/most-used-first", test_complete_most_used_first);
  ADD ("/store/complete/collects-sent-recipients", test_complete_collects_sent_recipients);

  ADD ("/store/import/mbox", test_import_mbox);
  ADD ("/store/import/maildir-keeps-flags", test_import_maildir_keeps_flags);
  ADD ("/store/import/marks-bodies-indexed", test_import_marks_bodies_indexed);
  ADD ("/store/import/refused-batch-leaves-no-body", test_import_refused_batch_leaves_no_body);
  ADD ("/store/import/whole-batches", test_import_whole_batches);
  ADD ("/store/import/refused-last-batch", test_import_refused_last_batch);
  ADD ("/store/export/reimport-keeps-messages-and-flags",
       test_export_and_reimport_keep_messages_and_flags);

#undef ADD

  return g_test_run ();
}
