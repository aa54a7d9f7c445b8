/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-mbox-reader.h"
#include "tern-message-flags.h"

G_BEGIN_DECLS

#define TERN_TYPE_MBOX_WRITER (tern_mbox_writer_get_type ())

G_DECLARE_FINAL_TYPE (TernMboxWriter, tern_mbox_writer, TERN, MBOX_WRITER, GObject)

TernMboxWriter *tern_mbox_writer_new_for_stream   (GOutputStream     *stream,
                                                   const char        *name);
TernMboxWriter *tern_mbox_writer_new_for_file     (GFile             *file,
                                                   GCancellable      *cancellable,
                                                   GError           **error);

gboolean        tern_mbox_writer_add              (TernMboxWriter    *self,
                                                   GBytes            *message,
                                                   TernMessageFlags   flags,
                                                   GDateTime         *date,
                                                   GCancellable      *cancellable,
                                                   GError           **error);
gboolean        tern_mbox_writer_close            (TernMboxWriter    *self,
                                                   GCancellable      *cancellable,
                                                   GError           **error);

const char     *tern_mbox_writer_get_name         (TernMboxWriter    *self);
guint           tern_mbox_writer_get_n_messages   (TernMboxWriter    *self);
guint64         tern_mbox_writer_get_bytes_written (TernMboxWriter   *self);

G_END_DECLS
