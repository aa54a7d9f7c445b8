/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-store-drafts.h"
#include "tern-store-private.h"
#include "tern-store-sync.h"

typedef struct
{
  char *account;
  TernFolderRole role;
  char *path;
  gint64 message_id;
  char *flags;
} DraftsData;

static void
drafts_data_free (DraftsData *data)
{
  g_free (data->account);
  g_free (data->path);
  g_free (data->flags);
  g_free (data);
}

/**
 * tern_store_role_folder:
 *
 * Finds @account's folder of @role, the server's first, else makes @path
 * with that role; in the caller's transaction when it makes one.
 */
TernFolder *
tern_store_role_folder (TernStoreDb     *db,
                        const char      *account,
                        TernFolderRole   role,
                        const char      *path,
                        GError         **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  /* The server's folder of the role first: a folder here of that role
   * may be one Tern made before the server's was known. */
  stmt = tern_store_prepare (db->index, "SELECT id FROM folders WHERE account = ? AND role = ? "
                                        "ORDER BY remote_name IS NULL, id LIMIT 1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 2, role);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    return tern_store_folder_load (db->index, sqlite3_column_int64 (stmt, 0), error);
  return tern_store_folder_ensure (db->index, account, path, role, FALSE, error);
}

static void
find_role_folder_job (TernStore   *self,
                      TernStoreDb *db,
                      GTask       *task)
{
  DraftsData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  folder = tern_store_role_folder (db, data->account, data->role, data->path, &error);
  if (folder == NULL || !tern_store_commit (db->index, &error))
    {
      tern_store_rollback (db->index);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&folder), (GDestroyNotify) tern_folder_unref);
}

/**
 * tern_store_find_role_folder_async:
 * @account: the account
 * @role: the role wanted, such as %TERN_FOLDER_ROLE_DRAFTS
 * @path: the folder made (with @role) when the account has none
 *
 * Finds the account's folder of @role, the server's one first, else
 * makes @path with that role.
 */
void
tern_store_find_role_folder_async (TernStore           *self,
                                   const char          *account,
                                   TernFolderRole       role,
                                   const char          *path,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  DraftsData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL && path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_find_role_folder_async);
  data = g_new0 (DraftsData, 1);
  data->account = g_strdup (account);
  data->role = role;
  data->path = g_strdup (path);
  g_task_set_task_data (task, data, (GDestroyNotify) drafts_data_free);
  tern_store_queue_write (self, task, find_role_folder_job);
}

/**
 * tern_store_find_role_folder_finish:
 *
 * Returns: (transfer full): the folder.
 */
TernFolder *
tern_store_find_role_folder_finish (TernStore     *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_store_queue_upload:
 * @out_queued: (out): whether an upload was queued
 *
 * Queues the upload of @message_id to its server folder when it has no
 * UID there, in the caller's transaction.
 */
gboolean
tern_store_queue_upload (TernStoreDb  *db,
                         gint64        message_id,
                         const char   *flags,
                         gboolean     *out_queued,
                         GError      **error)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  g_autofree char *ids = NULL;
  g_autofree char *account = NULL;
  gint64 folder_id;
  int rc;

  *out_queued = FALSE;
  select = tern_store_prepare (db->index,
                               "SELECT m.folder_id, f.account FROM messages AS m "
                               "JOIN folders AS f ON f.id = m.folder_id "
                               "WHERE m.id = ? AND m.uid IS NULL AND f.remote_name IS NOT NULL",
                               error);
  if (select == NULL)
    return FALSE;
  sqlite3_bind_int64 (select, 1, message_id);
  /* Gone already, on the server already, or in a folder of this computer
   * only: nothing to upload. */
  if (sqlite3_step (select) != SQLITE_ROW)
    return TRUE;
  folder_id = sqlite3_column_int64 (select, 0);
  account = g_strdup (tern_store_column_text (select, 1));

  ids = g_strdup_printf ("%" G_GINT64_FORMAT, message_id);
  insert = tern_store_prepare (db->index,
                               "INSERT INTO pending_actions (account, folder_id, kind, "
                               "message_ids, argument, created) VALUES (?, ?, ?, ?, ?, ?)",
                               error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_text (insert, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 2, folder_id);
  sqlite3_bind_int (insert, 3, TERN_ACTION_APPEND);
  sqlite3_bind_text (insert, 4, ids, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert, 5, flags, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 6, g_get_real_time () / G_USEC_PER_SEC);
  rc = sqlite3_step (insert);
  if (rc != SQLITE_DONE)
    return tern_store_sql_error (db->index, rc, "Could not queue the upload", error);
  *out_queued = TRUE;
  return TRUE;
}

static void
queue_upload_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  DraftsData *data = g_task_get_task_data (task);
  gboolean queued = FALSE;
  GError *error = NULL;

  if (!tern_store_queue_upload (db, data->message_id, data->flags, &queued, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, queued);
}

/**
 * tern_store_queue_upload_async:
 * @message_id: a message of a server folder that the server does not
 *   have yet, such as a draft just saved there
 * @flags: the IMAP flags it goes up with, space separated
 *
 * Queues the upload of @message_id to its folder on the server (a
 * %TERN_ACTION_APPEND, replayed by the next sync).  A message of a folder
 * of this computer only, or one with a UID, is left as it is.
 */
void
tern_store_queue_upload_async (TernStore           *self,
                               gint64               message_id,
                               const char          *flags,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  DraftsData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_queue_upload_async);
  data = g_new0 (DraftsData, 1);
  data->message_id = message_id;
  data->flags = g_strdup (flags != NULL ? flags : "\\Seen");
  g_task_set_task_data (task, data, (GDestroyNotify) drafts_data_free);
  tern_store_queue_write (self, task, queue_upload_job);
}

/**
 * tern_store_queue_upload_finish:
 *
 * Returns: %TRUE when an upload was queued; %FALSE when there was nothing
 *   to upload, or with @error set.
 */
gboolean
tern_store_queue_upload_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
