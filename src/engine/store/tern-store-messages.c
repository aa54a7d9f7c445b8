/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-message-flags.h"
#include "tern-search-query.h"
#include "tern-store-private.h"

/*
 * Messages: adding (bodies first, then the index), flags, moving,
 * copying, deleting, reading and searching.
 *
 * Adding writes the bodies and commits them before the index rows: a crash
 * between the two leaves bodies in state 0, which the next open indexes.
 * The index never points at a body that is not there.
 */

/* Rows are written in transactions of this many messages. */
#define BATCH_SIZE 500

static GArray *
id_array_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (gint64));
}

/* Adding */

typedef struct
{
  gint64 folder_id;
  GPtrArray *messages;
  TernStoreDurability durability;
  /* The messages' bodies, when they are stored already. */
  GArray *body_ids;
} AddData;

static void
add_data_free (AddData *data)
{
  g_ptr_array_unref (data->messages);
  g_clear_pointer (&data->body_ids, g_array_unref);
  g_free (data);
}

/* Writes the bodies of @count messages from @first and commits them;
 * their ids go to @batch_ids.  Synced: they reach the disk before it
 * returns. */
static gboolean
put_bodies (TernStoreDb  *db,
            const char   *account,
            const char   *path,
            GPtrArray    *messages,
            guint         first,
            guint         count,
            gboolean      synced,
            GArray       *batch_ids,
            GError      **error)
{
  if (synced && !tern_store_exec (db->bodies, "PRAGMA synchronous = FULL", error))
    return FALSE;

  if (!tern_store_begin (db->bodies, error))
    goto failed;

  for (guint i = first; i < first + count; i++)
    {
      TernNewMessage *message = g_ptr_array_index (messages, i);
      TernPreparedMessage *prepared = tern_new_message_get_prepared (message);
      gint64 id;

      id = tern_store_body_put (db, message->raw, prepared->stored, prepared->encoding, account,
                                path, message->uid, message->flags, message->internal_date,
                                message->keywords, error);
      if (id <= 0)
        goto failed;
      g_array_append_val (batch_ids, id);
    }

  if (!tern_store_commit (db->bodies, error))
    goto failed;

  if (synced && !tern_store_exec (db->bodies, "PRAGMA synchronous = NORMAL", error))
    return FALSE;

  return TRUE;

failed:
  tern_store_rollback (db->bodies);
  g_array_set_size (batch_ids, 0);
  if (synced)
    tern_store_exec (db->bodies, "PRAGMA synchronous = NORMAL", NULL);
  return FALSE;
}

/* Writes the index rows of @count messages from @first, whose bodies are
 * stored already under @batch_ids, in one transaction.  When that fails,
 * the bodies are taken back. */
static gboolean
index_batch (TernStore    *self,
             TernStoreDb  *db,
             TernFolder   *folder,
             GPtrArray    *messages,
             guint         first,
             guint         count,
             GArray       *batch_ids,
             GError      **error)
{
  guint unread = 0;

  if (!tern_store_begin (db->index, error))
    {
      tern_store_free_bodies (db, batch_ids);
      return FALSE;
    }

  for (guint i = 0; i < count; i++)
    {
      TernNewMessage *message = g_ptr_array_index (messages, first + i);

      if ((message->flags & (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0)
        unread++;

      if (!tern_store_ingest_new_message (self, db, folder, g_array_index (batch_ids, gint64, i),
                                          message, error))
        {
          tern_store_rollback (db->index);
          tern_store_free_bodies (db, batch_ids);
          return FALSE;
        }
    }

  /* Folder counts, once for the batch. */
  if (!tern_store_count_added (db, tern_folder_get_id (folder), count, unread, error) ||
      !tern_store_commit (db->index, error))
    {
      tern_store_rollback (db->index);
      tern_store_free_bodies (db, batch_ids);
      return FALSE;
    }

  return TRUE;
}

/* Marks bodies indexed.  That may fail without harm: the next open finds
 * them in the index and marks them then. */
static void
mark_indexed (TernStoreDb *db,
              GArray      *body_ids)
{
  if (body_ids->len == 0 || !tern_store_begin (db->bodies, NULL))
    return;

  if (tern_store_body_set_state (db, body_ids, 1, NULL))
    tern_store_commit (db->bodies, NULL);
  tern_store_rollback (db->bodies);
}

static gboolean
add_batch (TernStore            *self,
           TernStoreDb          *db,
           TernFolder           *folder,
           GPtrArray            *messages,
           guint                 first,
           guint                 count,
           TernStoreDurability   durability,
           GArray               *ids,
           GError              **error)
{
  g_autoptr(GArray) batch_ids = id_array_new ();

  if (!put_bodies (db, tern_folder_get_account (folder), tern_folder_get_path (folder), messages,
                   first, count, durability == TERN_STORE_DURABILITY_SYNCED, batch_ids, error) ||
      !index_batch (self, db, folder, messages, first, count, batch_ids, error))
    return FALSE;

  mark_indexed (db, batch_ids);
  g_array_append_vals (ids, batch_ids->data, batch_ids->len);
  return TRUE;
}

static void
add_messages_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  AddData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GArray) ids = id_array_new ();
  g_autoptr(GArray) folder_ids = id_array_new ();
  GError *error = NULL;

  folder = tern_store_folder_load (db->index, data->folder_id, &error);
  if (folder == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_array_append_val (folder_ids, data->folder_id);

  /* Bodies stored already: their rows go in one transaction, as many as
   * the caller chose to hand over together. */
  if (data->body_ids != NULL)
    {
      g_autoptr(GArray) batch_ids = id_array_new ();

      g_array_append_vals (batch_ids, data->body_ids->data, data->body_ids->len);
      if (!index_batch (self, db, folder, data->messages, 0, data->messages->len, batch_ids,
                        &error))
        {
          /* The batches queued after this one by the same caller are
           * skipped: they share the cancellable. */
          if (g_task_get_cancellable (task) != NULL)
            g_cancellable_cancel (g_task_get_cancellable (task));
          g_prefix_error (&error, "0 of %u messages were added: ", data->messages->len);
          g_task_return_error (task, error);
          return;
        }

      for (guint i = 0; i < data->messages->len; i++)
        tern_new_message_release_prepared (g_ptr_array_index (data->messages, i));

      tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, batch_ids);
      g_task_return_pointer (task, g_steal_pointer (&batch_ids), (GDestroyNotify) g_array_unref);
      return;
    }

  for (guint first = 0; first < data->messages->len; first += BATCH_SIZE)
    {
      guint count = MIN (BATCH_SIZE, data->messages->len - first);
      gboolean added;

      added = add_batch (self, db, folder, data->messages, first, count, data->durability, ids,
                         &error);
      if (!added)
        {
          /* What was committed stays, and listeners hear of it. */
          if (ids->len > 0)
            tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, ids);
          g_prefix_error (&error, "%u of %u messages were added: ", ids->len,
                          data->messages->len);
          g_task_return_error (task, error);
          return;
        }
    }

  tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, ids);
  g_task_return_pointer (task, g_steal_pointer (&ids), (GDestroyNotify) g_array_unref);
}

/**
 * tern_store_add_messages_async:
 * @folder_id: the folder the messages go into
 * @messages: (element-type TernNewMessage): the messages
 * @durability: %TERN_STORE_DURABILITY_SYNCED when the caller will delete
 *   the only other copy next
 *
 * Stores messages and indexes them, in transactions of a few hundred.
 * When the call fails part way, the messages committed before stay, and the
 * error says how many.
 */
void
tern_store_add_messages_async (TernStore           *self,
                               gint64               folder_id,
                               GPtrArray           *messages,
                               TernStoreDurability  durability,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AddData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (messages != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_add_messages_async);
  data = g_new0 (AddData, 1);
  data->folder_id = folder_id;
  data->messages = g_ptr_array_ref (messages);
  data->durability = durability;
  g_task_set_task_data (task, data, (GDestroyNotify) add_data_free);
  tern_store_queue_write (self, task, add_messages_job);
}

/**
 * tern_store_add_stored_messages_async:
 * @messages: (element-type TernNewMessage): prepared messages
 * @body_ids: (element-type gint64): their bodies, written already by
 *   tern_store_bodies_put() and not yet marked indexed
 *
 * As tern_store_add_messages_async(), for messages whose bodies a thread
 * other than the writer stored: the writer writes only their index rows,
 * all in one transaction, and then frees what was prepared for them.  When
 * that fails, the bodies are taken back and @cancellable is cancelled, so
 * that batches queued after it with the same one are skipped (their
 * bodies are the caller's to take back); else the caller marks them
 * indexed.  tern_store_add_messages_finish() gives the result.
 */
void
tern_store_add_stored_messages_async (TernStore           *self,
                                      gint64               folder_id,
                                      GPtrArray           *messages,
                                      GArray              *body_ids,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AddData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (messages != NULL && body_ids != NULL);
  g_return_if_fail (messages->len == body_ids->len);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_add_stored_messages_async);
  /* A failure cancels @cancellable for the batches after, and is still
   * the result of this one. */
  g_task_set_check_cancellable (task, FALSE);
  data = g_new0 (AddData, 1);
  data->folder_id = folder_id;
  data->messages = g_ptr_array_ref (messages);
  data->durability = TERN_STORE_DURABILITY_NORMAL;
  data->body_ids = g_array_ref (body_ids);
  g_task_set_task_data (task, data, (GDestroyNotify) add_data_free);
  tern_store_queue_write (self, task, add_messages_job);
}

/**
 * tern_store_bodies_open:
 * @db: (out caller-allocates): filled with a bodies connection of its own
 *
 * Opens the bodies database for a thread that stores bodies beside the
 * writer thread, to be used by that thread alone and closed with
 * tern_store_db_close().  SQLite lets one connection write at a time; the
 * others wait their turn.
 */
gboolean
tern_store_bodies_open (TernStore    *self,
                        TernStoreDb  *db,
                        GError      **error)
{
  memset (db, 0, sizeof (*db));

  return tern_store_open_connection (self->bodies_path, FALSE, &db->bodies, error);
}

/**
 * tern_store_bodies_put:
 * @db: a connection from tern_store_bodies_open()
 * @folder: the folder the messages will go into
 * @messages: (element-type TernNewMessage): prepared messages
 * @body_ids: (element-type gint64): where their ids go, in order
 *
 * Stores the bodies of @messages and commits them, not yet indexed: should
 * their index rows never be written, the next open indexes them.
 */
gboolean
tern_store_bodies_put (TernStoreDb  *db,
                       TernFolder   *folder,
                       GPtrArray    *messages,
                       GArray       *body_ids,
                       GError      **error)
{
  return put_bodies (db, tern_folder_get_account (folder), tern_folder_get_path (folder),
                     messages, 0, messages->len, FALSE, body_ids, error);
}

/**
 * tern_store_bodies_mark_indexed:
 *
 * Marks bodies whose index rows are committed.
 */
void
tern_store_bodies_mark_indexed (TernStoreDb *db,
                                GArray      *body_ids)
{
  mark_indexed (db, body_ids);
}

/**
 * tern_store_add_messages_finish:
 *
 * Returns: (transfer full) (element-type gint64): the new messages' ids, in
 *   the order given.
 */
GArray *
tern_store_add_messages_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_store_count_added:
 *
 * Adds a batch of new messages to its folder's counts, in the caller's
 * transaction.
 */
gboolean
tern_store_count_added (TernStoreDb  *db,
                        gint64        folder_id,
                        guint         total,
                        guint         unread,
                        GError      **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE folders SET total = total + ?, unread = unread + ? "
                                  "WHERE id = ?",
                                  error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int (stmt, 1, total);
  sqlite3_bind_int (stmt, 2, unread);
  sqlite3_bind_int64 (stmt, 3, folder_id);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return tern_store_sql_error (db->index, rc, "Could not count new messages", error);

  return TRUE;
}

/* Recovering */

/**
 * tern_store_recover_bodies:
 * @all: every body, for an index made anew; else only those not yet marked
 *   indexed
 *
 * Puts stored bodies that the index lacks into it, in their folders.  Runs
 * on open, before the store takes calls.  Never deletes a body.
 */
gboolean
tern_store_recover_bodies (TernStore    *self,
                           TernStoreDb  *db,
                           gboolean      all,
                           GError      **error)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(GArray) done = id_array_new ();
  g_autoptr(GArray) set_aside = id_array_new ();
  guint recovered = 0;
  gint64 last_id = 0;

  /* A new index gets every folder back, empty ones too, with its role. */
  if (all)
    {
      g_autoptr(sqlite3_stmt) folders = NULL;

      folders = tern_store_prepare (db->bodies, "SELECT account, path, role FROM folder_meta",
                                    error);
      if (folders == NULL || !tern_store_begin (db->index, error))
        return FALSE;
      while (sqlite3_step (folders) == SQLITE_ROW)
        {
          g_autoptr(TernFolder) folder = NULL;

          folder = tern_store_folder_ensure (db->index, tern_store_column_text (folders, 0),
                                             tern_store_column_text (folders, 1),
                                             sqlite3_column_int (folders, 2), FALSE, error);
          if (folder == NULL)
            goto failed;
        }
      if (!tern_store_commit (db->index, error))
        goto failed;
    }

  for (;;)
    {
      guint in_batch = 0;
      int rc;

      select = tern_store_prepare (db->bodies,
                                   all
                                   ? "SELECT id, account, path, uid, flags, internal_date, keywords "
                                     "FROM body_meta WHERE id > ? ORDER BY id LIMIT 500"
                                   : "SELECT id, account, path, uid, flags, internal_date, keywords "
                                     "FROM body_meta WHERE state = 0 AND id > ? ORDER BY id LIMIT 500",
                                   error);
      if (select == NULL)
        return FALSE;
      sqlite3_bind_int64 (select, 1, last_id);

      if (!tern_store_begin (db->index, error))
        return FALSE;

      g_array_set_size (done, 0);
      g_array_set_size (set_aside, 0);
      while ((rc = sqlite3_step (select)) == SQLITE_ROW)
        {
          g_autoptr(TernFolder) folder = NULL;
          g_autoptr(GBytes) raw = NULL;
          g_autoptr(sqlite3_stmt) known = NULL;
          gint64 id = sqlite3_column_int64 (select, 0);
          g_autoptr(GError) body_error = NULL;

          last_id = id;
          in_batch++;

          known = tern_store_prepare (db->index, "SELECT 1 FROM messages WHERE id = ?", error);
          if (known == NULL)
            goto failed;
          sqlite3_bind_int64 (known, 1, id);
          if (sqlite3_step (known) == SQLITE_ROW)
            {
              g_array_append_val (done, id);
              continue;
            }

          raw = tern_store_body_get (db, id, &body_error);
          if (raw == NULL)
            {
              /* Kept, not deleted: a later version may read it. */
              g_warning ("Stored message %" G_GINT64_FORMAT " cannot be read: %s",
                         id, body_error->message);
              continue;
            }

          folder = tern_store_folder_ensure (db->index,
                                             tern_store_column_text (select, 1),
                                             tern_store_column_text (select, 2),
                                             tern_store_folder_meta_role (
                                               db, tern_store_column_text (select, 1),
                                               tern_store_column_text (select, 2)),
                                             FALSE, error);
          if (folder == NULL)
            goto failed;

          /* One message that cannot go back (a UID taken twice, say) must
           * not keep the store from opening: it stays stored, set aside. */
          if (!tern_store_exec (db->index, "SAVEPOINT recover_one", error))
            goto failed;
          if (!tern_store_ingest (self, db, folder, id, raw, NULL,
                                  sqlite3_column_int (select, 4),
                                  sqlite3_column_int64 (select, 3),
                                  sqlite3_column_int64 (select, 5),
                                  (const char *) sqlite3_column_text (select, 6),
                                  &body_error))
            {
              g_warning ("Stored message %" G_GINT64_FORMAT " cannot be indexed: %s",
                         id, body_error->message);
              if (!tern_store_exec (db->index, "ROLLBACK TO recover_one; RELEASE recover_one",
                                    error))
                goto failed;
              g_array_append_val (set_aside, id);
              continue;
            }
          if (!tern_store_exec (db->index, "RELEASE recover_one", error))
            goto failed;

          g_array_append_val (done, id);
          recovered++;
        }

      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->bodies, rc, "Could not read the stored messages", error);
          goto failed;
        }
      g_clear_pointer (&select, sqlite3_finalize);

      /* Recovery is rare: the counts are simply made again. */
      if (recovered > 0 &&
          !tern_store_exec (db->index,
                            "UPDATE folders SET "
                            "  total = (SELECT count (*) FROM messages WHERE folder_id = folders.id), "
                            "  unread = (SELECT count (*) FROM messages "
                            "            WHERE folder_id = folders.id AND (flags & 9) = 0)",
                            error))
        goto failed;

      if (!tern_store_commit (db->index, error))
        goto failed;

      if (done->len > 0 || set_aside->len > 0)
        {
          /* State 2: kept, but not in the index; a rebuild tries again. */
          if (!tern_store_begin (db->bodies, error) ||
              !tern_store_body_set_state (db, done, 1, error) ||
              !tern_store_body_set_state (db, set_aside, 2, error) ||
              !tern_store_commit (db->bodies, error))
            {
              tern_store_rollback (db->bodies);
              return FALSE;
            }
        }

      if (in_batch == 0)
        break;
    }

  if (recovered > 0)
    g_message ("Indexed %u stored messages the index did not have", recovered);

  return TRUE;

failed:
  tern_store_rollback (db->index);
  return FALSE;
}

/* Flags */

typedef struct
{
  GArray *ids;
  guint add;
  guint remove;
  gint64 folder_id;
} IdsData;

static void
ids_data_free (IdsData *data)
{
  g_clear_pointer (&data->ids, g_array_unref);
  g_free (data);
}

static GArray *
folders_of (TernStoreDb  *db,
            GArray       *ids,
            GError      **error)
{
  g_autoptr(GArray) folders = id_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GArray) values = id_array_new ();
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->index, "SELECT folder_id FROM messages WHERE id = ?",
                                  error);
  if (stmt == NULL)
    return NULL;

  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_bind_int64 (stmt, 1, g_array_index (ids, gint64, i));
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          gint64 folder = sqlite3_column_int64 (stmt, 0);

          g_array_append_val (values, folder);
        }
      sqlite3_reset (stmt);
    }

  for (guint i = 0; i < values->len; i++)
    {
      gint64 *folder = &g_array_index (values, gint64, i);

      if (g_hash_table_add (seen, folder))
        g_array_append_val (folders, *folder);
    }

  return g_steal_pointer (&folders);
}

static void
set_flags_job (TernStore   *self,
               TernStoreDb *db,
               GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  g_autoptr(GArray) folders = NULL;
  sqlite3_stmt *stmt;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  folders = folders_of (db, data->ids, &error);
  if (folders == NULL)
    goto failed;

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE messages SET flags = (flags | ?1) & ~?2 WHERE id = ?3",
                                  &error);
  if (stmt == NULL)
    goto failed;

  for (guint i = 0; i < data->ids->len; i++)
    {
      int rc;

      sqlite3_bind_int (stmt, 1, data->add);
      sqlite3_bind_int (stmt, 2, data->remove);
      sqlite3_bind_int64 (stmt, 3, g_array_index (data->ids, gint64, i));
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not change flags", &error);
          goto failed;
        }
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  /* The bodies keep the flags too, for a rebuild. */
  tern_store_body_change_flags (db, data->ids, data->add, data->remove);

  tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_UPDATED, folders, data->ids);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

static GTask *
ids_task_new (TernStore           *self,
              GArray              *message_ids,
              gpointer             source_tag,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data,
              IdsData            **out_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  IdsData *data = g_new0 (IdsData, 1);

  g_task_set_source_tag (task, source_tag);
  data->ids = g_array_copy (message_ids);
  g_task_set_task_data (task, data, (GDestroyNotify) ids_data_free);
  *out_data = data;

  return task;
}

/**
 * tern_store_set_flags_async:
 * @message_ids: (element-type gint64): the messages
 * @add: #TernMessageFlags to set
 * @remove: #TernMessageFlags to clear
 */
void
tern_store_set_flags_async (TernStore           *self,
                            GArray              *message_ids,
                            guint                add,
                            guint                remove,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  IdsData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = ids_task_new (self, message_ids, tern_store_set_flags_async, cancellable, callback,
                       user_data, &data);
  data->add = add;
  data->remove = remove;
  tern_store_queue_write (self, task, set_flags_job);
}

gboolean
tern_store_set_flags_finish (TernStore     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Moving */

static void
move_messages_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) target = NULL;
  g_autoptr(GArray) folders = NULL;
  sqlite3_stmt *stmt;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  target = tern_store_folder_load (db->index, data->folder_id, &error);
  if (target == NULL)
    goto failed;

  folders = folders_of (db, data->ids, &error);
  if (folders == NULL)
    goto failed;
  g_array_append_val (folders, data->folder_id);

  /* A moved message has no UID in its new folder until the server gives
   * it one. */
  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE messages SET folder_id = ?1, folder_role = ?2, "
                                  "uid = NULL, modseq = NULL WHERE id = ?3 AND folder_id != ?1",
                                  &error);
  if (stmt == NULL)
    goto failed;

  for (guint i = 0; i < data->ids->len; i++)
    {
      int rc;

      sqlite3_bind_int64 (stmt, 1, data->folder_id);
      sqlite3_bind_int (stmt, 2, tern_folder_get_role (target));
      sqlite3_bind_int64 (stmt, 3, g_array_index (data->ids, gint64, i));
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not move a message", &error);
          goto failed;
        }
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  stmt = tern_store_db_statement (db, db->bodies,
                                  "UPDATE body_meta SET account = ?, path = ?, uid = NULL "
                                  "WHERE id = ?",
                                  NULL);
  if (stmt != NULL && tern_store_begin (db->bodies, NULL))
    {
      for (guint i = 0; i < data->ids->len; i++)
        {
          sqlite3_bind_text (stmt, 1, tern_folder_get_account (target), -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 2, tern_folder_get_path (target), -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 3, g_array_index (data->ids, gint64, i));
          sqlite3_step (stmt);
          sqlite3_reset (stmt);
        }
      tern_store_commit (db->bodies, NULL);
      tern_store_rollback (db->bodies);
    }

  tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_UPDATED, folders, data->ids);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_move_messages_async:
 * @message_ids: (element-type gint64): the messages
 * @folder_id: where they go
 *
 * Moves messages between folders of the store.  They keep their ids.
 */
void
tern_store_move_messages_async (TernStore           *self,
                                GArray              *message_ids,
                                gint64               folder_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  IdsData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = ids_task_new (self, message_ids, tern_store_move_messages_async, cancellable, callback,
                       user_data, &data);
  data->folder_id = folder_id;
  tern_store_queue_write (self, task, move_messages_job);
}

gboolean
tern_store_move_messages_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Copying */

static void
copy_messages_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) target = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GArray) ids = id_array_new ();
  g_autoptr(GArray) folder_ids = id_array_new ();
  sqlite3_stmt *stmt;
  GError *error = NULL;

  target = tern_store_folder_load (db->index, data->folder_id, &error);
  if (target == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT flags, internal_date, keywords FROM messages WHERE id = ?",
                                  &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0; i < data->ids->len; i++)
    {
      gint64 id = g_array_index (data->ids, gint64, i);
      g_autoptr(GBytes) raw = NULL;
      TernNewMessage *message;

      sqlite3_bind_int64 (stmt, 1, id);
      if (sqlite3_step (stmt) != SQLITE_ROW)
        {
          sqlite3_reset (stmt);
          g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                                   "There is no message %" G_GINT64_FORMAT, id);
          return;
        }

      raw = tern_store_body_get (db, id, &error);
      if (raw == NULL)
        {
          sqlite3_reset (stmt);
          g_task_return_error (task, error);
          return;
        }

      message = tern_new_message_new (raw, sqlite3_column_int (stmt, 0),
                                      sqlite3_column_int64 (stmt, 1));
      message->keywords = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      g_ptr_array_add (messages, message);
      sqlite3_reset (stmt);
    }

  for (guint first = 0; first < messages->len; first += BATCH_SIZE)
    {
      guint count = MIN (BATCH_SIZE, messages->len - first);

      if (!add_batch (self, db, target, messages, first, count, TERN_STORE_DURABILITY_NORMAL, ids,
                      &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  g_array_append_val (folder_ids, data->folder_id);
  tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, ids);
  g_task_return_pointer (task, g_steal_pointer (&ids), (GDestroyNotify) g_array_unref);
}

/**
 * tern_store_copy_messages_async:
 * @message_ids: (element-type gint64): the messages
 * @folder_id: where the copies go
 */
void
tern_store_copy_messages_async (TernStore           *self,
                                GArray              *message_ids,
                                gint64               folder_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  IdsData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = ids_task_new (self, message_ids, tern_store_copy_messages_async, cancellable, callback,
                       user_data, &data);
  data->folder_id = folder_id;
  tern_store_queue_write (self, task, copy_messages_job);
}

/**
 * tern_store_copy_messages_finish:
 *
 * Returns: (transfer full) (element-type gint64): the copies' ids.
 */
GArray *
tern_store_copy_messages_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Deleting */

static void
delete_messages_job (TernStore   *self,
                     TernStoreDb *db,
                     GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  g_autoptr(GArray) folders = NULL;
  sqlite3_stmt *stmt;
  GError *error = NULL;

  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  folders = folders_of (db, data->ids, &error);
  if (folders == NULL)
    goto failed;

  stmt = tern_store_db_statement (db, db->index, "DELETE FROM messages WHERE id = ?", &error);
  if (stmt == NULL)
    goto failed;
  for (guint i = 0; i < data->ids->len; i++)
    {
      gint64 id = g_array_index (data->ids, gint64, i);
      g_autoptr(GBytes) raw = tern_store_body_get (db, id, NULL);
      int rc;

      if (!tern_store_unindex (db, id, raw, &error))
        goto failed;

      sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not delete a message", &error);
          goto failed;
        }
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;

  /* Gone from the index, the bodies go too.  Should this fail, they stay
   * as marked-indexed bodies that nothing shows: wasted space, no loss. */
  tern_store_free_bodies (db, data->ids);

  tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_REMOVED, folders, data->ids);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_delete_messages_async:
 * @message_ids: (element-type gint64): the messages
 *
 * Deletes messages from the store for good, bodies included.
 */
void
tern_store_delete_messages_async (TernStore           *self,
                                  GArray              *message_ids,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  IdsData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = ids_task_new (self, message_ids, tern_store_delete_messages_async, cancellable,
                       callback, user_data, &data);
  tern_store_queue_write (self, task, delete_messages_job);
}

gboolean
tern_store_delete_messages_finish (TernStore     *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Reading */

static void
queue_one_message_read (TernStore           *self,
                        gint64               message_id,
                        gpointer             source_tag,
                        TernStoreJobFunc     func,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GArray) ids = id_array_new ();
  IdsData *data;

  g_array_append_val (ids, message_id);
  task = ids_task_new (self, ids, source_tag, cancellable, callback, user_data, &data);
  tern_store_queue_read (self, task, func);
}

static TernMessage *
load_message (TernStoreDb  *db,
              gint64        id,
              gboolean      with_attachments,
              GError      **error)
{
  g_autoptr(TernMessage) message = NULL;
  sqlite3_stmt *stmt;
  int rc;

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT " TERN_STORE_MESSAGE_COLUMNS " FROM messages WHERE id = ?",
                                  error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    message = tern_message_new_from_stmt (stmt);
  sqlite3_reset (stmt);

  if (rc == SQLITE_DONE)
    {
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   "There is no message %" G_GINT64_FORMAT, id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      tern_store_sql_error (db->index, rc, "Could not read a message", error);
      return NULL;
    }

  if (with_attachments)
    {
      g_autoptr(GPtrArray) attachments = g_ptr_array_new ();

      g_ptr_array_set_free_func (attachments, NULL);
      stmt = tern_store_db_statement (db, db->index,
                                      "SELECT filename, mime_type, size, part_path, content_id, "
                                      "is_inline FROM attachments WHERE message_id = ? ORDER BY id",
                                      error);
      if (stmt == NULL)
        return NULL;
      sqlite3_bind_int64 (stmt, 1, id);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          TernAttachment *attachment = g_new0 (TernAttachment, 1);

          attachment->filename = g_strdup (tern_store_column_text (stmt, 0));
          attachment->mime_type = g_strdup (tern_store_column_text (stmt, 1));
          attachment->size = sqlite3_column_int64 (stmt, 2);
          attachment->part_path = g_strdup (tern_store_column_text (stmt, 3));
          attachment->content_id = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
          attachment->is_inline = sqlite3_column_int (stmt, 5) != 0;
          g_ptr_array_add (tern_message_get_attachments (message), attachment);
        }
      sqlite3_reset (stmt);
    }

  return g_steal_pointer (&message);
}

static void
get_message_job (TernStore   *self,
                 TernStoreDb *db,
                 GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  TernMessage *message;
  GError *error = NULL;

  message = load_message (db, g_array_index (data->ids, gint64, 0), TRUE, &error);
  if (message == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, message, (GDestroyNotify) tern_message_unref);
}

void
tern_store_get_message_async (TernStore           *self,
                              gint64               message_id,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));

  queue_one_message_read (self, message_id, tern_store_get_message_async, get_message_job,
                          cancellable, callback, user_data);
}

/**
 * tern_store_get_message_finish:
 *
 * Returns: (transfer full): the message, with its attachments.
 */
TernMessage *
tern_store_get_message_finish (TernStore     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
get_messages_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);

  /* Messages deleted meanwhile are left out. */
  for (guint i = 0; i < data->ids->len; i++)
    {
      TernMessage *message = load_message (db, g_array_index (data->ids, gint64, i), FALSE, NULL);

      if (message != NULL)
        g_ptr_array_add (messages, message);
    }

  g_task_return_pointer (task, g_steal_pointer (&messages), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_get_messages_async:
 * @message_ids: (element-type gint64): the messages
 *
 * Reads the rows of several messages, without attachments, for lists.
 */
void
tern_store_get_messages_async (TernStore           *self,
                               GArray              *message_ids,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  IdsData *data;

  g_return_if_fail (TERN_IS_STORE (self));

  task = ids_task_new (self, message_ids, tern_store_get_messages_async, cancellable, callback,
                       user_data, &data);
  tern_store_queue_read (self, task, get_messages_job);
}

/**
 * tern_store_get_messages_finish:
 *
 * Returns: (transfer container) (element-type TernMessage): the messages
 *   that still exist, in the order asked.
 */
GPtrArray *
tern_store_get_messages_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
get_raw_job (TernStore   *self,
             TernStoreDb *db,
             GTask       *task)
{
  IdsData *data = g_task_get_task_data (task);
  GBytes *raw;
  GError *error = NULL;

  raw = tern_store_body_get (db, g_array_index (data->ids, gint64, 0), &error);
  if (raw == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, raw, (GDestroyNotify) g_bytes_unref);
}

void
tern_store_get_raw_async (TernStore           *self,
                          gint64               message_id,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));

  queue_one_message_read (self, message_id, tern_store_get_raw_async, get_raw_job,
                          cancellable, callback, user_data);
}

/**
 * tern_store_get_raw_finish:
 *
 * Returns: (transfer full): the message as it was stored, byte for byte.
 */
GBytes *
tern_store_get_raw_finish (TernStore     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Listing */

typedef struct
{
  gint64 folder_id;
  guint offset;
  guint limit;
  char *query;
} ListData;

static void
list_data_free (ListData *data)
{
  g_free (data->query);
  g_free (data);
}

static void
queue_list_read (TernStore           *self,
                 gint64               folder_id,
                 guint                offset,
                 guint                limit,
                 const char          *query,
                 gpointer             source_tag,
                 TernStoreJobFunc     func,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  ListData *data = g_new0 (ListData, 1);

  g_task_set_source_tag (task, source_tag);
  data->folder_id = folder_id;
  data->offset = offset;
  data->limit = limit;
  data->query = g_strdup (query);
  g_task_set_task_data (task, data, (GDestroyNotify) list_data_free);
  tern_store_queue_read (self, task, func);
}

static void
list_messages_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task)
{
  ListData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);
  sqlite3_stmt *stmt;
  GError *error = NULL;
  int rc;

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT " TERN_STORE_MESSAGE_COLUMNS " FROM messages "
                                  "WHERE folder_id = ? ORDER BY date DESC, id DESC LIMIT ? OFFSET ?",
                                  &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->folder_id);
  sqlite3_bind_int (stmt, 2, data->limit);
  sqlite3_bind_int (stmt, 3, data->offset);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (messages, tern_message_new_from_stmt (stmt));
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not list messages", &error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&messages), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_list_messages_async:
 * @folder_id: the folder
 * @offset: how many of the newest to skip
 * @limit: how many to return at most
 *
 * Lists a folder's messages, newest first.
 */
void
tern_store_list_messages_async (TernStore           *self,
                                gint64               folder_id,
                                guint                offset,
                                guint                limit,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));

  queue_list_read (self, folder_id, offset, limit, NULL, tern_store_list_messages_async,
                   list_messages_job, cancellable, callback, user_data);
}

/**
 * tern_store_list_messages_finish:
 *
 * Returns: (transfer container) (element-type TernMessage): the messages.
 */
GPtrArray *
tern_store_list_messages_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Conversations */

typedef struct
{
  gint64 conversation_id;
  gint64 from_folder_id;
} ConversationData;

static void
list_conversation_job (TernStore   *self,
                       TernStoreDb *db,
                       GTask       *task)
{
  ConversationData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);
  sqlite3_stmt *stmt;
  GError *error = NULL;
  int rc;

  /* The newest, read through the messages_conversation index and put
   * oldest first below. */
  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT " TERN_STORE_MESSAGE_COLUMNS " FROM messages "
                                  "WHERE conversation_id = ?1 "
                                  "AND (?2 = 0 OR folder_id = ?2 OR folder_role NOT IN (?3, ?4)) "
                                  "ORDER BY date DESC, id DESC LIMIT ?5",
                                  &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->conversation_id);
  sqlite3_bind_int64 (stmt, 2, data->from_folder_id);
  sqlite3_bind_int (stmt, 3, TERN_FOLDER_ROLE_TRASH);
  sqlite3_bind_int (stmt, 4, TERN_FOLDER_ROLE_JUNK);
  sqlite3_bind_int (stmt, 5, TERN_STORE_CONVERSATION_LIMIT);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (messages, tern_message_new_from_stmt (stmt));
  sqlite3_reset (stmt);

  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not list the conversation", &error);
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0, j = messages->len; i + 1 < j; i++, j--)
    {
      gpointer newer = messages->pdata[i];

      messages->pdata[i] = messages->pdata[j - 1];
      messages->pdata[j - 1] = newer;
    }

  g_task_return_pointer (task, g_steal_pointer (&messages), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_list_conversation_async:
 * @conversation_id: the conversation, as tern_message_get_conversation_id()
 *   gives it
 * @from_folder_id: the folder the conversation is opened from, or 0
 *
 * Lists a conversation's messages in every folder of every account,
 * oldest first, without attachments: its %TERN_STORE_CONVERSATION_LIMIT
 * newest at most.
 *
 * Messages in a Trash or Junk folder are left out, unless they are in
 * @from_folder_id itself: a conversation opened from the Inbox does not
 * show what was thrown away, one opened from the Trash shows the Trash's
 * messages among the others.  With @from_folder_id 0 nothing is left out.
 * Conversation 0 (none) has no messages.
 */
void
tern_store_list_conversation_async (TernStore           *self,
                                    gint64               conversation_id,
                                    gint64               from_folder_id,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ConversationData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (from_folder_id >= 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_list_conversation_async);
  if (conversation_id <= 0)
    {
      g_task_return_pointer (task,
                             g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref),
                             (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  data = g_new0 (ConversationData, 1);
  data->conversation_id = conversation_id;
  data->from_folder_id = from_folder_id;
  g_task_set_task_data (task, data, g_free);
  tern_store_queue_read (self, task, list_conversation_job);
}

/**
 * tern_store_list_conversation_finish:
 *
 * Returns: (transfer container) (element-type TernMessage): the messages,
 *   oldest first; empty when the conversation has none (left).
 */
GPtrArray *
tern_store_list_conversation_finish (TernStore     *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Searching */

static void
search_job (TernStore   *self,
            TernStoreDb *db,
            GTask       *task)
{
  ListData *data = g_task_get_task_data (task);
  g_autoptr(TernSearchQuery) query = NULL;
  g_autoptr(GString) sql = g_string_new ("SELECT m.id FROM messages AS m WHERE ");
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) ids = id_array_new ();
  GError *error = NULL;
  int rc;

  query = tern_search_query_parse (data->query, &error);
  if (query == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  tern_search_query_build_sql (query, sql, params);
  if (data->folder_id > 0)
    {
      g_string_append (sql, " AND m.folder_id = ?");
      g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (data->folder_id)));
    }
  g_string_append (sql, " ORDER BY m.date DESC, m.id DESC");
  if (data->limit > 0)
    g_string_append_printf (sql, " LIMIT %u", data->limit);

  stmt = tern_store_prepare (db->index, sql->str, &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  rc = tern_search_query_bind (params, stmt, 1);
  if (rc != SQLITE_OK)
    {
      tern_store_sql_error (db->index, rc, "Could not search", &error);
      g_task_return_error (task, error);
      return;
    }

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (ids, id);
    }

  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not search", &error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&ids), (GDestroyNotify) g_array_unref);
}

/**
 * tern_store_search_async:
 * @query: words, with from:, to:, subject:, has:attachment, is:unread,
 *   is:flagged, before: and after:
 * @folder_id: a folder to search in, or 0 for all
 * @limit: the most results to return, or 0 for all
 *
 * Searches the full-text index.  A query that cannot be understood (a bad
 * date) is an error that names the word.
 */
void
tern_store_search_async (TernStore           *self,
                         const char          *query,
                         gint64               folder_id,
                         guint                limit,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (query != NULL);

  queue_list_read (self, folder_id, 0, limit, query, tern_store_search_async, search_job,
                   cancellable, callback, user_data);
}

/**
 * tern_store_search_finish:
 *
 * Returns: (transfer full) (element-type gint64): the matching messages'
 *   ids, newest first.
 */
GArray *
tern_store_search_finish (TernStore     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Completion */

static void
complete_address_job (TernStore   *self,
                      TernStoreDb *db,
                      GTask       *task)
{
  ListData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) pattern = g_string_new (NULL);
  sqlite3_stmt *stmt;
  GError *error = NULL;

  /* LIKE wildcards typed by the user are taken literally. */
  for (const char *p = data->query; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT name, address FROM addresses "
                                  "WHERE address LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' "
                                  "OR name LIKE '% ' || ?1 ESCAPE '\\' "
                                  "ORDER BY use_count DESC, last_used DESC LIMIT ?2",
                                  &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_text (stmt, 1, pattern->str, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 2, data->limit > 0 ? data->limit : 10);

  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = tern_store_column_text (stmt, 0);
      const char *address = tern_store_column_text (stmt, 1);

      if (*name != '\0')
        g_ptr_array_add (results, g_strdup_printf ("%s <%s>", name, address));
      else
        g_ptr_array_add (results, g_strdup (address));
    }
  sqlite3_reset (stmt);

  g_task_return_pointer (task, g_steal_pointer (&results), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_complete_address_async:
 * @prefix: what the user typed
 * @limit: the most suggestions
 *
 * Suggests addresses seen in mail whose address or name begins with
 * @prefix, the most used first.
 */
void
tern_store_complete_address_async (TernStore           *self,
                                   const char          *prefix,
                                   guint                limit,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (prefix != NULL);

  queue_list_read (self, 0, 0, limit, prefix, tern_store_complete_address_async,
                   complete_address_job, cancellable, callback, user_data);
}

/**
 * tern_store_complete_address_finish:
 *
 * Returns: (transfer container) (element-type utf8): "Name <address>"
 *   suggestions.
 */
GPtrArray *
tern_store_complete_address_finish (TernStore     *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
