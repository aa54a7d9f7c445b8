/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-format.h"
#include "tern-message-flags.h"
#include "tern-message-list.h"
#include "tern-paced-list-model.h"

/*
 * TernMessageList: a GtkListView over the store's lazy model, with one
 * small row widget recycled per visible row.  A row is filled when its page
 * arrives from the store (the row object says it changed), so the list
 * scrolls at once over folders of any size.  Messages being deleted are hidden through
 * a filter that is set only while there are some, so that the filter never
 * asks the model for every row otherwise.
 */

struct _TernMessageList
{
  GtkWidget parent_instance;

  GtkWidget *stack;
  GtkWidget *list_view;
  GtkWidget *empty_page;

  TernMessageListModel *model;
  /* The model, shown to the list a few rows a frame (see pace_cb()). */
  TernPacedListModel *paced;
  guint pace_tick;
  GtkFilterListModel *filter_model;
  GtkMultiSelection *selection;
  GHashTable *hidden;
  /* The row a drag started on, while it is being prepared. */
  GtkWidget *drag_row;
};

G_DEFINE_FINAL_TYPE (TernMessageList, tern_message_list, GTK_TYPE_WIDGET)

enum {
  SIGNAL_SELECTION_CHANGED,
  SIGNAL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Row widgets */

typedef struct
{
  GtkWidget *top;
  GtkWidget *unread_dot;
  GtkWidget *sender;
  GtkWidget *count;
  GtkWidget *attachment;
  GtkWidget *flag;
  GtkWidget *date;
  GtkWidget *subject;
  GtkWidget *preview;
  TernMessageRow *row;
  gulong notify_handler;
} RowWidgets;

/*
 * GTK 4.8's list keeps up to 200 row widgets, and makes and measures them
 * all at once when a folder's first mail arrives, so a row costs as little
 * as it can: its texts are GtkInscriptions, whose size comes from the font
 * rather than from laying out the text; its optional widgets (a count, an
 * attachment, a flag) are made only for the first message that shows one;
 * and one drag source on the list serves every row.
 */

static GtkWidget *
make_text (const char *css_class)
{
  GtkWidget *text = gtk_inscription_new (NULL);

  gtk_inscription_set_xalign (GTK_INSCRIPTION (text), 0);
  gtk_inscription_set_text_overflow (GTK_INSCRIPTION (text), GTK_INSCRIPTION_OVERFLOW_ELLIPSIZE_END);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_widget_add_css_class (text, css_class);
  return text;
}

static void
set_text (GtkWidget  *widget,
          const char *text)
{
  if (g_strcmp0 (gtk_inscription_get_text (GTK_INSCRIPTION (widget)), text) == 0)
    return;
  gtk_inscription_set_text (GTK_INSCRIPTION (widget), text);
  /* Screen readers read it as they read a label. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

static GtkWidget *
make_label (const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);

  return label;
}

/* Shows or hides one of the optional widgets of the row's top line, made
 * by @make the first time it is shown. */
static void
show_optional (RowWidgets  *widgets,
               GtkWidget  **widget,
               GtkWidget *(*make) (void),
               gboolean     shown)
{
  GtkWidget *after = widgets->sender;

  if (*widget == NULL && !shown)
    return;
  if (*widget == NULL)
    {
      *widget = make ();
      /* The order of the top line: sender, count, attachment, flag, date. */
      if (widgets->count != NULL && widget != &widgets->count)
        after = widgets->count;
      if (widgets->attachment != NULL && widget == &widgets->flag)
        after = widgets->attachment;
      gtk_box_insert_child_after (GTK_BOX (widgets->top), *widget, after);
    }
  gtk_widget_set_visible (*widget, shown);
}

static GtkWidget *
make_count (void)
{
  GtkWidget *count = make_label ("tern-count");

  gtk_widget_add_css_class (count, "dim-label");
  return count;
}

static GtkWidget *
make_attachment (void)
{
  GtkWidget *attachment = gtk_image_new_from_icon_name ("mail-attachment-symbolic");

  gtk_accessible_update_property (GTK_ACCESSIBLE (attachment),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Has attachments"), -1);
  return attachment;
}

static GtkWidget *
make_flag (void)
{
  GtkWidget *flag = gtk_image_new_from_icon_name ("starred-symbolic");

  gtk_widget_add_css_class (flag, "tern-flag");
  gtk_accessible_update_property (GTK_ACCESSIBLE (flag),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Flagged"), -1);
  return flag;
}

static void
update_row (GtkWidget *box)
{
  RowWidgets *widgets = g_object_get_data (G_OBJECT (box), "tern-row-widgets");
  TernMessageRow *row = widgets->row;
  g_autofree char *date = NULL;
  g_autofree char *count = NULL;
  g_autofree char *label = NULL;
  const char *subject;
  const char *sender;
  gboolean unread;

  if (row == NULL)
    return;

  subject = tern_message_row_get_subject (row);
  sender = tern_message_row_get_sender (row);
  unread = tern_message_row_get_unread (row) || tern_message_row_get_unread_count (row) > 0;

  if (subject == NULL || *subject == '\0')
    subject = tern_message_row_get_loaded (row) ? _("(No subject)") : "";
  if (sender == NULL)
    sender = "";

  date = tern_format_list_date (tern_message_row_get_date (row), NULL);
  if (tern_message_row_get_count (row) > 1)
    count = g_strdup_printf ("%u", tern_message_row_get_count (row));

  set_text (widgets->sender, sender);
  set_text (widgets->subject, subject);
  set_text (widgets->preview,
            tern_message_row_get_preview (row) != NULL ? tern_message_row_get_preview (row) : "");
  gtk_label_set_label (GTK_LABEL (widgets->date), date);
  show_optional (widgets, &widgets->count, make_count, count != NULL);
  if (count != NULL)
    gtk_label_set_label (GTK_LABEL (widgets->count), count);
  show_optional (widgets, &widgets->attachment, make_attachment,
                 tern_message_row_get_has_attachments (row));
  show_optional (widgets, &widgets->flag, make_flag, tern_message_row_get_flagged (row));
  gtk_widget_set_opacity (widgets->unread_dot, unread ? 1.0 : 0.0);

  if (unread)
    gtk_widget_add_css_class (box, "unread");
  else
    gtk_widget_remove_css_class (box, "unread");

  /* A screen reader reads one sentence for the row. */
  label = g_strdup_printf ("%s%s, %s, %s%s%s",
                           unread ? _("Unread, ") : "",
                           sender, subject, date,
                           tern_message_row_get_flagged (row) ? _(", flagged") : "",
                           tern_message_row_get_has_attachments (row) ? _(", with attachments")
                                                                     : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (box), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
row_changed_cb (TernMessageRow *row,
                gpointer        user_data)
{
  update_row (user_data);
}

static TernMessageDrag *
message_drag_copy (TernMessageDrag *drag)
{
  TernMessageDrag *copy = g_new (TernMessageDrag, 1);

  *copy = *drag;
  return copy;
}

G_DEFINE_BOXED_TYPE (TernMessageDrag, tern_message_drag, message_drag_copy, g_free)

/* Dragging rows: a row outside the selection becomes the selection, so
 * that what moves is what is highlighted. */
static GdkContentProvider *
drag_prepare_cb (GtkDragSource *source,
                 double         x,
                 double         y,
                 gpointer       user_data)
{
  TernMessageList *self = user_data;
  GtkWidget *grid = gtk_widget_pick (self->list_view, x, y, GTK_PICK_DEFAULT);
  GtkListItem *item = NULL;
  GtkSelectionModel *selection = GTK_SELECTION_MODEL (self->selection);
  g_autoptr(GtkBitset) selected = NULL;
  TernMessageDrag drag = { 0 };
  guint position;

  /* The row under the pointer: the widget picked, or one it is in. */
  for (; grid != NULL && grid != self->list_view; grid = gtk_widget_get_parent (grid))
    {
      item = g_object_get_data (G_OBJECT (grid), "tern-list-item");
      if (item != NULL)
        break;
    }
  self->drag_row = NULL;
  if (item == NULL || selection == NULL)
    return NULL;
  position = gtk_list_item_get_position (item);
  if (position == GTK_INVALID_LIST_POSITION)
    return NULL;
  if (!gtk_selection_model_is_selected (selection, position))
    gtk_selection_model_select_item (selection, position, TRUE);

  selected = gtk_selection_model_get_selection (selection);
  drag.count = (guint) gtk_bitset_get_size (selected);
  self->drag_row = grid;
  return gdk_content_provider_new_typed (TERN_TYPE_MESSAGE_DRAG, &drag);
}

static void
drag_begin_cb (GtkDragSource *source,
               GdkDrag       *drag,
               gpointer       user_data)
{
  TernMessageList *self = user_data;
  g_autoptr(GdkPaintable) icon = NULL;

  if (self->drag_row == NULL)
    return;
  icon = gtk_widget_paintable_new (self->drag_row);
  self->drag_row = NULL;
  gtk_drag_source_set_icon (source, icon, 12, 12);
}

static void
setup_cb (GtkSignalListItemFactory *factory,
          GtkListItem              *item,
          gpointer                  user_data)
{
  RowWidgets *widgets = g_new0 (RowWidgets, 1);
  GtkWidget *grid = gtk_grid_new ();

  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_widget_add_css_class (grid, "tern-message-row");
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 2);

  widgets->unread_dot = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_add_css_class (widgets->unread_dot, "tern-unread-dot");
  gtk_widget_set_valign (widgets->unread_dot, GTK_ALIGN_CENTER);
  gtk_widget_set_size_request (widgets->unread_dot, 8, 8);
  widgets->sender = make_text ("tern-sender");
  widgets->date = make_label ("dim-label");
  gtk_widget_add_css_class (widgets->date, "caption");
  gtk_widget_add_css_class (widgets->date, "numeric");
  gtk_label_set_ellipsize (GTK_LABEL (widgets->date), PANGO_ELLIPSIZE_NONE);
  widgets->subject = make_text ("tern-subject");
  widgets->preview = make_text ("dim-label");
  gtk_widget_add_css_class (widgets->preview, "tern-preview");

  widgets->top = top;
  gtk_box_append (GTK_BOX (top), widgets->sender);
  gtk_box_append (GTK_BOX (top), widgets->date);

  gtk_grid_attach (GTK_GRID (grid), widgets->unread_dot, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), top, 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), widgets->subject, 1, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), widgets->preview, 1, 2, 1, 1);

  g_object_set_data_full (G_OBJECT (grid), "tern-row-widgets", widgets, g_free);
  g_object_set_data (G_OBJECT (grid), "tern-list-item", item);
  gtk_list_item_set_child (item, grid);
}

static void
bind_cb (GtkSignalListItemFactory *factory,
         GtkListItem              *item,
         gpointer                  user_data)
{
  GtkWidget *grid = gtk_list_item_get_child (item);
  RowWidgets *widgets = g_object_get_data (G_OBJECT (grid), "tern-row-widgets");

  widgets->row = g_object_ref (gtk_list_item_get_item (item));
  widgets->notify_handler = g_signal_connect (widgets->row, "changed",
                                              G_CALLBACK (row_changed_cb), grid);
  update_row (grid);
}

static void
unbind_cb (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  GtkWidget *grid = gtk_list_item_get_child (item);
  RowWidgets *widgets = g_object_get_data (G_OBJECT (grid), "tern-row-widgets");

  if (widgets->row != NULL)
    {
      g_clear_signal_handler (&widgets->notify_handler, widgets->row);
      g_clear_object (&widgets->row);
    }
}

/* The list */

static void
update_empty (TernMessageList *self)
{
  gboolean empty = self->filter_model == NULL ||
                   g_list_model_get_n_items (G_LIST_MODEL (self->filter_model)) == 0;
  gboolean loading = self->model != NULL && tern_message_list_model_is_loading (self->model);

  gtk_stack_set_visible_child_name (GTK_STACK (self->stack),
                                    empty && !loading ? "empty" : "list");
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  update_empty (user_data);

  /* A selected row that went away takes its selection with it. */
  if (removed > 0)
    g_signal_emit (user_data, signals[SIGNAL_SELECTION_CHANGED], 0);
}

static void
loading_cb (GObject    *object,
            GParamSpec *pspec,
            gpointer    user_data)
{
  update_empty (user_data);
}

static void
selection_changed_cb (GtkSelectionModel *model,
                      guint              position,
                      guint              n_items,
                      gpointer           user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_SELECTION_CHANGED], 0);
}

static void
activate_cb (GtkListView *list_view,
             guint        position,
             gpointer     user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_ACTIVATED], 0);
}

static gboolean
filter_cb (gpointer item,
           gpointer user_data)
{
  TernMessageList *self = user_data;
  gint64 id = tern_message_row_get_id (item);

  return self->hidden == NULL || !g_hash_table_contains (self->hidden, &id);
}

/*
 * Pacing: the list makes and measures a row widget for each of up to some
 * 200 rows at once when they come, which takes a frame long enough to be
 * felt on a busy machine (a first sync fills the list while it works on
 * both processors).  The list is shown ROWS_PER_FRAME more rows a frame
 * until it has UNPACED_FROM, past which new rows make no widgets.  A list
 * not on screen is shown every row at once: no frames come to pace it.
 */
#define ROWS_PER_FRAME 40
#define UNPACED_FROM 240

static gboolean
pace_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  TernMessageList *self = user_data;

  if (self->paced != NULL)
    tern_paced_list_model_step (self->paced);
  if (self->paced != NULL && tern_paced_list_model_is_behind (self->paced))
    return G_SOURCE_CONTINUE;
  self->pace_tick = 0;
  return G_SOURCE_REMOVE;
}

static void
stop_pacing (TernMessageList *self)
{
  if (self->pace_tick != 0)
    gtk_widget_remove_tick_callback (self->list_view, self->pace_tick);
  self->pace_tick = 0;
}

static void
pace (TernMessageList *self)
{
  if (self->paced == NULL || !tern_paced_list_model_is_behind (self->paced))
    return;
  if (!gtk_widget_get_mapped (self->list_view))
    {
      stop_pacing (self);
      tern_paced_list_model_show_all (self->paced);
    }
  else if (self->pace_tick == 0)
    self->pace_tick = gtk_widget_add_tick_callback (self->list_view, pace_cb, self, NULL);
}

static void
behind_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  pace (user_data);
}

static void
list_unmapped_cb (GtkWidget *widget,
                  gpointer   user_data)
{
  pace (user_data);
}

/**
 * tern_message_list_set_model:
 * @model: (nullable): the messages to show
 * @empty_title: what the empty state says when @model has no rows
 * @empty_description: (nullable): and its longer line
 * @empty_icon: the empty state's icon
 *
 * Shows @model, with nothing selected.
 */
void
tern_message_list_set_model (TernMessageList      *self,
                             TernMessageListModel *model,
                             const char           *empty_title,
                             const char           *empty_description,
                             const char           *empty_icon)
{
  g_return_if_fail (TERN_IS_MESSAGE_LIST (self));

  if (self->model != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->model, self);
      g_signal_handlers_disconnect_by_data (self->paced, self);
      g_signal_handlers_disconnect_by_data (self->selection, self);
      g_signal_handlers_disconnect_by_data (self->filter_model, self);
    }

  stop_pacing (self);
  g_clear_pointer (&self->hidden, g_hash_table_unref);
  g_set_object (&self->model, model);
  g_clear_object (&self->paced);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->selection);

  adw_status_page_set_title (ADW_STATUS_PAGE (self->empty_page), empty_title);
  adw_status_page_set_description (ADW_STATUS_PAGE (self->empty_page), empty_description);
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (self->empty_page), empty_icon);

  if (model != NULL)
    {
      self->paced = tern_paced_list_model_new (G_LIST_MODEL (model), ROWS_PER_FRAME, UNPACED_FROM);
      g_signal_connect (self->paced, "notify::behind", G_CALLBACK (behind_cb), self);
      self->filter_model = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->paced)),
                                                      NULL);
      self->selection = gtk_multi_selection_new (G_LIST_MODEL (g_object_ref (self->filter_model)));
      g_signal_connect (self->filter_model, "items-changed", G_CALLBACK (items_changed_cb), self);
      g_signal_connect (model, "notify::loading", G_CALLBACK (loading_cb), self);
      g_signal_connect (self->selection, "selection-changed",
                        G_CALLBACK (selection_changed_cb), self);
    }

  gtk_list_view_set_model (GTK_LIST_VIEW (self->list_view),
                           self->selection != NULL ? GTK_SELECTION_MODEL (self->selection) : NULL);
  update_empty (self);
  pace (self);
  g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

/**
 * tern_message_list_get_model:
 *
 * Returns: (transfer none) (nullable): the model shown.
 */
TernMessageListModel *
tern_message_list_get_model (TernMessageList *self)
{
  g_return_val_if_fail (TERN_IS_MESSAGE_LIST (self), NULL);

  return self->model;
}

/**
 * tern_message_list_get_selected:
 *
 * Returns: (transfer full) (element-type TernMessageRow): the selected rows,
 *   top to bottom.
 */
GPtrArray *
tern_message_list_get_selected (TernMessageList *self)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GtkBitset) selected = NULL;
  GtkBitsetIter iter;
  guint position;

  g_return_val_if_fail (TERN_IS_MESSAGE_LIST (self), rows);

  if (self->selection == NULL)
    return rows;

  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  for (gboolean more = gtk_bitset_iter_init_first (&iter, selected, &position); more;
       more = gtk_bitset_iter_next (&iter, &position))
    g_ptr_array_add (rows, g_list_model_get_item (G_LIST_MODEL (self->selection), position));

  return rows;
}

/**
 * tern_message_list_set_hidden:
 * @ids: (nullable) (element-type gint64): message ids not to show, or %NULL
 *
 * Hides rows whose message is in @ids (a deletion that can still be undone).
 */
void
tern_message_list_set_hidden (TernMessageList *self,
                              GHashTable      *ids)
{
  g_return_if_fail (TERN_IS_MESSAGE_LIST (self));

  if (self->filter_model == NULL)
    return;

  g_clear_pointer (&self->hidden, g_hash_table_unref);
  if (ids != NULL && g_hash_table_size (ids) > 0)
    {
      g_autoptr(GtkCustomFilter) filter = gtk_custom_filter_new (filter_cb, self, NULL);

      self->hidden = g_hash_table_ref (ids);
      gtk_filter_list_model_set_filter (self->filter_model, GTK_FILTER (filter));
    }
  else
    {
      gtk_filter_list_model_set_filter (self->filter_model, NULL);
    }
}

/**
 * tern_message_list_select_position:
 *
 * Selects the row at @position alone and scrolls to it.
 */
void
tern_message_list_select_position (TernMessageList *self,
                                   guint            position)
{
  g_return_if_fail (TERN_IS_MESSAGE_LIST (self));

  if (self->selection == NULL ||
      position >= g_list_model_get_n_items (G_LIST_MODEL (self->selection)))
    return;

  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), position, TRUE);
  gtk_widget_activate_action (self->list_view, "list.scroll-to-item", "u", position);
}

/**
 * tern_message_list_get_first_selected:
 *
 * Returns: the position of the first selected row, or %G_MAXUINT.
 */
guint
tern_message_list_get_first_selected (TernMessageList *self)
{
  g_autoptr(GtkBitset) selected = NULL;

  g_return_val_if_fail (TERN_IS_MESSAGE_LIST (self), G_MAXUINT);

  if (self->selection == NULL)
    return G_MAXUINT;

  selected = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  return gtk_bitset_is_empty (selected) ? G_MAXUINT : gtk_bitset_get_minimum (selected);
}

static gboolean
tern_message_list_grab_focus (GtkWidget *widget)
{
  TernMessageList *self = TERN_MESSAGE_LIST (widget);

  return gtk_widget_grab_focus (self->list_view);
}

static void
tern_message_list_dispose (GObject *object)
{
  TernMessageList *self = TERN_MESSAGE_LIST (object);

  if (self->model != NULL)
    tern_message_list_set_model (self, NULL, "", NULL, NULL);
  g_clear_pointer (&self->stack, gtk_widget_unparent);

  G_OBJECT_CLASS (tern_message_list_parent_class)->dispose (object);
}

static void
tern_message_list_class_init (TernMessageListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tern_message_list_dispose;
  widget_class->grab_focus = tern_message_list_grab_focus;

  signals[SIGNAL_SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_ACTIVATED] =
    g_signal_new ("activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tern-message-list");
}

static void
tern_message_list_init (TernMessageList *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cb), self);

  self->list_view = gtk_list_view_new (NULL, g_object_ref (factory));
  gtk_widget_add_css_class (self->list_view, "tern-message-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list_view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Message List"), -1);
  g_signal_connect (self->list_view, "activate", G_CALLBACK (activate_cb), self);
  g_signal_connect (self->list_view, "unmap", G_CALLBACK (list_unmapped_cb), self);

  /* Rows are dragged to a folder of the sidebar to move them there. */
  {
    GtkDragSource *source = gtk_drag_source_new ();

    gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
    g_signal_connect (source, "prepare", G_CALLBACK (drag_prepare_cb), self);
    g_signal_connect (source, "drag-begin", G_CALLBACK (drag_begin_cb), self);
    gtk_widget_add_controller (self->list_view, GTK_EVENT_CONTROLLER (source));
  }

  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), self->list_view);

  self->empty_page = adw_status_page_new ();
  adw_status_page_set_icon_name (ADW_STATUS_PAGE (self->empty_page), "mail-read-symbolic");
  gtk_widget_add_css_class (self->empty_page, "compact");

  self->stack = gtk_stack_new ();
  gtk_stack_add_named (GTK_STACK (self->stack), scrolled, "list");
  gtk_stack_add_named (GTK_STACK (self->stack), self->empty_page, "empty");
  gtk_widget_set_vexpand (self->stack, TRUE);
  gtk_widget_set_parent (self->stack, GTK_WIDGET (self));
}
