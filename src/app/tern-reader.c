/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-conversation.h"
#include "tern-message-flags.h"
#include "tern-message-view.h"
#include "tern-reader.h"

/*
 * TernReader: a conversation, one message after another, oldest first.
 * The newest message and the unread ones are open; the others show their
 * header and a line of text and open with a click.  An open body is as tall
 * as the reader and scrolls within it, since a body without scripts cannot
 * tell its height.
 */

struct _TernReader
{
  GtkWidget parent_instance;

  GtkWidget *scrolled;
  GtkWidget *box;
  GtkWidget *subject;
  GtkWidget *messages_box;

  GCancellable *cancellable;
  GSettings *settings;
  TernStore *store;
  GPtrArray *messages;
};

G_DEFINE_FINAL_TYPE (TernReader, tern_reader, GTK_TYPE_WIDGET)

enum {
  SIGNAL_SHOWN,
  SIGNAL_TOAST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_heights (TernReader *self)
{
  GtkAdjustment *adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scrolled));
  /* An open body takes what its header leaves of the reader, and grows
   * into the rest when it is the only one. */
  int height = (int) gtk_adjustment_get_page_size (adjustment) - 320;

  for (GtkWidget *child = gtk_widget_get_first_child (self->messages_box); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    tern_message_view_set_body_height (TERN_MESSAGE_VIEW (child), height);
}

static void
page_size_cb (GtkAdjustment *adjustment,
              GParamSpec    *pspec,
              TernReader    *self)
{
  update_heights (self);
}

static void
view_toast_cb (TernMessageView *view,
               const char      *text,
               TernReader      *self)
{
  g_signal_emit (self, signals[SIGNAL_TOAST], 0, text);
}

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  TernReader *self = user_data;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *last = NULL;

  messages = tern_conversation_load_finish (result, &error);
  if (messages == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[SIGNAL_TOAST], 0, _("The message could not be read"));
      return;
    }

  g_clear_pointer (&self->messages, g_ptr_array_unref);
  self->messages = g_ptr_array_ref (messages);

  {
    const char *subject = tern_message_get_subject (messages->pdata[messages->len - 1]);

    gtk_label_set_label (GTK_LABEL (self->subject),
                         subject != NULL && *subject != '\0' ? subject : _("(No subject)"));
  }

  for (guint i = 0; i < messages->len; i++)
    {
      TernMessage *message = messages->pdata[i];
      GtkWidget *view = tern_message_view_new (self->store, message, self->settings);
      gboolean unread = (tern_message_get_flags (message) & TERN_MESSAGE_FLAG_SEEN) == 0;

      g_signal_connect (view, "toast", G_CALLBACK (view_toast_cb), self);
      gtk_box_append (GTK_BOX (self->messages_box), view);
      if (unread || i == messages->len - 1)
        tern_message_view_set_expanded (TERN_MESSAGE_VIEW (view), TRUE);
      last = view;
    }

  update_heights (self);
  gtk_widget_set_visible (self->box, TRUE);

  /* A long conversation opens at its newest message. */
  if (messages->len > 1 && last != NULL)
    gtk_widget_grab_focus (last);

  g_signal_emit (self, signals[SIGNAL_SHOWN], 0);
}

/**
 * tern_reader_clear:
 *
 * Shows nothing.
 */
void
tern_reader_clear (TernReader *self)
{
  GtkWidget *child;

  g_return_if_fail (TERN_IS_READER (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  while ((child = gtk_widget_get_first_child (self->messages_box)) != NULL)
    gtk_box_remove (GTK_BOX (self->messages_box), child);
  g_clear_pointer (&self->messages, g_ptr_array_unref);
  gtk_label_set_label (GTK_LABEL (self->subject), "");
}

/**
 * tern_reader_show_row:
 *
 * Shows the message of @row, or its whole conversation when @threaded
 * (the list shows conversations).
 */
void
tern_reader_show_row (TernReader     *self,
                      TernStore      *store,
                      TernMessageRow *row,
                      gboolean        threaded,
                      GSettings      *settings)
{
  g_return_if_fail (TERN_IS_READER (self));

  tern_reader_clear (self);
  g_set_object (&self->store, store);
  g_set_object (&self->settings, settings);
  self->cancellable = g_cancellable_new ();
  tern_conversation_load_async (store, row,
                                threaded ? TERN_CONVERSATION_SCOPE_WHOLE
                                : TERN_CONVERSATION_SCOPE_MESSAGE,
                                self->cancellable, loaded_cb, self);
}

/**
 * tern_reader_get_messages:
 *
 * Returns: (transfer none) (nullable) (element-type TernMessage): the
 *   messages shown.
 */
GPtrArray *
tern_reader_get_messages (TernReader *self)
{
  g_return_val_if_fail (TERN_IS_READER (self), NULL);

  return self->messages;
}

static void
tern_reader_dispose (GObject *object)
{
  TernReader *self = TERN_READER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->scrolled, gtk_widget_unparent);
  g_clear_pointer (&self->messages, g_ptr_array_unref);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tern_reader_parent_class)->dispose (object);
}

static void
tern_reader_class_init (TernReaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tern_reader_dispose;

  signals[SIGNAL_SHOWN] =
    g_signal_new ("shown", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_TOAST] =
    g_signal_new ("toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "tern-reader");
}

static void
tern_reader_init (TernReader *self)
{
  GtkWidget *clamp = adw_clamp_new ();

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_add_css_class (self->box, "tern-conversation");

  self->subject = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->subject), 0);
  gtk_label_set_wrap (GTK_LABEL (self->subject), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->subject), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (self->subject), TRUE);
  gtk_widget_add_css_class (self->subject, "title-2");
  gtk_widget_add_css_class (self->subject, "tern-subject-title");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->subject),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Subject"), -1);

  self->messages_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);

  gtk_box_append (GTK_BOX (self->box), self->subject);
  gtk_box_append (GTK_BOX (self->box), self->messages_box);

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 1000);
  adw_clamp_set_tightening_threshold (ADW_CLAMP (clamp), 800);
  adw_clamp_set_child (ADW_CLAMP (clamp), self->box);

  self->scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scrolled), clamp);
  gtk_widget_set_vexpand (self->scrolled, TRUE);
  gtk_widget_set_parent (self->scrolled, GTK_WIDGET (self));

  g_signal_connect (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scrolled)),
                    "notify::page-size", G_CALLBACK (page_size_cb), self);
}
