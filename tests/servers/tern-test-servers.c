/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The C side of tests/servers/tern-test-servers: reads the TERN_TEST_*
 * variables that "tern-test-servers run" puts in a test's environment, and
 * runs its control commands for the test. */

#include "tern-test-servers.h"

G_DEFINE_QUARK (tern-test-servers-error-quark, tern_test_servers_error)

static void
tern_test_user_free (gpointer data)
{
  TernTestUser *user = data;

  g_free (user->login);
  g_free (user->password);
  g_free (user);
}

void
tern_test_servers_free (TernTestServers *self)
{
  if (self == NULL)
    return;

  g_free (self->dir);
  g_free (self->ctl);
  g_free (self->python);
  g_free (self->host);
  g_free (self->hostname);
  g_free (self->domain);
  g_free (self->ca_file);
  g_free (self->remote_client_address);
  g_clear_pointer (&self->users, g_ptr_array_unref);
  g_free (self);
}

static char *
require_env (const char  *name,
             GError     **error)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    {
      g_set_error (error, TERN_TEST_SERVERS_ERROR, TERN_TEST_SERVERS_ERROR_BAD_ENVIRONMENT,
                   "%s is not set", name);
      return NULL;
    }
  return g_strdup (value);
}

/* A port from the environment; an absent variable gives 0 when optional. */
static gboolean
read_port (const char  *name,
           gboolean     optional,
           guint16     *out_port,
           GError     **error)
{
  const char *value = g_getenv (name);
  guint64 port = 0;

  *out_port = 0;
  if (value == NULL || *value == '\0')
    {
      if (optional)
        return TRUE;
      g_set_error (error, TERN_TEST_SERVERS_ERROR, TERN_TEST_SERVERS_ERROR_BAD_ENVIRONMENT,
                   "%s is not set", name);
      return FALSE;
    }
  if (!g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT16, &port, error))
    {
      g_prefix_error (error, "%s: ", name);
      return FALSE;
    }
  *out_port = (guint16) port;
  return TRUE;
}

static GPid
read_pid (const char *name)
{
  const char *value = g_getenv (name);
  guint64 pid = 0;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT, &pid, NULL))
    return 0;
  return (GPid) pid;
}

/**
 * tern_test_servers_load:
 *
 * Reads the running set from the environment.
 *
 * Returns: (transfer full): the set, or %NULL with
 *   %TERN_TEST_SERVERS_ERROR_NOT_RUNNING when the test was not started by the
 *   harness, or another error when the environment is incomplete.
 */
TernTestServers *
tern_test_servers_load (GError **error)
{
  g_autoptr(TernTestServers) self = NULL;
  const char *smtp;
  const char *user_count;
  guint64 n_users = 0;

  if (g_getenv ("TERN_TEST_SERVERS_DIR") == NULL)
    {
      g_set_error (error, TERN_TEST_SERVERS_ERROR, TERN_TEST_SERVERS_ERROR_NOT_RUNNING,
                   "no test servers: run this test through "
                   "tests/servers/tern-test-servers run -- TEST");
      return NULL;
    }

  self = g_new0 (TernTestServers, 1);
  self->users = g_ptr_array_new_with_free_func (tern_test_user_free);

  if (!(self->dir = require_env ("TERN_TEST_SERVERS_DIR", error)) ||
      !(self->ctl = require_env ("TERN_TEST_SERVERS_CTL", error)) ||
      !(self->host = require_env ("TERN_TEST_HOST", error)) ||
      !(self->hostname = require_env ("TERN_TEST_HOSTNAME", error)) ||
      !(self->domain = require_env ("TERN_TEST_DOMAIN", error)) ||
      !(self->ca_file = require_env ("TERN_TEST_CA_FILE", error)) ||
      !(self->remote_client_address = require_env ("TERN_TEST_REMOTE_CLIENT_ADDRESS", error)))
    return NULL;

  self->python = g_strdup (g_getenv ("TERN_TEST_SERVERS_PYTHON"));
  if (self->python == NULL)
    self->python = g_strdup ("/usr/bin/python3");

  smtp = g_getenv ("TERN_TEST_SERVERS_SMTP");
  self->has_smtp = g_strcmp0 (smtp, "yes") == 0;

  if (!read_port ("TERN_TEST_IMAP_PORT", FALSE, &self->imap_port, error) ||
      !read_port ("TERN_TEST_IMAPS_PORT", FALSE, &self->imaps_port, error) ||
      !read_port ("TERN_TEST_POP3_PORT", FALSE, &self->pop3_port, error) ||
      !read_port ("TERN_TEST_POP3S_PORT", FALSE, &self->pop3s_port, error) ||
      !read_port ("TERN_TEST_LMTP_PORT", FALSE, &self->lmtp_port, error) ||
      !read_port ("TERN_TEST_SUBMISSION_PORT", !self->has_smtp, &self->submission_port, error) ||
      !read_port ("TERN_TEST_SMTPS_PORT", !self->has_smtp, &self->smtps_port, error))
    return NULL;

  self->dovecot_pid = read_pid ("TERN_TEST_DOVECOT_PID");
  self->postfix_pid = read_pid ("TERN_TEST_POSTFIX_PID");

  user_count = g_getenv ("TERN_TEST_USER_COUNT");
  if (!g_ascii_string_to_unsigned (user_count != NULL ? user_count : "", 10, 1, 100,
                                   &n_users, error))
    {
      g_prefix_error (error, "TERN_TEST_USER_COUNT: ");
      return NULL;
    }
  for (guint i = 1; i <= n_users; i++)
    {
      g_autofree char *login_name = g_strdup_printf ("TERN_TEST_USER%u", i);
      g_autofree char *password_name = g_strdup_printf ("TERN_TEST_PASSWORD%u", i);
      TernTestUser *user = g_new0 (TernTestUser, 1);

      g_ptr_array_add (self->users, user);
      if (!(user->login = require_env (login_name, error)) ||
          !(user->password = require_env (password_name, error)))
        return NULL;
    }

  return g_steal_pointer (&self);
}

static TernTestServers *
get_or_skip (gboolean need_smtp)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestServers) self = tern_test_servers_load (&error);

  if (self == NULL)
    {
      if (g_error_matches (error, TERN_TEST_SERVERS_ERROR, TERN_TEST_SERVERS_ERROR_NOT_RUNNING))
        g_test_skip (error->message);
      else
        g_test_fail_printf ("the test servers' environment is broken: %s", error->message);
      return NULL;
    }
  if (need_smtp && !self->has_smtp)
    {
      g_test_skip ("this set of test servers has no Postfix (it runs only as root)");
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * tern_test_servers_get_or_skip:
 *
 * For the start of a test: the running set, or %NULL after marking the test
 * skipped (no harness) or failed (a broken environment).
 *
 * Returns: (transfer full) (nullable): the set
 */
TernTestServers *
tern_test_servers_get_or_skip (void)
{
  return get_or_skip (FALSE);
}

/**
 * tern_test_servers_get_with_smtp_or_skip:
 *
 * Like tern_test_servers_get_or_skip(), and also skips when the set has no
 * SMTP servers.
 *
 * Returns: (transfer full) (nullable): the set
 */
TernTestServers *
tern_test_servers_get_with_smtp_or_skip (void)
{
  return get_or_skip (TRUE);
}

/**
 * tern_test_servers_get_user:
 * @index: 0 for alice, 1 for bob, 2 for carol, 3 for dave
 *
 * Returns: (transfer none): the user
 */
const TernTestUser *
tern_test_servers_get_user (TernTestServers *self,
                            guint            index)
{
  g_return_val_if_fail (index < self->users->len, NULL);

  return g_ptr_array_index (self->users, index);
}

/**
 * tern_test_servers_new_tls_database:
 *
 * A database that trusts the set's own CA and nothing else, so a client
 * using it validates the servers' certificates for real.
 *
 * Returns: (transfer full): the database, or %NULL with @error set
 */
GTlsDatabase *
tern_test_servers_new_tls_database (TernTestServers  *self,
                                    GError          **error)
{
  return g_tls_file_database_new (self->ca_file, error);
}

/**
 * tern_test_servers_run_ctl:
 * @args: the arguments after the script's name, %NULL-terminated
 * @out_stdout: (out) (optional): what the command printed
 *
 * Runs a control command of tests/servers/tern-test-servers on this set and
 * waits for it.  It fails with %TERN_TEST_SERVERS_ERROR_COMMAND_FAILED and
 * the command's own message when the command does.
 */
gboolean
tern_test_servers_run_ctl (TernTestServers    *self,
                           const char * const *args,
                           char              **out_stdout,
                           GError            **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;

  g_ptr_array_add (argv, self->python);
  g_ptr_array_add (argv, self->ctl);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "TERN_TEST_SERVERS_DIR", self->dir, TRUE);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (process == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text, &stderr_text, error))
    return FALSE;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_autofree char *command = g_strjoinv (" ", (char **) args);

      g_set_error (error, TERN_TEST_SERVERS_ERROR, TERN_TEST_SERVERS_ERROR_COMMAND_FAILED,
                   "tern-test-servers %s failed: %s", command,
                   stderr_text != NULL ? g_strstrip (stderr_text) : "");
      return FALSE;
    }
  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&stdout_text);
  return TRUE;
}

/**
 * tern_test_servers_set_imap_capability:
 * @capabilities: (nullable): what Dovecot announces, such as
 *   "IMAP4rev1 LITERAL+"; "+X" adds X to Dovecot's own list; %NULL gives
 *   Dovecot's own list back
 *
 * Changes Dovecot's imap_capability.  When this returns, new connections
 * see the change, both before and after login.
 */
gboolean
tern_test_servers_set_imap_capability (TernTestServers  *self,
                                       const char       *capabilities,
                                       GError          **error)
{
  const char *set_args[] = { "imap-capability", capabilities, NULL };
  const char *reset_args[] = { "imap-capability", "--reset", NULL };

  return tern_test_servers_run_ctl (self, capabilities != NULL ? set_args : reset_args,
                                    NULL, error);
}

/**
 * tern_test_servers_dovecot_set:
 * @key: a Dovecot setting; "protocol imap/KEY" sets it inside a section
 * @value: (nullable): the value, or %NULL to drop an earlier change
 *
 * Changes a Dovecot setting and reloads Dovecot.  New connections see the
 * change when this returns; open ones keep the settings they had.
 */
gboolean
tern_test_servers_dovecot_set (TernTestServers  *self,
                               const char       *key,
                               const char       *value,
                               GError          **error)
{
  const char *args[] = { "dovecot-set", key, value, NULL };

  return tern_test_servers_run_ctl (self, args, NULL, error);
}

/**
 * tern_test_servers_postfix_set:
 * @key: a main.cf parameter, such as "smtpd_discard_ehlo_keywords"
 * @value: (nullable): the value, or %NULL to drop an earlier change
 *
 * Changes a Postfix parameter and reloads Postfix; new connections see it.
 */
gboolean
tern_test_servers_postfix_set (TernTestServers  *self,
                               const char       *key,
                               const char       *value,
                               GError          **error)
{
  const char *args[] = { "postfix-set", key, value, NULL };

  return tern_test_servers_run_ctl (self, args, NULL, error);
}

/**
 * tern_test_servers_load_mailbox:
 * @login: a test user's login or local part ("alice")
 * @folder: the folder, made when missing ("INBOX", "Archive/2023")
 *
 * Writes @count generated messages into the folder and lets Dovecot index
 * it.  Message i has the Message-ID <tern-load-1-i@tern.test>, numbered on
 * from 1 for each call.
 */
gboolean
tern_test_servers_load_mailbox (TernTestServers  *self,
                                const char       *login,
                                const char       *folder,
                                guint             count,
                                GError          **error)
{
  g_autofree char *count_text = g_strdup_printf ("%u", count);
  const char *args[] = {
    "load-mailbox", "--user", login, "--folder", folder, "--count", count_text, NULL
  };

  return tern_test_servers_run_ctl (self, args, NULL, error);
}
