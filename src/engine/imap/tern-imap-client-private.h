/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

/*
 * What the files of TernImapClient share: the session's state, the
 * commands it runs, and the helpers that build them and read replies.
 * tern-imap-client.c holds the session (scheduling, writing, reading,
 * connecting, logging in); tern-imap-client-mailboxes.c and
 * tern-imap-client-messages.c the commands; tern-imap-types.c UID sets and
 * the decoding of FETCH.
 */

#include "tern-imap-client.h"

G_BEGIN_DECLS

typedef struct _Command Command;

typedef gboolean (*UntaggedFunc)     (Command          *command,
                                      TernImapResponse *response);
typedef void     (*ContinuationFunc) (Command          *command,
                                      TernImapResponse *response);
typedef void     (*DoneFunc)         (Command          *command,
                                      TernImapResponse *tagged);
typedef void     (*FailFunc)         (Command          *command,
                                      const GError     *error);

struct _Command
{
  gint ref_count;
  TernImapClient *client;
  char *name;
  char *tag;
  GTask *task;
  /* GBytes pieces; a piece marked in @sync is sent after a "+". */
  GPtrArray *chunks;
  GArray *sync;
  guint next_chunk;
  guint chunks_queued;
  gboolean got_continuation;
  gboolean sent;
  gboolean barrier;
  gboolean returned;
  /* Its pieces are wiped from memory once freed (a login). */
  gboolean secret;
  TernImapResponse *stashed;

  UntaggedFunc untagged;
  ContinuationFunc continuation;
  DoneFunc done;
  FailFunc fail;
  gpointer data;
  GDestroyNotify data_free;

  GSource *cancel_source;

  /* A fetch whose body literal goes to a stream instead of memory. */
  GOutputStream *divert_output;
  guint64 diverted;
};

/* How many commands may wait for their reply at once. */
#define DEFAULT_PIPELINE_DEPTH 16

/* The most UIDs a SEARCH answer may expand to. */
#define MAX_SEARCH_RESULTS (16 * 1024 * 1024)

/* Longer strings go as literals rather than quoted. */
#define MAX_QUOTED_LENGTH 1000

/* LITERAL- allows non-synchronizing literals up to this size. */
#define LITERAL_MINUS_MAX 4096

/* A literal is read in pieces of at most this size. */
#define LITERAL_PIECE (256 * 1024)

struct _TernImapClient
{
  GObject parent_instance;

  TernConnection *connection;
  TernConnectionSecurity security;
  TernImapClientState state;
  TernImapParser *parser;
  gsize max_literal;
  guint pipeline_depth;
  guint io_timeout_msec;

  /* Upper-case capability names. */
  GHashTable *capabilities;
  /* Upper-case names of what ENABLE turned on. */
  GHashTable *enabled;
  gboolean utf8_enabled;
  gboolean preauth;
  gboolean tls_done;
  guint64 append_limit;
  char *auth_mechanism;
  char *selected;
  /* SELECT or EXAMINE commands queued or running. */
  guint selected_pending;

  /* Commands not started yet, and commands waiting for their reply. */
  GQueue queue;
  GQueue inflight;
  /* The command whose next piece waits for a continuation request. */
  Command *blocking;
  /* Pieces waiting to be written, in order. */
  GQueue out;
  gboolean writing;
  gboolean reading;
  gboolean in_reader;
  guint tag_counter;
  char *bye_text;
  GCancellable *io_cancellable;

  /* IDLE */
  Command *idle_command;
  gboolean idling;
  gboolean idle_done_sent;
  gboolean idle_done_requested;

  /* Bytes of a literal still to go to a stream, and the piece being
   * written there. */
  guint64 divert_left;
  GBytes *divert_piece;
};

typedef struct
{
  TernImapClient *client;
  Command *command;
  GString *text;
} Builder;

/* Signals, in tern-imap-client.c. */
enum {
  TERN_IMAP_CLIENT_SIGNAL_EXISTS,
  TERN_IMAP_CLIENT_SIGNAL_EXPUNGE,
  TERN_IMAP_CLIENT_SIGNAL_VANISHED,
  TERN_IMAP_CLIENT_SIGNAL_FETCH,
  TERN_IMAP_CLIENT_SIGNAL_ALERT,
  TERN_IMAP_CLIENT_SIGNAL_BYE,
  TERN_IMAP_CLIENT_N_SIGNALS
};

/* Commands (tern-imap-client.c) */
Command  *imap_command_new            (TernImapClient      *self,
                                       const char          *name,
                                       gpointer             source_tag,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
Command  *imap_command_ref            (Command             *command);
void      imap_command_unref          (Command             *command);
void      imap_command_return_error   (Command             *command,
                                       GError              *error);
void      imap_command_return_boolean (Command             *command);
void      imap_command_return_pointer (Command             *command,
                                       gpointer             pointer,
                                       GDestroyNotify       destroy);
gboolean  imap_command_check_state    (Command             *command,
                                       TernImapClientState  minimum);
gboolean  imap_command_fail_now       (Command             *command,
                                       GError              *error);
void      imap_default_done           (Command             *command,
                                       TernImapResponse    *tagged);
GError   *imap_status_error           (TernImapResponse    *response,
                                       const char          *what);
void      imap_submit                 (TernImapClient      *self,
                                       Command             *command);
void      imap_out_push               (TernImapClient      *self,
                                       GBytes              *bytes,
                                       Command             *command,
                                       gboolean             last);
void      imap_fatal                  (TernImapClient      *self,
                                       GError              *error);
void      imap_reader_pump            (TernImapClient      *self);

/* Building command lines (tern-imap-client.c) */
void      imap_builder_init           (Builder             *builder,
                                       TernImapClient      *self,
                                       Command             *command,
                                       const char          *verb);
void      imap_builder_append         (Builder             *builder,
                                       const char          *text);
void      imap_builder_printf         (Builder             *builder,
                                       const char          *format,
                                       ...) G_GNUC_PRINTF (2, 3);
void      imap_builder_add_literal    (Builder             *builder,
                                       GBytes              *bytes,
                                       gboolean             binary);
void      imap_builder_add_string     (Builder             *builder,
                                       const char          *text);
void      imap_builder_add_astring    (Builder             *builder,
                                       const char          *text);
gboolean  imap_builder_add_mailbox    (Builder             *builder,
                                       const char          *name,
                                       GError             **error);
void      imap_builder_finish         (Builder             *builder);
void      imap_builder_clear          (Builder             *builder);

/* Replies (tern-imap-types.c) */
GArray        *imap_ranges_from_value      (const TernImapValue *value);
GArray        *imap_parse_vanished         (TernImapResponse    *response,
                                            gboolean            *out_earlier);
TernImapFetch *imap_fetch_decode           (TernImapResponse    *response,
                                            GError             **error);
char         **imap_strv_from_list         (const TernImapValue *list);
char          *imap_format_internal_date   (GDateTime           *date);

G_END_DECLS
