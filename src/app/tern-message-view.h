/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-store.h"

G_BEGIN_DECLS

#define TERN_TYPE_MESSAGE_VIEW (tern_message_view_get_type ())

G_DECLARE_FINAL_TYPE (TernMessageView, tern_message_view, TERN, MESSAGE_VIEW, GtkWidget)

GtkWidget   *tern_message_view_new             (TernStore       *store,
                                                TernMessage     *message,
                                                GSettings       *settings);
TernMessage *tern_message_view_get_message     (TernMessageView *self);
void         tern_message_view_set_expanded    (TernMessageView *self,
                                                gboolean         expanded);
void         tern_message_view_set_body_height (TernMessageView *self,
                                                int              height);

G_END_DECLS
