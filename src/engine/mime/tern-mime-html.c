/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mime-private.h"

/*
 * The words of an HTML body, for search and previews.  This is no HTML
 * parser: one pass over the bytes drops tags, comments and the content of
 * <script>, <style>, <title> and <template>, decodes character references,
 * collapses white space as a browser would (except inside <pre>), starts a
 * new line at block elements and marks lines inside <blockquote> with "> "
 * so that previews skip quoted text as they do in plain text.  Malformed
 * markup gives odd text, never a failure, in time linear in the input.
 */

/* Names of the characters U+00A0..U+00FF, in order. */
static const char * const latin1_names[96] = {
  "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
  "uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
  "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
  "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
  "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil",
  "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml",
  "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times",
  "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig",
  "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
  "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml",
  "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide",
  "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
};

static const struct
{
  const char *name;
  gunichar    c;
} other_entities[] = {
  { "quot", 0x22 }, { "amp", 0x26 }, { "apos", 0x27 }, { "lt", 0x3c }, { "gt", 0x3e },
  { "OElig", 0x152 }, { "oelig", 0x153 }, { "Scaron", 0x160 }, { "scaron", 0x161 },
  { "Yuml", 0x178 }, { "fnof", 0x192 }, { "circ", 0x2c6 }, { "tilde", 0x2dc },
  { "ensp", 0x2002 }, { "emsp", 0x2003 }, { "thinsp", 0x2009 }, { "zwnj", 0x200c },
  { "zwj", 0x200d }, { "lrm", 0x200e }, { "rlm", 0x200f }, { "ndash", 0x2013 },
  { "mdash", 0x2014 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "sbquo", 0x201a },
  { "ldquo", 0x201c }, { "rdquo", 0x201d }, { "bdquo", 0x201e }, { "dagger", 0x2020 },
  { "Dagger", 0x2021 }, { "bull", 0x2022 }, { "hellip", 0x2026 }, { "permil", 0x2030 },
  { "prime", 0x2032 }, { "Prime", 0x2033 }, { "lsaquo", 0x2039 }, { "rsaquo", 0x203a },
  { "euro", 0x20ac }, { "trade", 0x2122 }, { "larr", 0x2190 }, { "uarr", 0x2191 },
  { "rarr", 0x2192 }, { "darr", 0x2193 }, { "harr", 0x2194 }, { "minus", 0x2212 },
  { "le", 0x2264 }, { "ge", 0x2265 }, { "ne", 0x2260 }, { "infin", 0x221e },
  { "hearts", 0x2665 }, { "spades", 0x2660 }, { "clubs", 0x2663 }, { "diams", 0x2666 },
};

/* Longest entity name in the tables above. */
#define MAX_ENTITY_NAME 8

static GHashTable *
entity_table (void)
{
  static gsize initialized;
  static GHashTable *table;

  if (g_once_init_enter (&initialized))
    {
      GHashTable *t = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < G_N_ELEMENTS (latin1_names); i++)
        g_hash_table_insert (t, (gpointer) latin1_names[i], GUINT_TO_POINTER (0xa0 + i));
      for (guint i = 0; i < G_N_ELEMENTS (other_entities); i++)
        g_hash_table_insert (t, (gpointer) other_entities[i].name,
                             GUINT_TO_POINTER (other_entities[i].c));

      table = t;
      g_once_init_leave (&initialized, 1);
    }

  return table;
}

/* Some pages write these without the closing semicolon. */
static gboolean
is_legacy_entity (const char *name)
{
  return strcmp (name, "amp") == 0 || strcmp (name, "lt") == 0 || strcmp (name, "gt") == 0 ||
         strcmp (name, "quot") == 0 || strcmp (name, "nbsp") == 0;
}

/*
 * Decodes the character reference at @p ("&..."), setting @consumed to its
 * length.  Returns 0 when @p starts no reference; the '&' is then text.
 */
static gunichar
decode_entity (const char *p,
               const char *end,
               gsize      *consumed)
{
  const char *q = p + 1;

  if (q < end && *q == '#')
    {
      gboolean hex = FALSE;
      guint32 value = 0;
      const char *digits;

      q++;
      if (q < end && (*q == 'x' || *q == 'X'))
        {
          hex = TRUE;
          q++;
        }

      digits = q;
      while (q < end && (hex ? g_ascii_isxdigit (*q) : g_ascii_isdigit (*q)))
        {
          /* Saturate instead of overflowing; anything that large is invalid. */
          if (value <= 0x10ffff)
            value = value * (hex ? 16 : 10) + (hex ? g_ascii_xdigit_value (*q) : *q - '0');
          q++;
        }

      if (q == digits)
        return 0;

      if (q < end && *q == ';')
        q++;

      *consumed = q - p;

      if (value >= 0x80 && value < 0xa0)
        return tern_mime_windows_1252_char ((guint8) value);
      if (value == 0 || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return 0xfffd;
      return value;
    }
  else
    {
      char name[MAX_ENTITY_NAME + 1];
      gsize len = 0;
      gpointer found;

      while (q < end && g_ascii_isalnum (*q))
        {
          if (len == MAX_ENTITY_NAME)
            return 0;
          name[len++] = *q++;
        }
      name[len] = '\0';

      if (len == 0 || !g_hash_table_lookup_extended (entity_table (), name, NULL, &found))
        return 0;

      if (q < end && *q == ';')
        q++;
      else if (!is_legacy_entity (name))
        return 0;

      *consumed = q - p;
      return GPOINTER_TO_UINT (found);
    }
}

typedef struct
{
  GString *out;
  gsize    start;            /* where this document's text starts in @out */
  gsize    max_bytes;        /* stop once @out is this long */
  guint    pre;              /* depth of <pre> */
  guint    quote;            /* depth of <blockquote> */
  guint    pending_newlines; /* line ends not written yet, at most two */
  gboolean pending_space;
} Writer;

/* Quote marks stop growing past this depth. */
#define MAX_QUOTE_MARKS 8

static gboolean
writer_full (Writer *w)
{
  return w->out->len >= w->max_bytes;
}

/*
 * Line ends wait until more text follows, so that a document neither
 * starts nor ends with them and never has more than one empty line in a row.
 */
static void
writer_newline (Writer *w)
{
  w->pending_space = FALSE;
  if (w->out->len > w->start)
    w->pending_newlines = MIN (w->pending_newlines + 1, 2);
}

/* Writes @n bytes of one character of text. */
static void
writer_text (Writer     *w,
             const char *bytes,
             gsize       n)
{
  gboolean line_start = w->out->len == w->start;

  if (w->pending_newlines > 0)
    {
      g_string_append_len (w->out, "\n\n", w->pending_newlines);
      w->pending_newlines = 0;
      line_start = TRUE;
    }

  if (line_start && w->quote > 0)
    {
      for (guint i = 0; i < MIN (w->quote, MAX_QUOTE_MARKS); i++)
        g_string_append (w->out, "> ");
    }
  else if (w->pending_space && !line_start)
    {
      g_string_append_c (w->out, ' ');
    }

  w->pending_space = FALSE;
  g_string_append_len (w->out, bytes, n);
}

static void
writer_char (Writer   *w,
             gunichar  c)
{
  char buffer[6];
  gsize n;

  if (c == 0x00a0 && w->pre == 0)
    {
      /* A no-break space separates words like a space. */
      w->pending_space = TRUE;
      return;
    }

  n = g_unichar_to_utf8 (c, buffer);
  writer_text (w, buffer, n);
}

static gboolean
is_html_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Finds @needle (lower-case ASCII) in [@p, @end) regardless of case. */
static const char *
find_caseless (const char *p,
               const char *end,
               const char *needle)
{
  gsize n = strlen (needle);

  for (; p + n <= end; p++)
    if (g_ascii_tolower (*p) == needle[0] && g_ascii_strncasecmp (p, needle, n) == 0)
      return p;

  return NULL;
}

/* Returns the end of the tag that starts at @p (after its '>'). */
static const char *
skip_tag (const char *p,
          const char *end)
{
  char quote = 0;
  char previous = 0;

  for (p++; p < end; p++)
    {
      if (quote != 0)
        {
          if (*p == quote)
            quote = 0;
          continue;
        }

      if ((*p == '"' || *p == '\'') && previous == '=')
        quote = *p;
      else if (*p == '>')
        return p + 1;

      if (!is_html_space (*p))
        previous = *p;
    }

  return end;
}

static gboolean
name_in (const char         *name,
         const char * const *list,
         gsize               n)
{
  for (gsize i = 0; i < n; i++)
    if (strcmp (name, list[i]) == 0)
      return TRUE;

  return FALSE;
}

static gboolean
is_block_tag (const char *name)
{
  static const char * const blocks[] = {
    "address", "article", "aside", "br", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "section", "table", "tr", "ul",
  };

  return name_in (name, blocks, G_N_ELEMENTS (blocks));
}

static gboolean
is_hidden_tag (const char *name)
{
  static const char * const hidden[] = { "script", "style", "title", "template" };

  return name_in (name, hidden, G_N_ELEMENTS (hidden));
}

/* Handles the tag at @p; returns where the text resumes. */
static const char *
handle_tag (Writer     *w,
            const char *p,
            const char *end)
{
  gboolean closing = p[1] == '/';
  const char *q = p + 1 + (closing ? 1 : 0);
  const char *tag_end;
  char name[16];
  gsize len = 0;

  while (q < end && g_ascii_isalnum (*q))
    {
      if (len < sizeof name - 1)
        name[len++] = g_ascii_tolower (*q);
      q++;
    }
  name[len] = '\0';

  tag_end = skip_tag (p, end);

  if (!closing && is_hidden_tag (name))
    {
      /* Skip to the matching end tag; without one, the rest is hidden. */
      char close[20];
      const char *found;

      g_snprintf (close, sizeof close, "</%s", name);
      found = find_caseless (tag_end, end, close);
      return found != NULL ? skip_tag (found, end) : end;
    }

  if (strcmp (name, "blockquote") == 0)
    {
      if (closing)
        w->quote = w->quote > 0 ? w->quote - 1 : 0;
      else
        w->quote++;
      writer_newline (w);
    }
  else if (strcmp (name, "pre") == 0)
    {
      if (closing)
        w->pre = w->pre > 0 ? w->pre - 1 : 0;
      else
        w->pre++;
      writer_newline (w);
    }
  else if (strcmp (name, "td") == 0 || strcmp (name, "th") == 0)
    {
      w->pending_space = TRUE;
    }
  else if (is_block_tag (name))
    {
      writer_newline (w);
    }

  return tag_end;
}

/**
 * tern_mime_html_to_text:
 * @html: HTML in valid UTF-8
 * @length: its length in bytes
 * @max_bytes: stop once @out holds this many bytes (a character or a line
 *   of quote marks more may follow)
 * @out: where the text is appended
 *
 * Appends the text of @html to @out (see above).
 */
void
tern_mime_html_to_text (const char *html,
                        gsize       length,
                        gsize       max_bytes,
                        GString    *out)
{
  Writer w = { out, out->len, out->len + max_bytes, 0, 0, 0, FALSE };
  const char *p = html;
  const char *end;

  if (html == NULL || length == 0)
    return;

  end = html + length;

  while (p < end && !writer_full (&w))
    {
      char c = *p;

      if (c == '<' && p + 1 < end)
        {
          char d = p[1];

          if (d == '!' && end - p >= 4 && strncmp (p, "<!--", 4) == 0)
            {
              const char *close = g_strstr_len (p + 4, end - (p + 4), "-->");

              p = close != NULL ? close + 3 : end;
              continue;
            }

          if (d == '!' || d == '?')
            {
              /* A doctype, CDATA or processing instruction. */
              p = skip_tag (p, end);
              continue;
            }

          if (g_ascii_isalpha (d) || (d == '/' && p + 2 < end && g_ascii_isalpha (p[2])))
            {
              p = handle_tag (&w, p, end);
              continue;
            }
        }

      if (c == '&')
        {
          gsize consumed = 0;
          gunichar decoded = decode_entity (p, end, &consumed);

          if (decoded != 0)
            {
              writer_char (&w, decoded);
              p += consumed;
              continue;
            }
        }

      if (is_html_space (c))
        {
          if (w.pre > 0 && c == '\n')
            writer_newline (&w);
          else if (w.pre > 0 && c != '\r')
            writer_text (&w, p, 1);
          else
            w.pending_space = TRUE;
          p++;
          continue;
        }

      {
        /* One character of text, however many bytes it takes. */
        const char *next = g_utf8_next_char (p);

        if (next > end)
          next = end;
        writer_text (&w, p, next - p);
        p = next;
      }
    }
}

/**
 * tern_mime_html_sniff_charset:
 * @html: the start of an HTML document in an unknown charset
 * @length: its length in bytes
 *
 * Finds the charset a <meta> element names near the start of a document,
 * for HTML parts whose Content-Type names none.
 *
 * Returns: (transfer full) (nullable): the charset label, or %NULL.
 */
char *
tern_mime_html_sniff_charset (const char *html,
                              gsize       length)
{
  const char *end;
  const char *p = html;

  if (html == NULL || length == 0)
    return NULL;

  end = html + MIN (length, 4096);

  while ((p = find_caseless (p, end, "charset")) != NULL)
    {
      const char *q = p + strlen ("charset");
      const char *start;

      while (q < end && is_html_space (*q))
        q++;
      if (q >= end || *q != '=')
        {
          p = q;
          continue;
        }
      q++;
      while (q < end && (is_html_space (*q) || *q == '"' || *q == '\''))
        q++;

      start = q;
      while (q < end && q - start < 40 &&
             (g_ascii_isalnum (*q) || *q == '-' || *q == '_' || *q == '.' || *q == ':'))
        q++;

      if (q > start)
        return g_strndup (start, q - start);
      p = q;
    }

  return NULL;
}
