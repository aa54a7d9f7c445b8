/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-mbox-reader.h"
#include "tern-message-flags.h"

G_BEGIN_DECLS

#define TERN_TYPE_MAILDIR_READER (tern_maildir_reader_get_type ())

G_DECLARE_FINAL_TYPE (TernMaildirReader, tern_maildir_reader, TERN, MAILDIR_READER, GObject)

TernMaildirReader *tern_maildir_reader_new                   (GFile              *folder,
                                                              GCancellable       *cancellable,
                                                              GError            **error);

const char        *tern_maildir_reader_get_name              (TernMaildirReader  *self);
gsize              tern_maildir_reader_get_max_message_size  (TernMaildirReader  *self);
void               tern_maildir_reader_set_max_message_size  (TernMaildirReader  *self,
                                                              gsize               max_size);

GBytes            *tern_maildir_reader_next                  (TernMaildirReader  *self,
                                                              TernMessageFlags   *out_flags,
                                                              GDateTime         **out_date,
                                                              GCancellable       *cancellable,
                                                              GError            **error);

guint              tern_maildir_reader_get_n_messages        (TernMaildirReader  *self);
guint              tern_maildir_reader_get_message_index     (TernMaildirReader  *self);
const char        *tern_maildir_reader_get_message_name      (TernMaildirReader  *self);
guint64            tern_maildir_reader_get_position          (TernMaildirReader  *self);
guint64            tern_maildir_reader_get_size              (TernMaildirReader  *self);

TernMessageFlags   tern_maildir_flags_from_name              (const char         *name);
char             **tern_maildir_list_subfolders              (GFile              *folder,
                                                              GCancellable       *cancellable,
                                                              GError            **error);

G_END_DECLS
