/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernPop3Downloader against a scripted POP3 server on 127.0.0.1 that keeps
 * a mailbox across sessions and applies DELE only on QUIT, as RFC 1939
 * says.  The server drops the connection at each step of a check (in the
 * middle of RETR, after RETR, at DELE, at QUIT), and a child process is
 * killed with SIGKILL after its commit and before QUIT; every time, the
 * next check must leave each message exactly once in the store and
 * nothing on the server that policy says to delete. */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "tern-pop3-downloader.h"
#include "tern-store-pop3.h"
#include "tern-test-util.h"

#define ACCOUNT "pop"

typedef enum
{
  FAULT_NONE,
  /* Half of the second RETR, then the connection closes. */
  FAULT_DROP_IN_RETR,
  /* The whole RETR reply of the first message, then it closes. */
  FAULT_DROP_AFTER_RETR,
  /* On the first DELE, it closes without a reply. */
  FAULT_DROP_AT_DELE,
  /* On QUIT, it closes without deleting anything. */
  FAULT_DROP_AT_QUIT,
  /* On the first DELE, it tells the test and waits to be killed with. */
  FAULT_HANG_AT_DELE,
} Fault;

typedef struct
{
  char *uidl;
  char *text;   /* CRLF lines */
  gboolean deleted;
} FakeMessage;

typedef struct
{
  GSocketListener *listener;
  GCancellable *stop;
  guint16 port;
  GThread *thread;
  GMutex lock;
  GCond cond;
  GPtrArray *messages;
  Fault fault;
  gboolean hung;
  guint sessions;
  guint retr_count;
} FakeServer;

static void
fake_message_free (FakeMessage *message)
{
  g_free (message->uidl);
  g_free (message->text);
  g_free (message);
}

static gboolean
send_text (GSocketConnection *client,
           const char        *text,
           gsize              length)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client));

  return g_output_stream_write_all (out, text, length, NULL, NULL, NULL);
}

static gboolean
send_line (GSocketConnection *client,
           const char        *line)
{
  g_autofree char *text = g_strconcat (line, "\r\n", NULL);

  return send_text (client, text, strlen (text));
}

static char *
receive_line (GDataInputStream *in)
{
  gsize length;
  char *line = g_data_input_stream_read_line (in, &length, NULL, NULL);

  if (line != NULL && length > 0 && line[length - 1] == '\r')
    line[length - 1] = '\0';
  return line;
}

/* The visible messages, numbered from 1 as the session sees them. */
static FakeMessage *
visible (FakeServer *server,
         GPtrArray  *session,
         guint       number)
{
  if (number == 0 || number > session->len)
    return NULL;
  return g_ptr_array_index (session, number - 1);
}

static char *
dot_stuff (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *line = text;

  while (*line != '\0')
    {
      const char *end = strstr (line, "\r\n");
      gsize length = end != NULL ? (gsize) (end - line) : strlen (line);

      if (line[0] == '.')
        g_string_append_c (out, '.');
      g_string_append_len (out, line, length);
      g_string_append (out, "\r\n");
      line += length + (end != NULL ? 2 : 0);
    }
  g_string_append (out, ".\r\n");
  return g_string_free (out, FALSE);
}

/* One session; returns when the client leaves or a fault ends it. */
static void
serve_session (FakeServer        *server,
               GSocketConnection *client)
{
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GPtrArray) session = g_ptr_array_new ();
  g_autoptr(GHashTable) marked = g_hash_table_new (NULL, NULL);
  gboolean first_session;
  char *line;

  g_mutex_lock (&server->lock);
  first_session = server->sessions++ == 0;
  for (guint i = 0; i < server->messages->len; i++)
    {
      FakeMessage *message = g_ptr_array_index (server->messages, i);

      if (!message->deleted)
        g_ptr_array_add (session, message);
    }
  g_mutex_unlock (&server->lock);

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (client)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  send_line (client, "+OK fake POP3 ready");

  while ((line = receive_line (in)) != NULL)
    {
      g_autofree char *command = line;
      Fault fault = first_session ? server->fault : FAULT_NONE;
      guint number = 0;

      if (g_str_has_prefix (command, "RETR ") || g_str_has_prefix (command, "DELE "))
        number = (guint) g_ascii_strtoull (command + 5, NULL, 10);

      if (g_str_equal (command, "CAPA"))
        {
          send_line (client, "+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.");
        }
      else if (g_str_has_prefix (command, "USER "))
        {
          send_line (client, "+OK");
        }
      else if (g_str_has_prefix (command, "PASS "))
        {
          send_line (client, g_str_equal (command + 5, "secret") ? "+OK in" : "-ERR no");
        }
      else if (g_str_equal (command, "UIDL") || g_str_equal (command, "LIST"))
        {
          GString *reply = g_string_new ("+OK\r\n");

          for (guint i = 0; i < session->len; i++)
            {
              FakeMessage *message = g_ptr_array_index (session, i);

              if (g_hash_table_contains (marked, message))
                continue;
              if (command[0] == 'U')
                g_string_append_printf (reply, "%u %s\r\n", i + 1, message->uidl);
              else
                g_string_append_printf (reply, "%u %zu\r\n", i + 1, strlen (message->text));
            }
          g_string_append (reply, ".\r\n");
          send_text (client, reply->str, reply->len);
          g_string_free (reply, TRUE);
        }
      else if (g_str_has_prefix (command, "RETR "))
        {
          FakeMessage *message = visible (server, session, number);
          g_autofree char *body = NULL;
          g_autofree char *reply = NULL;

          if (message == NULL || g_hash_table_contains (marked, message))
            {
              send_line (client, "-ERR no such message");
              continue;
            }
          server->retr_count++;
          body = dot_stuff (message->text);
          reply = g_strconcat ("+OK\r\n", body, NULL);
          if (fault == FAULT_DROP_IN_RETR && number == 2)
            {
              send_text (client, reply, strlen (reply) / 2);
              break;
            }
          send_text (client, reply, strlen (reply));
          if (fault == FAULT_DROP_AFTER_RETR)
            break;
        }
      else if (g_str_has_prefix (command, "DELE "))
        {
          FakeMessage *message = visible (server, session, number);

          if (fault == FAULT_DROP_AT_DELE)
            break;
          if (fault == FAULT_HANG_AT_DELE)
            {
              g_mutex_lock (&server->lock);
              server->hung = TRUE;
              g_cond_broadcast (&server->cond);
              g_mutex_unlock (&server->lock);
              /* Until the killed client's end closes. */
              while ((line = receive_line (in)) != NULL)
                g_free (line);
              break;
            }
          if (message == NULL || g_hash_table_contains (marked, message))
            {
              send_line (client, "-ERR no such message");
              continue;
            }
          g_hash_table_add (marked, message);
          send_line (client, "+OK deleted");
        }
      else if (g_str_equal (command, "RSET"))
        {
          g_hash_table_remove_all (marked);
          send_line (client, "+OK");
        }
      else if (g_str_equal (command, "NOOP"))
        {
          send_line (client, "+OK");
        }
      else if (g_str_equal (command, "QUIT"))
        {
          GHashTableIter iter;
          gpointer key;

          if (fault == FAULT_DROP_AT_QUIT)
            break;
          g_mutex_lock (&server->lock);
          g_hash_table_iter_init (&iter, marked);
          while (g_hash_table_iter_next (&iter, &key, NULL))
            ((FakeMessage *) key)->deleted = TRUE;
          g_mutex_unlock (&server->lock);
          send_line (client, "+OK bye");
          break;
        }
      else
        {
          send_line (client, "-ERR unknown command");
        }
    }
}

static gpointer
fake_server_thread (gpointer user_data)
{
  FakeServer *server = user_data;

  for (;;)
    {
      g_autoptr(GSocketConnection) client = NULL;

      client = g_socket_listener_accept (server->listener, NULL, server->stop, NULL);
      if (client == NULL)
        break;
      serve_session (server, client);
      g_io_stream_close (G_IO_STREAM (client), NULL, NULL);
    }
  return NULL;
}

static FakeServer *
fake_server_start (Fault fault)
{
  FakeServer *server = g_new0 (FakeServer, 1);
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
  server->fault = fault;
  server->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_message_free);
  g_mutex_init (&server->lock);
  g_cond_init (&server->cond);
  return server;
}

static void
fake_server_run (FakeServer *server)
{
  server->thread = g_thread_new ("fake-pop3", fake_server_thread, server);
}

static void
fake_server_add (FakeServer *server,
                 const char *uidl,
                 const char *text)
{
  FakeMessage *message = g_new0 (FakeMessage, 1);

  message->uidl = g_strdup (uidl);
  message->text = g_strdup (text);
  g_ptr_array_add (server->messages, message);
}

static guint
fake_server_count (FakeServer *server)
{
  guint count = 0;

  g_mutex_lock (&server->lock);
  for (guint i = 0; i < server->messages->len; i++)
    count += !((FakeMessage *) g_ptr_array_index (server->messages, i))->deleted;
  g_mutex_unlock (&server->lock);
  return count;
}

static void
fake_server_stop (FakeServer *server)
{
  g_cancellable_cancel (server->stop);
  g_socket_listener_close (server->listener);
  if (server->thread != NULL)
    g_thread_join (server->thread);
  g_object_unref (server->listener);
  g_object_unref (server->stop);
  g_ptr_array_unref (server->messages);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->cond);
  g_free (server);
}

static char *
test_mail (guint n)
{
  return g_strdup_printf ("From: Sender %u <sender%u@example.org>\r\n"
                          "To: pop@example.net\r\n"
                          "Subject: Message number %u\r\n"
                          "Message-ID: <m%u@example.org>\r\n"
                          "Date: Mon, 2 Nov 2026 10:00:%02u +0000\r\n"
                          "\r\n"
                          "Body of message %u.\r\n"
                          ".A line that starts with a dot.\r\n"
                          "Last line.\r\n",
                          n, n, n, n, n % 60, n);
}

static void
fill (FakeServer *server,
      guint       count)
{
  for (guint i = 1; i <= count; i++)
    {
      g_autofree char *uidl = g_strdup_printf ("uid-%u", i);
      g_autofree char *text = test_mail (i);

      fake_server_add (server, uidl, text);
    }
}

static TernPop3Downloader *
new_downloader (TernStore             *store,
                FakeServer            *server,
                TernPop3AfterDownload  after,
                guint                  keep_days)
{
  TernPop3Downloader *downloader = tern_pop3_downloader_new (store, ACCOUNT);

  tern_pop3_downloader_set_server (downloader, "127.0.0.1", server->port,
                                   TERN_CONNECTION_SECURITY_NONE);
  tern_pop3_downloader_set_login (downloader, "pop", "secret");
  tern_pop3_downloader_set_io_timeout (downloader, 10 * 1000);
  tern_pop3_downloader_set_after_download (downloader, after, keep_days);
  return downloader;
}

static gboolean
run_check (TernPop3Downloader     *downloader,
           TernPop3DownloadStats  *stats,
           GError                **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_pop3_downloader_run_async (downloader, NULL, tern_test_got_result_cb, &result);
  return tern_pop3_downloader_run_finish (downloader, tern_test_wait_for (&result), stats, error);
}

/* Every message of the store, checked against what the server was given:
 * each of 1..@count exactly once, byte for byte. */
static void
assert_stored_once (const char *dir,
                    guint       count)
{
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM messages"), ==, count);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (DISTINCT message_id) FROM messages"),
                   ==, count);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM folders f JOIN messages m "
                                            "ON m.folder_id = f.id WHERE f.account = 'pop' "
                                            "AND f.path = 'INBOX' AND f.role = 1"), ==, count);

  for (guint n = 1; n <= count; n++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT id FROM messages WHERE message_id = "
                                              "'m%u@example.org'", n);
      gint64 id = tern_test_query_int (db, sql);
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GBytes) raw = NULL;
      g_autofree char *expected = test_mail (n);
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (id, >, 0);
      tern_store_get_raw_async (store, id, NULL, tern_test_got_result_cb, &result);
      raw = tern_store_get_raw_finish (store, tern_test_wait_for (&result), &error);
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                       expected, strlen (expected));
    }
  sqlite3_close (db);
  tern_test_close_store (&store);
}

static void
test_downloads_and_deletes (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;

  fill (server, 100);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.on_server, ==, 100);
  g_assert_cmpuint (stats.downloaded, ==, 100);
  g_assert_cmpuint (stats.deleted, ==, 100);
  g_assert_cmpuint (fake_server_count (server), ==, 0);

  /* Nothing left, nothing twice. */
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 0);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 100);
  tern_test_remove_tree (dir);
}

/* One fault on the first check, then a clean check. */
static void
check_fault (Fault fault)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (fault);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  guint retrieved_first;

  fill (server, 5);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);

  g_assert_false (run_check (downloader, &stats, &error));
  g_assert_nonnull (error);
  g_test_message ("First check: %s", error->message);
  g_clear_error (&error);
  /* Nothing deleted on the server without a QUIT. */
  g_assert_cmpuint (fake_server_count (server), ==, 5);
  retrieved_first = server->retr_count;

  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fake_server_count (server), ==, 0);
  /* What the first check committed is not retrieved again. */
  g_assert_cmpuint (stats.downloaded + retrieved_first, >=, 5);
  g_assert_cmpuint (server->retr_count - retrieved_first, ==, stats.downloaded);
  g_assert_cmpuint (stats.deleted, ==, 5);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 5);
  tern_test_remove_tree (dir);
}

static void
test_drop_in_retr (void)
{
  check_fault (FAULT_DROP_IN_RETR);
}

static void
test_drop_after_retr (void)
{
  check_fault (FAULT_DROP_AFTER_RETR);
}

static void
test_drop_at_dele (void)
{
  check_fault (FAULT_DROP_AT_DELE);
}

static void
test_drop_at_quit (void)
{
  check_fault (FAULT_DROP_AT_QUIT);
}

static void
test_keep_on_server (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GHashTable) records = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  TernPop3Record *record;

  fill (server, 3);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 3);
  g_assert_cmpuint (fake_server_count (server), ==, 3);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (stats.deleted, ==, 0);
  g_assert_cmpuint (server->retr_count, ==, 3);

  /* Deleted here, with "delete on the server too": gone there as well. */
  tern_store_pop3_load_async (store, ACCOUNT, NULL, tern_test_got_result_cb, &result);
  records = tern_store_pop3_load_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  record = g_hash_table_lookup (records, "uid-2");
  g_assert_nonnull (record);
  g_assert_false (record->deleted_here);
  g_array_append_val (gone, record->message_id);
  tern_test_delete_messages (store, gone);

  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (fake_server_count (server), ==, 3);
  tern_pop3_downloader_set_delete_on_server (downloader, TRUE);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.deleted, ==, 1);
  g_assert_cmpuint (fake_server_count (server), ==, 2);
  g_assert_cmpuint (server->retr_count, ==, 3);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  tern_test_remove_tree (dir);
}

static void
test_keep_for_days (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  fill (server, 4);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS, 7);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 4);
  g_assert_cmpuint (fake_server_count (server), ==, 4);

  /* Two were first seen eight days ago. */
  g_assert_cmpint (sqlite3_open (index, &db), ==, SQLITE_OK);
  tern_test_exec_sql (db, "UPDATE pop3_uidls SET first_seen = first_seen - 8 * 86400 "
                          "WHERE uidl IN ('uid-1', 'uid-3')");
  sqlite3_close (db);

  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (stats.deleted, ==, 2);
  g_assert_cmpuint (fake_server_count (server), ==, 2);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 4);
  tern_test_remove_tree (dir);
}

static void
test_into_other_inbox (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  fill (server, 2);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  tern_pop3_downloader_set_target (downloader, "main");
  g_assert_true (run_check (downloader, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);

  g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM messages m JOIN folders f "
                                            "ON f.id = m.folder_id WHERE f.account = 'main' "
                                            "AND f.role = 1"), ==, 2);
  sqlite3_close (db);
  tern_test_remove_tree (dir);
}

/* A crash between the bodies' commit and the index's commit: the store's
 * next open indexes the bodies, and the records left "storing" must then
 * count as stored, not as never downloaded. */
static void
test_storing_record_settles (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  fill (server, 3);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 3);
  g_clear_object (&downloader);
  tern_test_close_store (&store);

  /* As if the index transaction of uid-2 never happened: its row back to
   * "storing" with its body's checksum, and its message row gone (the
   * body stays, in state 0, for the next open to index); and a "storing"
   * row for uid-3 whose body never made it. */
  g_assert_cmpint (sqlite3_open (index, &db), ==, SQLITE_OK);
  {
    g_autofree char *expected = test_mail (2);
    g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, expected, -1);
    g_autofree char *sql = g_strdup_printf ("UPDATE pop3_uidls SET state = 0, checksum = '%s' "
                                            "WHERE uidl = 'uid-2'", sum);

    tern_test_exec_sql (db, sql);
    tern_test_exec_sql (db, "UPDATE pop3_uidls SET state = 0, checksum = 'x', "
                            "message_id = 999 WHERE uidl = 'uid-3'");
    tern_test_exec_sql (db, "DELETE FROM messages WHERE message_id = 'm3@example.org'");
    tern_test_exec_sql (db, "DELETE FROM messages WHERE message_id = 'm2@example.org'");
  }
  sqlite3_close (db);
  {
    g_autofree char *bodies = g_build_filename (dir, "bodies.sqlite", NULL);

    g_assert_cmpint (sqlite3_open (bodies, &db), ==, SQLITE_OK);
    tern_test_exec_sql (db, "UPDATE body_meta SET state = 0 WHERE id = (SELECT max (id) - 1 "
                            "FROM bodies)");
    tern_test_exec_sql (db, "DELETE FROM body_meta WHERE id = (SELECT max (id) FROM bodies)");
    tern_test_exec_sql (db, "DELETE FROM bodies WHERE id = (SELECT max (id) FROM bodies)");
    sqlite3_close (db);
  }

  store = tern_test_open_store (dir);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  /* uid-2 settled as stored; uid-3 downloaded again. */
  g_assert_cmpuint (stats.downloaded, ==, 1);
  g_assert_cmpuint (server->retr_count, ==, 4);
  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 3);
  tern_test_remove_tree (dir);
}

static void
test_large_message_through_a_file (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autofree char *incoming = g_build_filename (dir, "incoming", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  g_autoptr(GString) big = g_string_new ("From: big@example.org\r\nSubject: Big\r\n"
                                         "Message-ID: <big@example.org>\r\n\r\n");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) raw = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *one = test_mail (1);
  g_autofree char *two = test_mail (2);
  sqlite3 *db = NULL;
  gint64 id;

  /* Long lines: few of them, as a large attachment's would be few. */
  for (guint i = 0; big->len < 2 * TERN_POP3_DOWNLOADER_STREAM_OCTETS; i++)
    {
      g_string_append_printf (big, "%sline %u ", i % 7 == 0 ? "." : "", i);
      for (guint j = 0; j < 90; j++)
        g_string_append (big, "0123456789");
      g_string_append (big, "\r\n");
    }
  fake_server_add (server, "uid-1", one);
  fake_server_add (server, "uid-big", big->str);
  fake_server_add (server, "uid-2", two);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  run_check (downloader, &stats, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stats.downloaded, ==, 3);
  g_assert_cmpuint (fake_server_count (server), ==, 0);

  g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  id = tern_test_query_int (db, "SELECT id FROM messages WHERE message_id = 'big@example.org'");
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM messages"), ==, 3);
  sqlite3_close (db);
  tern_store_get_raw_async (store, id, NULL, tern_test_got_result_cb, &result);
  raw = tern_store_get_raw_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw), big->str, big->len);
  /* The file it came through is gone. */
  {
    g_autoptr(GDir) files = g_dir_open (incoming, 0, NULL);

    g_assert_nonnull (files);
    g_assert_null (g_dir_read_name (files));
  }

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  tern_test_remove_tree (dir);
}

static void
checked_cb (TernPop3Downloader    *downloader,
            TernPop3DownloadStats *stats,
            GError                *error,
            gpointer               user_data)
{
  guint *downloaded = user_data;

  g_assert_no_error (error);
  *downloaded = stats->downloaded + 1;
}

static void
test_periodic_check (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  gint64 deadline = g_get_monotonic_time () + TERN_TEST_WAIT_SECONDS * G_USEC_PER_SEC;
  guint downloaded = 0;

  fill (server, 4);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  g_signal_connect (downloader, "checked", G_CALLBACK (checked_cb), &downloaded);
  tern_pop3_downloader_start (downloader, 15);
  while (downloaded == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  tern_pop3_downloader_stop (downloader);
  g_assert_cmpuint (downloaded, ==, 4 + 1);
  g_assert_cmpuint (fake_server_count (server), ==, 0);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 4);
  tern_test_remove_tree (dir);
}

/* The records lost (an index made again from the bodies has none): what
 * the Inbox holds byte for byte is recognised, not stored twice. */
static void
test_lost_records_no_duplicates (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  sqlite3 *db = NULL;

  fill (server, 3);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 3);

  g_assert_cmpint (sqlite3_open (index, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  tern_test_exec_sql (db, "DELETE FROM pop3_uidls");
  sqlite3_close (db);

  tern_pop3_downloader_set_after_download (downloader, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (stats.deleted, ==, 3);
  g_assert_cmpuint (fake_server_count (server), ==, 0);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 3);
  tern_test_remove_tree (dir);
}

/* Mail deleted here stays deleted when the index is made anew from the
 * bodies, and when the bodies come from before they listed what POP3 kept
 * (bodies version 1). */
static void
test_rebuilt_index_remembers_deleted (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autofree char *bodies = g_build_filename (dir, "bodies.sqlite", NULL);
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GHashTable) records = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  sqlite3 *db = NULL;

  fill (server, 3);
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.downloaded, ==, 3);

  /* uid-2 deleted here for good: its body goes. */
  tern_store_pop3_load_async (store, ACCOUNT, NULL, tern_test_got_result_cb, &result);
  records = tern_store_pop3_load_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_array_append_val (gone, ((TernPop3Record *) g_hash_table_lookup (records, "uid-2"))->message_id);
  tern_test_delete_messages (store, gone);
  g_clear_object (&downloader);
  tern_test_close_store (&store);

  g_assert_cmpint (sqlite3_open (bodies, &db), ==, SQLITE_OK);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM pop3_kept"), ==, 3);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM bodies"), ==, 2);
  /* Bodies of version 1, without the list. */
  tern_test_exec_sql (db, "DROP TABLE pop3_kept; PRAGMA user_version = 1;");
  sqlite3_close (db);

  /* Opening takes the list from the index... */
  store = tern_test_open_store (dir);
  g_assert_false (tern_store_was_rebuilt (store));
  tern_test_close_store (&store);
  g_assert_cmpint (sqlite3_open (bodies, &db), ==, SQLITE_OK);
  g_assert_cmpint (tern_test_query_int (db, "PRAGMA user_version"), ==, 2);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM pop3_kept"), ==, 3);
  sqlite3_close (db);

  /* ...which is then lost, and made again from the bodies. */
  g_assert_cmpint (g_unlink (index), ==, 0);
  store = tern_test_open_store (dir);
  g_assert_true (tern_store_was_rebuilt (store));

  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_KEEP, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  /* Nothing downloaded again: not the two kept, not the one deleted. */
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (server->retr_count, ==, 3);
  /* And the one deleted here goes from the server when told to. */
  tern_pop3_downloader_set_delete_on_server (downloader, TRUE);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.deleted, ==, 1);
  g_assert_cmpuint (fake_server_count (server), ==, 2);

  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);

  /* The server forgot it: so does the bodies' list. */
  g_assert_cmpint (sqlite3_open (bodies, &db), ==, SQLITE_OK);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM pop3_kept"), ==, 2);
  g_assert_cmpint (tern_test_query_int (db, "SELECT count (*) FROM pop3_kept "
                                            "WHERE uidl = 'uid-2'"), ==, 0);
  sqlite3_close (db);
  tern_test_remove_tree (dir);
}

/* The child of the kill test: one check, deleting after download. */
static int
child_fetch (const char *dir,
             const char *port)
{
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  g_autoptr(TernPop3Downloader) downloader = tern_pop3_downloader_new (store, ACCOUNT);
  g_autoptr(GError) error = NULL;

  tern_pop3_downloader_set_server (downloader, "127.0.0.1",
                                   (guint16) g_ascii_strtoull (port, NULL, 10),
                                   TERN_CONNECTION_SECURITY_NONE);
  tern_pop3_downloader_set_login (downloader, "pop", "secret");
  tern_pop3_downloader_set_io_timeout (downloader, 10 * 1000);
  run_check (downloader, NULL, &error);
  return error == NULL ? 0 : 1;
}

static void
test_kill_between_commit_and_quit (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autofree char *port = NULL;
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  FakeServer *server = fake_server_start (FAULT_HANG_AT_DELE);
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + TERN_TEST_WAIT_SECONDS * G_USEC_PER_SEC;
  GPid pid = 0;
  int status = 0;

  fill (server, 20);
  fake_server_run (server);
  port = g_strdup_printf ("%u", server->port);
  {
    const char *argv[] = { self_path, "--child-fetch", dir, port, NULL };

    g_spawn_async (NULL, (char **) argv, NULL,
                   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                   G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error);
    g_assert_no_error (error);
  }

  /* The first DELE comes after the first batch is committed. */
  g_mutex_lock (&server->lock);
  while (!server->hung)
    g_assert_true (g_cond_wait_until (&server->cond, &server->lock, deadline));
  g_mutex_unlock (&server->lock);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpuint (fake_server_count (server), ==, 20);
  g_assert_cmpuint (server->retr_count, ==, 20);

  store = tern_test_open_store (dir);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (stats.deleted, ==, 20);
  g_assert_cmpuint (server->retr_count, ==, 20);
  g_assert_cmpuint (fake_server_count (server), ==, 0);
  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  assert_stored_once (dir, 20);
  tern_test_remove_tree (dir);
}

static void
test_wrong_password (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-pop3-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  FakeServer *server = fake_server_start (FAULT_NONE);
  g_autoptr(TernPop3Downloader) downloader = NULL;
  g_autoptr(GError) error = NULL;

  fake_server_add (server, "", "Subject: x\r\n\r\nx\r\n");
  fake_server_run (server);
  downloader = new_downloader (store, server, TERN_POP3_AFTER_DOWNLOAD_DELETE, 0);
  tern_pop3_downloader_set_login (downloader, "pop", "wrong");
  g_assert_false (run_check (downloader, NULL, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (fake_server_count (server), ==, 1);
  g_clear_object (&downloader);
  tern_test_close_store (&store);
  fake_server_stop (server);
  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && g_str_equal (argv[1], "--child-fetch"))
    return child_fetch (argv[2], argv[3]);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pop3/downloader/downloads-and-deletes", test_downloads_and_deletes);
  g_test_add_func ("/pop3/downloader/drop-in-retr-loses-nothing", test_drop_in_retr);
  g_test_add_func ("/pop3/downloader/drop-after-retr-duplicates-nothing", test_drop_after_retr);
  g_test_add_func ("/pop3/downloader/drop-at-dele-duplicates-nothing", test_drop_at_dele);
  g_test_add_func ("/pop3/downloader/drop-at-quit-duplicates-nothing", test_drop_at_quit);
  g_test_add_func ("/pop3/downloader/keep-on-server-and-delete-when-deleted-here",
                   test_keep_on_server);
  g_test_add_func ("/pop3/downloader/keep-for-days-deletes-old", test_keep_for_days);
  g_test_add_func ("/pop3/downloader/collects-into-another-inbox", test_into_other_inbox);
  g_test_add_func ("/pop3/downloader/interrupted-commit-settles", test_storing_record_settles);
  g_test_add_func ("/pop3/downloader/kill-between-commit-and-quit",
                   test_kill_between_commit_and_quit);
  g_test_add_func ("/pop3/downloader/wrong-password-keeps-mail", test_wrong_password);
  g_test_add_func ("/pop3/downloader/large-message-through-a-file",
                   test_large_message_through_a_file);
  g_test_add_func ("/pop3/downloader/periodic-check-runs-now", test_periodic_check);
  g_test_add_func ("/pop3/downloader/rebuilt-index-remembers-mail-deleted-here",
                   test_rebuilt_index_remembers_deleted);
  g_test_add_func ("/pop3/downloader/lost-records-no-duplicates",
                   test_lost_records_no_duplicates);

  return g_test_run ();
}
