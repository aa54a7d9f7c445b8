/* SPDX-License-Identifier: GPL-3.0-or-later */

/* SMTP submission over a TernConnection.  Every operation is a GTask whose
 * steps are callbacks; one operation runs at a time, and a reply is always
 * read whole (all its "250-" lines up to the "250 " one) before it is
 * looked at. */

#include "config.h"

#include <string.h>

#include "tern-sasl.h"
#include "tern-smtp-client.h"

/* Slices of the message body handed to the connection at once. */
#define DATA_CHUNK (256 * 1024)

G_DEFINE_QUARK (tern-smtp-error-quark, tern_smtp_error)

/* One reply: its code, the enhanced status code when the server gave one
 * ("5.7.1"), and the text of each line without either. */
typedef struct
{
  guint code;
  char *enhanced;
  GPtrArray *lines;
} Reply;

static void
reply_free (Reply *reply)
{
  g_free (reply->enhanced);
  g_ptr_array_unref (reply->lines);
  g_free (reply);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

struct _TernSmtpSendResult
{
  GPtrArray *accepted;
  GPtrArray *refused;
  GHashTable *errors;
  gboolean dsn_unavailable;
};

struct _TernSmtpClient
{
  GObject parent_instance;

  TernConnection *connection;
  char *helo_name;
  gboolean busy;
  gboolean connected;
  gboolean broken;
  gboolean authenticated;
  TernSmtpExtensions extensions;
  guint64 max_size;
  GStrv auth_mechanisms;
};

G_DEFINE_FINAL_TYPE (TernSmtpClient, tern_smtp_client, G_TYPE_OBJECT)

/* The send result */

static TernSmtpSendResult *
send_result_new (void)
{
  TernSmtpSendResult *self = g_new0 (TernSmtpSendResult, 1);

  self->accepted = g_ptr_array_new_with_free_func (g_free);
  self->refused = g_ptr_array_new_with_free_func (g_free);
  self->errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_error_free);
  return self;
}

/**
 * tern_smtp_send_result_get_accepted:
 *
 * Returns: (transfer none): the recipients the server accepted, in the
 *   order they were given, %NULL-terminated
 */
const char * const *
tern_smtp_send_result_get_accepted (TernSmtpSendResult *self)
{
  return (const char * const *) self->accepted->pdata;
}

/**
 * tern_smtp_send_result_get_refused:
 *
 * Returns: (transfer none): the recipients the server refused, in the order
 *   they were given, %NULL-terminated; each has an error
 */
const char * const *
tern_smtp_send_result_get_refused (TernSmtpSendResult *self)
{
  return (const char * const *) self->refused->pdata;
}

/**
 * tern_smtp_send_result_get_error:
 *
 * Returns: (transfer none) (nullable): why the server refused @address, in
 *   %TERN_SMTP_ERROR (TEMPORARY or PERMANENT), or %NULL when it accepted it
 */
const GError *
tern_smtp_send_result_get_error (TernSmtpSendResult *self,
                                 const char         *address)
{
  return g_hash_table_lookup (self->errors, address);
}

/**
 * tern_smtp_send_result_get_dsn_unavailable:
 *
 * Returns: %TRUE when delivery status notifications were asked for and the
 *   server does not offer DSN, so the message went without asking for them
 */
gboolean
tern_smtp_send_result_get_dsn_unavailable (TernSmtpSendResult *self)
{
  return self->dsn_unavailable;
}

/**
 * tern_smtp_xtext_encode:
 *
 * Encodes @text as xtext (RFC 3461 section 4): every byte outside 33–126,
 * and "+" and "=", becomes "+" and two upper-case hex digits.
 *
 * Returns: (transfer full): the encoded text
 */
char *
tern_smtp_xtext_encode (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c < 33 || c > 126 || c == '+' || c == '=')
        g_string_append_printf (out, "+%02X", c);
      else
        g_string_append_c (out, (char) c);
    }
  return g_string_free (out, FALSE);
}

/* An address in the utf-8-addr-unitext form of RFC 6533: UTF-8 as it is,
 * and "+", "=" and "\" as \x{HEX}.  check_address() has already refused
 * controls and spaces. */
static char *
utf8_addr_unitext (const char *address)
{
  GString *out = g_string_new (NULL);

  for (const char *p = address; *p != '\0'; p++)
    {
      if (*p == '+' || *p == '=' || *p == '\\')
        g_string_append_printf (out, "\\x{%02X}", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

void
tern_smtp_send_result_free (TernSmtpSendResult *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->accepted);
  g_ptr_array_unref (self->refused);
  g_hash_table_unref (self->errors);
  g_free (self);
}

/* The object */

static void
tern_smtp_client_finalize (GObject *object)
{
  TernSmtpClient *self = TERN_SMTP_CLIENT (object);

  g_clear_object (&self->connection);
  g_clear_pointer (&self->helo_name, g_free);
  g_clear_pointer (&self->auth_mechanisms, g_strfreev);
  G_OBJECT_CLASS (tern_smtp_client_parent_class)->finalize (object);
}

static void
tern_smtp_client_class_init (TernSmtpClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_smtp_client_finalize;
}

static void
tern_smtp_client_init (TernSmtpClient *self)
{
  self->connection = tern_connection_new ();
}

TernSmtpClient *
tern_smtp_client_new (void)
{
  return g_object_new (TERN_TYPE_SMTP_CLIENT, NULL);
}

/**
 * tern_smtp_client_get_connection:
 *
 * Returns: (transfer none): the connection, to set its TLS database, pin,
 *   timeouts and local address before connecting
 */
TernConnection *
tern_smtp_client_get_connection (TernSmtpClient *self)
{
  g_return_val_if_fail (TERN_IS_SMTP_CLIENT (self), NULL);
  return self->connection;
}

/* The name given with EHLO; without one, Tern gives the address literal of
 * its own end of the connection, which tells the server nothing it does not
 * know already. */
void
tern_smtp_client_set_helo_name (TernSmtpClient *self,
                                const char     *name)
{
  g_return_if_fail (TERN_IS_SMTP_CLIENT (self));
  g_free (self->helo_name);
  self->helo_name = g_strdup (name);
}

TernSmtpExtensions
tern_smtp_client_get_extensions (TernSmtpClient *self)
{
  return self->extensions;
}

/* 0 when the server announced no limit. */
guint64
tern_smtp_client_get_max_size (TernSmtpClient *self)
{
  return self->max_size;
}

const char * const *
tern_smtp_client_get_auth_mechanisms (TernSmtpClient *self)
{
  return (const char * const *) self->auth_mechanisms;
}

gboolean
tern_smtp_client_is_authenticated (TernSmtpClient *self)
{
  return self->authenticated;
}

static void
forget_capabilities (TernSmtpClient *self)
{
  self->extensions = TERN_SMTP_EXTENSION_NONE;
  self->max_size = 0;
  g_clear_pointer (&self->auth_mechanisms, g_strfreev);
}

/* Operations: each is a GTask on the client; these end it. */

static gboolean
begin_operation (TernSmtpClient *self,
                 GTask          *task,
                 gboolean        needs_connection)
{
  if (self->busy)
    {
      g_task_return_new_error (task, TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_STATE,
                               "Another SMTP operation is running");
      return FALSE;
    }
  if (self->broken || needs_connection != self->connected)
    {
      g_task_return_new_error (task, TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_STATE,
                               self->broken ? "The SMTP connection is no longer usable"
                               : needs_connection ? "Not connected to the SMTP server"
                               : "Already connected to the SMTP server");
      return FALSE;
    }
  self->busy = TRUE;
  return TRUE;
}

/* Ends the operation with @error (taken).  Errors of the connection, and
 * those the caller marks @fatal, leave the client unusable. */
static void
fail (GTask    *task,
      GError   *error,
      gboolean  fatal)
{
  TernSmtpClient *self = g_task_get_source_object (task);

  self->busy = FALSE;
  if (fatal || error->domain != TERN_SMTP_ERROR)
    {
      self->broken = TRUE;
      tern_connection_close (self->connection);
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
succeed (GTask *task)
{
  TernSmtpClient *self = g_task_get_source_object (task);

  self->busy = FALSE;
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* Replies */

static gboolean
is_enhanced_code (const char *text,
                  guint       code,
                  gsize      *out_length)
{
  const char *p = text;
  guint digits;

  /* class "." subject "." detail, the class matching the reply's. */
  if ((*p != '2' && *p != '4' && *p != '5') || (guint) (*p - '0') != code / 100)
    return FALSE;
  p++;
  for (guint part = 0; part < 2; part++)
    {
      if (*p != '.')
        return FALSE;
      p++;
      for (digits = 0; g_ascii_isdigit (*p) && digits < 4; digits++)
        p++;
      if (digits == 0 || (part == 0 && digits > 3))
        return FALSE;
    }
  if (*p != '\0' && *p != ' ')
    return FALSE;
  *out_length = p - text;
  return TRUE;
}

typedef struct
{
  Reply *reply;
  GCancellable *cancellable;
} ReadReplyData;

static void
read_reply_data_free (ReadReplyData *data)
{
  g_clear_pointer (&data->reply, reply_free);
  g_clear_object (&data->cancellable);
  g_free (data);
}

static void read_reply_line_cb (GObject      *source,
                                GAsyncResult *result,
                                gpointer      user_data);

static void
read_reply_async (TernSmtpClient      *self,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  ReadReplyData *data = g_new0 (ReadReplyData, 1);

  data->reply = g_new0 (Reply, 1);
  data->reply->lines = g_ptr_array_new_with_free_func (g_free);
  data->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) read_reply_data_free);
  tern_connection_read_line_async (self->connection, TERN_SMTP_MAX_REPLY_LINE, cancellable,
                                   read_reply_line_cb, task);
}

static void
read_reply_line_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  ReadReplyData *data = g_task_get_task_data (task);
  Reply *reply = data->reply;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *text;
  guint code;
  gsize length = 0;

  line = tern_connection_read_line_finish (TERN_CONNECTION (source), result, NULL, &error);
  if (line == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2])
      || (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
    {
      g_task_return_new_error (task, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PROTOCOL,
                               "The SMTP server sent a line that is not a reply: “%.80s”",
                               line);
      return;
    }
  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599 || (reply->lines->len > 0 && code != reply->code))
    {
      g_task_return_new_error (task, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PROTOCOL,
                               "The SMTP server sent a malformed reply: “%.80s”", line);
      return;
    }
  reply->code = code;

  text = line[3] != '\0' ? line + 4 : line + 3;
  if (is_enhanced_code (text, code, &length))
    {
      if (reply->enhanced == NULL)
        reply->enhanced = g_strndup (text, length);
      text += length;
      while (*text == ' ')
        text++;
    }
  g_ptr_array_add (reply->lines, g_strdup (text));

  if (line[3] == '-')
    {
      if (reply->lines->len >= TERN_SMTP_MAX_REPLY_LINES)
        {
          g_task_return_new_error (task, TERN_SMTP_ERROR, TERN_SMTP_ERROR_PROTOCOL,
                                   "The SMTP server sent a reply of more than %u lines",
                                   TERN_SMTP_MAX_REPLY_LINES);
          return;
        }
      tern_connection_read_line_async (self->connection, TERN_SMTP_MAX_REPLY_LINE,
                                       data->cancellable, read_reply_line_cb,
                                       g_steal_pointer (&task));
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&data->reply), (GDestroyNotify) reply_free);
}

static Reply *
read_reply_finish (GAsyncResult  *result,
                   GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* "554 5.7.1 Relay access denied / second line" */
static char *
reply_to_string (Reply *reply)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "%u", reply->code);
  if (reply->enhanced != NULL)
    g_string_append_printf (text, " %s", reply->enhanced);
  for (guint i = 0; i < reply->lines->len; i++)
    {
      const char *line = g_ptr_array_index (reply->lines, i);

      g_string_append (text, i == 0 ? " " : " / ");
      g_string_append (text, line);
    }
  return g_string_free (text, FALSE);
}

/* The error for a reply that is not the one expected: 4xx is temporary,
 * 5xx permanent, anything else a protocol error. */
static GError *
reply_error (Reply      *reply,
             const char *what)
{
  g_autofree char *text = reply_to_string (reply);
  TernSmtpError code;

  if (reply->code >= 400 && reply->code < 500)
    code = TERN_SMTP_ERROR_TEMPORARY;
  else if (reply->code >= 500)
    code = TERN_SMTP_ERROR_PERMANENT;
  else
    code = TERN_SMTP_ERROR_PROTOCOL;
  return g_error_new (TERN_SMTP_ERROR, code, "%s: %s", what, text);
}

/* Writing */

static void
write_bytes (TernSmtpClient      *self,
             GBytes              *bytes,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  tern_connection_write_async (self->connection, bytes, cancellable, callback, user_data);
}

static void
write_line (TernSmtpClient      *self,
            const char          *line,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  char *text = g_strconcat (line, "\r\n", NULL);
  g_autoptr(GBytes) bytes = g_bytes_new_take (text, strlen (text));

  write_bytes (self, bytes, cancellable, callback, user_data);
}

static void
wipe_and_free (gpointer data)
{
  char *text = data;

  memset (text, 0, strlen (text));
  g_free (text);
}

/* A line that carries a secret: its memory is wiped once written. */
static void
write_secret_line (TernSmtpClient      *self,
                   char                *line,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  char *text = g_strconcat (line, "\r\n", NULL);
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (text, strlen (text), wipe_and_free,
                                                        text);

  wipe_and_free (line);
  write_bytes (self, bytes, cancellable, callback, user_data);
}

/* Every write of the engine is followed by a read of the reply, which
 * reports the error of a failed write as well; the write's own result only
 * needs to be checked so that the reply read is not started in vain. */
static void
write_then_read_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data);

typedef struct
{
  GTask *task;
  GAsyncReadyCallback reply_callback;
} WriteThenRead;

static void
command_async (TernSmtpClient      *self,
               const char          *line,
               gboolean             secret,
               GTask               *task,
               GAsyncReadyCallback  reply_callback)
{
  WriteThenRead *state = g_new0 (WriteThenRead, 1);

  state->task = task;
  state->reply_callback = reply_callback;
  if (secret)
    write_secret_line (self, g_strdup (line), g_task_get_cancellable (task),
                       write_then_read_cb, state);
  else
    write_line (self, line, g_task_get_cancellable (task), write_then_read_cb, state);
}

static void
write_then_read_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  WriteThenRead *state = user_data;
  GTask *task = state->task;
  TernSmtpClient *self = g_task_get_source_object (task);
  GAsyncReadyCallback reply_callback = state->reply_callback;
  GError *error = NULL;

  g_free (state);
  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }
  read_reply_async (self, g_task_get_cancellable (task), reply_callback, task);
}

/* Connecting */

typedef struct
{
  TernConnectionSecurity security;
  gboolean said_helo;
} ConnectData;

static void greeting_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void hello_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void starttls_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void starttls_done_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_connection_connect_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }
  read_reply_async (self, g_task_get_cancellable (task), greeting_cb, task);
}

static char *
default_helo_name (TernSmtpClient *self)
{
  GSocket *socket = tern_connection_get_socket (self->connection);
  g_autoptr(GSocketAddress) local = NULL;
  g_autofree char *text = NULL;
  GInetAddress *address;

  if (socket != NULL)
    local = g_socket_get_local_address (socket, NULL);
  if (local == NULL || !G_IS_INET_SOCKET_ADDRESS (local))
    return g_strdup ("[127.0.0.1]");
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
  text = g_inet_address_to_string (address);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[IPv6:%s]", text);
  return g_strdup_printf ("[%s]", text);
}

static void
send_hello (GTask    *task,
            gboolean  helo)
{
  TernSmtpClient *self = g_task_get_source_object (task);
  g_autofree char *name = self->helo_name != NULL ? g_strdup (self->helo_name)
                                                  : default_helo_name (self);
  g_autofree char *line = g_strdup_printf ("%s %s", helo ? "HELO" : "EHLO", name);

  command_async (self, line, FALSE, task, hello_cb);
}

static void
greeting_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;

  reply = read_reply_finish (result, &error);
  if (reply == NULL)
    {
      fail (task, error, TRUE);
      return;
    }
  if (reply->code != 220)
    {
      fail (task, reply_error (reply, "The SMTP server refused the connection"), TRUE);
      return;
    }
  send_hello (task, FALSE);
}

static void
parse_extensions (TernSmtpClient *self,
                  Reply          *reply)
{
  forget_capabilities (self);

  /* The first line is the server's name and greeting. */
  for (guint i = 1; i < reply->lines->len; i++)
    {
      g_auto(GStrv) words = g_strsplit (g_ptr_array_index (reply->lines, i), " ", -1);
      const char *keyword = words[0];

      if (keyword == NULL)
        continue;
      if (g_ascii_strcasecmp (keyword, "PIPELINING") == 0)
        self->extensions |= TERN_SMTP_EXTENSION_PIPELINING;
      else if (g_ascii_strcasecmp (keyword, "8BITMIME") == 0)
        self->extensions |= TERN_SMTP_EXTENSION_8BITMIME;
      else if (g_ascii_strcasecmp (keyword, "SMTPUTF8") == 0)
        self->extensions |= TERN_SMTP_EXTENSION_SMTPUTF8;
      else if (g_ascii_strcasecmp (keyword, "DSN") == 0)
        self->extensions |= TERN_SMTP_EXTENSION_DSN;
      else if (g_ascii_strcasecmp (keyword, "ENHANCEDSTATUSCODES") == 0)
        self->extensions |= TERN_SMTP_EXTENSION_ENHANCEDSTATUSCODES;
      else if (g_ascii_strcasecmp (keyword, "STARTTLS") == 0)
        self->extensions |= TERN_SMTP_EXTENSION_STARTTLS;
      else if (g_ascii_strcasecmp (keyword, "SIZE") == 0)
        {
          guint64 size = 0;

          self->extensions |= TERN_SMTP_EXTENSION_SIZE;
          /* "SIZE" alone or "SIZE 0" announces no fixed limit. */
          if (words[1] != NULL
              && g_ascii_string_to_unsigned (words[1], 10, 0, G_MAXUINT64, &size, NULL))
            self->max_size = size;
        }
      else if (g_ascii_strcasecmp (keyword, "AUTH") == 0)
        {
          GPtrArray *mechanisms = g_ptr_array_new ();

          self->extensions |= TERN_SMTP_EXTENSION_AUTH;
          for (guint w = 1; words[w] != NULL; w++)
            if (words[w][0] != '\0')
              g_ptr_array_add (mechanisms, g_ascii_strup (words[w], -1));
          g_ptr_array_add (mechanisms, NULL);
          g_strfreev (self->auth_mechanisms);
          self->auth_mechanisms = (GStrv) g_ptr_array_free (mechanisms, FALSE);
        }
    }
}

static void
hello_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  ConnectData *data = g_task_get_task_data (task);
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;

  reply = read_reply_finish (result, &error);
  if (reply == NULL)
    {
      fail (task, error, TRUE);
      return;
    }
  if (reply->code >= 500 && !data->said_helo)
    {
      /* A server that refuses EHLO knows no extensions: HELO then. */
      data->said_helo = TRUE;
      send_hello (task, TRUE);
      return;
    }
  if (reply->code != 250)
    {
      fail (task, reply_error (reply, data->said_helo ? "The SMTP server refused HELO"
                                                      : "The SMTP server refused EHLO"),
            TRUE);
      return;
    }
  if (data->said_helo)
    forget_capabilities (self);
  else
    parse_extensions (self, reply);

  if (data->security == TERN_CONNECTION_SECURITY_STARTTLS
      && !tern_connection_is_encrypted (self->connection))
    {
      /* Never fall back to plain text: no STARTTLS, no connection. */
      if (!(self->extensions & TERN_SMTP_EXTENSION_STARTTLS))
        {
          fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_NO_STARTTLS,
                                   "The SMTP server does not offer STARTTLS, which this "
                                   "account requires"), TRUE);
          return;
        }
      command_async (self, "STARTTLS", FALSE, task, starttls_reply_cb);
      return;
    }

  self->connected = TRUE;
  succeed (task);
}

static void
starttls_reply_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;

  reply = read_reply_finish (result, &error);
  if (reply == NULL)
    {
      fail (task, error, TRUE);
      return;
    }
  if (reply->code != 220)
    {
      g_autofree char *text = reply_to_string (reply);

      fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_NO_STARTTLS,
                               "The SMTP server refused STARTTLS: %s", text), TRUE);
      return;
    }
  tern_connection_starttls_async (self->connection, g_task_get_cancellable (task),
                                  starttls_done_cb, task);
}

static void
starttls_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  ConnectData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_connection_starttls_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }
  /* What the server said in plain text may have been written by anyone on
   * the way: ask again. */
  forget_capabilities (self);
  data->said_helo = FALSE;
  send_hello (task, FALSE);
}

/**
 * tern_smtp_client_connect_async:
 *
 * Connects to @host and @port with @security, reads the greeting and says
 * EHLO, upgrading the connection first for
 * %TERN_CONNECTION_SECURITY_STARTTLS.  Once it finished, the extensions of
 * the server are known.
 */
void
tern_smtp_client_connect_async (TernSmtpClient         *self,
                                const char             *host,
                                guint16                 port,
                                TernConnectionSecurity  security,
                                GCancellable           *cancellable,
                                GAsyncReadyCallback     callback,
                                gpointer                user_data)
{
  GTask *task;
  ConnectData *data;

  g_return_if_fail (TERN_IS_SMTP_CLIENT (self));
  g_return_if_fail (host != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_smtp_client_connect_async);
  if (!begin_operation (self, task, FALSE))
    {
      g_object_unref (task);
      return;
    }
  data = g_new0 (ConnectData, 1);
  data->security = security;
  g_task_set_task_data (task, data, g_free);
  tern_connection_connect_async (self->connection, host, port, security, cancellable,
                                 connected_cb, task);
}

gboolean
tern_smtp_client_connect_finish (TernSmtpClient  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Authenticating */

static void auth_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static gboolean
is_base64 (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
      return FALSE;
  return TRUE;
}

static void
auth_write_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }
  read_reply_async (self, g_task_get_cancellable (task), auth_reply_cb, task);
}

/* After the exchange was cancelled with "*": read the server's answer to
 * it, then end with the error that made Tern cancel. */
static void
auth_cancelled_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = g_object_steal_data (G_OBJECT (task), "tern-smtp-auth-error");
  g_autoptr(Reply) reply = NULL;

  reply = read_reply_finish (result, NULL);
  fail (task, error, reply == NULL);
}

static void
auth_reply_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  TernSasl *sasl = g_task_get_task_data (task);
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;

  reply = read_reply_finish (result, &error);
  if (reply == NULL)
    {
      fail (task, error, TRUE);
      return;
    }

  if (reply->code == 334)
    {
      const char *text = g_ptr_array_index (reply->lines, 0);
      g_autoptr(GBytes) challenge = NULL;
      g_autoptr(GBytes) response = NULL;
      gsize length = 0;
      guchar *decoded;

      if (reply->lines->len != 1 || !is_base64 (text))
        {
          fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_PROTOCOL,
                                   "The SMTP server sent a malformed AUTH challenge"), TRUE);
          return;
        }
      decoded = g_base64_decode (text, &length);
      challenge = g_bytes_new_take (decoded, length);
      response = tern_sasl_step (sasl, challenge, &error);
      if (response == NULL)
        {
          g_object_set_data_full (G_OBJECT (task), "tern-smtp-auth-error", error,
                                  (GDestroyNotify) g_error_free);
          command_async (self, "*", FALSE, task, auth_cancelled_cb);
          return;
        }
      {
        gsize size = 0;
        gconstpointer bytes = g_bytes_get_data (response, &size);

        write_secret_line (self, g_base64_encode (bytes, size), g_task_get_cancellable (task),
                           auth_write_cb, task);
      }
      return;
    }

  if (reply->code == 235)
    {
      if (!tern_sasl_verify_final (sasl, NULL, &error))
        {
          fail (task, error, TRUE);
          return;
        }
      self->authenticated = TRUE;
      succeed (task);
      return;
    }

  if (reply->code == 535)
    {
      g_autofree char *text = reply_to_string (reply);

      fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_AUTH_FAILED,
                               "The SMTP server refused the login: %s", text), FALSE);
      return;
    }
  fail (task, reply_error (reply, "The SMTP server refused AUTH"), FALSE);
}

/**
 * tern_smtp_client_authenticate_async:
 * @secret: the password, or the OAuth token when @secret_is_oauth_token
 *
 * Logs in with the best mechanism both sides know.  On a connection that is
 * not encrypted it refuses with %TERN_SMTP_ERROR_NOT_ENCRYPTED, unless the
 * user chose %TERN_CONNECTION_SECURITY_NONE.  A refused login is
 * %TERN_SMTP_ERROR_AUTH_FAILED and is not tried again.
 */
void
tern_smtp_client_authenticate_async (TernSmtpClient      *self,
                                     const char          *username,
                                     const char          *secret,
                                     gboolean             secret_is_oauth_token,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GTask *task;
  const char *mechanism;
  g_autoptr(TernSasl) sasl = NULL;
  g_autoptr(GBytes) initial = NULL;
  g_autofree char *line = NULL;
  GError *error = NULL;

  g_return_if_fail (TERN_IS_SMTP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_smtp_client_authenticate_async);
  if (!begin_operation (self, task, TRUE))
    {
      g_object_unref (task);
      return;
    }

  if (!tern_connection_is_encrypted (self->connection)
      && tern_connection_get_security (self->connection) != TERN_CONNECTION_SECURITY_NONE)
    {
      fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_NOT_ENCRYPTED,
                               "Refusing to log in to the SMTP server without encryption"),
            FALSE);
      return;
    }
  if (self->auth_mechanisms == NULL)
    {
      fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_AUTH_UNSUPPORTED,
                               "The SMTP server does not offer AUTH"), FALSE);
      return;
    }
  mechanism = tern_sasl_choose_mechanism ((const char * const *) self->auth_mechanisms,
                                          secret_is_oauth_token);
  if (mechanism == NULL)
    {
      g_autofree char *offered = g_strjoinv (" ", self->auth_mechanisms);

      fail (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_AUTH_UNSUPPORTED,
                               "The SMTP server offers no login mechanism Tern knows (%s)",
                               offered), FALSE);
      return;
    }

  sasl = tern_sasl_new (mechanism, username, secret, &error);
  if (sasl == NULL
      || !tern_sasl_set_server (sasl, tern_connection_get_host (self->connection),
                                tern_connection_get_port (self->connection), &error))
    {
      fail (task, error, FALSE);
      return;
    }

  if (tern_sasl_get_initial_response (sasl, &initial))
    {
      gsize size = 0;
      gconstpointer bytes = g_bytes_get_data (initial, &size);
      g_autofree char *encoded = NULL;

      /* An empty initial response is sent as "=" (RFC 4954). */
      encoded = size > 0 ? g_base64_encode (bytes, size) : g_strdup ("=");
      line = g_strdup_printf ("AUTH %s %s", mechanism, encoded);
      memset (encoded, 0, strlen (encoded));
    }
  else
    line = g_strdup_printf ("AUTH %s", mechanism);

  g_task_set_task_data (task, g_steal_pointer (&sasl), (GDestroyNotify) tern_sasl_free);
  write_secret_line (self, g_steal_pointer (&line), cancellable, auth_write_cb, task);
}

gboolean
tern_smtp_client_authenticate_finish (TernSmtpClient  *self,
                                      GAsyncResult    *result,
                                      GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Sending */

typedef struct
{
  GPtrArray *commands;
  GPtrArray *recipients;
  GBytes *data;
  gsize data_offset;
  guint next_reply;
  gboolean pipelining;
  gboolean mail_accepted;
  GError *mail_error;
  GError *final_error;
  TernSmtpSendResult *result;
} SendData;

static void
send_data_free (SendData *data)
{
  g_ptr_array_unref (data->commands);
  g_ptr_array_unref (data->recipients);
  g_clear_pointer (&data->data, g_bytes_unref);
  g_clear_error (&data->mail_error);
  g_clear_error (&data->final_error);
  g_clear_pointer (&data->result, tern_smtp_send_result_free);
  g_free (data);
}

static void send_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void send_data_chunk (GTask *task);

/* The message as it goes after DATA: CRLF line ends, a "." before each line
 * that starts with one, and the final ".".  @out_size is the size of the
 * message itself, with CRLF line ends and without the dots added. */
static GBytes *
build_data (GBytes   *message,
            guint64  *out_size,
            gboolean *out_8bit)
{
  gsize length = 0;
  const char *text = g_bytes_get_data (message, &length);
  GString *wire = g_string_sized_new (length + length / 32 + 8);
  guint64 size = 0;
  gboolean eight_bit = FALSE;
  gsize start = 0;

  while (start < length)
    {
      const char *newline = memchr (text + start, '\n', length - start);
      gsize end = newline != NULL ? (gsize) (newline - text) : length;
      gsize line_end = end;

      if (line_end > start && text[line_end - 1] == '\r')
        line_end--;
      if (text[start] == '.')
        g_string_append_c (wire, '.');
      for (gsize i = start; i < line_end && !eight_bit; i++)
        if ((guchar) text[i] >= 0x80)
          eight_bit = TRUE;
      g_string_append_len (wire, text + start, line_end - start);
      g_string_append (wire, "\r\n");
      size += line_end - start + 2;
      start = end + 1;
    }
  g_string_append (wire, ".\r\n");
  *out_size = size;
  *out_8bit = eight_bit;
  return g_string_free_to_bytes (wire);
}

/* An address goes between "<" and ">" in a command, so it must not hold
 * anything that would end it or the command. */
static gboolean
check_address (TernSmtpClient  *self,
               const char      *address,
               gboolean         allow_empty,
               gboolean        *needs_utf8,
               GError         **error)
{
  if ((!allow_empty && address[0] == '\0') || strlen (address) > 512
      || !g_utf8_validate (address, -1, NULL))
    {
      g_set_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_ADDRESS,
                   "“%s” is not an address that can be sent to", address);
      return FALSE;
    }
  for (const char *p = address; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x21 || *p == 0x7f || *p == '<' || *p == '>')
        {
          g_set_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_ADDRESS,
                       "The address “%s” holds a character SMTP cannot carry", address);
          return FALSE;
        }
    }
  if (!g_str_is_ascii (address))
    {
      if (!(self->extensions & TERN_SMTP_EXTENSION_SMTPUTF8))
        {
          g_set_error (error, TERN_SMTP_ERROR, TERN_SMTP_ERROR_SMTPUTF8_UNSUPPORTED,
                       "The address “%s” is not ASCII, and the SMTP server does not "
                       "accept such addresses (no SMTPUTF8)", address);
          return FALSE;
        }
      *needs_utf8 = TRUE;
    }
  return TRUE;
}

static void
send_return_error (GTask  *task,
                   GError *error)
{
  fail (task, error, FALSE);
}

/* Ends a failed transaction: RSET so the session can be used again, then
 * the error.  After an error of the wire there is nothing to reset. */
static void
rset_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);
  g_autoptr(Reply) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = read_reply_finish (result, &error);
  fail (task, g_steal_pointer (&data->final_error), reply == NULL);
}

static void
send_fail_with_rset (GTask  *task,
                     GError *error)
{
  TernSmtpClient *self = g_task_get_source_object (task);
  SendData *data = g_task_get_task_data (task);

  data->final_error = error;
  command_async (self, "RSET", FALSE, task, rset_done_cb);
}

static GError *
recipients_error (SendData *data)
{
  GString *text = g_string_new ("The SMTP server refused every recipient.");
  const char * const *refused = tern_smtp_send_result_get_refused (data->result);
  gboolean temporary = FALSE;
  GError *error;

  for (guint i = 0; refused[i] != NULL; i++)
    {
      const GError *one = tern_smtp_send_result_get_error (data->result, refused[i]);

      /* One refusal a line: each says which address and why. */
      g_string_append_printf (text, "\n%s", one->message);
      if (one->code == TERN_SMTP_ERROR_TEMPORARY)
        temporary = TRUE;
    }
  /* When one of them may work later, so may the message. */
  error = g_error_new_literal (TERN_SMTP_ERROR,
                               temporary ? TERN_SMTP_ERROR_TEMPORARY : TERN_SMTP_ERROR_PERMANENT,
                               text->str);
  g_string_free (text, TRUE);
  return error;
}

static void
send_commands_written_cb (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }
  read_reply_async (self, g_task_get_cancellable (task), send_reply_cb, task);
}

/* Writes the command whose reply comes next, or, with PIPELINING, all of
 * them at once (RFC 2920: MAIL, every RCPT and DATA in one go). */
static void
send_write_commands (GTask *task)
{
  TernSmtpClient *self = g_task_get_source_object (task);
  SendData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;

  if (data->pipelining)
    {
      GString *all = g_string_new (NULL);

      for (guint i = 0; i < data->commands->len; i++)
        g_string_append (all, g_ptr_array_index (data->commands, i));
      bytes = g_string_free_to_bytes (all);
    }
  else
    {
      const char *command = g_ptr_array_index (data->commands, data->next_reply);

      bytes = g_bytes_new (command, strlen (command));
    }
  write_bytes (self, bytes, g_task_get_cancellable (task), send_commands_written_cb, task);
}

static void
send_reply_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  SendData *data = g_task_get_task_data (task);
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;
  guint index = data->next_reply++;
  guint n_recipients = data->recipients->len;

  reply = read_reply_finish (result, &error);
  if (reply == NULL)
    {
      fail (task, error, TRUE);
      return;
    }

  if (index == 0)
    {
      /* MAIL FROM */
      if (reply->code == 250)
        data->mail_accepted = TRUE;
      else
        data->mail_error = reply_error (reply, "The SMTP server refused the sender");
      if (!data->mail_accepted && !data->pipelining)
        {
          send_fail_with_rset (task, g_steal_pointer (&data->mail_error));
          return;
        }
    }
  else if (index <= n_recipients)
    {
      /* RCPT TO */
      const char *address = g_ptr_array_index (data->recipients, index - 1);

      if (reply->code == 250 || reply->code == 251)
        g_ptr_array_insert (data->result->accepted, data->result->accepted->len - 1,
                            g_strdup (address));
      else if (data->mail_accepted)
        {
          g_autofree char *what = g_strdup_printf ("The SMTP server refused %s", address);

          g_ptr_array_insert (data->result->refused, data->result->refused->len - 1,
                              g_strdup (address));
          g_hash_table_replace (data->result->errors, g_strdup (address),
                                reply_error (reply, what));
        }
      if (!data->pipelining && index == n_recipients
          && data->result->accepted->len == 1)
        {
          send_fail_with_rset (task, recipients_error (data));
          return;
        }
    }
  else
    {
      /* DATA */
      gboolean have_recipients = data->result->accepted->len > 1;

      if (reply->code == 354 && data->mail_accepted && have_recipients)
        {
          send_data_chunk (task);
          return;
        }
      if (reply->code == 354)
        {
          /* Pipelined DATA accepted with nobody to send to: an empty
           * message ends it, and the transaction is reset. */
          g_clear_pointer (&data->data, g_bytes_unref);
          data->data = g_bytes_new_static (".\r\n", 3);
          data->data_offset = 0;
        }
      if (data->mail_error != NULL)
        error = g_steal_pointer (&data->mail_error);
      else if (!have_recipients)
        error = recipients_error (data);
      else
        error = reply_error (reply, "The SMTP server refused DATA");
      if (reply->code == 354)
        {
          g_object_set_data_full (G_OBJECT (task), "tern-smtp-abort-error", error,
                                  (GDestroyNotify) g_error_free);
          send_data_chunk (task);
          return;
        }
      send_fail_with_rset (task, error);
      return;
    }

  if (data->pipelining)
    read_reply_async (self, g_task_get_cancellable (task), send_reply_cb, task);
  else
    send_write_commands (task);
}

static void
data_end_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  SendData *data = g_task_get_task_data (task);
  GError *abort_error = g_object_steal_data (G_OBJECT (task), "tern-smtp-abort-error");
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;

  reply = read_reply_finish (result, &error);
  if (reply == NULL)
    {
      g_clear_error (&abort_error);
      fail (task, error, TRUE);
      return;
    }
  if (abort_error != NULL)
    {
      send_fail_with_rset (task, abort_error);
      return;
    }
  if (reply->code != 250)
    {
      send_fail_with_rset (task, reply_error (reply, "The SMTP server refused the message"));
      return;
    }
  TERN_SMTP_CLIENT (g_task_get_source_object (task))->busy = FALSE;
  g_task_return_pointer (task, g_steal_pointer (&data->result),
                         (GDestroyNotify) tern_smtp_send_result_free);
  g_object_unref (task);
}

static void
data_written_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }
  send_data_chunk (task);
}

static void
send_data_chunk (GTask *task)
{
  TernSmtpClient *self = g_task_get_source_object (task);
  SendData *data = g_task_get_task_data (task);
  gsize total = g_bytes_get_size (data->data);
  g_autoptr(GBytes) chunk = NULL;
  gsize size;

  if (data->data_offset >= total)
    {
      read_reply_async (self, g_task_get_cancellable (task), data_end_cb, task);
      return;
    }
  size = MIN (DATA_CHUNK, total - data->data_offset);
  chunk = g_bytes_new_from_bytes (data->data, data->data_offset, size);
  data->data_offset += size;
  write_bytes (self, chunk, g_task_get_cancellable (task), data_written_cb, task);
}

/**
 * tern_smtp_client_send_async:
 * @from: the envelope sender; "" for none
 * @recipients: the envelope recipients, %NULL-terminated: Bcc is the
 *   caller's business
 * @message: the message, with CRLF or LF line ends
 *
 * Sends @message to every recipient the server accepts.  A message larger
 * than the server's SIZE is refused before anything is sent, with
 * %TERN_SMTP_ERROR_MESSAGE_TOO_LARGE.  When the server refuses some
 * recipients, the others still get the message and the result names the
 * refused ones; when it refuses all, or the message, the call fails with
 * %TERN_SMTP_ERROR_TEMPORARY or %TERN_SMTP_ERROR_PERMANENT.
 */
void
tern_smtp_client_send_async (TernSmtpClient      *self,
                             const char          *from,
                             const char * const  *recipients,
                             GBytes              *message,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  tern_smtp_client_send_full_async (self, from, recipients, message, NULL,
                                    cancellable, callback, user_data);
}

/**
 * tern_smtp_client_send_full_async:
 * @dsn: (nullable): the delivery status notifications to ask for, or %NULL
 *   for none
 *
 * Like tern_smtp_client_send_async(), and asks for delivery status
 * notifications (RFC 3461) as @dsn says: RET and ENVID on MAIL FROM,
 * NOTIFY and ORCPT on each RCPT TO.  A server that does not offer DSN gets
 * none of them; the message still goes, and
 * tern_smtp_send_result_get_dsn_unavailable() says so.  The result is read
 * with tern_smtp_client_send_finish().
 */
void
tern_smtp_client_send_full_async (TernSmtpClient      *self,
                                  const char          *from,
                                  const char * const  *recipients,
                                  GBytes              *message,
                                  const TernSmtpDsn   *dsn,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;
  SendData *data;
  GError *error = NULL;
  gboolean needs_utf8 = FALSE;
  gboolean eight_bit = FALSE;
  guint64 size = 0;
  GString *mail;
  gboolean wants_dsn;
  gboolean use_dsn;

  g_return_if_fail (TERN_IS_SMTP_CLIENT (self));
  g_return_if_fail (from != NULL && recipients != NULL && message != NULL);
  g_return_if_fail (dsn == NULL || (dsn->notify & TERN_SMTP_DSN_NOTIFY_NEVER) == 0
                    || dsn->notify == TERN_SMTP_DSN_NOTIFY_NEVER);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_smtp_client_send_full_async);
  if (!begin_operation (self, task, TRUE))
    {
      g_object_unref (task);
      return;
    }

  data = g_new0 (SendData, 1);
  data->commands = g_ptr_array_new_with_free_func (g_free);
  data->recipients = g_ptr_array_new_with_free_func (g_free);
  data->result = send_result_new ();
  g_ptr_array_add (data->result->accepted, NULL);
  g_ptr_array_add (data->result->refused, NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);

  if (recipients[0] == NULL)
    {
      send_return_error (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_INVALID_ADDRESS,
                                            "The message has no recipients"));
      return;
    }
  if (!check_address (self, from, TRUE, &needs_utf8, &error))
    {
      send_return_error (task, error);
      return;
    }
  for (guint i = 0; recipients[i] != NULL; i++)
    {
      if (!check_address (self, recipients[i], FALSE, &needs_utf8, &error))
        {
          send_return_error (task, error);
          return;
        }
      g_ptr_array_add (data->recipients, g_strdup (recipients[i]));
    }

  data->data = build_data (message, &size, &eight_bit);
  if (self->max_size > 0 && size > self->max_size)
    {
      send_return_error (task, g_error_new (TERN_SMTP_ERROR, TERN_SMTP_ERROR_MESSAGE_TOO_LARGE,
                                            "The message is %" G_GUINT64_FORMAT " bytes, and "
                                            "the SMTP server accepts at most %" G_GUINT64_FORMAT
                                            " bytes", size, self->max_size));
      return;
    }

  mail = g_string_new (NULL);
  g_string_append_printf (mail, "MAIL FROM:<%s>", from);
  if (self->extensions & TERN_SMTP_EXTENSION_SIZE)
    g_string_append_printf (mail, " SIZE=%" G_GUINT64_FORMAT, size);
  /* Without 8BITMIME the MIME layer is expected to have encoded the
   * message; it goes as it is. */
  if (eight_bit && (self->extensions & TERN_SMTP_EXTENSION_8BITMIME))
    g_string_append (mail, " BODY=8BITMIME");
  if (needs_utf8)
    g_string_append (mail, " SMTPUTF8");
  wants_dsn = dsn != NULL && (dsn->notify != TERN_SMTP_DSN_NOTIFY_DEFAULT
                              || dsn->ret != TERN_SMTP_DSN_RET_DEFAULT
                              || (dsn->envid != NULL && dsn->envid[0] != '\0'));
  use_dsn = wants_dsn && (self->extensions & TERN_SMTP_EXTENSION_DSN) != 0;
  data->result->dsn_unavailable = wants_dsn && !use_dsn;
  if (use_dsn)
    {
      if (dsn->ret == TERN_SMTP_DSN_RET_FULL)
        g_string_append (mail, " RET=FULL");
      else if (dsn->ret == TERN_SMTP_DSN_RET_HDRS)
        g_string_append (mail, " RET=HDRS");
      if (dsn->envid != NULL && dsn->envid[0] != '\0')
        {
          g_autofree char *envid = tern_smtp_xtext_encode (dsn->envid);

          /* RFC 3461 section 4.4: at most 100 characters. */
          if (strlen (envid) > 100)
            {
              g_string_free (mail, TRUE);
              send_return_error (task, g_error_new (TERN_SMTP_ERROR,
                                                    TERN_SMTP_ERROR_INVALID_ADDRESS,
                                                    "The envelope identifier is longer "
                                                    "than 100 characters"));
              return;
            }
          g_string_append_printf (mail, " ENVID=%s", envid);
        }
    }
  g_string_append (mail, "\r\n");
  g_ptr_array_add (data->commands, g_string_free (mail, FALSE));
  for (guint i = 0; i < data->recipients->len; i++)
    {
      const char *address = g_ptr_array_index (data->recipients, i);
      GString *rcpt = g_string_new (NULL);

      g_string_append_printf (rcpt, "RCPT TO:<%s>", address);
      if (use_dsn && dsn->notify != TERN_SMTP_DSN_NOTIFY_DEFAULT)
        {
          if (dsn->notify & TERN_SMTP_DSN_NOTIFY_NEVER)
            g_string_append (rcpt, " NOTIFY=NEVER");
          else
            {
              const char *sep = " NOTIFY=";

              if (dsn->notify & TERN_SMTP_DSN_NOTIFY_SUCCESS)
                {
                  g_string_append_printf (rcpt, "%sSUCCESS", sep);
                  sep = ",";
                }
              if (dsn->notify & TERN_SMTP_DSN_NOTIFY_FAILURE)
                {
                  g_string_append_printf (rcpt, "%sFAILURE", sep);
                  sep = ",";
                }
              if (dsn->notify & TERN_SMTP_DSN_NOTIFY_DELAY)
                g_string_append_printf (rcpt, "%sDELAY", sep);
            }
        }
      if (use_dsn)
        {
          /* An address that is not ASCII is only here when SMTPUTF8 is in
           * use (check_address()), so the utf-8 type of RFC 6533 fits.  The
           * parameter's value is at most 500 characters (RFC 3461 4.2);
           * a longer one is left out rather than cut. */
          g_autofree char *orcpt = NULL;

          if (g_str_is_ascii (address))
            {
              g_autofree char *xtext = tern_smtp_xtext_encode (address);

              orcpt = g_strconcat ("rfc822;", xtext, NULL);
            }
          else if (needs_utf8)
            {
              g_autofree char *unitext = utf8_addr_unitext (address);

              orcpt = g_strconcat ("utf-8;", unitext, NULL);
            }
          if (orcpt != NULL && strlen (orcpt) <= 500)
            g_string_append_printf (rcpt, " ORCPT=%s", orcpt);
        }
      g_string_append (rcpt, "\r\n");
      g_ptr_array_add (data->commands, g_string_free (rcpt, FALSE));
    }
  g_ptr_array_add (data->commands, g_strdup ("DATA\r\n"));

  data->pipelining = (self->extensions & TERN_SMTP_EXTENSION_PIPELINING) != 0;
  send_write_commands (task);
}

/**
 * tern_smtp_client_send_finish:
 *
 * Returns: (transfer full): who got the message and who did not, or %NULL
 *   with @error set
 */
TernSmtpSendResult *
tern_smtp_client_send_finish (TernSmtpClient  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Quitting */

static void
quit_reply_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  TernSmtpClient *self = g_task_get_source_object (task);
  g_autoptr(Reply) reply = NULL;
  GError *error = NULL;

  reply = read_reply_finish (result, &error);
  self->connected = FALSE;
  if (reply == NULL)
    {
      fail (task, error, TRUE);
      return;
    }
  tern_connection_close (self->connection);
  self->broken = TRUE;
  if (reply->code != 221)
    {
      fail (task, reply_error (reply, "The SMTP server refused QUIT"), TRUE);
      return;
    }
  succeed (task);
}

/**
 * tern_smtp_client_quit_async:
 *
 * Says QUIT, reads the reply and closes the connection.
 */
void
tern_smtp_client_quit_async (TernSmtpClient      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (TERN_IS_SMTP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_smtp_client_quit_async);
  if (!begin_operation (self, task, TRUE))
    {
      g_object_unref (task);
      return;
    }
  command_async (self, "QUIT", FALSE, task, quit_reply_cb);
}

gboolean
tern_smtp_client_quit_finish (TernSmtpClient  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
