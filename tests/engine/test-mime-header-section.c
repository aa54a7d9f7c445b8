/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-mime-message.h"
#include "tern-mime-private.h"

/*
 * tern_mime_message_parse_header_section() reads plain header sections
 * without GMime's message parser.  Whatever path it takes, what it gives
 * must be exactly what GMime's parser gives for the same bytes:
 * these tests compare the two on hand-made tricky sections and on many
 * generated ones, and check that the fast path is really taken where it
 * should be (else the comparison would prove nothing).
 */

static char *
describe_addresses (GPtrArray *addresses)
{
  GString *text = g_string_new ("[");

  for (guint i = 0; i < addresses->len; i++)
    {
      TernAddress *address = g_ptr_array_index (addresses, i);

      g_string_append_printf (text, "%s(%s|%s)", i > 0 ? ", " : "",
                              address->name != NULL ? address->name : "<null>", address->address);
    }
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

static char *
describe_strv (const char * const *strv)
{
  g_autofree char *joined = strv != NULL ? g_strjoinv ("|", (char **) strv) : g_strdup ("<null>");

  return g_strdup_printf ("%u:%s", strv != NULL ? g_strv_length ((char **) strv) : 0, joined);
}

/* Every fact of @message on its own line, so that two can be compared as
 * strings and a difference shows where it is. */
static char *
describe (TernMimeMessage *message)
{
  g_autofree char *references = describe_strv (tern_mime_message_get_references (message));
  g_autofree char *delivered = describe_strv (tern_mime_message_get_delivered_to (message));
  g_autofree char *from = describe_addresses (tern_mime_message_get_from (message));
  g_autofree char *to = describe_addresses (tern_mime_message_get_to (message));
  g_autofree char *cc = describe_addresses (tern_mime_message_get_cc (message));
  g_autofree char *bcc = describe_addresses (tern_mime_message_get_bcc (message));
  g_autofree char *reply_to = describe_addresses (tern_mime_message_get_reply_to (message));
  g_autofree char *sender = describe_addresses (tern_mime_message_get_sender (message));
  const char *message_id = tern_mime_message_get_message_id (message);
  const char *in_reply_to = tern_mime_message_get_in_reply_to (message);

  return g_strdup_printf ("message-id %s\nin-reply-to %s\nreferences %s\nsubject %s\n"
                          "from %s\nto %s\ncc %s\nbcc %s\nreply-to %s\nsender %s\n"
                          "delivered-to %s\ndate %" G_GINT64_FORMAT "\nbody %s\npreview %s\n"
                          "html %d\nattachments %d/%u\nproblems 0x%x\n",
                          message_id != NULL ? message_id : "<null>",
                          in_reply_to != NULL ? in_reply_to : "<null>", references,
                          tern_mime_message_get_subject (message), from, to, cc, bcc, reply_to,
                          sender, delivered, tern_mime_message_get_date (message),
                          tern_mime_message_get_body_text (message),
                          tern_mime_message_get_preview (message),
                          tern_mime_message_is_html (message),
                          tern_mime_message_has_attachments (message),
                          tern_mime_message_get_attachments (message)->len,
                          tern_mime_message_get_problems (message));
}

/* Whether the fast path takes @section, as a header section alone or,
 * with @whole, as a whole message. */
static gboolean
is_plain_as (const char *section,
             gsize       length,
             gboolean    whole)
{
  TernMimeIngest ingest = { 0 };
  TernMimeMessage facts = { 0 };
  gboolean plain;

  /* A scratch message for the fast path to fill in. */
  facts.references = g_new0 (char *, 1);
  facts.subject = g_strdup ("");
  facts.from = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  facts.to = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  facts.cc = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  facts.bcc = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  facts.reply_to = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  facts.sender = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_address_free);
  facts.delivered_to = g_new0 (char *, 1);
  ingest.self = &facts;
  ingest.body = g_string_new (NULL);
  ingest.embedded = g_string_new (NULL);
  if (whole)
    plain = tern_mime_ingest_plain_message (&ingest, (const guint8 *) section, length);
  else
    plain = tern_mime_ingest_plain_header (&ingest, (const guint8 *) section, length);

  g_string_free (ingest.body, TRUE);
  g_string_free (ingest.embedded, TRUE);
  g_free (ingest.body_charset);
  g_strfreev (facts.delivered_to);

  g_free (facts.message_id);
  g_free (facts.in_reply_to);
  g_strfreev (facts.references);
  g_free (facts.subject);
  g_ptr_array_unref (facts.from);
  g_ptr_array_unref (facts.to);
  g_ptr_array_unref (facts.cc);
  g_ptr_array_unref (facts.bcc);
  g_ptr_array_unref (facts.reply_to);
  g_ptr_array_unref (facts.sender);
  return plain;
}

static gboolean
is_plain (const char *section,
          gsize       length)
{
  return is_plain_as (section, length, FALSE);
}

/* Asserts that @fast, read from @input, holds the facts GMime's parse of
 * @input gives; shows @input when it does not. */
static void
assert_same_facts (const char      *input,
                   gsize            length,
                   TernMimeMessage *fast)
{
  g_autoptr(TernMimeMessage) full = tern_mime_message_parse_with_gmime ((const guint8 *) input,
                                                                        length);
  g_autofree char *expected = describe (full);
  g_autofree char *got = describe (fast);

  if (g_strcmp0 (expected, got) != 0)
    {
      g_autofree char *shown = g_strescape (input, NULL);

      g_test_message ("input: %s", shown);
    }
  g_assert_cmpstr (got, ==, expected);
}

static void
assert_same (const char *section,
             gsize       length)
{
  g_autoptr(TernMimeMessage) fast = tern_mime_message_parse_header_section ((const guint8 *) section,
                                                                             length);

  assert_same_facts (section, length, fast);
}

/* Hand-made sections, each with whether the fast path should take it. */
static const struct {
  gboolean plain;
  const char *section;
} samples[] = {
  { TRUE, "Subject: Hello\r\nFrom: Ann <ann@Example.COM>\r\nTo: bob@example.com\r\n"
          "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\nMessage-ID: <a1@example.com>\r\n\r\n" },
  { TRUE, "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?q?K=F6ln?=\r\n\r\n" },
  { TRUE, "Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\r\n =?utf-8?b?INC80LjRgA==?=\r\n\r\n" },
  { TRUE, "Subject: =?koi8-r?b?8NLJ18XU?= =?windows-1252?q?=80uro?=\r\n\r\n" },
  { TRUE, "Subject: =?iso-2022-jp?b?GyRCJEckORsoQg==?= =?shift_jis?b?g2WDWINn?=\r\n\r\n" },
  { TRUE, "Subject: =?gb2312?b?xOO6ww==?= =?big5?b?pKSk5Q==?=\r\n\r\n" },
  { TRUE, "Subject: =?x-unknown?q?what?= and =?utf-8?x?bad?=\r\n\r\n" },
  { TRUE, "Subject: broken =?utf-8?q?never ends\r\n\r\n" },
  { TRUE, "Subject: =?utf-8?b?!!!notbase64?= =?utf-8?q?=ZZ?=\r\n\r\n" },
  { TRUE, "Subject: =?utf-8*en?q?with_language?=\r\n\r\n" },
  { TRUE, "Subject:\r\n\r\n" },
  { TRUE, "Subject:    \t  spaced   out  \t \r\n\r\n" },
  { TRUE, "Subject: Re: RE: Fwd: folded\r\n\tover\r\n  three lines\r\n\r\n" },
  { TRUE, "Subject: LF only\nFrom: x@y.z\n\n" },
  { TRUE, "From: \"Doe, John\" <john@EXAMPLE.org>, \"Q \\\"uote\\\"\" <q@x.org>\r\n\r\n" },
  { TRUE, "From: =?utf-8?q?J=C3=BCrgen?= <j@x.de>, =?utf-8?b?5bGx55Sw?= <y@x.jp>\r\n\r\n" },
  { TRUE, "From: \"=?utf-8?q?inside_quotes?=\" <iq@x.org>\r\n\r\n" },
  { TRUE, "To: undisclosed-recipients:;\r\n\r\n" },
  { TRUE, "To: Team: a@x.org, \"B\" <b@x.org>;, c@x.org\r\nCc: Empty:;\r\n\r\n" },
  { TRUE, "To: Outer: Inner: a@x.org;;\r\n\r\n" },
  { TRUE, "To: bob (Bob Smith) <bob@x.org> (comment)\r\n\r\n" },
  { TRUE, "To: <@route.example:r@x.org>, bare@x.org\r\n\r\n" },
  { FALSE, "To: not an address, , ,@, <>, a@, @b\r\n\r\n" },
  { TRUE, "To: a@x.org,\r\n b@x.org,\r\n\tc@x.org\r\n\r\n" },
  { TRUE, "Bcc:\r\nReply-To: r@x.org\r\nSender: s@x.org\r\n\r\n" },
  { TRUE, "Date: garbage\r\n\r\n" },
  { TRUE, "Date: 3 Mar 26 10:00 EST\r\n\r\n" },
  { TRUE, "Date: Tue, 31 Feb 2026 25:61:61 +9999\r\n\r\n" },
  { TRUE, "Date: Sat, 01 Jan 2000 00:00:00 GMT\r\n\r\n" },
  { TRUE, "Message-ID: no-brackets@x.org\r\n\r\n" },
  { TRUE, "Message-ID: <with space@x.org>\r\n\r\n" },
  { TRUE, "Message-ID: <a@x.org> <b@x.org>\r\n\r\n" },
  { TRUE, "Message-ID:\r\nIn-Reply-To:\r\nReferences:\r\n\r\n" },
  { TRUE, "In-Reply-To: <p@x.org> (comment) <q@x.org>\r\n\r\n" },
  { TRUE, "In-Reply-To: bare@x.org\r\n\r\n" },
  { TRUE, "In-Reply-To: Your message of Tuesday\r\n\r\n" },
  { TRUE, "References: <1@x> <2@x>\r\n <1@x> <3@x>\r\n\r\n" },
  { TRUE, "References: <1@x><2@x>junk<3@x>\r\n\r\n" },
  { TRUE, "References: <1@x> <2@x> <3@x> <4@x> <5@x> <6@x> <7@x> <8@x> <9@x> <10@x>\r\n"
          " <11@x> <12@x> <13@x> <14@x> <15@x> <2@x> <16@x> <17@x> <1@x> <18@x> <17@x>\r\n"
          " <19@x> <20@x> <21@x> <22@x> <23@x> <24@x> <25@x> <26@x> <27@x> <16@x>\r\n\r\n" },
  { TRUE, "From: Ivan <ivan@MAIL.IBM.COM>\r\nTo: a@Xn--Bcher-Kva.Example, b@i.ORG\r\n"
          "Cc: \"Lower\" <l@already.lower>, odd@Do-Main_9.ORG\r\n\r\n" },
  { FALSE, "From: Ann <ann@x.org> (unclosed comment\r\n\r\n" },
  { FALSE, "To: Ann <ann@x.org>, (c(\r\nSubject: s\r\n\r\n" },
  { FALSE, "To: (only a comment)\r\nCc: \"unclosed <b@x.org>\r\n\r\n" },
  { FALSE, "Subject: twice\r\nSubject: again\r\n\r\n" },
  { FALSE, "To: a@x.org\r\nTo: b@x.org\r\n\r\n" },
  { FALSE, "Subject: caf\xc3\xa9 in raw UTF-8\r\n\r\n" },
  { FALSE, "Subject: caf\xe9 in raw Latin-1\r\nFrom: \xe9l\xe8ve <e@x.org>\r\n\r\n" },
  { FALSE, "X-Other: field\r\nSubject: s\r\n\r\n" },
  { FALSE, "Delivered-To: me@x.org\r\n\r\n" },
  { FALSE, "Content-Type: multipart/mixed; boundary=x\r\n\r\n" },
  { FALSE, " starts folded\r\nSubject: s\r\n\r\n" },
  { FALSE, "Subject s without colon\r\n\r\n" },
  { FALSE, "Sub ject: space in name\r\n\r\n" },
  { FALSE, "Subject: no end line\r\n" },
  { FALSE, "Subject: no newline at all" },
  { FALSE, "Subject: bytes after\r\n\r\nbody\r\n" },
  { FALSE, "\r\n" },
  { FALSE, "Subject: bare\rCR\r\n\r\n" },
  { FALSE, "Subject: nul\x01" "control\r\n\r\n" },
  { FALSE, "To: a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q:r:s:t:u:v:w:x:y:z:a:b:c:d:e:f:g:h;\r\n\r\n" },
};

/* Address lists: whether the plain reader takes each, and, whichever
 * reader does, the same mailboxes as the full parse. */
static const struct {
  gboolean plain;
  const char *list;
} address_lists[] = {
  { TRUE, " a@x.org" },
  { TRUE, " <b@X.Org>" },
  { TRUE, " \"C D\" <cd@x.org>" },
  { TRUE, " E F <ef@x.org>" },
  { TRUE, " E<ef@x.org>" },
  { TRUE, " \"Doe, John\"<john@EXAMPLE.org>" },
  { TRUE, " \"Odd (chars) <here> @ all; : .\" <o@x.org>" },
  { TRUE, " O'Brien <ob@x.org>, first.last+tag@sub-domain.x9.org" },
  { TRUE, " a@x.org,b@x.org ,  c@x.org,\r\n d@x.org,\r\n\t\"N\" <n@x.org>\r\n" },
  { TRUE, " Very Long Name With Many Words <long@x.org>" },
  { TRUE, " {weird}#$%&*+/?=^_`|~-! <w@x.org>" },
  { TRUE, "" },
  { TRUE, "   \r\n" },
  { FALSE, " ,a@x.org" },
  { FALSE, " a@x.org," },
  { FALSE, " a@x.org,,b@x.org" },
  { FALSE, " a@x.org b@x.org" },
  { FALSE, " a@x.org <b@x.org>" },
  { FALSE, " John Q. Public <jqp@x.org>" },
  { FALSE, " John  Smith <js@x.org>" },
  { FALSE, " John\r\n Smith <js@x.org>" },
  { FALSE, " \"  spaced\" <s@x.org>" },
  { FALSE, " \"spaced \" <s@x.org>" },
  { FALSE, " \"two  spaces\" <s@x.org>" },
  { FALSE, " \"\" <empty@x.org>" },
  { FALSE, " \"back\\\"slash\" <b@x.org>" },
  { FALSE, " \"unclosed <u@x.org>" },
  { TRUE, " =?utf-8?q?G=C3=A9?= <g@x.org>" },
  { TRUE, " =?UTF-8?B?!!bad?= Lee =?UTF-8?B?5bGx55Sw?= =?utf-8?q?a_b?= <l@x.org>" },
  { TRUE, " Ann =?bogus?q?x?= =?utf-8?q?=ZZ?= <a@x.org>, =?UTF-8?Q?J=C3=BCrgen?= <j@x.de>" },
  { FALSE, " =?utf-8?q?x?=@x.org" },
  { FALSE, " Name <=?utf-8?q?x?=@x.org>" },
  { FALSE, " \"=?utf-8?q?H?=\" <h@x.org>" },
  { FALSE, " i@x.org (Eye)" },
  { FALSE, " Group: j@x.org, k@x.org;" },
  { FALSE, " <@r.x:l@x.org>" },
  { FALSE, " X <x@[127.0.0.1]>" },
  { FALSE, " y.\"z\"@x.org" },
  { FALSE, " .dot@x.org" },
  { FALSE, " dot.@x.org" },
  { FALSE, " do..t@x.org" },
  { FALSE, " a@x..org" },
  { FALSE, " a@x.org." },
  { FALSE, " a@xn--bcher-kva.example" },
  { FALSE, " a@mail.XN--bcher-kva.example" },
  { FALSE, " m@" },
  { FALSE, " @n" },
  { FALSE, " <>" },
  { FALSE, " o p q" },
  { FALSE, " v@x.org>" },
  { FALSE, " <w@x.org" },
  { FALSE, " <w@x.org> trailing" },
  { FALSE, " a@b_c.org" },
};

static void
test_address_lists (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (address_lists); i++)
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *section = g_strdup_printf ("Subject: s\r\nTo:%s\r\nCc:%s, z@x.org\r\n\r\n",
                                                  address_lists[i].list, address_lists[i].list);

      g_test_message ("address list %u: %s", i, address_lists[i].list);
      g_assert_cmpint (tern_mime_plain_address_list (address_lists[i].list, names, addresses), ==,
                       address_lists[i].plain);
      if (!address_lists[i].plain)
        g_assert_cmpuint (addresses->len, ==, 0);
      assert_same (section, strlen (section));
    }
}

/* Lists made at random from mailboxes on both sides of the line of what
 * is plain, each compared with the full parse. */
static void
test_generated_address_lists (void)
{
  static const char * const names[] = {
    "", "Ann ", "Ann Lee ", "\"Lee, Ann\" ", "\"A\"", "\"a (b)\" ", "Ann  Lee ", "Ann. ", "O'Hara ",
    "\"x\\\"y\" ", "=?utf-8?q?A?= ", "\"\" ", "=?UTF-8?B?!!bad?= Lee ", "Lee =?UTF-8?B?5bGx55Sw?= ",
    "=?utf-8?q?a_b?= =?bogus?q?x?= ", "=?UTF-8?Q?J=C3=BCrgen?= M. ", "=?utf-8?q?=ZZ?= ",
    "=?UTF-8?B?5bGx?= =?UTF-8?B?55Sw?= ", "\"=?utf-8?q?Q?=\" ",
  };
  static const char * const addrs[] = {
    "a@x.org", "A.B@X.ORG", "a+b@x-y.org", "a@x", "a@[1.2.3.4]", "a..b@x.org", "a@xn--x.org",
    "@x.org", "a@", "\"q\"@x.org", "a@x.org.",
  };
  static const char * const separators[] = { ", ", ",", " , ", ",\r\n ", ",\n\t", ",, ", " " };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261123);
  guint plain = 0;

  for (guint i = 0; i < 3000; i++)
    {
      g_autoptr(GString) list = g_string_new (" ");
      g_autoptr(GPtrArray) got_names = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) got_addresses = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *section = NULL;
      guint count = g_rand_int_range (rand, 1, 5);

      for (guint k = 0; k < count; k++)
        {
          const char *name = names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))];
          const char *addr = addrs[g_rand_int_range (rand, 0, G_N_ELEMENTS (addrs))];

          if (k > 0)
            g_string_append (list,
                             separators[g_rand_int_range (rand, 0, G_N_ELEMENTS (separators))]);
          if (name[0] == '\0' && g_rand_boolean (rand))
            g_string_append (list, addr);
          else
            g_string_append_printf (list, "%s<%s>", name, addr);
        }

      section = g_strdup_printf ("To:%s\r\n\r\n", list->str);
      if (tern_mime_plain_address_list (list->str, got_names, got_addresses))
        {
          plain++;
          g_assert_cmpuint (got_addresses->len, ==, count);
        }
      assert_same (section, strlen (section));
    }

  /* Both readers were tried often. */
  g_assert_cmpuint (plain, >, 100);
  g_assert_cmpuint (plain, <, 2700);
}

/* The fast path takes a 7-bit value without "=?" as its own decoding:
 * GMime's decoder must give such text back unchanged. */
static void
test_decode_without_encoded_words (void)
{
  static const char alphabet[] = " \t\t  abcXYZ019()<>@,;:\\\"/[]?=.!#$%&'*+-^_`{|}~\r\n";
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  GMimeParserOptions *options = g_mime_parser_options_new ();
  guint tried = 0;

  for (guint i = 0; i < 20000; i++)
    {
      char text[300];
      guint length = g_rand_int_range (rand, 0, i % 10 == 0 ? sizeof text - 1 : 40);
      g_autofree char *decoded = NULL;

      for (guint k = 0; k < length; k++)
        text[k] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      text[length] = '\0';
      if (strstr (text, "=?") != NULL)
        continue;
      tried++;
      decoded = g_mime_utils_header_decode_text (options, text);
      g_assert_cmpstr (decoded, ==, text);
    }
  g_assert_cmpuint (tried, >, 10000);
  g_mime_parser_options_free (options);
}

/* Dates made at random, in range and out, in the common form and near
 * it: where the plain reader takes one, the same time as GMime's, and
 * the same date as the full parse either way. */
static void
test_generated_dates (void)
{
  static const char * const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    "jan", "Foo",
  };
  static const char * const weekdays[] = {
    "", "Mon, ", "Tue, ", "Wed, ", "Thu, ", "Fri, ", "Sat, ", "Sun, ", "mon, ", "Tue ", "Xyz, ",
  };
  static const char * const ends[] = { "", " ", "\t", " (UTC)", " GMT", "x" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (19700101);
  guint plain = 0;

  for (guint i = 0; i < 20000; i++)
    {
      g_autofree char *date = NULL;
      g_autofree char *section = NULL;
      g_autoptr(GDateTime) expected = NULL;
      int year = g_rand_boolean (rand) ? g_rand_int_range (rand, 1960, 2110)
                                       : g_rand_int_range (rand, 0, 10000);
      int zone_minutes = g_rand_int_range (rand, 0, 3) == 0 ? g_rand_int_range (rand, 0, 100)
                                                            : g_rand_int_range (rand, 0, 4) * 15;
      gint64 got = 0;

      date = g_strdup_printf ("%s%s%0*d %s %04d %02d:%02d:%02d %c%02d%02d%s",
                              g_rand_int_range (rand, 0, 10) == 0 ? " " : "",
                              weekdays[g_rand_int_range (rand, 0, G_N_ELEMENTS (weekdays))],
                              g_rand_boolean (rand) ? 2 : 1, g_rand_int_range (rand, 0, 33),
                              months[g_rand_int_range (rand, 0, G_N_ELEMENTS (months))], year,
                              g_rand_int_range (rand, 0, 26), g_rand_int_range (rand, 0, 62),
                              g_rand_int_range (rand, 0, 62), g_rand_boolean (rand) ? '+' : '-',
                              g_rand_int_range (rand, 0, 30), zone_minutes,
                              ends[g_rand_int_range (rand, 0, G_N_ELEMENTS (ends))]);
      if (tern_mime_plain_date (date, &got))
        {
          plain++;
          expected = g_mime_utils_header_decode_date (date);
          g_assert_nonnull (expected);
          g_assert_cmpint (got, ==, g_date_time_to_unix (expected));
        }

      section = g_strdup_printf ("Date: %s\r\n\r\n", date);
      assert_same (section, strlen (section));
    }

  /* Both readers were tried often. */
  g_assert_cmpuint (plain, >, 2000);
  g_assert_cmpuint (plain, <, 18000);
}

/* Domains are lowered, local parts kept: on the fast path, where both
 * paths share the lowering, and on the full one. */
static void
test_domains_lowered (void)
{
  static const char section[] = "From: Ivan <Ivan.P@MAIL.IBM.COM>\r\n"
                                "To: a@Xn--Bcher-Kva.Example, b@i.ORG\r\n\r\n";
  static const char raw_8bit[] = "Subject: caf\xc3\xa9\r\nFrom: Ivan <Ivan.P@MAIL.IBM.COM>\r\n"
                                 "To: x@B\xc3\x9c" "CHER.Example\r\n\r\n";
  g_autoptr(TernMimeMessage) fast =
    tern_mime_message_parse_header_section ((const guint8 *) section, strlen (section));
  g_autoptr(TernMimeMessage) full =
    tern_mime_message_parse ((const guint8 *) raw_8bit, strlen (raw_8bit));
  TernAddress *address;

  g_assert_true (is_plain (section, strlen (section)));
  address = g_ptr_array_index (tern_mime_message_get_from (fast), 0);
  g_assert_cmpstr (address->address, ==, "Ivan.P@mail.ibm.com");
  address = g_ptr_array_index (tern_mime_message_get_to (fast), 0);
  g_assert_cmpstr (address->address, ==, "a@xn--bcher-kva.example");
  address = g_ptr_array_index (tern_mime_message_get_to (fast), 1);
  g_assert_cmpstr (address->address, ==, "b@i.org");

  address = g_ptr_array_index (tern_mime_message_get_from (full), 0);
  g_assert_cmpstr (address->address, ==, "Ivan.P@mail.ibm.com");
  address = g_ptr_array_index (tern_mime_message_get_to (full), 0);
  g_assert_cmpstr (address->address, ==, "x@b\xc3\xbc" "cher.example");
}

static void
test_samples (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      gsize length = strlen (samples[i].section);

      g_test_message ("sample %u", i);
      g_assert_cmpint (is_plain (samples[i].section, length), ==, samples[i].plain);
      assert_same (samples[i].section, length);
    }
}

static void
test_huge_subject (void)
{
  g_autoptr(GString) section = g_string_new ("Subject: ");

  /* Past the subject bound (cut), and a second time past the fast path's
   * own bound (left to the full parser). */
  for (guint i = 0; i < 400; i++)
    g_string_append (section, "=?utf-8?q?w=C3=B6rd?= long\r\n ");
  g_string_append (section, "end\r\n\r\n");
  g_assert_true (is_plain (section->str, section->len));
  assert_same (section->str, section->len);

  for (guint i = 0; i < 4000; i++)
    g_string_insert (section, 9, "padding ");
  g_assert_false (is_plain (section->str, section->len));
  assert_same (section->str, section->len);
}

static void
test_many_addresses (void)
{
  g_autoptr(GString) section = g_string_new ("To: ");

  /* More than the store keeps. */
  for (guint i = 0; i < 700; i++)
    g_string_append_printf (section, "%s\"N%u\" <n%u@Example.org>", i > 0 ? ",\r\n " : "", i, i);
  g_string_append (section, "\r\n\r\n");
  g_assert_true (is_plain (section->str, section->len));
  assert_same (section->str, section->len);
}

/* Generated sections: pieces that trouble header parsers, put together at
 * random (with a fixed seed, so a failure repeats). */

static const char * const words[] = {
  "Hello", "Re:", "Fwd:", "AW:", "[list]", "=?utf-8?q?caf=C3=A9?=", "=?UTF-8?B?w6k=?=",
  "=?iso-8859-1?q?=E9t=E9?=", "=?iso-8859-15?q?=A4?=", "=?windows-1251?b?z/Do4uXy?=",
  "=?euc-kr?b?x9GxuQ==?=", "=?utf-8?q?a_b?=", "=?utf-8?q?" "?=", "=?utf-8?" "?x?=", "=?bogus?q?x?=",
  "=?utf-8?q?unterminated", "=?=", "?=", "=?", "\"quoted\"", "(comment)", "(nested (comment))",
  "back\\slash", "\\\"", "  ", "\t", "a,b", ";", ":", "<", ">", "@", ".", "x@y", "<id@host>",
  "<a@b> <c@d>", "123", "Mon,", "32", "Jan", "2026", "23:59:60", "+0000", "-1200", "UT", "(UTC)",
};

static const char * const mailboxes[] = {
  "a@x.org", "<b@X.Org>", "\"C D\" <cd@x.org>", "E F <ef@x.org>", "=?utf-8?q?G=C3=A9?= <g@x.org>",
  "\"=?utf-8?q?H?=\" <h@x.org>", "i@x.org (Eye)", "Group: j@x.org, k@x.org;", "Empty:;",
  "<@r.x:l@x.org>", "m@", "@n", "<>", "o p q", "\"unclosed <u@x.org>", "v@x.org>", "<w@x.org",
  "X <x@[127.0.0.1]>", "y.\"z\"@x.org", "Very Long Name With Many Words <long@x.org>",
};

static const char * const ids[] = {
  "<id@host>", "<a@b> <c@d>", "x@y", "<unclosed@host", "<>", "(comment)", "<q\"x\"@host>",
};

static const char * const dates[] = {
  "Tue, 3 Mar 2026 10:00:00 +0100", "3 Mar 2026 10:00 -0500", "Tue, 03 Mar 26 10:00:00 EST",
  "Tuesday, 3-Mar-2026 10:00:00 GMT", "2026-03-03T10:00:00Z", "3 Mar 2026", "garbage", "",
  "Tue, 3 Mar 2026 10:00:00", "Tue, 3 Mar 2026 10:00:00 +2500", "Thu, 1 Jan 1970 00:00:00 +0000",
};

static void
append_random (GRand       *rand,
               GString     *text,
               const char * const *pieces,
               guint        n_pieces,
               guint        count,
               const char  *separator)
{
  for (guint i = 0; i < count; i++)
    {
      if (i > 0)
        g_string_append (text, separator);
      g_string_append (text, pieces[g_rand_int_range (rand, 0, n_pieces)]);
      /* Fold now and then, with either line end. */
      if (g_rand_int_range (rand, 0, 6) == 0)
        g_string_append (text, g_rand_boolean (rand) ? "\r\n " : "\n\t");
    }
}

static void
append_field (GRand   *rand,
              GString *section,
              guint    field,
              gboolean crlf)
{
  static const char * const names[] = {
    "Subject", "From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Date", "Message-ID",
    "In-Reply-To", "References", "subject", "FROM", "message-id", "X-Other",
  };
  const char *name = names[field % G_N_ELEMENTS (names)];

  g_string_append (section, name);
  g_string_append (section, g_rand_int_range (rand, 0, 5) == 0 ? ":" : ": ");

  if (g_ascii_strcasecmp (name, "Subject") == 0 || g_ascii_strcasecmp (name, "X-Other") == 0)
    append_random (rand, section, words, G_N_ELEMENTS (words), g_rand_int_range (rand, 0, 8), " ");
  else if (g_ascii_strcasecmp (name, "Date") == 0)
    g_string_append (section, dates[g_rand_int_range (rand, 0, G_N_ELEMENTS (dates))]);
  else if (g_ascii_strcasecmp (name, "Message-ID") == 0 ||
           g_ascii_strcasecmp (name, "In-Reply-To") == 0 ||
           g_ascii_strcasecmp (name, "References") == 0)
    append_random (rand, section, ids, G_N_ELEMENTS (ids), g_rand_int_range (rand, 0, 5), " ");
  else
    append_random (rand, section, mailboxes, G_N_ELEMENTS (mailboxes),
                   g_rand_int_range (rand, 0, 5), ", ");

  g_string_append (section, crlf ? "\r\n" : "\n");
}

static void
test_generated (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20260303);
  guint plain = 0;
  guint n = g_test_slow () ? 50000 : 5000;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GString) section = g_string_new (NULL);
      gboolean crlf = g_rand_int_range (rand, 0, 4) != 0;
      guint fields = g_rand_int_range (rand, 1, 12);
      guint used = 0;

      for (guint f = 0; f < fields; f++)
        {
          guint field = g_rand_int_range (rand, 0, 11);

          /* Mostly each field once (the plain case), sometimes not. */
          if ((used & (1u << field)) != 0 && g_rand_int_range (rand, 0, 8) != 0)
            continue;
          used |= 1u << field;
          if (g_rand_int_range (rand, 0, 40) == 0)
            field = 14;
          append_field (rand, section, field, crlf);
        }
      if (g_rand_int_range (rand, 0, 50) == 0)
        g_string_insert_c (section, g_rand_int_range (rand, 0, section->len), (char) 0xe9);
      g_string_append (section, crlf ? "\r\n" : "\n");

      plain += is_plain (section->str, section->len);
      assert_same (section->str, section->len);
    }

  /* The comparison covered the fast path, most of the time. */
  g_assert_cmpuint (plain, >, n / 2);
}

/* Whole messages: tern_mime_message_parse() reads those of one plain
 * text part without GMime's parser, and must give what GMime's gives. */

static void
assert_same_message (const char *message,
                     gsize       length)
{
  g_autoptr(TernMimeMessage) fast = tern_mime_message_parse ((const guint8 *) message, length);

  assert_same_facts (message, length, fast);
}

static const struct {
  gboolean plain;
  const char *message;
} message_samples[] = {
  { TRUE, "Subject: Hello\r\nFrom: Ann <ann@x.org>\r\n\r\nHello,\r\nthe report.\r\n" },
  { TRUE, "Subject: LF only\nFrom: a@x.org\n\nHello\nthere\n" },
  { TRUE, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Transfer-Encoding: 8bit\r\nSubject: s\r\n\r\nCaf\xc3\xa9 cr\xc3\xa8me\r\n" },
  { TRUE, "Content-Type: TEXT/Plain ;  CHARSET = \"UTF-8\"  \r\nSubject: s\r\n\r\nx\r\n" },
  { TRUE, "Content-Type: text/plain;\r\n\tcharset=iso-8859-1\r\nSubject: s\r\n\r\ncaf\xe9\r\n" },
  { TRUE, "Content-Type: text/plain; charset=us-ascii\r\nSubject: s\r\n\r\nraw \xe9\xff bytes\r\n" },
  { TRUE, "Content-Type: text/plain; charset=x-no-such-charset\r\nSubject: s\r\n\r\nwords\r\n" },
  { TRUE, "Content-Type: text/plain; charset=utf-8\r\nSubject: s\r\n\r\nbad \xc3\x28 utf-8\r\n" },
  { TRUE, "Subject: no charset\r\n\r\nlatin \xe9t\xe9 and utf-8 \xc3\xa9\r\n" },
  { TRUE, "Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\nSubject: s\r\n\r\nx\r\n" },
  { TRUE, "Content-Transfer-Encoding:  BINARY \r\nSubject: s\r\n\r\nx\r\n" },
  { TRUE, "Received: from a by b; Tue, 3 Mar 2026 10:00:00 +0100\r\nReceived: from c\r\n"
          "\tby d\r\nX-Mailer: Something 1.0\r\nStatus: RO\r\nSubject: s\r\n\r\nbody\r\n" },
  { TRUE, "X-Only: unknown fields\r\n\r\nbody\r\n" },
  { TRUE, "Subject: empty body\r\n\r\n" },
  { TRUE, "Subject: blank body\r\n\r\n  \r\n\t\r\n\r\n" },
  { TRUE, "Subject: odd bytes\r\n\r\nbare\rCR, \x01\x02 and tabs\t\t.\r\n" },
  { TRUE, "Subject: looks like parts\r\nContent-Type: text/plain\r\n\r\n--x\r\n"
          "Content-Type: text/html\r\n\r\n<b>no</b>\r\n--x--\r\nFrom me\r\n" },
  { TRUE, "Subject: no final newline\r\n\r\nlast line" },
  { TRUE, "Subject: s\r\nFrom: =?utf-8?q?J=C3=BCrgen?= <j@x.de>\r\nTo: a@x.org, \"B, C\" <b@x.org>\r\n"
          "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\nMessage-ID: <m@x>\r\nIn-Reply-To: <p@x>\r\n"
          "References: <o@x> <p@x>\r\n\r\nreply\r\n" },
  { FALSE, "Content-Type: text/html; charset=utf-8\r\nSubject: s\r\n\r\n<p>x</p>\r\n" },
  { FALSE, "Content-Type: text/plain; format=flowed\r\nSubject: s\r\n\r\nsoft \r\nbreak\r\n" },
  { FALSE, "Content-Type: text/plain; charset=utf-8; name=\"a.txt\"\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plain; charset*=utf-8''x\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plain; charset=\"utf 8\"\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plain; charset=\"\"\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plain; charset=utf-8;\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plain (comment)\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plainer\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx\r\n" },
  { FALSE, "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nx\r\n--x--\r\n" },
  { FALSE, "Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n" },
  { FALSE, "Content-Transfer-Encoding: base64\r\n\r\nY2Fmw6k=\r\n" },
  { FALSE, "Content-Transfer-Encoding: 8bit (comment)\r\n\r\nx\r\n" },
  { FALSE, "Content-Disposition: attachment; filename=a.txt\r\n\r\nx\r\n" },
  { FALSE, "Content-ID: <c@x>\r\n\r\nx\r\n" },
  { FALSE, "Delivered-To: me@x.org\r\nSubject: s\r\n\r\nx\r\n" },
  { FALSE, "X-Original-To: me@x.org\r\nSubject: s\r\n\r\nx\r\n" },
  { FALSE, "Subject: twice\r\nSubject: again\r\n\r\nx\r\n" },
  { FALSE, "Subject: caf\xc3\xa9 raw\r\n\r\nx\r\n" },
  { FALSE, "From someone@x.org Tue Mar  3 10:00:00 2026\r\nSubject: s\r\n\r\nx\r\n" },
  { FALSE, "Subject: no empty line\r\nbody right after\r\n" },
  { FALSE, "\r\nbody without headers\r\n" },
  { FALSE, " folded first\r\nSubject: s\r\n\r\nx\r\n" },
};

static void
test_message_samples (void)
{
  static const char with_nul[] = "Subject: a NUL\r\n\r\nbefore \0 after\r\n";

  g_assert_true (is_plain_as (with_nul, sizeof with_nul - 1, TRUE));
  assert_same_message (with_nul, sizeof with_nul - 1);

  for (guint i = 0; i < G_N_ELEMENTS (message_samples); i++)
    {
      gsize length = strlen (message_samples[i].message);

      g_test_message ("message sample %u", i);
      g_assert_cmpint (is_plain_as (message_samples[i].message, length, TRUE), ==,
                       message_samples[i].plain);
      assert_same_message (message_samples[i].message, length);
    }
}

/* Bodies past the bounds: cut to the part decoding bound, and to the
 * body text bound. */
static void
test_message_huge_bodies (void)
{
  static const gsize sizes[] = { TERN_MIME_MAX_BODY_TEXT * 2, TERN_MIME_MAX_PART_DECODE + 4096 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GString) message = g_string_new ("Subject: big\r\nContent-Type: text/plain; "
                                                 "charset=utf-8\r\n\r\n");
      g_autoptr(TernMimeMessage) fast = NULL;

      while (message->len < sizes[i])
        g_string_append (message, "caf\xc3\xa9 words and more words\r\n");
      g_assert_true (is_plain_as (message->str, message->len, TRUE));
      assert_same_message (message->str, message->len);

      fast = tern_mime_message_parse ((const guint8 *) message->str, message->len);
      g_assert_true (tern_mime_message_get_problems (fast) & TERN_MIME_PROBLEM_TRUNCATED_TEXT);
    }
}

/* Messages put together at random from pieces on both sides of what is
 * plain: fields, content types, encodings and bodies. */
static void
test_generated_messages (void)
{
  static const char * const types[] = {
    NULL, "text/plain", "text/plain; charset=utf-8", "text/plain; charset=\"UTF-8\"",
    "Text/Plain;charset=iso-8859-1", "text/plain; charset=windows-1252",
    "text/plain; charset=koi8-r", "text/plain; charset=us-ascii", "text/plain; charset=bogus",
    "text/plain;\r\n charset=utf-8", "text/plain; format=flowed", "text/html; charset=utf-8",
    "text/plain; charset=utf-8; delsp=yes", "text/enriched", "application/octet-stream",
    "text/plain; name=x.txt", "text/plain; charset=\"utf-8", "text/plain charset=utf-8",
  };
  static const char * const encodings[] = {
    NULL, "7bit", "8bit", "8BIT", "binary", "quoted-printable", "base64", "x-bogus", "",
  };
  static const char * const others[] = {
    "MIME-Version: 1.0", "Received: from x by y", "X-Mailer: m\r\n  continued", "Status: RO",
    "Delivered-To: d@x.org", "Content-Disposition: inline", "Content-Description: d",
    "X-Original-To: o@x.org", "x-lower: case",
  };
  static const char * const pieces[] = {
    "Hello", "world", "caf\xc3\xa9", "\xe9t\xe9", "\xd0\x9f\xd1\x80\xd0\xb8", "\xff\xfe", "\xc3",
    "=C3=A9", "Y2Fm", "--x", "From me", ">quoted", "<b>tag</b>", "&amp;", "\t", "  ", "\x01",
    "\r", "\r\n", "\n", "\r\n\r\n", "\n\n", "-- \n", "Subject: fake",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261123);
  guint plain = 0;
  guint n = g_test_slow () ? 20000 : 3000;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GString) message = g_string_new (NULL);
      gboolean crlf = g_rand_int_range (rand, 0, 4) != 0;
      const char *eol = crlf ? "\r\n" : "\n";
      const char *type = types[g_rand_int_range (rand, 0, G_N_ELEMENTS (types))];
      const char *encoding = encodings[g_rand_int_range (rand, 0, G_N_ELEMENTS (encodings))];
      guint fields = g_rand_int_range (rand, 1, 8);
      guint used = 0;
      guint n_pieces = g_rand_int_range (rand, 0, 60);

      for (guint f = 0; f < fields; f++)
        {
          guint field = g_rand_int_range (rand, 0, 11);

          if ((used & (1u << field)) != 0)
            continue;
          used |= 1u << field;
          append_field (rand, message, field, crlf);
        }
      if (g_rand_int_range (rand, 0, 3) == 0)
        g_string_append_printf (message, "%s%s",
                                others[g_rand_int_range (rand, 0, G_N_ELEMENTS (others))], eol);
      if (type != NULL)
        g_string_append_printf (message, "Content-Type: %s%s", type, eol);
      if (encoding != NULL)
        g_string_append_printf (message, "Content-Transfer-Encoding: %s%s", encoding, eol);
      g_string_append (message, eol);

      for (guint w = 0; w < n_pieces; w++)
        {
          g_string_append (message, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
          g_string_append_c (message, g_rand_int_range (rand, 0, 8) == 0 ? '\n' : ' ');
        }

      plain += is_plain_as (message->str, message->len, TRUE);
      assert_same_message (message->str, message->len);
    }

  /* The comparison covered the fast path often, and GMime's too. */
  g_assert_cmpuint (plain, >, n / 5);
  g_assert_cmpuint (plain, <, n * 4 / 5);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/mime/header-section/samples-match-full-parse", test_samples);
  g_test_add_func ("/mime/header-section/huge-subject-matches-full-parse", test_huge_subject);
  g_test_add_func ("/mime/header-section/many-addresses-match-full-parse", test_many_addresses);
  g_test_add_func ("/mime/header-section/generated-sections-match-full-parse", test_generated);
  g_test_add_func ("/mime/header-section/domains-lowered", test_domains_lowered);
  g_test_add_func ("/mime/header-section/generated-dates-match-gmime", test_generated_dates);
  g_test_add_func ("/mime/header-section/decoding-keeps-plain-text",
                   test_decode_without_encoded_words);
  g_test_add_func ("/mime/header-section/address-lists-match-full-parse", test_address_lists);
  g_test_add_func ("/mime/header-section/generated-address-lists-match-full-parse",
                   test_generated_address_lists);
  g_test_add_func ("/mime/plain-message/samples-match-gmime", test_message_samples);
  g_test_add_func ("/mime/plain-message/huge-bodies-match-gmime", test_message_huge_bodies);
  g_test_add_func ("/mime/plain-message/generated-messages-match-gmime", test_generated_messages);

  return g_test_run ();
}
