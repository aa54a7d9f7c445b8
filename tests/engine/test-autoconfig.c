/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "tern-autoconfig.h"
#include "tern-test-resolver.h"
#include "tern-test-util.h"

/*
 * Automatic set-up: the built-in table, the autoconfig XML parser and its
 * bounds, and discovery end to end against a local HTTP server (SoupServer
 * on 127.0.0.1) with names and DNS records answered by a test resolver, so
 * that nothing leaves the machine.  HTTPS and TLS probes are pointed at a
 * closed port here (no TLS handshakes in engine tests): they fail, as they
 * do for a domain without HTTPS, and discovery moves on.
 */

#define ADDRESS "ada@example.test"

static const char good_xml[] =
  "<?xml version=\"1.0\"?>\n"
  "<clientConfig version=\"1.1\">\n"
  "  <emailProvider id=\"example.test\">\n"
  "    <domain>example.test</domain>\n"
  "    <displayName>Example Mail</displayName>\n"
  "    <incomingServer type=\"pop3\">\n"
  "      <hostname>pop.example.test</hostname><port>995</port>\n"
  "      <socketType>SSL</socketType><username>%EMAILADDRESS%</username>\n"
  "    </incomingServer>\n"
  "    <incomingServer type=\"imap\">\n"
  "      <hostname>plain.example.test</hostname><port>143</port>\n"
  "      <socketType>plain</socketType><username>%EMAILADDRESS%</username>\n"
  "    </incomingServer>\n"
  "    <incomingServer type=\"imap\">\n"
  "      <hostname>imap.%EMAILDOMAIN%</hostname><port>143</port>\n"
  "      <socketType>STARTTLS</socketType><username>%EMAILLOCALPART%</username>\n"
  "      <authentication>password-cleartext</authentication>\n"
  "    </incomingServer>\n"
  "    <outgoingServer type=\"smtp\">\n"
  "      <hostname>smtp.example.test</hostname><port>465</port>\n"
  "      <socketType>SSL</socketType><username>%EMAILADDRESS%</username>\n"
  "    </outgoingServer>\n"
  "  </emailProvider>\n"
  "</clientConfig>\n";

static void
test_builtin_table (void)
{
  g_autoptr(TernAutoconfigResult) gmail = tern_autoconfig_lookup_builtin ("Ada@GMail.com");
  g_autoptr(TernAutoconfigResult) icloud = tern_autoconfig_lookup_builtin ("ada@me.com");
  g_autoptr(TernAutoconfigResult) proton = tern_autoconfig_lookup_builtin ("ada@proton.me");
  g_autoptr(TernAutoconfigResult) unknown = tern_autoconfig_lookup_builtin (ADDRESS);
  g_autoptr(TernAutoconfigResult) invalid = tern_autoconfig_lookup_builtin ("not an address");
  const char *addresses[] = {
    "a@outlook.com", "a@hotmail.com", "a@yahoo.com", "a@fastmail.com", "a@gmx.net",
    "a@zoho.com", "a@mailbox.org", "a@posteo.de",
  };

  g_assert_nonnull (gmail);
  g_assert_cmpint (gmail->source, ==, TERN_AUTOCONFIG_SOURCE_BUILTIN);
  g_assert_true (gmail->authenticated);
  g_assert_cmpstr (gmail->receiving_host, ==, "imap.gmail.com");
  g_assert_cmpuint (gmail->receiving_port, ==, 993);
  g_assert_cmpint (gmail->receiving_security, ==, TERN_SECURITY_TLS);
  g_assert_cmpstr (gmail->sending_host, ==, "smtp.gmail.com");
  g_assert_cmpstr (gmail->receiving_username, ==, "Ada@GMail.com");

  /* iCloud's IMAP user name is the address's local part. */
  g_assert_cmpstr (icloud->receiving_username, ==, "ada");
  g_assert_cmpstr (icloud->sending_username, ==, "ada@me.com");
  g_assert_cmpstr (proton->receiving_host, ==, "127.0.0.1");
  g_assert_cmpint (proton->receiving_security, ==, TERN_SECURITY_STARTTLS);

  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autoptr(TernAutoconfigResult) result = tern_autoconfig_lookup_builtin (addresses[i]);

      g_assert_nonnull (result);
      g_assert_nonnull (result->receiving_host);
      g_assert_nonnull (result->sending_host);
    }

  g_assert_null (unknown);
  g_assert_null (invalid);
}

static void
test_parse_picks_encrypted_imap (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result =
    tern_autoconfig_parse_xml (good_xml, strlen (good_xml), ADDRESS, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpstr (result->provider_name, ==, "Example Mail");
  /* IMAP before POP3, and never the plain one. */
  g_assert_cmpint (result->receiving_protocol, ==, TERN_RECEIVING_PROTOCOL_IMAP);
  g_assert_cmpstr (result->receiving_host, ==, "imap.example.test");
  g_assert_cmpuint (result->receiving_port, ==, 143);
  g_assert_cmpint (result->receiving_security, ==, TERN_SECURITY_STARTTLS);
  g_assert_cmpstr (result->receiving_username, ==, "ada");
  g_assert_cmpstr (result->sending_host, ==, "smtp.example.test");
  g_assert_cmpuint (result->sending_port, ==, 465);
  g_assert_cmpint (result->sending_security, ==, TERN_SECURITY_TLS);
  g_assert_cmpstr (result->sending_username, ==, ADDRESS);
}

static void
assert_refused (const char *xml,
                gsize       length,
                const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = tern_autoconfig_parse_xml (xml, length, ADDRESS,
                                                                      &error);

  g_assert_null (result);
  g_assert_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID);
  if (strstr (error->message, message_part) == NULL)
    g_error ("“%s” does not say “%s”", error->message, message_part);
}

static void
test_parse_refuses_bad_files (void)
{
  g_autoptr(GString) deep = g_string_new ("<clientConfig>");
  g_autoptr(GString) many = g_string_new ("<clientConfig><emailProvider>");
  g_autoptr(GString) huge = g_string_new (NULL);
  g_autofree char *long_host = g_strnfill (300, 'a');
  g_autofree char *long_value = g_strdup_printf (
    "<clientConfig><emailProvider><incomingServer type=\"imap\"><hostname>%s</hostname>"
    "</incomingServer></emailProvider></clientConfig>", long_host);
  const char plain_only[] =
    "<clientConfig><emailProvider>"
    "<incomingServer type=\"imap\"><hostname>imap.example.test</hostname><port>143</port>"
    "<socketType>plain</socketType></incomingServer>"
    "<outgoingServer type=\"smtp\"><hostname>smtp.example.test</hostname><port>587</port>"
    "<socketType>STARTTLS</socketType></outgoingServer></emailProvider></clientConfig>";
  const char bad_host[] =
    "<clientConfig><emailProvider>"
    "<incomingServer type=\"imap\"><hostname>evil host/x</hostname><port>993</port>"
    "<socketType>SSL</socketType></incomingServer>"
    "<outgoingServer type=\"smtp\"><hostname>smtp.example.test</hostname><port>99999</port>"
    "<socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>";
  const char entity[] =
    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
    "<clientConfig><emailProvider><displayName>&xxe;</displayName></emailProvider>"
    "</clientConfig>";
  const char wrong_root[] = "<html><body>Not found</body></html>";

  for (int i = 0; i < 40; i++)
    g_string_append (deep, "<x>");
  for (int i = 0; i < 40; i++)
    g_string_append (many, "<incomingServer type=\"imap\"></incomingServer>");
  g_string_append (many, "</emailProvider></clientConfig>");
  while (huge->len <= TERN_AUTOCONFIG_MAX_XML_SIZE)
    g_string_append (huge, "<!-- padding padding padding -->");

  assert_refused (deep->str, deep->len, "deeper");
  assert_refused (many->str, many->len, "more than");
  assert_refused (huge->str, huge->len, "larger");
  assert_refused (long_value, strlen (long_value), "longer");
  assert_refused (plain_only, strlen (plain_only), "no encrypted IMAP or POP3");
  assert_refused (bad_host, strlen (bad_host), "no encrypted");
  assert_refused (entity, strlen (entity), "not well-formed");
  assert_refused (wrong_root, strlen (wrong_root), "<html>");
  assert_refused ("", 0, "empty");
  assert_refused ("<clientConfig><emailProvider>", 29, "not well-formed");
}

static void
test_domain_of_host (void)
{
  const struct { const char *host; const char *domain; } cases[] = {
    { "aspmx.l.google.com", "google.com" },
    { "example-com.mail.protection.outlook.com.", "outlook.com" },
    { "mx.example.co.uk", "example.co.uk" },
    { "example.com", "example.com" },
    { "localhost", NULL },
    { "bad host", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *domain = tern_autoconfig_domain_of_host (cases[i].host);

      g_assert_cmpstr (domain, ==, cases[i].domain);
    }
}

/* Discovery against a local server */

typedef struct
{
  TernTestResolver *resolver;
  GResolver *old_resolver;
  SoupServer *server;
  guint16 http_port;
  guint16 closed_port;
  TernAutoconfig *autoconfig;
  /* host + path → body; a missing key is a 404 */
  GHashTable *files;
  GPtrArray *requests;
} Fixture;

static void
server_cb (SoupServer        *server,
           SoupServerMessage *message,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  Fixture *fixture = user_data;
  GUri *uri = soup_server_message_get_uri (message);
  g_autofree char *key = g_strdup_printf ("%s%s", g_uri_get_host (uri), path);
  const char *body = g_hash_table_lookup (fixture->files, key);

  g_ptr_array_add (fixture->requests, g_strdup (key));

  if (body != NULL && g_str_has_prefix (body, "REDIRECT "))
    {
      soup_server_message_set_redirect (message, 302, body + strlen ("REDIRECT "));
      return;
    }

  if (body == NULL)
    {
      soup_server_message_set_status (message, 404, NULL);
      return;
    }

  soup_server_message_set_status (message, 200, NULL);
  soup_server_message_set_response (message, "application/xml", SOUP_MEMORY_COPY, body,
                                    strlen (body));
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
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  GSList *uris;

  fixture->resolver = tern_test_resolver_new ();
  fixture->old_resolver = g_resolver_get_default ();
  g_resolver_set_default (G_RESOLVER (fixture->resolver));

  fixture->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  fixture->requests = g_ptr_array_new_with_free_func (g_free);
  fixture->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fixture->server, NULL, server_cb, fixture, NULL);
  soup_server_listen (fixture->server, address, 0, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fixture->server);
  fixture->http_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  fixture->closed_port = closed_port ();
  fixture->autoconfig = tern_autoconfig_new ();
  tern_autoconfig_set_timeout (fixture->autoconfig, 5000);
  tern_autoconfig_set_port_map (fixture->autoconfig, 80, fixture->http_port);
  tern_autoconfig_set_port_map (fixture->autoconfig, 443, fixture->closed_port);
  tern_autoconfig_set_port_map (fixture->autoconfig, 993, fixture->closed_port);
  tern_autoconfig_set_port_map (fixture->autoconfig, 995, fixture->closed_port);
  tern_autoconfig_set_port_map (fixture->autoconfig, 465, fixture->closed_port);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->autoconfig);
  soup_server_disconnect (fixture->server);
  g_clear_object (&fixture->server);
  g_clear_pointer (&fixture->files, g_hash_table_unref);
  g_clear_pointer (&fixture->requests, g_ptr_array_unref);
  g_resolver_set_default (fixture->old_resolver);
  g_clear_object (&fixture->old_resolver);
  g_clear_object (&fixture->resolver);
  tern_test_drain_main_context ();
}

static void
serve (Fixture    *fixture,
       const char *host_and_path,
       const char *body)
{
  g_hash_table_replace (fixture->files, g_strdup (host_and_path), g_strdup (body));
}

static TernAutoconfigResult *
discover (Fixture     *fixture,
          const char  *address,
          GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_autoconfig_discover_async (fixture->autoconfig, address, NULL, tern_test_got_result_cb,
                                  &result);
  return tern_autoconfig_discover_finish (fixture->autoconfig, tern_test_wait_for (&result),
                                          error);
}

static void
test_discover_builtin_without_network (Fixture       *fixture,
                                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = discover (fixture, "ada@fastmail.com", &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->source, ==, TERN_AUTOCONFIG_SOURCE_BUILTIN);
  g_assert_cmpstr (result->receiving_host, ==, "imap.fastmail.com");
  /* Not one name looked up, not one request made. */
  g_assert_cmpuint (tern_test_resolver_count_lookups (fixture->resolver), ==, 0);
  g_assert_cmpuint (fixture->requests->len, ==, 0);
}

static void
test_discover_http_autoconfig (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  serve (fixture, "autoconfig.example.test/mail/config-v1.1.xml", good_xml);
  result = discover (fixture, ADDRESS, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->source, ==, TERN_AUTOCONFIG_SOURCE_AUTOCONFIG);
  /* Plain HTTP: the caller must show the settings first. */
  g_assert_false (result->authenticated);
  g_assert_true (g_str_has_prefix (result->source_detail, "http://autoconfig.example.test:"));
  g_assert_cmpstr (result->receiving_host, ==, "imap.example.test");
  g_assert_cmpstr (result->sending_host, ==, "smtp.example.test");
}

static void
test_discover_well_known (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  /* autoconfig.example.test answers 404, a redirect is not followed, a
   * file too large is refused: the well-known URL is the one that counts. */
  serve (fixture, "autoconfig.example.test/mail/config-v1.1.xml",
         "REDIRECT http://evil.test/mail/config-v1.1.xml");
  serve (fixture, "evil.test/mail/config-v1.1.xml", good_xml);
  serve (fixture, "example.test/.well-known/autoconfig/mail/config-v1.1.xml", good_xml);
  result = discover (fixture, ADDRESS, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->source, ==, TERN_AUTOCONFIG_SOURCE_AUTOCONFIG);
  g_assert_nonnull (strstr (result->source_detail, "/.well-known/autoconfig/"));
  for (guint i = 0; i < fixture->requests->len; i++)
    g_assert_false (g_str_has_prefix (fixture->requests->pdata[i], "evil.test"));
}

static void
test_discover_srv (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  /* "." means the service is not offered: the next one is taken. */
  tern_test_resolver_add_srv (fixture->resolver, "_imaps._tcp.example.test", ".", 0);
  tern_test_resolver_add_srv (fixture->resolver, "_imap._tcp.example.test",
                              "mail.example.test.", 143);
  tern_test_resolver_add_srv (fixture->resolver, "_submission._tcp.example.test",
                              "out.example.test", 587);
  result = discover (fixture, ADDRESS, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->source, ==, TERN_AUTOCONFIG_SOURCE_SRV);
  g_assert_false (result->authenticated);
  g_assert_cmpstr (result->receiving_host, ==, "mail.example.test");
  g_assert_cmpuint (result->receiving_port, ==, 143);
  g_assert_cmpint (result->receiving_security, ==, TERN_SECURITY_STARTTLS);
  g_assert_cmpstr (result->sending_host, ==, "out.example.test");
  g_assert_cmpint (result->sending_security, ==, TERN_SECURITY_STARTTLS);
  g_assert_cmpstr (result->receiving_username, ==, ADDRESS);
}

static void
test_discover_mx_table (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  tern_test_resolver_add_mx (fixture->resolver, "example.test", 20, "alt1.aspmx.l.google.com");
  tern_test_resolver_add_mx (fixture->resolver, "example.test", 10, "aspmx.l.google.com");
  result = discover (fixture, ADDRESS, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->source, ==, TERN_AUTOCONFIG_SOURCE_MX);
  /* The table is trusted; the DNS answer that led there is not. */
  g_assert_false (result->authenticated);
  g_assert_cmpstr (result->receiving_host, ==, "imap.gmail.com");
  g_assert_nonnull (strstr (result->source_detail, "aspmx.l.google.com"));
  g_assert_cmpstr (result->receiving_username, ==, ADDRESS);
}

static void
test_discover_mx_autoconfig (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  tern_test_resolver_add_mx (fixture->resolver, "example.test", 10, "mx1.hoster.test");
  serve (fixture, "autoconfig.hoster.test/mail/config-v1.1.xml", good_xml);
  result = discover (fixture, ADDRESS, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->source, ==, TERN_AUTOCONFIG_SOURCE_MX);
  g_assert_false (result->authenticated);
  g_assert_true (g_str_has_prefix (result->source_detail, "http://autoconfig.hoster.test:"));
}

static void
test_discover_nothing_lists_tries (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  /* A file that is no autoconfig file, and nothing else anywhere. */
  serve (fixture, "autoconfig.example.test/mail/config-v1.1.xml", "<html>hello</html>");
  result = discover (fixture, ADDRESS, &error);

  g_assert_null (result);
  g_assert_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "built-in table"));
  g_assert_nonnull (strstr (error->message, "<html>"));
  g_assert_nonnull (strstr (error->message, "SRV"));
  g_assert_nonnull (strstr (error->message, "MX"));
  g_assert_nonnull (strstr (error->message, "imap.example.test port 993"));
  g_assert_nonnull (strstr (error->message, "smtp.example.test port 465"));
}

static void
test_discover_bad_address (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = discover (fixture, "nobody", &error);

  g_assert_null (result);
  g_assert_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_BAD_ADDRESS);
}

#define ADD_FIXTURE_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/autoconfig/builtin/knows-the-large-providers", test_builtin_table);
  g_test_add_func ("/autoconfig/xml/picks-encrypted-imap-and-fills-placeholders",
                   test_parse_picks_encrypted_imap);
  g_test_add_func ("/autoconfig/xml/refuses-bad-and-oversized-files",
                   test_parse_refuses_bad_files);
  g_test_add_func ("/autoconfig/mx/domain-of-host", test_domain_of_host);
  ADD_FIXTURE_TEST ("/autoconfig/discover/builtin-needs-no-network",
                    test_discover_builtin_without_network);
  ADD_FIXTURE_TEST ("/autoconfig/discover/http-autoconfig-is-unauthenticated",
                    test_discover_http_autoconfig);
  ADD_FIXTURE_TEST ("/autoconfig/discover/well-known-url-and-no-redirects",
                    test_discover_well_known);
  ADD_FIXTURE_TEST ("/autoconfig/discover/srv-records", test_discover_srv);
  ADD_FIXTURE_TEST ("/autoconfig/discover/mx-host-in-the-table", test_discover_mx_table);
  ADD_FIXTURE_TEST ("/autoconfig/discover/mx-domain-autoconfig", test_discover_mx_autoconfig);
  ADD_FIXTURE_TEST ("/autoconfig/discover/nothing-found-lists-what-was-tried",
                    test_discover_nothing_lists_tries);
  ADD_FIXTURE_TEST ("/autoconfig/discover/bad-address", test_discover_bad_address);

  return g_test_run ();
}
