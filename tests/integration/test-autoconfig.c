/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Automatic set-up's last resort, probing the usual TLS ports, against the
 * real Dovecot and Postfix of tests/servers/, then verifying what it found
 * by logging in.  Names under .test resolve to 127.0.0.1 through a test
 * resolver, and the standard ports are mapped to the set's ports. */

#include "config.h"

#include <string.h>

#include "tern-account-verify.h"
#include "tern-autoconfig.h"
#include "tern-test-resolver.h"
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

static guint16
closed_port (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_close (listener);
  return port;
}

static void
test_probe_then_verify (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernTestResolver) resolver = NULL;
  g_autoptr(GResolver) old_resolver = NULL;
  g_autoptr(TernAutoconfig) autoconfig = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(TernAutoconfigResult) found = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) verified = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *alice;
  guint16 nothing;

  if (servers == NULL)
    return;

  alice = tern_test_servers_get_user (servers, 0);
  g_assert_true (g_str_has_suffix (alice->login, "@tern.test"));

  resolver = tern_test_resolver_new ();
  old_resolver = g_resolver_get_default ();
  g_resolver_set_default (G_RESOLVER (resolver));

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  nothing = closed_port ();

  autoconfig = tern_autoconfig_new ();
  tern_autoconfig_set_tls_database (autoconfig, database);
  tern_autoconfig_set_timeout (autoconfig, 10 * 1000);
  tern_autoconfig_set_port_map (autoconfig, 443, nothing);
  tern_autoconfig_set_port_map (autoconfig, 80, nothing);
  tern_autoconfig_set_port_map (autoconfig, 993, servers->imaps_port);
  tern_autoconfig_set_port_map (autoconfig, 995, servers->pop3s_port);
  tern_autoconfig_set_port_map (autoconfig, 465, servers->smtps_port);

  tern_autoconfig_discover_async (autoconfig, alice->login, NULL, got_result_cb, &result);
  found = tern_autoconfig_discover_finish (autoconfig, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);

  /* imap.tern.test answers too, but its certificate does not name it:
   * only mail.tern.test, whose certificate validates, is taken. */
  g_assert_cmpint (found->source, ==, TERN_AUTOCONFIG_SOURCE_PROBE);
  g_assert_true (found->authenticated);
  g_assert_cmpint (found->receiving_protocol, ==, TERN_RECEIVING_PROTOCOL_IMAP);
  g_assert_cmpstr (found->receiving_host, ==, "mail.tern.test");
  g_assert_cmpuint (found->receiving_port, ==, 993);
  g_assert_cmpstr (found->sending_host, ==, "mail.tern.test");
  g_assert_cmpuint (found->sending_port, ==, 465);

  /* What was found works: log in to both, on the set's real ports. */
  account = tern_account_new ();
  identity = tern_identity_new (NULL, alice->login);
  tern_account_add_identity (account, identity);
  tern_autoconfig_result_apply (found, account);
  tern_account_set_receiving_port (account, servers->imaps_port);
  tern_account_set_sending_port (account, servers->smtps_port);
  tern_account_verify_async (account, alice->password, NULL, NULL, database,
                             servers->remote_client_address, NULL, got_result_cb, &verified);
  g_assert_true (tern_account_verify_finish (wait_for (&verified), &error));
  g_assert_no_error (error);

  g_resolver_set_default (old_resolver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/autoconfig/probe-finds-validating-servers-then-verify",
                   test_probe_then_verify);

  return g_test_run ();
}
