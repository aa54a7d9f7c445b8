/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

char     *tern_mime_normalize_subject           (const char *subject);
gboolean  tern_mime_subject_is_reply_or_forward (const char *subject);

G_END_DECLS
