/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

#include "tern-store.h"

G_BEGIN_DECLS

/*
 * What the engine tests share: waiting on the main context with a
 * deadline, temporary folders and test data, a store opened and closed the
 * way every store test does it, the store calls several tests make the same
 * way, and plain SQLite access to the store's files.  Every function fails
 * the running test rather than return an error, unless it takes a GError.
 */

/* How long a test waits for the store before it fails rather than hangs. */
#define TERN_TEST_WAIT_SECONDS 20

/* Waiting */

void           tern_test_got_result_cb      (GObject              *source,
                                             GAsyncResult         *result,
                                             gpointer              user_data);
gboolean       tern_test_timed_out_cb       (gpointer              user_data);
GAsyncResult  *tern_test_wait_for           (GAsyncResult        **slot);
void           tern_test_drain_main_context (void);

/* Files */

void           tern_test_remove_tree        (const char           *path);
char          *tern_test_data_path          (const char           *name);
char          *tern_test_make_temp_dir      (const char           *tmpl);

/* The store */

TernStore     *tern_test_open_store         (const char           *dir);
void           tern_test_close_store        (TernStore           **store);
GArray        *tern_test_add_messages       (TernStore            *store,
                                             gint64                folder_id,
                                             GPtrArray            *messages,
                                             TernStoreDurability   durability,
                                             GError              **error);
void           tern_test_set_flags          (TernStore            *store,
                                             GArray               *ids,
                                             guint                 add,
                                             guint                 remove);
void           tern_test_move_messages      (TernStore            *store,
                                             GArray               *ids,
                                             gint64                folder_id);
void           tern_test_delete_messages    (TernStore            *store,
                                             GArray               *ids);

/* Mail */

char          *tern_test_rfc_date           (GDateTime            *date);

/* SQLite */

void           tern_test_exec_sql           (sqlite3              *db,
                                             const char           *sql);
gint64         tern_test_query_int          (sqlite3              *db,
                                             const char           *sql);

G_END_DECLS
