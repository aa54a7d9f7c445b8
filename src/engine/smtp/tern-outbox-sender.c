/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-outbox-sender.h"
#include "tern-smtp-client.h"

/*
 * One run: recover what a crash left "sending" (first run only), then
 * claim the next due message, read it from the store, send it over the
 * session (opened at the first message), and record what became of it;
 * again until nothing is due; then QUIT.  A message is marked "sending"
 * before its first byte goes out and filed as sent only after the server
 * took it: a crash in between sends it again on the next run (a possible
 * duplicate), never loses it.
 */

struct _TernOutboxSender
{
  GObject parent_instance;

  TernStore *store;
  char *account;
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
  TernSentCopy copy;
  guint retry_first;
  guint retry_longest;

  gboolean recovered;
  gboolean running;

  /* tern_outbox_sender_start() */
  gboolean started;
  guint timeout_id;
  gulong network_handler;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (TernOutboxSender, tern_outbox_sender, G_TYPE_OBJECT)

enum
{
  SIGNAL_GAVE_UP,
  SIGNAL_CERTIFICATE_REFUSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
tern_outbox_run_stats_clear (TernOutboxRunStats *stats)
{
  g_clear_pointer (&stats->notes, g_ptr_array_unref);
}

static void
tern_outbox_sender_finalize (GObject *object)
{
  TernOutboxSender *self = TERN_OUTBOX_SENDER (object);

  tern_outbox_sender_stop (self);
  g_clear_object (&self->store);
  g_clear_object (&self->tls_database);
  g_free (self->account);
  g_free (self->host);
  g_free (self->username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->local_address);
  g_free (self->pin);

  G_OBJECT_CLASS (tern_outbox_sender_parent_class)->finalize (object);
}

static void
tern_outbox_sender_class_init (TernOutboxSenderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_outbox_sender_finalize;

  /**
   * TernOutboxSender::gave-up:
   * @item_id: the outbox item, which stays in the Outbox in state failed
   * @subject: (nullable): its subject
   * @reason: why: the server's answer, naming refused addresses
   *
   * Emitted on the context of the run when a message is given up on.
   */
  signals[SIGNAL_GAVE_UP] =
    g_signal_new ("gave-up", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * TernOutboxSender::certificate-refused:
   * @item_id: the outbox item the run was sending; it stays queued
   * @host: the SMTP server
   * @port: its port
   * @reason: why the certificate was refused
   *
   * Emitted on the context of the run when the SMTP server's certificate
   * does not validate and is not the pinned one.  The run stops there and
   * the message waits.  Once the user accepted the certificate, a new pin
   * (tern_outbox_sender_set_pinned_certificate()) and a new run send it.
   */
  signals[SIGNAL_CERTIFICATE_REFUSED] =
    g_signal_new ("certificate-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 4, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_UINT,
                  G_TYPE_STRING);
}

static void
tern_outbox_sender_init (TernOutboxSender *self)
{
  self->port = 587;
  self->security = TERN_CONNECTION_SECURITY_STARTTLS;
  self->copy = TERN_SENT_COPY_UPLOAD;
  self->retry_first = TERN_OUTBOX_RETRY_FIRST_SECONDS;
  self->retry_longest = TERN_OUTBOX_RETRY_LONGEST_SECONDS;
}

TernOutboxSender *
tern_outbox_sender_new (TernStore  *store,
                        const char *account)
{
  TernOutboxSender *self;

  g_return_val_if_fail (TERN_IS_STORE (store), NULL);
  g_return_val_if_fail (account != NULL, NULL);

  self = g_object_new (TERN_TYPE_OUTBOX_SENDER, NULL);
  self->store = g_object_ref (store);
  self->account = g_strdup (account);
  return self;
}

void
tern_outbox_sender_set_server (TernOutboxSender       *self,
                               const char             *host,
                               guint16                 port,
                               TernConnectionSecurity  security)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
  self->security = security;
}

/**
 * tern_outbox_sender_set_login:
 * @username: (nullable): the login, or %NULL to send without AUTH
 */
void
tern_outbox_sender_set_login (TernOutboxSender *self,
                              const char       *username,
                              const char       *password)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  g_free (self->username);
  self->username = g_strdup (username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  self->oauth2 = FALSE;
}

/**
 * tern_outbox_sender_set_oauth2_login:
 * @token: an OAuth2 access token
 *
 * As tern_outbox_sender_set_login(), for an account that signs in with
 * OAuth2: the token goes through OAUTHBEARER or XOAUTH2.
 */
void
tern_outbox_sender_set_oauth2_login (TernOutboxSender *self,
                                     const char       *username,
                                     const char       *token)
{
  tern_outbox_sender_set_login (self, username, token);
  self->oauth2 = TRUE;
}

void
tern_outbox_sender_set_tls_database (TernOutboxSender *self,
                                     GTlsDatabase     *database)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  g_set_object (&self->tls_database, database);
}

/**
 * tern_outbox_sender_set_pinned_certificate:
 * @pin: (nullable): the fingerprint of a certificate the user accepted
 */
void
tern_outbox_sender_set_pinned_certificate (TernOutboxSender *self,
                                           const char       *pin)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  g_free (self->pin);
  self->pin = g_strdup (pin);
}

/**
 * tern_outbox_sender_get_account:
 *
 * Returns: (transfer none): the id of the account whose outbox this is.
 */
const char *
tern_outbox_sender_get_account (TernOutboxSender *self)
{
  g_return_val_if_fail (TERN_IS_OUTBOX_SENDER (self), NULL);

  return self->account;
}

void
tern_outbox_sender_set_local_address (TernOutboxSender *self,
                                      const char       *address)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  g_free (self->local_address);
  self->local_address = g_strdup (address);
}

void
tern_outbox_sender_set_io_timeout (TernOutboxSender *self,
                                   guint             msec)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  self->io_timeout = msec;
}

void
tern_outbox_sender_set_sent_copy (TernOutboxSender *self,
                                  TernSentCopy      copy)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  self->copy = copy;
}

void
tern_outbox_sender_set_retry_delays (TernOutboxSender *self,
                                     guint             first_seconds,
                                     guint             longest_seconds)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  self->retry_first = MAX (first_seconds, 1);
  self->retry_longest = MAX (longest_seconds, self->retry_first);
}

/* A run */

typedef struct
{
  gint64 start;
  TernSmtpClient *client;
  TernOutboxItem *item;
  GBytes *raw;
  TernOutboxRunStats stats;
  /* The error that ends the run, when it is not about one message. */
  GError *stop_error;
} RunData;

static void
run_data_free (RunData *data)
{
  if (data->client != NULL)
    tern_connection_close (tern_smtp_client_get_connection (data->client));
  g_clear_object (&data->client);
  g_clear_pointer (&data->item, tern_outbox_item_free);
  g_clear_pointer (&data->raw, g_bytes_unref);
  tern_outbox_run_stats_clear (&data->stats);
  g_clear_error (&data->stop_error);
  g_free (data);
}

static void claim_next (GTask *task);

static void
run_done (GTask *task)
{
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);

  self->running = FALSE;
  if (data->stop_error != NULL)
    g_task_return_error (task, g_steal_pointer (&data->stop_error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
quit_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  /* The mail is sent; a QUIT that goes wrong changes nothing. */
  tern_smtp_client_quit_finish (TERN_SMTP_CLIENT (source), result, NULL);
  run_done (task);
}

static void
finish_run (GTask *task)
{
  RunData *data = g_task_get_task_data (task);

  if (data->client != NULL && data->stop_error == NULL)
    {
      tern_smtp_client_quit_async (data->client, NULL, quit_cb, g_object_ref (task));
      return;
    }
  run_done (task);
}

static void
note (RunData    *data,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
note (RunData    *data,
      const char *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (data->stats.notes, g_strdup_vprintf (format, args));
  va_end (args);
}

static void
recorded_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_store_outbox_change_finish (TERN_STORE (source), result, &error))
    {
      g_prefix_error (&error, "Could not record what became of an outgoing message: ");
      g_clear_error (&data->stop_error);
      data->stop_error = error;
      finish_run (task);
      return;
    }
  if (data->stop_error != NULL || data->stats.offline)
    {
      finish_run (task);
      return;
    }
  claim_next (task);
}

static void
deleted_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!tern_store_delete_messages_finish (TERN_STORE (source), result, &error))
    note (data, "The local copy of a sent message could not be removed: %s", error->message);
  claim_next (task);
}

static void
sent_recorded_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_store_outbox_change_finish (TERN_STORE (source), result, &error))
    {
      /* Sent, but still "sending" in the queue: the next run sends it again,
       * the one duplicate a failure here may cost. */
      g_prefix_error (&error, "A message was sent but could not be filed: ");
      g_clear_error (&data->stop_error);
      data->stop_error = error;
      finish_run (task);
      return;
    }

  if (self->copy == TERN_SENT_COPY_NONE)
    {
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

      g_array_append_val (ids, data->item->message_id);
      tern_store_delete_messages_async (self->store, ids, NULL, deleted_cb, g_object_ref (task));
      return;
    }
  claim_next (task);
}

static gint64
retry_delay (TernOutboxSender *self,
             guint             attempts)
{
  guint64 delay = self->retry_first;

  for (guint i = 1; i < attempts && delay < self->retry_longest; i++)
    delay *= 2;
  return MIN (delay, self->retry_longest);
}

/* What an error means for the message, and for the rest of the run. */
static void
handle_error (GTask  *task,
              GError *error)
{
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  TernOutboxItem *item = data->item;
  gboolean give_up = FALSE;
  gboolean drop_session = TRUE;
  gboolean certificate = FALSE;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (error->domain == TERN_SMTP_ERROR)
    {
      switch (error->code)
        {
        case TERN_SMTP_ERROR_PERMANENT:
        case TERN_SMTP_ERROR_MESSAGE_TOO_LARGE:
        case TERN_SMTP_ERROR_SMTPUTF8_UNSUPPORTED:
        case TERN_SMTP_ERROR_INVALID_ADDRESS:
          give_up = TRUE;
          drop_session = FALSE;
          break;
        case TERN_SMTP_ERROR_TEMPORARY:
          give_up = item->attempts >= TERN_OUTBOX_MAX_ATTEMPTS;
          drop_session = FALSE;
          break;
        case TERN_SMTP_ERROR_PROTOCOL:
          give_up = item->attempts >= TERN_OUTBOX_MAX_ATTEMPTS;
          break;
        default:
          /* STARTTLS, login: the account, not the message; the run ends. */
          data->stop_error = g_error_copy (error);
          break;
        }
    }
  else if (g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE))
    {
      /* The server's certificate is the account's problem, not the
       * message's: the run ends, the message waits, and the user is asked
       * through TernOutboxSender::certificate-refused. */
      data->stop_error = g_error_copy (error);
      certificate = TRUE;
    }
  else
    {
      /* The wire: offline, or the server went away.  Everything waits. */
      data->stats.offline = TRUE;
    }

  if (drop_session && data->client != NULL)
    {
      tern_connection_close (tern_smtp_client_get_connection (data->client));
      g_clear_object (&data->client);
    }

  if (give_up)
    {
      data->stats.failed++;
      note (data, "“%s” was not sent: %s", item->subject, error->message);
      tern_store_outbox_fail_async (self->store, item->id, error->message, NULL, recorded_cb,
                                    g_object_ref (task));
      g_signal_emit (self, signals[SIGNAL_GAVE_UP], 0, item->id, item->subject, error->message);
    }
  else
    {
      data->stats.retried++;
      note (data, "“%s” waits: %s", item->subject, error->message);
      tern_store_outbox_retry_async (self->store, item->id,
                                     MAX (now, data->start) + retry_delay (self, item->attempts),
                                     error->message, NULL, recorded_cb, g_object_ref (task));
    }
  if (certificate)
    g_signal_emit (self, signals[SIGNAL_CERTIFICATE_REFUSED], 0, item->id, self->host,
                   (guint) self->port, error->message);
  g_error_free (error);
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(TernSmtpSendResult) sent = NULL;
  GError *error = NULL;
  const char * const *refused;

  sent = tern_smtp_client_send_finish (data->client, result, &error);
  if (sent == NULL)
    {
      handle_error (task, error);
      return;
    }

  data->stats.sent++;
  refused = tern_smtp_send_result_get_refused (sent);
  for (guint i = 0; refused != NULL && refused[i] != NULL; i++)
    note (data, "“%s” was sent, but not to %s: %s", data->item->subject, refused[i],
          tern_smtp_send_result_get_error (sent, refused[i])->message);
  if (tern_smtp_send_result_get_dsn_unavailable (sent))
    note (data, "“%s” was sent without asking for delivery receipts: the SMTP server "
          "does not offer them (no DSN)", data->item->subject);

  tern_store_outbox_sent_async (self->store, data->item->id, self->copy, NULL, sent_recorded_cb,
                                g_object_ref (task));
}

static void
send_item (GTask *task)
{
  RunData *data = g_task_get_task_data (task);

  TernSmtpDsn dsn = { data->item->dsn_notify, data->item->dsn_ret, NULL };
  g_autofree char *envid = NULL;

  /* The envelope identifier reports quote back: the same for every try of
   * this item, and distinct from the other items of the store. */
  if (dsn.notify != TERN_SMTP_DSN_NOTIFY_DEFAULT || dsn.ret != TERN_SMTP_DSN_RET_DEFAULT)
    {
      envid = g_strdup_printf ("tern-%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT,
                               data->item->created, data->item->id);
      dsn.envid = envid;
    }
  tern_smtp_client_send_full_async (data->client, data->item->sender,
                                    (const char * const *) data->item->recipients, data->raw,
                                    envid != NULL ? &dsn : NULL,
                                    g_task_get_cancellable (task), send_cb,
                                    g_object_ref (task));
}

static void
authenticated_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_smtp_client_authenticate_finish (data->client, result, &error))
    {
      handle_error (task, error);
      return;
    }
  send_item (task);
}

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_smtp_client_connect_finish (data->client, result, &error))
    {
      handle_error (task, error);
      return;
    }
  if (self->username != NULL)
    {
      tern_smtp_client_authenticate_async (data->client, self->username,
                                           self->password != NULL ? self->password : "",
                                           self->oauth2,
                                           g_task_get_cancellable (task), authenticated_cb,
                                           g_object_ref (task));
      return;
    }
  send_item (task);
}

static void
raw_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  TernConnection *connection;
  GError *error = NULL;

  data->raw = tern_store_get_raw_finish (TERN_STORE (source), result, &error);
  if (data->raw == NULL)
    {
      g_prefix_error (&error, "Could not read an outgoing message: ");
      data->stop_error = error;
      finish_run (task);
      return;
    }

  if (data->client != NULL)
    {
      send_item (task);
      return;
    }

  data->client = tern_smtp_client_new ();
  connection = tern_smtp_client_get_connection (data->client);
  if (self->tls_database != NULL)
    tern_connection_set_tls_database (connection, self->tls_database);
  if (self->local_address != NULL)
    tern_connection_set_local_address (connection, self->local_address);
  if (self->io_timeout > 0)
    tern_connection_set_io_timeout (connection, self->io_timeout);
  if (self->pin != NULL && !tern_connection_set_pinned_certificate (connection, self->pin,
                                                                    &error))
    {
      data->stop_error = error;
      finish_run (task);
      return;
    }
  tern_smtp_client_connect_async (data->client, self->host, self->port, self->security,
                                  g_task_get_cancellable (task), connected_cb,
                                  g_object_ref (task));
}

static void
claimed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  g_clear_pointer (&data->item, tern_outbox_item_free);
  g_clear_pointer (&data->raw, g_bytes_unref);
  data->item = tern_store_outbox_claim_finish (TERN_STORE (source), result, &error);
  if (error != NULL)
    {
      data->stop_error = error;
      finish_run (task);
      return;
    }
  if (data->item == NULL)
    {
      finish_run (task);
      return;
    }
  tern_store_get_raw_async (self->store, data->item->message_id, NULL, raw_cb,
                            g_object_ref (task));
}

static void
claim_next (GTask *task)
{
  TernOutboxSender *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);

  if (g_task_return_error_if_cancelled (task))
    {
      self->running = FALSE;
      return;
    }
  /* Claimed as of the run's start: a message put back for later in this
   * run is not taken again in it. */
  tern_store_outbox_claim_async (self->store, self->account, data->start, NULL, claimed_cb,
                                 g_object_ref (task));
}

static void
recovered_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernOutboxSender *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_store_outbox_change_finish (TERN_STORE (source), result, &error))
    {
      self->running = FALSE;
      g_task_return_error (task, error);
      return;
    }
  self->recovered = TRUE;
  claim_next (task);
}

/**
 * tern_outbox_sender_run_async:
 *
 * Sends what is due now (see the top of tern-outbox-sender.h).  The first
 * run puts back in the queue what a crash left half sent.
 */
void
tern_outbox_sender_run_async (TernOutboxSender    *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RunData *data;

  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_outbox_sender_run_async);
  if (self->running)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "The outbox of %s is being sent already", self->account);
      return;
    }
  if (self->host == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "The account %s has no SMTP server", self->account);
      return;
    }
  self->running = TRUE;

  data = g_new0 (RunData, 1);
  data->start = g_get_real_time () / G_USEC_PER_SEC;
  data->stats.notes = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);

  if (!self->recovered)
    {
      tern_store_outbox_recover_async (self->store, self->account, NULL, recovered_cb,
                                       g_object_ref (task));
      return;
    }
  claim_next (task);
}

/**
 * tern_outbox_sender_run_finish:
 * @out_stats: (out caller-allocates) (optional): what the run did; clear
 *   it with tern_outbox_run_stats_clear()
 *
 * Returns: %FALSE when the run stopped for a reason that is not one
 *   message's (a refused login, a failed STARTTLS, the store); the queue
 *   is kept as it was.
 */
gboolean
tern_outbox_sender_run_finish (TernOutboxSender    *self,
                               GAsyncResult        *result,
                               TernOutboxRunStats  *out_stats,
                               GError             **error)
{
  RunData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (out_stats != NULL)
    {
      *out_stats = data->stats;
      data->stats.notes = NULL;
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Working the queue on its own */

static void schedule (TernOutboxSender *self);

static void
started_run_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(TernOutboxSender) self = user_data;
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_autoptr(GError) error = NULL;

  if (!tern_outbox_sender_run_finish (self, result, &stats, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Sending the mail of %s: %s", self->account, error->message);
  for (guint i = 0; stats.notes != NULL && i < stats.notes->len; i++)
    g_message ("%s", (char *) g_ptr_array_index (stats.notes, i));
  schedule (self);
}

static gboolean
run_now_cb (gpointer user_data)
{
  TernOutboxSender *self = user_data;

  self->timeout_id = 0;
  if (self->started && !self->running)
    tern_outbox_sender_run_async (self, self->cancellable, started_run_cb, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
listed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(TernOutboxSender) self = user_data;
  g_autoptr(GPtrArray) items = NULL;
  gint64 next = G_MAXINT64;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  items = tern_store_outbox_list_finish (TERN_STORE (source), result, NULL);
  if (!self->started || items == NULL)
    return;
  for (guint i = 0; i < items->len; i++)
    {
      TernOutboxItem *item = g_ptr_array_index (items, i);

      if (item->state == TERN_OUTBOX_STATE_QUEUED)
        next = MIN (next, MAX (item->send_after, item->next_attempt));
    }
  /* Nothing queued: a message added later is sent by the next run the
   * caller asks for, or the hourly look. */
  if (next == G_MAXINT64)
    next = now + TERN_OUTBOX_RETRY_LONGEST_SECONDS;
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  self->timeout_id = g_timeout_add_seconds ((guint) CLAMP (next - now, 0, G_MAXINT), run_now_cb,
                                            self);
}

static void
schedule (TernOutboxSender *self)
{
  if (!self->started)
    return;
  tern_store_outbox_list_async (self->store, self->account, self->cancellable, listed_cb,
                                g_object_ref (self));
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  TernOutboxSender *self = user_data;

  if (available && self->started && !self->running)
    {
      g_clear_handle_id (&self->timeout_id, g_source_remove);
      self->timeout_id = g_idle_add (run_now_cb, self);
    }
}

/**
 * tern_outbox_sender_start:
 *
 * Works the queue from now on: a run now, another whenever a message
 * falls due, and one when the network comes back.
 */
void
tern_outbox_sender_start (TernOutboxSender *self)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  if (self->started)
    return;
  self->started = TRUE;
  self->cancellable = g_cancellable_new ();
  self->network_handler = g_signal_connect (g_network_monitor_get_default (), "network-changed",
                                            G_CALLBACK (network_changed_cb), self);
  self->timeout_id = g_idle_add (run_now_cb, self);
}

void
tern_outbox_sender_stop (TernOutboxSender *self)
{
  g_return_if_fail (TERN_IS_OUTBOX_SENDER (self));

  if (!self->started)
    return;
  self->started = FALSE;
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_signal_handler (&self->network_handler, g_network_monitor_get_default ());
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
}
