/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mime-flowed.h"

/**
 * tern_mime_quote_depth:
 * @line: a line of plain text (not NUL-terminated)
 * @length: its length in bytes
 * @out_content: (out) (optional): where the text after the quote marks
 *   (and one space after them) starts
 *
 * Counts the quote marks a line starts with.  Marks may be written
 * together (">>") or spaced ("> >"), as mail programs that do not use
 * format=flowed write them.
 *
 * Returns: how many levels deep the line is quoted.
 */
guint
tern_mime_quote_depth (const char *line,
                       gsize       length,
                       gsize      *out_content)
{
  guint depth = 0;
  gsize i = 0;

  while (i < length && line[i] == '>')
    {
      depth++;
      i++;
      if (i + 1 < length && line[i] == ' ' && line[i + 1] == '>')
        i++;
    }
  if (depth > 0 && i < length && line[i] == ' ')
    i++;
  if (out_content != NULL)
    *out_content = i;
  return depth;
}

/* A quoted line's marks, and a space when text follows. */
static void
append_quote_marks (GString *out,
                    guint    depth,
                    gboolean text_follows)
{
  for (guint i = 0; i < depth; i++)
    g_string_append_c (out, '>');
  if (depth > 0 && text_follows)
    g_string_append_c (out, ' ');
}

/**
 * tern_mime_decode_flowed:
 * @text: the text of a text/plain; format=flowed part, in UTF-8
 * @delete_space: the part's DelSp=yes: the space that marks a soft line
 *   break was added by the sender and goes when lines are joined
 *
 * Reads format=flowed text (RFC 3676).  A line ending in a space flows
 * into the next one when both are quoted to the same depth; the quote
 * marks and the space-stuffing are taken off every line, and each
 * paragraph comes out on one line, after ">" once per level of quoting and
 * a space (no space after the marks of an empty quoted line).  The signature separator "-- " never flows.
 *
 * Returns: (transfer full): the text, lines ending in "\n".
 */
char *
tern_mime_decode_flowed (const char *text,
                         gboolean    delete_space)
{
  GString *out;
  const char *p;
  gboolean open = FALSE;       /* a paragraph waits for its next line */
  guint open_depth = 0;

  g_return_val_if_fail (text != NULL, NULL);

  out = g_string_sized_new (strlen (text) + 1);
  p = text;
  while (*p != '\0')
    {
      const char *end = strchr (p, '\n');
      gsize length = end != NULL ? (gsize) (end - p) : strlen (p);
      const char *next = end != NULL ? end + 1 : p + length;
      guint depth = 0;
      const char *content;
      gsize content_length;
      gboolean flowed;

      if (length > 0 && p[length - 1] == '\r')
        length--;

      /* Quote marks are the ">" at the very start, with nothing between. */
      while (depth < length && p[depth] == '>')
        depth++;
      content = p + depth;
      content_length = length - depth;
      /* Space-stuffing: one space the sender put in front. */
      if (content_length > 0 && content[0] == ' ')
        {
          content++;
          content_length--;
        }

      flowed = content_length > 0 && content[content_length - 1] == ' ' &&
               !(content_length == 3 && memcmp (content, "-- ", 3) == 0);

      if (open && depth != open_depth)
        {
          /* A flowed line followed by one of another depth ends there. */
          g_string_append_c (out, '\n');
          open = FALSE;
        }
      if (open && content_length == 3 && memcmp (content, "-- ", 3) == 0)
        {
          g_string_append_c (out, '\n');
          open = FALSE;
        }
      if (!open)
        append_quote_marks (out, depth, content_length > 0);

      if (flowed && delete_space)
        content_length--;
      g_string_append_len (out, content, content_length);

      if (flowed)
        {
          open = TRUE;
          open_depth = depth;
        }
      else
        {
          g_string_append_c (out, '\n');
          open = FALSE;
        }
      p = next;
    }
  if (open)
    g_string_append_c (out, '\n');

  return g_string_free (out, FALSE);
}
