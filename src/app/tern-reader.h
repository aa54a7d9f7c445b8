/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-message-row.h"
#include "tern-store.h"

G_BEGIN_DECLS

#define TERN_TYPE_READER (tern_reader_get_type ())

G_DECLARE_FINAL_TYPE (TernReader, tern_reader, TERN, READER, GtkWidget)

void        tern_reader_show_row     (TernReader     *self,
                                      TernStore      *store,
                                      TernMessageRow *row,
                                      gboolean        threaded,
                                      GSettings      *settings);
void        tern_reader_clear        (TernReader     *self);
GPtrArray  *tern_reader_get_messages (TernReader     *self);

G_END_DECLS
