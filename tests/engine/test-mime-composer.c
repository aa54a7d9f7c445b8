/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernMimeComposer: what it writes is read back with GMime and checked
 * part by part: format=flowed text that unflows to what was typed, HTML
 * with its text alternative and inline images, attachments streamed from
 * disk and identical after decoding, RFC 2047 headers, replies' threading
 * headers, the Message-ID's domain, and no Bcc anywhere. */

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "tern-engine.h"
#include "tern-mime-composer.h"
#include "tern-mime-flowed.h"
#include "tern-test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

static GMimeMessage *
parse (GBytes *raw)
{
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (g_bytes_get_data (raw, NULL),
                                                           g_bytes_get_size (raw));
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_object_unref (parser);
  g_object_unref (stream);
  g_assert_nonnull (message);
  return message;
}

static GBytes *
decoded_content (GMimeObject *object)
{
  GMimeDataWrapper *wrapper = g_mime_part_get_content (GMIME_PART (object));
  GMimeStream *out = g_mime_stream_mem_new ();
  GByteArray *array;
  GBytes *bytes;

  g_mime_data_wrapper_write_to_stream (wrapper, out);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (out));
  bytes = g_bytes_new (array->data, array->len);
  g_object_unref (out);
  return bytes;
}

static void
assert_crlf_only (GBytes *raw)
{
  gsize size;
  const char *data = g_bytes_get_data (raw, &size);

  for (gsize i = 0; i < size; i++)
    if (data[i] == '\n')
      g_assert_true (i > 0 && data[i - 1] == '\r');
}

static TernMimeComposer *
new_composer (void)
{
  TernMimeComposer *composer = tern_mime_composer_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (tern_mime_composer_set_from (composer, "Zoë Ünal", "zoe@office.example",
                                              &error));
  g_assert_no_error (error);
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_TO, "Ann",
                                                   "ann@example.org", &error));
  return composer;
}

static void
test_flowed_text (void)
{
  g_autoptr(TernMimeComposer) composer = new_composer ();
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GBytes) content = NULL;
  g_autofree char *text = NULL;
  g_autofree char *back = NULL;
  GMimeObject *body;
  const char *typed =
    "Hello Ann,   \n"
    "\n"
    "This paragraph is long enough that it must be cut into several lines when it is sent "
    "as flowed text, and joined again by the reader's mail program without a trace.\n"
    "> A quoted line long enough to be cut in two when it is sent as flowed text, "
    "each piece keeping its quote mark.\n"
    ">> > Quoted deeper, with spaced marks.\n"
    ">\n"
    "From here on, a line that mbox would mangle.\n"
    " leading space\n"
    "Ünïcödé çharacters stay whole: ÅÄÖ åäö ß € 日本語のテキストも大丈夫です。\n"
    "-- \n"
    "Zoë\n";
  /* What the reader sees: the same, minus the trailing spaces, quote
   * marks written together. */
  const char *expected =
    "Hello Ann,\n"
    "\n"
    "This paragraph is long enough that it must be cut into several lines when it is sent "
    "as flowed text, and joined again by the reader's mail program without a trace.\n"
    "> A quoted line long enough to be cut in two when it is sent as flowed text, "
    "each piece keeping its quote mark.\n"
    ">>> Quoted deeper, with spaced marks.\n"
    ">\n"
    "From here on, a line that mbox would mangle.\n"
    " leading space\n"
    "Ünïcödé çharacters stay whole: ÅÄÖ åäö ß € 日本語のテキストも大丈夫です。\n"
    "-- \n"
    "Zoë\n";

  tern_mime_composer_set_subject (composer, "Plain");
  tern_mime_composer_set_text (composer, typed);
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  assert_crlf_only (raw);

  message = parse (raw);
  body = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_TEXT_PART (body));
  g_assert_cmpstr (g_mime_object_get_content_type_parameter (body, "format"), ==, "flowed");
  g_assert_cmpstr (g_mime_object_get_content_type_parameter (body, "charset"), ==, "utf-8");
  content = decoded_content (body);
  text = g_strndup (g_bytes_get_data (content, NULL), g_bytes_get_size (content));

  /* No line is longer than 78 characters but the unbreakable. */
  {
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

    guint quoted = 0;

    for (guint i = 0; lines[i] != NULL; i++)
      {
        g_assert_cmpint (g_utf8_strlen (lines[i], -1), <=, 79);
        if (g_str_has_prefix (lines[i], "> "))
          quoted++;
        /* Nothing is space-stuffed in front of a quote mark. */
        g_assert_false (g_str_has_prefix (lines[i], " >"));
      }
    g_assert_cmpuint (g_strv_length (lines), >, 10);
    /* The long quoted line went out in two pieces, both quoted. */
    g_assert_cmpuint (quoted, ==, 2);
  }
  back = tern_mime_decode_flowed (text, FALSE);
  g_assert_cmpstr (back, ==, expected);
}

static void
test_headers_encoded (void)
{
  g_autoptr(TernMimeComposer) composer = new_composer ();
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autofree char *headers = NULL;
  g_auto(GStrv) recipients = NULL;
  const char *data;
  gsize size;
  const char *end;
  InternetAddressList *from;

  g_assert_true (tern_mime_composer_add_recipients (composer, TERN_RECIPIENT_CC,
                                                    "Börje <borje@example.se>, cc@example.org",
                                                    &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_BCC, NULL,
                                                   "hidden@example.net", &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_BCC, NULL,
                                                   "ANN@example.org", &error));
  g_assert_false (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_TO, NULL,
                                                    "not an address", &error));
  g_assert_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_INVALID_ADDRESS);
  g_clear_error (&error);
  tern_mime_composer_set_subject (composer, "Grüße aus Köln — ünïcödé");
  tern_mime_composer_set_text (composer, "x\n");
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);

  data = g_bytes_get_data (raw, &size);
  end = g_strstr_len (data, size, "\r\n\r\n");
  g_assert_nonnull (end);
  headers = g_strndup (data, end - data);
  /* Headers are ASCII, encoded per RFC 2047. */
  for (const char *p = headers; *p != '\0'; p++)
    g_assert_cmpint ((guchar) *p, <, 0x80);
  g_assert_nonnull (strstr (headers, "=?"));
  /* No Bcc, not even the address. */
  g_assert_null (g_strstr_len (data, size, "hidden@example.net"));
  g_assert_null (strstr (headers, "Bcc"));
  g_assert_null (strstr (headers, "BCC"));

  message = parse (raw);
  g_assert_cmpstr (g_mime_message_get_subject (message), ==, "Grüße aus Köln — ünïcödé");
  from = g_mime_message_get_from (message);
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (from, 0)), ==,
                   "Zoë Ünal");
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_cc (message)), ==, 2);
  g_assert_cmpstr (g_mime_message_get_message_id (message), ==,
                   tern_mime_composer_get_message_id (composer));
  g_assert_true (g_str_has_suffix (tern_mime_composer_get_message_id (composer),
                                   "@office.example"));

  /* The envelope has every recipient once, the Bcc ones too. */
  recipients = tern_mime_composer_get_recipients (composer);
  g_assert_cmpuint (g_strv_length (recipients), ==, 4);
  g_assert_true (g_strv_contains ((const char * const *) recipients, "hidden@example.net"));
  g_assert_true (g_strv_contains ((const char * const *) recipients, "borje@example.se"));
  g_assert_cmpstr (tern_mime_composer_get_sender (composer), ==, "zoe@office.example");
}

static char *
write_file (const char *dir,
            const char *name,
            gsize       size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint8 *data = g_malloc (size);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_test_rand_int_range (0, 256);
  g_file_set_contents (path, (const char *) data, size, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
assert_same_as_file (GMimeObject *part,
                     const char  *path)
{
  g_autoptr(GBytes) content = decoded_content (part);
  g_autofree char *expected = NULL;
  gsize expected_size = 0;

  g_assert_true (g_file_get_contents (path, &expected, &expected_size, NULL));
  g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                   expected, expected_size);
}

static void
test_html_images_attachments (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-compose-XXXXXX");
  g_autofree char *image = write_file (dir, "logo.png", 3000);
  g_autofree char *big = write_file (dir, "archive.bin", 6 * 1024 * 1024 + 17);
  g_autofree char *out = g_build_filename (dir, "message.eml", NULL);
  g_autoptr(TernMimeComposer) composer = new_composer ();
  g_autoptr(GError) error = NULL;
  g_autofree char *cid = NULL;
  g_autofree char *html = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GMimeObject *top;
  GMimeObject *alternative;
  GMimeObject *related;
  GMimeObject *attachment;

  cid = tern_mime_composer_add_inline_image (composer, image, "image/png", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (cid, "@office.example"));
  html = g_strdup_printf ("<html><body><p>Hello <b>Ann</b>,</p><img src=\"cid:%s\">"
                          "<p>See the archive.</p></body></html>", cid);
  tern_mime_composer_set_html (composer, html);
  tern_mime_composer_set_subject (composer, "HTML");
  g_assert_true (tern_mime_composer_add_attachment (composer, big, NULL, &error));
  g_assert_false (tern_mime_composer_add_attachment (composer, "/nonexistent/file", NULL,
                                                     &error));
  g_assert_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_FILE);
  g_clear_error (&error);

  g_assert_true (tern_mime_composer_write_to_file (composer, out, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (out, &contents, &length, NULL));
  raw = g_bytes_new_take (g_steal_pointer (&contents), length);
  assert_crlf_only (raw);
  message = parse (raw);

  top = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_MULTIPART (top));
  g_assert_cmpstr (g_mime_content_type_get_media_subtype (g_mime_object_get_content_type (top)),
                   ==, "mixed");
  alternative = g_mime_multipart_get_part (GMIME_MULTIPART (top), 0);
  g_assert_cmpstr (g_mime_content_type_get_media_subtype (
                     g_mime_object_get_content_type (alternative)), ==, "alternative");
  {
    GMimeObject *plain = g_mime_multipart_get_part (GMIME_MULTIPART (alternative), 0);
    g_autoptr(GBytes) text = decoded_content (plain);
    g_autofree char *string = g_strndup (g_bytes_get_data (text, NULL),
                                         g_bytes_get_size (text));

    g_assert_cmpstr (g_mime_object_get_content_type_parameter (plain, "format"), ==, "flowed");
    g_assert_nonnull (strstr (string, "Hello Ann"));
    g_assert_null (strstr (string, "<b>"));
  }
  related = g_mime_multipart_get_part (GMIME_MULTIPART (alternative), 1);
  g_assert_cmpstr (g_mime_content_type_get_media_subtype (
                     g_mime_object_get_content_type (related)), ==, "related");
  {
    GMimeObject *html_part = g_mime_multipart_get_part (GMIME_MULTIPART (related), 0);
    GMimeObject *image_part = g_mime_multipart_get_part (GMIME_MULTIPART (related), 1);

    g_autofree char *got = g_mime_text_part_get_text (GMIME_TEXT_PART (html_part));

    g_assert_cmpstr (got, ==, html);
    g_assert_cmpstr (g_mime_object_get_content_id (image_part), ==, cid);
    assert_same_as_file (image_part, image);
  }
  attachment = g_mime_multipart_get_part (GMIME_MULTIPART (top), 1);
  g_assert_cmpstr (g_mime_part_get_filename (GMIME_PART (attachment)), ==, "archive.bin");
  assert_same_as_file (attachment, big);

  tern_test_remove_tree (dir);
}

static void
test_reply_and_forward (void)
{
  g_autoptr(TernMimeComposer) composer = new_composer ();
  g_autoptr(TernMimeComposer) forward = new_composer ();
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GBytes) forwarded = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *subject = tern_mime_reply_subject ("Lunch?");
  g_autofree char *again = tern_mime_reply_subject ("RE: Lunch?");
  g_autofree char *fwd = tern_mime_forward_subject ("Lunch?");
  g_autofree char *quoted = tern_mime_quote_text ("Shall we?\n> earlier\n\nBye\n",
                                                  "On Monday, Ann wrote:");
  const char *original = "From: ann@example.org\r\nTo: zoe@office.example\r\n"
                         "Subject: Lunch?\r\nMessage-ID: <p2@example.org>\r\n\r\nShall we?\r\n";
  GMimeObject *top;

  g_assert_cmpstr (subject, ==, "Re: Lunch?");
  g_assert_cmpstr (again, ==, "RE: Lunch?");
  g_assert_cmpstr (fwd, ==, "Fwd: Lunch?");
  g_assert_cmpstr (quoted, ==, "On Monday, Ann wrote:\n> Shall we?\n>> earlier\n>\n> Bye\n");

  tern_mime_composer_set_subject (composer, subject);
  tern_mime_composer_set_reply (composer, "<p2@example.org>", "<p0@example.org> <p1@example.org>");
  tern_mime_composer_set_text (composer, quoted);
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  message = parse (raw);
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To"), ==,
                   "<p2@example.org>");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "References"), ==,
                   "<p0@example.org> <p1@example.org> <p2@example.org>");
  g_clear_object (&message);

  tern_mime_composer_set_subject (forward, fwd);
  tern_mime_composer_set_text (forward, "Forwarding this.\n");
  forwarded = g_bytes_new_static (original, strlen (original));
  tern_mime_composer_add_forwarded (forward, forwarded);
  g_clear_pointer (&raw, g_bytes_unref);
  raw = tern_mime_composer_to_bytes (forward, &error);
  g_assert_no_error (error);
  message = parse (raw);
  top = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_MULTIPART (top));
  g_assert_true (GMIME_IS_MESSAGE_PART (g_mime_multipart_get_part (GMIME_MULTIPART (top), 1)));
}

static void
test_needs_sender_and_recipient (void)
{
  g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = NULL;

  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_null (raw);
  g_assert_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_NO_SENDER);
  g_clear_error (&error);
  g_assert_true (tern_mime_composer_set_from (composer, NULL, "a@b.example", &error));
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_null (raw);
  g_assert_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_NO_RECIPIENT);
}

/* Whether a line of @text starts with a Bcc field, in any case. */
static gboolean
has_bcc_field (const char *text)
{
  g_autofree char *lower = g_strconcat ("\n", text, NULL);

  for (char *p = lower; *p != '\0'; p++)
    *p = g_ascii_tolower (*p);
  return strstr (lower, "\nbcc:") != NULL || strstr (lower, "\nbcc :") != NULL;
}

/* A draft needs neither sender nor recipient, and keeps its Bcc in a
 * header for when it is opened again; the same message built to be sent
 * has no trace of the Bcc but in the envelope. */
static void
test_draft_without_recipient (void)
{
  g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  g_autofree char *written = NULL;
  g_auto(GStrv) recipients = NULL;
  InternetAddressList *bcc;
  gsize written_size;
  int fd;

  tern_mime_composer_set_draft (composer, TRUE);
  tern_mime_composer_set_subject (composer, "Half written");
  tern_mime_composer_set_text (composer, "Dear\n");
  g_assert_true (tern_mime_composer_add_recipients (composer, TERN_RECIPIENT_BCC,
                                                    "hidden@b.example, Zoë Ünal <zoe@c.example>",
                                                    &error));
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  g_assert_nonnull (raw);
  text = g_strndup (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  g_assert_nonnull (strstr (text, "Subject: Half written\r\n"));
  message = parse (raw);
  bcc = g_mime_message_get_bcc (message);
  g_assert_cmpint (internet_address_list_length (bcc), ==, 2);
  g_assert_cmpstr (internet_address_mailbox_get_addr (
                     INTERNET_ADDRESS_MAILBOX (internet_address_list_get_address (bcc, 0))), ==,
                   "hidden@b.example");
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (bcc, 1)), ==,
                   "Zoë Ünal");
  /* Written through a file, as the composer saves, too. */
  fd = g_file_open_tmp ("tern-draft-XXXXXX.eml", &path, &error);
  g_assert_no_error (error);
  g_close (fd, NULL);
  g_assert_true (tern_mime_composer_write_to_file (composer, path, &error));
  g_assert_true (g_file_get_contents (path, &written, &written_size, &error));
  g_assert_nonnull (strstr (written, "Bcc: hidden@b.example"));
  g_unlink (path);
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&raw, g_bytes_unref);
  g_clear_pointer (&written, g_free);

  /* Sent: the Bcc recipients are in the envelope, nowhere in the message. */
  tern_mime_composer_set_draft (composer, FALSE);
  g_assert_true (tern_mime_composer_set_from (composer, NULL, "me@a.example", &error));
  g_assert_true (tern_mime_composer_add_recipients (composer, TERN_RECIPIENT_TO, "to@a.example",
                                                    &error));
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  g_assert_null (strstr (text, "hidden@b.example"));
  g_assert_null (strstr (text, "zoe@c.example"));
  g_assert_false (has_bcc_field (text));
  g_assert_true (tern_mime_composer_write_to_file (composer, path, &error));
  g_assert_true (g_file_get_contents (path, &written, &written_size, &error));
  g_assert_null (strstr (written, "hidden@b.example"));
  g_assert_false (has_bcc_field (written));
  g_unlink (path);
  recipients = tern_mime_composer_get_recipients (composer);
  g_assert_cmpuint (g_strv_length (recipients), ==, 3);
  g_assert_true (g_strv_contains ((const char * const *) recipients, "hidden@b.example"));
  g_assert_true (g_strv_contains ((const char * const *) recipients, "zoe@c.example"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mime/composer/flowed-text-unflows-to-what-was-typed", test_flowed_text);
  g_test_add_func ("/mime/composer/headers-encoded-and-no-bcc", test_headers_encoded);
  g_test_add_func ("/mime/composer/html-inline-images-and-streamed-attachment",
                   test_html_images_attachments);
  g_test_add_func ("/mime/composer/reply-and-forward", test_reply_and_forward);
  g_test_add_func ("/mime/composer/needs-sender-and-recipient", test_needs_sender_and_recipient);
  g_test_add_func ("/mime/composer/draft-keeps-bcc-sent-message-never",
                   test_draft_without_recipient);

  return g_test_run ();
}
