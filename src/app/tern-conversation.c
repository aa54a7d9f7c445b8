/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-conversation.h"
#include "tern-mime-subject.h"

/*
 * The messages of one conversation, oldest first, read through the store's
 * public calls: the row's message, then a search for its subject's words,
 * kept to the messages that the store placed in the same conversation.
 * A conversation whose replies changed the subject entirely shows those
 * replies only in the list, where the store groups them itself.
 */

#define SEARCH_LIMIT 500

typedef struct
{
  TernStore *store;
  gint64 message_id;
  gint64 conversation_id;
  gint64 folder_id;
  guint count;
  gboolean same_folder;
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

static int
compare_dates (gconstpointer a,
               gconstpointer b)
{
  TernMessage *ma = *(TernMessage **) a;
  TernMessage *mb = *(TernMessage **) b;
  gint64 da = tern_message_get_date (ma);
  gint64 db = tern_message_get_date (mb);

  if (da != db)
    return da < db ? -1 : 1;
  return tern_message_get_id (ma) < tern_message_get_id (mb) ? -1 : 1;
}

static GPtrArray *
only_first (LoadData *load)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);

  g_ptr_array_add (messages, tern_message_ref (load->first));
  return messages;
}

static void
members_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadData *load = g_task_get_task_data (task);
  g_autoptr(GPtrArray) found = NULL;
  GPtrArray *messages;

  found = tern_store_get_messages_finish (TERN_STORE (source), result, NULL);
  if (found == NULL)
    {
      g_task_return_pointer (task, only_first (load), (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);
  for (guint i = 0; i < found->len; i++)
    {
      TernMessage *message = found->pdata[i];

      if (message == NULL || tern_message_get_conversation_id (message) != load->conversation_id)
        continue;
      if (load->same_folder && tern_message_get_folder_id (message) != load->folder_id)
        continue;
      g_ptr_array_add (messages, tern_message_ref (message));
    }

  if (messages->len == 0)
    g_ptr_array_add (messages, tern_message_ref (load->first));

  g_ptr_array_sort (messages, compare_dates);
  g_task_return_pointer (task, messages, (GDestroyNotify) g_ptr_array_unref);
}

static void
search_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  LoadData *load = g_task_get_task_data (task);
  g_autoptr(GArray) ids = NULL;

  ids = tern_store_search_finish (TERN_STORE (source), result, NULL);
  if (ids == NULL || ids->len == 0)
    {
      g_task_return_pointer (task, only_first (load), (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  tern_store_get_messages_async (load->store, ids, g_task_get_cancellable (task),
                                 members_cb, g_object_ref (task));
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
  g_autofree char *subject = NULL;
  g_autofree char *query = NULL;
  g_autoptr(GString) words = NULL;

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
  load->conversation_id = tern_message_get_conversation_id (load->first);

  subject = tern_mime_normalize_subject (tern_message_get_subject (load->first));
  words = g_string_new (NULL);
  for (const char *p = subject != NULL ? subject : ""; *p != '\0'; p++)
    if (*p != '"')
      g_string_append_c (words, *p);
  g_strstrip (words->str);

  if (load->count <= 1 || load->conversation_id == 0 || words->str[0] == '\0')
    {
      g_task_return_pointer (task, only_first (load), (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  query = g_strdup_printf ("subject:\"%s\"", words->str);
  tern_store_search_async (load->store, query, load->same_folder ? load->folder_id : 0,
                           SEARCH_LIMIT, g_task_get_cancellable (task), search_cb,
                           g_object_ref (task));
}

/**
 * tern_conversation_load_async:
 * @row: a row of the message list
 * @same_folder: only the messages in the row's folder (for actions on the
 *   row), or all of them (for reading)
 *
 * Reads the messages of @row: its message alone for a row of one message,
 * the conversation's for a conversation row.
 */
void
tern_conversation_load_async (TernStore           *store,
                              TernMessageRow      *row,
                              gboolean             same_folder,
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
  load->same_folder = same_folder;
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
