/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * TernStallProbe: how long the main loop goes without getting round to
 * work of redraw priority, while the probe runs.  A timer at a priority
 * just below redrawing ticks every few milliseconds; a tick that comes
 * late by more than its period means the loop was busy elsewhere, or
 * starved the redraws, for that long.
 */
typedef struct _TernStallProbe TernStallProbe;

TernStallProbe *tern_stall_probe_new         (void);
gint64          tern_stall_probe_get_longest (TernStallProbe *self);
gint64          tern_stall_probe_get_elapsed (TernStallProbe *self);
void            tern_stall_probe_free        (TernStallProbe *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernStallProbe, tern_stall_probe_free)

G_END_DECLS
