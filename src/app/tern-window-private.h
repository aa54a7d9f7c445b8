/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-message-list.h"
#include "tern-reader.h"
#include "tern-sidebar.h"
#include "tern-window.h"

G_BEGIN_DECLS

struct _TernWindow
{
  AdwApplicationWindow parent_instance;

  /* Template children */
  AdwToastOverlay *toast_overlay;
  AdwLeaflet      *leaflet;
  GtkWidget       *sidebar_pane;
  GtkWidget       *list_pane;
  GtkWidget       *reader_pane;
  TernSidebar     *sidebar;
  GtkWidget       *sync_spinner;
  GtkWidget       *offline_icon;
  AdwWindowTitle  *list_title;
  GtkWidget       *search_button;
  GtkWidget       *conversations_button;
  GtkSearchBar    *search_bar;
  GtkWidget       *search_entry;
  GtkStack        *list_stack;
  TernMessageList *message_list;
  AdwWindowTitle  *reader_title;
  GtkWidget       *move_button;
  GtkWidget       *read_button;
  GtkWidget       *reply_button;
  GtkStack        *reader_stack;
  AdwStatusPage   *reader_status;
  TernReader      *reader;

  TernStore       *store;
  TernMailService *mail_service;
  GCancellable    *cancellable;

  /* What the list shows when no search runs. */
  gint64           folder_id;
  TernFolderRole   role;
  char            *folder_title;
  gboolean         have_source;

  /* The row the reader shows. */
  gint64           shown_row_id;

  /* Whether any account is set up: without one, the reader pane welcomes. */
  gboolean         have_accounts;

  /* Whether the More Actions menu offers to flag (or to remove a flag). */
  gboolean         menu_offers_flag;
  /* What the read button offers: 1 to mark as read, 0 as unread, -1 not
   * set yet.  Set only on a change, as setting a tooltip asks the display
   * server where the pointer is. */
  int              read_button_offers_read;
  /* What the More Actions menu was made of, last. */
  char            *move_menu_key;

  /* Messages deleted for good once their toast goes, unless undone. */
  GHashTable      *pending_deletes;
  GPtrArray       *delete_undos;

  /* Getting mail waits for the first frame: the tick and the timeout. */
  guint            start_mail_tick;
  guint            start_mail_timeout;

  /* The toasts added and not yet dismissed, shown or waiting. */
  GPtrArray       *toasts;

  /* The accounts' files, followed (tern-window-accounts.c): the folder's
   * monitor, the wait for a burst of changes to settle, and the digest of
   * each account's file as the app last went by it. */
  GFileMonitor    *accounts_monitor;
  guint            accounts_settle;
  GHashTable      *account_digests;
};

GSettings *tern_window_get_settings        (TernWindow *self);
void       tern_window_install_actions     (GtkWidgetClass *widget_class);
void       tern_window_update_actions      (TernWindow *self);
void       tern_window_update_move_menu    (TernWindow *self);
void       tern_window_flush_deletes       (TernWindow *self);
void       tern_window_mark_shown_read     (TernWindow *self);
void       tern_window_watch_accounts      (TernWindow *self);
void       tern_window_unwatch_accounts    (TernWindow *self);

G_END_DECLS
