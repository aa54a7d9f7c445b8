/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "tern-engine.h"
#include "tern-mime-composer.h"
#include "tern-mime-flowed.h"
#include "tern-mime-private.h"

/* GMime 3.2 declares no automatic cleanups of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeDataWrapper, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeObject, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessagePart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeContentType, g_object_unref)

/*
 * The shape of what tern_mime_composer_write_to_file() writes:
 *
 *   text only                 text/plain; format=flowed
 *   HTML                      multipart/alternative (text/plain, text/html)
 *   HTML with inline images   multipart/alternative (text/plain,
 *                               multipart/related (text/html, image...))
 *   with attachments          multipart/mixed (the above, attachment...)
 *
 * GMime writes the parts; attachments are GMime file streams, read while
 * the message is written.
 */

/* RFC 3676 recommends lines of at most 78 characters; flowed text is cut
 * at spaces to stay within it. */
#define FLOWED_WIDTH 72

/* A reply's References keep the first and the latest ids of the thread
 * when the list would grow past this many. */
#define MAX_REFERENCES 20

typedef struct
{
  char *path;
  char *mime_type;
  char *filename;
  char *content_id;
} FilePart;

struct _TernMimeComposer
{
  GObject parent_instance;

  InternetAddressList *from;
  char *sender;
  InternetAddressList *to;
  InternetAddressList *cc;
  InternetAddressList *bcc;
  char *reply_to;
  char *subject;
  GDateTime *date;
  char *text;
  char *html;
  GPtrArray *attachments;
  GPtrArray *images;
  GPtrArray *forwarded;
  char *in_reply_to;
  char *references;
  char *message_id;
  gboolean draft;
};

G_DEFINE_FINAL_TYPE (TernMimeComposer, tern_mime_composer, G_TYPE_OBJECT)

G_DEFINE_QUARK (tern-mime-composer-error-quark, tern_mime_composer_error)

static void
file_part_free (FilePart *part)
{
  g_free (part->path);
  g_free (part->mime_type);
  g_free (part->filename);
  g_free (part->content_id);
  g_free (part);
}

static void
tern_mime_composer_finalize (GObject *object)
{
  TernMimeComposer *self = TERN_MIME_COMPOSER (object);

  g_clear_object (&self->from);
  g_clear_object (&self->to);
  g_clear_object (&self->cc);
  g_clear_object (&self->bcc);
  g_free (self->sender);
  g_free (self->reply_to);
  g_free (self->subject);
  g_clear_pointer (&self->date, g_date_time_unref);
  g_free (self->text);
  g_free (self->html);
  g_ptr_array_unref (self->attachments);
  g_ptr_array_unref (self->images);
  g_ptr_array_unref (self->forwarded);
  g_free (self->in_reply_to);
  g_free (self->references);
  g_free (self->message_id);

  G_OBJECT_CLASS (tern_mime_composer_parent_class)->finalize (object);
}

static void
tern_mime_composer_class_init (TernMimeComposerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_mime_composer_finalize;
}

static void
tern_mime_composer_init (TernMimeComposer *self)
{
  tern_engine_init ();

  self->from = internet_address_list_new ();
  self->to = internet_address_list_new ();
  self->cc = internet_address_list_new ();
  self->bcc = internet_address_list_new ();
  self->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) file_part_free);
  self->images = g_ptr_array_new_with_free_func ((GDestroyNotify) file_part_free);
  self->forwarded = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

TernMimeComposer *
tern_mime_composer_new (void)
{
  return g_object_new (TERN_TYPE_MIME_COMPOSER, NULL);
}

/* An address that can go into an SMTP envelope: one @, no spaces, no
 * control characters or angle brackets. */
static gboolean
check_address (const char  *address,
               GError     **error)
{
  const char *at = address != NULL ? strchr (address, '@') : NULL;

  if (address == NULL || at == NULL || at == address || at[1] == '\0' ||
      strchr (at + 1, '@') != NULL || !g_utf8_validate (address, -1, NULL))
    goto invalid;
  for (const char *p = address; *p != '\0'; p++)
    if ((guchar) *p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == '"' || *p == 0x7f)
      goto invalid;
  return TRUE;

invalid:
  g_set_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_INVALID_ADDRESS,
               "“%s” is not an e-mail address", address != NULL ? address : "");
  return FALSE;
}

/**
 * tern_mime_composer_set_from:
 * @name: (nullable): the sender's name
 *
 * Sets the From address, which is also the envelope sender and gives the
 * Message-ID its domain.
 */
gboolean
tern_mime_composer_set_from (TernMimeComposer  *self,
                             const char        *name,
                             const char        *address,
                             GError           **error)
{
  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), FALSE);

  if (!check_address (address, error))
    return FALSE;
  internet_address_list_clear (self->from);
  {
    InternetAddress *mailbox = internet_address_mailbox_new (name, address);

    internet_address_list_add (self->from, mailbox);
    g_object_unref (mailbox);
  }
  g_free (self->sender);
  self->sender = g_strdup (address);
  return TRUE;
}

gboolean
tern_mime_composer_add_recipient (TernMimeComposer   *self,
                                  TernRecipientKind   kind,
                                  const char         *name,
                                  const char         *address,
                                  GError            **error)
{
  InternetAddress *mailbox;

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), FALSE);

  if (!check_address (address, error))
    return FALSE;

  /* Bcc reaches a header only in a draft (see build_message()). */
  mailbox = internet_address_mailbox_new (name, address);
  internet_address_list_add (kind == TERN_RECIPIENT_TO ? self->to
                             : kind == TERN_RECIPIENT_CC ? self->cc : self->bcc, mailbox);
  g_object_unref (mailbox);
  return TRUE;
}

/**
 * tern_mime_composer_add_recipients:
 * @list: addresses as a person writes them: "Ann <ann@example.org>,
 *   bob@example.org"
 *
 * Adds every address of @list; on error, none.
 */
gboolean
tern_mime_composer_add_recipients (TernMimeComposer   *self,
                                   TernRecipientKind   kind,
                                   const char         *list,
                                   GError            **error)
{
  g_autoptr(InternetAddressList) parsed = NULL;
  int n;

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), FALSE);

  parsed = internet_address_list_parse (NULL, list);
  n = parsed != NULL ? internet_address_list_length (parsed) : 0;
  if (n == 0)
    {
      g_set_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_INVALID_ADDRESS,
                   "“%s” holds no e-mail address", list);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      InternetAddress *address = internet_address_list_get_address (parsed, i);

      if (!INTERNET_ADDRESS_IS_MAILBOX (address) ||
          !check_address (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)),
                          error))
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, TERN_MIME_COMPOSER_ERROR,
                         TERN_MIME_COMPOSER_ERROR_INVALID_ADDRESS,
                         "Groups cannot be used as recipients here");
          return FALSE;
        }
    }
  for (int i = 0; i < n; i++)
    {
      InternetAddressMailbox *mailbox =
        INTERNET_ADDRESS_MAILBOX (internet_address_list_get_address (parsed, i));

      tern_mime_composer_add_recipient (self, kind,
                                        internet_address_get_name (INTERNET_ADDRESS (mailbox)),
                                        internet_address_mailbox_get_addr (mailbox), NULL);
    }
  return TRUE;
}

void
tern_mime_composer_set_reply_to (TernMimeComposer *self,
                                 const char       *address)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  g_free (self->reply_to);
  self->reply_to = g_strdup (address);
}

void
tern_mime_composer_set_subject (TernMimeComposer *self,
                                const char       *subject)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  g_free (self->subject);
  self->subject = g_strdup (subject);
}

void
tern_mime_composer_set_date (TernMimeComposer *self,
                             GDateTime        *date)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  g_clear_pointer (&self->date, g_date_time_unref);
  self->date = date != NULL ? g_date_time_ref (date) : NULL;
}

/**
 * tern_mime_composer_set_text:
 * @text: (nullable): the plain text, lines ending in "\n"
 *
 * Sets the text, sent as format=flowed.  With HTML too, it is the HTML's
 * text alternative; without, one is made from the HTML.
 */
void
tern_mime_composer_set_text (TernMimeComposer *self,
                             const char       *text)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  g_free (self->text);
  self->text = g_strdup (text);
}

void
tern_mime_composer_set_html (TernMimeComposer *self,
                             const char       *html)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  g_free (self->html);
  self->html = g_strdup (html);
}

static FilePart *
file_part_new (const char  *path,
               const char  *mime_type,
               GError     **error)
{
  FilePart *part;
  g_autofree char *guessed = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR) || g_access (path, R_OK) != 0)
    {
      g_set_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_FILE,
                   "Cannot attach “%s”: it is not a file Tern can read", path);
      return NULL;
    }

  if (mime_type == NULL)
    {
      g_autofree char *type = g_content_type_guess (path, NULL, 0, NULL);

      guessed = g_content_type_get_mime_type (type);
    }

  part = g_new0 (FilePart, 1);
  part->path = g_strdup (path);
  part->mime_type = g_strdup (mime_type != NULL ? mime_type
                              : guessed != NULL ? guessed : "application/octet-stream");
  part->filename = g_path_get_basename (path);
  return part;
}

/**
 * tern_mime_composer_add_attachment:
 * @mime_type: (nullable): its type, or %NULL to guess from the name
 *
 * Attaches a file.  It is read when the message is written, a piece at a
 * time: it must still be there then.
 */
gboolean
tern_mime_composer_add_attachment (TernMimeComposer  *self,
                                   const char        *path,
                                   const char        *mime_type,
                                   GError           **error)
{
  FilePart *part;

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), FALSE);

  part = file_part_new (path, mime_type, error);
  if (part == NULL)
    return FALSE;
  g_ptr_array_add (self->attachments, part);
  return TRUE;
}

/**
 * tern_mime_composer_add_inline_image:
 *
 * Adds an image that the HTML shows as "cid:" followed by the returned
 * Content-ID.
 *
 * Returns: (transfer full): the Content-ID, without angle brackets, or
 *   %NULL with @error set.
 */
char *
tern_mime_composer_add_inline_image (TernMimeComposer  *self,
                                     const char        *path,
                                     const char        *mime_type,
                                     GError           **error)
{
  FilePart *part;
  g_autofree char *random = g_uuid_string_random ();
  const char *at;

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), NULL);

  part = file_part_new (path, mime_type, error);
  if (part == NULL)
    return NULL;
  at = self->sender != NULL ? strchr (self->sender, '@') : NULL;
  part->content_id = g_strdup_printf ("%s@%s", random, at != NULL ? at + 1 : "tern.invalid");
  g_ptr_array_add (self->images, part);
  return g_strdup (part->content_id);
}

/**
 * tern_mime_composer_set_draft:
 * @draft: whether the message is a draft
 *
 * A draft is a message still being written: it may have no sender and no
 * recipient yet.  A draft keeps its Bcc recipients in a Bcc header, so that
 * they are there when it is opened again; a message that is not a draft
 * never has one.
 */
void
tern_mime_composer_set_draft (TernMimeComposer *self,
                              gboolean          draft)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  self->draft = !!draft;
}

/**
 * tern_mime_composer_add_forwarded:
 * @raw: a whole message
 *
 * Attaches a message as it is (message/rfc822), for forwarding.
 */
void
tern_mime_composer_add_forwarded (TernMimeComposer *self,
                                  GBytes           *raw)
{
  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));

  g_ptr_array_add (self->forwarded, g_bytes_ref (raw));
}

static char *
strip_angles (const char *id)
{
  g_autofree char *copy = g_strstrip (g_strdup (id));
  gsize length = strlen (copy);

  if (length >= 2 && copy[0] == '<' && copy[length - 1] == '>')
    return g_strndup (copy + 1, length - 2);
  return g_steal_pointer (&copy);
}

/**
 * tern_mime_composer_set_reply:
 * @parent_message_id: the Message-ID of the message replied to
 * @parent_references: (nullable): its References, ids separated by spaces
 *
 * Makes the message a reply: In-Reply-To names the parent, References
 * the parent's references and the parent (bounded, keeping the first).
 */
void
tern_mime_composer_set_reply (TernMimeComposer *self,
                              const char       *parent_message_id,
                              const char       *parent_references)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) parts = NULL;
  GString *references = g_string_new (NULL);

  g_return_if_fail (TERN_IS_MIME_COMPOSER (self));
  g_return_if_fail (parent_message_id != NULL);

  parts = g_strsplit_set (parent_references != NULL ? parent_references : "", " \t\r\n,", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_ptr_array_add (ids, strip_angles (parts[i]));
  g_ptr_array_add (ids, strip_angles (parent_message_id));

  /* Keep the thread's first id and the latest ones. */
  while (ids->len > MAX_REFERENCES)
    g_ptr_array_remove_index (ids, 1);

  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (references, "%s<%s>", i > 0 ? " " : "",
                            (char *) g_ptr_array_index (ids, i));

  g_free (self->in_reply_to);
  self->in_reply_to = g_strdup_printf ("<%s>", (char *) g_ptr_array_index (ids, ids->len - 1));
  g_free (self->references);
  self->references = g_string_free (references, FALSE);
}

/**
 * tern_mime_composer_get_message_id:
 *
 * Returns: the Message-ID, without angle brackets, made on the From
 *   address's domain the first time it is asked for.
 */
const char *
tern_mime_composer_get_message_id (TernMimeComposer *self)
{
  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), NULL);

  if (self->message_id == NULL)
    {
      g_autofree char *random = g_uuid_string_random ();
      const char *at = self->sender != NULL ? strchr (self->sender, '@') : NULL;
      gint64 now = g_get_real_time ();

      self->message_id = g_strdup_printf ("%" G_GINT64_MODIFIER "x.%s@%s", now, random,
                                          at != NULL ? at + 1 : "tern.invalid");
    }
  return self->message_id;
}

const char *
tern_mime_composer_get_sender (TernMimeComposer *self)
{
  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), NULL);

  return self->sender;
}

static void
add_unique (GPtrArray  *addresses,
            GHashTable *seen,
            const char *address)
{
  g_autofree char *key = g_utf8_casefold (address, -1);

  if (g_hash_table_add (seen, g_steal_pointer (&key)))
    g_ptr_array_add (addresses, g_strdup (address));
}

/**
 * tern_mime_composer_get_recipients:
 *
 * Returns: (transfer full): the envelope's recipients, To, Cc and Bcc,
 *   each once.
 */
GStrv
tern_mime_composer_get_recipients (TernMimeComposer *self)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  InternetAddressList *lists[] = { self->to, self->cc, self->bcc };

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), NULL);

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (int i = 0; i < internet_address_list_length (lists[l]); i++)
      {
        InternetAddress *address = internet_address_list_get_address (lists[l], i);

        add_unique (addresses, seen,
                    internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)));
      }
  g_ptr_array_add (addresses, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&addresses), FALSE);
}

/* Building */

/**
 * tern_mime_encode_flowed:
 * @text: plain text, lines ending in "\n" (a "\r" before it is dropped)
 *
 * Encodes @text as format=flowed (RFC 3676, DelSp=no): trailing spaces
 * are removed from every line (they would mark it as flowed), long lines
 * are cut after a space with that space left at the end of the piece,
 * lines that start with a space, ">" or "From " are space-stuffed, and
 * the signature separator "-- " stays as it is.  A quoted line (">" once
 * per level, together or spaced) keeps its depth: every piece of it
 * starts with the same quote marks, written together and followed by a
 * space.
 *
 * Returns: (transfer full): the encoded text, lines ending in "\n".
 */
char *
tern_mime_encode_flowed (const char *text)
{
  g_auto(GStrv) lines = NULL;
  GString *out = g_string_new (NULL);
  guint n;

  g_return_val_if_fail (text != NULL, NULL);

  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines);
  /* A final "\n" gives an empty last piece, which is no line. */
  if (n > 0 && *lines[n - 1] == '\0')
    n--;

  for (guint i = 0; i < n; i++)
    {
      char *line = lines[i];
      gsize length = strlen (line);
      gsize content;
      guint depth;
      glong width;
      const char *rest;

      if (length > 0 && line[length - 1] == '\r')
        line[--length] = '\0';
      depth = tern_mime_quote_depth (line, length, &content);
      if (!g_str_equal (line, "-- "))
        {
          while (length > content && line[length - 1] == ' ')
            line[--length] = '\0';
        }
      width = MAX (FLOWED_WIDTH - (glong) depth - 1, FLOWED_WIDTH / 2);

      rest = line + content;
      do
        {
          const char *cut = NULL;
          gsize piece;
          glong chars = g_utf8_strlen (rest, -1);

          if (chars > width)
            {
              /* The last space within the width, else the first after. */
              const char *p = rest;

              for (glong c = 0; *p != '\0'; c++, p = g_utf8_next_char (p))
                {
                  if (*p == ' ' && p != rest && p[1] != '\0')
                    {
                      if (c < width || cut == NULL)
                        cut = p + 1;
                      if (c >= width)
                        break;
                    }
                }
            }
          piece = cut != NULL ? (gsize) (cut - rest) : strlen (rest);

          if (depth > 0)
            {
              /* An empty quoted line is ">" alone: "> " would flow. */
              for (guint d = 0; d < depth; d++)
                g_string_append_c (out, '>');
              if (piece > 0)
                g_string_append_c (out, ' ');
            }
          else if (rest[0] == ' ' || rest[0] == '>' || g_str_has_prefix (rest, "From "))
            {
              g_string_append_c (out, ' ');
            }
          g_string_append_len (out, rest, piece);
          g_string_append_c (out, '\n');
          rest += piece;
        }
      while (*rest != '\0');
    }

  return g_string_free (out, FALSE);
}

/**
 * tern_mime_quote_text:
 * @attribution: (nullable): the line above the quote ("On …, Ann wrote:")
 *
 * Returns: (transfer full): @text quoted for a reply, "> " before each
 *   line (">" before an already quoted or empty one).
 */
char *
tern_mime_quote_text (const char *text,
                      const char *attribution)
{
  g_auto(GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);
  GString *out = g_string_new (NULL);
  guint n = g_strv_length (lines);

  if (n > 0 && *lines[n - 1] == '\0')
    n--;
  if (attribution != NULL)
    g_string_append_printf (out, "%s\n", attribution);
  for (guint i = 0; i < n; i++)
    {
      const char *line = lines[i];
      gsize length = strlen (line);

      if (length > 0 && line[length - 1] == '\r')
        length--;
      g_string_append (out, length == 0 || line[0] == '>' ? ">" : "> ");
      g_string_append_len (out, line, length);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static gboolean
has_prefix_casefold (const char *subject,
                     const char *prefix)
{
  return g_ascii_strncasecmp (subject, prefix, strlen (prefix)) == 0;
}

char *
tern_mime_reply_subject (const char *subject)
{
  const char *text = subject != NULL ? subject : "";

  while (*text == ' ')
    text++;
  if (has_prefix_casefold (text, "Re:"))
    return g_strdup (text);
  return g_strconcat ("Re: ", text, NULL);
}

char *
tern_mime_forward_subject (const char *subject)
{
  const char *text = subject != NULL ? subject : "";

  while (*text == ' ')
    text++;
  if (has_prefix_casefold (text, "Fwd:"))
    return g_strdup (text);
  return g_strconcat ("Fwd: ", text, NULL);
}

static GMimeObject *
text_part_new (const char *subtype,
               const char *text,
               gboolean    flowed)
{
  GMimeTextPart *part = g_mime_text_part_new_with_subtype (subtype);
  GMimeContentEncoding encoding;

  g_mime_text_part_set_text (part, text);
  if (flowed)
    g_mime_object_set_content_type_parameter (GMIME_OBJECT (part), "format", "flowed");
  encoding = g_mime_part_get_best_content_encoding (GMIME_PART (part),
                                                    GMIME_ENCODING_CONSTRAINT_7BIT);
  g_mime_part_set_content_encoding (GMIME_PART (part), encoding);
  return GMIME_OBJECT (part);
}

static GMimeObject *
file_part_build (FilePart  *file,
                 gboolean   is_inline,
                 GError   **error)
{
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeDataWrapper) wrapper = NULL;
  g_autoptr(GMimeContentType) type = NULL;
  GMimePart *part;

  stream = g_mime_stream_fs_open (file->path, O_RDONLY | O_CLOEXEC, 0, error);
  if (stream == NULL)
    {
      g_prefix_error (error, "Cannot attach “%s”: ", file->path);
      return NULL;
    }
  type = g_mime_content_type_parse (NULL, file->mime_type);
  part = g_mime_part_new_with_type (g_mime_content_type_get_media_type (type),
                                    g_mime_content_type_get_media_subtype (type));
  wrapper = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, wrapper);
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
  g_mime_object_set_disposition (GMIME_OBJECT (part), is_inline ? "inline" : "attachment");
  g_mime_part_set_filename (part, file->filename);
  if (file->content_id != NULL)
    g_mime_part_set_content_id (part, file->content_id);
  return GMIME_OBJECT (part);
}

static GMimeObject *
build_body (TernMimeComposer  *self,
            GError           **error)
{
  g_autoptr(GMimeObject) body = NULL;
  g_autofree char *flowed = NULL;

  if (self->html == NULL)
    {
      flowed = tern_mime_encode_flowed (self->text != NULL ? self->text : "");
      body = text_part_new ("plain", flowed, TRUE);
    }
  else
    {
      g_autoptr(GMimeObject) html = NULL;
      GMimeMultipart *alternative = g_mime_multipart_new_with_subtype ("alternative");

      if (self->text != NULL)
        {
          flowed = tern_mime_encode_flowed (self->text);
        }
      else
        {
          g_autoptr(GString) plain = g_string_new (NULL);

          tern_mime_html_to_text (self->html, strlen (self->html), G_MAXSIZE / 2, plain);
          flowed = tern_mime_encode_flowed (plain->str);
        }
      body = GMIME_OBJECT (alternative);
      {
        g_autoptr(GMimeObject) plain_part = text_part_new ("plain", flowed, TRUE);

        g_mime_multipart_add (alternative, plain_part);
      }

      html = text_part_new ("html", self->html, FALSE);
      if (self->images->len > 0)
        {
          GMimeMultipart *related = g_mime_multipart_new_with_subtype ("related");

          g_mime_multipart_add (related, html);
          for (guint i = 0; i < self->images->len; i++)
            {
              g_autoptr(GMimeObject) image = file_part_build (g_ptr_array_index (self->images, i),
                                                              TRUE, error);

              if (image == NULL)
                {
                  g_object_unref (related);
                  return NULL;
                }
              g_mime_multipart_add (related, image);
            }
          g_mime_multipart_add (alternative, GMIME_OBJECT (related));
          g_object_unref (related);
        }
      else
        {
          g_mime_multipart_add (alternative, html);
        }
    }

  if (self->attachments->len == 0 && self->forwarded->len == 0)
    return g_steal_pointer (&body);

  {
    GMimeMultipart *mixed = g_mime_multipart_new_with_subtype ("mixed");

    g_mime_multipart_add (mixed, body);
    for (guint i = 0; i < self->attachments->len; i++)
      {
        g_autoptr(GMimeObject) attachment = file_part_build (
          g_ptr_array_index (self->attachments, i), FALSE, error);

        if (attachment == NULL)
          {
            g_object_unref (mixed);
            return NULL;
          }
        g_mime_multipart_add (mixed, attachment);
      }
    for (guint i = 0; i < self->forwarded->len; i++)
      {
        GBytes *raw = g_ptr_array_index (self->forwarded, i);
        g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer (
          g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
        g_autoptr(GMimeParser) parser = g_mime_parser_new_with_stream (stream);
        g_autoptr(GMimeMessage) message = g_mime_parser_construct_message (parser, NULL);
        g_autoptr(GMimeMessagePart) part = NULL;

        if (message == NULL)
          continue;
        part = g_mime_message_part_new_with_message ("rfc822", message);
        g_mime_object_set_disposition (GMIME_OBJECT (part), "attachment");
        g_mime_multipart_add (mixed, GMIME_OBJECT (part));
      }
    return GMIME_OBJECT (mixed);
  }
}

static GMimeMessage *
build_message (TernMimeComposer  *self,
               GError           **error)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeObject) body = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_auto(GStrv) recipients = NULL;

  if (self->sender == NULL && !self->draft)
    {
      g_set_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_NO_SENDER,
                   "The message has no sender");
      return NULL;
    }
  recipients = tern_mime_composer_get_recipients (self);
  if (recipients[0] == NULL && !self->draft)
    {
      g_set_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_NO_RECIPIENT,
                   "The message has no recipient");
      return NULL;
    }

  body = build_body (self, error);
  if (body == NULL)
    return NULL;

  message = g_mime_message_new (TRUE);
  internet_address_list_append (g_mime_message_get_from (message), self->from);
  internet_address_list_append (g_mime_message_get_to (message), self->to);
  internet_address_list_append (g_mime_message_get_cc (message), self->cc);
  /* Only the user's own copy, still being written, names them. */
  if (self->draft)
    internet_address_list_append (g_mime_message_get_bcc (message), self->bcc);
  if (self->reply_to != NULL)
    g_mime_message_add_mailbox (message, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, self->reply_to);
  g_mime_message_set_subject (message, self->subject != NULL ? self->subject : "", "utf-8");
  now = self->date != NULL ? g_date_time_ref (self->date) : g_date_time_new_now_local ();
  g_mime_message_set_date (message, now);
  g_mime_message_set_message_id (message, tern_mime_composer_get_message_id (self));
  if (self->in_reply_to != NULL)
    {
      g_mime_object_set_header (GMIME_OBJECT (message), "In-Reply-To", self->in_reply_to, NULL);
      g_mime_object_set_header (GMIME_OBJECT (message), "References", self->references, NULL);
    }
  g_mime_message_set_mime_part (message, body);
  return g_steal_pointer (&message);
}

static GMimeFormatOptions *
format_options_new (TernMimeComposer *self)
{
  GMimeFormatOptions *options = g_mime_format_options_new ();

  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  /* Bcc never reaches the header of a message that goes out, whatever
   * was put in it. */
  if (!self->draft)
    g_mime_format_options_add_hidden_header (options, "Bcc");
  return options;
}

/**
 * tern_mime_composer_write_to_file:
 *
 * Writes the message to @path (created with mode 0600, replaced when it
 * exists), reading attachments as it goes.
 */
gboolean
tern_mime_composer_write_to_file (TernMimeComposer  *self,
                                  const char        *path,
                                  GError           **error)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeStream) stream = NULL;
  GMimeFormatOptions *options;
  gssize written;

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), FALSE);

  message = build_message (self, error);
  if (message == NULL)
    return FALSE;

  stream = g_mime_stream_fs_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600, error);
  if (stream == NULL)
    return FALSE;
  options = format_options_new (self);
  written = g_mime_object_write_to_stream (GMIME_OBJECT (message), options, stream);
  g_mime_format_options_free (options);
  if (written < 0 || g_mime_stream_flush (stream) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not write the message to “%s”: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * tern_mime_composer_to_bytes:
 *
 * Returns: (transfer full): the whole message in memory, or %NULL with
 *   @error set.
 */
GBytes *
tern_mime_composer_to_bytes (TernMimeComposer  *self,
                             GError           **error)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeStream) stream = NULL;
  GMimeFormatOptions *options;
  GByteArray *array;

  g_return_val_if_fail (TERN_IS_MIME_COMPOSER (self), NULL);

  message = build_message (self, error);
  if (message == NULL)
    return NULL;

  stream = g_mime_stream_mem_new ();
  options = format_options_new (self);
  if (g_mime_object_write_to_stream (GMIME_OBJECT (message), options, stream) < 0)
    {
      g_mime_format_options_free (options);
      g_set_error (error, TERN_MIME_COMPOSER_ERROR, TERN_MIME_COMPOSER_ERROR_FILE,
                   "Could not read an attachment while writing the message");
      return NULL;
    }
  g_mime_format_options_free (options);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  return g_bytes_new (array->data, array->len);
}
