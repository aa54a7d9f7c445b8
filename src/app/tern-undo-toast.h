/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

typedef void (*TernUndoToastFunc) (gpointer data);

AdwToast *tern_undo_toast_new (const char        *title,
                               TernUndoToastFunc  undo,
                               TernUndoToastFunc  done,
                               gpointer           data,
                               GDestroyNotify     notify);

G_END_DECLS
