/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-store.h"

G_BEGIN_DECLS

/* An import commits its messages this many at a time: a larger batch
 * costs the search index less to fill, and holds more in memory. */
#define TERN_STORE_IMPORT_BATCH 1000

typedef enum
{
  TERN_MAIL_FILE_MBOX,
  TERN_MAIL_FILE_MAILDIR,
} TernMailFileFormat;

/**
 * TernImportProgress:
 * @imported: messages stored so far
 * @skipped: messages that could not be read and were left out
 * @bytes_read: how far into the source the import is
 * @bytes_total: the size of the source
 *
 * Called on the main context of the caller as an import goes on.
 */
typedef void (*TernImportProgress) (guint    imported,
                                    guint    skipped,
                                    guint64  bytes_read,
                                    guint64  bytes_total,
                                    gpointer user_data);

typedef struct
{
  guint imported;
  guint skipped;
  /* One line for each message left out, naming it and why. */
  GPtrArray *problems;
} TernImportResult;

void              tern_import_result_free        (TernImportResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImportResult, tern_import_result_free)

void              tern_store_import_async        (TernStore            *self,
                                                  gint64                folder_id,
                                                  GFile                *source,
                                                  TernMailFileFormat    format,
                                                  TernImportProgress    progress,
                                                  gpointer              progress_data,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
TernImportResult *tern_store_import_finish       (TernStore            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

void              tern_store_export_mbox_async   (TernStore            *self,
                                                  gint64                folder_id,
                                                  GFile                *target,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
guint             tern_store_export_mbox_finish  (TernStore            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

G_END_DECLS
