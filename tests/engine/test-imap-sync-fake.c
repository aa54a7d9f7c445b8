/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-imap-sync.h"
#include "tern-store-sync.h"
#include "tern-test-util.h"

/*
 * TernImapSync against a small scripted IMAP server, for what a real
 * server does not do on request: the connection dropped in the middle of
 * a FETCH, BYE there, garbage there.  The server holds three messages;
 * each connection gets its fault, and a later sync must find the store
 * whole, with no message twice.
 */

typedef enum
{
  FAULT_NONE,
  /* Close the connection after the first message of the second header
   * FETCH. */
  FAULT_DROP,
  /* Send BYE instead of the second header FETCH's messages. */
  FAULT_BYE,
  /* Send a line that is not IMAP in the second header FETCH. */
  FAULT_GARBAGE,
  /* Not a fault: answer two pipelined header FETCH commands as a server
   * that works on both at once may, the second's messages first, then
   * the first's, then both tagged replies in order. */
  FAULT_INTERLEAVE,
} Fault;

typedef struct
{
  GSocketListener *listener;
  guint16 port;
  GThread *thread;
  GCancellable *stop;
  /* The fault of each connection in turn; FAULT_NONE after the last. */
  Fault faults[4];
  guint n_faults;
  guint connections;
} FakeServer;

#define N_MESSAGES 3

static char *
header_of (guint32 uid)
{
  return g_strdup_printf ("From: Sender %u <sender%u@example.org>\r\n"
                          "Subject: Scripted message %u\r\n"
                          "Message-ID: <scripted-%u@example.org>\r\n"
                          "Date: Mon, 1 Jan 2024 10:0%u:00 +0000\r\n\r\n",
                          uid, uid, uid, uid, uid);
}

static void
send_text (GOutputStream *out,
           const char    *text)
{
  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

static char *
read_line (GDataInputStream *in)
{
  gsize length = 0;
  char *line = g_data_input_stream_read_line (in, &length, NULL, NULL);

  if (line != NULL && length > 0 && line[length - 1] == '\r')
    line[length - 1] = '\0';
  return line;
}

/* The UIDs of a set such as "1:2,3" or "2:*", among the server's. */
static GArray *
parse_set (const char *set)
{
  GArray *uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_auto(GStrv) parts = g_strsplit (set, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto(GStrv) ends = g_strsplit (parts[i], ":", 2);
      guint32 first = ends[0][0] == '*' ? N_MESSAGES : (guint32) g_ascii_strtoull (ends[0], NULL, 10);
      guint32 last = ends[1] == NULL ? first
                     : ends[1][0] == '*' ? N_MESSAGES : (guint32) g_ascii_strtoull (ends[1], NULL, 10);

      if (first > last)
        {
          guint32 swap = first;

          first = last;
          last = swap;
        }
      for (guint32 uid = MAX (first, 1); uid <= MIN (last, N_MESSAGES); uid++)
        g_array_append_val (uids, uid);
    }

  return uids;
}

/* Answers one connection; returns when it ends. */
static void
serve (FakeServer        *server,
       GSocketConnection *connection,
       Fault              fault)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  guint header_fetches = 0;
  g_autofree char *held_tag = NULL;
  g_autoptr(GString) held = NULL;
  char *line;

  send_text (out, "* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted server ready\r\n");

  while ((line = read_line (in)) != NULL)
    {
      g_autofree char *owned = line;
      g_auto(GStrv) words = g_strsplit (line, " ", 4);
      g_autofree char *verb = NULL;
      g_autofree char *reply = NULL;
      const char *tag = words[0];

      if (words[0] == NULL || words[1] == NULL)
        continue;
      verb = g_ascii_strup (words[1], -1);

      if (g_str_equal (verb, "CAPABILITY"))
        reply = g_strdup_printf ("* CAPABILITY IMAP4rev1 UIDPLUS\r\n%s OK done\r\n", tag);
      else if (g_str_equal (verb, "LOGIN"))
        reply = g_strdup_printf ("%s OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n", tag);
      else if (g_str_equal (verb, "LIST"))
        reply = g_strdup_printf ("* LIST (\\HasNoChildren) \"/\" INBOX\r\n%s OK done\r\n", tag);
      else if (g_str_equal (verb, "SELECT") || g_str_equal (verb, "EXAMINE"))
        reply = g_strdup_printf ("* %u EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
                                 "* OK [UIDNEXT %u] ok\r\n* FLAGS (\\Seen \\Deleted)\r\n"
                                 "%s OK [READ-WRITE] selected\r\n",
                                 N_MESSAGES, N_MESSAGES + 1, tag);
      else if (g_str_equal (verb, "LOGOUT"))
        reply = g_strdup_printf ("* BYE bye\r\n%s OK done\r\n", tag);
      else if (g_str_equal (verb, "UID") && words[2] != NULL &&
               g_ascii_strcasecmp (words[2], "SEARCH") == 0)
        reply = g_strdup_printf ("* SEARCH 1 2 3\r\n%s OK done\r\n", tag);
      else if (g_str_equal (verb, "UID") && words[2] != NULL && words[3] != NULL &&
               g_ascii_strcasecmp (words[2], "FETCH") == 0)
        {
          g_autofree char *set = g_strndup (words[3], strcspn (words[3], " "));
          g_autoptr(GArray) uids = parse_set (set);
          const char *open = strchr (words[3], '[');
          const char *close = open != NULL ? strchr (open, ']') : NULL;
          g_autofree char *section = open != NULL && close != NULL
                                     ? g_strndup (open + 1, close - open - 1) : NULL;
          GString *text = g_string_new (NULL);
          gboolean wants_header = section != NULL;

          if (wants_header)
            header_fetches++;
          if (fault == FAULT_INTERLEAVE && wants_header && header_fetches == 1)
            held = g_string_new (NULL);

          for (guint i = 0; i < uids->len; i++)
            {
              guint32 uid = g_array_index (uids, guint32, i);

              if (wants_header && header_fetches == 2 && fault != FAULT_NONE)
                {
                  if (fault == FAULT_BYE)
                    {
                      send_text (out, "* BYE the server is going away\r\n");
                      g_string_free (text, TRUE);
                      return;
                    }
                  if (fault == FAULT_GARBAGE)
                    {
                      send_text (out, "* 1 FETCH (UID ))) \x01\x02 garbage {{{\r\n");
                      g_string_free (text, TRUE);
                      return;
                    }
                  if (fault == FAULT_DROP && i == 1)
                    {
                      send_text (out, text->str);
                      g_string_free (text, TRUE);
                      return;
                    }
                }

              if (wants_header)
                {
                  g_autofree char *header = header_of (uid);

                  g_string_append_printf (text,
                                          "* %u FETCH (UID %u FLAGS () "
                                          "INTERNALDATE \"01-Jan-2024 10:00:00 +0000\" "
                                          "RFC822.SIZE 300 BODYSTRUCTURE (\"text\" \"plain\" "
                                          "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 1 NIL NIL "
                                          "NIL NIL) BODY[%s] {%zu}\r\n%s)\r\n",
                                          uid, uid, section, strlen (header), header);
                }
              else
                {
                  g_string_append_printf (text, "* %u FETCH (UID %u FLAGS ())\r\n", uid, uid);
                }
            }
          if (fault == FAULT_INTERLEAVE && wants_header && header_fetches == 1)
            {
              /* Held back until the next command comes. */
              g_string_append_len (held, text->str, text->len);
              held_tag = g_strdup (tag);
              g_string_free (text, TRUE);
              continue;
            }
          if (held != NULL && held_tag != NULL)
            {
              g_string_append (text, held->str);
              g_string_append_printf (text, "%s OK done\r\n", held_tag);
              g_clear_pointer (&held_tag, g_free);
            }
          g_string_append_printf (text, "%s OK done\r\n", tag);
          reply = g_string_free (text, FALSE);
        }
      else
        reply = g_strdup_printf ("%s OK done\r\n", tag);

      send_text (out, reply);
    }
}

static gpointer
server_thread (gpointer user_data)
{
  FakeServer *server = user_data;

  for (;;)
    {
      g_autoptr(GSocketConnection) connection = NULL;
      Fault fault;

      connection = g_socket_listener_accept (server->listener, NULL, server->stop, NULL);
      if (connection == NULL)
        break;
      fault = server->connections < server->n_faults ? server->faults[server->connections]
                                                     : FAULT_NONE;
      server->connections++;
      serve (server, connection, fault);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }

  return NULL;
}

static FakeServer *
server_start (Fault fault)
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
  server->faults[0] = fault;
  server->n_faults = 1;
  server->stop = g_cancellable_new ();
  server->thread = g_thread_new ("scripted-imap", server_thread, server);

  return server;
}

static void
server_stop (FakeServer *server)
{
  /* Cancelling ends the accept that waits for a next client. */
  g_cancellable_cancel (server->stop);
  g_thread_join (server->thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_object_unref (server->stop);
  g_free (server);
}

static gint64
count_messages (TernStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = NULL;

  tern_store_search_async (store, "scripted", 0, 0, NULL, tern_test_got_result_cb, &result);
  ids = tern_store_search_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return ids->len;
}

static void
test_fault (gconstpointer data)
{
  Fault fault = GPOINTER_TO_INT (data);
  FakeServer *server = server_start (fault);
  g_autofree char *dir = tern_test_make_temp_dir ("tern-imap-sync-fake-XXXXXX");
  TernStore *store = tern_test_open_store (dir);
  g_autoptr(TernImapSync) sync = tern_imap_sync_new (store, "scripted");
  g_autoptr(GError) error = NULL;
  TernImapSyncStats stats = { 0 };
  gint64 kept;

  tern_imap_sync_set_server (sync, "127.0.0.1", server->port, TERN_CONNECTION_SECURITY_NONE);
  tern_imap_sync_set_login (sync, "user", "secret");
  tern_imap_sync_set_offline_days (sync, 0);
  tern_imap_sync_set_first_batch (sync, 1);

  /* The first sync meets the fault in its second batch of headers. */
  g_assert_false (tern_imap_sync_run (sync, "INBOX", &stats, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("fault %d: %s", fault, error->message);
  g_clear_error (&error);
  kept = count_messages (store);
  g_assert_cmpint (kept, >=, 1);
  g_assert_cmpint (kept, <, N_MESSAGES);

  /* The next one, on a new connection, finds the rest, and nothing twice. */
  g_assert_true (tern_imap_sync_run (sync, "INBOX", &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.new_messages, ==, N_MESSAGES - kept);
  g_assert_cmpint (count_messages (store), ==, N_MESSAGES);

  g_assert_true (tern_imap_sync_run (sync, "INBOX", &stats, NULL, &error));
  g_assert_cmpuint (stats.new_messages, ==, 0);
  g_assert_cmpint (count_messages (store), ==, N_MESSAGES);

  tern_imap_sync_disconnect (sync);
  g_clear_object (&sync);
  tern_test_close_store (&store);
  server_stop (server);
  tern_test_remove_tree (dir);
}

static void
added_cb (TernStore           *store,
          TernStoreChangeKind  kind,
          GArray              *folders,
          GArray              *messages,
          GArray              *sizes)
{
  guint size = messages != NULL ? messages->len : 0;

  if (kind == TERN_STORE_CHANGE_MESSAGES_ADDED)
    g_array_append_val (sizes, size);
}

/* The messages of a later batch that come before an earlier batch is
 * done go to the store with their own batch: the newest message, asked
 * for alone, comes first and alone. */
static void
test_interleaved_batches (void)
{
  FakeServer *server = server_start (FAULT_INTERLEAVE);
  g_autofree char *dir = tern_test_make_temp_dir ("tern-imap-sync-fake-XXXXXX");
  TernStore *store = tern_test_open_store (dir);
  g_autoptr(TernImapSync) sync = tern_imap_sync_new (store, "scripted");
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GError) error = NULL;
  TernImapSyncStats stats = { 0 };

  g_signal_connect (store, "changed", G_CALLBACK (added_cb), sizes);
  tern_imap_sync_set_server (sync, "127.0.0.1", server->port, TERN_CONNECTION_SECURITY_NONE);
  tern_imap_sync_set_login (sync, "user", "secret");
  tern_imap_sync_set_offline_days (sync, 0);
  tern_imap_sync_set_first_batch (sync, 1);

  g_assert_true (tern_imap_sync_run (sync, "INBOX", &stats, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.new_messages, ==, N_MESSAGES);
  g_assert_cmpint (count_messages (store), ==, N_MESSAGES);
  tern_test_drain_main_context ();
  g_assert_cmpuint (sizes->len, ==, 2);
  g_assert_cmpuint (g_array_index (sizes, guint, 0), ==, 1);
  g_assert_cmpuint (g_array_index (sizes, guint, 1), ==, N_MESSAGES - 1);

  g_signal_handlers_disconnect_by_data (store, sizes);
  tern_imap_sync_disconnect (sync);
  g_clear_object (&sync);
  tern_test_close_store (&store);
  server_stop (server);
  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/imap-sync/fake/drop-during-fetch-then-recover",
                        GINT_TO_POINTER (FAULT_DROP), test_fault);
  g_test_add_data_func ("/imap-sync/fake/bye-during-fetch-then-recover",
                        GINT_TO_POINTER (FAULT_BYE), test_fault);
  g_test_add_data_func ("/imap-sync/fake/garbage-during-fetch-then-recover",
                        GINT_TO_POINTER (FAULT_GARBAGE), test_fault);
  g_test_add_func ("/imap-sync/fake/interleaved-batches-keep-their-own", test_interleaved_batches);

  return g_test_run ();
}
