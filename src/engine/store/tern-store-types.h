/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The account id of the folders on this computer ("On This Computer"). */
#define TERN_LOCAL_ACCOUNT "local"

typedef enum
{
  TERN_FOLDER_ROLE_NONE = 0,
  TERN_FOLDER_ROLE_INBOX,
  TERN_FOLDER_ROLE_SENT,
  TERN_FOLDER_ROLE_DRAFTS,
  TERN_FOLDER_ROLE_TRASH,
  TERN_FOLDER_ROLE_JUNK,
  TERN_FOLDER_ROLE_ARCHIVE,
  TERN_FOLDER_ROLE_LOCAL,
} TernFolderRole;

#define TERN_FOLDER_ROLE_LAST TERN_FOLDER_ROLE_LOCAL

const char     *tern_folder_role_to_string   (TernFolderRole  role);
gboolean        tern_folder_role_from_string (const char     *text,
                                              TernFolderRole *role);

/* How a write reaches the disk. */
typedef enum
{
  /* Committed to the write-ahead log; survives a crash of Tern, and on
   * most file systems a power cut too. */
  TERN_STORE_DURABILITY_NORMAL,
  /* Synced to the disk before the call returns: for mail whose only other
   * copy is about to be deleted (POP3 before DELE, the outbox). */
  TERN_STORE_DURABILITY_SYNCED,
} TernStoreDurability;

typedef enum
{
  TERN_BODY_STATE_NONE = 0,
  TERN_BODY_STATE_COMPLETE = 1,
} TernBodyState;

/**
 * TernFolder:
 *
 * A snapshot of one folder of the store.  Immutable; the store hands out
 * new snapshots when a folder changes.
 */
typedef struct _TernFolder TernFolder;

#define TERN_TYPE_FOLDER (tern_folder_get_type ())

GType           tern_folder_get_type         (void) G_GNUC_CONST;
TernFolder     *tern_folder_ref              (TernFolder *folder);
void            tern_folder_unref            (TernFolder *folder);
gint64          tern_folder_get_id           (const TernFolder *folder);
const char     *tern_folder_get_account      (const TernFolder *folder);
const char     *tern_folder_get_path         (const TernFolder *folder);
const char     *tern_folder_get_name         (const TernFolder *folder);
gint64          tern_folder_get_parent_id    (const TernFolder *folder);
TernFolderRole  tern_folder_get_role         (const TernFolder *folder);
gint64          tern_folder_get_total        (const TernFolder *folder);
gint64          tern_folder_get_unread       (const TernFolder *folder);
gint64          tern_folder_get_uidvalidity  (const TernFolder *folder);
gint64          tern_folder_get_uidnext      (const TernFolder *folder);
gint64          tern_folder_get_highestmodseq (const TernFolder *folder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernFolder, tern_folder_unref)

/**
 * TernNewMessage:
 *
 * A message to add to a folder: its raw bytes and what the source knows of
 * it.
 */
typedef struct
{
  GBytes *raw;
  guint   flags;
  gint64  uid;            /* 0 when the folder has no UIDs */
  gint64  internal_date;  /* 0: the Date header, else now */
  char   *keywords;       /* other IMAP keywords, space separated, or NULL */

  /*< private >*/
  gpointer prepared;
} TernNewMessage;

TernNewMessage *tern_new_message_new     (GBytes         *raw,
                                          guint           flags,
                                          gint64          internal_date);
void            tern_new_message_prepare (TernNewMessage *message);
void            tern_new_message_free    (TernNewMessage *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernNewMessage, tern_new_message_free)

/**
 * TernAttachment:
 *
 * One attachment of a stored message.
 */
typedef struct
{
  char    *filename;
  char    *mime_type;
  gint64   size;
  char    *part_path;
  char    *content_id;
  gboolean is_inline;
} TernAttachment;

/**
 * TernMessage:
 *
 * The stored facts of one message, as the index has them.  Immutable.
 */
typedef struct _TernMessage TernMessage;

#define TERN_TYPE_MESSAGE (tern_message_get_type ())

GType        tern_message_get_type            (void) G_GNUC_CONST;
TernMessage *tern_message_ref                 (TernMessage *message);
void         tern_message_unref               (TernMessage *message);
gint64       tern_message_get_id              (const TernMessage *message);
gint64       tern_message_get_folder_id       (const TernMessage *message);
gint64       tern_message_get_uid             (const TernMessage *message);
guint        tern_message_get_flags           (const TernMessage *message);
gint64       tern_message_get_date            (const TernMessage *message);
gint64       tern_message_get_size            (const TernMessage *message);
const char  *tern_message_get_subject         (const TernMessage *message);
const char  *tern_message_get_from_name       (const TernMessage *message);
const char  *tern_message_get_from_address    (const TernMessage *message);
const char  *tern_message_get_to              (const TernMessage *message);
const char  *tern_message_get_cc              (const TernMessage *message);
const char  *tern_message_get_message_id      (const TernMessage *message);
const char  *tern_message_get_in_reply_to     (const TernMessage *message);
const char  *tern_message_get_references      (const TernMessage *message);
gint64       tern_message_get_conversation_id (const TernMessage *message);
const char  *tern_message_get_preview         (const TernMessage *message);
gboolean     tern_message_has_attachments     (const TernMessage *message);
TernBodyState tern_message_get_body_state     (const TernMessage *message);
guint        tern_message_get_problems        (const TernMessage *message);
GPtrArray   *tern_message_get_attachments     (const TernMessage *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernMessage, tern_message_unref)

G_END_DECLS
