/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <gdk/gdk.h>

#include "tern-stall-probe.h"

/* Milliseconds between ticks. */
#define TICK_MS 10

struct _TernStallProbe
{
  GSource *source;
  gint64 started;
  gint64 last;
  gint64 longest;
  gint64 longest_at;
};

static gboolean
tick_cb (gpointer user_data)
{
  TernStallProbe *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 late = now - self->last - TICK_MS * 1000;

  if (late > self->longest)
    {
      self->longest = late;
      self->longest_at = now - self->started;
    }
  self->last = now;
  return G_SOURCE_CONTINUE;
}

/**
 * tern_stall_probe_new:
 *
 * Starts measuring on the thread-default main context; the probe wakes
 * the loop every few milliseconds until it is freed, so it runs only
 * while there is work to watch.
 */
TernStallProbe *
tern_stall_probe_new (void)
{
  TernStallProbe *self = g_new0 (TernStallProbe, 1);

  self->started = self->last = g_get_monotonic_time ();
  self->source = g_timeout_source_new (TICK_MS);
  /* At the priority of input events: a late tick is an event that would
   * have waited as long. */
  g_source_set_priority (self->source, GDK_PRIORITY_EVENTS);
  g_source_set_callback (self->source, tick_cb, self, NULL);
  g_source_set_static_name (self->source, "[tern] stall probe");
  g_source_attach (self->source, g_main_context_get_thread_default ());
  return self;
}

/**
 * tern_stall_probe_get_longest:
 *
 * Returns: the longest stall so far, in microseconds.
 */
gint64
tern_stall_probe_get_longest (TernStallProbe *self)
{
  g_return_val_if_fail (self != NULL, 0);

  /* A stall still going on counts too. */
  tick_cb (self);
  return self->longest;
}

/**
 * tern_stall_probe_get_longest_at:
 *
 * Returns: when the longest stall so far ended, in microseconds since the
 *   probe started.
 */
gint64
tern_stall_probe_get_longest_at (TernStallProbe *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->longest_at;
}

/**
 * tern_stall_probe_get_elapsed:
 *
 * Returns: the microseconds since the probe started.
 */
gint64
tern_stall_probe_get_elapsed (TernStallProbe *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return g_get_monotonic_time () - self->started;
}

void
tern_stall_probe_free (TernStallProbe *self)
{
  if (self == NULL)
    return;
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_free (self);
}
