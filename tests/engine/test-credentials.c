/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tern-credentials.h"
#include "tern-credentials-command.h"
#include "tern-credentials-memory.h"
#include "tern-test-util.h"

/*
 * Credentials: the in-memory provider, the password-command provider (real
 * commands run through /bin/sh), the choice of provider for an account, and
 * the account file's PasswordCommand key.  The keyring provider is tested
 * against a real gnome-keyring in tests/integration/.
 */

static char *
lookup (TernCredentials     *credentials,
        const char          *account_id,
        TernCredentialKind   kind,
        GCancellable        *cancellable,
        GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_lookup_async (credentials, account_id, kind, cancellable,
                                 tern_test_got_result_cb, &result);
  return tern_credentials_lookup_finish (credentials, tern_test_wait_for (&result), error);
}

static gboolean
store (TernCredentials     *credentials,
       const char          *account_id,
       TernCredentialKind   kind,
       const char          *secret,
       GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_store_async (credentials, account_id, kind, secret, NULL,
                                tern_test_got_result_cb, &result);
  return tern_credentials_store_finish (credentials, tern_test_wait_for (&result), error);
}

static gboolean
delete (TernCredentials     *credentials,
        const char          *account_id,
        TernCredentialKind   kind,
        GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_delete_async (credentials, account_id, kind, NULL,
                                 tern_test_got_result_cb, &result);
  return tern_credentials_delete_finish (credentials, tern_test_wait_for (&result), error);
}

static void
test_memory_round_trip (void)
{
  g_autoptr(TernCredentials) memory = tern_credentials_memory_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *other = NULL;
  g_autofree char *token = NULL;

  g_assert_true (store (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, "imap pass", &error));
  g_assert_no_error (error);
  g_assert_true (store (memory, "work", TERN_CREDENTIAL_SENDING_PASSWORD, "smtp pass", &error));
  g_assert_true (store (memory, "home", TERN_CREDENTIAL_RECEIVING_PASSWORD, "home pass", &error));
  g_assert_true (store (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, "new pass", &error));
  g_assert_no_error (error);

  /* Each account and kind has its own secret; storing again replaces. */
  secret = lookup (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "new pass");
  other = lookup (memory, "home", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_cmpstr (other, ==, "home pass");

  token = lookup (memory, "work", TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, NULL, &error);
  g_assert_null (token);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (delete (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error));
  g_assert_no_error (error);
  g_clear_pointer (&secret, tern_credentials_free_secret);
  secret = lookup (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The other secrets of the account stay; deleting twice is fine. */
  g_clear_pointer (&other, g_free);
  other = lookup (memory, "work", TERN_CREDENTIAL_SENDING_PASSWORD, NULL, &error);
  g_assert_cmpstr (other, ==, "smtp pass");
  g_assert_true (delete (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error));
  g_assert_no_error (error);
}

static void
test_empty_requests_refused (void)
{
  g_autoptr(TernCredentials) memory = tern_credentials_memory_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;

  g_assert_false (store (memory, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, "", &error));
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_INVALID);
  g_clear_error (&error);

  secret = lookup (memory, "", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_INVALID);
}

static void
test_command_first_line (void)
{
  g_autoptr(TernCredentials) command =
    tern_credentials_command_new ("printf 'pass word\\r\\nsecond line\\n'",
                                  "printf 'no-newline'", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *receiving = NULL;
  g_autofree char *sending = NULL;

  receiving = lookup (command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  /* Spaces inside a password are kept; the line end is not. */
  g_assert_cmpstr (receiving, ==, "pass word");

  sending = lookup (command, "work", TERN_CREDENTIAL_SENDING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sending, ==, "no-newline");
}

static void
test_command_environment (void)
{
  g_autoptr(TernCredentials) command =
    tern_credentials_command_new ("echo \"$TERN_ACCOUNT_ID/$TERN_CREDENTIAL_KIND\"", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;

  secret = lookup (command, "office-2", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "office-2/receiving-password");
}

static void
test_command_failure_hides_output (void)
{
  g_autoptr(TernCredentials) failing =
    tern_credentials_command_new ("echo hunter2-secret; echo 'vault is sealed' >&2; exit 3",
                                  "true", NULL);
  g_autoptr(TernCredentials) missing =
    tern_credentials_command_new ("/nonexistent/tern-password-tool", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;

  secret = lookup (failing, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED);
  /* The message tells why (the status and the command's own complaint),
   * and never what the command printed on stdout. */
  g_assert_nonnull (strstr (error->message, "status 3"));
  g_assert_nonnull (strstr (error->message, "vault is sealed"));
  g_assert_null (strstr (error->message, "hunter2"));
  g_clear_error (&error);

  /* Success with nothing printed is no password. */
  secret = lookup (failing, "work", TERN_CREDENTIAL_SENDING_PASSWORD, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED);
  g_assert_nonnull (strstr (error->message, "no password"));
  g_clear_error (&error);

  secret = lookup (missing, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED);
  g_assert_nonnull (strstr (error->message, "status 127"));
}

static gboolean
process_is_alive (const char *pid_file)
{
  g_autofree char *text = NULL;
  g_autofree char *proc = NULL;
  g_autofree char *stat = NULL;
  const char *state;

  if (!g_file_get_contents (pid_file, &text, NULL, NULL))
    return FALSE;
  proc = g_strdup_printf ("/proc/%s/stat", g_strstrip (text));
  if (!g_file_get_contents (proc, &stat, NULL, NULL))
    return FALSE;

  /* A zombie waiting for its parent is gone for this purpose. */
  state = strrchr (stat, ')');
  return state != NULL && state[1] == ' ' && state[2] != 'Z';
}

static void
test_command_timeout_kills_group (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-credentials-XXXXXX");
  g_autofree char *pid_file = g_build_filename (dir, "sleeper.pid", NULL);
  /* The shell starts a sleeper in the background and waits: killing only
   * the shell would leave the sleeper holding stdout open. */
  g_autofree char *script = g_strdup_printf ("sleep 30 & echo $! > '%s'; wait", pid_file);
  g_autoptr(TernCredentials) command = tern_credentials_command_new (script, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  gint64 start = g_get_monotonic_time ();

  tern_credentials_command_set_timeout (TERN_CREDENTIALS_COMMAND (command), 300);
  secret = lookup (command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);

  /* The background sleeper was in the command's process group: gone. */
  for (int i = 0; i < 100 && process_is_alive (pid_file); i++)
    g_usleep (20000);
  g_assert_false (process_is_alive (pid_file));

  tern_test_remove_tree (dir);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_command_cancel (void)
{
  g_autoptr(TernCredentials) command = tern_credentials_command_new ("sleep 30", NULL, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  gint64 start = g_get_monotonic_time ();

  g_timeout_add (100, cancel_cb, cancellable);
  secret = lookup (command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, cancellable, &error);
  g_assert_null (secret);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

static void
test_command_read_only_and_fallback (void)
{
  g_autoptr(TernCredentials) memory = tern_credentials_memory_new ();
  g_autoptr(TernCredentials) command = tern_credentials_command_new ("echo from-command", NULL,
                                                                     memory);
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *token = NULL;
  g_autofree char *sending = NULL;

  /* The password a command gives cannot be stored over. */
  g_assert_false (store (command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, "x", &error));
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_false (delete (command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error));
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_READ_ONLY);
  g_clear_error (&error);

  /* Kinds without a command go to the fallback, both ways. */
  g_assert_true (store (command, "work", TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, "tok", &error));
  g_assert_no_error (error);
  g_assert_true (store (command, "work", TERN_CREDENTIAL_SENDING_PASSWORD, "smtp", &error));
  token = lookup (memory, "work", TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, NULL, &error);
  g_assert_cmpstr (token, ==, "tok");
  sending = lookup (command, "work", TERN_CREDENTIAL_SENDING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sending, ==, "smtp");

  secret = lookup (command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "from-command");
}

static TernAccount *
make_account (void)
{
  TernAccount *account = tern_account_new ();
  g_autoptr(TernIdentity) identity = tern_identity_new ("Ada", "ada@example.com");

  tern_account_set_receiving_host (account, "imap.example.com");
  tern_account_set_sending_host (account, "smtp.example.com");
  tern_account_add_identity (account, identity);
  return account;
}

static void
test_for_account (void)
{
  g_autoptr(TernCredentials) memory = tern_credentials_memory_new ();
  g_autoptr(TernAccount) account = make_account ();
  g_autoptr(TernCredentials) plain = NULL;
  g_autoptr(TernCredentials) with_command = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;

  plain = tern_credentials_for_account (account, memory);
  g_assert_true (plain == memory);

  tern_account_set_receiving_password_command (account, "echo via-command");
  with_command = tern_credentials_for_account (account, memory);
  g_assert_true (TERN_IS_CREDENTIALS_COMMAND (with_command));
  secret = lookup (with_command, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "via-command");
}

static void
test_account_file_keeps_command (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-credentials-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "work.ini", NULL);
  g_autoptr(TernAccount) account = make_account ();
  g_autoptr(TernAccount) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  tern_account_set_receiving_password_command (account, "pass show mail/work");
  tern_account_set_sending_password_command (account, "pass show mail/smtp");
  g_assert_true (tern_account_save_to_file (account, path, &error));
  g_assert_no_error (error);

  /* PasswordCommand is the one key naming a password that the file may
   * hold: it holds a command. */
  loaded = tern_account_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_receiving_password_command (loaded), ==,
                   "pass show mail/work");
  g_assert_cmpstr (tern_account_get_sending_password_command (loaded), ==,
                   "pass show mail/smtp");

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "PasswordCommand=pass show mail/work"));

  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/credentials/memory/keeps-a-secret-per-account-and-kind",
                   test_memory_round_trip);
  g_test_add_func ("/credentials/refuses-empty-secret-and-account", test_empty_requests_refused);
  g_test_add_func ("/credentials/command/password-is-the-first-line", test_command_first_line);
  g_test_add_func ("/credentials/command/gets-account-and-kind-in-environment",
                   test_command_environment);
  g_test_add_func ("/credentials/command/failure-says-why-without-the-output",
                   test_command_failure_hides_output);
  g_test_add_func ("/credentials/command/timeout-kills-the-process-group",
                   test_command_timeout_kills_group);
  g_test_add_func ("/credentials/command/cancel-stops-the-command", test_command_cancel);
  g_test_add_func ("/credentials/command/is-read-only-and-falls-back",
                   test_command_read_only_and_fallback);
  g_test_add_func ("/credentials/for-account/uses-the-command-when-set", test_for_account);
  g_test_add_func ("/credentials/account-file/keeps-the-password-command",
                   test_account_file_keeps_command);

  return g_test_run ();
}
