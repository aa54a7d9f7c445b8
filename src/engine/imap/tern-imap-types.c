/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tern-imap-client-private.h"

/* UID sets */

static gboolean
parse_uid (const char  *start,
           const char  *end,
           guint32     *out)
{
  guint64 value = 0;

  if (start == end || end - start > 10)
    return FALSE;
  for (const char *p = start; p < end; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (guint64) (*p - '0');
    }
  if (value == 0 || value > G_MAXUINT32)
    return FALSE;
  *out = (guint32) value;
  return TRUE;
}

/**
 * tern_imap_uid_set_parse:
 * @text: a sequence set of UIDs as IMAP writes it ("1:5,9,12:10"); "*" is
 *   not accepted, since only the server knows what it stands for
 *
 * Returns: (transfer full) (element-type TernImapUidRange): the ranges, in
 *   the order given, each with @first <= @last; or %NULL with
 *   %TERN_IMAP_ERROR_BAD_RESPONSE when @text is not a UID set
 */
GArray *
tern_imap_uid_set_parse (const char  *text,
                         GError     **error)
{
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  const char *p = text;

  g_return_val_if_fail (text != NULL, NULL);

  while (*p != '\0')
    {
      const char *comma = strchr (p, ',');
      const char *end = comma != NULL ? comma : p + strlen (p);
      const char *colon = memchr (p, ':', end - p);
      TernImapUidRange range;

      if (colon != NULL)
        {
          guint32 a = 0;
          guint32 b = 0;

          if (!parse_uid (p, colon, &a) || !parse_uid (colon + 1, end, &b))
            goto bad;
          range.first = MIN (a, b);
          range.last = MAX (a, b);
        }
      else
        {
          if (!parse_uid (p, end, &range.first))
            goto bad;
          range.last = range.first;
        }
      g_array_append_val (ranges, range);
      if (comma == NULL)
        break;
      p = comma + 1;
      if (*p == '\0')
        goto bad;
    }
  if (ranges->len == 0)
    goto bad;
  return g_steal_pointer (&ranges);

bad:
  g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE,
               "“%.64s” is not a set of UIDs", text);
  return NULL;
}

/**
 * tern_imap_uid_set_to_string:
 * @ranges: (element-type TernImapUidRange): ranges
 *
 * Returns: (transfer full): the set as IMAP writes it
 */
char *
tern_imap_uid_set_to_string (const GArray *ranges)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ranges->len; i++)
    {
      const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      if (i > 0)
        g_string_append_c (text, ',');
      if (range->first == range->last)
        g_string_append_printf (text, "%u", range->first);
      else
        g_string_append_printf (text, "%u:%u", range->first, range->last);
    }
  return g_string_free (text, FALSE);
}

static int
compare_uids (gconstpointer a,
              gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

/**
 * tern_imap_uid_set_from_uids:
 * @uids: (array length=n_uids): UIDs in any order; 0 is left out
 *
 * Returns: (transfer full): the shortest set of sorted ranges holding them,
 *   "" when there are none
 */
char *
tern_imap_uid_set_from_uids (const guint32 *uids,
                             gsize          n_uids)
{
  g_autofree guint32 *sorted = g_memdup2 (uids, n_uids * sizeof (guint32));
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));

  if (n_uids > 0)
    qsort (sorted, n_uids, sizeof (guint32), compare_uids);
  for (gsize i = 0; i < n_uids; i++)
    {
      TernImapUidRange *last = ranges->len > 0
                               ? &g_array_index (ranges, TernImapUidRange, ranges->len - 1)
                               : NULL;

      if (sorted[i] == 0)
        continue;
      if (last != NULL && (sorted[i] == last->last || sorted[i] == last->last + 1))
        {
          last->last = sorted[i];
        }
      else
        {
          TernImapUidRange range = { sorted[i], sorted[i] };

          g_array_append_val (ranges, range);
        }
    }
  return tern_imap_uid_set_to_string (ranges);
}

/**
 * tern_imap_uid_set_count:
 *
 * Returns: how many UIDs the ranges hold, counting overlaps twice
 */
guint64
tern_imap_uid_set_count (const GArray *ranges)
{
  guint64 count = 0;

  for (guint i = 0; ranges != NULL && i < ranges->len; i++)
    {
      const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      count += (guint64) range->last - range->first + 1;
    }
  return count;
}

gboolean
tern_imap_uid_set_contains (const GArray *ranges,
                            guint32       uid)
{
  for (guint i = 0; ranges != NULL && i < ranges->len; i++)
    {
      const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      if (uid >= range->first && uid <= range->last)
        return TRUE;
    }
  return FALSE;
}

/* Boxes */

void
tern_imap_mailbox_free (TernImapMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  g_free (mailbox->name);
  g_free (mailbox);
}

typedef struct
{
  char *name;
  GBytes *bytes;
} Section;

static void
section_free (Section *section)
{
  g_free (section->name);
  g_bytes_unref (section->bytes);
  g_free (section);
}

void
tern_imap_fetch_free (TernImapFetch *fetch)
{
  if (fetch == NULL)
    return;
  g_strfreev (fetch->flags);
  g_clear_pointer (&fetch->internal_date, g_date_time_unref);
  g_clear_pointer (&fetch->envelope, tern_imap_envelope_free);
  g_clear_pointer (&fetch->structure, tern_imap_body_part_free);
  g_clear_pointer (&fetch->response, tern_imap_response_unref);
  g_clear_pointer (&fetch->sections, g_ptr_array_unref);
  g_free (fetch);
}

/**
 * tern_imap_fetch_get_section:
 * @section: what was in the brackets of BODY[...], in any case: "" for the
 *   whole message, "HEADER", "1.2", "HEADER.FIELDS (REFERENCES)"; RFC822,
 *   RFC822.HEADER and RFC822.TEXT count as "", "HEADER" and "TEXT"
 *
 * Returns: (transfer none) (nullable): the section's bytes (empty for NIL),
 *   or %NULL when the response did not hold it
 */
GBytes *
tern_imap_fetch_get_section (const TernImapFetch *fetch,
                             const char          *section)
{
  g_return_val_if_fail (fetch != NULL, NULL);
  g_return_val_if_fail (section != NULL, NULL);

  for (guint i = 0; fetch->sections != NULL && i < fetch->sections->len; i++)
    {
      Section *candidate = g_ptr_array_index (fetch->sections, i);

      /* Names are kept in upper case, as callers mostly ask: an exact
       * match is found without folding a long name letter by letter. */
      if (strcmp (candidate->name, section) == 0 ||
          g_ascii_strcasecmp (candidate->name, section) == 0)
        return candidate->bytes;
    }
  return NULL;
}

/**
 * tern_imap_fetch_get_body_structure:
 *
 * The part tree of the BODYSTRUCTURE (or BODY), made on the first call
 * (from the response the fetch holds) and kept with @fetch.
 *
 * Returns: (transfer none) (nullable): the tree, or %NULL when the
 *   response held none
 */
const TernImapBodyPart *
tern_imap_fetch_get_body_structure (const TernImapFetch *fetch)
{
  TernImapFetch *self = (TernImapFetch *) fetch;

  g_return_val_if_fail (fetch != NULL, NULL);

  /* Checked already when the response was decoded: this cannot fail. */
  if (self->structure == NULL && self->structure_value != NULL)
    self->structure = tern_imap_body_part_decode (self->structure_value, NULL);
  return self->structure;
}

gboolean
tern_imap_fetch_has_flag (const TernImapFetch *fetch,
                          const char          *flag)
{
  g_return_val_if_fail (fetch != NULL, FALSE);

  for (guint i = 0; fetch->flags != NULL && fetch->flags[i] != NULL; i++)
    if (g_ascii_strcasecmp (fetch->flags[i], flag) == 0)
      return TRUE;
  return FALSE;
}

void
tern_imap_selected_free (TernImapSelected *selected)
{
  if (selected == NULL)
    return;
  g_free (selected->mailbox);
  g_strfreev (selected->flags);
  g_strfreev (selected->permanent_flags);
  g_clear_pointer (&selected->vanished, g_array_unref);
  g_clear_pointer (&selected->changed, g_ptr_array_unref);
  g_free (selected);
}

void
tern_imap_quota_free (TernImapQuota *quota)
{
  if (quota == NULL)
    return;
  g_free (quota->root);
  g_free (quota);
}

void
tern_imap_namespace_free (TernImapNamespace *ns)
{
  if (ns == NULL)
    return;
  g_free (ns->prefix);
  g_free (ns);
}

void
tern_imap_namespaces_free (TernImapNamespaces *namespaces)
{
  if (namespaces == NULL)
    return;
  g_clear_pointer (&namespaces->personal, g_ptr_array_unref);
  g_clear_pointer (&namespaces->other_users, g_ptr_array_unref);
  g_clear_pointer (&namespaces->shared, g_ptr_array_unref);
  g_free (namespaces);
}

void
tern_imap_copy_result_free (TernImapCopyResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->source_uids, g_array_unref);
  g_clear_pointer (&result->dest_uids, g_array_unref);
  g_free (result);
}

/* Decoding FETCH */

static const char * const month_names[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* The time zone of the last INTERNALDATE read on this thread: a folder's
 * dates mostly share a handful of zones, and making one costs more than
 * reading the date. */
typedef struct
{
  char sign;
  int zone;
  GTimeZone *tz;
} ZoneCache;

static void
zone_cache_free (gpointer data)
{
  ZoneCache *cache = data;

  g_clear_pointer (&cache->tz, g_time_zone_unref);
  g_free (cache);
}

static GPrivate zone_cache = G_PRIVATE_INIT (zone_cache_free);

/* (transfer full) */
static GTimeZone *
zone_new (char sign,
          int  zone)
{
  ZoneCache *cache = g_private_get (&zone_cache);
  g_autofree char *offset = NULL;
  GTimeZone *tz;

  if (cache != NULL && cache->tz != NULL && cache->sign == sign && cache->zone == zone)
    return g_time_zone_ref (cache->tz);

  offset = g_strdup_printf ("%c%02d:%02d", sign, zone / 100, zone % 100);
  tz = g_time_zone_new_identifier (offset);
  if (tz == NULL)
    return NULL;

  if (cache == NULL)
    {
      cache = g_new0 (ZoneCache, 1);
      g_private_set (&zone_cache, cache);
    }
  g_clear_pointer (&cache->tz, g_time_zone_unref);
  cache->sign = sign;
  cache->zone = zone;
  cache->tz = g_time_zone_ref (tz);
  return tz;
}

static gboolean
read_digits (const char *text,
             guint       count,
             int        *out)
{
  int value = 0;

  for (guint i = 0; i < count; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (text[i] - '0');
    }
  *out = value;
  return TRUE;
}

/* "17-Jul-1996 02:44:25 -0700"; the day may start with a space. */
static GDateTime *
parse_internal_date (const char *text)
{
  int day = 0;
  char month[4] = { 0 };
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  char sign = 0;
  int zone = 0;
  int month_number = 0;
  g_autoptr(GTimeZone) tz = NULL;

  while (*text == ' ')
    text++;

  /* The form servers send, read directly; anything else as before. */
  if (strlen (text) == 25 && text[1] == '-' && text[5] == '-' && text[10] == ' ' &&
      text[13] == ':' && text[16] == ':' && text[19] == ' ' &&
      read_digits (text, 1, &day) && read_digits (text + 6, 4, &year) &&
      read_digits (text + 11, 2, &hour) && read_digits (text + 14, 2, &minute) &&
      read_digits (text + 17, 2, &second) && read_digits (text + 21, 4, &zone))
    {
      /* " 7-Jul-1996 ...": the leading space went above. */
      memcpy (month, text + 2, 3);
      sign = text[20];
    }
  else if (strlen (text) == 26 && text[2] == '-' && text[6] == '-' && text[11] == ' ' &&
           text[14] == ':' && text[17] == ':' && text[20] == ' ' &&
           read_digits (text, 2, &day) && read_digits (text + 7, 4, &year) &&
           read_digits (text + 12, 2, &hour) && read_digits (text + 15, 2, &minute) &&
           read_digits (text + 18, 2, &second) && read_digits (text + 22, 4, &zone))
    {
      memcpy (month, text + 3, 3);
      sign = text[21];
    }
  else if (sscanf (text, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, month, &year, &hour, &minute,
                   &second, &sign, &zone) != 8)
    {
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (month_names); i++)
    if (g_ascii_strcasecmp (month, month_names[i]) == 0)
      month_number = (int) i + 1;
  if (month_number == 0 || (sign != '+' && sign != '-'))
    return NULL;
  tz = zone_new (sign, zone);
  if (tz == NULL)
    return NULL;
  return g_date_time_new (tz, year, month_number, day, hour, minute, second);
}

char *
imap_format_internal_date (GDateTime *date)
{
  GTimeSpan offset = g_date_time_get_utc_offset (date) / G_TIME_SPAN_MINUTE;
  char sign = offset < 0 ? '-' : '+';

  if (offset < 0)
    offset = -offset;
  return g_strdup_printf ("%02d-%s-%04d %02d:%02d:%02d %c%02d%02d",
                          g_date_time_get_day_of_month (date),
                          month_names[g_date_time_get_month (date) - 1],
                          g_date_time_get_year (date), g_date_time_get_hour (date),
                          g_date_time_get_minute (date), g_date_time_get_second (date),
                          sign, (int) (offset / 60), (int) (offset % 60));
}

char **
imap_strv_from_list (const TernImapValue *list)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; list != NULL && list->kind == TERN_IMAP_VALUE_LIST && i < list->items->len;
       i++)
    {
      const TernImapValue *value = g_ptr_array_index (list->items, i);

      if (value->str != NULL)
        g_ptr_array_add (out, g_strndup (value->str, value->len));
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static GBytes *
bytes_from_value (TernImapResponse    *response,
                  const TernImapValue *value)
{
  if (value->kind == TERN_IMAP_VALUE_NIL || value->str == NULL)
    return g_bytes_new (NULL, 0);
  /* The bytes stay where the parser put them, as long as someone uses them. */
  return g_bytes_new_with_free_func (value->str, value->len,
                                     (GDestroyNotify) tern_imap_response_unref,
                                     tern_imap_response_ref (response));
}

/* The name a section is kept under: what is inside the brackets, in upper
 * case, without the <origin>. */
static char *
section_name (const char *item)
{
  const char *open = strchr (item, '[');
  const char *close = open != NULL ? strrchr (item, ']') : NULL;

  if (g_ascii_strcasecmp (item, "RFC822") == 0)
    return g_strdup ("");
  if (g_ascii_strcasecmp (item, "RFC822.HEADER") == 0)
    return g_strdup ("HEADER");
  if (g_ascii_strcasecmp (item, "RFC822.TEXT") == 0)
    return g_strdup ("TEXT");
  if (open == NULL || close == NULL || close < open)
    return NULL;
  if (g_ascii_strncasecmp (item, "BINARY[", 7) == 0)
    {
      g_autofree char *inner = g_strndup (open + 1, close - open - 1);

      return g_strdup_printf ("BINARY %s", inner);
    }
  return g_ascii_strup (open + 1, close - open - 1);
}

/* Whether the atom @name is @word, in any case; the length first, as
 * most names are not. */
static gboolean
item_is (const TernImapValue *name,
         const char          *word)
{
  return name->len == strlen (word) && g_ascii_strcasecmp (name->str, word) == 0;
}

TernImapFetch *
imap_fetch_decode (TernImapResponse  *response,
              GError           **error)
{
  g_autoptr(TernImapFetch) fetch = g_new0 (TernImapFetch, 1);
  const TernImapValue *list;

  if (!response->has_number || response->data == NULL || response->data->items->len < 1)
    goto bad;
  list = g_ptr_array_index (response->data->items, 0);
  if (list->kind != TERN_IMAP_VALUE_LIST || list->items->len % 2 != 0)
    goto bad;

  fetch->seq = (guint32) MIN (response->number, G_MAXUINT32);
  fetch->response = tern_imap_response_ref (response);

  for (guint i = 0; i + 1 < list->items->len; i += 2)
    {
      const TernImapValue *name = g_ptr_array_index (list->items, i);
      const TernImapValue *value = g_ptr_array_index (list->items, i + 1);

      if (name->kind != TERN_IMAP_VALUE_ATOM)
        goto bad;

      if (item_is (name, "UID"))
        {
          if (value->kind != TERN_IMAP_VALUE_NUMBER || value->number == 0
              || value->number > G_MAXUINT32)
            goto bad;
          fetch->uid = (guint32) value->number;
          fetch->fields |= TERN_IMAP_FETCH_UID;
        }
      else if (item_is (name, "FLAGS"))
        {
          if (value->kind != TERN_IMAP_VALUE_LIST)
            goto bad;
          g_strfreev (fetch->flags);
          fetch->flags = imap_strv_from_list (value);
          fetch->fields |= TERN_IMAP_FETCH_FLAGS;
        }
      else if (item_is (name, "INTERNALDATE"))
        {
          if (value->kind != TERN_IMAP_VALUE_STRING)
            goto bad;
          g_clear_pointer (&fetch->internal_date, g_date_time_unref);
          fetch->internal_date = parse_internal_date (value->str);
          if (fetch->internal_date != NULL)
            fetch->fields |= TERN_IMAP_FETCH_INTERNALDATE;
        }
      else if (item_is (name, "RFC822.SIZE"))
        {
          if (value->kind != TERN_IMAP_VALUE_NUMBER)
            goto bad;
          fetch->size = value->number;
          fetch->fields |= TERN_IMAP_FETCH_SIZE;
        }
      else if (item_is (name, "MODSEQ"))
        {
          const TernImapValue *number;

          if (value->kind != TERN_IMAP_VALUE_LIST || value->items->len != 1)
            goto bad;
          number = g_ptr_array_index (value->items, 0);
          if (number->kind != TERN_IMAP_VALUE_NUMBER)
            goto bad;
          fetch->modseq = number->number;
          fetch->fields |= TERN_IMAP_FETCH_MODSEQ;
        }
      else if (item_is (name, "ENVELOPE"))
        {
          g_clear_pointer (&fetch->envelope, tern_imap_envelope_free);
          fetch->envelope = tern_imap_envelope_decode (value, error);
          if (fetch->envelope == NULL)
            return NULL;
          fetch->fields |= TERN_IMAP_FETCH_ENVELOPE;
        }
      else if (item_is (name, "BODYSTRUCTURE")
               || item_is (name, "BODY"))
        {
          /* Checked now, as a whole, so that a bad one fails the
           * response as it arrives; the tree is made only if asked for. */
          if (!tern_imap_body_structure_check (value, &fetch->attachment_disposition, error))
            return NULL;
          g_clear_pointer (&fetch->structure, tern_imap_body_part_free);
          fetch->structure_value = value;
          fetch->fields |= TERN_IMAP_FETCH_BODYSTRUCTURE;
        }
      else
        {
          char *section = section_name (name->str);
          Section *entry;

          if (section == NULL)
            continue;
          if (value->kind != TERN_IMAP_VALUE_STRING && value->kind != TERN_IMAP_VALUE_NIL)
            {
              g_free (section);
              goto bad;
            }
          if (fetch->sections == NULL)
            fetch->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);
          entry = g_new0 (Section, 1);
          entry->name = section;
          entry->bytes = bytes_from_value (response, value);
          g_ptr_array_add (fetch->sections, entry);
          fetch->fields |= TERN_IMAP_FETCH_SECTIONS;
        }
    }

  return g_steal_pointer (&fetch);

bad:
  g_set_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
               "The server sent a malformed FETCH response");
  return NULL;
}

