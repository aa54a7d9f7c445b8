/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-send-failures.h"
#include "tern-store-outbox.h"
#include "tern-window.h"

/*
 * Messages the outbox gives up on (the server refused them for good: a 5xx
 * answer, refused recipients, too big) are told at once: a toast in the
 * main window that stays until it is dismissed, naming the message, whose
 * Details tell the server's reason and offer to try again; and a
 * notification with the reason when the window is not in front.  The message itself stays in the Outbox folder, in state
 * failed, to be corrected or tried again.
 */

typedef struct
{
  GtkApplication *application;  /* unowned: it keeps the senders */
  TernStore *store;
  TernOutboxSender *sender;
  gint64 item_id;
  char *subject;
  char *reason;
} Failure;

static void
failure_free (gpointer  data,
              GClosure *closure)
{
  Failure *failure = data;

  g_object_unref (failure->store);
  g_object_unref (failure->sender);
  g_free (failure->subject);
  g_free (failure->reason);
  g_free (failure);
}

static Failure *
failure_copy (Failure *failure)
{
  Failure *copy = g_memdup2 (failure, sizeof (Failure));

  g_object_ref (copy->store);
  g_object_ref (copy->sender);
  copy->subject = g_strdup (failure->subject);
  copy->reason = g_strdup (failure->reason);
  return copy;
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
retry (Failure *failure)
{
  tern_store_outbox_retry_async (failure->store, failure->item_id,
                                 g_get_real_time () / G_USEC_PER_SEC, failure->reason, NULL,
                                 requeued_cb, g_object_ref (failure->sender));
}

static void
details_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     Failure          *failure)
{
  if (g_strcmp0 (response, "retry") == 0)
    retry (failure);
}

/* The toast names the message; its Details tell the server's reason in
 * full, which is often too long for a toast, and offer to try again. */
static void
details_clicked_cb (AdwToast *toast,
                    Failure  *failure)
{
  GtkWindow *window = gtk_application_get_active_window (failure->application);
  g_autofree char *heading = g_strdup_printf (_("“%s” Was Not Sent"), failure->subject);
  g_autofree char *body = g_strdup_printf (_("%s\n\nThe message waits in the Outbox On This "
                                             "Computer, to be corrected or sent again."),
                                           failure->reason);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (window, heading, body));

  adw_message_dialog_add_responses (dialog, "close", _("_Close"), "retry", _("_Try Again"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "retry", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "retry");
  adw_message_dialog_set_close_response (dialog, "close");
  g_signal_connect_data (dialog, "response", G_CALLBACK (details_response_cb),
                         failure_copy (failure), failure_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
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

  g_message ("“%s” was not sent: %s", name, reason);

  if (window != NULL && TERN_IS_WINDOW (window))
    {
      g_autofree char *markup = NULL;
      AdwToast *toast;
      Failure *failure = g_new0 (Failure, 1);

      text = g_strdup_printf (_("“%s” was not sent"), name);
      markup = g_markup_escape_text (text, -1);
      toast = adw_toast_new (markup);
      failure->application = watch->application;
      failure->store = g_object_ref (watch->store);
      failure->sender = g_object_ref (sender);
      failure->item_id = item_id;
      failure->subject = g_strdup (name);
      failure->reason = g_strdup (reason);
      adw_toast_set_timeout (toast, 0);
      adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
      adw_toast_set_button_label (toast, _("_Details"));
      g_signal_connect_data (toast, "button-clicked", G_CALLBACK (details_clicked_cb), failure,
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
