/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tern-test-servers.h"

G_BEGIN_DECLS

/* A small blocking line client for the integration tests: just enough
 * SMTP, IMAP and POP3 to check the test servers from the outside, with TLS
 * validated against the set's own CA.  It is test code, not Tern's engine. */

typedef struct _TernTestWire TernTestWire;

typedef enum
{
  TERN_TEST_WIRE_FLAGS_NONE = 0,
  /* TLS from the first byte (IMAPS, POP3S, SMTPS). */
  TERN_TEST_WIRE_FLAGS_TLS = 1 << 0,
  /* Connect from the set's remote client address, so the server treats the
   * connection as coming from another machine. */
  TERN_TEST_WIRE_FLAGS_AS_REMOTE = 1 << 1,
} TernTestWireFlags;

TernTestWire *tern_test_wire_connect        (TernTestServers    *servers,
                                             guint16             port,
                                             TernTestWireFlags   flags,
                                             GError            **error);
gboolean      tern_test_wire_start_tls      (TernTestWire       *self,
                                             GError            **error);
gboolean      tern_test_wire_start_tls_full (TernTestWire       *self,
                                             GTlsDatabase       *database,
                                             const char         *identity,
                                             GError            **error);
gboolean      tern_test_wire_is_tls         (TernTestWire       *self);

char         *tern_test_wire_read_line      (TernTestWire       *self,
                                             GError            **error);
GBytes       *tern_test_wire_read_bytes     (TernTestWire       *self,
                                             gsize               count,
                                             GError            **error);
gboolean      tern_test_wire_write          (TernTestWire       *self,
                                             const char         *data,
                                             gssize              length,
                                             GError            **error);
gboolean      tern_test_wire_send_line      (TernTestWire       *self,
                                             const char         *line,
                                             GError            **error);
void          tern_test_wire_free           (TernTestWire       *self);

/* SMTP: one reply, all its lines joined by "\n"; FALSE when the code is not
 * @expected_code (the reply is still returned). */
gboolean      tern_test_wire_smtp_reply     (TernTestWire       *self,
                                             guint               expected_code,
                                             char              **out_reply,
                                             GError            **error);
/* IMAP: sends "TAG COMMAND", reads up to the tagged reply; @out_untagged
 * gets every untagged line with literals inlined.  Returns the tagged line
 * without the tag ("OK ...", "NO ...", "BAD ..."). */
char         *tern_test_wire_imap_command   (TernTestWire       *self,
                                             const char         *tag,
                                             const char         *command,
                                             GString            *out_untagged,
                                             GError            **error);
/* POP3: a multi-line body after "+OK", dot-unstuffed, lines joined by
 * "\r\n". */
char         *tern_test_wire_pop3_multiline (TernTestWire       *self,
                                             GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernTestWire, tern_test_wire_free)

G_END_DECLS
