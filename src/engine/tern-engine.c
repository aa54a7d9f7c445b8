/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gmime/gmime.h>

#include "tern-engine.h"

/**
 * tern_engine_get_version:
 *
 * Returns: (transfer none): the version of Tern, such as "0.1.0".
 */
const char *
tern_engine_get_version (void)
{
  return PACKAGE_VERSION;
}

/**
 * tern_engine_get_application_id:
 *
 * Returns: (transfer none): the application ID of this build; development
 *   builds end in ".Devel".
 */
const char *
tern_engine_get_application_id (void)
{
  return APPLICATION_ID;
}

/**
 * tern_engine_get_profile:
 *
 * Returns: (transfer none): "default" or "development".
 */
const char *
tern_engine_get_profile (void)
{
  return PROFILE;
}

/**
 * tern_engine_init:
 *
 * Sets up the libraries the engine builds on.  Call it once from the main
 * thread before using the engine; later calls do nothing.
 */
void
tern_engine_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      g_mime_init ();
      g_once_init_leave (&initialized, 1);
    }
}
