/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tern-imap-client-private.h"
#include "tern-imap-utf7.h"

/* UID FETCH */

typedef struct
{
  TernImapFetchFunc func;
  gpointer func_data;
  GArray *vanished;
  /* fetch_body_async(): the UID asked for, and what came. */
  guint32 uid;
  char *section;
  GBytes *body;
} FetchData;

static void
fetch_data_free (FetchData *data)
{
  g_clear_pointer (&data->vanished, g_array_unref);
  g_clear_pointer (&data->body, g_bytes_unref);
  g_free (data->section);
  g_free (data);
}

/* Whether @command is the first UID FETCH waiting for its reply: FETCH
 * responses go to the oldest one. */
static gboolean
is_first_fetch (Command *command)
{
  for (GList *l = command->client->inflight.head; l != NULL; l = l->next)
    {
      Command *other = l->data;

      if (other->untagged == command->untagged)
        return other == command;
    }
  return FALSE;
}

static gboolean
uid_fetch_untagged (Command          *command,
                    TernImapResponse *response)
{
  FetchData *data = command->data;
  GError *error = NULL;
  g_autoptr(TernImapFetch) fetch = NULL;

  if (!is_first_fetch (command) || response->name == NULL)
    return FALSE;

  if (g_str_equal (response->name, "VANISHED"))
    {
      gboolean earlier = FALSE;
      g_autoptr(GArray) ranges = imap_parse_vanished (response, &earlier);

      if (!earlier || ranges == NULL)
        return FALSE;
      g_array_append_vals (data->vanished, ranges->data, ranges->len);
      return TRUE;
    }

  if (!g_str_equal (response->name, "FETCH"))
    return FALSE;
  fetch = imap_fetch_decode (response, &error);
  if (fetch == NULL)
    {
      imap_fatal (command->client, error);
      return TRUE;
    }
  /* Without a UID it is a change the server reports on its own. */
  if ((fetch->fields & TERN_IMAP_FETCH_UID) == 0)
    return FALSE;
  if (data->func != NULL && !command->returned)
    data->func (fetch, data->func_data);
  return TRUE;
}

static void
uid_fetch_done (Command          *command,
                TernImapResponse *tagged)
{
  FetchData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "UID FETCH"));
      return;
    }
  imap_command_return_pointer (command, g_steal_pointer (&data->vanished),
                          (GDestroyNotify) g_array_unref);
}

static gboolean
check_atom_text (const char  *text,
                 const char  *what,
                 GError     **error)
{
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\r' || *p == '\n' || (guchar) *p >= 0x80)
      {
        g_set_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                     "The %s holds a line break or a byte that is not ASCII", what);
        return FALSE;
      }
  return TRUE;
}

/**
 * tern_imap_client_uid_fetch_async:
 * @uid_set: the UIDs, as a set ("1:*", "5,7:9")
 * @items: the FETCH items, as IMAP writes them ("(UID FLAGS)", or
 *   %TERN_IMAP_FETCH_SUMMARY); UID is always sent back with UID FETCH
 * @changed_since: with CONDSTORE, only messages whose MODSEQ is higher;
 *   0 for all
 * @vanished: with QRESYNC enabled and @changed_since, also report the UIDs
 *   of @uid_set that are gone (VANISHED (EARLIER))
 * @func: (scope call): called for each FETCH response as it arrives, in
 *   the main context of the call
 *
 * Fetches messages by UID, streaming: each response is decoded, handed to
 * @func and freed, so memory does not grow with the number of messages.
 * A FETCH with a UID that the server sends meanwhile on its own (a flag
 * changed by another client, with CONDSTORE) reaches @func too; one
 * without a UID goes to the "fetch" signal.
 * Finish with tern_imap_client_uid_fetch_finish(), which gives the
 * vanished UIDs.
 */
void
tern_imap_client_uid_fetch_async (TernImapClient      *self,
                                  const char          *uid_set,
                                  const char          *items,
                                  guint64              changed_since,
                                  gboolean             vanished,
                                  TernImapFetchFunc    func,
                                  gpointer             func_data,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Command *command;
  FetchData *data;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid_set != NULL && items != NULL);

  command = imap_command_new (self, "UID FETCH", tern_imap_client_uid_fetch_async, cancellable,
                         callback, user_data);
  data = g_new0 (FetchData, 1);
  data->func = func;
  data->func_data = func_data;
  data->vanished = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  command->data = data;
  command->data_free = (GDestroyNotify) fetch_data_free;
  command->untagged = uid_fetch_untagged;
  command->done = uid_fetch_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (uid_set, "UID set", &error) || !check_atom_text (items, "item list", &error))
    {
      imap_command_fail_now (command, error);
      return;
    }

  imap_builder_init (&builder, self, command, "UID FETCH ");
  imap_builder_printf (&builder, "%s %s", uid_set, items);
  if (changed_since > 0 && (g_hash_table_contains (self->capabilities, "CONDSTORE")
                            || g_hash_table_contains (self->enabled, "QRESYNC")))
    {
      imap_builder_printf (&builder, " (CHANGEDSINCE %" G_GUINT64_FORMAT "%s)", changed_since,
                      vanished && g_hash_table_contains (self->enabled, "QRESYNC")
                      ? " VANISHED" : "");
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/**
 * tern_imap_client_uid_fetch_finish:
 * @out_vanished: (out) (optional) (element-type TernImapUidRange): the UIDs
 *   reported gone
 */
gboolean
tern_imap_client_uid_fetch_finish (TernImapClient  *self,
                                   GAsyncResult    *result,
                                   GArray         **out_vanished,
                                   GError         **error)
{
  GArray *vanished;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  vanished = g_task_propagate_pointer (G_TASK (result), error);
  if (vanished == NULL)
    return FALSE;
  if (out_vanished != NULL)
    *out_vanished = vanished;
  else
    g_array_unref (vanished);
  return TRUE;
}

static void
body_fetch_func (const TernImapFetch *fetch,
                 gpointer             user_data)
{
  FetchData *data = user_data;
  GBytes *bytes;

  if (fetch->uid != data->uid)
    return;
  bytes = tern_imap_fetch_get_section (fetch, data->section);
  if (bytes != NULL)
    {
      g_clear_pointer (&data->body, g_bytes_unref);
      data->body = g_bytes_ref (bytes);
    }
}

static void
body_fetch_done (Command          *command,
                 TernImapResponse *tagged)
{
  FetchData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "UID FETCH"));
      return;
    }
  if (data->body == NULL)
    {
      imap_command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_NO,
                                                  "The message with UID %u is no longer on "
                                                  "the server", data->uid));
      return;
    }
  imap_command_return_pointer (command, g_steal_pointer (&data->body),
                          (GDestroyNotify) g_bytes_unref);
}

/**
 * tern_imap_client_fetch_body_async:
 * @uid: the message's UID in the selected mailbox
 * @section: (nullable): the section ("1.2", "HEADER", "TEXT"), or %NULL
 *   for the whole message
 *
 * Fetches one message, or one part of it, with BODY.PEEK (the message is
 * not marked read).  Its size is bounded by the client's literal limit.
 * Fails with %TERN_IMAP_CLIENT_ERROR_NO when the message is gone.
 */
void
tern_imap_client_fetch_body_async (TernImapClient      *self,
                                   guint32              uid,
                                   const char          *section,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Command *command;
  FetchData *data;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid > 0);

  command = imap_command_new (self, "UID FETCH", tern_imap_client_fetch_body_async, cancellable,
                         callback, user_data);
  data = g_new0 (FetchData, 1);
  data->uid = uid;
  data->section = g_ascii_strup (section != NULL ? section : "", -1);
  data->func = body_fetch_func;
  data->func_data = data;
  data->vanished = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  command->data = data;
  command->data_free = (GDestroyNotify) fetch_data_free;
  command->untagged = uid_fetch_untagged;
  command->done = body_fetch_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (data->section, "section", &error) || strchr (data->section, ']') != NULL)
    {
      if (error == NULL)
        error = g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                             "The section holds a “]”");
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_init (&builder, self, command, "UID FETCH ");
  imap_builder_printf (&builder, "%u (UID BODY.PEEK[%s])", uid, data->section);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

GBytes *
tern_imap_client_fetch_body_finish (TernImapClient  *self,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The body, streamed */

static void
body_stream_done (Command          *command,
                  TernImapResponse *tagged)
{
  FetchData *data = command->data;
  guint64 *size;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "UID FETCH"));
      return;
    }
  if (data->body == NULL)
    {
      imap_command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                       TERN_IMAP_CLIENT_ERROR_NO,
                                                       "The message with UID %u is no longer "
                                                       "on the server", data->uid));
      return;
    }
  size = g_new (guint64, 1);
  *size = command->diverted;
  imap_command_return_pointer (command, size, g_free);
}

/**
 * tern_imap_client_fetch_body_to_stream_async:
 * @uid: the message's UID in the selected mailbox
 * @section: (nullable): the section, or %NULL for the whole message
 * @output: where the bytes go, as they arrive
 *
 * Like tern_imap_client_fetch_body_async(), but the body is written to
 * @output piece by piece (at most 256 KiB in memory at a time), whatever
 * its size; the client's literal limit does not apply.  @output is not
 * closed.  A write error ends the session, since the rest of the body
 * could no longer be told from the replies after it.  Finish with
 * tern_imap_client_fetch_body_to_stream_finish().
 */
void
tern_imap_client_fetch_body_to_stream_async (TernImapClient      *self,
                                             guint32              uid,
                                             const char          *section,
                                             GOutputStream       *output,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  Command *command;
  FetchData *data;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid > 0);
  g_return_if_fail (G_IS_OUTPUT_STREAM (output));

  command = imap_command_new (self, "UID FETCH", tern_imap_client_fetch_body_to_stream_async,
                              cancellable, callback, user_data);
  data = g_new0 (FetchData, 1);
  data->uid = uid;
  data->section = g_ascii_strup (section != NULL ? section : "", -1);
  data->func = body_fetch_func;
  data->func_data = data;
  data->vanished = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  command->data = data;
  command->data_free = (GDestroyNotify) fetch_data_free;
  command->untagged = uid_fetch_untagged;
  command->done = body_stream_done;
  /* Alone in flight, so that the body literal that comes is this one's. */
  command->barrier = TRUE;
  command->divert_output = g_object_ref (output);
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (data->section, "section", &error) || strchr (data->section, ']') != NULL)
    {
      if (error == NULL)
        error = g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                             "The section holds a “]”");
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_init (&builder, self, command, "UID FETCH ");
  imap_builder_printf (&builder, "%u (UID BODY.PEEK[%s])", uid, data->section);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/**
 * tern_imap_client_fetch_body_to_stream_finish:
 * @out_size: (out) (optional): how many bytes were written
 */
gboolean
tern_imap_client_fetch_body_to_stream_finish (TernImapClient  *self,
                                              GAsyncResult    *result,
                                              guint64         *out_size,
                                              GError         **error)
{
  g_autofree guint64 *size = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  size = g_task_propagate_pointer (G_TASK (result), error);
  if (size == NULL)
    return FALSE;
  if (out_size != NULL)
    *out_size = *size;
  return TRUE;
}

/* UID SEARCH */

typedef struct
{
  GArray *uids;
  GError *error;
} SearchData;

static void
search_data_free (SearchData *data)
{
  g_clear_pointer (&data->uids, g_array_unref);
  g_clear_error (&data->error);
  g_free (data);
}

static gboolean
search_add_uid (SearchData *data,
                guint64     uid)
{
  guint32 value;

  if (uid == 0 || uid > G_MAXUINT32)
    return TRUE;
  if (data->uids->len >= MAX_SEARCH_RESULTS)
    {
      if (data->error == NULL)
        data->error = g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_TOO_BIG,
                                   "The search found more than %u messages",
                                   MAX_SEARCH_RESULTS);
      return FALSE;
    }
  value = (guint32) uid;
  g_array_append_val (data->uids, value);
  return TRUE;
}

static gboolean
search_untagged (Command          *command,
                 TernImapResponse *response)
{
  SearchData *data = command->data;

  if (g_strcmp0 (response->name, "SEARCH") == 0)
    {
      for (guint i = 0; response->data != NULL && i < response->data->items->len; i++)
        {
          const TernImapValue *value = g_ptr_array_index (response->data->items, i);

          if (value->kind == TERN_IMAP_VALUE_NUMBER && !search_add_uid (data, value->number))
            break;
        }
      return TRUE;
    }

  if (g_strcmp0 (response->name, "ESEARCH") == 0)
    {
      const TernImapValue *items = response->data;
      guint i = 0;

      if (items == NULL)
        return TRUE;
      /* (TAG "T5") belongs to this command only when the tag is ours. */
      if (items->items->len > 0
          && ((TernImapValue *) g_ptr_array_index (items->items, 0))->kind == TERN_IMAP_VALUE_LIST)
        {
          const TernImapValue *correlator = g_ptr_array_index (items->items, 0);

          if (correlator->items->len == 2
              && g_strcmp0 (((TernImapValue *) g_ptr_array_index (correlator->items, 1))->str,
                            command->tag) != 0)
            return FALSE;
          i = 1;
        }
      for (; i + 1 < items->items->len; i++)
        {
          const TernImapValue *key = g_ptr_array_index (items->items, i);
          const TernImapValue *value = g_ptr_array_index (items->items, i + 1);
          g_autoptr(GArray) ranges = NULL;

          if (!tern_imap_value_is_atom (key, "ALL"))
            continue;
          ranges = imap_ranges_from_value (value);
          if (ranges == NULL)
            continue;
          for (guint r = 0; r < ranges->len; r++)
            {
              const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, r);

              for (guint64 uid = range->first; uid <= range->last; uid++)
                if (!search_add_uid (data, uid))
                  return TRUE;
            }
          i++;
        }
      return TRUE;
    }
  return FALSE;
}

static void
search_done (Command          *command,
             TernImapResponse *tagged)
{
  SearchData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    imap_command_return_error (command, imap_status_error (tagged, "UID SEARCH"));
  else if (data->error != NULL)
    imap_command_return_error (command, g_steal_pointer (&data->error));
  else
    imap_command_return_pointer (command, g_steal_pointer (&data->uids),
                            (GDestroyNotify) g_array_unref);
}

/**
 * tern_imap_client_uid_search_async:
 * @criteria: the search criteria as IMAP writes them ("UNSEEN",
 *   "SINCE 1-Jan-2024"), ASCII only
 *
 * Searches the selected mailbox, with ESEARCH (RETURN (ALL)) when the
 * server offers it.  Finish with tern_imap_client_uid_search_finish(): a
 * #GArray of guint32 UIDs, in the server's order, at most 16 million.
 */
void
tern_imap_client_uid_search_async (TernImapClient      *self,
                                   const char          *criteria,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Command *command;
  SearchData *data;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (criteria != NULL);

  command = imap_command_new (self, "UID SEARCH", tern_imap_client_uid_search_async, cancellable,
                         callback, user_data);
  data = g_new0 (SearchData, 1);
  data->uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  command->data = data;
  command->data_free = (GDestroyNotify) search_data_free;
  command->untagged = search_untagged;
  command->done = search_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (criteria, "search", &error))
    {
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_init (&builder, self, command, "UID SEARCH ");
  if (g_hash_table_contains (self->capabilities, "ESEARCH"))
    imap_builder_append (&builder, "RETURN (ALL) ");
  imap_builder_append (&builder, criteria);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

GArray *
tern_imap_client_uid_search_finish (TernImapClient  *self,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* UID STORE */

static void
store_done (Command          *command,
            TernImapResponse *tagged)
{
  GArray *modified = NULL;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "UID STORE"));
      return;
    }
  if (tagged->code != NULL && g_ascii_strcasecmp (tagged->code->name, "MODIFIED") == 0
      && tagged->code->raw_args != NULL)
    modified = tern_imap_uid_set_parse (tagged->code->raw_args, NULL);
  if (modified == NULL)
    modified = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  imap_command_return_pointer (command, modified, (GDestroyNotify) g_array_unref);
}

static gboolean
check_flag (const char  *flag,
            GError     **error)
{
  const char *p = flag;

  if (*p == '\\')
    p++;
  if (*p == '\0')
    goto bad;
  for (; *p != '\0'; p++)
    {
      guchar c = *p;

      if (c <= 0x20 || c >= 0x7f || strchr ("(){%*\"\\]", c) != NULL)
        goto bad;
    }
  return TRUE;

bad:
  g_set_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
               "“%s” is not a valid IMAP flag or keyword", flag);
  return FALSE;
}

static gboolean
append_flag_list (Builder             *builder,
                  const char * const  *flags,
                  GError             **error)
{
  imap_builder_append (builder, "(");
  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      if (!check_flag (flags[i], error))
        return FALSE;
      imap_builder_printf (builder, "%s%s", i > 0 ? " " : "", flags[i]);
    }
  imap_builder_append (builder, ")");
  return TRUE;
}

/**
 * tern_imap_client_uid_store_async:
 * @uid_set: the UIDs
 * @mode: add, remove or replace
 * @flags: (array zero-terminated=1): system flags ("\\Seen") and keywords
 *   ("$Forwarded")
 * @unchanged_since: with CONDSTORE, change only messages whose MODSEQ is
 *   not higher; 0 for no condition
 *
 * Changes flags with the .SILENT form: the server reports no flags back,
 * except for changes made meanwhile by others, which come through the
 * "fetch" signal.  Finish with tern_imap_client_uid_store_finish(), which
 * gives the UIDs not changed because of @unchanged_since (MODIFIED).
 */
void
tern_imap_client_uid_store_async (TernImapClient      *self,
                                  const char          *uid_set,
                                  TernImapStoreMode    mode,
                                  const char * const  *flags,
                                  guint64              unchanged_since,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Command *command;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid_set != NULL);

  command = imap_command_new (self, "UID STORE", tern_imap_client_uid_store_async, cancellable,
                         callback, user_data);
  command->done = store_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (uid_set, "UID set", &error))
    {
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_init (&builder, self, command, "UID STORE ");
  imap_builder_append (&builder, uid_set);
  if (unchanged_since > 0 && g_hash_table_contains (self->capabilities, "CONDSTORE"))
    imap_builder_printf (&builder, " (UNCHANGEDSINCE %" G_GUINT64_FORMAT ")", unchanged_since);
  imap_builder_append (&builder, mode == TERN_IMAP_STORE_ADD ? " +FLAGS.SILENT "
                            : mode == TERN_IMAP_STORE_REMOVE ? " -FLAGS.SILENT "
                            : " FLAGS.SILENT ");
  if (!append_flag_list (&builder, flags, &error))
    {
      imap_builder_clear (&builder);
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/**
 * tern_imap_client_uid_store_finish:
 * @out_modified: (out) (optional) (element-type TernImapUidRange): the
 *   UIDs the server did not change because they changed since
 */
gboolean
tern_imap_client_uid_store_finish (TernImapClient  *self,
                                   GAsyncResult    *result,
                                   GArray         **out_modified,
                                   GError         **error)
{
  GArray *modified;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  modified = g_task_propagate_pointer (G_TASK (result), error);
  if (modified == NULL)
    return FALSE;
  if (out_modified != NULL)
    *out_modified = modified;
  else
    g_array_unref (modified);
  return TRUE;
}

/* UID COPY, UID MOVE, and the move without MOVE */

typedef struct
{
  char *uid_set;
  char *destination;
  TernImapCopyResult *result;
} CopyData;

static void
copy_data_free (CopyData *data)
{
  g_free (data->uid_set);
  g_free (data->destination);
  tern_imap_copy_result_free (data->result);
  g_free (data);
}

static void
copy_read_code (CopyData     *data,
                TernImapCode *code)
{
  if (code == NULL || code->kind != TERN_IMAP_CODE_COPYUID)
    return;
  data->result->uidvalidity = (guint32) MIN (code->number, G_MAXUINT32);
  g_clear_pointer (&data->result->source_uids, g_array_unref);
  g_clear_pointer (&data->result->dest_uids, g_array_unref);
  if (code->uid_set != NULL)
    data->result->source_uids = tern_imap_uid_set_parse (code->uid_set, NULL);
  if (code->dest_uid_set != NULL)
    data->result->dest_uids = tern_imap_uid_set_parse (code->dest_uid_set, NULL);
}

/* MOVE sends its COPYUID in an untagged OK before the expunges. */
static gboolean
move_untagged (Command          *command,
               TernImapResponse *response)
{
  CopyData *data = command->data;

  if (response->status == TERN_IMAP_STATUS_OK && response->code != NULL
      && response->code->kind == TERN_IMAP_CODE_COPYUID)
    {
      copy_read_code (data, response->code);
      return TRUE;
    }
  return FALSE;
}

static void
copy_done (Command          *command,
           TernImapResponse *tagged)
{
  CopyData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, command->name));
      return;
    }
  copy_read_code (data, tagged->code);
  imap_command_return_pointer (command, g_steal_pointer (&data->result),
                          (GDestroyNotify) tern_imap_copy_result_free);
}

static Command *
copy_command_new (TernImapClient      *self,
                  const char          *verb,
                  const char          *uid_set,
                  const char          *destination,
                  gpointer             source_tag,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data,
                  GError             **error)
{
  Command *command = imap_command_new (self, verb, source_tag, cancellable, callback, user_data);
  CopyData *data = g_new0 (CopyData, 1);
  Builder builder;

  data->uid_set = g_strdup (uid_set);
  data->destination = g_strdup (destination);
  data->result = g_new0 (TernImapCopyResult, 1);
  data->result->source_expunged = g_str_equal (verb, "UID MOVE");
  command->data = data;
  command->data_free = (GDestroyNotify) copy_data_free;
  command->done = copy_done;
  command->untagged = move_untagged;

  imap_builder_init (&builder, self, command, verb);
  imap_builder_printf (&builder, " %s ", uid_set);
  if (!check_atom_text (uid_set, "UID set", error)
      || !imap_builder_add_mailbox (&builder, destination, error))
    {
      imap_builder_clear (&builder);
      imap_command_unref (command);
      return NULL;
    }
  imap_builder_finish (&builder);
  return command;
}

void
tern_imap_client_uid_copy_async (TernImapClient      *self,
                                 const char          *uid_set,
                                 const char          *destination,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  Command *command;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid_set != NULL && destination != NULL);

  command = copy_command_new (self, "UID COPY", uid_set, destination,
                              tern_imap_client_uid_copy_async, cancellable, callback, user_data,
                              &error);
  if (command == NULL)
    {
      g_task_report_error (self, callback, user_data, tern_imap_client_uid_copy_async, error);
      return;
    }
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  imap_submit (self, command);
}

/* The move without MOVE: COPY, then STORE \Deleted, then UID EXPUNGE of
 * exactly those UIDs when UIDPLUS allows it.  Never a bare EXPUNGE. */

typedef struct
{
  char *uid_set;
  TernImapCopyResult *result;
} MoveData;

static void
move_data_free (MoveData *data)
{
  g_free (data->uid_set);
  tern_imap_copy_result_free (data->result);
  g_free (data);
}

static void
move_expunged_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  MoveData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_imap_client_simple_finish (TERN_IMAP_CLIENT (source), result, &error))
    {
      g_prefix_error (&error, "The messages were copied and marked deleted, but not "
                      "expunged: ");
      g_task_return_error (task, error);
      return;
    }
  data->result->source_expunged = TRUE;
  g_task_return_pointer (task, g_steal_pointer (&data->result),
                         (GDestroyNotify) tern_imap_copy_result_free);
}

static void
move_stored_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernImapClient *self = TERN_IMAP_CLIENT (source);
  MoveData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_imap_client_uid_store_finish (self, result, NULL, &error))
    {
      g_prefix_error (&error, "The messages were copied, but not marked deleted: ");
      g_task_return_error (task, error);
      return;
    }
  if (!g_hash_table_contains (self->capabilities, "UIDPLUS"))
    {
      /* Expunging anything else the user marked deleted is not ours to do. */
      data->result->source_expunged = FALSE;
      g_task_return_pointer (task, g_steal_pointer (&data->result),
                             (GDestroyNotify) tern_imap_copy_result_free);
      return;
    }
  tern_imap_client_uid_expunge_async (self, data->uid_set, g_task_get_cancellable (task),
                                      move_expunged_cb, g_object_ref (task));
}

static void
move_copied_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernImapClient *self = TERN_IMAP_CLIENT (source);
  MoveData *data = g_task_get_task_data (task);
  static const char * const deleted[] = { "\\Deleted", NULL };
  GError *error = NULL;

  data->result = tern_imap_client_copy_finish (self, result, &error);
  if (data->result == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  tern_imap_client_uid_store_async (self, data->uid_set, TERN_IMAP_STORE_ADD, deleted, 0,
                                    g_task_get_cancellable (task), move_stored_cb,
                                    g_object_ref (task));
}

/**
 * tern_imap_client_uid_move_async:
 *
 * Moves messages: UID MOVE when the server offers MOVE; else UID COPY,
 * UID STORE +FLAGS.SILENT (\Deleted) and, with UIDPLUS, UID EXPUNGE of
 * exactly those UIDs.  Without UIDPLUS nothing is expunged (an EXPUNGE
 * would also remove other messages marked deleted) and the result's
 * @source_expunged is %FALSE.  Finish with tern_imap_client_copy_finish().
 */
void
tern_imap_client_uid_move_async (TernImapClient      *self,
                                 const char          *uid_set,
                                 const char          *destination,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;
  MoveData *data;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid_set != NULL && destination != NULL);

  if (g_hash_table_contains (self->capabilities, "MOVE"))
    {
      Command *command = copy_command_new (self, "UID MOVE", uid_set, destination,
                                           tern_imap_client_uid_copy_async, cancellable,
                                           callback, user_data, &error);

      if (command == NULL)
        {
          g_task_report_error (self, callback, user_data, tern_imap_client_uid_copy_async,
                               error);
          return;
        }
      if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
        return;
      imap_submit (self, command);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_imap_client_uid_copy_async);
  data = g_new0 (MoveData, 1);
  data->uid_set = g_strdup (uid_set);
  g_task_set_task_data (task, data, (GDestroyNotify) move_data_free);
  tern_imap_client_uid_copy_async (self, uid_set, destination, cancellable, move_copied_cb,
                                   task);
}

/**
 * tern_imap_client_copy_finish:
 *
 * Finishes tern_imap_client_uid_copy_async() and
 * tern_imap_client_uid_move_async().
 *
 * Returns: (transfer full): what the server said of the copies (COPYUID
 *   with UIDPLUS), and for a move whether the sources are gone
 */
TernImapCopyResult *
tern_imap_client_copy_finish (TernImapClient  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_imap_client_uid_expunge_async:
 *
 * Expunges exactly the messages of @uid_set that are marked \Deleted (UID
 * EXPUNGE, UIDPLUS).  Without UIDPLUS it fails with
 * %TERN_IMAP_CLIENT_ERROR_UNSUPPORTED: Tern never sends a bare EXPUNGE.
 * Finish with tern_imap_client_simple_finish().
 */
void
tern_imap_client_uid_expunge_async (TernImapClient      *self,
                                    const char          *uid_set,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  Command *command;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (uid_set != NULL);

  command = imap_command_new (self, "UID EXPUNGE", tern_imap_client_uid_expunge_async, cancellable,
                         callback, user_data);
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!g_hash_table_contains (self->capabilities, "UIDPLUS"))
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server has no UIDPLUS: messages cannot be "
                                              "expunged by UID"));
      return;
    }
  if (!check_atom_text (uid_set, "UID set", &error))
    {
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_init (&builder, self, command, "UID EXPUNGE ");
  imap_builder_append (&builder, uid_set);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/* APPEND */

typedef struct
{
  guint32 uidvalidity;
  guint32 uid;
} AppendResult;

static void
append_done (Command          *command,
             TernImapResponse *tagged)
{
  AppendResult *result;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "APPEND"));
      return;
    }
  result = g_new0 (AppendResult, 1);
  if (tagged->code != NULL && tagged->code->kind == TERN_IMAP_CODE_APPENDUID)
    {
      g_autoptr(GArray) uids = tagged->code->uid_set != NULL
                               ? tern_imap_uid_set_parse (tagged->code->uid_set, NULL) : NULL;

      result->uidvalidity = (guint32) MIN (tagged->code->number, G_MAXUINT32);
      if (uids != NULL && uids->len == 1)
        result->uid = g_array_index (uids, TernImapUidRange, 0).first;
    }
  imap_command_return_pointer (command, result, g_free);
}

/**
 * tern_imap_client_append_async:
 * @mailbox: the destination, in UTF-8
 * @flags: (array zero-terminated=1) (nullable): flags to set ("\\Seen")
 * @internal_date: (nullable): the INTERNALDATE to give the message
 * @message: the message, with CRLF line ends
 *
 * Appends a message.  A message larger than the server's APPENDLIMIT fails
 * with %TERN_IMAP_CLIENT_ERROR_TOO_BIG before anything is sent.  The
 * message goes as a LITERAL+ (or LITERAL- when small enough) literal, or
 * after the server's continuation request.  With UIDPLUS,
 * tern_imap_client_append_finish() gives the new UID.
 */
void
tern_imap_client_append_async (TernImapClient      *self,
                               const char          *mailbox,
                               const char * const  *flags,
                               GDateTime           *internal_date,
                               GBytes              *message,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Command *command;
  GError *error = NULL;
  Builder builder;
  gsize size;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL && message != NULL);

  command = imap_command_new (self, "APPEND", tern_imap_client_append_async, cancellable, callback,
                         user_data);
  command->done = append_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  size = g_bytes_get_size (message);
  if (self->append_limit > 0 && size > self->append_limit)
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_TOO_BIG,
                                              "The message (%" G_GSIZE_FORMAT " bytes) is larger "
                                              "than the server accepts (%" G_GUINT64_FORMAT
                                              " bytes)", size, self->append_limit));
      return;
    }

  imap_builder_init (&builder, self, command, "APPEND ");
  if (!imap_builder_add_mailbox (&builder, mailbox, &error))
    {
      imap_builder_clear (&builder);
      imap_command_fail_now (command, error);
      return;
    }
  if (flags != NULL && flags[0] != NULL)
    {
      imap_builder_append (&builder, " ");
      if (!append_flag_list (&builder, flags, &error))
        {
          imap_builder_clear (&builder);
          imap_command_fail_now (command, error);
          return;
        }
    }
  if (internal_date != NULL)
    {
      g_autofree char *date = imap_format_internal_date (internal_date);

      imap_builder_printf (&builder, " \"%s\"", date);
    }
  imap_builder_append (&builder, " ");
  imap_builder_add_literal (&builder, message, FALSE);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/**
 * tern_imap_client_append_finish:
 * @out_uidvalidity: (out) (optional): the destination's UIDVALIDITY, or 0
 *   without UIDPLUS
 * @out_uid: (out) (optional): the new message's UID, or 0 without UIDPLUS
 */
gboolean
tern_imap_client_append_finish (TernImapClient  *self,
                                GAsyncResult    *result,
                                guint32         *out_uidvalidity,
                                guint32         *out_uid,
                                GError         **error)
{
  g_autofree AppendResult *appended = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  appended = g_task_propagate_pointer (G_TASK (result), error);
  if (appended == NULL)
    return FALSE;
  if (out_uidvalidity != NULL)
    *out_uidvalidity = appended->uidvalidity;
  if (out_uid != NULL)
    *out_uid = appended->uid;
  return TRUE;
}

/* QUOTA */

static gboolean
quota_untagged (Command          *command,
                TernImapResponse *response)
{
  GPtrArray *quotas = command->data;
  const TernImapValue *list;
  TernImapQuota *quota;

  if (g_strcmp0 (response->name, "QUOTAROOT") == 0)
    return TRUE;
  if (g_strcmp0 (response->name, "QUOTA") != 0 || response->data == NULL
      || response->data->items->len < 2)
    return FALSE;

  list = g_ptr_array_index (response->data->items, 1);
  if (list->kind != TERN_IMAP_VALUE_LIST)
    return TRUE;
  quota = g_new0 (TernImapQuota, 1);
  quota->root = tern_imap_mailbox_name_decode (g_ptr_array_index (response->data->items, 0),
                                               command->client->utf8_enabled, NULL);
  if (quota->root == NULL)
    quota->root = g_strdup ("");
  for (guint i = 0; i + 2 < list->items->len; i += 3)
    {
      const TernImapValue *name = g_ptr_array_index (list->items, i);
      const TernImapValue *usage = g_ptr_array_index (list->items, i + 1);
      const TernImapValue *limit = g_ptr_array_index (list->items, i + 2);

      if (usage->kind != TERN_IMAP_VALUE_NUMBER || limit->kind != TERN_IMAP_VALUE_NUMBER)
        continue;
      if (tern_imap_value_is_atom (name, "STORAGE"))
        {
          quota->has_storage = TRUE;
          quota->storage_used = usage->number;
          quota->storage_limit = limit->number;
        }
      else if (tern_imap_value_is_atom (name, "MESSAGE"))
        {
          quota->has_messages = TRUE;
          quota->messages_used = usage->number;
          quota->messages_limit = limit->number;
        }
    }
  g_ptr_array_add (quotas, quota);
  return TRUE;
}

static void
quota_done (Command          *command,
            TernImapResponse *tagged)
{
  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "GETQUOTAROOT"));
      return;
    }
  imap_command_return_pointer (command, g_ptr_array_ref (command->data),
                          (GDestroyNotify) g_ptr_array_unref);
}

/**
 * tern_imap_client_get_quota_root_async:
 * @mailbox: the mailbox whose quota roots to ask for, usually "INBOX"
 *
 * Asks for the usage and limits of the quota roots of @mailbox
 * (GETQUOTAROOT, RFC 9208).  Fails with %TERN_IMAP_CLIENT_ERROR_UNSUPPORTED
 * without QUOTA.  Finish with tern_imap_client_get_quota_root_finish(): a
 * #GPtrArray of #TernImapQuota, empty when no quota applies.
 */
void
tern_imap_client_get_quota_root_async (TernImapClient      *self,
                                       const char          *mailbox,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  Command *command;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);

  command = imap_command_new (self, "GETQUOTAROOT", tern_imap_client_get_quota_root_async,
                         cancellable, callback, user_data);
  command->data = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_quota_free);
  command->data_free = (GDestroyNotify) g_ptr_array_unref;
  command->untagged = quota_untagged;
  command->done = quota_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "QUOTA"))
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer QUOTA"));
      return;
    }
  imap_builder_init (&builder, self, command, "GETQUOTAROOT ");
  if (!imap_builder_add_mailbox (&builder, mailbox, &error))
    {
      imap_builder_clear (&builder);
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

GPtrArray *
tern_imap_client_get_quota_root_finish (TernImapClient  *self,
                                        GAsyncResult    *result,
                                        GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* IDLE */

static void
idle_send_done (TernImapClient *self)
{
  if (self->idle_done_sent)
    return;
  self->idle_done_sent = TRUE;
  imap_out_push (self, g_bytes_new_static ("DONE\r\n", 6), NULL, FALSE);
}

static void
idle_continuation (Command          *command,
                   TernImapResponse *response)
{
  TernImapClient *self = command->client;

  if (self->idling)
    {
      imap_fatal (self, g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                "The server sent a second continuation request in IDLE"));
      return;
    }
  self->idling = TRUE;
  if (self->idle_done_requested)
    idle_send_done (self);
  else if (!self->reading)
    imap_reader_pump (self);
}

static void
idle_finished (TernImapClient *self)
{
  tern_connection_set_io_timeout (self->connection, self->io_timeout_msec);
  self->idle_command = NULL;
  self->idling = FALSE;
  self->idle_done_sent = FALSE;
  self->idle_done_requested = FALSE;
}

static void
idle_done_cb (Command          *command,
              TernImapResponse *tagged)
{
  idle_finished (command->client);
  imap_default_done (command, tagged);
}

static void
idle_fail (Command      *command,
           const GError *error)
{
  idle_finished (command->client);
  imap_command_return_error (command, g_error_copy (error));
}

/**
 * tern_imap_client_idle_async:
 *
 * Starts IDLE (RFC 2177) once the commands before it are answered: the
 * server then reports changes as they happen, through the signals, and
 * reads wait without a timeout.  It finishes, with
 * tern_imap_client_simple_finish(), after tern_imap_client_idle_done() (or
 * cancelling @cancellable) ended it, or on an error.  No other command may
 * be started meanwhile.  Fails with %TERN_IMAP_CLIENT_ERROR_UNSUPPORTED
 * without IDLE; the caller then polls with NOOP.
 */
void
tern_imap_client_idle_async (TernImapClient      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Command *command;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  command = imap_command_new (self, "IDLE", tern_imap_client_idle_async, cancellable, callback,
                         user_data);
  command->barrier = TRUE;
  command->continuation = idle_continuation;
  command->done = idle_done_cb;
  command->fail = idle_fail;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "IDLE"))
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer IDLE"));
      return;
    }
  imap_builder_init (&builder, self, command, "IDLE");
  imap_builder_finish (&builder);
  self->idle_command = command;
  imap_submit (self, command);
}

/**
 * tern_imap_client_is_idling:
 *
 * Returns: whether the server accepted IDLE and it has not ended yet
 */
gboolean
tern_imap_client_is_idling (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), FALSE);
  return self->idling && !self->idle_done_sent;
}

/**
 * tern_imap_client_idle_done:
 *
 * Ends IDLE: sends DONE now, or as soon as the server accepted IDLE.  Does
 * nothing when no IDLE is running.
 */
void
tern_imap_client_idle_done (TernImapClient *self)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  if (self->idle_command == NULL || self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  self->idle_done_requested = TRUE;
  if (self->idling)
    idle_send_done (self);
}

