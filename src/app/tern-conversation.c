/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-conversation.h"

/*
 * The messages of one conversation, oldest first: the row's message, then
 * the conversation it belongs to now, across folders (see
 * tern_store_list_conversation_async() for what it leaves out).
 */

typedef struct
{
  TernStore *store;
  gint64 message_id;
  gint64 folder_id;
  guint count;
  TernConversationScope scope;
  TernMessage *first;
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  g_clear_object (&load->store);
  g_clear_pointer (&load->first, tern_message_unref);
  g_free (load);
}

static GPtrArray *
only_first (LoadData *load)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);

  g_ptr_array_add (messages, tern_message_ref (load->first));
  return messages;
}

static void
conversation_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadData *load = g_task_get_task_data (task);
  g_autoptr(GPtrArray) found = NULL;
  GPtrArray *messages;

  found = tern_store_list_conversation_finish (TERN_STORE (source), result, NULL);
  if (found == NULL)
    {
      g_task_return_pointer (task, only_first (load), (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);
  for (guint i = 0; i < found->len; i++)
    {
      TernMessage *message = found->pdata[i];

      if (load->scope == TERN_CONVERSATION_SCOPE_ROW &&
          tern_message_get_folder_id (message) != load->folder_id)
        continue;
      g_ptr_array_add (messages, tern_message_ref (message));
    }

  /* The row's message moved away meanwhile: it alone, as it was read. */
  if (messages->len == 0)
    g_ptr_array_add (messages, tern_message_ref (load->first));

  g_task_return_pointer (task, messages, (GDestroyNotify) g_ptr_array_unref);
}

static void
first_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadData *load = g_task_get_task_data (task);
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  gint64 conversation_id;

  messages = tern_store_get_messages_finish (TERN_STORE (source), result, &error);
  if (messages == NULL || messages->len == 0 || messages->pdata[0] == NULL)
    {
      if (error == NULL)
        error = g_error_new (TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                             "The message is gone");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  load->first = tern_message_ref (messages->pdata[0]);
  conversation_id = tern_message_get_conversation_id (load->first);

  /* A row of a list shown as messages stands for its message; so does a
   * row of one message acted on.  Read, a conversation row shows the
   * whole conversation, though the folder holds one message of it (a
   * reply of one's own in Sent, the rest in the Inbox). */
  if (conversation_id == 0 || load->scope == TERN_CONVERSATION_SCOPE_MESSAGE ||
      (load->scope == TERN_CONVERSATION_SCOPE_ROW && load->count <= 1))
    {
      g_task_return_pointer (task, only_first (load), (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  tern_store_list_conversation_async (load->store, conversation_id, load->folder_id,
                                      g_task_get_cancellable (task), conversation_cb,
                                      g_object_ref (task));
}

/**
 * tern_conversation_load_async:
 * @row: a row of the message list
 * @scope: which messages of the row
 *
 * Reads the messages of @row: its message alone
 * (%TERN_CONVERSATION_SCOPE_MESSAGE); the conversation's messages in the
 * row's folder (%TERN_CONVERSATION_SCOPE_ROW); or the whole conversation
 * (%TERN_CONVERSATION_SCOPE_WHOLE), replies whose subject changed and
 * those in other folders such as Sent included, less what lies in a Trash
 * or Junk folder other than the row's.
 */
void
tern_conversation_load_async (TernStore            *store,
                              TernMessageRow       *row,
                              TernConversationScope scope,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  LoadData *load = g_new0 (LoadData, 1);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_task_set_source_tag (task, tern_conversation_load_async);
  load->store = g_object_ref (store);
  load->message_id = tern_message_row_get_id (row);
  load->folder_id = tern_message_row_get_folder_id (row);
  load->count = tern_message_row_get_count (row);
  load->scope = scope;
  g_task_set_task_data (task, load, load_data_free);

  g_array_append_val (ids, load->message_id);
  tern_store_get_messages_async (store, ids, cancellable, first_cb, g_object_ref (task));
}

/**
 * tern_conversation_load_finish:
 *
 * Returns: (transfer full) (element-type TernMessage): the messages, oldest
 *   first, never empty; or %NULL with @error set.
 */
GPtrArray *
tern_conversation_load_finish (GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
