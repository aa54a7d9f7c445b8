/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <webkit/webkit.h>

#include "tern-mime-display.h"

G_BEGIN_DECLS

void           tern_web_init               (const char          *cache_dir);
const char    *tern_web_get_cache_dir      (void);
void           tern_web_when_ready_async   (GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
gboolean       tern_web_when_ready_finish  (GAsyncResult        *result,
                                            GError             **error);
WebKitWebView *tern_web_new_view           (gboolean             block_remote);
void           tern_web_set_remote_allowed (WebKitWebView       *view,
                                            gboolean             allowed);
char          *tern_web_build_document     (const char          *body,
                                            gboolean             is_html,
                                            gboolean             allow_remote,
                                            gboolean             dark);

G_END_DECLS
