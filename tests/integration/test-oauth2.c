/* SPDX-License-Identifier: GPL-3.0-or-later */

/* OAuth2 logins against real servers: a local provider
 * (tests/servers/tern_test_oauth2.py, rotating refresh tokens) and the
 * real Dovecot of tests/servers/ checking every token by introspection at
 * it, with Postfix submission asking Dovecot.  Tern signs in with the
 * authorization code flow (PKCE, loopback redirect), keeps the refresh
 * token in its credentials, and TernAccountAuth hands out access tokens:
 * cached while good, refreshed once when a server refuses a kept one. */

#include <glib/gstdio.h>
#include <string.h>

#include "tern-account-auth.h"
#include "tern-credentials-memory.h"
#include "tern-imap-client.h"
#include "tern-oauth2.h"
#include "tern-sasl.h"
#include "tern-smtp-client.h"
#include "tern-test-servers.h"

#ifdef TERN_HAVE_GOA
#define GOA_API_IS_SUBJECT_TO_CHANGE
#include <goa/goa.h>
#include <signal.h>
#include <sys/prctl.h>

#include "tern-credentials-goa.h"
#include "tern-goa.h"
#endif

#define WAIT_SECONDS 60

static GSubprocess *provider;
static char *issuer;
static char *scratch;

static void
got_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static gboolean
timed_out_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (WAIT_SECONDS, timed_out_cb, &timed_out);

  while (*slot == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_assert_nonnull (*slot);
  return *slot;
}

/* The provider's admin and stats endpoints, through Python's urllib. */
static char *
provider_call (const char *path,
               gboolean    post)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = g_strconcat (issuer, path, NULL);
  g_autoptr(GSubprocess) process = NULL;
  char *out = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "/usr/bin/python3", "-c",
                              "import sys, urllib.request\n"
                              "data = b'' if sys.argv[2] == 'post' else None\n"
                              "try:\n"
                              "    print(urllib.request.urlopen(sys.argv[1], data).read()"
                              ".decode())\n"
                              "except Exception as e:\n"
                              "    print('error', e)\n",
                              url, post ? "post" : "get", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  return out;
}

static gint64
provider_stat (const char *name)
{
  g_autofree char *stats = provider_call ("/stats", FALSE);
  g_autofree char *needle = g_strdup_printf ("\"%s\": ", name);
  const char *found = strstr (stats, needle);

  g_assert_nonnull (found);
  return g_ascii_strtoll (found + strlen (needle), NULL, 10);
}

static void
provider_revoke (const char *token)
{
  /* The token goes in the form, as RFC 7009 has it. */
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *url = g_strconcat (issuer, "/revoke", NULL);

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "/usr/bin/python3", "-c",
                              "import sys, urllib.request, urllib.parse\n"
                              "urllib.request.urlopen(sys.argv[1], urllib.parse.urlencode("
                              "{'token': sys.argv[2]}).encode())\n",
                              url, token, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (process, NULL, &error));
}

/* The user's browser: it opens the page, and the provider's redirect
 * comes back to Tern's loopback server. */
static gboolean
browser_cb (const char  *uri,
            gpointer     user_data,
            GError     **error)
{
  const char *argv[] = { "/usr/bin/python3", "-c",
                         "import sys, urllib.request\n"
                         "urllib.request.urlopen(sys.argv[1], timeout=20).read()\n",
                         uri, NULL };

  return g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                        NULL, error);
}

/* An account "NAME" signing in at the local provider, from a file. */
static TernAccount *
make_account (TernTestServers *servers,
              const char      *name,
              const char      *login)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strdup_printf ("%s/%s.ini", scratch, name);
  g_autofree char *text =
    g_strdup_printf ("[Account]\nAuth=oauth2\n"
                     "[OAuth2]\nProvider=custom\nAuthorizationURI=%s/authorize\n"
                     "TokenURI=%s/token\nClientId=tern-test-client\nScope=mail\n"
                     "[Receiving]\nProtocol=imap\nHost=%s\nPort=%u\nSecurity=tls\nUsername=%s\n"
                     "[Sending]\nHost=%s\nPort=%u\nSecurity=tls\nUsername=%s\n"
                     "[Identity 1]\nAddress=%s\n",
                     issuer, issuer, servers->host, servers->imaps_port, login, servers->host,
                     servers->smtps_port, login, login);
  TernAccount *account;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  account = tern_account_new_from_file (path, &error);
  g_assert_no_error (error);
  return account;
}

/* Signs @account in through the "browser" and keeps its refresh token in
 * @credentials. */
static void
sign_in (TernAccount     *account,
         TernCredentials *credentials,
         const char      *login)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2) oauth2 = tern_oauth2_new_for_account (account, &error);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) stored = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;

  g_assert_no_error (error);
  tern_oauth2_set_open_uri_func (oauth2, browser_cb, NULL);
  tern_oauth2_set_timeout (oauth2, 30);
  tern_oauth2_authorize_async (oauth2, login, NULL, got_result_cb, &result);
  tokens = tern_oauth2_authorize_finish (oauth2, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (tokens->refresh_token);

  tern_credentials_store_async (credentials, tern_account_get_id (account),
                                TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, tokens->refresh_token, NULL,
                                got_result_cb, &stored);
  g_assert_true (tern_credentials_store_finish (credentials, wait_for (&stored), &error));
}

static char *
stored_refresh_token (TernCredentials *credentials,
                      const char      *account_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *token;

  tern_credentials_lookup_async (credentials, account_id, TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN,
                                 NULL, got_result_cb, &result);
  token = tern_credentials_lookup_finish (credentials, wait_for (&result), &error);
  g_assert_no_error (error);
  return token;
}

static char *
get_secret (TernAccountAuth  *auth,
            GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_account_auth_get_secret_async (auth, TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL,
                                      got_result_cb, &result);
  return tern_account_auth_get_secret_finish (auth, wait_for (&result), error);
}

/* Logs in to IMAPS with @token; returns the mechanism used, or NULL. */
static char *
imap_login (TernTestServers  *servers,
            const char       *login,
            const char       *token,
            GError          **error)
{
  g_autoptr(TernConnection) connection = tern_connection_new ();
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GTlsDatabase) database = tern_test_servers_new_tls_database (servers, NULL);
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) logged_in = NULL;
  g_autoptr(GAsyncResult) out = NULL;

  tern_connection_set_tls_database (connection, database);
  tern_connection_set_io_timeout (connection, 30 * 1000);
  tern_connection_set_local_address (connection, servers->remote_client_address);
  client = tern_imap_client_new (connection);
  tern_imap_client_connect_async (client, servers->host, servers->imaps_port,
                                  TERN_CONNECTION_SECURITY_TLS, NULL, got_result_cb, &connected);
  if (!tern_imap_client_connect_finish (client, wait_for (&connected), error))
    return NULL;
  tern_imap_client_login_oauth_async (client, login, token, NULL, got_result_cb, &logged_in);
  if (!tern_imap_client_login_finish (client, wait_for (&logged_in), error))
    return NULL;
  g_assert_cmpint (tern_imap_client_get_state (client), ==, TERN_IMAP_CLIENT_STATE_AUTHENTICATED);
  tern_imap_client_logout_async (client, NULL, got_result_cb, &out);
  tern_imap_client_simple_finish (client, wait_for (&out), NULL);
  return g_strdup (tern_imap_client_get_auth_mechanism (client));
}

typedef struct
{
  TernTestServers *servers;
  const TernTestUser *user;
  TernCredentials *credentials;
  TernAccount *account;
  TernAccountAuth *auth;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->servers = tern_test_servers_get_or_skip ();
  if (fixture->servers == NULL)
    return;
  fixture->user = tern_test_servers_get_user (fixture->servers, 0);
  fixture->credentials = tern_credentials_memory_new ();
  fixture->account = make_account (fixture->servers, "work", fixture->user->login);
  sign_in (fixture->account, fixture->credentials, fixture->user->login);
  fixture->auth = tern_account_auth_new (fixture->account, fixture->credentials);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_clear_object (&fixture->auth);
  g_clear_object (&fixture->account);
  g_clear_object (&fixture->credentials);
  g_clear_pointer (&fixture->servers, tern_test_servers_free);
}

static void
test_imap_oauthbearer (Fixture       *fixture,
                       gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *mechanism = NULL;

  if (fixture->servers == NULL)
    return;

  token = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  g_assert_true (tern_account_auth_uses_oauth2 (fixture->auth));
  mechanism = imap_login (fixture->servers, fixture->user->login, token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mechanism, ==, "OAUTHBEARER");
}

static void
test_imap_xoauth2 (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *mechanism = NULL;

  if (fixture->servers == NULL)
    return;

  g_assert_true (tern_test_servers_dovecot_set (fixture->servers, "auth_mechanisms",
                                                "plain login xoauth2", &error));
  token = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  mechanism = imap_login (fixture->servers, fixture->user->login, token, &error);
  g_assert_true (tern_test_servers_dovecot_set (fixture->servers, "auth_mechanisms", NULL, NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (mechanism, ==, "XOAUTH2");
}

static void
test_revoked_token_is_refreshed_once (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *cached = NULL;
  g_autofree char *second = NULL;
  g_autofree char *mechanism = NULL;
  g_autofree char *refresh_before = NULL;
  g_autofree char *refresh_after = NULL;
  gint64 refreshes;

  if (fixture->servers == NULL)
    return;

  first = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  refreshes = provider_stat ("refresh");
  refresh_before = stored_refresh_token (fixture->credentials, "work");

  /* Kept while it is good: no second trip to the provider. */
  cached = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cached, ==, first);
  g_assert_cmpint (provider_stat ("refresh"), ==, refreshes);

  /* The provider revoked it: Dovecot refuses it as an invalid token. */
  provider_revoke (cached);
  mechanism = imap_login (fixture->servers, fixture->user->login, cached, &error);
  g_assert_null (mechanism);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID);
  g_assert_null (strstr (error->message, cached));

  /* One fresh token, and the login works again. */
  g_assert_true (tern_account_auth_retry_after_error (fixture->auth, error));
  g_clear_error (&error);
  second = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, !=, first);
  g_assert_cmpint (provider_stat ("refresh"), ==, refreshes + 1);
  mechanism = imap_login (fixture->servers, fixture->user->login, second, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mechanism);

  /* The provider rotated the refresh token; the new one is kept. */
  refresh_after = stored_refresh_token (fixture->credentials, "work");
  g_assert_cmpstr (refresh_after, !=, refresh_before);

  /* A token straight from the provider that is refused is not retried. */
  provider_revoke (second);
  g_clear_pointer (&mechanism, g_free);
  mechanism = imap_login (fixture->servers, fixture->user->login, second, &error);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID);
  g_assert_false (tern_account_auth_retry_after_error (fixture->auth, error));
}

static void
test_expired_token_fails_cleanly (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) other = NULL;
  g_autofree char *token = NULL;
  g_autofree char *mechanism = NULL;
  g_autofree char *answer = NULL;

  if (fixture->servers == NULL)
    return;

  token = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  answer = provider_call ("/expire", TRUE);
  mechanism = imap_login (fixture->servers, fixture->user->login, token, &error);
  g_assert_null (mechanism);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID);

  /* Another user's login with this user's token is refused too. */
  g_clear_pointer (&token, g_free);
  tern_account_auth_forget_token (fixture->auth);
  token = get_secret (fixture->auth, &other);
  g_assert_no_error (other);
  mechanism = imap_login (fixture->servers,
                          tern_test_servers_get_user (fixture->servers, 1)->login, token, &other);
  g_assert_null (mechanism);
  g_assert_nonnull (other);
}

static void
test_revoked_sign_in (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *answer = NULL;

  if (fixture->servers == NULL)
    return;

  answer = provider_call ("/revoke-refresh-tokens", TRUE);
  token = get_secret (fixture->auth, &error);
  g_assert_null (token);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "invalid_grant"));
}

static void
test_smtp_token (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autoptr(TernSmtpClient) client = tern_smtp_client_new ();
  TernConnection *connection = tern_smtp_client_get_connection (client);
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) auth_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  if (fixture->servers == NULL)
    return;
  if (!fixture->servers->has_smtp)
    {
      g_test_skip ("no Postfix in this set");
      return;
    }

  token = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  database = tern_test_servers_new_tls_database (fixture->servers, &error);
  tern_connection_set_tls_database (connection, database);
  tern_connection_set_io_timeout (connection, 10 * 1000);
  tern_smtp_client_connect_async (client, fixture->servers->host, fixture->servers->smtps_port,
                                  TERN_CONNECTION_SECURITY_TLS, NULL, got_result_cb, &result);
  tern_smtp_client_connect_finish (client, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (g_strv_contains (tern_smtp_client_get_auth_mechanisms (client), "XOAUTH2"));

  tern_smtp_client_authenticate_async (client, fixture->user->login, token, TRUE, NULL,
                                       got_result_cb, &auth_result);
  tern_smtp_client_authenticate_finish (client, wait_for (&auth_result), &error);
  g_assert_no_error (error);
  g_assert_true (tern_smtp_client_is_authenticated (client));
}

static void
start_provider (TernTestServers *servers)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port_file = g_build_filename (scratch, "oauth2.port", NULL);
  g_autofree char *dir = g_path_get_dirname (servers->ctl);
  g_autofree char *script = g_build_filename (dir, "tern_test_oauth2.py", NULL);
  g_autofree char *port = NULL;
  g_autofree char *introspect = NULL;
  const char *args[] = { "oauth2", NULL, NULL };

  provider = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, servers->python, script,
                               "--port-file", port_file, "--rotate-refresh-tokens", NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 200 && !g_file_get_contents (port_file, &port, NULL, NULL); i++)
    g_usleep (50 * 1000);
  g_assert_nonnull (port);
  issuer = g_strdup_printf ("http://127.0.0.1:%u", (guint) g_ascii_strtoull (port, NULL, 10));
  introspect = g_strconcat (issuer, "/introspect", NULL);
  args[1] = introspect;
  g_assert_true (tern_test_servers_run_ctl (servers, args, NULL, &error));
  g_assert_no_error (error);
}

#ifdef TERN_HAVE_GOA
/* Children die with the test, should an assertion end it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocess *
spawn_child (GError     **error,
             const char  *first,
             ...)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (argv, (char *) first);
  va_start (args, first);
  for (const char *arg = va_arg (args, const char *); arg != NULL;
       arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
}

/* Starts a D-Bus session bus of the test's own, made this process's
 * session bus; returns the daemon. */
static GSubprocess *
start_session_bus (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *address = NULL;
  GSubprocess *daemon;

  daemon = spawn_child (&error, "dbus-daemon", "--session", "--nofork", "--print-address=1",
                        NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  address = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (address);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", g_strstrip (address), TRUE);
  return daemon;
}

static guint
count_lines (const char *path)
{
  g_autofree char *text = NULL;
  guint lines = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const char *p = text; *p != '\0'; p++)
    lines += *p == '\n';
  return lines;
}

/* An OAuth2 account of GNOME Online Accounts (Google's, say): Tern takes
 * its settings, marks it as signing in with OAuth2 without a provider of
 * its own, and logs in with the access tokens GOA hands out.  GOA itself
 * is played by tern_test_fake_goa.py, which gives out a token the local
 * provider issued, as goa-daemon gives the one its provider issued. */
static void
test_goa_account_tokens (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) bus = NULL;
  g_autoptr(GSubprocess) goa = NULL;
  g_autoptr(GDataInputStream) goa_out = NULL;
  g_autoptr(GoaClient) client = NULL;
  g_autoptr(GoaObject) object = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernAccount) reloaded = NULL;
  g_autoptr(TernCredentials) memory = NULL;
  g_autoptr(TernCredentials) credentials = NULL;
  g_autoptr(TernAccountAuth) auth = NULL;
  g_autofree char *issued = NULL;
  g_autofree char *token = NULL;
  g_autofree char *again = NULL;
  g_autofree char *mechanism = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *imap = NULL;
  g_autofree char *smtp = NULL;
  g_autofree char *script = NULL;
  g_autofree char *token_file = g_build_filename (scratch, "goa-token", NULL);
  g_autofree char *calls_file = g_build_filename (scratch, "goa-calls", NULL);
  g_autofree char *account_file = g_build_filename (scratch, "goa.ini", NULL);

  if (fixture->servers == NULL)
    return;

  /* The token GOA got from its provider. */
  issued = get_secret (fixture->auth, &error);
  g_assert_no_error (error);
  g_file_set_contents (token_file, issued, -1, &error);
  g_assert_no_error (error);

  bus = start_session_bus ();
  script = g_test_build_filename (G_TEST_DIST, "integration", "tern_test_fake_goa.py", NULL);
  imap = g_strdup_printf ("%s:%u", fixture->servers->host, fixture->servers->imaps_port);
  smtp = g_strdup_printf ("%s:%u", fixture->servers->host, fixture->servers->smtps_port);
  goa = spawn_child (&error, "/usr/bin/python3", script, "account_goa_oauth2",
                     fixture->user->login, imap, smtp, token_file, calls_file, NULL);
  g_assert_no_error (error);
  goa_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (goa));
  ready = g_data_input_stream_read_line (goa_out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ready, ==, "ready");

  client = goa_client_new_sync (NULL, &error);
  g_assert_no_error (error);
  object = goa_client_lookup_by_id (client, "account_goa_oauth2");
  g_assert_nonnull (object);

  account = tern_goa_account_new (object, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_account_get_auth_method (account), ==, TERN_AUTH_METHOD_OAUTH2);
  g_assert_cmpstr (tern_account_get_goa_id (account), ==, "account_goa_oauth2");
  g_assert_cmpuint (tern_account_get_receiving_port (account), ==, fixture->servers->imaps_port);

  /* Its file names no provider of its own, and loads again. */
  g_assert_true (tern_account_save_to_file (account, account_file, &error));
  g_assert_no_error (error);
  reloaded = tern_account_new_from_file (account_file, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_account_get_auth_method (reloaded), ==, TERN_AUTH_METHOD_OAUTH2);
  g_assert_null (tern_account_get_oauth2_provider (reloaded));

  memory = tern_credentials_memory_new ();
  credentials = tern_credentials_for_account (reloaded, memory);
  g_assert_true (TERN_IS_CREDENTIALS_GOA (credentials));
  auth = tern_account_auth_new (reloaded, credentials);

  token = get_secret (auth, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, issued);
  g_assert_cmpuint (count_lines (calls_file), ==, 1);
  /* Kept while it lasts: GOA is not asked again. */
  again = get_secret (auth, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, token);
  g_assert_cmpuint (count_lines (calls_file), ==, 1);

  mechanism = imap_login (fixture->servers, fixture->user->login, token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mechanism, ==, "OAUTHBEARER");

  /* An account GOA cannot give a token for says so. */
  tern_account_auth_forget_token (auth);
  g_file_set_contents (token_file, "", 0, &error);
  g_assert_no_error (error);
  g_clear_pointer (&token, g_free);
  token = get_secret (auth, &error);
  g_assert_null (token);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "GNOME Online Accounts gave no access token"));

  g_subprocess_send_signal (goa, SIGTERM);
  g_subprocess_wait (goa, NULL, NULL);
  g_subprocess_send_signal (bus, SIGTERM);
  g_subprocess_wait (bus, NULL, NULL);
  g_unlink (token_file);
  g_unlink (calls_file);
  g_unlink (account_file);
}
#endif

#define ADD_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TernTestServers) servers = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  scratch = g_dir_make_tmp ("tern-oauth2-XXXXXX", NULL);
  servers = tern_test_servers_load (NULL);
  if (servers != NULL)
    start_provider (servers);

  ADD_TEST ("/oauth2/imap/oauthbearer-with-an-access-token", test_imap_oauthbearer);
  ADD_TEST ("/oauth2/imap/xoauth2-when-only-that-is-offered", test_imap_xoauth2);
  ADD_TEST ("/oauth2/imap/revoked-kept-token-is-refreshed-once",
            test_revoked_token_is_refreshed_once);
  ADD_TEST ("/oauth2/imap/expired-or-wrong-user-token-fails-cleanly",
            test_expired_token_fails_cleanly);
  ADD_TEST ("/oauth2/smtp/submission-takes-an-access-token", test_smtp_token);
  ADD_TEST ("/oauth2/refresh/revoked-sign-in-is-a-clear-error", test_revoked_sign_in);
#ifdef TERN_HAVE_GOA
  ADD_TEST ("/oauth2/goa/online-account-signs-in-with-goa-tokens", test_goa_account_tokens);
#endif

  status = g_test_run ();

  if (provider != NULL)
    {
      const char *reset[] = { "oauth2", "--reset", NULL };

      if (servers != NULL)
        tern_test_servers_run_ctl (servers, reset, NULL, NULL);
      g_subprocess_send_signal (provider, SIGTERM);
      g_subprocess_wait (provider, NULL, NULL);
      g_clear_object (&provider);
    }
  if (scratch != NULL)
    {
      g_autofree char *port_file = g_build_filename (scratch, "oauth2.port", NULL);
      g_autofree char *work = g_build_filename (scratch, "work.ini", NULL);

      g_unlink (port_file);
      g_unlink (work);
      g_rmdir (scratch);
    }
  g_free (issuer);
  g_free (scratch);
  return status;
}
