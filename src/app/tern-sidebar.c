/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-mail-service.h"
#include "tern-message-list.h"
#include "tern-sidebar.h"

/*
 * TernSidebar: the folders, in the order a person scans them: the unified
 * Inbox, Sent and Drafts of all accounts, then each account with its
 * folders, then the folders On This Computer.  Unread counts follow the
 * store's change notifications; a change that keeps the same folders only
 * updates the rows' labels, so that focus and selection stay put.
 *
 * Each account's heading has the account's menu: how full its server is
 * (read when the menu opens, hidden when the server sets no limit) and
 * "Archive Old Mail".  Messages dragged from the list onto a folder move
 * there through win.move-to, as the Move menu moves them.
 */

#define RELOAD_DELAY_MS 100

struct _TernSidebar
{
  GtkWidget parent_instance;

  GtkWidget *scrolled;
  GtkListBox *list;

  TernStore *store;
  TernMailService *mail_service;
  gulong changed_handler;
  GCancellable *cancellable;
  guint reload_source;

  GPtrArray *folders;        /* TernFolder */
  GStrv accounts;            /* the ids of the accounts set up */
  GHashTable *names;         /* their names, by id */
  GPtrArray *entries;        /* Entry, one per row */
  char *selected_key;
};

G_DEFINE_FINAL_TYPE (TernSidebar, tern_sidebar, GTK_TYPE_WIDGET)

enum {
  SIGNAL_FOLDER_ACTIVATED,
  SIGNAL_FOLDERS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  char *key;               /* "role:N", "folder:ID" or "heading:NAME" */
  char *title;
  char *account;           /* an account's heading: the account's ID */
  const char *icon_name;
  gint64 folder_id;        /* 0 for a unified folder or a heading */
  TernFolderRole role;
  gint64 unread;
  gboolean heading;
  GtkWidget *row;
  GtkWidget *count_label;
} Entry;

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->key);
  g_free (entry->title);
  g_free (entry->account);
  g_free (entry);
}

/**
 * tern_folder_role_icon_name:
 *
 * Returns: the symbolic icon that stands for a folder of @role.
 */
const char *
tern_folder_role_icon_name (TernFolderRole role)
{
  switch (role)
    {
    case TERN_FOLDER_ROLE_INBOX:
      return "mail-unread-symbolic";
    case TERN_FOLDER_ROLE_SENT:
      return "mail-send-symbolic";
    case TERN_FOLDER_ROLE_DRAFTS:
      return "document-edit-symbolic";
    case TERN_FOLDER_ROLE_TRASH:
      return "user-trash-symbolic";
    case TERN_FOLDER_ROLE_JUNK:
      return "mail-mark-junk-symbolic";
    case TERN_FOLDER_ROLE_ARCHIVE:
      return "folder-documents-symbolic";
    case TERN_FOLDER_ROLE_NONE:
    case TERN_FOLDER_ROLE_LOCAL:
    default:
      return "folder-symbolic";
    }
}

static const char *
unified_title (TernFolderRole role)
{
  switch (role)
    {
    case TERN_FOLDER_ROLE_INBOX:
      return _("Inbox");
    case TERN_FOLDER_ROLE_SENT:
      return _("Sent");
    case TERN_FOLDER_ROLE_DRAFTS:
      return _("Drafts");
    case TERN_FOLDER_ROLE_NONE:
    case TERN_FOLDER_ROLE_TRASH:
    case TERN_FOLDER_ROLE_JUNK:
    case TERN_FOLDER_ROLE_ARCHIVE:
    case TERN_FOLDER_ROLE_LOCAL:
    default:
      return "";
    }
}

static char *
folder_title (TernFolder *folder)
{
  /* The special folders have the names people know, whatever the server
   * calls them. */
  switch (tern_folder_get_role (folder))
    {
    case TERN_FOLDER_ROLE_INBOX:
      return g_strdup (_("Inbox"));
    case TERN_FOLDER_ROLE_SENT:
      return g_strdup (_("Sent"));
    case TERN_FOLDER_ROLE_DRAFTS:
      return g_strdup (_("Drafts"));
    case TERN_FOLDER_ROLE_TRASH:
      return g_strdup (_("Trash"));
    case TERN_FOLDER_ROLE_JUNK:
      return g_strdup (_("Junk"));
    case TERN_FOLDER_ROLE_ARCHIVE:
      return g_strdup (_("Archive"));
    case TERN_FOLDER_ROLE_NONE:
    case TERN_FOLDER_ROLE_LOCAL:
    default:
      return g_strdup (tern_folder_get_path (folder));
    }
}

static Entry *
add_entry (GPtrArray      *entries,
           char           *key,
           char           *title,
           const char     *icon_name,
           gint64          folder_id,
           TernFolderRole  role,
           gint64          unread,
           gboolean        heading)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->key = key;
  entry->title = title;
  entry->icon_name = icon_name;
  entry->folder_id = folder_id;
  entry->role = role;
  entry->unread = unread;
  entry->heading = heading;
  g_ptr_array_add (entries, entry);
  return entry;
}

static int
role_order (TernFolderRole role)
{
  static const TernFolderRole order[] = {
    TERN_FOLDER_ROLE_INBOX, TERN_FOLDER_ROLE_DRAFTS, TERN_FOLDER_ROLE_SENT,
    TERN_FOLDER_ROLE_ARCHIVE, TERN_FOLDER_ROLE_JUNK, TERN_FOLDER_ROLE_TRASH,
  };

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    if (order[i] == role)
      return i;
  return G_N_ELEMENTS (order);
}

static int
compare_folders (gconstpointer a,
                 gconstpointer b)
{
  TernFolder *fa = *(TernFolder **) a;
  TernFolder *fb = *(TernFolder **) b;
  int local_a = g_str_equal (tern_folder_get_account (fa), TERN_LOCAL_ACCOUNT);
  int local_b = g_str_equal (tern_folder_get_account (fb), TERN_LOCAL_ACCOUNT);
  int cmp;

  if (local_a != local_b)
    return local_a - local_b;
  if ((cmp = g_strcmp0 (tern_folder_get_account (fa), tern_folder_get_account (fb))) != 0)
    return cmp;
  if ((cmp = role_order (tern_folder_get_role (fa)) - role_order (tern_folder_get_role (fb))) != 0)
    return cmp;
  return g_utf8_collate (tern_folder_get_path (fa), tern_folder_get_path (fb));
}

/* An account's heading shows the name the user gave it. */
static char *
account_title (GHashTable *names,
               const char *account)
{
  const char *name = names != NULL ? g_hash_table_lookup (names, account) : NULL;

  return g_strdup (name != NULL && *name != '\0' ? name : account);
}

/* An account set up a moment ago has no folders in the store until its
 * first sync: it is listed by its heading all the same. */
static void
add_accounts_without_folders (GPtrArray          *entries,
                              GPtrArray          *folders,
                              const char * const *accounts,
                              GHashTable         *names)
{
  for (guint i = 0; accounts != NULL && accounts[i] != NULL; i++)
    {
      gboolean has_folders = FALSE;

      for (guint j = 0; j < folders->len && !has_folders; j++)
        has_folders = g_strcmp0 (tern_folder_get_account (folders->pdata[j]), accounts[i]) == 0;
      if (!has_folders)
        add_entry (entries, g_strdup_printf ("heading:%s", accounts[i]),
                   account_title (names, accounts[i]), NULL, 0, 0, 0, TRUE)->account =
          g_strdup (accounts[i]);
    }
}

static GPtrArray *
make_entries (GPtrArray          *folders,
              const char * const *accounts,
              GHashTable         *names)
{
  static const TernFolderRole unified[] = {
    TERN_FOLDER_ROLE_INBOX, TERN_FOLDER_ROLE_SENT, TERN_FOLDER_ROLE_DRAFTS,
  };
  GPtrArray *entries = g_ptr_array_new_with_free_func (entry_free);
  const char *account = NULL;
  gboolean local_heading = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (unified); i++)
    {
      gint64 unread = 0;

      for (guint j = 0; j < folders->len; j++)
        if (tern_folder_get_role (folders->pdata[j]) == unified[i])
          unread += tern_folder_get_unread (folders->pdata[j]);

      add_entry (entries, g_strdup_printf ("role:%d", unified[i]),
                 g_strdup (unified_title (unified[i])), tern_folder_role_icon_name (unified[i]),
                 0, unified[i], unified[i] == TERN_FOLDER_ROLE_INBOX ? unread : 0, FALSE);
    }

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = folders->pdata[i];
      const char *folder_account = tern_folder_get_account (folder);
      gboolean local = g_str_equal (folder_account, TERN_LOCAL_ACCOUNT);

      if (local && !local_heading)
        {
          add_accounts_without_folders (entries, folders, accounts, names);
          add_entry (entries, g_strdup ("heading:local"), g_strdup (_("On This Computer")),
                     NULL, 0, 0, 0, TRUE);
          local_heading = TRUE;
        }
      else if (!local && g_strcmp0 (account, folder_account) != 0)
        {
          add_entry (entries, g_strdup_printf ("heading:%s", folder_account),
                     account_title (names, folder_account), NULL, 0, 0, 0, TRUE)->account =
            g_strdup (folder_account);
          account = folder_account;
        }

      add_entry (entries, g_strdup_printf ("folder:%" G_GINT64_FORMAT, tern_folder_get_id (folder)),
                 folder_title (folder), tern_folder_role_icon_name (tern_folder_get_role (folder)),
                 tern_folder_get_id (folder), tern_folder_get_role (folder),
                 /* Nobody wants to be told of unread junk or trash. */
                 tern_folder_get_role (folder) == TERN_FOLDER_ROLE_JUNK ||
                 tern_folder_get_role (folder) == TERN_FOLDER_ROLE_TRASH
                 ? 0 : tern_folder_get_unread (folder),
                 FALSE);
    }

  if (!local_heading)
    {
      add_accounts_without_folders (entries, folders, accounts, names);
      add_entry (entries, g_strdup ("heading:local"), g_strdup (_("On This Computer")),
                 NULL, 0, 0, 0, TRUE);
    }

  return entries;
}

static void
update_entry_row (Entry *entry)
{
  g_autofree char *count = NULL;
  g_autofree char *description = NULL;

  if (entry->heading)
    return;

  if (entry->unread > 0)
    {
      count = g_strdup_printf ("%" G_GINT64_FORMAT, entry->unread);
      description = g_strdup_printf (g_dngettext (NULL, "%s unread message", "%s unread messages",
                                                  entry->unread), count);
    }

  gtk_label_set_label (GTK_LABEL (entry->count_label), count != NULL ? count : "");
  gtk_widget_set_visible (entry->count_label, count != NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry->row),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, entry->title,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  description != NULL ? description : "",
                                  -1);
}

/* The account's menu */

typedef struct
{
  GtkWidget *box;
  GtkWidget *label;
  GtkWidget *level;
  GCancellable *cancellable;
} Quota;

static void
quota_free (gpointer data)
{
  Quota *quota = data;

  g_cancellable_cancel (quota->cancellable);
  g_object_unref (quota->cancellable);
  g_free (quota);
}

/* IMAP QUOTA counts in units of 1024 octets; the sizes are shown in
 * the units GNOME shows file sizes in. */
static char *
format_kib (guint64 kib)
{
  return g_format_size (kib * 1024);
}

static void
clear_quota (Quota *quota)
{
  if (quota->label == NULL)
    return;
  gtk_box_remove (GTK_BOX (quota->box), quota->label);
  gtk_box_remove (GTK_BOX (quota->box), quota->level);
  quota->label = NULL;
  quota->level = NULL;
  gtk_widget_set_margin_top (quota->box, 0);
  gtk_widget_set_margin_bottom (quota->box, 0);
}

static void
got_quota_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GtkWidget) box = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *used_text = NULL;
  g_autofree char *limit_text = NULL;
  g_autofree char *text = NULL;
  Quota *quota = g_object_get_data (G_OBJECT (box), "tern-quota");
  guint64 used = 0;
  guint64 limit = 0;

  if (!tern_mail_service_get_quota_finish (TERN_MAIL_SERVICE (source), result, &used, &limit,
                                           &error) || limit == 0)
    {
      /* No limit, no QUOTA extension, or no answer: nothing to show. */
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No quota: %s", error->message);
      if (quota != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        clear_quota (quota);
      return;
    }
  if (quota == NULL)
    return;

  /* The line and the bar are made when there is something to show (the
   * accessibility tree of GTK 4.8 misses widgets shown after being
   * hidden). */
  if (quota->label == NULL)
    {
      quota->label = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (quota->label), 0);
      gtk_widget_add_css_class (quota->label, "caption");
      quota->level = gtk_level_bar_new ();
      gtk_widget_set_size_request (quota->level, 200, -1);
      gtk_box_append (GTK_BOX (quota->box), quota->label);
      gtk_box_append (GTK_BOX (quota->box), quota->level);
      gtk_widget_set_margin_top (quota->box, 6);
      gtk_widget_set_margin_bottom (quota->box, 6);
    }

  used_text = format_kib (used);
  limit_text = format_kib (limit);
  /* Translators: the storage an account uses on its server, as "1.2 MB of
   * 2.0 GB used" */
  text = g_strdup_printf (_("%s of %s used"), used_text, limit_text);
  gtk_label_set_label (GTK_LABEL (quota->label), text);
  gtk_level_bar_set_value (GTK_LEVEL_BAR (quota->level), MIN ((double) used / limit, 1.0));
  gtk_accessible_update_property (GTK_ACCESSIBLE (quota->level),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

static void
menu_shown_cb (GtkWidget *popover,
               gpointer   user_data)
{
  TernSidebar *self = user_data;
  GtkWidget *box = g_object_get_data (G_OBJECT (popover), "tern-quota-box");
  Quota *quota = g_object_get_data (G_OBJECT (box), "tern-quota");
  const char *account = g_object_get_data (G_OBJECT (popover), "tern-account");

  if (self->mail_service == NULL || account == NULL)
    return;
  g_cancellable_cancel (quota->cancellable);
  g_object_unref (quota->cancellable);
  quota->cancellable = g_cancellable_new ();
  tern_mail_service_get_quota_async (self->mail_service, account, quota->cancellable,
                                     got_quota_cb, g_object_ref (box));
}

/* An account's menu is made when it first opens: the sidebar makes its
 * rows again as accounts and folders come, and a popover menu is many
 * widgets. */
static void
create_account_popover_cb (GtkMenuButton *button,
                           gpointer       user_data)
{
  TernSidebar *self = user_data;
  const char *account = g_object_get_data (G_OBJECT (button), "tern-account");
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) usage = g_menu_new ();
  g_autoptr(GMenu) actions = g_menu_new ();
  g_autoptr(GMenu) removal = g_menu_new ();
  g_autoptr(GMenuItem) item = NULL;
  GtkWidget *popover;
  Quota *quota;

  if (gtk_menu_button_get_popover (button) != NULL || account == NULL)
    return;
  quota = g_new0 (Quota, 1);

  item = g_menu_item_new (NULL, NULL);
  g_menu_item_set_attribute (item, "custom", "s", "quota");
  g_menu_append_item (usage, item);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (usage));
  g_clear_object (&item);
  item = g_menu_item_new (_("Account _Settings…"), NULL);
  g_menu_item_set_action_and_target_value (item, "win.account-settings",
                                           g_variant_new_string (account));
  g_menu_append_item (actions, item);
  g_clear_object (&item);
  item = g_menu_item_new (_("_Archive Old Mail…"), NULL);
  g_menu_item_set_action_and_target_value (item, "win.archive-old-mail",
                                           g_variant_new_string (account));
  g_menu_append_item (actions, item);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (actions));
  g_clear_object (&item);
  item = g_menu_item_new (_("_Remove Account…"), NULL);
  g_menu_item_set_action_and_target_value (item, "win.remove-account",
                                           g_variant_new_string (account));
  g_menu_append_item (removal, item);
  g_menu_append_section (menu, NULL, G_MENU_MODEL (removal));

  popover = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  quota->cancellable = g_cancellable_new ();
  quota->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (quota->box, 12);
  gtk_widget_set_margin_end (quota->box, 12);
  g_object_set_data_full (G_OBJECT (quota->box), "tern-quota", quota, quota_free);
  gtk_popover_menu_add_child (GTK_POPOVER_MENU (popover), quota->box, "quota");
  g_object_set_data (G_OBJECT (popover), "tern-quota-box", quota->box);
  g_object_set_data_full (G_OBJECT (popover), "tern-account", g_strdup (account), g_free);
  g_signal_connect_object (popover, "show", G_CALLBACK (menu_shown_cb), self, 0);
  gtk_menu_button_set_popover (button, popover);
}

static GtkWidget *
make_account_menu (TernSidebar *self,
                   Entry       *entry)
{
  g_autofree char *label = NULL;
  GtkWidget *button = gtk_menu_button_new ();

  g_object_set_data_full (G_OBJECT (button), "tern-account", g_strdup (entry->account), g_free);
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (button), create_account_popover_cb,
                                         self, NULL);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "view-more-symbolic");
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, _("Account Menu"));
  /* Translators: the accessible name of an account's menu button */
  label = g_strdup_printf (_("Menu of %s"), entry->title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  return button;
}

/* Dropping messages on a folder */

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         gpointer       user_data)
{
  GtkWidget *row = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (target));
  Entry *entry = g_object_get_data (G_OBJECT (row), "tern-entry");

  if (entry == NULL || entry->folder_id == 0)
    return FALSE;
  return gtk_widget_activate_action (row, "win.move-to", "x", entry->folder_id);
}

static GtkWidget *
make_row (TernSidebar *self,
          Entry       *entry)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *label = gtk_label_new (entry->title);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 20);
  gtk_widget_set_hexpand (label, TRUE);

  if (entry->heading)
    {
      gtk_widget_add_css_class (label, "heading");
      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_add_css_class (row, "tern-sidebar-heading");
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_box_append (GTK_BOX (box), label);
      if (entry->account != NULL)
        gtk_box_append (GTK_BOX (box), make_account_menu (self, entry));
      gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, entry->title, -1);
    }
  else
    {
      gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name (entry->icon_name));
      gtk_box_append (GTK_BOX (box), label);
      entry->count_label = gtk_label_new (NULL);
      gtk_widget_add_css_class (entry->count_label, "dim-label");
      gtk_widget_add_css_class (entry->count_label, "numeric");
      gtk_box_append (GTK_BOX (box), entry->count_label);
      if (entry->folder_id != 0)
        {
          GtkDropTarget *target = gtk_drop_target_new (TERN_TYPE_MESSAGE_DRAG, GDK_ACTION_MOVE);

          g_signal_connect (target, "drop", G_CALLBACK (drop_cb), NULL);
          gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (target));
        }
    }

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  entry->row = row;
  g_object_set_data (G_OBJECT (row), "tern-entry", entry);
  update_entry_row (entry);

  return row;
}

static gboolean
same_keys (GPtrArray *a,
           GPtrArray *b)
{
  if (a == NULL || a->len != b->len)
    return FALSE;

  for (guint i = 0; i < a->len; i++)
    if (!g_str_equal (((Entry *) a->pdata[i])->key, ((Entry *) b->pdata[i])->key))
      return FALSE;

  return TRUE;
}

static void
show_entries (TernSidebar *self,
              GPtrArray   *entries)
{
  GtkWidget *child;
  gboolean same_headings = TRUE;

  /* A heading renamed (an account's new name) is made again. */
  for (guint i = 0; same_keys (self->entries, entries) && i < entries->len; i++)
    if (((Entry *) entries->pdata[i])->heading &&
        g_strcmp0 (((Entry *) entries->pdata[i])->title,
                   ((Entry *) self->entries->pdata[i])->title) != 0)
      same_headings = FALSE;

  if (same_headings && same_keys (self->entries, entries))
    {
      for (guint i = 0; i < entries->len; i++)
        {
          Entry *old = self->entries->pdata[i];
          Entry *new = entries->pdata[i];

          old->unread = new->unread;
          g_free (old->title);
          old->title = g_strdup (new->title);
          update_entry_row (old);
        }
      g_ptr_array_unref (entries);
      return;
    }

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  self->entries = entries;

  for (guint i = 0; i < entries->len; i++)
    gtk_list_box_append (self->list, make_row (self, entries->pdata[i]));

  /* The folder shown stays selected; at first, the unified Inbox. */
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = entries->pdata[i];

      if (g_strcmp0 (entry->key, self->selected_key) == 0 ||
          (self->selected_key == NULL && !entry->heading))
        {
          gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (entry->row));
          break;
        }
    }
}

static void
list_folders_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  TernSidebar *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  folders = tern_store_list_folders_finish (TERN_STORE (source), result, &error);
  if (folders == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Could not list the folders: %s", error->message);
      return;
    }

  g_ptr_array_sort (folders, compare_folders);
  g_clear_pointer (&self->folders, g_ptr_array_unref);
  self->folders = g_ptr_array_ref (folders);

  show_entries (self, make_entries (folders, (const char * const *) self->accounts, self->names));
  g_signal_emit (self, signals[SIGNAL_FOLDERS_CHANGED], 0);
}

static void
reload (TernSidebar *self)
{
  if (self->store == NULL)
    return;

  tern_store_list_folders_async (self->store, NULL, self->cancellable, list_folders_cb, self);
}

static gboolean
reload_cb (gpointer user_data)
{
  TernSidebar *self = user_data;

  self->reload_source = 0;
  reload (self);

  return G_SOURCE_REMOVE;
}

static void
store_changed_cb (TernStore *store,
                  int        kind,
                  GArray    *folder_ids,
                  GArray    *message_ids,
                  gpointer   user_data)
{
  TernSidebar *self = user_data;

  /* A burst of changes (a sync, an import) reads the counts once. */
  if (self->reload_source == 0)
    self->reload_source = g_timeout_add (RELOAD_DELAY_MS, reload_cb, self);
}

/**
 * tern_sidebar_set_store:
 *
 * Shows the folders of @store, and follows its changes.
 */
void
tern_sidebar_set_store (TernSidebar *self,
                        TernStore   *store)
{
  g_return_if_fail (TERN_IS_SIDEBAR (self));

  if (self->store != NULL)
    g_clear_signal_handler (&self->changed_handler, self->store);
  g_set_object (&self->store, store);
  if (store != NULL)
    self->changed_handler = g_signal_connect (store, "changed",
                                              G_CALLBACK (store_changed_cb), self);
  reload (self);
}

/**
 * tern_sidebar_set_mail_service:
 *
 * Where the accounts' menus ask for their quota.
 */
void
tern_sidebar_set_mail_service (TernSidebar     *self,
                               TernMailService *service)
{
  g_return_if_fail (TERN_IS_SIDEBAR (self));

  g_set_object (&self->mail_service, service);
}

/**
 * tern_sidebar_set_accounts:
 * @accounts: (nullable): the ids of the accounts set up
 * @names: (nullable): the name of each of @accounts, in the same order
 *
 * Lists each of @accounts by its name, also one without folders in the
 * store yet.
 */
void
tern_sidebar_set_accounts (TernSidebar        *self,
                           const char * const *accounts,
                           const char * const *names)
{
  g_return_if_fail (TERN_IS_SIDEBAR (self));

  g_strfreev (self->accounts);
  self->accounts = g_strdupv ((char **) accounts);
  g_clear_pointer (&self->names, g_hash_table_unref);
  self->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; accounts != NULL && names != NULL && accounts[i] != NULL; i++)
    g_hash_table_replace (self->names, g_strdup (accounts[i]), g_strdup (names[i]));
  reload (self);
}

/**
 * tern_sidebar_get_folders:
 *
 * Returns: (transfer none) (element-type TernFolder) (nullable): the
 *   folders shown, in the order shown.
 */
GPtrArray *
tern_sidebar_get_folders (TernSidebar *self)
{
  g_return_val_if_fail (TERN_IS_SIDEBAR (self), NULL);

  return self->folders;
}

/**
 * tern_sidebar_find_folder:
 *
 * Returns: (transfer none) (nullable): the folder @folder_id as last read.
 */
TernFolder *
tern_sidebar_find_folder (TernSidebar *self,
                          gint64       folder_id)
{
  g_return_val_if_fail (TERN_IS_SIDEBAR (self), NULL);

  for (guint i = 0; self->folders != NULL && i < self->folders->len; i++)
    if (tern_folder_get_id (self->folders->pdata[i]) == folder_id)
      return self->folders->pdata[i];

  return NULL;
}

/**
 * tern_sidebar_find_role_folder:
 *
 * Returns: (transfer none) (nullable): the folder of @account with @role.
 */
TernFolder *
tern_sidebar_find_role_folder (TernSidebar    *self,
                               const char     *account,
                               TernFolderRole  role)
{
  g_return_val_if_fail (TERN_IS_SIDEBAR (self), NULL);

  for (guint i = 0; self->folders != NULL && i < self->folders->len; i++)
    {
      TernFolder *folder = self->folders->pdata[i];

      if (tern_folder_get_role (folder) == role &&
          g_strcmp0 (tern_folder_get_account (folder), account) == 0)
        return folder;
    }

  return NULL;
}

static void
row_selected_cb (GtkListBox    *list,
                 GtkListBoxRow *row,
                 gpointer       user_data)
{
  TernSidebar *self = user_data;
  Entry *entry = row != NULL ? g_object_get_data (G_OBJECT (row), "tern-entry") : NULL;

  /* Selecting the same folder again after a reload changes nothing. */
  if (entry == NULL || entry->heading || g_strcmp0 (entry->key, self->selected_key) == 0)
    return;

  g_free (self->selected_key);
  self->selected_key = g_strdup (entry->key);
  g_signal_emit (self, signals[SIGNAL_FOLDER_ACTIVATED], 0,
                 entry->folder_id, (int) entry->role, entry->title);
}

/**
 * tern_sidebar_select_role:
 * @role: a role with a unified folder, such as %TERN_FOLDER_ROLE_INBOX
 *
 * Selects the unified folder of @role, when the sidebar shows one.
 */
void
tern_sidebar_select_role (TernSidebar    *self,
                          TernFolderRole  role)
{
  g_autofree char *key = NULL;

  g_return_if_fail (TERN_IS_SIDEBAR (self));

  key = g_strdup_printf ("role:%d", role);
  for (guint i = 0; self->entries != NULL && i < self->entries->len; i++)
    {
      Entry *entry = self->entries->pdata[i];

      if (g_str_equal (entry->key, key))
        {
          gtk_list_box_select_row (self->list, GTK_LIST_BOX_ROW (entry->row));
          return;
        }
    }
}

static void
tern_sidebar_dispose (GObject *object)
{
  TernSidebar *self = TERN_SIDEBAR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  if (self->store != NULL)
    g_clear_signal_handler (&self->changed_handler, self->store);
  g_clear_object (&self->store);
  g_clear_object (&self->mail_service);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->scrolled, gtk_widget_unparent);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->folders, g_ptr_array_unref);
  g_clear_pointer (&self->selected_key, g_free);
  g_clear_pointer (&self->accounts, g_strfreev);
  g_clear_pointer (&self->names, g_hash_table_unref);

  G_OBJECT_CLASS (tern_sidebar_parent_class)->dispose (object);
}

static void
tern_sidebar_class_init (TernSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tern_sidebar_dispose;

  /**
   * TernSidebar::folder-activated:
   * @folder_id: the folder, or 0 for the unified folder of @role
   * @role: the folder's role (a #TernFolderRole)
   * @title: the name the row shows
   */
  signals[SIGNAL_FOLDER_ACTIVATED] =
    g_signal_new ("folder-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_INT, G_TYPE_STRING);

  /**
   * TernSidebar::folders-changed:
   *
   * Emitted when the folders or their counts were read again.
   */
  signals[SIGNAL_FOLDERS_CHANGED] =
    g_signal_new ("folders-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tern-sidebar");
}

static void
tern_sidebar_init (TernSidebar *self)
{
  self->cancellable = g_cancellable_new ();

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "navigation-sidebar");
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_SINGLE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Folders"), -1);
  g_signal_connect (self->list, "row-selected", G_CALLBACK (row_selected_cb), self);

  self->scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scrolled), GTK_WIDGET (self->list));
  gtk_widget_set_vexpand (self->scrolled, TRUE);
  gtk_widget_set_parent (self->scrolled, GTK_WIDGET (self));
}
