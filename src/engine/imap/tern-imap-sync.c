/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-background.h"
#include "tern-imap-client.h"
#include "tern-imap-sync.h"
#include "tern-message-flags.h"
#include "tern-store-sync.h"

/*
 * Folder sync over TernImapClient, into TernStore.
 *
 * The code reads top to bottom: every call of the client or the store is
 * started and then waited for by iterating the run's main context
 * (wait_for()), so a folder's sync is one function.  Where waiting would
 * cost time, work overlaps: the store writes one batch of headers while
 * the next batch is fetched.
 */

/* The header fields a message is listed, searched and threaded by. */
#define HEADER_FIELDS \
  "HEADER.FIELDS (DATE SUBJECT FROM SENDER REPLY-TO TO CC BCC MESSAGE-ID IN-REPLY-TO " \
  "REFERENCES)"

#define SUMMARY_ITEMS \
  "UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[" HEADER_FIELDS "]"

/* The newest mail first, in a small batch, so that it shows at once; then
 * larger batches. */
#define FIRST_BATCH 50
#define BATCH 1000
#define BODY_BATCH 100

#define BACKOFF_MIN_SECONDS 1
#define BACKOFF_MAX_SECONDS 60

struct _TernImapSync
{
  GObject parent_instance;

  TernStore *store;
  char *account_id;

  char *host;
  guint16 port;
  TernConnectionSecurity security;
  char *username;
  char *password;
  /* The password is an OAuth2 access token (XOAUTH2/OAUTHBEARER). */
  gboolean oauth2;
  GTlsDatabase *tls_database;
  char *local_address;
  char *pinned_certificate;
  guint offline_days;
  gboolean all_bodies;
  GStrv disabled;
  guint first_batch;

  GMainContext *context;
  TernImapClient *client;
  gboolean qresync;
  gboolean condstore;

  /* Set by the client's signals while IDLE runs. */
  gboolean server_changed;
  gulong signal_ids[3];
};

G_DEFINE_QUARK (tern-imap-sync-error-quark, tern_imap_sync_error)

G_DEFINE_FINAL_TYPE (TernImapSync, tern_imap_sync, G_TYPE_OBJECT)

static void
tern_imap_sync_finalize (GObject *object)
{
  TernImapSync *self = TERN_IMAP_SYNC (object);

  tern_imap_sync_disconnect (self);
  g_clear_object (&self->store);
  g_clear_object (&self->tls_database);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->account_id);
  g_free (self->host);
  g_free (self->username);
  g_free (self->password);
  g_free (self->local_address);
  g_free (self->pinned_certificate);
  g_strfreev (self->disabled);

  G_OBJECT_CLASS (tern_imap_sync_parent_class)->finalize (object);
}

static void
tern_imap_sync_class_init (TernImapSyncClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_imap_sync_finalize;
}

static void
tern_imap_sync_init (TernImapSync *self)
{
  self->port = 993;
  self->security = TERN_CONNECTION_SECURITY_TLS;
  self->offline_days = 30;
  self->first_batch = FIRST_BATCH;
}

/**
 * tern_imap_sync_new:
 * @store: the store the account's mail lives in
 * @account_id: the account's id, as the store's folders name it
 */
TernImapSync *
tern_imap_sync_new (TernStore  *store,
                    const char *account_id)
{
  TernImapSync *self;

  g_return_val_if_fail (TERN_IS_STORE (store), NULL);
  g_return_val_if_fail (account_id != NULL, NULL);

  self = g_object_new (TERN_TYPE_IMAP_SYNC, NULL);
  self->store = g_object_ref (store);
  self->account_id = g_strdup (account_id);

  return self;
}

void
tern_imap_sync_set_server (TernImapSync           *self,
                           const char             *host,
                           guint16                 port,
                           TernConnectionSecurity  security)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
  self->security = security;
}

void
tern_imap_sync_set_login (TernImapSync *self,
                          const char   *username,
                          const char   *password)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  g_free (self->username);
  self->username = g_strdup (username);
  g_free (self->password);
  self->password = g_strdup (password);
  self->oauth2 = FALSE;
}

/**
 * tern_imap_sync_set_oauth2_login:
 * @token: an OAuth2 access token
 *
 * As tern_imap_sync_set_login(), for an account that signs in with
 * OAuth2: the server gets @token through OAUTHBEARER or XOAUTH2, whichever
 * it offers, and never as a password.  An expired or revoked token makes a
 * run fail with %TERN_SASL_ERROR_TOKEN_INVALID.
 */
void
tern_imap_sync_set_oauth2_login (TernImapSync *self,
                                 const char   *username,
                                 const char   *token)
{
  tern_imap_sync_set_login (self, username, token);
  self->oauth2 = TRUE;
}

void
tern_imap_sync_set_tls_database (TernImapSync *self,
                                 GTlsDatabase *database)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  g_set_object (&self->tls_database, database);
}

void
tern_imap_sync_set_local_address (TernImapSync *self,
                                  const char   *address)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  g_free (self->local_address);
  self->local_address = g_strdup (address);
}

/**
 * tern_imap_sync_set_pinned_certificate:
 * @pin: (nullable): the certificate fingerprint the user accepted for this
 *   server, as tern_connection_set_pinned_certificate() takes it
 */
void
tern_imap_sync_set_pinned_certificate (TernImapSync *self,
                                       const char   *pin)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  g_free (self->pinned_certificate);
  self->pinned_certificate = g_strdup (pin);
}

/**
 * tern_imap_sync_set_offline_days:
 * @days: bodies of mail from the last @days days are fetched by a run, for
 *   reading offline; 0 for none
 */
void
tern_imap_sync_set_offline_days (TernImapSync *self,
                                 guint         days)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  self->offline_days = days;
}

/**
 * tern_imap_sync_set_all_bodies:
 *
 * Whether a run fetches every body, whatever its age.
 */
void
tern_imap_sync_set_all_bodies (TernImapSync *self,
                               gboolean      all_bodies)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  self->all_bodies = all_bodies;
}

/**
 * tern_imap_sync_set_disabled_extensions:
 * @extensions: (array zero-terminated=1) (nullable): "QRESYNC",
 *   "CONDSTORE", "UIDPLUS" (for uploads: the APPENDUID is then not
 *   used): extensions the sync must not use even when offered
 *
 * For tests of the fallbacks, and for servers whose extension is broken.
 */
void
tern_imap_sync_set_disabled_extensions (TernImapSync       *self,
                                        const char * const *extensions)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  g_strfreev (self->disabled);
  self->disabled = g_strdupv ((char **) extensions);
}

/**
 * tern_imap_sync_set_first_batch:
 * @count: how many of the newest messages a first sync fetches before the
 *   others
 */
void
tern_imap_sync_set_first_batch (TernImapSync *self,
                                guint         count)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  self->first_batch = MAX (count, 1);
}

/**
 * tern_imap_sync_get_header_items:
 *
 * What a header sync asks for each new message (the items of its UID
 * FETCH, without the parentheses and without the MODSEQ it adds when the
 * server offers CONDSTORE): for a benchmark to ask a server the same.
 *
 * Returns: (transfer none): the items, a static string
 */
const char *
tern_imap_sync_get_header_items (void)
{
  return SUMMARY_ITEMS;
}

/* Flags */

typedef struct
{
  const char *name;
  guint flag;
} FlagName;

static const FlagName flag_names[] = {
  { "\\Seen", TERN_MESSAGE_FLAG_SEEN },
  { "\\Answered", TERN_MESSAGE_FLAG_ANSWERED },
  { "\\Flagged", TERN_MESSAGE_FLAG_FLAGGED },
  { "\\Deleted", TERN_MESSAGE_FLAG_DELETED },
  { "\\Draft", TERN_MESSAGE_FLAG_DRAFT },
  { "$Forwarded", TERN_MESSAGE_FLAG_FORWARDED },
  { "$Junk", TERN_MESSAGE_FLAG_JUNK },
  { "$NotJunk", TERN_MESSAGE_FLAG_NOTJUNK },
  /* Older names some clients set. */
  { "Junk", TERN_MESSAGE_FLAG_JUNK },
  { "NonJunk", TERN_MESSAGE_FLAG_NOTJUNK },
};

/**
 * tern_imap_flags_to_store:
 * @flags: (array zero-terminated=1) (nullable): IMAP flags and keywords
 * @out_keywords: (out) (optional) (transfer full): the other keywords,
 *   space separated, or %NULL when there are none
 *
 * Returns: the #TernMessageFlags of @flags.
 */
guint
tern_imap_flags_to_store (char **flags,
                          char **out_keywords)
{
  g_autoptr(GString) keywords = g_string_new (NULL);
  guint result = 0;

  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      gboolean known = FALSE;

      for (guint j = 0; j < G_N_ELEMENTS (flag_names); j++)
        {
          if (g_ascii_strcasecmp (flags[i], flag_names[j].name) == 0)
            {
              result |= flag_names[j].flag;
              known = TRUE;
              break;
            }
        }

      /* \Recent and other system flags are the server's business. */
      if (!known && flags[i][0] != '\\' && flags[i][0] != '\0')
        {
          if (keywords->len > 0)
            g_string_append_c (keywords, ' ');
          g_string_append (keywords, flags[i]);
        }
    }

  if (out_keywords != NULL)
    *out_keywords = keywords->len > 0 ? g_strdup (keywords->str) : NULL;

  return result;
}

/**
 * tern_imap_flags_from_store:
 *
 * Returns: (transfer full): the IMAP names of @flags.
 */
GStrv
tern_imap_flags_from_store (guint flags)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint done = 0;

  for (guint j = 0; j < G_N_ELEMENTS (flag_names); j++)
    {
      if ((flags & flag_names[j].flag) != 0 && (done & flag_names[j].flag) == 0)
        {
          g_strv_builder_add (builder, flag_names[j].name);
          done |= flag_names[j].flag;
        }
    }

  return g_strv_builder_end (builder);
}

/* Waiting */

static void
got_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_for (TernImapSync  *self,
          GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (self->context, TRUE);

  return *slot;
}

static gboolean
is_disabled (TernImapSync *self,
             const char   *extension)
{
  return self->disabled != NULL && g_strv_contains ((const char * const *) self->disabled,
                                                    extension);
}

static gboolean
begin (TernImapSync *self)
{
  if (self->context != NULL)
    return FALSE;
  self->context = g_main_context_ref_thread_default ();
  return TRUE;
}

static void
end (TernImapSync *self,
     gboolean      began)
{
  if (began)
    g_clear_pointer (&self->context, g_main_context_unref);
}

/* The connection */

static void
server_changed_cb (TernImapClient *client,
                   gpointer        data,
                   gpointer        user_data)
{
  TernImapSync *self = user_data;

  self->server_changed = TRUE;
}

/**
 * tern_imap_sync_disconnect:
 *
 * Closes the connection, if one is open.  The next call opens another.
 */
void
tern_imap_sync_disconnect (TernImapSync *self)
{
  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  if (self->client == NULL)
    return;

  for (guint i = 0; i < G_N_ELEMENTS (self->signal_ids); i++)
    g_clear_signal_handler (&self->signal_ids[i], self->client);
  tern_imap_client_close (self->client);
  g_clear_object (&self->client);
}

static gboolean
ensure_client (TernImapSync  *self,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autoptr(TernConnection) connection = NULL;
  g_autoptr(TernImapClient) client = NULL;
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) logged_in = NULL;

  if (self->client != NULL)
    {
      TernImapClientState state = tern_imap_client_get_state (self->client);

      if (state == TERN_IMAP_CLIENT_STATE_AUTHENTICATED || state == TERN_IMAP_CLIENT_STATE_SELECTED)
        return TRUE;
      tern_imap_sync_disconnect (self);
    }

  if (self->host == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_FAILED,
                   "The account “%s” has no IMAP server", self->account_id);
      return FALSE;
    }

  connection = tern_connection_new ();
  if (self->tls_database != NULL)
    tern_connection_set_tls_database (connection, self->tls_database);
  if (self->local_address != NULL)
    tern_connection_set_local_address (connection, self->local_address);
  if (self->pinned_certificate != NULL &&
      !tern_connection_set_pinned_certificate (connection, self->pinned_certificate, error))
    return FALSE;
  client = tern_imap_client_new (connection);

  tern_imap_client_connect_async (client, self->host, self->port, self->security, cancellable,
                                  got_result_cb, &connected);
  if (!tern_imap_client_connect_finish (client, wait_for (self, &connected), error))
    return FALSE;

  if (!tern_imap_client_was_preauthenticated (client))
    {
      (self->oauth2 ? tern_imap_client_login_oauth_async : tern_imap_client_login_async)
        (client, self->username != NULL ? self->username : "",
         self->password != NULL ? self->password : "", cancellable, got_result_cb, &logged_in);
      if (!tern_imap_client_login_finish (client, wait_for (self, &logged_in), error))
        return FALSE;
    }

  self->qresync = FALSE;
  self->condstore = tern_imap_client_has_capability (client, "CONDSTORE") &&
                    !is_disabled (self, "CONDSTORE");
  if (tern_imap_client_has_capability (client, "QRESYNC") && !is_disabled (self, "QRESYNC") &&
      self->condstore)
    {
      g_autoptr(GAsyncResult) enabled = NULL;
      const char *extensions[] = { "QRESYNC", NULL };

      tern_imap_client_enable_async (client, extensions, cancellable, got_result_cb, &enabled);
      if (!tern_imap_client_simple_finish (client, wait_for (self, &enabled), error))
        return FALSE;
      self->qresync = tern_imap_client_is_enabled (client, "QRESYNC");
    }

  self->client = g_steal_pointer (&client);
  self->signal_ids[0] = g_signal_connect (self->client, "exists", G_CALLBACK (server_changed_cb),
                                          self);
  self->signal_ids[1] = g_signal_connect (self->client, "expunge",
                                          G_CALLBACK (server_changed_cb), self);
  self->signal_ids[2] = g_signal_connect (self->client, "fetch", G_CALLBACK (server_changed_cb),
                                          self);
  return TRUE;
}

/* Store calls, waited for */

static GPtrArray *
store_list_folders (TernImapSync  *self,
                    GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_list_sync_folders_async (self->store, self->account_id, NULL, got_result_cb, &result);
  return tern_store_list_sync_folders_finish (self->store, wait_for (self, &result), error);
}

static TernSyncFolder *
find_folder (GPtrArray  *folders,
             const char *path,
             gint64      id)
{
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      TernSyncFolder *folder = g_ptr_array_index (folders, i);

      if ((path != NULL && g_strcmp0 (folder->path, path) == 0) ||
          (path == NULL && folder->id == id))
        return folder;
    }

  return NULL;
}

static TernSyncFolder *
find_role (GPtrArray      *folders,
           TernFolderRole  role)
{
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      TernSyncFolder *folder = g_ptr_array_index (folders, i);

      if (folder->role == role && folder->remote_name != NULL)
        return folder;
    }

  return NULL;
}

static TernFolderRole
role_from_imap (TernImapMailboxRole role)
{
  switch (role)
    {
    case TERN_IMAP_MAILBOX_ROLE_INBOX:
      return TERN_FOLDER_ROLE_INBOX;
    case TERN_IMAP_MAILBOX_ROLE_SENT:
      return TERN_FOLDER_ROLE_SENT;
    case TERN_IMAP_MAILBOX_ROLE_DRAFTS:
      return TERN_FOLDER_ROLE_DRAFTS;
    case TERN_IMAP_MAILBOX_ROLE_TRASH:
      return TERN_FOLDER_ROLE_TRASH;
    case TERN_IMAP_MAILBOX_ROLE_JUNK:
      return TERN_FOLDER_ROLE_JUNK;
    case TERN_IMAP_MAILBOX_ROLE_ARCHIVE:
      return TERN_FOLDER_ROLE_ARCHIVE;
    case TERN_IMAP_MAILBOX_ROLE_NONE:
    case TERN_IMAP_MAILBOX_ROLE_ALL:
    case TERN_IMAP_MAILBOX_ROLE_FLAGGED:
    default:
      return TERN_FOLDER_ROLE_NONE;
    }
}

/* Servers without SPECIAL-USE: the usual names. */
static TernFolderRole
role_from_name (const char *name)
{
  static const struct { const char *name; TernFolderRole role; } names[] = {
    { "Sent", TERN_FOLDER_ROLE_SENT },
    { "Sent Items", TERN_FOLDER_ROLE_SENT },
    { "Sent Messages", TERN_FOLDER_ROLE_SENT },
    { "Drafts", TERN_FOLDER_ROLE_DRAFTS },
    { "Trash", TERN_FOLDER_ROLE_TRASH },
    { "Deleted Items", TERN_FOLDER_ROLE_TRASH },
    { "Junk", TERN_FOLDER_ROLE_JUNK },
    { "Spam", TERN_FOLDER_ROLE_JUNK },
    { "Archive", TERN_FOLDER_ROLE_ARCHIVE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (g_ascii_strcasecmp (name, names[i].name) == 0)
        return names[i].role;
    }

  return TERN_FOLDER_ROLE_NONE;
}

/* The folder list */

/* Whether the store's server folders are exactly those of @remote. */
static gboolean
same_folders (GPtrArray *known,
              GPtrArray *remote)
{
  guint from_server = 0;

  for (guint i = 0; i < known->len; i++)
    {
      if (((TernSyncFolder *) g_ptr_array_index (known, i))->remote_name != NULL)
        from_server++;
    }
  if (from_server != remote->len)
    return FALSE;

  for (guint i = 0; i < remote->len; i++)
    {
      TernRemoteFolder *folder = g_ptr_array_index (remote, i);
      g_autofree char *path = tern_store_path_from_remote (folder->name, folder->delimiter);
      TernSyncFolder *match = find_folder (known, path, 0);

      if (match == NULL || g_strcmp0 (match->remote_name, folder->remote_name) != 0 ||
          match->delimiter != folder->delimiter || match->subscribed != folder->subscribed ||
          match->selectable != folder->selectable ||
          (folder->role != TERN_FOLDER_ROLE_NONE && match->role != folder->role))
        return FALSE;
    }

  return TRUE;
}

static GPtrArray *
sync_folder_list (TernImapSync  *self,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GAsyncResult) updated = NULL;
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(GPtrArray) remote = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_remote_folder_free);
  gboolean special_use = FALSE;

  tern_imap_client_list_async (self->client, "", "*", 0, cancellable, got_result_cb, &listed);
  mailboxes = tern_imap_client_list_finish (self->client, wait_for (self, &listed), error);
  if (mailboxes == NULL)
    return NULL;

  for (guint i = 0; i < mailboxes->len; i++)
    {
      TernImapMailbox *mailbox = g_ptr_array_index (mailboxes, i);

      if (mailbox->role != TERN_IMAP_MAILBOX_ROLE_NONE &&
          mailbox->role != TERN_IMAP_MAILBOX_ROLE_INBOX)
        special_use = TRUE;
    }

  for (guint i = 0; i < mailboxes->len; i++)
    {
      TernImapMailbox *mailbox = g_ptr_array_index (mailboxes, i);
      TernRemoteFolder *folder;
      const char *leaf;

      if ((mailbox->attributes & TERN_IMAP_MAILBOX_NONEXISTENT) != 0)
        continue;

      folder = tern_remote_folder_new (mailbox->name, mailbox->name, mailbox->delimiter);
      folder->role = role_from_imap (mailbox->role);
      leaf = mailbox->delimiter != '\0' ? strrchr (mailbox->name, mailbox->delimiter) : NULL;
      leaf = leaf != NULL ? leaf + 1 : mailbox->name;
      if (folder->role == TERN_FOLDER_ROLE_NONE && !special_use)
        folder->role = role_from_name (leaf);
      if (g_ascii_strcasecmp (mailbox->name, "INBOX") == 0)
        folder->role = TERN_FOLDER_ROLE_INBOX;
      folder->selectable = (mailbox->attributes & TERN_IMAP_MAILBOX_NOSELECT) == 0;
      /* Without LIST-EXTENDED the server does not say; every folder is
       * then taken as subscribed.  The INBOX always is: servers often
       * leave it out of the subscriptions (Dovecot does for a new user),
       * and it is where new mail arrives. */
      folder->subscribed = (mailbox->attributes & TERN_IMAP_MAILBOX_SUBSCRIBED) != 0 ||
                           folder->role == TERN_FOLDER_ROLE_INBOX ||
                           !tern_imap_client_has_capability (self->client, "LIST-EXTENDED");
      g_ptr_array_add (remote, folder);
    }

  /* Mostly nothing changed: the store is then only read. */
  {
    g_autoptr(GPtrArray) known = store_list_folders (self, error);

    if (known == NULL)
      return NULL;
    if (same_folders (known, remote))
      return g_steal_pointer (&known);
  }

  tern_store_update_remote_folders_async (self->store, self->account_id, remote, NULL,
                                          got_result_cb, &updated);
  return tern_store_update_remote_folders_finish (self->store, wait_for (self, &updated), error);
}

/* Selecting */

static TernImapSelected *
select_folder (TernImapSync    *self,
               TernSyncFolder  *folder,
               gboolean         qresync,
               GCancellable    *cancellable,
               GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_select_async (self->client, folder->remote_name,
                                 self->condstore ? TERN_IMAP_SELECT_CONDSTORE
                                                 : TERN_IMAP_SELECT_NONE,
                                 qresync ? (guint32) folder->uidvalidity : 0,
                                 qresync ? (guint64) folder->highestmodseq : 0,
                                 NULL, cancellable, got_result_cb, &result);
  return tern_imap_client_select_finish (self->client, wait_for (self, &result), error);
}

/* Fetching */

typedef struct
{
  GPtrArray *headers;
  GPtrArray *updates;
  GArray *uids;
  GPtrArray *bodies;
  GArray *body_uids;
  GArray *dates;
} Collected;

static void
collect_headers_cb (const TernImapFetch *fetch,
                    gpointer             user_data)
{
  Collected *collected = user_data;
  TernHeaderMessage *message;
  GBytes *header;
  char *keywords = NULL;
  guint flags;

  if ((fetch->fields & TERN_IMAP_FETCH_UID) == 0 || fetch->uid == 0)
    return;

  header = tern_imap_fetch_get_section (fetch, HEADER_FIELDS);
  if (header == NULL)
    header = tern_imap_fetch_get_section (fetch, "HEADER");
  if (header == NULL)
    return;

  /* A copy of the section alone: the response it came in, several times
   * its size, goes as soon as it is read instead of staying until the
   * store has written the batch. */
  header = g_bytes_new (g_bytes_get_data (header, NULL), g_bytes_get_size (header));
  flags = tern_imap_flags_to_store (fetch->flags, &keywords);
  message = tern_header_message_new (header, fetch->uid, flags,
                                     fetch->internal_date != NULL
                                     ? g_date_time_to_unix (fetch->internal_date) : 0,
                                     fetch->size);
  g_bytes_unref (header);
  message->keywords = keywords;
  message->modseq = fetch->modseq;
  message->has_attachments = fetch->attachment_disposition;
  g_ptr_array_add (collected->headers, message);
}

static void
collect_flags_cb (const TernImapFetch *fetch,
                  gpointer             user_data)
{
  Collected *collected = user_data;
  g_autofree char *keywords = NULL;
  guint flags;

  if ((fetch->fields & TERN_IMAP_FETCH_UID) == 0 || fetch->uid == 0)
    return;

  g_array_append_val (collected->uids, fetch->uid);
  if ((fetch->fields & TERN_IMAP_FETCH_FLAGS) == 0)
    return;

  flags = tern_imap_flags_to_store (fetch->flags, &keywords);
  g_ptr_array_add (collected->updates,
                   tern_flag_update_new (fetch->uid, flags, keywords, fetch->modseq));
}

static void
collect_bodies_cb (const TernImapFetch *fetch,
                   gpointer             user_data)
{
  Collected *collected = user_data;
  GBytes *body;

  if ((fetch->fields & TERN_IMAP_FETCH_UID) == 0 || fetch->uid == 0)
    return;

  body = tern_imap_fetch_get_section (fetch, "");
  if (body == NULL)
    return;

  g_ptr_array_add (collected->bodies, g_bytes_ref (body));
  g_array_append_val (collected->body_uids, fetch->uid);
}

static void
collected_clear (Collected *collected)
{
  g_clear_pointer (&collected->headers, g_ptr_array_unref);
  g_clear_pointer (&collected->updates, g_ptr_array_unref);
  g_clear_pointer (&collected->uids, g_array_unref);
  g_clear_pointer (&collected->bodies, g_ptr_array_unref);
  g_clear_pointer (&collected->body_uids, g_array_unref);
  g_clear_pointer (&collected->dates, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Collected, collected_clear)

static void
collected_init (Collected *collected)
{
  collected->headers = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_header_message_free);
  collected->updates = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_flag_update_free);
  collected->uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  collected->bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  collected->body_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  collected->dates = g_array_new (FALSE, FALSE, sizeof (gint64));
}

/* Whole messages with their flags and dates, to keep them here. */
static void
collect_archive_cb (const TernImapFetch *fetch,
                    gpointer             user_data)
{
  Collected *collected = user_data;
  g_autofree char *keywords = NULL;
  GBytes *body;
  gint64 date;
  guint flags;

  if ((fetch->fields & TERN_IMAP_FETCH_UID) == 0 || fetch->uid == 0)
    return;
  body = tern_imap_fetch_get_section (fetch, "");
  if (body == NULL)
    return;

  flags = tern_imap_flags_to_store (fetch->flags, &keywords);
  date = fetch->internal_date != NULL ? g_date_time_to_unix (fetch->internal_date) : 0;
  g_ptr_array_add (collected->bodies, g_bytes_ref (body));
  g_array_append_val (collected->body_uids, fetch->uid);
  g_array_append_val (collected->dates, date);
  g_ptr_array_add (collected->updates, tern_flag_update_new (fetch->uid, flags, keywords, 0));
}

static gboolean
uid_fetch (TernImapSync       *self,
           const char         *uid_set,
           const char         *items,
           guint64             changed_since,
           TernImapFetchFunc   func,
           Collected          *collected,
           GArray            **out_vanished,
           GCancellable       *cancellable,
           GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *all_items = NULL;

  all_items = g_strdup_printf ("(%s%s)", items, self->condstore ? " MODSEQ" : "");
  tern_imap_client_uid_fetch_async (self->client, uid_set, all_items, changed_since,
                                    out_vanished != NULL, func, collected, cancellable,
                                    got_result_cb, &result);
  return tern_imap_client_uid_fetch_finish (self->client, wait_for (self, &result), out_vanished,
                                            error);
}

static GArray *
uid_search (TernImapSync  *self,
            const char    *criteria,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_imap_client_uid_search_async (self->client, criteria, cancellable, got_result_cb, &result);
  return tern_imap_client_uid_search_finish (self->client, wait_for (self, &result), error);
}

static int
compare_uids (gconstpointer a,
              gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

static gboolean
uid_in (GArray  *sorted,
        guint32  uid)
{
  guint low = 0;
  guint high = sorted->len;

  while (low < high)
    {
      guint middle = low + (high - low) / 2;
      guint32 value = g_array_index (sorted, guint32, middle);

      if (value == uid)
        return TRUE;
      if (value < uid)
        low = middle + 1;
      else
        high = middle;
    }

  return FALSE;
}

static void
ranges_to_uids (GArray *ranges,
                GArray *uids)
{
  for (guint i = 0; ranges != NULL && i < ranges->len; i++)
    {
      TernImapUidRange *range = &g_array_index (ranges, TernImapUidRange, i);

      /* Bounded: a hostile range must not fill the memory. */
      for (guint64 uid = range->first; uid <= range->last && uids->len < 10000000; uid++)
        {
          guint32 value = (guint32) uid;

          g_array_append_val (uids, value);
        }
    }
}

static gboolean
store_changes (TernImapSync  *self,
               gint64         folder_id,
               GPtrArray     *updates,
               GArray        *gone,
               guint         *out_changed,
               GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tern_store_apply_server_changes_async (self->store, folder_id, updates, gone, 0, NULL,
                                         got_result_cb, &result);
  return tern_store_apply_server_changes_finish (self->store, wait_for (self, &result),
                                                 out_changed, error);
}

/*
 * Fetching new headers: batches newest first, the first one small.  Up to
 * FETCHES_IN_FLIGHT UID FETCH commands are pipelined; each batch goes to
 * the store as it arrives, one write at a time, in order, while the next
 * batches are on the wire.
 */

#define FETCHES_IN_FLIGHT 3

/* The most headers one write to the store takes: batches that wait
 * together go in one transaction up to this many. */
#define WRITE_MAX (FETCHES_IN_FLIGHT * BATCH)

typedef struct
{
  TernImapSync *self;
  gint64 folder_id;
  GArray *uids;
  GArray *new_ids;
  TernImapSyncStats *stats;
  GCancellable *cancellable;

  /* Batches [start, end) of @uids, from the end. */
  GArray *bounds;
  guint next_batch;
  guint fetching;
  /* The BatchFetch of each UID FETCH on the wire, oldest first. */
  GPtrArray *inflight;
  guint preparing;
  gboolean writing;
  /* Ready: Batch, in the order asked for. */
  GQueue ready;
  GError *error;
} Pipeline;

/* One batch of fetched headers, parsed in a worker thread before the
 * store takes it. */
typedef struct
{
  GPtrArray *headers;
  gboolean prepared;
  /* The first, small batch is written alone, so that the newest mail
   * shows at once. */
  gboolean first;
} Batch;

static void
batch_free (Batch *batch)
{
  g_clear_pointer (&batch->headers, g_ptr_array_unref);
  g_free (batch);
}

typedef struct
{
  Pipeline *pipeline;
  guint index;
  Collected collected;
} BatchFetch;

/*
 * A server may work on pipelined commands at once (Dovecot does), so the
 * FETCH responses of a later batch can come before an earlier batch is
 * done; the client hands every one to the oldest UID FETCH.  Each message
 * goes to the batch that asked for its UID, so that a batch holds what it
 * asked for and goes to the store as soon as its command is done; one
 * that no batch asked for stays with the command that got it.
 */
static void
route_headers_cb (const TernImapFetch *fetch,
                  gpointer             user_data)
{
  BatchFetch *receiver = user_data;
  Pipeline *pipeline = receiver->pipeline;
  BatchFetch *target = receiver;

  if ((fetch->fields & TERN_IMAP_FETCH_UID) != 0 && fetch->uid != 0)
    {
      guint low = 0;
      guint high = pipeline->uids->len;

      /* The position of the UID in the sorted @uids, if there. */
      while (low < high)
        {
          guint middle = low + (high - low) / 2;

          if (g_array_index (pipeline->uids, guint32, middle) < fetch->uid)
            low = middle + 1;
          else
            high = middle;
        }

      if (low < pipeline->uids->len && g_array_index (pipeline->uids, guint32, low) == fetch->uid)
        {
          for (guint i = 0; i < pipeline->inflight->len; i++)
            {
              BatchFetch *batch = g_ptr_array_index (pipeline->inflight, i);
              TernImapUidRange *bound = &g_array_index (pipeline->bounds, TernImapUidRange,
                                                        batch->index);

              if (bound->first <= low && low < bound->last)
                {
                  target = batch;
                  break;
                }
            }
        }
    }

  collect_headers_cb (fetch, &target->collected);
}

static void pipeline_pump (Pipeline *pipeline);

static void
pipeline_wrote_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Pipeline *pipeline = user_data;
  g_autoptr(GArray) ids = NULL;
  GError *error = NULL;

  ids = tern_store_add_headers_finish (TERN_STORE (source), result, &error);
  if (ids == NULL)
    {
      if (pipeline->error == NULL)
        pipeline->error = error;
      else
        g_error_free (error);
    }
  else if (pipeline->new_ids != NULL)
    {
      g_array_append_vals (pipeline->new_ids, ids->data, ids->len);
    }

  pipeline->writing = FALSE;
  pipeline_pump (pipeline);
}

/* Parsing the headers, off the thread that reads the server. */
static void
prepare_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Batch *batch = task_data;

  for (guint i = 0; i < batch->headers->len; i++)
    tern_header_message_prepare (g_ptr_array_index (batch->headers, i));
  g_task_return_boolean (task, TRUE);
}

static void
pipeline_prepared_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Pipeline *pipeline = user_data;
  Batch *batch = g_task_get_task_data (G_TASK (result));

  batch->prepared = TRUE;
  pipeline->preparing--;
  pipeline_pump (pipeline);
}

static void
pipeline_fetched_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  BatchFetch *batch = user_data;
  Pipeline *pipeline = batch->pipeline;
  GError *error = NULL;

  pipeline->fetching--;
  g_ptr_array_remove (pipeline->inflight, batch);
  if (!tern_imap_client_uid_fetch_finish (TERN_IMAP_CLIENT (source), result, NULL, &error))
    {
      if (pipeline->error == NULL)
        pipeline->error = error;
      else
        g_error_free (error);
    }
  else
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, pipeline_prepared_cb, pipeline);
      Batch *ready = g_new0 (Batch, 1);

      ready->headers = g_ptr_array_ref (batch->collected.headers);
      ready->first = batch->index == 0;
      pipeline->stats->new_messages += ready->headers->len;
      g_queue_push_tail (&pipeline->ready, ready);
      pipeline->preparing++;
      g_task_set_task_data (task, ready, NULL);
      tern_background_run_in_thread (task, prepare_thread, "tern-prepare");
    }

  collected_clear (&batch->collected);
  g_free (batch);
  pipeline_pump (pipeline);
}

static void
pipeline_pump (Pipeline *pipeline)
{
  TernImapSync *self = pipeline->self;

  if (pipeline->error == NULL)
    g_cancellable_set_error_if_cancelled (pipeline->cancellable, &pipeline->error);

  /* Batches go to the store in the order they were asked for: the
   * replies of pipelined commands come in that order.  What arrived
   * whole before an error is kept all the same.  The prepared batches
   * that waited for the store while it wrote go in one write (but the
   * first, small one, which goes alone and at once): one commit
   * for them all rewrites the pages they share (the indexes on IDs and
   * the search index) once. */
  if (!pipeline->writing && !g_queue_is_empty (&pipeline->ready) &&
      ((Batch *) g_queue_peek_head (&pipeline->ready))->prepared)
    {
      g_autoptr(GPtrArray) headers = NULL;
      gboolean first = FALSE;

      while (!g_queue_is_empty (&pipeline->ready))
        {
          Batch *batch = g_queue_peek_head (&pipeline->ready);

          if (!batch->prepared ||
              (headers != NULL && (batch->first || headers->len + batch->headers->len > WRITE_MAX)))
            break;
          g_queue_pop_head (&pipeline->ready);
          first = batch->first;
          if (headers == NULL)
            headers = g_steal_pointer (&batch->headers);
          else
            g_ptr_array_extend_and_steal (headers, g_steal_pointer (&batch->headers));
          batch_free (batch);
          if (first)
            break;
        }

      pipeline->writing = TRUE;
      tern_store_add_headers_async (self->store, pipeline->folder_id, headers, NULL,
                                    pipeline_wrote_cb, pipeline);
    }

  if (pipeline->error != NULL)
    return;

  /* Fetched batches waiting for the store count too: memory stays bounded
   * when the store is the slower side. */
  while (pipeline->fetching + g_queue_get_length (&pipeline->ready) < FETCHES_IN_FLIGHT &&
         pipeline->next_batch < pipeline->bounds->len)
    {
      TernImapUidRange *bound = &g_array_index (pipeline->bounds, TernImapUidRange,
                                                pipeline->next_batch);
      g_autofree char *set = NULL;
      g_autofree char *items = NULL;
      BatchFetch *batch = g_new0 (BatchFetch, 1);

      set = tern_imap_uid_set_from_uids (&g_array_index (pipeline->uids, guint32, bound->first),
                                         bound->last - bound->first);
      items = g_strdup_printf ("(%s%s)", SUMMARY_ITEMS, self->condstore ? " MODSEQ" : "");
      batch->pipeline = pipeline;
      batch->index = pipeline->next_batch++;
      collected_init (&batch->collected);
      g_ptr_array_add (pipeline->inflight, batch);
      pipeline->fetching++;
      tern_imap_client_uid_fetch_async (self->client, set, items, 0, FALSE, route_headers_cb,
                                        batch, pipeline->cancellable, pipeline_fetched_cb, batch);
    }
}

static gboolean
fetch_new_headers (TernImapSync       *self,
                   TernSyncFolder     *folder,
                   GArray             *uids,
                   TernImapSyncStats  *stats,
                   GArray             *new_ids,
                   GCancellable       *cancellable,
                   GError            **error)
{
  Pipeline pipeline = { 0 };
  guint end_index = uids->len;
  guint batch = self->first_batch;

  pipeline.self = self;
  pipeline.folder_id = folder->id;
  pipeline.uids = uids;
  pipeline.new_ids = new_ids;
  pipeline.stats = stats;
  pipeline.cancellable = cancellable;
  pipeline.bounds = g_array_new (FALSE, FALSE, sizeof (TernImapUidRange));
  pipeline.inflight = g_ptr_array_new ();
  g_queue_init (&pipeline.ready);

  /* Index ranges into @uids, newest first ("first" and "last" here are
   * the start and end of the slice). */
  while (end_index > 0)
    {
      TernImapUidRange bound;

      bound.first = end_index > batch ? end_index - batch : 0;
      bound.last = end_index;
      g_array_append_val (pipeline.bounds, bound);
      end_index = bound.first;
      batch = BATCH;
    }

  pipeline_pump (&pipeline);
  while (pipeline.fetching > 0 || pipeline.writing || pipeline.preparing > 0 ||
         !g_queue_is_empty (&pipeline.ready) ||
         (pipeline.error == NULL && pipeline.next_batch < pipeline.bounds->len))
    g_main_context_iteration (self->context, TRUE);

  g_queue_clear_full (&pipeline.ready, (GDestroyNotify) batch_free);
  g_array_unref (pipeline.bounds);
  g_ptr_array_unref (pipeline.inflight);

  if (pipeline.error != NULL)
    {
      g_propagate_error (error, pipeline.error);
      return FALSE;
    }

  return TRUE;
}

/* The store ids of the bodies in @collected, from @wanted (entries of
 * the messages asked for). */
static void
match_bodies (GArray    *wanted,
              Collected *collected,
              GArray    *ids,
              GPtrArray *raws)
{
  for (guint i = 0; i < collected->body_uids->len; i++)
    {
      guint32 uid = g_array_index (collected->body_uids, guint32, i);

      for (guint j = 0; j < wanted->len; j++)
        {
          TernUidEntry *entry = &g_array_index (wanted, TernUidEntry, j);

          if (entry->uid == uid)
            {
              g_array_append_val (ids, entry->id);
              g_ptr_array_add (raws, g_bytes_ref (g_ptr_array_index (collected->bodies, i)));
              break;
            }
        }
    }
}

static gboolean
finish_attach (TernImapSync       *self,
               GAsyncResult      **pending,
               TernImapSyncStats  *stats,
               GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  guint count;

  count = tern_store_attach_bodies_finish (self->store, wait_for (self, pending), &local_error);
  g_clear_object (pending);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  stats->bodies += count;
  return TRUE;
}

/* Bodies for reading offline, newest first; the store writes one batch
 * while the next is fetched. */
static gboolean
fetch_missing_bodies (TernImapSync       *self,
                      TernSyncFolder     *folder,
                      TernImapSyncStats  *stats,
                      GCancellable       *cancellable,
                      GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) pending = NULL;
  g_autoptr(GArray) missing = NULL;
  gboolean in_flight = FALSE;
  gint64 since;

  if (!self->all_bodies && self->offline_days == 0)
    return TRUE;

  since = self->all_bodies ? 0 : g_get_real_time () / G_USEC_PER_SEC -
                                 (gint64) self->offline_days * 86400;
  tern_store_list_missing_bodies_async (self->store, folder->id, since, 0, NULL, got_result_cb,
                                        &result);
  missing = tern_store_list_missing_bodies_finish (self->store, wait_for (self, &result), error);
  if (missing == NULL)
    return FALSE;

  for (guint first = 0; first < missing->len; first += BODY_BATCH)
    {
      g_auto(Collected) collected = { 0 };
      g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autoptr(GArray) wanted = g_array_new (FALSE, FALSE, sizeof (TernUidEntry));
      g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr(GPtrArray) raws = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_autofree char *set = NULL;
      gboolean fetched;

      for (guint i = first; i < MIN (first + BODY_BATCH, missing->len); i++)
        {
          g_array_append_val (uids, g_array_index (missing, TernUidEntry, i).uid);
          g_array_append_val (wanted, g_array_index (missing, TernUidEntry, i));
        }
      g_array_sort (uids, compare_uids);
      set = tern_imap_uid_set_from_uids ((const guint32 *) uids->data, uids->len);

      collected_init (&collected);
      fetched = uid_fetch (self, set, "UID BODY.PEEK[]", 0, collect_bodies_cb, &collected, NULL,
                           cancellable, error);

      /* The batch before is written whatever became of this one. */
      if (in_flight)
        {
          in_flight = FALSE;
          if (!finish_attach (self, &pending, stats, fetched ? error : NULL) && fetched)
            return FALSE;
        }
      if (!fetched)
        return FALSE;

      match_bodies (wanted, &collected, ids, raws);
      if (ids->len > 0)
        {
          tern_store_attach_bodies_async (self->store, ids, raws, NULL, got_result_cb, &pending);
          in_flight = TRUE;
        }
    }

  return !in_flight || finish_attach (self, &pending, stats, error);
}

/* UIDs the server has, below @max_uid, that the store has neither as a
 * message nor as one a queued action took away: a sync cut short fetched
 * the newest first and left these. */
static void
add_missing (GArray     *server,
             TernUidMap *map,
             guint32     max_uid,
             GArray     *fresh)
{
  for (guint i = 0; i < server->len; i++)
    {
      guint32 uid = g_array_index (server, guint32, i);

      if (uid <= max_uid && tern_uid_map_lookup (map, uid) == NULL &&
          !uid_in (map->pending_uids, uid))
        g_array_append_val (fresh, uid);
    }
}

/*
 * One folder: SELECT (with QRESYNC when it can), a new UIDVALIDITY resets
 * it, known messages get their flags and expunges (VANISHED, CHANGEDSINCE,
 * or a full UID and flags diff), new ones their headers, newest first.
 */
static gboolean
sync_one_folder (TernImapSync       *self,
                 TernSyncFolder     *folder,
                 TernImapSyncStats  *stats,
                 GArray             *new_ids,
                 GCancellable       *cancellable,
                 GError            **error)
{
  g_autoptr(TernImapSelected) selected = NULL;
  g_autoptr(TernUidMap) map = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) updates = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_flag_update_free);
  g_autoptr(GArray) gone = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) fresh = g_array_new (FALSE, FALSE, sizeof (guint32));
  gboolean known = folder->uidvalidity != 0;
  gboolean qresync = self->qresync && known && folder->highestmodseq > 0;
  gboolean need_full_diff = TRUE;
  gboolean have_server_list = FALSE;
  guint32 max_uid = 0;
  guint known_on_server;

  selected = select_folder (self, folder, qresync, cancellable, error);
  if (selected == NULL)
    return FALSE;
  stats->folders++;

  if (known && selected->uidvalidity != folder->uidvalidity)
    {
      g_autoptr(GAsyncResult) reset = NULL;

      tern_store_reset_folder_async (self->store, folder->id, selected->uidvalidity, NULL,
                                     got_result_cb, &reset);
      if (!tern_store_reset_folder_finish (self->store, wait_for (self, &reset), error))
        return FALSE;
      stats->resets++;
      known = FALSE;
      qresync = FALSE;
      folder->highestmodseq = 0;
    }

  /* The messages about to come belong to this UIDVALIDITY, even when the
   * sync is cut short; UIDNEXT and HIGHESTMODSEQ wait until it is done, so
   * that the next sync compares every UID. */
  if (!known)
    {
      g_autoptr(GAsyncResult) saved = NULL;

      tern_store_set_folder_state_async (self->store, folder->id, selected->uidvalidity, 0, 0,
                                         NULL, got_result_cb, &saved);
      if (!tern_store_set_folder_state_finish (self->store, wait_for (self, &saved), error))
        return FALSE;
      folder->uidvalidity = selected->uidvalidity;
    }

  tern_store_get_uid_map_async (self->store, folder->id, 0, 0, NULL, got_result_cb, &result);
  map = tern_store_get_uid_map_finish (self->store, wait_for (self, &result), error);
  if (map == NULL)
    return FALSE;
  if (map->entries->len > 0)
    max_uid = g_array_index (map->entries, TernUidEntry, map->entries->len - 1).uid;
  if (map->pending_uids->len > 0)
    max_uid = MAX (max_uid, g_array_index (map->pending_uids, guint32, map->pending_uids->len - 1));

  if (qresync)
    {
      /* The server told what changed and what went in its SELECT reply. */
      ranges_to_uids (selected->vanished, gone);
      for (guint i = 0; selected->changed != NULL && i < selected->changed->len; i++)
        {
          Collected collected = { .updates = updates, .uids = fresh };

          collect_flags_cb (g_ptr_array_index (selected->changed, i), &collected);
        }
      g_array_set_size (fresh, 0);
      need_full_diff = FALSE;
    }
  else if (known && self->condstore && !selected->nomodseq && folder->highestmodseq > 0 &&
           max_uid > 0)
    {
      g_auto(Collected) collected = { 0 };
      g_autofree char *set = g_strdup_printf ("1:%u", max_uid);

      if (selected->highestmodseq != (guint64) folder->highestmodseq)
        {
          collected_init (&collected);
          if (!uid_fetch (self, set, "UID FLAGS", folder->highestmodseq, collect_flags_cb,
                          &collected, NULL, cancellable, error))
            return FALSE;
          g_ptr_array_extend_and_steal (updates, g_steal_pointer (&collected.updates));
        }
      need_full_diff = FALSE;
    }
  else if (max_uid > 0)
    {
      g_auto(Collected) collected = { 0 };
      g_autofree char *set = g_strdup_printf ("1:%u", max_uid);
      g_autoptr(GArray) server = NULL;

      /* No CONDSTORE: every known message's flags, and the UIDs the server
       * no longer lists. */
      collected_init (&collected);
      if (!uid_fetch (self, set, "UID FLAGS", 0, collect_flags_cb, &collected, NULL, cancellable,
                      error))
        return FALSE;
      server = g_steal_pointer (&collected.uids);
      g_array_sort (server, compare_uids);
      for (guint i = 0; i < map->entries->len; i++)
        {
          guint32 uid = g_array_index (map->entries, TernUidEntry, i).uid;

          if (!uid_in (server, uid))
            g_array_append_val (gone, uid);
        }
      for (guint i = 0; i < map->pending_uids->len; i++)
        {
          guint32 uid = g_array_index (map->pending_uids, guint32, i);

          if (!uid_in (server, uid))
            g_array_append_val (gone, uid);
        }
      add_missing (server, map, max_uid, fresh);
      g_ptr_array_extend_and_steal (updates, g_steal_pointer (&collected.updates));
      need_full_diff = FALSE;
      have_server_list = TRUE;
    }

  /* New mail: what lies above the highest UID known here. */
  if (selected->exists > 0 && (max_uid == 0 || selected->uidnext == 0 ||
                               selected->uidnext > max_uid + 1))
    {
      g_autofree char *criteria = g_strdup_printf ("UID %u:*", max_uid + 1);
      g_autoptr(GArray) found = uid_search (self, criteria, cancellable, error);

      if (found == NULL)
        return FALSE;
      for (guint i = 0; i < found->len; i++)
        {
          guint32 uid = g_array_index (found, guint32, i);

          /* "n:*" always matches the last message, even below n. */
          if (uid > max_uid)
            g_array_append_val (fresh, uid);
        }
    }

  g_array_sort (fresh, compare_uids);

  /* Expunges the server did not report, or messages a sync cut short did
   * not fetch: the count tells. */
  known_on_server = map->entries->len + map->pending_uids->len - gone->len + fresh->len;
  if (!have_server_list && (need_full_diff || selected->exists != known_on_server))
    {
      g_autoptr(GArray) server = NULL;

      if (max_uid > 0)
        {
          g_autofree char *criteria = g_strdup_printf ("UID 1:%u", max_uid);

          server = uid_search (self, criteria, cancellable, error);
          if (server == NULL)
            return FALSE;
          g_array_sort (server, compare_uids);
          for (guint i = 0; i < map->entries->len; i++)
            {
              guint32 uid = g_array_index (map->entries, TernUidEntry, i).uid;

              if (!uid_in (server, uid))
                g_array_append_val (gone, uid);
            }
          for (guint i = 0; i < map->pending_uids->len; i++)
            {
              guint32 uid = g_array_index (map->pending_uids, guint32, i);

              if (!uid_in (server, uid))
                g_array_append_val (gone, uid);
            }
          add_missing (server, map, max_uid, fresh);
          g_array_sort (fresh, compare_uids);
        }
    }

  if (updates->len > 0 || gone->len > 0)
    {
      guint changed = 0;

      if (!store_changes (self, folder->id, updates, gone, &changed, error))
        return FALSE;
      stats->flag_changes += changed;
      stats->expunged += gone->len;
    }

  if (fresh->len > 0 &&
      !fetch_new_headers (self, folder, fresh, stats, new_ids, cancellable, error))
    return FALSE;

  /* What the folder looked like, for the next sync (no write when that
   * is what the store has). */
  if (selected->uidvalidity != folder->uidvalidity || selected->uidnext != folder->uidnext ||
      (self->condstore && !selected->nomodseq ? (gint64) selected->highestmodseq : 0) !=
      folder->highestmodseq)
  {
    g_autoptr(GAsyncResult) saved = NULL;

    tern_store_set_folder_state_async (self->store, folder->id, selected->uidvalidity,
                                       selected->uidnext,
                                       self->condstore && !selected->nomodseq
                                       ? (gint64) selected->highestmodseq : 0,
                                       NULL, got_result_cb, &saved);
    if (!tern_store_set_folder_state_finish (self->store, wait_for (self, &saved), error))
      return FALSE;
    folder->uidvalidity = selected->uidvalidity;
    folder->uidnext = selected->uidnext;
    folder->highestmodseq = selected->highestmodseq;
  }

  return fetch_missing_bodies (self, folder, stats, cancellable, error);
}

/* The offline queue */

static GArray *
copy_uid_map (TernImapCopyResult *copied,
              GArray             *uids)
{
  g_autoptr(GArray) sources = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) targets = g_array_new (FALSE, FALSE, sizeof (guint32));
  GArray *result = g_array_new (FALSE, TRUE, sizeof (guint32));

  g_array_set_size (result, uids->len);
  if (copied == NULL || copied->source_uids == NULL || copied->dest_uids == NULL)
    return result;

  ranges_to_uids (copied->source_uids, sources);
  ranges_to_uids (copied->dest_uids, targets);
  if (sources->len != targets->len)
    return result;

  for (guint i = 0; i < uids->len; i++)
    {
      guint32 uid = g_array_index (uids, guint32, i);

      for (guint j = 0; j < sources->len; j++)
        {
          if (g_array_index (sources, guint32, j) == uid)
            {
              g_array_index (result, guint32, i) = g_array_index (targets, guint32, j);
              break;
            }
        }
    }

  return result;
}

static gboolean
ensure_selected (TernImapSync    *self,
                 TernSyncFolder  *folder,
                 GCancellable    *cancellable,
                 GError         **error)
{
  g_autoptr(TernImapSelected) selected = NULL;
  const char *current = tern_imap_client_get_selected_mailbox (self->client);

  if (current != NULL && g_strcmp0 (current, folder->remote_name) == 0 &&
      tern_imap_client_get_state (self->client) == TERN_IMAP_CLIENT_STATE_SELECTED)
    return TRUE;

  selected = select_folder (self, folder, FALSE, cancellable, error);
  if (selected == NULL)
    return FALSE;

  /* Queued UIDs mean nothing in a folder whose UIDVALIDITY changed: the
   * folder's sync resets it and drops them. */
  if (folder->uidvalidity != 0 && selected->uidvalidity != folder->uidvalidity)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_FAILED,
                   "The folder “%s” was made anew on the server", folder->path);
      return FALSE;
    }

  return TRUE;
}

static gboolean
replay_one (TernImapSync       *self,
            TernPendingAction  *action,
            GPtrArray          *folders,
            GArray            **out_new_uids,
            GCancellable       *cancellable,
            GError            **error)
{
  TernSyncFolder *source = find_folder (folders, NULL, action->folder_id);
  TernSyncFolder *target = action->target_id != 0 ? find_folder (folders, NULL, action->target_id)
                                                  : NULL;
  g_autofree char *set = NULL;

  if (source == NULL || source->remote_name == NULL ||
      (action->target_id != 0 && (target == NULL || target->remote_name == NULL)))
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   "The folder of a queued action is gone");
      return FALSE;
    }

  if (!ensure_selected (self, source, cancellable, error))
    return FALSE;

  set = tern_imap_uid_set_from_uids ((const guint32 *) action->uids->data, action->uids->len);

  switch (action->kind)
    {
    case TERN_ACTION_SET_FLAGS:
      {
        g_auto(GStrv) add = tern_imap_flags_from_store (action->flags_add);
        g_auto(GStrv) remove = tern_imap_flags_from_store (action->flags_remove);

        if (add[0] != NULL)
          {
            g_autoptr(GAsyncResult) result = NULL;

            tern_imap_client_uid_store_async (self->client, set, TERN_IMAP_STORE_ADD,
                                              (const char * const *) add, 0, cancellable,
                                              got_result_cb, &result);
            if (!tern_imap_client_uid_store_finish (self->client, wait_for (self, &result), NULL,
                                                    error))
              return FALSE;
          }
        if (remove[0] != NULL)
          {
            g_autoptr(GAsyncResult) result = NULL;

            tern_imap_client_uid_store_async (self->client, set, TERN_IMAP_STORE_REMOVE,
                                              (const char * const *) remove, 0, cancellable,
                                              got_result_cb, &result);
            if (!tern_imap_client_uid_store_finish (self->client, wait_for (self, &result), NULL,
                                                    error))
              return FALSE;
          }
        return TRUE;
      }

    case TERN_ACTION_MOVE:
    case TERN_ACTION_ARCHIVE:
    case TERN_ACTION_COPY:
      {
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(TernImapCopyResult) copied = NULL;

        /* The client moves with MOVE, else COPY and UID EXPUNGE of exactly
         * these UIDs. */
        if (action->kind == TERN_ACTION_COPY)
          tern_imap_client_uid_copy_async (self->client, set, target->remote_name, cancellable,
                                           got_result_cb, &result);
        else
          tern_imap_client_uid_move_async (self->client, set, target->remote_name, cancellable,
                                           got_result_cb, &result);
        copied = tern_imap_client_copy_finish (self->client, wait_for (self, &result), error);
        if (copied == NULL)
          return FALSE;
        if (action->kind != TERN_ACTION_COPY)
          *out_new_uids = copy_uid_map (copied, action->uids);
        return TRUE;
      }

    case TERN_ACTION_DELETE:
      {
        g_autoptr(GAsyncResult) stored = NULL;
        g_autoptr(GAsyncResult) expunged = NULL;
        const char *deleted[] = { "\\Deleted", NULL };

        tern_imap_client_uid_store_async (self->client, set, TERN_IMAP_STORE_ADD, deleted, 0,
                                          cancellable, got_result_cb, &stored);
        if (!tern_imap_client_uid_store_finish (self->client, wait_for (self, &stored), NULL,
                                                error))
          return FALSE;

        /* Never a bare EXPUNGE: without UIDPLUS the messages stay marked
         * \Deleted, for the server or another client to expunge. */
        if (!tern_imap_client_has_capability (self->client, "UIDPLUS"))
          return TRUE;
        tern_imap_client_uid_expunge_async (self->client, set, cancellable, got_result_cb,
                                            &expunged);
        return tern_imap_client_simple_finish (self->client, wait_for (self, &expunged), error);
      }

    case TERN_ACTION_APPEND:
    default:
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_UNSUPPORTED,
                   "Unknown queued action %d", action->kind);
      return FALSE;
    }
}

/* Uploads of messages that exist here only (%TERN_ACTION_APPEND) */

static TernSyncFolder *
find_sent (GPtrArray *folders)
{
  TernSyncFolder *folder = find_role (folders, TERN_FOLDER_ROLE_SENT);

  if (folder != NULL && folder->selectable)
    return folder;

  /* A server without special-use attributes, or the folder Tern made. */
  for (guint i = 0; i < folders->len; i++)
    {
      folder = g_ptr_array_index (folders, i);
      if (folder->remote_name != NULL && folder->selectable &&
          g_ascii_strcasecmp (folder->path, "Sent") == 0)
        return folder;
    }

  return NULL;
}

/* Lists the server's folders again, into @folders: the caller and the
 * rest of the run see the same list. */
static gboolean
relist_folders (TernImapSync  *self,
                GPtrArray     *folders,
                GCancellable  *cancellable,
                GError       **error)
{
  GPtrArray *fresh = sync_folder_list (self, cancellable, error);

  if (fresh == NULL)
    return FALSE;
  g_ptr_array_set_size (folders, 0);
  g_ptr_array_extend_and_steal (folders, fresh);
  return TRUE;
}

/* The folder an upload goes to: the one it names while the server still
 * has it, else the account's Sent folder.  An account whose server has no
 * Sent folder gets one called "Sent", as mail programs commonly make it:
 * a user expects sent mail on the server, where every device sees it,
 * and keeping it here only would make this computer the one place it
 * exists.  Should the server refuse, the error stays on the action and the
 * message here, for the next sync to try again. */
static TernSyncFolder *
append_target (TernImapSync       *self,
               TernPendingAction  *action,
               GPtrArray          *folders,
               GCancellable       *cancellable,
               GError            **error)
{
  g_autoptr(GAsyncResult) created = NULL;
  g_autoptr(GAsyncResult) subscribed = NULL;
  TernSyncFolder *folder = action->folder_id != 0 ? find_folder (folders, NULL, action->folder_id)
                                                  : NULL;

  if (folder != NULL && folder->remote_name != NULL && folder->selectable)
    return folder;
  if ((folder = find_sent (folders)) != NULL)
    return folder;

  /* The list may be the store's only (a replay without a sync): ask the
   * server before making anything. */
  if (!relist_folders (self, folders, cancellable, error))
    return NULL;
  if ((folder = find_sent (folders)) != NULL)
    return folder;

  tern_imap_client_create_async (self->client, "Sent", cancellable, got_result_cb, &created);
  if (!tern_imap_client_simple_finish (self->client, wait_for (self, &created), error))
    {
      g_prefix_error (error, "Could not make a Sent folder on the server: ");
      return NULL;
    }
  /* Without LIST-EXTENDED every folder counts as subscribed; with it, the
   * new folder has to be, for the sync to follow it.  A refusal costs
   * nothing but that. */
  tern_imap_client_subscribe_async (self->client, "Sent", TRUE, cancellable, got_result_cb,
                                    &subscribed);
  tern_imap_client_simple_finish (self->client, wait_for (self, &subscribed), NULL);

  if (!relist_folders (self, folders, cancellable, error))
    return NULL;
  folder = find_sent (folders);
  if (folder == NULL)
    g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_FAILED,
                 "The server made no Sent folder");
  return folder;
}

/* Uploads the message of a %TERN_ACTION_APPEND and tells where it went
 * (*@out_folder_id, 0 when there was nothing to upload any more) and the
 * UID it got there (APPENDUID, else 0).  The store changes nothing until
 * the server has answered OK. */
static gboolean
replay_append (TernImapSync       *self,
               TernPendingAction  *action,
               GPtrArray          *folders,
               gint64             *out_folder_id,
               guint32            *out_uidvalidity,
               guint32            *out_uid,
               GCancellable       *cancellable,
               GError            **error)
{
  g_autoptr(GAsyncResult) got = NULL;
  g_autoptr(GAsyncResult) read = NULL;
  g_autoptr(GAsyncResult) appended = NULL;
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) flags = NULL;
  TernSyncFolder *target;
  gint64 message_id;
  guint32 uidvalidity = 0;
  guint32 uid = 0;

  *out_folder_id = 0;
  *out_uidvalidity = 0;
  *out_uid = 0;
  if (action->message_ids->len == 0)
    return TRUE;
  message_id = g_array_index (action->message_ids, gint64, 0);

  /* Deleted here before it went up: there is nothing to upload.  Already
   * with a UID: it is on the server. */
  tern_store_get_message_async (self->store, message_id, NULL, got_result_cb, &got);
  message = tern_store_get_message_finish (self->store, wait_for (self, &got), &local_error);
  if (message == NULL)
    {
      if (g_error_matches (local_error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (tern_message_get_uid (message) > 0)
    return TRUE;

  target = append_target (self, action, folders, cancellable, error);
  if (target == NULL)
    return FALSE;

  tern_store_get_raw_async (self->store, message_id, NULL, got_result_cb, &read);
  raw = tern_store_get_raw_finish (self->store, wait_for (self, &read), &local_error);
  if (raw == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_FAILED,
                   "Could not read message %" G_GINT64_FORMAT " for its upload: %s", message_id,
                   local_error->message);
      return FALSE;
    }

  flags = g_strsplit_set (action->argument != NULL ? action->argument : "\\Seen", " ", -1);
  {
    /* g_strsplit_set() gives empty strings for doubled spaces. */
    guint kept = 0;

    for (guint i = 0; flags[i] != NULL; i++)
      {
        if (flags[i][0] == '\0')
          g_free (flags[i]);
        else
          flags[kept++] = flags[i];
      }
    flags[kept] = NULL;
  }
  if (tern_message_get_date (message) > 0)
    date = g_date_time_new_from_unix_utc (tern_message_get_date (message));

  tern_imap_client_append_async (self->client, target->remote_name, (const char * const *) flags,
                                 date, raw, cancellable, got_result_cb, &appended);
  if (!tern_imap_client_append_finish (self->client, wait_for (self, &appended), &uidvalidity,
                                       &uid, error))
    return FALSE;

  *out_folder_id = target->id;
  *out_uidvalidity = uidvalidity;
  *out_uid = tern_imap_client_has_capability (self->client, "UIDPLUS") &&
             !is_disabled (self, "UIDPLUS") ? uid : 0;
  return TRUE;
}

static gboolean
is_known_kind (TernActionKind kind)
{
  switch (kind)
    {
    case TERN_ACTION_SET_FLAGS:
    case TERN_ACTION_MOVE:
    case TERN_ACTION_COPY:
    case TERN_ACTION_DELETE:
    case TERN_ACTION_ARCHIVE:
    case TERN_ACTION_APPEND:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_session_error (const GError *error)
{
  return !g_error_matches (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_NO) &&
         !g_error_matches (error, TERN_IMAP_CLIENT_ERROR, TERN_IMAP_CLIENT_ERROR_BAD) &&
         !g_error_matches (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND) &&
         !g_error_matches (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_FAILED);
}

/* Replays the queue in order.  An action the server refuses stays queued
 * with its error; a lost connection stops the replay.
 *
 * An action of a kind this version does not know (written by a newer
 * one, or damaged) stays queued with an error and the replay goes on:
 * it says nothing about the connection, and stopping there would hold
 * back every later action of the account on every run. */
static gboolean
replay_actions (TernImapSync       *self,
                GPtrArray          *folders,
                TernImapSyncStats  *stats,
                GCancellable       *cancellable,
                GError            **error)
{
  g_autoptr(GAsyncResult) listed = NULL;
  g_autoptr(GPtrArray) actions = NULL;

  tern_store_list_actions_async (self->store, self->account_id, NULL, got_result_cb, &listed);
  actions = tern_store_list_actions_finish (self->store, wait_for (self, &listed), error);
  if (actions == NULL)
    return FALSE;

  for (guint i = 0; i < actions->len; i++)
    {
      TernPendingAction *action = g_ptr_array_index (actions, i);
      g_autoptr(GArray) new_uids = NULL;
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GAsyncResult) finished = NULL;
      gboolean done;

      if (!is_known_kind (action->kind))
        {
          g_set_error (&local_error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_UNSUPPORTED,
                       "Unknown queued action %d", action->kind);
          done = FALSE;
        }
      else if (action->kind == TERN_ACTION_APPEND)
        {
          gint64 folder_id = 0;
          guint32 uidvalidity = 0;
          guint32 uid = 0;

          done = replay_append (self, action, folders, &folder_id, &uidvalidity, &uid,
                                cancellable, &local_error);
          if (done)
            {
              tern_store_finish_append_async (self->store, action->id, folder_id, uidvalidity, uid,
                                              NULL, got_result_cb, &finished);
              if (!tern_store_finish_append_finish (self->store, wait_for (self, &finished), error))
                return FALSE;
              stats->actions_replayed++;
              continue;
            }
        }
      else
        {
          done = action->uids->len == 0 ||
                 replay_one (self, action, folders, &new_uids, cancellable, &local_error);
        }
      if (!done && is_known_kind (action->kind) && is_session_error (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      tern_store_finish_action_async (self->store, action->id, new_uids,
                                      done ? NULL : local_error->message, NULL, got_result_cb,
                                      &finished);
      if (!tern_store_finish_action_finish (self->store, wait_for (self, &finished), error))
        return FALSE;

      if (done)
        stats->actions_replayed++;
      else
        stats->actions_failed++;
    }

  return TRUE;
}

/* Runs */

static gboolean
run_locked (TernImapSync       *self,
            const char         *folder_path,
            TernImapSyncStats  *stats,
            GArray             *new_ids,
            GCancellable       *cancellable,
            GError            **error)
{
  g_autoptr(GPtrArray) folders = NULL;

  if (!ensure_client (self, cancellable, error))
    return FALSE;

  folders = sync_folder_list (self, cancellable, error);
  if (folders == NULL)
    return FALSE;

  if (!replay_actions (self, folders, stats, cancellable, error))
    return FALSE;

  for (guint i = 0; i < folders->len; i++)
    {
      TernSyncFolder *folder = g_ptr_array_index (folders, i);

      if (folder->remote_name == NULL || !folder->selectable)
        continue;
      if (folder_path != NULL ? g_strcmp0 (folder->path, folder_path) != 0 : !folder->subscribed)
        continue;

      if (!sync_one_folder (self, folder, stats, new_ids, cancellable, error))
        {
          g_prefix_error (error, "%s: ", folder->path);
          return FALSE;
        }
    }

  if (folder_path != NULL && find_folder (folders, folder_path, 0) == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   "The server has no folder “%s”", folder_path);
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_imap_sync_run:
 * @folder_path: (nullable): one folder's store path, or %NULL for every
 *   subscribed folder
 * @stats: (out caller-allocates) (optional): what the run did
 *
 * Connects when needed, replays the queued actions, updates the folder
 * list, and syncs the folders.  Blocks, iterating the thread-default main
 * context.  The connection stays open for the next call.
 */
gboolean
tern_imap_sync_run (TernImapSync       *self,
                    const char         *folder_path,
                    TernImapSyncStats  *stats,
                    GCancellable       *cancellable,
                    GError            **error)
{
  g_autoptr(GArray) new_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  TernImapSyncStats local_stats = { 0 };
  gboolean began;
  gboolean ok;

  g_return_val_if_fail (TERN_IS_IMAP_SYNC (self), FALSE);

  began = begin (self);
  ok = run_locked (self, folder_path, &local_stats, new_ids, cancellable, error);
  if (!ok)
    tern_imap_sync_disconnect (self);
  end (self, began);

  if (stats != NULL)
    *stats = local_stats;
  return ok;
}

/**
 * tern_imap_sync_replay:
 * @stats: (out caller-allocates) (optional): what was replayed
 *
 * Replays the queued actions of the account now, without syncing the
 * folders: what tern-cli does after a flag or a move.
 */
gboolean
tern_imap_sync_replay (TernImapSync       *self,
                       TernImapSyncStats  *stats,
                       GCancellable       *cancellable,
                       GError            **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  TernImapSyncStats local_stats = { 0 };
  gboolean began;
  gboolean ok = FALSE;

  g_return_val_if_fail (TERN_IS_IMAP_SYNC (self), FALSE);

  began = begin (self);
  if (ensure_client (self, cancellable, error))
    {
      folders = store_list_folders (self, error);
      ok = folders != NULL && replay_actions (self, folders, &local_stats, cancellable, error);
    }
  if (!ok)
    tern_imap_sync_disconnect (self);
  end (self, began);

  if (stats != NULL)
    *stats = local_stats;
  return ok;
}

typedef struct
{
  char *folder_path;
  TernImapSyncStats stats;
} RunData;

static void
run_data_free (RunData *data)
{
  g_free (data->folder_path);
  g_free (data);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  TernImapSync *self = source_object;
  RunData *data = task_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  GError *error = NULL;
  gboolean ok;

  g_main_context_push_thread_default (context);
  ok = tern_imap_sync_run (self, data->folder_path, &data->stats, cancellable, &error);
  /* The connection belongs to this thread's context: it closes here. */
  tern_imap_sync_disconnect (self);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * tern_imap_sync_run_async:
 *
 * tern_imap_sync_run() in a thread of its own, for the app's main
 * context.  One run at a time per #TernImapSync.
 */
void
tern_imap_sync_run_async (TernImapSync        *self,
                          const char          *folder_path,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RunData *data;

  g_return_if_fail (TERN_IS_IMAP_SYNC (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_imap_sync_run_async);
  data = g_new0 (RunData, 1);
  data->folder_path = g_strdup (folder_path);
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);
  tern_background_run_in_thread (task, run_thread, "tern-imap-sync");
}

gboolean
tern_imap_sync_run_finish (TernImapSync       *self,
                           GAsyncResult       *result,
                           TernImapSyncStats  *stats,
                           GError            **error)
{
  RunData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (stats != NULL)
    *stats = data->stats;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Single messages */

static TernSyncFolder *
folder_of_message (TernImapSync  *self,
                   GPtrArray     *folders,
                   gint64         message_id,
                   TernMessage  **out_message,
                   GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernMessage) message = NULL;
  TernSyncFolder *folder;

  tern_store_get_message_async (self->store, message_id, NULL, got_result_cb, &result);
  message = tern_store_get_message_finish (self->store, wait_for (self, &result), error);
  if (message == NULL)
    return NULL;

  folder = find_folder (folders, NULL, tern_message_get_folder_id (message));
  if (folder == NULL || folder->remote_name == NULL || tern_message_get_uid (message) <= 0)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   "Message %" G_GINT64_FORMAT " is not on the server of “%s”", message_id,
                   self->account_id);
      return NULL;
    }

  *out_message = g_steal_pointer (&message);
  return folder;
}

/**
 * tern_imap_sync_fetch_body:
 *
 * Fetches one message's body now (when it is opened) and stores it.
 */
gboolean
tern_imap_sync_fetch_body (TernImapSync  *self,
                           gint64         message_id,
                           GCancellable  *cancellable,
                           GError       **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(TernMessage) message = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) raws = g_ptr_array_new ();
  g_autoptr(GAsyncResult) attached = NULL;
  g_autoptr(GError) local_error = NULL;
  TernSyncFolder *folder;
  gboolean began = begin (self);
  gboolean ok = FALSE;

  folders = store_list_folders (self, error);
  if (folders == NULL)
    goto out;
  folder = folder_of_message (self, folders, message_id, &message, error);
  if (folder == NULL)
    goto out;
  if (tern_message_get_body_state (message) == TERN_BODY_STATE_COMPLETE)
    {
      ok = TRUE;
      goto out;
    }

  if (!ensure_client (self, cancellable, error) ||
      !ensure_selected (self, folder, cancellable, error))
    goto out;

  tern_imap_client_fetch_body_async (self->client, tern_message_get_uid (message), "",
                                     cancellable, got_result_cb, &result);
  body = tern_imap_client_fetch_body_finish (self->client, wait_for (self, &result), error);
  if (body == NULL)
    goto out;

  g_array_append_val (ids, message_id);
  g_ptr_array_add (raws, body);
  tern_store_attach_bodies_async (self->store, ids, raws, NULL, got_result_cb, &attached);
  tern_store_attach_bodies_finish (self->store, wait_for (self, &attached), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      goto out;
    }
  ok = TRUE;

out:
  end (self, began);
  return ok;
}

/**
 * tern_imap_sync_append:
 * @folder_path: the store path of a server folder
 * @flags: #TernMessageFlags the message gets
 * @out_uid: (out) (optional): its UID when the server says (UIDPLUS), else 0
 *
 * Uploads a message (a draft, a sent message) with APPEND, then syncs the
 * folder so that the store has it.
 */
gboolean
tern_imap_sync_append (TernImapSync  *self,
                       const char    *folder_path,
                       GBytes        *message,
                       guint          flags,
                       guint32       *out_uid,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_auto(GStrv) names = tern_imap_flags_from_store (flags);
  TernSyncFolder *folder;
  guint32 uidvalidity = 0;
  guint32 uid = 0;
  gboolean began = begin (self);
  gboolean ok = FALSE;

  if (!ensure_client (self, cancellable, error))
    goto out;
  folders = sync_folder_list (self, cancellable, error);
  if (folders == NULL)
    goto out;
  folder = find_folder (folders, folder_path, 0);
  if (folder == NULL || folder->remote_name == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   "The server has no folder “%s”", folder_path);
      goto out;
    }

  tern_imap_client_append_async (self->client, folder->remote_name, (const char * const *) names,
                                 NULL, message, cancellable, got_result_cb, &result);
  if (!tern_imap_client_append_finish (self->client, wait_for (self, &result), &uidvalidity, &uid,
                                       error))
    goto out;

  ok = run_locked (self, folder_path, &(TernImapSyncStats) { 0 },
                   NULL, cancellable, error);
  if (out_uid != NULL)
    *out_uid = uid;

out:
  end (self, began);
  return ok;
}

/**
 * tern_imap_sync_get_quota:
 * @out_used_kib: (out): storage used, in KiB
 * @out_limit_kib: (out): the storage limit, in KiB
 *
 * Asks the server how full the account is (QUOTA, for the INBOX's root).
 */
gboolean
tern_imap_sync_get_quota (TernImapSync  *self,
                          guint64       *out_used_kib,
                          guint64       *out_limit_kib,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) quotas = NULL;
  gboolean began = begin (self);
  gboolean ok = FALSE;

  if (!ensure_client (self, cancellable, error))
    goto out;

  tern_imap_client_get_quota_root_async (self->client, "INBOX", cancellable, got_result_cb,
                                         &result);
  quotas = tern_imap_client_get_quota_root_finish (self->client, wait_for (self, &result), error);
  if (quotas == NULL)
    goto out;

  for (guint i = 0; i < quotas->len; i++)
    {
      TernImapQuota *quota = g_ptr_array_index (quotas, i);

      if (quota->has_storage)
        {
          *out_used_kib = quota->storage_used;
          *out_limit_kib = quota->storage_limit;
          ok = TRUE;
          goto out;
        }
    }

  g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
               "The server sets no storage limit for this account");

out:
  end (self, began);
  return ok;
}

/**
 * tern_imap_sync_archive:
 * @folder_path: a server folder
 * @older_than_days: messages whose INTERNALDATE is older than this many
 *   days go
 * @local_folder_id: a folder on this computer
 * @out_count: (out) (optional): how many messages moved
 *
 * Moves old mail from the server to this computer: each batch is fetched,
 * stored and synced to the disk (%TERN_STORE_DURABILITY_SYNCED), and only
 * then deleted on the server with UID EXPUNGE of exactly those UIDs.
 * Needs UIDPLUS: without it nothing is deleted, as the folder cannot be
 * expunged safely.
 */
gboolean
tern_imap_sync_archive (TernImapSync  *self,
                        const char    *folder_path,
                        guint          older_than_days,
                        gint64         local_folder_id,
                        guint         *out_count,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GArray) old = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) cutoff = g_date_time_add_days (now, -(gint) older_than_days);
  g_autofree char *date = NULL;
  g_autofree char *criteria = NULL;
  TernSyncFolder *folder;
  gboolean began = begin (self);
  gboolean ok = FALSE;
  guint moved = 0;

  if (!run_locked (self, folder_path, &(TernImapSyncStats) { 0 }, NULL, cancellable, error))
    goto out;

  if (!tern_imap_client_has_capability (self->client, "UIDPLUS"))
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_UNSUPPORTED,
                   "The server cannot delete single messages safely (no UIDPLUS); nothing was "
                   "moved");
      goto out;
    }

  folders = store_list_folders (self, error);
  if (folders == NULL)
    goto out;
  folder = find_folder (folders, folder_path, 0);
  if (folder == NULL || folder->remote_name == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   "The server has no folder “%s”", folder_path);
      goto out;
    }
  if (!ensure_selected (self, folder, cancellable, error))
    goto out;

  /* IMAP dates are days: BEFORE is "earlier than that day". */
  date = g_date_time_format (cutoff, "%d-%b-%Y");
  criteria = g_strdup_printf ("BEFORE %s", date);
  old = uid_search (self, criteria, cancellable, error);
  if (old == NULL)
    goto out;
  g_array_sort (old, compare_uids);

  for (guint first = 0; first < old->len; first += BODY_BATCH)
    {
      g_auto(Collected) collected = { 0 };
      g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
      g_autoptr(GAsyncResult) added = NULL;
      g_autoptr(GAsyncResult) expunged = NULL;
      g_autoptr(GAsyncResult) stored = NULL;
      g_autoptr(GArray) ids = NULL;
      g_autoptr(GArray) done = g_array_new (FALSE, FALSE, sizeof (guint32));
      g_autofree char *set = NULL;
      g_autofree char *done_set = NULL;
      const char *deleted[] = { "\\Deleted", NULL };
      guint count = MIN (BODY_BATCH, old->len - first);

      set = tern_imap_uid_set_from_uids (&g_array_index (old, guint32, first), count);
      collected_init (&collected);
      if (!uid_fetch (self, set, "UID FLAGS INTERNALDATE BODY.PEEK[]", 0, collect_archive_cb,
                      &collected, NULL, cancellable, error))
        goto out;
      if (collected.body_uids->len == 0)
        continue;

      for (guint i = 0; i < collected.bodies->len; i++)
        {
          TernFlagUpdate *facts = g_ptr_array_index (collected.updates, i);
          TernNewMessage *message = tern_new_message_new (g_ptr_array_index (collected.bodies, i),
                                                          facts->flags,
                                                          g_array_index (collected.dates, gint64, i));

          message->keywords = g_strdup (facts->keywords);
          tern_new_message_prepare (message);
          g_ptr_array_add (messages, message);
        }

      /* The local copy reaches the disk before the server's goes. */
      tern_store_add_messages_async (self->store, local_folder_id, messages,
                                     TERN_STORE_DURABILITY_SYNCED, NULL, got_result_cb, &added);
      ids = tern_store_add_messages_finish (self->store, wait_for (self, &added), error);
      if (ids == NULL)
        goto out;

      g_array_append_vals (done, collected.body_uids->data, collected.body_uids->len);
      g_array_sort (done, compare_uids);
      done_set = tern_imap_uid_set_from_uids ((const guint32 *) done->data, done->len);
      tern_imap_client_uid_store_async (self->client, done_set, TERN_IMAP_STORE_ADD, deleted, 0,
                                        cancellable, got_result_cb, &stored);
      if (!tern_imap_client_uid_store_finish (self->client, wait_for (self, &stored), NULL, error))
        goto out;
      tern_imap_client_uid_expunge_async (self->client, done_set, cancellable, got_result_cb,
                                          &expunged);
      if (!tern_imap_client_simple_finish (self->client, wait_for (self, &expunged), error))
        goto out;

      if (!store_changes (self, folder->id, NULL, done, NULL, error))
        goto out;
      moved += done->len;
    }

  ok = TRUE;

out:
  if (out_count != NULL)
    *out_count = moved;
  end (self, began);
  return ok;
}

/* Watching */

static gboolean
wake_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  TernImapSync *self = user_data;

  g_main_context_wakeup (self->context);
}

/* Sleeps @seconds or until @cancellable fires. */
static void
sleep_cancellable (TernImapSync *self,
                   guint         seconds,
                   GCancellable *cancellable)
{
  gboolean woke = FALSE;
  g_autoptr(GSource) source = g_timeout_source_new_seconds (seconds);

  g_source_set_callback (source, wake_cb, &woke, NULL);
  g_source_attach (source, self->context);
  while (!woke && !g_cancellable_is_cancelled (cancellable))
    g_main_context_iteration (self->context, TRUE);
  g_source_destroy (source);
}

static gboolean
watch_once (TernImapSync             *self,
            TernImapSyncNewMailFunc   func,
            gpointer                  user_data,
            guint                    *backoff,
            GCancellable             *cancellable,
            GError                  **error)
{
  g_autoptr(GPtrArray) folders = NULL;
  TernSyncFolder *inbox;

  if (!ensure_client (self, cancellable, error))
    return FALSE;
  *backoff = BACKOFF_MIN_SECONDS;
  folders = sync_folder_list (self, cancellable, error);
  if (folders == NULL)
    return FALSE;
  if (!replay_actions (self, folders, &(TernImapSyncStats) { 0 }, cancellable, error))
    return FALSE;
  inbox = find_role (folders, TERN_FOLDER_ROLE_INBOX);
  if (inbox == NULL)
    {
      g_set_error (error, TERN_IMAP_SYNC_ERROR, TERN_IMAP_SYNC_ERROR_NOT_FOUND,
                   "The server has no INBOX");
      return FALSE;
    }

  for (;;)
    {
      g_autoptr(GArray) new_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr(GAsyncResult) idled = NULL;
      TernImapSyncStats stats = { 0 };
      gboolean restart = FALSE;
      g_autoptr(GSource) timer = NULL;

      if (!sync_one_folder (self, inbox, &stats, new_ids, cancellable, error))
        return FALSE;
      if (new_ids->len > 0 && func != NULL)
        func (inbox->path, new_ids, user_data);

      if (!tern_imap_client_has_capability (self->client, "IDLE"))
        {
          /* No IDLE: ask again every minute. */
          sleep_cancellable (self, 60, cancellable);
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          continue;
        }

      self->server_changed = FALSE;
      tern_imap_client_idle_async (self->client, cancellable, got_result_cb, &idled);

      timer = g_timeout_source_new_seconds (TERN_IMAP_IDLE_RESTART_SECONDS);
      g_source_set_callback (timer, wake_cb, &restart, NULL);
      g_source_attach (timer, self->context);
      while (idled == NULL && !self->server_changed && !restart &&
             !g_cancellable_is_cancelled (cancellable))
        g_main_context_iteration (self->context, TRUE);
      g_source_destroy (timer);

      if (idled == NULL)
        tern_imap_client_idle_done (self->client);
      if (!tern_imap_client_simple_finish (self->client, wait_for (self, &idled), error))
        return FALSE;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
    }
}

/**
 * tern_imap_sync_watch:
 * @func: (scope call) (nullable): told of new mail in the INBOX
 *
 * Keeps the INBOX in step until @cancellable fires: syncs it, waits with
 * IDLE (restarted before servers drop it), syncs when the server reports a
 * change.  A lost connection is opened again after 1, 2, 4… up to 60
 * seconds; a refused login ends the watch, as trying again would not help.
 *
 * Returns: %FALSE with @error set: cancelled, or a login error.
 */
gboolean
tern_imap_sync_watch (TernImapSync             *self,
                      TernImapSyncNewMailFunc   func,
                      gpointer                  user_data,
                      GCancellable             *cancellable,
                      GError                  **error)
{
  gboolean began = begin (self);
  guint backoff = BACKOFF_MIN_SECONDS;
  gulong cancel_id = 0;

  g_return_val_if_fail (TERN_IS_IMAP_SYNC (self), FALSE);

  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), self, NULL);

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;

      if (watch_once (self, func, user_data, &backoff, cancellable, &local_error))
        continue;

      tern_imap_sync_disconnect (self);
      if (g_cancellable_is_cancelled (cancellable) ||
          g_error_matches (local_error, TERN_IMAP_CLIENT_ERROR,
                           TERN_IMAP_CLIENT_ERROR_AUTHENTICATION_FAILED) ||
          g_error_matches (local_error, TERN_IMAP_CLIENT_ERROR,
                           TERN_IMAP_CLIENT_ERROR_TLS_REQUIRED) ||
          g_error_matches (local_error, TERN_CONNECTION_ERROR,
                           TERN_CONNECTION_ERROR_CERTIFICATE))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }

      g_debug ("IMAP watch of %s: %s; again in %u s", self->account_id, local_error->message,
               backoff);
      sleep_cancellable (self, backoff, cancellable);
      backoff = MIN (backoff * 2, BACKOFF_MAX_SECONDS);
    }

  if (cancel_id != 0)
    g_cancellable_disconnect (cancellable, cancel_id);
  end (self, began);
  return FALSE;
}
