/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * The undo toast's promises, with the real AdwToastOverlay on a display:
 * Undo and the end of the toast exclude each other, and the data stays
 * until the toast is gone, whatever order libadwaita sends its signals in
 * (1.2 dismisses a toast from an idle callback after its button is
 * pressed, so work started by Undo can end before the toast does).
 */

#include "config.h"

#include <adwaita.h>

#include "tern-undo-toast.h"

typedef struct
{
  guint undone;
  guint done;
  guint freed;
  guint dismissed;
  /* What was freed when "dismissed" came */
  guint freed_at_dismissal;
} Counts;

static void
undo_cb (gpointer data)
{
  Counts *counts = data;

  counts->undone++;
}

static void
done_cb (gpointer data)
{
  Counts *counts = data;

  counts->done++;
}

static void
free_cb (gpointer data)
{
  Counts *counts = data;

  counts->freed++;
}

static void
dismissed_cb (AdwToast *toast,
              Counts   *counts)
{
  counts->dismissed++;
  counts->freed_at_dismissal = counts->freed;
}

static AdwToastOverlay *
new_overlay (GtkWindow **window)
{
  GtkWidget *overlay = adw_toast_overlay_new ();

  *window = GTK_WINDOW (gtk_window_new ());
  adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (overlay), gtk_label_new ("Mail"));
  gtk_window_set_child (*window, overlay);
  gtk_window_present (*window);
  return ADW_TOAST_OVERLAY (overlay);
}

static GtkWidget *
find_button (GtkWidget  *widget,
             const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
give_up_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until *@value reaches @wanted, or ten seconds. */
static void
wait_for (guint *value,
          guint  wanted)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (10, give_up_cb, &timed_out);

  while (*value < wanted && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
}

static void
test_undo_keeps_data_until_the_toast_goes (void)
{
  Counts counts = { 0 };
  GtkWindow *window = NULL;
  AdwToastOverlay *overlay = new_overlay (&window);
  AdwToast *toast = tern_undo_toast_new ("Sending…", undo_cb, done_cb, &counts, free_cb);
  GtkWidget *button;

  g_signal_connect (toast, "dismissed", G_CALLBACK (dismissed_cb), &counts);
  adw_toast_set_timeout (toast, 60);
  adw_toast_overlay_add_toast (overlay, toast);
  button = find_button (GTK_WIDGET (overlay), "Undo");
  g_assert_nonnull (button);

  /* The button as a person presses it; the toast goes by itself. */
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (counts.undone, ==, 1);
  /* A second press before the toast has gone undoes nothing more. */
  if (counts.dismissed == 0)
    g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (counts.undone, ==, 1);
  wait_for (&counts.freed, 1);

  g_assert_cmpuint (counts.dismissed, ==, 1);
  g_assert_cmpuint (counts.freed_at_dismissal, ==, 0);
  g_assert_cmpuint (counts.freed, ==, 1);
  g_assert_cmpuint (counts.undone, ==, 1);
  g_assert_cmpuint (counts.done, ==, 0);
  gtk_window_destroy (window);
}

static void
test_going_without_undo_is_done_once (void)
{
  Counts counts = { 0 };
  GtkWindow *window = NULL;
  AdwToastOverlay *overlay = new_overlay (&window);
  AdwToast *toast = tern_undo_toast_new ("Deleted", undo_cb, done_cb, &counts, free_cb);

  g_object_ref (toast);
  g_signal_connect (toast, "dismissed", G_CALLBACK (dismissed_cb), &counts);
  adw_toast_set_timeout (toast, 1);
  adw_toast_overlay_add_toast (overlay, toast);
  wait_for (&counts.dismissed, 1);
  g_assert_cmpuint (counts.done, ==, 1);
  g_assert_cmpuint (counts.freed_at_dismissal, ==, 0);

  /* A press that reaches the button while the toast fades out, after
   * "dismissed", comes too late and the data is still there for it. */
  g_signal_emit_by_name (toast, "button-clicked");
  g_assert_cmpuint (counts.undone, ==, 0);
  g_assert_cmpuint (counts.freed, ==, 0);

  g_object_unref (toast);
  wait_for (&counts.freed, 1);
  g_assert_cmpuint (counts.freed, ==, 1);
  g_assert_cmpuint (counts.done, ==, 1);
  g_assert_cmpuint (counts.undone, ==, 0);
  gtk_window_destroy (window);
}

static void
test_closing_the_window_is_done_once (void)
{
  Counts counts = { 0 };
  GtkWindow *window = NULL;
  AdwToastOverlay *overlay = new_overlay (&window);
  AdwToast *waiting = tern_undo_toast_new ("Archived", undo_cb, done_cb, &counts, free_cb);

  /* Two toasts at once: one shows, one waits in the queue. */
  adw_toast_set_timeout (waiting, 60);
  adw_toast_overlay_add_toast (overlay, waiting);
  adw_toast_overlay_add_toast (overlay, tern_undo_toast_new ("Moved", undo_cb, done_cb, &counts,
                                                            free_cb));
  gtk_window_destroy (window);
  wait_for (&counts.freed, 2);
  g_assert_cmpuint (counts.done, ==, 2);
  g_assert_cmpuint (counts.undone, ==, 0);
  g_assert_cmpuint (counts.freed, ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  if (!gtk_init_check ())
    {
      g_test_skip ("No display");
      return 77;
    }
  adw_init ();

  g_test_add_func ("/ui/undo-toast/undo-keeps-data-until-the-toast-goes",
                   test_undo_keeps_data_until_the_toast_goes);
  g_test_add_func ("/ui/undo-toast/going-without-undo-is-done-once",
                   test_going_without_undo_is_done_once);
  g_test_add_func ("/ui/undo-toast/closing-the-window-is-done-once",
                   test_closing_the_window_is_done_once);
  return g_test_run ();
}
