/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-store.h"

G_BEGIN_DECLS

/*
 * What folder sync asks of the store: the state of each server folder,
 * its UID map, messages known by their headers only and their bodies
 * later, the server's flag changes and expunges, a UIDVALIDITY reset, and
 * the queue of actions made while offline.
 *
 * Every call is asynchronous like the rest of TernStore: writes run on the
 * writer thread, reads on a reader, results return to the caller's
 * thread-default main context, and #TernStore::changed is emitted on the
 * store's main context after each commit.
 */

/**
 * TernRemoteFolder:
 * @name: the folder's name in UTF-8, levels joined by @delimiter
 * @remote_name: the name exactly as the server spells it in commands
 * @delimiter: the server's hierarchy delimiter, or '\0' for a flat server
 * @role: what the server's special-use attributes (or the name) say
 * @subscribed: whether the user subscribed to it
 * @selectable: %FALSE for \Noselect and \NonExistent folders
 *
 * One folder of a server's LIST.
 */
typedef struct
{
  char *name;
  char *remote_name;
  char delimiter;
  TernFolderRole role;
  gboolean subscribed;
  gboolean selectable;
} TernRemoteFolder;

TernRemoteFolder *tern_remote_folder_new  (const char     *name,
                                           const char     *remote_name,
                                           char            delimiter);
void              tern_remote_folder_free (TernRemoteFolder *folder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernRemoteFolder, tern_remote_folder_free)

/**
 * TernSyncFolder:
 *
 * A folder of the store with what sync keeps of it.  A value of 0 for
 * @uidvalidity, @uidnext or @highestmodseq means "not known yet".
 * @remote_name is %NULL for folders that never came from a server.
 */
typedef struct
{
  gint64 id;
  char *account;
  char *path;
  char *remote_name;
  char delimiter;
  TernFolderRole role;
  gboolean subscribed;
  gboolean selectable;
  gint64 uidvalidity;
  gint64 uidnext;
  gint64 highestmodseq;
  gint64 total;
  gint64 unread;
} TernSyncFolder;

void tern_sync_folder_free (TernSyncFolder *folder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernSyncFolder, tern_sync_folder_free)

/* Turns a server's folder name into a store path ('/' between levels). */
char *tern_store_path_from_remote (const char *name,
                                   char        delimiter);

/**
 * TernUidEntry:
 *
 * One message of a folder's UID map.
 */
typedef struct
{
  guint32 uid;
  guint32 flags;
  gint64 id;
  gint64 modseq;
} TernUidEntry;

/**
 * TernUidMap:
 * @entries: (element-type TernUidEntry): the folder's messages that have a
 *   UID, sorted by UID
 * @pending_uids: (element-type guint32): sorted UIDs of messages that a
 *   queued move or delete took out of the folder here but that the server
 *   still has: a resync must neither fetch them again nor treat them as
 *   new
 */
typedef struct
{
  GArray *entries;
  GArray *pending_uids;
} TernUidMap;

void          tern_uid_map_free   (TernUidMap *map);
TernUidEntry *tern_uid_map_lookup (TernUidMap *map,
                                   guint32     uid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernUidMap, tern_uid_map_free)

/**
 * TernHeaderMessage:
 * @header: the message's raw header section (as FETCH BODY[HEADER] or
 *   BODY[HEADER.FIELDS (...)] gives it)
 * @uid: the message's UID in its folder
 * @flags: #TernMessageFlags
 * @keywords: other IMAP keywords, space separated, or %NULL
 * @modseq: its MODSEQ, or 0
 * @internal_date: INTERNALDATE, Unix time
 * @size: RFC822.SIZE
 * @has_attachments: what its BODYSTRUCTURE says
 *
 * A message the store gets to know before its body: listed, searchable
 * by subject and addresses, threaded, its body fetched later.
 */
typedef struct
{
  GBytes *header;
  guint32 uid;
  guint flags;
  char *keywords;
  gint64 modseq;
  gint64 internal_date;
  gint64 size;
  gboolean has_attachments;

  /*< private >*/
  gpointer parsed;
  gpointer fts;
} TernHeaderMessage;

TernHeaderMessage *tern_header_message_new     (GBytes            *header,
                                                guint32            uid,
                                                guint              flags,
                                                gint64             internal_date,
                                                gint64             size);
void               tern_header_message_prepare (TernHeaderMessage *message);
void               tern_header_message_free    (TernHeaderMessage *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernHeaderMessage, tern_header_message_free)

/**
 * TernFlagUpdate:
 *
 * The flags the server reports for one UID.
 */
typedef struct
{
  guint32 uid;
  guint flags;
  char *keywords;
  gint64 modseq;
} TernFlagUpdate;

TernFlagUpdate *tern_flag_update_new  (guint32     uid,
                                       guint       flags,
                                       const char *keywords,
                                       gint64      modseq);
void            tern_flag_update_free (TernFlagUpdate *update);

typedef enum
{
  TERN_ACTION_SET_FLAGS = 1,
  TERN_ACTION_MOVE = 2,
  TERN_ACTION_COPY = 3,
  TERN_ACTION_DELETE = 4,
  TERN_ACTION_ARCHIVE = 5,
  /* Upload a message that exists here only (a sent copy) with APPEND.
   * The value is the one the outbox has always written. */
  TERN_ACTION_APPEND = 16,
} TernActionKind;

const char *tern_action_kind_to_string (TernActionKind kind);

/**
 * TernPendingAction:
 * @id: the action's id in the queue
 * @account: the account it belongs to
 * @kind: what to do on the server
 * @folder_id: the server folder the messages were in when it was made
 * @message_ids: (element-type gint64): the messages, by store id
 * @uids: (element-type guint32): their UIDs in @folder_id, in the same
 *   order
 * @target_id: the folder of a move, copy or archive, else 0
 * @flags_add: #TernMessageFlags to set (%TERN_ACTION_SET_FLAGS)
 * @flags_remove: #TernMessageFlags to clear (%TERN_ACTION_SET_FLAGS)
 * @attempts: how often replaying it failed
 * @last_error: (nullable): why it failed last
 * @argument: (nullable): for %TERN_ACTION_APPEND, the IMAP flags the
 *   upload gets, space separated
 *
 * A %TERN_ACTION_APPEND names one message that has no UID, so @uids is
 * empty; @folder_id is the server folder it goes to, or 0 for "the
 * account's Sent folder, whichever that is by then".
 */
typedef struct
{
  gint64 id;
  char *account;
  TernActionKind kind;
  gint64 folder_id;
  GArray *message_ids;
  GArray *uids;
  gint64 target_id;
  guint flags_add;
  guint flags_remove;
  guint attempts;
  char *last_error;
  char *argument;
} TernPendingAction;

void tern_pending_action_free (TernPendingAction *action);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernPendingAction, tern_pending_action_free)

/* Folders */
void        tern_store_update_remote_folders_async  (TernStore            *self,
                                                     const char           *account,
                                                     GPtrArray            *folders,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GPtrArray  *tern_store_update_remote_folders_finish (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_list_sync_folders_async      (TernStore            *self,
                                                     const char           *account,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GPtrArray  *tern_store_list_sync_folders_finish     (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_set_folder_state_async       (TernStore            *self,
                                                     gint64                folder_id,
                                                     gint64                uidvalidity,
                                                     gint64                uidnext,
                                                     gint64                highestmodseq,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean    tern_store_set_folder_state_finish      (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_reset_folder_async           (TernStore            *self,
                                                     gint64                folder_id,
                                                     gint64                uidvalidity,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean    tern_store_reset_folder_finish          (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

/* Messages */
void        tern_store_get_uid_map_async            (TernStore            *self,
                                                     gint64                folder_id,
                                                     guint32               after_uid,
                                                     guint                 limit,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
TernUidMap *tern_store_get_uid_map_finish           (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_add_headers_async            (TernStore            *self,
                                                     gint64                folder_id,
                                                     GPtrArray            *messages,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GArray     *tern_store_add_headers_finish           (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_attach_bodies_async          (TernStore            *self,
                                                     GArray               *message_ids,
                                                     GPtrArray            *raws,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
guint       tern_store_attach_bodies_finish         (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_list_missing_bodies_async    (TernStore            *self,
                                                     gint64                folder_id,
                                                     gint64                since,
                                                     guint                 limit,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GArray     *tern_store_list_missing_bodies_finish   (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_apply_server_changes_async   (TernStore            *self,
                                                     gint64                folder_id,
                                                     GPtrArray            *flag_updates,
                                                     GArray               *gone_uids,
                                                     gint64                highestmodseq,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean    tern_store_apply_server_changes_finish  (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     guint                *out_changed,
                                                     GError              **error);

/* The offline action queue */
void        tern_store_queue_action_async           (TernStore            *self,
                                                     TernActionKind        kind,
                                                     GArray               *message_ids,
                                                     gint64                target_id,
                                                     guint                 flags_add,
                                                     guint                 flags_remove,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
guint       tern_store_queue_action_finish          (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_list_actions_async           (TernStore            *self,
                                                     const char           *account,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GPtrArray  *tern_store_list_actions_finish          (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_finish_action_async          (TernStore            *self,
                                                     gint64                action_id,
                                                     GArray               *new_uids,
                                                     const char           *failure,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean    tern_store_finish_action_finish         (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void        tern_store_finish_append_async          (TernStore            *self,
                                                     gint64                action_id,
                                                     gint64                folder_id,
                                                     guint32               uidvalidity,
                                                     guint32               uid,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean    tern_store_finish_append_finish         (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

G_END_DECLS
