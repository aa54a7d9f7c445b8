/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-account.h"
#include "tern-mime-composer.h"
#include "tern-store.h"
#include "tern-window.h"

G_BEGIN_DECLS

/* What a new composer answers, for the reader's actions. */
typedef enum {
  TERN_COMPOSE_REPLY,
  TERN_COMPOSE_REPLY_ALL,
  TERN_COMPOSE_FORWARD,
} TernComposeMode;

/* How long a sent message waits in the outbox, undoable, by default. */
#define TERN_COMPOSER_DEFAULT_SEND_DELAY 5

#define TERN_TYPE_COMPOSER (tern_composer_get_type ())

G_DECLARE_FINAL_TYPE (TernComposer, tern_composer, TERN, COMPOSER, AdwWindow)

TernComposer *tern_composer_new              (TernWindow        *main_window);
void          tern_composer_add_recipients   (TernComposer      *self,
                                              TernRecipientKind  kind,
                                              const char        *list);
void          tern_composer_set_subject      (TernComposer      *self,
                                              const char        *subject);
void          tern_composer_set_body         (TernComposer      *self,
                                              const char        *text);
gboolean      tern_composer_select_identity  (TernComposer      *self,
                                              const char        *account_id,
                                              const char        *address);
gboolean      tern_composer_load_mailto      (TernComposer      *self,
                                              const char        *uri,
                                              GError           **error);

void          tern_composer_open_for_message (TernWindow        *main_window,
                                              TernMessage       *message,
                                              const char        *received_by,
                                              TernComposeMode    mode);
void          tern_composer_open_draft       (TernWindow        *main_window,
                                              TernMessage       *message,
                                              const char        *account_id);
void          tern_composer_reopen_unsent    (TernWindow        *main_window,
                                              gint64             message_id,
                                              const char        *account_id,
                                              const char        *bcc);
void          tern_composer_reopen_failed    (TernWindow        *main_window,
                                              gint64             message_id,
                                              const char        *account_id,
                                              const char * const *envelope);

/* tern-composer-send.c: the outbox side, shared by every composer. */
void          tern_composer_queued           (TernWindow        *main_window,
                                              const char        *account_id,
                                              gint64             item_id,
                                              gint64             message_id,
                                              const char        *bcc,
                                              guint              delay);
void          tern_composer_resume_outbox    (TernWindow        *main_window);
void          tern_composer_update_sender    (TernWindow        *main_window,
                                              TernAccount       *account);

G_END_DECLS
