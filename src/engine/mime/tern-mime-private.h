/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gmime/gmime.h>

#include "tern-mime-message.h"

G_BEGIN_DECLS

/* Decoded bytes of one text part looked at for body text. */
#define TERN_MIME_MAX_PART_DECODE (1024 * 1024)

/* tern-mime-message.c: the facts, filled in by the files below. */

struct _TernMimeMessage
{
  char             *message_id;
  char             *in_reply_to;
  GStrv             references;
  char             *subject;
  GPtrArray        *from;
  GPtrArray        *to;
  GPtrArray        *cc;
  GPtrArray        *bcc;
  GPtrArray        *reply_to;
  GPtrArray        *sender;
  GStrv             delivered_to;
  gint64            date;
  char             *body_text;
  char             *preview;
  gboolean          is_html;
  gboolean          has_attachments;
  GPtrArray        *attachments;
  TernMimeProblems  problems;
};

/* One message being read. */
typedef struct
{
  TernMimeMessage    *self;
  GMimeParserOptions *options;
  GString            *body;            /* the message's own text */
  GString            *embedded;        /* the text of attached messages */
  guint               parts;
  gboolean            have_body_part;
  gboolean            display_decided;
  char               *body_charset;    /* the first charset a body part names */
} TernMimeIngest;

GMimeParserOptions *tern_mime_parser_options_new (const char *extra_charset);

TernMimeMessage *tern_mime_message_parse_with_gmime (const guint8 *data,
                                                     gsize         length);

/* tern-mime-body.c */

void        tern_mime_ingest_body           (TernMimeIngest            *ingest,
                                             GMimeObject               *body);
void        tern_mime_ingest_plain_text     (TernMimeIngest            *ingest,
                                             const guint8              *data,
                                             gsize                      length,
                                             const char                *charset);

/* tern-mime-headers.c */

void        tern_mime_ingest_headers        (TernMimeIngest            *ingest,
                                             GMimeMessage              *message);
gboolean    tern_mime_ingest_plain_header   (TernMimeIngest            *ingest,
                                             const guint8              *data,
                                             gsize                      length);
gboolean    tern_mime_ingest_plain_message  (TernMimeIngest            *ingest,
                                             const guint8              *data,
                                             gsize                      length);
gboolean    tern_mime_plain_date            (const char                *text,
                                             gint64                    *out_unix);
gboolean    tern_mime_plain_address_list    (const char                *raw,
                                             GPtrArray                 *names,
                                             GPtrArray                 *addresses);

/* tern-mime-guard.c: what GMime is given to parse. */

typedef struct
{
  gsize max_field_bytes;   /* TERN_MIME_MAX_FIELD_BYTES outside of tests */
  guint max_depth;         /* TERN_MIME_MAX_DEPTH */
  guint max_parts;         /* TERN_MIME_MAX_PARTS */
} TernMimeGuardLimits;

GByteArray *tern_mime_guard_prepare         (const guint8              *data,
                                             gsize                      length,
                                             const TernMimeGuardLimits *limits,
                                             TernMimeProblems          *problems);

/* tern-mime-text.c: charsets, clean text and previews. */

GString    *tern_mime_text_to_utf8          (const char                *data,
                                             gsize                      length,
                                             const char                *charset,
                                             gboolean                  *bad_charset);
void        tern_mime_text_keep_converter   (const char                *charset);
void        tern_mime_text_tidy             (GString                   *text);
char       *tern_mime_text_clean_line       (const char                *text,
                                             gsize                      max_bytes);
char       *tern_mime_text_clean_token      (const char                *value);
gsize       tern_mime_utf8_truncate_len     (const char                *text,
                                             gsize                      length,
                                             gsize                      max_bytes);
gunichar    tern_mime_windows_1252_char     (guint8                     byte);
char       *tern_mime_text_make_preview     (const char                *text,
                                             guint                      max_chars);

/* tern-mime-body.c: format=flowed parts. */

gboolean    tern_mime_part_is_flowed        (GMimePart                 *part);
gboolean    tern_mime_part_deletes_space    (GMimePart                 *part);

/* tern-mime-html.c: the text of an HTML body. */

void        tern_mime_html_to_text          (const char                *html,
                                             gsize                      length,
                                             gsize                      max_bytes,
                                             GString                   *out);
char       *tern_mime_html_sniff_charset    (const char                *html,
                                             gsize                      length);

G_END_DECLS
