/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "tern-credentials-memory.h"
#include "tern-oauth2.h"
#include "tern-test-util.h"

/*
 * OAuth2 against a provider written here: a SoupServer on 127.0.0.1 with
 * an authorization endpoint (which answers the way a provider does once
 * the user has signed in: a redirect to Tern's loopback server) and a
 * token endpoint that checks the code, the redirect URI and the PKCE
 * verifier against the challenge.  The "browser" is a SoupSession that
 * follows the redirect.  Nothing leaves 127.0.0.1.
 */

typedef enum
{
  PROVIDER_GRANTS,
  PROVIDER_USER_DENIES,
  PROVIDER_WRONG_STATE,
  PROVIDER_FORGETS_CHALLENGE,
} ProviderMode;

typedef struct
{
  SoupServer *server;
  char *base;
  ProviderMode mode;
  char *challenge;
  char *redirect_uri;
  char *login_hint;
  gboolean pkce_checked;
  guint token_requests;
  char *refresh_token;
  SoupSession *browser;
} Fixture;

static void
respond_json (SoupServerMessage *message,
              guint              status,
              const char        *json)
{
  soup_server_message_set_status (message, status, NULL);
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_COPY, json,
                                    strlen (json));
}

static char *
challenge_of (const char *verifier)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize length = sizeof digest;
  GString *text;
  g_autofree char *base64 = NULL;

  g_checksum_update (checksum, (const guchar *) verifier, strlen (verifier));
  g_checksum_get_digest (checksum, digest, &length);
  base64 = g_base64_encode (digest, length);
  text = g_string_new (base64);
  g_string_replace (text, "+", "-", 0);
  g_string_replace (text, "/", "_", 0);
  g_string_replace (text, "=", "", 0);
  return g_string_free (text, FALSE);
}

static void
authorize_cb (SoupServer        *server,
              SoupServerMessage *message,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  Fixture *fixture = user_data;
  const char *state = g_hash_table_lookup (query, "state");
  g_autofree char *location = NULL;

  g_assert_cmpstr (g_hash_table_lookup (query, "response_type"), ==, "code");
  g_assert_cmpstr (g_hash_table_lookup (query, "client_id"), ==, "tern-test-client");
  g_assert_cmpstr (g_hash_table_lookup (query, "scope"), ==, "mail");
  g_assert_cmpstr (g_hash_table_lookup (query, "code_challenge_method"), ==, "S256");
  g_assert_nonnull (state);
  /* RFC 7636: a verifier of 43 or more characters gives a 43-character
   * challenge. */
  g_assert_cmpuint (strlen (g_hash_table_lookup (query, "code_challenge")), ==, 43);

  g_free (fixture->challenge);
  fixture->challenge = g_strdup (g_hash_table_lookup (query, "code_challenge"));
  g_free (fixture->redirect_uri);
  fixture->redirect_uri = g_strdup (g_hash_table_lookup (query, "redirect_uri"));
  g_free (fixture->login_hint);
  fixture->login_hint = g_strdup (g_hash_table_lookup (query, "login_hint"));
  g_assert_true (g_str_has_prefix (fixture->redirect_uri, "http://127.0.0.1:"));

  switch (fixture->mode)
    {
    case PROVIDER_USER_DENIES:
      location = g_strdup_printf ("%s?error=access_denied&error_description=No+thanks&state=%s",
                                  fixture->redirect_uri, state);
      break;
    case PROVIDER_WRONG_STATE:
      location = g_strdup_printf ("%s?code=the-code&state=forged", fixture->redirect_uri);
      break;
    case PROVIDER_FORGETS_CHALLENGE:
      g_free (fixture->challenge);
      fixture->challenge = g_strdup ("not-the-challenge-of-any-verifier-at-all-xx");
      G_GNUC_FALLTHROUGH;
    case PROVIDER_GRANTS:
    default:
      location = g_strdup_printf ("%s?code=the-code&state=%s", fixture->redirect_uri, state);
      break;
    }

  soup_server_message_set_redirect (message, 302, location);
}

static void
token_cb (SoupServer        *server,
          SoupServerMessage *message,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  Fixture *fixture = user_data;
  SoupMessageBody *body = soup_server_message_get_request_body (message);
  g_autoptr(GHashTable) form = NULL;
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  const char *grant;

  fixture->token_requests++;
  g_assert_cmpstr (soup_server_message_get_method (message), ==, "POST");
  form = soup_form_decode (text);
  grant = g_hash_table_lookup (form, "grant_type");
  g_assert_cmpstr (g_hash_table_lookup (form, "client_id"), ==, "tern-test-client");

  if (g_strcmp0 (grant, "authorization_code") == 0)
    {
      const char *verifier = g_hash_table_lookup (form, "code_verifier");
      g_autofree char *expected = verifier != NULL ? challenge_of (verifier) : NULL;

      if (g_strcmp0 (g_hash_table_lookup (form, "code"), "the-code") != 0 ||
          g_strcmp0 (g_hash_table_lookup (form, "redirect_uri"), fixture->redirect_uri) != 0 ||
          g_strcmp0 (expected, fixture->challenge) != 0)
        {
          respond_json (message, 400, "{\"error\":\"invalid_grant\","
                                      "\"error_description\":\"PKCE verification failed\"}");
          return;
        }

      fixture->pkce_checked = TRUE;
      respond_json (message, 200, "{\"access_token\":\"access-1\",\"refresh_token\":\"refresh-1\","
                                  "\"expires_in\":3600,\"token_type\":\"Bearer\"}");
      return;
    }

  if (g_strcmp0 (grant, "refresh_token") == 0)
    {
      if (g_strcmp0 (g_hash_table_lookup (form, "refresh_token"), fixture->refresh_token) != 0)
        {
          respond_json (message, 400, "{\"error\":\"invalid_grant\","
                                      "\"error_description\":\"Token has been revoked\"}");
          return;
        }

      /* The provider rotates the refresh token. */
      g_free (fixture->refresh_token);
      fixture->refresh_token = g_strdup ("refresh-2");
      respond_json (message, 200, "{\"access_token\":\"access-2\",\"refresh_token\":\"refresh-2\","
                                  "\"expires_in\":3600}");
      return;
    }

  respond_json (message, 400, "{\"error\":\"unsupported_grant_type\"}");
}

static void
browser_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              NULL);
}

/* Plays the user's browser: opens the page and follows the redirect. */
static gboolean
open_uri_cb (const char  *uri,
             gpointer     user_data,
             GError     **error)
{
  Fixture *fixture = user_data;
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);

  g_assert_nonnull (message);
  soup_session_send_and_read_async (fixture->browser, message, G_PRIORITY_DEFAULT, NULL,
                                    browser_done_cb, NULL);
  return TRUE;
}

static gboolean
no_browser_cb (const char  *uri,
               gpointer     user_data,
               GError     **error)
{
  g_set_error_literal (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_BROWSER, "no browser here");
  return FALSE;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GError) error = NULL;
  GSList *uris;

  fixture->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fixture->server, "/authorize", authorize_cb, fixture, NULL);
  soup_server_add_handler (fixture->server, "/token", token_cb, fixture, NULL);
  soup_server_listen (fixture->server, address, 0, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fixture->server);
  fixture->base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  fixture->browser = soup_session_new ();
  fixture->refresh_token = g_strdup ("refresh-1");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  tern_test_drain_main_context ();
  g_clear_object (&fixture->browser);
  soup_server_disconnect (fixture->server);
  g_clear_object (&fixture->server);
  g_free (fixture->base);
  g_free (fixture->challenge);
  g_free (fixture->redirect_uri);
  g_free (fixture->login_hint);
  g_free (fixture->refresh_token);
  tern_test_drain_main_context ();
}

static TernOAuth2 *
make_oauth2 (Fixture *fixture)
{
  g_autofree char *authorize = g_strconcat (fixture->base, "/authorize", NULL);
  g_autofree char *token = g_strconcat (fixture->base, "/token", NULL);
  TernOAuth2 *oauth2 = tern_oauth2_new (authorize, token, "tern-test-client", NULL, "mail");

  tern_oauth2_set_open_uri_func (oauth2, open_uri_cb, fixture);
  return oauth2;
}

static TernOAuth2Tokens *
authorize (TernOAuth2    *oauth2,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_oauth2_authorize_async (oauth2, "ada@example.test", cancellable, tern_test_got_result_cb,
                               &result);
  return tern_oauth2_authorize_finish (oauth2, tern_test_wait_for (&result), error);
}

static void
test_authorize_with_pkce (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(TernOAuth2) oauth2 = make_oauth2 (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = authorize (oauth2, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tokens);
  g_assert_true (fixture->pkce_checked);
  g_assert_cmpstr (tokens->access_token, ==, "access-1");
  g_assert_cmpstr (tokens->refresh_token, ==, "refresh-1");
  g_assert_cmpint (tokens->expires_in, ==, 3600);
  g_assert_cmpstr (fixture->login_hint, ==, "ada@example.test");
}

static void
test_user_denies (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(TernOAuth2) oauth2 = make_oauth2 (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;

  fixture->mode = PROVIDER_USER_DENIES;
  tokens = authorize (oauth2, NULL, &error);
  g_assert_null (tokens);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_DENIED);
  g_assert_nonnull (strstr (error->message, "No thanks"));
  g_assert_cmpuint (fixture->token_requests, ==, 0);
}

static void
test_wrong_state_is_ignored (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(TernOAuth2) oauth2 = make_oauth2 (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;

  /* A redirect that does not carry Tern's state could come from any page:
   * no code from it is ever exchanged, and the flow waits until its
   * timeout. */
  fixture->mode = PROVIDER_WRONG_STATE;
  tern_oauth2_set_timeout (oauth2, 1);
  tokens = authorize (oauth2, NULL, &error);
  g_assert_null (tokens);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_DENIED);
  g_assert_cmpuint (fixture->token_requests, ==, 0);
}

static void
test_pkce_mismatch_refused (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(TernOAuth2) oauth2 = make_oauth2 (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;

  fixture->mode = PROVIDER_FORGETS_CHALLENGE;
  tokens = authorize (oauth2, NULL, &error);
  g_assert_null (tokens);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "invalid_grant"));
  g_assert_false (fixture->pkce_checked);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
open_nothing_cb (const char  *uri,
                 gpointer     user_data,
                 GError     **error)
{
  return TRUE;
}

static void
test_cancel_and_no_browser (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(TernOAuth2) oauth2 = make_oauth2 (fixture);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;
  g_autoptr(TernOAuth2Tokens) none = NULL;

  /* The user never finishes in the browser; the app cancels. */
  tern_oauth2_set_open_uri_func (oauth2, open_nothing_cb, NULL);
  g_timeout_add (100, cancel_cb, cancellable);
  tokens = authorize (oauth2, cancellable, &error);
  g_assert_null (tokens);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  tern_oauth2_set_open_uri_func (oauth2, no_browser_cb, NULL);
  none = authorize (oauth2, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_BROWSER);
}

static char *
get_access_token (TernOAuth2       *oauth2,
                  TernCredentials  *credentials,
                  GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_oauth2_get_access_token_async (oauth2, credentials, "work", NULL, tern_test_got_result_cb,
                                      &result);
  return tern_oauth2_get_access_token_finish (oauth2, tern_test_wait_for (&result), error);
}

static void
test_refresh_rotates_stored_token (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(TernOAuth2) oauth2 = make_oauth2 (fixture);
  g_autoptr(TernCredentials) memory = tern_credentials_memory_new ();
  g_autoptr(GAsyncResult) stored = NULL;
  g_autoptr(GAsyncResult) looked_up = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *access = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *refused = NULL;

  missing = get_access_token (oauth2, memory, &error);
  g_assert_null (missing);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  tern_credentials_store_async (memory, "work", TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, "refresh-1",
                                NULL, tern_test_got_result_cb, &stored);
  g_assert_true (tern_credentials_store_finish (memory, tern_test_wait_for (&stored), &error));

  access = get_access_token (oauth2, memory, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (access, ==, "access-2");

  /* The rotated refresh token replaced the old one. */
  tern_credentials_lookup_async (memory, "work", TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, NULL,
                                 tern_test_got_result_cb, &looked_up);
  kept = tern_credentials_lookup_finish (memory, tern_test_wait_for (&looked_up), &error);
  g_assert_cmpstr (kept, ==, "refresh-2");

  /* A revoked token is refused with the provider's words. */
  g_free (fixture->refresh_token);
  fixture->refresh_token = g_strdup ("something-else");
  refused = get_access_token (oauth2, memory, &error);
  g_assert_null (refused);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "revoked"));
  g_assert_null (strstr (error->message, "refresh-2"));
}

static void
test_providers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernOAuth2) unknown = tern_oauth2_new_for_provider ("example", &error);

  g_assert_null (unknown);
  g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED);
  g_clear_error (&error);

  g_assert_cmpstr (tern_oauth2_provider_for_host ("imap.gmail.com"), ==, "google");
  g_assert_cmpstr (tern_oauth2_provider_for_host ("Outlook.Office365.com"), ==, "microsoft");
  g_assert_null (tern_oauth2_provider_for_host ("imap.example.test"));

  /* Without a client ID set at build time, a provider says so. */
  if (*TERN_OAUTH2_GOOGLE_CLIENT_ID == '\0')
    {
      g_autoptr(TernOAuth2) google = tern_oauth2_new_for_provider ("google", &error);

      g_assert_null (google);
      g_assert_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED);
    }
}

#define ADD_FIXTURE_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  ADD_FIXTURE_TEST ("/oauth2/authorize/code-exchanged-with-pkce", test_authorize_with_pkce);
  ADD_FIXTURE_TEST ("/oauth2/authorize/user-denies", test_user_denies);
  ADD_FIXTURE_TEST ("/oauth2/authorize/wrong-state-is-never-exchanged",
                    test_wrong_state_is_ignored);
  ADD_FIXTURE_TEST ("/oauth2/authorize/pkce-mismatch-is-refused", test_pkce_mismatch_refused);
  ADD_FIXTURE_TEST ("/oauth2/authorize/cancel-and-missing-browser", test_cancel_and_no_browser);
  ADD_FIXTURE_TEST ("/oauth2/refresh/rotated-token-is-stored", test_refresh_rotates_stored_token);
  g_test_add_func ("/oauth2/providers/need-a-client-id", test_providers);

  return g_test_run ();
}
