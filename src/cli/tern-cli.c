/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "tern-cli.h"

/*
 * tern-cli takes global options (--data-dir, --version, --help), then a
 * command with options of its own.  Each command lives in its own
 * tern-cli-COMMAND.c and is listed in the table below.
 */

static const TernCliCommand commands[] = {
  { "info", N_("Show the version and the folders of the profile"), tern_cli_command_info },
};

static const TernCliCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (commands[i].name, name))
        return &commands[i];
    }

  return NULL;
}

static char *
describe_commands (void)
{
  GString *text = g_string_new (_("Commands:"));

  g_string_append_c (text, '\n');
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "  %-12s %s\n", commands[i].name, _(commands[i].summary));

  g_string_append_c (text, '\n');
  g_string_append (text, _("Run “tern-cli COMMAND --help” for the options of a command."));

  return g_string_free (text, FALSE);
}

/**
 * tern_cli_run:
 * @argc: the number of arguments
 * @argv: (array length=argc): the arguments, starting with the program name
 *
 * Runs tern-cli as its main() would.  Errors go to stderr, results to
 * stdout.
 *
 * Returns: the exit status: 0 on success, 1 when the command failed, 2 when
 *   the command line was wrong.
 */
int
tern_cli_run (int    argc,
              char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *description = NULL;
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TernPaths) paths = NULL;
  g_auto(GStrv) args = NULL;
  gboolean show_version = FALSE;
  const TernCliCommand *command;
  TernCliContext context = { 0 };
  int n_args;

  const GOptionEntry entries[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      N_("Keep configuration, mail and cache under DIR"), N_("DIR") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &show_version,
      N_("Print the version and exit"), NULL },
    { NULL }
  };

  tern_engine_init ();

  /* GOption works on a copy, so that the command gets its own arguments. */
  args = g_new0 (char *, argc + 1);
  for (int i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  n_args = argc;

  option_context = g_option_context_new (_("COMMAND [OPTION…]"));
  g_option_context_set_summary (option_context, _("Read and manage Tern’s mail from a terminal."));
  description = describe_commands ();
  g_option_context_set_description (option_context, description);
  g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (option_context, GETTEXT_PACKAGE);
  /* Stop at the command: what follows it belongs to the command. */
  g_option_context_set_strict_posix (option_context, TRUE);

  if (!g_option_context_parse_strv (option_context, &args, &error))
    {
      g_printerr ("tern-cli: %s\n", error->message);
      g_printerr (_("Run “tern-cli --help” to see the commands and options.\n"));
      return TERN_CLI_EXIT_USAGE;
    }
  n_args = g_strv_length (args);

  if (show_version)
    {
      g_print ("tern-cli %s\n", tern_engine_get_version ());
      return TERN_CLI_EXIT_OK;
    }

  if (n_args < 2)
    {
      g_autofree char *help = g_option_context_get_help (option_context, TRUE, NULL);

      g_printerr ("%s", help);
      return TERN_CLI_EXIT_USAGE;
    }

  command = find_command (args[1]);
  if (command == NULL)
    {
      g_printerr (_("tern-cli: unknown command “%s”\n"), args[1]);
      g_printerr (_("Run “tern-cli --help” to see the commands and options.\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  if (data_dir != NULL && *data_dir == '\0')
    {
      g_printerr (_("tern-cli: --data-dir needs a folder\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  if (data_dir != NULL)
    paths = tern_paths_new_for_root (data_dir);
  else
    paths = tern_paths_new_default ();

  context.paths = paths;

  /* The command sees itself as argv[0]. */
  return command->run (&context, n_args - 1, args + 1);
}
