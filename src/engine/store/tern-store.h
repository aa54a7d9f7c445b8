/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-store-types.h"

G_BEGIN_DECLS

#define TERN_STORE_ERROR (tern_store_error_quark ())

typedef enum
{
  TERN_STORE_ERROR_FAILED,
  TERN_STORE_ERROR_CORRUPT,
  TERN_STORE_ERROR_TOO_NEW,
  TERN_STORE_ERROR_NOT_FOUND,
  TERN_STORE_ERROR_EXISTS,
  TERN_STORE_ERROR_INVALID,
  TERN_STORE_ERROR_CLOSED,
} TernStoreError;

GQuark tern_store_error_quark (void);

typedef enum
{
  TERN_STORE_CHANGE_MESSAGES_ADDED,
  TERN_STORE_CHANGE_MESSAGES_REMOVED,
  TERN_STORE_CHANGE_MESSAGES_UPDATED,
  TERN_STORE_CHANGE_FOLDERS,
} TernStoreChangeKind;

#define TERN_TYPE_STORE (tern_store_get_type ())

G_DECLARE_FINAL_TYPE (TernStore, tern_store, TERN, STORE, GObject)

void         tern_store_open_async            (const char           *data_dir,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
TernStore   *tern_store_open_finish           (GAsyncResult         *result,
                                               GError              **error);
TernStore   *tern_store_open_sync             (const char           *data_dir,
                                               GCancellable         *cancellable,
                                               GError              **error);
void         tern_store_close                 (TernStore            *self);

const char  *tern_store_get_data_dir          (TernStore            *self);
gboolean     tern_store_was_rebuilt           (TernStore            *self);

/* Folders */
void         tern_store_list_folders_async    (TernStore            *self,
                                               const char           *account,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray   *tern_store_list_folders_finish   (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_create_folder_async   (TernStore            *self,
                                               const char           *account,
                                               const char           *path,
                                               TernFolderRole        role,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
TernFolder  *tern_store_create_folder_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_ensure_folder_async   (TernStore            *self,
                                               const char           *account,
                                               const char           *path,
                                               TernFolderRole        role,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
TernFolder  *tern_store_ensure_folder_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_rename_folder_async   (TernStore            *self,
                                               gint64                folder_id,
                                               const char           *new_path,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
TernFolder  *tern_store_rename_folder_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_delete_folder_async   (TernStore            *self,
                                               gint64                folder_id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean     tern_store_delete_folder_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_forget_account_async  (TernStore            *self,
                                               const char           *account,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean     tern_store_forget_account_finish (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);

/* Messages */
void         tern_store_add_messages_async    (TernStore            *self,
                                               gint64                folder_id,
                                               GPtrArray            *messages,
                                               TernStoreDurability   durability,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GArray      *tern_store_add_messages_finish   (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_set_flags_async       (TernStore            *self,
                                               GArray               *message_ids,
                                               guint                 add,
                                               guint                 remove,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean     tern_store_set_flags_finish      (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_move_messages_async   (TernStore            *self,
                                               GArray               *message_ids,
                                               gint64                folder_id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean     tern_store_move_messages_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_copy_messages_async   (TernStore            *self,
                                               GArray               *message_ids,
                                               gint64                folder_id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GArray      *tern_store_copy_messages_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_delete_messages_async (TernStore            *self,
                                               GArray               *message_ids,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean     tern_store_delete_messages_finish (TernStore           *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_get_message_async     (TernStore            *self,
                                               gint64                message_id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
TernMessage *tern_store_get_message_finish    (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_get_raw_async         (TernStore            *self,
                                               gint64                message_id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GBytes      *tern_store_get_raw_finish        (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_search_async          (TernStore            *self,
                                               const char           *query,
                                               gint64                folder_id,
                                               guint                 limit,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GArray      *tern_store_search_finish         (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_list_messages_async   (TernStore            *self,
                                               gint64                folder_id,
                                               guint                 offset,
                                               guint                 limit,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray   *tern_store_list_messages_finish  (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);
void         tern_store_get_messages_async    (TernStore            *self,
                                               GArray               *message_ids,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray   *tern_store_get_messages_finish   (TernStore            *self,
                                               GAsyncResult         *result,
                                               GError              **error);

/* The most messages tern_store_list_conversation_async() returns. */
#define TERN_STORE_CONVERSATION_LIMIT 500

void         tern_store_list_conversation_async  (TernStore           *self,
                                                  gint64               conversation_id,
                                                  gint64               from_folder_id,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
GPtrArray   *tern_store_list_conversation_finish (TernStore           *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

/* Completion */
void         tern_store_complete_address_async (TernStore           *self,
                                               const char           *prefix,
                                               guint                 limit,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray   *tern_store_complete_address_finish (TernStore          *self,
                                               GAsyncResult         *result,
                                               GError              **error);

G_END_DECLS
