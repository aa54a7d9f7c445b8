/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

#include "tern-imap-parser.h"

G_BEGIN_DECLS

/**
 * TernImapAddress:
 * @name: the display name, RFC 2047 decoded, or %NULL
 * @adl: the source route (obsolete), or %NULL
 * @mailbox: the part before the "@", or %NULL
 * @host: the part after the "@", or %NULL
 * @address: "mailbox@host", or the mailbox alone when there is no host
 * @group: the name of the group the address was listed in, or %NULL
 *
 * One address of an ENVELOPE.  All strings are valid UTF-8.
 */
typedef struct {
  char *name;
  char *adl;
  char *mailbox;
  char *host;
  char *address;
  char *group;
} TernImapAddress;

/**
 * TernImapEnvelope:
 * @date: the Date header as sent (made valid UTF-8), or %NULL
 * @date_time: (nullable): @date parsed, or %NULL when it could not be
 * @subject: the subject, RFC 2047 decoded, or %NULL
 * @from: (element-type TernImapAddress): From
 * @sender: (element-type TernImapAddress): Sender
 * @reply_to: (element-type TernImapAddress): Reply-To
 * @to: (element-type TernImapAddress): To
 * @cc: (element-type TernImapAddress): Cc
 * @bcc: (element-type TernImapAddress): Bcc
 * @in_reply_to: the In-Reply-To header as sent, or %NULL
 * @message_id: the Message-ID header as sent, or %NULL
 *
 * A message's ENVELOPE, as the server summed up its headers.  Address
 * lists are empty, never %NULL, when the header was absent.
 */
typedef struct {
  char *date;
  GDateTime *date_time;
  char *subject;
  GPtrArray *from;
  GPtrArray *sender;
  GPtrArray *reply_to;
  GPtrArray *to;
  GPtrArray *cc;
  GPtrArray *bcc;
  char *in_reply_to;
  char *message_id;
} TernImapEnvelope;

typedef struct {
  char *name;
  char *value;
} TernImapParam;

typedef struct _TernImapBodyPart TernImapBodyPart;

/**
 * TernImapBodyPart:
 * @section: the part's number for BODY[...] ("1", "1.2"); for a multipart,
 *   the number its children's numbers start with ("" for the message's
 *   own multipart)
 * @type: the media type in lower case ("text", "multipart")
 * @subtype: the media subtype in lower case ("plain", "mixed")
 * @params: (element-type TernImapParam): the Content-Type parameters,
 *   names in lower case
 * @id: Content-ID, or %NULL
 * @description: Content-Description, or %NULL
 * @encoding: Content-Transfer-Encoding in lower case, or %NULL
 * @size: the size in bytes of the encoded body
 * @lines: text and message/rfc822 parts: the size in lines
 * @md5: Content-MD5, or %NULL
 * @disposition: the disposition in lower case ("attachment", "inline"),
 *   or %NULL
 * @disposition_params: (element-type TernImapParam): its parameters
 * @language: (nullable): Content-Language tags
 * @location: Content-Location, or %NULL
 * @envelope: (nullable): message/rfc822 parts: the attached message's
 *   envelope
 * @children: (element-type TernImapBodyPart): a multipart's parts, or the
 *   one body of an attached message; empty for other parts
 *
 * One part of a BODYSTRUCTURE.  Strings are valid UTF-8.
 */
struct _TernImapBodyPart {
  char *section;
  char *type;
  char *subtype;
  GPtrArray *params;
  char *id;
  char *description;
  char *encoding;
  guint64 size;
  guint64 lines;
  char *md5;
  char *disposition;
  GPtrArray *disposition_params;
  char **language;
  char *location;
  TernImapEnvelope *envelope;
  GPtrArray *children;
};

TernImapEnvelope       *tern_imap_envelope_decode        (const TernImapValue *value,
                                                          GError             **error);
void                    tern_imap_envelope_free          (TernImapEnvelope    *envelope);

TernImapBodyPart       *tern_imap_body_part_decode       (const TernImapValue *value,
                                                          GError             **error);
gboolean                tern_imap_body_structure_check   (const TernImapValue *value,
                                                          gboolean            *out_attachment,
                                                          GError             **error);
void                    tern_imap_body_part_free         (TernImapBodyPart    *part);
gboolean                tern_imap_body_part_is_multipart (const TernImapBodyPart *part);
const char             *tern_imap_body_part_get_param    (const TernImapBodyPart *part,
                                                          const char             *name);
char                   *tern_imap_body_part_get_filename (const TernImapBodyPart *part);
const TernImapBodyPart *tern_imap_body_part_find         (const TernImapBodyPart *part,
                                                          const char             *section);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapEnvelope, tern_imap_envelope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapBodyPart, tern_imap_body_part_free)

G_END_DECLS
