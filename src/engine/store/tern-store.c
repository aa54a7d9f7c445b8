/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "tern-background.h"
#include "tern-store-private.h"

/*
 * TernStore: every account's mail, in one folder of the profile's data
 * folder.  store.sqlite is the index (folders, messages, conversations,
 * full-text search); bodies.sqlite holds the raw messages.
 *
 * The main context never waits on the disk: every call is asynchronous and
 * runs on the writer thread or on a reader thread.  See
 * tern-store-private.h for the threads.
 */

#define N_READERS 2
#define STOP_JOB ((gpointer) 1)

typedef struct
{
  GTask *task;
  TernStoreJobFunc func;
} Job;

G_DEFINE_QUARK (tern-store-error-quark, tern_store_error)

G_DEFINE_FINAL_TYPE (TernStore, tern_store, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
tern_store_db_close (TernStoreDb *db)
{
  g_clear_pointer (&db->statements, g_hash_table_unref);
  g_clear_pointer (&db->index, sqlite3_close);
  g_clear_pointer (&db->bodies, sqlite3_close);
}

static void
free_read_db (gpointer data)
{
  TernStoreDb *db = data;

  tern_store_db_close (db);
  g_free (db);
}

/**
 * tern_store_close:
 *
 * Finishes the queued writes and closes the databases.  Later calls fail
 * with %TERN_STORE_ERROR_CLOSED.  Called on dispose too.
 */
void
tern_store_close (TernStore *self)
{
  g_return_if_fail (TERN_IS_STORE (self));

  if (self->closed)
    return;
  self->closed = TRUE;

  if (self->writer != NULL)
    {
      g_async_queue_push (self->write_jobs, STOP_JOB);
      g_thread_join (g_steal_pointer (&self->writer));
    }
  if (self->readers != NULL)
    g_thread_pool_free (g_steal_pointer (&self->readers), FALSE, TRUE);

  tern_store_db_close (&self->writer_db);
  g_clear_pointer (&self->idle_read_dbs, g_ptr_array_unref);
}

static void
tern_store_dispose (GObject *object)
{
  tern_store_close (TERN_STORE (object));

  G_OBJECT_CLASS (tern_store_parent_class)->dispose (object);
}

static void
tern_store_finalize (GObject *object)
{
  TernStore *self = TERN_STORE (object);

  g_clear_pointer (&self->write_jobs, g_async_queue_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->read_lock);
  g_free (self->data_dir);
  g_free (self->index_path);
  g_free (self->bodies_path);

  G_OBJECT_CLASS (tern_store_parent_class)->finalize (object);
}

static void
tern_store_class_init (TernStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tern_store_dispose;
  object_class->finalize = tern_store_finalize;

  /**
   * TernStore::changed:
   * @kind: a #TernStoreChangeKind
   * @folder_ids: (element-type gint64): the folders concerned
   * @message_ids: (element-type gint64) (nullable): the messages concerned
   *
   * Emitted on the main context that opened the store, after a change was
   * committed.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3,
                  G_TYPE_INT,
                  G_TYPE_ARRAY,
                  G_TYPE_ARRAY);
}

static void
tern_store_init (TernStore *self)
{
  g_mutex_init (&self->read_lock);
  self->write_jobs = g_async_queue_new ();
  self->idle_read_dbs = g_ptr_array_new_with_free_func (free_read_db);
}

const char *
tern_store_get_data_dir (TernStore *self)
{
  g_return_val_if_fail (TERN_IS_STORE (self), NULL);

  return self->data_dir;
}

/**
 * tern_store_was_rebuilt:
 *
 * Returns: %TRUE when opening found the index damaged and made it again
 *   from the stored bodies.
 */
gboolean
tern_store_was_rebuilt (TernStore *self)
{
  g_return_val_if_fail (TERN_IS_STORE (self), FALSE);

  return self->rebuilt;
}

/* Runs @func on @context, always through a source: never on the calling
 * thread, even where that thread could take the context for a moment (as
 * g_main_context_invoke() would). */
static void
run_on_context (GMainContext   *context,
                GSourceFunc     func,
                gpointer        data,
                GDestroyNotify  notify)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, notify);
  g_source_set_static_name (source, "[tern] store result");
  g_source_attach (source, context);
}

/* Change notification */

typedef struct
{
  TernStore *store;
  TernStoreChangeKind kind;
  GArray *folder_ids;
  GArray *message_ids;
} Change;

static gboolean
emit_changed_cb (gpointer data)
{
  Change *change = data;

  g_signal_emit (change->store, signals[SIGNAL_CHANGED], 0,
                 change->kind, change->folder_ids, change->message_ids);

  g_object_unref (change->store);
  g_array_unref (change->folder_ids);
  g_clear_pointer (&change->message_ids, g_array_unref);
  g_free (change);

  return G_SOURCE_REMOVE;
}

/**
 * tern_store_emit_changed:
 *
 * Queues a #TernStore::changed emission on the store's main context.  Call
 * from a job after its transaction committed, before returning its task, so
 * that listeners hear of the change before the caller's callback runs.
 */
void
tern_store_emit_changed (TernStore           *self,
                         TernStoreChangeKind  kind,
                         GArray              *folder_ids,
                         GArray              *message_ids)
{
  Change *change = g_new0 (Change, 1);

  change->store = g_object_ref (self);
  change->kind = kind;
  change->folder_ids = g_array_ref (folder_ids);
  change->message_ids = message_ids != NULL ? g_array_ref (message_ids) : NULL;

  run_on_context (self->context, emit_changed_cb, change, NULL);
}

/* Jobs */

static gboolean
unref_task_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

/* A task holds the store.  Its last reference must not go on a store
 * thread, where finalizing the store would wait for that same thread. */
static void
release_job (TernStore *self,
             Job       *job)
{
  run_on_context (self->context, unref_task_cb, g_steal_pointer (&job->task), NULL);
  g_free (job);
}

static gpointer
writer_thread (gpointer data)
{
  TernStore *self = data;

#ifdef __linux__
  /* Named for tools that show threads (top, perf) and for the benchmark,
   * which reads its processor time. */
  prctl (PR_SET_NAME, "tern-store-writ", 0, 0, 0);
#endif
  tern_background_enter ();

  for (;;)
    {
      Job *job = g_async_queue_pop (self->write_jobs);

      if (job == STOP_JOB)
        break;

      if (!g_task_return_error_if_cancelled (job->task))
        job->func (self, &self->writer_db, job->task);

      release_job (self, job);
    }

  return NULL;
}

void
tern_store_queue_write (TernStore        *self,
                        GTask            *task,
                        TernStoreJobFunc  func)
{
  Job *job;

  if (self->closed)
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_CLOSED,
                               "The mail store is closed");
      return;
    }

  job = g_new0 (Job, 1);
  job->task = g_object_ref (task);
  job->func = func;
  g_async_queue_push (self->write_jobs, job);
}

/**
 * tern_store_open_connection:
 *
 * Opens a connection to one of the store's databases, set up as the
 * store's own are.
 */
gboolean
tern_store_open_connection (const char  *path,
                            gboolean     read_only,
                            sqlite3    **out_db,
                            GError     **error)
{
  sqlite3 *db = NULL;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc;

  /* Mail is private: the files are made readable by the user alone, and
   * SQLite gives its -wal and -shm files the same mode. */
  if (!read_only && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      int fd = g_open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

      if (fd < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Could not create “%s”: %s", path, g_strerror (saved_errno));
          return FALSE;
        }
      g_close (fd, NULL);
    }

  rc = sqlite3_open_v2 (path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      tern_store_sql_error (db, rc, "Could not open the mail store", error);
      sqlite3_close (db);
      return FALSE;
    }

  sqlite3_extended_result_codes (db, FALSE);
  sqlite3_busy_timeout (db, 10000);

  if (!tern_store_exec (db, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -8000;", error))
    {
      sqlite3_close (db);
      return FALSE;
    }

  /* A checkpoint syncs the disk: with a larger log between checkpoints,
   * adding much mail waits on the disk far less often. */
  if (!read_only &&
      !tern_store_exec (db,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                        "PRAGMA wal_autocheckpoint = 16384;",
                        error))
    {
      sqlite3_close (db);
      return FALSE;
    }

  *out_db = db;
  return TRUE;
}

static TernStoreDb *
borrow_read_db (TernStore  *self,
                GError    **error)
{
  TernStoreDb *db = NULL;

  g_mutex_lock (&self->read_lock);
  if (self->idle_read_dbs->len > 0)
    db = g_ptr_array_steal_index_fast (self->idle_read_dbs, self->idle_read_dbs->len - 1);
  g_mutex_unlock (&self->read_lock);

  if (db != NULL)
    return db;

  db = g_new0 (TernStoreDb, 1);
  if (!tern_store_open_connection (self->index_path, TRUE, &db->index, error) ||
      !tern_store_open_connection (self->bodies_path, TRUE, &db->bodies, error))
    {
      free_read_db (db);
      return NULL;
    }

  return db;
}

static void
return_read_db (TernStore   *self,
                TernStoreDb *db)
{
  g_mutex_lock (&self->read_lock);
  if (self->idle_read_dbs != NULL)
    {
      g_ptr_array_add (self->idle_read_dbs, db);
      db = NULL;
    }
  g_mutex_unlock (&self->read_lock);

  if (db != NULL)
    free_read_db (db);
}

static void
reader_func (gpointer data,
             gpointer user_data)
{
  TernStore *self = user_data;
  Job *job = data;

  if (!g_task_return_error_if_cancelled (job->task))
    {
      g_autoptr(GError) error = NULL;
      TernStoreDb *db = borrow_read_db (self, &error);

      if (db == NULL)
        {
          g_task_return_error (job->task, g_steal_pointer (&error));
        }
      else
        {
          job->func (self, db, job->task);
          return_read_db (self, db);
        }
    }

  release_job (self, job);
}

void
tern_store_queue_read (TernStore        *self,
                       GTask            *task,
                       TernStoreJobFunc  func)
{
  Job *job;

  if (self->closed)
    {
      g_task_return_new_error (task, TERN_STORE_ERROR, TERN_STORE_ERROR_CLOSED,
                               "The mail store is closed");
      return;
    }

  job = g_new0 (Job, 1);
  job->task = g_object_ref (task);
  job->func = func;
  g_thread_pool_push (self->readers, job, NULL);
}

/* Opening */

static gboolean
index_is_sound (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return FALSE;

  return g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
}

/* Whether the index has no schema yet: a new or emptied file. */
static gboolean
index_is_empty (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT count (*) FROM sqlite_schema", -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_ROW)
    return FALSE;

  return sqlite3_column_int (stmt, 0) == 0;
}

static gboolean
bodies_exist (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM body_meta LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;

  return sqlite3_step (stmt) == SQLITE_ROW;
}

static gboolean
move_aside (const char  *path,
            GError     **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *base = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *stamp = g_strdup (base);
  const char *suffixes[] = { "", "-wal", "-shm" };

  /* The damaged index is kept beside the new one, never deleted: it may
   * help to understand what happened. */
  /* An earlier damaged copy of the same second is never overwritten. */
  for (guint n = 2; ; n++)
    {
      g_autofree char *taken = g_strconcat (path, ".damaged-", stamp, NULL);

      if (!g_file_test (taken, G_FILE_TEST_EXISTS))
        break;
      g_free (stamp);
      stamp = g_strdup_printf ("%s-%u", base, n);
    }

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (path, ".damaged-", stamp, suffixes[i], NULL);

      if (g_file_test (from, G_FILE_TEST_EXISTS) && g_rename (from, to) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Could not move the damaged index “%s” aside: %s",
                       from, g_strerror (saved_errno));
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
open_index (TernStore  *self,
            GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  TernStoreDb *db = &self->writer_db;

  gboolean existed = g_file_test (self->index_path, G_FILE_TEST_EXISTS);
  gboolean opened;

  opened = tern_store_open_connection (self->index_path, FALSE, &db->index, &local_error);
  /* The writer fills the search index through this connection. */
  if (opened)
    tern_store_fts_use_runs_tokenizer (db->index);

  if (opened && index_is_sound (db->index))
    {
      gboolean fresh = !existed || index_is_empty (db->index);

      if (tern_store_migrate_index (db->index, &local_error))
        {
          /* An index made anew beside stored mail (deleted, emptied) is
           * filled from the bodies, as after damage. */
          if (fresh && bodies_exist (db->bodies))
            {
              g_message ("The mail index %s was missing; making it again from the stored "
                         "messages", self->index_path);
              self->rebuilt = TRUE;
            }
          return TRUE;
        }
    }

  if (local_error != NULL &&
      !g_error_matches (local_error, TERN_STORE_ERROR, TERN_STORE_ERROR_CORRUPT) &&
      db->index != NULL && index_is_sound (db->index))
    {
      /* A sound index that fails for another reason (a newer schema, a
       * full disk) is left as it is. */
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_warning ("The mail index %s is damaged (%s); making it again from the stored messages",
             self->index_path, local_error != NULL ? local_error->message : "integrity check failed");
  g_clear_pointer (&db->index, sqlite3_close);

  if (!move_aside (self->index_path, error))
    return FALSE;

  if (!tern_store_open_connection (self->index_path, FALSE, &db->index, error))
    return FALSE;
  /* The writer fills the search index through this connection. */
  tern_store_fts_use_runs_tokenizer (db->index);
  if (!tern_store_migrate_index (db->index, error))
    return FALSE;

  self->rebuilt = TRUE;
  return TRUE;
}

static gboolean
tern_store_open_in_thread (TernStore     *self,
                           GCancellable  *cancellable,
                           GError       **error)
{
  TernStoreDb *db = &self->writer_db;

  if (g_mkdir_with_parents (self->data_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create the folder “%s”: %s",
                   self->data_dir, g_strerror (saved_errno));
      return FALSE;
    }

  if (!tern_store_open_connection (self->bodies_path, FALSE, &db->bodies, error) ||
      !tern_store_migrate_bodies (db->bodies, error))
    {
      g_prefix_error (error, "%s: ", self->bodies_path);
      return FALSE;
    }

  if (!open_index (self, error))
    return FALSE;

  if (!tern_store_fts_tune (db->index, error))
    return FALSE;

  /* Bodies written just before a crash, and every body after a rebuild,
   * go (back) into the index. */
  if (!tern_store_recover_bodies (self, db, self->rebuilt, error))
    return FALSE;

  if (!tern_store_pop3_restore (db, self->rebuilt, error))
    return FALSE;

  self->readers = g_thread_pool_new (reader_func, self, N_READERS, FALSE, NULL);
  self->writer = g_thread_new ("tern-store-writer", writer_thread, self);

  return TRUE;
}

static TernStore *
tern_store_new (const char *data_dir)
{
  TernStore *self = g_object_new (TERN_TYPE_STORE, NULL);

  self->data_dir = g_strdup (data_dir);
  self->index_path = g_build_filename (data_dir, "store.sqlite", NULL);
  self->bodies_path = g_build_filename (data_dir, "bodies.sqlite", NULL);
  self->context = g_main_context_ref_thread_default ();

  return self;
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TernStore *self = task_data;
  GError *error = NULL;

  if (tern_store_open_in_thread (self, cancellable, &error))
    g_task_return_pointer (task, g_object_ref (self), g_object_unref);
  else
    g_task_return_error (task, error);
}

/**
 * tern_store_open_async:
 * @data_dir: the profile's data folder; the store lives in it
 * @cancellable: (nullable): a #GCancellable
 * @callback: called on the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Opens the store, creating it when missing, migrating an older schema,
 * and making the index again from the stored bodies when it is damaged.
 * Change signals and results of later calls arrive on the caller's
 * thread-default main context.
 */
void
tern_store_open_async (const char          *data_dir,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(TernStore) self = NULL;

  g_return_if_fail (data_dir != NULL);

  self = tern_store_new (data_dir);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_store_open_async);
  g_task_set_task_data (task, g_object_ref (self), g_object_unref);
  g_task_run_in_thread (task, open_thread);
}

/**
 * tern_store_open_finish:
 *
 * Returns: (transfer full): the store, or %NULL with @error set.
 */
TernStore *
tern_store_open_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_store_open_sync:
 *
 * Opens the store on the calling thread, for tern-cli and tests.  Results
 * of later asynchronous calls arrive on the thread-default main context.
 *
 * Returns: (transfer full): the store, or %NULL with @error set.
 */
TernStore *
tern_store_open_sync (const char    *data_dir,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(TernStore) self = NULL;

  g_return_val_if_fail (data_dir != NULL, NULL);

  self = tern_store_new (data_dir);
  if (!tern_store_open_in_thread (self, cancellable, error))
    return NULL;

  return g_steal_pointer (&self);
}
