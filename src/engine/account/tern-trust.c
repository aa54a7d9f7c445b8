/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "tern-trust.h"

/*
 * Certificate trust.  The trust file is a GKeyFile with one group per
 * host and port:
 *
 *   [imap.example.com:993]
 *   Fingerprint=3A:…:F0        # SHA-256 of the certificate's DER form
 *   Subject=CN=imap.example.com
 *   Issuer=CN=Example CA
 *   NotAfter=2027-05-01T00:00:00Z
 *   Accepted=2026-11-23T01:50:00Z
 *
 * Only Fingerprint counts when connecting; the rest tells the user what
 * was accepted and when.  The file is written atomically, readable only by
 * the user (0600).
 */

G_DEFINE_QUARK (tern-trust-error-quark, tern_trust_error)

#define TRUST_FILE_NAME "trusted-certificates.ini"

/* Details */

G_DEFINE_BOXED_TYPE (TernCertificateDetails, tern_certificate_details,
                     tern_certificate_details_copy, tern_certificate_details_free)

/**
 * tern_certificate_details_new:
 * @host: the host the certificate was presented for
 * @port: its port
 * @certificate: the certificate
 * @errors: why it failed validation
 *
 * Returns: (transfer full): what Tern shows the user about @certificate.
 */
TernCertificateDetails *
tern_certificate_details_new (const char           *host,
                              guint16               port,
                              GTlsCertificate      *certificate,
                              GTlsCertificateFlags  errors)
{
  TernCertificateDetails *details = g_new0 (TernCertificateDetails, 1);

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  details->host = g_ascii_strdown (host, -1);
  details->port = port;
  details->subject = g_tls_certificate_get_subject_name (certificate);
  details->issuer = g_tls_certificate_get_issuer_name (certificate);
  details->not_before = g_tls_certificate_get_not_valid_before (certificate);
  details->not_after = g_tls_certificate_get_not_valid_after (certificate);
  details->fingerprint = tern_certificate_get_sha256_fingerprint (certificate);
  details->errors = errors;

  return details;
}

TernCertificateDetails *
tern_certificate_details_copy (const TernCertificateDetails *details)
{
  TernCertificateDetails *copy = g_memdup2 (details, sizeof *details);

  copy->host = g_strdup (details->host);
  copy->subject = g_strdup (details->subject);
  copy->issuer = g_strdup (details->issuer);
  copy->not_before = details->not_before != NULL ? g_date_time_ref (details->not_before) : NULL;
  copy->not_after = details->not_after != NULL ? g_date_time_ref (details->not_after) : NULL;
  copy->fingerprint = g_strdup (details->fingerprint);

  return copy;
}

void
tern_certificate_details_free (TernCertificateDetails *details)
{
  if (details == NULL)
    return;

  g_free (details->host);
  g_free (details->subject);
  g_free (details->issuer);
  g_clear_pointer (&details->not_before, g_date_time_unref);
  g_clear_pointer (&details->not_after, g_date_time_unref);
  g_free (details->fingerprint);
  g_free (details);
}

/**
 * tern_certificate_details_can_be_trusted:
 *
 * Returns: %FALSE for a revoked certificate (or one without a
 *   fingerprint), which the user is never offered to trust.
 */
gboolean
tern_certificate_details_can_be_trusted (const TernCertificateDetails *details)
{
  g_return_val_if_fail (details != NULL, FALSE);

  return (details->errors & G_TLS_CERTIFICATE_REVOKED) == 0 && details->fingerprint != NULL;
}

static const char *
describe_flag (GTlsCertificateFlags flag)
{
  switch (flag)
    {
    case G_TLS_CERTIFICATE_UNKNOWN_CA:
      return "it is not signed by a certificate authority this computer trusts";
    case G_TLS_CERTIFICATE_BAD_IDENTITY:
      return "it is not made out to this server’s name";
    case G_TLS_CERTIFICATE_NOT_ACTIVATED:
      return "it is not valid yet";
    case G_TLS_CERTIFICATE_EXPIRED:
      return "it has expired";
    case G_TLS_CERTIFICATE_REVOKED:
      return "it has been revoked by its issuer";
    case G_TLS_CERTIFICATE_INSECURE:
      return "it relies on an algorithm that is no longer secure";
    case G_TLS_CERTIFICATE_GENERIC_ERROR:
    case G_TLS_CERTIFICATE_NO_FLAGS:
    case G_TLS_CERTIFICATE_VALIDATE_ALL:
    default:
      return "it could not be checked";
    }
}

/**
 * tern_certificate_describe_errors:
 *
 * Returns: (transfer full): the reasons in @errors in words, separated by
 *   "; ", or "it is valid" for none.
 */
char *
tern_certificate_describe_errors (GTlsCertificateFlags errors)
{
  GString *text = g_string_new (NULL);

  for (guint bit = 0; bit < 32; bit++)
    {
      GTlsCertificateFlags flag = 1u << bit;

      if ((errors & flag) == 0)
        continue;
      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append (text, describe_flag (flag));
    }
  if (text->len == 0)
    g_string_append (text, "it is valid");

  return g_string_free (text, FALSE);
}

static char *
format_date (GDateTime *date)
{
  return date != NULL ? g_date_time_format (date, "%Y-%m-%d %H:%M:%S UTC") : g_strdup ("unknown");
}

/**
 * tern_certificate_details_format:
 *
 * Returns: (transfer full): several lines for a person to read: the
 *   server, subject, issuer, validity, SHA-256 fingerprint and the reasons
 *   it was refused.
 */
char *
tern_certificate_details_format (const TernCertificateDetails *details)
{
  g_autofree char *reasons = tern_certificate_describe_errors (details->errors);
  g_autofree char *not_before = format_date (details->not_before);
  g_autofree char *not_after = format_date (details->not_after);

  return g_strdup_printf ("Server:       %s port %u\n"
                          "Subject:      %s\n"
                          "Issuer:       %s\n"
                          "Valid from:   %s\n"
                          "Valid until:  %s\n"
                          "SHA-256:      %s\n"
                          "Refused:      %s\n",
                          details->host, details->port,
                          details->subject != NULL ? details->subject : "(none)",
                          details->issuer != NULL ? details->issuer : "(none)",
                          not_before, not_after,
                          details->fingerprint != NULL ? details->fingerprint : "unknown",
                          reasons);
}

/* Checking a server */

/**
 * tern_trust_method_for_port:
 *
 * Returns: how to reach TLS on a well-known port: STARTTLS on 143 (IMAP),
 *   110 (POP3), 25 and 587 (SMTP), TLS from the first byte elsewhere.
 */
TernTrustMethod
tern_trust_method_for_port (guint16 port)
{
  switch (port)
    {
    case 143:
      return TERN_TRUST_STARTTLS_IMAP;
    case 110:
      return TERN_TRUST_STARTTLS_POP3;
    case 25:
    case 587:
      return TERN_TRUST_STARTTLS_SMTP;
    default:
      return TERN_TRUST_TLS;
    }
}

typedef enum
{
  STAGE_GREETING,
  STAGE_EHLO,
  STAGE_STARTTLS,
} Stage;

typedef struct
{
  TernConnection *connection;
  char *host;
  guint16 port;
  TernTrustMethod method;
  Stage stage;
} Check;

static void
check_free (Check *check)
{
  if (check->connection != NULL)
    tern_connection_close (check->connection);
  g_clear_object (&check->connection);
  g_free (check->host);
  g_free (check);
}

static void
check_handshake_done (GTask  *task,
                      GError *error)
{
  Check *check = g_task_get_task_data (task);
  GTlsCertificate *certificate = tern_connection_get_peer_certificate (check->connection);
  GTlsCertificateFlags errors = tern_connection_get_peer_certificate_errors (check->connection);

  if (error == NULL || g_error_matches (error, TERN_CONNECTION_ERROR,
                                        TERN_CONNECTION_ERROR_CERTIFICATE))
    {
      if (certificate != NULL && errors != 0)
        {
          g_clear_error (&error);
          g_task_return_pointer (task, tern_certificate_details_new (check->host, check->port,
                                                                     certificate, errors),
                                 (GDestroyNotify) tern_certificate_details_free);
          g_object_unref (task);
          return;
        }
      if (error == NULL)
        {
          g_task_return_new_error (task, TERN_TRUST_ERROR, TERN_TRUST_ERROR_VALID,
                                   "the certificate of %s port %u is valid; there is nothing "
                                   "to trust by hand", check->host, check->port);
          g_object_unref (task);
          return;
        }
    }

  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
starttls_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GError *error = NULL;

  tern_connection_starttls_finish (TERN_CONNECTION (source), result, &error);
  check_handshake_done (user_data, error);
}

static void read_next_line (GTask *task);

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!tern_connection_write_finish (TERN_CONNECTION (source), result, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  read_next_line (task);
}

static void
send_command (GTask      *task,
              const char *command)
{
  Check *check = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = g_bytes_new (command, strlen (command));

  tern_connection_write_async (check->connection, bytes, g_task_get_cancellable (task),
                               write_cb, task);
}

static void
protocol_error (GTask      *task,
                const char *line)
{
  Check *check = g_task_get_task_data (task);
  g_autofree char *shown = g_utf8_make_valid (line, MIN (strlen (line), 200));

  g_task_return_new_error (task, TERN_TRUST_ERROR, TERN_TRUST_ERROR_PROTOCOL,
                           "%s port %u did not offer STARTTLS as expected; it said “%s”",
                           check->host, check->port, shown);
  g_object_unref (task);
}

static void
line_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  Check *check = g_task_get_task_data (task);
  GError *error = NULL;
  g_autofree char *line = tern_connection_read_line_finish (TERN_CONNECTION (source), result,
                                                            NULL, &error);

  if (line == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  switch (check->method)
    {
    case TERN_TRUST_STARTTLS_IMAP:
      if (check->stage == STAGE_GREETING)
        {
          if (!g_str_has_prefix (line, "* OK"))
            {
              protocol_error (task, line);
              return;
            }
          check->stage = STAGE_STARTTLS;
          send_command (task, "T1 STARTTLS\r\n");
          return;
        }
      if (g_str_has_prefix (line, "* "))
        break;
      if (!g_str_has_prefix (line, "T1 OK"))
        {
          protocol_error (task, line);
          return;
        }
      tern_connection_starttls_async (check->connection, g_task_get_cancellable (task),
                                      starttls_cb, task);
      return;

    case TERN_TRUST_STARTTLS_POP3:
      if (!g_str_has_prefix (line, "+OK"))
        {
          protocol_error (task, line);
          return;
        }
      if (check->stage == STAGE_GREETING)
        {
          check->stage = STAGE_STARTTLS;
          send_command (task, "STLS\r\n");
          return;
        }
      tern_connection_starttls_async (check->connection, g_task_get_cancellable (task),
                                      starttls_cb, task);
      return;

    case TERN_TRUST_STARTTLS_SMTP:
      if (strlen (line) < 4 || (line[3] != ' ' && line[3] != '-'))
        {
          protocol_error (task, line);
          return;
        }
      if (line[3] == '-')
        break;   /* more lines of a multi-line reply */
      if (check->stage == STAGE_GREETING && g_str_has_prefix (line, "220"))
        {
          check->stage = STAGE_EHLO;
          send_command (task, "EHLO tern.invalid\r\n");
          return;
        }
      if (check->stage == STAGE_EHLO && g_str_has_prefix (line, "250"))
        {
          check->stage = STAGE_STARTTLS;
          send_command (task, "STARTTLS\r\n");
          return;
        }
      if (check->stage == STAGE_STARTTLS && g_str_has_prefix (line, "220"))
        {
          tern_connection_starttls_async (check->connection, g_task_get_cancellable (task),
                                          starttls_cb, task);
          return;
        }
      protocol_error (task, line);
      return;

    case TERN_TRUST_TLS:
    default:
      g_assert_not_reached ();
    }

  read_next_line (task);
}

static void
read_next_line (GTask *task)
{
  Check *check = g_task_get_task_data (task);

  tern_connection_read_line_async (check->connection, 4096, g_task_get_cancellable (task),
                                   line_cb, task);
}

static void
connect_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  Check *check = g_task_get_task_data (task);
  GError *error = NULL;

  if (!tern_connection_connect_finish (TERN_CONNECTION (source), result, &error))
    {
      check_handshake_done (task, error);
      return;
    }

  if (check->method == TERN_TRUST_TLS)
    check_handshake_done (task, NULL);
  else
    read_next_line (task);
}

/**
 * tern_trust_check_server_async:
 * @host: the server
 * @port: its port
 * @method: TLS from the first byte, or STARTTLS in one of the protocols
 * @database: (nullable): the certificate authorities to trust; %NULL for
 *   the system's
 *
 * Connects, reaches TLS and reports the server's certificate when it does
 * not validate, so that the user can decide whether to trust it.  No
 * command but STARTTLS (and SMTP's EHLO) is sent, and no password.
 */
void
tern_trust_check_server_async (const char          *host,
                               guint16              port,
                               TernTrustMethod      method,
                               GTlsDatabase        *database,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Check *check = g_new0 (Check, 1);

  g_task_set_source_tag (task, tern_trust_check_server_async);
  g_task_set_task_data (task, check, (GDestroyNotify) check_free);
  check->host = g_strdup (host);
  check->port = port;
  check->method = method;
  check->connection = tern_connection_new ();
  if (database != NULL)
    tern_connection_set_tls_database (check->connection, database);

  tern_connection_connect_async (check->connection, host, port,
                                 method == TERN_TRUST_TLS ? TERN_CONNECTION_SECURITY_TLS
                                                          : TERN_CONNECTION_SECURITY_STARTTLS,
                                 cancellable, connect_cb, task);
}

/**
 * tern_trust_check_server_finish:
 *
 * Returns: (transfer full) (nullable): the refused certificate's details;
 *   %NULL with %TERN_TRUST_ERROR_VALID when the certificate validates, or
 *   another error when the server could not be reached.
 */
TernCertificateDetails *
tern_trust_check_server_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The trust file */

struct _TernTrustStore
{
  GObject parent_instance;

  char *path;
  GKeyFile *key_file;
};

G_DEFINE_FINAL_TYPE (TernTrustStore, tern_trust_store, G_TYPE_OBJECT)

static void
tern_trust_store_finalize (GObject *object)
{
  TernTrustStore *self = TERN_TRUST_STORE (object);

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->key_file, g_key_file_unref);

  G_OBJECT_CLASS (tern_trust_store_parent_class)->finalize (object);
}

static void
tern_trust_store_class_init (TernTrustStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_trust_store_finalize;
}

static void
tern_trust_store_init (TernTrustStore *self)
{
  self->key_file = g_key_file_new ();
}

/**
 * tern_trust_store_new:
 * @config_dir: the profile's configuration folder
 *
 * Returns: (transfer full): the store of pinned certificates, empty until
 *   tern_trust_store_load().
 */
TernTrustStore *
tern_trust_store_new (const char *config_dir)
{
  TernTrustStore *self = g_object_new (TERN_TYPE_TRUST_STORE, NULL);

  self->path = g_build_filename (config_dir, TRUST_FILE_NAME, NULL);
  return self;
}

const char *
tern_trust_store_get_path (TernTrustStore *self)
{
  g_return_val_if_fail (TERN_IS_TRUST_STORE (self), NULL);

  return self->path;
}

static char *
make_group (const char *host,
            guint16     port)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);

  /* An IPv6 address keeps its colons inside brackets. */
  if (strchr (lower, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", lower, port);
  return g_strdup_printf ("%s:%u", lower, port);
}

/**
 * tern_trust_store_load:
 *
 * Reads the trust file.  A missing file is an empty store.
 *
 * Returns: %TRUE when the file was read or is missing; %FALSE with an
 *   error naming the file when it cannot be read or is damaged.
 */
gboolean
tern_trust_store_load (TernTrustStore  *self,
                       GError         **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (TERN_IS_TRUST_STORE (self), FALSE);

  if (!g_key_file_load_from_file (key_file, self->path, G_KEY_FILE_KEEP_COMMENTS, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_clear_pointer (&self->key_file, g_key_file_unref);
          self->key_file = g_steal_pointer (&key_file);
          return TRUE;
        }
      g_set_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_FAILED, "“%s”: %s", self->path,
                   local_error->message);
      return FALSE;
    }

  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *fingerprint = g_key_file_get_string (key_file, groups[i], "Fingerprint",
                                                            NULL);
      g_autoptr(TernConnection) probe = tern_connection_new ();

      /* The connection's own parser decides what a fingerprint is. */
      if (fingerprint == NULL ||
          !tern_connection_set_pinned_certificate (probe, fingerprint, NULL))
        {
          g_set_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_FAILED,
                       "“%s”: [%s] Fingerprint: missing, or not a SHA-256 fingerprint",
                       self->path, groups[i]);
          return FALSE;
        }
    }

  g_clear_pointer (&self->key_file, g_key_file_unref);
  self->key_file = g_steal_pointer (&key_file);
  return TRUE;
}

/**
 * tern_trust_store_lookup:
 *
 * Returns: (nullable): the fingerprint pinned for @host and @port.
 */
const char *
tern_trust_store_lookup (TernTrustStore *self,
                         const char     *host,
                         guint16         port)
{
  g_autofree char *group = NULL;
  g_autofree char *fingerprint = NULL;

  g_return_val_if_fail (TERN_IS_TRUST_STORE (self), NULL);

  group = make_group (host, port);
  fingerprint = g_key_file_get_string (self->key_file, group, "Fingerprint", NULL);
  if (fingerprint == NULL)
    return NULL;

  /* Kept on the object so that the caller need not free it. */
  g_object_set_data_full (G_OBJECT (self), group, g_steal_pointer (&fingerprint), g_free);
  return g_object_get_data (G_OBJECT (self), group);
}

static gboolean
save (TernTrustStore  *self,
      GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = g_path_get_dirname (self->path);
  g_autofree char *data = NULL;
  gsize length;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_FAILED, "“%s”: %s", dir,
                   g_strerror (saved_errno));
      return FALSE;
    }

  data = g_key_file_to_data (self->key_file, &length, NULL);
  if (!g_file_set_contents_full (self->path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      g_set_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_FAILED, "“%s”: %s", self->path,
                   local_error->message);
      return FALSE;
    }

  return TRUE;
}

static void
set_or_remove (GKeyFile   *key_file,
               const char *group,
               const char *key,
               const char *value)
{
  if (value != NULL)
    g_key_file_set_string (key_file, group, key, value);
  else
    g_key_file_remove_key (key_file, group, key, NULL);
}

/**
 * tern_trust_store_pin:
 * @details: the certificate the user accepted, as the connection refused it
 *
 * Pins the certificate to its host and port, replacing an earlier pin
 * there, and writes the trust file.  A revoked certificate is refused.
 */
gboolean
tern_trust_store_pin (TernTrustStore                *self,
                      const TernCertificateDetails  *details,
                      GError                       **error)
{
  g_autofree char *group = NULL;
  g_autofree char *not_after = NULL;
  g_autofree char *accepted = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  g_return_val_if_fail (TERN_IS_TRUST_STORE (self), FALSE);
  g_return_val_if_fail (details != NULL, FALSE);

  if ((details->errors & G_TLS_CERTIFICATE_REVOKED) != 0)
    {
      g_set_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_REVOKED,
                   "the certificate of %s port %u has been revoked by its issuer; "
                   "Tern will not trust it", details->host, details->port);
      return FALSE;
    }
  if (details->fingerprint == NULL)
    {
      g_set_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_FAILED,
                   "the certificate of %s port %u has no fingerprint to pin",
                   details->host, details->port);
      return FALSE;
    }

  group = make_group (details->host, details->port);
  g_key_file_remove_group (self->key_file, group, NULL);
  g_key_file_set_string (self->key_file, group, "Fingerprint", details->fingerprint);
  set_or_remove (self->key_file, group, "Subject", details->subject);
  set_or_remove (self->key_file, group, "Issuer", details->issuer);
  if (details->not_after != NULL)
    not_after = g_date_time_format (details->not_after, "%Y-%m-%dT%H:%M:%SZ");
  set_or_remove (self->key_file, group, "NotAfter", not_after);
  accepted = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_key_file_set_string (self->key_file, group, "Accepted", accepted);

  return save (self, error);
}

/**
 * tern_trust_store_forget:
 *
 * Removes the pin of @host and @port, if any, and writes the file.
 */
gboolean
tern_trust_store_forget (TernTrustStore  *self,
                         const char      *host,
                         guint16          port,
                         GError         **error)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (TERN_IS_TRUST_STORE (self), FALSE);

  group = make_group (host, port);
  if (!g_key_file_remove_group (self->key_file, group, NULL))
    return TRUE;

  return save (self, error);
}

/**
 * tern_trust_store_apply:
 * @connection: a connection not yet connected
 *
 * Gives @connection the pin of @host and @port, if the user accepted a
 * certificate there.
 */
gboolean
tern_trust_store_apply (TernTrustStore  *self,
                        TernConnection  *connection,
                        const char      *host,
                        guint16          port,
                        GError         **error)
{
  const char *fingerprint;

  g_return_val_if_fail (TERN_IS_TRUST_STORE (self), FALSE);
  g_return_val_if_fail (TERN_IS_CONNECTION (connection), FALSE);

  fingerprint = tern_trust_store_lookup (self, host, port);
  if (fingerprint == NULL)
    return TRUE;

  return tern_connection_set_pinned_certificate (connection, fingerprint, error);
}
