/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * libFuzzer target for the IMAP response parser.
 *
 * An input is a chunking header and a stream: the first byte's low three
 * bits say how many size bytes follow (1 to 8), and the stream is fed in
 * pieces of those sizes in turn (a size byte b means b + 1 bytes).  The
 * same stream is also fed whole to a second parser, and both must print
 * the same responses and the same error: what the parser makes of a
 * stream may not depend on how the socket cut it.
 *
 * Every ENVELOPE, BODYSTRUCTURE and LIST mailbox name that comes out is
 * decoded too, and all their text must be valid UTF-8.  Small limits make
 * the fuzzer reach the "too big" paths.
 */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-imap-parser.h"
#include "tern-imap-structure.h"
#include "tern-imap-utf7.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

#define FUZZ_MAX_LITERAL  4096
#define FUZZ_MAX_RESPONSE (64 * 1024)

static void
check_utf8 (const char *text)
{
  if (text != NULL)
    g_assert_true (g_utf8_validate (text, -1, NULL));
}

static void
check_addresses (GPtrArray *addresses)
{
  g_assert_nonnull (addresses);
  for (guint i = 0; i < addresses->len; i++)
    {
      TernImapAddress *address = g_ptr_array_index (addresses, i);

      check_utf8 (address->name);
      check_utf8 (address->adl);
      check_utf8 (address->mailbox);
      check_utf8 (address->host);
      g_assert_nonnull (address->address);
      check_utf8 (address->address);
      check_utf8 (address->group);
    }
}

static void
check_envelope (const TernImapEnvelope *envelope)
{
  check_utf8 (envelope->date);
  check_utf8 (envelope->subject);
  check_utf8 (envelope->in_reply_to);
  check_utf8 (envelope->message_id);
  check_addresses (envelope->from);
  check_addresses (envelope->sender);
  check_addresses (envelope->reply_to);
  check_addresses (envelope->to);
  check_addresses (envelope->cc);
  check_addresses (envelope->bcc);
}

static void
check_params (GPtrArray *params)
{
  g_assert_nonnull (params);
  for (guint i = 0; i < params->len; i++)
    {
      TernImapParam *param = g_ptr_array_index (params, i);

      check_utf8 (param->name);
      check_utf8 (param->value);
    }
}

static void
check_part (const TernImapBodyPart *root,
            const TernImapBodyPart *part)
{
  g_autofree char *filename = tern_imap_body_part_get_filename (part);

  check_utf8 (part->section);
  check_utf8 (part->type);
  check_utf8 (part->subtype);
  check_utf8 (part->id);
  check_utf8 (part->description);
  check_utf8 (part->encoding);
  check_utf8 (part->md5);
  check_utf8 (part->disposition);
  check_utf8 (part->location);
  check_utf8 (filename);
  check_params (part->params);
  check_params (part->disposition_params);
  for (guint i = 0; part->language != NULL && part->language[i] != NULL; i++)
    check_utf8 (part->language[i]);
  if (part->envelope != NULL)
    check_envelope (part->envelope);

  /* Every part can be found again by its number. */
  g_assert_nonnull (tern_imap_body_part_find (root, part->section));

  for (guint i = 0; i < part->children->len; i++)
    check_part (root, g_ptr_array_index (part->children, i));
}

/* Whether a part of the tree has the disposition "attachment". */
static gboolean
has_attachment_disposition (const TernImapBodyPart *part)
{
  if (g_strcmp0 (part->disposition, "attachment") == 0)
    return TRUE;
  for (guint i = 0; i < part->children->len; i++)
    if (has_attachment_disposition (g_ptr_array_index (part->children, i)))
      return TRUE;
  return FALSE;
}

static void
check_mailbox_name (const TernImapValue *value)
{
  for (gint utf8_accepted = 0; utf8_accepted <= 1; utf8_accepted++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *name = tern_imap_mailbox_name_decode (value, utf8_accepted, &error);
      g_autofree char *encoded = NULL;
      g_autofree char *again = NULL;

      if (name == NULL)
        continue;
      check_utf8 (name);

      /* A decoded name encodes to a form that decodes to it again. */
      encoded = tern_imap_utf7_encode (name, &error);
      g_assert_no_error (error);
      again = tern_imap_utf7_decode (encoded, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (again, ==, name);
    }
}

static void
check_response (TernImapResponse *response)
{
  const TernImapValue *value;

  check_utf8 (response->name);
  if (response->code != NULL)
    check_utf8 (response->code->name);

  if ((value = tern_imap_response_get_fetch_item (response, "ENVELOPE")) != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernImapEnvelope) envelope = tern_imap_envelope_decode (value, &error);

      g_assert_true ((envelope == NULL) != (error == NULL));
      if (envelope != NULL)
        check_envelope (envelope);
    }

  if ((value = tern_imap_response_get_fetch_item (response, "BODYSTRUCTURE")) != NULL ||
      (value = tern_imap_response_get_fetch_item (response, "BODY")) != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) check_error = NULL;
      g_autoptr(TernImapBodyPart) part = tern_imap_body_part_decode (value, &error);
      gboolean attachment = FALSE;
      gboolean sound = tern_imap_body_structure_check (value, &attachment, &check_error);

      g_assert_true ((part == NULL) != (error == NULL));
      /* The check alone fails exactly where decoding fails, with the same
       * message, and finds the same attachments as the tree shows. */
      g_assert_cmpint (sound, ==, part != NULL);
      g_assert_true ((check_error == NULL) == sound);
      if (error != NULL)
        g_assert_cmpstr (check_error->message, ==, error->message);
      if (part != NULL)
        {
          check_part (part, part);
          g_assert_cmpint (attachment, ==, has_attachment_disposition (part));
        }
    }

  if (response->kind == TERN_IMAP_RESPONSE_UNTAGGED &&
      (g_strcmp0 (response->name, "LIST") == 0 || g_strcmp0 (response->name, "LSUB") == 0) &&
      response->data->items->len == 3)
    check_mailbox_name (g_ptr_array_index (response->data->items, 2));
}

/* Feeds @stream in the given pieces, checks and prints what comes out. */
static char *
run (const guint8 *stream,
     gsize         len,
     const guint8 *sizes,
     guint         n_sizes,
     gboolean      check)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  GString *out = g_string_new (NULL);
  gboolean ok = TRUE;
  gsize done = 0;
  guint turn = 0;

  tern_imap_parser_set_max_literal (parser, FUZZ_MAX_LITERAL);
  tern_imap_parser_set_max_response (parser, FUZZ_MAX_RESPONSE);

  while (ok && done < len)
    {
      gsize n = n_sizes > 0 ? (gsize) sizes[turn++ % n_sizes] + 1 : len;

      n = MIN (n, len - done);
      ok = tern_imap_parser_feed (parser, stream + done, n, &error);
      done += n;

      for (TernImapResponse *r; (r = tern_imap_parser_pop (parser)) != NULL;)
        {
          g_autofree char *printed = tern_imap_response_to_string (r);

          g_string_append_printf (out, "%s\n", printed);
          if (check)
            check_response (r);
          tern_imap_response_unref (r);
        }
    }
  if (ok)
    ok = tern_imap_parser_end (parser, &error);
  if (!ok)
    {
      g_assert_true (tern_imap_parser_has_failed (parser));
      g_string_append_printf (out, "ERROR %d %s\n", error->code, error->message);
    }
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static gboolean initialized = FALSE;
  g_autofree char *pieces = NULL;
  g_autofree char *whole = NULL;
  guint n_sizes;

  if (!initialized)
    {
      tern_engine_init ();
      initialized = TRUE;
    }

  if (size < 1)
    return 0;
  n_sizes = (data[0] & 7) + 1;
  if (size < 1 + n_sizes)
    return 0;

  pieces = run (data + 1 + n_sizes, size - 1 - n_sizes, data + 1, n_sizes, TRUE);
  whole = run (data + 1 + n_sizes, size - 1 - n_sizes, NULL, 0, FALSE);
  g_assert_cmpstr (pieces, ==, whole);
  return 0;
}
