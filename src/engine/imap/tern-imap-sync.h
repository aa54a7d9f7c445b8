/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-connection.h"
#include "tern-store.h"

G_BEGIN_DECLS

/*
 * TernImapSync: one IMAP account's folders kept in step with the store.
 *
 * A run replays the queued offline actions in order, reads the folder
 * list (roles, subscriptions), and syncs each folder: the first time its
 * headers newest first in batches, later by QRESYNC, CONDSTORE or a UID
 * and flags diff; bodies are fetched for the last offline_days days (or
 * all, when asked).  tern_imap_sync_watch() keeps the INBOX current with
 * IDLE, reconnecting with backoff.
 *
 * The blocking calls (tern_imap_sync_run() and the others without _async)
 * iterate the calling thread's thread-default main context until they are
 * done: call them from tern-cli or from a worker thread; the app uses
 * tern_imap_sync_run_async(), which runs them in a thread of its own.  At
 * most one connection is open at a time.
 */

#define TERN_IMAP_SYNC_ERROR (tern_imap_sync_error_quark ())

typedef enum
{
  TERN_IMAP_SYNC_ERROR_FAILED,
  TERN_IMAP_SYNC_ERROR_NOT_FOUND,
  TERN_IMAP_SYNC_ERROR_UNSUPPORTED,
} TernImapSyncError;

GQuark tern_imap_sync_error_quark (void);

/**
 * TernImapSyncStats:
 *
 * What a run did, summed over its folders.
 */
typedef struct
{
  guint folders;
  guint new_messages;
  guint flag_changes;
  guint expunged;
  guint bodies;
  guint actions_replayed;
  guint actions_failed;
  guint resets;
} TernImapSyncStats;

/**
 * TernImapSyncNewMailFunc:
 * @path: the store path of the folder
 * @message_ids: (element-type gint64): the new messages
 *
 * Called by tern_imap_sync_watch() when new mail arrived.
 */
typedef void (*TernImapSyncNewMailFunc) (const char *path,
                                         GArray     *message_ids,
                                         gpointer    user_data);

#define TERN_TYPE_IMAP_SYNC (tern_imap_sync_get_type ())

G_DECLARE_FINAL_TYPE (TernImapSync, tern_imap_sync, TERN, IMAP_SYNC, GObject)

TernImapSync *tern_imap_sync_new                 (TernStore              *store,
                                                  const char             *account_id);
void          tern_imap_sync_set_server          (TernImapSync           *self,
                                                  const char             *host,
                                                  guint16                 port,
                                                  TernConnectionSecurity  security);
void          tern_imap_sync_set_login           (TernImapSync           *self,
                                                  const char             *username,
                                                  const char             *password);
void          tern_imap_sync_set_oauth2_login    (TernImapSync           *self,
                                                  const char             *username,
                                                  const char             *token);
void          tern_imap_sync_set_tls_database    (TernImapSync           *self,
                                                  GTlsDatabase           *database);
void          tern_imap_sync_set_local_address   (TernImapSync           *self,
                                                  const char             *address);
void          tern_imap_sync_set_pinned_certificate (TernImapSync       *self,
                                                  const char             *pin);
void          tern_imap_sync_set_offline_days    (TernImapSync           *self,
                                                  guint                   days);
void          tern_imap_sync_set_all_bodies      (TernImapSync           *self,
                                                  gboolean                all_bodies);
void          tern_imap_sync_set_disabled_extensions (TernImapSync       *self,
                                                  const char * const     *extensions);
void          tern_imap_sync_set_first_batch     (TernImapSync           *self,
                                                  guint                   count);
const char   *tern_imap_sync_get_header_items    (void);

gboolean      tern_imap_sync_run                 (TernImapSync           *self,
                                                  const char             *folder_path,
                                                  TernImapSyncStats      *stats,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
void          tern_imap_sync_run_async           (TernImapSync           *self,
                                                  const char             *folder_path,
                                                  GCancellable           *cancellable,
                                                  GAsyncReadyCallback     callback,
                                                  gpointer                user_data);
gboolean      tern_imap_sync_run_finish          (TernImapSync           *self,
                                                  GAsyncResult           *result,
                                                  TernImapSyncStats      *stats,
                                                  GError                **error);
gboolean      tern_imap_sync_replay              (TernImapSync           *self,
                                                  TernImapSyncStats      *stats,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
gboolean      tern_imap_sync_fetch_body          (TernImapSync           *self,
                                                  gint64                  message_id,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
gboolean      tern_imap_sync_append              (TernImapSync           *self,
                                                  const char             *folder_path,
                                                  GBytes                 *message,
                                                  guint                   flags,
                                                  guint32                *out_uid,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
gboolean      tern_imap_sync_get_quota           (TernImapSync           *self,
                                                  guint64                *out_used_kib,
                                                  guint64                *out_limit_kib,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
gboolean      tern_imap_sync_archive             (TernImapSync           *self,
                                                  const char             *folder_path,
                                                  guint                   older_than_days,
                                                  gint64                  local_folder_id,
                                                  guint                  *out_count,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
gboolean      tern_imap_sync_watch               (TernImapSync           *self,
                                                  TernImapSyncNewMailFunc func,
                                                  gpointer                user_data,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
void          tern_imap_sync_disconnect          (TernImapSync           *self);

/* IMAP flags and keywords to and from #TernMessageFlags. */
guint         tern_imap_flags_to_store           (char                  **flags,
                                                  char                  **out_keywords);
GStrv         tern_imap_flags_from_store         (guint                   flags);

G_END_DECLS
