/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * TernRichText: the basic rich text a composer writes, as lines of styled
 * runs, and the two forms it goes out in: HTML and the plain text that
 * goes beside it.  The HTML is well-formed XML with every character of
 * the user's text escaped, no script and no style sheets, and links only
 * to http, https and mailto addresses; it is the HTML this module reads
 * back (tern_rich_text_parse_html()), so that a saved draft opens as it
 * was written.
 */

typedef enum {
  TERN_RICH_PARAGRAPH,
  TERN_RICH_BULLET,
  TERN_RICH_NUMBERED,
  TERN_RICH_QUOTE,
} TernRichBlock;

typedef enum /*< flags >*/ {
  TERN_RICH_BOLD   = 1 << 0,
  TERN_RICH_ITALIC = 1 << 1,
} TernRichStyle;

/**
 * TernRichRun:
 * @text: the text; for an image, its description
 * @style: #TernRichStyle bits
 * @link: (nullable): the address the text links to
 * @image: (nullable): for an inline image, its Content-ID (without
 *   "cid:"), or its file while a composer holds it
 */
typedef struct
{
  char *text;
  guint style;
  char *link;
  char *image;
} TernRichRun;

typedef struct
{
  TernRichBlock block;
  GPtrArray *runs;             /* TernRichRun */
} TernRichLine;

typedef struct
{
  GPtrArray *lines;            /* TernRichLine */
} TernRichText;

#define TERN_RICH_MAX_HTML_BYTES (8 * 1024 * 1024)

#define TERN_RICH_ERROR (tern_rich_error_quark ())

typedef enum {
  TERN_RICH_ERROR_TOO_LARGE,
  TERN_RICH_ERROR_NOT_RICH_TEXT,
} TernRichError;

GQuark        tern_rich_error_quark        (void);

TernRichText *tern_rich_text_new           (void);
void          tern_rich_text_free          (TernRichText  *self);
TernRichLine *tern_rich_text_add_line      (TernRichText  *self,
                                            TernRichBlock  block);
TernRichRun  *tern_rich_text_add_run       (TernRichText  *self,
                                            const char    *text,
                                            guint          style,
                                            const char    *link);
TernRichRun  *tern_rich_text_add_image     (TernRichText  *self,
                                            const char    *image,
                                            const char    *description);
gboolean      tern_rich_text_is_plain      (TernRichText  *self);

char         *tern_rich_text_to_html       (TernRichText  *self);
char         *tern_rich_text_to_plain      (TernRichText  *self);
TernRichText *tern_rich_text_parse_html    (const char    *html,
                                            gssize         length,
                                            GError       **error);

TernRichText *tern_rich_text_read_message  (const guint8  *data,
                                            gsize          length,
                                            const char    *dir,
                                            GPtrArray     *attachments,
                                            GError       **error);

gboolean      tern_rich_link_is_allowed    (const char    *link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernRichText, tern_rich_text_free)

G_END_DECLS
