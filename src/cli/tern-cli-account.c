/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tern-account-manager.h"
#include "tern-account-verify.h"
#include "tern-autoconfig.h"
#include "tern-credentials.h"
#include "tern-credentials-command.h"
#include "tern-credentials-secret.h"
#include "tern-oauth2.h"
#include "tern-trust.h"
#include "tern-cli.h"

/*
 * tern-cli account, identity, autoconfig and trust: setting accounts up
 * from a terminal.  Accounts are the files of the profile's accounts
 * folder, passwords go to the keyring (or come from a password command),
 * and nothing here ever prints a password.
 */

#define MAX_PASSWORD_LENGTH 4096

/* Helpers */

static gboolean
parse_host_port (const char  *text,
                 char       **host,
                 guint16     *port,
                 GError     **error)
{
  const char *colon;
  guint64 number = 0;

  *port = 0;
  if (text == NULL || *text == '\0')
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _("A server is HOST or HOST:PORT"));
      return FALSE;
    }

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');

      if (end == NULL || (end[1] != '\0' && end[1] != ':'))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not HOST or HOST:PORT"), text);
          return FALSE;
        }
      *host = g_strndup (text + 1, end - text - 1);
      colon = end[1] == ':' ? end + 1 : NULL;
    }
  else
    {
      colon = strrchr (text, ':');
      *host = colon != NULL ? g_strndup (text, colon - text) : g_strdup (text);
    }

  if (**host == '\0' || strpbrk (*host, " /@\t[]\r\n") != NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not HOST or HOST:PORT"), text);
      g_clear_pointer (host, g_free);
      return FALSE;
    }

  if (colon != NULL &&
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("“%s” is not a port number from 1 to 65535"), colon + 1);
      g_clear_pointer (host, g_free);
      return FALSE;
    }

  *port = (guint16) number;
  return TRUE;
}

static gboolean
parse_security (const char    *text,
                TernSecurity  *security,
                GError       **error)
{
  if (g_strcmp0 (text, "tls") == 0)
    *security = TERN_SECURITY_TLS;
  else if (g_strcmp0 (text, "starttls") == 0)
    *security = TERN_SECURITY_STARTTLS;
  else if (g_strcmp0 (text, "none") == 0)
    *security = TERN_SECURITY_NONE;
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--security is tls, starttls or none, not “%s”"), text);
      return FALSE;
    }

  return TRUE;
}

static TernAccountManager *
open_manager (TernCliContext *context)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;

  if (!tern_paths_ensure (context->paths, &error))
    {
      g_printerr ("tern-cli: %s\n", error->message);
      return NULL;
    }

  manager = tern_account_manager_new (tern_paths_get_config_dir (context->paths));
  problems = tern_account_manager_load (manager, &error);
  if (problems == NULL)
    {
      g_printerr ("tern-cli: %s\n", error->message);
      return NULL;
    }

  /* A broken file does not stop the others; it is reported. */
  for (guint i = 0; i < problems->len; i++)
    g_printerr (_("tern-cli: skipped an account: %s\n"),
                ((GError *) problems->pdata[i])->message);

  return g_steal_pointer (&manager);
}

static TernAccount *
find_account (TernAccountManager *manager,
              const char         *command,
              const char         *id)
{
  TernAccount *account = tern_account_manager_lookup (manager, id);

  if (account == NULL)
    g_printerr (_("tern-cli %s: there is no account “%s”; “tern-cli account list” lists them\n"),
                command, id);

  return account;
}

/* The first line of standard input, without its line end. */
static char *
read_password_from_stdin (GError **error)
{
  char buffer[MAX_PASSWORD_LENGTH + 2];
  gsize length;

  if (fgets (buffer, sizeof buffer, stdin) == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("--password-stdin: standard input is empty"));
      return NULL;
    }

  length = strlen (buffer);
  while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r'))
    buffer[--length] = '\0';

  if (length == 0)
    {
      explicit_bzero (buffer, sizeof buffer);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("--password-stdin: the first line of standard input is empty"));
      return NULL;
    }

  if (length > MAX_PASSWORD_LENGTH)
    {
      explicit_bzero (buffer, sizeof buffer);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("--password-stdin: a password is at most %d bytes"), MAX_PASSWORD_LENGTH);
      return NULL;
    }

  {
    char *password = g_strndup (buffer, length);

    explicit_bzero (buffer, sizeof buffer);
    return password;
  }
}

static gboolean
store_secret (TernCredentials    *credentials,
              const char         *account_id,
              TernCredentialKind  kind,
              const char         *secret,
              GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_store_async (credentials, account_id, kind, secret, NULL, tern_cli_got_result,
                                &result);
  return tern_credentials_store_finish (credentials, tern_cli_wait (&result), error);
}

/* Stores the password for both servers in the keyring. */
static gboolean
store_password (TernAccount  *account,
                const char   *password,
                GError      **error)
{
  g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
  const char *id = tern_account_get_id (account);

  return store_secret (keyring, id, TERN_CREDENTIAL_RECEIVING_PASSWORD, password, error) &&
         store_secret (keyring, id, TERN_CREDENTIAL_SENDING_PASSWORD, password, error);
}

/* OAuth2 sign-in */

/* Shows the sign-in page's address, and opens it: with $BROWSER when set
 * (a command, or several separated by ":", the first of which is used; a
 * "%s" in it stands for the address), else with the desktop's browser.
 * Not being able to open it is no failure: the user can copy the address. */
static gboolean
open_sign_in_page (const char  *uri,
                   gpointer     user_data,
                   GError     **error)
{
  const char *browser = g_getenv ("BROWSER");
  g_autoptr(GError) local_error = NULL;

  g_print (_("Sign in in your browser. If it does not open, open this address:\n%s\n"), uri);
  fflush (stdout);

  if (browser != NULL && *browser != '\0')
    {
      g_auto(GStrv) commands = g_strsplit (browser, ":", 2);
      g_auto(GStrv) argv = NULL;
      g_autofree char *quoted = g_shell_quote (uri);
      g_autofree char *line = NULL;

      if (strstr (commands[0], "%s") != NULL)
        {
          g_auto(GStrv) parts = g_strsplit (commands[0], "%s", -1);

          line = g_strjoinv (quoted, parts);
        }
      else
        line = g_strconcat (commands[0], " ", quoted, NULL);

      if (!g_shell_parse_argv (line, NULL, &argv, &local_error) ||
          !g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &local_error))
        g_printerr (_("tern-cli: $BROWSER could not be started: %s\n"), local_error->message);
      return TRUE;
    }

  if (!g_app_info_launch_default_for_uri (uri, NULL, &local_error))
    g_printerr (_("tern-cli: no browser could be opened: %s\n"), local_error->message);
  return TRUE;
}

/* Runs the browser sign-in for @account.  Returns: (transfer full): the
 * refresh token, or NULL with @error set. */
static char *
oauth2_sign_in (TernAccount  *account,
                const char   *address,
                GError      **error)
{
  g_autoptr(TernOAuth2) oauth2 = tern_oauth2_new_for_account (account, error);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;

  if (oauth2 == NULL)
    return NULL;

  tern_oauth2_set_open_uri_func (oauth2, open_sign_in_page, NULL);
  tern_oauth2_authorize_async (oauth2, address, NULL, tern_cli_got_result, &result);
  tokens = tern_oauth2_authorize_finish (oauth2, tern_cli_wait (&result), error);
  if (tokens == NULL)
    return NULL;

  if (tokens->refresh_token == NULL || *tokens->refresh_token == '\0')
    {
      g_set_error_literal (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_PROTOCOL,
                           _("the provider gave no refresh token, so Tern could not sign in "
                             "again later"));
      return NULL;
    }

  return g_steal_pointer (&tokens->refresh_token);
}

/* Asks a yes/no question on the terminal; without one, the answer is no. */
static gboolean
confirm (const char *question)
{
  char answer[16];

  if (!isatty (STDIN_FILENO))
    return FALSE;

  g_print ("%s [y/N] ", question);
  fflush (stdout);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;

  return answer[0] == 'y' || answer[0] == 'Y';
}

static void
print_settings (const TernAutoconfigResult *result)
{
  g_print (_("Found by:   %s\n"), tern_autoconfig_source_to_string (result->source));
  g_print (_("From:       %s\n"), result->source_detail);
  g_print (_("Checked:    %s\n"),
           result->authenticated ? _("yes (an authenticated source)")
                                 : _("no (plain HTTP or DNS: check these settings yourself)"));
  if (result->provider_name != NULL)
    g_print (_("Provider:   %s\n"), result->provider_name);
  g_print (_("Receiving:  %s %s port %u, %s, user %s\n"),
           tern_receiving_protocol_to_string (result->receiving_protocol),
           result->receiving_host, result->receiving_port,
           tern_security_to_string (result->receiving_security),
           result->receiving_username);
  g_print (_("Sending:    smtp %s port %u, %s, user %s\n"),
           result->sending_host, result->sending_port,
           tern_security_to_string (result->sending_security),
           result->sending_username);
}

static TernAutoconfigResult *
discover (const char  *address,
          GError     **error)
{
  g_autoptr(TernAutoconfig) autoconfig = tern_autoconfig_new ();
  g_autoptr(GAsyncResult) result = NULL;

  tern_autoconfig_discover_async (autoconfig, address, NULL, tern_cli_got_result, &result);
  return tern_autoconfig_discover_finish (autoconfig, tern_cli_wait (&result), error);
}

/* Options shared by "account add" and "account edit". */
typedef struct
{
  char *email;
  char *name;
  char *imap;
  char *pop3;
  char *smtp;
  char *security;
  char *user;
  gboolean password_stdin;
  char *password_command;
  gboolean yes;
  gboolean verify;
  gboolean enable;
  gboolean disable;
  char *oauth2;
  char *oauth2_authorization_uri;
  char *oauth2_token_uri;
  char *oauth2_client_id;
  char *oauth2_scope;
  gboolean oauth2_sign_in;
} AccountOptions;

static void
account_options_clear (AccountOptions *options)
{
  g_free (options->email);
  g_free (options->name);
  g_free (options->imap);
  g_free (options->pop3);
  g_free (options->smtp);
  g_free (options->security);
  g_free (options->user);
  g_free (options->password_command);
  g_free (options->oauth2);
  g_free (options->oauth2_authorization_uri);
  g_free (options->oauth2_token_uri);
  g_free (options->oauth2_client_id);
  g_free (options->oauth2_scope);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AccountOptions, account_options_clear)

/* Applies the server options to @account; FALSE with a message printed
 * when one is wrong. */
static gboolean
apply_server_options (const char     *command,
                      AccountOptions *options,
                      TernAccount    *account)
{
  g_autoptr(GError) error = NULL;
  TernSecurity security = TERN_SECURITY_TLS;
  gboolean have_security = options->security != NULL;

  if (have_security && !parse_security (options->security, &security, &error))
    goto fail;

  if (options->imap != NULL || options->pop3 != NULL)
    {
      g_autofree char *host = NULL;
      guint16 port;
      TernReceivingProtocol protocol = options->imap != NULL ? TERN_RECEIVING_PROTOCOL_IMAP
                                                             : TERN_RECEIVING_PROTOCOL_POP3;

      if (!parse_host_port (options->imap != NULL ? options->imap : options->pop3, &host, &port,
                            &error))
        goto fail;
      tern_account_set_receiving_protocol (account, protocol);
      tern_account_set_receiving_host (account, host);
      if (have_security)
        tern_account_set_receiving_security (account, security);
      tern_account_set_receiving_port (account, port != 0
        ? port
        : tern_receiving_protocol_default_port (protocol,
                                                tern_account_get_receiving_security (account)));
    }
  else if (have_security)
    {
      tern_account_set_receiving_security (account, security);
    }

  if (options->smtp != NULL)
    {
      g_autofree char *host = NULL;
      guint16 port;

      if (!parse_host_port (options->smtp, &host, &port, &error))
        goto fail;
      tern_account_set_sending_host (account, host);
      if (have_security)
        tern_account_set_sending_security (account, security);
      tern_account_set_sending_port (account, port != 0
        ? port
        : tern_smtp_default_port (tern_account_get_sending_security (account)));
    }
  else if (have_security)
    {
      tern_account_set_sending_security (account, security);
    }

  if (options->user != NULL)
    {
      tern_account_set_receiving_username (account, options->user);
      tern_account_set_sending_username (account, options->user);
    }

  if (options->password_command != NULL)
    {
      tern_account_set_receiving_password_command (account, options->password_command);
      tern_account_set_sending_password_command (account, options->password_command);
    }

  return TRUE;

fail:
  g_printerr ("tern-cli %s: %s\n", command, error->message);
  return FALSE;
}

static gboolean verify_account (TernCliContext *context,
                                const char     *command,
                                TernAccount    *account,
                                const char     *receiving_password,
                                const char     *sending_password);
static char    *lookup_secret  (TernCredentials    *credentials,
                                const char         *account_id,
                                TernCredentialKind  kind,
                                GError            **error);

/* account add */

static int
account_add (TernCliContext  *context,
             int              argc,
             char           **argv)
{
  g_auto(AccountOptions) options = { 0 };
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;
  gboolean manual;

  const GOptionEntry entries[] = {
    { "email", 0, 0, G_OPTION_ARG_STRING, &options.email,
      N_("The account’s address (required)"), N_("ADDRESS") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &options.name,
      N_("Your name, as recipients see it"), N_("NAME") },
    { "imap", 0, 0, G_OPTION_ARG_STRING, &options.imap,
      N_("Receive with IMAP from this server"), N_("HOST[:PORT]") },
    { "pop3", 0, 0, G_OPTION_ARG_STRING, &options.pop3,
      N_("Receive with POP3 from this server"), N_("HOST[:PORT]") },
    { "smtp", 0, 0, G_OPTION_ARG_STRING, &options.smtp,
      N_("Send through this SMTP server"), N_("HOST[:PORT]") },
    { "security", 0, 0, G_OPTION_ARG_STRING, &options.security,
      N_("tls (default for receiving), starttls (default for sending) or none"), N_("SECURITY") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &options.user,
      N_("The login name (default: the address)"), N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &options.password_stdin,
      N_("Read the password from the first line of standard input into the keyring"), NULL },
    { "password-command", 0, 0, G_OPTION_ARG_STRING, &options.password_command,
      N_("Get the password from this shell command’s first line of output"), N_("COMMAND") },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &options.yes,
      N_("Accept settings found through an unauthenticated source without asking"), NULL },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &options.verify,
      N_("Log in to both servers first, and save nothing if that fails"), NULL },
    { "oauth2", 0, 0, G_OPTION_ARG_STRING, &options.oauth2,
      N_("Sign in through the browser instead of a password: google, microsoft, or custom "
         "(with the four options below)"), N_("PROVIDER") },
    { "oauth2-authorization-uri", 0, 0, G_OPTION_ARG_STRING, &options.oauth2_authorization_uri,
      N_("custom: the provider’s authorization endpoint"), N_("URI") },
    { "oauth2-token-uri", 0, 0, G_OPTION_ARG_STRING, &options.oauth2_token_uri,
      N_("custom: the provider’s token endpoint"), N_("URI") },
    { "oauth2-client-id", 0, 0, G_OPTION_ARG_STRING, &options.oauth2_client_id,
      N_("custom: Tern’s client ID at the provider"), N_("ID") },
    { "oauth2-scope", 0, 0, G_OPTION_ARG_STRING, &options.oauth2_scope,
      N_("custom: the scopes to ask for, separated by spaces"), N_("SCOPE") },
    { NULL }
  };

  if (!tern_cli_parse ("account add", NULL, _("Add an account."), entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;

  if (argc > 1)
    {
      g_printerr (_("tern-cli account add: unexpected argument “%s”\n"), argv[1]);
      return TERN_CLI_EXIT_USAGE;
    }
  if (options.email == NULL || !tern_account_address_is_valid (options.email))
    {
      g_printerr (_("tern-cli account add: --email needs an address such as name@example.com\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (options.imap != NULL && options.pop3 != NULL)
    {
      g_printerr (_("tern-cli account add: give --imap or --pop3, not both\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (options.password_stdin && options.password_command != NULL)
    {
      g_printerr (_("tern-cli account add: give --password-stdin or --password-command, "
                    "not both\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  if (options.oauth2 != NULL && (options.password_stdin || options.password_command != NULL ||
                                 options.verify))
    {
      g_printerr (_("tern-cli account add: --oauth2 signs in through the browser; it does not "
                    "go with --password-stdin, --password-command or --verify\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (options.oauth2 == NULL && (options.oauth2_authorization_uri != NULL ||
                                 options.oauth2_token_uri != NULL ||
                                 options.oauth2_client_id != NULL || options.oauth2_scope != NULL))
    {
      g_printerr (_("tern-cli account add: the --oauth2-… options need --oauth2 custom\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  manual = options.imap != NULL || options.pop3 != NULL || options.smtp != NULL;
  if (manual && ((options.imap == NULL && options.pop3 == NULL) || options.smtp == NULL))
    {
      g_printerr (_("tern-cli account add: give both a receiving server (--imap or --pop3) and "
                    "--smtp, or only --email to find them automatically\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  /* Read the password first: standard input may be needed for a
   * question afterwards. */
  if (options.password_stdin)
    {
      password = read_password_from_stdin (&error);
      if (password == NULL)
        {
          g_printerr ("tern-cli account add: %s\n", error->message);
          return TERN_CLI_EXIT_USAGE;
        }
    }

  account = tern_account_new ();
  identity = tern_identity_new (options.name, options.email);
  tern_account_add_identity (account, identity);
  tern_account_set_display_name (account, options.name);
  tern_account_set_receiving_username (account, options.email);
  tern_account_set_sending_username (account, options.email);

  if (!manual)
    {
      g_autoptr(TernAutoconfigResult) found = discover (options.email, &error);

      if (found == NULL)
        {
          g_printerr ("tern-cli account add: %s\n", error->message);
          g_clear_pointer (&password, tern_credentials_free_secret);
          return TERN_CLI_EXIT_FAILURE;
        }

      print_settings (found);
      if (!found->authenticated && !options.yes &&
          !confirm (_("These settings come from a source that could have been forged. "
                      "Use them?")))
        {
          g_printerr (_("tern-cli account add: the settings were not confirmed; check them and "
                        "run again with --yes, or give the servers with --imap/--pop3 and "
                        "--smtp\n"));
          g_clear_pointer (&password, tern_credentials_free_secret);
          return TERN_CLI_EXIT_FAILURE;
        }
      tern_autoconfig_result_apply (found, account);
    }

  if (!apply_server_options ("account add", &options, account))
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      return TERN_CLI_EXIT_USAGE;
    }

  if (options.verify)
    {
      char *secret = NULL;
      gboolean verified;

      if (password != NULL)
        secret = g_strdup (password);
      else if (options.password_command != NULL)
        {
          g_autoptr(TernCredentials) command =
            tern_credentials_command_new (options.password_command, NULL, NULL);

          secret = lookup_secret (command, options.email, TERN_CREDENTIAL_RECEIVING_PASSWORD,
                                  &error);
          if (secret == NULL)
            {
              g_printerr ("tern-cli account add: %s\n", error->message);
              return TERN_CLI_EXIT_FAILURE;
            }
        }
      else
        {
          g_printerr (_("tern-cli account add: --verify needs --password-stdin or "
                        "--password-command\n"));
          return TERN_CLI_EXIT_USAGE;
        }

      verified = verify_account (context, "account add", account, secret, secret);
      tern_credentials_free_secret (secret);
      if (!verified)
        {
          g_printerr (_("tern-cli account add: nothing was saved\n"));
          g_clear_pointer (&password, tern_credentials_free_secret);
          return TERN_CLI_EXIT_FAILURE;
        }
    }

  /* The sign-in comes before anything is saved: a failed one leaves
   * nothing behind. */
  if (options.oauth2 != NULL)
    {
      tern_account_set_auth_method (account, TERN_AUTH_METHOD_OAUTH2);
      tern_account_set_oauth2 (account, options.oauth2, options.oauth2_authorization_uri,
                               options.oauth2_token_uri, options.oauth2_client_id,
                               options.oauth2_scope);
      if (!g_str_equal (options.oauth2, "google") && !g_str_equal (options.oauth2, "microsoft") &&
          !g_str_equal (options.oauth2, "custom"))
        {
          g_printerr (_("tern-cli account add: --oauth2 is google, microsoft or custom\n"));
          return TERN_CLI_EXIT_USAGE;
        }
      if (g_str_equal (options.oauth2, "custom") &&
          (options.oauth2_authorization_uri == NULL || options.oauth2_token_uri == NULL ||
           options.oauth2_client_id == NULL))
        {
          g_printerr (_("tern-cli account add: --oauth2 custom needs --oauth2-authorization-uri, "
                        "--oauth2-token-uri and --oauth2-client-id\n"));
          return TERN_CLI_EXIT_USAGE;
        }

      password = oauth2_sign_in (account, options.email, &error);
      if (password == NULL)
        {
          g_printerr (_("tern-cli account add: the sign-in failed, nothing was saved: %s\n"),
                      error->message);
          return TERN_CLI_EXIT_FAILURE;
        }
    }

  manager = open_manager (context);
  if (manager == NULL)
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      return TERN_CLI_EXIT_FAILURE;
    }

  if (!tern_account_manager_add (manager, account, &error))
    {
      g_printerr ("tern-cli account add: %s\n", error->message);
      g_clear_pointer (&password, tern_credentials_free_secret);
      return TERN_CLI_EXIT_FAILURE;
    }

  g_print (_("Added the account “%s”.\n"), tern_account_get_id (account));

  if (password != NULL && options.oauth2 != NULL)
    {
      g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
      gboolean stored = store_secret (keyring, tern_account_get_id (account),
                                      TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, password, &error);

      g_clear_pointer (&password, tern_credentials_free_secret);
      if (!stored)
        {
          g_printerr (_("tern-cli account add: the account is saved, but its sign-in is not: "
                        "%s\nRun “tern-cli account edit %s --oauth2-sign-in” to try again.\n"),
                      error->message, tern_account_get_id (account));
          return TERN_CLI_EXIT_FAILURE;
        }
      g_print (_("Signed in; the refresh token is in the keyring.\n"));
    }
  else if (password != NULL)
    {
      gboolean stored = store_password (account, password, &error);

      g_clear_pointer (&password, tern_credentials_free_secret);
      if (!stored)
        {
          g_printerr (_("tern-cli account add: the account is saved, but its password is not: "
                        "%s\nRun “tern-cli account edit %s --password-stdin” to try again.\n"),
                      error->message, tern_account_get_id (account));
          return TERN_CLI_EXIT_FAILURE;
        }
      g_print (_("The password is in the keyring.\n"));
    }

  return TERN_CLI_EXIT_OK;
}

/* account edit */

static int
account_edit (TernCliContext  *context,
              int              argc,
              char           **argv)
{
  g_auto(AccountOptions) options = { 0 };
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *password = NULL;
  TernAccount *account;

  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &options.name,
      N_("The account’s name in the sidebar"), N_("NAME") },
    { "imap", 0, 0, G_OPTION_ARG_STRING, &options.imap,
      N_("Receive with IMAP from this server"), N_("HOST[:PORT]") },
    { "pop3", 0, 0, G_OPTION_ARG_STRING, &options.pop3,
      N_("Receive with POP3 from this server"), N_("HOST[:PORT]") },
    { "smtp", 0, 0, G_OPTION_ARG_STRING, &options.smtp,
      N_("Send through this SMTP server"), N_("HOST[:PORT]") },
    { "security", 0, 0, G_OPTION_ARG_STRING, &options.security,
      N_("tls, starttls or none, for both servers"), N_("SECURITY") },
    { "user", 0, 0, G_OPTION_ARG_STRING, &options.user,
      N_("The login name for both servers"), N_("USER") },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &options.password_stdin,
      N_("Read a new password from standard input into the keyring"), NULL },
    { "password-command", 0, 0, G_OPTION_ARG_STRING, &options.password_command,
      N_("Get the password from this shell command (\"\" to use the keyring again)"),
      N_("COMMAND") },
    { "oauth2-sign-in", 0, 0, G_OPTION_ARG_NONE, &options.oauth2_sign_in,
      N_("Sign in through the browser again (an OAuth2 account whose sign-in expired)"), NULL },
    { "enable", 0, 0, G_OPTION_ARG_NONE, &options.enable, N_("Turn the account on"), NULL },
    { "disable", 0, 0, G_OPTION_ARG_NONE, &options.disable, N_("Turn the account off"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("account edit", _("ACCOUNT"), _("Change an account’s settings."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;

  if (argc != 2)
    {
      g_printerr (_("tern-cli account edit: name one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (options.imap != NULL && options.pop3 != NULL)
    {
      g_printerr (_("tern-cli account edit: give --imap or --pop3, not both\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (options.enable && options.disable)
    {
      g_printerr (_("tern-cli account edit: give --enable or --disable, not both\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  if (options.password_stdin)
    {
      password = read_password_from_stdin (&error);
      if (password == NULL)
        {
          g_printerr ("tern-cli account edit: %s\n", error->message);
          return TERN_CLI_EXIT_USAGE;
        }
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = find_account (manager, "account edit", argv[1]);
  if (account == NULL)
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      return TERN_CLI_EXIT_FAILURE;
    }

  if (options.name != NULL)
    tern_account_set_display_name (account, options.name);
  if (options.enable || options.disable)
    tern_account_set_enabled (account, options.enable);
  if (!apply_server_options ("account edit", &options, account))
    {
      g_clear_pointer (&password, tern_credentials_free_secret);
      return TERN_CLI_EXIT_USAGE;
    }

  if (!tern_account_manager_save (manager, account, &error))
    {
      g_printerr ("tern-cli account edit: %s\n", error->message);
      g_clear_pointer (&password, tern_credentials_free_secret);
      return TERN_CLI_EXIT_FAILURE;
    }

  if (password != NULL)
    {
      gboolean stored = store_password (account, password, &error);

      g_clear_pointer (&password, tern_credentials_free_secret);
      if (!stored)
        {
          g_printerr (_("tern-cli account edit: the password was not stored: %s\n"),
                      error->message);
          return TERN_CLI_EXIT_FAILURE;
        }
    }

  if (options.oauth2_sign_in)
    {
      g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
      char *refresh_token = oauth2_sign_in (account, tern_account_get_receiving_username (account),
                                            &error);
      gboolean stored;

      if (refresh_token == NULL)
        {
          g_printerr (_("tern-cli account edit: the sign-in failed: %s\n"), error->message);
          return TERN_CLI_EXIT_FAILURE;
        }
      stored = store_secret (keyring, tern_account_get_id (account),
                             TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, refresh_token, &error);
      tern_credentials_free_secret (refresh_token);
      if (!stored)
        {
          g_printerr (_("tern-cli account edit: the sign-in was not stored: %s\n"),
                      error->message);
          return TERN_CLI_EXIT_FAILURE;
        }
      g_print (_("Signed in again; the refresh token is in the keyring.\n"));
    }

  g_print (_("Saved the account “%s”.\n"), tern_account_get_id (account));
  return TERN_CLI_EXIT_OK;
}

/* account verify */

static char *
lookup_secret (TernCredentials    *credentials,
               const char         *account_id,
               TernCredentialKind  kind,
               GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_lookup_async (credentials, account_id, kind, NULL, tern_cli_got_result,
                                 &result);
  return tern_credentials_lookup_finish (credentials, tern_cli_wait (&result), error);
}

/* Logs in to both servers with the given passwords and the profile's
 * pinned certificates; prints what went wrong. */
static gboolean
verify_account (TernCliContext *context,
                const char     *command,
                TernAccount    *account,
                const char     *receiving_password,
                const char     *sending_password)
{
  g_autoptr(TernTrustStore) trust = tern_trust_store_new (tern_paths_get_config_dir (context->paths));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (!tern_trust_store_load (trust, &error))
    {
      g_printerr ("tern-cli %s: %s\n", command, error->message);
      return FALSE;
    }

  tern_account_verify_async (account, receiving_password, sending_password, trust, NULL, NULL,
                             NULL, tern_cli_got_result, &result);
  if (!tern_account_verify_finish (tern_cli_wait (&result), &error))
    {
      g_printerr ("tern-cli %s: %s\n", command, error->message);
      if (g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE))
        g_printerr (_("Run “tern-cli trust HOST:PORT” to see the certificate and trust it.\n"));
      return FALSE;
    }

  g_print (_("Both servers accepted the login.\n"));
  return TRUE;
}

static int
account_verify (TernCliContext  *context,
                int              argc,
                char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(TernCredentials) credentials = NULL;
  g_autoptr(GError) error = NULL;
  char *receiving = NULL;
  char *sending = NULL;
  TernAccount *account;
  gboolean verified;

  if (!tern_cli_parse ("account verify", _("ACCOUNT"),
                       _("Log in to an account’s servers to check its settings and password."),
                       NULL, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli account verify: name one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = find_account (manager, "account verify", argv[1]);
  if (account == NULL)
    return TERN_CLI_EXIT_FAILURE;

  keyring = tern_credentials_secret_new ();
  credentials = tern_credentials_for_account (account, keyring);
  receiving = lookup_secret (credentials, argv[1], TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  if (receiving != NULL)
    sending = lookup_secret (credentials, argv[1], TERN_CREDENTIAL_SENDING_PASSWORD, &error);
  if (receiving == NULL || sending == NULL)
    {
      g_printerr ("tern-cli account verify: %s\n", error->message);
      tern_credentials_free_secret (receiving);
      return TERN_CLI_EXIT_FAILURE;
    }

  verified = verify_account (context, "account verify", account, receiving, sending);
  tern_credentials_free_secret (receiving);
  tern_credentials_free_secret (sending);

  return verified ? TERN_CLI_EXIT_OK : TERN_CLI_EXIT_FAILURE;
}

/* account list, show, remove */

static const char *
address_of (TernAccount *account)
{
  TernIdentity *identity = tern_account_get_default_identity (account);

  return identity != NULL ? tern_identity_get_address (identity) : "";
}

static int
account_list (TernCliContext  *context,
              int              argc,
              char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  guint n;

  if (!tern_cli_parse ("account list", NULL, _("List the accounts."), NULL, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;

  n = g_list_model_get_n_items (G_LIST_MODEL (manager));
  if (n == 0)
    {
      g_print (_("No accounts. Add one with “tern-cli account add --email ADDRESS”.\n"));
      return TERN_CLI_EXIT_OK;
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);

      g_print ("%-16s %-32s %s %s%s\n", tern_account_get_id (account), address_of (account),
               tern_receiving_protocol_to_string (tern_account_get_receiving_protocol (account)),
               tern_account_get_receiving_host (account),
               tern_account_get_enabled (account) ? "" : _(" (disabled)"));
    }

  return TERN_CLI_EXIT_OK;
}

static int
account_show (TernCliContext  *context,
              int              argc,
              char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  GListModel *identities;
  TernAccount *account;

  if (!tern_cli_parse ("account show", _("ACCOUNT"), _("Show an account’s settings."), NULL,
                       &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli account show: name one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = find_account (manager, "account show", argv[1]);
  if (account == NULL)
    return TERN_CLI_EXIT_FAILURE;

  g_print (_("Account:    %s\n"), tern_account_get_id (account));
  g_print (_("Name:       %s\n"), tern_account_get_display_name (account) != NULL
                                    ? tern_account_get_display_name (account) : "");
  g_print (_("Enabled:    %s\n"), tern_account_get_enabled (account) ? _("yes") : _("no"));
  g_print (_("Receiving:  %s %s port %u, %s, user %s\n"),
           tern_receiving_protocol_to_string (tern_account_get_receiving_protocol (account)),
           tern_account_get_receiving_host (account), tern_account_get_receiving_port (account),
           tern_security_to_string (tern_account_get_receiving_security (account)),
           tern_account_get_receiving_username (account) != NULL
             ? tern_account_get_receiving_username (account) : "");
  g_print (_("Sending:    smtp %s port %u, %s, user %s\n"),
           tern_account_get_sending_host (account), tern_account_get_sending_port (account),
           tern_security_to_string (tern_account_get_sending_security (account)),
           tern_account_get_sending_username (account) != NULL
             ? tern_account_get_sending_username (account) : "");
  /* Where the password comes from, never the password. */
  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2 &&
      tern_account_get_oauth2_provider (account) == NULL)
    {
      g_print (_("Sign-in:    OAuth2 through GNOME Online Accounts, which keeps the tokens\n"));
    }
  else if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2)
    {
      g_print (_("Sign-in:    OAuth2 with %s; the refresh token is in the keyring\n"),
               tern_account_get_oauth2_provider (account));
      if (tern_account_get_oauth2_token_uri (account) != NULL)
        g_print (_("Provider:   %s\n"), tern_account_get_oauth2_token_uri (account));
    }
  else
    g_print (_("Password:   %s\n"), tern_account_get_receiving_password_command (account) != NULL
                                      ? _("from its password command")
                                      : _("in the keyring"));
  if (tern_account_get_receiving_password_command (account) != NULL)
    g_print (_("Command:    %s\n"), tern_account_get_receiving_password_command (account));

  identities = tern_account_get_identities (account);
  for (guint i = 0; i < g_list_model_get_n_items (identities); i++)
    {
      g_autoptr(TernIdentity) identity = g_list_model_get_item (identities, i);

      g_print (_("Identity:   %s%s%s%s%s\n"),
               tern_identity_get_name (identity) != NULL ? tern_identity_get_name (identity) : "",
               tern_identity_get_name (identity) != NULL ? " <" : "",
               tern_identity_get_address (identity),
               tern_identity_get_name (identity) != NULL ? ">" : "",
               tern_identity_get_is_default (identity) ? _(" (default)") : "");
    }

  return TERN_CLI_EXIT_OK;
}

/* Deletes every folder of @account_id in the store, with its mail, and
 * what else the store keeps for it; @out_folders says how many folders
 * there were. */
static gboolean
remove_local_mail (TernCliContext  *context,
                   const char      *account_id,
                   guint           *out_folders,
                   GError         **error)
{
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GAsyncResult) forgotten = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  TernStore *store = tern_cli_open_store (context, error);

  *out_folders = 0;
  if (store == NULL)
    return FALSE;

  tern_store_list_folders_async (store, account_id, NULL, tern_cli_got_result, &listed);
  folders = tern_store_list_folders_finish (store, tern_cli_wait (&listed), error);
  if (folders == NULL)
    return FALSE;
  *out_folders = folders->len;

  tern_store_forget_account_async (store, account_id, NULL, tern_cli_got_result, &forgotten);
  return tern_store_forget_account_finish (store, tern_cli_wait (&forgotten), error);
}

static int
account_remove (TernCliContext  *context,
                int              argc,
                char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(GAsyncResult) forgotten = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *question = NULL;
  gboolean yes = FALSE;

  const GOptionEntry entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_("Remove without asking"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("account remove", _("ACCOUNT"),
                       _("Remove an account, its settings, passwords and local mail."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli account remove: name one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  if (find_account (manager, "account remove", argv[1]) == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = g_object_ref (tern_account_manager_lookup (manager, argv[1]));

  question = g_strdup_printf (
    tern_account_get_receiving_protocol (account) == TERN_RECEIVING_PROTOCOL_POP3
      ? _("Remove the account “%s” (%s) and its mail on this computer? For a POP3 account this "
          "may be the only copy of that mail.")
      : _("Remove the account “%s” (%s) and its mail on this computer?"),
    tern_account_get_id (account), address_of (account));
  if (!yes && !confirm (question))
    {
      g_printerr (_("tern-cli account remove: not removed; its settings, passwords and mail on "
                    "this computer stay. Run with --yes (or answer “y” on a terminal) to remove "
                    "them\n"));
      return TERN_CLI_EXIT_FAILURE;
    }

  /* The mail goes first: should that fail, the account is still there to
   * try again, rather than its mail left behind without it. */
  {
    guint folders = 0;

    if (!remove_local_mail (context, tern_account_get_id (account), &folders, &error))
      {
        g_printerr (_("tern-cli account remove: its mail on this computer could not be "
                      "removed, so the account stays: %s\n"), error->message);
        return TERN_CLI_EXIT_FAILURE;
      }
    g_print (g_dngettext (GETTEXT_PACKAGE, "Removed %u folder of mail on this computer.\n",
                          "Removed %u folders of mail on this computer.\n", folders),
             folders);
  }

  if (!tern_account_manager_remove (manager, account, &error))
    {
      g_printerr ("tern-cli account remove: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  /* Passwords kept by a command are the command's; the keyring's go. */
  keyring = tern_credentials_secret_new ();
  tern_credentials_forget_account_async (keyring, account, NULL, tern_cli_got_result, &forgotten);
  if (!tern_credentials_forget_account_finish (keyring, tern_cli_wait (&forgotten), &error))
    g_printerr (_("tern-cli account remove: its passwords may still be in the keyring: %s\n"),
                error->message);

  g_print (_("Removed the account “%s”.\n"), tern_account_get_id (account));
  return TERN_CLI_EXIT_OK;
}

int
tern_cli_command_account (TernCliContext  *context,
                          int              argc,
                          char           **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (g_strcmp0 (sub, "add") == 0)
    return account_add (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "list") == 0)
    return account_list (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "show") == 0)
    return account_show (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "edit") == 0)
    return account_edit (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "remove") == 0)
    return account_remove (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "verify") == 0)
    return account_verify (context, argc - 1, argv + 1);

  g_printerr (_("Usage: tern-cli account add|list|show|edit|remove|verify …\n"
                "Run “tern-cli account add --help” for the options of one.\n"));
  return TERN_CLI_EXIT_USAGE;
}

/* identity */

static int
identity_add (TernCliContext  *context,
              int              argc,
              char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *email = NULL;
  g_autofree char *name = NULL;
  g_autofree char *reply_to = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *compose_format = NULL;
  gboolean make_default = FALSE;
  TernComposeFormat format = TERN_COMPOSE_FORMAT_RICH;
  TernAccount *account;

  const GOptionEntry entries[] = {
    { "email", 0, 0, G_OPTION_ARG_STRING, &email, N_("The address (required)"), N_("ADDRESS") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_("The name shown with it"), N_("NAME") },
    { "reply-to", 0, 0, G_OPTION_ARG_STRING, &reply_to, N_("Where replies should go"),
      N_("ADDRESS") },
    { "signature", 0, 0, G_OPTION_ARG_STRING, &signature, N_("The signature"), N_("TEXT") },
    { "default", 0, 0, G_OPTION_ARG_NONE, &make_default, N_("Make it the default"), NULL },
    { "compose-format", 0, 0, G_OPTION_ARG_STRING, &compose_format,
      N_("How new messages from it start: rich (the default) or plain"), N_("FORMAT") },
    { NULL }
  };

  if (!tern_cli_parse ("identity add", _("ACCOUNT"),
                       _("Add an address (an alias) to an account."), entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2 || email == NULL)
    {
      g_printerr (_("tern-cli identity add: name one account and give --email\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (!tern_account_address_is_valid (email) ||
      (reply_to != NULL && !tern_account_address_is_valid (reply_to)))
    {
      g_printerr (_("tern-cli identity add: “%s” is not an address such as name@example.com\n"),
                  tern_account_address_is_valid (email) ? reply_to : email);
      return TERN_CLI_EXIT_USAGE;
    }
  if (compose_format != NULL)
    {
      if (g_str_equal (compose_format, "plain"))
        format = TERN_COMPOSE_FORMAT_PLAIN;
      else if (!g_str_equal (compose_format, "rich"))
        {
          g_printerr (_("tern-cli identity add: --compose-format is rich or plain, not “%s”\n"),
                      compose_format);
          return TERN_CLI_EXIT_USAGE;
        }
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = find_account (manager, "identity add", argv[1]);
  if (account == NULL)
    return TERN_CLI_EXIT_FAILURE;

  if (tern_account_find_identity (account, email) != NULL)
    {
      g_printerr (_("tern-cli identity add: the account “%s” already has the address “%s”\n"),
                  argv[1], email);
      return TERN_CLI_EXIT_FAILURE;
    }

  identity = tern_identity_new (name, email);
  tern_identity_set_reply_to (identity, reply_to);
  tern_identity_set_signature (identity, signature);
  tern_identity_set_compose_format (identity, format);
  tern_account_add_identity (account, identity);
  if (make_default)
    tern_account_set_default_identity (account, identity);

  if (!tern_account_manager_save (manager, account, &error))
    {
      g_printerr ("tern-cli identity add: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  g_print (_("Added “%s” to the account “%s”.\n"), email, argv[1]);
  return TERN_CLI_EXIT_OK;
}

static int
identity_list (TernCliContext  *context,
               int              argc,
               char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  GListModel *identities;
  TernAccount *account;

  if (!tern_cli_parse ("identity list", _("ACCOUNT"), _("List an account’s addresses."), NULL,
                       &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli identity list: name one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = find_account (manager, "identity list", argv[1]);
  if (account == NULL)
    return TERN_CLI_EXIT_FAILURE;

  identities = tern_account_get_identities (account);
  for (guint i = 0; i < g_list_model_get_n_items (identities); i++)
    {
      g_autoptr(TernIdentity) identity = g_list_model_get_item (identities, i);

      g_print ("%-32s %s%s\n", tern_identity_get_address (identity),
               tern_identity_get_name (identity) != NULL ? tern_identity_get_name (identity) : "",
               tern_identity_get_is_default (identity) ? _(" (default)") : "");
    }

  return TERN_CLI_EXIT_OK;
}

static int
identity_remove (TernCliContext  *context,
                 int              argc,
                 char           **argv)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  TernAccount *account;
  TernIdentity *identity;

  if (!tern_cli_parse ("identity remove", _("ACCOUNT ADDRESS"),
                       _("Remove an address from an account."), NULL, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 3)
    {
      g_printerr (_("tern-cli identity remove: name an account and one of its addresses\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  manager = open_manager (context);
  if (manager == NULL)
    return TERN_CLI_EXIT_FAILURE;
  account = find_account (manager, "identity remove", argv[1]);
  if (account == NULL)
    return TERN_CLI_EXIT_FAILURE;

  identity = tern_account_find_identity (account, argv[2]);
  if (identity == NULL)
    {
      g_printerr (_("tern-cli identity remove: the account “%s” has no address “%s”\n"),
                  argv[1], argv[2]);
      return TERN_CLI_EXIT_FAILURE;
    }
  if (g_list_model_get_n_items (tern_account_get_identities (account)) == 1)
    {
      g_printerr (_("tern-cli identity remove: “%s” is the account’s only address; an account "
                    "sends from at least one\n"), argv[2]);
      return TERN_CLI_EXIT_FAILURE;
    }

  tern_account_remove_identity (account, identity);
  if (!tern_account_manager_save (manager, account, &error))
    {
      g_printerr ("tern-cli identity remove: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  g_print (_("Removed “%s” from the account “%s”.\n"), argv[2], argv[1]);
  return TERN_CLI_EXIT_OK;
}

int
tern_cli_command_identity (TernCliContext  *context,
                           int              argc,
                           char           **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (g_strcmp0 (sub, "add") == 0)
    return identity_add (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "list") == 0)
    return identity_list (context, argc - 1, argv + 1);
  if (g_strcmp0 (sub, "remove") == 0)
    return identity_remove (context, argc - 1, argv + 1);

  g_printerr (_("Usage: tern-cli identity add|list|remove ACCOUNT …\n"));
  return TERN_CLI_EXIT_USAGE;
}

/* autoconfig */

int
tern_cli_command_autoconfig (TernCliContext  *context,
                             int              argc,
                             char           **argv)
{
  g_autoptr(TernAutoconfigResult) found = NULL;
  g_autoptr(GError) error = NULL;

  if (!tern_cli_parse ("autoconfig", _("ADDRESS"),
                       _("Find an address’s mail servers and say where they were found."),
                       NULL, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli autoconfig: give one address\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  found = discover (argv[1], &error);
  if (found == NULL)
    {
      g_printerr ("tern-cli autoconfig: %s\n", error->message);
      return g_error_matches (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_BAD_ADDRESS)
        ? TERN_CLI_EXIT_USAGE : TERN_CLI_EXIT_FAILURE;
    }

  print_settings (found);
  return TERN_CLI_EXIT_OK;
}

/* trust */

int
tern_cli_command_trust (TernCliContext  *context,
                        int              argc,
                        char           **argv)
{
  g_autoptr(TernTrustStore) store = NULL;
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *starttls = NULL;
  g_autofree char *text = NULL;
  gboolean yes = FALSE;
  TernTrustMethod method;
  guint16 port;

  const GOptionEntry entries[] = {
    { "starttls", 0, 0, G_OPTION_ARG_STRING, &starttls,
      N_("Reach TLS with STARTTLS of imap, pop3 or smtp, or none for TLS from the start "
         "(default: from the port)"), N_("PROTOCOL") },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_("Trust the certificate without asking"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("trust", _("HOST:PORT"),
                       _("Show a server’s certificate that does not validate, and trust it."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli trust: give one HOST:PORT\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  if (!parse_host_port (argv[1], &host, &port, &error) || port == 0)
    {
      g_printerr (_("tern-cli trust: %s\n"),
                  error != NULL ? error->message : _("give the port too, as HOST:PORT"));
      return TERN_CLI_EXIT_USAGE;
    }

  method = tern_trust_method_for_port (port);
  if (g_strcmp0 (starttls, "imap") == 0)
    method = TERN_TRUST_STARTTLS_IMAP;
  else if (g_strcmp0 (starttls, "pop3") == 0)
    method = TERN_TRUST_STARTTLS_POP3;
  else if (g_strcmp0 (starttls, "smtp") == 0)
    method = TERN_TRUST_STARTTLS_SMTP;
  else if (g_strcmp0 (starttls, "none") == 0)
    method = TERN_TRUST_TLS;
  else if (starttls != NULL)
    {
      g_printerr (_("tern-cli trust: --starttls is imap, pop3, smtp or none\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  if (!tern_paths_ensure (context->paths, &error))
    {
      g_printerr ("tern-cli trust: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }
  store = tern_trust_store_new (tern_paths_get_config_dir (context->paths));
  if (!tern_trust_store_load (store, &error))
    {
      g_printerr ("tern-cli trust: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  tern_trust_check_server_async (host, port, method, NULL, NULL, tern_cli_got_result, &result);
  details = tern_trust_check_server_finish (tern_cli_wait (&result), &error);
  if (details == NULL)
    {
      if (g_error_matches (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_VALID))
        {
          g_print ("%s\n", error->message);
          return TERN_CLI_EXIT_OK;
        }
      g_printerr ("tern-cli trust: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  text = tern_certificate_details_format (details);
  g_print (_("This server’s certificate does not validate:\n\n%s\n"), text);

  if (tern_trust_store_lookup (store, host, port) != NULL)
    {
      if (g_ascii_strcasecmp (tern_trust_store_lookup (store, host, port),
                              details->fingerprint) == 0)
        {
          g_print (_("This certificate is already trusted for %s port %u.\n"), details->host,
                   details->port);
          return TERN_CLI_EXIT_OK;
        }
      g_print (_("A different certificate was trusted here before (%s).\n"),
               tern_trust_store_lookup (store, host, port));
    }

  if (!tern_certificate_details_can_be_trusted (details))
    {
      g_printerr (_("tern-cli trust: a revoked certificate is never trusted\n"));
      return TERN_CLI_EXIT_FAILURE;
    }

  if (!yes && !confirm (_("Compare the SHA-256 fingerprint with the one your provider gives. "
                          "Trust this certificate for this server and port?")))
    {
      g_printerr (_("tern-cli trust: not trusted\n"));
      return TERN_CLI_EXIT_FAILURE;
    }

  if (!tern_trust_store_pin (store, details, &error))
    {
      g_printerr ("tern-cli trust: %s\n", error->message);
      return TERN_CLI_EXIT_FAILURE;
    }

  g_print (_("Trusted for %s port %u.\n"), details->host, details->port);
  return TERN_CLI_EXIT_OK;
}
