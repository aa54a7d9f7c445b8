/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "tern-account-manager.h"
#include "tern-account-private.h"

/*
 * TernAccountManager: the accounts of a profile, one file each under
 * `<config folder>/accounts/`, in the order the user put them.  The manager
 * is a GListModel of TernAccount in that order, for the sidebar and the
 * account settings.
 *
 * A file that fails its checks never stops Tern: loading skips it, keeps
 * the others and hands back the problems, so that the app can show them.
 * The file itself stays on disk untouched, and its id stays taken, so that
 * a new account never overwrites what the user may still want to repair.
 *
 * Removing an account deletes its file and emits "account-removed"; the
 * store removes the account's local mail when it hears of it.
 */

#define ACCOUNTS_FOLDER "accounts"
#define MAX_ID_LENGTH   48

struct _TernAccountManager
{
  GObject parent_instance;

  char *accounts_dir;
  /* TernAccount, in the user's order. */
  GPtrArray *accounts;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TernAccountManager, tern_account_manager, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_ACCOUNTS_DIR,
  PROP_N_ITEMS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  ACCOUNT_ADDED,
  ACCOUNT_REMOVED,
  ACCOUNT_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* GListModel */

static GType
tern_account_manager_get_item_type (GListModel *model)
{
  return TERN_TYPE_ACCOUNT;
}

static guint
tern_account_manager_get_n_items (GListModel *model)
{
  TernAccountManager *self = TERN_ACCOUNT_MANAGER (model);

  return self->accounts->len;
}

static gpointer
tern_account_manager_get_item (GListModel *model,
                               guint       position)
{
  TernAccountManager *self = TERN_ACCOUNT_MANAGER (model);

  if (position >= self->accounts->len)
    return NULL;

  return g_object_ref (self->accounts->pdata[position]);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = tern_account_manager_get_item_type;
  iface->get_n_items = tern_account_manager_get_n_items;
  iface->get_item = tern_account_manager_get_item;
}

static void
items_changed (TernAccountManager *self,
               guint               position,
               guint               removed,
               guint               added)
{
  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
  if (removed != added)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

/* GObject */

static void
tern_account_manager_finalize (GObject *object)
{
  TernAccountManager *self = TERN_ACCOUNT_MANAGER (object);

  g_clear_pointer (&self->accounts_dir, g_free);
  g_clear_pointer (&self->accounts, g_ptr_array_unref);

  G_OBJECT_CLASS (tern_account_manager_parent_class)->finalize (object);
}

static void
tern_account_manager_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TernAccountManager *self = TERN_ACCOUNT_MANAGER (object);

  switch (prop_id)
    {
    case PROP_ACCOUNTS_DIR:
      g_value_set_string (value, self->accounts_dir);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->accounts->len);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_account_manager_class_init (TernAccountManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tern_account_manager_finalize;
  object_class->get_property = tern_account_manager_get_property;

  properties[PROP_ACCOUNTS_DIR] =
    g_param_spec_string ("accounts-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TernAccountManager::account-added:
   * @account: the new account, already in the list and on disk
   */
  signals[ACCOUNT_ADDED] =
    g_signal_new ("account-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, TERN_TYPE_ACCOUNT);

  /**
   * TernAccountManager::account-removed:
   * @account: the account, no longer in the list; its file is gone
   *
   * The store removes the account's local mail on this signal.
   */
  signals[ACCOUNT_REMOVED] =
    g_signal_new ("account-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, TERN_TYPE_ACCOUNT);

  /**
   * TernAccountManager::account-changed:
   * @account: an account whose changed settings are now on disk
   *
   * Services restart with the new settings on this signal.
   */
  signals[ACCOUNT_CHANGED] =
    g_signal_new ("account-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, TERN_TYPE_ACCOUNT);
}

static void
tern_account_manager_init (TernAccountManager *self)
{
  self->accounts = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * tern_account_manager_new:
 * @config_dir: the profile's config folder, from tern_paths_get_config_dir()
 *
 * A manager with no accounts until tern_account_manager_load().
 *
 * Returns: (transfer full): a new #TernAccountManager.
 */
TernAccountManager *
tern_account_manager_new (const char *config_dir)
{
  TernAccountManager *self;

  g_return_val_if_fail (config_dir != NULL, NULL);

  self = g_object_new (TERN_TYPE_ACCOUNT_MANAGER, NULL);
  self->accounts_dir = g_build_filename (config_dir, ACCOUNTS_FOLDER, NULL);

  return self;
}

/**
 * tern_account_manager_get_accounts_dir:
 *
 * Returns: (transfer none): the folder of the account files.
 */
const char *
tern_account_manager_get_accounts_dir (TernAccountManager *self)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), NULL);

  return self->accounts_dir;
}

static char *
account_path (TernAccountManager *self,
              const char         *id)
{
  g_autofree char *name = g_strconcat (id, ".ini", NULL);

  return g_build_filename (self->accounts_dir, name, NULL);
}

static gboolean
find_account (TernAccountManager *self,
              TernAccount        *account,
              guint              *position,
              GError            **error)
{
  if (g_ptr_array_find (self->accounts, account, position))
    return TRUE;

  g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_NOT_FOUND,
               "The account “%s” is not one of this profile's accounts",
               tern_account_get_display_name (account) ?: "");
  return FALSE;
}

/* Loading */

static int
compare_accounts (gconstpointer a,
                  gconstpointer b)
{
  TernAccount *account_a = *(TernAccount * const *) a;
  TernAccount *account_b = *(TernAccount * const *) b;
  guint order_a = tern_account_get_order (account_a);
  guint order_b = tern_account_get_order (account_b);

  if (order_a != order_b)
    return order_a < order_b ? -1 : 1;

  return g_strcmp0 (tern_account_get_id (account_a), tern_account_get_id (account_b));
}

/* A POP3 account may deliver into another account's Inbox; that account
 * must exist.  The account still loads: the problem is for the user to
 * see, and the downloader decides what to do without its target. */
static void
check_deliver_to (TernAccountManager *self,
                  GPtrArray          *problems)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      TernAccount *account = self->accounts->pdata[i];
      const char *target = tern_account_get_pop3_deliver_to (account);
      g_autofree char *path = NULL;

      if (tern_account_get_receiving_protocol (account) != TERN_RECEIVING_PROTOCOL_POP3 ||
          target == NULL || tern_account_manager_lookup (self, target) != NULL)
        continue;

      path = account_path (self, tern_account_get_id (account));
      g_ptr_array_add (problems,
                       g_error_new (TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_INVALID_VALUE,
                                    "“%s”: [POP3] DeliverTo: there is no account “%s”",
                                    path, target));
    }
}

/**
 * tern_account_manager_load:
 * @self: a #TernAccountManager
 * @error: return location for a #GError
 *
 * Reads every `*.ini` file of the accounts folder, in place of the
 * accounts the manager held.  A missing folder is a profile without
 * accounts.  A file that fails its checks is left out, and its
 * %TERN_ACCOUNT_ERROR, naming the file and key, joins the problems
 * returned; the other files load all the same.
 *
 * Returns: (transfer full) (element-type GError) (nullable): the problems,
 *   an empty array when there were none; %NULL with @error set only when
 *   the folder itself cannot be read.
 */
GPtrArray *
tern_account_manager_load (TernAccountManager  *self,
                           GError             **error)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(GPtrArray) loaded = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) old = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dir = g_dir_open (self->accounts_dir, 0, &local_error);
  if (dir == NULL && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "Could not read the accounts folder “%s”: %s",
                   self->accounts_dir, local_error->message);
      return NULL;
    }

  /* Anything else in the folder, such as the temporary file of a write
   * cut short, is not an account. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      GError *problem = NULL;
      TernAccount *account;

      if (!g_str_has_suffix (name, ".ini"))
        continue;

      path = g_build_filename (self->accounts_dir, name, NULL);
      account = tern_account_new_from_file (path, &problem);
      if (account != NULL)
        g_ptr_array_add (loaded, account);
      else
        g_ptr_array_add (problems, problem);
    }

  g_ptr_array_sort (loaded, compare_accounts);

  old = g_steal_pointer (&self->accounts);
  self->accounts = g_steal_pointer (&loaded);
  items_changed (self, 0, old->len, self->accounts->len);

  check_deliver_to (self, problems);

  return g_steal_pointer (&problems);
}

/**
 * tern_account_manager_lookup:
 *
 * Returns: (transfer none) (nullable): the account with @id, or %NULL.
 */
TernAccount *
tern_account_manager_lookup (TernAccountManager *self,
                             const char         *id)
{
  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), NULL);

  for (guint i = 0; id != NULL && i < self->accounts->len; i++)
    {
      TernAccount *account = self->accounts->pdata[i];

      if (g_strcmp0 (tern_account_get_id (account), id) == 0)
        return account;
    }

  return NULL;
}

/* Adding */

/* An id is taken by a loaded account, and also by a file that did not
 * load, which the user may still repair. */
static gboolean
id_is_taken (TernAccountManager *self,
             const char         *id)
{
  g_autofree char *path = account_path (self, id);

  return tern_account_manager_lookup (self, id) != NULL || g_file_test (path, G_FILE_TEST_EXISTS);
}

/* "ada.lovelace@example.com" becomes "ada-lovelace-example-com". */
static char *
make_id (TernAccountManager *self,
         TernAccount        *account)
{
  TernIdentity *identity = tern_account_get_default_identity (account);
  const char *address = identity != NULL ? tern_identity_get_address (identity) : NULL;
  g_autoptr(GString) base = g_string_new (NULL);

  for (const char *p = address; p != NULL && *p != '\0' && base->len < MAX_ID_LENGTH; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (base, g_ascii_tolower (*p));
      else if (base->len > 0 && base->str[base->len - 1] != '-')
        g_string_append_c (base, '-');
    }
  while (base->len > 0 && base->str[base->len - 1] == '-')
    g_string_truncate (base, base->len - 1);

  if (!tern_account_id_is_valid (base->str))
    g_string_assign (base, "account");

  if (!id_is_taken (self, base->str))
    return g_string_free (g_steal_pointer (&base), FALSE);

  for (guint n = 2; ; n++)
    {
      g_autofree char *id = g_strdup_printf ("%s-%u", base->str, n);

      if (!id_is_taken (self, id))
        return g_steal_pointer (&id);
    }
}

static gboolean
same_text (const char *a,
           const char *b)
{
  return (a == NULL && b == NULL) ||
         (a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0);
}

/* The account that already reads the same mailbox, if any: two accounts on
 * one POP3 mailbox would each delete what the other has not seen. */
static TernAccount *
find_same_mailbox (TernAccountManager *self,
                   TernAccount        *account)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      TernAccount *other = self->accounts->pdata[i];

      if (tern_account_get_receiving_protocol (other) ==
            tern_account_get_receiving_protocol (account) &&
          same_text (tern_account_get_receiving_host (other),
                     tern_account_get_receiving_host (account)) &&
          same_text (tern_account_get_receiving_username (other),
                     tern_account_get_receiving_username (account)))
        return other;
    }

  return NULL;
}

static gboolean
ensure_accounts_dir (TernAccountManager  *self,
                     GError             **error)
{
  if (g_mkdir_with_parents (self->accounts_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "Could not create the accounts folder “%s”: %s",
                   self->accounts_dir, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_account_manager_add:
 * @self: a #TernAccountManager
 * @account: a new account, from tern_account_new()
 * @error: return location for a #GError
 *
 * Gives @account an id made from its default identity's address (unless
 * it has one), puts it last in the list and writes its file.
 *
 * Fails with %TERN_ACCOUNT_ERROR_EXISTS when the manager holds @account
 * already, when its id is taken, or when another account reads the same
 * mailbox (protocol, host and user name); with a file error, naming the
 * key, when the account would not pass the checks of loading.
 *
 * Returns: %TRUE when the account is in the list and on disk.
 */
gboolean
tern_account_manager_add (TernAccountManager  *self,
                          TernAccount         *account,
                          GError             **error)
{
  g_autofree char *given_id = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  TernAccount *same;
  guint order = 0;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (TERN_IS_ACCOUNT (account), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_ptr_array_find (self->accounts, account, NULL))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_EXISTS,
                   "The account “%s” is already added", tern_account_get_id (account));
      return FALSE;
    }

  same = find_same_mailbox (self, account);
  if (same != NULL)
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_EXISTS,
                   "The account “%s” already reads the mailbox of %s on %s",
                   tern_account_get_display_name (same),
                   tern_account_get_receiving_username (account) ?: "(no user name)",
                   tern_account_get_receiving_host (account) ?: "(no host)");
      return FALSE;
    }

  given_id = g_strdup (tern_account_get_id (account));
  if (given_id != NULL && id_is_taken (self, given_id))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_EXISTS,
                   "There is already an account “%s”", given_id);
      return FALSE;
    }

  id = given_id != NULL ? g_strdup (given_id) : make_id (self, account);
  path = account_path (self, id);

  if (self->accounts->len > 0)
    order = tern_account_get_order (g_ptr_array_index (self->accounts,
                                                       self->accounts->len - 1)) + 1;

  if (!ensure_accounts_dir (self, error))
    return FALSE;

  tern_account_set_id (account, id);
  tern_account_set_order (account, order);
  if (!tern_account_save_to_file (account, path, error))
    {
      tern_account_set_id (account, given_id);
      return FALSE;
    }

  g_ptr_array_add (self->accounts, g_object_ref (account));
  items_changed (self, self->accounts->len - 1, 0, 1);
  g_signal_emit (self, signals[ACCOUNT_ADDED], 0, account);

  return TRUE;
}

/* Changing */

/**
 * tern_account_manager_save:
 * @self: a #TernAccountManager
 * @account: an account of @self whose settings changed
 * @error: return location for a #GError
 *
 * Writes @account's file atomically and emits "account-changed".  Fails,
 * writing nothing, when the settings would not pass the checks of loading
 * (the error names the key).
 *
 * Returns: %TRUE when the changes are on disk.
 */
gboolean
tern_account_manager_save (TernAccountManager  *self,
                           TernAccount         *account,
                           GError             **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (TERN_IS_ACCOUNT (account), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!find_account (self, account, NULL, error) || !ensure_accounts_dir (self, error))
    return FALSE;

  path = account_path (self, tern_account_get_id (account));

  /* Another program (tern-cli, an editor) may have written the file since
   * it was read: what it wrote is not lost to an older copy. */
  if (account->file_digest != NULL)
    {
      g_autofree char *data = NULL;
      g_autofree char *digest = NULL;
      gsize length = 0;

      if (g_file_get_contents (path, &data, &length, NULL))
        digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
      if (g_strcmp0 (digest, account->file_digest) != 0)
        {
          g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_CHANGED,
                       "Another program changed the settings of “%s” since they were read; "
                       "read them again before changing them",
                       tern_account_get_display_name (account));
          return FALSE;
        }
    }

  if (!tern_account_save_to_file (account, path, error))
    return FALSE;

  g_signal_emit (self, signals[ACCOUNT_CHANGED], 0, account);

  return TRUE;
}

/**
 * tern_account_manager_set_enabled:
 *
 * Enables or disables @account and saves it.  A disabled account stays in
 * the list and keeps its mail; it neither syncs nor sends.
 *
 * Returns: %TRUE when the change is on disk; on failure the account is as
 *   it was.
 */
gboolean
tern_account_manager_set_enabled (TernAccountManager  *self,
                                  TernAccount         *account,
                                  gboolean             enabled,
                                  GError             **error)
{
  gboolean was_enabled;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (TERN_IS_ACCOUNT (account), FALSE);

  if (!find_account (self, account, NULL, error))
    return FALSE;

  was_enabled = tern_account_get_enabled (account);
  tern_account_set_enabled (account, enabled);
  if (!tern_account_manager_save (self, account, error))
    {
      tern_account_set_enabled (account, was_enabled);
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_account_manager_move:
 * @position: the new place of @account, 0 for the top; a place past the
 *   end means the end
 *
 * Moves @account in the list and saves the new order of every account
 * whose place changed.
 *
 * Returns: %TRUE when the new order is on disk.
 */
gboolean
tern_account_manager_move (TernAccountManager  *self,
                           TernAccount         *account,
                           guint                position,
                           GError             **error)
{
  guint from;
  guint first;
  guint last;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (TERN_IS_ACCOUNT (account), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!find_account (self, account, &from, error))
    return FALSE;

  position = MIN (position, self->accounts->len - 1);
  if (position != from)
    {
      TernAccount *moving = g_ptr_array_steal_index (self->accounts, from);

      g_ptr_array_insert (self->accounts, position, moving);
      first = MIN (from, position);
      last = MAX (from, position);
      items_changed (self, first, last - first + 1, last - first + 1);
    }

  /* Orders are renumbered from 0, so that the files agree with the list
   * even after accounts were removed. */
  for (guint i = 0; i < self->accounts->len; i++)
    {
      TernAccount *other = self->accounts->pdata[i];

      if (tern_account_get_order (other) == i)
        continue;

      tern_account_set_order (other, i);
      if (!tern_account_manager_save (self, other, error))
        return FALSE;
    }

  return TRUE;
}

/**
 * tern_account_manager_remove:
 *
 * Deletes @account's file, takes it out of the list and emits
 * "account-removed", on which the store removes its local mail.
 *
 * Returns: %TRUE when the file is gone.
 */
gboolean
tern_account_manager_remove (TernAccountManager  *self,
                             TernAccount         *account,
                             GError             **error)
{
  g_autoptr(TernAccount) removed = NULL;
  g_autofree char *path = NULL;
  guint position;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (TERN_IS_ACCOUNT (account), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!find_account (self, account, &position, error))
    return FALSE;

  path = account_path (self, tern_account_get_id (account));
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved_errno = errno;

      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "Could not delete “%s”: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  removed = g_ptr_array_steal_index (self->accounts, position);
  items_changed (self, position, 1, 0);
  g_signal_emit (self, signals[ACCOUNT_REMOVED], 0, removed);

  return TRUE;
}

/* Replying */

static TernIdentity *
find_in_enabled_accounts (TernAccountManager  *self,
                          const char          *address,
                          TernAccount        **out_account)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      TernAccount *account = self->accounts->pdata[i];
      TernIdentity *identity;

      if (!tern_account_get_enabled (account))
        continue;

      identity = tern_account_find_identity (account, address);
      if (identity != NULL)
        {
          *out_account = account;
          return identity;
        }
    }

  return NULL;
}

/**
 * tern_account_manager_choose_identity:
 * @self: a #TernAccountManager
 * @received_by: (nullable): the account the original came to, if known
 * @delivered_to: (array zero-terminated=1) (nullable): its Delivered-To
 * @x_original_to: (array zero-terminated=1) (nullable): its X-Original-To
 * @to: (array zero-terminated=1) (nullable): its To
 * @cc: (array zero-terminated=1) (nullable): its Cc
 * @out_account: (out) (transfer none): the account to send with
 * @out_identity: (out) (transfer none): the identity to send from
 *
 * Chooses the From of a reply or a forward in the unified inbox, where a
 * message may have been sent to an alias of another account: the headers
 * are searched in the order of tern_account_choose_identity(), and within
 * each header the identities of @received_by come first, then those of
 * every enabled account in the list's order.  When no address matches, the
 * default identity of @received_by, else of the first enabled account.
 *
 * Returns: %TRUE when there is an identity to send from.
 */
gboolean
tern_account_manager_choose_identity (TernAccountManager  *self,
                                      TernAccount         *received_by,
                                      const char * const  *delivered_to,
                                      const char * const  *x_original_to,
                                      const char * const  *to,
                                      const char * const  *cc,
                                      TernAccount        **out_account,
                                      TernIdentity       **out_identity)
{
  const char * const *headers[] = { delivered_to, x_original_to, to, cc };
  TernAccount *fallback = received_by;

  g_return_val_if_fail (TERN_IS_ACCOUNT_MANAGER (self), FALSE);
  g_return_val_if_fail (received_by == NULL || TERN_IS_ACCOUNT (received_by), FALSE);
  g_return_val_if_fail (out_account != NULL && out_identity != NULL, FALSE);

  *out_account = NULL;
  *out_identity = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      TernIdentity *identity = NULL;
      TernAccount *account = NULL;

      if (headers[i] == NULL)
        continue;

      /* The account the message came to first, so that a message to two
       * of the user's addresses replies from the account it arrived in. */
      for (guint j = 0; received_by != NULL && identity == NULL && headers[i][j] != NULL; j++)
        {
          identity = tern_account_find_identity (received_by, headers[i][j]);
          account = received_by;
        }
      for (guint j = 0; identity == NULL && headers[i][j] != NULL; j++)
        identity = find_in_enabled_accounts (self, headers[i][j], &account);

      if (identity != NULL)
        {
          *out_account = account;
          *out_identity = identity;
          return TRUE;
        }
    }

  for (guint i = 0; fallback == NULL && i < self->accounts->len; i++)
    {
      if (tern_account_get_enabled (self->accounts->pdata[i]))
        fallback = self->accounts->pdata[i];
    }

  if (fallback == NULL || tern_account_get_default_identity (fallback) == NULL)
    return FALSE;

  *out_account = fallback;
  *out_identity = tern_account_get_default_identity (fallback);
  return TRUE;
}
