/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tern-credentials.h"
#include "tern-credentials-secret.h"

/*
 * The keyring provider against a real GNOME Keyring, which
 * tern-test-keyring.sh starts in a private D-Bus session with a temporary
 * home.  What Tern stores must be what the Secret Service holds: the test
 * reads it back with secret-tool, a separate program, and checks that the
 * keyring file on disk does not hold the password in clear.
 */

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);

  return *slot;
}

static void
got_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static char *
lookup (TernCredentials    *credentials,
        const char         *account_id,
        TernCredentialKind  kind,
        GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_lookup_async (credentials, account_id, kind, NULL, got_result_cb, &result);
  return tern_credentials_lookup_finish (credentials, wait_for (&result), error);
}

static gboolean
store (TernCredentials    *credentials,
       const char         *account_id,
       TernCredentialKind  kind,
       const char         *secret,
       GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_store_async (credentials, account_id, kind, secret, NULL, got_result_cb,
                                &result);
  return tern_credentials_store_finish (credentials, wait_for (&result), error);
}

static gboolean
delete (TernCredentials    *credentials,
        const char         *account_id,
        TernCredentialKind  kind,
        GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_credentials_delete_async (credentials, account_id, kind, NULL, got_result_cb, &result);
  return tern_credentials_delete_finish (credentials, wait_for (&result), error);
}

/* What secret-tool, another client of the same Secret Service, finds. */
static char *
secret_tool_lookup (const char *account_id,
                    const char *kind)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, "secret-tool", "lookup", "xdg:schema", APPLICATION_ID,
                              "account", account_id, "kind", kind, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process) || out == NULL || *out == '\0')
    return NULL;

  return g_steal_pointer (&out);
}

static gboolean
keyring_files_hold (const char *needle)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "keyrings", NULL);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *data = NULL;
      gsize length;

      if (!g_file_get_contents (path, &data, &length, NULL))
        continue;
      for (gsize i = 0; i + strlen (needle) <= length; i++)
        {
          if (memcmp (data + i, needle, strlen (needle)) == 0)
            return TRUE;
        }
    }

  return FALSE;
}

static void
test_store_lookup_delete (void)
{
  g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
  g_autoptr(TernCredentials) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *other = NULL;
  const char *password = "correct horse battery staple";

  g_assert_true (store (keyring, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, password, &error));
  g_assert_no_error (error);
  g_assert_true (store (keyring, "work", TERN_CREDENTIAL_SENDING_PASSWORD, "smtp-secret",
                        &error));
  g_assert_no_error (error);

  /* A new provider (as after a restart) finds it through the service. */
  again = tern_credentials_secret_new ();
  secret = lookup (again, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, password);

  seen = secret_tool_lookup ("work", "receiving-password");
  g_assert_cmpstr (seen, ==, password);

  /* The keyring keeps it encrypted with the login password. */
  g_assert_false (keyring_files_hold (password));

  other = lookup (again, "home", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  g_assert_null (other);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Storing again replaces rather than adds. */
  g_assert_true (store (keyring, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, "changed", &error));
  g_clear_pointer (&secret, tern_credentials_free_secret);
  secret = lookup (keyring, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  g_assert_cmpstr (secret, ==, "changed");

  g_assert_true (delete (keyring, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error));
  g_assert_no_error (error);
  g_clear_pointer (&secret, tern_credentials_free_secret);
  secret = lookup (keyring, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&seen, g_free);
  seen = secret_tool_lookup ("work", "receiving-password");
  g_assert_null (seen);

  /* The sending password was not touched; deleting nothing is fine. */
  g_clear_pointer (&secret, tern_credentials_free_secret);
  secret = lookup (keyring, "work", TERN_CREDENTIAL_SENDING_PASSWORD, &error);
  g_assert_cmpstr (secret, ==, "smtp-secret");
  g_assert_true (delete (keyring, "work", TERN_CREDENTIAL_RECEIVING_PASSWORD, &error));
  g_assert_no_error (error);
}

static int
run_cli (const char  *root,
         const char  *input,
         char       **out,
         const char  *first_arg,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) TERN_CLI_PATH);
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, (gpointer) root);
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, out, NULL, &error);
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (process);
}

static void
test_cli_password_goes_to_keyring (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("tern-cli-keyring-XXXXXX", &error);
  g_autofree char *added = NULL;
  g_autofree char *changed = NULL;
  g_autofree char *removed = NULL;
  g_autofree char *receiving = NULL;
  g_autofree char *sending = NULL;
  g_autofree char *file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *after_edit = NULL;
  g_autofree char *after_remove = NULL;
  const char *password = "p4ss with spaces";

  g_assert_no_error (error);
  g_assert_cmpint (run_cli (root, "p4ss with spaces\n", &added, "account", "add", "--email",
                            "eve@example.org", "--imap", "imap.example.org", "--smtp",
                            "smtp.example.org", "--password-stdin", NULL), ==, 0);
  g_assert_nonnull (strstr (added, "The password is in the keyring"));
  g_assert_null (strstr (added, password));

  receiving = secret_tool_lookup ("eve-example-org", "receiving-password");
  sending = secret_tool_lookup ("eve-example-org", "sending-password");
  g_assert_cmpstr (receiving, ==, password);
  g_assert_cmpstr (sending, ==, password);

  path = g_build_filename (root, "config", "accounts", "eve-example-org.ini", NULL);
  g_assert_true (g_file_get_contents (path, &file, NULL, NULL));
  g_assert_null (strstr (file, "p4ss"));

  g_assert_cmpint (run_cli (root, "n3w\n", &changed, "account", "edit", "eve-example-org",
                            "--password-stdin", NULL), ==, 0);
  after_edit = secret_tool_lookup ("eve-example-org", "receiving-password");
  g_assert_cmpstr (after_edit, ==, "n3w");

  /* Removing the account removes its passwords. */
  g_assert_cmpint (run_cli (root, "", &removed, "account", "remove", "eve-example-org", "--yes",
                            NULL), ==, 0);
  after_remove = secret_tool_lookup ("eve-example-org", "receiving-password");
  g_assert_null (after_remove);
  g_clear_pointer (&after_remove, g_free);
  after_remove = secret_tool_lookup ("eve-example-org", "sending-password");
  g_assert_null (after_remove);

  {
    g_autofree char *config = g_build_filename (root, "config", NULL);
    g_autofree char *accounts = g_build_filename (config, "accounts", NULL);
    g_autofree char *data = g_build_filename (root, "data", NULL);
    g_autofree char *cache = g_build_filename (root, "cache", NULL);

    g_rmdir (accounts);
    g_rmdir (config);
    g_rmdir (data);
    g_rmdir (cache);
    g_rmdir (root);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL ||
      strstr (g_getenv ("DBUS_SESSION_BUS_ADDRESS"), "tern-keyring-") == NULL)
    {
      /* Never the user's own keyring. */
      g_test_skip ("run under tests/integration/tern-test-keyring.sh");
      return 0;
    }

  g_test_add_func ("/credentials/keyring/store-lookup-delete-through-secret-service",
                   test_store_lookup_delete);
  g_test_add_func ("/credentials/keyring/cli-password-stdin-goes-to-the-keyring",
                   test_cli_password_goes_to_keyring);

  return g_test_run ();
}
