/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdlib.h>

#include "tern-account-manager.h"
#include "tern-cli.h"
#include "tern-credentials-secret.h"
#include "tern-credentials.h"
#include "tern-imap-sync.h"
#include "tern-message-flags.h"
#include "tern-store-sync.h"
#include "tern-trust.h"

/*
 * The IMAP commands: sync, watch, flag, unflag, read, unread, move,
 * delete, quota, archive.  Accounts come from the profile's config folder,
 * passwords through the account's credentials (its password command, else
 * the keyring).
 */

static int
fail (const char   *command,
      const GError *error)
{
  g_printerr ("tern-cli %s: %s\n", command, error->message);
  return TERN_CLI_EXIT_FAILURE;
}

/* The profile's accounts; files with problems are named on stderr and
 * left out. */
static GPtrArray *
load_accounts (TernCliContext  *context,
               GError         **error)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  GPtrArray *accounts;
  guint n;

  manager = tern_account_manager_new (tern_paths_get_config_dir (context->paths));
  problems = tern_account_manager_load (manager, error);
  if (problems == NULL)
    return NULL;
  for (guint i = 0; i < problems->len; i++)
    g_printerr ("tern-cli: %s\n", ((GError *) g_ptr_array_index (problems, i))->message);

  accounts = g_ptr_array_new_with_free_func (g_object_unref);
  n = g_list_model_get_n_items (G_LIST_MODEL (manager));
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (accounts, g_list_model_get_item (G_LIST_MODEL (manager), i));

  return accounts;
}

static TernAccount *
find_account (GPtrArray  *accounts,
              const char *id)
{
  for (guint i = 0; i < accounts->len; i++)
    {
      TernAccount *account = g_ptr_array_index (accounts, i);

      if (g_strcmp0 (tern_account_get_id (account), id) == 0)
        return account;
    }

  return NULL;
}

static TernConnectionSecurity
connection_security (TernSecurity security)
{
  switch (security)
    {
    case TERN_SECURITY_STARTTLS:
      return TERN_CONNECTION_SECURITY_STARTTLS;
    case TERN_SECURITY_NONE:
      return TERN_CONNECTION_SECURITY_NONE;
    case TERN_SECURITY_TLS:
    default:
      return TERN_CONNECTION_SECURITY_TLS;
    }
}

/* A sync for @account, with its server, login and password. */
static TernImapSync *
new_sync (TernCliContext  *context,
          TernAccount     *account,
          GError         **error)
{
  g_autoptr(TernCredentials) keyring = tern_credentials_secret_new ();
  g_autoptr(TernCredentials) credentials = tern_credentials_for_account (account, keyring);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  TernStore *store;
  char *password;

  if (tern_account_get_receiving_protocol (account) != TERN_RECEIVING_PROTOCOL_IMAP)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_UNSUPPORTED,
                   _("The account “%s” does not use IMAP"), tern_account_get_id (account));
      return NULL;
    }

  store = tern_cli_open_store (context, error);
  if (store == NULL)
    return NULL;

  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2)
    {
      password = tern_cli_lookup_secret (account, TERN_CREDENTIAL_RECEIVING_PASSWORD, error);
      if (password == NULL)
        return NULL;
    }
  else
    {
      tern_credentials_lookup_async (credentials, tern_account_get_id (account),
                                     TERN_CREDENTIAL_RECEIVING_PASSWORD, NULL,
                                     tern_cli_got_result, &result);
      password = tern_credentials_lookup_finish (credentials, tern_cli_wait (&result), error);
    }
  if (password == NULL)
    {
      g_prefix_error (error, _("No password for “%s”: "), tern_account_get_id (account));
      return NULL;
    }

  sync = tern_imap_sync_new (store, tern_account_get_id (account));
  tern_imap_sync_set_server (sync, tern_account_get_receiving_host (account),
                             tern_account_get_receiving_port (account),
                             connection_security (tern_account_get_receiving_security (account)));
  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2)
    tern_imap_sync_set_oauth2_login (sync, tern_account_get_receiving_username (account),
                                     password);
  else
    tern_imap_sync_set_login (sync, tern_account_get_receiving_username (account), password);

  /* A certificate the user accepted with "tern-cli trust". */
  {
    g_autoptr(TernTrustStore) trust = tern_trust_store_new (tern_paths_get_config_dir (context->paths));
    g_autoptr(GError) trust_error = NULL;

    if (tern_trust_store_load (trust, &trust_error))
      tern_imap_sync_set_pinned_certificate (sync,
                                             tern_trust_store_lookup (trust,
                                                                      tern_account_get_receiving_host (account),
                                                                      tern_account_get_receiving_port (account)));
    else
      g_printerr ("tern-cli: %s\n", trust_error->message);
  }
  /* OfflineDays=0 in an account file means all of the mail. */
  tern_imap_sync_set_offline_days (sync, tern_account_get_offline_days (account));
  tern_imap_sync_set_all_bodies (sync, tern_account_get_offline_days (account) == 0);
  tern_credentials_free_secret (password);

  return g_steal_pointer (&sync);
}

static TernImapSync *
sync_for_account_id (TernCliContext  *context,
                     const char      *id,
                     GError         **error)
{
  g_autoptr(GPtrArray) accounts = load_accounts (context, error);
  TernAccount *account;

  if (accounts == NULL)
    return NULL;

  account = find_account (accounts, id);
  if (account == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   _("There is no account “%s”"), id);
      return NULL;
    }

  return new_sync (context, account, error);
}

/* sync */

int
tern_cli_command_sync (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  g_autofree char *folder = NULL;
  g_autoptr(GPtrArray) accounts = NULL;
  g_autoptr(GError) error = NULL;
  gboolean bodies = FALSE;
  guint synced = 0;
  const GOptionEntry entries[] = {
    { "folder", 'f', 0, G_OPTION_ARG_STRING, &folder, N_("Sync only this folder"),
      N_("FOLDER") },
    { "bodies", 'b', 0, G_OPTION_ARG_NONE, &bodies,
      N_("Fetch every message’s body, not only the recent ones"), NULL },
    { NULL }
  };

  if (!tern_cli_parse ("sync", _("[ACCOUNT]"), _("Bring IMAP accounts up to date"), entries,
                       &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc > 2)
    {
      g_printerr (_("tern-cli sync: give at most one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  accounts = load_accounts (context, &error);
  if (accounts == NULL)
    return fail ("sync", error);

  for (guint i = 0; i < accounts->len; i++)
    {
      TernAccount *account = g_ptr_array_index (accounts, i);
      g_autoptr(TernImapSync) sync = NULL;
      TernImapSyncStats stats = { 0 };
      gint64 started;

      if (argc == 2 ? g_strcmp0 (tern_account_get_id (account), argv[1]) != 0
                    : (!tern_account_get_enabled (account) ||
                       tern_account_get_receiving_protocol (account) !=
                       TERN_RECEIVING_PROTOCOL_IMAP))
        continue;

      sync = new_sync (context, account, &error);
      if (sync == NULL)
        return fail ("sync", error);
      if (bodies)
        tern_imap_sync_set_all_bodies (sync, TRUE);

      started = g_get_monotonic_time ();
      if (!tern_imap_sync_run (sync, folder, &stats, NULL, &error))
        return fail ("sync", error);
      tern_imap_sync_disconnect (sync);

      g_print (_("%s: %u folders, %u new, %u changed, %u removed, %u bodies, %u actions replayed "
                 "(%u failed) in %.2f s\n"),
               tern_account_get_id (account), stats.folders, stats.new_messages,
               stats.flag_changes, stats.expunged, stats.bodies, stats.actions_replayed,
               stats.actions_failed, (g_get_monotonic_time () - started) / 1e6);
      synced++;
    }

  if (argc == 2 && synced == 0)
    {
      g_printerr (_("tern-cli sync: there is no account “%s”\n"), argv[1]);
      return TERN_CLI_EXIT_FAILURE;
    }

  return TERN_CLI_EXIT_OK;
}

/* watch */

static gboolean
interrupted_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  TernStore *store;
} WatchData;

static void
new_mail_cb (const char *path,
             GArray     *ids,
             gpointer    user_data)
{
  WatchData *data = user_data;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) messages = NULL;

  tern_store_get_messages_async (data->store, ids, NULL, tern_cli_got_result, &result);
  messages = tern_store_get_messages_finish (data->store, tern_cli_wait (&result), NULL);

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      TernMessage *message = g_ptr_array_index (messages, i);

      g_print ("%s\t%" G_GINT64_FORMAT "\t%s\t%s\n", path, tern_message_get_id (message),
               tern_message_get_from_address (message), tern_message_get_subject (message));
    }
}

int
tern_cli_command_watch (TernCliContext  *context,
                        int              argc,
                        char           **argv)
{
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  WatchData data = { 0 };
  guint sigint;
  guint sigterm;
  const GOptionEntry entries[] = { { NULL } };

  if (!tern_cli_parse ("watch", _("ACCOUNT"),
                       _("Wait for new mail in the INBOX and print it as it arrives"), entries,
                       &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli watch: give one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  sync = sync_for_account_id (context, argv[1], &error);
  if (sync == NULL)
    return fail ("watch", error);
  data.store = context->store;

  sigint = g_unix_signal_add (SIGINT, interrupted_cb, cancellable);
  sigterm = g_unix_signal_add (SIGTERM, interrupted_cb, cancellable);
  tern_imap_sync_watch (sync, new_mail_cb, &data, cancellable, &error);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  tern_imap_sync_disconnect (sync);

  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return fail ("watch", error);

  return TERN_CLI_EXIT_OK;
}

/* flag, unflag, read, unread, move, delete */

static gboolean
parse_ids (const char  *command,
           int          argc,
           char       **argv,
           GArray      *ids)
{
  for (int i = 1; i < argc; i++)
    {
      char *end = NULL;
      gint64 id = g_ascii_strtoll (argv[i], &end, 10);

      if (end == argv[i] || *end != '\0' || id <= 0)
        {
          g_printerr (_("tern-cli %s: “%s” is not a message id\n"), command, argv[i]);
          return FALSE;
        }
      g_array_append_val (ids, id);
    }

  if (ids->len == 0)
    {
      g_printerr (_("tern-cli %s: give the ids of the messages\n"), command);
      return FALSE;
    }

  return TRUE;
}

/* The folders and accounts of @ids, read from the store. */
static GPtrArray *
folders_of_ids (TernStore  *store,
                GArray     *ids,
                GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  GPtrArray *found = g_ptr_array_new ();

  tern_store_get_messages_async (store, ids, NULL, tern_cli_got_result, &result);
  messages = tern_store_get_messages_finish (store, tern_cli_wait (&result), error);
  if (messages == NULL)
    {
      g_ptr_array_unref (found);
      return NULL;
    }
  if (messages->len != ids->len)
    {
      g_ptr_array_unref (found);
      g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                   _("Some of these messages are not in the store"));
      return NULL;
    }

  tern_store_list_sync_folders_async (store, NULL, NULL, tern_cli_got_result, &listed);
  folders = tern_store_list_sync_folders_finish (store, tern_cli_wait (&listed), error);
  if (folders == NULL)
    {
      g_ptr_array_unref (found);
      return NULL;
    }

  g_ptr_array_set_free_func (found, (GDestroyNotify) tern_sync_folder_free);
  for (guint i = 0; i < messages->len; i++)
    {
      gint64 folder_id = tern_message_get_folder_id (g_ptr_array_index (messages, i));

      for (guint j = 0; j < folders->len; j++)
        {
          TernSyncFolder *folder = g_ptr_array_index (folders, j);

          if (folder->id == folder_id)
            {
              g_ptr_array_add (found, g_ptr_array_steal_index (folders, j));
              break;
            }
        }
    }

  return found;
}

static TernSyncFolder *
folder_with_role (TernStore       *store,
                  const char      *account,
                  TernFolderRole   role,
                  const char      *path,
                  GError         **error)
{
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GPtrArray) folders = NULL;

  tern_store_list_sync_folders_async (store, account, NULL, tern_cli_got_result, &listed);
  folders = tern_store_list_sync_folders_finish (store, tern_cli_wait (&listed), error);
  if (folders == NULL)
    return NULL;

  for (guint i = 0; i < folders->len; i++)
    {
      TernSyncFolder *folder = g_ptr_array_index (folders, i);

      if (path != NULL ? g_strcmp0 (folder->path, path) == 0
                       : (folder->role == role && folder->remote_name != NULL))
        return g_ptr_array_steal_index (folders, i);
    }

  if (path != NULL)
    g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
                 _("The account “%s” has no folder “%s”"), account, path);
  return NULL;
}

/* Replays the queued actions of @account at once; when that fails (no
 * network), they stay queued for the next sync. */
static void
try_replay (TernCliContext *context,
            const char     *account,
            const char     *command,
            gboolean        offline)
{
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(GError) error = NULL;

  if (offline || g_strcmp0 (account, TERN_LOCAL_ACCOUNT) == 0)
    return;

  sync = sync_for_account_id (context, account, &error);
  if (sync == NULL || !tern_imap_sync_replay (sync, NULL, NULL, &error))
    {
      g_printerr (_("tern-cli %s: done here; the server gets it at the next sync (%s)\n"),
                  command, error->message);
      return;
    }
  tern_imap_sync_disconnect (sync);
}

static int
run_action (TernCliContext *context,
            const char     *command,
            int             argc,
            char          **argv)
{
  g_autofree char *target_path = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(TernSyncFolder) target = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean offline = FALSE;
  TernActionKind kind = TERN_ACTION_SET_FLAGS;
  const char *account;
  TernStore *store;
  guint add = 0;
  guint remove = 0;
  const GOptionEntry move_entries[] = {
    { "to", 't', 0, G_OPTION_ARG_STRING, &target_path, N_("The folder to move to"),
      N_("FOLDER") },
    { "offline", 0, 0, G_OPTION_ARG_NONE, &offline,
      N_("Only queue the change for the next sync"), NULL },
    { NULL }
  };
  const GOptionEntry entries[] = {
    { "offline", 0, 0, G_OPTION_ARG_NONE, &offline,
      N_("Only queue the change for the next sync"), NULL },
    { NULL }
  };
  gboolean is_move = g_str_equal (command, "move");

  if (!tern_cli_parse (command, is_move ? _("ID… --to FOLDER") : _("ID…"),
                       _("Change messages here at once, and on their server"),
                       is_move ? move_entries : entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (!parse_ids (command, argc, argv, ids))
    return TERN_CLI_EXIT_USAGE;
  if (is_move && target_path == NULL)
    {
      g_printerr (_("tern-cli move: say where with --to FOLDER\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  store = tern_cli_open_store (context, &error);
  if (store == NULL)
    return fail (command, error);
  folders = folders_of_ids (store, ids, &error);
  if (folders == NULL)
    return fail (command, error);
  account = ((TernSyncFolder *) g_ptr_array_index (folders, 0))->account;
  for (guint i = 1; i < folders->len; i++)
    {
      if (g_strcmp0 (((TernSyncFolder *) g_ptr_array_index (folders, i))->account, account) != 0)
        {
          g_printerr (_("tern-cli %s: give messages of one account at a time\n"), command);
          return TERN_CLI_EXIT_USAGE;
        }
    }

  if (g_str_equal (command, "flag"))
    add = TERN_MESSAGE_FLAG_FLAGGED;
  else if (g_str_equal (command, "unflag"))
    remove = TERN_MESSAGE_FLAG_FLAGGED;
  else if (g_str_equal (command, "read"))
    add = TERN_MESSAGE_FLAG_SEEN;
  else if (g_str_equal (command, "unread"))
    remove = TERN_MESSAGE_FLAG_SEEN;
  else if (is_move)
    {
      kind = TERN_ACTION_MOVE;
      target = folder_with_role (store, account, TERN_FOLDER_ROLE_NONE, target_path, &error);
      if (target == NULL)
        return fail (command, error);
    }
  else
    {
      TernSyncFolder *first = g_ptr_array_index (folders, 0);

      /* Deleting moves to the Trash; what is in the Trash goes for good. */
      kind = TERN_ACTION_DELETE;
      target = folder_with_role (store, account, TERN_FOLDER_ROLE_TRASH, NULL, NULL);
      if (target != NULL && first->id != target->id)
        kind = TERN_ACTION_MOVE;
      else
        g_clear_pointer (&target, tern_sync_folder_free);
    }

  tern_store_queue_action_async (store, kind, ids, target != NULL ? target->id : 0, add, remove,
                                 NULL, tern_cli_got_result, &result);
  tern_store_queue_action_finish (store, tern_cli_wait (&result), &error);
  if (error != NULL)
    return fail (command, error);

  try_replay (context, account, command, offline);
  return TERN_CLI_EXIT_OK;
}

int
tern_cli_command_flag (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  return run_action (context, "flag", argc, argv);
}

int
tern_cli_command_unflag (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  return run_action (context, "unflag", argc, argv);
}

int
tern_cli_command_read (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  return run_action (context, "read", argc, argv);
}

int
tern_cli_command_unread (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  return run_action (context, "unread", argc, argv);
}

int
tern_cli_command_move (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  return run_action (context, "move", argc, argv);
}

int
tern_cli_command_delete (TernCliContext  *context,
                         int              argc,
                         char           **argv)
{
  return run_action (context, "delete", argc, argv);
}

/* quota */

int
tern_cli_command_quota (TernCliContext  *context,
                        int              argc,
                        char           **argv)
{
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(GError) error = NULL;
  guint64 used = 0;
  guint64 limit = 0;
  const GOptionEntry entries[] = { { NULL } };

  if (!tern_cli_parse ("quota", _("ACCOUNT"), _("Show how full the account’s server is"),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("tern-cli quota: give one account\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  sync = sync_for_account_id (context, argv[1], &error);
  if (sync == NULL || !tern_imap_sync_get_quota (sync, &used, &limit, NULL, &error))
    return fail ("quota", error);
  tern_imap_sync_disconnect (sync);

  g_print (_("%s: %.1f MB of %.1f MB used (%.0f%%)\n"), argv[1], used / 1024.0, limit / 1024.0,
           limit > 0 ? 100.0 * used / limit : 0.0);
  return TERN_CLI_EXIT_OK;
}

/* archive */

int
tern_cli_command_archive (TernCliContext  *context,
                          int              argc,
                          char           **argv)
{
  g_autofree char *folder = NULL;
  g_autofree char *local = NULL;
  g_autoptr(TernImapSync) sync = NULL;
  g_autoptr(TernFolder) target = NULL;
  g_autoptr(GError) error = NULL;
  int days = -1;
  guint moved = 0;
  const GOptionEntry entries[] = {
    { "folder", 'f', 0, G_OPTION_ARG_STRING, &folder, N_("The server folder"), N_("FOLDER") },
    { "older-than", 'o', 0, G_OPTION_ARG_INT, &days, N_("Move mail older than DAYS days"),
      N_("DAYS") },
    { "to", 't', 0, G_OPTION_ARG_STRING, &local, N_("The folder on this computer"),
      N_("LOCALFOLDER") },
    { NULL }
  };

  if (!tern_cli_parse ("archive", _("ACCOUNT --folder F --older-than DAYS --to LOCALFOLDER"),
                       _("Move old mail from the server to a folder on this computer"), entries,
                       &argc, &argv))
    return TERN_CLI_EXIT_USAGE;
  if (argc != 2 || folder == NULL || local == NULL || days < 0)
    {
      g_printerr (_("tern-cli archive: give an account, --folder, --older-than and --to\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  sync = sync_for_account_id (context, argv[1], &error);
  if (sync == NULL)
    return fail ("archive", error);
  target = tern_cli_find_folder (context, local, TRUE, &error);
  if (target == NULL)
    return fail ("archive", error);
  if (g_strcmp0 (tern_folder_get_account (target), TERN_LOCAL_ACCOUNT) != 0)
    {
      g_printerr (_("tern-cli archive: “%s” is not a folder on this computer\n"), local);
      return TERN_CLI_EXIT_USAGE;
    }

  if (!tern_imap_sync_archive (sync, folder, days, tern_folder_get_id (target), &moved, NULL,
                               &error))
    {
      g_printerr (_("tern-cli archive: %u messages were moved before: %s\n"), moved,
                  error->message);
      return TERN_CLI_EXIT_FAILURE;
    }
  tern_imap_sync_disconnect (sync);

  g_print (_("%u messages moved to “%s” on this computer\n"), moved, local);
  return TERN_CLI_EXIT_OK;
}
