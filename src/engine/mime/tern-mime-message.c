/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-engine.h"
#include "tern-mime-message.h"
#include "tern-mime-private.h"

/*
 * TernMimeMessage holds the facts the store indexes about one message: its
 * identity and threading headers, its addresses, the text search reads, a
 * preview, and its attachments.  Parsing builds it in one go from the raw
 * bytes and keeps nothing of GMime afterwards, so a parsed message is cheap
 * to keep and safe to hand between threads (it never changes after
 * tern_mime_message_parse() returns).
 *
 * The work is bounded before GMime sees the bytes (tern-mime-guard.c) and
 * again while the tree is walked (tern-mime-body.c) and the headers read
 * (tern-mime-headers.c), so that hostile mail costs time and memory in
 * proportion to its size, never more, and never crashes.
 */

G_DEFINE_FLAGS_TYPE (TernMimeProblems, tern_mime_problems,
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_NONE, "none"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_EMPTY, "empty"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_NO_HEADERS, "no-headers"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_TRUNCATED_DEPTH, "truncated-depth"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_TOO_MANY_PARTS, "too-many-parts"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_BAD_CHARSET, "bad-charset"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_RAW_8BIT_HEADERS, "raw-8bit-headers"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_BAD_ENCODING, "bad-encoding"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_MALFORMED, "malformed"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_TRUNCATED_HEADERS, "truncated-headers"),
  G_DEFINE_ENUM_VALUE (TERN_MIME_PROBLEM_TRUNCATED_TEXT, "truncated-text"))

/* TernAddress */

G_DEFINE_BOXED_TYPE (TernAddress, tern_address, tern_address_copy, tern_address_free)

/**
 * tern_address_new:
 * @name: (nullable): a display name
 * @address: an address
 *
 * Returns: (transfer full): a new #TernAddress holding copies of both.
 */
TernAddress *
tern_address_new (const char *name,
                  const char *address)
{
  TernAddress *self = g_new0 (TernAddress, 1);

  self->name = g_strdup (name);
  self->address = g_strdup (address);

  return self;
}

/**
 * tern_address_copy:
 * @self: a #TernAddress
 *
 * Returns: (transfer full): a copy of @self.
 */
TernAddress *
tern_address_copy (const TernAddress *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return tern_address_new (self->name, self->address);
}

void
tern_address_free (TernAddress *self)
{
  if (self == NULL)
    return;

  g_free (self->name);
  g_free (self->address);
  g_free (self);
}

/* TernAttachmentInfo */

G_DEFINE_BOXED_TYPE (TernAttachmentInfo, tern_attachment_info,
                     tern_attachment_info_copy, tern_attachment_info_free)

/**
 * tern_attachment_info_copy:
 * @self: a #TernAttachmentInfo
 *
 * Returns: (transfer full): a copy of @self.
 */
TernAttachmentInfo *
tern_attachment_info_copy (const TernAttachmentInfo *self)
{
  TernAttachmentInfo *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_new0 (TernAttachmentInfo, 1);
  copy->filename = g_strdup (self->filename);
  copy->mime_type = g_strdup (self->mime_type);
  copy->size = self->size;
  copy->part_path = g_strdup (self->part_path);
  copy->content_id = g_strdup (self->content_id);
  copy->is_inline = self->is_inline;

  return copy;
}

void
tern_attachment_info_free (TernAttachmentInfo *self)
{
  if (self == NULL)
    return;

  g_free (self->filename);
  g_free (self->mime_type);
  g_free (self->part_path);
  g_free (self->content_id);
  g_free (self);
}

/* TernMimeMessage */

G_DEFINE_BOXED_TYPE (TernMimeMessage, tern_mime_message,
                     tern_mime_message_ref, tern_mime_message_unref)

static void
tern_mime_message_clear (gpointer data)
{
  TernMimeMessage *self = data;

  g_free (self->message_id);
  g_free (self->in_reply_to);
  g_strfreev (self->references);
  g_free (self->subject);
  g_ptr_array_unref (self->from);
  g_ptr_array_unref (self->to);
  g_ptr_array_unref (self->cc);
  g_ptr_array_unref (self->bcc);
  g_ptr_array_unref (self->reply_to);
  g_ptr_array_unref (self->sender);
  g_strfreev (self->delivered_to);
  g_free (self->body_text);
  g_free (self->preview);
  g_ptr_array_unref (self->attachments);
}

static GPtrArray *
address_array_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
}

static TernMimeMessage *
tern_mime_message_new (void)
{
  TernMimeMessage *self = g_atomic_rc_box_new0 (TernMimeMessage);

  self->references = g_new0 (char *, 1);
  self->subject = g_strdup ("");
  self->from = address_array_new ();
  self->to = address_array_new ();
  self->cc = address_array_new ();
  self->bcc = address_array_new ();
  self->reply_to = address_array_new ();
  self->sender = address_array_new ();
  self->delivered_to = g_new0 (char *, 1);
  self->body_text = g_strdup ("");
  self->preview = g_strdup ("");
  self->attachments =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tern_attachment_info_free);

  return self;
}

/**
 * tern_mime_message_ref:
 * @self: a #TernMimeMessage
 *
 * Any thread may take and drop references.
 *
 * Returns: (transfer full): @self
 */
TernMimeMessage *
tern_mime_message_ref (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

/**
 * tern_mime_message_unref:
 * @self: (transfer full): a #TernMimeMessage
 *
 * Drops a reference; the last one frees the message.
 */
void
tern_mime_message_unref (TernMimeMessage *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, tern_mime_message_clear);
}

/* Ingestion */

static void
parser_warning_cb (gint64              offset,
                   GMimeParserWarning  code,
                   const char         *item,
                   gpointer            user_data)
{
  TernMimeIngest *ingest = user_data;

  switch (code)
    {
    case GMIME_WARN_INVALID_CONTENT_TYPE:
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_WARN_TRUNCATED_MESSAGE:
    case GMIME_WARN_MALFORMED_MESSAGE:
    case GMIME_CRIT_INVALID_HEADER_NAME:
    case GMIME_CRIT_CONFLICTING_HEADER:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_WARN_PART_WITHOUT_CONTENT:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      ingest->self->problems |= TERN_MIME_PROBLEM_MALFORMED;
      break;

    case GMIME_CRIT_NESTING_OVERFLOW:
      ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_DEPTH;
      break;

    /* Common in ordinary mail, or checked where Tern reads the header. */
    case GMIME_WARN_DUPLICATED_HEADER:
    case GMIME_WARN_DUPLICATED_PARAMETER:
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
    case GMIME_CRIT_CONFLICTING_PARAMETER:
    case GMIME_WARN_INVALID_PARAMETER:
    case GMIME_WARN_INVALID_ADDRESS_LIST:
    default:
      break;
    }
}

/**
 * tern_mime_parser_options_new:
 * @extra_charset: (nullable): a charset to try first for raw 8-bit headers
 *
 * Returns: (transfer full): parser options for mail, free them with
 *   g_mime_parser_options_free().
 */
GMimeParserOptions *
tern_mime_parser_options_new (const char *extra_charset)
{
  GMimeParserOptions *options = g_mime_parser_options_new ();
  const char *charsets[] = { "utf-8", "windows-1252", "iso-8859-1", NULL, NULL };

  if (extra_charset != NULL)
    {
      /* A charset named in the body is the best guess for raw 8-bit headers. */
      charsets[1] = extra_charset;
      charsets[2] = "windows-1252";
      charsets[3] = "iso-8859-1";
    }

  g_mime_parser_options_set_fallback_charsets (options, charsets);
  return options;
}

/* Takes bytes GMime could not read as a message as plain text. */
static void
ingest_as_text (TernMimeIngest *ingest,
                const guint8   *data,
                gsize           length)
{
  gboolean bad_charset = FALSE;
  g_autoptr(GString) text = NULL;

  if (length > TERN_MIME_MAX_PART_DECODE)
    {
      length = TERN_MIME_MAX_PART_DECODE;
      ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;
    }

  text = tern_mime_text_to_utf8 ((const char *) data, length, NULL, &bad_charset);
  tern_mime_text_tidy (text);

  if (text->len > TERN_MIME_MAX_BODY_TEXT)
    {
      ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;
      g_string_truncate (text, tern_mime_utf8_truncate_len (text->str, text->len,
                                                            TERN_MIME_MAX_BODY_TEXT));
    }

  g_string_append_len (ingest->body, text->str, text->len);
}

static gboolean
has_any_header (GMimeMessage *message)
{
  GMimeObject *body = g_mime_message_get_mime_part (message);

  if (g_mime_header_list_get_count (g_mime_object_get_header_list (GMIME_OBJECT (message))) > 0)
    return TRUE;

  return body != NULL && g_mime_header_list_get_count (g_mime_object_get_header_list (body)) > 0;
}

/*
 * One GMimeParser per thread, used for one message after another: a new
 * parser costs an object and a read-ahead buffer of several kilobytes,
 * which showed as a large share of parsing a header section.  Between
 * messages it reads an empty stream, so that it holds no message's bytes.
 */
typedef struct
{
  GMimeParser *parser;
  GMimeStream *empty;
} ThreadParser;

static void
thread_parser_free (gpointer data)
{
  ThreadParser *cached = data;

  g_clear_object (&cached->parser);
  g_clear_object (&cached->empty);
  g_free (cached);
}

static GPrivate thread_parser = G_PRIVATE_INIT (thread_parser_free);

static GMimeParser *
thread_parser_take (GMimeStream *stream)
{
  ThreadParser *cached = g_private_get (&thread_parser);

  if (cached == NULL)
    {
      cached = g_new0 (ThreadParser, 1);
      cached->parser = g_mime_parser_new ();
      cached->empty = g_mime_stream_mem_new ();
      g_private_set (&thread_parser, cached);
    }
  else if (cached->parser == NULL)
    {
      /* Taken already, by a parse further up this thread's stack. */
      return g_mime_parser_new_with_stream (stream);
    }

  g_mime_parser_init_with_stream (cached->parser, stream);
  return g_steal_pointer (&cached->parser);
}

static void
thread_parser_give_back (GMimeParser *parser)
{
  ThreadParser *cached = g_private_get (&thread_parser);

  if (cached == NULL || cached->parser != NULL)
    {
      g_object_unref (parser);
      return;
    }

  g_mime_parser_init_with_stream (parser, cached->empty);
  cached->parser = parser;
}

/* Reads @data with GMime's parser, after the guard has bounded it. */
static void
ingest_with_gmime (TernMimeIngest *ingest,
                   const guint8   *data,
                   gsize           length)
{
  static const TernMimeGuardLimits limits = {
    TERN_MIME_MAX_FIELD_BYTES, TERN_MIME_MAX_DEPTH, TERN_MIME_MAX_PARTS,
  };
  TernMimeMessage *self = ingest->self;
  GMimeParser *parser = NULL;
  GMimeStream *stream = NULL;
  GMimeMessage *message = NULL;
  GByteArray *bytes;
  GMimeObject *body;

  ingest->options = tern_mime_parser_options_new (NULL);
  g_mime_parser_options_set_warning_callback (ingest->options, parser_warning_cb, ingest);

  bytes = tern_mime_guard_prepare (data, length, &limits, &self->problems);
  stream = g_mime_stream_mem_new_with_byte_array (bytes);
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), TRUE);
  parser = thread_parser_take (stream);
  message = g_mime_parser_construct_message (parser, ingest->options);

  if (message == NULL)
    {
      self->problems |= TERN_MIME_PROBLEM_NO_HEADERS;
      ingest_as_text (ingest, data, length);
    }
  else
    {
      if (!has_any_header (message))
        self->problems |= TERN_MIME_PROBLEM_NO_HEADERS;

      /* The body first: its charset is the best guess for raw 8-bit headers. */
      if ((body = g_mime_message_get_mime_part (message)) != NULL)
        tern_mime_ingest_body (ingest, body);

      tern_mime_ingest_headers (ingest, message);
    }

  /* GMime objects may call the warning callback until they are gone. */
  g_clear_object (&message);
  thread_parser_give_back (g_steal_pointer (&parser));
  g_clear_object (&stream);
  g_clear_pointer (&ingest->options, g_mime_parser_options_free);
}

static TernMimeMessage *
parse (const guint8 *data,
       gsize         length,
       gboolean      plain_allowed)
{
  static gsize converters_kept;
  TernMimeMessage *self = tern_mime_message_new ();
  TernMimeIngest ingest = { 0 };

  if (data == NULL || length == 0)
    {
      self->problems |= TERN_MIME_PROBLEM_EMPTY | TERN_MIME_PROBLEM_NO_HEADERS;
      return self;
    }

  tern_engine_init ();

  if (g_once_init_enter (&converters_kept))
    {
      /* The charsets GMime falls back to for raw 8-bit headers. */
      tern_mime_text_keep_converter ("windows-1252");
      tern_mime_text_keep_converter ("iso-8859-1");
      g_once_init_leave (&converters_kept, 1);
    }

  ingest.self = self;
  ingest.body = g_string_new (NULL);
  ingest.embedded = g_string_new (NULL);

  if (!plain_allowed || !tern_mime_ingest_plain_message (&ingest, data, length))
    ingest_with_gmime (&ingest, data, length);

  /* The preview comes from the message's own words when it has any. */
  g_free (self->preview);
  self->preview = tern_mime_text_make_preview (ingest.body->len > 0 ? ingest.body->str
                                                                    : ingest.embedded->str,
                                               TERN_MIME_PREVIEW_CHARS);

  if (ingest.embedded->len > 0)
    {
      if (ingest.body->len > 0)
        g_string_append (ingest.body, "\n\n");
      g_string_append_len (ingest.body, ingest.embedded->str, ingest.embedded->len);
    }
  g_string_free (ingest.embedded, TRUE);

  /* Joining the two may pass the bound by the line ends between them. */
  if (ingest.body->len > TERN_MIME_MAX_BODY_TEXT)
    {
      self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;
      g_string_truncate (ingest.body, tern_mime_utf8_truncate_len (ingest.body->str, ingest.body->len,
                                                                  TERN_MIME_MAX_BODY_TEXT));
    }

  g_free (self->body_text);
  self->body_text = g_string_free (g_steal_pointer (&ingest.body), FALSE);
  g_free (ingest.body_charset);

  return self;
}

/**
 * tern_mime_message_parse:
 * @data: (array length=length) (nullable): a raw message, as RFC 5322 and
 *   MIME describe it, with CRLF or LF line ends
 * @length: its length in bytes
 *
 * Reads what the store needs from a message.  Any bytes at all give a
 * result: what cannot be read is left out and noted in
 * tern_mime_message_get_problems().  Safe to call from any thread; it calls
 * tern_engine_init() itself.  Time and memory grow linearly with @length.
 *
 * A message of one plain text part is read without GMime's parser
 * (tern-mime-headers.c says which); the facts are the same.
 *
 * Returns: (transfer full): the facts of the message, never %NULL.
 */
TernMimeMessage *
tern_mime_message_parse (const guint8 *data,
                         gsize         length)
{
  return parse (data, length, TRUE);
}

/**
 * tern_mime_message_parse_with_gmime:
 *
 * As tern_mime_message_parse(), always through GMime's parser: what the
 * plain paths are compared with.
 *
 * Returns: (transfer full): the facts of the message, never %NULL.
 */
TernMimeMessage *
tern_mime_message_parse_with_gmime (const guint8 *data,
                                    gsize         length)
{
  return parse (data, length, FALSE);
}

/**
 * tern_mime_message_parse_header_section:
 * @data: (array length=length) (nullable): a message's header section
 *   alone, as IMAP's BODY[HEADER] or BODY[HEADER.FIELDS (...)] gives it
 * @length: its length in bytes
 *
 * The same facts as tern_mime_message_parse() gives for @data, found
 * faster for the plain sections a header sync fetches by the thousand
 * (7-bit, well formed, the usual fields once each); any other section is
 * given to tern_mime_message_parse().  Safe to call from any thread.
 *
 * Returns: (transfer full): the facts of the message, never %NULL.
 */
TernMimeMessage *
tern_mime_message_parse_header_section (const guint8 *data,
                                        gsize         length)
{
  TernMimeMessage *self;
  TernMimeIngest ingest = { 0 };

  tern_engine_init ();

  self = tern_mime_message_new ();
  ingest.self = self;
  if (!tern_mime_ingest_plain_header (&ingest, data, length))
    {
      tern_mime_message_unref (self);
      return tern_mime_message_parse (data, length);
    }

  return self;
}

/**
 * tern_mime_message_get_message_id:
 * @self: a #TernMimeMessage
 *
 * Returns: (nullable): the Message-ID without angle brackets, or %NULL.
 */
const char *
tern_mime_message_get_message_id (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->message_id;
}

/**
 * tern_mime_message_get_in_reply_to:
 * @self: a #TernMimeMessage
 *
 * Returns: (nullable): the first message-ID of In-Reply-To, or %NULL.
 */
const char *
tern_mime_message_get_in_reply_to (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->in_reply_to;
}

/**
 * tern_mime_message_get_references:
 * @self: a #TernMimeMessage
 *
 * The message-IDs of References in their order, each once.  Past
 * %TERN_MIME_MAX_REFERENCES, the first (the thread's root) and the last
 * ones (the nearest ancestors) are kept.
 *
 * Returns: (transfer none) (array zero-terminated=1): the IDs, maybe none.
 */
const char * const *
tern_mime_message_get_references (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char * const *) self->references;
}

/**
 * tern_mime_message_get_subject:
 * @self: a #TernMimeMessage
 *
 * Returns: the decoded subject on one line, "" when there is none.
 */
const char *
tern_mime_message_get_subject (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->subject;
}

/**
 * tern_mime_message_get_from:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAddress): the From mailboxes.
 */
GPtrArray *
tern_mime_message_get_from (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->from;
}

/**
 * tern_mime_message_get_to:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAddress): the To mailboxes.
 */
GPtrArray *
tern_mime_message_get_to (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->to;
}

/**
 * tern_mime_message_get_cc:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAddress): the Cc mailboxes.
 */
GPtrArray *
tern_mime_message_get_cc (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->cc;
}

/**
 * tern_mime_message_get_bcc:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAddress): the Bcc mailboxes.
 */
GPtrArray *
tern_mime_message_get_bcc (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->bcc;
}

/**
 * tern_mime_message_get_reply_to:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAddress): the Reply-To mailboxes.
 */
GPtrArray *
tern_mime_message_get_reply_to (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->reply_to;
}

/**
 * tern_mime_message_get_sender:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAddress): the Sender mailbox.
 */
GPtrArray *
tern_mime_message_get_sender (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->sender;
}

/**
 * tern_mime_message_get_delivered_to:
 * @self: a #TernMimeMessage
 *
 * The addresses the message was delivered to, to pick the identity a reply
 * is sent from: those of Delivered-To in header order (the last hop
 * first), then those of X-Original-To, each once, domains lower-cased.
 *
 * Returns: (transfer none) (array zero-terminated=1): the addresses, maybe none.
 */
const char * const *
tern_mime_message_get_delivered_to (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return (const char * const *) self->delivered_to;
}

/**
 * tern_mime_message_get_date:
 * @self: a #TernMimeMessage
 *
 * Returns: the Date header as seconds since 1970 (UTC), or 0 when it is
 *   missing or cannot be read.
 */
gint64
tern_mime_message_get_date (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->date;
}

/**
 * tern_mime_message_get_body_text:
 * @self: a #TernMimeMessage
 *
 * The text search indexes: the plain text parts, or the text of the HTML
 * parts where there is no plain alternative, in the order they appear,
 * attached messages included, at most %TERN_MIME_MAX_BODY_TEXT bytes.
 *
 * Returns: valid UTF-8 with "\n" line ends, maybe "".
 */
const char *
tern_mime_message_get_body_text (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->body_text;
}

/**
 * tern_mime_message_get_preview:
 * @self: a #TernMimeMessage
 *
 * Returns: up to %TERN_MIME_PREVIEW_CHARS characters of new text on one
 *   line, quotes and signature left out when possible; maybe "".
 */
const char *
tern_mime_message_get_preview (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->preview;
}

/**
 * tern_mime_message_is_html:
 * @self: a #TernMimeMessage
 *
 * Returns: %TRUE when the body to show is HTML (an HTML-only message, or
 *   an alternative that offers HTML).
 */
gboolean
tern_mime_message_is_html (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->is_html;
}

/**
 * tern_mime_message_has_attachments:
 * @self: a #TernMimeMessage
 *
 * Returns: %TRUE when an attachment is not shown inside the body, which is
 *   when a message list shows a paper clip.
 */
gboolean
tern_mime_message_has_attachments (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->has_attachments;
}

/**
 * tern_mime_message_get_attachments:
 * @self: a #TernMimeMessage
 *
 * Returns: (transfer none) (element-type TernAttachmentInfo): the
 *   attachments in the order of the message, inline parts included.
 */
GPtrArray *
tern_mime_message_get_attachments (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->attachments;
}

/**
 * tern_mime_message_get_problems:
 * @self: a #TernMimeMessage
 *
 * Returns: what went wrong while reading the message.
 */
TernMimeProblems
tern_mime_message_get_problems (TernMimeMessage *self)
{
  g_return_val_if_fail (self != NULL, TERN_MIME_PROBLEM_NONE);
  return self->problems;
}
