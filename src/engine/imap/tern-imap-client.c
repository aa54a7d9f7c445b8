/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tern-engine.h"
#include "tern-imap-client.h"
#include "tern-imap-utf7.h"
#include "tern-sasl.h"

/* How many commands may wait for their reply at once. */
#define DEFAULT_PIPELINE_DEPTH 16

/* The most UIDs a SEARCH answer may expand to. */
#define MAX_SEARCH_RESULTS (16 * 1024 * 1024)

/* Longer strings go as literals rather than quoted. */
#define MAX_QUOTED_LENGTH 1000

/* LITERAL- allows non-synchronizing literals up to this size. */
#define LITERAL_MINUS_MAX 4096

/* A literal is read in pieces of at most this size. */
#define LITERAL_PIECE (256 * 1024)

struct _TernImapClient
{
  GObject parent_instance;

  TernConnection *connection;
  TernConnectionSecurity security;
  TernImapClientState state;
  TernImapParser *parser;
  gsize max_literal;
  guint pipeline_depth;
  guint io_timeout_msec;

  /* Upper-case capability names. */
  GHashTable *capabilities;
  /* Upper-case names of what ENABLE turned on. */
  GHashTable *enabled;
  gboolean utf8_enabled;
  gboolean preauth;
  gboolean tls_done;
  guint64 append_limit;
  char *auth_mechanism;
  char *selected;
  /* SELECT or EXAMINE commands queued or running. */
  guint selected_pending;

  /* Commands not started yet, and commands waiting for their reply. */
  GQueue queue;
  GQueue inflight;
  /* The command whose next piece waits for a continuation request. */
  struct _Command *blocking;
  /* Pieces waiting to be written, in order. */
  GQueue out;
  gboolean writing;
  gboolean reading;
  gboolean in_reader;
  guint tag_counter;
  char *bye_text;
  GCancellable *io_cancellable;

  /* IDLE */
  struct _Command *idle_command;
  gboolean idling;
  gboolean idle_done_sent;
  gboolean idle_done_requested;
};

G_DEFINE_FINAL_TYPE (TernImapClient, tern_imap_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (tern-imap-client-error-quark, tern_imap_client_error)

enum {
  SIGNAL_EXISTS,
  SIGNAL_EXPUNGE,
  SIGNAL_VANISHED,
  SIGNAL_FETCH,
  SIGNAL_ALERT,
  SIGNAL_BYE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Commands */

typedef struct _Command Command;

typedef gboolean (*UntaggedFunc)     (Command          *command,
                                      TernImapResponse *response);
typedef void     (*ContinuationFunc) (Command          *command,
                                      TernImapResponse *response);
typedef void     (*DoneFunc)         (Command          *command,
                                      TernImapResponse *tagged);
typedef void     (*FailFunc)         (Command          *command,
                                      const GError     *error);

struct _Command
{
  gint ref_count;
  TernImapClient *client;
  char *name;
  char *tag;
  GTask *task;
  /* GBytes pieces; a piece marked in @sync is sent after a "+". */
  GPtrArray *chunks;
  GArray *sync;
  guint next_chunk;
  guint chunks_queued;
  gboolean got_continuation;
  gboolean sent;
  gboolean barrier;
  gboolean returned;
  TernImapResponse *stashed;

  UntaggedFunc untagged;
  ContinuationFunc continuation;
  DoneFunc done;
  FailFunc fail;
  gpointer data;
  GDestroyNotify data_free;

  GSource *cancel_source;
};

typedef struct
{
  GBytes *bytes;
  Command *command;
  gboolean last;
} OutItem;

static void pump (TernImapClient *self);
static void reader_pump (TernImapClient *self);
static void writer_pump (TernImapClient *self);
static void fatal (TernImapClient *self,
                   GError         *error);
static void handle_fetch_signal (TernImapClient   *self,
                                 TernImapResponse *response);

static Command *
command_ref (Command *command)
{
  command->ref_count++;
  return command;
}

static void
command_unref (Command *command)
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
  g_ptr_array_unref (command->chunks);
  g_array_unref (command->sync);
  g_clear_object (&command->task);
  g_free (command->name);
  g_free (command->tag);
  g_free (command);
}

/* Ends the caller's task once; later replies to the command are still
 * read, but go nowhere. */
static void
command_return_error (Command *command,
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

static void
command_return_boolean (Command *command)
{
  if (command->returned || command->task == NULL)
    return;
  command->returned = TRUE;
  g_task_return_boolean (command->task, TRUE);
}

static void
command_return_pointer (Command        *command,
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
static GError *
status_error (TernImapResponse *response,
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

static void
default_done (Command          *command,
              TernImapResponse *tagged)
{
  if (tagged->status == TERN_IMAP_STATUS_OK)
    command_return_boolean (command);
  else
    command_return_error (command, status_error (tagged, command->name));
}

static void
default_fail (Command      *command,
              const GError *error)
{
  command_return_error (command, g_error_copy (error));
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

  command_return_error (command, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                              "The operation was cancelled"));
  /* A command not sent yet never will be. */
  if (g_queue_remove (&self->queue, command))
    command_unref (command);
  return G_SOURCE_REMOVE;
}

static Command *
command_new (TernImapClient      *self,
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
  command->done = default_done;
  command->fail = default_fail;
  if (callback != NULL || source_tag != NULL)
    {
      command->task = g_task_new (self, cancellable, callback, user_data);
      g_task_set_source_tag (command->task, source_tag);
    }
  return command;
}

/* Building command lines */

typedef struct
{
  TernImapClient *client;
  Command *command;
  GString *text;
} Builder;

static void
builder_init (Builder        *builder,
              TernImapClient *self,
              Command        *command,
              const char     *verb)
{
  builder->client = self;
  builder->command = command;
  builder->text = g_string_new (verb);
}

static void
builder_append (Builder    *builder,
                const char *text)
{
  g_string_append (builder->text, text);
}

G_GNUC_PRINTF (2, 3)
static void
builder_printf (Builder    *builder,
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

  builder_push (builder, g_string_free_to_bytes (builder->text), sync);
  builder->text = g_string_new (NULL);
  (void) length;
}

/* Adds a literal: its announcement ends the current piece, and its bytes
 * wait for the server's "+" unless LITERAL+ (or LITERAL- for small ones)
 * lets them follow at once. */
static void
builder_add_literal (Builder  *builder,
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
  builder_push (builder, g_bytes_ref (bytes), !non_sync);
  /* What follows the literal goes on in a piece of its own, sent right
   * after the literal's bytes. */
}

/* Adds a string as a quoted string when it can be one, else as a literal. */
static void
builder_add_string (Builder    *builder,
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
    g_autoptr(GBytes) bytes = g_bytes_new (text, length);

    builder_add_literal (builder, bytes, FALSE);
  }
}

/* Adds an astring: a bare atom when it is one, else as a string. */
static void
builder_add_astring (Builder    *builder,
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
    builder_append (builder, text);
  else
    builder_add_string (builder, text);
}

static gboolean
builder_add_mailbox (Builder     *builder,
                     const char  *name,
                     GError     **error)
{
  g_autofree char *encoded = NULL;

  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    {
      builder_append (builder, "INBOX");
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
      builder_add_astring (builder, name);
      return TRUE;
    }
  encoded = tern_imap_utf7_encode (name, error);
  if (encoded == NULL)
    return FALSE;
  builder_add_astring (builder, encoded);
  return TRUE;
}

static void
builder_finish (Builder *builder)
{
  g_string_append (builder->text, "\r\n");
  builder_flush_text (builder, FALSE);
  g_string_free (builder->text, TRUE);
  builder->text = NULL;
}

static void
builder_clear (Builder *builder)
{
  if (builder->text != NULL)
    g_string_free (builder->text, TRUE);
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
static void
submit (TernImapClient *self,
        Command        *command)
{
  GError *error = NULL;

  if (!client_check_open (self, &error))
    {
      command->fail (command, error);
      g_error_free (error);
      command_unref (command);
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

static void
out_push (TernImapClient *self,
          GBytes         *bytes,
          Command        *command,
          gboolean        last)
{
  OutItem *item = g_new0 (OutItem, 1);

  item->bytes = bytes;
  item->command = command != NULL ? command_ref (command) : NULL;
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
    command_unref (item->command);
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
      out_push (self, g_bytes_ref (g_ptr_array_index (command->chunks, i)), command,
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
          command_unref (next);
          continue;
        }

      next->tag = g_strdup_printf ("T%u", ++self->tag_counter);
      first = g_ptr_array_index (next->chunks, 0);
      data = g_bytes_get_data (first, &size);
      line = g_strdup_printf ("%s %.*s", next->tag, (int) size, data);
      g_ptr_array_index (next->chunks, 0) = g_bytes_new_take (g_steal_pointer (&line),
                                                             strlen (next->tag) + 1 + size);
      g_bytes_unref (first);

      g_queue_push_tail (&self->inflight, next);
      command_send_more (self, next);
    }

  reader_pump (self);
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
      fatal (self, g_steal_pointer (&error));
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
              command_unref (command);
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

static void
fatal (TernImapClient *self,
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
      command_unref (command);
    }
  while ((command = g_queue_pop_head (&self->queue)) != NULL)
    {
      command->fail (command, error);
      command_unref (command);
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

static GArray *
ranges_from_value (const TernImapValue *value)
{
  if (value == NULL || value->kind == TERN_IMAP_VALUE_LIST || value->kind == TERN_IMAP_VALUE_NIL)
    return NULL;
  return tern_imap_uid_set_parse (value->str, NULL);
}

/* VANISHED [(EARLIER)] uid-set: returns the set, and whether EARLIER. */
static GArray *
parse_vanished (TernImapResponse *response,
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
  return ranges_from_value (g_ptr_array_index (data->items, i));
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
    g_signal_emit (self, signals[SIGNAL_ALERT], 0,
                   response->text != NULL ? response->text : "");

  if (response->status == TERN_IMAP_STATUS_BYE)
    {
      g_free (self->bye_text);
      self->bye_text = g_strdup (response->text != NULL && *response->text != '\0'
                                 ? response->text : "(no reason given)");
      g_signal_emit (self, signals[SIGNAL_BYE], 0, self->bye_text);
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
      g_signal_emit (self, signals[SIGNAL_EXISTS], 0, (guint) MIN (response->number, G_MAXUINT));
    }
  else if (g_str_equal (response->name, "EXPUNGE") && response->has_number)
    {
      g_signal_emit (self, signals[SIGNAL_EXPUNGE], 0, (guint) MIN (response->number, G_MAXUINT));
    }
  else if (g_str_equal (response->name, "VANISHED"))
    {
      gboolean earlier = FALSE;
      g_autoptr(GArray) ranges = parse_vanished (response, &earlier);

      if (ranges != NULL)
        g_signal_emit (self, signals[SIGNAL_VANISHED], 0, ranges);
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
      fatal (self, g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                "The server answered a command Tern did not send (tag %s)",
                                response->tag));
      return;
    }

  if (response->code != NULL && response->code->kind == TERN_IMAP_CODE_CAPABILITY)
    update_capabilities_from_strv (self, (const char * const *) response->code->strv);
  if (response->code != NULL && response->code->kind == TERN_IMAP_CODE_ALERT)
    g_signal_emit (self, signals[SIGNAL_ALERT], 0,
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
  command_unref (command);
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

  fatal (self, g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
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
                command_ref (command);
                consumed = command->untagged (command, response);
                command_unref (command);
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
      fatal (self, g_steal_pointer (&error));
      return;
    }
  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  if (!feed_line (self, line, length, &error))
    {
      fatal (self, g_steal_pointer (&error));
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
      fatal (self, g_steal_pointer (&error));
      return;
    }
  if (self->state == TERN_IMAP_CLIENT_STATE_CLOSED)
    return;
  if (!feed (self, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error))
    {
      fatal (self, g_steal_pointer (&error));
      return;
    }
  dispatch_parsed (self);
  pump (self);
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
static void
reader_pump (TernImapClient *self)
{
  g_autoptr(GError) error = NULL;
  guint64 left;

  if (self->reading || self->in_reader)
    return;

  self->in_reader = TRUE;
  g_object_ref (self);
  while (reader_wanted (self))
    {
      gboolean fed;

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
          fed = line != NULL && feed_line (self, line, length, &error);
        }
      if (!fed)
        {
          fatal (self, g_steal_pointer (&error));
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
      left = tern_imap_parser_get_literal_left (self->parser);
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

/* UID sets */

static gboolean
parse_uid (const char  *start,
           const char  *end,
           guint32     *out)
{
  guint64 value = 0;

  if (start == end || end - start > 10)
    return FALSE;
  for (const char *p = start; p < end; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (guint64) (*p - '0');
    }
  if (value == 0 || value > G_MAXUINT32)
    return FALSE;
  *out = (guint32) value;
  return TRUE;
}

/**
 * tern_imap_uid_set_parse:
 * @text: a sequence set of UIDs as IMAP writes it ("1:5,9,12:10"); "*" is
 *   not accepted, since only the server knows what it stands for
 *
 * Returns: (transfer full) (element-type TernImapUidRange): the ranges, in
 *   the order given, each with @first <= @last; or %NULL with
 *   %TERN_IMAP_ERROR_BAD_RESPONSE when @text is not a UID set
 */
GArray *
tern_imap_uid_set_parse (const char  *text,
                         GError     **error)
{
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  const char *p = text;

  g_return_val_if_fail (text != NULL, NULL);

  while (*p != '\0')
    {
      const char *comma = strchr (p, ',');
      const char *end = comma != NULL ? comma : p + strlen (p);
      const char *colon = memchr (p, ':', end - p);
      TernImapUidRange range;

      if (colon != NULL)
        {
          guint32 a = 0;
          guint32 b = 0;

          if (!parse_uid (p, colon, &a) || !parse_uid (colon + 1, end, &b))
            goto bad;
          range.first = MIN (a, b);
          range.last = MAX (a, b);
        }
      else
        {
          if (!parse_uid (p, end, &range.first))
            goto bad;
          range.last = range.first;
        }
      g_array_append_val (ranges, range);
      if (comma == NULL)
        break;
      p = comma + 1;
      if (*p == '\0')
        goto bad;
    }
  if (ranges->len == 0)
    goto bad;
  return g_steal_pointer (&ranges);

bad:
  g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE,
               "“%.64s” is not a set of UIDs", text);
  return NULL;
}

/**
 * tern_imap_uid_set_to_string:
 * @ranges: (element-type TernImapUidRange): ranges
 *
 * Returns: (transfer full): the set as IMAP writes it
 */
char *
tern_imap_uid_set_to_string (const GArray *ranges)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ranges->len; i++)
    {
      const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      if (i > 0)
        g_string_append_c (text, ',');
      if (range->first == range->last)
        g_string_append_printf (text, "%u", range->first);
      else
        g_string_append_printf (text, "%u:%u", range->first, range->last);
    }
  return g_string_free (text, FALSE);
}

static int
compare_uids (gconstpointer a,
              gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

/**
 * tern_imap_uid_set_from_uids:
 * @uids: (array length=n_uids): UIDs in any order; 0 is left out
 *
 * Returns: (transfer full): the shortest set of sorted ranges holding them,
 *   "" when there are none
 */
char *
tern_imap_uid_set_from_uids (const guint32 *uids,
                             gsize          n_uids)
{
  g_autofree guint32 *sorted = g_memdup2 (uids, n_uids * sizeof (guint32));
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));

  if (n_uids > 0)
    qsort (sorted, n_uids, sizeof (guint32), compare_uids);
  for (gsize i = 0; i < n_uids; i++)
    {
      TernImapUidRange *last = ranges->len > 0
                               ? &g_array_index (ranges, TernImapUidRange, ranges->len - 1)
                               : NULL;

      if (sorted[i] == 0)
        continue;
      if (last != NULL && (sorted[i] == last->last || sorted[i] == last->last + 1))
        {
          last->last = sorted[i];
        }
      else
        {
          TernImapUidRange range = { sorted[i], sorted[i] };

          g_array_append_val (ranges, range);
        }
    }
  return tern_imap_uid_set_to_string (ranges);
}

/**
 * tern_imap_uid_set_count:
 *
 * Returns: how many UIDs the ranges hold, counting overlaps twice
 */
guint64
tern_imap_uid_set_count (const GArray *ranges)
{
  guint64 count = 0;

  for (guint i = 0; ranges != NULL && i < ranges->len; i++)
    {
      const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      count += (guint64) range->last - range->first + 1;
    }
  return count;
}

gboolean
tern_imap_uid_set_contains (const GArray *ranges,
                            guint32       uid)
{
  for (guint i = 0; ranges != NULL && i < ranges->len; i++)
    {
      const TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      if (uid >= range->first && uid <= range->last)
        return TRUE;
    }
  return FALSE;
}

/* Boxes */

void
tern_imap_mailbox_free (TernImapMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  g_free (mailbox->name);
  g_free (mailbox);
}

typedef struct
{
  char *name;
  GBytes *bytes;
} Section;

static void
section_free (Section *section)
{
  g_free (section->name);
  g_bytes_unref (section->bytes);
  g_free (section);
}

void
tern_imap_fetch_free (TernImapFetch *fetch)
{
  if (fetch == NULL)
    return;
  g_strfreev (fetch->flags);
  g_clear_pointer (&fetch->internal_date, g_date_time_unref);
  g_clear_pointer (&fetch->envelope, tern_imap_envelope_free);
  g_clear_pointer (&fetch->body_structure, tern_imap_body_part_free);
  g_clear_pointer (&fetch->response, tern_imap_response_unref);
  g_clear_pointer (&fetch->sections, g_ptr_array_unref);
  g_free (fetch);
}

/**
 * tern_imap_fetch_get_section:
 * @section: what was in the brackets of BODY[...], in any case: "" for the
 *   whole message, "HEADER", "1.2", "HEADER.FIELDS (REFERENCES)"; RFC822,
 *   RFC822.HEADER and RFC822.TEXT count as "", "HEADER" and "TEXT"
 *
 * Returns: (transfer none) (nullable): the section's bytes (empty for NIL),
 *   or %NULL when the response did not hold it
 */
GBytes *
tern_imap_fetch_get_section (const TernImapFetch *fetch,
                             const char          *section)
{
  g_return_val_if_fail (fetch != NULL, NULL);
  g_return_val_if_fail (section != NULL, NULL);

  for (guint i = 0; fetch->sections != NULL && i < fetch->sections->len; i++)
    {
      Section *candidate = g_ptr_array_index (fetch->sections, i);

      if (g_ascii_strcasecmp (candidate->name, section) == 0)
        return candidate->bytes;
    }
  return NULL;
}

gboolean
tern_imap_fetch_has_flag (const TernImapFetch *fetch,
                          const char          *flag)
{
  g_return_val_if_fail (fetch != NULL, FALSE);

  for (guint i = 0; fetch->flags != NULL && fetch->flags[i] != NULL; i++)
    if (g_ascii_strcasecmp (fetch->flags[i], flag) == 0)
      return TRUE;
  return FALSE;
}

void
tern_imap_selected_free (TernImapSelected *selected)
{
  if (selected == NULL)
    return;
  g_free (selected->mailbox);
  g_strfreev (selected->flags);
  g_strfreev (selected->permanent_flags);
  g_clear_pointer (&selected->vanished, g_array_unref);
  g_clear_pointer (&selected->changed, g_ptr_array_unref);
  g_free (selected);
}

void
tern_imap_quota_free (TernImapQuota *quota)
{
  if (quota == NULL)
    return;
  g_free (quota->root);
  g_free (quota);
}

void
tern_imap_namespace_free (TernImapNamespace *ns)
{
  if (ns == NULL)
    return;
  g_free (ns->prefix);
  g_free (ns);
}

void
tern_imap_namespaces_free (TernImapNamespaces *namespaces)
{
  if (namespaces == NULL)
    return;
  g_clear_pointer (&namespaces->personal, g_ptr_array_unref);
  g_clear_pointer (&namespaces->other_users, g_ptr_array_unref);
  g_clear_pointer (&namespaces->shared, g_ptr_array_unref);
  g_free (namespaces);
}

void
tern_imap_copy_result_free (TernImapCopyResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->source_uids, g_array_unref);
  g_clear_pointer (&result->dest_uids, g_array_unref);
  g_free (result);
}

/* Decoding FETCH */

static const char * const month_names[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* "17-Jul-1996 02:44:25 -0700"; the day may start with a space. */
static GDateTime *
parse_internal_date (const char *text)
{
  int day = 0;
  char month[4] = { 0 };
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  char sign = 0;
  int zone = 0;
  int month_number = 0;
  g_autoptr(GTimeZone) tz = NULL;
  g_autofree char *offset = NULL;

  while (*text == ' ')
    text++;
  if (sscanf (text, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, month, &year, &hour, &minute,
              &second, &sign, &zone) != 8)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (month_names); i++)
    if (g_ascii_strcasecmp (month, month_names[i]) == 0)
      month_number = (int) i + 1;
  if (month_number == 0 || (sign != '+' && sign != '-'))
    return NULL;
  offset = g_strdup_printf ("%c%02d:%02d", sign, zone / 100, zone % 100);
  tz = g_time_zone_new_identifier (offset);
  if (tz == NULL)
    return NULL;
  return g_date_time_new (tz, year, month_number, day, hour, minute, second);
}

static char *
format_internal_date (GDateTime *date)
{
  GTimeSpan offset = g_date_time_get_utc_offset (date) / G_TIME_SPAN_MINUTE;
  char sign = offset < 0 ? '-' : '+';

  if (offset < 0)
    offset = -offset;
  return g_strdup_printf ("%02d-%s-%04d %02d:%02d:%02d %c%02d%02d",
                          g_date_time_get_day_of_month (date),
                          month_names[g_date_time_get_month (date) - 1],
                          g_date_time_get_year (date), g_date_time_get_hour (date),
                          g_date_time_get_minute (date), g_date_time_get_second (date),
                          sign, (int) (offset / 60), (int) (offset % 60));
}

static char **
strv_from_list (const TernImapValue *list)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; list != NULL && list->kind == TERN_IMAP_VALUE_LIST && i < list->items->len;
       i++)
    {
      const TernImapValue *value = g_ptr_array_index (list->items, i);

      if (value->str != NULL)
        g_ptr_array_add (out, g_strndup (value->str, value->len));
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static GBytes *
bytes_from_value (TernImapResponse    *response,
                  const TernImapValue *value)
{
  if (value->kind == TERN_IMAP_VALUE_NIL || value->str == NULL)
    return g_bytes_new (NULL, 0);
  /* The bytes stay where the parser put them, as long as someone uses them. */
  return g_bytes_new_with_free_func (value->str, value->len,
                                     (GDestroyNotify) tern_imap_response_unref,
                                     tern_imap_response_ref (response));
}

/* The name a section is kept under: what is inside the brackets, in upper
 * case, without the <origin>. */
static char *
section_name (const char *item)
{
  const char *open = strchr (item, '[');
  const char *close = open != NULL ? strrchr (item, ']') : NULL;

  if (g_ascii_strcasecmp (item, "RFC822") == 0)
    return g_strdup ("");
  if (g_ascii_strcasecmp (item, "RFC822.HEADER") == 0)
    return g_strdup ("HEADER");
  if (g_ascii_strcasecmp (item, "RFC822.TEXT") == 0)
    return g_strdup ("TEXT");
  if (open == NULL || close == NULL || close < open)
    return NULL;
  if (g_ascii_strncasecmp (item, "BINARY[", 7) == 0)
    {
      g_autofree char *inner = g_strndup (open + 1, close - open - 1);

      return g_strdup_printf ("BINARY %s", inner);
    }
  return g_ascii_strup (open + 1, close - open - 1);
}

static TernImapFetch *
fetch_decode (TernImapResponse  *response,
              GError           **error)
{
  g_autoptr(TernImapFetch) fetch = g_new0 (TernImapFetch, 1);
  const TernImapValue *list;

  if (!response->has_number || response->data == NULL || response->data->items->len < 1)
    goto bad;
  list = g_ptr_array_index (response->data->items, 0);
  if (list->kind != TERN_IMAP_VALUE_LIST || list->items->len % 2 != 0)
    goto bad;

  fetch->seq = (guint32) MIN (response->number, G_MAXUINT32);
  fetch->response = tern_imap_response_ref (response);

  for (guint i = 0; i + 1 < list->items->len; i += 2)
    {
      const TernImapValue *name = g_ptr_array_index (list->items, i);
      const TernImapValue *value = g_ptr_array_index (list->items, i + 1);

      if (name->kind != TERN_IMAP_VALUE_ATOM)
        goto bad;

      if (g_ascii_strcasecmp (name->str, "UID") == 0)
        {
          if (value->kind != TERN_IMAP_VALUE_NUMBER || value->number == 0
              || value->number > G_MAXUINT32)
            goto bad;
          fetch->uid = (guint32) value->number;
          fetch->fields |= TERN_IMAP_FETCH_UID;
        }
      else if (g_ascii_strcasecmp (name->str, "FLAGS") == 0)
        {
          if (value->kind != TERN_IMAP_VALUE_LIST)
            goto bad;
          g_strfreev (fetch->flags);
          fetch->flags = strv_from_list (value);
          fetch->fields |= TERN_IMAP_FETCH_FLAGS;
        }
      else if (g_ascii_strcasecmp (name->str, "INTERNALDATE") == 0)
        {
          if (value->kind != TERN_IMAP_VALUE_STRING)
            goto bad;
          g_clear_pointer (&fetch->internal_date, g_date_time_unref);
          fetch->internal_date = parse_internal_date (value->str);
          if (fetch->internal_date != NULL)
            fetch->fields |= TERN_IMAP_FETCH_INTERNALDATE;
        }
      else if (g_ascii_strcasecmp (name->str, "RFC822.SIZE") == 0)
        {
          if (value->kind != TERN_IMAP_VALUE_NUMBER)
            goto bad;
          fetch->size = value->number;
          fetch->fields |= TERN_IMAP_FETCH_SIZE;
        }
      else if (g_ascii_strcasecmp (name->str, "MODSEQ") == 0)
        {
          const TernImapValue *number;

          if (value->kind != TERN_IMAP_VALUE_LIST || value->items->len != 1)
            goto bad;
          number = g_ptr_array_index (value->items, 0);
          if (number->kind != TERN_IMAP_VALUE_NUMBER)
            goto bad;
          fetch->modseq = number->number;
          fetch->fields |= TERN_IMAP_FETCH_MODSEQ;
        }
      else if (g_ascii_strcasecmp (name->str, "ENVELOPE") == 0)
        {
          g_clear_pointer (&fetch->envelope, tern_imap_envelope_free);
          fetch->envelope = tern_imap_envelope_decode (value, error);
          if (fetch->envelope == NULL)
            return NULL;
          fetch->fields |= TERN_IMAP_FETCH_ENVELOPE;
        }
      else if (g_ascii_strcasecmp (name->str, "BODYSTRUCTURE") == 0
               || g_ascii_strcasecmp (name->str, "BODY") == 0)
        {
          g_clear_pointer (&fetch->body_structure, tern_imap_body_part_free);
          fetch->body_structure = tern_imap_body_part_decode (value, error);
          if (fetch->body_structure == NULL)
            return NULL;
          fetch->fields |= TERN_IMAP_FETCH_BODYSTRUCTURE;
        }
      else
        {
          char *section = section_name (name->str);
          Section *entry;

          if (section == NULL)
            continue;
          if (value->kind != TERN_IMAP_VALUE_STRING && value->kind != TERN_IMAP_VALUE_NIL)
            {
              g_free (section);
              goto bad;
            }
          if (fetch->sections == NULL)
            fetch->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);
          entry = g_new0 (Section, 1);
          entry->name = section;
          entry->bytes = bytes_from_value (response, value);
          g_ptr_array_add (fetch->sections, entry);
          fetch->fields |= TERN_IMAP_FETCH_SECTIONS;
        }
    }

  return g_steal_pointer (&fetch);

bad:
  g_set_error (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
               "The server sent a malformed FETCH response");
  return NULL;
}

static void
handle_fetch_signal (TernImapClient   *self,
                     TernImapResponse *response)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernImapFetch) fetch = fetch_decode (response, &error);

  if (fetch == NULL)
    {
      fatal (self, g_steal_pointer (&error));
      return;
    }
  g_signal_emit (self, signals[SIGNAL_FETCH], 0, fetch);
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
    command_unref (item);
  while ((item = g_queue_pop_head (&self->queue)) != NULL)
    command_unref (item);
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

  signals[SIGNAL_EXISTS] = g_signal_new ("exists", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
  signals[SIGNAL_EXPUNGE] = g_signal_new ("expunge", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, G_TYPE_UINT);
  signals[SIGNAL_VANISHED] = g_signal_new ("vanished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                           1, G_TYPE_POINTER);
  signals[SIGNAL_FETCH] = g_signal_new ("fetch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_ALERT] = g_signal_new ("alert", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_BYE] = g_signal_new ("bye", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
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
  qsort (out, n, sizeof (char *), (int (*) (const void *, const void *)) g_strcmp0);
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
static gboolean
command_check_state (Command             *command,
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
  command_return_error (command, g_error_new_literal (TERN_IMAP_CLIENT_ERROR,
                                                      TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                                                      message));
  command_unref (command);
  return FALSE;
}

static gboolean
command_fail_now (Command *command,
                  GError  *error)
{
  command_return_error (command, error);
  command_unref (command);
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

  fatal (self, g_error_copy (error));
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
  Command *command = command_new (self, line, internal_command, NULL, callback, user_data);
  Builder builder;

  command->barrier = barrier;
  builder_init (&builder, self, command, line);
  builder_finish (&builder);
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
      command_return_boolean (command);
      break;
    case TERN_IMAP_STATUS_PREAUTH:
      self->preauth = TRUE;
      self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
      command_return_boolean (command);
      break;
    case TERN_IMAP_STATUS_BYE:
      command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_BYE,
                                                  "The server refused the connection: %s",
                                                  self->bye_text));
      break;
    case TERN_IMAP_STATUS_NONE:
    case TERN_IMAP_STATUS_NO:
    case TERN_IMAP_STATUS_BAD:
    default:
      command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                                  "The server's greeting is not IMAP"));
      break;
    }
  command_unref (command);
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
      submit (self, internal_command (self, "CAPABILITY", TRUE, internal_command_cb, task));
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
      submit (self, internal_command (self, "STARTTLS", TRUE, connect_starttls_reply_cb, task));
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
  greeting = command_new (self, "the connection", NULL, NULL, connect_greeting_cb, task);
  greeting->sent = TRUE;
  greeting->barrier = TRUE;
  greeting->untagged = greeting_untagged;
  g_queue_push_tail (&self->inflight, greeting);
  reader_pump (self);
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

/* A line of the login, wiped from memory once written. */
static GBytes *
secret_line (const char *text)
{
  SecretText *secret = g_new0 (SecretText, 1);

  secret->length = strlen (text) + 2;
  secret->text = g_malloc (secret->length);
  memcpy (secret->text, text, secret->length - 2);
  memcpy (secret->text + secret->length - 2, "\r\n", 2);
  return g_bytes_new_with_free_func (secret->text, secret->length, secret_text_free, secret);
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
      out_push (self, g_bytes_new_static ("*\r\n", 3), NULL, FALSE);
      return;
    }

  decoded = g_base64_decode (text, &decoded_length);
  challenge = g_bytes_new_take (decoded, decoded_length);
  answer = tern_sasl_step (data->sasl, challenge, &error);
  if (answer == NULL)
    {
      /* Cancel the exchange; the server's NO or BAD follows. */
      data->sasl_error = error;
      out_push (self, g_bytes_new_static ("*\r\n", 3), NULL, FALSE);
      return;
    }
  encoded = g_bytes_get_size (answer) > 0
            ? g_base64_encode (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer))
            : g_strdup ("");
  out_push (self, secret_line (encoded), NULL, FALSE);
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
        error = status_error (tagged, command->name);

      /* A refused login is never tried again: the session ends. */
      command_return_error (command, g_error_copy (error));
      fatal (self, error);
      return;
    }

  if (data->sasl != NULL && !tern_sasl_verify_final (data->sasl, NULL, &error))
    {
      command_return_error (command, g_error_copy (error));
      fatal (self, error);
      return;
    }

  self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
  g_free (self->auth_mechanism);
  self->auth_mechanism = g_strdup (data->mechanism);

  if (tagged->code != NULL && tagged->code->kind == TERN_IMAP_CODE_CAPABILITY)
    {
      command_return_boolean (command);
      return;
    }

  /* Capabilities change with the login; ask for them before finishing. */
  g_hash_table_remove_all (self->capabilities);
  submit (self, internal_command (self, "CAPABILITY", FALSE, login_finish_capability_cb,
                                  command_ref (command)));
}

static void
login_finish_capability_cb (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  Command *command = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    command_return_error (command, error);
  else
    command_return_boolean (command);
  command_unref (command);
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
  Command *command = command_new (self, "the login", tern_imap_client_login_async, cancellable,
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

  if (self->state != TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED || self->idle_command != NULL)
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                                              self->state == TERN_IMAP_CLIENT_STATE_CLOSED
                                              ? "The IMAP session is closed"
                                              : "The IMAP client is not waiting for a login"));
      return;
    }

  if (!tern_connection_is_encrypted (self->connection)
      && self->security != TERN_CONNECTION_SECURITY_NONE)
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
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
          command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_NO_MECHANISM,
                                                  "The server offers no way to log in that "
                                                  "Tern can use"));
          return;
        }
      /* LOGIN, with the strings quoted or as literals. */
      data->mechanism = g_strdup ("LOGIN-COMMAND");
      builder_init (&builder, self, command, "LOGIN ");
      builder_add_astring (&builder, username);
      builder_append (&builder, " ");
      builder_add_astring (&builder, secret);
      builder_finish (&builder);
      submit (self, command);
      return;
    }

  data->mechanism = g_strdup (mechanism);
  data->sasl = tern_sasl_new (mechanism, username, secret, &error);
  if (data->sasl == NULL
      || !tern_sasl_set_server (data->sasl, tern_connection_get_host (self->connection),
                                tern_connection_get_port (self->connection), &error))
    {
      command_fail_now (command, error);
      return;
    }

  builder_init (&builder, self, command, "AUTHENTICATE ");
  builder_append (&builder, mechanism);
  if (g_hash_table_contains (self->capabilities, "SASL-IR"))
    {
      g_autoptr(GBytes) initial = NULL;

      if (tern_sasl_get_initial_response (data->sasl, &initial) && initial != NULL)
        {
          gsize length = g_bytes_get_size (initial);
          g_autofree char *encoded = length > 0
                                     ? g_base64_encode (g_bytes_get_data (initial, NULL), length)
                                     : g_strdup ("=");

          builder_append (&builder, " ");
          builder_append (&builder, encoded);
          explicit_bzero (encoded, strlen (encoded));
        }
    }
  builder_finish (&builder);
  submit (self, command);
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
  Command *command = command_new (self, line, source_tag, cancellable, callback, user_data);
  Builder builder;

  command->barrier = barrier;
  if (!command_check_state (command, minimum))
    return;
  builder_init (&builder, self, command, line);
  builder_finish (&builder);
  submit (self, command);
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

  command_return_boolean (command);
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
    command_return_boolean (command);
  else
    command_return_error (command, g_error_copy (error));
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

  command = command_new (self, "LOGOUT", tern_imap_client_logout_async, cancellable, callback,
                         user_data);
  command->barrier = TRUE;
  command->done = logout_done;
  command->fail = logout_fail;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED))
    return;
  builder_init (&builder, self, command, "LOGOUT");
  builder_finish (&builder);
  submit (self, command);
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

  fatal (self, g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The IMAP session was closed"));
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

  command = command_new (self, "ENABLE", tern_imap_client_enable_async, cancellable, callback,
                         user_data);
  command->barrier = TRUE;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  builder_init (&builder, self, command, "ENABLE");
  for (guint i = 0; extensions[i] != NULL; i++)
    {
      /* QRESYNC implies CONDSTORE; UTF8=ACCEPT is announced as such. */
      if (!tern_imap_client_has_capability (self, extensions[i]))
        continue;
      builder_printf (&builder, " %s", extensions[i]);
      count++;
    }
  if (count == 0 || !g_hash_table_contains (self->capabilities, "ENABLE"))
    {
      builder_clear (&builder);
      command_return_boolean (command);
      command_unref (command);
      return;
    }
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "ID"));
      return;
    }
  command_return_pointer (command, g_hash_table_ref (command->data),
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

  command = command_new (self, "ID", tern_imap_client_id_async, cancellable, callback,
                         user_data);
  command->untagged = id_untagged;
  command->done = id_done;
  command->data = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  command->data_free = (GDestroyNotify) g_hash_table_unref;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "ID"))
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer ID"));
      return;
    }

  builder_init (&builder, self, command, "ID ");
  if (fields == NULL || fields[0] == NULL)
    {
      builder_append (&builder, "NIL");
    }
  else
    {
      builder_append (&builder, "(");
      for (guint i = 0; fields[i] != NULL && fields[i + 1] != NULL; i += 2)
        {
          if (i > 0)
            builder_append (&builder, " ");
          builder_add_string (&builder, fields[i]);
          builder_append (&builder, " ");
          builder_add_string (&builder, fields[i + 1]);
        }
      builder_append (&builder, ")");
    }
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "COMPRESS"));
      return;
    }
  /* Nothing is read or written here: COMPRESS waits for every command
   * before it and holds back every one after it, and its own write has
   * finished (the reply is handled after the write's callback). */
  if (!tern_connection_start_compression (self->connection, &error))
    {
      command_return_error (command, g_error_copy (error));
      fatal (self, error);
      return;
    }
  command_return_boolean (command);
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

  command = command_new (self, "COMPRESS", tern_imap_client_compress_async, cancellable,
                         callback, user_data);
  command->barrier = TRUE;
  command->done = compress_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "COMPRESS=DEFLATE")
      || tern_connection_is_compressed (self->connection))
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer COMPRESS=DEFLATE, or "
                                              "compression is on already"));
      return;
    }
  builder_init (&builder, self, command, "COMPRESS DEFLATE");
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "NAMESPACE"));
      return;
    }
  command_return_pointer (command, g_steal_pointer (&command->data),
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

  command = command_new (self, "NAMESPACE", tern_imap_client_namespace_async, cancellable,
                         callback, user_data);
  command->data = namespaces_new ();
  command->data_free = (GDestroyNotify) tern_imap_namespaces_free;
  command->untagged = namespace_untagged;
  command->done = namespace_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "NAMESPACE"))
    {
      /* LIST "" "" tells the delimiter; a LIST reply is read below. */
      builder_init (&builder, self, command, "LIST \"\" \"\"");
    }
  else
    {
      builder_init (&builder, self, command, "NAMESPACE");
    }
  builder_finish (&builder);
  submit (self, command);
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
  Command *command = command_new (self, verb, source_tag, cancellable, callback, user_data);
  GError *error = NULL;
  Builder builder;

  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  builder_init (&builder, self, command, verb);
  builder_append (&builder, " ");
  if (!builder_add_mailbox (&builder, mailbox, &error)
      || (second != NULL && (builder_append (&builder, " "), TRUE)
          && !builder_add_mailbox (&builder, second, &error)))
    {
      builder_clear (&builder);
      command_fail_now (command, error);
      return;
    }
  builder_finish (&builder);
  submit (self, command);
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

  builder_append (builder, "(");
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
      builder_printf (builder, "%s%s", first ? "" : " ", status_names[i].name);
      first = FALSE;
    }
  if (first)
    builder_append (builder, "MESSAGES");
  builder_append (builder, ")");
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
    command_return_error (command, status_error (tagged, "STATUS"));
  else if (!data->found)
    command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                                "The server's STATUS reply is missing"));
  else
    command_return_pointer (command, g_memdup2 (&data->status, sizeof data->status), g_free);
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

  command = command_new (self, "STATUS", tern_imap_client_status_async, cancellable, callback,
                         user_data);
  data = g_new0 (StatusData, 1);
  data->mailbox = g_ascii_strcasecmp (mailbox, "INBOX") == 0 ? g_strdup ("INBOX")
                                                             : g_strdup (mailbox);
  command->data = data;
  command->data_free = (GDestroyNotify) status_data_free;
  command->untagged = status_untagged;
  command->done = status_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  builder_init (&builder, self, command, "STATUS ");
  if (!builder_add_mailbox (&builder, mailbox, &error))
    {
      builder_clear (&builder);
      command_fail_now (command, error);
      return;
    }
  builder_append (&builder, " ");
  append_status_items (self, &builder, items);
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, g_steal_pointer (&data->error));
      return;
    }
  list_guess_roles (data);
  command_return_pointer (command, g_ptr_array_ref (data->mailboxes),
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
  command_unref (command);
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
      status = command_new (self, "STATUS", list_ask_status, NULL, list_status_cb,
                            command_ref (command));
      status->data = command_ref (command);
      status->data_free = (GDestroyNotify) command_unref;
      status->untagged = status_fallback_untagged;
      builder_init (&builder, self, status, "STATUS ");
      if (!builder_add_mailbox (&builder, mailbox->name, NULL))
        {
          builder_clear (&builder);
          command_unref (status);
          command_unref (command);
          continue;
        }
      builder_append (&builder, " ");
      append_status_items (self, &builder, data->status_items);
      builder_finish (&builder);
      data->status_pending++;
      submit (self, status);
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
  command_unref (list);
}

static void
list_done (Command          *command,
           TernImapResponse *tagged)
{
  TernImapClient *self = command->client;
  ListData *data = command->data;

  if (tagged->status != TERN_IMAP_STATUS_OK)
    {
      data->error = status_error (tagged, "LIST");
      list_finish (command);
      return;
    }

  if (!data->lsub_done)
    {
      Command *lsub = command_new (self, "LSUB", lsub_cb, NULL, lsub_cb, command_ref (command));
      Builder builder;

      lsub->data = command_ref (command);
      lsub->data_free = (GDestroyNotify) command_unref;
      lsub->untagged = status_fallback_untagged;
      builder_init (&builder, self, lsub, "LSUB ");
      builder_add_string (&builder, data->reference);
      builder_append (&builder, " ");
      builder_add_string (&builder, data->pattern);
      builder_finish (&builder);
      submit (self, lsub);
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

  command = command_new (self, "LIST", tern_imap_client_list_async, cancellable, callback,
                         user_data);
  data = g_new0 (ListData, 1);
  data->mailboxes = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_mailbox_free);
  data->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  data->status_items = status_items;
  command->data = data;
  command->data_free = (GDestroyNotify) list_data_free;
  command->untagged = list_untagged;
  command->done = list_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  if (self->utf8_enabled)
    {
      encoded_reference = g_strdup (reference);
      encoded_pattern = g_strdup (pattern);
    }
  else if ((encoded_reference = tern_imap_utf7_encode (reference, &error)) == NULL
           || (encoded_pattern = tern_imap_utf7_encode (pattern, &error)) == NULL)
    {
      command_fail_now (command, error);
      return;
    }
  data->reference = g_strdup (encoded_reference);
  data->pattern = g_strdup (encoded_pattern);

  extended = g_hash_table_contains (self->capabilities, "LIST-EXTENDED");
  data->lsub_done = extended;

  builder_init (&builder, self, command, "LIST ");
  builder_add_string (&builder, encoded_reference);
  builder_append (&builder, " ");
  builder_add_string (&builder, encoded_pattern);
  if (extended)
    {
      builder_append (&builder, " RETURN (SUBSCRIBED CHILDREN");
      if (g_hash_table_contains (self->capabilities, "SPECIAL-USE"))
        builder_append (&builder, " SPECIAL-USE");
      if (status_items != 0 && g_hash_table_contains (self->capabilities, "LIST-STATUS"))
        {
          builder_append (&builder, " STATUS ");
          append_status_items (self, &builder, status_items);
        }
      builder_append (&builder, ")");
    }
  builder_finish (&builder);
  submit (self, command);
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
      selected->flags = strv_from_list (response->data != NULL && response->data->items->len > 0
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
      g_autoptr(GArray) ranges = parse_vanished (response, &earlier);

      if (ranges != NULL)
        g_array_append_vals (selected->vanished, ranges->data, ranges->len);
      return TRUE;
    }
  if (g_str_equal (response->name, "FETCH"))
    {
      GError *error = NULL;
      TernImapFetch *fetch = fetch_decode (response, &error);

      if (fetch == NULL)
        {
          fatal (self, error);
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
      command_return_error (command, status_error (tagged, command->name));
      return;
    }

  if (tagged->code != NULL && tagged->code->kind == TERN_IMAP_CODE_READ_ONLY)
    data->selected->read_only = TRUE;
  if (g_str_equal (command->name, "EXAMINE"))
    data->selected->read_only = TRUE;
  self->state = TERN_IMAP_CLIENT_STATE_SELECTED;
  g_free (self->selected);
  self->selected = g_strdup (data->selected->mailbox);
  command_return_pointer (command, g_steal_pointer (&data->selected),
                          (GDestroyNotify) tern_imap_selected_free);
}

static void
select_fail (Command      *command,
             const GError *error)
{
  command->client->selected_pending--;
  command_return_error (command, g_error_copy (error));
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

  command = command_new (self, verb, tern_imap_client_select_async, cancellable, callback,
                         user_data);
  data = g_new0 (SelectData, 1);
  data->selected = selected_new (g_ascii_strcasecmp (mailbox, "INBOX") == 0 ? "INBOX" : mailbox);
  command->data = data;
  command->data_free = (GDestroyNotify) select_data_free;
  command->untagged = select_untagged;
  command->done = select_done;
  command->barrier = TRUE;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  builder_init (&builder, self, command, verb);
  builder_append (&builder, " ");
  if (!builder_add_mailbox (&builder, mailbox, &error))
    {
      builder_clear (&builder);
      command_fail_now (command, error);
      return;
    }
  if (qresync_uidvalidity != 0 && qresync_modseq != 0
      && g_hash_table_contains (self->enabled, "QRESYNC"))
    {
      builder_printf (&builder, " (QRESYNC (%u %" G_GUINT64_FORMAT, qresync_uidvalidity,
                      qresync_modseq);
      if (qresync_known_uids != NULL && *qresync_known_uids != '\0')
        {
          g_autoptr(GArray) check = tern_imap_uid_set_parse (qresync_known_uids, &error);

          if (check == NULL)
            {
              builder_clear (&builder);
              command_fail_now (command, error);
              return;
            }
          builder_printf (&builder, " %s", qresync_known_uids);
        }
      builder_append (&builder, "))");
    }
  else if ((flags & TERN_IMAP_SELECT_CONDSTORE) != 0
           && g_hash_table_contains (self->capabilities, "CONDSTORE"))
    {
      builder_append (&builder, " (CONDSTORE)");
    }
  builder_finish (&builder);
  command->fail = select_fail;
  self->selected_pending++;
  submit (self, command);
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
      command_return_error (command, status_error (tagged, command->name));
      return;
    }
  if (command->data == NULL)
    {
      /* CLOSE after EXAMINE, or UNSELECT: nothing was expunged. */
      self->state = TERN_IMAP_CLIENT_STATE_AUTHENTICATED;
      g_clear_pointer (&self->selected, g_free);
      command_return_boolean (command);
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
      command_return_error (close_command, error);
      command_unref (close_command);
      return;
    }
  submit (self, close_command);
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
  command = command_new (self, has_unselect ? "UNSELECT" : "CLOSE",
                         tern_imap_client_unselect_async, cancellable, callback, user_data);
  command->barrier = TRUE;
  command->done = unselect_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  builder_init (&builder, self, command, has_unselect ? "UNSELECT" : "CLOSE");
  builder_finish (&builder);
  if (has_unselect || self->selected == NULL)
    {
      submit (self, command);
      return;
    }
  tern_imap_client_select_async (self, self->selected, TERN_IMAP_SELECT_READ_ONLY, 0, 0, NULL,
                                 NULL, unselect_examined_cb, command);
}

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
      g_autoptr(GArray) ranges = parse_vanished (response, &earlier);

      if (!earlier || ranges == NULL)
        return FALSE;
      g_array_append_vals (data->vanished, ranges->data, ranges->len);
      return TRUE;
    }

  if (!g_str_equal (response->name, "FETCH"))
    return FALSE;
  fetch = fetch_decode (response, &error);
  if (fetch == NULL)
    {
      fatal (command->client, error);
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
      command_return_error (command, status_error (tagged, "UID FETCH"));
      return;
    }
  command_return_pointer (command, g_steal_pointer (&data->vanished),
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

  command = command_new (self, "UID FETCH", tern_imap_client_uid_fetch_async, cancellable,
                         callback, user_data);
  data = g_new0 (FetchData, 1);
  data->func = func;
  data->func_data = func_data;
  data->vanished = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  command->data = data;
  command->data_free = (GDestroyNotify) fetch_data_free;
  command->untagged = uid_fetch_untagged;
  command->done = uid_fetch_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (uid_set, "UID set", &error) || !check_atom_text (items, "item list", &error))
    {
      command_fail_now (command, error);
      return;
    }

  builder_init (&builder, self, command, "UID FETCH ");
  builder_printf (&builder, "%s %s", uid_set, items);
  if (changed_since > 0 && (g_hash_table_contains (self->capabilities, "CONDSTORE")
                            || g_hash_table_contains (self->enabled, "QRESYNC")))
    {
      builder_printf (&builder, " (CHANGEDSINCE %" G_GUINT64_FORMAT "%s)", changed_since,
                      vanished && g_hash_table_contains (self->enabled, "QRESYNC")
                      ? " VANISHED" : "");
    }
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "UID FETCH"));
      return;
    }
  if (data->body == NULL)
    {
      command_return_error (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                                  TERN_IMAP_CLIENT_ERROR_NO,
                                                  "The message with UID %u is no longer on "
                                                  "the server", data->uid));
      return;
    }
  command_return_pointer (command, g_steal_pointer (&data->body),
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

  command = command_new (self, "UID FETCH", tern_imap_client_fetch_body_async, cancellable,
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
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (data->section, "section", &error) || strchr (data->section, ']') != NULL)
    {
      if (error == NULL)
        error = g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
                             "The section holds a “]”");
      command_fail_now (command, error);
      return;
    }
  builder_init (&builder, self, command, "UID FETCH ");
  builder_printf (&builder, "%u (UID BODY.PEEK[%s])", uid, data->section);
  builder_finish (&builder);
  submit (self, command);
}

GBytes *
tern_imap_client_fetch_body_finish (TernImapClient  *self,
                                    GAsyncResult    *result,
                                    GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
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
          ranges = ranges_from_value (value);
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
    command_return_error (command, status_error (tagged, "UID SEARCH"));
  else if (data->error != NULL)
    command_return_error (command, g_steal_pointer (&data->error));
  else
    command_return_pointer (command, g_steal_pointer (&data->uids),
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

  command = command_new (self, "UID SEARCH", tern_imap_client_uid_search_async, cancellable,
                         callback, user_data);
  data = g_new0 (SearchData, 1);
  data->uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  command->data = data;
  command->data_free = (GDestroyNotify) search_data_free;
  command->untagged = search_untagged;
  command->done = search_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (criteria, "search", &error))
    {
      command_fail_now (command, error);
      return;
    }
  builder_init (&builder, self, command, "UID SEARCH ");
  if (g_hash_table_contains (self->capabilities, "ESEARCH"))
    builder_append (&builder, "RETURN (ALL) ");
  builder_append (&builder, criteria);
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "UID STORE"));
      return;
    }
  if (tagged->code != NULL && g_ascii_strcasecmp (tagged->code->name, "MODIFIED") == 0
      && tagged->code->raw_args != NULL)
    modified = tern_imap_uid_set_parse (tagged->code->raw_args, NULL);
  if (modified == NULL)
    modified = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  command_return_pointer (command, modified, (GDestroyNotify) g_array_unref);
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
  builder_append (builder, "(");
  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      if (!check_flag (flags[i], error))
        return FALSE;
      builder_printf (builder, "%s%s", i > 0 ? " " : "", flags[i]);
    }
  builder_append (builder, ")");
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

  command = command_new (self, "UID STORE", tern_imap_client_uid_store_async, cancellable,
                         callback, user_data);
  command->done = store_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!check_atom_text (uid_set, "UID set", &error))
    {
      command_fail_now (command, error);
      return;
    }
  builder_init (&builder, self, command, "UID STORE ");
  builder_append (&builder, uid_set);
  if (unchanged_since > 0 && g_hash_table_contains (self->capabilities, "CONDSTORE"))
    builder_printf (&builder, " (UNCHANGEDSINCE %" G_GUINT64_FORMAT ")", unchanged_since);
  builder_append (&builder, mode == TERN_IMAP_STORE_ADD ? " +FLAGS.SILENT "
                            : mode == TERN_IMAP_STORE_REMOVE ? " -FLAGS.SILENT "
                            : " FLAGS.SILENT ");
  if (!append_flag_list (&builder, flags, &error))
    {
      builder_clear (&builder);
      command_fail_now (command, error);
      return;
    }
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, command->name));
      return;
    }
  copy_read_code (data, tagged->code);
  command_return_pointer (command, g_steal_pointer (&data->result),
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
  Command *command = command_new (self, verb, source_tag, cancellable, callback, user_data);
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

  builder_init (&builder, self, command, verb);
  builder_printf (&builder, " %s ", uid_set);
  if (!check_atom_text (uid_set, "UID set", error)
      || !builder_add_mailbox (&builder, destination, error))
    {
      builder_clear (&builder);
      command_unref (command);
      return NULL;
    }
  builder_finish (&builder);
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
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  submit (self, command);
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
      if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
        return;
      submit (self, command);
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

  command = command_new (self, "UID EXPUNGE", tern_imap_client_uid_expunge_async, cancellable,
                         callback, user_data);
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_SELECTED))
    return;
  if (!g_hash_table_contains (self->capabilities, "UIDPLUS"))
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server has no UIDPLUS: messages cannot be "
                                              "expunged by UID"));
      return;
    }
  if (!check_atom_text (uid_set, "UID set", &error))
    {
      command_fail_now (command, error);
      return;
    }
  builder_init (&builder, self, command, "UID EXPUNGE ");
  builder_append (&builder, uid_set);
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "APPEND"));
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
  command_return_pointer (command, result, g_free);
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

  command = command_new (self, "APPEND", tern_imap_client_append_async, cancellable, callback,
                         user_data);
  command->done = append_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;

  size = g_bytes_get_size (message);
  if (self->append_limit > 0 && size > self->append_limit)
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_TOO_BIG,
                                              "The message (%" G_GSIZE_FORMAT " bytes) is larger "
                                              "than the server accepts (%" G_GUINT64_FORMAT
                                              " bytes)", size, self->append_limit));
      return;
    }

  builder_init (&builder, self, command, "APPEND ");
  if (!builder_add_mailbox (&builder, mailbox, &error))
    {
      builder_clear (&builder);
      command_fail_now (command, error);
      return;
    }
  if (flags != NULL && flags[0] != NULL)
    {
      builder_append (&builder, " ");
      if (!append_flag_list (&builder, flags, &error))
        {
          builder_clear (&builder);
          command_fail_now (command, error);
          return;
        }
    }
  if (internal_date != NULL)
    {
      g_autofree char *date = format_internal_date (internal_date);

      builder_printf (&builder, " \"%s\"", date);
    }
  builder_append (&builder, " ");
  builder_add_literal (&builder, message, FALSE);
  builder_finish (&builder);
  submit (self, command);
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
      command_return_error (command, status_error (tagged, "GETQUOTAROOT"));
      return;
    }
  command_return_pointer (command, g_ptr_array_ref (command->data),
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

  command = command_new (self, "GETQUOTAROOT", tern_imap_client_get_quota_root_async,
                         cancellable, callback, user_data);
  command->data = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_quota_free);
  command->data_free = (GDestroyNotify) g_ptr_array_unref;
  command->untagged = quota_untagged;
  command->done = quota_done;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "QUOTA"))
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer QUOTA"));
      return;
    }
  builder_init (&builder, self, command, "GETQUOTAROOT ");
  if (!builder_add_mailbox (&builder, mailbox, &error))
    {
      builder_clear (&builder);
      command_fail_now (command, error);
      return;
    }
  builder_finish (&builder);
  submit (self, command);
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
  out_push (self, g_bytes_new_static ("DONE\r\n", 6), NULL, FALSE);
}

static void
idle_continuation (Command          *command,
                   TernImapResponse *response)
{
  TernImapClient *self = command->client;

  if (self->idling)
    {
      fatal (self, g_error_new (TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
                                "The server sent a second continuation request in IDLE"));
      return;
    }
  self->idling = TRUE;
  if (self->idle_done_requested)
    idle_send_done (self);
  else if (!self->reading)
    reader_pump (self);
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
  default_done (command, tagged);
}

static void
idle_fail (Command      *command,
           const GError *error)
{
  idle_finished (command->client);
  command_return_error (command, g_error_copy (error));
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

  command = command_new (self, "IDLE", tern_imap_client_idle_async, cancellable, callback,
                         user_data);
  command->barrier = TRUE;
  command->continuation = idle_continuation;
  command->done = idle_done_cb;
  command->fail = idle_fail;
  if (!command_check_state (command, TERN_IMAP_CLIENT_STATE_AUTHENTICATED))
    return;
  if (!g_hash_table_contains (self->capabilities, "IDLE"))
    {
      command_fail_now (command, g_error_new (TERN_IMAP_CLIENT_ERROR,
                                              TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
                                              "The server does not offer IDLE"));
      return;
    }
  builder_init (&builder, self, command, "IDLE");
  builder_finish (&builder);
  self->idle_command = command;
  submit (self, command);
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
