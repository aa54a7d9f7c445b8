/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tern-engine.h"

static void
test_paths_root_holds_all_three (void)
{
  g_autoptr(TernPaths) paths = tern_paths_new_for_root ("/srv/mail/profile");

  g_assert_cmpstr (tern_paths_get_root (paths), ==, "/srv/mail/profile");
  g_assert_cmpstr (tern_paths_get_config_dir (paths), ==, "/srv/mail/profile/config");
  g_assert_cmpstr (tern_paths_get_data_dir (paths), ==, "/srv/mail/profile/data");
  g_assert_cmpstr (tern_paths_get_cache_dir (paths), ==, "/srv/mail/profile/cache");
}

static void
test_paths_relative_root_is_made_absolute (void)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *expected = g_build_filename (cwd, "profile", "config", NULL);
  g_autoptr(TernPaths) paths = tern_paths_new_for_root ("./profile/../profile/");

  g_assert_true (g_path_is_absolute (tern_paths_get_root (paths)));
  g_assert_cmpstr (tern_paths_get_config_dir (paths), ==, expected);
}

static void
test_paths_default_follows_xdg (void)
{
  g_autoptr(TernPaths) paths = tern_paths_new_default ();
  g_autofree char *config = g_build_filename (g_get_user_config_dir (), PROFILE_DIR_NAME, NULL);
  g_autofree char *data = g_build_filename (g_get_user_data_dir (), PROFILE_DIR_NAME, NULL);
  g_autofree char *cache = g_build_filename (g_get_user_cache_dir (), PROFILE_DIR_NAME, NULL);

  g_assert_null (tern_paths_get_root (paths));
  g_assert_cmpstr (tern_paths_get_config_dir (paths), ==, config);
  g_assert_cmpstr (tern_paths_get_data_dir (paths), ==, data);
  g_assert_cmpstr (tern_paths_get_cache_dir (paths), ==, cache);
}

static void
test_paths_development_profile_has_own_folders (void)
{
  g_autoptr(TernPaths) paths = tern_paths_new_default ();
  g_autofree char *base = g_path_get_basename (tern_paths_get_data_dir (paths));

  /* A development build must never open the folders of the user's Tern. */
  if (g_str_equal (tern_engine_get_profile (), "development"))
    {
      g_assert_cmpstr (base, ==, "tern-devel");
      g_assert_true (g_str_has_suffix (tern_engine_get_application_id (), ".Devel"));
    }
  else
    {
      g_assert_cmpstr (base, ==, "tern");
      g_assert_false (g_str_has_suffix (tern_engine_get_application_id (), ".Devel"));
    }
}

static void
test_paths_ensure_creates_private_folders (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("tern-paths-XXXXXX", &error);
  g_autofree char *root = NULL;
  g_autoptr(TernPaths) paths = NULL;
  const char *dirs[3];

  g_assert_no_error (error);
  root = g_build_filename (tmp, "nested", "profile", NULL);
  paths = tern_paths_new_for_root (root);

  g_assert_true (tern_paths_ensure (paths, &error));
  g_assert_no_error (error);

  dirs[0] = tern_paths_get_config_dir (paths);
  dirs[1] = tern_paths_get_data_dir (paths);
  dirs[2] = tern_paths_get_cache_dir (paths);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      GStatBuf st;

      g_assert_cmpint (g_stat (dirs[i], &st), ==, 0);
      g_assert_true (S_ISDIR (st.st_mode));
      /* Mail is private: nobody but the user may list the folders. */
      g_assert_cmpint (st.st_mode & 0077, ==, 0);
    }

  /* A second call finds them there and succeeds. */
  g_assert_true (tern_paths_ensure (paths, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    g_assert_cmpint (g_rmdir (dirs[i]), ==, 0);
  g_assert_cmpint (g_rmdir (root), ==, 0);
  g_free (root);
  root = g_build_filename (tmp, "nested", NULL);
  g_assert_cmpint (g_rmdir (root), ==, 0);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_paths_ensure_reports_a_file_in_the_way (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("tern-paths-XXXXXX", &error);
  g_autofree char *blocker = NULL;
  g_autoptr(TernPaths) paths = NULL;

  g_assert_no_error (error);
  paths = tern_paths_new_for_root (tmp);

  /* A plain file where the config folder should be. */
  blocker = g_build_filename (tmp, "config", NULL);
  g_assert_true (g_file_set_contents (blocker, "not a folder", -1, &error));

  g_assert_false (tern_paths_ensure (paths, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, blocker));

  g_assert_cmpint (g_unlink (blocker), ==, 0);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/paths/root-holds-all-three", test_paths_root_holds_all_three);
  g_test_add_func ("/engine/paths/relative-root-is-made-absolute",
                   test_paths_relative_root_is_made_absolute);
  g_test_add_func ("/engine/paths/default-follows-xdg", test_paths_default_follows_xdg);
  g_test_add_func ("/engine/paths/development-profile-has-own-folders",
                   test_paths_development_profile_has_own_folders);
  g_test_add_func ("/engine/paths/ensure-creates-private-folders",
                   test_paths_ensure_creates_private_folders);
  g_test_add_func ("/engine/paths/ensure-reports-a-file-in-the-way",
                   test_paths_ensure_reports_a_file_in_the_way);

  return g_test_run ();
}
