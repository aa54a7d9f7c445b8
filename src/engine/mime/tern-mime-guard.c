/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-mime-private.h"

/*
 * The guard reads a raw message once, line by line, and makes the copy that
 * GMime parses.  It follows the MIME structure the way GMime's parser does
 * (a header block ends at an empty line or at a boundary line, a part ends
 * at a boundary line of any open multipart, an attached message starts with
 * a header block) and changes the copy only where hostile input would hurt:
 *
 *   - Nesting: at the header block of a container that would be nested
 *     deeper than the limit, the copy ends.  GMime then never builds a deep
 *     tree, and its per-line boundary checks stay cheap.
 *   - Part count: at the header block of the part past the limit, the copy
 *     ends, so that a few megabytes of empty parts cannot become gigabytes
 *     of objects.
 *   - Header fields: a field (with its folded lines) is cut to
 *     max_field_bytes, and fields past the per-block and per-message counts
 *     are dropped.  GMime copies some header tokens (the charset of an
 *     RFC 2047 word or of an RFC 2231 parameter) to the stack, so a token of
 *     a few megabytes would overflow it.
 *   - Address fields: colons past the 64th become spaces.  GMime's address
 *     parser recurses into groups, and "a:a:a:..." would recurse once per
 *     colon.  Past 32 address fields in one block, the rest are dropped.
 *
 * Because GMime parses exactly the copy, the guard's view and GMime's agree
 * wherever the guard decides from the same bytes with the same rules; the
 * fuzz target checks that no header GMime keeps is longer than the limit.
 * Everything is linear in the length of the message.
 */

#define MAX_ADDRESS_COLONS 64

/*
 * Address fields kept in one header block.  GMime builds an object for
 * every address it reads, so repeating a long To field thousands of times
 * would multiply memory; a message has each of them once.
 */
#define MAX_BLOCK_ADDRESS_FIELDS 32

typedef struct
{
  char    *boundary;      /* "--" and the boundary; NULL for an attached message */
  gsize    boundary_len;
  gboolean digest;        /* parts without a type default to message/rfc822 */
} Frame;

typedef enum
{
  FIELD_NONE,
  FIELD_KEEP,
  FIELD_TRUNCATED,
  FIELD_DROP,
} FieldState;

typedef enum
{
  CAPTURE_NONE,
  CAPTURE_CONTENT_TYPE,
  CAPTURE_ENCODING,
} Capture;

typedef struct
{
  const guint8              *data;
  gsize                      length;
  const TernMimeGuardLimits *limits;
  GByteArray                *out;
  gsize                      flushed;    /* the input before this offset is handled */
  GArray                    *frames;     /* Frame, outermost first */
  TernMimeProblems           problems;
  guint                      blocks;
  guint                      total_fields;
  gboolean                   stop;

  /* The header block being read. */
  gboolean                   in_headers;
  guint                      block_out_len;
  guint                      block_fields;
  guint                      block_address_fields;
  GString                   *content_type;
  gboolean                   have_content_type;
  GString                   *encoding;
  gboolean                   have_encoding;

  /* The header field being read. */
  FieldState                 field;
  gsize                      field_bytes;
  Capture                    capture;
  GString                    *captured;
  gboolean                   is_address;
  guint                      colons;
} Guard;

static void
frame_clear (gpointer data)
{
  Frame *frame = data;

  g_clear_pointer (&frame->boundary, g_free);
}

/* Copies the input from the flushed point up to @pos into the output. */
static void
copy_upto (Guard *g,
           gsize  pos)
{
  if (pos > g->flushed)
    {
      g_byte_array_append (g->out, g->data + g->flushed, pos - g->flushed);
      g->flushed = pos;
    }
}

/* Leaves the input from the flushed point up to @pos out of the output. */
static void
drop_upto (Guard *g,
           gsize  pos)
{
  g->flushed = MAX (g->flushed, pos);
}

static gboolean
is_lwsp (guint8 c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static gboolean
is_blank (guint8 c)
{
  return c == ' ' || c == '\t';
}

static gboolean
rest_is_lwsp (const guint8 *line,
              gsize         from,
              gsize         len)
{
  for (gsize i = from; i < len; i++)
    if (!is_lwsp (line[i]))
      return FALSE;

  return TRUE;
}

/*
 * Looks for the open multipart whose boundary @line (without its newline)
 * delimits or closes, innermost first, as GMime does.  Returns the index
 * of its frame, or -1 when the line is no boundary.
 */
static int
find_boundary (Guard        *g,
               const guint8 *line,
               gsize         len,
               gboolean     *is_end)
{
  if (len > 0 && line[len - 1] == '\r')
    len--;

  if (len < 2 || line[0] != '-' || line[1] != '-')
    return -1;

  for (guint i = g->frames->len; i > 0; i--)
    {
      const Frame *frame = &g_array_index (g->frames, Frame, i - 1);
      gsize n = frame->boundary_len;

      if (frame->boundary == NULL || len < n || memcmp (line, frame->boundary, n) != 0)
        continue;

      if (len >= n + 2 && line[n] == '-' && line[n + 1] == '-' && rest_is_lwsp (line, n + 2, len))
        {
          *is_end = TRUE;
          return (int) i - 1;
        }

      if (rest_is_lwsp (line, n, len))
        {
          *is_end = FALSE;
          return (int) i - 1;
        }
    }

  return -1;
}

static gboolean
is_boundary_line (Guard        *g,
                  const guint8 *line,
                  gsize         len)
{
  gboolean is_end;

  return find_boundary (g, line, len, &is_end) >= 0;
}

static void
stop_at_block (Guard            *g,
               TernMimeProblems  problem)
{
  g_byte_array_set_size (g->out, g->block_out_len);
  drop_upto (g, g->length);
  g->problems |= problem;
  g->stop = TRUE;
}

/* A header block (of a part, or of an attached message) starts at @pos. */
static void
start_header_block (Guard *g,
                    gsize  pos)
{
  copy_upto (g, pos);
  g->block_out_len = g->out->len;

  if (++g->blocks > g->limits->max_parts)
    {
      stop_at_block (g, TERN_MIME_PROBLEM_TOO_MANY_PARTS);
      return;
    }

  g->in_headers = TRUE;
  g->block_fields = 0;
  g->block_address_fields = 0;
  g->have_content_type = FALSE;
  g->have_encoding = FALSE;
  g->field = FIELD_NONE;
  g->capture = CAPTURE_NONE;
}

/* Handles a line that may be a boundary; returns FALSE when it is none. */
static gboolean
handle_boundary (Guard        *g,
                 const guint8 *line,
                 gsize         len,
                 gsize         next)
{
  gboolean is_end = FALSE;
  int index = find_boundary (g, line, len, &is_end);

  if (index < 0)
    return FALSE;

  /* Whatever was open inside the multipart that owns the boundary ends. */
  g_array_set_size (g->frames, is_end ? (guint) index : (guint) index + 1);

  if (is_end)
    g->in_headers = FALSE;
  else
    start_header_block (g, next);

  return TRUE;
}

static gboolean
name_is (const guint8 *name,
         gsize         len,
         const char   *expected)
{
  gsize n = strlen (expected);

  return len == n && g_ascii_strncasecmp ((const char *) name, expected, n) == 0;
}

static gboolean
is_address_field (const guint8 *name,
                  gsize         len)
{
  static const char * const names[] = {
    "from", "sender", "reply-to", "to", "cc", "bcc",
    "resent-from", "resent-sender", "resent-reply-to", "resent-to", "resent-cc", "resent-bcc",
    "delivered-to", "x-original-to",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (name_is (name, len, names[i]))
      return TRUE;

  return FALSE;
}

/*
 * Finds the field name the way GMime does: the bytes up to a colon, white
 * space only between the name and the colon, no control characters.
 * Returns the offset of the colon in the line, or -1 for a line that holds
 * no field.
 */
static gssize
field_name (const guint8 *line,
            gsize         len,
            gsize        *name_len)
{
  gboolean blank = FALSE;
  gsize i;

  for (i = 0; i < len && line[i] != ':'; i++)
    {
      if (is_blank (line[i]))
        blank = TRUE;
      else if (blank || line[i] < 0x20 || line[i] == 0x7f)
        return -1;
    }

  if (i == len)
    return -1;

  *name_len = i;
  while (*name_len > 0 && is_blank (line[*name_len - 1]))
    (*name_len)--;

  return (gssize) i;
}

/* Turns the colons of an address field past the allowed number into spaces. */
static void
limit_colons (Guard *g,
              gsize  start,
              gsize  end)
{
  const guint8 *p = g->data + start;
  const guint8 *stop = g->data + end;

  while (p < stop && (p = memchr (p, ':', stop - p)) != NULL)
    {
      if (++g->colons > MAX_ADDRESS_COLONS)
        {
          copy_upto (g, p - g->data);
          g_byte_array_append (g->out, (const guint8 *) " ", 1);
          drop_upto (g, p - g->data + 1);
          g->problems |= TERN_MIME_PROBLEM_MALFORMED;
        }
      p++;
    }
}

/*
 * Keeps what is allowed of one line of the current field: the value starts
 * at @value_start, [@start, @content_end) is the line without its newline
 * and [@content_end, @next) the newline.
 */
static void
keep_field_line (Guard *g,
                 gsize  value_start,
                 gsize  start,
                 gsize  content_end,
                 gsize  next)
{
  gsize kept_end = content_end;
  gsize room;

  if (g->field == FIELD_DROP || g->field == FIELD_TRUNCATED)
    {
      copy_upto (g, start);
      drop_upto (g, next);
      return;
    }

  room = g->limits->max_field_bytes - MIN (g->field_bytes, g->limits->max_field_bytes);
  if (content_end - start > room)
    kept_end = start + room;

  if (g->is_address && kept_end > value_start)
    limit_colons (g, value_start, kept_end);

  if (g->capture != CAPTURE_NONE)
    {
      /* The raw value as GMime keeps it: line ends included. */
      if (kept_end > value_start)
        g_string_append_len (g->captured, (const char *) g->data + value_start,
                             kept_end - value_start);
      g_string_append_len (g->captured, (const char *) g->data + content_end, next - content_end);
    }

  if (kept_end < content_end)
    {
      /* Keep the start of the line and its newline; drop the rest of the field. */
      copy_upto (g, kept_end);
      drop_upto (g, content_end);
      g->field = FIELD_TRUNCATED;
      g->field_bytes = g->limits->max_field_bytes;
      g->problems |= TERN_MIME_PROBLEM_TRUNCATED_HEADERS;
      return;
    }

  g->field_bytes += content_end - start;
}

static void
finish_field (Guard *g)
{
  /* GMime uses the last Content-Type and the first Content-Transfer-Encoding. */
  if (g->field != FIELD_NONE && g->field != FIELD_DROP)
    {
      if (g->capture == CAPTURE_CONTENT_TYPE)
        {
          g_string_assign (g->content_type, g->captured->str);
          g->have_content_type = TRUE;
        }
      else if (g->capture == CAPTURE_ENCODING && !g->have_encoding)
        {
          g_string_assign (g->encoding, g->captured->str);
          g->have_encoding = TRUE;
        }
    }

  g->capture = CAPTURE_NONE;
  g->field = FIELD_NONE;
}

static void
start_field (Guard        *g,
             const guint8 *line,
             gsize         start,
             gsize         content_end,
             gsize         next)
{
  gsize name_len = 0;
  gssize colon = field_name (line, content_end - start, &name_len);
  gsize value_start = start;

  g->field_bytes = 0;
  g->colons = 0;
  g->is_address = FALSE;
  g->capture = CAPTURE_NONE;
  g_string_truncate (g->captured, 0);

  g->block_fields++;
  g->total_fields++;
  if (g->block_fields > TERN_MIME_MAX_BLOCK_FIELDS || g->total_fields > TERN_MIME_MAX_FIELDS)
    {
      g->field = FIELD_DROP;
      g->problems |= TERN_MIME_PROBLEM_TRUNCATED_HEADERS;
      keep_field_line (g, start, start, content_end, next);
      return;
    }

  g->field = FIELD_KEEP;

  if (colon >= 0)
    {
      value_start = start + colon + 1;
      g->is_address = is_address_field (line, name_len);
      if (g->is_address && ++g->block_address_fields > MAX_BLOCK_ADDRESS_FIELDS)
        {
          g->field = FIELD_DROP;
          g->problems |= TERN_MIME_PROBLEM_TRUNCATED_HEADERS;
          keep_field_line (g, start, start, content_end, next);
          return;
        }
      if (name_is (line, name_len, "content-type"))
        g->capture = CAPTURE_CONTENT_TYPE;
      else if (name_is (line, name_len, "content-transfer-encoding"))
        g->capture = CAPTURE_ENCODING;
    }

  keep_field_line (g, value_start, start, content_end, next);
}

static gboolean
contains_caseless (const char *text,
                   const char *word)
{
  gsize n = strlen (word);

  for (; *text != '\0'; text++)
    if (g_ascii_tolower (*text) == word[0] && g_ascii_strncasecmp (text, word, n) == 0)
      return TRUE;

  return FALSE;
}

static gboolean
is_rfc822_subtype (const char *subtype)
{
  return g_ascii_strcasecmp (subtype, "rfc822") == 0 ||
         g_ascii_strcasecmp (subtype, "rfc2822") == 0 ||
         g_ascii_strcasecmp (subtype, "global") == 0 ||
         g_ascii_strcasecmp (subtype, "news") == 0;
}

static gboolean
parent_is_digest (Guard *g)
{
  return g->frames->len > 0 && g_array_index (g->frames, Frame, g->frames->len - 1).digest;
}

/* The header block ended with the empty line before @next. */
static void
end_header_block (Guard *g,
                  gsize  next)
{
  g_autofree char *boundary = NULL;
  gboolean multipart = FALSE;
  gboolean message = FALSE;
  gboolean digest = FALSE;

  finish_field (g);
  g->in_headers = FALSE;

  /* Only multiparts and messages matter here; most types need no parsing. */
  if (g->have_content_type && !parent_is_digest (g) &&
      !contains_caseless (g->content_type->str, "multipart") &&
      !contains_caseless (g->content_type->str, "message"))
    {
      return;
    }

  if (g->have_content_type)
    {
      /* GMime decides the type from the raw value of the last Content-Type
       * field, and takes the boundary from that value unfolded. */
      GMimeContentType *type = g_mime_content_type_parse (NULL, g->content_type->str);
      const char *media = g_mime_content_type_get_media_type (type);
      const char *sub = g_mime_content_type_get_media_subtype (type);

      if (media != NULL && g_ascii_strcasecmp (media, "multipart") == 0)
        {
          g_autofree char *unfolded = g_mime_utils_header_unfold (g->content_type->str);
          GMimeContentType *object_type = g_mime_content_type_parse (NULL, unfolded);

          multipart = TRUE;
          digest = g_mime_content_type_is_type (object_type, "multipart", "digest");
          boundary = g_strdup (g_mime_content_type_get_parameter (object_type, "boundary"));
          g_object_unref (object_type);
        }
      else if (media != NULL && sub != NULL &&
               g_ascii_strcasecmp (media, "message") == 0 && is_rfc822_subtype (sub))
        {
          message = TRUE;
        }
      else if (parent_is_digest (g) && g_mime_content_type_is_type (type, "application", "octet-stream"))
        {
          /* GMime reads a type it cannot parse as missing, which in a digest
           * makes the part a message; this parse gives octet-stream then.
           * Taking the part as a message either way only means reading a
           * header block more than GMime would, which is the safe side. */
          message = TRUE;
        }

      g_object_unref (type);
    }
  else if (parent_is_digest (g))
    {
      message = TRUE;
    }

  if (message && g->have_encoding)
    {
      switch (g_mime_content_encoding_from_string (g->encoding->str))
        {
        case GMIME_CONTENT_ENCODING_BASE64:
        case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
        case GMIME_CONTENT_ENCODING_UUENCODE:
          /* GMime keeps an encoded message as an opaque part. */
          message = FALSE;
          break;

        case GMIME_CONTENT_ENCODING_DEFAULT:
        case GMIME_CONTENT_ENCODING_7BIT:
        case GMIME_CONTENT_ENCODING_8BIT:
        case GMIME_CONTENT_ENCODING_BINARY:
        default:
          break;
        }
    }

  if (!(multipart && boundary != NULL) && !message)
    return;

  if (g->frames->len >= g->limits->max_depth)
    {
      stop_at_block (g, TERN_MIME_PROBLEM_TRUNCATED_DEPTH);
      return;
    }

  {
    Frame frame = { NULL, 0, digest };

    if (multipart)
      {
        frame.boundary = g_strconcat ("--", boundary, NULL);
        frame.boundary_len = strlen (frame.boundary);
      }

    g_array_append_val (g->frames, frame);
  }

  if (message)
    start_header_block (g, next);
}

/**
 * tern_mime_guard_prepare:
 * @data: the raw message
 * @length: its length
 * @limits: the bounds to apply
 * @problems: (inout): gains the problems met
 *
 * Returns: (transfer full): the bytes to hand to GMime.
 */
GByteArray *
tern_mime_guard_prepare (const guint8              *data,
                         gsize                      length,
                         const TernMimeGuardLimits *limits,
                         TernMimeProblems          *problems)
{
  Guard g = { 0 };
  gsize pos = 0;

  /* GByteArray counts in guint. */
  length = MIN (length, (gsize) G_MAXUINT - 1);

  g.data = data;
  g.length = length;
  g.limits = limits;
  g.out = g_byte_array_sized_new ((guint) length);
  g.frames = g_array_new (FALSE, TRUE, sizeof (Frame));
  g_array_set_clear_func (g.frames, frame_clear);
  g.content_type = g_string_new (NULL);
  g.encoding = g_string_new (NULL);
  g.captured = g_string_new (NULL);

  start_header_block (&g, 0);

  while (pos < length && !g.stop)
    {
      const guint8 *line = data + pos;
      const guint8 *nl = memchr (line, '\n', length - pos);
      gsize content_end = nl != NULL ? (gsize) (nl - data) : length;
      gsize next = nl != NULL ? content_end + 1 : length;
      gsize len = content_end - pos;
      /* Where the line's text ends: a CR before the LF belongs to the line end. */
      gsize text_end = (len > 0 && data[content_end - 1] == '\r') ? content_end - 1 : content_end;

      if (!g.in_headers)
        {
          handle_boundary (&g, line, len, next);
        }
      else if (line[0] == '-' && is_boundary_line (&g, line, len))
        {
          /* As in GMime, a boundary line ends a header block too: the part
           * (or attached message) is left without content. */
          finish_field (&g);
          g.in_headers = FALSE;
          handle_boundary (&g, line, len, next);
        }
      else if (nl != NULL && (len == 0 || (len == 1 && line[0] == '\r')))
        {
          end_header_block (&g, next);
        }
      else if (is_blank (line[0]) && g.field != FIELD_NONE)
        {
          keep_field_line (&g, pos, pos, text_end, next);
        }
      else
        {
          finish_field (&g);
          start_field (&g, line, pos, text_end, next);
        }

      pos = next;
    }

  copy_upto (&g, length);

  g_array_unref (g.frames);
  g_string_free (g.content_type, TRUE);
  g_string_free (g.encoding, TRUE);
  g_string_free (g.captured, TRUE);

  *problems |= g.problems;
  return g.out;
}
