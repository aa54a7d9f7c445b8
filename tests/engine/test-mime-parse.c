/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <string.h>

#include "tern-engine.h"
#include "tern-mime-message.h"

/* Helpers */

static TernMimeMessage *
parse_sample (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "engine", "data", "mime", name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);

  return tern_mime_message_parse ((const guint8 *) data, length);
}

static TernMimeMessage *
parse_string (const char *text)
{
  return tern_mime_message_parse ((const guint8 *) text, strlen (text));
}

static TernAddress *
address_at (GPtrArray *addresses,
            guint      index)
{
  g_assert_cmpuint (index, <, addresses->len);
  return g_ptr_array_index (addresses, index);
}

static TernAttachmentInfo *
attachment_at (TernMimeMessage *message,
               guint            index)
{
  GPtrArray *attachments = tern_mime_message_get_attachments (message);

  g_assert_cmpuint (index, <, attachments->len);
  return g_ptr_array_index (attachments, index);
}

static guint
strv_length (const char * const *strv)
{
  return g_strv_length ((char **) strv);
}

static void
assert_has_problem (TernMimeMessage  *message,
                    TernMimeProblems  problem)
{
  if ((tern_mime_message_get_problems (message) & problem) == 0)
    g_error ("expected problem 0x%x among 0x%x", problem, tern_mime_message_get_problems (message));
}

static void
assert_no_problem (TernMimeMessage  *message,
                   TernMimeProblems  problem)
{
  if ((tern_mime_message_get_problems (message) & problem) != 0)
    g_error ("unexpected problem 0x%x among 0x%x", problem, tern_mime_message_get_problems (message));
}

/* Every string a message gives is valid UTF-8, whatever went in. */
static void
assert_all_valid_utf8 (TernMimeMessage *message)
{
  GPtrArray *lists[] = {
    tern_mime_message_get_from (message), tern_mime_message_get_to (message),
    tern_mime_message_get_cc (message), tern_mime_message_get_bcc (message),
    tern_mime_message_get_reply_to (message), tern_mime_message_get_sender (message),
  };
  GPtrArray *attachments = tern_mime_message_get_attachments (message);
  const char * const *refs = tern_mime_message_get_references (message);

  g_assert_true (g_utf8_validate (tern_mime_message_get_subject (message), -1, NULL));
  g_assert_true (g_utf8_validate (tern_mime_message_get_body_text (message), -1, NULL));
  g_assert_true (g_utf8_validate (tern_mime_message_get_preview (message), -1, NULL));
  if (tern_mime_message_get_message_id (message) != NULL)
    g_assert_true (g_utf8_validate (tern_mime_message_get_message_id (message), -1, NULL));

  for (guint i = 0; refs[i] != NULL; i++)
    g_assert_true (g_utf8_validate (refs[i], -1, NULL));

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; i < lists[l]->len; i++)
      {
        TernAddress *address = g_ptr_array_index (lists[l], i);

        g_assert_true (g_utf8_validate (address->address, -1, NULL));
        if (address->name != NULL)
          g_assert_true (g_utf8_validate (address->name, -1, NULL));
      }

  for (guint i = 0; i < attachments->len; i++)
    {
      TernAttachmentInfo *info = g_ptr_array_index (attachments, i);

      if (info->filename != NULL)
        g_assert_true (g_utf8_validate (info->filename, -1, NULL));
      g_assert_true (g_utf8_validate (info->mime_type, -1, NULL));
    }
}

/* Runs @func on a thread with a small stack, as worker threads may have. */
typedef struct
{
  const char      *data;
  gsize            length;
  TernMimeMessage *result;
} StackRun;

static void *
parse_on_thread (void *user_data)
{
  StackRun *run = user_data;

  run->result = tern_mime_message_parse ((const guint8 *) run->data, run->length);
  return NULL;
}

static TernMimeMessage *
parse_with_small_stack (const char *data,
                        gsize       length)
{
  StackRun run = { data, length, NULL };
  pthread_attr_t attr;
  pthread_t thread;

  pthread_attr_init (&attr);
  /* One MiB: less than the hostile inputs below would need without bounds. */
  pthread_attr_setstacksize (&attr, 1024 * 1024);
  g_assert_cmpint (pthread_create (&thread, &attr, parse_on_thread, &run), ==, 0);
  pthread_join (thread, NULL);
  pthread_attr_destroy (&attr);

  g_assert_nonnull (run.result);
  return run.result;
}

static GString *
deep_multipart (guint levels)
{
  GString *s = g_string_new ("From: deep@example.com\r\nSubject: deep\r\n");

  for (guint i = 0; i < levels; i++)
    g_string_append_printf (s, "Content-Type: multipart/mixed; boundary=\"level-%u\"\r\n\r\n"
                               "--level-%u\r\n", i, i);
  g_string_append (s, "Content-Type: text/plain\r\n\r\nThe innermost words.\r\n");
  for (guint i = levels; i > 0; i--)
    g_string_append_printf (s, "--level-%u--\r\n", i - 1);

  return s;
}

static GString *
deep_messages (guint levels)
{
  GString *s = g_string_new ("From: deep@example.com\r\nSubject: deep\r\n");

  for (guint i = 0; i < levels; i++)
    g_string_append (s, "Content-Type: message/rfc822\r\n\r\nSubject: one level down\r\n");
  g_string_append (s, "Content-Type: text/plain\r\n\r\nThe innermost words.\r\n");

  return s;
}

/* Degenerate input */

static void
test_parse_empty_input_gives_empty_facts (void)
{
  g_autoptr(TernMimeMessage) message = tern_mime_message_parse ((const guint8 *) "", 0);
  g_autoptr(TernMimeMessage) null_message = tern_mime_message_parse (NULL, 0);

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "");
  g_assert_cmpstr (tern_mime_message_get_preview (message), ==, "");
  g_assert_null (tern_mime_message_get_message_id (message));
  g_assert_cmpuint (tern_mime_message_get_from (message)->len, ==, 0);
  g_assert_cmpuint (strv_length (tern_mime_message_get_references (message)), ==, 0);
  g_assert_cmpint (tern_mime_message_get_date (message), ==, 0);
  assert_has_problem (message, TERN_MIME_PROBLEM_EMPTY);
  assert_has_problem (null_message, TERN_MIME_PROBLEM_EMPTY);
}

static void
test_parse_text_without_headers_becomes_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_string ("just some words\nwithout any header\n");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==,
                   "just some words\nwithout any header\n");
  g_assert_cmpstr (tern_mime_message_get_preview (message), ==, "just some words without any header");
  assert_has_problem (message, TERN_MIME_PROBLEM_NO_HEADERS);
}

static void
test_parse_headers_only_has_empty_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_string ("Subject: only headers\r\nFrom: a@example.com");

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "only headers");
  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->address, ==, "a@example.com");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "");
  assert_no_problem (message, TERN_MIME_PROBLEM_NO_HEADERS);
}

static void
test_parse_nul_bytes_do_not_cut_the_body (void)
{
  static const char raw[] = "Subject: nul\r\n\r\nbefore\0after\r\n";
  g_autoptr(TernMimeMessage) message = tern_mime_message_parse ((const guint8 *) raw, sizeof raw - 1);

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "nul");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "before after");
}

/* Headers */

static void
test_parse_reads_threading_headers (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("alternative.eml");
  const char * const *refs = tern_mime_message_get_references (message);

  g_assert_cmpstr (tern_mime_message_get_message_id (message), ==, "20240312.ab12@mail.example.org");
  g_assert_cmpstr (tern_mime_message_get_in_reply_to (message), ==, "parent-17@mail.example.com");
  g_assert_cmpuint (strv_length (refs), ==, 2);
  g_assert_cmpstr (refs[0], ==, "root-1@mail.example.com");
  g_assert_cmpstr (refs[1], ==, "parent-17@mail.example.com");
}

static void
test_parse_decodes_rfc2047_subject (void)
{
  g_autoptr(TernMimeMessage) utf8 = parse_sample ("alternative.eml");
  g_autoptr(TernMimeMessage) latin1 = parse_sample ("latin1.eml");
  g_autoptr(TernMimeMessage) jis = parse_sample ("shift-jis.eml");

  g_assert_cmpstr (tern_mime_message_get_subject (utf8), ==, "Re: Café menu for Friday");
  g_assert_cmpstr (tern_mime_message_get_subject (latin1), ==, "Grüße aus Köln");
  g_assert_cmpstr (tern_mime_message_get_subject (jis), ==, "会議の件");
}

static void
test_parse_keeps_broken_rfc2047_readable (void)
{
  g_autoptr(TernMimeMessage) message =
    parse_string ("Subject: =?utf-8?q?caf=C3=A9?= =?no-such-charset?q?ok?= =?utf-8?q?unclosed\r\n"
                  "\r\nbody\r\n");
  const char *subject = tern_mime_message_get_subject (message);

  g_assert_true (g_str_has_prefix (subject, "café"));
  g_assert_nonnull (strstr (subject, "ok"));
  g_assert_nonnull (strstr (subject, "unclosed"));
}

static void
test_parse_reads_address_lists (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("alternative.eml");
  GPtrArray *to = tern_mime_message_get_to (message);

  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->name, ==, "Ada Lövel");
  g_assert_cmpstr (address_at (tern_mime_message_get_reply_to (message), 0)->address, ==,
                   "lists@example.org");
  g_assert_cmpstr (address_at (tern_mime_message_get_cc (message), 0)->name, ==, "Fay");

  /* The group "Project crew" gives its two members, then Eve follows. */
  g_assert_cmpuint (to->len, ==, 3);
  g_assert_cmpstr (address_at (to, 0)->address, ==, "bo@example.com");
  g_assert_null (address_at (to, 0)->name);
  g_assert_cmpstr (address_at (to, 1)->name, ==, "Cy, Dee");
  g_assert_cmpstr (address_at (to, 2)->address, ==, "eve@example.com");
}

static void
test_parse_lowercases_only_the_domain (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("alternative.eml");

  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->address, ==,
                   "Ada@example.org");
}

static void
test_parse_reads_utf8_headers (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("utf8-headers.eml");
  TernAddress *from = address_at (tern_mime_message_get_from (message), 0);
  TernAddress *to = address_at (tern_mime_message_get_to (message), 0);

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "Grüße – 日本語の件名 ✓");
  g_assert_cmpstr (from->name, ==, "Zoë Ångström");
  g_assert_cmpstr (from->address, ==, "zoë@bücher.example");
  g_assert_cmpstr (to->name, ==, "田中");
  g_assert_cmpstr (to->address, ==, "tanaka@例え.テスト");
  g_assert_cmpstr (tern_mime_message_get_message_id (message), ==, "ünï@example.com");
  assert_no_problem (message, TERN_MIME_PROBLEM_RAW_8BIT_HEADERS);
}

static void
test_parse_reads_raw_latin1_headers (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("raw-8bit-headers.eml");

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "Überraschung für dich");
  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->name, ==, "Jörg Schäfer");
  assert_has_problem (message, TERN_MIME_PROBLEM_RAW_8BIT_HEADERS);
}

static void
test_parse_reads_raw_headers_in_body_charset (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("koi8r.eml");

  /* Without a label, the body's KOI8-R is the best guess for the headers. */
  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "Привет из Москвы");
  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->name, ==, "Иван");
  assert_has_problem (message, TERN_MIME_PROBLEM_RAW_8BIT_HEADERS);
}

static void
test_parse_collects_delivered_to_in_order (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("delivered-to.eml");
  const char * const *delivered = tern_mime_message_get_delivered_to (message);

  /* Delivered-To in header order, then X-Original-To; each address once. */
  g_assert_cmpuint (strv_length (delivered), ==, 4);
  g_assert_cmpstr (delivered[0], ==, "support@example.com");
  g_assert_cmpstr (delivered[1], ==, "archive@example.com");
  g_assert_cmpstr (delivered[2], ==, "Info@example.com");
  g_assert_cmpstr (delivered[3], ==, "sales@example.com");
}

static void
test_parse_reads_date_as_utc (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("alternative.eml");
  g_autoptr(TernMimeMessage) pacific = parse_sample ("utf8-headers.eml");

  /* Tue, 12 Mar 2024 09:15:02 +0100 */
  g_assert_cmpint (tern_mime_message_get_date (message), ==, 1710231302);
  /* Tue, 19 Mar 2024 14:30:00 -0700 */
  g_assert_cmpint (tern_mime_message_get_date (pacific), ==, 1710883800);
}

static void
test_parse_missing_or_bad_date_is_zero (void)
{
  g_autoptr(TernMimeMessage) missing = parse_string ("Subject: x\r\n\r\nbody\r\n");
  g_autoptr(TernMimeMessage) bad = parse_string ("Date: the day after tomorrow\r\n\r\nbody\r\n");

  g_assert_cmpint (tern_mime_message_get_date (missing), ==, 0);
  g_assert_cmpint (tern_mime_message_get_date (bad), ==, 0);
}

static void
test_parse_bounds_and_dedups_references (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("long-references.eml");
  const char * const *refs = tern_mime_message_get_references (message);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint n = strv_length (refs);

  /* 152 IDs with two repeats: the root and the 99 nearest remain. */
  g_assert_cmpuint (n, ==, TERN_MIME_MAX_REFERENCES);
  g_assert_cmpstr (refs[0], ==, "msg-000@lists.example.org");
  g_assert_cmpstr (refs[1], ==, "msg-051@lists.example.org");
  g_assert_cmpstr (refs[n - 1], ==, "msg-149@lists.example.org");
  for (guint i = 0; i < n; i++)
    g_assert_true (g_hash_table_add (seen, (gpointer) refs[i]));
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
}

static void
test_parse_reads_bare_in_reply_to (void)
{
  g_autoptr(TernMimeMessage) message =
    parse_string ("In-Reply-To: parent@example.com\r\nMessage-ID: not an id at all\r\n\r\nx\r\n");

  g_assert_cmpstr (tern_mime_message_get_in_reply_to (message), ==, "parent@example.com");
  g_assert_null (tern_mime_message_get_message_id (message));
}

/* Bodies */

static void
test_parse_prefers_plain_alternative_for_search (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("alternative.eml");
  const char *body = tern_mime_message_get_body_text (message);

  g_assert_true (g_str_has_prefix (body, "Hi all,\n\nthe café can do soup and brötchen on Friday. "
                                         "Shall I book for twelve?"));
  g_assert_null (strstr (body, "<p>"));
  g_assert_true (tern_mime_message_is_html (message));
  g_assert_false (tern_mime_message_has_attachments (message));
  g_assert_cmpuint (tern_mime_message_get_attachments (message)->len, ==, 0);
}

static void
test_parse_strips_html_only_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("html-only.eml");
  const char *body = tern_mime_message_get_body_text (message);

  g_assert_true (tern_mime_message_is_html (message));
  g_assert_nonnull (strstr (body, "Spring sale"));
  g_assert_nonnull (strstr (body, "Save 20% on garden tools — café chairs & tables!"));
  g_assert_nonnull (strstr (body, "Prices <from> €9…"));
  g_assert_nonnull (strstr (body, "Rake £12"));
  g_assert_null (strstr (body, "never indexed"));
  g_assert_null (strstr (body, "hidden too"));
  g_assert_null (strstr (body, "Do not index this title"));
  g_assert_null (strstr (body, "color: red"));
  g_assert_null (strstr (body, "comment"));
  g_assert_null (strchr (body, '\r'));

  /* The quoted paragraph stays searchable but out of the preview. */
  g_assert_nonnull (strstr (body, "> Quoted words from an earlier mail"));
  g_assert_null (strstr (tern_mime_message_get_preview (message), "Quoted"));
}

static void
test_parse_reads_html_charset_from_meta (void)
{
  /* No charset parameter; the page names windows-1251 itself ("Привет"). */
  g_autoptr(TernMimeMessage) message =
    parse_string ("Content-Type: text/html\r\n\r\n<html><head>"
                  "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">"
                  "</head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body></html>\r\n");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "Привет");
  assert_no_problem (message, TERN_MIME_PROBLEM_BAD_CHARSET);
}

static void
test_parse_converts_latin1_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("latin1.eml");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==,
                   "Grüße aus Köln! Das Wetter ist schön.\nÀ bientôt, François");
  assert_no_problem (message, TERN_MIME_PROBLEM_BAD_CHARSET);
}

static void
test_parse_converts_shift_jis_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("shift-jis.eml");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==,
                   "こんにちは、会議は明日の十時です。\nよろしくお願いします。");
  assert_no_problem (message, TERN_MIME_PROBLEM_BAD_CHARSET);
}

static void
test_parse_converts_koi8r_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("koi8r.eml");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "Добрый день!\nВстреча в пятницу.");
}

static void
test_parse_survives_broken_charset_labels (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("broken-charset.eml");
  const char *body = tern_mime_message_get_body_text (message);

  /* An unknown label with UTF-8 bytes: read as UTF-8. */
  g_assert_nonnull (strstr (body, "Unknown label, UTF-8 bytes: naïve café"));
  /* "UTF-8" over Latin-1 bytes: read as Windows-1252. */
  g_assert_nonnull (strstr (body, "Labelled UTF-8 but Latin-1: café ÿþ end"));
  assert_has_problem (message, TERN_MIME_PROBLEM_BAD_CHARSET);
}

static void
test_parse_reads_unlabelled_8bit_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("raw-8bit-headers.eml");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==,
                   "Kein Zeichensatz angegeben: Straße.");
}

static void
test_parse_flags_invalid_transfer_encodings (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("broken-mime.eml");
  const char *body = tern_mime_message_get_body_text (message);

  /* What can be decoded is kept. */
  g_assert_true (g_str_has_prefix (body, "Hello world"));
  g_assert_nonnull (strstr (body, "Bad escape =ZZ here and soft break"));
  assert_has_problem (message, TERN_MIME_PROBLEM_BAD_ENCODING);
  /* The multipart never ends, and a multipart has no boundary. */
  assert_has_problem (message, TERN_MIME_PROBLEM_MALFORMED);
}

static void
test_parse_reads_multipart_without_boundary (void)
{
  g_autoptr(TernMimeMessage) message =
    parse_string ("Subject: no boundary\r\nContent-Type: multipart/mixed\r\n\r\n"
                  "--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n");

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "no boundary");
  assert_has_problem (message, TERN_MIME_PROBLEM_MALFORMED);
  assert_all_valid_utf8 (message);
}

static void
test_parse_preview_skips_quotes_and_signature (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("reply-quoted.eml");
  g_autoptr(TernMimeMessage) alternative = parse_sample ("alternative.eml");

  g_assert_cmpstr (tern_mime_message_get_preview (message), ==, "Noon works. See you at the usual place.");
  g_assert_cmpstr (tern_mime_message_get_preview (alternative), ==,
                   "Hi all, the café can do soup and brötchen on Friday. "
                   "Shall I book for twelve? Ada");
}

static void
test_parse_bounds_body_text (void)
{
  GString *raw = g_string_new ("Subject: long\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
  g_autoptr(TernMimeMessage) message = NULL;

  while (raw->len < 3 * 1024 * 1024)
    g_string_append (raw, "Lorem ipsum dolor sit amet, ünïcödé everywhere.\r\n");

  message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);
  g_assert_cmpuint (strlen (tern_mime_message_get_body_text (message)), <=, TERN_MIME_MAX_BODY_TEXT);
  g_assert_cmpuint (strlen (tern_mime_message_get_body_text (message)), >, TERN_MIME_MAX_BODY_TEXT - 64);
  g_assert_cmpuint (g_utf8_strlen (tern_mime_message_get_preview (message), -1), ==,
                    TERN_MIME_PREVIEW_CHARS);
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_TEXT);
  assert_all_valid_utf8 (message);
  g_string_free (raw, TRUE);
}

/* Attachments */

static void
test_parse_lists_attachments_with_rfc2231_names (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("attachments.eml");
  TernAttachmentInfo *pdf = attachment_at (message, 0);
  TernAttachmentInfo *notes = attachment_at (message, 1);

  g_assert_true (tern_mime_message_has_attachments (message));
  g_assert_false (tern_mime_message_is_html (message));
  g_assert_cmpuint (tern_mime_message_get_attachments (message)->len, ==, 4);

  g_assert_cmpstr (pdf->filename, ==, "Réservation € 12.pdf");
  g_assert_cmpstr (pdf->mime_type, ==, "application/pdf");
  g_assert_cmpstr (pdf->part_path, ==, "2");
  g_assert_false (pdf->is_inline);

  /* Continued and partly encoded (filename*0*, *1*, *2). */
  g_assert_cmpstr (notes->filename, ==, "Reiseübersicht final.txt");
  g_assert_cmpstr (notes->mime_type, ==, "text/plain");
  g_assert_cmpstr (notes->part_path, ==, "3");
}

static void
test_parse_gives_decoded_attachment_sizes (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("attachments.eml");

  /* "%PDF-1.4\n" + 4 x 256 bytes + "\n%%EOF\n", base64 with CRLF lines. */
  g_assert_cmpint (attachment_at (message, 0)->size, ==, 9 + 1024 + 7);
  g_assert_cmpint (attachment_at (message, 1)->size, ==, strlen ("Zeile eins\nZeile zwei\n"));
  g_assert_cmpint (attachment_at (message, 2)->size, ==, strlen ("not really"));
  g_assert_cmpint (attachment_at (message, 3)->size, >, 300);
}

static void
test_parse_strips_folders_from_attachment_names (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("attachments.eml");
  g_autoptr(TernMimeMessage) windows =
    parse_string ("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n--b\r\n"
                  "Content-Type: application/octet-stream; name=\"C:\\\\Temp\\\\evil.exe\"\r\n"
                  "Content-Disposition: attachment; filename=\"..\"\r\n\r\nx\r\n--b--\r\n");

  g_assert_cmpstr (attachment_at (message, 2)->filename, ==, "passwd");
  /* ".." names nothing; the name from Content-Type is not used then. */
  g_assert_null (attachment_at (windows, 0)->filename);
}

static void
test_parse_lists_attached_message (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("attachments.eml");
  TernAttachmentInfo *forwarded = attachment_at (message, 3);

  g_assert_cmpstr (forwarded->mime_type, ==, "message/rfc822");
  g_assert_cmpstr (forwarded->filename, ==, "forwarded.eml");
  g_assert_cmpstr (forwarded->part_path, ==, "5");

  /* Its text is searchable, its own attachment (map.png) is not listed,
   * and the preview shows the message's own words only. */
  g_assert_nonnull (strstr (tern_mime_message_get_body_text (message),
                            "The original plan says leave at nine."));
  g_assert_cmpstr (tern_mime_message_get_preview (message), ==, "Here are the tickets and the plan.");
}

static void
test_parse_lists_inline_cid_images (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("inline-cid.eml");
  TernAttachmentInfo *logo = attachment_at (message, 0);

  g_assert_cmpuint (tern_mime_message_get_attachments (message)->len, ==, 1);
  g_assert_true (logo->is_inline);
  g_assert_cmpstr (logo->content_id, ==, "logo-1@example.org");
  g_assert_cmpstr (logo->filename, ==, "logo.png");
  g_assert_cmpstr (logo->part_path, ==, "2.2");
  g_assert_cmpint (logo->size, ==, 128);
  /* An inline image is no paper clip. */
  g_assert_false (tern_mime_message_has_attachments (message));
  g_assert_true (tern_mime_message_is_html (message));
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "What do you think of the logo?");
}

static void
test_parse_hides_signature_parts (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("pgp-signed.eml");

  g_assert_cmpuint (tern_mime_message_get_attachments (message)->len, ==, 0);
  g_assert_false (tern_mime_message_has_attachments (message));
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "This note is signed.");
}

static void
test_parse_reads_digest_messages_as_body (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("digest.eml");

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==,
                   "Plant the tomatoes after the last frost.\n\nPrune the roses in March.");
  g_assert_false (tern_mime_message_has_attachments (message));
}

static void
test_parse_reaches_nested_rfc822_text (void)
{
  g_autoptr(TernMimeMessage) message = parse_sample ("nested-rfc822.eml");

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "Fwd: Fwd: deep");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "The innermost words.");
  g_assert_cmpstr (tern_mime_message_get_preview (message), ==, "The innermost words.");
  assert_no_problem (message, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
}

/* Hostile input */

static void
test_parse_keeps_64_deep_nesting_whole (void)
{
  GString *raw = deep_multipart (TERN_MIME_MAX_DEPTH);
  g_autoptr(TernMimeMessage) message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);

  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "The innermost words.");
  assert_no_problem (message, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
  g_string_free (raw, TRUE);
}

static void
test_parse_cuts_nesting_past_the_limit (void)
{
  GString *raw = deep_multipart (TERN_MIME_MAX_DEPTH + 1);
  g_autoptr(TernMimeMessage) message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);

  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "deep");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "");
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
  g_string_free (raw, TRUE);
}

static void
test_parse_survives_10000_deep_nesting (void)
{
  GString *raw = deep_multipart (10000);
  gint64 start = g_get_monotonic_time ();
  g_autoptr(TernMimeMessage) message = parse_with_small_stack (raw->str, raw->len);

  g_test_message ("10,000-deep multipart (%" G_GSIZE_FORMAT " bytes): %.1f ms", raw->len,
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "deep");
  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->address, ==, "deep@example.com");
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
  g_string_free (raw, TRUE);
}

static void
test_parse_survives_10000_deep_rfc822 (void)
{
  GString *raw = deep_messages (10000);
  gint64 start = g_get_monotonic_time ();
  g_autoptr(TernMimeMessage) message = parse_with_small_stack (raw->str, raw->len);
  g_autoptr(TernMimeMessage) shallow = NULL;

  g_test_message ("10,000-deep attached messages (%" G_GSIZE_FORMAT " bytes): %.1f ms", raw->len,
                  (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "deep");
  g_assert_null (strstr (tern_mime_message_get_body_text (message), "innermost"));
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
  g_string_free (raw, TRUE);

  raw = deep_messages (TERN_MIME_MAX_DEPTH);
  shallow = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);
  g_assert_cmpstr (tern_mime_message_get_body_text (shallow), ==, "The innermost words.");
  assert_no_problem (shallow, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
  g_string_free (raw, TRUE);
}

static void
test_parse_bounds_part_count (void)
{
  GString *raw = g_string_new ("Subject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n");
  g_autoptr(TernMimeMessage) message = NULL;

  for (guint i = 0; i < 5000; i++)
    g_string_append_printf (raw, "--p\r\nContent-Type: application/octet-stream\r\n"
                                 "Content-Disposition: attachment; filename=\"f%u.bin\"\r\n\r\nx\r\n", i);
  g_string_append (raw, "--p--\r\n");

  message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);
  g_assert_cmpuint (tern_mime_message_get_attachments (message)->len, <, TERN_MIME_MAX_PARTS);
  g_assert_cmpuint (tern_mime_message_get_attachments (message)->len, >, TERN_MIME_MAX_PARTS - 10);
  g_assert_cmpstr (attachment_at (message, 0)->filename, ==, "f0.bin");
  assert_has_problem (message, TERN_MIME_PROBLEM_TOO_MANY_PARTS);
  g_string_free (raw, TRUE);
}

static void
test_parse_survives_megabyte_header_line (void)
{
  GString *raw = g_string_new ("From: big@example.com\r\nSubject: ");
  g_autoptr(TernMimeMessage) message = NULL;

  while (raw->len < 1024 * 1024)
    g_string_append (raw, "word ");
  g_string_append (raw, "\r\nTo: after@example.com\r\n\r\nThe body survives.\r\n");

  message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);
  g_assert_cmpuint (strlen (tern_mime_message_get_subject (message)), <=, TERN_MIME_MAX_SUBJECT_BYTES);
  g_assert_true (g_str_has_prefix (tern_mime_message_get_subject (message), "word word"));
  g_assert_cmpstr (address_at (tern_mime_message_get_to (message), 0)->address, ==, "after@example.com");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "The body survives.");
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
  g_string_free (raw, TRUE);
}

static void
test_parse_survives_huge_encoded_word_charset (void)
{
  /* GMime copies an encoded word's charset to the stack: four megabytes of
   * it on a one-megabyte stack would crash without the field limit. */
  const char *headers[][2] = {
    { "Subject: =?", "?q?x?=\r\n" },
    { "From: =?", "?q?x?= <x@example.com>\r\n" },
    { "Content-Type: text/plain; name*=", "''x\r\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autofree char *charset = g_strnfill (4 * 1024 * 1024, 'a');
      g_autofree char *raw = g_strconcat ("To: x@example.com\r\n", headers[i][0], charset,
                                          headers[i][1], "\r\nstill here\r\n", NULL);
      g_autoptr(TernMimeMessage) message = parse_with_small_stack (raw, strlen (raw));

      g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "still here");
      assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
    }
}

static void
test_parse_survives_deeply_nested_groups (void)
{
  /* GMime recurses once per group: 60,000 of them would need megabytes. */
  GString *raw = g_string_new ("From: a@example.com\r\nTo: ");
  g_autoptr(TernMimeMessage) message = NULL;

  for (guint i = 0; i < 60000; i++)
    g_string_append (raw, "g:");
  g_string_append (raw, "x@example.com\r\n\r\nbody\r\n");

  message = parse_with_small_stack (raw->str, raw->len);
  g_assert_cmpstr (address_at (tern_mime_message_get_from (message), 0)->address, ==, "a@example.com");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "body");
  g_string_free (raw, TRUE);
}

static void
test_parse_bounds_address_count (void)
{
  GString *raw = g_string_new ("From: a@example.com\r\nTo: ");
  g_autoptr(TernMimeMessage) message = NULL;

  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (raw, "%sUser %u <u%u@example.com>", i > 0 ? ",\r\n " : "", i, i);
  g_string_append (raw, "\r\n\r\nbody\r\n");

  message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);
  g_assert_cmpuint (tern_mime_message_get_to (message)->len, ==, TERN_MIME_MAX_ADDRESSES);
  g_assert_cmpstr (address_at (tern_mime_message_get_to (message), 499)->address, ==,
                   "u499@example.com");
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
  g_string_free (raw, TRUE);
}

static void
test_parse_bounds_header_count (void)
{
  GString *raw = g_string_new ("Subject: many fields\r\n");
  g_autoptr(TernMimeMessage) message = NULL;

  for (guint i = 0; i < 100000; i++)
    g_string_append_printf (raw, "X-Filler-%u: value\r\n", i);
  g_string_append (raw, "\r\nbody\r\n");

  message = tern_mime_message_parse ((const guint8 *) raw->str, raw->len);
  g_assert_cmpstr (tern_mime_message_get_subject (message), ==, "many fields");
  g_assert_cmpstr (tern_mime_message_get_body_text (message), ==, "body");
  assert_has_problem (message, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
  g_string_free (raw, TRUE);
}

static void
test_parse_output_is_always_valid_utf8 (void)
{
  static const char * const samples[] = {
    "alternative.eml", "attachments.eml", "html-only.eml", "koi8r.eml", "shift-jis.eml",
    "broken-mime.eml", "inline-cid.eml", "digest.eml",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240312);

  /* Random bytes, and samples with bytes flipped, cut or repeated. */
  for (guint round = 0; round < 400; round++)
    {
      g_autoptr(GByteArray) bytes = g_byte_array_new ();
      g_autoptr(TernMimeMessage) message = NULL;

      if (round % 4 == 0)
        {
          guint n = g_rand_int_range (rand, 0, 2048);

          for (guint i = 0; i < n; i++)
            {
              guint8 c = g_rand_int_range (rand, 0, 256);

              g_byte_array_append (bytes, &c, 1);
            }
        }
      else
        {
          g_autofree char *path =
            g_test_build_filename (G_TEST_DIST, "engine", "data", "mime",
                                   samples[g_rand_int_range (rand, 0, G_N_ELEMENTS (samples))], NULL);
          g_autofree char *data = NULL;
          gsize length;

          g_assert_true (g_file_get_contents (path, &data, &length, NULL));
          g_byte_array_append (bytes, (const guint8 *) data, length);

          for (guint i = 0; i < 8 && bytes->len > 0; i++)
            {
              guint pos = g_rand_int_range (rand, 0, bytes->len);

              switch (g_rand_int_range (rand, 0, 3))
                {
                case 0:
                  bytes->data[pos] = g_rand_int_range (rand, 0, 256);
                  break;
                case 1:
                  g_byte_array_set_size (bytes, pos);
                  break;
                default:
                  {
                    /* Copied first: appending may move the array's data. */
                    guint8 chunk[64];
                    guint n = MIN (sizeof chunk, bytes->len - pos);

                    memcpy (chunk, bytes->data + pos, n);
                    g_byte_array_append (bytes, chunk, n);
                  }
                  break;
                }
            }
        }

      message = tern_mime_message_parse (bytes->data, bytes->len);
      assert_all_valid_utf8 (message);
    }
}

/* Threads */

static gpointer
parse_samples_cb (gpointer user_data)
{
  static const char * const names[] = { "koi8r.eml", "shift-jis.eml", "latin1.eml", "html-only.eml" };
  guint offset = GPOINTER_TO_UINT (user_data);

  for (guint i = 0; i < 100; i++)
    {
      const char *name = names[(i + offset) % G_N_ELEMENTS (names)];
      g_autoptr(TernMimeMessage) message = parse_sample (name);
      const char *body = tern_mime_message_get_body_text (message);

      if (g_str_equal (name, "koi8r.eml"))
        g_assert_cmpstr (body, ==, "Добрый день!\nВстреча в пятницу.");
      else if (g_str_equal (name, "shift-jis.eml"))
        g_assert_true (g_str_has_prefix (body, "こんにちは"));
      else if (g_str_equal (name, "latin1.eml"))
        g_assert_true (g_str_has_prefix (body, "Grüße aus Köln!"));
      else
        g_assert_true (g_str_has_prefix (body, "Spring sale"));
    }

  return NULL;
}

static void
test_parse_works_on_several_threads_at_once (void)
{
  GThread *threads[4];

  /* Charset converters are shared between threads; each takes its own. */
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("parse", parse_samples_cb, GUINT_TO_POINTER (i));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
}

/* The type system */

static void
test_parse_problems_have_flag_names (void)
{
  GFlagsClass *klass = g_type_class_ref (TERN_TYPE_MIME_PROBLEMS);
  GFlagsValue *value = g_flags_get_first_value (klass, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);

  g_assert_nonnull (value);
  g_assert_cmpstr (value->value_nick, ==, "truncated-depth");
  g_type_class_unref (klass);
}

static void
test_parse_facts_can_be_shared_and_copied (void)
{
  TernMimeMessage *message = parse_sample ("attachments.eml");
  TernMimeMessage *ref = tern_mime_message_ref (message);
  g_autoptr(TernAttachmentInfo) copy = NULL;
  g_autoptr(TernAddress) address = NULL;

  g_assert_true (ref == message);
  tern_mime_message_unref (message);

  copy = g_boxed_copy (TERN_TYPE_ATTACHMENT_INFO, attachment_at (ref, 0));
  address = g_boxed_copy (TERN_TYPE_ADDRESS, address_at (tern_mime_message_get_from (ref), 0));
  tern_mime_message_unref (ref);

  /* The copies outlive the message. */
  g_assert_cmpstr (copy->filename, ==, "Réservation € 12.pdf");
  g_assert_cmpstr (address->address, ==, "bo@example.com");
  g_assert_true (G_TYPE_IS_BOXED (TERN_TYPE_MIME_MESSAGE));
}

/* Speed: reported, not asserted, since test machines vary. */

static double
best_time_us (gboolean     tern,
              const char  *data,
              gsize        length,
              guint        rounds)
{
  double best = G_MAXDOUBLE;

  for (guint r = 0; r < 5; r++)
    {
      gint64 start = g_get_monotonic_time ();

      for (guint i = 0; i < rounds; i++)
        {
          if (tern)
            {
              tern_mime_message_unref (tern_mime_message_parse ((const guint8 *) data, length));
            }
          else
            {
              GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, length);
              GMimeParser *parser = g_mime_parser_new_with_stream (stream);
              GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

              g_clear_object (&message);
              g_object_unref (parser);
              g_object_unref (stream);
            }
        }

      best = MIN (best, (g_get_monotonic_time () - start) / (double) rounds);
    }

  return best;
}

static void
test_parse_throughput (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "engine", "data", "mime",
                                                 "typical-10k.eml", NULL);
  g_autofree char *data = NULL;
  gsize length = 0;
  double tern_us, gmime_us;

  g_assert_true (g_file_get_contents (path, &data, &length, NULL));

  /* Warm up the charset converters and GMime's tables. */
  tern_mime_message_unref (tern_mime_message_parse ((const guint8 *) data, length));

  tern_us = best_time_us (TRUE, data, length, 300);
  gmime_us = best_time_us (FALSE, data, length, 300);

  g_test_message ("typical %" G_GSIZE_FORMAT "-byte message: %.1f us per message "
                  "(GMime's parse alone %.1f us, Tern's own work %.1f us), %.0f messages/s",
                  length, tern_us, gmime_us, tern_us - gmime_us, 1e6 / tern_us);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mime/parse/empty-input-gives-empty-facts", test_parse_empty_input_gives_empty_facts);
  g_test_add_func ("/mime/parse/text-without-headers-becomes-body", test_parse_text_without_headers_becomes_body);
  g_test_add_func ("/mime/parse/headers-only-has-empty-body", test_parse_headers_only_has_empty_body);
  g_test_add_func ("/mime/parse/nul-bytes-do-not-cut-the-body", test_parse_nul_bytes_do_not_cut_the_body);

  g_test_add_func ("/mime/parse/reads-threading-headers", test_parse_reads_threading_headers);
  g_test_add_func ("/mime/parse/decodes-rfc2047-subject", test_parse_decodes_rfc2047_subject);
  g_test_add_func ("/mime/parse/keeps-broken-rfc2047-readable", test_parse_keeps_broken_rfc2047_readable);
  g_test_add_func ("/mime/parse/reads-address-lists-flattening-groups", test_parse_reads_address_lists);
  g_test_add_func ("/mime/parse/lowercases-only-the-domain", test_parse_lowercases_only_the_domain);
  g_test_add_func ("/mime/parse/reads-utf8-headers", test_parse_reads_utf8_headers);
  g_test_add_func ("/mime/parse/reads-raw-latin1-headers", test_parse_reads_raw_latin1_headers);
  g_test_add_func ("/mime/parse/reads-raw-headers-in-body-charset", test_parse_reads_raw_headers_in_body_charset);
  g_test_add_func ("/mime/parse/collects-delivered-to-in-order", test_parse_collects_delivered_to_in_order);
  g_test_add_func ("/mime/parse/reads-date-as-utc", test_parse_reads_date_as_utc);
  g_test_add_func ("/mime/parse/missing-or-bad-date-is-zero", test_parse_missing_or_bad_date_is_zero);
  g_test_add_func ("/mime/parse/bounds-and-dedups-references", test_parse_bounds_and_dedups_references);
  g_test_add_func ("/mime/parse/reads-bare-in-reply-to", test_parse_reads_bare_in_reply_to);

  g_test_add_func ("/mime/parse/prefers-plain-alternative-for-search", test_parse_prefers_plain_alternative_for_search);
  g_test_add_func ("/mime/parse/strips-html-only-body", test_parse_strips_html_only_body);
  g_test_add_func ("/mime/parse/reads-html-charset-from-meta", test_parse_reads_html_charset_from_meta);
  g_test_add_func ("/mime/parse/converts-latin1-body", test_parse_converts_latin1_body);
  g_test_add_func ("/mime/parse/converts-shift-jis-body", test_parse_converts_shift_jis_body);
  g_test_add_func ("/mime/parse/converts-koi8r-body", test_parse_converts_koi8r_body);
  g_test_add_func ("/mime/parse/survives-broken-charset-labels", test_parse_survives_broken_charset_labels);
  g_test_add_func ("/mime/parse/reads-unlabelled-8bit-body", test_parse_reads_unlabelled_8bit_body);
  g_test_add_func ("/mime/parse/flags-invalid-transfer-encodings", test_parse_flags_invalid_transfer_encodings);
  g_test_add_func ("/mime/parse/reads-multipart-without-boundary", test_parse_reads_multipart_without_boundary);
  g_test_add_func ("/mime/parse/preview-skips-quotes-and-signature", test_parse_preview_skips_quotes_and_signature);
  g_test_add_func ("/mime/parse/bounds-body-text", test_parse_bounds_body_text);

  g_test_add_func ("/mime/parse/lists-attachments-with-rfc2231-names", test_parse_lists_attachments_with_rfc2231_names);
  g_test_add_func ("/mime/parse/gives-decoded-attachment-sizes", test_parse_gives_decoded_attachment_sizes);
  g_test_add_func ("/mime/parse/strips-folders-from-attachment-names", test_parse_strips_folders_from_attachment_names);
  g_test_add_func ("/mime/parse/lists-attached-message", test_parse_lists_attached_message);
  g_test_add_func ("/mime/parse/lists-inline-cid-images", test_parse_lists_inline_cid_images);
  g_test_add_func ("/mime/parse/hides-signature-parts", test_parse_hides_signature_parts);
  g_test_add_func ("/mime/parse/reads-digest-messages-as-body", test_parse_reads_digest_messages_as_body);
  g_test_add_func ("/mime/parse/reaches-nested-rfc822-text", test_parse_reaches_nested_rfc822_text);

  g_test_add_func ("/mime/parse/keeps-64-deep-nesting-whole", test_parse_keeps_64_deep_nesting_whole);
  g_test_add_func ("/mime/parse/cuts-nesting-past-the-limit", test_parse_cuts_nesting_past_the_limit);
  g_test_add_func ("/mime/parse/survives-10000-deep-nesting", test_parse_survives_10000_deep_nesting);
  g_test_add_func ("/mime/parse/survives-10000-deep-rfc822", test_parse_survives_10000_deep_rfc822);
  g_test_add_func ("/mime/parse/bounds-part-count", test_parse_bounds_part_count);
  g_test_add_func ("/mime/parse/survives-megabyte-header-line", test_parse_survives_megabyte_header_line);
  g_test_add_func ("/mime/parse/survives-huge-encoded-word-charset", test_parse_survives_huge_encoded_word_charset);
  g_test_add_func ("/mime/parse/survives-deeply-nested-groups", test_parse_survives_deeply_nested_groups);
  g_test_add_func ("/mime/parse/bounds-address-count", test_parse_bounds_address_count);
  g_test_add_func ("/mime/parse/bounds-header-count", test_parse_bounds_header_count);
  g_test_add_func ("/mime/parse/output-is-always-valid-utf8", test_parse_output_is_always_valid_utf8);

  g_test_add_func ("/mime/parse/works-on-several-threads-at-once", test_parse_works_on_several_threads_at_once);

  g_test_add_func ("/mime/parse/problems-have-flag-names", test_parse_problems_have_flag_names);
  g_test_add_func ("/mime/parse/facts-can-be-shared-and-copied", test_parse_facts_can_be_shared_and_copied);

  g_test_add_func ("/mime/parse/throughput", test_parse_throughput);

  return g_test_run ();
}
