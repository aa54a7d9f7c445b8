/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tern-test-util.h"
#include "tern-trust.h"

/*
 * The trust file and the words for certificate problems, without TLS
 * (handshakes belong to tests/integration/test-trust.c): details are made
 * by hand here as a refused connection would report them.
 */

#define FINGERPRINT_A \
  "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
#define FINGERPRINT_B \
  "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"

static TernCertificateDetails *
make_details (const char           *host,
              guint16               port,
              const char           *fingerprint,
              GTlsCertificateFlags  errors)
{
  TernCertificateDetails *details = g_new0 (TernCertificateDetails, 1);

  details->host = g_strdup (host);
  details->port = port;
  details->subject = g_strdup ("CN=mail.example.test");
  details->issuer = g_strdup ("CN=Example Test CA");
  details->not_before = g_date_time_new_utc (2026, 1, 1, 0, 0, 0);
  details->not_after = g_date_time_new_utc (2027, 1, 1, 0, 0, 0);
  details->fingerprint = g_strdup (fingerprint);
  details->errors = errors;
  return details;
}

static void
test_store_pins_per_host_and_port (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-trust-XXXXXX");
  g_autoptr(TernTrustStore) store = tern_trust_store_new (dir);
  g_autoptr(TernTrustStore) reloaded = tern_trust_store_new (dir);
  g_autoptr(TernCertificateDetails) imap = make_details ("Mail.Example.Test", 993, FINGERPRINT_A,
                                                         G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_autoptr(TernCertificateDetails) v6 = make_details ("::1", 993, FINGERPRINT_B,
                                                       G_TLS_CERTIFICATE_EXPIRED);
  g_autoptr(TernCertificateDetails) changed = make_details ("mail.example.test", 993,
                                                            FINGERPRINT_B,
                                                            G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  GStatBuf st;

  /* A missing file is an empty store. */
  g_assert_true (tern_trust_store_load (store, &error));
  g_assert_no_error (error);
  g_assert_null (tern_trust_store_lookup (store, "mail.example.test", 993));

  g_assert_true (tern_trust_store_pin (store, imap, &error));
  g_assert_true (tern_trust_store_pin (store, v6, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (tern_trust_store_get_path (store), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_true (tern_trust_store_load (reloaded, &error));
  /* Host names compare without case; the port is part of the pin. */
  g_assert_cmpstr (tern_trust_store_lookup (reloaded, "MAIL.example.test", 993), ==,
                   FINGERPRINT_A);
  g_assert_null (tern_trust_store_lookup (reloaded, "mail.example.test", 995));
  g_assert_cmpstr (tern_trust_store_lookup (reloaded, "::1", 993), ==, FINGERPRINT_B);

  g_assert_true (g_file_get_contents (tern_trust_store_get_path (reloaded), &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "[mail.example.test:993]"));
  g_assert_nonnull (strstr (text, "[::1:993]"));
  g_assert_nonnull (strstr (text, "Issuer=CN=Example Test CA"));

  /* A new certificate accepted later replaces the old pin. */
  g_assert_true (tern_trust_store_pin (reloaded, changed, &error));
  g_assert_cmpstr (tern_trust_store_lookup (reloaded, "mail.example.test", 993), ==,
                   FINGERPRINT_B);

  g_assert_true (tern_trust_store_forget (reloaded, "mail.example.test", 993, &error));
  g_assert_null (tern_trust_store_lookup (reloaded, "mail.example.test", 993));
  g_assert_true (tern_trust_store_load (store, &error));
  g_assert_null (tern_trust_store_lookup (store, "mail.example.test", 993));

  tern_test_remove_tree (dir);
}

static void
test_revoked_never_pinned (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-trust-XXXXXX");
  g_autoptr(TernTrustStore) store = tern_trust_store_new (dir);
  g_autoptr(TernCertificateDetails) revoked =
    make_details ("mail.example.test", 993, FINGERPRINT_A,
                  G_TLS_CERTIFICATE_REVOKED | G_TLS_CERTIFICATE_UNKNOWN_CA);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "trusted-certificates.ini", NULL);

  g_assert_false (tern_certificate_details_can_be_trusted (revoked));
  g_assert_false (tern_trust_store_pin (store, revoked, &error));
  g_assert_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_REVOKED);
  g_assert_null (tern_trust_store_lookup (store, "mail.example.test", 993));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  tern_test_remove_tree (dir);
}

static void
test_damaged_file_names_itself (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-trust-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "trusted-certificates.ini", NULL);
  g_autoptr(TernTrustStore) store = tern_trust_store_new (dir);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "[mail.example.test:993]\nFingerprint=zz\n", -1,
                                      NULL));
  g_assert_false (tern_trust_store_load (store, &error));
  g_assert_error (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "[mail.example.test:993] Fingerprint"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "not a key file", -1, NULL));
  g_assert_false (tern_trust_store_load (store, &error));
  g_assert_nonnull (strstr (error->message, path));

  tern_test_remove_tree (dir);
}

static void
test_words_and_format (void)
{
  g_autoptr(TernCertificateDetails) details =
    make_details ("mail.example.test", 993, FINGERPRINT_A,
                  G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_EXPIRED);
  g_autofree char *words = tern_certificate_describe_errors (G_TLS_CERTIFICATE_BAD_IDENTITY |
                                                             G_TLS_CERTIFICATE_REVOKED);
  g_autofree char *none = tern_certificate_describe_errors (0);
  g_autofree char *text = tern_certificate_details_format (details);
  g_autoptr(TernCertificateDetails) copy = tern_certificate_details_copy (details);

  g_assert_cmpstr (words, ==, "it is not made out to this server’s name; "
                              "it has been revoked by its issuer");
  g_assert_cmpstr (none, ==, "it is valid");
  g_assert_nonnull (strstr (text, "Server:       mail.example.test port 993"));
  g_assert_nonnull (strstr (text, "SHA-256:      " FINGERPRINT_A));
  g_assert_nonnull (strstr (text, "Valid until:  2027-01-01 00:00:00 UTC"));
  g_assert_nonnull (strstr (text, "has expired"));
  g_assert_nonnull (strstr (text, "not signed by a certificate authority"));
  g_assert_cmpstr (copy->fingerprint, ==, FINGERPRINT_A);

  g_assert_cmpint (tern_trust_method_for_port (143), ==, TERN_TRUST_STARTTLS_IMAP);
  g_assert_cmpint (tern_trust_method_for_port (110), ==, TERN_TRUST_STARTTLS_POP3);
  g_assert_cmpint (tern_trust_method_for_port (587), ==, TERN_TRUST_STARTTLS_SMTP);
  g_assert_cmpint (tern_trust_method_for_port (993), ==, TERN_TRUST_TLS);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/trust/store/pins-per-host-and-port-privately",
                   test_store_pins_per_host_and_port);
  g_test_add_func ("/trust/store/revoked-certificate-is-never-pinned", test_revoked_never_pinned);
  g_test_add_func ("/trust/store/damaged-file-error-names-file-and-group",
                   test_damaged_file_names_itself);
  g_test_add_func ("/trust/details/reasons-in-words", test_words_and_format);

  return g_test_run ();
}
