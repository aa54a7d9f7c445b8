/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tern-background.h"

/* Background work runs at a lower priority than the thread that asked for
 * it, and its result comes back on the asking thread's context. */

typedef struct
{
  int nice;
  GThread *thread;
} Seen;

/* Every thread background work has run on, in this process. */
static GPtrArray *threads_seen;

static int
thread_nice (void)
{
  errno = 0;
  return getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
}

static void
look_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Seen *seen = g_new0 (Seen, 1);

  seen->nice = thread_nice ();
  seen->thread = g_thread_self ();
  g_task_return_pointer (task, seen, g_free);
}

static void
done_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Seen **out = user_data;
  GError *error = NULL;

  /* The result comes on the context the task was made on. */
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  *out = g_task_propagate_pointer (G_TASK (result), &error);
  g_assert_no_error (error);
}

static Seen *
run_and_wait (void)
{
  Seen *seen = NULL;
  g_autoptr(GTask) task = g_task_new (NULL, NULL, done_cb, &seen);

  tern_background_run_in_thread (task, look_thread, "tern-test");
  while (seen == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (!g_ptr_array_find (threads_seen, seen->thread, NULL))
    g_ptr_array_add (threads_seen, seen->thread);
  return seen;
}

static void
test_background_runs_lower (void)
{
  int before = thread_nice ();
  g_autofree Seen *plain = NULL;
  g_autofree Seen *lowered = NULL;

  if (before > 19 - 5)
    {
      g_test_skip ("The test already runs at the lowest priority");
      return;
    }

  /* Left at 0, background work runs as this thread does. */
  plain = run_and_wait ();
  g_assert_true (plain->thread != g_thread_self ());
  g_assert_cmpint (plain->nice, ==, before);

  tern_background_set_nice (5);
  g_assert_cmpint (tern_background_get_nice (), ==, 5);
  lowered = run_and_wait ();
  g_assert_cmpint (lowered->nice, ==, before + 5);
  /* The thread that asked keeps its priority. */
  g_assert_cmpint (thread_nice (), ==, before);

  tern_background_set_nice (0);
}

/* A thread done with its work takes the next. */
static void
test_background_reuses_idle_threads (void)
{
  g_autofree Seen *first = run_and_wait ();
  g_autofree Seen *second = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint known;

  /* The thread counts itself idle just after its result is sent. */
  while (tern_background_count_idle () == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }

  /* The work goes to a thread that ran some before. */
  known = threads_seen->len;
  second = run_and_wait ();
  g_assert_cmpuint (threads_seen->len, ==, known);
}

typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean started;
  gboolean released;
  GThread *thread;
} Gate;

static void
wait_at_gate (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  Gate *gate = task_data;

  g_mutex_lock (&gate->lock);
  gate->started = TRUE;
  gate->thread = g_thread_self ();
  g_cond_broadcast (&gate->cond);
  while (!gate->released)
    g_cond_wait (&gate->cond, &gate->lock);
  g_mutex_unlock (&gate->lock);
  g_task_return_boolean (task, TRUE);
}

static void
gate_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  gboolean *done = user_data;

  *done = g_task_propagate_boolean (G_TASK (result), NULL);
}

/* Work never waits for a thread: one that runs long keeps its own, and
 * the next work gets another. */
static void
test_background_long_work_keeps_its_thread (void)
{
  Gate gate = { 0 };
  gboolean gate_done = FALSE;
  g_autoptr(GTask) long_task = g_task_new (NULL, NULL, gate_done_cb, &gate_done);
  g_autofree Seen *other = NULL;

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  g_task_set_task_data (long_task, &gate, NULL);
  tern_background_run_in_thread (long_task, wait_at_gate, "tern-test-long");

  g_mutex_lock (&gate.lock);
  while (!gate.started)
    g_cond_wait (&gate.cond, &gate.lock);
  g_mutex_unlock (&gate.lock);

  /* The long work holds its thread while this runs and returns. */
  other = run_and_wait ();
  g_assert_false (gate_done);
  g_assert_true (other->thread != gate.thread);

  g_mutex_lock (&gate.lock);
  gate.released = TRUE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  while (!gate_done)
    g_main_context_iteration (NULL, TRUE);

  g_mutex_clear (&gate.lock);
  g_cond_clear (&gate.cond);
}

static void
test_background_nice_is_bounded (void)
{
  tern_background_set_nice (40);
  g_assert_cmpint (tern_background_get_nice (), ==, 19);
  tern_background_set_nice (-5);
  g_assert_cmpint (tern_background_get_nice (), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  threads_seen = g_ptr_array_new ();

  g_test_add_func ("/background/runs-lower", test_background_runs_lower);
  g_test_add_func ("/background/nice-is-bounded", test_background_nice_is_bounded);
  g_test_add_func ("/background/reuses-idle-threads", test_background_reuses_idle_threads);
  g_test_add_func ("/background/long-work-keeps-its-thread",
                   test_background_long_work_keeps_its_thread);

  return g_test_run ();
}
