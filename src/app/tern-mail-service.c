/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "tern-account-auth.h"
#include "tern-account-manager.h"
#include "tern-credentials.h"
#include "tern-credentials-secret.h"
#include "tern-imap-client.h"
#include "tern-imap-sync.h"
#include "tern-mail-service.h"
#include "tern-message-flags.h"
#include "tern-pop3-downloader.h"
#include "tern-stall-probe.h"
#include "tern-trust.h"

/*
 * At most one IMAP connection is open per account: the watch (IDLE) and a
 * full pass share the account's TernImapSync, so they take turns.  When a
 * pass falls due the watch is cancelled, the pass runs, and the watch
 * starts again after it.  A pass that fails is tried again after 30 s,
 * then 1, 2, 4… minutes, never later than the account's interval; the
 * same failure is told only once.
 */

#define BACKOFF_FIRST_SECONDS 30
/* How soon a pass takes the user's changes (moves, flags) to the server. */
#define PUSH_DELAY_SECONDS 2

struct _TernMailService
{
  GObject parent_instance;

  GApplication *application;   /* unowned: it owns the service */
  TernStore *store;
  char *config_dir;
  GHashTable *accounts;        /* id → AccountSync */
  GCancellable *cancellable;
  GNetworkMonitor *monitor;
  gboolean offline;
  guint busy;
  /* While busy: how long the main loop goes without redrawing. */
  TernStallProbe *probe;
};

G_DEFINE_FINAL_TYPE (TernMailService, tern_mail_service, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_BUSY,
  PROP_OFFLINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_PROBLEM,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  TernMailService *service;    /* unowned; cleared when it stops */
  TernAccount *account;
  TernImapSync *imap;
  TernPop3Downloader *pop3;
  /* The account's passes and checks; cancelled when it is removed. */
  GCancellable *cancellable;
  GCancellable *watch_cancellable;
  gboolean running;
  gboolean watching;
  gboolean pass_wanted;         /* a pass, or changes to send, came during one */
  guint timer;
  guint backoff;
  char *problem;
  /* SHA-256 of the password the running pass logs in with, and of the last
   * one the server refused: a refused password is never sent again, so that
   * retries cannot lock the account; a changed one is tried at the next
   * pass. */
  char *tried_digest;
  char *refused_digest;
  /* OAuth2 accounts: the access token, kept between passes. */
  TernAccountAuth *auth;
  /* Jobs the user asked for (GTask, see Job), run one at a time on the
   * account's connection between passes. */
  GQueue jobs;
  GTask *job;
} AccountSync;

/* A job on an account's server: read its quota, or move old mail to a
 * folder on this computer. */
typedef enum
{
  JOB_QUOTA,
  JOB_ARCHIVE,
} JobKind;

typedef struct
{
  JobKind kind;
  char *folder_path;
  guint older_than_days;
  gint64 local_folder_id;
  guint64 used_kib;
  guint64 limit_kib;
  guint count;
} Job;

static void
job_free (Job *job)
{
  g_free (job->folder_path);
  g_free (job);
}

static void
account_sync_clear (AccountSync *sync)
{
  GTask *task;

  while ((task = g_queue_pop_head (&sync->jobs)) != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "Tern stopped getting mail");
      g_object_unref (task);
    }
  g_clear_handle_id (&sync->timer, g_source_remove);
  if (sync->watch_cancellable != NULL)
    g_cancellable_cancel (sync->watch_cancellable);
  if (sync->pop3 != NULL)
    {
      g_signal_handlers_disconnect_by_data (sync->pop3, sync);
      tern_pop3_downloader_stop (sync->pop3);
    }
  g_clear_object (&sync->watch_cancellable);
  g_clear_object (&sync->cancellable);
  g_clear_object (&sync->imap);
  g_clear_object (&sync->pop3);
  g_clear_object (&sync->account);
  g_clear_pointer (&sync->problem, g_free);
  g_clear_pointer (&sync->tried_digest, g_free);
  g_clear_pointer (&sync->refused_digest, g_free);
  g_clear_object (&sync->auth);
}

/* Where an OAuth2 account's access token comes from; NULL for a password
 * account. */
static TernAccountAuth *
account_auth (AccountSync *sync)
{
  if (tern_account_get_auth_method (sync->account) != TERN_AUTH_METHOD_OAUTH2)
    return NULL;
  if (sync->auth == NULL)
    {
      g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
      g_autoptr(TernCredentials) credentials = tern_credentials_for_account (sync->account,
                                                                           keyring);

      sync->auth = tern_account_auth_new (sync->account, credentials);
    }
  return sync->auth;
}

/* The password or access token a lookup_async()/get_secret_async() got. */
static char *
secret_finish (GObject       *source,
               GAsyncResult  *result,
               GError       **error)
{
  if (TERN_IS_ACCOUNT_AUTH (source))
    return tern_account_auth_get_secret_finish (TERN_ACCOUNT_AUTH (source), result, error);
  return tern_credentials_lookup_finish (TERN_CREDENTIALS (source), result, error);
}

static AccountSync *
account_sync_ref (AccountSync *sync)
{
  return g_rc_box_acquire (sync);
}

static void
account_sync_unref (AccountSync *sync)
{
  g_rc_box_release_full (sync, (GDestroyNotify) account_sync_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AccountSync, account_sync_unref)

static void
set_busy (TernMailService *self,
          gboolean         more)
{
  gboolean was = self->busy > 0;

  if (more)
    self->busy++;
  else if (self->busy > 0)
    self->busy--;
  if (was == (self->busy > 0))
    return;

  /* Getting mail must leave the window responsive: how long the main
   * loop stalls meanwhile is measured, and told to the debug log. */
  if (self->busy > 0)
    {
      g_clear_pointer (&self->probe, tern_stall_probe_free);
      self->probe = tern_stall_probe_new ();
    }
  else if (self->probe != NULL)
    {
      gint64 longest = tern_stall_probe_get_longest (self->probe);

      g_debug ("Getting mail took %.1f s; the main loop stalled for %" G_GINT64_FORMAT
               " ms at most meanwhile (until %.2f s)",
               tern_stall_probe_get_elapsed (self->probe) / (double) G_USEC_PER_SEC,
               longest / 1000,
               tern_stall_probe_get_longest_at (self->probe) / (double) G_USEC_PER_SEC);
      g_clear_pointer (&self->probe, tern_stall_probe_free);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Tells a failure once; the same failure again says nothing. */
static void
report_problem (AccountSync  *sync,
                const GError *error)
{
  TernMailService *self = sync->service;
  g_autofree char *text = NULL;

  if (g_strcmp0 (sync->problem, error->message) == 0)
    return;
  g_free (sync->problem);
  sync->problem = g_strdup (error->message);
  g_warning ("Getting mail for “%s”: %s", tern_account_get_id (sync->account), error->message);
  text = g_strdup_printf (_("Could not get mail for %s: %s"),
                          tern_account_get_id (sync->account), error->message);
  g_signal_emit (self, signals[SIGNAL_PROBLEM], 0, tern_account_get_id (sync->account), text);
}

static TernConnectionSecurity
connection_security (TernSecurity security)
{
  switch (security)
    {
    case TERN_SECURITY_STARTTLS:
      return TERN_CONNECTION_SECURITY_STARTTLS;
    case TERN_SECURITY_NONE:
      return TERN_CONNECTION_SECURITY_NONE;
    case TERN_SECURITY_TLS:
    default:
      return TERN_CONNECTION_SECURITY_TLS;
    }
}

static char *
lookup_pin (TernMailService *self,
            TernAccount     *account)
{
  g_autoptr(TernTrustStore) trust = tern_trust_store_new (self->config_dir);
  g_autoptr(GError) error = NULL;

  if (!tern_trust_store_load (trust, &error))
    {
      g_warning ("Reading the trusted certificates: %s", error->message);
      return NULL;
    }
  return g_strdup (tern_trust_store_lookup (trust, tern_account_get_receiving_host (account),
                                            tern_account_get_receiving_port (account)));
}

/* New mail */

static gboolean
window_is_active (TernMailService *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self->application));

  return window != NULL && gtk_window_is_active (window);
}

static void
send_notification (TernMailService *self,
                   guint            count,
                   const char      *sender,
                   const char      *subject)
{
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *title = NULL;

  if (count == 1 && sender != NULL)
    title = g_strdup_printf (_("New mail from %s"), sender);
  else
    title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u new message",
                                          "%u new messages", count), count);
  notification = g_notification_new (title);
  if (count == 1 && subject != NULL)
    g_notification_set_body (notification, subject);
  g_notification_set_default_action (notification, "app.show-inbox");
  g_application_send_notification (self->application, "new-mail", notification);
}

static void
got_new_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(TernMailService) self = user_data;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  TernMessage *first = NULL;
  guint unread = 0;

  messages = tern_store_get_messages_finish (TERN_STORE (source), result, &error);
  if (messages == NULL)
    return;
  for (guint i = 0; i < messages->len; i++)
    {
      TernMessage *message = messages->pdata[i];

      if (message == NULL || (tern_message_get_flags (message) & TERN_MESSAGE_FLAG_SEEN) != 0)
        continue;
      if (first == NULL)
        first = message;
      unread++;
    }
  if (unread == 0 || window_is_active (self))
    return;
  send_notification (self, unread,
                     first == NULL ? NULL
                     : tern_message_get_from_name (first) != NULL &&
                       *tern_message_get_from_name (first) != '\0'
                     ? tern_message_get_from_name (first)
                     : tern_message_get_from_address (first),
                     tern_message_get_subject (first));
}

/* Messages the watch added to an Inbox: unread ones are told of, while
 * the window is not in front. */
static void
new_in_inbox (TernMailService *self,
              GArray          *message_ids)
{
  if (message_ids->len == 0 || window_is_active (self))
    return;
  tern_store_get_messages_async (self->store, message_ids, self->cancellable, got_new_cb,
                                 g_object_ref (self));
}

/* IMAP */

static void start_pass (AccountSync *sync);
static gboolean run_next_job (AccountSync *sync);

static gboolean
pass_due_cb (gpointer user_data)
{
  AccountSync *sync = user_data;

  sync->timer = 0;
  start_pass (sync);
  return G_SOURCE_REMOVE;
}

static void
schedule_pass (AccountSync *sync,
               guint        seconds)
{
  g_clear_handle_id (&sync->timer, g_source_remove);
  sync->timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, seconds, pass_due_cb,
                                            account_sync_ref (sync),
                                            (GDestroyNotify) account_sync_unref);
}

static guint
interval_seconds (AccountSync *sync)
{
  return MAX (tern_account_get_sync_interval (sync->account), 1) * 60;
}

typedef struct
{
  AccountSync *sync;
  GArray *ids;
} NewMail;

static gboolean
new_mail_idle_cb (gpointer user_data)
{
  NewMail *new_mail = user_data;

  if (new_mail->sync->service != NULL)
    new_in_inbox (new_mail->sync->service, new_mail->ids);
  account_sync_unref (new_mail->sync);
  g_array_unref (new_mail->ids);
  g_free (new_mail);
  return G_SOURCE_REMOVE;
}

/* In the watch's thread. */
static void
watch_new_mail_cb (const char *path,
                   GArray     *message_ids,
                   gpointer    user_data)
{
  NewMail *new_mail = g_new0 (NewMail, 1);

  new_mail->sync = account_sync_ref (user_data);
  new_mail->ids = g_array_copy (message_ids);
  g_main_context_invoke (NULL, new_mail_idle_cb, new_mail);
}

static void
watch_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  AccountSync *sync = task_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  GError *error = NULL;

  /* The watch's connection lives on a context of this thread's own, as a
   * pass's does, and closes here, leaving the account's one connection
   * free for the next pass. */
  g_main_context_push_thread_default (context);
  tern_imap_sync_watch (TERN_IMAP_SYNC (source_object), watch_new_mail_cb, sync, cancellable,
                        &error);
  tern_imap_sync_disconnect (TERN_IMAP_SYNC (source_object));
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, FALSE);
}

static void
watch_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  sync->watching = FALSE;
  if (sync->service == NULL)
    return;
  /* A job asked for goes first; a pass wanted meanwhile follows it. */
  if (run_next_job (sync))
    return;
  if (sync->pass_wanted)
    {
      sync->pass_wanted = FALSE;
      start_pass (sync);
      return;
    }
  /* A refused login or certificate: the next pass tries again. */
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    report_problem (sync, error);
}

static void
start_watch (AccountSync *sync)
{
  g_autoptr(GTask) task = NULL;

  if (sync->watching || sync->imap == NULL)
    return;
  g_clear_object (&sync->watch_cancellable);
  sync->watch_cancellable = g_cancellable_new ();
  sync->watching = TRUE;
  task = g_task_new (sync->imap, sync->watch_cancellable, watch_done_cb,
                     account_sync_ref (sync));
  g_task_set_task_data (task, account_sync_ref (sync), (GDestroyNotify) account_sync_unref);
  g_task_run_in_thread (task, watch_thread);
}

static void
pass_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GError) error = NULL;
  TernImapSyncStats stats = { 0 };
  TernMailService *self = sync->service;

  sync->running = FALSE;
  if (self == NULL)
    return;
  set_busy (self, FALSE);
  if (!tern_imap_sync_run_finish (TERN_IMAP_SYNC (source), result, &stats, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* A kept OAuth2 token the server refused: one more pass at once,
       * with a fresh one. */
      if (sync->auth != NULL && tern_account_auth_retry_after_error (sync->auth, error))
        {
          start_pass (sync);
          return;
        }
      report_problem (sync, error);
      /* The jobs waiting are tried all the same; each says how it fails. */
      run_next_job (sync);
      if (g_error_matches (error, TERN_IMAP_CLIENT_ERROR,
                           TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED))
        {
          /* No quick retry with a password the server refused: the next
           * pass comes at the account's interval and only logs in if the
           * password has changed meanwhile. */
          g_free (sync->refused_digest);
          sync->refused_digest = g_steal_pointer (&sync->tried_digest);
          schedule_pass (sync, interval_seconds (sync));
          return;
        }
      sync->backoff = sync->backoff == 0 ? BACKOFF_FIRST_SECONDS
                      : MIN (sync->backoff * 2, interval_seconds (sync));
      schedule_pass (sync, sync->backoff);
      return;
    }

  g_debug ("Synced “%s”: %u folders, %u new messages", tern_account_get_id (sync->account),
           stats.folders, stats.new_messages);
  sync->backoff = 0;
  g_clear_pointer (&sync->problem, g_free);
  g_clear_pointer (&sync->refused_digest, g_free);
  /* Changes made while the pass ran go to the server soon, not at the
   * next interval. */
  schedule_pass (sync, sync->pass_wanted ? PUSH_DELAY_SECONDS : interval_seconds (sync));
  sync->pass_wanted = FALSE;
  if (!run_next_job (sync))
    start_watch (sync);
}

/* Gives the account's connection its server, login and certificate. */
static void
configure_imap (AccountSync *sync,
                const char  *password)
{
  TernAccount *account = sync->account;
  g_autofree char *pin = lookup_pin (sync->service, account);

  tern_imap_sync_set_server (sync->imap, tern_account_get_receiving_host (account),
                             tern_account_get_receiving_port (account),
                             connection_security (tern_account_get_receiving_security (account)));
  if (sync->auth != NULL)
    tern_imap_sync_set_oauth2_login (sync->imap, tern_account_get_receiving_username (account),
                                     password);
  else
    tern_imap_sync_set_login (sync->imap, tern_account_get_receiving_username (account),
                              password);
  tern_imap_sync_set_pinned_certificate (sync->imap, pin);
  tern_imap_sync_set_offline_days (sync->imap, tern_account_get_offline_days (account));
  tern_imap_sync_set_all_bodies (sync->imap, tern_account_get_offline_days (account) == 0);
}

static void
pass_password_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GError) error = NULL;
  TernMailService *self = sync->service;
  char *password;

  password = secret_finish (source, result, &error);
  if (self == NULL)
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      return;
    }
  if (password == NULL && error != NULL &&
      (sync->auth != NULL ||
       !g_error_matches (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND)))
    {
      sync->running = FALSE;
      set_busy (self, FALSE);
      report_problem (sync, error);
      sync->backoff = sync->backoff == 0 ? BACKOFF_FIRST_SECONDS
                      : MIN (sync->backoff * 2, interval_seconds (sync));
      schedule_pass (sync, sync->backoff);
      return;
    }

  g_free (sync->tried_digest);
  sync->tried_digest = password != NULL
                       ? g_compute_checksum_for_string (G_CHECKSUM_SHA256, password, -1)
                       : NULL;
  if (sync->tried_digest != NULL && g_strcmp0 (sync->tried_digest, sync->refused_digest) == 0)
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      sync->running = FALSE;
      set_busy (self, FALSE);
      schedule_pass (sync, interval_seconds (sync));
      return;
    }

  configure_imap (sync, password);
  g_clear_pointer (&password, tern_credentials_free_secret);
  tern_imap_sync_run_async (sync->imap, NULL, sync->cancellable, pass_done_cb,
                            account_sync_ref (sync));
}

/* A full pass; the watch, if it runs, is stopped first and started again
 * after.  The password is read again for each pass, so that a changed one
 * is used. */
static void
start_pass (AccountSync *sync)
{
  TernMailService *self = sync->service;
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(TernCredentials) credentials = NULL;

  if (self == NULL || sync->running)
    return;
  g_clear_handle_id (&sync->timer, g_source_remove);
  if (sync->watching)
    {
      sync->pass_wanted = TRUE;
      g_cancellable_cancel (sync->watch_cancellable);
      return;
    }

  sync->running = TRUE;
  set_busy (self, TRUE);
  if (account_auth (sync) != NULL)
    {
      tern_account_auth_get_secret_async (sync->auth, TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                          sync->cancellable, pass_password_cb,
                                          account_sync_ref (sync));
      return;
    }
  keyring = tern_credentials_secret_new ();
  credentials = tern_credentials_for_account (sync->account, keyring);
  tern_credentials_lookup_async (credentials, tern_account_get_id (sync->account),
                                 TERN_CREDENTIAL_RECEIVING_PASSWORD, sync->cancellable,
                                 pass_password_cb, account_sync_ref (sync));
}

/* Jobs: the quota, archiving old mail */

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  TernImapSync *imap = source_object;
  Job *job = g_task_get_task_data (G_TASK (task_data));
  g_autoptr(GMainContext) context = g_main_context_new ();
  GError *error = NULL;
  gboolean ok;

  /* As in a pass, the connection lives and closes on this thread's own
   * context. */
  g_main_context_push_thread_default (context);
  if (job->kind == JOB_QUOTA)
    ok = tern_imap_sync_get_quota (imap, &job->used_kib, &job->limit_kib, cancellable, &error);
  else
    ok = tern_imap_sync_archive (imap, job->folder_path, job->older_than_days,
                                 job->local_folder_id, &job->count, cancellable, &error);
  tern_imap_sync_disconnect (imap);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GTask) job = g_steal_pointer (&sync->job);
  GError *error = NULL;

  sync->running = FALSE;
  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (job, TRUE);
  else
    g_task_return_error (job, error);
  if (sync->service == NULL)
    return;
  set_busy (sync->service, FALSE);
  if (run_next_job (sync))
    return;
  /* A pass that fell due meanwhile runs now; otherwise the watch goes on. */
  if (sync->timer == 0 || sync->pass_wanted)
    {
      sync->pass_wanted = FALSE;
      start_pass (sync);
    }
  else
    start_watch (sync);
}

static void
job_password_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  g_autofree char *digest = NULL;
  char *password;

  password = secret_finish (source, result, &error);
  if (password != NULL)
    digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, password, -1);
  if (sync->service == NULL ||
      (password == NULL && error != NULL &&
       !g_error_matches (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND)) ||
      (digest != NULL && g_strcmp0 (digest, sync->refused_digest) == 0))
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      if (error == NULL)
        error = sync->service == NULL
                ? g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Tern stopped getting mail")
                : g_error_new (TERN_IMAP_CLIENT_ERROR,
                               TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED,
                               _("The server refused the password"));
      /* job_done_cb's bookkeeping, with the failure. */
      task = g_task_new (sync->imap, NULL, job_done_cb, account_sync_ref (sync));
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  configure_imap (sync, password);
  g_clear_pointer (&password, tern_credentials_free_secret);
  task = g_task_new (sync->imap, g_task_get_cancellable (sync->job), job_done_cb,
                     account_sync_ref (sync));
  g_task_set_task_data (task, g_object_ref (sync->job), g_object_unref);
  g_task_run_in_thread (task, job_thread);
}

/* Starts the next job when the connection is free, or asks the watch to
 * give it up.  Returns whether a job starts or waits for the watch. */
static gboolean
run_next_job (AccountSync *sync)
{
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(TernCredentials) credentials = NULL;

  if (sync->service == NULL || sync->running || g_queue_is_empty (&sync->jobs))
    return FALSE;
  if (sync->watching)
    {
      g_cancellable_cancel (sync->watch_cancellable);
      return TRUE;
    }

  sync->job = g_queue_pop_head (&sync->jobs);
  sync->running = TRUE;
  set_busy (sync->service, TRUE);
  if (account_auth (sync) != NULL)
    {
      tern_account_auth_get_secret_async (sync->auth, TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                          sync->service->cancellable, job_password_cb,
                                          account_sync_ref (sync));
      return TRUE;
    }
  keyring = tern_credentials_secret_new ();
  credentials = tern_credentials_for_account (sync->account, keyring);
  tern_credentials_lookup_async (credentials, tern_account_get_id (sync->account),
                                 TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                 sync->service->cancellable, job_password_cb,
                                 account_sync_ref (sync));
  return TRUE;
}

static void
queue_job (TernMailService     *self,
           const char          *account_id,
           Job                 *job,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data,
           gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  AccountSync *sync = g_hash_table_lookup (self->accounts, account_id);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  if (sync == NULL || sync->imap == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("“%s” is not an IMAP account Tern gets mail for"), account_id);
      return;
    }
  g_queue_push_tail (&sync->jobs, g_steal_pointer (&task));
  run_next_job (sync);
}

/**
 * tern_mail_service_get_quota_async:
 * @account_id: an IMAP account's ID
 *
 * Asks the account's server how much of its storage the account uses, on
 * the account's connection, between passes.
 */
void
tern_mail_service_get_quota_async (TernMailService     *self,
                                   const char          *account_id,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  job->kind = JOB_QUOTA;
  queue_job (self, account_id, job, cancellable, callback, user_data,
             tern_mail_service_get_quota_async);
}

/**
 * tern_mail_service_get_quota_finish:
 * @out_used_kib: (out): the storage used, in KiB
 * @out_limit_kib: (out): the limit, in KiB
 *
 * Returns: %FALSE with @error when the server sets no limit, has no QUOTA
 *   extension, or could not be asked.
 */
gboolean
tern_mail_service_get_quota_finish (TernMailService  *self,
                                    GAsyncResult     *result,
                                    guint64          *out_used_kib,
                                    guint64          *out_limit_kib,
                                    GError          **error)
{
  Job *job;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  job = g_task_get_task_data (G_TASK (result));
  *out_used_kib = job->used_kib;
  *out_limit_kib = job->limit_kib;
  return TRUE;
}

/**
 * tern_mail_service_archive_async:
 * @account_id: an IMAP account's ID
 * @folder_path: the account's folder to take mail from
 * @older_than_days: how old the mail must be
 * @local_folder_id: a folder On This Computer
 *
 * Moves the folder's mail older than @older_than_days days to the local
 * folder: each batch is in the store before the server deletes it.
 */
void
tern_mail_service_archive_async (TernMailService     *self,
                                 const char          *account_id,
                                 const char          *folder_path,
                                 guint                older_than_days,
                                 gint64               local_folder_id,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  job->kind = JOB_ARCHIVE;
  job->folder_path = g_strdup (folder_path);
  job->older_than_days = older_than_days;
  job->local_folder_id = local_folder_id;
  queue_job (self, account_id, job, cancellable, callback, user_data,
             tern_mail_service_archive_async);
}

/**
 * tern_mail_service_archive_finish:
 * @out_count: (out): how many messages were moved, also on failure
 */
gboolean
tern_mail_service_archive_finish (TernMailService  *self,
                                  GAsyncResult     *result,
                                  guint            *out_count,
                                  GError          **error)
{
  Job *job;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  job = g_task_get_task_data (G_TASK (result));
  if (out_count != NULL)
    *out_count = job->count;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* POP3 */

/* A fresh access token for the running downloader; its next check uses it. */
static void
pop3_token_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GError) error = NULL;
  char *token = tern_account_auth_get_secret_finish (TERN_ACCOUNT_AUTH (source), result, &error);

  if (token == NULL)
    {
      if (sync->service != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        report_problem (sync, error);
      return;
    }
  if (sync->pop3 != NULL)
    tern_pop3_downloader_set_oauth2_login (sync->pop3,
                                           tern_account_get_receiving_username (sync->account),
                                           token);
  tern_credentials_free_secret (token);
}

static void
pop3_checked_cb (TernPop3Downloader    *downloader,
                 TernPop3DownloadStats *stats,
                 const GError          *error,
                 AccountSync           *sync)
{
  TernMailService *self = sync->service;

  if (self == NULL)
    return;
  if (error != NULL)
    {
      report_problem (sync, error);
      /* An access token outlives neither its hour nor a revocation. */
      if (sync->auth != NULL && tern_account_auth_retry_after_error (sync->auth, error))
        tern_account_auth_get_secret_async (sync->auth, TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                            sync->cancellable, pop3_token_cb,
                                            account_sync_ref (sync));
      return;
    }
  g_clear_pointer (&sync->problem, g_free);
  /* POP3 mail goes to an Inbox, and arrives unread. */
  if (stats->downloaded > 0 && !window_is_active (self))
    send_notification (self, stats->downloaded, NULL, NULL);
}

static void
pop3_password_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(AccountSync) sync = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *pin = NULL;
  TernAccount *account = sync->account;
  TernMailService *self = sync->service;
  char *password;

  password = secret_finish (source, result, &error);
  if (self == NULL)
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      return;
    }
  if (password == NULL && error != NULL &&
      (sync->auth != NULL ||
       !g_error_matches (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND)))
    {
      report_problem (sync, error);
      return;
    }

  sync->pop3 = tern_pop3_downloader_new (self->store, tern_account_get_id (account));
  tern_pop3_downloader_set_server (sync->pop3, tern_account_get_receiving_host (account),
                                   tern_account_get_receiving_port (account),
                                   connection_security (
                                     tern_account_get_receiving_security (account)));
  if (sync->auth != NULL)
    tern_pop3_downloader_set_oauth2_login (sync->pop3,
                                           tern_account_get_receiving_username (account),
                                           password);
  else
    tern_pop3_downloader_set_login (sync->pop3, tern_account_get_receiving_username (account),
                                    password);
  g_clear_pointer (&password, tern_credentials_free_secret);
  pin = lookup_pin (self, account);
  tern_pop3_downloader_set_pinned_certificate (sync->pop3, pin);
  tern_pop3_downloader_set_after_download (sync->pop3,
                                           tern_account_get_pop3_after_download (account),
                                           tern_account_get_pop3_keep_days (account));
  tern_pop3_downloader_set_delete_on_server (sync->pop3,
                                             tern_account_get_pop3_delete_on_server (account));
  tern_pop3_downloader_set_target (sync->pop3, tern_account_get_pop3_deliver_to (account));
  g_signal_connect (sync->pop3, "checked", G_CALLBACK (pop3_checked_cb), sync);
  tern_pop3_downloader_start (sync->pop3, MAX (tern_account_get_sync_interval (account), 1));
}

/* Accounts */

/**
 * tern_mail_service_add_account:
 *
 * Starts getting @account's mail, unless it is disabled, has no server to
 * get mail from, or is being fetched already.
 */
void
tern_mail_service_add_account (TernMailService *self,
                               TernAccount     *account)
{
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(TernCredentials) credentials = NULL;
  const char *id = tern_account_get_id (account);
  AccountSync *sync;

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  if (!tern_account_get_enabled (account) || tern_account_get_receiving_host (account) == NULL ||
      g_hash_table_contains (self->accounts, id))
    return;

  sync = g_rc_box_new0 (AccountSync);
  sync->service = self;
  sync->cancellable = g_cancellable_new ();
  sync->account = g_object_ref (account);
  g_hash_table_insert (self->accounts, g_strdup (id), sync);

  if (tern_account_get_receiving_protocol (account) == TERN_RECEIVING_PROTOCOL_IMAP)
    {
      sync->imap = tern_imap_sync_new (self->store, id);
      start_pass (sync);
      return;
    }

  if (account_auth (sync) != NULL)
    {
      tern_account_auth_get_secret_async (sync->auth, TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                          sync->cancellable, pop3_password_cb,
                                          account_sync_ref (sync));
      return;
    }
  keyring = tern_credentials_secret_new ();
  credentials = tern_credentials_for_account (account, keyring);
  tern_credentials_lookup_async (credentials, id, TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                 sync->cancellable, pop3_password_cb, account_sync_ref (sync));
}

/**
 * tern_mail_service_start:
 *
 * Reads the accounts and starts getting the mail of each enabled one.
 */
void
tern_mail_service_start (TernMailService *self)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (self->config_dir);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint n_accounts;

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  problems = tern_account_manager_load (manager, &error);
  if (problems == NULL)
    {
      g_warning ("Reading the accounts: %s", error->message);
      return;
    }
  n_accounts = g_list_model_get_n_items (G_LIST_MODEL (manager));
  for (guint i = 0; i < n_accounts; i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);

      tern_mail_service_add_account (self, account);
    }
}

/**
 * tern_mail_service_stop:
 *
 * Cancels every pass, watch and check; the service does nothing more.
 */
void
tern_mail_service_stop (TernMailService *self)
{
  GHashTableIter iter;
  AccountSync *sync;

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  g_cancellable_cancel (self->cancellable);
  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sync))
    {
      sync->service = NULL;
      g_cancellable_cancel (sync->cancellable);
      g_clear_handle_id (&sync->timer, g_source_remove);
      if (sync->watch_cancellable != NULL)
        g_cancellable_cancel (sync->watch_cancellable);
      if (sync->pop3 != NULL)
        tern_pop3_downloader_stop (sync->pop3);
    }
  g_hash_table_remove_all (self->accounts);
  self->busy = 0;
  g_clear_pointer (&self->probe, tern_stall_probe_free);
}

/* Removing an account: its work stops, and the removal is done once
 * nothing of it runs any more (or after a while, whatever runs). */
#define REMOVAL_WAIT_SECONDS 30

typedef struct
{
  AccountSync *sync;
  gint64 deadline;
} Removal;

static void
removal_free (Removal *removal)
{
  account_sync_unref (removal->sync);
  g_free (removal);
}

static gboolean
removal_poll_cb (gpointer user_data)
{
  GTask *task = user_data;
  Removal *removal = g_task_get_task_data (task);

  if ((removal->sync->running || removal->sync->watching) &&
      g_get_monotonic_time () < removal->deadline)
    return G_SOURCE_CONTINUE;

  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

/**
 * tern_mail_service_remove_account_async:
 * @account_id: the account being removed
 *
 * Stops getting the account's mail: its pass, watch, check or job is
 * cancelled, and the call completes once none runs any more, so that the
 * caller may then delete its mail on this computer.
 */
void
tern_mail_service_remove_account_async (TernMailService     *self,
                                        const char          *account_id,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AccountSync *sync;
  Removal *removal;
  GTask *job;

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));
  g_return_if_fail (account_id != NULL);

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, tern_mail_service_remove_account_async);
  sync = g_hash_table_lookup (self->accounts, account_id);
  if (sync == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* What runs ends without telling the service, so it is counted out
   * here. */
  if (sync->running)
    set_busy (self, FALSE);
  sync->service = NULL;
  g_cancellable_cancel (sync->cancellable);
  g_clear_handle_id (&sync->timer, g_source_remove);
  if (sync->watch_cancellable != NULL)
    g_cancellable_cancel (sync->watch_cancellable);
  if (sync->job != NULL)
    g_cancellable_cancel (g_task_get_cancellable (sync->job));
  while ((job = g_queue_pop_head (&sync->jobs)) != NULL)
    {
      g_task_return_new_error (job, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The account was removed");
      g_object_unref (job);
    }
  if (sync->pop3 != NULL)
    tern_pop3_downloader_stop (sync->pop3);

  removal = g_new0 (Removal, 1);
  removal->sync = account_sync_ref (sync);
  removal->deadline = g_get_monotonic_time () + REMOVAL_WAIT_SECONDS * G_USEC_PER_SEC;
  g_task_set_task_data (task, removal, (GDestroyNotify) removal_free);
  g_hash_table_remove (self->accounts, account_id);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 100, removal_poll_cb, g_object_ref (task),
                      g_object_unref);
}

gboolean
tern_mail_service_remove_account_finish (TernMailService  *self,
                                         GAsyncResult     *result,
                                         GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    TernMailService *self)
{
  GHashTableIter iter;
  AccountSync *sync;
  gboolean offline = !available;

  if (offline == self->offline)
    return;
  self->offline = offline;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OFFLINE]);

  /* Offline, the passes go on as they were: the servers may be on this
   * computer or its network, and a failure waits longer each time anyway.
   * Back online, every account gets its mail now. */
  if (offline)
    return;
  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sync))
    {
      if (sync->pop3 != NULL)
        tern_pop3_downloader_start (sync->pop3,
                                    MAX (tern_account_get_sync_interval (sync->account), 1));
      else if (sync->imap != NULL)
        {
          sync->backoff = 0;
          start_pass (sync);
        }
    }
}

/**
 * tern_mail_service_push_changes:
 *
 * Has every IMAP account's changes made here (moves, flags, deletions)
 * taken to its server in a pass soon, rather than at the next interval.
 */
void
tern_mail_service_push_changes (TernMailService *self)
{
  GHashTableIter iter;
  AccountSync *sync;

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &sync))
    {
      if (sync->imap == NULL)
        continue;
      if (sync->running)
        sync->pass_wanted = TRUE;
      else
        schedule_pass (sync, PUSH_DELAY_SECONDS);
    }
}

gboolean
tern_mail_service_get_busy (TernMailService *self)
{
  g_return_val_if_fail (TERN_IS_MAIL_SERVICE (self), FALSE);

  return self->busy > 0;
}

gboolean
tern_mail_service_get_offline (TernMailService *self)
{
  g_return_val_if_fail (TERN_IS_MAIL_SERVICE (self), FALSE);

  return self->offline;
}

/**
 * tern_mail_service_new:
 * @application: the application, which keeps the service
 * @store: the open store
 * @config_dir: where the accounts and trusted certificates are
 */
TernMailService *
tern_mail_service_new (GApplication *application,
                       TernStore    *store,
                       const char   *config_dir)
{
  TernMailService *self = g_object_new (TERN_TYPE_MAIL_SERVICE, NULL);

  self->application = application;
  self->store = g_object_ref (store);
  self->config_dir = g_strdup (config_dir);
  return self;
}

static void
tern_mail_service_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  TernMailService *self = TERN_MAIL_SERVICE (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy > 0);
      break;
    case PROP_OFFLINE:
      g_value_set_boolean (value, self->offline);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_mail_service_dispose (GObject *object)
{
  TernMailService *self = TERN_MAIL_SERVICE (object);

  tern_mail_service_stop (self);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  self->monitor = NULL;

  G_OBJECT_CLASS (tern_mail_service_parent_class)->dispose (object);
}

static void
tern_mail_service_finalize (GObject *object)
{
  TernMailService *self = TERN_MAIL_SERVICE (object);

  g_hash_table_unref (self->accounts);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);
  g_free (self->config_dir);

  G_OBJECT_CLASS (tern_mail_service_parent_class)->finalize (object);
}

static void
tern_mail_service_class_init (TernMailServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = tern_mail_service_get_property;
  object_class->dispose = tern_mail_service_dispose;
  object_class->finalize = tern_mail_service_finalize;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OFFLINE] =
    g_param_spec_boolean ("offline", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TernMailService::problem:
   * @account: the account's ID
   * @text: what went wrong, for the user
   *
   * Emitted once for a failure; the same failure again is not told.
   */
  signals[SIGNAL_PROBLEM] =
    g_signal_new ("problem", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
tern_mail_service_init (TernMailService *self)
{
  self->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) account_sync_unref);
  self->cancellable = g_cancellable_new ();
  self->monitor = g_network_monitor_get_default ();
  self->offline = !g_network_monitor_get_network_available (self->monitor);
  g_signal_connect (self->monitor, "network-changed", G_CALLBACK (network_changed_cb), self);
}

/**
 * tern_mail_service_sync_soon:
 * @account_id: an account with changes for its server, such as a draft
 *   to upload
 *
 * Has the account's next pass, which replays the queued actions, come in
 * a moment rather than at the account's interval.
 */
void
tern_mail_service_sync_soon (TernMailService *self,
                             const char      *account_id)
{
  AccountSync *sync;

  g_return_if_fail (TERN_IS_MAIL_SERVICE (self));

  sync = g_hash_table_lookup (self->accounts, account_id);
  if (sync == NULL || sync->imap == NULL)
    return;
  if (sync->running)
    sync->pass_wanted = TRUE;
  else
    schedule_pass (sync, 1);
}
