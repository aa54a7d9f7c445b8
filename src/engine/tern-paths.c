/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "tern-paths.h"

/*
 * TernPaths says where a profile keeps its configuration, its mail and its
 * cache.  The default profile follows the XDG base directories, with a folder
 * name that differs between the default and the development build, so that a
 * developer build never opens a user's mail.  A profile given by --data-dir
 * keeps all three under one root folder, so the app and tern-cli can share
 * it.
 */

struct _TernPaths
{
  GObject parent_instance;

  char *root;
  char *config_dir;
  char *data_dir;
  char *cache_dir;
};

G_DEFINE_FINAL_TYPE (TernPaths, tern_paths, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ROOT,
  PROP_CONFIG_DIR,
  PROP_DATA_DIR,
  PROP_CACHE_DIR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tern_paths_finalize (GObject *object)
{
  TernPaths *self = (TernPaths *)object;

  g_clear_pointer (&self->root, g_free);
  g_clear_pointer (&self->config_dir, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->cache_dir, g_free);

  G_OBJECT_CLASS (tern_paths_parent_class)->finalize (object);
}

static void
tern_paths_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  TernPaths *self = TERN_PATHS (object);

  switch (prop_id)
    {
    case PROP_ROOT:
      g_value_set_string (value, self->root);
      break;

    case PROP_CONFIG_DIR:
      g_value_set_string (value, self->config_dir);
      break;

    case PROP_DATA_DIR:
      g_value_set_string (value, self->data_dir);
      break;

    case PROP_CACHE_DIR:
      g_value_set_string (value, self->cache_dir);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_paths_class_init (TernPathsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tern_paths_finalize;
  object_class->get_property = tern_paths_get_property;

  properties[PROP_ROOT] =
    g_param_spec_string ("root", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONFIG_DIR] =
    g_param_spec_string ("config-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DATA_DIR] =
    g_param_spec_string ("data-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CACHE_DIR] =
    g_param_spec_string ("cache-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_paths_init (TernPaths *self)
{
}

static char *
make_absolute (const char *path)
{
  g_autofree char *cwd = NULL;

  if (g_path_is_absolute (path))
    return g_canonicalize_filename (path, NULL);

  cwd = g_get_current_dir ();
  return g_canonicalize_filename (path, cwd);
}

/**
 * tern_paths_new:
 * @config_dir: the folder for account files and settings
 * @data_dir: the folder for the store and the mail
 * @cache_dir: the folder for what can be made again
 *
 * Relative folders are taken from the current directory.
 *
 * Returns: (transfer full): a new #TernPaths.
 */
TernPaths *
tern_paths_new (const char *config_dir,
                const char *data_dir,
                const char *cache_dir)
{
  TernPaths *self;

  g_return_val_if_fail (config_dir != NULL, NULL);
  g_return_val_if_fail (data_dir != NULL, NULL);
  g_return_val_if_fail (cache_dir != NULL, NULL);

  self = g_object_new (TERN_TYPE_PATHS, NULL);
  self->config_dir = make_absolute (config_dir);
  self->data_dir = make_absolute (data_dir);
  self->cache_dir = make_absolute (cache_dir);

  return self;
}

/**
 * tern_paths_new_default:
 *
 * The folders of the profile of this build under the XDG base directories:
 * `$XDG_CONFIG_HOME/tern`, `$XDG_DATA_HOME/tern` and `$XDG_CACHE_HOME/tern`
 * (`tern-devel` in a development build).
 *
 * Returns: (transfer full): a new #TernPaths.
 */
TernPaths *
tern_paths_new_default (void)
{
  g_autofree char *config_dir = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *cache_dir = NULL;

  config_dir = g_build_filename (g_get_user_config_dir (), PROFILE_DIR_NAME, NULL);
  data_dir = g_build_filename (g_get_user_data_dir (), PROFILE_DIR_NAME, NULL);
  cache_dir = g_build_filename (g_get_user_cache_dir (), PROFILE_DIR_NAME, NULL);

  return tern_paths_new (config_dir, data_dir, cache_dir);
}

/**
 * tern_paths_new_for_root:
 * @root: the folder given with --data-dir
 *
 * The folders of a profile kept under one folder: `ROOT/config`,
 * `ROOT/data` and `ROOT/cache`.
 *
 * Returns: (transfer full): a new #TernPaths.
 */
TernPaths *
tern_paths_new_for_root (const char *root)
{
  g_autofree char *absolute = NULL;
  g_autofree char *config_dir = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *cache_dir = NULL;
  TernPaths *self;

  g_return_val_if_fail (root != NULL && *root != '\0', NULL);

  absolute = make_absolute (root);
  config_dir = g_build_filename (absolute, "config", NULL);
  data_dir = g_build_filename (absolute, "data", NULL);
  cache_dir = g_build_filename (absolute, "cache", NULL);

  self = tern_paths_new (config_dir, data_dir, cache_dir);
  self->root = g_steal_pointer (&absolute);

  return self;
}

const char *
tern_paths_get_config_dir (TernPaths *self)
{
  g_return_val_if_fail (TERN_IS_PATHS (self), NULL);

  return self->config_dir;
}

const char *
tern_paths_get_data_dir (TernPaths *self)
{
  g_return_val_if_fail (TERN_IS_PATHS (self), NULL);

  return self->data_dir;
}

const char *
tern_paths_get_cache_dir (TernPaths *self)
{
  g_return_val_if_fail (TERN_IS_PATHS (self), NULL);

  return self->cache_dir;
}

/**
 * tern_paths_get_root:
 *
 * Returns: (transfer none) (nullable): the folder given with --data-dir, or
 *   %NULL for a profile under the XDG base directories.
 */
const char *
tern_paths_get_root (TernPaths *self)
{
  g_return_val_if_fail (TERN_IS_PATHS (self), NULL);

  return self->root;
}

static gboolean
ensure_private_dir (const char  *path,
                    GError     **error)
{
  /* Mail is private: folders Tern makes are readable by the user alone. */
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error,
                   G_IO_ERROR,
                   g_io_error_from_errno (saved_errno),
                   "Could not create the folder “%s”: %s",
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error,
                   G_IO_ERROR,
                   G_IO_ERROR_NOT_DIRECTORY,
                   "“%s” exists and is not a folder",
                   path);
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_paths_ensure:
 * @self: a #TernPaths
 * @error: return location for a #GError
 *
 * Creates the three folders when they are missing, readable by the user
 * alone.
 *
 * Returns: %TRUE when all three folders exist.
 */
gboolean
tern_paths_ensure (TernPaths  *self,
                   GError    **error)
{
  g_return_val_if_fail (TERN_IS_PATHS (self), FALSE);

  return ensure_private_dir (self->config_dir, error) &&
         ensure_private_dir (self->data_dir, error) &&
         ensure_private_dir (self->cache_dir, error);
}
