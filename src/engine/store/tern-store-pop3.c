/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-message-flags.h"
#include "tern-mime-message.h"
#include "tern-store-pop3.h"
#include "tern-store-private.h"

/*
 * POP3 bookkeeping over the pop3_uidls table (003-pop3.sql).
 *
 * Adding downloaded mail takes three commits, all synced to the disk:
 *
 *   1. the index records each UIDL as "storing", with the id its body will
 *      get (the writer thread is the only writer, so the next id of the
 *      bodies table is known) and the body's SHA-256;
 *   2. the bodies database takes the bodies;
 *   3. the index takes the messages' rows and marks their UIDLs stored, in
 *      one transaction.
 *
 * A crash after 2 and before 3 leaves bodies that the next open of the
 * store indexes; the next load finds their UIDLs still "storing", sees the
 * body with that id and checksum, and marks them stored, so the message is
 * not downloaded a second time.  A crash before 2 leaves "storing" rows
 * with no matching body, which the next load forgets: the message is
 * downloaded again, as it was never kept.
 *
 * The bodies database keeps its own list of the UIDLs kept (pop3_kept),
 * written with the bodies in step 2 and never dropped when a message is
 * deleted here.  An index made anew from the bodies takes its records
 * from it, so mail deleted here stays deleted.
 *
 * A message whose UIDL the store does not know, but which the target
 * folder already holds byte for byte (same Message-ID, same size, same
 * bytes), is not stored again: its UIDL is recorded against the copy
 * there.  This covers records lost with a damaged index, which the store
 * makes again from the bodies without them.
 */

enum {
  STATE_STORING = 0,
  STATE_STORED = 1,
};

void
tern_pop3_record_free (TernPop3Record *record)
{
  if (record == NULL)
    return;
  g_free (record->uidl);
  g_free (record);
}

static char *
checksum_of (GBytes *raw)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, raw);
}

static gboolean
step_done (sqlite3       *db,
           sqlite3_stmt  *stmt,
           const char    *what,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return tern_store_sql_error (db, rc, what, error);
  return TRUE;
}

/* Loading */

/* Settles the rows a crash left in state "storing". */
static gboolean
resolve_storing (TernStoreDb  *db,
                 const char   *account,
                 GError      **error)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(GPtrArray) stored = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) lost = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *update;
  sqlite3_stmt *forget;
  int rc;

  select = tern_store_prepare (db->index,
                               "SELECT uidl, message_id, checksum FROM pop3_uidls "
                               "WHERE account = ? AND state = 0",
                               error);
  if (select == NULL)
    return FALSE;
  sqlite3_bind_text (select, 1, account, -1, SQLITE_STATIC);

  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      g_autoptr(GBytes) raw = NULL;
      g_autofree char *sum = NULL;
      const char *uidl = tern_store_column_text (select, 0);

      raw = tern_store_body_get (db, sqlite3_column_int64 (select, 1), NULL);
      if (raw != NULL)
        sum = checksum_of (raw);
      if (sum != NULL && g_str_equal (sum, tern_store_column_text (select, 2)))
        g_ptr_array_add (stored, g_strdup (uidl));
      else
        g_ptr_array_add (lost, g_strdup (uidl));
    }
  if (rc != SQLITE_DONE)
    return tern_store_sql_error (db->index, rc, "Could not read the POP3 records", error);

  if (stored->len == 0 && lost->len == 0)
    return TRUE;

  update = tern_store_db_statement (db, db->index,
                                    "UPDATE pop3_uidls SET state = 1 "
                                    "WHERE account = ? AND uidl = ?",
                                    error);
  forget = tern_store_db_statement (db, db->index,
                                    "DELETE FROM pop3_uidls WHERE account = ? AND uidl = ?",
                                    error);
  if (update == NULL || forget == NULL || !tern_store_begin (db->index, error))
    return FALSE;

  for (guint i = 0; i < stored->len; i++)
    {
      sqlite3_bind_text (update, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (update, 2, g_ptr_array_index (stored, i), -1, SQLITE_STATIC);
      if (!step_done (db->index, update, "Could not update a POP3 record", error))
        goto failed;
    }
  for (guint i = 0; i < lost->len; i++)
    {
      sqlite3_bind_text (forget, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_text (forget, 2, g_ptr_array_index (lost, i), -1, SQLITE_STATIC);
      if (!step_done (db->index, forget, "Could not update a POP3 record", error))
        goto failed;
    }

  if (!tern_store_commit (db->index, error))
    goto failed;

  if (stored->len > 0)
    g_message ("%u POP3 messages of %s were stored before an interruption", stored->len,
               account);
  return TRUE;

failed:
  tern_store_rollback (db->index);
  return FALSE;
}

static void
load_job (TernStore   *self,
          TernStoreDb *db,
          GTask       *task)
{
  const char *account = g_task_get_task_data (task);
  g_autoptr(GHashTable) records = NULL;
  g_autoptr(sqlite3_stmt) select = NULL;
  GError *error = NULL;
  int rc;

  if (!resolve_storing (db, account, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  select = tern_store_prepare (db->index,
                               "SELECT p.uidl, p.message_id, p.first_seen, "
                               "  p.deleted_here OR NOT EXISTS "
                               "    (SELECT 1 FROM messages m WHERE m.id = p.message_id) "
                               "FROM pop3_uidls p WHERE p.account = ? AND p.state = 1",
                               &error);
  if (select == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_text (select, 1, account, -1, SQLITE_STATIC);

  records = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                   (GDestroyNotify) tern_pop3_record_free);
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      TernPop3Record *record = g_new0 (TernPop3Record, 1);

      record->uidl = g_strdup (tern_store_column_text (select, 0));
      record->message_id = sqlite3_column_int64 (select, 1);
      record->first_seen = sqlite3_column_int64 (select, 2);
      record->deleted_here = sqlite3_column_int (select, 3) != 0;
      g_hash_table_replace (records, record->uidl, record);
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not read the POP3 records", &error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&records), (GDestroyNotify) g_hash_table_unref);
}

/**
 * tern_store_pop3_load_async:
 * @account: the POP3 account's id
 *
 * Reads what the store knows of @account's POP3 messages.  Records left
 * half written by a crash are settled first (see the top of this file).
 */
void
tern_store_pop3_load_async (TernStore           *self,
                            const char          *account,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_pop3_load_async);
  g_task_set_task_data (task, g_strdup (account), g_free);
  /* On the writer: settling half-written records writes. */
  tern_store_queue_write (self, task, load_job);
}

/**
 * tern_store_pop3_load_finish:
 *
 * Returns: (transfer full) (element-type utf8 TernPop3Record): the stored
 *   messages by UIDL, or %NULL with @error set.
 */
GHashTable *
tern_store_pop3_load_finish (TernStore     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The bodies' list of kept UIDLs */

static gboolean
copy_rows (sqlite3       *from,
           const char    *select_sql,
           sqlite3       *to,
           const char    *insert_sql,
           GError       **error)
{
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  int rc;

  select = tern_store_prepare (from, select_sql, error);
  if (select == NULL)
    return FALSE;
  insert = tern_store_prepare (to, insert_sql, error);
  if (insert == NULL || !tern_store_begin (to, error))
    return FALSE;
  while ((rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      for (int i = 0; i < 4; i++)
        sqlite3_bind_value (insert, i + 1, sqlite3_column_value (select, i));
      if (!step_done (to, insert, "Could not copy the POP3 records", error))
        {
          tern_store_rollback (to);
          return FALSE;
        }
    }
  if (rc != SQLITE_DONE)
    {
      tern_store_rollback (to);
      return tern_store_sql_error (from, rc, "Could not read the POP3 records", error);
    }
  if (!tern_store_commit (to, error))
    {
      tern_store_rollback (to);
      return FALSE;
    }
  return TRUE;
}

/**
 * tern_store_pop3_restore:
 * @rebuilt: the index was just made anew from the bodies
 *
 * Brings the two lists of kept POP3 messages together when the store
 * opens: an index made anew takes the bodies' list, so that mail deleted
 * here is not downloaded again; bodies from before the list existed take
 * the index's.
 */
gboolean
tern_store_pop3_restore (TernStoreDb  *db,
                         gboolean      rebuilt,
                         GError      **error)
{
  g_autoptr(sqlite3_stmt) any = NULL;

  if (rebuilt)
    return copy_rows (db->bodies,
                      "SELECT account, uidl, body_id, first_seen FROM pop3_kept",
                      db->index,
                      "INSERT OR IGNORE INTO pop3_uidls (account, uidl, state, message_id, "
                      "first_seen) VALUES (?, ?, 1, ?, ?)",
                      error);

  any = tern_store_prepare (db->bodies, "SELECT 1 FROM pop3_kept LIMIT 1", error);
  if (any == NULL)
    return FALSE;
  if (sqlite3_step (any) == SQLITE_ROW)
    return TRUE;
  return copy_rows (db->index,
                    "SELECT account, uidl, message_id, first_seen FROM pop3_uidls "
                    "WHERE state = 1 AND message_id IS NOT NULL",
                    db->bodies,
                    "INSERT OR IGNORE INTO pop3_kept (account, uidl, body_id, first_seen) "
                    "VALUES (?, ?, ?, ?)",
                    error);
}

/**
 * tern_store_pop3_forget_kept:
 *
 * Forgets the bodies' list of POP3 messages kept for @account, as the
 * account goes.
 */
void
tern_store_pop3_forget_kept (TernStoreDb *db,
                             const char  *account)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  stmt = tern_store_prepare (db->bodies, "DELETE FROM pop3_kept WHERE account = ?", NULL);
  if (stmt == NULL)
    return;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_step (stmt);
}

/* Adding */

typedef struct
{
  char *account;
  gint64 folder_id;
  GPtrArray *messages;
  GStrv uidls;
  guint added;
} AddData;

static void
add_data_free (AddData *data)
{
  g_free (data->account);
  g_ptr_array_unref (data->messages);
  g_strfreev (data->uidls);
  g_free (data);
}

static gint64
next_body_id (TernStoreDb  *db,
              GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  /* AUTOINCREMENT gives one more than the largest id ever given. */
  stmt = tern_store_prepare (db->bodies,
                             "SELECT max (ifnull ((SELECT seq FROM sqlite_sequence "
                             "                     WHERE name = 'bodies'), 0), "
                             "            ifnull ((SELECT max (id) FROM bodies), 0))",
                             error);
  if (stmt == NULL)
    return 0;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      tern_store_sql_error (db->bodies, sqlite3_errcode (db->bodies),
                            "Could not read the next message id", error);
      return 0;
    }

  return sqlite3_column_int64 (stmt, 0) + 1;
}

static gint64
stored_message_id (TernStoreDb *db,
                   const char  *account,
                   const char  *uidl)
{
  sqlite3_stmt *stmt;
  gint64 id = 0;

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT message_id FROM pop3_uidls "
                                  "WHERE account = ? AND uidl = ? AND state = 1",
                                  NULL);
  if (stmt == NULL)
    return 0;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, uidl, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  return id;
}

/* The id of a message of @folder_id with the same bytes as @message, or
 * 0. */
static gint64
same_message_in_folder (TernStoreDb    *db,
                        gint64          folder_id,
                        TernNewMessage *message)
{
  TernPreparedMessage *prepared = tern_new_message_get_prepared (message);
  const char *message_id = tern_mime_message_get_message_id (prepared->mime);
  sqlite3_stmt *stmt;
  gint64 found = 0;

  if (message_id == NULL)
    return 0;
  /* Through the conversation the ID belongs to: messages have no index
   * on their Message-ID. */
  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT id FROM messages WHERE conversation_id = "
                                  "  (SELECT conversation_id FROM message_ids WHERE message_id = ?1) "
                                  "AND message_id = ?1 AND folder_id = ?2 AND size = ?3",
                                  NULL);
  if (stmt == NULL)
    return 0;
  sqlite3_bind_text (stmt, 1, message_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, folder_id);
  sqlite3_bind_int64 (stmt, 3, g_bytes_get_size (message->raw));
  while (found == 0 && sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_autoptr(GBytes) raw = tern_store_body_get (db, id, NULL);

      if (raw != NULL && g_bytes_equal (raw, message->raw))
        found = id;
    }
  sqlite3_reset (stmt);
  return found;
}

/* The bodies database's record of a kept UIDL. */
static gboolean
keep_uidl (TernStoreDb  *db,
           const char   *account,
           const char   *uidl,
           gint64        body_id,
           gint64        first_seen,
           GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->bodies,
                                  "INSERT OR REPLACE INTO pop3_kept (account, uidl, body_id, "
                                  "first_seen) VALUES (?, ?, ?, ?)",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, uidl, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, body_id);
  sqlite3_bind_int64 (stmt, 4, first_seen);
  return step_done (db->bodies, stmt, "Could not record a POP3 message", error);
}

static gboolean
drop_kept_uidl (TernStoreDb  *db,
                const char   *account,
                const char   *uidl,
                GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->bodies,
                                  "DELETE FROM pop3_kept WHERE account = ? AND uidl = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, uidl, -1, SQLITE_STATIC);
  return step_done (db->bodies, stmt, "Could not forget a POP3 message", error);
}

/* Records @uidl as stored, as the message @message_id. */
static gboolean
adopt (TernStoreDb  *db,
       const char   *account,
       const char   *uidl,
       gint64        message_id,
       gint64        now,
       GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->index,
                                  "INSERT OR REPLACE INTO pop3_uidls (account, uidl, state, "
                                  "message_id, first_seen) VALUES (?, ?, 1, ?, ?)",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, uidl, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, message_id);
  sqlite3_bind_int64 (stmt, 4, now);
  if (!step_done (db->index, stmt, "Could not record a POP3 message", error))
    return FALSE;

  return keep_uidl (db, account, uidl, message_id, now, error);
}

static void
take_back (TernStoreDb *db,
           const char  *account,
           GPtrArray   *uidls,
           GArray      *body_ids)
{
  sqlite3_stmt *forget = tern_store_db_statement (db, db->index,
                                                  "DELETE FROM pop3_uidls "
                                                  "WHERE account = ? AND uidl = ? AND state = 0",
                                                  NULL);
  sqlite3_stmt *body = tern_store_db_statement (db, db->bodies,
                                                "DELETE FROM bodies WHERE id = ?", NULL);
  sqlite3_stmt *meta = tern_store_db_statement (db, db->bodies,
                                                "DELETE FROM body_meta WHERE id = ?", NULL);

  /* Bodies go first: a "storing" row without its body is forgotten on the
   * next load anyway, a body without its row would be indexed twice. */
  if (body_ids->len > 0 && body != NULL && meta != NULL && tern_store_begin (db->bodies, NULL))
    {
      for (guint i = 0; i < body_ids->len; i++)
        {
          sqlite3_bind_int64 (body, 1, g_array_index (body_ids, gint64, i));
          sqlite3_step (body);
          sqlite3_reset (body);
          sqlite3_bind_int64 (meta, 1, g_array_index (body_ids, gint64, i));
          sqlite3_step (meta);
          sqlite3_reset (meta);
        }
      /* Else a rebuild would take them for mail deleted here. */
      for (guint i = 0; i < uidls->len; i++)
        drop_kept_uidl (db, account, g_ptr_array_index (uidls, i), NULL);
      if (!tern_store_commit (db->bodies, NULL))
        tern_store_rollback (db->bodies);
    }

  if (forget != NULL && tern_store_begin (db->index, NULL))
    {
      for (guint i = 0; i < uidls->len; i++)
        {
          sqlite3_bind_text (forget, 1, account, -1, SQLITE_STATIC);
          sqlite3_bind_text (forget, 2, g_ptr_array_index (uidls, i), -1, SQLITE_STATIC);
          sqlite3_step (forget);
          sqlite3_reset (forget);
        }
      if (!tern_store_commit (db->index, NULL))
        tern_store_rollback (db->index);
    }
}

static gboolean
set_synchronous (TernStoreDb *db,
                 gboolean     full,
                 GError     **error)
{
  const char *sql = full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";

  return tern_store_exec (db->index, sql, error) && tern_store_exec (db->bodies, sql, error);
}

static gboolean
add_in_writer (TernStore    *self,
               TernStoreDb  *db,
               AddData      *data,
               GArray       *ids,
               GArray       *new_ids,
               GError      **error)
{
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GPtrArray) new_uidls = g_ptr_array_new ();
  g_autoptr(GPtrArray) new_messages = g_ptr_array_new ();
  g_autoptr(GArray) body_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 first_id;
  guint unread = 0;

  folder = tern_store_folder_load (db->index, data->folder_id, error);
  if (folder == NULL)
    return FALSE;

  /* A message stored already is not stored twice. */
  for (guint i = 0; i < data->messages->len; i++)
    {
      gint64 known = stored_message_id (db, data->account, data->uidls[i]);

      if (known == 0)
        {
          known = same_message_in_folder (db, data->folder_id, g_ptr_array_index (data->messages,
                                                                                  i));
          if (known > 0 && !adopt (db, data->account, data->uidls[i], known, now, error))
            return FALSE;
        }
      g_array_append_val (ids, known);
      if (known == 0)
        {
          g_ptr_array_add (new_uidls, data->uidls[i]);
          g_ptr_array_add (new_messages, g_ptr_array_index (data->messages, i));
        }
    }
  if (new_messages->len == 0)
    return TRUE;

  /* 1. The UIDLs, as "storing", with their bodies' future ids. */
  first_id = next_body_id (db, error);
  if (first_id <= 0)
    return FALSE;
  stmt = tern_store_db_statement (db, db->index,
                                  "INSERT OR REPLACE INTO pop3_uidls (account, uidl, state, "
                                  "message_id, checksum, first_seen) VALUES (?, ?, 0, ?, ?, ?)",
                                  error);
  if (stmt == NULL || !tern_store_begin (db->index, error))
    return FALSE;
  for (guint i = 0; i < new_messages->len; i++)
    {
      TernNewMessage *message = g_ptr_array_index (new_messages, i);
      g_autofree char *sum = checksum_of (message->raw);

      sqlite3_bind_text (stmt, 1, data->account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, g_ptr_array_index (new_uidls, i), -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, first_id + i);
      sqlite3_bind_text (stmt, 4, sum, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 5, now);
      if (!step_done (db->index, stmt, "Could not record a POP3 message", error))
        {
          tern_store_rollback (db->index);
          return FALSE;
        }
    }
  if (!tern_store_commit (db->index, error))
    {
      tern_store_rollback (db->index);
      return FALSE;
    }

  /* 2. The bodies. */
  if (!tern_store_begin (db->bodies, error))
    goto failed;
  for (guint i = 0; i < new_messages->len; i++)
    {
      TernNewMessage *message = g_ptr_array_index (new_messages, i);
      TernPreparedMessage *prepared = tern_new_message_get_prepared (message);
      gint64 id;

      id = tern_store_body_put (db, message->raw, prepared->stored, prepared->encoding,
                                tern_folder_get_account (folder), tern_folder_get_path (folder),
                                0, message->flags, message->internal_date, message->keywords,
                                error);
      if (id <= 0)
        goto failed_bodies;
      if (id != first_id + i)
        {
          g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_FAILED,
                       "A stored message got id %" G_GINT64_FORMAT " instead of %"
                       G_GINT64_FORMAT, id, first_id + i);
          goto failed_bodies;
        }
      g_array_append_val (body_ids, id);
      if (!keep_uidl (db, data->account, g_ptr_array_index (new_uidls, i), id, now, error))
        goto failed_bodies;
    }
  if (!tern_store_commit (db->bodies, error))
    goto failed_bodies;

  /* 3. The messages' rows and their UIDLs marked stored, together. */
  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE pop3_uidls SET state = 1, checksum = NULL "
                                  "WHERE account = ? AND uidl = ?",
                                  error);
  if (stmt == NULL || !tern_store_begin (db->index, error))
    goto failed;
  for (guint i = 0; i < new_messages->len; i++)
    {
      TernNewMessage *message = g_ptr_array_index (new_messages, i);

      if ((message->flags & (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0)
        unread++;
      if (!tern_store_ingest (self, db, folder, g_array_index (body_ids, gint64, i),
                              message->raw, tern_new_message_get_prepared (message)->mime,
                              message->flags, 0, message->internal_date, message->keywords,
                              error))
        goto failed_index;
      sqlite3_bind_text (stmt, 1, data->account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, g_ptr_array_index (new_uidls, i), -1, SQLITE_STATIC);
      if (!step_done (db->index, stmt, "Could not record a POP3 message", error))
        goto failed_index;
    }
  if (!tern_store_count_added (db, data->folder_id, new_messages->len, unread, error) ||
      !tern_store_commit (db->index, error))
    goto failed_index;

  if (tern_store_begin (db->bodies, NULL))
    {
      if (tern_store_body_set_state (db, body_ids, 1, NULL))
        tern_store_commit (db->bodies, NULL);
      tern_store_rollback (db->bodies);
    }

  for (guint i = 0, n = 0; i < ids->len; i++)
    if (g_array_index (ids, gint64, i) == 0)
      g_array_index (ids, gint64, i) = g_array_index (body_ids, gint64, n++);
  g_array_append_vals (new_ids, body_ids->data, body_ids->len);
  return TRUE;

failed_index:
  tern_store_rollback (db->index);
  take_back (db, data->account, new_uidls, body_ids);
  return FALSE;

failed_bodies:
  tern_store_rollback (db->bodies);
  g_array_set_size (body_ids, 0);
failed:
  take_back (db, data->account, new_uidls, body_ids);
  return FALSE;
}

static void
add_job (TernStore   *self,
         TernStoreDb *db,
         GTask       *task)
{
  AddData *data = g_task_get_task_data (task);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) new_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GError *error = NULL;
  gboolean ok;

  if (!set_synchronous (db, TRUE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  ok = add_in_writer (self, db, data, ids, new_ids, &error);
  set_synchronous (db, FALSE, NULL);

  if (!ok)
    {
      g_task_return_error (task, error);
      return;
    }

  data->added = new_ids->len;
  if (new_ids->len > 0)
    {
      g_autoptr(GArray) folder_ids = g_array_new (FALSE, FALSE, sizeof (gint64));

      g_array_append_val (folder_ids, data->folder_id);
      tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, new_ids);
    }
  g_task_return_pointer (task, g_steal_pointer (&ids), (GDestroyNotify) g_array_unref);
}

/**
 * tern_store_pop3_add_async:
 * @account: the POP3 account the messages come from
 * @folder_id: the folder they go into (an Inbox, maybe of another account)
 * @messages: (element-type TernNewMessage): the downloaded messages
 * @uidls: their UIDLs, as many as @messages
 *
 * Stores downloaded messages and records their UIDLs as stored, synced to
 * the disk before the call returns: after it, the server's copies may be
 * deleted.  A message whose UIDL is stored already is not stored again;
 * its existing id is returned.  All or nothing: on error, none of the
 * messages is recorded as stored.
 */
void
tern_store_pop3_add_async (TernStore           *self,
                           const char          *account,
                           gint64               folder_id,
                           GPtrArray           *messages,
                           const char * const  *uidls,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AddData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);
  g_return_if_fail (messages != NULL && uidls != NULL);
  g_return_if_fail (g_strv_length ((char **) uidls) == messages->len);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_pop3_add_async);
  data = g_new0 (AddData, 1);
  data->account = g_strdup (account);
  data->folder_id = folder_id;
  data->messages = g_ptr_array_ref (messages);
  data->uidls = g_strdupv ((char **) uidls);
  g_task_set_task_data (task, data, (GDestroyNotify) add_data_free);
  tern_store_queue_write (self, task, add_job);
}

/**
 * tern_store_pop3_add_finish:
 * @out_added: (out) (optional): how many of the messages were stored by
 *   this call (the others the store had already)
 *
 * Returns: (transfer full) (element-type gint64): the messages' ids in the
 *   order given, or %NULL with @error set.
 */
GArray *
tern_store_pop3_add_finish (TernStore     *self,
                            GAsyncResult  *result,
                            guint         *out_added,
                            GError       **error)
{
  AddData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (out_added != NULL)
    *out_added = data->added;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Forgetting and noting deletions */

typedef struct
{
  char *account;
  GStrv uidls;
  GArray *message_ids;
} ChangeData;

static void
change_data_free (ChangeData *data)
{
  g_free (data->account);
  g_strfreev (data->uidls);
  g_clear_pointer (&data->message_ids, g_array_unref);
  g_free (data);
}

static void
forget_job (TernStore   *self,
            TernStoreDb *db,
            GTask       *task)
{
  ChangeData *data = g_task_get_task_data (task);
  sqlite3_stmt *stmt;
  GError *error = NULL;

  stmt = tern_store_db_statement (db, db->index,
                                  "DELETE FROM pop3_uidls WHERE account = ? AND uidl = ?",
                                  &error);
  if (stmt == NULL || !tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; data->uidls[i] != NULL; i++)
    {
      sqlite3_bind_text (stmt, 1, data->account, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, data->uidls[i], -1, SQLITE_STATIC);
      if (!step_done (db->index, stmt, "Could not forget a POP3 message", &error))
        {
          tern_store_rollback (db->index);
          g_task_return_error (task, error);
          return;
        }
    }
  if (!tern_store_commit (db->index, &error))
    {
      tern_store_rollback (db->index);
      g_task_return_error (task, error);
      return;
    }

  /* The server has them no more: the bodies' list forgets them too.  Left
   * behind, a row costs nothing but a few bytes. */
  if (tern_store_begin (db->bodies, NULL))
    {
      for (guint i = 0; data->uidls[i] != NULL; i++)
        drop_kept_uidl (db, data->account, data->uidls[i], NULL);
      if (!tern_store_commit (db->bodies, NULL))
        tern_store_rollback (db->bodies);
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * tern_store_pop3_forget_async:
 * @uidls: the UIDLs of messages the server no longer has
 *
 * Forgets the records of messages deleted on the server (after a QUIT
 * that made the deletion take effect).  The local copies stay.
 */
void
tern_store_pop3_forget_async (TernStore           *self,
                              const char          *account,
                              const char * const  *uidls,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ChangeData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL && uidls != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_pop3_forget_async);
  data = g_new0 (ChangeData, 1);
  data->account = g_strdup (account);
  data->uidls = g_strdupv ((char **) uidls);
  g_task_set_task_data (task, data, (GDestroyNotify) change_data_free);
  tern_store_queue_write (self, task, forget_job);
}

gboolean
tern_store_pop3_forget_finish (TernStore     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
note_deleted_job (TernStore   *self,
                  TernStoreDb *db,
                  GTask       *task)
{
  ChangeData *data = g_task_get_task_data (task);
  sqlite3_stmt *stmt;
  GError *error = NULL;

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE pop3_uidls SET deleted_here = 1 WHERE message_id = ?",
                                  &error);
  if (stmt == NULL || !tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < data->message_ids->len; i++)
    {
      sqlite3_bind_int64 (stmt, 1, g_array_index (data->message_ids, gint64, i));
      if (!step_done (db->index, stmt, "Could not note a deletion", &error))
        {
          tern_store_rollback (db->index);
          g_task_return_error (task, error);
          return;
        }
    }
  if (!tern_store_commit (db->index, &error))
    {
      tern_store_rollback (db->index);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * tern_store_pop3_note_deleted_async:
 * @message_ids: (element-type gint64): local messages the user deleted
 *
 * Records that the user deleted these downloaded messages here (moved them
 * to the Trash, say), so that an account set to delete on the server what
 * is deleted here does so on its next check.  Messages removed from the
 * store altogether count as deleted without this call.
 */
void
tern_store_pop3_note_deleted_async (TernStore           *self,
                                    GArray              *message_ids,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ChangeData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (message_ids != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_pop3_note_deleted_async);
  data = g_new0 (ChangeData, 1);
  data->message_ids = g_array_ref (message_ids);
  g_task_set_task_data (task, data, (GDestroyNotify) change_data_free);
  tern_store_queue_write (self, task, note_deleted_job);
}

gboolean
tern_store_pop3_note_deleted_finish (TernStore     *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
