/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-imap-client-private.h"
#include "tern-imap-parser.h"
#include "tern-imap-structure.h"
#include "tern-imap-utf7.h"

/* Responses as servers send them, with every construct the parser knows.
 * The same list, fed whole and fed in pieces, must give the same trees. */
#define LIT_WITH_NUL "* 4 FETCH (UID 9 BODY[] {12}\r\nab\r\n\0cd\r\n)}\")\r\n"
static const struct {
  const char *bytes;
  gsize len;
} corpus[] = {
#define R(s) { s, sizeof (s) - 1 }
  R ("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
     "AUTH=PLAIN] Dovecot ready.\r\n"),
  R ("a1 OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS MOVE CONDSTORE QRESYNC] Logged in\r\n"),
  R ("* CAPABILITY IMAP4rev1 UIDPLUS IDLE NAMESPACE UTF8=ACCEPT\r\n"),
  R ("* LIST (\\HasNoChildren) \"/\" INBOX\r\n"),
  R ("* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"\r\n"),
  R ("* LIST (\\Noselect) \".\" {9}\r\nfoo\"bar\r\n\r\n"),
  R ("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"),
  R ("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded \\*)] "
     "Flags permitted.\r\n"),
  R ("* 172 EXISTS\r\n"),
  R ("* 1 RECENT\r\n"),
  R ("* OK [UNSEEN 12] Message 12 is first unseen\r\n"),
  R ("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
  R ("* OK [UIDNEXT 4392] Predicted next UID\r\n"),
  R ("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"),
  R ("A142 OK [READ-WRITE] SELECT completed\r\n"),
  R ("* 12 FETCH (FLAGS (\\Seen) UID 4827 RFC822.SIZE 44827 MODSEQ (12121231000))\r\n"),
  R ("* 3 FETCH (UID 7 BODY[HEADER.FIELDS (FROM SUBJECT)] {36}\r\n"
     "From: a@example.com\r\nSubject: hi\r\n\r\n)\r\n"),
  R ("* 5 FETCH (UID 8 BODY[TEXT]<0> {5+}\r\nhello BINARY[1] ~{4}\r\n\0\1\2\3)\r\n"),
  R (LIT_WITH_NUL),
  R ("* 6 FETCH (UID 10 BODY[] {0}\r\n)\r\n"),
  R ("+ Ready for literal data\r\n"),
  R ("+\r\n"),
  R ("+ dXNlcm5hbWU6\r\n"),
  R ("A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"),
  R ("A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"),
  R ("A005 NO [TRYCREATE] No such mailbox\r\n"),
  R ("A006 NO [ALERT] Your account is over quota {5}\r\n"),
  R ("A007 BAD Error in IMAP command: unknown command\r\n"),
  R ("A008 OK [EXAMPLE-CODE whatever (goes] here\r\n"),
  R ("* BYE Logging out\r\n"),
  R ("* SEARCH 2 84 882\r\n"),
  R ("* STATUS \"Sent Items\" (MESSAGES 231 UIDNEXT 44292 UNSEEN 0)\r\n"),
  R ("* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))\r\n"),
  R ("* ID (\"name\" \"Dovecot\" \"escaped \\\"quote\\\" \\\\ back\")\r\n"),
  R ("* 2 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) nil)\r\n"),
  R ("* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3\r\n"),
  R ("* 99999999999999999999999 EXPUNGE\r\n"),
#undef R
};

typedef struct {
  GString *out;
  gboolean failed;
} Outcome;

/* Feeds @len bytes in pieces of @chunk bytes (0: all at once) and prints
 * every response, then the error, if any. */
static char *
parse_printed (const char *bytes,
               gsize       len,
               gsize       chunk,
               gboolean   *failed)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  GString *out = g_string_new (NULL);
  gsize done = 0;
  gboolean ok = TRUE;

  if (chunk == 0)
    chunk = MAX (len, 1);
  while (ok && done < len)
    {
      gsize n = MIN (chunk, len - done);

      ok = tern_imap_parser_feed (parser, (const guint8 *) bytes + done, n, &error);
      done += n;
    }
  if (ok)
    ok = tern_imap_parser_end (parser, &error);

  for (TernImapResponse *r; (r = tern_imap_parser_pop (parser)) != NULL;)
    {
      g_autofree char *printed = tern_imap_response_to_string (r);

      g_string_append_printf (out, "%s\n", printed);
      tern_imap_response_unref (r);
    }
  if (!ok)
    g_string_append_printf (out, "ERROR %d %s\n", error->code, error->message);
  if (failed != NULL)
    *failed = !ok;
  return g_string_free (out, FALSE);
}

static TernImapResponse *
parse_one (const char *bytes,
           gsize       len)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  TernImapResponse *response;

  tern_imap_parser_feed (parser, (const guint8 *) bytes, len, &error);
  g_assert_no_error (error);
  response = tern_imap_parser_pop (parser);
  g_assert_nonnull (response);
  g_assert_null (tern_imap_parser_pop (parser));
  return response;
}

static void
assert_prints (const char *bytes,
               const char *expected)
{
  g_autoptr(TernImapResponse) response = parse_one (bytes, strlen (bytes));
  g_autofree char *printed = tern_imap_response_to_string (response);

  g_assert_cmpstr (printed, ==, expected);
}

static void
assert_error (const char *bytes,
              gsize       len,
              gint        code,
              const char *fragment)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) again = NULL;
  guint8 more[] = "* 1 EXISTS\r\n";

  if (tern_imap_parser_feed (parser, (const guint8 *) bytes, len, &error))
    tern_imap_parser_end (parser, &error);
  g_assert_error (error, TERN_IMAP_ERROR, code);
  if (strstr (error->message, fragment) == NULL)
    g_error ("Error \"%s\" does not mention \"%s\"", error->message, fragment);

  /* Failed for good: more bytes give the same error. */
  g_assert_true (tern_imap_parser_has_failed (parser));
  g_assert_false (tern_imap_parser_feed (parser, more, sizeof more - 1, &again));
  g_assert_cmpstr (again->message, ==, error->message);
}

static void
test_atoms_numbers_nil (void)
{
  assert_prints ("* SEARCH 2 84 882\r\n", "UNTAGGED SEARCH (2 84 882)");
  assert_prints ("* 172 EXISTS\r\n", "UNTAGGED 172 EXISTS ()");
  assert_prints ("* X nil NIL Nil nile 007 18446744073709551615 18446744073709551616\r\n",
                 "UNTAGGED X (NIL NIL NIL nile 7 18446744073709551615 18446744073709551616)");
  assert_prints ("* FLAGS (\\Seen \\* $Junk)\r\n", "UNTAGGED FLAGS ((\\Seen \\* $Junk))");
  assert_prints ("* capability IMAP4rev1 AUTH=PLAIN\r\n",
                 "UNTAGGED CAPABILITY (IMAP4rev1 AUTH=PLAIN)");
}

static void
test_number_kinds (void)
{
  g_autoptr(TernImapResponse) r = parse_one ("* X 18446744073709551615 18446744073709551616\r\n", 47);
  const TernImapValue *max = g_ptr_array_index (r->data->items, 0);
  const TernImapValue *over = g_ptr_array_index (r->data->items, 1);

  g_assert_cmpint (max->kind, ==, TERN_IMAP_VALUE_NUMBER);
  g_assert_cmpuint (max->number, ==, G_MAXUINT64);
  g_assert_cmpint (over->kind, ==, TERN_IMAP_VALUE_ATOM);
  g_assert_cmpstr (over->str, ==, "18446744073709551616");
}

static void
test_quoted_strings (void)
{
  g_autoptr(TernImapResponse) r =
    parse_one ("* ID (\"a \\\"b\\\" \\\\c\" \"\" \"J\xc3\xb6rg\")\r\n", 33);
  const TernImapValue *list = g_ptr_array_index (r->data->items, 0);
  const TernImapValue *s = g_ptr_array_index (list->items, 0);

  g_assert_cmpint (s->kind, ==, TERN_IMAP_VALUE_STRING);
  g_assert_cmpint (s->form, ==, TERN_IMAP_STRING_QUOTED);
  g_assert_cmpstr (s->str, ==, "a \"b\" \\c");
  g_assert_cmpuint (((const TernImapValue *) g_ptr_array_index (list->items, 1))->len, ==, 0);
  g_assert_cmpstr (((const TernImapValue *) g_ptr_array_index (list->items, 2))->str, ==,
                   "J\xc3\xb6rg");

  assert_error ("* ID (\"a\\nb\")\r\n", 15, TERN_IMAP_ERROR_BAD_RESPONSE, "escape");
  assert_error ("* ID (\"abc)\r\n", 13, TERN_IMAP_ERROR_BAD_RESPONSE, "unterminated");
}

static void
test_literal_any_bytes (void)
{
  g_autoptr(TernImapResponse) r = parse_one (LIT_WITH_NUL, sizeof LIT_WITH_NUL - 1);
  const TernImapValue *body = tern_imap_response_get_fetch_item (r, "BODY[]");

  g_assert_nonnull (body);
  g_assert_cmpint (body->kind, ==, TERN_IMAP_VALUE_STRING);
  g_assert_cmpint (body->form, ==, TERN_IMAP_STRING_LITERAL);
  g_assert_cmpuint (body->len, ==, 12);
  g_assert_cmpmem (body->str, body->len, "ab\r\n\0cd\r\n)}\"", 12);
  g_assert_cmpuint (r->number, ==, 4);
}

static void
test_literal_plus_and_literal8 (void)
{
  static const char bytes[] = "* 5 FETCH (UID 8 BODY[TEXT]<0> {5+}\r\nhello BINARY[1] ~{4}\r\n\0\1\2\3)\r\n";
  g_autoptr(TernImapResponse) r = parse_one (bytes, sizeof bytes - 1);
  const TernImapValue *text = tern_imap_response_get_fetch_item (r, "BODY[TEXT]<0>");
  const TernImapValue *binary = tern_imap_response_get_fetch_item (r, "binary[1]");

  g_assert_cmpstr (text->str, ==, "hello");
  g_assert_cmpint (text->form, ==, TERN_IMAP_STRING_LITERAL);
  g_assert_cmpint (binary->form, ==, TERN_IMAP_STRING_LITERAL8);
  g_assert_cmpmem (binary->str, binary->len, "\0\1\2\3", 4);
}

static void
test_literal_split_across_chunks (void)
{
  static const char bytes[] = "* 3 FETCH (BODY[] {10}\r\nab\r\ncd\r\nef)\r\nA1 OK done\r\n";

  /* Every split point, including inside "{10}" and between CR and LF. */
  for (gsize split = 1; split < sizeof bytes - 1; split++)
    {
      g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(TernImapResponse) first = NULL;
      g_autoptr(TernImapResponse) second = NULL;
      const TernImapValue *body;

      g_assert_true (tern_imap_parser_feed (parser, (const guint8 *) bytes, split, &error));
      g_assert_true (tern_imap_parser_feed (parser, (const guint8 *) bytes + split,
                                            sizeof bytes - 1 - split, &error));
      g_assert_no_error (error);
      first = tern_imap_parser_pop (parser);
      second = tern_imap_parser_pop (parser);
      g_assert_nonnull (first);
      g_assert_nonnull (second);
      body = tern_imap_response_get_fetch_item (first, "BODY[]");
      g_assert_cmpmem (body->str, body->len, "ab\r\ncd\r\nef", 10);
      g_assert_cmpstr (second->tag, ==, "A1");
    }
}

static void
test_response_kinds (void)
{
  g_autoptr(TernImapResponse) tagged = parse_one ("A1 NO [TRYCREATE] No such mailbox\r\n", 35);
  g_autoptr(TernImapResponse) cont = parse_one ("+ Ready\r\n", 9);
  g_autoptr(TernImapResponse) bye = parse_one ("* BYE Logging out\r\n", 19);
  g_autoptr(TernImapResponse) list = parse_one ("* LIST (\\HasNoChildren) \"/\" INBOX\r\n", 35);

  g_assert_cmpint (tagged->kind, ==, TERN_IMAP_RESPONSE_TAGGED);
  g_assert_cmpstr (tagged->tag, ==, "A1");
  g_assert_cmpint (tagged->status, ==, TERN_IMAP_STATUS_NO);
  g_assert_cmpint (tagged->code->kind, ==, TERN_IMAP_CODE_TRYCREATE);
  g_assert_cmpstr (tagged->text, ==, "No such mailbox");

  g_assert_cmpint (cont->kind, ==, TERN_IMAP_RESPONSE_CONTINUATION);
  g_assert_cmpstr (cont->text, ==, "Ready");

  g_assert_cmpint (bye->kind, ==, TERN_IMAP_RESPONSE_UNTAGGED);
  g_assert_cmpint (bye->status, ==, TERN_IMAP_STATUS_BYE);
  g_assert_cmpstr (bye->text, ==, "Logging out");

  g_assert_cmpstr (list->name, ==, "LIST");
  g_assert_cmpuint (list->data->items->len, ==, 3);

  /* A status response's text is free text: braces there announce nothing. */
  assert_prints ("A6 NO [ALERT] Over quota {5}\r\n", "TAGGED A6 NO [ALERT] \"Over quota {5}\"");
  assert_prints ("* OK\r\n", "UNTAGGED OK \"\"");
}

static void
test_response_codes (void)
{
  struct {
    const char *line;
    TernImapCodeKind kind;
    guint64 number;
  } numbers[] = {
    { "* OK [UIDVALIDITY 3857529045] x\r\n", TERN_IMAP_CODE_UIDVALIDITY, 3857529045u },
    { "* OK [UIDNEXT 4392] x\r\n", TERN_IMAP_CODE_UIDNEXT, 4392 },
    { "* OK [UNSEEN 12] x\r\n", TERN_IMAP_CODE_UNSEEN, 12 },
    { "* OK [HIGHESTMODSEQ 715194045007] x\r\n", TERN_IMAP_CODE_HIGHESTMODSEQ, 715194045007u },
    { "A3 OK [APPENDUID 38505 3955] x\r\n", TERN_IMAP_CODE_APPENDUID, 38505 },
  };
  g_autoptr(TernImapResponse) flags = NULL;
  g_autoptr(TernImapResponse) copy = NULL;
  g_autoptr(TernImapResponse) caps = NULL;
  g_autoptr(TernImapResponse) other = NULL;
  g_autoptr(TernImapResponse) ro = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autoptr(TernImapResponse) r = parse_one (numbers[i].line, strlen (numbers[i].line));

      g_assert_nonnull (r->code);
      g_assert_cmpint (r->code->kind, ==, numbers[i].kind);
      g_assert_cmpuint (r->code->number, ==, numbers[i].number);
      g_assert_cmpstr (r->text, ==, "x");
    }

  flags = parse_one ("* OK [PERMANENTFLAGS (\\Seen \\*)] ok\r\n", 38);
  g_assert_cmpint (flags->code->kind, ==, TERN_IMAP_CODE_PERMANENTFLAGS);
  g_assert_cmpuint (g_strv_length (flags->code->strv), ==, 2);
  g_assert_cmpstr (flags->code->strv[1], ==, "\\*");

  copy = parse_one ("A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n", 50);
  g_assert_cmpint (copy->code->kind, ==, TERN_IMAP_CODE_COPYUID);
  g_assert_cmpstr (copy->code->uid_set, ==, "304,319:320");
  g_assert_cmpstr (copy->code->dest_uid_set, ==, "3956:3958");

  caps = parse_one ("* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n", 40);
  g_assert_cmpint (caps->code->kind, ==, TERN_IMAP_CODE_CAPABILITY);
  g_assert_cmpstr (caps->code->strv[1], ==, "IDLE");

  ro = parse_one ("A2 OK [read-only] EXAMINE done\r\n", 32);
  g_assert_cmpint (ro->code->kind, ==, TERN_IMAP_CODE_READ_ONLY);
  g_assert_cmpstr (ro->code->name, ==, "READ-ONLY");

  /* Unknown codes keep their text even when it is not IMAP values. */
  other = parse_one ("A8 OK [EXAMPLE-CODE whatever (goes] here\r\n", 42);
  g_assert_cmpint (other->code->kind, ==, TERN_IMAP_CODE_OTHER);
  g_assert_cmpstr (other->code->raw_args, ==, "whatever (goes");
  g_assert_null (other->code->args);
  g_assert_cmpstr (other->text, ==, "here");

  assert_error ("* OK [UIDVALIDITY abc] x\r\n", 26, TERN_IMAP_ERROR_BAD_RESPONSE, "UIDVALIDITY");
  assert_error ("* OK [UIDNEXT 99999999999] x\r\n", 30, TERN_IMAP_ERROR_BAD_RESPONSE, "UIDNEXT");
  assert_error ("A1 OK [COPYUID 1 2] x\r\n", 23, TERN_IMAP_ERROR_BAD_RESPONSE, "COPYUID");
  assert_error ("* OK [ALERT x\r\n", 15, TERN_IMAP_ERROR_BAD_RESPONSE, "\"]\"");
}

static void
test_corpus_same_in_any_chunking (void)
{
  g_autoptr(GString) all = g_string_new (NULL);
  g_autofree char *whole = NULL;
  gboolean failed = TRUE;
  guint n_lines = 0;

  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    g_string_append_len (all, corpus[i].bytes, corpus[i].len);

  whole = parse_printed (all->str, all->len, 0, &failed);
  g_assert_false (failed);
  for (const char *p = whole; *p != '\0'; p++)
    n_lines += *p == '\n';
  g_assert_cmpuint (n_lines, ==, G_N_ELEMENTS (corpus));

  for (gsize chunk = 1; chunk <= 17; chunk++)
    {
      g_autofree char *pieces = parse_printed (all->str, all->len, chunk, NULL);

      g_assert_cmpstr (pieces, ==, whole);
    }

  /* Each response on its own prints as it does in the stream. */
  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    {
      g_autofree char *one = parse_printed (corpus[i].bytes, corpus[i].len, 1, &failed);

      g_assert_false (failed);
      g_assert_nonnull (strstr (whole, one));
    }
}

static void
test_errors_same_in_any_chunking (void)
{
  static const char *streams[] = {
    "* 1 EXISTS\r\n* 2 FETCH (UID 3))\r\n",
    "* 1 EXISTS\r\n* 2 FETCH (UID {x}\r\n",
    "* 1 EXISTS\r\nA1 OK\n",
    "* 1 EXISTS\r\n* 2 FETCH (BODY[] {5}\r\nab",
  };

  for (guint i = 0; i < G_N_ELEMENTS (streams); i++)
    {
      gboolean failed = FALSE;
      g_autofree char *whole = parse_printed (streams[i], strlen (streams[i]), 0, &failed);
      g_autofree char *bytewise = parse_printed (streams[i], strlen (streams[i]), 1, NULL);

      g_assert_true (failed);
      /* The response before the error still came out. */
      g_assert_true (g_str_has_prefix (whole, "UNTAGGED 1 EXISTS ()\nERROR"));
      g_assert_cmpstr (bytewise, ==, whole);
    }
}

static void
test_errors_unbalanced_parentheses (void)
{
  assert_error ("* 1 FETCH (UID 3\r\n", 18, TERN_IMAP_ERROR_BAD_RESPONSE, "unbalanced");
  assert_error ("* 1 FETCH (UID 3))\r\n", 20, TERN_IMAP_ERROR_BAD_RESPONSE, "unbalanced");
  assert_error ("* 1 FETCH UID 3)\r\n", 18, TERN_IMAP_ERROR_BAD_RESPONSE, "unbalanced");
}

static void
test_errors_bad_literal (void)
{
  assert_error ("* 1 FETCH (BODY[] {12a}\r\n", 25, TERN_IMAP_ERROR_BAD_RESPONSE, "literal");
  assert_error ("* 1 FETCH (BODY[] {}\r\n", 22, TERN_IMAP_ERROR_BAD_RESPONSE, "literal");
  assert_error ("* 1 FETCH (BODY[] {3} x\r\n", 25, TERN_IMAP_ERROR_BAD_RESPONSE, "literal");
  assert_error ("* 1 FETCH (BODY[] {99999999999999999999}\r\n", 42, TERN_IMAP_ERROR_TOO_BIG,
                "digits");
  assert_error ("* 1 FETCH (BODY[] {3}\r\nab", 25, TERN_IMAP_ERROR_INCOMPLETE, "ended");
}

static void
test_errors_literal_too_big (void)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  static const char ok[] = "* 1 FETCH (BODY[] {100}\r\n";
  static const char big[] = "* 1 FETCH (BODY[] {101}\r\n";

  tern_imap_parser_set_max_literal (parser, 100);
  g_assert_true (tern_imap_parser_feed (parser, (const guint8 *) ok, sizeof ok - 1, &error));
  g_clear_pointer (&parser, tern_imap_parser_free);

  parser = tern_imap_parser_new ();
  tern_imap_parser_set_max_literal (parser, 100);
  g_assert_false (tern_imap_parser_feed (parser, (const guint8 *) big, sizeof big - 1, &error));
  g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_TOO_BIG);
  g_assert_nonnull (strstr (error->message, "literal of 101 bytes"));

  /* The default limit refuses a 64 MiB + 1 literal without storing it. */
  assert_error ("* 1 FETCH (BODY[] {67108865}\r\n", 30, TERN_IMAP_ERROR_TOO_BIG, "67108865");
}

static void
test_errors_response_too_big (void)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  static const char bytes[] = "* 1 FETCH (BODY[] {30}\r\n0123456789012345678901234567890123456789)\r\n";

  tern_imap_parser_set_max_response (parser, 40);
  g_assert_false (tern_imap_parser_feed (parser, (const guint8 *) bytes, sizeof bytes - 1, &error));
  g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_TOO_BIG);
}

static void
test_errors_depth_exceeded (void)
{
  GString *s = g_string_new ("* X ");
  GString *ok = g_string_new ("* X ");
  g_autoptr(TernImapResponse) r = NULL;

  for (guint i = 0; i < TERN_IMAP_MAX_DEPTH; i++)
    g_string_append_c (ok, '(');
  for (guint i = 0; i < TERN_IMAP_MAX_DEPTH; i++)
    g_string_append_c (ok, ')');
  g_string_append (ok, "\r\n");
  r = parse_one (ok->str, ok->len);
  g_assert_cmpstr (r->name, ==, "X");

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (s, '(');
  g_string_append (s, "\r\n");
  assert_error (s->str, s->len, TERN_IMAP_ERROR_TOO_BIG, "nested deeper than 64");
  g_string_free (s, TRUE);
  g_string_free (ok, TRUE);
}

static void
test_errors_garbage (void)
{
  static const char nul_line[] = "* 1 EXISTS\0\r\n";
  guint8 noise[4096];
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  assert_error ("\r\n", 2, TERN_IMAP_ERROR_BAD_RESPONSE, "no tag");
  assert_error ("(((\r\n", 5, TERN_IMAP_ERROR_BAD_RESPONSE, "no tag");
  assert_error ("*\r\n", 3, TERN_IMAP_ERROR_BAD_RESPONSE, "space must follow");
  assert_error ("A1 FETCH (UID 1)\r\n", 18, TERN_IMAP_ERROR_BAD_RESPONSE, "tagged");
  assert_error ("* (a) b\r\n", 9, TERN_IMAP_ERROR_BAD_RESPONSE, "name");
  assert_error ("* X \x01\r\n", 7, TERN_IMAP_ERROR_BAD_RESPONSE, "0x01");
  assert_error ("* X a\"b\"\r\n", 10, TERN_IMAP_ERROR_BAD_RESPONSE, "separated");
  assert_error (nul_line, sizeof nul_line - 1, TERN_IMAP_ERROR_BAD_RESPONSE, "NUL");
  assert_error ("* X a\rb\r\n", 9, TERN_IMAP_ERROR_BAD_RESPONSE, "CR without LF");
  assert_error ("* 5 F\xe0\xb9TCH (UID 1)\r\n", 22, TERN_IMAP_ERROR_BAD_RESPONSE, "not ASCII");
  assert_error ("* B\xc3\xa4" "D x\r\n", 11, TERN_IMAP_ERROR_BAD_RESPONSE, "not ASCII");
  assert_error ("A\xc3\xa4 OK x\r\n", 11, TERN_IMAP_ERROR_BAD_RESPONSE, "space must follow");

  /* Random bytes: an error or responses, never a crash. */
  for (guint round = 0; round < 200; round++)
    {
      g_autofree char *printed = NULL;

      for (guint i = 0; i < sizeof noise; i++)
        noise[i] = g_rand_int_range (rand, 0, 256);
      printed = parse_printed ((const char *) noise, sizeof noise, 1 + round % 7, NULL);
      g_assert_nonnull (printed);
    }
}

static void
test_errors_missing_crlf (void)
{
  assert_error ("* 1 EXISTS\n", 11, TERN_IMAP_ERROR_BAD_RESPONSE, "LF instead of CRLF");
  assert_error ("* 1 EXISTS", 10, TERN_IMAP_ERROR_INCOMPLETE, "ended inside a response");
}

static void
test_errors_line_too_long (void)
{
  gsize len = TERN_IMAP_MAX_LINE_BYTES + 10;
  g_autofree char *line = g_malloc (len);

  memset (line, 'a', len);
  memcpy (line, "* X ", 4);
  assert_error (line, len, TERN_IMAP_ERROR_TOO_BIG, "line is longer");
}

static void
test_fetch_sections (void)
{
  assert_prints ("* 1 FETCH (BODY[HEADER.FIELDS (FROM \"TO\")]<0> NIL)\r\n",
                 "UNTAGGED 1 FETCH ((BODY[HEADER.FIELDS (FROM \"TO\")]<0> NIL))");
  /* "[" elsewhere is an ordinary atom character. */
  assert_prints ("* LIST () \"/\" foo[bar\r\n", "UNTAGGED LIST (() \"/\" foo[bar)");
  assert_error ("* 1 FETCH (BODY[TEXT NIL)\r\n", 27, TERN_IMAP_ERROR_BAD_RESPONSE, "section");
}

/* ENVELOPE */

#define DOVECOT_ENVELOPE \
  "* 7 FETCH (UID 1007 ENVELOPE (\"Wed, 05 Mar 2025 14:30:00 +0100\" " \
  "\"=?UTF-8?Q?Entw=C3=BCrfe_f=C3=BCr_M=C3=A4rz?=\" " \
  "((\"=?ISO-8859-1?Q?J=F6rg_M=FCller?=\" NIL \"joerg\" \"example.de\")) " \
  "((\"=?ISO-8859-1?Q?J=F6rg_M=FCller?=\" NIL \"joerg\" \"example.de\")) " \
  "((NIL NIL \"list\" \"lists.example.org\")) " \
  "((\"Anna\" NIL \"anna\" \"example.com\")(NIL NIL \"team\" NIL)" \
  "(\"Ben\" NIL \"ben\" \"example.com\")(NIL NIL NIL NIL)) NIL " \
  "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) " \
  "\"<prev@example.de>\" \"<msg-1007@example.de>\"))\r\n"

static void
test_envelope_dovecot (void)
{
  g_autoptr(TernImapResponse) r = parse_one (DOVECOT_ENVELOPE, strlen (DOVECOT_ENVELOPE));
  g_autoptr(TernImapEnvelope) env = NULL;
  g_autoptr(GError) error = NULL;
  TernImapAddress *a;

  env = tern_imap_envelope_decode (tern_imap_response_get_fetch_item (r, "ENVELOPE"), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (env->subject, ==, "Entwürfe für März");
  g_assert_cmpstr (env->date, ==, "Wed, 05 Mar 2025 14:30:00 +0100");
  g_assert_nonnull (env->date_time);
  g_assert_cmpint (g_date_time_get_day_of_month (env->date_time), ==, 5);
  g_assert_cmpuint (env->from->len, ==, 1);
  a = g_ptr_array_index (env->from, 0);
  g_assert_cmpstr (a->name, ==, "Jörg Müller");
  g_assert_cmpstr (a->address, ==, "joerg@example.de");
  g_assert_null (a->group);
  a = g_ptr_array_index (env->reply_to, 0);
  g_assert_null (a->name);
  g_assert_cmpstr (a->address, ==, "list@lists.example.org");

  /* To: Anna, team: Ben; */
  g_assert_cmpuint (env->to->len, ==, 2);
  a = g_ptr_array_index (env->to, 0);
  g_assert_null (a->group);
  a = g_ptr_array_index (env->to, 1);
  g_assert_cmpstr (a->address, ==, "ben@example.com");
  g_assert_cmpstr (a->group, ==, "team");
  g_assert_cmpuint (env->cc->len, ==, 0);
  /* An empty group has no addresses. */
  g_assert_cmpuint (env->bcc->len, ==, 0);
  g_assert_cmpstr (env->in_reply_to, ==, "<prev@example.de>");
  g_assert_cmpstr (env->message_id, ==, "<msg-1007@example.de>");
}

static void
test_envelope_rejects_bad_shapes (void)
{
  static const char *bad[] = {
    "* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
    "* 1 FETCH (ENVELOPE (NIL NIL ((NIL NIL \"a\")) NIL NIL NIL NIL NIL NIL NIL))\r\n",
    "* 1 FETCH (ENVELOPE (NIL NIL \"x\" NIL NIL NIL NIL NIL NIL NIL))\r\n",
    "* 1 FETCH (ENVELOPE (NIL (x) NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(TernImapResponse) r = parse_one (bad[i], strlen (bad[i]));
      g_autoptr(GError) error = NULL;
      TernImapEnvelope *env = tern_imap_envelope_decode (tern_imap_response_get_fetch_item (r, "ENVELOPE"),
                                                         &error);

      g_assert_null (env);
      g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE);
    }
}

/* BODYSTRUCTURE */

#define MIXED_BODYSTRUCTURE \
  "* 1 FETCH (UID 42 BODYSTRUCTURE (((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL " \
  "\"quoted-printable\" 412 14 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\") " \
  "NIL NIL \"quoted-printable\" 1520 38 NIL NIL NIL NIL) \"alternative\" " \
  "(\"boundary\" \"alt-b1\") NIL NIL NIL)(\"image\" \"png\" (\"name\" \"logo.png\") " \
  "\"<logo@tern>\" NIL \"base64\" 8040 NIL (\"inline\" (\"filename\" \"logo.png\")) NIL NIL)" \
  "(\"application\" \"pdf\" (\"name\" \"=?UTF-8?Q?Rechnung_M=C3=A4rz.pdf?=\") NIL " \
  "\"Invoice\" \"BASE64\" 204800 NIL (\"attachment\" (\"filename\" " \
  "\"=?UTF-8?Q?Rechnung_M=C3=A4rz.pdf?=\" \"size\" \"149650\")) (\"de\" \"en\") " \
  "\"https://example.com/r.pdf\") \"mixed\" (\"boundary\" \"mix-b0\") NIL NIL NIL))\r\n"

static TernImapBodyPart *
decode_structure (const char *bytes)
{
  g_autoptr(TernImapResponse) r = parse_one (bytes, strlen (bytes));
  g_autoptr(GError) error = NULL;
  TernImapBodyPart *part;

  part = tern_imap_body_part_decode (tern_imap_response_get_fetch_item (r, "BODYSTRUCTURE"),
                                     &error);
  g_assert_no_error (error);
  return part;
}

/* BODYSTRUCTUREs sound and broken: the check alone fails where decoding
 * fails, with the same message, and finds an attachment where the tree
 * has a part with the disposition "attachment". */
static const struct {
  const char *structure;
  gboolean sound;
  gboolean attachment;
} checked_structures[] = {
  { "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL)",
    TRUE, FALSE },
  { "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1)", TRUE, FALSE },
  { "(NIL NIL NIL NIL NIL NIL 10 1)", TRUE, FALSE },
  { "(NIL NIL NIL NIL NIL NIL 10)", FALSE, FALSE },
  { "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 10)", FALSE, FALSE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" 10)", TRUE, FALSE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" 10 NIL \"ATTACHMENT\")", TRUE, TRUE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" 10 NIL (\"Attachment\" NIL))", TRUE, TRUE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" 10 NIL (\"inline\" (\"filename\" \"a\")))",
    TRUE, FALSE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" 10 NIL (NIL NIL))", FALSE, FALSE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" 10 NIL (\"attachment\" (\"odd\")))",
    FALSE, FALSE },
  { "(\"image\" \"png\" (\"name\") NIL NIL \"base64\" 10)", FALSE, FALSE },
  { "(\"image\" \"png\" \"params\" NIL NIL \"base64\" 10)", FALSE, FALSE },
  { "(\"image\" \"png\" NIL NIL NIL \"base64\" \"ten\")", FALSE, FALSE },
  { "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)(\"application\" \"pdf\" NIL NIL NIL "
    "\"base64\" 9 NIL (\"attachment\" (\"filename\" \"x.pdf\"))) \"mixed\" NIL NIL NIL)",
    TRUE, TRUE },
  { "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"mixed\" (\"boundary\") NIL)", FALSE,
    FALSE },
  { "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1))", FALSE, FALSE },
  { "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"mixed\" NIL \"attachment\")", TRUE,
    TRUE },
  { "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL \"s\" NIL NIL NIL NIL NIL NIL "
    "NIL \"<m@x>\") (\"application\" \"zip\" NIL NIL NIL \"base64\" 5 NIL "
    "(\"attachment\" NIL)) 4)", TRUE, TRUE },
  { "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL \"s\" NIL NIL NIL NIL NIL NIL "
    "NIL \"<m@x>\") (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) \"lines\")", FALSE,
    FALSE },
  { "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL \"s\" ((NIL NIL \"a\")) NIL "
    "NIL NIL NIL NIL NIL \"<m@x>\") (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) 4)",
    FALSE, FALSE },
  { "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL \"s\") (\"text\" \"plain\" "
    "NIL NIL NIL \"7bit\" 5 1) 4)", FALSE, FALSE },
  { "(\"message\" \"global\" NIL NIL NIL \"7bit\" 100 NIL NIL 4)", TRUE, FALSE },
  { "(\"Message\" \"RFC822\" NIL NIL NIL \"7bit\" 100 (NIL \"s\" NIL NIL NIL NIL NIL NIL "
    "NIL \"<m@x>\") (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1 NIL \"attachment\") 4)",
    TRUE, TRUE },
  { "()", FALSE, FALSE },
  { "NIL", FALSE, FALSE },
};

static void
test_bodystructure_check_matches_decode (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (checked_structures); i++)
    {
      g_autofree char *bytes = g_strdup_printf ("* 1 FETCH (UID 1 BODYSTRUCTURE %s)\r\n",
                                                checked_structures[i].structure);
      g_autoptr(TernImapResponse) r = parse_one (bytes, strlen (bytes));
      const TernImapValue *value = tern_imap_response_get_fetch_item (r, "BODYSTRUCTURE");
      g_autoptr(GError) decode_error = NULL;
      g_autoptr(GError) check_error = NULL;
      g_autoptr(TernImapBodyPart) part = tern_imap_body_part_decode (value, &decode_error);
      gboolean attachment = !checked_structures[i].attachment;
      gboolean sound = tern_imap_body_structure_check (value, &attachment, &check_error);

      g_test_message ("structure %u: %s", i, checked_structures[i].structure);
      g_assert_cmpint (part != NULL, ==, checked_structures[i].sound);
      g_assert_cmpint (sound, ==, checked_structures[i].sound);
      if (sound)
        {
          g_assert_no_error (check_error);
          g_assert_cmpint (attachment, ==, checked_structures[i].attachment);
        }
      else
        {
          g_assert_error (check_error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE);
          g_assert_cmpstr (check_error->message, ==, decode_error->message);
        }
    }
}

static void
test_bodystructure_mixed_with_attachment_and_inline_image (void)
{
  g_autoptr(TernImapBodyPart) root = decode_structure (MIXED_BODYSTRUCTURE);
  const TernImapBodyPart *alt, *html, *image, *pdf;
  g_autofree char *image_name = NULL;
  g_autofree char *pdf_name = NULL;

  g_assert_true (tern_imap_body_part_is_multipart (root));
  g_assert_cmpstr (root->subtype, ==, "mixed");
  g_assert_cmpstr (root->section, ==, "");
  g_assert_cmpstr (tern_imap_body_part_get_param (root, "BOUNDARY"), ==, "mix-b0");
  g_assert_cmpuint (root->children->len, ==, 3);

  alt = g_ptr_array_index (root->children, 0);
  g_assert_cmpstr (alt->subtype, ==, "alternative");
  g_assert_cmpstr (alt->section, ==, "1");
  html = tern_imap_body_part_find (root, "1.2");
  g_assert_nonnull (html);
  g_assert_cmpstr (html->subtype, ==, "html");
  g_assert_cmpuint (html->size, ==, 1520);
  g_assert_cmpuint (html->lines, ==, 38);
  g_assert_cmpstr (html->encoding, ==, "quoted-printable");

  image = tern_imap_body_part_find (root, "2");
  g_assert_cmpstr (image->type, ==, "image");
  g_assert_cmpstr (image->id, ==, "<logo@tern>");
  g_assert_cmpstr (image->disposition, ==, "inline");
  image_name = tern_imap_body_part_get_filename (image);
  g_assert_cmpstr (image_name, ==, "logo.png");

  pdf = tern_imap_body_part_find (root, "3");
  g_assert_cmpstr (pdf->section, ==, "3");
  g_assert_cmpstr (pdf->encoding, ==, "base64");
  g_assert_cmpstr (pdf->description, ==, "Invoice");
  g_assert_cmpuint (pdf->size, ==, 204800);
  g_assert_cmpstr (pdf->disposition, ==, "attachment");
  pdf_name = tern_imap_body_part_get_filename (pdf);
  g_assert_cmpstr (pdf_name, ==, "Rechnung März.pdf");
  g_assert_cmpstr (pdf->language[1], ==, "en");
  g_assert_cmpstr (pdf->location, ==, "https://example.com/r.pdf");
}

#define NESTED_BODYSTRUCTURE \
  "* 2 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" " \
  "120 4 NIL NIL NIL NIL)(\"message\" \"rfc822\" (\"name\" \"fwd.eml\") NIL NIL \"7bit\" 2100 " \
  "(\"Tue, 4 Mar 2025 09:00:00 +0100\" \"Original\" ((\"Bob\" NIL \"bob\" \"example.org\")) " \
  "((\"Bob\" NIL \"bob\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")) " \
  "((NIL NIL \"alice\" \"example.com\")) NIL NIL NIL \"<orig@example.org>\") " \
  "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 300 10 NIL NIL NIL NIL)" \
  "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 1000 NIL (\"attachment\" " \
  "(\"filename*\" \"utf-8''Daten%20%C3%BC.bin\")) NIL NIL) \"mixed\" (\"boundary\" \"inner\") " \
  "NIL NIL NIL) 40 NIL (\"attachment\" (\"filename\" \"fwd.eml\")) NIL NIL) \"mixed\" " \
  "(\"boundary\" \"outer\") NIL NIL NIL))\r\n"

static void
test_bodystructure_nested_message (void)
{
  g_autoptr(TernImapBodyPart) root = decode_structure (NESTED_BODYSTRUCTURE);
  const TernImapBodyPart *message, *inner, *text, *data;
  g_autofree char *data_name = NULL;

  message = tern_imap_body_part_find (root, "2");
  g_assert_cmpstr (message->type, ==, "message");
  g_assert_cmpstr (message->subtype, ==, "rfc822");
  g_assert_cmpuint (message->lines, ==, 40);
  g_assert_nonnull (message->envelope);
  g_assert_cmpstr (message->envelope->subject, ==, "Original");
  g_assert_cmpstr (((TernImapAddress *) g_ptr_array_index (message->envelope->to, 0))->address, ==,
                   "alice@example.com");

  g_assert_cmpuint (message->children->len, ==, 1);
  inner = g_ptr_array_index (message->children, 0);
  g_assert_true (tern_imap_body_part_is_multipart (inner));
  g_assert_cmpstr (inner->section, ==, "2");

  text = tern_imap_body_part_find (root, "2.1");
  g_assert_cmpstr (text->subtype, ==, "plain");
  g_assert_cmpuint (text->size, ==, 300);
  data = tern_imap_body_part_find (root, "2.2");
  g_assert_cmpstr (data->subtype, ==, "octet-stream");
  data_name = tern_imap_body_part_get_filename (data);
  g_assert_cmpstr (data_name, ==, "Daten ü.bin");
  g_assert_null (tern_imap_body_part_find (root, "2.3"));
}

static void
test_bodystructure_single_part (void)
{
  g_autoptr(TernImapBodyPart) root =
    decode_structure ("* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") "
                      "NIL NIL \"7BIT\" 5 1))\r\n");
  g_autoptr(TernImapBodyPart) attached =
    decode_structure ("* 1 FETCH (BODYSTRUCTURE (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 9 "
                      "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL "
                      "\"7bit\" 2 1) 3))\r\n");

  g_assert_cmpstr (root->section, ==, "1");
  g_assert_cmpstr (root->type, ==, "text");
  g_assert_cmpstr (tern_imap_body_part_get_param (root, "charset"), ==, "UTF-8");
  g_assert_cmpuint (root->lines, ==, 1);
  g_assert_null (root->disposition);

  g_assert_cmpstr (attached->section, ==, "1");
  g_assert_cmpstr (((TernImapBodyPart *) g_ptr_array_index (attached->children, 0))->section, ==,
                   "1.1");
}

static void
test_bodystructure_rejects_bad_shapes (void)
{
  static const char *bad[] = {
    "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" x 1))\r\n",
    "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5))\r\n",
    "* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1)))\r\n",
    "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"a\") NIL NIL \"7bit\" 5 1))\r\n",
    "* 1 FETCH (BODYSTRUCTURE ())\r\n",
    "* 1 FETCH (BODYSTRUCTURE NIL)\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(TernImapResponse) r = parse_one (bad[i], strlen (bad[i]));
      g_autoptr(GError) error = NULL;
      TernImapBodyPart *part =
        tern_imap_body_part_decode (tern_imap_response_get_fetch_item (r, "BODYSTRUCTURE"), &error);

      g_assert_null (part);
      g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_BAD_RESPONSE);
    }
}

/* Modified UTF-7 */

static void
test_utf7_round_trips (void)
{
  static const struct {
    const char *utf8;
    const char *mutf7;
  } pairs[] = {
    { "INBOX", "INBOX" },
    { "Entwürfe", "Entw&APw-rfe" },
    { "&", "&-" },
    { "Tom & Jerry", "Tom &- Jerry" },
    { "日本語", "&ZeVnLIqe-" },
    { "受信箱/下書き", "&U9dP4Xux-/&Tgtm+DBN-" },
    { "📧 Mail", "&2D3c5w- Mail" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *encoded = tern_imap_utf7_encode (pairs[i].utf8, &error);
      g_autofree char *decoded = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (encoded, ==, pairs[i].mutf7);
      decoded = tern_imap_utf7_decode (pairs[i].mutf7, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (decoded, ==, pairs[i].utf8);
    }
}

static void
test_utf7_rejects_invalid (void)
{
  static const char *bad[] = {
    "Entw&APw",        /* no closing "-" */
    "&AP-",            /* bits left over */
    "&AGE-",           /* "a" must not be encoded */
    "&2D0-",           /* lone high surrogate */
    "&3gA-",           /* lone low surrogate */
    "&AAA-",           /* NUL */
    "&Zm9v!-",         /* not base64 */
    "Entw\xc3\xbc" "rfe", /* raw 8-bit */
    "tab\there",       /* control character */
    "Entw&APx-rfe",    /* non-zero padding bits */
  };
  g_autoptr(GError) error = NULL;
  char *out;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) local_error = NULL;

      out = tern_imap_utf7_decode (bad[i], -1, &local_error);
      if (out != NULL)
        g_error ("\"%s\" decoded to \"%s\"", bad[i], out);
      g_assert_error (local_error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME);
    }

  out = tern_imap_utf7_encode ("bad \xff", &error);
  g_assert_null (out);
  g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME);
}

static void
test_mailbox_names_from_list (void)
{
  g_autoptr(TernImapResponse) r = parse_one ("* LIST () \"/\" \"Entw&APw-rfe\"\r\n", 30);
  g_autoptr(TernImapResponse) inbox = parse_one ("* LIST () \"/\" inbox\r\n", 21);
  g_autoptr(TernImapResponse) utf8 = parse_one ("* LIST () \"/\" \"Entwürfe\"\r\n", 27);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *inbox_name = NULL;
  g_autofree char *utf8_name = NULL;
  char *refused;

  name = tern_imap_mailbox_name_decode (g_ptr_array_index (r->data->items, 2), FALSE, &error);
  g_assert_cmpstr (name, ==, "Entwürfe");
  inbox_name = tern_imap_mailbox_name_decode (g_ptr_array_index (inbox->data->items, 2), FALSE, &error);
  g_assert_cmpstr (inbox_name, ==, "INBOX");
  utf8_name = tern_imap_mailbox_name_decode (g_ptr_array_index (utf8->data->items, 2), TRUE, &error);
  g_assert_cmpstr (utf8_name, ==, "Entwürfe");
  g_assert_no_error (error);

  refused = tern_imap_mailbox_name_decode (g_ptr_array_index (utf8->data->items, 2), FALSE, &error);
  g_assert_null (refused);
  g_assert_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME);
}

/* Speed */

static void
test_throughput_20000_envelopes (void)
{
  g_autoptr(TernImapParser) parser = tern_imap_parser_new ();
  g_autoptr(GError) error = NULL;
  GString *s = g_string_new (NULL);
  gint64 start, parsed, decoded;
  guint n_responses = 0;
  guint n_envelopes = 0;
  GPtrArray *responses = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_imap_response_unref);

  for (guint i = 1; i <= 20000; i++)
    g_string_append_printf (s,
                            "* %u FETCH (UID %u FLAGS (\\Seen) RFC822.SIZE %u ENVELOPE "
                            "(\"Wed, 05 Mar 2025 14:30:%02u +0100\" \"Re: weekly report number %u\" "
                            "((\"Jörg Müller\" NIL \"joerg\" \"example.de\")) "
                            "((\"Jörg Müller\" NIL \"joerg\" \"example.de\")) "
                            "((\"Jörg Müller\" NIL \"joerg\" \"example.de\")) "
                            "((\"Anna\" NIL \"anna\" \"example.com\")(NIL NIL \"ben\" \"example.com\")) "
                            "NIL NIL \"<p%u@example.de>\" \"<m%u@example.de>\"))\r\n",
                            i, i + 1000, 2000 + i, i % 60, i, i, i);

  start = g_get_monotonic_time ();
  for (gsize off = 0; off < s->len; off += 16384)
    {
      tern_imap_parser_feed (parser, (const guint8 *) s->str + off, MIN (16384, s->len - off),
                             &error);
      g_assert_no_error (error);
      for (TernImapResponse *r; (r = tern_imap_parser_pop (parser)) != NULL;)
        g_ptr_array_add (responses, r);
    }
  parsed = g_get_monotonic_time ();
  for (guint i = 0; i < responses->len; i++)
    {
      const TernImapValue *v = tern_imap_response_get_fetch_item (g_ptr_array_index (responses, i),
                                                                  "ENVELOPE");
      TernImapEnvelope *env = tern_imap_envelope_decode (v, &error);

      g_assert_no_error (error);
      n_envelopes += env->to->len == 2;
      tern_imap_envelope_free (env);
    }
  decoded = g_get_monotonic_time ();
  n_responses = responses->len;

  g_assert_cmpuint (n_responses, ==, 20000);
  g_assert_cmpuint (n_envelopes, ==, 20000);
  g_test_message ("20,000 FETCH ENVELOPE responses (%.1f MB): parsed in %.1f ms (%.0f MB/s), "
                  "envelopes decoded in %.1f ms",
                  s->len / 1e6, (parsed - start) / 1000.0,
                  s->len / (double) MAX (parsed - start, 1), (decoded - parsed) / 1000.0);
  g_ptr_array_unref (responses);
  g_string_free (s, TRUE);
}

/* INTERNALDATE in the forms servers send, in zones that change from one
 * message to the next (the zone of the last one is kept for the next),
 * and in looser forms. */
static void
test_fetch_internal_dates (void)
{
  static const struct {
    const char *date;
    gint64 unix_time;
    GTimeSpan offset_minutes;
  } dates[] = {
    { "17-Jul-1996 02:44:25 -0700", 837596665, -420 },
    { " 7-Jul-1996 02:44:25 -0700", 836732665, -420 },
    { "17-Jul-1996 02:44:25 +0000", 837571465, 0 },
    { "17-Jul-1996 02:44:25 +0530", 837551665, 330 },
    { "17-Jul-1996 02:44:25 -0700", 837596665, -420 },
    { "7-Jul-1996 02:44:25 -0700", 836732665, -420 },
    { "17-jul-1996 02:44:25 -0700", 837596665, -420 },
    { "17-Jul-1996 2:44:25 -0700", 837596665, -420 },
    { "29-Feb-2024 23:59:59 +1400", 1709200799, 840 },
  };
  static const char * const bad[] = {
    "17-Jux-1996 02:44:25 -0700", "17-Jul-1996 02:44:25 *0700", "30-Feb-2024 10:00:00 +0000",
    "17-Jul-1996 02:44:25", "",
  };

  for (guint i = 0; i < G_N_ELEMENTS (dates); i++)
    {
      g_autofree char *line = g_strdup_printf ("* %u FETCH (UID %u INTERNALDATE \"%s\")\r\n",
                                               i + 1, i + 1, dates[i].date);
      g_autoptr(TernImapResponse) response = parse_one (line, strlen (line));
      g_autoptr(GError) error = NULL;
      g_autoptr(TernImapFetch) fetch = imap_fetch_decode (response, &error);

      g_test_message ("%s", dates[i].date);
      g_assert_no_error (error);
      g_assert_true (fetch->fields & TERN_IMAP_FETCH_INTERNALDATE);
      g_assert_cmpint (g_date_time_to_unix (fetch->internal_date), ==, dates[i].unix_time);
      g_assert_cmpint (g_date_time_get_utc_offset (fetch->internal_date) / G_TIME_SPAN_MINUTE, ==,
                       dates[i].offset_minutes);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *line = g_strdup_printf ("* 1 FETCH (UID 1 INTERNALDATE \"%s\")\r\n",
                                               bad[i]);
      g_autoptr(TernImapResponse) response = parse_one (line, strlen (line));
      g_autoptr(GError) error = NULL;
      g_autoptr(TernImapFetch) fetch = imap_fetch_decode (response, &error);

      g_test_message ("%s", bad[i]);
      g_assert_no_error (error);
      g_assert_false (fetch->fields & TERN_IMAP_FETCH_INTERNALDATE);
      g_assert_null (fetch->internal_date);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/imap/parser/atoms-numbers-nil", test_atoms_numbers_nil);
  g_test_add_func ("/imap/parser/number-kinds", test_number_kinds);
  g_test_add_func ("/imap/parser/quoted-strings", test_quoted_strings);
  g_test_add_func ("/imap/parser/literal-holds-any-bytes", test_literal_any_bytes);
  g_test_add_func ("/imap/parser/literal-plus-and-literal8", test_literal_plus_and_literal8);
  g_test_add_func ("/imap/parser/literal-split-across-chunks", test_literal_split_across_chunks);
  g_test_add_func ("/imap/parser/response-kinds", test_response_kinds);
  g_test_add_func ("/imap/parser/response-codes", test_response_codes);
  g_test_add_func ("/imap/parser/fetch-sections", test_fetch_sections);
  g_test_add_func ("/imap/parser/corpus-same-in-any-chunking", test_corpus_same_in_any_chunking);
  g_test_add_func ("/imap/parser/errors-same-in-any-chunking", test_errors_same_in_any_chunking);
  g_test_add_func ("/imap/parser/errors/unbalanced-parentheses", test_errors_unbalanced_parentheses);
  g_test_add_func ("/imap/parser/errors/bad-literal", test_errors_bad_literal);
  g_test_add_func ("/imap/parser/errors/literal-too-big", test_errors_literal_too_big);
  g_test_add_func ("/imap/parser/errors/response-too-big", test_errors_response_too_big);
  g_test_add_func ("/imap/parser/errors/depth-exceeded", test_errors_depth_exceeded);
  g_test_add_func ("/imap/parser/errors/garbage", test_errors_garbage);
  g_test_add_func ("/imap/parser/errors/missing-crlf", test_errors_missing_crlf);
  g_test_add_func ("/imap/parser/errors/line-too-long", test_errors_line_too_long);
  g_test_add_func ("/imap/envelope/dovecot", test_envelope_dovecot);
  g_test_add_func ("/imap/envelope/rejects-bad-shapes", test_envelope_rejects_bad_shapes);
  g_test_add_func ("/imap/bodystructure/check-matches-decode",
                   test_bodystructure_check_matches_decode);
  g_test_add_func ("/imap/bodystructure/mixed-with-attachment-and-inline-image",
                   test_bodystructure_mixed_with_attachment_and_inline_image);
  g_test_add_func ("/imap/bodystructure/nested-message", test_bodystructure_nested_message);
  g_test_add_func ("/imap/bodystructure/single-part", test_bodystructure_single_part);
  g_test_add_func ("/imap/bodystructure/rejects-bad-shapes", test_bodystructure_rejects_bad_shapes);
  g_test_add_func ("/imap/utf7/round-trips", test_utf7_round_trips);
  g_test_add_func ("/imap/utf7/rejects-invalid", test_utf7_rejects_invalid);
  g_test_add_func ("/imap/utf7/mailbox-names-from-list", test_mailbox_names_from_list);
  g_test_add_func ("/imap/parser/throughput-20000-envelopes", test_throughput_20000_envelopes);
  g_test_add_func ("/imap/fetch/reads-internal-dates", test_fetch_internal_dates);

  return g_test_run ();
}
