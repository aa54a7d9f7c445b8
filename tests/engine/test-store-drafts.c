/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Drafts in the store: the account's Drafts folder is the one of that
 * role, the server's first, and a draft saved there is queued for upload
 * as an APPEND with \Draft, as is a message whose sending was taken
 * back. */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-message-flags.h"
#include "tern-store.h"
#include "tern-store-drafts.h"
#include "tern-store-outbox.h"
#include "tern-store-sync.h"
#include "tern-test-util.h"

static const char draft[] =
  "From: zoe@office.example\r\n"
  "Subject: Half written\r\n"
  "X-Mozilla-Draft-Info: internal/draft\r\n"
  "\r\n"
  "Dear\r\n";

static TernFolder *
find_drafts (TernStore  *store,
             const char *account)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TernFolder *folder;

  tern_store_find_role_folder_async (store, account, TERN_FOLDER_ROLE_DRAFTS,
                                     TERN_STORE_DRAFTS_PATH, NULL, tern_test_got_result_cb,
                                     &result);
  folder = tern_store_find_role_folder_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (folder);
  return folder;
}

static gboolean
queue_upload (TernStore *store,
              gint64     id)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean queued;

  tern_store_queue_upload_async (store, id, TERN_STORE_DRAFT_FLAGS, NULL,
                                 tern_test_got_result_cb, &result);
  queued = tern_store_queue_upload_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return queued;
}

static gint64
add_draft (TernStore *store,
           gint64     folder_id)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (
    (GDestroyNotify) tern_new_message_free);
  g_autoptr(GBytes) raw = g_bytes_new_static (draft, strlen (draft));
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (messages, tern_new_message_new (raw, TERN_MESSAGE_FLAG_SEEN |
                                                   TERN_MESSAGE_FLAG_DRAFT, 0));
  ids = tern_test_add_messages (store, folder_id, messages, TERN_STORE_DURABILITY_NORMAL, &error);
  g_assert_no_error (error);
  return g_array_index (ids, gint64, 0);
}

static GPtrArray *
actions_of (TernStore  *store,
            const char *account)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *actions;

  tern_store_list_actions_async (store, account, NULL, tern_test_got_result_cb, &result);
  actions = tern_store_list_actions_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);
  return actions;
}

static void
test_server_drafts_folder_and_upload (void)
{
  g_autofree char *dir = tern_test_make_temp_dir ("tern-drafts-XXXXXX");
  g_autoptr(TernStore) store = tern_test_open_store (dir);
  g_autoptr(GPtrArray) remote = g_ptr_array_new_with_free_func (
    (GDestroyNotify) tern_remote_folder_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) listed = NULL;
  g_autoptr(GPtrArray) actions = NULL;
  g_autoptr(TernFolder) local = NULL;
  g_autoptr(TernFolder) drafts = NULL;
  g_autoptr(TernFolder) pop = NULL;
  g_autoptr(GError) error = NULL;
  TernRemoteFolder *folder;
  TernPendingAction *action;
  gint64 first;

  /* Before the server's folders are known, drafts stay in one made here. */
  local = find_drafts (store, "work");
  g_assert_cmpstr (tern_folder_get_path (local), ==, "Drafts");
  g_assert_cmpint (tern_folder_get_role (local), ==, TERN_FOLDER_ROLE_DRAFTS);
  first = add_draft (store, tern_folder_get_id (local));
  g_assert_false (queue_upload (store, first));

  /* The server calls its drafts folder otherwise, and says so. */
  folder = tern_remote_folder_new ("INBOX", "INBOX", '/');
  folder->role = TERN_FOLDER_ROLE_INBOX;
  g_ptr_array_add (remote, folder);
  folder = tern_remote_folder_new ("Entwürfe", "Entw&APw-rfe", '/');
  folder->role = TERN_FOLDER_ROLE_DRAFTS;
  g_ptr_array_add (remote, folder);
  tern_store_update_remote_folders_async (store, "work", remote, NULL, tern_test_got_result_cb,
                                          &result);
  listed = tern_store_update_remote_folders_finish (store, tern_test_wait_for (&result), &error);
  g_assert_no_error (error);

  drafts = find_drafts (store, "work");
  g_assert_cmpstr (tern_folder_get_path (drafts), ==, "Entwürfe");
  g_assert_cmpint (tern_folder_get_id (drafts), !=, tern_folder_get_id (local));

  {
    gint64 id = add_draft (store, tern_folder_get_id (drafts));

    g_assert_true (queue_upload (store, id));
    actions = actions_of (store, "work");
    g_assert_cmpuint (actions->len, ==, 1);
    action = g_ptr_array_index (actions, 0);
    g_assert_cmpint (action->kind, ==, TERN_ACTION_APPEND);
    g_assert_cmpint (action->folder_id, ==, tern_folder_get_id (drafts));
    g_assert_cmpint (g_array_index (action->message_ids, gint64, 0), ==, id);
    g_assert_cmpstr (action->argument, ==, "\\Seen \\Draft");
  }

  {
    /* Sending taken back: the message goes to the account's Drafts on
     * the server, queued for upload like a draft. */
    static const char * const recipients[] = { "ann@example.org", NULL };
    g_autoptr(GAsyncResult) added = NULL;
    g_autoptr(GAsyncResult) cancelled = NULL;
    g_autoptr(GBytes) raw = g_bytes_new_static (draft, strlen (draft));
    g_autoptr(TernOutboxItem) item = NULL;
    g_autoptr(GPtrArray) after = NULL;
    TernPendingAction *upload;

    tern_store_outbox_add_async (store, "work", "zoe@office.example", recipients, raw,
                                 g_get_real_time () / G_USEC_PER_SEC + 3600, NULL,
                                 tern_test_got_result_cb, &added);
    item = tern_store_outbox_add_finish (store, tern_test_wait_for (&added), &error);
    g_assert_no_error (error);
    tern_store_outbox_cancel_async (store, item->id, NULL, tern_test_got_result_cb, &cancelled);
    g_assert_true (tern_store_outbox_change_finish (store, tern_test_wait_for (&cancelled),
                                                    &error));
    g_assert_no_error (error);
    after = actions_of (store, "work");
    g_assert_cmpuint (after->len, ==, 2);
    upload = g_ptr_array_index (after, 1);
    g_assert_cmpint (upload->kind, ==, TERN_ACTION_APPEND);
    g_assert_cmpint (upload->folder_id, ==, tern_folder_get_id (drafts));
    g_assert_cmpint (g_array_index (upload->message_ids, gint64, 0), ==, item->message_id);
    g_assert_cmpstr (upload->argument, ==, "\\Seen \\Draft");
  }

  /* Another account's drafts are its own. */
  pop = find_drafts (store, "home");
  g_assert_cmpstr (tern_folder_get_account (pop), ==, "home");
  g_assert_cmpint (tern_folder_get_id (pop), !=, tern_folder_get_id (local));

  tern_test_close_store (&store);
  tern_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/store/drafts/server-folder-of-the-role-and-upload",
                   test_server_drafts_folder_and_upload);

  return g_test_run ();
}
