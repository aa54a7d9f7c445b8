/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * TernMessageFlags:
 * @TERN_MESSAGE_FLAG_NONE: no flag
 * @TERN_MESSAGE_FLAG_SEEN: the user has read the message
 * @TERN_MESSAGE_FLAG_ANSWERED: the user has replied to it
 * @TERN_MESSAGE_FLAG_FLAGGED: the user marked it as important
 * @TERN_MESSAGE_FLAG_DELETED: marked for deletion, not yet expunged
 * @TERN_MESSAGE_FLAG_DRAFT: a message the user is still writing
 * @TERN_MESSAGE_FLAG_FORWARDED: the user has forwarded it
 * @TERN_MESSAGE_FLAG_JUNK: the user or a filter called it junk
 * @TERN_MESSAGE_FLAG_NOTJUNK: the user said it is not junk
 *
 * The state of one message in the store, whatever the source: IMAP system
 * flags and keywords, mbox Status headers or Maildir file names all map onto
 * these bits.
 */
typedef enum
{
  TERN_MESSAGE_FLAG_NONE      = 0,
  TERN_MESSAGE_FLAG_SEEN      = 1 << 0,
  TERN_MESSAGE_FLAG_ANSWERED  = 1 << 1,
  TERN_MESSAGE_FLAG_FLAGGED   = 1 << 2,
  TERN_MESSAGE_FLAG_DELETED   = 1 << 3,
  TERN_MESSAGE_FLAG_DRAFT     = 1 << 4,
  TERN_MESSAGE_FLAG_FORWARDED = 1 << 5,
  TERN_MESSAGE_FLAG_JUNK      = 1 << 6,
  TERN_MESSAGE_FLAG_NOTJUNK   = 1 << 7,
} TernMessageFlags;

G_END_DECLS
