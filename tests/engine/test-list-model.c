/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "tern-message-flags.h"
#include "tern-message-list-model.h"
#include "tern-store.h"
#include "tern-test-util.h"

/*
 * TernMessageListModel as a list view sees it: how many rows, which row is
 * where, rows that fill in when their page arrives, and items-changed
 * signals exact enough that a view which applies them to its own copy of
 * the list shows what the store holds.
 */

#define JAN_01_2024 G_GINT64_CONSTANT (1704067200)
#define MINUTE G_GINT64_CONSTANT (60)
#define DAY_SECONDS G_GINT64_CONSTANT (86400)
#define PAGE_SIZE 64

/* Waiting */

typedef gboolean (*Condition) (gpointer data);

/* Runs the main context until @condition holds; FALSE when it never did. */
static gboolean
wait_until (Condition condition,
            gpointer  data)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (TERN_TEST_WAIT_SECONDS, tern_test_timed_out_cb,
                                            &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (!timed_out)
    g_source_remove (timeout_id);

  return condition (data);
}

/* A short spell of the main context, for what must NOT happen. */
static void
spin_main_context (guint milliseconds)
{
  gboolean timed_out = FALSE;

  g_timeout_add (milliseconds, tern_test_timed_out_cb, &timed_out);
  while (!timed_out)
    g_main_context_iteration (NULL, TRUE);
}

/* The store */

typedef struct
{
  char *dir;
  TernStore *store;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = tern_test_make_temp_dir ("tern-list-XXXXXX");
  fixture->store = tern_store_open_sync (fixture->dir, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  tern_test_drain_main_context ();
  tern_store_close (fixture->store);
  tern_test_drain_main_context ();
  g_clear_object (&fixture->store);
  tern_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static gint64
new_folder (TernStore      *store,
            const char     *account,
            const char     *path,
            TernFolderRole  role)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernFolder) folder = NULL;

  tern_store_create_folder_async (store, account, path, role, NULL, tern_test_got_result_cb,
                                  &result);
  folder = tern_store_create_folder_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return tern_folder_get_id (folder);
}

/* A Date header value in English whatever the locale, as mail has it. */
static char *
make_mail (const char *message_id,
           const char *subject,
           gint64      date,
           const char *in_reply_to)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (date);
  g_autofree char *date_text = tern_test_rfc_date (when);
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append_printf (text, "From: Sender <sender@example.org>\n"
                                "To: Me <me@example.org>\n"
                                "Subject: %s\n"
                                "Date: %s\n"
                                "Message-ID: <%s>\n",
                          subject, date_text, message_id);
  if (in_reply_to != NULL)
    g_string_append_printf (text, "In-Reply-To: <%s>\nReferences: <%s>\n", in_reply_to,
                            in_reply_to);
  g_string_append_printf (text, "\nThis is %s.\n", subject);

  return g_string_free (g_steal_pointer (&text), FALSE);
}

typedef struct
{
  const char *message_id;
  const char *subject;
  gint64 date;
  const char *in_reply_to;
} Mail;

/* Adds messages in one call; returns their ids. */
static GArray *
add_mails (TernStore  *store,
           gint64      folder_id,
           const Mail *mails,
           guint       n_mails)
{
  g_autoptr(GPtrArray) messages =
    g_ptr_array_new_with_free_func ((GDestroyNotify) tern_new_message_free);
  g_autoptr(GError) error = NULL;
  GArray *ids;

  for (guint i = 0; i < n_mails; i++)
    {
      g_autofree char *raw = make_mail (mails[i].message_id, mails[i].subject, mails[i].date,
                                        mails[i].in_reply_to);
      g_autoptr(GBytes) bytes = g_bytes_new (raw, strlen (raw));

      g_ptr_array_add (messages, tern_new_message_new (bytes, 0, 0));
    }

  ids = tern_test_add_messages (store, folder_id, messages, TERN_STORE_DURABILITY_NORMAL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, n_mails);
  return ids;
}

static gint64
add_mail (TernStore  *store,
          gint64      folder_id,
          const char *message_id,
          const char *subject,
          gint64      date,
          const char *in_reply_to)
{
  Mail mail = { message_id, subject, date, in_reply_to };
  g_autoptr(GArray) ids = add_mails (store, folder_id, &mail, 1);

  return g_array_index (ids, gint64, 0);
}

/* Adds @count messages a minute apart from @first_date, numbered from
 * @first. */
static GArray *
add_numbered (TernStore *store,
              gint64     folder_id,
              guint      first,
              guint      count,
              gint64     first_date)
{
  g_autoptr(GArray) mails = g_array_sized_new (FALSE, FALSE, sizeof (Mail), count);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < count; i++)
    {
      char *message_id = g_strdup_printf ("n%u@example.org", first + i);
      char *subject = g_strdup_printf ("Message %u", first + i);
      Mail mail = { message_id, subject, first_date + i * MINUTE, NULL };

      g_ptr_array_add (strings, message_id);
      g_ptr_array_add (strings, subject);
      g_array_append_val (mails, mail);
    }

  return add_mails (store, folder_id, (const Mail *) mails->data, count);
}

static GArray *
ids_of (gint64 id)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_append_val (ids, id);
  return ids;
}

/* The message ids of a folder, newest first, as the store lists them. */
static GArray *
store_order (TernStore *store,
             gint64     folder_id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  tern_store_list_messages_async (store, folder_id, 0, G_MAXINT, NULL, tern_test_got_result_cb,
                                  &result);
  messages = tern_store_list_messages_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    {
      gint64 id = tern_message_get_id (g_ptr_array_index (messages, i));

      g_array_append_val (ids, id);
    }

  return ids;
}

/* The model, and what a view learns from it */

typedef struct
{
  guint position;
  guint removed;
  guint added;
} Change;

typedef struct
{
  TernMessageListModel *model;
  /* What a view that applies every items-changed holds: row ids. */
  GArray *mirror;
  /* Every items-changed since the last reset. */
  GArray *changes;
  gulong handler;
} Watch;

static gint64
row_id_at (TernMessageListModel *model,
           guint                 position)
{
  g_autoptr(TernMessageRow) row = g_list_model_get_item (G_LIST_MODEL (model), position);

  g_assert_nonnull (row);
  return tern_message_row_get_id (row);
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Watch      *watch)
{
  Change change = { position, removed, added };

  g_array_append_val (watch->changes, change);

  /* A view applies the change to what it shows, asking the model for the
   * added rows there and then. */
  g_assert_cmpuint (position + removed, <=, watch->mirror->len);
  g_array_remove_range (watch->mirror, position, removed);
  for (guint i = 0; i < added; i++)
    {
      gint64 id = row_id_at (watch->model, position + i);

      g_array_insert_val (watch->mirror, position + i, id);
    }

  g_assert_cmpuint (watch->mirror->len, ==, g_list_model_get_n_items (model));
}

static gboolean
model_is_settled (gpointer data)
{
  return !tern_message_list_model_is_loading (data);
}

static void
settle (TernMessageListModel *model)
{
  g_assert_true (wait_until (model_is_settled, model));
  /* Rows asked for during a reload arrive after it. */
  tern_test_drain_main_context ();
}

static void
watch_init (Watch                *watch,
            TernMessageListModel *model)
{
  watch->model = g_object_ref (model);
  watch->mirror = g_array_new (FALSE, FALSE, sizeof (gint64));
  watch->changes = g_array_new (FALSE, FALSE, sizeof (Change));
  watch->handler = g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), watch);
}

static void
watch_clear (Watch *watch)
{
  g_clear_signal_handler (&watch->handler, watch->model);
  g_clear_object (&watch->model);
  g_clear_pointer (&watch->mirror, g_array_unref);
  g_clear_pointer (&watch->changes, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Watch, watch_clear)

static GArray *model_ids (TernMessageListModel *model);

/* The view starts from what the model shows now. */
static void
watch_sync (Watch *watch)
{
  g_autoptr(GArray) ids = model_ids (watch->model);

  g_array_set_size (watch->mirror, 0);
  g_array_append_vals (watch->mirror, ids->data, ids->len);
  g_array_set_size (watch->changes, 0);
}

static TernMessageListModel *
load_model (TernMessageListModel *model)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_message_list_model_load_async (model, NULL, tern_test_got_result_cb, &result);
  g_assert_true (tern_message_list_model_load_finish (model, tern_test_wait_for (&result), &error));
  g_assert_no_error (error);
  return model;
}

static GArray *
model_ids (TernMessageListModel *model)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint n = g_list_model_get_n_items (G_LIST_MODEL (model));

  for (guint i = 0; i < n; i++)
    {
      gint64 id = row_id_at (model, i);

      g_array_append_val (ids, id);
    }

  return ids;
}

static void
assert_same_ids (GArray *actual,
                 GArray *expected)
{
  g_assert_cmpmem (actual->data, actual->len * sizeof (gint64),
                   expected->data, expected->len * sizeof (gint64));
}

/* The strongest check: the view's copy, the model and the store agree. */
static void
assert_mirror_matches (Watch     *watch,
                       TernStore *store,
                       gint64     folder_id)
{
  g_autoptr(GArray) in_model = model_ids (watch->model);
  g_autoptr(GArray) in_store = store_order (store, folder_id);

  assert_same_ids (watch->mirror, in_model);
  assert_same_ids (in_model, in_store);
}

static void
assert_changes (Watch        *watch,
                const Change *expected,
                guint         n_expected)
{
  for (guint i = 0; i < watch->changes->len; i++)
    {
      Change *change = &g_array_index (watch->changes, Change, i);

      g_test_message ("items-changed (%u, %u, %u)", change->position, change->removed,
                      change->added);
    }

  g_assert_cmpuint (watch->changes->len, ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    {
      Change *change = &g_array_index (watch->changes, Change, i);

      g_assert_cmpuint (change->position, ==, expected[i].position);
      g_assert_cmpuint (change->removed, ==, expected[i].removed);
      g_assert_cmpuint (change->added, ==, expected[i].added);
    }
}

static gboolean
row_is_loaded (gpointer data)
{
  return tern_message_row_get_loaded (data);
}

static TernMessageRow *
loaded_row (TernMessageListModel *model,
            guint                 position)
{
  TernMessageRow *row = g_list_model_get_item (G_LIST_MODEL (model), position);

  g_assert_nonnull (row);
  g_assert_true (wait_until (row_is_loaded, row));
  return row;
}

/* Tests */

static void
test_folder_n_items_after_load (Fixture       *fixture,
                                gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 other = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Other", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 150, JAN_01_2024);
  g_autoptr(GArray) elsewhere = add_numbered (fixture->store, other, 1000, 3, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = tern_message_list_model_new_for_folder (fixture->store,
                                                                                 folder_id, FALSE);
  g_autoptr(GArray) in_model = NULL;
  g_autoptr(GArray) in_store = NULL;

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == TERN_TYPE_MESSAGE_ROW);
  g_assert_false (tern_message_list_model_get_threaded (model));
  /* Empty until loaded. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);

  load_model (model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 150);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), 150));

  /* Newest first: the last added, a minute later than the one before. */
  in_model = model_ids (model);
  in_store = store_order (fixture->store, folder_id);
  assert_same_ids (in_model, in_store);
  g_assert_cmpint (g_array_index (in_model, gint64, 0), ==, g_array_index (ids, gint64, 149));
  g_assert_cmpint (g_array_index (in_model, gint64, 149), ==, g_array_index (ids, gint64, 0));
}

static void
test_folder_rows_load_on_demand (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 100, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, FALSE));
  g_autoptr(TernMessageRow) first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  g_autoptr(TernMessageRow) far = NULL;
  g_autoptr(TernMessageRow) again = NULL;

  /* A row is handed out at once, and fills in when its page arrives. */
  g_assert_nonnull (first);
  g_assert_cmpint (tern_message_row_get_id (first), ==, g_array_index (ids, gint64, 99));
  g_assert_true (wait_until (row_is_loaded, first));
  g_assert_cmpstr (tern_message_row_get_subject (first), ==, "Message 99");
  g_assert_cmpstr (tern_message_row_get_sender (first), ==, "Sender");
  g_assert_cmpstr (tern_message_row_get_preview (first), ==, "This is Message 99.");
  g_assert_cmpint (tern_message_row_get_date (first), ==, JAN_01_2024 + 99 * MINUTE);
  g_assert_true (tern_message_row_get_unread (first));
  g_assert_false (tern_message_row_get_flagged (first));
  g_assert_false (tern_message_row_get_has_attachments (first));
  g_assert_cmpuint (tern_message_row_get_count (first), ==, 1);

  far = loaded_row (model, 90);
  g_assert_cmpstr (tern_message_row_get_subject (far), ==, "Message 9");

  /* Asking again gives the same row object. */
  again = g_list_model_get_item (G_LIST_MODEL (model), 0);
  g_assert_true (again == first);
}

static void
test_folder_loaded_rows_grow_with_rows_asked (Fixture       *fixture,
                                              gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Big", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 3000, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, FALSE));
  g_autoptr(TernMessageRow) top = NULL;
  g_autoptr(TernMessageRow) middle = NULL;
  guint after_top;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3000);
  g_assert_cmpuint (tern_message_list_model_get_n_loaded_rows (model), ==, 0);

  top = loaded_row (model, 0);
  for (guint i = 1; i < 20; i++)
    {
      g_autoptr(TernMessageRow) row = g_list_model_get_item (G_LIST_MODEL (model), i);
    }
  after_top = tern_message_list_model_get_n_loaded_rows (model);
  g_assert_cmpuint (after_top, >=, 20);
  g_assert_cmpuint (after_top, <=, PAGE_SIZE);

  middle = loaded_row (model, 1500);
  g_assert_cmpuint (tern_message_list_model_get_n_loaded_rows (model), <=, 2 * PAGE_SIZE);
  g_assert_cmpstr (tern_message_row_get_subject (middle), ==, "Message 1499");

  /* A change in the folder reads no more rows than were asked for. */
  g_clear_pointer (&ids, g_array_unref);
  ids = add_numbered (fixture->store, folder_id, 5000, 1, JAN_01_2024 - MINUTE);
  settle (model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3001);
  g_assert_cmpuint (tern_message_list_model_get_n_loaded_rows (model), <=, 2 * PAGE_SIZE);
}

static void
test_changes_add_in_middle_is_one_insertion (Fixture       *fixture,
                                             gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  gint64 other = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Other", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 20, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, FALSE));
  g_auto(Watch) watch = { 0 };
  gint64 id;
  /* Between messages 12 and 13, so 7 rows are newer (19 down to 13). */
  const Change expected[] = { { 7, 0, 1 } };

  watch_init (&watch, model);
  watch_sync (&watch);

  id = add_mail (fixture->store, folder_id, "middle@example.org", "Middle",
                 JAN_01_2024 + 12 * MINUTE + 30, NULL);
  settle (model);

  assert_changes (&watch, expected, G_N_ELEMENTS (expected));
  g_assert_cmpint (row_id_at (model, 7), ==, id);
  assert_mirror_matches (&watch, fixture->store, folder_id);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 21);

  /* Sent in the same second as message 12, it comes just before it (the
   * later arrival first), and nothing else moves. */
  g_array_set_size (watch.changes, 0);
  {
    const Change tie[] = { { 8, 0, 1 } };

    id = add_mail (fixture->store, folder_id, "tie@example.org", "Tie", JAN_01_2024 + 12 * MINUTE,
                   NULL);
    settle (model);
    assert_changes (&watch, tie, G_N_ELEMENTS (tie));
    g_assert_cmpint (row_id_at (model, 8), ==, id);
    g_assert_cmpint (row_id_at (model, 9), ==, g_array_index (ids, gint64, 12));
    assert_mirror_matches (&watch, fixture->store, folder_id);
  }

  /* Mail for another folder changes nothing here. */
  g_array_set_size (watch.changes, 0);
  add_mail (fixture->store, other, "elsewhere@example.org", "Elsewhere",
            JAN_01_2024 + 5 * MINUTE, NULL);
  settle (model);
  assert_changes (&watch, NULL, 0);
}

static void
test_changes_delete_two_far_apart_is_two_removals (Fixture       *fixture,
                                                   gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 30, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, FALSE));
  g_autoptr(GArray) doomed = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) before = model_ids (model);
  g_auto(Watch) watch = { 0 };
  /* Rows 3 and 20 go; once row 3 is gone, the other is row 19. */
  const Change expected[] = { { 3, 1, 0 }, { 19, 1, 0 } };

  watch_init (&watch, model);
  g_array_append_vals (watch.mirror, before->data, before->len);

  g_array_append_val (doomed, g_array_index (before, gint64, 20));
  g_array_append_val (doomed, g_array_index (before, gint64, 3));
  tern_test_delete_messages (fixture->store, doomed);
  settle (model);

  assert_changes (&watch, expected, G_N_ELEMENTS (expected));
  assert_mirror_matches (&watch, fixture->store, folder_id);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 28);
}

static void
notified_cb (GObject    *object,
             GParamSpec *pspec,
             guint      *count)
{
  (*count)++;
}

static void
row_changed_cb (TernMessageRow *row,
                guint          *count)
{
  (*count)++;
}

static gboolean
is_nonzero (gpointer data)
{
  return *(guint *) data > 0;
}

static void
test_changes_flag_change_notifies_row_only (Fixture       *fixture,
                                            gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 10, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, FALSE));
  g_autoptr(TernMessageRow) row = loaded_row (model, 4);
  g_autoptr(GArray) target = ids_of (tern_message_row_get_id (row));
  g_auto(Watch) watch = { 0 };
  guint unread_notified = 0;
  guint flagged_notified = 0;
  guint changed = 0;

  watch_init (&watch, model);
  watch_sync (&watch);
  g_assert_true (tern_message_row_get_unread (row));
  g_signal_connect (row, "notify::unread", G_CALLBACK (notified_cb), &unread_notified);
  g_signal_connect (row, "notify::flagged", G_CALLBACK (notified_cb), &flagged_notified);
  g_signal_connect (row, "changed", G_CALLBACK (row_changed_cb), &changed);

  tern_test_set_flags (fixture->store, target, TERN_MESSAGE_FLAG_SEEN, 0);
  g_assert_true (wait_until (is_nonzero, &unread_notified));
  settle (model);
  /* Nothing more comes a little later either. */
  spin_main_context (100);

  g_assert_false (tern_message_row_get_unread (row));
  g_assert_cmpuint (tern_message_row_get_flags (row), ==, TERN_MESSAGE_FLAG_SEEN);
  g_assert_cmpuint (flagged_notified, ==, 0);
  /* Flags and unread changed: one "changed" for both. */
  g_assert_cmpuint (changed, ==, 1);
  assert_changes (&watch, NULL, 0);

  tern_test_set_flags (fixture->store, target, TERN_MESSAGE_FLAG_FLAGGED, 0);
  g_assert_true (wait_until (is_nonzero, &flagged_notified));
  settle (model);
  g_assert_true (tern_message_row_get_flagged (row));
  g_assert_cmpuint (changed, ==, 2);
  assert_changes (&watch, NULL, 0);
  assert_mirror_matches (&watch, fixture->store, folder_id);
}

static void
test_changes_move_updates_both_folders (Fixture       *fixture,
                                        gconstpointer  user_data)
{
  gint64 inbox = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Inbox", TERN_FOLDER_ROLE_NONE);
  gint64 archive = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Archive",
                               TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) in_inbox = add_numbered (fixture->store, inbox, 0, 10, JAN_01_2024);
  g_autoptr(GArray) in_archive = add_numbered (fixture->store, archive, 100, 10,
                                               JAN_01_2024 + 30 * MINUTE);
  g_autoptr(TernMessageListModel) inbox_model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, inbox, FALSE));
  g_autoptr(TernMessageListModel) archive_model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, archive, FALSE));
  g_autoptr(GArray) moving = ids_of (g_array_index (in_inbox, gint64, 5));
  g_auto(Watch) inbox_watch = { 0 };
  g_auto(Watch) archive_watch = { 0 };
  /* Message 5 is row 4 of the Inbox, and older than all of the Archive. */
  const Change removed[] = { { 4, 1, 0 } };
  const Change added[] = { { 10, 0, 1 } };

  watch_init (&inbox_watch, inbox_model);
  watch_sync (&inbox_watch);
  watch_init (&archive_watch, archive_model);
  watch_sync (&archive_watch);

  tern_test_move_messages (fixture->store, moving, archive);
  settle (inbox_model);
  settle (archive_model);

  assert_changes (&inbox_watch, removed, G_N_ELEMENTS (removed));
  assert_changes (&archive_watch, added, G_N_ELEMENTS (added));
  /* The message keeps its id. */
  g_assert_cmpint (row_id_at (archive_model, 10), ==, g_array_index (moving, gint64, 0));
  assert_mirror_matches (&inbox_watch, fixture->store, inbox);
  assert_mirror_matches (&archive_watch, fixture->store, archive);
}

typedef enum
{
  RANDOM_FOLDER,
  RANDOM_THREADED,
  RANDOM_UNIFIED_INBOX,
} RandomScope;

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  TernMessage *x = *(TernMessage **) a;
  TernMessage *y = *(TernMessage **) b;

  if (tern_message_get_date (x) != tern_message_get_date (y))
    return tern_message_get_date (x) > tern_message_get_date (y) ? -1 : 1;
  if (tern_message_get_id (x) != tern_message_get_id (y))
    return tern_message_get_id (x) > tern_message_get_id (y) ? -1 : 1;
  return 0;
}

/* What the model must show, worked out from the store's messages: newest
 * first, and for conversations the newest message of each. */
static GArray *
expected_rows (TernStore *store,
               gint64    *folder_ids,
               guint      n_folders,
               gboolean   threaded)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_message_unref);
  g_autoptr(GHashTable) newest = g_hash_table_new (g_int64_hash, g_int64_equal);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  for (guint f = 0; f < n_folders; f++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) messages = NULL;

      tern_store_list_messages_async (store, folder_ids[f], 0, G_MAXINT, NULL,
                                      tern_test_got_result_cb, &result);
      messages = tern_store_list_messages_finish (store, tern_test_wait_for (&result), &error);
      g_assert_no_error (error);
      for (guint i = 0; i < messages->len; i++)
        g_ptr_array_add (all, tern_message_ref (g_ptr_array_index (messages, i)));
    }

  g_ptr_array_sort (all, compare_newest_first);
  for (guint i = 0; i < all->len; i++)
    {
      TernMessage *message = g_ptr_array_index (all, i);
      gint64 id = tern_message_get_id (message);

      if (threaded)
        {
          gint64 *conversation = g_new (gint64, 1);

          *conversation = tern_message_get_conversation_id (message);
          if (g_hash_table_contains (newest, conversation))
            {
              g_free (conversation);
              continue;
            }
          g_hash_table_add (newest, conversation);
        }
      g_array_append_val (ids, id);
    }

  g_hash_table_foreach (newest, (GHFunc) g_free, NULL);
  return ids;
}

static void
test_changes_random_sequence_keeps_mirror_in_step (Fixture       *fixture,
                                                   gconstpointer  user_data)
{
  RandomScope scope = GPOINTER_TO_INT (user_data);
  gboolean threaded = scope == RANDOM_THREADED;
  gint64 folders[2];
  guint n_folders = scope == RANDOM_UNIFIED_INBOX ? 2 : 1;
  gint64 elsewhere = new_folder (fixture->store, "a", "Archive", TERN_FOLDER_ROLE_ARCHIVE);
  g_autoptr(TernMessageListModel) model = NULL;
  g_autoptr(GArray) present = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) message_ids = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(Watch) watch = { 0 };
  guint next_number = 0;

  if (scope == RANDOM_UNIFIED_INBOX)
    {
      folders[0] = new_folder (fixture->store, "a", "INBOX", TERN_FOLDER_ROLE_INBOX);
      folders[1] = new_folder (fixture->store, "b", "INBOX", TERN_FOLDER_ROLE_INBOX);
      model = tern_message_list_model_new_for_role (fixture->store, TERN_FOLDER_ROLE_INBOX, FALSE);
    }
  else
    {
      folders[0] = new_folder (fixture->store, "a", "Busy", TERN_FOLDER_ROLE_NONE);
      model = tern_message_list_model_new_for_folder (fixture->store, folders[0], threaded);
    }
  load_model (model);
  watch_init (&watch, model);
  watch_sync (&watch);

  for (guint step = 0; step < 50; step++)
    {
      /* Sometimes two changes land before the model has caught up. */
      guint n_operations = g_test_rand_int_range (1, 3);
      guint n_added = 0;
      guint n_removed = 0;
      guint signalled_added = 0;
      guint signalled_removed = 0;
      /* Only messages older than this step are deleted in it, so that each
       * one added here is seen added. */
      g_autoptr(GArray) deletable = g_array_copy (present);
      g_autoptr(GArray) expected = NULL;

      g_array_set_size (watch.changes, 0);

      for (guint op = 0; op < n_operations; op++)
        {
          if (deletable->len < 5 || g_test_rand_int_range (0, 3) > 0)
            {
              guint count = g_test_rand_int_range (1, 5);
              gint64 folder_id = folders[g_test_rand_int_range (0, n_folders)];
              g_autoptr(GArray) mails = g_array_new (FALSE, FALSE, sizeof (Mail));
              g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
              g_autoptr(GArray) added = NULL;

              for (guint i = 0; i < count; i++)
                {
                  char *message_id = g_strdup_printf ("r%u@example.org", next_number);
                  char *subject = g_strdup_printf ("Random %u", next_number);
                  char *parent = NULL;
                  /* Threaded: dates all differ, as a conversation's row is
                   * its newest message.  Else few dates, and many ties. */
                  gint64 date = threaded ? JAN_01_2024 + (next_number * 37 % 997) * MINUTE
                                         : JAN_01_2024 + g_test_rand_int_range (0, 50) * MINUTE;
                  Mail mail = { message_id, subject, date, NULL };

                  if (threaded && next_number > 0 && g_test_rand_bit ())
                    {
                      parent = g_strdup_printf ("r%u@example.org",
                                                g_test_rand_int_range (0, next_number));
                      g_ptr_array_add (strings, parent);
                      mail.in_reply_to = parent;
                    }
                  next_number++;
                  g_ptr_array_add (strings, message_id);
                  g_ptr_array_add (strings, subject);
                  g_array_append_val (mails, mail);
                }
              added = add_mails (fixture->store, folder_id, (const Mail *) mails->data, count);
              g_array_append_vals (present, added->data, added->len);
              n_added += count;
            }
          else
            {
              guint count = g_test_rand_int_range (1, 4);
              g_autoptr(GArray) doomed = g_array_new (FALSE, FALSE, sizeof (gint64));

              for (guint i = 0; i < count && deletable->len > 0; i++)
                {
                  guint index = g_test_rand_int_range (0, deletable->len);
                  gint64 id = g_array_index (deletable, gint64, index);

                  g_array_append_val (doomed, id);
                  g_array_remove_index_fast (deletable, index);
                  for (guint j = 0; j < present->len; j++)
                    {
                      if (g_array_index (present, gint64, j) == id)
                        {
                          g_array_remove_index_fast (present, j);
                          break;
                        }
                    }
                }
              tern_test_delete_messages (fixture->store, doomed);
              n_removed += doomed->len;
            }

          /* Mail for a folder the model does not show changes nothing. */
          if (g_test_rand_int_range (0, 4) == 0)
            {
              g_autofree char *message_id = g_strdup_printf ("other%u@example.org", next_number++);

              add_mail (fixture->store, elsewhere, message_id, "Elsewhere", JAN_01_2024, NULL);
            }
        }

      settle (model);

      expected = expected_rows (fixture->store, folders, n_folders, threaded);
      {
        g_autoptr(GArray) in_model = model_ids (model);

        assert_same_ids (watch.mirror, in_model);
        assert_same_ids (in_model, expected);
      }

      if (!threaded)
        {
          /* No row is said to go and come back: a view would lose its
           * selection and scroll position for nothing. */
          for (guint i = 0; i < watch.changes->len; i++)
            {
              signalled_added += g_array_index (watch.changes, Change, i).added;
              signalled_removed += g_array_index (watch.changes, Change, i).removed;
            }
          g_assert_cmpuint (signalled_added, ==, n_added);
          g_assert_cmpuint (signalled_removed, ==, n_removed);
          g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, present->len);
        }
    }
}

static void
test_threaded_conversation_is_one_row (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  const Mail mails[] = {
    { "plan@x", "Plan", JAN_01_2024, NULL },
    { "plan-2@x", "Re: Plan", JAN_01_2024 + 2 * MINUTE, "plan@x" },
    { "single@x", "Single", JAN_01_2024 + 3 * MINUTE, NULL },
    { "plan-3@x", "Re: Plan (details)", JAN_01_2024 + 5 * MINUTE, "plan-2@x" },
  };
  g_autoptr(GArray) ids = add_mails (fixture->store, folder_id, mails, G_N_ELEMENTS (mails));
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, TRUE));
  g_autoptr(TernMessageRow) conversation = NULL;
  g_autoptr(TernMessageRow) single = NULL;
  g_autoptr(GArray) read = ids_of (g_array_index (ids, gint64, 0));

  g_assert_true (tern_message_list_model_get_threaded (model));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);

  /* A conversation's row shows its newest message, and counts them. */
  conversation = loaded_row (model, 0);
  g_assert_cmpint (tern_message_row_get_id (conversation), ==, g_array_index (ids, gint64, 3));
  g_assert_cmpstr (tern_message_row_get_subject (conversation), ==, "Re: Plan (details)");
  g_assert_cmpuint (tern_message_row_get_count (conversation), ==, 3);
  g_assert_cmpuint (tern_message_row_get_unread_count (conversation), ==, 3);

  single = loaded_row (model, 1);
  g_assert_cmpint (tern_message_row_get_id (single), ==, g_array_index (ids, gint64, 2));
  g_assert_cmpuint (tern_message_row_get_count (single), ==, 1);

  /* Reading one of them lowers the conversation's unread count. */
  tern_test_set_flags (fixture->store, read, TERN_MESSAGE_FLAG_SEEN, 0);
  settle (model);
  g_assert_cmpuint (tern_message_row_get_count (conversation), ==, 3);
  g_assert_cmpuint (tern_message_row_get_unread_count (conversation), ==, 2);
}

static void
test_threaded_new_reply_updates_conversation_row (Fixture       *fixture,
                                                  gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  const Mail mails[] = {
    { "trip@x", "Trip", JAN_01_2024, NULL },
    { "single@x", "Single", JAN_01_2024 + 3 * MINUTE, NULL },
    { "trip-2@x", "Re: Trip", JAN_01_2024 + 5 * MINUTE, "trip@x" },
  };
  g_autoptr(GArray) ids = add_mails (fixture->store, folder_id, mails, G_N_ELEMENTS (mails));
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, TRUE));
  g_autoptr(TernMessageRow) before = loaded_row (model, 0);
  g_autoptr(TernMessageRow) after = NULL;
  g_auto(Watch) watch = { 0 };
  gint64 reply;

  watch_init (&watch, model);
  watch_sync (&watch);
  g_assert_cmpuint (tern_message_row_get_count (before), ==, 2);

  reply = add_mail (fixture->store, folder_id, "trip-3@x", "Re: Trip (train times)",
                    JAN_01_2024 + 10 * MINUTE, "trip-2@x");
  settle (model);

  /* Still two rows; the conversation's row now shows the new reply. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);
  g_assert_cmpuint (watch.mirror->len, ==, 2);
  after = loaded_row (model, 0);
  g_assert_cmpint (tern_message_row_get_id (after), ==, reply);
  g_assert_true (wait_until (row_is_loaded, after));
  g_assert_cmpuint (tern_message_row_get_count (after), ==, 3);
  g_assert_cmpuint (tern_message_row_get_unread_count (after), ==, 3);
  g_assert_cmpstr (tern_message_row_get_subject (after), ==, "Re: Trip (train times)");
  g_assert_cmpint (tern_message_row_get_date (after), ==, JAN_01_2024 + 10 * MINUTE);
}

static void
test_unified_inbox_spans_accounts (Fixture       *fixture,
                                   gconstpointer  user_data)
{
  gint64 inbox_a = new_folder (fixture->store, "a", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 inbox_b = new_folder (fixture->store, "b", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 archive = new_folder (fixture->store, "a", "Archive", TERN_FOLDER_ROLE_ARCHIVE);
  g_autoptr(GArray) from_a = add_numbered (fixture->store, inbox_a, 0, 3, JAN_01_2024);
  g_autoptr(GArray) from_b = add_numbered (fixture->store, inbox_b, 100, 3,
                                           JAN_01_2024 + MINUTE / 2);
  g_autoptr(GArray) archived = add_numbered (fixture->store, archive, 200, 2,
                                             JAN_01_2024 + 90 * MINUTE);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_role (fixture->store, TERN_FOLDER_ROLE_INBOX, FALSE));
  g_autoptr(GArray) in_model = NULL;
  g_auto(Watch) watch = { 0 };
  gint64 newest;
  const Change expected[] = { { 0, 0, 1 } };

  /* Interleaved by date: b's come half a minute after a's. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 6);
  in_model = model_ids (model);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (g_array_index (in_model, gint64, 2 * i), ==,
                       g_array_index (from_b, gint64, 2 - i));
      g_assert_cmpint (g_array_index (in_model, gint64, 2 * i + 1), ==,
                       g_array_index (from_a, gint64, 2 - i));
    }

  watch_init (&watch, model);
  g_array_append_vals (watch.mirror, in_model->data, in_model->len);
  newest = add_mail (fixture->store, inbox_b, "late@b", "Late", JAN_01_2024 + DAY_SECONDS, NULL);
  settle (model);
  assert_changes (&watch, expected, G_N_ELEMENTS (expected));
  g_assert_cmpint (row_id_at (model, 0), ==, newest);

  /* Mail filed away leaves the unified Inbox. */
  g_array_set_size (watch.changes, 0);
  {
    g_autoptr(GArray) filed = ids_of (newest);
    const Change gone[] = { { 0, 1, 0 } };

    tern_test_move_messages (fixture->store, filed, archive);
    settle (model);
    assert_changes (&watch, gone, G_N_ELEMENTS (gone));
  }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 6);
  {
    g_autoptr(GArray) now = model_ids (model);

    assert_same_ids (watch.mirror, now);
  }
}

static void
test_search_model_lists_matches (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  gint64 inbox = new_folder (fixture->store, "a", "INBOX", TERN_FOLDER_ROLE_INBOX);
  gint64 archive = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Archive",
                               TERN_FOLDER_ROLE_NONE);
  gint64 old_invoice = add_mail (fixture->store, archive, "inv1@x", "Invoice March",
                                 JAN_01_2024, NULL);
  gint64 new_invoice = add_mail (fixture->store, inbox, "inv2@x", "Invoice April",
                                 JAN_01_2024 + 60 * MINUTE, NULL);
  g_autoptr(GArray) unrelated = add_numbered (fixture->store, inbox, 0, 5, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_search (fixture->store, "invoice", 0));
  g_autoptr(TernMessageListModel) in_archive = load_model (
    tern_message_list_model_new_for_search (fixture->store, "invoice", archive));
  g_autoptr(TernMessageRow) row = NULL;
  g_auto(Watch) watch = { 0 };
  gint64 newest;
  const Change expected[] = { { 0, 0, 1 } };

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);
  g_assert_cmpint (row_id_at (model, 0), ==, new_invoice);
  g_assert_cmpint (row_id_at (model, 1), ==, old_invoice);
  row = loaded_row (model, 0);
  g_assert_cmpstr (tern_message_row_get_subject (row), ==, "Invoice April");

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (in_archive)), ==, 1);
  g_assert_cmpint (row_id_at (in_archive, 0), ==, old_invoice);

  /* New mail that matches appears in the search. */
  watch_init (&watch, model);
  watch_sync (&watch);
  newest = add_mail (fixture->store, inbox, "inv3@x", "Invoice May", JAN_01_2024 + DAY_SECONDS,
                     NULL);
  settle (model);
  settle (in_archive);
  assert_changes (&watch, expected, G_N_ELEMENTS (expected));
  g_assert_cmpint (row_id_at (model, 0), ==, newest);

  /* Not in the archive: that search stays as it was. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (in_archive)), ==, 1);
}

static void
test_search_model_bad_query_fails_to_load (Fixture       *fixture,
                                           gconstpointer  user_data)
{
  g_autoptr(TernMessageListModel) model = tern_message_list_model_new_for_search (
    fixture->store, "before:someday", 0);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tern_message_list_model_load_async (model, NULL, tern_test_got_result_cb, &result);
  g_assert_false (tern_message_list_model_load_finish (model, tern_test_wait_for (&result),
                                                       &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "someday"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_false (tern_message_list_model_is_loading (model));
}

static void
close_store_cb (TernStore *store)
{
  tern_store_close (store);
}

static void
test_store_closed_under_a_model_is_quiet (Fixture       *fixture,
                                          gconstpointer  user_data)
{
  gint64 folder_id = new_folder (fixture->store, TERN_LOCAL_ACCOUNT, "Mail", TERN_FOLDER_ROLE_NONE);
  g_autoptr(GArray) ids = add_numbered (fixture->store, folder_id, 0, 5, JAN_01_2024);
  g_autoptr(TernMessageListModel) model = load_model (
    tern_message_list_model_new_for_folder (fixture->store, folder_id, FALSE));
  g_autoptr(TernMessageRow) row = loaded_row (model, 0);

  /* The application quits just as a change reaches the list: the store
   * closes while the list is reading it again.  Nothing is reported as a
   * failure (a warning would abort this test). */
  g_signal_connect_after (fixture->store, "changed", G_CALLBACK (close_store_cb), NULL);
  g_clear_pointer (&ids, g_array_unref);
  ids = add_numbered (fixture->store, folder_id, 100, 1, JAN_01_2024 + DAY_SECONDS);
  settle (model);
  tern_test_drain_main_context ();
  g_assert_true (tern_message_row_get_loaded (row));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/list-model/folder/n-items-after-load", test_folder_n_items_after_load);
  ADD ("/list-model/folder/rows-load-on-demand", test_folder_rows_load_on_demand);
  ADD ("/list-model/folder/loaded-rows-grow-with-rows-asked",
       test_folder_loaded_rows_grow_with_rows_asked);
  ADD ("/list-model/changes/add-in-middle-is-one-insertion",
       test_changes_add_in_middle_is_one_insertion);
  ADD ("/list-model/changes/delete-two-far-apart-is-two-removals",
       test_changes_delete_two_far_apart_is_two_removals);
  ADD ("/list-model/changes/flag-change-notifies-row-only",
       test_changes_flag_change_notifies_row_only);
  ADD ("/list-model/changes/move-updates-both-folders", test_changes_move_updates_both_folders);
  g_test_add ("/list-model/changes/random-sequence-keeps-mirror-in-step", Fixture,
              GINT_TO_POINTER (RANDOM_FOLDER), fixture_set_up,
              test_changes_random_sequence_keeps_mirror_in_step, fixture_tear_down);
  g_test_add ("/list-model/threaded/random-sequence-keeps-mirror-in-step", Fixture,
              GINT_TO_POINTER (RANDOM_THREADED), fixture_set_up,
              test_changes_random_sequence_keeps_mirror_in_step, fixture_tear_down);
  g_test_add ("/list-model/unified-inbox/random-sequence-keeps-mirror-in-step", Fixture,
              GINT_TO_POINTER (RANDOM_UNIFIED_INBOX), fixture_set_up,
              test_changes_random_sequence_keeps_mirror_in_step, fixture_tear_down);
  ADD ("/list-model/threaded/conversation-is-one-row", test_threaded_conversation_is_one_row);
  ADD ("/list-model/threaded/new-reply-updates-conversation-row",
       test_threaded_new_reply_updates_conversation_row);
  ADD ("/list-model/unified-inbox/spans-accounts", test_unified_inbox_spans_accounts);
  ADD ("/list-model/search/lists-matches", test_search_model_lists_matches);
  ADD ("/list-model/search/bad-query-fails-to-load", test_search_model_bad_query_fails_to_load);
  ADD ("/list-model/store-closed-under-a-model-is-quiet", test_store_closed_under_a_model_is_quiet);

#undef ADD

  return g_test_run ();
}
