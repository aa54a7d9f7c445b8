/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "tern-search-query.h"

/*
 * Each test runs the SQL a query makes against an in-memory store with the
 * store's schema and a few messages, and checks which messages it finds.
 * Every search runs twice, once starting from `messages` with
 * tern_search_query_build_sql() and once starting from the full-text index
 * with tern_search_query_get_fts_match() and
 * tern_search_query_build_filter_sql(); both must find the same messages.
 */

#define ALL "1,2,3,4,5,6"

typedef struct {
  gint64      id;
  gint64      folder_id;
  const char *date; /* UTC */
  guint       flags;
  const char *subject;
  const char *from_name;
  const char *from_address;
  const char *recipients;
  const char *body;
  const char *attachments;
} TestMessage;

static const TestMessage test_messages[] = {
  {
    1, 1, "2024-01-15T09:00:00Z", TERN_MESSAGE_FLAG_SEEN,
    "Quarterly report", "Alice Smith", "alice@example.org",
    "Bob Jones bob@example.com",
    "Please find the quarterly report attached. Can we meet on Monday?",
    "report-q1.pdf",
  },
  {
    2, 1, "2024-02-01T12:00:00Z", 0,
    "Café au lait demain ?", "Élodie Dupont", "elodie@exemple.fr",
    "Alice Smith alice@example.org Zoë Martin zoe@example.net",
    "On se retrouve au café près de la gare. À demain !",
    NULL,
  },
  {
    3, 1, "2024-03-09T20:00:00Z", TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_FLAGGED,
    "Grüße aus München", "Jürgen Müller", "juergen@beispiel.de",
    "bob@example.com",
    "Viele Grüße und bis bald. Das Meeting ist verschoben.",
    "Straßenkarte.png",
  },
  {
    4, 1, "2024-03-10T08:00:00Z", TERN_MESSAGE_FLAG_FLAGGED,
    "Meeting notes: NEAR term AND OR NOT", "Bob Jones", "bob@example.com",
    "Alice Smith alice@example.org",
    "Notes with \"quotes\", stars * and carets ^; x'; DROP TABLE messages; -- and foo:bar",
    NULL,
  },
  {
    5, 1, "2023-12-31T23:30:00Z", TERN_MESSAGE_FLAG_SEEN,
    "Lunch?", "Carol White", "carol@example.org",
    "Alice Smith alice@example.org Dave dave@example.com",
    "Anyone up for lunch tomorrow?",
    NULL,
  },
  {
    6, 2, "2024-04-01T00:00:00Z", TERN_MESSAGE_FLAG_DELETED,
    "Invoice 2024-001", "Shop Billing", "billing@shop.example",
    "Bob Jones bob@example.com",
    "Your invoice is attached.",
    "invoice.pdf",
  },
};

static const char schema[] =
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY, folder_id INTEGER NOT NULL, uid INTEGER,"
  "  flags INTEGER NOT NULL DEFAULT 0, date INTEGER NOT NULL,"
  "  subject TEXT, from_name TEXT, from_address TEXT,"
  "  has_attachments INTEGER NOT NULL DEFAULT 0,"
  "  conversation_id INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX messages_date ON messages (date);"
  /* As the store makes it: no text kept, no word positions. */
  "CREATE VIRTUAL TABLE message_fts USING fts5("
  "  subject, sender, recipients, body, attachments,"
  "  tokenize = 'unicode61 remove_diacritics 2', content = '', detail = column);";

typedef struct {
  sqlite3   *db;
  GTimeZone *utc;
} Fixture;

static void
exec_or_fail (sqlite3    *db,
              const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static void
insert_message (sqlite3           *db,
                const TestMessage *message)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_iso8601 (message->date, NULL);
  g_autofree char *sender = g_strdup_printf ("%s %s", message->from_name, message->from_address);
  sqlite3_stmt *stmt = NULL;

  g_assert_nonnull (date);

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO messages (id, folder_id, uid, flags, date,"
                                       " subject, from_name, from_address, has_attachments)"
                                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, message->id);
  sqlite3_bind_int64 (stmt, 2, message->folder_id);
  sqlite3_bind_int64 (stmt, 3, message->id);
  sqlite3_bind_int (stmt, 4, message->flags);
  sqlite3_bind_int64 (stmt, 5, g_date_time_to_unix (date));
  sqlite3_bind_text (stmt, 6, message->subject, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 7, message->from_name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 8, message->from_address, -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 9, message->attachments != NULL);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);

  g_assert_cmpint (sqlite3_prepare_v2 (db,
                                       "INSERT INTO message_fts (rowid, subject, sender,"
                                       " recipients, body, attachments)"
                                       " VALUES (?, ?, ?, ?, ?, ?)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, message->id);
  sqlite3_bind_text (stmt, 2, message->subject, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, sender, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, message->recipients, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 5, message->body, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 6, message->attachments, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_assert_cmpint (sqlite3_open (":memory:", &fixture->db), ==, SQLITE_OK);
  exec_or_fail (fixture->db, schema);
  for (guint i = 0; i < G_N_ELEMENTS (test_messages); i++)
    insert_message (fixture->db, &test_messages[i]);

  fixture->utc = g_time_zone_new_utc ();
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_clear_pointer (&fixture->utc, g_time_zone_unref);
  sqlite3_close (fixture->db);
}

static GPtrArray *
new_params (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
}

/* Runs @sql and returns the ids it selects, joined by commas; fails the test
 * on any SQLite error. */
static char *
select_ids (sqlite3    *db,
            const char *sql,
            const char *fts_match,
            GPtrArray  *params,
            const char *query_text)
{
  g_autoptr(GString) ids = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  int first_index = 1;
  int rc;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("“%s”: preparing %s: %s", query_text, sql, sqlite3_errmsg (db));

  if (fts_match != NULL)
    g_assert_cmpint (sqlite3_bind_text (stmt, first_index++, fts_match, -1, SQLITE_STATIC),
                     ==, SQLITE_OK);
  g_assert_cmpint (tern_search_query_bind (params, stmt, first_index), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_bind_parameter_count (stmt), ==, first_index - 1 + (int) params->len);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (ids->len > 0)
        g_string_append_c (ids, ',');
      g_string_append_printf (ids, "%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (stmt, 0));
    }

  if (rc != SQLITE_DONE)
    g_error ("“%s”: running %s: %s", query_text, sql, sqlite3_errmsg (db));

  sqlite3_finalize (stmt);

  return g_string_free (g_steal_pointer (&ids), FALSE);
}

static char *
search_query (Fixture         *fixture,
              TernSearchQuery *query)
{
  const char *text = tern_search_query_get_text (query);
  const char *fts_match = tern_search_query_get_fts_match (query);
  g_autoptr(GString) sql = g_string_new ("SELECT m.id FROM messages AS m WHERE ");
  g_autoptr(GPtrArray) params = new_params ();
  g_autofree char *found = NULL;

  tern_search_query_build_sql (query, sql, params);
  g_string_append (sql, " ORDER BY m.id");
  found = select_ids (fixture->db, sql->str, NULL, params, text);

  if (fts_match != NULL)
    {
      g_autoptr(GString) fts_sql = NULL;
      g_autoptr(GPtrArray) fts_params = new_params ();
      g_autofree char *fts_found = NULL;

      fts_sql = g_string_new ("SELECT m.id FROM message_fts"
                              " JOIN messages AS m ON m.id = message_fts.rowid"
                              " WHERE message_fts MATCH ? AND ");
      tern_search_query_build_filter_sql (query, fts_sql, fts_params);
      g_string_append (fts_sql, " ORDER BY m.id");
      fts_found = select_ids (fixture->db, fts_sql->str, fts_match, fts_params, text);

      if (!g_str_equal (found, fts_found))
        g_error ("“%s”: the plan from messages found [%s], the plan from message_fts [%s]",
                 text, found, fts_found);
    }

  return g_steal_pointer (&found);
}

static char *
search_in_time_zone (Fixture    *fixture,
                     const char *text,
                     GTimeZone  *time_zone)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSearchQuery) query = tern_search_query_parse_full (text, time_zone, &error);

  g_assert_no_error (error);
  g_assert_nonnull (query);

  return search_query (fixture, query);
}

static void
assert_finds_at (Fixture    *fixture,
                 GTimeZone  *time_zone,
                 const char *text,
                 const char *expected,
                 const char *file,
                 int         line)
{
  g_autofree char *found = search_in_time_zone (fixture, text, time_zone);

  if (!g_str_equal (found, expected))
    {
      g_autofree char *message = g_strdup_printf ("searching “%s” found [%s], expected [%s]",
                                                  text, found, expected);

      g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, message);
    }
}

#define assert_finds(fixture, text, expected) \
  assert_finds_at ((fixture), (fixture)->utc, (text), (expected), __FILE__, __LINE__)
#define assert_finds_in_zone(fixture, zone, text, expected) \
  assert_finds_at ((fixture), (zone), (text), (expected), __FILE__, __LINE__)

static void
test_word_matches_as_prefix (Fixture       *fixture,
                             gconstpointer  user_data)
{
  assert_finds (fixture, "meet", "1,3,4");
  assert_finds (fixture, "report", "1");
  assert_finds (fixture, "pdf", "1,6");
  assert_finds (fixture, "2024", "6");
}

static void
test_word_ignores_case (Fixture       *fixture,
                        gconstpointer  user_data)
{
  assert_finds (fixture, "MEETING", "3,4");
  assert_finds (fixture, "Meet", "1,3,4");
  assert_finds (fixture, "LUNCH", "5");
}

static void
test_words_must_all_match (Fixture       *fixture,
                           gconstpointer  user_data)
{
  assert_finds (fixture, "quarterly report", "1");
  assert_finds (fixture, "meeting notes", "4");
  assert_finds (fixture, "meeting lunch", "");
  assert_finds (fixture, "meeting AND notes", "4");
}

static void
test_word_ignores_diacritics (Fixture       *fixture,
                              gconstpointer  user_data)
{
  assert_finds (fixture, "cafe", "2");
  assert_finds (fixture, "café", "2");
  assert_finds (fixture, "CAFÉ", "2");
  assert_finds (fixture, "muller", "3");
  assert_finds (fixture, "Müller", "3");
  assert_finds (fixture, "MÜNCHEN", "3");
  assert_finds (fixture, "elodie", "2");
  assert_finds (fixture, "Élodie", "2");
  assert_finds (fixture, "zoe", "2");
  assert_finds (fixture, "grü", "3");
  assert_finds (fixture, "pres", "2");
}

static void
test_word_matches_attachment_names (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  assert_finds (fixture, "straßenkarte", "3");
  assert_finds (fixture, "png", "3");
  assert_finds (fixture, "q1", "1");
  assert_finds (fixture, "invoice.pdf", "6");
}

static void
test_quoted_words_match_whole_words (Fixture       *fixture,
                                     gconstpointer  user_data)
{
  /* The index keeps no positions: quoted words must all be there, whole,
   * in any order. */
  assert_finds (fixture, "\"quarterly report\"", "1");
  assert_finds (fixture, "\"report quarterly\"", "1");
  assert_finds (fixture, "\"meet\"", "1");
  assert_finds (fixture, "\"invoice 2024\"", "6");
  assert_finds (fixture, "\"Grüße aus\"", "3");
}

static void
test_open_phrase_matches_as_prefix (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  assert_finds (fixture, "\"quarterly rep", "1");
  assert_finds (fixture, "\"meet", "1,3,4");
  assert_finds (fixture, "quarterly\"report", "1");
}

static void
test_from_matches_sender_only (Fixture       *fixture,
                               gconstpointer  user_data)
{
  assert_finds (fixture, "from:alice", "1");
  assert_finds (fixture, "From:Alice", "1");
  assert_finds (fixture, "from:bob", "4");
  assert_finds (fixture, "from:jurgen", "3");
  assert_finds (fixture, "from:\"Jürgen Müller\"", "3");
  assert_finds (fixture, "from:\"Alice Smith\"", "1");
  assert_finds (fixture, "from:\"Alice Smit\"", "");
}

static void
test_from_matches_address (Fixture       *fixture,
                           gconstpointer  user_data)
{
  assert_finds (fixture, "from:alice@example.org", "1");
  assert_finds (fixture, "from:alice@exa", "1");
  assert_finds (fixture, "from:example.org", "1,5");
  assert_finds (fixture, "from:bob@example.org", "");
  assert_finds (fixture, "alice@example.org", "1,2,4,5");
}

static void
test_to_matches_to_cc_and_bcc (Fixture       *fixture,
                               gconstpointer  user_data)
{
  assert_finds (fixture, "to:alice", "2,4,5");
  assert_finds (fixture, "to:zoe", "2");
  assert_finds (fixture, "cc:zoe", "2");
  assert_finds (fixture, "to:dave", "5");
  assert_finds (fixture, "bcc:dave", "5");
  assert_finds (fixture, "to:bob@example.com", "1,3,6");
}

static void
test_subject_matches_subject_only (Fixture       *fixture,
                                   gconstpointer  user_data)
{
  assert_finds (fixture, "subject:meeting", "4");
  assert_finds (fixture, "subject:report", "1");
  assert_finds (fixture, "subject:\"au lait\"", "2");
  assert_finds (fixture, "SUBJECT:grüße", "3");
}

static void
test_has_attachment (Fixture       *fixture,
                     gconstpointer  user_data)
{
  assert_finds (fixture, "has:attachment", "1,3,6");
  assert_finds (fixture, "has:attachments", "1,3,6");
  assert_finds (fixture, "HAS:Attachment", "1,3,6");
  assert_finds (fixture, "has:attachment report", "1");
}

static void
test_is_flags (Fixture       *fixture,
               gconstpointer  user_data)
{
  /* Message 6 is deleted without having been seen: it is not unread, as the
   * unread counts of the folders say. */
  assert_finds (fixture, "is:unread", "2,4");
  assert_finds (fixture, "is:read", "1,3,5,6");
  assert_finds (fixture, "is:flagged", "3,4");
  assert_finds (fixture, "is:starred", "3,4");
  assert_finds (fixture, "IS:UNREAD is:flagged", "4");
}

static void
test_before_is_before_the_day (Fixture       *fixture,
                               gconstpointer  user_data)
{
  assert_finds (fixture, "before:2024-01-01", "5");
  assert_finds (fixture, "before:2024-03-10", "1,2,3,5");
  assert_finds (fixture, "before:2024-3-10", "1,2,3,5");
  assert_finds (fixture, "before:2024/03/10", "1,2,3,5");
  assert_finds (fixture, "before:\"2024-03-10\"", "1,2,3,5");
  /* Message 6 was sent at midnight UTC, as the day began. */
  assert_finds (fixture, "before:2024-04-01", "1,2,3,4,5");
}

static void
test_after_includes_the_day (Fixture       *fixture,
                             gconstpointer  user_data)
{
  assert_finds (fixture, "after:2024-03-10", "4,6");
  assert_finds (fixture, "after:2024-01-15", "1,2,3,4,6");
  assert_finds (fixture, "after:2024/01/01", "1,2,3,4,6");
  assert_finds (fixture, "after:2024-02-01 before:2024-03-10", "2,3");
  assert_finds (fixture, "after:2024-03-10 before:2024-03-10", "");
  /* Message 6 was sent at midnight UTC, as the day began. */
  assert_finds (fixture, "after:2024-04-01", "6");
}

static void
test_dates_follow_the_time_zone (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autoptr(GTimeZone) plus_five = g_time_zone_new_offset (5 * 3600);

  /* 2024-03-09 20:00 UTC is already the 10th at UTC+5. */
  assert_finds_in_zone (fixture, plus_five, "before:2024-03-10", "1,2,5");
  /* 2023-12-31 23:30 UTC is already the new year at UTC+5. */
  assert_finds_in_zone (fixture, plus_five, "after:2024-01-01", ALL);
  assert_finds (fixture, "after:2024-01-01", "1,2,3,4,6");
}

static void
test_dates_default_to_local_time (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSearchQuery) query = tern_search_query_parse ("before:2024-03-10", &error);
  g_autoptr(GString) where = g_string_new (NULL);
  g_autoptr(GPtrArray) params = new_params ();

  /* main() set the local time zone to UTC+5:30; the day began at
   * 2024-03-09 18:30 UTC. */
  g_assert_no_error (error);
  g_assert_true (tern_search_query_build_sql (query, where, params));
  g_assert_cmpstr (where->str, ==, "((m.date < ?))");
  g_assert_cmpuint (params->len, ==, 1);
  g_assert_cmpint (g_variant_get_int64 (params->pdata[0]), ==, 1710009000);
}

static void
test_minus_leaves_out (Fixture       *fixture,
                       gconstpointer  user_data)
{
  assert_finds (fixture, "-from:bob", "1,2,3,5,6");
  assert_finds (fixture, "-is:unread", "1,3,5,6");
  assert_finds (fixture, "-is:flagged", "1,2,5,6");
  assert_finds (fixture, "-has:attachment", "2,4,5");
  assert_finds (fixture, "-before:2024-03-10", "4,6");
  assert_finds (fixture, "-meeting", "1,2,5,6");
  assert_finds (fixture, "-meeting -lunch", "1,2,6");
  assert_finds (fixture, "meeting -subject:meeting", "3");
  assert_finds (fixture, "pdf -invoice", "1");
  assert_finds (fixture, "-\"quarterly report\"", "2,3,4,5,6");
  assert_finds (fixture, "--meeting", "1,2,5,6");
}

static void
test_not_leaves_out (Fixture       *fixture,
                     gconstpointer  user_data)
{
  assert_finds (fixture, "NOT from:bob", "1,2,3,5,6");
  assert_finds (fixture, "meeting NOT notes", "3");
  assert_finds (fixture, "meeting NOT", "3,4");
  assert_finds (fixture, "meeting NOT !!! notes", "4");
  assert_finds (fixture, "cafe OR !!! lunch", "");
  assert_finds (fixture, "not", "4");
}

static void
test_or_joins_two_terms (Fixture       *fixture,
                         gconstpointer  user_data)
{
  assert_finds (fixture, "cafe OR lunch", "2,5");
  assert_finds (fixture, "from:alice OR from:carol", "1,5");
  assert_finds (fixture, "from:alice OR from:carol report", "1");
  assert_finds (fixture, "is:flagged OR has:attachment", "1,3,4,6");
  assert_finds (fixture, "from:bob OR is:unread meeting", "4");
  assert_finds (fixture, "meeting OR invoice is:unread", "4");
  assert_finds (fixture, "lunch OR -from:carol", ALL);
  assert_finds (fixture, "cafe OR lunch OR invoice", "2,5,6");
  assert_finds (fixture, "(cafe OR lunch)", "2,5");
}

static void
test_stray_operators_are_ignored (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  assert_finds (fixture, "cafe OR", "2");
  assert_finds (fixture, "OR cafe", "2");
  assert_finds (fixture, "cafe OR OR lunch", "2,5");
  assert_finds (fixture, "AND", ALL);
  assert_finds (fixture, "OR", ALL);
  assert_finds (fixture, "NOT", ALL);
  assert_finds (fixture, "AND OR NOT", ALL);
}

static void
test_lowercase_operators_are_words (Fixture       *fixture,
                                    gconstpointer  user_data)
{
  /* "or" is the start of "org" too. */
  assert_finds (fixture, "or", "1,2,4,5");
  assert_finds (fixture, "\"OR\"", "4");
  assert_finds (fixture, "\"AND\"", "4");
  assert_finds (fixture, "\"NOT\"", "4");
  assert_finds (fixture, "cafe or lunch", "");
}

static void
test_fts_syntax_is_text (Fixture       *fixture,
                         gconstpointer  user_data)
{
  assert_finds (fixture, "meet*", "1,3,4");
  assert_finds (fixture, "^meeting", "3,4");
  assert_finds (fixture, "meeting^", "3,4");
  assert_finds (fixture, "NEAR", "4");
  assert_finds (fixture, "\"NEAR\"", "4");
  assert_finds (fixture, "meeting NEAR notes", "4");
  /* Taken as the words "near", "meeting" and "notes", all in message 4. */
  assert_finds (fixture, "NEAR(meeting notes)", "4");
  /* Column filters of FTS5 are not keywords of Tern. */
  assert_finds (fixture, "sender:bob", "");
  assert_finds (fixture, "{subject}:meeting", "");
  assert_finds (fixture, "subject : meeting", "");
  assert_finds (fixture, "- sender : bob", "");
}

static void
test_unknown_prefix_is_text (Fixture       *fixture,
                             gconstpointer  user_data)
{
  assert_finds (fixture, "foo:bar", "4");
  assert_finds (fixture, "foo:baz", "");
  assert_finds (fixture, "is:important", "");
  assert_finds (fixture, "has:pdf", "");
  assert_finds (fixture, "-foo:bar", "1,2,3,5,6");
  assert_finds (fixture, ":meeting:", "3,4");
}

static void
test_punctuation_only_words_are_ignored (Fixture       *fixture,
                                         gconstpointer  user_data)
{
  assert_finds (fixture, "meeting !!!", "3,4");
  assert_finds (fixture, "meeting -!!!", "3,4");
  assert_finds (fixture, "*", ALL);
  assert_finds (fixture, "\"*\"", ALL);
  assert_finds (fixture, "-", ALL);
  assert_finds (fixture, "- meeting", "3,4");
  assert_finds (fixture, "meeting -", "3,4");
  assert_finds (fixture, "from:", ALL);
  assert_finds (fixture, "from:\"\"", ALL);
  assert_finds (fixture, "from:@ meeting", "3,4");
  assert_finds (fixture, "☃ ✉ →", ALL);
}

static void
test_quotes_never_break_the_query (Fixture       *fixture,
                                   gconstpointer  user_data)
{
  assert_finds (fixture, "\"", ALL);
  assert_finds (fixture, "\"\"", ALL);
  assert_finds (fixture, "\"\"\"", ALL);
  assert_finds (fixture, "\"quarterly\" \"report\"", "1");
  assert_finds (fixture, "\" OR \"\"=\"", "4");
  assert_finds (fixture, "'single'", "");
  assert_finds (fixture, "quotes", "4");
}

static void
test_empty_text_finds_everything (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  assert_finds (fixture, "", ALL);
  assert_finds (fixture, "   ", ALL);
  assert_finds (fixture, "\t\n\r ", ALL);
  assert_finds (fixture, "\u3000", ALL);
}

static void
test_sql_injection_is_text (Fixture       *fixture,
                            gconstpointer  user_data)
{
  sqlite3_stmt *stmt = NULL;

  assert_finds (fixture, "'; DROP TABLE messages; --", "4");
  assert_finds (fixture, "x') OR 1=1 --", "4");
  assert_finds (fixture, "1) OR (1=1", "");
  assert_finds (fixture, "message_fts MATCH '*'", "");
  assert_finds (fixture, "'); DELETE FROM messages; SELECT ('", "");

  /* The store is as it was. */
  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db, "SELECT count(*) FROM messages",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, G_N_ELEMENTS (test_messages));
  sqlite3_finalize (stmt);
}

static const char *hostile_texts[] = {
  "'; DROP TABLE messages; --",
  "\"; DROP TABLE messages; --",
  "\" OR 1=1 --",
  "?", "??", "?1", ":1", "@a", "$a", "%", "_", "\\", "\\\"", "`", ";",
  "(", ")", "((", "))", "()", "{", "}", "{subject}", "[", "]",
  "*", "**", "^", "^^", "+", "+meeting", ":", "::", "a:", ":a", "a:b:c",
  "NEAR", "NEAR(", "NEAR()", "NEAR(a b, 2)", "NEAR/2", "a NEAR/2 b",
  "AND", "OR", "NOT", "AND AND", "OR OR", "NOT NOT", "NOT NOT meeting",
  "- - -", "-\"", "-\"\"", "--", "-OR", "-AND", "-NOT",
  "\"unbalanced", "unbalanced\"", "\"a\"b\"c", "from:\"", "from:\"\"\"",
  "from:\"a", "-from:", "to:(", "subject:*", "subject:\"*\"", "is:", "has:",
  "is:\"unread\"", "has:\"\"", "is:\"x", "has:\"a b", "-is:\"\"\"", "is:unread:", "from:from:from:",
  "sender:x", "body:x", "rowid:1", "message_fts:x", "m.id", "1=1",
  "\x01\x02\x7f", "é\xcc\x81", "\xcc\x81", "\xef\xbb\xbf", "\xff\xfe\xfd", "a\xff" "b",
  "\xf0\x9f\x98\x80", "\xe2\x80\x8b",
};

static void
test_hostile_text_runs_cleanly (Fixture       *fixture,
                                gconstpointer  user_data)
{
  for (guint i = 0; i < G_N_ELEMENTS (hostile_texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSearchQuery) query = tern_search_query_parse_full (hostile_texts[i],
                                                                        fixture->utc,
                                                                        &error);
      g_autoptr(GString) where = g_string_new (NULL);
      g_autoptr(GPtrArray) params = new_params ();
      g_autofree char *found = NULL;

      g_assert_no_error (error);
      g_assert_true (g_utf8_validate (tern_search_query_get_text (query), -1, NULL));

      /* User text reaches SQL only as parameters. */
      tern_search_query_build_sql (query, where, params);
      g_assert_null (strchr (where->str, '\''));
      g_assert_null (strchr (where->str, '"'));
      g_assert_null (strstr (where->str, "DROP"));
      g_assert_null (strchr (where->str, ';'));

      found = search_query (fixture, query);
      g_assert_nonnull (found);
    }
}

static void
test_invalid_utf8_is_repaired (Fixture       *fixture,
                               gconstpointer  user_data)
{
  assert_finds (fixture, "\xff\xfemeeting", "3,4");
  assert_finds (fixture, "lunch \xc3", "5");
  assert_finds (fixture, "meeting\x01notes", "4");
}

static void
test_terms_past_the_limit_are_ignored (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < TERN_SEARCH_QUERY_MAX_TERMS; i++)
    g_string_append (text, "meeting ");
  assert_finds (fixture, text->str, "3,4");

  /* The term after the limit would leave out every meeting. */
  g_string_append (text, "-meeting");
  assert_finds (fixture, text->str, "3,4");

  /* Operators are not terms. */
  g_string_truncate (text, 0);
  for (guint i = 0; i < 1000; i++)
    g_string_append (text, "OR AND NOT ");
  g_string_append (text, "cafe");
  assert_finds (fixture, text->str, "2");
}

static void
test_long_terms_are_cut (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(TernSearchQuery) query = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) expected = g_string_new ("\"");

  /* A term is cut before the character that would pass the limit. */
  for (guint i = 0; i < TERN_SEARCH_QUERY_MAX_TERM_BYTES - 1; i++)
    g_string_append_c (text, 'a');
  g_string_append (expected, text->str);
  g_string_append (expected, "\"*");
  g_string_append (text, "éé");
  query = tern_search_query_parse (text->str, NULL);
  g_assert_nonnull (query);
  g_assert_cmpstr (tern_search_query_get_fts_match (query), ==, expected->str);

  /* A long query runs. */
  g_string_truncate (text, 0);
  for (guint i = 0; i < 100000; i++)
    g_string_append (text, "lunch");
  assert_finds (fixture, text->str, "");
  g_string_prepend (text, "lunch OR ");
  assert_finds (fixture, text->str, "5");

  g_string_truncate (text, 0);
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, "\"\" ");
  g_string_append (text, "lunch");
  assert_finds (fixture, text->str, "5");
}

static void
test_many_alternatives_run (Fixture       *fixture,
                            gconstpointer  user_data)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < TERN_SEARCH_QUERY_MAX_TERMS - 1; i++)
    g_string_append_printf (text, "is:flagged OR -word%u OR ", i);
  g_string_append (text, "lunch");
  assert_finds (fixture, text->str, ALL);

  g_string_truncate (text, 0);
  for (guint i = 0; i < TERN_SEARCH_QUERY_MAX_TERMS; i++)
    g_string_append_printf (text, "-word%u ", i);
  assert_finds (fixture, text->str, ALL);
}

static void
assert_bad_date (const char *text,
                 const char *word)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSearchQuery) query = tern_search_query_parse (text, &error);

  g_assert_null (query);
  g_assert_error (error, TERN_SEARCH_QUERY_ERROR, TERN_SEARCH_QUERY_ERROR_BAD_DATE);
  if (strstr (error->message, word) == NULL)
    g_error ("the error for “%s” does not name “%s”: %s", text, word, error->message);
}

static void
test_bad_date_is_an_error (void)
{
  assert_bad_date ("before:2024-13-01", "before:2024-13-01");
  assert_bad_date ("after:2023-02-29", "after:2023-02-29");
  assert_bad_date ("after:yesterday", "after:yesterday");
  assert_bad_date ("before:", "before:");
  assert_bad_date ("before:20240101", "before:20240101");
  assert_bad_date ("before:2024-01-01T00:00", "before:2024-01-01T00:00");
  assert_bad_date ("before:0000-01-01", "before:0000-01-01");
  assert_bad_date ("before:24-01-01", "before:24-01-01");
  assert_bad_date ("before:2024-001-01", "before:2024-001-01");
  assert_bad_date ("meeting after:2024/01-01 lunch", "after:2024/01-01");
  assert_bad_date ("-Before:\"2024-01\"", "Before:\"2024-01\"");
}

static void
test_good_dates_parse (void)
{
  const char *texts[] = {
    "before:2024-02-29", "after:1970-01-01", "after:9999-12-31", "before:0001-01-01",
    "after:1999/1/2",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSearchQuery) query = tern_search_query_parse (texts[i], &error);

      g_assert_no_error (error);
      g_assert_nonnull (query);
    }
}

static void
assert_fts_match (const char *text,
                  const char *expected)
{
  g_autoptr(TernSearchQuery) query = tern_search_query_parse (text, NULL);

  g_assert_nonnull (query);
  g_assert_cmpstr (tern_search_query_get_fts_match (query), ==, expected);
}

static void
test_fts_match_holds_the_words_every_result_has (void)
{
  assert_fts_match ("meeting", "\"meeting\"*");
  assert_fts_match ("meeting is:unread", "\"meeting\"*");
  assert_fts_match ("from:alice@example.org",
                    "sender : ( \"alice\" AND \"example\" AND \"org\"* )");
  assert_fts_match ("to:\"Alice Smith\"", "recipients : ( \"Alice\" AND \"Smith\" )");
  assert_fts_match ("subject:report", "subject : \"report\"*");
  assert_fts_match ("meeting -lunch", "\"meeting\"* NOT \"lunch\"*");
  assert_fts_match ("a b -c", "(\"a\"* AND \"b\"*) NOT \"c\"*");
  assert_fts_match ("a OR b c", "(\"a\"* OR \"b\"*) AND \"c\"*");
  assert_fts_match ("say\"\"", "\"say\"*");
  assert_fts_match ("is:\"x", "( \"is\" AND \"x\"* )");
  assert_fts_match ("is:unread", NULL);
  assert_fts_match ("-meeting", NULL);
  assert_fts_match ("from:alice OR is:flagged", NULL);
  assert_fts_match ("", NULL);
}

static void
test_empty_query_builds_true (void)
{
  const char *texts[] = { "", "   ", "OR AND NOT", "-", "\"", "!!! ???", "from:", "\xff" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(TernSearchQuery) query = tern_search_query_parse (texts[i], NULL);
      g_autoptr(GString) where = g_string_new (NULL);
      g_autoptr(GPtrArray) params = new_params ();

      g_assert_nonnull (query);
      g_assert_true (tern_search_query_is_empty (query));
      g_assert_false (tern_search_query_build_sql (query, where, params));
      g_assert_cmpstr (where->str, ==, "(1)");
      g_assert_cmpuint (params->len, ==, 0);
    }
}

static void
test_sql_keeps_user_text_in_parameters (void)
{
  g_autoptr(TernSearchQuery) query = NULL;
  g_autoptr(GString) where = g_string_new (NULL);
  g_autoptr(GPtrArray) params = new_params ();

  query = tern_search_query_parse_full ("meeting is:unread -has:attachment after:2024-01-01 "
                                        "-lunch from:a OR is:flagged",
                                        NULL, NULL);
  g_assert_nonnull (query);
  g_assert_false (tern_search_query_is_empty (query));
  g_assert_true (tern_search_query_build_sql (query, where, params));
  g_assert_cmpstr (where->str, ==,
                   "(m.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?)"
                   " AND ((m.flags & 9) = 0)"
                   " AND NOT (m.has_attachments != 0)"
                   " AND (m.date >= ?)"
                   " AND ((m.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?))"
                   " OR ((m.flags & 4) != 0)))");
  g_assert_cmpuint (params->len, ==, 3);
  g_assert_cmpstr (g_variant_get_string (params->pdata[0], NULL), ==,
                   "\"meeting\"* NOT \"lunch\"*");
  g_assert_true (g_variant_is_of_type (params->pdata[1], G_VARIANT_TYPE_INT64));
  g_assert_cmpstr (g_variant_get_string (params->pdata[2], NULL), ==, "sender : \"a\"*");

  /* Without the FTS match, for a plan that starts from the index. */
  g_string_truncate (where, 0);
  g_ptr_array_set_size (params, 0);
  g_assert_true (tern_search_query_build_filter_sql (query, where, params));
  g_assert_true (g_str_has_prefix (where->str, "(((m.flags & 9) = 0)"));
  g_assert_cmpuint (params->len, ==, 2);
}

static void
test_condition_follows_other_conditions (Fixture       *fixture,
                                         gconstpointer  user_data)
{
  g_autoptr(TernSearchQuery) query = tern_search_query_parse ("has:attachment OR pdf", NULL);
  g_autoptr(GString) sql = g_string_new ("SELECT m.id FROM messages AS m"
                                         " WHERE m.folder_id = ? AND ");
  g_autoptr(GPtrArray) params = new_params ();
  g_autofree char *found = NULL;

  /* The caller's own parameter comes first; message 6 is in folder 2. */
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (1)));
  tern_search_query_build_sql (query, sql, params);
  g_string_append (sql, " ORDER BY m.id");
  found = select_ids (fixture->db, sql->str, NULL, params, "has:attachment OR pdf");
  g_assert_cmpstr (found, ==, "1,3");
}

static void
test_bind_takes_plain_values (Fixture       *fixture,
                              gconstpointer  user_data)
{
  g_autoptr(GPtrArray) params = new_params ();
  sqlite3_stmt *stmt = NULL;

  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int32 (-7)));
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_boolean (TRUE)));
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_double (0.5)));
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_string ("it's")));
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (G_MAXINT64)));

  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db, "SELECT ?, ?, ?, ?, ?", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (tern_search_query_bind (params, stmt, 1), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, -7);
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 1);
  g_assert_cmpfloat (sqlite3_column_double (stmt, 2), ==, 0.5);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 3), ==, "it's");
  g_assert_cmpint (sqlite3_column_int64 (stmt, 4), ==, G_MAXINT64);
  sqlite3_finalize (stmt);

  /* One parameter too many for the statement. */
  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db, "SELECT ?, ?, ?, ?", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (tern_search_query_bind (params, stmt, 1), ==, SQLITE_RANGE);
  sqlite3_finalize (stmt);
}

static void
test_query_is_a_boxed_type (void)
{
  g_autoptr(TernSearchQuery) query = tern_search_query_parse ("  from:alice ", NULL);
  TernSearchQuery *copy;

  g_assert_cmpstr (tern_search_query_get_text (query), ==, "  from:alice ");
  copy = g_boxed_copy (TERN_TYPE_SEARCH_QUERY, query);
  g_assert_true (copy == query);
  g_boxed_free (TERN_TYPE_SEARCH_QUERY, copy);
  g_assert_cmpstr (tern_search_query_get_fts_match (query), ==, "sender : \"alice\"*");
}

static void
test_parse_speed (void)
{
  const char *texts[] = {
    "meeting",
    "from:alice@example.org is:unread",
    "quarterly report has:attachment after:2024-01-01 before:2024-04-01",
    "\"project kickoff\" -from:bob OR to:carol",
    "café crème Müller straße",
    "'; DROP TABLE messages; --",
    "is:flagged OR has:attachment -is:read subject:\"weekly sync\"",
    "invoice 2024-001 pdf NOT paid",
  };
  const guint n_queries = 10000;
  gint64 start, elapsed;
  gsize length = 0;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n_queries; i++)
    {
      g_autoptr(TernSearchQuery) query = tern_search_query_parse (texts[i % G_N_ELEMENTS (texts)],
                                                                  NULL);
      g_autoptr(GString) where = g_string_new (NULL);
      g_autoptr(GPtrArray) params = new_params ();

      tern_search_query_build_sql (query, where, params);
      length += where->len;
    }
  elapsed = g_get_monotonic_time () - start;

  g_assert_cmpuint (length, >, 0);
  g_test_message ("parsed and built %u queries in %.1f ms (%.2f us a query)",
                  n_queries, elapsed / 1000.0, (double) elapsed / n_queries);
}

#define add_store_test(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

int
main (int   argc,
      char *argv[])
{
  /* A local time zone that is not UTC, so that a test can tell them apart. */
  g_setenv ("TZ", "+05:30", TRUE);
  g_test_init (&argc, &argv, NULL);

  add_store_test ("/search/query/word/matches-as-prefix", test_word_matches_as_prefix);
  add_store_test ("/search/query/word/ignores-case", test_word_ignores_case);
  add_store_test ("/search/query/word/all-must-match", test_words_must_all_match);
  add_store_test ("/search/query/word/ignores-diacritics", test_word_ignores_diacritics);
  add_store_test ("/search/query/word/matches-attachment-names",
                  test_word_matches_attachment_names);
  add_store_test ("/search/query/phrase/matches-whole-words",
                  test_quoted_words_match_whole_words);
  add_store_test ("/search/query/phrase/left-open-matches-as-prefix",
                  test_open_phrase_matches_as_prefix);
  add_store_test ("/search/query/from/matches-sender-only", test_from_matches_sender_only);
  add_store_test ("/search/query/from/matches-address", test_from_matches_address);
  add_store_test ("/search/query/to/matches-to-cc-and-bcc", test_to_matches_to_cc_and_bcc);
  add_store_test ("/search/query/subject/matches-subject-only",
                  test_subject_matches_subject_only);
  add_store_test ("/search/query/has/attachment", test_has_attachment);
  add_store_test ("/search/query/is/unread-read-flagged", test_is_flags);
  add_store_test ("/search/query/before/is-before-the-day", test_before_is_before_the_day);
  add_store_test ("/search/query/after/includes-the-day", test_after_includes_the_day);
  add_store_test ("/search/query/dates/follow-the-time-zone", test_dates_follow_the_time_zone);
  g_test_add_func ("/search/query/dates/default-to-local-time", test_dates_default_to_local_time);
  g_test_add_func ("/search/query/dates/bad-date-is-an-error-naming-the-word",
                   test_bad_date_is_an_error);
  g_test_add_func ("/search/query/dates/good-dates-parse", test_good_dates_parse);
  add_store_test ("/search/query/negation/minus-leaves-out", test_minus_leaves_out);
  add_store_test ("/search/query/negation/not-leaves-out", test_not_leaves_out);
  add_store_test ("/search/query/or/joins-two-terms", test_or_joins_two_terms);
  add_store_test ("/search/query/operators/stray-ones-are-ignored",
                  test_stray_operators_are_ignored);
  add_store_test ("/search/query/operators/lowercase-are-words",
                  test_lowercase_operators_are_words);
  add_store_test ("/search/query/escaping/fts-syntax-is-text", test_fts_syntax_is_text);
  add_store_test ("/search/query/escaping/unknown-prefix-is-text", test_unknown_prefix_is_text);
  add_store_test ("/search/query/escaping/punctuation-only-words-are-ignored",
                  test_punctuation_only_words_are_ignored);
  add_store_test ("/search/query/escaping/quotes-never-break-the-query",
                  test_quotes_never_break_the_query);
  add_store_test ("/search/query/escaping/empty-text-finds-everything",
                  test_empty_text_finds_everything);
  add_store_test ("/search/query/escaping/sql-injection-is-text", test_sql_injection_is_text);
  add_store_test ("/search/query/escaping/hostile-text-runs-cleanly",
                  test_hostile_text_runs_cleanly);
  add_store_test ("/search/query/escaping/invalid-utf8-is-repaired",
                  test_invalid_utf8_is_repaired);
  add_store_test ("/search/query/limits/terms-past-the-limit-are-ignored",
                  test_terms_past_the_limit_are_ignored);
  add_store_test ("/search/query/limits/long-terms-are-cut", test_long_terms_are_cut);
  add_store_test ("/search/query/limits/many-alternatives-run", test_many_alternatives_run);
  g_test_add_func ("/search/query/sql/fts-match-holds-the-words-every-result-has",
                   test_fts_match_holds_the_words_every_result_has);
  g_test_add_func ("/search/query/sql/empty-query-builds-true", test_empty_query_builds_true);
  g_test_add_func ("/search/query/sql/keeps-user-text-in-parameters",
                   test_sql_keeps_user_text_in_parameters);
  add_store_test ("/search/query/sql/condition-follows-other-conditions",
                  test_condition_follows_other_conditions);
  add_store_test ("/search/query/sql/bind-takes-plain-values", test_bind_takes_plain_values);
  g_test_add_func ("/search/query/api/query-is-a-boxed-type", test_query_is_a_boxed_type);
  g_test_add_func ("/search/query/speed/parse-and-build-10000", test_parse_speed);

  return g_test_run ();
}
