/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-message-row.h"
#include "tern-store.h"

G_BEGIN_DECLS

#define TERN_TYPE_MESSAGE_LIST_MODEL (tern_message_list_model_get_type ())

G_DECLARE_FINAL_TYPE (TernMessageListModel, tern_message_list_model, TERN, MESSAGE_LIST_MODEL,
                      GObject)

TernMessageListModel *tern_message_list_model_new_for_folder (TernStore            *store,
                                                              gint64                folder_id,
                                                              gboolean              threaded);
TernMessageListModel *tern_message_list_model_new_for_role   (TernStore            *store,
                                                              TernFolderRole        role,
                                                              gboolean              threaded);
TernMessageListModel *tern_message_list_model_new_for_search (TernStore            *store,
                                                              const char           *query,
                                                              gint64                folder_id);

void                  tern_message_list_model_load_async     (TernMessageListModel *self,
                                                              GCancellable         *cancellable,
                                                              GAsyncReadyCallback   callback,
                                                              gpointer              user_data);
gboolean              tern_message_list_model_load_finish    (TernMessageListModel *self,
                                                              GAsyncResult         *result,
                                                              GError              **error);

gboolean              tern_message_list_model_get_threaded   (TernMessageListModel *self);
gint64                tern_message_list_model_get_message_id (TernMessageListModel *self,
                                                              guint                 position);
gboolean              tern_message_list_model_is_loading     (TernMessageListModel *self);
guint                 tern_message_list_model_get_n_loaded_rows (TernMessageListModel *self);

G_END_DECLS
