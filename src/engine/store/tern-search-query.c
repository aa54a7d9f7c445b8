/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-search-query.h"

/*
 * TernSearchQuery turns what a user types in the search bar into SQL over
 * the store: a WHERE fragment over `messages AS m` whose full-text part is a
 * MATCH on `message_fts`.
 *
 * The language, as the user guide states it:
 *
 *   meet            a word anywhere (subject, sender, recipients, body text,
 *                   attachment names), as the start of a word: "meeting"
 *                   matches; case and accents do not matter ("cafe" finds
 *                   "Café")
 *   "the report"    these words, whole (unquoted words match as prefixes); a
 *                   quote left open lets its last word go on
 *   from:alice      the sender's name or address; from:"Alice Smith",
 *                   from:alice@example.org
 *   to:bob          any recipient, To, Cc or Bcc (cc: and bcc: say the same)
 *   subject:report  the subject
 *   has:attachment  with attachments (has:attachments too)
 *   is:unread       not yet read (nor deleted); is:read, the others;
 *                   is:flagged (is:starred too)
 *   before:DATE     sent before that day began (local time)
 *   after:DATE      sent on that day or later (local time); a DATE is
 *                   YYYY-MM-DD or YYYY/MM/DD
 *   -word, NOT word leaves out what matches the word; -from:bob, -is:unread
 *   a OR b          either one; OR binds tighter than the implied AND, so
 *                   "from:alice OR from:carol report" wants the report from
 *                   either of them
 *   AND             accepted and changes nothing
 *
 * Search words and keywords are not case-sensitive except OR, AND and NOT,
 * which are operators only in capitals.  A word with an unknown prefix
 * ("foo:bar", "http://…") or an unknown value ("is:important") is searched
 * for as text.  Words made of punctuation or symbols alone are left out, as
 * the index holds no such words.  A bad date is the only error.
 *
 * Everything the user typed reaches SQLite as a bound parameter, never as SQL,
 * and reaches FTS5 in FTS5 strings ("…", with quotes doubled): FTS5 reads no
 * operator, column filter, NEAR or prefix mark out of them.  The index keeps
 * no word positions (it stays small and fast to fill), so a text is split
 * into its words here, where the tokenizer would split it (at anything but
 * letters, digits and private-use characters), and its words must all be
 * there; the tokenizer then folds case and diacritics as it did for the
 * indexed text.  Unquoted text gets a `*` on its last word, so that it
 * matches as a prefix: `alice@exa` is `( "alice" AND "exa"* )`.
 *
 * The query is a conjunction of clauses, each a disjunction of terms.  The
 * clauses made only of plain full-text terms become one FTS5 expression, the
 * "FTS match", joined by AND, with the negated full-text words after it as
 * NOT; the store can drive a search from it.  Every other clause (flags,
 * dates, an OR that mixes full-text and flags) becomes SQL, with a sub-select
 * on message_fts for each full-text term in it.
 */

#define FTS_SUBQUERY "SELECT rowid FROM message_fts WHERE message_fts MATCH ?"

/* A message is unread when it is neither seen nor deleted, as in the unread
 * counts of the folders; is:read is everything else. */
#define UNREAD_MASK (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)

typedef enum {
  TERM_FULL_TEXT,
  TERM_HAS_ATTACHMENT,
  TERM_UNREAD,
  TERM_READ,
  TERM_FLAGGED,
  TERM_BEFORE,
  TERM_AFTER,
} TermKind;

typedef struct {
  TermKind  kind;
  gboolean  negated;
  char     *fts;  /* TERM_FULL_TEXT: one FTS5 phrase with its column filter */
  gint64    time; /* TERM_BEFORE, TERM_AFTER: the start of the day, unix seconds */
} Term;

typedef enum {
  CLAUSE_FTS,         /* full-text terms only, none negated */
  CLAUSE_FTS_NEGATED, /* one negated full-text term */
  CLAUSE_SQL,         /* anything else */
} ClauseRole;

struct _TernSearchQuery
{
  char      *text;
  GPtrArray *clauses;   /* (element-type GPtrArray (element-type Term)) */
  char      *fts_match; /* (nullable) */
};

typedef enum {
  KEY_NONE,
  KEY_FROM,
  KEY_TO,
  KEY_SUBJECT,
  KEY_HAS,
  KEY_IS,
  KEY_BEFORE,
  KEY_AFTER,
} Key;

static const struct {
  const char *name;
  Key         key;
} keys[] = {
  { "from", KEY_FROM },
  { "to", KEY_TO },
  { "cc", KEY_TO },
  { "bcc", KEY_TO },
  { "subject", KEY_SUBJECT },
  { "has", KEY_HAS },
  { "is", KEY_IS },
  { "before", KEY_BEFORE },
  { "after", KEY_AFTER },
};

typedef struct {
  GPtrArray *clauses;
  GTimeZone *time_zone; /* (nullable): local time, looked up at the first date */
  guint      n_terms;
  gboolean   pending_or;
  gboolean   pending_not;
} Parser;

G_DEFINE_QUARK (tern-search-query-error-quark, tern_search_query_error)

G_DEFINE_BOXED_TYPE (TernSearchQuery, tern_search_query,
                     tern_search_query_ref, tern_search_query_unref)

static void
term_free (gpointer data)
{
  Term *term = data;

  g_free (term->fts);
  g_free (term);
}

static gboolean
is_space_at (const char *p)
{
  return g_unichar_isspace (g_utf8_get_char (p));
}

static const char *
skip_spaces (const char *p)
{
  while (*p != '\0' && is_space_at (p))
    p = g_utf8_next_char (p);

  return p;
}

/* Copies at most TERN_SEARCH_QUERY_MAX_TERM_BYTES of valid UTF-8, cut before
 * a character that would not fit. */
static char *
copy_bounded (const char *start,
              gsize       len)
{
  if (len > TERN_SEARCH_QUERY_MAX_TERM_BYTES)
    {
      len = TERN_SEARCH_QUERY_MAX_TERM_BYTES;
      while (len > 0 && (start[len] & 0xC0) == 0x80)
        len--;
    }

  return g_strndup (start, len);
}

/* Whether the FTS5 tokenizer can find at least one word in @text.  Letters,
 * digits and private-use characters are word characters to unicode61 as to
 * GLib; a word without any is left out of the query, so that "meeting !!!"
 * still finds meetings (an FTS5 string without a word matches nothing). */
static gboolean
has_word_characters (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      GUnicodeType type = g_unichar_type (g_utf8_get_char (p));

      if (type == G_UNICODE_LOWERCASE_LETTER ||
          type == G_UNICODE_MODIFIER_LETTER ||
          type == G_UNICODE_OTHER_LETTER ||
          type == G_UNICODE_TITLECASE_LETTER ||
          type == G_UNICODE_UPPERCASE_LETTER ||
          type == G_UNICODE_DECIMAL_NUMBER ||
          type == G_UNICODE_LETTER_NUMBER ||
          type == G_UNICODE_OTHER_NUMBER ||
          type == G_UNICODE_PRIVATE_USE)
        return TRUE;
    }

  return FALSE;
}

static gboolean
is_token_character (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
    case G_UNICODE_PRIVATE_USE:
      return TRUE;

    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
    case G_UNICODE_CURRENCY_SYMBOL:
    case G_UNICODE_MODIFIER_SYMBOL:
    case G_UNICODE_MATH_SYMBOL:
    case G_UNICODE_OTHER_SYMBOL:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_SPACE_SEPARATOR:
    default:
      return FALSE;
    }
}

/* The FTS5 expression for @text: its words, each an FTS5 string (where
 * only the double quote is special, and doubling it escapes it), all
 * required, in @column when given: `column : ( "one" AND "two"* )`.
 * Returns NULL when @text holds no word. */
static char *
make_fts_phrase (const char *column,
                 const char *text,
                 gboolean    prefix)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  GString *expression;
  const char *p = text;

  while (*p != '\0')
    {
      const char *start;

      while (*p != '\0' && !is_token_character (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      start = p;
      while (*p != '\0' && is_token_character (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      if (p > start)
        g_ptr_array_add (words, g_strndup (start, p - start));
    }

  if (words->len == 0)
    return NULL;

  expression = g_string_new (NULL);
  if (column != NULL)
    g_string_append_printf (expression, "%s : ", column);
  if (words->len > 1)
    g_string_append (expression, "( ");

  for (guint i = 0; i < words->len; i++)
    {
      const char *word = g_ptr_array_index (words, i);

      if (i > 0)
        g_string_append (expression, " AND ");

      g_string_append_c (expression, '"');
      for (const char *q = word; *q != '\0'; q++)
        {
          if (*q == '"')
            g_string_append_c (expression, '"');
          g_string_append_c (expression, *q);
        }
      g_string_append_c (expression, '"');

      if (prefix && i == words->len - 1)
        g_string_append_c (expression, '*');
    }

  if (words->len > 1)
    g_string_append (expression, " )");

  return g_string_free (expression, FALSE);
}

static Key
lookup_key (const char *name,
            gsize       len)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      if (strlen (keys[i].name) == len &&
          g_ascii_strncasecmp (keys[i].name, name, len) == 0)
        return keys[i].key;
    }

  return KEY_NONE;
}

static gboolean
word_equals (const char *word,
             gsize       len,
             const char *expected)
{
  return strlen (expected) == len && strncmp (word, expected, len) == 0;
}

static gboolean
value_is (const char *value,
          const char *expected)
{
  return g_ascii_strcasecmp (value, expected) == 0;
}

/* Reads a quoted string starting at the quote at @p; returns the first byte
 * after it.  A string left open runs to the end of the text. */
static const char *
read_quoted (const char  *p,
             const char **start,
             gsize       *len,
             gboolean    *closed)
{
  const char *end;

  g_assert (*p == '"');

  *start = p + 1;
  end = strchr (*start, '"');
  *closed = end != NULL;
  if (end == NULL)
    end = *start + strlen (*start);
  *len = end - *start;

  return *closed ? end + 1 : end;
}

/* Reads YYYY-MM-DD or YYYY/MM/DD (one-digit months and days allowed). */
static gboolean
read_day (const char *value,
          int        *year,
          int        *month,
          int        *day)
{
  const char *p = value;
  char separator = '\0';
  int fields[3] = { 0, 0, 0 };

  for (guint i = 0; i < 3; i++)
    {
      guint min_digits = i == 0 ? 4 : 1;
      guint max_digits = i == 0 ? 4 : 2;
      guint n_digits = 0;

      while (g_ascii_isdigit (*p) && n_digits < max_digits)
        {
          fields[i] = fields[i] * 10 + (*p - '0');
          n_digits++;
          p++;
        }

      if (n_digits < min_digits)
        return FALSE;

      if (i == 0)
        {
          separator = *p;
          if (separator != '-' && separator != '/')
            return FALSE;
          p++;
        }
      else if (i == 1)
        {
          if (*p != separator)
            return FALSE;
          p++;
        }
    }

  if (*p != '\0' || fields[0] < 1 ||
      !g_date_valid_dmy (fields[2], fields[1], fields[0]))
    return FALSE;

  *year = fields[0];
  *month = fields[1];
  *day = fields[2];

  return TRUE;
}

static void
add_term (Parser *parser,
          Term   *term)
{
  GPtrArray *clause;

  term->negated = term->negated != parser->pending_not;
  parser->pending_not = FALSE;

  if (parser->pending_or && parser->clauses->len > 0)
    {
      clause = g_ptr_array_index (parser->clauses, parser->clauses->len - 1);
    }
  else
    {
      clause = g_ptr_array_new_with_free_func (term_free);
      g_ptr_array_add (parser->clauses, clause);
    }
  parser->pending_or = FALSE;

  g_ptr_array_add (clause, term);
  parser->n_terms++;
}

static void
add_full_text_term (Parser     *parser,
                    const char *column,
                    gboolean    negated,
                    const char *text,
                    gsize       len,
                    gboolean    prefix)
{
  g_autofree char *bounded = copy_bounded (text, len);
  Term *term;

  /* An OR or NOT before a word that is left out goes with it. */
  if (!has_word_characters (bounded))
    {
      parser->pending_or = FALSE;
      parser->pending_not = FALSE;
      return;
    }

  term = g_new0 (Term, 1);
  term->kind = TERM_FULL_TEXT;
  term->negated = negated;
  term->fts = make_fts_phrase (column, bounded, prefix);
  if (term->fts == NULL)
    {
      g_free (term);
      parser->pending_or = FALSE;
      parser->pending_not = FALSE;
      return;
    }
  add_term (parser, term);
}

static void
add_simple_term (Parser   *parser,
                 TermKind  kind,
                 gboolean  negated,
                 gint64    time)
{
  Term *term = g_new0 (Term, 1);

  term->kind = kind;
  term->negated = negated;
  term->time = time;
  add_term (parser, term);
}

static gboolean
add_date_term (Parser      *parser,
               TermKind     kind,
               gboolean     negated,
               const char  *word,
               gsize        word_len,
               const char  *value,
               GError     **error)
{
  g_autoptr(GDateTime) start = NULL;
  int year, month, day;

  if (read_day (value, &year, &month, &day))
    {
      if (parser->time_zone == NULL)
        parser->time_zone = g_time_zone_new_local ();
      start = g_date_time_new (parser->time_zone, year, month, day, 0, 0, 0);
    }

  if (start == NULL)
    {
      g_autofree char *bounded = copy_bounded (word, word_len);

      g_set_error (error,
                   TERN_SEARCH_QUERY_ERROR,
                   TERN_SEARCH_QUERY_ERROR_BAD_DATE,
                   "“%s” does not hold a date: write the day as YYYY-MM-DD",
                   bounded);
      return FALSE;
    }

  add_simple_term (parser, kind, negated, g_date_time_to_unix (start));

  return TRUE;
}

/* @word is the whole of `key:value` as typed, @value the part after the
 * colon without its quotes. */
static gboolean
add_keyword_term (Parser      *parser,
                  Key          key,
                  gboolean     negated,
                  const char  *word,
                  gsize        word_len,
                  const char  *value_start,
                  gsize        value_len,
                  gboolean     prefix,
                  GError     **error)
{
  g_autofree char *value = copy_bounded (value_start, value_len);

  switch (key)
    {
    case KEY_FROM:
      add_full_text_term (parser, "sender", negated, value, strlen (value), prefix);
      return TRUE;

    case KEY_TO:
      add_full_text_term (parser, "recipients", negated, value, strlen (value), prefix);
      return TRUE;

    case KEY_SUBJECT:
      add_full_text_term (parser, "subject", negated, value, strlen (value), prefix);
      return TRUE;

    case KEY_HAS:
      if (value_is (value, "attachment") || value_is (value, "attachments"))
        {
          add_simple_term (parser, TERM_HAS_ATTACHMENT, negated, 0);
          return TRUE;
        }
      break;

    case KEY_IS:
      if (value_is (value, "unread"))
        {
          add_simple_term (parser, TERM_UNREAD, negated, 0);
          return TRUE;
        }
      if (value_is (value, "read"))
        {
          add_simple_term (parser, TERM_READ, negated, 0);
          return TRUE;
        }
      if (value_is (value, "flagged") || value_is (value, "starred"))
        {
          add_simple_term (parser, TERM_FLAGGED, negated, 0);
          return TRUE;
        }
      break;

    case KEY_BEFORE:
      return add_date_term (parser, TERM_BEFORE, negated, word, word_len, value, error);

    case KEY_AFTER:
      return add_date_term (parser, TERM_AFTER, negated, word, word_len, value, error);

    case KEY_NONE:
    default:
      g_assert_not_reached ();
    }

  /* An is: or has: the language does not know is text, as "foo:bar" is. */
  add_full_text_term (parser, NULL, negated, word, word_len, prefix);

  return TRUE;
}

static gboolean
parse_text (Parser      *parser,
            const char  *text,
            GError     **error)
{
  const char *p = text;

  while (parser->n_terms < TERN_SEARCH_QUERY_MAX_TERMS)
    {
      const char *start;
      const char *colon;
      const char *value;
      gsize len, value_len;
      gboolean negated = FALSE;
      gboolean closed;
      Key key = KEY_NONE;

      p = skip_spaces (p);
      if (*p == '\0')
        break;

      if (*p == '-')
        {
          p++;
          if (*p == '\0' || is_space_at (p))
            continue;
          negated = TRUE;
        }

      if (*p == '"')
        {
          p = read_quoted (p, &value, &value_len, &closed);
          add_full_text_term (parser, NULL, negated, value, value_len, !closed);
          continue;
        }

      /* A word runs to the next space or quote. */
      start = p;
      while (*p != '\0' && *p != '"' && !is_space_at (p))
        p = g_utf8_next_char (p);
      len = p - start;

      colon = memchr (start, ':', len);
      if (colon != NULL)
        key = lookup_key (start, colon - start);

      if (key != KEY_NONE)
        {
          gboolean prefix = TRUE;

          value = colon + 1;
          value_len = p - value;
          if (value_len == 0 && *p == '"')
            {
              p = read_quoted (p, &value, &value_len, &closed);
              prefix = !closed;
            }

          if (!add_keyword_term (parser, key, negated, start, p - start,
                                 value, value_len, prefix, error))
            return FALSE;
          continue;
        }

      if (!negated && word_equals (start, len, "OR"))
        {
          parser->pending_or = parser->clauses->len > 0;
          continue;
        }

      if (!negated && word_equals (start, len, "AND"))
        {
          parser->pending_or = FALSE;
          continue;
        }

      if (!negated && word_equals (start, len, "NOT"))
        {
          parser->pending_not = !parser->pending_not;
          continue;
        }

      add_full_text_term (parser, NULL, negated, start, len, TRUE);
    }

  return TRUE;
}

static ClauseRole
clause_role (GPtrArray *clause)
{
  const Term *first = g_ptr_array_index (clause, 0);

  if (clause->len == 1 && first->kind == TERM_FULL_TEXT && first->negated)
    return CLAUSE_FTS_NEGATED;

  for (guint i = 0; i < clause->len; i++)
    {
      const Term *term = g_ptr_array_index (clause, i);

      if (term->kind != TERM_FULL_TEXT || term->negated)
        return CLAUSE_SQL;
    }

  return CLAUSE_FTS;
}

static void
append_fts_clause (GString   *expression,
                   GPtrArray *clause)
{
  if (clause->len > 1)
    g_string_append_c (expression, '(');

  for (guint i = 0; i < clause->len; i++)
    {
      const Term *term = g_ptr_array_index (clause, i);

      if (i > 0)
        g_string_append (expression, " OR ");
      g_string_append (expression, term->fts);
    }

  if (clause->len > 1)
    g_string_append_c (expression, ')');
}

/* The clauses of plain full-text terms, ANDed, with the negated full-text
 * words after them as NOT; %NULL when no clause is made only of plain
 * full-text terms, as FTS5 has no NOT without something to take from. */
static char *
make_fts_match (GPtrArray *clauses)
{
  g_autoptr(GString) positive = g_string_new (NULL);
  g_autoptr(GString) negative = g_string_new (NULL);
  guint n_positive = 0;

  for (guint i = 0; i < clauses->len; i++)
    {
      GPtrArray *clause = g_ptr_array_index (clauses, i);
      const Term *first = g_ptr_array_index (clause, 0);

      switch (clause_role (clause))
        {
        case CLAUSE_FTS:
          if (n_positive++ > 0)
            g_string_append (positive, " AND ");
          append_fts_clause (positive, clause);
          break;

        case CLAUSE_FTS_NEGATED:
          g_string_append_printf (negative, " NOT %s", first->fts);
          break;

        case CLAUSE_SQL:
        default:
          break;
        }
    }

  if (n_positive == 0)
    return NULL;

  if (negative->len == 0)
    return g_string_free (g_steal_pointer (&positive), FALSE);

  if (n_positive > 1)
    {
      g_string_prepend_c (positive, '(');
      g_string_append_c (positive, ')');
    }
  g_string_append (positive, negative->str);

  return g_string_free (g_steal_pointer (&positive), FALSE);
}

static void
add_param_string (GPtrArray  *params,
                  const char *value)
{
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_string (value)));
}

static void
add_param_int64 (GPtrArray *params,
                 gint64     value)
{
  g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (value)));
}

static void
append_term_sql (GString    *where,
                 GPtrArray  *params,
                 const Term *term)
{
  if (term->negated)
    g_string_append (where, "NOT ");
  g_string_append_c (where, '(');

  switch (term->kind)
    {
    case TERM_FULL_TEXT:
      g_string_append (where, "m.id IN (" FTS_SUBQUERY ")");
      add_param_string (params, term->fts);
      break;

    case TERM_HAS_ATTACHMENT:
      g_string_append (where, "m.has_attachments != 0");
      break;

    case TERM_UNREAD:
      g_string_append_printf (where, "(m.flags & %d) = 0", UNREAD_MASK);
      break;

    case TERM_READ:
      g_string_append_printf (where, "(m.flags & %d) != 0", UNREAD_MASK);
      break;

    case TERM_FLAGGED:
      g_string_append_printf (where, "(m.flags & %d) != 0", TERN_MESSAGE_FLAG_FLAGGED);
      break;

    case TERM_BEFORE:
      g_string_append (where, "m.date < ?");
      add_param_int64 (params, term->time);
      break;

    case TERM_AFTER:
      g_string_append (where, "m.date >= ?");
      add_param_int64 (params, term->time);
      break;

    default:
      g_assert_not_reached ();
    }

  g_string_append_c (where, ')');
}

static void
begin_part (GString *where,
            guint   *n_parts)
{
  if ((*n_parts)++ > 0)
    g_string_append (where, " AND ");
}

static gboolean
build_sql (TernSearchQuery *self,
           GString         *where,
           GPtrArray       *params,
           gboolean         with_fts_match)
{
  g_autoptr(GString) negative = g_string_new (NULL);
  guint n_parts = 0;

  g_string_append_c (where, '(');

  if (self->fts_match != NULL && with_fts_match)
    {
      begin_part (where, &n_parts);
      g_string_append (where, "m.id IN (" FTS_SUBQUERY ")");
      add_param_string (params, self->fts_match);
    }

  for (guint i = 0; i < self->clauses->len; i++)
    {
      GPtrArray *clause = g_ptr_array_index (self->clauses, i);
      const Term *first = g_ptr_array_index (clause, 0);

      switch (clause_role (clause))
        {
        case CLAUSE_FTS:
          /* Always part of the FTS match. */
          break;

        case CLAUSE_FTS_NEGATED:
          /* Part of the FTS match when there is one; otherwise all of them
           * leave out the messages of one sub-select. */
          if (self->fts_match == NULL)
            {
              if (negative->len > 0)
                g_string_append (negative, " OR ");
              g_string_append (negative, first->fts);
            }
          break;

        case CLAUSE_SQL:
          begin_part (where, &n_parts);
          if (clause->len > 1)
            g_string_append_c (where, '(');
          for (guint j = 0; j < clause->len; j++)
            {
              if (j > 0)
                g_string_append (where, " OR ");
              append_term_sql (where, params, g_ptr_array_index (clause, j));
            }
          if (clause->len > 1)
            g_string_append_c (where, ')');
          break;

        default:
          g_assert_not_reached ();
        }
    }

  if (negative->len > 0)
    {
      begin_part (where, &n_parts);
      g_string_append (where, "m.id NOT IN (" FTS_SUBQUERY ")");
      add_param_string (params, negative->str);
    }

  if (n_parts == 0)
    g_string_append_c (where, '1');

  g_string_append_c (where, ')');

  return n_parts > 0;
}

/**
 * tern_search_query_parse:
 * @text: what the user typed
 * @error: return location for a #GError
 *
 * Parses a search as the search bar takes it; dates are days in local time.
 * See tern_search_query_parse_full().
 *
 * Returns: (transfer full) (nullable): the query, or %NULL with
 *   %TERN_SEARCH_QUERY_ERROR_BAD_DATE.
 */
TernSearchQuery *
tern_search_query_parse (const char  *text,
                         GError     **error)
{
  return tern_search_query_parse_full (text, NULL, error);
}

/**
 * tern_search_query_parse_full:
 * @text: what the user typed, UTF-8 (invalid bytes are replaced)
 * @time_zone: (nullable): the time zone of the days in `before:` and
 *   `after:`, or %NULL for local time
 * @error: return location for a #GError
 *
 * Parses a search.  Any text is a query, perhaps an empty one that matches
 * every message; the one error is a `before:` or `after:` word whose date
 * cannot be read, and its message names that word.  Only the first
 * %TERN_SEARCH_QUERY_MAX_TERMS terms count.
 *
 * The query does not change once made, and may be used from any thread.
 *
 * Returns: (transfer full) (nullable): the query, or %NULL with
 *   %TERN_SEARCH_QUERY_ERROR_BAD_DATE.
 */
TernSearchQuery *
tern_search_query_parse_full (const char  *text,
                              GTimeZone   *time_zone,
                              GError     **error)
{
  g_autofree char *valid = NULL;
  Parser parser = { 0 };
  TernSearchQuery *self;
  gboolean ok;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  valid = g_utf8_make_valid (text, -1);

  parser.clauses = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  if (time_zone != NULL)
    parser.time_zone = g_time_zone_ref (time_zone);

  ok = parse_text (&parser, valid, error);
  g_clear_pointer (&parser.time_zone, g_time_zone_unref);

  if (!ok)
    {
      g_ptr_array_unref (parser.clauses);
      return NULL;
    }

  self = g_atomic_rc_box_new0 (TernSearchQuery);
  self->text = g_steal_pointer (&valid);
  self->clauses = parser.clauses;
  self->fts_match = make_fts_match (self->clauses);

  return self;
}

/**
 * tern_search_query_ref:
 *
 * Returns: (transfer full): @self
 */
TernSearchQuery *
tern_search_query_ref (TernSearchQuery *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

static void
tern_search_query_clear (gpointer data)
{
  TernSearchQuery *self = data;

  g_clear_pointer (&self->text, g_free);
  g_clear_pointer (&self->clauses, g_ptr_array_unref);
  g_clear_pointer (&self->fts_match, g_free);
}

void
tern_search_query_unref (TernSearchQuery *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, tern_search_query_clear);
}

/**
 * tern_search_query_get_text:
 *
 * Returns: (transfer none): the text the query was parsed from, made valid
 *   UTF-8.
 */
const char *
tern_search_query_get_text (TernSearchQuery *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->text;
}

/**
 * tern_search_query_is_empty:
 *
 * Returns: %TRUE when the query asks nothing, so that every message matches:
 *   the text was empty, or held only spaces, operators and punctuation.
 */
gboolean
tern_search_query_is_empty (TernSearchQuery *self)
{
  g_return_val_if_fail (self != NULL, TRUE);

  return self->clauses->len == 0;
}

/**
 * tern_search_query_get_fts_match:
 *
 * The FTS5 expression that every message the query finds matches in
 * `message_fts`, for a plan that starts from the full-text index:
 *
 * |[
 * SELECT … FROM message_fts JOIN messages AS m ON m.id = message_fts.rowid
 * WHERE message_fts MATCH ?1 AND <tern_search_query_build_filter_sql()>
 * ]|
 *
 * Returns: (transfer none) (nullable): the expression, to be bound as a
 *   parameter, or %NULL when the query has no full-text word that every
 *   result must contain (no words, only negated ones, or words only inside
 *   an OR with flags or dates).
 */
const char *
tern_search_query_get_fts_match (TernSearchQuery *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->fts_match;
}

/**
 * tern_search_query_build_sql:
 * @self: a #TernSearchQuery
 * @where: where to append the condition
 * @params: (element-type GVariant): where to append its parameters, an array
 *   made with g_variant_unref() as its free function
 *
 * Appends to @where one parenthesised SQL condition over `messages AS m`
 * that holds for the messages the query finds, with a `?` for each
 * parameter, and appends the parameters to @params in the same order: a
 * string (`s`) for an FTS5 expression, an int64 (`x`) for a time in unix
 * seconds.  Bind them with tern_search_query_bind().  The condition can
 * follow `AND` in any WHERE clause; it is `(1)` for an empty query.
 *
 * Returns: %TRUE when the condition restricts the messages, %FALSE when it
 *   is `(1)`.
 */
gboolean
tern_search_query_build_sql (TernSearchQuery *self,
                             GString         *where,
                             GPtrArray       *params)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (where != NULL, FALSE);
  g_return_val_if_fail (params != NULL, FALSE);

  return build_sql (self, where, params, TRUE);
}

/**
 * tern_search_query_build_filter_sql:
 * @self: a #TernSearchQuery
 * @where: where to append the condition
 * @params: (element-type GVariant): where to append its parameters
 *
 * Like tern_search_query_build_sql(), without the condition that
 * tern_search_query_get_fts_match() states, for a plan that matches
 * `message_fts` itself.  With no FTS match, the two are the same.
 *
 * Returns: %TRUE when the condition restricts the messages, %FALSE when it
 *   is `(1)`.
 */
gboolean
tern_search_query_build_filter_sql (TernSearchQuery *self,
                                    GString         *where,
                                    GPtrArray       *params)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (where != NULL, FALSE);
  g_return_val_if_fail (params != NULL, FALSE);

  return build_sql (self, where, params, FALSE);
}

/**
 * tern_search_query_bind:
 * @params: (element-type GVariant): parameters, as the build functions add
 *   them; strings (`s`), int64 (`x`), int32 (`i`), booleans (`b`) and
 *   doubles (`d`) can be bound
 * @stmt: the prepared statement
 * @first_index: the index of the `?` of the first parameter (1 for the
 *   first of the statement)
 *
 * Binds each parameter to the next `?`.  SQLite keeps its own copy of
 * each value.
 *
 * Returns: %SQLITE_OK, or the SQLite result code of the first bind that
 *   failed.
 */
int
tern_search_query_bind (GPtrArray    *params,
                        sqlite3_stmt *stmt,
                        int           first_index)
{
  g_return_val_if_fail (params != NULL, SQLITE_MISUSE);
  g_return_val_if_fail (stmt != NULL, SQLITE_MISUSE);

  for (guint i = 0; i < params->len; i++)
    {
      GVariant *value = g_ptr_array_index (params, i);
      int index = first_index + (int) i;
      int rc;

      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        rc = sqlite3_bind_text (stmt, index, g_variant_dup_string (value, NULL), -1, g_free);
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
        rc = sqlite3_bind_int64 (stmt, index, g_variant_get_int64 (value));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
        rc = sqlite3_bind_int (stmt, index, g_variant_get_int32 (value));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        rc = sqlite3_bind_int (stmt, index, g_variant_get_boolean (value) ? 1 : 0);
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
        rc = sqlite3_bind_double (stmt, index, g_variant_get_double (value));
      else
        {
          g_critical ("Cannot bind a parameter of type “%s”",
                      g_variant_get_type_string (value));
          rc = SQLITE_MISUSE;
        }

      if (rc != SQLITE_OK)
        return rc;
    }

  return SQLITE_OK;
}
