/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

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

  return g_test_run ();
}
