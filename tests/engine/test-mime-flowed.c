/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Plain text with quotes: reading format=flowed (RFC 3676) into
 * paragraphs, writing it back, and drawing quote levels as nested quote
 * blocks in the reader.
 */

#include "config.h"

#include <string.h>
#include <gmime/gmime.h>

#include "tern-engine.h"
#include "tern-mime-composer.h"
#include "tern-mime-display.h"
#include "tern-mime-flowed.h"
#include "tern-mime-message.h"
#include "tern-test-util.h"

static void
test_decode_joins_soft_breaks (void)
{
  g_autofree char *text = NULL;

  text = tern_mime_decode_flowed ("This line flows \r\n"
                                  "into this one.\r\n"
                                  "A fixed line.\r\n"
                                  " From here, stuffed.\r\n"
                                  "  Two spaces, one stuffed.\r\n"
                                  "\r\n"
                                  "Flows at the end \r\n",
                                  FALSE);
  g_assert_cmpstr (text, ==,
                   "This line flows into this one.\n"
                   "A fixed line.\n"
                   "From here, stuffed.\n"
                   " Two spaces, one stuffed.\n"
                   "\n"
                   "Flows at the end \n");
}

static void
test_decode_quotes (void)
{
  g_autofree char *text = NULL;

  text = tern_mime_decode_flowed ("On Monday, Ann wrote: \n"
                                  "the attribution was flowed.\n"
                                  "> Quoted text that \n"
                                  "> flows on, \n"
                                  ">> but a deeper line ends the paragraph above.\n"
                                  ">>\n"
                                  "> >not deeper: a space is stuffing, the rest is text\n"
                                  ">Unstuffed quoted text.\n"
                                  "Back at the top.\n",
                                  FALSE);
  g_assert_cmpstr (text, ==,
                   "On Monday, Ann wrote: the attribution was flowed.\n"
                   "> Quoted text that flows on, \n"
                   ">> but a deeper line ends the paragraph above.\n"
                   ">>\n"
                   "> >not deeper: a space is stuffing, the rest is text\n"
                   "> Unstuffed quoted text.\n"
                   "Back at the top.\n");
}

static void
test_decode_delsp_and_signature (void)
{
  g_autofree char *deleted = NULL;
  g_autofree char *signature = NULL;

  /* DelSp=yes: the space was added to mark the break, as in text without
   * spaces between words. */
  deleted = tern_mime_decode_flowed ("日本語の \nテキスト\n", TRUE);
  g_assert_cmpstr (deleted, ==, "日本語のテキスト\n");

  /* The signature separator never flows, nor is flowed into. */
  signature = tern_mime_decode_flowed ("Last words \n-- \nZoë \nÜnal\n", FALSE);
  g_assert_cmpstr (signature, ==, "Last words \n-- \nZoë Ünal\n");
}

static void
test_quote_depth (void)
{
  gsize content = 0;

  g_assert_cmpuint (tern_mime_quote_depth ("plain", 5, &content), ==, 0);
  g_assert_cmpuint (content, ==, 0);
  g_assert_cmpuint (tern_mime_quote_depth ("> one", 5, &content), ==, 1);
  g_assert_cmpuint (content, ==, 2);
  g_assert_cmpuint (tern_mime_quote_depth (">>two", 5, &content), ==, 2);
  g_assert_cmpuint (content, ==, 2);
  g_assert_cmpuint (tern_mime_quote_depth ("> > > three", 11, &content), ==, 3);
  g_assert_cmpuint (content, ==, 6);
  g_assert_cmpuint (tern_mime_quote_depth (">", 1, &content), ==, 1);
  g_assert_cmpuint (content, ==, 1);
  /* Only the given length counts. */
  g_assert_cmpuint (tern_mime_quote_depth (">>>", 1, &content), ==, 1);
}

/* What the composer writes, a reader of flowed text reads back as typed:
 * paragraphs whole, quotes at their depth. */
static void
test_round_trip (void)
{
  static const char *words[] = {
    "mail", "über", "a", "conversation", "日本語", "quote", "café", "x",
    "https://example.org/a/very/long/path/that/does/not/break/anywhere/at/all",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (3676);
  GString *typed = g_string_new (NULL);
  g_autofree char *typed_text = NULL;
  g_autofree char *encoded = NULL;
  g_autofree char *decoded = NULL;

  for (guint line = 0; line < 400; line++)
    {
      guint depth = g_rand_int_range (rand, 0, 4);
      guint n = g_rand_int_range (rand, 0, 60);

      for (guint d = 0; d < depth; d++)
        g_string_append_c (typed, '>');
      if (depth > 0 && n > 0)
        g_string_append_c (typed, ' ');
      for (guint w = 0; w < n; w++)
        {
          if (w > 0)
            g_string_append_c (typed, ' ');
          g_string_append (typed, words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
        }
      g_string_append_c (typed, '\n');
    }
  typed_text = g_string_free (typed, FALSE);

  encoded = tern_mime_encode_flowed (typed_text);
  {
    g_auto(GStrv) lines = g_strsplit (encoded, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      {
        gsize length = strlen (lines[i]);

        /* Within 78 characters unless a word is longer. */
        if (g_utf8_strlen (lines[i], -1) > 78)
          g_assert_nonnull (strstr (lines[i], "https://"));
        /* An empty quoted line has no space after its marks. */
        if (length > 0 && lines[i][0] == '>')
          g_assert_false (lines[i][strspn (lines[i], ">")] == ' ' &&
                          lines[i][strspn (lines[i], ">") + 1] == '\0');
      }
  }
  decoded = tern_mime_decode_flowed (encoded, FALSE);
  g_assert_cmpstr (decoded, ==, typed_text);
}

static TernMimeDisplay *
display_of (const char *raw)
{
  g_autoptr(GBytes) bytes = g_bytes_new (raw, strlen (raw));

  return tern_mime_display_new (bytes);
}

static void
test_display_reads_flowed (void)
{
  g_autoptr(TernMimeDisplay) flowed = display_of (
    "Subject: f\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
    "A paragraph cut by \r\nthe sender.\r\n> Quoted, \r\n> also cut.\r\n");
  g_autoptr(TernMimeDisplay) fixed = display_of (
    "Subject: f\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Trailing space here \r\nstays apart.\r\n");

  g_assert_cmpstr (tern_mime_display_get_body (flowed), ==,
                   "A paragraph cut by the sender.\n> Quoted, also cut.\n");
  /* Without format=flowed, a trailing space breaks no rule. */
  g_assert_null (strstr (tern_mime_display_get_body (fixed), "here stays"));
  g_assert_nonnull (strstr (tern_mime_display_get_body (fixed), "stays apart."));
}

static void
test_message_text_reads_flowed (void)
{
  static const char raw[] =
    "From: a@example.org\r\nSubject: f\r\n"
    "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n"
    "Searchable words split by the  \r\nsender: wordcon \r\ntinued.\r\n";
  g_autoptr(TernMimeMessage) message = tern_mime_message_parse ((const guint8 *) raw,
                                                                 strlen (raw));

  /* Search and replies see the paragraph whole. */
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==,
                   "Searchable words split by the sender: wordcontinued.");
}

static guint
count (const char *haystack,
       const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_html_nests_quotes (void)
{
  g_autofree char *html = NULL;
  g_autofree char *deep = NULL;
  GString *many = g_string_new (NULL);

  html = tern_mime_display_text_to_html ("Hi,\n"
                                         "\n"
                                         "On Monday, Ann wrote:\n"
                                         "> See <https://example.org/a>.\n"
                                         ">\n"
                                         "> > Older: <b>not bold</b>\n"
                                         ">\n"
                                         "> Thanks\n"
                                         "\n"
                                         "Bye\n");
  g_assert_cmpstr (html, ==,
                   "<div class=\"tern-plain\">Hi,\n"
                   "\n"
                   "On Monday, Ann wrote:"
                   "<blockquote class=\"tern-quote\">"
                   "See &lt;<a href=\"https://example.org/a\">https://example.org/a</a>&gt;."
                   "<blockquote class=\"tern-quote\">Older: &lt;b&gt;not bold&lt;/b&gt;"
                   "</blockquote>"
                   "Thanks"
                   "</blockquote>"
                   "Bye</div>");

  /* Deep quotes stop nesting, and every block is closed. */
  for (guint i = 0; i < 50; i++)
    g_string_append (many, ">");
  g_string_append (many, " deep\n");
  deep = tern_mime_display_text_to_html (many->str);
  g_string_free (many, TRUE);
  g_assert_cmpuint (count (deep, "<blockquote"), ==,
                    TERN_MIME_MAX_QUOTE_DEPTH);
  g_assert_cmpuint (count (deep, "</blockquote>"), ==,
                    TERN_MIME_MAX_QUOTE_DEPTH);
  g_assert_nonnull (strstr (deep, ">deep</blockquote>"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add_func ("/mime/flowed/decode-joins-soft-breaks", test_decode_joins_soft_breaks);
  g_test_add_func ("/mime/flowed/decode-quotes", test_decode_quotes);
  g_test_add_func ("/mime/flowed/decode-delsp-and-signature", test_decode_delsp_and_signature);
  g_test_add_func ("/mime/flowed/quote-depth", test_quote_depth);
  g_test_add_func ("/mime/flowed/round-trip", test_round_trip);
  g_test_add_func ("/mime/flowed/display-reads-flowed", test_display_reads_flowed);
  g_test_add_func ("/mime/flowed/message-text-reads-flowed", test_message_text_reads_flowed);
  g_test_add_func ("/mime/flowed/html-nests-quotes", test_html_nests_quotes);

  return g_test_run ();
}
