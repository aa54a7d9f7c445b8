/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-message-flags.h"

G_BEGIN_DECLS

/* The error domain of the mail-file layer: the mbox reader, the mbox writer
 * and the Maildir reader all report in it. */
#define TERN_MAILFILE_ERROR (tern_mailfile_error_quark ())

/**
 * TernMailfileError:
 * @TERN_MAILFILE_ERROR_NOT_MBOX: the file does not begin with a "From " line
 * @TERN_MAILFILE_ERROR_NOT_MAILDIR: the folder has neither cur/ nor new/
 * @TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE: one message is larger than the
 *   limit; it was skipped and reading can go on
 * @TERN_MAILFILE_ERROR_MESSAGE_UNREADABLE: one Maildir message could not be
 *   read; it was skipped and reading can go on
 * @TERN_MAILFILE_ERROR_READ_FAILED: the source could not be opened or read;
 *   the reader is finished
 * @TERN_MAILFILE_ERROR_WRITE_FAILED: the export could not be written
 */
typedef enum
{
  TERN_MAILFILE_ERROR_NOT_MBOX,
  TERN_MAILFILE_ERROR_NOT_MAILDIR,
  TERN_MAILFILE_ERROR_MESSAGE_TOO_LARGE,
  TERN_MAILFILE_ERROR_MESSAGE_UNREADABLE,
  TERN_MAILFILE_ERROR_READ_FAILED,
  TERN_MAILFILE_ERROR_WRITE_FAILED,
} TernMailfileError;

/* The default bound on one message, settable on each reader, and the
 * largest bound a reader accepts. */
#define TERN_MAILFILE_DEFAULT_MAX_MESSAGE_SIZE ((gsize) 256 * 1024 * 1024)
#define TERN_MAILFILE_MAX_MESSAGE_SIZE_LIMIT ((gsize) 2 * 1024 * 1024 * 1024 - 1)

GQuark          tern_mailfile_error_quark               (void);
gboolean        tern_mailfile_error_is_per_message      (const GError    *error);

#define TERN_TYPE_MBOX_READER (tern_mbox_reader_get_type ())

G_DECLARE_FINAL_TYPE (TernMboxReader, tern_mbox_reader, TERN, MBOX_READER, GObject)

TernMboxReader *tern_mbox_reader_new_for_file           (GFile           *file,
                                                         GCancellable    *cancellable,
                                                         GError         **error);
TernMboxReader *tern_mbox_reader_new_for_stream         (GInputStream    *stream,
                                                         const char      *name,
                                                         guint64          size);

const char     *tern_mbox_reader_get_name               (TernMboxReader  *self);
gsize           tern_mbox_reader_get_max_message_size   (TernMboxReader  *self);
void            tern_mbox_reader_set_max_message_size   (TernMboxReader  *self,
                                                         gsize            max_size);

GBytes         *tern_mbox_reader_next                   (TernMboxReader  *self,
                                                         TernMessageFlags *out_flags,
                                                         GDateTime      **out_date,
                                                         GCancellable    *cancellable,
                                                         GError         **error);

guint64         tern_mbox_reader_get_position           (TernMboxReader  *self);
guint64         tern_mbox_reader_get_size               (TernMboxReader  *self);
guint64         tern_mbox_reader_get_message_offset     (TernMboxReader  *self);
guint           tern_mbox_reader_get_message_index      (TernMboxReader  *self);

GDateTime      *tern_mbox_parse_date                    (const char      *text,
                                                         gssize           length);

G_END_DECLS
