/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include "tern-background.h"

/*
 * Work that gives way to the window.
 *
 * A first sync keeps both processors of a small machine busy for seconds:
 * one thread reads the server, another prepares rows, the store's writer
 * writes them.  The kernel shares a processor evenly between threads of
 * the same priority, so while they run, laying out the window's first rows
 * takes two or three times as long as on an idle machine, and the window
 * stops answering for as long.
 *
 * So the app sets, once and before it starts any work, a lower priority (a
 * nice value) for background work, and the threads that do it take that
 * priority when they start.  Without privileges a thread cannot take its
 * priority back, so only threads of Tern's own take it, never those of
 * GLib's shared pool: the threads tern_background_run_in_thread() starts,
 * one per piece of work, and the store's writer, which writes what syncs
 * bring and, besides, the user's few changes.  Left at 0, as the command
 * line leaves it, background work runs as any other.
 */

static int background_nice;

/**
 * tern_background_set_nice:
 * @increment: how much lower background threads run, from 0 (as others)
 *   to 19, as for nice(1)
 *
 * Sets the priority of background work for the whole process.  Call it
 * before any background thread starts: a thread takes the value when it
 * starts.
 */
void
tern_background_set_nice (int increment)
{
  g_atomic_int_set (&background_nice, CLAMP (increment, 0, 19));
}

/**
 * tern_background_get_nice:
 *
 * Returns: what tern_background_set_nice() set, 0 by default.
 */
int
tern_background_get_nice (void)
{
  return g_atomic_int_get (&background_nice);
}

/**
 * tern_background_enter:
 *
 * Lowers the calling thread's priority by the background increment.  For
 * a thread that does background work and nothing else: the change lasts
 * as long as the thread.  Later calls on the same thread do nothing.
 */
void
tern_background_enter (void)
{
#ifdef __linux__
  static GPrivate entered;
  int increment = tern_background_get_nice ();
  id_t thread = (id_t) syscall (SYS_gettid);
  int current;

  if (increment == 0 || g_private_get (&entered) != NULL)
    return;
  g_private_set (&entered, GINT_TO_POINTER (1));

  /* On Linux each thread has its own nice value, set by its thread ID. */
  errno = 0;
  current = getpriority (PRIO_PROCESS, thread);
  if (current == -1 && errno != 0)
    return;
  if (setpriority (PRIO_PROCESS, thread, MIN (current + increment, 19)) != 0)
    g_debug ("Background work keeps its priority: %s", g_strerror (errno));
#endif
}

typedef struct
{
  GTask *task;
  GTaskThreadFunc func;
  const char *name;
} Run;

/*
 * Threads are kept a while after their work: with one started for each
 * short job (the preparation of a batch of headers), each new thread's
 * memory arena grew again from the system, about a tenth of a batch's
 * preparation in a profile.  A thread that finishes waits up to
 * IDLE_SECONDS for more; work never waits for a thread, since a new one
 * starts whenever none is idle, so a long job (a whole sync) only keeps
 * its own.
 */
#define IDLE_SECONDS 30

static GMutex idle_lock;
static guint n_idle;
static GAsyncQueue *idle_runs;

static void
run_one (Run *run)
{
#ifdef __linux__
  prctl (PR_SET_NAME, run->name, 0, 0, 0);
#endif
  tern_background_enter ();
  run->func (run->task, g_task_get_source_object (run->task), g_task_get_task_data (run->task),
             g_task_get_cancellable (run->task));
  g_object_unref (run->task);
  g_free (run);
}

static gpointer
run_thread (gpointer data)
{
  Run *run = data;

  while (run != NULL)
    {
      run_one (run);

      g_mutex_lock (&idle_lock);
      n_idle++;
      g_mutex_unlock (&idle_lock);

      run = g_async_queue_timeout_pop (idle_runs, IDLE_SECONDS * G_USEC_PER_SEC);
      if (run == NULL)
        {
          g_mutex_lock (&idle_lock);
          if (n_idle > 0)
            {
              /* Nobody counted on this thread: it ends. */
              n_idle--;
              g_mutex_unlock (&idle_lock);
              break;
            }
          g_mutex_unlock (&idle_lock);
          /* Work was given to an idle thread as this one timed out: it
           * is on its way. */
          run = g_async_queue_pop (idle_runs);
        }
    }

  return NULL;
}

/**
 * tern_background_run_in_thread:
 * @task: the task
 * @func: what to run; it must return the task's result, as for
 *   g_task_run_in_thread()
 * @name: (not nullable): the thread's name, for tools that list threads: a
 *   static string
 *
 * Runs @func in a thread of its own at the background priority, as
 * g_task_run_in_thread() runs it in GLib's pool: a thread that is idle
 * since its last work, or a new one.  The task completes in its context
 * once @func has returned its result.
 */
void
tern_background_run_in_thread (GTask           *task,
                               GTaskThreadFunc  func,
                               const char      *name)
{
  static gsize queue_made = 0;
  gboolean reuse;
  Run *run;

  g_return_if_fail (G_IS_TASK (task));
  g_return_if_fail (func != NULL);
  g_return_if_fail (name != NULL);

  if (g_once_init_enter (&queue_made))
    {
      idle_runs = g_async_queue_new ();
      g_once_init_leave (&queue_made, 1);
    }

  run = g_new (Run, 1);
  run->task = g_object_ref (task);
  run->func = func;
  run->name = name;

  g_mutex_lock (&idle_lock);
  reuse = n_idle > 0;
  if (reuse)
    n_idle--;
  g_mutex_unlock (&idle_lock);

  if (reuse)
    g_async_queue_push (idle_runs, run);
  else
    g_thread_unref (g_thread_new (name, run_thread, run));
}

/**
 * tern_background_count_idle:
 *
 * Returns: how many threads wait for more background work now
 */
guint
tern_background_count_idle (void)
{
  guint count;

  g_mutex_lock (&idle_lock);
  count = n_idle;
  g_mutex_unlock (&idle_lock);

  return count;
}
