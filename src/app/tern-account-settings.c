/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tern-account-manager.h"
#include "tern-account-settings.h"
#include "tern-composer.h"
#include "tern-credentials-secret.h"

/*
 * An account's settings, from the account's menu in the sidebar: its
 * name; its addresses (the main one and its aliases) with their names,
 * reply-to addresses and signatures; its receiving and sending servers
 * with their passwords; and how often it looks for mail.
 *
 * Nothing changes until Save.  Save checks every field first and says
 * what is wrong without saving anything; then the engine writes the
 * account's file (atomically, with its own checks), new passwords go to
 * the keyring, the mail service gets the account's mail with the new
 * settings, and the outbox sends through the new sending server.
 */

typedef struct
{
  TernIdentity *identity;       /* NULL: an address added here */
  GtkWidget *group;
  AdwEntryRow *name;
  AdwEntryRow *address;
  AdwEntryRow *reply_to;
  GtkCheckButton *is_default;
  GtkTextBuffer *signature;
} IdentityForm;

typedef struct
{
  AdwEntryRow *host;
  AdwEntryRow *port;
  AdwComboRow *security;
  AdwEntryRow *username;
  AdwPasswordEntryRow *password;
} ServerForm;

struct _TernAccountSettings
{
  AdwWindow parent_instance;

  TernWindow *main_window;
  TernAccountManager *manager;
  TernAccount *account;
  char *config_dir;

  AdwToastOverlay *toasts;
  GtkWidget *save_button;
  GtkWidget *invalid;           /* the row marked as wrong, if any */

  AdwEntryRow *display_name;
  AdwPreferencesPage *identities_page;
  AdwPreferencesGroup *add_group;
  GPtrArray *identities;        /* IdentityForm */
  GPtrArray *removed;           /* TernIdentity */
  GtkCheckButton *radio_group;

  ServerForm incoming;
  ServerForm outgoing;
  AdwComboRow *after_download;
  AdwEntryRow *keep_days;
  AdwEntryRow *interval;
  AdwEntryRow *offline_days;

  /* Saving: the keyring writes still under way. */
  guint pending;
  gboolean failed;
};

G_DEFINE_FINAL_TYPE (TernAccountSettings, tern_account_settings, ADW_TYPE_WINDOW)

static void
identity_form_free (IdentityForm *form)
{
  g_clear_object (&form->identity);
  g_free (form);
}

/* Security as the combo rows list it. */
static const TernSecurity securities[] = {
  TERN_SECURITY_TLS, TERN_SECURITY_STARTTLS, TERN_SECURITY_NONE,
};

static guint
security_index (TernSecurity security)
{
  for (guint i = 0; i < G_N_ELEMENTS (securities); i++)
    if (securities[i] == security)
      return i;
  return 0;
}

/* Building the pages */

static AdwEntryRow *
add_entry_row (AdwPreferencesGroup *group,
               const char          *title,
               const char          *text)
{
  GtkWidget *row = adw_entry_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_editable_set_text (GTK_EDITABLE (row), text != NULL ? text : "");
  adw_preferences_group_add (group, row);
  return ADW_ENTRY_ROW (row);
}

static AdwEntryRow *
add_number_row (AdwPreferencesGroup *group,
                const char          *title,
                guint                value)
{
  g_autofree char *text = g_strdup_printf ("%u", value);
  AdwEntryRow *row = add_entry_row (group, title, text);

  adw_entry_row_set_input_purpose (row, GTK_INPUT_PURPOSE_DIGITS);
  return row;
}

static AdwComboRow *
add_security_row (AdwPreferencesGroup *group,
                  const char          *title,
                  TernSecurity         security)
{
  const char *names[] = {
    _("TLS"), _("STARTTLS"), _("None (password sent unencrypted)"), NULL,
  };
  g_autoptr(GtkStringList) model = gtk_string_list_new (names);
  GtkWidget *row = adw_combo_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (model));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), security_index (security));
  adw_preferences_group_add (group, row);
  return ADW_COMBO_ROW (row);
}

static AdwPreferencesPage *
add_page (TernAccountSettings *self,
          AdwViewStack        *stack,
          const char          *name,
          const char          *title,
          const char          *icon_name)
{
  GtkWidget *page = adw_preferences_page_new ();
  AdwViewStackPage *stack_page = adw_view_stack_add_titled (stack, page, name, title);

  adw_view_stack_page_set_icon_name (stack_page, icon_name);
  return ADW_PREFERENCES_PAGE (page);
}

static void remove_identity_clicked_cb (GtkButton           *button,
                                        TernAccountSettings *self);

static IdentityForm *
add_identity_form (TernAccountSettings *self,
                   TernIdentity        *identity)
{
  IdentityForm *form = g_new0 (IdentityForm, 1);
  AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  GtkWidget *row;
  GtkWidget *view;
  GtkWidget *frame;
  GtkWidget *box;
  GtkWidget *label;
  const char *address = identity != NULL ? tern_identity_get_address (identity) : NULL;
  const char *signature = identity != NULL ? tern_identity_get_signature (identity) : NULL;

  form->identity = identity != NULL ? g_object_ref (identity) : NULL;
  form->group = GTK_WIDGET (group);
  adw_preferences_group_set_title (group, address != NULL ? address : _("New Address"));

  form->name = add_entry_row (group, _("Name"),
                              identity != NULL ? tern_identity_get_name (identity) : NULL);
  form->address = add_entry_row (group, _("Address"), address);
  adw_entry_row_set_input_purpose (form->address, GTK_INPUT_PURPOSE_EMAIL);
  form->reply_to = add_entry_row (group, _("Reply-To Address"),
                                  identity != NULL ? tern_identity_get_reply_to (identity)
                                  : NULL);
  adw_entry_row_set_input_purpose (form->reply_to, GTK_INPUT_PURPOSE_EMAIL);

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Default Address"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("New messages are sent from it"));
  form->is_default = GTK_CHECK_BUTTON (gtk_check_button_new ());
  gtk_widget_set_valign (GTK_WIDGET (form->is_default), GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (form->is_default),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Default Address"), -1);
  if (self->radio_group != NULL)
    gtk_check_button_set_group (form->is_default, self->radio_group);
  else
    self->radio_group = form->is_default;
  gtk_check_button_set_active (form->is_default,
                               identity != NULL && tern_identity_get_is_default (identity));
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), GTK_WIDGET (form->is_default));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), GTK_WIDGET (form->is_default));
  adw_preferences_group_add (group, row);

  /* The signature: several lines, so a text view under its own label. */
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_top (box, 12);
  label = gtk_label_new (_("Signature"));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  view = gtk_text_view_new ();
  form->signature = gtk_text_view_get_buffer (GTK_TEXT_VIEW (view));
  gtk_text_buffer_set_text (form->signature, signature != NULL ? signature : "", -1);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 12);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 12);
  gtk_widget_set_size_request (view, -1, 96);
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Signature"), -1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                  label, NULL, -1);
  frame = gtk_frame_new (NULL);
  gtk_widget_add_css_class (frame, "view");
  gtk_frame_set_child (GTK_FRAME (frame), view);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), frame);
  adw_preferences_group_add (group, box);

  if (identity == NULL || !tern_identity_get_is_default (identity))
    {
      GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
      g_autofree char *label_text = g_strdup_printf (_("Remove %s"),
                                                     address != NULL ? address
                                                     : _("New Address"));

      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (remove, _("Remove Address"));
      gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      label_text, -1);
      g_object_set_data (G_OBJECT (remove), "tern-form", form);
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_identity_clicked_cb), self);
      adw_preferences_group_set_header_suffix (group, remove);
    }

  g_ptr_array_add (self->identities, form);
  /* Added addresses go before the group with the Add button, which the
   * page would drop with its last reference. */
  if (self->add_group != NULL)
    {
      g_object_ref (self->add_group);
      adw_preferences_page_remove (self->identities_page, self->add_group);
    }
  adw_preferences_page_add (self->identities_page, group);
  if (self->add_group != NULL)
    {
      adw_preferences_page_add (self->identities_page, self->add_group);
      g_object_unref (self->add_group);
    }
  return form;
}

static void
remove_identity_clicked_cb (GtkButton           *button,
                            TernAccountSettings *self)
{
  IdentityForm *form = g_object_get_data (G_OBJECT (button), "tern-form");

  if (gtk_check_button_get_active (form->is_default))
    {
      adw_toast_overlay_add_toast (self->toasts,
                                   adw_toast_new (_("Choose another default address first")));
      return;
    }
  if (form->identity != NULL)
    g_ptr_array_add (self->removed, g_object_ref (form->identity));
  adw_preferences_page_remove (self->identities_page, ADW_PREFERENCES_GROUP (form->group));
  g_ptr_array_remove (self->identities, form);
}

static void
add_identity_clicked_cb (GtkButton           *button,
                         TernAccountSettings *self)
{
  IdentityForm *form = add_identity_form (self, NULL);
  TernIdentity *main = tern_account_get_default_identity (self->account);

  /* An alias usually goes by the same name. */
  if (main != NULL && tern_identity_get_name (main) != NULL)
    gtk_editable_set_text (GTK_EDITABLE (form->name), tern_identity_get_name (main));
  gtk_widget_grab_focus (GTK_WIDGET (form->address));
}

static void
build_account_page (TernAccountSettings *self,
                    AdwViewStack        *stack)
{
  AdwPreferencesPage *page = add_page (self, stack, "account", _("Account"),
                                       "user-info-symbolic");
  AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  GListModel *identities = tern_account_get_identities (self->account);
  GtkWidget *add;

  adw_preferences_group_set_title (group, _("Account"));
  adw_preferences_group_set_description (group, _("The name the sidebar shows for the account"));
  self->display_name = add_entry_row (group, _("Account Name"),
                                      tern_account_get_display_name (self->account));
  adw_preferences_page_add (page, group);

  self->identities_page = page;
  for (guint i = 0; i < g_list_model_get_n_items (identities); i++)
    {
      g_autoptr(TernIdentity) identity = g_list_model_get_item (identities, i);

      add_identity_form (self, identity);
    }

  self->add_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (self->add_group, _("Other Addresses"));
  adw_preferences_group_set_description (self->add_group,
                                         _("Other addresses of this account, such as "
                                           "info@ or support@, to send from and to "
                                           "reply from"));
  add = gtk_button_new_with_mnemonic (_("_Add Address"));
  gtk_widget_set_halign (add, GTK_ALIGN_START);
  g_signal_connect (add, "clicked", G_CALLBACK (add_identity_clicked_cb), self);
  adw_preferences_group_add (self->add_group, add);
  adw_preferences_page_add (page, self->add_group);
}

static void
build_server_group (TernAccountSettings *self,
                    AdwPreferencesPage  *page,
                    ServerForm          *form,
                    gboolean             incoming)
{
  TernAccount *account = self->account;
  AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  gboolean pop3 = tern_account_get_receiving_protocol (account) == TERN_RECEIVING_PROTOCOL_POP3;
  const char *command = incoming ? tern_account_get_receiving_password_command (account)
                        : tern_account_get_sending_password_command (account);
  TernAuthMethod method = tern_account_get_auth_method (account);
  GtkWidget *row;

  if (incoming)
    adw_preferences_group_set_title (group, pop3 ? _("Receiving Server (POP3)")
                                     : _("Receiving Server (IMAP)"));
  else
    adw_preferences_group_set_title (group, _("Sending Server (SMTP)"));

  form->host = add_entry_row (group, incoming ? _("Receiving Server Name")
                              : _("Sending Server Name"),
                              incoming ? tern_account_get_receiving_host (account)
                              : tern_account_get_sending_host (account));
  adw_entry_row_set_input_purpose (form->host, GTK_INPUT_PURPOSE_URL);
  form->port = add_number_row (group, incoming ? _("Receiving Port") : _("Sending Port"),
                               incoming ? tern_account_get_receiving_port (account)
                               : tern_account_get_sending_port (account));
  form->security = add_security_row (group, incoming ? _("Receiving Security")
                                     : _("Sending Security"),
                                     incoming ? tern_account_get_receiving_security (account)
                                     : tern_account_get_sending_security (account));
  form->username = add_entry_row (group, incoming ? _("Receiving User Name")
                                  : _("Sending User Name"),
                                  incoming ? tern_account_get_receiving_username (account)
                                  : tern_account_get_sending_username (account));

  /* How Tern logs in: only a password kept in the keyring is changed
   * here. */
  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Authentication"));
  if (method == TERN_AUTH_METHOD_OAUTH2)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                 _("Signed in with the provider (OAuth2)"));
  else if (command != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row),
                                 _("Password from a command (change it with tern-cli)"));
  else
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("Password kept in the keyring"));
  gtk_widget_add_css_class (row, "property");
  adw_preferences_group_add (group, row);

  if (method == TERN_AUTH_METHOD_PASSWORD && command == NULL)
    {
      form->password = ADW_PASSWORD_ENTRY_ROW (adw_password_entry_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (form->password),
                                     incoming ? _("New Receiving Password")
                                     : _("New Sending Password"));
      adw_preferences_group_add (group, GTK_WIDGET (form->password));
    }
  adw_preferences_page_add (page, group);
}

static void
after_download_changed_cb (TernAccountSettings *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->keep_days),
                            adw_combo_row_get_selected (self->after_download) ==
                            TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS);
}

static void
build_servers_page (TernAccountSettings *self,
                    AdwViewStack        *stack)
{
  AdwPreferencesPage *page = add_page (self, stack, "servers", _("Servers"),
                                       "network-server-symbolic");
  TernAccount *account = self->account;
  AdwPreferencesGroup *group;

  build_server_group (self, page, &self->incoming, TRUE);
  build_server_group (self, page, &self->outgoing, FALSE);

  group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (group, _("Getting Mail"));
  self->interval = add_number_row (group, _("Minutes Between Checks"),
                                   tern_account_get_sync_interval (account));
  if (tern_account_get_receiving_protocol (account) == TERN_RECEIVING_PROTOCOL_POP3)
    {
      const char *choices[] = {
        _("Delete it from the server"), _("Keep it on the server"),
        _("Keep it on the server for some days"), NULL,
      };
      g_autoptr(GtkStringList) model = gtk_string_list_new (choices);

      self->after_download = ADW_COMBO_ROW (adw_combo_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->after_download),
                                     _("After Downloading a Message"));
      adw_combo_row_set_model (self->after_download, G_LIST_MODEL (model));
      adw_combo_row_set_selected (self->after_download,
                                  tern_account_get_pop3_after_download (account));
      adw_preferences_group_add (group, GTK_WIDGET (self->after_download));
      self->keep_days = add_number_row (group, _("Days the Server Keeps It"),
                                        tern_account_get_pop3_keep_days (account));
      g_signal_connect_swapped (self->after_download, "notify::selected",
                                G_CALLBACK (after_download_changed_cb), self);
      after_download_changed_cb (self);
    }
  else
    {
      self->offline_days = add_number_row (group, _("Days of Mail Kept for Offline Reading"),
                                           tern_account_get_offline_days (account));
    }
  adw_preferences_page_add (page, group);
}

/* Checking */

static gboolean
invalid (TernAccountSettings *self,
         GtkWidget           *row,
         const char          *message)
{
  AdwToast *toast = adw_toast_new (message);

  if (self->invalid != NULL)
    gtk_widget_remove_css_class (self->invalid, "error");
  self->invalid = row;
  gtk_widget_add_css_class (row, "error");
  gtk_widget_grab_focus (row);
  adw_toast_set_timeout (toast, 0);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  adw_toast_overlay_add_toast (self->toasts, toast);
  return FALSE;
}

static char *
row_text (AdwEntryRow *row)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
}

static gboolean
read_number (TernAccountSettings *self,
             AdwEntryRow         *row,
             guint                min,
             guint                max,
             const char          *what,
             guint               *out)
{
  g_autofree char *text = row_text (row);
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    {
      /* Translators: %s says what the number is, as "the receiving port" */
      g_autofree char *message = g_strdup_printf (_("%s must be a number from %u to %u"),
                                                  what, min, max);

      return invalid (self, GTK_WIDGET (row), message);
    }
  *out = (guint) value;
  return TRUE;
}

static gboolean
looks_like_address (const char *text)
{
  const char *at = strchr (text, '@');

  return at != NULL && at != text && at[1] != '\0' && strchr (at + 1, '@') == NULL &&
         strpbrk (text, " \t<>,;\"") == NULL;
}

static gboolean
check_host (TernAccountSettings *self,
            AdwEntryRow         *row,
            const char          *what)
{
  g_autofree char *host = row_text (row);

  if (*host == '\0' || strpbrk (host, " \t/:@") != NULL)
    {
      g_autofree char *message = g_strdup_printf (_("%s must be a server name, such as "
                                                    "mail.example.com"), what);

      return invalid (self, GTK_WIDGET (row), message);
    }
  return TRUE;
}

/* Every field, before anything changes. */
static gboolean
check_fields (TernAccountSettings *self)
{
  guint number;
  gboolean have_default = FALSE;

  if (self->invalid != NULL)
    gtk_widget_remove_css_class (self->invalid, "error");
  self->invalid = NULL;

  for (guint i = 0; i < self->identities->len; i++)
    {
      IdentityForm *form = self->identities->pdata[i];
      g_autofree char *address = row_text (form->address);
      g_autofree char *reply_to = row_text (form->reply_to);

      if (!looks_like_address (address))
        return invalid (self, GTK_WIDGET (form->address),
                        _("An address must look like name@example.com"));
      if (*reply_to != '\0' && !looks_like_address (reply_to))
        return invalid (self, GTK_WIDGET (form->reply_to),
                        _("A reply-to address must look like name@example.com, or be empty"));
      for (guint j = 0; j < i; j++)
        {
          g_autofree char *other = row_text (((IdentityForm *) self->identities->pdata[j])->address);

          if (g_ascii_strcasecmp (other, address) == 0)
            return invalid (self, GTK_WIDGET (form->address),
                            _("The account has this address twice"));
        }
      have_default |= gtk_check_button_get_active (form->is_default);
    }
  if (self->identities->len == 0)
    {
      adw_toast_overlay_add_toast (self->toasts,
                                   adw_toast_new (_("An account needs an address")));
      return FALSE;
    }
  if (!have_default)
    return invalid (self, GTK_WIDGET (((IdentityForm *) self->identities->pdata[0])->address),
                    _("Choose the default address"));

  if (!check_host (self, self->incoming.host, _("The receiving server")) ||
      !read_number (self, self->incoming.port, 1, TERN_ACCOUNT_MAX_PORT,
                    _("The receiving port"), &number) ||
      !check_host (self, self->outgoing.host, _("The sending server")) ||
      !read_number (self, self->outgoing.port, 1, TERN_ACCOUNT_MAX_PORT,
                    _("The sending port"), &number) ||
      !read_number (self, self->interval, 1, TERN_ACCOUNT_MAX_SYNC_MINUTES,
                    _("The minutes between checks"), &number))
    return FALSE;
  if (self->keep_days != NULL &&
      adw_combo_row_get_selected (self->after_download) == TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS &&
      !read_number (self, self->keep_days, 1, TERN_ACCOUNT_MAX_KEEP_DAYS,
                    _("The days the server keeps a message"), &number))
    return FALSE;
  if (self->offline_days != NULL &&
      !read_number (self, self->offline_days, 0, TERN_ACCOUNT_MAX_OFFLINE_DAYS,
                    _("The days of mail kept"), &number))
    return FALSE;
  return TRUE;
}

static guint
number_of (AdwEntryRow *row)
{
  guint64 value = 0;

  g_ascii_string_to_unsigned (gtk_editable_get_text (GTK_EDITABLE (row)), 10, 0, G_MAXUINT,
                              &value, NULL);
  return (guint) value;
}

static char *
nonempty_text (AdwEntryRow *row)
{
  char *text = row_text (row);

  if (*text == '\0')
    g_clear_pointer (&text, g_free);
  return text;
}

/* The checked fields into the account object. */
static void
apply_fields (TernAccountSettings *self)
{
  TernAccount *account = self->account;
  g_autofree char *display_name = nonempty_text (self->display_name);
  g_autofree char *incoming_host = row_text (self->incoming.host);
  g_autofree char *incoming_user = nonempty_text (self->incoming.username);
  g_autofree char *outgoing_host = row_text (self->outgoing.host);
  g_autofree char *outgoing_user = nonempty_text (self->outgoing.username);
  TernIdentity *default_identity = NULL;

  tern_account_set_display_name (account, display_name);

  for (guint i = 0; i < self->removed->len; i++)
    tern_account_remove_identity (account, self->removed->pdata[i]);
  g_ptr_array_set_size (self->removed, 0);
  for (guint i = 0; i < self->identities->len; i++)
    {
      IdentityForm *form = self->identities->pdata[i];
      g_autofree char *name = nonempty_text (form->name);
      g_autofree char *address = row_text (form->address);
      g_autofree char *reply_to = nonempty_text (form->reply_to);
      g_autofree char *signature = NULL;
      GtkTextIter start, end;

      gtk_text_buffer_get_bounds (form->signature, &start, &end);
      signature = gtk_text_buffer_get_text (form->signature, &start, &end, FALSE);
      if (form->identity == NULL)
        {
          form->identity = tern_identity_new (name, address);
          tern_account_add_identity (account, form->identity);
        }
      tern_identity_set_name (form->identity, name);
      tern_identity_set_address (form->identity, address);
      tern_identity_set_reply_to (form->identity, reply_to);
      tern_identity_set_signature (form->identity, *signature != '\0' ? signature : NULL);
      adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (form->group), address);
      if (gtk_check_button_get_active (form->is_default))
        default_identity = form->identity;
    }
  if (default_identity != NULL)
    tern_account_set_default_identity (account, default_identity);

  tern_account_set_receiving_host (account, incoming_host);
  tern_account_set_receiving_port (account, (guint16) number_of (self->incoming.port));
  tern_account_set_receiving_security (
    account, securities[adw_combo_row_get_selected (self->incoming.security)]);
  tern_account_set_receiving_username (account, incoming_user);
  tern_account_set_sending_host (account, outgoing_host);
  tern_account_set_sending_port (account, (guint16) number_of (self->outgoing.port));
  tern_account_set_sending_security (
    account, securities[adw_combo_row_get_selected (self->outgoing.security)]);
  tern_account_set_sending_username (account, outgoing_user);

  tern_account_set_sync_interval (account, number_of (self->interval));
  if (self->after_download != NULL)
    {
      tern_account_set_pop3_after_download (account,
                                            adw_combo_row_get_selected (self->after_download));
      if (adw_combo_row_get_selected (self->after_download) ==
          TERN_POP3_AFTER_DOWNLOAD_KEEP_FOR_DAYS)
        tern_account_set_pop3_keep_days (account, number_of (self->keep_days));
    }
  if (self->offline_days != NULL)
    tern_account_set_offline_days (account, number_of (self->offline_days));
}

/* Saving */

static void
finish_saving (TernAccountSettings *self)
{
  g_autofree char *text = NULL;

  gtk_widget_set_sensitive (self->save_button, TRUE);

  /* The file is saved: the app goes by it even when a password could not
   * be kept, which the window then says, staying open.  The account's mail
   * comes, and the outbox's sender sends, with the new settings. */
  tern_window_account_saved (self->main_window, self->account);
  if (self->failed)
    return;

  text = g_strdup_printf (_("Saved the settings of %s"),
                          tern_account_get_display_name (self->account));
  tern_window_show_toast (self->main_window, text);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
password_stored_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(TernAccountSettings) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tern_credentials_store_finish (TERN_CREDENTIALS (source), result, &error))
    {
      g_autofree char *text = g_strdup_printf (_("The settings are saved, but the new password "
                                                 "could not be kept: %s"), error->message);
      AdwToast *toast = adw_toast_new (text);

      adw_toast_set_timeout (toast, 0);
      adw_toast_overlay_add_toast (self->toasts, toast);
      self->failed = TRUE;
    }
  if (--self->pending == 0)
    finish_saving (self);
}

static void
store_password (TernAccountSettings *self,
                AdwPasswordEntryRow *row,
                TernCredentialKind   kind)
{
  g_autoptr(TernCredentials) keyring = NULL;
  const char *password;

  if (row == NULL)
    return;
  password = gtk_editable_get_text (GTK_EDITABLE (row));
  if (*password == '\0')
    return;
  keyring = tern_credentials_secret_new ();
  self->pending++;
  tern_credentials_store_async (keyring, tern_account_get_id (self->account), kind, password,
                                NULL, password_stored_cb, g_object_ref (self));
}

static gboolean
close_later_cb (gpointer data)
{
  gtk_window_destroy (GTK_WINDOW (data));
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
changed_elsewhere_response_cb (AdwMessageDialog    *dialog,
                               const char          *response,
                               TernAccountSettings *self)
{
  /* Once the dialog, which goes with the window, is done answering. */
  if (g_strcmp0 (response, "close") == 0)
    g_idle_add (close_later_cb, g_object_ref (self));
}

/* Another program (tern-cli, an editor) wrote the account's file since the
 * window read it: nothing is saved over it, and the window, which shows
 * the settings as they were, can be opened again to show them as they
 * are. */
static void
changed_elsewhere (TernAccountSettings *self)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_WINDOW (self), _("Settings Changed Elsewhere"),
                            _("Another program changed the settings of this account since "
                              "this window opened, so nothing was saved. Close the window and "
                              "open it again to see the settings as they are now.")));

  adw_message_dialog_add_responses (dialog, "keep", _("_Keep Editing"),
                                    "close", _("_Close Window"), NULL);
  adw_message_dialog_set_default_response (dialog, "close");
  adw_message_dialog_set_close_response (dialog, "keep");
  g_signal_connect_object (dialog, "response", G_CALLBACK (changed_elsewhere_response_cb), self,
                           0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
save_clicked_cb (TernAccountSettings *self)
{
  g_autoptr(GError) error = NULL;

  if (!check_fields (self))
    return;

  apply_fields (self);
  if (!tern_account_manager_save (self->manager, self->account, &error) &&
      g_error_matches (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_CHANGED))
    {
      changed_elsewhere (self);
      return;
    }
  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The settings were not saved: %s"),
                                               error->message);
      AdwToast *toast = adw_toast_new (text);

      /* What is on disk is what the account is: the window shows it again
       * only once closed; the fields keep what the user typed. */
      adw_toast_set_timeout (toast, 0);
      adw_toast_overlay_add_toast (self->toasts, toast);
      return;
    }

  gtk_widget_set_sensitive (self->save_button, FALSE);
  self->failed = FALSE;
  self->pending = 1;
  store_password (self, self->incoming.password, TERN_CREDENTIAL_RECEIVING_PASSWORD);
  store_password (self, self->outgoing.password, TERN_CREDENTIAL_SENDING_PASSWORD);
  if (--self->pending == 0)
    finish_saving (self);
}

/* The window */

static void
tern_account_settings_dispose (GObject *object)
{
  TernAccountSettings *self = TERN_ACCOUNT_SETTINGS (object);

  g_clear_object (&self->main_window);
  g_clear_object (&self->manager);
  g_clear_object (&self->account);
  g_clear_pointer (&self->identities, g_ptr_array_unref);
  g_clear_pointer (&self->removed, g_ptr_array_unref);

  G_OBJECT_CLASS (tern_account_settings_parent_class)->dispose (object);
}

static void
tern_account_settings_finalize (GObject *object)
{
  TernAccountSettings *self = TERN_ACCOUNT_SETTINGS (object);

  g_free (self->config_dir);

  G_OBJECT_CLASS (tern_account_settings_parent_class)->finalize (object);
}

static void
tern_account_settings_class_init (TernAccountSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tern_account_settings_dispose;
  object_class->finalize = tern_account_settings_finalize;

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tern_account_settings_init (TernAccountSettings *self)
{
  self->identities = g_ptr_array_new_with_free_func ((GDestroyNotify) identity_form_free);
  self->removed = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
build (TernAccountSettings *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  GtkWidget *title = adw_view_switcher_title_new ();
  GtkWidget *stack = adw_view_stack_new ();
  GtkWidget *switcher_bar = adw_view_switcher_bar_new ();
  g_autofree char *heading = NULL;

  self->save_button = gtk_button_new_with_mnemonic (_("_Save"));
  gtk_widget_add_css_class (self->save_button, "suggested-action");
  g_signal_connect_swapped (self->save_button, "clicked", G_CALLBACK (save_clicked_cb), self);
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), self);
  adw_header_bar_set_show_end_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_set_show_start_title_buttons (ADW_HEADER_BAR (header), FALSE);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), cancel);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), self->save_button);

  /* Translators: the title of an account's settings window */
  heading = g_strdup_printf (_("Settings of %s"), tern_account_get_display_name (self->account));
  gtk_window_set_title (GTK_WINDOW (self), heading);
  adw_view_switcher_title_set_stack (ADW_VIEW_SWITCHER_TITLE (title), ADW_VIEW_STACK (stack));
  adw_view_switcher_title_set_title (ADW_VIEW_SWITCHER_TITLE (title), _("Account Settings"));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), title);
  adw_view_switcher_bar_set_stack (ADW_VIEW_SWITCHER_BAR (switcher_bar), ADW_VIEW_STACK (stack));
  g_object_bind_property (title, "title-visible", switcher_bar, "reveal",
                          G_BINDING_SYNC_CREATE);

  build_account_page (self, ADW_VIEW_STACK (stack));
  build_servers_page (self, ADW_VIEW_STACK (stack));

  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  adw_toast_overlay_set_child (self->toasts, stack);
  gtk_widget_set_vexpand (GTK_WIDGET (self->toasts), TRUE);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->toasts));
  gtk_box_append (GTK_BOX (box), switcher_bar);
  adw_window_set_content (ADW_WINDOW (self), box);
  gtk_window_set_default_size (GTK_WINDOW (self), 640, 720);
  gtk_window_set_default_widget (GTK_WINDOW (self), self->save_button);
}

/**
 * tern_account_settings_new:
 * @main_window: the main window, whose sidebar shows the account
 * @config_dir: where the accounts are
 * @account_id: the account
 *
 * Returns: (transfer none) (nullable): a new settings window, not shown
 *   yet, modal to @main_window; %NULL with @error set when the account's
 *   file cannot be read.
 */
TernAccountSettings *
tern_account_settings_new (TernWindow       *main_window,
                           const char       *config_dir,
                           const char       *account_id,
                           GError          **error)
{
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  TernAccountSettings *self;
  TernAccount *account;

  g_return_val_if_fail (TERN_IS_WINDOW (main_window), NULL);
  g_return_val_if_fail (account_id != NULL, NULL);

  manager = tern_account_manager_new (config_dir);
  problems = tern_account_manager_load (manager, error);
  if (problems == NULL)
    return NULL;
  account = tern_account_manager_lookup (manager, account_id);
  if (account == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The settings of %s could not be read"), account_id);
      return NULL;
    }

  self = g_object_new (TERN_TYPE_ACCOUNT_SETTINGS,
                       "transient-for", main_window,
                       "modal", TRUE,
                       "destroy-with-parent", TRUE,
                       NULL);
  self->main_window = g_object_ref (main_window);
  self->manager = g_steal_pointer (&manager);
  self->account = g_object_ref (account);
  self->config_dir = g_strdup (config_dir);
  build (self);
  return self;
}
