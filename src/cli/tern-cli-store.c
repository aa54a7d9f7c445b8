/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <unistd.h>

#include "tern-cli.h"
#include "tern-message-flags.h"
#include "tern-message-list-model.h"
#include "tern-mime-message.h"
#include "tern-store-import.h"

/*
 * The store's commands: folders, list, show, search, import, export.
 */

static int
fail (const char   *command,
      const GError *error)
{
  g_printerr ("tern-cli %s: %s\n", command, error->message);
  return TERN_CLI_EXIT_FAILURE;
}

static void
print_json (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static char *
format_date (gint64 date)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (date);
  g_autoptr(GDateTime) local = NULL;

  if (utc == NULL)
    return g_strdup ("?");

  local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

static char *
format_iso_date (gint64 date)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (date);

  if (utc == NULL)
    return g_strdup ("");

  return g_date_time_format_iso8601 (utc);
}

static void
add_flags_json (JsonBuilder *builder,
                guint        flags)
{
  static const struct { guint flag; const char *name; } names[] = {
    { TERN_MESSAGE_FLAG_SEEN, "seen" },
    { TERN_MESSAGE_FLAG_ANSWERED, "answered" },
    { TERN_MESSAGE_FLAG_FLAGGED, "flagged" },
    { TERN_MESSAGE_FLAG_DELETED, "deleted" },
    { TERN_MESSAGE_FLAG_DRAFT, "draft" },
    { TERN_MESSAGE_FLAG_FORWARDED, "forwarded" },
    { TERN_MESSAGE_FLAG_JUNK, "junk" },
    { TERN_MESSAGE_FLAG_NOTJUNK, "notjunk" },
  };

  json_builder_set_member_name (builder, "flags");
  json_builder_begin_array (builder);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (flags & names[i].flag)
        json_builder_add_string_value (builder, names[i].name);
    }
  json_builder_end_array (builder);
}

static void
add_message_json (JsonBuilder *builder,
                  TernMessage *message)
{
  g_autofree char *date = format_iso_date (tern_message_get_date (message));
  guint flags = tern_message_get_flags (message);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, tern_message_get_id (message));
  json_builder_set_member_name (builder, "folder_id");
  json_builder_add_int_value (builder, tern_message_get_folder_id (message));
  json_builder_set_member_name (builder, "conversation_id");
  json_builder_add_int_value (builder, tern_message_get_conversation_id (message));
  json_builder_set_member_name (builder, "date");
  json_builder_add_string_value (builder, date);
  json_builder_set_member_name (builder, "from_name");
  json_builder_add_string_value (builder, tern_message_get_from_name (message));
  json_builder_set_member_name (builder, "from_address");
  json_builder_add_string_value (builder, tern_message_get_from_address (message));
  json_builder_set_member_name (builder, "to");
  json_builder_add_string_value (builder, tern_message_get_to (message));
  json_builder_set_member_name (builder, "subject");
  json_builder_add_string_value (builder, tern_message_get_subject (message));
  json_builder_set_member_name (builder, "preview");
  json_builder_add_string_value (builder, tern_message_get_preview (message));
  json_builder_set_member_name (builder, "message_id");
  if (tern_message_get_message_id (message) != NULL)
    json_builder_add_string_value (builder, tern_message_get_message_id (message));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, tern_message_get_size (message));
  json_builder_set_member_name (builder, "unread");
  json_builder_add_boolean_value (builder,
                                  (flags & (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0);
  json_builder_set_member_name (builder, "has_attachments");
  json_builder_add_boolean_value (builder, tern_message_has_attachments (message));
  add_flags_json (builder, flags);
  json_builder_end_object (builder);
}

/* @text cut or padded to @width characters (printf counts bytes). */
static char *
fit_width (const char *text,
           glong       width)
{
  glong length = g_utf8_strlen (text, -1);
  g_autofree char *cut = g_utf8_substring (text, 0, MIN (length, width));
  GString *fitted = g_string_new (cut);

  for (glong i = MIN (length, width); i < width; i++)
    g_string_append_c (fitted, ' ');

  return g_string_free (fitted, FALSE);
}

static void
print_message_line (TernMessage *message)
{
  g_autofree char *date = format_date (tern_message_get_date (message));
  g_autofree char *sender = NULL;
  const char *from = tern_message_get_from_name (message);
  guint flags = tern_message_get_flags (message);

  if (from == NULL || *from == '\0')
    from = tern_message_get_from_address (message);
  sender = fit_width (from, 24);

  g_print ("%8" G_GINT64_FORMAT "  %s  %c%c%c  %s  %s\n",
           tern_message_get_id (message),
           date,
           (flags & TERN_MESSAGE_FLAG_SEEN) ? ' ' : 'N',
           (flags & TERN_MESSAGE_FLAG_FLAGGED) ? 'F' : ' ',
           tern_message_has_attachments (message) ? '@' : ' ',
           sender,
           tern_message_get_subject (message));
}

static void
print_messages (GPtrArray *messages,
                gboolean   as_json)
{
  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_array (builder);
      for (guint i = 0; i < messages->len; i++)
        add_message_json (builder, g_ptr_array_index (messages, i));
      json_builder_end_array (builder);
      print_json (builder);
      return;
    }

  for (guint i = 0; i < messages->len; i++)
    print_message_line (g_ptr_array_index (messages, i));
}

/* folders */

int
tern_cli_command_folders (TernCliContext  *context,
                          int              argc,
                          char           **argv)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GError) error = NULL;
  gboolean as_json = FALSE;
  TernStore *store;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("folders", NULL, _("List the folders of the store."), entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_("tern-cli folders: unexpected argument “%s”\n"), argv[1]);
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail ("folders", error);

  tern_store_list_folders_async (store, NULL, NULL, tern_cli_got_result, &result);
  folders = tern_store_list_folders_finish (store, tern_cli_wait (&result), &error);
  if (folders == NULL)
    return fail ("folders", error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_array (builder);
      for (guint i = 0; i < folders->len; i++)
        {
          TernFolder *folder = g_ptr_array_index (folders, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_int_value (builder, tern_folder_get_id (folder));
          json_builder_set_member_name (builder, "account");
          json_builder_add_string_value (builder, tern_folder_get_account (folder));
          json_builder_set_member_name (builder, "path");
          json_builder_add_string_value (builder, tern_folder_get_path (folder));
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, tern_folder_get_name (folder));
          json_builder_set_member_name (builder, "role");
          json_builder_add_string_value (builder,
                                         tern_folder_role_to_string (tern_folder_get_role (folder)));
          json_builder_set_member_name (builder, "total");
          json_builder_add_int_value (builder, tern_folder_get_total (folder));
          json_builder_set_member_name (builder, "unread");
          json_builder_add_int_value (builder, tern_folder_get_unread (folder));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      print_json (builder);
      return TERN_CLI_EXIT_OK;
    }

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = g_ptr_array_index (folders, i);
      g_autofree char *name = NULL;

      if (g_str_equal (tern_folder_get_account (folder), TERN_LOCAL_ACCOUNT))
        name = g_strdup (tern_folder_get_path (folder));
      else
        name = g_strdup_printf ("%s:%s", tern_folder_get_account (folder),
                                tern_folder_get_path (folder));

      g_print ("%-40s %-8s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT "\n",
               name, tern_folder_role_to_string (tern_folder_get_role (folder)),
               tern_folder_get_total (folder), tern_folder_get_unread (folder));
    }

  return TERN_CLI_EXIT_OK;
}

/* list */

static GPtrArray *
get_messages (TernStore  *store,
              GArray     *ids,
              GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_get_messages_async (store, ids, NULL, tern_cli_got_result, &result);
  return tern_store_get_messages_finish (store, tern_cli_wait (&result), error);
}

int
tern_cli_command_list (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernMessageListModel) model = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  gboolean as_json = FALSE;
  int limit = 50;
  TernStore *store;
  guint n;
  const GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show at most N messages (50)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("list", _("[FOLDER]"),
                       _("List messages, newest first: of FOLDER (a local folder, or "
                         "ACCOUNT:PATH), or of every account’s Inbox."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc > 2 || limit < 0)
    {
      g_printerr (_("tern-cli list: give one folder at most, and a limit of 0 or more\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail ("list", error);

  if (argc == 2)
    {
      g_autoptr(TernFolder) folder = tern_cli_find_folder (context, argv[1], FALSE, &error);

      if (folder == NULL)
        return fail ("list", error);
      model = tern_message_list_model_new_for_folder (store, tern_folder_get_id (folder), FALSE);
    }
  else
    {
      model = tern_message_list_model_new_for_role (store, TERN_FOLDER_ROLE_INBOX, FALSE);
    }

  tern_message_list_model_load_async (model, NULL, tern_cli_got_result, &result);
  if (!tern_message_list_model_load_finish (model, tern_cli_wait (&result), &error))
    return fail ("list", error);

  n = MIN ((guint) limit, g_list_model_get_n_items (G_LIST_MODEL (model)));
  ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  for (guint i = 0; i < n; i++)
    {
      gint64 id = tern_message_list_model_get_message_id (model, i);

      g_array_append_val (ids, id);
    }

  messages = get_messages (store, ids, &error);
  if (messages == NULL)
    return fail ("list", error);

  print_messages (messages, as_json);
  return TERN_CLI_EXIT_OK;
}

/* show */

static void
print_addresses (const char *label,
                 GPtrArray  *addresses)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      const TernAddress *address = g_ptr_array_index (addresses, i);

      if (text->len > 0)
        g_string_append (text, ", ");
      if (address->name != NULL && *address->name != '\0')
        g_string_append_printf (text, "%s <%s>", address->name,
                                address->address != NULL ? address->address : "");
      else if (address->address != NULL)
        g_string_append (text, address->address);
    }

  if (text->len > 0)
    g_print ("%s: %s\n", label, text->str);
}

int
tern_cli_command_show (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) raw_result = NULL;
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(TernMimeMessage) mime = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *date = NULL;
  gboolean show_raw = FALSE;
  GPtrArray *attachments;
  TernStore *store;
  const char *body;
  gint64 id;
  char *end = NULL;
  const GOptionEntry entries[] = {
    { "raw", 0, 0, G_OPTION_ARG_NONE, &show_raw, N_("Print the message as stored, byte for byte"),
      NULL },
    { NULL }
  };

  if (!tern_cli_parse ("show", _("ID"), _("Show a message."), entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli show: give one message ID\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  id = g_ascii_strtoll (argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || id <= 0)
    {
      g_printerr (_("tern-cli show: “%s” is not a message ID\n"), argv[1]);
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail ("show", error);

  tern_store_get_message_async (store, id, NULL, tern_cli_got_result, &result);
  message = tern_store_get_message_finish (store, tern_cli_wait (&result), &error);
  if (message == NULL)
    return fail ("show", error);

  tern_store_get_raw_async (store, id, NULL, tern_cli_got_result, &raw_result);
  raw = tern_store_get_raw_finish (store, tern_cli_wait (&raw_result), &error);
  if (raw == NULL)
    return fail ("show", error);

  if (show_raw)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (raw, &size);

      if (fwrite (data, 1, size, stdout) != size || fflush (stdout) != 0)
        {
          g_printerr (_("tern-cli show: could not write the message\n"));
          return TERN_CLI_EXIT_FAILURE;
        }
      return TERN_CLI_EXIT_OK;
    }

  mime = tern_mime_message_parse (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  date = format_date (tern_message_get_date (message));

  print_addresses (_("From"), tern_mime_message_get_from (mime));
  print_addresses (_("To"), tern_mime_message_get_to (mime));
  print_addresses (_("Cc"), tern_mime_message_get_cc (mime));
  g_print ("%s: %s\n", _("Date"), date);
  g_print ("%s: %s\n", _("Subject"), tern_message_get_subject (message));

  attachments = tern_message_get_attachments (message);
  for (guint i = 0; attachments != NULL && i < attachments->len; i++)
    {
      TernAttachment *attachment = g_ptr_array_index (attachments, i);
      g_autofree char *size = g_format_size (attachment->size);

      g_print ("%s: %s (%s, %s)\n", _("Attachment"),
               *attachment->filename != '\0' ? attachment->filename : _("unnamed"),
               attachment->mime_type, size);
    }

  body = tern_mime_message_get_body_text (mime);
  g_print ("\n%s\n", body != NULL ? body : "");

  return TERN_CLI_EXIT_OK;
}

/* search */

int
tern_cli_command_search (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *query = NULL;
  gboolean as_json = FALSE;
  int limit = 50;
  TernStore *store;
  const GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, N_("Show at most N messages (50)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("search", _("QUERY…"),
                       _("Search all mail.  Words match the start of words anywhere; "
                         "from:, to:, subject:, has:attachment, is:unread, is:flagged, "
                         "before:YYYY-MM-DD and after:YYYY-MM-DD narrow the search."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc < 2 || limit < 0)
    {
      g_printerr (_("tern-cli search: give a query\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  query = g_strjoinv (" ", argv + 1);

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail ("search", error);

  tern_store_search_async (store, query, 0, limit, NULL, tern_cli_got_result, &result);
  ids = tern_store_search_finish (store, tern_cli_wait (&result), &error);
  if (ids == NULL)
    return fail ("search", error);

  messages = get_messages (store, ids, &error);
  if (messages == NULL)
    return fail ("search", error);

  print_messages (messages, as_json);
  return TERN_CLI_EXIT_OK;
}

/* import */

static void
import_progress_cb (guint    imported,
                    guint    skipped,
                    guint64  bytes_read,
                    guint64  bytes_total,
                    gpointer user_data)
{
  if (bytes_total > 0)
    g_printerr ("\r%u messages (%.0f%%)", imported, 100.0 * bytes_read / bytes_total);
  else
    g_printerr ("\r%u messages", imported);
}

int
tern_cli_command_import (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernImportResult) imported = NULL;
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GFile) source = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *mbox = NULL;
  g_autofree char *folder_name = NULL;
  gboolean quiet = FALSE;
  gboolean show_progress;
  TernStore *store;
  const GOptionEntry entries[] = {
    { "maildir", 0, 0, G_OPTION_ARG_FILENAME, &maildir, N_("Import the Maildir DIR"), N_("DIR") },
    { "mbox", 0, 0, G_OPTION_ARG_FILENAME, &mbox, N_("Import the mbox FILE"), N_("FILE") },
    { "folder", 0, 0, G_OPTION_ARG_STRING, &folder_name,
      N_("Into the local folder NAME, created when missing"), N_("NAME") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print no progress"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("import", NULL,
                       _("Import an mbox file or a Maildir into a folder on this computer."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc > 1 || (maildir == NULL) == (mbox == NULL) || folder_name == NULL)
    {
      g_printerr (_("tern-cli import: give --maildir DIR or --mbox FILE, and --folder NAME\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail ("import", error);

  folder = tern_cli_find_folder (context, folder_name, TRUE, &error);
  if (folder == NULL)
    return fail ("import", error);

  source = g_file_new_for_commandline_arg (maildir != NULL ? maildir : mbox);
  show_progress = !quiet && isatty (STDERR_FILENO);

  tern_store_import_async (store, tern_folder_get_id (folder), source,
                           maildir != NULL ? TERN_MAIL_FILE_MAILDIR : TERN_MAIL_FILE_MBOX,
                           show_progress ? import_progress_cb : NULL, NULL,
                           NULL, tern_cli_got_result, &result);
  imported = tern_store_import_finish (store, tern_cli_wait (&result), &error);
  if (show_progress)
    g_printerr ("\n");
  if (imported == NULL)
    return fail ("import", error);

  for (guint i = 0; i < imported->problems->len; i++)
    g_printerr ("tern-cli import: %s\n", (const char *) g_ptr_array_index (imported->problems, i));

  g_print (g_dngettext (GETTEXT_PACKAGE, "Imported %u message into “%s”",
                        "Imported %u messages into “%s”", imported->imported),
           imported->imported, folder_name);
  if (imported->skipped > 0)
    g_print (g_dngettext (GETTEXT_PACKAGE, "; %u message could not be read",
                          "; %u messages could not be read", imported->skipped),
             imported->skipped);
  g_print ("\n");

  return imported->skipped > 0 ? TERN_CLI_EXIT_FAILURE : TERN_CLI_EXIT_OK;
}

/* export */

int
tern_cli_command_export (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GFile) target = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *mbox = NULL;
  TernStore *store;
  guint written;
  const GOptionEntry entries[] = {
    { "mbox", 0, 0, G_OPTION_ARG_FILENAME, &mbox, N_("Write to the mbox FILE"), N_("FILE") },
    { NULL }
  };

  if (!tern_cli_parse ("export", _("FOLDER"),
                       _("Export every message of FOLDER to an mbox file, flags included."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2 || mbox == NULL)
    {
      g_printerr (_("tern-cli export: give a FOLDER and --mbox FILE\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail ("export", error);

  folder = tern_cli_find_folder (context, argv[1], FALSE, &error);
  if (folder == NULL)
    return fail ("export", error);

  target = g_file_new_for_commandline_arg (mbox);
  tern_store_export_mbox_async (store, tern_folder_get_id (folder), target, NULL,
                                tern_cli_got_result, &result);
  written = tern_store_export_mbox_finish (store, tern_cli_wait (&result), &error);
  if (error != NULL)
    return fail ("export", error);

  g_print (g_dngettext (GETTEXT_PACKAGE, "Exported %u message to %s",
                        "Exported %u messages to %s", written),
           written, mbox);
  g_print ("\n");
  return TERN_CLI_EXIT_OK;
}
