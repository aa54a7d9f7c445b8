/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tern-test-util.h"

/*
 * The account commands of tern-cli, run as a user runs them: the built
 * program with --data-dir on a temporary profile, its output read, its
 * exit status checked (0 done, 1 failed, 2 wrong command line).  The
 * program's session bus points nowhere, so that no test can touch the
 * keyring of the person running the tests; the keyring path is tested
 * against a real gnome-keyring in tests/integration/.  Automatic set-up is
 * exercised through the built-in table, which needs no network.
 */

typedef struct
{
  char *out;
  char *err;
  int status;
} CliResult;

static void
cli_result_clear (CliResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliResult, cli_result_clear)

typedef struct
{
  char *root;
} Fixture;

static void
run_cli_with_input (Fixture    *fixture,
                    CliResult  *result,
                    const char *input,
                    const char *first_arg,
                    ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) TERN_CLI_PATH);
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, fixture->root);
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                "unix:path=/nonexistent/tern-test-bus", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input != NULL ? input : "", NULL, &result->out,
                                 &result->err, &error);
  g_assert_no_error (error);
  if (result->out == NULL)
    result->out = g_strdup ("");
  if (result->err == NULL)
    result->err = g_strdup ("");
  g_assert_true (g_subprocess_get_if_exited (process));
  result->status = g_subprocess_get_exit_status (process);
}

#define run_cli(fixture, result, ...) run_cli_with_input (fixture, result, NULL, __VA_ARGS__)

static void
assert_contains (const char *text,
                 const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("“%s” is not in:\n%s", part, text);
}

static char *
account_file (Fixture    *fixture,
              const char *id)
{
  g_autofree char *name = g_strconcat (id, ".ini", NULL);

  return g_build_filename (fixture->root, "config", "accounts", name, NULL);
}

static char *
read_account_file (Fixture    *fixture,
                   const char *id)
{
  g_autofree char *path = account_file (fixture, id);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->root = tern_test_make_temp_dir ("tern-cli-account-XXXXXX");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  tern_test_remove_tree (fixture->root);
  g_clear_pointer (&fixture->root, g_free);
}

static void
test_add_from_address_only (Fixture       *fixture,
                            gconstpointer  data)
{
  g_auto(CliResult) added = { 0 };
  g_auto(CliResult) shown = { 0 };
  g_autofree char *text = NULL;

  run_cli (fixture, &added, "account", "add", "--email", "ada@gmail.com", "--name", "Ada",
           "--password-command", "pass show mail/gmail", NULL);
  g_assert_cmpint (added.status, ==, 0);
  /* What was found, and from where. */
  assert_contains (added.out, "built-in table");
  assert_contains (added.out, "imap.gmail.com");
  assert_contains (added.out, "Added the account “ada-gmail-com”");

  text = read_account_file (fixture, "ada-gmail-com");
  assert_contains (text, "Host=imap.gmail.com");
  assert_contains (text, "Host=smtp.gmail.com");
  assert_contains (text, "PasswordCommand=pass show mail/gmail");
  assert_contains (text, "Address=ada@gmail.com");

  run_cli (fixture, &shown, "account", "show", "ada-gmail-com", NULL);
  g_assert_cmpint (shown.status, ==, 0);
  assert_contains (shown.out, "imap imap.gmail.com port 993, tls, user ada@gmail.com");
  assert_contains (shown.out, "from its password command");
  assert_contains (shown.out, "Ada <ada@gmail.com> (default)");
}

static void
test_add_manual_and_list (Fixture       *fixture,
                          gconstpointer  data)
{
  g_auto(CliResult) added = { 0 };
  g_auto(CliResult) pop = { 0 };
  g_auto(CliResult) listed = { 0 };
  g_auto(CliResult) again = { 0 };
  g_autofree char *text = NULL;

  run_cli (fixture, &added, "account", "add", "--email", "bob@example.org",
           "--imap", "mail.example.org", "--smtp", "mail.example.org:2525",
           "--security", "starttls", "--user", "bob", NULL);
  g_assert_cmpint (added.status, ==, 0);
  text = read_account_file (fixture, "bob-example-org");
  assert_contains (text, "Port=143");
  assert_contains (text, "Port=2525");
  assert_contains (text, "Security=starttls");
  assert_contains (text, "Username=bob");
  g_assert_null (strstr (text, "PasswordCommand"));

  run_cli (fixture, &pop, "account", "add", "--email", "carol@example.net",
           "--pop3", "[::1]:1995", "--smtp", "smtp.example.net", NULL);
  g_assert_cmpint (pop.status, ==, 0);

  run_cli (fixture, &listed, "account", "list", NULL);
  g_assert_cmpint (listed.status, ==, 0);
  assert_contains (listed.out, "bob-example-org");
  assert_contains (listed.out, "imap mail.example.org");
  assert_contains (listed.out, "pop3 ::1");

  /* The same mailbox twice is refused, and nothing is overwritten. */
  run_cli (fixture, &again, "account", "add", "--email", "bob@example.org",
           "--imap", "mail.example.org", "--smtp", "mail.example.org", "--user", "bob", NULL);
  g_assert_cmpint (again.status, ==, 1);
}

static void
test_add_refuses_bad_command_lines (Fixture       *fixture,
                                    gconstpointer  data)
{
  const char *cases[][12] = {
    { "account", "add", NULL },
    { "account", "add", "--email", "not-an-address", NULL },
    { "account", "add", "--email", "a@example.org", "--imap", "h", "--pop3", "h", "--smtp", "h",
      NULL },
    { "account", "add", "--email", "a@example.org", "--imap", "h", NULL },
    { "account", "add", "--email", "a@example.org", "--imap", "h:99999", "--smtp", "h", NULL },
    { "account", "add", "--email", "a@example.org", "--imap", "h", "--smtp", "h",
      "--security", "maybe", NULL },
    { "account", "add", "--email", "a@example.org", "--password-stdin",
      "--password-command", "x", NULL },
    { "account", "frobnicate", NULL },
    { "trust", "example.org", NULL },
    { "autoconfig", NULL },
  };
  g_autofree char *accounts = g_build_filename (fixture->root, "config", "accounts", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(CliResult) result = { 0 };
      const char **c = cases[i];

      run_cli (fixture, &result, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9],
               c[10], c[11]);
      if (result.status != 2)
        g_error ("case %u: status %d, stderr %s", i, result.status, result.err);
      g_assert_cmpstr (result.err, !=, "");
    }

  /* None of them wrote an account. */
  if (g_file_test (accounts, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (accounts, 0, NULL);

      g_assert_null (g_dir_read_name (dir));
    }
}

static void
test_password_stdin_never_on_disk (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_auto(CliResult) added = { 0 };
  g_autofree char *text = NULL;

  /* No keyring here: the account is saved, the password is not, and the
   * user is told how to try again.  The password appears nowhere. */
  run_cli_with_input (fixture, &added, "s3cret-P4ss\n", "account", "add", "--email",
                      "dave@example.org", "--imap", "imap.example.org", "--smtp",
                      "smtp.example.org", "--password-stdin", NULL);
  g_assert_cmpint (added.status, ==, 1);
  assert_contains (added.err, "its password is not");
  assert_contains (added.err, "account edit dave-example-org --password-stdin");
  g_assert_null (strstr (added.out, "s3cret"));
  g_assert_null (strstr (added.err, "s3cret"));

  text = read_account_file (fixture, "dave-example-org");
  g_assert_null (strstr (text, "s3cret"));
}

static void
test_identities (Fixture       *fixture,
                 gconstpointer  data)
{
  g_auto(CliResult) added = { 0 };
  g_auto(CliResult) alias = { 0 };
  g_auto(CliResult) duplicate = { 0 };
  g_auto(CliResult) listed = { 0 };
  g_auto(CliResult) removed = { 0 };
  g_auto(CliResult) last = { 0 };
  g_auto(CliResult) relisted = { 0 };
  g_auto(CliResult) plain = { 0 };
  g_auto(CliResult) bad_format = { 0 };
  g_auto(CliResult) rich_removed = { 0 };
  g_autofree char *text = NULL;

  run_cli (fixture, &added, "account", "add", "--email", "office@example.org",
           "--imap", "imap.example.org", "--smtp", "smtp.example.org", NULL);
  g_assert_cmpint (added.status, ==, 0);

  run_cli (fixture, &alias, "identity", "add", "office-example-org", "--email",
           "support@example.org", "--name", "Support", "--reply-to", "help@example.org",
           "--default", "--compose-format", "plain", NULL);
  g_assert_cmpint (alias.status, ==, 0);
  text = read_account_file (fixture, "office-example-org");
  assert_contains (text, "Address=support@example.org");
  assert_contains (text, "ReplyTo=help@example.org");
  assert_contains (text, "ComposeFormat=plain");
  g_clear_pointer (&text, g_free);

  run_cli (fixture, &bad_format, "identity", "add", "office-example-org", "--email",
           "news@example.org", "--compose-format", "html", NULL);
  g_assert_cmpint (bad_format.status, ==, 2);
  assert_contains (bad_format.err, "rich or plain");
  run_cli (fixture, &plain, "identity", "add", "office-example-org", "--email",
           "sales@example.org", "--compose-format", "rich", NULL);
  g_assert_cmpint (plain.status, ==, 0);
  text = read_account_file (fixture, "office-example-org");
  /* Only the plain identity names its format. */
  g_assert_nonnull (strstr (text, "ComposeFormat=plain"));
  g_assert_null (strstr (strstr (text, "ComposeFormat=plain") + 1, "ComposeFormat"));
  g_assert_null (strstr (text, "news@example.org"));
  run_cli (fixture, &rich_removed, "identity", "remove", "office-example-org",
           "sales@example.org", NULL);
  g_assert_cmpint (rich_removed.status, ==, 0);

  run_cli (fixture, &duplicate, "identity", "add", "office-example-org", "--email",
           "SUPPORT@example.org", NULL);
  g_assert_cmpint (duplicate.status, ==, 1);

  run_cli (fixture, &listed, "identity", "list", "office-example-org", NULL);
  assert_contains (listed.out, "office@example.org");
  assert_contains (listed.out, "support@example.org");
  assert_contains (listed.out, "Support (default)");

  run_cli (fixture, &removed, "identity", "remove", "office-example-org",
           "support@example.org", NULL);
  g_assert_cmpint (removed.status, ==, 0);
  run_cli (fixture, &last, "identity", "remove", "office-example-org", "office@example.org",
           NULL);
  g_assert_cmpint (last.status, ==, 1);
  assert_contains (last.err, "only address");

  /* The one left became the default. */
  run_cli (fixture, &relisted, "identity", "list", "office-example-org", NULL);
  assert_contains (relisted.out, "office@example.org");
  assert_contains (relisted.out, "(default)");
  g_assert_null (strstr (relisted.out, "support@"));
}

static void
test_edit_and_remove (Fixture       *fixture,
                      gconstpointer  data)
{
  g_auto(CliResult) added = { 0 };
  g_auto(CliResult) edited = { 0 };
  g_auto(CliResult) missing = { 0 };
  g_auto(CliResult) unconfirmed = { 0 };
  g_auto(CliResult) removed = { 0 };
  g_autofree char *text = NULL;
  g_autofree char *path = account_file (fixture, "eve-example-org");

  run_cli (fixture, &added, "account", "add", "--email", "eve@example.org",
           "--imap", "imap.example.org", "--smtp", "smtp.example.org", NULL);
  g_assert_cmpint (added.status, ==, 0);

  run_cli (fixture, &edited, "account", "edit", "eve-example-org", "--pop3",
           "pop.example.org", "--name", "Eve at work", "--disable", NULL);
  g_assert_cmpint (edited.status, ==, 0);
  text = read_account_file (fixture, "eve-example-org");
  assert_contains (text, "Protocol=pop3");
  assert_contains (text, "Host=pop.example.org");
  assert_contains (text, "Port=995");
  assert_contains (text, "Enabled=false");
  assert_contains (text, "Name=Eve at work");

  run_cli (fixture, &missing, "account", "edit", "nobody", "--disable", NULL);
  g_assert_cmpint (missing.status, ==, 1);

  /* Without a terminal to ask on and without --yes, nothing is removed. */
  run_cli (fixture, &unconfirmed, "account", "remove", "eve-example-org", NULL);
  g_assert_cmpint (unconfirmed.status, ==, 1);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  run_cli (fixture, &removed, "account", "remove", "eve-example-org", "--yes", NULL);
  g_assert_cmpint (removed.status, ==, 0);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_autoconfig_command (Fixture       *fixture,
                         gconstpointer  data)
{
  g_auto(CliResult) found = { 0 };
  g_auto(CliResult) bad = { 0 };

  run_cli (fixture, &found, "autoconfig", "someone@posteo.de", NULL);
  g_assert_cmpint (found.status, ==, 0);
  assert_contains (found.out, "Found by:   built-in table");
  assert_contains (found.out, "Posteo");
  assert_contains (found.out, "imap posteo.de port 993, tls");
  assert_contains (found.out, "smtp posteo.de port 465, tls");

  run_cli (fixture, &bad, "autoconfig", "nobody", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  assert_contains (bad.err, "not an email address");
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
test_verify_reports_the_server (Fixture       *fixture,
                                gconstpointer  data)
{
  g_auto(CliResult) added = { 0 };
  g_auto(CliResult) verified = { 0 };
  g_auto(CliResult) refused = { 0 };
  g_auto(CliResult) no_password = { 0 };
  g_autofree char *server = g_strdup_printf ("127.0.0.1:%u", closed_port ());
  g_autofree char *expected = NULL;
  g_autofree char *path = account_file (fixture, "frank-example-org");

  expected = g_strdup_printf ("The receiving server 127.0.0.1 port %s", strchr (server, ':') + 1);

  run_cli (fixture, &added, "account", "add", "--email", "frank@example.org", "--imap", server,
           "--smtp", server, "--password-command", "echo hunter2", NULL);
  g_assert_cmpint (added.status, ==, 0);

  /* Nothing listens there: the error names the server, never the
   * password the command printed. */
  run_cli (fixture, &verified, "account", "verify", "frank-example-org", NULL);
  g_assert_cmpint (verified.status, ==, 1);
  assert_contains (verified.err, expected);
  g_assert_null (strstr (verified.err, "hunter2"));

  /* With --verify, a failed login saves nothing. */
  run_cli (fixture, &refused, "account", "add", "--email", "grace@example.org", "--imap", server,
           "--smtp", server, "--password-command", "echo pw", "--verify", NULL);
  g_assert_cmpint (refused.status, ==, 1);
  assert_contains (refused.err, "nothing was saved");
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  {
    g_autofree char *grace = account_file (fixture, "grace-example-org");

    g_assert_false (g_file_test (grace, G_FILE_TEST_EXISTS));
  }

  run_cli (fixture, &no_password, "account", "add", "--email", "heidi@example.org", "--imap",
           server, "--smtp", server, "--verify", NULL);
  g_assert_cmpint (no_password.status, ==, 2);
}

#define ADD_FIXTURE_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  ADD_FIXTURE_TEST ("/cli/account/add-from-address-uses-autoconfig",
                    test_add_from_address_only);
  ADD_FIXTURE_TEST ("/cli/account/add-manual-servers-and-list", test_add_manual_and_list);
  ADD_FIXTURE_TEST ("/cli/account/bad-command-lines-change-nothing",
                    test_add_refuses_bad_command_lines);
  ADD_FIXTURE_TEST ("/cli/account/password-stdin-never-on-disk-or-screen",
                    test_password_stdin_never_on_disk);
  ADD_FIXTURE_TEST ("/cli/identity/add-list-remove", test_identities);
  ADD_FIXTURE_TEST ("/cli/account/edit-and-remove-after-confirmation", test_edit_and_remove);
  ADD_FIXTURE_TEST ("/cli/autoconfig/prints-what-and-where", test_autoconfig_command);
  ADD_FIXTURE_TEST ("/cli/account/verify-names-the-server-and-saves-nothing",
                    test_verify_reports_the_server);

  return g_test_run ();
}
