/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tern-credentials-command.h"

/*
 * TernCredentialsCommand: passwords printed by a command of the user's,
 * the `password-command` of an account (PasswordCommand= in its file), as
 * mbsync's PassCmd and aerc's source-cred-cmd do: `pass show mail/work`,
 * `gpg -dq ~/.mail-pass.gpg`, `secret-tool lookup …`.
 *
 * The command runs through /bin/sh -c, in a process group of its own, with
 * stdin from /dev/null and TERN_ACCOUNT_ID and TERN_CREDENTIAL_KIND in its
 * environment.  Its first line of standard output, without the line end,
 * is the password; anything after it is ignored.  A command that fails,
 * prints no password, prints more than TERN_CREDENTIALS_COMMAND_MAX_OUTPUT
 * bytes or runs past its timeout gives a clear error, and a timed-out or
 * cancelled command is killed with its whole process group.
 *
 * The output is never logged and never part of an error message; the
 * buffers that held it are overwritten before they are freed.  A command is
 * read only: storing or deleting the password it gives is refused.  Kinds
 * without a command (the other server's password when only one has a
 * command, OAuth2 tokens) go to the fallback provider.
 */

struct _TernCredentialsCommand
{
  GObject parent_instance;

  char *receiving_command;
  char *sending_command;
  TernCredentials *fallback;
  guint timeout_msec;
};

static void tern_credentials_command_iface_init (TernCredentialsInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TernCredentialsCommand, tern_credentials_command, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TERN_TYPE_CREDENTIALS,
                                                      tern_credentials_command_iface_init))

static const char *
command_for_kind (TernCredentialsCommand *self,
                  TernCredentialKind      kind)
{
  switch (kind)
    {
    case TERN_CREDENTIAL_RECEIVING_PASSWORD:
      return self->receiving_command;
    case TERN_CREDENTIAL_SENDING_PASSWORD:
      return self->sending_command;
    case TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN:
    default:
      return NULL;
    }
}

typedef struct
{
  GSubprocess *process;
  GCancellable *cancellable;    /* ours, cancelled on timeout or the caller's cancel */
  GCancellable *caller_cancellable;
  gulong caller_handler;
  GSource *timeout;
  gboolean timed_out;
  pid_t pid;
} Run;

static void
run_free (Run *run)
{
  if (run->timeout != NULL)
    {
      g_source_destroy (run->timeout);
      g_source_unref (run->timeout);
    }
  if (run->caller_cancellable != NULL)
    g_cancellable_disconnect (run->caller_cancellable, run->caller_handler);
  g_clear_object (&run->caller_cancellable);
  g_clear_object (&run->cancellable);
  g_clear_object (&run->process);
  g_free (run);
}

/* Kills the command and whatever it started, so that no helper (a gpg
 * agent prompt, a sleeping pipeline) outlives the lookup. */
static void
run_kill (Run *run)
{
  if (run->pid > 0)
    {
      if (kill (-run->pid, SIGKILL) != 0 && errno != ESRCH)
        g_subprocess_force_exit (run->process);
    }
  g_cancellable_cancel (run->cancellable);
}

static gboolean
run_timed_out_cb (gpointer user_data)
{
  Run *run = user_data;

  run->timed_out = TRUE;
  run_kill (run);
  g_clear_pointer (&run->timeout, g_source_unref);

  return G_SOURCE_REMOVE;
}

static void
caller_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Run *run = user_data;

  /* Runs in the thread that cancelled; killing and cancelling are both
   * safe from any thread. */
  if (run->pid > 0)
    kill (-run->pid, SIGKILL);
  g_cancellable_cancel (run->cancellable);
}

static void
child_setup (gpointer user_data)
{
  /* A process group of its own, so that a timeout kills the pipeline, not
   * only the shell. */
  setpgid (0, 0);
}

static void
wipe_bytes (GBytes *bytes)
{
  gsize size = 0;
  guint8 *data;

  if (bytes == NULL)
    return;

  data = g_bytes_unref_to_data (bytes, &size);
  if (data != NULL)
    explicit_bzero (data, size);
  g_free (data);
}

/* The first line of the command's standard error, bounded, for the error
 * message: it tells why gpg or pass failed and holds no password. */
static char *
first_error_line (GBytes *bytes)
{
  gsize size = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;
  gsize length = 0;
  g_autofree char *line = NULL;

  if (data == NULL)
    return NULL;

  while (length < size && length < 200 && data[length] != '\n' && data[length] != '\0')
    length++;

  line = g_utf8_make_valid (data, length);
  g_strstrip (line);
  if (*line == '\0')
    return NULL;

  return g_steal_pointer (&line);
}

static void
communicate_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernCredentialsCommand *self = g_task_get_source_object (task);
  Run *run = g_task_get_task_data (task);
  GBytes *out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  const char *data;
  gsize size = 0;
  gsize length = 0;
  char *password;

  g_subprocess_communicate_finish (run->process, result, &out, &err, &error);

  if (run->timed_out)
    {
      wipe_bytes (out);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_TIMED_OUT,
                               "the password command did not finish within %u seconds "
                               "and was stopped",
                               MAX (self->timeout_msec / 1000, 1));
      return;
    }

  if (error != NULL)
    {
      wipe_bytes (out);
      if (g_cancellable_is_cancelled (run->caller_cancellable))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                 "the password command was cancelled");
      else
        g_task_return_new_error (task, TERN_CREDENTIALS_ERROR,
                                 TERN_CREDENTIALS_ERROR_COMMAND_FAILED,
                                 "could not read the password command’s output: %s",
                                 error->message);
      return;
    }

  reason = first_error_line (err);

  if (!g_subprocess_get_if_exited (run->process) ||
      g_subprocess_get_exit_status (run->process) != 0)
    {
      g_autofree char *how = NULL;

      wipe_bytes (out);
      if (g_subprocess_get_if_exited (run->process))
        how = g_strdup_printf ("exited with status %d", g_subprocess_get_exit_status (run->process));
      else
        how = g_strdup_printf ("was killed by signal %d", g_subprocess_get_term_sig (run->process));

      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED,
                               "the password command %s%s%s", how,
                               reason != NULL ? ": " : "", reason != NULL ? reason : "");
      return;
    }

  data = out != NULL ? g_bytes_get_data (out, &size) : NULL;
  if (size > TERN_CREDENTIALS_COMMAND_MAX_OUTPUT)
    {
      wipe_bytes (out);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED,
                               "the password command printed more than %d bytes; it should "
                               "print the password on its first line",
                               TERN_CREDENTIALS_COMMAND_MAX_OUTPUT);
      return;
    }

  while (data != NULL && length < size && data[length] != '\n' && data[length] != '\0')
    length++;
  if (length > 0 && data[length - 1] == '\r')
    length--;

  if (length == 0)
    {
      wipe_bytes (out);
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED,
                               "the password command printed no password on its first line%s%s",
                               reason != NULL ? ": " : "", reason != NULL ? reason : "");
      return;
    }

  password = g_strndup (data, length);
  wipe_bytes (out);
  g_task_return_pointer (task, password, (GDestroyNotify) tern_credentials_free_secret);
}

static void
fallback_lookup_done_cb (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *secret = tern_credentials_lookup_finish (TERN_CREDENTIALS (source), result, &error);

  if (secret == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, secret, (GDestroyNotify) tern_credentials_free_secret);
}

static void
command_lookup_async (TernCredentials     *credentials,
                      const char          *account_id,
                      TernCredentialKind   kind,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  TernCredentialsCommand *self = TERN_CREDENTIALS_COMMAND (credentials);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  const char *command = command_for_kind (self, kind);
  const char *identifier;
  Run *run;

  g_task_set_source_tag (task, command_lookup_async);

  if (command == NULL)
    {
      if (self->fallback == NULL)
        {
          g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND,
                                   "no %s is stored for the account “%s”",
                                   tern_credential_kind_to_string (kind), account_id);
          return;
        }

      tern_credentials_lookup_async (self->fallback, account_id, kind, cancellable,
                                     fallback_lookup_done_cb, g_steal_pointer (&task));
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "TERN_ACCOUNT_ID", account_id, TRUE);
  g_subprocess_launcher_setenv (launcher, "TERN_CREDENTIAL_KIND",
                                tern_credential_kind_to_string (kind), TRUE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  run = g_new0 (Run, 1);
  g_task_set_task_data (task, run, (GDestroyNotify) run_free);

  run->process = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", command, NULL);
  if (run->process == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_COMMAND_FAILED,
                               "could not start the password command: %s", error->message);
      return;
    }

  identifier = g_subprocess_get_identifier (run->process);
  run->pid = identifier != NULL ? (pid_t) g_ascii_strtoll (identifier, NULL, 10) : 0;
  run->cancellable = g_cancellable_new ();

  if (cancellable != NULL)
    {
      run->caller_cancellable = g_object_ref (cancellable);
      run->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                   run, NULL);
    }

  run->timeout = g_timeout_source_new (self->timeout_msec);
  g_source_set_callback (run->timeout, run_timed_out_cb, run, NULL);
  g_source_attach (run->timeout, g_task_get_context (task));

  g_subprocess_communicate_async (run->process, NULL, run->cancellable, communicate_done_cb,
                                  g_steal_pointer (&task));
}

static char *
command_lookup_finish (TernCredentials  *credentials,
                       GAsyncResult     *result,
                       GError          **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fallback_boolean_done_cb (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  gboolean done;

  if (GPOINTER_TO_INT (g_task_get_task_data (task)) == 1)
    done = tern_credentials_store_finish (TERN_CREDENTIALS (source), result, &error);
  else
    done = tern_credentials_delete_finish (TERN_CREDENTIALS (source), result, &error);

  if (!done)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
refuse_read_only (TernCredentialsCommand *self,
                  GTask                  *task,
                  TernCredentialKind      kind,
                  const char             *account_id)
{
  if (command_for_kind (self, kind) != NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_READ_ONLY,
                               "the %s of the account “%s” comes from its password command; "
                               "change it where the command reads it",
                               tern_credential_kind_to_string (kind), account_id);
      return TRUE;
    }

  if (self->fallback == NULL)
    {
      g_task_return_new_error (task, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_READ_ONLY,
                               "there is nowhere to keep the %s of the account “%s”",
                               tern_credential_kind_to_string (kind), account_id);
      return TRUE;
    }

  return FALSE;
}

static void
command_store_async (TernCredentials     *credentials,
                     const char          *account_id,
                     TernCredentialKind   kind,
                     const char          *secret,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  TernCredentialsCommand *self = TERN_CREDENTIALS_COMMAND (credentials);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, command_store_async);
  g_task_set_task_data (task, GINT_TO_POINTER (1), NULL);

  if (refuse_read_only (self, task, kind, account_id))
    return;

  tern_credentials_store_async (self->fallback, account_id, kind, secret, cancellable,
                                fallback_boolean_done_cb, g_steal_pointer (&task));
}

static gboolean
command_finish_boolean (TernCredentials  *credentials,
                        GAsyncResult     *result,
                        GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
command_delete_async (TernCredentials     *credentials,
                      const char          *account_id,
                      TernCredentialKind   kind,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  TernCredentialsCommand *self = TERN_CREDENTIALS_COMMAND (credentials);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, command_delete_async);
  g_task_set_task_data (task, GINT_TO_POINTER (2), NULL);

  if (refuse_read_only (self, task, kind, account_id))
    return;

  tern_credentials_delete_async (self->fallback, account_id, kind, cancellable,
                                 fallback_boolean_done_cb, g_steal_pointer (&task));
}

static void
tern_credentials_command_iface_init (TernCredentialsInterface *iface)
{
  iface->lookup_async = command_lookup_async;
  iface->lookup_finish = command_lookup_finish;
  iface->store_async = command_store_async;
  iface->store_finish = command_finish_boolean;
  iface->delete_async = command_delete_async;
  iface->delete_finish = command_finish_boolean;
}

static void
tern_credentials_command_finalize (GObject *object)
{
  TernCredentialsCommand *self = TERN_CREDENTIALS_COMMAND (object);

  g_clear_pointer (&self->receiving_command, g_free);
  g_clear_pointer (&self->sending_command, g_free);
  g_clear_object (&self->fallback);

  G_OBJECT_CLASS (tern_credentials_command_parent_class)->finalize (object);
}

static void
tern_credentials_command_class_init (TernCredentialsCommandClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_credentials_command_finalize;
}

static void
tern_credentials_command_init (TernCredentialsCommand *self)
{
  self->timeout_msec = TERN_CREDENTIALS_COMMAND_DEFAULT_TIMEOUT_MSEC;
}

/**
 * tern_credentials_command_new:
 * @receiving_command: (nullable): the command that prints the receiving
 *   server's password
 * @sending_command: (nullable): the command that prints the sending
 *   server's password
 * @fallback: (nullable): where secrets without a command are found and
 *   kept (usually the keyring)
 *
 * Returns: (transfer full): a provider that runs the account's password
 *   commands.
 */
TernCredentials *
tern_credentials_command_new (const char      *receiving_command,
                              const char      *sending_command,
                              TernCredentials *fallback)
{
  TernCredentialsCommand *self = g_object_new (TERN_TYPE_CREDENTIALS_COMMAND, NULL);

  g_return_val_if_fail (fallback == NULL || TERN_IS_CREDENTIALS (fallback), NULL);

  if (receiving_command != NULL && *receiving_command != '\0')
    self->receiving_command = g_strdup (receiving_command);
  if (sending_command != NULL && *sending_command != '\0')
    self->sending_command = g_strdup (sending_command);
  if (fallback != NULL)
    self->fallback = g_object_ref (fallback);

  return TERN_CREDENTIALS (self);
}

/**
 * tern_credentials_command_set_timeout:
 * @msec: how long a command may run, in milliseconds (at least 1)
 */
void
tern_credentials_command_set_timeout (TernCredentialsCommand *self,
                                      guint                   msec)
{
  g_return_if_fail (TERN_IS_CREDENTIALS_COMMAND (self));

  self->timeout_msec = MAX (msec, 1);
}
