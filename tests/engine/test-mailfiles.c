/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <utime.h>

#include "tern-maildir-reader.h"
#include "tern-mbox-reader.h"
#include "tern-mbox-writer.h"

/* The file-format layer of import and export: mbox in and out, Maildir in.
 * Each test states what a user importing or backing up mail would keep or
 * lose. */

/* Helpers. */

typedef struct
{
  GBytes           *bytes;
  TernMessageFlags  flags;
  GDateTime        *date;
} Message;

static void
message_free (Message *message)
{
  g_clear_pointer (&message->bytes, g_bytes_unref);
  g_clear_pointer (&message->date, g_date_time_unref);
  g_free (message);
}

/* Reads messages until the end or the first error. */
static GPtrArray *
read_mbox (TernMboxReader  *reader,
           GError         **error)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) message_free);

  for (;;)
    {
      Message *message = g_new0 (Message, 1);

      message->bytes = tern_mbox_reader_next (reader, &message->flags, &message->date,
                                              NULL, error);
      if (message->bytes == NULL)
        {
          message_free (message);
          break;
        }

      g_ptr_array_add (messages, message);
    }

  return messages;
}

static TernMboxReader *
reader_for_text (const char *text,
                 gssize      len)
{
  g_autoptr(GInputStream) stream = NULL;

  if (len < 0)
    len = strlen (text);

  stream = g_memory_input_stream_new_from_data (g_memdup2 (text, len), len, g_free);

  return tern_mbox_reader_new_for_stream (stream, "inline.mbox", len);
}

static char *
fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "engine", "data", "mailfiles", name, NULL);
}

static TernMboxReader *
reader_for_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  TernMboxReader *reader;

  reader = tern_mbox_reader_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reader);

  return reader;
}

static void
assert_bytes (GBytes     *bytes,
              const char *expected,
              gssize      expected_len)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  if (expected_len < 0)
    expected_len = strlen (expected);

  g_assert_cmpmem (data, len, expected, expected_len);
}

static void
assert_message (GPtrArray  *messages,
                guint       index,
                const char *expected)
{
  Message *message;

  g_assert_cmpuint (index, <, messages->len);
  message = g_ptr_array_index (messages, index);
  assert_bytes (message->bytes, expected, -1);
}

static void
assert_date (GDateTime  *date,
             const char *expected)
{
  g_autofree char *text = NULL;

  g_assert_nonnull (date);
  text = g_date_time_format_iso8601 (date);
  g_assert_cmpstr (text, ==, expected);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_unlink (path);
      return;
    }

  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      remove_tree (child);
    }

  g_rmdir (path);
}

typedef struct
{
  char *path;
} TempDir;

static void
temp_dir_clear (TempDir *temp)
{
  if (temp->path != NULL)
    remove_tree (temp->path);
  g_clear_pointer (&temp->path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TempDir, temp_dir_clear)

static void
temp_dir_init (TempDir *temp)
{
  g_autoptr(GError) error = NULL;

  temp->path = g_dir_make_tmp ("tern-mailfiles-XXXXXX", &error);
  g_assert_no_error (error);
}

static char *
write_file (const char *dir,
            const char *name,
            const char *data,
            gssize      len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);

  return path;
}

static guint
count_dir_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

/* mbox reading. */

static void
test_mbox_reads_messages_with_dates (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("basic.mbox");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path ("basic.mbox");
  g_autofree char *contents = NULL;
  gsize contents_len;

  g_assert_true (g_file_get_contents (path, &contents, &contents_len, NULL));
  g_assert_cmpuint (tern_mbox_reader_get_size (reader), ==, contents_len);

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);

  assert_message (messages, 0,
                  "Return-Path: <alice@example.org>\n"
                  "From: Alice <alice@example.org>\n"
                  "To: bob@example.org\n"
                  "Subject: First\n"
                  "Date: Mon, 1 Jan 2024 12:00:00 +0000\n"
                  "\n"
                  "Hello Bob.\n");
  assert_message (messages, 1,
                  "From: Bob <bob@example.org>\n"
                  "To: alice@example.org\n"
                  "Subject: Second\n"
                  "\n"
                  "Two paragraphs.\n"
                  "\n"
                  "This one ends the message.\n");
  assert_message (messages, 2,
                  "From: Carol <carol@example.net>\n"
                  "Subject: Third\n"
                  "\n"
                  "Last.\n");

  assert_date (((Message *) messages->pdata[0])->date, "2024-01-01T12:00:00Z");
  assert_date (((Message *) messages->pdata[1])->date, "2024-02-13T08:30:05Z");
  assert_date (((Message *) messages->pdata[2])->date, "2024-03-06T23:59:59Z");

  /* Progress ends at the size, and the last message is placed where its
   * From_ line is. */
  g_assert_cmpuint (tern_mbox_reader_get_position (reader), ==, contents_len);
  g_assert_cmpuint (tern_mbox_reader_get_message_index (reader), ==, 3);
  g_assert_cmpuint (tern_mbox_reader_get_message_offset (reader), ==,
                    strstr (contents, "From carol@") - contents);

  /* The end stays the end. */
  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_mbox_from_without_empty_line_before_is_body (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("from-in-body.mbox");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);

  /* Neither the lines after "Dear reader," (no empty line before them) nor
   * "From the desk" and "From 12 to 3" (no date) begin a message. */
  g_assert_cmpuint (messages->len, ==, 2);
  assert_message (messages, 0,
                  "From: Writer <writer@example.org>\n"
                  "Subject: An mboxo body\n"
                  "\n"
                  "Dear reader,\n"
                  "From what we hear, this line is body text.\n"
                  "From writer@example.org Fri May 10 08:00:00 2024 has a date but no empty "
                  "line before it.\n"
                  "\n"
                  "From the desk of the editor: this follows an empty line but has no date.\n"
                  "\n"
                  "From 12 to 3 we are closed.\n");
  assert_message (messages, 1,
                  "From: Writer <writer@example.org>\n"
                  "Subject: The second message\n"
                  "\n"
                  "Short.\n");
}

static void
test_mbox_undoes_mboxrd_quoting (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("mboxrd-quoting.mbox");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 1);

  /* One '>' comes off lines that match ^>+From and no others. */
  assert_message (messages, 0,
                  "From: Quoter <quoter@example.org>\n"
                  "Subject: Quoted lines\n"
                  "\n"
                  "From the start of a line.\n"
                  ">From a line that was quoted once.\n"
                  ">>From a line that was quoted twice.\n"
                  ">Fromage is not a From line.\n"
                  "> From has a space before it.\n"
                  "Not at the start: >From here.\n"
                  "From a line that follows no empty line.\n");
}

static void
test_mbox_drops_only_the_separating_empty_line (void)
{
  const char *text =
    "From a@example.org Mon Jan  1 12:00:00 2024\n"
    "Subject: ends with empty lines\n"
    "\n"
    "body\n"
    "\n"
    "\n"
    "\n"
    "From b@example.org Mon Jan  1 12:00:01 2024\n"
    "Subject: empty body\n"
    "\n"
    "\n"
    "From c@example.org Mon Jan  1 12:00:02 2024\n"
    "\n";
  g_autoptr(TernMboxReader) reader = reader_for_text (text, -1);
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);
  assert_message (messages, 0, "Subject: ends with empty lines\n\nbody\n\n\n");
  assert_message (messages, 1, "Subject: empty body\n\n");
  assert_message (messages, 2, "");
}

static void
test_mbox_crlf_file_keeps_crlf (void)
{
  const char *text =
    "From a@example.org Mon Jan  1 12:00:00 2024\r\n"
    "Subject: one\r\n"
    "Status: RO\r\n"
    "\r\n"
    ">From quoted\r\n"
    "\r\n"
    "From b@example.org Mon Jan  1 12:00:01 2024\r\n"
    "Subject: two\r\n"
    "\r\n"
    "text\r\n"
    "\r\n";
  g_autoptr(TernMboxReader) reader = reader_for_text (text, -1);
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  assert_message (messages, 0, "Subject: one\r\nStatus: RO\r\n\r\nFrom quoted\r\n");
  assert_message (messages, 1, "Subject: two\r\n\r\ntext\r\n");
  g_assert_cmpint (((Message *) messages->pdata[0])->flags, ==, TERN_MESSAGE_FLAG_SEEN);
  assert_date (((Message *) messages->pdata[1])->date, "2024-01-01T12:00:01Z");
}

static void
test_mbox_last_message_without_final_newline (void)
{
  const char *text =
    "From a@example.org Mon Jan  1 12:00:00 2024\n"
    "Subject: one\n"
    "\n"
    "first\n"
    "\n"
    "From b@example.org Mon Jan  1 12:00:01 2024\n"
    "Subject: two\n"
    "\n"
    "no newline at the end";
  g_autoptr(TernMboxReader) reader = reader_for_text (text, -1);
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  assert_message (messages, 1, "Subject: two\n\nno newline at the end");
}

static void
test_mbox_empty_file_has_no_messages (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("empty.mbox");
  g_autoptr(TernMboxReader) blank = reader_for_text ("\n\n\n", -1);
  g_autoptr(GError) error = NULL;

  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tern_mbox_reader_get_message_index (reader), ==, 0);

  g_assert_null (tern_mbox_reader_next (blank, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_mbox_other_file_is_not_an_mbox (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("not-an-mbox.eml");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path ("not-an-mbox.eml");
  GBytes *bytes;

  bytes = tern_mbox_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_NOT_MBOX);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "not an mbox"));
  g_assert_false (tern_mailfile_error_is_per_message (error));

  /* The reader is finished, and says so again. */
  g_clear_error (&error);
  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_NOT_MBOX);
}

static void
test_mbox_missing_file_error_names_it (void)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/nonexistent/tern/backup.mbox");
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GError) error = NULL;

  reader = tern_mbox_reader_new_for_file (file, NULL, &error);
  g_assert_null (reader);
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_READ_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/tern/backup.mbox"));
}

static void
test_mbox_status_headers_give_flags (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("mutt-flags.mbox");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 5);

  g_assert_cmpint (((Message *) messages->pdata[0])->flags, ==,
                   TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_ANSWERED | TERN_MESSAGE_FLAG_FLAGGED);
  g_assert_cmpint (((Message *) messages->pdata[1])->flags, ==, TERN_MESSAGE_FLAG_NONE);
  g_assert_cmpint (((Message *) messages->pdata[2])->flags, ==,
                   TERN_MESSAGE_FLAG_DELETED | TERN_MESSAGE_FLAG_DRAFT);
  g_assert_cmpint (((Message *) messages->pdata[3])->flags, ==, TERN_MESSAGE_FLAG_NONE);
  /* Only the header counts, not a line in the body that looks like one. */
  g_assert_cmpint (((Message *) messages->pdata[4])->flags, ==, TERN_MESSAGE_FLAG_NONE);

  /* The headers stay in the message, as the file has them. */
  assert_message (messages, 0,
                  "From: Eve <eve@example.org>\n"
                  "Subject: Read and answered and flagged\n"
                  "Status: RO\n"
                  "X-Status: AF\n"
                  "\n"
                  "One.\n");
}

static void
test_mbox_thunderbird_file_gives_flags_and_dates (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("thunderbird.mbox");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);

  g_assert_cmpint (((Message *) messages->pdata[0])->flags, ==, TERN_MESSAGE_FLAG_SEEN);
  g_assert_cmpint (((Message *) messages->pdata[1])->flags, ==,
                   TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_ANSWERED |
                   TERN_MESSAGE_FLAG_FLAGGED | TERN_MESSAGE_FLAG_FORWARDED);
  /* Status, which Tern writes, wins over a stale X-Mozilla-Status. */
  g_assert_cmpint (((Message *) messages->pdata[2])->flags, ==, TERN_MESSAGE_FLAG_NONE);

  assert_date (((Message *) messages->pdata[0])->date, "2024-04-04T10:11:12Z");
  assert_date (((Message *) messages->pdata[2])->date, "2024-04-06T07:00:00Z");
}

static void
test_mbox_from_line_variants_begin_messages (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("from-line-variants.mbox");
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  const char *dates[] = {
    "2024-01-01T12:00:00Z",
    "2024-01-01T12:00:00Z",
    "2024-02-13T06:30:05Z",
    "2024-01-01T12:00:00Z",
    "1999-12-31T23:59:00Z",
    "2024-01-01T17:00:00Z",
  };

  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, G_N_ELEMENTS (dates));

  for (guint i = 0; i < G_N_ELEMENTS (dates); i++)
    assert_date (((Message *) messages->pdata[i])->date, dates[i]);

  assert_message (messages, 4, "Subject: no sender and no seconds\n\ne\n");
}

static void
test_mbox_parse_date_variants (void)
{
  const struct {
    const char *text;
    const char *expected;
  } cases[] = {
    { "Mon Jan  1 12:00:00 2024", "2024-01-01T12:00:00Z" },
    { "Mon Jan 1 12:00:00 2024", "2024-01-01T12:00:00Z" },
    { "Thu Apr 04 10:11:12 2024", "2024-04-04T10:11:12Z" },
    { "Tue Feb 13 08:30:05 2024 +0200", "2024-02-13T06:30:05Z" },
    { "Mon Jan 01 12:00:00 +0000 2024", "2024-01-01T12:00:00Z" },
    { "Sat Jun  1 09:00:00 PDT 2024", "2024-06-01T16:00:00Z" },
    { "Fri Dec 31 23:59 1999", "1999-12-31T23:59:00Z" },
    { "wed jul  3 18:00:00 2024", "2024-07-03T18:00:00Z" },
    { "Wed Jul  3 18:00:00 2024 remote from uucphost", "2024-07-03T18:00:00Z" },
    { "Mon, 1 Jan 2024 12:00:00 -0500 (EST)", "2024-01-01T17:00:00Z" },
    { "Sun, 31 March 2024 01:30:00 +0100", "2024-03-31T00:30:00Z" },
    { "Tue Jun 30 23:59:60 2015", "2015-06-30T23:59:59Z" },
    { "the desk of the editor", NULL },
    { "12 to 3 we are closed", NULL },
    { "Mon Feb 30 12:00:00 2024", NULL },
    { "Mon Jan  1 12:00:00", NULL },
    { "Mon Jan  1 2024", NULL },
    { "Mon Jan  1 25:00:00 2024", NULL },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GDateTime) date = tern_mbox_parse_date (cases[i].text, -1);

      g_test_message ("%s", cases[i].text);
      if (cases[i].expected == NULL)
        g_assert_null (date);
      else
        assert_date (date, cases[i].expected);
    }
}

static void
test_mbox_too_large_message_is_skipped_and_reported (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) third = NULL;
  g_autofree char *offset_text = NULL;
  gsize second_offset;

  g_string_append (text,
                   "From a@example.org Mon Jan  1 12:00:00 2024\n"
                   "Subject: small\n"
                   "\n"
                   "one\n"
                   "\n");
  second_offset = text->len;
  g_string_append (text,
                   "From b@example.org Mon Jan  1 12:00:01 2024\n"
                   "Subject: huge\n"
                   "\n");
  /* Three megabytes on one line, longer than any buffer the reader keeps. */
  for (guint i = 0; i < 3 * 1024 * 1024 / 64; i++)
    g_string_append (text, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde ");
  g_string_append (text, "\n\nFrom the middle of the huge message, not a From_ line\n");
  g_string_append (text, "end of the huge message\n\n");
  g_string_append (text,
                   "From c@example.org Mon Jan  1 12:00:02 2024\n"
                   "Subject: small again\n"
                   "\n"
                   "three\n");

  reader = reader_for_text (text->str, text->len);
  tern_mbox_reader_set_max_message_size (reader, 64 * 1024);

  first = tern_mbox_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (first, "Subject: small\n\none\n", -1);

  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE);
  g_assert_true (tern_mailfile_error_is_per_message (error));
  offset_text = g_strdup_printf ("byte %" G_GSIZE_FORMAT " ", second_offset);
  g_assert_nonnull (strstr (error->message, "Message 2 "));
  g_assert_nonnull (strstr (error->message, offset_text));
  g_assert_nonnull (strstr (error->message, "inline.mbox"));
  g_assert_nonnull (strstr (error->message, "skipped"));
  g_assert_cmpuint (tern_mbox_reader_get_message_offset (reader), ==, second_offset);
  g_clear_error (&error);

  /* The reader carries on with the next message. */
  third = tern_mbox_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (third, "Subject: small again\n\nthree\n", -1);
  g_assert_cmpuint (tern_mbox_reader_get_message_index (reader), ==, 3);

  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_mbox_long_line_within_limit_is_kept_whole (void)
{
  g_autoptr(GString) text = g_string_new ("From a@example.org Mon Jan  1 12:00:00 2024\n\n");
  g_autoptr(GString) expected = g_string_new ("\n");
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  /* A line of 2.5 megabytes made of ">From " pieces of 32 bytes passes
   * through the reader in pieces of a power of two, which therefore begin
   * with ">From " too; only the start of the line is unquoted. */
  g_string_append (expected, "From 0123456789abcdef012345678 ");
  for (guint i = 0; i < 2500 * 1024 / 32; i++)
    {
      g_string_append (text, ">From 0123456789abcdef012345678 ");
      if (i > 0)
        g_string_append (expected, ">From 0123456789abcdef012345678 ");
    }
  g_string_append (text, "\nlast\n");
  g_string_append (expected, "\nlast\n");

  reader = reader_for_text (text->str, text->len);
  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 1);
  assert_bytes (((Message *) messages->pdata[0])->bytes, expected->str, expected->len);
}

/* A stream that gives some bytes and then fails, as a disk that goes away. */
#define TEST_TYPE_FAILING_STREAM (test_failing_stream_get_type ())
G_DECLARE_FINAL_TYPE (TestFailingStream, test_failing_stream, TEST, FAILING_STREAM, GInputStream)

struct _TestFailingStream
{
  GInputStream parent_instance;

  char *data;
  gsize len;
  gsize offset;
};

G_DEFINE_FINAL_TYPE (TestFailingStream, test_failing_stream, G_TYPE_INPUT_STREAM)

static gssize
test_failing_stream_read (GInputStream  *stream,
                          void          *buffer,
                          gsize          count,
                          GCancellable  *cancellable,
                          GError       **error)
{
  TestFailingStream *self = TEST_FAILING_STREAM (stream);
  gsize n = MIN (count, self->len - self->offset);

  if (n == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The disk went away");
      return -1;
    }

  memcpy (buffer, self->data + self->offset, n);
  self->offset += n;

  return n;
}

static void
test_failing_stream_finalize (GObject *object)
{
  g_free (TEST_FAILING_STREAM (object)->data);

  G_OBJECT_CLASS (test_failing_stream_parent_class)->finalize (object);
}

static void
test_failing_stream_class_init (TestFailingStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_failing_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = test_failing_stream_read;
}

static void
test_failing_stream_init (TestFailingStream *self)
{
}

static void
test_mbox_read_error_stops_and_names_the_source (void)
{
  const char *text =
    "From a@example.org Mon Jan  1 12:00:00 2024\n"
    "Subject: whole\n"
    "\n"
    "one\n"
    "\n"
    "From b@example.org Mon Jan  1 12:00:01 2024\n"
    "Subject: cut off\n";
  g_autoptr(TestFailingStream) stream = g_object_new (TEST_TYPE_FAILING_STREAM, NULL);
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GError) error = NULL;

  stream->data = g_strdup (text);
  stream->len = strlen (text);
  reader = tern_mbox_reader_new_for_stream (G_INPUT_STREAM (stream), "/media/usb/old.mbox", 0);

  first = tern_mbox_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (first, "Subject: whole\n\none\n", -1);

  /* The cut-off message is not handed out as if it were whole. */
  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_READ_FAILED);
  g_assert_false (tern_mailfile_error_is_per_message (error));
  g_assert_nonnull (strstr (error->message, "/media/usb/old.mbox"));
  g_assert_nonnull (strstr (error->message, "The disk went away"));
  g_clear_error (&error);

  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_READ_FAILED);
}

static void
test_mbox_cancelled_read_stops (void)
{
  g_autoptr(TernMboxReader) reader = reader_for_fixture ("basic.mbox");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  g_assert_null (tern_mbox_reader_next (reader, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static gsize
append_generated_message (GString *text,
                          guint    i)
{
  gsize start = text->len;

  g_string_append_printf (text,
                          "From sender%u@example.org Mon Jan  1 %02u:%02u:%02u 2024\n"
                          "Message-ID: <%u@generated.tern.test>\n"
                          "From: Sender %u <sender%u@example.org>\n"
                          "To: someone@example.org\n"
                          "Subject: Generated message number %u\n"
                          "Date: Mon, 1 Jan 2024 %02u:%02u:%02u +0000\n"
                          "Status: %s\n"
                          "\n"
                          "This is message %u of a large generated mbox.\n"
                          ">From a quoted line in it.\n"
                          "\n"
                          "From here on, a line that an mboxo writer left unquoted.\n"
                          "Some more text to make it the size of a short real message, "
                          "with a line that is longer than the others.\n"
                          "\n",
                          i % 10, (i / 3600) % 24, (i / 60) % 60, i % 60,
                          i, i, i % 10, i, (i / 3600) % 24, (i / 60) % 60, i % 60,
                          i % 2 == 0 ? "RO" : "O", i);

  return text->len - start;
}

static long
max_rss_kib (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);

  return usage.ru_maxrss;
}

static void
test_mbox_reads_large_generated_file (void)
{
  const guint n_messages = 20000;
  const char *suffix = "longer than the others.\n";
  g_auto(TempDir) temp = { NULL };
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  guint n_read = 0;
  guint n_seen = 0;
  guint64 total_bytes = 0;
  gint64 start;
  double seconds;

  temp_dir_init (&temp);
  for (guint i = 0; i < n_messages; i++)
    append_generated_message (text, i);
  path = write_file (temp.path, "large.mbox", text->str, text->len);

  file = g_file_new_for_path (path);
  start = g_get_monotonic_time ();
  reader = tern_mbox_reader_new_for_file (file, NULL, &error);
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *id = NULL;
      TernMessageFlags flags;
      const char *data;
      gsize len;

      bytes = tern_mbox_reader_next (reader, &flags, NULL, NULL, &error);
      g_assert_no_error (error);
      if (bytes == NULL)
        break;

      /* In order, each one whole, with its flags. */
      data = g_bytes_get_data (bytes, &len);
      id = g_strdup_printf ("Message-ID: <%u@generated.tern.test>\n", n_read);
      g_assert_true (len > strlen (id) && memcmp (data, id, strlen (id)) == 0);
      g_assert_cmpuint (len, >, strlen (suffix));
      g_assert_cmpmem (data + len - strlen (suffix), strlen (suffix), suffix, strlen (suffix));
      if (flags == TERN_MESSAGE_FLAG_SEEN)
        n_seen++;

      total_bytes += len;
      n_read++;
    }
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  g_assert_cmpuint (n_read, ==, n_messages);
  g_assert_cmpuint (n_seen, ==, n_messages / 2);
  g_assert_cmpuint (tern_mbox_reader_get_position (reader), ==, text->len);

  g_test_message ("read %u messages, %.1f MB, in %.3f s: %.0f MB/s, %.0f messages/s "
                  "(peak RSS of the test process %ld KiB)",
                  n_read, text->len / 1e6, seconds,
                  text->len / 1e6 / MAX (seconds, 1e-6), n_read / MAX (seconds, 1e-6),
                  max_rss_kib ());
  g_assert_cmpuint (total_bytes, <, text->len);
}

/* mbox writing. */

static GBytes *
write_mbox_to_memory (const char * const *messages,
                      const gsize        *lengths,
                      TernMessageFlags   *flags,
                      GDateTime         **dates,
                      guint               n)
{
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();
  g_autoptr(TernMboxWriter) writer = tern_mbox_writer_new_for_stream (stream, "memory.mbox");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static (messages[i], lengths[i]);

      tern_mbox_writer_add (writer, bytes, flags != NULL ? flags[i] : 0,
                            dates != NULL ? dates[i] : NULL, NULL, &error);
      g_assert_no_error (error);
    }

  tern_mbox_writer_close (writer, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tern_mbox_writer_get_n_messages (writer), ==, n);

  g_output_stream_close (stream, NULL, &error);
  g_assert_no_error (error);

  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (stream));
}

static void
test_mbox_writer_round_trip_keeps_bytes (void)
{
  static const char eight_bit[] =
    "From: d@example.org\n"
    "Subject: 8bit\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "\xc3\xa9t\xc3\xa9 \xff\xfe\x01\x02 and a nul \0 in the middle\n"
    "\x80\x81 From \xe2\x80\x9c quotes\n";
  const struct {
    const char *input;
    gsize input_len;
    TernMessageFlags flags;
    const char *expected;
    gsize expected_len;
  } cases[] = {
    {
      "From: a@example.org\nSubject: from lines\n\n"
      "From the start\n>From quoted\n>>From twice\n>>>From thrice\n"
      "From\nFrom:\n>From\n>>>>>>>>>>From deep\n",
      0, TERN_MESSAGE_FLAG_NONE,
      "From: a@example.org\nSubject: from lines\nStatus: O\n\n"
      "From the start\n>From quoted\n>>From twice\n>>>From thrice\n"
      "From\nFrom:\n>From\n>>>>>>>>>>From deep\n",
      0,
    },
    {
      "From: b@example.org\nSubject: no final newline\n\nlast line without newline",
      0, TERN_MESSAGE_FLAG_SEEN,
      /* An mbox cannot hold a message without a final newline. */
      "From: b@example.org\nSubject: no final newline\nStatus: RO\n\nlast line without newline\n",
      0,
    },
    {
      "From: c@example.org\r\nSubject: crlf\r\n\r\nline one\r\nFrom here\r\n\r\n"
      "From x@example.org Mon Jan  1 12:00:00 2024\r\n",
      0, TERN_MESSAGE_FLAG_ANSWERED | TERN_MESSAGE_FLAG_FLAGGED,
      "From: c@example.org\nSubject: crlf\nStatus: O\nX-Status: AF\n\nline one\nFrom here\n\n"
      "From x@example.org Mon Jan  1 12:00:00 2024\n",
      0,
    },
    {
      eight_bit, sizeof eight_bit - 1, TERN_MESSAGE_FLAG_DELETED | TERN_MESSAGE_FLAG_DRAFT,
      NULL, 0,
    },
    {
      "From: e@example.org\nSubject: empty body\n\n",
      0, TERN_MESSAGE_FLAG_NONE,
      "From: e@example.org\nSubject: empty body\nStatus: O\n\n",
      0,
    },
    {
      "From: f@example.org\n\nbody\n\n\n",
      0, TERN_MESSAGE_FLAG_NONE,
      "From: f@example.org\nStatus: O\n\nbody\n\n\n",
      0,
    },
    {
      "From: g@example.org\nSubject: only headers\n",
      0, TERN_MESSAGE_FLAG_NONE,
      "From: g@example.org\nSubject: only headers\nStatus: O\n",
      0,
    },
    {
      "Status: RO\nX-Status: F\n A\nFrom: h@example.org\nstatus : R\n\nStatus: RO in the body\n",
      0, TERN_MESSAGE_FLAG_NONE,
      "From: h@example.org\nStatus: O\n\nStatus: RO in the body\n",
      0,
    },
    {
      "From x@example.org Mon Jan  1 12:00:00 2024\nSubject: envelope inside\n\nz\n",
      0, TERN_MESSAGE_FLAG_NONE,
      "From x@example.org Mon Jan  1 12:00:00 2024\nSubject: envelope inside\nStatus: O\n\nz\n",
      0,
    },
    {
      "", 0, TERN_MESSAGE_FLAG_SEEN, "Status: RO\n", 0,
    },
  };
  const char *inputs[G_N_ELEMENTS (cases)];
  gsize lengths[G_N_ELEMENTS (cases)];
  TernMessageFlags flags[G_N_ELEMENTS (cases)];
  GDateTime *dates[G_N_ELEMENTS (cases)];
  g_autoptr(GBytes) mbox = NULL;
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) eight_bit_expected = g_string_new (NULL);
  const char *data;
  gsize len;

  /* The 8-bit message comes back with its Status headers at the end of the
   * header. */
  g_string_append (eight_bit_expected,
                   "From: d@example.org\nSubject: 8bit\nContent-Transfer-Encoding: 8bit\n"
                   "Status: O\nX-Status: DT\n\n");
  g_string_append_len (eight_bit_expected, strchr (eight_bit, '\xc3'),
                       sizeof eight_bit - 1 - (strchr (eight_bit, '\xc3') - eight_bit));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      inputs[i] = cases[i].input;
      lengths[i] = cases[i].input_len != 0 ? cases[i].input_len : strlen (cases[i].input);
      flags[i] = cases[i].flags;
      dates[i] = g_date_time_new_utc (2024, 1 + i, 1 + i, i, 2 * i, 3 * i);
    }

  mbox = write_mbox_to_memory (inputs, lengths, flags, dates, G_N_ELEMENTS (cases));

  data = g_bytes_get_data (mbox, &len);
  reader = reader_for_text (data, len);
  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, G_N_ELEMENTS (cases));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Message *message = g_ptr_array_index (messages, i);

      g_test_message ("message %u", i);
      if (cases[i].expected != NULL)
        assert_bytes (message->bytes, cases[i].expected, -1);
      else
        assert_bytes (message->bytes, eight_bit_expected->str, eight_bit_expected->len);

      g_assert_cmpint (message->flags, ==, cases[i].flags);
      g_assert_true (g_date_time_equal (message->date, dates[i]));
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_date_time_unref (dates[i]);
}

static void
test_mbox_writer_flags_survive_round_trip (void)
{
  const TernMessageFlags kept = TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_ANSWERED |
                                TERN_MESSAGE_FLAG_FLAGGED | TERN_MESSAGE_FLAG_DELETED |
                                TERN_MESSAGE_FLAG_DRAFT;
  const char *inputs[256];
  gsize lengths[256];
  TernMessageFlags flags[256];
  g_autoptr(GBytes) mbox = NULL;
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  const char *data;
  gsize len;

  for (guint i = 0; i < 256; i++)
    {
      inputs[i] = "Subject: flags\n\nbody\n";
      lengths[i] = strlen (inputs[i]);
      flags[i] = i;
    }

  mbox = write_mbox_to_memory (inputs, lengths, flags, NULL, 256);
  data = g_bytes_get_data (mbox, &len);
  reader = reader_for_text (data, len);
  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 256);

  /* Forwarded, junk and not-junk have no mbox header and are dropped. */
  for (guint i = 0; i < 256; i++)
    g_assert_cmpint (((Message *) messages->pdata[i])->flags, ==, i & kept);
}

static char *
first_line_of_export (const char *message,
                      GDateTime  *date)
{
  gsize len = strlen (message);
  g_autoptr(GBytes) mbox = write_mbox_to_memory (&message, &len, NULL, &date, 1);
  const char *data = g_bytes_get_data (mbox, NULL);

  return g_strndup (data, strchr (data, '\n') - data);
}

static void
test_mbox_writer_from_line_has_sender_and_utc_date (void)
{
  g_autoptr(GTimeZone) zone = g_time_zone_new_offset (2 * 3600);
  g_autoptr(GDateTime) date = g_date_time_new (zone, 2024, 3, 5, 1, 2, 3);
  const struct {
    const char *message;
    const char *expected;
  } cases[] = {
    { "Return-Path: <rp@example.org>\nFrom: Other <other@example.org>\n\nx\n",
      "From rp@example.org Mon Mar  4 23:02:03 2024" },
    { "Return-Path: <>\nFrom: Mail Delivery <postmaster@example.org>\n\nbounce\n",
      "From MAILER-DAEMON Mon Mar  4 23:02:03 2024" },
    { "From: \"Name, Inc.\" <from@example.org>\n\nx\n",
      "From from@example.org Mon Mar  4 23:02:03 2024" },
    { "Subject: folded\nFrom: A Very Long Display Name\n <folded@example.org>\n\nx\n",
      "From folded@example.org Mon Mar  4 23:02:03 2024" },
    { "From: bare@example.org (Bare)\r\n\r\nx\r\n",
      "From bare@example.org Mon Mar  4 23:02:03 2024" },
    { "From: undisclosed\n\nx\n",
      "From MAILER-DAEMON Mon Mar  4 23:02:03 2024" },
    { "From: <has space@example.org>\n\nx\n",
      "From MAILER-DAEMON Mon Mar  4 23:02:03 2024" },
    { "", "From MAILER-DAEMON Mon Mar  4 23:02:03 2024" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *line = first_line_of_export (cases[i].message, date);

      g_assert_cmpstr (line, ==, cases[i].expected);
    }
}

static void
test_mbox_writer_date_falls_back_to_date_header (void)
{
  g_autofree char *line = NULL;
  g_autoptr(GDateTime) before = g_date_time_new_now_utc ();
  g_autoptr(GBytes) mbox = NULL;
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  const char *no_date = "From: a@example.org\n\nx\n";
  gsize no_date_len = strlen (no_date);
  const char *data;
  gsize len;

  line = first_line_of_export ("From: a@example.org\nDate: Tue, 2 Jan 2024 10:00:00 +0100\n\nx\n",
                               NULL);
  g_assert_cmpstr (line, ==, "From a@example.org Tue Jan  2 09:00:00 2024");

  /* Without either, the time of the export. */
  mbox = write_mbox_to_memory (&no_date, &no_date_len, NULL, NULL, 1);
  data = g_bytes_get_data (mbox, &len);
  reader = reader_for_text (data, len);
  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpint (g_date_time_difference (((Message *) messages->pdata[0])->date, before),
                   >=, -G_TIME_SPAN_SECOND);
}

static void
test_mbox_writer_export_replaces_file_only_on_close (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autofree char *target = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(TernMboxWriter) writer = NULL;
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GBytes) one = g_bytes_new_static ("Subject: one\n\n1\n", 16);
  g_autoptr(GBytes) two = g_bytes_new_static ("Subject: two\n\n2\n", 16);
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  temp_dir_init (&temp);
  target = write_file (temp.path, "backup.mbox", "an earlier export\n", -1);
  file = g_file_new_for_path (target);

  writer = tern_mbox_writer_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tern_mbox_writer_add (writer, one, TERN_MESSAGE_FLAG_SEEN, NULL, NULL, &error));
  g_assert_true (tern_mbox_writer_add (writer, two, 0, NULL, NULL, &error));

  /* Until close, the earlier export is whole and the new one is hidden. */
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "an earlier export\n");
  g_assert_cmpuint (count_dir_entries (temp.path), ==, 2);

  g_assert_true (tern_mbox_writer_close (writer, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_dir_entries (temp.path), ==, 1);

  /* Mail is private. */
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpuint (st.st_size, ==, tern_mbox_writer_get_bytes_written (writer));

  reader = tern_mbox_reader_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  messages = read_mbox (reader, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 2);
  assert_message (messages, 0, "Subject: one\nStatus: RO\n\n1\n");
  assert_message (messages, 1, "Subject: two\nStatus: O\n\n2\n");

  /* A closed writer takes no more. */
  g_assert_false (tern_mbox_writer_add (writer, one, 0, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static void
test_mbox_writer_abandoned_export_leaves_old_file (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autofree char *target = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GBytes) one = g_bytes_new_static ("Subject: one\n\n1\n", 16);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  TernMboxWriter *writer;

  temp_dir_init (&temp);
  target = write_file (temp.path, "backup.mbox", "an earlier export\n", -1);
  file = g_file_new_for_path (target);

  /* Dropped without close. */
  writer = tern_mbox_writer_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tern_mbox_writer_add (writer, one, 0, NULL, NULL, &error));
  g_object_unref (writer);

  g_assert_cmpuint (count_dir_entries (temp.path), ==, 1);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "an earlier export\n");
  g_clear_pointer (&contents, g_free);

  /* Cancelled half way. */
  writer = tern_mbox_writer_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tern_mbox_writer_add (writer, one, 0, NULL, NULL, &error));
  g_cancellable_cancel (cancellable);
  g_assert_false (tern_mbox_writer_add (writer, one, 0, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (tern_mbox_writer_close (writer, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_dir_entries (temp.path), ==, 1);
  g_object_unref (writer);

  g_assert_cmpuint (count_dir_entries (temp.path), ==, 1);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "an earlier export\n");
}

static void
test_mbox_writer_write_error_names_destination (void)
{
  static char buffer[64];
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new (buffer, sizeof buffer, NULL, NULL);
  g_autoptr(TernMboxWriter) writer = tern_mbox_writer_new_for_stream (stream, "/media/usb/full.mbox");
  g_autoptr(GBytes) message = g_bytes_new_static ("Subject: too much for the disk\n\nbody\n", 37);
  g_autoptr(GError) error = NULL;

  /* The disk fills up when the buffer is written. */
  g_assert_true (tern_mbox_writer_add (writer, message, 0, NULL, NULL, &error));
  g_assert_false (tern_mbox_writer_close (writer, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_WRITE_FAILED);
  g_assert_nonnull (strstr (error->message, "/media/usb/full.mbox"));
}

static void
test_mbox_writer_missing_folder_is_an_error (void)
{
  g_autoptr(GFile) file = g_file_new_for_path ("/nonexistent/tern/export.mbox");
  g_autoptr(TernMboxWriter) writer = NULL;
  g_autoptr(GError) error = NULL;

  writer = tern_mbox_writer_new_for_file (file, NULL, &error);
  g_assert_null (writer);
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_WRITE_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/tern/export.mbox"));
}

static void
test_mbox_writer_large_export_reads_back (void)
{
  const guint n_messages = 20000;
  g_auto(TempDir) temp = { NULL };
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr(GFile) file = NULL;
  g_autoptr(TernMboxWriter) writer = NULL;
  g_autoptr(TernMboxReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  guint n_read = 0;
  gint64 start;
  double write_seconds;
  double read_seconds;

  temp_dir_init (&temp);
  path = g_build_filename (temp.path, "export.mbox", NULL);
  file = g_file_new_for_path (path);

  /* The messages as a store holds them: no From_ line, no Status, CRLF. */
  for (guint i = 0; i < n_messages; i++)
    {
      gsize begin = text->len;

      g_array_append_val (offsets, begin);
      g_string_append_printf (text,
                              "Message-ID: <%u@export.tern.test>\r\n"
                              "From: Sender <sender@example.org>\r\n"
                              "Subject: Exported message %u\r\n"
                              "\r\n"
                              "From the body of message %u.\r\n"
                              ">From a quoted line.\r\n",
                              i, i, i);
    }
  g_array_append_val (offsets, text->len);

  start = g_get_monotonic_time ();
  writer = tern_mbox_writer_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_messages; i++)
    {
      gsize begin = g_array_index (offsets, gsize, i);
      gsize end = g_array_index (offsets, gsize, i + 1);
      g_autoptr(GBytes) message = g_bytes_new_static (text->str + begin, end - begin);

      tern_mbox_writer_add (writer, message, TERN_MESSAGE_FLAG_SEEN, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  tern_mbox_writer_close (writer, NULL, &error);
  g_assert_no_error (error);
  write_seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  start = g_get_monotonic_time ();
  reader = tern_mbox_reader_new_for_file (file, NULL, &error);
  g_assert_no_error (error);
  for (;;)
    {
      g_autoptr(GBytes) bytes = tern_mbox_reader_next (reader, NULL, NULL, NULL, &error);
      g_autofree char *expected = NULL;

      g_assert_no_error (error);
      if (bytes == NULL)
        break;

      expected = g_strdup_printf ("Message-ID: <%u@export.tern.test>\n"
                                  "From: Sender <sender@example.org>\n"
                                  "Subject: Exported message %u\n"
                                  "Status: RO\n"
                                  "\n"
                                  "From the body of message %u.\n"
                                  ">From a quoted line.\n",
                                  n_read, n_read, n_read);
      assert_bytes (bytes, expected, -1);
      n_read++;
    }
  read_seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  g_assert_cmpuint (n_read, ==, n_messages);
  g_test_message ("wrote %u messages, %.1f MB, in %.3f s (%.0f MB/s, %.0f messages/s, "
                  "with fsync); read them back in %.3f s",
                  n_messages, tern_mbox_writer_get_bytes_written (writer) / 1e6, write_seconds,
                  tern_mbox_writer_get_bytes_written (writer) / 1e6 / MAX (write_seconds, 1e-6),
                  n_messages / MAX (write_seconds, 1e-6), read_seconds);
}

/* Maildir. */

static void
put_message (const char *maildir,
             const char *subdir,
             const char *name,
             const char *contents,
             gint64      mtime)
{
  g_autofree char *dir = g_build_filename (maildir, subdir, NULL);
  g_autofree char *path = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  path = write_file (dir, name, contents, -1);

  if (mtime > 0)
    {
      struct utimbuf times = { .actime = mtime, .modtime = mtime };

      g_assert_cmpint (g_utime (path, &times), ==, 0);
    }
}

static void
make_maildir (const char *path)
{
  const char *subdirs[] = { "cur", "new", "tmp" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir = g_build_filename (path, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    }
}

static TernMaildirReader *
maildir_reader (const char *path)
{
  g_autoptr(GFile) folder = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  TernMaildirReader *reader;

  reader = tern_maildir_reader_new (folder, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reader);

  return reader;
}

static GPtrArray *
read_maildir (TernMaildirReader *reader)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) message_free);
  g_autoptr(GError) error = NULL;

  for (;;)
    {
      Message *message = g_new0 (Message, 1);

      message->bytes = tern_maildir_reader_next (reader, &message->flags, &message->date,
                                                 NULL, &error);
      g_assert_no_error (error);
      if (message->bytes == NULL)
        {
          message_free (message);
          break;
        }

      g_ptr_array_add (messages, message);
    }

  return messages;
}

static void
test_maildir_reads_cur_and_new_with_flags (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;

  temp_dir_init (&temp);
  make_maildir (temp.path);
  put_message (temp.path, "new", "1700000001.M1P1.host", "Subject: new\n\nunseen\n", 0);
  put_message (temp.path, "cur", "1700000002.M1P1.host:2,S", "Subject: seen\n\n", 0);
  put_message (temp.path, "cur", "1700000003.M1P1.host:2,DFPRST", "Subject: all\n\n", 0);
  put_message (temp.path, "cur", "1700000004.M1P1.host,S=12:2,", "Subject: none\r\n\r\n", 0);

  reader = maildir_reader (temp.path);
  g_assert_cmpuint (tern_maildir_reader_get_n_messages (reader), ==, 4);

  messages = read_maildir (reader);
  g_assert_cmpuint (messages->len, ==, 4);

  assert_message (messages, 0, "Subject: new\n\nunseen\n");
  g_assert_cmpint (((Message *) messages->pdata[0])->flags, ==, TERN_MESSAGE_FLAG_NONE);
  g_assert_cmpint (((Message *) messages->pdata[1])->flags, ==, TERN_MESSAGE_FLAG_SEEN);
  g_assert_cmpint (((Message *) messages->pdata[2])->flags, ==,
                   TERN_MESSAGE_FLAG_DRAFT | TERN_MESSAGE_FLAG_FLAGGED |
                   TERN_MESSAGE_FLAG_FORWARDED | TERN_MESSAGE_FLAG_ANSWERED |
                   TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED);
  /* The bytes are the file's: CRLF stays CRLF. */
  assert_message (messages, 3, "Subject: none\r\n\r\n");
  g_assert_cmpint (((Message *) messages->pdata[3])->flags, ==, TERN_MESSAGE_FLAG_NONE);

  g_assert_cmpstr (tern_maildir_reader_get_message_name (reader), ==,
                   "cur/1700000004.M1P1.host,S=12:2,");
  g_assert_cmpuint (tern_maildir_reader_get_position (reader), ==,
                    tern_maildir_reader_get_size (reader));
  g_assert_cmpuint (tern_maildir_reader_get_size (reader), ==, 21 + 15 + 14 + 17);
}

static void
test_maildir_order_is_by_name_timestamp_then_name (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  const char *expected[] = { "A", "B", "C", "D", "E" };

  temp_dir_init (&temp);
  make_maildir (temp.path);
  /* Listed in the order the file system likes; read in time order. */
  put_message (temp.path, "cur", "1700000300.M3P1.host:2,S", "E", 0);
  put_message (temp.path, "cur", "1700000200.M2P1.host:2,RS", "D", 0);
  put_message (temp.path, "new", "1700000100.M1P1.host", "A", 0);
  put_message (temp.path, "cur", "1700000200.M1P1.host:2,", "C", 0);
  /* No timestamp in the name: its modification time places it. */
  put_message (temp.path, "cur", "imported-by-hand:2,S", "B", 1700000150);

  reader = maildir_reader (temp.path);
  messages = read_maildir (reader);
  g_assert_cmpuint (messages->len, ==, G_N_ELEMENTS (expected));

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    assert_message (messages, i, expected[i]);
}

static void
test_maildir_date_is_modification_time (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;

  temp_dir_init (&temp);
  make_maildir (temp.path);
  /* IMAP servers set the modification time to the internal date, which can
   * be years before the delivery time in the name. */
  put_message (temp.path, "cur", "1700000000.M1P1.host:2,S", "Subject: old\n\n", 1234567890);

  reader = maildir_reader (temp.path);
  messages = read_maildir (reader);
  g_assert_cmpuint (messages->len, ==, 1);
  assert_date (((Message *) messages->pdata[0])->date, "2009-02-13T23:31:30Z");
}

static void
test_maildir_ignores_tmp_dot_files_and_folders (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *folder = NULL;

  temp_dir_init (&temp);
  make_maildir (temp.path);
  put_message (temp.path, "tmp", "1700000001.M1P1.host", "being delivered", 0);
  put_message (temp.path, "cur", ".hidden", "not a message", 0);
  put_message (temp.path, "cur", "1700000002.M1P1.host:2,S", "the message", 0);
  put_message (temp.path, "", "dovecot-uidlist", "3 V1 N2", 0);
  folder = g_build_filename (temp.path, "cur", "a-folder", NULL);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);

  reader = maildir_reader (temp.path);
  messages = read_maildir (reader);
  g_assert_cmpuint (messages->len, ==, 1);
  assert_message (messages, 0, "the message");
}

static void
test_maildir_vanished_message_is_reported_and_skipped (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) third = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *gone = NULL;

  temp_dir_init (&temp);
  make_maildir (temp.path);
  put_message (temp.path, "cur", "1700000001.M1P1.host:2,S", "one", 0);
  put_message (temp.path, "new", "1700000002.M1P1.host", "two", 0);
  put_message (temp.path, "cur", "1700000003.M1P1.host:2,S", "three", 0);

  reader = maildir_reader (temp.path);

  /* Another client moves a message after the listing. */
  gone = g_build_filename (temp.path, "new", "1700000002.M1P1.host", NULL);
  g_assert_cmpint (g_unlink (gone), ==, 0);

  first = tern_maildir_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (first, "one", -1);

  g_assert_null (tern_maildir_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_MESSAGE_UNREADABLE);
  g_assert_true (tern_mailfile_error_is_per_message (error));
  g_assert_nonnull (strstr (error->message, "message 2 of 3"));
  g_assert_nonnull (strstr (error->message, "new/1700000002.M1P1.host"));
  g_assert_nonnull (strstr (error->message, temp.path));
  g_clear_error (&error);

  third = tern_maildir_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (third, "three", -1);

  g_assert_null (tern_maildir_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_maildir_too_large_message_is_reported_and_skipped (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GBytes) last = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big = g_strnfill (5000, 'x');

  temp_dir_init (&temp);
  make_maildir (temp.path);
  put_message (temp.path, "cur", "1700000001.M1P1.host:2,S", big, 0);
  put_message (temp.path, "cur", "1700000002.M1P1.host:2,S", "small", 0);

  reader = maildir_reader (temp.path);
  tern_maildir_reader_set_max_message_size (reader, 1000);

  g_assert_null (tern_maildir_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "cur/1700000001.M1P1.host:2,S"));
  g_clear_error (&error);

  last = tern_maildir_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (last, "small", -1);
}

static void
test_maildir_cancelled_read_can_resume (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  temp_dir_init (&temp);
  make_maildir (temp.path);
  put_message (temp.path, "cur", "1700000001.M1P1.host:2,S", "one", 0);

  reader = maildir_reader (temp.path);
  g_cancellable_cancel (cancellable);
  g_assert_null (tern_maildir_reader_next (reader, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Nothing was skipped. */
  bytes = tern_maildir_reader_next (reader, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes (bytes, "one", -1);
}

static void
test_maildir_other_folder_is_not_a_maildir (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GFile) plain = NULL;
  g_autoptr(GFile) missing = NULL;
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *file_path = NULL;

  temp_dir_init (&temp);
  tmp = g_build_filename (temp.path, "tmp", NULL);
  g_assert_cmpint (g_mkdir (tmp, 0700), ==, 0);
  file_path = write_file (temp.path, "notes.txt", "text", -1);

  folder = g_file_new_for_path (temp.path);
  reader = tern_maildir_reader_new (folder, NULL, &error);
  g_assert_null (reader);
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_NOT_MAILDIR);
  g_assert_nonnull (strstr (error->message, temp.path));
  g_clear_error (&error);

  plain = g_file_new_for_path (file_path);
  reader = tern_maildir_reader_new (plain, NULL, &error);
  g_assert_null (reader);
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_NOT_MAILDIR);
  g_assert_nonnull (strstr (error->message, "notes.txt"));
  g_clear_error (&error);

  missing = g_file_new_for_path ("/nonexistent/tern/Maildir");
  reader = tern_maildir_reader_new (missing, NULL, &error);
  g_assert_null (reader);
  g_assert_error (error, TERN_MAILFILE_ERROR, TERN_MAILFILE_ERROR_READ_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/tern/Maildir"));
}

static void
test_maildir_empty_maildir_has_no_messages (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(TernMaildirReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cur = NULL;

  /* Tools that prune empty folders leave only cur/. */
  temp_dir_init (&temp);
  cur = g_build_filename (temp.path, "cur", NULL);
  g_assert_cmpint (g_mkdir (cur, 0700), ==, 0);

  reader = maildir_reader (temp.path);
  g_assert_cmpuint (tern_maildir_reader_get_n_messages (reader), ==, 0);
  g_assert_null (tern_maildir_reader_next (reader, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_maildir_flags_from_name (void)
{
  const struct {
    const char *name;
    TernMessageFlags flags;
  } cases[] = {
    { "1700000000.M1P1.host", TERN_MESSAGE_FLAG_NONE },
    { "1700000000.M1P1.host:2,", TERN_MESSAGE_FLAG_NONE },
    { "1700000000.M1P1.host:2,S", TERN_MESSAGE_FLAG_SEEN },
    { "1700000000.M1P1.host:2,P", TERN_MESSAGE_FLAG_FORWARDED },
    { "1700000000.M1P1.host:2,R", TERN_MESSAGE_FLAG_ANSWERED },
    { "1700000000.M1P1.host:2,T", TERN_MESSAGE_FLAG_DELETED },
    { "1700000000.M1P1.host:2,D", TERN_MESSAGE_FLAG_DRAFT },
    { "1700000000.M1P1.host:2,F", TERN_MESSAGE_FLAG_FLAGGED },
    { "1700000000.M1P1.host:2,FSab", TERN_MESSAGE_FLAG_FLAGGED | TERN_MESSAGE_FLAG_SEEN },
    { "1700000000.M1P1.host,S=4096,W=4200:2,RS",
      TERN_MESSAGE_FLAG_ANSWERED | TERN_MESSAGE_FLAG_SEEN },
    { "1700000000.M1P1.host!2,S", TERN_MESSAGE_FLAG_SEEN },
    { "1700000000.M1P1.host:1,S", TERN_MESSAGE_FLAG_NONE },
    { "cur/1700000000.M1P1.host:2,S", TERN_MESSAGE_FLAG_SEEN },
    { "host:2,S/1700000000.M1P1.host", TERN_MESSAGE_FLAG_NONE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_assert_cmpint (tern_maildir_flags_from_name (cases[i].name), ==, cases[i].flags);
    }
}

static void
test_maildir_lists_subfolders (void)
{
  g_auto(TempDir) temp = { NULL };
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  const char *expected[] = { ".Archive.2023", ".Sent", "Nested", NULL };
  const char *dirs[] = { ".Sent/cur", ".Archive.2023/new", "Nested/cur", ".notmuch/xapian" };

  temp_dir_init (&temp);
  make_maildir (temp.path);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (temp.path, dirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    }
  put_message (temp.path, "", "dovecot.index", "binary", 0);

  folder = g_file_new_for_path (temp.path);
  names = tern_maildir_list_subfolders (folder, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (names, expected);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mailfiles/mbox/reads-messages-with-dates", test_mbox_reads_messages_with_dates);
  g_test_add_func ("/mailfiles/mbox/from-without-empty-line-before-is-body",
                   test_mbox_from_without_empty_line_before_is_body);
  g_test_add_func ("/mailfiles/mbox/undoes-mboxrd-quoting", test_mbox_undoes_mboxrd_quoting);
  g_test_add_func ("/mailfiles/mbox/drops-only-the-separating-empty-line",
                   test_mbox_drops_only_the_separating_empty_line);
  g_test_add_func ("/mailfiles/mbox/crlf-file-keeps-crlf", test_mbox_crlf_file_keeps_crlf);
  g_test_add_func ("/mailfiles/mbox/last-message-without-final-newline",
                   test_mbox_last_message_without_final_newline);
  g_test_add_func ("/mailfiles/mbox/empty-file-has-no-messages", test_mbox_empty_file_has_no_messages);
  g_test_add_func ("/mailfiles/mbox/other-file-is-not-an-mbox", test_mbox_other_file_is_not_an_mbox);
  g_test_add_func ("/mailfiles/mbox/missing-file-error-names-it", test_mbox_missing_file_error_names_it);
  g_test_add_func ("/mailfiles/mbox/status-headers-give-flags", test_mbox_status_headers_give_flags);
  g_test_add_func ("/mailfiles/mbox/thunderbird-file-gives-flags-and-dates",
                   test_mbox_thunderbird_file_gives_flags_and_dates);
  g_test_add_func ("/mailfiles/mbox/from-line-variants-begin-messages",
                   test_mbox_from_line_variants_begin_messages);
  g_test_add_func ("/mailfiles/mbox/parse-date-variants", test_mbox_parse_date_variants);
  g_test_add_func ("/mailfiles/mbox/too-large-message-is-skipped-and-reported",
                   test_mbox_too_large_message_is_skipped_and_reported);
  g_test_add_func ("/mailfiles/mbox/long-line-within-limit-is-kept-whole",
                   test_mbox_long_line_within_limit_is_kept_whole);
  g_test_add_func ("/mailfiles/mbox/read-error-stops-and-names-the-source",
                   test_mbox_read_error_stops_and_names_the_source);
  g_test_add_func ("/mailfiles/mbox/cancelled-read-stops", test_mbox_cancelled_read_stops);
  g_test_add_func ("/mailfiles/mbox/reads-large-generated-file", test_mbox_reads_large_generated_file);
  g_test_add_func ("/mailfiles/mbox/writer/round-trip-keeps-bytes",
                   test_mbox_writer_round_trip_keeps_bytes);
  g_test_add_func ("/mailfiles/mbox/writer/flags-survive-round-trip",
                   test_mbox_writer_flags_survive_round_trip);
  g_test_add_func ("/mailfiles/mbox/writer/from-line-has-sender-and-utc-date",
                   test_mbox_writer_from_line_has_sender_and_utc_date);
  g_test_add_func ("/mailfiles/mbox/writer/date-falls-back-to-date-header",
                   test_mbox_writer_date_falls_back_to_date_header);
  g_test_add_func ("/mailfiles/mbox/writer/export-replaces-file-only-on-close",
                   test_mbox_writer_export_replaces_file_only_on_close);
  g_test_add_func ("/mailfiles/mbox/writer/abandoned-export-leaves-old-file",
                   test_mbox_writer_abandoned_export_leaves_old_file);
  g_test_add_func ("/mailfiles/mbox/writer/write-error-names-destination",
                   test_mbox_writer_write_error_names_destination);
  g_test_add_func ("/mailfiles/mbox/writer/missing-folder-is-an-error",
                   test_mbox_writer_missing_folder_is_an_error);
  g_test_add_func ("/mailfiles/mbox/writer/large-export-reads-back",
                   test_mbox_writer_large_export_reads_back);
  g_test_add_func ("/mailfiles/maildir/reads-cur-and-new-with-flags",
                   test_maildir_reads_cur_and_new_with_flags);
  g_test_add_func ("/mailfiles/maildir/order-is-by-name-timestamp-then-name",
                   test_maildir_order_is_by_name_timestamp_then_name);
  g_test_add_func ("/mailfiles/maildir/date-is-modification-time",
                   test_maildir_date_is_modification_time);
  g_test_add_func ("/mailfiles/maildir/ignores-tmp-dot-files-and-folders",
                   test_maildir_ignores_tmp_dot_files_and_folders);
  g_test_add_func ("/mailfiles/maildir/vanished-message-is-reported-and-skipped",
                   test_maildir_vanished_message_is_reported_and_skipped);
  g_test_add_func ("/mailfiles/maildir/too-large-message-is-reported-and-skipped",
                   test_maildir_too_large_message_is_reported_and_skipped);
  g_test_add_func ("/mailfiles/maildir/cancelled-read-can-resume",
                   test_maildir_cancelled_read_can_resume);
  g_test_add_func ("/mailfiles/maildir/other-folder-is-not-a-maildir",
                   test_maildir_other_folder_is_not_a_maildir);
  g_test_add_func ("/mailfiles/maildir/empty-maildir-has-no-messages",
                   test_maildir_empty_maildir_has_no_messages);
  g_test_add_func ("/mailfiles/maildir/flags-from-name", test_maildir_flags_from_name);
  g_test_add_func ("/mailfiles/maildir/lists-subfolders", test_maildir_lists_subfolders);

  return g_test_run ();
}
