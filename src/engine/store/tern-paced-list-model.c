/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-paced-list-model.h"

/*
 * TernPacedListModel: the first items of another list model, growing a
 * step at a time.
 *
 * A list widget makes a row widget for each item it may show, all at once
 * when the items arrive: GTK 4.8's list view keeps some 200 of them.  A
 * folder that goes from a few messages to thousands (a first sync, a
 * folder opened) would have them all made, measured and drawn in one
 * frame, which on a slow or busy machine takes long enough for the window
 * to stop answering.  Through this model the widget is shown the new items
 * @step at a time, a step per frame when the widget asks for the next one,
 * until it shows @unpaced_from items: past those, new items make no new
 * row widgets, and the model passes every change straight on.
 *
 * It always shows a prefix of the model, of length min(limit, n_items),
 * the limit growing by @step with each tern_paced_list_model_step().  A
 * change of the model inside that prefix is passed on exactly (the rows
 * kept stay the same rows), with at most the limit's worth of new items.
 */

struct _TernPacedListModel
{
  GObject parent_instance;

  GListModel *model;
  guint step;
  guint unpaced_from;
  /* How many items may be shown; G_MAXUINT once unpaced. */
  guint limit;
  /* How many are. */
  guint shown;
};

enum {
  PROP_0,
  PROP_BEHIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
get_item_type (GListModel *list)
{
  return g_list_model_get_item_type (TERN_PACED_LIST_MODEL (list)->model);
}

static guint
get_n_items (GListModel *list)
{
  return TERN_PACED_LIST_MODEL (list)->shown;
}

static gpointer
get_item (GListModel *list,
          guint       position)
{
  TernPacedListModel *self = TERN_PACED_LIST_MODEL (list);

  if (position >= self->shown)
    return NULL;
  return g_list_model_get_item (self->model, position);
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TernPacedListModel, tern_paced_list_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static guint
target (TernPacedListModel *self)
{
  return MIN (self->limit, g_list_model_get_n_items (self->model));
}

/* "behind" is told once the items-changed are, so that whoever hears it
 * sees the model as it is. */
static void
tell_behind (TernPacedListModel *self,
             gboolean            was_behind)
{
  if (was_behind != tern_paced_list_model_is_behind (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BEHIND]);
}

/* Shows more of the model, up to the limit, after the items shown. */
static void
catch_up (TernPacedListModel *self)
{
  guint before = self->shown;
  guint after = target (self);

  if (after <= before)
    return;
  self->shown = after;
  g_list_model_items_changed (G_LIST_MODEL (self), before, 0, after - before);
}

static void
model_items_changed_cb (GListModel *model,
                        guint       position,
                        guint       removed,
                        guint       added,
                        gpointer    user_data)
{
  TernPacedListModel *self = user_data;
  guint shown = self->shown;
  guint goal = target (self);
  /* As it was before the change. */
  gboolean was_behind = shown < g_list_model_get_n_items (model) - added + removed;

  if (position >= shown)
    {
      /* Beyond what is shown: the prefix shown is the same, and may
       * grow. */
      catch_up (self);
    }
  else if (removed <= shown - position && position + added <= goal)
    {
      /* The whole change is seen: the items kept after it stay, then
       * the prefix is cut or filled to its length. */
      guint now = shown - removed + added;

      self->shown = now;
      g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
      if (now > goal)
        {
          self->shown = goal;
          g_list_model_items_changed (G_LIST_MODEL (self), goal, now - goal, 0);
        }
      else
        catch_up (self);
    }
  else
    {
      /* Everything shown from @position goes: removed, or pushed past
       * the prefix by more new items than it can take. */
      self->shown = goal;
      g_list_model_items_changed (G_LIST_MODEL (self), position, shown - position,
                                  goal - position);
    }
  tell_behind (self, was_behind);
}

static void
tern_paced_list_model_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  TernPacedListModel *self = TERN_PACED_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_BEHIND:
      g_value_set_boolean (value, tern_paced_list_model_is_behind (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_paced_list_model_dispose (GObject *object)
{
  TernPacedListModel *self = TERN_PACED_LIST_MODEL (object);

  if (self->model != NULL)
    g_signal_handlers_disconnect_by_func (self->model, model_items_changed_cb, self);
  g_clear_object (&self->model);

  G_OBJECT_CLASS (tern_paced_list_model_parent_class)->dispose (object);
}

static void
tern_paced_list_model_class_init (TernPacedListModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tern_paced_list_model_dispose;
  object_class->get_property = tern_paced_list_model_get_property;

  /**
   * TernPacedListModel:behind:
   *
   * Whether the model has items not shown yet, waiting for a step.
   */
  properties[PROP_BEHIND] =
    g_param_spec_boolean ("behind", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tern_paced_list_model_init (TernPacedListModel *self)
{
}

/**
 * tern_paced_list_model_new:
 * @model: the items to show
 * @step: how many more items each step shows (at least 1)
 * @unpaced_from: how many items shown end the pacing
 *
 * Returns: (transfer full): a model showing the first @step items of
 *   @model, and more with each step.
 */
TernPacedListModel *
tern_paced_list_model_new (GListModel *model,
                           guint       step,
                           guint       unpaced_from)
{
  TernPacedListModel *self;

  g_return_val_if_fail (G_IS_LIST_MODEL (model), NULL);

  self = g_object_new (TERN_TYPE_PACED_LIST_MODEL, NULL);
  self->model = g_object_ref (model);
  self->step = MAX (step, 1);
  self->unpaced_from = unpaced_from;
  self->limit = self->step >= unpaced_from ? G_MAXUINT : self->step;
  self->shown = target (self);
  g_signal_connect (model, "items-changed", G_CALLBACK (model_items_changed_cb), self);
  return self;
}

/**
 * tern_paced_list_model_get_model:
 *
 * Returns: (transfer none): the model whose items are shown.
 */
GListModel *
tern_paced_list_model_get_model (TernPacedListModel *self)
{
  g_return_val_if_fail (TERN_IS_PACED_LIST_MODEL (self), NULL);

  return self->model;
}

/**
 * tern_paced_list_model_is_behind:
 *
 * Returns: whether some of the model's items wait for a step.
 */
gboolean
tern_paced_list_model_is_behind (TernPacedListModel *self)
{
  g_return_val_if_fail (TERN_IS_PACED_LIST_MODEL (self), FALSE);

  return self->model != NULL && self->shown < g_list_model_get_n_items (self->model);
}

/**
 * tern_paced_list_model_step:
 *
 * Shows up to @step more items, or every item once as many as
 * @unpaced_from may be shown.
 */
void
tern_paced_list_model_step (TernPacedListModel *self)
{
  gboolean was_behind;

  g_return_if_fail (TERN_IS_PACED_LIST_MODEL (self));

  was_behind = tern_paced_list_model_is_behind (self);
  if (self->limit != G_MAXUINT)
    self->limit = self->limit + self->step >= self->unpaced_from ? G_MAXUINT
                                                                  : self->limit + self->step;
  catch_up (self);
  tell_behind (self, was_behind);
}

/**
 * tern_paced_list_model_show_all:
 *
 * Ends the pacing: every item is shown, now and from now on.
 */
void
tern_paced_list_model_show_all (TernPacedListModel *self)
{
  gboolean was_behind;

  g_return_if_fail (TERN_IS_PACED_LIST_MODEL (self));

  was_behind = tern_paced_list_model_is_behind (self);
  self->limit = G_MAXUINT;
  catch_up (self);
  tell_behind (self, was_behind);
}
