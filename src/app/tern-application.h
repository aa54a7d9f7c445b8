/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-engine.h"
#include "tern-mail-service.h"

G_BEGIN_DECLS

#define TERN_TYPE_APPLICATION (tern_application_get_type ())

G_DECLARE_FINAL_TYPE (TernApplication, tern_application, TERN, APPLICATION, AdwApplication)

TernApplication *tern_application_new          (void);
TernPaths       *tern_application_get_paths    (TernApplication *self);
GSettings       *tern_application_get_settings (TernApplication *self);
TernMailService *tern_application_ensure_mail_service (TernApplication *self,
                                                       TernStore       *store);

G_END_DECLS
