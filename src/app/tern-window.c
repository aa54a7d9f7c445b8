/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-window.h"

/*
 * The main window: the accounts and folders sidebar, the message list and
 * the reader, side by side on a wide screen and one at a time on a narrow
 * one.
 */

struct _TernWindow
{
  AdwApplicationWindow parent_instance;

  /* Template children */
  AdwToastOverlay *toast_overlay;
  AdwLeaflet      *leaflet;
  GtkWidget       *sidebar_pane;
  GtkWidget       *list_pane;
  GtkWidget       *reader_pane;
};

G_DEFINE_FINAL_TYPE (TernWindow, tern_window, ADW_TYPE_APPLICATION_WINDOW)

/**
 * tern_window_new:
 * @application: the application
 *
 * Returns: (transfer none): a new main window, owned by @application.
 */
static void restore_state (TernWindow *self);

TernWindow *
tern_window_new (TernApplication *application)
{
  TernWindow *self = g_object_new (TERN_TYPE_WINDOW,
                                   "application", application,
                                   NULL);

  /* The window knows its application, and so its settings, only once
   * constructed. */
  restore_state (self);

  return self;
}

/**
 * tern_window_show_toast:
 * @self: a #TernWindow
 * @message: what to tell the user, in a full sentence
 *
 * Shows a short message at the bottom of the window.
 */
void
tern_window_show_toast (TernWindow *self,
                        const char *message)
{
  g_return_if_fail (TERN_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static GSettings *
get_settings (TernWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));

  if (application == NULL)
    return NULL;

  return tern_application_get_settings (TERN_APPLICATION (application));
}

static void
tern_window_navigate_back_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  TernWindow *self = TERN_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static gboolean
tern_window_close_request (GtkWindow *window)
{
  TernWindow *self = TERN_WINDOW (window);
  GSettings *settings = get_settings (self);

  if (settings != NULL)
    {
      int width = 0;
      int height = 0;

      gtk_window_get_default_size (window, &width, &height);

      g_settings_delay (settings);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
      /* A maximized window keeps the size it had before, for the next
       * time it is unmaximized. */
      if (!gtk_window_is_maximized (window) && width > 0 && height > 0)
        {
          g_settings_set_int (settings, "window-width", width);
          g_settings_set_int (settings, "window-height", height);
        }
      g_settings_apply (settings);
    }

  return GTK_WINDOW_CLASS (tern_window_parent_class)->close_request (window);
}

static void
restore_state (TernWindow *self)
{
  GSettings *settings = get_settings (self);

  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
}

static void
tern_window_class_init (TernWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  window_class->close_request = tern_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_BASE_PATH "/tern-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TernWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, sidebar_pane);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, list_pane);
  gtk_widget_class_bind_template_child (widget_class, TernWindow, reader_pane);

  gtk_widget_class_install_action (widget_class, "win.navigate-back", NULL,
                                   tern_window_navigate_back_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK,
                                       "win.navigate-back", NULL);
}

static void
tern_window_init (TernWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_window_set_title (GTK_WINDOW (self), _("Tern"));

  /* A development build is striped, so it is never mistaken for the
   * Tern that holds the user's mail. */
  if (g_str_equal (PROFILE, "development"))
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}
