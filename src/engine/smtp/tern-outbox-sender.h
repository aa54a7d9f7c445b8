/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-connection.h"
#include "tern-store.h"
#include "tern-store-outbox.h"

G_BEGIN_DECLS

/*
 * TernOutboxSender: works one account's outbox queue through its SMTP
 * server.
 *
 * A run sends every message that is due (past its undo window and its
 * next attempt) over one SMTP session, then quits.  What happens to each:
 *
 *   sent               filed in a Sent folder (see #TernSentCopy)
 *   4xx, or the wire   back in the queue with the reason, tried again
 *     fails              after a delay that doubles each time
 *   5xx                given up, with the refused addresses in the reason;
 *                        it stays in the Outbox folder
 *   too big (SIZE)     given up before a byte of it is sent, the server's
 *                        limit in the reason
 *
 * When the server cannot be reached (offline), the run stops and every
 * message stays queued.  So it does when the server's certificate does
 * not validate and is not pinned, and ::certificate-refused tells it.  tern_outbox_sender_start() runs again whenever
 * something falls due and when the network comes back.
 */

/* Retries: the first after this many seconds, then twice as long each
 * time, up to the longest. */
#define TERN_OUTBOX_RETRY_FIRST_SECONDS   30
#define TERN_OUTBOX_RETRY_LONGEST_SECONDS 3600
/* A message the server keeps refusing for now (4xx) is given up after
 * this many attempts; one that cannot reach the server never is. */
#define TERN_OUTBOX_MAX_ATTEMPTS          20

typedef struct {
  guint sent;
  guint retried;
  guint failed;
  /* Set when the server could not be reached: the rest waits. */
  gboolean offline;
  /* Sent messages some of whose recipients were refused, and messages
   * given up or delayed: one sentence each, naming the addresses. */
  GPtrArray *notes;
} TernOutboxRunStats;

void tern_outbox_run_stats_clear (TernOutboxRunStats *stats);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TernOutboxRunStats, tern_outbox_run_stats_clear)

#define TERN_TYPE_OUTBOX_SENDER (tern_outbox_sender_get_type ())

G_DECLARE_FINAL_TYPE (TernOutboxSender, tern_outbox_sender, TERN, OUTBOX_SENDER, GObject)

TernOutboxSender *tern_outbox_sender_new               (TernStore              *store,
                                                        const char             *account);
const char       *tern_outbox_sender_get_account       (TernOutboxSender       *self);
void              tern_outbox_sender_set_server        (TernOutboxSender       *self,
                                                        const char             *host,
                                                        guint16                 port,
                                                        TernConnectionSecurity  security);
void              tern_outbox_sender_set_login         (TernOutboxSender       *self,
                                                        const char             *username,
                                                        const char             *password);
void              tern_outbox_sender_set_oauth2_login  (TernOutboxSender       *self,
                                                        const char             *username,
                                                        const char             *token);
void              tern_outbox_sender_set_tls_database  (TernOutboxSender       *self,
                                                        GTlsDatabase           *database);
void              tern_outbox_sender_set_pinned_certificate (TernOutboxSender   *self,
                                                        const char             *pin);
void              tern_outbox_sender_set_local_address (TernOutboxSender       *self,
                                                        const char             *address);
void              tern_outbox_sender_set_io_timeout    (TernOutboxSender       *self,
                                                        guint                   msec);
void              tern_outbox_sender_set_sent_copy     (TernOutboxSender       *self,
                                                        TernSentCopy            copy);
void              tern_outbox_sender_set_retry_delays  (TernOutboxSender       *self,
                                                        guint                   first_seconds,
                                                        guint                   longest_seconds);

void              tern_outbox_sender_run_async         (TernOutboxSender       *self,
                                                        GCancellable           *cancellable,
                                                        GAsyncReadyCallback     callback,
                                                        gpointer                user_data);
gboolean          tern_outbox_sender_run_finish        (TernOutboxSender       *self,
                                                        GAsyncResult           *result,
                                                        TernOutboxRunStats     *out_stats,
                                                        GError                **error);

void              tern_outbox_sender_start             (TernOutboxSender       *self);
void              tern_outbox_sender_stop              (TernOutboxSender       *self);

G_END_DECLS
