/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-mime-display.h"
#include "tern-mime-flowed.h"
#include "tern-mime-private.h"

/*
 * TernMimeDisplay: what the reader needs to show one message.  The store's
 * facts (headers, attachment list) come from tern_mime_message_parse(); this
 * file adds the walk a viewer makes: which part is the body (HTML before
 * plain text in an alternative, the root of a related group, the inline
 * text parts of a mixed one), the parts by their IMAP-style path and by
 * Content-ID (for "cid:" images), and, for the reader's safety checks, the
 * remote resources an HTML body asks for and the links whose text names
 * another address than the one they go to.
 *
 * The parse goes through the same guard as ingestion, so hostile nesting and
 * huge headers are bounded the same way.
 */

G_DEFINE_QUARK (tern-mime-display-error-quark, tern_mime_display_error)

struct _TernMimeDisplay
{
  TernMimeMessage *message;
  GMimeMessage    *mime;
  GHashTable      *parts;      /* path → GMimeObject (borrowed from mime) */
  GHashTable      *cids;       /* content id → path */
  GString         *body;
  gboolean         is_html;
  gboolean         cut;
  guint            n_parts;
};

typedef struct
{
  gboolean html;
  char    *content;
} Piece;

static void
piece_free (gpointer data)
{
  Piece *piece = data;

  g_free (piece->content);
  g_free (piece);
}

static TernMimeDisplay *
tern_mime_display_copy_ref (TernMimeDisplay *self)
{
  return tern_mime_display_ref (self);
}

G_DEFINE_BOXED_TYPE (TernMimeDisplay, tern_mime_display, tern_mime_display_copy_ref,
                     tern_mime_display_unref)

static gboolean
type_is (GMimeObject *object,
         const char  *type,
         const char  *subtype)
{
  GMimeContentType *content_type = g_mime_object_get_content_type (object);

  return content_type != NULL && g_mime_content_type_is_type (content_type, type, subtype);
}

static gboolean
is_attachment (GMimeObject *object)
{
  const char *disposition = g_mime_object_get_disposition (object);

  return disposition != NULL && g_ascii_strcasecmp (disposition, "attachment") == 0;
}

static char *
child_path (const char *prefix,
            int         index)
{
  return prefix[0] == '\0' ? g_strdup_printf ("%d", index + 1)
                           : g_strdup_printf ("%s.%d", prefix, index + 1);
}

/* Decoded content of a leaf part, bounded. */
static GBytes *
decode_part (GMimePart *part,
             gsize      max_bytes,
             gboolean  *cut)
{
  GMimeDataWrapper *wrapper = g_mime_part_get_content (part);
  GMimeStream *stream;
  GByteArray *array;
  GBytes *bytes;

  if (cut != NULL)
    *cut = FALSE;

  if (wrapper == NULL)
    return g_bytes_new (NULL, 0);

  stream = g_mime_stream_mem_new ();
  g_mime_data_wrapper_write_to_stream (wrapper, stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));

  if (array->len > max_bytes && cut != NULL)
    *cut = TRUE;
  bytes = g_bytes_new (array->data, MIN (array->len, max_bytes));
  g_object_unref (stream);

  return bytes;
}

static char *
part_text (TernMimeDisplay *self,
           GMimePart       *part,
           gboolean         html)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GString) text = NULL;
  g_autofree char *sniffed = NULL;
  const char *charset;
  const char *data;
  gsize length;
  gboolean bad_charset = FALSE;
  gboolean cut = FALSE;

  bytes = decode_part (part, TERN_MIME_DISPLAY_MAX_BODY_BYTES, &cut);
  if (cut)
    self->cut = TRUE;

  data = g_bytes_get_data (bytes, &length);
  charset = g_mime_object_get_content_type_parameter (GMIME_OBJECT (part), "charset");
  if (charset == NULL && html && length > 0)
    charset = sniffed = tern_mime_html_sniff_charset (data, length);

  text = tern_mime_text_to_utf8 (data != NULL ? data : "", length, charset, &bad_charset);

  /* NUL bytes end a C string early and mean nothing in mail text. */
  for (gsize i = 0; i < text->len; i++)
    if (text->str[i] == '\0')
      text->str[i] = ' ';

  if (!html && tern_mime_part_is_flowed (part))
    return tern_mime_decode_flowed (text->str, tern_mime_part_deletes_space (part));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Records every part under its path, and every Content-ID. */
static void
index_parts (TernMimeDisplay *self,
             GMimeObject     *object,
             const char      *path,
             guint            depth)
{
  const char *leaf_path = path[0] != '\0' ? path : "1";

  if (self->n_parts >= TERN_MIME_MAX_PARTS || depth > TERN_MIME_MAX_DEPTH)
    return;
  self->n_parts++;

  if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);
      int n = g_mime_multipart_get_count (multipart);

      if (path[0] != '\0')
        g_hash_table_insert (self->parts, g_strdup (path), object);

      for (int i = 0; i < n; i++)
        {
          g_autofree char *child = child_path (path, i);

          index_parts (self, g_mime_multipart_get_part (multipart, i), child, depth + 1);
        }
      return;
    }

  g_hash_table_insert (self->parts, g_strdup (leaf_path), object);

  if (GMIME_IS_PART (object))
    {
      const char *cid = g_mime_object_get_content_id (object);

      if (cid != NULL && *cid != '\0' && !g_hash_table_contains (self->cids, cid))
        g_hash_table_insert (self->cids, g_strdup (cid), g_strdup (leaf_path));
    }
}

static gboolean
leads_to (GMimeObject *object,
          const char  *subtype)
{
  for (guint i = 0; i < 8 && object != NULL; i++)
    {
      if (GMIME_IS_MULTIPART (object))
        {
          GMimeMultipart *multipart = GMIME_MULTIPART (object);

          /* A related group's root is its first part. */
          object = g_mime_multipart_get_count (multipart) > 0
                   ? g_mime_multipart_get_part (multipart, 0) : NULL;
          continue;
        }

      return GMIME_IS_PART (object) && type_is (object, "text", subtype) &&
             !is_attachment (object);
    }

  return FALSE;
}

/* Gathers the parts a viewer shows as the body, in order. */
static void
collect_body (TernMimeDisplay *self,
              GMimeObject     *object,
              GPtrArray       *pieces,
              guint            depth)
{
  if (depth > TERN_MIME_MAX_DEPTH)
    return;

  if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);
      int n = g_mime_multipart_get_count (multipart);

      if (type_is (object, "multipart", "alternative"))
        {
          int chosen = -1;

          /* The last alternative is the richest; HTML before plain text. */
          for (int i = n - 1; i >= 0 && chosen < 0; i--)
            if (leads_to (g_mime_multipart_get_part (multipart, i), "html"))
              chosen = i;
          for (int i = n - 1; i >= 0 && chosen < 0; i--)
            if (leads_to (g_mime_multipart_get_part (multipart, i), "plain"))
              chosen = i;
          if (chosen >= 0)
            collect_body (self, g_mime_multipart_get_part (multipart, chosen), pieces, depth + 1);
        }
      else if (type_is (object, "multipart", "related") ||
               type_is (object, "multipart", "signed"))
        {
          if (n > 0)
            collect_body (self, g_mime_multipart_get_part (multipart, 0), pieces, depth + 1);
        }
      else if (!type_is (object, "multipart", "encrypted"))
        {
          for (int i = 0; i < n; i++)
            {
              GMimeObject *child = g_mime_multipart_get_part (multipart, i);

              /* A named text part after the body is a file, not more body. */
              if (pieces->len > 0 && GMIME_IS_PART (child) &&
                  g_mime_part_get_filename (GMIME_PART (child)) != NULL)
                continue;
              collect_body (self, child, pieces, depth + 1);
            }
        }
      return;
    }

  if (GMIME_IS_PART (object) && !is_attachment (object))
    {
      gboolean html = type_is (object, "text", "html");
      gboolean plain = type_is (object, "text", "plain");

      if (html || plain)
        {
          Piece *piece = g_new0 (Piece, 1);

          piece->html = html;
          piece->content = part_text (self, GMIME_PART (object), html);
          g_ptr_array_add (pieces, piece);
        }
    }
}

static void
build_body (TernMimeDisplay *self,
            GPtrArray       *pieces)
{
  self->body = g_string_new (NULL);

  for (guint i = 0; i < pieces->len; i++)
    if (((Piece *) pieces->pdata[i])->html)
      self->is_html = TRUE;

  for (guint i = 0; i < pieces->len; i++)
    {
      Piece *piece = pieces->pdata[i];

      if (self->is_html)
        {
          if (piece->html)
            {
              g_string_append (self->body, piece->content);
            }
          else
            {
              g_autofree char *html = tern_mime_display_text_to_html (piece->content);

              g_string_append (self->body, html);
            }
        }
      else
        {
          if (self->body->len > 0)
            g_string_append (self->body, "\n\n");
          g_string_append (self->body, piece->content);
        }

      if (self->body->len > TERN_MIME_DISPLAY_MAX_BODY_BYTES)
        {
          g_string_truncate (self->body,
                             tern_mime_utf8_truncate_len (self->body->str, self->body->len,
                                                          TERN_MIME_DISPLAY_MAX_BODY_BYTES));
          self->cut = TRUE;
          break;
        }
    }
}

/**
 * tern_mime_display_new:
 * @raw: a raw message
 *
 * Reads @raw for display.  Any bytes give a result; a message GMime cannot
 * read at all shows its bytes as plain text.  Safe on any thread.
 *
 * Returns: (transfer full): the message ready to show.
 */
TernMimeDisplay *
tern_mime_display_new (GBytes *raw)
{
  static const TernMimeGuardLimits limits = {
    TERN_MIME_MAX_FIELD_BYTES, TERN_MIME_MAX_DEPTH, TERN_MIME_MAX_PARTS,
  };
  TernMimeDisplay *self = g_atomic_rc_box_new0 (TernMimeDisplay);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func (piece_free);
  TernMimeProblems problems = 0;
  const guint8 *data;
  gsize length = 0;

  g_return_val_if_fail (raw != NULL, NULL);

  tern_engine_init ();

  data = g_bytes_get_data (raw, &length);
  self->message = tern_mime_message_parse (data, length);
  self->parts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->cids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (length > 0)
    {
      GMimeParser *parser;
      GMimeStream *stream;
      GMimeParserOptions *options = tern_mime_parser_options_new (NULL);
      GByteArray *bytes = tern_mime_guard_prepare (data, length, &limits, &problems);

      stream = g_mime_stream_mem_new_with_byte_array (bytes);
      g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (stream), TRUE);
      parser = g_mime_parser_new_with_stream (stream);
      self->mime = g_mime_parser_construct_message (parser, options);
      g_object_unref (parser);
      g_object_unref (stream);
      g_mime_parser_options_free (options);
    }

  if (self->mime != NULL && g_mime_message_get_mime_part (self->mime) != NULL)
    {
      GMimeObject *top = g_mime_message_get_mime_part (self->mime);

      index_parts (self, top, GMIME_IS_MULTIPART (top) ? "" : "1", 0);
      collect_body (self, top, pieces, 0);
    }
  else if (length > 0 && self->mime == NULL)
    {
      /* Not a message at all: its text, as ingestion read it. */
      Piece *piece = g_new0 (Piece, 1);

      piece->content = g_strdup (tern_mime_message_get_body_text (self->message));
      g_ptr_array_add (pieces, piece);
    }

  build_body (self, pieces);

  return self;
}

TernMimeDisplay *
tern_mime_display_ref (TernMimeDisplay *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

static void
tern_mime_display_clear (gpointer data)
{
  TernMimeDisplay *self = data;

  g_clear_pointer (&self->parts, g_hash_table_unref);
  g_clear_pointer (&self->cids, g_hash_table_unref);
  g_clear_object (&self->mime);
  g_clear_pointer (&self->message, tern_mime_message_unref);
  if (self->body != NULL)
    g_string_free (self->body, TRUE);
}

void
tern_mime_display_unref (TernMimeDisplay *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, tern_mime_display_clear);
}

/**
 * tern_mime_display_get_message:
 *
 * Returns: (transfer none): the message's facts: headers, dates, the list of
 *   attachments.
 */
TernMimeMessage *
tern_mime_display_get_message (TernMimeDisplay *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->message;
}

/**
 * tern_mime_display_is_html:
 *
 * Returns: %TRUE when the body is HTML, %FALSE when it is plain text.
 */
gboolean
tern_mime_display_is_html (TernMimeDisplay *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->is_html;
}

/**
 * tern_mime_display_get_body:
 *
 * Returns: (transfer none): the body in UTF-8: the message's HTML (with
 *   plain text parts beside it turned into HTML) when
 *   tern_mime_display_is_html(), else its text; never %NULL.  It is what the
 *   message holds, unfiltered: HTML must be shown in a view that runs no
 *   script and loads nothing remote.
 */
const char *
tern_mime_display_get_body (TernMimeDisplay *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->body->str;
}

/**
 * tern_mime_display_body_was_cut:
 *
 * Returns: %TRUE when the body was longer than
 *   %TERN_MIME_DISPLAY_MAX_BODY_BYTES and its end is not shown.
 */
gboolean
tern_mime_display_body_was_cut (TernMimeDisplay *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->cut;
}

static gboolean
cid_is_referenced (TernMimeDisplay *self,
                   const char      *content_id)
{
  g_autofree char *needle = NULL;
  g_autofree char *body = NULL;
  g_autofree char *cid = NULL;

  if (!self->is_html || content_id == NULL)
    return FALSE;

  cid = g_ascii_strdown (content_id, -1);
  needle = g_strconcat ("cid:", cid, NULL);
  body = g_ascii_strdown (self->body->str, self->body->len);

  return strstr (body, needle) != NULL;
}

/**
 * tern_mime_display_get_attachments:
 *
 * The files to list under the message: every attachment, and the inline
 * parts that the body does not show itself (an image with a Content-ID
 * that no "cid:" in the HTML names would be lost otherwise).
 *
 * Returns: (transfer container) (element-type TernAttachmentInfo): the
 *   attachments, owned by @self.
 */
GPtrArray *
tern_mime_display_get_attachments (TernMimeDisplay *self)
{
  GPtrArray *all;
  GPtrArray *shown;

  g_return_val_if_fail (self != NULL, NULL);

  all = tern_mime_message_get_attachments (self->message);
  shown = g_ptr_array_new ();

  for (guint i = 0; all != NULL && i < all->len; i++)
    {
      TernAttachmentInfo *info = all->pdata[i];

      if (info->is_inline && cid_is_referenced (self, info->content_id))
        continue;
      g_ptr_array_add (shown, info);
    }

  return shown;
}

/**
 * tern_mime_display_get_part:
 * @part_path: a path as TernAttachmentInfo gives it ("2", "1.2")
 * @mime_type: (out) (optional): the part's type, lower-cased
 *
 * Returns: (transfer full): the decoded content of the part, or %NULL with
 *   %TERN_MIME_DISPLAY_ERROR_NOT_FOUND, or _TOO_LARGE beyond
 *   %TERN_MIME_DISPLAY_MAX_PART_BYTES.  An attached message comes whole,
 *   as message/rfc822.
 */
GBytes *
tern_mime_display_get_part (TernMimeDisplay *self,
                            const char      *part_path,
                            char           **mime_type,
                            GError         **error)
{
  GMimeObject *object;
  GMimeContentType *content_type;
  g_autoptr(GBytes) bytes = NULL;
  gboolean cut = FALSE;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (part_path != NULL, NULL);

  object = g_hash_table_lookup (self->parts, part_path);
  if (object == NULL || GMIME_IS_MULTIPART (object))
    {
      g_set_error (error, TERN_MIME_DISPLAY_ERROR, TERN_MIME_DISPLAY_ERROR_NOT_FOUND,
                   "The message has no part %s", part_path);
      return NULL;
    }

  if (GMIME_IS_MESSAGE_PART (object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));
      GMimeStream *stream = g_mime_stream_mem_new ();
      GByteArray *array;

      if (inner != NULL)
        g_mime_object_write_to_stream (GMIME_OBJECT (inner), NULL, stream);
      array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
      cut = array->len > TERN_MIME_DISPLAY_MAX_PART_BYTES;
      bytes = g_bytes_new (array->data, MIN (array->len, TERN_MIME_DISPLAY_MAX_PART_BYTES));
      g_object_unref (stream);
    }
  else
    {
      bytes = decode_part (GMIME_PART (object), TERN_MIME_DISPLAY_MAX_PART_BYTES, &cut);
    }

  if (cut)
    {
      g_set_error (error, TERN_MIME_DISPLAY_ERROR, TERN_MIME_DISPLAY_ERROR_TOO_LARGE,
                   "The part %s is too large to open", part_path);
      return NULL;
    }

  if (mime_type != NULL)
    {
      content_type = g_mime_object_get_content_type (object);
      *mime_type = content_type != NULL ? g_mime_content_type_get_mime_type (content_type)
                                        : g_strdup ("application/octet-stream");
      for (char *p = *mime_type; *p != '\0'; p++)
        *p = g_ascii_tolower (*p);
    }

  return g_steal_pointer (&bytes);
}

/**
 * tern_mime_display_get_cid_part:
 * @content_id: a Content-ID without angle brackets, as a "cid:" URL names
 *   it (percent-encoding undone)
 *
 * Returns: (transfer full): the part's decoded content, or %NULL as
 *   tern_mime_display_get_part() does.
 */
GBytes *
tern_mime_display_get_cid_part (TernMimeDisplay *self,
                                const char      *content_id,
                                char           **mime_type,
                                GError         **error)
{
  const char *path;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (content_id != NULL, NULL);

  path = g_hash_table_lookup (self->cids, content_id);
  if (path == NULL)
    {
      g_set_error (error, TERN_MIME_DISPLAY_ERROR, TERN_MIME_DISPLAY_ERROR_NOT_FOUND,
                   "The message has no part with the Content-ID %s", content_id);
      return NULL;
    }

  return tern_mime_display_get_part (self, path, mime_type, error);
}

/* Remote resources */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* Whether the attribute at @start is the href of an element that does not
 * load it (a link to follow, not a style sheet to fetch). */
static gboolean
is_anchor_href (const char *html,
                int         start)
{
  int open = start;
  gsize name_length = 0;

  if (g_ascii_strncasecmp (html + start, "href", 4) != 0)
    return FALSE;

  while (open > 0 && html[open] != '<' && html[open] != '>')
    open--;
  if (html[open] != '<')
    return FALSE;

  open++;
  while (g_ascii_isalnum (html[open + name_length]))
    name_length++;

  return !(name_length == 4 && g_ascii_strncasecmp (html + open, "link", 4) == 0);
}

static void
add_host (GHashTable *hosts,
          const char *url)
{
  g_autofree char *full = NULL;
  g_autoptr(GUri) uri = NULL;

  full = g_str_has_prefix (url, "//") ? g_strconcat ("http:", url, NULL) : g_strdup (url);
  uri = g_uri_parse (full, G_URI_FLAGS_NONE, NULL);
  if (uri != NULL && g_uri_get_host (uri) != NULL)
    g_hash_table_add (hosts, g_ascii_strdown (g_uri_get_host (uri), -1));
}

/**
 * tern_mime_display_get_remote_hosts:
 * @n_resources: (out) (optional): how many remote resources the body names
 *
 * Finds what an HTML body would load from the network if it were allowed:
 * images, backgrounds, style sheets, fonts, frames and media named by an
 * http:, https: or scheme-relative URL.  The reader blocks them whatever
 * this finds; this says what was blocked.
 *
 * Returns: (transfer full) (array zero-terminated=1): the hosts, sorted.
 */
char **
tern_mime_display_get_remote_hosts (TernMimeDisplay *self,
                                    guint           *n_resources)
{
  static GRegex *regex;
  g_autoptr(GHashTable) hosts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char **keys = NULL;
  GPtrArray *sorted;
  guint count = 0;

  g_return_val_if_fail (self != NULL, NULL);

  if (g_once_init_enter (&regex))
    {
      GRegex *made = g_regex_new ("(?:\\b(?:src|background|poster|srcset|data|href|"
                                  "dynsrc|lowsrc|xlink:href)\\s*=\\s*[\"']?|url\\(\\s*[\"']?|"
                                  "@import\\s+[\"'])\\s*((?:https?:)?//[^\"'\\s<>)]+)",
                                  G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&regex, made);
    }

  if (self->is_html && regex != NULL)
    {
      g_regex_match (regex, self->body->str, 0, &match);
      while (g_match_info_matches (match))
        {
          g_autofree char *url = g_match_info_fetch (match, 1);
          int start = 0;

          g_match_info_fetch_pos (match, 0, &start, NULL);

          /* A link's href is not loaded; a <link> element's is. */
          if (!is_anchor_href (self->body->str, start))
            {
              count++;
              add_host (hosts, url);
            }
          g_match_info_next (match, NULL);
        }
    }

  if (n_resources != NULL)
    *n_resources = count;

  keys = (char **) g_hash_table_get_keys_as_array (hosts, NULL);
  sorted = g_ptr_array_new ();
  for (guint i = 0; keys[i] != NULL; i++)
    g_ptr_array_add (sorted, g_strdup (keys[i]));
  g_ptr_array_sort (sorted, compare_strings);
  g_ptr_array_add (sorted, NULL);

  return (char **) g_ptr_array_free (sorted, FALSE);
}

/* Plain text */

static gsize
url_length_at (const char *text,
               gsize       position)
{
  static const char *prefixes[] = { "https://", "http://", "www.", "mailto:", NULL };
  const char *start = text + position;
  gsize length = 0;
  gboolean found = FALSE;

  if (position > 0 && (g_ascii_isalnum (text[position - 1]) || text[position - 1] == '/' ||
                       text[position - 1] == '.' || text[position - 1] == '@'))
    return 0;

  for (guint i = 0; prefixes[i] != NULL && !found; i++)
    if (g_ascii_strncasecmp (start, prefixes[i], strlen (prefixes[i])) == 0)
      {
        found = TRUE;
        length = strlen (prefixes[i]);
      }
  if (!found)
    return 0;

  while (start[length] != '\0' && !g_ascii_isspace (start[length]) &&
         strchr ("<>\"'`{}|\\^", start[length]) == NULL &&
         (guchar) start[length] >= 0x21)
    length++;

  /* Punctuation that ends a sentence is not part of the link. */
  while (length > 0 && strchr (".,;:!?)]", start[length - 1]) != NULL)
    {
      if (start[length - 1] == ')')
        {
          int depth = 0;

          /* A closing bracket that closes one in the link belongs to it. */
          for (gsize i = 0; i < length; i++)
            depth += start[i] == '(' ? 1 : start[i] == ')' ? -1 : 0;
          if (depth >= 0)
            break;
        }
      length--;
    }

  /* A bare prefix is not a link. */
  for (guint i = 0; prefixes[i] != NULL; i++)
    if (length <= strlen (prefixes[i]) &&
        g_ascii_strncasecmp (start, prefixes[i], length) == 0)
      return 0;

  return length;
}

static void
append_escaped (GString    *out,
                const char *text,
                gsize       length)
{
  g_autofree char *escaped = g_markup_escape_text (text, length);

  g_string_append (out, escaped);
}

/* Escapes a piece of a line, its web and mail addresses made links. */
static void
append_linked (GString    *out,
               const char *line,
               gsize       length)
{
  gsize done = 0;

  for (gsize i = 0; i < length;)
    {
      gsize url_length = url_length_at (line, i);

      if (url_length == 0)
        {
          i++;
          continue;
        }
      url_length = MIN (url_length, length - i);

      append_escaped (out, line + done, i - done);
      {
        g_autofree char *url = g_strndup (line + i, url_length);
        g_autofree char *href = g_ascii_strncasecmp (url, "www.", 4) == 0
                                ? g_strconcat ("http://", url, NULL) : g_strdup (url);
        g_autofree char *escaped_href = g_markup_escape_text (href, -1);

        g_string_append_printf (out, "<a href=\"%s\">", escaped_href);
        append_escaped (out, url, url_length);
        g_string_append (out, "</a>");
      }
      i += url_length;
      done = i;
    }
  append_escaped (out, line + done, length - done);
}

typedef struct
{
  const char *text;
  gsize length;
  guint depth;
} QuotedLine;

static gboolean
line_is_blank (const QuotedLine *line)
{
  for (gsize i = 0; i < line->length; i++)
    if (!g_ascii_isspace (line->text[i]))
      return FALSE;
  return TRUE;
}

/**
 * tern_mime_display_text_to_html:
 * @text: plain text in UTF-8
 *
 * Makes HTML of plain text: every character escaped, line breaks and
 * spaces kept (in a block styled `white-space: pre-wrap`), and web and
 * mail addresses (http:, https:, www., mailto:) made into links.  Quoted
 * lines (">" once per level) go into nested
 * `<blockquote class="tern-quote">` blocks, their quote marks taken off;
 * past %TERN_MIME_MAX_QUOTE_DEPTH levels the blocks stop nesting.
 *
 * Returns: (transfer full): an HTML fragment.
 */
char *
tern_mime_display_text_to_html (const char *text)
{
  GString *out = g_string_new ("<div class=\"tern-plain\">");
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (QuotedLine));
  guint open = 0;

  g_return_val_if_fail (text != NULL, NULL);

  for (const char *p = text; *p != '\0';)
    {
      const char *end = strchr (p, '\n');
      gsize length = end != NULL ? (gsize) (end - p) : strlen (p);
      gsize content;
      QuotedLine line;

      line.depth = MIN (tern_mime_quote_depth (p, length, &content), TERN_MIME_MAX_QUOTE_DEPTH);
      line.text = p + content;
      line.length = length - content;
      if (line.length > 0 && line.text[line.length - 1] == '\r')
        line.length--;
      g_array_append_val (lines, line);
      p = end != NULL ? end + 1 : p + length;
    }

  /* Lines of one depth in a row make a run; the blank lines at either end
   * of a run are left to the quote's margins, so a quote looks the same
   * whether or not its writer set it off by empty lines. */
  for (guint i = 0; i < lines->len;)
    {
      guint depth = g_array_index (lines, QuotedLine, i).depth;
      guint first = i;
      guint last;

      while (i < lines->len && g_array_index (lines, QuotedLine, i).depth == depth)
        i++;
      last = i;
      while (first < last && line_is_blank (&g_array_index (lines, QuotedLine, first)))
        first++;
      while (last > first && line_is_blank (&g_array_index (lines, QuotedLine, last - 1)))
        last--;
      if (first == last)
        continue;

      for (; open > depth; open--)
        g_string_append (out, "</blockquote>");
      for (; open < depth; open++)
        g_string_append (out, "<blockquote class=\"tern-quote\">");
      for (guint j = first; j < last; j++)
        {
          const QuotedLine *line = &g_array_index (lines, QuotedLine, j);

          if (j > first)
            g_string_append_c (out, '\n');
          append_linked (out, line->text, line->length);
        }
    }
  for (; open > 0; open--)
    g_string_append (out, "</blockquote>");
  g_string_append (out, "</div>");

  return g_string_free (out, FALSE);
}

/* Deceptive links */

/* Undoes the few character references a link's text or href is likely to
 * use to hide what it is. */
static char *
decode_entities (const char *text,
                 gsize       length)
{
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < length; i++)
    {
      if (text[i] == '&')
        {
          const char *semicolon = memchr (text + i, ';', MIN (length - i, 12));

          if (semicolon != NULL)
            {
              gsize entity_length = semicolon - (text + i) + 1;
              g_autofree char *name = g_strndup (text + i + 1, entity_length - 2);
              gunichar c = 0;

              if (name[0] == '#')
                c = (name[1] == 'x' || name[1] == 'X') ? g_ascii_strtoull (name + 2, NULL, 16)
                                                       : g_ascii_strtoull (name + 1, NULL, 10);
              else if (g_ascii_strcasecmp (name, "amp") == 0)
                c = '&';
              else if (g_ascii_strcasecmp (name, "lt") == 0)
                c = '<';
              else if (g_ascii_strcasecmp (name, "gt") == 0)
                c = '>';
              else if (g_ascii_strcasecmp (name, "quot") == 0)
                c = '"';
              else if (g_ascii_strcasecmp (name, "nbsp") == 0)
                c = ' ';

              if (c != 0 && g_unichar_validate (c))
                {
                  g_string_append_unichar (out, c);
                  i += entity_length - 1;
                  continue;
                }
            }
        }
      g_string_append_c (out, text[i]);
    }

  return g_string_free (out, FALSE);
}

static char *
strip_tags (const char *html,
            gsize       length)
{
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean in_tag = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      if (html[i] == '<')
        in_tag = TRUE;
      else if (html[i] == '>')
        in_tag = FALSE;
      else if (!in_tag)
        g_string_append_c (text, html[i]);
    }

  return decode_entities (text->str, text->len);
}

/* The host a shown text names, when it looks like an address at all. */
static char *
shown_host (const char *shown)
{
  g_autofree char *text = g_strstrip (g_strdup (shown));
  g_autoptr(GUri) uri = NULL;
  const char *at;
  gsize host_length = 0;

  if (strchr (text, ' ') != NULL || text[0] == '\0')
    return NULL;

  if (strstr (text, "://") != NULL)
    {
      uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);
      return uri != NULL && g_uri_get_host (uri) != NULL
             ? g_ascii_strdown (g_uri_get_host (uri), -1) : NULL;
    }

  if (g_ascii_strncasecmp (text, "mailto:", 7) == 0)
    memmove (text, text + 7, strlen (text + 7) + 1);

  at = strchr (text, '@');
  if (at != NULL)
    return strchr (at + 1, '.') != NULL ? g_ascii_strdown (at + 1, -1) : NULL;

  /* A domain name: letters, digits and hyphens, with at least one dot and
   * a top-level part of letters, perhaps followed by a path. */
  while (g_ascii_isalnum (text[host_length]) || text[host_length] == '-' ||
         text[host_length] == '.')
    host_length++;
  if (text[host_length] != '\0' && text[host_length] != '/' && text[host_length] != ':')
    return NULL;
  if (memchr (text, '.', host_length) == NULL)
    return NULL;
  {
    const char *last_dot = g_strrstr_len (text, host_length, ".");
    gsize tld_length = host_length - (last_dot + 1 - text);

    if (tld_length < 2)
      return NULL;
    for (const char *p = last_dot + 1; p < text + host_length; p++)
      if (!g_ascii_isalpha (*p))
        return NULL;
  }

  return g_ascii_strdown (text, host_length);
}

static const char *
without_www (const char *host)
{
  return g_str_has_prefix (host, "www.") ? host + 4 : host;
}

/**
 * tern_mime_display_link_is_deceptive:
 * @shown: the text a link shows
 * @href: where it goes
 *
 * Returns: %TRUE when @shown looks like a web or mail address whose host
 *   is not the host @href goes to ("www." aside, case aside), so that the
 *   user must see the real target before following it.
 */
gboolean
tern_mime_display_link_is_deceptive (const char *shown,
                                     const char *href)
{
  g_autofree char *claimed = NULL;
  g_autofree char *target_host = NULL;
  g_autoptr(GUri) uri = NULL;

  g_return_val_if_fail (shown != NULL, FALSE);
  g_return_val_if_fail (href != NULL, FALSE);

  claimed = shown_host (shown);
  if (claimed == NULL)
    return FALSE;

  if (g_ascii_strncasecmp (href, "mailto:", 7) == 0)
    {
      const char *at = strchr (href, '@');

      if (at != NULL)
        target_host = g_ascii_strdown (at + 1, strcspn (at + 1, "?&>"));
    }
  else
    {
      uri = g_uri_parse (href, G_URI_FLAGS_NONE, NULL);
      if (uri != NULL && g_uri_get_host (uri) != NULL)
        target_host = g_ascii_strdown (g_uri_get_host (uri), -1);
    }

  if (target_host == NULL)
    return TRUE;

  return g_strcmp0 (without_www (claimed), without_www (target_host)) != 0;
}

/**
 * tern_mime_display_find_deceptive_links:
 * @html: an HTML body
 *
 * Reads every <a href> of @html and keeps those whose text names another
 * address than their target (tern_mime_display_link_is_deceptive()).
 *
 * Returns: (transfer full) (element-type utf8 utf8): the deceptive links'
 *   targets, each mapped to the text it shows.
 */
GHashTable *
tern_mime_display_find_deceptive_links (const char *html)
{
  static GRegex *regex;
  GHashTable *links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GMatchInfo) match = NULL;

  g_return_val_if_fail (html != NULL, links);

  if (g_once_init_enter (&regex))
    {
      GRegex *made = g_regex_new ("<a\\b[^>]*?\\bhref\\s*=\\s*(?:\"([^\"]*)\"|'([^']*)'|"
                                  "([^\\s>]+))[^>]*>(.*?)</a\\s*>",
                                  G_REGEX_CASELESS | G_REGEX_DOTALL | G_REGEX_OPTIMIZE,
                                  0, NULL);
      g_once_init_leave (&regex, made);
    }
  if (regex == NULL)
    return links;

  g_regex_match (regex, html, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *raw_href = NULL;
      g_autofree char *inner = g_match_info_fetch (match, 4);
      g_autofree char *href = NULL;
      g_autofree char *shown = NULL;

      for (int group = 1; group <= 3 && (raw_href == NULL || raw_href[0] == '\0'); group++)
        {
          g_free (raw_href);
          raw_href = g_match_info_fetch (match, group);
        }

      href = g_strstrip (decode_entities (raw_href, strlen (raw_href)));
      shown = g_strstrip (strip_tags (inner, strlen (inner)));

      if (tern_mime_display_link_is_deceptive (shown, href))
        g_hash_table_replace (links, g_steal_pointer (&href), g_steal_pointer (&shown));

      g_match_info_next (match, NULL);
    }

  return links;
}

/* Links */

typedef struct
{
  GPtrArray *targets;
} RewriteData;

static gboolean
rewrite_link_cb (const GMatchInfo *match,
                 GString          *result,
                 gpointer          user_data)
{
  RewriteData *data = user_data;
  g_autofree char *prefix = g_match_info_fetch (match, 1);
  g_autofree char *value = g_match_info_fetch (match, 2);
  gsize length = strlen (value);
  const char *start = value;
  g_autofree char *target = NULL;

  if (length >= 2 && (value[0] == '"' || value[0] == '\'') && value[length - 1] == value[0])
    {
      start = value + 1;
      length -= 2;
    }

  target = g_strstrip (decode_entities (start, length));
  g_ptr_array_add (data->targets, g_steal_pointer (&target));
  g_string_append_printf (result, "%s\"tern-link:%u\"", prefix, data->targets->len - 1);

  return FALSE;
}

/**
 * tern_mime_display_rewrite_links:
 * @html: an HTML body
 * @targets: (out) (transfer full) (element-type utf8): where each link went
 *
 * Points every link of @html (the href of <a> and <area>) at
 * "tern-link:N", N indexing @targets, where the real target is kept.  A web
 * view then never starts a navigation, nor a speculative connection, to a
 * link's host: the reader maps the number back and decides what to do.
 *
 * Returns: (transfer full): the HTML with its links rewritten.
 */
char *
tern_mime_display_rewrite_links (const char  *html,
                                 GPtrArray  **targets)
{
  static GRegex *regex;
  RewriteData data;
  char *rewritten;

  g_return_val_if_fail (html != NULL, NULL);
  g_return_val_if_fail (targets != NULL, NULL);

  if (g_once_init_enter (&regex))
    {
      GRegex *made = g_regex_new ("(<(?:a|area)\\b[^>]*?\\bhref\\s*=\\s*)"
                                  "(\"[^\"]*\"|'[^']*'|[^\\s\"'>]+)",
                                  G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&regex, made);
    }

  data.targets = g_ptr_array_new_with_free_func (g_free);
  rewritten = regex != NULL
              ? g_regex_replace_eval (regex, html, -1, 0, 0, rewrite_link_cb, &data, NULL)
              : NULL;
  if (rewritten == NULL)
    rewritten = g_strdup (html);

  *targets = data.targets;
  return rewritten;
}
