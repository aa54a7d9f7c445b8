/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "tern-mbox-writer.h"

/*
 * TernMboxWriter writes messages as an mbox (RFC 4155, the mboxrd way), the
 * export and backup format that every mail client can read.  Each message
 * gets:
 *
 *  - a From_ line with the envelope sender (Return-Path, else the address of
 *    From, else MAILER-DAEMON) and the internal date in asctime() form, in
 *    UTC;
 *  - its Status and X-Status headers replaced by ones that state its flags,
 *    at the end of the header;
 *  - one more '>' on each line that matches ^>*From, so that TernMboxReader
 *    gives back exactly what was written;
 *  - LF line endings, and a final newline when it had none, since an mbox
 *    cannot hold a message without one;
 *  - an empty line after it.
 *
 * Seen, answered, flagged, deleted and draft survive the trip through an
 * mbox; forwarded, junk and not-junk have no Status letter and do not.
 *
 * A writer for a file writes to a hidden temporary file beside it, and only
 * tern_mbox_writer_close() syncs that file to the disk and renames it over
 * the target: an export that fails or is cancelled leaves no half file, and
 * never damages an earlier export of the same name.
 *
 * A writer is used from one thread at a time.
 */

/* Output is gathered to about this size before it is written. */
#define OUT_CHUNK (1024 * 1024)

/* How much of a header is read to find the sender or the date. */
#define MAX_HEADER_VALUE 4096

struct _TernMboxWriter
{
  GObject parent_instance;

  GOutputStream *stream;
  char *name;

  /* Set for a writer that owns a temporary file. */
  char *target_path;
  char *temp_path;
  int fd;

  GByteArray *out;
  guint n_messages;
  guint64 bytes_written;

  gboolean closed;
  GError *fatal_error;
};

G_DEFINE_FINAL_TYPE (TernMboxWriter, tern_mbox_writer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
discard_temp_file (TernMboxWriter *self)
{
  g_clear_object (&self->stream);

  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }

  if (self->temp_path != NULL)
    {
      g_unlink (self->temp_path);
      g_clear_pointer (&self->temp_path, g_free);
    }
}

static void
tern_mbox_writer_finalize (GObject *object)
{
  TernMboxWriter *self = (TernMboxWriter *)object;

  /* A file export that was never closed is abandoned, not half written. */
  discard_temp_file (self);

  g_clear_object (&self->stream);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->target_path, g_free);
  g_clear_pointer (&self->out, g_byte_array_unref);
  g_clear_error (&self->fatal_error);

  G_OBJECT_CLASS (tern_mbox_writer_parent_class)->finalize (object);
}

static void
tern_mbox_writer_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  TernMboxWriter *self = TERN_MBOX_WRITER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_mbox_writer_class_init (TernMboxWriterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tern_mbox_writer_finalize;
  object_class->get_property = tern_mbox_writer_get_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_mbox_writer_init (TernMboxWriter *self)
{
  self->fd = -1;
  self->out = g_byte_array_sized_new (OUT_CHUNK + 64 * 1024);
}

/**
 * tern_mbox_writer_new_for_stream:
 * @stream: where the mbox goes
 * @name: (nullable): how errors name the destination
 *
 * Messages are appended to @stream as they are added; close flushes what is
 * left and leaves @stream open.
 *
 * Returns: (transfer full): a new writer.
 */
TernMboxWriter *
tern_mbox_writer_new_for_stream (GOutputStream *stream,
                                 const char    *name)
{
  TernMboxWriter *self;

  g_return_val_if_fail (G_IS_OUTPUT_STREAM (stream), NULL);

  self = g_object_new (TERN_TYPE_MBOX_WRITER, NULL);
  self->stream = g_object_ref (stream);
  self->name = g_strdup (name != NULL ? name : "mbox");

  return self;
}

/**
 * tern_mbox_writer_new_for_file:
 * @file: the mbox to write, on a local disk; an existing file is replaced
 *   when the writer is closed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Creates a temporary file beside @file, readable by the user alone.  Until
 * tern_mbox_writer_close() succeeds, @file is left as it was.
 *
 * Returns: (transfer full) (nullable): a new writer, or %NULL with
 *   %TERN_MAILFILE_ERROR_WRITE_FAILED.
 */
TernMboxWriter *
tern_mbox_writer_new_for_file (GFile         *file,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(TernMboxWriter) self = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *template = NULL;
  const char *path;
  int fd;

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  path = g_file_peek_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);

      g_set_error (error,
                   TERN_MAILFILE_ERROR,
                   TERN_MAILFILE_ERROR_WRITE_FAILED,
                   "Could not write the mbox “%s”: only files on this computer can be written",
                   uri);
      return NULL;
    }

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  template = g_strdup_printf ("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);

  fd = g_mkstemp_full (template, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error,
                   TERN_MAILFILE_ERROR,
                   TERN_MAILFILE_ERROR_WRITE_FAILED,
                   "Could not write the mbox “%s”: %s",
                   path, g_strerror (saved_errno));
      return NULL;
    }

  self = g_object_new (TERN_TYPE_MBOX_WRITER, NULL);
  self->name = g_strdup (path);
  self->target_path = g_strdup (path);
  self->temp_path = g_steal_pointer (&template);
  self->fd = fd;
  self->stream = g_unix_output_stream_new (fd, FALSE);

  return g_steal_pointer (&self);
}

/**
 * tern_mbox_writer_get_name:
 *
 * Returns: (transfer none): how errors name the destination.
 */
const char *
tern_mbox_writer_get_name (TernMboxWriter *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_WRITER (self), NULL);

  return self->name;
}

/**
 * tern_mbox_writer_get_n_messages:
 *
 * Returns: how many messages have been added.
 */
guint
tern_mbox_writer_get_n_messages (TernMboxWriter *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_WRITER (self), 0);

  return self->n_messages;
}

/**
 * tern_mbox_writer_get_bytes_written:
 *
 * Returns: the size of the mbox so far, including what is still buffered.
 */
guint64
tern_mbox_writer_get_bytes_written (TernMboxWriter *self)
{
  g_return_val_if_fail (TERN_IS_MBOX_WRITER (self), 0);

  return self->bytes_written;
}

/* Headers. */

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

static gboolean
is_header (const guint8 *line,
           gsize         len,
           const char   *name)
{
  gsize name_len = strlen (name);
  gsize i;

  if (len <= name_len || g_ascii_strncasecmp ((const char *) line, name, name_len) != 0)
    return FALSE;

  for (i = name_len; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
    ;

  return i < len && line[i] == ':';
}

/* The unfolded value of the first header @name, or NULL. */
static char *
find_header (const guint8 *data,
             gsize         len,
             const char   *name)
{
  const guint8 *p = data;
  const guint8 *end = data + len;
  GString *value = NULL;

  while (p < end)
    {
      const guint8 *newline = memchr (p, '\n', end - p);
      const guint8 *next = newline != NULL ? newline + 1 : end;
      gsize content_len = line_content_length (p, next - p);

      if (content_len == 0)
        break;

      if (value != NULL)
        {
          if (p[0] != ' ' && p[0] != '\t')
            break;

          if (value->len + content_len < MAX_HEADER_VALUE)
            g_string_append_len (value, (const char *) p, content_len);
        }
      else if (is_header (p, content_len, name))
        {
          const guint8 *colon = memchr (p, ':', content_len);

          value = g_string_new_len ((const char *) colon + 1,
                                    MIN ((gsize) (p + content_len - colon - 1), MAX_HEADER_VALUE));
        }

      p = next;
    }

  return value != NULL ? g_string_free (value, FALSE) : NULL;
}

static gboolean
is_plain_address (const char *address)
{
  if (*address == '\0' || strlen (address) > 320)
    return FALSE;

  for (const char *p = address; *p != '\0'; p++)
    {
      if ((guchar) *p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
        return FALSE;
    }

  return TRUE;
}

/* The address in a Return-Path or From value: the one in angle brackets, or
 * else the first word with an '@'.  Returns "" for the null path "<>", and
 * NULL when there is nothing a From_ line can carry as one word. */
static char *
address_from_value (const char *value)
{
  g_autofree char *address = NULL;
  const char *open = strrchr (value, '<');

  if (open != NULL)
    {
      const char *close = strchr (open, '>');

      if (close == NULL)
        return NULL;

      address = g_strstrip (g_strndup (open + 1, close - open - 1));
      if (*address == '\0')
        return g_steal_pointer (&address);
    }
  else
    {
      g_auto(GStrv) words = g_strsplit_set (value, " \t\r\n", -1);

      for (guint i = 0; words[i] != NULL; i++)
        {
          if (strchr (words[i], '@') != NULL)
            {
              address = g_strdup (words[i]);
              break;
            }
        }
    }

  if (address == NULL || !is_plain_address (address))
    return NULL;

  return g_steal_pointer (&address);
}

static char *
envelope_sender (const guint8 *data,
                 gsize         len)
{
  g_autofree char *return_path = find_header (data, len, "Return-Path");
  g_autofree char *from = NULL;
  g_autofree char *address = NULL;

  if (return_path != NULL)
    {
      address = address_from_value (return_path);

      /* The null path of a bounce. */
      if (address != NULL && *address == '\0')
        return g_strdup ("MAILER-DAEMON");

      if (address != NULL)
        return g_steal_pointer (&address);
    }

  from = find_header (data, len, "From");
  if (from != NULL)
    address = address_from_value (from);

  if (address != NULL && *address != '\0')
    return g_steal_pointer (&address);

  return g_strdup ("MAILER-DAEMON");
}

static GDateTime *
envelope_date (GDateTime    *date,
               const guint8 *data,
               gsize         len)
{
  g_autofree char *header = NULL;
  GDateTime *parsed;

  if (date != NULL)
    return g_date_time_to_utc (date);

  header = find_header (data, len, "Date");
  if (header != NULL && (parsed = tern_mbox_parse_date (header, -1)) != NULL)
    return parsed;

  return g_date_time_new_now_utc ();
}

static void
append_string (GByteArray *out,
               const char *text)
{
  g_byte_array_append (out, (const guint8 *) text, strlen (text));
}

static void
append_from_line (GByteArray *out,
                  const char *sender,
                  GDateTime  *date)
{
  static const char * const weekdays[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
  static const char * const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  };
  g_autofree char *line = NULL;

  /* Names from tables, not from strftime(): the locale must not change the
   * file. */
  line = g_strdup_printf ("From %s %s %s %2d %02d:%02d:%02d %d\n",
                          sender,
                          weekdays[g_date_time_get_day_of_week (date) - 1],
                          months[g_date_time_get_month (date) - 1],
                          g_date_time_get_day_of_month (date),
                          g_date_time_get_hour (date),
                          g_date_time_get_minute (date),
                          g_date_time_get_second (date),
                          g_date_time_get_year (date));
  append_string (out, line);
}

static void
append_status_headers (GByteArray       *out,
                       TernMessageFlags  flags)
{
  char x_status[5];
  gsize n = 0;

  append_string (out, (flags & TERN_MESSAGE_FLAG_SEEN) ? "Status: RO\n" : "Status: O\n");

  if (flags & TERN_MESSAGE_FLAG_ANSWERED)
    x_status[n++] = 'A';
  if (flags & TERN_MESSAGE_FLAG_FLAGGED)
    x_status[n++] = 'F';
  if (flags & TERN_MESSAGE_FLAG_DELETED)
    x_status[n++] = 'D';
  if (flags & TERN_MESSAGE_FLAG_DRAFT)
    x_status[n++] = 'T';

  if (n > 0)
    {
      append_string (out, "X-Status: ");
      g_byte_array_append (out, (const guint8 *) x_status, n);
      append_string (out, "\n");
    }
}

/* Whether a line matches ^>*From, which gets one more '>'. */
static gboolean
needs_quoting (const guint8 *line,
               gsize         len)
{
  gsize i = 0;

  while (i < len && line[i] == '>')
    i++;

  return len - i >= 5 && memcmp (line + i, "From ", 5) == 0;
}

static void
append_message (GByteArray       *out,
                const guint8     *data,
                gsize             len,
                TernMessageFlags  flags,
                GDateTime        *date)
{
  g_autofree char *sender = envelope_sender (data, len);
  g_autoptr(GDateTime) utc = envelope_date (date, data, len);
  const guint8 *p = data;
  const guint8 *end = data + len;
  gboolean in_headers = TRUE;
  gboolean dropping = FALSE;

  append_from_line (out, sender, utc);

  while (p < end)
    {
      const guint8 *newline = memchr (p, '\n', end - p);
      const guint8 *next = newline != NULL ? newline + 1 : end;
      gsize content_len = next - p;

      /* CRLF becomes LF; a lone CR inside a line stays. */
      if (newline != NULL)
        {
          content_len--;
          if (content_len > 0 && p[content_len - 1] == '\r')
            content_len--;
        }

      if (in_headers)
        {
          if (content_len == 0)
            {
              /* The end of the header: the new flag headers go here. */
              append_status_headers (out, flags);
              in_headers = FALSE;
            }
          else if (dropping && (p[0] == ' ' || p[0] == '\t'))
            {
              p = next;
              continue;
            }
          else
            {
              dropping = is_header (p, content_len, "Status") ||
                         is_header (p, content_len, "X-Status");
              if (dropping)
                {
                  p = next;
                  continue;
                }
            }
        }

      if (needs_quoting (p, content_len))
        g_byte_array_append (out, (const guint8 *) ">", 1);
      g_byte_array_append (out, p, content_len);
      g_byte_array_append (out, (const guint8 *) "\n", 1);

      p = next;
    }

  /* A message that is all header, or empty. */
  if (in_headers)
    append_status_headers (out, flags);

  /* The separator. */
  g_byte_array_append (out, (const guint8 *) "\n", 1);
}

/* Writing. */

static gboolean
write_failed (TernMboxWriter  *self,
              GError          *cause,
              GError         **error)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    self->fatal_error = g_error_copy (cause);
  else
    self->fatal_error = g_error_new (TERN_MAILFILE_ERROR,
                                     TERN_MAILFILE_ERROR_WRITE_FAILED,
                                     "Could not write the mbox “%s”: %s",
                                     self->name, cause->message);
  g_error_free (cause);

  /* What was written cannot be trusted to end on a message boundary. */
  discard_temp_file (self);
  g_propagate_error (error, g_error_copy (self->fatal_error));

  return FALSE;
}

static gboolean
flush_out (TernMboxWriter  *self,
           GCancellable    *cancellable,
           GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  if (self->out->len == 0)
    return TRUE;

  if (!g_output_stream_write_all (self->stream, self->out->data, self->out->len,
                                  NULL, cancellable, &local_error))
    return write_failed (self, g_steal_pointer (&local_error), error);

  g_byte_array_set_size (self->out, 0);

  return TRUE;
}

static gboolean
check_usable (TernMboxWriter  *self,
              GError         **error)
{
  if (self->fatal_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->fatal_error));
      return FALSE;
    }

  if (self->closed)
    {
      g_set_error (error,
                   G_IO_ERROR,
                   G_IO_ERROR_CLOSED,
                   "The mbox “%s” is already closed",
                   self->name);
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_mbox_writer_add:
 * @self: a #TernMboxWriter
 * @message: the raw message, with LF or CRLF line endings
 * @flags: its flags, written as Status and X-Status headers
 * @date: (nullable): its internal date; when %NULL, the Date header gives
 *   it, or else the current time
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Appends @message.  Output is buffered, so a write error may show only on a
 * later call or on close.  After an error, including a cancellation, the
 * writer is finished: every later call fails, and a file export is
 * abandoned.  This blocks on the disk: call it from a worker thread.
 *
 * Returns: %TRUE when the message was taken.
 */
gboolean
tern_mbox_writer_add (TernMboxWriter    *self,
                      GBytes            *message,
                      TernMessageFlags   flags,
                      GDateTime         *date,
                      GCancellable      *cancellable,
                      GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  const guint8 *data;
  gsize len;
  guint before;

  g_return_val_if_fail (TERN_IS_MBOX_WRITER (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_usable (self, error))
    return FALSE;

  if (g_cancellable_set_error_if_cancelled (cancellable, &local_error))
    return write_failed (self, g_steal_pointer (&local_error), error);

  data = g_bytes_get_data (message, &len);
  before = self->out->len;
  append_message (self->out, data != NULL ? data : (const guint8 *) "", len, flags, date);
  self->bytes_written += self->out->len - before;
  self->n_messages++;

  if (self->out->len >= OUT_CHUNK)
    return flush_out (self, cancellable, error);

  return TRUE;
}

static void
sync_folder (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* The rename is durable once the folder is on the disk too.  The export
   * is complete and in place even when this fails, so it is not an error. */
  if (fd >= 0)
    {
      if (fsync (fd) != 0)
        g_debug ("Could not sync the folder “%s”: %s", dir, g_strerror (errno));
      close (fd);
    }
}

/**
 * tern_mbox_writer_close:
 * @self: a #TernMboxWriter
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes what is buffered.  A writer for a file then syncs the temporary
 * file to the disk and renames it over the target, so the export is either
 * complete or absent.  A writer for a stream flushes the stream and leaves it
 * open.
 *
 * Returns: %TRUE when every message is written.
 */
gboolean
tern_mbox_writer_close (TernMboxWriter  *self,
                        GCancellable    *cancellable,
                        GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (TERN_IS_MBOX_WRITER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_usable (self, error))
    return FALSE;

  if (!flush_out (self, cancellable, error))
    return FALSE;

  if (!g_output_stream_flush (self->stream, cancellable, &local_error))
    return write_failed (self, g_steal_pointer (&local_error), error);

  if (self->temp_path != NULL)
    {
      int saved_errno;

      if (g_cancellable_set_error_if_cancelled (cancellable, &local_error))
        return write_failed (self, g_steal_pointer (&local_error), error);

      g_clear_object (&self->stream);

      /* close() reports the write errors of some file systems (NFS), so
       * both it and fsync() are checked before the rename. */
      if (fsync (self->fd) == 0)
        {
          int result = close (self->fd);

          saved_errno = errno;
          self->fd = -1;
          if (result != 0)
            return write_failed (self,
                                 g_error_new_literal (G_IO_ERROR,
                                                      g_io_error_from_errno (saved_errno),
                                                      g_strerror (saved_errno)),
                                 error);
        }
      else
        {
          saved_errno = errno;
          return write_failed (self,
                               g_error_new_literal (G_IO_ERROR,
                                                    g_io_error_from_errno (saved_errno),
                                                    g_strerror (saved_errno)),
                               error);
        }

      if (g_rename (self->temp_path, self->target_path) != 0)
        {
          saved_errno = errno;
          return write_failed (self,
                               g_error_new_literal (G_IO_ERROR,
                                                    g_io_error_from_errno (saved_errno),
                                                    g_strerror (saved_errno)),
                               error);
        }
      g_clear_pointer (&self->temp_path, g_free);

      sync_folder (self->target_path);
    }

  self->closed = TRUE;

  return TRUE;
}
