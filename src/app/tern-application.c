/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib/gi18n.h>

#include "tern-background.h"
#include "tern-application.h"
#include "tern-composer.h"
#include "tern-resources.h"
#include "tern-window.h"

struct _TernApplication
{
  AdwApplication parent_instance;

  TernPaths *paths;
  GSettings *settings;
  TernMailService *mail_service;
};

G_DEFINE_FINAL_TYPE (TernApplication, tern_application, ADW_TYPE_APPLICATION)

/**
 * tern_application_new:
 *
 * Returns: (transfer full): the application, with the ID of this build's
 *   profile.
 */
TernApplication *
tern_application_new (void)
{
  return g_object_new (TERN_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       /* The same resources serve both profiles. */
                       "resource-base-path", RESOURCE_BASE_PATH,
                       NULL);
}

/**
 * tern_application_get_paths:
 *
 * Returns: (transfer none): where this instance keeps its configuration,
 *   mail and cache; set once the command line has been read.
 */
TernPaths *
tern_application_get_paths (TernApplication *self)
{
  g_return_val_if_fail (TERN_IS_APPLICATION (self), NULL);

  return self->paths;
}

/**
 * tern_application_get_settings:
 *
 * Returns: (transfer none) (nullable): the application's settings, or %NULL
 *   when the schema is not installed.
 */
GSettings *
tern_application_get_settings (TernApplication *self)
{
  g_return_val_if_fail (TERN_IS_APPLICATION (self), NULL);

  return self->settings;
}

/**
 * tern_application_ensure_mail_service:
 * @store: the open store
 *
 * Starts getting the accounts' mail into @store, once for the application
 * however many windows it opens.
 *
 * Returns: (transfer none): the service
 */
TernMailService *
tern_application_ensure_mail_service (TernApplication *self,
                                      TernStore       *store)
{
  g_return_val_if_fail (TERN_IS_APPLICATION (self), NULL);

  if (self->mail_service == NULL)
    {
      self->mail_service = tern_mail_service_new (G_APPLICATION (self), store,
                                                  tern_paths_get_config_dir (self->paths));
      tern_mail_service_start (self->mail_service);
    }
  return self->mail_service;
}

static GSettings *
create_settings (TernApplication *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);

  /* Without its schema, GSettings would abort: Tern runs on with default
   * window sizes instead, and says why. */
  if (schema == NULL)
    {
      g_warning ("The settings schema %s is not installed; settings will not be kept",
                 APPLICATION_ID);
      return NULL;
    }

  /* A profile under --data-dir keeps its settings there too, so that it is
   * whole in one folder and never shares settings with another profile. */
  if (tern_paths_get_root (self->paths) != NULL)
    {
      g_autoptr(GSettingsBackend) backend = NULL;
      g_autofree char *filename = NULL;

      filename = g_build_filename (tern_paths_get_config_dir (self->paths),
                                   "settings.ini", NULL);
      backend = g_keyfile_settings_backend_new (filename, "/", NULL);

      return g_settings_new_full (schema, backend, NULL);
    }

  return g_settings_new_full (schema, NULL, NULL);
}

static int
tern_application_handle_local_options (GApplication *application,
                                       GVariantDict *options)
{
  TernApplication *self = TERN_APPLICATION (application);
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("tern %s\n", tern_engine_get_version ());
      return 0;
    }

  if (g_variant_dict_lookup (options, "data-dir", "^ay", &data_dir))
    {
      if (*data_dir == '\0')
        {
          g_printerr (_("tern: --data-dir needs a folder\n"));
          return 2;
        }

      self->paths = tern_paths_new_for_root (data_dir);

      /* Another profile is another instance: it must not hand its command
       * line to a Tern that runs on the default folders. */
      g_application_set_flags (application,
                               g_application_get_flags (application) |
                               G_APPLICATION_NON_UNIQUE);
    }
  else
    {
      self->paths = tern_paths_new_default ();
    }

  if (!tern_paths_ensure (self->paths, &error))
    {
      g_printerr ("tern: %s\n", error->message);
      return 1;
    }

  return G_APPLICATION_CLASS (tern_application_parent_class)->handle_local_options (application,
                                                                                    options);
}

static TernWindow *ensure_window (TernApplication *self);

static void
tern_application_quit_action (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  TernApplication *self = user_data;
  g_autoptr(GList) windows = NULL;

  /* Closing each window, as its close button would, lets it save its
   * state, and lets it refuse; the application ends with its last window. */
  windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static void
tern_application_about_action (GSimpleAction *action,
                               GVariant      *parameter,
                               gpointer       user_data)
{
  TernApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  const char *developers[] = { "The Tern developers", NULL };

  adw_show_about_window (window,
                         "application-name", _("Tern"),
                         "application-icon", APPLICATION_ID,
                         "developer-name", _("The Tern developers"),
                         "version", PACKAGE_VERSION,
                         "website", "https://github.com/ternmail/tern",
                         "issue-url", "https://github.com/ternmail/tern/issues",
                         "comments", _("Read and send mail from all your accounts, "
                                       "with IMAP and POP3 in one app."),
                         "developers", developers,
                         "copyright", "© 2026 The Tern developers",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
tern_application_help_action (GSimpleAction *action,
                              GVariant      *parameter,
                              gpointer       user_data)
{
  TernApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  gtk_show_uri (window, "help:tern", GDK_CURRENT_TIME);
}

/* A new-mail notification's action: the window, on the unified Inbox. */
static void
tern_application_show_inbox_action (GSimpleAction *action,
                                    GVariant      *parameter,
                                    gpointer       user_data)
{
  TernApplication *self = user_data;
  TernWindow *window = ensure_window (self);

  tern_window_show_inbox (window);
  gtk_window_present (GTK_WINDOW (window));
}

static const GActionEntry app_actions[] = {
  { "quit", tern_application_quit_action },
  { "about", tern_application_about_action },
  { "help", tern_application_help_action },
  { "show-inbox", tern_application_show_inbox_action },
};

/* The priority of syncing and storing below the window's, as for nice(1). */
#define BACKGROUND_NICE 10

static void
tern_application_startup (GApplication *application)
{
  TernApplication *self = TERN_APPLICATION (application);
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *help_accels[] = { "F1", NULL };
  const char *close_accels[] = { "<Control>w", NULL };

  G_APPLICATION_CLASS (tern_application_parent_class)->startup (application);

  tern_engine_init ();
  /* Syncing gives way to the window: a window that must lay out its rows
   * while a first sync fills both processors would stop answering for a
   * third of a second at a time. */
  tern_background_set_nice (BACKGROUND_NICE);

  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.help", help_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);

  self->settings = create_settings (self);
}

static TernWindow *
ensure_window (TernApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (tern_window_new (self));

  return TERN_WINDOW (window);
}

static void
tern_application_activate (GApplication *application)
{
  TernApplication *self = TERN_APPLICATION (application);

  gtk_window_present (GTK_WINDOW (ensure_window (self)));
}

static void
tern_application_open (GApplication  *application,
                       GFile        **files,
                       int            n_files,
                       const char    *hint)
{
  TernApplication *self = TERN_APPLICATION (application);
  TernWindow *window = ensure_window (self);

  gtk_window_present (GTK_WINDOW (window));

  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *uri = g_file_get_uri (files[i]);

      /* Tern is registered for mailto: links: each opens a composer. */
      if (g_file_has_uri_scheme (files[i], "mailto"))
        {
          TernComposer *composer = tern_composer_new (window);
          g_autoptr(GError) error = NULL;

          if (tern_composer_load_mailto (composer, uri, &error))
            gtk_window_present (GTK_WINDOW (composer));
          else
            {
              tern_window_show_toast (window, error->message);
              gtk_window_destroy (GTK_WINDOW (composer));
            }
        }
      else
        g_warning ("Tern cannot open “%s”", uri);
    }
}

static void
tern_application_shutdown (GApplication *application)
{
  TernApplication *self = TERN_APPLICATION (application);

  if (self->mail_service != NULL)
    tern_mail_service_stop (self->mail_service);
  g_clear_object (&self->mail_service);

  G_APPLICATION_CLASS (tern_application_parent_class)->shutdown (application);
}

static void
tern_application_finalize (GObject *object)
{
  TernApplication *self = TERN_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->paths);

  G_OBJECT_CLASS (tern_application_parent_class)->finalize (object);
}

static void
tern_application_class_init (TernApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = tern_application_finalize;

  tern_register_resource ();

  application_class->handle_local_options = tern_application_handle_local_options;
  application_class->startup = tern_application_startup;
  application_class->activate = tern_application_activate;
  application_class->shutdown = tern_application_shutdown;
  application_class->open = tern_application_open;
}

static void
tern_application_init (TernApplication *self)
{
  const GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Keep configuration, mail and cache under DIR"), N_("DIR") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Print the version and exit"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), _("[MAILTO-LINK…]"));
}
