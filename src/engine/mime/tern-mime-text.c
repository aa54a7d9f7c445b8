/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <string.h>

#include "tern-mime-private.h"

/*
 * Text from mail arrives in every charset, often mislabelled.  Everything
 * here returns valid UTF-8 whatever the input: bytes that do not convert
 * become U+FFFD, an unknown label falls back to UTF-8 when the bytes are
 * valid UTF-8 and to Windows-1252 (which also reads ISO-8859-1) otherwise.
 */

/* Longer labels are not charsets, and GMime copies labels to the stack. */
#define MAX_CHARSET_LABEL 64

/* Windows-1252 differs from ISO-8859-1 only in 0x80..0x9f; 0 marks a hole. */
static const guint16 windows_1252_high[32] = {
  0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
  0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

/**
 * tern_mime_windows_1252_char:
 * @byte: a byte of Windows-1252 text
 *
 * Returns: the character @byte stands for, U+FFFD for the five holes.
 */
gunichar
tern_mime_windows_1252_char (guint8 byte)
{
  if (byte >= 0x80 && byte < 0xa0)
    return windows_1252_high[byte - 0x80] != 0 ? windows_1252_high[byte - 0x80] : 0xfffd;

  return byte;
}

static void
append_windows_1252 (GString    *out,
                     const char *data,
                     gsize       length)
{
  for (gsize i = 0; i < length; i++)
    {
      guint8 c = (guint8) data[i];

      if (c < 0x80)
        g_string_append_c (out, (char) c);
      else
        g_string_append_unichar (out, tern_mime_windows_1252_char (c));
    }
}

/* Appends @data as UTF-8, each invalid sequence replaced by U+FFFD. */
static gboolean
append_utf8_repaired (GString    *out,
                      const char *data,
                      gsize       length)
{
  const char *p = data;
  const char *end = data + length;
  gboolean repaired = FALSE;

  while (p < end)
    {
      const char *valid_end;

      if (g_utf8_validate_len (p, end - p, &valid_end))
        {
          g_string_append_len (out, p, end - p);
          break;
        }

      g_string_append_len (out, p, valid_end - p);
      p = valid_end;

      if (*p == '\0')
        {
          /* NUL is valid UTF-8 that GLib refuses; the tidy pass replaces it. */
          g_string_append_c (out, ' ');
          p++;
        }
      else
        {
          g_string_append_unichar (out, 0xfffd);
          repaired = TRUE;
          p++;
          /* Skip the continuation bytes of the broken sequence. */
          while (p < end && ((guint8) *p & 0xc0) == 0x80)
            p++;
        }
    }

  return repaired;
}

/*
 * Counts the multi-byte characters and the invalid sequences of text read
 * as UTF-8 (NUL bytes count as valid).
 */
static void
utf8_census (const char *data,
             gsize       length,
             gsize      *multibyte,
             gsize      *invalid)
{
  const char *p = data;
  const char *end = data + length;

  *multibyte = 0;
  *invalid = 0;

  while (p < end)
    {
      const char *valid_end;
      gboolean valid = g_utf8_validate_len (p, end - p, &valid_end);

      for (const char *q = p; q < valid_end; q++)
        if ((guint8) *q >= 0xc0)
          (*multibyte)++;

      if (valid)
        break;

      p = valid_end;
      if (*p != '\0')
        {
          (*invalid)++;
          p++;
          while (p < end && ((guint8) *p & 0xc0) == 0x80)
            p++;
        }
      else
        {
          p++;
        }
    }
}

/* Whether @data is valid UTF-8, NUL bytes allowed; quick for ASCII text. */
static gboolean
is_valid_utf8 (const char *data,
               gsize       length)
{
  const char *p = data;
  const char *end = data + length;

  while (p < end)
    {
      const char *valid_end;
      guint64 word;

      /* Mail is mostly ASCII: look at eight bytes at a time. */
      while (end - p >= 8)
        {
          memcpy (&word, p, sizeof word);
          if ((word & G_GUINT64_CONSTANT (0x8080808080808080)) != 0)
            break;
          p += 8;
        }

      if (p >= end)
        break;

      if ((guint8) *p < 0x80)
        {
          p++;
          continue;
        }

      if (g_utf8_validate_len (p, end - p, &valid_end))
        return TRUE;
      if (*valid_end != '\0')
        return FALSE;
      p = valid_end + 1;
    }

  return TRUE;
}

static gboolean
is_utf8_label (const char *charset)
{
  return g_ascii_strcasecmp (charset, "utf-8") == 0 ||
         g_ascii_strcasecmp (charset, "utf8") == 0;
}

static gboolean
is_ascii_label (const char *charset)
{
  return g_ascii_strcasecmp (charset, "us-ascii") == 0 ||
         g_ascii_strcasecmp (charset, "ascii") == 0 ||
         g_ascii_strcasecmp (charset, "ansi_x3.4-1968") == 0;
}

/*
 * Opening a converter makes glibc load the charset's module, and closing
 * the last one unloads it again, which costs far more than converting a
 * message.  Converters are therefore kept for reuse: a thread takes one
 * out, uses it alone, and gives it back.
 */
typedef struct
{
  char    *charset;
  iconv_t  cd;
} Converter;

#define MAX_CACHED_CONVERTERS 16

static GMutex converters_lock;
static Converter cached_converters[MAX_CACHED_CONVERTERS];
static guint n_cached_converters;

static iconv_t
converter_take (const char *charset)
{
  iconv_t cd = (iconv_t) -1;

  g_mutex_lock (&converters_lock);
  for (guint i = 0; i < n_cached_converters; i++)
    {
      if (g_ascii_strcasecmp (cached_converters[i].charset, charset) == 0)
        {
          cd = cached_converters[i].cd;
          g_free (cached_converters[i].charset);
          cached_converters[i] = cached_converters[--n_cached_converters];
          break;
        }
    }
  g_mutex_unlock (&converters_lock);

  if (cd == (iconv_t) -1)
    cd = g_mime_iconv_open ("UTF-8", charset);

  return cd;
}

static void
converter_give_back (const char *charset,
                     iconv_t     cd)
{
  gboolean kept = FALSE;

  /* Back to the initial shift state for the next user. */
  iconv (cd, NULL, NULL, NULL, NULL);

  g_mutex_lock (&converters_lock);
  if (n_cached_converters < MAX_CACHED_CONVERTERS)
    {
      cached_converters[n_cached_converters].charset = g_strdup (charset);
      cached_converters[n_cached_converters].cd = cd;
      n_cached_converters++;
      kept = TRUE;
    }
  g_mutex_unlock (&converters_lock);

  if (!kept)
    g_mime_iconv_close (cd);
}

/* Converts with iconv, replacing what does not convert; FALSE if bytes were lost. */
static gboolean
append_converted (GString    *out,
                  iconv_t     cd,
                  const char *data,
                  gsize       length)
{
  char *inbuf = (char *) data;
  gsize inleft = length;
  gboolean clean = TRUE;
  char buffer[4096];

  while (inleft > 0)
    {
      char *outbuf = buffer;
      gsize outleft = sizeof buffer;
      gsize result = iconv (cd, &inbuf, &inleft, &outbuf, &outleft);
      int saved_errno = errno;

      g_string_append_len (out, buffer, outbuf - buffer);

      if (result != (gsize) -1)
        continue;

      if (saved_errno == E2BIG)
        continue;

      clean = FALSE;
      g_string_append_unichar (out, 0xfffd);

      if (saved_errno == EILSEQ)
        {
          inbuf++;
          inleft--;
        }
      else
        {
          /* EINVAL: the text ends inside a character. */
          break;
        }
    }

  /* Let a stateful charset write its closing shift sequence. */
  {
    char *outbuf = buffer;
    gsize outleft = sizeof buffer;

    iconv (cd, NULL, NULL, &outbuf, &outleft);
    g_string_append_len (out, buffer, outbuf - buffer);
  }

  return clean;
}

/**
 * tern_mime_text_keep_converter:
 * @charset: a charset label
 *
 * Keeps a converter from @charset open, so that its module stays loaded
 * for GMime too, which opens and closes converters as it decodes headers.
 */
void
tern_mime_text_keep_converter (const char *charset)
{
  iconv_t cd = converter_take (charset);

  if (cd != (iconv_t) -1)
    converter_give_back (charset, cd);
}

/**
 * tern_mime_text_to_utf8:
 * @data: text in @charset
 * @length: its length in bytes
 * @charset: (nullable): the charset the message names
 * @bad_charset: (out): set to %TRUE when the label was unknown or the bytes
 *   did not fit it, left alone otherwise
 *
 * Returns: (transfer full): the text as valid UTF-8, NUL bytes turned into
 *   spaces.
 */
GString *
tern_mime_text_to_utf8 (const char *data,
                        gsize       length,
                        const char *charset,
                        gboolean   *bad_charset)
{
  GString *out = g_string_sized_new (length + length / 4 + 1);
  iconv_t cd = (iconv_t) -1;

  if (length == 0)
    return out;

  if (charset != NULL && (charset[0] == '\0' || strlen (charset) > MAX_CHARSET_LABEL))
    {
      *bad_charset = TRUE;
      charset = NULL;
    }

  if (charset != NULL && !is_utf8_label (charset) && !is_ascii_label (charset))
    {
      /* GMime maps the aliases mail uses to the names iconv knows. */
      cd = converter_take (charset);
      if (cd == (iconv_t) -1)
        {
          *bad_charset = TRUE;
          charset = NULL;
        }
    }

  if (cd != (iconv_t) -1)
    {
      if (!append_converted (out, cd, data, length))
        *bad_charset = TRUE;
      converter_give_back (charset, cd);

      /* glibc's UTF-8 goes beyond U+10FFFF when its input does (a label
       * that names UTF-8 in other words); repair that, and turn NUL bytes
       * into spaces. */
      if (!is_valid_utf8 (out->str, out->len))
        {
          GString *repaired = g_string_sized_new (out->len);

          append_utf8_repaired (repaired, out->str, out->len);
          g_string_free (out, TRUE);
          out = repaired;
          *bad_charset = TRUE;
        }
      for (char *nul = memchr (out->str, '\0', out->len); nul != NULL;
           nul = memchr (nul, '\0', out->str + out->len - nul))
        *nul = ' ';
    }
  else
    {
      gsize multibyte = 0, invalid = 0;

      if (!is_valid_utf8 (data, length))
        utf8_census (data, length, &multibyte, &invalid);

      if (invalid == 0)
        {
          /* Valid already: copy, and turn NUL bytes into spaces. */
          g_string_append_len (out, data, length);
          for (char *nul = memchr (out->str, '\0', out->len); nul != NULL;
               nul = memchr (nul, '\0', out->str + out->len - nul))
            *nul = ' ';
        }
      else if (multibyte == 0)
        {
          /* No UTF-8 at all, whatever the label says: most such mail is
           * Windows-1252 (or ISO-8859-1, which it contains). */
          *bad_charset = TRUE;
          append_windows_1252 (out, data, length);
        }
      else
        {
          *bad_charset = TRUE;
          append_utf8_repaired (out, data, length);
        }
    }

  return out;
}

/* The length in bytes of the UTF-8 sequence that starts with @c. */
static gsize
utf8_char_len (guint8 c)
{
  if (c < 0xc0)
    return 1;
  if (c < 0xe0)
    return 2;
  if (c < 0xf0)
    return 3;
  return 4;
}

/* Characters that only steer layout and would split words in search. */
static gboolean
is_invisible (gunichar c)
{
  return c == 0x00ad ||                  /* soft hyphen */
         c == 0x034f ||                  /* combining grapheme joiner */
         (c >= 0x200b && c <= 0x200f) || /* zero widths, direction marks */
         (c >= 0x202a && c <= 0x202e) || /* direction embeddings, overrides */
         (c >= 0x2060 && c <= 0x2064) ||
         (c >= 0x2066 && c <= 0x2069) || /* direction isolates */
         c == 0xfeff;
}

/*
 * The bytes tern_mime_text_tidy() must look at: control characters but tab
 * and line feed, DEL, and the lead bytes of the characters it replaces or
 * removes (U+0080..U+00AD, U+034F, U+200B..U+2069, U+FEFF).
 */
static const guint8 needs_tidy[256] = {
  [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
  [0x07] = 1, [0x08] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
  [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1,
  [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
  [0x1e] = 1, [0x1f] = 1, [0x7f] = 1,
  [0xc2] = 1, [0xcd] = 1, [0xe2] = 1, [0xef] = 1,
};

/**
 * tern_mime_text_tidy:
 * @text: valid UTF-8 text, changed in place
 *
 * Makes line ends "\n", turns control characters and no-break spaces into
 * spaces and removes invisible formatting characters.  The text never
 * grows.
 */
void
tern_mime_text_tidy (GString *text)
{
  const char *p = text->str;
  const char *end = text->str + text->len;
  char *w = text->str;

  while (p < end)
    {
      const char *run = p;
      guint8 c;

      /* Most bytes stay as they are: printable ASCII, tabs, line feeds and
       * the lead bytes of characters that are never touched. */
      while (p < end && !needs_tidy[(guint8) *p])
        p++;

      if (p > run)
        {
          if (w != run)
            memmove (w, run, p - run);
          w += p - run;
        }

      if (p >= end)
        break;

      c = (guint8) *p;
      if (c < 0x80)
        {
          if (c == '\r')
            {
              *w++ = '\n';
              p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
            }
          else
            {
              /* Other control characters. */
              *w++ = ' ';
              p++;
            }
        }
      else
        {
          gsize n = MIN (utf8_char_len (c), (gsize) (end - p));
          gunichar u = g_utf8_get_char (p);

          if ((u >= 0x80 && u < 0xa0) || u == 0x00a0)
            *w++ = ' ';
          else if (!is_invisible (u))
            {
              memmove (w, p, n);
              w += n;
            }
          p += n;
        }
    }

  g_string_truncate (text, w - text->str);
}

/**
 * tern_mime_utf8_truncate_len:
 * @text: valid UTF-8
 * @length: its length in bytes
 * @max_bytes: the most bytes to keep
 *
 * Returns: the length of the longest prefix of @text no longer than
 *   @max_bytes that ends on a character boundary.
 */
gsize
tern_mime_utf8_truncate_len (const char *text,
                             gsize       length,
                             gsize       max_bytes)
{
  gsize n;

  if (length <= max_bytes)
    return length;

  n = max_bytes;
  while (n > 0 && ((guint8) text[n] & 0xc0) == 0x80)
    n--;

  return n;
}

/**
 * tern_mime_text_clean_line:
 * @text: (nullable): a decoded header value, maybe not valid UTF-8
 * @max_bytes: the most bytes to keep
 *
 * Makes a header value fit for one line on screen: valid UTF-8, control
 * characters and runs of white space made single spaces, invisible
 * formatting characters (direction overrides among them) removed, trimmed,
 * cut on a character boundary.
 *
 * Returns: (transfer full): the cleaned value, "" for %NULL.
 */
char *
tern_mime_text_clean_line (const char *text,
                           gsize       max_bytes)
{
  g_autofree char *repaired = NULL;
  gboolean pending_space = FALSE;
  const char *p;
  char *out;
  char *w;
  gsize len;

  if (text == NULL)
    return g_strdup ("");

  len = strlen (text);

  /* Most values (message-IDs, addresses) are one printable ASCII word. */
  {
    gsize i = 0;

    while (i < len && (guint8) text[i] > 0x20 && (guint8) text[i] < 0x7f)
      i++;
    if (i == len)
      return g_strndup (text, MIN (len, max_bytes));
  }

  if (!g_utf8_validate_len (text, len, NULL))
    {
      text = repaired = g_utf8_make_valid (text, len);
      len = strlen (text);
    }

  w = out = g_malloc (MIN (len, max_bytes) + 1);

  for (p = text; *p != '\0'; )
    {
      guint8 c = (guint8) *p;
      gsize n = 1;
      gboolean space;

      if (c < 0x80)
        {
          space = c <= 0x20 || c == 0x7f;
        }
      else
        {
          gunichar u = g_utf8_get_char (p);

          n = utf8_char_len (c);
          if (is_invisible (u))
            {
              p += n;
              continue;
            }
          space = u < 0xa0 || g_unichar_isspace (u);
        }

      if (space)
        {
          pending_space = w > out;
          p += n;
          continue;
        }

      if ((gsize) (w - out) + n + (pending_space ? 1 : 0) > max_bytes)
        break;

      if (pending_space)
        *w++ = ' ';
      pending_space = FALSE;
      memcpy (w, p, n);
      w += n;
      p += n;
    }

  *w = '\0';
  return out;
}

/**
 * tern_mime_text_clean_token:
 * @value: (nullable): a header token: a message-ID, an address
 *
 * Returns: (transfer full) (nullable): @value cleaned like a header line,
 *   or %NULL when that leaves nothing or more than
 *   %TERN_MIME_MAX_TOKEN_BYTES (a token cut short would be a wrong one).
 */
char *
tern_mime_text_clean_token (const char *value)
{
  g_autofree char *clean = NULL;

  if (value == NULL)
    return NULL;

  clean = tern_mime_text_clean_line (value, TERN_MIME_MAX_TOKEN_BYTES + 1);
  if (clean[0] == '\0' || strlen (clean) > TERN_MIME_MAX_TOKEN_BYTES)
    return NULL;

  return g_steal_pointer (&clean);
}

static gboolean
is_blank_text (const char *start,
               const char *end)
{
  for (const char *p = start; p < end; p++)
    if (*p != ' ' && *p != '\t')
      return FALSE;

  return TRUE;
}

/* "-- " alone on a line starts a signature (RFC 3676); many drop the space. */
static gboolean
is_signature_line (const char *start,
                   const char *end)
{
  return end - start >= 2 && start[0] == '-' && start[1] == '-' &&
         is_blank_text (start + 2, end);
}

/* The lines after which mail programs put the quoted message in full. */
static gboolean
is_original_message_line (const char *start,
                          const char *end)
{
  static const char marker[] = "-----Original Message-----";
  gsize len = end - start;
  gsize underscores = 0;

  while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
    len--;

  if (len == sizeof marker - 1 && g_ascii_strncasecmp (start, marker, len) == 0)
    return TRUE;

  while (underscores < len && start[underscores] == '_')
    underscores++;

  return underscores >= 20 && underscores == len;
}

static const char *
skip_blanks (const char *p,
             const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  return p;
}

/* Whether the next line that is not empty is quoted. */
static gboolean
quote_follows (const char *p,
               const char *end)
{
  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *line_end = eol != NULL ? eol : end;
      const char *q = skip_blanks (p, line_end);

      if (q < line_end)
        return *q == '>';

      p = eol != NULL ? eol + 1 : end;
    }

  return FALSE;
}

typedef struct
{
  GString *out;
  guint    chars;
  guint    max_chars;
  gboolean pending_space;
} Preview;

/* Adds the words of a line; returns FALSE once the preview is full. */
static gboolean
preview_add (Preview    *preview,
             const char *start,
             const char *end)
{
  for (const char *p = start; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = (guint8) *p < 0x80 ? (gunichar) *p : g_utf8_get_char (p);

      if (c == ' ' || c == '\t' || (c >= 0x80 && g_unichar_isspace (c)))
        {
          preview->pending_space = preview->out->len > 0;
          continue;
        }

      if (preview->chars >= preview->max_chars)
        return FALSE;

      if (preview->pending_space)
        {
          if (++preview->chars >= preview->max_chars)
            return FALSE;
          g_string_append_c (preview->out, ' ');
        }
      preview->pending_space = FALSE;
      if (c < 0x80)
        g_string_append_c (preview->out, (char) c);
      else
        g_string_append_unichar (preview->out, c);
      preview->chars++;
    }

  preview->pending_space = preview->out->len > 0;
  return TRUE;
}

/**
 * tern_mime_text_make_preview:
 * @text: tidy body text (valid UTF-8, "\n" line ends)
 * @max_chars: the most characters to keep
 *
 * Picks the words a message list shows under the subject: quoted lines
 * ("> ..."), the "... wrote:" line before them and everything from a
 * signature ("-- ") or an "Original Message" separator on are skipped, and
 * white space is collapsed.  When nothing else is left (a reply that only
 * quotes) the quoted text is used, without its quote marks.
 *
 * Returns: (transfer full): the preview, maybe "".
 */
char *
tern_mime_text_make_preview (const char *text,
                             guint       max_chars)
{
  Preview preview = { g_string_new (NULL), 0, max_chars, FALSE };
  const char *end = text + strlen (text);
  const char *p = text;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *line_end = eol != NULL ? eol : end;
      const char *next = eol != NULL ? eol + 1 : end;
      const char *q = skip_blanks (p, line_end);
      const char *last = line_end;

      while (last > q && (last[-1] == ' ' || last[-1] == '\t'))
        last--;

      if (is_signature_line (p, line_end) || is_original_message_line (q, line_end))
        break;

      if (q < line_end && *q == '>')
        {
          p = next;
          continue;
        }

      if (last > q && last[-1] == ':' && quote_follows (next, end))
        {
          p = next;
          continue;
        }

      if (!preview_add (&preview, q, line_end))
        break;

      p = next;
    }

  if (preview.out->len == 0)
    {
      /* Only quotes: show them, without the marks. */
      for (p = text; p < end; )
        {
          const char *eol = memchr (p, '\n', end - p);
          const char *line_end = eol != NULL ? eol : end;
          const char *q = p;

          while (q < line_end && (*q == '>' || *q == ' ' || *q == '\t'))
            q++;

          if (!preview_add (&preview, q, line_end))
            break;

          p = eol != NULL ? eol + 1 : end;
        }
    }

  while (preview.out->len > 0 && preview.out->str[preview.out->len - 1] == ' ')
    g_string_truncate (preview.out, preview.out->len - 1);

  return g_string_free (preview.out, FALSE);
}
