/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mime-message.h"
#include "tern-mime-subject.h"
#include "tern-store-private.h"

/*
 * Ingestion: from a stored body to its rows in the index — the message
 * row, its attachments, its full-text entry, its conversation and the
 * addresses it brings for completion.  Runs on the writer thread, inside
 * the caller's transaction.
 */

/* A reply whose references are all unknown joins a conversation with the
 * same subject only when that conversation was active within this time. */
#define SUBJECT_WINDOW (30 * G_TIME_SPAN_DAY / G_TIME_SPAN_SECOND)

#define STEP_DONE(db, stmt, what, error) \
  G_STMT_START { \
    int rc_ = sqlite3_step (stmt); \
    sqlite3_reset (stmt); \
    if (rc_ != SQLITE_DONE) \
      return tern_store_sql_error (db, rc_, what, error); \
  } G_STMT_END

static void
append_address (GString          *text,
                const TernAddress *address)
{
  if (text->len > 0)
    g_string_append (text, ", ");

  if (address->name != NULL && *address->name != '\0')
    {
      g_string_append (text, address->name);
      if (address->address != NULL && *address->address != '\0')
        g_string_append_printf (text, " <%s>", address->address);
    }
  else if (address->address != NULL)
    {
      g_string_append (text, address->address);
    }
}

static char *
format_addresses (GPtrArray *addresses)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    append_address (text, g_ptr_array_index (addresses, i));

  return g_string_free (text, FALSE);
}

static gint64
lookup_conversation (TernStoreDb  *db,
                     const char   *message_id,
                     GError      **error)
{
  sqlite3_stmt *stmt;
  gint64 conversation = 0;
  int rc;

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT conversation_id FROM message_ids WHERE message_id = ?",
                                  error);
  if (stmt == NULL)
    return -1;

  sqlite3_bind_text (stmt, 1, message_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    conversation = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not look up a conversation", error);
      return -1;
    }

  return conversation;
}

static gint64
lookup_conversation_by_subject (TernStoreDb  *db,
                                const char   *subject_key,
                                gint64        date,
                                GError      **error)
{
  sqlite3_stmt *stmt;
  gint64 conversation = 0;
  int rc;

  stmt = tern_store_db_statement (db, db->index,
                                  "SELECT id FROM conversations "
                                  "WHERE subject_key = ? AND last_date >= ? AND first_date <= ? "
                                  "ORDER BY last_date DESC LIMIT 1",
                                  error);
  if (stmt == NULL)
    return -1;

  sqlite3_bind_text (stmt, 1, subject_key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, date - SUBJECT_WINDOW);
  sqlite3_bind_int64 (stmt, 3, date + SUBJECT_WINDOW);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    conversation = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);

  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not look up a conversation", error);
      return -1;
    }

  return conversation;
}

/* The key conversations are found by: the subject without its prefixes,
 * in one case, as mailers change it ("RE: MEETING"). */
static char *
subject_key_of (const char *subject)
{
  g_autofree char *normalized = tern_mime_normalize_subject (subject);

  /* Folding ASCII is lowering it: most subjects need no Unicode tables. */
  for (const char *p = normalized; *p != '\0'; p++)
    {
      if ((guchar) *p >= 0x80)
        return g_utf8_casefold (normalized, -1);
    }

  return g_ascii_strdown (normalized, -1);
}

/* Folds conversation @from into @into: a message arrived that links both. */
static gboolean
merge_conversations (TernStoreDb  *db,
                     gint64        into,
                     gint64        from,
                     GError      **error)
{
  sqlite3_stmt *stmt;

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE messages SET conversation_id = ?1 "
                                  "WHERE conversation_id = ?2",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, into);
  sqlite3_bind_int64 (stmt, 2, from);
  STEP_DONE (db->index, stmt, "Could not merge conversations", error);

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE message_ids SET conversation_id = ?1 "
                                  "WHERE conversation_id = ?2",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, into);
  sqlite3_bind_int64 (stmt, 2, from);
  STEP_DONE (db->index, stmt, "Could not merge conversations", error);

  stmt = tern_store_db_statement (db, db->index,
                                  "UPDATE conversations SET "
                                  "  first_date = min (first_date, "
                                  "    (SELECT first_date FROM conversations WHERE id = ?2)), "
                                  "  last_date = max (last_date, "
                                  "    (SELECT last_date FROM conversations WHERE id = ?2)) "
                                  "WHERE id = ?1",
                                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, into);
  sqlite3_bind_int64 (stmt, 2, from);
  STEP_DONE (db->index, stmt, "Could not merge conversations", error);

  stmt = tern_store_db_statement (db, db->index, "DELETE FROM conversations WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, from);
  STEP_DONE (db->index, stmt, "Could not merge conversations", error);

  return TRUE;
}

/*
 * The conversation of a new message: the one any of its Message-ID,
 * In-Reply-To or References already belongs to (merging them when they
 * differ, as a reply can link two halves that arrived apart); else, for a
 * Re: or Fwd: whose references are unknown, a recent conversation with the
 * same subject; else a new one.  Every ID is then remembered, so that a
 * reply arriving before its parent still finds its siblings.
 */
static gint64
assign_conversation (TernStoreDb      *db,
                     TernMimeMessage  *mime,
                     gint64            date,
                     GError          **error)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  /* The IDs no conversation knew yet: the only ones left to remember. */
  g_autoptr(GPtrArray) unknown = g_ptr_array_new ();
  const char *message_id = tern_mime_message_get_message_id (mime);
  const char *in_reply_to = tern_mime_message_get_in_reply_to (mime);
  const char * const *references = tern_mime_message_get_references (mime);
  const char *subject = tern_mime_message_get_subject (mime);
  g_autofree char *subject_key = NULL;
  gint64 conversation = 0;
  sqlite3_stmt *stmt;

  if (message_id != NULL)
    g_ptr_array_add (ids, (gpointer) message_id);
  if (in_reply_to != NULL)
    g_ptr_array_add (ids, (gpointer) in_reply_to);
  for (guint i = 0; references != NULL && references[i] != NULL; i++)
    {
      /* In-Reply-To is mostly the last reference too: look each ID up once. */
      if (in_reply_to != NULL && strcmp (references[i], in_reply_to) == 0)
        continue;
      if (message_id != NULL && strcmp (references[i], message_id) == 0)
        continue;
      g_ptr_array_add (ids, (gpointer) references[i]);
    }
  if (message_id != NULL && in_reply_to != NULL && strcmp (message_id, in_reply_to) == 0)
    g_ptr_array_remove_index (ids, 1);

  for (guint i = 0; i < ids->len; i++)
    {
      gint64 found = lookup_conversation (db, g_ptr_array_index (ids, i), error);

      if (found < 0)
        return -1;
      if (found == 0)
        g_ptr_array_add (unknown, g_ptr_array_index (ids, i));
      if (found == 0 || found == conversation)
        continue;

      if (conversation == 0)
        {
          conversation = found;
        }
      else
        {
          gint64 into = MIN (conversation, found);

          if (!merge_conversations (db, into, MAX (conversation, found), error))
            return -1;
          conversation = into;
        }
    }

  /* The subject matters only to a message no ID placed. */
  if (conversation == 0)
    subject_key = subject_key_of (subject);

  if (conversation == 0 && *subject_key != '\0' &&
      tern_mime_subject_is_reply_or_forward (subject))
    {
      conversation = lookup_conversation_by_subject (db, subject_key, date, error);
      if (conversation < 0)
        return -1;
    }

  if (conversation == 0)
    {
      stmt = tern_store_db_statement (db, db->index,
                                      "INSERT INTO conversations (subject_key, first_date, "
                                      "last_date) VALUES (?, ?, ?)",
                                      error);
      if (stmt == NULL)
        return -1;
      sqlite3_bind_text (stmt, 1, subject_key, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, date);
      sqlite3_bind_int64 (stmt, 3, date);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          sqlite3_reset (stmt);
          tern_store_sql_error (db->index, sqlite3_errcode (db->index),
                                "Could not start a conversation", error);
          return -1;
        }
      sqlite3_reset (stmt);
      conversation = sqlite3_last_insert_rowid (db->index);
    }
  else
    {
      stmt = tern_store_db_statement (db, db->index,
                                      "UPDATE conversations SET first_date = min (first_date, ?2), "
                                      "last_date = max (last_date, ?2) WHERE id = ?1",
                                      error);
      if (stmt == NULL)
        return -1;
      sqlite3_bind_int64 (stmt, 1, conversation);
      sqlite3_bind_int64 (stmt, 2, date);
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          sqlite3_reset (stmt);
          tern_store_sql_error (db->index, sqlite3_errcode (db->index),
                                "Could not update a conversation", error);
          return -1;
        }
      sqlite3_reset (stmt);
    }

  /* An ID found in a conversation is in this one now: it was this one,
   * or one merged into it, whose IDs the merge moved. */
  if (unknown->len == 0)
    return conversation;

  stmt = tern_store_db_statement (db, db->index,
                                  "INSERT INTO message_ids (message_id, conversation_id) "
                                  "VALUES (?, ?) ON CONFLICT (message_id) DO UPDATE "
                                  "SET conversation_id = excluded.conversation_id",
                                  error);
  if (stmt == NULL)
    return -1;
  for (guint i = 0; i < unknown->len; i++)
    {
      int rc;

      sqlite3_bind_text (stmt, 1, g_ptr_array_index (unknown, i), -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, conversation);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          tern_store_sql_error (db->index, rc, "Could not remember a message ID", error);
          return -1;
        }
    }

  return conversation;
}

/* One address's occurrences in a batch, summed up so that writing them at
 * once leaves its row as writing them one by one would have: the count
 * grows by @count, the last use becomes the latest, and the name becomes
 * the last non-empty one given at or after every earlier use — if that
 * use is also no older than the row's own last use. */
typedef struct
{
  guint count;
  gint64 last_used;
  char *name;
  gint64 name_date;
} AddressUses;

struct _TernAddressTally
{
  GHashTable *uses;             /* lower-case address → AddressUses */
};

static void
address_uses_free (AddressUses *uses)
{
  g_free (uses->name);
  g_free (uses);
}

/**
 * tern_address_tally_new:
 *
 * Returns: (transfer full): an empty tally, for the @addresses of
 *   tern_store_ingest_header().
 */
TernAddressTally *
tern_address_tally_new (void)
{
  TernAddressTally *tally = g_new0 (TernAddressTally, 1);

  tally->uses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) address_uses_free);
  return tally;
}

void
tern_address_tally_free (TernAddressTally *tally)
{
  if (tally == NULL)
    return;
  g_hash_table_unref (tally->uses);
  g_free (tally);
}

static void
tally_add (TernAddressTally *tally,
           const char       *address,
           const char       *name,
           gint64            date)
{
  /* As SQLite's lower(), which folds ASCII letters only. */
  g_autofree char *key = g_ascii_strdown (address, -1);
  AddressUses *uses = g_hash_table_lookup (tally->uses, key);

  if (uses == NULL)
    {
      uses = g_new0 (AddressUses, 1);
      uses->last_used = G_MININT64;
      g_hash_table_insert (tally->uses, g_steal_pointer (&key), uses);
    }

  if (*name != '\0' && date >= uses->last_used)
    {
      g_free (uses->name);
      uses->name = g_strdup (name);
      uses->name_date = date;
    }
  uses->last_used = MAX (uses->last_used, date);
  uses->count++;
}

/**
 * tern_store_write_address_tally:
 *
 * Writes what @tally gathered into the addresses kept for completion, in
 * the caller's transaction, and empties it.
 */
gboolean
tern_store_write_address_tally (TernStoreDb       *db,
                                TernAddressTally  *tally,
                                GError           **error)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;
  sqlite3_stmt *stmt;

  if (g_hash_table_size (tally->uses) == 0)
    return TRUE;

  stmt = tern_store_db_statement (db, db->index,
                                  "INSERT INTO addresses (address, name, use_count, last_used) "
                                  "VALUES (?1, ?2, ?3, ?4) "
                                  "ON CONFLICT (address) DO UPDATE SET "
                                  "  use_count = use_count + excluded.use_count, "
                                  "  name = CASE WHEN excluded.name != '' AND ?5 >= last_used "
                                  "              THEN excluded.name ELSE name END, "
                                  "  last_used = max (last_used, excluded.last_used)",
                                  error);
  if (stmt == NULL)
    return FALSE;

  g_hash_table_iter_init (&iter, tally->uses);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const AddressUses *uses = value;
      int rc;

      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, uses->name != NULL ? uses->name : "", -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, uses->count);
      sqlite3_bind_int64 (stmt, 4, uses->last_used);
      sqlite3_bind_int64 (stmt, 5, uses->name_date);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        return tern_store_sql_error (db->index, rc, "Could not collect an address", error);
    }

  g_hash_table_remove_all (tally->uses);
  return TRUE;
}

static gboolean
collect_addresses (TernStoreDb       *db,
                   TernAddressTally  *tally,
                   GPtrArray         *addresses,
                   gint64             date,
                   GError           **error)
{
  sqlite3_stmt *stmt;

  if (addresses == NULL || addresses->len == 0)
    return TRUE;

  if (tally != NULL)
    {
      for (guint i = 0; i < addresses->len; i++)
        {
          const TernAddress *address = g_ptr_array_index (addresses, i);

          if (address->address != NULL && strchr (address->address, '@') != NULL)
            tally_add (tally, address->address, address->name != NULL ? address->name : "",
                       date);
        }
      return TRUE;
    }

  stmt = tern_store_db_statement (db, db->index,
                                  "INSERT INTO addresses (address, name, use_count, last_used) "
                                  "VALUES (lower (?1), ?2, 1, ?3) "
                                  "ON CONFLICT (address) DO UPDATE SET "
                                  "  use_count = use_count + 1, "
                                  "  name = CASE WHEN excluded.name != '' AND excluded.last_used >= last_used "
                                  "              THEN excluded.name ELSE name END, "
                                  "  last_used = max (last_used, excluded.last_used)",
                                  error);
  if (stmt == NULL)
    return FALSE;

  for (guint i = 0; i < addresses->len; i++)
    {
      const TernAddress *address = g_ptr_array_index (addresses, i);
      int rc;

      if (address->address == NULL || strchr (address->address, '@') == NULL)
        continue;

      sqlite3_bind_text (stmt, 1, address->address, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, address->name != NULL ? address->name : "", -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 3, date);
      rc = sqlite3_step (stmt);
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        return tern_store_sql_error (db->index, rc, "Could not collect an address", error);
    }

  return TRUE;
}

static gboolean
fts_write (TernStoreDb  *db,
           gint64        id,
           TernFtsText  *fts,
           gboolean      remove,
           GError      **error)
{
  sqlite3_stmt *stmt;

  if (remove)
    stmt = tern_store_db_statement (db, db->index,
                                    "INSERT INTO message_fts (message_fts, rowid, subject, sender, "
                                    "recipients, body, attachments) "
                                    "VALUES ('delete', ?, ?, ?, ?, ?, ?)",
                                    error);
  else
    stmt = tern_store_db_statement (db, db->index,
                                    "INSERT INTO message_fts (rowid, subject, sender, recipients, "
                                    "body, attachments) VALUES (?, ?, ?, ?, ?, ?)",
                                    error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, id);
  for (int i = 0; i < TERN_FTS_N_COLUMNS; i++)
    sqlite3_bind_text (stmt, 2 + i, fts->columns[i], -1, SQLITE_STATIC);
  STEP_DONE (db->index, stmt, "Could not update the search index", error);

  return TRUE;
}

/**
 * tern_store_unindex:
 * @raw: (nullable): the message's body, when it could be read
 *
 * Takes a message's words out of the search index, in the caller's
 * transaction.  Without its body they stay behind, matching no message:
 * ids are never given twice.
 */
gboolean
tern_store_unindex (TernStoreDb  *db,
                    gint64        id,
                    GBytes       *raw,
                    GError      **error)
{
  g_autoptr(TernMimeMessage) mime = NULL;
  g_autoptr(TernFtsText) fts = NULL;

  if (raw == NULL)
    return TRUE;

  mime = tern_mime_message_parse (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  fts = tern_store_fts_text_new (mime);

  return fts_write (db, id, fts, TRUE, error);
}

/* tern_store_ingest(), with the search words made already when
 * @prepared_fts is given. */
static gboolean
ingest (TernStore        *self,
        TernStoreDb      *db,
        TernFolder       *folder,
        gint64            body_id,
        GBytes           *raw,
        gsize             size,
        TernMimeMessage  *prepared_mime,
        TernFtsText      *prepared_fts,
        guint             flags,
        gint64            uid,
        gint64            internal_date,
        const char       *keywords,
        const TernHeaderMessage *header_only,
        TernAddressTally *tally,
        GError          **error)
{
  g_autoptr(TernMimeMessage) mime = NULL;
  g_autofree char *from_list = NULL;
  g_autofree char *to_list = NULL;
  g_autofree char *cc_list = NULL;
  g_autofree char *bcc_list = NULL;
  g_autofree char *reply_to = NULL;
  g_autofree char *delivered_to = NULL;
  g_autofree char *refs = NULL;
  g_autoptr(TernFtsText) own_fts = NULL;
  const TernAddress *from = NULL;
  const char * const *references;
  GPtrArray *from_addresses;
  GPtrArray *attachments;
  sqlite3_stmt *stmt;
  gint64 conversation;
  gint64 date;

  if (prepared_mime != NULL)
    mime = tern_mime_message_ref (prepared_mime);
  else
    mime = tern_mime_message_parse (g_bytes_get_data (raw, NULL), size);

  date = tern_mime_message_get_date (mime);
  if (internal_date <= 0)
    internal_date = date > 0 ? date : g_get_real_time () / G_USEC_PER_SEC;
  /* Mail sorts by its Date header, as people expect; a missing or absurd
   * one (more than a day in the future) gives way to the arrival time. */
  if (date <= 0 || date > internal_date + 86400)
    date = internal_date;

  conversation = assign_conversation (db, mime, date, error);
  if (conversation < 0)
    return FALSE;

  from_addresses = tern_mime_message_get_from (mime);
  if (from_addresses != NULL && from_addresses->len > 0)
    from = g_ptr_array_index (from_addresses, 0);

  to_list = format_addresses (tern_mime_message_get_to (mime));
  cc_list = format_addresses (tern_mime_message_get_cc (mime));
  bcc_list = format_addresses (tern_mime_message_get_bcc (mime));
  reply_to = format_addresses (tern_mime_message_get_reply_to (mime));
  if (tern_mime_message_get_delivered_to (mime) != NULL)
    delivered_to = g_strjoinv (", ", (char **) tern_mime_message_get_delivered_to (mime));
  else
    delivered_to = g_strdup ("");
  references = tern_mime_message_get_references (mime);
  if (references != NULL && references[0] != NULL)
    refs = g_strjoinv (" ", (char **) references);

  /* A message known by its header section only has no body yet: its size,
   * attachment flag and MODSEQ come from the server, in the same row
   * written once. */
  if (header_only != NULL)
    stmt = tern_store_db_statement (db, db->index,
                                    "INSERT INTO messages (id, folder_id, folder_role, uid, flags, "
                                    "keywords, date, internal_date, size, subject, from_name, "
                                    "from_address, to_list, cc_list, bcc_list, reply_to, "
                                    "delivered_to, message_id, in_reply_to, refs, conversation_id, "
                                    "preview, has_attachments, body_state, body_id, problems, "
                                    "modseq) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, '', ?23, ?24, NULL, "
                                    "?25, nullif (?26, 0))",
                                    error);
  else
    stmt = tern_store_db_statement (db, db->index,
                                    "INSERT INTO messages (id, folder_id, folder_role, uid, flags, "
                                    "keywords, date, internal_date, size, subject, from_name, "
                                    "from_address, to_list, cc_list, bcc_list, reply_to, "
                                    "delivered_to, message_id, in_reply_to, refs, conversation_id, "
                                    "preview, has_attachments, body_state, body_id, problems) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?1, ?25)",
                                    error);
  if (stmt == NULL)
    return FALSE;

  sqlite3_bind_int64 (stmt, 1, body_id);
  sqlite3_bind_int64 (stmt, 2, tern_folder_get_id (folder));
  sqlite3_bind_int (stmt, 3, tern_folder_get_role (folder));
  if (uid > 0)
    sqlite3_bind_int64 (stmt, 4, uid);
  sqlite3_bind_int (stmt, 5, flags);
  if (keywords != NULL)
    sqlite3_bind_text (stmt, 6, keywords, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 7, date);
  sqlite3_bind_int64 (stmt, 8, internal_date);
  sqlite3_bind_int64 (stmt, 9, header_only != NULL ? header_only->size : (gint64) size);
  sqlite3_bind_text (stmt, 10, tern_mime_message_get_subject (mime), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 11, from != NULL && from->name != NULL ? from->name : "", -1,
                     SQLITE_STATIC);
  sqlite3_bind_text (stmt, 12, from != NULL && from->address != NULL ? from->address : "", -1,
                     SQLITE_STATIC);
  sqlite3_bind_text (stmt, 13, to_list, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 14, cc_list, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 15, bcc_list, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 16, reply_to, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 17, delivered_to, -1, SQLITE_STATIC);
  if (tern_mime_message_get_message_id (mime) != NULL)
    sqlite3_bind_text (stmt, 18, tern_mime_message_get_message_id (mime), -1, SQLITE_STATIC);
  if (tern_mime_message_get_in_reply_to (mime) != NULL)
    sqlite3_bind_text (stmt, 19, tern_mime_message_get_in_reply_to (mime), -1, SQLITE_STATIC);
  if (refs != NULL)
    sqlite3_bind_text (stmt, 20, refs, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 21, conversation);
  sqlite3_bind_int (stmt, 25, tern_mime_message_get_problems (mime));
  if (header_only != NULL)
    {
      sqlite3_bind_int (stmt, 23, header_only->has_attachments);
      sqlite3_bind_int (stmt, 24, TERN_BODY_STATE_NONE);
      sqlite3_bind_int64 (stmt, 26, header_only->modseq);
    }
  else
    {
      sqlite3_bind_text (stmt, 22, tern_mime_message_get_preview (mime), -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 23, tern_mime_message_has_attachments (mime));
      sqlite3_bind_int (stmt, 24, TERN_BODY_STATE_COMPLETE);
    }
  STEP_DONE (db->index, stmt, "Could not add a message to the index", error);

  attachments = header_only == NULL ? tern_mime_message_get_attachments (mime) : NULL;
  if (attachments != NULL && attachments->len > 0)
    {
      stmt = tern_store_db_statement (db, db->index,
                                      "INSERT INTO attachments (message_id, filename, mime_type, "
                                      "size, part_path, content_id, is_inline) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                      error);
      if (stmt == NULL)
        return FALSE;

      for (guint i = 0; i < attachments->len; i++)
        {
          const TernAttachmentInfo *attachment = g_ptr_array_index (attachments, i);
          const char *filename = attachment->filename != NULL ? attachment->filename : "";

          sqlite3_bind_int64 (stmt, 1, body_id);
          sqlite3_bind_text (stmt, 2, filename, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 3, attachment->mime_type != NULL
                                      ? attachment->mime_type : "application/octet-stream",
                             -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 4, attachment->size);
          sqlite3_bind_text (stmt, 5, attachment->part_path != NULL ? attachment->part_path : "",
                             -1, SQLITE_STATIC);
          if (attachment->content_id != NULL)
            sqlite3_bind_text (stmt, 6, attachment->content_id, -1, SQLITE_STATIC);
          else
            sqlite3_bind_null (stmt, 6);
          sqlite3_bind_int (stmt, 7, attachment->is_inline);
          STEP_DONE (db->index, stmt, "Could not add an attachment to the index", error);
        }
    }

  if (prepared_fts == NULL)
    prepared_fts = own_fts = tern_store_fts_text_new (mime);
  if (!fts_write (db, body_id, prepared_fts, FALSE, error))
    return FALSE;

  /* Whom the user writes to matters most for completion; who writes to
   * the user comes next. */
  if (tern_folder_get_role (folder) == TERN_FOLDER_ROLE_SENT)
    {
      if (!collect_addresses (db, tally, tern_mime_message_get_to (mime), date, error) ||
          !collect_addresses (db, tally, tern_mime_message_get_cc (mime), date, error))
        return FALSE;
    }
  else if (!collect_addresses (db, tally, from_addresses, date, error))
    {
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_store_ingest:
 * @folder: the folder the message goes into
 * @body_id: the id of its stored body, which becomes the message's id
 * @raw: the raw message
 * @prepared_mime: (nullable): @raw parsed already, or %NULL
 *
 * Parses @raw and writes its rows, in the caller's transaction on the
 * writer connection.  Malformed mail is indexed as well as it can be;
 * only a database failure is an error.
 */
gboolean
tern_store_ingest (TernStore       *self,
                   TernStoreDb     *db,
                   TernFolder      *folder,
                   gint64           body_id,
                   GBytes          *raw,
                   TernMimeMessage *prepared_mime,
                   guint            flags,
                   gint64           uid,
                   gint64           internal_date,
                   const char      *keywords,
                   GError         **error)
{
  return ingest (self, db, folder, body_id, raw, g_bytes_get_size (raw), prepared_mime, NULL,
                 flags, uid, internal_date, keywords, NULL, NULL, error);
}

/**
 * tern_store_ingest_new_message:
 * @body_id: the id of its stored body, which becomes the message's id
 *
 * As tern_store_ingest(), with what tern_new_message_prepare() made of
 * @message.
 */
gboolean
tern_store_ingest_new_message (TernStore       *self,
                               TernStoreDb     *db,
                               TernFolder      *folder,
                               gint64           body_id,
                               TernNewMessage  *message,
                               GError         **error)
{
  TernPreparedMessage *prepared = tern_new_message_get_prepared (message);

  /* The raw bytes may be released already (tern_new_message_release_body()). */
  return ingest (self, db, folder, body_id, message->raw, prepared->raw_size, prepared->mime,
                 prepared->fts, message->flags, message->uid, message->internal_date,
                 message->keywords, NULL, NULL, error);
}

/**
 * tern_store_ingest_header:
 * @id: the id the message gets
 * @message: a message known by its header section, parsed already by
 *   tern_header_message_prepare()
 *
 * As tern_store_ingest(), for a message whose body is not here yet: its
 * row says so (%TERN_BODY_STATE_NONE, no body id, no preview), with the
 * size, attachment flag and MODSEQ the server gave.  With @addresses,
 * the addresses it brings for completion are gathered there, for
 * tern_store_write_address_tally() in the same transaction.
 */
gboolean
tern_store_ingest_header (TernStore               *self,
                          TernStoreDb             *db,
                          TernFolder              *folder,
                          gint64                   id,
                          const TernHeaderMessage *message,
                          TernAddressTally        *addresses,
                          GError                 **error)
{
  g_return_val_if_fail (message->parsed != NULL && message->fts != NULL, FALSE);

  return ingest (self, db, folder, id, message->header, g_bytes_get_size (message->header),
                 message->parsed, message->fts, message->flags, message->uid,
                 message->internal_date, message->keywords, message, addresses, error);
}
