/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "tern-engine.h"

/* These tests run the built tern-cli as a user would, and read what it
 * prints and its exit status. */

typedef struct
{
  char *out;
  char *err;
  int   status;
} CliResult;

static void
cli_result_clear (CliResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliResult, cli_result_clear)

static void
run_cli (CliResult   *result,
         const char  *first_arg,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list args;
  int wait_status = 0;

  g_ptr_array_add (argv, (gpointer) TERN_CLI_PATH);
  va_start (args, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &result->out, &result->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  result->status = WEXITSTATUS (wait_status);
}

static void
test_cli_version_prints_version (void)
{
  g_auto(CliResult) result = { 0 };
  g_autofree char *expected = g_strdup_printf ("tern-cli %s\n", tern_engine_get_version ());

  run_cli (&result, "--version", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.out, ==, expected);
}

static void
test_cli_help_lists_commands_and_data_dir (void)
{
  g_auto(CliResult) result = { 0 };

  run_cli (&result, "--help", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.out, "--data-dir"));
  g_assert_nonnull (strstr (result.out, "--version"));
  g_assert_nonnull (strstr (result.out, "Commands:"));
  g_assert_nonnull (strstr (result.out, "info"));
}

static void
test_cli_without_command_is_usage_error (void)
{
  g_auto(CliResult) result = { 0 };

  run_cli (&result, NULL);
  g_assert_cmpint (result.status, ==, 2);
  g_assert_cmpstr (result.out, ==, "");
  g_assert_nonnull (strstr (result.err, "Commands:"));
}

static void
test_cli_unknown_command_is_named (void)
{
  g_auto(CliResult) result = { 0 };

  run_cli (&result, "frobnicate", NULL);
  g_assert_cmpint (result.status, ==, 2);
  g_assert_nonnull (strstr (result.err, "frobnicate"));
}

static void
test_cli_unknown_option_is_usage_error (void)
{
  g_auto(CliResult) result = { 0 };

  run_cli (&result, "--no-such-option", NULL);
  g_assert_cmpint (result.status, ==, 2);
  g_assert_nonnull (strstr (result.err, "--no-such-option"));
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));

  return json_object_ref (json_node_get_object (root));
}

static void
test_cli_data_dir_holds_the_profile (void)
{
  g_auto(CliResult) result = { 0 };
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *config = NULL;
  g_autofree char *data = NULL;
  g_autofree char *cache = NULL;

  run_cli (&result, "--data-dir", "/tmp/tern-profile", "info", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);

  info = parse_object (result.out);
  g_assert_cmpstr (json_object_get_string_member (info, "data_root"), ==, "/tmp/tern-profile");
  g_assert_cmpstr (json_object_get_string_member (info, "config_dir"), ==,
                   "/tmp/tern-profile/config");
  g_assert_cmpstr (json_object_get_string_member (info, "data_dir"), ==,
                   "/tmp/tern-profile/data");
  g_assert_cmpstr (json_object_get_string_member (info, "cache_dir"), ==,
                   "/tmp/tern-profile/cache");
  g_assert_cmpstr (json_object_get_string_member (info, "version"), ==,
                   tern_engine_get_version ());
  g_assert_cmpstr (json_object_get_string_member (info, "application_id"), ==,
                   tern_engine_get_application_id ());
}

static void
test_cli_default_profile_follows_xdg (void)
{
  g_auto(CliResult) result = { 0 };
  g_autoptr(JsonObject) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *home = g_dir_make_tmp ("tern-cli-XXXXXX", &error);
  g_autofree char *config_home = NULL;
  g_autofree char *expected = NULL;
  const char *old_config_home = g_getenv ("XDG_CONFIG_HOME");
  g_autofree char *saved = g_strdup (old_config_home);

  g_assert_no_error (error);
  config_home = g_build_filename (home, "config-home", NULL);
  expected = g_build_filename (config_home, PROFILE_DIR_NAME, NULL);

  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  run_cli (&result, "info", "--json", NULL);
  if (saved != NULL)
    g_setenv ("XDG_CONFIG_HOME", saved, TRUE);
  else
    g_unsetenv ("XDG_CONFIG_HOME");

  g_assert_cmpint (result.status, ==, 0);
  info = parse_object (result.out);
  g_assert_true (json_object_get_null_member (info, "data_root"));
  g_assert_cmpstr (json_object_get_string_member (info, "config_dir"), ==, expected);

  /* info only reports; it creates nothing. */
  g_assert_false (g_file_test (config_home, G_FILE_TEST_EXISTS));
  g_rmdir (home);
}

static void
test_cli_empty_data_dir_is_refused (void)
{
  g_auto(CliResult) result = { 0 };

  run_cli (&result, "--data-dir", "", "info", NULL);
  g_assert_cmpint (result.status, ==, 2);
  g_assert_nonnull (strstr (result.err, "--data-dir"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cli/version-prints-version", test_cli_version_prints_version);
  g_test_add_func ("/cli/help-lists-commands-and-data-dir",
                   test_cli_help_lists_commands_and_data_dir);
  g_test_add_func ("/cli/without-command-is-usage-error",
                   test_cli_without_command_is_usage_error);
  g_test_add_func ("/cli/unknown-command-is-named", test_cli_unknown_command_is_named);
  g_test_add_func ("/cli/unknown-option-is-usage-error", test_cli_unknown_option_is_usage_error);
  g_test_add_func ("/cli/data-dir-holds-the-profile", test_cli_data_dir_holds_the_profile);
  g_test_add_func ("/cli/default-profile-follows-xdg", test_cli_default_profile_follows_xdg);
  g_test_add_func ("/cli/empty-data-dir-is-refused", test_cli_empty_data_dir_is_refused);

  return g_test_run ();
}
