/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

char *tern_format_list_date   (gint64       unix_time,
                               GDateTime   *now);
char *tern_format_full_date   (gint64       unix_time);
char *tern_format_size        (gint64       bytes);

G_END_DECLS
