/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/*
 * The IMAP response parser: bytes from the server go in, in whatever pieces
 * the socket hands them over, and whole responses come out as trees of
 * values.  Everything a server sends is bounded by the limits below; going
 * past one is an error, and so is any response that breaks the grammar.
 * After an error the parser stays failed: the session must drop the
 * connection, since it can no longer tell where the next response starts.
 */

/* Lists nested inside each other (BODYSTRUCTURE of nested messages is the
 * deepest real use: a few levels per attached message). */
#define TERN_IMAP_MAX_DEPTH               64
/* Items in one list, and values at the top level of one response. */
#define TERN_IMAP_MAX_LIST_ITEMS          1000000
/* Values (atoms, strings, lists...) in one response, all levels together. */
#define TERN_IMAP_MAX_VALUES              2000000
/* Bytes of one line outside literals, CRLF included.  A plain SEARCH over a
 * million messages is about 8 MB of UIDs on one line. */
#define TERN_IMAP_MAX_LINE_BYTES          (8 * 1024 * 1024)
/* Default bytes of one literal (a message body in a FETCH); settable. */
#define TERN_IMAP_DEFAULT_MAX_LITERAL     (64 * 1024 * 1024)
/* Default bytes of one whole response, lines and literals; settable. */
#define TERN_IMAP_DEFAULT_MAX_RESPONSE    (128 * 1024 * 1024)

#define TERN_IMAP_ERROR (tern_imap_error_quark ())

/**
 * TernImapError:
 * @TERN_IMAP_ERROR_BAD_RESPONSE: the server sent something that is not a
 *   valid IMAP response
 * @TERN_IMAP_ERROR_TOO_BIG: a response went past one of the parser's limits
 * @TERN_IMAP_ERROR_INCOMPLETE: the stream ended inside a response
 * @TERN_IMAP_ERROR_INVALID_NAME: a mailbox name could not be encoded or
 *   decoded (invalid modified UTF-7, invalid UTF-8)
 */
typedef enum {
  TERN_IMAP_ERROR_BAD_RESPONSE,
  TERN_IMAP_ERROR_TOO_BIG,
  TERN_IMAP_ERROR_INCOMPLETE,
  TERN_IMAP_ERROR_INVALID_NAME,
} TernImapError;

GQuark tern_imap_error_quark (void);

typedef enum {
  TERN_IMAP_VALUE_ATOM,
  TERN_IMAP_VALUE_NUMBER,
  TERN_IMAP_VALUE_STRING,
  TERN_IMAP_VALUE_NIL,
  TERN_IMAP_VALUE_LIST,
} TernImapValueKind;

/* How a string came over the wire. */
typedef enum {
  TERN_IMAP_STRING_QUOTED,
  TERN_IMAP_STRING_LITERAL,
  TERN_IMAP_STRING_LITERAL8,
} TernImapStringForm;

typedef struct _TernImapValue TernImapValue;

/**
 * TernImapValue:
 * @kind: what the value is
 * @form: for strings, how they were sent
 * @len: bytes in @str
 * @str: atoms, numbers and strings: the bytes, followed by a NUL that is not
 *   counted in @len.  Literals may hold any bytes, NULs included; atoms and
 *   quoted strings never hold a NUL.  %NULL for NIL and lists.
 * @number: numbers: the value (a digit-only atom that fits in 64 bits)
 * @items: lists: the #TernImapValue items, in order
 *
 * One value of a response.  Values belong to their #TernImapResponse and
 * live as long as it does; nothing in them is to be changed.
 */
struct _TernImapValue {
  TernImapValueKind kind;
  TernImapStringForm form;
  gsize len;
  const char *str;
  guint64 number;
  GPtrArray *items;
};

typedef enum {
  TERN_IMAP_RESPONSE_TAGGED,
  TERN_IMAP_RESPONSE_UNTAGGED,
  TERN_IMAP_RESPONSE_CONTINUATION,
} TernImapResponseKind;

typedef enum {
  TERN_IMAP_STATUS_NONE,
  TERN_IMAP_STATUS_OK,
  TERN_IMAP_STATUS_NO,
  TERN_IMAP_STATUS_BAD,
  TERN_IMAP_STATUS_BYE,
  TERN_IMAP_STATUS_PREAUTH,
} TernImapStatus;

typedef enum {
  TERN_IMAP_CODE_OTHER,
  TERN_IMAP_CODE_ALERT,
  TERN_IMAP_CODE_PARSE,
  TERN_IMAP_CODE_TRYCREATE,
  TERN_IMAP_CODE_READ_ONLY,
  TERN_IMAP_CODE_READ_WRITE,
  TERN_IMAP_CODE_UIDVALIDITY,
  TERN_IMAP_CODE_UIDNEXT,
  TERN_IMAP_CODE_UNSEEN,
  TERN_IMAP_CODE_HIGHESTMODSEQ,
  TERN_IMAP_CODE_NOMODSEQ,
  TERN_IMAP_CODE_PERMANENTFLAGS,
  TERN_IMAP_CODE_CAPABILITY,
  TERN_IMAP_CODE_APPENDUID,
  TERN_IMAP_CODE_COPYUID,
  TERN_IMAP_CODE_CLOSED,
} TernImapCodeKind;

/**
 * TernImapCode:
 * @kind: the codes Tern acts on; %TERN_IMAP_CODE_OTHER for the rest
 * @name: the code's name in upper case ("UIDVALIDITY", "OVERQUOTA"...)
 * @raw_args: the bytes after the name, or %NULL when there were none
 * @args: @raw_args read as IMAP values (a list), or %NULL when they were
 *   absent or, for codes Tern does not know, unreadable
 * @number: UIDVALIDITY, UIDNEXT, UNSEEN, HIGHESTMODSEQ: the number;
 *   APPENDUID and COPYUID: the UIDVALIDITY of the destination
 * @strv: PERMANENTFLAGS: the flags; CAPABILITY: the capabilities as sent
 * @uid_set: APPENDUID: the new messages' UIDs; COPYUID: the source UIDs
 * @dest_uid_set: COPYUID: the UIDs of the copies
 *
 * A response code (the part in brackets of "* OK [UIDNEXT 44] Predicted").
 * Codes Tern acts on are checked: a UIDVALIDITY without a valid number is a
 * bad response, not a code to ignore.
 */
typedef struct {
  TernImapCodeKind kind;
  char *name;
  char *raw_args;
  TernImapValue *args;
  guint64 number;
  char **strv;
  char *uid_set;
  char *dest_uid_set;
} TernImapCode;

typedef struct _TernImapResponse TernImapResponse;

/**
 * TernImapResponse:
 * @kind: tagged, untagged, or a continuation request ("+ ...")
 * @tag: tagged responses: the tag; otherwise %NULL
 * @status: tagged responses and untagged OK/NO/BAD/BYE/PREAUTH: the status;
 *   otherwise %TERN_IMAP_STATUS_NONE
 * @code: the response code of a status response, or %NULL
 * @text: status responses: the human-readable text; continuation requests:
 *   everything after "+ " (text or base64); otherwise %NULL
 * @has_number: whether the untagged response started with a number
 *   ("* 12 EXISTS", "* 3 FETCH (...)")
 * @number: that number
 * @name: untagged data: the response's name in upper case ("EXISTS",
 *   "FETCH", "CAPABILITY", "LIST"); status responses: "OK", "NO"...;
 *   continuation requests: %NULL
 * @data: untagged data: a list of the values after the name (for FETCH,
 *   one list of items; for LIST, the attributes, delimiter and name);
 *   otherwise %NULL
 * @offset: where the response started in the stream, in bytes
 *
 * One response from the server, reference counted.  All fields are
 * read-only.
 */
struct _TernImapResponse {
  TernImapResponseKind kind;
  char *tag;
  TernImapStatus status;
  TernImapCode *code;
  char *text;
  gboolean has_number;
  guint64 number;
  char *name;
  TernImapValue *data;
  guint64 offset;

  /*< private >*/
  gint ref_count;
  gpointer arena;
};

#define TERN_TYPE_IMAP_RESPONSE (tern_imap_response_get_type ())

GType              tern_imap_response_get_type        (void) G_GNUC_CONST;
TernImapResponse  *tern_imap_response_ref             (TernImapResponse *response);
void               tern_imap_response_unref           (TernImapResponse *response);
char              *tern_imap_response_to_string       (TernImapResponse *response);
const TernImapValue *tern_imap_response_get_fetch_item (TernImapResponse *response,
                                                        const char       *item);

void               tern_imap_value_print              (const TernImapValue *value,
                                                       GString             *out);
gboolean           tern_imap_value_is_atom            (const TernImapValue *value,
                                                       const char          *atom);
gboolean           tern_imap_value_is_nstring         (const TernImapValue *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapResponse, tern_imap_response_unref)

typedef struct _TernImapParser TernImapParser;

TernImapParser    *tern_imap_parser_new               (void);
void               tern_imap_parser_free              (TernImapParser *parser);
void               tern_imap_parser_set_max_literal   (TernImapParser *parser,
                                                       gsize           max_bytes);
void               tern_imap_parser_set_max_response  (TernImapParser *parser,
                                                       gsize           max_bytes);
gboolean           tern_imap_parser_feed              (TernImapParser *parser,
                                                       const guint8   *data,
                                                       gsize           len,
                                                       GError        **error);
gboolean           tern_imap_parser_end               (TernImapParser *parser,
                                                       GError        **error);
TernImapResponse  *tern_imap_parser_pop               (TernImapParser *parser);
gboolean           tern_imap_parser_has_failed        (TernImapParser *parser);
guint64            tern_imap_parser_get_literal_left  (TernImapParser *parser);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapParser, tern_imap_parser_free)

G_END_DECLS
