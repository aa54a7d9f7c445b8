/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-mime-flowed.h"
#include "tern-mime-private.h"

/*
 * The body of a message: the walk over its MIME tree that gathers the text
 * search indexes and lists the attachments.  The walk is bounded in depth
 * and in parts (TERN_MIME_MAX_DEPTH, TERN_MIME_MAX_PARTS) whatever GMime
 * built, reads part contents in place from the parsed copy, and decodes at
 * most TERN_MIME_MAX_PART_DECODE bytes of any text part.
 */

/* Decoding works through base64 and quoted-printable in slices this big. */
#define DECODE_CHUNK (64 * 1024)

/* Bytes of a part's content as stored, without copying when possible. */
typedef struct
{
  const guint8         *data;
  gsize                 length;
  GMimeContentEncoding  encoding;
  GBytes               *copy;
} RawContent;

static gboolean
raw_content_get (GMimePart  *part,
                 RawContent *raw)
{
  GMimeDataWrapper *wrapper = g_mime_part_get_content (part);
  GMimeStream *stream;

  memset (raw, 0, sizeof *raw);

  if (wrapper == NULL || (stream = g_mime_data_wrapper_get_stream (wrapper)) == NULL)
    return FALSE;

  raw->encoding = g_mime_data_wrapper_get_encoding (wrapper);

  if (GMIME_IS_STREAM_MEM (stream) && GMIME_STREAM_MEM (stream)->buffer != NULL)
    {
      GByteArray *buffer = GMIME_STREAM_MEM (stream)->buffer;
      gint64 start = CLAMP (stream->bound_start, 0, (gint64) buffer->len);
      gint64 end = stream->bound_end < 0 ? (gint64) buffer->len
                                         : CLAMP (stream->bound_end, start, (gint64) buffer->len);

      raw->data = buffer->data + start;
      raw->length = end - start;
      return TRUE;
    }
  else
    {
      /* Not expected with a memory stream under the parser; read a bounded copy. */
      GByteArray *bytes = g_byte_array_new ();
      guint8 chunk[4096];
      gssize n;

      g_mime_stream_reset (stream);
      while (bytes->len < TERN_MIME_MAX_PART_DECODE &&
             (n = g_mime_stream_read (stream, (char *) chunk, sizeof chunk)) > 0)
        g_byte_array_append (bytes, chunk, n);

      raw->copy = g_byte_array_free_to_bytes (bytes);
      raw->data = g_bytes_get_data (raw->copy, &raw->length);
      return TRUE;
    }
}

static void
raw_content_clear (RawContent *raw)
{
  g_clear_pointer (&raw->copy, g_bytes_unref);
}

static gboolean
is_base64_char (guint8 c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/' || c == '=';
}

/* Whether encoded content breaks the rules of its encoding. */
static gboolean
encoding_is_broken (const guint8         *data,
                    gsize                 length,
                    GMimeContentEncoding  encoding)
{
  if (encoding == GMIME_CONTENT_ENCODING_BASE64)
    {
      for (gsize i = 0; i < length; i++)
        if (!is_base64_char (data[i]) && !g_ascii_isspace (data[i]))
          return TRUE;
    }
  else if (encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
    {
      const guint8 *p = data;
      const guint8 *end = data + length;

      while (p < end && (p = memchr (p, '=', end - p)) != NULL)
        {
          const guint8 *q = p + 1;

          if (q + 1 < end && g_ascii_isxdigit (q[0]) && g_ascii_isxdigit (q[1]))
            {
              p = q + 2;
              continue;
            }

          /* A soft line break may have spaces before its newline. */
          while (q < end && (*q == ' ' || *q == '\t'))
            q++;
          if (q < end && *q != '\r' && *q != '\n')
            return TRUE;

          p = q;
        }
    }

  return FALSE;
}

/* Decodes the transfer encoding; stops after about @max_bytes of output. */
static GByteArray *
decode_content (const RawContent *raw,
                gsize             max_bytes,
                gboolean         *cut)
{
  GByteArray *out = g_byte_array_new ();
  GMimeEncoding state;
  gsize pos = 0;

  switch (raw->encoding)
    {
    case GMIME_CONTENT_ENCODING_BASE64:
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
    case GMIME_CONTENT_ENCODING_UUENCODE:
      g_mime_encoding_init_decode (&state, raw->encoding);

      while (pos < raw->length && out->len < max_bytes)
        {
          gsize n = MIN (DECODE_CHUNK, raw->length - pos);
          guint old_len = out->len;
          gsize written;

          g_byte_array_set_size (out, old_len + g_mime_encoding_outlen (&state, n));
          written = g_mime_encoding_step (&state, (const char *) raw->data + pos, n,
                                          (char *) out->data + old_len);
          g_byte_array_set_size (out, old_len + written);
          pos += n;
        }

      if (pos >= raw->length)
        {
          guint old_len = out->len;
          gsize written;

          g_byte_array_set_size (out, old_len + g_mime_encoding_outlen (&state, 0) + 16);
          written = g_mime_encoding_flush (&state, NULL, 0, (char *) out->data + old_len);
          g_byte_array_set_size (out, old_len + written);
        }
      break;

    case GMIME_CONTENT_ENCODING_DEFAULT:
    case GMIME_CONTENT_ENCODING_7BIT:
    case GMIME_CONTENT_ENCODING_8BIT:
    case GMIME_CONTENT_ENCODING_BINARY:
    default:
      pos = MIN (raw->length, max_bytes);
      g_byte_array_append (out, raw->data, pos);
      break;
    }

  *cut = pos < raw->length || out->len > max_bytes;
  if (out->len > max_bytes)
    g_byte_array_set_size (out, max_bytes);

  return out;
}

/* The size of a part once decoded: exact for clean base64, else an estimate. */
static gint64
decoded_size (const RawContent *raw)
{
  const guint8 *p = raw->data;
  const guint8 *end = raw->data + raw->length;
  gsize breaks = 0;
  gsize padding = 0;
  gsize escapes = 0;
  gsize n;

  switch (raw->encoding)
    {
    case GMIME_CONTENT_ENCODING_BASE64:
      while (p < end && (p = memchr (p, '\n', end - p)) != NULL)
        {
          breaks++;
          if (p > raw->data && p[-1] == '\r')
            breaks++;
          p++;
        }
      for (n = raw->length; n > 0 && (g_ascii_isspace (raw->data[n - 1]) || raw->data[n - 1] == '='); n--)
        if (raw->data[n - 1] == '=')
          padding++;
      n = raw->length - MIN (raw->length, breaks + padding);
      return (gint64) (n * 3 / 4);

    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
      while (p < end && (p = memchr (p, '=', end - p)) != NULL)
        {
          escapes++;
          p++;
        }
      return (gint64) (raw->length - MIN (raw->length, escapes * 2));

    case GMIME_CONTENT_ENCODING_UUENCODE:
      return (gint64) (raw->length * 3 / 4);

    case GMIME_CONTENT_ENCODING_DEFAULT:
    case GMIME_CONTENT_ENCODING_7BIT:
    case GMIME_CONTENT_ENCODING_8BIT:
    case GMIME_CONTENT_ENCODING_BINARY:
    default:
      return (gint64) raw->length;
    }
}

static gboolean
type_is (GMimeObject *object,
         const char  *type,
         const char  *subtype)
{
  GMimeContentType *content_type = g_mime_object_get_content_type (object);

  return content_type != NULL && g_mime_content_type_is_type (content_type, type, subtype);
}

/* format=flowed text (RFC 3676), and its DelSp=yes. */
gboolean
tern_mime_part_is_flowed (GMimePart *part)
{
  const char *format = g_mime_object_get_content_type_parameter (GMIME_OBJECT (part), "format");

  return format != NULL && g_ascii_strcasecmp (format, "flowed") == 0;
}

gboolean
tern_mime_part_deletes_space (GMimePart *part)
{
  const char *delsp = g_mime_object_get_content_type_parameter (GMIME_OBJECT (part), "delsp");

  return delsp != NULL && g_ascii_strcasecmp (delsp, "yes") == 0;
}

/* How a text part's words are written. */
typedef enum
{
  TEXT_PLAIN,
  TEXT_FLOWED,
  TEXT_FLOWED_DELSP,
  TEXT_HTML,
} TextForm;

/* Appends the text of a text part, its content as stored in @raw, to the
 * body text. */
static void
append_text (TernMimeIngest   *ingest,
             const RawContent *raw,
             const char       *charset,
             TextForm          form,
             gboolean          embedded)
{
  TernMimeMessage *self = ingest->self;
  g_autoptr(GByteArray) decoded = NULL;
  g_autoptr(GString) text = NULL;
  g_autoptr(GString) plain = NULL;
  g_autofree char *sniffed = NULL;
  GString *target;
  gsize separator;
  gsize total;
  gboolean bad_charset = FALSE;
  gboolean cut = FALSE;
  gsize room;

  if (ingest->body->len + ingest->embedded->len >= TERN_MIME_MAX_BODY_TEXT)
    {
      if (raw->length > 0)
        self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;
      return;
    }

  decoded = decode_content (raw, TERN_MIME_MAX_PART_DECODE, &cut);
  if (encoding_is_broken (raw->data, MIN (raw->length, (gsize) TERN_MIME_MAX_PART_DECODE * 2), raw->encoding))
    self->problems |= TERN_MIME_PROBLEM_BAD_ENCODING;
  if (cut)
    self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;

  if (decoded->len == 0)
    return;

  if (charset == NULL && form == TEXT_HTML)
    charset = sniffed = tern_mime_html_sniff_charset ((const char *) decoded->data, decoded->len);

  if (charset != NULL && !embedded && ingest->body_charset == NULL)
    ingest->body_charset = g_strdup (charset);

  text = tern_mime_text_to_utf8 ((const char *) decoded->data, decoded->len, charset, &bad_charset);
  if (bad_charset)
    self->problems |= TERN_MIME_PROBLEM_BAD_CHARSET;

  room = TERN_MIME_MAX_BODY_TEXT - (ingest->body->len + ingest->embedded->len);

  if (form == TEXT_HTML)
    {
      plain = g_string_sized_new (MIN (text->len, room) + 16);
      tern_mime_html_to_text (text->str, text->len, room + 1, plain);
    }
  else if (form == TEXT_FLOWED || form == TEXT_FLOWED_DELSP)
    {
      g_autofree char *joined = tern_mime_decode_flowed (text->str, form == TEXT_FLOWED_DELSP);

      plain = g_string_new (joined);
    }
  else
    {
      plain = g_steal_pointer (&text);
    }

  tern_mime_text_tidy (plain);

  /* Parts are joined by one empty line; their own edges are trimmed. */
  while (plain->len > 0 && g_ascii_isspace (plain->str[plain->len - 1]))
    g_string_truncate (plain, plain->len - 1);
  {
    gsize lead = 0;

    while (lead < plain->len && g_ascii_isspace (plain->str[lead]))
      lead++;
    g_string_erase (plain, 0, lead);
  }

  if (plain->len == 0)
    return;

  target = embedded ? ingest->embedded : ingest->body;
  separator = target->len > 0 ? 2 : 0;
  total = ingest->body->len + ingest->embedded->len;
  if (total + separator >= TERN_MIME_MAX_BODY_TEXT)
    {
      self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;
      return;
    }

  room = TERN_MIME_MAX_BODY_TEXT - total - separator;
  g_string_append_len (target, "\n\n", separator);

  if (plain->len > room)
    {
      self->problems |= TERN_MIME_PROBLEM_TRUNCATED_TEXT;
      g_string_append_len (target, plain->str,
                           tern_mime_utf8_truncate_len (plain->str, plain->len, room));
    }
  else
    {
      g_string_append_len (target, plain->str, plain->len);
    }
}

/* Appends the text of a text/plain or text/html part to the body text. */
static void
append_part_text (TernMimeIngest *ingest,
                  GMimePart      *part,
                  gboolean        html,
                  gboolean        embedded)
{
  const char *charset = g_mime_object_get_content_type_parameter (GMIME_OBJECT (part), "charset");
  TextForm form = TEXT_PLAIN;
  RawContent raw;

  if (!raw_content_get (part, &raw))
    return;

  if (html)
    form = TEXT_HTML;
  else if (tern_mime_part_is_flowed (part))
    form = tern_mime_part_deletes_space (part) ? TEXT_FLOWED_DELSP : TEXT_FLOWED;

  append_text (ingest, &raw, charset, form, embedded);
  raw_content_clear (&raw);
}

/* Removes folders from a file name, so that it can never point elsewhere. */
static char *
clean_filename (const char *filename)
{
  g_autofree char *clean = NULL;
  const char *base;

  if (filename == NULL)
    return NULL;

  clean = tern_mime_text_clean_line (filename, 255);
  base = strrchr (clean, '/');
  if (base == NULL || strrchr (clean, '\\') > base)
    base = strrchr (clean, '\\');
  base = base != NULL ? base + 1 : clean;

  while (*base == ' ')
    base++;

  if (*base == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    return NULL;

  return g_strdup (base);
}

/*
 * The size of an attached message as stored: from its first header to the
 * end of its last part.  GMime keeps no byte range for the whole message.
 */
static gint64
message_part_size (GMimeMessagePart *part)
{
  GMimeMessage *message = g_mime_message_part_get_message (part);
  GMimeObject *object;
  gint64 start = -1;
  gint64 end = -1;

  if (message == NULL)
    return 0;

  object = GMIME_OBJECT (message);
  for (guint i = 0; i < TERN_MIME_MAX_DEPTH && object != NULL; i++)
    {
      GMimeHeaderList *headers = g_mime_object_get_header_list (object);

      if (g_mime_header_list_get_count (headers) > 0)
        {
          gint64 offset = g_mime_header_get_offset (g_mime_header_list_get_header_at (headers, 0));

          if (offset >= 0 && (start < 0 || offset < start))
            start = offset;
        }

      if (GMIME_IS_MESSAGE (object))
        {
          object = g_mime_message_get_mime_part (GMIME_MESSAGE (object));
        }
      else if (GMIME_IS_MULTIPART (object))
        {
          int n = g_mime_multipart_get_count (GMIME_MULTIPART (object));

          object = n > 0 ? g_mime_multipart_get_part (GMIME_MULTIPART (object), n - 1) : NULL;
        }
      else if (GMIME_IS_MESSAGE_PART (object))
        {
          message = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));
          object = message != NULL ? GMIME_OBJECT (message) : NULL;
        }
      else
        {
          GMimeDataWrapper *wrapper = GMIME_IS_PART (object)
                                      ? g_mime_part_get_content (GMIME_PART (object)) : NULL;
          GMimeStream *stream = wrapper != NULL ? g_mime_data_wrapper_get_stream (wrapper) : NULL;

          if (stream != NULL)
            end = stream->bound_end;
          break;
        }
    }

  return start >= 0 && end > start ? end - start : 0;
}

static void
add_attachment (TernMimeIngest *ingest,
                GMimeObject    *object,
                const char     *path)
{
  GMimeContentType *content_type = g_mime_object_get_content_type (object);
  const char *disposition = g_mime_object_get_disposition (object);
  TernAttachmentInfo *info = g_new0 (TernAttachmentInfo, 1);
  g_autofree char *mime_type = NULL;

  mime_type = content_type != NULL ? g_mime_content_type_get_mime_type (content_type) : NULL;
  info->mime_type = mime_type != NULL ? tern_mime_text_clean_line (mime_type, 255)
                                      : g_strdup ("application/octet-stream");
  for (char *p = info->mime_type; *p != '\0'; p++)
    *p = g_ascii_tolower (*p);

  info->part_path = g_strdup (path);
  info->content_id = tern_mime_text_clean_token (g_mime_object_get_content_id (object));
  info->is_inline = info->content_id != NULL &&
                    (disposition == NULL || g_ascii_strcasecmp (disposition, "attachment") != 0);

  if (GMIME_IS_PART (object))
    {
      RawContent raw;

      info->filename = clean_filename (g_mime_part_get_filename (GMIME_PART (object)));
      if (raw_content_get (GMIME_PART (object), &raw))
        {
          info->size = decoded_size (&raw);
          raw_content_clear (&raw);
        }
    }
  else
    {
      /* An attached message: its name, if the part gives one. */
      const char *name = g_mime_object_get_content_disposition_parameter (object, "filename");

      info->size = message_part_size (GMIME_MESSAGE_PART (object));
      if (name == NULL)
        name = g_mime_object_get_content_type_parameter (object, "name");
      info->filename = clean_filename (name);
    }

  if (!info->is_inline)
    ingest->self->has_attachments = TRUE;

  g_ptr_array_add (ingest->self->attachments, info);
}

/*
 * An attached message is a file to open unless it is the body itself, a
 * message of a digest, or marked to be shown inline.
 */
static gboolean
shows_as_attachment (GMimeObject *object,
                     GMimeObject *parent)
{
  const char *disposition = g_mime_object_get_disposition (object);

  if (disposition != NULL)
    return g_ascii_strcasecmp (disposition, "inline") != 0;

  return parent != NULL && !type_is (parent, "multipart", "digest");
}

static char *
child_path (const char *prefix,
            int         index)
{
  return prefix[0] == '\0' ? g_strdup_printf ("%d", index + 1)
                           : g_strdup_printf ("%s.%d", prefix, index + 1);
}

static void walk (TernMimeIngest *ingest,
                  GMimeObject    *object,
                  GMimeObject    *parent,
                  const char     *path,
                  guint           depth,
                  gboolean        collect_text,
                  gboolean        embedded);

static void
decide_display (TernMimeIngest *ingest,
                gboolean        html,
                gboolean        collect_text,
                gboolean        embedded)
{
  if (ingest->display_decided || !collect_text || embedded)
    return;

  ingest->self->is_html = html;
  ingest->display_decided = TRUE;
}

/* Follows first parts down to a leaf, the way a viewer picks a body. */
static gboolean
leads_to (GMimeObject *object,
          const char  *subtype)
{
  for (guint i = 0; i < 8 && object != NULL; i++)
    {
      if (GMIME_IS_MULTIPART (object))
        {
          GMimeMultipart *multipart = GMIME_MULTIPART (object);

          object = g_mime_multipart_get_count (multipart) > 0
                   ? g_mime_multipart_get_part (multipart, 0) : NULL;
          continue;
        }

      return GMIME_IS_PART (object) && type_is (object, "text", subtype) &&
             !g_mime_part_is_attachment (GMIME_PART (object));
    }

  return FALSE;
}

static void
walk_multipart (TernMimeIngest *ingest,
                GMimeMultipart *multipart,
                const char     *prefix,
                guint           depth,
                gboolean        collect_text,
                gboolean        embedded)
{
  GMimeObject *object = GMIME_OBJECT (multipart);
  int n = g_mime_multipart_get_count (multipart);
  int text_index = -1;

  if (type_is (object, "multipart", "alternative"))
    {
      int plain_index = -1;
      int html_index = -1;

      /* Search reads the plain text when there is one; display prefers HTML. */
      for (int i = 0; i < n; i++)
        {
          GMimeObject *child = g_mime_multipart_get_part (multipart, i);

          if (leads_to (child, "plain"))
            plain_index = i;
          else if (leads_to (child, "html"))
            html_index = i;
        }

      text_index = plain_index >= 0 ? plain_index : html_index >= 0 ? html_index : n - 1;
      decide_display (ingest, html_index >= 0, collect_text, embedded);
    }
  else if (type_is (object, "multipart", "related") || type_is (object, "multipart", "signed"))
    {
      /* The first part is the content, the others support or sign it. */
      text_index = 0;
    }
  else if (type_is (object, "multipart", "encrypted"))
    {
      text_index = -1;
    }

  for (int i = 0; i < n; i++)
    {
      GMimeObject *child = g_mime_multipart_get_part (multipart, i);
      g_autofree char *path = child_path (prefix, i);
      gboolean child_text = collect_text && (text_index < 0 ? !type_is (object, "multipart", "encrypted")
                                                             : i == text_index);

      if (ingest->parts >= TERN_MIME_MAX_PARTS)
        {
          ingest->self->problems |= TERN_MIME_PROBLEM_TOO_MANY_PARTS;
          break;
        }

      walk (ingest, child, object, path, depth + 1, child_text, embedded);
    }
}

static gboolean
is_signature_part (GMimeObject *object,
                   GMimeObject *parent)
{
  if (parent != NULL && type_is (parent, "multipart", "signed"))
    return type_is (object, "application", "pgp-signature") ||
           type_is (object, "application", "pkcs7-signature") ||
           type_is (object, "application", "x-pkcs7-signature");

  if (parent != NULL && type_is (parent, "multipart", "encrypted"))
    return type_is (object, "application", "pgp-encrypted");

  return FALSE;
}

static void
walk_leaf (TernMimeIngest *ingest,
           GMimePart      *part,
           GMimeObject    *parent,
           const char     *path,
           gboolean        collect_text,
           gboolean        embedded)
{
  GMimeObject *object = GMIME_OBJECT (part);
  const char *disposition = g_mime_object_get_disposition (object);
  gboolean attachment = disposition != NULL && g_ascii_strcasecmp (disposition, "attachment") == 0;
  gboolean plain = type_is (object, "text", "plain");
  gboolean html = type_is (object, "text", "html");

  /* A named text part after the body is a file, not more body. */
  if ((plain || html) && !attachment &&
      !(ingest->have_body_part && g_mime_part_get_filename (part) != NULL))
    {
      if (collect_text)
        {
          decide_display (ingest, html, collect_text, embedded);
          append_part_text (ingest, part, html, embedded);
          if (!embedded)
            ingest->have_body_part = TRUE;
        }
      return;
    }

  if (embedded || is_signature_part (object, parent))
    return;

  add_attachment (ingest, object, path);
}

static void
walk (TernMimeIngest *ingest,
      GMimeObject    *object,
      GMimeObject    *parent,
      const char     *path,
      guint           depth,
      gboolean        collect_text,
      gboolean        embedded)
{
  if (ingest->parts >= TERN_MIME_MAX_PARTS)
    {
      ingest->self->problems |= TERN_MIME_PROBLEM_TOO_MANY_PARTS;
      return;
    }
  ingest->parts++;

  if (GMIME_IS_MULTIPART (object))
    {
      if (depth >= TERN_MIME_MAX_DEPTH)
        {
          ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_DEPTH;
          return;
        }

      walk_multipart (ingest, GMIME_MULTIPART (object), path, depth, collect_text, embedded);
    }
  else if (GMIME_IS_MESSAGE_PART (object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));
      GMimeObject *body = inner != NULL ? g_mime_message_get_mime_part (inner) : NULL;
      const char *leaf_path = path[0] != '\0' ? path : "1";

      if (!embedded && shows_as_attachment (object, parent))
        add_attachment (ingest, object, leaf_path);

      if (body == NULL)
        return;

      if (depth >= TERN_MIME_MAX_DEPTH)
        {
          ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_DEPTH;
          return;
        }

      /* Its text is searchable; its own attachments stay inside it. */
      if (GMIME_IS_MULTIPART (body))
        {
          walk (ingest, body, object, leaf_path, depth + 1, collect_text, TRUE);
        }
      else
        {
          g_autofree char *inner_path = g_strconcat (leaf_path, ".1", NULL);

          walk (ingest, body, object, inner_path, depth + 1, collect_text, TRUE);
        }
    }
  else if (GMIME_IS_PART (object))
    {
      walk_leaf (ingest, GMIME_PART (object), parent, path[0] != '\0' ? path : "1",
                 collect_text, embedded);
    }
}

/**
 * tern_mime_ingest_body:
 * @ingest: the ingestion under way
 * @body: the top MIME part of the message
 *
 * Gathers the body text and the attachments of @body into @ingest.
 */
void
tern_mime_ingest_body (TernMimeIngest *ingest,
                       GMimeObject    *body)
{
  walk (ingest, body, NULL, GMIME_IS_MULTIPART (body) ? "" : "1", 0, TRUE, FALSE);
}

/**
 * tern_mime_ingest_plain_text:
 * @ingest: the ingestion under way
 * @data: (array length=length): the content of the message's one part
 * @length: its length in bytes
 * @charset: (nullable): the charset its Content-Type names
 *
 * Gathers the body text of a message whose whole body is one text/plain
 * part, neither encoded (7bit, 8bit or binary) nor format=flowed nor an
 * attachment, exactly as tern_mime_ingest_body() gathers that part from
 * the tree GMime builds of it.
 */
void
tern_mime_ingest_plain_text (TernMimeIngest *ingest,
                             const guint8   *data,
                             gsize           length,
                             const char     *charset)
{
  RawContent raw = { data, length, GMIME_CONTENT_ENCODING_8BIT, NULL };

  ingest->parts++;
  decide_display (ingest, FALSE, TRUE, FALSE);
  append_text (ingest, &raw, charset, TEXT_PLAIN, FALSE);
  ingest->have_body_part = TRUE;
}
