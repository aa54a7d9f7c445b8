/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>

#include "tern-test-util.h"

/* Waiting */

/**
 * tern_test_got_result_cb:
 * @user_data: a `GAsyncResult **` slot, NULL until the call finishes
 *
 * A GAsyncReadyCallback that stores a reference to @result in the slot,
 * for tern_test_wait_for() to pick up.
 */
void
tern_test_got_result_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

/**
 * tern_test_timed_out_cb:
 * @user_data: a `gboolean *`
 *
 * A timeout callback that sets the flag and runs once.
 */
gboolean
tern_test_timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/**
 * tern_test_wait_for:
 * @slot: the slot given to tern_test_got_result_cb()
 *
 * Runs the default main context until the call fills @slot, and fails the
 * test if it has not after %TERN_TEST_WAIT_SECONDS.
 *
 * Returns: (transfer none): the result; @slot keeps the reference.
 */
GAsyncResult *
tern_test_wait_for (GAsyncResult **slot)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (TERN_TEST_WAIT_SECONDS, tern_test_timed_out_cb,
                                            &timed_out);

  while (*slot == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_nonnull (*slot);

  return *slot;
}

/**
 * tern_test_drain_main_context:
 *
 * Dispatches what is ready on the default main context, without blocking.
 */
void
tern_test_drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Files */

/**
 * tern_test_remove_tree:
 * @path: a file or folder
 *
 * Removes @path and, when it is a folder, everything in it.  Quietly does
 * nothing for what is not there.
 */
void
tern_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          tern_test_remove_tree (child);
        }
    }

  g_remove (path);
}

/**
 * tern_test_data_path:
 * @name: a file in tests/engine/data/store/
 *
 * Returns: (transfer full): the path of that file in the source tree.
 */
char *
tern_test_data_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "engine", "data", "store", name, NULL);
}

/**
 * tern_test_make_temp_dir:
 * @tmpl: a g_dir_make_tmp() template, such as "tern-store-XXXXXX"
 *
 * Returns: (transfer full): a new empty folder under the temporary folder;
 *   the test removes it with tern_test_remove_tree().
 */
char *
tern_test_make_temp_dir (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

/* The store */

/**
 * tern_test_open_store:
 * @dir: the store's folder
 *
 * Returns: (transfer full): the store in @dir, made there if need be.
 */
TernStore *
tern_test_open_store (const char *dir)
{
  g_autoptr(GError) error = NULL;
  TernStore *store = tern_store_open_sync (dir, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

/**
 * tern_test_close_store:
 * @store: (inout) (transfer full) (nullable): the store, or NULL
 *
 * Lets what is pending finish, closes the store and clears @store.  Does
 * nothing when @store is already NULL.
 */
void
tern_test_close_store (TernStore **store)
{
  if (*store == NULL)
    return;

  tern_test_drain_main_context ();
  tern_store_close (*store);
  tern_test_drain_main_context ();
  g_clear_object (store);
}

/**
 * tern_test_add_messages:
 * @messages: (element-type TernNewMessage): what to add
 *
 * tern_store_add_messages_async() made synchronous; the caller checks the
 * outcome.
 *
 * Returns: (transfer full) (nullable): the new ids, or NULL with @error set.
 */
GArray *
tern_test_add_messages (TernStore            *store,
                        gint64                folder_id,
                        GPtrArray            *messages,
                        TernStoreDurability   durability,
                        GError              **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_add_messages_async (store, folder_id, messages, durability, NULL,
                                 tern_test_got_result_cb, &result);
  return tern_store_add_messages_finish (store, tern_test_wait_for (&result), error);
}

/**
 * tern_test_set_flags:
 *
 * Adds and removes flags on the messages in @ids; fails the test if the
 * store refuses.
 */
void
tern_test_set_flags (TernStore *store,
                     GArray    *ids,
                     guint      add,
                     guint      remove)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_set_flags_async (store, ids, add, remove, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_set_flags_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
}

/**
 * tern_test_move_messages:
 *
 * Moves the messages in @ids to @folder_id; fails the test if the store
 * refuses.
 */
void
tern_test_move_messages (TernStore *store,
                         GArray    *ids,
                         gint64     folder_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_move_messages_async (store, ids, folder_id, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_move_messages_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
}

/**
 * tern_test_delete_messages:
 *
 * Deletes the messages in @ids; fails the test if the store refuses.
 */
void
tern_test_delete_messages (TernStore *store,
                           GArray    *ids)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_store_delete_messages_async (store, ids, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_delete_messages_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
}

/* Mail */

/**
 * tern_test_rfc_date:
 * @date: a time, in UTC
 *
 * Returns: (transfer full): a Date header value for @date, such as
 *   "1 Jan 2024 00:00:00 +0000", in English whatever the locale, as mail
 *   has it.
 */
char *
tern_test_rfc_date (GDateTime *date)
{
  static const char * const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  };

  return g_strdup_printf ("%d %s %d %02d:%02d:%02d +0000",
                          g_date_time_get_day_of_month (date),
                          months[g_date_time_get_month (date) - 1],
                          g_date_time_get_year (date),
                          g_date_time_get_hour (date),
                          g_date_time_get_minute (date),
                          g_date_time_get_second (date));
}

/* SQLite, to look at and tamper with the store's files directly */

/**
 * tern_test_exec_sql:
 *
 * Runs @sql on @db and aborts the test if it fails.
 */
void
tern_test_exec_sql (sqlite3    *db,
                    const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("SQL failed: %s: %s", sql, message);
}

/**
 * tern_test_query_int:
 *
 * Returns: the first column of the first row @sql gives; fails the test
 *   when there is no row.
 */
gint64
tern_test_query_int (sqlite3    *db,
                     const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}
