/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "tern-cli.h"

/*
 * tern-cli info: the version of Tern and where the profile keeps its
 * configuration, mail and cache.  Scripts read it with --json.
 */

int
tern_cli_command_info (TernCliContext  *context,
                       int              argc,
                       char           **argv)
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (argv);
  gboolean as_json = FALSE;
  TernPaths *paths = context->paths;

  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object"), NULL },
    { NULL }
  };

  option_context = g_option_context_new (NULL);
  g_option_context_set_summary (option_context,
                                _("Show the version and the folders of the profile."));
  g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (option_context, GETTEXT_PACKAGE);
  g_option_context_set_help_enabled (option_context, TRUE);

  if (!g_option_context_parse_strv (option_context, &args, &error))
    {
      g_printerr ("tern-cli info: %s\n", error->message);
      return TERN_CLI_EXIT_USAGE;
    }

  if (g_strv_length (args) > 1)
    {
      g_printerr (_("tern-cli info: unexpected argument “%s”\n"), args[1]);
      return TERN_CLI_EXIT_USAGE;
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "version");
      json_builder_add_string_value (builder, tern_engine_get_version ());
      json_builder_set_member_name (builder, "application_id");
      json_builder_add_string_value (builder, tern_engine_get_application_id ());
      json_builder_set_member_name (builder, "profile");
      json_builder_add_string_value (builder, tern_engine_get_profile ());
      json_builder_set_member_name (builder, "data_root");
      if (tern_paths_get_root (paths) != NULL)
        json_builder_add_string_value (builder, tern_paths_get_root (paths));
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "config_dir");
      json_builder_add_string_value (builder, tern_paths_get_config_dir (paths));
      json_builder_set_member_name (builder, "data_dir");
      json_builder_add_string_value (builder, tern_paths_get_data_dir (paths));
      json_builder_set_member_name (builder, "cache_dir");
      json_builder_add_string_value (builder, tern_paths_get_cache_dir (paths));
      json_builder_end_object (builder);

      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
    }
  else
    {
      g_print ("Tern %s (%s, %s)\n",
               tern_engine_get_version (),
               tern_engine_get_application_id (),
               tern_engine_get_profile ());
      g_print (_("Configuration: %s\n"), tern_paths_get_config_dir (paths));
      g_print (_("Mail and index: %s\n"), tern_paths_get_data_dir (paths));
      g_print (_("Cache: %s\n"), tern_paths_get_cache_dir (paths));
    }

  return TERN_CLI_EXIT_OK;
}
