/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void tern_background_set_nice      (int              increment);
int  tern_background_get_nice      (void);
void tern_background_enter         (void);
void tern_background_run_in_thread (GTask           *task,
                                    GTaskThreadFunc  func,
                                    const char      *name);
guint tern_background_count_idle   (void);

G_END_DECLS
