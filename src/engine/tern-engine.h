/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

#include "tern-paths.h"

G_BEGIN_DECLS

const char *tern_engine_get_version        (void);
const char *tern_engine_get_application_id (void);
const char *tern_engine_get_profile        (void);

void        tern_engine_init               (void);

G_END_DECLS
