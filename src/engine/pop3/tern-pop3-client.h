/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-connection.h"

G_BEGIN_DECLS

/*
 * The client side of POP3 (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595)
 * and SASL AUTH (RFC 5034), over one TernConnection.
 *
 * The order of calls is tern_pop3_client_new(), the optional setters, then
 * tern_pop3_client_connect_async() (greeting, CAPA, STLS when asked for),
 * tern_pop3_client_login_async(), any number of commands, and
 * tern_pop3_client_quit_async(), which is what makes DELE take effect.
 * One operation runs at a time; tern_pop3_client_retr_many_async() is the
 * one that keeps several commands in flight, when the server offers
 * PIPELINING.
 *
 * Errors are in %TERN_POP3_ERROR, except those of the connection itself
 * (%TERN_CONNECTION_ERROR) and cancellation (%G_IO_ERROR_CANCELLED).
 * After any error but %TERN_POP3_ERROR_COMMAND_FAILED the client is no
 * longer usable and its connection is closed.
 */

#define TERN_POP3_ERROR (tern_pop3_error_quark ())

/**
 * TernPop3Error:
 * @TERN_POP3_ERROR_BAD_RESPONSE: the server sent something that is not
 *   POP3 (no "+OK" or "-ERR", a malformed STAT, UIDL or LIST line)
 * @TERN_POP3_ERROR_COMMAND_FAILED: the server answered "-ERR"; the message
 *   holds its text
 * @TERN_POP3_ERROR_AUTH_FAILED: the server refused the login (wrong
 *   password, unknown user); the message holds its text
 * @TERN_POP3_ERROR_STARTTLS_UNAVAILABLE: STARTTLS was asked for and the
 *   server does not offer STLS, or refused it; nothing secret was sent
 * @TERN_POP3_ERROR_ENCRYPTION_REQUIRED: logging in would send a password
 *   on an unencrypted connection the user did not choose
 * @TERN_POP3_ERROR_NO_MECHANISM: the server offers no way to log in that
 *   Tern can use
 * @TERN_POP3_ERROR_MESSAGE_TOO_LARGE: a message is larger than the limit
 *   set with tern_pop3_client_set_max_message_size()
 * @TERN_POP3_ERROR_INVALID_STATE: the call does not fit the client's state
 *   (not connected, not logged in, another operation running, closed)
 */
typedef enum {
  TERN_POP3_ERROR_BAD_RESPONSE,
  TERN_POP3_ERROR_COMMAND_FAILED,
  TERN_POP3_ERROR_AUTH_FAILED,
  TERN_POP3_ERROR_STARTTLS_UNAVAILABLE,
  TERN_POP3_ERROR_ENCRYPTION_REQUIRED,
  TERN_POP3_ERROR_NO_MECHANISM,
  TERN_POP3_ERROR_MESSAGE_TOO_LARGE,
  TERN_POP3_ERROR_INVALID_STATE,
} TernPop3Error;

/* The longest line Tern reads from a POP3 server.  RFC 1939 allows 512
 * octets, but message lines in the wild are far longer. */
#define TERN_POP3_MAX_LINE               (1024 * 1024)

/* The default bound on one message as RETR or TOP delivers it. */
#define TERN_POP3_DEFAULT_MAX_MESSAGE    (256 * 1024 * 1024)

/* How many RETR commands tern_pop3_client_retr_many_async() keeps in
 * flight when the server offers PIPELINING. */
#define TERN_POP3_PIPELINE_WINDOW        8

/**
 * TernPop3Entry:
 * @number: the message number in this session, from 1
 * @size: the size in octets the server announces (LIST), or 0 (UIDL)
 * @uid: the unique id (UIDL), or %NULL (LIST)
 *
 * One line of a UIDL or LIST answer.
 */
typedef struct {
  guint number;
  guint64 size;
  char *uid;
} TernPop3Entry;

void tern_pop3_entry_free (TernPop3Entry *entry);

#define TERN_TYPE_POP3_CLIENT (tern_pop3_client_get_type ())

G_DECLARE_FINAL_TYPE (TernPop3Client, tern_pop3_client, TERN, POP3_CLIENT, GObject)

GQuark          tern_pop3_error_quark                   (void);

TernPop3Client *tern_pop3_client_new                    (TernConnection       *connection);

TernConnection *tern_pop3_client_get_connection         (TernPop3Client       *self);
void            tern_pop3_client_set_max_message_size   (TernPop3Client       *self,
                                                         gsize                 max_size);
gboolean        tern_pop3_client_has_capability         (TernPop3Client       *self,
                                                         const char           *name);
const char     *tern_pop3_client_get_apop_timestamp     (TernPop3Client       *self);
const char     *tern_pop3_client_get_auth_mechanism     (TernPop3Client       *self);

void            tern_pop3_client_connect_async          (TernPop3Client       *self,
                                                         const char           *host,
                                                         guint16               port,
                                                         TernConnectionSecurity security,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean        tern_pop3_client_connect_finish         (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_login_async            (TernPop3Client       *self,
                                                         const char           *username,
                                                         const char           *password,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
void            tern_pop3_client_login_oauth_async      (TernPop3Client       *self,
                                                         const char           *username,
                                                         const char           *token,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer             user_data);
gboolean        tern_pop3_client_login_finish           (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_stat_async             (TernPop3Client       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean        tern_pop3_client_stat_finish            (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         guint                *out_count,
                                                         guint64              *out_size,
                                                         GError              **error);

void            tern_pop3_client_uidl_async             (TernPop3Client       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
GPtrArray      *tern_pop3_client_uidl_finish            (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_list_async             (TernPop3Client       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
GPtrArray      *tern_pop3_client_list_finish            (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_retr_async             (TernPop3Client       *self,
                                                         guint                 number,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
GBytes         *tern_pop3_client_retr_finish            (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_retr_to_stream_async   (TernPop3Client       *self,
                                                         guint                 number,
                                                         GOutputStream        *stream,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean        tern_pop3_client_retr_to_stream_finish  (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_top_async              (TernPop3Client       *self,
                                                         guint                 number,
                                                         guint                 lines,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
GBytes         *tern_pop3_client_top_finish             (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_retr_many_async        (TernPop3Client       *self,
                                                         const guint          *numbers,
                                                         guint                 n_numbers,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
GPtrArray      *tern_pop3_client_retr_many_finish       (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

void            tern_pop3_client_dele_async             (TernPop3Client       *self,
                                                         guint                 number,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
void            tern_pop3_client_rset_async             (TernPop3Client       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
void            tern_pop3_client_noop_async             (TernPop3Client       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
void            tern_pop3_client_quit_async             (TernPop3Client       *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean        tern_pop3_client_simple_finish          (TernPop3Client       *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

G_END_DECLS
