/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tern-cli.h"
#include "tern-imap-sync.h"

/*
 * tern-cli bench imap: one folder of any IMAP server, in one run, by
 *   - the raw client once first, to warm the server's caches: a server
 *     answers BODYSTRUCTURE for a folder it never served by reading every
 *     message (Dovecot keeps the answers in its cache file), so whoever
 *     came first would be measured against a cold server and whoever came
 *     next against a warm one; and once more with the items Tern's header
 *     sync asks for, since header fields the raw client does not ask for
 *     (BODY.PEEK[HEADER.FIELDS (...)]) are cached apart,
 *   - Tern's header sync into a new store (and a resync without changes),
 *     and after each
 *   - a minimal raw client that logs in and sends UID FETCH 1:* (UID FLAGS
 *     INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE), reading the reply
 *     and nothing more: the floor for any header sync,
 *   - Tern's full sync, bodies included, into another new store,
 *   - mbsync (isync) syncing the same folder to a Maildir, when installed.
 * Tern's header sync and the raw client take turns for --rounds rounds
 * (5 unless told), each sync into a new store, and the medians are the
 * figures: a single pair of runs swings by a third on a virtual machine.
 * Beside the times, the CPU time this process spent in Tern's header sync
 * (every thread) and in the raw client: on a busy machine the times swing
 * with the load, the CPU time much less.
 */

#define MAX_ROUNDS 15

static double
median (const double *values,
        guint         n)
{
  double sorted[MAX_ROUNDS];

  g_assert (n > 0 && n <= MAX_ROUNDS);
  memcpy (sorted, values, n * sizeof (double));
  for (guint i = 1; i < n; i++)
    for (guint j = i; j > 0 && sorted[j - 1] > sorted[j]; j--)
      {
        double swap = sorted[j];

        sorted[j] = sorted[j - 1];
        sorted[j - 1] = swap;
      }

  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static double
elapsed_s (gint64 started)
{
  return (g_get_monotonic_time () - started) / 1e6;
}

static double
peak_rss_mb (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

/* User and system time of the whole process so far, all threads. */
static double
cpu_s (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

typedef struct
{
  char *host;
  int port;
  char *user;
  char *password;
  char *ca_file;
  char *folder;
  GTlsDatabase *database;
} Server;

/* Tern */

static gboolean
tern_sync_once (Server      *server,
                const char  *store_dir,
                gboolean     bodies,
                double      *out_seconds,
                double      *out_cpu_seconds,
                double      *out_resync_ms,
                guint       *out_count,
                GError     **error)
{
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernImapSyncStats stats = { 0 };
  gint64 started;
  double cpu_started;

  store = tern_store_open_sync (store_dir, NULL, error);
  if (store == NULL)
    return FALSE;

  sync = tern_imap_sync_new (store, "bench");
  tern_imap_sync_set_server (sync, server->host, server->port, TERN_CONNECTION_SECURITY_TLS);
  tern_imap_sync_set_login (sync, server->user, server->password);
  if (server->database != NULL)
    tern_imap_sync_set_tls_database (sync, server->database);
  tern_imap_sync_set_offline_days (sync, 0);
  tern_imap_sync_set_all_bodies (sync, bodies);

  started = g_get_monotonic_time ();
  cpu_started = cpu_s ();
  if (!tern_imap_sync_run (sync, server->folder, &stats, NULL, error))
    return FALSE;
  *out_seconds = elapsed_s (started);
  if (out_cpu_seconds != NULL)
    *out_cpu_seconds = cpu_s () - cpu_started;
  *out_count = stats.new_messages;

  if (out_resync_ms != NULL)
    {
      /* The same connection, as an app that stays online would. */
      started = g_get_monotonic_time ();
      if (!tern_imap_sync_run (sync, server->folder, &stats, NULL, error))
        return FALSE;
      *out_resync_ms = elapsed_s (started) * 1000.0;
    }

  tern_imap_sync_disconnect (sync);
  g_clear_object (&sync);
  tern_store_close (store);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  return TRUE;
}

/* The raw client */

#define RAW_ITEMS "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE"

static char *
quote (const char *text)
{
  GString *quoted = g_string_new ("\"");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (quoted, '\\');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

/* Reads responses up to the tagged one, skipping literals; counts FETCH
 * responses. */
static gboolean
read_until_tagged (GDataInputStream  *in,
                   const char        *tag,
                   guint             *out_fetches,
                   GError           **error)
{
  gsize tag_length = strlen (tag);

  for (;;)
    {
      gsize length = 0;
      g_autofree char *line = g_data_input_stream_read_line (in, &length, NULL, error);
      const char *brace;

      if (line == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The server closed the connection");
          return FALSE;
        }

      if (out_fetches != NULL && length > 2 && line[0] == '*' && strstr (line, " FETCH ") != NULL)
        (*out_fetches)++;

      /* A literal: skip its bytes, then the rest of the response. */
      while (length > 0 && line[length - 1] == '\r')
        line[--length] = '\0';
      while (length > 0 && line[length - 1] == '}' && (brace = strrchr (line, '{')) != NULL)
        {
          guint64 size = g_ascii_strtoull (brace + 1, NULL, 10);

          /* A skip may stop at the end of what is buffered. */
          while (size > 0)
            {
              gssize skipped = g_input_stream_skip (G_INPUT_STREAM (in), size, NULL, error);

              if (skipped <= 0)
                {
                  if (skipped == 0)
                    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                                 "The server closed the connection");
                  return FALSE;
                }
              size -= (guint64) skipped;
            }
          g_free (line);
          line = g_data_input_stream_read_line (in, &length, NULL, error);
          if (line == NULL)
            return FALSE;
          while (length > 0 && line[length - 1] == '\r')
            line[--length] = '\0';
        }

      if (strncmp (line, tag, tag_length) == 0 && line[tag_length] == ' ')
        {
          if (strncmp (line + tag_length + 1, "OK", 2) != 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", line);
              return FALSE;
            }
          return TRUE;
        }
    }
}

/* The TLS database of --ca-file goes to each TLS connection the raw
 * client makes. */
static void
raw_client_event_cb (GSocketClient      *client,
                     GSocketClientEvent  event,
                     GSocketConnectable *connectable,
                     GIOStream          *connection,
                     gpointer            user_data)
{
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CONNECTION (connection))
    g_tls_connection_set_database (G_TLS_CONNECTION (connection), user_data);
}

static gboolean
raw_fetch (Server     *server,
           const char *items,
           double     *out_seconds,
           double     *out_cpu_seconds,
           guint      *out_count,
           GError    **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *user = quote (server->user);
  g_autofree char *password = quote (server->password);
  g_autofree char *mailbox = quote (server->folder);
  g_autofree char *commands = NULL;
  g_autofree char *greeting = NULL;
  GOutputStream *out;
  gint64 started;
  double cpu_started;

  started = g_get_monotonic_time ();
  cpu_started = cpu_s ();
  g_socket_client_set_tls (client, TRUE);
  if (server->database != NULL)
    g_signal_connect (client, "event", G_CALLBACK (raw_client_event_cb), server->database);
  connection = g_socket_client_connect_to_host (client, server->host, server->port, NULL, error);
  if (connection == NULL)
    return FALSE;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (in), 256 * 1024);
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  greeting = g_data_input_stream_read_line (in, NULL, NULL, error);
  if (greeting == NULL)
    return FALSE;

  /* Pipelined: the three commands go at once. */
  commands = g_strdup_printf ("L LOGIN %s %s\r\nS EXAMINE %s\r\n"
                              "F UID FETCH 1:* (%s)\r\n",
                              user, password, mailbox, items);
  if (!g_output_stream_write_all (out, commands, strlen (commands), NULL, NULL, error))
    return FALSE;

  if (!read_until_tagged (in, "L", NULL, error) ||
      !read_until_tagged (in, "S", NULL, error) ||
      !read_until_tagged (in, "F", out_count, error))
    return FALSE;
  *out_seconds = elapsed_s (started);
  if (out_cpu_seconds != NULL)
    *out_cpu_seconds = cpu_s () - cpu_started;

  g_output_stream_write_all (out, "Z LOGOUT\r\n", 10, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

/* mbsync */

static gboolean
mbsync_once (Server  *server,
             double  *out_seconds,
             GError **error)
{
  g_autofree char *program = g_find_program_in_path ("mbsync");
  g_autofree char *dir = NULL;
  g_autofree char *rc = NULL;
  g_autofree char *rc_path = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  gint64 started;
  const char *argv[] = { NULL, "-q", "-c", NULL, "-a", NULL };

  if (program == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "mbsync is not installed");
      return FALSE;
    }

  dir = g_dir_make_tmp ("tern-bench-mbsync-XXXXXX", error);
  if (dir == NULL)
    return FALSE;
  maildir = g_build_filename (dir, "mail", NULL);
  g_mkdir_with_parents (maildir, 0700);
  password_file = g_build_filename (dir, "password", NULL);
  if (!g_file_set_contents (password_file, server->password, -1, error))
    goto failed;
  g_chmod (password_file, 0600);

  rc = g_strdup_printf ("IMAPAccount bench\nHost %s\nPort %d\nUser %s\n"
                        "PassCmd \"cat %s\"\nSSLType IMAPS\n%s%s%s\n"
                        "IMAPStore remote\nAccount bench\n\n"
                        "MaildirStore local\nPath %s/\nInbox %s/INBOX\n\n"
                        "Channel bench\nFar :remote:\nNear :local:\nPatterns \"%s\"\n"
                        "Create Near\nSync Pull\nSyncState *\n",
                        server->host, server->port, server->user, password_file,
                        server->ca_file != NULL ? "CertificateFile " : "",
                        server->ca_file != NULL ? server->ca_file : "",
                        server->ca_file != NULL ? "\n" : "",
                        maildir, maildir, server->folder);
  rc_path = g_build_filename (dir, "mbsyncrc", NULL);
  if (!g_file_set_contents (rc_path, rc, -1, error))
    goto failed;

  argv[0] = program;
  argv[3] = rc_path;
  started = g_get_monotonic_time ();
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                     &err, &status, error))
    goto failed;
  *out_seconds = elapsed_s (started);
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "mbsync: %s ", err != NULL ? err : "");
      goto failed;
    }

  remove_tree (dir);
  return TRUE;

failed:
  remove_tree (dir);
  return FALSE;
}

int
tern_cli_bench_imap (TernCliContext  *context,
                     int              argc,
                     char           **argv)
{
  Server server = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *header_dir = NULL;
  g_autofree char *full_dir = NULL;
  gboolean as_json = FALSE;
  gboolean no_mbsync = FALSE;
  gboolean headers_only = FALSE;
  double header_s = 0, header_cpu_s = 0, raw_s = 0, raw_cpu_s = 0, raw_cold_s = 0, full_s = 0, mbsync_s = -1, resync_ms = 0;
  double header_runs[MAX_ROUNDS], header_cpu_runs[MAX_ROUNDS], raw_runs[MAX_ROUNDS];
  double raw_cpu_runs[MAX_ROUNDS], resync_runs[MAX_ROUNDS];
  int rounds = 5;
  double raw_cold_tern_items_s = 0;
  guint header_count = 0, raw_count = 0, raw_cold_count = 0, full_count = 0;
  const GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &server.host, N_("The IMAP server"), N_("HOST") },
    { "port", 0, 0, G_OPTION_ARG_INT, &server.port, N_("Its IMAPS port (993)"), N_("PORT") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &server.user, N_("The login"), N_("USER") },
    { "password", 0, 0, G_OPTION_ARG_STRING, &server.password, N_("The password"),
      N_("PASSWORD") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &server.ca_file,
      N_("Trust only the certificate authority in FILE"), N_("FILE") },
    { "folder", 0, 0, G_OPTION_ARG_STRING, &server.folder, N_("The folder (INBOX)"),
      N_("FOLDER") },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds,
      N_("Turns of Tern's header sync and the raw client, whose medians are given (5)"),
      N_("N") },
    { "no-mbsync", 0, 0, G_OPTION_ARG_NONE, &no_mbsync, N_("Leave mbsync out"), NULL },
    { "headers-only", 0, 0, G_OPTION_ARG_NONE, &headers_only,
      N_("Leave out the full sync and mbsync"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object"), NULL },
    { NULL }
  };

  server.port = 993;
  if (!tern_cli_parse ("bench imap", "", _("Measure IMAP sync against a server, beside a raw "
                                           "client and mbsync"),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (server.host == NULL || server.user == NULL || server.password == NULL ||
      server.port <= 0 || server.port > 65535)
    {
      g_printerr (_("tern-cli bench imap: give --host, --user and --password\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (rounds < 1 || rounds > MAX_ROUNDS)
    {
      g_printerr (_("tern-cli bench imap: --rounds takes 1 to %d\n"), MAX_ROUNDS);
      return TERN_CLI_EXIT_USAGE;
    }
  if (server.folder == NULL)
    server.folder = g_strdup ("INBOX");
  if (server.ca_file != NULL)
    {
      server.database = g_tls_file_database_new (server.ca_file, &error);
      if (server.database == NULL)
        goto failed;
    }

  /* The raw client on a cold server, then with Tern's items. */
  if (!raw_fetch (&server, RAW_ITEMS, &raw_cold_s, NULL, &raw_cold_count, &error) ||
      !raw_fetch (&server, tern_imap_sync_get_header_items (), &raw_cold_tern_items_s, NULL,
                  &raw_cold_count, &error))
    goto failed;

  /* In turns: Tern's header sync into a new store, and a resync with
   * nothing new; then the raw client. */
  for (int round = 0; round < rounds; round++)
    {
      header_dir = g_dir_make_tmp ("tern-bench-imap-XXXXXX", &error);
      if (header_dir == NULL ||
          !tern_sync_once (&server, header_dir, FALSE, &header_runs[round],
                           &header_cpu_runs[round], &resync_runs[round], &header_count, &error))
        goto failed;
      remove_tree (header_dir);
      g_clear_pointer (&header_dir, g_free);

      raw_count = 0;
      if (!raw_fetch (&server, RAW_ITEMS, &raw_runs[round], &raw_cpu_runs[round], &raw_count,
                      &error))
        goto failed;
    }
  header_s = median (header_runs, rounds);
  header_cpu_s = median (header_cpu_runs, rounds);
  resync_ms = median (resync_runs, rounds);
  raw_s = median (raw_runs, rounds);
  raw_cpu_s = median (raw_cpu_runs, rounds);

  /* Tern's full sync. */
  if (!headers_only)
    {
      full_dir = g_dir_make_tmp ("tern-bench-imap-XXXXXX", &error);
      if (full_dir == NULL ||
          !tern_sync_once (&server, full_dir, TRUE, &full_s, NULL, NULL, &full_count,
                          &error))
        goto failed;
    }

  if (!no_mbsync && !headers_only)
    {
      g_autoptr(GError) mbsync_error = NULL;

      if (!mbsync_once (&server, &mbsync_s, &mbsync_error))
        {
          g_printerr ("tern-cli bench imap: %s\n", mbsync_error->message);
          mbsync_s = -1;
        }
    }

  if (full_dir != NULL)
    remove_tree (full_dir);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "messages");
      json_builder_add_int_value (builder, header_count);
      json_builder_set_member_name (builder, "tern_header_sync_s");
      json_builder_add_double_value (builder, header_s);
      json_builder_set_member_name (builder, "tern_header_sync_cpu_s");
      json_builder_add_double_value (builder, header_cpu_s);
      json_builder_set_member_name (builder, "raw_fetch_s");
      json_builder_add_double_value (builder, raw_s);
      json_builder_set_member_name (builder, "rounds");
      json_builder_add_int_value (builder, rounds);
      json_builder_set_member_name (builder, "tern_header_sync_runs_s");
      json_builder_begin_array (builder);
      for (int round = 0; round < rounds; round++)
        json_builder_add_double_value (builder, header_runs[round]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "raw_fetch_runs_s");
      json_builder_begin_array (builder);
      for (int round = 0; round < rounds; round++)
        json_builder_add_double_value (builder, raw_runs[round]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "raw_fetch_cpu_s");
      json_builder_add_double_value (builder, raw_cpu_s);
      json_builder_set_member_name (builder, "raw_fetch_cold_s");
      json_builder_add_double_value (builder, raw_cold_s);
      json_builder_set_member_name (builder, "raw_fetch_cold_tern_items_s");
      json_builder_add_double_value (builder, raw_cold_tern_items_s);
      json_builder_set_member_name (builder, "tern_full_sync_s");
      if (!headers_only)
        json_builder_add_double_value (builder, full_s);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "mbsync_s");
      if (mbsync_s >= 0)
        json_builder_add_double_value (builder, mbsync_s);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "resync_ms");
      json_builder_add_double_value (builder, resync_ms);
      json_builder_set_member_name (builder, "peak_rss_mb");
      json_builder_add_double_value (builder, peak_rss_mb ());
      json_builder_end_object (builder);

      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
    }
  else
    {
      g_autoptr(GString) header_list = g_string_new (NULL);
      g_autoptr(GString) raw_list = g_string_new (NULL);

      for (int round = 0; round < rounds; round++)
        {
          g_string_append_printf (header_list, "%s%.2f", round > 0 ? ", " : "", header_runs[round]);
          g_string_append_printf (raw_list, "%s%.2f", round > 0 ? ", " : "", raw_runs[round]);
        }

      g_print ("IMAP sync of %s (%u messages; raw client saw %u)\n", server.folder, header_count,
               raw_count);
      g_print ("  Tern header sync:    %8.2f s  (%.2fx the raw fetch; %.2f s of CPU)\n", header_s,
               raw_s > 0 ? header_s / raw_s : 0.0, header_cpu_s);
      g_print ("  raw UID FETCH 1:*:   %8.2f s  (%.2f s of CPU; %.2f s first, on the cold "
               "server)\n", raw_s, raw_cpu_s, raw_cold_s);
      if (rounds > 1)
        g_print ("  medians of %d turns:  Tern %s s; raw %s s\n", rounds, header_list->str,
                 raw_list->str);
      g_print ("  raw, Tern's items:   %8.2f s  (once before Tern, to warm the server)\n",
               raw_cold_tern_items_s);
      if (!headers_only)
        g_print ("  Tern full sync:      %8.2f s\n", full_s);
      if (mbsync_s >= 0)
        g_print ("  mbsync:              %8.2f s  (Tern full sync %.2fx mbsync)\n", mbsync_s,
                 full_s / mbsync_s);
      g_print ("  resync, no change:   %8.1f ms\n", resync_ms);
      g_print ("  peak RSS:            %8.1f MB\n", peak_rss_mb ());
    }

  g_free (server.host);
  g_free (server.user);
  g_free (server.password);
  g_free (server.ca_file);
  g_free (server.folder);
  g_clear_object (&server.database);
  return TERN_CLI_EXIT_OK;

failed:
  g_printerr ("tern-cli bench imap: %s\n", error->message);
  if (header_dir != NULL)
    remove_tree (header_dir);
  if (full_dir != NULL)
    remove_tree (full_dir);
  g_clear_object (&server.database);
  return TERN_CLI_EXIT_FAILURE;
}
