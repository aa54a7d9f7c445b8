/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-store.h"

G_BEGIN_DECLS

/*
 * Drafts: a composer keeps its draft in the account's Drafts folder, the
 * one the server marks \Drafts (RFC 6154) when it does.  In a folder of
 * the server's, the draft is also queued for upload (the action queue's
 * %TERN_ACTION_APPEND, which the IMAP sync replays), so that other
 * devices see it; the previous copy goes through the queue's
 * %TERN_ACTION_DELETE, which takes it off the server too.
 */

/* The folder made for drafts when an account has none. */
#define TERN_STORE_DRAFTS_PATH "Drafts"
/* The IMAP flags a draft is uploaded with. */
#define TERN_STORE_DRAFT_FLAGS "\\Seen \\Draft"

void        tern_store_find_role_folder_async   (TernStore            *self,
                                                 const char           *account,
                                                 TernFolderRole        role,
                                                 const char           *path,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
TernFolder *tern_store_find_role_folder_finish  (TernStore            *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);
void        tern_store_queue_upload_async       (TernStore            *self,
                                                 gint64                message_id,
                                                 const char           *flags,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
gboolean    tern_store_queue_upload_finish      (TernStore            *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);

G_END_DECLS
