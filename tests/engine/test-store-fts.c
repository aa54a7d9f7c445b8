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

/* The writer's tokenizer, tern_store_fts_use_runs_tokenizer(), must give
 * every text the tokens the built-in unicode61 gives it, offsets
 * included: the index it fills is read through the built-in one. */

static fts5_api *
fts5_api_of (sqlite3 *db)
{
  fts5_api *api = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT fts5 (?1)", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_pointer (stmt, 1, &api, "fts5_api_ptr", NULL);
  sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  g_assert_nonnull (api);

  return api;
}

static int
collect_token_cb (void       *user_data,
                  int         flags,
                  const char *token,
                  int         length,
                  int         start,
                  int         end)
{
  GString *tokens = user_data;

  g_string_append_len (tokens, token, length);
  g_string_append_printf (tokens, "@%d-%d|", start, end);
  return SQLITE_OK;
}

/* The tokens "unicode61" gives @text on @db, with @arguments. */
static char *
tokens_of (sqlite3     *db,
           const char **arguments,
           int          n_arguments,
           const char  *text,
           int          length)
{
  fts5_api *api = fts5_api_of (db);
  fts5_tokenizer module;
  void *user_data = NULL;
  Fts5Tokenizer *tokenizer = NULL;
  GString *tokens = g_string_new (NULL);

  g_assert_cmpint (api->xFindTokenizer (api, "unicode61", &user_data, &module), ==, SQLITE_OK);
  g_assert_cmpint (module.xCreate (user_data, arguments, n_arguments, &tokenizer), ==, SQLITE_OK);
  g_assert_cmpint (module.xTokenize (tokenizer, tokens, FTS5_TOKENIZE_DOCUMENT, text, length,
                                     collect_token_cb), ==, SQLITE_OK);
  module.xDelete (tokenizer);

  return g_string_free (tokens, FALSE);
}

typedef struct
{
  sqlite3 *builtin;
  sqlite3 *runs;
} TwoConnections;

static void
two_connections_open (TwoConnections *two)
{
  fts5_api *api;
  fts5_tokenizer builtin;
  fts5_tokenizer runs;
  void *user_data = NULL;

  g_assert_cmpint (sqlite3_open (":memory:", &two->builtin), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_open (":memory:", &two->runs), ==, SQLITE_OK);
  g_assert_true (tern_store_fts_use_runs_tokenizer (two->runs));
  /* Set up twice, it stays one tokenizer in front of the built-in one. */
  g_assert_true (tern_store_fts_use_runs_tokenizer (two->runs));

  /* The connection uses the runs tokenizer, not the built-in one. */
  api = fts5_api_of (two->builtin);
  g_assert_cmpint (api->xFindTokenizer (api, "unicode61", &user_data, &builtin), ==, SQLITE_OK);
  api = fts5_api_of (two->runs);
  g_assert_cmpint (api->xFindTokenizer (api, "unicode61", &user_data, &runs), ==, SQLITE_OK);
  g_assert_true (builtin.xTokenize != runs.xTokenize);
}

static void
two_connections_close (TwoConnections *two)
{
  sqlite3_close (two->builtin);
  sqlite3_close (two->runs);
}

static void
assert_same_tokens (TwoConnections *two,
                    const char    **arguments,
                    int             n_arguments,
                    const char     *text,
                    int             length)
{
  g_autofree char *expected = tokens_of (two->builtin, arguments, n_arguments, text, length);
  g_autofree char *got = tokens_of (two->runs, arguments, n_arguments, text, length);

  g_assert_cmpstr (got, ==, expected);
}

static const char *index_arguments[] = { "remove_diacritics", "2" };

static void
test_runs_tokenizer_gives_the_builtin_tokens (void)
{
  static const char *texts[] = {
    "",
    "   ",
    "plain words only",
    "  leading and  doubled   spaces and trailing  ",
    "Capitals and MiXeD, punctuation; a-b c_d e.f 3.14 x/y",
    "the cafe and zurich koln 2024 naive resume",
    "café Zürich straße ΣΊΣΥΦΟΣ 日本語 👍🏽 ｆｕｌｌ",
    "tabs\tand\nnew\r\nlines\u00a0no-break",
    "ok \xff\xfe caf\xc3 \xe2\x82 word\x80word end\xc3",
  };
  TwoConnections two;

  two_connections_open (&two);

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autofree char *words = tern_store_fts_words (texts[i], -1);

      assert_same_tokens (&two, index_arguments, 2, texts[i], strlen (texts[i]));
      assert_same_tokens (&two, index_arguments, 2, words, strlen (words));
    }

  /* A nul byte inside a word separates, as in unicode61. */
  assert_same_tokens (&two, index_arguments, 2, "ab\0cd ef", 8);

  /* Every code point, alone and inside ASCII words, as text and as the
   * words made of it. */
  for (gunichar first = 1; first <= 0x10FFFF; first += 0x4000)
    {
      g_autoptr(GString) text = g_string_new (NULL);
      g_autofree char *words = NULL;

      for (gunichar c = first; c < first + 0x4000 && c <= 0x10FFFF; c++)
        {
          if (c >= 0xD800 && c <= 0xDFFF)
            continue;
          g_string_append_unichar (text, c);
          g_string_append_c (text, ' ');
          g_string_append (text, c % 2 ? "ab" : "Zy9");
          g_string_append_unichar (text, c);
          g_string_append (text, c % 3 ? "q " : "x.");
        }

      words = tern_store_fts_words (text->str, text->len);
      assert_same_tokens (&two, index_arguments, 2, text->str, text->len);
      assert_same_tokens (&two, index_arguments, 2, words, strlen (words));
    }

  two_connections_close (&two);
}

/* With arguments that change what a token is, the runs tokenizer leaves
 * every text to the built-in one. */
static void
test_runs_tokenizer_follows_other_arguments (void)
{
  static const char *separators[] = { "remove_diacritics", "2", "separators", "x" };
  static const char *token_chars[] = { "tokenchars", "-" };
  static const char text[] = "axb plain a-b words";
  TwoConnections two;
  g_autofree char *split = NULL;

  two_connections_open (&two);

  assert_same_tokens (&two, separators, G_N_ELEMENTS (separators), text, sizeof text - 1);
  assert_same_tokens (&two, token_chars, G_N_ELEMENTS (token_chars), text, sizeof text - 1);

  /* Which the built-in one does differently from the index's arguments. */
  split = tokens_of (two.runs, separators, G_N_ELEMENTS (separators), text, sizeof text - 1);
  g_assert_true (g_str_has_prefix (split, "a@0-1|b@2-3|"));

  two_connections_close (&two);
}

/* An index filled through the runs tokenizer answers queries, made on a
 * connection without it, as one filled through the built-in tokenizer. */
static void
test_runs_tokenizer_fills_the_same_index (void)
{
  static const char *schema =
    "CREATE VIRTUAL TABLE t USING fts5 (a, b, tokenize = 'unicode61 remove_diacritics 2', "
    "  content = '', detail = column);"
    "CREATE VIRTUAL TABLE terms USING fts5vocab (t, 'col');";
  static const char *texts[] = {
    "Réunion budgétaire à Zürich, demain matin",
    "the meeting report for Q3, see report_q3-final.PDF",
    "straße ΣΊΣΥΦΟΣ 日本語のテキスト naïve",
  };
  g_autofree char *builtin_path = NULL;
  g_autofree char *runs_path = NULL;
  g_autofree char *dir = tern_test_make_temp_dir ("tern-fts-XXXXXX");
  const char *paths[2];
  char *terms[2] = { NULL, NULL };
  sqlite3 *db;

  paths[0] = builtin_path = g_build_filename (dir, "builtin.sqlite", NULL);
  paths[1] = runs_path = g_build_filename (dir, "runs.sqlite", NULL);

  for (guint k = 0; k < 2; k++)
    {
      g_assert_cmpint (sqlite3_open (paths[k], &db), ==, SQLITE_OK);
      if (k == 1)
        g_assert_true (tern_store_fts_use_runs_tokenizer (db));
      tern_test_exec_sql (db, schema);
      for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
        {
          g_autofree char *words = tern_store_fts_words (texts[i], -1);
          sqlite3_stmt *stmt = NULL;

          g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO t (rowid, a, b) VALUES (?, ?, ?)",
                                               -1, &stmt, NULL), ==, SQLITE_OK);
          sqlite3_bind_int64 (stmt, 1, i + 1);
          sqlite3_bind_text (stmt, 2, words, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 3, texts[i], -1, SQLITE_STATIC);
          g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
          sqlite3_finalize (stmt);
        }
      sqlite3_close (db);

      /* Read back on a connection with the built-in tokenizer only. */
      g_assert_cmpint (sqlite3_open (paths[k], &db), ==, SQLITE_OK);
      {
        sqlite3_stmt *stmt = NULL;
        GString *all = g_string_new (NULL);

        g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT term, col, doc FROM terms "
                                                 "ORDER BY term, col", -1, &stmt, NULL),
                         ==, SQLITE_OK);
        while (sqlite3_step (stmt) == SQLITE_ROW)
          g_string_append_printf (all, "%s/%s/%d ", sqlite3_column_text (stmt, 0),
                                  sqlite3_column_text (stmt, 1), sqlite3_column_int (stmt, 2));
        sqlite3_finalize (stmt);
        terms[k] = g_string_free (all, FALSE);
      }
      g_assert_cmpint (tern_test_query_int (db, "SELECT rowid FROM t WHERE t MATCH 'zurich'"),
                       ==, 1);
      g_assert_cmpint (tern_test_query_int (db, "SELECT rowid FROM t WHERE t MATCH 'b:REPORT*'"),
                       ==, 2);
      sqlite3_close (db);
    }

  g_assert_cmpstr (terms[0], !=, "");
  g_assert_cmpstr (terms[1], ==, terms[0]);
  g_free (terms[0]);
  g_free (terms[1]);
  tern_test_remove_tree (dir);
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

  g_test_add_func ("/store/fts/runs-tokenizer-gives-the-builtin-tokens",
                   test_runs_tokenizer_gives_the_builtin_tokens);
  g_test_add_func ("/store/fts/runs-tokenizer-follows-other-arguments",
                   test_runs_tokenizer_follows_other_arguments);
  g_test_add_func ("/store/fts/runs-tokenizer-fills-the-same-index",
                   test_runs_tokenizer_fills_the_same_index);

  return g_test_run ();
}
