/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-paced-list-model.h"

/*
 * The paced model always shows a prefix of its model, as long as its
 * limit allows, and tells every change exactly: a mirror kept only from
 * its items-changed signals matches it after any sequence of changes and
 * steps, and no signal brings more items than the limit.
 */

typedef struct
{
  TernPacedListModel *paced;
  GPtrArray *mirror;       /* of GObject, kept from the signals alone */
  guint limit;             /* what the test expects the limit to be */
  guint most_added;        /* the most items one signal added */
  guint behind_told;
} Watch;

static void
paced_items_changed_cb (GListModel *model,
                        guint       position,
                        guint       removed,
                        guint       added,
                        Watch      *watch)
{
  g_assert_cmpuint (position + removed, <=, watch->mirror->len);
  g_ptr_array_remove_range (watch->mirror, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (watch->mirror, position + i, g_list_model_get_item (model, position + i));
  watch->most_added = MAX (watch->most_added, added);
}

static void
behind_cb (GObject    *object,
           GParamSpec *pspec,
           Watch      *watch)
{
  watch->behind_told++;
}

static GObject *
item_new (guint n)
{
  GObject *item = g_object_new (G_TYPE_OBJECT, NULL);

  g_object_set_data (item, "n", GUINT_TO_POINTER (n));
  return item;
}

static void
assert_prefix (Watch      *watch,
               GListStore *store)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (watch->paced));

  g_assert_cmpuint (shown, ==, MIN (watch->limit, n));
  g_assert_cmpuint (watch->mirror->len, ==, shown);
  g_assert_cmpint (tern_paced_list_model_is_behind (watch->paced), ==, shown < n);
  for (guint i = 0; i < shown; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (store), i);

      g_assert_true (watch->mirror->pdata[i] == item);
    }
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (watch->paced), shown));
}

static void
test_paced_grows_a_step_at_a_time (void)
{
  g_autoptr(GListStore) store = g_list_store_new (G_TYPE_OBJECT);
  g_autoptr(TernPacedListModel) paced = NULL;
  Watch watch = { 0 };
  guint steps = 0;

  paced = tern_paced_list_model_new (G_LIST_MODEL (store), 40, 240);
  watch.paced = paced;
  watch.mirror = g_ptr_array_new_with_free_func (g_object_unref);
  watch.limit = 40;
  g_signal_connect (paced, "items-changed", G_CALLBACK (paced_items_changed_cb), &watch);
  g_signal_connect (paced, "notify::behind", G_CALLBACK (behind_cb), &watch);

  /* The first batch of a sync, then a large one: never more than a step
   * comes at once. */
  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(GObject) item = item_new (i);

      g_list_store_append (store, item);
    }
  assert_prefix (&watch, store);
  g_assert_cmpuint (watch.mirror->len, ==, 40);
  g_assert_cmpuint (watch.behind_told, ==, 1);
  {
    g_autoptr(GPtrArray) more = g_ptr_array_new_with_free_func (g_object_unref);

    for (guint i = 50; i < 1050; i++)
      g_ptr_array_add (more, item_new (i));
    g_list_store_splice (store, 50, 0, more->pdata, more->len);
  }
  assert_prefix (&watch, store);
  while (tern_paced_list_model_is_behind (paced))
    {
      tern_paced_list_model_step (paced);
      steps++;
      watch.limit = watch.limit + 40 >= 240 ? G_MAXUINT : watch.limit + 40;
      assert_prefix (&watch, store);
    }
  g_assert_cmpuint (steps, ==, 5);
  g_assert_cmpuint (watch.mirror->len, ==, 1050);
  /* The last step shows everything, at once: past the pacing. */
  g_assert_cmpuint (watch.behind_told, ==, 2);

  /* Unpaced, changes pass straight on. */
  watch.most_added = 0;
  {
    g_autoptr(GPtrArray) more = g_ptr_array_new_with_free_func (g_object_unref);

    for (guint i = 0; i < 500; i++)
      g_ptr_array_add (more, item_new (2000 + i));
    g_list_store_splice (store, 10, 3, more->pdata, more->len);
  }
  g_assert_cmpuint (watch.most_added, ==, 500);
  assert_prefix (&watch, store);
  g_ptr_array_unref (watch.mirror);
}

static void
test_paced_random_changes_keep_the_prefix (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  guint serial = 0;

  for (guint run = 0; run < 40; run++)
    {
      g_autoptr(GListStore) store = g_list_store_new (G_TYPE_OBJECT);
      g_autoptr(TernPacedListModel) paced = NULL;
      guint step = g_rand_int_range (rand, 1, 30);
      guint unpaced_from = g_rand_int_range (rand, 1, 400);
      Watch watch = { 0 };

      for (guint i = g_rand_int_range (rand, 0, 100); i > 0; i--)
        {
          g_autoptr(GObject) item = item_new (serial++);

          g_list_store_append (store, item);
        }
      paced = tern_paced_list_model_new (G_LIST_MODEL (store), step, unpaced_from);
      watch.paced = paced;
      watch.limit = step >= unpaced_from ? G_MAXUINT : step;
      watch.mirror = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (paced)); i++)
        g_ptr_array_add (watch.mirror, g_list_model_get_item (G_LIST_MODEL (paced), i));
      g_signal_connect (paced, "items-changed", G_CALLBACK (paced_items_changed_cb), &watch);
      assert_prefix (&watch, store);

      for (guint op = 0; op < 200; op++)
        {
          guint n = g_list_model_get_n_items (G_LIST_MODEL (store));

          watch.most_added = 0;
          if (g_rand_int_range (rand, 0, 4) == 0)
            {
              tern_paced_list_model_step (paced);
              if (watch.limit != G_MAXUINT)
                watch.limit = watch.limit + step >= unpaced_from ? G_MAXUINT
                                                                  : watch.limit + step;
            }
          else
            {
              guint position = g_rand_int_range (rand, 0, n + 1);
              guint removed = g_rand_int_range (rand, 0, n - position + 1);
              guint added = g_rand_int_range (rand, 0, 60);
              g_autoptr(GPtrArray) more = g_ptr_array_new_with_free_func (g_object_unref);

              for (guint i = 0; i < added; i++)
                g_ptr_array_add (more, item_new (serial++));
              g_list_store_splice (store, position, removed, more->pdata, added);
            }
          assert_prefix (&watch, store);
          if (watch.limit != G_MAXUINT)
            g_assert_cmpuint (watch.most_added, <=, watch.limit);
        }
      tern_paced_list_model_show_all (paced);
      watch.limit = G_MAXUINT;
      assert_prefix (&watch, store);
      g_signal_handlers_disconnect_by_data (paced, &watch);
      g_ptr_array_unref (watch.mirror);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/paced-list-model/grows-a-step-at-a-time", test_paced_grows_a_step_at_a_time);
  g_test_add_func ("/paced-list-model/random-changes-keep-the-prefix",
                   test_paced_random_changes_keep_the_prefix);

  return g_test_run ();
}
