/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-store.h"
#include "tern-store-sync.h"

G_BEGIN_DECLS

/*
 * The outbox: outgoing mail waiting for SMTP, in the `outbox` table.  A
 * queued message is a message of the local folder "Outbox", committed and
 * synced before its row exists, so it is in the store before the first
 * byte goes to SMTP.  Once sent, it moves to a Sent folder; when that is a
 * folder an IMAP account keeps on its server, a pending action of kind
 * %TERN_PENDING_ACTION_APPEND asks the IMAP side to upload it.
 */

/* The local folders of the outbox and of the messages it gives up on. */
#define TERN_OUTBOX_FOLDER  "Outbox"
#define TERN_DRAFTS_FOLDER  "Drafts"
#define TERN_SENT_FOLDER    "Sent"

/* pending_actions.kind of "append this message (message_ids) to the
 * account's folder folder_id on the server": the action queue's
 * %TERN_ACTION_APPEND, which the IMAP sync replays. */
#define TERN_PENDING_ACTION_APPEND TERN_ACTION_APPEND

typedef enum {
  TERN_OUTBOX_STATE_QUEUED = 0,
  TERN_OUTBOX_STATE_SENDING = 1,
  TERN_OUTBOX_STATE_FAILED = 3,
  /* Being written; a crash may leave it so until the next recovery. */
  TERN_OUTBOX_STATE_STORING = 4,
} TernOutboxState;

/**
 * TernSentCopy:
 * @TERN_SENT_COPY_UPLOAD: keep the sent message in the account's Sent
 *   folder and mark it for upload (IMAP accounts)
 * @TERN_SENT_COPY_LOCAL: keep it in a Sent folder on this computer (POP3
 *   accounts)
 * @TERN_SENT_COPY_NONE: the server files sent mail itself; the local copy
 *   goes
 */
typedef enum {
  TERN_SENT_COPY_UPLOAD,
  TERN_SENT_COPY_LOCAL,
  TERN_SENT_COPY_NONE,
} TernSentCopy;

typedef struct
{
  gint64 id;
  char *account;
  char *sender;
  GStrv recipients;
  gint64 message_id;
  TernOutboxState state;
  guint attempts;
  gint64 created;
  gint64 send_after;
  gint64 next_attempt;
  char *last_error;
  gint64 size;
  char *subject;
  /* The delivery status notifications asked for: TernSmtpDsnNotify bits
   * (0: none) and a TernSmtpDsnRet (0: the server's default). */
  guint dsn_notify;
  guint dsn_ret;
} TernOutboxItem;

void             tern_outbox_item_free          (TernOutboxItem      *item);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernOutboxItem, tern_outbox_item_free)

void             tern_store_outbox_add_async     (TernStore           *self,
                                                  const char          *account,
                                                  const char          *sender,
                                                  const char * const  *recipients,
                                                  GBytes              *raw,
                                                  gint64               send_after,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
void             tern_store_outbox_add_full_async (TernStore           *self,
                                                  const char          *account,
                                                  const char          *sender,
                                                  const char * const  *recipients,
                                                  GBytes              *raw,
                                                  gint64               send_after,
                                                  guint                dsn_notify,
                                                  guint                dsn_ret,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
TernOutboxItem  *tern_store_outbox_add_finish    (TernStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

void             tern_store_outbox_list_async    (TernStore           *self,
                                                  const char          *account,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GPtrArray       *tern_store_outbox_list_finish   (TernStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

void             tern_store_outbox_recover_async (TernStore           *self,
                                                  const char          *account,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
void             tern_store_outbox_claim_async   (TernStore           *self,
                                                  const char          *account,
                                                  gint64               now,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
TernOutboxItem  *tern_store_outbox_claim_finish  (TernStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);
void             tern_store_outbox_retry_async   (TernStore           *self,
                                                  gint64               item_id,
                                                  gint64               next_attempt,
                                                  const char          *reason,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
void             tern_store_outbox_fail_async    (TernStore           *self,
                                                  gint64               item_id,
                                                  const char          *reason,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
void             tern_store_outbox_sent_async    (TernStore           *self,
                                                  gint64               item_id,
                                                  TernSentCopy         copy,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
void             tern_store_outbox_cancel_async  (TernStore           *self,
                                                  gint64               item_id,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean         tern_store_outbox_change_finish (TernStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

G_END_DECLS
