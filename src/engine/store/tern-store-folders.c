/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-store-outbox.h"
#include "tern-store-private.h"

/*
 * Folders: listed by account and path.  A path uses '/' between levels;
 * creating a folder creates its missing parents.
 */

TernFolder *
tern_store_folder_load (sqlite3  *db,
                        gint64    folder_id,
                        GError  **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = tern_store_prepare (db, "SELECT " TERN_STORE_FOLDER_COLUMNS " FROM folders WHERE id = ?",
                             error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, folder_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return tern_folder_new_from_stmt (stmt);

  if (rc == SQLITE_DONE)
    g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                 "There is no folder %" G_GINT64_FORMAT, folder_id);
  else
    tern_store_sql_error (db, rc, "Could not read a folder", error);

  return NULL;
}

static TernFolder *
folder_find (sqlite3     *db,
             const char  *account,
             const char  *path,
             GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = tern_store_prepare (db,
                             "SELECT " TERN_STORE_FOLDER_COLUMNS " FROM folders "
                             "WHERE account = ? AND path = ?",
                             error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return tern_folder_new_from_stmt (stmt);
  if (rc != SQLITE_DONE)
    tern_store_sql_error (db, rc, "Could not read a folder", error);

  return NULL;
}

static gboolean
path_is_valid (const char  *path,
               GError     **error)
{
  if (path == NULL || *path == '\0' || !g_utf8_validate (path, -1, NULL) ||
      path[0] == '/' || g_str_has_suffix (path, "/") || strstr (path, "//") != NULL ||
      strlen (path) > 1000)
    {
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                   "“%s” is not a valid folder name", path != NULL ? path : "");
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_store_folder_ensure:
 *
 * Finds or creates the folder @path of @account, with its parents, in the
 * caller's transaction.  With @must_be_new, an existing folder is an
 * error.  A found folder takes @role when it has none.
 */
TernFolder *
tern_store_folder_ensure (sqlite3         *db,
                          const char      *account,
                          const char      *path,
                          TernFolderRole   role,
                          gboolean         must_be_new,
                          GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(TernFolder) existing = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *parent_path = NULL;
  const char *slash;
  gint64 parent_id = 0;
  int rc;

  if (!path_is_valid (path, error))
    return NULL;

  existing = folder_find (db, account, path, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (existing != NULL)
    {
      if (must_be_new)
        {
          g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_EXISTS,
                       "The folder “%s” exists already", path);
          return NULL;
        }

      if (role != TERN_FOLDER_ROLE_NONE && tern_folder_get_role (existing) == TERN_FOLDER_ROLE_NONE)
        {
          g_autoptr(sqlite3_stmt) update = NULL;

          update = tern_store_prepare (db, "UPDATE folders SET role = ? WHERE id = ?", error);
          if (update == NULL)
            return NULL;
          sqlite3_bind_int (update, 1, role);
          sqlite3_bind_int64 (update, 2, tern_folder_get_id (existing));
          rc = sqlite3_step (update);
          if (rc != SQLITE_DONE)
            {
              tern_store_sql_error (db, rc, "Could not update a folder", error);
              return NULL;
            }
          return tern_store_folder_load (db, tern_folder_get_id (existing), error);
        }

      return g_steal_pointer (&existing);
    }

  slash = strrchr (path, '/');
  if (slash != NULL)
    {
      g_autoptr(TernFolder) parent = NULL;

      parent_path = g_strndup (path, slash - path);
      parent = tern_store_folder_ensure (db, account, parent_path, TERN_FOLDER_ROLE_NONE, FALSE,
                                         error);
      if (parent == NULL)
        return NULL;
      parent_id = tern_folder_get_id (parent);
    }

  stmt = tern_store_prepare (db,
                             "INSERT INTO folders (account, path, name, parent_id, role, created) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, slash != NULL ? slash + 1 : path, -1, SQLITE_STATIC);
  if (parent_id > 0)
    sqlite3_bind_int64 (stmt, 4, parent_id);
  sqlite3_bind_int (stmt, 5, role);
  sqlite3_bind_int64 (stmt, 6, g_get_real_time () / G_USEC_PER_SEC);

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db, rc, "Could not create a folder", error);
      return NULL;
    }

  return tern_store_folder_load (db, sqlite3_last_insert_rowid (db), error);
}

/**
 * tern_store_save_folder_meta:
 *
 * Copies an account's folders and their roles into the bodies database,
 * after a change to them was committed, so that a rebuild of the index can
 * give every folder its role back.  A failure costs only that.
 */
void
tern_store_save_folder_meta (TernStoreDb *db,
                             const char  *account)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) clear = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;

  select = tern_store_prepare (db->index, "SELECT path, role FROM folders WHERE account = ?", NULL);
  clear = tern_store_prepare (db->bodies, "DELETE FROM folder_meta WHERE account = ?", NULL);
  insert = tern_store_prepare (db->bodies,
                               "INSERT INTO folder_meta (account, path, role) VALUES (?, ?, ?)",
                               NULL);
  if (select == NULL || clear == NULL || insert == NULL || !tern_store_begin (db->bodies, NULL))
    return;

  sqlite3_bind_text (clear, 1, account, -1, SQLITE_STATIC);
  sqlite3_step (clear);

  sqlite3_bind_text (select, 1, account, -1, SQLITE_STATIC);
  while (sqlite3_step (select) == SQLITE_ROW)
    {
      sqlite3_bind_text (insert, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 2, tern_store_column_text (select, 0), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (insert, 3, sqlite3_column_int (select, 1));
      sqlite3_step (insert);
      sqlite3_reset (insert);
    }

  if (!tern_store_commit (db->bodies, NULL))
    tern_store_rollback (db->bodies);
}

/**
 * tern_store_folder_meta_role:
 *
 * Returns: the role the bodies database remembers for a folder.
 */
TernFolderRole
tern_store_folder_meta_role (TernStoreDb *db,
                             const char  *account,
                             const char  *path)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  stmt = tern_store_prepare (db->bodies,
                             "SELECT role FROM folder_meta WHERE account = ? AND path = ?", NULL);
  if (stmt == NULL)
    return TERN_FOLDER_ROLE_NONE;

  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return TERN_FOLDER_ROLE_NONE;

  return sqlite3_column_int (stmt, 0);
}

static GArray *
single_id (gint64 id)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_append_val (ids, id);
  return ids;
}

/* Listing */

static void
list_folders_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  const char *account = g_task_get_task_data (task);
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_folder_unref);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  int rc;

  stmt = tern_store_prepare (db->index,
                             "SELECT " TERN_STORE_FOLDER_COLUMNS " FROM folders "
                             "WHERE ?1 IS NULL OR account = ?1 ORDER BY account, path",
                             &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (account != NULL)
    sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (folders, tern_folder_new_from_stmt (stmt));

  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not list folders", &error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&folders), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_list_folders_async:
 * @account: (nullable): an account id, or %NULL for all accounts
 *
 * Lists folders, sorted by account and path.
 */
void
tern_store_list_folders_async (TernStore           *self,
                               const char          *account,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_list_folders_async);
  g_task_set_task_data (task, g_strdup (account), g_free);
  tern_store_queue_read (self, task, list_folders_job);
}

/**
 * tern_store_list_folders_finish:
 *
 * Returns: (transfer container) (element-type TernFolder): the folders.
 */
GPtrArray *
tern_store_list_folders_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Creating */

typedef struct
{
  char *account;
  char *path;
  TernFolderRole role;
  gboolean must_be_new;
  gint64 folder_id;
} FolderData;

static void
folder_data_free (FolderData *data)
{
  g_free (data->account);
  g_free (data->path);
  g_free (data);
}

static void
create_folder_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GArray) ids = NULL;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  folder = tern_store_folder_ensure (db->index, data->account, data->path, data->role,
                                     data->must_be_new, &error);
  if (folder == NULL || !tern_store_commit (db->index, &error))
    {
      tern_store_rollback (db->index);
      g_task_return_error (task, error);
      return;
    }

  tern_store_save_folder_meta (db, data->account);

  ids = single_id (tern_folder_get_id (folder));
  tern_store_emit_changed (self, TERN_STORE_CHANGE_FOLDERS, ids, NULL);
  g_task_return_pointer (task, g_steal_pointer (&folder), (GDestroyNotify) tern_folder_unref);
}

static void
queue_folder_creation (TernStore           *self,
                       const char          *account,
                       const char          *path,
                       TernFolderRole       role,
                       gboolean             must_be_new,
                       gpointer             source_tag,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  data = g_new0 (FolderData, 1);
  data->account = g_strdup (account);
  data->path = g_strdup (path);
  data->role = role;
  data->must_be_new = must_be_new;
  g_task_set_task_data (task, data, (GDestroyNotify) folder_data_free);

  tern_store_queue_write (self, task, create_folder_job);
}

/**
 * tern_store_create_folder_async:
 * @account: the account, %TERN_LOCAL_ACCOUNT for a folder on this computer
 * @path: the folder's path, levels separated by '/'
 * @role: what the folder is for
 *
 * Creates a folder, and its missing parents.  A folder that exists already
 * is an error (%TERN_STORE_ERROR_EXISTS).
 */
void
tern_store_create_folder_async (TernStore           *self,
                                const char          *account,
                                const char          *path,
                                TernFolderRole       role,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);

  queue_folder_creation (self, account, path, role, TRUE, tern_store_create_folder_async,
                         cancellable, callback, user_data);
}

/**
 * tern_store_create_folder_finish:
 *
 * Returns: (transfer full): the new folder.
 */
TernFolder *
tern_store_create_folder_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_store_ensure_folder_async:
 *
 * Like tern_store_create_folder_async(), but an existing folder is found
 * rather than refused.
 */
void
tern_store_ensure_folder_async (TernStore           *self,
                                const char          *account,
                                const char          *path,
                                TernFolderRole       role,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);

  queue_folder_creation (self, account, path, role, FALSE, tern_store_ensure_folder_async,
                         cancellable, callback, user_data);
}

/**
 * tern_store_ensure_folder_finish:
 *
 * Returns: (transfer full): the folder.
 */
TernFolder *
tern_store_ensure_folder_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Renaming */

static void
rename_folder_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(TernFolder) clash = NULL;
  g_autoptr(TernFolder) renamed = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autofree char *old_prefix = NULL;
  g_autofree char *parent_path = NULL;
  const char *slash;
  gint64 parent_id = 0;
  GError *error = NULL;
  int rc;

  if (!path_is_valid (data->path, &error) || !tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  folder = tern_store_folder_load (db->index, data->folder_id, &error);
  if (folder == NULL)
    goto failed;

  if (g_strcmp0 (tern_folder_get_account (folder), TERN_LOCAL_ACCOUNT) != 0)
    {
      g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                   "Only folders on this computer can be renamed here");
      goto failed;
    }

  old_prefix = g_strconcat (tern_folder_get_path (folder), "/", NULL);
  if (g_str_has_prefix (data->path, old_prefix))
    {
      g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                   "A folder cannot move into itself");
      goto failed;
    }

  clash = folder_find (db->index, tern_folder_get_account (folder), data->path, &error);
  if (error != NULL)
    goto failed;
  if (clash != NULL)
    {
      g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_EXISTS,
                   "The folder “%s” exists already", data->path);
      goto failed;
    }

  slash = strrchr (data->path, '/');
  if (slash != NULL)
    {
      g_autoptr(TernFolder) parent = NULL;

      parent_path = g_strndup (data->path, slash - data->path);
      parent = tern_store_folder_ensure (db->index, tern_folder_get_account (folder), parent_path,
                                         TERN_FOLDER_ROLE_NONE, FALSE, &error);
      if (parent == NULL)
        goto failed;
      parent_id = tern_folder_get_id (parent);
    }

  /* The folder and everything under it take the new path. */
  stmt = tern_store_prepare (db->index,
                             "UPDATE folders SET "
                             "  path = ?1 || substr (path, length (?2) + 1), "
                             "  name = CASE WHEN id = ?3 THEN ?4 ELSE name END, "
                             "  parent_id = CASE WHEN id = ?3 THEN ?5 ELSE parent_id END "
                             "WHERE account = ?6 AND (id = ?3 OR substr (path, 1, length (?2) + 1) = ?2 || '/')",
                             &error);
  if (stmt == NULL)
    goto failed;
  sqlite3_bind_text (stmt, 1, data->path, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, tern_folder_get_path (folder), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, data->folder_id);
  sqlite3_bind_text (stmt, 4, slash != NULL ? slash + 1 : data->path, -1, SQLITE_STATIC);
  if (parent_id > 0)
    sqlite3_bind_int64 (stmt, 5, parent_id);
  sqlite3_bind_text (stmt, 6, tern_folder_get_account (folder), -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not rename the folder", &error);
      goto failed;
    }

  /* The bodies remember their folder's path, for a rebuild. */
  {
    g_autoptr(sqlite3_stmt) meta = NULL;

    meta = tern_store_prepare (db->bodies,
                               "UPDATE body_meta SET path = ?1 || substr (path, length (?2) + 1) "
                               "WHERE account = ?3 AND (path = ?2 OR substr (path, 1, length (?2) + 1) = ?2 || '/')",
                               &error);
    if (meta == NULL)
      goto failed;
    sqlite3_bind_text (meta, 1, data->path, -1, SQLITE_STATIC);
    sqlite3_bind_text (meta, 2, tern_folder_get_path (folder), -1, SQLITE_STATIC);
    sqlite3_bind_text (meta, 3, tern_folder_get_account (folder), -1, SQLITE_STATIC);
    rc = sqlite3_step (meta);
    if (rc != SQLITE_DONE)
      {
        tern_store_sql_error (db->bodies, rc, "Could not rename the folder", &error);
        goto failed;
      }
  }

  renamed = tern_store_folder_load (db->index, data->folder_id, &error);
  if (renamed == NULL || !tern_store_commit (db->index, &error))
    goto failed;

  tern_store_save_folder_meta (db, tern_folder_get_account (folder));

  ids = single_id (data->folder_id);
  tern_store_emit_changed (self, TERN_STORE_CHANGE_FOLDERS, ids, NULL);
  g_task_return_pointer (task, g_steal_pointer (&renamed), (GDestroyNotify) tern_folder_unref);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_rename_folder_async:
 * @folder_id: a folder on this computer
 * @new_path: its new path; subfolders follow
 */
void
tern_store_rename_folder_async (TernStore           *self,
                                gint64               folder_id,
                                const char          *new_path,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_rename_folder_async);
  data = g_new0 (FolderData, 1);
  data->folder_id = folder_id;
  data->path = g_strdup (new_path);
  g_task_set_task_data (task, data, (GDestroyNotify) folder_data_free);
  tern_store_queue_write (self, task, rename_folder_job);
}

/**
 * tern_store_rename_folder_finish:
 *
 * Returns: (transfer full): the renamed folder.
 */
TernFolder *
tern_store_rename_folder_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Deleting */

/* Deletes a folder, its subfolders and their messages, on the writer
 * thread, in transactions of its own. */
static gboolean
delete_folder_tree (TernStore    *self,
                    TernStoreDb  *db,
                    gint64        folder_id,
                    GError      **out_error)
{
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(GArray) folder_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) body_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GError *error = NULL;
  int rc;

  if (!tern_store_begin (db->index, out_error))
    return FALSE;

  folder = tern_store_folder_load (db->index, folder_id, &error);
  if (folder == NULL)
    goto failed;

  select = tern_store_prepare (db->index,
                               /* Deepest first: a parent's row would take its
                                * children with it before their mail is
                                * counted. */
                               "SELECT id FROM folders WHERE account = ?1 AND "
                               "(id = ?2 OR substr (path, 1, length (?3) + 1) = ?3 || '/') "
                               "ORDER BY length (path) DESC",
                               &error);
  if (select == NULL)
    goto failed;
  sqlite3_bind_text (select, 1, tern_folder_get_account (folder), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (select, 2, folder_id);
  sqlite3_bind_text (select, 3, tern_folder_get_path (folder), -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (select, 0);

      g_array_append_val (folder_ids, id);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not delete the folder", &error);
      goto failed;
    }

  for (guint i = 0; i < folder_ids->len; i++)
    {
      g_autoptr(sqlite3_stmt) bodies = NULL;
      g_autoptr(sqlite3_stmt) messages = NULL;
      g_autoptr(sqlite3_stmt) remove = NULL;
      gint64 id = g_array_index (folder_ids, gint64, i);
      guint first_body = body_ids->len;

      bodies = tern_store_prepare (db->index, "SELECT id FROM messages WHERE folder_id = ?",
                                   &error);
      if (bodies == NULL)
        goto failed;
      sqlite3_bind_int64 (bodies, 1, id);
      while ((rc = sqlite3_step (bodies)) == SQLITE_ROW)
        {
          gint64 body_id = sqlite3_column_int64 (bodies, 0);

          g_array_append_val (body_ids, body_id);
        }
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not delete the folder", &error);
          goto failed;
        }

      for (guint j = first_body; j < body_ids->len; j++)
        {
          gint64 body_id = g_array_index (body_ids, gint64, j);
          g_autoptr(GBytes) raw = tern_store_body_get (db, body_id, NULL);

          if (!tern_store_unindex (db, body_id, raw, &error))
            goto failed;
        }

      messages = tern_store_prepare (db->index, "DELETE FROM messages WHERE folder_id = ?", &error);
      if (messages == NULL)
        goto failed;
      sqlite3_bind_int64 (messages, 1, id);
      rc = sqlite3_step (messages);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not delete the folder's messages", &error);
          goto failed;
        }

      remove = tern_store_prepare (db->index, "DELETE FROM folders WHERE id = ?", &error);
      if (remove == NULL)
        goto failed;
      sqlite3_bind_int64 (remove, 1, id);
      rc = sqlite3_step (remove);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not delete the folder", &error);
          goto failed;
        }
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  tern_store_save_folder_meta (db, tern_folder_get_account (folder));

  /* The index no longer knows these messages; their bodies go after it. */
  if (!tern_store_free_bodies (db, body_ids))
    g_warning ("Could not free the bodies of a deleted folder");

  tern_store_emit_changed (self, TERN_STORE_CHANGE_FOLDERS, folder_ids, NULL);
  return TRUE;

failed:
  tern_store_rollback (db->index);
  g_propagate_error (out_error, error);
  return FALSE;
}

static void
delete_folder_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (delete_folder_tree (self, db, data->folder_id, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * tern_store_delete_folder_async:
 *
 * Deletes a folder, its subfolders and all their messages.
 */
void
tern_store_delete_folder_async (TernStore           *self,
                                gint64               folder_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_delete_folder_async);
  data = g_new0 (FolderData, 1);
  data->folder_id = folder_id;
  g_task_set_task_data (task, data, (GDestroyNotify) folder_data_free);
  tern_store_queue_write (self, task, delete_folder_job);
}

gboolean
tern_store_delete_folder_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Forgetting an account */

static void
forget_account_job (TernStore   *self,
                    TernStoreDb *db,
                    GTask       *task)
{
  const char *account = g_task_get_task_data (task);
  static const char *const forget[] = {
    "DELETE FROM outbox WHERE account = ?",
    "DELETE FROM pending_actions WHERE account = ?",
    "DELETE FROM pop3_uidls WHERE account = ?",
  };
  g_autoptr(GArray) body_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) top_folders = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(sqlite3_stmt) select = NULL;
  GError *error = NULL;
  int rc;

  /* Its folders, with their subfolders and mail, each top one at a time. */
  select = tern_store_prepare (db->index,
                               "SELECT id FROM folders AS f WHERE account = ?1 AND NOT EXISTS "
                               "(SELECT 1 FROM folders AS p WHERE p.account = ?1 AND "
                               "substr (f.path, 1, length (p.path) + 1) = p.path || '/')",
                               &error);
  if (select == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_text (select, 1, account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (select, 0);

      g_array_append_val (top_folders, id);
    }
  g_clear_pointer (&select, sqlite3_finalize);
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not forget the account", &error);
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < top_folders->len; i++)
    {
      if (!delete_folder_tree (self, db, g_array_index (top_folders, gint64, i), &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* Its unsent mail: the outbox rows and the messages the Outbox folder
   * of this computer shows for them. */
  select = tern_store_prepare (db->index, "SELECT body_id FROM outbox WHERE account = ?", &error);
  if (select == NULL)
    goto failed;
  sqlite3_bind_text (select, 1, account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (select, 0);

      g_array_append_val (body_ids, id);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not forget the account", &error);
      goto failed;
    }

  for (guint i = 0; i < body_ids->len; i++)
    {
      gint64 id = g_array_index (body_ids, gint64, i);
      g_autoptr(sqlite3_stmt) remove = NULL;
      g_autoptr(GBytes) raw = tern_store_body_get (db, id, NULL);

      if (!tern_store_unindex (db, id, raw, &error))
        goto failed;
      remove = tern_store_prepare (db->index,
                                   "DELETE FROM messages WHERE id = ? AND folder_id IN "
                                   "(SELECT id FROM folders WHERE account = ? AND path = ?)",
                                   &error);
      if (remove == NULL)
        goto failed;
      sqlite3_bind_int64 (remove, 1, id);
      sqlite3_bind_text (remove, 2, TERN_LOCAL_ACCOUNT, -1, SQLITE_STATIC);
      sqlite3_bind_text (remove, 3, TERN_OUTBOX_FOLDER, -1, SQLITE_STATIC);
      rc = sqlite3_step (remove);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not forget the account", &error);
          goto failed;
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (forget); i++)
    {
      g_autoptr(sqlite3_stmt) stmt = tern_store_prepare (db->index, forget[i], &error);

      if (stmt == NULL)
        goto failed;
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not forget the account", &error);
          goto failed;
        }
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  /* The bodies go once the index no longer names them; a failure leaves
   * only unused bytes. */
  tern_store_free_bodies (db, body_ids);

  tern_store_pop3_forget_kept (db, account);
  tern_store_save_folder_meta (db, account);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_forget_account_async:
 * @account: an account's id
 *
 * Forgets what the store keeps for an account: its folders, with their
 * subfolders and mail, unsent mail in the outbox, changes queued for its
 * server, and what POP3 downloads remember.  Mail on the server is not
 * touched.
 */
void
tern_store_forget_account_async (TernStore           *self,
                                 const char          *account,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_forget_account_async);
  g_task_set_task_data (task, g_strdup (account), g_free);
  tern_store_queue_write (self, task, forget_account_job);
}

gboolean
tern_store_forget_account_finish (TernStore     *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
