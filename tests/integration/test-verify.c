/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Verifying an account by logging in to the real Dovecot and Postfix of
 * tests/servers/: IMAP (TLS and STARTTLS), POP3, SMTP submission; a wrong
 * password is reported for the server it belongs to; a certificate the
 * system does not know is refused unless the user pinned it. */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tern-account-verify.h"
#include "tern-test-servers.h"

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
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);

  return *slot;
}

static TernAccount *
make_account (TernTestServers       *servers,
              const TernTestUser    *user,
              TernReceivingProtocol  protocol,
              guint16                receiving_port,
              TernSecurity           receiving_security,
              guint16                sending_port,
              TernSecurity           sending_security)
{
  TernAccount *account = tern_account_new ();
  g_autoptr(TernIdentity) identity = tern_identity_new (NULL, user->login);

  tern_account_add_identity (account, identity);
  tern_account_set_receiving_protocol (account, protocol);
  tern_account_set_receiving_host (account, servers->hostname);
  tern_account_set_receiving_port (account, receiving_port);
  tern_account_set_receiving_security (account, receiving_security);
  tern_account_set_receiving_username (account, user->login);
  tern_account_set_sending_host (account, servers->hostname);
  tern_account_set_sending_port (account, sending_port);
  tern_account_set_sending_security (account, sending_security);
  tern_account_set_sending_username (account, user->login);

  return account;
}

static gboolean
verify (TernTestServers  *servers,
        TernAccount      *account,
        const char       *receiving_password,
        const char       *sending_password,
        gboolean          with_ca,
        TernTrustStore   *trust,
        GError          **error)
{
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  if (with_ca)
    {
      database = tern_test_servers_new_tls_database (servers, error);
      g_assert_nonnull (database);
    }

  tern_account_verify_async (account, receiving_password, sending_password, trust, database,
                             servers->remote_client_address, NULL, got_result_cb, &result);
  return tern_account_verify_finish (wait_for (&result), error);
}

static void
test_imap_and_smtp (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernAccount) imaps = NULL;
  g_autoptr(TernAccount) starttls = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *alice;
  const TernTestUser *dave;

  if (servers == NULL)
    return;

  alice = tern_test_servers_get_user (servers, 0);
  dave = tern_test_servers_get_user (servers, 3);

  imaps = make_account (servers, alice, TERN_RECEIVING_PROTOCOL_IMAP, servers->imaps_port,
                        TERN_SECURITY_TLS, servers->submission_port, TERN_SECURITY_STARTTLS);
  g_assert_true (verify (servers, imaps, alice->password, NULL, TRUE, NULL, &error));
  g_assert_no_error (error);

  /* STARTTLS, and a password with a space, quotes and a non-ASCII
   * letter, over IMAP and SMTPS. */
  starttls = make_account (servers, dave, TERN_RECEIVING_PROTOCOL_IMAP, servers->imap_port,
                           TERN_SECURITY_STARTTLS, servers->smtps_port, TERN_SECURITY_TLS);
  g_assert_true (verify (servers, starttls, dave->password, NULL, TRUE, NULL, &error));
  g_assert_no_error (error);
}

static void
test_pop3_and_smtp (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernAccount) pop3s = NULL;
  g_autoptr(TernAccount) stls = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *bob;

  if (servers == NULL)
    return;

  bob = tern_test_servers_get_user (servers, 1);
  pop3s = make_account (servers, bob, TERN_RECEIVING_PROTOCOL_POP3, servers->pop3s_port,
                        TERN_SECURITY_TLS, servers->submission_port, TERN_SECURITY_STARTTLS);
  g_assert_true (verify (servers, pop3s, bob->password, NULL, TRUE, NULL, &error));
  g_assert_no_error (error);

  stls = make_account (servers, bob, TERN_RECEIVING_PROTOCOL_POP3, servers->pop3_port,
                       TERN_SECURITY_STARTTLS, servers->submission_port, TERN_SECURITY_STARTTLS);
  g_assert_true (verify (servers, stls, bob->password, NULL, TRUE, NULL, &error));
  g_assert_no_error (error);
}

static void
test_wrong_password_names_the_server (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernAccount) imap = NULL;
  g_autoptr(TernAccount) pop3 = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *carol;

  if (servers == NULL)
    return;

  carol = tern_test_servers_get_user (servers, 2);
  imap = make_account (servers, carol, TERN_RECEIVING_PROTOCOL_IMAP, servers->imaps_port,
                       TERN_SECURITY_TLS, servers->submission_port, TERN_SECURITY_STARTTLS);

  g_assert_false (verify (servers, imap, "not-the-password", NULL, TRUE, NULL, &error));
  g_assert_error (error, TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_LOGIN_REFUSED);
  g_assert_true (g_str_has_prefix (error->message, "The receiving server"));
  g_assert_null (strstr (error->message, "not-the-password"));
  g_clear_error (&error);

  /* The receiving login works; the sending one is refused, and said so. */
  g_assert_false (verify (servers, imap, carol->password, "wrong-smtp-password", TRUE, NULL,
                          &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "The sending server"));
  g_assert_null (strstr (error->message, "wrong-smtp-password"));
  g_clear_error (&error);

  pop3 = make_account (servers, carol, TERN_RECEIVING_PROTOCOL_POP3, servers->pop3s_port,
                       TERN_SECURITY_TLS, servers->submission_port, TERN_SECURITY_STARTTLS);
  g_assert_false (verify (servers, pop3, "not-the-password", NULL, TRUE, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "The receiving server"));
}

static void
test_unknown_certificate_needs_a_pin (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernTrustStore) trust = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *pem = NULL;
  const TernTestUser *alice;

  if (servers == NULL)
    return;

  alice = tern_test_servers_get_user (servers, 0);
  account = make_account (servers, alice, TERN_RECEIVING_PROTOCOL_IMAP, servers->imaps_port,
                          TERN_SECURITY_TLS, servers->smtps_port, TERN_SECURITY_TLS);

  /* The system's authorities do not know the set's CA: refused, and no
   * password was sent. */
  g_assert_false (verify (servers, account, alice->password, NULL, FALSE, NULL, &error));
  g_assert_error (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE);
  g_assert_true (g_str_has_prefix (error->message, "The receiving server"));
  g_clear_error (&error);

  /* Pinned by the user for both servers' host and port: accepted. */
  dir = g_dir_make_tmp ("tern-verify-XXXXXX", &error);
  g_assert_no_error (error);
  trust = tern_trust_store_new (dir);
  g_assert_true (tern_trust_store_load (trust, &error));
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(TernCertificateDetails) imap = NULL;
    g_autoptr(TernCertificateDetails) smtp = NULL;

    tern_trust_check_server_async (servers->hostname, servers->imaps_port, TERN_TRUST_TLS, NULL,
                                   NULL, got_result_cb, &result);
    imap = tern_trust_check_server_finish (wait_for (&result), &error);
    g_assert_no_error (error);
    g_clear_object (&result);
    tern_trust_check_server_async (servers->hostname, servers->smtps_port, TERN_TRUST_TLS, NULL,
                                   NULL, got_result_cb, &result);
    smtp = tern_trust_check_server_finish (wait_for (&result), &error);
    g_assert_no_error (error);
    g_assert_true (tern_trust_store_pin (trust, imap, &error));
    g_assert_true (tern_trust_store_pin (trust, smtp, &error));
  }

  g_assert_true (verify (servers, account, alice->password, NULL, FALSE, trust, &error));
  g_assert_no_error (error);

  g_unlink (tern_trust_store_get_path (trust));
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/verify/imap-tls-starttls-and-smtp", test_imap_and_smtp);
  g_test_add_func ("/integration/verify/pop3-and-smtp", test_pop3_and_smtp);
  g_test_add_func ("/integration/verify/wrong-password-names-the-server",
                   test_wrong_password_names_the_server);
  g_test_add_func ("/integration/verify/unknown-certificate-needs-a-pin",
                   test_unknown_certificate_needs_a_pin);

  return g_test_run ();
}
