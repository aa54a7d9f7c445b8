/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-composer.h"
#include "tern-conversation.h"
#include "tern-message-flags.h"
#include "tern-store-sync.h"
#include "tern-undo-toast.h"
#include "tern-window-private.h"

/*
 * The actions on the selected messages: read and unread, flag, move,
 * junk and delete, each with a toast that can undo it.  A conversation row
 * stands for its messages in the row's folder.
 *
 * Deleting from an account's folder moves the messages to its Trash, and
 * undoing moves them back.  Deleting in a folder on this computer, or in
 * Trash, deletes for good: the messages are hidden at once and deleted when
 * their toast goes away without "Undo" (or when the window closes), on
 * their server too.
 */

typedef void (*MessagesFunc) (TernWindow *self,
                              GPtrArray  *messages,
                              gint64      target);

typedef struct
{
  TernWindow *self;
  MessagesFunc func;
  gint64 target;
  guint pending;
  GPtrArray *messages;
  GHashTable *ids;
} Collect;

static void
collect_loaded_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Collect *collect = user_data;
  g_autoptr(GPtrArray) messages = tern_conversation_load_finish (result, NULL);

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      TernMessage *message = messages->pdata[i];
      gint64 id = tern_message_get_id (message);

      if (g_hash_table_contains (collect->ids, &id))
        continue;
      g_hash_table_add (collect->ids, g_memdup2 (&id, sizeof id));
      g_ptr_array_add (collect->messages, tern_message_ref (message));
    }

  if (--collect->pending > 0)
    return;

  if (collect->messages->len > 0 && collect->self->store != NULL)
    collect->func (collect->self, collect->messages, collect->target);

  g_object_unref (collect->self);
  g_ptr_array_unref (collect->messages);
  g_hash_table_unref (collect->ids);
  g_free (collect);
}

/* Calls @func with the messages the selection stands for. */
static void
with_selection (TernWindow   *self,
                MessagesFunc  func,
                gint64        target)
{
  g_autoptr(GPtrArray) rows = tern_message_list_get_selected (self->message_list);
  Collect *collect;

  if (rows->len == 0 || self->store == NULL)
    return;

  collect = g_new0 (Collect, 1);
  collect->self = g_object_ref (self);
  collect->func = func;
  collect->target = target;
  collect->pending = rows->len;
  collect->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);
  collect->ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint i = 0; i < rows->len; i++)
    tern_conversation_load_async (self->store, rows->pdata[i], TERN_CONVERSATION_SCOPE_ROW,
                                  NULL, collect_loaded_cb, collect);
}

static GArray *
ids_of (GPtrArray *messages)
{
  GArray *ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), messages->len);

  for (guint i = 0; i < messages->len; i++)
    {
      gint64 id = tern_message_get_id (messages->pdata[i]);

      g_array_append_val (ids, id);
    }

  return ids;
}

static void
report_error (TernWindow   *self,
              const char   *what,
              GError       *error)
{
  g_autofree char *text = g_strdup_printf ("%s: %s", what, error->message);

  tern_window_show_toast (self, text);
}

/* Undo */

typedef void (*UndoFunc) (TernWindow *self,
                          gpointer    data);

typedef struct
{
  TernWindow *self;
  UndoFunc undo;
  UndoFunc done;
  gpointer data;
  GDestroyNotify notify;
  gboolean undone;
} Undo;

static void
undo_cb (gpointer data)
{
  Undo *undo = data;

  if (undo->undone)
    return;
  undo->undone = TRUE;
  undo->undo (undo->self, undo->data);
}

/* The toast went without Undo. */
static void
undo_done_cb (gpointer data)
{
  Undo *undo = data;

  if (undo->undone)
    return;
  undo->undone = TRUE;
  if (undo->done != NULL)
    undo->done (undo->self, undo->data);
}

/* The toast itself went: nothing can reach the undo any more. */
static void
undo_free (gpointer data)
{
  Undo *undo = data;

  if (undo->self->delete_undos != NULL)
    g_ptr_array_remove (undo->self->delete_undos, undo);
  if (undo->notify != NULL)
    undo->notify (undo->data);
  g_object_unref (undo->self);
  g_free (undo);
}

static void
show_undo_toast (TernWindow     *self,
                 const char     *title,
                 UndoFunc        undo_func,
                 UndoFunc        done_func,
                 gpointer        data,
                 GDestroyNotify  notify)
{
  Undo *undo = g_new0 (Undo, 1);

  undo->self = g_object_ref (self);
  undo->undo = undo_func;
  undo->done = done_func;
  undo->data = data;
  undo->notify = notify;
  if (done_func != NULL)
    {
      if (self->delete_undos == NULL)
        self->delete_undos = g_ptr_array_new ();
      g_ptr_array_add (self->delete_undos, undo);
    }
  tern_window_add_toast (self, tern_undo_toast_new (title, undo_cb, undo_done_cb, undo, undo_free));
}

/* Flags */

typedef struct
{
  GArray *ids;
  guint flag;
  gboolean set;
} FlagChange;

static void
flag_change_free (gpointer data)
{
  FlagChange *change = data;

  g_array_unref (change->ids);
  g_free (change);
}

static void
flags_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(TernWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  guint queued;

  queued = tern_store_queue_action_finish (TERN_STORE (source), result, &error);
  if (error != NULL)
    report_error (self, _("Could not change the messages"), error);
  else if (queued > 0 && self->mail_service != NULL)
    tern_mail_service_push_changes (self->mail_service);
}

/* The change is made here at once, and queued for the server of the
 * messages that have one, which hears of it soon. */
static void
apply_flag (TernWindow *self,
            GArray     *ids,
            guint       flag,
            gboolean    set)
{
  if (ids->len == 0)
    return;
  tern_store_queue_action_async (self->store, TERN_ACTION_SET_FLAGS, ids, 0, set ? flag : 0,
                                 set ? 0 : flag, NULL, flags_done_cb, g_object_ref (self));
}

static void
undo_flag (TernWindow *self,
           gpointer    data)
{
  FlagChange *change = data;

  apply_flag (self, change->ids, change->flag, !change->set);
}

/* Sets or clears @flag on the messages that differ, with an undo toast
 * when @title is given. */
static void
change_flag (TernWindow *self,
             GPtrArray  *messages,
             guint       flag,
             gboolean    set,
             const char *title)
{
  FlagChange *change = g_new0 (FlagChange, 1);

  change->flag = flag;
  change->set = set;
  change->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < messages->len; i++)
    {
      gboolean has = (tern_message_get_flags (messages->pdata[i]) & flag) != 0;
      gint64 id = tern_message_get_id (messages->pdata[i]);

      if (has != set)
        g_array_append_val (change->ids, id);
    }

  if (change->ids->len == 0)
    {
      flag_change_free (change);
      return;
    }

  apply_flag (self, change->ids, flag, set);
  if (title != NULL)
    show_undo_toast (self, title, undo_flag, NULL, change, flag_change_free);
  else
    flag_change_free (change);
}

static gboolean
any_without (GPtrArray *messages,
             guint      flag)
{
  for (guint i = 0; i < messages->len; i++)
    if ((tern_message_get_flags (messages->pdata[i]) & flag) == 0)
      return TRUE;
  return FALSE;
}

static void
mark_read (TernWindow *self,
           GPtrArray  *messages,
           gint64      target)
{
  change_flag (self, messages, TERN_MESSAGE_FLAG_SEEN, TRUE,
               g_dngettext (NULL, "Marked as read", "Marked as read", messages->len));
}

static void
mark_unread (TernWindow *self,
             GPtrArray  *messages,
             gint64      target)
{
  change_flag (self, messages, TERN_MESSAGE_FLAG_SEEN, FALSE, _("Marked as unread"));
}

static void
toggle_read (TernWindow *self,
             GPtrArray  *messages,
             gint64      target)
{
  if (any_without (messages, TERN_MESSAGE_FLAG_SEEN))
    mark_read (self, messages, 0);
  else
    mark_unread (self, messages, 0);
}

static void
toggle_flag (TernWindow *self,
             GPtrArray  *messages,
             gint64      target)
{
  if (any_without (messages, TERN_MESSAGE_FLAG_FLAGGED))
    change_flag (self, messages, TERN_MESSAGE_FLAG_FLAGGED, TRUE, _("Flagged"));
  else
    change_flag (self, messages, TERN_MESSAGE_FLAG_FLAGGED, FALSE, _("Flag removed"));
}

/**
 * tern_window_mark_shown_read:
 *
 * Marks the messages the reader opened as read, as opening them is
 * reading them.
 */
void
tern_window_mark_shown_read (TernWindow *self)
{
  GPtrArray *messages = tern_reader_get_messages (self->reader);

  if (messages != NULL && self->store != NULL)
    change_flag (self, messages, TERN_MESSAGE_FLAG_SEEN, TRUE, NULL);
}

/* Moves */

/* A move between two folders of one server is only shown (its rows
 * hidden) while its toast is up, and made when the toast goes: queued for
 * the server then, it never has to be taken back there.  Other moves (to
 * or from this computer, between accounts) happen in the store at once,
 * and Undo moves them back. */
typedef struct
{
  GArray *ids;               /* moved in the store at once */
  GArray *from_folders;      /* the folder of each id, for undo */
  GArray *deferred_ids;      /* moved on the server when the toast goes */
  GArray *deferred_from;
  gint64 to_folder;
  guint add_flags;
} Move;

static void update_hidden  (TernWindow *self);
static void forget_pending (TernWindow *self,
                            GArray     *ids);

static void
move_free (gpointer data)
{
  Move *move = data;

  g_array_unref (move->ids);
  g_array_unref (move->from_folders);
  g_array_unref (move->deferred_ids);
  g_array_unref (move->deferred_from);
  g_free (move);
}

static void
move_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(TernWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!tern_store_move_messages_finish (TERN_STORE (source), result, &error))
    report_error (self, _("Could not move the messages"), error);
}

static void
queued_move_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(TernWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  tern_store_queue_action_finish (TERN_STORE (source), result, &error);
  if (error != NULL)
    report_error (self, _("Could not move the messages"), error);
  else if (self->mail_service != NULL)
    tern_mail_service_push_changes (self->mail_service);
}

/* Whether a move from @from_folder to @to_folder goes to a server. */
static gboolean
is_server_move (TernWindow *self,
                gint64      from_folder,
                gint64      to_folder)
{
  TernFolder *from = tern_sidebar_find_folder (self->sidebar, from_folder);
  TernFolder *to = tern_sidebar_find_folder (self->sidebar, to_folder);

  return from != NULL && to != NULL &&
         g_strcmp0 (tern_folder_get_account (from), tern_folder_get_account (to)) == 0 &&
         !g_str_equal (tern_folder_get_account (to), TERN_LOCAL_ACCOUNT);
}

/* The ids of @ids grouped by their folder in @folders: folder → GArray. */
static GHashTable *
group_by_folder (GArray *ids,
                 GArray *folders)
{
  GHashTable *by_folder = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                 (GDestroyNotify) g_array_unref);

  for (guint i = 0; i < ids->len; i++)
    {
      gint64 folder = g_array_index (folders, gint64, i);
      GArray *group = g_hash_table_lookup (by_folder, &folder);

      if (group == NULL)
        {
          group = g_array_new (FALSE, FALSE, sizeof (gint64));
          g_hash_table_insert (by_folder, g_memdup2 (&folder, sizeof folder), group);
        }
      g_array_append_val (group, g_array_index (ids, gint64, i));
    }
  return by_folder;
}

static void
undo_move (TernWindow *self,
           gpointer    data)
{
  Move *move = data;
  g_autoptr(GHashTable) by_folder = group_by_folder (move->ids, move->from_folders);
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  if (move->add_flags != 0)
    {
      apply_flag (self, move->ids, move->add_flags, FALSE);
      apply_flag (self, move->deferred_ids, move->add_flags, FALSE);
    }

  g_hash_table_iter_init (&iter, by_folder);
  while (g_hash_table_iter_next (&iter, &key, &value))
    tern_store_move_messages_async (self->store, value, *(gint64 *) key, NULL, move_done_cb,
                                    g_object_ref (self));

  forget_pending (self, move->deferred_ids);
  update_hidden (self);
}

/* The toast went without Undo: the server moves are queued now. */
static void
finish_move (TernWindow *self,
             gpointer    data)
{
  Move *move = data;

  if (move->deferred_ids->len > 0 && self->store != NULL)
    tern_store_queue_action_async (self->store, TERN_ACTION_MOVE, move->deferred_ids,
                                   move->to_folder, 0, 0, NULL, queued_move_cb,
                                   g_object_ref (self));
  /* The rows stay hidden until the store reports them moved. */
  forget_pending (self, move->deferred_ids);
}

static void
move_messages (TernWindow *self,
               GPtrArray  *messages,
               TernFolder *to,
               guint       add_flags,
               const char *title)
{
  Move *move = g_new0 (Move, 1);

  move->to_folder = tern_folder_get_id (to);
  move->add_flags = add_flags;
  move->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  move->from_folders = g_array_new (FALSE, FALSE, sizeof (gint64));
  move->deferred_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  move->deferred_from = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint i = 0; i < messages->len; i++)
    {
      gint64 id = tern_message_get_id (messages->pdata[i]);
      gint64 folder = tern_message_get_folder_id (messages->pdata[i]);

      if (folder == move->to_folder)
        continue;
      if (is_server_move (self, folder, move->to_folder))
        {
          g_array_append_val (move->deferred_ids, id);
          g_array_append_val (move->deferred_from, folder);
        }
      else
        {
          g_array_append_val (move->ids, id);
          g_array_append_val (move->from_folders, folder);
        }
    }

  if (move->ids->len == 0 && move->deferred_ids->len == 0)
    {
      move_free (move);
      return;
    }

  if (add_flags != 0)
    {
      apply_flag (self, move->ids, add_flags, TRUE);
      apply_flag (self, move->deferred_ids, add_flags, TRUE);
    }
  if (move->ids->len > 0)
    tern_store_move_messages_async (self->store, move->ids, move->to_folder, NULL,
                                    move_done_cb, g_object_ref (self));
  if (move->deferred_ids->len > 0)
    {
      if (self->pending_deletes == NULL)
        self->pending_deletes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      for (guint i = 0; i < move->deferred_ids->len; i++)
        g_hash_table_add (self->pending_deletes,
                          g_memdup2 (&g_array_index (move->deferred_ids, gint64, i),
                                     sizeof (gint64)));
      update_hidden (self);
    }
  show_undo_toast (self, title, undo_move, finish_move, move, move_free);
}

static void
move_selected (TernWindow *self,
               GPtrArray  *messages,
               gint64      target)
{
  TernFolder *to = tern_sidebar_find_folder (self->sidebar, target);
  g_autofree char *title = NULL;
  g_autofree char *name = NULL;

  if (to == NULL)
    return;

  name = g_strdup (tern_folder_get_name (to) != NULL ? tern_folder_get_name (to)
                                                     : tern_folder_get_path (to));
  title = g_strdup_printf (_("Moved to “%s”"), name);
  move_messages (self, messages, to, 0, title);
}

static TernFolder *
junk_folder_for (TernWindow  *self,
                 TernMessage *message)
{
  TernFolder *folder = tern_sidebar_find_folder (self->sidebar,
                                                 tern_message_get_folder_id (message));

  if (folder == NULL || tern_folder_get_role (folder) == TERN_FOLDER_ROLE_JUNK)
    return NULL;

  return tern_sidebar_find_role_folder (self->sidebar, tern_folder_get_account (folder),
                                        TERN_FOLDER_ROLE_JUNK);
}

static void
junk_selected (TernWindow *self,
               GPtrArray  *messages,
               gint64      target)
{
  TernFolder *junk = junk_folder_for (self, messages->pdata[0]);

  if (junk == NULL)
    return;

  move_messages (self, messages, junk, TERN_MESSAGE_FLAG_JUNK, _("Marked as junk"));
}

/* Deleting */

typedef struct
{
  GArray *ids;
} Deletion;

static void
deletion_free (gpointer data)
{
  Deletion *deletion = data;

  g_array_unref (deletion->ids);
  g_free (deletion);
}

static void
update_hidden (TernWindow *self)
{
  tern_message_list_set_hidden (self->message_list, self->pending_deletes);
}

static void
forget_pending (TernWindow *self,
                GArray     *ids)
{
  if (self->pending_deletes == NULL)
    return;

  for (guint i = 0; i < ids->len; i++)
    g_hash_table_remove (self->pending_deletes, &g_array_index (ids, gint64, i));
}

static void
delete_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(TernWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  guint queued;

  queued = tern_store_queue_action_finish (TERN_STORE (source), result, &error);
  if (error != NULL)
    report_error (self, _("Could not delete the messages"), error);
  else if (queued > 0 && self->mail_service != NULL)
    tern_mail_service_push_changes (self->mail_service);
}

static void
undo_delete (TernWindow *self,
             gpointer    data)
{
  Deletion *deletion = data;

  forget_pending (self, deletion->ids);
  update_hidden (self);
}

static void
finish_delete (TernWindow *self,
               gpointer    data)
{
  Deletion *deletion = data;

  /* The model drops the rows when the store reports the deletion; they
   * stay hidden until then. */
  if (self->store != NULL)
    tern_store_queue_action_async (self->store, TERN_ACTION_DELETE, deletion->ids, 0, 0, 0,
                                   NULL, delete_done_cb, g_object_ref (self));
  forget_pending (self, deletion->ids);
}

/**
 * tern_window_flush_deletes:
 *
 * Deletes the messages whose undo toasts are still up: the window closes.
 */
void
tern_window_flush_deletes (TernWindow *self)
{
  for (guint i = 0; self->delete_undos != NULL && i < self->delete_undos->len; i++)
    {
      Undo *undo = self->delete_undos->pdata[i];

      if (!undo->undone)
        {
          undo->undone = TRUE;
          undo->done (undo->self, undo->data);
        }
    }
}

static void
delete_selected (TernWindow *self,
                 GPtrArray  *messages,
                 gint64      target)
{
  g_autoptr(GPtrArray) to_trash = g_ptr_array_new ();
  g_autoptr(GPtrArray) for_good = g_ptr_array_new ();
  TernFolder *trash = NULL;

  for (guint i = 0; i < messages->len; i++)
    {
      TernMessage *message = messages->pdata[i];
      TernFolder *folder = tern_sidebar_find_folder (self->sidebar,
                                                     tern_message_get_folder_id (message));
      TernFolder *account_trash = NULL;

      if (folder != NULL && !g_str_equal (tern_folder_get_account (folder), TERN_LOCAL_ACCOUNT) &&
          tern_folder_get_role (folder) != TERN_FOLDER_ROLE_TRASH)
        account_trash = tern_sidebar_find_role_folder (self->sidebar,
                                                       tern_folder_get_account (folder),
                                                       TERN_FOLDER_ROLE_TRASH);

      if (account_trash != NULL && (trash == NULL || trash == account_trash))
        {
          trash = account_trash;
          g_ptr_array_add (to_trash, message);
        }
      else
        {
          g_ptr_array_add (for_good, message);
        }
    }

  if (to_trash->len > 0)
    move_messages (self, to_trash, trash, 0,
                   g_dngettext (NULL, "Message moved to Trash", "Messages moved to Trash",
                                to_trash->len));

  if (for_good->len > 0)
    {
      Deletion *deletion = g_new0 (Deletion, 1);
      g_autofree char *title = NULL;

      deletion->ids = ids_of (for_good);
      if (self->pending_deletes == NULL)
        self->pending_deletes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      for (guint i = 0; i < deletion->ids->len; i++)
        g_hash_table_add (self->pending_deletes,
                          g_memdup2 (&g_array_index (deletion->ids, gint64, i), sizeof (gint64)));
      update_hidden (self);

      title = g_strdup_printf (g_dngettext (NULL, "%u message deleted", "%u messages deleted",
                                            deletion->ids->len),
                               deletion->ids->len);
      show_undo_toast (self, title, undo_delete, finish_delete, deletion, deletion_free);
    }
}

/* The actions */

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (self->search_entry);
}

static void
selection_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  if (g_str_equal (action_name, "win.mark-read"))
    with_selection (self, mark_read, 0);
  else if (g_str_equal (action_name, "win.mark-unread"))
    with_selection (self, mark_unread, 0);
  else if (g_str_equal (action_name, "win.toggle-read"))
    with_selection (self, toggle_read, 0);
  else if (g_str_equal (action_name, "win.toggle-flag"))
    with_selection (self, toggle_flag, 0);
  else if (g_str_equal (action_name, "win.delete"))
    with_selection (self, delete_selected, 0);
  else if (g_str_equal (action_name, "win.junk"))
    with_selection (self, junk_selected, 0);
}

static void
move_to_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  with_selection (self, move_selected, g_variant_get_int64 (parameter));
}

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  gtk_menu_button_popup (GTK_MENU_BUTTON (self->move_button));
}

static void
compose_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  TernComposer *composer = tern_composer_new (TERN_WINDOW (widget));

  gtk_window_present (GTK_WINDOW (composer));
}

/* Replies answer the last message the reader shows, the newest of its
 * conversation. */
static void
reply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);
  GPtrArray *messages = tern_reader_get_messages (self->reader);
  TernMessage *message;
  TernFolder *folder;
  TernComposeMode mode = TERN_COMPOSE_REPLY;

  if (messages == NULL || messages->len == 0)
    return;
  message = messages->pdata[messages->len - 1];
  folder = tern_sidebar_find_folder (self->sidebar, tern_message_get_folder_id (message));
  if (g_str_equal (action_name, "win.reply-all"))
    mode = TERN_COMPOSE_REPLY_ALL;
  else if (g_str_equal (action_name, "win.forward"))
    mode = TERN_COMPOSE_FORWARD;
  tern_composer_open_for_message (self, message,
                                  folder != NULL ? tern_folder_get_account (folder) : NULL, mode);
}

/* Opens a draft the reader shows in a composer. */
static void
edit_draft_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);
  GPtrArray *messages = tern_reader_get_messages (self->reader);
  gint64 id = g_variant_get_int64 (parameter);

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      TernMessage *message = messages->pdata[i];
      TernFolder *folder;

      if (tern_message_get_id (message) != id)
        continue;
      folder = tern_sidebar_find_folder (self->sidebar, tern_message_get_folder_id (message));
      tern_composer_open_draft (self, message,
                                folder != NULL ? tern_folder_get_account (folder)
                                               : TERN_LOCAL_ACCOUNT);
      return;
    }
}

void
tern_window_install_actions (GtkWidgetClass *widget_class)
{
  static const char *selection_actions[] = {
    "win.mark-read", "win.mark-unread", "win.toggle-read", "win.toggle-flag", "win.delete",
    "win.junk",
  };

  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  for (guint i = 0; i < G_N_ELEMENTS (selection_actions); i++)
    gtk_widget_class_install_action (widget_class, selection_actions[i], NULL, selection_action);
  gtk_widget_class_install_action (widget_class, "win.move-to", "x", move_to_action);
  gtk_widget_class_install_action (widget_class, "win.move", NULL, move_action);
  gtk_widget_class_install_action (widget_class, "win.compose", NULL, compose_action);
  gtk_widget_class_install_action (widget_class, "win.reply", NULL, reply_action);
  gtk_widget_class_install_action (widget_class, "win.reply-all", NULL, reply_action);
  gtk_widget_class_install_action (widget_class, "win.forward", NULL, reply_action);
  gtk_widget_class_install_action (widget_class, "win.edit-draft", "x", edit_draft_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "win.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_i, GDK_CONTROL_MASK,
                                       "win.mark-read", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_u, GDK_CONTROL_MASK,
                                       "win.mark-unread", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK,
                                       "win.toggle-flag", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "win.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0, "win.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, GDK_CONTROL_MASK,
                                       "win.junk", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, GDK_CONTROL_MASK,
                                       "win.move", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK,
                                       "win.compose", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK,
                                       "win.reply", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.reply-all", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_R,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.reply-all", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK,
                                       "win.forward", NULL);
}

/**
 * tern_window_update_actions:
 *
 * Enables the actions that apply to the selection, and gives the read and
 * flag buttons the label of what they will do.
 */
void
tern_window_update_actions (TernWindow *self)
{
  g_autoptr(GPtrArray) rows = tern_message_list_get_selected (self->message_list);
  gboolean any = rows->len > 0 && self->store != NULL;
  gboolean unread = FALSE;
  gboolean unflagged = rows->len == 0;
  gboolean junk = FALSE;
  GtkWidget *widget = GTK_WIDGET (self);

  for (guint i = 0; i < rows->len; i++)
    {
      TernMessageRow *row = rows->pdata[i];
      TernFolder *folder = tern_sidebar_find_folder (self->sidebar,
                                                     tern_message_row_get_folder_id (row));

      unread |= tern_message_row_get_unread (row) || tern_message_row_get_unread_count (row) > 0;
      unflagged |= !tern_message_row_get_flagged (row);
      if (folder != NULL && tern_folder_get_role (folder) != TERN_FOLDER_ROLE_JUNK &&
          tern_sidebar_find_role_folder (self->sidebar, tern_folder_get_account (folder),
                                         TERN_FOLDER_ROLE_JUNK) != NULL)
        junk = TRUE;
    }

  gtk_widget_action_set_enabled (widget, "win.mark-read", any);
  gtk_widget_action_set_enabled (widget, "win.mark-unread", any);
  gtk_widget_action_set_enabled (widget, "win.toggle-read", any);
  gtk_widget_action_set_enabled (widget, "win.toggle-flag", any);
  gtk_widget_action_set_enabled (widget, "win.delete", any);
  gtk_widget_action_set_enabled (widget, "win.move-to", any);
  gtk_widget_action_set_enabled (widget, "win.move", any);
  gtk_widget_set_sensitive (self->move_button, any);
  gtk_widget_action_set_enabled (widget, "win.junk", any && junk);
  {
    GPtrArray *shown = tern_reader_get_messages (self->reader);
    gboolean one = rows->len == 1 && shown != NULL && shown->len > 0 && self->store != NULL;

    gtk_widget_action_set_enabled (widget, "win.reply", one);
    gtk_widget_action_set_enabled (widget, "win.reply-all", one);
    gtk_widget_action_set_enabled (widget, "win.forward", one);
  }

  if (self->read_button_offers_read != (unread ? 1 : 0))
    {
      const char *read_label = unread ? _("Mark as Read") : _("Mark as Unread");

      self->read_button_offers_read = unread ? 1 : 0;
      gtk_button_set_icon_name (GTK_BUTTON (self->read_button),
                                unread ? "mail-read-symbolic" : "mail-unread-symbolic");
      gtk_widget_set_tooltip_text (self->read_button, read_label);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->read_button),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, read_label, -1);
    }

  if (unflagged != self->menu_offers_flag)
    {
      self->menu_offers_flag = unflagged;
      tern_window_update_move_menu (self);
    }
}

/**
 * tern_window_update_move_menu:
 *
 * Fills the More Actions menu: Mark as Junk, and Move To with the
 * folders, account by account.
 */
void
tern_window_update_move_menu (TernWindow *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) actions = g_menu_new ();
  g_autoptr(GMenu) folders_menu = g_menu_new ();
  GPtrArray *folders = tern_sidebar_get_folders (self->sidebar);
  GMenu *section = NULL;
  const char *account = NULL;
  g_autoptr(GString) key = g_string_new (self->menu_offers_flag ? "flag" : "unflag");

  /* The menu is made again only when what it offers changed: the sidebar
   * reads the folders again for every batch of mail a sync brings, and
   * their counts are not in the menu. */
  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      TernFolder *folder = folders->pdata[i];

      g_string_append_printf (key, "\n%" G_GINT64_FORMAT " %s %s", tern_folder_get_id (folder),
                              tern_folder_get_account (folder), tern_folder_get_path (folder));
    }
  if (g_strcmp0 (key->str, self->move_menu_key) == 0)
    return;
  g_free (self->move_menu_key);
  self->move_menu_key = g_strdup (key->str);

  for (guint i = 0; folders != NULL && i < folders->len; i++)
    {
      TernFolder *folder = folders->pdata[i];
      g_autoptr(GMenuItem) item = NULL;

      if (section == NULL || g_strcmp0 (account, tern_folder_get_account (folder)) != 0)
        {
          account = tern_folder_get_account (folder);
          section = g_menu_new ();
          g_menu_append_section (folders_menu,
                                 g_str_equal (account, TERN_LOCAL_ACCOUNT) ? _("On This Computer")
                                                                           : account,
                                 G_MENU_MODEL (section));
          g_object_unref (section);
        }

      item = g_menu_item_new (tern_folder_get_path (folder), NULL);
      g_menu_item_set_action_and_target_value (item, "win.move-to",
                                               g_variant_new_int64 (tern_folder_get_id (folder)));
      g_menu_append_item (section, item);
    }

  /* Reply All and Forward live here, and Reply too, so that the reader's
   * header bar fits a phone's width. */
  {
    g_autoptr(GMenu) answers = g_menu_new ();

    g_menu_append (answers, _("_Reply"), "win.reply");
    g_menu_append (answers, _("Reply _All"), "win.reply-all");
    g_menu_append (answers, _("_Forward"), "win.forward");
    g_menu_append_section (menu, NULL, G_MENU_MODEL (answers));
  }
  g_menu_append (actions, self->menu_offers_flag ? _("_Flag") : _("Remove _Flag"),
                 "win.toggle-flag");
  g_menu_append (actions, _("Mark as _Junk"), "win.junk");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (actions));
  g_menu_append_submenu (menu, _("_Move To"), G_MENU_MODEL (folders_menu));
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (self->move_button), G_MENU_MODEL (menu));
}
