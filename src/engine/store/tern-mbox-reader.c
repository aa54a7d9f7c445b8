/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mbox-reader.h"

/*
 * TernMboxReader hands out the messages of an mbox file (RFC 4155) one at a
 * time, so that importing a mailbox of many gigabytes costs the memory of its
 * largest message and a buffer of about a megabyte, never the whole file.
 *
 * A message begins at a From_ line: a line that begins with "From " at the
 * start of the file, or one after an empty line that carries a date Tern can
 * read.  The date is asked for because mboxo files leave "From " at the start
 * of body lines unquoted, and a paragraph beginning "From the desk of..." must
 * not split a message in two.  The empty line before a From_ line is the
 * separator that writers add, and is not part of the message.
 *
 * Lines that match ^>+From are unquoted the mboxrd way (one '>' is removed).
 * An mboxo file quoted only ^From, so a body line that was ">From " before it
 * was written loses its '>': the two formats cannot be told apart, and mboxrd
 * is the one that keeps what Tern itself writes intact.
 *
 * Line endings are left as they are in the file (CRLF files give CRLF
 * messages).  Flags come from the Status and X-Status headers, which are
 * also what TernMboxWriter writes, and from X-Mozilla-Status when a message
 * has neither.
 *
 * A reader is used from one thread at a time.
 */

/* Bytes asked of the stream at a time. */
#define READ_CHUNK (64 * 1024)

/* A line longer than this is handed on in pieces, so that the buffer stays
 * near a megabyte whatever the file holds.  Such a line is never a From_
 * line and never a header Tern reads. */
#define MAX_SEGMENT (1024 * 1024)

/* RFC 5322 lines hold at most 998 characters: a longer line is not a From_
 * line. */
#define MAX_FROM_LINE 1000

G_DEFINE_QUARK (tern-mailfile-error-quark, tern_mailfile_error)

/**
 * tern_mailfile_error_is_per_message:
 * @error: (nullable): an error from a mail-file reader
 *
 * Tells an error about one message, after which the reader goes on with the
 * next message, from an error that ends the reading.
 *
 * Returns: %TRUE when the caller can count the error and call next again.
 */
gboolean
tern_mailfile_error_is_per_message (const GError *error)
{
  return error != NULL &&
         error->domain == TERN_MAILFILE_ERROR &&
         (error->code == TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE ||
          error->code == TERN_MAILFILE_ERROR_MESSAGE_UNREADABLE);
}

/* A piece of the buffer: a whole line, or a part of a very long one. */
typedef struct
{
  const guint8 *data;
  gsize         len;
  gboolean      starts_line;
  gboolean      ends_line;
} Segment;

struct _TernMboxReader
{
  GObject parent_instance;

  GInputStream *stream;
  char *name;
  guint64 size;
  gsize max_message_size;

  guint8 *buf;
  gsize buf_alloc;
  gsize buf_start;
  gsize buf_end;
  gsize scan_from;
  gboolean eof;
  gboolean mid_line;

  /* Bytes taken from the stream by the parser. */
  guint64 position;

  /* The From_ line that begins the message the next call returns: its
   * place and its date. */
  GDateTime *from_date;
  guint64 from_line_offset;
  gboolean have_from_line;

  guint64 message_offset;
  guint message_index;

  gboolean started;
  GError *fatal_error;
};

G_DEFINE_FINAL_TYPE (TernMboxReader, tern_mbox_reader, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_SIZE,
  PROP_MAX_MESSAGE_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tern_mbox_reader_finalize (GObject *object)
{
  TernMboxReader *self = (TernMboxReader *)object;

  g_clear_object (&self->stream);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->buf, g_free);
  g_clear_pointer (&self->from_date, g_date_time_unref);
  g_clear_error (&self->fatal_error);

  G_OBJECT_CLASS (tern_mbox_reader_parent_class)->finalize (object);
}

static void
tern_mbox_reader_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  TernMboxReader *self = TERN_MBOX_READER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_mbox_reader_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  TernMboxReader *self = TERN_MBOX_READER (object);

  switch (prop_id)
    {
    case PROP_MAX_MESSAGE_SIZE:
      tern_mbox_reader_set_max_message_size (self, g_value_get_uint64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_mbox_reader_class_init (TernMboxReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tern_mbox_reader_finalize;
  object_class->get_property = tern_mbox_reader_get_property;
  object_class->set_property = tern_mbox_reader_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL,
                         1, TERN_MAILFILE_MAX_MESSAGE_SIZE_LIMIT,
                         TERN_MAILFILE_DEFAULT_MAX_MESSAGE_SIZE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_mbox_reader_init (TernMboxReader *self)
{
  self->max_message_size = TERN_MAILFILE_DEFAULT_MAX_MESSAGE_SIZE;
  self->buf_alloc = 2 * READ_CHUNK;
  self->buf = g_malloc (self->buf_alloc);
}

/**
 * tern_mbox_reader_new_for_stream:
 * @stream: the mbox, from its first byte
 * @name: (nullable): how errors name the source, such as its path
 * @size: the size of the source in bytes, or 0 when unknown
 *
 * Returns: (transfer full): a reader that has not read anything yet.
 */
TernMboxReader *
tern_mbox_reader_new_for_stream (GInputStream *stream,
                                 const char   *name,
                                 guint64       size)
{
  TernMboxReader *self;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);

  self = g_object_new (TERN_TYPE_MBOX_READER, NULL);
  self->stream = g_object_ref (stream);
  self->name = g_strdup (name != NULL ? name : "mbox");
  self->size = size;

  return self;
}

/**
 * tern_mbox_reader_new_for_file:
 * @file: an mbox file
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Opens @file and learns its size for progress.  This blocks on the disk:
 * call it from a worker thread.
 *
 * Returns: (transfer full) (nullable): a new reader, or %NULL with
 *   %TERN_MAILFILE_ERROR_READ_FAILED (or %G_IO_ERROR_CANCELLED) when the file
 *   cannot be opened.
 */
TernMboxReader *
tern_mbox_reader_new_for_file (GFile         *file,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = g_file_get_parse_name (file);

  stream = g_file_read (file, cancellable, &local_error);
  if (stream != NULL)
    info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                           cancellable, &local_error);

  if (info == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error,
                     TERN_MAILFILE_ERROR,
                     TERN_MAILFILE_ERROR_READ_FAILED,
                     "Could not open the mbox “%s”: %s",
                     name, local_error->message);
      return NULL;
    }

  return tern_mbox_reader_new_for_stream (G_INPUT_STREAM (stream), name,
                                          g_file_info_get_attribute_uint64 (info,
                                                                            G_FILE_ATTRIBUTE_STANDARD_SIZE));
}

/**
 * tern_mbox_reader_get_name:
 *
 * Returns: (transfer none): how errors name the source.
 */
const char *
tern_mbox_reader_get_name (TernMboxReader *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_READER (self), NULL);

  return self->name;
}

gsize
tern_mbox_reader_get_max_message_size (TernMboxReader *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_READER (self), 0);

  return self->max_message_size;
}

/**
 * tern_mbox_reader_set_max_message_size:
 * @self: a #TernMboxReader
 * @max_size: the largest message, in bytes, that next returns
 *
 * A larger message is skipped and reported as
 * %TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE.
 */
void
tern_mbox_reader_set_max_message_size (TernMboxReader *self,
                                       gsize           max_size)
{
  g_return_if_fail (TERN_IS_MBOX_READER (self));
  g_return_if_fail (max_size > 0 && max_size <= TERN_MAILFILE_MAX_MESSAGE_SIZE_LIMIT);

  if (self->max_message_size == max_size)
    return;

  self->max_message_size = max_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * tern_mbox_reader_get_position:
 *
 * Returns: how many bytes of the source have been read, for progress; it
 *   reaches tern_mbox_reader_get_size() at the end.
 */
guint64
tern_mbox_reader_get_position (TernMboxReader *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_READER (self), 0);

  return self->position;
}

/**
 * tern_mbox_reader_get_size:
 *
 * Returns: the size of the source in bytes, or 0 when it is not known.
 */
guint64
tern_mbox_reader_get_size (TernMboxReader *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_READER (self), 0);

  return self->size;
}

/**
 * tern_mbox_reader_get_message_offset:
 *
 * Returns: where the From_ line of the message last returned or skipped
 *   begins, in bytes from the start of the source.
 */
guint64
tern_mbox_reader_get_message_offset (TernMboxReader *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_READER (self), 0);

  return self->message_offset;
}

/**
 * tern_mbox_reader_get_message_index:
 *
 * Returns: the number, from 1, of the message last returned or skipped; 0
 *   before the first.
 */
guint
tern_mbox_reader_get_message_index (TernMboxReader *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_READER (self), 0);

  return self->message_index;
}

/* Dates.  From_ lines in the wild carry asctime() dates ("Mon Jan  1
 * 12:00:00 2024"), with or without a zone, sometimes with the zone before the
 * year, sometimes an RFC 5322 date instead.  The parser therefore looks for
 * the parts by their shape, in any order: a month name, a day of one or two
 * digits, a time with colons, a year of four digits, an optional zone. */

static const struct {
  const char *name;
  gsize len;
} month_names[12] = {
  { "january", 7 }, { "february", 8 }, { "march", 5 }, { "april", 5 },
  { "may", 3 }, { "june", 4 }, { "july", 4 }, { "august", 6 },
  { "september", 9 }, { "october", 7 }, { "november", 8 }, { "december", 8 },
};

static const struct {
  const char *name;
  int hours;
} zone_names[] = {
  { "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
  { "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
  { "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
};

static gboolean
all_digits (const char *word,
            gsize       len)
{
  if (len == 0)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (word[i]))
      return FALSE;

  return TRUE;
}

static int
digits_value (const char *word,
              gsize       len)
{
  int value = 0;

  for (gsize i = 0; i < len; i++)
    value = value * 10 + (word[i] - '0');

  return value;
}

/* Reads "H:MM", "HH:MM" or "HH:MM:SS". */
static gboolean
parse_time (const char *word,
            gsize       len,
            int        *hour,
            int        *minute,
            int        *second)
{
  gsize hour_len = 0;

  while (hour_len < len && g_ascii_isdigit (word[hour_len]))
    hour_len++;

  if (hour_len < 1 || hour_len > 2)
    return FALSE;

  if (len == hour_len + 3 && word[hour_len] == ':' && all_digits (word + hour_len + 1, 2))
    {
      *second = 0;
    }
  else if (len == hour_len + 6 && word[hour_len] == ':' &&
           all_digits (word + hour_len + 1, 2) && word[hour_len + 3] == ':' &&
           all_digits (word + hour_len + 4, 2))
    {
      *second = digits_value (word + hour_len + 4, 2);
    }
  else
    {
      return FALSE;
    }

  *hour = digits_value (word, hour_len);
  *minute = digits_value (word + hour_len + 1, 2);

  return TRUE;
}

static int
lookup_month (const char *word,
              gsize       len)
{
  /* Three letters, or the whole name. */
  if (len < 3 || len > 9)
    return 0;

  for (guint i = 0; i < G_N_ELEMENTS (month_names); i++)
    {
      if ((len == 3 || len == month_names[i].len) &&
          g_ascii_tolower (word[0]) == month_names[i].name[0] &&
          g_ascii_strncasecmp (word, month_names[i].name, len) == 0)
        return i + 1;
    }

  return 0;
}

static gboolean
lookup_zone (const char *word,
             gsize       len,
             int        *offset)
{
  /* Every zone Tern knows by name has one to three letters. */
  if (len > 3)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (zone_names); i++)
    {
      if (len == strlen (zone_names[i].name) &&
          g_ascii_strncasecmp (word, zone_names[i].name, len) == 0)
        {
          *offset = zone_names[i].hours * 3600;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * tern_mbox_parse_date:
 * @text: the date part of a From_ line, or the value of a Date header
 * @length: the length of @text, or -1 when it ends with a nul
 *
 * Reads an asctime() date, such as "Mon Jan  1 12:00:00 2024", and the
 * variants found in From_ lines: one space before the day, a zone
 * ("+0200", "PST") anywhere, no seconds, or an RFC 5322 date.  A date with
 * no zone is taken as UTC.
 *
 * Returns: (transfer full) (nullable): the date in UTC, or %NULL when @text
 *   lacks a month, a day, a time or a four-digit year, or names a day that
 *   does not exist.
 */
GDateTime *
tern_mbox_parse_date (const char *text,
                      gssize      length)
{
  g_autoptr(GDateTime) utc = NULL;
  const char *p;
  const char *end;
  int year = -1;
  int month = -1;
  int day = -1;
  int hour = -1;
  int minute = -1;
  int second = 0;
  int offset = 0;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  if (text == NULL)
    return NULL;

  if (length < 0)
    length = strlen (text);

  p = text;
  end = text + length;

  while (p < end)
    {
      const char *word;
      gsize len;

      while (p < end && (g_ascii_isspace (*p) || *p == ','))
        p++;

      if (p < end && *p == '(')
        {
          /* An RFC 5322 comment, such as "(CET)". */
          const char *close = memchr (p, ')', end - p);

          p = close != NULL ? close + 1 : end;
          continue;
        }

      word = p;
      while (p < end && !g_ascii_isspace (*p) && *p != ',')
        p++;
      len = p - word;

      if (len == 0)
        break;

      if (hour < 0 && parse_time (word, len, &hour, &minute, &second))
        continue;

      if (all_digits (word, len))
        {
          if (len == 4 && year < 0)
            year = digits_value (word, len);
          else if (len <= 2 && day < 0)
            day = digits_value (word, len);
          continue;
        }

      if ((word[0] == '+' || word[0] == '-') && len == 5 && all_digits (word + 1, 4))
        {
          int minutes = digits_value (word + 1, 2) * 60 + digits_value (word + 3, 2);

          offset = (word[0] == '-' ? -60 : 60) * minutes;
          continue;
        }

      if (month < 0)
        {
          int found = lookup_month (word, len);

          if (found > 0)
            {
              month = found;
              continue;
            }
        }

      /* Weekdays, zone names Tern does not know and words such as "remote
       * from" are left aside. */
      lookup_zone (word, len, &offset);
    }

  if (year < 0 || month < 0 || day < 1 || hour < 0)
    return NULL;

  if (hour > 23 || minute > 59 || second > 60)
    return NULL;

  /* A leap second is not a time GDateTime can hold. */
  if (second == 60)
    second = 59;

  /* The wall-clock time as if in UTC, then moved by the zone's offset: a
   * time zone object per message would cost more than the rest of the
   * parsing. */
  utc = g_date_time_new_utc (year, month, day, hour, minute, second);
  if (utc == NULL)
    return NULL;

  if (offset == 0)
    return g_steal_pointer (&utc);

  return g_date_time_add_seconds (utc, -offset);
}

/* Lines. */

static gsize
line_content_length (const guint8 *data,
                     gsize         len)
{
  if (len > 0 && data[len - 1] == '\n')
    len--;
  if (len > 0 && data[len - 1] == '\r')
    len--;

  return len;
}

/* Whether a line begins with the string literal @prefix. */
#define has_prefix(data, len, prefix) \
  ((len) >= sizeof (prefix) - 1 && memcmp ((data), (prefix), sizeof (prefix) - 1) == 0)

static gboolean
segment_is_blank (const Segment *segment)
{
  return segment->starts_line &&
         segment->ends_line &&
         line_content_length (segment->data, segment->len) == 0;
}

/* Whether a line matches ^>+From, which mboxrd writers make of ^>*From. */
static gboolean
is_quoted_from (const guint8 *data,
                gsize         len)
{
  gsize i = 0;

  while (i < len && data[i] == '>')
    i++;

  return i > 0 && has_prefix (data + i, len - i, "From ");
}

static GDateTime *
parse_from_line_date (const guint8 *line,
                      gsize         len)
{
  const char *p = (const char *) line + strlen ("From ");
  const char *end = (const char *) line + line_content_length (line, len);

  /* The sender is one word, which some writers leave out. */
  while (p < end && !g_ascii_isspace (*p))
    p++;

  if (p > end)
    return NULL;

  return tern_mbox_parse_date (p, end - p);
}

/* The date of a From_ line that may begin a message, or NULL when the line
 * is not one. */
static GDateTime *
from_line_date (const Segment *segment)
{
  if (!segment->starts_line ||
      !segment->ends_line ||
      segment->len > MAX_FROM_LINE ||
      !has_prefix (segment->data, segment->len, "From "))
    return NULL;

  return parse_from_line_date (segment->data, segment->len);
}

/* If @line is the header @name, points @value at what follows the colon. */
static gboolean
header_value (const char  *line,
              gsize        len,
              const char  *name,
              const char **value)
{
  gsize name_len = strlen (name);
  const char *end = line + len;
  const char *p;

  if (len <= name_len || g_ascii_strncasecmp (line, name, name_len) != 0)
    return FALSE;

  p = line + name_len;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;

  if (p == end || *p != ':')
    return FALSE;

  *value = p + 1;

  return TRUE;
}

/* What the flag headers of one message say. */
typedef struct
{
  TernMessageFlags status_flags;
  gboolean         has_status;
  TernMessageFlags mozilla_flags;
  gboolean         has_mozilla;
} FlagHeaders;

/* Bits of the X-Mozilla-Status header. */
#define MOZILLA_READ      0x0001
#define MOZILLA_REPLIED   0x0002
#define MOZILLA_MARKED    0x0004
#define MOZILLA_EXPUNGED  0x0008
#define MOZILLA_FORWARDED 0x1000

static void
read_flag_header (FlagHeaders  *headers,
                  const guint8 *data,
                  gsize         len)
{
  const char *line = (const char *) data;
  gsize content_len = line_content_length (data, len);
  const char *end = line + content_len;
  const char *value;

  if (content_len == 0 || (line[0] != 'S' && line[0] != 's' && line[0] != 'X' && line[0] != 'x'))
    return;

  if (header_value (line, content_len, "Status", &value))
    {
      headers->has_status = TRUE;
      for (const char *p = value; p < end; p++)
        {
          /* 'O' (old: seen by a client, not yet read) sets nothing. */
          if (*p == 'R')
            headers->status_flags |= TERN_MESSAGE_FLAG_SEEN;
        }
    }
  else if (header_value (line, content_len, "X-Status", &value))
    {
      headers->has_status = TRUE;
      for (const char *p = value; p < end; p++)
        {
          if (*p == 'A')
            headers->status_flags |= TERN_MESSAGE_FLAG_ANSWERED;
          else if (*p == 'F')
            headers->status_flags |= TERN_MESSAGE_FLAG_FLAGGED;
          else if (*p == 'D')
            headers->status_flags |= TERN_MESSAGE_FLAG_DELETED;
          else if (*p == 'T')
            headers->status_flags |= TERN_MESSAGE_FLAG_DRAFT;
        }
    }
  else if (header_value (line, content_len, "X-Mozilla-Status", &value))
    {
      const char *p = value;
      guint bits = 0;
      int digits = 0;

      while (p < end && (*p == ' ' || *p == '\t'))
        p++;

      for (; p < end && g_ascii_isxdigit (*p) && digits < 8; p++, digits++)
        bits = bits * 16 + g_ascii_xdigit_value (*p);

      if (digits == 0)
        return;

      headers->has_mozilla = TRUE;
      if (bits & MOZILLA_READ)
        headers->mozilla_flags |= TERN_MESSAGE_FLAG_SEEN;
      if (bits & MOZILLA_REPLIED)
        headers->mozilla_flags |= TERN_MESSAGE_FLAG_ANSWERED;
      if (bits & MOZILLA_MARKED)
        headers->mozilla_flags |= TERN_MESSAGE_FLAG_FLAGGED;
      if (bits & MOZILLA_EXPUNGED)
        headers->mozilla_flags |= TERN_MESSAGE_FLAG_DELETED;
      if (bits & MOZILLA_FORWARDED)
        headers->mozilla_flags |= TERN_MESSAGE_FLAG_FORWARDED;
    }
}

/* Reading.  The internal helpers below take an @error that is never NULL, so
 * that "no segment" can mean the end of the source when it stays unset. */

static gboolean
fill_buffer (TernMboxReader  *self,
             GCancellable    *cancellable,
             GError         **error)
{
  gsize avail = self->buf_end - self->buf_start;
  gssize n_read;

  if (self->buf_start > 0)
    {
      memmove (self->buf, self->buf + self->buf_start, avail);
      self->buf_start = 0;
      self->buf_end = avail;
    }

  /* A line that does not fit yet is less than MAX_SEGMENT long, so the
   * buffer never grows past MAX_SEGMENT + READ_CHUNK. */
  if (self->buf_alloc - self->buf_end < READ_CHUNK)
    {
      self->buf_alloc = MIN (MAX (self->buf_alloc * 2, self->buf_end + READ_CHUNK),
                             MAX_SEGMENT + READ_CHUNK);
      self->buf = g_realloc (self->buf, self->buf_alloc);
    }

  n_read = g_input_stream_read (self->stream,
                                self->buf + self->buf_end,
                                self->buf_alloc - self->buf_end,
                                cancellable, error);
  if (n_read < 0)
    return FALSE;

  if (n_read == 0)
    self->eof = TRUE;

  self->buf_end += n_read;

  return TRUE;
}

/* Hands out the next line, or the next MAX_SEGMENT bytes of a longer one.
 * The segment points into the buffer and lasts until the next call.  Returns
 * FALSE at the end of the source, or with @error set. */
static gboolean
read_segment (TernMboxReader  *self,
              Segment         *segment,
              GCancellable    *cancellable,
              GError         **error)
{
  for (;;)
    {
      const guint8 *begin = self->buf + self->buf_start;
      gsize avail = self->buf_end - self->buf_start;
      const guint8 *newline = NULL;
      gsize len;

      if (self->scan_from < avail)
        newline = memchr (begin + self->scan_from, '\n', avail - self->scan_from);

      if (newline != NULL)
        {
          len = newline - begin + 1;
        }
      else if (avail >= MAX_SEGMENT)
        {
          len = MAX_SEGMENT;
        }
      else if (self->eof)
        {
          len = avail;
        }
      else
        {
          /* What was scanned holds no newline: only the new bytes need a look. */
          self->scan_from = avail;
          if (!fill_buffer (self, cancellable, error))
            return FALSE;
          continue;
        }

      if (len == 0)
        return FALSE;

      segment->data = begin;
      segment->len = len;
      segment->starts_line = !self->mid_line;
      segment->ends_line = newline != NULL || (self->eof && len == avail);

      self->mid_line = !segment->ends_line;
      self->buf_start += len;
      self->position += len;
      self->scan_from = 0;

      return TRUE;
    }
}

static GError *
read_failed (TernMboxReader *self,
             GError         *cause)
{
  GError *error;

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return cause;

  error = g_error_new (TERN_MAILFILE_ERROR,
                       TERN_MAILFILE_ERROR_READ_FAILED,
                       "Could not read the mbox “%s” at byte %" G_GUINT64_FORMAT ": %s",
                       self->name, self->position, cause->message);
  g_error_free (cause);

  return error;
}

/* Ends the reading: this call and every later one report @error. */
static GBytes *
fail (TernMboxReader  *self,
      GError          *error,
      GError         **out_error)
{
  g_clear_error (&self->fatal_error);
  self->fatal_error = g_error_copy (error);
  self->have_from_line = FALSE;
  g_propagate_error (out_error, error);

  return NULL;
}

/* Notes where the From_ line that begins the next message is, keeps its
 * @date (taken), and reads past the rest of the line when it is longer than a
 * segment. */
static gboolean
keep_from_line (TernMboxReader  *self,
                const Segment   *segment,
                GDateTime       *date,
                GCancellable    *cancellable,
                GError         **error)
{
  g_clear_pointer (&self->from_date, g_date_time_unref);
  self->from_date = date;
  self->from_line_offset = self->position - segment->len;
  self->have_from_line = TRUE;

  while (self->mid_line)
    {
      Segment rest;

      if (!read_segment (self, &rest, cancellable, error))
        return *error == NULL;
    }

  return TRUE;
}

/* Finds the first From_ line; the file may begin with empty lines. */
static gboolean
read_first_from_line (TernMboxReader  *self,
                      GCancellable    *cancellable,
                      GError         **error)
{
  Segment segment;

  for (;;)
    {
      if (!read_segment (self, &segment, cancellable, error))
        {
          if (*error != NULL)
            {
              *error = read_failed (self, *error);
              return FALSE;
            }

          /* An empty file is an mbox with no messages. */
          return TRUE;
        }

      if (segment_is_blank (&segment))
        continue;

      if (has_prefix (segment.data, segment.len, "From "))
        {
          GDateTime *date = NULL;

          /* The first From_ line is taken even without a date. */
          if (segment.ends_line && segment.len <= MAX_FROM_LINE)
            date = parse_from_line_date (segment.data, segment.len);

          if (keep_from_line (self, &segment, date, cancellable, error))
            return TRUE;

          *error = read_failed (self, *error);
          return FALSE;
        }

      g_set_error (error,
                   TERN_MAILFILE_ERROR,
                   TERN_MAILFILE_ERROR_NOT_MBOX,
                   "“%s” is not an mbox file: it does not begin with a “From ” line",
                   self->name);
      return FALSE;
    }
}

/* One message as it is read: the bytes, or NULL once it is too large. */
typedef struct
{
  GByteArray *bytes;
  guint64     size;
  gsize       max_size;
} Message;

static void
message_append (Message      *message,
                const guint8 *data,
                gsize         len)
{
  message->size += len;

  if (message->bytes == NULL)
    return;

  if (message->size > message->max_size)
    {
      /* The rest of the message is still read, to find the next one, but no
       * longer kept. */
      g_clear_pointer (&message->bytes, g_byte_array_unref);
      return;
    }

  g_byte_array_append (message->bytes, data, len);
}

/**
 * tern_mbox_reader_next:
 * @self: a #TernMboxReader
 * @out_flags: (out) (optional): the flags the message's Status, X-Status or
 *   X-Mozilla-Status headers give
 * @out_date: (out) (optional) (transfer full) (nullable): the date of the
 *   From_ line, in UTC, or %NULL when it has none Tern can read
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the next message.  This blocks on the source: call it from a worker
 * thread.
 *
 * The bytes are the message as the file holds it, with the mboxrd quoting
 * undone and without the From_ line or the empty line that separates it from
 * the next message.
 *
 * When a message is larger than the limit, it is skipped and this returns
 * %NULL with %TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE; the next call goes on
 * with the message after it.  Any other error
 * (%TERN_MAILFILE_ERROR_NOT_MBOX, %TERN_MAILFILE_ERROR_READ_FAILED,
 * %G_IO_ERROR_CANCELLED) ends the reading: later calls return it again.
 *
 * Returns: (transfer full) (nullable): the message, or %NULL without an error
 *   after the last message.
 */
GBytes *
tern_mbox_reader_next (TernMboxReader    *self,
                       TernMessageFlags  *out_flags,
                       GDateTime        **out_date,
                       GCancellable      *cancellable,
                       GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GByteArray) bytes = NULL;
  GDateTime *next_date;
  FlagHeaders flag_headers = { 0 };
  Message message;
  gboolean in_headers = TRUE;
  gsize blank_len = 0;
  Segment segment;

  g_return_val_if_fail (TERN_IS_MBOX_READER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_flags != NULL)
    *out_flags = TERN_MESSAGE_FLAG_NONE;
  if (out_date != NULL)
    *out_date = NULL;

  if (self->fatal_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->fatal_error));
      return NULL;
    }

  if (!self->started)
    {
      self->started = TRUE;
      if (!read_first_from_line (self, cancellable, &local_error))
        return fail (self, g_steal_pointer (&local_error), error);
    }

  if (!self->have_from_line)
    return NULL;

  self->have_from_line = FALSE;
  self->message_offset = self->from_line_offset;
  self->message_index++;
  date = g_steal_pointer (&self->from_date);

  message.bytes = g_byte_array_sized_new (8192);
  message.size = 0;
  message.max_size = self->max_message_size;

  for (;;)
    {
      if (!read_segment (self, &segment, cancellable, &local_error))
        {
          if (local_error != NULL)
            {
              g_clear_pointer (&message.bytes, g_byte_array_unref);
              return fail (self, read_failed (self, g_steal_pointer (&local_error)), error);
            }

          /* The end of the file ends the last message. */
          break;
        }

      if (blank_len > 0 && (next_date = from_line_date (&segment)) != NULL)
        {
          if (!keep_from_line (self, &segment, g_steal_pointer (&next_date), cancellable,
                               &local_error))
            {
              g_clear_pointer (&message.bytes, g_byte_array_unref);
              return fail (self, read_failed (self, g_steal_pointer (&local_error)), error);
            }
          break;
        }

      if (blank_len > 0)
        {
          /* The empty line held back was part of the message after all. */
          message_append (&message, (const guint8 *) "\r\n" + (2 - blank_len), blank_len);
          blank_len = 0;
        }

      if (segment_is_blank (&segment))
        {
          /* Held back: it is the separator when a From_ line follows. */
          blank_len = segment.len;
          in_headers = FALSE;
          continue;
        }

      if (segment.starts_line)
        {
          if (in_headers)
            read_flag_header (&flag_headers, segment.data, segment.len);

          if (is_quoted_from (segment.data, segment.len))
            {
              message_append (&message, segment.data + 1, segment.len - 1);
              continue;
            }
        }

      message_append (&message, segment.data, segment.len);
    }

  bytes = g_steal_pointer (&message.bytes);
  if (bytes == NULL)
    {
      g_autofree char *size = g_format_size_full (message.size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *limit = g_format_size_full (self->max_message_size,
                                                   G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error,
                   TERN_MAILFILE_ERROR,
                   TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE,
                   "Message %u at byte %" G_GUINT64_FORMAT " of the mbox “%s” is %s, "
                   "more than the limit of %s; it was skipped",
                   self->message_index, self->message_offset, self->name, size, limit);
      return NULL;
    }

  if (out_flags != NULL)
    *out_flags = flag_headers.has_status ? flag_headers.status_flags
                                         : flag_headers.mozilla_flags;
  if (out_date != NULL)
    *out_date = g_steal_pointer (&date);

  return g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
}
