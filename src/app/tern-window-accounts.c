/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-account-manager.h"
#include "tern-application.h"
#include "tern-composer.h"
#include "tern-mail-service.h"
#include "tern-window-private.h"

/*
 * The window follows the accounts' files.  tern-cli, or a person with an
 * editor, may add, change or remove an account while Tern runs; the
 * window then reads the accounts again: the sidebar shows them as they
 * are, a changed account gets its mail and sends with its new settings,
 * an added one starts getting mail and a removed one stops.
 *
 * What the app itself saves goes the same way, once: the digest of each
 * file is kept as the app last went by it, and a file whose digest did
 * not change is left alone.
 */

/* A burst of changes (a file written through a temporary file and a
 * rename) is read once, when it has settled. */
#define SETTLE_MS 300

static void
restarted_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(TernAccount) account = user_data;

  tern_mail_service_remove_account_finish (TERN_MAIL_SERVICE (source), result, NULL);
  tern_mail_service_add_account (TERN_MAIL_SERVICE (source), account);
}

static void
removed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  tern_mail_service_remove_account_finish (TERN_MAIL_SERVICE (source), result, NULL);
}

/* The app goes by @account as its file is now. */
static void
take_account (TernWindow  *self,
              TernAccount *account,
              gboolean     known)
{
  const char *digest = tern_account_get_file_digest (account);

  g_hash_table_replace (self->account_digests, g_strdup (tern_account_get_id (account)),
                        g_strdup (digest != NULL ? digest : ""));
  if (self->mail_service != NULL)
    {
      if (known)
        tern_mail_service_remove_account_async (self->mail_service,
                                                tern_account_get_id (account), restarted_cb,
                                                g_object_ref (account));
      else
        tern_mail_service_add_account (self->mail_service, account);
    }
  tern_composer_update_sender (self, account);
}

static TernAccountManager *
load_accounts (TernWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));
  TernAccountManager *manager;

  if (application == NULL)
    return NULL;
  manager = tern_account_manager_new (tern_paths_get_config_dir (
    tern_application_get_paths (TERN_APPLICATION (application))));
  /* A file that does not load is told by the sidebar's reading. */
  g_ptr_array_unref (tern_account_manager_load (manager, NULL));
  return manager;
}

static gboolean
settled_cb (gpointer user_data)
{
  TernWindow *self = user_data;
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer id;
  gboolean any = FALSE;

  self->accounts_settle = 0;
  manager = load_accounts (self);
  if (manager == NULL)
    return G_SOURCE_REMOVE;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (manager)); i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);
      const char *digest = tern_account_get_file_digest (account);
      const char *known = g_hash_table_lookup (self->account_digests,
                                               tern_account_get_id (account));

      g_hash_table_add (seen, (gpointer) tern_account_get_id (account));
      if (g_strcmp0 (known, digest != NULL ? digest : "") == 0)
        continue;
      g_debug ("The file of account “%s” changed on disk", tern_account_get_id (account));
      take_account (self, account, known != NULL);
      any = TRUE;
    }

  g_hash_table_iter_init (&iter, self->account_digests);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    if (!g_hash_table_contains (seen, id))
      g_ptr_array_add (gone, g_strdup (id));
  for (guint i = 0; i < gone->len; i++)
    {
      g_debug ("The file of account “%s” is gone", (const char *) gone->pdata[i]);
      if (self->mail_service != NULL)
        tern_mail_service_remove_account_async (self->mail_service, gone->pdata[i], removed_cb,
                                                NULL);
      g_hash_table_remove (self->account_digests, gone->pdata[i]);
      any = TRUE;
    }

  if (any)
    tern_window_reload_accounts (self);
  return G_SOURCE_REMOVE;
}

static void
accounts_changed_cb (GFileMonitor      *monitor,
                     GFile             *file,
                     GFile             *other,
                     GFileMonitorEvent  event,
                     gpointer           user_data)
{
  TernWindow *self = user_data;

  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
    return;
  g_clear_handle_id (&self->accounts_settle, g_source_remove);
  self->accounts_settle = g_timeout_add (SETTLE_MS, settled_cb, self);
}

/**
 * tern_window_watch_accounts:
 *
 * Follows the accounts' files from now on, as they are now.
 */
void
tern_window_watch_accounts (TernWindow *self)
{
  g_autoptr(TernAccountManager) manager = load_accounts (self);
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GError) error = NULL;

  if (manager == NULL || self->accounts_monitor != NULL)
    return;

  self->account_digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (manager)); i++)
    {
      g_autoptr(TernAccount) account = g_list_model_get_item (G_LIST_MODEL (manager), i);
      const char *digest = tern_account_get_file_digest (account);

      g_hash_table_replace (self->account_digests, g_strdup (tern_account_get_id (account)),
                            g_strdup (digest != NULL ? digest : ""));
    }

  /* The folder may not be there yet: its parent's monitor would not see
   * files in it, so the folder is made, as the first account would. */
  folder = g_file_new_for_path (tern_account_manager_get_accounts_dir (manager));
  if (!g_file_make_directory_with_parents (folder, NULL, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_warning ("Changes to the accounts made by other programs will not be seen: %s",
                 error->message);
      return;
    }
  g_clear_error (&error);
  self->accounts_monitor = g_file_monitor_directory (folder, G_FILE_MONITOR_WATCH_MOVES, NULL,
                                                     &error);
  if (self->accounts_monitor == NULL)
    {
      g_warning ("Changes to the accounts made by other programs will not be seen: %s",
                 error->message);
      return;
    }
  g_signal_connect (self->accounts_monitor, "changed", G_CALLBACK (accounts_changed_cb), self);
}

/**
 * tern_window_unwatch_accounts:
 *
 * Stops following the accounts' files.
 */
void
tern_window_unwatch_accounts (TernWindow *self)
{
  g_clear_handle_id (&self->accounts_settle, g_source_remove);
  if (self->accounts_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->accounts_monitor, self);
      g_file_monitor_cancel (self->accounts_monitor);
      g_clear_object (&self->accounts_monitor);
    }
  g_clear_pointer (&self->account_digests, g_hash_table_unref);
}

/**
 * tern_window_account_saved:
 * @account: an account the app has just saved
 *
 * Has the app go by @account as saved: the sidebar, getting its mail,
 * sending.
 */
void
tern_window_account_saved (TernWindow  *self,
                           TernAccount *account)
{
  g_return_if_fail (TERN_IS_WINDOW (self));
  g_return_if_fail (TERN_IS_ACCOUNT (account));

  if (self->account_digests == NULL)
    self->account_digests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  tern_window_reload_accounts (self);
  take_account (self, account, TRUE);
}
