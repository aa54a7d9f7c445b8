/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * ENVELOPE and BODYSTRUCTURE (RFC 9051, section 7.5.2) read from the value
 * trees the parser makes.  Servers differ in small ways, so only what Tern
 * needs is required: the fields the grammar makes mandatory.  Extension
 * data is read when it is there.  Every string that comes out is valid
 * UTF-8, whatever bytes the server sent.
 */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-imap-structure.h"

static gboolean
fail (GError    **error,
      const char *what,
      const char *why)
{
  g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE,
               "Bad %s: %s", what, why);
  return FALSE;
}

static const TernImapValue *
item (const TernImapValue *list,
      guint                i)
{
  if (list == NULL || list->kind != TERN_IMAP_VALUE_LIST || i >= list->items->len)
    return NULL;
  return g_ptr_array_index (list->items, i);
}

static guint
n_items (const TernImapValue *list)
{
  if (list == NULL || list->kind != TERN_IMAP_VALUE_LIST)
    return 0;
  return list->items->len;
}

static gboolean
is_stringish (const TernImapValue *value)
{
  /* Some servers send atoms where the grammar wants strings. */
  return value != NULL &&
         (value->kind == TERN_IMAP_VALUE_STRING || value->kind == TERN_IMAP_VALUE_ATOM ||
          value->kind == TERN_IMAP_VALUE_NUMBER);
}

static gboolean
is_nstringish (const TernImapValue *value)
{
  return value != NULL && (value->kind == TERN_IMAP_VALUE_NIL || is_stringish (value));
}

/* The bytes up to the first NUL, made valid UTF-8; NULL for NIL. */
static char *
utf8_of (const TernImapValue *value)
{
  if (!is_stringish (value))
    return NULL;
  return g_utf8_make_valid (value->str, -1);
}

static char *
lower_utf8_of (const TernImapValue *value)
{
  g_autofree char *s = NULL;

  if (!is_stringish (value))
    return NULL;
  /* Most are valid already: one copy, lowered, instead of two. */
  if (g_utf8_validate (value->str, -1, NULL))
    return g_ascii_strdown (value->str, -1);
  s = g_utf8_make_valid (value->str, -1);
  return g_ascii_strdown (s, -1);
}

/* A header's text, RFC 2047 encoded words decoded. */
static char *
header_text_of (const TernImapValue *value)
{
  g_autofree char *decoded = NULL;

  if (!is_stringish (value))
    return NULL;
  decoded = g_mime_utils_header_decode_text (NULL, value->str);
  if (decoded == NULL)
    return utf8_of (value);
  return g_utf8_make_valid (decoded, -1);
}

/* Envelopes */

static void
address_free (gpointer data)
{
  TernImapAddress *address = data;

  g_free (address->name);
  g_free (address->adl);
  g_free (address->mailbox);
  g_free (address->host);
  g_free (address->address);
  g_free (address->group);
  g_free (address);
}

/*
 * A walk over an ENVELOPE or a BODYSTRUCTURE.  With @build it makes the
 * structs; without, the same checks run and nothing is allocated, for a
 * caller that needs to know only that the value is sound and whether a
 * part is an attachment (@attachment, set by both).
 */
typedef struct
{
  gboolean build;
  gboolean attachment;
} Walk;

/* Whether @value, as lower_utf8_of() would give it, is @word (lower
 * case, ASCII): found without a copy. */
static gboolean
is_word (const TernImapValue *value,
         const char          *word)
{
  /* Bytes that are not UTF-8 would be replaced by U+FFFD, never ASCII;
   * valid ones not ASCII never match an ASCII word either. */
  return is_stringish (value) && g_ascii_strcasecmp (value->str, word) == 0;
}

static gboolean
decode_addresses (Walk                *walk,
                  const TernImapValue *value,
                  GPtrArray          **out,
                  GError             **error)
{
  g_autoptr(GPtrArray) addresses = NULL;
  g_autofree char *group = NULL;

  if (walk->build)
    addresses = g_ptr_array_new_with_free_func (address_free);
  if (value != NULL && value->kind == TERN_IMAP_VALUE_NIL)
    {
      if (out != NULL)
        *out = g_steal_pointer (&addresses);
      return TRUE;
    }
  if (value == NULL || value->kind != TERN_IMAP_VALUE_LIST)
    return fail (error, "ENVELOPE", "an address list is neither a list nor NIL");

  for (guint i = 0; i < value->items->len; i++)
    {
      const TernImapValue *a = g_ptr_array_index (value->items, i);
      const TernImapValue *mailbox = item (a, 2);
      const TernImapValue *host = item (a, 3);
      TernImapAddress *address;

      if (n_items (a) != 4 || !is_nstringish (item (a, 0)) || !is_nstringish (item (a, 1)) ||
          !is_nstringish (mailbox) || !is_nstringish (host))
        return fail (error, "ENVELOPE", "an address is not a list of four strings");

      if (!walk->build)
        continue;

      /* Group syntax: a NIL host starts a group named by the mailbox; NIL
       * in both ends it. */
      if (host->kind == TERN_IMAP_VALUE_NIL)
        {
          g_clear_pointer (&group, g_free);
          if (mailbox->kind != TERN_IMAP_VALUE_NIL)
            group = header_text_of (mailbox);
          continue;
        }

      address = g_new0 (TernImapAddress, 1);
      address->name = header_text_of (item (a, 0));
      address->adl = utf8_of (item (a, 1));
      address->mailbox = utf8_of (mailbox);
      address->host = utf8_of (host);
      if (address->mailbox == NULL)
        address->address = g_strdup (address->host);
      else if (address->host[0] == '\0')
        address->address = g_strdup (address->mailbox);
      else
        address->address = g_strconcat (address->mailbox, "@", address->host, NULL);
      address->group = g_strdup (group);
      g_ptr_array_add (addresses, address);
    }

  if (out != NULL)
    *out = g_steal_pointer (&addresses);
  return TRUE;
}

/**
 * tern_imap_envelope_free:
 * @envelope: (transfer full) (nullable): an envelope
 */
void
tern_imap_envelope_free (TernImapEnvelope *envelope)
{
  if (envelope == NULL)
    return;
  g_free (envelope->date);
  g_clear_pointer (&envelope->date_time, g_date_time_unref);
  g_free (envelope->subject);
  g_clear_pointer (&envelope->from, g_ptr_array_unref);
  g_clear_pointer (&envelope->sender, g_ptr_array_unref);
  g_clear_pointer (&envelope->reply_to, g_ptr_array_unref);
  g_clear_pointer (&envelope->to, g_ptr_array_unref);
  g_clear_pointer (&envelope->cc, g_ptr_array_unref);
  g_clear_pointer (&envelope->bcc, g_ptr_array_unref);
  g_free (envelope->in_reply_to);
  g_free (envelope->message_id);
  g_free (envelope);
}

/**
 * tern_imap_envelope_decode:
 * @value: the value after ENVELOPE in a FETCH response
 * @error: return location for an error
 *
 * Returns: (transfer full): the envelope, or %NULL with
 *   %TERN_IMAP_ERROR_BAD_RESPONSE when @value is not one
 */
static gboolean
decode_envelope (Walk                 *walk,
                 const TernImapValue  *value,
                 TernImapEnvelope    **out,
                 GError              **error)
{
  g_autoptr(TernImapEnvelope) envelope = NULL;
  GPtrArray **lists[6] = { NULL };

  if (n_items (value) != 10)
    return fail (error, "ENVELOPE", "it is not a list of ten fields");
  if (!is_nstringish (item (value, 0)) || !is_nstringish (item (value, 1)) ||
      !is_nstringish (item (value, 8)) || !is_nstringish (item (value, 9)))
    return fail (error, "ENVELOPE", "a header field is not a string");

  if (walk->build)
    {
      envelope = g_new0 (TernImapEnvelope, 1);
      envelope->date = utf8_of (item (value, 0));
      if (envelope->date != NULL)
        envelope->date_time = g_mime_utils_header_decode_date (envelope->date);
      envelope->subject = header_text_of (item (value, 1));
      envelope->in_reply_to = utf8_of (item (value, 8));
      envelope->message_id = utf8_of (item (value, 9));

      lists[0] = &envelope->from;
      lists[1] = &envelope->sender;
      lists[2] = &envelope->reply_to;
      lists[3] = &envelope->to;
      lists[4] = &envelope->cc;
      lists[5] = &envelope->bcc;
    }
  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    if (!decode_addresses (walk, item (value, 2 + i), lists[i], error))
      return FALSE;

  if (out != NULL)
    *out = g_steal_pointer (&envelope);
  return TRUE;
}

TernImapEnvelope *
tern_imap_envelope_decode (const TernImapValue  *value,
                           GError              **error)
{
  Walk walk = { TRUE, FALSE };
  TernImapEnvelope *envelope = NULL;

  if (!decode_envelope (&walk, value, &envelope, error))
    return NULL;
  return envelope;
}

/* Body structures */

static void
param_free (gpointer data)
{
  TernImapParam *param = data;

  g_free (param->name);
  g_free (param->value);
  g_free (param);
}

static gboolean
decode_params (Walk                *walk,
               const TernImapValue *value,
               GPtrArray          **out,
               GError             **error)
{
  g_autoptr(GPtrArray) params = NULL;

  if (walk->build)
    params = g_ptr_array_new_with_free_func (param_free);

  if (value != NULL && value->kind == TERN_IMAP_VALUE_LIST)
    {
      if (value->items->len % 2 != 0)
        return fail (error, "BODYSTRUCTURE", "parameters do not come in pairs");
      for (guint i = 0; i < value->items->len; i += 2)
        {
          TernImapParam *param;

          if (!is_stringish (item (value, i)) || !is_nstringish (item (value, i + 1)))
            return fail (error, "BODYSTRUCTURE", "a parameter is not a string");
          if (!walk->build)
            continue;
          param = g_new0 (TernImapParam, 1);
          param->name = lower_utf8_of (item (value, i));
          param->value = utf8_of (item (value, i + 1));
          if (param->value == NULL)
            param->value = g_strdup ("");
          g_ptr_array_add (params, param);
        }
    }
  else if (value != NULL && value->kind != TERN_IMAP_VALUE_NIL)
    {
      return fail (error, "BODYSTRUCTURE", "parameters are neither a list nor NIL");
    }

  if (out != NULL)
    *out = g_steal_pointer (&params);
  return TRUE;
}

/* Disposition, language and location: the extension data both kinds of
 * part end with, from item @i on. */
static gboolean
decode_extensions (Walk                *walk,
                   TernImapBodyPart    *part,
                   const TernImapValue *value,
                   guint                i,
                   GError             **error)
{
  const TernImapValue *dsp = item (value, i);
  const TernImapValue *lang = item (value, i + 1);
  const TernImapValue *loc = item (value, i + 2);

  if (dsp != NULL && dsp->kind == TERN_IMAP_VALUE_LIST)
    {
      if (!is_stringish (item (dsp, 0)))
        return fail (error, "BODYSTRUCTURE", "a disposition without a name");
      walk->attachment |= is_word (item (dsp, 0), "attachment");
      if (part != NULL)
        {
          part->disposition = lower_utf8_of (item (dsp, 0));
          g_clear_pointer (&part->disposition_params, g_ptr_array_unref);
        }
      if (!decode_params (walk, item (dsp, 1), part != NULL ? &part->disposition_params : NULL,
                          error))
        return FALSE;
    }
  else if (is_stringish (dsp))
    {
      walk->attachment |= is_word (dsp, "attachment");
      if (part != NULL)
        part->disposition = lower_utf8_of (dsp);
    }

  if (part == NULL)
    return TRUE;

  if (lang != NULL && lang->kind == TERN_IMAP_VALUE_LIST)
    {
      GStrvBuilder *builder = g_strv_builder_new ();

      for (guint j = 0; j < lang->items->len; j++)
        if (is_stringish (item (lang, j)))
          {
            g_autofree char *tag = utf8_of (item (lang, j));

            g_strv_builder_add (builder, tag);
          }
      part->language = g_strv_builder_end (builder);
      g_strv_builder_unref (builder);
    }
  else if (is_stringish (lang))
    {
      part->language = g_new0 (char *, 2);
      part->language[0] = utf8_of (lang);
    }

  part->location = utf8_of (loc);
  return TRUE;
}

static TernImapBodyPart *
part_new (const char *section)
{
  TernImapBodyPart *part = g_new0 (TernImapBodyPart, 1);

  part->section = g_strdup (section);
  part->children = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_body_part_free);
  part->disposition_params = g_ptr_array_new_with_free_func (param_free);
  return part;
}

/**
 * tern_imap_body_part_free:
 * @part: (transfer full) (nullable): a part, with its children
 */
void
tern_imap_body_part_free (TernImapBodyPart *part)
{
  if (part == NULL)
    return;
  g_free (part->section);
  g_free (part->type);
  g_free (part->subtype);
  g_clear_pointer (&part->params, g_ptr_array_unref);
  g_free (part->id);
  g_free (part->description);
  g_free (part->encoding);
  g_free (part->md5);
  g_free (part->disposition);
  g_clear_pointer (&part->disposition_params, g_ptr_array_unref);
  g_strfreev (part->language);
  g_free (part->location);
  tern_imap_envelope_free (part->envelope);
  g_clear_pointer (&part->children, g_ptr_array_unref);
  g_free (part);
}

/* @prefix numbers a multipart (its children are prefix.1, prefix.2...);
 * @single numbers any other part.  Without @walk->build, neither is used
 * and *@out is left alone. */
static gboolean
decode_body (Walk                 *walk,
             const TernImapValue  *value,
             const char           *prefix,
             const char           *single,
             guint                 depth,
             TernImapBodyPart    **out,
             GError              **error)
{
  g_autoptr(TernImapBodyPart) part = NULL;
  guint n = n_items (value);
  guint i = 0;
  gboolean is_message;
  gboolean is_text;

  if (depth > TERN_IMAP_MAX_DEPTH)
    return fail (error, "BODYSTRUCTURE", "parts nested too deep");
  if (n == 0)
    return fail (error, "BODYSTRUCTURE", "a body is not a non-empty list");

  if (item (value, 0)->kind == TERN_IMAP_VALUE_LIST)
    {
      if (walk->build)
        {
          part = part_new (prefix);
          part->type = g_strdup ("multipart");
        }
      for (; i < n && item (value, i)->kind == TERN_IMAP_VALUE_LIST; i++)
        {
          g_autofree char *section = NULL;
          TernImapBodyPart *child = NULL;

          if (walk->build)
            section = prefix[0] == '\0' ? g_strdup_printf ("%u", i + 1)
                                         : g_strdup_printf ("%s.%u", prefix, i + 1);
          if (!decode_body (walk, item (value, i), section, section, depth + 1, &child, error))
            return FALSE;
          if (walk->build)
            g_ptr_array_add (part->children, child);
        }
      if (!is_stringish (item (value, i)))
        return fail (error, "BODYSTRUCTURE", "a multipart without a subtype");
      if (walk->build)
        part->subtype = lower_utf8_of (item (value, i));
      i++;
      if (!decode_params (walk, item (value, i), part != NULL ? &part->params : NULL, error) ||
          !decode_extensions (walk, part, value, i + 1, error))
        return FALSE;
      if (out != NULL && walk->build)
        *out = g_steal_pointer (&part);
      return TRUE;
    }

  if (n < 7 || !is_nstringish (item (value, 0)) || !is_nstringish (item (value, 1)))
    return fail (error, "BODYSTRUCTURE", "a part without its seven basic fields");

  /* A NIL type is text, a NIL subtype plain. */
  is_message = is_word (item (value, 0), "message") &&
               (is_word (item (value, 1), "rfc822") || is_word (item (value, 1), "global"));
  is_text = item (value, 0)->kind == TERN_IMAP_VALUE_NIL || is_word (item (value, 0), "text");

  if (walk->build)
    {
      part = part_new (single);
      part->type = lower_utf8_of (item (value, 0));
      part->subtype = lower_utf8_of (item (value, 1));
      if (part->type == NULL)
        part->type = g_strdup ("text");
      if (part->subtype == NULL)
        part->subtype = g_strdup ("plain");
    }
  if (!decode_params (walk, item (value, 2), part != NULL ? &part->params : NULL, error))
    return FALSE;
  if (walk->build)
    {
      part->id = utf8_of (item (value, 3));
      part->description = header_text_of (item (value, 4));
      part->encoding = lower_utf8_of (item (value, 5));
    }
  if (item (value, 6)->kind != TERN_IMAP_VALUE_NUMBER)
    return fail (error, "BODYSTRUCTURE", "a part's size is not a number");
  if (walk->build)
    part->size = item (value, 6)->number;
  i = 7;

  if (is_message && n_items (item (value, 7)) > 0 && n_items (item (value, 8)) > 0)
    {
      g_autofree char *inner_single = NULL;
      TernImapBodyPart *child = NULL;

      if (!decode_envelope (walk, item (value, 7), part != NULL ? &part->envelope : NULL, error))
        return FALSE;
      if (walk->build)
        inner_single = g_strdup_printf ("%s.1", single);
      if (!decode_body (walk, item (value, 8), single, inner_single, depth + 1, &child, error))
        return FALSE;
      if (walk->build)
        g_ptr_array_add (part->children, child);
      if (item (value, 9) == NULL || item (value, 9)->kind != TERN_IMAP_VALUE_NUMBER)
        return fail (error, "BODYSTRUCTURE", "an attached message without its size in lines");
      if (walk->build)
        part->lines = item (value, 9)->number;
      i = 10;
    }
  else if (is_text)
    {
      if (item (value, 7) == NULL || item (value, 7)->kind != TERN_IMAP_VALUE_NUMBER)
        return fail (error, "BODYSTRUCTURE", "a text part without its size in lines");
      if (walk->build)
        part->lines = item (value, 7)->number;
      i = 8;
    }

  if (walk->build)
    part->md5 = utf8_of (item (value, i));
  if (!decode_extensions (walk, part, value, i + 1, error))
    return FALSE;
  if (out != NULL && walk->build)
    *out = g_steal_pointer (&part);
  return TRUE;
}

/**
 * tern_imap_body_part_decode:
 * @value: the value after BODYSTRUCTURE (or BODY) in a FETCH response
 * @error: return location for an error
 *
 * Returns: (transfer full): the message's part tree, or %NULL with
 *   %TERN_IMAP_ERROR_BAD_RESPONSE
 */
TernImapBodyPart *
tern_imap_body_part_decode (const TernImapValue  *value,
                            GError              **error)
{
  Walk walk = { TRUE, FALSE };
  TernImapBodyPart *part = NULL;

  if (!decode_body (&walk, value, "", "1", 0, &part, error))
    return NULL;
  return part;
}

/**
 * tern_imap_body_structure_check:
 * @value: the value after BODYSTRUCTURE (or BODY) in a FETCH response
 * @out_attachment: (out) (optional): whether a part of it has the
 *   disposition "attachment"
 * @error: return location for an error
 *
 * Runs every check tern_imap_body_part_decode() runs on @value, and fails
 * exactly when it would, without making the part tree: for the many
 * messages of a sync, of which nothing more is needed.
 *
 * Returns: %TRUE when @value is a sound BODYSTRUCTURE
 */
gboolean
tern_imap_body_structure_check (const TernImapValue  *value,
                                gboolean             *out_attachment,
                                GError              **error)
{
  Walk walk = { FALSE, FALSE };

  if (!decode_body (&walk, value, NULL, NULL, 0, NULL, error))
    return FALSE;
  if (out_attachment != NULL)
    *out_attachment = walk.attachment;
  return TRUE;
}

/**
 * tern_imap_body_part_is_multipart:
 * @part: a part
 *
 * Returns: whether @part is a multipart
 */
gboolean
tern_imap_body_part_is_multipart (const TernImapBodyPart *part)
{
  return strcmp (part->type, "multipart") == 0;
}

static const char *
find_param (GPtrArray  *params,
            const char *name)
{
  if (params == NULL)
    return NULL;
  for (guint i = 0; i < params->len; i++)
    {
      TernImapParam *param = g_ptr_array_index (params, i);

      if (g_ascii_strcasecmp (param->name, name) == 0)
        return param->value;
    }
  return NULL;
}

/**
 * tern_imap_body_part_get_param:
 * @part: a part
 * @name: a Content-Type parameter's name, in any case
 *
 * Returns: (transfer none) (nullable): the parameter's value
 */
const char *
tern_imap_body_part_get_param (const TernImapBodyPart *part,
                               const char             *name)
{
  return find_param (part->params, name);
}

/* An RFC 2231 value in one piece: charset'language'percent-encoded. */
static char *
decode_rfc2231 (const char *value)
{
  const char *q1 = strchr (value, '\'');
  const char *q2 = q1 != NULL ? strchr (q1 + 1, '\'') : NULL;
  g_autofree char *charset = NULL;
  g_autofree char *raw = NULL;
  char *converted;

  if (q2 == NULL)
    return g_strdup (value);
  charset = g_strndup (value, q1 - value);
  raw = g_uri_unescape_string (q2 + 1, NULL);
  if (raw == NULL)
    return g_strdup (value);
  if (charset[0] == '\0' || g_ascii_strcasecmp (charset, "utf-8") == 0)
    return g_utf8_make_valid (raw, -1);
  converted = g_convert (raw, -1, "UTF-8", charset, NULL, NULL, NULL);
  if (converted == NULL)
    return g_utf8_make_valid (raw, -1);
  return converted;
}

/**
 * tern_imap_body_part_get_filename:
 * @part: a part
 *
 * Finds the part's file name where mail programs put it: the disposition's
 * filename, else the Content-Type's name, each either plain (RFC 2047
 * encoded words decoded) or in the RFC 2231 form in one piece.
 *
 * Returns: (transfer full) (nullable): the file name in UTF-8
 */
char *
tern_imap_body_part_get_filename (const TernImapBodyPart *part)
{
  const char *value;
  char *decoded;

  if ((value = find_param (part->disposition_params, "filename*")) != NULL ||
      (value = find_param (part->params, "name*")) != NULL)
    return decode_rfc2231 (value);

  if ((value = find_param (part->disposition_params, "filename")) == NULL &&
      (value = find_param (part->params, "name")) == NULL)
    return NULL;

  decoded = g_mime_utils_header_decode_text (NULL, value);
  if (decoded == NULL)
    return g_strdup (value);
  if (!g_utf8_validate (decoded, -1, NULL))
    {
      char *valid = g_utf8_make_valid (decoded, -1);

      g_free (decoded);
      return valid;
    }
  return decoded;
}

/**
 * tern_imap_body_part_find:
 * @part: the root of a part tree
 * @section: a part number ("1.2")
 *
 * Returns: (transfer none) (nullable): the part numbered @section; a
 *   non-multipart part when a multipart shares its number
 */
const TernImapBodyPart *
tern_imap_body_part_find (const TernImapBodyPart *part,
                          const char             *section)
{
  const TernImapBodyPart *found = NULL;

  if (strcmp (part->section, section) == 0 && !tern_imap_body_part_is_multipart (part))
    return part;
  if (strcmp (part->section, section) == 0)
    found = part;
  for (guint i = 0; i < part->children->len; i++)
    {
      const TernImapBodyPart *inner = tern_imap_body_part_find (g_ptr_array_index (part->children, i),
                                                                section);

      if (inner != NULL && !tern_imap_body_part_is_multipart (inner))
        return inner;
      if (inner != NULL && found == NULL)
        found = inner;
    }
  return found;
}
