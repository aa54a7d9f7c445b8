/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-store.h"

G_BEGIN_DECLS

/*
 * The store's side of POP3 downloading: which messages of a mailbox, by
 * their UIDL, are safe in the store.  A message and the record of its UIDL
 * are committed together, synced to the disk, so that a downloader may
 * delete the server's copy as soon as tern_store_pop3_add_finish() returns.
 */

/**
 * TernPop3Record:
 * @uidl: the server's unique id of the message
 * @message_id: the id of the local copy in the store
 * @first_seen: when Tern stored it, in seconds since the epoch (UTC)
 * @deleted_here: whether the user deleted the local copy (or it is gone)
 *
 * What the store knows of one downloaded message.
 */
typedef struct
{
  char *uidl;
  gint64 message_id;
  gint64 first_seen;
  gboolean deleted_here;
} TernPop3Record;

void            tern_pop3_record_free               (TernPop3Record       *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernPop3Record, tern_pop3_record_free)

void            tern_store_pop3_load_async          (TernStore            *self,
                                                     const char           *account,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GHashTable     *tern_store_pop3_load_finish         (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void            tern_store_pop3_add_async           (TernStore            *self,
                                                     const char           *account,
                                                     gint64                folder_id,
                                                     GPtrArray            *messages,
                                                     const char * const   *uidls,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GArray         *tern_store_pop3_add_finish          (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     guint                *out_added,
                                                     GError              **error);

void            tern_store_pop3_forget_async        (TernStore            *self,
                                                     const char           *account,
                                                     const char * const   *uidls,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean        tern_store_pop3_forget_finish       (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void            tern_store_pop3_note_deleted_async  (TernStore            *self,
                                                     GArray               *message_ids,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean        tern_store_pop3_note_deleted_finish (TernStore            *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

G_END_DECLS
