/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "tern-cli.h"
#include "tern-mime-composer.h"
#include "tern-outbox-sender.h"
#include "tern-pop3-downloader.h"
#include "tern-store-outbox.h"

/*
 * tern-cli bench mail: Tern's POP3 download and SMTP sending beside the
 * peer tools, in one run against the test servers of tests/servers/ (it
 * runs under "tern-test-servers run --", which sets TERN_TEST_*):
 *
 *   POP3   N messages (20,000) in a mailbox, downloaded by Tern into a new
 *          store (each batch synced to disk), then by fetchmail into a
 *          BSMTP file; both keep the mail on the server, both use STLS.
 *   SMTP   M messages (1,000), sent by Tern through its outbox (queued,
 *          synced, then sent over one session), then by msmtp, one process
 *          per message as msmtp works; both use STARTTLS and AUTH.
 */

typedef struct
{
  const char *host;
  const char *ca_file;
  const char *remote;
  guint16 pop3_port;
  guint16 submission_port;
  const char *ctl;
  const char *python;
  const char *user;
  const char *password;
  const char *to;
  const char *to_password;
} Harness;

static gboolean
harness_from_environment (Harness  *harness,
                          GError  **error)
{
  const char *names[] = {
    "TERN_TEST_HOST", "TERN_TEST_CA_FILE", "TERN_TEST_POP3_PORT", "TERN_TEST_SUBMISSION_PORT",
    "TERN_TEST_SERVERS_CTL", "TERN_TEST_SERVERS_PYTHON", "TERN_TEST_USER1",
    "TERN_TEST_PASSWORD1", "TERN_TEST_USER2", "TERN_TEST_REMOTE_CLIENT_ADDRESS",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_getenv (names[i]) == NULL)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     _("%s is not set: run under “tests/servers/tern-test-servers run --”"),
                     names[i]);
        return FALSE;
      }
  harness->host = g_getenv ("TERN_TEST_HOST");
  harness->ca_file = g_getenv ("TERN_TEST_CA_FILE");
  harness->remote = g_getenv ("TERN_TEST_REMOTE_CLIENT_ADDRESS");
  harness->pop3_port = (guint16) g_ascii_strtoull (g_getenv ("TERN_TEST_POP3_PORT"), NULL, 10);
  harness->submission_port = (guint16) g_ascii_strtoull (g_getenv ("TERN_TEST_SUBMISSION_PORT"),
                                                         NULL, 10);
  harness->ctl = g_getenv ("TERN_TEST_SERVERS_CTL");
  harness->python = g_getenv ("TERN_TEST_SERVERS_PYTHON");
  harness->user = g_getenv ("TERN_TEST_USER1");
  harness->password = g_getenv ("TERN_TEST_PASSWORD1");
  harness->to = g_getenv ("TERN_TEST_USER2");
  return TRUE;
}

static gboolean
run_command (const char * const  *argv,
             const char          *stdin_path,
             GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  if (stdin_path != NULL)
    g_subprocess_launcher_set_stdin_file_path (launcher, stdin_path);
  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (process == NULL || !g_subprocess_wait_check (process, NULL, error))
    {
      g_prefix_error (error, "%s: ", argv[0]);
      return FALSE;
    }
  return TRUE;
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

/* POP3 */

static gboolean
bench_tern_pop3 (Harness  *harness,
                 guint     count,
                 double   *out_seconds,
                 GError  **error)
{
  g_autofree char *dir = g_dir_make_tmp ("tern-bench-pop3-XXXXXX", error);
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernPop3Downloader) downloader = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  TernPop3DownloadStats stats = { 0 };
  gint64 start;
  gboolean ok;

  if (dir == NULL)
    return FALSE;
  database = g_tls_file_database_new (harness->ca_file, error);
  if (database == NULL)
    return FALSE;
  store = tern_store_open_sync (dir, NULL, error);
  if (store == NULL)
    return FALSE;

  downloader = tern_pop3_downloader_new (store, "bench");
  tern_pop3_downloader_set_server (downloader, harness->host, harness->pop3_port,
                                   TERN_CONNECTION_SECURITY_STARTTLS);
  tern_pop3_downloader_set_tls_database (downloader, database);
  tern_pop3_downloader_set_local_address (downloader, harness->remote);
  tern_pop3_downloader_set_login (downloader, harness->user, harness->password);
  tern_pop3_downloader_set_after_download (downloader, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);

  start = g_get_monotonic_time ();
  tern_pop3_downloader_run_async (downloader, NULL, tern_cli_got_result, &result);
  ok = tern_pop3_downloader_run_finish (downloader, tern_cli_wait (&result), &stats, error);
  *out_seconds = seconds_since (start);
  if (ok && stats.downloaded != count)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Tern downloaded %u of %u messages",
                   stats.downloaded, count);
      ok = FALSE;
    }

  g_clear_object (&downloader);
  tern_store_close (store);
  {
    const char *argv[] = { "rm", "-rf", dir, NULL };

    run_command (argv, NULL, NULL);
  }
  return ok;
}

static gboolean
bench_fetchmail (Harness  *harness,
                 guint     count,
                 double   *out_seconds,
                 GError  **error)
{
  g_autofree char *dir = g_dir_make_tmp ("tern-bench-fetchmail-XXXXXX", error);
  g_autofree char *rc = NULL;
  g_autofree char *rc_path = NULL;
  g_autofree char *bsmtp = NULL;
  g_autofree char *ids = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *port = NULL;
  gsize length = 0;
  gint64 start;
  guint found = 0;
  gboolean ok;

  if (dir == NULL)
    return FALSE;
  rc_path = g_build_filename (dir, "fetchmailrc", NULL);
  bsmtp = g_build_filename (dir, "mail.bsmtp", NULL);
  ids = g_build_filename (dir, "ids", NULL);
  port = g_strdup_printf ("%u", harness->pop3_port);
  rc = g_strdup_printf ("poll %s port %u proto pop3 uidl\n"
                        "  user \"%s\" password \"%s\"\n"
                        "  sslproto tls1.2+ sslcertck sslcertfile \"%s\" sslcommonname localhost\n"
                        "  keep fetchall bsmtp \"%s\"\n",
                        harness->host, harness->pop3_port, harness->user, harness->password,
                        harness->ca_file, bsmtp);
  if (!g_file_set_contents_full (rc_path, rc, -1, G_FILE_SET_CONTENTS_NONE, 0600, error))
    return FALSE;

  start = g_get_monotonic_time ();
  {
    const char *argv[] = {
      "fetchmail", "-f", rc_path, "--idfile", ids, "--nosyslog", "-N", "--silent", NULL,
    };

    ok = run_command (argv, NULL, error);
  }
  *out_seconds = seconds_since (start);

  /* Every message is in the file: one MAIL FROM each. */
  if (ok && g_file_get_contents (bsmtp, &contents, &length, error))
    {
      for (const char *p = contents; (p = strstr (p, "\nMAIL FROM:")) != NULL; p++)
        found++;
      if (g_str_has_prefix (contents, "MAIL FROM:"))
        found++;
      if (found != count)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "fetchmail wrote %u of %u messages", found, count);
          ok = FALSE;
        }
    }
  else
    ok = FALSE;

  {
    const char *argv[] = { "rm", "-rf", dir, NULL };

    run_command (argv, NULL, NULL);
  }
  return ok;
}

/* SMTP */

static GPtrArray *
compose_messages (Harness  *harness,
                  guint     count,
                  GError  **error)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < count; i++)
    {
      g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
      g_autoptr(GString) text = g_string_new (NULL);
      g_autofree char *subject = g_strdup_printf ("Benchmark message %u", i + 1);
      GBytes *raw;

      for (guint line = 0; line < 40; line++)
        g_string_append_printf (text, "Line %u of message %u, a sentence of ordinary length.\n",
                                line + 1, i + 1);
      if (!tern_mime_composer_set_from (composer, "Bench", harness->user, error) ||
          !tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_TO, NULL, harness->to,
                                             error))
        return NULL;
      tern_mime_composer_set_subject (composer, subject);
      tern_mime_composer_set_text (composer, text->str);
      raw = tern_mime_composer_to_bytes (composer, error);
      if (raw == NULL)
        return NULL;
      g_ptr_array_add (messages, raw);
    }
  return g_steal_pointer (&messages);
}

static gboolean
bench_tern_send (Harness    *harness,
                 GPtrArray  *messages,
                 double     *out_seconds,
                 double     *out_queue_seconds,
                 GError    **error)
{
  g_autofree char *dir = g_dir_make_tmp ("tern-bench-send-XXXXXX", error);
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  const char *recipients[] = { harness->to, NULL };
  gint64 start;
  gboolean ok;

  if (dir == NULL)
    return FALSE;
  database = g_tls_file_database_new (harness->ca_file, error);
  if (database == NULL)
    return FALSE;
  store = tern_store_open_sync (dir, NULL, error);
  if (store == NULL)
    return FALSE;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < messages->len; i++)
    {
      g_autoptr(GAsyncResult) added = NULL;
      g_autoptr(TernOutboxItem) item = NULL;

      tern_store_outbox_add_async (store, "bench", harness->user, recipients,
                                   g_ptr_array_index (messages, i), 0, NULL,
                                   tern_cli_got_result, &added);
      item = tern_store_outbox_add_finish (store, tern_cli_wait (&added), error);
      if (item == NULL)
        return FALSE;
    }
  *out_queue_seconds = seconds_since (start);

  sender = tern_outbox_sender_new (store, "bench");
  tern_outbox_sender_set_server (sender, harness->host, harness->submission_port,
                                 TERN_CONNECTION_SECURITY_STARTTLS);
  tern_outbox_sender_set_tls_database (sender, database);
  tern_outbox_sender_set_local_address (sender, harness->remote);
  tern_outbox_sender_set_login (sender, harness->user, harness->password);
  tern_outbox_sender_set_sent_copy (sender, TERN_SENT_COPY_LOCAL);
  tern_outbox_sender_run_async (sender, NULL, tern_cli_got_result, &result);
  ok = tern_outbox_sender_run_finish (sender, tern_cli_wait (&result), &stats, error);
  *out_seconds = seconds_since (start);
  if (ok && stats.sent != messages->len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Tern sent %u of %u messages",
                   stats.sent, messages->len);
      ok = FALSE;
    }

  g_clear_object (&sender);
  tern_store_close (store);
  {
    const char *argv[] = { "rm", "-rf", dir, NULL };

    run_command (argv, NULL, NULL);
  }
  return ok;
}

static gboolean
bench_msmtp (Harness    *harness,
             GPtrArray  *messages,
             double     *out_seconds,
             GError    **error)
{
  g_autofree char *dir = g_dir_make_tmp ("tern-bench-msmtp-XXXXXX", error);
  g_autofree char *rc_path = NULL;
  g_autofree char *rc = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  gint64 start;
  gboolean ok = TRUE;

  if (dir == NULL)
    return FALSE;
  rc_path = g_build_filename (dir, "msmtprc", NULL);
  rc = g_strdup_printf ("account bench\n"
                        "host %s\nport %u\nsource_ip %s\n"
                        "tls on\ntls_starttls on\ntls_trust_file %s\n"
                        "auth on\nuser %s\npassword %s\nfrom %s\n"
                        "account default : bench\n",
                        harness->host, harness->submission_port, harness->remote,
                        harness->ca_file, harness->user, harness->password, harness->user);
  if (!g_file_set_contents_full (rc_path, rc, -1, G_FILE_SET_CONTENTS_NONE, 0600, error))
    return FALSE;
  for (guint i = 0; i < messages->len; i++)
    {
      GBytes *raw = g_ptr_array_index (messages, i);
      char *path = g_strdup_printf ("%s/%u.eml", dir, i);

      if (!g_file_set_contents (path, g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                                error))
        {
          g_free (path);
          return FALSE;
        }
      g_ptr_array_add (paths, path);
    }

  start = g_get_monotonic_time ();
  for (guint i = 0; i < paths->len && ok; i++)
    {
      const char *argv[] = { "msmtp", "-C", rc_path, "--", harness->to, NULL };

      ok = run_command (argv, g_ptr_array_index (paths, i), error);
    }
  *out_seconds = seconds_since (start);

  {
    const char *argv[] = { "rm", "-rf", dir, NULL };

    run_command (argv, NULL, NULL);
  }
  return ok;
}

/**
 * tern_cli_bench_mail:
 *
 * "tern-cli bench mail [--pop3-messages N] [--send-messages M] [--json]".
 */
int
tern_cli_bench_mail (TernCliContext  *context,
                     int              argc,
                     char           **argv)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  Harness harness = { 0 };
  gboolean as_json = FALSE;
  int pop3_count = 20000;
  int send_count = 1000;
  double tern_pop3 = 0, fetchmail = 0, tern_send = 0, tern_queue = 0, msmtp = 0;

  const GOptionEntry entries[] = {
    { "pop3-messages", 0, 0, G_OPTION_ARG_INT, &pop3_count,
      N_("Messages in the POP3 mailbox (20000)"), N_("N") },
    { "send-messages", 0, 0, G_OPTION_ARG_INT, &send_count,
      N_("Messages to send (1000)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("bench", _("mail"),
                       _("Measure POP3 download against fetchmail and sending against msmtp, "
                         "on the test servers."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2 || pop3_count < 1 || send_count < 1)
    {
      g_printerr (_("tern-cli bench mail: unexpected arguments\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (!harness_from_environment (&harness, &error))
    goto failed;

  {
    g_autofree char *count = g_strdup_printf ("%d", pop3_count);
    const char *load[] = {
      harness.python, harness.ctl, "load-mailbox", "--user", harness.user, "--folder", "INBOX",
      "--count", count, NULL,
    };

    if (!run_command (load, NULL, &error))
      goto failed;
  }
  if (!bench_tern_pop3 (&harness, pop3_count, &tern_pop3, &error) ||
      !bench_fetchmail (&harness, pop3_count, &fetchmail, &error))
    goto failed;

  messages = compose_messages (&harness, send_count, &error);
  if (messages == NULL ||
      !bench_tern_send (&harness, messages, &tern_send, &tern_queue, &error) ||
      !bench_msmtp (&harness, messages, &msmtp, &error))
    goto failed;

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "pop3_messages");
      json_builder_add_int_value (builder, pop3_count);
      json_builder_set_member_name (builder, "tern_pop3_s");
      json_builder_add_double_value (builder, tern_pop3);
      json_builder_set_member_name (builder, "fetchmail_s");
      json_builder_add_double_value (builder, fetchmail);
      json_builder_set_member_name (builder, "send_messages");
      json_builder_add_int_value (builder, send_count);
      json_builder_set_member_name (builder, "tern_send_s");
      json_builder_add_double_value (builder, tern_send);
      json_builder_set_member_name (builder, "tern_send_queue_s");
      json_builder_add_double_value (builder, tern_queue);
      json_builder_set_member_name (builder, "msmtp_s");
      json_builder_add_double_value (builder, msmtp);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
    }
  else
    {
      g_print ("POP3 download of %d messages (STLS, kept on the server):\n", pop3_count);
      g_print ("  Tern (into the store, synced): %8.2f s\n", tern_pop3);
      g_print ("  fetchmail (into a BSMTP file): %8.2f s\n", fetchmail);
      g_print ("Sending %d messages (STARTTLS, AUTH):\n", send_count);
      g_print ("  Tern (outbox, one session):    %8.2f s (of which queueing %.2f s)\n",
               tern_send, tern_queue);
      g_print ("  msmtp (one process each):      %8.2f s\n", msmtp);
    }
  return TERN_CLI_EXIT_OK;

failed:
  g_printerr ("tern-cli bench mail: %s\n", error->message);
  return TERN_CLI_EXIT_FAILURE;
}
