/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "tern-cli.h"

/*
 * tern-cli takes global options (--data-dir, --version, --help), then a
 * command with options of its own.  Each command lives in its own
 * tern-cli-COMMAND.c and is listed in the table below.
 */

static const TernCliCommand commands[] = {
  { "info", N_("Show the version and the folders of the profile"), tern_cli_command_info },
  { "folders", N_("List the folders of the store"), tern_cli_command_folders },
  { "list", N_("List the messages of a folder, newest first"), tern_cli_command_list },
  { "show", N_("Show a message"), tern_cli_command_show },
  { "search", N_("Search all mail"), tern_cli_command_search },
  { "import", N_("Import an mbox file or a Maildir into a local folder"), tern_cli_command_import },
  { "export", N_("Export a folder to an mbox file"), tern_cli_command_export },
  { "account", N_("Add, list, show, change and remove accounts"), tern_cli_command_account },
  { "identity", N_("Add, list and remove an account’s addresses"), tern_cli_command_identity },
  { "autoconfig", N_("Find an address’s mail servers"), tern_cli_command_autoconfig },
  { "trust", N_("Show and trust a server’s certificate"), tern_cli_command_trust },
  { "fetch", N_("Download the new mail of a POP3 account"), tern_cli_command_fetch },
  { "send", N_("Send a message"), tern_cli_command_send },
  { "outbox", N_("Show the mail waiting to be sent"), tern_cli_command_outbox },
  { "bench", N_("Measure the speed of Tern’s parts"), tern_cli_command_bench },
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
  int status;

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
  status = command->run (&context, n_args - 1, args + 1);

  if (context.store != NULL)
    {
      tern_store_close (context.store);
      g_clear_object (&context.store);
    }

  return status;
}

/**
 * tern_cli_open_store:
 *
 * Returns: (transfer none): the profile's store, opened on first use.
 */
TernStore *
tern_cli_open_store (TernCliContext  *context,
                     GError         **error)
{
  if (context->store == NULL)
    {
      if (!tern_paths_ensure (context->paths, error))
        return NULL;
      context->store = tern_store_open_sync (tern_paths_get_data_dir (context->paths), NULL, error);
    }

  return context->store;
}

/**
 * tern_cli_got_result:
 * @user_data: a `GAsyncResult **` slot
 *
 * A #GAsyncReadyCallback that keeps the result in its slot, for
 * tern_cli_wait().
 */
void
tern_cli_got_result (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

/**
 * tern_cli_wait:
 * @slot: where tern_cli_got_result() puts the result
 *
 * Runs the main context until the result arrives.  tern-cli is a
 * command-line tool: waiting here is what it is for.
 *
 * Returns: (transfer none): the result.
 */
GAsyncResult *
tern_cli_wait (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
}

/**
 * tern_cli_parse:
 *
 * Parses a command's options, printing a usage error naming the command.
 * On return, @argv holds the arguments that are not options.
 */
gboolean
tern_cli_parse (const char          *command,
                const char          *parameters,
                const char          *summary,
                const GOptionEntry  *entries,
                int                 *argc,
                char              ***argv)
{
  g_autoptr(GOptionContext) option_context = g_option_context_new (parameters);
  g_autoptr(GError) error = NULL;
  g_autofree char **original = NULL;
  int original_argc;
  gboolean parsed;

  g_option_context_set_summary (option_context, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (option_context, GETTEXT_PACKAGE);

  /* GOption takes the options it reads out of @argv without freeing them:
   * what it took is freed here. */
  original = g_memdup2 (*argv, sizeof (char *) * (*argc + 1));
  original_argc = *argc;
  parsed = g_option_context_parse (option_context, argc, argv, &error);

  for (int i = 0; i < original_argc; i++)
    {
      gboolean kept = FALSE;

      for (int j = 0; j < *argc && !kept; j++)
        kept = (*argv)[j] == original[i];
      if (!kept)
        g_free (original[i]);
    }

  if (!parsed)
    {
      g_printerr ("tern-cli %s: %s\n", command, error->message);
      return FALSE;
    }

  return TRUE;
}

/**
 * tern_cli_find_folder:
 * @name: "PATH" for a folder on this computer, or "ACCOUNT:PATH"
 * @create: create a local folder that is missing
 *
 * Returns: (transfer full): the folder, or %NULL with @error set.
 */
TernFolder *
tern_cli_find_folder (TernCliContext  *context,
                      const char      *name,
                      gboolean         create,
                      GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autofree char *account = NULL;
  const char *path = name;
  const char *colon = strchr (name, ':');
  TernStore *store = tern_cli_open_store (context, error);

  if (store == NULL)
    return NULL;

  if (colon != NULL)
    {
      account = g_strndup (name, colon - name);
      path = colon + 1;
    }
  else
    {
      account = g_strdup (TERN_LOCAL_ACCOUNT);
    }

  if (create && g_str_equal (account, TERN_LOCAL_ACCOUNT))
    {
      tern_store_ensure_folder_async (store, account, path, TERN_FOLDER_ROLE_NONE, NULL,
                                      tern_cli_got_result, &result);
      return tern_store_ensure_folder_finish (store, tern_cli_wait (&result), error);
    }

  tern_store_list_folders_async (store, account, NULL, tern_cli_got_result, &result);
  folders = tern_store_list_folders_finish (store, tern_cli_wait (&result), error);
  if (folders == NULL)
    return NULL;

  for (guint i = 0; i < folders->len; i++)
    {
      TernFolder *folder = g_ptr_array_index (folders, i);

      if (g_str_equal (tern_folder_get_path (folder), path))
        return tern_folder_ref (folder);
    }

  g_set_error (error, TERN_STORE_ERROR, TERN_STORE_ERROR_NOT_FOUND,
               _("There is no folder “%s”; “tern-cli folders” lists them"), name);
  return NULL;
}
