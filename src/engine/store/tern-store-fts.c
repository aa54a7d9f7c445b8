/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mime-message.h"
#include "tern-store-private.h"

/*
 * The words a message gives the search index, made before the writer
 * thread takes the message.
 *
 * The index (message_fts) folds case and diacritics with FTS5's unicode61
 * tokenizer and keeps, for each word, only the columns of each message it
 * is in (detail = column): neither how often a word comes nor where.  A
 * body of 10 KB holds some 1,500 words, fewer than half of them different,
 * and the writer thread, the one thread that can fill the index, spent
 * most of its time splitting, folding and hashing words, the same ones
 * again and again.
 *
 * So each column's text is turned here, on any thread, into its distinct
 * words, folded by the very same tokenizer (called outside SQL, through the
 * fts5_api of a private connection), in the order they first come, joined
 * by single spaces.  The index gets that text: unicode61 reads it again,
 * fast, and finds the same words, as its folding is idempotent (folded
 * text folds to itself; a test checks every code point).  The index holds
 * exactly what it held when it read the whole text, so queries, which it
 * still folds itself, match as before, and an index made before stays
 * valid.
 */

/* Longer ASCII words go through the tokenizer, as others do. */
#define ASCII_WORD_MAX 64

/* The index's tokenizer, as the schema names it. */
static const char *const fold_arguments[] = { "remove_diacritics", "2" };

typedef struct
{
  fts5_tokenizer module;
  void *user_data;
} Folding;

static Folding folding;

/* The private connection owns the tokenizer module; it stays open for the
 * life of the process. */
static sqlite3 *folding_db;

/* For each ASCII byte, what it is in a word: 0 for a separator, else the
 * byte folded; every other byte starts or continues a non-ASCII run. */
#define NON_ASCII 0xff
static guint8 ascii_fold[256];

static void
ascii_fold_init (void)
{
  for (guint c = 0; c < 256; c++)
    {
      if (c >= 0x80)
        ascii_fold[c] = NON_ASCII;
      else if (g_ascii_isalnum (c))
        ascii_fold[c] = g_ascii_tolower (c);
      else
        ascii_fold[c] = 0;
    }
}

static fts5_api *
get_fts5_api (sqlite3 *db)
{
  fts5_api *api = NULL;
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT fts5 (?1)", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_pointer (stmt, 1, &api, "fts5_api_ptr", NULL);
  sqlite3_step (stmt);
  sqlite3_finalize (stmt);

  return api;
}

static gboolean
folding_init (void)
{
  static gsize done = 0;
  static gboolean ready = FALSE;

  if (g_once_init_enter (&done))
    {
      fts5_api *api = NULL;

      ascii_fold_init ();
      if (sqlite3_open_v2 (":memory:", &folding_db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
        api = get_fts5_api (folding_db);

      if (api != NULL &&
          api->xFindTokenizer (api, "unicode61", &folding.user_data, &folding.module) == SQLITE_OK)
        ready = TRUE;
      else
        g_critical ("SQLite has no FTS5 unicode61 tokenizer: %s", sqlite3_errmsg (folding_db));

      g_once_init_leave (&done, 1);
    }

  return ready;
}

static void
free_thread_tokenizer (gpointer data)
{
  folding.module.xDelete (data);
}

/* A tokenizer keeps a buffer: one for each thread. */
static GPrivate thread_tokenizer = G_PRIVATE_INIT (free_thread_tokenizer);

static Fts5Tokenizer *
get_thread_tokenizer (void)
{
  Fts5Tokenizer *tokenizer = g_private_get (&thread_tokenizer);

  if (tokenizer != NULL)
    return tokenizer;

  if (!folding_init ())
    return NULL;

  if (folding.module.xCreate (folding.user_data, (const char **) fold_arguments,
                              G_N_ELEMENTS (fold_arguments), &tokenizer) != SQLITE_OK)
    return NULL;

  g_private_set (&thread_tokenizer, tokenizer);
  return tokenizer;
}

/* The distinct words of one text, as they are found: an open-addressing
 * set of the words already written to @out. */
typedef struct
{
  guint32 start;
  guint32 length;
  guint32 hash;
} Slot;

typedef struct
{
  GString *out;
  Slot *slots;
  guint n_slots;  /* a power of two; 0 marks an empty slot's length */
  guint n_used;
} WordSet;

/* Room a word needs past the end of @out: a space, the word, and the
 * bytes hash_bytes() reads past a word's end. */
#define WORD_ROOM (1 + ASCII_WORD_MAX + 8)

/* The first @n bytes (1 to 8) of @word as one number: a word is hashed
 * eight bytes at a time. */
static inline guint64
load_bytes (const char *word,
            int         n)
{
  guint64 value;

  memcpy (&value, word, sizeof value);
  if (n >= 8)
    return value;

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return value & (G_MAXUINT64 >> (64 - 8 * n));
#else
  return value & (G_MAXUINT64 << (64 - 8 * n));
#endif
}

/* A hash of @word, which must have 8 readable bytes past its end (they
 * do not count).  Every bit of the result depends on every byte. */
static inline guint32
hash_bytes (const char *word,
            int         length)
{
  guint64 hash = 0x9e3779b97f4a7c15u ^ (guint64) length;

  for (int i = 0; i < length; i += 8)
    {
      hash ^= load_bytes (word + i, length - i);
      hash *= 0xff51afd7ed558ccdu;
      hash ^= hash >> 32;
    }
  hash *= 0xc4ceb9fe1a85ec53u;

  return (guint32) (hash >> 32);
}

/* A thread's slots, kept from one text to the next: a new table each
 * time came from memory the system had to clear, and left the processor's
 * cache cold.  A table grown larger than this is not kept. */
#define KEPT_SLOTS_MAX (1u << 14)

typedef struct
{
  Slot *slots;
  guint n_slots;
} KeptSlots;

static void
free_kept_slots (gpointer data)
{
  KeptSlots *kept = data;

  g_free (kept->slots);
  g_free (kept);
}

static GPrivate thread_slots = G_PRIVATE_INIT (free_kept_slots);

static void
word_set_grow (WordSet *set)
{
  guint n_slots = set->n_slots * 2;
  Slot *slots = g_new0 (Slot, n_slots);

  for (guint i = 0; i < set->n_slots; i++)
    {
      Slot *slot = &set->slots[i];
      guint j;

      if (slot->length == 0)
        continue;
      for (j = slot->hash & (n_slots - 1); slots[j].length != 0; j = (j + 1) & (n_slots - 1))
        ;
      slots[j] = *slot;
    }

  g_free (set->slots);
  set->slots = slots;
  set->n_slots = n_slots;
}

/* Makes room for a word of up to @length bytes at the end of the output,
 * and returns where it goes, past a space when words come before. */
static inline char *
word_set_reserve (WordSet *set,
                  gsize    length)
{
  GString *out = set->out;

  if (out->allocated_len - out->len <= length + 9)
    {
      gsize len = out->len;

      g_string_set_size (out, len + length + 9);
      g_string_truncate (out, len);
    }

  return out->str + out->len + (out->len > 0);
}

/*
 * Adds the word written at the end of the output (by word_set_reserve())
 * unless it is there already: then the output stays as it was.
 */
G_ALWAYS_INLINE static inline void
word_set_commit (WordSet *set,
                 int      length)
{
  GString *out = set->out;
  guint32 start = out->len + (out->len > 0);
  const char *word = out->str + start;
  guint32 hash = hash_bytes (word, length);
  guint mask = set->n_slots - 1;
  guint i;

  for (i = hash & mask; set->slots[i].length != 0; i = (i + 1) & mask)
    {
      Slot *slot = &set->slots[i];

      if (slot->hash == hash && slot->length == (guint32) length &&
          memcmp (out->str + slot->start, word, length) == 0)
        return;
    }

  if (out->len > 0)
    out->str[out->len] = ' ';
  set->slots[i].start = start;
  set->slots[i].length = length;
  set->slots[i].hash = hash;
  out->len = start + length;

  /* At most half full. */
  if (++set->n_used * 2 > set->n_slots)
    word_set_grow (set);
}

static int
add_word_cb (void       *user_data,
             int         flags,
             const char *word,
             int         length,
             int         start,
             int         end)
{
  WordSet *set = user_data;

  if (length > 0)
    {
      memcpy (word_set_reserve (set, length), word, length);
      word_set_commit (set, length);
    }

  return SQLITE_OK;
}

/**
 * tern_store_fts_words:
 * @text: (nullable): a text, UTF-8
 * @length: its length in bytes, or -1 when it ends with a nul
 *
 * The words of @text as the search index keeps them: folded as the index
 * folds them, each once, in the order they first come, joined by single
 * spaces.  Giving the index this text instead of @text changes nothing in
 * it.  Runs on any thread.
 *
 * Returns: (transfer full): the words, "" for a text without any.
 */
char *
tern_store_fts_words (const char *text,
                      gssize      length)
{
  Fts5Tokenizer *tokenizer;
  WordSet set = { 0 };
  KeptSlots *kept;
  Slot *kept_slots;

  if (text == NULL)
    return g_strdup ("");
  if (length < 0)
    length = strlen (text);
  /* FTS5 takes texts of up to 2 GB; the index keeps far less. */
  length = MIN (length, G_MAXINT32 / 2);

  tokenizer = get_thread_tokenizer ();
  if (tokenizer == NULL)
    {
      /* The index folds the text itself then: slower, the same words. */
      return g_strndup (text, length);
    }

  /* ASCII words take no more room than they had in the text. */
  set.out = g_string_sized_new (MIN ((gsize) length, 64 * 1024) + WORD_ROOM);
  /* About one word in two is new in a body. */
  set.n_slots = 64;
  while (set.n_slots < (guint) length / 8 && set.n_slots < (1u << 16))
    set.n_slots *= 2;
  kept = g_private_get (&thread_slots);
  if (kept == NULL)
    {
      kept = g_new0 (KeptSlots, 1);
      g_private_set (&thread_slots, kept);
    }
  if (kept->n_slots < set.n_slots)
    {
      g_free (kept->slots);
      kept->slots = g_new (Slot, set.n_slots);
      kept->n_slots = set.n_slots;
    }
  kept_slots = set.slots = kept->slots;
  memset (set.slots, 0, set.n_slots * sizeof (Slot));

  /* Mail is mostly ASCII, where the tokenizer's rules are simple: a word
   * is a run of letters and digits, and folding makes capitals small.
   * ASCII words are done here, folded straight into the output; a run
   * with any other character, between ASCII separators, goes to the
   * tokenizer whole.  As unicode61 splits at every ASCII character but a
   * letter or a digit, the words are the same. */
  for (const guint8 *p = (const guint8 *) text, *end = p + length; p < end;)
    {
      const guint8 *start;
      guint8 folded = ascii_fold[*p];
      char *word;
      int n = 0;

      if (folded == 0)
        {
          p++;
          continue;
        }

      start = p;
      word = word_set_reserve (&set, ASCII_WORD_MAX);
      while (folded != 0 && folded != NON_ASCII)
        {
          if (n < ASCII_WORD_MAX)
            word[n++] = folded;
          if (++p == end)
            break;
          folded = ascii_fold[*p];
        }

      if (p == end || folded == 0)
        {
          if (p - start <= ASCII_WORD_MAX)
            {
              word_set_commit (&set, n);
              continue;
            }
        }
      else
        {
          while (p < end && ascii_fold[*p] != 0)
            p++;
        }

      folding.module.xTokenize (tokenizer, &set, FTS5_TOKENIZE_DOCUMENT, (const char *) start,
                                p - start, add_word_cb);
    }

  /* Growing freed the kept table. */
  if (set.slots != kept_slots)
    {
      kept->slots = set.slots;
      kept->n_slots = set.n_slots;
    }
  if (kept->n_slots > KEPT_SLOTS_MAX)
    {
      g_clear_pointer (&kept->slots, g_free);
      kept->n_slots = 0;
    }
  set.out->str[set.out->len] = '\0';
  return g_string_free (set.out, FALSE);
}

/* The writer's tokenizer */

/*
 * The writer reads the words again when it fills the index: FTS5 runs
 * them through unicode61 once more, which costs the one thread that can
 * fill the index about a sixth of its time.  Nearly all of that text is
 * lower-case ASCII letters and digits between single spaces, and for
 * such a run unicode61 gives the run itself as one token: these are its
 * token characters, folding leaves them as they are, and a space always
 * separates.
 *
 * So the writer's connection gets its own "unicode61", in front of the
 * built-in one, which gives those runs to the index directly and hands
 * every other run, whole, to the built-in tokenizer.  Since a token never
 * spans a space, cutting the text at spaces first changes nothing: any
 * text gets exactly the tokens unicode61 gives it (a test compares them
 * for every code point), so the index, its queries and the connections
 * without this tokenizer agree.
 */

typedef struct
{
  fts5_tokenizer module;
  void *user_data;
} BuiltinTokenizer;

typedef struct
{
  const BuiltinTokenizer *builtin;
  Fts5Tokenizer *inner;
  /* Whether the arguments leave the built-in rules for ASCII letters and
   * digits as they are: only remove_diacritics then. */
  gboolean direct;
} RunsTokenizer;

/* Bytes that make a run unicode61 gives as it is: a-z and 0-9. */
static gboolean plain_byte[256];

static void
plain_byte_init (void)
{
  for (guint c = 0; c < 256; c++)
    plain_byte[c] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
runs_create (void                *user_data,
             const char         **arguments,
             int                  n_arguments,
             Fts5Tokenizer      **out)
{
  const BuiltinTokenizer *builtin = user_data;
  RunsTokenizer *self;
  Fts5Tokenizer *inner = NULL;
  int rc;

  rc = builtin->module.xCreate (builtin->user_data, arguments, n_arguments, &inner);
  if (rc != SQLITE_OK)
    return rc;

  self = g_new0 (RunsTokenizer, 1);
  self->builtin = builtin;
  self->inner = inner;
  self->direct = n_arguments % 2 == 0;
  for (int i = 0; i + 1 < n_arguments; i += 2)
    {
      if (g_ascii_strcasecmp (arguments[i], "remove_diacritics") != 0)
        self->direct = FALSE;
    }

  *out = (Fts5Tokenizer *) self;
  return SQLITE_OK;
}

static void
runs_delete (Fts5Tokenizer *tokenizer)
{
  RunsTokenizer *self = (RunsTokenizer *) tokenizer;

  self->builtin->module.xDelete (self->inner);
  g_free (self);
}

/* A run given to the built-in tokenizer: its offsets count from the
 * start of the whole text. */
typedef struct
{
  void *context;
  int (*token) (void *, int, const char *, int, int, int);
  int offset;
} RunContext;

static int
run_token_cb (void       *user_data,
              int         flags,
              const char *token,
              int         length,
              int         start,
              int         end)
{
  RunContext *run = user_data;

  return run->token (run->context, flags, token, length, run->offset + start, run->offset + end);
}

static int
runs_tokenize (Fts5Tokenizer *tokenizer,
               void          *context,
               int            flags,
               const char    *text,
               int            length,
               int          (*token) (void *, int, const char *, int, int, int))
{
  RunsTokenizer *self = (RunsTokenizer *) tokenizer;
  const fts5_tokenizer *module = &self->builtin->module;
  int rc = SQLITE_OK;
  int i = 0;

  if (!self->direct || flags != FTS5_TOKENIZE_DOCUMENT)
    return module->xTokenize (self->inner, context, flags, text, length, token);

  while (i < length && rc == SQLITE_OK)
    {
      int start;
      gboolean plain = TRUE;

      if (text[i] == ' ')
        {
          i++;
          continue;
        }

      for (start = i; i < length && text[i] != ' '; i++)
        plain &= plain_byte[(guint8) text[i]];

      if (plain)
        {
          rc = token (context, 0, text + start, i - start, start, i);
        }
      else
        {
          RunContext run = { context, token, start };

          rc = module->xTokenize (self->inner, &run, flags, text + start, i - start,
                                  run_token_cb);
        }
    }

  /* As unicode61: the index may stop it early. */
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/**
 * tern_store_fts_use_runs_tokenizer:
 * @index: a connection to the index, before it uses message_fts
 *
 * Puts the tokenizer described above in front of the built-in unicode61
 * on @index.  It gives every text the tokens unicode61 gives it, faster
 * for the words tern_store_fts_words() makes.  Without FTS5, or when it
 * cannot be set up, @index keeps the built-in one.
 *
 * Returns: whether @index uses it now.
 */
gboolean
tern_store_fts_use_runs_tokenizer (sqlite3 *index)
{
  static gsize done = 0;
  fts5_api *api = get_fts5_api (index);
  BuiltinTokenizer *builtin;
  static const fts5_tokenizer runs = { runs_create, runs_delete, runs_tokenize };

  if (g_once_init_enter (&done))
    {
      plain_byte_init ();
      g_once_init_leave (&done, 1);
    }

  if (api == NULL)
    return FALSE;

  builtin = g_new0 (BuiltinTokenizer, 1);
  if (api->xFindTokenizer (api, "unicode61", &builtin->user_data, &builtin->module) != SQLITE_OK ||
      builtin->module.xCreate == runs_create)
    {
      gboolean already = builtin->module.xCreate == runs_create;

      g_free (builtin);
      return already;
    }

  /* The connection frees @builtin with its tokenizers. */
  if (api->xCreateTokenizer (api, "unicode61", builtin, (fts5_tokenizer *) &runs,
                             g_free) != SQLITE_OK)
    {
      g_free (builtin);
      return FALSE;
    }

  return TRUE;
}

/* The writer's settings */

/* The words of new mail gather in memory up to this size before they go
 * to the index as a new segment.  FTS5 flushes them at 1 MB by default,
 * several times a batch, and every segment is merged again later; a much
 * larger table is slower to fill, as it no longer fits the processor's
 * cache.  Measured: 2 to 4 MB fill fastest. */
#define FTS_HASH_SIZE (4 * 1024 * 1024)

/* How many segments of one size FTS5 lets gather before it merges them
 * into one of the next size (4 by default).  Every merge writes the words
 * again; with 8, a word of 100,000 messages is written about a third
 * fewer times, and searches, which read every segment, were as fast
 * (measured on 100,000 messages; with 16 they took three times longer). */
#define FTS_AUTOMERGE 8

/* The writer's page cache: merging segments reads again what the last
 * batches wrote. */
#define WRITER_CACHE_KB (32 * 1024)

/**
 * tern_store_fts_tune:
 * @index: the writer connection to the index
 *
 * Sets how the writer fills the search index.  The FTS5 settings are kept
 * in the index; they are written only when they differ.
 */
gboolean
tern_store_fts_tune (sqlite3  *index,
                     GError  **error)
{
  static const struct {
    const char *key;
    int value;
  } settings[] = {
    { "hashsize", FTS_HASH_SIZE },
    { "automerge", FTS_AUTOMERGE },
  };
  g_autofree char *cache = g_strdup_printf ("PRAGMA cache_size = -%d", WRITER_CACHE_KB);

  if (!tern_store_exec (index, cache, error))
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;
      gint64 value = -1;

      stmt = tern_store_prepare (index, "SELECT v FROM message_fts_config WHERE k = ?", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, settings[i].key, -1, SQLITE_STATIC);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);

      if (value != settings[i].value)
        {
          g_autofree char *set = NULL;

          set = g_strdup_printf ("INSERT INTO message_fts (message_fts, rank) VALUES ('%s', %d)",
                                 settings[i].key, settings[i].value);
          if (!tern_store_exec (index, set, error))
            return FALSE;
        }
    }

  return TRUE;
}

/* What a message gives the index, column by column. */

static void
append_search_words (GString   *text,
                     GPtrArray *addresses)
{
  for (guint i = 0; addresses != NULL && i < addresses->len; i++)
    {
      const TernAddress *address = g_ptr_array_index (addresses, i);

      if (address->name != NULL && *address->name != '\0')
        {
          g_string_append (text, address->name);
          g_string_append_c (text, ' ');
        }
      if (address->address != NULL)
        {
          g_string_append (text, address->address);
          g_string_append_c (text, ' ');
        }
    }
}

/**
 * tern_store_fts_text_new:
 * @mime: the parsed message
 *
 * The words @mime gives each column of the search index.  The same message
 * always gives the same words: taking a message out of the index depends
 * on it.  Runs on any thread.
 *
 * Returns: (transfer full): the words, for tern_store_fts_text_free().
 */
TernFtsText *
tern_store_fts_text_new (TernMimeMessage *mime)
{
  TernFtsText *fts = g_new0 (TernFtsText, 1);
  GPtrArray *attachments = tern_mime_message_get_attachments (mime);
  g_autoptr(GString) sender = g_string_new (NULL);
  g_autoptr(GString) recipients = g_string_new (NULL);
  g_autoptr(GString) names = g_string_new (NULL);
  const char *body = tern_mime_message_get_body_text (mime);
  gsize body_length;

  append_search_words (sender, tern_mime_message_get_from (mime));
  append_search_words (recipients, tern_mime_message_get_to (mime));
  append_search_words (recipients, tern_mime_message_get_cc (mime));
  append_search_words (recipients, tern_mime_message_get_bcc (mime));

  for (guint i = 0; attachments != NULL && i < attachments->len; i++)
    {
      const TernAttachmentInfo *attachment = g_ptr_array_index (attachments, i);

      if (attachment->filename != NULL && *attachment->filename != '\0')
        {
          g_string_append (names, attachment->filename);
          g_string_append_c (names, ' ');
        }
    }

  if (body == NULL)
    body = "";
  body_length = strlen (body);
  /* Only the start of a long body is indexed, cut on a character boundary. */
  if (body_length > TERN_STORE_FTS_BODY_MAX)
    body_length = g_utf8_find_prev_char (body, body + TERN_STORE_FTS_BODY_MAX + 1) - body;

  fts->columns[TERN_FTS_SUBJECT] = tern_store_fts_words (tern_mime_message_get_subject (mime), -1);
  fts->columns[TERN_FTS_SENDER] = tern_store_fts_words (sender->str, sender->len);
  fts->columns[TERN_FTS_RECIPIENTS] = tern_store_fts_words (recipients->str, recipients->len);
  fts->columns[TERN_FTS_BODY] = tern_store_fts_words (body, body_length);
  fts->columns[TERN_FTS_ATTACHMENTS] = tern_store_fts_words (names->str, names->len);

  return fts;
}

void
tern_store_fts_text_free (TernFtsText *fts)
{
  if (fts == NULL)
    return;

  for (guint i = 0; i < TERN_FTS_N_COLUMNS; i++)
    g_free (fts->columns[i]);
  g_free (fts);
}
