/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-message-row.h"
#include "tern-store.h"

G_BEGIN_DECLS

/**
 * TernConversationScope:
 * @TERN_CONVERSATION_SCOPE_ROW: what an action on the row acts on: the
 *   row's messages in the row's folder
 * @TERN_CONVERSATION_SCOPE_MESSAGE: the row's message alone, for reading a
 *   list shown as messages
 * @TERN_CONVERSATION_SCOPE_WHOLE: the row's whole conversation, for reading
 *   a list shown as conversations, even where the row's folder holds one
 *   message of it
 */
typedef enum
{
  TERN_CONVERSATION_SCOPE_ROW,
  TERN_CONVERSATION_SCOPE_MESSAGE,
  TERN_CONVERSATION_SCOPE_WHOLE,
} TernConversationScope;

void       tern_conversation_load_async  (TernStore            *store,
                                          TernMessageRow       *row,
                                          TernConversationScope scope,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
GPtrArray *tern_conversation_load_finish (GAsyncResult        *result,
                                          GError             **error);

G_END_DECLS
