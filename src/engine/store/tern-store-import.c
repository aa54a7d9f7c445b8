/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-maildir-reader.h"
#include "tern-mbox-reader.h"
#include "tern-mbox-writer.h"
#include "tern-store-import.h"
#include "tern-store-private.h"

/*
 * Import and export.  An import reads its source on a thread of its own
 * and hands the store batches of messages, each committed before the next
 * is read: an import cut short (a crash, a kill) keeps every batch it
 * committed, and what it had not committed it never claimed.
 */


void
tern_import_result_free (TernImportResult *result)
{
  if (result == NULL)
    return;

  g_clear_pointer (&result->problems, g_ptr_array_unref);
  g_free (result);
}

typedef struct
{
  TernStore *store;
  gint64 folder_id;
  GFile *source;
  TernMailFileFormat format;
  TernImportProgress progress;
  gpointer progress_data;
  GMainContext *caller_context;
} ImportData;

static void
import_data_free (ImportData *data)
{
  g_clear_object (&data->store);
  g_clear_object (&data->source);
  g_clear_pointer (&data->caller_context, g_main_context_unref);
  g_free (data);
}

typedef struct
{
  ImportData *import;
  guint imported;
  guint skipped;
  guint64 position;
  guint64 size;
} ProgressReport;

static gboolean
report_progress_cb (gpointer user_data)
{
  ProgressReport *report = user_data;

  report->import->progress (report->imported, report->skipped, report->position, report->size,
                            report->import->progress_data);
  return G_SOURCE_REMOVE;
}

static void
report_progress (ImportData *data,
                 guint       imported,
                 guint       skipped,
                 guint64     position,
                 guint64     size)
{
  ProgressReport *report;

  if (data->progress == NULL)
    return;

  report = g_new0 (ProgressReport, 1);
  report->import = data;
  report->imported = imported;
  report->skipped = skipped;
  report->position = position;
  report->size = size;
  /* The task keeps data alive until its callback, which runs after these
   * on the same context. */
  {
    g_autoptr(GSource) source = g_idle_source_new ();

    g_source_set_callback (source, report_progress_cb, report, g_free);
    g_source_attach (source, data->caller_context);
  }
}

/* A batch handed to the writer, its bodies stored. */
typedef struct
{
  GAsyncResult *result;
  GArray *body_ids;
} InFlight;

static void
in_flight_free (InFlight *batch)
{
  g_clear_object (&batch->result);
  g_array_unref (batch->body_ids);
  g_free (batch);
}

static void
batch_added_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  InFlight *batch = user_data;

  batch->result = g_object_ref (result);
}

/* Waits, on the import thread, for the oldest batch in flight.  A batch
 * the writer skipped, as one before it failed, takes its bodies back. */
static gboolean
finish_batch (ImportData    *data,
              GMainContext  *context,
              TernStoreDb   *bodies,
              GQueue        *in_flight,
              guint         *imported,
              GError       **error)
{
  InFlight *batch = g_queue_pop_head (in_flight);
  g_autoptr(GArray) ids = NULL;
  GError *local_error = NULL;

  if (batch == NULL)
    return TRUE;

  while (batch->result == NULL)
    g_main_context_iteration (context, TRUE);

  ids = tern_store_add_messages_finish (data->store, batch->result, &local_error);
  if (ids == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        tern_store_free_bodies (bodies, batch->body_ids);
      g_propagate_error (error, local_error);
      in_flight_free (batch);
      return FALSE;
    }

  tern_store_bodies_mark_indexed (bodies, ids);
  *imported += ids->len;
  in_flight_free (batch);
  return TRUE;
}

/* The folder the import fills, read on this thread. */
static TernFolder *
load_folder (ImportData  *data,
             GError     **error)
{
  sqlite3 *index = NULL;
  TernFolder *folder;

  if (!tern_store_open_connection (data->store->index_path, TRUE, &index, error))
    return NULL;

  folder = tern_store_folder_load (index, data->folder_id, error);
  sqlite3_close (index);

  return folder;
}

/*
 * Preparing (parsing, compressing, finding the search words) costs more
 * than writing, and messages are prepared apart from one another: they go
 * to a pool of threads, one per processor, while this thread reads on and
 * the writer indexes the batches before.  Once every message of a batch is
 * prepared, this thread stores its bodies, on a connection of its own, and
 * hands the batch to the writer, which then writes only index rows: the
 * one thread that can fill the index does nothing else.
 *
 * The pool is never left without work while this thread stores bodies or
 * waits for the writer: a batch is read whole, and handed to the pool,
 * before the one read before it is stored.  So three batches at most are
 * in memory beside the two at the writer (those hold no bodies).
 */
typedef struct
{
  GPtrArray *messages;
  GMutex lock;
  GCond done;
  guint pending;
} Preparing;

static Preparing *
preparing_new (void)
{
  Preparing *preparing = g_new0 (Preparing, 1);

  preparing->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_mutex_init (&preparing->lock);
  g_cond_init (&preparing->done);

  return preparing;
}

/* Waits until every message of the batch handed to the pool is prepared. */
static void
wait_prepared (Preparing *preparing)
{
  g_mutex_lock (&preparing->lock);
  while (preparing->pending > 0)
    g_cond_wait (&preparing->done, &preparing->lock);
  g_mutex_unlock (&preparing->lock);
}

/* Frees a batch once the pool is done with it. */
static void
preparing_free (Preparing *preparing)
{
  if (preparing == NULL)
    return;

  wait_prepared (preparing);
  g_clear_pointer (&preparing->messages, g_ptr_array_unref);
  g_mutex_clear (&preparing->lock);
  g_cond_clear (&preparing->done);
  g_free (preparing);
}

typedef struct
{
  TernNewMessage *message;
  Preparing *preparing;
} PrepareJob;

static void
prepare_func (gpointer data,
              gpointer user_data)
{
  PrepareJob *job = data;
  Preparing *preparing = job->preparing;

  tern_new_message_prepare (job->message);
  g_free (job);

  g_mutex_lock (&preparing->lock);
  if (--preparing->pending == 0)
    g_cond_signal (&preparing->done);
  g_mutex_unlock (&preparing->lock);
}

/* Adds a message to the batch and has the pool prepare it. */
static void
prepare_in_pool (GThreadPool    *pool,
                 Preparing      *preparing,
                 TernNewMessage *message)
{
  PrepareJob *job;

  g_ptr_array_add (preparing->messages, message);

  if (pool == NULL)
    {
      tern_new_message_prepare (message);
      return;
    }

  job = g_new0 (PrepareJob, 1);
  job->message = message;
  job->preparing = preparing;

  g_mutex_lock (&preparing->lock);
  preparing->pending++;
  g_mutex_unlock (&preparing->lock);

  g_thread_pool_push (pool, job, NULL);
}

/* Stores the bodies of a prepared batch and hands it to the writer, with
 * two batches at most in flight there, so that the writer always has the
 * next while the pool makes the ones after.  When one fails, the writer
 * skips those after it (they share @stop), so an error stops the import
 * where it is. */
static gboolean
hand_over (ImportData    *data,
           GMainContext  *context,
           TernStoreDb   *bodies,
           TernFolder    *folder,
           Preparing     *preparing,
           GQueue        *in_flight,
           GCancellable  *stop,
           guint         *imported,
           GError       **error)
{
  GPtrArray *batch = preparing->messages;
  InFlight *handed = g_new0 (InFlight, 1);

  handed->body_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  wait_prepared (preparing);
  if (!tern_store_bodies_put (bodies, folder, batch, handed->body_ids, error))
    {
      in_flight_free (handed);
      return FALSE;
    }

  /* Until the writer takes the batch, it holds only what the index rows
   * need. */
  for (guint i = 0; i < batch->len; i++)
    tern_new_message_release_body (g_ptr_array_index (batch, i));

  if (in_flight->length >= 2 &&
      !finish_batch (data, context, bodies, in_flight, imported, error))
    {
      tern_store_free_bodies (bodies, handed->body_ids);
      in_flight_free (handed);
      return FALSE;
    }

  tern_store_add_stored_messages_async (data->store, data->folder_id, batch, handed->body_ids,
                                        stop, batch_added_cb, handed);
  g_queue_push_tail (in_flight, handed);

  return TRUE;
}

static void
import_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ImportData *data = task_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TernMboxReader) mbox = NULL;
  g_autoptr(TernMaildirReader) maildir = NULL;
  g_autoptr(TernImportResult) result = g_new0 (TernImportResult, 1);
  g_autoptr(GCancellable) stop = g_cancellable_new ();
  GQueue in_flight = G_QUEUE_INIT;
  g_autoptr(TernFolder) folder = NULL;
  TernStoreDb bodies = { 0 };
  /* The batch being read, and the one read before it, in the pool. */
  Preparing *reading = NULL;
  Preparing *read = NULL;
  GThreadPool *pool;
  GError *error = NULL;

  result->problems = g_ptr_array_new_with_free_func (g_free);

  if (data->format == TERN_MAIL_FILE_MBOX)
    mbox = tern_mbox_reader_new_for_file (data->source, cancellable, &error);
  else
    maildir = tern_maildir_reader_new (data->source, cancellable, &error);

  if (mbox == NULL && maildir == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  folder = load_folder (data, &error);
  if (folder == NULL || !tern_store_bodies_open (data->store, &bodies, &error))
    {
      tern_store_db_close (&bodies);
      g_task_return_error (task, error);
      return;
    }

  g_main_context_push_thread_default (context);
  reading = preparing_new ();

  /* Without a pool, this thread prepares the messages itself. */
  pool = g_thread_pool_new (prepare_func, NULL, MAX (g_get_num_processors (), 1), TRUE, NULL);

  for (;;)
    {
      g_autoptr(GBytes) raw = NULL;
      g_autoptr(GDateTime) date = NULL;
      g_autoptr(GError) message_error = NULL;
      TernMessageFlags flags = 0;
      guint64 position;
      guint64 size;

      if (mbox != NULL)
        raw = tern_mbox_reader_next (mbox, &flags, &date, cancellable, &message_error);
      else
        raw = tern_maildir_reader_next (maildir, &flags, &date, cancellable, &message_error);

      if (raw == NULL && message_error != NULL)
        {
          if (tern_mailfile_error_is_per_message (message_error))
            {
              /* Left out, counted and named; the import goes on. */
              result->skipped++;
              if (result->problems->len < 1000)
                g_ptr_array_add (result->problems, g_strdup (message_error->message));
              continue;
            }

          error = g_steal_pointer (&message_error);
          break;
        }

      if (raw != NULL)
        prepare_in_pool (pool, reading,
                         tern_new_message_new (raw, flags,
                                               date != NULL ? g_date_time_to_unix (date) : 0));

      if (reading->messages->len >= TERN_STORE_IMPORT_BATCH ||
          (raw == NULL && reading->messages->len > 0))
        {
          /* The pool prepares this batch while the one before is stored. */
          if (read != NULL &&
              !hand_over (data, context, &bodies, folder, read, &in_flight, stop,
                          &result->imported, &error))
            break;
          g_clear_pointer (&read, preparing_free);
          read = g_steal_pointer (&reading);
          reading = preparing_new ();

          position = mbox != NULL ? tern_mbox_reader_get_position (mbox)
                                  : tern_maildir_reader_get_position (maildir);
          size = mbox != NULL ? tern_mbox_reader_get_size (mbox)
                              : tern_maildir_reader_get_size (maildir);
          report_progress (data, result->imported, result->skipped, position, size);
        }

      if (raw == NULL)
        {
          if (read != NULL)
            hand_over (data, context, &bodies, folder, read, &in_flight, stop,
                       &result->imported, &error);
          break;
        }
    }

  /* Messages read but never handed over are freed with their batch. */
  g_clear_pointer (&read, preparing_free);
  g_clear_pointer (&reading, preparing_free);
  if (pool != NULL)
    g_thread_pool_free (pool, FALSE, TRUE);

  /* The last batches, or those in flight when reading failed; after a
   * failure, the error is the first one's. */
  while (in_flight.length > 0)
    finish_batch (data, context, &bodies, &in_flight, &result->imported,
                  error == NULL ? &error : NULL);
  tern_store_db_close (&bodies);

  g_main_context_pop_thread_default (context);

  if (error != NULL)
    {
      g_prefix_error (&error, "%u messages were imported before an error: ", result->imported);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&result), (GDestroyNotify) tern_import_result_free);
}

/**
 * tern_store_import_async:
 * @folder_id: the folder the messages go into
 * @source: an mbox file or a Maildir folder
 * @progress: (nullable): called on the caller's main context as the
 *   import goes on
 *
 * Imports every message of @source.  Messages that cannot be read (too
 * large, unreadable files) are left out and listed in the result; the
 * import goes on without them.
 */
void
tern_store_import_async (TernStore           *self,
                         gint64               folder_id,
                         GFile               *source,
                         TernMailFileFormat   format,
                         TernImportProgress   progress,
                         gpointer             progress_data,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ImportData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (G_IS_FILE (source));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_import_async);
  data = g_new0 (ImportData, 1);
  data->store = g_object_ref (self);
  data->folder_id = folder_id;
  data->source = g_object_ref (source);
  data->format = format;
  data->progress = progress;
  data->progress_data = progress_data;
  data->caller_context = g_main_context_ref_thread_default ();
  g_task_set_task_data (task, data, (GDestroyNotify) import_data_free);
  g_task_run_in_thread (task, import_thread);
}

/**
 * tern_store_import_finish:
 *
 * Returns: (transfer full): how many messages were imported and which were
 *   left out, or %NULL with @error set (the messages committed before the
 *   error stay in the store).
 */
TernImportResult *
tern_store_import_finish (TernStore     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Export */

typedef struct
{
  gint64 folder_id;
  GFile *target;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_clear_object (&data->target);
  g_free (data);
}

static void
export_job (TernStore   *self,
            TernStoreDb *db,
            GTask       *task)
{
  ExportData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(TernMboxWriter) writer = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;
  int rc;

  folder = tern_store_folder_load (db->index, data->folder_id, &error);
  if (folder == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  writer = tern_mbox_writer_new_for_file (data->target, cancellable, &error);
  if (writer == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* Oldest first, as mail is appended to an mbox. */
  stmt = tern_store_prepare (db->index,
                             "SELECT id, flags, internal_date FROM messages WHERE folder_id = ? "
                             "ORDER BY internal_date, id",
                             &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  sqlite3_bind_int64 (stmt, 1, data->folder_id);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(GBytes) raw = NULL;
      g_autoptr(GDateTime) date = NULL;

      raw = tern_store_body_get (db, sqlite3_column_int64 (stmt, 0), &error);
      if (raw == NULL)
        {
          /* An export that silently misses a message is no backup. */
          g_prefix_error (&error, "The export stopped: ");
          g_task_return_error (task, error);
          return;
        }

      date = g_date_time_new_from_unix_utc (sqlite3_column_int64 (stmt, 2));
      if (!tern_mbox_writer_add (writer, raw, sqlite3_column_int (stmt, 1), date, cancellable,
                                 &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }

  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not read the folder", &error);
      g_task_return_error (task, error);
      return;
    }

  if (!tern_mbox_writer_close (writer, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_int (task, tern_mbox_writer_get_n_messages (writer));
}

/**
 * tern_store_export_mbox_async:
 * @folder_id: the folder
 * @target: the mbox file to write; it appears whole or not at all
 *
 * Writes every message of a folder to an mbox file, flags kept in Status
 * headers, oldest first.
 */
void
tern_store_export_mbox_async (TernStore           *self,
                              gint64               folder_id,
                              GFile               *target,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportData *data;

  g_return_if_fail (TERN_IS_STORE (self));
  g_return_if_fail (G_IS_FILE (target));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_export_mbox_async);
  data = g_new0 (ExportData, 1);
  data->folder_id = folder_id;
  data->target = g_object_ref (target);
  g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
  tern_store_queue_read (self, task, export_job);
}

/**
 * tern_store_export_mbox_finish:
 *
 * Returns: the number of messages written, or 0 with @error set.
 */
guint
tern_store_export_mbox_finish (TernStore     *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);

  return g_task_propagate_int (G_TASK (result), error);
}
