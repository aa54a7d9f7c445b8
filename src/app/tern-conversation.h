/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-message-row.h"
#include "tern-store.h"

G_BEGIN_DECLS

void       tern_conversation_load_async  (TernStore           *store,
                                          TernMessageRow      *row,
                                          gboolean             same_folder,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
GPtrArray *tern_conversation_load_finish (GAsyncResult        *result,
                                          GError             **error);

G_END_DECLS
