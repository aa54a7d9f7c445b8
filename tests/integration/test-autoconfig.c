/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Automatic set-up's last resort, probing the usual TLS ports, against the
 * real Dovecot and Postfix of tests/servers/, then verifying what it found
 * by logging in.  Names under .test resolve to 127.0.0.1 through a test
 * resolver, and the standard ports are mapped to the set's ports. */

#include "config.h"

#include <libsoup/soup.h>
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
  tern_autoconfig_set_port_map (autoconfig, 143, nothing);
  tern_autoconfig_set_port_map (autoconfig, 587, nothing);

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

static void
test_probe_starttls (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernTestResolver) resolver = NULL;
  g_autoptr(GResolver) old_resolver = NULL;
  g_autoptr(TernAutoconfig) autoconfig = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(TernAutoconfigResult) found = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const TernTestUser *alice;
  guint16 nothing;

  if (servers == NULL)
    return;

  alice = tern_test_servers_get_user (servers, 0);
  resolver = tern_test_resolver_new ();
  old_resolver = g_resolver_get_default ();
  g_resolver_set_default (G_RESOLVER (resolver));
  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  nothing = closed_port ();

  /* No implicit TLS anywhere: only IMAP and submission with STARTTLS. */
  autoconfig = tern_autoconfig_new ();
  tern_autoconfig_set_tls_database (autoconfig, database);
  tern_autoconfig_set_timeout (autoconfig, 10 * 1000);
  tern_autoconfig_set_port_map (autoconfig, 443, nothing);
  tern_autoconfig_set_port_map (autoconfig, 80, nothing);
  tern_autoconfig_set_port_map (autoconfig, 993, nothing);
  tern_autoconfig_set_port_map (autoconfig, 995, nothing);
  tern_autoconfig_set_port_map (autoconfig, 465, nothing);
  tern_autoconfig_set_port_map (autoconfig, 143, servers->imap_port);
  tern_autoconfig_set_port_map (autoconfig, 587, servers->submission_port);

  tern_autoconfig_discover_async (autoconfig, alice->login, NULL, got_result_cb, &result);
  found = tern_autoconfig_discover_finish (autoconfig, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->source, ==, TERN_AUTOCONFIG_SOURCE_PROBE);
  g_assert_cmpstr (found->receiving_host, ==, "mail.tern.test");
  g_assert_cmpuint (found->receiving_port, ==, 143);
  g_assert_cmpint (found->receiving_security, ==, TERN_SECURITY_STARTTLS);
  g_assert_cmpstr (found->sending_host, ==, "mail.tern.test");
  g_assert_cmpuint (found->sending_port, ==, 587);
  g_assert_cmpint (found->sending_security, ==, TERN_SECURITY_STARTTLS);

  g_resolver_set_default (old_resolver);
}

/* A server that takes connections and never says a word, noting when
 * each came. */
typedef struct
{
  GSocketService *service;
  GPtrArray *connections;
  GArray *times;
} Silent;

static gboolean
silent_incoming_cb (GSocketService    *service,
                    GSocketConnection *connection,
                    GObject           *source,
                    gpointer           user_data)
{
  Silent *silent = user_data;
  gint64 now = g_get_monotonic_time ();

  /* Kept open, so that the client waits for a greeting until it gives up. */
  g_ptr_array_add (silent->connections, g_object_ref (connection));
  g_array_append_val (silent->times, now);
  return TRUE;
}

static guint16
silent_start (Silent *silent)
{
  g_autoptr(GError) error = NULL;
  guint16 port;

  silent->service = g_socket_service_new ();
  silent->connections = g_ptr_array_new_with_free_func (g_object_unref);
  silent->times = g_array_new (FALSE, FALSE, sizeof (gint64));
  port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (silent->service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (silent->service, "incoming", G_CALLBACK (silent_incoming_cb), silent);
  g_socket_service_start (silent->service);

  return port;
}

static void
silent_stop (Silent *silent)
{
  g_socket_service_stop (silent->service);
  g_socket_listener_close (G_SOCKET_LISTENER (silent->service));
  g_clear_object (&silent->service);
  g_clear_pointer (&silent->connections, g_ptr_array_unref);
  g_clear_pointer (&silent->times, g_array_unref);
}

/* A server that never answers costs one wait, not one for each probe
 * after it: the probes run side by side. */
static void
test_probes_run_side_by_side (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernTestResolver) resolver = NULL;
  g_autoptr(GResolver) old_resolver = NULL;
  g_autoptr(TernAutoconfig) autoconfig = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(TernAutoconfigResult) found = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const guint timeout_ms = 4000;
  const TernTestUser *alice;
  Silent silent = { 0 };
  guint16 nothing;
  guint16 silent_port;
  gint64 first, last;

  if (servers == NULL)
    return;

  alice = tern_test_servers_get_user (servers, 0);
  resolver = tern_test_resolver_new ();
  old_resolver = g_resolver_get_default ();
  g_resolver_set_default (G_RESOLVER (resolver));
  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);
  nothing = closed_port ();
  silent_port = silent_start (&silent);

  /* Port 993, tried first for imap. and mail., never answers; POP3 on 995
   * does, as does SMTP on 465. */
  autoconfig = tern_autoconfig_new ();
  tern_autoconfig_set_tls_database (autoconfig, database);
  tern_autoconfig_set_timeout (autoconfig, timeout_ms);
  tern_autoconfig_set_port_map (autoconfig, 443, nothing);
  tern_autoconfig_set_port_map (autoconfig, 80, nothing);
  tern_autoconfig_set_port_map (autoconfig, 993, silent_port);
  tern_autoconfig_set_port_map (autoconfig, 143, nothing);
  tern_autoconfig_set_port_map (autoconfig, 995, servers->pop3s_port);
  tern_autoconfig_set_port_map (autoconfig, 465, servers->smtps_port);
  tern_autoconfig_set_port_map (autoconfig, 587, nothing);

  tern_autoconfig_discover_async (autoconfig, alice->login, NULL, got_result_cb, &result);
  found = tern_autoconfig_discover_finish (autoconfig, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpint (found->source, ==, TERN_AUTOCONFIG_SOURCE_PROBE);
  g_assert_cmpint (found->receiving_protocol, ==, TERN_RECEIVING_PROTOCOL_POP3);
  g_assert_cmpstr (found->receiving_host, ==, "mail.tern.test");
  g_assert_cmpuint (found->receiving_port, ==, 995);
  g_assert_cmpstr (found->sending_host, ==, "mail.tern.test");
  g_assert_cmpuint (found->sending_port, ==, 465);

  /* Both silent probes were waiting at once: the second came long before
   * the first could have given up. */
  g_assert_cmpuint (silent.times->len, ==, 2);
  first = g_array_index (silent.times, gint64, 0);
  last = g_array_index (silent.times, gint64, 1);
  g_assert_cmpint (last - first, <, (gint64) timeout_ms * 1000 / 2);

  silent_stop (&silent);
  g_resolver_set_default (old_resolver);
}

static const char autoconfig_xml[] =
  "<?xml version=\"1.0\"?>\n"
  "<clientConfig version=\"1.1\"><emailProvider id=\"mail.tern.test\">"
  "<displayName>Tern test mail</displayName>"
  "<incomingServer type=\"imap\"><hostname>mail.tern.test</hostname><port>993</port>"
  "<socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>"
  "<outgoingServer type=\"smtp\"><hostname>mail.tern.test</hostname><port>465</port>"
  "<socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>"
  "</emailProvider></clientConfig>\n";

static void
serve_cb (SoupServer        *server,
          SoupServerMessage *message,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  guint *requests = user_data;

  (*requests)++;
  if (!g_str_equal (path, "/.well-known/autoconfig/mail/config-v1.1.xml"))
    {
      soup_server_message_set_status (message, 404, NULL);
      return;
    }

  soup_server_message_set_status (message, 200, NULL);
  soup_server_message_set_response (message, "text/xml", SOUP_MEMORY_STATIC, autoconfig_xml,
                                    strlen (autoconfig_xml));
}

static guint16
listen_on_loopback (SoupServer         *server,
                    SoupServerListenOptions options)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GError) error = NULL;
  GSList *uris;
  guint16 port;

  soup_server_listen (server, address, options, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  return port;
}

static TernAutoconfigResult *
discover_with (TernAutoconfig  *autoconfig,
               const char      *address,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_autoconfig_discover_async (autoconfig, address, NULL, got_result_cb, &result);
  return tern_autoconfig_discover_finish (autoconfig, wait_for (&result), error);
}

static void
test_https_autoconfig (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestResolver) resolver = NULL;
  g_autoptr(GResolver) old_resolver = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(SoupServer) https = NULL;
  g_autoptr(SoupServer) http = NULL;
  g_autoptr(TernAutoconfig) checked = NULL;
  g_autoptr(TernAutoconfig) unchecked = NULL;
  g_autoptr(TernAutoconfigResult) secure = NULL;
  g_autoptr(TernAutoconfigResult) plain = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *key = NULL;
  guint https_requests = 0;
  guint http_requests = 0;
  guint16 https_port;
  guint16 http_port;
  guint16 nothing;

  if (servers == NULL)
    return;

  resolver = tern_test_resolver_new ();
  old_resolver = g_resolver_get_default ();
  g_resolver_set_default (G_RESOLVER (resolver));

  /* The set's server certificate names mail.tern.test (not
   * autoconfig.mail.tern.test): the first URL fails its check, the
   * well-known one passes. */
  chain = g_build_filename (servers->dir, "tls", "server-chain.pem", NULL);
  key = g_build_filename (servers->dir, "tls", "server.key", NULL);
  certificate = g_tls_certificate_new_from_files (chain, key, &error);
  g_assert_no_error (error);
  https = soup_server_new ("tls-certificate", certificate, NULL);
  soup_server_add_handler (https, NULL, serve_cb, &https_requests, NULL);
  https_port = listen_on_loopback (https, SOUP_SERVER_LISTEN_HTTPS);
  http = soup_server_new (NULL, NULL);
  soup_server_add_handler (http, NULL, serve_cb, &http_requests, NULL);
  http_port = listen_on_loopback (http, 0);
  nothing = closed_port ();

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);

  checked = tern_autoconfig_new ();
  tern_autoconfig_set_tls_database (checked, database);
  tern_autoconfig_set_port_map (checked, 443, https_port);
  tern_autoconfig_set_port_map (checked, 80, http_port);
  secure = discover_with (checked, "alice@mail.tern.test", &error);
  g_assert_no_error (error);
  g_assert_cmpint (secure->source, ==, TERN_AUTOCONFIG_SOURCE_AUTOCONFIG);
  g_assert_true (secure->authenticated);
  g_assert_true (g_str_has_prefix (secure->source_detail, "https://mail.tern.test:"));
  g_assert_cmpstr (secure->provider_name, ==, "Tern test mail");
  g_assert_cmpstr (secure->receiving_host, ==, "mail.tern.test");
  g_assert_cmpuint (http_requests, ==, 0);

  /* Without the set's CA, HTTPS fails its check; the same file over plain
   * HTTP is taken, but marked unauthenticated. */
  unchecked = tern_autoconfig_new ();
  tern_autoconfig_set_port_map (unchecked, 443, https_port);
  tern_autoconfig_set_port_map (unchecked, 80, http_port);
  tern_autoconfig_set_port_map (unchecked, 993, nothing);
  plain = discover_with (unchecked, "alice@mail.tern.test", &error);
  g_assert_no_error (error);
  g_assert_cmpint (plain->source, ==, TERN_AUTOCONFIG_SOURCE_AUTOCONFIG);
  g_assert_false (plain->authenticated);
  g_assert_true (g_str_has_prefix (plain->source_detail, "http://mail.tern.test:"));
  g_assert_cmpuint (http_requests, >, 0);

  soup_server_disconnect (https);
  soup_server_disconnect (http);
  g_resolver_set_default (old_resolver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/autoconfig/probe-finds-validating-servers-then-verify",
                   test_probe_then_verify);
  g_test_add_func ("/integration/autoconfig/probe-finds-starttls-servers", test_probe_starttls);
  g_test_add_func ("/integration/autoconfig/probes-run-side-by-side",
                   test_probes_run_side_by_side);
  g_test_add_func ("/integration/autoconfig/https-is-authenticated-http-is-not",
                   test_https_autoconfig);

  return g_test_run ();
}
