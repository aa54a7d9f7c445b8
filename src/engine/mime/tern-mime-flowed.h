/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Plain text with quote levels.  Tern keeps the text of a message as lines,
 * a quoted line starting with one ">" per level (">> " is a quote in a
 * quote).  format=flowed (RFC 3676) text is read into that form, its soft
 * line breaks joined into whole paragraphs, so that the reader can wrap
 * them to its own width.
 */

/* A quote deeper than this is drawn at this depth. */
#define TERN_MIME_MAX_QUOTE_DEPTH 8

char  *tern_mime_decode_flowed (const char *text,
                                gboolean    delete_space);
guint  tern_mime_quote_depth   (const char *line,
                                gsize       length,
                                gsize      *out_content);

G_END_DECLS
