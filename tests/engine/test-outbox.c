/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The outbox and TernOutboxSender against scripted SMTP servers on
 * 127.0.0.1: mail sent and filed, 4xx retried later with the server's
 * words, 5xx given up naming the refused addresses, a message over the
 * server's SIZE refused before upload, mail kept while the server cannot
 * be reached, the undo window, and a sender killed with SIGKILL after the
 * server took the message and before it was filed: sent again (one
 * duplicate at most), never lost. */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "tern-mime-composer.h"
#include "tern-outbox-sender.h"
#include "tern-smtp-client.h"
#include "tern-store-outbox.h"
#include "tern-test-util.h"

#define ACCOUNT "acct"

/* Whether queue() adds a Bcc recipient to the envelope. */
static gboolean with_bcc = TRUE;

typedef struct
{
  char *sender;
  GStrv recipients;
  char *data;
} Delivery;

typedef struct
{
  GSocketListener *listener;
  GCancellable *stop;
  guint16 port;
  GThread *thread;
  GMutex lock;
  GCond cond;
  /* Script */
  guint64 size_limit;
  const char *data_reply;
  gboolean hang_after_data;
  gboolean offer_dsn;
  /* What happened */
  GPtrArray *envelope_lines;
  gboolean hung;
  guint mail_commands;
  GPtrArray *deliveries;
} FakeSmtp;

static void
delivery_free (Delivery *delivery)
{
  g_free (delivery->sender);
  g_strfreev (delivery->recipients);
  g_free (delivery->data);
  g_free (delivery);
}

static void
say (GSocketConnection *client,
     const char        *text)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));
  g_autofree char *line = g_strconcat (text, "\r\n", NULL);

  g_output_stream_write_all (out, line, strlen (line), NULL, NULL, NULL);
}

static char *
hear (GDataInputStream *in)
{
  gsize length;
  char *line = g_data_input_stream_read_line (in, &length, NULL, NULL);

  if (line != NULL && length > 0 && line[length - 1] == '\r')
    line[length - 1] = '\0';
  return line;
}

static char *
address_of (const char *command)
{
  const char *open = strchr (command, '<');
  const char *close = open != NULL ? strchr (open, '>') : NULL;

  return close != NULL ? g_strndup (open + 1, close - open - 1) : g_strdup ("");
}

static void
serve (FakeSmtp          *server,
       GSocketConnection *client)
{
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GPtrArray) recipients = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sender = NULL;
  char *line;

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (client)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  say (client, "220 fake ESMTP");

  while ((line = hear (in)) != NULL)
    {
      g_autofree char *command = line;

      if (g_ascii_strncasecmp (command, "EHLO", 4) == 0)
        {
          g_autofree char *size = NULL;

          say (client, "250-fake");
          say (client, "250-8BITMIME");
          if (server->offer_dsn)
            say (client, "250-DSN");
          if (server->size_limit > 0)
            {
              size = g_strdup_printf ("250-SIZE %" G_GUINT64_FORMAT, server->size_limit);
              say (client, size);
            }
          say (client, "250 ENHANCEDSTATUSCODES");
        }
      else if (g_ascii_strncasecmp (command, "MAIL FROM:", 10) == 0)
        {
          g_mutex_lock (&server->lock);
          g_ptr_array_add (server->envelope_lines, g_strdup (command));
          g_mutex_unlock (&server->lock);
          server->mail_commands++;
          g_free (sender);
          sender = address_of (command);
          g_ptr_array_set_size (recipients, 0);
          say (client, "250 2.1.0 ok");
        }
      else if (g_ascii_strncasecmp (command, "RCPT TO:", 8) == 0)
        {
          g_autofree char *address = address_of (command);

          g_mutex_lock (&server->lock);
          g_ptr_array_add (server->envelope_lines, g_strdup (command));
          g_mutex_unlock (&server->lock);
          if (strstr (address, "unknown") != NULL)
            {
              g_autofree char *reply = g_strdup_printf ("550 5.1.1 <%s>: no such user", address);

              say (client, reply);
            }
          else
            {
              g_ptr_array_add (recipients, g_steal_pointer (&address));
              say (client, "250 2.1.5 ok");
            }
        }
      else if (g_ascii_strcasecmp (command, "DATA") == 0)
        {
          GString *data = g_string_new (NULL);
          Delivery *delivery;

          say (client, "354 go ahead");
          while ((line = hear (in)) != NULL && !g_str_equal (line, "."))
            {
              g_string_append (data, line[0] == '.' ? line + 1 : line);
              g_string_append (data, "\r\n");
              g_free (line);
            }
          g_free (line);

          delivery = g_new0 (Delivery, 1);
          delivery->sender = g_strdup (sender);
          g_ptr_array_add (recipients, NULL);
          delivery->recipients = g_strdupv ((char **) recipients->pdata);
          g_ptr_array_set_size (recipients, 0);
          delivery->data = g_string_free (data, FALSE);

          g_mutex_lock (&server->lock);
          if (server->hang_after_data)
            {
              /* Taken, but the client never hears so. */
              g_ptr_array_add (server->deliveries, delivery);
              server->hung = TRUE;
              g_cond_broadcast (&server->cond);
              g_mutex_unlock (&server->lock);
              while ((line = hear (in)) != NULL)
                g_free (line);
              return;
            }
          if (g_str_has_prefix (server->data_reply, "250"))
            g_ptr_array_add (server->deliveries, delivery);
          else
            delivery_free (delivery);
          g_mutex_unlock (&server->lock);
          say (client, server->data_reply);
        }
      else if (g_ascii_strcasecmp (command, "RSET") == 0 ||
               g_ascii_strcasecmp (command, "NOOP") == 0)
        {
          say (client, "250 2.0.0 ok");
        }
      else if (g_ascii_strcasecmp (command, "QUIT") == 0)
        {
          say (client, "221 2.0.0 bye");
          break;
        }
      else
        {
          say (client, "502 5.5.2 unknown command");
        }
    }
}

static gpointer
fake_smtp_thread (gpointer user_data)
{
  FakeSmtp *server = user_data;

  for (;;)
    {
      g_autoptr(GSocketConnection) client = NULL;

      client = g_socket_listener_accept (server->listener, NULL, server->stop, NULL);
      if (client == NULL)
        break;
      serve (server, client);
      g_io_stream_close (G_IO_STREAM (client), NULL, NULL);
    }
  return NULL;
}

static FakeSmtp *
fake_smtp_start (void)
{
  FakeSmtp *server = g_new0 (FakeSmtp, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  server->listener = g_socket_listener_new ();
  g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  server->stop = g_cancellable_new ();
  server->data_reply = "250 2.0.0 queued";
  server->deliveries = g_ptr_array_new_with_free_func ((GDestroyNotify) delivery_free);
  server->envelope_lines = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&server->lock);
  g_cond_init (&server->cond);
  server->thread = g_thread_new ("fake-smtp", fake_smtp_thread, server);
  return server;
}

static guint
fake_smtp_delivered (FakeSmtp *server)
{
  guint count;

  g_mutex_lock (&server->lock);
  count = server->deliveries->len;
  g_mutex_unlock (&server->lock);
  return count;
}

static void
fake_smtp_stop (FakeSmtp *server)
{
  g_cancellable_cancel (server->stop);
  g_socket_listener_close (server->listener);
  g_thread_join (server->thread);
  g_object_unref (server->listener);
  g_object_unref (server->stop);
  g_ptr_array_unref (server->deliveries);
  g_ptr_array_unref (server->envelope_lines);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->cond);
  g_free (server);
}

/* The store side */

static GBytes *
compose (const char *subject,
         const char *to,
         gsize       body_size)
{
  g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new ("Hello,\n");
  GBytes *raw;

  for (gsize i = 0; text->len < body_size; i++)
    g_string_append_printf (text, "Line %" G_GSIZE_FORMAT " of a long message.\n", i);
  g_string_append (text, ".a line with a dot\n");
  g_assert_true (tern_mime_composer_set_from (composer, "Me", "me@example.org", &error));
  g_assert_true (tern_mime_composer_add_recipients (composer, TERN_RECIPIENT_TO, to, &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_BCC, NULL,
                                                   "secret@example.net", &error));
  tern_mime_composer_set_subject (composer, subject);
  tern_mime_composer_set_text (composer, text->str);
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  return raw;
}

static TernOutboxItem *
queue (TernStore  *store,
       const char *subject,
       const char *to,
       gsize       body_size,
       gint64      send_after)
{
  g_autoptr(GBytes) raw = compose (subject, to, body_size);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = g_strsplit (to, ",", -1);
  g_autoptr(GPtrArray) envelope = g_ptr_array_new_with_free_func (g_free);
  TernOutboxItem *item;

  for (guint i = 0; recipients[i] != NULL; i++)
    g_ptr_array_add (envelope, g_strstrip (g_strdup (recipients[i])));
  if (with_bcc)
    g_ptr_array_add (envelope, g_strdup ("secret@example.net"));
  g_ptr_array_add (envelope, NULL);
  tern_store_outbox_add_async (store, ACCOUNT, "me@example.org",
                               (const char * const *) envelope->pdata, raw, send_after, NULL,
                               tern_test_got_result_cb, &result);
  item = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (item);
  return item;
}

static GPtrArray *
list_outbox (TernStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *items;

  tern_store_outbox_list_async (store, NULL, NULL, tern_test_got_result_cb, &result);
  items = tern_store_outbox_list_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return items;
}

static GBytes *
raw_of (TernStore *store,
        gint64     id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *raw;

  tern_store_get_raw_async (store, id, NULL, tern_test_got_result_cb, &result);
  raw = tern_store_get_raw_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return raw;
}

static TernOutboxSender *
new_sender (TernStore *store,
            guint16    port)
{
  TernOutboxSender *sender = tern_outbox_sender_new (store, ACCOUNT);

  tern_outbox_sender_set_server (sender, "127.0.0.1", port, TERN_CONNECTION_SECURITY_NONE);
  tern_outbox_sender_set_io_timeout (sender, 10 * 1000);
  tern_outbox_sender_set_sent_copy (sender, TERN_SENT_COPY_LOCAL);
  return sender;
}

static gboolean
run_sender (TernOutboxSender    *sender,
            TernOutboxRunStats  *stats,
            GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_outbox_sender_run_async (sender, NULL, tern_test_got_result_cb, &result);
  return tern_outbox_sender_run_finish (sender, tern_test_wait_for (&result), stats, error);
}

static gint64
query (const char *dir,
       const char *sql)
{
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  sqlite3 *db = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  value = tern_test_query_int (db, sql);
  sqlite3_close (db);
  return value;
}

static void
exec (const char *dir,
      const char *sql)
{
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (index, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  tern_test_exec_sql (db, sql);
  sqlite3_close (db);
}

static void
test_sends_and_files (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = new_sender (store, server->port);
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOutboxItem) first = NULL;
  g_autoptr(TernOutboxItem) second = NULL;

  first = queue (store, "First", "ann@example.org, bob@example.org", 100, 0);
  second = queue (store, "Second", "ann@example.org", 200 * 1024, 0);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM messages m JOIN folders f "
                               "ON f.id = m.folder_id WHERE f.path = 'Outbox'"), ==, 2);

  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.sent, ==, 2);
  g_assert_cmpuint (stats.failed, ==, 0);
  g_assert_cmpuint (fake_smtp_delivered (server), ==, 2);

  /* What the server got is what the store kept, byte for byte; the Bcc
   * recipient is in the envelope only. */
  for (guint i = 0; i < 2; i++)
    {
      Delivery *delivery = g_ptr_array_index (server->deliveries, i);
      g_autoptr(GBytes) raw = raw_of (store, i == 0 ? first->message_id : second->message_id);

      g_assert_cmpmem (delivery->data, strlen (delivery->data),
                       g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
      g_assert_cmpstr (delivery->sender, ==, "me@example.org");
      g_assert_true (g_strv_contains ((const char * const *) delivery->recipients,
                                      "secret@example.net"));
      g_assert_null (strstr (delivery->data, "secret@example.net"));
    }
  g_assert_cmpuint (g_strv_length (((Delivery *) g_ptr_array_index (server->deliveries,
                                                                    0))->recipients), ==, 3);

  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 0);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM messages m JOIN folders f "
                               "ON f.id = m.folder_id WHERE f.account = 'acct' "
                               "AND f.role = 2"), ==, 2);
  g_assert_cmpint (query (dir, "SELECT total FROM folders WHERE path = 'Outbox'"), ==, 0);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

static void
test_upload_marked (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = new_sender (store, server->port);
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernFolder) sent = NULL;
  g_autofree char *sql = NULL;

  /* An IMAP account whose Sent folder the store knows. */
  tern_store_ensure_folder_async (store, ACCOUNT, "Sent Items", TERN_FOLDER_ROLE_SENT, NULL,
                                  tern_test_got_result_cb, &result);
  sent = tern_store_ensure_folder_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  tern_outbox_sender_set_sent_copy (sender, TERN_SENT_COPY_UPLOAD);
  item = queue (store, "Upload me", "ann@example.org", 100, 0);
  g_assert_true (run_sender (sender, NULL, &error));
  g_assert_no_error (error);

  sql = g_strdup_printf ("SELECT count (*) FROM pending_actions WHERE account = 'acct' "
                         "AND kind = %d AND folder_id = %" G_GINT64_FORMAT " AND message_ids = "
                         "'%" G_GINT64_FORMAT "'", TERN_PENDING_ACTION_APPEND,
                         tern_folder_get_id (sent), item->message_id);
  tern_test_close_store (&store);
  g_assert_cmpint (query (dir, sql), ==, 1);
  g_free (sql);
  sql = g_strdup_printf ("SELECT folder_id FROM messages WHERE id = %" G_GINT64_FORMAT,
                         item->message_id);
  g_assert_cmpint (query (dir, sql), ==, tern_folder_get_id (sent));
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

static void
test_temporary_failure_retried (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = new_sender (store, server->port);
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  TernOutboxItem *waiting;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  server->data_reply = "451 4.3.0 Mailbox store is busy, try later";
  item = queue (store, "Later", "ann@example.org", 100, 0);
  {
    g_auto(TernOutboxRunStats) stats = { 0 };

    g_assert_true (run_sender (sender, &stats, &error));
    g_assert_cmpuint (stats.retried, ==, 1);
    g_assert_cmpuint (stats.sent, ==, 0);
  }
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 1);
  waiting = g_ptr_array_index (items, 0);
  g_assert_cmpint (waiting->state, ==, TERN_OUTBOX_STATE_QUEUED);
  g_assert_nonnull (strstr (waiting->last_error, "try later"));
  g_assert_cmpint (waiting->next_attempt, >=, now + TERN_OUTBOX_RETRY_FIRST_SECONDS);
  g_assert_cmpuint (waiting->attempts, ==, 1);

  /* Not yet due: nothing is tried. */
  {
    g_auto(TernOutboxRunStats) stats = { 0 };

    g_assert_true (run_sender (sender, &stats, &error));
    g_assert_cmpuint (stats.retried + stats.sent, ==, 0);
    g_assert_cmpuint (server->mail_commands, ==, 1);
  }

  /* Due, and the server is better. */
  exec (dir, "UPDATE outbox SET next_attempt = 0");
  server->data_reply = "250 2.0.0 queued";
  {
    g_auto(TernOutboxRunStats) stats = { 0 };

    g_assert_true (run_sender (sender, &stats, &error));
    g_assert_cmpuint (stats.sent, ==, 1);
  }
  g_assert_cmpuint (fake_smtp_delivered (server), ==, 1);
  g_clear_pointer (&items, g_ptr_array_unref);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 0);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

static void
test_permanent_failures (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = new_sender (store, server->port);
  g_autoptr(TernOutboxItem) partly = NULL;
  g_autoptr(TernOutboxItem) nobody = NULL;
  g_autoptr(TernOutboxItem) rejected = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  gboolean noted = FALSE;

  partly = queue (store, "Partly", "ann@example.org, unknown1@example.org", 100, 0);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_cmpuint (stats.sent, ==, 1);
  for (guint i = 0; i < stats.notes->len; i++)
    noted |= strstr (g_ptr_array_index (stats.notes, i), "unknown1@example.org") != NULL;
  g_assert_true (noted);
  tern_outbox_run_stats_clear (&stats);

  /* Refused for every recipient: given up, the refused addresses named. */
  with_bcc = FALSE;
  nobody = queue (store, "Nobody", "unknown2@example.org", 100, 0);
  with_bcc = TRUE;
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_cmpuint (stats.failed, ==, 1);
  tern_outbox_run_stats_clear (&stats);

  /* Refused at DATA. */
  server->data_reply = "554 5.7.1 Message rejected as spam";
  rejected = queue (store, "Spam?", "ann@example.org", 100, 0);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_cmpuint (stats.failed, ==, 1);

  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 2);
  for (guint i = 0; i < items->len; i++)
    {
      TernOutboxItem *item = g_ptr_array_index (items, i);

      g_assert_cmpint (item->state, ==, TERN_OUTBOX_STATE_FAILED);
      if (item->id == nobody->id)
        g_assert_nonnull (strstr (item->last_error, "unknown2@example.org"));
      else
        g_assert_nonnull (strstr (item->last_error, "rejected as spam"));
    }
  /* Failed messages stay, in the Outbox folder. */
  g_assert_cmpint (query (dir, "SELECT total FROM folders WHERE path = 'Outbox'"), ==, 2);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

static void
test_too_big_refused_before_upload (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = new_sender (store, server->port);
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  TernOutboxItem *failed;

  server->size_limit = 4000;
  item = queue (store, "Big", "ann@example.org", 20000, 0);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_cmpuint (stats.failed, ==, 1);
  g_assert_cmpuint (server->mail_commands, ==, 0);
  items = list_outbox (store);
  failed = g_ptr_array_index (items, 0);
  g_assert_cmpint (failed->state, ==, TERN_OUTBOX_STATE_FAILED);
  g_assert_nonnull (strstr (failed->last_error, "4000"));

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

static void
test_offline_keeps_queue (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  guint16 port = server->port;
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(TernOutboxItem) one = NULL;
  g_autoptr(TernOutboxItem) two = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };

  /* Nothing listens on the port any more. */
  fake_smtp_stop (server);
  sender = new_sender (store, port);
  one = queue (store, "One", "ann@example.org", 100, 0);
  two = queue (store, "Two", "ann@example.org", 100, 0);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_no_error (error);
  g_assert_true (stats.offline);
  g_assert_cmpuint (stats.sent + stats.failed, ==, 0);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 2);
  for (guint i = 0; i < items->len; i++)
    g_assert_cmpint (((TernOutboxItem *) g_ptr_array_index (items, i))->state, ==,
                     TERN_OUTBOX_STATE_QUEUED);
  g_assert_nonnull (((TernOutboxItem *) g_ptr_array_index (items, 0))->last_error);

  tern_test_close_store (&store);
  tern_test_remove_tree (dir);
}

static void
test_undo_window (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = new_sender (store, server->port);
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  item = queue (store, "Oops", "ann@example.org", 100, now + 3600);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_cmpuint (stats.sent, ==, 0);
  g_assert_cmpuint (server->mail_commands, ==, 0);

  tern_store_outbox_cancel_async (store, item->id, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_outbox_change_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 0);
  /* Not lost: in Drafts. */
  g_assert_cmpint (query (dir, "SELECT count (*) FROM messages m JOIN folders f "
                               "ON f.id = m.folder_id WHERE f.role = 3 AND m.subject = 'Oops'"),
                   ==, 1);
  g_assert_true (run_sender (sender, NULL, &error));
  g_assert_cmpuint (fake_smtp_delivered (server), ==, 0);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

/* A message whose header names Bcc recipients never enters the queue:
 * every recipient would see them.  Bcc is only the envelope's. */
static void
test_bcc_header_refused (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  const char *const envelope[] = { "ann@example.org", "hidden@example.net", NULL };
  const char *const headers[] = {
    "Bcc: hidden@example.net\r\n",
    "bcc: hidden@example.net\r\n",
    "BCC : hidden@example.net\n",
    "BcC:\r\n",
  };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autofree char *text = g_strconcat ("From: me@example.org\r\nTo: ann@example.org\r\n",
                                           headers[i], "Subject: Hidden\r\n\r\nBody\r\n",
                                           NULL);
      g_autoptr(GBytes) raw = g_bytes_new (text, strlen (text));
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(TernOutboxItem) item = NULL;

      tern_store_outbox_add_async (store, "work", "me@example.org", envelope, raw, now, NULL,
                                   tern_test_got_result_cb, &result);
      item = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
      g_assert_null (item);
      g_assert_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID);
    }
  {
    /* "Bcc" in the body, or a field whose name only starts so, is no Bcc
     * header. */
    const char *text = "From: me@example.org\r\nTo: ann@example.org\r\n"
                       "Bcc-Note: none\r\nSubject: Bcc: in the subject\r\n\r\n"
                       "Bcc: hidden@example.net\r\n";
    g_autoptr(GBytes) raw = g_bytes_new_static (text, strlen (text));
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(TernOutboxItem) item = NULL;

    tern_store_outbox_add_async (store, "work", "me@example.org", envelope, raw, now, NULL,
                                 tern_test_got_result_cb, &result);
    item = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_nonnull (item);
  }
  {
    g_autoptr(GPtrArray) items = list_outbox (store);

    g_assert_cmpuint (items->len, ==, 1);
  }

  tern_test_close_store (&store);
  tern_test_remove_tree (dir);
}

/* Removing an account takes its unsent mail, queued changes and POP3
 * records out of the store, and leaves another account's. */
static void
test_forget_account (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autofree char *bodies = g_build_filename (dir, "bodies.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  g_autoptr(TernOutboxItem) mine = NULL;
  g_autoptr(TernOutboxItem) theirs = NULL;
  g_autoptr(GBytes) raw = compose ("Other", "bob@example.org", 100);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *const envelope[] = { "bob@example.org", NULL };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *body_count = NULL;
  sqlite3 *db;

  mine = queue (store, "Leaving", "ann@example.org", 100, now + 3600);
  tern_store_outbox_add_async (store, "other", "other@example.org", envelope, raw, now + 3600,
                               NULL, tern_test_got_result_cb, &result);
  theirs = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  for (guint i = 0; i < 2; i++)
    {
      const char *account = i == 0 ? ACCOUNT : "other";
      g_autofree char *sql = g_strdup_printf (
        "INSERT INTO pending_actions (account, kind, message_ids, created) "
        "VALUES ('%s', 1, '1', 0); "
        "INSERT INTO pop3_uidls (account, uidl, state, first_seen) "
        "VALUES ('%s', 'uidl-1', 1, 0);", account, account);

      exec (dir, sql);
    }

  tern_store_forget_account_async (store, ACCOUNT, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_forget_account_finish (store, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);

  g_assert_cmpint (query (dir, "SELECT count (*) FROM outbox WHERE account = 'acct'"), ==, 0);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM pending_actions WHERE account = 'acct'"),
                   ==, 0);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM pop3_uidls WHERE account = 'acct'"), ==, 0);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM outbox WHERE account = 'other'"), ==, 1);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM pending_actions WHERE account = 'other'"),
                   ==, 1);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM pop3_uidls WHERE account = 'other'"), ==, 1);

  /* The unsent message is gone from the Outbox folder, body and all; the
   * other account's stays. */
  g_assert_cmpint (query (dir, "SELECT count (*) FROM messages WHERE subject = 'Leaving'"), ==, 0);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM messages WHERE subject = 'Other'"), ==, 1);
  g_assert_cmpint (query (dir, "SELECT total FROM folders WHERE path = 'Outbox'"), ==, 1);
  g_assert_cmpint (sqlite3_open_v2 (bodies, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  body_count = g_strdup_printf ("SELECT count (*) FROM bodies WHERE id = %" G_GINT64_FORMAT,
                                theirs->message_id);
  g_assert_cmpint (tern_test_query_int (db, body_count), ==, 1);
  g_free (body_count);
  body_count = g_strdup_printf ("SELECT count (*) FROM bodies WHERE id = %" G_GINT64_FORMAT,
                                mine->message_id);
  g_assert_cmpint (tern_test_query_int (db, body_count), ==, 0);
  sqlite3_close (db);

  tern_test_close_store (&store);
  tern_test_remove_tree (dir);
}

/* A crash after the body's commit and before the index's: the next open
 * indexes the body into the Outbox folder, and the row left "storing" is
 * queued and sent; a row whose body never made it is dropped. */
static void
test_interrupted_add_recovered (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autofree char *bodies = g_build_filename (dir, "bodies.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_autofree char *sql = NULL;
  sqlite3 *db = NULL;

  item = queue (store, "Interrupted", "ann@example.org", 100, 0);
  tern_test_close_store (&store);

  sql = g_strdup_printf ("UPDATE outbox SET state = 4 WHERE id = %" G_GINT64_FORMAT, item->id);
  exec (dir, sql);
  g_free (sql);
  sql = g_strdup_printf ("DELETE FROM messages WHERE id = %" G_GINT64_FORMAT, item->message_id);
  exec (dir, sql);
  exec (dir, "INSERT INTO outbox (account, identity, body_id, recipients, state, created) "
             "VALUES ('acct', 'me@example.org', 9999, 'ann@example.org', 4, 0)");
  g_assert_cmpint (sqlite3_open (bodies, &db), ==, SQLITE_OK);
  tern_test_exec_sql (db, "UPDATE body_meta SET state = 0");
  sqlite3_close (db);

  store = tern_test_open_store (dir);
  sender = new_sender (store, server->port);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.sent, ==, 1);
  g_assert_cmpuint (fake_smtp_delivered (server), ==, 1);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 0);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  tern_test_remove_tree (dir);
}

static int
child_send (const char *dir,
            const char *port)
{
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  g_autoptr(TernOutboxSender) sender = NULL;

  sender = new_sender (store, (guint16) g_ascii_strtoull (port, NULL, 10));
  tern_outbox_sender_set_io_timeout (sender, 60 * 1000);
  return run_sender (sender, NULL, NULL) ? 0 : 1;
}

static void
test_kill_after_data (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *port = NULL;
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + TERN_TEST_WAIT_SECONDS * G_USEC_PER_SEC;
  g_auto(TernOutboxRunStats) stats = { 0 };
  GPid pid = 0;
  int status = 0;

  item = queue (store, "Crash", "ann@example.org", 1000, 0);
  tern_test_close_store (&store);

  server->hang_after_data = TRUE;
  port = g_strdup_printf ("%u", server->port);
  {
    const char *argv[] = { self_path, "--child-send", dir, port, NULL };

    g_spawn_async (NULL, (char **) argv, NULL,
                   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                   G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error);
    g_assert_no_error (error);
  }
  g_mutex_lock (&server->lock);
  while (!server->hung)
    g_assert_true (g_cond_wait_until (&server->cond, &server->lock, deadline));
  server->hang_after_data = FALSE;
  g_mutex_unlock (&server->lock);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpuint (fake_smtp_delivered (server), ==, 1);

  /* Still in the outbox, "sending"; the next run sends it again. */
  store = tern_test_open_store (dir);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 1);
  g_assert_cmpint (((TernOutboxItem *) g_ptr_array_index (items, 0))->state, ==,
                   TERN_OUTBOX_STATE_SENDING);
  sender = new_sender (store, server->port);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.sent, ==, 1);
  g_assert_cmpuint (fake_smtp_delivered (server), ==, 2);
  g_assert_cmpstr (((Delivery *) g_ptr_array_index (server->deliveries, 0))->data, ==,
                   ((Delivery *) g_ptr_array_index (server->deliveries, 1))->data);
  g_clear_pointer (&items, g_ptr_array_unref);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 0);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  g_assert_cmpint (query (dir, "SELECT count (*) FROM messages WHERE subject = 'Crash'"), ==, 1);
  tern_test_remove_tree (dir);
}

/* Delivery status notifications asked for when the message was queued go
 * with every try: RET and ENVID (stable per item) on MAIL FROM, NOTIFY and
 * ORCPT on RCPT TO; a server without DSN gets none and the run says so. */
static void
test_dsn_requested (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-outbox-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeSmtp *server = fake_smtp_start ();
  FakeSmtp *plain = fake_smtp_start ();
  g_autoptr(TernOutboxSender) sender = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_auto(TernOutboxRunStats) plain_stats = { 0 };
  g_autoptr(GBytes) raw = compose ("Receipt", "ann@example.org", 10);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(TernOutboxItem) undelivered = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *mail = NULL;
  const char *envelope[] = { "ann@example.org", NULL };
  guint notify = TERN_SMTP_DSN_NOTIFY_FAILURE | TERN_SMTP_DSN_NOTIFY_DELAY
                 | TERN_SMTP_DSN_NOTIFY_SUCCESS;
  gboolean noted = FALSE;

  server->offer_dsn = TRUE;
  tern_store_outbox_add_full_async (store, ACCOUNT, "me@example.org", envelope, raw, 0,
                                    notify, TERN_SMTP_DSN_RET_HDRS, NULL,
                                    tern_test_got_result_cb, &result);
  item = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (item->dsn_notify, ==, notify);
  g_assert_cmpuint (item->dsn_ret, ==, TERN_SMTP_DSN_RET_HDRS);
  g_assert_cmpint (query (dir, "SELECT dsn_notify FROM outbox"), ==, notify);
  items = list_outbox (store);
  g_assert_cmpuint (items->len, ==, 1);
  g_assert_cmpuint (((TernOutboxItem *) items->pdata[0])->dsn_notify, ==, notify);
  g_assert_cmpuint (((TernOutboxItem *) items->pdata[0])->dsn_ret, ==, TERN_SMTP_DSN_RET_HDRS);
  g_clear_pointer (&items, g_ptr_array_unref);

  sender = new_sender (store, server->port);
  g_assert_true (run_sender (sender, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.sent, ==, 1);
  mail = g_strdup_printf ("MAIL FROM:<me@example.org> RET=HDRS ENVID=tern-%" G_GINT64_FORMAT
                          "-%" G_GINT64_FORMAT, item->created, item->id);
  g_assert_cmpuint (server->envelope_lines->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (server->envelope_lines, 0), ==, mail);
  g_assert_cmpstr (g_ptr_array_index (server->envelope_lines, 1), ==,
                   "RCPT TO:<ann@example.org> NOTIFY=SUCCESS,FAILURE,DELAY "
                   "ORCPT=rfc822;ann@example.org");
  g_clear_object (&sender);

  /* The same request to a server without DSN: sent without it, and said. */
  g_clear_object (&result);
  tern_store_outbox_add_full_async (store, ACCOUNT, "me@example.org", envelope, raw, 0,
                                    notify, TERN_SMTP_DSN_RET_HDRS, NULL,
                                    tern_test_got_result_cb, &result);
  undelivered = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  sender = new_sender (store, plain->port);
  g_assert_true (run_sender (sender, &plain_stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (plain_stats.sent, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (plain->envelope_lines, 0), ==,
                   "MAIL FROM:<me@example.org>");
  g_assert_cmpstr (g_ptr_array_index (plain->envelope_lines, 1), ==, "RCPT TO:<ann@example.org>");
  for (guint i = 0; plain_stats.notes != NULL && i < plain_stats.notes->len; i++)
    if (strstr (g_ptr_array_index (plain_stats.notes, i), "DSN") != NULL)
      noted = TRUE;
  g_assert_true (noted);
  g_clear_object (&sender);

  tern_test_close_store (&store);
  fake_smtp_stop (server);
  fake_smtp_stop (plain);
  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && g_str_equal (argv[1], "--child-send"))
    return child_send (argv[2], argv[3]);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/outbox/sends-and-files-in-sent", test_sends_and_files);
  g_test_add_func ("/outbox/marks-sent-copy-for-upload", test_upload_marked);
  g_test_add_func ("/outbox/temporary-failure-retried-later", test_temporary_failure_retried);
  g_test_add_func ("/outbox/permanent-failures-name-addresses", test_permanent_failures);
  g_test_add_func ("/outbox/too-big-refused-before-upload", test_too_big_refused_before_upload);
  g_test_add_func ("/outbox/offline-keeps-queue", test_offline_keeps_queue);
  g_test_add_func ("/outbox/undo-window-cancels", test_undo_window);
  g_test_add_func ("/outbox/bcc-header-refused", test_bcc_header_refused);
  g_test_add_func ("/outbox/forget-account", test_forget_account);
  g_test_add_func ("/outbox/kill-after-data-duplicates-never-loses", test_kill_after_data);
  g_test_add_func ("/outbox/interrupted-add-recovered", test_interrupted_add_recovered);
  g_test_add_func ("/outbox/dsn-requested-reaches-server", test_dsn_requested);

  return g_test_run ();
}
