/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TERN_TYPE_PACED_LIST_MODEL (tern_paced_list_model_get_type ())

G_DECLARE_FINAL_TYPE (TernPacedListModel, tern_paced_list_model, TERN, PACED_LIST_MODEL, GObject)

TernPacedListModel *tern_paced_list_model_new      (GListModel         *model,
                                                    guint               step,
                                                    guint               unpaced_from);
GListModel         *tern_paced_list_model_get_model (TernPacedListModel *self);
gboolean            tern_paced_list_model_is_behind (TernPacedListModel *self);
void                tern_paced_list_model_step      (TernPacedListModel *self);
void                tern_paced_list_model_show_all  (TernPacedListModel *self);

G_END_DECLS
