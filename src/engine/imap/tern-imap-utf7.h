/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

#include "tern-imap-parser.h"

G_BEGIN_DECLS

char *tern_imap_utf7_encode         (const char          *utf8,
                                     GError             **error);
char *tern_imap_utf7_decode         (const char          *mutf7,
                                     gssize               len,
                                     GError             **error);
char *tern_imap_mailbox_name_decode (const TernImapValue *value,
                                     gboolean             utf8_accepted,
                                     GError             **error);

G_END_DECLS
