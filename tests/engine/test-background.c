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

  g_test_add_func ("/background/runs-lower", test_background_runs_lower);
  g_test_add_func ("/background/nice-is-bounded", test_background_nice_is_bounded);

  return g_test_run ();
}
