/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <zstd.h>

#include "tern-store-private.h"
#include "tern-store-resources.h"

/*
 * SQLite plumbing, the numbered schema migrations, and the bodies database.
 *
 * Bodies are kept apart from the index, in bodies.sqlite, compressed with
 * Zstandard at its fastest level (it packs mail about as well as zlib's
 * middle levels, several times faster): the hot tables of the index stay
 * small, and the index can be made
 * again from the bodies when it is damaged.  Beside each body, body_meta
 * keeps where the message lives (account, folder path, UID, flags), which
 * is all a rebuild needs to put it back.
 */

#define MIGRATIONS_PATH "/io/github/ternmail/Tern/store/sql"

/* Body encodings */
enum {
  BODY_RAW = 0,
  BODY_ZSTD = 2,
};

/* Bodies smaller than this are not worth compressing. */
#define COMPRESS_MIN_SIZE 512

gboolean
tern_store_sql_error (sqlite3     *db,
                      int          rc,
                      const char  *what,
                      GError     **error)
{
  int code = TERN_STORE_ERROR_FAILED;

  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
    code = TERN_STORE_ERROR_CORRUPT;

  g_set_error (error, TERN_STORE_ERROR, code, "%s: %s", what,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

gboolean
tern_store_exec (sqlite3     *db,
                 const char  *sql,
                 GError     **error)
{
  char *message = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &message);

  if (rc != SQLITE_OK)
    {
      int code = (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
                 ? TERN_STORE_ERROR_CORRUPT : TERN_STORE_ERROR_FAILED;

      g_set_error (error, TERN_STORE_ERROR, code, "%s",
                   message != NULL ? message : sqlite3_errstr (rc));
      sqlite3_free (message);
      return FALSE;
    }

  return TRUE;
}

sqlite3_stmt *
tern_store_prepare (sqlite3     *db,
                    const char  *sql,
                    GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      tern_store_sql_error (db, rc, "Could not prepare a query", error);
      return NULL;
    }

  return stmt;
}

gboolean
tern_store_begin (sqlite3  *db,
                  GError  **error)
{
  return tern_store_exec (db, "BEGIN IMMEDIATE", error);
}

gboolean
tern_store_commit (sqlite3  *db,
                   GError  **error)
{
  return tern_store_exec (db, "COMMIT", error);
}

void
tern_store_rollback (sqlite3 *db)
{
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

/**
 * tern_store_column_text:
 *
 * Returns: (transfer none): the column's text, or "" for NULL.
 */
const char *
tern_store_column_text (sqlite3_stmt *stmt,
                        int           column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);

  return text != NULL ? text : "";
}

/**
 * tern_store_db_statement:
 * @db: the connection pair
 * @connection: @db's index or bodies connection
 * @sql: the statement's SQL, a string that lives as long as the program
 *
 * A prepared statement kept with the connection, so that the hot paths do
 * not parse SQL again for every message.  The caller resets it after use
 * and never finalizes it.
 *
 * Returns: (transfer none): the statement, or %NULL with @error set.
 */
sqlite3_stmt *
tern_store_db_statement (TernStoreDb  *db,
                         sqlite3      *connection,
                         const char   *sql,
                         GError      **error)
{
  sqlite3_stmt *stmt;
  int rc;

  if (db->statements == NULL)
    db->statements = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) sqlite3_finalize);

  stmt = g_hash_table_lookup (db->statements, sql);
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  rc = sqlite3_prepare_v3 (connection, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      tern_store_sql_error (connection, rc, "Could not prepare a query", error);
      return NULL;
    }

  g_hash_table_insert (db->statements, (gpointer) sql, stmt);
  return stmt;
}

/* Migrations */

static void
ensure_resources (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      tern_store_register_resource ();
      g_once_init_leave (&registered, 1);
    }
}

static int
get_user_version (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return -1;

  return sqlite3_column_int (stmt, 0);
}

/* g_ptr_array_sort() hands the comparison pointers to the elements. */
static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The migrations, in order: NNN-name.sql brings the index to version NNN. */
static GPtrArray *
list_migrations (GError **error)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GPtrArray) migrations = g_ptr_array_new_with_free_func (g_free);

  ensure_resources ();
  names = g_resources_enumerate_children (MIGRATIONS_PATH, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (names == NULL)
    return NULL;

  for (guint i = 0; names[i] != NULL; i++)
    {
      if (g_str_has_suffix (names[i], ".sql"))
        g_ptr_array_add (migrations, g_strdup (names[i]));
    }
  g_ptr_array_sort (migrations, compare_names);

  /* Numbers must run 1, 2, 3… without a gap. */
  for (guint i = 0; i < migrations->len; i++)
    {
      const char *name = g_ptr_array_index (migrations, i);

      if (g_ascii_strtoull (name, NULL, 10) != i + 1)
        {
          g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_FAILED,
                       "Migration %s is out of sequence", name);
          return NULL;
        }
    }

  return g_steal_pointer (&migrations);
}

/**
 * tern_store_index_version:
 *
 * Returns: the schema version this build of Tern writes.
 */
int
tern_store_index_version (void)
{
  g_autoptr(GPtrArray) migrations = list_migrations (NULL);

  return migrations != NULL ? (int) migrations->len : 0;
}

/**
 * tern_store_migrate_index:
 * @db: a writer connection to the index
 *
 * Brings the index to the latest schema, one numbered migration at a time,
 * each in its own transaction.  An index made by a newer Tern is refused
 * rather than touched.
 */
gboolean
tern_store_migrate_index (sqlite3  *db,
                          GError  **error)
{
  g_autoptr(GPtrArray) migrations = list_migrations (error);
  int version;

  if (migrations == NULL)
    return FALSE;

  version = get_user_version (db);
  if (version < 0)
    return tern_store_sql_error (db, sqlite3_errcode (db), "Could not read the index version",
                                 error);

  if (version > (int) migrations->len)
    {
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_TOO_NEW,
                   "The mail index is version %d, made by a newer Tern; this one knows "
                   "versions up to %u",
                   version, migrations->len);
      return FALSE;
    }

  for (guint i = version; i < migrations->len; i++)
    {
      const char *name = g_ptr_array_index (migrations, i);
      g_autofree char *path = g_build_path ("/", MIGRATIONS_PATH, name, NULL);
      g_autofree char *pragma = NULL;
      g_autoptr(GBytes) sql = NULL;
      g_autofree char *text = NULL;

      sql = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
      if (sql == NULL)
        return FALSE;
      text = g_strndup (g_bytes_get_data (sql, NULL), g_bytes_get_size (sql));

      if (!tern_store_begin (db, error))
        return FALSE;
      pragma = g_strdup_printf ("PRAGMA user_version = %u", i + 1);
      if (!tern_store_exec (db, text, error) ||
          !tern_store_exec (db, pragma, error) ||
          !tern_store_commit (db, error))
        {
          tern_store_rollback (db);
          g_prefix_error (error, "Migration %s failed: ", name);
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * tern_store_migrate_bodies:
 *
 * Creates the tables of the bodies database when they are missing.
 */
gboolean
tern_store_migrate_bodies (sqlite3  *db,
                           GError  **error)
{
  int version = get_user_version (db);

  if (version < 0)
    return tern_store_sql_error (db, sqlite3_errcode (db), "Could not read the bodies version",
                                 error);
  if (version > 2)
    {
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_TOO_NEW,
                   "The mail bodies are version %d, made by a newer Tern", version);
      return FALSE;
    }

  if (version == 0 &&
      !tern_store_exec (db,
                        "BEGIN IMMEDIATE;"
                        /* AUTOINCREMENT: an id is never given twice, so no
                         * new message can meet words left in the search
                         * index by an old one. */
                        "CREATE TABLE bodies ("
                        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
                        "  encoding INTEGER NOT NULL,"
                        "  raw_size INTEGER NOT NULL,"
                        "  data BLOB NOT NULL);"
                        /* state: 0 written, not yet in the index; 1 indexed;
                         * 2 kept aside, as it could not be indexed. */
                        "CREATE TABLE body_meta ("
                        "  id INTEGER PRIMARY KEY,"
                        "  state INTEGER NOT NULL DEFAULT 0,"
                        "  account TEXT NOT NULL,"
                        "  path TEXT NOT NULL,"
                        "  uid INTEGER,"
                        "  flags INTEGER NOT NULL DEFAULT 0,"
                        "  internal_date INTEGER NOT NULL DEFAULT 0,"
                        "  keywords TEXT);"
                        "CREATE INDEX body_meta_state ON body_meta (state) WHERE state = 0;"
                        /* What a rebuild cannot learn from the messages. */
                        "CREATE TABLE folder_meta ("
                        "  account TEXT NOT NULL,"
                        "  path TEXT NOT NULL,"
                        "  role INTEGER NOT NULL DEFAULT 0,"
                        "  PRIMARY KEY (account, path)) WITHOUT ROWID;"
                        "PRAGMA user_version = 1;"
                        "COMMIT;",
                        error))
    return FALSE;

  /* Version 2: the POP3 messages kept, by their server's id, and the body
   * each became; a message deleted here keeps its row, with no body.  The
   * index keeps the same in pop3_uidls; a rebuild learns it from here, so
   * that mail deleted here is not downloaded again. */
  if (version < 2 &&
      !tern_store_exec (db,
                        "BEGIN IMMEDIATE;"
                        "CREATE TABLE pop3_kept ("
                        "  account TEXT NOT NULL,"
                        "  uidl TEXT NOT NULL,"
                        "  body_id INTEGER NOT NULL,"
                        "  first_seen INTEGER NOT NULL,"
                        "  PRIMARY KEY (account, uidl)) WITHOUT ROWID;"
                        "PRAGMA user_version = 2;"
                        "COMMIT;",
                        error))
    return FALSE;

  return TRUE;
}

/* Bodies */

static void
free_compress_context (gpointer context)
{
  ZSTD_freeCCtx (context);
}

static GPrivate compress_context = G_PRIVATE_INIT (free_compress_context);

/**
 * tern_store_body_encode:
 * @encoding: (out): how the result is encoded
 *
 * Compresses a body for storage, when that makes it smaller.  Runs on any
 * thread.
 *
 * Returns: (transfer full): the bytes to store.
 */
GBytes *
tern_store_body_encode (GBytes *raw,
                        int    *encoding)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (raw, &size);

  *encoding = BODY_RAW;

  if (size >= COMPRESS_MIN_SIZE)
    {
      gsize bound = ZSTD_compressBound (size);
      g_autofree guint8 *compressed = g_malloc (bound);
      ZSTD_CCtx *context = g_private_get (&compress_context);
      gsize written;

      /* A context per thread, kept: making one for each message costs more
       * than compressing it. */
      if (context == NULL)
        {
          context = ZSTD_createCCtx ();
          g_private_set (&compress_context, context);
        }
      written = ZSTD_compressCCtx (context, compressed, bound, data, size, 1);

      if (!ZSTD_isError (written) && written < size)
        {
          *encoding = BODY_ZSTD;
          return g_bytes_new_take (g_realloc (g_steal_pointer (&compressed), written), written);
        }
    }

  return g_bytes_ref (raw);
}

/**
 * tern_store_body_put:
 * @raw: the message
 * @stored: what tern_store_body_encode() made of it
 *
 * Writes a body and where it belongs into the bodies database, in the
 * caller's transaction.  The body starts in state 0, "not yet indexed".
 *
 * Returns: the body's id, which becomes the message's id, or 0 on error.
 */
gint64
tern_store_body_put (TernStoreDb  *db,
                     GBytes       *raw,
                     GBytes       *stored,
                     int           encoding,
                     const char   *account,
                     const char   *path,
                     gint64        uid,
                     guint         flags,
                     gint64        internal_date,
                     const char   *keywords,
                     GError      **error)
{
  sqlite3_stmt *body;
  sqlite3_stmt *meta;
  gsize stored_size;
  const void *stored_data;
  gint64 id;
  int rc;

  stored_data = g_bytes_get_data (stored, &stored_size);

  body = tern_store_db_statement (db, db->bodies,
                                  "INSERT INTO bodies (encoding, raw_size, data) VALUES (?, ?, ?)",
                                  error);
  if (body == NULL)
    return 0;
  sqlite3_bind_int (body, 1, encoding);
  sqlite3_bind_int64 (body, 2, g_bytes_get_size (raw));
  sqlite3_bind_blob64 (body, 3, stored_data, stored_size, SQLITE_STATIC);
  rc = sqlite3_step (body);
  sqlite3_reset (body);
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->bodies, rc, "Could not store a message body", error);
      return 0;
    }
  id = sqlite3_last_insert_rowid (db->bodies);

  meta = tern_store_db_statement (db, db->bodies,
                                  "INSERT INTO body_meta (id, state, account, path, uid, flags, "
                                  "internal_date, keywords) VALUES (?, 0, ?, ?, ?, ?, ?, ?)",
                                  error);
  if (meta == NULL)
    return 0;
  sqlite3_bind_int64 (meta, 1, id);
  sqlite3_bind_text (meta, 2, account, -1, SQLITE_STATIC);
  sqlite3_bind_text (meta, 3, path, -1, SQLITE_STATIC);
  if (uid > 0)
    sqlite3_bind_int64 (meta, 4, uid);
  else
    sqlite3_bind_null (meta, 4);
  sqlite3_bind_int (meta, 5, flags);
  sqlite3_bind_int64 (meta, 6, internal_date);
  if (keywords != NULL)
    sqlite3_bind_text (meta, 7, keywords, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (meta, 7);
  rc = sqlite3_step (meta);
  sqlite3_reset (meta);
  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->bodies, rc, "Could not store a message body", error);
      return 0;
    }

  return id;
}

/**
 * tern_store_body_get:
 *
 * Returns: (transfer full): the raw message, or %NULL with @error set.
 */
GBytes *
tern_store_body_get (TernStoreDb  *db,
                     gint64        body_id,
                     GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  const void *data;
  gint64 raw_size;
  int size;
  int encoding;
  int rc;

  stmt = tern_store_prepare (db->bodies,
                             "SELECT encoding, raw_size, data FROM bodies WHERE id = ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, body_id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   "The body of message %" G_GINT64_FORMAT " is not in the store", body_id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      tern_store_sql_error (db->bodies, rc, "Could not read a message body", error);
      return NULL;
    }

  encoding = sqlite3_column_int (stmt, 0);
  raw_size = sqlite3_column_int64 (stmt, 1);
  data = sqlite3_column_blob (stmt, 2);
  size = sqlite3_column_bytes (stmt, 2);

  if (encoding == BODY_RAW)
    return g_bytes_new (data, size);

  if (encoding == BODY_ZSTD && raw_size >= 0 && raw_size < G_MAXINT32)
    {
      g_autofree guint8 *out = g_malloc (MAX (raw_size, 1));
      gsize out_size = ZSTD_decompress (out, raw_size, data, size);

      if (!ZSTD_isError (out_size) && (gint64) out_size == raw_size)
        return g_bytes_new_take (g_steal_pointer (&out), out_size);
    }

  g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_CORRUPT,
               "The body of message %" G_GINT64_FORMAT " is damaged", body_id);
  return NULL;
}

gboolean
tern_store_body_set_state (TernStoreDb  *db,
                           GArray       *body_ids,
                           int           state,
                           GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->bodies, "UPDATE body_meta SET state = ? WHERE id = ?",
                                  error);
  if (stmt == NULL)
    return FALSE;

  for (guint i = 0; i < body_ids->len; i++)
    {
      int rc;

      sqlite3_bind_int (stmt, 1, state);
      sqlite3_bind_int64 (stmt, 2, g_array_index (body_ids, gint64, i));
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        return tern_store_sql_error (db->bodies, rc, "Could not update a message body", error);
    }

  return TRUE;
}

/**
 * tern_store_free_bodies:
 * @body_ids: (element-type gint64): bodies no message shows any more
 *
 * Deletes bodies, with their meta rows, in a transaction of their own on
 * the bodies database, after the index let go of them.  A failure leaves
 * them behind: space is lost, not mail.
 *
 * Returns: whether they were deleted.
 */
gboolean
tern_store_free_bodies (TernStoreDb *db,
                        GArray      *body_ids)
{
  sqlite3_stmt *body;
  sqlite3_stmt *meta;

  if (body_ids->len == 0)
    return TRUE;
  if (!tern_store_begin (db->bodies, NULL))
    return FALSE;

  body = tern_store_db_statement (db, db->bodies, "DELETE FROM bodies WHERE id = ?", NULL);
  meta = tern_store_db_statement (db, db->bodies, "DELETE FROM body_meta WHERE id = ?", NULL);
  for (guint i = 0; body != NULL && meta != NULL && i < body_ids->len; i++)
    {
      gint64 id = g_array_index (body_ids, gint64, i);

      sqlite3_bind_int64 (body, 1, id);
      sqlite3_step (body);
      sqlite3_reset (body);
      sqlite3_bind_int64 (meta, 1, id);
      sqlite3_step (meta);
      sqlite3_reset (meta);
    }

  if (body == NULL || meta == NULL || !tern_store_commit (db->bodies, NULL))
    {
      tern_store_rollback (db->bodies);
      return FALSE;
    }
  return TRUE;
}

/**
 * tern_store_body_change_flags:
 * @body_ids: (element-type gint64): the messages
 *
 * Sets @add and clears @remove in the flags the bodies database keeps of
 * each message, for a rebuild of the index; a failure costs only that.
 */
void
tern_store_body_change_flags (TernStoreDb *db,
                              GArray      *body_ids,
                              guint        add,
                              guint        remove)
{
  sqlite3_stmt *stmt;

  if (body_ids->len == 0)
    return;
  stmt = tern_store_db_statement (db, db->bodies,
                                  "UPDATE body_meta SET flags = (flags | ?1) & ~?2 WHERE id = ?3",
                                  NULL);
  if (stmt == NULL || !tern_store_begin (db->bodies, NULL))
    return;

  for (guint i = 0; i < body_ids->len; i++)
    {
      sqlite3_bind_int (stmt, 1, add);
      sqlite3_bind_int (stmt, 2, remove);
      sqlite3_bind_int64 (stmt, 3, g_array_index (body_ids, gint64, i));
      sqlite3_step (stmt);
      sqlite3_reset (stmt);
    }
  if (!tern_store_commit (db->bodies, NULL))
    tern_store_rollback (db->bodies);
}
