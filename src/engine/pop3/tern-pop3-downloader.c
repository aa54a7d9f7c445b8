/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gunixoutputstream.h>

#include "tern-background.h"
#include "tern-pop3-client.h"
#include "tern-pop3-downloader.h"
#include "tern-store-pop3.h"

/*
 * The order of one check, and why it never loses or duplicates mail:
 *
 *   load the records   what the store has, by UIDL
 *   UIDL, LIST         what the server has
 *   RETR a batch       pipelined; held in memory only until committed
 *   commit             tern_store_pop3_add_async(): the messages and their
 *                      UIDLs together, synced to the disk
 *   DELE               only now, for messages whose commit returned
 *   QUIT               the server deletes; then the records of the deleted
 *                      messages are forgotten
 *
 * A drop before the commit loses nothing (the server still has the
 * message; the next check retrieves it).  A drop after the commit and
 * before QUIT leaves the message on the server, but its UIDL is recorded:
 * the next check does not retrieve it, and deletes it if the policy says
 * so.  Batches bound the memory a check needs.
 */

struct _TernPop3Downloader
{
  GObject parent_instance;

  TernStore *store;
  char *account;
  char *target;
  char *host;
  guint16 port;
  TernConnectionSecurity security;
  char *username;
  char *password;
  /* The password is an OAuth2 access token (XOAUTH2/OAUTHBEARER). */
  gboolean oauth2;
  GTlsDatabase *tls_database;
  char *pin;
  char *local_address;
  guint io_timeout;
  TernPop3AfterDownload after;
  guint keep_days;
  gboolean delete_on_server;

  gboolean running;

  /* tern_pop3_downloader_start() */
  guint interval_minutes;
  guint timeout_id;
  GCancellable *schedule_cancellable;
};

G_DEFINE_FINAL_TYPE (TernPop3Downloader, tern_pop3_downloader, G_TYPE_OBJECT)

G_DEFINE_QUARK (tern-pop3-downloader-error-quark, tern_pop3_downloader_error)

enum {
  SIGNAL_CHECKED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
tern_pop3_downloader_finalize (GObject *object)
{
  TernPop3Downloader *self = TERN_POP3_DOWNLOADER (object);

  tern_pop3_downloader_stop (self);

  g_clear_object (&self->store);
  g_clear_object (&self->tls_database);
  g_free (self->account);
  g_free (self->target);
  g_free (self->host);
  g_free (self->username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->local_address);
  g_free (self->pin);

  G_OBJECT_CLASS (tern_pop3_downloader_parent_class)->finalize (object);
}

static void
tern_pop3_downloader_class_init (TernPop3DownloaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_pop3_downloader_finalize;

  /**
   * TernPop3Downloader::checked:
   * @stats: (type gpointer): the #TernPop3DownloadStats of the check
   * @error: (type gpointer) (nullable): the #GError that ended it, or %NULL
   *
   * Emitted after each check that tern_pop3_downloader_start() runs.
   */
  signals[SIGNAL_CHECKED] =
    g_signal_new ("checked",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_POINTER,
                  G_TYPE_POINTER);
}

static void
tern_pop3_downloader_init (TernPop3Downloader *self)
{
  self->security = TERN_CONNECTION_SECURITY_TLS;
  self->port = 995;
  self->after = TERN_POP3_AFTER_DOWNLOAD_DELETE;
}

/**
 * tern_pop3_downloader_new:
 * @account: the POP3 account's id, under which its UIDLs are recorded
 *
 * Returns: (transfer full): a downloader that stores into @account's
 *   Inbox and deletes on the server after download, until told otherwise.
 */
TernPop3Downloader *
tern_pop3_downloader_new (TernStore  *store,
                          const char *account)
{
  TernPop3Downloader *self;

  g_return_val_if_fail (TERN_IS_STORE (store), NULL);
  g_return_val_if_fail (account != NULL, NULL);

  self = g_object_new (TERN_TYPE_POP3_DOWNLOADER, NULL);
  self->store = g_object_ref (store);
  self->account = g_strdup (account);
  return self;
}

void
tern_pop3_downloader_set_server (TernPop3Downloader     *self,
                                 const char             *host,
                                 guint16                 port,
                                 TernConnectionSecurity  security)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
  self->security = security;
}

void
tern_pop3_downloader_set_login (TernPop3Downloader *self,
                                const char         *username,
                                const char         *password)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  g_free (self->username);
  self->username = g_strdup (username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  self->oauth2 = FALSE;
}

/**
 * tern_pop3_downloader_set_oauth2_login:
 * @token: an OAuth2 access token
 *
 * As tern_pop3_downloader_set_login(), for an account that signs in with
 * OAuth2: the token goes through OAUTHBEARER or XOAUTH2, never USER/PASS.
 */
void
tern_pop3_downloader_set_oauth2_login (TernPop3Downloader *self,
                                       const char         *username,
                                       const char         *token)
{
  tern_pop3_downloader_set_login (self, username, token);
  self->oauth2 = TRUE;
}

void
tern_pop3_downloader_set_tls_database (TernPop3Downloader *self,
                                       GTlsDatabase       *database)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  g_set_object (&self->tls_database, database);
}

/**
 * tern_pop3_downloader_set_pinned_certificate:
 * @pin: (nullable): the SHA-256 fingerprint of a certificate the user
 *   accepted for this server, as tern_connection_set_pinned_certificate()
 *   takes it
 */
void
tern_pop3_downloader_set_pinned_certificate (TernPop3Downloader *self,
                                             const char         *pin)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  g_free (self->pin);
  self->pin = g_strdup (pin);
}

void
tern_pop3_downloader_set_local_address (TernPop3Downloader *self,
                                        const char         *address)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  g_free (self->local_address);
  self->local_address = g_strdup (address);
}

void
tern_pop3_downloader_set_io_timeout (TernPop3Downloader *self,
                                     guint               msec)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  self->io_timeout = msec;
}

/**
 * tern_pop3_downloader_set_target:
 * @account: (nullable): the account whose Inbox receives the mail, or
 *   %NULL for the POP3 account's own
 *
 * Collects the mailbox into another account's Inbox.
 */
void
tern_pop3_downloader_set_target (TernPop3Downloader *self,
                                 const char         *account)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  g_free (self->target);
  self->target = g_strdup (account);
}

/**
 * tern_pop3_downloader_set_after_download:
 * @keep_days: for %TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS, how long a
 *   message stays on the server after Tern first stored it
 */
void
tern_pop3_downloader_set_after_download (TernPop3Downloader    *self,
                                         TernPop3AfterDownload  after,
                                         guint                  keep_days)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  self->after = after;
  self->keep_days = keep_days;
}

/**
 * tern_pop3_downloader_set_delete_on_server:
 *
 * With @delete_too, a message kept on the server is deleted there once the
 * user deleted it here.
 */
void
tern_pop3_downloader_set_delete_on_server (TernPop3Downloader *self,
                                           gboolean            delete_too)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  self->delete_on_server = delete_too;
}

/* One check */

/* A batch of messages on its way from the server to the store. */
typedef struct
{
  GArray *numbers;
  GPtrArray *uidls;
  GPtrArray *messages;
} Batch;

static void
batch_free (Batch *batch)
{
  if (batch == NULL)
    return;
  g_array_unref (batch->numbers);
  g_ptr_array_unref (batch->uidls);
  g_clear_pointer (&batch->messages, g_ptr_array_unref);
  g_free (batch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Batch, batch_free)

/*
 * The transfer overlaps its steps: while one batch is prepared (parsed,
 * compressed) on a worker thread and committed by the store, the next is
 * being retrieved.  At most three batches are held: one retrieved, one
 * being prepared or committed, one arriving.  The POP3 session runs one
 * command at a time, so DELE waits for the retrieval in flight; it is only
 * ever sent for a committed batch.
 */
typedef struct
{
  TernPop3Client *client;
  GHashTable *records;
  gint64 folder_id;
  /* The server's messages, by number: UIDL and size. */
  GPtrArray *uidls;
  GHashTable *sizes;
  /* Numbers to retrieve, in order, and where the next batch starts. */
  GArray *to_fetch;
  guint next_fetch;
  /* The pipeline. */
  gboolean client_busy;
  gboolean store_busy;
  Batch *ready;
  Batch *storing;
  /* The file a large message is being written to. */
  char *part_path;
  GOutputStream *part;
  gboolean quitting;
  GError *error;
  /* Numbers to delete, and the UIDLs deleted so far in this session. */
  GArray *to_delete;
  guint next_delete;
  GPtrArray *deleted_uidls;
  TernPop3DownloadStats stats;
} RunData;

static void
run_data_free (RunData *data)
{
  if (data->client != NULL)
    tern_connection_close (tern_pop3_client_get_connection (data->client));
  g_clear_object (&data->client);
  g_clear_pointer (&data->records, g_hash_table_unref);
  g_clear_pointer (&data->uidls, g_ptr_array_unref);
  g_clear_pointer (&data->sizes, g_hash_table_unref);
  g_clear_pointer (&data->to_fetch, g_array_unref);
  g_clear_pointer (&data->ready, batch_free);
  g_clear_pointer (&data->storing, batch_free);
  g_clear_object (&data->part);
  if (data->part_path != NULL)
    g_unlink (data->part_path);
  g_free (data->part_path);
  g_clear_error (&data->error);
  g_clear_pointer (&data->to_delete, g_array_unref);
  g_clear_pointer (&data->deleted_uidls, g_ptr_array_unref);
  g_free (data);
}

static void
run_fail (GTask  *task,
          GError *error)
{
  TernPop3Downloader *self = g_task_get_source_object (task);

  self->running = FALSE;
  g_task_return_error (task, error);
}

static void pump (GTask *task);

/* Ends the check with the first error once nothing is in flight: a commit
 * under way is let finish, so what it holds is kept. */
static void
pump_fail (GTask  *task,
           GError *error)
{
  RunData *data = g_task_get_task_data (task);

  if (data->error == NULL)
    {
      data->error = error;
      if (data->client != NULL)
        tern_connection_close (tern_pop3_client_get_connection (data->client));
    }
  else
    {
      g_error_free (error);
    }
  pump (task);
}

static const char *
uidl_of (RunData *data,
         guint    number)
{
  return number <= data->uidls->len ? g_ptr_array_index (data->uidls, number - 1) : NULL;
}

/* Whether the policy deletes a message stored before this check. */
static gboolean
should_delete_stored (TernPop3Downloader   *self,
                      const TernPop3Record *record,
                      gint64                now)
{
  if (record->deleted_here && self->delete_on_server)
    return TRUE;

  switch (self->after)
    {
    case TERN_POP3_AFTER_DOWNLOAD_DELETE:
      return TRUE;
    case TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS:
      return now - record->first_seen >= (gint64) self->keep_days * 24 * 3600;
    case TERN_POP3_AFTER_DOWNLOAD_KEEP:
    default:
      return FALSE;
    }
}

static gboolean
should_delete_new (TernPop3Downloader *self)
{
  return self->after == TERN_POP3_AFTER_DOWNLOAD_DELETE ||
         (self->after == TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS && self->keep_days == 0);
}

static void
forget_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_store_pop3_forget_finish (TERN_STORE (source), result, &error))
    {
      /* The records stay; the next check finds the UIDLs gone from the
       * server and nothing is lost. */
      g_warning ("Could not forget deleted POP3 messages of %s: %s", self->account,
                 error->message);
      g_clear_error (&error);
    }
  self->running = FALSE;
  g_task_return_boolean (task, TRUE);
}

static void
quit_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_pop3_client_simple_finish (data->client, result, &error))
    {
      g_prefix_error (&error, "QUIT: ");
      run_fail (task, error);
      return;
    }

  data->stats.deleted = data->deleted_uidls->len;
  if (data->deleted_uidls->len == 0)
    {
      self->running = FALSE;
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_ptr_array_add (data->deleted_uidls, NULL);
  tern_store_pop3_forget_async (self->store, self->account,
                                (const char * const *) data->deleted_uidls->pdata,
                                g_task_get_cancellable (task), forget_cb, g_object_ref (task));
}

static void
dele_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  guint number = g_array_index (data->to_delete, guint, data->next_delete);
  GError *error = NULL;

  data->client_busy = FALSE;
  if (!tern_pop3_client_simple_finish (data->client, result, &error))
    {
      g_prefix_error (&error, "DELE %u: ", number);
      pump_fail (task, error);
      return;
    }
  g_ptr_array_add (data->deleted_uidls, g_strdup (uidl_of (data, number)));
  data->next_delete++;
  pump (task);
}

static void
stored_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(Batch) batch = g_steal_pointer (&data->storing);
  GError *error = NULL;
  guint added = 0;

  data->store_busy = FALSE;
  ids = tern_store_pop3_add_finish (TERN_STORE (source), result, &added, &error);
  if (ids == NULL)
    {
      g_prefix_error (&error, "Could not store the downloaded mail: ");
      pump_fail (task, error);
      return;
    }

  data->stats.downloaded += added;
  /* Committed and synced: the server's copies may go now. */
  if (should_delete_new (self))
    g_array_append_vals (data->to_delete, batch->numbers->data, batch->numbers->len);
  pump (task);
}

static void
prepared_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  Batch *batch = data->storing;

  if (data->error != NULL)
    {
      data->store_busy = FALSE;
      g_clear_pointer (&data->storing, batch_free);
      pump (task);
      return;
    }

  tern_store_pop3_add_async (self->store, self->account, data->folder_id, batch->messages,
                             (const char * const *) batch->uidls->pdata,
                             NULL, stored_cb, g_object_ref (task));
}

static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Batch *batch = task_data;

  for (guint i = 0; i < batch->messages->len; i++)
    tern_new_message_prepare (g_ptr_array_index (batch->messages, i));
  g_task_return_boolean (task, TRUE);
}

/* Parses and compresses a batch on a worker thread, then commits it. */
static void
store_batch (GTask *task,
             Batch *batch)
{
  g_autoptr(GTask) prepare = g_task_new (NULL, NULL, prepared_cb, g_object_ref (task));
  RunData *data = g_task_get_task_data (task);

  data->store_busy = TRUE;
  data->storing = batch;
  g_task_set_task_data (prepare, batch, NULL);
  tern_background_run_in_thread (prepare, prepare_thread, "tern-prepare");
}

static void
retrieved_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  Batch *batch = data->ready;
  g_autoptr(GPtrArray) bodies = NULL;
  GError *error = NULL;

  data->client_busy = FALSE;
  bodies = tern_pop3_client_retr_many_finish (data->client, result, &error);
  if (bodies == NULL)
    {
      g_clear_pointer (&data->ready, batch_free);
      pump_fail (task, error);
      return;
    }

  batch->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  for (guint i = 0; i < bodies->len; i++)
    g_ptr_array_add (batch->messages,
                     tern_new_message_new (g_ptr_array_index (bodies, i), 0, 0));
  g_ptr_array_add (batch->uidls, NULL);
  pump (task);
}

/* A large message: written to a file as it arrives, then mapped. */
static void
streamed_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  Batch *batch = data->ready;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autofree char *path = g_steal_pointer (&data->part_path);
  GError *error = NULL;
  gboolean ok;

  data->client_busy = FALSE;
  ok = tern_pop3_client_retr_to_stream_finish (data->client, result, &error);
  if (ok)
    ok = g_output_stream_close (data->part, NULL, &error);
  g_clear_object (&data->part);
  if (ok)
    mapped = g_mapped_file_new (path, FALSE, &error);
  /* The mapping stays readable once the name is gone. */
  g_unlink (path);
  if (mapped == NULL)
    {
      g_clear_pointer (&data->ready, batch_free);
      pump_fail (task, error);
      return;
    }

  {
    g_autoptr(GBytes) raw = g_mapped_file_get_bytes (mapped);

    batch->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
    g_ptr_array_add (batch->messages, tern_new_message_new (raw, 0, 0));
  }
  g_ptr_array_add (batch->uidls, NULL);
  pump (task);
}

static gboolean
fetch_large (GTask  *task,
             Batch  *batch,
             guint   number)
{
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autofree char *dir = g_build_filename (tern_store_get_data_dir (self->store), "incoming",
                                           NULL);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return FALSE;
  data->part_path = g_build_filename (dir, "pop3-XXXXXX.part", NULL);
  fd = g_mkstemp_full (data->part_path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_clear_pointer (&data->part_path, g_free);
      return FALSE;
    }
  data->part = g_unix_output_stream_new (fd, TRUE);
  g_array_append_val (batch->numbers, number);
  g_ptr_array_add (batch->uidls, (gpointer) uidl_of (data, number));
  data->next_fetch++;
  data->ready = batch;
  data->client_busy = TRUE;
  tern_pop3_client_retr_to_stream_async (data->client, number, data->part,
                                         g_task_get_cancellable (task), streamed_cb,
                                         g_object_ref (task));
  return TRUE;
}

static void
fetch_next_batch (GTask *task)
{
  RunData *data = g_task_get_task_data (task);
  Batch *batch = g_new0 (Batch, 1);
  guint64 octets = 0;

  batch->numbers = g_array_new (FALSE, FALSE, sizeof (guint));
  batch->uidls = g_ptr_array_new ();
  while (data->next_fetch < data->to_fetch->len &&
         batch->numbers->len < TERN_POP3_DOWNLOADER_BATCH_MESSAGES)
    {
      guint number = g_array_index (data->to_fetch, guint, data->next_fetch);
      guint64 size = GPOINTER_TO_SIZE (g_hash_table_lookup (data->sizes,
                                                            GUINT_TO_POINTER (number)));

      /* A large message goes alone, to disk; when no file can be made, it
       * comes through memory like the others. */
      if (size > TERN_POP3_DOWNLOADER_STREAM_OCTETS)
        {
          if (batch->numbers->len > 0)
            break;
          if (fetch_large (task, batch, number))
            return;
        }
      if (batch->numbers->len > 0 && octets + size > TERN_POP3_DOWNLOADER_BATCH_OCTETS)
        break;
      octets += size;
      g_array_append_val (batch->numbers, number);
      g_ptr_array_add (batch->uidls, (gpointer) uidl_of (data, number));
      data->next_fetch++;
    }

  data->ready = batch;
  data->client_busy = TRUE;
  tern_pop3_client_retr_many_async (data->client, (const guint *) batch->numbers->data,
                                    batch->numbers->len, g_task_get_cancellable (task),
                                    retrieved_cb, g_object_ref (task));
}

static void
pump (GTask *task)
{
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);

  if (data->error != NULL)
    {
      if (!data->client_busy && !data->store_busy && !data->quitting)
        {
          data->quitting = TRUE;
          self->running = FALSE;
          g_task_return_error (task, g_steal_pointer (&data->error));
        }
      return;
    }

  /* A retrieved batch goes to the store as soon as the store is free. */
  if (!data->store_busy && data->ready != NULL && data->ready->messages != NULL)
    store_batch (task, g_steal_pointer (&data->ready));

  if (data->client_busy || data->quitting)
    return;

  if (data->next_delete < data->to_delete->len)
    {
      data->client_busy = TRUE;
      tern_pop3_client_dele_async (data->client,
                                   g_array_index (data->to_delete, guint, data->next_delete),
                                   g_task_get_cancellable (task), dele_cb, g_object_ref (task));
      return;
    }

  if (data->next_fetch < data->to_fetch->len && data->ready == NULL)
    {
      fetch_next_batch (task);
      return;
    }

  if (data->next_fetch >= data->to_fetch->len && data->ready == NULL && !data->store_busy)
    {
      data->quitting = TRUE;
      tern_pop3_client_quit_async (data->client, g_task_get_cancellable (task), quit_cb,
                                   g_object_ref (task));
    }
}

static void
plan (GTask *task)
{
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  data->stats.on_server = data->uidls->len;
  for (guint number = 1; number <= data->uidls->len; number++)
    {
      const char *uidl = uidl_of (data, number);
      const TernPop3Record *record;

      /* A server that gives one UIDL twice breaks its promise; the second
       * message is left alone rather than risk a wrong deletion. */
      if (uidl == NULL || !g_hash_table_add (seen, (gpointer) uidl))
        continue;

      record = g_hash_table_lookup (data->records, uidl);
      if (record == NULL)
        g_array_append_val (data->to_fetch, number);
      else if (should_delete_stored (self, record, now))
        g_array_append_val (data->to_delete, number);
    }

  pump (task);
}

static void
list_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) entries = NULL;
  GError *error = NULL;

  entries = tern_pop3_client_list_finish (data->client, result, &error);
  if (entries == NULL)
    {
      run_fail (task, error);
      return;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      TernPop3Entry *entry = g_ptr_array_index (entries, i);

      g_hash_table_insert (data->sizes, GUINT_TO_POINTER (entry->number),
                           GSIZE_TO_POINTER ((gsize) MIN (entry->size, G_MAXSIZE)));
    }
  plan (task);
}

static void
uidl_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) entries = NULL;
  GError *error = NULL;

  entries = tern_pop3_client_uidl_finish (data->client, result, &error);
  if (entries == NULL)
    {
      if (g_error_matches (error, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED))
        {
          g_autoptr(GError) cause = error;

          error = g_error_new (TERN_POP3_DOWNLOADER_ERROR, TERN_POP3_DOWNLOADER_ERROR_NO_UIDL,
                               "The server does not give messages unique ids (UIDL: %s); "
                               "Tern cannot download from it without risking duplicates",
                               cause->message);
        }
      run_fail (task, error);
      return;
    }

  for (guint i = 0; i < entries->len; i++)
    {
      TernPop3Entry *entry = g_ptr_array_index (entries, i);

      if (entry->number == 0 || entry->number > 10 * 1000 * 1000)
        continue;
      if (entry->number > data->uidls->len)
        g_ptr_array_set_size (data->uidls, entry->number);
      g_free (g_ptr_array_index (data->uidls, entry->number - 1));
      g_ptr_array_index (data->uidls, entry->number - 1) = g_strdup (entry->uid);
    }

  tern_pop3_client_list_async (data->client, g_task_get_cancellable (task), list_cb,
                               g_object_ref (task));
}

static void
login_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_pop3_client_login_finish (data->client, result, &error))
    {
      run_fail (task, error);
      return;
    }
  tern_pop3_client_uidl_async (data->client, g_task_get_cancellable (task), uidl_cb,
                               g_object_ref (task));
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_pop3_client_connect_finish (data->client, result, &error))
    {
      run_fail (task, error);
      return;
    }
  (self->oauth2 ? tern_pop3_client_login_oauth_async : tern_pop3_client_login_async)
    (data->client, self->username, self->password, g_task_get_cancellable (task), login_cb,
     g_object_ref (task));
}

static void
folder_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(TernConnection) connection = NULL;
  GError *error = NULL;

  folder = tern_store_ensure_folder_finish (TERN_STORE (source), result, &error);
  if (folder == NULL)
    {
      run_fail (task, error);
      return;
    }
  data->folder_id = tern_folder_get_id (folder);

  connection = tern_connection_new ();
  if (self->tls_database != NULL)
    tern_connection_set_tls_database (connection, self->tls_database);
  if (self->local_address != NULL)
    tern_connection_set_local_address (connection, self->local_address);
  if (self->io_timeout > 0)
    tern_connection_set_io_timeout (connection, self->io_timeout);
  if (self->pin != NULL && !tern_connection_set_pinned_certificate (connection, self->pin,
                                                                    &error))
    {
      run_fail (task, error);
      return;
    }
  data->client = tern_pop3_client_new (connection);
  tern_pop3_client_connect_async (data->client, self->host, self->port, self->security,
                                  g_task_get_cancellable (task), connect_cb, g_object_ref (task));
}

static void
load_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Downloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  data->records = tern_store_pop3_load_finish (TERN_STORE (source), result, &error);
  if (data->records == NULL)
    {
      run_fail (task, error);
      return;
    }
  tern_store_ensure_folder_async (self->store, self->target != NULL ? self->target
                                                                    : self->account,
                                  "INBOX", TERN_FOLDER_ROLE_INBOX,
                                  g_task_get_cancellable (task), folder_cb, g_object_ref (task));
}

/**
 * tern_pop3_downloader_run_async:
 *
 * Checks the mailbox once (see the top of tern-pop3-downloader.h).  One
 * check runs at a time; another fails with
 * %TERN_POP3_DOWNLOADER_ERROR_BUSY.
 */
void
tern_pop3_downloader_run_async (TernPop3Downloader  *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RunData *data;

  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_pop3_downloader_run_async);

  if (self->running)
    {
      g_task_return_new_error (task, TERN_POP3_DOWNLOADER_ERROR,
                               TERN_POP3_DOWNLOADER_ERROR_BUSY,
                               "The mailbox of %s is being checked already", self->account);
      return;
    }
  if (self->host == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "The account %s has no POP3 server", self->account);
      return;
    }
  self->running = TRUE;

  data = g_new0 (RunData, 1);
  data->uidls = g_ptr_array_new_with_free_func (g_free);
  data->sizes = g_hash_table_new (NULL, NULL);
  data->to_fetch = g_array_new (FALSE, FALSE, sizeof (guint));
  data->to_delete = g_array_new (FALSE, FALSE, sizeof (guint));
  data->deleted_uidls = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);

  tern_store_pop3_load_async (self->store, self->account, cancellable, load_cb,
                              g_object_ref (task));
}

/**
 * tern_pop3_downloader_run_finish:
 * @out_stats: (out) (optional): what the check did
 *
 * Returns: %TRUE when the check ended with QUIT; on error, every message
 *   is still either on the server or in the store.
 */
gboolean
tern_pop3_downloader_run_finish (TernPop3Downloader     *self,
                                 GAsyncResult           *result,
                                 TernPop3DownloadStats  *out_stats,
                                 GError                **error)
{
  RunData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (out_stats != NULL)
    *out_stats = data != NULL ? data->stats : (TernPop3DownloadStats) { 0 };

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Periodic checks */

static gboolean check_now_cb (gpointer user_data);

static void
scheduled_check_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(TernPop3Downloader) self = user_data;
  g_autoptr(GError) error = NULL;
  TernPop3DownloadStats stats = { 0 };

  tern_pop3_downloader_run_finish (self, result, &stats, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_signal_emit (self, signals[SIGNAL_CHECKED], 0, &stats, error);
  if (self->interval_minutes > 0 && self->timeout_id == 0)
    self->timeout_id = g_timeout_add_seconds (self->interval_minutes * 60, check_now_cb, self);
}

static gboolean
check_now_cb (gpointer user_data)
{
  TernPop3Downloader *self = user_data;

  self->timeout_id = 0;
  if (!self->running)
    tern_pop3_downloader_run_async (self, self->schedule_cancellable, scheduled_check_cb,
                                    g_object_ref (self));
  return G_SOURCE_REMOVE;
}

/**
 * tern_pop3_downloader_start:
 * @interval_minutes: the account's interval between checks
 *
 * Checks the mailbox now and then every @interval_minutes, emitting
 * #TernPop3Downloader::checked after each check.  A check that fails is
 * tried again at the next interval.
 */
void
tern_pop3_downloader_start (TernPop3Downloader *self,
                            guint               interval_minutes)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));
  g_return_if_fail (interval_minutes > 0);

  tern_pop3_downloader_stop (self);
  self->interval_minutes = interval_minutes;
  self->schedule_cancellable = g_cancellable_new ();
  self->timeout_id = g_idle_add (check_now_cb, self);
}

/**
 * tern_pop3_downloader_stop:
 *
 * Stops the periodic checks; a check under way is cancelled (what it
 * committed stays, and nothing is deleted without its QUIT).
 */
void
tern_pop3_downloader_stop (TernPop3Downloader *self)
{
  g_return_if_fail (TERN_IS_POP3_DOWNLOADER (self));

  self->interval_minutes = 0;
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  if (self->schedule_cancellable != NULL)
    g_cancellable_cancel (self->schedule_cancellable);
  g_clear_object (&self->schedule_cancellable);
}
