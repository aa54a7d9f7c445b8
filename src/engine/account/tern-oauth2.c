/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/random.h>

#include "tern-oauth2.h"

/*
 * OAuth2 authorization code flow with PKCE for a native app.
 *
 * authorize: a SoupServer listens on 127.0.0.1 on a port the system picks
 * (RFC 8252 §7.3); the redirect URI is http://127.0.0.1:PORT/.  The page
 * the browser opens carries a random state and the S256 challenge of a
 * random verifier.  Requests to the server without the right state are
 * answered 400 and otherwise ignored, so that another page cannot end the
 * flow; the first request with the right state ends it, with a code (then
 * exchanged, with the verifier, at the token endpoint) or an error.
 *
 * Token answers are read up to 64 KiB and parsed as JSON; an OAuth2 error
 * answer ("error", "error_description") becomes TERN_OAUTH2_ERROR_REFUSED.
 * No token is ever logged or put in an error message.
 */

G_DEFINE_QUARK (tern-oauth2-error-quark, tern_oauth2_error)

#define MAX_TOKEN_RESPONSE (64 * 1024)
#define DEFAULT_TIMEOUT_SECONDS (5 * 60)
#define HTTP_TIMEOUT_SECONDS 30

void
tern_oauth2_tokens_free (TernOAuth2Tokens *tokens)
{
  if (tokens == NULL)
    return;

  tern_credentials_free_secret (tokens->access_token);
  tern_credentials_free_secret (tokens->refresh_token);
  g_free (tokens);
}

struct _TernOAuth2
{
  GObject parent_instance;

  char *authorization_uri;
  char *token_uri;
  char *client_id;
  char *client_secret;
  char *scope;
  /* Extra parameters for the authorization page, "key", "value", … */
  GPtrArray *extra;
  TernOAuth2OpenUriFunc open_uri;
  gpointer open_uri_data;
  guint timeout_seconds;
  SoupSession *session;
};

G_DEFINE_FINAL_TYPE (TernOAuth2, tern_oauth2, G_TYPE_OBJECT)

static void
tern_oauth2_finalize (GObject *object)
{
  TernOAuth2 *self = TERN_OAUTH2 (object);

  g_free (self->authorization_uri);
  g_free (self->token_uri);
  g_free (self->client_id);
  g_free (self->client_secret);
  g_free (self->scope);
  g_clear_pointer (&self->extra, g_ptr_array_unref);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (tern_oauth2_parent_class)->finalize (object);
}

static void
tern_oauth2_class_init (TernOAuth2Class *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_oauth2_finalize;
}

static gboolean
open_in_browser (const char  *uri,
                 gpointer     user_data,
                 GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_app_info_launch_default_for_uri (uri, NULL, &local_error))
    {
      g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_BROWSER,
                   "could not open the browser: %s", local_error->message);
      return FALSE;
    }

  return TRUE;
}

static void
tern_oauth2_init (TernOAuth2 *self)
{
  g_autofree char *agent = g_strdup_printf ("Tern/%s", PACKAGE_VERSION);

  self->extra = g_ptr_array_new_with_free_func (g_free);
  self->open_uri = open_in_browser;
  self->timeout_seconds = DEFAULT_TIMEOUT_SECONDS;
  self->session = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_SECONDS,
                                                 "user-agent", agent, NULL);
}

/**
 * tern_oauth2_new:
 * @authorization_uri: the provider's authorization endpoint
 * @token_uri: its token endpoint
 * @client_id: Tern's client ID there
 * @client_secret: (nullable): the "secret" some providers give desktop
 *   apps (it cannot be kept secret in a desktop app; PKCE protects the flow)
 * @scope: the scopes to ask for, separated by spaces
 *
 * Returns: (transfer full): a sign-in for one provider.
 */
TernOAuth2 *
tern_oauth2_new (const char *authorization_uri,
                 const char *token_uri,
                 const char *client_id,
                 const char *client_secret,
                 const char *scope)
{
  TernOAuth2 *self = g_object_new (TERN_TYPE_OAUTH2, NULL);

  self->authorization_uri = g_strdup (authorization_uri);
  self->token_uri = g_strdup (token_uri);
  self->client_id = g_strdup (client_id);
  self->client_secret = client_secret != NULL && *client_secret != '\0'
                          ? g_strdup (client_secret) : NULL;
  self->scope = g_strdup (scope);

  return self;
}

typedef struct
{
  const char *name;
  const char *hosts;
  const char *authorization_uri;
  const char *token_uri;
  const char *scope;
  const char *client_id;
  const char *client_secret;
  /* "key=value&key=value" added to the authorization page's query */
  const char *extra;
} Provider;

/* The client IDs are set when Tern is built (meson options
 * oauth2_google_client_id and so on); empty means not available. */
static const Provider providers[] = {
  { "google", "imap.gmail.com smtp.gmail.com pop.gmail.com",
    "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
    "https://mail.google.com/", TERN_OAUTH2_GOOGLE_CLIENT_ID, TERN_OAUTH2_GOOGLE_CLIENT_SECRET,
    "access_type=offline&prompt=consent" },
  { "microsoft", "outlook.office365.com smtp-mail.outlook.com smtp.office365.com",
    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
    TERN_OAUTH2_MICROSOFT_CLIENT_ID, "", NULL },
};

/**
 * tern_oauth2_new_for_provider:
 * @provider: "google" or "microsoft"
 *
 * Returns: (transfer full) (nullable): the sign-in, or %NULL with
 *   %TERN_OAUTH2_ERROR_NOT_CONFIGURED when this build has no client ID for
 *   @provider.
 */
TernOAuth2 *
tern_oauth2_new_for_provider (const char  *provider,
                              GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    {
      TernOAuth2 *self;

      if (g_strcmp0 (providers[i].name, provider) != 0)
        continue;

      if (*providers[i].client_id == '\0')
        {
          g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED,
                       "this build of Tern has no OAuth2 client ID for %s; use an app "
                       "password instead", provider);
          return NULL;
        }

      self = tern_oauth2_new (providers[i].authorization_uri, providers[i].token_uri,
                              providers[i].client_id, providers[i].client_secret,
                              providers[i].scope);
      if (providers[i].extra != NULL)
        {
          g_auto(GStrv) pairs = g_strsplit (providers[i].extra, "&", -1);

          for (guint j = 0; pairs[j] != NULL; j++)
            {
              g_auto(GStrv) pair = g_strsplit (pairs[j], "=", 2);

              g_ptr_array_add (self->extra, g_strdup (pair[0]));
              g_ptr_array_add (self->extra, g_strdup (pair[1] != NULL ? pair[1] : ""));
            }
        }
      return self;
    }

  g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED,
               "Tern knows no OAuth2 provider “%s”", provider != NULL ? provider : "");
  return NULL;
}

/**
 * tern_oauth2_provider_for_host:
 *
 * Returns: (nullable): "google" or "microsoft" for their mail servers.
 */
const char *
tern_oauth2_provider_for_host (const char *host)
{
  g_autofree char *lower = NULL;

  if (host == NULL)
    return NULL;

  lower = g_ascii_strdown (host, -1);
  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    {
      g_auto(GStrv) hosts = g_strsplit (providers[i].hosts, " ", -1);

      if (g_strv_contains ((const char * const *) hosts, lower))
        return providers[i].name;
    }

  return NULL;
}

/**
 * tern_oauth2_set_open_uri_func:
 *
 * Replaces the way the authorization page is opened (the system browser
 * by default); tests use it to play the browser.
 */
void
tern_oauth2_set_open_uri_func (TernOAuth2            *self,
                               TernOAuth2OpenUriFunc  func,
                               gpointer               user_data)
{
  g_return_if_fail (TERN_IS_OAUTH2 (self));

  self->open_uri = func != NULL ? func : open_in_browser;
  self->open_uri_data = user_data;
}

/**
 * tern_oauth2_set_timeout:
 * @seconds: how long to wait for the user to finish in the browser
 */
void
tern_oauth2_set_timeout (TernOAuth2 *self,
                         guint       seconds)
{
  g_return_if_fail (TERN_IS_OAUTH2 (self));

  self->timeout_seconds = MAX (seconds, 1);
}

/* PKCE and state */

static char *
base64url (const guint8 *data,
           gsize         length)
{
  char *text = g_base64_encode (data, length);
  gsize end = strlen (text);

  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
    }
  while (end > 0 && text[end - 1] == '=')
    text[--end] = '\0';

  return text;
}

static char *
random_token (gsize bytes)
{
  guint8 buffer[64];
  gsize filled = 0;

  g_assert (bytes <= sizeof buffer);
  while (filled < bytes)
    {
      gssize got = getrandom (buffer + filled, bytes - filled, 0);

      if (got > 0)
        filled += got;
    }

  return base64url (buffer, bytes);
}

static char *
s256_challenge (const char *verifier)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize length = sizeof digest;

  g_checksum_update (checksum, (const guchar *) verifier, strlen (verifier));
  g_checksum_get_digest (checksum, digest, &length);
  return base64url (digest, length);
}

/* Token requests */

static TernOAuth2Tokens *
parse_token_response (SoupMessage  *message,
                      GBytes       *body,
                      GError      **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) json_error = NULL;
  TernOAuth2Tokens *tokens;
  JsonObject *object;
  gsize size = 0;
  const char *data = g_bytes_get_data (body, &size);
  guint status = soup_message_get_status (message);

  if (size > MAX_TOKEN_RESPONSE)
    {
      g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_PROTOCOL,
                   "the token endpoint's answer is larger than %d bytes", MAX_TOKEN_RESPONSE);
      return NULL;
    }

  if (data == NULL || !json_parser_load_from_data (parser, data, size, &json_error) ||
      json_parser_get_root (parser) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_PROTOCOL,
                   "the token endpoint answered %u without a JSON object", status);
      return NULL;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (object, "error") || status != SOUP_STATUS_OK)
    {
      const char *code = json_object_get_string_member_with_default (object, "error", "");
      const char *description =
        json_object_get_string_member_with_default (object, "error_description", "");
      g_autofree char *shown = g_utf8_make_valid (description, MIN (strlen (description), 300));

      g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_REFUSED,
                   "the provider refused: %s%s%s (HTTP %u)", code, *shown != '\0' ? ": " : "",
                   shown, status);
      return NULL;
    }

  if (!json_object_has_member (object, "access_token") ||
      json_object_get_string_member_with_default (object, "access_token", NULL) == NULL ||
      *json_object_get_string_member_with_default (object, "access_token", "") == '\0')
    {
      g_set_error_literal (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_PROTOCOL,
                           "the token endpoint's answer has no access token");
      return NULL;
    }

  tokens = g_new0 (TernOAuth2Tokens, 1);
  tokens->access_token = g_strdup (json_object_get_string_member (object, "access_token"));
  if (json_object_has_member (object, "refresh_token"))
    tokens->refresh_token =
      g_strdup (json_object_get_string_member_with_default (object, "refresh_token", NULL));
  tokens->expires_in = json_object_get_int_member_with_default (object, "expires_in", 0);

  return tokens;
}

static void
token_response_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);
  TernOAuth2Tokens *tokens;

  if (body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  tokens = parse_token_response (message, body, &error);
  if (tokens == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, tokens, (GDestroyNotify) tern_oauth2_tokens_free);
}

/* Posts a form to the token endpoint; @task gets the tokens. */
static void
post_token_request (TernOAuth2 *self,
                    GHashTable *form,
                    GTask      *task)
{
  g_autoptr(SoupMessage) message = NULL;
  char *encoded;

  g_hash_table_insert (form, (char *) "client_id", self->client_id);
  if (self->client_secret != NULL)
    g_hash_table_insert (form, (char *) "client_secret", self->client_secret);

  encoded = soup_form_encode_hash (form);
  message = soup_message_new_from_encoded_form (SOUP_METHOD_POST, self->token_uri, encoded);
  if (message == NULL)
    {
      g_task_return_new_error (task, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_PROTOCOL,
                               "“%s” is not a token endpoint Tern can reach", self->token_uri);
      g_object_unref (task);
      return;
    }

  soup_message_add_flags (message, SOUP_MESSAGE_NO_REDIRECT);
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), token_response_cb, task);
}

/* The authorization flow */

typedef struct
{
  SoupServer *server;
  char *verifier;
  char *state;
  char *redirect_uri;
  GSource *timeout;
  GSource *cancel;
  gboolean answered;
} Flow;

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
flow_free (Flow *flow)
{
  destroy_source (&flow->timeout);
  destroy_source (&flow->cancel);
  if (flow->server != NULL)
    soup_server_disconnect (flow->server);
  g_clear_object (&flow->server);
  g_clear_pointer (&flow->verifier, tern_credentials_free_secret);
  g_free (flow->state);
  g_free (flow->redirect_uri);
  g_free (flow);
}

static const char page_done[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tern</title></head>"
  "<body><p>You are signed in. You can close this page and go back to Tern.</p></body></html>";
static const char page_failed[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tern</title></head>"
  "<body><p>Tern was not signed in. You can close this page.</p></body></html>";

static void
finish_flow_with_error (GTask  *task,
                        GError *error)
{
  Flow *flow = g_task_get_task_data (task);

  flow->answered = TRUE;
  destroy_source (&flow->timeout);
  destroy_source (&flow->cancel);
  g_task_return_error (task, error);
  g_object_unref (task);
}

typedef struct
{
  GTask *task;
  GError *error;
} LaterFinish;

static gboolean
finish_later_cb (gpointer user_data)
{
  LaterFinish *later = user_data;

  finish_flow_with_error (later->task, later->error);
  g_free (later);
  return G_SOURCE_REMOVE;
}

/* From inside the server's handler the task (which owns the server) must
 * not end: it ends once the handler has returned. */
static void
finish_flow_later (GTask  *task,
                   GError *error)
{
  Flow *flow = g_task_get_task_data (task);
  LaterFinish *later = g_new0 (LaterFinish, 1);
  GSource *source = g_idle_source_new ();

  flow->answered = TRUE;
  destroy_source (&flow->timeout);
  destroy_source (&flow->cancel);
  later->task = task;
  later->error = error;
  g_source_set_callback (source, finish_later_cb, later, NULL);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static void
redirect_cb (SoupServer        *server,
             SoupServerMessage *message,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  GTask *task = user_data;
  TernOAuth2 *self = g_task_get_source_object (task);
  Flow *flow = g_task_get_task_data (task);
  const char *state = query != NULL ? g_hash_table_lookup (query, "state") : NULL;
  const char *code = query != NULL ? g_hash_table_lookup (query, "code") : NULL;
  const char *error_code = query != NULL ? g_hash_table_lookup (query, "error") : NULL;
  g_autoptr(GHashTable) form = NULL;

  if (flow->answered || !g_str_equal (path, "/") ||
      soup_server_message_get_method (message) != SOUP_METHOD_GET)
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }

  /* Only the provider's redirect, carrying our state, counts. */
  if (state == NULL || !g_str_equal (state, flow->state))
    {
      soup_server_message_set_status (message, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }

  if (code == NULL || *code == '\0')
    {
      const char *description = g_hash_table_lookup (query, "error_description");
      g_autofree char *shown = NULL;

      if (description == NULL)
        description = "";
      shown = g_utf8_make_valid (description, MIN (strlen (description), 300));

      soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (message, "text/html", SOUP_MEMORY_STATIC, page_failed,
                                        strlen (page_failed));
      finish_flow_later (task, g_error_new (TERN_OAUTH2_ERROR,
                                                 g_strcmp0 (error_code, "access_denied") == 0
                                                   ? TERN_OAUTH2_ERROR_DENIED
                                                   : TERN_OAUTH2_ERROR_REFUSED,
                                                 "the sign-in was not completed: %s%s%s",
                                                 error_code != NULL ? error_code : "no code",
                                                 *shown != '\0' ? ": " : "", shown));
      return;
    }

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "text/html", SOUP_MEMORY_STATIC, page_done,
                                    strlen (page_done));
  flow->answered = TRUE;
  destroy_source (&flow->timeout);
  destroy_source (&flow->cancel);

  form = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (form, (char *) "grant_type", (char *) "authorization_code");
  g_hash_table_insert (form, (char *) "code", (char *) code);
  g_hash_table_insert (form, (char *) "redirect_uri", flow->redirect_uri);
  g_hash_table_insert (form, (char *) "code_verifier", flow->verifier);
  post_token_request (self, form, task);
}

static gboolean
flow_timed_out_cb (gpointer user_data)
{
  GTask *task = user_data;
  Flow *flow = g_task_get_task_data (task);

  /* The source is being dispatched: drop it without destroying it twice. */
  g_clear_pointer (&flow->timeout, g_source_unref);
  if (flow->answered)
    return G_SOURCE_REMOVE;
  finish_flow_with_error (task, g_error_new (TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_DENIED,
                                             "the sign-in in the browser was not finished in "
                                             "time"));
  return G_SOURCE_REMOVE;
}

/* A GCancellableSource: runs in the task's context whatever thread
 * cancelled. */
static gboolean
flow_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  GTask *task = user_data;
  Flow *flow = g_task_get_task_data (task);

  g_clear_pointer (&flow->cancel, g_source_unref);
  if (flow->answered)
    return G_SOURCE_REMOVE;
  finish_flow_with_error (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                     "the sign-in was cancelled"));
  return G_SOURCE_REMOVE;
}

/**
 * tern_oauth2_authorize_async:
 * @login_hint: (nullable): the address, so that the provider's page
 *   suggests it
 *
 * Opens the provider's sign-in page and waits for the user.
 */
void
tern_oauth2_authorize_async (TernOAuth2          *self,
                             const char          *login_hint,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;
  Flow *flow;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GHashTable) query = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *challenge = NULL;
  g_autofree char *encoded = NULL;
  g_autofree char *uri = NULL;
  GError *error = NULL;
  GSList *uris;

  g_return_if_fail (TERN_IS_OAUTH2 (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_oauth2_authorize_async);
  flow = g_new0 (Flow, 1);
  g_task_set_task_data (task, flow, (GDestroyNotify) flow_free);

  flow->verifier = random_token (32);
  flow->state = random_token (16);
  challenge = s256_challenge (flow->verifier);

  flow->server = soup_server_new ("server-header", "Tern", NULL);
  soup_server_add_handler (flow->server, NULL, redirect_cb, task, NULL);
  if (!soup_server_listen (flow->server, address, 0, &error))
    {
      finish_flow_with_error (task, error);
      return;
    }
  uris = soup_server_get_uris (flow->server);
  flow->redirect_uri = g_strdup_printf ("http://127.0.0.1:%d/", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_hash_table_insert (query, (char *) "response_type", (char *) "code");
  g_hash_table_insert (query, (char *) "client_id", self->client_id);
  g_hash_table_insert (query, (char *) "redirect_uri", flow->redirect_uri);
  g_hash_table_insert (query, (char *) "scope", self->scope);
  g_hash_table_insert (query, (char *) "state", flow->state);
  g_hash_table_insert (query, (char *) "code_challenge", challenge);
  g_hash_table_insert (query, (char *) "code_challenge_method", (char *) "S256");
  if (login_hint != NULL)
    g_hash_table_insert (query, (char *) "login_hint", (char *) login_hint);
  for (guint i = 0; i + 1 < self->extra->len; i += 2)
    g_hash_table_insert (query, self->extra->pdata[i], self->extra->pdata[i + 1]);

  encoded = soup_form_encode_hash (query);
  uri = g_strdup_printf ("%s%c%s", self->authorization_uri,
                         strchr (self->authorization_uri, '?') != NULL ? '&' : '?', encoded);

  flow->timeout = g_timeout_source_new_seconds (self->timeout_seconds);
  g_source_set_callback (flow->timeout, flow_timed_out_cb, task, NULL);
  g_source_attach (flow->timeout, g_task_get_context (task));
  if (cancellable != NULL)
    {
      flow->cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (flow->cancel, G_SOURCE_FUNC (flow_cancelled_cb), task, NULL);
      g_source_attach (flow->cancel, g_task_get_context (task));
    }

  if (!self->open_uri (uri, self->open_uri_data, &error))
    {
      finish_flow_with_error (task, error);
      return;
    }
}

TernOAuth2Tokens *
tern_oauth2_authorize_finish (TernOAuth2    *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_oauth2_refresh_async:
 * @refresh_token: the refresh token kept with the credentials
 *
 * Gets a new access token.  The answer may carry a new refresh token,
 * which replaces the old one.
 */
void
tern_oauth2_refresh_async (TernOAuth2          *self,
                           const char          *refresh_token,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;
  g_autoptr(GHashTable) form = g_hash_table_new (g_str_hash, g_str_equal);

  g_return_if_fail (TERN_IS_OAUTH2 (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_oauth2_refresh_async);

  g_hash_table_insert (form, (char *) "grant_type", (char *) "refresh_token");
  g_hash_table_insert (form, (char *) "refresh_token", (char *) refresh_token);
  post_token_request (self, form, task);
}

TernOAuth2Tokens *
tern_oauth2_refresh_finish (TernOAuth2    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* An access token for an account, from its stored refresh token */

typedef struct
{
  TernCredentials *credentials;
  char *account_id;
  char *access_token;
  gint64 expires_in;
} AccessRequest;

static void
access_request_free (AccessRequest *request)
{
  g_clear_object (&request->credentials);
  g_free (request->account_id);
  tern_credentials_free_secret (request->access_token);
  g_free (request);
}

static void
stored_rotated_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AccessRequest *request = g_task_get_task_data (task);
  GError *error = NULL;

  /* The access token is good even if keeping the new refresh token
   * failed; that failure must still be seen, or the next sign-in breaks. */
  if (!tern_credentials_store_finish (TERN_CREDENTIALS (source), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&request->access_token),
                         (GDestroyNotify) tern_credentials_free_secret);
}

static void
refreshed_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  AccessRequest *request = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = tern_oauth2_refresh_finish (TERN_OAUTH2 (source), result,
                                                                   &error);

  if (tokens == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  request->access_token = g_steal_pointer (&tokens->access_token);
  request->expires_in = tokens->expires_in;
  if (tokens->refresh_token != NULL && *tokens->refresh_token != '\0')
    {
      tern_credentials_store_async (request->credentials, request->account_id,
                                    TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, tokens->refresh_token,
                                    g_task_get_cancellable (task), stored_rotated_cb,
                                    g_object_ref (task));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&request->access_token),
                         (GDestroyNotify) tern_credentials_free_secret);
}

static void
looked_up_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *refresh_token = tern_credentials_lookup_finish (TERN_CREDENTIALS (source), result,
                                                        &error);

  if (refresh_token == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  tern_oauth2_refresh_async (g_task_get_source_object (task), refresh_token,
                             g_task_get_cancellable (task), refreshed_cb, g_object_ref (task));
  tern_credentials_free_secret (refresh_token);
}

/**
 * tern_oauth2_get_access_token_async:
 * @credentials: where the account's refresh token is kept
 * @account_id: the account
 *
 * Reads the account's refresh token, gets an access token with it, and
 * keeps the new refresh token when the provider rotates it.
 */
void
tern_oauth2_get_access_token_async (TernOAuth2          *self,
                                    TernCredentials     *credentials,
                                    const char          *account_id,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  GTask *task;
  AccessRequest *request;

  g_return_if_fail (TERN_IS_OAUTH2 (self));
  g_return_if_fail (TERN_IS_CREDENTIALS (credentials));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_oauth2_get_access_token_async);
  request = g_new0 (AccessRequest, 1);
  request->credentials = g_object_ref (credentials);
  request->account_id = g_strdup (account_id);
  g_task_set_task_data (task, request, (GDestroyNotify) access_request_free);

  tern_credentials_lookup_async (credentials, account_id, TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN,
                                 cancellable, looked_up_cb, task);
}

/**
 * tern_oauth2_get_access_token_finish:
 *
 * Returns: (transfer full) (nullable): the access token, to be freed with
 *   tern_credentials_free_secret().
 */
char *
tern_oauth2_get_access_token_finish (TernOAuth2    *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_oauth2_get_access_token_finish_full:
 * @out_expires_in: (out) (optional): seconds the token lasts from when it
 *   was issued, 0 when the provider did not say
 *
 * As tern_oauth2_get_access_token_finish(), with the token's lifetime.
 */
char *
tern_oauth2_get_access_token_finish_full (TernOAuth2    *self,
                                          GAsyncResult  *result,
                                          gint64        *out_expires_in,
                                          GError       **error)
{
  AccessRequest *request;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  request = g_task_get_task_data (G_TASK (result));
  if (out_expires_in != NULL)
    *out_expires_in = request->expires_in;

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tern_oauth2_new_for_account:
 * @account: an account with Auth=oauth2
 *
 * Returns: (transfer full) (nullable): the sign-in the account's [OAuth2]
 *   settings describe: a built-in provider, or a custom one with its own
 *   endpoints, client ID and scope; %NULL with
 *   %TERN_OAUTH2_ERROR_NOT_CONFIGURED when the account has none or this
 *   build has no client ID for its provider.
 */
TernOAuth2 *
tern_oauth2_new_for_account (TernAccount  *account,
                             GError      **error)
{
  const char *provider;

  g_return_val_if_fail (TERN_IS_ACCOUNT (account), NULL);

  provider = tern_account_get_oauth2_provider (account);
  if (tern_account_get_auth_method (account) != TERN_AUTH_METHOD_OAUTH2 || provider == NULL)
    {
      g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED,
                   "the account “%s” does not sign in with OAuth2",
                   tern_account_get_id (account));
      return NULL;
    }

  if (!g_str_equal (provider, "custom"))
    return tern_oauth2_new_for_provider (provider, error);

  if (tern_account_get_oauth2_authorization_uri (account) == NULL ||
      tern_account_get_oauth2_token_uri (account) == NULL ||
      tern_account_get_oauth2_client_id (account) == NULL)
    {
      g_set_error (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED,
                   "the account “%s” names no OAuth2 endpoints or client ID",
                   tern_account_get_id (account));
      return NULL;
    }

  return tern_oauth2_new (tern_account_get_oauth2_authorization_uri (account),
                          tern_account_get_oauth2_token_uri (account),
                          tern_account_get_oauth2_client_id (account), NULL,
                          tern_account_get_oauth2_scope (account) != NULL
                            ? tern_account_get_oauth2_scope (account) : "");
}
