/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "tern-test-util.h"

/*
 * The store's commands of tern-cli, run as a user runs them: the built
 * program with --data-dir on a temporary profile, its output read, its
 * exit status checked (0 done, 1 failed, 2 wrong command line).
 */

typedef struct
{
  char *out;
  gsize out_length;
  char *err;
  int status;
} CliResult;

static void
cli_result_clear (CliResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliResult, cli_result_clear)

typedef struct
{
  char *root;
  char *mbox;
} Fixture;

/* Empty output may come as no bytes at all. */
static char *
bytes_to_string (GBytes *bytes,
                 gsize  *length)
{
  gsize size = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;

  if (length != NULL)
    *length = size;
  return data != NULL ? g_strndup (data, size) : g_strdup ("");
}

/* Runs tern-cli --data-dir ROOT ARGS…; the output is kept byte for byte. */
static void
run_cli (Fixture    *fixture,
         CliResult  *result,
         const char *first_arg,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) TERN_CLI_PATH);
  g_ptr_array_add (argv, (gpointer) "--data-dir");
  g_ptr_array_add (argv, fixture->root);
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));

  result->out = bytes_to_string (out, &result->out_length);
  result->err = bytes_to_string (err, NULL);
  result->status = g_subprocess_get_exit_status (process);
}

static void
import_sample (Fixture    *fixture,
               const char *folder)
{
  g_auto(CliResult) result = { 0 };

  run_cli (fixture, &result, "import", "--mbox", fixture->mbox, "--folder", folder, NULL);
  g_assert_cmpstr (result.err, ==, "");
  g_assert_cmpint (result.status, ==, 0);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  fixture->root = tern_test_make_temp_dir ("tern-cli-store-XXXXXX");
  fixture->mbox = tern_test_data_path ("sample.mbox");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  tern_test_remove_tree (fixture->root);
  g_free (fixture->root);
  g_free (fixture->mbox);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static JsonArray *
json_array_of (JsonNode *node)
{
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_node_get_array (node);
}

/* The message with this Message-ID in a --json listing. */
static JsonObject *
find_message (JsonArray  *messages,
              const char *message_id)
{
  for (guint i = 0; i < json_array_get_length (messages); i++)
    {
      JsonObject *message = json_array_get_object_element (messages, i);

      if (!json_object_get_null_member (message, "message_id") &&
          g_strcmp0 (json_object_get_string_member (message, "message_id"), message_id) == 0)
        return message;
    }

  return NULL;
}

static gint64
message_id_of (Fixture    *fixture,
               const char *message_id)
{
  g_auto(CliResult) result = { 0 };
  g_autoptr(JsonNode) root = NULL;
  JsonObject *message;

  run_cli (fixture, &result, "list", "Archive", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);
  root = parse_json (result.out);
  message = find_message (json_array_of (root), message_id);
  g_assert_nonnull (message);
  return json_object_get_int_member (message, "id");
}

static void
test_import_reports_count (Fixture       *fixture,
                           gconstpointer  user_data)
{
  g_auto(CliResult) result = { 0 };

  run_cli (fixture, &result, "import", "--mbox", fixture->mbox, "--folder", "Archive", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.out, "Imported 4 messages"));
  g_assert_nonnull (strstr (result.out, "Archive"));
  /* Without a terminal, no progress is printed. */
  g_assert_cmpstr (result.err, ==, "");
}

static void
test_import_maildir (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autofree char *maildir = g_build_filename (fixture->root, "Maildir", NULL);
  g_autofree char *cur = g_build_filename (maildir, "cur", NULL);
  g_autofree char *new_dir = g_build_filename (maildir, "new", NULL);
  g_autofree char *seen = g_build_filename (cur, "1704067200.M1P1.host:2,S", NULL);
  g_autofree char *fresh = g_build_filename (new_dir, "1704153600.M2P2.host", NULL);
  g_auto(CliResult) result = { 0 };
  g_auto(CliResult) folders = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *folder;

  g_assert_cmpint (g_mkdir_with_parents (cur, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (new_dir, 0700), ==, 0);
  g_file_set_contents (seen, "Subject: One\nMessage-ID: <one@x>\n\nRead.\n", -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (fresh, "Subject: Two\nMessage-ID: <two@x>\n\nNew.\n", -1, &error);
  g_assert_no_error (error);

  run_cli (fixture, &result, "import", "--maildir", maildir, "--folder", "Old mail/2019", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.out, "Imported 2 messages"));

  run_cli (fixture, &folders, "folders", "--json", NULL);
  g_assert_cmpint (folders.status, ==, 0);
  root = parse_json (folders.out);
  g_assert_cmpuint (json_array_get_length (json_array_of (root)), ==, 2);
  folder = json_array_get_object_element (json_array_of (root), 1);
  g_assert_cmpstr (json_object_get_string_member (folder, "path"), ==, "Old mail/2019");
  g_assert_cmpint (json_object_get_int_member (folder, "total"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (folder, "unread"), ==, 1);
}

static void
test_folders_json (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_auto(CliResult) result = { 0 };
  g_auto(CliResult) plain = { 0 };
  g_autoptr(JsonNode) root = NULL;
  JsonArray *folders;
  JsonObject *folder;

  import_sample (fixture, "Archive");
  import_sample (fixture, "Backup/2024");

  run_cli (fixture, &result, "folders", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  root = parse_json (result.out);
  folders = json_array_of (root);
  g_assert_cmpuint (json_array_get_length (folders), ==, 3);

  folder = json_array_get_object_element (folders, 0);
  g_assert_cmpstr (json_object_get_string_member (folder, "account"), ==, "local");
  g_assert_cmpstr (json_object_get_string_member (folder, "path"), ==, "Archive");
  g_assert_cmpstr (json_object_get_string_member (folder, "name"), ==, "Archive");
  g_assert_cmpstr (json_object_get_string_member (folder, "role"), ==, "none");
  g_assert_cmpint (json_object_get_int_member (folder, "total"), ==, 4);
  /* One message of the four is marked read in the mbox. */
  g_assert_cmpint (json_object_get_int_member (folder, "unread"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (folder, "id"), >, 0);

  folder = json_array_get_object_element (folders, 1);
  g_assert_cmpstr (json_object_get_string_member (folder, "path"), ==, "Backup");
  g_assert_cmpint (json_object_get_int_member (folder, "total"), ==, 0);
  folder = json_array_get_object_element (folders, 2);
  g_assert_cmpstr (json_object_get_string_member (folder, "path"), ==, "Backup/2024");
  g_assert_cmpstr (json_object_get_string_member (folder, "name"), ==, "2024");
  g_assert_cmpint (json_object_get_int_member (folder, "total"), ==, 4);

  /* The plain listing names them too. */
  run_cli (fixture, &plain, "folders", NULL);
  g_assert_cmpint (plain.status, ==, 0);
  g_assert_nonnull (strstr (plain.out, "Backup/2024"));
}

static void
test_list_json_newest_first_with_limit (Fixture       *fixture,
                                        gconstpointer  user_data)
{
  g_auto(CliResult) result = { 0 };
  g_auto(CliResult) all = { 0 };
  g_auto(CliResult) plain = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) all_root = NULL;
  JsonArray *messages;
  JsonObject *first;
  JsonObject *second;
  JsonArray *flags;

  import_sample (fixture, "Archive");

  run_cli (fixture, &result, "list", "Archive", "--json", "--limit", "2", NULL);
  g_assert_cmpint (result.status, ==, 0);
  root = parse_json (result.out);
  messages = json_array_of (root);
  g_assert_cmpuint (json_array_get_length (messages), ==, 2);

  first = json_array_get_object_element (messages, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "subject"), ==, "Weekend hike");
  g_assert_cmpstr (json_object_get_string_member (first, "from_name"), ==, "Carol");
  g_assert_cmpstr (json_object_get_string_member (first, "from_address"), ==, "carol@example.net");
  g_assert_cmpstr (json_object_get_string_member (first, "message_id"), ==, "hike@example.net");
  g_assert_cmpstr (json_object_get_string_member (first, "date"), ==, "2024-03-16T18:00:00Z");
  g_assert_true (json_object_get_boolean_member (first, "unread"));
  g_assert_false (json_object_get_boolean_member (first, "has_attachments"));

  second = json_array_get_object_element (messages, 1);
  g_assert_cmpstr (json_object_get_string_member (second, "subject"), ==, "Café menu for Friday");
  g_assert_cmpstr (json_object_get_string_member (second, "from_name"), ==, "Renée Dupont");
  g_assert_true (json_object_get_boolean_member (second, "has_attachments"));

  run_cli (fixture, &all, "list", "Archive", "--json", NULL);
  g_assert_cmpint (all.status, ==, 0);
  all_root = parse_json (all.out);
  g_assert_cmpuint (json_array_get_length (json_array_of (all_root)), ==, 4);
  {
    JsonObject *oldest = json_array_get_object_element (json_array_of (all_root), 3);

    g_assert_cmpstr (json_object_get_string_member (oldest, "subject"), ==, "Quarterly report");
    g_assert_false (json_object_get_boolean_member (oldest, "unread"));
    flags = json_object_get_array_member (oldest, "flags");
    g_assert_cmpuint (json_array_get_length (flags), ==, 1);
    g_assert_cmpstr (json_array_get_string_element (flags, 0), ==, "seen");
  }

  run_cli (fixture, &plain, "list", "Archive", "-n", "1", NULL);
  g_assert_cmpint (plain.status, ==, 0);
  g_assert_nonnull (strstr (plain.out, "Weekend hike"));
  g_assert_null (strstr (plain.out, "Café"));
}

static void
test_show_prints_headers_and_body (Fixture       *fixture,
                                   gconstpointer  user_data)
{
  g_auto(CliResult) result = { 0 };
  g_autofree char *id = NULL;

  import_sample (fixture, "Archive");
  id = g_strdup_printf ("%" G_GINT64_FORMAT, message_id_of (fixture, "menu-2024@example.fr"));

  run_cli (fixture, &result, "show", id, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.err, ==, "");
  g_assert_nonnull (strstr (result.out, "From: Renée Dupont <renee@example.fr>\n"));
  g_assert_nonnull (strstr (result.out, "To: Bob Jones <bob@example.com>, carol@example.net\n"));
  g_assert_nonnull (strstr (result.out, "Cc: Dave <dave@example.org>\n"));
  g_assert_nonnull (strstr (result.out, "Subject: Café menu for Friday\n"));
  g_assert_nonnull (strstr (result.out, "Date: "));
  g_assert_nonnull (strstr (result.out, "Attachment: menu.pdf (application/pdf"));
  g_assert_nonnull (strstr (result.out, "\n\nHere is the menu for Friday's lunch at the café.\n"));
  /* The attachment's content is not shown as text. */
  g_assert_null (strstr (result.out, "JVBERi0"));
}

static void
test_show_raw_is_byte_identical (Fixture       *fixture,
                                 gconstpointer  user_data)
{
  g_auto(CliResult) menu = { 0 };
  g_auto(CliResult) reply = { 0 };
  g_autofree char *menu_id = NULL;
  g_autofree char *reply_id = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *path = tern_test_data_path ("attachment.eml");
  g_autoptr(GError) error = NULL;
  gsize expected_length = 0;
  static const char expected_reply[] =
    "From: Bob Jones <bob@example.com>\n"
    "To: Alice Smith <alice@example.org>\n"
    "Subject: Re: Quarterly report\n"
    "Date: Tue, 16 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <q1-reply@example.com>\n"
    "In-Reply-To: <q1-report@example.org>\n"
    "References: <q1-report@example.org>\n"
    "\n"
    "Thanks, the numbers look good.\n"
    "\n"
    ">From the desk of Bob.\n";

  g_file_get_contents (path, &expected, &expected_length, &error);
  g_assert_no_error (error);

  import_sample (fixture, "Archive");
  menu_id = g_strdup_printf ("%" G_GINT64_FORMAT, message_id_of (fixture, "menu-2024@example.fr"));
  reply_id = g_strdup_printf ("%" G_GINT64_FORMAT, message_id_of (fixture, "q1-reply@example.com"));

  run_cli (fixture, &menu, "show", menu_id, "--raw", NULL);
  g_assert_cmpint (menu.status, ==, 0);
  g_assert_cmpmem (menu.out, menu.out_length, expected, expected_length);

  /* A body line the mbox had to quote comes back as it was written. */
  run_cli (fixture, &reply, "show", "--raw", reply_id, NULL);
  g_assert_cmpint (reply.status, ==, 0);
  g_assert_cmpmem (reply.out, reply.out_length, expected_reply, sizeof expected_reply - 1);
}

static void
test_search_json (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_auto(CliResult) words = { 0 };
  g_auto(CliResult) folded = { 0 };
  g_auto(CliResult) from = { 0 };
  g_auto(CliResult) none = { 0 };
  g_autoptr(JsonNode) words_root = NULL;
  g_autoptr(JsonNode) folded_root = NULL;
  g_autoptr(JsonNode) from_root = NULL;
  g_autoptr(JsonNode) none_root = NULL;
  JsonArray *found;

  import_sample (fixture, "Archive");

  /* Newest first. */
  run_cli (fixture, &words, "search", "quarterly", "--json", NULL);
  g_assert_cmpint (words.status, ==, 0);
  words_root = parse_json (words.out);
  found = json_array_of (words_root);
  g_assert_cmpuint (json_array_get_length (found), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (found, 0),
                                                  "message_id"), ==, "q1-reply@example.com");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (found, 1),
                                                  "message_id"), ==, "q1-report@example.org");

  run_cli (fixture, &folded, "search", "--json", "cafe", NULL);
  g_assert_cmpint (folded.status, ==, 0);
  folded_root = parse_json (folded.out);
  found = json_array_of (folded_root);
  g_assert_cmpuint (json_array_get_length (found), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (found, 0),
                                                  "subject"), ==, "Café menu for Friday");

  /* Several words make one query. */
  run_cli (fixture, &from, "search", "--json", "from:carol", "hill", NULL);
  g_assert_cmpint (from.status, ==, 0);
  from_root = parse_json (from.out);
  found = json_array_of (from_root);
  g_assert_cmpuint (json_array_get_length (found), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (found, 0),
                                                  "message_id"), ==, "hike@example.net");

  run_cli (fixture, &none, "search", "--json", "zeppelin", NULL);
  g_assert_cmpint (none.status, ==, 0);
  none_root = parse_json (none.out);
  g_assert_cmpuint (json_array_get_length (json_array_of (none_root)), ==, 0);
}

static void
test_search_bad_date_names_it (Fixture       *fixture,
                               gconstpointer  user_data)
{
  g_auto(CliResult) result = { 0 };

  import_sample (fixture, "Archive");
  run_cli (fixture, &result, "search", "before:someday", NULL);
  g_assert_cmpint (result.status, ==, 1);
  g_assert_cmpstr (result.out, ==, "");
  g_assert_nonnull (strstr (result.err, "before:someday"));
}

static void
test_export_mbox_round_trip (Fixture       *fixture,
                             gconstpointer  user_data)
{
  g_autofree char *exported = g_build_filename (fixture->root, "exported.mbox", NULL);
  g_autofree char *contents = NULL;
  g_auto(CliResult) result = { 0 };
  g_auto(CliResult) reimport = { 0 };
  g_auto(CliResult) folders = { 0 };
  g_auto(CliResult) listed = { 0 };
  g_autoptr(JsonNode) folders_root = NULL;
  g_autoptr(JsonNode) listed_root = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *copy;
  guint from_lines = 0;

  import_sample (fixture, "Archive");

  run_cli (fixture, &result, "export", "Archive", "--mbox", exported, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_nonnull (strstr (result.out, "Exported 4 messages"));
  g_file_get_contents (exported, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (contents, "From "));
  for (const char *p = contents; (p = strstr (p, "\nFrom ")) != NULL; p++)
    from_lines++;
  g_assert_cmpuint (from_lines, ==, 3);
  /* The read message carries its flag in the file. */
  g_assert_nonnull (strstr (contents, "Status: RO\n"));

  run_cli (fixture, &reimport, "import", "--mbox", exported, "--folder", "Copy", NULL);
  g_assert_cmpint (reimport.status, ==, 0);
  g_assert_nonnull (strstr (reimport.out, "Imported 4 messages"));

  run_cli (fixture, &folders, "folders", "--json", NULL);
  folders_root = parse_json (folders.out);
  copy = json_array_get_object_element (json_array_of (folders_root), 1);
  g_assert_cmpstr (json_object_get_string_member (copy, "path"), ==, "Copy");
  g_assert_cmpint (json_object_get_int_member (copy, "total"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (copy, "unread"), ==, 3);

  run_cli (fixture, &listed, "list", "Copy", "--json", NULL);
  listed_root = parse_json (listed.out);
  g_assert_nonnull (find_message (json_array_of (listed_root), "menu-2024@example.fr"));
  g_assert_nonnull (find_message (json_array_of (listed_root), "q1-reply@example.com"));
}

typedef struct
{
  const char *args[8];
  const char *named;
} BadUsage;

static void
test_bad_usage_exits_2_naming_the_problem (Fixture       *fixture,
                                           gconstpointer  user_data)
{
  const BadUsage cases[] = {
    { { "import", "--mbox", "x.mbox", NULL }, "--folder" },
    { { "import", "--folder", "Archive", NULL }, "--mbox" },
    { { "import", "--mbox", "a", "--maildir", "b", "--folder", "Archive" }, "--maildir" },
    { { "import", "--mbox", NULL }, "--mbox" },
    { { "export", "Archive", NULL }, "--mbox" },
    { { "export", "--mbox", "out.mbox", NULL }, "FOLDER" },
    { { "show", NULL }, "ID" },
    { { "show", "twelve", NULL }, "twelve" },
    { { "show", "-3", NULL }, "-3" },
    { { "search", NULL }, "query" },
    { { "list", "--limit", "many", NULL }, "many" },
    { { "list", "--limit", "-1", NULL }, "limit" },
    { { "list", "A", "B", NULL }, "folder" },
    { { "folders", "extra", NULL }, "extra" },
    { { "folders", "--bogus", NULL }, "--bogus" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(CliResult) result = { 0 };
      const char * const *args = cases[i].args;

      g_test_message ("tern-cli %s %s", args[0], args[1] != NULL ? args[1] : "");
      run_cli (fixture, &result, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
               NULL);
      g_assert_cmpint (result.status, ==, 2);
      g_assert_cmpstr (result.out, ==, "");
      g_assert_nonnull (strstr (result.err, cases[i].named));
    }
}

static void
test_missing_folder_exits_1_naming_it (Fixture       *fixture,
                                       gconstpointer  user_data)
{
  g_autofree char *out = g_build_filename (fixture->root, "out.mbox", NULL);
  g_auto(CliResult) list = { 0 };
  g_auto(CliResult) export = { 0 };
  g_auto(CliResult) other_account = { 0 };
  g_auto(CliResult) show = { 0 };
  g_auto(CliResult) missing_file = { 0 };
  g_autofree char *nowhere = g_build_filename (fixture->root, "no-such.mbox", NULL);

  import_sample (fixture, "Archive");

  run_cli (fixture, &list, "list", "Archiv", NULL);
  g_assert_cmpint (list.status, ==, 1);
  g_assert_cmpstr (list.out, ==, "");
  g_assert_nonnull (strstr (list.err, "Archiv"));

  run_cli (fixture, &export, "export", "Nowhere", "--mbox", out, NULL);
  g_assert_cmpint (export.status, ==, 1);
  g_assert_nonnull (strstr (export.err, "Nowhere"));
  /* No file is left behind. */
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  run_cli (fixture, &other_account, "list", "work:INBOX", NULL);
  g_assert_cmpint (other_account.status, ==, 1);
  g_assert_nonnull (strstr (other_account.err, "work:INBOX"));

  run_cli (fixture, &show, "show", "9999", NULL);
  g_assert_cmpint (show.status, ==, 1);
  g_assert_nonnull (strstr (show.err, "9999"));

  run_cli (fixture, &missing_file, "import", "--mbox", nowhere, "--folder", "Archive", NULL);
  g_assert_cmpint (missing_file.status, ==, 1);
  g_assert_nonnull (strstr (missing_file.err, "no-such.mbox"));
}

static void
test_bench_store_json_has_every_figure (Fixture       *fixture,
                                        gconstpointer  user_data)
{
  static const char *keys[] = {
    "import_msgs_per_s", "first_rows_ms", "middle_rows_ms", "search_median_ms",
    "bytes_per_message", "peak_rss_mb", "import_cpu_us_per_msg",
  };
  g_auto(CliResult) result = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *figures;

  /* A small corpus: the figures are not judged here, only that each is
   * measured and given under the name scripts read. */
  run_cli (fixture, &result, "bench", "store", "--messages", "300", "--json", NULL);
  g_assert_cmpint (result.status, ==, 0);

  json_parser_load_from_data (parser, result.out, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  figures = json_node_get_object (json_parser_get_root (parser));

  g_assert_cmpint (json_object_get_int_member (figures, "messages"), ==, 300);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_assert_true (json_object_has_member (figures, keys[i]));
      g_assert_cmpfloat (json_object_get_double_member (figures, keys[i]), >, 0.0);
    }

  /* What the model adds is a difference of two resident sizes: on a small
   * corpus the heap the import freed may hold the model, so it can be 0 or
   * less.  It must be there and be a number. */
  g_assert_true (json_object_has_member (figures, "model_rss_mb"));
  g_assert_true (isfinite (json_object_get_double_member (figures, "model_rss_mb")));

  /* How busy the machine was, which the figures depend on. */
  g_assert_true (json_object_has_member (figures, "load_average"));
  g_assert_cmpfloat (json_object_get_double_member (figures, "load_average"), >=, 0.0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("/cli/store/import-reports-count", test_import_reports_count);
  ADD ("/cli/store/import-maildir", test_import_maildir);
  ADD ("/cli/store/folders-json", test_folders_json);
  ADD ("/cli/store/list-json-newest-first-with-limit", test_list_json_newest_first_with_limit);
  ADD ("/cli/store/show-prints-headers-and-body", test_show_prints_headers_and_body);
  ADD ("/cli/store/show-raw-is-byte-identical", test_show_raw_is_byte_identical);
  ADD ("/cli/store/search-json", test_search_json);
  ADD ("/cli/store/search-bad-date-names-it", test_search_bad_date_names_it);
  ADD ("/cli/store/export-mbox-round-trip", test_export_mbox_round_trip);
  ADD ("/cli/store/bad-usage-exits-2-naming-the-problem",
       test_bad_usage_exits_2_naming_the_problem);
  ADD ("/cli/store/missing-folder-exits-1-naming-it", test_missing_folder_exits_1_naming_it);
  ADD ("/cli/bench/store-json-has-every-figure", test_bench_store_json_has_every_figure);

#undef ADD

  return g_test_run ();
}
