/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-account-auth.h"
#include "tern-account-manager.h"
#include "tern-composer.h"
#include "tern-credentials.h"
#include "tern-credentials-secret.h"
#include "tern-mail-service.h"
#include "tern-outbox-sender.h"
#include "tern-send-failures.h"
#include "tern-store-outbox.h"
#include "tern-trust.h"
#include "tern-undo-toast.h"

/*
 * What happens once a composer has put its message in the outbox: the
 * main window shows "Sending…" with Undo for as long as the message waits
 * (its send_after), Undo takes it back out of the outbox into Drafts, and
 * each account has one outbox sender, kept by the application, that sends
 * what falls due.  An OAuth2 account's sender gets a fresh access token
 * each time a message is handed to it.
 */

#define SENDERS_KEY "tern-composer-senders"
#define AUTHS_KEY "tern-composer-auths"

/* What Undo on "Sending…" needs.  The toast holds one reference, for as
 * long as it lives, and taking the message back holds another until the
 * store answers: either may end first. */
typedef struct
{
  GWeakRef window;
  TernStore *store;
  char *account;
  gint64 item_id;
  gint64 message_id;
  char *bcc;
} Sending;

static void
sending_clear (Sending *sending)
{
  g_weak_ref_clear (&sending->window);
  g_object_unref (sending->store);
  g_free (sending->account);
  g_free (sending->bcc);
}

static void
sending_unref (gpointer data)
{
  g_rc_box_release_full (data, (GDestroyNotify) sending_clear);
}

static GHashTable *
senders_of (GtkApplication *application)
{
  GHashTable *senders = g_object_get_data (G_OBJECT (application), SENDERS_KEY);

  if (senders == NULL)
    {
      senders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
      g_object_set_data_full (G_OBJECT (application), SENDERS_KEY, senders,
                              (GDestroyNotify) g_hash_table_unref);
    }
  return senders;
}

/* The access tokens of OAuth2 accounts, by account id. */
static GHashTable *
auths_of (GtkApplication *application)
{
  GHashTable *auths = g_object_get_data (G_OBJECT (application), AUTHS_KEY);

  if (auths == NULL)
    {
      auths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
      g_object_set_data_full (G_OBJECT (application), AUTHS_KEY, auths,
                              (GDestroyNotify) g_hash_table_unref);
    }
  return auths;
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

/* What a sender takes from its account, but the login: the server, the
 * certificate pinned for it, where the sent copy goes. */
static void
configure_sender (TernOutboxSender *sender,
                  TernAccount      *account,
                  const char       *config_dir)
{
  g_autoptr(TernTrustStore) trust = tern_trust_store_new (config_dir);
  const char *host = tern_account_get_sending_host (account);
  guint16 port = tern_account_get_sending_port (account);

  tern_outbox_sender_set_server (sender, host, port,
                                 connection_security (tern_account_get_sending_security (
                                                        account)));
  if (tern_trust_store_load (trust, NULL))
    tern_outbox_sender_set_pinned_certificate (sender, tern_trust_store_lookup (trust, host,
                                                                                port));
  tern_outbox_sender_set_sent_copy (sender,
                                    tern_account_get_receiving_protocol (account) ==
                                    TERN_RECEIVING_PROTOCOL_IMAP
                                    ? TERN_SENT_COPY_UPLOAD : TERN_SENT_COPY_LOCAL);
}

static void
set_password_login (TernOutboxSender *sender,
                    TernAccount      *account,
                    const char       *password)
{
  const char *username = tern_account_get_sending_username (account);

  tern_outbox_sender_set_login (sender, username != NULL && *username != '\0' ? username : NULL,
                                password);
}

typedef struct
{
  GtkApplication *application;
  TernStore *store;
  TernAccount *account;
  TernCredentials *credentials;
  char *config_dir;
} SenderSetup;

static void
sender_setup_free (SenderSetup *setup)
{
  g_object_unref (setup->application);
  g_object_unref (setup->store);
  g_object_unref (setup->account);
  g_object_unref (setup->credentials);
  g_free (setup->config_dir);
  g_free (setup);
}

static void
password_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  SenderSetup *setup = user_data;
  TernAccount *account = setup->account;
  g_autoptr(TernOutboxSender) sender = NULL;
  g_autoptr(GError) error = NULL;
  const char *username = tern_account_get_sending_username (account);
  char *password;

  if (TERN_IS_ACCOUNT_AUTH (source))
    password = tern_account_auth_get_secret_finish (TERN_ACCOUNT_AUTH (source), result, &error);
  else
    password = tern_credentials_lookup_finish (TERN_CREDENTIALS (source), result, &error);
  if (password == NULL && error != NULL &&
      !g_error_matches (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND))
    {
      /* The message stays in the outbox; it goes with the next attempt. */
      g_warning ("No password to send mail from “%s”: %s", tern_account_get_id (account),
                 error->message);
      sender_setup_free (setup);
      return;
    }

  sender = tern_outbox_sender_new (setup->store, tern_account_get_id (account));
  configure_sender (sender, account, setup->config_dir);
  if (TERN_IS_ACCOUNT_AUTH (source))
    tern_outbox_sender_set_oauth2_login (sender, username, password);
  else
    set_password_login (sender, account, password);
  g_clear_pointer (&password, tern_credentials_free_secret);
  tern_send_failures_watch (GTK_APPLICATION (setup->application), setup->store, sender);
  tern_outbox_sender_start (sender);
  g_hash_table_replace (senders_of (setup->application),
                        g_strdup (tern_account_get_id (account)), g_steal_pointer (&sender));
  sender_setup_free (setup);
}

typedef struct
{
  TernOutboxSender *sender;
  guint attempts;
  /* OAuth2 accounts: where a fresh token comes from, and for whom */
  TernAccountAuth *auth;
  char *username;
} Kick;

static void
kick_free (Kick *kick)
{
  g_object_unref (kick->sender);
  g_clear_object (&kick->auth);
  g_free (kick->username);
  g_free (kick);
}

static gboolean kick_cb (gpointer user_data);

static void
kicked_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Kick *kick = user_data;
  g_auto(TernOutboxRunStats) stats = { 0 };
  g_autoptr(GError) error = NULL;

  if (!tern_outbox_sender_run_finish (TERN_OUTBOX_SENDER (source), result, &stats, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING) && kick->attempts++ < 30)
    {
      /* A run is under way; the new message may have come too late for
       * it, so another follows. */
      g_timeout_add_seconds (2, kick_cb, kick);
      return;
    }
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    g_warning ("Sending mail: %s", error->message);
  for (guint i = 0; stats.notes != NULL && i < stats.notes->len; i++)
    g_message ("%s", (char *) g_ptr_array_index (stats.notes, i));
  kick_free (kick);
}

static void
token_for_kick_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Kick *kick = user_data;
  g_autoptr(GError) error = NULL;
  char *token = tern_account_auth_get_secret_finish (TERN_ACCOUNT_AUTH (source), result, &error);

  if (token == NULL)
    {
      /* The message stays in the outbox, for the next attempt. */
      g_warning ("No access token to send mail from “%s”: %s",
                 tern_account_get_id (tern_account_auth_get_account (TERN_ACCOUNT_AUTH (source))),
                 error->message);
      kick_free (kick);
      return;
    }

  tern_outbox_sender_set_oauth2_login (kick->sender, kick->username, token);
  tern_credentials_free_secret (token);
  tern_outbox_sender_run_async (kick->sender, NULL, kicked_cb, kick);
}

static gboolean
kick_cb (gpointer user_data)
{
  Kick *kick = user_data;

  if (kick->auth != NULL)
    tern_account_auth_get_secret_async (kick->auth, TERN_CREDENTIAL_SENDING_PASSWORD, NULL,
                                        token_for_kick_cb, kick);
  else
    tern_outbox_sender_run_async (kick->sender, NULL, kicked_cb, kick);
  return G_SOURCE_REMOVE;
}

/* Starts the account's sender, which looks at the queue and so learns
 * when the new message falls due; or, when it works already, has it run
 * once the message is due. */
static void
wake_sender (TernWindow *window,
             TernStore  *store,
             const char *account_id,
             guint       delay)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (window));
  g_autoptr(TernAccountManager) manager = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(TernCredentials) keyring = NULL;
  TernOutboxSender *sender;
  TernAccount *account;
  SenderSetup *setup;
  TernPaths *paths;

  if (application == NULL)
    return;
  sender = g_hash_table_lookup (senders_of (application), account_id);
  if (sender != NULL)
    {
      Kick *kick = g_new0 (Kick, 1);
      TernAccountAuth *auth = g_hash_table_lookup (auths_of (application), account_id);

      kick->sender = g_object_ref (sender);
      if (auth != NULL)
        {
          kick->auth = g_object_ref (auth);
          kick->username = g_strdup (tern_account_get_sending_username (
                                       tern_account_auth_get_account (auth)));
        }
      g_timeout_add_seconds (delay + 1, kick_cb, kick);
      return;
    }

  paths = tern_application_get_paths (TERN_APPLICATION (application));
  manager = tern_account_manager_new (tern_paths_get_config_dir (paths));
  problems = tern_account_manager_load (manager, NULL);
  account = tern_account_manager_lookup (manager, account_id);
  if (account == NULL || tern_account_get_sending_host (account) == NULL)
    {
      tern_window_show_toast (window, _("The account has no server to send mail through; "
                                        "the message waits in the Outbox"));
      return;
    }

  setup = g_new0 (SenderSetup, 1);
  setup->application = g_object_ref (application);
  setup->store = g_object_ref (store);
  setup->account = g_object_ref (account);
  setup->config_dir = g_strdup (tern_paths_get_config_dir (paths));
  keyring = tern_credentials_secret_new ();
  setup->credentials = tern_credentials_for_account (account, keyring);
  if (tern_account_get_auth_method (account) == TERN_AUTH_METHOD_OAUTH2)
    {
      TernAccountAuth *auth = tern_account_auth_new (account, setup->credentials);

      g_hash_table_replace (auths_of (application), g_strdup (account_id), auth);
      tern_account_auth_get_secret_async (auth, TERN_CREDENTIAL_SENDING_PASSWORD, NULL,
                                          password_cb, setup);
      return;
    }
  tern_credentials_lookup_async (setup->credentials, account_id,
                                 TERN_CREDENTIAL_SENDING_PASSWORD, NULL, password_cb, setup);
}

static void
cancelled_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Sending *sending = user_data;
  g_autoptr(TernWindow) window = g_weak_ref_get (&sending->window);
  g_autoptr(GError) error = NULL;
  gboolean cancelled = tern_store_outbox_change_finish (TERN_STORE (source), result, &error);
  GtkApplication *application = window != NULL
                                ? gtk_window_get_application (GTK_WINDOW (window)) : NULL;

  if (cancelled && application != NULL)
    {
      /* It goes to the server's Drafts when the account has them. */
      tern_mail_service_sync_soon (
        tern_application_ensure_mail_service (TERN_APPLICATION (application), sending->store),
        sending->account);
    }
  if (window == NULL)
    {
      if (!cancelled)
        g_warning ("The message could not be taken back: %s", error->message);
    }
  else if (cancelled)
    {
      tern_window_show_toast (window, _("Sending was cancelled; the message is in Drafts"));
      /* Back in a composer, to be changed and sent again. */
      tern_composer_reopen_unsent (window, sending->message_id, sending->account, sending->bcc);
    }
  else
    {
      g_autofree char *text = g_strdup_printf (_("The message could not be taken back: %s"),
                                               error->message);

      tern_window_show_toast (window, text);
    }
  sending_unref (sending);
}

static void
undo_sending (gpointer data)
{
  Sending *sending = data;

  /* The store refuses when the sender has the message already. */
  tern_store_outbox_cancel_async (sending->store, sending->item_id, NULL, cancelled_cb,
                                  g_rc_box_acquire (sending));
}

static void
resume_listed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(TernWindow) window = user_data;
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GHashTable) accounts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;

  items = tern_store_outbox_list_finish (TERN_STORE (source), result, &error);
  if (items == NULL)
    {
      g_warning ("Could not read the outbox: %s", error->message);
      return;
    }
  for (guint i = 0; i < items->len; i++)
    {
      TernOutboxItem *item = g_ptr_array_index (items, i);

      if (item->state != TERN_OUTBOX_STATE_FAILED &&
          g_hash_table_add (accounts, item->account))
        wake_sender (window, TERN_STORE (source), item->account, 0);
    }
}

/* Mail waiting for a later attempt, such as mail the old settings could
 * not send, falls due at once: the new settings may send it. */
typedef struct
{
  GWeakRef window;
  TernStore *store;
  char *account;
} Waiting;

static void
waiting_free (Waiting *waiting)
{
  g_weak_ref_clear (&waiting->window);
  g_object_unref (waiting->store);
  g_free (waiting->account);
  g_free (waiting);
}

static void
made_due_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!tern_store_outbox_change_finish (TERN_STORE (source), result, &error) &&
      !g_error_matches (error, TERN_STORE_ERROR, TERN_STORE_ERROR_INVALID))
    g_warning ("A waiting message could not be sent at once: %s", error->message);
}

static void
waiting_listed_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Waiting *waiting = user_data;
  g_autoptr(TernWindow) window = g_weak_ref_get (&waiting->window);
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean any = FALSE;

  items = tern_store_outbox_list_finish (TERN_STORE (source), result, &error);
  for (guint i = 0; items != NULL && i < items->len; i++)
    {
      TernOutboxItem *item = g_ptr_array_index (items, i);

      if (item->state != TERN_OUTBOX_STATE_QUEUED)
        continue;
      any = TRUE;
      /* A message held back on purpose (the delay to undo sending, its
       * send_after) keeps its time; one waiting to be tried again does
       * not. */
      if (item->next_attempt > now)
        tern_store_outbox_retry_async (waiting->store, item->id, now, item->last_error, NULL,
                                       made_due_cb, NULL);
    }
  /* The writer takes the changes above before the sender's claim. */
  if (any && window != NULL)
    wake_sender (window, waiting->store, waiting->account, 0);
  waiting_free (waiting);
}

static void
send_waiting (TernWindow *window,
              const char *account_id)
{
  TernStore *store = tern_window_get_store (window);
  Waiting *waiting;

  if (store == NULL)
    return;
  waiting = g_new0 (Waiting, 1);
  g_weak_ref_init (&waiting->window, window);
  waiting->store = g_object_ref (store);
  waiting->account = g_strdup (account_id);
  tern_store_outbox_list_async (store, account_id, NULL, waiting_listed_cb, waiting);
}

typedef struct
{
  GWeakRef window;
  TernOutboxSender *sender;
  TernAccount *account;
} LoginUpdate;

static void
login_password_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  LoginUpdate *update = user_data;
  g_autoptr(TernWindow) window = g_weak_ref_get (&update->window);
  g_autoptr(GError) error = NULL;
  char *password = tern_credentials_lookup_finish (TERN_CREDENTIALS (source), result, &error);

  if (password != NULL || error == NULL ||
      g_error_matches (error, TERN_CREDENTIALS_ERROR, TERN_CREDENTIALS_ERROR_NOT_FOUND))
    set_password_login (update->sender, update->account, password);
  else
    g_warning ("No password to send mail from “%s”: %s", tern_account_get_id (update->account),
               error->message);
  g_clear_pointer (&password, tern_credentials_free_secret);
  if (window != NULL)
    send_waiting (window, tern_account_get_id (update->account));
  g_weak_ref_clear (&update->window);
  g_object_unref (update->sender);
  g_object_unref (update->account);
  g_free (update);
}

/**
 * tern_composer_update_sender:
 * @account: an account, with its settings just saved
 *
 * Has the account's outbox sender, when there is one already, send
 * through the account's server as it is now, with its login, and try at
 * once the mail it could not send before.  An OAuth2 account's sender
 * takes a fresh token for each message anyway.
 */
void
tern_composer_update_sender (TernWindow  *main_window,
                             TernAccount *account)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (main_window));
  const char *id = tern_account_get_id (account);
  TernOutboxSender *sender;
  TernPaths *paths;
  LoginUpdate *update;
  g_autoptr(TernCredentials) keyring = NULL;
  g_autoptr(TernCredentials) credentials = NULL;

  g_return_if_fail (TERN_IS_WINDOW (main_window));

  if (application == NULL)
    return;
  sender = g_hash_table_lookup (senders_of (application), id);
  if (sender == NULL || tern_account_get_sending_host (account) == NULL)
    return;
  paths = tern_application_get_paths (TERN_APPLICATION (application));
  configure_sender (sender, account, tern_paths_get_config_dir (paths));
  if (tern_account_get_auth_method (account) != TERN_AUTH_METHOD_PASSWORD)
    {
      send_waiting (main_window, id);
      return;
    }

  update = g_new0 (LoginUpdate, 1);
  g_weak_ref_init (&update->window, main_window);
  update->sender = g_object_ref (sender);
  update->account = g_object_ref (account);
  keyring = tern_credentials_secret_new ();
  credentials = tern_credentials_for_account (account, keyring);
  tern_credentials_lookup_async (credentials, id, TERN_CREDENTIAL_SENDING_PASSWORD, NULL,
                                 login_password_cb, update);
}

/**
 * tern_composer_resume_outbox:
 * @main_window: the main window, its store open
 *
 * Starts the sender of every account that has mail waiting in the outbox,
 * such as mail queued before Tern last quit.
 */
void
tern_composer_resume_outbox (TernWindow *main_window)
{
  TernStore *store = tern_window_get_store (main_window);

  g_return_if_fail (TERN_IS_WINDOW (main_window));

  if (store != NULL)
    tern_store_outbox_list_async (store, NULL, NULL, resume_listed_cb,
                                  g_object_ref (main_window));
}

/**
 * tern_composer_queued:
 * @main_window: where to show the toast
 * @account_id: the account the message is sent from
 * @item_id: its outbox item
 * @message_id: the message of the item
 * @bcc: (nullable): its Bcc recipients, as the composer had them
 * @delay: the seconds it waits before it is sent
 *
 * Has the account's sender send the message when it falls due, and shows
 * "Sending…" with Undo while it waits.  Undo takes the message back to
 * Drafts and opens it again in a composer, Bcc included.
 */
void
tern_composer_queued (TernWindow *main_window,
                      const char *account_id,
                      gint64      item_id,
                      gint64      message_id,
                      const char *bcc,
                      guint       delay)
{
  TernStore *store = tern_window_get_store (main_window);
  Sending *sending;
  AdwToast *toast;

  g_return_if_fail (TERN_IS_WINDOW (main_window));

  if (store == NULL)
    return;
  /* The sender learns when the message falls due; Undo takes it back
   * before then. */
  wake_sender (main_window, store, account_id, delay);
  if (delay == 0)
    {
      tern_window_show_toast (main_window, _("Sending…"));
      return;
    }

  sending = g_rc_box_new0 (Sending);
  g_weak_ref_init (&sending->window, main_window);
  sending->store = g_object_ref (store);
  sending->account = g_strdup (account_id);
  sending->item_id = item_id;
  sending->message_id = message_id;
  sending->bcc = g_strdup (bcc);
  toast = tern_undo_toast_new (_("Sending…"), undo_sending, NULL, sending, sending_unref);
  adw_toast_set_timeout (toast, delay);
  tern_window_add_toast (main_window, toast);
}
