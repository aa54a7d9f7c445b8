/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-undo-toast.h"

/*
 * A toast with an Undo button, and data that lives as long as the toast.
 *
 * The order of a toast's signals is not something to build on: with
 * libadwaita 1.2 a click on the button emits "button-clicked" at once but
 * dismisses the toast from an idle callback, so work that Undo starts may
 * well be over (on a busy machine it often is) before "dismissed" comes; a
 * click that reaches the button while the toast fades out (the
 * accessibility layer can still press it) comes after "dismissed".  Data
 * freed by either handler was therefore read by the other after it was
 * gone.  Here the data belongs to the toast and goes only when the toast
 * does, and one flag makes Undo and the dismissal exclude each other.
 */

#define UNDO_KEY "tern-undo-toast"

typedef struct
{
  TernUndoToastFunc undo;
  TernUndoToastFunc done;
  gpointer data;
  GDestroyNotify notify;
  gboolean decided;
} UndoToast;

static void
undo_toast_free (UndoToast *undo)
{
  if (undo->notify != NULL)
    undo->notify (undo->data);
  g_free (undo);
}

static void
button_clicked_cb (AdwToast *toast)
{
  UndoToast *undo = g_object_get_data (G_OBJECT (toast), UNDO_KEY);

  if (undo == NULL || undo->decided)
    return;
  undo->decided = TRUE;
  undo->undo (undo->data);
}

static void
dismissed_cb (AdwToast *toast)
{
  UndoToast *undo = g_object_get_data (G_OBJECT (toast), UNDO_KEY);

  if (undo == NULL || undo->decided)
    return;
  undo->decided = TRUE;
  if (undo->done != NULL)
    undo->done (undo->data);
}

/**
 * tern_undo_toast_new:
 * @title: what was done, in a few words
 * @undo: called, once, when the user presses Undo before the toast goes
 * @done: (nullable): called, once, when the toast goes without Undo
 * @data: what @undo and @done are given
 * @notify: (nullable): frees @data when the toast itself goes, after any
 *   call of @undo or @done; never sooner
 *
 * Makes a high-priority toast with an Undo button.  Exactly one of @undo
 * and @done is called, whatever order the toast's signals come in; work
 * that @undo starts and that outlives the toast takes its own reference on
 * @data.
 *
 * Returns: (transfer full): the toast, to add to an overlay
 */
AdwToast *
tern_undo_toast_new (const char        *title,
                     TernUndoToastFunc  undo,
                     TernUndoToastFunc  done,
                     gpointer           data,
                     GDestroyNotify     notify)
{
  AdwToast *toast;
  UndoToast *state;

  g_return_val_if_fail (title != NULL, NULL);
  g_return_val_if_fail (undo != NULL, NULL);

  toast = adw_toast_new (title);
  state = g_new0 (UndoToast, 1);
  state->undo = undo;
  state->done = done;
  state->data = data;
  state->notify = notify;
  g_object_set_data_full (G_OBJECT (toast), UNDO_KEY, state, (GDestroyNotify) undo_toast_free);
  /* No mnemonic: GTK 4.8 would name the button "_Undo Undo" to screen
   * readers, and a toast is reached with the pointer or Tab anyway. */
  adw_toast_set_button_label (toast, _("Undo"));
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect (toast, "button-clicked", G_CALLBACK (button_clicked_cb), NULL);
  g_signal_connect (toast, "dismissed", G_CALLBACK (dismissed_cb), NULL);
  return toast;
}
