/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "tern-mime-private.h"

/*
 * The headers of a message: subject, threading IDs, addresses, the
 * addresses it was delivered to, and its date.  GMime decodes them; what is
 * kept is cleaned to valid UTF-8 on one line and bounded.  Raw 8-bit text
 * that is not UTF-8 is decoded again with the charset the body names, the
 * best guess there is for such headers.
 */

static gboolean
needs_redecoding (const char *raw)
{
  return raw != NULL && !g_utf8_validate (raw, -1, NULL);
}

static GMimeHeader *
find_header (GMimeMessage *message,
             const char   *name)
{
  GMimeHeaderList *list = g_mime_object_get_header_list (GMIME_OBJECT (message));

  return g_mime_header_list_get_header (list, name);
}

/*
 * Options to decode a header whose raw bytes are 8-bit and not UTF-8, or
 * NULL when GMime's first decoding stands.  Notes the problem either way.
 */
static GMimeParserOptions *
redecode_options (TernMimeIngest *ingest,
                  const char     *raw)
{
  if (!needs_redecoding (raw))
    return NULL;

  ingest->self->problems |= TERN_MIME_PROBLEM_RAW_8BIT_HEADERS;

  if (ingest->body_charset == NULL || strlen (ingest->body_charset) > 64 ||
      g_ascii_strcasecmp (ingest->body_charset, "utf-8") == 0 ||
      g_ascii_strcasecmp (ingest->body_charset, "us-ascii") == 0)
    return NULL;

  return tern_mime_parser_options_new (ingest->body_charset);
}

/* Keeps @subject (decoded) cleaned to one line and bounded. */
static void
keep_subject (TernMimeIngest *ingest,
              const char     *subject)
{
  g_autofree char *clean = tern_mime_text_clean_line (subject, TERN_MIME_MAX_SUBJECT_BYTES + 1);

  if (strlen (clean) > TERN_MIME_MAX_SUBJECT_BYTES)
    {
      ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_HEADERS;
      clean[tern_mime_utf8_truncate_len (clean, strlen (clean), TERN_MIME_MAX_SUBJECT_BYTES)] = '\0';
    }

  g_free (ingest->self->subject);
  ingest->self->subject = g_steal_pointer (&clean);
}

static void
read_subject (TernMimeIngest *ingest,
              GMimeMessage   *message)
{
  GMimeHeader *header = find_header (message, "Subject");
  const char *subject = g_mime_message_get_subject (message);
  g_autofree char *redecoded = NULL;

  if (header != NULL)
    {
      GMimeParserOptions *options = redecode_options (ingest, g_mime_header_get_raw_value (header));

      if (options != NULL)
        {
          g_autofree char *unfolded = g_mime_utils_header_unfold (g_mime_header_get_raw_value (header));

          redecoded = g_mime_utils_header_decode_text (options, unfolded);
          subject = redecoded;
          g_mime_parser_options_free (options);
        }
    }

  keep_subject (ingest, subject);
}

/* Lower-cases the domain of an address; the local part is case-sensitive. */
static char *
normalize_address (const char *addr)
{
  g_autofree char *clean = tern_mime_text_clean_token (addr);
  const char *at;

  if (clean == NULL)
    return NULL;

  at = strrchr (clean, '@');
  if (at != NULL && at[1] != '\0')
    {
      g_autofree char *domain = NULL;
      gboolean plain = TRUE;

      /* An ASCII domain is lowered in place, as g_utf8_strdown() would;
       * but for an I, which some locales lower to a dotless i. */
      for (const char *p = at + 1; *p != '\0' && plain; p++)
        plain = (guchar) *p < 0x80 && *p != 'I';
      if (plain)
        {
          for (char *p = (char *) at + 1; *p != '\0'; p++)
            *p = g_ascii_tolower (*p);
          return g_steal_pointer (&clean);
        }

      domain = g_utf8_strdown (at + 1, -1);
      return g_strdup_printf ("%.*s@%s", (int) (at - clean), clean, domain);
    }

  return g_steal_pointer (&clean);
}

/* Adds one mailbox to @out, cleaned; %FALSE when @out is full. */
static gboolean
add_mailbox (TernMimeIngest *ingest,
             GPtrArray      *out,
             guint           max,
             const char     *display_name,
             const char     *raw_addr)
{
  g_autofree char *addr = normalize_address (raw_addr);
  g_autofree char *name = NULL;
  TernAddress *entry;

  if (addr == NULL)
    return TRUE;

  if (out->len >= max)
    {
      ingest->self->problems |= TERN_MIME_PROBLEM_TRUNCATED_HEADERS;
      return FALSE;
    }

  name = tern_mime_text_clean_line (display_name, TERN_MIME_MAX_TOKEN_BYTES);
  entry = g_new0 (TernAddress, 1);
  entry->name = name[0] != '\0' ? g_steal_pointer (&name) : NULL;
  entry->address = g_steal_pointer (&addr);
  g_ptr_array_add (out, entry);
  return TRUE;
}

/* Groups inside groups break RFC 5322, but their mailboxes still count. */
#define MAX_GROUP_DEPTH 8

/* Adds the mailboxes of @list, group members included, to @out. */
static void
flatten_addresses (TernMimeIngest      *ingest,
                   InternetAddressList *list,
                   GPtrArray           *out,
                   guint                max,
                   guint                depth)
{
  int n = list != NULL ? internet_address_list_length (list) : 0;

  for (int i = 0; i < n; i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (address))
        {
          if (depth < MAX_GROUP_DEPTH)
            flatten_addresses (ingest,
                               internet_address_group_get_members (INTERNET_ADDRESS_GROUP (address)),
                               out, max, depth + 1);
          continue;
        }

      if (!INTERNET_ADDRESS_IS_MAILBOX (address))
        continue;

      if (!add_mailbox (ingest, out, max, internet_address_get_name (address),
                        internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address))))
        return;
    }
}

static void
read_addresses (TernMimeIngest   *ingest,
                GMimeMessage     *message,
                GMimeAddressType  type,
                const char       *name,
                GPtrArray        *out)
{
  GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
  int n = g_mime_header_list_get_count (headers);
  GMimeParserOptions *options = NULL;

  for (int i = 0; i < n && options == NULL; i++)
    {
      GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);

      if (g_ascii_strcasecmp (g_mime_header_get_name (header), name) == 0)
        options = redecode_options (ingest, g_mime_header_get_raw_value (header));
    }

  if (options == NULL)
    {
      flatten_addresses (ingest, g_mime_message_get_addresses (message, type), out,
                         TERN_MIME_MAX_ADDRESSES, 0);
      return;
    }

  /* Decode every such header again with the body's charset as a guess. */
  for (int i = 0; i < n; i++)
    {
      GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);
      InternetAddressList *list;

      if (g_ascii_strcasecmp (g_mime_header_get_name (header), name) != 0)
        continue;

      list = internet_address_list_parse (options, g_mime_header_get_raw_value (header));
      flatten_addresses (ingest, list, out, TERN_MIME_MAX_ADDRESSES, 0);
      g_clear_object (&list);
    }

  g_mime_parser_options_free (options);
}

static void
read_delivered_to (TernMimeIngest *ingest,
                   GMimeMessage   *message)
{
  static const char * const names[] = { "Delivered-To", "X-Original-To" };
  GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (message));
  int n = g_mime_header_list_get_count (headers);
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  g_autoptr(GPtrArray) unique = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Every Delivered-To first (the newest first), then every X-Original-To. */
  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    for (int i = 0; i < n; i++)
      {
        GMimeHeader *header = g_mime_header_list_get_header_at (headers, i);
        InternetAddressList *list;

        if (g_ascii_strcasecmp (g_mime_header_get_name (header), names[k]) != 0 ||
            found->len >= TERN_MIME_MAX_DELIVERED_TO * 4)
          continue;

        list = internet_address_list_parse (ingest->options, g_mime_header_get_value (header));
        flatten_addresses (ingest, list, found, TERN_MIME_MAX_DELIVERED_TO * 4, 0);
        g_clear_object (&list);
      }

  for (guint i = 0; i < found->len && unique->len < TERN_MIME_MAX_DELIVERED_TO; i++)
    {
      TernAddress *address = g_ptr_array_index (found, i);

      /* Mail systems treat addresses without regard to case; keep the first spelling. */
      if (g_hash_table_add (seen, g_utf8_casefold (address->address, -1)))
        g_ptr_array_add (unique, g_strdup (address->address));
    }

  g_ptr_array_add (unique, NULL);
  g_strfreev (ingest->self->delivered_to);
  ingest->self->delivered_to = (GStrv) g_ptr_array_free (g_steal_pointer (&unique), FALSE);
}

/* Some programs write a bare message-ID without angle brackets. */
static char *
bare_message_id (const char *value)
{
  g_autofree char *clean = tern_mime_text_clean_token (value);

  if (clean == NULL || strchr (clean, ' ') != NULL || strchr (clean, '<') != NULL ||
      strchr (clean, '>') != NULL || strchr (clean, '@') == NULL)
    return NULL;

  return g_steal_pointer (&clean);
}

/*
 * The threading IDs, from the decoded values of Message-ID (its ID already
 * taken out by g_mime_utils_decode_message_id()), In-Reply-To and
 * References; each may be %NULL.
 */
static void
read_threading_values (TernMimeIngest *ingest,
                       const char     *message_id,
                       const char     *in_reply_to,
                       const char     *references)
{
  TernMimeMessage *self = ingest->self;
  const char *value;
  GMimeReferences *refs;

  self->message_id = tern_mime_text_clean_token (message_id);
  if (self->message_id != NULL && strchr (self->message_id, ' ') != NULL)
    g_clear_pointer (&self->message_id, g_free);

  if ((value = in_reply_to) != NULL)
    {
      refs = g_mime_references_parse (ingest->options, value);
      for (int i = 0; refs != NULL && i < g_mime_references_length (refs); i++)
        if ((self->in_reply_to = tern_mime_text_clean_token (g_mime_references_get_message_id (refs, i))) != NULL)
          break;
      g_clear_pointer (&refs, g_mime_references_free);

      if (self->in_reply_to == NULL)
        self->in_reply_to = bare_message_id (value);
    }

  if ((value = references) != NULL)
    {
      g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GHashTable) seen = NULL;
      GPtrArray *kept;

      refs = g_mime_references_parse (ingest->options, value);
      for (int i = 0; refs != NULL && i < g_mime_references_length (refs); i++)
        {
          char *id = tern_mime_text_clean_token (g_mime_references_get_message_id (refs, i));

          if (id == NULL || (seen != NULL ? g_hash_table_contains (seen, id)
                                          : g_ptr_array_find_with_equal_func (ids, id,
                                                                              g_str_equal, NULL)))
            {
              g_free (id);
              continue;
            }
          g_ptr_array_add (ids, id);

          /* Most messages have a few references, looked through at once;
           * a long list gets a table. */
          if (seen == NULL && ids->len == 16)
            {
              seen = g_hash_table_new (g_str_hash, g_str_equal);
              for (guint k = 0; k < ids->len; k++)
                g_hash_table_add (seen, g_ptr_array_index (ids, k));
            }
          else if (seen != NULL)
            {
              g_hash_table_add (seen, id);
            }
        }
      g_clear_pointer (&refs, g_mime_references_free);

      /* Keep the root of the thread and the nearest ancestors. */
      kept = g_ptr_array_new ();
      for (guint i = 0; i < ids->len; i++)
        {
          if (ids->len > TERN_MIME_MAX_REFERENCES && i > 0 &&
              i < ids->len - (TERN_MIME_MAX_REFERENCES - 1))
            continue;
          g_ptr_array_add (kept, g_strdup (g_ptr_array_index (ids, i)));
        }
      if (ids->len > TERN_MIME_MAX_REFERENCES)
        self->problems |= TERN_MIME_PROBLEM_TRUNCATED_HEADERS;

      g_ptr_array_add (kept, NULL);
      g_strfreev (self->references);
      self->references = (GStrv) g_ptr_array_free (kept, FALSE);
    }
}

static void
read_threading (TernMimeIngest *ingest,
                GMimeMessage   *message)
{
  read_threading_values (ingest, g_mime_message_get_message_id (message),
                         g_mime_object_get_header (GMIME_OBJECT (message), "In-Reply-To"),
                         g_mime_object_get_header (GMIME_OBJECT (message), "References"));
}

/**
 * tern_mime_ingest_headers:
 * @ingest: the ingestion under way, its body already read
 * @message: the parsed message
 *
 * Reads the identity, threading, address and date headers into @ingest.
 */
void
tern_mime_ingest_headers (TernMimeIngest *ingest,
                          GMimeMessage   *message)
{
  TernMimeMessage *self = ingest->self;
  GDateTime *date;

  read_subject (ingest, message);
  read_threading (ingest, message);

  read_addresses (ingest, message, GMIME_ADDRESS_TYPE_FROM, "From", self->from);
  read_addresses (ingest, message, GMIME_ADDRESS_TYPE_TO, "To", self->to);
  read_addresses (ingest, message, GMIME_ADDRESS_TYPE_CC, "Cc", self->cc);
  read_addresses (ingest, message, GMIME_ADDRESS_TYPE_BCC, "Bcc", self->bcc);
  read_addresses (ingest, message, GMIME_ADDRESS_TYPE_REPLY_TO, "Reply-To", self->reply_to);
  read_addresses (ingest, message, GMIME_ADDRESS_TYPE_SENDER, "Sender", self->sender);
  read_delivered_to (ingest, message);

  date = g_mime_message_get_date (message);
  self->date = date != NULL ? g_date_time_to_unix (date) : 0;
}

/*
 * A header section alone, read without building a GMime message.
 *
 * A header sync fetches a few header fields of thousands of messages
 * (BODY[HEADER.FIELDS (...)]); building a GMimeMessage for each costs far
 * more than reading the fields.  Plain sections are read here field by
 * field, with the same GMime functions a GMimeMessage uses on the same raw
 * values, so that the facts come out exactly as GMime's parse gives them.
 * "Plain" is narrow on purpose: 7-bit bytes, well-formed lines, each field
 * once and only the fields listed below.  Anything else (8-bit text, a
 * repeated or unknown field, a broken line) is left to the full parser.
 *
 * A whole message is read the same way when its body is one plain text
 * part: its header section is plain but for fields that say nothing the
 * store keeps (Received, MIME-Version, X-...: skipped, repeated or not),
 * and its Content-Type is text/plain, with a charset or none, in 7bit,
 * 8bit or binary.  A message delivered to named addresses (Delivered-To,
 * X-Original-To), any other Content- field, or any other type or
 * encoding goes to GMime.  Building GMime's tree of objects for such a
 * message, and taking it down, cost more than all else of its import.
 */

typedef enum
{
  PLAIN_DATE,
  PLAIN_SUBJECT,
  PLAIN_FROM,
  PLAIN_TO,
  PLAIN_CC,
  PLAIN_BCC,
  PLAIN_REPLY_TO,
  PLAIN_SENDER,
  PLAIN_MESSAGE_ID,
  PLAIN_IN_REPLY_TO,
  PLAIN_REFERENCES,
  N_PLAIN_FIELDS,
  /* Read in a whole message only. */
  PLAIN_CONTENT_TYPE = N_PLAIN_FIELDS,
  PLAIN_TRANSFER_ENCODING,
  PLAIN_SKIPPED,
  N_PLAIN_SLOTS
} PlainField;

static const char * const plain_names[N_PLAIN_FIELDS] = {
  "Date", "Subject", "From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Message-ID",
  "In-Reply-To", "References",
};

/* Well inside the guard's bounds, so that the guard would change nothing. */
#define PLAIN_MAX_SECTION (TERN_MIME_MAX_FIELD_BYTES / 2)
#define PLAIN_MAX_COLONS  32
#define PLAIN_MAX_FIELDS  (TERN_MIME_MAX_BLOCK_FIELDS / 4)
#define N_ADDRESS_FIELDS  (PLAIN_SENDER - PLAIN_FROM + 1)

static GMimeParserOptions *
plain_options (void)
{
  static gsize options = 0;

  /* Made once and only read from then on, by any thread. */
  if (g_once_init_enter (&options))
    g_once_init_leave (&options, (gsize) tern_mime_parser_options_new (NULL));

  return (GMimeParserOptions *) options;
}

/* Whether the field name @name, of @length bytes, is @known in any case. */
static gboolean
name_is (const guint8 *name,
         gsize         length,
         const char   *known)
{
  return strlen (known) == length && g_ascii_strncasecmp ((const char *) name, known, length) == 0;
}

static PlainField
plain_field (const guint8 *name,
             gsize         length)
{
  for (guint i = 0; i < N_PLAIN_FIELDS; i++)
    if (name_is (name, length, plain_names[i]))
      return i;

  return N_PLAIN_FIELDS;
}

/*
 * Plain address lists, read without GMime's address parser: building an
 * InternetAddressList of GObjects, and taking it down again, cost more
 * than the rest of a header section.  "Plain" is what most mail has and
 * nothing more: mailboxes separated by commas, each "local@domain",
 * "<local@domain>", "Some Name <local@domain>" (words of atext, one space
 * apart) or "\"Any, Name\" <local@domain>" (no backslash, no repeated or
 * outer spaces inside the quotes); a local part of atext words joined by
 * dots, a domain of letters, digits and hyphens in dot-separated labels,
 * none of them punycode.  What GMime makes of such a list is known: the
 * name as written (the quotes taken off; encoded words in a name of words
 * decoded), the address as written.  Any other list (comments, groups,
 * encoded words anywhere else, folds inside a name, odd spacing) is left
 * to GMime.
 */

static gboolean
is_atext (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static gboolean
is_fws (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads local@domain at *@p; on success *@p is past it. */
static gboolean
read_plain_addr_spec (const char **p,
                      const char **start,
                      gsize       *length)
{
  const char *q = *p;
  const char *label;

  /* dot-atom local part */
  for (;;)
    {
      if (!is_atext (*q))
        return FALSE;
      while (is_atext (*q))
        q++;
      if (*q != '.')
        break;
      q++;
    }
  if (*q++ != '@')
    return FALSE;

  /* domain labels */
  for (;;)
    {
      label = q;
      while (g_ascii_isalnum (*q) || *q == '-')
        q++;
      if (q == label || (q - label >= 4 && g_ascii_strncasecmp (label, "xn--", 4) == 0))
        return FALSE;
      if (*q != '.')
        break;
      q++;
    }

  *start = *p;
  *length = q - *p;
  *p = q;
  return TRUE;
}

/* Dates */

static gboolean
read_number (const char *p,
             int         digits,
             int        *out)
{
  int value = 0;

  for (int i = 0; i < digits; i++)
    {
      if (!g_ascii_isdigit (p[i]))
        return FALSE;
      value = value * 10 + (p[i] - '0');
    }
  *out = value;
  return TRUE;
}

/* Days from 1970-01-01 to @year-@month-@day (proleptic Gregorian). */
static gint64
days_from_civil (gint64 year,
                 int    month,
                 int    day)
{
  gint64 era;
  gint64 year_of_era;
  gint64 day_of_year;

  year -= month <= 2;
  era = (year >= 0 ? year : year - 399) / 400;
  year_of_era = year - era * 400;
  day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  return era * 146097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year -
         719468;
}

/**
 * tern_mime_plain_date:
 * @text: a Date field's unfolded value
 * @out_unix: (out): the date as seconds since 1970 (UTC)
 *
 * Reads the form nearly all mail has, "Tue, 3 Mar 2026 10:00:00 +0100"
 * (the day of the week optional, one or two digits for the day, spaces
 * around), with every field in range and a year from 1970 on, giving what
 * g_mime_utils_header_decode_date() gives for it without building a
 * GDateTime and its time zone.
 *
 * Returns: %FALSE for any other text, which is GMime's to read.
 */
gboolean
tern_mime_plain_date (const char *text,
                      gint64     *out_unix)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  static const char weekdays[] = "MonTueWedThuFriSatSun";
  static const int month_days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  const char *p = text;
  int day;
  int month = 0;
  int year;
  int hour;
  int minute;
  int second;
  int zone;
  int last_day;
  gint64 offset;
  char sign;

  while (*p == ' ' || *p == '\t')
    p++;
  for (int i = 0; i < 7; i++)
    if (strncmp (p, weekdays + 3 * i, 3) == 0 && p[3] == ',' && p[4] == ' ')
      {
        p += 5;
        break;
      }

  if (read_number (p, 2, &day) && p[2] == ' ')
    p += 3;
  else if (read_number (p, 1, &day) && p[1] == ' ')
    p += 2;
  else
    return FALSE;

  for (int i = 0; i < 12; i++)
    if (strncmp (p, months + 3 * i, 3) == 0)
      month = i + 1;
  if (month == 0 || p[3] != ' ')
    return FALSE;
  p += 4;

  if (!read_number (p, 4, &year) || p[4] != ' ' ||
      !read_number (p + 5, 2, &hour) || p[7] != ':' ||
      !read_number (p + 8, 2, &minute) || p[10] != ':' ||
      !read_number (p + 11, 2, &second) || p[13] != ' ')
    return FALSE;
  p += 14;

  sign = *p;
  if ((sign != '+' && sign != '-') || !read_number (p + 1, 4, &zone))
    return FALSE;
  p += 5;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != '\0')
    return FALSE;

  last_day = month_days[month - 1] +
             (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0));
  if (year < 1970 || day < 1 || day > last_day || hour > 23 || minute > 59 || second > 59 ||
      zone / 100 > 23 || zone % 100 > 59)
    return FALSE;

  offset = (gint64) (zone / 100 * 3600 + zone % 100 * 60) * (sign == '-' ? -1 : 1);
  *out_unix = days_from_civil (year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
              offset;
  return TRUE;
}

/**
 * tern_mime_plain_address_list:
 * @raw: an address field's raw value, folds included
 * @names: (element-type utf8): gets each mailbox's display name, or %NULL
 * @addresses: (element-type utf8): gets each mailbox's address
 *
 * Reads @raw when it is a plain address list (see above), adding
 * (newly allocated) to @names and @addresses what GMime's
 * internet_address_list_parse() would give as each mailbox's name and
 * address.
 *
 * Returns: %FALSE, with the arrays untouched, when @raw is not plain.
 */
gboolean
tern_mime_plain_address_list (const char *raw,
                              GPtrArray  *names,
                              GPtrArray  *addresses)
{
  /* Offsets into @raw: name start, name length, address start, length. */
  g_autoptr(GArray) spans = g_array_new (FALSE, FALSE, sizeof (gsize));
  const char *p = raw;

  while (is_fws (*p))
    p++;

  while (*p != '\0')
    {
      const char *name = NULL;
      gsize name_length = 0;
      const char *addr = NULL;
      gsize addr_length = 0;
      gsize span[4];

      if (*p == '"')
        {
          /* "quoted name" <addr> */
          const char *q = ++p;

          while (*q != '"')
            {
              if (*q < 0x20 || *q > 0x7e || *q == '\\' ||
                  (*q == ' ' && (q[1] == ' ' || q[1] == '"')))
                return FALSE;
              q++;
            }
          if (q == p || *p == ' ' || g_strstr_len (p, q - p, "=?") != NULL)
            return FALSE;
          name = p;
          name_length = q - p;
          p = q + 1;
          if (*p == ' ')
            p++;
          if (*p != '<')
            return FALSE;
        }
      else if (*p != '<')
        {
          /* addr alone, or words of a name, then <addr> */
          const char *q = p;

          if (read_plain_addr_spec (&q, &addr, &addr_length) && (*q == '\0' || *q == ',' ||
                                                                 is_fws (*q)))
            {
              p = q;
            }
          else
            {
              addr = NULL;
              q = p;
              for (;;)
                {
                  if (!is_atext (*q))
                    return FALSE;
                  while (is_atext (*q))
                    q++;
                  if (*q == ' ' && is_atext (q[1]))
                    {
                      q++;
                      continue;
                    }
                  break;
                }
              name = p;
              name_length = q - p;
              p = q;
              if (*p == ' ')
                p++;
              if (*p != '<')
                return FALSE;
            }
        }

      if (addr == NULL)
        {
          /* <addr> */
          p++;
          if (!read_plain_addr_spec (&p, &addr, &addr_length) || *p++ != '>')
            return FALSE;
        }

      /* Encoded words are read in a name of words only (below). */
      if (g_strstr_len (addr, addr_length, "=?") != NULL)
        return FALSE;

      span[0] = name != NULL ? (gsize) (name - raw) : G_MAXSIZE;
      span[1] = name_length;
      span[2] = addr - raw;
      span[3] = addr_length;
      g_array_append_vals (spans, span, 4);

      while (is_fws (*p))
        p++;
      if (*p == '\0')
        break;
      if (*p++ != ',')
        return FALSE;
      while (is_fws (*p))
        p++;
      /* Nothing, or another comma, after a comma is not plain. */
      if (*p == '\0' || *p == ',')
        return FALSE;
    }

  for (guint i = 0; i < spans->len; i += 4)
    {
      gsize name_start = g_array_index (spans, gsize, i);
      char *name = NULL;

      if (name_start != G_MAXSIZE)
        name = g_strndup (raw + name_start, g_array_index (spans, gsize, i + 1));
      if (name != NULL && strstr (name, "=?") != NULL)
        {
          /* Encoded words in a name of words: decoded as GMime decodes
           * such a phrase.  That gives its address parser's name but for
           * spaces at the ends, and between words where an encoded word
           * was bad, which cleaning the name (add_mailbox()) takes out
           * the same way; a test holds both to that. */
          char *decoded = g_mime_utils_header_decode_phrase (plain_options (), name);

          g_free (name);
          name = decoded;
        }
      g_ptr_array_add (names, name);
      g_ptr_array_add (addresses, g_strndup (raw + g_array_index (spans, gsize, i + 2),
                                             g_array_index (spans, gsize, i + 3)));
    }

  return TRUE;
}

/* A field of a whole message outside the plain ones: read, skipped, or
 * a reason to leave the message to GMime (N_PLAIN_SLOTS). */
static PlainField
plain_message_field (const guint8 *name,
                     gsize         length)
{
  static const char * const refused[] = { "Delivered-To", "X-Original-To" };

  if (name_is (name, length, "Content-Type"))
    return PLAIN_CONTENT_TYPE;
  if (name_is (name, length, "Content-Transfer-Encoding"))
    return PLAIN_TRANSFER_ENCODING;
  if (length >= strlen ("Content-") &&
      g_ascii_strncasecmp ((const char *) name, "Content-", strlen ("Content-")) == 0)
    return N_PLAIN_SLOTS;
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    if (name_is (name, length, refused[i]))
      return N_PLAIN_SLOTS;

  return PLAIN_SKIPPED;
}

static const char *
skip_fws (const char *p)
{
  while (is_fws (*p))
    p++;
  return p;
}

static gboolean
is_charset_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '+';
}

/* Whether @value (folds included) is "text/plain", alone or with a
 * charset, as a token or quoted, and nothing else; sets *@charset to the
 * charset, or to NULL. */
static gboolean
plain_content_type (const char  *value,
                    char       **charset)
{
  const char *p = skip_fws (value);
  const char *start = NULL;
  gsize length = 0;

  if (g_ascii_strncasecmp (p, "text/plain", strlen ("text/plain")) != 0)
    return FALSE;
  p = skip_fws (p + strlen ("text/plain"));

  if (*p == ';')
    {
      gboolean quoted;

      p = skip_fws (p + 1);
      if (g_ascii_strncasecmp (p, "charset", strlen ("charset")) != 0)
        return FALSE;
      p = skip_fws (p + strlen ("charset"));
      if (*p != '=')
        return FALSE;
      p = skip_fws (p + 1);

      quoted = *p == '"';
      if (quoted)
        p++;
      for (start = p; is_charset_char (*p); p++)
        ;
      length = p - start;
      if (length == 0 || (quoted && *p++ != '"'))
        return FALSE;
      p = skip_fws (p);
    }

  if (*p != '\0')
    return FALSE;

  *charset = start != NULL ? g_strndup (start, length) : NULL;
  return TRUE;
}

/* Whether @value (folds included) is an identity transfer encoding. */
static gboolean
plain_transfer_encoding (const char *value)
{
  static const char * const identities[] = { "7bit", "8bit", "binary" };
  const char *p = skip_fws (value);

  for (guint i = 0; i < G_N_ELEMENTS (identities); i++)
    {
      gsize length = strlen (identities[i]);

      if (g_ascii_strncasecmp (p, identities[i], length) == 0 && *skip_fws (p + length) == '\0')
        return TRUE;
    }

  return FALSE;
}

/* Where the header section of @data ends: just past its empty line, or 0
 * when it has none. */
static gsize
plain_section_end (const guint8 *data,
                   gsize         length)
{
  gsize pos = 0;

  while (pos < length)
    {
      const guint8 *newline = memchr (data + pos, '\n', length - pos);
      gsize line_end;

      if (newline == NULL)
        return 0;
      line_end = newline - data;
      if (line_end > pos && data[line_end - 1] == '\r')
        line_end--;
      if (line_end == pos)
        return newline - data + 1;
      pos = newline - data + 1;
    }

  return 0;
}

/*
 * Reads the plain header section at the start of @data into @ingest.  For
 * a header section alone, @body_start is NULL and the section must be all
 * of @data; for a whole message, the body must be plain text, and
 * *@body_start and *@charset tell where it starts and the charset it
 * names.  Returns %FALSE, with @ingest untouched, when @data is not plain.
 */
static gboolean
ingest_plain (TernMimeIngest  *ingest,
              const guint8    *data,
              gsize            length,
              gsize           *body_start,
              char           **charset)
{
  TernMimeMessage *self = ingest->self;
  GMimeParserOptions *options;
  char *raw[N_PLAIN_FIELDS] = { NULL };
  char *value[N_PLAIN_FIELDS] = { NULL };
  g_autofree char *message_id = NULL;
  g_autofree char *body_charset = NULL;
  GPtrArray *names[N_ADDRESS_FIELDS] = { NULL };
  GPtrArray *addresses[N_ADDRESS_FIELDS] = { NULL };
  InternetAddressList *lists[N_ADDRESS_FIELDS] = { NULL };
  gboolean plain = FALSE;
  PlainField current = N_PLAIN_SLOTS;
  gboolean whole = body_start != NULL;
  gboolean any = FALSE;
  gsize start[N_PLAIN_SLOTS] = { 0 };
  gsize end[N_PLAIN_SLOTS] = { 0 };
  gsize section_end;
  guint fields = 0;
  gsize pos = 0;

  if (data == NULL || length == 0)
    return FALSE;

  section_end = plain_section_end (data, MIN (length, PLAIN_MAX_SECTION + 1));
  if (section_end == 0 || section_end > PLAIN_MAX_SECTION || (!whole && section_end != length))
    return FALSE;

  for (gsize i = 0; i < section_end; i++)
    {
      guint8 c = data[i];

      if ((c < 0x20 || c > 0x7e) && c != '\t' && c != '\n' &&
          !(c == '\r' && i + 1 < section_end && data[i + 1] == '\n'))
        return FALSE;
    }

  /* The last line read is the empty one. */
  while (pos < section_end)
    {
      const guint8 *newline = memchr (data + pos, '\n', section_end - pos);
      gsize next = newline - data + 1;
      gsize line_end = newline - data;

      if (line_end > pos && data[line_end - 1] == '\r')
        line_end--;

      if (line_end == pos)
        {
          break;
        }
      else if (data[pos] == ' ' || data[pos] == '\t')
        {
          if (current == N_PLAIN_SLOTS)
            return FALSE;
          end[current] = next;
        }
      else
        {
          const guint8 *colon = memchr (data + pos, ':', line_end - pos);

          if (colon == NULL || colon == data + pos || ++fields > PLAIN_MAX_FIELDS)
            return FALSE;
          for (const guint8 *p = data + pos; p < colon; p++)
            if (*p <= ' ' || *p > '~')
              return FALSE;

          current = plain_field (data + pos, colon - (data + pos));
          if (current == N_PLAIN_FIELDS && whole)
            current = plain_message_field (data + pos, colon - (data + pos));
          if (current >= N_PLAIN_SLOTS ||
              (whole ? current != PLAIN_SKIPPED && end[current] != 0
                     : current >= N_PLAIN_FIELDS || end[current] != 0))
            return FALSE;
          start[current] = colon + 1 - data;
          end[current] = next;
          any = TRUE;
        }

      pos = next;
    }

  if (!any)
    return FALSE;

  for (guint i = PLAIN_FROM; i <= PLAIN_SENDER; i++)
    {
      guint colons = 0;

      for (gsize k = start[i]; k < end[i]; k++)
        colons += data[k] == ':';
      if (colons > PLAIN_MAX_COLONS)
        return FALSE;
    }

  options = plain_options ();

  /*
   * Address lists first, as they may still send the message to GMime:
   * where a list is not plain and GMime's address parser gives up on it,
   * a message keeps the mailboxes read before the point it gave up at,
   * which the parser does not tell.
   */
  for (guint i = PLAIN_FROM; i <= PLAIN_SENDER; i++)
    {
      guint k = i - PLAIN_FROM;

      if (end[i] == 0)
        continue;
      raw[i] = g_strndup ((const char *) data + start[i], end[i] - start[i]);
      names[k] = g_ptr_array_new_with_free_func (g_free);
      addresses[k] = g_ptr_array_new_with_free_func (g_free);
      if (tern_mime_plain_address_list (raw[i], names[k], addresses[k]))
        continue;

      lists[k] = internet_address_list_parse (options, raw[i]);
      if (lists[k] == NULL && *skip_fws (raw[i]) != '\0')
        goto not_plain;
    }

  if (whole)
    {
      g_autofree char *type = NULL;
      g_autofree char *encoding = NULL;

      if (end[PLAIN_CONTENT_TYPE] != 0)
        {
          type = g_strndup ((const char *) data + start[PLAIN_CONTENT_TYPE],
                            end[PLAIN_CONTENT_TYPE] - start[PLAIN_CONTENT_TYPE]);
          if (!plain_content_type (type, &body_charset))
            goto not_plain;
        }
      if (end[PLAIN_TRANSFER_ENCODING] != 0)
        {
          encoding = g_strndup ((const char *) data + start[PLAIN_TRANSFER_ENCODING],
                                end[PLAIN_TRANSFER_ENCODING] - start[PLAIN_TRANSFER_ENCODING]);
          if (!plain_transfer_encoding (encoding))
            goto not_plain;
        }
      *body_start = section_end;
      *charset = g_steal_pointer (&body_charset);
    }

  for (guint i = 0; i < N_PLAIN_FIELDS; i++)
    {
      g_autofree char *unfolded = NULL;

      /* Address fields are read from their raw value above. */
      if (end[i] == 0 || (i >= PLAIN_FROM && i <= PLAIN_SENDER))
        continue;
      raw[i] = g_strndup ((const char *) data + start[i], end[i] - start[i]);
      unfolded = g_mime_utils_header_unfold (raw[i]);
      /* Without an encoded word, GMime's decoding gives the 7-bit text
       * back as it is (a test holds it to that). */
      if (strstr (unfolded, "=?") == NULL)
        value[i] = g_steal_pointer (&unfolded);
      else
        value[i] = g_mime_utils_header_decode_text (options, unfolded);
    }

  keep_subject (ingest, value[PLAIN_SUBJECT]);

  if (value[PLAIN_MESSAGE_ID] != NULL)
    message_id = g_mime_utils_decode_message_id (value[PLAIN_MESSAGE_ID]);
  read_threading_values (ingest, message_id, value[PLAIN_IN_REPLY_TO], value[PLAIN_REFERENCES]);

  for (guint i = PLAIN_FROM; i <= PLAIN_SENDER; i++)
    {
      GPtrArray *out[] = { self->from, self->to, self->cc, self->bcc, self->reply_to,
                           self->sender };
      guint k = i - PLAIN_FROM;

      if (lists[k] != NULL)
        {
          flatten_addresses (ingest, lists[k], out[k], TERN_MIME_MAX_ADDRESSES, 0);
          continue;
        }
      for (guint n = 0; addresses[k] != NULL && n < addresses[k]->len; n++)
        if (!add_mailbox (ingest, out[k], TERN_MIME_MAX_ADDRESSES,
                          g_ptr_array_index (names[k], n), g_ptr_array_index (addresses[k], n)))
          break;
    }

  if (value[PLAIN_DATE] != NULL && !tern_mime_plain_date (value[PLAIN_DATE], &self->date))
    {
      g_autoptr(GDateTime) date = g_mime_utils_header_decode_date (value[PLAIN_DATE]);

      self->date = date != NULL ? g_date_time_to_unix (date) : 0;
    }

  plain = TRUE;

not_plain:
  for (guint i = 0; i < N_PLAIN_FIELDS; i++)
    {
      g_free (raw[i]);
      g_free (value[i]);
    }
  for (guint k = 0; k < N_ADDRESS_FIELDS; k++)
    {
      g_clear_pointer (&names[k], g_ptr_array_unref);
      g_clear_pointer (&addresses[k], g_ptr_array_unref);
      g_clear_object (&lists[k]);
    }

  return plain;
}

/**
 * tern_mime_ingest_plain_header:
 * @ingest: a new ingestion
 * @data: a header section, ending with its empty line
 *
 * Reads @data into @ingest when it is a plain header section (see above).
 *
 * Returns: %FALSE, with @ingest untouched, when @data is not plain and
 *   needs the full parser.
 */
gboolean
tern_mime_ingest_plain_header (TernMimeIngest *ingest,
                               const guint8   *data,
                               gsize           length)
{
  return ingest_plain (ingest, data, length, NULL, NULL);
}

/**
 * tern_mime_ingest_plain_message:
 * @ingest: a new ingestion
 * @data: a whole message
 *
 * Reads @data into @ingest, headers and body text, when it is a plain
 * message of one text part (see above).
 *
 * Returns: %FALSE, with @ingest untouched, when @data needs the full
 *   parser.
 */
gboolean
tern_mime_ingest_plain_message (TernMimeIngest *ingest,
                                const guint8   *data,
                                gsize           length)
{
  g_autofree char *charset = NULL;
  gsize body_start = 0;

  if (!ingest_plain (ingest, data, length, &body_start, &charset))
    return FALSE;

  tern_mime_ingest_plain_text (ingest, data + body_start, length - body_start, charset);
  return TRUE;
}
