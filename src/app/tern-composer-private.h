/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-account-manager.h"
#include "tern-composer.h"
#include "tern-mime-rich.h"

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
  GtkWidget       *format_bar;
  GtkToggleButton *bold_button;
  GtkToggleButton *italic_button;
  GtkToggleButton *plain_button;

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
  /* Ask the servers for delivery status notifications: a report back
   * when the message is delivered, delayed or cannot be delivered. */
  gboolean         delivery_receipt;
  gint64           draft_id;
  char            *draft_account;  /* the account of the last draft saved */
  char            *files_dir;      /* the files of a reopened draft, removed with it */
  /* The text as the composer itself last left it: while the text still
   * reads so, the user has not written in it, and a change of identity
   * brings that identity's format. */
  char            *untouched_body;

  /* Rich text (tern-composer-format.c) */
  gboolean         rich;
  gboolean         format_chosen;  /* the user turned plain text on or off */
  guint            typing_style;   /* TernRichStyle of what is typed next */
  guint            formatting;     /* > 0 while the composer changes the text itself */
};

void          tern_composer_mark_unchanged     (TernComposer   *self);

/* tern-composer-format.c */
void          tern_composer_format_class_init (GtkWidgetClass *widget_class);
void          tern_composer_format_init       (TernComposer   *self);
TernRichText *tern_composer_get_rich_text     (TernComposer   *self);
void          tern_composer_set_rich_text     (TernComposer   *self,
                                               TernRichText   *text);
void          tern_composer_set_rich          (TernComposer   *self,
                                               gboolean        rich);
void          tern_composer_mark_quotes       (TernComposer   *self);

G_END_DECLS
