/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tern-imap-client-private.h"
#include "tern-imap-utf7.h"

/* Simple commands */

static void
submit_simple (TernImapClient      *self,
               const char          *line,
               gboolean             barrier,
               TernImapClientState  minimum,
               gpointer             source_tag,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  Command *command = imap_command_new (self, line, source_tag, cancellable, callback, user_data);
  Builder builder;

  command->barrier = barrier;
  if (!imap_command_check_state (command, minimum))
    return;
  imap_builder_init (&builder, self, command, line);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

void
tern_imap_client_capability_async (TernImapClient      *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  submit_simple (self, "CAPABILITY", FALSE, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED,
                 tern_imap_client_capability_async, cancellable, callback, user_data);
}

/**
 * tern_imap_client_noop_async:
 *
 * Sends NOOP: keeps the connection alive, and lets the server report
 * changes to the selected mailbox through the signals.
 */
void
tern_imap_client_noop_async (TernImapClient      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  submit_simple (self, "NOOP", FALSE, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED,
                 tern_imap_client_noop_async, cancellable, callback, user_data);
}

static void
logout_done (Command          *command,
             TernImapResponse *tagged)
{
  TernImapClient *self = command->client;

  imap_command_return_boolean (command);
  self->state = TERN_IMAP_CLIENT_STATE_CLOSED;
  tern_connection_close (self->connection);
}

static void
logout_fail (Command      *command,
             const GError *error)
{
  TernImapClient *self = command->client;

  /* The server may close the connection right after its BYE, or even
   * without it: either way the session is over, as asked. */
  if (self->bye_text != NULL
      || g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED))
    imap_command_return_boolean (command);
  else
    imap_command_return_error (command, g_error_copy (error));
}

/**
 * tern_imap_client_logout_async:
 *
 * Sends LOGOUT once the commands before it are answered, then closes the
 * connection.
 */
void
tern_imap_client_logout_async (TernImapClient      *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Command *command;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  command = imap_command_new (self, "LOGOUT", tern_imap_client_logout_async, cancellable, callback,
                         user_data);
  command->barrier = TRUE;
  command->done = logout_done;
  command->fail = logout_fail;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED))
    return;
  imap_builder_init (&builder, self, command, "LOGOUT");
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/**
 * tern_imap_client_close:
 *
 * Closes the connection at once, without LOGOUT; pending commands fail
 * with %G_IO_ERROR_CANCELLED.
 */
void
tern_imap_client_close (TernImapClient *self)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  imap_fatal (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The IMAP session was closed"));
}

/**
 * tern_imap_client_enable_async:
 * @extensions: (array zero-terminated=1): "CONDSTORE", "QRESYNC",
 *   "UTF8=ACCEPT"...
 *
 * Sends ENABLE for those of @extensions the server offers, and succeeds
 * with nothing enabled when it offers none of them or no ENABLE at all.
 * tern_imap_client_is_enabled() then tells what the server turned on.
 */
void
tern_imap_client_enable_async (TernImapClient      *self,
                               const char * const  *extensions,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Command *command;
  Builder builder;
  guint count = 0;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (extensions != NULL);

  command = imap_command_new (self, "ENABLE", tern_imap_client_enable_async, cancellable, callback,
                         user_data);
  command->barrier = TRUE;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  imap_builder_init (&builder, self, command, "ENABLE");
  for (guint i = 0; extensions[i] != NULL; i++)
    {
      /* QRESYNC implies CONDSTORE; UTF8=ACCEPT is announced as such. */
      if (!tern_imap_client_has_capability (self, extensions[i]))
        continue;
      imap_builder_printf (&builder, " %s", extensions[i]);
      count++;
    }
  if (count == 0 || !g_hash_table_contains (self->capabilities, "ENABLE"))
    {
      imap_builder_clear (&builder);
      imap_command_return_boolean (command);
      imap_command_unref (command);
      return;
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/* ID */

static gboolean
id_untagged (Command          *command,
             TernImapResponse *response)
{
  GHashTable *table = command->data;
  const TernImapValue *list;

  if (g_strcmp0 (response->name, "ID") != 0 || response->data == NULL
      || response->data->items->len < 1)
    return FALSE;
  list = g_ptr_array_index (response->data->items, 0);
  if (list->kind != TERN_IMAP_VALUE_LIST)
    return TRUE;
  for (guint i = 0; i + 1 < list->items->len; i += 2)
    {
      const TernImapValue *key = g_ptr_array_index (list->items, i);
      const TernImapValue *value = g_ptr_array_index (list->items, i + 1);

      if (key->str == NULL || value->str == NULL)
        continue;
      if (!g_utf8_validate (key->str, key->len, NULL)
          || !g_utf8_validate (value->str, value->len, NULL))
        continue;
      g_hash_table_replace (table, g_ascii_strdown (key->str, -1), g_strdup (value->str));
    }
  return TRUE;
}

static void
id_done (Command          *command,
         TernImapResponse *tagged)
{
  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "ID"));
      return;
    }
  imap_command_return_pointer (command, g_hash_table_ref (command->data),
                          (GDestroyNotify) g_hash_table_unref);
}

/**
 * tern_imap_client_id_async:
 * @fields: (array zero-terminated=1) (nullable): pairs of field names and
 *   values Tern tells the server ("name", "Tern", "version", "1.0"), or
 *   %NULL to tell nothing
 *
 * Sends ID (RFC 2971).  Fails with %TERN_IMAP_CLIENT_ERROR_UNSUPPORTED
 * when the server does not offer it.
 */
void
tern_imap_client_id_async (TernImapClient      *self,
                           const char * const  *fields,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Command *command;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  command = imap_command_new (self, "ID", tern_imap_client_id_async, cancellable, callback,
                         user_data);
  command->untagged = id_untagged;
  command->done = id_done;
  command->data = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  command->data_free = (GDestroyNotify) g_hash_table_unref;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "ID"))
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer ID"));
      return;
    }

  imap_builder_init (&builder, self, command, "ID ");
  if (fields == NULL || fields[0] == NULL)
    {
      imap_builder_append (&builder, "NIL");
    }
  else
    {
      imap_builder_append (&builder, "(");
      for (guint i = 0; fields[i] != NULL && fields[i + 1] != NULL; i += 2)
        {
          if (i > 0)
            imap_builder_append (&builder, " ");
          imap_builder_add_string (&builder, fields[i]);
          imap_builder_append (&builder, " ");
          imap_builder_add_string (&builder, fields[i + 1]);
        }
      imap_builder_append (&builder, ")");
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/* Returns: (transfer full): the server's ID fields, names in lower case. */
GHashTable *
tern_imap_client_id_finish (TernImapClient  *self,
                            GAsyncResult    *result,
                            GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* COMPRESS */

static void
compress_done (Command          *command,
               TernImapResponse *tagged)
{
  TernImapClient *self = command->client;
  GError *error = NULL;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "COMPRESS"));
      return;
    }
  /* Nothing is read or written here: COMPRESS waits for every command
   * before it and holds back every one after it, and its own write has
   * finished (the reply is handled after the write's callback). */
  if (!tern_connection_start_compression (self->connection, &error))
    {
      imap_command_return_error (command, g_error_copy (error));
      imap_fatal (self, error);
      return;
    }
  imap_command_return_boolean (command);
}

/**
 * tern_imap_client_compress_async:
 *
 * Turns on COMPRESS=DEFLATE (RFC 4978).  Fails with
 * %TERN_IMAP_CLIENT_ERROR_UNSUPPORTED when the server does not offer it.
 */
void
tern_imap_client_compress_async (TernImapClient      *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  Command *command;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  command = imap_command_new (self, "COMPRESS", tern_imap_client_compress_async, cancellable,
                         callback, user_data);
  command->barrier = TRUE;
  command->done = compress_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "COMPRESS=DEFLATE")
      || tern_connection_is_compressed (self->connection))
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer COMPRESS=DEFLATE, or "
                                              "compression is on already"));
      return;
    }
  imap_builder_init (&builder, self, command, "COMPRESS DEFLATE");
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/* NAMESPACE */

static GPtrArray *
namespaces_from_value (TernImapClient      *self,
                       const TernImapValue *value)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_namespace_free);

  if (value == NULL || value->kind != TERN_IMAP_VALUE_LIST)
    return out;
  for (guint i = 0; i < value->items->len; i++)
    {
      const TernImapValue *entry = g_ptr_array_index (value->items, i);
      const TernImapValue *prefix;
      const TernImapValue *delimiter;
      TernImapNamespace *ns;
      char *name;

      if (entry->kind != TERN_IMAP_VALUE_LIST || entry->items->len < 2)
        continue;
      prefix = g_ptr_array_index (entry->items, 0);
      delimiter = g_ptr_array_index (entry->items, 1);
      name = tern_imap_mailbox_name_decode (prefix, self->utf8_enabled, NULL);
      if (name == NULL)
        continue;
      ns = g_new0 (TernImapNamespace, 1);
      ns->prefix = name;
      ns->delimiter = delimiter->kind == TERN_IMAP_VALUE_STRING && delimiter->len == 1
                      ? delimiter->str[0] : 0;
      g_ptr_array_add (out, ns);
    }
  return out;
}

static gboolean
namespace_untagged (Command          *command,
                    TernImapResponse *response)
{
  TernImapNamespaces *namespaces = command->data;
  TernImapClient *self = command->client;

  if (g_strcmp0 (response->name, "LIST") == 0 && response->data != NULL
      && response->data->items->len >= 2 && namespaces->personal->len == 0)
    {
      /* The fallback: one personal namespace with the server's delimiter. */
      const TernImapValue *delimiter = g_ptr_array_index (response->data->items, 1);
      TernImapNamespace *ns = g_new0 (TernImapNamespace, 1);

      ns->prefix = g_strdup ("");
      ns->delimiter = delimiter->kind == TERN_IMAP_VALUE_STRING && delimiter->len == 1
                      ? delimiter->str[0] : 0;
      g_ptr_array_add (namespaces->personal, ns);
      return TRUE;
    }
  if (g_strcmp0 (response->name, "NAMESPACE") != 0 || response->data == NULL)
    return FALSE;
  for (guint i = 0; i < 3 && i < response->data->items->len; i++)
    {
      GPtrArray **slot = i == 0 ? &namespaces->personal
                         : i == 1 ? &namespaces->other_users : &namespaces->shared;

      g_clear_pointer (slot, g_ptr_array_unref);
      *slot = namespaces_from_value (self, g_ptr_array_index (response->data->items, i));
    }
  return TRUE;
}

static void
namespace_done (Command          *command,
                TernImapResponse *tagged)
{
  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, "NAMESPACE"));
      return;
    }
  imap_command_return_pointer (command, g_steal_pointer (&command->data),
                          (GDestroyNotify) tern_imap_namespaces_free);
}

static TernImapNamespaces *
namespaces_new (void)
{
  TernImapNamespaces *namespaces = g_new0 (TernImapNamespaces, 1);

  namespaces->personal = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_namespace_free);
  namespaces->other_users = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_namespace_free);
  namespaces->shared = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_namespace_free);
  return namespaces;
}

/**
 * tern_imap_client_namespace_async:
 *
 * Asks for the namespaces (RFC 2342).  Without NAMESPACE on the server, it
 * finishes with one personal namespace: the empty prefix, with the
 * delimiter of LIST "" "".
 */
void
tern_imap_client_namespace_async (TernImapClient      *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Command *command;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  command = imap_command_new (self, "NAMESPACE", tern_imap_client_namespace_async, cancellable,
                         callback, user_data);
  command->data = namespaces_new ();
  command->data_free = (GDestroyNotify) tern_imap_namespaces_free;
  command->untagged = namespace_untagged;
  command->done = namespace_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "NAMESPACE"))
    {
      /* LIST "" "" tells the delimiter; a LIST reply is read below. */
      imap_builder_init (&builder, self, command, "LIST \"\" \"\"");
    }
  else
    {
      imap_builder_init (&builder, self, command, "NAMESPACE");
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

TernImapNamespaces *
tern_imap_client_namespace_finish (TernImapClient  *self,
                                   GAsyncResult    *result,
                                   GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Mailboxes: CREATE, DELETE, RENAME, SUBSCRIBE */

static void
submit_mailbox_command (TernImapClient      *self,
                        const char          *verb,
                        const char          *mailbox,
                        const char          *second,
                        gpointer             source_tag,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  Command *command = imap_command_new (self, verb, source_tag, cancellable, callback, user_data);
  GError *error = NULL;
  Builder builder;

  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  imap_builder_init (&builder, self, command, verb);
  imap_builder_append (&builder, " ");
  if (!imap_builder_add_mailbox (&builder, mailbox, &error)
      || (second != NULL && (imap_builder_append (&builder, " "), TRUE)
          && !imap_builder_add_mailbox (&builder, second, &error)))
    {
      imap_builder_clear (&builder);
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

void
tern_imap_client_create_async (TernImapClient      *self,
                               const char          *mailbox,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);
  submit_mailbox_command (self, "CREATE", mailbox, NULL, tern_imap_client_create_async,
                          cancellable, callback, user_data);
}

void
tern_imap_client_delete_async (TernImapClient      *self,
                               const char          *mailbox,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);
  submit_mailbox_command (self, "DELETE", mailbox, NULL, tern_imap_client_delete_async,
                          cancellable, callback, user_data);
}

void
tern_imap_client_rename_async (TernImapClient      *self,
                               const char          *mailbox,
                               const char          *new_name,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL && new_name != NULL);
  submit_mailbox_command (self, "RENAME", mailbox, new_name, tern_imap_client_rename_async,
                          cancellable, callback, user_data);
}

void
tern_imap_client_subscribe_async (TernImapClient      *self,
                                  const char          *mailbox,
                                  gboolean             subscribe,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);
  submit_mailbox_command (self, subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", mailbox, NULL,
                          tern_imap_client_subscribe_async, cancellable, callback, user_data);
}

/* STATUS */

static const struct {
  const char *name;
  TernImapStatusItems item;
} status_names[] = {
  { "MESSAGES", TERN_IMAP_STATUS_MESSAGES },
  { "UIDNEXT", TERN_IMAP_STATUS_UIDNEXT },
  { "UIDVALIDITY", TERN_IMAP_STATUS_UIDVALIDITY },
  { "UNSEEN", TERN_IMAP_STATUS_UNSEEN },
  { "HIGHESTMODSEQ", TERN_IMAP_STATUS_HIGHESTMODSEQ },
  { "SIZE", TERN_IMAP_STATUS_SIZE },
  { "RECENT", TERN_IMAP_STATUS_RECENT },
};

/* The STATUS items to ask for: those the server can answer. */
static void
append_status_items (TernImapClient      *self,
                     Builder             *builder,
                     TernImapStatusItems  items)
{
  gboolean first = TRUE;

  imap_builder_append (builder, "(");
  for (guint i = 0; i < G_N_ELEMENTS (status_names); i++)
    {
      if ((items & status_names[i].item) == 0)
        continue;
      if (status_names[i].item == TERN_IMAP_STATUS_HIGHESTMODSEQ
          && !g_hash_table_contains (self->capabilities, "CONDSTORE")
          && !g_hash_table_contains (self->capabilities, "QRESYNC"))
        continue;
      if (status_names[i].item == TERN_IMAP_STATUS_SIZE
          && !g_hash_table_contains (self->capabilities, "STATUS=SIZE"))
        continue;
      if (status_names[i].item == TERN_IMAP_STATUS_RECENT
          && g_hash_table_contains (self->capabilities, "IMAP4REV2")
          && !g_hash_table_contains (self->capabilities, "IMAP4REV1"))
        continue;
      imap_builder_printf (builder, "%s%s", first ? "" : " ", status_names[i].name);
      first = FALSE;
    }
  if (first)
    imap_builder_append (builder, "MESSAGES");
  imap_builder_append (builder, ")");
}

/* "* STATUS name (MESSAGES 3 UIDNEXT 9)": the name decoded, the items read. */
static char *
parse_status (TernImapClient        *self,
              TernImapResponse      *response,
              TernImapMailboxStatus *status)
{
  const TernImapValue *list;
  char *name;

  if (response->data == NULL || response->data->items->len < 2)
    return NULL;
  list = g_ptr_array_index (response->data->items, 1);
  if (list->kind != TERN_IMAP_VALUE_LIST)
    return NULL;
  name = tern_imap_mailbox_name_decode (g_ptr_array_index (response->data->items, 0),
                                        self->utf8_enabled, NULL);
  if (name == NULL)
    return NULL;

  memset (status, 0, sizeof *status);
  for (guint i = 0; i + 1 < list->items->len; i += 2)
    {
      const TernImapValue *key = g_ptr_array_index (list->items, i);
      const TernImapValue *value = g_ptr_array_index (list->items, i + 1);

      if (key->kind != TERN_IMAP_VALUE_ATOM || value->kind != TERN_IMAP_VALUE_NUMBER)
        continue;
      for (guint j = 0; j < G_N_ELEMENTS (status_names); j++)
        {
          if (g_ascii_strcasecmp (key->str, status_names[j].name) != 0)
            continue;
          status->present |= status_names[j].item;
          switch (status_names[j].item)
            {
            case TERN_IMAP_STATUS_MESSAGES:
              status->messages = (guint32) MIN (value->number, G_MAXUINT32);
              break;
            case TERN_IMAP_STATUS_UIDNEXT:
              status->uidnext = (guint32) MIN (value->number, G_MAXUINT32);
              break;
            case TERN_IMAP_STATUS_UIDVALIDITY:
              status->uidvalidity = (guint32) MIN (value->number, G_MAXUINT32);
              break;
            case TERN_IMAP_STATUS_UNSEEN:
              status->unseen = (guint32) MIN (value->number, G_MAXUINT32);
              break;
            case TERN_IMAP_STATUS_RECENT:
              status->recent = (guint32) MIN (value->number, G_MAXUINT32);
              break;
            case TERN_IMAP_STATUS_HIGHESTMODSEQ:
              status->highestmodseq = value->number;
              break;
            case TERN_IMAP_STATUS_SIZE:
            default:
              status->size = value->number;
              break;
            }
        }
    }
  return name;
}

typedef struct
{
  char *mailbox;
  gboolean found;
  TernImapMailboxStatus status;
} StatusData;

static void
status_data_free (StatusData *data)
{
  g_free (data->mailbox);
  g_free (data);
}

static gboolean
status_untagged (Command          *command,
                 TernImapResponse *response)
{
  StatusData *data = command->data;
  TernImapMailboxStatus status;
  g_autofree char *name = NULL;

  if (g_strcmp0 (response->name, "STATUS") != 0)
    return FALSE;
  name = parse_status (command->client, response, &status);
  if (name == NULL || g_strcmp0 (name, data->mailbox) != 0)
    return FALSE;
  data->status = status;
  data->found = TRUE;
  return TRUE;
}

static void
status_done (Command          *command,
             TernImapResponse *tagged)
{
  StatusData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    imap_command_return_error (command, imap_status_error (tagged, "STATUS"));
  else if (!data->found)
    imap_command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                                "The server's STATUS reply is missing"));
  else
    imap_command_return_pointer (command, g_memdup2 (&data->status, sizeof data->status), g_free);
}

/**
 * tern_imap_client_status_async:
 * @items: what to ask for; HIGHESTMODSEQ only when the server has
 *   CONDSTORE, SIZE only with STATUS=SIZE
 *
 * Asks for a mailbox's STATUS.
 */
void
tern_imap_client_status_async (TernImapClient      *self,
                               const char          *mailbox,
                               TernImapStatusItems  items,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Command *command;
  StatusData *data;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);

  command = imap_command_new (self, "STATUS", tern_imap_client_status_async, cancellable, callback,
                         user_data);
  data = g_new0 (StatusData, 1);
  data->mailbox = g_ascii_strcasecmp (mailbox, "INBOX") == 0 ? g_strdup ("INBOX")
                                                             : g_strdup (mailbox);
  command->data = data;
  command->data_free = (GDestroyNotify) status_data_free;
  command->untagged = status_untagged;
  command->done = status_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  imap_builder_init (&builder, self, command, "STATUS ");
  if (!imap_builder_add_mailbox (&builder, mailbox, &error))
    {
      imap_builder_clear (&builder);
      imap_command_fail_now (command, error);
      return;
    }
  imap_builder_append (&builder, " ");
  append_status_items (self, &builder, items);
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

gboolean
tern_imap_client_status_finish (TernImapClient         *self,
                                GAsyncResult           *result,
                                TernImapMailboxStatus  *out_status,
                                GError                **error)
{
  g_autofree TernImapMailboxStatus *status = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  status = g_task_propagate_pointer (G_TASK (result), error);
  if (status == NULL)
    return FALSE;
  if (out_status != NULL)
    *out_status = *status;
  return TRUE;
}

/* LIST */

static const struct {
  const char *name;
  TernImapMailboxAttributes attribute;
  TernImapMailboxRole role;
} list_attributes[] = {
  { "\\NOSELECT", TERN_IMAP_MAILBOX_NOSELECT, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\NOINFERIORS", TERN_IMAP_MAILBOX_NOINFERIORS, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\HASCHILDREN", TERN_IMAP_MAILBOX_HAS_CHILDREN, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\HASNOCHILDREN", TERN_IMAP_MAILBOX_HAS_NO_CHILDREN, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\MARKED", TERN_IMAP_MAILBOX_MARKED, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\UNMARKED", TERN_IMAP_MAILBOX_UNMARKED, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\SUBSCRIBED", TERN_IMAP_MAILBOX_SUBSCRIBED, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\NONEXISTENT", TERN_IMAP_MAILBOX_NONEXISTENT | TERN_IMAP_MAILBOX_NOSELECT,
    TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\REMOTE", TERN_IMAP_MAILBOX_REMOTE, TERN_IMAP_MAILBOX_ROLE_NONE },
  { "\\SENT", 0, TERN_IMAP_MAILBOX_ROLE_SENT },
  { "\\DRAFTS", 0, TERN_IMAP_MAILBOX_ROLE_DRAFTS },
  { "\\TRASH", 0, TERN_IMAP_MAILBOX_ROLE_TRASH },
  { "\\JUNK", 0, TERN_IMAP_MAILBOX_ROLE_JUNK },
  { "\\ARCHIVE", 0, TERN_IMAP_MAILBOX_ROLE_ARCHIVE },
  { "\\ALL", 0, TERN_IMAP_MAILBOX_ROLE_ALL },
  { "\\FLAGGED", 0, TERN_IMAP_MAILBOX_ROLE_FLAGGED },
};

/* Names common servers give their special mailboxes, for servers without
 * SPECIAL-USE. */
static const struct {
  const char *name;
  TernImapMailboxRole role;
} role_names[] = {
  { "sent", TERN_IMAP_MAILBOX_ROLE_SENT },
  { "sent items", TERN_IMAP_MAILBOX_ROLE_SENT },
  { "sent messages", TERN_IMAP_MAILBOX_ROLE_SENT },
  { "sent mail", TERN_IMAP_MAILBOX_ROLE_SENT },
  { "drafts", TERN_IMAP_MAILBOX_ROLE_DRAFTS },
  { "trash", TERN_IMAP_MAILBOX_ROLE_TRASH },
  { "deleted items", TERN_IMAP_MAILBOX_ROLE_TRASH },
  { "deleted messages", TERN_IMAP_MAILBOX_ROLE_TRASH },
  { "junk", TERN_IMAP_MAILBOX_ROLE_JUNK },
  { "spam", TERN_IMAP_MAILBOX_ROLE_JUNK },
  { "junk e-mail", TERN_IMAP_MAILBOX_ROLE_JUNK },
  { "archive", TERN_IMAP_MAILBOX_ROLE_ARCHIVE },
  { "archives", TERN_IMAP_MAILBOX_ROLE_ARCHIVE },
};

typedef struct
{
  GPtrArray *mailboxes;
  /* Name -> TernImapMailbox in @mailboxes. */
  GHashTable *by_name;
  TernImapStatusItems status_items;
  char *reference;
  char *pattern;
  gboolean lsub_done;
  guint status_pending;
  GError *error;
} ListData;

static void
list_data_free (ListData *data)
{
  g_free (data->reference);
  g_free (data->pattern);
  g_ptr_array_unref (data->mailboxes);
  g_hash_table_unref (data->by_name);
  g_clear_error (&data->error);
  g_free (data);
}

static TernImapMailbox *
parse_list (TernImapClient   *self,
            TernImapResponse *response)
{
  const TernImapValue *attributes;
  const TernImapValue *delimiter;
  g_autoptr(TernImapMailbox) mailbox = NULL;
  g_autoptr(GError) error = NULL;

  if (response->data == NULL || response->data->items->len < 3)
    return NULL;
  attributes = g_ptr_array_index (response->data->items, 0);
  delimiter = g_ptr_array_index (response->data->items, 1);
  if (attributes->kind != TERN_IMAP_VALUE_LIST)
    return NULL;

  mailbox = g_new0 (TernImapMailbox, 1);
  mailbox->name = tern_imap_mailbox_name_decode (g_ptr_array_index (response->data->items, 2),
                                                 self->utf8_enabled, &error);
  if (mailbox->name == NULL)
    {
      g_debug ("A mailbox name cannot be read and is left out: %s", error->message);
      return NULL;
    }
  mailbox->delimiter = delimiter->kind == TERN_IMAP_VALUE_STRING && delimiter->len == 1
                       ? delimiter->str[0] : 0;
  for (guint i = 0; i < attributes->items->len; i++)
    {
      const TernImapValue *value = g_ptr_array_index (attributes->items, i);

      if (value->kind != TERN_IMAP_VALUE_ATOM)
        continue;
      for (guint j = 0; j < G_N_ELEMENTS (list_attributes); j++)
        if (g_ascii_strcasecmp (value->str, list_attributes[j].name) == 0)
          {
            mailbox->attributes |= list_attributes[j].attribute;
            if (list_attributes[j].role != TERN_IMAP_MAILBOX_ROLE_NONE)
              mailbox->role = list_attributes[j].role;
          }
    }
  if (g_str_equal (mailbox->name, "INBOX"))
    mailbox->role = TERN_IMAP_MAILBOX_ROLE_INBOX;
  return g_steal_pointer (&mailbox);
}

static gboolean
list_untagged (Command          *command,
               TernImapResponse *response)
{
  ListData *data = command->data;
  TernImapClient *self = command->client;

  if (g_strcmp0 (response->name, "LIST") == 0)
    {
      TernImapMailbox *mailbox = parse_list (self, response);
      TernImapMailbox *known;

      if (mailbox == NULL)
        return TRUE;
      known = g_hash_table_lookup (data->by_name, mailbox->name);
      if (known != NULL)
        {
          known->attributes |= mailbox->attributes;
          if (mailbox->role != TERN_IMAP_MAILBOX_ROLE_NONE)
            known->role = mailbox->role;
          tern_imap_mailbox_free (mailbox);
          return TRUE;
        }
      g_ptr_array_add (data->mailboxes, mailbox);
      g_hash_table_insert (data->by_name, mailbox->name, mailbox);
      return TRUE;
    }

  if (g_strcmp0 (response->name, "LSUB") == 0)
    {
      g_autoptr(TernImapMailbox) mailbox = parse_list (self, response);
      TernImapMailbox *known = mailbox != NULL
                               ? g_hash_table_lookup (data->by_name, mailbox->name) : NULL;

      if (known != NULL)
        known->attributes |= TERN_IMAP_MAILBOX_SUBSCRIBED;
      return TRUE;
    }

  if (g_strcmp0 (response->name, "STATUS") == 0)
    {
      TernImapMailboxStatus status;
      g_autofree char *name = parse_status (self, response, &status);
      TernImapMailbox *known = name != NULL ? g_hash_table_lookup (data->by_name, name) : NULL;

      if (known == NULL)
        return FALSE;
      known->status = status;
      known->has_status = TRUE;
      return TRUE;
    }

  return FALSE;
}

static void
list_guess_roles (ListData *data)
{
  for (guint i = 0; i < data->mailboxes->len; i++)
    {
      TernImapMailbox *mailbox = g_ptr_array_index (data->mailboxes, i);

      if (mailbox->role != TERN_IMAP_MAILBOX_ROLE_NONE
          && mailbox->role != TERN_IMAP_MAILBOX_ROLE_INBOX)
        return;
    }

  for (guint i = 0; i < data->mailboxes->len; i++)
    {
      TernImapMailbox *mailbox = g_ptr_array_index (data->mailboxes, i);
      const char *leaf = mailbox->name;
      const char *last;

      if (mailbox->role != TERN_IMAP_MAILBOX_ROLE_NONE
          || (mailbox->attributes & TERN_IMAP_MAILBOX_NOSELECT) != 0)
        continue;
      /* Also "INBOX.Sent" and "INBOX/Trash" on servers that nest everything. */
      if (mailbox->delimiter != 0 && (last = strrchr (leaf, mailbox->delimiter)) != NULL)
        {
          if (!g_str_has_prefix (mailbox->name, "INBOX")
              || (gsize) (last - mailbox->name) != strlen ("INBOX"))
            continue;
          leaf = last + 1;
        }
      for (guint j = 0; j < G_N_ELEMENTS (role_names); j++)
        if (g_ascii_strcasecmp (leaf, role_names[j].name) == 0)
          mailbox->role = role_names[j].role;
    }
}

static void
list_finish (Command *command)
{
  ListData *data = command->data;

  if (data->error != NULL)
    {
      imap_command_return_error (command, g_steal_pointer (&data->error));
      return;
    }
  list_guess_roles (data);
  imap_command_return_pointer (command, g_ptr_array_ref (data->mailboxes),
                          (GDestroyNotify) g_ptr_array_unref);
}

static void
list_status_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Command *command = user_data;
  ListData *data = command->data;

  data->status_pending--;
  if (data->status_pending == 0)
    list_finish (command);
  imap_command_unref (command);
}

/* The STATUS fallback: one STATUS per mailbox, pipelined. */
static gboolean
status_fallback_untagged (Command          *command,
                          TernImapResponse *response)
{
  Command *list = command->data;

  return list_untagged (list, response);
}

static void
list_ask_status (Command *command)
{
  TernImapClient *self = command->client;
  ListData *data = command->data;

  data->status_pending = 1;
  for (guint i = 0; i < data->mailboxes->len; i++)
    {
      TernImapMailbox *mailbox = g_ptr_array_index (data->mailboxes, i);
      Command *status;
      Builder builder;

      if (mailbox->has_status || (mailbox->attributes & TERN_IMAP_MAILBOX_NOSELECT) != 0)
        continue;
      status = imap_command_new (self, "STATUS", list_ask_status, NULL, list_status_cb,
                            imap_command_ref (command));
      status->data = imap_command_ref (command);
      status->data_free = (GDestroyNotify) imap_command_unref;
      status->untagged = status_fallback_untagged;
      imap_builder_init (&builder, self, status, "STATUS ");
      if (!imap_builder_add_mailbox (&builder, mailbox->name, NULL))
        {
          imap_builder_clear (&builder);
          imap_command_unref (status);
          imap_command_unref (command);
          continue;
        }
      imap_builder_append (&builder, " ");
      append_status_items (self, &builder, data->status_items);
      imap_builder_finish (&builder);
      data->status_pending++;
      imap_submit (self, status);
    }
  data->status_pending--;
  if (data->status_pending == 0)
    list_finish (command);
}

static void
list_continue (Command *command)
{
  ListData *data = command->data;

  if (data->error == NULL && data->status_items != 0
      && !g_hash_table_contains (command->client->capabilities, "LIST-STATUS"))
    {
      list_ask_status (command);
      return;
    }
  list_finish (command);
}

/* The LSUB of the fallback, read into the LIST it belongs to. */
static void
lsub_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Command *list = user_data;
  ListData *data = list->data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && data->error == NULL)
    data->error = error;
  else
    g_clear_error (&error);
  data->lsub_done = TRUE;
  list_continue (list);
  imap_command_unref (list);
}

static void
list_done (Command          *command,
           TernImapResponse *tagged)
{
  TernImapClient *self = command->client;
  ListData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      data->error = imap_status_error (tagged, "LIST");
      list_finish (command);
      return;
    }

  if (!data->lsub_done)
    {
      Command *lsub = imap_command_new (self, "LSUB", lsub_cb, NULL, lsub_cb, imap_command_ref (command));
      Builder builder;

      lsub->data = imap_command_ref (command);
      lsub->data_free = (GDestroyNotify) imap_command_unref;
      lsub->untagged = status_fallback_untagged;
      imap_builder_init (&builder, self, lsub, "LSUB ");
      imap_builder_add_string (&builder, data->reference);
      imap_builder_append (&builder, " ");
      imap_builder_add_string (&builder, data->pattern);
      imap_builder_finish (&builder);
      imap_submit (self, lsub);
      return;
    }
  list_continue (command);
}

/**
 * tern_imap_client_list_async:
 * @reference: the reference name, usually ""
 * @pattern: the pattern, "*" for every mailbox, in UTF-8
 * @status_items: the STATUS of each mailbox to ask for along, or 0
 *
 * Lists mailboxes with their attributes, special-use roles, subscription
 * and, when asked, status.  With LIST-EXTENDED it is one command
 * (RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (...)) as offered);
 * otherwise LIST, then LSUB for the subscriptions, then one STATUS per
 * mailbox when asked for.  Without SPECIAL-USE, roles are guessed from
 * common names ("Sent", "Trash", "Junk"...).
 *
 * Finish with tern_imap_client_list_finish(): a #GPtrArray of
 * #TernImapMailbox in the server's order.
 */
void
tern_imap_client_list_async (TernImapClient      *self,
                             const char          *reference,
                             const char          *pattern,
                             TernImapStatusItems  status_items,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Command *command;
  ListData *data;
  Builder builder;
  g_autofree char *encoded_reference = NULL;
  g_autofree char *encoded_pattern = NULL;
  gboolean extended;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (reference != NULL && pattern != NULL);

  command = imap_command_new (self, "LIST", tern_imap_client_list_async, cancellable, callback,
                         user_data);
  data = g_new0 (ListData, 1);
  data->mailboxes = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_mailbox_free);
  data->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  data->status_items = status_items;
  command->data = data;
  command->data_free = (GDestroyNotify) list_data_free;
  command->untagged = list_untagged;
  command->done = list_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  if (self->utf8_enabled)
    {
      encoded_reference = g_strdup (reference);
      encoded_pattern = g_strdup (pattern);
    }
  else if ((encoded_reference = tern_imap_utf7_encode (reference, &error)) == NULL
           || (encoded_pattern = tern_imap_utf7_encode (pattern, &error)) == NULL)
    {
      imap_command_fail_now (command, error);
      return;
    }
  data->reference = g_strdup (encoded_reference);
  data->pattern = g_strdup (encoded_pattern);

  extended = g_hash_table_contains (self->capabilities, "LIST-EXTENDED");
  data->lsub_done = extended;

  imap_builder_init (&builder, self, command, "LIST ");
  imap_builder_add_string (&builder, encoded_reference);
  imap_builder_append (&builder, " ");
  imap_builder_add_string (&builder, encoded_pattern);
  if (extended)
    {
      imap_builder_append (&builder, " RETURN (SUBSCRIBED CHILDREN");
      if (g_hash_table_contains (self->capabilities, "SPECIAL-USE"))
        imap_builder_append (&builder, " SPECIAL-USE");
      if (status_items != 0 && g_hash_table_contains (self->capabilities, "LIST-STATUS"))
        {
          imap_builder_append (&builder, " STATUS ");
          append_status_items (self, &builder, status_items);
        }
      imap_builder_append (&builder, ")");
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

GPtrArray *
tern_imap_client_list_finish (TernImapClient  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* SELECT and EXAMINE */

typedef struct
{
  TernImapSelected *selected;
  gboolean had_closed;
} SelectData;

static void
select_data_free (SelectData *data)
{
  tern_imap_selected_free (data->selected);
  g_free (data);
}

static TernImapSelected *
selected_new (const char *mailbox)
{
  TernImapSelected *selected = g_new0 (TernImapSelected, 1);

  selected->mailbox = g_strdup (mailbox);
  selected->flags = g_new0 (char *, 1);
  selected->vanished = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  selected->changed = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_fetch_free);
  return selected;
}

static gboolean
select_untagged (Command          *command,
                 TernImapResponse *response)
{
  SelectData *data = command->data;
  TernImapSelected *selected = data->selected;
  TernImapClient *self = command->client;

  if (response->code != NULL)
    {
      switch (response->code->kind)
        {
        case TERN_IMAP_CODE_CLOSED:
          /* What came before belonged to the mailbox selected before. */
          {
            g_autofree char *mailbox = g_strdup (selected->mailbox);

            tern_imap_selected_free (selected);
            data->selected = selected = selected_new (mailbox);
            data->had_closed = TRUE;
          }
          return TRUE;
        case TERN_IMAP_CODE_UIDVALIDITY:
          selected->uidvalidity = (guint32) MIN (response->code->number, G_MAXUINT32);
          return TRUE;
        case TERN_IMAP_CODE_UIDNEXT:
          selected->uidnext = (guint32) MIN (response->code->number, G_MAXUINT32);
          return TRUE;
        case TERN_IMAP_CODE_HIGHESTMODSEQ:
          selected->highestmodseq = response->code->number;
          return TRUE;
        case TERN_IMAP_CODE_NOMODSEQ:
          selected->nomodseq = TRUE;
          return TRUE;
        case TERN_IMAP_CODE_PERMANENTFLAGS:
          g_strfreev (selected->permanent_flags);
          selected->permanent_flags = g_strdupv (response->code->strv);
          return TRUE;
        case TERN_IMAP_CODE_READ_ONLY:
          selected->read_only = TRUE;
          return TRUE;
        case TERN_IMAP_CODE_UNSEEN:
          return TRUE;
        case TERN_IMAP_CODE_OTHER:
        case TERN_IMAP_CODE_ALERT:
        case TERN_IMAP_CODE_PARSE:
        case TERN_IMAP_CODE_TRYCREATE:
        case TERN_IMAP_CODE_READ_WRITE:
        case TERN_IMAP_CODE_CAPABILITY:
        case TERN_IMAP_CODE_APPENDUID:
        case TERN_IMAP_CODE_COPYUID:
        default:
          break;
        }
    }

  if (response->name == NULL)
    return FALSE;
  if (g_str_equal (response->name, "FLAGS"))
    {
      g_strfreev (selected->flags);
      selected->flags = imap_strv_from_list (response->data != NULL && response->data->items->len > 0
                                        ? g_ptr_array_index (response->data->items, 0) : NULL);
      return TRUE;
    }
  if (g_str_equal (response->name, "EXISTS") && response->has_number)
    {
      selected->exists = (guint32) MIN (response->number, G_MAXUINT32);
      return TRUE;
    }
  if (g_str_equal (response->name, "RECENT") && response->has_number)
    {
      selected->recent = (guint32) MIN (response->number, G_MAXUINT32);
      return TRUE;
    }
  if (g_str_equal (response->name, "VANISHED"))
    {
      gboolean earlier = FALSE;
      g_autoptr(GArray) ranges = imap_parse_vanished (response, &earlier);

      if (ranges != NULL)
        g_array_append_vals (selected->vanished, ranges->data, ranges->len);
      return TRUE;
    }
  if (g_str_equal (response->name, "FETCH"))
    {
      GError *error = NULL;
      TernImapFetch *fetch = imap_fetch_decode (response, &error);

      if (fetch == NULL)
        {
          imap_fatal (self, error);
          return TRUE;
        }
      g_ptr_array_add (selected->changed, fetch);
      return TRUE;
    }
  return FALSE;
}

static void
select_done (Command          *command,
             TernImapResponse *tagged)
{
  TernImapClient *self = command->client;
  SelectData *data = command->data;

  self->selected_pending--;
  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      /* A failed SELECT leaves no mailbox selected. */
      if (self->state == TERN_IMAP_CLIENT_STATE_SELECTED)
        self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
      g_clear_pointer (&self->selected, g_free);
      imap_command_return_error (command, imap_status_error (tagged, command->name));
      return;
    }

  if (tagged->code != NULL && tagged->code->kind == TERN_IMAP_CODE_READ_ONLY)
    data->selected->read_only = TRUE;
  if (g_str_equal (command->name, "EXAMINE"))
    data->selected->read_only = TRUE;
  self->state = TERN_IMAP_CLIENT_STATE_SELECTED;
  g_free (self->selected);
  self->selected = g_strdup (data->selected->mailbox);
  imap_command_return_pointer (command, g_steal_pointer (&data->selected),
                          (GDestroyNotify) tern_imap_selected_free);
}

static void
select_fail (Command      *command,
             const GError *error)
{
  command->client->selected_pending--;
  imap_command_return_error (command, g_error_copy (error));
}

/**
 * tern_imap_client_select_async:
 * @mailbox: the mailbox, in UTF-8
 * @flags: EXAMINE rather than SELECT, and CONDSTORE
 * @qresync_uidvalidity: with QRESYNC enabled, the UIDVALIDITY Tern knows of
 *   the mailbox; 0 for no QRESYNC
 * @qresync_modseq: the HIGHESTMODSEQ Tern last saw; 0 for no QRESYNC
 * @qresync_known_uids: (nullable): the UIDs Tern holds, as a UID set, so
 *   the server reports only those of them that vanished
 *
 * Selects (or examines) a mailbox.  With QRESYNC enabled and both numbers
 * given, the reply brings the UIDs that vanished and the messages changed
 * since @qresync_modseq, in #TernImapSelected.  Commands that need a
 * selected mailbox may be started right after this call: they wait for it.
 */
void
tern_imap_client_select_async (TernImapClient      *self,
                               const char          *mailbox,
                               TernImapSelectFlags  flags,
                               guint32              qresync_uidvalidity,
                               guint64              qresync_modseq,
                               const char          *qresync_known_uids,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  const char *verb = (flags & TERN_IMAP_SELECT_READ_ONLY) != 0 ? "EXAMINE" : "SELECT";
  Command *command;
  SelectData *data;
  GError *error = NULL;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mailbox != NULL);

  command = imap_command_new (self, verb, tern_imap_client_select_async, cancellable, callback,
                         user_data);
  data = g_new0 (SelectData, 1);
  data->selected = selected_new (g_ascii_strcasecmp (mailbox, "INBOX") == 0 ? "INBOX" : mailbox);
  command->data = data;
  command->data_free = (GDestroyNotify) select_data_free;
  command->untagged = select_untagged;
  command->done = select_done;
  command->barrier = TRUE;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  imap_builder_init (&builder, self, command, verb);
  imap_builder_append (&builder, " ");
  if (!imap_builder_add_mailbox (&builder, mailbox, &error))
    {
      imap_builder_clear (&builder);
      imap_command_fail_now (command, error);
      return;
    }
  if (qresync_uidvalidity != 0 && qresync_modseq != 0
      && g_hash_table_contains (self->enabled, "QRESYNC"))
    {
      imap_builder_printf (&builder, " (QRESYNC (%u %" G_GUINT64_FORMAT, qresync_uidvalidity,
                      qresync_modseq);
      if (qresync_known_uids != NULL && *qresync_known_uids != '\0')
        {
          g_autoptr(GArray) check = tern_imap_uid_set_parse (qresync_known_uids, &error);

          if (check == NULL)
            {
              imap_builder_clear (&builder);
              imap_command_fail_now (command, error);
              return;
            }
          imap_builder_printf (&builder, " %s", qresync_known_uids);
        }
      imap_builder_append (&builder, "))");
    }
  else if ((flags & TERN_IMAP_SELECT_CONDSTORE) != 0
           && g_hash_table_contains (self->capabilities, "CONDSTORE"))
    {
      imap_builder_append (&builder, " (CONDSTORE)");
    }
  imap_builder_finish (&builder);
  command->fail = select_fail;
  self->selected_pending++;
  imap_submit (self, command);
}

TernImapSelected *
tern_imap_client_select_finish (TernImapClient  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
unselect_done (Command          *command,
               TernImapResponse *tagged)
{
  TernImapClient *self = command->client;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      imap_command_return_error (command, imap_status_error (tagged, command->name));
      return;
    }
  if (command->data == NULL)
    {
      /* CLOSE after EXAMINE, or UNSELECT: nothing was expunged. */
      self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
      g_clear_pointer (&self->selected, g_free);
      imap_command_return_boolean (command);
    }
}

static void
unselect_examined_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Command *close_command = user_data;
  TernImapClient *self = close_command->client;
  g_autoptr(TernImapSelected) selected = NULL;
  GError *error = NULL;

  selected = tern_imap_client_select_finish (self, result, &error);
  if (selected == NULL)
    {
      imap_command_return_error (close_command, error);
      imap_command_unref (close_command);
      return;
    }
  imap_submit (self, close_command);
}

/**
 * tern_imap_client_unselect_async:
 *
 * Leaves the selected mailbox without expunging anything: UNSELECT, or
 * without it EXAMINE of the same mailbox and CLOSE, which expunges nothing
 * in a read-only mailbox.
 */
void
tern_imap_client_unselect_async (TernImapClient      *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  gboolean has_unselect;
  Command *command;
  Builder builder;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  has_unselect = g_hash_table_contains (self->capabilities, "UNSELECT");
  command = imap_command_new (self, has_unselect ? "UNSELECT" : "CLOSE",
                         tern_imap_client_unselect_async, cancellable, callback, user_data);
  command->barrier = TRUE;
  command->done = unselect_done;
  if (!imap_command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  imap_builder_init (&builder, self, command, has_unselect ? "UNSELECT" : "CLOSE");
  imap_builder_finish (&builder);
  if (has_unselect || self->selected == NULL)
    {
      imap_submit (self, command);
      return;
    }
  tern_imap_client_select_async (self, self->selected, TERN_IMAP_SELECT_READ_ONLY, 0, 0, NULL,
                                 NULL, unselect_examined_cb, command);
}

