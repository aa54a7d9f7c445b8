/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "tern-account-manager.h"
#include "tern-cli.h"
#include "tern-account-auth.h"
#include "tern-credentials.h"
#include "tern-credentials-secret.h"
#include "tern-pop3-downloader.h"
#include "tern-trust.h"

/*
 * tern-cli fetch ACCOUNT: one check of a POP3 account, with the account's
 * own policy (delete after download, keep, keep for N days, delete on the
 * server what was deleted here) and its Inbox, or the Inbox it collects
 * into.  Also the helpers the mail commands share: finding an account,
 * its password, and the certificates to trust.
 */

/**
 * tern_cli_load_account:
 *
 * Returns: (transfer full): the account @id of the profile, or %NULL with
 *   @error set.
 */
TernAccount *
tern_cli_load_account (TernCliContext  *context,
                       const char      *id,
                       GError         **error)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  TernAccount *account;

  manager = tern_account_manager_new (tern_paths_get_config_dir (context->paths));
  problems = tern_account_manager_load (manager, error);
  if (problems == NULL)
    return NULL;
  account = tern_account_manager_lookup (manager, id);
  if (account == NULL)
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_NOT_FOUND,
                   _("There is no account “%s”"), id);
      return NULL;
    }
  return g_object_ref (account);
}

/**
 * tern_cli_lookup_secret:
 *
 * Returns: (transfer full) (nullable): the account's secret of @kind from
 *   its password command or the keyring; %NULL when none is stored (which
 *   is not an error: the server may need none).  For an account with
 *   Auth=oauth2 it is a new OAuth2 access token, got with the refresh
 *   token in the keyring, and a missing one is an error.  Free it with
 *   tern_credentials_free_secret().
 */
char *
tern_cli_lookup_secret (TernAccount         *account,
                        TernCredentialKind   kind,
                        GError             **error)
{
  g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
  g_autoptr(TernCredentials) credentials = tern_credentials_for_account (account, keyring);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) local_error = NULL;
  char *secret;

  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2)
    {
      g_autoptr(TernAccountAuth) auth = tern_account_auth_new (account, credentials);

      tern_account_auth_get_secret_async (auth, kind, NULL, tern_cli_got_result, &result);
      secret = tern_account_auth_get_secret_finish (auth, tern_cli_wait (&result), error);
      if (secret == NULL && error != NULL && *error != NULL)
        g_prefix_error (error, _("could not get an OAuth2 access token (run “tern-cli account "
                                 "edit %s --oauth2-sign-in” if the sign-in expired): "),
                        tern_account_get_id (account));
      return secret;
    }

  tern_credentials_lookup_async (credentials, tern_account_get_id (account), kind, NULL,
                                 tern_cli_got_result, &result);
  secret = tern_credentials_lookup_finish (credentials, tern_cli_wait (&result), &local_error);
  if (secret == NULL &&
      !g_error_matches (local_error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return secret;
}

/**
 * tern_cli_tls_database:
 * @ca_file: (nullable): a PEM file of certificate authorities to trust
 *   instead of the system's
 *
 * Returns: (transfer full) (nullable): the database, %NULL for the system's
 *   (or on error, with @error set).
 */
GTlsDatabase *
tern_cli_tls_database (const char  *ca_file,
                       GError     **error)
{
  if (ca_file == NULL)
    return NULL;
  return g_tls_file_database_new (ca_file, error);
}

/**
 * tern_cli_trusted_pin:
 *
 * Returns: (transfer full) (nullable): the fingerprint of the certificate
 *   the user trusted for @host and @port with tern-cli trust.
 */
char *
tern_cli_trusted_pin (TernCliContext *context,
                      const char     *host,
                      guint16         port)
{
  g_autoptr(TernTrustStore) store = tern_trust_store_new (tern_paths_get_config_dir (
                                                            context->paths));

  if (!tern_trust_store_load (store, NULL))
    return NULL;
  return g_strdup (tern_trust_store_lookup (store, host, port));
}

TernConnectionSecurity
tern_cli_connection_security (TernSecurity security)
{
  switch (security)
    {
    case TERN_SECURITY_STARTTLS:
      return TERN_CONNECTION_SECURITY_STARTTLS;
    case TERN_SECURITY_NONE:
      return TERN_CONNECTION_SECURITY_NONE;
    case TERN_SECURITY_TLS:
    default:
      return TERN_CONNECTION_SECURITY_TLS;
    }
}

int
tern_cli_command_fetch (TernCliContext  *context,
                        int              argc,
                        char           **argv)
{
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernPop3Downloader) downloader = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *local_address = NULL;
  g_autofree char *pin = NULL;
  char *password = NULL;
  TernPop3DownloadStats stats = { 0 };
  TernStore *store;
  gboolean as_json = FALSE;
  gboolean ok;
  gint64 started;
  const char *host;
  guint16 port;

  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object"), NULL },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      N_("Trust the certificate authorities of FILE instead of the system’s"), N_("FILE") },
    { "local-address", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &local_address,
      N_("Connect from ADDRESS"), N_("ADDRESS") },
    { NULL }
  };

  if (!tern_cli_parse ("fetch", _("ACCOUNT"),
                       _("Download the new mail of a POP3 account into the store."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli fetch: give one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  account = tern_cli_load_account (context, argv[1], &error);
  if (account == NULL)
    {
      g_printerr ("tern-cli fetch: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }
  if (tern_account_get_receiving_protocol (account) != TERN_RECEIVING_PROTOCOL_POP3)
    {
      g_printerr (_("tern-cli fetch: “%s” is not a POP3 account\n"), argv[1]);
      return TERN_CLI_EXIT_FAILURE;
    }
  database = tern_cli_tls_database (ca_file, &error);
  if (ca_file != NULL && database == NULL)
    {
      g_printerr ("tern-cli fetch: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }
  password = tern_cli_lookup_secret (account, TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  if (error != NULL)
    {
      g_printerr (_("tern-cli fetch: no password for “%s”: %s\n"), argv[1], error->message);
      return TERN_CLI_EXIT_FAILURE;
    }
  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      g_printerr ("tern-cli fetch: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  host = tern_account_get_receiving_host (account);
  port = tern_account_get_receiving_port (account);
  pin = tern_cli_trusted_pin (context, host, port);
  downloader = tern_pop3_downloader_new (store, tern_account_get_id (account));
  tern_pop3_downloader_set_server (downloader, host, port,
                                   tern_cli_connection_security (
                                     tern_account_get_receiving_security (account)));
  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2)
    tern_pop3_downloader_set_oauth2_login (downloader,
                                           tern_account_get_receiving_username (account),
                                           password);
  else
    tern_pop3_downloader_set_login (downloader, tern_account_get_receiving_username (account),
                                    password);
  g_clear_pointer (&password, tern_credentials_free_secret);
  tern_pop3_downloader_set_tls_database (downloader, database);
  tern_pop3_downloader_set_pinned_certificate (downloader, pin);
  if (local_address != NULL)
    tern_pop3_downloader_set_local_address (downloader, local_address);
  tern_pop3_downloader_set_after_download (downloader,
                                           tern_account_get_pop3_after_download (account),
                                           tern_account_get_pop3_keep_days (account));
  tern_pop3_downloader_set_delete_on_server (downloader,
                                             tern_account_get_pop3_delete_on_server (account));
  tern_pop3_downloader_set_target (downloader, tern_account_get_pop3_deliver_to (account));

  started = g_get_monotonic_time ();
  tern_pop3_downloader_run_async (downloader, NULL, tern_cli_got_result, &result);
  ok = tern_pop3_downloader_run_finish (downloader, tern_cli_wait (&result), &stats, &error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "account");
      json_builder_add_string_value (builder, tern_account_get_id (account));
      json_builder_set_member_name (builder, "on_server");
      json_builder_add_int_value (builder, stats.on_server);
      json_builder_set_member_name (builder, "downloaded");
      json_builder_add_int_value (builder, stats.downloaded);
      json_builder_set_member_name (builder, "deleted");
      json_builder_add_int_value (builder, stats.deleted);
      json_builder_set_member_name (builder, "seconds");
      json_builder_add_double_value (builder,
                                     (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
      json_builder_set_member_name (builder, "error");
      if (ok)
        json_builder_add_null_value (builder);
      else
        json_builder_add_string_value (builder, error->message);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
    }
  else if (ok)
    {
      g_print (_("%s: %u new messages downloaded, %u deleted on the server, %u were there\n"),
               tern_account_get_id (account), stats.downloaded, stats.deleted, stats.on_server);
    }

  if (!ok)
    {
      g_printerr ("tern-cli fetch: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }
  return TERN_CLI_EXIT_OK;
}
