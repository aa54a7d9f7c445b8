/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-archive-dialog.h"

/*
 * "Archive Old Mail": moves an account's mail older than an age the user
 * picks from one of its server folders to a folder On This Computer named
 * "Archive/ACCOUNT".  The dialog has three pages: the choice, the progress
 * (messages counted as the store reports them added to the local folder;
 * the server says nothing of the total beforehand), and the outcome.  The
 * engine copies each batch to the disk before the server deletes it, so
 * stopping half-way loses nothing.
 */

typedef struct
{
  guint days;
  const char *label;
} Age;

static const Age ages[] = {
  { 91, N_("3 Months") },
  { 182, N_("6 Months") },
  { 365, N_("1 Year") },
  { 730, N_("2 Years") },
};

#define DEFAULT_AGE 2

typedef struct
{
  AdwWindow *window;
  TernStore *store;
  TernMailService *service;
  char *account;
  GPtrArray *paths;           /* the account's folders, as offered */
  GCancellable *cancellable;

  GtkStack *stack;
  GtkWidget *cancel_button;
  GtkWidget *archive_button;
  GtkWidget *done_button;
  AdwComboRow *folder_row;
  AdwComboRow *age_row;
  GtkProgressBar *progress;
  GtkLabel *progress_label;
  AdwStatusPage *outcome;

  char *local_path;
  gint64 local_folder_id;
  guint moved;
  guint pulse_source;
  gulong changed_handler;
  gboolean running;
} Archive;

static void
archive_free (Archive *archive)
{
  g_cancellable_cancel (archive->cancellable);
  g_clear_handle_id (&archive->pulse_source, g_source_remove);
  g_clear_signal_handler (&archive->changed_handler, archive->store);
  g_clear_object (&archive->cancellable);
  g_clear_object (&archive->store);
  g_clear_object (&archive->service);
  g_clear_pointer (&archive->paths, g_ptr_array_unref);
  g_free (archive->account);
  g_free (archive->local_path);
  g_free (archive);
}

static void
show_progress (Archive *archive)
{
  g_autofree char *text = NULL;

  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u message moved so far",
                                       "%u messages moved so far", archive->moved),
                          archive->moved);
  gtk_label_set_label (archive->progress_label, text);
}

static gboolean
pulse_cb (gpointer user_data)
{
  Archive *archive = user_data;

  gtk_progress_bar_pulse (archive->progress);
  return G_SOURCE_CONTINUE;
}

static void
store_changed_cb (TernStore *store,
                  int        kind,
                  GArray    *folder_ids,
                  GArray    *message_ids,
                  gpointer   user_data)
{
  Archive *archive = user_data;

  if (kind != TERN_STORE_CHANGE_MESSAGES_ADDED || message_ids == NULL || folder_ids == NULL)
    return;
  for (guint i = 0; i < folder_ids->len; i++)
    if (g_array_index (folder_ids, gint64, i) == archive->local_folder_id)
      {
        archive->moved += message_ids->len;
        show_progress (archive);
        return;
      }
}

static void
show_outcome (Archive      *archive,
              guint         moved,
              const GError *error)
{
  g_autofree char *title = NULL;
  g_autofree char *description = NULL;

  archive->running = FALSE;
  g_clear_handle_id (&archive->pulse_source, g_source_remove);
  g_clear_signal_handler (&archive->changed_handler, archive->store);

  if (error == NULL)
    {
      title = moved == 0
              ? g_strdup (_("No Old Mail"))
              : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u Message Archived",
                                              "%u Messages Archived", moved), moved);
      description = moved == 0
                    ? g_strdup (_("The folder has no mail that old; nothing was moved."))
                    : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                    "It is in “%s” On This Computer, and no "
                                                    "longer takes room on the server.",
                                                    "They are in “%s” On This Computer, and no "
                                                    "longer take room on the server.", moved),
                                       archive->local_path);
      adw_status_page_set_icon_name (archive->outcome, "emblem-ok-symbolic");
    }
  else
    {
      title = g_strdup (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                        ? _("Archiving Stopped") : _("Archiving Failed"));
      description = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                  "%s\n%u message had been moved to “%s” "
                                                  "and is kept there.",
                                                  "%s\n%u messages had been moved to “%s” "
                                                  "and are kept there.", moved),
                                     error->message, moved, archive->local_path);
      adw_status_page_set_icon_name (archive->outcome, "dialog-warning-symbolic");
    }
  adw_status_page_set_title (archive->outcome, title);
  adw_status_page_set_description (archive->outcome, description);
  gtk_stack_set_visible_child_name (archive->stack, "outcome");
  gtk_widget_set_visible (archive->cancel_button, FALSE);
  gtk_widget_set_visible (archive->archive_button, FALSE);
  gtk_widget_set_visible (archive->done_button, TRUE);
  gtk_widget_grab_focus (archive->done_button);
}

static void
archived_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Archive *archive = user_data;
  g_autoptr(GError) error = NULL;
  guint moved = 0;

  tern_mail_service_archive_finish (TERN_MAIL_SERVICE (source), result, &moved, &error);
  if (archive->window != NULL)
    show_outcome (archive, moved, error);
  g_object_unref (archive->window);
}

static void
local_folder_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Archive *archive = user_data;
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GError) error = NULL;
  const char *path;

  folder = tern_store_ensure_folder_finish (TERN_STORE (source), result, &error);
  if (folder == NULL)
    {
      show_outcome (archive, 0, error);
      g_object_unref (archive->window);
      return;
    }

  archive->local_folder_id = tern_folder_get_id (folder);
  archive->changed_handler = g_signal_connect (archive->store, "changed",
                                               G_CALLBACK (store_changed_cb), archive);
  path = g_ptr_array_index (archive->paths, adw_combo_row_get_selected (archive->folder_row));
  tern_mail_service_archive_async (archive->service, archive->account, path,
                                   ages[adw_combo_row_get_selected (archive->age_row)].days,
                                   archive->local_folder_id, archive->cancellable, archived_cb,
                                   archive);
}

static void
archive_clicked_cb (GtkButton *button,
                    Archive   *archive)
{
  if (archive->paths->len == 0)
    return;
  archive->running = TRUE;
  archive->moved = 0;
  show_progress (archive);
  gtk_stack_set_visible_child_name (archive->stack, "progress");
  gtk_widget_set_visible (archive->archive_button, FALSE);
  gtk_button_set_label (GTK_BUTTON (archive->cancel_button), _("_Stop"));
  archive->pulse_source = g_timeout_add (150, pulse_cb, archive);
  /* The window stays alive until the job answers. */
  tern_store_ensure_folder_async (archive->store, TERN_LOCAL_ACCOUNT, archive->local_path,
                                  TERN_FOLDER_ROLE_NONE, archive->cancellable, local_folder_cb,
                                  archive);
  g_object_ref (archive->window);
}

static void
cancel_clicked_cb (GtkButton *button,
                   Archive   *archive)
{
  if (archive->running)
    {
      /* What has been moved stays moved; the outcome page says how much. */
      g_cancellable_cancel (archive->cancellable);
      gtk_widget_set_sensitive (archive->cancel_button, FALSE);
      return;
    }
  gtk_window_close (GTK_WINDOW (archive->window));
}

static void
done_clicked_cb (GtkButton *button,
                 Archive   *archive)
{
  gtk_window_close (GTK_WINDOW (archive->window));
}

static gboolean
close_request_cb (GtkWindow *window,
                  Archive   *archive)
{
  /* Closing while it runs stops it, as Stop does. */
  if (archive->running)
    g_cancellable_cancel (archive->cancellable);
  return FALSE;
}

static void
window_destroyed_cb (gpointer  data,
                     GObject  *where_the_object_was)
{
  archive_free (data);
}

static GtkWidget *
make_choice_page (Archive    *archive,
                  GPtrArray  *folders)
{
  g_autoptr(GtkStringList) folder_names = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) age_names = gtk_string_list_new (NULL);
  g_autofree char *text = NULL;
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *group = adw_preferences_group_new ();
  guint inbox = 0;

  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      TernFolder *folder = folders->pdata[i];

      if (g_strcmp0 (tern_folder_get_account (folder), archive->account) != 0)
        continue;
      if (tern_folder_get_role (folder) == TERN_FOLDER_ROLE_INBOX)
        inbox = archive->paths->len;
      g_ptr_array_add (archive->paths, g_strdup (tern_folder_get_path (folder)));
      gtk_string_list_append (folder_names,
                              tern_folder_get_role (folder) == TERN_FOLDER_ROLE_INBOX
                              ? _("Inbox") : tern_folder_get_path (folder));
    }
  for (guint i = 0; i < G_N_ELEMENTS (ages); i++)
    gtk_string_list_append (age_names, _(ages[i].label));

  text = g_strdup_printf (_("Mail older than the age you choose is copied to the folder "
                            "“%s” On This Computer, then deleted from the server. It stays "
                            "readable and searchable here, but no longer on your other "
                            "devices."), archive->local_path);
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group), text);

  archive->folder_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (archive->folder_row), _("_Folder"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (archive->folder_row), TRUE);
  adw_combo_row_set_model (archive->folder_row, G_LIST_MODEL (folder_names));
  adw_combo_row_set_selected (archive->folder_row, inbox);

  archive->age_row = ADW_COMBO_ROW (adw_combo_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (archive->age_row), _("_Older Than"));
  adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (archive->age_row), TRUE);
  adw_combo_row_set_model (archive->age_row, G_LIST_MODEL (age_names));
  adw_combo_row_set_selected (archive->age_row, DEFAULT_AGE);

  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (archive->folder_row));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (archive->age_row));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (group));
  return page;
}

static GtkWidget *
make_progress_page (Archive *archive)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = gtk_label_new (_("Archiving Old Mail…"));

  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_start (box, 36);
  gtk_widget_set_margin_end (box, 36);
  gtk_widget_add_css_class (title, "title-2");
  archive->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_accessible_update_property (GTK_ACCESSIBLE (archive->progress),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Archiving progress"), -1);
  archive->progress_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_add_css_class (GTK_WIDGET (archive->progress_label), "dim-label");
  gtk_widget_add_css_class (GTK_WIDGET (archive->progress_label), "numeric");
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (archive->progress));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (archive->progress_label));
  return box;
}

/**
 * tern_archive_dialog_present:
 * @parent: the main window
 * @folders: (element-type TernFolder): the folders the sidebar shows
 * @account_id: the IMAP account whose mail is archived
 *
 * Opens the dialog over @parent.
 */
void
tern_archive_dialog_present (GtkWindow       *parent,
                             TernStore       *store,
                             TernMailService *service,
                             GPtrArray       *folders,
                             const char      *account_id)
{
  Archive *archive = g_new0 (Archive, 1);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *title = adw_window_title_new (_("Archive Old Mail"), account_id);
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *outcome = adw_status_page_new ();

  archive->store = g_object_ref (store);
  archive->service = g_object_ref (service);
  archive->account = g_strdup (account_id);
  archive->paths = g_ptr_array_new_with_free_func (g_free);
  archive->cancellable = g_cancellable_new ();
  archive->local_path = g_strdup_printf ("Archive/%s", account_id);

  archive->window = ADW_WINDOW (adw_window_new ());
  gtk_window_set_title (GTK_WINDOW (archive->window), _("Archive Old Mail"));
  gtk_window_set_modal (GTK_WINDOW (archive->window), TRUE);
  gtk_window_set_transient_for (GTK_WINDOW (archive->window), parent);
  gtk_window_set_destroy_with_parent (GTK_WINDOW (archive->window), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (archive->window), 440, 400);
  g_object_weak_ref (G_OBJECT (archive->window), window_destroyed_cb, archive);
  g_signal_connect (archive->window, "close-request", G_CALLBACK (close_request_cb), archive);

  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_show_start_title_buttons (ADW_HEADER_BAR (header), FALSE);
  archive->cancel_button = gtk_button_new_with_mnemonic (_("_Cancel"));
  archive->archive_button = gtk_button_new_with_mnemonic (_("_Archive"));
  gtk_widget_add_css_class (archive->archive_button, "suggested-action");
  archive->done_button = gtk_button_new_with_mnemonic (_("_Done"));
  gtk_widget_add_css_class (archive->done_button, "suggested-action");
  gtk_widget_set_visible (archive->done_button, FALSE);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), archive->cancel_button);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), archive->archive_button);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), archive->done_button);
  g_signal_connect (archive->cancel_button, "clicked", G_CALLBACK (cancel_clicked_cb), archive);
  g_signal_connect (archive->archive_button, "clicked", G_CALLBACK (archive_clicked_cb),
                    archive);
  g_signal_connect (archive->done_button, "clicked", G_CALLBACK (done_clicked_cb), archive);

  archive->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_transition_type (archive->stack, GTK_STACK_TRANSITION_TYPE_CROSSFADE);
  gtk_widget_set_vexpand (GTK_WIDGET (archive->stack), TRUE);
  gtk_stack_add_named (archive->stack, make_choice_page (archive, folders), "choice");
  gtk_stack_add_named (archive->stack, make_progress_page (archive), "progress");
  archive->outcome = ADW_STATUS_PAGE (outcome);
  gtk_stack_add_named (archive->stack, outcome, "outcome");
  gtk_widget_set_sensitive (archive->archive_button, archive->paths->len > 0);

  gtk_box_append (GTK_BOX (content), header);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (archive->stack));
  adw_window_set_content (archive->window, content);
  gtk_window_present (GTK_WINDOW (archive->window));
}
