/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-account-manager.h"
#include "tern-account-removal.h"
#include "tern-application.h"
#include "tern-credentials-secret.h"

/*
 * Removing an account from the account's menu: a dialog says what goes
 * (its settings, its passwords in the keyring, and the mail Tern keeps of
 * it on this computer; the mail on the server stays) and asks.  Then the
 * mail service stops getting its mail, the store forgets its folders,
 * mail, unsent mail and queued changes, its file goes, and last its
 * passwords.  A step that fails stops there and says so: the account is
 * still listed as long as its file is there.
 */

typedef struct
{
  TernWindow *window;
  TernStore *store;
  TernMailService *service;
  char *account_id;
  char *name;
  char *config_dir;
} Removal;

static void
removal_free (Removal *removal)
{
  g_object_unref (removal->window);
  g_object_unref (removal->store);
  g_object_unref (removal->service);
  g_free (removal->account_id);
  g_free (removal->name);
  g_free (removal->config_dir);
  g_free (removal);
}

static void
failed (Removal      *removal,
        const GError *error)
{
  g_autofree char *text = g_strdup_printf (_("Could not remove %s: %s"), removal->name,
                                           error->message);

  tern_window_show_toast (removal->window, text);
  removal_free (removal);
}

static void
passwords_forgotten_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Removal *removal = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (!tern_credentials_forget_account_finish (TERN_CREDENTIALS (source), result, &error))
    text = g_strdup_printf (_("Removed %s, but its passwords may still be in the keyring: %s"),
                            removal->name, error->message);
  else
    text = g_strdup_printf (_("Removed %s"), removal->name);
  tern_window_show_toast (removal->window, text);
  removal_free (removal);
}

static void
forgotten_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Removal *removal = user_data;
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(TernAccount) account = NULL;
  g_autoptr(GError) error = NULL;

  if (!tern_store_forget_account_finish (TERN_STORE (source), result, &error))
    {
      failed (removal, error);
      return;
    }

  manager = tern_account_manager_new (removal->config_dir);
  problems = tern_account_manager_load (manager, &error);
  if (problems != NULL && tern_account_manager_lookup (manager, removal->account_id) != NULL)
    account = g_object_ref (tern_account_manager_lookup (manager, removal->account_id));
  if (account == NULL)
    {
      if (error == NULL)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("its settings are gone"));
      failed (removal, error);
      return;
    }
  if (!tern_account_manager_remove (manager, account, &error))
    {
      failed (removal, error);
      return;
    }
  tern_window_reload_accounts (removal->window);

  /* An account whose passwords come from commands has none in the
   * keyring. */
  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_PASSWORD &&
      tern_account_get_receiving_password_command (account) != NULL &&
      (tern_account_get_sending_host (account) == NULL ||
       tern_account_get_sending_password_command (account) != NULL))
    {
      g_autofree char *text = g_strdup_printf (_("Removed %s"), removal->name);

      tern_window_show_toast (removal->window, text);
      removal_free (removal);
      return;
    }

  keyring = tern_credentials_secret_new ();
  tern_credentials_forget_account_async (keyring, account, NULL, passwords_forgotten_cb,
                                         removal);
}

static void
stopped_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Removal *removal = user_data;
  g_autoptr(GError) error = NULL;

  if (!tern_mail_service_remove_account_finish (TERN_MAIL_SERVICE (source), result, &error))
    {
      failed (removal, error);
      return;
    }

  tern_store_forget_account_async (removal->store, removal->account_id, NULL, forgotten_cb,
                                   removal);
}

static void
response_cb (AdwMessageDialog *dialog,
             const char       *response,
             Removal          *removal)
{
  if (!g_str_equal (response, "remove"))
    {
      removal_free (removal);
      return;
    }

  tern_mail_service_remove_account_async (removal->service, removal->account_id, stopped_cb,
                                          removal);
}

/**
 * tern_account_removal_present:
 * @account_id: the account to remove
 *
 * Asks whether to remove the account, and removes it when the user says
 * so.
 */
void
tern_account_removal_present (TernWindow      *window,
                              TernStore       *store,
                              TernMailService *service,
                              const char      *account_id)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (window));
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *heading = NULL;
  TernAccount *account;
  TernIdentity *identity;
  AdwMessageDialog *dialog;
  Removal *removal;

  g_return_if_fail (TERN_IS_WINDOW (window));
  g_return_if_fail (account_id != NULL);

  if (application == NULL)
    return;

  removal = g_new0 (Removal, 1);
  removal->window = g_object_ref (window);
  removal->store = g_object_ref (store);
  removal->service = g_object_ref (service);
  removal->account_id = g_strdup (account_id);
  removal->config_dir = g_strdup (tern_paths_get_config_dir (
    tern_application_get_paths (TERN_APPLICATION (application))));

  manager = tern_account_manager_new (removal->config_dir);
  problems = tern_account_manager_load (manager, NULL);
  account = tern_account_manager_lookup (manager, account_id);
  identity = account != NULL ? tern_account_get_default_identity (account) : NULL;
  removal->name = g_strdup (identity != NULL ? tern_identity_get_address (identity) : account_id);

  /* Translators: the heading of the dialog that removes an account */
  heading = g_strdup_printf (_("Remove %s?"), removal->name);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (
    GTK_WINDOW (window), heading,
    _("Its settings and passwords, and the mail Tern keeps of it on this computer, are "
      "deleted, with its unsent mail. The mail on the server stays.")));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect (dialog, "response", G_CALLBACK (response_cb), removal);
  gtk_window_present (GTK_WINDOW (dialog));
}
