/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tern-composer-private.h"
#include "tern-mime-message.h"

/*
 * Filling a composer in: from a mailto: link, and from a message it
 * replies to (from the address that message was sent to) or forwards.
 */

/* The most bytes of a mailto: link read, and of its body. */
#define MAILTO_MAX_BYTES (64 * 1024)

/**
 * tern_composer_load_mailto:
 * @uri: a mailto: link (RFC 6068)
 *
 * Fills the recipients, subject and text from @uri.  Files the link asks
 * to attach are never attached: the composer names them and offers the
 * file chooser, so that nothing leaves the computer unseen.
 *
 * Returns: %FALSE with @error set when @uri is not a mailto: link or is
 *   too long.
 */
gboolean
tern_composer_load_mailto (TernComposer  *self,
                           const char    *uri,
                           GError       **error)
{
  g_autoptr(GPtrArray) asked = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *to = NULL;
  g_auto(GStrv) fields = NULL;
  const char *rest;
  const char *query;

  g_return_val_if_fail (TERN_IS_COMPOSER (self), FALSE);

  if (g_ascii_strncasecmp (uri, "mailto:", 7) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("“%s” is not a mail link"),
                   uri);
      return FALSE;
    }
  if (strlen (uri) > MAILTO_MAX_BYTES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The mail link is too long to open"));
      return FALSE;
    }

  rest = uri + 7;
  query = strchr (rest, '?');
  to = g_uri_unescape_segment (rest, query, NULL);
  if (to != NULL)
    tern_composer_add_recipients (self, TERN_RECIPIENT_TO, to);

  fields = query != NULL ? g_strsplit (query + 1, "&", 64) : NULL;
  for (guint i = 0; fields != NULL && fields[i] != NULL; i++)
    {
      const char *equals = strchr (fields[i], '=');
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;

      if (equals == NULL)
        continue;
      name = g_ascii_strdown (fields[i], equals - fields[i]);
      value = g_uri_unescape_string (equals + 1, NULL);
      /* Characters that are not text (such as an escaped NUL) make the
       * field unusable; it is skipped rather than cut. */
      if (value == NULL || !g_utf8_validate (value, -1, NULL))
        continue;

      if (g_str_equal (name, "to"))
        tern_composer_add_recipients (self, TERN_RECIPIENT_TO, value);
      else if (g_str_equal (name, "cc"))
        tern_composer_add_recipients (self, TERN_RECIPIENT_CC, value);
      else if (g_str_equal (name, "bcc"))
        tern_composer_add_recipients (self, TERN_RECIPIENT_BCC, value);
      else if (g_str_equal (name, "subject"))
        tern_composer_set_subject (self, value);
      else if (g_str_equal (name, "body"))
        tern_composer_set_body (self, value);
      else if (g_str_equal (name, "attach") || g_str_equal (name, "attachment"))
        g_ptr_array_add (asked, g_steal_pointer (&value));
    }

  if (asked->len > 0)
    {
      g_autofree char *names = NULL;
      g_autofree char *text = NULL;

      g_ptr_array_add (asked, NULL);
      names = g_strjoinv (", ", (char **) asked->pdata);
      text = g_strdup_printf (g_dngettext (NULL,
                                           "The link asked to attach %s. Nothing was attached: "
                                           "choose the file yourself if you want to send it.",
                                           "The link asked to attach %s. Nothing was attached: "
                                           "choose the files yourself if you want to send them.",
                                           asked->len - 1),
                              names);
      gtk_label_set_text (self->link_note_label, text);
      gtk_revealer_set_reveal_child (self->link_note_revealer, TRUE);
    }
  return TRUE;
}

/* Replies and forwards */

typedef struct
{
  GWeakRef window;
  TernMessage *message;
  char *received_by;
  TernComposeMode mode;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_weak_ref_clear (&data->window);
  tern_message_unref (data->message);
  g_free (data->received_by);
  g_free (data);
}

static gboolean
is_own_address (TernComposer *self,
                const char   *address)
{
  for (guint i = 0; i < self->choices->len; i++)
    {
      IdentityChoice *choice = &g_array_index (self->choices, IdentityChoice, i);

      if (g_ascii_strcasecmp (tern_identity_get_address (choice->identity), address) == 0)
        return TRUE;
    }
  return FALSE;
}

/* "Name" <address>, quoted so that a comma in a name cannot split it. */
static char *
format_address (const char *name,
                const char *address)
{
  GString *text = g_string_new (NULL);

  if (name != NULL && *name != '\0' && strpbrk (name, "()<>[]:;@\\,.\"") == NULL)
    g_string_append_printf (text, "%s <%s>", name, address);
  else if (name != NULL && *name != '\0')
    {
      g_string_append_c (text, '"');
      for (const char *p = name; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (text, '\\');
          g_string_append_c (text, *p);
        }
      g_string_append (text, "\" <");
      g_string_append (text, address);
      g_string_append_c (text, '>');
    }
  else
    g_string_append (text, address);
  return g_string_free (text, FALSE);
}

static void
append_addresses (TernComposer *self,
                  GString      *list,
                  GHashTable   *seen,
                  GPtrArray    *addresses,
                  gboolean      skip_own)
{
  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      TernAddress *address = addresses->pdata[i];
      g_autofree char *key = NULL;
      g_autofree char *text = NULL;

      if (address->address == NULL || *address->address == '\0')
        continue;
      key = g_ascii_strdown (address->address, -1);
      if ((skip_own && is_own_address (self, address->address)) ||
          g_hash_table_contains (seen, key))
        continue;
      g_hash_table_add (seen, g_steal_pointer (&key));
      text = format_address (address->name, address->address);
      if (list->len > 0)
        g_string_append (list, ", ");
      g_string_append (list, text);
    }
}

static GStrv
address_strings (GPtrArray *addresses)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      TernAddress *address = addresses->pdata[i];

      if (address->address != NULL)
        g_strv_builder_add (builder, address->address);
    }
  return g_strv_builder_end (builder);
}

static void
fill_from_message (TernComposer    *self,
                   TernMessage     *message,
                   GBytes          *raw,
                   const char      *received_by,
                   TernComposeMode  mode)
{
  g_autoptr(TernMimeMessage) parsed = NULL;
  const char *subject = tern_message_get_subject (message);
  const char *body;
  g_autofree char *new_subject = NULL;

  parsed = tern_mime_message_parse (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  body = tern_mime_message_get_body_text (parsed);

  if (mode == TERN_COMPOSE_FORWARD)
    {
      g_autofree char *intro = g_strdup_printf (_("Forwarded message attached: “%s”"),
                                                subject != NULL ? subject : "");

      new_subject = tern_mime_forward_subject (subject);
      self->forwarded = g_bytes_ref (raw);
      tern_composer_set_subject (self, new_subject);
      tern_composer_set_body (self, "");
      {
        /* The forwarded message shows among the attachments, so that the
         * user sees what goes with the mail. */
        GtkWidget *row = gtk_list_box_row_new ();
        GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
        GtkWidget *label = gtk_label_new (intro);

        gtk_label_set_xalign (GTK_LABEL (label), 0);
        gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
        gtk_widget_set_margin_start (box, 6);
        gtk_widget_set_margin_top (box, 6);
        gtk_widget_set_margin_bottom (box, 6);
        gtk_box_append (GTK_BOX (box), gtk_image_new_from_icon_name ("mail-forward-symbolic"));
        gtk_box_append (GTK_BOX (box), label);
        gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
        gtk_list_box_append (self->attachments_list, row);
        gtk_revealer_set_reveal_child (self->attachments_revealer, TRUE);
      }
      return;
    }

  {
    g_auto(GStrv) delivered_to = g_strdupv ((char **) tern_mime_message_get_delivered_to (parsed));
    g_auto(GStrv) to = address_strings (tern_mime_message_get_to (parsed));
    g_auto(GStrv) cc = address_strings (tern_mime_message_get_cc (parsed));
    TernAccount *received = received_by != NULL
                            ? tern_account_manager_lookup (self->accounts, received_by) : NULL;
    TernAccount *account = NULL;
    TernIdentity *identity = NULL;

    /* Delivered-To and X-Original-To come to the store as one list, the
     * first before the second, so the order of the rule holds. */
    if (self->accounts != NULL &&
        tern_account_manager_choose_identity (self->accounts, received,
                                              (const char * const *) delivered_to, NULL,
                                              (const char * const *) to,
                                              (const char * const *) cc, &account, &identity) &&
        account != NULL && identity != NULL)
      tern_composer_select_identity (self, tern_account_get_id (account),
                                     tern_identity_get_address (identity));
  }

  {
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GString) to_list = g_string_new (NULL);
    g_autoptr(GString) cc_list = g_string_new (NULL);
    GPtrArray *reply_to = tern_mime_message_get_reply_to (parsed);
    GPtrArray *from = tern_mime_message_get_from (parsed);

    append_addresses (self, to_list, seen,
                      reply_to != NULL && reply_to->len > 0 ? reply_to : from, FALSE);
    if (mode == TERN_COMPOSE_REPLY_ALL)
      {
        append_addresses (self, to_list, seen, tern_mime_message_get_to (parsed), TRUE);
        append_addresses (self, cc_list, seen, tern_mime_message_get_cc (parsed), TRUE);
      }
    tern_composer_add_recipients (self, TERN_RECIPIENT_TO, to_list->str);
    tern_composer_add_recipients (self, TERN_RECIPIENT_CC, cc_list->str);
  }

  new_subject = tern_mime_reply_subject (subject);
  tern_composer_set_subject (self, new_subject);
  self->in_reply_to = g_strdup (tern_message_get_message_id (message));
  self->references = g_strdup (tern_message_get_references (message));

  {
    g_autoptr(GDateTime) date = g_date_time_new_from_unix_local (tern_message_get_date (message));
    /* TRANSLATORS: the date and time in a reply's attribution line; see
     * g_date_time_format() for the codes. */
    g_autofree char *when = date != NULL ? g_date_time_format (date, _("%-d %B %Y at %H:%M"))
                                         : g_strdup ("");
    const char *who = tern_message_get_from_name (message);
    g_autofree char *attribution = NULL;
    g_autofree char *quoted = NULL;
    g_autofree char *text = NULL;

    if (who == NULL || *who == '\0')
      who = tern_message_get_from_address (message);
    attribution = g_strdup_printf (_("On %s, %s wrote:"), when, who != NULL ? who : "");
    quoted = tern_mime_quote_text (body != NULL ? body : "", attribution);
    text = g_strconcat ("\n\n", quoted, NULL);
    tern_composer_set_body (self, text);
  }
}

static void
raw_loaded_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  OpenData *data = user_data;
  g_autoptr(TernWindow) window = g_weak_ref_get (&data->window);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;

  raw = tern_store_get_raw_finish (TERN_STORE (source), result, &error);
  if (window == NULL)
    ;
  else if (raw == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not read the message: %s"),
                                               error->message);

      tern_window_show_toast (window, text);
    }
  else
    {
      TernComposer *self = tern_composer_new (window);

      fill_from_message (self, data->message, raw, data->received_by, data->mode);
      tern_composer_mark_unchanged (self);
      gtk_window_present (GTK_WINDOW (self));
      gtk_widget_grab_focus (data->mode == TERN_COMPOSE_FORWARD ? self->to_entry
                                                                : GTK_WIDGET (self->body_view));
    }
  open_data_free (data);
}

/**
 * tern_composer_open_for_message:
 * @message: the message to answer or forward
 * @received_by: (nullable): the account whose folder holds @message
 *
 * Reads @message from the store and opens a composer that replies to it
 * (from the address it was sent to), replies to all, or forwards it.
 */
void
tern_composer_open_for_message (TernWindow      *main_window,
                                TernMessage     *message,
                                const char      *received_by,
                                TernComposeMode  mode)
{
  TernStore *store = tern_window_get_store (main_window);
  OpenData *data;

  g_return_if_fail (message != NULL);

  if (store == NULL)
    return;
  data = g_new0 (OpenData, 1);
  g_weak_ref_init (&data->window, main_window);
  data->message = tern_message_ref (message);
  data->received_by = g_strdup (received_by);
  data->mode = mode;
  tern_store_get_raw_async (store, tern_message_get_id (message), NULL, raw_loaded_cb, data);
}
