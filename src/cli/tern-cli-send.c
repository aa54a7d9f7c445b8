/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <fcntl.h>
#include <stdio.h>

#include "tern-cli.h"
#include "tern-credentials.h"
#include "tern-mime-composer.h"
#include "tern-outbox-sender.h"
#include "tern-smtp-client.h"
#include "tern-store-outbox.h"

/*
 * tern-cli send: composes a message (the text from standard input), puts
 * it in the outbox, and sends the account's outbox.  tern-cli outbox:
 * shows the queue, cancels a queued message, or sends an account's queue.
 */

static char *
read_stdin (GError **error)
{
  GString *text = g_string_new (NULL);
  char buffer[8192];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
    g_string_append_len (text, buffer, n);
  if (ferror (stdin))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not read the text"));
      g_string_free (text, TRUE);
      return NULL;
    }
  if (!g_utf8_validate (text->str, text->len, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The text is not valid UTF-8"));
      g_string_free (text, TRUE);
      return NULL;
    }
  return g_string_free (text, FALSE);
}

/* Sets up a sender for @account (or @identity's own SMTP server). */
static TernOutboxSender *
new_sender (TernCliContext  *context,
            TernStore       *store,
            TernAccount     *account,
            TernIdentity    *identity,
            const char      *ca_file,
            const char      *local_address,
            GError         **error)
{
  g_autoptr(TernOutboxSender) sender = tern_outbox_sender_new (store,
                                                               tern_account_get_id (account));
  g_autoptr(GTlsDatabase) database = NULL;
  g_autofree char *pin = NULL;
  char *password = NULL;
  const char *host = tern_account_get_sending_host (account);
  guint16 port = tern_account_get_sending_port (account);
  TernSecurity security = tern_account_get_sending_security (account);
  const char *username = tern_account_get_sending_username (account);

  if (identity != NULL && tern_identity_has_smtp_server (identity))
    {
      host = tern_identity_get_smtp_host (identity);
      port = tern_identity_get_smtp_port (identity);
      security = tern_identity_get_smtp_security (identity);
      username = tern_identity_get_smtp_username (identity);
    }
  if (host == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The account “%s” has no SMTP server"), tern_account_get_id (account));
      return NULL;
    }

  database = tern_cli_tls_database (ca_file, error);
  if (ca_file != NULL && database == NULL)
    return NULL;
  if (username != NULL && *username != '\0')
    {
      password = tern_cli_lookup_secret (account, TERN_CREDENTIAL_SENDING_PASSWORD, error);
      if (password == NULL && error != NULL && *error != NULL)
        return NULL;
    }
  pin = tern_cli_trusted_pin (context, host, port);

  tern_outbox_sender_set_server (sender, host, port, tern_cli_connection_security (security));
  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2 && password != NULL)
    tern_outbox_sender_set_oauth2_login (sender, username, password);
  else
    tern_outbox_sender_set_login (sender,
                                  username != NULL && *username != '\0' ? username : NULL,
                                  password);
  g_clear_pointer (&password, tern_credentials_free_secret);
  tern_outbox_sender_set_tls_database (sender, database);
  tern_outbox_sender_set_pinned_certificate (sender, pin);
  if (local_address != NULL)
    tern_outbox_sender_set_local_address (sender, local_address);
  /* An IMAP account's Sent folder is on its server; a POP3 account keeps
   * its sent mail here. */
  tern_outbox_sender_set_sent_copy (sender,
                                    tern_account_get_receiving_protocol (account) ==
                                    TERN_RECEIVING_PROTOCOL_IMAP
                                    ? TERN_SENT_COPY_UPLOAD : TERN_SENT_COPY_LOCAL);
  return g_steal_pointer (&sender);
}

static gboolean
run_sender (TernOutboxSender *sender,
            const char       *command)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  gboolean ok;

  tern_outbox_sender_run_async (sender, NULL, tern_cli_got_result, &result);
  ok = tern_outbox_sender_run_finish (sender, tern_cli_wait (&result), &stats, &error);
  for (guint i = 0; stats.notes != NULL && i < stats.notes->len; i++)
    g_printerr ("tern-cli %s: %s\n", command, (char *) g_ptr_array_index (stats.notes, i));
  if (!ok)
    {
      g_printerr ("tern-cli %s: %s\n", command, error->message);
      return FALSE;
    }
  if (stats.offline)
    g_printerr (_("tern-cli %s: the server cannot be reached; the mail stays in the outbox\n"),
                command);
  g_print (_("%u sent, %u waiting to be tried again, %u not sent\n"), stats.sent, stats.retried,
           stats.failed);
  return stats.failed == 0 && stats.retried == 0 && !stats.offline;
}

static gboolean
add_list (TernMimeComposer   *composer,
          TernRecipientKind   kind,
          char              **lists,
          GError            **error)
{
  for (guint i = 0; lists != NULL && lists[i] != NULL; i++)
    if (!tern_mime_composer_add_recipients (composer, kind, lists[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
set_done_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits on the main context, where the store's results arrive. */
static void
wait_seconds (guint seconds)
{
  gboolean done = FALSE;

  g_timeout_add_seconds (seconds, set_done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

int
tern_cli_command_send (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  g_autofree char *account_id = NULL;
  g_autofree char *from = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *html_file = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *local_address = NULL;
  g_auto(GStrv) to = NULL;
  g_auto(GStrv) cc = NULL;
  g_auto(GStrv) bcc = NULL;
  g_auto(GStrv) attachments = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autofree char *path = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernMimeComposer) composer = NULL;
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;
  TernIdentity *identity = NULL;
  TernStore *store;
  gboolean queue_only = FALSE;
  gboolean dsn = FALSE;
  int delay = 0;

  const GOptionEntry entries[] = {
    { "account", 'a', 0, G_OPTION_ARG_STRING, &account_id, N_("Send from ACCOUNT"),
      N_("ACCOUNT") },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from,
      N_("Send as ADDRESS, one of the account’s identities (default: its default one)"),
      N_("ADDRESS") },
    { "to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &to, N_("A recipient (or several, with commas)"),
      N_("ADDRESS") },
    { "cc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cc, N_("A recipient in copy"), N_("ADDRESS") },
    { "bcc", 0, 0, G_OPTION_ARG_STRING_ARRAY, &bcc, N_("A hidden recipient"), N_("ADDRESS") },
    { "subject", 's', 0, G_OPTION_ARG_STRING, &subject, N_("The subject"), N_("SUBJECT") },
    { "attach", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &attachments, N_("Attach FILE"),
      N_("FILE") },
    { "html", 0, 0, G_OPTION_ARG_FILENAME, &html_file,
      N_("Send the HTML of FILE, with the standard input as its text"), N_("FILE") },
    { "delay", 0, 0, G_OPTION_ARG_INT, &delay,
      N_("Wait SECONDS before sending, during which “tern-cli outbox --cancel” can stop it"),
      N_("SECONDS") },
    { "queue-only", 0, 0, G_OPTION_ARG_NONE, &queue_only,
      N_("Put the message in the outbox without sending the outbox"), NULL },
    { "dsn", 0, 0, G_OPTION_ARG_NONE, &dsn,
      N_("Ask for delivery receipts: a report when the message is delivered, delayed or "
         "cannot be delivered, with its header only"), NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      N_("Trust the certificate authorities of FILE instead of the system’s"), N_("FILE") },
    { "local-address", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &local_address,
      N_("Connect from ADDRESS"), N_("ADDRESS") },
    { NULL }
  };

  if (!tern_cli_parse ("send", NULL,
                       _("Send a message whose text is read from the standard input."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 1 || account_id == NULL || subject == NULL ||
      (to == NULL && cc == NULL && bcc == NULL) || delay < 0)
    {
      g_printerr (_("tern-cli send: give --account, --subject and at least one recipient\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  account = tern_cli_load_account (context, account_id, &error);
  if (account == NULL)
    goto failed;
  identity = from != NULL ? tern_account_find_identity (account, from)
                          : tern_account_get_default_identity (account);
  if (identity == NULL)
    {
      g_printerr (_("tern-cli send: “%s” is not an address of the account “%s”\n"),
                  from != NULL ? from : "", account_id);
      return TERN_CLI_EXIT_FAILURE;
    }

  text = read_stdin (&error);
  if (text == NULL)
    goto failed;
  if (html_file != NULL && !g_file_get_contents (html_file, &html, NULL, &error))
    goto failed;

  composer = tern_mime_composer_new ();
  if (!tern_mime_composer_set_from (composer, tern_identity_get_name (identity),
                                    tern_identity_get_address (identity), &error) ||
      !add_list (composer, TERN_RECIPIENT_TO, to, &error) ||
      !add_list (composer, TERN_RECIPIENT_CC, cc, &error) ||
      !add_list (composer, TERN_RECIPIENT_BCC, bcc, &error))
    goto failed;
  if (tern_identity_get_reply_to (identity) != NULL)
    tern_mime_composer_set_reply_to (composer, tern_identity_get_reply_to (identity));
  tern_mime_composer_set_subject (composer, subject);
  tern_mime_composer_set_text (composer, text);
  if (html != NULL)
    tern_mime_composer_set_html (composer, html);
  for (guint i = 0; attachments != NULL && attachments[i] != NULL; i++)
    if (!tern_mime_composer_add_attachment (composer, attachments[i], NULL, &error))
      goto failed;

  /* Written to a file first: attachments are read a piece at a time. */
  if (!tern_paths_ensure (context->paths, &error))
    goto failed;
  path = g_build_filename (tern_paths_get_cache_dir (context->paths), "outgoing-XXXXXX.eml",
                           NULL);
  {
    int fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);

    if (fd < 0)
      {
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not create “%s”"), path);
        goto failed;
      }
    g_close (fd, NULL);
  }
  if (!tern_mime_composer_write_to_file (composer, path, &error))
    {
      g_unlink (path);
      goto failed;
    }
  mapped = g_mapped_file_new (path, FALSE, &error);
  g_unlink (path);
  if (mapped == NULL)
    goto failed;
  raw = g_mapped_file_get_bytes (mapped);
  recipients = tern_mime_composer_get_recipients (composer);

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    goto failed;
  tern_store_outbox_add_full_async (store, tern_account_get_id (account),
                                    tern_mime_composer_get_sender (composer),
                                    (const char * const *) recipients, raw,
                                    g_get_real_time () / G_USEC_PER_SEC + delay,
                                    dsn ? (TERN_SMTP_DSN_NOTIFY_FAILURE
                                           | TERN_SMTP_DSN_NOTIFY_DELAY
                                           | TERN_SMTP_DSN_NOTIFY_SUCCESS) : 0,
                                    dsn ? TERN_SMTP_DSN_RET_HDRS : TERN_SMTP_DSN_RET_DEFAULT,
                                    NULL, tern_cli_got_result, &result);
  item = tern_store_outbox_add_finish (store, tern_cli_wait (&result), &error);
  if (item == NULL)
    goto failed;
  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, item->id);

    g_print (_("Queued as %s (Message-ID <%s>)\n"), id,
             tern_mime_composer_get_message_id (composer));
  }
  if (queue_only)
    return TERN_CLI_EXIT_OK;

  sender = new_sender (context, store, account, identity, ca_file, local_address, &error);
  if (sender == NULL)
    goto failed;
  if (delay > 0)
    {
      g_print (_("Sending in %d seconds\n"), delay);
      wait_seconds (delay);
    }
  return run_sender (sender, "send") ? TERN_CLI_EXIT_OK : TERN_CLI_EXIT_FAILURE;

failed:
  g_printerr ("tern-cli send: %s\n", error->message);
  return TERN_CLI_EXIT_FAILURE;
}

static const char *
state_name (TernOutboxState state)
{
  switch (state)
    {
    case TERN_OUTBOX_STATE_QUEUED:
      return "queued";
    case TERN_OUTBOX_STATE_SENDING:
      return "sending";
    case TERN_OUTBOX_STATE_FAILED:
      return "failed";
    case TERN_OUTBOX_STATE_STORING:
      return "storing";
    default:
      return "unknown";
    }
}

int
tern_cli_command_outbox (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *send_account = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *local_address = NULL;
  gboolean as_json = FALSE;
  gint64 cancel = 0;
  TernStore *store;

  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON array"), NULL },
    { "cancel", 0, 0, G_OPTION_ARG_INT64, &cancel,
      N_("Cancel the queued message ID; it goes to Drafts"), N_("ID") },
    { "send", 0, 0, G_OPTION_ARG_STRING, &send_account,
      N_("Send what is due in the outbox of ACCOUNT"), N_("ACCOUNT") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      N_("Trust the certificate authorities of FILE instead of the system’s"), N_("FILE") },
    { "local-address", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &local_address,
      N_("Connect from ADDRESS"), N_("ADDRESS") },
    { NULL }
  };

  if (!tern_cli_parse ("outbox", NULL, _("Show the mail waiting to be sent."), entries, &argc,
                       &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 1)
    {
      g_printerr (_("tern-cli outbox: unexpected argument “%s”\n"), argv[1]);
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    {
      g_printerr ("tern-cli outbox: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  if (cancel > 0)
    {
      tern_store_outbox_cancel_async (store, cancel, NULL, tern_cli_got_result, &result);
      if (!tern_store_outbox_change_finish (store, tern_cli_wait (&result), &error))
        {
          g_printerr ("tern-cli outbox: %s\n", error->message);
          return TERN_CLI_EXIT_FAILURE;
        }
      g_print (_("Cancelled; the message is in Drafts\n"));
      return TERN_CLI_EXIT_OK;
    }

  if (send_account != NULL)
    {
      g_autoptr(TernAccount) account = tern_cli_load_account (context, send_account, &error);
      g_autoptr(TernOutboxSender) sender = NULL;

      if (account != NULL)
        sender = new_sender (context, store, account, NULL, ca_file, local_address, &error);
      if (sender == NULL)
        {
          g_printerr ("tern-cli outbox: %s\n", error->message);
          return TERN_CLI_EXIT_FAILURE;
        }
      return run_sender (sender, "outbox") ? TERN_CLI_EXIT_OK : TERN_CLI_EXIT_FAILURE;
    }

  tern_store_outbox_list_async (store, NULL, NULL, tern_cli_got_result, &result);
  items = tern_store_outbox_list_finish (store, tern_cli_wait (&result), &error);
  if (items == NULL)
    {
      g_printerr ("tern-cli outbox: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < items->len; i++)
        {
          TernOutboxItem *item = g_ptr_array_index (items, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_int_value (builder, item->id);
          json_builder_set_member_name (builder, "account");
          json_builder_add_string_value (builder, item->account);
          json_builder_set_member_name (builder, "state");
          json_builder_add_string_value (builder, state_name (item->state));
          json_builder_set_member_name (builder, "from");
          json_builder_add_string_value (builder, item->sender);
          json_builder_set_member_name (builder, "recipients");
          json_builder_begin_array (builder);
          for (guint r = 0; item->recipients[r] != NULL; r++)
            json_builder_add_string_value (builder, item->recipients[r]);
          json_builder_end_array (builder);
          json_builder_set_member_name (builder, "subject");
          json_builder_add_string_value (builder, item->subject);
          json_builder_set_member_name (builder, "size");
          json_builder_add_int_value (builder, item->size);
          json_builder_set_member_name (builder, "attempts");
          json_builder_add_int_value (builder, item->attempts);
          json_builder_set_member_name (builder, "created");
          json_builder_add_int_value (builder, item->created);
          json_builder_set_member_name (builder, "send_after");
          json_builder_add_int_value (builder, item->send_after);
          json_builder_set_member_name (builder, "next_attempt");
          json_builder_add_int_value (builder, item->next_attempt);
          json_builder_set_member_name (builder, "last_error");
          if (item->last_error != NULL)
            json_builder_add_string_value (builder, item->last_error);
          else
            json_builder_add_null_value (builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
      return TERN_CLI_EXIT_OK;
    }

  if (items->len == 0)
    g_print (_("The outbox is empty\n"));
  for (guint i = 0; i < items->len; i++)
    {
      TernOutboxItem *item = g_ptr_array_index (items, i);
      g_autofree char *to = g_strjoinv (", ", item->recipients);

      g_print ("%-6" G_GINT64_FORMAT " %-8s %-12s %s → %s\n", item->id, state_name (item->state),
               item->account, item->subject, to);
      if (item->last_error != NULL)
        g_print ("       %s\n", item->last_error);
    }
  return TERN_CLI_EXIT_OK;
}
