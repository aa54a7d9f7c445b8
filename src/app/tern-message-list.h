/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-message-list-model.h"

G_BEGIN_DECLS

/*
 * TernMessageDrag: what a drag of messages out of the list carries, inside
 * the app: how many rows are selected.  The rows dragged are the list's
 * selection (a drag that starts on a row outside it selects that row), so
 * a drop acts on the selection, as the Move action does.
 */
typedef struct
{
  guint count;
} TernMessageDrag;

#define TERN_TYPE_MESSAGE_DRAG (tern_message_drag_get_type ())

GType tern_message_drag_get_type (void) G_GNUC_CONST;

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
