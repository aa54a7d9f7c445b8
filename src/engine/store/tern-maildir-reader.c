/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-maildir-reader.h"

/*
 * TernMaildirReader hands out the messages of one Maildir folder: the files
 * in its cur/ and new/ folders.  tmp/ holds deliveries in progress and is
 * left alone, as are names that begin with a dot.  Subfolders (Maildir++
 * ".Sent", or "Sent" in the nested layout) are not read: the caller lists
 * them with tern_maildir_list_subfolders() and reads each with its own reader.
 *
 * Both folders are listed when the reader is made, and the messages are read
 * in a fixed order, so that importing the same Maildir twice gives the same
 * sequence: by the timestamp that begins the file name (the delivery time in
 * "1700000000.M123P45.host"), by the modification time for names without
 * one, then by name.
 *
 * Flags come from the info part of the name ("...:2,FRS"); a message in
 * new/ has none yet, so it is unseen.  The internal date is the file's
 * modification time, which delivery agents and IMAP servers set to the date
 * the message arrived; the timestamp of the name stands in when the file
 * system gives no time.
 *
 * A message that cannot be read, or that vanished since the listing (another
 * client moved it), is reported and skipped, and the reading goes on.
 *
 * A reader is used from one thread at a time.
 */

#define READ_CHUNK (64 * 1024)

#define LIST_ATTRIBUTES \
  G_FILE_ATTRIBUTE_STANDARD_NAME "," \
  G_FILE_ATTRIBUTE_STANDARD_TYPE "," \
  G_FILE_ATTRIBUTE_STANDARD_SIZE "," \
  G_FILE_ATTRIBUTE_TIME_MODIFIED

typedef struct
{
  /* "cur/NAME" or "new/NAME". */
  char    *path;
  gint64   sort_time;
  gint64   name_time;
  guint64  mtime;
  guint64  size;
} Entry;

struct _TernMaildirReader
{
  GObject parent_instance;

  GFile *folder;
  char *name;
  gsize max_message_size;

  GArray *entries;
  guint next_index;
  guint64 position;
  guint64 size;
};

G_DEFINE_FINAL_TYPE (TernMaildirReader, tern_maildir_reader, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_MAX_MESSAGE_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
entry_clear (gpointer data)
{
  Entry *entry = data;

  g_clear_pointer (&entry->path, g_free);
}

static void
tern_maildir_reader_finalize (GObject *object)
{
  TernMaildirReader *self = (TernMaildirReader *)object;

  g_clear_object (&self->folder);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->entries, g_array_unref);

  G_OBJECT_CLASS (tern_maildir_reader_parent_class)->finalize (object);
}

static void
tern_maildir_reader_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  TernMaildirReader *self = TERN_MAILDIR_READER (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_maildir_reader_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  TernMaildirReader *self = TERN_MAILDIR_READER (object);

  switch (prop_id)
    {
    case PROP_MAX_MESSAGE_SIZE:
      tern_maildir_reader_set_max_message_size (self, g_value_get_uint64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_maildir_reader_class_init (TernMaildirReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tern_maildir_reader_finalize;
  object_class->get_property = tern_maildir_reader_get_property;
  object_class->set_property = tern_maildir_reader_set_property;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
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
tern_maildir_reader_init (TernMaildirReader *self)
{
  self->max_message_size = TERN_MAILFILE_DEFAULT_MAX_MESSAGE_SIZE;
  self->entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_array_set_clear_func (self->entries, entry_clear);
}

/* The delivery time that begins a name such as "1700000000.M1P2.host", or 0. */
static gint64
name_timestamp (const char *name)
{
  gint64 value = 0;
  gsize n = 0;

  while (n < 12 && g_ascii_isdigit (name[n]))
    value = value * 10 + (name[n++] - '0');

  if (n == 0 || name[n] != '.')
    return 0;

  return value;
}

/**
 * tern_maildir_flags_from_name:
 * @name: the name of a message file, with or without its folder
 *
 * Reads the flags of the info part "...:2,FLAGS": P (passed) is forwarded,
 * R replied, S seen, T trashed (deleted), D draft, F flagged.  Lowercase
 * letters are keywords of their own and are left aside.  Some tools that
 * sync with Windows write '!' in place of ':'.
 *
 * Returns: the flags the name states.
 */
TernMessageFlags
tern_maildir_flags_from_name (const char *name)
{
  TernMessageFlags flags = TERN_MESSAGE_FLAG_NONE;
  const char *base;
  const char *info;

  g_return_val_if_fail (name != NULL, TERN_MESSAGE_FLAG_NONE);

  base = strrchr (name, '/');
  base = base != NULL ? base + 1 : name;

  info = strrchr (base, ':');
  if (info == NULL)
    info = strrchr (base, '!');

  if (info == NULL || strncmp (info + 1, "2,", 2) != 0)
    return TERN_MESSAGE_FLAG_NONE;

  for (const char *p = info + 3; *p != '\0'; p++)
    {
      switch (*p)
        {
        case 'P':
          flags |= TERN_MESSAGE_FLAG_FORWARDED;
          break;

        case 'R':
          flags |= TERN_MESSAGE_FLAG_ANSWERED;
          break;

        case 'S':
          flags |= TERN_MESSAGE_FLAG_SEEN;
          break;

        case 'T':
          flags |= TERN_MESSAGE_FLAG_DELETED;
          break;

        case 'D':
          flags |= TERN_MESSAGE_FLAG_DRAFT;
          break;

        case 'F':
          flags |= TERN_MESSAGE_FLAG_FLAGGED;
          break;

        default:
          break;
        }
    }

  return flags;
}

static gboolean
is_missing (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
}

static void
set_read_failed (GError     **error,
                 GError      *cause,
                 const char  *what,
                 const char  *name)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, cause);
      return;
    }

  g_set_error (error,
               TERN_MAILFILE_ERROR,
               TERN_MAILFILE_ERROR_READ_FAILED,
               "Could not %s “%s”: %s",
               what, name, cause->message);
  g_error_free (cause);
}

/* Adds the messages of cur/ or new/ to the list.  @found tells whether the
 * folder exists. */
static gboolean
list_messages (TernMaildirReader  *self,
               const char         *subdir,
               gboolean           *found,
               GCancellable       *cancellable,
               GError            **error)
{
  g_autoptr(GFile) dir = g_file_get_child (self->folder, subdir);
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GError) local_error = NULL;

  *found = FALSE;

  enumerator = g_file_enumerate_children (dir, LIST_ATTRIBUTES, G_FILE_QUERY_INFO_NONE,
                                          cancellable, &local_error);
  if (enumerator == NULL)
    {
      if (is_missing (local_error))
        return TRUE;

      set_read_failed (error, g_steal_pointer (&local_error), "list the Maildir folder",
                       g_file_peek_path (dir) != NULL ? g_file_peek_path (dir) : self->name);
      return FALSE;
    }

  *found = TRUE;

  for (;;)
    {
      GFileInfo *info = NULL;
      const char *name;
      Entry entry;

      if (!g_file_enumerator_iterate (enumerator, &info, NULL, cancellable, &local_error))
        {
          set_read_failed (error, g_steal_pointer (&local_error), "list the Maildir folder",
                           g_file_peek_path (dir) != NULL ? g_file_peek_path (dir) : self->name);
          return FALSE;
        }

      if (info == NULL)
        break;

      name = g_file_info_get_name (info);
      if (name[0] == '.' || g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
        continue;

      entry.path = g_build_filename (subdir, name, NULL);
      entry.size = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_STANDARD_SIZE);
      entry.mtime = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED);
      entry.name_time = name_timestamp (name);
      entry.sort_time = entry.name_time > 0 ? entry.name_time : (gint64) entry.mtime;

      self->size += entry.size;
      g_array_append_val (self->entries, entry);
    }

  return TRUE;
}

static const char *
entry_base_name (const Entry *entry)
{
  /* "cur/" and "new/" are both four characters long. */
  return entry->path + 4;
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const Entry *entry_a = a;
  const Entry *entry_b = b;
  int result;

  if (entry_a->sort_time != entry_b->sort_time)
    return entry_a->sort_time < entry_b->sort_time ? -1 : 1;

  result = strcmp (entry_base_name (entry_a), entry_base_name (entry_b));
  if (result != 0)
    return result;

  return strcmp (entry_a->path, entry_b->path);
}

/**
 * tern_maildir_reader_new:
 * @folder: a Maildir: a folder with cur/ and new/
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Lists the messages of @folder, without reading them.  This blocks on the
 * disk: call it from a worker thread.
 *
 * Returns: (transfer full) (nullable): a new reader, or %NULL with
 *   %TERN_MAILFILE_ERROR_NOT_MAILDIR when @folder has neither cur/ nor new/,
 *   %TERN_MAILFILE_ERROR_READ_FAILED when it cannot be listed, or
 *   %G_IO_ERROR_CANCELLED.
 */
TernMaildirReader *
tern_maildir_reader_new (GFile         *folder,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(TernMaildirReader) self = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean has_cur;
  gboolean has_new;

  g_return_val_if_fail (G_IS_FILE (folder), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (TERN_TYPE_MAILDIR_READER, NULL);
  self->folder = g_object_ref (folder);
  self->name = g_file_get_parse_name (folder);

  info = g_file_query_info (folder, G_FILE_ATTRIBUTE_STANDARD_TYPE, G_FILE_QUERY_INFO_NONE,
                            cancellable, &local_error);
  if (info == NULL)
    {
      set_read_failed (error, g_steal_pointer (&local_error), "open the Maildir", self->name);
      return NULL;
    }

  if (g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
    {
      g_set_error (error,
                   TERN_MAILFILE_ERROR,
                   TERN_MAILFILE_ERROR_NOT_MAILDIR,
                   "“%s” is not a Maildir: it is not a folder",
                   self->name);
      return NULL;
    }

  if (!list_messages (self, "cur", &has_cur, cancellable, error) ||
      !list_messages (self, "new", &has_new, cancellable, error))
    return NULL;

  if (!has_cur && !has_new)
    {
      g_set_error (error,
                   TERN_MAILFILE_ERROR,
                   TERN_MAILFILE_ERROR_NOT_MAILDIR,
                   "“%s” is not a Maildir: it has neither a “cur” nor a “new” folder",
                   self->name);
      return NULL;
    }

  g_array_sort (self->entries, compare_entries);

  return g_steal_pointer (&self);
}

/**
 * tern_maildir_reader_get_name:
 *
 * Returns: (transfer none): how errors name the Maildir.
 */
const char *
tern_maildir_reader_get_name (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), NULL);

  return self->name;
}

gsize
tern_maildir_reader_get_max_message_size (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), 0);

  return self->max_message_size;
}

/**
 * tern_maildir_reader_set_max_message_size:
 * @self: a #TernMaildirReader
 * @max_size: the largest message, in bytes, that next returns
 *
 * A larger message is skipped and reported as
 * %TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE.
 */
void
tern_maildir_reader_set_max_message_size (TernMaildirReader *self,
                                          gsize              max_size)
{
  g_return_if_fail (TERN_IS_MAILDIR_READER (self));
  g_return_if_fail (max_size > 0 && max_size <= TERN_MAILFILE_MAX_MESSAGE_SIZE_LIMIT);

  if (self->max_message_size == max_size)
    return;

  self->max_message_size = max_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * tern_maildir_reader_get_n_messages:
 *
 * Returns: how many messages the listing found.
 */
guint
tern_maildir_reader_get_n_messages (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), 0);

  return self->entries->len;
}

/**
 * tern_maildir_reader_get_message_index:
 *
 * Returns: the number, from 1, of the message last returned or skipped; 0
 *   before the first.
 */
guint
tern_maildir_reader_get_message_index (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), 0);

  return self->next_index;
}

/**
 * tern_maildir_reader_get_message_name:
 *
 * Returns: (transfer none) (nullable): the file of the message last returned
 *   or skipped, as "cur/NAME" or "new/NAME" inside the Maildir.
 */
const char *
tern_maildir_reader_get_message_name (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), NULL);

  if (self->next_index == 0)
    return NULL;

  return g_array_index (self->entries, Entry, self->next_index - 1).path;
}

/**
 * tern_maildir_reader_get_position:
 *
 * Returns: the listed size of the messages handled so far, for progress.
 */
guint64
tern_maildir_reader_get_position (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), 0);

  return self->position;
}

/**
 * tern_maildir_reader_get_size:
 *
 * Returns: the listed size of all the messages.
 */
guint64
tern_maildir_reader_get_size (TernMaildirReader *self)
{
  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), 0);

  return self->size;
}

static void
set_too_large (TernMaildirReader  *self,
               const Entry        *entry,
               guint64             size,
               GError            **error)
{
  g_autofree char *size_text = g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *limit = g_format_size_full (self->max_message_size, G_FORMAT_SIZE_IEC_UNITS);

  g_set_error (error,
               TERN_MAILFILE_ERROR,
               TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE,
               "Message %u of %u, “%s” in the Maildir “%s”, is %s, "
               "more than the limit of %s; it was skipped",
               self->next_index + 1, self->entries->len, entry->path, self->name,
               size_text, limit);
}

static GBytes *
read_message (TernMaildirReader  *self,
              const Entry        *entry,
              GCancellable       *cancellable,
              GError            **error)
{
  g_autoptr(GFile) file = g_file_resolve_relative_path (self->folder, entry->path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GByteArray) bytes = NULL;
  g_autoptr(GError) local_error = NULL;

  if (entry->size > self->max_message_size)
    {
      set_too_large (self, entry, entry->size, error);
      return NULL;
    }

  stream = g_file_read (file, cancellable, &local_error);
  if (stream == NULL)
    goto failed;

  /* The file may have grown since the listing: read until its end, but no
   * further than the limit. */
  bytes = g_byte_array_sized_new (entry->size + READ_CHUNK);
  for (;;)
    {
      guint old_len = bytes->len;
      gssize n_read;

      g_byte_array_set_size (bytes, old_len + READ_CHUNK);
      n_read = g_input_stream_read (G_INPUT_STREAM (stream), bytes->data + old_len, READ_CHUNK,
                                    cancellable, &local_error);
      if (n_read < 0)
        goto failed;

      g_byte_array_set_size (bytes, old_len + n_read);

      if (n_read == 0)
        break;

      if (bytes->len > self->max_message_size)
        {
          set_too_large (self, entry, bytes->len, error);
          return NULL;
        }
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&bytes));

failed:
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error,
                 TERN_MAILFILE_ERROR,
                 TERN_MAILFILE_ERROR_MESSAGE_UNREADABLE,
                 "Could not read message %u of %u, “%s” in the Maildir “%s”: %s; "
                 "it was skipped",
                 self->next_index + 1, self->entries->len, entry->path, self->name,
                 local_error->message);
  return NULL;
}

/**
 * tern_maildir_reader_next:
 * @self: a #TernMaildirReader
 * @out_flags: (out) (optional): the flags of the file name
 * @out_date: (out) (optional) (transfer full) (nullable): the internal date,
 *   in UTC
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the next message.  This blocks on the disk: call it from a worker
 * thread.
 *
 * A message that is larger than the limit or cannot be read is skipped, and
 * this returns %NULL with %TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE or
 * %TERN_MAILFILE_ERROR_MESSAGE_UNREADABLE; the next call goes on with the
 * message after it.  After %G_IO_ERROR_CANCELLED, the next call tries the
 * same message again.
 *
 * Returns: (transfer full) (nullable): the message as the file holds it, or
 *   %NULL without an error after the last message.
 */
GBytes *
tern_maildir_reader_next (TernMaildirReader  *self,
                          TernMessageFlags   *out_flags,
                          GDateTime         **out_date,
                          GCancellable       *cancellable,
                          GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const Entry *entry;

  g_return_val_if_fail (TERN_IS_MAILDIR_READER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_flags != NULL)
    *out_flags = TERN_MESSAGE_FLAG_NONE;
  if (out_date != NULL)
    *out_date = NULL;

  if (self->next_index >= self->entries->len)
    return NULL;

  entry = &g_array_index (self->entries, Entry, self->next_index);
  bytes = read_message (self, entry, cancellable, &local_error);

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  self->next_index++;
  self->position += entry->size;

  if (bytes == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  if (out_flags != NULL)
    *out_flags = tern_maildir_flags_from_name (entry->path);

  if (out_date != NULL)
    {
      if (entry->mtime > 0)
        *out_date = g_date_time_new_from_unix_utc (entry->mtime);
      else if (entry->name_time > 0)
        *out_date = g_date_time_new_from_unix_utc (entry->name_time);
    }

  return g_steal_pointer (&bytes);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
is_folder (GFile        *parent,
           const char   *name,
           GCancellable *cancellable)
{
  g_autoptr(GFile) child = g_file_get_child (parent, name);

  return g_file_query_file_type (child, G_FILE_QUERY_INFO_NONE, cancellable) ==
         G_FILE_TYPE_DIRECTORY;
}

/**
 * tern_maildir_list_subfolders:
 * @folder: a Maildir
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Lists the folders directly inside @folder that are Maildirs themselves
 * (they have cur/ or new/): ".Sent" and ".Archive.2023" in a Maildir++
 * tree, where the dots mark the levels, or "Sent" in the nested layout,
 * whose own subfolders the caller lists in turn.  Names are as on the disk
 * (non-ASCII ones may be in IMAP's modified UTF-7); open one with
 * g_file_get_child().
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the names,
 *   sorted, or %NULL with %TERN_MAILFILE_ERROR_READ_FAILED or
 *   %G_IO_ERROR_CANCELLED.
 */
char **
tern_maildir_list_subfolders (GFile         *folder,
                              GCancellable  *cancellable,
                              GError       **error)
{
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *folder_name = NULL;

  g_return_val_if_fail (G_IS_FILE (folder), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  folder_name = g_file_get_parse_name (folder);
  names = g_ptr_array_new_with_free_func (g_free);

  enumerator = g_file_enumerate_children (folder,
                                          G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                          G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                          G_FILE_QUERY_INFO_NONE, cancellable, &local_error);
  if (enumerator == NULL)
    {
      set_read_failed (error, g_steal_pointer (&local_error), "list the Maildir", folder_name);
      return NULL;
    }

  for (;;)
    {
      GFileInfo *info = NULL;
      GFile *child = NULL;
      const char *name;

      if (!g_file_enumerator_iterate (enumerator, &info, &child, cancellable, &local_error))
        {
          set_read_failed (error, g_steal_pointer (&local_error), "list the Maildir", folder_name);
          return NULL;
        }

      if (info == NULL)
        break;

      name = g_file_info_get_name (info);
      if (g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY ||
          g_str_equal (name, "cur") || g_str_equal (name, "new") || g_str_equal (name, "tmp"))
        continue;

      if (is_folder (child, "cur", cancellable) || is_folder (child, "new", cancellable))
        g_ptr_array_add (names, g_strdup (name));
    }

  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}
