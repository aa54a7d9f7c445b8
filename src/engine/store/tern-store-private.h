/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <sqlite3.h>

#include "tern-store.h"
#include "tern-store-sync.h"

G_BEGIN_DECLS

/*
 * The store's internals, shared by tern-store*.c.
 *
 * Threads: one writer thread owns the two writer connections (the index,
 * store.sqlite, and the bodies, bodies.sqlite) and runs write jobs one after
 * another.  Read jobs run on a small pool of reader threads, each job
 * borrowing a read-only connection pair.  Jobs carry a GTask; results and
 * change notifications return to the main context that opened the store.
 */

typedef struct
{
  sqlite3 *index;
  sqlite3 *bodies;
  /* Prepared statements kept for the connection's life, by SQL text. */
  GHashTable *statements;
} TernStoreDb;

typedef void (*TernStoreJobFunc) (TernStore   *self,
                                  TernStoreDb *db,
                                  GTask       *task);

struct _TernStore
{
  GObject parent_instance;

  char *data_dir;
  char *index_path;
  char *bodies_path;

  GMainContext *context;

  GThread *writer;
  GAsyncQueue *write_jobs;
  TernStoreDb writer_db;

  GThreadPool *readers;
  GMutex read_lock;
  GPtrArray *idle_read_dbs;

  gboolean rebuilt;
  gboolean closed;
};

/* Jobs */
void      tern_store_queue_write        (TernStore         *self,
                                         GTask             *task,
                                         TernStoreJobFunc   func);
void      tern_store_queue_read         (TernStore         *self,
                                         GTask             *task,
                                         TernStoreJobFunc   func);
void      tern_store_emit_changed       (TernStore         *self,
                                         TernStoreChangeKind kind,
                                         GArray            *folder_ids,
                                         GArray            *message_ids);

/* Connections */
gboolean  tern_store_open_connection    (const char        *path,
                                         gboolean           read_only,
                                         sqlite3          **out_db,
                                         GError           **error);

/* Bodies stored by a thread other than the writer (an import's own) */
gboolean  tern_store_bodies_open        (TernStore         *self,
                                         TernStoreDb       *db,
                                         GError           **error);
gboolean  tern_store_bodies_put         (TernStoreDb       *db,
                                         TernFolder        *folder,
                                         GPtrArray         *messages,
                                         GArray            *body_ids,
                                         GError           **error);
gboolean  tern_store_free_bodies        (TernStoreDb       *db,
                                         GArray            *body_ids);
void      tern_store_body_change_flags  (TernStoreDb       *db,
                                         GArray            *body_ids,
                                         guint              add,
                                         guint              remove);
void      tern_store_bodies_mark_indexed (TernStoreDb      *db,
                                         GArray            *body_ids);
void      tern_store_add_stored_messages_async (TernStore           *self,
                                                gint64               folder_id,
                                                GPtrArray           *messages,
                                                GArray              *body_ids,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);

/* SQLite helpers */
gboolean  tern_store_sql_error          (sqlite3           *db,
                                         int                rc,
                                         const char        *what,
                                         GError           **error);
gboolean  tern_store_exec               (sqlite3           *db,
                                         const char        *sql,
                                         GError           **error);
sqlite3_stmt *tern_store_prepare        (sqlite3           *db,
                                         const char        *sql,
                                         GError           **error);
gboolean  tern_store_begin              (sqlite3           *db,
                                         GError           **error);
gboolean  tern_store_commit             (sqlite3           *db,
                                         GError           **error);
void      tern_store_rollback           (sqlite3           *db);
const char *tern_store_column_text      (sqlite3_stmt      *stmt,
                                         int                column);
sqlite3_stmt *tern_store_db_statement   (TernStoreDb       *db,
                                         sqlite3           *connection,
                                         const char        *sql,
                                         GError           **error);
void      tern_store_db_close           (TernStoreDb       *db);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* Schema */
gboolean  tern_store_migrate_index      (sqlite3           *db,
                                         GError           **error);
gboolean  tern_store_migrate_bodies     (sqlite3           *db,
                                         GError           **error);
int       tern_store_index_version      (void);

/* Bodies */
typedef struct _TernMimeMessage TernMimeMessage;

/* Search words: the columns of message_fts, in order. */
enum {
  TERN_FTS_SUBJECT,
  TERN_FTS_SENDER,
  TERN_FTS_RECIPIENTS,
  TERN_FTS_BODY,
  TERN_FTS_ATTACHMENTS,
  TERN_FTS_N_COLUMNS
};

/* How much of a body the full-text index keeps. */
#define TERN_STORE_FTS_BODY_MAX (64 * 1024)

typedef struct
{
  char *columns[TERN_FTS_N_COLUMNS];
} TernFtsText;

char        *tern_store_fts_words       (const char        *text,
                                         gssize             length);
TernFtsText *tern_store_fts_text_new    (TernMimeMessage   *mime);
gboolean     tern_store_fts_tune        (sqlite3           *index,
                                         GError           **error);
gboolean     tern_store_fts_use_runs_tokenizer (sqlite3    *index);
void         tern_store_fts_text_free   (TernFtsText       *fts);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernFtsText, tern_store_fts_text_free)

/* What can be done for a new message before the writer thread takes it:
 * parsing, compressing and finding its search words, the costly part of
 * adding mail. */
typedef struct
{
  TernMimeMessage *mime;
  GBytes *stored;
  int encoding;
  TernFtsText *fts;
  gsize raw_size;
} TernPreparedMessage;

TernPreparedMessage *tern_new_message_get_prepared (TernNewMessage *message);
void      tern_new_message_release_body (TernNewMessage   *message);
void      tern_new_message_release_prepared (TernNewMessage *message);
GBytes   *tern_store_body_encode        (GBytes            *raw,
                                         int               *encoding);
gint64    tern_store_body_put           (TernStoreDb       *db,
                                         GBytes            *raw,
                                         GBytes            *stored,
                                         int                encoding,
                                         const char        *account,
                                         const char        *path,
                                         gint64             uid,
                                         guint              flags,
                                         gint64             internal_date,
                                         const char        *keywords,
                                         GError           **error);
GBytes   *tern_store_body_get           (TernStoreDb       *db,
                                         gint64             body_id,
                                         GError           **error);
gboolean  tern_store_body_set_state     (TernStoreDb       *db,
                                         GArray            *body_ids,
                                         int                state,
                                         GError           **error);

/* Folders and messages */
TernFolder  *tern_store_folder_load     (sqlite3           *db,
                                         gint64             folder_id,
                                         GError           **error);
TernFolder  *tern_store_folder_ensure   (sqlite3           *db,
                                         const char        *account,
                                         const char        *path,
                                         TernFolderRole     role,
                                         gboolean           must_be_new,
                                         GError           **error);
/* Drafts (tern-store-drafts.c), in the caller's transaction */
TernFolder  *tern_store_role_folder     (TernStoreDb       *db,
                                         const char        *account,
                                         TernFolderRole     role,
                                         const char        *path,
                                         GError           **error);
gboolean  tern_store_queue_upload       (TernStoreDb       *db,
                                         gint64             message_id,
                                         const char        *flags,
                                         gboolean          *out_queued,
                                         GError           **error);
gboolean  tern_store_ingest             (TernStore         *self,
                                         TernStoreDb       *db,
                                         TernFolder        *folder,
                                         gint64             body_id,
                                         GBytes            *raw,
                                         TernMimeMessage   *mime,
                                         guint              flags,
                                         gint64             uid,
                                         gint64             internal_date,
                                         const char        *keywords,
                                         GError           **error);
/* Addresses for completion gathered over a batch of messages, written
 * with one UPSERT per distinct address (tern-store-ingest.c) */
typedef struct _TernAddressTally TernAddressTally;
TernAddressTally *tern_address_tally_new (void);
void      tern_address_tally_free       (TernAddressTally  *tally);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernAddressTally, tern_address_tally_free)
gboolean  tern_store_write_address_tally (TernStoreDb      *db,
                                         TernAddressTally  *tally,
                                         GError           **error);
gboolean  tern_store_ingest_header      (TernStore         *self,
                                         TernStoreDb       *db,
                                         TernFolder        *folder,
                                         gint64             id,
                                         const TernHeaderMessage *message,
                                         TernAddressTally  *addresses,
                                         GError           **error);
gboolean  tern_store_ingest_new_message (TernStore       *self,
                                         TernStoreDb       *db,
                                         TernFolder        *folder,
                                         gint64             body_id,
                                         TernNewMessage    *message,
                                         GError           **error);
void      tern_store_save_folder_meta   (TernStoreDb       *db,
                                         const char        *account);
TernFolderRole tern_store_folder_meta_role (TernStoreDb    *db,
                                         const char        *account,
                                         const char        *path);
gboolean  tern_store_unindex            (TernStoreDb       *db,
                                         gint64             id,
                                         GBytes            *raw,
                                         GError           **error);
gboolean  tern_store_count_added        (TernStoreDb       *db,
                                         gint64             folder_id,
                                         guint              total,
                                         guint              unread,
                                         GError           **error);
gboolean  tern_store_recover_bodies     (TernStore         *self,
                                         TernStoreDb       *db,
                                         gboolean           all,
                                         GError           **error);

/* tern-store-pop3.c */

gboolean  tern_store_pop3_restore       (TernStoreDb       *db,
                                         gboolean           rebuilt,
                                         GError           **error);
void      tern_store_pop3_forget_kept   (TernStoreDb       *db,
                                         const char        *account);

TernFolder  *tern_folder_new_from_stmt  (sqlite3_stmt      *stmt);
TernMessage *tern_message_new_from_stmt (sqlite3_stmt      *stmt);
void         tern_message_set_attachments (TernMessage     *message,
                                           GPtrArray       *attachments);

#define TERN_STORE_FOLDER_COLUMNS \
  "id, account, path, name, parent_id, role, total, unread, uidvalidity, uidnext, highestmodseq"

#define TERN_STORE_MESSAGE_COLUMNS \
  "id, folder_id, uid, flags, date, size, subject, from_name, from_address, to_list, cc_list, " \
  "message_id, in_reply_to, refs, conversation_id, preview, has_attachments, body_state, problems"

G_END_DECLS
