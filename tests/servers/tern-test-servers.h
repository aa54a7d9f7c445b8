/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TERN_TEST_SERVERS_ERROR (tern_test_servers_error_quark ())

typedef enum
{
  TERN_TEST_SERVERS_ERROR_NOT_RUNNING,
  TERN_TEST_SERVERS_ERROR_BAD_ENVIRONMENT,
  TERN_TEST_SERVERS_ERROR_COMMAND_FAILED,
} TernTestServersError;

typedef struct
{
  /* The login is also the user's address, such as "alice@tern.test". */
  char *login;
  char *password;
} TernTestUser;

/**
 * TernTestServers:
 *
 * One running set of test servers (Dovecot and Postfix on 127.0.0.1), as
 * tests/servers/tern-test-servers describes it in the environment.
 *
 * Ports are 0 for services the set does not have: a set started without
 * root has no Postfix, so @submission_port and @smtps_port are 0 and
 * @has_smtp is %FALSE.
 */
typedef struct
{
  char *dir;
  char *ctl;
  char *python;
  /* "127.0.0.1"; the certificate also names @hostname ("localhost"). */
  char *host;
  char *hostname;
  char *domain;
  char *ca_file;
  /* A client bound to this local address is not on the server's own
   * address, so Dovecot treats it as remote and refuses plaintext logins
   * before STARTTLS, as a real server does. */
  char *remote_client_address;

  guint16 imap_port;
  guint16 imaps_port;
  guint16 pop3_port;
  guint16 pop3s_port;
  guint16 lmtp_port;
  guint16 submission_port;
  guint16 smtps_port;
  gboolean has_smtp;

  GPid dovecot_pid;
  GPid postfix_pid;

  /* TernTestUser, at least three. */
  GPtrArray *users;
} TernTestServers;

GQuark             tern_test_servers_error_quark            (void);

TernTestServers   *tern_test_servers_load                   (GError          **error);
TernTestServers   *tern_test_servers_get_or_skip            (void);
TernTestServers   *tern_test_servers_get_with_smtp_or_skip  (void);
void               tern_test_servers_free                   (TernTestServers  *self);

const TernTestUser *tern_test_servers_get_user              (TernTestServers  *self,
                                                             guint             index);
GTlsDatabase      *tern_test_servers_new_tls_database       (TernTestServers  *self,
                                                             GError          **error);

gboolean           tern_test_servers_run_ctl                (TernTestServers    *self,
                                                             const char * const *args,
                                                             char              **out_stdout,
                                                             GError            **error);
gboolean           tern_test_servers_set_imap_capability    (TernTestServers  *self,
                                                             const char       *capabilities,
                                                             GError          **error);
gboolean           tern_test_servers_dovecot_set            (TernTestServers  *self,
                                                             const char       *key,
                                                             const char       *value,
                                                             GError          **error);
gboolean           tern_test_servers_postfix_set            (TernTestServers  *self,
                                                             const char       *key,
                                                             const char       *value,
                                                             GError          **error);
gboolean           tern_test_servers_load_mailbox           (TernTestServers  *self,
                                                             const char       *login,
                                                             const char       *folder,
                                                             guint             count,
                                                             GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernTestServers, tern_test_servers_free)

G_END_DECLS
