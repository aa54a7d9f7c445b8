/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-message-list-model.h"
#include "tern-search-query.h"
#include "tern-store-private.h"

/*
 * TernMessageListModel: a GListModel over a folder, over every folder of
 * a role across accounts (the unified Inbox), or over a search; newest
 * first, one row a message or one row a conversation.
 *
 * The model keeps one small key per row (date, ids and counts: 32 bytes),
 * read in one query on a reader thread, and creates row objects only for
 * the positions asked for.  A row starts empty and is filled when its page
 * of 64 arrives; at most a few thousand filled rows are kept that nobody
 * holds.  When the store reports a change, the keys are read again and
 * compared with the old ones, and items-changed names exactly the runs of
 * rows that went or came.
 */

#define PAGE_SIZE 64
#define ROW_CACHE_MAX 4096

typedef enum
{
  SCOPE_FOLDER,
  SCOPE_ROLE,
  SCOPE_SEARCH,
} Scope;

typedef struct
{
  gint64 date;
  gint64 id;               /* the message, or a conversation's newest */
  gint64 conversation_id;
  gint64 folder_id;
  guint count;
  guint unread_count;
} Key;

struct _TernMessageListModel
{
  GObject parent_instance;

  TernStore *store;
  gulong changed_handler;
  GCancellable *cancellable;

  Scope scope;
  gint64 folder_id;
  TernFolderRole role;
  char *query;
  gboolean threaded;

  GArray *keys;
  /* Row objects by message id (flat) or "folder:conversation" (threaded). */
  GHashTable *rows;
  GHashTable *pages_in_flight;

  gboolean loading;
  gboolean reload_pending;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TernMessageListModel, tern_message_list_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_N_ITEMS,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void reload (TernMessageListModel *self);

/* Keys */

static int
compare_keys (const Key *a,
              const Key *b)
{
  /* Newest first; ties by id, then folder, as the queries order them. */
  if (a->date != b->date)
    return a->date > b->date ? -1 : 1;
  if (a->id != b->id)
    return a->id > b->id ? -1 : 1;
  if (a->folder_id != b->folder_id)
    return a->folder_id > b->folder_id ? -1 : 1;
  if (a->conversation_id != b->conversation_id)
    return a->conversation_id > b->conversation_id ? -1 : 1;
  return 0;
}

/* A row is its message, or its conversation's newest message: a new
 * reply makes a new row, with the new counts and subject. */
static gint64
row_key (TernMessageListModel *self,
         const Key            *key)
{
  return key->id;
}

typedef struct
{
  Scope scope;
  gint64 folder_id;
  TernFolderRole role;
  char *query;
  gboolean threaded;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->query);
  g_free (data);
}

static void
load_keys_job (TernStore   *store,
               TernStoreDb *db,
               GTask       *task)
{
  LoadData *data = g_task_get_task_data (task);
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (Key));
  g_autoptr(GString) sql = g_string_new (NULL);
  g_autoptr(TernSearchQuery) query = NULL;
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *error = NULL;
  int rc;

  if (data->scope == SCOPE_SEARCH)
    {
      query = tern_search_query_parse (data->query, &error);
      if (query == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      g_string_append (sql, "SELECT m.date, m.id, 0, m.folder_id, 1, 0 "
                            "FROM messages AS m WHERE ");
      tern_search_query_build_sql (query, sql, params);
      if (data->folder_id > 0)
        {
          g_string_append (sql, " AND m.folder_id = ?");
          g_ptr_array_add (params, g_variant_ref_sink (g_variant_new_int64 (data->folder_id)));
        }
      g_string_append (sql, " ORDER BY m.date DESC, m.id DESC");
    }
  else if (data->threaded)
    {
      /* A conversation's row is its newest message (SQLite takes the bare
       * columns from the row that gives max()), with its counts. */
      g_string_append (sql, "SELECT max (date), id, conversation_id, folder_id, count (*), "
                            "sum ((flags & 9) = 0) FROM messages WHERE ");
      g_string_append (sql, data->scope == SCOPE_FOLDER ? "folder_id = ?" : "folder_role = ?");
      g_string_append (sql, " GROUP BY conversation_id, folder_id"
                            " ORDER BY 1 DESC, 2 DESC, 4 DESC");
    }
  else
    {
      /* Only what the covering indexes hold: the rows bring the rest. */
      if (data->scope == SCOPE_FOLDER)
        g_string_append (sql, "SELECT date, id FROM messages WHERE folder_id = ?");
      else
        g_string_append (sql, "SELECT date, id, 0, folder_id, 1, 0 FROM messages "
                              "WHERE folder_role = ?");
      g_string_append (sql, " ORDER BY date DESC, id DESC");
    }

  stmt = tern_store_prepare (db->index, sql->str, &error);
  if (stmt == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->scope == SCOPE_SEARCH)
    {
      rc = tern_search_query_bind (params, stmt, 1);
      if (rc != SQLITE_OK)
        {
          tern_store_sql_error (db->index, rc, "Could not search", &error);
          g_task_return_error (task, error);
          return;
        }
    }
  else if (data->scope == SCOPE_FOLDER)
    {
      sqlite3_bind_int64 (stmt, 1, data->folder_id);
    }
  else
    {
      sqlite3_bind_int (stmt, 1, data->role);
    }

  /* A folder's plain list is the hot case (the benchmark's "first rows"):
   * its rows read two columns of the index only. */
  if (data->scope == SCOPE_FOLDER && !data->threaded)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          Key key = { 0, 0, 0, data->folder_id, 1, 0 };

          key.date = sqlite3_column_int64 (stmt, 0);
          key.id = sqlite3_column_int64 (stmt, 1);
          g_array_append_val (keys, key);
        }
    }
  else
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          Key key;

          key.date = sqlite3_column_int64 (stmt, 0);
          key.id = sqlite3_column_int64 (stmt, 1);
          key.conversation_id = sqlite3_column_int64 (stmt, 2);
          key.folder_id = sqlite3_column_int64 (stmt, 3);
          key.count = sqlite3_column_int (stmt, 4);
          key.unread_count = sqlite3_column_int (stmt, 5);
          g_array_append_val (keys, key);
        }
    }

  if (rc != SQLITE_DONE)
    {
      tern_store_sql_error (db->index, rc, "Could not list messages", &error);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&keys), (GDestroyNotify) g_array_unref);
}

/* Applying new keys */

static void
emit_run (TernMessageListModel *self,
          GArray               *working,
          GArray               *new_keys,
          guint                 position,
          guint                 removed,
          guint                 first_added,
          guint                 added)
{
  if (removed == 0 && added == 0)
    return;

  g_array_remove_range (working, position, removed);
  g_array_insert_vals (working, position, &g_array_index (new_keys, Key, first_added), added);

  /* The model must show the new state when it says it changed. */
  g_clear_pointer (&self->keys, g_array_unref);
  self->keys = g_array_ref (working);

  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
}

/*
 * Walks the old and new keys, both newest first, and emits one
 * items-changed for each run of rows removed and added at one place.
 */
static void
apply_keys (TernMessageListModel *self,
            GArray               *new_keys)
{
  g_autoptr(GArray) old_keys = g_array_ref (self->keys);
  g_autoptr(GArray) working = g_array_sized_new (FALSE, FALSE, sizeof (Key), new_keys->len);
  guint old_n = old_keys->len;
  guint i = 0;
  guint j = 0;
  guint position = 0;
  guint run_removed = 0;
  guint run_added = 0;
  guint run_first_added = 0;

  g_array_append_vals (working, old_keys->data, old_keys->len);

  while (i < old_n || j < new_keys->len)
    {
      const Key *old_key = i < old_n ? &g_array_index (old_keys, Key, i) : NULL;
      const Key *new_key = j < new_keys->len ? &g_array_index (new_keys, Key, j) : NULL;
      int cmp;

      if (old_key == NULL)
        cmp = 1;
      else if (new_key == NULL)
        cmp = -1;
      else
        cmp = compare_keys (old_key, new_key);

      if (cmp == 0)
        {
          if (run_removed > 0 || run_added > 0)
            {
              emit_run (self, working, new_keys, position, run_removed, run_first_added, run_added);
              position += run_added;
              run_removed = run_added = 0;
            }

          /* Counts change in place; the row object follows. */
          g_array_index (working, Key, position) = *new_key;
          if (self->threaded)
            {
              gint64 id = row_key (self, new_key);
              TernMessageRow *row = g_hash_table_lookup (self->rows, &id);

              if (row != NULL)
                tern_message_row_set_counts (row, new_key->count, new_key->unread_count);
            }
          position++;
          i++;
          j++;
        }
      else if (cmp < 0)
        {
          /* The old row sorts first and is not among the new ones: gone.
           * A run's removals are consecutive old rows, its additions
           * consecutive new ones. */
          run_removed++;
          i++;
        }
      else
        {
          if (run_added == 0)
            run_first_added = j;
          run_added++;
          j++;
        }
    }

  emit_run (self, working, new_keys, position, run_removed, run_first_added, run_added);

  g_clear_pointer (&self->keys, g_array_unref);
  self->keys = g_array_ref (new_keys);

  if (old_n != new_keys->len)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

/* Loading */

static void
set_loading (TernMessageListModel *self,
             gboolean              loading)
{
  if (self->loading != loading)
    {
      self->loading = loading;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
    }
}

static void
refresh_cached_rows (TernMessageListModel *self);

static void
keys_loaded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TernMessageListModel *self = g_task_get_source_object (task);
  g_autoptr(GArray) keys = NULL;
  GError *error = NULL;

  keys = g_task_propagate_pointer (G_TASK (result), &error);
  if (keys == NULL)
    {
      set_loading (self, FALSE);
      g_task_return_error (task, error);
      return;
    }

  apply_keys (self, keys);
  set_loading (self, FALSE);

  if (self->reload_pending)
    {
      self->reload_pending = FALSE;
      reload (self);
    }

  g_task_return_boolean (task, TRUE);
}

static void
load_keys (TernMessageListModel *self,
           GTask                *outer)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  set_loading (self, TRUE);

  task = g_task_new (self->store, self->cancellable, keys_loaded_cb, g_object_ref (outer));
  g_task_set_source_tag (task, load_keys);
  data = g_new0 (LoadData, 1);
  data->scope = self->scope;
  data->folder_id = self->folder_id;
  data->role = self->role;
  data->query = g_strdup (self->query);
  data->threaded = self->threaded;
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  tern_store_queue_read (self->store, task, load_keys_job);
}

static void
reload_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  TernMessageListModel *self = TERN_MESSAGE_LIST_MODEL (source);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Cancelled or closed: the app is going away. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, TERN_STORE_ERROR, TERN_STORE_ERROR_CLOSED))
        g_warning ("Could not update a message list: %s", error->message);
      return;
    }

  refresh_cached_rows (self);
}

static void
reload (TernMessageListModel *self)
{
  g_autoptr(GTask) task = NULL;

  /* One reload at a time; changes during it bring one more. */
  if (self->loading)
    {
      self->reload_pending = TRUE;
      return;
    }

  task = g_task_new (self, self->cancellable, reload_done_cb, NULL);
  g_task_set_source_tag (task, reload);
  load_keys (self, task);
}

/**
 * tern_message_list_model_load_async:
 *
 * Reads the model's rows for the first time.  Until it completes, the
 * model is empty.  Later changes in the store update the model by
 * themselves.
 */
void
tern_message_list_model_load_async (TernMessageListModel *self,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TERN_IS_MESSAGE_LIST_MODEL (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_message_list_model_load_async);
  load_keys (self, task);
}

gboolean
tern_message_list_model_load_finish (TernMessageListModel  *self,
                                     GAsyncResult          *result,
                                     GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Rows */

static void
rows_loaded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(TernMessageListModel) self = user_data;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  messages = tern_store_get_messages_finish (TERN_STORE (source), result, &error);
  g_hash_table_remove_all (self->pages_in_flight);

  if (messages == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, TERN_STORE_ERROR, TERN_STORE_ERROR_CLOSED))
        g_warning ("Could not read messages for a list: %s", error->message);
      return;
    }

  for (guint i = 0; i < messages->len; i++)
    {
      TernMessage *message = g_ptr_array_index (messages, i);
      gint64 id = tern_message_get_id (message);

      TernMessageRow *row = g_hash_table_lookup (self->rows, &id);

      if (row != NULL)
        tern_message_row_fill (row, message);
    }
}

static void
fetch_rows (TernMessageListModel *self,
            GArray               *ids)
{
  if (ids->len == 0)
    return;

  tern_store_get_messages_async (self->store, ids, self->cancellable, rows_loaded_cb,
                                 g_object_ref (self));
}

static void
trim_rows (TernMessageListModel *self)
{
  GHashTableIter iter;
  gpointer value;

  if (g_hash_table_size (self->rows) <= ROW_CACHE_MAX)
    return;

  /* Rows that only the cache holds go; rows on screen stay. */
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      if (G_OBJECT (value)->ref_count == 1)
        g_hash_table_iter_remove (&iter);
    }
}

static void
refresh_cached_rows (TernMessageListModel *self)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  GHashTableIter iter;
  gpointer value;

  trim_rows (self);

  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      gint64 id = tern_message_row_get_id (value);

      g_array_append_val (ids, id);
    }

  fetch_rows (self, ids);
}

static GType
tern_message_list_model_get_item_type (GListModel *model)
{
  return TERN_TYPE_MESSAGE_ROW;
}

static guint
tern_message_list_model_get_n_items (GListModel *model)
{
  TernMessageListModel *self = TERN_MESSAGE_LIST_MODEL (model);

  return self->keys->len;
}

static TernMessageRow *
ensure_row (TernMessageListModel *self,
            const Key            *key,
            GArray               *missing)
{
  gint64 id = row_key (self, key);
  TernMessageRow *row = g_hash_table_lookup (self->rows, &id);

  if (row == NULL)
    {
      gint64 *stored = g_new (gint64, 1);

      *stored = id;
      row = tern_message_row_new (key->id, key->conversation_id, key->folder_id);
      tern_message_row_set_counts (row, key->count, key->unread_count);
      g_hash_table_insert (self->rows, stored, row);
      g_array_append_val (missing, key->id);
    }

  return row;
}

static gpointer
tern_message_list_model_get_item (GListModel *model,
                                  guint       position)
{
  TernMessageListModel *self = TERN_MESSAGE_LIST_MODEL (model);
  g_autoptr(GArray) missing = NULL;
  TernMessageRow *row;
  guint page;

  if (position >= self->keys->len)
    return NULL;

  /* Room first, so that the rows made below stay. */
  trim_rows (self);

  missing = g_array_new (FALSE, FALSE, sizeof (gint64));
  row = g_object_ref (ensure_row (self, &g_array_index (self->keys, Key, position), missing));
  if (tern_message_row_get_loaded (row) || missing->len == 0)
    return row;

  /* The row is new: create and fetch its whole page at once. */
  page = position / PAGE_SIZE;
  if (g_hash_table_add (self->pages_in_flight, GUINT_TO_POINTER (page + 1)))
    {
      guint end = MIN ((page + 1) * PAGE_SIZE, self->keys->len);

      for (guint i = page * PAGE_SIZE; i < end; i++)
        {
          if (i != position)
            ensure_row (self, &g_array_index (self->keys, Key, i), missing);
        }
    }

  fetch_rows (self, missing);

  return row;
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = tern_message_list_model_get_item_type;
  iface->get_n_items = tern_message_list_model_get_n_items;
  iface->get_item = tern_message_list_model_get_item;
}

/* Store changes */

static void
store_changed_cb (TernStore            *store,
                  TernStoreChangeKind   kind,
                  GArray               *folder_ids,
                  GArray               *message_ids,
                  TernMessageListModel *self)
{
  gboolean concerned = self->scope != SCOPE_FOLDER;

  if (kind == TERN_STORE_CHANGE_FOLDERS && self->scope != SCOPE_ROLE)
    return;

  for (guint i = 0; !concerned && folder_ids != NULL && i < folder_ids->len; i++)
    concerned = g_array_index (folder_ids, gint64, i) == self->folder_id;

  if (concerned)
    reload (self);
}

/* Object */

static void
tern_message_list_model_dispose (GObject *object)
{
  TernMessageListModel *self = TERN_MESSAGE_LIST_MODEL (object);

  g_cancellable_cancel (self->cancellable);
  if (self->store != NULL)
    g_clear_signal_handler (&self->changed_handler, self->store);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (tern_message_list_model_parent_class)->dispose (object);
}

static void
tern_message_list_model_finalize (GObject *object)
{
  TernMessageListModel *self = TERN_MESSAGE_LIST_MODEL (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->keys, g_array_unref);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_clear_pointer (&self->pages_in_flight, g_hash_table_unref);
  g_free (self->query);

  G_OBJECT_CLASS (tern_message_list_model_parent_class)->finalize (object);
}

static void
tern_message_list_model_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  TernMessageListModel *self = TERN_MESSAGE_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->keys->len);
      break;

    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_message_list_model_class_init (TernMessageListModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tern_message_list_model_dispose;
  object_class->finalize = tern_message_list_model_finalize;
  object_class->get_property = tern_message_list_model_get_property;

  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_message_list_model_init (TernMessageListModel *self)
{
  self->cancellable = g_cancellable_new ();
  self->keys = g_array_new (FALSE, FALSE, sizeof (Key));
  self->rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->pages_in_flight = g_hash_table_new (NULL, NULL);
}

static TernMessageListModel *
model_new (TernStore *store,
           Scope      scope)
{
  TernMessageListModel *self = g_object_new (TERN_TYPE_MESSAGE_LIST_MODEL, NULL);

  self->store = g_object_ref (store);
  self->scope = scope;
  self->changed_handler = g_signal_connect (store, "changed", G_CALLBACK (store_changed_cb), self);

  return self;
}

/**
 * tern_message_list_model_new_for_folder:
 * @threaded: one row a conversation rather than one a message
 *
 * Returns: (transfer full): an empty model; call
 *   tern_message_list_model_load_async() to fill it.
 */
TernMessageListModel *
tern_message_list_model_new_for_folder (TernStore *store,
                                        gint64     folder_id,
                                        gboolean   threaded)
{
  TernMessageListModel *self;

  g_return_val_if_fail (TERN_IS_STORE (store), NULL);

  self = model_new (store, SCOPE_FOLDER);
  self->folder_id = folder_id;
  self->threaded = threaded;

  return self;
}

/**
 * tern_message_list_model_new_for_role:
 * @role: the role, %TERN_FOLDER_ROLE_INBOX for the unified Inbox
 *
 * Returns: (transfer full): a model over the folders of @role in every
 *   account.
 */
TernMessageListModel *
tern_message_list_model_new_for_role (TernStore      *store,
                                      TernFolderRole  role,
                                      gboolean        threaded)
{
  TernMessageListModel *self;

  g_return_val_if_fail (TERN_IS_STORE (store), NULL);

  self = model_new (store, SCOPE_ROLE);
  self->role = role;
  self->threaded = threaded;

  return self;
}

/**
 * tern_message_list_model_new_for_search:
 * @query: a search, in the words of tern_store_search_async()
 * @folder_id: a folder to search in, or 0 for all
 *
 * Returns: (transfer full): a model of the matching messages, one row a
 *   message.
 */
TernMessageListModel *
tern_message_list_model_new_for_search (TernStore  *store,
                                        const char *query,
                                        gint64      folder_id)
{
  TernMessageListModel *self;

  g_return_val_if_fail (TERN_IS_STORE (store), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  self = model_new (store, SCOPE_SEARCH);
  self->query = g_strdup (query);
  self->folder_id = folder_id;

  return self;
}

gboolean
tern_message_list_model_get_threaded (TernMessageListModel *self)
{
  g_return_val_if_fail (TERN_IS_MESSAGE_LIST_MODEL (self), FALSE);

  return self->threaded;
}

/**
 * tern_message_list_model_get_message_id:
 * @position: a row's position
 *
 * The message of a row (for a conversation, its newest), read from the
 * model's keys without making or filling a row.
 *
 * Returns: the message id, or 0 when @position is past the end.
 */
gint64
tern_message_list_model_get_message_id (TernMessageListModel *self,
                                        guint                 position)
{
  g_return_val_if_fail (TERN_IS_MESSAGE_LIST_MODEL (self), 0);

  if (position >= self->keys->len)
    return 0;

  return g_array_index (self->keys, Key, position).id;
}

gboolean
tern_message_list_model_is_loading (TernMessageListModel *self)
{
  g_return_val_if_fail (TERN_IS_MESSAGE_LIST_MODEL (self), FALSE);

  return self->loading;
}

/**
 * tern_message_list_model_get_n_loaded_rows:
 *
 * Returns: how many row objects the model holds now, for tests and the
 *   benchmark: it grows with the rows asked for, not with the folder.
 */
guint
tern_message_list_model_get_n_loaded_rows (TernMessageListModel *self)
{
  g_return_val_if_fail (TERN_IS_MESSAGE_LIST_MODEL (self), 0);

  return g_hash_table_size (self->rows);
}
