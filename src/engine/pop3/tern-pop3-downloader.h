/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account-types.h"
#include "tern-connection.h"
#include "tern-store.h"

G_BEGIN_DECLS

/*
 * TernPop3Downloader: one check of a POP3 mailbox into the store, never
 * losing and never duplicating a message.
 *
 * A check logs in, lists the mailbox (UIDL), retrieves the messages the
 * store does not have (pipelined, a bounded batch at a time), commits each
 * batch to the store with its UIDLs, synced to the disk, and only then
 * deletes on the server what the account's policy says to delete, ending
 * with QUIT, which is what makes the deletions take effect.  A connection
 * that drops anywhere, or a process killed anywhere, leaves every message
 * either on the server or in the store, and the next check downloads none
 * of them twice.
 */

#define TERN_POP3_DOWNLOADER_ERROR (tern_pop3_downloader_error_quark ())

/**
 * TernPop3DownloaderError:
 * @TERN_POP3_DOWNLOADER_ERROR_NO_UIDL: the server does not give unique ids
 *   (UIDL), without which Tern cannot tell which messages it has
 * @TERN_POP3_DOWNLOADER_ERROR_BUSY: a check is running already
 */
typedef enum {
  TERN_POP3_DOWNLOADER_ERROR_NO_UIDL,
  TERN_POP3_DOWNLOADER_ERROR_BUSY,
} TernPop3DownloaderError;

/* A batch of messages committed together holds at most this many messages,
 * and at most this many octets unless one message alone is larger. */
#define TERN_POP3_DOWNLOADER_BATCH_MESSAGES  200
#define TERN_POP3_DOWNLOADER_BATCH_OCTETS    (16 * 1024 * 1024)
/* A message larger than this (by LIST) is retrieved alone and written to a
 * file in the store's folder as it arrives, rather than held in memory. */
#define TERN_POP3_DOWNLOADER_STREAM_OCTETS   (1024 * 1024)

/**
 * TernPop3DownloadStats:
 * @on_server: messages the server listed
 * @downloaded: messages stored by this check
 * @deleted: messages deleted on the server by this check (after QUIT)
 *
 * What one check did.
 */
typedef struct {
  guint on_server;
  guint downloaded;
  guint deleted;
} TernPop3DownloadStats;

#define TERN_TYPE_POP3_DOWNLOADER (tern_pop3_downloader_get_type ())

G_DECLARE_FINAL_TYPE (TernPop3Downloader, tern_pop3_downloader, TERN, POP3_DOWNLOADER, GObject)

GQuark              tern_pop3_downloader_error_quark       (void);

TernPop3Downloader *tern_pop3_downloader_new               (TernStore              *store,
                                                            const char             *account);
void                tern_pop3_downloader_set_server        (TernPop3Downloader     *self,
                                                            const char             *host,
                                                            guint16                 port,
                                                            TernConnectionSecurity  security);
void                tern_pop3_downloader_set_login         (TernPop3Downloader     *self,
                                                            const char             *username,
                                                            const char             *password);
void                tern_pop3_downloader_set_oauth2_login  (TernPop3Downloader     *self,
                                                            const char             *username,
                                                            const char             *token);
void                tern_pop3_downloader_set_tls_database  (TernPop3Downloader     *self,
                                                            GTlsDatabase           *database);
void                tern_pop3_downloader_set_pinned_certificate (TernPop3Downloader *self,
                                                            const char             *pin);
void                tern_pop3_downloader_set_local_address (TernPop3Downloader     *self,
                                                            const char             *address);
void                tern_pop3_downloader_set_io_timeout    (TernPop3Downloader     *self,
                                                            guint                   msec);
void                tern_pop3_downloader_set_target        (TernPop3Downloader     *self,
                                                            const char             *account);
void                tern_pop3_downloader_set_after_download (TernPop3Downloader    *self,
                                                            TernPop3AfterDownload   after,
                                                            guint                   keep_days);
void                tern_pop3_downloader_set_delete_on_server (TernPop3Downloader  *self,
                                                            gboolean                delete_too);

void                tern_pop3_downloader_run_async         (TernPop3Downloader     *self,
                                                            GCancellable           *cancellable,
                                                            GAsyncReadyCallback     callback,
                                                            gpointer                user_data);
gboolean            tern_pop3_downloader_run_finish        (TernPop3Downloader     *self,
                                                            GAsyncResult           *result,
                                                            TernPop3DownloadStats  *out_stats,
                                                            GError                **error);

void                tern_pop3_downloader_start             (TernPop3Downloader     *self,
                                                            guint                   interval_minutes);
void                tern_pop3_downloader_stop              (TernPop3Downloader     *self);

G_END_DECLS
