/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-engine.h"
#include "tern-mime-private.h"

static GByteArray *
guard (const char       *text,
       gsize             field_bytes,
       guint             depth,
       guint             parts,
       TernMimeProblems *problems)
{
  TernMimeGuardLimits limits = { field_bytes, depth, parts };

  *problems = TERN_MIME_PROBLEM_NONE;
  return tern_mime_guard_prepare ((const guint8 *) text, strlen (text), &limits, problems);
}

static void
assert_bytes (GByteArray *bytes,
              const char *expected)
{
  g_autofree char *got = g_strndup ((const char *) bytes->data, bytes->len);

  g_assert_cmpstr (got, ==, expected);
}

static GPtrArray *
sample_paths (void)
{
  const char * const folders[][4] = {
    { "engine", "data", "mime", NULL },
    { "fuzz", "corpus", "mime-ingest", NULL },
  };
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  for (guint f = 0; f < G_N_ELEMENTS (folders); f++)
    {
      g_autofree char *folder = g_test_build_filename (G_TEST_DIST, folders[f][0], folders[f][1],
                                                       folders[f][2], NULL);
      g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
      const char *name;

      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        if (name[0] != '.')
          g_ptr_array_add (paths, g_build_filename (folder, name, NULL));
    }

  return paths;
}

static void
test_guard_leaves_clean_mail_untouched (void)
{
  g_autofree char *folder = g_test_build_filename (G_TEST_DIST, "engine", "data", "mime", NULL);
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  static const TernMimeGuardLimits limits = {
    TERN_MIME_MAX_FIELD_BYTES, TERN_MIME_MAX_DEPTH, TERN_MIME_MAX_PARTS,
  };
  const char *name;
  guint checked = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *data = NULL;
      g_autoptr(GByteArray) bytes = NULL;
      TernMimeProblems problems = TERN_MIME_PROBLEM_NONE;
      gsize length;

      if (name[0] == '.')
        continue;

      path = g_build_filename (folder, name, NULL);
      g_assert_true (g_file_get_contents (path, &data, &length, NULL));
      bytes = tern_mime_guard_prepare ((const guint8 *) data, length, &limits, &problems);

      g_assert_cmpuint (bytes->len, ==, length);
      g_assert_true (memcmp (bytes->data, data, length) == 0);
      g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_NONE);
      checked++;
    }

  g_assert_cmpuint (checked, >=, 15);
}

static void
test_guard_cuts_at_the_container_past_the_depth_limit (void)
{
  const char *head = "Subject: s\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
                     "--a\r\nContent-Type: message/rfc822\r\n\r\n"
                     "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                     "--b\r\n";
  const char *tail = "Content-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\ndeep\r\n--c--\r\n"
                     "--b--\r\n--a--\r\n";
  g_autofree char *text = g_strconcat (head, tail, NULL);
  TernMimeProblems problems;
  g_autoptr(GByteArray) cut = guard (text, 1000, 3, 100, &problems);
  g_autoptr(GByteArray) whole = NULL;

  /* Three containers fit; the header block of the fourth is where it ends. */
  assert_bytes (cut, head);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);

  whole = guard (text, 1000, 4, 100, &problems);
  assert_bytes (whole, text);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_NONE);
}

static void
test_guard_closed_containers_free_their_depth (void)
{
  GString *text = g_string_new ("Content-Type: multipart/mixed; boundary=top\r\n\r\n");
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = NULL;

  /* Many siblings, each two deep, never more than three open at once. */
  for (guint i = 0; i < 50; i++)
    g_string_append_printf (text, "--top\r\nContent-Type: multipart/alternative; boundary=s%u\r\n\r\n"
                                  "--s%u\r\n\r\ntext\r\n--s%u--\r\n", i, i, i);
  g_string_append (text, "--top--\r\n");

  bytes = guard (text->str, 1000, 3, 1000, &problems);
  assert_bytes (bytes, text->str);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_NONE);
  g_string_free (text, TRUE);
}

static void
test_guard_cuts_at_the_part_limit (void)
{
  const char *head = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
                     "--p\r\n\r\none\r\n--p\r\n\r\ntwo\r\n--p\r\n";
  g_autofree char *text = g_strconcat (head, "\r\nthree\r\n--p\r\n\r\nfour\r\n--p--\r\n", NULL);
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = guard (text, 1000, 10, 3, &problems);

  /* The message's own header block and two parts make three. */
  assert_bytes (bytes, head);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_TOO_MANY_PARTS);
}

#define SIXTY "0123456789" "0123456789" "0123456789" "0123456789" "0123456789" "0123456789"

static void
test_guard_truncates_long_fields_in_every_header_block (void)
{
  const char *text =
    "Subject: " SIXTY "\r\n continued " SIXTY "\r\nTo: a@b\r\n"
    "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
    "A body line longer than the limit stays whole: " SIXTY "\r\n"
    "--x\r\nX-Part: " SIXTY "\r\nContent-Type: message/rfc822\r\n\r\n"
    "X-Inner: " SIXTY "\r\n\r\nAn inner body line stays whole too: " SIXTY "\r\n--x--\r\n";
  const char *expected =
    "Subject: 012345678901234567890123456789012345678\r\nTo: a@b\r\n"
    "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
    "A body line longer than the limit stays whole: " SIXTY "\r\n"
    "--x\r\nX-Part: 0123456789012345678901234567890123456789\r\n"
    "Content-Type: message/rfc822\r\n\r\n"
    "X-Inner: 012345678901234567890123456789012345678\r\n\r\n"
    "An inner body line stays whole too: " SIXTY "\r\n--x--\r\n";
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = guard (text, 48, 10, 100, &problems);

  assert_bytes (bytes, expected);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
}

static void
test_guard_follows_gmime_boundary_rules (void)
{
  /* Trailing white space still makes a boundary; other trailing text does not. */
  const char *text =
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b junk\r\nX-Long: not a header but body text, long enough to be cut\r\n"
    "--b \t\r\nX-Long: a real header of the next part, long enough to be cut\r\n\r\nbody\r\n"
    "--b--  \r\nX-Long: the epilogue, not a header, long enough to be cut\r\n";
  const char *expected =
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b junk\r\nX-Long: not a header but body text, long enough to be cut\r\n"
    "--b \t\r\nX-Long: a real header of the next part, l\r\n\r\nbody\r\n"
    "--b--  \r\nX-Long: the epilogue, not a header, long enough to be cut\r\n";
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = guard (text, 41, 10, 100, &problems);

  assert_bytes (bytes, expected);
}

static void
test_guard_takes_boundaries_as_gmime_unfolds_them (void)
{
  /* A quoted boundary folded over two lines keeps the white space of the
   * fold; an unterminated one keeps its quote mark.  Either way the guard
   * must find the same boundary lines as GMime, or it would miss headers. */
  const char *text =
    "Content-Type: multipart/mixed; boundary=\"x\r\n  y\"\r\n\r\n"
    "--x  y\r\nX-Long: a real header of the first part, long enough\r\n"
    "Content-Type: multipart/mixed; boundary=\"z  \r\n\r\n"
    "--\"z\r\nX-Long: a real header of the inner part, long enough\r\n\r\n"
    "--\"z--\r\n--x  y--\r\n";
  const char *expected =
    "Content-Type: multipart/mixed; boundary=\"x\r\n  y\"\r\n\r\n"
    "--x  y\r\nX-Long: a real header of the first part, long en\r\n"
    "Content-Type: multipart/mixed; boundary=\"z  \r\n\r\n"
    "--\"z\r\nX-Long: a real header of the inner part, long en\r\n\r\n"
    "--\"z--\r\n--x  y--\r\n";
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = guard (text, 48, 10, 100, &problems);

  assert_bytes (bytes, expected);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
}

static void
test_guard_ends_header_blocks_at_boundary_lines (void)
{
  /* As in GMime, a boundary line inside a header block ends the block: the
   * attached message below gets no headers, and the next part starts with
   * an empty header block, so the long line after it is body text. */
  const char *text =
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: message/rfc822\r\n--b\r\n\r\n"
    "X-Long: body text of the second part, long enough to be cut\r\n--b--\r\n";
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = guard (text, 41, 10, 100, &problems);

  assert_bytes (bytes, text);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_NONE);
}

static void
test_guard_ends_attached_message_headers_at_boundary_lines (void)
{
  const char *text =
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: message/rfc822\r\n\r\nnot a field\r\n--b\r\n\r\n"
    "X-Long: body text of the second part, long enough to be cut\r\n--b--\r\n";
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = guard (text, 41, 10, 100, &problems);

  assert_bytes (bytes, text);
}

static void
test_guard_drops_fields_past_the_block_limit (void)
{
  GString *text = g_string_new (NULL);
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = NULL;
  guint fields = 0;

  for (guint i = 0; i < TERN_MIME_MAX_BLOCK_FIELDS + 500; i++)
    g_string_append_printf (text, "X-Field-%u: value\r\n", i);
  g_string_append (text, "\r\nbody\r\n");

  bytes = guard (text->str, 1000, 10, 100, &problems);
  for (guint i = 0; i < bytes->len; i++)
    if (bytes->data[i] == ':')
      fields++;

  g_assert_cmpuint (fields, ==, TERN_MIME_MAX_BLOCK_FIELDS);
  g_assert_true (g_str_has_suffix ((const char *) g_byte_array_append (bytes, (const guint8 *) "", 1)->data,
                                   "\r\n\r\nbody\r\n"));
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
  g_string_free (text, TRUE);
}

static void
test_guard_turns_excess_address_colons_into_spaces (void)
{
  GString *text = g_string_new ("Subject: a:b:c\r\nTo: ");
  GString *expected = g_string_new ("Subject: a:b:c\r\nTo: ");
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = NULL;

  for (guint i = 0; i < 70; i++)
    {
      g_string_append (text, "g:");
      g_string_append (expected, i < 64 ? "g:" : "g ");
    }
  g_string_append (text, "x@example.com\r\n\r\n");
  g_string_append (expected, "x@example.com\r\n\r\n");

  bytes = guard (text->str, 100000, 10, 100, &problems);
  assert_bytes (bytes, expected->str);
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_MALFORMED);
  g_string_free (text, TRUE);
  g_string_free (expected, TRUE);
}

static void
test_guard_drops_repeated_address_fields (void)
{
  GString *text = g_string_new (NULL);
  TernMimeProblems problems;
  g_autoptr(GByteArray) bytes = NULL;
  g_autofree char *kept = NULL;
  guint fields = 0;

  for (guint i = 0; i < 40; i++)
    g_string_append_printf (text, "To: u%u@example.com\r\n", i);
  g_string_append (text, "Subject: after them\r\n\r\nbody\r\n");

  bytes = guard (text->str, 1000, 10, 100, &problems);
  kept = g_strndup ((const char *) bytes->data, bytes->len);
  for (const char *p = kept; (p = strstr (p, "To: ")) != NULL; p++)
    fields++;

  g_assert_cmpuint (fields, ==, 32);
  g_assert_nonnull (strstr (kept, "To: u31@example.com\r\nSubject: after them\r\n"));
  g_assert_cmpint (problems, ==, TERN_MIME_PROBLEM_TRUNCATED_HEADERS);
  g_string_free (text, TRUE);
}

/* No header GMime keeps from a guarded copy is longer than the limit. */
static void
check_header_lengths (GMimeObject *object,
                      gsize        limit,
                      guint        depth)
{
  GMimeHeaderList *headers;
  int n;

  if (object == NULL)
    return;

  g_assert_cmpuint (depth, <, 100);

  headers = g_mime_object_get_header_list (object);
  n = g_mime_header_list_get_count (headers);
  for (int i = 0; i < n; i++)
    {
      const char *raw = g_mime_header_get_raw_value (g_mime_header_list_get_header_at (headers, i));

      g_assert_cmpuint (raw != NULL ? strlen (raw) : 0, <=, limit * 3 + 2);
    }

  if (GMIME_IS_MESSAGE (object))
    {
      check_header_lengths (g_mime_message_get_mime_part (GMIME_MESSAGE (object)), limit, depth + 1);
    }
  else if (GMIME_IS_MULTIPART (object))
    {
      for (int i = 0; i < g_mime_multipart_get_count (GMIME_MULTIPART (object)); i++)
        check_header_lengths (g_mime_multipart_get_part (GMIME_MULTIPART (object), i), limit, depth + 1);
    }
  else if (GMIME_IS_MESSAGE_PART (object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));

      check_header_lengths (inner != NULL ? GMIME_OBJECT (inner) : NULL, limit, depth + 1);
    }
}

static void
test_guard_finds_every_header_block_gmime_finds (void)
{
  g_autoptr(GPtrArray) paths = sample_paths ();
  static const TernMimeGuardLimits limits = { 24, 16, 500 };

  for (guint i = 0; i < paths->len; i++)
    {
      g_autofree char *data = NULL;
      TernMimeProblems problems = TERN_MIME_PROBLEM_NONE;
      GByteArray *bytes;
      GMimeStream *stream;
      GMimeParser *parser;
      GMimeMessage *message;
      gsize length;

      if (!g_file_test (g_ptr_array_index (paths, i), G_FILE_TEST_IS_REGULAR))
        continue;

      g_assert_true (g_file_get_contents (g_ptr_array_index (paths, i), &data, &length, NULL));
      bytes = tern_mime_guard_prepare ((const guint8 *) data, length, &limits, &problems);
      stream = g_mime_stream_mem_new_with_byte_array (bytes);
      g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), TRUE);
      parser = g_mime_parser_new_with_stream (stream);
      message = g_mime_parser_construct_message (parser, NULL);

      if (message != NULL)
        check_header_lengths (GMIME_OBJECT (message), limits.max_field_bytes, 0);

      g_clear_object (&message);
      g_object_unref (parser);
      g_object_unref (stream);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mime/guard/leaves-clean-mail-untouched", test_guard_leaves_clean_mail_untouched);
  g_test_add_func ("/mime/guard/cuts-at-the-container-past-the-depth-limit", test_guard_cuts_at_the_container_past_the_depth_limit);
  g_test_add_func ("/mime/guard/closed-containers-free-their-depth", test_guard_closed_containers_free_their_depth);
  g_test_add_func ("/mime/guard/cuts-at-the-part-limit", test_guard_cuts_at_the_part_limit);
  g_test_add_func ("/mime/guard/truncates-long-fields-in-every-header-block", test_guard_truncates_long_fields_in_every_header_block);
  g_test_add_func ("/mime/guard/follows-gmime-boundary-rules", test_guard_follows_gmime_boundary_rules);
  g_test_add_func ("/mime/guard/takes-boundaries-as-gmime-unfolds-them", test_guard_takes_boundaries_as_gmime_unfolds_them);
  g_test_add_func ("/mime/guard/ends-header-blocks-at-boundary-lines", test_guard_ends_header_blocks_at_boundary_lines);
  g_test_add_func ("/mime/guard/ends-attached-message-headers-at-boundary-lines", test_guard_ends_attached_message_headers_at_boundary_lines);
  g_test_add_func ("/mime/guard/drops-fields-past-the-block-limit", test_guard_drops_fields_past_the_block_limit);
  g_test_add_func ("/mime/guard/turns-excess-address-colons-into-spaces", test_guard_turns_excess_address_colons_into_spaces);
  g_test_add_func ("/mime/guard/drops-repeated-address-fields", test_guard_drops_repeated_address_fields);
  g_test_add_func ("/mime/guard/finds-every-header-block-gmime-finds", test_guard_finds_every_header_block_gmime_finds);

  return g_test_run ();
}
