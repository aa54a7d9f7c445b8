/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Certificate trust against the real Dovecot and Postfix of tests/servers/,
 * whose certificates come from the set's own CA: without that CA the
 * certificate is refused with its details, a pin makes it accepted, a
 * different pinned certificate is refused again, and `tern-cli trust`
 * pins from the command line. */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tern-connection.h"
#include "tern-test-servers.h"
#include "tern-trust.h"

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

static TernCertificateDetails *
check_server (const char       *host,
              guint16           port,
              TernTrustMethod   method,
              GTlsDatabase     *database,
              GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_trust_check_server_async (host, port, method, database, NULL, got_result_cb, &result);
  return tern_trust_check_server_finish (wait_for (&result), error);
}

static gboolean
connect_pinned (TernTrustStore  *store,
                const char      *host,
                guint16          port,
                GError         **error)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) line_result = NULL;
  g_autofree char *greeting = NULL;

  if (!tern_trust_store_apply (store, connection, host, port, error))
    return FALSE;

  tern_connection_connect_async (connection, host, port, TERN_CONNECTION_SECURITY_TLS, NULL,
                                 got_result_cb, &result);
  if (!tern_connection_connect_finish (connection, wait_for (&result), error))
    return FALSE;

  tern_connection_read_line_async (connection, 4096, NULL, got_result_cb, &line_result);
  greeting = tern_connection_read_line_finish (connection, wait_for (&line_result), NULL, error);
  g_assert_nonnull (greeting);
  g_assert_true (g_str_has_prefix (greeting, "* OK"));
  return TRUE;
}

static void
test_refused_certificate_details (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(TernCertificateDetails) with_ca = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (servers == NULL)
    return;

  /* The system's authorities do not know the set's CA. */
  details = check_server (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (details);
  g_assert_true (details->errors & G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_false (details->errors & G_TLS_CERTIFICATE_REVOKED);
  g_assert_true (tern_certificate_details_can_be_trusted (details));
  g_assert_nonnull (details->fingerprint);
  g_assert_cmpuint (strlen (details->fingerprint), ==, 32 * 3 - 1);
  g_assert_nonnull (details->subject);
  g_assert_nonnull (details->issuer);
  g_assert_nonnull (details->not_after);

  text = tern_certificate_details_format (details);
  g_assert_nonnull (strstr (text, details->fingerprint));
  g_assert_nonnull (strstr (text, details->subject));
  g_assert_nonnull (strstr (text, "not signed by a certificate authority"));

  /* With the set's CA the certificate validates: nothing to trust. */
  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  with_ca = check_server (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, database,
                          &error);
  g_assert_null (with_ca);
  g_assert_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_VALID);
}

static void
test_starttls_certificates (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernCertificateDetails) imaps = NULL;
  g_autoptr(TernCertificateDetails) imap = NULL;
  g_autoptr(TernCertificateDetails) pop3 = NULL;
  g_autoptr(GError) error = NULL;

  if (servers == NULL)
    return;

  imaps = check_server (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, NULL, &error);
  g_assert_no_error (error);
  imap = check_server (servers->hostname, servers->imap_port, TERN_TRUST_STARTTLS_IMAP, NULL,
                       &error);
  g_assert_no_error (error);
  pop3 = check_server (servers->hostname, servers->pop3_port, TERN_TRUST_STARTTLS_POP3, NULL,
                       &error);
  g_assert_no_error (error);

  /* Dovecot shows one certificate whichever way TLS is reached. */
  g_assert_cmpstr (imap->fingerprint, ==, imaps->fingerprint);
  g_assert_cmpstr (pop3->fingerprint, ==, imaps->fingerprint);

  if (servers->has_smtp)
    {
      g_autoptr(TernCertificateDetails) smtp = NULL;

      smtp = check_server (servers->hostname, servers->submission_port,
                           TERN_TRUST_STARTTLS_SMTP, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (smtp->errors & G_TLS_CERTIFICATE_UNKNOWN_CA);
      g_assert_nonnull (smtp->fingerprint);
    }

  /* A STARTTLS exchange against a server of another protocol fails
   * clearly instead of hanging or reaching TLS. */
  g_clear_pointer (&imap, tern_certificate_details_free);
  imap = check_server (servers->hostname, servers->pop3_port, TERN_TRUST_STARTTLS_IMAP, NULL,
                       &error);
  g_assert_null (imap);
  g_assert_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_PROTOCOL);
}

static void
test_pin_then_different_certificate (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(TernCertificateDetails) again = NULL;
  g_autoptr(TernCertificateDetails) other = NULL;
  g_autoptr(TernTrustStore) store = NULL;
  g_autoptr(TernTrustStore) reloaded = NULL;
  g_autoptr(GTlsCertificate) ca = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  GStatBuf st;

  if (servers == NULL)
    return;

  dir = g_dir_make_tmp ("tern-trust-XXXXXX", &error);
  g_assert_no_error (error);

  details = check_server (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, NULL, &error);
  g_assert_no_error (error);

  /* Without a pin: refused. */
  store = tern_trust_store_new (dir);
  g_assert_true (tern_trust_store_load (store, &error));
  g_assert_false (connect_pinned (store, servers->hostname, servers->imaps_port, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE);
  g_clear_error (&error);

  /* Pinned, written privately, and read back by a new store. */
  g_assert_true (tern_trust_store_pin (store, details, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (tern_trust_store_get_path (store), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  reloaded = tern_trust_store_new (dir);
  g_assert_true (tern_trust_store_load (reloaded, &error));
  g_assert_cmpstr (tern_trust_store_lookup (reloaded, servers->hostname, servers->imaps_port),
                   ==, details->fingerprint);
  g_assert_true (connect_pinned (reloaded, servers->hostname, servers->imaps_port, &error));
  g_assert_no_error (error);

  /* The pin is for that port only. */
  g_assert_null (tern_trust_store_lookup (reloaded, servers->hostname, servers->pop3s_port));

  /* A different certificate pinned there (the CA's own, a real and
   * different certificate): the server's is refused again, and shown. */
  ca = g_tls_certificate_new_from_file (servers->ca_file, &error);
  g_assert_no_error (error);
  other = tern_certificate_details_new (servers->hostname, servers->imaps_port, ca,
                                        G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_assert_cmpstr (other->fingerprint, !=, details->fingerprint);
  g_assert_true (tern_trust_store_pin (reloaded, other, &error));
  g_assert_false (connect_pinned (reloaded, servers->hostname, servers->imaps_port, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE);
  g_assert_nonnull (strstr (error->message, details->fingerprint));
  g_clear_error (&error);

  again = check_server (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->fingerprint, ==, details->fingerprint);

  /* Forgetting the pin goes back to refusing. */
  g_assert_true (tern_trust_store_forget (reloaded, servers->hostname, servers->imaps_port,
                                          &error));
  g_assert_false (connect_pinned (reloaded, servers->hostname, servers->imaps_port, &error));
  g_clear_error (&error);

  g_unlink (tern_trust_store_get_path (reloaded));
  g_rmdir (dir);
}

static void
run_cli (const char  *root,
         const char  *server,
         gboolean     yes,
         char       **out,
         int         *status)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                              TERN_CLI_PATH, "--data-dir", root, "trust", server,
                              "--starttls", "none", yes ? "--yes" : NULL, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, "", NULL, out, NULL, &error);
  g_assert_no_error (error);
  *status = g_subprocess_get_exit_status (process);
}

static void
test_cli_trust (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(TernTrustStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  g_autofree char *config = NULL;
  g_autofree char *server = NULL;
  g_autofree char *asked = NULL;
  g_autofree char *pinned = NULL;
  g_autofree char *repeated = NULL;
  int status;

  if (servers == NULL)
    return;

  root = g_dir_make_tmp ("tern-trust-cli-XXXXXX", &error);
  g_assert_no_error (error);
  server = g_strdup_printf ("%s:%u", servers->hostname, servers->imaps_port);
  details = check_server (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, NULL, &error);
  g_assert_no_error (error);

  /* Without --yes and without a terminal: shown, not trusted. */
  run_cli (root, server, FALSE, &asked, &status);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (asked, details->fingerprint));
  g_assert_nonnull (strstr (asked, "not trusted"));

  run_cli (root, server, TRUE, &pinned, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (pinned, "Trusted for"));

  run_cli (root, server, FALSE, &repeated, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (repeated, "already trusted"));

  /* What the command pinned is what a connection then accepts. */
  config = g_build_filename (root, "config", NULL);
  store = tern_trust_store_new (config);
  g_assert_true (tern_trust_store_load (store, &error));
  g_assert_cmpstr (tern_trust_store_lookup (store, servers->hostname, servers->imaps_port), ==,
                   details->fingerprint);
  g_assert_true (connect_pinned (store, servers->hostname, servers->imaps_port, &error));
  g_assert_no_error (error);

  g_unlink (tern_trust_store_get_path (store));
  g_rmdir (config);
  g_rmdir (root);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/trust/refused-certificate-shows-details",
                   test_refused_certificate_details);
  g_test_add_func ("/integration/trust/starttls-reaches-the-certificate",
                   test_starttls_certificates);
  g_test_add_func ("/integration/trust/pin-accepts-different-certificate-refused",
                   test_pin_then_different_certificate);
  g_test_add_func ("/integration/trust/cli-shows-then-pins-with-yes", test_cli_trust);

  return g_test_run ();
}
