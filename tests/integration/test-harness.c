/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Tests of tests/servers/tern-test-servers itself: every server process it
 * starts is gone when it ends, whether the command it ran finished, meson
 * stopped it on a timeout, or it was killed outright; and sets that run at
 * the same time keep to their own ports and folders.
 *
 * This program is not run under the harness: it runs the harness itself,
 * with itself as the command ("--record FILE"), which writes down the set's
 * folder, ports and server processes while they run. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tern-test-servers.h"
#include "tern-test-wire.h"

#define HARNESS_TIMEOUT_USEC (120 * G_USEC_PER_SEC)
#define VANISH_TIMEOUT_USEC (15 * G_USEC_PER_SEC)
/* What meson allows a test between SIGTERM and SIGKILL. */
#define MESON_KILL_GRACE_USEC (G_USEC_PER_SEC / 2)

typedef struct
{
  GPid pid;
  guint64 start_time;
} ProcessId;

typedef struct
{
  char *dir;
  GHashTable *ports;     /* name -> port, both strings */
  GArray *processes;     /* ProcessId */
  GPid dovecot_pid;
  GPid postfix_pid;
} Record;

static void
record_free (Record *record)
{
  g_free (record->dir);
  g_clear_pointer (&record->ports, g_hash_table_unref);
  g_clear_pointer (&record->processes, g_array_unref);
  g_free (record);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Record, record_free)

/* From /proc/PID/stat: state, session and start time; FALSE when the
 * process does not exist. */
static gboolean
read_process (GPid      pid,
              char     *out_state,
              GPid     *out_session,
              guint64  *out_start_time)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_name;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  /* The command name may hold spaces and parentheses; it ends at the last
   * ")".  After it: state ppid pgrp session ... with starttime the 20th. */
  after_name = strrchr (contents, ')');
  if (after_name == NULL)
    return FALSE;
  fields = g_strsplit (after_name + 2, " ", -1);
  if (g_strv_length (fields) < 20)
    return FALSE;
  *out_state = fields[0][0];
  *out_session = (GPid) g_ascii_strtoll (fields[3], NULL, 10);
  *out_start_time = g_ascii_strtoull (fields[19], NULL, 10);
  return TRUE;
}

/* Alive: the same process (same start time) exists and is not a zombie. */
static gboolean
process_alive (const ProcessId *process)
{
  char state = 0;
  GPid session = 0;
  guint64 start_time = 0;

  if (!read_process (process->pid, &state, &session, &start_time))
    return FALSE;
  return start_time == process->start_time && state != 'Z';
}

/* Every live process in the sessions the server masters lead. */
static GArray *
list_server_processes (GPid dovecot_pid,
                       GPid postfix_pid)
{
  GArray *found = g_array_new (FALSE, FALSE, sizeof (ProcessId));
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      guint64 pid = 0;
      ProcessId process = { 0 };
      char state = 0;
      GPid session = 0;

      if (!g_ascii_string_to_unsigned (name, 10, 1, G_MAXINT, &pid, NULL))
        continue;
      process.pid = (GPid) pid;
      if (!read_process (process.pid, &state, &session, &process.start_time))
        continue;
      if (state == 'Z')
        continue;
      if ((dovecot_pid > 0 && session == dovecot_pid) ||
          (postfix_pid > 0 && session == postfix_pid))
        g_array_append_val (found, process);
    }
  return found;
}

/* --record FILE [--linger]: runs inside the harness. */
static int
record_servers (const char *path,
                gboolean    linger)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestServers) servers = tern_test_servers_load (&error);
  g_autoptr(GPtrArray) wires = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GArray) processes = NULL;
  g_autofree char *tmp_path = g_strconcat (path, ".tmp", NULL);
  guint16 ports[] = { 0, 0, 0, 0 };

  if (servers == NULL)
    {
      g_printerr ("record: %s\n", error->message);
      return 2;
    }
  wires = g_ptr_array_new_with_free_func ((GDestroyNotify) tern_test_wire_free);

  /* Connections make the servers start their per-connection processes, so
   * the record covers those too. */
  ports[0] = servers->imaps_port;
  ports[1] = servers->pop3_port;
  ports[2] = servers->lmtp_port;
  ports[3] = servers->submission_port;
  for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
    {
      TernTestWire *wire;
      g_autofree char *greeting = NULL;

      if (ports[i] == 0)
        continue;
      wire = tern_test_wire_connect (servers, ports[i],
                                     i == 0 ? TERN_TEST_WIRE_FLAGS_TLS : TERN_TEST_WIRE_FLAGS_NONE,
                                     &error);
      if (wire == NULL || !(greeting = tern_test_wire_read_line (wire, &error)))
        {
          g_printerr ("record: port %u: %s\n", ports[i], error->message);
          return 2;
        }
      g_ptr_array_add (wires, wire);
    }

  processes = list_server_processes (servers->dovecot_pid, servers->postfix_pid);
  g_string_append_printf (text, "dir %s\n", servers->dir);
  g_string_append_printf (text, "masters %d %d\n", (int) servers->dovecot_pid,
                          (int) servers->postfix_pid);
  g_string_append_printf (text, "port imap %u\nport imaps %u\nport pop3 %u\nport pop3s %u\n"
                          "port lmtp %u\nport submission %u\nport smtps %u\n",
                          servers->imap_port, servers->imaps_port, servers->pop3_port,
                          servers->pop3s_port, servers->lmtp_port, servers->submission_port,
                          servers->smtps_port);
  for (guint i = 0; i < processes->len; i++)
    {
      const ProcessId *process = &g_array_index (processes, ProcessId, i);

      g_string_append_printf (text, "process %d %" G_GUINT64_FORMAT "\n",
                              (int) process->pid, process->start_time);
    }

  /* Written whole, then renamed, so a reader never sees half of it. */
  if (!g_file_set_contents (tmp_path, text->str, text->len, &error) ||
      g_rename (tmp_path, path) != 0)
    {
      g_printerr ("record: cannot write %s\n", path);
      return 2;
    }

  if (linger)
    {
      /* Stays until the test stops the harness. */
      for (guint i = 0; i < 1200; i++)
        g_usleep (G_USEC_PER_SEC / 10);
    }
  return 0;
}

static Record *
read_record (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(Record) record = g_new0 (Record, 1);

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  record->ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  record->processes = g_array_new (FALSE, FALSE, sizeof (ProcessId));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit (lines[i], " ", -1);

      if (g_strv_length (words) == 2 && g_str_equal (words[0], "dir"))
        {
          record->dir = g_strdup (words[1]);
        }
      else if (g_strv_length (words) == 3 && g_str_equal (words[0], "masters"))
        {
          record->dovecot_pid = (GPid) g_ascii_strtoll (words[1], NULL, 10);
          record->postfix_pid = (GPid) g_ascii_strtoll (words[2], NULL, 10);
        }
      else if (g_strv_length (words) == 3 && g_str_equal (words[0], "port"))
        {
          g_hash_table_insert (record->ports, g_strdup (words[1]), g_strdup (words[2]));
        }
      else if (g_strv_length (words) == 3 && g_str_equal (words[0], "process"))
        {
          ProcessId process;

          process.pid = (GPid) g_ascii_strtoll (words[1], NULL, 10);
          process.start_time = g_ascii_strtoull (words[2], NULL, 10);
          g_array_append_val (record->processes, process);
        }
    }

  g_assert_nonnull (record->dir);
  g_assert_cmpint (record->dovecot_pid, >, 0);
  return g_steal_pointer (&record);
}

/* The record must have seen the servers running: both masters and some of
 * their children. */
static void
assert_record_saw_servers (Record *record)
{
  gboolean saw_dovecot = FALSE;
  gboolean saw_postfix = record->postfix_pid == 0;

  for (guint i = 0; i < record->processes->len; i++)
    {
      const ProcessId *process = &g_array_index (record->processes, ProcessId, i);

      saw_dovecot |= process->pid == record->dovecot_pid;
      saw_postfix |= process->pid == record->postfix_pid;
    }
  g_assert_true (saw_dovecot);
  g_assert_true (saw_postfix);
  /* A master alone is no evidence that children get stopped too. */
  g_assert_cmpuint (record->processes->len, >=, record->postfix_pid != 0 ? 8 : 4);
}

static guint
count_alive (Record *record)
{
  guint alive = 0;
  g_autoptr(GArray) late = NULL;

  for (guint i = 0; i < record->processes->len; i++)
    alive += process_alive (&g_array_index (record->processes, ProcessId, i));
  /* Also processes that started after the record was made. */
  late = list_server_processes (record->dovecot_pid, record->postfix_pid);
  return alive + late->len;
}

static void
assert_servers_vanish (Record *record,
                       gint64  timeout_usec)
{
  gint64 deadline = g_get_monotonic_time () + timeout_usec;
  guint alive;

  while ((alive = count_alive (record)) > 0 && g_get_monotonic_time () < deadline)
    g_usleep (G_USEC_PER_SEC / 100);
  if (alive > 0)
    g_test_message ("%u server processes of %s are still alive", alive, record->dir);
  g_assert_cmpuint (alive, ==, 0);
}

static void
setpgid_child_setup (gpointer user_data)
{
  /* A group of its own, as meson gives each test. */
  setpgid (0, 0);
}

typedef struct
{
  GSubprocess *process;
  GPid pid;
  char *record_path;
} Harness;

static void
harness_free (Harness *harness)
{
  g_clear_object (&harness->process);
  g_free (harness->record_path);
  g_free (harness);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Harness, harness_free)

/* Starts "tern-test-servers run -- THIS-PROGRAM --record FILE", or returns
 * NULL after skipping the test when the harness cannot be found. */
static Harness *
start_harness (const char *work_dir,
               const char *name,
               gboolean    linger)
{
  const char *ctl = g_getenv ("TERN_TEST_SERVERS_CTL");
  const char *python = g_getenv ("TERN_TEST_SERVERS_PYTHON");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *self_path = NULL;
  g_autoptr(Harness) harness = g_new0 (Harness, 1);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  if (ctl == NULL)
    {
      g_test_skip ("TERN_TEST_SERVERS_CTL does not name tests/servers/tern-test-servers");
      return NULL;
    }
  if (python == NULL)
    python = "/usr/bin/python3";

  self_path = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  harness->record_path = g_build_filename (work_dir, name, NULL);

  g_ptr_array_add (argv, (char *) python);
  g_ptr_array_add (argv, (char *) ctl);
  g_ptr_array_add (argv, (char *) "run");
  g_ptr_array_add (argv, (char *) "--");
  g_ptr_array_add (argv, self_path);
  g_ptr_array_add (argv, (char *) "--record");
  g_ptr_array_add (argv, harness->record_path);
  if (linger)
    g_ptr_array_add (argv, (char *) "--linger");
  g_ptr_array_add (argv, NULL);

  /* The harness would otherwise find the set this program may run in. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_unsetenv (launcher, "TERN_TEST_SERVERS_DIR");
  g_subprocess_launcher_set_child_setup (launcher, setpgid_child_setup, NULL, NULL);
  harness->process = g_subprocess_launcher_spawnv (launcher,
                                                   (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  harness->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (harness->process),
                                         NULL, 10);
  return g_steal_pointer (&harness);
}

/* TRUE when the harness exited within @timeout_usec.  GSubprocess reaps
 * its child from GLib's worker thread, so polling needs no main loop. */
static gboolean
wait_harness (Harness *harness,
              gint64   timeout_usec)
{
  gint64 deadline = g_get_monotonic_time () + timeout_usec;

  while (g_subprocess_get_identifier (harness->process) != NULL)
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (G_USEC_PER_SEC / 200);
    }
  return TRUE;
}

/* Exit status of a finished harness; skips the test when it skipped. */
static gboolean
harness_succeeded_or_skip (Harness *harness)
{
  g_assert_true (g_subprocess_get_if_exited (harness->process));
  if (g_subprocess_get_exit_status (harness->process) == 77)
    {
      g_test_skip ("the harness cannot start servers on this machine");
      return FALSE;
    }
  g_assert_cmpint (g_subprocess_get_exit_status (harness->process), ==, 0);
  return TRUE;
}

static gboolean
wait_for_file (const char *path,
               Harness    *harness,
               gint64      timeout_usec)
{
  gint64 deadline = g_get_monotonic_time () + timeout_usec;

  while (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (g_subprocess_get_identifier (harness->process) == NULL)
        return FALSE;
      g_usleep (G_USEC_PER_SEC / 100);
    }
  return TRUE;
}

/* Each test gets a folder for its records, removed after it. */
typedef struct
{
  char *work_dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->work_dir = g_dir_make_tmp ("tern-harness-test-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(GDir) handle = g_dir_open (fixture->work_dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->work_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (fixture->work_dir);
  g_clear_pointer (&fixture->work_dir, g_free);
}

static void
test_run_leaves_no_server_process (Fixture       *fixture,
                                  gconstpointer  user_data)
{
  g_autoptr(Harness) harness = start_harness (fixture->work_dir, "record", FALSE);
  g_autoptr(Record) record = NULL;

  if (harness == NULL)
    return;
  g_assert_true (wait_harness (harness, HARNESS_TIMEOUT_USEC));
  if (!harness_succeeded_or_skip (harness))
    return;

  record = read_record (harness->record_path);
  assert_record_saw_servers (record);

  /* The harness returned only after stopping everything: no waiting here. */
  g_assert_cmpuint (count_alive (record), ==, 0);
  g_assert_false (g_file_test (record->dir, G_FILE_TEST_EXISTS));
}

static void
test_meson_timeout_kill_leaves_no_server_process (Fixture       *fixture,
                                                 gconstpointer  user_data)
{
  g_autoptr(Harness) harness = start_harness (fixture->work_dir, "record", TRUE);
  g_autoptr(Record) record = NULL;
  gboolean exited_in_grace;

  if (harness == NULL)
    return;
  if (!wait_for_file (harness->record_path, harness, HARNESS_TIMEOUT_USEC))
    {
      /* Skipped, failed, or (the last assertion) ended without a record. */
      g_assert_true (wait_harness (harness, HARNESS_TIMEOUT_USEC));
      if (harness_succeeded_or_skip (harness))
        g_assert_not_reached ();
      return;
    }
  record = read_record (harness->record_path);
  assert_record_saw_servers (record);

  /* What meson does on a timeout: SIGTERM to the test's process group,
   * half a second, then SIGKILL to the group. */
  g_assert_cmpint (kill (-harness->pid, SIGTERM), ==, 0);
  exited_in_grace = wait_harness (harness, MESON_KILL_GRACE_USEC);
  if (!exited_in_grace)
    kill (-harness->pid, SIGKILL);
  g_assert_true (wait_harness (harness, HARNESS_TIMEOUT_USEC));
  g_test_message ("the harness %s within meson's grace period",
                  exited_in_grace ? "finished" : "did not finish");

  assert_servers_vanish (record, VANISH_TIMEOUT_USEC);
  if (exited_in_grace)
    g_assert_false (g_file_test (record->dir, G_FILE_TEST_EXISTS));
}

static void
test_sigkill_of_harness_still_stops_servers (Fixture       *fixture,
                                            gconstpointer  user_data)
{
  g_autoptr(Harness) harness = start_harness (fixture->work_dir, "record", TRUE);
  g_autoptr(Record) record = NULL;

  if (harness == NULL)
    return;
  if (!wait_for_file (harness->record_path, harness, HARNESS_TIMEOUT_USEC))
    {
      /* Skipped, failed, or (the last assertion) ended without a record. */
      g_assert_true (wait_harness (harness, HARNESS_TIMEOUT_USEC));
      if (harness_succeeded_or_skip (harness))
        g_assert_not_reached ();
      return;
    }
  record = read_record (harness->record_path);
  assert_record_saw_servers (record);

  /* Only the harness dies, with no chance to clean up; its watchdog sees
   * it go and stops the servers. */
  g_assert_cmpint (kill (harness->pid, SIGKILL), ==, 0);
  g_assert_true (wait_harness (harness, HARNESS_TIMEOUT_USEC));
  assert_servers_vanish (record, VANISH_TIMEOUT_USEC);
  /* The recording command is still there, as nobody stopped it. */
  kill (-harness->pid, SIGKILL);

  /* The watchdog also removes the set's temporary folder. */
  {
    gint64 deadline = g_get_monotonic_time () + VANISH_TIMEOUT_USEC;

    while (g_file_test (record->dir, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
      g_usleep (G_USEC_PER_SEC / 100);
    g_assert_false (g_file_test (record->dir, G_FILE_TEST_EXISTS));
  }
}

static void
test_parallel_sets_use_own_ports_and_folders (Fixture       *fixture,
                                             gconstpointer  user_data)
{
  g_autoptr(Harness) first = start_harness (fixture->work_dir, "record-1", FALSE);
  g_autoptr(Harness) second = NULL;
  g_autoptr(Record) first_record = NULL;
  g_autoptr(Record) second_record = NULL;
  GHashTableIter iter;
  gpointer name, port;
  g_autoptr(GHashTable) second_ports = g_hash_table_new (g_str_hash, g_str_equal);

  if (first == NULL)
    return;
  second = start_harness (fixture->work_dir, "record-2", FALSE);
  g_assert_true (wait_harness (first, HARNESS_TIMEOUT_USEC));
  g_assert_true (wait_harness (second, HARNESS_TIMEOUT_USEC));
  if (!harness_succeeded_or_skip (first) || !harness_succeeded_or_skip (second))
    return;

  first_record = read_record (first->record_path);
  second_record = read_record (second->record_path);
  g_assert_cmpstr (first_record->dir, !=, second_record->dir);
  g_assert_cmpint (first_record->dovecot_pid, !=, second_record->dovecot_pid);

  g_hash_table_iter_init (&iter, second_record->ports);
  while (g_hash_table_iter_next (&iter, NULL, &port))
    if (!g_str_equal (port, "0"))
      g_hash_table_add (second_ports, port);
  g_hash_table_iter_init (&iter, first_record->ports);
  while (g_hash_table_iter_next (&iter, &name, &port))
    {
      if (g_str_equal (port, "0"))
        continue;
      if (g_hash_table_contains (second_ports, port))
        g_error ("both sets listened on port %s (%s)", (char *) port, (char *) name);
    }
  g_assert_cmpuint (g_hash_table_size (second_ports), >=, 5);

  g_assert_cmpuint (count_alive (first_record), ==, 0);
  g_assert_cmpuint (count_alive (second_record), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  if (argc >= 3 && g_str_equal (argv[1], "--record"))
    return record_servers (argv[2], argc >= 4 && g_str_equal (argv[3], "--linger"));

  g_test_init (&argc, &argv, NULL);

  g_test_add ("/integration/harness/run-leaves-no-server-process", Fixture, NULL,
              fixture_set_up, test_run_leaves_no_server_process, fixture_tear_down);
  g_test_add ("/integration/harness/meson-timeout-kill-leaves-no-server-process", Fixture, NULL,
              fixture_set_up, test_meson_timeout_kill_leaves_no_server_process, fixture_tear_down);
  g_test_add ("/integration/harness/sigkill-of-harness-still-stops-servers", Fixture, NULL,
              fixture_set_up, test_sigkill_of_harness_still_stops_servers, fixture_tear_down);
  g_test_add ("/integration/harness/parallel-sets-use-own-ports-and-folders", Fixture, NULL,
              fixture_set_up, test_parallel_sets_use_own_ports_and_folders, fixture_tear_down);

  return g_test_run ();
}
