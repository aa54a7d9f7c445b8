/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-message-list-model.h"

G_BEGIN_DECLS

#define TERN_TYPE_MESSAGE_LIST (tern_message_list_get_type ())

G_DECLARE_FINAL_TYPE (TernMessageList, tern_message_list, TERN, MESSAGE_LIST, GtkWidget)

void                  tern_message_list_set_model          (TernMessageList      *self,
                                                            TernMessageListModel *model,
                                                            const char           *empty_title,
                                                            const char           *empty_description,
                                                            const char           *empty_icon);
TernMessageListModel *tern_message_list_get_model          (TernMessageList      *self);
GPtrArray            *tern_message_list_get_selected       (TernMessageList      *self);
void                  tern_message_list_set_hidden         (TernMessageList      *self,
                                                            GHashTable           *ids);
void                  tern_message_list_select_position    (TernMessageList      *self,
                                                            guint                 position);
guint                 tern_message_list_get_first_selected (TernMessageList      *self);

G_END_DECLS
