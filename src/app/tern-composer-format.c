/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tern-composer-private.h"

/*
 * The composer's basic rich text, in its GtkTextBuffer: bold and italic
 * are tags, a link is a tag of its own that holds its address, and an
 * inline image is a paintable that remembers its file.  A list item or a
 * quoted line starts with a mark ("• ", "1. ", "> ") the user sees; the
 * mark tells the line's kind, and goes out as HTML list or quote
 * structure, or as the plain text marks mail readers know.  In plain text
 * mode there are no tags, and the text goes out as written.
 */

#define LINK_KEY  "tern-link"
#define IMAGE_KEY "tern-image-path"
/* How wide an inline image shows while it is written; it goes out whole. */
#define IMAGE_SHOWN_WIDTH 480

static void
show_toast (TernComposer *self,
            const char   *text)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

static GtkTextBuffer *
buffer_of (TernComposer *self)
{
  return gtk_text_view_get_buffer (self->body_view);
}

static GtkTextTag *
tag (TernComposer *self,
     const char   *name)
{
  return gtk_text_tag_table_lookup (gtk_text_buffer_get_tag_table (buffer_of (self)), name);
}

/* Marks of lines */

static const char *
block_tag_name (TernRichBlock block)
{
  switch (block)
    {
    case TERN_RICH_BULLET:
      return "bullet";
    case TERN_RICH_NUMBERED:
      return "numbered";
    case TERN_RICH_QUOTE:
      return "quote";
    case TERN_RICH_PARAGRAPH:
    default:
      return NULL;
    }
}

/* The kind of the line @line_start starts, and where its text starts
 * after its mark. */
static TernRichBlock
line_block (TernComposer *self,
            GtkTextIter  *line_start,
            GtkTextIter  *text_start)
{
  GtkTextTag *mark = tag (self, "list-mark");
  TernRichBlock block = TERN_RICH_PARAGRAPH;

  *text_start = *line_start;
  if (!gtk_text_iter_has_tag (line_start, mark))
    return block;
  if (gtk_text_iter_has_tag (line_start, tag (self, "bullet")))
    block = TERN_RICH_BULLET;
  else if (gtk_text_iter_has_tag (line_start, tag (self, "numbered")))
    block = TERN_RICH_NUMBERED;
  else if (gtk_text_iter_has_tag (line_start, tag (self, "quote")))
    block = TERN_RICH_QUOTE;
  gtk_text_iter_forward_to_tag_toggle (text_start, mark);
  if (gtk_text_iter_get_line (text_start) != gtk_text_iter_get_line (line_start))
    {
      *text_start = *line_start;
      gtk_text_iter_forward_to_line_end (text_start);
    }
  return block;
}

static void
insert_mark (TernComposer  *self,
             GtkTextIter   *where,
             TernRichBlock  block,
             guint          number)
{
  g_autofree char *text = NULL;

  if (block == TERN_RICH_BULLET)
    text = g_strdup ("• ");
  else if (block == TERN_RICH_NUMBERED)
    text = g_strdup_printf ("%u. ", number);
  else
    text = g_strdup ("> ");
  self->formatting++;
  gtk_text_buffer_insert_with_tags (buffer_of (self), where, text, -1, tag (self, "list-mark"),
                                    tag (self, block_tag_name (block)), NULL);
  self->formatting--;
}

static void
remove_mark (TernComposer *self,
             GtkTextIter  *line_start)
{
  GtkTextIter text_start;

  if (line_block (self, line_start, &text_start) == TERN_RICH_PARAGRAPH)
    return;
  self->formatting++;
  gtk_text_buffer_delete (buffer_of (self), line_start, &text_start);
  self->formatting--;
}

/* Numbers each run of numbered lines from 1. */
static void
renumber (TernComposer *self)
{
  GtkTextBuffer *buffer = buffer_of (self);
  guint number = 0;

  for (int line = 0; line < gtk_text_buffer_get_line_count (buffer); line++)
    {
      GtkTextIter start, text_start;
      g_autofree char *want = NULL;
      g_autofree char *have = NULL;

      gtk_text_buffer_get_iter_at_line (buffer, &start, line);
      if (line_block (self, &start, &text_start) != TERN_RICH_NUMBERED)
        {
          number = 0;
          continue;
        }
      want = g_strdup_printf ("%u. ", ++number);
      have = gtk_text_buffer_get_text (buffer, &start, &text_start, FALSE);
      if (g_strcmp0 (want, have) == 0)
        continue;
      remove_mark (self, &start);
      gtk_text_buffer_get_iter_at_line (buffer, &start, line);
      insert_mark (self, &start, TERN_RICH_NUMBERED, number);
    }
}

/* Gives the lines of the selection (or the cursor's) the kind @block, or
 * takes it away when they all have it. */
static void
toggle_block (TernComposer  *self,
              TernRichBlock  block)
{
  GtkTextBuffer *buffer = buffer_of (self);
  GtkTextIter start, end;
  int first, last;
  gboolean all = TRUE;

  gtk_text_buffer_get_selection_bounds (buffer, &start, &end);
  first = gtk_text_iter_get_line (&start);
  last = gtk_text_iter_get_line (&end);
  for (int line = first; line <= last; line++)
    {
      GtkTextIter line_start, text_start;

      gtk_text_buffer_get_iter_at_line (buffer, &line_start, line);
      if (line_block (self, &line_start, &text_start) != block)
        all = FALSE;
    }

  gtk_text_buffer_begin_user_action (buffer);
  for (int line = first; line <= last; line++)
    {
      GtkTextIter line_start;

      gtk_text_buffer_get_iter_at_line (buffer, &line_start, line);
      remove_mark (self, &line_start);
      if (!all)
        {
          gtk_text_buffer_get_iter_at_line (buffer, &line_start, line);
          insert_mark (self, &line_start, block, 1);
        }
    }
  renumber (self);
  gtk_text_buffer_end_user_action (buffer);
}

/* Styles */

static guint
style_at (TernComposer      *self,
          const GtkTextIter *iter)
{
  GtkTextIter before = *iter;
  guint style = 0;

  if (!gtk_text_iter_backward_char (&before))
    return 0;
  if (gtk_text_iter_has_tag (&before, tag (self, "bold")))
    style |= TERN_RICH_BOLD;
  if (gtk_text_iter_has_tag (&before, tag (self, "italic")))
    style |= TERN_RICH_ITALIC;
  return style;
}

static void
sync_buttons (TernComposer *self)
{
  self->formatting++;
  gtk_toggle_button_set_active (self->bold_button, (self->typing_style & TERN_RICH_BOLD) != 0);
  gtk_toggle_button_set_active (self->italic_button,
                                (self->typing_style & TERN_RICH_ITALIC) != 0);
  self->formatting--;
}

static void
toggle_style (TernComposer *self,
              guint         style)
{
  GtkTextBuffer *buffer = buffer_of (self);
  GtkTextTag *style_tag = tag (self, style == TERN_RICH_BOLD ? "bold" : "italic");
  GtkTextIter start, end;

  if (!self->rich)
    return;
  if (!gtk_text_buffer_get_selection_bounds (buffer, &start, &end))
    {
      /* What is typed next takes the style. */
      self->typing_style ^= style;
      sync_buttons (self);
      return;
    }

  {
    GtkTextIter iter = start;
    gboolean all = TRUE;

    while (gtk_text_iter_compare (&iter, &end) < 0 && all)
      {
        all = gtk_text_iter_has_tag (&iter, style_tag);
        gtk_text_iter_forward_char (&iter);
      }
    if (all)
      gtk_text_buffer_remove_tag (buffer, style_tag, &start, &end);
    else
      gtk_text_buffer_apply_tag (buffer, style_tag, &start, &end);
    self->typing_style = all ? self->typing_style & ~style : self->typing_style | style;
  }
  sync_buttons (self);
}

static void
style_button_toggled_cb (GtkToggleButton *button,
                         TernComposer    *self)
{
  if (self->formatting > 0)
    return;
  toggle_style (self, button == self->bold_button ? TERN_RICH_BOLD : TERN_RICH_ITALIC);
  gtk_widget_grab_focus (GTK_WIDGET (self->body_view));
}

static void
format_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);

  if (!self->rich)
    return;
  if (g_str_equal (action_name, "format.bold"))
    toggle_style (self, TERN_RICH_BOLD);
  else if (g_str_equal (action_name, "format.italic"))
    toggle_style (self, TERN_RICH_ITALIC);
  else if (g_str_equal (action_name, "format.bullets"))
    toggle_block (self, TERN_RICH_BULLET);
  else if (g_str_equal (action_name, "format.numbers"))
    toggle_block (self, TERN_RICH_NUMBERED);
  else if (g_str_equal (action_name, "format.quote"))
    toggle_block (self, TERN_RICH_QUOTE);
  gtk_widget_grab_focus (GTK_WIDGET (self->body_view));
}

static void
mark_set_cb (GtkTextBuffer     *buffer,
             const GtkTextIter *location,
             GtkTextMark       *mark,
             TernComposer      *self)
{
  if (mark != gtk_text_buffer_get_insert (buffer) || self->formatting > 0)
    return;
  self->typing_style = style_at (self, location);
  sync_buttons (self);
}

/* Typed text takes the typing style; a new line in a list is a new item,
 * and a new line after an empty item ends the list. */
static void
insert_text_after_cb (GtkTextBuffer *buffer,
                      GtkTextIter   *location,
                      const char    *text,
                      int            length,
                      TernComposer  *self)
{
  GtkTextIter start = *location;
  GtkTextMark *end_mark;

  if (self->formatting > 0 || !self->rich)
    return;
  end_mark = gtk_text_buffer_create_mark (buffer, NULL, location, FALSE);
  gtk_text_iter_backward_chars (&start, g_utf8_strlen (text, length));

  self->formatting++;
  /* Text typed beside a mark, a link or a list kind is not part of it. */
  gtk_text_buffer_remove_all_tags (buffer, &start, location);
  if (self->typing_style & TERN_RICH_BOLD)
    gtk_text_buffer_apply_tag (buffer, tag (self, "bold"), &start, location);
  if (self->typing_style & TERN_RICH_ITALIC)
    gtk_text_buffer_apply_tag (buffer, tag (self, "italic"), &start, location);
  self->formatting--;

  if (length == 1 && text[0] == '\n')
    {
      GtkTextIter previous, text_start, line_end;
      int line = gtk_text_iter_get_line (location);
      TernRichBlock block;

      gtk_text_buffer_get_iter_at_line (buffer, &previous, line - 1);
      block = line_block (self, &previous, &text_start);
      line_end = text_start;
      if (!gtk_text_iter_ends_line (&line_end))
        gtk_text_iter_forward_to_line_end (&line_end);
      if (block == TERN_RICH_BULLET || block == TERN_RICH_NUMBERED)
        {
          if (gtk_text_iter_equal (&text_start, &line_end))
            {
              /* An empty item: the list ends here. */
              GtkTextIter here;

              remove_mark (self, &previous);
              gtk_text_buffer_get_iter_at_mark (buffer, &here, end_mark);
              start = here;
              gtk_text_iter_backward_char (&start);
              self->formatting++;
              gtk_text_buffer_delete (buffer, &start, &here);
              self->formatting--;
            }
          else
            {
              GtkTextIter here;

              gtk_text_buffer_get_iter_at_line (buffer, &here, line);
              insert_mark (self, &here, block, 1);
              renumber (self);
            }
        }
    }

  gtk_text_buffer_get_iter_at_mark (buffer, location, end_mark);
  gtk_text_buffer_delete_mark (buffer, end_mark);
}

/* Links */

static GtkTextTag *
link_tag_new (TernComposer *self,
              const char   *link)
{
  GtkTextTag *link_tag = gtk_text_tag_new (NULL);
  GdkRGBA blue;

  gdk_rgba_parse (&blue, "#1c71d8");
  g_object_set (link_tag, "underline", PANGO_UNDERLINE_SINGLE, "foreground-rgba", &blue, NULL);
  g_object_set_data_full (G_OBJECT (link_tag), LINK_KEY, g_strdup (link), g_free);
  gtk_text_tag_table_add (gtk_text_buffer_get_tag_table (buffer_of (self)), link_tag);
  g_object_unref (link_tag);
  return link_tag;
}

static const char *
link_at (const GtkTextIter *iter)
{
  g_autoptr(GSList) tags = gtk_text_iter_get_tags (iter);

  for (GSList *l = tags; l != NULL; l = l->next)
    {
      const char *link = g_object_get_data (l->data, LINK_KEY);

      if (link != NULL)
        return link;
    }
  return NULL;
}

static void
remove_links (GtkTextBuffer *buffer,
              GtkTextIter   *start,
              GtkTextIter   *end)
{
  GtkTextIter iter = *start;

  while (gtk_text_iter_compare (&iter, end) < 0)
    {
      g_autoptr(GSList) tags = gtk_text_iter_get_tags (&iter);

      for (GSList *l = tags; l != NULL; l = l->next)
        if (g_object_get_data (l->data, LINK_KEY) != NULL)
          gtk_text_buffer_remove_tag (buffer, l->data, start, end);
      gtk_text_iter_forward_char (&iter);
    }
}

/* What the user typed as an address: "example.org" means a web page, and
 * "ann@example.org" an address to write to. */
static char *
normalize_link (const char *typed)
{
  g_autofree char *link = g_strstrip (g_strdup (typed));

  if (*link == '\0')
    return NULL;
  if (!strchr (link, ':'))
    {
      char *full = strchr (link, '@') != NULL && strchr (link, '/') == NULL
                   ? g_strconcat ("mailto:", link, NULL)
                   : g_strconcat ("https://", link, NULL);

      g_free (link);
      link = full;
    }
  return tern_rich_link_is_allowed (link) ? g_steal_pointer (&link) : NULL;
}

typedef struct
{
  TernComposer *self;
  GtkWidget *address;
  GtkWidget *text;
  GtkTextMark *start;
  GtkTextMark *end;
} LinkDialog;

static void
link_dialog_free (LinkDialog *data)
{
  GtkTextBuffer *buffer = buffer_of (data->self);

  gtk_text_buffer_delete_mark (buffer, data->start);
  gtk_text_buffer_delete_mark (buffer, data->end);
  g_object_unref (data->self);
  g_free (data);
}

static void
link_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  LinkDialog       *data)
{
  TernComposer *self = data->self;
  GtkTextBuffer *buffer = buffer_of (self);
  GtkTextIter start, end;
  g_autofree char *link = NULL;

  gtk_text_buffer_get_iter_at_mark (buffer, &start, data->start);
  gtk_text_buffer_get_iter_at_mark (buffer, &end, data->end);

  if (g_str_equal (response, "remove"))
    {
      remove_links (buffer, &start, &end);
    }
  else if (g_str_equal (response, "add"))
    {
      link = normalize_link (gtk_editable_get_text (GTK_EDITABLE (data->address)));
      if (link == NULL)
        {
          show_toast (self, _("Links can go to web pages (http, https) and mail addresses "
                              "only"));
        }
      else
        {
          gtk_text_buffer_begin_user_action (buffer);
          if (gtk_text_iter_equal (&start, &end))
            {
              const char *text = gtk_editable_get_text (GTK_EDITABLE (data->text));

              if (*text == '\0')
                text = gtk_editable_get_text (GTK_EDITABLE (data->address));
              self->formatting++;
              gtk_text_buffer_insert (buffer, &start, text, -1);
              self->formatting--;
              gtk_text_buffer_get_iter_at_mark (buffer, &start, data->start);
              gtk_text_buffer_get_iter_at_mark (buffer, &end, data->end);
            }
          remove_links (buffer, &start, &end);
          gtk_text_buffer_apply_tag (buffer, link_tag_new (self, link), &start, &end);
          gtk_text_buffer_place_cursor (buffer, &end);
          gtk_text_buffer_end_user_action (buffer);
        }
    }
  gtk_widget_grab_focus (GTK_WIDGET (self->body_view));
}

static void
link_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);
  GtkTextBuffer *buffer = buffer_of (self);
  AdwMessageDialog *dialog;
  LinkDialog *data;
  GtkWidget *box;
  GtkTextIter start, end;
  gboolean selected;
  const char *current;

  if (!self->rich)
    return;
  selected = gtk_text_buffer_get_selection_bounds (buffer, &start, &end);
  current = link_at (&start);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self),
                                                       current != NULL ? _("Edit Link")
                                                                       : _("Add Link"),
                                                       NULL));
  data = g_new0 (LinkDialog, 1);
  data->self = g_object_ref (self);
  data->start = gtk_text_buffer_create_mark (buffer, NULL, &start, TRUE);
  data->end = gtk_text_buffer_create_mark (buffer, NULL, &end, FALSE);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  data->address = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (data->address), _("Address, such as example.org"));
  gtk_entry_set_input_purpose (GTK_ENTRY (data->address), GTK_INPUT_PURPOSE_URL);
  gtk_entry_set_activates_default (GTK_ENTRY (data->address), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (data->address), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Link Address"), -1);
  if (current != NULL)
    gtk_editable_set_text (GTK_EDITABLE (data->address), current);
  data->text = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (data->text), _("Text to show"));
  gtk_entry_set_activates_default (GTK_ENTRY (data->text), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (data->text), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Link Text"), -1);
  /* With text selected, the link goes on it. */
  gtk_widget_set_visible (data->text, !selected);
  gtk_box_append (GTK_BOX (box), data->address);
  gtk_box_append (GTK_BOX (box), data->text);
  adw_message_dialog_set_extra_child (dialog, box);

  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), NULL);
  if (current != NULL)
    {
      adw_message_dialog_add_responses (dialog, "remove", _("_Remove Link"), NULL);
      adw_message_dialog_set_response_appearance (dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
    }
  adw_message_dialog_add_responses (dialog, "add", current != NULL ? _("_Save") : _("_Add"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "add");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_data (dialog, "response", G_CALLBACK (link_response_cb), data,
                         (GClosureNotify) link_dialog_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (data->address);
}

/* Inline images */

static gboolean
insert_image (TernComposer  *self,
              const char    *path,
              GtkTextIter   *where,
              GError       **error)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int width = 0, height = 0;

  if (gdk_pixbuf_get_file_info (path, &width, &height) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("“%s” is not an image"), path);
      return FALSE;
    }
  pixbuf = gdk_pixbuf_new_from_file_at_scale (path, MIN (width, IMAGE_SHOWN_WIDTH), -1, TRUE,
                                              error);
  if (pixbuf == NULL)
    return FALSE;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  texture = gdk_texture_new_for_pixbuf (pixbuf);
  G_GNUC_END_IGNORE_DEPRECATIONS
  g_object_set_data_full (G_OBJECT (texture), IMAGE_KEY, g_strdup (path), g_free);
  self->formatting++;
  gtk_text_buffer_insert_paintable (buffer_of (self), where, GDK_PAINTABLE (texture));
  self->formatting--;
  return TRUE;
}

static void
image_chosen_cb (GtkNativeDialog *dialog,
                 int              response,
                 TernComposer    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;
      GtkTextBuffer *buffer = buffer_of (self);
      GtkTextIter cursor;

      gtk_text_buffer_get_iter_at_mark (buffer, &cursor, gtk_text_buffer_get_insert (buffer));
      if (path == NULL || !insert_image (self, path, &cursor, &error))
        {
          g_autofree char *text = g_strdup_printf (_("Could not insert the image: %s"),
                                                   error != NULL ? error->message
                                                                 : _("it is not a local file"));

          show_toast (self, text);
        }
    }
  g_object_unref (dialog);
}

static void
image_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  TernComposer *self = TERN_COMPOSER (widget);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  if (!self->rich)
    return;
  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);
  chooser = gtk_file_chooser_native_new (_("Insert Image"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Insert"),
                                         _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (image_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* From the buffer to rich text, and back */

/**
 * tern_composer_get_rich_text:
 *
 * Returns: (transfer full): the text as rich text, inline images named
 *   by their files.
 */
TernRichText *
tern_composer_get_rich_text (TernComposer *self)
{
  GtkTextBuffer *buffer = buffer_of (self);
  TernRichText *text = tern_rich_text_new ();
  GtkTextTag *bold = tag (self, "bold");
  GtkTextTag *italic = tag (self, "italic");

  for (int line = 0; line < gtk_text_buffer_get_line_count (buffer); line++)
    {
      GtkTextIter start, iter, end;
      g_autoptr(GString) run = g_string_new (NULL);
      guint run_style = 0;
      const char *run_link = NULL;

      gtk_text_buffer_get_iter_at_line (buffer, &start, line);
      tern_rich_text_add_line (text, line_block (self, &start, &iter));
      end = start;
      if (!gtk_text_iter_ends_line (&end))
        gtk_text_iter_forward_to_line_end (&end);

      for (; gtk_text_iter_compare (&iter, &end) < 0; gtk_text_iter_forward_char (&iter))
        {
          gunichar c = gtk_text_iter_get_char (&iter);
          GdkPaintable *paintable = gtk_text_iter_get_paintable (&iter);
          guint style = (gtk_text_iter_has_tag (&iter, bold) ? TERN_RICH_BOLD : 0) |
                        (gtk_text_iter_has_tag (&iter, italic) ? TERN_RICH_ITALIC : 0);
          const char *link = link_at (&iter);

          if (run->len > 0 && (style != run_style || g_strcmp0 (link, run_link) != 0 ||
                               paintable != NULL))
            {
              tern_rich_text_add_run (text, run->str, run_style, run_link);
              g_string_truncate (run, 0);
            }
          if (paintable != NULL)
            {
              const char *path = g_object_get_data (G_OBJECT (paintable), IMAGE_KEY);
              g_autofree char *name = path != NULL ? g_path_get_basename (path) : NULL;

              if (path != NULL)
                tern_rich_text_add_image (text, path, name);
              continue;
            }
          if (c == 0xfffc)
            continue;
          run_style = style;
          run_link = link;
          g_string_append_unichar (run, c);
        }
      if (run->len > 0)
        tern_rich_text_add_run (text, run->str, run_style, run_link);
    }
  return text;
}

/**
 * tern_composer_set_rich_text:
 * @text: rich text, images named by their files
 *
 * Puts @text in place of the composer's (signature included) and turns
 * rich text on.
 */
void
tern_composer_set_rich_text (TernComposer *self,
                             TernRichText *text)
{
  GtkTextBuffer *buffer = buffer_of (self);
  GtkTextIter end;
  guint number = 0;

  tern_composer_set_rich (self, TRUE);
  g_clear_pointer (&self->signature, g_free);
  gtk_text_buffer_set_text (buffer, "", -1);
  self->formatting++;
  for (guint i = 0; i < text->lines->len; i++)
    {
      TernRichLine *line = g_ptr_array_index (text->lines, i);

      gtk_text_buffer_get_end_iter (buffer, &end);
      if (i > 0)
        gtk_text_buffer_insert (buffer, &end, "\n", 1);
      number = line->block == TERN_RICH_NUMBERED ? number + 1 : 0;
      if (line->block != TERN_RICH_PARAGRAPH)
        insert_mark (self, &end, line->block, number);
      for (guint j = 0; j < line->runs->len; j++)
        {
          TernRichRun *run = g_ptr_array_index (line->runs, j);
          GtkTextIter start;
          GtkTextMark *mark;

          gtk_text_buffer_get_end_iter (buffer, &end);
          if (run->image != NULL)
            {
              if (!insert_image (self, run->image, &end, NULL))
                gtk_text_buffer_insert (buffer, &end, run->text, -1);
              continue;
            }
          mark = gtk_text_buffer_create_mark (buffer, NULL, &end, TRUE);
          gtk_text_buffer_insert (buffer, &end, run->text, -1);
          gtk_text_buffer_get_iter_at_mark (buffer, &start, mark);
          gtk_text_buffer_delete_mark (buffer, mark);
          if (run->style & TERN_RICH_BOLD)
            gtk_text_buffer_apply_tag (buffer, tag (self, "bold"), &start, &end);
          if (run->style & TERN_RICH_ITALIC)
            gtk_text_buffer_apply_tag (buffer, tag (self, "italic"), &start, &end);
          if (run->link != NULL)
            gtk_text_buffer_apply_tag (buffer, link_tag_new (self, run->link), &start, &end);
        }
    }
  self->formatting--;
  gtk_text_buffer_get_start_iter (buffer, &end);
  gtk_text_buffer_place_cursor (buffer, &end);
}

/**
 * tern_composer_mark_quotes:
 *
 * In rich text, shows the lines of a quoted message (those starting with
 * ">") as a quote.
 */
void
tern_composer_mark_quotes (TernComposer *self)
{
  GtkTextBuffer *buffer = buffer_of (self);

  if (!self->rich)
    return;
  for (int line = 0; line < gtk_text_buffer_get_line_count (buffer); line++)
    {
      GtkTextIter start, end;

      gtk_text_buffer_get_iter_at_line (buffer, &start, line);
      if (gtk_text_iter_get_char (&start) != '>' ||
          line_block (self, &start, &end) != TERN_RICH_PARAGRAPH)
        continue;
      end = start;
      gtk_text_iter_forward_char (&end);
      if (gtk_text_iter_get_char (&end) == ' ')
        gtk_text_iter_forward_char (&end);
      self->formatting++;
      gtk_text_buffer_delete (buffer, &start, &end);
      self->formatting--;
      gtk_text_buffer_get_iter_at_line (buffer, &start, line);
      insert_mark (self, &start, TERN_RICH_QUOTE, 0);
    }
}

/**
 * tern_composer_set_rich:
 *
 * Turns rich text on or off.  Turning it off keeps the text, its list and
 * quote marks made plain, and drops the rest of the formatting.
 */
void
tern_composer_set_rich (TernComposer *self,
                        gboolean      rich)
{
  rich = !!rich;
  if (self->rich == rich)
    return;
  if (!rich)
    {
      g_autoptr(TernRichText) text = tern_composer_get_rich_text (self);
      g_autofree char *plain = tern_rich_text_to_plain (text);
      g_autofree char *signature = g_steal_pointer (&self->signature);
      GtkTextBuffer *buffer = buffer_of (self);
      GtkTextIter start;

      if (g_str_has_suffix (plain, "\n"))
        plain[strlen (plain) - 1] = '\0';
      self->formatting++;
      gtk_text_buffer_set_text (buffer, plain, -1);
      self->formatting--;
      /* The signature is the same text as before. */
      if (signature != NULL && g_str_has_suffix (plain, signature))
        self->signature = g_steal_pointer (&signature);
      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_place_cursor (buffer, &start);
    }
  self->rich = rich;
  self->typing_style = 0;
  sync_buttons (self);
  gtk_widget_set_sensitive (self->format_bar, rich);
  self->formatting++;
  gtk_toggle_button_set_active (self->plain_button, !rich);
  self->formatting--;
}

static void
plain_toggled_cb (GtkToggleButton *button,
                  TernComposer    *self)
{
  if (self->formatting > 0)
    return;
  /* The user's choice stands, whatever identity the message goes from. */
  self->format_chosen = TRUE;
  tern_composer_set_rich (self, !gtk_toggle_button_get_active (button));
  gtk_widget_grab_focus (GTK_WIDGET (self->body_view));
}

void
tern_composer_format_class_init (GtkWidgetClass *widget_class)
{
  static const char * const names[] = {
    "format.bold", "format.italic", "format.bullets", "format.numbers", "format.quote",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    gtk_widget_class_install_action (widget_class, names[i], NULL, format_action);
  gtk_widget_class_install_action (widget_class, "format.link", NULL, link_action);
  gtk_widget_class_install_action (widget_class, "format.image", NULL, image_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_b, GDK_CONTROL_MASK,
                                       "format.bold", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK,
                                       "format.italic", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, GDK_CONTROL_MASK,
                                       "format.link", NULL);

  gtk_widget_class_bind_template_child (widget_class, TernComposer, format_bar);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, bold_button);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, italic_button);
  gtk_widget_class_bind_template_child (widget_class, TernComposer, plain_button);
  gtk_widget_class_bind_template_callback (widget_class, style_button_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, plain_toggled_cb);
}

void
tern_composer_format_init (TernComposer *self)
{
  GtkTextBuffer *buffer = buffer_of (self);
  GdkRGBA dim;

  gdk_rgba_parse (&dim, "#77767b");
  gtk_text_buffer_create_tag (buffer, "bold", "weight", PANGO_WEIGHT_BOLD, NULL);
  gtk_text_buffer_create_tag (buffer, "italic", "style", PANGO_STYLE_ITALIC, NULL);
  gtk_text_buffer_create_tag (buffer, "list-mark", "foreground-rgba", &dim, NULL);
  /* The view takes a line's margins from the tags of its first character,
   * its mark: list items and quotes stand in from the text, wrapped lines
   * too. */
  gtk_text_buffer_create_tag (buffer, "bullet", "left-margin", 28, NULL);
  gtk_text_buffer_create_tag (buffer, "numbered", "left-margin", 28, NULL);
  gtk_text_buffer_create_tag (buffer, "quote", "left-margin", 24, NULL);
  g_signal_connect_after (buffer, "insert-text", G_CALLBACK (insert_text_after_cb), self);
  g_signal_connect (buffer, "mark-set", G_CALLBACK (mark_set_cb), self);
  self->rich = TRUE;
}
