/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * The parser works in two stages.
 *
 * Framing runs as bytes arrive and only decides where a response ends: a
 * response is a line, and when that line ends with a literal's announcement
 * ("{12}", "{12+}", "~{12}") outside a quoted string, the literal's bytes and
 * one more line follow.  Framing looks at nothing but the bytes themselves,
 * so it finds the same ends whatever the chunking was.
 *
 * Once a response is whole, a recursive descent parser reads it into values
 * in one pass over its lines and literals.  Status responses ("A1 OK ...",
 * "* BYE ...") and continuation requests end with free text, where braces
 * mean nothing, so framing never looks for a literal in them.
 */

#include "config.h"

#include <string.h>

#include "tern-imap-parser.h"

G_DEFINE_QUARK (tern-imap-error-quark, tern_imap_error)

G_DEFINE_BOXED_TYPE (TernImapResponse, tern_imap_response,
                     tern_imap_response_ref, tern_imap_response_unref)

/* A response keeps the buffer it was read in only while it is this small. */
#define KEEP_BUFFER_BYTES (1024 * 1024)

typedef struct {
  gsize start;
  gsize len;
} Segment;

struct _TernImapParser {
  /* The bytes of the response being read, CRLFs and literals included. */
  GByteArray *buf;
  /* Lines (even indices) and literals (odd indices) of that response. */
  GArray *segments;
  gsize line_start;
  gboolean in_literal;
  guint64 literal_left;
  /* Whether the first line showed a status response or continuation. */
  gboolean single_line;
  guint64 stream_offset;

  GQueue responses;
  GError *failure;

  gsize max_literal;
  gsize max_response;

  /* The items of the lists being read, innermost last. */
  GPtrArray *stack;
};

/* Values */

/*
 * The values of a response live in a few blocks that belong to the
 * response: a FETCH response with a BODYSTRUCTURE has a hundred values,
 * and one allocation each cost more than reading them.
 */
typedef struct _Block Block;

struct _Block {
  Block *next;
  gsize used;
  gsize size;
};

#define BLOCK_HEADER ((sizeof (Block) + 15) & ~(gsize) 15)
#define BLOCK_BYTES (8192 - BLOCK_HEADER)

/* How large to make blocks for a response: the values of its lines take
 * about three times their bytes, small literals their own size, and a
 * large literal gets a block of its own.  A response stays alive as long
 * as any part of it is used (a header section or a body fetched, for
 * one), so little of a block should go unused. */
static gsize
block_bytes_for (const Segment *segments,
                 guint          n_segments)
{
  gsize lines = 0;
  gsize bytes;

  for (guint i = 0; i < n_segments; i += 2)
    lines += segments[i].len;
  bytes = 3 * lines + 512;
  for (guint i = 1; i < n_segments; i += 2)
    if (segments[i].len <= bytes / 4)
      bytes += segments[i].len + 64;

  return CLAMP (bytes, 1024, BLOCK_BYTES);
}

static gpointer
arena_alloc (Block **arena,
             gsize   block_bytes,
             gsize   size)
{
  Block *block = *arena;
  guint8 *memory;

  size = (size + 15) & ~(gsize) 15;
  if (block == NULL || block->size - block->used < size)
    {
      gboolean own = size > block_bytes / 4;
      gsize bytes = own ? size : block_bytes;
      Block *fresh = g_malloc (BLOCK_HEADER + bytes);

      fresh->used = 0;
      fresh->size = bytes;
      /* A large value takes a block of its own size, behind the current
       * one, which stays in use for the small values. */
      if (block != NULL && own)
        {
          fresh->next = block->next;
          block->next = fresh;
        }
      else
        {
          fresh->next = block;
          *arena = fresh;
        }
      block = fresh;
    }

  memory = (guint8 *) block + BLOCK_HEADER + block->used;
  block->used += size;
  return memory;
}

static void
arena_free (Block *arena)
{
  while (arena != NULL)
    {
      Block *next = arena->next;

      g_free (arena);
      arena = next;
    }
}

/**
 * tern_imap_value_is_atom:
 * @value: (nullable): a value
 * @atom: an atom, compared without regard to ASCII case
 *
 * Returns: whether @value is the atom @atom
 */
gboolean
tern_imap_value_is_atom (const TernImapValue *value,
                         const char          *atom)
{
  return value != NULL &&
         (value->kind == TERN_IMAP_VALUE_ATOM || value->kind == TERN_IMAP_VALUE_NUMBER) &&
         g_ascii_strcasecmp (value->str, atom) == 0;
}

/**
 * tern_imap_value_is_nstring:
 * @value: (nullable): a value
 *
 * Returns: whether @value is a string or NIL
 */
gboolean
tern_imap_value_is_nstring (const TernImapValue *value)
{
  return value != NULL &&
         (value->kind == TERN_IMAP_VALUE_STRING || value->kind == TERN_IMAP_VALUE_NIL);
}

static void
print_escaped (GString    *out,
               const char *str,
               gsize       len)
{
  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      guchar c = str[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20 || c >= 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, c);
    }
  g_string_append_c (out, '"');
}

/**
 * tern_imap_value_print:
 * @value: a value
 * @out: where to append it
 *
 * Appends a one-line, printable form of @value to @out: atoms and numbers as
 * they are, strings quoted with every byte outside printable ASCII escaped
 * (a literal's length and form in front), NIL, lists in parentheses.  The
 * same tree always prints the same; tests and logs use it.
 */
void
tern_imap_value_print (const TernImapValue *value,
                       GString             *out)
{
  switch (value->kind)
    {
    case TERN_IMAP_VALUE_ATOM:
      g_string_append_len (out, value->str, value->len);
      break;
    case TERN_IMAP_VALUE_NUMBER:
      g_string_append_printf (out, "%" G_GUINT64_FORMAT, value->number);
      break;
    case TERN_IMAP_VALUE_NIL:
      g_string_append (out, "NIL");
      break;
    case TERN_IMAP_VALUE_STRING:
      if (value->form == TERN_IMAP_STRING_LITERAL)
        g_string_append_printf (out, "{%" G_GSIZE_FORMAT "}", value->len);
      else if (value->form == TERN_IMAP_STRING_LITERAL8)
        g_string_append_printf (out, "~{%" G_GSIZE_FORMAT "}", value->len);
      print_escaped (out, value->str, value->len);
      break;
    case TERN_IMAP_VALUE_LIST:
      g_string_append_c (out, '(');
      for (guint i = 0; i < value->items->len; i++)
        {
          if (i > 0)
            g_string_append_c (out, ' ');
          tern_imap_value_print (g_ptr_array_index (value->items, i), out);
        }
      g_string_append_c (out, ')');
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Responses */

static void
code_free (TernImapCode *code)
{
  g_free (code->name);
  g_free (code->raw_args);
  g_strfreev (code->strv);
  g_free (code->uid_set);
  g_free (code->dest_uid_set);
  g_free (code);
}

static TernImapResponse *
response_new (TernImapResponseKind kind)
{
  TernImapResponse *response = g_new0 (TernImapResponse, 1);

  response->kind = kind;
  response->ref_count = 1;
  return response;
}

/**
 * tern_imap_response_ref:
 * @response: a response
 *
 * Returns: (transfer full): @response
 */
TernImapResponse *
tern_imap_response_ref (TernImapResponse *response)
{
  g_return_val_if_fail (response != NULL, NULL);

  g_atomic_int_inc (&response->ref_count);
  return response;
}

/**
 * tern_imap_response_unref:
 * @response: (transfer full): a response
 *
 * Drops a reference; the last one frees the response and all its values.
 */
void
tern_imap_response_unref (TernImapResponse *response)
{
  g_return_if_fail (response != NULL);

  if (!g_atomic_int_dec_and_test (&response->ref_count))
    return;

  g_free (response->tag);
  g_clear_pointer (&response->code, code_free);
  g_free (response->text);
  g_free (response->name);
  arena_free (response->arena);
  g_free (response);
}

static const char *
status_name (TernImapStatus status)
{
  switch (status)
    {
    case TERN_IMAP_STATUS_OK: return "OK";
    case TERN_IMAP_STATUS_NO: return "NO";
    case TERN_IMAP_STATUS_BAD: return "BAD";
    case TERN_IMAP_STATUS_BYE: return "BYE";
    case TERN_IMAP_STATUS_PREAUTH: return "PREAUTH";
    case TERN_IMAP_STATUS_NONE: return "";
    default: return "";
    }
}

/**
 * tern_imap_response_to_string:
 * @response: a response
 *
 * Prints @response on one line, in a form made for tests and debugging:
 * its kind, then what the parser read ("UNTAGGED 3 FETCH ((UID 7))",
 * "TAGGED A1 OK [UIDNEXT 5] done").  Strings may hold message content, so
 * this is not for logs that leave the machine.
 *
 * Returns: (transfer full): the printed response
 */
char *
tern_imap_response_to_string (TernImapResponse *response)
{
  GString *out = g_string_new (NULL);

  switch (response->kind)
    {
    case TERN_IMAP_RESPONSE_TAGGED:
      g_string_append_printf (out, "TAGGED %s", response->tag);
      break;
    case TERN_IMAP_RESPONSE_UNTAGGED:
      g_string_append (out, "UNTAGGED");
      break;
    case TERN_IMAP_RESPONSE_CONTINUATION:
      g_string_append (out, "CONTINUATION ");
      print_escaped (out, response->text, strlen (response->text));
      return g_string_free (out, FALSE);
    default:
      g_assert_not_reached ();
    }

  if (response->status != TERN_IMAP_STATUS_NONE)
    {
      g_string_append_printf (out, " %s", status_name (response->status));
      if (response->code != NULL)
        {
          g_string_append_printf (out, " [%s", response->code->name);
          if (response->code->args != NULL)
            {
              g_string_append_c (out, ' ');
              tern_imap_value_print (response->code->args, out);
            }
          else if (response->code->raw_args != NULL)
            {
              g_string_append (out, " raw:");
              print_escaped (out, response->code->raw_args, strlen (response->code->raw_args));
            }
          g_string_append_c (out, ']');
        }
      g_string_append_c (out, ' ');
      print_escaped (out, response->text, strlen (response->text));
      return g_string_free (out, FALSE);
    }

  if (response->has_number)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, response->number);
  g_string_append_printf (out, " %s ", response->name);
  tern_imap_value_print (response->data, out);
  return g_string_free (out, FALSE);
}

/**
 * tern_imap_response_get_fetch_item:
 * @response: a response
 * @item: a FETCH item's name ("ENVELOPE", "BODYSTRUCTURE", "UID"...),
 *   compared without regard to ASCII case
 *
 * Returns: (transfer none) (nullable): the value that follows @item in an
 *   untagged FETCH response, or %NULL when @response is no FETCH or has no
 *   such item
 */
const TernImapValue *
tern_imap_response_get_fetch_item (TernImapResponse *response,
                                   const char       *item)
{
  const TernImapValue *list;

  if (response->kind != TERN_IMAP_RESPONSE_UNTAGGED ||
      g_strcmp0 (response->name, "FETCH") != 0 ||
      response->data->items->len < 1)
    return NULL;

  list = g_ptr_array_index (response->data->items, 0);
  if (list->kind != TERN_IMAP_VALUE_LIST)
    return NULL;

  for (guint i = 0; i + 1 < list->items->len; i += 2)
    if (tern_imap_value_is_atom (g_ptr_array_index (list->items, i), item))
      return g_ptr_array_index (list->items, i + 1);

  return NULL;
}

/* Reading a whole response */

typedef struct {
  TernImapParser *parser;
  const guint8 *base;
  const Segment *segments;
  guint n_segments;
  /* The line being read: its segment, and the position in it. */
  guint segment;
  const guint8 *p;
  const guint8 *end;
  /* Code arguments are read from a copy, not from the buffer. */
  gboolean in_code;
  guint64 offset;
  guint n_values;
  GError **error;
  /* Where values are allocated, and the items of open lists. */
  Block **arena;
  gsize block_bytes;
  GPtrArray *stack;
} Reader;

static TernImapValue *
value_new (Reader            *reader,
           TernImapValueKind  kind,
           const guint8      *bytes,
           gsize              len)
{
  TernImapValue *value;
  char *copy;

  /* The bytes follow the value in the same allocation. */
  value = arena_alloc (reader->arena, reader->block_bytes, sizeof (TernImapValue) + len + 1);
  memset (value, 0, sizeof (TernImapValue));
  copy = (char *) (value + 1);
  if (len > 0)
    memcpy (copy, bytes, len);
  copy[len] = '\0';
  value->kind = kind;
  value->len = len;
  value->str = (kind == TERN_IMAP_VALUE_LIST || kind == TERN_IMAP_VALUE_NIL) ? NULL : copy;
  return value;
}

/* Ends a list: its items are those on the stack from @start. */
static void
list_close (Reader        *reader,
            TernImapValue *list,
            guint          start)
{
  guint n = reader->stack->len - start;
  GPtrArray *items;

  /* Laid out as a GPtrArray, for those who read it: never grown or freed
   * as one. */
  items = arena_alloc (reader->arena, reader->block_bytes,
                       sizeof (GPtrArray) + n * sizeof (gpointer));
  items->pdata = (gpointer *) (items + 1);
  items->len = n;
  if (n > 0)
    memcpy (items->pdata, reader->stack->pdata + start, n * sizeof (gpointer));
  g_ptr_array_set_size (reader->stack, start);
  list->items = items;
}

static guint64
reader_offset (Reader *reader)
{
  if (reader->in_code)
    return reader->offset;
  return reader->offset + (guint64) (reader->p - reader->base);
}

G_GNUC_PRINTF (3, 4)
static gboolean
reader_fail (Reader     *reader,
             gint        code,
             const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (reader->error, TERN_IMAP_ERROR, code,
               "Bad IMAP response at byte %" G_GUINT64_FORMAT ": %s",
               reader_offset (reader), message);
  return FALSE;
}

static void
reader_set_line (Reader *reader,
                 guint   segment)
{
  reader->segment = segment;
  reader->p = reader->base + reader->segments[segment].start;
  reader->end = reader->p + reader->segments[segment].len;
}

static gboolean
is_atom_char (guchar c)
{
  /* RFC 9051 ASTRING-CHAR, with "]" (it ends atoms only in codes, which
   * are read apart) and bytes above 127 (some servers send raw 8-bit
   * mailbox names; their users decide what the bytes mean). */
  if (c <= 0x20 || c == 0x7f)
    return FALSE;
  switch (c)
    {
    case '(': case ')': case '{': case '"':
      return FALSE;
    default:
      return TRUE;
    }
}

static gboolean
count_value (Reader *reader)
{
  if (++reader->n_values > TERN_IMAP_MAX_VALUES)
    return reader_fail (reader, TERN_IMAP_ERROR_TOO_BIG,
                        "more than %u values in one response", TERN_IMAP_MAX_VALUES);
  return TRUE;
}

static gboolean
section_allowed (const guint8 *start,
                 gsize         len)
{
  /* Only FETCH items take a section in brackets, which may hold spaces and
   * parentheses: BODY[HEADER.FIELDS (FROM TO)]<0>. Elsewhere "[" is an
   * ordinary atom character. */
  static const char * const names[] = { "BODY", "BINARY", "BINARY.SIZE", "BODY.PEEK" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (len == strlen (names[i]) && g_ascii_strncasecmp ((const char *) start, names[i], len) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
skip_quoted (Reader *reader)
{
  /* At the opening quote. */
  reader->p++;
  while (reader->p < reader->end)
    {
      if (*reader->p == '"')
        {
          reader->p++;
          return TRUE;
        }
      if (*reader->p == '\\')
        {
          if (reader->p + 1 >= reader->end)
            break;
          if (reader->p[1] != '"' && reader->p[1] != '\\')
            return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                                "invalid escape in a quoted string");
          reader->p++;
        }
      reader->p++;
    }
  return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "unterminated quoted string");
}

static TernImapValue *
read_atom (Reader *reader)
{
  const guint8 *start = reader->p;
  TernImapValue *value;
  guint64 number = 0;
  gboolean digits = TRUE;

  while (reader->p < reader->end && is_atom_char (*reader->p))
    {
      if (*reader->p == '[' && section_allowed (start, reader->p - start))
        {
          /* The section, to its closing bracket. */
          reader->p++;
          while (reader->p < reader->end && *reader->p != ']')
            {
              if (*reader->p == '"')
                {
                  if (!skip_quoted (reader))
                    return NULL;
                  continue;
                }
              if (*reader->p == '{' || *reader->p == '[')
                {
                  reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                               "unexpected \"%c\" in a FETCH section", *reader->p);
                  return NULL;
                }
              reader->p++;
            }
          if (reader->p >= reader->end)
            {
              reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "FETCH section without \"]\"");
              return NULL;
            }
        }
      reader->p++;
    }

  if (reader->p == start)
    {
      if (reader->p < reader->end)
        reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                     "unexpected byte 0x%02x", *reader->p);
      else
        reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "a value is missing");
      return NULL;
    }

  if (reader->p - start == 3 && g_ascii_strncasecmp ((const char *) start, "NIL", 3) == 0)
    return value_new (reader, TERN_IMAP_VALUE_NIL, NULL, 0);

  for (const guint8 *q = start; q < reader->p && digits; q++)
    {
      guint d = *q - '0';

      if (*q < '0' || *q > '9' || number > (G_MAXUINT64 - d) / 10)
        digits = FALSE;
      else
        number = number * 10 + d;
    }

  value = value_new (reader, digits ? TERN_IMAP_VALUE_NUMBER : TERN_IMAP_VALUE_ATOM,
                     start, reader->p - start);
  value->number = digits ? number : 0;
  return value;
}

static TernImapValue *
read_quoted (Reader *reader)
{
  const guint8 *start = reader->p + 1;
  const guint8 *q = start;
  TernImapValue *value;
  GString *s;

  /* Most strings have no escapes and are taken as they are. */
  while (q < reader->end && *q != '"' && *q != '\\')
    q++;
  if (q < reader->end && *q == '"')
    {
      value = value_new (reader, TERN_IMAP_VALUE_STRING, start, q - start);
      value->form = TERN_IMAP_STRING_QUOTED;
      reader->p = q + 1;
      return value;
    }

  s = g_string_new (NULL);
  reader->p++;
  for (;;)
    {
      const guint8 *run = reader->p;

      while (reader->p < reader->end && *reader->p != '"' && *reader->p != '\\')
        reader->p++;
      g_string_append_len (s, (const char *) run, reader->p - run);

      if (reader->p >= reader->end)
        {
          g_string_free (s, TRUE);
          reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "unterminated quoted string");
          return NULL;
        }
      if (*reader->p == '"')
        break;
      if (reader->p + 1 >= reader->end || (reader->p[1] != '"' && reader->p[1] != '\\'))
        {
          g_string_free (s, TRUE);
          reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "invalid escape in a quoted string");
          return NULL;
        }
      g_string_append_c (s, reader->p[1]);
      reader->p += 2;
    }
  reader->p++;

  value = value_new (reader, TERN_IMAP_VALUE_STRING, (const guint8 *) s->str, s->len);
  value->form = TERN_IMAP_STRING_QUOTED;
  g_string_free (s, TRUE);
  return value;
}

static TernImapValue *
read_literal (Reader *reader,
              gboolean binary)
{
  const Segment *literal;
  TernImapValue *value;
  guint64 len = 0;
  guint n_digits = 0;

  /* At the "{". */
  reader->p++;
  while (reader->p < reader->end && g_ascii_isdigit (*reader->p) && n_digits < 20)
    {
      len = len * 10 + (*reader->p - '0');
      reader->p++;
      n_digits++;
    }
  if (n_digits == 0)
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "bad literal length");
      return NULL;
    }
  if (reader->p < reader->end && *reader->p == '+')
    reader->p++;
  if (reader->p >= reader->end || *reader->p != '}')
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "bad literal length");
      return NULL;
    }
  reader->p++;
  if (reader->p != reader->end || reader->in_code ||
      reader->segment + 1 >= reader->n_segments)
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                   "a literal must end its line, and only data responses have them");
      return NULL;
    }

  literal = &reader->segments[reader->segment + 1];
  if (literal->len != len)
    {
      /* Framing read the same announcement; this cannot happen. */
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "literal length mismatch");
      return NULL;
    }

  value = value_new (reader, TERN_IMAP_VALUE_STRING, reader->base + literal->start,
                     literal->len);
  value->form = binary ? TERN_IMAP_STRING_LITERAL8 : TERN_IMAP_STRING_LITERAL;
  reader_set_line (reader, reader->segment + 2);
  return value;
}

static TernImapValue *read_value (Reader *reader,
                                  guint   depth);

/* After a value: a space, the end, or in a list its ")".  Lists may follow
 * lists without a space, as the addresses of an ENVELOPE and the parts of a
 * multipart BODYSTRUCTURE do. */
static gboolean
expect_separator (Reader              *reader,
                  const TernImapValue *previous,
                  gboolean             in_list)
{
  if (reader->p >= reader->end)
    return TRUE;
  if (*reader->p == ' ')
    return TRUE;
  if (in_list && *reader->p == ')')
    return TRUE;
  if (*reader->p == '(' && previous->kind == TERN_IMAP_VALUE_LIST)
    return TRUE;
  if (*reader->p == ')')
    return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                        "unbalanced parentheses: \")\" outside a list");
  return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                      "values must be separated by a space, found 0x%02x", *reader->p);
}

static TernImapValue *
read_list (Reader *reader,
           guint   depth)
{
  TernImapValue *list;
  guint start = reader->stack->len;

  if (depth >= TERN_IMAP_MAX_DEPTH)
    {
      reader_fail (reader, TERN_IMAP_ERROR_TOO_BIG,
                   "lists nested deeper than %u levels", TERN_IMAP_MAX_DEPTH);
      return NULL;
    }

  /* At the "(". */
  reader->p++;
  list = value_new (reader, TERN_IMAP_VALUE_LIST, NULL, 0);
  for (;;)
    {
      TernImapValue *item;

      while (reader->p < reader->end && *reader->p == ' ')
        reader->p++;
      if (reader->p >= reader->end)
        {
          reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                       "unbalanced parentheses: the line ends inside a list");
          return NULL;
        }
      if (*reader->p == ')')
        {
          reader->p++;
          list_close (reader, list, start);
          return list;
        }
      if (reader->stack->len - start >= TERN_IMAP_MAX_LIST_ITEMS)
        {
          reader_fail (reader, TERN_IMAP_ERROR_TOO_BIG,
                       "more than %u items in one list", TERN_IMAP_MAX_LIST_ITEMS);
          return NULL;
        }
      item = read_value (reader, depth + 1);
      if (item == NULL)
        return NULL;
      g_ptr_array_add (reader->stack, item);
      if (!expect_separator (reader, item, TRUE))
        return NULL;
    }
}

static TernImapValue *
read_value (Reader *reader,
            guint   depth)
{
  if (!count_value (reader))
    return NULL;

  if (reader->p >= reader->end)
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "a value is missing");
      return NULL;
    }

  switch (*reader->p)
    {
    case '(':
      return read_list (reader, depth);
    case ')':
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                   "unbalanced parentheses: \")\" outside a list");
      return NULL;
    case '"':
      return read_quoted (reader);
    case '{':
      return read_literal (reader, FALSE);
    case '~':
      if (reader->p + 1 < reader->end && reader->p[1] == '{')
        {
          reader->p++;
          return read_literal (reader, TRUE);
        }
      return read_atom (reader);
    default:
      return read_atom (reader);
    }
}

/* Reads values separated by spaces to the end of the response (or, in a
 * code, to the end of its arguments) into a new list. */
static TernImapValue *
read_values_to_end (Reader *reader)
{
  TernImapValue *list = value_new (reader, TERN_IMAP_VALUE_LIST, NULL, 0);
  guint start = reader->stack->len;

  for (;;)
    {
      TernImapValue *item;

      while (reader->p < reader->end && *reader->p == ' ')
        reader->p++;
      if (reader->p >= reader->end)
        {
          list_close (reader, list, start);
          return list;
        }
      if (reader->stack->len - start >= TERN_IMAP_MAX_LIST_ITEMS)
        {
          reader_fail (reader, TERN_IMAP_ERROR_TOO_BIG,
                       "more than %u values in one response", TERN_IMAP_MAX_LIST_ITEMS);
          return NULL;
        }
      if ((item = read_value (reader, 0)) == NULL)
        return NULL;
      g_ptr_array_add (reader->stack, item);
      if (!expect_separator (reader, item, FALSE))
        return NULL;
    }
}

static gboolean
parse_number_arg (const TernImapValue *value,
                  guint64              max,
                  guint64             *out)
{
  if (value == NULL || value->kind != TERN_IMAP_VALUE_NUMBER || value->number > max)
    return FALSE;
  *out = value->number;
  return TRUE;
}

static gboolean
is_uid_set (const TernImapValue *value)
{
  if (value == NULL || (value->kind != TERN_IMAP_VALUE_ATOM && value->kind != TERN_IMAP_VALUE_NUMBER))
    return FALSE;
  for (gsize i = 0; i < value->len; i++)
    if (!g_ascii_isdigit (value->str[i]) && value->str[i] != ':' && value->str[i] != ',')
      return FALSE;
  return TRUE;
}

static char **
strv_from_atoms (const TernImapValue *list)
{
  GStrvBuilder *builder;
  char **strv;

  if (list == NULL || list->kind != TERN_IMAP_VALUE_LIST)
    return NULL;
  builder = g_strv_builder_new ();
  for (guint i = 0; i < list->items->len; i++)
    {
      const TernImapValue *item = g_ptr_array_index (list->items, i);

      if (item->kind != TERN_IMAP_VALUE_ATOM)
        {
          g_strv_builder_unref (builder);
          return NULL;
        }
      g_strv_builder_add (builder, item->str);
    }
  strv = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return strv;
}

static const struct {
  const char *name;
  TernImapCodeKind kind;
} known_codes[] = {
  { "ALERT", TERN_IMAP_CODE_ALERT },
  { "PARSE", TERN_IMAP_CODE_PARSE },
  { "TRYCREATE", TERN_IMAP_CODE_TRYCREATE },
  { "READ-ONLY", TERN_IMAP_CODE_READ_ONLY },
  { "READ-WRITE", TERN_IMAP_CODE_READ_WRITE },
  { "UIDVALIDITY", TERN_IMAP_CODE_UIDVALIDITY },
  { "UIDNEXT", TERN_IMAP_CODE_UIDNEXT },
  { "UNSEEN", TERN_IMAP_CODE_UNSEEN },
  { "HIGHESTMODSEQ", TERN_IMAP_CODE_HIGHESTMODSEQ },
  { "NOMODSEQ", TERN_IMAP_CODE_NOMODSEQ },
  { "PERMANENTFLAGS", TERN_IMAP_CODE_PERMANENTFLAGS },
  { "CAPABILITY", TERN_IMAP_CODE_CAPABILITY },
  { "APPENDUID", TERN_IMAP_CODE_APPENDUID },
  { "COPYUID", TERN_IMAP_CODE_COPYUID },
  { "CLOSED", TERN_IMAP_CODE_CLOSED },
};

/* Checks the arguments of the codes Tern acts on and fills in their fields. */
static gboolean
decode_code (Reader       *reader,
             TernImapCode *code)
{
  GPtrArray *args = code->args != NULL ? code->args->items : NULL;
  guint n_args = args != NULL ? args->len : 0;
  const TernImapValue *a0 = n_args > 0 ? g_ptr_array_index (args, 0) : NULL;
  const TernImapValue *a1 = n_args > 1 ? g_ptr_array_index (args, 1) : NULL;
  const TernImapValue *a2 = n_args > 2 ? g_ptr_array_index (args, 2) : NULL;
  gboolean ok = TRUE;

  switch (code->kind)
    {
    case TERN_IMAP_CODE_UIDVALIDITY:
    case TERN_IMAP_CODE_UIDNEXT:
    case TERN_IMAP_CODE_UNSEEN:
      ok = n_args == 1 && parse_number_arg (a0, G_MAXUINT32, &code->number);
      break;
    case TERN_IMAP_CODE_HIGHESTMODSEQ:
      ok = n_args == 1 && parse_number_arg (a0, G_MAXINT64, &code->number);
      break;
    case TERN_IMAP_CODE_PERMANENTFLAGS:
      ok = n_args == 1 && (code->strv = strv_from_atoms (a0)) != NULL;
      break;
    case TERN_IMAP_CODE_CAPABILITY:
      ok = (code->strv = strv_from_atoms (code->args)) != NULL && n_args > 0;
      break;
    case TERN_IMAP_CODE_APPENDUID:
      ok = n_args == 2 && parse_number_arg (a0, G_MAXUINT32, &code->number) && is_uid_set (a1);
      if (ok)
        code->uid_set = g_strdup (a1->str);
      break;
    case TERN_IMAP_CODE_COPYUID:
      ok = n_args == 3 && parse_number_arg (a0, G_MAXUINT32, &code->number) &&
           is_uid_set (a1) && is_uid_set (a2);
      if (ok)
        {
          code->uid_set = g_strdup (a1->str);
          code->dest_uid_set = g_strdup (a2->str);
        }
      break;
    case TERN_IMAP_CODE_ALERT:
    case TERN_IMAP_CODE_PARSE:
    case TERN_IMAP_CODE_TRYCREATE:
    case TERN_IMAP_CODE_READ_ONLY:
    case TERN_IMAP_CODE_READ_WRITE:
    case TERN_IMAP_CODE_NOMODSEQ:
    case TERN_IMAP_CODE_CLOSED:
    case TERN_IMAP_CODE_OTHER:
    default:
      break;
    }

  if (!ok)
    return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                        "invalid arguments for response code %s", code->name);
  return TRUE;
}

/* At the "[" of a status response's code. */
static gboolean
read_code (Reader            *reader,
           TernImapResponse  *response)
{
  const guint8 *start = reader->p + 1;
  const guint8 *close = memchr (start, ']', reader->end - start);
  const guint8 *name_end = start;
  g_autoptr(GError) local_error = NULL;
  TernImapCode *code;
  guint sub_stack_start = reader->stack->len;
  Reader sub;

  if (close == NULL)
    return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "response code without \"]\"");

  while (name_end < close && *name_end != ' ')
    {
      if (!is_atom_char (*name_end) || *name_end >= 0x80)
        return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "bad response code name");
      name_end++;
    }
  if (name_end == start)
    return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "empty response code");

  code = g_new0 (TernImapCode, 1);
  response->code = code;
  code->name = g_ascii_strup ((const char *) start, name_end - start);
  code->kind = TERN_IMAP_CODE_OTHER;
  for (guint i = 0; i < G_N_ELEMENTS (known_codes); i++)
    if (strcmp (code->name, known_codes[i].name) == 0)
      code->kind = known_codes[i].kind;

  if (name_end < close)
    {
      code->raw_args = g_strndup ((const char *) name_end + 1, close - name_end - 1);

      /* The arguments are read as values on their own. */
      sub = *reader;
      sub.p = name_end + 1;
      sub.end = close;
      sub.in_code = TRUE;
      sub.offset = reader_offset (reader);
      sub.error = &local_error;
      code->args = read_values_to_end (&sub);
      if (code->args == NULL)
        {
          /* Whatever the arguments left on the stack goes with them. */
          g_ptr_array_set_size (reader->stack, sub_stack_start);
          if (code->kind != TERN_IMAP_CODE_OTHER)
            return reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                                "unreadable arguments for response code %s", code->name);
        }
      reader->n_values = sub.n_values;
    }

  if (!decode_code (reader, code))
    return FALSE;

  reader->p = close + 1;
  return TRUE;
}

static gboolean
read_text (Reader  *reader,
           char   **text)
{
  *text = g_strndup ((const char *) reader->p, reader->end - reader->p);
  reader->p = reader->end;
  return TRUE;
}

static gboolean
is_ascii (const TernImapValue *value)
{
  for (gsize i = 0; i < value->len; i++)
    if ((guchar) value->str[i] >= 0x80)
      return FALSE;
  return TRUE;
}

static TernImapStatus
status_from_word (const guint8 *word,
                  gsize         len)
{
  static const struct {
    const char *word;
    TernImapStatus status;
  } statuses[] = {
    { "OK", TERN_IMAP_STATUS_OK },
    { "NO", TERN_IMAP_STATUS_NO },
    { "BAD", TERN_IMAP_STATUS_BAD },
    { "BYE", TERN_IMAP_STATUS_BYE },
    { "PREAUTH", TERN_IMAP_STATUS_PREAUTH },
  };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (len == strlen (statuses[i].word) &&
        g_ascii_strncasecmp ((const char *) word, statuses[i].word, len) == 0)
      return statuses[i].status;
  return TERN_IMAP_STATUS_NONE;
}

/* The word after the tag: up to a space, "[" or the end of the line. */
static gsize
word_length (const guint8 *p,
             const guint8 *end)
{
  const guint8 *q = p;

  while (q < end && *q != ' ' && *q != '[')
    q++;
  return q - p;
}

static gboolean
read_status (Reader           *reader,
             TernImapResponse *response)
{
  /* After the status word. */
  if (reader->p < reader->end && *reader->p == ' ')
    reader->p++;
  if (reader->p < reader->end && *reader->p == '[')
    {
      if (!read_code (reader, response))
        return FALSE;
      if (reader->p < reader->end && *reader->p == ' ')
        reader->p++;
    }
  return read_text (reader, &response->text);
}

static TernImapResponse *
read_response (Reader *reader)
{
  g_autoptr(TernImapResponse) response = NULL;
  const guint8 *tag;
  gsize word_len;

  reader_set_line (reader, 0);

  if (reader->p < reader->end && *reader->p == '+')
    {
      response = response_new (TERN_IMAP_RESPONSE_CONTINUATION);
      reader->p++;
      if (reader->p < reader->end && *reader->p == ' ')
        reader->p++;
      read_text (reader, &response->text);
      return g_steal_pointer (&response);
    }

  /* Tags, names and code names are ASCII: Tern compares them as such. */
  tag = reader->p;
  while (reader->p < reader->end && is_atom_char (*reader->p) && *reader->p != '+' &&
         *reader->p < 0x80)
    reader->p++;
  if (reader->p == tag)
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "the response has no tag");
      return NULL;
    }
  if (reader->p >= reader->end || *reader->p != ' ')
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "a space must follow the tag");
      return NULL;
    }

  if (reader->p - tag == 1 && *tag == '*')
    {
      response = response_new (TERN_IMAP_RESPONSE_UNTAGGED);
    }
  else
    {
      response = response_new (TERN_IMAP_RESPONSE_TAGGED);
      response->tag = g_strndup ((const char *) tag, reader->p - tag);
    }
  reader->p++;

  word_len = word_length (reader->p, reader->end);
  response->status = status_from_word (reader->p, word_len);
  if (response->status != TERN_IMAP_STATUS_NONE)
    {
      if (response->kind == TERN_IMAP_RESPONSE_TAGGED &&
          (response->status == TERN_IMAP_STATUS_BYE || response->status == TERN_IMAP_STATUS_PREAUTH))
        {
          reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                       "a tagged response cannot be %s", status_name (response->status));
          return NULL;
        }
      response->name = g_strdup (status_name (response->status));
      reader->p += word_len;
      if (!read_status (reader, response))
        return NULL;
      return g_steal_pointer (&response);
    }

  if (response->kind == TERN_IMAP_RESPONSE_TAGGED)
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                   "a tagged response must be OK, NO or BAD");
      return NULL;
    }

  response->data = read_values_to_end (reader);
  if (response->data == NULL)
    return NULL;

  /* Framing ends a response at a line that announces no literal, so the
   * last line read here should be the last one there is. */
  if (reader->segment + 1 != reader->n_segments)
    {
      reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "a literal was announced out of place");
      return NULL;
    }

  {
    GPtrArray *items = response->data->items;
    const TernImapValue *first = items->len > 0 ? g_ptr_array_index (items, 0) : NULL;
    const TernImapValue *second = items->len > 1 ? g_ptr_array_index (items, 1) : NULL;
    guint drop = 1;

    if ((first != NULL && first->kind == TERN_IMAP_VALUE_ATOM && !is_ascii (first)) ||
        (first != NULL && first->kind == TERN_IMAP_VALUE_NUMBER &&
         second != NULL && second->kind == TERN_IMAP_VALUE_ATOM && !is_ascii (second)))
      {
        reader->p = reader->base + reader->segments[0].start;
        reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE, "a response name is not ASCII");
        return NULL;
      }

    if (first != NULL && first->kind == TERN_IMAP_VALUE_NUMBER &&
        second != NULL && second->kind == TERN_IMAP_VALUE_ATOM)
      {
        response->has_number = TRUE;
        response->number = first->number;
        response->name = g_ascii_strup (second->str, -1);
        drop = 2;
      }
    else if (first != NULL && first->kind == TERN_IMAP_VALUE_ATOM)
      {
        response->name = g_ascii_strup (first->str, -1);
      }
    else
      {
        reader->p = reader->base + reader->segments[0].start;
        reader_fail (reader, TERN_IMAP_ERROR_BAD_RESPONSE,
                     "an untagged response must start with a name or a number and a name");
        return NULL;
      }
    items->pdata += drop;
    items->len -= drop;
  }

  return g_steal_pointer (&response);
}

/* Framing */

static gboolean
parser_fail (TernImapParser *parser,
             GError        **error,
             gint            code,
             guint64         offset,
             const char     *message)
{
  parser->failure = g_error_new (TERN_IMAP_ERROR, code,
                                 "Bad IMAP response at byte %" G_GUINT64_FORMAT ": %s",
                                 offset, message);
  g_propagate_error (error, g_error_copy (parser->failure));
  return FALSE;
}

/**
 * tern_imap_parser_new:
 *
 * Returns: (transfer full): a parser waiting for the first byte of a stream,
 *   with the default limits
 */
TernImapParser *
tern_imap_parser_new (void)
{
  TernImapParser *parser = g_new0 (TernImapParser, 1);

  parser->buf = g_byte_array_new ();
  parser->segments = g_array_new (FALSE, FALSE, sizeof (Segment));
  parser->stack = g_ptr_array_new ();
  g_queue_init (&parser->responses);
  parser->max_literal = TERN_IMAP_DEFAULT_MAX_LITERAL;
  parser->max_response = TERN_IMAP_DEFAULT_MAX_RESPONSE;
  return parser;
}

/**
 * tern_imap_parser_free:
 * @parser: (transfer full): a parser
 *
 * Frees @parser with the responses it still holds.
 */
void
tern_imap_parser_free (TernImapParser *parser)
{
  if (parser == NULL)
    return;
  g_byte_array_unref (parser->buf);
  g_array_unref (parser->segments);
  g_ptr_array_unref (parser->stack);
  g_queue_clear_full (&parser->responses, (GDestroyNotify) tern_imap_response_unref);
  g_clear_error (&parser->failure);
  g_free (parser);
}

/**
 * tern_imap_parser_set_max_literal:
 * @parser: a parser
 * @max_bytes: the most bytes one literal may have
 *
 * Sets the literal limit (%TERN_IMAP_DEFAULT_MAX_LITERAL by default).  A
 * larger literal fails with %TERN_IMAP_ERROR_TOO_BIG as soon as it is
 * announced, before any of its bytes are stored.
 */
void
tern_imap_parser_set_max_literal (TernImapParser *parser,
                                  gsize           max_bytes)
{
  parser->max_literal = max_bytes;
}

/**
 * tern_imap_parser_set_max_response:
 * @parser: a parser
 * @max_bytes: the most bytes one response may have, literals included
 *
 * Sets the response limit (%TERN_IMAP_DEFAULT_MAX_RESPONSE by default).
 */
void
tern_imap_parser_set_max_response (TernImapParser *parser,
                                   gsize           max_bytes)
{
  parser->max_response = max_bytes;
}

/**
 * tern_imap_parser_has_failed:
 * @parser: a parser
 *
 * Returns: whether @parser met an error; it then accepts no more bytes
 */
gboolean
tern_imap_parser_has_failed (TernImapParser *parser)
{
  return parser->failure != NULL;
}

/**
 * tern_imap_parser_get_literal_left:
 * @parser: a parser
 *
 * Lets a reader that takes lines from the socket read a literal's bytes
 * exactly, without reading past the response.
 *
 * Returns: how many bytes of the literal being read are still to come; 0
 *   outside a literal
 */
guint64
tern_imap_parser_get_literal_left (TernImapParser *parser)
{
  return parser->in_literal ? parser->literal_left : 0;
}

/**
 * tern_imap_parser_pop:
 * @parser: a parser
 *
 * Takes the oldest complete response.  Responses that were complete before
 * an error can still be taken after it.
 *
 * Returns: (transfer full) (nullable): the response, or %NULL when no
 *   complete response is waiting
 */
TernImapResponse *
tern_imap_parser_pop (TernImapParser *parser)
{
  return g_queue_pop_head (&parser->responses);
}

static void
reset_response (TernImapParser *parser)
{
  parser->stream_offset += parser->buf->len;
  if (parser->buf->len > KEEP_BUFFER_BYTES)
    {
      g_byte_array_unref (parser->buf);
      parser->buf = g_byte_array_new ();
    }
  else
    {
      g_byte_array_set_size (parser->buf, 0);
    }
  g_array_set_size (parser->segments, 0);
  parser->line_start = 0;
  parser->single_line = FALSE;
}

static gboolean
finish_response (TernImapParser *parser,
                 GError        **error)
{
  TernImapResponse *response;
  Reader reader = { 0, };
  Block *arena = NULL;

  reader.parser = parser;
  reader.base = parser->buf->data;
  reader.segments = (const Segment *) (gpointer) parser->segments->data;
  reader.n_segments = parser->segments->len;
  reader.offset = parser->stream_offset;
  reader.error = error;
  reader.arena = &arena;
  reader.block_bytes = block_bytes_for (reader.segments, reader.n_segments);
  reader.stack = parser->stack;

  response = read_response (&reader);
  g_ptr_array_set_size (parser->stack, 0);
  if (response == NULL)
    {
      arena_free (arena);
      parser->failure = g_error_copy (*error);
      return FALSE;
    }
  response->arena = arena;
  response->offset = parser->stream_offset;
  g_queue_push_tail (&parser->responses, response);
  reset_response (parser);
  return TRUE;
}

/* Whether a quoted string is open at the end of @line: a backslash in
 * one takes the next byte as it is. */
static gboolean
ends_in_quote (const guint8 *line,
               gsize         len)
{
  const guint8 *p = line;
  const guint8 *end = line + len;

  for (;;)
    {
      const guint8 *open = memchr (p, '"', end - p);

      if (open == NULL)
        return FALSE;
      for (p = open + 1; p < end && *p != '"'; p++)
        if (*p == '\\' && p + 1 < end)
          p++;
      if (p >= end)
        return TRUE;
      p++;
    }
}

/* Called with a whole line in the buffer, from line_start to the LF. */
static gboolean
end_line (TernImapParser *parser,
          GError        **error)
{
  const guint8 *line = parser->buf->data + parser->line_start;
  gsize len = parser->buf->len - parser->line_start - 1;
  guint64 line_offset = parser->stream_offset + parser->line_start;
  gboolean in_quote = FALSE;
  Segment segment;

  if (len == 0 || line[len - 1] != '\r')
    return parser_fail (parser, error, TERN_IMAP_ERROR_BAD_RESPONSE,
                        line_offset + len, "a line ends with LF instead of CRLF");
  len--;

  if (parser->segments->len == 0)
    {
      if (len > 0 && line[0] == '+')
        {
          parser->single_line = TRUE;
        }
      else
        {
          const guint8 *sp = memchr (line, ' ', len);

          if (sp != NULL)
            {
              sp++;
              parser->single_line =
                status_from_word (sp, word_length (sp, line + len)) != TERN_IMAP_STATUS_NONE;
            }
        }
    }

  /* Outside literals, CR and NUL have no place; a quote state tells
   * whether a closing "}" ends a literal announcement.  A line with
   * neither CR nor NUL (nearly all) needs only its quotes looked at. */
  if (memchr (line, '\r', len) == NULL && memchr (line, '\0', len) == NULL)
    {
      in_quote = ends_in_quote (line, len);
    }
  else
    {
      for (gsize i = 0; i < len; i++)
        {
          guchar c = line[i];

          if (c == '\r' || c == '\0')
            return parser_fail (parser, error, TERN_IMAP_ERROR_BAD_RESPONSE, line_offset + i,
                                c == '\r' ? "a CR without LF" : "a NUL byte outside a literal");
          if (c == '"')
            in_quote = !in_quote;
          else if (c == '\\' && in_quote && i + 1 < len)
            i++;
        }
    }

  segment.start = parser->line_start;
  segment.len = len;
  g_array_append_val (parser->segments, segment);

  if (!parser->single_line && !in_quote && len > 0 && line[len - 1] == '}')
    {
      gsize i = len - 1;
      guint64 n = 0;
      guint n_digits = 0;
      guint64 mult = 1;

      if (i > 0 && line[i - 1] == '+')
        i--;
      while (i > 0 && g_ascii_isdigit (line[i - 1]))
        {
          i--;
          if (++n_digits > 19)
            return parser_fail (parser, error, TERN_IMAP_ERROR_TOO_BIG,
                                line_offset + i, "a literal's length has too many digits");
          n += (line[i] - '0') * mult;
          mult *= 10;
        }
      if (n_digits > 0 && i > 0 && line[i - 1] == '{')
        {
          if (n > parser->max_literal)
            {
              g_autofree char *message =
                g_strdup_printf ("a literal of %" G_GUINT64_FORMAT " bytes is larger than "
                                 "the limit of %" G_GSIZE_FORMAT, n, parser->max_literal);
              return parser_fail (parser, error, TERN_IMAP_ERROR_TOO_BIG, line_offset + i - 1,
                                  message);
            }
          if (parser->buf->len + n > parser->max_response)
            return parser_fail (parser, error, TERN_IMAP_ERROR_TOO_BIG,
                                parser->stream_offset,
                                "the response is larger than the limit");
          parser->in_literal = TRUE;
          parser->literal_left = n;
          segment.start = parser->buf->len;
          segment.len = n;
          g_array_append_val (parser->segments, segment);
          if (parser->segments->len / 2 > TERN_IMAP_MAX_VALUES)
            return parser_fail (parser, error, TERN_IMAP_ERROR_TOO_BIG, line_offset,
                                "too many literals in one response");
          if (n == 0)
            {
              parser->in_literal = FALSE;
              parser->line_start = parser->buf->len;
            }
          return TRUE;
        }
    }

  return finish_response (parser, error);
}

/**
 * tern_imap_parser_feed:
 * @parser: a parser
 * @data: (array length=len): the next bytes from the server
 * @len: how many
 * @error: return location for an error
 *
 * Reads the next bytes of the stream, which may end anywhere, even inside
 * a literal's length or between CR and LF.  Each response they complete is
 * queued for tern_imap_parser_pop().
 *
 * Returns: %TRUE, or %FALSE with @error set when the stream broke the
 *   grammar or a limit; the parser then stays failed and gives the same
 *   error for every later call
 */
gboolean
tern_imap_parser_feed (TernImapParser *parser,
                       const guint8   *data,
                       gsize           len,
                       GError        **error)
{
  g_return_val_if_fail (parser != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (parser->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (parser->failure));
      return FALSE;
    }

  while (len > 0)
    {
      const guint8 *lf;
      gsize chunk;

      if (parser->in_literal)
        {
          chunk = MIN (len, parser->literal_left);
          g_byte_array_append (parser->buf, data, chunk);
          data += chunk;
          len -= chunk;
          parser->literal_left -= chunk;
          if (parser->literal_left == 0)
            {
              parser->in_literal = FALSE;
              parser->line_start = parser->buf->len;
            }
          continue;
        }

      lf = memchr (data, '\n', len);
      chunk = lf != NULL ? (gsize) (lf - data) + 1 : len;

      /* Of the two limits, the one whose end comes first in the stream is
       * reported, so that the error does not depend on the chunking. */
      if (parser->buf->len + chunk > parser->line_start + TERN_IMAP_MAX_LINE_BYTES &&
          parser->line_start + TERN_IMAP_MAX_LINE_BYTES <= parser->max_response)
        {
          g_autofree char *message =
            g_strdup_printf ("a line is longer than %u bytes", TERN_IMAP_MAX_LINE_BYTES);

          return parser_fail (parser, error, TERN_IMAP_ERROR_TOO_BIG,
                              parser->stream_offset + parser->line_start, message);
        }
      if (parser->buf->len + chunk > parser->max_response)
        return parser_fail (parser, error, TERN_IMAP_ERROR_TOO_BIG, parser->stream_offset,
                            "the response is larger than the limit");

      g_byte_array_append (parser->buf, data, chunk);
      data += chunk;
      len -= chunk;

      if (lf != NULL && !end_line (parser, error))
        return FALSE;
    }

  return TRUE;
}

/**
 * tern_imap_parser_end:
 * @parser: a parser
 * @error: return location for an error
 *
 * Tells @parser that the stream ended (the server closed the connection).
 *
 * Returns: %TRUE when the stream ended between responses; %FALSE with
 *   %TERN_IMAP_ERROR_INCOMPLETE when it ended inside one, or with the
 *   earlier error when the parser had failed
 */
gboolean
tern_imap_parser_end (TernImapParser *parser,
                      GError        **error)
{
  if (parser->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (parser->failure));
      return FALSE;
    }
  if (parser->buf->len > 0)
    return parser_fail (parser, error, TERN_IMAP_ERROR_INCOMPLETE,
                        parser->stream_offset + parser->buf->len,
                        "the stream ended inside a response");
  return TRUE;
}
