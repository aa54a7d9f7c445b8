/* SPDX-License-Identifier: GPL-3.0-or-later */

/* An account made from a GNOME Online Accounts password account gets its
 * passwords from GOA: the real goa-daemon, in the private D-Bus session and
 * keyring of tern-test-keyring.sh, with an IMAP and SMTP account of the
 * real Dovecot of tests/servers/ whose password GOA keeps in the keyring
 * as it does for one added in Settings.  The password Tern gets logs in to
 * Dovecot; Tern cannot change it. */

#define GOA_API_IS_SUBJECT_TO_CHANGE
#include <glib/gstdio.h>
#include <goa/goa.h>
#include <libsecret/secret.h>
#include <string.h>

#include "tern-credentials-goa.h"
#include "tern-credentials-memory.h"
#include "tern-goa.h"
#include "tern-imap-client.h"
#include "tern-test-servers.h"

#define GOA_DAEMON "/usr/libexec/goa-daemon"
#define GOA_ID "account_1700000000_0"
#define WAIT_SECONDS 30

static void
got_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

/* What GOA writes when the user adds an IMAP and SMTP account. */
static void
write_goa_account (TernTestServers    *servers,
                   const TernTestUser *user)
{
  static const SecretSchema goa_schema = {
    "org.gnome.OnlineAccounts", SECRET_SCHEMA_DONT_MATCH_NAME,
    { { "goa-identity", SECRET_SCHEMA_ATTRIBUTE_STRING }, { NULL, 0 } },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (g_get_user_config_dir (), "goa-1.0", NULL);
  g_autofree char *path = g_build_filename (dir, "accounts.conf", NULL);
  g_autofree char *conf = NULL;
  g_autofree char *secret = NULL;
  g_autoptr(GVariant) credentials = NULL;
  GVariantBuilder builder;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  conf = g_strdup_printf ("[Account " GOA_ID "]\nProvider=imap_smtp\nIdentity=%s\n"
                          "PresentationIdentity=%s\nEnabled=true\nMailEnabled=true\n"
                          "EmailAddress=%s\nName=Alice\n"
                          "ImapHost=%s:%u\nImapUserName=%s\nImapUseSsl=true\nImapUseTls=false\n"
                          "ImapAcceptSslErrors=true\n"
                          "SmtpHost=%s:%u\nSmtpUseAuth=true\nSmtpUserName=%s\n"
                          "SmtpAuthLogin=false\nSmtpAuthPlain=true\nSmtpUseSsl=true\n"
                          "SmtpUseTls=false\nSmtpAcceptSslErrors=true\n",
                          user->login, user->login, user->login, servers->host,
                          servers->imaps_port, user->login, servers->host, servers->smtps_port,
                          user->login);
  g_file_set_contents (path, conf, -1, &error);
  g_assert_no_error (error);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "imap-password", g_variant_new_string (user->password));
  g_variant_builder_add (&builder, "{sv}", "smtp-password", g_variant_new_string (user->password));
  credentials = g_variant_ref_sink (g_variant_builder_end (&builder));
  secret = g_variant_print (credentials, TRUE);
  g_assert_true (secret_password_store_sync (&goa_schema, SECRET_COLLECTION_DEFAULT,
                                             "GOA imap_smtp credentials", secret, NULL, &error,
                                             "goa-identity", "imap_smtp:gen0:" GOA_ID, NULL));
  g_assert_no_error (error);
}

/* The online account, once goa-daemon has read it. */
static GoaObject *
wait_for_goa_account (void)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GoaClient) client = goa_client_new_sync (NULL, NULL);
      GoaObject *object = client != NULL ? goa_client_lookup_by_id (client, GOA_ID) : NULL;

      if (object != NULL)
        return object;
      g_usleep (100 * 1000);
    }
  return NULL;
}

static char *
lookup (TernCredentials     *credentials,
        TernCredentialKind   kind,
        GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_lookup_async (credentials, "alice-goa", kind, NULL, got_result_cb, &result);
  return tern_credentials_lookup_finish (credentials, wait_for (&result), error);
}

static void
test_goa_password (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(GSubprocess) daemon = NULL;
  g_autoptr(GoaObject) object = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernAccount) reloaded = NULL;
  g_autoptr(TernCredentials) keyring = tern_credentials_memory_new ();
  g_autoptr(TernCredentials) credentials = NULL;
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) logged_in = NULL;
  g_autoptr(GAsyncResult) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *receiving = NULL;
  g_autofree char *sending = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  const TernTestUser *user;

  if (servers == NULL)
    return;
  if (!g_file_test (GOA_DAEMON, G_FILE_TEST_IS_EXECUTABLE) ||
      g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL)
    {
      g_test_skip ("no goa-daemon, or no private D-Bus session");
      return;
    }
  user = tern_test_servers_get_user (servers, 0);

  write_goa_account (servers, user);
  daemon = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                             &error, GOA_DAEMON, "--replace", NULL);
  g_assert_no_error (error);
  object = wait_for_goa_account ();
  g_assert_nonnull (object);

  /* The Tern account remembers where it came from. */
  account = tern_goa_account_new (object, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_goa_id (account), ==, GOA_ID);
  dir = g_dir_make_tmp ("tern-goa-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "alice-goa.ini", NULL);
  g_assert_true (tern_account_save_to_file (account, path, &error));
  reloaded = tern_account_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_goa_id (reloaded), ==, GOA_ID);
  g_unlink (path);
  g_rmdir (dir);

  /* Its passwords come from GOA, not from Tern's keyring (empty here). */
  credentials = tern_credentials_for_account (reloaded, keyring);
  g_assert_true (TERN_IS_CREDENTIALS_GOA (credentials));
  receiving = lookup (credentials, TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (receiving, ==, user->password);
  sending = lookup (credentials, TERN_CREDENTIAL_SENDING_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sending, ==, user->password);
  g_assert_null (lookup (credentials, TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, &error));
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Read only: the user changes it in Settings. */
  tern_credentials_store_async (credentials, "alice-goa", TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                "another", NULL, got_result_cb, &stored);
  g_assert_false (tern_credentials_store_finish (credentials, wait_for (&stored), &error));
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_READ_ONLY);
  g_clear_error (&error);

  /* And it is the password Dovecot takes. */
  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  tern_connection_set_tls_database (connection, database);
  tern_connection_set_local_address (connection, servers->remote_client_address);
  client = tern_imap_client_new (connection);
  tern_imap_client_connect_async (client, tern_account_get_receiving_host (reloaded),
                                  tern_account_get_receiving_port (reloaded),
                                  TERN_CONNECTION_SECURITY_TLS, NULL, got_result_cb, &connected);
  g_assert_true (tern_imap_client_connect_finish (client, wait_for (&connected), &error));
  tern_imap_client_login_async (client, tern_account_get_receiving_username (reloaded), receiving,
                                NULL, got_result_cb, &logged_in);
  g_assert_true (tern_imap_client_login_finish (client, wait_for (&logged_in), &error));
  g_assert_no_error (error);

  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/goa/credentials/password-comes-from-goa-and-logs-in", test_goa_password);

  return g_test_run ();
}
