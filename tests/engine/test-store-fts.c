/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "tern-store-private.h"
#include "tern-test-util.h"

/*
 * The search words a message gives the index, made before the writer
 * takes it: they must leave in the index exactly the words the index
 * would have found in the whole text, or searches would miss mail.  The
 * reference is SQLite's own unicode61 tokenizer, as the schema sets it.
 */

typedef struct
{
  sqlite3 *db;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_assert_cmpint (sqlite3_open (":memory:", &fixture->db), ==, SQLITE_OK);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  sqlite3_close (fixture->db);
}

/* Two indexes as message_fts is (folded case and diacritics, columns but
 * no positions): "text" for texts as they are, "words" for their words. */
static void
make_indexes (Fixture *fixture)
{
  tern_test_exec_sql (fixture->db,
                      "DROP TABLE IF EXISTS text_terms; DROP TABLE IF EXISTS word_terms;"
                      "DROP TABLE IF EXISTS text; DROP TABLE IF EXISTS words;"
                      "CREATE VIRTUAL TABLE text USING fts5 (a, "
                      "  tokenize = 'unicode61 remove_diacritics 2', content = '', "
                      "  detail = column);"
                      "CREATE VIRTUAL TABLE words USING fts5 (a, "
                      "  tokenize = 'unicode61 remove_diacritics 2', content = '', "
                      "  detail = column);"
                      "CREATE VIRTUAL TABLE text_terms USING fts5vocab (text, 'row');"
                      "CREATE VIRTUAL TABLE word_terms USING fts5vocab (words, 'row');");
}

static void
insert (Fixture    *fixture,
        const char *table,
        gint64      rowid,
        const char *text,
        gssize      length)
{
  g_autofree char *sql = g_strdup_printf ("INSERT INTO %s (rowid, a) VALUES (?, ?)", table);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (fixture->db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, rowid);
  sqlite3_bind_text (stmt, 2, text, length, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
}

static gint64
count (Fixture    *fixture,
       const char *sql)
{
  return tern_test_query_int (fixture->db, sql);
}

/* Indexes @text as it is and as its words, and checks that the two
 * indexes hold the same words. */
static void
assert_same_index (Fixture    *fixture,
                   const char *text,
                   gssize      length)
{
  g_autofree char *words = tern_store_fts_words (text, length);

  make_indexes (fixture);
  insert (fixture, "text", 1, text, length);
  insert (fixture, "words", 1, words, -1);

  g_assert_cmpint (count (fixture, "SELECT count (*) FROM text_terms"), >, 0);
  g_assert_cmpint (count (fixture, "SELECT count (*) FROM text_terms"), ==,
                   count (fixture, "SELECT count (*) FROM word_terms"));
  g_assert_cmpint (count (fixture,
                          "SELECT count (*) FROM ("
                          "  SELECT term FROM text_terms EXCEPT SELECT term FROM word_terms)"),
                   ==, 0);
}

static void
test_words_are_folded_and_distinct (void)
{
  g_autofree char *words = NULL;

  words = tern_store_fts_words ("The café, the CAFÉ and the cafe: Zürich-Köln 2024 naïve_résumé",
                                -1);
  g_assert_cmpstr (words, ==, "the cafe and zurich koln 2024 naive resume");
  g_clear_pointer (&words, g_free);

  words = tern_store_fts_words ("... --- !!!", -1);
  g_assert_cmpstr (words, ==, "");
  g_clear_pointer (&words, g_free);

  words = tern_store_fts_words (NULL, 0);
  g_assert_cmpstr (words, ==, "");
  g_clear_pointer (&words, g_free);

  /* The length given is respected: the rest is not read. */
  words = tern_store_fts_words ("alpha beta gamma", 10);
  g_assert_cmpstr (words, ==, "alpha beta");
}

/* Every character Unicode has, alone, inside ASCII words, and beside
 * ASCII separators: the words must index as the text does. */
static void
test_words_index_as_the_text_for_every_character (Fixture       *fixture,
                                                  gconstpointer  user_data)
{
  for (gunichar first = 1; first <= 0x10FFFF; first += 0x4000)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (gunichar c = first; c < first + 0x4000 && c <= 0x10FFFF; c++)
        {
          if (c >= 0xD800 && c <= 0xDFFF)
            continue;

          /* Alone, then glued to ASCII letters, in capitals or not. */
          g_string_append_unichar (text, c);
          g_string_append_c (text, ' ');
          g_string_append (text, c % 2 ? "Ab" : "zY9");
          g_string_append_unichar (text, c);
          g_string_append (text, c % 3 ? "Q-" : "x.");
        }

      assert_same_index (fixture, text->str, text->len);
    }
}

static void
test_words_index_as_the_text_for_mail (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  static const char *texts[] = {
    "Dear Ms. O’Brien,\r\nplease find attached the Q3 report (report_q3-final.PDF).",
    "Ünïcödé ÉCOLE straße STRASSE İstanbul ΣΊΣΥΦΟΣ Ελληνικά русский ТЕКСТ",
    "日本語のテキストと English words 混在 ８ｔｈ ＦＵＬＬＷＩＤＴＨ",
    "tabs\tand\u00a0no-break\u2009thin\u3000ideographic spaces, emoji 👍🏽 and ZWJ 👩‍💻",
    "a-very-long-word-" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa end",
    "e\u0301cole combining: n\u0303o A\u030a a\u0308",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_same_index (fixture, texts[i], -1);
}

/* Invalid UTF-8 reaches the index as well (a bad charset, cut bytes). */
static void
test_words_index_as_the_text_for_bad_bytes (Fixture       *fixture,
                                            gconstpointer  user_data)
{
  static const char bad[] = "ok \xff\xfe caf\xc3 \xe2\x82 word\x80word end\xc3";

  assert_same_index (fixture, bad, sizeof bad - 1);
}

/* Searches, folded by the index itself, find the words: whole, as
 * prefixes, with accents and capitals or without. */
static void
test_words_search_like_the_text (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_autofree char *words = tern_store_fts_words ("Réunion budgétaire à Zürich, demain matin",
                                                 -1);

  make_indexes (fixture);
  insert (fixture, "words", 7, words, -1);
  g_assert_cmpint (count (fixture, "SELECT rowid FROM words WHERE words MATCH 'reunion'"), ==, 7);
  g_assert_cmpint (count (fixture, "SELECT rowid FROM words WHERE words MATCH '\"BUDGÉT\"*'"),
                   ==, 7);
  g_assert_cmpint (count (fixture, "SELECT rowid FROM words WHERE words MATCH 'zürich'"), ==, 7);
  g_assert_cmpint (count (fixture, "SELECT count (*) FROM words WHERE words MATCH 'soir'"), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/store/fts/words-are-folded-and-distinct", test_words_are_folded_and_distinct);
  g_test_add ("/store/fts/words-index-as-the-text-for-every-character", Fixture, NULL,
              fixture_set_up, test_words_index_as_the_text_for_every_character,
              fixture_tear_down);
  g_test_add ("/store/fts/words-index-as-the-text-for-mail", Fixture, NULL,
              fixture_set_up, test_words_index_as_the_text_for_mail, fixture_tear_down);
  g_test_add ("/store/fts/words-index-as-the-text-for-bad-bytes", Fixture, NULL,
              fixture_set_up, test_words_index_as_the_text_for_bad_bytes, fixture_tear_down);
  g_test_add ("/store/fts/words-search-like-the-text", Fixture, NULL,
              fixture_set_up, test_words_search_like_the_text, fixture_tear_down);

  return g_test_run ();
}
