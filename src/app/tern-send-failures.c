/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-send-failures.h"
#include "tern-store-outbox.h"
#include "tern-window.h"

/*
 * Messages the outbox gives up on (the server refused them for good: a 5xx
 * answer, refused recipients, too big) are told at once: a toast in the
 * main window that stays until it is dismissed, naming the message and the
 * server's reason, with Retry; and a notification when the window is not
 * in front.  The message itself stays in the Outbox folder, in state
 * failed, to be corrected or tried again.
 */

typedef struct
{
  GtkApplication *application;  /* unowned: it keeps the senders */
  TernStore *store;
  TernOutboxSender *sender;
  gint64 item_id;
  char *reason;
} Failure;

static void
failure_free (gpointer  data,
              GClosure *closure)
{
  Failure *failure = data;

  g_object_unref (failure->store);
  g_object_unref (failure->sender);
  g_free (failure->reason);
  g_free (failure);
}

static void
ran_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_autoptr(GError) error = NULL;

  /* A run under way takes the message too; a new failure is told again. */
  if (!tern_outbox_sender_run_finish (TERN_OUTBOX_SENDER (source), result, &stats, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    g_warning ("Sending mail again: %s", error->message);
}

static void
requeued_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(TernOutboxSender) sender = user_data;
  g_autoptr(GError) error = NULL;

  if (!tern_store_outbox_change_finish (TERN_STORE (source), result, &error))
    {
      g_warning ("Could not queue the message again: %s", error->message);
      return;
    }
  tern_outbox_sender_run_async (sender, NULL, ran_cb, NULL);
}

static void
retry_clicked_cb (AdwToast *toast,
                  Failure  *failure)
{
  tern_store_outbox_retry_async (failure->store, failure->item_id,
                                 g_get_real_time () / G_USEC_PER_SEC, failure->reason, NULL,
                                 requeued_cb, g_object_ref (failure->sender));
}

static void
gave_up_cb (TernOutboxSender *sender,
            gint64            item_id,
            const char       *subject,
            const char       *reason,
            gpointer          user_data)
{
  Failure *watch = user_data;
  GtkWindow *window = gtk_application_get_active_window (watch->application);
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;
  const char *name = subject != NULL && *subject != '\0' ? subject : _("(No subject)");

  text = g_strdup_printf (_("“%s” was not sent: %s"), name, reason);
  g_message ("%s", text);

  if (window != NULL && TERN_IS_WINDOW (window))
    {
      AdwToast *toast = adw_toast_new (text);
      Failure *failure = g_new0 (Failure, 1);

      failure->store = g_object_ref (watch->store);
      failure->sender = g_object_ref (sender);
      failure->item_id = item_id;
      failure->reason = g_strdup (reason);
      adw_toast_set_timeout (toast, 0);
      adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
      adw_toast_set_button_label (toast, _("_Retry"));
      g_signal_connect_data (toast, "button-clicked", G_CALLBACK (retry_clicked_cb), failure,
                             failure_free, 0);
      tern_window_add_toast (TERN_WINDOW (window), toast);
    }

  if (window == NULL || !gtk_window_is_active (window))
    {
      g_autoptr(GNotification) notification = g_notification_new (_("Message Not Sent"));
      g_autofree char *body = g_strdup_printf (_("“%s”: %s. It waits in the Outbox."), name,
                                               reason);

      g_notification_set_body (notification, body);
      g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
      g_notification_set_default_action (notification, "app.show-inbox");
      id = g_strdup_printf ("send-failed-%" G_GINT64_FORMAT, item_id);
      g_application_send_notification (G_APPLICATION (watch->application), id, notification);
    }
}

static void
watch_free (gpointer data,
            GClosure *closure)
{
  Failure *watch = data;

  g_object_unref (watch->store);
  g_free (watch);
}

/**
 * tern_send_failures_watch:
 * @sender: an account's outbox sender, kept by @application
 *
 * Tells the user of every message @sender gives up on.
 */
void
tern_send_failures_watch (GtkApplication   *application,
                          TernStore        *store,
                          TernOutboxSender *sender)
{
  Failure *watch = g_new0 (Failure, 1);

  watch->application = application;
  watch->store = g_object_ref (store);
  g_signal_connect_data (sender, "gave-up", G_CALLBACK (gave_up_cb), watch, watch_free, 0);
}
