/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gtk/gtk.h>

#include "tern-outbox-sender.h"

G_BEGIN_DECLS

void tern_send_failures_watch (GtkApplication   *application,
                               TernStore        *store,
                               TernOutboxSender *sender);

G_END_DECLS
