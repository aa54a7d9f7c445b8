/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>

#include "tern-composer-private.h"
#include "tern-message-flags.h"
#include "tern-mime-message.h"
#include "tern-smtp-client.h"
#include "tern-store-drafts.h"
#include "tern-store-outbox.h"
#include "tern-store-sync.h"
#include "tern-mail-service.h"

/*
 * The composer: a window of its own for one message.  It offers every
 * identity of every enabled account in its From list, completes addresses
 * from those the store has collected, attaches files chosen or dropped,
 * puts the identity's signature under the text, keeps a draft in the
 * account's Drafts folder a few seconds after each change and when it
 * closes, and sends through the outbox (see tern-composer-send.c).  Filling
 * it from a message or a mailto: link is in tern-composer-fill.c.
 */

/* Seconds after the last change before the draft is saved. */
#define DRAFT_DELAY_SECONDS 3
/* Addresses offered while typing one. */
#define COMPLETION_LIMIT 8

G_DEFINE_FINAL_TYPE (TernComposer, tern_composer, ADW_TYPE_WINDOW)

static void schedule_draft (TernComposer *self);
static void save_draft (TernComposer *self);

static TernWindow *
get_main_window (TernComposer *self)
{
  return g_weak_ref_get (&self->main_window);
}

static TernStore *
get_store (TernComposer *self)
{
  g_autoptr(TernWindow) window = get_main_window (self);

  return window != NULL ? tern_window_get_store (window) : NULL;
}

static void
show_toast (TernComposer *self,
            const char   *text)
{
  AdwToast *toast = adw_toast_new (text);

  adw_toast_set_timeout (toast, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static char *
get_body (TernComposer *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static const char *
entry_text (GtkWidget *entry)
{
  return gtk_editable_get_text (GTK_EDITABLE (entry));
}

static IdentityChoice *
selected_choice (TernComposer *self)
{
  guint position = gtk_drop_down_get_selected (self->from_dropdown);

  if (self->choices->len == 0 || position >= self->choices->len)
    return NULL;
  return &g_array_index (self->choices, IdentityChoice, position);
}

/* Signatures */

static char *
signature_block (TernIdentity *identity)
{
  const char *signature = identity != NULL ? tern_identity_get_signature (identity) : NULL;

  if (signature == NULL || *signature == '\0')
    return NULL;
  /* "-- " on a line of its own is where mail programs know a signature
   * starts (RFC 3676, 4.3). */
  return g_strdup_printf ("\n\n-- \n%s", signature);
}

/* Puts the chosen identity's signature at the end of the text, in place of
 * the previous one when the text still ends with it. */
static void
update_signature (TernComposer *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  IdentityChoice *choice = selected_choice (self);
  g_autofree char *block = signature_block (choice != NULL ? choice->identity : NULL);
  g_autofree char *text = get_body (self);
  GtkTextIter end;

  if (g_strcmp0 (block, self->signature) == 0)
    return;

  if (self->signature != NULL && g_str_has_suffix (text, self->signature))
    {
      GtkTextIter start;
      glong chars = g_utf8_strlen (self->signature, -1);

      gtk_text_buffer_get_end_iter (buffer, &end);
      start = end;
      gtk_text_iter_backward_chars (&start, chars);
      gtk_text_buffer_delete (buffer, &start, &end);
    }
  if (block != NULL)
    {
      gtk_text_buffer_get_end_iter (buffer, &end);
      gtk_text_buffer_insert (buffer, &end, block, -1);
    }
  g_free (self->signature);
  self->signature = g_steal_pointer (&block);

  /* The cursor stays above the signature, where the writing goes. */
  {
    GtkTextIter start;

    gtk_text_buffer_get_start_iter (buffer, &start);
    gtk_text_buffer_place_cursor (buffer, &start);
  }
}

/* Identities */

static void
remember_untouched_body (TernComposer *self)
{
  g_free (self->untouched_body);
  self->untouched_body = get_body (self);
}

static gboolean
body_untouched (TernComposer *self)
{
  g_autofree char *text = get_body (self);

  return g_strcmp0 (text, self->untouched_body) == 0;
}

/* Starts the text in the chosen identity's format (ComposeFormat in its
 * account file), unless the user chose one. */
static void
apply_identity_format (TernComposer *self)
{
  IdentityChoice *choice = selected_choice (self);

  if (choice == NULL || self->format_chosen)
    return;
  tern_composer_set_rich (self, tern_identity_get_compose_format (choice->identity) !=
                                TERN_COMPOSE_FORMAT_PLAIN);
}

static void
load_identities (TernComposer *self)
{
  g_autoptr(TernWindow) window = get_main_window (self);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  GtkApplication *application = window != NULL ? gtk_window_get_application (GTK_WINDOW (window))
                                               : NULL;
  TernPaths *paths;

  if (application == NULL)
    return;
  paths = tern_application_get_paths (TERN_APPLICATION (application));
  self->accounts = tern_account_manager_new (tern_paths_get_config_dir (paths));
  problems = tern_account_manager_load (self->accounts, &error);
  if (problems == NULL)
    g_warning ("Could not read the accounts: %s", error->message);
  for (guint i = 0; problems != NULL && i < problems->len; i++)
    g_warning ("%s", ((GError *) problems->pdata[i])->message);

  /* The account manager lists its accounts in the user's order. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->accounts)); i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (G_LIST_MODEL (self->accounts), i);
      GListModel *identities;

      if (!tern_account_get_enabled (account))
        continue;
      identities = tern_account_get_identities (account);
      for (guint k = 0; k < g_list_model_get_n_items (identities); k++)
        {
          g_autoptr(TernIdentity) identity = g_list_model_get_item (identities, k);
          IdentityChoice choice = { g_object_ref (account), g_object_ref (identity) };
          const char *name = tern_identity_get_name (identity);
          g_autofree char *label = NULL;

          if (name != NULL && *name != '\0')
            label = g_strdup_printf ("%s <%s>", name, tern_identity_get_address (identity));
          else
            label = g_strdup (tern_identity_get_address (identity));
          g_array_append_val (self->choices, choice);
          gtk_string_list_append (names, label);
        }
    }

  gtk_drop_down_set_model (self->from_dropdown, G_LIST_MODEL (names));
  /* Without an account there is nobody to send as: no empty list. */
  gtk_widget_set_visible (GTK_WIDGET (self->from_dropdown), self->choices->len > 0);
  gtk_widget_set_visible (self->from_label, self->choices->len > 0);
  gtk_revealer_set_reveal_child (self->no_account_revealer, self->choices->len == 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.send", self->choices->len > 0);
  if (self->choices->len == 0)
    gtk_widget_set_tooltip_text (self->send_button,
                                 _("Set up an account to send mail"));
}

/**
 * tern_composer_select_identity:
 * @account_id: the account
 * @address: (nullable): one of its addresses, or %NULL for its default
 *
 * Returns: whether the identity is offered and now chosen.
 */
gboolean
tern_composer_select_identity (TernComposer *self,
                               const char   *account_id,
                               const char   *address)
{
  g_return_val_if_fail (TERN_IS_COMPOSER (self), FALSE);

  for (guint i = 0; i < self->choices->len; i++)
    {
      IdentityChoice *choice = &g_array_index (self->choices, IdentityChoice, i);

      if (g_strcmp0 (tern_account_get_id (choice->account), account_id) != 0)
        continue;
      if (address == NULL ? choice->identity == tern_account_get_default_identity (choice->account)
                          : g_ascii_strcasecmp (tern_identity_get_address (choice->identity),
                                                address) == 0)
        {
          gtk_drop_down_set_selected (self->from_dropdown, i);
          update_signature (self);
          return TRUE;
        }
    }
  return FALSE;
}

/* Address completion */

static GtkListStore *
completion_store (GtkWidget *entry)
{
  GtkEntryCompletion *completion = gtk_entry_get_completion (GTK_ENTRY (entry));

  return GTK_LIST_STORE (gtk_entry_completion_get_model (completion));
}

/* The address being typed: the text after the last comma. */
static const char *
last_address (const char *text)
{
  const char *comma = strrchr (text, ',');
  const char *start = comma != NULL ? comma + 1 : text;

  while (*start == ' ')
    start++;
  return start;
}

typedef struct
{
  TernComposer *self;
  GtkWidget *entry;
} CompletionData;

static void
completed_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  CompletionData *data = user_data;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GError) error = NULL;

  found = tern_store_complete_address_finish (TERN_STORE (source), result, &error);
  if (found != NULL && !g_cancellable_is_cancelled (data->self->cancellable))
    {
      GtkListStore *store = completion_store (data->entry);

      gtk_list_store_clear (store);
      for (guint i = 0; i < found->len; i++)
        gtk_list_store_insert_with_values (store, NULL, -1, 0, found->pdata[i], -1);
      gtk_entry_completion_complete (gtk_entry_get_completion (GTK_ENTRY (data->entry)));
    }
  g_object_unref (data->self);
  g_free (data);
}

static void
entry_changed_cb (GtkEditable  *editable,
                  TernComposer *self)
{
  const char *typed = last_address (gtk_editable_get_text (editable));
  TernStore *store = get_store (self);

  schedule_draft (self);
  if (store == NULL || g_utf8_strlen (typed, -1) < 2 || strchr (typed, '>') != NULL)
    {
      gtk_list_store_clear (completion_store (GTK_WIDGET (editable)));
      return;
    }
  {
    CompletionData *data = g_new0 (CompletionData, 1);

    data->self = g_object_ref (self);
    data->entry = GTK_WIDGET (editable);
    tern_store_complete_address_async (store, typed, COMPLETION_LIMIT, self->cancellable,
                                       completed_cb, data);
  }
}

/* Every address the store offers matches: it filtered them already. */
static gboolean
completion_match (GtkEntryCompletion *completion,
                  const char         *key,
                  GtkTreeIter        *iter,
                  gpointer            user_data)
{
  return TRUE;
}

static gboolean
match_selected_cb (GtkEntryCompletion *completion,
                   GtkTreeModel       *model,
                   GtkTreeIter        *iter,
                   GtkWidget          *entry)
{
  g_autofree char *address = NULL;
  const char *text = entry_text (entry);
  const char *typed = last_address (text);
  g_autofree char *kept = g_strndup (text, typed - text);
  g_autofree char *replaced = NULL;

  gtk_tree_model_get (model, iter, 0, &address, -1);
  replaced = g_strconcat (kept, address, ", ", NULL);
  gtk_editable_set_text (GTK_EDITABLE (entry), replaced);
  gtk_editable_set_position (GTK_EDITABLE (entry), -1);
  return TRUE;
}

static void
set_up_completion (TernComposer *self,
                   GtkWidget    *entry)
{
  g_autoptr(GtkEntryCompletion) completion = gtk_entry_completion_new ();
  g_autoptr(GtkListStore) store = gtk_list_store_new (1, G_TYPE_STRING);

  gtk_entry_completion_set_model (completion, GTK_TREE_MODEL (store));
  gtk_entry_completion_set_text_column (completion, 0);
  gtk_entry_completion_set_match_func (completion, completion_match, NULL, NULL);
  gtk_entry_completion_set_minimum_key_length (completion, 2);
  gtk_entry_completion_set_popup_single_match (completion, TRUE);
  g_signal_connect (completion, "match-selected", G_CALLBACK (match_selected_cb), entry);
  gtk_entry_set_completion (GTK_ENTRY (entry), completion);
  g_signal_connect (entry, "changed", G_CALLBACK (entry_changed_cb), self);
}

/* Attachments */

static void
remove_attachment_cb (GtkButton    *button,
                      TernComposer *self)
{
  GtkWidget *row = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_LIST_BOX_ROW);
  const char *path = g_object_get_data (G_OBJECT (row), "path");

  g_ptr_array_remove (self->attachments, (gpointer) path);
  gtk_list_box_remove (self->attachments_list, row);
  gtk_revealer_set_reveal_child (self->attachments_revealer, self->attachments->len > 0);
  schedule_draft (self);
}

static gboolean
attach_file (TernComposer *self,
             GFile        *file)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *size_text = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *remove_label = NULL;
  GtkWidget *row, *box, *icon, *labels, *name, *size, *remove;
  GStatBuf st;

  if (path == NULL || g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_autofree char *text = g_strdup_printf (_("“%s” is not a file that can be attached"), uri);

      show_toast (self, text);
      return FALSE;
    }
  for (guint i = 0; i < self->attachments->len; i++)
    if (g_str_equal (self->attachments->pdata[i], path))
      return TRUE;

  basename = g_path_get_basename (path);
  size_text = g_format_size (st.st_size);
  row = gtk_list_box_row_new ();
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  icon = gtk_image_new_from_icon_name ("mail-attachment-symbolic");
  labels = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_hexpand (labels, TRUE);
  name = gtk_label_new (basename);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  size = gtk_label_new (size_text);
  gtk_widget_add_css_class (size, "dim-label");
  remove = gtk_button_new_from_icon_name ("list-remove-symbolic");
  gtk_widget_add_css_class (remove, "flat");
  remove_label = g_strdup_printf (_("Remove “%s”"), basename);
  gtk_widget_set_tooltip_text (remove, remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  remove_label, -1);
  g_signal_connect (remove, "clicked", G_CALLBACK (remove_attachment_cb), self);
  gtk_box_append (GTK_BOX (labels), name);
  gtk_box_append (GTK_BOX (labels), size);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), labels);
  gtk_box_append (GTK_BOX (box), remove);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, basename,
                                  -1);

  g_ptr_array_add (self->attachments, g_strdup (path));
  g_object_set_data (G_OBJECT (row), "path", self->attachments->pdata[self->attachments->len - 1]);
  gtk_list_box_append (self->attachments_list, row);
  gtk_revealer_set_reveal_child (self->attachments_revealer, TRUE);
  schedule_draft (self);
  return TRUE;
}

static void
files_chosen_cb (GtkNativeDialog *dialog,
                 int              response,
                 TernComposer    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr(GFile) file = g_list_model_get_item (files, i);

          attach_file (self, file);
        }
      gtk_revealer_set_reveal_child (self->link_note_revealer, FALSE);
    }
  g_object_unref (dialog);
}

static void
attach_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Attach Files"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Attach"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (files_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         TernComposer  *self)
{
  GSList *files;
  gboolean any = FALSE;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = gdk_file_list_get_files (g_value_get_boxed (value));
  for (GSList *l = files; l != NULL; l = l->next)
    any |= attach_file (self, l->data);
  g_slist_free (files);
  return any;
}

/* Building the message */

/* Adds the addresses of a field; an empty field, or one that ends in a
 * comma, adds nothing for its empty part. */
static gboolean
add_field (TernMimeComposer   *composer,
           TernRecipientKind   kind,
           GtkWidget          *entry,
           GError            **error)
{
  g_autofree char *text = g_strstrip (g_strdup (entry_text (entry)));

  while (g_str_has_suffix (text, ","))
    {
      text[strlen (text) - 1] = '\0';
      g_strstrip (text);
    }
  if (*text == '\0')
    return TRUE;
  return tern_mime_composer_add_recipients (composer, kind, text, error);
}

static TernMimeComposer *
build (TernComposer  *self,
       gboolean       draft,
       GError       **error)
{
  g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
  IdentityChoice *choice = selected_choice (self);
  g_autofree char *text = get_body (self);

  tern_mime_composer_set_draft (composer, draft);
  if (choice != NULL)
    {
      if (!tern_mime_composer_set_from (composer, tern_identity_get_name (choice->identity),
                                        tern_identity_get_address (choice->identity), error))
        return NULL;
      if (tern_identity_get_reply_to (choice->identity) != NULL)
        tern_mime_composer_set_reply_to (composer, tern_identity_get_reply_to (choice->identity));
    }
  if (!add_field (composer, TERN_RECIPIENT_TO, self->to_entry, error) ||
      !add_field (composer, TERN_RECIPIENT_CC, self->cc_entry, error) ||
      !add_field (composer, TERN_RECIPIENT_BCC, self->bcc_entry, error))
    return NULL;
  tern_mime_composer_set_subject (composer, entry_text (self->subject_entry));
  if (self->rich)
    {
      g_autoptr(TernRichText) rich = tern_composer_get_rich_text (self);

      g_free (text);
      text = tern_rich_text_to_plain (rich);
      /* Text without formatting goes out as plain text alone. */
      if (!tern_rich_text_is_plain (rich))
        {
          g_autofree char *html = NULL;

          for (guint i = 0; i < rich->lines->len; i++)
            {
              TernRichLine *line = g_ptr_array_index (rich->lines, i);

              for (guint j = 0; j < line->runs->len; j++)
                {
                  TernRichRun *run = g_ptr_array_index (line->runs, j);
                  char *cid;

                  if (run->image == NULL)
                    continue;
                  cid = tern_mime_composer_add_inline_image (composer, run->image, NULL, error);
                  if (cid == NULL)
                    return NULL;
                  g_free (run->image);
                  run->image = cid;
                }
            }
          html = tern_rich_text_to_html (rich);
          tern_mime_composer_set_html (composer, html);
        }
    }
  if (!g_str_has_suffix (text, "\n"))
    {
      char *ended = g_strconcat (text, "\n", NULL);

      g_free (text);
      text = ended;
    }
  tern_mime_composer_set_text (composer, text);
  for (guint i = 0; i < self->attachments->len; i++)
    if (!tern_mime_composer_add_attachment (composer, self->attachments->pdata[i], NULL, error))
      return NULL;
  if (self->forwarded != NULL)
    tern_mime_composer_add_forwarded (composer, self->forwarded);
  if (self->in_reply_to != NULL)
    tern_mime_composer_set_reply (composer, self->in_reply_to, self->references);
  return g_steal_pointer (&composer);
}

/* Writes the message through a file, so that attachments are read a piece
 * at a time; runs in a worker thread. */
static void
write_message_thread (GTask        *task,
                      gpointer      source_object,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  TernMimeComposer *composer = task_data;
  const char *cache_dir = g_object_get_data (G_OBJECT (task), "cache-dir");
  g_autofree char *path = g_build_filename (cache_dir, "outgoing-XXXXXX.eml", NULL);
  g_autoptr(GMappedFile) mapped = NULL;
  GError *error = NULL;
  int fd;

  fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errno),
                               _("Could not create “%s”"), path);
      return;
    }
  g_close (fd, NULL);
  if (!tern_mime_composer_write_to_file (composer, path, &error))
    {
      g_unlink (path);
      g_task_return_error (task, error);
      return;
    }
  mapped = g_mapped_file_new (path, FALSE, &error);
  g_unlink (path);
  if (mapped == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_mapped_file_get_bytes (mapped), (GDestroyNotify) g_bytes_unref);
}

static void
write_message_async (TernComposer        *self,
                     TernMimeComposer    *composer,
                     GAsyncReadyCallback  callback)
{
  g_autoptr(TernWindow) window = get_main_window (self);
  GtkApplication *application = window != NULL ? gtk_window_get_application (GTK_WINDOW (window))
                                               : NULL;
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, callback, NULL);
  TernPaths *paths = application != NULL ? tern_application_get_paths (TERN_APPLICATION (
                                                                           application))
                                         : NULL;

  g_task_set_source_tag (task, write_message_async);
  g_task_set_task_data (task, g_object_ref (composer), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "cache-dir",
                          g_strdup (paths != NULL ? tern_paths_get_cache_dir (paths)
                                                  : g_get_tmp_dir ()),
                          g_free);
  g_task_run_in_thread (task, write_message_thread);
}

/* Drafts */

/* Has the account's next pass, which replays what was queued for its
 * server, come in a moment. */
static void
sync_soon (TernWindow *window,
           TernStore  *store,
           const char *account)
{
  GtkApplication *application = window != NULL ? gtk_window_get_application (GTK_WINDOW (window))
                                               : NULL;

  if (application != NULL && account != NULL)
    tern_mail_service_sync_soon (tern_application_ensure_mail_service (
                                   TERN_APPLICATION (application), store),
                                 account);
}

typedef struct
{
  GWeakRef window;
  char *account;
} DeleteData;

static void
delete_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  DeleteData *data = user_data;
  g_autoptr(TernWindow) window = g_weak_ref_get (&data->window);
  g_autoptr(GError) error = NULL;
  guint queued;

  queued = tern_store_queue_action_finish (TERN_STORE (source), result, &error);
  if (error != NULL && !g_error_matches (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND))
    g_warning ("Could not delete the previous draft: %s", error->message);
  if (queued > 0)
    sync_soon (window, TERN_STORE (source), data->account);
  g_weak_ref_clear (&data->window);
  g_free (data->account);
  g_free (data);
}

/* Deletes the composer's last draft here and, through the action queue,
 * from the server once it is there. */
static void
delete_draft (TernComposer *self,
              TernStore    *store,
              gint64        draft_id)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(TernWindow) window = get_main_window (self);
  DeleteData *data;

  if (store == NULL || draft_id <= 0)
    return;
  g_array_append_val (ids, draft_id);
  data = g_new0 (DeleteData, 1);
  g_weak_ref_init (&data->window, window);
  data->account = g_strdup (self->draft_account);
  tern_store_queue_action_async (store, TERN_ACTION_DELETE, ids, 0, 0, 0, NULL, delete_done_cb,
                                 data);
}

static const char *
draft_account (TernComposer *self)
{
  IdentityChoice *choice = selected_choice (self);

  return choice != NULL ? tern_account_get_id (choice->account) : TERN_LOCAL_ACCOUNT;
}

typedef struct
{
  TernWindow *window;
  char *account;
} UploadData;

static void
upload_queued_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  UploadData *data = user_data;
  g_autoptr(GError) error = NULL;

  if (tern_store_queue_upload_finish (TERN_STORE (source), result, &error))
    sync_soon (data->window, TERN_STORE (source), data->account);
  else if (error != NULL)
    g_warning ("The draft stays on this computer: %s", error->message);
  g_object_unref (data->window);
  g_free (data->account);
  g_free (data);
}

static void
draft_saved_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(TernComposer) self = user_data;
  g_autoptr(TernWindow) window = get_main_window (self);
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  gint64 new_id;

  self->saving = FALSE;
  ids = tern_store_add_messages_finish (TERN_STORE (source), result, &error);
  if (ids == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not save the draft: %s"), error->message);

      g_warning ("%s", text);
      if (!self->closing)
        show_toast (self, text);
      return;
    }
  new_id = ids->len > 0 ? g_array_index (ids, gint64, 0) : 0;
  /* The new draft is written before the previous one goes: a crash
   * between the two leaves two drafts, never none. */
  delete_draft (self, TERN_STORE (source), self->draft_id);
  self->draft_id = new_id;
  /* A draft in a folder of the server's goes there too, for the user's
   * other devices. */
  if (new_id > 0 && window != NULL)
    {
      UploadData *upload = g_new0 (UploadData, 1);

      upload->window = g_object_ref (window);
      upload->account = g_strdup (self->draft_account);
      tern_store_queue_upload_async (TERN_STORE (source), new_id, TERN_STORE_DRAFT_FLAGS, NULL,
                                     upload_queued_cb, upload);
    }
  /* The draft saved on closing arrives when the window is gone. */
  if (self->closing)
    return;
  adw_window_title_set_subtitle (self->window_title, _("Draft saved"));
  if (self->changed)
    schedule_draft (self);
}

typedef struct
{
  TernComposer *self;
  GBytes *raw;
} DraftData;

static void
drafts_folder_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DraftData *data = user_data;
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (
    (GDestroyNotify) tern_new_message_free);

  folder = tern_store_find_role_folder_finish (TERN_STORE (source), result, &error);
  if (folder == NULL)
    {
      data->self->saving = FALSE;
      g_warning ("Could not find the Drafts folder: %s", error->message);
    }
  else
    {
      g_ptr_array_add (messages, tern_new_message_new (data->raw, TERN_MESSAGE_FLAG_SEEN |
                                                       TERN_MESSAGE_FLAG_DRAFT, 0));
      tern_store_add_messages_async (TERN_STORE (source), tern_folder_get_id (folder), messages,
                                     TERN_STORE_DURABILITY_NORMAL, NULL, draft_saved_cb,
                                     g_object_ref (data->self));
    }
  g_object_unref (data->self);
  g_bytes_unref (data->raw);
  g_free (data);
}

static void
save_draft (TernComposer *self)
{
  g_autoptr(TernMimeComposer) composer = NULL;
  g_autoptr(GError) error = NULL;
  TernStore *store = get_store (self);
  DraftData *data;
  GBytes *raw;

  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  if (store == NULL || !self->changed || self->sending)
    return;
  if (self->saving)
    {
      schedule_draft (self);
      return;
    }

  composer = build (self, TRUE, &error);
  raw = composer != NULL ? tern_mime_composer_to_bytes (composer, &error) : NULL;
  if (raw == NULL)
    {
      /* A half-typed address cannot be parsed yet; the next change tries
       * again. */
      g_debug ("The draft is not saved yet: %s", error->message);
      return;
    }
  self->changed = FALSE;
  self->saving = TRUE;
  data = g_new0 (DraftData, 1);
  data->self = g_object_ref (self);
  data->raw = raw;
  g_free (self->draft_account);
  self->draft_account = g_strdup (draft_account (self));
  /* The account's own Drafts folder, whatever the server calls it. */
  tern_store_find_role_folder_async (store, draft_account (self), TERN_FOLDER_ROLE_DRAFTS,
                                     TERN_STORE_DRAFTS_PATH, NULL, drafts_folder_cb, data);
}

static gboolean
draft_timeout_cb (gpointer user_data)
{
  TernComposer *self = user_data;

  self->draft_timeout = 0;
  save_draft (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_draft (TernComposer *self)
{
  if (self->sending || self->closing)
    return;
  self->changed = TRUE;
  adw_window_title_set_subtitle (self->window_title, NULL);
  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  self->draft_timeout = g_timeout_add_seconds (DRAFT_DELAY_SECONDS, draft_timeout_cb, self);
}

static void
changed_cb (TernComposer *self)
{
  schedule_draft (self);
}

static void
from_changed_cb (GtkDropDown  *dropdown,
                 GParamSpec   *pspec,
                 TernComposer *self)
{
  gboolean untouched = body_untouched (self);

  update_signature (self);
  /* What the user wrote keeps its format; a text not begun yet takes the
   * new identity's. */
  if (untouched)
    {
      apply_identity_format (self);
      remember_untouched_body (self);
    }
  schedule_draft (self);
}

static gboolean
destroy_cb (gpointer user_data)
{
  gtk_window_destroy (GTK_WINDOW (user_data));
  return G_SOURCE_REMOVE;
}

static void
discard_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     TernComposer     *self)
{
  if (!g_str_equal (response, "discard"))
    return;
  self->closing = TRUE;
  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  delete_draft (self, get_store (self), self->draft_id);
  self->draft_id = 0;
  self->changed = FALSE;
  /* Not while the dialog, which is transient for the composer, is still
   * handling its response: it closes first. */
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, destroy_cb, g_object_ref (self), g_object_unref);
}

static void
discard_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);
  AdwMessageDialog *dialog;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Discard Draft?"),
                                                       _("The message will be lost.")));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "discard", _("_Discard"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (discard_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Sending */

static void
set_busy (TernComposer *self,
          gboolean      busy)
{
  self->sending = busy;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "composer.send", !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->from_dropdown), !busy);
}

typedef struct
{
  TernComposer *self;
  char *account;
  guint delay;
} QueueData;

static void
queued_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  QueueData *data = user_data;
  TernComposer *self = data->self;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GError) error = NULL;

  item = tern_store_outbox_add_finish (TERN_STORE (source), result, &error);
  if (item == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not send the message: %s"),
                                               error->message);

      set_busy (self, FALSE);
      show_toast (self, text);
    }
  else
    {
      g_autoptr(TernWindow) window = get_main_window (self);

      delete_draft (self, TERN_STORE (source), self->draft_id);
      self->draft_id = 0;
      self->changed = FALSE;
      self->closing = TRUE;
      if (window != NULL)
        tern_composer_queued (window, data->account, item->id, item->message_id,
                              entry_text (self->bcc_entry), data->delay);
      gtk_window_destroy (GTK_WINDOW (self));
    }
  g_object_unref (data->self);
  g_free (data->account);
  g_free (data);
}

static void
written_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  TernComposer *self = TERN_COMPOSER (source);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  TernMimeComposer *composer = g_task_get_task_data (G_TASK (result));
  IdentityChoice *choice = selected_choice (self);
  TernStore *store = get_store (self);
  g_auto(GStrv) recipients = NULL;
  g_autoptr(TernWindow) window = NULL;
  GSettings *settings;
  QueueData *data;
  guint delay = TERN_COMPOSER_DEFAULT_SEND_DELAY;

  raw = g_task_propagate_pointer (G_TASK (result), &error);
  if (raw == NULL || store == NULL || choice == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not send the message: %s"),
                                               error != NULL ? error->message
                                                             : _("the mail store is not open"));

      set_busy (self, FALSE);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_toast (self, text);
      return;
    }

  window = get_main_window (self);
  settings = window != NULL && gtk_window_get_application (GTK_WINDOW (window)) != NULL
             ? tern_application_get_settings (TERN_APPLICATION (gtk_window_get_application (
                                                                  GTK_WINDOW (window))))
             : NULL;
  if (settings != NULL)
    delay = g_settings_get_uint (settings, "send-delay");

  recipients = tern_mime_composer_get_recipients (composer);
  data = g_new0 (QueueData, 1);
  data->self = g_object_ref (self);
  data->account = g_strdup (tern_account_get_id (choice->account));
  data->delay = delay;
  /* A delivery receipt: a report for each way the message can end, with
   * the message's header only, not its whole text. */
  tern_store_outbox_add_full_async (store, data->account, tern_mime_composer_get_sender (composer),
                                    (const char * const *) recipients, raw,
                                    g_get_real_time () / G_USEC_PER_SEC + delay,
                                    self->delivery_receipt
                                    ? (TERN_SMTP_DSN_NOTIFY_SUCCESS | TERN_SMTP_DSN_NOTIFY_DELAY
                                       | TERN_SMTP_DSN_NOTIFY_FAILURE) : 0,
                                    self->delivery_receipt ? TERN_SMTP_DSN_RET_HDRS
                                                           : TERN_SMTP_DSN_RET_DEFAULT,
                                    NULL, queued_cb, data);
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);
  g_autoptr(TernMimeComposer) composer = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;

  if (self->sending || selected_choice (self) == NULL)
    return;
  composer = build (self, FALSE, &error);
  if (composer != NULL)
    {
      recipients = tern_mime_composer_get_recipients (composer);
      if (recipients[0] == NULL)
        {
          show_toast (self, _("Add at least one recipient"));
          gtk_widget_grab_focus (self->to_entry);
          return;
        }
    }
  if (composer == NULL)
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, TERN_MIME_COMPOSER_ERROR,
                           TERN_MIME_COMPOSER_ERROR_INVALID_ADDRESS))
        text = g_strdup_printf (_("Check the addresses: %s"), error->message);
      else
        text = g_strdup_printf (_("Could not send the message: %s"), error->message);
      show_toast (self, text);
      return;
    }
  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  set_busy (self, TRUE);
  write_message_async (self, composer, written_cb);
}

static void
dismiss_link_note_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);

  gtk_revealer_set_reveal_child (self->link_note_revealer, FALSE);
}

/* Filling it in */

void
tern_composer_add_recipients (TernComposer      *self,
                              TernRecipientKind  kind,
                              const char        *list)
{
  GtkWidget *entry;
  g_autofree char *joined = NULL;
  const char *current;

  g_return_if_fail (TERN_IS_COMPOSER (self));

  if (list == NULL || *list == '\0')
    return;
  entry = kind == TERN_RECIPIENT_TO ? self->to_entry
          : kind == TERN_RECIPIENT_CC ? self->cc_entry : self->bcc_entry;
  current = entry_text (entry);
  if (*current != '\0')
    joined = g_strconcat (current, g_str_has_suffix (current, ", ") ? "" : ", ", list, NULL);
  else
    joined = g_strdup (list);
  gtk_editable_set_text (GTK_EDITABLE (entry), joined);
  if (kind == TERN_RECIPIENT_CC)
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->cc_button), TRUE);
  else if (kind == TERN_RECIPIENT_BCC)
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->bcc_button), TRUE);
}

/* The subject names the window, for the window list and screen readers. */
static void
show_title (TernComposer *self,
            const char   *subject)
{
  const char *title = subject != NULL && *subject != '\0' ? subject : _("New Message");

  adw_window_title_set_title (self->window_title, title);
  gtk_window_set_title (GTK_WINDOW (self), title);
}

void
tern_composer_set_subject (TernComposer *self,
                           const char   *subject)
{
  g_return_if_fail (TERN_IS_COMPOSER (self));

  gtk_editable_set_text (GTK_EDITABLE (self->subject_entry), subject != NULL ? subject : "");
  show_title (self, subject);
}

/**
 * tern_composer_set_body:
 * @text: the text, written above the signature
 */
void
tern_composer_set_body (TernComposer *self,
                        const char   *text)
{
  GtkTextBuffer *buffer;
  GtkTextIter start;

  g_return_if_fail (TERN_IS_COMPOSER (self));

  buffer = gtk_text_view_get_buffer (self->body_view);
  g_free (self->signature);
  self->signature = NULL;
  gtk_text_buffer_set_text (buffer, text != NULL ? text : "", -1);
  tern_composer_mark_quotes (self);
  update_signature (self);
  gtk_text_buffer_get_start_iter (buffer, &start);
  gtk_text_buffer_place_cursor (buffer, &start);
  remember_untouched_body (self);
}

static void
subject_changed_cb (GtkEditable  *editable,
                    TernComposer *self)
{
  const char *subject = gtk_editable_get_text (editable);

  show_title (self, subject);
  schedule_draft (self);
}

/* The window */

static gboolean
tern_composer_close_request (GtkWindow *window)
{
  TernComposer *self = TERN_COMPOSER (window);

  /* The message is being put in the outbox: the window closes by itself
   * in a moment. */
  if (self->sending && !self->closing)
    return TRUE;
  /* Closing keeps what was written: the draft is saved on the way out. */
  if (!self->closing)
    {
      save_draft (self);
      self->closing = TRUE;
    }
  return GTK_WINDOW_CLASS (tern_composer_parent_class)->close_request (window);
}

static void
tern_composer_dispose (GObject *object)
{
  TernComposer *self = TERN_COMPOSER (object);

  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  g_cancellable_cancel (self->cancellable);

  G_OBJECT_CLASS (tern_composer_parent_class)->dispose (object);
}

/* Removes a folder this composer made, with what is in it. */
static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
          !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

enum {
  PROP_0,
  PROP_DELIVERY_RECEIPT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tern_composer_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TernComposer *self = TERN_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_DELIVERY_RECEIPT:
      g_value_set_boolean (value, self->delivery_receipt);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_composer_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TernComposer *self = TERN_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_DELIVERY_RECEIPT:
      if (self->delivery_receipt != g_value_get_boolean (value))
        {
          self->delivery_receipt = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_composer_finalize (GObject *object)
{
  TernComposer *self = TERN_COMPOSER (object);

  /* Every message and draft was written whole before the window went. */
  if (self->files_dir != NULL)
    remove_tree (self->files_dir);
  g_free (self->files_dir);
  g_free (self->untouched_body);

  for (guint i = 0; i < self->choices->len; i++)
    {
      IdentityChoice *choice = &g_array_index (self->choices, IdentityChoice, i);

      g_object_unref (choice->account);
      g_object_unref (choice->identity);
    }
  g_array_unref (self->choices);
  g_ptr_array_unref (self->attachments);
  g_clear_object (&self->accounts);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->forwarded, g_bytes_unref);
  g_free (self->signature);
  g_free (self->draft_account);
  g_free (self->in_reply_to);
  g_free (self->references);
  g_weak_ref_clear (&self->main_window);

  G_OBJECT_CLASS (tern_composer_parent_class)->finalize (object);
}

static void
tern_composer_class_init (TernComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tern_composer_dispose;
  object_class->finalize = tern_composer_finalize;
  object_class->get_property = tern_composer_get_property;
  object_class->set_property = tern_composer_set_property;
  window_class->close_request = tern_composer_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/tern-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, TernComposer, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, window_title);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, send_button);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, no_account_revealer);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, link_note_revealer);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, link_note_label);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, from_label);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, from_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, to_entry);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, cc_button);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, bcc_button);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, cc_entry);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, bcc_entry);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, subject_entry);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, body_view);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, attachments_revealer);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, attachments_list);

  tern_composer_format_class_init (widget_class);

  gtk_widget_class_install_action (widget_class, "composer.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "composer.attach", NULL, attach_action);
  gtk_widget_class_install_action (widget_class, "composer.discard", NULL, discard_action);

  /**
   * TernComposer:delivery-receipt:
   *
   * Whether sending asks for delivery status notifications (RFC 3461).
   */
  properties[PROP_DELIVERY_RECEIPT] =
    g_param_spec_boolean ("delivery-receipt", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_install_property_action (widget_class, "composer.delivery-receipt",
                                            "delivery-receipt");
  gtk_widget_class_install_action (widget_class, "composer.dismiss-link-note", NULL,
                                   dismiss_link_note_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK,
                                       "window.close", NULL);
}

static void
tern_composer_init (TernComposer *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));
  tern_composer_format_init (self);
  self->choices = g_array_new (FALSE, FALSE, sizeof (IdentityChoice));
  self->attachments = g_ptr_array_new_with_free_func (g_free);
  self->cancellable = g_cancellable_new ();

  if (g_str_equal (PROFILE, "development"))
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");

  set_up_completion (self, self->to_entry);
  set_up_completion (self, self->cc_entry);
  set_up_completion (self, self->bcc_entry);
  g_signal_connect (self->subject_entry, "changed", G_CALLBACK (subject_changed_cb), self);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->body_view), "changed",
                            G_CALLBACK (changed_cb), self);

  /* Ctrl+Enter sends from anywhere, the text included, which would
   * otherwise take the key for a new line: the shortcut comes first. */
  {
    GtkEventController *shortcuts = gtk_shortcut_controller_new ();

    gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
    gtk_shortcut_controller_add_shortcut (
      GTK_SHORTCUT_CONTROLLER (shortcuts),
      gtk_shortcut_new (gtk_alternative_trigger_new (
                          gtk_keyval_trigger_new (GDK_KEY_Return, GDK_CONTROL_MASK),
                          gtk_keyval_trigger_new (GDK_KEY_KP_Enter, GDK_CONTROL_MASK)),
                        gtk_named_action_new ("composer.send")));
    gtk_widget_add_controller (GTK_WIDGET (self), shortcuts);
  }

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

/**
 * tern_composer_new:
 * @main_window: the main window, whose store the composer uses and where
 *   the toast of a sent message shows
 *
 * Returns: (transfer none): a new composer, with the default identity of
 *   the first account chosen, not yet shown.
 */
TernComposer *
tern_composer_new (TernWindow *main_window)
{
  TernComposer *self;

  g_return_val_if_fail (TERN_IS_WINDOW (main_window), NULL);

  self = g_object_new (TERN_TYPE_COMPOSER,
                       "application", gtk_window_get_application (GTK_WINDOW (main_window)),
                       /* GTK 4.8 gives a subclass of AdwWindow no window
                        * role of its own: without it, screen readers would
                        * not know the composer for a window. */
                       "accessible-role", GTK_ACCESSIBLE_ROLE_WINDOW,
                       NULL);
  g_weak_ref_init (&self->main_window, main_window);
  load_identities (self);
  if (self->choices->len > 0)
    {
      IdentityChoice *first = &g_array_index (self->choices, IdentityChoice, 0);

      tern_composer_select_identity (self, tern_account_get_id (first->account), NULL);
      apply_identity_format (self);
    }
  remember_untouched_body (self);
  g_signal_connect (self->from_dropdown, "notify::selected", G_CALLBACK (from_changed_cb), self);
  gtk_window_set_focus (GTK_WINDOW (self), self->to_entry);
  /* Filling it in is not a change of the user's. */
  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  self->changed = FALSE;
  return self;
}

/* Forgets that filling the composer in changed it: what the program wrote
 * is no draft of the user's. */
void
tern_composer_mark_unchanged (TernComposer *self)
{
  g_clear_handle_id (&self->draft_timeout, g_source_remove);
  self->changed = FALSE;
  remember_untouched_body (self);
}

/* Opening a saved draft */

/* Puts the text of a saved draft in place; when it ends with the chosen
 * identity's signature, that is the signature a change of identity
 * replaces. */
static void
restore_body (TernComposer *self,
              const char   *text,
              TernRichText *rich)
{
  IdentityChoice *choice = selected_choice (self);
  g_autofree char *block = signature_block (choice != NULL ? choice->identity : NULL);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  g_autofree char *body = NULL;
  GtkTextIter start;

  if (rich != NULL)
    {
      tern_composer_set_rich_text (self, rich);
    }
  else
    {
      g_autofree char *plain = g_strdup (text != NULL ? text : "");

      /* The text went out with a line end added. */
      if (g_str_has_suffix (plain, "\n"))
        plain[strlen (plain) - 1] = '\0';
      gtk_text_buffer_set_text (buffer, plain, -1);
      tern_composer_mark_quotes (self);
    }
  body = get_body (self);
  g_free (self->signature);
  self->signature = block != NULL && g_str_has_suffix (body, block) ? g_steal_pointer (&block)
                                                                    : NULL;
  gtk_text_buffer_get_start_iter (buffer, &start);
  gtk_text_buffer_place_cursor (buffer, &start);
}

static char *
address_list (GPtrArray *addresses)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      TernAddress *address = addresses->pdata[i];

      if (address->address == NULL || *address->address == '\0')
        continue;
      if (list->len > 0)
        g_string_append (list, ", ");
      if (address->name != NULL && *address->name != '\0')
        {
          g_string_append_c (list, '"');
          for (const char *p = address->name; *p != '\0'; p++)
            {
              if (*p == '"' || *p == '\\')
                g_string_append_c (list, '\\');
              g_string_append_c (list, *p);
            }
          g_string_append_printf (list, "\" <%s>", address->address);
        }
      else
        g_string_append (list, address->address);
    }
  return g_string_free (g_steal_pointer (&list), FALSE);
}

typedef struct
{
  GWeakRef window;
  gint64 message_id;
  char *account;
  /* The Bcc of a message taken back from the outbox, which went there
   * without it: as the composer had it, or else the envelope's recipients,
   * of which those not in To or Cc were the Bcc. */
  char *bcc;
  GStrv envelope;
} DraftOpen;

static void
draft_open_free (DraftOpen *data)
{
  g_weak_ref_clear (&data->window);
  g_free (data->account);
  g_free (data->bcc);
  g_strfreev (data->envelope);
  g_free (data);
}

static gboolean
has_address (GPtrArray  *addresses,
             const char *address)
{
  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      const char *known = ((TernAddress *) addresses->pdata[i])->address;

      if (known != NULL && g_ascii_strcasecmp (known, address) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The envelope's recipients that the message's To and Cc do not name:
 * its Bcc, which the copy sent does not carry. */
static char *
bcc_of_envelope (TernMimeMessage    *parsed,
                 const char * const *envelope)
{
  g_autoptr(GString) bcc = g_string_new (NULL);

  for (guint i = 0; envelope != NULL && envelope[i] != NULL; i++)
    {
      if (has_address (tern_mime_message_get_to (parsed), envelope[i]) ||
          has_address (tern_mime_message_get_cc (parsed), envelope[i]))
        continue;
      if (bcc->len > 0)
        g_string_append (bcc, ", ");
      g_string_append (bcc, envelope[i]);
    }
  return bcc->len > 0 ? g_string_free (g_steal_pointer (&bcc), FALSE) : NULL;
}

static void
draft_raw_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  DraftOpen *data = user_data;
  g_autoptr(TernWindow) window = g_weak_ref_get (&data->window);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernMimeMessage) parsed = NULL;
  g_autoptr(TernRichText) rich = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = NULL;
  g_autofree char *to = NULL;
  g_autofree char *cc = NULL;
  g_autofree char *bcc = NULL;
  GtkApplication *application;
  GPtrArray *from;
  TernComposer *self;

  raw = tern_store_get_raw_finish (TERN_STORE (source), result, &error);
  if (window == NULL)
    {
      draft_open_free (data);
      return;
    }
  if (raw == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not open the draft: %s"),
                                               error->message);

      tern_window_show_toast (window, text);
      draft_open_free (data);
      return;
    }

  /* The draft's images and attachments become files again, for the
   * composer to send or save with the next draft. */
  application = gtk_window_get_application (GTK_WINDOW (window));
  dir = g_build_filename (application != NULL
                          ? tern_paths_get_cache_dir (tern_application_get_paths (
                                                        TERN_APPLICATION (application)))
                          : g_get_tmp_dir (), "drafts-XXXXXX", NULL);
  if (g_mkdir_with_parents (tern_paths_get_cache_dir (tern_application_get_paths (
                                                        TERN_APPLICATION (application))),
                            0700) != 0 || g_mkdtemp (dir) == NULL)
    {
      tern_window_show_toast (window, _("Could not open the draft: no room for its files"));
      draft_open_free (data);
      return;
    }
  rich = tern_rich_text_read_message (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw), dir,
                                      files, &error);
  if (rich == NULL && !g_error_matches (error, TERN_RICH_ERROR, TERN_RICH_ERROR_NOT_RICH_TEXT))
    {
      g_autofree char *text = g_strdup_printf (_("Could not open the draft: %s"),
                                               error->message);

      tern_window_show_toast (window, text);
      draft_open_free (data);
      return;
    }

  parsed = tern_mime_message_parse (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  self = tern_composer_new (window);
  from = tern_mime_message_get_from (parsed);
  if (from != NULL && from->len > 0)
    tern_composer_select_identity (self, data->account,
                                   ((TernAddress *) from->pdata[0])->address);
  to = address_list (tern_mime_message_get_to (parsed));
  cc = address_list (tern_mime_message_get_cc (parsed));
  /* A draft keeps its Bcc in a header of its own (see
   * tern_mime_composer_set_draft()). */
  bcc = address_list (tern_mime_message_get_bcc (parsed));
  if ((bcc == NULL || *bcc == '\0') && data->bcc == NULL && data->envelope != NULL)
    data->bcc = bcc_of_envelope (parsed, (const char * const *) data->envelope);
  tern_composer_add_recipients (self, TERN_RECIPIENT_TO, to);
  tern_composer_add_recipients (self, TERN_RECIPIENT_CC, cc);
  tern_composer_add_recipients (self, TERN_RECIPIENT_BCC, bcc);
  if ((bcc == NULL || *bcc == '\0') && data->bcc != NULL)
    tern_composer_add_recipients (self, TERN_RECIPIENT_BCC, data->bcc);
  tern_composer_set_subject (self, tern_mime_message_get_subject (parsed));
  restore_body (self, tern_mime_message_get_body_text (parsed), rich);
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (files->pdata[i]);

      attach_file (self, file);
    }
  if (tern_mime_message_get_in_reply_to (parsed) != NULL)
    {
      const char * const *references = tern_mime_message_get_references (parsed);

      self->in_reply_to = g_strdup (tern_mime_message_get_in_reply_to (parsed));
      self->references = references != NULL ? g_strjoinv (" ", (char **) references) : NULL;
    }
  self->files_dir = g_steal_pointer (&dir);
  /* The next save replaces this copy, and sending deletes it. */
  self->draft_id = data->message_id;
  self->draft_account = g_strdup (data->account);
  tern_composer_mark_unchanged (self);
  /* The copy in Drafts lacks the Bcc given back: it is saved again. */
  if ((bcc == NULL || *bcc == '\0') && data->bcc != NULL && *data->bcc != '\0')
    schedule_draft (self);
  gtk_window_present (GTK_WINDOW (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->body_view));
  draft_open_free (data);
}

/**
 * tern_composer_open_draft:
 * @message: a draft
 * @account_id: the account whose Drafts folder holds it
 *
 * Opens @message in a new composer to be written on: its recipients,
 * subject, text (rich when Tern wrote it so), inline images and
 * attachments.  Saving replaces it; sending deletes it.
 */
static void
open_draft (TernWindow         *main_window,
            gint64              message_id,
            const char         *account_id,
            const char         *bcc,
            const char * const *envelope)
{
  TernStore *store = tern_window_get_store (main_window);
  DraftOpen *data;

  if (store == NULL)
    return;
  data = g_new0 (DraftOpen, 1);
  g_weak_ref_init (&data->window, main_window);
  data->message_id = message_id;
  data->account = g_strdup (account_id);
  data->bcc = g_strdup (bcc);
  data->envelope = g_strdupv ((char **) envelope);
  tern_store_get_raw_async (store, data->message_id, NULL, draft_raw_cb, data);
}

void
tern_composer_open_draft (TernWindow  *main_window,
                          TernMessage *message,
                          const char  *account_id)
{
  g_return_if_fail (TERN_IS_WINDOW (main_window));
  g_return_if_fail (message != NULL);

  open_draft (main_window, tern_message_get_id (message), account_id, NULL, NULL);
}

/**
 * tern_composer_reopen_unsent:
 * @message_id: a message taken back from the outbox into Drafts
 * @bcc: (nullable): its Bcc, as the composer had it
 *
 * Opens the message again in a composer, as it was when it was sent:
 * the outbox keeps no Bcc in the message itself, so the Bcc comes back
 * from @bcc, and the draft is saved again with it.
 */
void
tern_composer_reopen_unsent (TernWindow *main_window,
                             gint64      message_id,
                             const char *account_id,
                             const char *bcc)
{
  g_return_if_fail (TERN_IS_WINDOW (main_window));

  open_draft (main_window, message_id, account_id, bcc, NULL);
}

/**
 * tern_composer_reopen_failed:
 * @message_id: a message the outbox gave up on, taken back into Drafts
 * @envelope: the addresses it was to be sent to
 *
 * Opens the message again in a composer, to be corrected and sent again.
 * Its Bcc, which the message itself does not carry, comes back from
 * @envelope: the addresses that its To and Cc do not name.
 */
void
tern_composer_reopen_failed (TernWindow         *main_window,
                             gint64              message_id,
                             const char         *account_id,
                             const char * const *envelope)
{
  g_return_if_fail (TERN_IS_WINDOW (main_window));

  open_draft (main_window, message_id, account_id, NULL, envelope);
}
