/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>

#include "tern-store-types.h"

G_BEGIN_DECLS

#define TERN_TYPE_MESSAGE_ROW (tern_message_row_get_type ())

G_DECLARE_FINAL_TYPE (TernMessageRow, tern_message_row, TERN, MESSAGE_ROW, GObject)

gint64      tern_message_row_get_id              (TernMessageRow *self);
gint64      tern_message_row_get_conversation_id (TernMessageRow *self);
gint64      tern_message_row_get_folder_id       (TernMessageRow *self);
gboolean    tern_message_row_get_loaded          (TernMessageRow *self);
const char *tern_message_row_get_subject         (TernMessageRow *self);
const char *tern_message_row_get_sender          (TernMessageRow *self);
const char *tern_message_row_get_preview         (TernMessageRow *self);
gint64      tern_message_row_get_date            (TernMessageRow *self);
guint       tern_message_row_get_flags           (TernMessageRow *self);
gboolean    tern_message_row_get_unread          (TernMessageRow *self);
gboolean    tern_message_row_get_flagged         (TernMessageRow *self);
gboolean    tern_message_row_get_has_attachments (TernMessageRow *self);
guint       tern_message_row_get_count           (TernMessageRow *self);
guint       tern_message_row_get_unread_count    (TernMessageRow *self);

/* For TernMessageListModel. */
TernMessageRow *tern_message_row_new             (gint64          id,
                                                  gint64          conversation_id,
                                                  gint64          folder_id);
void        tern_message_row_set_counts          (TernMessageRow *self,
                                                  guint           count,
                                                  guint           unread_count);
void        tern_message_row_fill                (TernMessageRow *self,
                                                  TernMessage    *message);

G_END_DECLS
