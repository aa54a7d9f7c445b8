/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-account-manager.h"
#include "tern-composer.h"

G_BEGIN_DECLS

typedef struct
{
  TernAccount *account;
  TernIdentity *identity;
} IdentityChoice;

struct _TernComposer
{
  AdwWindow parent_instance;

  /* Template children */
  AdwToastOverlay *toast_overlay;
  AdwWindowTitle  *window_title;
  GtkWidget       *send_button;
  GtkRevealer     *no_account_revealer;
  GtkRevealer     *link_note_revealer;
  GtkLabel        *link_note_label;
  GtkWidget       *from_label;
  GtkDropDown     *from_dropdown;
  GtkWidget       *to_entry;
  GtkWidget       *cc_button;
  GtkWidget       *bcc_button;
  GtkWidget       *cc_entry;
  GtkWidget       *bcc_entry;
  GtkWidget       *subject_entry;
  GtkTextView     *body_view;
  GtkRevealer     *attachments_revealer;
  GtkListBox      *attachments_list;

  GWeakRef         main_window;
  TernAccountManager *accounts;
  GArray          *choices;        /* IdentityChoice */
  GPtrArray       *attachments;    /* paths */
  char            *signature;      /* the one under the text, with its "-- " line */

  char            *in_reply_to;
  char            *references;
  GBytes          *forwarded;

  GCancellable    *cancellable;
  guint            draft_timeout;
  gboolean         changed;
  gboolean         saving;
  gboolean         sending;
  gboolean         closing;
  gint64           draft_id;
};

void tern_composer_mark_unchanged (TernComposer *self);

G_END_DECLS
