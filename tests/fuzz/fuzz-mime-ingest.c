/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * libFuzzer target for mail ingestion: any bytes go through
 * tern_mime_message_parse() and every fact is read back and checked for
 * what the store relies on (valid UTF-8, the documented bounds).  Its
 * facts must be those GMime's parser alone gives, whether it took the
 * plain message path or not, and so must those of the same bytes as a
 * header section (tern_mime_message_parse_header_section()).
 *
 * The reader's path goes the same way: the display of the message, its
 * plain text made HTML (quote blocks closed as they were opened), and the
 * text written as format=flowed and read back.
 *
 * It also checks the guard's promise on small inputs: with a field limit of
 * a few dozen bytes, no header that GMime keeps from the guarded copy may
 * be longer, which shows that the guard found every header block GMime
 * found.  A miss there is what would let a long header reach GMime's stack
 * copies in real mail.
 */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-engine.h"
#include "tern-mime-composer.h"
#include "tern-mime-display.h"
#include "tern-mime-flowed.h"
#include "tern-mime-message.h"
#include "tern-mime-private.h"
#include "tern-mime-subject.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

#define SMALL_FIELD 48

static void
check_text (const char *text,
            gsize       max_bytes)
{
  g_assert_nonnull (text);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpuint (strlen (text), <=, max_bytes);
}

static void
check_addresses (GPtrArray *addresses)
{
  g_assert_nonnull (addresses);
  g_assert_cmpuint (addresses->len, <=, TERN_MIME_MAX_ADDRESSES);

  for (guint i = 0; i < addresses->len; i++)
    {
      TernAddress *address = g_ptr_array_index (addresses, i);

      if (address->name != NULL)
        check_text (address->name, TERN_MIME_MAX_TOKEN_BYTES);
      check_text (address->address, TERN_MIME_MAX_TOKEN_BYTES);
      g_assert_cmpstr (address->address, !=, "");
    }
}

static void
check_facts (TernMimeMessage *message)
{
  const char * const *strv;
  GPtrArray *attachments;
  guint n;

  if (tern_mime_message_get_message_id (message) != NULL)
    check_text (tern_mime_message_get_message_id (message), TERN_MIME_MAX_TOKEN_BYTES);
  if (tern_mime_message_get_in_reply_to (message) != NULL)
    check_text (tern_mime_message_get_in_reply_to (message), TERN_MIME_MAX_TOKEN_BYTES);

  strv = tern_mime_message_get_references (message);
  for (n = 0; strv[n] != NULL; n++)
    check_text (strv[n], TERN_MIME_MAX_TOKEN_BYTES);
  g_assert_cmpuint (n, <=, TERN_MIME_MAX_REFERENCES);

  strv = tern_mime_message_get_delivered_to (message);
  for (n = 0; strv[n] != NULL; n++)
    check_text (strv[n], TERN_MIME_MAX_TOKEN_BYTES);
  g_assert_cmpuint (n, <=, TERN_MIME_MAX_DELIVERED_TO);

  check_text (tern_mime_message_get_subject (message), TERN_MIME_MAX_SUBJECT_BYTES);
  check_text (tern_mime_message_get_body_text (message), TERN_MIME_MAX_BODY_TEXT);
  check_text (tern_mime_message_get_preview (message), TERN_MIME_PREVIEW_CHARS * 4);
  g_assert_cmpuint (g_utf8_strlen (tern_mime_message_get_preview (message), -1), <=,
                    TERN_MIME_PREVIEW_CHARS);

  check_addresses (tern_mime_message_get_from (message));
  check_addresses (tern_mime_message_get_to (message));
  check_addresses (tern_mime_message_get_cc (message));
  check_addresses (tern_mime_message_get_bcc (message));
  check_addresses (tern_mime_message_get_reply_to (message));
  check_addresses (tern_mime_message_get_sender (message));

  attachments = tern_mime_message_get_attachments (message);
  g_assert_cmpuint (attachments->len, <=, TERN_MIME_MAX_PARTS);
  for (guint i = 0; i < attachments->len; i++)
    {
      TernAttachmentInfo *info = g_ptr_array_index (attachments, i);

      if (info->filename != NULL)
        {
          check_text (info->filename, 255);
          g_assert_null (strchr (info->filename, '/'));
          g_assert_null (strchr (info->filename, '\\'));
        }
      check_text (info->mime_type, 255);
      check_text (info->part_path, 4096);
      g_assert_cmpint (info->size, >=, 0);
    }

  (void) tern_mime_message_get_date (message);
  (void) tern_mime_message_is_html (message);
  (void) tern_mime_message_has_attachments (message);
  (void) tern_mime_message_get_problems (message);
}

static void
assert_same_addresses (GPtrArray *a,
                       GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      TernAddress *x = g_ptr_array_index (a, i);
      TernAddress *y = g_ptr_array_index (b, i);

      g_assert_cmpstr (x->name, ==, y->name);
      g_assert_cmpstr (x->address, ==, y->address);
    }
}

/* Plain header sections and plain messages are read without GMime's
 * parser; whatever path is taken, the facts are those of GMime's. */
static void
assert_same_facts (TernMimeMessage *a,
                   TernMimeMessage *b)
{
  const char * const *x = tern_mime_message_get_references (a);
  const char * const *y = tern_mime_message_get_references (b);
  guint n;

  g_assert_cmpstr (tern_mime_message_get_subject (a), ==, tern_mime_message_get_subject (b));
  g_assert_cmpstr (tern_mime_message_get_message_id (a), ==,
                   tern_mime_message_get_message_id (b));
  g_assert_cmpstr (tern_mime_message_get_in_reply_to (a), ==,
                   tern_mime_message_get_in_reply_to (b));
  for (n = 0; x[n] != NULL && y[n] != NULL; n++)
    g_assert_cmpstr (x[n], ==, y[n]);
  g_assert_true (x[n] == NULL && y[n] == NULL);
  g_assert_cmpint (tern_mime_message_get_date (a), ==, tern_mime_message_get_date (b));
  g_assert_cmpuint (tern_mime_message_get_problems (a), ==, tern_mime_message_get_problems (b));
  g_assert_cmpstr (tern_mime_message_get_body_text (a), ==, tern_mime_message_get_body_text (b));
  assert_same_addresses (tern_mime_message_get_from (a), tern_mime_message_get_from (b));
  assert_same_addresses (tern_mime_message_get_to (a), tern_mime_message_get_to (b));
  assert_same_addresses (tern_mime_message_get_cc (a), tern_mime_message_get_cc (b));
  assert_same_addresses (tern_mime_message_get_bcc (a), tern_mime_message_get_bcc (b));
  assert_same_addresses (tern_mime_message_get_reply_to (a), tern_mime_message_get_reply_to (b));
  assert_same_addresses (tern_mime_message_get_sender (a), tern_mime_message_get_sender (b));
  g_assert_cmpstr (tern_mime_message_get_preview (a), ==, tern_mime_message_get_preview (b));
  g_assert_cmpint (tern_mime_message_is_html (a), ==, tern_mime_message_is_html (b));
  g_assert_cmpint (tern_mime_message_has_attachments (a), ==,
                   tern_mime_message_has_attachments (b));
  g_assert_cmpuint (tern_mime_message_get_attachments (a)->len, ==,
                    tern_mime_message_get_attachments (b)->len);
  x = tern_mime_message_get_delivered_to (a);
  y = tern_mime_message_get_delivered_to (b);
  for (n = 0; x[n] != NULL && y[n] != NULL; n++)
    g_assert_cmpstr (x[n], ==, y[n]);
  g_assert_true (x[n] == NULL && y[n] == NULL);
}

/* Every header GMime keeps, in every part, stays within the field limit. */
static void
check_header_lengths (GMimeObject *object,
                      guint        depth)
{
  GMimeHeaderList *headers;
  int n;

  if (object == NULL || depth > TERN_MIME_MAX_DEPTH * 2 + 4)
    return;

  headers = g_mime_object_get_header_list (object);
  n = g_mime_header_list_get_count (headers);
  for (int i = 0; i < n; i++)
    {
      GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);
      const char *raw = g_mime_header_get_raw_value (header);
      gsize len = raw != NULL ? strlen (raw) : 0;

      /* Folded lines keep their line ends, up to two bytes per line. */
      g_assert_cmpuint (len, <=, SMALL_FIELD * 3 + 2);
    }

  if (GMIME_IS_MESSAGE (object))
    {
      check_header_lengths (g_mime_message_get_mime_part (GMIME_MESSAGE (object)), depth + 1);
    }
  else if (GMIME_IS_MULTIPART (object))
    {
      int count = g_mime_multipart_get_count (GMIME_MULTIPART (object));

      for (int i = 0; i < count; i++)
        check_header_lengths (g_mime_multipart_get_part (GMIME_MULTIPART (object), i), depth + 1);
    }
  else if (GMIME_IS_MESSAGE_PART (object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));

      check_header_lengths (inner != NULL ? GMIME_OBJECT (inner) : NULL, depth + 1);
    }
}

static void
check_guard_agrees_with_gmime (const guint8 *data,
                               gsize         size)
{
  static const TernMimeGuardLimits limits = { SMALL_FIELD, 16, 200 };
  TernMimeProblems problems = TERN_MIME_PROBLEM_NONE;
  GByteArray *bytes = tern_mime_guard_prepare (data, size, &limits, &problems);
  GMimeStream *stream = g_mime_stream_mem_new_with_byte_array (bytes);
  GMimeParser *parser;
  GMimeMessage *message;

  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), TRUE);
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);

  if (message != NULL)
    {
      check_header_lengths (GMIME_OBJECT (message), 0);
      g_object_unref (message);
    }

  g_object_unref (parser);
  g_object_unref (stream);
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
check_display (const guint8 *data,
               gsize         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr(TernMimeDisplay) display = tern_mime_display_new (bytes);
  const char *body = tern_mime_display_get_body (display);

  g_assert_true (g_utf8_validate (body, -1, NULL));
  if (!tern_mime_display_is_html (display))
    {
      g_autofree char *html = tern_mime_display_text_to_html (body);
      g_autofree char *flowed = tern_mime_encode_flowed (body);
      g_autofree char *back = tern_mime_decode_flowed (flowed, FALSE);
      guint opened = count (html, "<blockquote");

      g_assert_true (g_utf8_validate (html, -1, NULL));
      g_assert_cmpuint (opened, ==, count (html, "</blockquote>"));
      g_assert_true (g_utf8_validate (back, -1, NULL));
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  TernMimeMessage *message;

  tern_engine_init ();

  message = tern_mime_message_parse (data, size);
  check_facts (message);

  {
    g_autoptr(TernMimeMessage) gmime = tern_mime_message_parse_with_gmime (data, size);
    g_autoptr(TernMimeMessage) section = tern_mime_message_parse_header_section (data, size);

    assert_same_facts (gmime, message);
    assert_same_facts (gmime, section);
  }

  {
    g_autofree char *normalized = tern_mime_normalize_subject (tern_mime_message_get_subject (message));

    g_assert_true (g_utf8_validate (normalized, -1, NULL));
    (void) tern_mime_subject_is_reply_or_forward (tern_mime_message_get_subject (message));
  }

  tern_mime_message_unref (message);

  check_display (data, size);

  {
    /* The subject rules on raw text as well. */
    g_autofree char *text = g_strndup ((const char *) data, MIN (size, 4096));
    g_autofree char *normalized = tern_mime_normalize_subject (text);

    g_assert_cmpuint (strlen (normalized), <=, strlen (text));
  }

  check_guard_agrees_with_gmime (data, size);

  return 0;
}
