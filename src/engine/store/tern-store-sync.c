/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tern-message-flags.h"
#include "tern-mime-message.h"
#include "tern-store-private.h"
#include "tern-store-sync.h"

/*
 * The store's side of folder sync.
 *
 * Messages known by their headers only have an id taken from the bodies
 * database's sequence (so no later body can take it) but no body yet.
 * Their search entry is made from their row (subject, sender, recipients),
 * so that it can be taken out again exactly when the body arrives or the
 * message goes: the search index keeps no text of its own.
 *
 * The offline queue lives in pending_actions.  An action changes the index
 * at once and is queued in the same transaction; a move takes the message
 * into its new folder without a UID and keeps the old UID in the action,
 * which is what the server needs, and what keeps a resync from fetching
 * the message again before the action is replayed.
 */

#define SYNC_FOLDER_COLUMNS \
  "id, account, path, remote_name, delimiter, role, subscribed, selectable, " \
  "coalesce (uidvalidity, 0), coalesce (uidnext, 0), coalesce (highestmodseq, 0), total, unread"

#define ACTION_COLUMNS \
  "id, account, kind, coalesce (folder_id, 0), message_ids, uids, target_id, flags_add, " \
  "flags_remove, attempts, last_error, argument"

static GArray *
id_array_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (gint64));
}

static GArray *
uid_array_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (guint32));
}

/* Types */

TernRemoteFolder *
tern_remote_folder_new (const char *name,
                        const char *remote_name,
                        char        delimiter)
{
  TernRemoteFolder *folder = g_new0 (TernRemoteFolder, 1);

  folder->name = g_strdup (name);
  folder->remote_name = g_strdup (remote_name != NULL ? remote_name : name);
  folder->delimiter = delimiter;
  folder->subscribed = TRUE;
  folder->selectable = TRUE;

  return folder;
}

void
tern_remote_folder_free (TernRemoteFolder *folder)
{
  if (folder == NULL)
    return;

  g_free (folder->name);
  g_free (folder->remote_name);
  g_free (folder);
}

void
tern_sync_folder_free (TernSyncFolder *folder)
{
  if (folder == NULL)
    return;

  g_free (folder->account);
  g_free (folder->path);
  g_free (folder->remote_name);
  g_free (folder);
}

void
tern_uid_map_free (TernUidMap *map)
{
  if (map == NULL)
    return;

  g_clear_pointer (&map->entries, g_array_unref);
  g_clear_pointer (&map->pending_uids, g_array_unref);
  g_free (map);
}

/**
 * tern_uid_map_lookup:
 *
 * Returns: (transfer none) (nullable): the entry of @uid, found by
 *   bisection.
 */
TernUidEntry *
tern_uid_map_lookup (TernUidMap *map,
                     guint32     uid)
{
  guint low = 0;
  guint high = map->entries->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      TernUidEntry *entry = &g_array_index (map->entries, TernUidEntry, middle);

      if (entry->uid == uid)
        return entry;
      if (entry->uid < uid)
        low = middle + 1;
      else
        high = middle;
    }

  return NULL;
}

TernHeaderMessage *
tern_header_message_new (GBytes  *header,
                         guint32  uid,
                         guint    flags,
                         gint64   internal_date,
                         gint64   size)
{
  TernHeaderMessage *message = g_new0 (TernHeaderMessage, 1);

  message->header = g_bytes_ref (header);
  message->uid = uid;
  message->flags = flags;
  message->internal_date = internal_date;
  message->size = size;

  return message;
}

/**
 * tern_header_message_prepare:
 *
 * Parses the header section and makes its search words, off the store's
 * writer thread.  Optional; callable from any thread, once.
 */
void
tern_header_message_prepare (TernHeaderMessage *message)
{
  gsize size;
  const guint8 *data;

  if (message->parsed != NULL)
    return;

  data = g_bytes_get_data (message->header, &size);
  message->parsed = tern_mime_message_parse_header_section (data, size);
  message->fts = tern_store_fts_text_new (message->parsed);
}

void
tern_header_message_free (TernHeaderMessage *message)
{
  if (message == NULL)
    return;

  g_clear_pointer (&message->header, g_bytes_unref);
  g_clear_pointer ((TernMimeMessage **) &message->parsed, tern_mime_message_unref);
  g_clear_pointer ((TernFtsText **) &message->fts, tern_store_fts_text_free);
  g_free (message->keywords);
  g_free (message);
}

TernFlagUpdate *
tern_flag_update_new (guint32     uid,
                      guint       flags,
                      const char *keywords,
                      gint64      modseq)
{
  TernFlagUpdate *update = g_new0 (TernFlagUpdate, 1);

  update->uid = uid;
  update->flags = flags;
  update->keywords = keywords != NULL && *keywords != '\0' ? g_strdup (keywords) : NULL;
  update->modseq = modseq;

  return update;
}

void
tern_flag_update_free (TernFlagUpdate *update)
{
  if (update == NULL)
    return;

  g_free (update->keywords);
  g_free (update);
}

const char *
tern_action_kind_to_string (TernActionKind kind)
{
  switch (kind)
    {
    case TERN_ACTION_SET_FLAGS:
      return "flags";
    case TERN_ACTION_MOVE:
      return "move";
    case TERN_ACTION_COPY:
      return "copy";
    case TERN_ACTION_DELETE:
      return "delete";
    case TERN_ACTION_ARCHIVE:
      return "archive";
    case TERN_ACTION_APPEND:
      return "append";
    default:
      return "unknown";
    }
}

void
tern_pending_action_free (TernPendingAction *action)
{
  if (action == NULL)
    return;

  g_free (action->account);
  g_clear_pointer (&action->message_ids, g_array_unref);
  g_clear_pointer (&action->uids, g_array_unref);
  g_free (action->last_error);
  g_free (action->argument);
  g_free (action);
}

/**
 * tern_store_path_from_remote:
 * @name: a server's folder name, in UTF-8
 * @delimiter: its hierarchy delimiter, or '\0'
 *
 * The store keeps '/' between levels.  A '/' inside one level of a server
 * whose delimiter is another character becomes a division slash (U+2215),
 * which looks the same and keeps the levels apart.
 *
 * Returns: (transfer full): the store path.
 */
char *
tern_store_path_from_remote (const char *name,
                             char        delimiter)
{
  GString *path = g_string_new (NULL);
  gboolean level_start = TRUE;

  for (const char *p = name; *p != '\0'; p++)
    {
      if (delimiter != '\0' && *p == delimiter)
        {
          level_start = TRUE;
          continue;
        }

      if (level_start && path->len > 0)
        g_string_append_c (path, '/');
      level_start = FALSE;

      if (*p == '/')
        g_string_append (path, "\xe2\x88\x95");
      else
        g_string_append_c (path, *p);
    }

  if (path->len == 0)
    g_string_append (path, "\xe2\x88\x95");

  return g_string_free (path, FALSE);
}

/* Lists of numbers, as pending_actions keeps them: decimal, space
 * separated. */

static char *
join_int64 (GArray *values)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < values->len; i++)
    g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i > 0 ? " " : "",
                            g_array_index (values, gint64, i));

  return g_string_free (text, FALSE);
}

static char *
join_uint32 (GArray *values)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < values->len; i++)
    g_string_append_printf (text, "%s%u", i > 0 ? " " : "", g_array_index (values, guint32, i));

  return g_string_free (text, FALSE);
}

static GArray *
split_int64 (const char *text)
{
  GArray *values = id_array_new ();
  const char *p = text != NULL ? text : "";

  while (*p != '\0')
    {
      char *end = NULL;
      gint64 value = g_ascii_strtoll (p, &end, 10);

      if (end == p)
        {
          p++;
          continue;
        }
      g_array_append_val (values, value);
      p = end;
    }

  return values;
}

static GArray *
split_uint32 (const char *text)
{
  g_autoptr(GArray) wide = split_int64 (text);
  GArray *values = uid_array_new ();

  for (guint i = 0; i < wide->len; i++)
    {
      guint32 value = (guint32) g_array_index (wide, gint64, i);

      g_array_append_val (values, value);
    }

  return values;
}

static int
compare_uint32 (gconstpointer a,
                gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

static gboolean
step_done (sqlite3       *db,
           sqlite3_stmt  *stmt,
           const char    *what,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return tern_store_sql_error (db, rc, what, error);

  return TRUE;
}

static TernSyncFolder *
sync_folder_from_stmt (sqlite3_stmt *stmt)
{
  TernSyncFolder *folder = g_new0 (TernSyncFolder, 1);
  const char *delimiter = tern_store_column_text (stmt, 4);

  folder->id = sqlite3_column_int64 (stmt, 0);
  folder->account = g_strdup (tern_store_column_text (stmt, 1));
  folder->path = g_strdup (tern_store_column_text (stmt, 2));
  folder->remote_name = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  folder->delimiter = delimiter[0];
  folder->role = sqlite3_column_int (stmt, 5);
  folder->subscribed = sqlite3_column_int (stmt, 6) != 0;
  folder->selectable = sqlite3_column_int (stmt, 7) != 0;
  folder->uidvalidity = sqlite3_column_int64 (stmt, 8);
  folder->uidnext = sqlite3_column_int64 (stmt, 9);
  folder->highestmodseq = sqlite3_column_int64 (stmt, 10);
  folder->total = sqlite3_column_int64 (stmt, 11);
  folder->unread = sqlite3_column_int64 (stmt, 12);

  return folder;
}

static GPtrArray *
read_sync_folders (sqlite3     *db,
                   const char  *account,
                   GError     **error)
{
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_sync_folder_free);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = tern_store_prepare (db,
                             "SELECT " SYNC_FOLDER_COLUMNS " FROM folders "
                             "WHERE ?1 IS NULL OR account = ?1 ORDER BY account, path",
                             error);
  if (stmt == NULL)
    return NULL;
  if (account != NULL)
    sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (folders, sync_folder_from_stmt (stmt));
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db, rc, "Could not list folders", error);
      return NULL;
    }

  return g_steal_pointer (&folders);
}

/* The search entry of a message known by its headers only: made from its
 * row, so that the same words can be taken out again. */
static gboolean
header_fts_write (TernStoreDb   *db,
                  gint64         id,
                  sqlite3_stmt  *row,
                  gboolean       remove,
                  GError       **error)
{
  g_autofree char *subject = NULL;
  g_autofree char *sender = NULL;
  g_autofree char *recipients = NULL;
  g_autofree char *sender_text = NULL;
  g_autofree char *recipients_text = NULL;
  sqlite3_stmt *stmt;

  /* row: subject, from_name, from_address, to_list, cc_list, body_state,
   * bcc_list.  The lists are "Name <address>, …": the same words as the
   * names and addresses ingestion indexes.  Ingestion gives the index each
   * word once (tern_store_fts_words()), so the entry made here, and the one
   * taken out, must too. */
  sender_text = g_strconcat (tern_store_column_text (row, 1), " ",
                             tern_store_column_text (row, 2), NULL);
  recipients_text = g_strconcat (tern_store_column_text (row, 3), " ",
                                 tern_store_column_text (row, 4), " ",
                                 tern_store_column_text (row, 6), NULL);
  subject = tern_store_fts_words (tern_store_column_text (row, 0), -1);
  sender = tern_store_fts_words (sender_text, -1);
  recipients = tern_store_fts_words (recipients_text, -1);

  if (remove)
    stmt = tern_store_db_statement (db, db->index,
                                    "INSERT INTO message_fts (message_fts, rowid, subject, sender, "
                                    "recipients, body, attachments) "
                                    "VALUES ('delete', ?, ?, ?, ?, '', '')",
                                    error);
  else
    stmt = tern_store_db_statement (db, db->index,
                                    "INSERT INTO message_fts (rowid, subject, sender, recipients, "
                                    "body, attachments) VALUES (?, ?, ?, ?, '', '')",
                                    error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, subject, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, sender, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, recipients, -1, SQLITE_STATIC);

  return step_done (db->index, stmt, "Could not update the search index", error);
}

static sqlite3_stmt *
header_row (TernStoreDb  *db,
            gint64        id,
            GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_prepare (db->index,
                             "SELECT subject, from_name, from_address, to_list, cc_list, "
                             "body_state, bcc_list FROM messages WHERE id = ?",
                             error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      sqlite3_finalize (stmt);
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   "There is no message %" G_GINT64_FORMAT, id);
      return NULL;
    }

  return stmt;
}

/* Deletes a message's row and its search entry, in the caller's
 * transaction.  Its body, if any, is for the caller to delete after the
 * commit (its id goes into @bodies). */
static gboolean
remove_message (TernStoreDb  *db,
                gint64        id,
                GArray       *bodies,
                GError      **error)
{
  g_autoptr(sqlite3_stmt) row = NULL;
  g_autoptr(GError) local_error = NULL;
  sqlite3_stmt *stmt;

  row = header_row (db, id, &local_error);
  if (row == NULL)
    {
      if (g_error_matches (local_error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (sqlite3_column_int (row, 5) == TERN_BODY_STATE_COMPLETE)
    {
      g_autoptr(GBytes) raw = tern_store_body_get (db, id, NULL);

      if (!tern_store_unindex (db, id, raw, error))
        return FALSE;
      g_array_append_val (bodies, id);
    }
  else if (!header_fts_write (db, id, row, TRUE, error))
    {
      return FALSE;
    }

  stmt = tern_store_db_statement (db, db->index, "DELETE FROM messages WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);

  return step_done (db->index, stmt, "Could not delete a message", error);
}

static void
add_unique (GArray *ids,
            gint64  id)
{
  for (guint i = 0; i < ids->len; i++)
    {
      if (g_array_index (ids, gint64, i) == id)
        return;
    }
  g_array_append_val (ids, id);
}

static gint64
message_folder (TernStoreDb *db,
                gint64       id)
{
  sqlite3_stmt *stmt = tern_store_db_statement (db, db->index,
                                                "SELECT folder_id FROM messages WHERE id = ?",
                                                NULL);
  gint64 folder = 0;

  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    folder = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  return folder;
}

/* Folders */

typedef struct
{
  char *account;
  GPtrArray *folders;
  gint64 folder_id;
  gint64 uidvalidity;
  gint64 uidnext;
  gint64 highestmodseq;
} FolderData;

static void
folder_data_free (FolderData *data)
{
  g_free (data->account);
  g_clear_pointer (&data->folders, g_ptr_array_unref);
  g_free (data);
}

static GTask *
folder_task_new (TernStore           *self,
                 gpointer             source_tag,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data,
                 FolderData         **out_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  FolderData *data = g_new0 (FolderData, 1);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) folder_data_free);
  *out_data = data;

  return task;
}

static GPtrArray *read_actions (sqlite3     *db,
                                const char  *where,
                                gint64       key,
                                const char  *account,
                                GError     **error);

/* A sent copy waiting for its upload in a folder the server deleted is
 * mail this computer alone has: it moves to the local Sent folder, and
 * its upload goes to whichever Sent folder the account has by then. */
static gboolean
rescue_uploads (TernStoreDb  *db,
                gint64        folder_id,
                GError      **error)
{
  g_autofree char *where = g_strdup_printf ("kind = %d AND (folder_id = ?1 OR folder_id IS NULL)",
                                            TERN_ACTION_APPEND);
  g_autoptr(GPtrArray) actions = read_actions (db->index, where, folder_id, NULL, error);
  g_autoptr(TernFolder) local_sent = NULL;
  g_autoptr(sqlite3_stmt) move = NULL;
  g_autoptr(sqlite3_stmt) retarget = NULL;

  if (actions == NULL)
    return FALSE;
  if (actions->len == 0)
    return TRUE;

  local_sent = tern_store_folder_ensure (db->index, TERN_LOCAL_ACCOUNT, "Sent",
                                         TERN_FOLDER_ROLE_SENT, FALSE, error);
  if (local_sent == NULL)
    return FALSE;
  move = tern_store_prepare (db->index,
                             "UPDATE messages SET folder_id = ?1, folder_role = ?2 "
                             "WHERE id = ?3 AND folder_id = ?4 AND uid IS NULL",
                             error);
  retarget = tern_store_prepare (db->index,
                                 "UPDATE pending_actions SET folder_id = NULL WHERE id = ?",
                                 error);
  if (move == NULL || retarget == NULL)
    return FALSE;

  for (guint i = 0; i < actions->len; i++)
    {
      TernPendingAction *action = g_ptr_array_index (actions, i);

      for (guint j = 0; j < action->message_ids->len; j++)
        {
          sqlite3_reset (move);
          sqlite3_bind_int64 (move, 1, tern_folder_get_id (local_sent));
          sqlite3_bind_int (move, 2, TERN_FOLDER_ROLE_SENT);
          sqlite3_bind_int64 (move, 3, g_array_index (action->message_ids, gint64, j));
          sqlite3_bind_int64 (move, 4, folder_id);
          if (!step_done (db->index, move, "Could not keep a sent message", error))
            return FALSE;
        }
      sqlite3_reset (retarget);
      sqlite3_bind_int64 (retarget, 1, action->id);
      if (!step_done (db->index, retarget, "Could not keep a sent message", error))
        return FALSE;
    }

  return TRUE;
}

static gboolean
delete_folder_rows (TernStoreDb  *db,
                    gint64        folder_id,
                    GArray       *bodies,
                    GError      **error)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) remove = NULL;
  g_autoptr(GArray) ids = id_array_new ();
  int rc;

  if (!rescue_uploads (db, folder_id, error))
    return FALSE;

  select = tern_store_prepare (db->index, "SELECT id FROM messages WHERE folder_id = ?", error);
  if (select == NULL)
    return FALSE;
  sqlite3_bind_int64 (select, 1, folder_id);
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (select, 0);

      g_array_append_val (ids, id);
    }
  if (rc != SQLITE_DONE)
    return tern_store_sql_error (db->index, rc, "Could not delete a folder", error);

  for (guint i = 0; i < ids->len; i++)
    {
      if (!remove_message (db, g_array_index (ids, gint64, i), bodies, error))
        return FALSE;
    }

  remove = tern_store_prepare (db->index,
                               "DELETE FROM pending_actions WHERE folder_id = ?1 OR target_id = ?1",
                               error);
  if (remove == NULL)
    return FALSE;
  sqlite3_bind_int64 (remove, 1, folder_id);
  if (!step_done (db->index, remove, "Could not delete a folder", error))
    return FALSE;
  g_clear_pointer (&remove, sqlite3_finalize);

  remove = tern_store_prepare (db->index, "DELETE FROM folders WHERE id = ?", error);
  if (remove == NULL)
    return FALSE;
  sqlite3_bind_int64 (remove, 1, folder_id);

  return step_done (db->index, remove, "Could not delete a folder", error);
}

static void
update_remote_folders_job (TernStore   *self,
                           TernStoreDb *db,
                           GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GArray) seen_ids = id_array_new ();
  g_autoptr(GArray) gone = id_array_new ();
  g_autoptr(GArray) bodies = id_array_new ();
  g_autoptr(GArray) changed = id_array_new ();
  g_autoptr(sqlite3_stmt) update = NULL;
  g_autoptr(sqlite3_stmt) known = NULL;
  g_autoptr(GPtrArray) result = NULL;
  GError *error = NULL;
  int rc;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  update = tern_store_prepare (db->index,
                               "UPDATE folders SET remote_name = ?2, delimiter = ?3, "
                               "subscribed = ?4, selectable = ?5, "
                               "role = CASE WHEN ?6 != 0 THEN ?6 ELSE role END WHERE id = ?1",
                               &error);
  if (update == NULL)
    goto failed;

  for (guint i = 0; i < data->folders->len; i++)
    {
      TernRemoteFolder *remote = g_ptr_array_index (data->folders, i);
      g_autofree char *path = tern_store_path_from_remote (remote->name, remote->delimiter);
      g_autoptr(TernFolder) folder = NULL;
      char delimiter[2] = { remote->delimiter, '\0' };
      gint64 id;

      folder = tern_store_folder_ensure (db->index, data->account, path, TERN_FOLDER_ROLE_NONE,
                                         FALSE, &error);
      if (folder == NULL)
        goto failed;

      id = tern_folder_get_id (folder);
      sqlite3_bind_int64 (update, 1, id);
      sqlite3_bind_text (update, 2, remote->remote_name, -1, SQLITE_STATIC);
      sqlite3_bind_text (update, 3, delimiter, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (update, 4, remote->subscribed);
      sqlite3_bind_int (update, 5, remote->selectable);
      sqlite3_bind_int (update, 6, remote->role);
      if (!step_done (db->index, update, "Could not update a folder", &error))
        goto failed;
      if (sqlite3_changes (db->index) > 0)
        g_array_append_val (changed, id);

      g_array_append_val (seen_ids, id);
    }
  for (guint i = 0; i < seen_ids->len; i++)
    g_hash_table_add (seen, &g_array_index (seen_ids, gint64, i));

  /* Folders that came from the server and are no longer there go, with
   * their mail: the server deleted them. */
  known = tern_store_prepare (db->index,
                              "SELECT id FROM folders WHERE account = ? AND remote_name IS NOT NULL "
                              "ORDER BY length (path) DESC",
                              &error);
  if (known == NULL)
    goto failed;
  sqlite3_bind_text (known, 1, data->account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (known)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (known, 0);

      if (!g_hash_table_contains (seen, &id))
        g_array_append_val (gone, id);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not list folders", &error);
      goto failed;
    }

  for (guint i = 0; i < gone->len; i++)
    {
      if (!delete_folder_rows (db, g_array_index (gone, gint64, i), bodies, &error))
        goto failed;
      g_array_append_val (changed, g_array_index (gone, gint64, i));
    }

  result = read_sync_folders (db->index, data->account, &error);
  if (result == NULL || !tern_store_commit (db->index, &error))
    goto failed;

  tern_store_free_bodies (db, bodies);
  tern_store_save_folder_meta (db, data->account);

  if (changed->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_FOLDERS, changed, NULL);
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) g_ptr_array_unref);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_update_remote_folders_async:
 * @account: the account
 * @folders: (element-type TernRemoteFolder): every folder the server
 *   listed
 *
 * Makes the account's folders follow a server's LIST: creates the new ones
 * (with their parents), records each one's server name, delimiter, role,
 * subscription and whether it can be selected, and deletes, with their
 * mail, the folders that came from the server and are gone from it.
 * Folders the server never had are left alone.
 */
void
tern_store_update_remote_folders_async (TernStore           *self,
                                        const char          *account,
                                        GPtrArray           *folders,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);
  g_return_if_fail (folders != NULL);

  task = folder_task_new (self, tern_store_update_remote_folders_async, cancellable, callback,
                          user_data, &data);
  data->account = g_strdup (account);
  data->folders = g_ptr_array_ref (folders);

  if (g_strcmp0 (account, TERN_LOCAL_ACCOUNT) == 0)
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                               "The folders on this computer have no server");
      return;
    }

  tern_store_queue_write (self, task, update_remote_folders_job);
}

/**
 * tern_store_update_remote_folders_finish:
 *
 * Returns: (transfer container) (element-type TernSyncFolder): the
 *   account's folders afterwards.
 */
GPtrArray *
tern_store_update_remote_folders_finish (TernStore     *self,
                                         GAsyncResult  *result,
                                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_sync_folders_job (TernStore   *self,
                       TernStoreDb *db,
                       GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  GError *error = NULL;
  GPtrArray *folders = read_sync_folders (db->index, data->account, &error);

  if (folders == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, folders, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_list_sync_folders_async:
 * @account: (nullable): an account, or %NULL for all
 *
 * Lists folders with their sync state.
 */
void
tern_store_list_sync_folders_async (TernStore           *self,
                                    const char          *account,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = folder_task_new (self, tern_store_list_sync_folders_async, cancellable, callback,
                          user_data, &data);
  data->account = g_strdup (account);
  tern_store_queue_read (self, task, list_sync_folders_job);
}

/**
 * tern_store_list_sync_folders_finish:
 *
 * Returns: (transfer container) (element-type TernSyncFolder): the folders.
 */
GPtrArray *
tern_store_list_sync_folders_finish (TernStore     *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
set_folder_state_job (TernStore   *self,
                      TernStoreDb *db,
                      GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) ids = id_array_new ();
  GError *error = NULL;

  stmt = tern_store_prepare (db->index,
                             "UPDATE folders SET "
                             "uidvalidity = CASE WHEN ?2 >= 0 THEN nullif (?2, 0) ELSE uidvalidity END, "
                             "uidnext = CASE WHEN ?3 >= 0 THEN nullif (?3, 0) ELSE uidnext END, "
                             "highestmodseq = CASE WHEN ?4 >= 0 THEN nullif (?4, 0) "
                             "                ELSE highestmodseq END "
                             "WHERE id = ?1",
                             &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->folder_id);
  sqlite3_bind_int64 (stmt, 2, data->uidvalidity);
  sqlite3_bind_int64 (stmt, 3, data->uidnext);
  sqlite3_bind_int64 (stmt, 4, data->highestmodseq);
  if (!step_done (db->index, stmt, "Could not save a folder's state", &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (sqlite3_changes (db->index) == 0)
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                               "There is no folder %" G_GINT64_FORMAT, data->folder_id);
      return;
    }

  g_array_append_val (ids, data->folder_id);
  tern_store_emit_changed (self, TERN_STORE_CHANGE_FOLDERS, ids, NULL);
  g_task_return_boolean (task, TRUE);
}

/**
 * tern_store_set_folder_state_async:
 * @uidvalidity: the new UIDVALIDITY, 0 for unknown, or -1 to keep it
 * @uidnext: the new UIDNEXT, 0 for unknown, or -1 to keep it
 * @highestmodseq: the new HIGHESTMODSEQ, 0 for unknown, or -1 to keep it
 *
 * Saves what a server said of a folder when it was last synced.  Changing
 * UIDVALIDITY here does not touch the messages: see
 * tern_store_reset_folder_async().
 */
void
tern_store_set_folder_state_async (TernStore           *self,
                                   gint64               folder_id,
                                   gint64               uidvalidity,
                                   gint64               uidnext,
                                   gint64               highestmodseq,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = folder_task_new (self, tern_store_set_folder_state_async, cancellable, callback,
                          user_data, &data);
  data->folder_id = folder_id;
  data->uidvalidity = uidvalidity;
  data->uidnext = uidnext;
  data->highestmodseq = highestmodseq;
  tern_store_queue_write (self, task, set_folder_state_job);
}

gboolean
tern_store_set_folder_state_finish (TernStore     *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Pending actions, as the jobs below read them. */
static GPtrArray *
read_actions (sqlite3     *db,
              const char  *where,
              gint64       key,
              const char  *account,
              GError     **error)
{
  g_autoptr(GPtrArray) actions = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_pending_action_free);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = g_strconcat ("SELECT " ACTION_COLUMNS " FROM pending_actions WHERE ",
                                      where, " ORDER BY id", NULL);
  int rc;

  stmt = tern_store_prepare (db, sql, error);
  if (stmt == NULL)
    return NULL;
  if (account != NULL)
    sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64 (stmt, 1, key);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TernPendingAction *action = g_new0 (TernPendingAction, 1);

      action->id = sqlite3_column_int64 (stmt, 0);
      action->account = g_strdup (tern_store_column_text (stmt, 1));
      action->kind = sqlite3_column_int (stmt, 2);
      action->folder_id = sqlite3_column_int64 (stmt, 3);
      action->message_ids = split_int64 (tern_store_column_text (stmt, 4));
      action->uids = split_uint32 (tern_store_column_text (stmt, 5));
      action->target_id = sqlite3_column_int64 (stmt, 6);
      action->flags_add = sqlite3_column_int (stmt, 7);
      action->flags_remove = sqlite3_column_int (stmt, 8);
      action->attempts = sqlite3_column_int (stmt, 9);
      action->last_error = g_strdup ((const char *) sqlite3_column_text (stmt, 10));
      action->argument = g_strdup ((const char *) sqlite3_column_text (stmt, 11));

      /* A damaged row must not pair a message with another's UID.  An
       * upload names messages that have no UID yet. */
      if (action->kind != TERN_ACTION_APPEND &&
          action->message_ids->len != action->uids->len)
        g_array_set_size (action->message_ids, action->uids->len);

      g_ptr_array_add (actions, action);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db, rc, "Could not read the queued actions", error);
      return NULL;
    }

  return g_steal_pointer (&actions);
}

static gboolean
action_takes_message_away (TernActionKind kind)
{
  return kind == TERN_ACTION_MOVE || kind == TERN_ACTION_ARCHIVE || kind == TERN_ACTION_DELETE;
}

static gboolean
action_moves (TernActionKind kind)
{
  return kind == TERN_ACTION_MOVE || kind == TERN_ACTION_ARCHIVE;
}

/* The local copy a queued move made: the message in the target folder,
 * still without a UID. */
static gboolean
is_moved_copy (TernStoreDb       *db,
               TernPendingAction *action,
               gint64             id)
{
  sqlite3_stmt *stmt = tern_store_db_statement (db, db->index,
                                                "SELECT 1 FROM messages "
                                                "WHERE id = ? AND folder_id = ? AND uid IS NULL",
                                                NULL);
  gboolean found;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, action->target_id);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);

  return found;
}

static gboolean
rewrite_action (TernStoreDb       *db,
                TernPendingAction *action,
                GError           **error)
{
  sqlite3_stmt *stmt;

  if (action->uids->len == 0)
    {
      stmt = tern_store_db_statement (db, db->index, "DELETE FROM pending_actions WHERE id = ?",
                                      error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, action->id);
    }
  else
    {
      g_autofree char *ids = join_int64 (action->message_ids);
      g_autofree char *uids = join_uint32 (action->uids);

      stmt = tern_store_db_statement (db, db->index,
                                      "UPDATE pending_actions SET message_ids = ?, uids = ? "
                                      "WHERE id = ?",
                                      error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, ids, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, uids, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 3, action->id);
    }

  return step_done (db->index, stmt, "Could not update the queued actions", error);
}

/*
 * Takes @gone (UIDs of @folder_id the server no longer has) out of the
 * queued actions.  An action left with no message goes; the local copy a
 * queued move made of a gone message goes too, as the server has nothing
 * left to move.
 */
static gboolean
drop_gone_from_actions (TernStoreDb  *db,
                        gint64        folder_id,
                        GHashTable   *gone,
                        GArray       *removed,
                        GArray       *folders,
                        GArray       *bodies,
                        GError      **error)
{
  g_autoptr(GPtrArray) actions = NULL;

  actions = read_actions (db->index, "folder_id = ?1", folder_id, NULL, error);
  if (actions == NULL)
    return FALSE;

  for (guint i = 0; i < actions->len; i++)
    {
      TernPendingAction *action = g_ptr_array_index (actions, i);
      gboolean changed = FALSE;

      for (guint j = action->uids->len; j > 0; j--)
        {
          guint32 uid = g_array_index (action->uids, guint32, j - 1);
          gint64 id = g_array_index (action->message_ids, gint64, j - 1);

          if (!g_hash_table_contains (gone, GUINT_TO_POINTER (uid)))
            continue;

          if (action_moves (action->kind) && is_moved_copy (db, action, id))
            {
              if (!remove_message (db, id, bodies, error))
                return FALSE;
              g_array_append_val (removed, id);
              add_unique (folders, action->target_id);
            }

          g_array_remove_index (action->uids, j - 1);
          g_array_remove_index (action->message_ids, j - 1);
          changed = TRUE;
        }

      if (changed && !rewrite_action (db, action, error))
        return FALSE;
    }

  return TRUE;
}

static void
reset_folder_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  FolderData *data = g_task_get_task_data (task);
  g_autoptr(GArray) removed = id_array_new ();
  g_autoptr(GArray) folders = id_array_new ();
  g_autoptr(GArray) bodies = id_array_new ();
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) update = NULL;
  GError *error = NULL;
  int rc;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_array_append_val (folders, data->folder_id);

  /* Queued actions on the folder name UIDs that mean nothing now.  The
   * local copies queued moves made go too: the server still has those
   * messages in this folder, and they come back with it. */
  actions = read_actions (db->index, "folder_id = ?1", data->folder_id, NULL, &error);
  if (actions == NULL)
    goto failed;
  for (guint i = 0; i < actions->len; i++)
    {
      TernPendingAction *action = g_ptr_array_index (actions, i);

      /* An upload names no UID: its message exists here only, stays, and
       * still goes to the server. */
      if (action->kind == TERN_ACTION_APPEND)
        continue;

      for (guint j = 0; action_moves (action->kind) && j < action->message_ids->len; j++)
        {
          gint64 id = g_array_index (action->message_ids, gint64, j);

          if (!is_moved_copy (db, action, id))
            continue;
          if (!remove_message (db, id, bodies, &error))
            goto failed;
          g_array_append_val (removed, id);
          add_unique (folders, action->target_id);
        }

      g_array_set_size (action->uids, 0);
      if (!rewrite_action (db, action, &error))
        goto failed;
    }

  /* The server's messages go; what only this computer has (no UID: a
   * draft not yet uploaded, a message moved in and not yet replayed)
   * stays. */
  select = tern_store_prepare (db->index,
                               "SELECT id FROM messages WHERE folder_id = ? AND uid IS NOT NULL",
                               &error);
  if (select == NULL)
    goto failed;
  sqlite3_bind_int64 (select, 1, data->folder_id);
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (select, 0);

      g_array_append_val (removed, id);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not reset a folder", &error);
      goto failed;
    }
  for (guint i = 0; i < removed->len; i++)
    {
      if (!remove_message (db, g_array_index (removed, gint64, i), bodies, &error))
        goto failed;
    }

  update = tern_store_prepare (db->index,
                               "UPDATE folders SET uidvalidity = nullif (?2, 0), uidnext = NULL, "
                               "highestmodseq = NULL WHERE id = ?1",
                               &error);
  if (update == NULL)
    goto failed;
  sqlite3_bind_int64 (update, 1, data->folder_id);
  sqlite3_bind_int64 (update, 2, data->uidvalidity);
  if (!step_done (db->index, update, "Could not reset a folder", &error))
    goto failed;
  if (sqlite3_changes (db->index) == 0)
    {
      g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   "There is no folder %" G_GINT64_FORMAT, data->folder_id);
      goto failed;
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  tern_store_free_bodies (db, bodies);

  if (removed->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_REMOVED, folders, removed);
  tern_store_emit_changed (self, TERN_STORE_CHANGE_FOLDERS, folders, NULL);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_reset_folder_async:
 * @uidvalidity: the server's new UIDVALIDITY
 *
 * Starts a folder again after its UIDVALIDITY changed: its messages from
 * the server go (the next sync fetches them again), with the queued
 * actions on them; what exists only here stays, as do other folders and
 * their queued actions.
 */
void
tern_store_reset_folder_async (TernStore           *self,
                               gint64               folder_id,
                               gint64               uidvalidity,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  FolderData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = folder_task_new (self, tern_store_reset_folder_async, cancellable, callback, user_data,
                          &data);
  data->folder_id = folder_id;
  data->uidvalidity = uidvalidity;
  tern_store_queue_write (self, task, reset_folder_job);
}

gboolean
tern_store_reset_folder_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The UID map */

typedef struct
{
  gint64 folder_id;
  guint32 after_uid;
  guint limit;
  gint64 since;
  GPtrArray *messages;
  GPtrArray *updates;
  GArray *ids;
  GArray *uids;
  gint64 highestmodseq;
} MessagesData;

static void
messages_data_free (MessagesData *data)
{
  g_clear_pointer (&data->messages, g_ptr_array_unref);
  g_clear_pointer (&data->updates, g_ptr_array_unref);
  g_clear_pointer (&data->ids, g_array_unref);
  g_clear_pointer (&data->uids, g_array_unref);
  g_free (data);
}

static GTask *
messages_task_new (TernStore           *self,
                   gint64               folder_id,
                   gpointer             source_tag,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data,
                   MessagesData       **out_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  MessagesData *data = g_new0 (MessagesData, 1);

  g_task_set_source_tag (task, source_tag);
  data->folder_id = folder_id;
  g_task_set_task_data (task, data, (GDestroyNotify) messages_data_free);
  *out_data = data;

  return task;
}

static GArray *
pending_uids (TernStoreDb  *db,
              gint64        folder_id,
              gboolean      taken_away,
              GError      **error)
{
  g_autoptr(GPtrArray) actions = read_actions (db->index, "folder_id = ?1", folder_id, NULL,
                                               error);
  g_autoptr(GArray) uids = uid_array_new ();

  if (actions == NULL)
    return NULL;

  for (guint i = 0; i < actions->len; i++)
    {
      TernPendingAction *action = g_ptr_array_index (actions, i);

      if (taken_away ? action_takes_message_away (action->kind)
                     : action->kind == TERN_ACTION_SET_FLAGS)
        g_array_append_vals (uids, action->uids->data, action->uids->len);
    }
  g_array_sort (uids, compare_uint32);

  return g_steal_pointer (&uids);
}

static void
get_uid_map_job (TernStore   *self,
                 TernStoreDb *db,
                 GTask       *task)
{
  MessagesData *data = g_task_get_task_data (task);
  g_autoptr(TernUidMap) map = g_new0 (TernUidMap, 1);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  int rc;

  map->entries = g_array_new (FALSE, FALSE, sizeof (TernUidEntry));

  stmt = tern_store_prepare (db->index,
                             "SELECT uid, flags, id, coalesce (modseq, 0) FROM messages "
                             "WHERE folder_id = ? AND uid > ? ORDER BY uid LIMIT ?",
                             &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->folder_id);
  sqlite3_bind_int64 (stmt, 2, data->after_uid);
  sqlite3_bind_int64 (stmt, 3, data->limit > 0 ? (gint64) data->limit : -1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TernUidEntry entry;

      entry.uid = (guint32) sqlite3_column_int64 (stmt, 0);
      entry.flags = sqlite3_column_int (stmt, 1);
      entry.id = sqlite3_column_int64 (stmt, 2);
      entry.modseq = sqlite3_column_int64 (stmt, 3);
      g_array_append_val (map->entries, entry);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not read a folder's UIDs", &error);
      g_task_return_error (task, error);
      return;
    }

  map->pending_uids = pending_uids (db, data->folder_id, TRUE, &error);
  if (map->pending_uids == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&map), (GDestroyNotify) tern_uid_map_free);
}

/**
 * tern_store_get_uid_map_async:
 * @folder_id: the folder
 * @after_uid: where a page starts: the UIDs above it
 * @limit: the most entries, or 0 for all
 *
 * Reads a folder's UIDs with their ids, flags and MODSEQs, sorted by UID:
 * a compact array a resync diffs against the server's (about 24 bytes a
 * message).
 */
void
tern_store_get_uid_map_async (TernStore           *self,
                              gint64               folder_id,
                              guint32              after_uid,
                              guint                limit,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MessagesData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = messages_task_new (self, folder_id, tern_store_get_uid_map_async, cancellable, callback,
                            user_data, &data);
  data->after_uid = after_uid;
  data->limit = limit;
  tern_store_queue_read (self, task, get_uid_map_job);
}

/**
 * tern_store_get_uid_map_finish:
 *
 * Returns: (transfer full): the map.
 */
TernUidMap *
tern_store_get_uid_map_finish (TernStore     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Headers */

/*
 * Takes @count new message ids from the bodies database, which hands out
 * every message id (AUTOINCREMENT: an id is never given twice, even after
 * its row is gone).  A message known by its headers only has no body row
 * yet, so its id is taken by moving the table's sequence on by @count in
 * one statement: the next rows the bodies table gets are numbered above
 * them, as SQLite numbers an AUTOINCREMENT row above both the sequence and
 * the largest id in the table.
 */
static gboolean
reserve_ids (TernStoreDb  *db,
             guint         count,
             GArray       *ids,
             GError      **error)
{
  sqlite3_stmt *last;
  sqlite3_stmt *update;
  sqlite3_stmt *insert;
  gint64 base = 0;
  int rc;

  if (!tern_store_begin (db->bodies, error))
    return FALSE;

  last = tern_store_db_statement (db, db->bodies,
                                  "SELECT max (coalesce ((SELECT seq FROM sqlite_sequence "
                                  "                       WHERE name = 'bodies'), 0), "
                                  "            coalesce ((SELECT max (id) FROM bodies), 0))",
                                  error);
  update = tern_store_db_statement (db, db->bodies,
                                    "UPDATE sqlite_sequence SET seq = ? WHERE name = 'bodies'",
                                    error);
  insert = tern_store_db_statement (db, db->bodies,
                                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('bodies', ?)",
                                    error);
  if (last == NULL || update == NULL || insert == NULL)
    goto failed;

  rc = sqlite3_step (last);
  if (rc == SQLITE_ROW)
    base = sqlite3_column_int64 (last, 0);
  sqlite3_reset (last);
  if (rc != SQLITE_ROW)
    {
      tern_store_sql_error (db->bodies, rc, "Could not take message ids", error);
      goto failed;
    }

  /* The sequence row exists once the table has had a row. */
  sqlite3_bind_int64 (update, 1, base + count);
  if (!step_done (db->bodies, update, "Could not take message ids", error))
    goto failed;
  if (sqlite3_changes (db->bodies) == 0)
    {
      sqlite3_bind_int64 (insert, 1, base + count);
      if (!step_done (db->bodies, insert, "Could not take message ids", error))
        goto failed;
    }

  if (!tern_store_commit (db->bodies, error))
    goto failed;

  for (guint i = 1; i <= count; i++)
    {
      gint64 id = base + i;

      g_array_append_val (ids, id);
    }

  return TRUE;

failed:
  tern_store_rollback (db->bodies);
  return FALSE;
}

static gint64
find_uid (TernStoreDb  *db,
          gint64        folder_id,
          guint32       uid)
{
  sqlite3_stmt *stmt = tern_store_db_statement (db, db->index,
                                                "SELECT id FROM messages "
                                                "WHERE folder_id = ? AND uid = ?",
                                                NULL);
  gint64 id = 0;

  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, uid);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  return id;
}

/* Whether the folder has any message with a UID in [@first, @last]: a
 * folder synced for the first time has none, and its new messages need
 * not be looked up one by one.  Errs towards TRUE. */
static gboolean
has_uid_in (TernStoreDb *db,
            gint64       folder_id,
            guint32      first,
            guint32      last)
{
  sqlite3_stmt *stmt = tern_store_db_statement (db, db->index,
                                                "SELECT 1 FROM messages WHERE folder_id = ? "
                                                "AND uid IS NOT NULL "
                                                "AND uid BETWEEN ? AND ? LIMIT 1",
                                                NULL);
  int rc;

  if (stmt == NULL)
    return TRUE;
  sqlite3_bind_int64 (stmt, 1, folder_id);
  sqlite3_bind_int64 (stmt, 2, first);
  sqlite3_bind_int64 (stmt, 3, last);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);

  return rc != SQLITE_DONE;
}

/* Messages per transaction: a first sync writes the fetched batches that
 * wait for the writer in one commit. */
#define HEADER_BATCH 4000

static void
add_headers_job (TernStore   *self,
                 TernStoreDb *db,
                 GTask       *task)
{
  MessagesData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GArray) result = id_array_new ();
  g_autoptr(GArray) added = id_array_new ();
  g_autoptr(GArray) folder_ids = id_array_new ();
  GError *error = NULL;

  folder = tern_store_folder_load (db->index, data->folder_id, &error);
  if (folder == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_array_append_val (folder_ids, data->folder_id);

  for (guint first = 0; first < data->messages->len; first += HEADER_BATCH)
    {
      guint count = MIN (HEADER_BATCH, data->messages->len - first);
      g_autoptr(GArray) fresh = id_array_new ();
      g_autoptr(GArray) existing = id_array_new ();
      g_autoptr(TernAddressTally) addresses = tern_address_tally_new ();
      guint n_new = 0;
      guint unread = 0;
      guint next = 0;
      guint32 low = G_MAXUINT32;
      guint32 high = 0;
      gboolean look_up;

      for (guint i = first; i < first + count; i++)
        {
          TernHeaderMessage *message = g_ptr_array_index (data->messages, i);

          if (message->uid > 0)
            {
              low = MIN (low, message->uid);
              high = MAX (high, message->uid);
            }
        }
      look_up = high > 0 && has_uid_in (db, data->folder_id, low, high);

      for (guint i = first; i < first + count; i++)
        {
          TernHeaderMessage *message = g_ptr_array_index (data->messages, i);
          gint64 id = look_up && message->uid > 0 ? find_uid (db, data->folder_id, message->uid)
                                                  : 0;

          g_array_append_val (existing, id);
          if (id == 0)
            n_new++;
        }

      if (n_new > 0 && !reserve_ids (db, n_new, fresh, &error))
        goto failed;

      if (!tern_store_begin (db->index, &error))
        goto failed;

      for (guint i = 0; i < count; i++)
        {
          TernHeaderMessage *message = g_ptr_array_index (data->messages, first + i);
          gint64 id = g_array_index (existing, gint64, i);
          GPtrArray *from;

          if (id != 0)
            {
              g_array_append_val (result, id);
              continue;
            }

          id = g_array_index (fresh, gint64, next++);
          tern_header_message_prepare (message);

          /* The row is made as for any message, from the header section.
           * Its search entry then holds only words its row keeps (one
           * sender, the recipients, the subject), so that it can be taken
           * out again from the row alone; a message with several senders
           * gets its entry made again from the row. */
          if (!tern_store_ingest_header (self, db, folder, id, message, addresses, &error))
            goto rollback;

          from = tern_mime_message_get_from (message->parsed);
          if (from != NULL && from->len > 1)
            {
              g_autoptr(sqlite3_stmt) row = NULL;

              if (!tern_store_unindex (db, id, message->header, &error))
                goto rollback;
              row = header_row (db, id, &error);
              if (row == NULL || !header_fts_write (db, id, row, FALSE, &error))
                goto rollback;
            }

          /* Done with: the parsed header goes here, not on the thread
           * that reads the server. */
          g_clear_pointer ((TernMimeMessage **) &message->parsed, tern_mime_message_unref);
          g_clear_pointer ((TernFtsText **) &message->fts, tern_store_fts_text_free);

          if ((message->flags & (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0)
            unread++;
          g_array_append_val (result, id);
          g_array_append_val (added, id);
        }

      if (!tern_store_write_address_tally (db, addresses, &error) ||
          !tern_store_count_added (db, data->folder_id, n_new, unread, &error) ||
          !tern_store_commit (db->index, &error))
        goto rollback;
    }

  if (added->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, added);
  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) g_array_unref);
  return;

rollback:
  tern_store_rollback (db->index);
failed:
  if (added->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, added);
  g_prefix_error (&error, "%u of %u messages were added: ", added->len, data->messages->len);
  g_task_return_error (task, error);
}

/**
 * tern_store_add_headers_async:
 * @folder_id: the server folder
 * @messages: (element-type TernHeaderMessage): the messages
 *
 * Adds messages known by their headers only, in transactions of a few
 * hundred: they are listed, found by subject and addresses, and joined to
 * their conversations like any other; their body state is
 * %TERN_BODY_STATE_NONE until tern_store_attach_bodies_async().  A UID
 * the folder has already is left as it is.
 */
void
tern_store_add_headers_async (TernStore           *self,
                              gint64               folder_id,
                              GPtrArray           *messages,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MessagesData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (messages != NULL);

  task = messages_task_new (self, folder_id, tern_store_add_headers_async, cancellable, callback,
                            user_data, &data);
  data->messages = g_ptr_array_ref (messages);
  tern_store_queue_write (self, task, add_headers_job);
}

/**
 * tern_store_add_headers_finish:
 *
 * Returns: (transfer full) (element-type gint64): the messages' ids, in
 *   the order given (the existing id for a UID already known).
 */
GArray *
tern_store_add_headers_finish (TernStore     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Bodies */

typedef struct
{
  gint64 folder_id;
  gint64 uid;
  guint flags;
  char *keywords;
  gint64 internal_date;
  gint64 modseq;
} RowFacts;

static void
row_facts_clear (RowFacts *facts)
{
  g_clear_pointer (&facts->keywords, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RowFacts, row_facts_clear)

static gboolean
attach_one (TernStore       *self,
            TernStoreDb     *db,
            gint64           id,
            TernNewMessage  *message,
            GHashTable      *folders,
            GError         **error)
{
  g_autoptr(sqlite3_stmt) row = NULL;
  g_auto(RowFacts) facts = { 0 };
  TernPreparedMessage *prepared = tern_new_message_get_prepared (message);
  TernFolder *folder;
  sqlite3_stmt *stmt;
  sqlite3_stmt *facts_stmt;
  int rc;

  facts_stmt = tern_store_db_statement (db, db->index,
                                        "SELECT folder_id, coalesce (uid, 0), flags, keywords, "
                                        "internal_date, coalesce (modseq, 0) FROM messages "
                                        "WHERE id = ?",
                                        error);
  if (facts_stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (facts_stmt, 1, id);
  rc = sqlite3_step (facts_stmt);
  if (rc == SQLITE_ROW)
    {
      facts.folder_id = sqlite3_column_int64 (facts_stmt, 0);
      facts.uid = sqlite3_column_int64 (facts_stmt, 1);
      facts.flags = sqlite3_column_int (facts_stmt, 2);
      facts.keywords = g_strdup ((const char *) sqlite3_column_text (facts_stmt, 3));
      facts.internal_date = sqlite3_column_int64 (facts_stmt, 4);
      facts.modseq = sqlite3_column_int64 (facts_stmt, 5);
    }
  sqlite3_reset (facts_stmt);
  if (rc != SQLITE_ROW)
    return TRUE;

  folder = g_hash_table_lookup (folders, &facts.folder_id);
  if (folder == NULL)
    {
      gint64 *key = g_new (gint64, 1);

      folder = tern_store_folder_load (db->index, facts.folder_id, error);
      if (folder == NULL)
        {
          g_free (key);
          return FALSE;
        }
      *key = facts.folder_id;
      g_hash_table_insert (folders, key, folder);
    }

  row = header_row (db, id, error);
  if (row == NULL)
    return FALSE;
  if (sqlite3_column_int (row, 5) == TERN_BODY_STATE_COMPLETE)
    return TRUE;

  /* In the caller's transactions: the bodies commit before the index. */
  stmt = tern_store_db_statement (db, db->bodies,
                                  "INSERT OR REPLACE INTO bodies (id, encoding, raw_size, data) "
                                  "VALUES (?, ?, ?, ?)",
                                  error);
  if (stmt == NULL)
    goto failed_bodies;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int (stmt, 2, prepared->encoding);
  sqlite3_bind_int64 (stmt, 3, g_bytes_get_size (message->raw));
  sqlite3_bind_blob64 (stmt, 4, g_bytes_get_data (prepared->stored, NULL),
                       g_bytes_get_size (prepared->stored), SQLITE_STATIC);
  if (!step_done (db->bodies, stmt, "Could not store a message body", error))
    goto failed_bodies;

  /* State 1 at once: the index row exists already, and a rebuild must
   * not index the body a second time. */
  stmt = tern_store_db_statement (db, db->bodies,
                                  "INSERT OR REPLACE INTO body_meta (id, state, account, path, uid, "
                                  "flags, internal_date, keywords) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
                                  error);
  if (stmt == NULL)
    goto failed_bodies;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, tern_folder_get_account (folder), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, tern_folder_get_path (folder), -1, SQLITE_STATIC);
  if (facts.uid > 0)
    sqlite3_bind_int64 (stmt, 4, facts.uid);
  sqlite3_bind_int (stmt, 5, facts.flags);
  sqlite3_bind_int64 (stmt, 6, facts.internal_date);
  if (facts.keywords != NULL)
    sqlite3_bind_text (stmt, 7, facts.keywords, -1, SQLITE_STATIC);
  if (!step_done (db->bodies, stmt, "Could not store a message body", error))
    goto failed_bodies;

  /* The row is made again from the whole message, with the same id, the
   * flags it has now, and its conversation (found again by its IDs). */
  if (!header_fts_write (db, id, row, TRUE, error))
    goto failed_index;
  g_clear_pointer (&row, sqlite3_finalize);

  stmt = tern_store_db_statement (db, db->index, "DELETE FROM messages WHERE id = ?", error);
  if (stmt == NULL)
    goto failed_index;
  sqlite3_bind_int64 (stmt, 1, id);
  if (!step_done (db->index, stmt, "Could not update a message", error))
    goto failed_index;

  if (!tern_store_ingest (self, db, folder, id, message->raw, prepared->mime, facts.flags,
                          facts.uid, facts.internal_date, facts.keywords, error))
    goto failed_index;

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE messages SET modseq = nullif (?2, 0) WHERE id = ?1",
                                  error);
  if (stmt == NULL)
    goto failed_index;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_int64 (stmt, 2, facts.modseq);
  if (!step_done (db->index, stmt, "Could not update a message", error))
    goto failed_index;

  if (!tern_store_count_added (db, facts.folder_id, 1,
                               (facts.flags & (TERN_MESSAGE_FLAG_SEEN |
                                               TERN_MESSAGE_FLAG_DELETED)) == 0,
                               error))
    goto failed_index;

  return TRUE;

failed_index:
failed_bodies:
  return FALSE;
}

static void
attach_bodies_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  MessagesData *data = g_task_get_task_data (task);
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                         (GDestroyNotify) tern_folder_unref);
  g_autoptr(GArray) updated = id_array_new ();
  g_autoptr(GArray) folder_ids = id_array_new ();
  GError *error = NULL;

  /* One transaction on each database for the batch; the bodies commit
   * first.  Should the index then fail, the stored bodies wait, unused,
   * for the next attach, which replaces them. */
  if (!tern_store_begin (db->bodies, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!tern_store_begin (db->index, &error))
    {
      tern_store_rollback (db->bodies);
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0; i < data->ids->len; i++)
    {
      gint64 id = g_array_index (data->ids, gint64, i);
      gint64 folder = message_folder (db, id);

      if (folder == 0)
        continue;
      if (!attach_one (self, db, id, g_ptr_array_index (data->messages, i), folders, &error))
        break;
      g_array_append_val (updated, id);
      add_unique (folder_ids, folder);
    }

  if (error == NULL && !tern_store_commit (db->bodies, &error))
    tern_store_rollback (db->bodies);
  if (error == NULL && !tern_store_commit (db->index, &error))
    tern_store_rollback (db->index);
  if (error != NULL)
    {
      tern_store_rollback (db->bodies);
      tern_store_rollback (db->index);
      g_array_set_size (updated, 0);
    }

  if (updated->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_UPDATED, folder_ids, updated);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, updated->len);
}

/**
 * tern_store_attach_bodies_async:
 * @message_ids: (element-type gint64): messages known by their headers
 * @raws: (element-type GBytes): their whole raw messages, in the same
 *   order
 *
 * Gives messages their bodies: the body is stored, the row made again
 * from the whole message (text, preview, attachments, search), keeping
 * the message's id, flags, UID and conversation.  Messages that have
 * their body already, or that are gone, are skipped.
 */
void
tern_store_attach_bodies_async (TernStore           *self,
                                GArray              *message_ids,
                                GPtrArray           *raws,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MessagesData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (message_ids != NULL && raws != NULL);
  g_return_if_fail (message_ids->len == raws->len);

  task = messages_task_new (self, 0, tern_store_attach_bodies_async, cancellable, callback,
                            user_data, &data);
  data->ids = g_array_copy (message_ids);
  data->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  for (guint i = 0; i < raws->len; i++)
    g_ptr_array_add (data->messages, tern_new_message_new (g_ptr_array_index (raws, i), 0, 0));

  tern_store_queue_write (self, task, attach_bodies_job);
}

/**
 * tern_store_attach_bodies_finish:
 *
 * Returns: how many messages got their body.
 */
guint
tern_store_attach_bodies_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  gssize n;

  g_return_val_if_fail (g_task_is_valid (result, self), 0);

  n = g_task_propagate_int (G_TASK (result), error);
  return n > 0 ? (guint) n : 0;
}

static void
list_missing_bodies_job (TernStore   *self,
                         TernStoreDb *db,
                         GTask       *task)
{
  MessagesData *data = g_task_get_task_data (task);
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (TernUidEntry));
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  int rc;

  stmt = tern_store_prepare (db->index,
                             "SELECT uid, flags, id, coalesce (modseq, 0) FROM messages "
                             "WHERE folder_id = ? AND body_state = 0 AND uid IS NOT NULL "
                             "AND max (date, internal_date) >= ? "
                             "ORDER BY date DESC, id DESC LIMIT ?",
                             &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->folder_id);
  sqlite3_bind_int64 (stmt, 2, data->since);
  sqlite3_bind_int64 (stmt, 3, data->limit > 0 ? (gint64) data->limit : -1);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TernUidEntry entry;

      entry.uid = (guint32) sqlite3_column_int64 (stmt, 0);
      entry.flags = sqlite3_column_int (stmt, 1);
      entry.id = sqlite3_column_int64 (stmt, 2);
      entry.modseq = sqlite3_column_int64 (stmt, 3);
      g_array_append_val (entries, entry);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not list messages", &error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&entries), (GDestroyNotify) g_array_unref);
}

/**
 * tern_store_list_missing_bodies_async:
 * @since: Unix time: only messages dated from then on
 * @limit: the most entries, or 0 for all
 *
 * Lists a folder's messages that have no body yet, newest first, to fetch
 * their bodies for reading offline.
 */
void
tern_store_list_missing_bodies_async (TernStore           *self,
                                      gint64               folder_id,
                                      gint64               since,
                                      guint                limit,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MessagesData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = messages_task_new (self, folder_id, tern_store_list_missing_bodies_async, cancellable,
                            callback, user_data, &data);
  data->since = since;
  data->limit = limit;
  tern_store_queue_read (self, task, list_missing_bodies_job);
}

/**
 * tern_store_list_missing_bodies_finish:
 *
 * Returns: (transfer full) (element-type TernUidEntry): the messages.
 */
GArray *
tern_store_list_missing_bodies_finish (TernStore     *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Server changes */

static void
apply_server_changes_job (TernStore   *self,
                          TernStoreDb *db,
                          GTask       *task)
{
  MessagesData *data = g_task_get_task_data (task);
  g_autoptr(GArray) updated = id_array_new ();
  g_autoptr(GArray) removed = id_array_new ();
  g_autoptr(GArray) folders = id_array_new ();
  g_autoptr(GArray) bodies = id_array_new ();
  g_autoptr(GArray) flag_pending = NULL;
  g_autoptr(GHashTable) held = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) gone = g_hash_table_new (NULL, NULL);
  sqlite3_stmt *select;
  sqlite3_stmt *update;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_array_append_val (folders, data->folder_id);

  /* A flag change queued here and not yet replayed wins over what the
   * server says until it is replayed. */
  flag_pending = pending_uids (db, data->folder_id, FALSE, &error);
  if (flag_pending == NULL)
    goto failed;
  for (guint i = 0; i < flag_pending->len; i++)
    g_hash_table_add (held, GUINT_TO_POINTER (g_array_index (flag_pending, guint32, i)));

  select = tern_store_db_statement (db, db->index,
                                    "SELECT id, flags, keywords, coalesce (modseq, 0) FROM messages "
                                    "WHERE folder_id = ? AND uid = ?",
                                    &error);
  update = tern_store_db_statement (db, db->index,
                                    "UPDATE messages SET flags = ?2, keywords = ?3, "
                                    "modseq = nullif (?4, 0) WHERE id = ?1",
                                    &error);
  if (select == NULL || update == NULL)
    goto failed;

  for (guint i = 0; data->updates != NULL && i < data->updates->len; i++)
    {
      TernFlagUpdate *change = g_ptr_array_index (data->updates, i);
      gboolean differs;
      gint64 id;
      int rc;

      if (g_hash_table_contains (held, GUINT_TO_POINTER (change->uid)))
        continue;

      sqlite3_bind_int64 (select, 1, data->folder_id);
      sqlite3_bind_int64 (select, 2, change->uid);
      rc = sqlite3_step (select);
      if (rc != SQLITE_ROW)
        {
          sqlite3_reset (select);
          if (rc != SQLITE_DONE)
            {
              tern_store_sql_error (db->index, rc, "Could not read a message", &error);
              goto failed;
            }
          continue;
        }
      id = sqlite3_column_int64 (select, 0);
      differs = (guint) sqlite3_column_int (select, 1) != change->flags ||
                g_strcmp0 ((const char *) sqlite3_column_text (select, 2), change->keywords) != 0;
      if (!differs && sqlite3_column_int64 (select, 3) == change->modseq)
        {
          sqlite3_reset (select);
          continue;
        }
      sqlite3_reset (select);

      sqlite3_bind_int64 (update, 1, id);
      sqlite3_bind_int (update, 2, change->flags);
      if (change->keywords != NULL)
        sqlite3_bind_text (update, 3, change->keywords, -1, SQLITE_STATIC);
      else
        sqlite3_bind_null (update, 3);
      sqlite3_bind_int64 (update, 4, change->modseq);
      if (!step_done (db->index, update, "Could not change flags", &error))
        goto failed;

      if (differs)
        g_array_append_val (updated, id);
    }

  for (guint i = 0; data->uids != NULL && i < data->uids->len; i++)
    {
      guint32 uid = g_array_index (data->uids, guint32, i);
      gint64 id = find_uid (db, data->folder_id, uid);

      g_hash_table_add (gone, GUINT_TO_POINTER (uid));
      if (id == 0)
        continue;
      if (!remove_message (db, id, bodies, &error))
        goto failed;
      g_array_append_val (removed, id);
    }

  if (g_hash_table_size (gone) > 0 &&
      !drop_gone_from_actions (db, data->folder_id, gone, removed, folders, bodies, &error))
    goto failed;

  if (data->highestmodseq > 0)
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;

      stmt = tern_store_prepare (db->index, "UPDATE folders SET highestmodseq = ? WHERE id = ?",
                                 &error);
      if (stmt == NULL)
        goto failed;
      sqlite3_bind_int64 (stmt, 1, data->highestmodseq);
      sqlite3_bind_int64 (stmt, 2, data->folder_id);
      if (!step_done (db->index, stmt, "Could not save a folder's state", &error))
        goto failed;
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  tern_store_free_bodies (db, bodies);

  if (updated->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_UPDATED, folders, updated);
  if (removed->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_REMOVED, folders, removed);
  g_task_return_int (task, updated->len);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_apply_server_changes_async:
 * @folder_id: the server folder
 * @flag_updates: (element-type TernFlagUpdate) (nullable): flags the
 *   server reports
 * @gone_uids: (element-type guint32) (nullable): UIDs the server expunged
 * @highestmodseq: the folder's new HIGHESTMODSEQ, or 0 to keep it
 *
 * Applies a batch of server changes in one transaction: new flags (except
 * on messages with a flag change queued here and not yet replayed), and
 * expunged messages, which leave the store and the queued actions.
 */
void
tern_store_apply_server_changes_async (TernStore           *self,
                                       gint64               folder_id,
                                       GPtrArray           *flag_updates,
                                       GArray              *gone_uids,
                                       gint64               highestmodseq,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MessagesData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = messages_task_new (self, folder_id, tern_store_apply_server_changes_async, cancellable,
                            callback, user_data, &data);
  data->updates = flag_updates != NULL ? g_ptr_array_ref (flag_updates) : NULL;
  data->uids = gone_uids != NULL ? g_array_copy (gone_uids) : NULL;
  data->highestmodseq = highestmodseq;
  tern_store_queue_write (self, task, apply_server_changes_job);
}

/**
 * tern_store_apply_server_changes_finish:
 * @out_changed: (out) (optional): how many messages' flags changed
 */
gboolean
tern_store_apply_server_changes_finish (TernStore     *self,
                                        GAsyncResult  *result,
                                        guint         *out_changed,
                                        GError       **error)
{
  GError *local_error = NULL;
  gssize changed;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  changed = g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (out_changed != NULL)
    *out_changed = (guint) changed;
  return TRUE;
}

/* The offline action queue */

typedef struct
{
  TernActionKind kind;
  GArray *ids;
  gint64 target_id;
  guint flags_add;
  guint flags_remove;
  gint64 action_id;
  GArray *new_uids;
  char *failure;
  char *account;
  guint32 uidvalidity;
  guint32 uid;
} ActionData;

static void
action_data_free (ActionData *data)
{
  g_clear_pointer (&data->ids, g_array_unref);
  g_clear_pointer (&data->new_uids, g_array_unref);
  g_free (data->failure);
  g_free (data->account);
  g_free (data);
}

typedef struct
{
  gint64 folder_id;
  char *account;
  gboolean remote;
  GArray *ids;
  GArray *uids;
} Group;

static void
group_free (Group *group)
{
  g_free (group->account);
  g_array_unref (group->ids);
  g_array_unref (group->uids);
  g_free (group);
}

/*
 * A message a queued move put in @folder_id, not yet moved on the server,
 * goes back where it was, with its UID there, and out of that move's
 * action: a new action on it then starts from what the server has.  So a
 * move and a move back cancel out, a second move goes from the first
 * folder straight to the last, and a delete deletes the server's copy
 * where it is.  @folder_id and @uid become the message's place.
 */
static gboolean
unwind_queued_move (TernStoreDb  *db,
                    gint64        id,
                    gint64       *folder_id,
                    guint32      *uid,
                    GError      **error)
{
  g_autoptr(GPtrArray) actions = NULL;
  sqlite3_stmt *stmt;

  actions = read_actions (db->index, "target_id = ?1", *folder_id, NULL, error);
  if (actions == NULL)
    return FALSE;

  for (guint i = 0; i < actions->len; i++)
    {
      TernPendingAction *action = g_ptr_array_index (actions, i);

      if (!action_moves (action->kind))
        continue;

      for (guint j = 0; j < action->message_ids->len; j++)
        {
          guint32 original;

          if (g_array_index (action->message_ids, gint64, j) != id)
            continue;

          original = g_array_index (action->uids, guint32, j);
          stmt = tern_store_db_statement (db, db->index,
                                          "UPDATE messages SET folder_id = ?1, uid = ?2, "
                                          "folder_role = (SELECT role FROM folders "
                                          "WHERE id = ?1) WHERE id = ?3",
                                          error);
          if (stmt == NULL)
            return FALSE;
          sqlite3_bind_int64 (stmt, 1, action->folder_id);
          sqlite3_bind_int64 (stmt, 2, original);
          sqlite3_bind_int64 (stmt, 3, id);
          if (!step_done (db->index, stmt, "Could not move a message back", error))
            return FALSE;

          g_array_remove_index (action->uids, j);
          g_array_remove_index (action->message_ids, j);
          if (!rewrite_action (db, action, error))
            return FALSE;

          *folder_id = action->folder_id;
          *uid = original;
          return TRUE;
        }
    }

  return TRUE;
}

static void
queue_action_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  ActionData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) group_free);
  g_autoptr(TernFolder) target = NULL;
  g_autoptr(GArray) folders = id_array_new ();
  g_autoptr(GArray) touched = id_array_new ();
  g_autoptr(GArray) bodies = id_array_new ();
  sqlite3_stmt *select;
  sqlite3_stmt *stmt;
  guint queued = 0;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->kind == TERN_ACTION_MOVE || data->kind == TERN_ACTION_COPY ||
      data->kind == TERN_ACTION_ARCHIVE)
    {
      target = tern_store_folder_load (db->index, data->target_id, &error);
      if (target == NULL)
        goto failed;
    }

  select = tern_store_db_statement (db, db->index,
                                    "SELECT m.folder_id, coalesce (m.uid, 0), f.account, "
                                    "f.remote_name IS NOT NULL FROM messages AS m "
                                    "JOIN folders AS f ON f.id = m.folder_id WHERE m.id = ?",
                                    &error);
  if (select == NULL)
    goto failed;

  /* One action for each folder the messages are in. */
  for (guint i = 0; i < data->ids->len; i++)
    {
      gint64 id = g_array_index (data->ids, gint64, i);
      Group *group = NULL;
      gint64 folder_id;
      guint32 uid;

      sqlite3_bind_int64 (select, 1, id);
      if (sqlite3_step (select) != SQLITE_ROW)
        {
          sqlite3_reset (select);
          g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                       "There is no message %" G_GINT64_FORMAT, id);
          goto failed;
        }
      folder_id = sqlite3_column_int64 (select, 0);
      uid = (guint32) sqlite3_column_int64 (select, 1);
      if (uid == 0 && sqlite3_column_int (select, 3) != 0 && data->kind != TERN_ACTION_COPY)
        {
          gint64 was_in = folder_id;

          sqlite3_reset (select);
          if (!unwind_queued_move (db, id, &folder_id, &uid, &error))
            goto failed;
          if (folder_id != was_in)
            {
              add_unique (folders, was_in);
              add_unique (folders, folder_id);
              add_unique (touched, id);
            }
          sqlite3_bind_int64 (select, 1, id);
          if (sqlite3_step (select) != SQLITE_ROW)
            {
              sqlite3_reset (select);
              g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                           "There is no message %" G_GINT64_FORMAT, id);
              goto failed;
            }
        }

      for (guint j = 0; j < groups->len && group == NULL; j++)
        {
          Group *candidate = g_ptr_array_index (groups, j);

          if (candidate->folder_id == folder_id)
            group = candidate;
        }
      if (group == NULL)
        {
          group = g_new0 (Group, 1);
          group->folder_id = folder_id;
          group->account = g_strdup (tern_store_column_text (select, 2));
          group->remote = sqlite3_column_int (select, 3) != 0;
          group->ids = id_array_new ();
          group->uids = uid_array_new ();
          g_ptr_array_add (groups, group);
        }
      sqlite3_reset (select);

      if (target != NULL && g_strcmp0 (group->account, tern_folder_get_account (target)) != 0)
        {
          g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                       "Messages can only be moved or copied within their account");
          goto failed;
        }

      g_array_append_val (group->ids, id);
      g_array_append_val (group->uids, uid);
    }

  for (guint i = 0; i < groups->len; i++)
    {
      Group *group = g_ptr_array_index (groups, i);
      g_autoptr(GArray) queue_ids = id_array_new ();
      g_autoptr(GArray) queue_uids = uid_array_new ();

      if (target != NULL && group->folder_id == data->target_id)
        continue;
      add_unique (folders, group->folder_id);

      for (guint j = 0; j < group->ids->len; j++)
        {
          gint64 id = g_array_index (group->ids, gint64, j);
          guint32 uid = g_array_index (group->uids, guint32, j);

          /* Only what the server has needs replaying; a message without
           * a UID exists here alone. */
          if (group->remote && uid > 0)
            {
              g_array_append_val (queue_ids, id);
              g_array_append_val (queue_uids, uid);
            }

          switch (data->kind)
            {
            case TERN_ACTION_SET_FLAGS:
              stmt = tern_store_db_statement (db, db->index,
                                              "UPDATE messages SET flags = (flags | ?1) & ~?2 "
                                              "WHERE id = ?3",
                                              &error);
              if (stmt == NULL)
                goto failed;
              sqlite3_bind_int (stmt, 1, data->flags_add);
              sqlite3_bind_int (stmt, 2, data->flags_remove);
              sqlite3_bind_int64 (stmt, 3, id);
              if (!step_done (db->index, stmt, "Could not change flags", &error))
                goto failed;
              break;

            case TERN_ACTION_MOVE:
            case TERN_ACTION_ARCHIVE:
              stmt = tern_store_db_statement (db, db->index,
                                              "UPDATE messages SET folder_id = ?1, folder_role = ?2, "
                                              "uid = NULL, modseq = NULL WHERE id = ?3",
                                              &error);
              if (stmt == NULL)
                goto failed;
              sqlite3_bind_int64 (stmt, 1, data->target_id);
              sqlite3_bind_int (stmt, 2, tern_folder_get_role (target));
              sqlite3_bind_int64 (stmt, 3, id);
              if (!step_done (db->index, stmt, "Could not move a message", &error))
                goto failed;
              add_unique (folders, data->target_id);
              break;

            case TERN_ACTION_COPY:
              /* The copy appears with the target folder's next sync,
               * with its UID and its body from the server. */
              break;

            case TERN_ACTION_DELETE:
              if (!remove_message (db, id, bodies, &error))
                goto failed;
              break;

            case TERN_ACTION_APPEND:
              /* The outbox queues uploads itself, of messages with no
               * UID. */
            default:
              g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                           "Unknown action %d", data->kind);
              goto failed;
            }

          g_array_append_val (touched, id);
        }

      if (queue_ids->len > 0)
        {
          g_autofree char *ids_text = join_int64 (queue_ids);
          g_autofree char *uids_text = join_uint32 (queue_uids);

          stmt = tern_store_db_statement (db, db->index,
                                          "INSERT INTO pending_actions (account, folder_id, kind, "
                                          "message_ids, uids, target_id, flags_add, flags_remove, "
                                          "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                          &error);
          if (stmt == NULL)
            goto failed;
          sqlite3_bind_text (stmt, 1, group->account, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 2, group->folder_id);
          sqlite3_bind_int (stmt, 3, data->kind);
          sqlite3_bind_text (stmt, 4, ids_text, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 5, uids_text, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 6, data->target_id);
          sqlite3_bind_int (stmt, 7, data->flags_add);
          sqlite3_bind_int (stmt, 8, data->flags_remove);
          sqlite3_bind_int64 (stmt, 9, g_get_real_time () / G_USEC_PER_SEC);
          if (!step_done (db->index, stmt, "Could not queue an action", &error))
            goto failed;
          queued++;
        }
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  tern_store_free_bodies (db, bodies);
  /* The bodies keep the flags too, for a rebuild of the index. */
  if (data->kind == TERN_ACTION_SET_FLAGS)
    tern_store_body_change_flags (db, touched, data->flags_add, data->flags_remove);

  if (touched->len > 0)
    tern_store_emit_changed (self,
                             data->kind == TERN_ACTION_DELETE
                             ? TERN_STORE_CHANGE_MESSAGES_REMOVED
                             : TERN_STORE_CHANGE_MESSAGES_UPDATED,
                             folders, touched);
  g_task_return_int (task, queued);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_queue_action_async:
 * @kind: what to do
 * @message_ids: (element-type gint64): the messages
 * @target_id: the folder of a move, copy or archive (same account), else 0
 * @flags_add: #TernMessageFlags to set, for %TERN_ACTION_SET_FLAGS
 * @flags_remove: #TernMessageFlags to clear, for %TERN_ACTION_SET_FLAGS
 *
 * Applies an action here at once and, for messages of server folders,
 * queues it for the server in the same transaction, one queued action per
 * folder the messages are in.  Flags change; a move or archive takes the
 * messages into @target_id (without a UID until the server gives one); a
 * delete removes them for good; a copy appears after the target's next
 * sync.  The queue survives a restart.
 */
void
tern_store_queue_action_async (TernStore           *self,
                               TernActionKind       kind,
                               GArray              *message_ids,
                               gint64               target_id,
                               guint                flags_add,
                               guint                flags_remove,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ActionData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (message_ids != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_queue_action_async);
  data = g_new0 (ActionData, 1);
  data->kind = kind;
  data->ids = g_array_copy (message_ids);
  data->target_id = target_id;
  data->flags_add = flags_add;
  data->flags_remove = flags_remove;
  g_task_set_task_data (task, data, (GDestroyNotify) action_data_free);
  tern_store_queue_write (self, task, queue_action_job);
}

/**
 * tern_store_queue_action_finish:
 *
 * Returns: how many actions went into the queue (0 when the messages are
 *   all on this computer only).
 */
guint
tern_store_queue_action_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  gssize n;

  g_return_val_if_fail (g_task_is_valid (result, self), 0);

  n = g_task_propagate_int (G_TASK (result), error);
  return n > 0 ? (guint) n : 0;
}

static void
list_actions_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  ActionData *data = g_task_get_task_data (task);
  GError *error = NULL;
  GPtrArray *actions = read_actions (db->index, "account = ?1", 0, data->account, &error);

  if (actions == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, actions, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_list_actions_async:
 *
 * Lists an account's queued actions, in the order they were made.
 */
void
tern_store_list_actions_async (TernStore           *self,
                               const char          *account,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ActionData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_list_actions_async);
  data = g_new0 (ActionData, 1);
  data->account = g_strdup (account);
  g_task_set_task_data (task, data, (GDestroyNotify) action_data_free);
  tern_store_queue_read (self, task, list_actions_job);
}

/**
 * tern_store_list_actions_finish:
 *
 * Returns: (transfer container) (element-type TernPendingAction): the
 *   actions.
 */
GPtrArray *
tern_store_list_actions_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The end of a replayed action, in the caller's transaction: the action
 * leaves the queue, the transaction is committed, the bodies of removed
 * messages go, and the lists hear of what changed. */
static gboolean
take_out_action (TernStore    *self,
                 TernStoreDb  *db,
                 gint64        action_id,
                 GArray       *folders,
                 GArray       *updated,
                 GArray       *removed,
                 GArray       *bodies,
                 GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->index, "DELETE FROM pending_actions WHERE id = ?",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, action_id);
  if (!step_done (db->index, stmt, "Could not update the queued actions", error) ||
      !tern_store_commit (db->index, error))
    return FALSE;

  tern_store_free_bodies (db, bodies);

  if (updated->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_UPDATED, folders, updated);
  if (removed->len > 0)
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_REMOVED, folders, removed);

  return TRUE;
}

static void
finish_action_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  ActionData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(GArray) removed = id_array_new ();
  g_autoptr(GArray) updated = id_array_new ();
  g_autoptr(GArray) folders = id_array_new ();
  g_autoptr(GArray) bodies = id_array_new ();
  TernPendingAction *action;
  sqlite3_stmt *stmt;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  actions = read_actions (db->index, "id = ?1", data->action_id, NULL, &error);
  if (actions == NULL)
    goto failed;
  if (actions->len == 0)
    {
      g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   "There is no queued action %" G_GINT64_FORMAT, data->action_id);
      goto failed;
    }
  action = g_ptr_array_index (actions, 0);

  if (data->failure != NULL)
    {
      stmt = tern_store_db_statement (db, db->index,
                                      "UPDATE pending_actions SET attempts = attempts + 1, "
                                      "last_error = ? WHERE id = ?",
                                      &error);
      if (stmt == NULL)
        goto failed;
      sqlite3_bind_text (stmt, 1, data->failure, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, action->id);
      if (!step_done (db->index, stmt, "Could not update a queued action", &error) ||
          !tern_store_commit (db->index, &error))
        goto failed;
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* A move done: the local copy takes the UID the server gave it; without
   * one (no UIDPLUS, or the message was gone), the local copy goes and the
   * target's next sync brings the message back. */
  for (guint i = 0; action_moves (action->kind) && i < action->message_ids->len; i++)
    {
      gint64 id = g_array_index (action->message_ids, gint64, i);
      guint32 uid = data->new_uids != NULL && i < data->new_uids->len
                    ? g_array_index (data->new_uids, guint32, i) : 0;

      if (!is_moved_copy (db, action, id))
        continue;
      add_unique (folders, action->target_id);

      if (uid > 0 && find_uid (db, action->target_id, uid) == 0)
        {
          stmt = tern_store_db_statement (db, db->index,
                                          "UPDATE messages SET uid = ? WHERE id = ?", &error);
          if (stmt == NULL)
            goto failed;
          sqlite3_bind_int64 (stmt, 1, uid);
          sqlite3_bind_int64 (stmt, 2, id);
          if (!step_done (db->index, stmt, "Could not update a message", &error))
            goto failed;
          g_array_append_val (updated, id);
        }
      else
        {
          if (!remove_message (db, id, bodies, &error))
            goto failed;
          g_array_append_val (removed, id);
        }
    }

  if (!take_out_action (self, db, action->id, folders, updated, removed, bodies, &error))
    goto failed;
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_finish_action_async:
 * @action_id: a queued action
 * @new_uids: (element-type guint32) (nullable): for a move or archive, the
 *   UID each message got in the target folder (COPYUID), in the action's
 *   order, 0 where unknown
 * @failure: (nullable): why replaying failed; %NULL when it was done
 *
 * Takes a replayed action out of the queue, or records that replaying it
 * failed (it stays queued).
 */
void
tern_store_finish_action_async (TernStore           *self,
                                gint64               action_id,
                                GArray              *new_uids,
                                const char          *failure,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ActionData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_finish_action_async);
  data = g_new0 (ActionData, 1);
  data->action_id = action_id;
  data->new_uids = new_uids != NULL ? g_array_copy (new_uids) : NULL;
  data->failure = g_strdup (failure);
  g_task_set_task_data (task, data, (GDestroyNotify) action_data_free);
  tern_store_queue_write (self, task, finish_action_job);
}

gboolean
tern_store_finish_action_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
finish_append_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  ActionData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(GArray) removed = id_array_new ();
  g_autoptr(GArray) updated = id_array_new ();
  g_autoptr(GArray) folders = id_array_new ();
  g_autoptr(GArray) bodies = id_array_new ();
  g_autoptr(TernFolder) target = NULL;
  g_autoptr(sqlite3_stmt) select = NULL;
  TernPendingAction *action;
  sqlite3_stmt *stmt;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  actions = read_actions (db->index, "id = ?1", data->action_id, NULL, &error);
  if (actions == NULL)
    goto failed;
  if (actions->len == 0 || ((TernPendingAction *) g_ptr_array_index (actions, 0))->kind != TERN_ACTION_APPEND)
    {
      g_set_error (&error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   "There is no queued upload %" G_GINT64_FORMAT, data->action_id);
      goto failed;
    }
  action = g_ptr_array_index (actions, 0);

  if (data->target_id != 0)
    {
      target = tern_store_folder_load (db->index, data->target_id, &error);
      if (target == NULL)
        goto failed;
      select = tern_store_prepare (db->index,
                                   "SELECT m.folder_id, coalesce (f.uidvalidity, 0) "
                                   "FROM messages AS m, folders AS f "
                                   "WHERE m.id = ?1 AND m.uid IS NULL AND f.id = ?2",
                                   &error);
      if (select == NULL)
        goto failed;
    }

  /* The server has the message now.  With the UID it got (APPENDUID), the
   * local copy becomes the server's message in the target folder, so that
   * no sync fetches it again; without one, the local copy goes and the
   * target's next sync brings the server's copy.  A message that has a
   * UID already, or is gone, is left as it is. */
  for (guint i = 0; select != NULL && i < action->message_ids->len; i++)
    {
      gint64 id = g_array_index (action->message_ids, gint64, i);
      gint64 from;
      gint64 uidvalidity;
      int rc;

      sqlite3_reset (select);
      sqlite3_bind_int64 (select, 1, id);
      sqlite3_bind_int64 (select, 2, data->target_id);
      rc = sqlite3_step (select);
      if (rc == SQLITE_DONE)
        continue;
      if (rc != SQLITE_ROW)
        {
          tern_store_sql_error (db->index, rc, "Could not read a message", &error);
          goto failed;
        }
      from = sqlite3_column_int64 (select, 0);
      uidvalidity = sqlite3_column_int64 (select, 1);
      add_unique (folders, from);
      add_unique (folders, data->target_id);

      /* Only the first message of an upload gets the UID: one APPEND
       * uploads one message. */
      if (i == 0 && data->uid > 0 &&
          (uidvalidity == 0 || uidvalidity == data->uidvalidity) &&
          find_uid (db, data->target_id, data->uid) == 0)
        {
          stmt = tern_store_db_statement (db, db->index,
                                          "UPDATE messages SET folder_id = ?1, folder_role = ?2, "
                                          "uid = ?3 WHERE id = ?4",
                                          &error);
          if (stmt == NULL)
            goto failed;
          sqlite3_bind_int64 (stmt, 1, data->target_id);
          sqlite3_bind_int (stmt, 2, tern_folder_get_role (target));
          sqlite3_bind_int64 (stmt, 3, data->uid);
          sqlite3_bind_int64 (stmt, 4, id);
          if (!step_done (db->index, stmt, "Could not update a message", &error))
            goto failed;
          g_array_append_val (updated, id);
        }
      else
        {
          if (!remove_message (db, id, bodies, &error))
            goto failed;
          g_array_append_val (removed, id);
        }
    }

  if (!take_out_action (self, db, action->id, folders, updated, removed, bodies, &error))
    goto failed;
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_finish_append_async:
 * @action_id: a queued %TERN_ACTION_APPEND
 * @folder_id: the server folder the message went to, or 0 when there was
 *   nothing left to upload
 * @uidvalidity: the folder's UIDVALIDITY the server named (APPENDUID), or 0
 * @uid: the message's UID there (APPENDUID), or 0 when the server did not
 *   say
 *
 * Takes a done upload out of the queue, in one transaction with what it
 * means here: the local copy becomes the server's message (@uid known) or
 * goes, for the folder's next sync to bring the server's copy.  Call it
 * only after the server took the message.  A failed upload is recorded
 * with tern_store_finish_action_async().
 */
void
tern_store_finish_append_async (TernStore           *self,
                                gint64               action_id,
                                gint64               folder_id,
                                guint32              uidvalidity,
                                guint32              uid,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ActionData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_finish_append_async);
  data = g_new0 (ActionData, 1);
  data->action_id = action_id;
  data->target_id = folder_id;
  data->uidvalidity = uidvalidity;
  data->uid = uid;
  g_task_set_task_data (task, data, (GDestroyNotify) action_data_free);
  tern_store_queue_write (self, task, finish_append_job);
}

gboolean
tern_store_finish_append_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
