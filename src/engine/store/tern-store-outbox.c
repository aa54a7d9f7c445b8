/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-message-flags.h"
#include "tern-store-outbox.h"
#include "tern-store-drafts.h"
#include "tern-store-private.h"

/*
 * The outbox over the `outbox` table of 001-initial.sql.  body_id is the
 * id of the queued message (a message's id is its body's id); identity
 * holds the envelope sender; recipients the envelope recipients, one a
 * line.
 *
 * Adding takes three synced commits: the outbox row in state "storing"
 * (4) with the id its body will get; the body in bodies.sqlite; the
 * message's index row with the outbox row made "queued".  A crash after
 * the body leaves it for the next open of the store to index into the
 * Outbox folder, and tern_store_outbox_recover_async() then queues the
 * row; a crash before leaves a row without a message, which it drops.
 * Rows in state "sending" when the program stopped go back to "queued"
 * too: a message may then go out twice, never not at all.
 */

#define ITEM_COLUMNS \
  "o.id, o.account, o.identity, o.recipients, o.body_id, o.state, o.attempts, o.created, " \
  "o.send_after, o.next_attempt, o.last_error, ifnull (m.size, 0), ifnull (m.subject, ''), " \
  "o.dsn_notify, o.dsn_ret"

void
tern_outbox_item_free (TernOutboxItem *item)
{
  if (item == NULL)
    return;
  g_free (item->account);
  g_free (item->sender);
  g_strfreev (item->recipients);
  g_free (item->last_error);
  g_free (item->subject);
  g_free (item);
}

static TernOutboxItem *
item_from_stmt (sqlite3_stmt *stmt)
{
  TernOutboxItem *item = g_new0 (TernOutboxItem, 1);

  item->id = sqlite3_column_int64 (stmt, 0);
  item->account = g_strdup (tern_store_column_text (stmt, 1));
  item->sender = g_strdup (tern_store_column_text (stmt, 2));
  item->recipients = g_strsplit (tern_store_column_text (stmt, 3), "\n", -1);
  item->message_id = sqlite3_column_int64 (stmt, 4);
  item->state = sqlite3_column_int (stmt, 5);
  item->attempts = sqlite3_column_int (stmt, 6);
  item->created = sqlite3_column_int64 (stmt, 7);
  item->send_after = sqlite3_column_int64 (stmt, 8);
  item->next_attempt = sqlite3_column_int64 (stmt, 9);
  if (sqlite3_column_type (stmt, 10) != SQLITE_NULL)
    item->last_error = g_strdup (tern_store_column_text (stmt, 10));
  item->size = sqlite3_column_int64 (stmt, 11);
  item->subject = g_strdup (tern_store_column_text (stmt, 12));
  item->dsn_notify = (guint) sqlite3_column_int (stmt, 13);
  item->dsn_ret = (guint) sqlite3_column_int (stmt, 14);
  return item;
}

static TernOutboxItem *
load_item (sqlite3  *db,
           gint64    id,
           GError  **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = tern_store_prepare (db, "SELECT " ITEM_COLUMNS " FROM outbox o "
                                 "LEFT JOIN messages m ON m.id = o.body_id WHERE o.id = ?",
                             error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return item_from_stmt (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                 "Outgoing message %" G_GINT64_FORMAT " is not in the outbox", id);
  else
    tern_store_sql_error (db, rc, "Could not read the outbox", error);
  return NULL;
}

static gboolean
step_done (sqlite3       *db,
           sqlite3_stmt  *stmt,
           const char    *what,
           GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    return tern_store_sql_error (db, rc, what, error);
  return TRUE;
}

/* Adding */

typedef struct
{
  char *account;
  char *sender;
  GStrv recipients;
  TernNewMessage *message;
  gint64 send_after;
  guint dsn_notify;
  guint dsn_ret;
  gint64 item_id;
  GArray *ids;
} ItemData;

static void
item_data_free (ItemData *data)
{
  g_free (data->account);
  g_free (data->sender);
  g_strfreev (data->recipients);
  g_clear_pointer (&data->message, tern_new_message_free);
  g_clear_pointer (&data->ids, g_array_unref);
  g_free (data);
}

static gboolean
set_synchronous (TernStoreDb *db,
                 gboolean     full,
                 GError     **error)
{
  const char *sql = full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";

  return tern_store_exec (db->index, sql, error) && tern_store_exec (db->bodies, sql, error);
}

/* The id the next body will get: AUTOINCREMENT gives one more than the
 * largest ever given, and this thread is the only writer. */
static gint64
next_body_id (TernStoreDb  *db,
              GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

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
add_in_writer (TernStore    *self,
               TernStoreDb  *db,
               ItemData     *data,
               GError      **error)
{
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  g_autoptr(sqlite3_stmt) queued = NULL;
  g_autofree char *recipients = g_strjoinv ("\n", data->recipients);
  TernPreparedMessage *prepared = tern_new_message_get_prepared (data->message);
  gint64 expected_id;
  gint64 body_id;
  gint64 item_id = 0;

  /* 1. The folder, and the row in state "storing" with the id the body
   *    will get. */
  expected_id = next_body_id (db, error);
  if (expected_id <= 0)
    return 0;
  insert = tern_store_prepare (db->index,
                               "INSERT INTO outbox (account, identity, body_id, recipients, "
                               "state, created, send_after, next_attempt, dsn_notify, dsn_ret) "
                               "VALUES (?, ?, ?, ?, 4, ?, ?, 0, ?, ?)",
                               error);
  if (insert == NULL || !tern_store_begin (db->index, error))
    return 0;
  folder = tern_store_folder_ensure (db->index, TERN_LOCAL_ACCOUNT, TERN_OUTBOX_FOLDER,
                                     TERN_FOLDER_ROLE_NONE, FALSE, error);
  if (folder == NULL)
    goto failed;
  sqlite3_bind_text (insert, 1, data->account, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert, 2, data->sender, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 3, expected_id);
  sqlite3_bind_text (insert, 4, recipients, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 5, g_get_real_time () / G_USEC_PER_SEC);
  sqlite3_bind_int64 (insert, 6, data->send_after);
  sqlite3_bind_int (insert, 7, (int) data->dsn_notify);
  sqlite3_bind_int (insert, 8, (int) data->dsn_ret);
  if (!step_done (db->index, insert, "Could not queue the message", error))
    goto failed;
  item_id = sqlite3_last_insert_rowid (db->index);
  if (!tern_store_commit (db->index, error))
    goto failed;

  /* 2. The message, synced. */
  if (!tern_store_begin (db->bodies, error))
    goto forget;
  body_id = tern_store_body_put (db, data->message->raw, prepared->stored, prepared->encoding,
                                 TERN_LOCAL_ACCOUNT, TERN_OUTBOX_FOLDER, 0,
                                 data->message->flags, 0, NULL, error);
  if (body_id != expected_id)
    {
      if (body_id > 0)
        g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_FAILED,
                     "A queued message got id %" G_GINT64_FORMAT " instead of %"
                     G_GINT64_FORMAT, body_id, expected_id);
      tern_store_rollback (db->bodies);
      goto forget;
    }
  if (!tern_store_commit (db->bodies, error))
    {
      tern_store_rollback (db->bodies);
      goto forget;
    }

  /* 3. Its index row, and the queue row made "queued", together.  A crash
   *    before this leaves the body, which the next open indexes, and the
   *    row "storing", which tern_store_outbox_recover_async() queues. */
  queued = tern_store_prepare (db->index, "UPDATE outbox SET state = 0 WHERE id = ?", error);
  if (queued == NULL || !tern_store_begin (db->index, error))
    return 0;
  sqlite3_bind_int64 (queued, 1, item_id);
  if (!tern_store_ingest (self, db, folder, body_id, data->message->raw, prepared->mime,
                          data->message->flags, 0, 0, NULL, error) ||
      !tern_store_count_added (db, tern_folder_get_id (folder), 1, 0, error) ||
      !step_done (db->index, queued, "Could not queue the message", error) ||
      !tern_store_commit (db->index, error))
    {
      /* The body and the "storing" row stay: the next open and recovery
       * queue the message.  Nothing written is thrown away. */
      tern_store_rollback (db->index);
      return 0;
    }

  if (tern_store_begin (db->bodies, NULL))
    {
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

      g_array_append_val (ids, body_id);
      if (tern_store_body_set_state (db, ids, 1, NULL))
        tern_store_commit (db->bodies, NULL);
      tern_store_rollback (db->bodies);
    }

  data->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (data->ids, body_id);
  {
    g_autoptr(GArray) folder_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    gint64 folder_id = tern_folder_get_id (folder);

    g_array_append_val (folder_ids, folder_id);
    tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_ADDED, folder_ids, data->ids);
  }
  return item_id;

failed:
  tern_store_rollback (db->index);
  return 0;

forget:
  {
    g_autofree char *sql = g_strdup_printf ("DELETE FROM outbox WHERE id = %" G_GINT64_FORMAT,
                                            item_id);

    tern_store_exec (db->index, sql, NULL);
  }
  return 0;
}

static void
add_job (TernStore   *self,
         TernStoreDb *db,
         GTask       *task)
{
  ItemData *data = g_task_get_task_data (task);
  GError *error = NULL;
  TernOutboxItem *item;
  gint64 id;

  if (!set_synchronous (db, TRUE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  id = add_in_writer (self, db, data, &error);
  set_synchronous (db, FALSE, NULL);
  if (id <= 0)
    {
      g_task_return_error (task, error);
      return;
    }
  item = load_item (db->index, id, &error);
  if (item == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, item, (GDestroyNotify) tern_outbox_item_free);
}

/* Whether the header of @raw has a Bcc field: a message that goes out
 * must not name its hidden recipients. */
static gboolean
has_bcc_header (GBytes *raw)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);
  gsize line = 0;

  while (line < size)
    {
      const char *end = memchr (data + line, '\n', size - line);
      gsize length = end != NULL ? (gsize) (end - (data + line)) : size - line;
      gsize name = 0;

      if (length == 0 || (length == 1 && data[line] == '\r'))
        return FALSE;
      /* The field name, then optional blanks, then the colon (RFC 5322's
       * obsolete syntax allows the blanks). */
      while (name < length && data[line + name] != ':' && data[line + name] != ' ' &&
             data[line + name] != '\t')
        name++;
      if (name == 3 && g_ascii_strncasecmp (data + line, "bcc", 3) == 0)
        {
          gsize colon = name;

          while (colon < length && (data[line + colon] == ' ' || data[line + colon] == '\t'))
            colon++;
          if (colon < length && data[line + colon] == ':')
            return TRUE;
        }
      if (end == NULL)
        break;
      line += length + 1;
    }
  return FALSE;
}

/**
 * tern_store_outbox_add_async:
 * @account: the account that sends it
 * @sender: the envelope sender (MAIL FROM)
 * @recipients: the envelope recipients (RCPT TO), Bcc included
 * @raw: the message as it goes out; one with a Bcc header is refused
 *   (%TERN_STORE_ERROR_INVALID), since it would show the hidden
 *   recipients to all
 * @send_after: when it may go, in seconds since the epoch; until then it
 *   can be cancelled (the undo window)
 *
 * Queues a message.  When this returns, the message is synced to disk.
 */
void
tern_store_outbox_add_async (TernStore           *self,
                             const char          *account,
                             const char          *sender,
                             const char * const  *recipients,
                             GBytes              *raw,
                             gint64               send_after,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  tern_store_outbox_add_full_async (self, account, sender, recipients, raw, send_after, 0, 0,
                                    cancellable, callback, user_data);
}

/**
 * tern_store_outbox_add_full_async:
 * @dsn_notify: the TernSmtpDsnNotify bits of the delivery status
 *   notifications to ask for; 0 for none
 * @dsn_ret: a TernSmtpDsnRet; 0 for the server's default
 *
 * Like tern_store_outbox_add_async(), and keeps with the message the
 * delivery status notifications its sending asks for.  The result is read
 * with tern_store_outbox_add_finish().
 */
void
tern_store_outbox_add_full_async (TernStore           *self,
                                  const char          *account,
                                  const char          *sender,
                                  const char * const  *recipients,
                                  GBytes              *raw,
                                  gint64               send_after,
                                  guint                dsn_notify,
                                  guint                dsn_ret,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ItemData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL && sender != NULL && recipients != NULL && raw != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_outbox_add_full_async);
  if (recipients[0] == NULL)
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                               "A message needs at least one recipient");
      return;
    }
  if (has_bcc_header (raw))
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                               "The message has a Bcc header, which would show its hidden "
                               "recipients to every recipient");
      return;
    }
  data = g_new0 (ItemData, 1);
  data->account = g_strdup (account);
  data->sender = g_strdup (sender);
  data->recipients = g_strdupv ((char **) recipients);
  data->message = tern_new_message_new (raw, TERN_MESSAGE_FLAG_SEEN, 0);
  data->send_after = send_after;
  data->dsn_notify = dsn_notify;
  data->dsn_ret = dsn_ret;
  g_task_set_task_data (task, data, (GDestroyNotify) item_data_free);
  tern_store_queue_write (self, task, add_job);
}

/**
 * tern_store_outbox_add_finish:
 *
 * Returns: (transfer full): the queued item, or %NULL with @error set.
 */
TernOutboxItem *
tern_store_outbox_add_finish (TernStore     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Listing and claiming */

static void
list_job (TernStore   *self,
          TernStoreDb *db,
          GTask       *task)
{
  const char *account = g_task_get_task_data (task);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (
    (GDestroyNotify) tern_outbox_item_free);
  GError *error = NULL;
  int rc;

  stmt = tern_store_prepare (db->index, "SELECT " ITEM_COLUMNS " FROM outbox o "
                                        "LEFT JOIN messages m ON m.id = o.body_id "
                                        "WHERE ?1 IS NULL OR o.account = ?1 ORDER BY o.id",
                             &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (account != NULL)
    sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (items, item_from_stmt (stmt));
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not read the outbox", &error);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&items), (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_store_outbox_list_async:
 * @account: (nullable): one account's queue, or every account's
 */
void
tern_store_outbox_list_async (TernStore           *self,
                              const char          *account,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TERN_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_outbox_list_async);
  g_task_set_task_data (task, g_strdup (account), g_free);
  tern_store_queue_read (self, task, list_job);
}

/**
 * tern_store_outbox_list_finish:
 *
 * Returns: (transfer full) (element-type TernOutboxItem): the queue, in
 *   the order it was filled.
 */
GPtrArray *
tern_store_outbox_list_finish (TernStore     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  char *account;
  gint64 now;
  gint64 item_id;
  gint64 next_attempt;
  char *reason;
  TernSentCopy copy;
} ChangeData;

static void
change_data_free (ChangeData *data)
{
  g_free (data->account);
  g_free (data->reason);
  g_free (data);
}

static void
claim_job (TernStore   *self,
           TernStoreDb *db,
           GTask       *task)
{
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(sqlite3_stmt) select = NULL;
  g_autoptr(sqlite3_stmt) update = NULL;
  TernOutboxItem *item;
  GError *error = NULL;
  gint64 id;
  int rc;

  select = tern_store_prepare (db->index,
                               "SELECT id FROM outbox WHERE account = ? AND state = 0 "
                               "AND send_after <= ?2 AND next_attempt <= ?2 ORDER BY id LIMIT 1",
                               &error);
  update = tern_store_prepare (db->index,
                               "UPDATE outbox SET state = 1, attempts = attempts + 1 "
                               "WHERE id = ?",
                               &error);
  if (select == NULL || update == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_text (select, 1, data->account, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (select, 2, data->now);
  rc = sqlite3_step (select);
  if (rc == SQLITE_DONE)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  if (rc != SQLITE_ROW)
    {
      tern_store_sql_error (db->index, rc, "Could not read the outbox", &error);
      g_task_return_error (task, error);
      return;
    }
  id = sqlite3_column_int64 (select, 0);
  sqlite3_bind_int64 (update, 1, id);
  if (!step_done (db->index, update, "Could not update the outbox", &error) ||
      (item = load_item (db->index, id, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, item, (GDestroyNotify) tern_outbox_item_free);
}

/**
 * tern_store_outbox_claim_async:
 * @now: the time, in seconds since the epoch
 *
 * Takes the next message of @account that is due (past its undo window
 * and its next attempt) and marks it "sending", so that it can no longer
 * be cancelled.
 */
void
tern_store_outbox_claim_async (TernStore           *self,
                               const char          *account,
                               gint64               now,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ChangeData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (account != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_outbox_claim_async);
  data = g_new0 (ChangeData, 1);
  data->account = g_strdup (account);
  data->now = now;
  g_task_set_task_data (task, data, (GDestroyNotify) change_data_free);
  tern_store_queue_write (self, task, claim_job);
}

/**
 * tern_store_outbox_claim_finish:
 *
 * Returns: (transfer full) (nullable): the claimed item; %NULL, without
 *   @error, when nothing is due.
 */
TernOutboxItem *
tern_store_outbox_claim_finish (TernStore     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Changes */

static void
change_task (TernStore           *self,
             ChangeData          *data,
             gpointer             source_tag,
             TernStoreJobFunc     func,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) change_data_free);
  tern_store_queue_write (self, task, func);
}

static void
simple_update_job (TernStore   *self,
                   TernStoreDb *db,
                   GTask       *task,
                   const char  *sql)
{
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;

  stmt = tern_store_prepare (db->index, sql, &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* Parameters by number: ?1 the item, ?2 the reason, ?3 the next
   * attempt, ?4 the account; a statement uses those it names. */
  for (int i = 1; i <= sqlite3_bind_parameter_count (stmt); i++)
    {
      const char *name = sqlite3_bind_parameter_name (stmt, i);

      if (g_strcmp0 (name, "?1") == 0)
        sqlite3_bind_int64 (stmt, i, data->item_id);
      else if (g_strcmp0 (name, "?2") == 0 && data->reason != NULL)
        sqlite3_bind_text (stmt, i, data->reason, -1, SQLITE_STATIC);
      else if (g_strcmp0 (name, "?3") == 0)
        sqlite3_bind_int64 (stmt, i, data->next_attempt);
      else if (g_strcmp0 (name, "?4") == 0 && data->account != NULL)
        sqlite3_bind_text (stmt, i, data->account, -1, SQLITE_STATIC);
    }
  if (!step_done (db->index, stmt, "Could not update the outbox", &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
recover_job (TernStore   *self,
             TernStoreDb *db,
             GTask       *task)
{
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(sqlite3_stmt) storing = NULL;
  GError *error = NULL;

  /* Rows a crash left "storing": queued when their message made it into
   * the store (the open of the store indexed its body), else dropped. */
  storing = tern_store_prepare (db->index,
                                "UPDATE outbox SET state = CASE WHEN EXISTS "
                                "  (SELECT 1 FROM messages m WHERE m.id = outbox.body_id) "
                                "  THEN 0 ELSE -1 END "
                                "WHERE state = 4 AND (?1 IS NULL OR account = ?1)",
                                &error);
  if (storing == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (data->account != NULL)
    sqlite3_bind_text (storing, 1, data->account, -1, SQLITE_STATIC);
  if (!step_done (db->index, storing, "Could not recover the outbox", &error) ||
      !tern_store_exec (db->index, "DELETE FROM outbox WHERE state = -1", &error))
    {
      g_task_return_error (task, error);
      return;
    }
  simple_update_job (self, db, task,
                     "UPDATE outbox SET state = 0 WHERE state = 1 "
                     "AND (?4 IS NULL OR account = ?4)");
}

/**
 * tern_store_outbox_recover_async:
 * @account: (nullable): one account's queue, or all
 *
 * Puts back in the queue what was being sent when Tern stopped.  Call
 * once before a sender starts on the queue.
 */
void
tern_store_outbox_recover_async (TernStore           *self,
                                 const char          *account,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  ChangeData *data = g_new0 (ChangeData, 1);

  g_return_if_fail (TERN_IS_STORE (self));

  data->account = g_strdup (account);
  change_task (self, data, tern_store_outbox_recover_async, recover_job, cancellable,
               callback, user_data);
}

static void
retry_job (TernStore   *self,
           TernStoreDb *db,
           GTask       *task)
{
  simple_update_job (self, db, task,
                     "UPDATE outbox SET state = 0, last_error = ?2, next_attempt = ?3 "
                     "WHERE id = ?1");
}

/**
 * tern_store_outbox_retry_async:
 * @next_attempt: when to try again, in seconds since the epoch
 * @reason: why it did not go, for the user
 */
void
tern_store_outbox_retry_async (TernStore           *self,
                               gint64               item_id,
                               gint64               next_attempt,
                               const char          *reason,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  ChangeData *data = g_new0 (ChangeData, 1);

  g_return_if_fail (TERN_IS_STORE (self));

  data->item_id = item_id;
  data->next_attempt = next_attempt;
  data->reason = g_strdup (reason);
  change_task (self, data, tern_store_outbox_retry_async, retry_job, cancellable, callback,
               user_data);
}

static void
fail_job (TernStore   *self,
          TernStoreDb *db,
          GTask       *task)
{
  simple_update_job (self, db, task,
                     "UPDATE outbox SET state = 3, last_error = ?2 WHERE id = ?1");
}

/**
 * tern_store_outbox_fail_async:
 * @reason: why it cannot go, for the user (the refused addresses)
 *
 * Gives up on a message; it stays in the Outbox folder and the queue, in
 * state failed, for the user to correct or delete.
 */
void
tern_store_outbox_fail_async (TernStore           *self,
                              gint64               item_id,
                              const char          *reason,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  ChangeData *data = g_new0 (ChangeData, 1);

  g_return_if_fail (TERN_IS_STORE (self));

  data->item_id = item_id;
  data->reason = g_strdup (reason);
  change_task (self, data, tern_store_outbox_fail_async, fail_job, cancellable, callback,
               user_data);
}

/* Moves an outbox message to @folder and takes it out of the queue, in
 * the caller's transaction on the index. */
static gboolean
leave_outbox (TernStoreDb     *db,
              TernOutboxItem  *item,
              TernFolder      *folder,
              GError         **error)
{
  g_autoptr(sqlite3_stmt) move = NULL;
  g_autoptr(sqlite3_stmt) remove = NULL;

  move = tern_store_prepare (db->index,
                             "UPDATE messages SET folder_id = ?, folder_role = ? WHERE id = ?",
                             error);
  remove = tern_store_prepare (db->index, "DELETE FROM outbox WHERE id = ?", error);
  if (move == NULL || remove == NULL)
    return FALSE;
  sqlite3_bind_int64 (move, 1, tern_folder_get_id (folder));
  sqlite3_bind_int (move, 2, tern_folder_get_role (folder));
  sqlite3_bind_int64 (move, 3, item->message_id);
  sqlite3_bind_int64 (remove, 1, item->id);
  return step_done (db->index, move, "Could not move the message", error) &&
         step_done (db->index, remove, "Could not update the outbox", error);
}

/* The bodies database keeps where each message lives, for a rebuild. */
static void
follow_in_bodies (TernStoreDb    *db,
                  TernOutboxItem *item,
                  TernFolder     *folder)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  stmt = tern_store_prepare (db->bodies, "UPDATE body_meta SET account = ?, path = ? "
                                         "WHERE id = ?", NULL);
  if (stmt == NULL)
    return;
  sqlite3_bind_text (stmt, 1, tern_folder_get_account (folder), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, tern_folder_get_path (folder), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, item->message_id);
  sqlite3_step (stmt);
}

static void
emit_moved (TernStore      *self,
            TernOutboxItem *item,
            gint64          from_folder,
            TernFolder     *folder)
{
  g_autoptr(GArray) folder_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 to_folder = tern_folder_get_id (folder);

  g_array_append_val (folder_ids, from_folder);
  g_array_append_val (folder_ids, to_folder);
  g_array_append_val (ids, item->message_id);
  tern_store_emit_changed (self, TERN_STORE_CHANGE_MESSAGES_UPDATED, folder_ids, ids);
}

static gint64
folder_of_message (sqlite3 *db,
                   gint64   message_id)
{
  g_autoptr(sqlite3_stmt) stmt = tern_store_prepare (db, "SELECT folder_id FROM messages "
                                                         "WHERE id = ?", NULL);

  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, message_id);
  return sqlite3_step (stmt) == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
}

static TernFolder *
sent_folder_of (TernStoreDb   *db,
                const char    *account,
                TernSentCopy   copy,
                GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (copy == TERN_SENT_COPY_UPLOAD)
    {
      stmt = tern_store_prepare (db->index, "SELECT id FROM folders WHERE account = ? "
                                            "AND role = ? ORDER BY id LIMIT 1", error);
      if (stmt == NULL)
        return NULL;
      sqlite3_bind_text (stmt, 1, account, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 2, TERN_FOLDER_ROLE_SENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        return tern_store_folder_load (db->index, sqlite3_column_int64 (stmt, 0), error);
      /* The account's Sent folder is not known yet: the copy waits on this
       * computer, marked for upload all the same. */
      return tern_store_folder_ensure (db->index, TERN_LOCAL_ACCOUNT, TERN_SENT_FOLDER,
                                       TERN_FOLDER_ROLE_SENT, FALSE, error);
    }
  /* A POP3 account keeps its sent mail beside its Inbox, on this computer. */
  return tern_store_folder_ensure (db->index, account, TERN_SENT_FOLDER, TERN_FOLDER_ROLE_SENT,
                                   FALSE, error);
}

static void
sent_job (TernStore   *self,
          TernStoreDb *db,
          GTask       *task)
{
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(TernFolder) folder = NULL;
  GError *error = NULL;
  gint64 from_folder;

  item = load_item (db->index, data->item_id, &error);
  if (item == NULL || !tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  from_folder = folder_of_message (db->index, item->message_id);
  folder = sent_folder_of (db, item->account, data->copy, &error);
  if (folder == NULL || !leave_outbox (db, item, folder, &error))
    goto failed;

  if (data->copy == TERN_SENT_COPY_UPLOAD)
    {
      g_autoptr(sqlite3_stmt) pending = NULL;
      g_autofree char *ids = g_strdup_printf ("%" G_GINT64_FORMAT, item->message_id);

      pending = tern_store_prepare (db->index,
                                    "INSERT INTO pending_actions (account, folder_id, kind, "
                                    "message_ids, argument, created) VALUES (?, ?, ?, ?, ?, ?)",
                                    &error);
      if (pending == NULL)
        goto failed;
      sqlite3_bind_text (pending, 1, item->account, -1, SQLITE_STATIC);
      if (g_strcmp0 (tern_folder_get_account (folder), item->account) == 0)
        sqlite3_bind_int64 (pending, 2, tern_folder_get_id (folder));
      sqlite3_bind_int (pending, 3, TERN_PENDING_ACTION_APPEND);
      sqlite3_bind_text (pending, 4, ids, -1, SQLITE_STATIC);
      sqlite3_bind_text (pending, 5, "\\Seen", -1, SQLITE_STATIC);
      sqlite3_bind_int64 (pending, 6, g_get_real_time () / G_USEC_PER_SEC);
      if (!step_done (db->index, pending, "Could not mark the message for upload", &error))
        goto failed;
    }

  if (!tern_store_commit (db->index, &error))
    goto failed;
  follow_in_bodies (db, item, folder);
  emit_moved (self, item, from_folder, folder);
  g_task_return_boolean (task, TRUE);
  return;

failed:
  tern_store_rollback (db->index);
  g_task_return_error (task, error);
}

/**
 * tern_store_outbox_sent_async:
 * @copy: where the sent message goes
 *
 * Takes a sent message out of the queue and files it in a Sent folder (see
 * #TernSentCopy).  With %TERN_SENT_COPY_NONE, it is filed in the local Sent
 * folder for the caller to delete.
 */
void
tern_store_outbox_sent_async (TernStore           *self,
                              gint64               item_id,
                              TernSentCopy         copy,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  ChangeData *data = g_new0 (ChangeData, 1);

  g_return_if_fail (TERN_IS_STORE (self));

  data->item_id = item_id;
  data->copy = copy;
  change_task (self, data, tern_store_outbox_sent_async, sent_job, cancellable, callback,
               user_data);
}

static void
cancel_job (TernStore   *self,
            TernStoreDb *db,
            GTask       *task)
{
  ChangeData *data = g_task_get_task_data (task);
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(TernFolder) folder = NULL;
  GError *error = NULL;
  gint64 from_folder;
  gboolean queued = FALSE;

  item = load_item (db->index, data->item_id, &error);
  if (item == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (item->state == TERN_OUTBOX_STATE_SENDING)
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID,
                               "The message is being sent; it is too late to cancel it");
      return;
    }
  if (!tern_store_begin (db->index, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  from_folder = folder_of_message (db->index, item->message_id);
  /* The account's own Drafts, whatever the server calls it; uploaded
   * there when it is the server's, as a composer's drafts are. */
  folder = tern_store_role_folder (db, item->account, TERN_FOLDER_ROLE_DRAFTS,
                                   TERN_DRAFTS_FOLDER, &error);
  if (folder == NULL || !leave_outbox (db, item, folder, &error) ||
      !tern_store_queue_upload (db, item->message_id, TERN_STORE_DRAFT_FLAGS, &queued, &error) ||
      !tern_store_commit (db->index, &error))
    {
      tern_store_rollback (db->index);
      g_task_return_error (task, error);
      return;
    }
  follow_in_bodies (db, item, folder);
  emit_moved (self, item, from_folder, folder);
  g_task_return_boolean (task, TRUE);
}

/**
 * tern_store_outbox_cancel_async:
 *
 * Cancels a queued (or failed) message before it is sent: it leaves the
 * queue and goes to its account's Drafts folder (the server's, with its
 * upload queued, when the account has one).  Fails with
 * %TERN_STORE_ERROR_INVALID once sending began.
 */
void
tern_store_outbox_cancel_async (TernStore           *self,
                                gint64               item_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  ChangeData *data = g_new0 (ChangeData, 1);

  g_return_if_fail (TERN_IS_STORE (self));

  data->item_id = item_id;
  change_task (self, data, tern_store_outbox_cancel_async, cancel_job, cancellable, callback,
               user_data);
}

gboolean
tern_store_outbox_change_finish (TernStore     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
