/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-mail-service.h"
#include "tern-window.h"

G_BEGIN_DECLS

#define TERN_TYPE_ACCOUNT_SETTINGS (tern_account_settings_get_type ())

G_DECLARE_FINAL_TYPE (TernAccountSettings, tern_account_settings, TERN, ACCOUNT_SETTINGS,
                      AdwWindow)

TernAccountSettings *tern_account_settings_new (TernWindow       *main_window,
                                                const char       *config_dir,
                                                const char       *account_id,
                                                GError          **error);

G_END_DECLS
