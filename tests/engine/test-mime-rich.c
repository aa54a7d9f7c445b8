/* SPDX-License-Identifier: GPL-3.0-or-later */

/* TernRichText: rich text written as HTML and plain text, sent through
 * TernMimeComposer and read back with GMime: the structure of the parts,
 * the escaping of everything the user typed, links limited to safe
 * schemes, inline images by Content-ID, and a saved draft that opens as
 * it was written. */

#include "config.h"

#include <string.h>
#include <gmime/gmime.h>

#include "tern-engine.h"
#include "tern-mime-composer.h"
#include "tern-mime-rich.h"
#include "tern-test-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

static const guint8 png[] = {
  0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
  0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
};

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

static const char *
subtype (GMimeObject *object)
{
  return g_mime_content_type_get_media_subtype (g_mime_object_get_content_type (object));
}

/* A text a user could write: every kind of line and run, and text that
 * would be markup if it were not escaped. */
static TernRichText *
sample (const char *image)
{
  TernRichText *text = tern_rich_text_new ();

  tern_rich_text_add_line (text, TERN_RICH_PARAGRAPH);
  tern_rich_text_add_run (text, "Hello ", 0, NULL);
  tern_rich_text_add_run (text, "Ann", TERN_RICH_BOLD, NULL);
  tern_rich_text_add_run (text, ", see ", 0, NULL);
  tern_rich_text_add_run (text, "our site", TERN_RICH_ITALIC, "https://example.org/?a=1&b=\"2\"");
  tern_rich_text_add_run (text, " and <script>alert('x')</script> & more", 0, NULL);
  tern_rich_text_add_line (text, TERN_RICH_PARAGRAPH);
  tern_rich_text_add_line (text, TERN_RICH_BULLET);
  tern_rich_text_add_run (text, "first", 0, NULL);
  tern_rich_text_add_line (text, TERN_RICH_BULLET);
  tern_rich_text_add_run (text, "second", TERN_RICH_BOLD | TERN_RICH_ITALIC, NULL);
  tern_rich_text_add_line (text, TERN_RICH_NUMBERED);
  tern_rich_text_add_run (text, "one", 0, NULL);
  tern_rich_text_add_line (text, TERN_RICH_NUMBERED);
  tern_rich_text_add_run (text, "two  spaced", 0, NULL);
  tern_rich_text_add_line (text, TERN_RICH_QUOTE);
  tern_rich_text_add_run (text, "quoted", 0, NULL);
  tern_rich_text_add_line (text, TERN_RICH_PARAGRAPH);
  tern_rich_text_add_run (text, "click", 0, "javascript:alert(1)");
  tern_rich_text_add_line (text, TERN_RICH_PARAGRAPH);
  tern_rich_text_add_image (text, image, "logo.png");
  return text;
}

static void
test_html_and_plain (void)
{
  g_autoptr(TernRichText) text = sample ("abc@office.example");
  g_autofree char *html = tern_rich_text_to_html (text);
  g_autofree char *plain = tern_rich_text_to_plain (text);

  g_assert_false (tern_rich_text_is_plain (text));
  g_assert_nonnull (strstr (html, "Hello <b>Ann</b>, see "));
  g_assert_nonnull (strstr (html, "<a href=\"https://example.org/?a=1&amp;b=&quot;2&quot;\">"
                                  "<i>our site</i></a>"));
  /* A space after another run is a plain one; only a second space, or
   * one at the start of a line, must not collapse. */
  g_assert_nonnull (strstr (html, "</a> and &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
                                  "&amp; more"));
  g_assert_null (strstr (html, "<script"));
  g_assert_null (strstr (html, "javascript:"));
  g_assert_nonnull (strstr (html, "<div>click</div>"));
  g_assert_nonnull (strstr (html, "<ul>\n<li>first</li>\n<li><b><i>second</i></b></li>\n</ul>"));
  g_assert_nonnull (strstr (html, "<ol>\n<li>one</li>\n<li>two &#160;spaced</li>\n</ol>"));
  g_assert_nonnull (strstr (html, "<blockquote type=\"cite\">\n<div>quoted</div>\n"));
  g_assert_nonnull (strstr (html, "<div><br/></div>"));
  g_assert_nonnull (strstr (html, "<img src=\"cid:abc@office.example\" alt=\"logo.png\""));

  {
    /* A reply's quote needs no HTML: "> " says it in plain text. */
    g_autoptr(TernRichText) reply = tern_rich_text_new ();

    tern_rich_text_add_line (reply, TERN_RICH_PARAGRAPH);
    tern_rich_text_add_run (reply, "Yes.", 0, NULL);
    tern_rich_text_add_line (reply, TERN_RICH_QUOTE);
    tern_rich_text_add_run (reply, "Lunch?", 0, NULL);
    g_assert_true (tern_rich_text_is_plain (reply));
    tern_rich_text_add_line (reply, TERN_RICH_BULLET);
    g_assert_false (tern_rich_text_is_plain (reply));
  }

  g_assert_cmpstr (plain, ==,
                   "Hello Ann, see our site <https://example.org/?a=1&b=\"2\"> and "
                   "<script>alert('x')</script> & more\n"
                   "\n"
                   "- first\n"
                   "- second\n"
                   "1. one\n"
                   "2. two  spaced\n"
                   "> quoted\n"
                   "click\n"
                   "[logo.png]\n");
}

static void
assert_same_text (TernRichText *a,
                  TernRichText *b,
                  gboolean      images_by_file)
{
  g_assert_cmpuint (a->lines->len, ==, b->lines->len);
  for (guint i = 0; i < a->lines->len; i++)
    {
      TernRichLine *x = g_ptr_array_index (a->lines, i);
      TernRichLine *y = g_ptr_array_index (b->lines, i);

      g_assert_cmpint (x->block, ==, y->block);
      g_assert_cmpuint (x->runs->len, ==, y->runs->len);
      for (guint j = 0; j < x->runs->len; j++)
        {
          TernRichRun *r = g_ptr_array_index (x->runs, j);
          TernRichRun *s = g_ptr_array_index (y->runs, j);

          g_assert_cmpstr (r->text, ==, s->text);
          g_assert_cmpuint (r->style, ==, s->style);
          /* A link of a scheme not allowed was never written. */
          g_assert_cmpstr (tern_rich_link_is_allowed (r->link) ? r->link : NULL, ==, s->link);
          if (!images_by_file)
            g_assert_cmpstr (r->image, ==, s->image);
          else
            g_assert_true ((r->image == NULL) == (s->image == NULL));
        }
    }
}

static void
test_html_reads_back (void)
{
  g_autoptr(TernRichText) text = sample ("abc@office.example");
  g_autofree char *html = tern_rich_text_to_html (text);
  g_autoptr(TernRichText) back = NULL;
  g_autoptr(GError) error = NULL;

  back = tern_rich_text_parse_html (html, -1, &error);
  g_assert_no_error (error);
  assert_same_text (text, back, FALSE);

  /* HTML of other mail programs is not taken for Tern's. */
  g_assert_null (tern_rich_text_parse_html ("<p>Hello<br>there", -1, &error));
  g_assert_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_NOT_RICH_TEXT);
  g_clear_error (&error);

  {
    g_autoptr(GString) deep = g_string_new ("<html><body>");

    for (guint i = 0; i < 200; i++)
      g_string_append (deep, "<b>");
    g_assert_null (tern_rich_text_parse_html (deep->str, -1, &error));
    g_assert_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_TOO_LARGE);
  }
}

static void
test_sent_as_alternative_with_related_image (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-rich-XXXXXX");
  g_autofree char *image = g_build_filename (dir, "logo.png", NULL);
  g_autofree char *opened = g_build_filename (dir, "opened", NULL);
  g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
  g_autoptr(TernRichText) text = NULL;
  g_autoptr(TernRichText) back = NULL;
  g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cid = NULL;
  g_autofree char *html = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *got_html = NULL;
  g_autofree char *got_plain = NULL;
  g_autofree char *reference = NULL;
  GMimeObject *top;
  GMimeObject *related;
  GMimeObject *html_part;
  GMimeObject *image_part;

  g_assert_true (g_file_set_contents (image, (const char *) png, sizeof png, NULL));
  g_assert_true (tern_mime_composer_set_from (composer, NULL, "zoe@office.example", &error));
  g_assert_true (tern_mime_composer_add_recipient (composer, TERN_RECIPIENT_TO, NULL,
                                                   "ann@example.org", &error));
  cid = tern_mime_composer_add_inline_image (composer, image, "image/png", &error);
  g_assert_no_error (error);
  text = sample (cid);
  html = tern_rich_text_to_html (text);
  plain = tern_rich_text_to_plain (text);
  tern_mime_composer_set_text (composer, plain);
  tern_mime_composer_set_html (composer, html);
  tern_mime_composer_set_subject (composer, "Rich");
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);
  message = parse (raw);

  top = g_mime_message_get_mime_part (message);
  g_assert_cmpstr (subtype (top), ==, "alternative");
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (top)), ==, 2);
  {
    GMimeObject *plain_part = g_mime_multipart_get_part (GMIME_MULTIPART (top), 0);

    g_assert_cmpstr (subtype (plain_part), ==, "plain");
    got_plain = g_mime_text_part_get_text (GMIME_TEXT_PART (plain_part));
    g_assert_nonnull (strstr (got_plain, "- first"));
    g_assert_nonnull (strstr (got_plain, "our site <https://example.org/"));
    g_assert_null (strstr (got_plain, "<b>"));
  }
  related = g_mime_multipart_get_part (GMIME_MULTIPART (top), 1);
  g_assert_cmpstr (subtype (related), ==, "related");
  g_assert_cmpint (g_mime_multipart_get_count (GMIME_MULTIPART (related)), ==, 2);
  html_part = g_mime_multipart_get_part (GMIME_MULTIPART (related), 0);
  image_part = g_mime_multipart_get_part (GMIME_MULTIPART (related), 1);
  g_assert_cmpstr (subtype (html_part), ==, "html");
  got_html = g_mime_text_part_get_text (GMIME_TEXT_PART (html_part));
  {
    /* Lines go out with CRLF ends; the rest is as written. */
    g_auto(GStrv) lines = g_strsplit (got_html, "\r\n", -1);
    g_autofree char *joined = g_strjoinv ("\n", lines);

    g_assert_cmpstr (joined, ==, html);
  }
  g_assert_null (strstr (got_html, "<script"));
  g_assert_nonnull (strstr (got_html, "<b>Ann</b>"));
  /* The image the HTML names is the one beside it. */
  reference = g_strdup_printf ("src=\"cid:%s\"", g_mime_object_get_content_id (image_part));
  g_assert_nonnull (strstr (got_html, reference));
  g_assert_cmpstr (subtype (image_part), ==, "png");

  /* Opened again, as a draft is: the same text, the image in a file. */
  back = tern_rich_text_read_message (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                                      opened, attachments, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  assert_same_text (text, back, TRUE);
  g_assert_cmpuint (attachments->len, ==, 0);
  {
    TernRichLine *last = g_ptr_array_index (back->lines, back->lines->len - 1);
    TernRichRun *run = g_ptr_array_index (last->runs, 0);
    g_autofree char *contents = NULL;
    gsize length = 0;

    g_assert_true (g_file_get_contents (run->image, &contents, &length, NULL));
    g_assert_cmpmem (contents, length, png, sizeof png);
    g_assert_true (g_str_has_prefix (run->image, opened));
  }

  tern_test_remove_tree (dir);
}

static void
test_plain_draft_keeps_attachments (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-rich-XXXXXX");
  g_autofree char *file = g_build_filename (dir, "notes.txt", NULL);
  g_autofree char *opened = g_build_filename (dir, "opened", NULL);
  g_autoptr(TernMimeComposer) composer = tern_mime_composer_new ();
  g_autoptr(GPtrArray) attachments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  TernRichText *text;

  g_assert_true (g_file_set_contents (file, "first\nsecond\n", -1, NULL));
  tern_mime_composer_set_draft (composer, TRUE);
  tern_mime_composer_set_text (composer, "Just text\n");
  g_assert_true (tern_mime_composer_add_attachment (composer, file, NULL, &error));
  {
    static const char forwarded[] =
      "From: bob@example.org\r\nSubject: Price list\r\n\r\nHi\r\n";
    g_autoptr(GBytes) bytes = g_bytes_new_static (forwarded, strlen (forwarded));

    tern_mime_composer_add_forwarded (composer, bytes);
  }
  raw = tern_mime_composer_to_bytes (composer, &error);
  g_assert_no_error (error);

  text = tern_rich_text_read_message (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw),
                                      opened, attachments, &error);
  g_assert_null (text);
  g_assert_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_NOT_RICH_TEXT);
  g_assert_cmpuint (attachments->len, ==, 2);
  g_assert_true (g_str_has_suffix (attachments->pdata[0], "/notes.txt"));
  g_assert_true (g_file_get_contents (attachments->pdata[0], &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "first\nsecond\n");
  g_clear_pointer (&contents, g_free);
  /* A forwarded message stays whole. */
  g_assert_true (g_str_has_suffix (attachments->pdata[1], "/forwarded.eml"));
  g_assert_true (g_file_get_contents (attachments->pdata[1], &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "Subject: Price list"));

  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mime/rich/escaped-html-and-plain-alternative", test_html_and_plain);
  g_test_add_func ("/mime/rich/html-reads-back-and-foreign-html-is-refused",
                   test_html_reads_back);
  g_test_add_func ("/mime/rich/sent-as-alternative-with-related-image",
                   test_sent_as_alternative_with_related_image);
  g_test_add_func ("/mime/rich/plain-draft-keeps-attachments",
                   test_plain_draft_keeps_attachments);

  return g_test_run ();
}
