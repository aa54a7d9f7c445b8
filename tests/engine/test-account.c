/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "tern-account-auth.h"
#include "tern-account-manager.h"
#include "tern-credentials-memory.h"
#include "tern-sasl.h"
#include "tern-account.h"
#include "tern-identity.h"
#include "tern-test-util.h"

/*
 * Accounts as the user meets them: settings that come back exactly as
 * they were saved, files that are refused with a message naming the file
 * and the key to fix, a broken file that never costs the other accounts,
 * no password ever on disk, and replies that go out from the address the
 * message was sent to.
 */

typedef struct
{
  char *config_dir;
  char *accounts_dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->config_dir = tern_test_make_temp_dir ("tern-account-XXXXXX");
  fixture->accounts_dir = g_build_filename (fixture->config_dir, "accounts", NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  tern_test_remove_tree (fixture->config_dir);
  g_free (fixture->config_dir);
  g_free (fixture->accounts_dir);
}

static char *
account_data_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "engine", "data", "account", name, NULL);
}

/* A new manager over the fixture's folder, loaded, which must load
 * without problems. */
static TernAccountManager *
load_manager (Fixture *fixture)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;

  problems = tern_account_manager_load (manager, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("problem: %s", ((GError *) problems->pdata[i])->message);
  g_assert_cmpuint (problems->len, ==, 0);

  return g_steal_pointer (&manager);
}

static void
copy_into_accounts (Fixture    *fixture,
                    const char *data_name,
                    const char *file_name)
{
  g_autofree char *source = account_data_path (data_name);
  g_autofree char *target = g_build_filename (fixture->accounts_dir, file_name, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  g_assert_cmpint (g_mkdir_with_parents (fixture->accounts_dir, 0700), ==, 0);
  g_file_get_contents (source, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (target, contents, length, &error);
  g_assert_no_error (error);
}

/* A plain IMAP account with one identity, ready to add. */
static TernAccount *
make_imap_account (const char *address,
                   const char *host)
{
  TernAccount *account = tern_account_new ();
  g_autoptr(TernIdentity) identity = tern_identity_new ("Someone", address);

  tern_account_set_receiving_host (account, host);
  tern_account_set_receiving_username (account, address);
  tern_account_set_sending_host (account, host);
  tern_account_set_sending_username (account, address);
  tern_account_add_identity (account, identity);

  return account;
}

static void
add_identity (TernAccount *account,
              const char  *address)
{
  g_autoptr(TernIdentity) identity = tern_identity_new (NULL, address);

  tern_account_add_identity (account, identity);
}

static GStrv
list_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *name;
  GStrv names;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_strv_builder_add (builder, name);

  names = g_strv_builder_end (builder);
  qsort (names, g_strv_length (names), sizeof (char *), (GCompareFunc) g_strcmp0);
  return names;
}

/* Files */

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccountManager) again = NULL;
  g_autoptr(TernAccount) account = tern_account_new ();
  g_autoptr(TernIdentity) main_identity = tern_identity_new ("Ada Lovelace", "ada@example.com");
  g_autoptr(TernIdentity) alias = tern_identity_new ("Ada (support)", "support@example.com");
  g_autoptr(TernIdentity) main_loaded = NULL;
  g_autoptr(TernIdentity) alias_loaded = NULL;
  g_autoptr(GError) error = NULL;
  TernAccount *loaded;
  GListModel *identities;

  tern_account_set_display_name (account, "Work — Ada");
  tern_account_set_enabled (account, FALSE);
  tern_account_set_receiving_protocol (account, TERN_RECEIVING_PROTOCOL_POP3);
  tern_account_set_receiving_host (account, "pop.example.com");
  tern_account_set_receiving_port (account, 1995);
  tern_account_set_receiving_security (account, TERN_SECURITY_STARTTLS);
  tern_account_set_receiving_username (account, "ada");
  tern_account_set_sending_host (account, "smtp.example.com");
  tern_account_set_sending_port (account, 2525);
  tern_account_set_sending_security (account, TERN_SECURITY_NONE);
  tern_account_set_sending_username (account, "ada-smtp");
  tern_account_set_sync_interval (account, 0);
  tern_account_set_offline_days (account, 90);
  tern_account_set_pop3_after_download (account, TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS);
  tern_account_set_pop3_keep_days (account, 21);
  tern_account_set_pop3_delete_on_server (account, TRUE);
  tern_account_set_pop3_deliver_to (account, "home");

  tern_identity_set_reply_to (main_identity, "team@example.com");
  tern_identity_set_signature (main_identity, "-- \nAda\n  Analytical Engines Ltd\n");
  tern_identity_set_smtp_host (alias, "smtp.support.example.net");
  tern_identity_set_smtp_port (alias, 465);
  tern_identity_set_smtp_security (alias, TERN_SECURITY_TLS);
  tern_identity_set_smtp_username (alias, "support");
  tern_identity_set_compose_format (alias, TERN_COMPOSE_FORMAT_PLAIN);
  tern_account_add_identity (account, main_identity);
  tern_account_add_identity (account, alias);
  tern_account_set_default_identity (account, alias);

  tern_account_manager_add (manager, account, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_id (account), ==, "support-example-com");

  /* "home" does not exist: a problem to show, but the account loads. */
  {
    g_autoptr(GPtrArray) problems = NULL;

    again = tern_account_manager_new (fixture->config_dir);
    problems = tern_account_manager_load (again, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (problems->len, ==, 1);
    g_assert_nonnull (strstr (((GError *) problems->pdata[0])->message, "[POP3] DeliverTo"));
  }

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 1);
  loaded = tern_account_manager_lookup (again, "support-example-com");
  g_assert_nonnull (loaded);
  g_assert_true (loaded != account);

  g_assert_cmpstr (tern_account_get_display_name (loaded), ==, "Work — Ada");
  g_assert_false (tern_account_get_enabled (loaded));
  g_assert_cmpint (tern_account_get_receiving_protocol (loaded), ==, TERN_RECEIVING_PROTOCOL_POP3);
  g_assert_cmpstr (tern_account_get_receiving_host (loaded), ==, "pop.example.com");
  g_assert_cmpuint (tern_account_get_receiving_port (loaded), ==, 1995);
  g_assert_cmpint (tern_account_get_receiving_security (loaded), ==, TERN_SECURITY_STARTTLS);
  g_assert_cmpstr (tern_account_get_receiving_username (loaded), ==, "ada");
  g_assert_cmpstr (tern_account_get_sending_host (loaded), ==, "smtp.example.com");
  g_assert_cmpuint (tern_account_get_sending_port (loaded), ==, 2525);
  g_assert_cmpint (tern_account_get_sending_security (loaded), ==, TERN_SECURITY_NONE);
  g_assert_cmpstr (tern_account_get_sending_username (loaded), ==, "ada-smtp");
  g_assert_cmpuint (tern_account_get_sync_interval (loaded), ==, 0);
  g_assert_cmpuint (tern_account_get_offline_days (loaded), ==, 90);
  g_assert_cmpint (tern_account_get_pop3_after_download (loaded), ==,
                   TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS);
  g_assert_cmpuint (tern_account_get_pop3_keep_days (loaded), ==, 21);
  g_assert_true (tern_account_get_pop3_delete_on_server (loaded));
  g_assert_cmpstr (tern_account_get_pop3_deliver_to (loaded), ==, "home");

  identities = tern_account_get_identities (loaded);
  g_assert_cmpuint (g_list_model_get_n_items (identities), ==, 2);
  main_loaded = g_list_model_get_item (identities, 0);
  alias_loaded = g_list_model_get_item (identities, 1);

  g_assert_cmpstr (tern_identity_get_name (main_loaded), ==, "Ada Lovelace");
  g_assert_cmpstr (tern_identity_get_address (main_loaded), ==, "ada@example.com");
  g_assert_cmpstr (tern_identity_get_reply_to (main_loaded), ==, "team@example.com");
  g_assert_cmpstr (tern_identity_get_signature (main_loaded), ==,
                   "-- \nAda\n  Analytical Engines Ltd\n");
  g_assert_false (tern_identity_has_smtp_server (main_loaded));
  g_assert_false (tern_identity_get_is_default (main_loaded));
  g_assert_cmpint (tern_identity_get_compose_format (main_loaded), ==, TERN_COMPOSE_FORMAT_RICH);

  g_assert_cmpstr (tern_identity_get_name (alias_loaded), ==, "Ada (support)");
  g_assert_cmpstr (tern_identity_get_address (alias_loaded), ==, "support@example.com");
  g_assert_null (tern_identity_get_reply_to (alias_loaded));
  g_assert_true (tern_identity_has_smtp_server (alias_loaded));
  g_assert_cmpstr (tern_identity_get_smtp_host (alias_loaded), ==, "smtp.support.example.net");
  g_assert_cmpuint (tern_identity_get_smtp_port (alias_loaded), ==, 465);
  g_assert_cmpint (tern_identity_get_smtp_security (alias_loaded), ==, TERN_SECURITY_TLS);
  g_assert_cmpstr (tern_identity_get_smtp_username (alias_loaded), ==, "support");
  g_assert_cmpint (tern_identity_get_compose_format (alias_loaded), ==,
                   TERN_COMPOSE_FORMAT_PLAIN);
  g_assert_true (tern_identity_get_is_default (alias_loaded));
  g_assert_true (tern_account_get_default_identity (loaded) == alias_loaded);
}

static void
test_hand_written_file (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernAccountManager) again = NULL;
  g_autoptr(TernIdentity) info = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *kept = NULL;
  TernAccount *account;
  TernIdentity *support;

  copy_into_accounts (fixture, "office.ini", "office.ini");
  manager = load_manager (fixture);
  account = tern_account_manager_lookup (manager, "office");
  g_assert_nonnull (account);

  /* What the file leaves out takes Tern's defaults. */
  g_assert_true (tern_account_get_enabled (account));
  g_assert_cmpuint (tern_account_get_receiving_port (account), ==, 995);
  g_assert_cmpuint (tern_account_get_sending_port (account), ==, 587);
  g_assert_cmpuint (tern_account_get_offline_days (account), ==, 30);
  g_assert_cmpuint (tern_account_get_sync_interval (account), ==, 5);
  g_assert_cmpint (tern_account_get_pop3_after_download (account), ==,
                   TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS);
  g_assert_cmpuint (tern_account_get_pop3_keep_days (account), ==, 7);
  g_assert_null (tern_account_get_pop3_deliver_to (account));

  support = tern_account_get_default_identity (account);
  g_assert_cmpstr (tern_identity_get_address (support), ==, "Support@Example.com");
  g_assert_cmpstr (tern_identity_get_signature (support), ==, "The support team\nExample Ltd");
  g_assert_cmpint (tern_identity_get_compose_format (support), ==, TERN_COMPOSE_FORMAT_PLAIN);
  info = g_list_model_get_item (tern_account_get_identities (account), 2);
  g_assert_cmpuint (tern_identity_get_smtp_port (info), ==, 465);
  /* Without the key, an identity writes rich text. */
  g_assert_cmpint (tern_identity_get_compose_format (info), ==, TERN_COMPOSE_FORMAT_RICH);

  /* A rewrite keeps the keys this Tern does not know. */
  tern_account_set_offline_days (account, 0);
  tern_account_manager_save (manager, account, &error);
  g_assert_no_error (error);
  path = g_build_filename (fixture->accounts_dir, "office.ini", NULL);
  g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  kept = g_key_file_get_string (key_file, "Future", "Something", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kept, ==, "kept");

  /* The plain identity stays plain; the rich ones need no key. */
  {
    g_autofree char *format = g_key_file_get_string (key_file, "Identity 2", "ComposeFormat",
                                                     NULL);

    g_assert_cmpstr (format, ==, "plain");
    g_assert_false (g_key_file_has_key (key_file, "Identity 3", "ComposeFormat", NULL));
  }

  again = load_manager (fixture);
  g_assert_cmpuint (tern_account_get_offline_days (tern_account_manager_lookup (again, "office")),
                    ==, 0);
  g_assert_cmpint (tern_identity_get_compose_format (
                     tern_account_get_default_identity (tern_account_manager_lookup (again,
                                                                                    "office"))),
                   ==, TERN_COMPOSE_FORMAT_PLAIN);
}

typedef struct
{
  const char *group;
  const char *key;
  /* NULL removes the key. */
  const char *value;
  TernAccountError code;
  /* Where the message points, when not at the key changed. */
  const char *reported;
} BadValue;

static const BadValue bad_values[] = {
  { "Receiving", "Protocol", "mapi", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Receiving", "Protocol", NULL, TERN_ACCOUNT_ERROR_MISSING_KEY },
  { "Receiving", "Security", "ssl", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Receiving", "Port", "0", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Receiving", "Port", "65536", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Receiving", "Port", "99x", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Receiving", "Port", "-1", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Receiving", "Host", NULL, TERN_ACCOUNT_ERROR_MISSING_KEY },
  { "Receiving", "Host", "pop example com", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Sending", "Host", NULL, TERN_ACCOUNT_ERROR_MISSING_KEY },
  { "Sending", "Security", "TLS1.3", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Sending", "Port", "100000", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Account", "Enabled", "yes please", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Account", "SyncInterval", "often", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Account", "OfflineDays", "-30", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "POP3", "AfterDownload", "forget", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "POP3", "KeepDays", "0", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "POP3", "DeleteWhenDeletedHere", "maybe", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "POP3", "DeliverTo", "Other Account", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 1", "Address", NULL, TERN_ACCOUNT_ERROR_MISSING_KEY },
  { "Identity 1", "Address", "office.example.com", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 1", "Address", "Office <office@example.com>", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 1", "Address", "a@b@example.com", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 2", "ReplyTo", "helpdesk@", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 3", "SmtpSecurity", "starttls-maybe", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 3", "SmtpPort", "70000", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 2", "ComposeFormat", "html", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  /* A second default, and two identities with one address. */
  { "Identity 3", "Default", "true", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  { "Identity 3", "Address", "SUPPORT@example.COM", TERN_ACCOUNT_ERROR_INVALID_VALUE },
  /* No default among several identities. */
  { "Identity 2", "Default", "false", TERN_ACCOUNT_ERROR_MISSING_KEY, "[Identity 1] Default:" },
};

static void
test_errors_name_file_and_key (Fixture       *fixture,
                               gconstpointer  user_data)
{
  g_autofree char *source = account_data_path ("office.ini");

  g_assert_cmpint (g_mkdir_with_parents (fixture->accounts_dir, 0700), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (bad_values); i++)
    {
      const BadValue *bad = &bad_values[i];
      g_autoptr(GKeyFile) key_file = g_key_file_new ();
      g_autoptr(TernAccount) account = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("bad-%u.ini", i);
      g_autofree char *path = g_build_filename (fixture->accounts_dir, name, NULL);
      g_autofree char *where = bad->reported != NULL
                               ? g_strdup (bad->reported)
                               : g_strdup_printf ("[%s] %s:", bad->group, bad->key);

      g_key_file_load_from_file (key_file, source, G_KEY_FILE_KEEP_COMMENTS, &error);
      g_assert_no_error (error);
      if (bad->value != NULL)
        g_key_file_set_string (key_file, bad->group, bad->key, bad->value);
      else
        g_key_file_remove_key (key_file, bad->group, bad->key, NULL);
      g_key_file_save_to_file (key_file, path, &error);
      g_assert_no_error (error);

      g_test_message ("[%s] %s = %s", bad->group, bad->key, bad->value ?: "(removed)");
      account = tern_account_new_from_file (path, &error);
      g_assert_null (account);
      g_assert_error (error, TERN_ACCOUNT_ERROR, (gint) bad->code);
      g_test_message ("-> %s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, where));
    }
}

static void
test_unreadable_file_names_file (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autofree char *path = g_build_filename (fixture->config_dir, "garbled.ini", NULL);
  g_autofree char *no_account = g_build_filename (fixture->config_dir, "empty.ini", NULL);

  g_file_set_contents (path, "[Account\nName=broken\n", -1, &error);
  g_assert_no_error (error);
  account = tern_account_new_from_file (path, &error);
  g_assert_null (account);
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  g_file_set_contents (no_account, "[Receiving]\nProtocol=imap\n", -1, &error);
  g_assert_no_error (error);
  account = tern_account_new_from_file (no_account, &error);
  g_assert_null (account);
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_MISSING_KEY);
  g_assert_nonnull (strstr (error->message, no_account));
  g_assert_nonnull (strstr (error->message, "[Account]"));
}

static void
test_password_key_is_refused (Fixture       *fixture,
                              gconstpointer  user_data)
{
  const struct {
    const char *group;
    const char *key;
  } password_keys[] = {
    { "Receiving", "Password" },
    { "Sending", "password" },
    { "Identity 3", "SmtpPassword" },
    { "Account", "Passwd" },
  };
  g_autofree char *source = account_data_path ("office.ini");

  for (guint i = 0; i < G_N_ELEMENTS (password_keys); i++)
    {
      g_autoptr(GKeyFile) key_file = g_key_file_new ();
      g_autoptr(TernAccount) account = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *path = g_build_filename (fixture->config_dir, "office.ini", NULL);
      g_autofree char *where = g_strdup_printf ("[%s] %s:", password_keys[i].group,
                                                password_keys[i].key);

      g_key_file_load_from_file (key_file, source, G_KEY_FILE_NONE, &error);
      g_assert_no_error (error);
      g_key_file_set_string (key_file, password_keys[i].group, password_keys[i].key,
                             "hunter2-secret");
      g_key_file_save_to_file (key_file, path, &error);
      g_assert_no_error (error);

      account = tern_account_new_from_file (path, &error);
      g_assert_null (account);
      g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_PASSWORD_IN_FILE);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, where));
      g_assert_nonnull (strstr (error->message, "remove"));
      /* The message goes to the screen and maybe a log: never the value. */
      g_assert_null (strstr (error->message, "hunter2"));
    }
}

/* A file another program wrote after the account was read is not
 * overwritten by the older copy; read again, the account saves. */
static void
test_save_refuses_file_changed_elsewhere (Fixture       *fixture,
                                          gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccountManager) other = NULL;
  g_autoptr(TernAccountManager) again = NULL;
  g_autoptr(TernAccount) account = make_imap_account ("ada@example.com", "mail.example.com");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->accounts_dir, "ada-example-com.ini", NULL);
  g_autofree char *written = NULL;
  TernAccount *elsewhere;
  TernAccount *fresh;

  g_assert_true (tern_account_manager_add (manager, account, &error));
  g_assert_no_error (error);

  /* Saving what was read or written last works, again and again. */
  tern_account_set_display_name (account, "Ada at Work");
  g_assert_true (tern_account_manager_save (manager, account, &error));
  g_assert_no_error (error);

  /* Another program (another manager on the same folder) renames it. */
  other = load_manager (fixture);
  elsewhere = tern_account_manager_lookup (other, "ada-example-com");
  tern_account_set_display_name (elsewhere, "Ada Renamed Elsewhere");
  g_assert_true (tern_account_manager_save (other, elsewhere, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &written, NULL, NULL));

  /* The older copy is refused, and the file keeps the other's change. */
  tern_account_set_display_name (account, "Ada Old Copy");
  g_assert_false (tern_account_manager_save (manager, account, &error));
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_CHANGED);
  g_assert_nonnull (strstr (error->message, "Ada Old Copy"));
  g_clear_error (&error);
  {
    g_autofree char *now = NULL;

    g_assert_true (g_file_get_contents (path, &now, NULL, NULL));
    g_assert_cmpstr (now, ==, written);
  }

  /* Read again, the change is seen, and a new one saves. */
  again = load_manager (fixture);
  fresh = tern_account_manager_lookup (again, "ada-example-com");
  g_assert_cmpstr (tern_account_get_display_name (fresh), ==, "Ada Renamed Elsewhere");
  tern_account_set_display_name (fresh, "Ada");
  g_assert_true (tern_account_manager_save (again, fresh, &error));
  g_assert_no_error (error);
}

static void
test_save_refuses_invalid (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccountManager) again = NULL;
  g_autoptr(TernAccount) account = make_imap_account ("ada@example.com", "mail.example.com");
  g_autoptr(TernAccount) no_host = tern_account_new ();
  g_autoptr(GError) error = NULL;
  TernAccount *on_disk;

  tern_account_manager_add (manager, account, &error);
  g_assert_no_error (error);

  /* A change that loading would refuse is refused before it reaches the
   * disk, and the file on disk stays as it was. */
  add_identity (account, "not an address");
  g_assert_false (tern_account_manager_save (manager, account, &error));
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "ada-example-com.ini"));
  g_assert_nonnull (strstr (error->message, "[Identity 2] Address:"));
  g_clear_error (&error);

  again = load_manager (fixture);
  on_disk = tern_account_manager_lookup (again, "ada-example-com");
  g_assert_cmpuint (g_list_model_get_n_items (tern_account_get_identities (on_disk)), ==, 1);

  /* An account without a server is not added at all. */
  add_identity (no_host, "bob@example.com");
  g_assert_false (tern_account_manager_add (manager, no_host, &error));
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_MISSING_KEY);
  g_assert_nonnull (strstr (error->message, "[Receiving] Host:"));
  g_assert_null (tern_account_get_id (no_host));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 1);
}

/* The manager */

static void
test_broken_file_does_not_stop_others (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccountManager) writer = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccount) first = make_imap_account ("a@example.com", "a.example.com");
  g_autoptr(TernAccount) last = make_imap_account ("z@example.com", "z.example.com");
  g_autoptr(TernAccount) newcomer = make_imap_account ("broken@example.com", "b.example.com");
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *broken = g_build_filename (fixture->accounts_dir, "broken-example-com.ini",
                                              NULL);
  g_autofree char *garbage = g_build_filename (fixture->accounts_dir, "garbage.ini", NULL);
  g_autofree char *broken_contents = NULL;
  g_autofree char *after = NULL;

  tern_account_manager_add (writer, first, &error);
  g_assert_no_error (error);
  tern_account_manager_add (writer, last, &error);
  g_assert_no_error (error);
  g_file_set_contents (broken, "[Account]\n[Receiving]\nProtocol=imap\nHost=b\n"
                       "[Sending]\nHost=b\nPort=seventy\n[Identity 1]\n"
                       "Address=broken@example.com\n", -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (garbage, "\x01\x02 not a key file", -1, &error);
  g_assert_no_error (error);

  problems = tern_account_manager_load (manager, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);
  g_assert_nonnull (tern_account_manager_lookup (manager, "a-example-com"));
  g_assert_nonnull (tern_account_manager_lookup (manager, "z-example-com"));
  g_assert_null (tern_account_manager_lookup (manager, "broken-example-com"));

  for (guint i = 0; i < problems->len; i++)
    {
      GError *problem = problems->pdata[i];

      g_assert_true (problem->domain == TERN_ACCOUNT_ERROR);
      g_assert_true (strstr (problem->message, broken) != NULL ||
                     strstr (problem->message, garbage) != NULL);
      if (strstr (problem->message, broken) != NULL)
        g_assert_nonnull (strstr (problem->message, "[Sending] Port:"));
    }

  /* The broken file keeps its id: a new account with the same address
   * gets another, and the file the user may repair stays untouched. */
  g_file_get_contents (broken, &broken_contents, NULL, &error);
  g_assert_no_error (error);
  tern_account_manager_add (manager, newcomer, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_id (newcomer), ==, "broken-example-com-2");
  g_file_get_contents (broken, &after, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, broken_contents);
}

static void
test_missing_folder_is_no_accounts (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = load_manager (fixture);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 0);
  g_assert_false (g_file_test (fixture->accounts_dir, G_FILE_TEST_EXISTS));
}

static void
test_save_is_atomic_and_private (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccount) account = make_imap_account ("ada@example.com", "mail.example.com");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->accounts_dir, "ada-example-com.ini", NULL);
  g_auto(GStrv) names = NULL;
  struct stat info;

  tern_account_manager_add (manager, account, &error);
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (fixture->accounts_dir, &info), ==, 0);
  g_assert_cmpint (info.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &info), ==, 0);
  g_assert_cmpint (info.st_mode & 0777, ==, 0600);

  /* A file someone made readable to all is private again after a save. */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  for (guint i = 0; i < 5; i++)
    {
      tern_account_set_sync_interval (account, i + 1);
      tern_account_manager_save (manager, account, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpint (g_stat (path, &info), ==, 0);
  g_assert_cmpint (info.st_mode & 0777, ==, 0600);

  /* Nothing is left behind but the account file. */
  names = list_dir (fixture->accounts_dir);
  g_assert_cmpuint (g_strv_length (names), ==, 1);
  g_assert_cmpstr (names[0], ==, "ada-example-com.ini");
}

static void
count_signal_cb (TernAccountManager *manager,
                 TernAccount        *account,
                 gpointer            user_data)
{
  GPtrArray *seen = user_data;

  g_ptr_array_add (seen, g_strdup (tern_account_get_id (account)));
}

static void
ids_in_order (GListModel  *model,
              const char **expected)
{
  guint n_items = g_list_model_get_n_items (model);

  g_assert_cmpuint (n_items, ==, g_strv_length ((GStrv) expected));
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (model, i);

      g_assert_cmpstr (tern_account_get_id (account), ==, expected[i]);
    }
}

static void
test_changes_persist (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccountManager) second = NULL;
  g_autoptr(TernAccountManager) third = NULL;
  g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *removed_path = NULL;
  const char *first_order[] = { "a-example-com", "b-example-com", "c-example-com", NULL };
  const char *moved_order[] = { "c-example-com", "a-example-com", "b-example-com", NULL };
  const char *final_order[] = { "c-example-com", "b-example-com", NULL };
  const char *letters[] = { "a", "b", "c" };

  g_signal_connect (manager, "account-added", G_CALLBACK (count_signal_cb), added);
  for (guint i = 0; i < G_N_ELEMENTS (letters); i++)
    {
      g_autofree char *address = g_strdup_printf ("%s@example.com", letters[i]);
      g_autoptr(TernAccount) account = make_imap_account (address, "mail.example.com");

      tern_account_manager_add (manager, account, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (added->len, ==, 3);
  ids_in_order (G_LIST_MODEL (manager), first_order);

  second = load_manager (fixture);
  ids_in_order (G_LIST_MODEL (second), first_order);

  /* Move c to the top and disable b, through the second manager. */
  tern_account_manager_move (second, tern_account_manager_lookup (second, "c-example-com"), 0,
                             &error);
  g_assert_no_error (error);
  tern_account_manager_set_enabled (second, tern_account_manager_lookup (second, "b-example-com"),
                                    FALSE, &error);
  g_assert_no_error (error);
  ids_in_order (G_LIST_MODEL (second), moved_order);

  g_clear_object (&third);
  third = load_manager (fixture);
  ids_in_order (G_LIST_MODEL (third), moved_order);
  g_assert_false (tern_account_get_enabled (tern_account_manager_lookup (third, "b-example-com")));
  g_assert_true (tern_account_get_enabled (tern_account_manager_lookup (third, "a-example-com")));

  /* Remove a: its file goes, and the store hears of it. */
  g_signal_connect (third, "account-removed", G_CALLBACK (count_signal_cb), removed);
  tern_account_manager_remove (third, tern_account_manager_lookup (third, "a-example-com"),
                               &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_cmpstr (removed->pdata[0], ==, "a-example-com");
  removed_path = g_build_filename (fixture->accounts_dir, "a-example-com.ini", NULL);
  g_assert_false (g_file_test (removed_path, G_FILE_TEST_EXISTS));
  ids_in_order (G_LIST_MODEL (third), final_order);

  /* Re-enable b; a new manager sees all of it. */
  tern_account_manager_set_enabled (third, tern_account_manager_lookup (third, "b-example-com"),
                                    TRUE, &error);
  g_assert_no_error (error);
  g_clear_object (&second);
  second = load_manager (fixture);
  ids_in_order (G_LIST_MODEL (second), final_order);
  g_assert_true (tern_account_get_enabled (tern_account_manager_lookup (second, "b-example-com")));
}

typedef struct
{
  guint position;
  guint removed;
  guint added;
} Change;

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  GArray *changes = user_data;
  Change change = { position, removed, added };

  g_array_append_val (changes, change);
}

static void
test_list_model_reports_changes (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccount) a = make_imap_account ("a@example.com", "a.example.com");
  g_autoptr(TernAccount) b = make_imap_account ("b@example.com", "b.example.com");
  g_autoptr(TernAccount) c = make_imap_account ("c@example.com", "c.example.com");
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_autoptr(TernAccount) last = NULL;
  g_autoptr(GError) error = NULL;
  Change *change;

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (manager)) == TERN_TYPE_ACCOUNT);
  g_signal_connect (manager, "items-changed", G_CALLBACK (items_changed_cb), changes);

  tern_account_manager_add (manager, a, &error);
  g_assert_no_error (error);
  tern_account_manager_add (manager, b, &error);
  g_assert_no_error (error);
  tern_account_manager_add (manager, c, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 3);
  change = &g_array_index (changes, Change, 2);
  g_assert_cmpuint (change->position, ==, 2);
  g_assert_cmpuint (change->removed, ==, 0);
  g_assert_cmpuint (change->added, ==, 1);

  /* a b c -> b c a */
  tern_account_manager_move (manager, a, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 4);
  change = &g_array_index (changes, Change, 3);
  g_assert_cmpuint (change->position, ==, 0);
  g_assert_cmpuint (change->removed, ==, 3);
  g_assert_cmpuint (change->added, ==, 3);
  last = g_list_model_get_item (G_LIST_MODEL (manager), 2);
  g_assert_true (last == a);

  tern_account_manager_remove (manager, c, &error);
  g_assert_no_error (error);
  change = &g_array_index (changes, Change, 4);
  g_assert_cmpuint (change->position, ==, 1);
  g_assert_cmpuint (change->removed, ==, 1);
  g_assert_cmpuint (change->added, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);

  /* An account not in the list cannot be removed twice. */
  g_assert_false (tern_account_manager_remove (manager, c, &error));
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_NOT_FOUND);
}

static void
test_add_refuses_duplicates (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccount) account = make_imap_account ("ada@example.com", "mail.example.com");
  g_autoptr(TernAccount) same_mailbox = make_imap_account ("ada@example.com", "MAIL.example.com");
  g_autoptr(TernAccount) same_address_pop = make_imap_account ("ada@example.com",
                                                               "pop.example.com");
  g_autoptr(GError) error = NULL;

  tern_account_manager_add (manager, account, &error);
  g_assert_no_error (error);

  g_assert_false (tern_account_manager_add (manager, account, &error));
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_EXISTS);
  g_clear_error (&error);

  g_assert_false (tern_account_manager_add (manager, same_mailbox, &error));
  g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (tern_account_get_id (same_mailbox));

  /* The same address on another server is another account, with its own
   * id. */
  tern_account_set_receiving_protocol (same_address_pop, TERN_RECEIVING_PROTOCOL_POP3);
  tern_account_manager_add (manager, same_address_pop, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_id (same_address_pop), ==, "ada-example-com-2");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (manager)), ==, 2);
}

/* Choosing the From of a reply */

static TernAccount *
make_aliased_account (void)
{
  TernAccount *account = make_imap_account ("office@example.com", "mail.example.com");

  add_identity (account, "info@example.com");
  add_identity (account, "support@example.com");
  add_identity (account, "sales@example.com");
  add_identity (account, "billing@example.com");

  return account;
}

static void
assert_chosen (TernIdentity *identity,
               const char   *address)
{
  g_assert_nonnull (identity);
  g_assert_cmpstr (tern_identity_get_address (identity), ==, address);
}

static void
test_choose_delivered_to_first (void)
{
  g_autoptr(TernAccount) account = make_aliased_account ();
  const char *delivered_to[] = { "someone@elsewhere.org", "info@example.com", NULL };
  const char *x_original_to[] = { "support@example.com", NULL };
  const char *to[] = { "sales@example.com", NULL };
  const char *cc[] = { "billing@example.com", NULL };

  assert_chosen (tern_account_choose_identity (account, delivered_to, x_original_to, to, cc),
                 "info@example.com");
}

static void
test_choose_x_original_to_second (void)
{
  g_autoptr(TernAccount) account = make_aliased_account ();
  const char *delivered_to[] = { "list@lists.example.net", NULL };
  const char *x_original_to[] = { "support@example.com", NULL };
  const char *to[] = { "sales@example.com", NULL };
  const char *cc[] = { "billing@example.com", NULL };

  assert_chosen (tern_account_choose_identity (account, delivered_to, x_original_to, to, cc),
                 "support@example.com");
}

static void
test_choose_to_third (void)
{
  g_autoptr(TernAccount) account = make_aliased_account ();
  const char *to[] = { "friend@elsewhere.org", "sales@example.com", NULL };
  const char *cc[] = { "billing@example.com", NULL };

  assert_chosen (tern_account_choose_identity (account, NULL, NULL, to, cc),
                 "sales@example.com");
}

static void
test_choose_cc_fourth (void)
{
  g_autoptr(TernAccount) account = make_aliased_account ();
  const char *to[] = { "friend@elsewhere.org", NULL };
  const char *cc[] = { "boss@elsewhere.org", "billing@example.com", NULL };

  assert_chosen (tern_account_choose_identity (account, NULL, NULL, to, cc),
                 "billing@example.com");
}

static void
test_choose_ignores_case (void)
{
  g_autoptr(TernAccount) account = make_aliased_account ();
  const char *to[] = { "Support@EXAMPLE.com", NULL };

  assert_chosen (tern_account_choose_identity (account, NULL, NULL, to, NULL),
                 "support@example.com");
}

static void
test_choose_falls_back_to_default (void)
{
  g_autoptr(TernAccount) account = make_aliased_account ();
  g_autoptr(TernIdentity) sales = g_list_model_get_item (tern_account_get_identities (account), 3);
  const char *to[] = { "undisclosed-recipients@elsewhere.org", NULL };
  const char *cc[] = { "info@example.co", NULL };

  assert_chosen (tern_account_choose_identity (account, NULL, NULL, to, cc),
                 "office@example.com");
  assert_chosen (tern_account_choose_identity (account, NULL, NULL, NULL, NULL),
                 "office@example.com");

  /* The default is whichever the user chose, not the first. */
  tern_account_set_default_identity (account, sales);
  assert_chosen (tern_account_choose_identity (account, NULL, NULL, to, cc),
                 "sales@example.com");
}

static void
test_choose_alias_on_another_account (Fixture       *fixture,
                                      gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  g_autoptr(TernAccount) work = make_aliased_account ();
  g_autoptr(TernAccount) home = make_imap_account ("ada@home.example.org", "imap.home.example.org");
  g_autoptr(TernAccount) old = make_imap_account ("ada@old.example.org", "imap.old.example.org");
  g_autoptr(GError) error = NULL;
  const char *to_home_alias[] = { "Ada.Home@home.example.org", NULL };
  const char *to_old[] = { "ada@old.example.org", NULL };
  const char *to_both[] = { "ada@home.example.org", "info@example.com", NULL };
  const char *delivered_to_work[] = { "support@example.com", NULL };
  const char *nobody[] = { "nobody@elsewhere.org", NULL };
  TernAccount *account = NULL;
  TernIdentity *identity = NULL;

  add_identity (home, "ada.home@home.example.org");
  tern_account_manager_add (manager, work, &error);
  g_assert_no_error (error);
  tern_account_manager_add (manager, home, &error);
  g_assert_no_error (error);
  tern_account_manager_add (manager, old, &error);
  g_assert_no_error (error);
  tern_account_manager_set_enabled (manager, old, FALSE, &error);
  g_assert_no_error (error);

  /* In the unified inbox, a message to the home alias replies from home. */
  g_assert_true (tern_account_manager_choose_identity (manager, NULL, NULL, NULL, to_home_alias,
                                                       NULL, &account, &identity));
  g_assert_true (account == home);
  assert_chosen (identity, "ada.home@home.example.org");

  /* Even when it was fetched by the work account (a forwarding rule). */
  g_assert_true (tern_account_manager_choose_identity (manager, work, NULL, NULL, to_home_alias,
                                                       NULL, &account, &identity));
  g_assert_true (account == home);

  /* When both accounts fit one header, the account it came to wins. */
  g_assert_true (tern_account_manager_choose_identity (manager, work, NULL, NULL, to_both, NULL,
                                                       &account, &identity));
  g_assert_true (account == work);
  assert_chosen (identity, "info@example.com");

  /* The header order holds across accounts: Delivered-To beats To. */
  g_assert_true (tern_account_manager_choose_identity (manager, home, delivered_to_work, NULL,
                                                       to_home_alias, NULL, &account,
                                                       &identity));
  g_assert_true (account == work);
  assert_chosen (identity, "support@example.com");

  /* A disabled account does not send. */
  g_assert_true (tern_account_manager_choose_identity (manager, NULL, NULL, NULL, to_old, NULL,
                                                       &account, &identity));
  g_assert_true (account == work);
  assert_chosen (identity, "office@example.com");

  /* No match: the receiving account's default, else the first account's. */
  g_assert_true (tern_account_manager_choose_identity (manager, home, NULL, NULL, nobody, NULL,
                                                       &account, &identity));
  g_assert_true (account == home);
  assert_chosen (identity, "ada@home.example.org");
  g_assert_true (tern_account_manager_choose_identity (manager, NULL, NULL, NULL, nobody, NULL,
                                                       &account, &identity));
  g_assert_true (account == work);
  assert_chosen (identity, "office@example.com");
}

static void
test_choose_without_accounts (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autoptr(TernAccountManager) manager = tern_account_manager_new (fixture->config_dir);
  const char *to[] = { "ada@example.com", NULL };
  TernAccount *account = NULL;
  TernIdentity *identity = NULL;

  g_assert_false (tern_account_manager_choose_identity (manager, NULL, NULL, NULL, to, NULL,
                                                        &account, &identity));
  g_assert_null (account);
  g_assert_null (identity);
}

/* Writes @text as `<config>/oauth.ini` and loads it. */
static TernAccount *
load_text (Fixture     *fixture,
           const char  *text,
           GError     **error)
{
  g_autofree char *path = g_build_filename (fixture->config_dir, "oauth.ini", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return tern_account_new_from_file (path, error);
}

#define OAUTH_BASE "[Account]\nAuth=oauth2\n[Receiving]\nProtocol=imap\nHost=imap.example.com\n" \
                   "[Sending]\nHost=smtp.example.com\n[Identity 1]\nAddress=ada@example.com\n"

static void
test_oauth2_settings (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(TernAccount) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->config_dir, "oauth.ini", NULL);
  g_autofree char *text = NULL;
  const struct {
    const char *group;
    const char *bad;
    const char *where;
  } bad[] = {
    { "", "", "[OAuth2] Provider:" },
    { "[OAuth2]\nProvider=yahoo\n", "yahoo", "[OAuth2] Provider:" },
    { "[OAuth2]\nProvider=custom\nTokenURI=https://id.example/t\nClientId=x\n", NULL,
      "[OAuth2] AuthorizationURI:" },
    { "[OAuth2]\nProvider=custom\nAuthorizationURI=http://id.example/a\n"
      "TokenURI=https://id.example/t\nClientId=x\n", "http://id.example/a",
      "[OAuth2] AuthorizationURI:" },
    { "[OAuth2]\nProvider=custom\nAuthorizationURI=https://id.example/a\n"
      "TokenURI=https://id.example/t\n", NULL, "[OAuth2] ClientId:" },
  };

  /* A custom provider: every value is kept, and written back. */
  account = load_text (fixture, OAUTH_BASE "[OAuth2]\nProvider=custom\n"
                       "AuthorizationURI=http://127.0.0.1:8080/authorize\n"
                       "TokenURI=https://id.example.com/token\nClientId=tern\nScope=mail\n",
                       &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_account_get_auth_method (account), ==, TERN_AUTH_METHOD_OAUTH2);
  g_assert_cmpstr (tern_account_get_oauth2_provider (account), ==, "custom");
  g_assert_cmpstr (tern_account_get_oauth2_authorization_uri (account), ==,
                   "http://127.0.0.1:8080/authorize");
  g_assert_cmpstr (tern_account_get_oauth2_token_uri (account), ==,
                   "https://id.example.com/token");
  g_assert_cmpstr (tern_account_get_oauth2_client_id (account), ==, "tern");
  g_assert_cmpstr (tern_account_get_oauth2_scope (account), ==, "mail");
  g_assert_true (tern_account_save_to_file (account, path, &error));
  g_assert_no_error (error);
  again = tern_account_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_account_get_auth_method (again), ==, TERN_AUTH_METHOD_OAUTH2);
  g_assert_cmpstr (tern_account_get_oauth2_token_uri (again), ==, "https://id.example.com/token");

  /* Back to passwords: the [OAuth2] group goes. */
  tern_account_set_auth_method (again, TERN_AUTH_METHOD_PASSWORD);
  g_assert_true (tern_account_save_to_file (again, path, &error));
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (text, "[OAuth2]"));
  g_assert_null (strstr (text, "Auth="));

  /* A built-in provider needs nothing else. */
  g_clear_object (&account);
  account = load_text (fixture, OAUTH_BASE "[OAuth2]\nProvider=google\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tern_account_get_oauth2_provider (account), ==, "google");
  g_assert_null (tern_account_get_oauth2_token_uri (account));

  /* An online account gets its tokens from GNOME Online Accounts: no
   * provider of its own, none written. */
  g_clear_object (&account);
  account = load_text (fixture, "[Account]\nAuth=oauth2\nGoaId=account_1\n"
                       "[Receiving]\nProtocol=imap\nHost=imap.example.com\n"
                       "[Sending]\nHost=smtp.example.com\n[Identity 1]\nAddress=ada@example.com\n",
                       &error);
  g_assert_no_error (error);
  g_assert_cmpint (tern_account_get_auth_method (account), ==, TERN_AUTH_METHOD_OAUTH2);
  g_assert_null (tern_account_get_oauth2_provider (account));
  g_assert_true (tern_account_save_to_file (account, path, &error));
  g_clear_pointer (&text, g_free);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (text, "[OAuth2]"));
  g_assert_nonnull (strstr (text, "Auth=oauth2"));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *file = g_strconcat (OAUTH_BASE, bad[i].group, NULL);
      g_autoptr(TernAccount) refused = load_text (fixture, file, &error);
      int code = bad[i].bad == NULL || *bad[i].bad == '\0' ? TERN_ACCOUNT_ERROR_MISSING_KEY
                                                            : TERN_ACCOUNT_ERROR_INVALID_VALUE;

      g_assert_null (refused);
      g_assert_error (error, TERN_ACCOUNT_ERROR, code);
      g_assert_nonnull (strstr (error->message, "oauth.ini"));
      g_assert_nonnull (strstr (error->message, bad[i].where));
      g_clear_error (&error);
    }
}

static void
test_token_keys_are_refused (Fixture       *fixture,
                             gconstpointer  user_data)
{
  const char *keys[] = { "RefreshToken", "AccessToken", "ClientSecret" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *file = g_strdup_printf (OAUTH_BASE "[OAuth2]\nProvider=google\n%s=rt-1x\n",
                                               keys[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(TernAccount) refused = load_text (fixture, file, &error);

      g_assert_null (refused);
      g_assert_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_PASSWORD_IN_FILE);
      g_assert_nonnull (strstr (error->message, keys[i]));
      g_assert_null (strstr (error->message, "rt-1x"));
    }
}

static char *
auth_secret (TernAccountAuth  *auth,
             GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_account_auth_get_secret_async (auth, TERN_CREDENTIAL_SENDING_PASSWORD, NULL,
                                      tern_test_got_result_cb, &result);
  return tern_account_auth_get_secret_finish (auth, tern_test_wait_for (&result), error);
}

static void
test_auth_password_and_missing_sign_in (Fixture       *fixture,
                                        gconstpointer  user_data)
{
  g_autoptr(TernCredentials) credentials = tern_credentials_memory_new ();
  g_autoptr(TernAccount) password_account = NULL;
  g_autoptr(TernAccount) oauth_account = NULL;
  g_autoptr(TernAccountAuth) auth = NULL;
  g_autoptr(TernAccountAuth) oauth = NULL;
  g_autoptr(GAsyncResult) stored = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) refused = g_error_new_literal (TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID,
                                                   "invalid token");
  g_autofree char *secret = NULL;
  g_autofree char *path = g_build_filename (fixture->config_dir, "plain.ini", NULL);

  /* A password account: the password of the kind asked for, and no retry
   * when the server refuses it. */
  g_assert_true (g_file_set_contents (path, "[Account]\n[Receiving]\nProtocol=imap\n"
                                      "Host=imap.example.com\n[Sending]\nHost=smtp.example.com\n"
                                      "[Identity 1]\nAddress=ada@example.com\n", -1, NULL));
  password_account = tern_account_new_from_file (path, &error);
  g_assert_no_error (error);
  tern_credentials_store_async (credentials, "plain", TERN_CREDENTIAL_SENDING_PASSWORD, "pw-smtp",
                                NULL, tern_test_got_result_cb, &stored);
  g_assert_true (tern_credentials_store_finish (credentials, tern_test_wait_for (&stored),
                                                &error));
  auth = tern_account_auth_new (password_account, credentials);
  g_assert_false (tern_account_auth_uses_oauth2 (auth));
  secret = auth_secret (auth, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (secret, ==, "pw-smtp");
  g_assert_false (tern_account_auth_retry_after_error (auth, refused));

  /* An OAuth2 account that was never signed in: a clear error, before any
   * request to the provider. */
  oauth_account = load_text (fixture, OAUTH_BASE "[OAuth2]\nProvider=custom\n"
                             "AuthorizationURI=http://127.0.0.1:9/a\n"
                             "TokenURI=http://127.0.0.1:9/t\nClientId=tern\n", &error);
  g_assert_no_error (error);
  oauth = tern_account_auth_new (oauth_account, credentials);
  g_assert_true (tern_account_auth_uses_oauth2 (oauth));
  g_clear_pointer (&secret, g_free);
  secret = auth_secret (oauth, &error);
  g_assert_null (secret);
  g_assert_error (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Only login refusals are worth a fresh token. */
  {
    g_autoptr(GError) offline = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                                                     "offline");

    g_assert_false (tern_account_auth_retry_after_error (oauth, offline));
  }
}

#define ADD_FIXTURE_TEST(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  ADD_FIXTURE_TEST ("/account/file/round-trip-keeps-every-setting", test_round_trip);
  ADD_FIXTURE_TEST ("/account/file/hand-written-file-takes-defaults-and-keeps-unknown-keys",
                    test_hand_written_file);
  ADD_FIXTURE_TEST ("/account/file/every-bad-value-error-names-file-and-key",
                    test_errors_name_file_and_key);
  ADD_FIXTURE_TEST ("/account/file/unreadable-file-error-names-file",
                    test_unreadable_file_names_file);
  ADD_FIXTURE_TEST ("/account/file/password-key-is-refused-without-showing-it",
                    test_password_key_is_refused);
  ADD_FIXTURE_TEST ("/account/file/invalid-settings-are-never-written",
                    test_save_refuses_invalid);
  ADD_FIXTURE_TEST ("/account/file/changed-elsewhere-is-not-overwritten",
                    test_save_refuses_file_changed_elsewhere);
  ADD_FIXTURE_TEST ("/account/file/oauth2-settings-are-checked-and-kept", test_oauth2_settings);
  ADD_FIXTURE_TEST ("/account/file/token-and-secret-keys-are-refused",
                    test_token_keys_are_refused);
  ADD_FIXTURE_TEST ("/account/auth/password-and-missing-sign-in",
                    test_auth_password_and_missing_sign_in);
  ADD_FIXTURE_TEST ("/account/manager/broken-file-does-not-stop-the-others",
                    test_broken_file_does_not_stop_others);
  ADD_FIXTURE_TEST ("/account/manager/missing-folder-means-no-accounts",
                    test_missing_folder_is_no_accounts);
  ADD_FIXTURE_TEST ("/account/manager/save-is-atomic-and-private",
                    test_save_is_atomic_and_private);
  ADD_FIXTURE_TEST ("/account/manager/add-move-enable-remove-persist",
                    test_changes_persist);
  ADD_FIXTURE_TEST ("/account/manager/list-model-reports-every-change",
                    test_list_model_reports_changes);
  ADD_FIXTURE_TEST ("/account/manager/add-refuses-duplicates",
                    test_add_refuses_duplicates);
  g_test_add_func ("/account/reply/delivered-to-comes-first", test_choose_delivered_to_first);
  g_test_add_func ("/account/reply/x-original-to-comes-second",
                   test_choose_x_original_to_second);
  g_test_add_func ("/account/reply/to-comes-third", test_choose_to_third);
  g_test_add_func ("/account/reply/cc-comes-fourth", test_choose_cc_fourth);
  g_test_add_func ("/account/reply/addresses-match-without-case", test_choose_ignores_case);
  g_test_add_func ("/account/reply/no-match-uses-the-default", test_choose_falls_back_to_default);
  ADD_FIXTURE_TEST ("/account/reply/alias-of-another-account-is-found",
                    test_choose_alias_on_another_account);
  ADD_FIXTURE_TEST ("/account/reply/no-accounts-no-identity", test_choose_without_accounts);

  return g_test_run ();
}
