/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * TernMimeComposer: an outgoing message, built with GMime.
 *
 * Plain text goes out as format=flowed (RFC 3676); HTML goes out with a
 * text alternative, and with its inline images (by Content-ID) beside it
 * in multipart/related; attachments are read from disk while the message
 * is written, so their size does not matter.  Headers that are not ASCII
 * are encoded per RFC 2047.  The Message-ID is made on the domain of the
 * From address.  Bcc recipients are in the envelope only: no Bcc header is
 * written, but in a draft (tern_mime_composer_set_draft()), the user's own
 * copy.  Lines end in CRLF, as SMTP sends them.
 */

#define TERN_MIME_COMPOSER_ERROR (tern_mime_composer_error_quark ())

typedef enum {
  TERN_MIME_COMPOSER_ERROR_NO_SENDER,
  TERN_MIME_COMPOSER_ERROR_NO_RECIPIENT,
  TERN_MIME_COMPOSER_ERROR_INVALID_ADDRESS,
  TERN_MIME_COMPOSER_ERROR_FILE,
} TernMimeComposerError;

typedef enum {
  TERN_RECIPIENT_TO,
  TERN_RECIPIENT_CC,
  TERN_RECIPIENT_BCC,
} TernRecipientKind;

#define TERN_TYPE_MIME_COMPOSER (tern_mime_composer_get_type ())

G_DECLARE_FINAL_TYPE (TernMimeComposer, tern_mime_composer, TERN, MIME_COMPOSER, GObject)

GQuark            tern_mime_composer_error_quark       (void);

TernMimeComposer *tern_mime_composer_new               (void);
gboolean          tern_mime_composer_set_from          (TernMimeComposer   *self,
                                                        const char         *name,
                                                        const char         *address,
                                                        GError            **error);
gboolean          tern_mime_composer_add_recipient     (TernMimeComposer   *self,
                                                        TernRecipientKind   kind,
                                                        const char         *name,
                                                        const char         *address,
                                                        GError            **error);
gboolean          tern_mime_composer_add_recipients    (TernMimeComposer   *self,
                                                        TernRecipientKind   kind,
                                                        const char         *list,
                                                        GError            **error);
void              tern_mime_composer_set_reply_to      (TernMimeComposer   *self,
                                                        const char         *address);
void              tern_mime_composer_set_subject       (TernMimeComposer   *self,
                                                        const char         *subject);
void              tern_mime_composer_set_date          (TernMimeComposer   *self,
                                                        GDateTime          *date);
void              tern_mime_composer_set_text          (TernMimeComposer   *self,
                                                        const char         *text);
void              tern_mime_composer_set_html          (TernMimeComposer   *self,
                                                        const char         *html);
gboolean          tern_mime_composer_add_attachment    (TernMimeComposer   *self,
                                                        const char         *path,
                                                        const char         *mime_type,
                                                        GError            **error);
char             *tern_mime_composer_add_inline_image  (TernMimeComposer   *self,
                                                        const char         *path,
                                                        const char         *mime_type,
                                                        GError            **error);
void              tern_mime_composer_set_draft         (TernMimeComposer   *self,
                                                        gboolean            draft);
void              tern_mime_composer_add_forwarded     (TernMimeComposer   *self,
                                                        GBytes             *raw);
void              tern_mime_composer_set_reply         (TernMimeComposer   *self,
                                                        const char         *parent_message_id,
                                                        const char         *parent_references);

const char       *tern_mime_composer_get_message_id    (TernMimeComposer   *self);
const char       *tern_mime_composer_get_sender        (TernMimeComposer   *self);
GStrv             tern_mime_composer_get_recipients    (TernMimeComposer   *self);

gboolean          tern_mime_composer_write_to_file     (TernMimeComposer   *self,
                                                        const char         *path,
                                                        GError            **error);
GBytes           *tern_mime_composer_to_bytes          (TernMimeComposer   *self,
                                                        GError            **error);

/* Helpers for replies and forwards, and the flowed encoding itself. */
char             *tern_mime_encode_flowed              (const char         *text);
char             *tern_mime_quote_text                 (const char         *text,
                                                        const char         *attribution);
char             *tern_mime_reply_subject              (const char         *subject);
char             *tern_mime_forward_subject            (const char         *subject);

G_END_DECLS
