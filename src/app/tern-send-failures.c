/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-account-manager.h"
#include "tern-application.h"
#include "tern-certificate-dialog.h"
#include "tern-composer.h"
#include "tern-mail-service.h"
#include "tern-send-failures.h"
#include "tern-store-outbox.h"
#include "tern-trust.h"
#include "tern-window.h"

/*
 * Messages the outbox gives up on (the server refused them for good: a 5xx
 * answer, refused recipients, too big) are told at once: a toast in the
 * main window that stays until it is dismissed, naming the message, whose
 * Details tell the server's reason and offer to try again; and a
 * notification with the reason when the window is not in front.  The
 * message itself stays in the Outbox folder, in state failed, to be tried
 * again or edited: Edit takes it out of the outbox into Drafts and opens
 * it in a composer.
 *
 * A sending server whose certificate does not validate is shown in the
 * same certificate dialog as the set-up assistant shows: trusting it pins
 * it to the server's host and port, and the message waiting is sent at
 * once.  A certificate declined is not asked about again until Tern
 * starts again; the message waits in the Outbox.
 */

typedef struct
{
  GtkApplication *application;  /* unowned: it keeps the senders */
  TernStore *store;
  TernOutboxSender *sender;
  gint64 item_id;
  char *subject;
  char *reason;
  /* The watch: its two handlers, and the fingerprints asked about. */
  guint refs;
  GHashTable *asked;
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

/* Editing: the outbox's record of the message (its envelope), then the
 * message taken back into Drafts, then a composer. */

typedef struct
{
  GtkApplication *application;
  TernStore *store;
  gint64 item_id;
  TernOutboxItem *item;
} Edit;

static void
edit_free (Edit *edit)
{
  g_object_unref (edit->store);
  g_clear_pointer (&edit->item, tern_outbox_item_free);
  g_free (edit);
}

static void
edit_cancelled_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Edit *edit = user_data;
  GtkWindow *window = gtk_application_get_active_window (edit->application);
  g_autoptr(GError) error = NULL;

  if (!tern_store_outbox_change_finish (TERN_STORE (source), result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The message could not be taken back: %s"),
                                               error->message);

      if (window != NULL && TERN_IS_WINDOW (window))
        tern_window_show_toast (TERN_WINDOW (window), text);
      else
        g_warning ("%s", text);
      edit_free (edit);
      return;
    }

  /* It goes to the server's Drafts when the account has them. */
  tern_mail_service_sync_soon (
    tern_application_ensure_mail_service (TERN_APPLICATION (edit->application), edit->store),
    edit->item->account);
  if (window != NULL && TERN_IS_WINDOW (window))
    tern_composer_reopen_failed (TERN_WINDOW (window), edit->item->message_id,
                                 edit->item->account,
                                 (const char * const *) edit->item->recipients);
  edit_free (edit);
}

static void
edit_listed_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Edit *edit = user_data;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;

  items = tern_store_outbox_list_finish (TERN_STORE (source), result, &error);
  for (guint i = 0; items != NULL && i < items->len; i++)
    {
      TernOutboxItem *item = items->pdata[i];

      if (item->id == edit->item_id)
        {
          edit->item = g_ptr_array_steal_index (items, i);
          break;
        }
    }
  if (edit->item == NULL)
    {
      g_warning ("The message to edit left the outbox: %s",
                 error != NULL ? error->message : "it is not there any more");
      edit_free (edit);
      return;
    }
  tern_store_outbox_cancel_async (edit->store, edit->item->id, NULL, edit_cancelled_cb, edit);
}

static void
edit (Failure *failure)
{
  Edit *edit = g_new0 (Edit, 1);

  edit->application = failure->application;
  edit->store = g_object_ref (failure->store);
  edit->item_id = failure->item_id;
  tern_store_outbox_list_async (failure->store, NULL, NULL, edit_listed_cb, edit);
}

static void
details_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     Failure          *failure)
{
  if (g_strcmp0 (response, "retry") == 0)
    retry (failure);
  else if (g_strcmp0 (response, "edit") == 0)
    edit (failure);
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
                                             "Computer, to be edited or sent again."),
                                           failure->reason);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (window, heading, body));

  adw_message_dialog_add_responses (dialog, "close", _("_Close"), "edit", _("_Edit"),
                                    "retry", _("_Try Again"), NULL);
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

/* The sending server's certificate */

typedef struct
{
  GtkApplication *application;
  TernStore *store;
  TernOutboxSender *sender;
  gint64 item_id;
  char *reason;
  /* Fingerprints declined, or asked about now, for this sender. */
  GHashTable *asked;
  TernTrustStore *trust;
} Trusting;

static void
trusting_free (Trusting *trusting)
{
  g_object_unref (trusting->store);
  g_object_unref (trusting->sender);
  g_free (trusting->reason);
  g_hash_table_unref (trusting->asked);
  g_clear_object (&trusting->trust);
  g_free (trusting);
}

static void
send_again (Trusting *trusting)
{
  tern_store_outbox_retry_async (trusting->store, trusting->item_id,
                                 g_get_real_time () / G_USEC_PER_SEC, trusting->reason, NULL,
                                 requeued_cb, g_object_ref (trusting->sender));
}

static void
certificate_response_cb (AdwMessageDialog       *dialog,
                         const char             *response,
                         TernCertificateDetails *details)
{
  Trusting *trusting = g_object_get_data (G_OBJECT (dialog), "tern-trusting");
  GtkWindow *window = gtk_window_get_transient_for (GTK_WINDOW (dialog));
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "trust"))
    {
      /* Declined: the fingerprint stays in trusting->asked. */
      if (window != NULL && TERN_IS_WINDOW (window))
        tern_window_show_toast (TERN_WINDOW (window),
                                _("The sending server’s certificate was not trusted; the "
                                  "message waits in the Outbox"));
      return;
    }

  if (!tern_trust_store_pin (trusting->trust, details, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not trust the certificate: %s"),
                                               error->message);

      g_hash_table_remove (trusting->asked, details->fingerprint);
      if (window != NULL && TERN_IS_WINDOW (window))
        tern_window_show_toast (TERN_WINDOW (window), text);
      return;
    }
  g_hash_table_remove (trusting->asked, details->fingerprint);
  tern_outbox_sender_set_pinned_certificate (trusting->sender, details->fingerprint);
  send_again (trusting);
  if (window != NULL && TERN_IS_WINDOW (window))
    tern_window_show_toast (TERN_WINDOW (window), _("Sending…"));
}

static void
server_checked_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Trusting *trusting = user_data;
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(GError) error = NULL;
  GtkWindow *window;
  AdwMessageDialog *dialog;
  const char *pinned;

  details = tern_trust_check_server_finish (result, &error);
  if (details == NULL)
    {
      /* It validates now, or cannot be reached: the outbox's own retries
       * take it from here. */
      if (error != NULL)
        g_message ("Looking at the sending server’s certificate: %s", error->message);
      trusting_free (trusting);
      return;
    }

  pinned = tern_trust_store_lookup (trusting->trust, details->host, details->port);
  if (pinned != NULL && g_ascii_strcasecmp (pinned, details->fingerprint) == 0)
    {
      /* Trusted meanwhile (another window, tern-cli trust). */
      tern_outbox_sender_set_pinned_certificate (trusting->sender, pinned);
      send_again (trusting);
      trusting_free (trusting);
      return;
    }
  if (!g_hash_table_add (trusting->asked, g_strdup (details->fingerprint)))
    {
      trusting_free (trusting);
      return;
    }

  window = gtk_application_get_active_window (trusting->application);
  if (window == NULL || !TERN_IS_WINDOW (window))
    {
      GList *windows = gtk_application_get_windows (trusting->application);

      window = NULL;
      for (GList *l = windows; l != NULL && window == NULL; l = l->next)
        if (TERN_IS_WINDOW (l->data))
          window = l->data;
    }
  dialog = tern_certificate_dialog_new (window, details);
  g_object_set_data_full (G_OBJECT (dialog), "tern-trusting", trusting,
                          (GDestroyNotify) trusting_free);
  g_signal_connect_data (dialog, "response", G_CALLBACK (certificate_response_cb),
                         tern_certificate_details_copy (details),
                         (GClosureNotify) (void (*) (void)) tern_certificate_details_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
certificate_refused_cb (TernOutboxSender *sender,
                        gint64            item_id,
                        const char       *host,
                        guint             port,
                        const char       *reason,
                        gpointer          user_data)
{
  Failure *watch = user_data;
  const char *config_dir = tern_paths_get_config_dir (
    tern_application_get_paths (TERN_APPLICATION (watch->application)));
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (config_dir);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  TernAccount *account;
  TernTrustMethod method = TERN_TRUST_STARTTLS_SMTP;
  Trusting *trusting;

  g_message ("The certificate of %s:%u was refused: %s", host, port, reason);

  problems = tern_account_manager_load (manager, NULL);
  account = tern_account_manager_lookup (manager, tern_outbox_sender_get_account (sender));
  if (account != NULL && tern_account_get_sending_security (account) == TERN_SECURITY_TLS)
    method = TERN_TRUST_TLS;

  trusting = g_new0 (Trusting, 1);
  trusting->application = watch->application;
  trusting->store = g_object_ref (watch->store);
  trusting->sender = g_object_ref (sender);
  trusting->item_id = item_id;
  trusting->reason = g_strdup (reason);
  trusting->asked = g_hash_table_ref (watch->asked);
  trusting->trust = tern_trust_store_new (config_dir);
  if (!tern_trust_store_load (trusting->trust, &error))
    {
      g_warning ("Reading the trusted certificates: %s", error->message);
      trusting_free (trusting);
      return;
    }
  tern_trust_check_server_async (host, (guint16) port, method, NULL, NULL, server_checked_cb,
                                 trusting);
}

static void
watch_free (gpointer data,
            GClosure *closure)
{
  Failure *watch = data;

  if (--watch->refs > 0)
    return;
  g_object_unref (watch->store);
  g_hash_table_unref (watch->asked);
  g_free (watch);
}

/**
 * tern_send_failures_watch:
 * @sender: an account's outbox sender, kept by @application
 *
 * Tells the user of every message @sender gives up on, and asks whether to
 * trust its server's certificate when it does not validate.
 */
void
tern_send_failures_watch (GtkApplication   *application,
                          TernStore        *store,
                          TernOutboxSender *sender)
{
  Failure *watch = g_new0 (Failure, 1);

  watch->application = application;
  watch->store = g_object_ref (store);
  watch->asked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  watch->refs = 2;
  g_signal_connect_data (sender, "gave-up", G_CALLBACK (gave_up_cb), watch, watch_free, 0);
  g_signal_connect_data (sender, "certificate-refused", G_CALLBACK (certificate_refused_cb),
                         watch, watch_free, 0);
}
