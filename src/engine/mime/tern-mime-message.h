/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/*
 * The bounds that keep ingestion cheap and safe on hostile mail.  Whatever
 * lies beyond them is left out of the facts (the raw message is kept by the
 * store untouched) and the matching TernMimeProblems flag is set.
 */

/* Containers (multiparts and attached messages) nested inside each other. */
#define TERN_MIME_MAX_DEPTH          64
/* MIME parts looked at, attached messages' parts included. */
#define TERN_MIME_MAX_PARTS          2000
/* Bytes kept of one header field before it is parsed at all. */
#define TERN_MIME_MAX_FIELD_BYTES    (64 * 1024)
/* Header fields kept in one header block, and in the whole message. */
#define TERN_MIME_MAX_BLOCK_FIELDS   1000
#define TERN_MIME_MAX_FIELDS         20000
/* Bytes of the decoded subject. */
#define TERN_MIME_MAX_SUBJECT_BYTES  2048
/* Addresses kept in each of From, To, Cc, Bcc, Reply-To and Sender. */
#define TERN_MIME_MAX_ADDRESSES      500
/* Addresses kept from Delivered-To and X-Original-To together. */
#define TERN_MIME_MAX_DELIVERED_TO   50
/* Message-IDs kept from References. */
#define TERN_MIME_MAX_REFERENCES     100
/* Bytes of a message-ID, an address or a display name (a header line's length). */
#define TERN_MIME_MAX_TOKEN_BYTES    998
/* Bytes of body text kept for search. */
#define TERN_MIME_MAX_BODY_TEXT      (256 * 1024)
/* Characters in the preview. */
#define TERN_MIME_PREVIEW_CHARS      200

/**
 * TernMimeProblems:
 * @TERN_MIME_PROBLEM_NONE: the message parsed cleanly
 * @TERN_MIME_PROBLEM_EMPTY: there were no bytes at all
 * @TERN_MIME_PROBLEM_NO_HEADERS: no header block could be read; the bytes
 *   were taken as plain text
 * @TERN_MIME_PROBLEM_TRUNCATED_DEPTH: containers were nested deeper than
 *   %TERN_MIME_MAX_DEPTH; what lay deeper was left out
 * @TERN_MIME_PROBLEM_TOO_MANY_PARTS: there were more than
 *   %TERN_MIME_MAX_PARTS parts; the rest were left out
 * @TERN_MIME_PROBLEM_BAD_CHARSET: a text part named a charset Tern does not
 *   know, or its bytes were not valid in the charset it named
 * @TERN_MIME_PROBLEM_RAW_8BIT_HEADERS: a header held 8-bit text that is
 *   neither RFC 2047 encoded nor UTF-8, so its charset was guessed
 * @TERN_MIME_PROBLEM_BAD_ENCODING: a text part's base64 or quoted-printable
 *   content was invalid
 * @TERN_MIME_PROBLEM_MALFORMED: the MIME structure was broken (a multipart
 *   without a boundary or without its end, invalid header lines, a
 *   truncated message...)
 * @TERN_MIME_PROBLEM_TRUNCATED_HEADERS: a header was cut to the bounds
 *   above (its length, the number of fields, addresses or references)
 * @TERN_MIME_PROBLEM_TRUNCATED_TEXT: the body text was cut to
 *   %TERN_MIME_MAX_BODY_TEXT
 *
 * What went wrong while reading a message, so that the store can note
 * malformed mail.  None of these stops ingestion.
 */
typedef enum /*< flags >*/
{
  TERN_MIME_PROBLEM_NONE              = 0,
  TERN_MIME_PROBLEM_EMPTY             = 1 << 0,
  TERN_MIME_PROBLEM_NO_HEADERS        = 1 << 1,
  TERN_MIME_PROBLEM_TRUNCATED_DEPTH   = 1 << 2,
  TERN_MIME_PROBLEM_TOO_MANY_PARTS    = 1 << 3,
  TERN_MIME_PROBLEM_BAD_CHARSET       = 1 << 4,
  TERN_MIME_PROBLEM_RAW_8BIT_HEADERS  = 1 << 5,
  TERN_MIME_PROBLEM_BAD_ENCODING      = 1 << 6,
  TERN_MIME_PROBLEM_MALFORMED         = 1 << 7,
  TERN_MIME_PROBLEM_TRUNCATED_HEADERS = 1 << 8,
  TERN_MIME_PROBLEM_TRUNCATED_TEXT    = 1 << 9,
} TernMimeProblems;

#define TERN_TYPE_MIME_PROBLEMS (tern_mime_problems_get_type ())
GType tern_mime_problems_get_type (void);

/**
 * TernAddress:
 * @name: (nullable): the display name in UTF-8, or %NULL when there is none
 * @address: the address in UTF-8, its domain lower-cased
 *
 * One mailbox from an address header; groups are flattened into their
 * members.
 */
typedef struct
{
  char *name;
  char *address;
} TernAddress;

#define TERN_TYPE_ADDRESS (tern_address_get_type ())
GType        tern_address_get_type (void);
TernAddress *tern_address_new      (const char        *name,
                                    const char        *address);
TernAddress *tern_address_copy     (const TernAddress *self);
void         tern_address_free     (TernAddress       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernAddress, tern_address_free)

/**
 * TernAttachmentInfo:
 * @filename: (nullable): the file name the message gives (RFC 2231 and
 *   RFC 2047 decoded, without folders), or %NULL when it gives none
 * @mime_type: the lower-cased type, such as "application/pdf"
 * @size: the size of the decoded content in bytes (for base64 and
 *   quoted-printable an estimate from the encoded size, exact for
 *   well-formed base64)
 * @part_path: where the part sits, numbered as IMAP numbers body
 *   sections: "1", "2.1"...
 * @content_id: (nullable): the Content-ID without its angle brackets
 * @is_inline: %TRUE for a part shown inside the body (it has a Content-ID
 *   and is not marked as an attachment), such as an image an HTML body
 *   refers to by "cid:"
 *
 * One attachment, as the message list and the message view show it.
 */
typedef struct
{
  char    *filename;
  char    *mime_type;
  gint64   size;
  char    *part_path;
  char    *content_id;
  gboolean is_inline;
} TernAttachmentInfo;

#define TERN_TYPE_ATTACHMENT_INFO (tern_attachment_info_get_type ())
GType               tern_attachment_info_get_type (void);
TernAttachmentInfo *tern_attachment_info_copy     (const TernAttachmentInfo *self);
void                tern_attachment_info_free     (TernAttachmentInfo       *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernAttachmentInfo, tern_attachment_info_free)

typedef struct _TernMimeMessage TernMimeMessage;

#define TERN_TYPE_MIME_MESSAGE (tern_mime_message_get_type ())
GType              tern_mime_message_get_type           (void);

TernMimeMessage   *tern_mime_message_parse              (const guint8    *data,
                                                         gsize            length);
TernMimeMessage   *tern_mime_message_parse_header_section (const guint8    *data,
                                                          gsize            length);
TernMimeMessage   *tern_mime_message_ref                (TernMimeMessage *self);
void               tern_mime_message_unref              (TernMimeMessage *self);

const char        *tern_mime_message_get_message_id     (TernMimeMessage *self);
const char        *tern_mime_message_get_in_reply_to    (TernMimeMessage *self);
const char * const *tern_mime_message_get_references    (TernMimeMessage *self);
const char        *tern_mime_message_get_subject        (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_from           (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_to             (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_cc             (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_bcc            (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_reply_to       (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_sender         (TernMimeMessage *self);
const char * const *tern_mime_message_get_delivered_to  (TernMimeMessage *self);
gint64             tern_mime_message_get_date           (TernMimeMessage *self);
const char        *tern_mime_message_get_body_text      (TernMimeMessage *self);
const char        *tern_mime_message_get_preview        (TernMimeMessage *self);
gboolean           tern_mime_message_is_html            (TernMimeMessage *self);
gboolean           tern_mime_message_has_attachments    (TernMimeMessage *self);
GPtrArray         *tern_mime_message_get_attachments    (TernMimeMessage *self);
TernMimeProblems   tern_mime_message_get_problems       (TernMimeMessage *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernMimeMessage, tern_mime_message_unref)

G_END_DECLS
