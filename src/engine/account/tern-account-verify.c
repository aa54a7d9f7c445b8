/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-account-verify.h"
#include "tern-connection.h"
#include "tern-credentials.h"
#include "tern-pop3-client.h"
#include "tern-smtp-client.h"

/*
 * Verification logs in to the receiving server, then to the sending one,
 * and stops at the first failure with an error that names the server.
 *
 * POP3 and SMTP go through Tern's clients.  IMAP is verified with a short
 * exchange of its own over TernConnection (greeting, STARTTLS when the
 * account uses it, CAPABILITY, then AUTHENTICATE PLAIN, or LOGIN for a
 * server without it), which is all a login check needs.  As everywhere in
 * Tern, a password is only sent over TLS unless the account's security is
 * "none", and capabilities seen before STARTTLS are not used.
 */

G_DEFINE_QUARK (tern-verify-error-quark, tern_verify_error)

#define MAX_LINE (64 * 1024)
#define TIMEOUT_MSEC (30 * 1000)

typedef enum
{
  IMAP_GREETING,
  IMAP_STARTTLS,
  IMAP_CAPABILITY,
  IMAP_AUTHENTICATE,
  IMAP_AUTHENTICATE_DONE,
} ImapStage;

typedef struct
{
  TernAccount *account;
  char *receiving_password;
  char *sending_password;
  TernTrustStore *trust;
  GTlsDatabase *database;
  char *local_address;

  TernConnection *connection;
  TernPop3Client *pop3;
  TernSmtpClient *smtp;

  ImapStage imap_stage;
  GPtrArray *capabilities;
} Verify;

static void
verify_free (Verify *verify)
{
  g_clear_object (&verify->account);
  g_clear_pointer (&verify->receiving_password, tern_credentials_free_secret);
  g_clear_pointer (&verify->sending_password, tern_credentials_free_secret);
  g_clear_object (&verify->trust);
  g_clear_object (&verify->database);
  g_free (verify->local_address);
  if (verify->connection != NULL)
    tern_connection_close (verify->connection);
  g_clear_object (&verify->connection);
  g_clear_object (&verify->pop3);
  if (verify->smtp != NULL)
    tern_connection_close (tern_smtp_client_get_connection (verify->smtp));
  g_clear_object (&verify->smtp);
  g_clear_pointer (&verify->capabilities, g_ptr_array_unref);
  g_free (verify);
}

static void
fail (GTask      *task,
      GError     *error,
      gboolean    receiving)
{
  Verify *verify = g_task_get_task_data (task);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (receiving)
        g_prefix_error (&error, "The receiving server %s port %u: ",
                        tern_account_get_receiving_host (verify->account),
                        tern_account_get_receiving_port (verify->account));
      else
        g_prefix_error (&error, "The sending server %s port %u: ",
                        tern_account_get_sending_host (verify->account),
                        tern_account_get_sending_port (verify->account));
    }

  g_task_return_error (task, error);
  g_object_unref (task);
}

static TernConnectionSecurity
connection_security (TernSecurity security)
{
  switch (security)
    {
    case TERN_SECURITY_TLS:
      return TERN_CONNECTION_SECURITY_TLS;
    case TERN_SECURITY_STARTTLS:
      return TERN_CONNECTION_SECURITY_STARTTLS;
    case TERN_SECURITY_NONE:
    default:
      return TERN_CONNECTION_SECURITY_NONE;
    }
}

/* Sets up a connection the way every engine connection is: the CA
 * database, the user's pin for this host and port, the local address. */
static gboolean
prepare_connection (Verify          *verify,
                    TernConnection  *connection,
                    const char      *host,
                    guint16          port,
                    GError         **error)
{
  if (verify->database != NULL)
    tern_connection_set_tls_database (connection, verify->database);
  if (verify->local_address != NULL)
    tern_connection_set_local_address (connection, verify->local_address);
  tern_connection_set_connect_timeout (connection, TIMEOUT_MSEC);
  tern_connection_set_io_timeout (connection, TIMEOUT_MSEC);

  if (verify->trust != NULL)
    return tern_trust_store_apply (verify->trust, connection, host, port, error);

  return TRUE;
}

/* Sending: SMTP */

static void
smtp_authenticated_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!tern_smtp_client_authenticate_finish (TERN_SMTP_CLIENT (source), result, &error))
    {
      fail (task, error, FALSE);
      return;
    }

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
smtp_connected_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  Verify *verify = g_task_get_task_data (task);
  GError *error = NULL;
  const char *username;

  if (!tern_smtp_client_connect_finish (TERN_SMTP_CLIENT (source), result, &error))
    {
      fail (task, error, FALSE);
      return;
    }

  username = tern_account_get_sending_username (verify->account);
  if (username == NULL)
    username = tern_account_get_receiving_username (verify->account);

  tern_smtp_client_authenticate_async (verify->smtp, username, verify->sending_password, FALSE,
                                       g_task_get_cancellable (task), smtp_authenticated_cb,
                                       task);
}

static void
verify_sending (GTask *task)
{
  Verify *verify = g_task_get_task_data (task);
  const char *host = tern_account_get_sending_host (verify->account);
  guint16 port = tern_account_get_sending_port (verify->account);
  GError *error = NULL;

  if (verify->connection != NULL)
    tern_connection_close (verify->connection);
  g_clear_object (&verify->connection);
  g_clear_object (&verify->pop3);

  verify->smtp = tern_smtp_client_new ();
  if (!prepare_connection (verify, tern_smtp_client_get_connection (verify->smtp), host, port,
                           &error))
    {
      fail (task, error, FALSE);
      return;
    }

  tern_smtp_client_connect_async (verify->smtp, host, port,
                                  connection_security (
                                    tern_account_get_sending_security (verify->account)),
                                  g_task_get_cancellable (task), smtp_connected_cb, task);
}

/* Receiving: POP3 */

static void
pop3_logged_in_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!tern_pop3_client_login_finish (TERN_POP3_CLIENT (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }

  verify_sending (task);
}

static void
pop3_connected_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  Verify *verify = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_pop3_client_connect_finish (TERN_POP3_CLIENT (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }

  tern_pop3_client_login_async (verify->pop3, tern_account_get_receiving_username (verify->account),
                                verify->receiving_password, g_task_get_cancellable (task),
                                pop3_logged_in_cb, task);
}

/* Receiving: IMAP */

static void imap_read (GTask *task);

static void
wipe_free (gpointer data)
{
  tern_credentials_free_secret (data);
}

static void
imap_written_cb (GObject      *source,
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

  imap_read (task);
}

/* Takes @line, which may hold the password: its bytes are wiped when the
 * write is done with them. */
static void
imap_send (GTask *task,
           char  *line)
{
  Verify *verify = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (line, strlen (line), wipe_free, line);

  tern_connection_write_async (verify->connection, bytes, g_task_get_cancellable (task),
                               imap_written_cb, task);
}

static gboolean
has_capability (Verify     *verify,
                const char *name)
{
  for (guint i = 0; i < verify->capabilities->len; i++)
    {
      if (g_ascii_strcasecmp (verify->capabilities->pdata[i], name) == 0)
        return TRUE;
    }

  return FALSE;
}

static gboolean
is_quotable (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      if ((guchar) *p >= 0x80 || *p == '\r' || *p == '\n')
        return FALSE;
    }

  return TRUE;
}

static char *
quote (const char *text)
{
  GString *out = g_string_new ("\"");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');

  return g_string_free (out, FALSE);
}

static void
imap_login (GTask *task)
{
  Verify *verify = g_task_get_task_data (task);
  const char *username = tern_account_get_receiving_username (verify->account);
  gboolean encrypted = tern_connection_is_encrypted (verify->connection);

  if (!encrypted && tern_account_get_receiving_security (verify->account) != TERN_SECURITY_NONE)
    {
      fail (task, g_error_new (TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_NO_SAFE_LOGIN,
                               "the connection is not encrypted"), TRUE);
      return;
    }

  if (has_capability (verify, "AUTH=PLAIN"))
    {
      verify->imap_stage = IMAP_AUTHENTICATE;
      imap_send (task, g_strdup ("a3 AUTHENTICATE PLAIN\r\n"));
      return;
    }

  if (has_capability (verify, "LOGINDISABLED"))
    {
      fail (task, g_error_new (TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_NO_SAFE_LOGIN,
                               "the server allows no login here (LOGINDISABLED, and no "
                               "AUTH=PLAIN)"), TRUE);
      return;
    }

  if (!is_quotable (username) || !is_quotable (verify->receiving_password))
    {
      fail (task, g_error_new (TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_NO_SAFE_LOGIN,
                               "the user name or password has characters LOGIN cannot carry, "
                               "and the server does not offer AUTH=PLAIN"), TRUE);
      return;
    }

  {
    g_autofree char *quoted_user = quote (username);
    char *quoted_password = quote (verify->receiving_password);

    verify->imap_stage = IMAP_AUTHENTICATE_DONE;
    imap_send (task, g_strdup_printf ("a3 LOGIN %s %s\r\n", quoted_user, quoted_password));
    tern_credentials_free_secret (quoted_password);
  }
}

static void
imap_starttls_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GTask *task = user_data;
  Verify *verify = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_connection_starttls_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }

  /* What the server said before TLS is forgotten. */
  g_ptr_array_set_size (verify->capabilities, 0);
  verify->imap_stage = IMAP_CAPABILITY;
  imap_send (task, g_strdup ("a2 CAPABILITY\r\n"));
}

static void
imap_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  Verify *verify = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *line = tern_connection_read_line_finish (TERN_CONNECTION (source), result,
                                                            NULL, &error);

  if (line == NULL)
    {
      fail (task, error, TRUE);
      return;
    }

  switch (verify->imap_stage)
    {
    case IMAP_GREETING:
      if (!g_str_has_prefix (line, "* OK"))
        break;
      if (tern_account_get_receiving_security (verify->account) == TERN_SECURITY_STARTTLS)
        {
          verify->imap_stage = IMAP_STARTTLS;
          imap_send (task, g_strdup ("a1 STARTTLS\r\n"));
        }
      else
        {
          verify->imap_stage = IMAP_CAPABILITY;
          imap_send (task, g_strdup ("a2 CAPABILITY\r\n"));
        }
      return;

    case IMAP_STARTTLS:
      if (g_str_has_prefix (line, "* "))
        {
          imap_read (task);
          return;
        }
      if (!g_str_has_prefix (line, "a1 OK"))
        break;
      tern_connection_starttls_async (verify->connection, g_task_get_cancellable (task),
                                      imap_starttls_cb, task);
      return;

    case IMAP_CAPABILITY:
      if (g_str_has_prefix (line, "* CAPABILITY "))
        {
          g_auto(GStrv) words = g_strsplit (line + strlen ("* CAPABILITY "), " ", 256);

          for (guint i = 0; words[i] != NULL; i++)
            g_ptr_array_add (verify->capabilities, g_strdup (words[i]));
          imap_read (task);
          return;
        }
      if (g_str_has_prefix (line, "* "))
        {
          imap_read (task);
          return;
        }
      if (!g_str_has_prefix (line, "a2 OK"))
        break;
      imap_login (task);
      return;

    case IMAP_AUTHENTICATE:
      if (g_str_has_prefix (line, "+"))
        {
          const char *username = tern_account_get_receiving_username (verify->account);
          gsize user_length = strlen (username);
          gsize password_length = strlen (verify->receiving_password);
          gsize length = 1 + user_length + 1 + password_length;
          char *plain = g_malloc0 (length);
          char *encoded;

          /* RFC 4616: authzid (empty) NUL authcid NUL password. */
          memcpy (plain + 1, username, user_length);
          memcpy (plain + 2 + user_length, verify->receiving_password, password_length);
          encoded = g_base64_encode ((const guchar *) plain, length);
          explicit_bzero (plain, length);
          g_free (plain);

          verify->imap_stage = IMAP_AUTHENTICATE_DONE;
          imap_send (task, g_strconcat (encoded, "\r\n", NULL));
          tern_credentials_free_secret (encoded);
          return;
        }
      G_GNUC_FALLTHROUGH;

    case IMAP_AUTHENTICATE_DONE:
      if (g_str_has_prefix (line, "* "))
        {
          imap_read (task);
          return;
        }
      if (g_str_has_prefix (line, "a3 OK"))
        {
          /* Logged in: that is all there was to know. */
          verify_sending (task);
          return;
        }
      if (g_str_has_prefix (line, "a3 NO") || g_str_has_prefix (line, "a3 BAD"))
        {
          g_autofree char *shown = g_utf8_make_valid (line + 3, MIN (strlen (line + 3), 300));

          fail (task, g_error_new (TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_LOGIN_REFUSED,
                                   "the login was refused: %s", shown), TRUE);
          return;
        }
      break;

    default:
      break;
    }

  {
    g_autofree char *shown = g_utf8_make_valid (line, MIN (strlen (line), 300));

    fail (task, g_error_new (TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_PROTOCOL,
                             "unexpected answer “%s”", shown), TRUE);
  }
}

static void
imap_read (GTask *task)
{
  Verify *verify = g_task_get_task_data (task);

  tern_connection_read_line_async (verify->connection, MAX_LINE, g_task_get_cancellable (task),
                                   imap_line_cb, task);
}

static void
imap_connected_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!tern_connection_connect_finish (TERN_CONNECTION (source), result, &error))
    {
      fail (task, error, TRUE);
      return;
    }

  imap_read (task);
}

/**
 * tern_account_verify_async:
 * @account: the account whose servers to check
 * @receiving_password: the receiving server's password
 * @sending_password: (nullable): the sending server's, if different
 * @trust: (nullable): the user's pinned certificates
 * @database: (nullable): the certificate authorities; %NULL for the system's
 * @local_address: (nullable): the address to connect from
 *
 * Logs in to the receiving server, then the sending one.
 */
void
tern_account_verify_async (TernAccount         *account,
                           const char          *receiving_password,
                           const char          *sending_password,
                           TernTrustStore      *trust,
                           GTlsDatabase        *database,
                           const char          *local_address,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Verify *verify = g_new0 (Verify, 1);
  const char *host = tern_account_get_receiving_host (account);
  guint16 port = tern_account_get_receiving_port (account);
  TernConnectionSecurity security =
    connection_security (tern_account_get_receiving_security (account));
  GError *error = NULL;

  g_task_set_source_tag (task, tern_account_verify_async);
  g_task_set_task_data (task, verify, (GDestroyNotify) verify_free);
  verify->account = g_object_ref (account);
  verify->receiving_password = g_strdup (receiving_password);
  verify->sending_password = g_strdup (sending_password != NULL ? sending_password
                                                                : receiving_password);
  verify->trust = trust != NULL ? g_object_ref (trust) : NULL;
  verify->database = database != NULL ? g_object_ref (database) : NULL;
  verify->local_address = g_strdup (local_address);
  verify->capabilities = g_ptr_array_new_with_free_func (g_free);

  verify->connection = tern_connection_new ();
  if (!prepare_connection (verify, verify->connection, host, port, &error))
    {
      fail (task, error, TRUE);
      return;
    }

  if (tern_account_get_receiving_protocol (account) == TERN_RECEIVING_PROTOCOL_POP3)
    {
      verify->pop3 = tern_pop3_client_new (verify->connection);
      tern_pop3_client_connect_async (verify->pop3, host, port, security, cancellable,
                                      pop3_connected_cb, task);
      return;
    }

  verify->imap_stage = IMAP_GREETING;
  tern_connection_connect_async (verify->connection, host, port, security, cancellable,
                                 imap_connected_cb, task);
}

/**
 * tern_account_verify_finish:
 *
 * Returns: %TRUE when both logins succeeded; %FALSE with an error whose
 *   message names the server at fault.
 */
gboolean
tern_account_verify_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
