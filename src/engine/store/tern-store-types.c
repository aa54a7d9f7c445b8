/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-mime-message.h"
#include "tern-store-private.h"

static const char * const role_names[] = {
  [TERN_FOLDER_ROLE_NONE] = "none",
  [TERN_FOLDER_ROLE_INBOX] = "inbox",
  [TERN_FOLDER_ROLE_SENT] = "sent",
  [TERN_FOLDER_ROLE_DRAFTS] = "drafts",
  [TERN_FOLDER_ROLE_TRASH] = "trash",
  [TERN_FOLDER_ROLE_JUNK] = "junk",
  [TERN_FOLDER_ROLE_ARCHIVE] = "archive",
  [TERN_FOLDER_ROLE_LOCAL] = "local",
};

/**
 * tern_folder_role_to_string:
 *
 * Returns: (transfer none): the role's name, as the command line and the
 *   JSON output spell it.
 */
const char *
tern_folder_role_to_string (TernFolderRole role)
{
  if ((guint) role > TERN_FOLDER_ROLE_LAST)
    return "none";

  return role_names[role];
}

gboolean
tern_folder_role_from_string (const char     *text,
                              TernFolderRole *role)
{
  for (guint i = 0; i < G_N_ELEMENTS (role_names); i++)
    {
      if (g_ascii_strcasecmp (text, role_names[i]) == 0)
        {
          *role = i;
          return TRUE;
        }
    }

  return FALSE;
}

/* Folders */

struct _TernFolder
{
  gatomicrefcount ref_count;

  gint64 id;
  char *account;
  char *path;
  char *name;
  gint64 parent_id;
  TernFolderRole role;
  gint64 total;
  gint64 unread;
  gint64 uidvalidity;
  gint64 uidnext;
  gint64 highestmodseq;
};

G_DEFINE_BOXED_TYPE (TernFolder, tern_folder, tern_folder_ref, tern_folder_unref)

TernFolder *
tern_folder_new_from_stmt (sqlite3_stmt *stmt)
{
  TernFolder *folder = g_new0 (TernFolder, 1);

  g_atomic_ref_count_init (&folder->ref_count);
  folder->id = sqlite3_column_int64 (stmt, 0);
  folder->account = g_strdup (tern_store_column_text (stmt, 1));
  folder->path = g_strdup (tern_store_column_text (stmt, 2));
  folder->name = g_strdup (tern_store_column_text (stmt, 3));
  folder->parent_id = sqlite3_column_int64 (stmt, 4);
  folder->role = sqlite3_column_int (stmt, 5);
  folder->total = sqlite3_column_int64 (stmt, 6);
  folder->unread = sqlite3_column_int64 (stmt, 7);
  folder->uidvalidity = sqlite3_column_int64 (stmt, 8);
  folder->uidnext = sqlite3_column_int64 (stmt, 9);
  folder->highestmodseq = sqlite3_column_int64 (stmt, 10);

  return folder;
}

TernFolder *
tern_folder_ref (TernFolder *folder)
{
  g_return_val_if_fail (folder != NULL, NULL);

  g_atomic_ref_count_inc (&folder->ref_count);
  return folder;
}

void
tern_folder_unref (TernFolder *folder)
{
  g_return_if_fail (folder != NULL);

  if (g_atomic_ref_count_dec (&folder->ref_count))
    {
      g_free (folder->account);
      g_free (folder->path);
      g_free (folder->name);
      g_free (folder);
    }
}

gint64 tern_folder_get_id (const TernFolder *folder) { return folder->id; }
const char *tern_folder_get_account (const TernFolder *folder) { return folder->account; }
const char *tern_folder_get_path (const TernFolder *folder) { return folder->path; }
const char *tern_folder_get_name (const TernFolder *folder) { return folder->name; }
gint64 tern_folder_get_parent_id (const TernFolder *folder) { return folder->parent_id; }
TernFolderRole tern_folder_get_role (const TernFolder *folder) { return folder->role; }
gint64 tern_folder_get_total (const TernFolder *folder) { return folder->total; }
gint64 tern_folder_get_unread (const TernFolder *folder) { return folder->unread; }
gint64 tern_folder_get_uidvalidity (const TernFolder *folder) { return folder->uidvalidity; }
gint64 tern_folder_get_uidnext (const TernFolder *folder) { return folder->uidnext; }
gint64 tern_folder_get_highestmodseq (const TernFolder *folder) { return folder->highestmodseq; }

/* New messages */

/**
 * tern_new_message_new:
 * @raw: the message as it came, headers and body
 * @flags: #TernMessageFlags known from the source
 * @internal_date: when the message arrived, in seconds since 1970, or 0
 *
 * Returns: (transfer full): a message to hand to tern_store_add_messages_async().
 */
TernNewMessage *
tern_new_message_new (GBytes *raw,
                      guint   flags,
                      gint64  internal_date)
{
  TernNewMessage *message = g_new0 (TernNewMessage, 1);

  message->raw = g_bytes_ref (raw);
  message->flags = flags;
  message->internal_date = internal_date;

  return message;
}

/**
 * tern_new_message_prepare:
 *
 * Parses and compresses the message and finds its search words now, on
 * the calling thread, so that the store's writer thread only writes it.  Optional: the store prepares
 * what it is given unprepared.  Callable from any thread, once.
 */
void
tern_new_message_prepare (TernNewMessage *message)
{
  TernPreparedMessage *prepared;
  gsize size;
  const guint8 *data;

  g_return_if_fail (message != NULL);

  if (message->prepared != NULL)
    return;

  data = g_bytes_get_data (message->raw, &size);
  prepared = g_new0 (TernPreparedMessage, 1);
  prepared->mime = tern_mime_message_parse (data, size);
  prepared->stored = tern_store_body_encode (message->raw, &prepared->encoding);
  prepared->fts = tern_store_fts_text_new (prepared->mime);
  prepared->raw_size = size;
  message->prepared = prepared;
}

/* What a prepared message holds, for tern_new_message_free() and the
 * release functions. */
static void
prepared_free (TernPreparedMessage *prepared)
{
  g_clear_pointer (&prepared->mime, tern_mime_message_unref);
  g_clear_pointer (&prepared->stored, g_bytes_unref);
  g_clear_pointer (&prepared->fts, tern_store_fts_text_free);
  g_free (prepared);
}

/**
 * tern_new_message_release_body:
 *
 * Frees the raw and compressed bytes of a prepared message whose body is
 * stored: writing its index rows needs neither.  The message's raw is
 * %NULL afterwards.
 */
void
tern_new_message_release_body (TernNewMessage *message)
{
  TernPreparedMessage *prepared = message->prepared;

  g_return_if_fail (prepared != NULL);

  g_clear_pointer (&prepared->stored, g_bytes_unref);
  g_clear_pointer (&message->raw, g_bytes_unref);
}

/**
 * tern_new_message_release_prepared:
 *
 * Frees what was prepared for a message once its rows are written.
 */
void
tern_new_message_release_prepared (TernNewMessage *message)
{
  g_clear_pointer ((TernPreparedMessage **) &message->prepared, prepared_free);
}

TernPreparedMessage *
tern_new_message_get_prepared (TernNewMessage *message)
{
  tern_new_message_prepare (message);
  return message->prepared;
}

void
tern_new_message_free (TernNewMessage *message)
{
  TernPreparedMessage *prepared;

  if (message == NULL)
    return;

  prepared = message->prepared;
  if (prepared != NULL)
    prepared_free (prepared);

  g_clear_pointer (&message->raw, g_bytes_unref);
  g_free (message->keywords);
  g_free (message);
}

/* Messages */

struct _TernMessage
{
  gatomicrefcount ref_count;

  gint64 id;
  gint64 folder_id;
  gint64 uid;
  guint flags;
  gint64 date;
  gint64 size;
  char *subject;
  char *from_name;
  char *from_address;
  char *to;
  char *cc;
  char *message_id;
  char *in_reply_to;
  char *references;
  gint64 conversation_id;
  char *preview;
  gboolean has_attachments;
  TernBodyState body_state;
  guint problems;
  GPtrArray *attachments;
};

G_DEFINE_BOXED_TYPE (TernMessage, tern_message, tern_message_ref, tern_message_unref)

static void
tern_attachment_free (TernAttachment *attachment)
{
  g_free (attachment->filename);
  g_free (attachment->mime_type);
  g_free (attachment->part_path);
  g_free (attachment->content_id);
  g_free (attachment);
}

TernMessage *
tern_message_new_from_stmt (sqlite3_stmt *stmt)
{
  TernMessage *message = g_new0 (TernMessage, 1);

  g_atomic_ref_count_init (&message->ref_count);
  message->id = sqlite3_column_int64 (stmt, 0);
  message->folder_id = sqlite3_column_int64 (stmt, 1);
  message->uid = sqlite3_column_int64 (stmt, 2);
  message->flags = sqlite3_column_int (stmt, 3);
  message->date = sqlite3_column_int64 (stmt, 4);
  message->size = sqlite3_column_int64 (stmt, 5);
  message->subject = g_strdup (tern_store_column_text (stmt, 6));
  message->from_name = g_strdup (tern_store_column_text (stmt, 7));
  message->from_address = g_strdup (tern_store_column_text (stmt, 8));
  message->to = g_strdup (tern_store_column_text (stmt, 9));
  message->cc = g_strdup (tern_store_column_text (stmt, 10));
  message->message_id = g_strdup ((const char *) sqlite3_column_text (stmt, 11));
  message->in_reply_to = g_strdup ((const char *) sqlite3_column_text (stmt, 12));
  message->references = g_strdup ((const char *) sqlite3_column_text (stmt, 13));
  message->conversation_id = sqlite3_column_int64 (stmt, 14);
  message->preview = g_strdup (tern_store_column_text (stmt, 15));
  message->has_attachments = sqlite3_column_int (stmt, 16) != 0;
  message->body_state = sqlite3_column_int (stmt, 17);
  message->problems = sqlite3_column_int (stmt, 18);
  message->attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_attachment_free);

  return message;
}

void
tern_message_set_attachments (TernMessage *message,
                              GPtrArray   *attachments)
{
  g_clear_pointer (&message->attachments, g_ptr_array_unref);
  message->attachments = g_ptr_array_ref (attachments);
}

TernMessage *
tern_message_ref (TernMessage *message)
{
  g_return_val_if_fail (message != NULL, NULL);

  g_atomic_ref_count_inc (&message->ref_count);
  return message;
}

void
tern_message_unref (TernMessage *message)
{
  g_return_if_fail (message != NULL);

  if (g_atomic_ref_count_dec (&message->ref_count))
    {
      g_free (message->subject);
      g_free (message->from_name);
      g_free (message->from_address);
      g_free (message->to);
      g_free (message->cc);
      g_free (message->message_id);
      g_free (message->in_reply_to);
      g_free (message->references);
      g_free (message->preview);
      g_clear_pointer (&message->attachments, g_ptr_array_unref);
      g_free (message);
    }
}

gint64 tern_message_get_id (const TernMessage *message) { return message->id; }
gint64 tern_message_get_folder_id (const TernMessage *message) { return message->folder_id; }
gint64 tern_message_get_uid (const TernMessage *message) { return message->uid; }
guint tern_message_get_flags (const TernMessage *message) { return message->flags; }
gint64 tern_message_get_date (const TernMessage *message) { return message->date; }
gint64 tern_message_get_size (const TernMessage *message) { return message->size; }
const char *tern_message_get_subject (const TernMessage *message) { return message->subject; }
const char *tern_message_get_from_name (const TernMessage *message) { return message->from_name; }
const char *tern_message_get_from_address (const TernMessage *message) { return message->from_address; }
const char *tern_message_get_to (const TernMessage *message) { return message->to; }
const char *tern_message_get_cc (const TernMessage *message) { return message->cc; }
const char *tern_message_get_message_id (const TernMessage *message) { return message->message_id; }
const char *tern_message_get_in_reply_to (const TernMessage *message) { return message->in_reply_to; }
const char *tern_message_get_references (const TernMessage *message) { return message->references; }
gint64 tern_message_get_conversation_id (const TernMessage *message) { return message->conversation_id; }
const char *tern_message_get_preview (const TernMessage *message) { return message->preview; }
gboolean tern_message_has_attachments (const TernMessage *message) { return message->has_attachments; }
TernBodyState tern_message_get_body_state (const TernMessage *message) { return message->body_state; }
guint tern_message_get_problems (const TernMessage *message) { return message->problems; }

/**
 * tern_message_get_attachments:
 *
 * Returns: (transfer none) (element-type TernAttachment): the attachments.
 */
GPtrArray *
tern_message_get_attachments (const TernMessage *message)
{
  return message->attachments;
}
