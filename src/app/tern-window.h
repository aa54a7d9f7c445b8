/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-application.h"
#include "tern-store.h"

G_BEGIN_DECLS

#define TERN_TYPE_WINDOW (tern_window_get_type ())

G_DECLARE_FINAL_TYPE (TernWindow, tern_window, TERN, WINDOW, AdwApplicationWindow)

TernWindow *tern_window_new        (TernApplication *application);
void        tern_window_show_toast (TernWindow      *self,
                                    const char      *message);
void        tern_window_add_toast  (TernWindow      *self,
                                    AdwToast        *toast);
TernStore  *tern_window_get_store  (TernWindow      *self);
void        tern_window_show_inbox (TernWindow      *self);
void        tern_window_reload_accounts (TernWindow *self);
void        tern_window_account_saved   (TernWindow  *self,
                                         TernAccount *account);

G_END_DECLS
