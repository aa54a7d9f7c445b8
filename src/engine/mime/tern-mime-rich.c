/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <gmime/gmime.h>

#include "tern-mime-rich.h"

G_DEFINE_QUARK (tern-rich-error-quark, tern_rich_error)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)

/* How deep the HTML read back may nest, and how many lines it may have. */
#define MAX_DEPTH 64
#define MAX_LINES 100000

static void
run_free (TernRichRun *run)
{
  g_free (run->text);
  g_free (run->link);
  g_free (run->image);
  g_free (run);
}

static void
line_free (TernRichLine *line)
{
  g_ptr_array_unref (line->runs);
  g_free (line);
}

/**
 * tern_rich_text_new:
 *
 * Returns: (transfer full): an empty text, with no line yet.
 */
TernRichText *
tern_rich_text_new (void)
{
  TernRichText *self = g_new0 (TernRichText, 1);

  self->lines = g_ptr_array_new_with_free_func ((GDestroyNotify) line_free);
  return self;
}

void
tern_rich_text_free (TernRichText *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->lines);
  g_free (self);
}

/**
 * tern_rich_text_add_line:
 *
 * Starts a new line; runs added next go into it.
 *
 * Returns: (transfer none): the line.
 */
TernRichLine *
tern_rich_text_add_line (TernRichText  *self,
                         TernRichBlock  block)
{
  TernRichLine *line = g_new0 (TernRichLine, 1);

  line->block = block;
  line->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) run_free);
  g_ptr_array_add (self->lines, line);
  return line;
}

static TernRichLine *
last_line (TernRichText *self)
{
  if (self->lines->len == 0)
    return tern_rich_text_add_line (self, TERN_RICH_PARAGRAPH);
  return g_ptr_array_index (self->lines, self->lines->len - 1);
}

/**
 * tern_rich_text_add_run:
 * @text: text without line breaks
 * @link: (nullable): where it links to
 *
 * Adds text to the last line (to a new paragraph when there is none).  A
 * run that continues the previous one in the same style joins it.
 *
 * Returns: (transfer none): the run.
 */
TernRichRun *
tern_rich_text_add_run (TernRichText *self,
                        const char   *text,
                        guint         style,
                        const char   *link)
{
  TernRichLine *line = last_line (self);
  TernRichRun *run;

  if (line->runs->len > 0)
    {
      run = g_ptr_array_index (line->runs, line->runs->len - 1);
      if (run->image == NULL && run->style == style && g_strcmp0 (run->link, link) == 0)
        {
          char *joined = g_strconcat (run->text, text, NULL);

          g_free (run->text);
          run->text = joined;
          return run;
        }
    }
  run = g_new0 (TernRichRun, 1);
  run->text = g_strdup (text);
  run->style = style;
  run->link = g_strdup (link);
  g_ptr_array_add (line->runs, run);
  return run;
}

/**
 * tern_rich_text_add_image:
 * @image: the image's Content-ID, or its file (see #TernRichRun)
 * @description: (nullable): what it shows, for plain text and screen
 *   readers
 *
 * Returns: (transfer none): the image's run, in the last line.
 */
TernRichRun *
tern_rich_text_add_image (TernRichText *self,
                          const char   *image,
                          const char   *description)
{
  TernRichLine *line = last_line (self);
  TernRichRun *run = g_new0 (TernRichRun, 1);

  run->text = g_strdup (description != NULL ? description : "");
  run->image = g_strdup (image);
  g_ptr_array_add (line->runs, run);
  return run;
}

/**
 * tern_rich_text_is_plain:
 *
 * Returns: %TRUE when nothing in the text needs HTML: no style, link,
 *   list or image.  Quotes, such as those of a reply, have their plain
 *   form ("> "), which every mail program shows as a quote.
 */
gboolean
tern_rich_text_is_plain (TernRichText *self)
{
  for (guint i = 0; i < self->lines->len; i++)
    {
      TernRichLine *line = g_ptr_array_index (self->lines, i);

      if (line->block != TERN_RICH_PARAGRAPH && line->block != TERN_RICH_QUOTE)
        return FALSE;
      for (guint j = 0; j < line->runs->len; j++)
        {
          TernRichRun *run = g_ptr_array_index (line->runs, j);

          if (run->style != 0 || run->link != NULL || run->image != NULL)
            return FALSE;
        }
    }
  return TRUE;
}

/**
 * tern_rich_link_is_allowed:
 *
 * Returns: %TRUE for the links a message may carry: http, https and
 *   mailto addresses, without control characters.
 */
gboolean
tern_rich_link_is_allowed (const char *link)
{
  static const char * const schemes[] = { "http://", "https://", "mailto:" };

  if (link == NULL || !g_utf8_validate (link, -1, NULL))
    return FALSE;
  for (const char *p = link; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (g_ascii_strncasecmp (link, schemes[i], strlen (schemes[i])) == 0 &&
        link[strlen (schemes[i])] != '\0')
      return TRUE;
  return FALSE;
}

/* Writing */

/* Escapes @text for HTML; runs of spaces keep their width, as a
 * no-break space after each plain one.  *@after_space carries on from
 * one run of a line to the next (TRUE at its start, where a space would
 * be lost too). */
static void
append_escaped_run (GString    *out,
                    const char *text,
                    gboolean   *after_space_inout)
{
  gboolean after_space = *after_space_inout;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      switch (c)
        {
        case '&':
          g_string_append (out, "&amp;");
          break;
        case '<':
          g_string_append (out, "&lt;");
          break;
        case '>':
          g_string_append (out, "&gt;");
          break;
        case '"':
          g_string_append (out, "&quot;");
          break;
        case '\'':
          g_string_append (out, "&#39;");
          break;
        case ' ':
          g_string_append (out, after_space ? "&#160;" : " ");
          break;
        case '\t':
          g_string_append (out, "&#160;&#160;&#160;&#160;");
          break;
        default:
          /* Control characters have no place in an HTML text. */
          if (c < 0x20 || c == 0x7f)
            break;
          g_string_append_unichar (out, c);
          break;
        }
      after_space = c == ' ' || c == '\t';
    }
  *after_space_inout = after_space;
}

/* Escapes an attribute's value: spaces stay as they are. */
static void
append_escaped (GString    *out,
                const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == ' ')
        g_string_append_c (out, ' ');
      else if (c < 0x20 || c == 0x7f)
        continue;
      else
        {
          char one[8] = { 0 };
          gboolean after_space = FALSE;

          g_unichar_to_utf8 (c, one);
          append_escaped_run (out, one, &after_space);
        }
    }
}

static void
append_runs (GString      *out,
             TernRichLine *line)
{
  gboolean after_space = TRUE;

  for (guint i = 0; i < line->runs->len; i++)
    {
      TernRichRun *run = g_ptr_array_index (line->runs, i);
      gboolean link = run->link != NULL && tern_rich_link_is_allowed (run->link);

      if (run->image != NULL)
        {
          g_string_append (out, "<img src=\"cid:");
          append_escaped (out, run->image);
          g_string_append (out, "\" alt=\"");
          append_escaped (out, run->text);
          g_string_append (out, "\" style=\"max-width: 100%\"/>");
          after_space = FALSE;
          continue;
        }
      if (link)
        {
          g_string_append (out, "<a href=\"");
          append_escaped (out, run->link);
          g_string_append (out, "\">");
        }
      if (run->style & TERN_RICH_BOLD)
        g_string_append (out, "<b>");
      if (run->style & TERN_RICH_ITALIC)
        g_string_append (out, "<i>");
      append_escaped_run (out, run->text, &after_space);
      if (run->style & TERN_RICH_ITALIC)
        g_string_append (out, "</i>");
      if (run->style & TERN_RICH_BOLD)
        g_string_append (out, "</b>");
      if (link)
        g_string_append (out, "</a>");
    }
  if (line->runs->len == 0)
    g_string_append (out, "<br/>");
}

static const char *
group_tag (TernRichBlock block)
{
  switch (block)
    {
    case TERN_RICH_BULLET:
      return "ul";
    case TERN_RICH_NUMBERED:
      return "ol";
    case TERN_RICH_QUOTE:
      return "blockquote";
    case TERN_RICH_PARAGRAPH:
    default:
      return NULL;
    }
}

/**
 * tern_rich_text_to_html:
 *
 * Returns: (transfer full): a whole HTML document of the text: a div for
 *   each line, lists and quotes around their lines, inline images by
 *   "cid:" address.
 */
char *
tern_rich_text_to_html (TernRichText *self)
{
  GString *out = g_string_new ("<html><head><meta http-equiv=\"Content-Type\" "
                               "content=\"text/html; charset=utf-8\"/></head><body>\n");
  const char *open = NULL;

  for (guint i = 0; i < self->lines->len; i++)
    {
      TernRichLine *line = g_ptr_array_index (self->lines, i);
      const char *tag = group_tag (line->block);

      if (g_strcmp0 (tag, open) != 0)
        {
          if (open != NULL)
            g_string_append_printf (out, "</%s>\n", open);
          if (tag != NULL)
            g_string_append_printf (out, "<%s%s>\n", tag,
                                    line->block == TERN_RICH_QUOTE ? " type=\"cite\"" : "");
          open = tag;
        }
      g_string_append (out, line->block == TERN_RICH_BULLET ||
                            line->block == TERN_RICH_NUMBERED ? "<li>" : "<div>");
      append_runs (out, line);
      g_string_append (out, line->block == TERN_RICH_BULLET ||
                            line->block == TERN_RICH_NUMBERED ? "</li>\n" : "</div>\n");
    }
  if (open != NULL)
    g_string_append_printf (out, "</%s>\n", open);
  g_string_append (out, "</body></html>\n");
  return g_string_free (out, FALSE);
}

/**
 * tern_rich_text_to_plain:
 *
 * Returns: (transfer full): the text as a plain text reader should see
 *   it: list items after "- " or their number, quoted lines after "> ",
 *   a link's address in angle brackets after its text (unless the text
 *   is the address), an image as its description in brackets.  Every
 *   line ends in "\n".
 */
char *
tern_rich_text_to_plain (TernRichText *self)
{
  GString *out = g_string_new (NULL);
  guint number = 0;

  for (guint i = 0; i < self->lines->len; i++)
    {
      TernRichLine *line = g_ptr_array_index (self->lines, i);

      number = line->block == TERN_RICH_NUMBERED ? number + 1 : 0;
      if (line->block == TERN_RICH_BULLET)
        g_string_append (out, "- ");
      else if (line->block == TERN_RICH_NUMBERED)
        g_string_append_printf (out, "%u. ", number);
      else if (line->block == TERN_RICH_QUOTE)
        g_string_append (out, line->runs->len > 0 ? "> " : ">");

      for (guint j = 0; j < line->runs->len; j++)
        {
          TernRichRun *run = g_ptr_array_index (line->runs, j);

          if (run->image != NULL)
            {
              g_string_append_printf (out, "[%s]", *run->text != '\0' ? run->text : "image");
              continue;
            }
          g_string_append (out, run->text);
          if (run->link != NULL && tern_rich_link_is_allowed (run->link) &&
              g_strcmp0 (run->link, run->text) != 0 &&
              !(g_ascii_strncasecmp (run->link, "mailto:", 7) == 0 &&
                g_strcmp0 (run->link + 7, run->text) == 0))
            g_string_append_printf (out, " <%s>", run->link);
        }
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* Reading back */

typedef struct
{
  TernRichText *text;
  guint bold;
  guint italic;
  GPtrArray *links;            /* the href of each open <a>, or NULL */
  GArray *groups;              /* TernRichBlock of each open list or quote */
  gboolean in_line;
  guint depth;
} ParseState;

static TernRichBlock
current_block (ParseState *state)
{
  if (state->groups->len == 0)
    return TERN_RICH_PARAGRAPH;
  return g_array_index (state->groups, TernRichBlock, state->groups->len - 1);
}

static gboolean
start_line (ParseState  *state,
            GError     **error)
{
  if (state->text->lines->len >= MAX_LINES)
    {
      g_set_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_TOO_LARGE, "The text is too long");
      return FALSE;
    }
  tern_rich_text_add_line (state->text, current_block (state));
  state->in_line = TRUE;
  return TRUE;
}

static const char *
attribute (const char  **names,
           const char  **values,
           const char   *name)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (g_ascii_strcasecmp (names[i], name) == 0)
      return values[i];
  return NULL;
}

static void
start_element_cb (GMarkupParseContext  *context,
                  const char           *element,
                  const char          **names,
                  const char          **values,
                  gpointer              user_data,
                  GError              **error)
{
  ParseState *state = user_data;
  TernRichBlock block;

  if (++state->depth > MAX_DEPTH)
    {
      g_set_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_TOO_LARGE, "The text nests too deep");
      return;
    }

  if (g_str_equal (element, "ul") || g_str_equal (element, "ol") ||
      g_str_equal (element, "blockquote"))
    {
      block = g_str_equal (element, "ul") ? TERN_RICH_BULLET
              : g_str_equal (element, "ol") ? TERN_RICH_NUMBERED : TERN_RICH_QUOTE;
      g_array_append_val (state->groups, block);
      state->in_line = FALSE;
    }
  else if (g_str_equal (element, "div") || g_str_equal (element, "p") ||
           g_str_equal (element, "li"))
    {
      start_line (state, error);
    }
  else if (g_str_equal (element, "br"))
    {
      /* A break ends a line; the one that closes an empty line does not
       * start another. */
      TernRichLine *line = state->text->lines->len > 0
                           ? g_ptr_array_index (state->text->lines,
                                                state->text->lines->len - 1) : NULL;

      if (!state->in_line || (line != NULL && line->runs->len > 0))
        start_line (state, error);
    }
  else if (g_str_equal (element, "b") || g_str_equal (element, "strong"))
    state->bold++;
  else if (g_str_equal (element, "i") || g_str_equal (element, "em"))
    state->italic++;
  else if (g_str_equal (element, "a"))
    {
      const char *href = attribute (names, values, "href");

      g_ptr_array_add (state->links,
                       g_strdup (tern_rich_link_is_allowed (href) ? href : NULL));
    }
  else if (g_str_equal (element, "img"))
    {
      const char *src = attribute (names, values, "src");
      const char *alt = attribute (names, values, "alt");

      if (!state->in_line && !start_line (state, error))
        return;
      if (src != NULL && g_ascii_strncasecmp (src, "cid:", 4) == 0 && src[4] != '\0')
        tern_rich_text_add_image (state->text, src + 4, alt);
    }
}

static void
end_element_cb (GMarkupParseContext  *context,
                const char           *element,
                gpointer              user_data,
                GError              **error)
{
  ParseState *state = user_data;

  state->depth--;
  if (g_str_equal (element, "ul") || g_str_equal (element, "ol") ||
      g_str_equal (element, "blockquote"))
    {
      if (state->groups->len > 0)
        g_array_set_size (state->groups, state->groups->len - 1);
      state->in_line = FALSE;
    }
  else if (g_str_equal (element, "div") || g_str_equal (element, "p") ||
           g_str_equal (element, "li"))
    state->in_line = FALSE;
  else if ((g_str_equal (element, "b") || g_str_equal (element, "strong")) && state->bold > 0)
    state->bold--;
  else if ((g_str_equal (element, "i") || g_str_equal (element, "em")) && state->italic > 0)
    state->italic--;
  else if (g_str_equal (element, "a") && state->links->len > 0)
    g_ptr_array_set_size (state->links, state->links->len - 1);
}

static void
text_cb (GMarkupParseContext  *context,
         const char           *text,
         gsize                 length,
         gpointer              user_data,
         GError              **error)
{
  ParseState *state = user_data;
  const char *element = g_markup_parse_context_get_element (context);
  g_autoptr(GString) clean = g_string_new (NULL);
  const char *link = NULL;
  gboolean blank = TRUE;

  if (length == 0 || element == NULL || g_str_equal (element, "title") ||
      g_str_equal (element, "style") || g_str_equal (element, "script") ||
      g_str_equal (element, "head"))
    return;

  for (const char *p = text; p < text + length; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n' || c == '\r')
        c = ' ';
      else if (c == 0xa0)
        c = ' ';
      if (!g_unichar_isspace (c))
        blank = FALSE;
      g_string_append_unichar (clean, c);
    }
  /* The line breaks between tags are no text. */
  if (blank && !state->in_line)
    return;
  if (blank && memchr (text, '\n', length) != NULL)
    return;
  if (!state->in_line && !start_line (state, error))
    return;
  for (guint i = state->links->len; i > 0 && link == NULL; i--)
    link = g_ptr_array_index (state->links, i - 1);
  tern_rich_text_add_run (state->text, clean->str,
                          (state->bold > 0 ? TERN_RICH_BOLD : 0) |
                          (state->italic > 0 ? TERN_RICH_ITALIC : 0),
                          link);
}

/**
 * tern_rich_text_parse_html:
 * @html: HTML as tern_rich_text_to_html() writes it
 * @length: its length, or -1 when it ends in a NUL
 *
 * Reads back the HTML of a message Tern wrote, such as a draft.  Elements
 * of other kinds keep their text; anything else about them is dropped.
 *
 * Returns: (transfer full) (nullable): the text, or %NULL with
 *   %TERN_RICH_ERROR_NOT_RICH_TEXT when @html is not well-formed (HTML
 *   from elsewhere, which the caller shows as plain text), or
 *   %TERN_RICH_ERROR_TOO_LARGE.
 */
TernRichText *
tern_rich_text_parse_html (const char  *html,
                           gssize       length,
                           GError     **error)
{
  static const GMarkupParser parser = {
    start_element_cb, end_element_cb, text_cb, NULL, NULL,
  };
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(TernRichText) text = tern_rich_text_new ();
  g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) groups = g_array_new (FALSE, FALSE, sizeof (TernRichBlock));
  g_autoptr(GError) local_error = NULL;
  ParseState state = { 0 };

  if (length < 0)
    length = strlen (html);
  if ((gsize) length > TERN_RICH_MAX_HTML_BYTES)
    {
      g_set_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_TOO_LARGE, "The text is too long");
      return NULL;
    }

  state.text = text;
  state.links = links;
  state.groups = groups;
  context = g_markup_parse_context_new (&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &state, NULL);
  if (!g_markup_parse_context_parse (context, html, length, &local_error) ||
      !g_markup_parse_context_end_parse (context, &local_error))
    {
      if (g_error_matches (local_error, TERN_RICH_ERROR, TERN_RICH_ERROR_TOO_LARGE))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_NOT_RICH_TEXT,
                     "The HTML is not one Tern wrote: %s", local_error->message);
      return NULL;
    }
  return g_steal_pointer (&text);
}

/* Opening a saved draft */

typedef struct
{
  GMimeObject *html;
  GPtrArray *parts;            /* GMimePart, not the text ones */
} DraftParts;

static void
collect_part_cb (GMimeObject *parent,
                 GMimeObject *part,
                 gpointer     user_data)
{
  DraftParts *found = user_data;
  GMimeContentType *type = g_mime_object_get_content_type (part);

  /* A forwarded message goes with the draft whole, as a file. */
  if (GMIME_IS_MESSAGE_PART (part))
    {
      g_ptr_array_add (found->parts, part);
      return;
    }
  if (!GMIME_IS_PART (part))
    return;
  if (found->html == NULL && g_mime_content_type_is_type (type, "text", "html") &&
      g_mime_part_get_filename (GMIME_PART (part)) == NULL)
    found->html = part;
  else if (!(g_mime_content_type_is_type (type, "text", "*") &&
             g_mime_part_get_filename (GMIME_PART (part)) == NULL))
    g_ptr_array_add (found->parts, part);
}

/* Writes the decoded content of @part to a new file in @dir, named after
 * the part when it has a usable name. */
static char *
save_part (GMimeObject *part,
           const char  *dir,
           const char  *slot,
           GError     **error)
{
  const char *name = GMIME_IS_PART (part) ? g_mime_part_get_filename (GMIME_PART (part))
                                          : "forwarded.eml";
  g_autofree char *base = name != NULL ? g_path_get_basename (name) : NULL;
  g_autofree char *subdir = g_build_filename (dir, slot, NULL);
  g_autofree char *path = NULL;
  GMimeDataWrapper *content = GMIME_IS_PART (part) ? g_mime_part_get_content (GMIME_PART (part))
                                                    : NULL;
  GMimeMessage *message = GMIME_IS_MESSAGE_PART (part)
                          ? g_mime_message_part_get_message (GMIME_MESSAGE_PART (part)) : NULL;
  GMimeStream *stream;
  gboolean ok;

  if (base == NULL || *base == '\0' || g_str_equal (base, ".") || g_str_equal (base, "..") ||
      strchr (base, G_DIR_SEPARATOR) != NULL)
    {
      g_free (base);
      base = g_strdup ("attachment");
    }
  /* A folder for each part: two files of one name stay apart. */
  if (g_mkdir_with_parents (subdir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Could not create “%s”",
                   subdir);
      return NULL;
    }
  path = g_build_filename (subdir, base, NULL);
  stream = g_mime_stream_fs_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, error);
  if (stream == NULL)
    return NULL;
  if (content != NULL)
    ok = g_mime_data_wrapper_write_to_stream (content, stream) >= 0;
  else
    ok = message != NULL && g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL,
                                                           stream) >= 0;
  ok = ok && g_mime_stream_flush (stream) == 0;
  g_object_unref (stream);
  if (!ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write “%s”", path);
      return NULL;
    }
  return g_steal_pointer (&path);
}

static gboolean
same_content_id (GMimeObject *part,
                 const char  *cid)
{
  const char *id = g_mime_object_get_content_id (part);

  return id != NULL && g_strcmp0 (id, cid) == 0;
}

/**
 * tern_rich_text_read_message:
 * @data: a whole message, such as a draft Tern saved
 * @dir: a folder of the caller's, where the message's files are saved
 * @attachments: (element-type filename) (nullable): gets the paths of the
 *   attachments saved
 *
 * Reads a message back for editing: its HTML, with each inline image
 * saved in @dir and named by its file in the text's image runs, and its
 * attachments saved in @dir.
 *
 * Returns: (transfer full) (nullable): the text, or %NULL with
 *   %TERN_RICH_ERROR_NOT_RICH_TEXT when the message has no HTML that
 *   Tern wrote (its attachments are saved all the same), or another error
 *   when a file could not be written.
 */
TernRichText *
tern_rich_text_read_message (const guint8  *data,
                             gsize          length,
                             const char    *dir,
                             GPtrArray     *attachments,
                             GError       **error)
{
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  g_autoptr(TernRichText) text = NULL;
  g_autoptr(GHashTable) used = g_hash_table_new (NULL, NULL);
  g_autofree char *html = NULL;
  DraftParts found = { NULL, parts };

  stream = g_mime_stream_mem_new_with_buffer ((const char *) data, length);
  parser = g_mime_parser_new_with_stream (stream);
  message = g_mime_parser_construct_message (parser, NULL);
  if (message == NULL)
    {
      g_set_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_NOT_RICH_TEXT, "Not a message");
      return NULL;
    }
  g_mime_message_foreach (message, collect_part_cb, &found);

  if (found.html != NULL)
    {
      html = g_mime_text_part_get_text (GMIME_TEXT_PART (found.html));
      text = html != NULL ? tern_rich_text_parse_html (html, -1, NULL) : NULL;
    }

  for (guint i = 0; text != NULL && i < text->lines->len; i++)
    {
      TernRichLine *line = g_ptr_array_index (text->lines, i);

      for (guint j = 0; j < line->runs->len; j++)
        {
          TernRichRun *run = g_ptr_array_index (line->runs, j);
          GMimeObject *image = NULL;

          if (run->image == NULL)
            continue;
          for (guint k = 0; k < parts->len && image == NULL; k++)
            if (same_content_id (g_ptr_array_index (parts, k), run->image))
              image = g_ptr_array_index (parts, k);
          g_free (run->image);
          run->image = NULL;
          if (image != NULL)
            {
              g_autofree char *slot = g_strdup_printf ("image-%u", g_hash_table_size (used));

              run->image = save_part (image, dir, slot, error);
              if (run->image == NULL)
                return NULL;
              g_hash_table_add (used, image);
            }
        }
    }

  for (guint k = 0; attachments != NULL && k < parts->len; k++)
    {
      GMimeObject *part = g_ptr_array_index (parts, k);
      g_autofree char *slot = g_strdup_printf ("attachment-%u", k);
      char *path;

      /* Inline images the text does not show are dropped with it. */
      if (g_hash_table_contains (used, part) || g_mime_object_get_content_id (part) != NULL)
        continue;
      path = save_part (part, dir, slot, error);
      if (path == NULL)
        return NULL;
      g_ptr_array_add (attachments, path);
    }

  if (text == NULL)
    g_set_error (error, TERN_RICH_ERROR, TERN_RICH_ERROR_NOT_RICH_TEXT,
                 "The message has no HTML that Tern wrote");
  return g_steal_pointer (&text);
}
