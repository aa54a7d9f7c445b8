/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-mime-message.h"

G_BEGIN_DECLS

#define TERN_MIME_DISPLAY_ERROR (tern_mime_display_error_quark ())

typedef enum
{
  TERN_MIME_DISPLAY_ERROR_NOT_FOUND,
  TERN_MIME_DISPLAY_ERROR_TOO_LARGE,
} TernMimeDisplayError;

GQuark tern_mime_display_error_quark (void);

/* The most bytes of one part handed out decoded: larger parts are refused
 * rather than filling the memory of the reader. */
#define TERN_MIME_DISPLAY_MAX_PART_BYTES (256 * 1024 * 1024)

/* The most bytes of body (HTML or text) shown; the rest is cut. */
#define TERN_MIME_DISPLAY_MAX_BODY_BYTES (8 * 1024 * 1024)

typedef struct _TernMimeDisplay TernMimeDisplay;

#define TERN_TYPE_MIME_DISPLAY (tern_mime_display_get_type ())

GType            tern_mime_display_get_type            (void);

TernMimeDisplay *tern_mime_display_new                 (GBytes          *raw);
TernMimeDisplay *tern_mime_display_ref                 (TernMimeDisplay *self);
void             tern_mime_display_unref               (TernMimeDisplay *self);

TernMimeMessage *tern_mime_display_get_message         (TernMimeDisplay *self);
gboolean         tern_mime_display_is_html             (TernMimeDisplay *self);
const char      *tern_mime_display_get_body            (TernMimeDisplay *self);
gboolean         tern_mime_display_body_was_cut        (TernMimeDisplay *self);
GPtrArray       *tern_mime_display_get_attachments     (TernMimeDisplay *self);
GBytes          *tern_mime_display_get_part            (TernMimeDisplay *self,
                                                        const char      *part_path,
                                                        char           **mime_type,
                                                        GError         **error);
GBytes          *tern_mime_display_get_cid_part        (TernMimeDisplay *self,
                                                        const char      *content_id,
                                                        char           **mime_type,
                                                        GError         **error);
char           **tern_mime_display_get_remote_hosts    (TernMimeDisplay *self,
                                                        guint           *n_resources);

char            *tern_mime_display_text_to_html        (const char      *text);
GHashTable      *tern_mime_display_find_deceptive_links (const char     *html);
gboolean         tern_mime_display_link_is_deceptive   (const char      *shown,
                                                        const char      *href);
char            *tern_mime_display_rewrite_links       (const char      *html,
                                                        GPtrArray      **targets);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernMimeDisplay, tern_mime_display_unref)

G_END_DECLS
