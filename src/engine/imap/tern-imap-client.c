/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tern-engine.h"
#include "tern-imap-client-private.h"
#include "tern-imap-utf7.h"
#include "tern-sasl.h"

G_DEFINE_FINAL_TYPE (TernImapClient, tern_imap_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (tern-imap-client-error-quark, tern_imap_client_error)

static guint signals[TERN_IMAP_CLIENT_N_SIGNALS];

/* Commands */

typedef struct
{
  GBytes *bytes;
  Command *command;
  gboolean last;
} OutItem;

static void pump (TernImapClient *self);
static void writer_pump (TernImapClient *self);
static void divert_write (TernImapClient *self,
                          GBytes         *bytes);
static void divert_literal (TernImapClient  *self,
                            char           **line,
                            gsize           *length);
static void handle_fetch_signal (TernImapClient   *self,
                                 TernImapResponse *response);

typedef struct
{
  char *text;
  gsize length;
} SecretText;

static void
secret_text_free (gpointer user_data)
{
  SecretText *secret = user_data;

  explicit_bzero (secret->text, secret->length);
  g_free (secret->text);
  g_free (secret);
}

/* Takes @text (@length bytes) into bytes that are wiped when freed. */
static GBytes *
secret_bytes_take (char  *text,
                   gsize  length)
{
  SecretText *secret = g_new0 (SecretText, 1);

  secret->text = text;
  secret->length = length;
  return g_bytes_new_with_free_func (text, length, secret_text_free, secret);
}

Command *
imap_command_ref (Command *command)
{
  command->ref_count++;
  return command;
}

void
imap_command_unref (Command *command)
{
  if (--command->ref_count > 0)
    return;
  if (command->cancel_source != NULL)
    {
      g_source_destroy (command->cancel_source);
      g_source_unref (command->cancel_source);
    }
  if (command->data_free != NULL && command->data != NULL)
    command->data_free (command->data);
  g_clear_pointer (&command->stashed, tern_imap_response_unref);
  g_clear_object (&command->divert_output);
  g_ptr_array_unref (command->chunks);
  g_array_unref (command->sync);
  g_clear_object (&command->task);
  g_free (command->name);
  g_free (command->tag);
  g_free (command);
}

/* Ends the caller's task once; later replies to the command are still
 * read, but go nowhere. */
void
imap_command_return_error (Command *command,
                      GError  *error)
{
  if (command->returned || command->task == NULL)
    {
      g_error_free (error);
      return;
    }
  command->returned = TRUE;
  g_task_return_error (command->task, error);
}

void
imap_command_return_boolean (Command *command)
{
  if (command->returned || command->task == NULL)
    return;
  command->returned = TRUE;
  g_task_return_boolean (command->task, TRUE);
}

void
imap_command_return_pointer (Command        *command,
                        gpointer        pointer,
                        GDestroyNotify  destroy)
{
  if (command->returned || command->task == NULL)
    {
      if (destroy != NULL && pointer != NULL)
        destroy (pointer);
      return;
    }
  command->returned = TRUE;
  g_task_return_pointer (command->task, pointer, destroy);
}

/* The error a NO, BAD or BYE status response stands for. */
GError *
imap_status_error (TernImapResponse *response,
              const char       *what)
{
  TernImapClientError code;
  const char *text = response->text != NULL && *response->text != '\0'
                     ? response->text : "(no reason given)";

  switch (response->status)
    {
    case TERN_IMAP_STATUS_NO:
      code = TERN_IMAP_CLIENT_ERROR_NO;
      break;
    case TERN_IMAP_STATUS_BYE:
      code = TERN_IMAP_CLIENT_ERROR_BYE;
      break;
    case TERN_IMAP_STATUS_BAD:
    case TERN_IMAP_STATUS_NONE:
    case TERN_IMAP_STATUS_OK:
    case TERN_IMAP_STATUS_PREAUTH:
    default:
      code = TERN_IMAP_CLIENT_ERROR_BAD;
      break;
    }

  if (response->code != NULL)
    return g_error_new (TERN_IMAP_CLIENT_ERROR, code, "The server refused %s: [%s] %s",
                        what, response->code->name, text);
  return g_error_new (TERN_IMAP_CLIENT_ERROR, code, "The server refused %s: %s", what, text);
}

void
imap_default_done (Command          *command,
              TernImapResponse *tagged)
{
  if (tagged->status == TERN_IMAP_STATUS_OK)
    imap_command_return_boolean (command);
  else
    imap_command_return_error (command, imap_status_error (tagged, command->name));
}

static void
default_fail (Command      *command,
              const GError *error)
{
  imap_command_return_error (command, g_error_copy (error));
}

static gboolean
command_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  Command *command = user_data;
  TernImapClient *self = command->client;

  g_clear_pointer (&command->cancel_source, g_source_unref);
  if (command == self->idle_command)
    {
      /* Cancelling IDLE ends it the usual way. */
      tern_imap_client_idle_done (self);
      return G_SOURCE_REMOVE;
    }

  imap_command_return_error (command, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                              "The operation was cancelled"));
  /* A command not sent yet never will be; its fail handler undoes what
   * queueing it counted (a SELECT pending). */
  if (g_queue_remove (&self->queue, command))
    {
      g_autoptr(GError) cancelled = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "The operation was cancelled");

      command->fail (command, cancelled);
      imap_command_unref (command);
    }
  return G_SOURCE_REMOVE;
}

Command *
imap_command_new (TernImapClient      *self,
             const char          *name,
             gpointer             source_tag,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  Command *command = g_new0 (Command, 1);

  command->ref_count = 1;
  command->client = self;
  command->name = g_strdup (name);
  command->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  command->sync = g_array_new (FALSE, TRUE, sizeof (gboolean));
  command->done = imap_default_done;
  command->fail = default_fail;
  if (callback != NULL || source_tag != NULL)
    {
      command->task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (command->task, source_tag);
    }
  return command;
}

/* Building command lines */

void
imap_builder_init (Builder        *builder,
              TernImapClient *self,
              Command        *command,
              const char     *verb)
{
  builder->client = self;
  builder->command = command;
  builder->text = g_string_new (verb);
}

void
imap_builder_append (Builder    *builder,
                const char *text)
{
  g_string_append (builder->text, text);
}

void
imap_builder_printf (Builder    *builder,
                const char *format,
                ...)
{
  va_list args;

  va_start (args, format);
  g_string_append_vprintf (builder->text, format, args);
  va_end (args);
}

static void
builder_push (Builder  *builder,
              GBytes   *bytes,
              gboolean  sync)
{
  g_ptr_array_add (builder->command->chunks, bytes);
  g_array_append_val (builder->command->sync, sync);
}

static void
builder_flush_text (Builder  *builder,
                    gboolean  sync)
{
  gsize length = builder->text->len;

  if (builder->command->secret)
    builder_push (builder, secret_bytes_take (g_string_free (builder->text, FALSE), length),
                  sync);
  else
    builder_push (builder, g_string_free_to_bytes (builder->text), sync);
  builder->text = g_string_new (NULL);
}

/* Adds a literal: its announcement ends the current piece, and its bytes
 * wait for the server's "+" unless LITERAL+ (or LITERAL- for small ones)
 * lets them follow at once. */
void
imap_builder_add_literal (Builder  *builder,
                     GBytes   *bytes,
                     gboolean  binary)
{
  TernImapClient *self = builder->client;
  gsize size = g_bytes_get_size (bytes);
  gboolean non_sync = g_hash_table_contains (self->capabilities, "LITERAL+")
                      || (g_hash_table_contains (self->capabilities, "LITERAL-")
                          && size <= LITERAL_MINUS_MAX);

  g_string_append_printf (builder->text, "%s{%" G_GSIZE_FORMAT "%s}\r\n",
                          binary ? "~" : "", size, non_sync ? "+" : "");
  builder_flush_text (builder, FALSE);
  /* What follows the literal goes on in a piece of its own, sent right
   * after the literal's bytes. */
  builder_push (builder, g_bytes_ref (bytes), !non_sync);
}

/* Adds a string as a quoted string when it can be one, else as a literal. */
void
imap_builder_add_string (Builder    *builder,
                    const char *text)
{
  gsize length = strlen (text);
  gboolean quotable = length <= MAX_QUOTED_LENGTH;

  for (gsize i = 0; quotable && i < length; i++)
    {
      guchar c = text[i];

      if (c == '\r' || c == '\n')
        quotable = FALSE;
      else if (c >= 0x80 && !builder->client->utf8_enabled)
        quotable = FALSE;
    }
  if (quotable && !g_utf8_validate (text, length, NULL))
    quotable = FALSE;

  if (quotable)
    {
      g_string_append_c (builder->text, '"');
      for (gsize i = 0; i < length; i++)
        {
          if (text[i] == '"' || text[i] == '\\')
            g_string_append_c (builder->text, '\\');
          g_string_append_c (builder->text, text[i]);
        }
      g_string_append_c (builder->text, '"');
      return;
    }

  {
    g_autoptr(GBytes) bytes = builder->command->secret
                              ? secret_bytes_take (g_strndup (text, length), length)
                              : g_bytes_new (text, length);

    imap_builder_add_literal (builder, bytes, FALSE);
  }
}

/* Adds an astring: a bare atom when it is one, else as a string. */
void
imap_builder_add_astring (Builder    *builder,
                     const char *text)
{
  gboolean atom = *text != '\0';

  for (const char *p = text; atom && *p != '\0'; p++)
    {
      guchar c = *p;

      if (c <= 0x20 || c >= 0x7f || strchr ("(){%*\"\\", c) != NULL)
        atom = FALSE;
    }
  if (atom)
    imap_builder_append (builder, text);
  else
    imap_builder_add_string (builder, text);
}

gboolean
imap_builder_add_mailbox (Builder     *builder,
                     const char  *name,
                     GError     **error)
{
  g_autofree char *encoded = NULL;

  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    {
      imap_builder_append (builder, "INBOX");
      return TRUE;
    }
  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME,
                   "The mailbox name is not valid UTF-8");
      return FALSE;
    }
  if (builder->client->utf8_enabled)
    {
      imap_builder_add_astring (builder, name);
      return TRUE;
    }
  encoded = tern_imap_utf7_encode (name, error);
  if (encoded == NULL)
    return FALSE;
  imap_builder_add_astring (builder, encoded);
  return TRUE;
}

void
imap_builder_finish (Builder *builder)
{
  g_string_append (builder->text, "\r\n");
  builder_flush_text (builder, FALSE);
  g_string_free (builder->text, TRUE);
  builder->text = NULL;
}

void
imap_builder_clear (Builder *builder)
{
  if (builder->text != NULL)
    {
      explicit_bzero (builder->text->str, builder->text->len);
      g_string_free (builder->text, TRUE);
    }
  builder->text = NULL;
}

/* Scheduling */

static gboolean
client_check_open (TernImapClient  *self,
                   GError         **error)
{
  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    {
      g_set_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                   "The IMAP session is closed");
      return FALSE;
    }
  return TRUE;
}

/* Queues @command (taken) to be sent once the commands before it allow. */
void
imap_submit (TernImapClient *self,
        Command        *command)
{
  GError *error = NULL;

  if (!client_check_open (self, &error))
    {
      command->fail (command, error);
      g_error_free (error);
      imap_command_unref (command);
      return;
    }

  if (command->task != NULL && g_task_get_cancellable (command->task) != NULL)
    {
      command->cancel_source = g_cancellable_source_new (g_task_get_cancellable (command->task));
      g_source_set_callback (command->cancel_source, (GSourceFunc) command_cancelled_cb,
                             command, NULL);
      g_source_set_static_name (command->cancel_source, "[tern] imap command cancelled");
      g_source_attach (command->cancel_source, g_task_get_context (command->task));
    }

  g_queue_push_tail (&self->queue, command);
  pump (self);
}

void
imap_out_push (TernImapClient *self,
          GBytes         *bytes,
          Command        *command,
          gboolean        last)
{
  OutItem *item = g_new0 (OutItem, 1);

  item->bytes = bytes;
  item->command = command != NULL ? imap_command_ref (command) : NULL;
  item->last = last;
  if (command != NULL)
    command->chunks_queued++;
  g_queue_push_tail (&self->out, item);
  writer_pump (self);
}

static void
out_item_free (OutItem *item)
{
  g_bytes_unref (item->bytes);
  if (item->command != NULL)
    imap_command_unref (item->command);
  g_free (item);
}

/* Sends the pieces of @command up to the next one that waits for "+". */
static void
command_send_more (TernImapClient *self,
                   Command        *command)
{
  while (command->next_chunk < command->chunks->len)
    {
      guint i = command->next_chunk;
      gboolean wait = g_array_index (command->sync, gboolean, i);

      if (wait && !command->got_continuation)
        {
          self->blocking = command;
          return;
        }
      command->got_continuation = FALSE;
      command->next_chunk++;
      imap_out_push (self, g_bytes_ref (g_ptr_array_index (command->chunks, i)), command,
                command->next_chunk == command->chunks->len);
    }
}

static gboolean
inflight_has_barrier (TernImapClient *self)
{
  for (GList *l = self->inflight.head; l != NULL; l = l->next)
    if (((Command *) l->data)->barrier)
      return TRUE;
  return FALSE;
}

static void
pump (TernImapClient *self)
{
  while (self->state != TERN_IMAP_CLIENT_STATE_CLOSED && self->blocking == NULL)
    {
      Command *next = g_queue_peek_head (&self->queue);
      GBytes *first;
      g_autofree char *line = NULL;
      gsize size = 0;
      const char *data;

      if (next == NULL)
        break;
      if (!g_queue_is_empty (&self->inflight)
          && (next->barrier || inflight_has_barrier (self)
              || self->inflight.length >= self->pipeline_depth))
        break;

      g_queue_pop_head (&self->queue);
      if (next->returned)
        {
          /* Cancelled before it was sent. */
          imap_command_unref (next);
          continue;
        }

      next->tag = g_strdup_printf ("T%u", ++self->tag_counter);
      first = g_ptr_array_index (next->chunks, 0);
      data = g_bytes_get_data (first, &size);
      line = g_strdup_printf ("%s %.*s", next->tag, (int) size, data);
      g_ptr_array_index (next->chunks, 0) =
        next->secret ? secret_bytes_take (g_steal_pointer (&line), strlen (next->tag) + 1 + size)
                     : g_bytes_new_take (g_steal_pointer (&line), strlen (next->tag) + 1 + size);
      g_bytes_unref (first);

      g_queue_push_tail (&self->inflight, next);
      command_send_more (self, next);
    }

  imap_reader_pump (self);
}

/* Writing */

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(TernImapClient) self = user_data;
  OutItem *item = g_queue_pop_head (&self->out);
  g_autoptr(GError) error = NULL;

  self->writing = FALSE;
  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      out_item_free (item);
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }

  if (item->command != NULL)
    {
      Command *command = item->command;

      command->chunks_queued--;
      if (item->last)
        command->sent = TRUE;
      if (command->stashed != NULL && command->chunks_queued == 0)
        {
          g_autoptr(TernImapResponse) tagged = g_steal_pointer (&command->stashed);

          command->sent = TRUE;
          if (g_queue_remove (&self->inflight, command))
            {
              command->done (command, tagged);
              imap_command_unref (command);
            }
        }
    }
  out_item_free (item);

  writer_pump (self);
  pump (self);
}

static void
writer_pump (TernImapClient *self)
{
  OutItem *item;

  if (self->writing || self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  item = g_queue_peek_head (&self->out);
  if (item == NULL)
    return;

  self->writing = TRUE;
  tern_connection_write_async (self->connection, item->bytes, self->io_cancellable, write_cb,
                               g_object_ref (self));
}

/* Ending the session */

void
imap_fatal (TernImapClient *self,
       GError         *error)
{
  Command *command;
  OutItem *item;

  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    {
      g_error_free (error);
      return;
    }

  /* A server that said BYE and then closed the connection ended the
   * session on purpose: say so rather than report a dropped connection. */
  if (self->bye_text != NULL && g_error_matches (error, TERN_CONNECTION_ERROR,
                                                 TERN_CONNECTION_ERROR_CLOSED))
    {
      g_error_free (error);
      error = g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BYE,
                           "The server ended the session: %s", self->bye_text);
    }

  self->state = TERN_IMAP_CLIENT_STATE_CLOSED;
  self->blocking = NULL;
  self->idling = FALSE;
  self->idle_command = NULL;
  tern_connection_close (self->connection);

  /* A write still pending keeps its item at the head of the queue until
   * its callback runs. */
  while (g_queue_get_length (&self->out) > (self->writing ? 1u : 0u))
    {
      item = g_queue_pop_tail (&self->out);
      out_item_free (item);
    }

  g_object_ref (self);
  while ((command = g_queue_pop_head (&self->inflight)) != NULL)
    {
      command->fail (command, error);
      imap_command_unref (command);
    }
  while ((command = g_queue_pop_head (&self->queue)) != NULL)
    {
      command->fail (command, error);
      imap_command_unref (command);
    }
  g_error_free (error);
  g_object_unref (self);
}

/* Reading and dispatching */

static void
update_capabilities_from_strv (TernImapClient    *self,
                               const char * const *names)
{
  g_hash_table_remove_all (self->capabilities);
  self->append_limit = 0;
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      char *name = g_ascii_strup (names[i], -1);

      if (g_str_has_prefix (name, "APPENDLIMIT="))
        {
          guint64 limit = 0;

          if (g_ascii_string_to_unsigned (name + strlen ("APPENDLIMIT="), 10, 1, G_MAXUINT64,
                                          &limit, NULL))
            self->append_limit = limit;
        }
      g_hash_table_add (self->capabilities, name);
    }
}

static void
update_capabilities_from_values (TernImapClient      *self,
                                 const TernImapValue *list)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; list != NULL && i < list->items->len; i++)
    {
      const TernImapValue *value = g_ptr_array_index (list->items, i);

      if (value->kind == TERN_IMAP_VALUE_ATOM || value->kind == TERN_IMAP_VALUE_NUMBER)
        g_ptr_array_add (names, (gpointer) value->str);
    }
  g_ptr_array_add (names, NULL);
  update_capabilities_from_strv (self, (const char * const *) names->pdata);
}

GArray *
imap_ranges_from_value (const TernImapValue *value)
{
  if (value == NULL || value->kind == TERN_IMAP_VALUE_LIST || value->kind == TERN_IMAP_VALUE_NIL)
    return NULL;
  return tern_imap_uid_set_parse (value->str, NULL);
}

/* VANISHED [(EARLIER)] uid-set: returns the set, and whether EARLIER. */
GArray *
imap_parse_vanished (TernImapResponse *response,
                gboolean         *out_earlier)
{
  const TernImapValue *data = response->data;
  guint i = 0;

  *out_earlier = FALSE;
  if (data == NULL || data->items->len == 0)
    return NULL;
  if (((TernImapValue *) g_ptr_array_index (data->items, 0))->kind == TERN_IMAP_VALUE_LIST)
    {
      const TernImapValue *tag = g_ptr_array_index (data->items, 0);

      if (tag->items->len == 1 && tern_imap_value_is_atom (g_ptr_array_index (tag->items, 0),
                                                           "EARLIER"))
        *out_earlier = TRUE;
      i = 1;
    }
  if (i >= data->items->len)
    return NULL;
  return imap_ranges_from_value (g_ptr_array_index (data->items, i));
}

/* What every untagged response does, whichever command it comes with. */
static void
handle_untagged_common (TernImapClient   *self,
                        TernImapResponse *response)
{
  if (response->name == NULL)
    return;

  if (g_str_equal (response->name, "CAPABILITY"))
    update_capabilities_from_values (self, response->data);
  else if (response->code != NULL && response->code->kind == TERN_IMAP_CODE_CAPABILITY)
    update_capabilities_from_strv (self, (const char * const *) response->code->strv);

  if (g_str_equal (response->name, "ENABLED") && response->data != NULL)
    {
      for (guint i = 0; i < response->data->items->len; i++)
        {
          const TernImapValue *value = g_ptr_array_index (response->data->items, i);

          if (value->kind != TERN_IMAP_VALUE_ATOM)
            continue;
          g_hash_table_add (self->enabled, g_ascii_strup (value->str, -1));
          if (g_ascii_strcasecmp (value->str, "UTF8=ACCEPT") == 0)
            self->utf8_enabled = TRUE;
        }
    }

  if (response->code != NULL && response->code->kind == TERN_IMAP_CODE_ALERT)
    g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_ALERT], 0,
                   response->text != NULL ? response->text : "");

  if (response->status == TERN_IMAP_STATUS_BYE)
    {
      g_free (self->bye_text);
      self->bye_text = g_strdup (response->text != NULL && *response->text != '\0'
                                 ? response->text : "(no reason given)");
      g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_BYE], 0, self->bye_text);
    }
}

/* A mailbox event nobody asked for goes to the signals. */
static void
handle_unsolicited (TernImapClient   *self,
                    TernImapResponse *response)
{
  if (response->name == NULL)
    return;

  if (g_str_equal (response->name, "EXISTS") && response->has_number)
    {
      g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_EXISTS], 0, (guint) MIN (response->number, G_MAXUINT));
    }
  else if (g_str_equal (response->name, "EXPUNGE") && response->has_number)
    {
      g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_EXPUNGE], 0, (guint) MIN (response->number, G_MAXUINT));
    }
  else if (g_str_equal (response->name, "VANISHED"))
    {
      gboolean earlier = FALSE;
      g_autoptr(GArray) ranges = imap_parse_vanished (response, &earlier);

      if (ranges != NULL)
        g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_VANISHED], 0, ranges);
    }
  else if (g_str_equal (response->name, "FETCH"))
    {
      handle_fetch_signal (self, response);
    }
}

static Command *
find_inflight (TernImapClient *self,
               const char     *tag)
{
  for (GList *l = self->inflight.head; l != NULL; l = l->next)
    {
      Command *command = l->data;

      if (command->tag != NULL && g_str_equal (command->tag, tag))
        return command;
    }
  return NULL;
}

static void
dispatch_tagged (TernImapClient   *self,
                 TernImapResponse *response)
{
  Command *command = find_inflight (self, response->tag);

  if (command == NULL)
    {
      imap_fatal (self, g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                "The server answered a command Tern did not send (tag %s)",
                                response->tag));
      return;
    }

  if (response->code != NULL && response->code->kind == TERN_IMAP_CODE_CAPABILITY)
    update_capabilities_from_strv (self, (const char * const *) response->code->strv);
  if (response->code != NULL && response->code->kind == TERN_IMAP_CODE_ALERT)
    g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_ALERT], 0,
                   response->text != NULL ? response->text : "");

  if (self->blocking == command)
    {
      /* Refused before its literal went out: the rest is never sent. */
      self->blocking = NULL;
      command->next_chunk = command->chunks->len;
    }

  if (command->chunks_queued > 0)
    {
      /* The reply came before the write's callback: finish after it. */
      g_clear_pointer (&command->stashed, tern_imap_response_unref);
      command->stashed = tern_imap_response_ref (response);
      return;
    }

  command->sent = TRUE;
  g_queue_remove (&self->inflight, command);
  command->done (command, response);
  imap_command_unref (command);
}

static void
dispatch_continuation (TernImapClient   *self,
                       TernImapResponse *response)
{
  Command *command = self->blocking;

  if (command != NULL)
    {
      self->blocking = NULL;
      command->got_continuation = TRUE;
      command_send_more (self, command);
      return;
    }

  for (GList *l = self->inflight.head; l != NULL; l = l->next)
    {
      Command *candidate = l->data;

      if (candidate->continuation != NULL)
        {
          candidate->continuation (candidate, response);
          return;
        }
    }

  imap_fatal (self, g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                            "The server asked for more of a command that is complete"));
}

static void
dispatch (TernImapClient   *self,
          TernImapResponse *response)
{
  switch (response->kind)
    {
    case TERN_IMAP_RESPONSE_TAGGED:
      dispatch_tagged (self, response);
      break;

    case TERN_IMAP_RESPONSE_CONTINUATION:
      dispatch_continuation (self, response);
      break;

    case TERN_IMAP_RESPONSE_UNTAGGED:
    default:
      {
        gboolean consumed = FALSE;
        GList *l;

        handle_untagged_common (self, response);
        if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
          return;

        /* Handlers may finish their command, so walk a copy. */
        l = self->inflight.head;
        while (l != NULL && !consumed)
          {
            Command *command = l->data;

            l = l->next;
            if (command->untagged != NULL)
              {
                imap_command_ref (command);
                consumed = command->untagged (command, response);
                imap_command_unref (command);
              }
          }
        if (!consumed && self->state != TERN_IMAP_CLIENT_STATE_CLOSED)
          handle_unsolicited (self, response);
      }
      break;
    }
}

static gboolean
feed (TernImapClient  *self,
      const guint8    *data,
      gsize            length,
      GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  if (tern_imap_parser_feed (self->parser, data, length, &local_error))
    return TRUE;

  g_set_error (error, TERN_IMAP_CLIENT_ERROR,
               g_error_matches (local_error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_TOO_BIG)
               ? TERN_IMAP_CLIENT_ERROR_TOO_BIG : TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
               "The server's reply cannot be read: %s", local_error->message);
  return FALSE;
}

static gboolean
feed_line (TernImapClient  *self,
           const char      *line,
           gsize            length,
           GError         **error)
{
  /* The connection takes the line end off; the parser wants it back. */
  return feed (self, (const guint8 *) line, length, error)
         && feed (self, (const guint8 *) "\r\n", 2, error);
}

static void
dispatch_parsed (TernImapClient *self)
{
  TernImapResponse *response;

  while (self->state != TERN_IMAP_CLIENT_STATE_CLOSED
         && (response = tern_imap_parser_pop (self->parser)) != NULL)
    {
      dispatch (self, response);
      tern_imap_response_unref (response);
    }
}

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(TernImapClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;

  self->reading = FALSE;
  line = tern_connection_read_line_finish (TERN_CONNECTION (source), result, &length, &error);
  if (line == NULL)
    {
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }
  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  divert_literal (self, &line, &length);
  if (!feed_line (self, line, length, &error))
    {
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }
  dispatch_parsed (self);
  pump (self);
}

static void
read_bytes_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(TernImapClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  self->reading = FALSE;
  bytes = tern_connection_read_bytes_finish (TERN_CONNECTION (source), result, &error);
  if (bytes == NULL)
    {
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }
  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  if (self->divert_left > 0)
    {
      divert_write (self, g_steal_pointer (&bytes));
      return;
    }
  if (!feed (self, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error))
    {
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }
  dispatch_parsed (self);
  pump (self);
}

/* Streaming a body: when the command that waits first asked for its
 * body to go to a stream, the literal of a FETCH body section is written
 * there piece by piece instead of being kept, and the parser is told the
 * literal was empty. */

static void
divert_written_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(TernImapClient) self = user_data;
  g_autoptr(GError) error = NULL;

  self->reading = FALSE;
  g_clear_pointer (&self->divert_piece, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_prefix_error (&error, "The message could not be saved: ");
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }
  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  pump (self);
}

/* Writes @bytes (taken) to the stream; reading waits until it is written,
 * so memory holds one piece at a time. */
static void
divert_write (TernImapClient *self,
              GBytes         *bytes)
{
  Command *command = g_queue_peek_head (&self->inflight);
  gsize size = g_bytes_get_size (bytes);

  self->divert_left -= size;
  if (command == NULL || command->divert_output == NULL)
    {
      /* The command is gone (the session is closing): drop the bytes. */
      g_bytes_unref (bytes);
      pump (self);
      return;
    }
  command->diverted += size;
  self->divert_piece = bytes;
  self->reading = TRUE;
  g_output_stream_write_all_async (command->divert_output, g_bytes_get_data (bytes, NULL), size,
                                   G_PRIORITY_DEFAULT, self->io_cancellable, divert_written_cb,
                                   g_object_ref (self));
}

/* Looks at a line before the parser does: "* 3 FETCH (UID 8 BODY[] {1234}"
 * becomes "... BODY[] {0}", and the 1234 bytes go to the stream. */
static void
divert_literal (TernImapClient  *self,
                char           **line,
                gsize           *length)
{
  Command *command = g_queue_peek_head (&self->inflight);
  const char *text = *line;
  gsize len = *length;
  gsize open;
  guint64 size = 0;

  if (command == NULL || command->divert_output == NULL
      || tern_imap_parser_get_literal_left (self->parser) > 0
      || len < 4 || text[len - 1] != '}' || !g_str_has_prefix (text, "* "))
    return;
  open = len - 1;
  while (open > 0 && g_ascii_isdigit (text[open - 1]))
    open--;
  if (open == 0 || open == len - 1 || len - 1 - open > 19 || text[open - 1] != '{')
    return;
  open--;
  /* Only a body section's literal: "BODY[...] {N}" or "BODY[...]<0> {N}". */
  if (open < 2 || text[open - 1] != ' ' || (text[open - 2] != ']' && text[open - 2] != '>'))
    return;
  {
    g_autofree char *digits = g_strndup (text + open + 1, len - 2 - open);

    if (!g_ascii_string_to_unsigned (digits, 10, 0, G_MAXUINT64, &size, NULL))
      return;
  }

  {
    char *rewritten = g_strdup_printf ("%.*s{0}", (int) open, text);

    g_free (*line);
    *line = rewritten;
    *length = open + 3;
  }
  self->divert_left = size;
}

/* Whether a reply waits for its command's write to finish: nothing more is
 * read until then, since that command may be STARTTLS or COMPRESS, after
 * which the bytes that follow are no longer IMAP in the clear. */
static gboolean
has_stashed_reply (TernImapClient *self)
{
  for (GList *l = self->inflight.head; l != NULL; l = l->next)
    if (((Command *) l->data)->stashed != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
reader_wanted (TernImapClient *self)
{
  return self->state != TERN_IMAP_CLIENT_STATE_CLOSED && !g_queue_is_empty (&self->inflight)
         && !has_stashed_reply (self);
}

/* Reads while replies are expected: first what the connection holds
 * already, line by line without going through the main loop, then one
 * async read for more. */
void
imap_reader_pump (TernImapClient *self)
{
  g_autoptr(GError) error = NULL;
  guint64 left;

  if (self->reading || self->in_reader)
    return;

  self->in_reader = TRUE;
  g_object_ref (self);
  while (reader_wanted (self) && !self->reading)
    {
      gboolean fed;

      if (self->divert_left > 0)
        {
          GBytes *bytes = tern_connection_read_buffered_bytes (self->connection,
                                                               (gsize) MIN (self->divert_left,
                                                                            LITERAL_PIECE));

          if (bytes == NULL)
            break;
          divert_write (self, bytes);
          continue;
        }

      left = tern_imap_parser_get_literal_left (self->parser);
      if (left > 0)
        {
          g_autoptr(GBytes) bytes =
            tern_connection_read_buffered_bytes (self->connection,
                                                 (gsize) MIN (left, LITERAL_PIECE));

          if (bytes == NULL)
            break;
          fed = feed (self, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
        }
      else
        {
          gsize length = 0;
          g_autofree char *line =
            tern_connection_read_buffered_line (self->connection, TERN_IMAP_MAX_LINE_BYTES,
                                                &length, &error);

          if (line == NULL && error == NULL)
            break;
          if (line != NULL)
            divert_literal (self, &line, &length);
          fed = line != NULL && feed_line (self, line, length, &error);
        }
      if (!fed)
        {
          imap_fatal (self, g_steal_pointer (&error));
          break;
        }
      dispatch_parsed (self);
    }
  self->in_reader = FALSE;

  if (reader_wanted (self) && !self->reading)
    {
      /* Waiting in IDLE may last as long as the server lets it. */
      tern_connection_set_io_timeout (self->connection,
                                      self->idling ? 0 : self->io_timeout_msec);
      self->reading = TRUE;
      left = self->divert_left > 0 ? self->divert_left
                                   : tern_imap_parser_get_literal_left (self->parser);
      if (left > 0)
        tern_connection_read_bytes_async (self->connection, (gsize) MIN (left, LITERAL_PIECE),
                                          self->io_cancellable, read_bytes_cb,
                                          g_object_ref (self));
      else
        tern_connection_read_line_async (self->connection, TERN_IMAP_MAX_LINE_BYTES,
                                         self->io_cancellable, read_line_cb,
                                         g_object_ref (self));
    }
  g_object_unref (self);
}

static void
handle_fetch_signal (TernImapClient   *self,
                     TernImapResponse *response)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapFetch) fetch = imap_fetch_decode (response, &error);

  if (fetch == NULL)
    {
      imap_fatal (self, g_steal_pointer (&error));
      return;
    }
  g_signal_emit (self, signals[TERN_IMAP_CLIENT_SIGNAL_FETCH], 0, fetch);
}

/* The object */

static void
tern_imap_client_dispose (GObject *object)
{
  TernImapClient *self = TERN_IMAP_CLIENT (object);

  if (self->state != TERN_IMAP_CLIENT_STATE_CLOSED && self->connection != NULL)
    {
      self->state = TERN_IMAP_CLIENT_STATE_CLOSED;
      tern_connection_close (self->connection);
    }
  if (self->io_cancellable != NULL)
    g_cancellable_cancel (self->io_cancellable);

  G_OBJECT_CLASS (tern_imap_client_parent_class)->dispose (object);
}

static void
tern_imap_client_finalize (GObject *object)
{
  TernImapClient *self = TERN_IMAP_CLIENT (object);
  gpointer item;

  while ((item = g_queue_pop_head (&self->out)) != NULL)
    out_item_free (item);
  while ((item = g_queue_pop_head (&self->inflight)) != NULL)
    imap_command_unref (item);
  while ((item = g_queue_pop_head (&self->queue)) != NULL)
    imap_command_unref (item);
  g_clear_object (&self->connection);
  g_clear_object (&self->io_cancellable);
  g_clear_pointer (&self->parser, tern_imap_parser_free);
  g_clear_pointer (&self->capabilities, g_hash_table_unref);
  g_clear_pointer (&self->enabled, g_hash_table_unref);
  g_free (self->auth_mechanism);
  g_free (self->selected);
  g_free (self->bye_text);

  G_OBJECT_CLASS (tern_imap_client_parent_class)->finalize (object);
}

static void
tern_imap_client_class_init (TernImapClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tern_imap_client_dispose;
  object_class->finalize = tern_imap_client_finalize;

  /* ENVELOPE and BODYSTRUCTURE decoding uses GMime. */
  tern_engine_init ();

  signals[TERN_IMAP_CLIENT_SIGNAL_EXISTS] = g_signal_new ("exists", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[TERN_IMAP_CLIENT_SIGNAL_EXPUNGE] = g_signal_new ("expunge", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, G_TYPE_UINT);
  signals[TERN_IMAP_CLIENT_SIGNAL_VANISHED] = g_signal_new ("vanished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                           1, G_TYPE_POINTER);
  signals[TERN_IMAP_CLIENT_SIGNAL_FETCH] = g_signal_new ("fetch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[TERN_IMAP_CLIENT_SIGNAL_ALERT] = g_signal_new ("alert", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[TERN_IMAP_CLIENT_SIGNAL_BYE] = g_signal_new ("bye", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tern_imap_client_init (TernImapClient *self)
{
  self->state = TERN_IMAP_CLIENT_STATE_NEW;
  self->parser = tern_imap_parser_new ();
  self->max_literal = TERN_IMAP_DEFAULT_MAX_LITERAL;
  self->pipeline_depth = DEFAULT_PIPELINE_DEPTH;
  self->capabilities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->enabled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->io_cancellable = g_cancellable_new ();
  g_queue_init (&self->queue);
  g_queue_init (&self->inflight);
  g_queue_init (&self->out);
}

/**
 * tern_imap_client_new:
 * @connection: a connection not yet connected, with its setters applied
 *   (TLS database, pinned certificate, local address, timeouts)
 *
 * Returns: (transfer full): a client that will connect through @connection
 */
TernImapClient *
tern_imap_client_new (TernConnection *connection)
{
  TernImapClient *self;

  g_return_val_if_fail (TERN_IS_CONNECTION (connection), NULL);

  self = g_object_new (TERN_TYPE_IMAP_CLIENT, NULL);
  self->connection = g_object_ref (connection);
  return self;
}

TernConnection *
tern_imap_client_get_connection (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), NULL);
  return self->connection;
}

TernImapClientState
tern_imap_client_get_state (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), TERN_IMAP_CLIENT_STATE_CLOSED);
  return self->state;
}

/**
 * tern_imap_client_set_max_literal:
 * @max_bytes: the largest literal (a message body) accepted from the
 *   server; a larger one ends the session with
 *   %TERN_IMAP_CLIENT_ERROR_TOO_BIG
 */
void
tern_imap_client_set_max_literal (TernImapClient *self,
                                  gsize           max_bytes)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));

  self->max_literal = max_bytes;
  tern_imap_parser_set_max_literal (self->parser, max_bytes);
  if (max_bytes + TERN_IMAP_MAX_LINE_BYTES > TERN_IMAP_DEFAULT_MAX_RESPONSE)
    tern_imap_parser_set_max_response (self->parser, max_bytes + TERN_IMAP_MAX_LINE_BYTES);
}

/**
 * tern_imap_client_set_pipeline_depth:
 * @depth: how many commands may wait for their reply at once, at least 1;
 *   1 turns pipelining off
 */
void
tern_imap_client_set_pipeline_depth (TernImapClient *self,
                                     guint           depth)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  self->pipeline_depth = MAX (depth, 1);
}

/**
 * tern_imap_client_has_capability:
 * @name: a capability such as "IDLE" or "AUTH=PLAIN", in any case
 *
 * Capabilities learned before STARTTLS are forgotten once TLS is up, and
 * asked for again; those of the login's reply replace the earlier ones.
 */
gboolean
tern_imap_client_has_capability (TernImapClient *self,
                                 const char     *name)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), FALSE);
  key = g_ascii_strup (name, -1);
  return g_hash_table_contains (self->capabilities, key);
}

/**
 * tern_imap_client_dup_capabilities:
 *
 * Returns: (transfer full): the capabilities in upper case, sorted
 */
static int
compare_names (const void *a,
               const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
tern_imap_client_dup_capabilities (TernImapClient *self)
{
  g_autofree gpointer *keys = NULL;
  guint n = 0;
  char **out;

  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), NULL);
  keys = g_hash_table_get_keys_as_array (self->capabilities, &n);
  out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (keys[i]);
  qsort (out, n, sizeof (char *), compare_names);
  return out;
}

/**
 * tern_imap_client_is_enabled:
 * @extension: "CONDSTORE", "QRESYNC", "UTF8=ACCEPT"...
 *
 * Returns: whether the server confirmed ENABLE of @extension
 */
gboolean
tern_imap_client_is_enabled (TernImapClient *self,
                             const char     *extension)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), FALSE);
  key = g_ascii_strup (extension, -1);
  return g_hash_table_contains (self->enabled, key);
}

gboolean
tern_imap_client_is_compressed (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), FALSE);
  return tern_connection_is_compressed (self->connection);
}

/**
 * tern_imap_client_get_append_limit:
 *
 * Returns: the APPENDLIMIT the server announced for all mailboxes, or 0
 *   when it announced none
 */
guint64
tern_imap_client_get_append_limit (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), 0);
  return self->append_limit;
}

/* Returns: (nullable): the SASL mechanism of the login, "LOGIN-COMMAND" for
 * the LOGIN command, "PREAUTH", or %NULL before a login. */
const char *
tern_imap_client_get_auth_mechanism (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), NULL);
  return self->auth_mechanism;
}

/* Returns: (nullable): the selected mailbox, in UTF-8. */
const char *
tern_imap_client_get_selected_mailbox (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), NULL);
  return self->selected;
}

gboolean
tern_imap_client_was_preauthenticated (TernImapClient *self)
{
  g_return_val_if_fail (TERN_IS_IMAP_CLIENT (self), FALSE);
  return self->preauth;
}

/* Starting a command the caller asked for: checks the state, or fails the
 * task at once. */
gboolean
imap_command_check_state (Command             *command,
                     TernImapClientState  minimum)
{
  TernImapClient *self = command->client;
  const char *message = NULL;

  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    message = "The IMAP session is closed";
  else if (self->state == TERN_IMAP_CLIENT_STATE_NEW)
    message = "The IMAP client is not connected";
  else if (minimum >= TERN_IMAP_CLIENT_STATE_AUTHENTICATED
           && self->state < TERN_IMAP_CLIENT_STATE_AUTHENTICATED)
    message = "The IMAP client is not logged in";
  else if (minimum == TERN_IMAP_CLIENT_STATE_SELECTED
           && self->state != TERN_IMAP_CLIENT_STATE_SELECTED && !self->selected_pending)
    message = "No mailbox is selected";
  else if (self->idle_command != NULL)
    message = "IDLE is running; end it with tern_imap_client_idle_done() first";

  if (message == NULL)
    return TRUE;
  imap_command_return_error (command, g_error_new_literal (TERN_IMAP_CLIENT_ERROR,
                                                      TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                                                      message));
  imap_command_unref (command);
  return FALSE;
}

gboolean
imap_command_fail_now (Command *command,
                  GError  *error)
{
  imap_command_return_error (command, error);
  imap_command_unref (command);
  return FALSE;
}

gboolean
tern_imap_client_simple_finish (TernImapClient  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Connecting: greeting, CAPABILITY, STARTTLS, CAPABILITY again. */

typedef struct
{
  TernConnectionSecurity security;
} ConnectData;

static void connect_step (GTask *task);

static void
connect_fail (GTask  *task,
              GError *error)
{
  TernImapClient *self = g_task_get_source_object (task);

  imap_fatal (self, g_error_copy (error));
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
internal_command_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      connect_fail (task, error);
      return;
    }
  connect_step (task);
}

/* A command the client sends on its own behalf, finishing into @callback. */
static Command *
internal_command (TernImapClient      *self,
                  const char          *line,
                  gboolean             barrier,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  Command *command = imap_command_new (self, line, internal_command, NULL, callback, user_data);
  Builder builder;

  command->barrier = barrier;
  imap_builder_init (&builder, self, command, line);
  imap_builder_finish (&builder);
  return command;
}

static gboolean
greeting_untagged (Command          *command,
                   TernImapResponse *response)
{
  TernImapClient *self = command->client;

  g_queue_remove (&self->inflight, command);
  command->sent = TRUE;

  switch (response->status)
    {
    case TERN_IMAP_STATUS_OK:
      self->state = TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED;
      imap_command_return_boolean (command);
      break;
    case TERN_IMAP_STATUS_PREAUTH:
      self->preauth = TRUE;
      self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
      imap_command_return_boolean (command);
      break;
    case TERN_IMAP_STATUS_BYE:
      imap_command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_BYE,
                                                  "The server refused the connection: %s",
                                                  self->bye_text));
      break;
    case TERN_IMAP_STATUS_NONE:
    case TERN_IMAP_STATUS_NO:
    case TERN_IMAP_STATUS_BAD:
    default:
      imap_command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                                  "The server's greeting is not IMAP"));
      break;
    }
  imap_command_unref (command);
  return TRUE;
}

static void
connect_greeting_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TernImapClient *self = g_task_get_source_object (task);
  ConnectData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      connect_fail (task, error);
      return;
    }
  if (self->preauth && data->security == TERN_CONNECTION_SECURITY_STARTTLS)
    {
      /* Logged in already, on a plain connection: STARTTLS is no longer
       * allowed, and going on would run the session unencrypted. */
      connect_fail (task, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                       TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED,
                                       "The server logged in before STARTTLS (PREAUTH); "
                                       "this account requires an encrypted connection"));
      return;
    }
  if (self->preauth)
    {
      g_free (self->auth_mechanism);
      self->auth_mechanism = g_strdup ("PREAUTH");
    }
  connect_step (task);
}

static void
connect_starttls_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TernImapClient *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_connection_starttls_finish (TERN_CONNECTION (source), result, &error))
    {
      connect_fail (task, error);
      return;
    }
  /* Nothing the server said before TLS may be trusted. */
  self->tls_done = TRUE;
  g_hash_table_remove_all (self->capabilities);
  self->append_limit = 0;
  connect_step (task);
}

static void
connect_starttls_reply_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  GTask *task = user_data;
  TernImapClient *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (error->domain == TERN_IMAP_CLIENT_ERROR
          && (error->code == TERN_IMAP_CLIENT_ERROR_NO || error->code == TERN_IMAP_CLIENT_ERROR_BAD))
        error->code = TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED;
      connect_fail (task, error);
      return;
    }
  tern_connection_starttls_async (self->connection, g_task_get_cancellable (task),
                                  connect_starttls_cb, task);
}

/* Each step looks at what is known and does the next thing missing. */
static void
connect_step (GTask *task)
{
  TernImapClient *self = g_task_get_source_object (task);
  ConnectData *data = g_task_get_task_data (task);

  if (g_hash_table_size (self->capabilities) == 0)
    {
      imap_submit (self, internal_command (self, "CAPABILITY", TRUE, internal_command_cb, task));
      return;
    }

  if (data->security == TERN_CONNECTION_SECURITY_STARTTLS && !self->tls_done)
    {
      if (!g_hash_table_contains (self->capabilities, "STARTTLS"))
        {
          connect_fail (task, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                           TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED,
                                           "The server does not offer STARTTLS, and this "
                                           "account requires it"));
          return;
        }
      imap_submit (self, internal_command (self, "STARTTLS", TRUE, connect_starttls_reply_cb, task));
      return;
    }

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  TernImapClient *self = g_task_get_source_object (task);
  GError *error = NULL;
  Command *greeting;

  if (!tern_connection_connect_finish (TERN_CONNECTION (source), result, &error))
    {
      connect_fail (task, error);
      return;
    }

  /* The greeting is read like the reply to a command sent already. */
  greeting = imap_command_new (self, "the connection", NULL, NULL, connect_greeting_cb, task);
  greeting->sent = TRUE;
  greeting->barrier = TRUE;
  greeting->untagged = greeting_untagged;
  g_queue_push_tail (&self->inflight, greeting);
  imap_reader_pump (self);
}

/**
 * tern_imap_client_connect_async:
 * @security: with %TERN_CONNECTION_SECURITY_STARTTLS the server must offer
 *   STARTTLS and accept it, or the connection ends with
 *   %TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED; so does a PREAUTH greeting before
 *   TLS.  It never goes on in plain text.
 *
 * Connects, reads the greeting and the capabilities, and upgrades to TLS
 * when asked.  Untagged responses before TLS are ignored, and the
 * capabilities are asked for again under TLS.  Once it finishes the client
 * is ready for a login (or logged in already, when the server greeted with
 * PREAUTH on an encrypted connection).
 */
void
tern_imap_client_connect_async (TernImapClient         *self,
                                const char             *host,
                                guint16                 port,
                                TernConnectionSecurity  security,
                                GCancellable           *cancellable,
                                GAsyncReadyCallback     callback,
                                gpointer                user_data)
{
  GTask *task;
  ConnectData *data;

  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (host != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_imap_client_connect_async);
  if (self->state != TERN_IMAP_CLIENT_STATE_NEW)
    {
      g_task_return_new_error (task, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                               "The IMAP client connects only once");
      g_object_unref (task);
      return;
    }

  data = g_new0 (ConnectData, 1);
  data->security = security;
  g_task_set_task_data (task, data, g_free);
  self->security = security;
  self->io_timeout_msec = tern_connection_get_io_timeout (self->connection);
  /* Connecting counts as not authenticated for the state checks. */
  self->state = TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED;
  tern_connection_connect_async (self->connection, host, port, security, cancellable,
                                 connect_cb, task);
}

gboolean
tern_imap_client_connect_finish (TernImapClient  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Login */

typedef struct
{
  TernSasl *sasl;
  GError *sasl_error;
  char *mechanism;
  gboolean capability_in_reply;
} LoginData;

static void
login_data_free (LoginData *data)
{
  g_clear_pointer (&data->sasl, tern_sasl_free);
  g_clear_error (&data->sasl_error);
  g_free (data->mechanism);
  g_free (data);
}

/* A line of the login, wiped from memory once written. */
static GBytes *
secret_line (const char *text)
{
  gsize length = strlen (text) + 2;
  char *copy = g_malloc (length);

  memcpy (copy, text, length - 2);
  memcpy (copy + length - 2, "\r\n", 2);
  return secret_bytes_take (copy, length);
}

static void
login_continuation (Command          *command,
                    TernImapResponse *response)
{
  TernImapClient *self = command->client;
  LoginData *data = command->data;
  g_autoptr(GBytes) challenge = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autofree char *encoded = NULL;
  GError *error = NULL;
  const char *text = response->text != NULL ? response->text : "";
  gsize decoded_length = 0;
  guchar *decoded;

  if (data->sasl == NULL || data->sasl_error != NULL)
    {
      imap_out_push (self, g_bytes_new_static ("*\r\n", 3), NULL, FALSE);
      return;
    }

  decoded = g_base64_decode (text, &decoded_length);
  challenge = g_bytes_new_take (decoded, decoded_length);
  answer = tern_sasl_step (data->sasl, challenge, &error);
  if (answer == NULL)
    {
      /* Cancel the exchange; the server's NO or BAD follows. */
      data->sasl_error = error;
      imap_out_push (self, g_bytes_new_static ("*\r\n", 3), NULL, FALSE);
      return;
    }
  encoded = g_bytes_get_size (answer) > 0
            ? g_base64_encode (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer))
            : g_strdup ("");
  imap_out_push (self, secret_line (encoded), NULL, FALSE);
  explicit_bzero (encoded, strlen (encoded));
}

static void login_finish_capability_cb (GObject      *source,
                                        GAsyncResult *result,
                                        gpointer      user_data);

static void
login_done (Command          *command,
            TernImapResponse *tagged)
{
  TernImapClient *self = command->client;
  LoginData *data = command->data;
  GError *error = NULL;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      if (data->sasl_error != NULL)
        error = g_error_copy (data->sasl_error);
      else if (tagged->status == TERN_IMAP_STATUS_NO && data->sasl != NULL
               && g_error_matches (tern_sasl_get_server_error (data->sasl), TERN_SASL_ERROR,
                                   TERN_SASL_ERROR_TOKEN_INVALID))
        {
          /* An expired OAuth token is not a wrong password: the account
           * layer refreshes it and tries again. */
          error = g_error_copy (tern_sasl_get_server_error (data->sasl));
        }
      else if (tagged->status == TERN_IMAP_STATUS_NO)
        {
          const GError *server_error = data->sasl != NULL
                                       ? tern_sasl_get_server_error (data->sasl) : NULL;

          error = g_error_new (TERN_IMAP_CLIENT_ERROR,
                               TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED,
                               "The server refused the login: %s%s%s%s",
                               tagged->code != NULL ? tagged->code->name : "",
                               tagged->code != NULL ? " " : "",
                               tagged->text != NULL ? tagged->text : "",
                               server_error != NULL ? server_error->message : "");
        }
      else
        error = imap_status_error (tagged, command->name);

      /* A refused login is never tried again: the session ends. */
      imap_command_return_error (command, g_error_copy (error));
      imap_fatal (self, error);
      return;
    }

  if (data->sasl != NULL && !tern_sasl_verify_final (data->sasl, NULL, &error))
    {
      imap_command_return_error (command, g_error_copy (error));
      imap_fatal (self, error);
      return;
    }

  self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
  g_free (self->auth_mechanism);
  self->auth_mechanism = g_strdup (data->mechanism);

  if (tagged->code != NULL && tagged->code->kind == TERN_IMAP_CODE_CAPABILITY)
    {
      imap_command_return_boolean (command);
      return;
    }

  /* Capabilities change with the login; ask for them before finishing. */
  g_hash_table_remove_all (self->capabilities);
  imap_submit (self, internal_command (self, "CAPABILITY", FALSE, login_finish_capability_cb,
                                  imap_command_ref (command)));
}

static void
login_finish_capability_cb (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  Command *command = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    imap_command_return_error (command, error);
  else
    imap_command_return_boolean (command);
  imap_command_unref (command);
}

static void
start_login (TernImapClient      *self,
             const char          *forced_mechanism,
             const char          *username,
             const char          *secret,
             gboolean             oauth,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  Command *command = imap_command_new (self, "the login", tern_imap_client_login_async, cancellable,
                                  callback, user_data);
  LoginData *data = g_new0 (LoginData, 1);
  g_autoptr(GPtrArray) mechanisms = g_ptr_array_new_with_free_func (g_free);
  const char *mechanism = forced_mechanism;
  GHashTableIter iter;
  gpointer key;
  GError *error = NULL;
  Builder builder;

  command->data = data;
  command->data_free = (GDestroyNotify) login_data_free;
  command->done = login_done;
  command->continuation = login_continuation;
  command->barrier = TRUE;
  /* Its lines hold the password or a response made from it. */
  command->secret = TRUE;

  if (self->state != TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED || self->idle_command != NULL)
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                                              self->state == TERN_IMAP_CLIENT_STATE_CLOSED
                                              ? "The IMAP session is closed"
                                              : "The IMAP client is not waiting for a login"));
      return;
    }

  if (!tern_connection_is_encrypted (self->connection)
      && self->security != TERN_CONNECTION_SECURITY_NONE)
    {
      imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED,
                                              "The connection is not encrypted; the password "
                                              "is not sent"));
      return;
    }

  if (mechanism == NULL)
    {
      g_hash_table_iter_init (&iter, self->capabilities);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (g_str_has_prefix (key, "AUTH="))
          g_ptr_array_add (mechanisms, g_strdup ((const char *) key + 5));
      g_ptr_array_add (mechanisms, NULL);
      mechanism = tern_sasl_choose_mechanism ((const char * const *) mechanisms->pdata, oauth);
    }

  if (mechanism == NULL)
    {
      if (oauth || g_hash_table_contains (self->capabilities, "LOGINDISABLED"))
        {
          imap_command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_NO_MECHANISM,
                                                  "The server offers no way to log in that "
                                                  "Tern can use"));
          return;
        }
      /* LOGIN, with the strings quoted or as literals. */
      data->mechanism = g_strdup ("LOGIN-COMMAND");
      imap_builder_init (&builder, self, command, "LOGIN ");
      imap_builder_add_astring (&builder, username);
      imap_builder_append (&builder, " ");
      imap_builder_add_astring (&builder, secret);
      imap_builder_finish (&builder);
      imap_submit (self, command);
      return;
    }

  data->mechanism = g_strdup (mechanism);
  data->sasl = tern_sasl_new (mechanism, username, secret, &error);
  if (data->sasl == NULL
      || !tern_sasl_set_server (data->sasl, tern_connection_get_host (self->connection),
                                tern_connection_get_port (self->connection), &error))
    {
      imap_command_fail_now (command, error);
      return;
    }

  imap_builder_init (&builder, self, command, "AUTHENTICATE ");
  imap_builder_append (&builder, mechanism);
  if (g_hash_table_contains (self->capabilities, "SASL-IR"))
    {
      g_autoptr(GBytes) initial = NULL;

      if (tern_sasl_get_initial_response (data->sasl, &initial) && initial != NULL)
        {
          gsize length = g_bytes_get_size (initial);
          g_autofree char *encoded = length > 0
                                     ? g_base64_encode (g_bytes_get_data (initial, NULL), length)
                                     : g_strdup ("=");

          imap_builder_append (&builder, " ");
          imap_builder_append (&builder, encoded);
          explicit_bzero (encoded, strlen (encoded));
        }
    }
  imap_builder_finish (&builder);
  imap_submit (self, command);
}

/**
 * tern_imap_client_login_async:
 *
 * Logs in with the strongest SASL mechanism the server offers
 * (AUTHENTICATE, with SASL-IR when offered), or with LOGIN when it offers
 * none Tern can use and does not say LOGINDISABLED.  No password leaves on
 * an unencrypted connection unless the user chose
 * %TERN_CONNECTION_SECURITY_NONE.  A refused login fails with
 * %TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED, ends the session, and is
 * never tried again another way.  Capabilities are known again when it
 * finishes.
 */
void
tern_imap_client_login_async (TernImapClient      *self,
                              const char          *username,
                              const char          *password,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (username != NULL && password != NULL);

  start_login (self, NULL, username, password, FALSE, cancellable, callback, user_data);
}

/**
 * tern_imap_client_login_oauth_async:
 * @token: an OAuth 2.0 access token
 *
 * Logs in with OAUTHBEARER or XOAUTH2, whichever the server offers.
 */
void
tern_imap_client_login_oauth_async (TernImapClient      *self,
                                    const char          *username,
                                    const char          *token,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (username != NULL && token != NULL);

  start_login (self, NULL, username, token, TRUE, cancellable, callback, user_data);
}

/**
 * tern_imap_client_login_mechanism_async:
 * @mechanism: a SASL mechanism Tern implements, used whether or not the
 *   server announces it
 *
 * Logs in with exactly @mechanism.
 */
void
tern_imap_client_login_mechanism_async (TernImapClient      *self,
                                        const char          *mechanism,
                                        const char          *username,
                                        const char          *secret,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_return_if_fail (TERN_IS_IMAP_CLIENT (self));
  g_return_if_fail (mechanism != NULL && username != NULL && secret != NULL);

  start_login (self, mechanism, username, secret, FALSE, cancellable, callback, user_data);
}

gboolean
tern_imap_client_login_finish (TernImapClient  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
