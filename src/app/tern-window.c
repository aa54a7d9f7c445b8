/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-account-manager.h"
#include "tern-account-removal.h"
#include "tern-account-settings.h"
#include "tern-archive-dialog.h"
#include "tern-composer.h"
#include "tern-message-list-model.h"
#include "tern-setup-assistant.h"
#include "tern-web.h"
#include "tern-window-private.h"

/*
 * The main window: the accounts and folders sidebar, the message list and
 * the reader, side by side on a wide screen and one at a time on a narrow
 * one.  This file wires the three together; the actions on messages live
 * in tern-window-actions.c.
 */

G_DEFINE_FINAL_TYPE (TernWindow, tern_window, ADW_TYPE_APPLICATION_WINDOW)

static void restore_state (TernWindow *self);
static void open_store (TernWindow *self);
static void look_for_accounts (TernWindow *self);

/**
 * tern_window_new:
 * @application: the application
 *
 * Returns: (transfer none): a new main window, owned by @application.
 */
TernWindow *
tern_window_new (TernApplication *application)
{
  TernWindow *self = g_object_new (TERN_TYPE_WINDOW,
                                   "application", application,
                                   NULL);

  /* The window knows its application, and so its settings and folders,
   * only once constructed. */
  restore_state (self);
  open_store (self);
  look_for_accounts (self);
  tern_window_watch_accounts (self);

  return self;
}

/* Getting mail waits at most this long for the window's first frame. */
#define START_MAIL_SECONDS 2

/**
 * tern_window_show_toast:
 * @self: a #TernWindow
 * @message: what to tell the user, in a full sentence
 *
 * Shows a short message at the bottom of the window.
 */
void
tern_window_show_toast (TernWindow *self,
                        const char *message)
{
  g_return_if_fail (TERN_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  tern_window_add_toast (self, adw_toast_new (message));
}

/* A toast dismissed, or about to be: its button was pressed, and
 * libadwaita dismisses it soon by itself. */
static void
toast_gone_cb (AdwToast   *toast,
               TernWindow *self)
{
  g_signal_handlers_disconnect_by_data (toast, self);
  if (self->toasts != NULL)
    g_ptr_array_remove (self->toasts, toast);
}

/**
 * tern_window_add_toast:
 * @toast: (transfer full): the toast
 *
 * Shows @toast.  A high-priority one (an undo, a message that was not
 * sent) comes at once: the toasts shown or waiting before it are
 * dismissed, an earlier Undo given up as a later action takes its place.
 *
 * The overlay itself never sees a high-priority toast.  In libadwaita 1.2
 * such a toast pushes the one shown aside, to come back later, and if it
 * goes while the other is still fading out, the app aborts.
 */
void
tern_window_add_toast (TernWindow *self,
                       AdwToast   *toast)
{
  g_return_if_fail (TERN_IS_WINDOW (self));
  g_return_if_fail (ADW_IS_TOAST (toast));

  if (self->toasts == NULL)
    self->toasts = g_ptr_array_new_with_free_func (g_object_unref);

  if (adw_toast_get_priority (toast) == ADW_TOAST_PRIORITY_HIGH)
    {
      g_autoptr(GPtrArray) earlier = g_steal_pointer (&self->toasts);

      self->toasts = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < earlier->len; i++)
        {
          g_signal_handlers_disconnect_by_data (earlier->pdata[i], self);
          adw_toast_dismiss (earlier->pdata[i]);
        }
      adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_NORMAL);
    }

  g_ptr_array_add (self->toasts, g_object_ref (toast));
  g_signal_connect (toast, "dismissed", G_CALLBACK (toast_gone_cb), self);
  g_signal_connect (toast, "button-clicked", G_CALLBACK (toast_gone_cb), self);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/**
 * tern_window_get_store:
 *
 * Returns: (transfer none) (nullable): the mail store, once it is open.
 */
TernStore *
tern_window_get_store (TernWindow *self)
{
  g_return_val_if_fail (TERN_IS_WINDOW (self), NULL);

  return self->store;
}

GSettings *
tern_window_get_settings (TernWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));

  if (application == NULL)
    return NULL;

  return tern_application_get_settings (TERN_APPLICATION (application));
}

static gboolean
conversations_enabled (TernWindow *self)
{
  GSettings *settings = tern_window_get_settings (self);

  return settings == NULL || g_settings_get_boolean (settings, "conversations");
}

/* The message list */

static void
model_loaded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!tern_message_list_model_load_finish (TERN_MESSAGE_LIST_MODEL (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      TernWindow *self = user_data;
      g_autofree char *text = g_strdup_printf (_("Could not read the messages: %s"),
                                               error->message);

      tern_window_show_toast (self, text);
    }
}

static void
show_model (TernWindow           *self,
            TernMessageListModel *model,
            const char           *title,
            const char           *empty_title,
            const char           *empty_description,
            const char           *empty_icon)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  g_clear_pointer (&self->pending_deletes, g_hash_table_unref);
  tern_message_list_set_model (self->message_list, model, empty_title, empty_description,
                               empty_icon);
  adw_window_title_set_title (self->list_title, title);
  gtk_stack_set_visible_child_name (self->list_stack, "list");

  tern_message_list_model_load_async (model, self->cancellable, model_loaded_cb, self);
  tern_window_update_actions (self);
}

static void
show_source (TernWindow *self)
{
  g_autoptr(TernMessageListModel) model = NULL;
  gboolean threaded = conversations_enabled (self);

  if (self->store == NULL || !self->have_source)
    return;

  if (self->folder_id > 0)
    model = tern_message_list_model_new_for_folder (self->store, self->folder_id, threaded);
  else
    model = tern_message_list_model_new_for_role (self->store, self->role, threaded);

  show_model (self, model, self->folder_title, _("No Messages"),
              _("This folder is empty"), tern_folder_role_icon_name (self->role));
}

static void
folder_activated_cb (TernSidebar *sidebar,
                     gint64       folder_id,
                     int          role,
                     const char  *title,
                     TernWindow  *self)
{
  self->folder_id = folder_id;
  self->role = role;
  self->have_source = TRUE;
  g_free (self->folder_title);
  self->folder_title = g_strdup (title);

  /* Choosing a folder ends a search. */
  if (gtk_search_bar_get_search_mode (self->search_bar))
    {
      g_signal_handlers_block_matched (self->search_entry, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL,
                                       self);
      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
      g_signal_handlers_unblock_matched (self->search_entry, G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                         NULL, self);
      gtk_search_bar_set_search_mode (self->search_bar, FALSE);
    }

  show_source (self);

  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
}

static void
search_changed_cb (GtkSearchEntry *entry,
                   TernWindow     *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));
  g_autoptr(TernMessageListModel) model = NULL;
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  if (self->store == NULL)
    return;

  if (*stripped == '\0')
    {
      show_source (self);
      return;
    }

  model = tern_message_list_model_new_for_search (self->store, stripped, 0);
  show_model (self, model, _("Search Results"), _("No Results Found"),
              _("Try other words, or fewer"), "system-search-symbolic");
}

static void
search_mode_cb (GtkSearchBar *bar,
                GParamSpec   *pspec,
                TernWindow   *self)
{
  if (!gtk_search_bar_get_search_mode (bar) &&
      *gtk_editable_get_text (GTK_EDITABLE (self->search_entry)) != '\0')
    {
      gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
      show_source (self);
    }
}

static void
selection_changed_cb (TernMessageList *list,
                      TernWindow      *self)
{
  g_autoptr(GPtrArray) rows = tern_message_list_get_selected (list);

  if (rows->len == 1 && tern_message_row_get_id (rows->pdata[0]) == self->shown_row_id)
    {
      /* The same row, changed or moved: the reader already shows it. */
    }
  else if (rows->len == 1)
    {
      TernMessageListModel *model = tern_message_list_get_model (self->message_list);

      /* On a phone, choosing a message is opening it. */
      if (adw_leaflet_get_folded (self->leaflet) &&
          adw_leaflet_get_visible_child (self->leaflet) == self->list_pane)
        adw_leaflet_set_visible_child (self->leaflet, self->reader_pane);

      self->shown_row_id = tern_message_row_get_id (rows->pdata[0]);
      tern_reader_show_row (self->reader, self->store, rows->pdata[0],
                            model != NULL && tern_message_list_model_get_threaded (model),
                            tern_window_get_settings (self));
      gtk_stack_set_visible_child_name (self->reader_stack, "reader");
      adw_window_title_set_title (self->reader_title, "");
    }
  else
    {
      self->shown_row_id = 0;
      tern_reader_clear (self->reader);
      if (rows->len == 0)
        {
          adw_status_page_set_title (self->reader_status, _("No Message Selected"));
          adw_status_page_set_description (self->reader_status,
                                           _("Choose a message to read it here"));
        }
      else
        {
          g_autofree char *title = g_strdup_printf (g_dngettext (NULL, "%u Message Selected",
                                                                 "%u Messages Selected",
                                                                 rows->len),
                                                    rows->len);

          adw_status_page_set_title (self->reader_status, title);
          adw_status_page_set_description (self->reader_status,
                                           _("Actions apply to all of them"));
        }
      gtk_stack_set_visible_child_name (self->reader_stack,
                                        rows->len == 0 && !self->have_accounts ? "welcome"
                                                                                : "status");
    }

  tern_window_update_actions (self);
}

static void
list_activated_cb (TernMessageList *list,
                   TernWindow      *self)
{
  GPtrArray *messages = tern_reader_get_messages (self->reader);

  /* A draft opens in the composer, to be written on. */
  for (guint i = messages != NULL ? messages->len : 0; i > 0; i--)
    {
      TernMessage *message = messages->pdata[i - 1];
      TernFolder *folder = tern_sidebar_find_folder (self->sidebar,
                                                     tern_message_get_folder_id (message));

      if (folder != NULL && tern_folder_get_role (folder) == TERN_FOLDER_ROLE_DRAFTS)
        {
          tern_composer_open_draft (self, message, tern_folder_get_account (folder));
          return;
        }
    }
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, self->reader_pane);
}

static void
reader_shown_cb (TernReader *reader,
                 TernWindow *self)
{
  tern_window_mark_shown_read (self);
  tern_window_update_actions (self);
}

static void
reader_toast_cb (TernReader *reader,
                 const char *text,
                 TernWindow *self)
{
  tern_window_show_toast (self, text);
}

static void
store_changed_cb (TernStore  *store,
                  int         kind,
                  GArray     *folder_ids,
                  GArray     *message_ids,
                  TernWindow *self)
{
  tern_window_update_actions (self);
}

static void
folders_changed_cb (TernSidebar *sidebar,
                    TernWindow  *self)
{
  tern_window_update_move_menu (self);
  tern_window_update_actions (self);
}

/* Getting mail */

static void
mail_busy_cb (TernMailService *service,
              GParamSpec      *pspec,
              TernWindow      *self)
{
  gboolean busy = tern_mail_service_get_busy (service);

  gtk_spinner_set_spinning (GTK_SPINNER (self->sync_spinner), busy);
  gtk_widget_set_visible (self->sync_spinner, busy);
}

static void
mail_offline_cb (TernMailService *service,
                 GParamSpec      *pspec,
                 TernWindow      *self)
{
  gtk_widget_set_visible (self->offline_icon, tern_mail_service_get_offline (service));
}

static void
mail_problem_cb (TernMailService *service,
                 const char      *account,
                 const char      *text,
                 TernWindow      *self)
{
  tern_window_show_toast (self, text);
}

static void
start_getting_mail (TernWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));

  if (application == NULL)
    return;
  self->mail_service = g_object_ref (
    tern_application_ensure_mail_service (TERN_APPLICATION (application), self->store));
  g_signal_connect_object (self->mail_service, "notify::busy", G_CALLBACK (mail_busy_cb), self, 0);
  g_signal_connect_object (self->mail_service, "notify::offline", G_CALLBACK (mail_offline_cb),
                           self, 0);
  g_signal_connect_object (self->mail_service, "problem", G_CALLBACK (mail_problem_cb), self, 0);
  mail_busy_cb (self->mail_service, NULL, self);
  mail_offline_cb (self->mail_service, NULL, self);
  tern_sidebar_set_mail_service (self->sidebar, self->mail_service);
}

/* Getting mail starts once the window has drawn itself, or after a
 * while if it is not shown: the first frame is the longest the main loop
 * works at a stretch, and new mail coming in meanwhile would lengthen it. */
static gboolean
start_getting_mail_cb (gpointer user_data)
{
  TernWindow *self = user_data;

  g_clear_handle_id (&self->start_mail_timeout, g_source_remove);
  if (self->start_mail_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->start_mail_tick);
      self->start_mail_tick = 0;
    }
  if (self->mail_service == NULL)
    start_getting_mail (self);
  return G_SOURCE_REMOVE;
}

static gboolean
first_frame_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  TernWindow *self = TERN_WINDOW (widget);

  self->start_mail_tick = 0;
  /* After the frame, when the loop has nothing more urgent to do. */
  g_clear_handle_id (&self->start_mail_timeout, g_source_remove);
  self->start_mail_timeout = g_idle_add_full (G_PRIORITY_LOW, start_getting_mail_cb, self, NULL);
  return G_SOURCE_REMOVE;
}

static void
start_getting_mail_soon (TernWindow *self)
{
  if (self->mail_service != NULL || self->start_mail_timeout != 0)
    return;
  self->start_mail_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), first_frame_cb,
                                                        NULL, NULL);
  self->start_mail_timeout = g_timeout_add_seconds (START_MAIL_SECONDS, start_getting_mail_cb,
                                                    self);
}

static void
archive_old_mail_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  if (self->store == NULL || self->mail_service == NULL)
    return;
  tern_archive_dialog_present (GTK_WINDOW (self), self->store, self->mail_service,
                               tern_sidebar_get_folders (self->sidebar),
                               g_variant_get_string (parameter, NULL));
}

static void
account_settings_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  g_autoptr(GError) error = NULL;
  TernAccountSettings *settings;

  if (application == NULL)
    return;
  settings = tern_account_settings_new (
    self, tern_paths_get_config_dir (tern_application_get_paths (TERN_APPLICATION (application))),
    g_variant_get_string (parameter, NULL), &error);
  if (settings == NULL)
    {
      tern_window_show_toast (self, error->message);
      return;
    }
  gtk_window_present (GTK_WINDOW (settings));
}

static void
remove_account_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  if (self->store == NULL || self->mail_service == NULL)
    return;
  tern_account_removal_present (self, self->store, self->mail_service,
                                g_variant_get_string (parameter, NULL));
}

/**
 * tern_window_show_inbox:
 *
 * Shows the unified Inbox, as a new-mail notification asks.
 */
void
tern_window_show_inbox (TernWindow *self)
{
  g_return_if_fail (TERN_IS_WINDOW (self));

  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  tern_sidebar_select_role (self->sidebar, TERN_FOLDER_ROLE_INBOX);
}

/* The store */

static void
store_opened_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(TernWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  TernStore *store;

  store = tern_store_open_finish (result, &error);
  if (store == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not open the mail store: %s"),
                                               error->message);

      g_warning ("%s", text);
      tern_window_show_toast (self, text);
      return;
    }

  self->store = store;
  g_signal_connect_object (store, "changed", G_CALLBACK (store_changed_cb), self, 0);
  /* The sidebar selects the unified Inbox, where a day with mail starts,
   * once it has read the folders. */
  tern_sidebar_set_store (self->sidebar, store);
  /* Mail queued before Tern last quit goes now. */
  tern_composer_resume_outbox (self);
  /* And the accounts' new mail comes in, once the window is drawn. */
  start_getting_mail_soon (self);
}

static void
open_store (TernWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  TernPaths *paths;

  if (application == NULL)
    return;

  paths = tern_application_get_paths (TERN_APPLICATION (application));
  tern_web_init (tern_paths_get_cache_dir (paths));
  tern_store_open_async (tern_paths_get_data_dir (paths), NULL, store_opened_cb,
                         g_object_ref (self));
}

/* Accounts */

static void
look_for_accounts (TernWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_auto(GStrv) strv = NULL;
  g_auto(GStrv) names_strv = NULL;
  g_autoptr(GError) error = NULL;
  guint n_accounts;

  if (application == NULL)
    return;

  /* A few small files: reading them here keeps the first frame right. */
  manager = tern_account_manager_new (tern_paths_get_config_dir (
    tern_application_get_paths (TERN_APPLICATION (application))));
  problems = tern_account_manager_load (manager, &error);
  if (problems == NULL || problems->len > 0)
    {
      const GError *first = problems != NULL ? problems->pdata[0] : error;
      g_autofree char *text = g_strdup_printf (_("Could not read the accounts: %s"),
                                               first->message);

      tern_window_show_toast (self, text);
    }

  n_accounts = g_list_model_get_n_items (G_LIST_MODEL (manager));
  for (guint i = 0; i < n_accounts; i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);

      const char *name = tern_account_get_display_name (account);

      g_strv_builder_add (ids, tern_account_get_id (account));
      g_strv_builder_add (names, name != NULL ? name : tern_account_get_id (account));
    }
  strv = g_strv_builder_end (ids);
  names_strv = g_strv_builder_end (names);
  tern_sidebar_set_accounts (self->sidebar, (const char * const *) strv,
                             (const char * const *) names_strv);

  /* An account whose file does not load is still there: no welcome. */
  self->have_accounts = n_accounts > 0 || problems == NULL || problems->len > 0;
  if (!self->have_accounts &&
      g_str_equal (gtk_stack_get_visible_child_name (self->reader_stack), "status"))
    gtk_stack_set_visible_child_name (self->reader_stack, "welcome");
}

/**
 * tern_window_reload_accounts:
 *
 * Reads the accounts again, after one was added or removed.
 */
void
tern_window_reload_accounts (TernWindow *self)
{
  g_return_if_fail (TERN_IS_WINDOW (self));

  look_for_accounts (self);
}

static void
account_added_cb (TernSetupAssistant *assistant,
                  TernAccount        *account,
                  TernWindow         *self)
{
  TernIdentity *identity = tern_account_get_default_identity (account);
  g_autofree char *text = g_strdup_printf (_("Added %s"),
                                           identity != NULL
                                           ? tern_identity_get_address (identity)
                                           : tern_account_get_id (account));

  look_for_accounts (self);
  if (self->mail_service != NULL)
    tern_mail_service_add_account (self->mail_service, account);
  if (g_str_equal (gtk_stack_get_visible_child_name (self->reader_stack), "welcome"))
    gtk_stack_set_visible_child_name (self->reader_stack, "status");
  tern_window_show_toast (self, text);
}

static void
tern_window_add_account_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  TernSetupAssistant *assistant;

  if (application == NULL)
    return;

  assistant = tern_setup_assistant_new (GTK_WINDOW (self),
                                        tern_application_get_paths (
                                          TERN_APPLICATION (application)));
  g_signal_connect_object (assistant, "account-added", G_CALLBACK (account_added_cb), self, 0);
  gtk_window_present (GTK_WINDOW (assistant));
}

/* State */

static void
tern_window_navigate_back_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static gboolean
tern_window_close_request (GtkWindow *window)
{
  TernWindow *self = TERN_WINDOW (window);
  GSettings *settings = tern_window_get_settings (self);

  tern_window_flush_deletes (self);

  if (settings != NULL)
    {
      int width = 0;
      int height = 0;

      gtk_window_get_default_size (window, &width, &height);

      g_settings_delay (settings);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
      /* A maximized window keeps the size it had before, for the next
       * time it is unmaximized. */
      if (!gtk_window_is_maximized (window) && width > 0 && height > 0)
        {
          g_settings_set_int (settings, "window-width", width);
          g_settings_set_int (settings, "window-height", height);
        }
      g_settings_apply (settings);
    }

  return GTK_WINDOW_CLASS (tern_window_parent_class)->close_request (window);
}

static void
conversations_changed_cb (GSettings  *settings,
                          const char *key,
                          TernWindow *self)
{
  if (*gtk_editable_get_text (GTK_EDITABLE (self->search_entry)) == '\0')
    show_source (self);
}

static void
restore_state (TernWindow *self)
{
  GSettings *settings = tern_window_get_settings (self);
  g_autoptr(GAction) conversations = NULL;

  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));

      conversations = g_settings_create_action (settings, "conversations");
      g_action_map_add_action (G_ACTION_MAP (self), conversations);
      g_signal_connect_object (settings, "changed::conversations",
                               G_CALLBACK (conversations_changed_cb), self, 0);
    }
}

static void
tern_window_dispose (GObject *object)
{
  TernWindow *self = TERN_WINDOW (object);

  /* The panes go one by one: none may reach another that is gone. */
  if (self->message_list != NULL)
    g_signal_handlers_disconnect_by_data (self->message_list, self);
  if (self->sidebar != NULL)
    g_signal_handlers_disconnect_by_data (self->sidebar, self);
  if (self->reader != NULL)
    g_signal_handlers_disconnect_by_data (self->reader, self);
  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);

  g_clear_handle_id (&self->start_mail_timeout, g_source_remove);
  if (self->start_mail_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->start_mail_tick);
      self->start_mail_tick = 0;
    }
  tern_window_unwatch_accounts (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pending_deletes, g_hash_table_unref);
  g_clear_pointer (&self->delete_undos, g_ptr_array_unref);
  g_clear_pointer (&self->folder_title, g_free);
  g_clear_pointer (&self->move_menu_key, g_free);
  if (self->toasts != NULL)
    {
      for (guint i = 0; i < self->toasts->len; i++)
        g_signal_handlers_disconnect_by_data (self->toasts->pdata[i], self);
      g_clear_pointer (&self->toasts, g_ptr_array_unref);
    }

  G_OBJECT_CLASS (tern_window_parent_class)->dispose (object);
}

static void
tern_window_finalize (GObject *object)
{
  TernWindow *self = TERN_WINDOW (object);

  g_clear_object (&self->mail_service);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (tern_window_parent_class)->finalize (object);
}

static void
tern_window_class_init (TernWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tern_window_dispose;
  object_class->finalize = tern_window_finalize;
  window_class->close_request = tern_window_close_request;

  g_type_ensure (TERN_TYPE_SIDEBAR);
  g_type_ensure (TERN_TYPE_MESSAGE_LIST);
  g_type_ensure (TERN_TYPE_READER);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/tern-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TernWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, sidebar_pane);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, list_pane);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reader_pane);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, sync_spinner);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, offline_icon);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, list_title);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, conversations_button);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, list_stack);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, message_list);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reader_title);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, move_button);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, read_button);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reply_button);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reader_stack);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reader_status);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reader);

  gtk_widget_class_install_action (widget_class, "win.add-account", NULL,
                                   tern_window_add_account_action);
  gtk_widget_class_install_action (widget_class, "win.navigate-back", NULL,
                                   tern_window_navigate_back_action);
  gtk_widget_class_install_action (widget_class, "win.archive-old-mail", "s",
                                   archive_old_mail_action);
  gtk_widget_class_install_action (widget_class, "win.account-settings", "s",
                                   account_settings_action);
  gtk_widget_class_install_action (widget_class, "win.remove-account", "s",
                                   remove_account_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK,
                                       "win.navigate-back", NULL);

  tern_window_install_actions (widget_class);
}

static void
tern_window_init (TernWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->menu_offers_flag = TRUE;
  self->read_button_offers_read = -1;

  gtk_window_set_title (GTK_WINDOW (self), _("Tern"));

  /* A development build is striped, so it is never mistaken for the
   * Tern that holds the user's mail. */
  if (g_str_equal (PROFILE, "development"))
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");

  g_object_bind_property (self->search_button, "active", self->search_bar, "search-mode-enabled",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
  /* At a phone's width the reader's header bar has no room for Reply: it
   * is in the More Actions menu then, and Ctrl+R works everywhere. */
  g_object_bind_property (self->leaflet, "folded", self->reply_button, "visible",
                          G_BINDING_INVERT_BOOLEAN | G_BINDING_SYNC_CREATE);
  gtk_search_bar_set_key_capture_widget (self->search_bar, GTK_WIDGET (self->message_list));

  g_signal_connect (self->sidebar, "folder-activated", G_CALLBACK (folder_activated_cb), self);
  g_signal_connect (self->search_entry, "search-changed", G_CALLBACK (search_changed_cb), self);
  g_signal_connect (self->search_bar, "notify::search-mode-enabled",
                    G_CALLBACK (search_mode_cb), self);
  g_signal_connect (self->message_list, "selection-changed",
                    G_CALLBACK (selection_changed_cb), self);
  g_signal_connect (self->message_list, "activated", G_CALLBACK (list_activated_cb), self);
  g_signal_connect (self->reader, "shown", G_CALLBACK (reader_shown_cb), self);
  g_signal_connect (self->sidebar, "folders-changed", G_CALLBACK (folders_changed_cb), self);
  g_signal_connect (self->reader, "toast", G_CALLBACK (reader_toast_cb), self);

  tern_window_update_actions (self);
}
