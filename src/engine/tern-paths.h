/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TERN_TYPE_PATHS (tern_paths_get_type ())

G_DECLARE_FINAL_TYPE (TernPaths, tern_paths, TERN, PATHS, GObject)

TernPaths  *tern_paths_new_default     (void);
TernPaths  *tern_paths_new_for_root    (const char  *root);
TernPaths  *tern_paths_new             (const char  *config_dir,
                                        const char  *data_dir,
                                        const char  *cache_dir);

const char *tern_paths_get_config_dir  (TernPaths   *self);
const char *tern_paths_get_data_dir    (TernPaths   *self);
const char *tern_paths_get_cache_dir   (TernPaths   *self);
const char *tern_paths_get_root        (TernPaths   *self);

gboolean    tern_paths_ensure          (TernPaths   *self,
                                        GError     **error);

G_END_DECLS
