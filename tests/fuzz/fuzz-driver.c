/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Runs a libFuzzer target without libFuzzer: every file in the folders (or
 * the files) named on the command line goes through LLVMFuzzerTestOneInput()
 * once.  The normal (GCC) build uses it to replay the seed corpus as a test,
 * so that the corpus keeps passing between fuzzing sessions.
 *
 * With --generated, inputs too big to keep in the corpus are made here and
 * fed too: a 10,000-deep multipart, a 10,000-deep chain of attached
 * messages, a one-megabyte header line and a field full of group colons.
 */

#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static guint n_inputs;

static void
run_bytes (const char *name,
           const guint8 *data,
           gsize         size)
{
  gint64 start = g_get_monotonic_time ();

  LLVMFuzzerTestOneInput (data, size);
  n_inputs++;
  printf ("ok %u - %s (%" G_GSIZE_FORMAT " bytes, %.1f ms)\n", n_inputs, name, size,
          (g_get_monotonic_time () - start) / 1000.0);
}

static void
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize size = 0;

  if (!g_file_get_contents (path, &data, &size, &error))
    g_error ("Cannot read %s: %s", path, error->message);

  run_bytes (path, (const guint8 *) data, size);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
run_path (const char *path)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      run_file (path);
      return;
    }

  if ((dir = g_dir_open (path, 0, &error)) == NULL)
    g_error ("Cannot open %s: %s", path, error->message);

  /* Dot files (.gitattributes and the like) are no inputs. */
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_build_filename (path, name, NULL));

  /* The same order on every machine. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    if (g_file_test (g_ptr_array_index (names, i), G_FILE_TEST_IS_REGULAR))
      run_file (g_ptr_array_index (names, i));
}

static void
run_generated (void)
{
  GString *s;

  s = g_string_new ("From: deep@example.com\r\nSubject: deep multipart\r\n");
  for (guint i = 0; i < 10000; i++)
    g_string_append_printf (s, "Content-Type: multipart/mixed; boundary=\"b%u\"\r\n\r\n--b%u\r\n", i, i);
  g_string_append (s, "Content-Type: text/plain\r\n\r\ninnermost\r\n");
  for (guint i = 10000; i > 0; i--)
    g_string_append_printf (s, "--b%u--\r\n", i - 1);
  run_bytes ("generated: 10,000-deep multipart", (const guint8 *) s->str, s->len);
  g_string_free (s, TRUE);

  s = g_string_new ("From: deep@example.com\r\nSubject: deep messages\r\n");
  for (guint i = 0; i < 10000; i++)
    g_string_append (s, "Content-Type: message/rfc822\r\n\r\nSubject: level\r\n");
  g_string_append (s, "\r\ninnermost\r\n");
  run_bytes ("generated: 10,000-deep attached messages", (const guint8 *) s->str, s->len);
  g_string_free (s, TRUE);

  s = g_string_new ("From: long@example.com\r\nSubject: =?");
  for (guint i = 0; i < 1024 * 1024; i++)
    g_string_append_c (s, 'a');
  g_string_append (s, "?q?x?=\r\n\r\nbody\r\n");
  run_bytes ("generated: one-megabyte encoded word", (const guint8 *) s->str, s->len);
  g_string_free (s, TRUE);

  s = g_string_new ("From: groups@example.com\r\nTo: ");
  for (guint i = 0; i < 30000; i++)
    g_string_append (s, "g:");
  g_string_append (s, "x@example.com\r\n\r\nbody\r\n");
  run_bytes ("generated: 30,000 nested groups", (const guint8 *) s->str, s->len);
  g_string_free (s, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  gboolean generated = FALSE;

  printf ("TAP version 13\n");

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--generated") == 0)
        generated = TRUE;
      else
        run_path (argv[i]);
    }

  if (generated)
    run_generated ();

  printf ("1..%u\n", n_inputs);
  return 0;
}
