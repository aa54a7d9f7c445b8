/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-pop3-client.h"
#include "tern-sasl.h"

/* The longest unique id RFC 1939 allows. */
#define MAX_UID_LENGTH 70

typedef enum {
  STATE_NEW,
  STATE_CONNECTING,
  STATE_AUTHORIZATION,
  STATE_TRANSACTION,
  STATE_CLOSED,
} State;

struct _TernPop3Client
{
  GObject parent_instance;

  TernConnection *connection;
  TernConnectionSecurity security;
  State state;
  gboolean busy;
  gsize max_message_size;

  /* Upper-case capability name -> its arguments ("" when none). */
  GHashTable *capabilities;
  gboolean stls_done;
  char *apop_timestamp;
  char *auth_mechanism;
  /* Where the body of the next reply goes, for RETR to a stream. */
  GOutputStream *next_sink;
};

G_DEFINE_FINAL_TYPE (TernPop3Client, tern_pop3_client, G_TYPE_OBJECT)

G_DEFINE_QUARK (tern-pop3-error-quark, tern_pop3_error)

void
tern_pop3_entry_free (TernPop3Entry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->uid);
  g_free (entry);
}

static void
tern_pop3_client_finalize (GObject *object)
{
  TernPop3Client *self = TERN_POP3_CLIENT (object);

  g_clear_object (&self->connection);
  g_clear_pointer (&self->capabilities, g_hash_table_unref);
  g_clear_pointer (&self->apop_timestamp, g_free);
  g_clear_pointer (&self->auth_mechanism, g_free);
  g_clear_object (&self->next_sink);
  G_OBJECT_CLASS (tern_pop3_client_parent_class)->finalize (object);
}

static void
tern_pop3_client_class_init (TernPop3ClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_pop3_client_finalize;
}

static void
tern_pop3_client_init (TernPop3Client *self)
{
  self->max_message_size = TERN_POP3_DEFAULT_MAX_MESSAGE;
  self->capabilities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->state = STATE_NEW;
}

/**
 * tern_pop3_client_new:
 * @connection: a connection not yet connected, with its setters applied
 *
 * Returns: (transfer full): a client that will connect through @connection
 */
TernPop3Client *
tern_pop3_client_new (TernConnection *connection)
{
  TernPop3Client *self;

  g_return_val_if_fail (TERN_IS_CONNECTION (connection), NULL);

  self = g_object_new (TERN_TYPE_POP3_CLIENT, NULL);
  self->connection = g_object_ref (connection);
  return self;
}

TernConnection *
tern_pop3_client_get_connection (TernPop3Client *self)
{
  g_return_val_if_fail (TERN_IS_POP3_CLIENT (self), NULL);
  return self->connection;
}

/**
 * tern_pop3_client_set_max_message_size:
 * @max_size: the largest message RETR or TOP may deliver, in octets, after
 *   dot-unstuffing; a larger one fails with
 *   %TERN_POP3_ERROR_MESSAGE_TOO_LARGE and closes the connection
 */
void
tern_pop3_client_set_max_message_size (TernPop3Client *self,
                                       gsize           max_size)
{
  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  self->max_message_size = max_size;
}

/**
 * tern_pop3_client_has_capability:
 * @name: a CAPA keyword such as "PIPELINING", in any case
 *
 * Capabilities learned before STLS are forgotten once TLS is up, and asked
 * for again.
 */
gboolean
tern_pop3_client_has_capability (TernPop3Client *self,
                                 const char     *name)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (TERN_IS_POP3_CLIENT (self), FALSE);
  key = g_ascii_strup (name, -1);
  return g_hash_table_contains (self->capabilities, key);
}

/* Returns: (nullable): the "<...>" of the greeting, kept for APOP. */
const char *
tern_pop3_client_get_apop_timestamp (TernPop3Client *self)
{
  g_return_val_if_fail (TERN_IS_POP3_CLIENT (self), NULL);
  return self->apop_timestamp;
}

/* Returns: (nullable): the SASL mechanism of the login, "USER" for
 * USER/PASS, or %NULL before a login succeeded. */
const char *
tern_pop3_client_get_auth_mechanism (TernPop3Client *self)
{
  g_return_val_if_fail (TERN_IS_POP3_CLIENT (self), NULL);
  return self->auth_mechanism;
}

/* Operations: one at a time, and any error but a "-ERR" ends the session,
 * because after it Tern no longer knows where it is in the conversation. */

static GTask *
op_new (TernPop3Client      *self,
        State                required,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data,
        gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  if (self->busy)
    {
      g_task_return_new_error (task, TERN_POP3_ERROR, TERN_POP3_ERROR_INVALID_STATE,
                               "Another POP3 operation is running");
      g_object_unref (task);
      return NULL;
    }
  if (self->state != required)
    {
      g_task_return_new_error (task, TERN_POP3_ERROR, TERN_POP3_ERROR_INVALID_STATE,
                               self->state == STATE_CLOSED
                               ? "The POP3 session is closed"
                               : "The POP3 session is not ready for this command");
      g_object_unref (task);
      return NULL;
    }
  self->busy = TRUE;
  return task;
}

static void
op_fail (GTask  *task,
         GError *error)
{
  TernPop3Client *self = g_task_get_source_object (task);

  self->busy = FALSE;
  if (!g_error_matches (error, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED))
    {
      self->state = STATE_CLOSED;
      tern_connection_close (self->connection);
    }
  g_task_return_error (task, error);
}

static void
op_done (GTask *task)
{
  TernPop3Client *self = g_task_get_source_object (task);

  self->busy = FALSE;
}

/* Reading one reply: a status line and, for a multi-line reply, the lines
 * up to ".", dot-unstuffed and each ended by CRLF. */

typedef struct
{
  gboolean multiline;
  gboolean in_body;
  gsize max_size;
  char *status;
  GByteArray *body;
  /* When set, the body goes there a chunk at a time instead. */
  GOutputStream *sink;
  gsize written;
} ReplyData;

/* How much of a body streamed to a sink is held before it is written. */
#define SINK_CHUNK (256 * 1024)

static void
reply_data_free (ReplyData *data)
{
  g_free (data->status);
  if (data->body != NULL)
    g_byte_array_unref (data->body);
  g_clear_object (&data->sink);
  g_free (data);
}

static void reply_line_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data);

static void
read_reply_next (GTask *task)
{
  TernPop3Client *self = g_task_get_source_object (task);

  tern_connection_read_line_async (self->connection, TERN_POP3_MAX_LINE,
                                   g_task_get_cancellable (task), reply_line_cb, task);
}

static void
sink_written_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  ReplyData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gsize written = 0;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      g_prefix_error (&error, "Could not write the message down: ");
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  data->written += data->body->len;
  g_byte_array_set_size (data->body, 0);
  if (!data->in_body)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  read_reply_next (task);
}

/* Writes what the body holds to the sink, then reads on, or, once the
 * body ended (in_body cleared), finishes. */
static void
sink_flush (GTask *task)
{
  ReplyData *data = g_task_get_task_data (task);

  g_output_stream_write_all_async (data->sink, data->body->data, data->body->len,
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                   sink_written_cb, task);
}

static void
reply_line_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ReplyData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;
  const char *text;

  line = tern_connection_read_line_finish (TERN_CONNECTION (source), result, &length, &error);
  if (line == NULL)
    {
      if (data->in_body && g_error_matches (error, TERN_CONNECTION_ERROR,
                                            TERN_CONNECTION_ERROR_CLOSED))
        g_prefix_error (&error, "The server closed the connection in the middle of a "
                        "multi-line reply: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!data->in_body)
    {
      if (g_str_has_prefix (line, "+OK") && (line[3] == '\0' || line[3] == ' '))
        {
          text = line[3] == ' ' ? line + 4 : "";
          data->status = g_strdup (text);
          if (!data->multiline)
            {
              g_task_return_boolean (task, TRUE);
              return;
            }
          data->in_body = TRUE;
          data->body = g_byte_array_new ();
          read_reply_next (g_steal_pointer (&task));
          return;
        }
      if (g_str_has_prefix (line, "-ERR") && (line[4] == '\0' || line[4] == ' '))
        {
          text = line[4] == ' ' ? line + 5 : "";
          g_task_return_new_error (task, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED,
                                   "%s", *text != '\0' ? text : "(no reason given)");
          return;
        }
      g_task_return_new_error (task, TERN_POP3_ERROR, TERN_POP3_ERROR_BAD_RESPONSE,
                               "The server's reply is not POP3: %.80s", line);
      return;
    }

  if (length == 1 && line[0] == '.')
    {
      if (data->sink != NULL)
        {
          data->in_body = FALSE;
          sink_flush (g_steal_pointer (&task));
          return;
        }
      g_task_return_boolean (task, TRUE);
      return;
    }
  text = line;
  if (line[0] == '.')
    {
      text++;
      length--;
    }
  if (data->written + data->body->len + length + 2 > data->max_size)
    {
      g_task_return_new_error (task, TERN_POP3_ERROR, TERN_POP3_ERROR_MESSAGE_TOO_LARGE,
                               "The server's reply is larger than %" G_GSIZE_FORMAT
                               " bytes", data->max_size);
      return;
    }
  g_byte_array_append (data->body, (const guint8 *) text, length);
  g_byte_array_append (data->body, (const guint8 *) "\r\n", 2);
  if (data->sink != NULL && data->body->len >= SINK_CHUNK)
    {
      sink_flush (g_steal_pointer (&task));
      return;
    }
  read_reply_next (g_steal_pointer (&task));
}

static void
read_reply_async (TernPop3Client      *self,
                  gboolean             multiline,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  ReplyData *data = g_new0 (ReplyData, 1);

  data->multiline = multiline;
  data->max_size = self->max_message_size;
  if (multiline)
    data->sink = g_steal_pointer (&self->next_sink);
  g_task_set_task_data (task, data, (GDestroyNotify) reply_data_free);
  read_reply_next (task);
}

/* Returns: the text after "+OK", and the body of a multi-line reply. */
static char *
read_reply_finish (GAsyncResult  *result,
                   GBytes       **out_body,
                   GError       **error)
{
  ReplyData *data = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  if (out_body != NULL)
    *out_body = data->body != NULL ? g_byte_array_free_to_bytes (g_steal_pointer (&data->body))
                                   : NULL;
  return g_steal_pointer (&data->status);
}

/* Writing one command line, CRLF added.  A secret line is wiped from
 * memory once written. */

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

static void
write_line_async (TernPop3Client      *self,
                  const char          *line,
                  gboolean             secret,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  gsize length = strlen (line);
  char *text = g_malloc (length + 3);
  g_autoptr(GBytes) bytes = NULL;

  memcpy (text, line, length);
  memcpy (text + length, "\r\n", 3);
  if (secret)
    {
      SecretText *holder = g_new0 (SecretText, 1);

      holder->text = text;
      holder->length = length + 2;
      bytes = g_bytes_new_with_free_func (text, length + 2, secret_text_free, holder);
    }
  else
    bytes = g_bytes_new_take (text, length + 2);
  tern_connection_write_async (self->connection, bytes, cancellable, callback, user_data);
}

/* A command and its reply. */

typedef struct
{
  char *verb;
  gboolean multiline;
} CommandData;

static void
command_data_free (CommandData *data)
{
  g_free (data->verb);
  g_free (data);
}

static void
command_reply_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CommandData *data = g_task_get_task_data (task);
  GError *error = NULL;
  GBytes *body = NULL;
  char *status;

  status = read_reply_finish (result, &body, &error);
  if (status == NULL)
    {
      if (g_error_matches (error, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED))
        g_prefix_error (&error, "The server refused %s: ", data->verb);
      g_task_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, body, body != NULL ? (GDestroyNotify) g_bytes_unref : NULL);
  g_task_return_pointer (task, status, g_free);
}

static void
command_written_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  CommandData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  read_reply_async (self, data->multiline, g_task_get_cancellable (task), command_reply_cb,
                    g_object_ref (task));
}

static void
command_async (TernPop3Client      *self,
               const char          *line,
               gboolean             secret,
               gboolean             multiline,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CommandData *data = g_new0 (CommandData, 1);
  const char *space = strchr (line, ' ');

  data->verb = space != NULL ? g_strndup (line, space - line) : g_strdup (line);
  data->multiline = multiline;
  g_task_set_task_data (task, data, (GDestroyNotify) command_data_free);
  write_line_async (self, line, secret, cancellable, command_written_cb, task);
}

/* Returns: the status text; @out_body gets the body of a multi-line reply. */
static char *
command_finish (GAsyncResult  *result,
                GBytes       **out_body,
                GError       **error)
{
  char *status = g_task_propagate_pointer (G_TASK (result), error);

  if (status != NULL && out_body != NULL)
    {
      GBytes *body = g_task_get_task_data (G_TASK (result));

      *out_body = body != NULL ? g_bytes_ref (body) : NULL;
    }
  return status;
}

/* Connecting: greeting, CAPA, STLS, CAPA again. */

static void connect_capa_cb (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data);

static void
parse_capabilities (TernPop3Client *self,
                    GBytes         *body)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (body, &size);
  g_autofree char *text = g_strndup (data, size);
  g_auto(GStrv) lines = g_strsplit (text, "\r\n", -1);

  g_hash_table_remove_all (self->capabilities);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      const char *space = strchr (line, ' ');
      g_autofree char *name = NULL;

      if (*line == '\0')
        continue;
      name = space != NULL ? g_strndup (line, space - line) : g_strdup (line);
      g_hash_table_replace (self->capabilities, g_ascii_strup (name, -1),
                            g_strdup (space != NULL ? space + 1 : ""));
    }
}

static void
connect_ask_capa (GTask *task)
{
  TernPop3Client *self = g_task_get_source_object (task);

  command_async (self, "CAPA", FALSE, TRUE, g_task_get_cancellable (task), connect_capa_cb,
                 task);
}

static void
connect_starttls_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_connection_starttls_finish (TERN_CONNECTION (source), result, &error))
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }
  /* Nothing the server said before TLS may be trusted. */
  self->stls_done = TRUE;
  g_hash_table_remove_all (self->capabilities);
  connect_ask_capa (task);
}

static void
connect_stls_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  g_autofree char *status = NULL;
  GError *error = NULL;

  status = command_finish (result, NULL, &error);
  if (status == NULL)
    {
      if (error->domain == TERN_POP3_ERROR && error->code == TERN_POP3_ERROR_COMMAND_FAILED)
        error->code = TERN_POP3_ERROR_STARTTLS_UNAVAILABLE;
      op_fail (task, error);
      g_object_unref (task);
      return;
    }
  tern_connection_starttls_async (self->connection, g_task_get_cancellable (task),
                                  connect_starttls_cb, task);
}

static void
connect_capa_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *status = NULL;
  GError *error = NULL;

  status = command_finish (result, &body, &error);
  if (status != NULL)
    parse_capabilities (self, body);
  else if (g_error_matches (error, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED))
    {
      /* A server without CAPA has no extensions, STLS included. */
      g_clear_error (&error);
      g_hash_table_remove_all (self->capabilities);
    }
  else
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }

  if (self->security == TERN_CONNECTION_SECURITY_STARTTLS && !self->stls_done)
    {
      if (!g_hash_table_contains (self->capabilities, "STLS"))
        {
          op_fail (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_STARTTLS_UNAVAILABLE,
                                      "The server does not offer STLS, and this account "
                                      "requires STARTTLS"));
          g_object_unref (task);
          return;
        }
      command_async (self, "STLS", FALSE, FALSE, g_task_get_cancellable (task),
                     connect_stls_cb, task);
      return;
    }

  self->state = STATE_AUTHORIZATION;
  op_done (task);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
connect_greeting_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  g_autofree char *status = NULL;
  GError *error = NULL;
  const char *start;
  const char *end;

  status = read_reply_finish (result, NULL, &error);
  if (status == NULL)
    {
      if (error->domain == TERN_POP3_ERROR && error->code == TERN_POP3_ERROR_COMMAND_FAILED)
        g_prefix_error (&error, "The server refused the connection: ");
      op_fail (task, error);
      g_object_unref (task);
      return;
    }
  start = strchr (status, '<');
  end = start != NULL ? strchr (start, '>') : NULL;
  if (end != NULL)
    self->apop_timestamp = g_strndup (start, end - start + 1);
  connect_ask_capa (task);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_connection_connect_finish (TERN_CONNECTION (source), result, &error))
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }
  read_reply_async (self, FALSE, g_task_get_cancellable (task), connect_greeting_cb, task);
}

/**
 * tern_pop3_client_connect_async:
 * @security: with %TERN_CONNECTION_SECURITY_STARTTLS the server must offer
 *   STLS and accept it, or the connection ends with
 *   %TERN_POP3_ERROR_STARTTLS_UNAVAILABLE; it never goes on in plain text
 *
 * Connects, reads the greeting and the capabilities, and upgrades to TLS
 * when asked.  Once it finishes the client is ready for a login.
 */
void
tern_pop3_client_connect_async (TernPop3Client         *self,
                                const char             *host,
                                guint16                 port,
                                TernConnectionSecurity  security,
                                GCancellable           *cancellable,
                                GAsyncReadyCallback     callback,
                                gpointer                user_data)
{
  GTask *task;

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));

  task = op_new (self, STATE_NEW, cancellable, callback, user_data,
                 tern_pop3_client_connect_async);
  if (task == NULL)
    return;
  self->state = STATE_CONNECTING;
  self->security = security;
  tern_connection_connect_async (self->connection, host, port, security, cancellable,
                                 connect_cb, task);
}

gboolean
tern_pop3_client_connect_finish (TernPop3Client  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Login: SASL AUTH when the server offers a mechanism Tern can use, else
 * USER and PASS. */

typedef struct
{
  TernSasl *sasl;
  char *username;
  char *password;
} LoginData;

static void
login_data_free (LoginData *data)
{
  g_clear_pointer (&data->sasl, tern_sasl_free);
  g_free (data->username);
  if (data->password != NULL)
    {
      explicit_bzero (data->password, strlen (data->password));
      g_free (data->password);
    }
  g_free (data);
}

static void
login_succeeded (GTask      *task,
                 const char *mechanism)
{
  TernPop3Client *self = g_task_get_source_object (task);

  g_free (self->auth_mechanism);
  self->auth_mechanism = g_strdup (mechanism);
  self->state = STATE_TRANSACTION;
  op_done (task);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
login_refused (GTask  *task,
               GError *error)
{
  if (error->domain == TERN_POP3_ERROR && error->code == TERN_POP3_ERROR_COMMAND_FAILED)
    error->code = TERN_POP3_ERROR_AUTH_FAILED;
  op_fail (task, error);
  g_object_unref (task);
}

static void
login_pass_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  g_autofree char *status = NULL;
  GError *error = NULL;

  status = command_finish (result, NULL, &error);
  if (status == NULL)
    {
      login_refused (task, error);
      return;
    }
  login_succeeded (task, "USER");
}

static void
login_user_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  LoginData *data = g_task_get_task_data (task);
  g_autofree char *status = NULL;
  g_autofree char *line = NULL;
  GError *error = NULL;

  status = command_finish (result, NULL, &error);
  if (status == NULL)
    {
      login_refused (task, error);
      return;
    }
  line = g_strconcat ("PASS ", data->password, NULL);
  command_async (self, line, TRUE, FALSE, g_task_get_cancellable (task), login_pass_cb, task);
  explicit_bzero (line, strlen (line));
}

static void login_sasl_line_cb (GObject      *source,
                                GAsyncResult *result,
                                gpointer      user_data);

static void
login_sasl_written_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }
  tern_connection_read_line_async (TERN_CONNECTION (source), TERN_POP3_MAX_LINE,
                                   g_task_get_cancellable (task), login_sasl_line_cb, task);
}

static void
login_sasl_send (GTask      *task,
                 const char *line)
{
  TernPop3Client *self = g_task_get_source_object (task);

  write_line_async (self, line, TRUE, g_task_get_cancellable (task), login_sasl_written_cb,
                    task);
}

/* After the client cancelled the exchange with "*", the server's "-ERR"
 * is read and the mechanism's own error returned. */
typedef struct
{
  GTask *task;
  GError *error;
} SaslAbort;

static void
login_sasl_abort_line_cb (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  SaslAbort *abort_data = user_data;
  g_autofree char *line = NULL;

  line = tern_connection_read_line_finish (TERN_CONNECTION (source), result, NULL, NULL);
  op_fail (abort_data->task, abort_data->error);
  g_object_unref (abort_data->task);
  g_free (abort_data);
}

static void
login_sasl_abort_written_cb (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  SaslAbort *abort_data = user_data;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, NULL))
    {
      op_fail (abort_data->task, abort_data->error);
      g_object_unref (abort_data->task);
      g_free (abort_data);
      return;
    }
  tern_connection_read_line_async (TERN_CONNECTION (source), TERN_POP3_MAX_LINE,
                                   g_task_get_cancellable (abort_data->task),
                                   login_sasl_abort_line_cb, abort_data);
}

static void
login_sasl_abort (GTask  *task,
                  GError *error)
{
  TernPop3Client *self = g_task_get_source_object (task);
  SaslAbort *abort_data = g_new0 (SaslAbort, 1);

  abort_data->task = task;
  abort_data->error = error;
  write_line_async (self, "*", FALSE, g_task_get_cancellable (task),
                    login_sasl_abort_written_cb, abort_data);
}

static void
login_sasl_line_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GTask *task = user_data;
  LoginData *data = g_task_get_task_data (task);
  g_autofree char *line = NULL;
  g_autoptr(GBytes) challenge = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autofree char *encoded = NULL;
  GError *error = NULL;
  const char *text;

  line = tern_connection_read_line_finish (TERN_CONNECTION (source), result, NULL, &error);
  if (line == NULL)
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }

  if (g_str_has_prefix (line, "+OK") && (line[3] == '\0' || line[3] == ' '))
    {
      if (!tern_sasl_verify_final (data->sasl, NULL, &error))
        {
          op_fail (task, error);
          g_object_unref (task);
          return;
        }
      login_succeeded (task, tern_sasl_get_mechanism (data->sasl));
      return;
    }
  if (g_str_has_prefix (line, "-ERR") && (line[4] == '\0' || line[4] == ' '))
    {
      const GError *server_error = tern_sasl_get_server_error (data->sasl);

      text = line[4] == ' ' ? line + 5 : "(no reason given)";
      login_refused (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_AUTH_FAILED,
                                        "The server refused the login: %s%s%s", text,
                                        server_error != NULL ? "; " : "",
                                        server_error != NULL ? server_error->message : ""));
      return;
    }
  if (line[0] != '+' || (line[1] != '\0' && line[1] != ' '))
    {
      op_fail (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_BAD_RESPONSE,
                                  "The server's reply to AUTH is not POP3: %.80s", line));
      g_object_unref (task);
      return;
    }

  text = line[1] == ' ' ? line + 2 : "";
  {
    gsize decoded_length = 0;
    guchar *decoded = g_base64_decode (text, &decoded_length);

    challenge = g_bytes_new_take (decoded, decoded_length);
  }
  response = tern_sasl_step (data->sasl, challenge, &error);
  if (response == NULL)
    {
      login_sasl_abort (task, error);
      return;
    }
  {
    gsize length = 0;
    const guchar *raw = g_bytes_get_data (response, &length);

    encoded = length > 0 ? g_base64_encode (raw, length) : g_strdup ("");
  }
  login_sasl_send (task, encoded);
  explicit_bzero (encoded, strlen (encoded));
}

/**
 * tern_pop3_client_login_async:
 *
 * Logs in with the strongest SASL mechanism the server offers (its "SASL"
 * capability), or with USER and PASS when it offers none Tern can use.  No
 * password leaves on an unencrypted connection unless the user chose
 * %TERN_CONNECTION_SECURITY_NONE.  A refused login fails with
 * %TERN_POP3_ERROR_AUTH_FAILED and is not tried again another way.
 */
static void login_start (TernPop3Client      *self,
                         const char          *username,
                         const char          *password,
                         gboolean             oauth,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data);

void
tern_pop3_client_login_async (TernPop3Client      *self,
                              const char          *username,
                              const char          *password,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  login_start (self, username, password, FALSE, cancellable, callback, user_data);
}

/**
 * tern_pop3_client_login_oauth_async:
 * @token: an OAuth2 access token
 *
 * Logs in with OAUTHBEARER or XOAUTH2, whichever the server offers; fails
 * with %TERN_POP3_ERROR_NO_MECHANISM when it offers neither (the token is
 * never sent as a password).  Finish with tern_pop3_client_login_finish().
 */
void
tern_pop3_client_login_oauth_async (TernPop3Client      *self,
                                    const char          *username,
                                    const char          *token,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  login_start (self, username, token, TRUE, cancellable, callback, user_data);
}

static void
login_start (TernPop3Client      *self,
             const char          *username,
             const char          *password,
             gboolean             oauth,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  GTask *task;
  LoginData *data;
  const char *sasl_caps;
  const char *mechanism = NULL;
  g_auto(GStrv) mechanisms = NULL;
  g_autoptr(GBytes) initial = NULL;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  g_return_if_fail (username != NULL && password != NULL);

  task = op_new (self, STATE_AUTHORIZATION, cancellable, callback, user_data,
                 tern_pop3_client_login_async);
  if (task == NULL)
    return;

  data = g_new0 (LoginData, 1);
  data->username = g_strdup (username);
  data->password = g_strdup (password);
  g_task_set_task_data (task, data, (GDestroyNotify) login_data_free);

  if (!tern_connection_is_encrypted (self->connection)
      && self->security != TERN_CONNECTION_SECURITY_NONE)
    {
      op_fail (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_ENCRYPTION_REQUIRED,
                                  "The connection is not encrypted; the password is not "
                                  "sent"));
      g_object_unref (task);
      return;
    }

  sasl_caps = g_hash_table_lookup (self->capabilities, "SASL");
  if (sasl_caps != NULL)
    {
      mechanisms = g_strsplit_set (sasl_caps, " ", -1);
      mechanism = tern_sasl_choose_mechanism ((const char * const *) mechanisms, oauth);
    }

  /* tern_sasl_choose_mechanism() picks only OAuth mechanisms for a token. */
  if (oauth && mechanism == NULL)
    {
      op_fail (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_NO_MECHANISM,
                                  "The server offers neither OAUTHBEARER nor XOAUTH2"));
      g_object_unref (task);
      return;
    }

  if (mechanism == NULL)
    {
      g_autofree char *line = g_strconcat ("USER ", username, NULL);

      if (strpbrk (username, "\r\n") != NULL || strpbrk (password, "\r\n") != NULL)
        {
          op_fail (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_NO_MECHANISM,
                                      "The username or password holds a line break"));
          g_object_unref (task);
          return;
        }
      command_async (self, line, FALSE, FALSE, cancellable, login_user_cb, task);
      return;
    }

  data->sasl = tern_sasl_new (mechanism, username, password, &error);
  if (data->sasl == NULL
      || !tern_sasl_set_server (data->sasl, tern_connection_get_host (self->connection),
                                tern_connection_get_port (self->connection), &error))
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }

  if (tern_sasl_get_initial_response (data->sasl, &initial) && initial != NULL)
    {
      gsize length = 0;
      const guchar *raw = g_bytes_get_data (initial, &length);
      g_autofree char *encoded = length > 0 ? g_base64_encode (raw, length) : g_strdup ("=");
      g_autofree char *line = g_strdup_printf ("AUTH %s %s", mechanism, encoded);

      login_sasl_send (task, line);
      explicit_bzero (encoded, strlen (encoded));
      explicit_bzero (line, strlen (line));
    }
  else
    {
      g_autofree char *line = g_strdup_printf ("AUTH %s", mechanism);

      login_sasl_send (task, line);
    }
}

gboolean
tern_pop3_client_login_finish (TernPop3Client  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Commands of the transaction state. */

typedef enum {
  KIND_SIMPLE,
  KIND_STAT,
  KIND_UIDL,
  KIND_LIST,
  KIND_MESSAGE,
} Kind;

typedef struct
{
  Kind kind;
  guint count;
  guint64 size;
} TransactionData;

static gboolean
parse_number (const char *text,
              guint64     max,
              guint64    *out)
{
  return text != NULL && g_ascii_isdigit (text[0])
         && g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL);
}

static gboolean
uid_is_valid (const char *uid)
{
  gsize length = strlen (uid);

  if (length == 0 || length > MAX_UID_LENGTH)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if ((guchar) uid[i] < 0x21 || (guchar) uid[i] > 0x7e)
      return FALSE;
  return TRUE;
}

static GPtrArray *
parse_entries (GBytes   *body,
               gboolean  with_uid,
               GError  **error)
{
  gsize size = 0;
  const char *raw = g_bytes_get_data (body, &size);
  /* An empty mailbox gives an empty list, and GBytes no data at all. */
  g_autofree char *text = g_strndup (raw != NULL ? raw : "", size);
  g_auto(GStrv) lines = g_strsplit (text, "\r\n", -1);
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (
    (GDestroyNotify) tern_pop3_entry_free);

  if (size > 0 && memchr (raw, '\0', size) != NULL)
    {
      g_set_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_BAD_RESPONSE,
                   "The server's %s list holds a NUL byte", with_uid ? "UIDL" : "LIST");
      return NULL;
    }
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      TernPop3Entry *entry;
      guint64 number = 0;
      guint64 value = 0;

      if (lines[i][0] == '\0' && lines[i + 1] == NULL)
        break;
      fields = g_strsplit (lines[i], " ", 3);
      if (g_strv_length (fields) != 2 || !parse_number (fields[0], G_MAXUINT, &number)
          || number == 0
          || (with_uid ? !uid_is_valid (fields[1])
                       : !parse_number (fields[1], G_MAXUINT64, &value)))
        {
          g_set_error (error, TERN_POP3_ERROR, TERN_POP3_ERROR_BAD_RESPONSE,
                       "The server sent a malformed %s line: %.80s",
                       with_uid ? "UIDL" : "LIST", lines[i]);
          return NULL;
        }
      entry = g_new0 (TernPop3Entry, 1);
      entry->number = (guint) number;
      entry->size = value;
      entry->uid = with_uid ? g_strdup (fields[1]) : NULL;
      g_ptr_array_add (entries, entry);
    }
  return g_steal_pointer (&entries);
}

static void
transaction_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  TransactionData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *status = NULL;
  GError *error = NULL;

  status = command_finish (result, &body, &error);
  if (status == NULL)
    {
      op_fail (task, error);
      g_object_unref (task);
      return;
    }

  switch (data->kind)
    {
    case KIND_SIMPLE:
      op_done (task);
      g_task_return_boolean (task, TRUE);
      break;
    case KIND_STAT:
      {
        g_auto(GStrv) fields = g_strsplit (status, " ", 3);
        guint64 count = 0;

        if (g_strv_length (fields) < 2 || !parse_number (fields[0], G_MAXUINT, &count)
            || !parse_number (fields[1], G_MAXUINT64, &data->size))
          {
            op_fail (task, g_error_new (TERN_POP3_ERROR, TERN_POP3_ERROR_BAD_RESPONSE,
                                        "The server sent a malformed STAT reply: %.80s",
                                        status));
            break;
          }
        data->count = (guint) count;
        op_done (task);
        g_task_return_boolean (task, TRUE);
      }
      break;
    case KIND_UIDL:
    case KIND_LIST:
      {
        GPtrArray *entries = parse_entries (body, data->kind == KIND_UIDL, &error);

        if (entries == NULL)
          op_fail (task, error);
        else
          {
            op_done (task);
            g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
          }
      }
      break;
    case KIND_MESSAGE:
      op_done (task);
      g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
      break;
    default:
      g_assert_not_reached ();
    }
  g_object_unref (task);
}

static void
transaction_start (TernPop3Client      *self,
                   Kind                 kind,
                   const char          *line,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data,
                   gpointer             source_tag)
{
  State required = g_str_equal (line, "QUIT") && self->state == STATE_AUTHORIZATION
                   ? STATE_AUTHORIZATION : STATE_TRANSACTION;
  GTask *task = op_new (self, required, cancellable, callback, user_data, source_tag);
  TransactionData *data;

  if (task == NULL)
    return;
  data = g_new0 (TransactionData, 1);
  data->kind = kind;
  g_task_set_task_data (task, data, g_free);
  command_async (self, line, FALSE, kind == KIND_UIDL || kind == KIND_LIST
                 || kind == KIND_MESSAGE, cancellable, transaction_cb, task);
}

void
tern_pop3_client_stat_async (TernPop3Client      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_STAT, "STAT", cancellable, callback, user_data,
                     tern_pop3_client_stat_async);
}

gboolean
tern_pop3_client_stat_finish (TernPop3Client  *self,
                              GAsyncResult    *result,
                              guint           *out_count,
                              guint64         *out_size,
                              GError         **error)
{
  TransactionData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  if (out_count != NULL)
    *out_count = data->count;
  if (out_size != NULL)
    *out_size = data->size;
  return TRUE;
}

void
tern_pop3_client_uidl_async (TernPop3Client      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_UIDL, "UIDL", cancellable, callback, user_data,
                     tern_pop3_client_uidl_async);
}

/* Returns: (transfer full) (element-type TernPop3Entry): number and uid of
 * every message, in the server's order; uids are checked to be 1 to 70
 * printable ASCII characters. */
GPtrArray *
tern_pop3_client_uidl_finish (TernPop3Client  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tern_pop3_client_list_async (TernPop3Client      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_LIST, "LIST", cancellable, callback, user_data,
                     tern_pop3_client_list_async);
}

/* Returns: (transfer full) (element-type TernPop3Entry): number and size
 * of every message. */
GPtrArray *
tern_pop3_client_list_finish (TernPop3Client  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tern_pop3_client_retr_async (TernPop3Client      *self,
                             guint                number,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autofree char *line = g_strdup_printf ("RETR %u", number);

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_MESSAGE, line, cancellable, callback, user_data,
                     tern_pop3_client_retr_async);
}

/* Returns: (transfer full): the message as the server holds it, with CRLF
 * line ends and dot-unstuffed. */
GBytes *
tern_pop3_client_retr_finish (TernPop3Client  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_pop3_client_retr_to_stream_async:
 * @stream: where the message goes, a chunk at a time
 *
 * Retrieves a message into @stream, as tern_pop3_client_retr_async() would
 * return it (CRLF line ends, dot-unstuffed), holding no more than a chunk
 * of it in memory.  The stream is written, not closed.
 */
void
tern_pop3_client_retr_to_stream_async (TernPop3Client      *self,
                                       guint                number,
                                       GOutputStream       *stream,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autofree char *line = g_strdup_printf ("RETR %u", number);

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  g_return_if_fail (G_IS_OUTPUT_STREAM (stream));

  /* Only for a command that will run: a refused one must not leave the
   * sink for the next. */
  if (!self->busy && self->state == STATE_TRANSACTION)
    g_set_object (&self->next_sink, stream);
  transaction_start (self, KIND_MESSAGE, line, cancellable, callback, user_data,
                     tern_pop3_client_retr_to_stream_async);
}

gboolean
tern_pop3_client_retr_to_stream_finish (TernPop3Client  *self,
                                        GAsyncResult    *result,
                                        GError         **error)
{
  g_autoptr(GBytes) rest = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  rest = g_task_propagate_pointer (G_TASK (result), error);
  return rest != NULL;
}

void
tern_pop3_client_top_async (TernPop3Client      *self,
                            guint                number,
                            guint                lines,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autofree char *line = g_strdup_printf ("TOP %u %u", number, lines);

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_MESSAGE, line, cancellable, callback, user_data,
                     tern_pop3_client_top_async);
}

/* Returns: (transfer full): the header and the first lines of the body. */
GBytes *
tern_pop3_client_top_finish (TernPop3Client  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tern_pop3_client_dele_async (TernPop3Client      *self,
                             guint                number,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autofree char *line = g_strdup_printf ("DELE %u", number);

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_SIMPLE, line, cancellable, callback, user_data,
                     tern_pop3_client_dele_async);
}

void
tern_pop3_client_rset_async (TernPop3Client      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_SIMPLE, "RSET", cancellable, callback, user_data,
                     tern_pop3_client_rset_async);
}

void
tern_pop3_client_noop_async (TernPop3Client      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  transaction_start (self, KIND_SIMPLE, "NOOP", cancellable, callback, user_data,
                     tern_pop3_client_noop_async);
}

static void
quit_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernPop3Client *self = g_task_get_source_object (task);
  GError *error = NULL;

  /* Whatever the answer, the session is over. */
  self->state = STATE_CLOSED;
  tern_connection_close (self->connection);
  if (!tern_pop3_client_simple_finish (self, result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * tern_pop3_client_quit_async:
 *
 * Ends the session.  Only a successful QUIT in the transaction state makes
 * the server delete what DELE marked.
 */
void
tern_pop3_client_quit_async (TernPop3Client      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_pop3_client_quit_async);
  transaction_start (self, KIND_SIMPLE, "QUIT", cancellable, quit_cb, task,
                     tern_pop3_client_quit_async);
}

/* Finishes DELE, RSET, NOOP and QUIT. */
gboolean
tern_pop3_client_simple_finish (TernPop3Client  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Several RETR in flight.  The writer sends the next command while the
 * reader takes in the replies in order; the window bounds how far the
 * writer runs ahead. */

typedef struct
{
  guint *numbers;
  guint n_numbers;
  guint next_send;
  guint next_receive;
  guint window;
  gboolean writing;
  gboolean reading;
  gboolean finished;
  GPtrArray *messages;
} ManyData;

static void
many_data_free (ManyData *data)
{
  g_free (data->numbers);
  g_ptr_array_unref (data->messages);
  g_free (data);
}

static void many_pump (GTask *task);

static void
many_fail (GTask  *task,
           GError *error)
{
  ManyData *data = g_task_get_task_data (task);

  data->finished = TRUE;
  /* Replies to commands already sent are still on their way; the session
   * cannot go on without reading them, so it ends here. */
  if (g_error_matches (error, TERN_POP3_ERROR, TERN_POP3_ERROR_COMMAND_FAILED))
    error->code = TERN_POP3_ERROR_BAD_RESPONSE;
  op_fail (task, error);
}

static void
many_written_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ManyData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean ok = tern_connection_write_finish (TERN_CONNECTION (source), result, &error);

  data->writing = FALSE;
  if (data->finished)
    {
      g_clear_error (&error);
      return;
    }
  if (!ok)
    {
      many_fail (task, error);
      return;
    }
  many_pump (task);
}

static void
many_reply_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ManyData *data = g_task_get_task_data (task);
  g_autofree char *status = NULL;
  GBytes *body = NULL;
  GError *error = NULL;

  status = read_reply_finish (result, &body, &error);
  data->reading = FALSE;
  if (data->finished)
    {
      g_clear_error (&error);
      g_clear_pointer (&body, g_bytes_unref);
      return;
    }
  if (status == NULL)
    {
      g_prefix_error (&error, "RETR %u: ", data->numbers[data->next_receive]);
      many_fail (task, error);
      return;
    }
  g_ptr_array_add (data->messages, body);
  data->next_receive++;
  if (data->next_receive == data->n_numbers)
    {
      data->finished = TRUE;
      op_done (task);
      g_task_return_pointer (task, g_ptr_array_ref (data->messages),
                             (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  many_pump (task);
}

static void
many_pump (GTask *task)
{
  TernPop3Client *self = g_task_get_source_object (task);
  ManyData *data = g_task_get_task_data (task);

  if (!data->writing && data->next_send < data->n_numbers
      && data->next_send - data->next_receive < data->window)
    {
      g_autofree char *line = g_strdup_printf ("RETR %u", data->numbers[data->next_send]);

      data->next_send++;
      data->writing = TRUE;
      write_line_async (self, line, FALSE, g_task_get_cancellable (task), many_written_cb,
                        g_object_ref (task));
    }
  if (!data->reading && data->next_receive < data->next_send)
    {
      data->reading = TRUE;
      read_reply_async (self, TRUE, g_task_get_cancellable (task), many_reply_cb,
                        g_object_ref (task));
    }
}

/**
 * tern_pop3_client_retr_many_async:
 * @numbers: (array length=n_numbers): message numbers
 *
 * Retrieves several messages: with PIPELINING up to
 * %TERN_POP3_PIPELINE_WINDOW commands are in flight, without it one at a
 * time.  An "-ERR" for any of them fails the whole call and ends the
 * session.
 */
void
tern_pop3_client_retr_many_async (TernPop3Client      *self,
                                  const guint         *numbers,
                                  guint                n_numbers,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ManyData *data;

  g_return_if_fail (TERN_IS_POP3_CLIENT (self));
  g_return_if_fail (numbers != NULL || n_numbers == 0);

  task = op_new (self, STATE_TRANSACTION, cancellable, callback, user_data,
                 tern_pop3_client_retr_many_async);
  if (task == NULL)
    return;
  data = g_new0 (ManyData, 1);
  data->numbers = g_memdup2 (numbers, sizeof (guint) * n_numbers);
  data->n_numbers = n_numbers;
  data->window = g_hash_table_contains (self->capabilities, "PIPELINING")
                 ? TERN_POP3_PIPELINE_WINDOW : 1;
  data->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_task_set_task_data (task, data, (GDestroyNotify) many_data_free);
  if (n_numbers == 0)
    {
      op_done (task);
      g_task_return_pointer (task, g_ptr_array_ref (data->messages),
                             (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  many_pump (task);
}

/* Returns: (transfer full) (element-type GBytes): the messages, in the
 * order of the numbers asked for. */
GPtrArray *
tern_pop3_client_retr_many_finish (TernPop3Client  *self,
                                   GAsyncResult    *result,
                                   GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
