/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * TernStallProbe: how long the main loop goes without getting round to
 * input, while the probe runs.  A timer at the priority of input events
 * ticks every few milliseconds; a tick that comes late by more than its
 * period means that a key press or a click would have waited that long.
 */
typedef struct _TernStallProbe TernStallProbe;

TernStallProbe *tern_stall_probe_new         (void);
gint64          tern_stall_probe_get_longest (TernStallProbe *self);
gint64          tern_stall_probe_get_longest_at (TernStallProbe *self);
gint64          tern_stall_probe_get_elapsed (TernStallProbe *self);
void            tern_stall_probe_free        (TernStallProbe *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernStallProbe, tern_stall_probe_free)

G_END_DECLS
