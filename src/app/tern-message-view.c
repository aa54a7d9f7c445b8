/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "tern-format.h"
#include "tern-message-flags.h"
#include "tern-message-view.h"
#include "tern-web.h"

/*
 * TernMessageView: one message of a conversation.  Its headers, the note
 * on blocked remote content, the sender warning and the attachments are
 * GTK widgets; only the body is web content, in a view that runs no script,
 * loads nothing remote until the user says so, and never navigates: a click
 * on a link opens the browser, after showing the real target when the
 * link's text names another address.
 */

struct _TernMessageView
{
  GtkWidget parent_instance;

  GtkWidget *box;
  GtkWidget *header_button;
  GtkWidget *preview_label;
  GtkWidget *details;
  GtkWidget *banner;
  GtkWidget *banner_label;
  GtkWidget *body_box;
  GtkWidget *attachments_box;
  WebKitWebView *web_view;

  TernStore *store;
  TernMessage *message;
  GSettings *settings;
  TernMimeDisplay *display;
  GHashTable *deceptive;
  GPtrArray *link_targets;
  GCancellable *cancellable;

  gboolean expanded;
  gboolean loading;
  gboolean allow_remote;
  int body_height;
};

G_DEFINE_FINAL_TYPE (TernMessageView, tern_message_view, GTK_TYPE_WIDGET)

enum {
  SIGNAL_TOAST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
toast (TernMessageView *self,
       const char      *text)
{
  g_signal_emit (self, signals[SIGNAL_TOAST], 0, text);
}

/* Remote content */

static const char *
sender_address (TernMessageView *self)
{
  const char *address = tern_message_get_from_address (self->message);

  return address != NULL ? address : "";
}

static gboolean
sender_always_allowed (TernMessageView *self)
{
  g_auto(GStrv) senders = NULL;
  g_autofree char *address = g_ascii_strdown (sender_address (self), -1);

  if (self->settings == NULL || *address == '\0')
    return FALSE;

  senders = g_settings_get_strv (self->settings, "remote-content-senders");
  return g_strv_contains ((const char * const *) senders, address);
}

static gboolean
is_dark (void)
{
  return adw_style_manager_get_dark (adw_style_manager_get_default ());
}

static void
load_document (TernMessageView *self)
{
  g_autofree char *document = NULL;
  g_autofree char *plain_html = NULL;
  g_autofree char *html = NULL;
  gboolean is_html;

  if (self->display == NULL || self->web_view == NULL)
    return;

  /* Links point into a table of their targets, so that the view never
   * starts a navigation (or a speculative connection) to their hosts. */
  is_html = tern_mime_display_is_html (self->display);
  if (!is_html)
    plain_html = tern_mime_display_text_to_html (tern_mime_display_get_body (self->display));
  g_clear_pointer (&self->link_targets, g_ptr_array_unref);
  html = tern_mime_display_rewrite_links (is_html ? tern_mime_display_get_body (self->display)
                                                  : plain_html,
                                          &self->link_targets);

  document = tern_web_build_document (html, is_html, self->allow_remote, is_dark ());
  webkit_web_view_load_html (self->web_view, document, "about:blank");
}

static void
allow_remote (TernMessageView *self)
{
  self->allow_remote = TRUE;
  gtk_widget_set_visible (self->banner, FALSE);
  tern_web_set_remote_allowed (self->web_view, TRUE);
  load_document (self);
}

static void
show_remote_clicked_cb (GtkButton       *button,
                        TernMessageView *self)
{
  allow_remote (self);
}

static void
always_remote_clicked_cb (GtkButton       *button,
                          TernMessageView *self)
{
  g_autofree char *address = g_ascii_strdown (sender_address (self), -1);

  if (self->settings != NULL && *address != '\0')
    {
      g_auto(GStrv) senders = g_settings_get_strv (self->settings, "remote-content-senders");
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) updated = NULL;

      g_strv_builder_addv (builder, (const char **) senders);
      if (!g_strv_contains ((const char * const *) senders, address))
        g_strv_builder_add (builder, address);
      updated = g_strv_builder_end (builder);
      g_settings_set_strv (self->settings, "remote-content-senders",
                           (const char * const *) updated);
    }

  allow_remote (self);
}

static void
update_banner (TernMessageView *self)
{
  g_auto(GStrv) hosts = NULL;
  g_autofree char *hosts_text = NULL;
  g_autofree char *text = NULL;
  guint n = 0;

  hosts = tern_mime_display_get_remote_hosts (self->display, &n);
  if (n == 0 || self->allow_remote)
    {
      gtk_widget_set_visible (self->banner, FALSE);
      return;
    }

  hosts_text = g_strjoinv (", ", hosts);
  if (g_strv_length (hosts) > 2)
    {
      g_autofree char *first = g_strdup_printf ("%s, %s", hosts[0], hosts[1]);
      guint more = g_strv_length (hosts) - 2;

      g_free (hosts_text);
      hosts_text = g_strdup_printf (g_dngettext (NULL, "%s and %u other", "%s and %u others",
                                                 more),
                                    first, more);
    }
  text = g_strdup_printf (_("Remote content from %s was blocked"), hosts_text);
  gtk_label_set_label (GTK_LABEL (self->banner_label), text);
  {
    g_autofree char *all = g_strjoinv ("\n", hosts);

    gtk_widget_set_tooltip_text (self->banner_label, all);
  }
  gtk_widget_set_visible (self->banner, TRUE);
}

/* Links */

static void
open_uri (TernMessageView *self,
          const char      *uri)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *scheme = g_uri_parse_scheme (uri);

  /* Only what a browser or a mail composer opens; never a file or a
   * command of another app. */
  if (scheme == NULL ||
      !(g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "https") == 0 ||
        g_ascii_strcasecmp (scheme, "mailto") == 0))
    {
      toast (self, _("This kind of link cannot be opened"));
      return;
    }

  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
}

static void
link_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  gpointer          user_data)
{
  TernMessageView *self = user_data;

  if (g_str_equal (response, "open"))
    open_uri (self, g_object_get_data (G_OBJECT (dialog), "tern-uri"));
  g_object_unref (self);
}

static void
follow_link (TernMessageView *self,
             const char      *uri)
{
  const char *shown = self->deceptive != NULL ? g_hash_table_lookup (self->deceptive, uri) : NULL;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;

  if (shown == NULL)
    {
      open_uri (self, uri);
      return;
    }

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Open This Link?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("The link shows “%s”, but it goes to another address:\n\n%s"),
                                  shown, uri);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "open", _("_Open Link"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "open",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "tern-uri", g_strdup (uri), g_free);
  g_signal_connect (dialog, "response", G_CALLBACK (link_response_cb), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
decide_policy_cb (WebKitWebView            *view,
                  WebKitPolicyDecision     *decision,
                  WebKitPolicyDecisionType  type,
                  TernMessageView          *self)
{
  WebKitNavigationAction *action;
  WebKitURIRequest *request;
  const char *uri;

  if (type == WEBKIT_POLICY_DECISION_TYPE_RESPONSE)
    {
      webkit_policy_decision_use (decision);
      return TRUE;
    }

  action = webkit_navigation_policy_decision_get_navigation_action (
    WEBKIT_NAVIGATION_POLICY_DECISION (decision));
  request = webkit_navigation_action_get_request (action);
  uri = webkit_uri_request_get_uri (request);

  /* The document Tern loads itself is the only navigation allowed. */
  if (type == WEBKIT_POLICY_DECISION_TYPE_NAVIGATION_ACTION &&
      webkit_navigation_action_get_navigation_type (action) == WEBKIT_NAVIGATION_TYPE_OTHER &&
      g_strcmp0 (uri, "about:blank") == 0 &&
      webkit_navigation_action_is_redirect (action) == FALSE)
    {
      webkit_policy_decision_use (decision);
      return TRUE;
    }

  webkit_policy_decision_ignore (decision);

  if (webkit_navigation_action_get_navigation_type (action) == WEBKIT_NAVIGATION_TYPE_LINK_CLICKED &&
      webkit_navigation_action_is_user_gesture (action) && uri != NULL &&
      g_str_has_prefix (uri, "tern-link:") && self->link_targets != NULL)
    {
      guint64 index = 0;

      if (g_ascii_string_to_unsigned (uri + strlen ("tern-link:"), 10, 0, G_MAXUINT, &index, NULL) &&
          index < self->link_targets->len)
        follow_link (self, self->link_targets->pdata[index]);
    }

  return TRUE;
}

static gboolean
context_menu_cb (WebKitWebView       *view,
                 WebKitContextMenu   *menu,
                 WebKitHitTestResult *hit,
                 gpointer             user_data)
{
  /* Only copying: no reload, no "open in new window", no inspector. */
  GList *items = webkit_context_menu_get_items (menu);

  for (GList *l = items; l != NULL;)
    {
      WebKitContextMenuItem *item = l->data;
      WebKitContextMenuAction action = webkit_context_menu_item_get_stock_action (item);

      l = l->next;
      if (action != WEBKIT_CONTEXT_MENU_ACTION_COPY &&
          action != WEBKIT_CONTEXT_MENU_ACTION_COPY_LINK_TO_CLIPBOARD &&
          action != WEBKIT_CONTEXT_MENU_ACTION_SELECT_ALL)
        webkit_context_menu_remove (menu, item);
    }

  return webkit_context_menu_get_n_items (menu) == 0;
}

/* Attachments */

typedef struct
{
  TernMessageView *self;
  char *part_path;
  char *filename;
} AttachmentAction;

static void
attachment_action_free (gpointer data)
{
  AttachmentAction *action = data;

  g_free (action->part_path);
  g_free (action->filename);
  g_free (action);
}

static char *
safe_filename (const char *filename,
               const char *mime_type)
{
  g_autofree char *base = filename != NULL ? g_path_get_basename (filename) : NULL;

  if (base == NULL || *base == '\0' || g_str_equal (base, ".") || g_str_equal (base, "..") ||
      g_str_equal (base, G_DIR_SEPARATOR_S))
    {
      g_autofree char *extension = NULL;

      if (g_str_has_prefix (mime_type, "image/"))
        extension = g_strdup_printf (".%s", mime_type + 6);
      return g_strconcat (_("attachment"), extension != NULL ? extension : "", NULL);
    }

  /* A name never starts with a dot, so that it is never hidden. */
  if (base[0] == '.')
    base[0] = '_';

  return g_steal_pointer (&base);
}

static void
save_response_cb (GtkNativeDialog *chooser,
                  int              response,
                  gpointer         user_data)
{
  AttachmentAction *action = user_data;
  TernMessageView *self = action->self;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      bytes = tern_mime_display_get_part (self->display, action->part_path, NULL, &error);
      if (bytes == NULL ||
          !g_file_replace_contents (file, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                    NULL, FALSE, G_FILE_CREATE_NONE, NULL, NULL, &error))
        {
          g_autofree char *text = g_strdup_printf (_("Could not save the attachment: %s"),
                                                   error->message);
          toast (self, text);
        }
    }

  g_object_unref (chooser);
  g_object_unref (self);
  attachment_action_free (action);
}

static void
save_clicked_cb (GtkButton *button,
                 gpointer   user_data)
{
  AttachmentAction *source = user_data;
  AttachmentAction *action = g_new0 (AttachmentAction, 1);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (button));
  GtkFileChooserNative *chooser;

  action->self = g_object_ref (source->self);
  action->part_path = g_strdup (source->part_path);
  action->filename = g_strdup (source->filename);

  /* The portal's file chooser when Tern runs in a sandbox. */
  chooser = gtk_file_chooser_native_new (_("Save Attachment"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), action->filename);
  g_signal_connect (chooser, "response", G_CALLBACK (save_response_cb), action);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
open_clicked_cb (GtkButton *button,
                 gpointer   user_data)
{
  AttachmentAction *action = user_data;
  TernMessageView *self = action->self;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *mime_type = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *content_type = NULL;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (button));

  bytes = tern_mime_display_get_part (self->display, action->part_path, &mime_type, &error);
  if (bytes == NULL)
    {
      toast (self, error->message);
      return;
    }

  /* A program in a message is never started by a click on it. */
  content_type = g_content_type_from_mime_type (mime_type);
  if ((content_type != NULL && g_content_type_can_be_executable (content_type) &&
       !g_content_type_is_a (content_type, "text/plain")) ||
      g_str_has_suffix (action->filename, ".desktop"))
    {
      toast (self, _("This attachment could be a program: save it to open it"));
      return;
    }

  /* In the profile's cache, private to the user (0700). */
  dir = g_build_filename (tern_web_get_cache_dir (), "attachments", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      toast (self, _("Could not open the attachment"));
      return;
    }
  g_free (dir);
  dir = g_build_filename (tern_web_get_cache_dir (), "attachments", "XXXXXX", NULL);
  if (g_mkdtemp_full (dir, 0700) == NULL)
    {
      toast (self, _("Could not open the attachment"));
      return;
    }

  path = g_build_filename (dir, action->filename, NULL);
  if (!g_file_set_contents_full (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    {
      toast (self, error->message);
      return;
    }

  file = g_file_new_for_path (path);
  uri = g_file_get_uri (file);
  gtk_show_uri (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, uri, GDK_CURRENT_TIME);
}

static GtkWidget *
make_attachment_row (TernMessageView    *self,
                     TernAttachmentInfo *info)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *name;
  GtkWidget *size_label;
  GtkWidget *open;
  GtkWidget *save;
  GtkWidget *icon = NULL;
  AttachmentAction *action = g_new0 (AttachmentAction, 1);
  g_autofree char *size = tern_format_size (info->size);
  g_autofree char *open_label = NULL;
  g_autofree char *save_label = NULL;
  g_autoptr(GIcon) gicon = NULL;
  g_autofree char *content_type = g_content_type_from_mime_type (info->mime_type);

  action->self = self;
  action->part_path = g_strdup (info->part_path);
  action->filename = safe_filename (info->filename, info->mime_type);
  g_object_set_data_full (G_OBJECT (row), "tern-action", action, attachment_action_free);

  gtk_widget_add_css_class (row, "tern-attachment");

  /* Pictures are previewed; other files show their type's icon. */
  if (g_str_has_prefix (info->mime_type, "image/") && info->size < 20 * 1024 * 1024)
    {
      g_autoptr(GBytes) bytes = tern_mime_display_get_part (self->display, info->part_path,
                                                           NULL, NULL);
      g_autoptr(GdkTexture) texture = NULL;

      if (bytes != NULL)
        texture = gdk_texture_new_from_bytes (bytes, NULL);
      if (texture != NULL)
        {
          icon = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
          gtk_picture_set_can_shrink (GTK_PICTURE (icon), TRUE);
          gtk_widget_set_size_request (icon, 64, 48);
          gtk_widget_add_css_class (icon, "tern-attachment-preview");
        }
    }
  if (icon == NULL)
    {
      gicon = content_type != NULL ? g_content_type_get_symbolic_icon (content_type) : NULL;
      icon = gicon != NULL ? gtk_image_new_from_gicon (gicon)
                           : gtk_image_new_from_icon_name ("mail-attachment-symbolic");
      gtk_image_set_icon_size (GTK_IMAGE (icon), GTK_ICON_SIZE_LARGE);
    }

  name = gtk_label_new (action->filename);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
  size_label = gtk_label_new (size);
  gtk_label_set_xalign (GTK_LABEL (size_label), 0);
  gtk_widget_add_css_class (size_label, "dim-label");
  gtk_widget_add_css_class (size_label, "caption");
  gtk_box_append (GTK_BOX (labels), name);
  gtk_box_append (GTK_BOX (labels), size_label);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);

  open = gtk_button_new_from_icon_name ("document-open-symbolic");
  open_label = g_strdup_printf (_("Open %s"), action->filename);
  gtk_widget_set_tooltip_text (open, _("Open"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (open), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  open_label, -1);
  save = gtk_button_new_from_icon_name ("document-save-symbolic");
  save_label = g_strdup_printf (_("Save %s"), action->filename);
  gtk_widget_set_tooltip_text (save, _("Save…"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (save), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  save_label, -1);
  for (GtkWidget *button = open; button != NULL; button = button == open ? save : NULL)
    {
      gtk_widget_add_css_class (button, "flat");
      gtk_widget_add_css_class (button, "circular");
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
    }
  g_signal_connect (open, "clicked", G_CALLBACK (open_clicked_cb), action);
  g_signal_connect (save, "clicked", G_CALLBACK (save_clicked_cb), action);

  gtk_box_append (GTK_BOX (row), icon);
  gtk_box_append (GTK_BOX (row), labels);
  gtk_box_append (GTK_BOX (row), open);
  gtk_box_append (GTK_BOX (row), save);

  return row;
}

static void
show_attachments (TernMessageView *self)
{
  g_autoptr(GPtrArray) attachments = tern_mime_display_get_attachments (self->display);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (self->attachments_box)) != NULL)
    gtk_box_remove (GTK_BOX (self->attachments_box), child);

  for (guint i = 0; i < attachments->len; i++)
    gtk_box_append (GTK_BOX (self->attachments_box),
                    make_attachment_row (self, attachments->pdata[i]));

  gtk_widget_set_visible (self->attachments_box, attachments->len > 0);
}

/* Loading */

static void
parse_in_thread (GTask        *task,
                 gpointer      source,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  g_task_return_pointer (task, tern_mime_display_new (task_data),
                         (GDestroyNotify) tern_mime_display_unref);
}

static void
web_ready_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(TernMessageView) self = user_data;

  tern_web_when_ready_finish (result, NULL);
  if (g_cancellable_is_cancelled (self->cancellable) || self->display == NULL)
    return;

  self->web_view = tern_web_new_view (!self->allow_remote);
  g_object_set_data_full (G_OBJECT (self->web_view), "tern-display",
                          tern_mime_display_ref (self->display),
                          (GDestroyNotify) tern_mime_display_unref);
  gtk_widget_set_vexpand (GTK_WIDGET (self->web_view), TRUE);
  {
    /* The card shows through, in the light and the dark style. */
    GdkRGBA transparent = { 0, 0, 0, 0 };

    webkit_web_view_set_background_color (self->web_view, &transparent);
  }
  gtk_widget_set_size_request (GTK_WIDGET (self->web_view), -1, self->body_height);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->web_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Message Body"), -1);
  g_signal_connect (self->web_view, "decide-policy", G_CALLBACK (decide_policy_cb), self);
  g_signal_connect (self->web_view, "context-menu", G_CALLBACK (context_menu_cb), self);
  gtk_box_append (GTK_BOX (self->body_box), GTK_WIDGET (self->web_view));
  g_object_unref (self->web_view);

  load_document (self);
}

static void
parsed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(TernMessageView) self = user_data;
  TernMimeDisplay *display = g_task_propagate_pointer (G_TASK (result), NULL);

  self->loading = FALSE;
  if (display == NULL || g_cancellable_is_cancelled (self->cancellable))
    {
      g_clear_pointer (&display, tern_mime_display_unref);
      return;
    }

  self->display = display;
  if (tern_mime_display_is_html (display))
    self->deceptive = tern_mime_display_find_deceptive_links (tern_mime_display_get_body (display));

  update_banner (self);
  show_attachments (self);
  tern_web_when_ready_async (self->cancellable, web_ready_cb, g_object_ref (self));
}

static void
raw_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(TernMessageView) self = user_data;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;

  raw = tern_store_get_raw_finish (TERN_STORE (source), result, &error);
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  if (raw == NULL)
    {
      self->loading = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          GtkWidget *label = gtk_label_new (_("This message’s text is not on this computer"));

          gtk_widget_add_css_class (label, "dim-label");
          gtk_box_append (GTK_BOX (self->body_box), label);
          g_warning ("Could not read message %" G_GINT64_FORMAT ": %s",
                     tern_message_get_id (self->message), error->message);
        }
      return;
    }

  /* Parsing a large message is kept off the main thread. */
  task = g_task_new (NULL, self->cancellable, parsed_cb, g_object_ref (self));
  g_task_set_task_data (task, g_bytes_ref (raw), (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (task, parse_in_thread);
}

static void
load_body (TernMessageView *self)
{
  if (self->display != NULL || self->loading)
    return;

  self->loading = TRUE;
  tern_store_get_raw_async (self->store, tern_message_get_id (self->message), self->cancellable,
                            raw_cb, g_object_ref (self));
}

/* Headers */

static char *
format_sender (TernMessage *message)
{
  const char *name = tern_message_get_from_name (message);
  const char *address = tern_message_get_from_address (message);

  if (name != NULL && *name != '\0')
    return g_strdup (name);
  if (address != NULL && *address != '\0')
    return g_strdup (address);
  return g_strdup (_("Unknown sender"));
}

static GtkWidget *
header_line (const char *heading,
             const char *value)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *title = gtk_label_new (heading);
  GtkWidget *text = gtk_label_new (value);

  gtk_widget_add_css_class (title, "dim-label");
  gtk_widget_add_css_class (title, "caption-heading");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_set_valign (title, GTK_ALIGN_START);
  gtk_label_set_xalign (GTK_LABEL (text), 0);
  gtk_label_set_wrap (GTK_LABEL (text), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (text), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (text), TRUE);
  gtk_widget_add_css_class (text, "caption");
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), text);

  return box;
}

/* A display name that is itself an address, other than the sender's, is
 * how a forged sender tries to pass. */
static gboolean
name_hides_address (TernMessage *message)
{
  const char *name = tern_message_get_from_name (message);
  const char *address = tern_message_get_from_address (message);
  g_autofree char *name_lower = NULL;
  g_autofree char *address_lower = NULL;

  if (name == NULL || address == NULL || strchr (name, '@') == NULL)
    return FALSE;

  name_lower = g_ascii_strdown (name, -1);
  address_lower = g_ascii_strdown (address, -1);

  return strstr (name_lower, address_lower) == NULL;
}

static void
header_clicked_cb (GtkButton       *button,
                   TernMessageView *self)
{
  tern_message_view_set_expanded (self, !self->expanded);
}

static void
dark_changed_cb (AdwStyleManager *manager,
                 GParamSpec      *pspec,
                 TernMessageView *self)
{
  load_document (self);
}

static void
build (TernMessageView *self)
{
  TernMessage *message = self->message;
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *texts = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *avatar;
  GtkWidget *sender;
  GtkWidget *date;
  GtkWidget *warning;
  GtkWidget *banner_buttons;
  GtkWidget *button;
  g_autofree char *sender_text = format_sender (message);
  g_autofree char *date_text = tern_format_full_date (tern_message_get_date (message));
  g_autofree char *list_date = tern_format_list_date (tern_message_get_date (message), NULL);
  g_autofree char *header_label = NULL;

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class (self->box, "card");
  gtk_widget_add_css_class (self->box, "tern-message-card");
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));

  /* The header: who and when, one click to open or close the message. */
  avatar = adw_avatar_new (36, sender_text, TRUE);
  gtk_widget_set_valign (avatar, GTK_ALIGN_START);
  sender = gtk_label_new (sender_text);
  gtk_label_set_xalign (GTK_LABEL (sender), 0);
  gtk_label_set_ellipsize (GTK_LABEL (sender), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (sender, "heading");
  gtk_widget_set_hexpand (sender, TRUE);
  date = gtk_label_new (list_date);
  gtk_widget_set_tooltip_text (date, date_text);
  gtk_widget_add_css_class (date, "dim-label");
  gtk_widget_add_css_class (date, "caption");
  gtk_widget_add_css_class (date, "numeric");
  gtk_box_append (GTK_BOX (top), sender);
  gtk_box_append (GTK_BOX (top), date);

  self->preview_label = gtk_label_new (tern_message_get_preview (message));
  gtk_label_set_xalign (GTK_LABEL (self->preview_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (self->preview_label), PANGO_ELLIPSIZE_END);
  gtk_label_set_single_line_mode (GTK_LABEL (self->preview_label), TRUE);
  gtk_widget_add_css_class (self->preview_label, "dim-label");

  gtk_box_append (GTK_BOX (texts), top);
  gtk_box_append (GTK_BOX (texts), self->preview_label);
  gtk_widget_set_hexpand (texts, TRUE);
  gtk_box_append (GTK_BOX (header), avatar);
  gtk_box_append (GTK_BOX (header), texts);

  self->header_button = gtk_button_new ();
  gtk_button_set_child (GTK_BUTTON (self->header_button), header);
  gtk_widget_add_css_class (self->header_button, "flat");
  gtk_widget_add_css_class (self->header_button, "tern-message-header");
  header_label = g_strdup_printf (_("Message from %s, %s"), sender_text, date_text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->header_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, header_label, -1);
  g_signal_connect (self->header_button, "clicked", G_CALLBACK (header_clicked_cb), self);
  gtk_box_append (GTK_BOX (self->box), self->header_button);

  /* The details, shown when open. */
  self->details = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (self->details, "tern-message-details");
  {
    const char *address = tern_message_get_from_address (message);
    const char *name = tern_message_get_from_name (message);
    g_autofree char *from = NULL;

    if (name != NULL && *name != '\0' && address != NULL)
      from = g_strdup_printf ("%s <%s>", name, address);
    else
      from = g_strdup (address != NULL ? address : sender_text);

    gtk_box_append (GTK_BOX (self->details), header_line (_("From"), from));
  }
  if (tern_message_get_to (message) != NULL && *tern_message_get_to (message) != '\0')
    gtk_box_append (GTK_BOX (self->details), header_line (_("To"), tern_message_get_to (message)));
  if (tern_message_get_cc (message) != NULL && *tern_message_get_cc (message) != '\0')
    gtk_box_append (GTK_BOX (self->details), header_line (_("Cc"), tern_message_get_cc (message)));
  gtk_box_append (GTK_BOX (self->details), header_line (_("Date"), date_text));

  if (name_hides_address (message))
    {
      g_autofree char *text = g_strdup_printf (_("The sender’s name shows an address, but the "
                                                 "message comes from %s"),
                                               tern_message_get_from_address (message));

      warning = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      gtk_widget_add_css_class (warning, "warning");
      gtk_box_append (GTK_BOX (warning), gtk_image_new_from_icon_name ("dialog-warning-symbolic"));
      gtk_box_append (GTK_BOX (warning), gtk_label_new (text));
      gtk_label_set_wrap (GTK_LABEL (gtk_widget_get_last_child (warning)), TRUE);
      gtk_box_append (GTK_BOX (self->details), warning);
    }
  if (tern_message_get_flags (message) & TERN_MESSAGE_FLAG_DRAFT)
    {
      /* A draft is there to be written on: the window opens it in a
       * composer. */
      GtkWidget *draft = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *label = gtk_label_new (_("This message is a draft."));
      GtkWidget *edit = gtk_button_new_with_label (_("Edit Draft"));

      gtk_widget_add_css_class (draft, "tern-banner");
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_widget_set_hexpand (label, TRUE);
      gtk_widget_set_valign (edit, GTK_ALIGN_CENTER);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (edit), "win.edit-draft");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (edit), "x",
                                        tern_message_get_id (message));
      gtk_box_append (GTK_BOX (draft), label);
      gtk_box_append (GTK_BOX (draft), edit);
      gtk_box_append (GTK_BOX (self->details), draft);
    }
  gtk_box_append (GTK_BOX (self->box), self->details);

  /* The note on blocked remote content. */
  self->banner = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class (self->banner, "tern-banner");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->banner),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Remote Content"), -1);
  self->banner_label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (self->banner_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->banner_label), 0);
  gtk_widget_set_hexpand (self->banner_label, TRUE);
  gtk_box_append (GTK_BOX (self->banner), self->banner_label);
  banner_buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_valign (banner_buttons, GTK_ALIGN_CENTER);
  button = gtk_button_new_with_label (_("Show"));
  gtk_widget_set_tooltip_text (button, _("Load remote content for this message"));
  g_signal_connect (button, "clicked", G_CALLBACK (show_remote_clicked_cb), self);
  gtk_box_append (GTK_BOX (banner_buttons), button);
  button = gtk_button_new_with_label (_("Always From Sender"));
  gtk_widget_set_tooltip_text (button, _("Always load remote content from this sender"));
  g_signal_connect (button, "clicked", G_CALLBACK (always_remote_clicked_cb), self);
  gtk_box_append (GTK_BOX (banner_buttons), button);
  gtk_box_append (GTK_BOX (self->banner), banner_buttons);
  gtk_widget_set_visible (self->banner, FALSE);
  gtk_box_append (GTK_BOX (self->box), self->banner);

  /* The files come before the body, which may be as tall as the reader. */
  self->attachments_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (self->attachments_box, "tern-attachments");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->attachments_box),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Attachments"), -1);
  gtk_widget_set_visible (self->attachments_box, FALSE);
  gtk_box_append (GTK_BOX (self->box), self->attachments_box);

  self->body_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class (self->body_box, "tern-message-body");
  gtk_box_append (GTK_BOX (self->box), self->body_box);

  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, 0);
}

/**
 * tern_message_view_new:
 * @store: the store the message is in
 * @message: the message
 * @settings: (nullable): where the senders whose remote content is always
 *   shown are kept
 *
 * Returns: (transfer full): a view of @message, closed.
 */
GtkWidget *
tern_message_view_new (TernStore   *store,
                       TernMessage *message,
                       GSettings   *settings)
{
  TernMessageView *self = g_object_new (TERN_TYPE_MESSAGE_VIEW, NULL);

  self->store = g_object_ref (store);
  self->message = tern_message_ref (message);
  self->settings = settings != NULL ? g_object_ref (settings) : NULL;
  self->allow_remote = sender_always_allowed (self);
  build (self);
  tern_message_view_set_expanded (self, FALSE);

  return GTK_WIDGET (self);
}

TernMessage *
tern_message_view_get_message (TernMessageView *self)
{
  g_return_val_if_fail (TERN_IS_MESSAGE_VIEW (self), NULL);

  return self->message;
}

/**
 * tern_message_view_set_expanded:
 *
 * Opens the message (its details and body, read from the store the first
 * time) or closes it to its header.
 */
void
tern_message_view_set_expanded (TernMessageView *self,
                                gboolean         expanded)
{
  g_return_if_fail (TERN_IS_MESSAGE_VIEW (self));

  self->expanded = expanded;
  gtk_widget_set_visible (self->preview_label, !expanded);
  gtk_widget_set_visible (self->details, expanded);
  gtk_widget_set_visible (self->body_box, expanded);
  gtk_widget_set_visible (self->attachments_box,
                          expanded && gtk_widget_get_first_child (self->attachments_box) != NULL);
  gtk_widget_set_visible (self->banner, FALSE);
  if (expanded && self->display != NULL)
    update_banner (self);
  gtk_accessible_update_state (GTK_ACCESSIBLE (self->header_button),
                               GTK_ACCESSIBLE_STATE_EXPANDED, expanded, -1);

  if (expanded)
    load_body (self);
}

/**
 * tern_message_view_set_body_height:
 *
 * Sets how tall the body is, in pixels: the reader gives each open body
 * the height of its view, and the body scrolls within it.
 */
void
tern_message_view_set_body_height (TernMessageView *self,
                                   int              height)
{
  g_return_if_fail (TERN_IS_MESSAGE_VIEW (self));

  self->body_height = MAX (height, 300);
  if (self->web_view != NULL)
    gtk_widget_set_size_request (GTK_WIDGET (self->web_view), -1, self->body_height);
}

static void
tern_message_view_dispose (GObject *object)
{
  TernMessageView *self = TERN_MESSAGE_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  self->web_view = NULL;

  G_OBJECT_CLASS (tern_message_view_parent_class)->dispose (object);
}

static void
tern_message_view_finalize (GObject *object)
{
  TernMessageView *self = TERN_MESSAGE_VIEW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->message, tern_message_unref);
  g_clear_pointer (&self->display, tern_mime_display_unref);
  g_clear_pointer (&self->deceptive, g_hash_table_unref);
  g_clear_pointer (&self->link_targets, g_ptr_array_unref);

  G_OBJECT_CLASS (tern_message_view_parent_class)->finalize (object);
}

static void
tern_message_view_class_init (TernMessageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tern_message_view_dispose;
  object_class->finalize = tern_message_view_finalize;

  /**
   * TernMessageView::toast:
   * @text: a sentence for the user
   */
  signals[SIGNAL_TOAST] =
    g_signal_new ("toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tern-message-view");
}

static void
tern_message_view_init (TernMessageView *self)
{
  self->cancellable = g_cancellable_new ();
  self->body_height = 400;
}
