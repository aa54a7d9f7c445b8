/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Tern's mail engines end to end against the real Dovecot and Postfix of
 * tests/servers/: a POP3 mailbox downloaded into the store and emptied; a
 * message composed with text, HTML, an inline image, an attachment and a
 * Bcc recipient, queued in the outbox, sent through Postfix submission,
 * and received through POP3 (Tern's downloader) and IMAP (a raw fetch),
 * compared header by header and byte for byte; and a message waiting
 * while the submission server's certificate is not trusted, which is
 * sent once the user pinned that certificate. */

#include <string.h>
#include <gmime/gmime.h>

#include "tern-engine.h"
#include "tern-mime-composer.h"
#include "tern-outbox-sender.h"
#include "tern-pop3-client.h"
#include "tern-pop3-downloader.h"
#include "tern-store-outbox.h"
#include "tern-store-pop3.h"
#include "tern-test-servers.h"
#include "tern-test-util.h"
#include "tern-test-wire.h"
#include "tern-trust.h"

#define DELIVERY_TIMEOUT_USEC (30 * G_USEC_PER_SEC)

static TernPop3Downloader *
new_downloader (TernTestServers       *servers,
                TernStore             *store,
                const TernTestUser    *user,
                TernPop3AfterDownload  after)
{
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  TernPop3Downloader *downloader = tern_pop3_downloader_new (store, user->login);

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  tern_pop3_downloader_set_server (downloader, servers->host, servers->pop3_port,
                                   TERN_CONNECTION_SECURITY_STARTTLS);
  tern_pop3_downloader_set_tls_database (downloader, database);
  tern_pop3_downloader_set_local_address (downloader, servers->remote_client_address);
  tern_pop3_downloader_set_login (downloader, user->login, user->password);
  tern_pop3_downloader_set_io_timeout (downloader, 30 * 1000);
  tern_pop3_downloader_set_after_download (downloader, after, 0);
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

static gint64
count_in_inbox (const char *dir,
                const char *account)
{
  g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
  g_autofree char *sql = g_strdup_printf ("SELECT count (*) FROM messages m JOIN folders f "
                                          "ON f.id = m.folder_id WHERE f.account = '%s' "
                                          "AND f.role = 1", account);
  sqlite3 *db = NULL;
  gint64 count;

  g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  count = tern_test_query_int (db, sql);
  sqlite3_close (db);
  return count;
}

static void
test_pop3_download_empties_mailbox (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autofree char *dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernPop3Downloader) downloader = NULL;
  TernPop3DownloadStats stats = { 0 };
  g_autoptr(GError) error = NULL;
  const TernTestUser *user;

  if (servers == NULL)
    return;
  user = tern_test_servers_get_user (servers, 1);
  g_assert_true (tern_test_servers_load_mailbox (servers, user->login, "INBOX", 150, &error));
  g_assert_no_error (error);

  dir = tern_test_make_temp_dir ("tern-pop3-it-XXXXXX");
  store = tern_test_open_store (dir);

  /* Left on the server first: downloaded once, however often checked. */
  downloader = new_downloader (servers, store, user, TERN_POP3_AFTER_DOWNLOAD_KEEP);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.on_server, ==, 150);
  g_assert_cmpuint (stats.downloaded, ==, 150);
  g_assert_cmpuint (stats.deleted, ==, 0);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.on_server, ==, 150);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_clear_object (&downloader);

  /* Then deleted after download: the server is emptied, nothing twice. */
  downloader = new_downloader (servers, store, user, TERN_POP3_AFTER_DOWNLOAD_DELETE);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.downloaded, ==, 0);
  g_assert_cmpuint (stats.deleted, ==, 150);
  g_assert_true (run_check (downloader, &stats, &error));
  g_assert_cmpuint (stats.on_server, ==, 0);
  g_clear_object (&downloader);

  tern_test_close_store (&store);
  g_assert_cmpint (count_in_inbox (dir, user->login), ==, 150);
  tern_test_remove_tree (dir);
}

static char *
imap_quote (const char *text)
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

/* The whole message with @message_id in @user's INBOX, as IMAP gives it
 * (BODY.PEEK[]), once it arrived. */
static GBytes *
imap_fetch_raw (TernTestServers    *servers,
                const TernTestUser *user,
                const char         *message_id)
{
  g_autoptr(GError) error = NULL;
  TernTestWire *wire = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *name = imap_quote (user->login);
  g_autofree char *password = imap_quote (user->password);
  g_autofree char *login = g_strdup_printf ("LOGIN %s %s", name, password);
  g_autofree char *status = NULL;
  g_autofree char *search = g_strdup_printf ("UID SEARCH HEADER Message-ID \"%s\"",
                                             message_id);
  gint64 deadline = g_get_monotonic_time () + DELIVERY_TIMEOUT_USEC;
  guint64 uid = 0;
  GBytes *raw;

  wire = tern_test_wire_connect (servers, servers->imaps_port, TERN_TEST_WIRE_FLAGS_TLS,
                                 &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  status = tern_test_wire_imap_command (wire, "L1", login, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));
  g_free (status);
  status = tern_test_wire_imap_command (wire, "S1", "SELECT INBOX", NULL, &error);
  g_assert_no_error (error);

  while (uid == 0)
    {
      g_autoptr(GString) untagged = g_string_new (NULL);
      g_autofree char *search_status = NULL;
      const char *found;

      search_status = tern_test_wire_imap_command (wire, "S2", search, untagged, &error);
      g_assert_no_error (error);
      found = strstr (untagged->str, "* SEARCH");
      g_assert_nonnull (found);
      found += strlen ("* SEARCH");
      if (*found == ' ')
        {
          uid = g_ascii_strtoull (found + 1, NULL, 10);
          break;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("%s did not reach %s's INBOX in time", message_id, user->login);
      g_usleep (50 * 1000);
    }

  {
    g_autoptr(GString) untagged = g_string_new (NULL);
    g_autofree char *fetch = g_strdup_printf ("UID FETCH %" G_GUINT64_FORMAT " BODY.PEEK[]",
                                              uid);
    g_autofree char *fetch_status = tern_test_wire_imap_command (wire, "F1", fetch, untagged,
                                                                 &error);
    const char *open;
    char *end = NULL;
    guint64 size;

    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (fetch_status, "OK"));
    open = strstr (untagged->str, "BODY[] {");
    g_assert_nonnull (open);
    size = g_ascii_strtoull (open + strlen ("BODY[] {"), &end, 10);
    g_assert_true (end[0] == '}' && end[1] == '\n');
    g_assert_cmpuint (untagged->len - (end + 2 - untagged->str), >=, size);
    raw = g_bytes_new (end + 2, size);
  }
  tern_test_wire_free (wire);
  return raw;
}

static const char *
find_body (GBytes *raw)
{
  const char *data = g_bytes_get_data (raw, NULL);
  const char *end = g_strstr_len (data, g_bytes_get_size (raw), "\r\n\r\n");

  g_assert_nonnull (end);
  return end + 4;
}

/* Every header line the sender wrote is in what arrived, and the body is
 * the same to the byte. */
static void
assert_arrived_intact (GBytes *sent,
                       GBytes *received)
{
  const char *sent_data = g_bytes_get_data (sent, NULL);
  const char *sent_body = find_body (sent);
  const char *received_data = g_bytes_get_data (received, NULL);
  const char *received_body = find_body (received);
  g_autofree char *sent_headers = g_strndup (sent_data, sent_body - sent_data);
  g_autofree char *received_headers = g_strndup (received_data, received_body - received_data);
  g_auto(GStrv) lines = g_strsplit (sent_headers, "\r\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      {
        g_autofree char *line = g_strconcat ("\r\n", lines[i], "\r\n", NULL);

        if (strstr (received_headers, line) == NULL && !g_str_has_prefix (received_headers,
                                                                          line + 2))
          g_error ("The header line \"%s\" did not arrive as sent", lines[i]);
      }
  g_assert_null (strstr (received_headers, "\r\nBcc:"));
  g_assert_cmpmem (sent_body, g_bytes_get_size (sent) - (sent_body - sent_data),
                   received_body, g_bytes_get_size (received) - (received_body - received_data));
}

/* The attachment of @raw, decoded, is the file at @path. */
static void
assert_attachment (GBytes     *raw,
                   const char *path)
{
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (raw, NULL),
                                                           g_bytes_get_size (raw));
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
  GMimeObject *top = g_mime_message_get_mime_part (message);
  GMimeObject *part = g_mime_multipart_get_part (GMIME_MULTIPART (top), 1);
  GMimeStream *out = g_mime_stream_mem_new ();
  GByteArray *decoded;
  g_autofree char *expected = NULL;
  gsize expected_size;

  g_mime_data_wrapper_write_to_stream (g_mime_part_get_content (GMIME_PART (part)), out);
  decoded = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (out));
  g_assert_true (g_file_get_contents (path, &expected, &expected_size, NULL));
  g_assert_cmpmem (decoded->data, decoded->len, expected, expected_size);
  g_object_unref (out);
  g_object_unref (message);
  g_object_unref (parser);
  g_object_unref (stream);
}

static void
test_send_then_receive_by_pop3_and_imap (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autofree char *dir = NULL;
  g_autofree char *image = NULL;
  g_autofree char *attachment = NULL;
  g_autofree char *html = NULL;
  g_autofree char *cid = NULL;
  g_autofree char *message_id = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernMimeComposer) composer = NULL;
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(TernPop3Downloader) downloader = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) sent = NULL;
  g_autoptr(GBytes) by_pop3 = NULL;
  g_autoptr(GBytes) by_imap = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  TernPop3DownloadStats pop3_stats = { 0 };
  const TernTestUser *me;
  const TernTestUser *to;
  const TernTestUser *bcc;
  gint64 found = 0;

  if (servers == NULL)
    return;
  me = tern_test_servers_get_user (servers, 0);
  to = tern_test_servers_get_user (servers, 2);
  bcc = tern_test_servers_get_user (servers, 0);
  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);

  dir = tern_test_make_temp_dir ("tern-send-it-XXXXXX");
  image = g_build_filename (dir, "dot.png", NULL);
  attachment = g_build_filename (dir, "data.bin", NULL);
  {
    g_autofree guint8 *bytes = g_malloc (300 * 1024);

    for (gsize i = 0; i < 300 * 1024; i++)
      bytes[i] = (guint8) g_test_rand_int_range (0, 256);
    g_assert_true (g_file_set_contents (image, (char *) bytes, 2000, NULL));
    g_assert_true (g_file_set_contents (attachment, (char *) bytes, 300 * 1024, NULL));
  }

  composer = tern_mime_composer_new ();
  g_assert_true (tern_mime_composer_set_from (composer, "Tërn Tester", me->login, &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_TO, "Récipient",
                                                   to->login, &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_BCC, NULL,
                                                   bcc->login, &error));
  tern_mime_composer_set_subject (composer, "Ünïcödé round trip — ✓");
  cid = tern_mime_composer_add_inline_image (composer, image, "image/png", &error);
  g_assert_no_error (error);
  html = g_strdup_printf ("<p>Hello, <i>wörld</i>.</p><img src=\"cid:%s\">", cid);
  tern_mime_composer_set_html (composer, html);
  tern_mime_composer_set_text (composer, "Hello, wörld.\n.leading dot\n");
  g_assert_true (tern_mime_composer_add_attachment (composer, attachment, NULL, &error));
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  message_id = g_strdup_printf ("<%s>", tern_mime_composer_get_message_id (composer));
  recipients = tern_mime_composer_get_recipients (composer);

  store = tern_test_open_store (dir);
  tern_store_outbox_add_async (store, "sender", me->login, (const char * const *) recipients,
                               raw, 0, NULL, tern_test_got_result_cb, &result);
  item = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  sender = tern_outbox_sender_new (store, "sender");
  tern_outbox_sender_set_server (sender, servers->host, servers->submission_port,
                                 TERN_CONNECTION_SECURITY_STARTTLS);
  tern_outbox_sender_set_tls_database (sender, database);
  tern_outbox_sender_set_local_address (sender, servers->remote_client_address);
  tern_outbox_sender_set_login (sender, me->login, me->password);
  tern_outbox_sender_set_sent_copy (sender, TERN_SENT_COPY_LOCAL);
  g_clear_object (&result);
  tern_outbox_sender_run_async (sender, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_outbox_sender_run_finish (sender, tern_test_wait_for (&result), &stats,
                                                &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.sent, ==, 1);

  /* The sent copy is what went out. */
  g_clear_object (&result);
  tern_store_get_raw_async (store, item->message_id, NULL, tern_test_got_result_cb, &result);
  sent = tern_store_get_raw_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (sent, NULL), g_bytes_get_size (sent),
                   g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));

  /* IMAP, for the Bcc recipient, whose address is in no header. */
  by_imap = imap_fetch_raw (servers, bcc, message_id);
  assert_arrived_intact (sent, by_imap);
  assert_attachment (by_imap, attachment);

  /* POP3, for the To recipient, through Tern's downloader: wait until
   * Postfix delivered it. */
  g_bytes_unref (imap_fetch_raw (servers, to, message_id));
  downloader = new_downloader (servers, store, to, TERN_POP3_AFTER_DOWNLOAD_DELETE);
  g_assert_true (run_check (downloader, &pop3_stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pop3_stats.downloaded, >=, 1);
  {
    g_autofree char *index = g_build_filename (dir, "store.sqlite", NULL);
    g_autofree char *sql = g_strdup_printf ("SELECT m.id FROM messages m JOIN folders f "
                                            "ON f.id = m.folder_id WHERE f.account = '%s' "
                                            "AND f.role = 1 AND m.message_id = '%s'",
                                            to->login, tern_mime_composer_get_message_id (
                                              composer));
    g_autoptr(GAsyncResult) raw_result = NULL;
    sqlite3 *db = NULL;

    g_assert_cmpint (sqlite3_open_v2 (index, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
    found = tern_test_query_int (db, sql);
    sqlite3_close (db);
    g_assert_cmpint (found, >, 0);
    tern_store_get_raw_async (store, found, NULL, tern_test_got_result_cb, &raw_result);
    by_pop3 = tern_store_get_raw_finish (store, tern_test_wait_for (&raw_result), &error);
    g_assert_no_error (error);
  }
  g_assert_cmpint (found, >, 0);
  assert_arrived_intact (sent, by_pop3);
  assert_attachment (by_pop3, attachment);

  g_clear_object (&downloader);
  g_clear_object (&sender);
  tern_test_close_store (&store);
  tern_test_remove_tree (dir);
}

typedef struct
{
  guint count;
  gint64 item_id;
  char *host;
  guint port;
  char *reason;
} Refusal;

static void
certificate_refused_cb (TernOutboxSender *sender,
                        gint64            item_id,
                        const char       *host,
                        guint             port,
                        const char       *reason,
                        Refusal          *refusal)
{
  refusal->count++;
  refusal->item_id = item_id;
  g_free (refusal->host);
  refusal->host = g_strdup (host);
  refusal->port = port;
  g_free (refusal->reason);
  refusal->reason = g_strdup (reason);
}

static void
test_untrusted_submission_asks_then_sends_once_pinned (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autofree char *dir = NULL;
  g_autofree char *message_id = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernMimeComposer) composer = NULL;
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) arrived = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernOutboxItem) item = NULL;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_auto(TernOutboxRunStats) again = { 0 };
  Refusal refusal = { 0 };
  const TernTestUser *me;
  const TernTestUser *to;

  if (servers == NULL)
    return;
  me = tern_test_servers_get_user (servers, 0);
  to = tern_test_servers_get_user (servers, 1);

  composer = tern_mime_composer_new ();
  g_assert_true (tern_mime_composer_set_from (composer, NULL, me->login, &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_TO, NULL, to->login,
                                                   &error));
  tern_mime_composer_set_subject (composer, "Sent once the certificate is trusted");
  tern_mime_composer_set_text (composer, "Hello.\n");
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  message_id = g_strdup_printf ("<%s>", tern_mime_composer_get_message_id (composer));
  recipients = tern_mime_composer_get_recipients (composer);

  dir = tern_test_make_temp_dir ("tern-send-trust-XXXXXX");
  store = tern_test_open_store (dir);
  tern_store_outbox_add_async (store, "sender", me->login, (const char * const *) recipients,
                               raw, 0, NULL, tern_test_got_result_cb, &result);
  item = tern_store_outbox_add_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  /* The system's certificates do not include the servers' temporary CA,
   * as for a user whose provider signs its own certificates. */
  sender = tern_outbox_sender_new (store, "sender");
  g_assert_cmpstr (tern_outbox_sender_get_account (sender), ==, "sender");
  tern_outbox_sender_set_server (sender, servers->host, servers->submission_port,
                                 TERN_CONNECTION_SECURITY_STARTTLS);
  tern_outbox_sender_set_local_address (sender, servers->remote_client_address);
  tern_outbox_sender_set_login (sender, me->login, me->password);
  tern_outbox_sender_set_sent_copy (sender, TERN_SENT_COPY_LOCAL);
  g_signal_connect (sender, "certificate-refused", G_CALLBACK (certificate_refused_cb),
                    &refusal);
  g_clear_object (&result);
  tern_outbox_sender_run_async (sender, NULL, tern_test_got_result_cb, &result);
  g_assert_false (tern_outbox_sender_run_finish (sender, tern_test_wait_for (&result), &stats,
                                                 &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE);
  g_clear_error (&error);
  g_assert_cmpuint (stats.sent, ==, 0);
  g_assert_cmpuint (stats.failed, ==, 0);
  g_assert_cmpuint (refusal.count, ==, 1);
  g_assert_cmpint (refusal.item_id, ==, item->id);
  g_assert_cmpstr (refusal.host, ==, servers->host);
  g_assert_cmpuint (refusal.port, ==, servers->submission_port);
  g_assert_nonnull (refusal.reason);

  /* The message waits in the queue, not given up. */
  g_clear_object (&result);
  tern_store_outbox_list_async (store, "sender", NULL, tern_test_got_result_cb, &result);
  items = tern_store_outbox_list_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (items->len, ==, 1);
  g_assert_cmpint (((TernOutboxItem *) items->pdata[0])->state, ==, TERN_OUTBOX_STATE_QUEUED);

  /* What the user sees and accepts: the certificate the server sends. */
  g_clear_object (&result);
  tern_trust_check_server_async (servers->host, servers->submission_port,
                                 TERN_TRUST_STARTTLS_SMTP, NULL, NULL, tern_test_got_result_cb,
                                 &result);
  details = tern_trust_check_server_finish (tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (details);
  tern_outbox_sender_set_pinned_certificate (sender, details->fingerprint);

  g_clear_object (&result);
  tern_store_outbox_retry_async (store, item->id, g_get_real_time () / G_USEC_PER_SEC,
                                 refusal.reason, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_store_outbox_change_finish (store, tern_test_wait_for (&result), &error));
  g_clear_object (&result);
  tern_outbox_sender_run_async (sender, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_outbox_sender_run_finish (sender, tern_test_wait_for (&result), &again,
                                                &error));
  g_assert_no_error (error);
  g_assert_cmpuint (again.sent, ==, 1);
  g_assert_cmpuint (refusal.count, ==, 1);

  arrived = imap_fetch_raw (servers, to, message_id);
  g_assert_nonnull (arrived);

  g_free (refusal.host);
  g_free (refusal.reason);
  g_clear_object (&sender);
  tern_test_close_store (&store);
  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mail/pop3/download-empties-mailbox", test_pop3_download_empties_mailbox);
  g_test_add_func ("/mail/send-then-receive-by-pop3-and-imap",
                   test_send_then_receive_by_pop3_and_imap);
  g_test_add_func ("/mail/outbox/untrusted-certificate-asks-then-sends-once-pinned",
                   test_untrusted_submission_asks_then_sends_once_pinned);

  return g_test_run ();
}
