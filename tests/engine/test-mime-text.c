/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-mime-private.h"

static char *
html_text (const char *html)
{
  GString *out = g_string_new (NULL);

  tern_mime_html_to_text (html, strlen (html), 1024 * 1024, out);
  tern_mime_text_tidy (out);
  return g_string_free (out, FALSE);
}

static char *
to_utf8 (const char *data,
         gsize       length,
         const char *charset,
         gboolean   *bad)
{
  GString *out = tern_mime_text_to_utf8 (data, length, charset, bad);

  g_assert_true (g_utf8_validate (out->str, out->len, NULL));
  return g_string_free (out, FALSE);
}

/* HTML */

static void
test_html_drops_tags_scripts_and_styles (void)
{
  g_autofree char *text =
    html_text ("<html><head><title>T</title><style>p { x: y }</style></head>"
               "<body><p>One <b>bold</b> word.</p><script>if (a < b) go ();</script>"
               "<!-- hidden <p>not here</p> --><div>Two</div><template>none</template></body></html>");

  g_assert_cmpstr (text, ==, "One bold word.\n\nTwo");
}

static void
test_html_decodes_entities (void)
{
  g_autofree char *text =
    html_text ("&lt;a&gt; &amp; &quot;q&quot; &#65;&#x42;&#X43; &eacute;&Auml;&szlig; &euro;&trade; "
               "&nbsp;x &amp &ampx &unknown; &#; &#128; &#0; &#xD800; &#99999999999;");

  g_assert_cmpstr (text, ==, "<a> & \"q\" ABC éÄß €™ x & &ampx &unknown; &#; € \xef\xbf\xbd "
                             "\xef\xbf\xbd \xef\xbf\xbd");
}

static void
test_html_unclosed_script_hides_the_rest (void)
{
  g_autofree char *text = html_text ("<p>shown</p><script>var x = '</p>never shown");
  g_autofree char *upper = html_text ("<SCRIPT>hidden</ScRiPt >shown");

  g_assert_cmpstr (text, ==, "shown");
  g_assert_cmpstr (upper, ==, "shown");
}

static void
test_html_marks_blockquote_lines (void)
{
  g_autofree char *text =
    html_text ("<p>Fine.</p><blockquote>Earlier<br>words<blockquote>older</blockquote></blockquote>"
               "<p>After</p>");

  g_assert_cmpstr (text, ==, "Fine.\n\n> Earlier\n> words\n> > older\n\nAfter");
}

static void
test_html_keeps_pre_white_space (void)
{
  g_autofree char *text = html_text ("<p>a   b\n c</p><pre>x   y\n  z</pre>");

  g_assert_cmpstr (text, ==, "a b c\n\nx   y\n  z");
}

static void
test_html_quoted_attributes_may_hold_brackets (void)
{
  g_autofree char *text = html_text ("<a title='1 > 0' href=\"x>y\">link</a> <img alt=\">\">end");

  g_assert_cmpstr (text, ==, "link end");
}

static void
test_html_stops_at_the_byte_limit (void)
{
  GString *html = g_string_new (NULL);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < 10000; i++)
    g_string_append (html, "<p>paragraph</p>");

  tern_mime_html_to_text (html->str, html->len, 1000, out);
  g_assert_cmpuint (out->len, >=, 1000);
  g_assert_cmpuint (out->len, <, 1100);
  g_string_free (html, TRUE);
  g_string_free (out, TRUE);
}

static void
test_html_sniffs_meta_charset (void)
{
  static const char html5[] = "<html><head><meta charset=\"windows-1251\"></head>";
  static const char html4[] =
    "<meta http-equiv=Content-Type content=\"text/html; CHARSET=iso-8859-2\">";
  g_autofree char *a = tern_mime_html_sniff_charset (html5, strlen (html5));
  g_autofree char *b = tern_mime_html_sniff_charset (html4, strlen (html4));
  g_autofree char *none = tern_mime_html_sniff_charset ("<p>charset</p>", 14);

  g_assert_cmpstr (a, ==, "windows-1251");
  g_assert_cmpstr (b, ==, "iso-8859-2");
  g_assert_null (none);
}

/* Charsets */

static void
test_text_converts_named_charsets (void)
{
  gboolean bad = FALSE;
  g_autofree char *latin1 = to_utf8 ("caf\xe9", 4, "ISO-8859-1", &bad);
  g_autofree char *cp1252 = to_utf8 ("\x93quoted\x94 \x80", 10, "windows-1252", &bad);
  g_autofree char *jis = to_utf8 ("\x1b$B$3$s\x1b(B", 10, "iso-2022-jp", &bad);
  g_autofree char *alias = to_utf8 ("\xe9", 1, "latin1", &bad);

  g_assert_cmpstr (latin1, ==, "café");
  g_assert_cmpstr (cp1252, ==, "“quoted” €");
  g_assert_cmpstr (jis, ==, "こん");
  g_assert_cmpstr (alias, ==, "é");
  g_assert_false (bad);
}

static void
test_text_replaces_bytes_that_do_not_convert (void)
{
  gboolean bad = FALSE;
  /* 0xff is no Shift_JIS byte; the text goes on after it. */
  g_autofree char *text = to_utf8 ("a\xff" "b", 3, "shift_jis", &bad);

  g_assert_true (g_str_has_prefix (text, "a"));
  g_assert_true (g_str_has_suffix (text, "b"));
  g_assert_nonnull (strstr (text, "\xef\xbf\xbd"));
  g_assert_true (bad);
}

static void
test_text_unknown_label_falls_back (void)
{
  gboolean bad_utf8 = FALSE;
  gboolean bad_latin = FALSE;
  g_autofree char *utf8 = to_utf8 ("na\xc3\xafve", 6, "x-made-up", &bad_utf8);
  g_autofree char *latin = to_utf8 ("na\xefve", 5, "x-made-up", &bad_latin);
  g_autofree char *long_label = g_strnfill (1000, 'x');
  gboolean bad_long = FALSE;
  g_autofree char *text = to_utf8 ("plain", 5, long_label, &bad_long);

  g_assert_cmpstr (utf8, ==, "naïve");
  g_assert_cmpstr (latin, ==, "naïve");
  g_assert_cmpstr (text, ==, "plain");
  g_assert_true (bad_utf8);
  g_assert_true (bad_latin);
  g_assert_true (bad_long);
}

static void
test_text_mislabelled_utf8_is_repaired (void)
{
  gboolean bad = FALSE;
  /* Real UTF-8 with one broken byte: keep the UTF-8, mark the byte. */
  g_autofree char *mixed = to_utf8 ("\xc3\xa9t\xc3\xa9 \xff ok", 10, "utf-8", &bad);

  g_assert_cmpstr (mixed, ==, "été \xef\xbf\xbd ok");
  g_assert_true (bad);
}

static void
test_text_keeps_clean_utf8_unflagged (void)
{
  gboolean bad = FALSE;
  g_autofree char *text = to_utf8 ("\xe2\x9c\x93 fine", 8, NULL, &bad);
  g_autofree char *nul = to_utf8 ("a\0b", 3, "utf-8", &bad);

  g_assert_cmpstr (text, ==, "✓ fine");
  g_assert_cmpstr (nul, ==, "a b");
  g_assert_false (bad);
}

static void
test_text_tidy_normalizes_line_ends_and_controls (void)
{
  GString *text = g_string_new ("a\r\nb\rc\x01" "d\te\xc2\xa0" "f\xe2\x80\x8bg\xc2\xadh\xef\xbb\xbfi\xc2\x85j");

  tern_mime_text_tidy (text);
  g_assert_cmpstr (text->str, ==, "a\nb\nc d\te fghi j");
  g_string_free (text, TRUE);
}

static void
test_text_clean_line_is_one_safe_line (void)
{
  g_autofree char *spaces = tern_mime_text_clean_line ("  a \r\n\t b\x01 ", 100);
  g_autofree char *override = tern_mime_text_clean_line ("invoice\xe2\x80\xaegpj.exe", 100);
  g_autofree char *invalid = tern_mime_text_clean_line ("bad \xff byte", 100);
  g_autofree char *cut = tern_mime_text_clean_line ("ééé", 5);

  g_assert_cmpstr (spaces, ==, "a b");
  /* A right-to-left override could disguise a file's real extension. */
  g_assert_cmpstr (override, ==, "invoicegpj.exe");
  g_assert_cmpstr (invalid, ==, "bad \xef\xbf\xbd byte");
  g_assert_cmpstr (cut, ==, "éé");
}

static void
test_text_truncates_on_character_boundaries (void)
{
  const char *text = "aé日";

  g_assert_cmpuint (tern_mime_utf8_truncate_len (text, strlen (text), 2), ==, 1);
  g_assert_cmpuint (tern_mime_utf8_truncate_len (text, strlen (text), 3), ==, 3);
  g_assert_cmpuint (tern_mime_utf8_truncate_len (text, strlen (text), 5), ==, 3);
  g_assert_cmpuint (tern_mime_utf8_truncate_len (text, strlen (text), 6), ==, 6);
}

/* Previews */

static void
assert_preview (const char *text,
                const char *expected)
{
  g_autofree char *preview = tern_mime_text_make_preview (text, 200);

  g_assert_cmpstr (preview, ==, expected);
}

static void
test_preview_skips_quotes_attribution_and_signature (void)
{
  assert_preview ("On Monday, Bo wrote:\n> old\n>\n> older\n\nNew   words\nhere.\n\n-- \nBo\n",
                  "New words here.");
  assert_preview ("Top reply.\n\nOn Monday, Bo wrote:\n\n> old\n", "Top reply.");
  assert_preview ("Ends with a colon:\nbut no quote follows", "Ends with a colon: but no quote follows");
  assert_preview ("Text\n--\nSignature without its space", "Text");
}

static void
test_preview_stops_at_original_message (void)
{
  assert_preview ("Sure, Thursday.\n\n-----Original Message-----\nFrom: Bo\n", "Sure, Thursday.");
  assert_preview ("Yes.\n________________________________\nFrom: Bo\n", "Yes.");
}

static void
test_preview_falls_back_to_quotes (void)
{
  assert_preview ("> only\n> quoted words\n", "only quoted words");
}

static void
test_preview_is_bounded (void)
{
  GString *text = g_string_new (NULL);
  g_autofree char *preview = NULL;

  for (guint i = 0; i < 100; i++)
    g_string_append (text, "wörds ");

  preview = tern_mime_text_make_preview (text->str, 200);
  g_assert_cmpuint (g_utf8_strlen (preview, -1), ==, 200);
  g_assert_true (g_str_has_prefix (preview, "wörds wörds"));
  g_assert_true (g_str_has_suffix (preview, " wö"));
  g_string_free (text, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mime/html/drops-tags-scripts-and-styles", test_html_drops_tags_scripts_and_styles);
  g_test_add_func ("/mime/html/decodes-entities", test_html_decodes_entities);
  g_test_add_func ("/mime/html/unclosed-script-hides-the-rest", test_html_unclosed_script_hides_the_rest);
  g_test_add_func ("/mime/html/marks-blockquote-lines", test_html_marks_blockquote_lines);
  g_test_add_func ("/mime/html/keeps-pre-white-space", test_html_keeps_pre_white_space);
  g_test_add_func ("/mime/html/quoted-attributes-may-hold-brackets", test_html_quoted_attributes_may_hold_brackets);
  g_test_add_func ("/mime/html/stops-at-the-byte-limit", test_html_stops_at_the_byte_limit);
  g_test_add_func ("/mime/html/sniffs-meta-charset", test_html_sniffs_meta_charset);

  g_test_add_func ("/mime/text/converts-named-charsets", test_text_converts_named_charsets);
  g_test_add_func ("/mime/text/replaces-bytes-that-do-not-convert", test_text_replaces_bytes_that_do_not_convert);
  g_test_add_func ("/mime/text/unknown-label-falls-back", test_text_unknown_label_falls_back);
  g_test_add_func ("/mime/text/mislabelled-utf8-is-repaired", test_text_mislabelled_utf8_is_repaired);
  g_test_add_func ("/mime/text/keeps-clean-utf8-unflagged", test_text_keeps_clean_utf8_unflagged);
  g_test_add_func ("/mime/text/tidy-normalizes-line-ends-and-controls", test_text_tidy_normalizes_line_ends_and_controls);
  g_test_add_func ("/mime/text/clean-line-is-one-safe-line", test_text_clean_line_is_one_safe_line);
  g_test_add_func ("/mime/text/truncates-on-character-boundaries", test_text_truncates_on_character_boundaries);

  g_test_add_func ("/mime/preview/skips-quotes-attribution-and-signature", test_preview_skips_quotes_attribution_and_signature);
  g_test_add_func ("/mime/preview/stops-at-original-message", test_preview_stops_at_original_message);
  g_test_add_func ("/mime/preview/falls-back-to-quotes", test_preview_falls_back_to_quotes);
  g_test_add_func ("/mime/preview/is-bounded", test_preview_is_bounded);

  return g_test_run ();
}
