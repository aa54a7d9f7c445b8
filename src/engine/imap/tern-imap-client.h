/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-connection.h"
#include "tern-imap-parser.h"
#include "tern-imap-structure.h"

G_BEGIN_DECLS

/*
 * The client side of IMAP (RFC 9051 and RFC 3501) over one TernConnection,
 * with the extensions Tern uses whenever the server offers them: IDLE,
 * CONDSTORE, QRESYNC, ENABLE, UIDPLUS, MOVE, SPECIAL-USE, LIST-EXTENDED,
 * LIST-STATUS, NAMESPACE, ESEARCH, COMPRESS=DEFLATE, ID, QUOTA, UTF8=ACCEPT,
 * APPENDLIMIT, LITERAL+ and LITERAL-, SASL-IR.  Each has a fallback.
 *
 * The order of calls is tern_imap_client_new(), the optional setters,
 * tern_imap_client_connect_async() (greeting, CAPABILITY, STARTTLS when
 * asked for), tern_imap_client_login_async() unless the greeting was
 * PREAUTH, then any commands, and tern_imap_client_logout_async().
 *
 * Commands may be started before the previous ones finished: they are
 * pipelined where RFC 9051 allows it, and their replies are told apart by
 * tag.  Commands that change the selected mailbox (SELECT, EXAMINE, CLOSE,
 * UNSELECT), IDLE, ENABLE, COMPRESS and LOGOUT wait for every earlier
 * command and hold back every later one.  Callbacks and signals run in the
 * thread-default main context of the calls; a client is used from one
 * thread only.  The connection's setters (TLS database, pinned
 * certificate, local address, timeouts) apply; the I/O timeout bounds each
 * read and write, except reads while IDLE waits.
 *
 * Mailbox names are UTF-8 in and out; the client encodes them as modified
 * UTF-7, or sends them as UTF-8 once UTF8=ACCEPT is enabled.
 *
 * What the server reports on its own (EXISTS, EXPUNGE, VANISHED, FETCH of
 * flags, ALERT, BYE) comes through the signals below, at any time a command
 * or IDLE is running.
 *
 * Errors are in %TERN_IMAP_CLIENT_ERROR, except those of the connection
 * itself (%TERN_CONNECTION_ERROR, kept as they are), of SASL
 * (%TERN_SASL_ERROR) and cancellation (%G_IO_ERROR_CANCELLED).  A NO or
 * BAD to one command, and errors found before anything was sent
 * (UNSUPPORTED, INVALID_STATE, APPENDLIMIT's TOO_BIG, a login refused
 * locally), leave the session usable.  Any other error ends it: the
 * connection is closed, every pending command fails with the same error,
 * tern_imap_client_get_state() says %TERN_IMAP_CLIENT_STATE_CLOSED, and a
 * new client must be made.  A cancelled command returns at once; its reply
 * is still read and dropped, and the session goes on.
 */

#define TERN_IMAP_CLIENT_ERROR (tern_imap_client_error_quark ())

/**
 * TernImapClientError:
 * @TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE: the server sent something that is
 *   not IMAP, or not what the command allows (garbage, a parse error, a
 *   reply with an unknown tag)
 * @TERN_IMAP_CLIENT_ERROR_NO: the server answered NO; the message holds its
 *   text, preceded by the response code in brackets when there was one
 * @TERN_IMAP_CLIENT_ERROR_BAD: the server answered BAD (it did not
 *   understand the command); the message holds its text
 * @TERN_IMAP_CLIENT_ERROR_BYE: the server ended the session (BYE), in the
 *   greeting or later; the message holds its text
 * @TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED: the server refused the
 *   login (wrong password, unknown user).  Never retried by the client.
 * @TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED: STARTTLS was asked for and the
 *   server does not offer it or refused it, or greeted with PREAUTH before
 *   TLS, or a login would send a password in plain text the user did not
 *   choose.  Nothing secret was sent.
 * @TERN_IMAP_CLIENT_ERROR_NO_MECHANISM: the server offers no way to log in
 *   that Tern can use (LOGINDISABLED and no SASL mechanism Tern knows)
 * @TERN_IMAP_CLIENT_ERROR_TOO_BIG: a message is larger than the server's
 *   APPENDLIMIT (found before sending anything), or a literal from the
 *   server is larger than the client's limit
 * @TERN_IMAP_CLIENT_ERROR_UNSUPPORTED: the command needs an extension the
 *   server does not offer and that has no fallback (IDLE, QUOTA, UID
 *   EXPUNGE without UIDPLUS, COMPRESS)
 * @TERN_IMAP_CLIENT_ERROR_INVALID_STATE: the call does not fit the
 *   session's state (not connected, not logged in, no mailbox selected,
 *   IDLE running, closed)
 */
typedef enum {
  TERN_IMAP_CLIENT_ERROR_BAD_RESPONSE,
  TERN_IMAP_CLIENT_ERROR_NO,
  TERN_IMAP_CLIENT_ERROR_BAD,
  TERN_IMAP_CLIENT_ERROR_BYE,
  TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED,
  TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED,
  TERN_IMAP_CLIENT_ERROR_NO_MECHANISM,
  TERN_IMAP_CLIENT_ERROR_TOO_BIG,
  TERN_IMAP_CLIENT_ERROR_UNSUPPORTED,
  TERN_IMAP_CLIENT_ERROR_INVALID_STATE,
} TernImapClientError;

/**
 * TernImapClientState:
 * @TERN_IMAP_CLIENT_STATE_NEW: not connected yet
 * @TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED: connected, waiting for a login
 * @TERN_IMAP_CLIENT_STATE_AUTHENTICATED: logged in, no mailbox selected
 * @TERN_IMAP_CLIENT_STATE_SELECTED: a mailbox is selected
 * @TERN_IMAP_CLIENT_STATE_CLOSED: logged out, or ended by an error
 */
typedef enum {
  TERN_IMAP_CLIENT_STATE_NEW,
  TERN_IMAP_CLIENT_STATE_NOT_AUTHENTICATED,
  TERN_IMAP_CLIENT_STATE_AUTHENTICATED,
  TERN_IMAP_CLIENT_STATE_SELECTED,
  TERN_IMAP_CLIENT_STATE_CLOSED,
} TernImapClientState;

/* The FETCH items of a message's summary, as a folder sync asks for them. */
#define TERN_IMAP_FETCH_SUMMARY \
  "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE " \
  "BODY.PEEK[HEADER.FIELDS (REFERENCES)])"

/* How long tern_imap_client_idle_async() may go on before the caller should
 * end it and start again: servers may drop an IDLE after 30 minutes. */
#define TERN_IMAP_IDLE_RESTART_SECONDS (29 * 60)

/**
 * TernImapUidRange:
 * @first: the first UID
 * @last: the last UID, at least @first
 *
 * UIDs from @first to @last.  UID sets are handed over as #GArray of
 * ranges so that "1:4000000000" costs eight bytes, not sixteen gigabytes.
 */
typedef struct {
  guint32 first;
  guint32 last;
} TernImapUidRange;

GArray  *tern_imap_uid_set_parse       (const char    *text,
                                        GError       **error);
char    *tern_imap_uid_set_to_string   (const GArray  *ranges);
char    *tern_imap_uid_set_from_uids   (const guint32 *uids,
                                        gsize          n_uids);
guint64  tern_imap_uid_set_count       (const GArray  *ranges);
gboolean tern_imap_uid_set_contains    (const GArray  *ranges,
                                        guint32        uid);

/**
 * TernImapMailboxRole:
 *
 * What a mailbox is for, from its SPECIAL-USE attribute (RFC 6154), or
 * %TERN_IMAP_MAILBOX_ROLE_INBOX for INBOX.
 */
typedef enum {
  TERN_IMAP_MAILBOX_ROLE_NONE,
  TERN_IMAP_MAILBOX_ROLE_INBOX,
  TERN_IMAP_MAILBOX_ROLE_SENT,
  TERN_IMAP_MAILBOX_ROLE_DRAFTS,
  TERN_IMAP_MAILBOX_ROLE_TRASH,
  TERN_IMAP_MAILBOX_ROLE_JUNK,
  TERN_IMAP_MAILBOX_ROLE_ARCHIVE,
  TERN_IMAP_MAILBOX_ROLE_ALL,
  TERN_IMAP_MAILBOX_ROLE_FLAGGED,
} TernImapMailboxRole;

/**
 * TernImapMailboxAttributes:
 *
 * The attributes of a LIST reply Tern acts on.
 */
typedef enum {
  TERN_IMAP_MAILBOX_NOSELECT        = 1 << 0,
  TERN_IMAP_MAILBOX_NOINFERIORS     = 1 << 1,
  TERN_IMAP_MAILBOX_HAS_CHILDREN    = 1 << 2,
  TERN_IMAP_MAILBOX_HAS_NO_CHILDREN = 1 << 3,
  TERN_IMAP_MAILBOX_MARKED          = 1 << 4,
  TERN_IMAP_MAILBOX_UNMARKED        = 1 << 5,
  TERN_IMAP_MAILBOX_SUBSCRIBED      = 1 << 6,
  TERN_IMAP_MAILBOX_NONEXISTENT     = 1 << 7,
  TERN_IMAP_MAILBOX_REMOTE          = 1 << 8,
} TernImapMailboxAttributes;

/**
 * TernImapStatusItems:
 *
 * Which fields of a #TernImapMailboxStatus the server gave.
 */
typedef enum {
  TERN_IMAP_STATUS_MESSAGES      = 1 << 0,
  TERN_IMAP_STATUS_UIDNEXT       = 1 << 1,
  TERN_IMAP_STATUS_UIDVALIDITY   = 1 << 2,
  TERN_IMAP_STATUS_UNSEEN        = 1 << 3,
  TERN_IMAP_STATUS_HIGHESTMODSEQ = 1 << 4,
  TERN_IMAP_STATUS_SIZE          = 1 << 5,
  TERN_IMAP_STATUS_RECENT        = 1 << 6,
} TernImapStatusItems;

/**
 * TernImapMailboxStatus:
 * @present: which of the fields below the server gave
 *
 * The answer to STATUS, or the STATUS part of a LIST-STATUS reply.
 */
typedef struct {
  TernImapStatusItems present;
  guint32 messages;
  guint32 uidnext;
  guint32 uidvalidity;
  guint32 unseen;
  guint32 recent;
  guint64 highestmodseq;
  guint64 size;
} TernImapMailboxStatus;

/**
 * TernImapMailbox:
 * @name: the name in UTF-8, decoded from modified UTF-7 or UTF-8; what the
 *   commands of this client take
 * @delimiter: the hierarchy delimiter, or 0 when the server has none
 * @attributes: the attributes Tern acts on
 * @role: the special use, from the attributes or the name INBOX
 * @has_status: whether @status holds a LIST-STATUS (or a STATUS asked for
 *   by tern_imap_client_list_async()) answer
 * @status: the mailbox's status when @has_status
 *
 * One mailbox of a LIST reply.
 */
typedef struct {
  char *name;
  char delimiter;
  TernImapMailboxAttributes attributes;
  TernImapMailboxRole role;
  gboolean has_status;
  TernImapMailboxStatus status;
} TernImapMailbox;

void tern_imap_mailbox_free (TernImapMailbox *mailbox);

/**
 * TernImapFetchFields:
 *
 * Which fields of a #TernImapFetch the FETCH response held.
 */
typedef enum {
  TERN_IMAP_FETCH_UID           = 1 << 0,
  TERN_IMAP_FETCH_FLAGS         = 1 << 1,
  TERN_IMAP_FETCH_INTERNALDATE  = 1 << 2,
  TERN_IMAP_FETCH_SIZE          = 1 << 3,
  TERN_IMAP_FETCH_ENVELOPE      = 1 << 4,
  TERN_IMAP_FETCH_BODYSTRUCTURE = 1 << 5,
  TERN_IMAP_FETCH_MODSEQ        = 1 << 6,
  TERN_IMAP_FETCH_SECTIONS      = 1 << 7,
} TernImapFetchFields;

/**
 * TernImapFetch:
 * @seq: the message sequence number
 * @fields: which fields below are set
 * @uid: the UID
 * @flags: (array zero-terminated=1): flags and keywords as sent
 *   ("\\Seen", "$Forwarded")
 * @internal_date: the INTERNALDATE, or %NULL
 * @size: RFC822.SIZE
 * @modseq: MODSEQ (CONDSTORE)
 * @envelope: (nullable): the ENVELOPE
 * @attachment_disposition: whether a part of the BODYSTRUCTURE (or BODY)
 *   has the disposition "attachment"
 * @response: the response it was read from, for items this struct does not
 *   name
 *
 * One FETCH response, decoded.  A body section (BODY[...], BINARY[...]) is
 * read with tern_imap_fetch_get_section(), the part tree of the
 * BODYSTRUCTURE with tern_imap_fetch_get_body_structure(): the response
 * is checked whole as it arrives, but the tree is made only when asked
 * for.
 */
typedef struct {
  guint32 seq;
  TernImapFetchFields fields;
  guint32 uid;
  char **flags;
  GDateTime *internal_date;
  guint64 size;
  guint64 modseq;
  TernImapEnvelope *envelope;
  gboolean attachment_disposition;
  TernImapResponse *response;

  /*< private >*/
  GPtrArray *sections;
  const TernImapValue *structure_value;
  TernImapBodyPart *structure;
} TernImapFetch;

void      tern_imap_fetch_free        (TernImapFetch       *fetch);
GBytes   *tern_imap_fetch_get_section (const TernImapFetch *fetch,
                                       const char          *section);
const TernImapBodyPart *
          tern_imap_fetch_get_body_structure (const TernImapFetch *fetch);
gboolean  tern_imap_fetch_has_flag    (const TernImapFetch *fetch,
                                       const char          *flag);

/**
 * TernImapFetchFunc:
 * @fetch: (transfer none): one message's FETCH response; valid only during
 *   the call
 * @user_data: the data given with the function
 *
 * Called once per FETCH response of a tern_imap_client_uid_fetch_async(),
 * as it arrives, so that memory does not grow with the folder.
 */
typedef void (*TernImapFetchFunc) (const TernImapFetch *fetch,
                                   gpointer             user_data);

/**
 * TernImapSelectFlags:
 * @TERN_IMAP_SELECT_NONE: SELECT
 * @TERN_IMAP_SELECT_READ_ONLY: EXAMINE instead of SELECT
 * @TERN_IMAP_SELECT_CONDSTORE: ask for MODSEQ (CONDSTORE), when offered
 */
typedef enum {
  TERN_IMAP_SELECT_NONE      = 0,
  TERN_IMAP_SELECT_READ_ONLY = 1 << 0,
  TERN_IMAP_SELECT_CONDSTORE = 1 << 1,
} TernImapSelectFlags;

/**
 * TernImapSelected:
 * @mailbox: the mailbox's name in UTF-8
 * @uidvalidity: UIDVALIDITY
 * @uidnext: UIDNEXT, or 0 when the server did not say
 * @exists: EXISTS
 * @recent: RECENT (IMAP4rev1 servers only)
 * @highestmodseq: HIGHESTMODSEQ, or 0 when the server has none
 * @nomodseq: the server said NOMODSEQ: no CONDSTORE for this mailbox
 * @read_only: the mailbox is open read-only (EXAMINE, or [READ-ONLY])
 * @flags: (array zero-terminated=1): FLAGS
 * @permanent_flags: (array zero-terminated=1) (nullable): PERMANENTFLAGS,
 *   or %NULL when the server did not say
 * @vanished: (element-type TernImapUidRange): QRESYNC: the known UIDs the
 *   server reported as gone (VANISHED (EARLIER)); empty otherwise
 * @changed: (element-type TernImapFetch): QRESYNC: the FETCH responses of
 *   messages changed since the given modseq
 *
 * What SELECT or EXAMINE reported.
 */
typedef struct {
  char *mailbox;
  guint32 uidvalidity;
  guint32 uidnext;
  guint32 exists;
  guint32 recent;
  guint64 highestmodseq;
  gboolean nomodseq;
  gboolean read_only;
  char **flags;
  char **permanent_flags;
  GArray *vanished;
  GPtrArray *changed;
} TernImapSelected;

void tern_imap_selected_free (TernImapSelected *selected);

/**
 * TernImapStoreMode:
 *
 * Whether tern_imap_client_uid_store_async() adds, removes or replaces
 * flags.
 */
typedef enum {
  TERN_IMAP_STORE_ADD,
  TERN_IMAP_STORE_REMOVE,
  TERN_IMAP_STORE_REPLACE,
} TernImapStoreMode;

/**
 * TernImapQuota:
 * @root: the quota root's name
 * @has_storage: whether the STORAGE resource is limited
 * @storage_used: STORAGE usage, in KiB (1024 octets)
 * @storage_limit: STORAGE limit, in KiB
 * @has_messages: whether the MESSAGE resource is limited
 * @messages_used: MESSAGE usage
 * @messages_limit: MESSAGE limit
 */
typedef struct {
  char *root;
  gboolean has_storage;
  guint64 storage_used;
  guint64 storage_limit;
  gboolean has_messages;
  guint64 messages_used;
  guint64 messages_limit;
} TernImapQuota;

void tern_imap_quota_free (TernImapQuota *quota);

/**
 * TernImapNamespace:
 * @prefix: the namespace's prefix in UTF-8 ("", "INBOX.", "Other Users/")
 * @delimiter: its hierarchy delimiter, or 0
 */
typedef struct {
  char *prefix;
  char delimiter;
} TernImapNamespace;

void tern_imap_namespace_free (TernImapNamespace *ns);

/**
 * TernImapNamespaces:
 * @personal: (element-type TernImapNamespace): the user's own
 * @other_users: (element-type TernImapNamespace): other users'
 * @shared: (element-type TernImapNamespace): shared
 */
typedef struct {
  GPtrArray *personal;
  GPtrArray *other_users;
  GPtrArray *shared;
} TernImapNamespaces;

void tern_imap_namespaces_free (TernImapNamespaces *namespaces);

/**
 * TernImapCopyResult:
 * @uidvalidity: the destination's UIDVALIDITY, 0 when the server did not
 *   say (no UIDPLUS)
 * @source_uids: (element-type TernImapUidRange) (nullable): COPYUID: the
 *   source UIDs, in the order of @dest_uids
 * @dest_uids: (element-type TernImapUidRange) (nullable): COPYUID: the new
 *   UIDs in the destination
 * @source_expunged: for a move: whether the source messages are gone.
 *   %FALSE only when the server has neither MOVE nor UIDPLUS: they are then
 *   marked \Deleted in the source and nothing was expunged.
 */
typedef struct {
  guint32 uidvalidity;
  GArray *source_uids;
  GArray *dest_uids;
  gboolean source_expunged;
} TernImapCopyResult;

void tern_imap_copy_result_free (TernImapCopyResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapMailbox, tern_imap_mailbox_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapFetch, tern_imap_fetch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapSelected, tern_imap_selected_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapQuota, tern_imap_quota_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapNamespaces, tern_imap_namespaces_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernImapCopyResult, tern_imap_copy_result_free)

#define TERN_TYPE_IMAP_CLIENT (tern_imap_client_get_type ())

G_DECLARE_FINAL_TYPE (TernImapClient, tern_imap_client, TERN, IMAP_CLIENT, GObject)

/*
 * Signals (all in the main context the commands were started in):
 *
 *   "exists"   (TernImapClient *, guint count): the selected mailbox now
 *              holds @count messages;
 *   "expunge"  (TernImapClient *, guint seq): message @seq is gone;
 *   "vanished" (TernImapClient *, GArray *ranges): (element-type
 *              TernImapUidRange) messages with these UIDs are gone (QRESYNC);
 *   "fetch"    (TernImapClient *, gpointer fetch): a const TernImapFetch *
 *              the server sent on its own (flags changed elsewhere), valid
 *              during the emission;
 *   "alert"    (TernImapClient *, const char *text): an [ALERT] for the user;
 *   "bye"      (TernImapClient *, const char *text): the server is ending
 *              the session; every pending command then fails.
 *
 * During SELECT the responses belong to the select and are not signalled;
 * during tern_imap_client_uid_fetch_async(), FETCH responses with a UID go
 * to its TernImapFetchFunc.
 */

GQuark               tern_imap_client_error_quark           (void);

TernImapClient      *tern_imap_client_new                   (TernConnection       *connection);

TernConnection      *tern_imap_client_get_connection        (TernImapClient       *self);
TernImapClientState  tern_imap_client_get_state             (TernImapClient       *self);
void                 tern_imap_client_set_max_literal       (TernImapClient       *self,
                                                             gsize                 max_bytes);
void                 tern_imap_client_set_pipeline_depth    (TernImapClient       *self,
                                                             guint                 depth);
gboolean             tern_imap_client_has_capability        (TernImapClient       *self,
                                                             const char           *name);
char               **tern_imap_client_dup_capabilities      (TernImapClient       *self);
gboolean             tern_imap_client_is_enabled            (TernImapClient       *self,
                                                             const char           *extension);
gboolean             tern_imap_client_is_compressed         (TernImapClient       *self);
guint64              tern_imap_client_get_append_limit      (TernImapClient       *self);
const char          *tern_imap_client_get_auth_mechanism    (TernImapClient       *self);
const char          *tern_imap_client_get_selected_mailbox  (TernImapClient       *self);
gboolean             tern_imap_client_was_preauthenticated  (TernImapClient       *self);

void                 tern_imap_client_connect_async         (TernImapClient       *self,
                                                             const char           *host,
                                                             guint16               port,
                                                             TernConnectionSecurity security,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             tern_imap_client_connect_finish        (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_login_async           (TernImapClient       *self,
                                                             const char           *username,
                                                             const char           *password,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_login_oauth_async     (TernImapClient       *self,
                                                             const char           *username,
                                                             const char           *token,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_login_mechanism_async (TernImapClient       *self,
                                                             const char           *mechanism,
                                                             const char           *username,
                                                             const char           *secret,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
/* tern_imap_client_login_finish(): a refused login is
 * %TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED, except an OAuth token the
 * server says is invalid or expired, which is %TERN_SASL_ERROR_TOKEN_INVALID
 * (refresh it and log in again on a new client). */
gboolean             tern_imap_client_login_finish          (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

/* Commands whose only result is success: CAPABILITY, NOOP, LOGOUT, ID,
 * ENABLE, COMPRESS, CLOSE, UNSELECT, CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, UID EXPUNGE, UID STORE, IDLE. */
gboolean             tern_imap_client_simple_finish         (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_capability_async      (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_noop_async            (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_logout_async          (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_close                 (TernImapClient       *self);

void                 tern_imap_client_enable_async          (TernImapClient       *self,
                                                             const char * const   *extensions,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_id_async              (TernImapClient       *self,
                                                             const char * const   *fields,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
GHashTable          *tern_imap_client_id_finish             (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);
void                 tern_imap_client_compress_async        (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);

void                 tern_imap_client_namespace_async       (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
TernImapNamespaces  *tern_imap_client_namespace_finish      (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_list_async            (TernImapClient       *self,
                                                             const char           *reference,
                                                             const char           *pattern,
                                                             TernImapStatusItems   status_items,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
GPtrArray           *tern_imap_client_list_finish           (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_status_async          (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             TernImapStatusItems   items,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             tern_imap_client_status_finish         (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             TernImapMailboxStatus *out_status,
                                                             GError              **error);

void                 tern_imap_client_create_async          (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_delete_async          (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_rename_async          (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             const char           *new_name,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_subscribe_async       (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             gboolean              subscribe,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);

void                 tern_imap_client_select_async          (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             TernImapSelectFlags   flags,
                                                             guint32               qresync_uidvalidity,
                                                             guint64               qresync_modseq,
                                                             const char           *qresync_known_uids,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
TernImapSelected    *tern_imap_client_select_finish         (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);
void                 tern_imap_client_unselect_async        (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);

void                 tern_imap_client_uid_fetch_async       (TernImapClient       *self,
                                                             const char           *uid_set,
                                                             const char           *items,
                                                             guint64               changed_since,
                                                             gboolean              vanished,
                                                             TernImapFetchFunc     func,
                                                             gpointer              func_data,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             tern_imap_client_uid_fetch_finish      (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GArray              **out_vanished,
                                                             GError              **error);

void                 tern_imap_client_fetch_body_async      (TernImapClient       *self,
                                                             guint32               uid,
                                                             const char           *section,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
GBytes              *tern_imap_client_fetch_body_finish     (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_fetch_body_to_stream_async  (TernImapClient *self,
                                                                   guint32         uid,
                                                                   const char     *section,
                                                                   GOutputStream  *output,
                                                                   GCancellable   *cancellable,
                                                                   GAsyncReadyCallback callback,
                                                                   gpointer        user_data);
gboolean             tern_imap_client_fetch_body_to_stream_finish (TernImapClient *self,
                                                                   GAsyncResult   *result,
                                                                   guint64        *out_size,
                                                                   GError        **error);

void                 tern_imap_client_uid_search_async      (TernImapClient       *self,
                                                             const char           *criteria,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
GArray              *tern_imap_client_uid_search_finish     (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_uid_store_async       (TernImapClient       *self,
                                                             const char           *uid_set,
                                                             TernImapStoreMode     mode,
                                                             const char * const   *flags,
                                                             guint64               unchanged_since,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             tern_imap_client_uid_store_finish      (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GArray              **out_modified,
                                                             GError              **error);

void                 tern_imap_client_uid_copy_async        (TernImapClient       *self,
                                                             const char           *uid_set,
                                                             const char           *destination,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
void                 tern_imap_client_uid_move_async        (TernImapClient       *self,
                                                             const char           *uid_set,
                                                             const char           *destination,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
TernImapCopyResult  *tern_imap_client_copy_finish           (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_uid_expunge_async     (TernImapClient       *self,
                                                             const char           *uid_set,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);

void                 tern_imap_client_append_async          (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             const char * const   *flags,
                                                             GDateTime            *internal_date,
                                                             GBytes               *message,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             tern_imap_client_append_finish         (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             guint32              *out_uidvalidity,
                                                             guint32              *out_uid,
                                                             GError              **error);

void                 tern_imap_client_get_quota_root_async  (TernImapClient       *self,
                                                             const char           *mailbox,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
GPtrArray           *tern_imap_client_get_quota_root_finish (TernImapClient       *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);

void                 tern_imap_client_idle_async            (TernImapClient       *self,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
gboolean             tern_imap_client_is_idling             (TernImapClient       *self);
/* tern_imap_client_idle_async() finishes (with tern_imap_client_simple_finish())
 * once tern_imap_client_idle_done() ended IDLE and the server confirmed it,
 * or on an error.  tern_imap_client_is_idling() turns TRUE once the server
 * accepted IDLE; events arrive through the signals meanwhile. */
void                 tern_imap_client_idle_done             (TernImapClient       *self);

G_END_DECLS
