/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-account-manager.h"
#include "tern-account-verify.h"
#include "tern-autoconfig.h"
#include "tern-certificate-dialog.h"
#include "tern-credentials-secret.h"
#include "tern-oauth2.h"
#include "tern-setup-assistant.h"
#include "tern-trust.h"

/*
 * The account set-up assistant: the address, name and password; then the
 * servers, found automatically or given by hand; then a login to both
 * servers; then the account is saved, with its password in the keyring.
 *
 * Settings from a source that could have been forged (plain HTTP, DNS) are
 * shown on the "found" page and wait for the user before any password
 * leaves the computer.  A certificate that does not validate is shown in a
 * dialog; trusting it pins it to its host and port and logs in again.
 */

struct _TernSetupAssistant
{
  AdwWindow parent_instance;

  /* Template children */
  AdwWindowTitle       *window_title;
  GtkWidget            *back_button;
  GtkWidget            *next_button;
  GtkRevealer          *error_revealer;
  GtkLabel             *error_label;
  GtkStack             *stack;
  AdwEntryRow          *name_row;
  AdwEntryRow          *address_row;
  AdwEntryRow          *password_row;
  AdwStatusPage        *busy_page;
  GtkSpinner           *spinner;
  AdwPreferencesGroup  *found_group;
  AdwActionRow         *found_source_row;
  AdwActionRow         *found_receiving_row;
  AdwActionRow         *found_sending_row;
  GtkCheckButton       *imap_check;
  GtkCheckButton       *pop3_check;
  GtkWidget            *leave_row;
  GtkSwitch            *leave_switch;
  GtkWidget            *days_row;
  GtkSpinButton        *days_spin;
  AdwEntryRow          *receiving_host_row;
  AdwComboRow          *receiving_security_row;
  AdwEntryRow          *receiving_port_row;
  AdwEntryRow          *receiving_user_row;
  AdwEntryRow          *sending_host_row;
  AdwComboRow          *sending_security_row;
  AdwEntryRow          *sending_port_row;
  AdwEntryRow          *sending_user_row;
  AdwStatusPage        *done_page;

  TernPaths            *paths;
  TernTrustStore       *trust;
  GCancellable         *cancellable;

  /* The settings found for found_for, shown on the "found" page. */
  TernAutoconfigResult *found;
  char                 *found_for;
  /* The page whose settings are logged in with: "found" or "manual". */
  const char           *settings_page;
  /* The account being verified, not yet saved. */
  TernAccount          *account;
  /* Servers whose certificate is looked at after a certificate error. */
  guint                 trust_step;
  /* The secret being written to the keyring. */
  TernCredentialKind    storing;
};

G_DEFINE_FINAL_TYPE (TernSetupAssistant, tern_setup_assistant, ADW_TYPE_WINDOW)

enum {
  SIGNAL_ACCOUNT_ADDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void    start_verify (TernSetupAssistant *self);
static guint16 get_port     (AdwEntryRow        *row);

/* Pages */

static void
show_error (TernSetupAssistant *self,
            const char         *text)
{
  gtk_label_set_text (self->error_label, text != NULL ? text : "");
  gtk_revealer_set_reveal_child (self->error_revealer, text != NULL);
}

static void
update_buttons (TernSetupAssistant *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->stack);
  gboolean can_go_on = TRUE;

  if (g_str_equal (page, "address"))
    {
      gtk_button_set_label (GTK_BUTTON (self->back_button), _("_Cancel"));
      gtk_button_set_label (GTK_BUTTON (self->next_button), _("_Next"));
      can_go_on = strchr (gtk_editable_get_text (GTK_EDITABLE (self->address_row)), '@') != NULL;
    }
  else if (g_str_equal (page, "busy"))
    {
      gtk_button_set_label (GTK_BUTTON (self->back_button), _("_Cancel"));
      can_go_on = FALSE;
    }
  else if (g_str_equal (page, "found") || g_str_equal (page, "manual"))
    {
      gtk_button_set_label (GTK_BUTTON (self->back_button), _("_Back"));
      gtk_button_set_label (GTK_BUTTON (self->next_button), _("_Log In"));
      if (g_str_equal (page, "manual"))
        can_go_on = *gtk_editable_get_text (GTK_EDITABLE (self->receiving_host_row)) != '\0' &&
                    *gtk_editable_get_text (GTK_EDITABLE (self->sending_host_row)) != '\0' &&
                    *gtk_editable_get_text (GTK_EDITABLE (self->receiving_user_row)) != '\0' &&
                    get_port (self->receiving_port_row) != 0 &&
                    get_port (self->sending_port_row) != 0;
    }
  else if (g_str_equal (page, "done"))
    {
      gtk_button_set_label (GTK_BUTTON (self->next_button), _("_Done"));
    }

  gtk_widget_set_visible (self->back_button, !g_str_equal (page, "done"));
  gtk_widget_set_visible (self->next_button, !g_str_equal (page, "busy"));
  gtk_widget_set_sensitive (self->next_button, can_go_on);
}

static void
show_page (TernSetupAssistant *self,
           const char         *page)
{
  gboolean busy = g_str_equal (page, "busy");

  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_spinner_set_spinning (self->spinner, busy);
  update_buttons (self);

  if (g_str_equal (page, "address"))
    gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
}

static void
show_busy (TernSetupAssistant *self,
           const char         *title,
           const char         *description)
{
  adw_status_page_set_title (self->busy_page, title);
  adw_status_page_set_description (self->busy_page, description);
  show_page (self, "busy");
}

static char *
get_address (TernSetupAssistant *self)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->address_row))));
}

static const char *
get_password (TernSetupAssistant *self)
{
  return gtk_editable_get_text (GTK_EDITABLE (self->password_row));
}

static const char *
security_in_words (TernSecurity security)
{
  switch (security)
    {
    case TERN_SECURITY_TLS:
      return _("TLS");
    case TERN_SECURITY_STARTTLS:
      return _("STARTTLS");
    case TERN_SECURITY_NONE:
    default:
      return _("no encryption");
    }
}

static char *
describe_server (const char   *protocol,
                 const char   *host,
                 guint16       port,
                 TernSecurity  security,
                 const char   *user)
{
  /* Translators: "IMAP: imap.example.com port 993, TLS, user alice@example.com" */
  return g_strdup_printf (_("%s: %s port %u, %s, user %s"), protocol, host, port,
                          security_in_words (security), user != NULL ? user : "");
}

/* Manual settings */

static void
set_port (AdwEntryRow *row,
          guint        port)
{
  g_autofree char *text = g_strdup_printf ("%u", port);

  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

/* Returns 0 for anything but a port number. */
static guint16
get_port (AdwEntryRow *row)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  guint64 port = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 1, TERN_ACCOUNT_MAX_PORT, &port, NULL))
    return 0;
  return port;
}

static TernReceivingProtocol
manual_protocol (TernSetupAssistant *self)
{
  return gtk_check_button_get_active (self->pop3_check) ? TERN_RECEIVING_PROTOCOL_POP3
                                                        : TERN_RECEIVING_PROTOCOL_IMAP;
}

static void
update_kind_rows (TernSetupAssistant *self)
{
  gboolean pop3 = manual_protocol (self) == TERN_RECEIVING_PROTOCOL_POP3;

  gtk_widget_set_visible (self->leave_row, pop3);
  gtk_widget_set_visible (self->days_row, pop3 && gtk_switch_get_active (self->leave_switch));
}

static void
leave_changed_cb (TernSetupAssistant *self)
{
  update_kind_rows (self);
}

static void
kind_toggled_cb (TernSetupAssistant *self,
                 GtkCheckButton     *button)
{
  update_kind_rows (self);
  if (!gtk_check_button_get_active (button))
    return;
  set_port (self->receiving_port_row,
                             tern_receiving_protocol_default_port (
                               manual_protocol (self),
                               adw_combo_row_get_selected (self->receiving_security_row)));
}

static void
security_changed_cb (TernSetupAssistant *self,
                     GParamSpec         *pspec,
                     AdwComboRow        *row)
{
  TernSecurity security = adw_combo_row_get_selected (row);

  if (row == self->receiving_security_row)
    set_port (self->receiving_port_row,
                               tern_receiving_protocol_default_port (manual_protocol (self),
                                                                     security));
  else
    set_port (self->sending_port_row, tern_smtp_default_port (security));
}

static void
manual_changed_cb (TernSetupAssistant *self)
{
  update_buttons (self);
}

static void
fill_manual (TernSetupAssistant         *self,
             const TernAutoconfigResult *result)
{
  g_autofree char *address = get_address (self);
  const char *domain = strchr (address, '@') + 1;
  g_autofree char *imap_guess = g_strconcat ("imap.", domain, NULL);
  g_autofree char *smtp_guess = g_strconcat ("smtp.", domain, NULL);

  if (result != NULL)
    {
      gtk_check_button_set_active (result->receiving_protocol == TERN_RECEIVING_PROTOCOL_POP3
                                   ? self->pop3_check : self->imap_check, TRUE);
      gtk_editable_set_text (GTK_EDITABLE (self->receiving_host_row), result->receiving_host);
      adw_combo_row_set_selected (self->receiving_security_row, result->receiving_security);
      set_port (self->receiving_port_row, result->receiving_port);
      gtk_editable_set_text (GTK_EDITABLE (self->receiving_user_row),
                             result->receiving_username != NULL ? result->receiving_username
                                                                : address);
      gtk_editable_set_text (GTK_EDITABLE (self->sending_host_row), result->sending_host);
      adw_combo_row_set_selected (self->sending_security_row, result->sending_security);
      set_port (self->sending_port_row, result->sending_port);
      gtk_editable_set_text (GTK_EDITABLE (self->sending_user_row),
                             result->sending_username != NULL ? result->sending_username
                                                              : address);
      return;
    }

  /* Guesses the user corrects; nothing is sent before they log in. */
  if (*gtk_editable_get_text (GTK_EDITABLE (self->receiving_host_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->receiving_host_row), imap_guess);
  if (*gtk_editable_get_text (GTK_EDITABLE (self->sending_host_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->sending_host_row), smtp_guess);
  if (*gtk_editable_get_text (GTK_EDITABLE (self->receiving_user_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->receiving_user_row), address);
  if (*gtk_editable_get_text (GTK_EDITABLE (self->sending_user_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->sending_user_row), address);
}

static void
show_manual (TernSetupAssistant *self)
{
  fill_manual (self, gtk_stack_get_visible_child_name (self->stack) != NULL &&
                     g_str_equal (gtk_stack_get_visible_child_name (self->stack), "found")
                     ? self->found : NULL);
  update_kind_rows (self);
  show_page (self, "manual");
}

/* Checks the first page; says what is missing. */
static gboolean
address_page_complete (TernSetupAssistant *self)
{
  g_autofree char *address = get_address (self);
  const char *at = strchr (address, '@');

  if (at == NULL || at == address || at[1] == '\0' || strchr (at + 1, '@') != NULL ||
      strchr (address, ' ') != NULL)
    {
      show_error (self, _("Enter your whole email address, such as “sam@example.com”."));
      return FALSE;
    }
  if (*get_password (self) == '\0')
    {
      show_error (self, _("Enter the password of your email account."));
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return FALSE;
    }
  return TRUE;
}

static void
manual_clicked_cb (TernSetupAssistant *self)
{
  if (g_str_equal (gtk_stack_get_visible_child_name (self->stack), "address") &&
      !address_page_complete (self))
    return;

  show_error (self, NULL);
  show_manual (self);
}

/* Automatic set-up */

static void
discovered_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  TernSetupAssistant *self = user_data;
  g_autoptr(TernAutoconfigResult) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *receiving = NULL;
  g_autofree char *sending = NULL;
  g_autofree char *source_text = NULL;

  found = tern_autoconfig_discover_finish (TERN_AUTOCONFIG (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (found == NULL)
    {
      g_autofree char *address = get_address (self);
      g_autofree char *text = NULL;

      if (g_error_matches (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_BAD_ADDRESS))
        {
          show_error (self, error->message);
          show_page (self, "address");
          return;
        }

      text =
        g_strdup_printf (_("Tern could not find the settings for %s. Enter them as your "
                           "provider gives them."), strchr (address, '@') + 1);
      show_error (self, text);
      show_manual (self);
      return;
    }

  g_clear_pointer (&self->found, tern_autoconfig_result_free);
  self->found = g_steal_pointer (&found);

  if (self->found->provider_name != NULL)
    source_text = g_strdup_printf ("%s — %s", self->found->provider_name,
                                   self->found->source_detail);
  else
    source_text = g_strdup (self->found->source_detail);
  adw_action_row_set_subtitle (self->found_source_row, source_text);

  receiving = describe_server (tern_receiving_protocol_to_string (
                                 self->found->receiving_protocol),
                               self->found->receiving_host, self->found->receiving_port,
                               self->found->receiving_security,
                               self->found->receiving_username);
  sending = describe_server ("SMTP", self->found->sending_host, self->found->sending_port,
                             self->found->sending_security, self->found->sending_username);
  adw_action_row_set_subtitle (self->found_receiving_row, receiving);
  adw_action_row_set_subtitle (self->found_sending_row, sending);

  if (self->found->authenticated)
    {
      adw_preferences_group_set_description (self->found_group,
                                             _("These settings come from a source Tern could "
                                               "verify."));
      show_error (self, NULL);
    }
  else
    {
      adw_preferences_group_set_description (self->found_group, NULL);
      /* Plain HTTP and DNS answers can be forged by anyone on the way:
       * the password waits until the user has looked at the servers. */
      show_error (self, _("These settings come from a source that could have been forged. "
                          "Check that the servers belong to your provider before you log "
                          "in; your password has not been sent."));
    }

  show_page (self, "found");
}

static void
start_discovery (TernSetupAssistant *self)
{
  g_autoptr(TernAutoconfig) autoconfig = tern_autoconfig_new ();
  g_autofree char *address = get_address (self);
  g_autofree char *description = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_free (self->found_for);
  self->found_for = g_strdup (address);
  self->settings_page = NULL;
  g_clear_pointer (&self->found, tern_autoconfig_result_free);

  description = g_strdup_printf (_("Asking for the settings of %s"), strchr (address, '@') + 1);
  show_error (self, NULL);
  show_busy (self, _("Looking Up Settings"), description);

  tern_autoconfig_discover_async (autoconfig, address, self->cancellable, discovered_cb, self);
}

/* Building the account */

static TernAccount *
account_from_page (TernSetupAssistant *self,
                   const char         *page)
{
  g_autoptr(TernAccount) account = tern_account_new ();
  g_autoptr(TernIdentity) identity = NULL;
  g_autofree char *address = get_address (self);
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (
                                                  GTK_EDITABLE (self->name_row))));

  identity = tern_identity_new (*name != '\0' ? name : NULL, address);
  tern_account_add_identity (account, identity);
  tern_account_set_display_name (account, address);
  tern_account_set_receiving_username (account, address);
  tern_account_set_sending_username (account, address);

  if (g_str_equal (page, "found"))
    {
      tern_autoconfig_result_apply (self->found, account);
    }
  else
    {
      g_autofree char *receiving_host = g_strstrip (g_strdup (gtk_editable_get_text (
        GTK_EDITABLE (self->receiving_host_row))));
      g_autofree char *sending_host = g_strstrip (g_strdup (gtk_editable_get_text (
        GTK_EDITABLE (self->sending_host_row))));

      tern_account_set_receiving_protocol (account, manual_protocol (self));
      tern_account_set_receiving_host (account, receiving_host);
      tern_account_set_receiving_port (account,
                                       get_port (self->receiving_port_row));
      tern_account_set_receiving_security (account,
                                           adw_combo_row_get_selected (
                                             self->receiving_security_row));
      tern_account_set_receiving_username (account, gtk_editable_get_text (
                                             GTK_EDITABLE (self->receiving_user_row)));
      tern_account_set_sending_host (account, sending_host);
      tern_account_set_sending_port (account,
                                     get_port (self->sending_port_row));
      tern_account_set_sending_security (account,
                                         adw_combo_row_get_selected (self->sending_security_row));
      tern_account_set_sending_username (account, gtk_editable_get_text (
                                           GTK_EDITABLE (self->sending_user_row)));

      if (manual_protocol (self) == TERN_RECEIVING_PROTOCOL_POP3)
        {
          guint days = gtk_spin_button_get_value_as_int (self->days_spin);

          if (!gtk_switch_get_active (self->leave_switch))
            tern_account_set_pop3_after_download (account, TERN_POP3_AFTER_DOWNLOAD_DELETE);
          else if (days == 0)
            tern_account_set_pop3_after_download (account, TERN_POP3_AFTER_DOWNLOAD_KEEP);
          else
            {
              tern_account_set_pop3_after_download (account,
                                                    TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS);
              tern_account_set_pop3_keep_days (account, days);
            }
        }
    }

  return g_steal_pointer (&account);
}

/* Saving */

static void
password_stored_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(TernSetupAssistant) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;

  if (tern_credentials_store_finish (TERN_CREDENTIALS (source), result, &error) &&
      self->storing == TERN_CREDENTIAL_RECEIVING_PASSWORD)
    {
      /* Then the same password for sending, as most providers want. */
      self->storing = TERN_CREDENTIAL_SENDING_PASSWORD;
      tern_credentials_store_async (TERN_CREDENTIALS (source),
                                    tern_account_get_id (self->account),
                                    TERN_CREDENTIAL_SENDING_PASSWORD, get_password (self),
                                    self->cancellable, password_stored_cb, g_object_ref (self));
      return;
    }

  if (error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      description = g_strdup_printf (_("The account is saved, but the keyring did not take its "
                                       "password (%s). Tern will ask for it when it connects."),
                                     error->message);
      adw_status_page_set_icon_name (self->done_page, "dialog-warning-symbolic");
    }
  else
    {
      g_autofree char *address = get_address (self);

      description = g_strdup_printf (_("%s is set up. Its password is kept in your keyring."),
                                     address);
    }

  adw_status_page_set_description (self->done_page, description);
  show_error (self, NULL);
  show_page (self, "done");
  g_signal_emit (self, signals[SIGNAL_ACCOUNT_ADDED], 0, self->account);
}

static void
save_account (TernSetupAssistant *self)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(GError) error = NULL;

  manager = tern_account_manager_new (tern_paths_get_config_dir (self->paths));
  loaded = tern_account_manager_load (manager, &error);
  if (loaded == NULL || !tern_account_manager_add (manager, self->account, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The account could not be saved: %s"),
                                               error->message);

      show_error (self, text);
      show_page (self, self->settings_page);
      return;
    }

  /* The password goes to the keyring, never into the account's file. */
  keyring = tern_credentials_secret_new ();
  self->storing = TERN_CREDENTIAL_RECEIVING_PASSWORD;
  tern_credentials_store_async (keyring, tern_account_get_id (self->account),
                                TERN_CREDENTIAL_RECEIVING_PASSWORD, get_password (self),
                                self->cancellable, password_stored_cb, g_object_ref (self));
}

/* Certificates */

static void check_next_server (TernSetupAssistant *self);

static void
certificate_response_cb (AdwMessageDialog       *dialog,
                         const char             *response,
                         TernCertificateDetails *details)
{
  TernSetupAssistant *self =
    TERN_SETUP_ASSISTANT (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "trust"))
    {
      show_error (self, _("The server’s certificate was not trusted, so Tern did not log in. "
                          "Check the server name, or ask your provider."));
      show_page (self, self->settings_page);
      return;
    }

  if (!tern_trust_store_pin (self->trust, details, &error))
    {
      show_error (self, error->message);
      show_page (self, self->settings_page);
      return;
    }

  start_verify (self);
}

static void
show_certificate (TernSetupAssistant           *self,
                  const TernCertificateDetails *details)
{
  AdwMessageDialog *dialog = tern_certificate_dialog_new (GTK_WINDOW (self), details);

  g_signal_connect_data (dialog, "response", G_CALLBACK (certificate_response_cb),
                         tern_certificate_details_copy (details),
                         (GClosureNotify) (void (*) (void)) tern_certificate_details_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
server_checked_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(TernSetupAssistant) self = user_data;
  g_autoptr(TernCertificateDetails) details = NULL;
  g_autoptr(GError) error = NULL;
  const char *pinned;

  details = tern_trust_check_server_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (details == NULL)
    {
      /* This server's certificate validates, or could not be reached:
       * the other server is the one to look at. */
      check_next_server (self);
      return;
    }

  pinned = tern_trust_store_lookup (self->trust, details->host, details->port);
  if (pinned != NULL && g_ascii_strcasecmp (pinned, details->fingerprint) == 0)
    {
      check_next_server (self);
      return;
    }

  show_certificate (self, details);
}

static TernTrustMethod
trust_method (TernSecurity security,
              TernTrustMethod starttls)
{
  return security == TERN_SECURITY_STARTTLS ? starttls : TERN_TRUST_TLS;
}

/* Looks at the receiving server's certificate, then the sending one's,
 * for the one that failed the login. */
static void
check_next_server (TernSetupAssistant *self)
{
  TernAccount *account = self->account;
  guint step = self->trust_step++;

  if (step == 0 && tern_account_get_receiving_security (account) != TERN_SECURITY_NONE)
    {
      TernTrustMethod starttls =
        tern_account_get_receiving_protocol (account) == TERN_RECEIVING_PROTOCOL_POP3
        ? TERN_TRUST_STARTTLS_POP3 : TERN_TRUST_STARTTLS_IMAP;

      tern_trust_check_server_async (tern_account_get_receiving_host (account),
                                     tern_account_get_receiving_port (account),
                                     trust_method (tern_account_get_receiving_security (account),
                                                   starttls),
                                     NULL, self->cancellable, server_checked_cb,
                                     g_object_ref (self));
      return;
    }
  if (step <= 1 && tern_account_get_sending_security (account) != TERN_SECURITY_NONE)
    {
      self->trust_step = 2;
      tern_trust_check_server_async (tern_account_get_sending_host (account),
                                     tern_account_get_sending_port (account),
                                     trust_method (tern_account_get_sending_security (account),
                                                   TERN_TRUST_STARTTLS_SMTP),
                                     NULL, self->cancellable, server_checked_cb,
                                     g_object_ref (self));
      return;
    }

  show_error (self, _("A server’s certificate could not be verified, and Tern could not fetch "
                      "it again to show it. Try again later."));
  show_page (self, self->settings_page);
}

/* Verification */

static char *
explain_verify_error (const GError *error)
{
  if (g_error_matches (error, TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_LOGIN_REFUSED))
    return g_strdup_printf (_("Wrong user name or password. Check your password and try "
                              "again. (%s)"), error->message);
  if (g_error_matches (error, TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_NO_SAFE_LOGIN))
    return g_strdup_printf (_("Tern cannot log in safely: %s"), error->message);
  if (g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CONNECT_FAILED) ||
      g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_TIMED_OUT) ||
      g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CLOSED))
    return g_strdup_printf (_("Cannot connect. Check the server name and port, and your "
                              "connection. (%s)"), error->message);
  return g_strdup_printf (_("Logging in failed: %s"), error->message);
}

static void
verified_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(TernSetupAssistant) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (tern_account_verify_finish (result, &error))
    {
      save_account (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (g_error_matches (error, TERN_CONNECTION_ERROR, TERN_CONNECTION_ERROR_CERTIFICATE))
    {
      self->trust_step = 0;
      check_next_server (self);
      return;
    }

  text = explain_verify_error (error);
  show_error (self, text);
  if (g_error_matches (error, TERN_VERIFY_ERROR, TERN_VERIFY_ERROR_LOGIN_REFUSED))
    {
      /* The password is on the first page; the settings are kept. */
      show_page (self, "address");
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
    }
  else
    {
      show_page (self, self->settings_page);
    }
}

static void
start_verify (TernSetupAssistant *self)
{
  g_autofree char *description = NULL;
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (!tern_trust_store_load (self->trust, &error))
    {
      show_error (self, error->message);
      show_page (self, self->settings_page);
      return;
    }

  description = g_strdup_printf (_("Checking your password with %s and %s"),
                                 tern_account_get_receiving_host (self->account),
                                 tern_account_get_sending_host (self->account));
  show_busy (self, _("Logging In"), description);

  tern_account_verify_async (self->account, get_password (self), get_password (self),
                             self->trust, NULL, NULL, self->cancellable, verified_cb,
                             g_object_ref (self));
}

/* OAuth2 */

static void
oauth2_signed_in_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(TernSetupAssistant) self = user_data;
  g_autoptr(TernOAuth2Tokens) tokens = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) loaded = NULL;
  g_autoptr(TernCredentials) keyring = NULL;

  tokens = tern_oauth2_authorize_finish (TERN_OAUTH2 (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (tokens == NULL || tokens->refresh_token == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Signing in did not work: %s"),
                                               error != NULL ? error->message
                                                             : _("the provider gave no token"));

      show_error (self, text);
      show_page (self, self->settings_page);
      return;
    }

  /* The account signs in with the provider's tokens from now on. */
  tern_account_set_oauth2 (self->account,
                           tern_oauth2_provider_for_host (
                             tern_account_get_receiving_host (self->account)),
                           NULL, NULL, NULL, NULL);
  tern_account_set_auth_method (self->account, TERN_AUTH_METHOD_OAUTH2);

  manager = tern_account_manager_new (tern_paths_get_config_dir (self->paths));
  loaded = tern_account_manager_load (manager, &error);
  if (loaded == NULL || !tern_account_manager_add (manager, self->account, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The account could not be saved: %s"),
                                               error->message);

      show_error (self, text);
      show_page (self, self->settings_page);
      return;
    }

  keyring = tern_credentials_secret_new ();
  self->storing = TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN;
  tern_credentials_store_async (keyring, tern_account_get_id (self->account),
                                TERN_CREDENTIAL_OAUTH2_REFRESH_TOKEN, tokens->refresh_token,
                                self->cancellable, password_stored_cb, g_object_ref (self));
}

/* Returns TRUE when the provider wants its own sign-in page, which then
 * runs (or is explained) instead of a password login. */
static gboolean
maybe_sign_in_with_oauth2 (TernSetupAssistant *self)
{
  const char *provider = tern_oauth2_provider_for_host (
    tern_account_get_receiving_host (self->account));
  g_autoptr(TernOAuth2) oauth2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  if (provider == NULL)
    return FALSE;

  oauth2 = tern_oauth2_new_for_provider (provider, &error);
  if (oauth2 == NULL)
    {
      /* Without a client ID, an app password is the only way in: the
       * password login below may still work with one. */
      if (g_error_matches (error, TERN_OAUTH2_ERROR, TERN_OAUTH2_ERROR_NOT_CONFIGURED) &&
          *get_password (self) != '\0')
        return FALSE;
      show_error (self, error->message);
      show_page (self, self->settings_page);
      return TRUE;
    }

  address = get_address (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  show_busy (self, _("Signing In"),
             _("Continue in your web browser; Tern waits for your provider’s answer"));
  tern_oauth2_authorize_async (oauth2, address, self->cancellable, oauth2_signed_in_cb,
                               g_object_ref (self));
  return TRUE;
}

/* Buttons */

static void
log_in_with (TernSetupAssistant *self,
             const char         *page)
{
  self->settings_page = page;
  /* A refused password is typed again on the first page; these settings
   * are tried with it, unless the address changes. */
  g_free (self->found_for);
  self->found_for = get_address (self);
  g_clear_object (&self->account);
  self->account = account_from_page (self, page);
  show_error (self, NULL);

  if (maybe_sign_in_with_oauth2 (self))
    return;

  start_verify (self);
}

static void
next_clicked_cb (TernSetupAssistant *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->stack);
  g_autofree char *address = get_address (self);

  if (!gtk_widget_get_sensitive (self->next_button) || !gtk_widget_get_visible (self->next_button))
    return;

  if (g_str_equal (page, "address"))
    {
      if (!address_page_complete (self))
        return;
      /* After a refused password, the same settings are tried again. */
      if (self->settings_page != NULL && g_strcmp0 (self->found_for, address) == 0)
        log_in_with (self, self->settings_page);
      else
        start_discovery (self);
    }
  else if (g_str_equal (page, "found") || g_str_equal (page, "manual"))
    {
      log_in_with (self, page);
    }
  else if (g_str_equal (page, "done"))
    {
      gtk_window_close (GTK_WINDOW (self));
    }
}

static void
back_clicked_cb (TernSetupAssistant *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->stack);

  g_cancellable_cancel (self->cancellable);
  show_error (self, NULL);

  if (g_str_equal (page, "address"))
    gtk_window_close (GTK_WINDOW (self));
  else if (g_str_equal (page, "busy"))
    show_page (self, self->settings_page != NULL ? self->settings_page : "address");
  else if (g_str_equal (page, "manual") && self->found != NULL)
    show_page (self, "found");
  else
    show_page (self, "address");
}

static void
address_changed_cb (TernSetupAssistant *self)
{
  update_buttons (self);
}

/* Class */

static void
tern_setup_assistant_dispose (GObject *object)
{
  TernSetupAssistant *self = TERN_SETUP_ASSISTANT (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->account);
  g_clear_object (&self->trust);
  g_clear_pointer (&self->found, tern_autoconfig_result_free);
  g_clear_pointer (&self->found_for, g_free);

  G_OBJECT_CLASS (tern_setup_assistant_parent_class)->dispose (object);
}

static void
tern_setup_assistant_finalize (GObject *object)
{
  TernSetupAssistant *self = TERN_SETUP_ASSISTANT (object);

  g_clear_object (&self->paths);

  G_OBJECT_CLASS (tern_setup_assistant_parent_class)->finalize (object);
}

static void
tern_setup_assistant_class_init (TernSetupAssistantClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tern_setup_assistant_dispose;
  object_class->finalize = tern_setup_assistant_finalize;

  /**
   * TernSetupAssistant::account-added:
   * @account: the account, saved, with its password in the keyring
   */
  signals[SIGNAL_ACCOUNT_ADDED] =
    g_signal_new ("account-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, TERN_TYPE_ACCOUNT);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/tern-setup-assistant.ui");
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, window_title);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, back_button);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, next_button);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, error_label);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, stack);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, name_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, address_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, password_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, busy_page);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, spinner);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, found_group);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, found_source_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, found_receiving_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, found_sending_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, imap_check);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, pop3_check);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, leave_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, leave_switch);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, days_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, days_spin);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, receiving_host_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant,
                                        receiving_security_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, receiving_port_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, receiving_user_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, sending_host_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, sending_security_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, sending_port_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, sending_user_row);
  gtk_widget_class_bind_template_child (widget_class, TernSetupAssistant, done_page);
  gtk_widget_class_bind_template_callback (widget_class, next_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, manual_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, address_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, manual_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, kind_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, leave_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, security_changed_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tern_setup_assistant_init (TernSetupAssistant *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update_kind_rows (self);
  show_page (self, "address");
}

/**
 * tern_setup_assistant_new:
 * @parent: (nullable): the main window
 * @paths: the profile's folders: the account goes to its config folder
 *
 * Returns: (transfer none): a new assistant, modal to @parent.  It emits
 *   #TernSetupAssistant::account-added once the account is saved.
 */
TernSetupAssistant *
tern_setup_assistant_new (GtkWindow *parent,
                          TernPaths *paths)
{
  TernSetupAssistant *self = g_object_new (TERN_TYPE_SETUP_ASSISTANT,
                                           "transient-for", parent,
                                           NULL);

  self->paths = g_object_ref (paths);
  self->trust = tern_trust_store_new (tern_paths_get_config_dir (paths));

  return self;
}
