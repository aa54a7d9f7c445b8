/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tern-cli.h"
#include "tern-message-list-model.h"
#include "tern-store-import.h"

/*
 * tern-cli bench: figures for Tern's parts, measured on this machine.
 *
 * bench store: a generated, deterministic corpus (median body about 10 KB,
 * threads, attachments, HTML, non-ASCII headers) written to an mbox, then
 * imported into a new store in a temporary folder; then the first and the
 * middle rows of the folder through TernMessageListModel, searches, the
 * bytes on disk and the memory the model adds.
 */

static const char *first_names[] = {
  "Alice", "Bob", "Chloé", "Dmitri", "Émile", "Fatima", "Günther", "Hana", "Ivan", "Jürgen",
  "Kenji", "Léa", "Marta", "Nils", "Océane", "Paolo", "Quentin", "Rosa", "Søren", "Tomás",
};

static const char *last_names[] = {
  "Andersen", "Brown", "Çelik", "Dubois", "Eriksson", "Fischer", "García", "Hoffmann", "Ito",
  "Jensen", "Kowalski", "López", "Müller", "Nakamura", "O’Brien", "Petrov", "Quinn", "Rossi",
};

/* The most frequent words of mail, in order. */
static const char *function_words[] = {
  "the", "and", "to", "of", "a", "in", "for", "is", "on", "that", "with", "you", "it", "be",
  "as", "at", "this", "we", "are", "have", "please", "thanks", "could", "would", "next", "week",
  "about", "from", "will", "can",
};

/* Words people search for: each as frequent as the made-up word whose rank
 * it takes, as such words are in real mail. */
static const char *words[] = {
  "meeting", "report", "budget", "schedule", "invoice", "project", "deadline", "review",
  "proposal", "contract", "delivery", "holiday", "server", "release", "quarter", "customer",
  "support", "question", "agenda", "minutes", "draft", "update", "summary", "travel", "office",
  "café", "résumé", "naïve", "façade", "Zürich", "Köln", "München", "señor", "straße",
  "morning", "afternoon", "tomorrow", "yesterday", "attached", "document", "numbers", "plan",
};

static const char *
pick (GRand        *rand,
      const char  **list,
      guint         n)
{
  return list[g_rand_int_range (rand, 0, n)];
}

#define PICK(rand, list) pick (rand, list, G_N_ELEMENTS (list))

/* Made-up words beside the real ones, so that the index sees a vocabulary
 * of mail's size, not of a few dozen words. */
#define N_MADE_UP_WORDS 12000

static GPtrArray *
made_up_words (void)
{
  static const char *syllables[] = {
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bri", "chen", "dor", "fel", "gan", "hul",
    "jas", "kor", "lem", "mar", "nix", "pol", "quen", "ros", "stu", "tor", "ul", "ver", "wen",
    "yal", "zor", "ae", "ou", "ing", "er", "an", "is",
  };
  static GPtrArray *list = NULL;
  g_autoptr(GRand) rand = NULL;

  if (list != NULL)
    return list;

  rand = g_rand_new_with_seed (7);
  list = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < N_MADE_UP_WORDS; i++)
    {
      GString *word = g_string_new (NULL);
      guint n = g_rand_int_range (rand, 2, 5);

      for (guint j = 0; j < n; j++)
        g_string_append (word, PICK (rand, syllables));
      g_ptr_array_add (list, g_string_free (word, FALSE));
    }

  return list;
}

/* Word frequencies in text fall off roughly as 1/rank: a log-uniform rank
 * gives that.  Function words come first; the searchable words take every
 * 100th rank from 300 on, where such words sit in real mail (the commonest
 * of them is then in about a third of the messages, the rarest in a few in
 * a hundred). */
static const char *
pick_word (GRand *rand)
{
  GPtrArray *made_up = made_up_words ();
  guint n = G_N_ELEMENTS (function_words) + made_up->len;
  guint rank = (guint) exp (g_rand_double (rand) * log ((double) n));

  rank = MIN (MAX (rank, 1), n) - 1;
  if (rank < G_N_ELEMENTS (function_words))
    return function_words[rank];
  if (rank >= 300 && rank % 100 == 0 && (rank - 300) / 100 < G_N_ELEMENTS (words))
    return words[(rank - 300) / 100];

  return g_ptr_array_index (made_up, rank - G_N_ELEMENTS (function_words));
}

static void
append_words (GString *text,
              GRand   *rand,
              gsize    size)
{
  gsize line = 0;

  while (text->len < size)
    {
      const char *word = pick_word (rand);

      g_string_append (text, word);
      line += strlen (word) + 1;
      if (line > 68)
        {
          g_string_append (text, ".\n");
          line = 0;
        }
      else
        {
          g_string_append_c (text, ' ');
        }
    }
  g_string_append_c (text, '\n');
}

/* A body size around a median of about 10 KB, with a long tail. */
static gsize
body_size (GRand *rand)
{
  double u = g_rand_double_range (rand, 0.0001, 1.0);
  double v = g_rand_double_range (rand, 0.0001, 1.0);
  double normal = sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);

  return (gsize) CLAMP (exp (log (8000.0) + 0.8 * normal), 300.0, 400000.0);
}

static char *
encoded_name (const char *first,
              const char *last)
{
  g_autofree char *name = g_strdup_printf ("%s %s", first, last);

  /* Names outside ASCII go in RFC 2047 words, as mailers send them. */
  for (const char *p = name; *p != '\0'; p++)
    {
      if ((guchar) *p >= 0x80)
        {
          g_autofree char *b64 = g_base64_encode ((const guchar *) name, strlen (name));

          return g_strdup_printf ("=?UTF-8?B?%s?=", b64);
        }
    }

  return g_strdup_printf ("\"%s\"", name);
}

static void
write_message (GString *mbox,
               GRand   *rand,
               guint    index,
               GArray  *thread_roots,
               gint64   date)
{
  g_autoptr(GString) subject = g_string_new (NULL);
  g_autoptr(GString) body = g_string_new (NULL);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (date);
  g_autofree char *day_month = g_date_time_format (when, "%a %b");
  g_autofree char *time_year = g_date_time_format (when, "%H:%M:%S %Y");
  /* asctime() pads the day with a space (GLib's %e uses a figure space). */
  g_autofree char *from_line_date = g_strdup_printf ("%s %2d %s", day_month,
                                                     g_date_time_get_day_of_month (when),
                                                     time_year);
  g_autofree char *header_date = g_date_time_format (when, "%a, %d %b %Y %H:%M:%S +0000");
  const char *first = PICK (rand, first_names);
  const char *last = PICK (rand, last_names);
  g_autofree char *name = encoded_name (first, last);
  g_autofree char *address = g_ascii_strdown (first, -1);
  guint kind = g_rand_int_range (rand, 0, 100);
  gboolean reply = thread_roots->len > 0 && g_rand_int_range (rand, 0, 100) < 35;
  guint root = 0;

  for (char *p = address; *p != '\0'; p++)
    if ((guchar) *p >= 0x80 || !g_ascii_isalnum (*p))
      *p = 'x';

  if (reply)
    {
      root = g_array_index (thread_roots, guint,
                            g_rand_int_range (rand, MAX (0, (int) thread_roots->len - 200),
                                              thread_roots->len));
      g_string_append_printf (subject, "Re: %s %u", words[root % G_N_ELEMENTS (words)], root);
    }
  else
    {
      g_string_append_printf (subject, "%s %s %u", PICK (rand, words), words[index % 20], index);
      g_array_append_val (thread_roots, index);
    }

  g_string_append_printf (mbox, "From %s@example.org %s\n", address, from_line_date);
  g_string_append_printf (mbox, "From: %s <%s%u@example.org>\n", name, address, index % 50);
  g_string_append (mbox, "To: Bench User <user@example.net>\n");
  g_string_append_printf (mbox, "Subject: %s\n", subject->str);
  g_string_append_printf (mbox, "Date: %s\n", header_date);
  g_string_append_printf (mbox, "Message-ID: <bench.%u@example.org>\n", index);
  if (reply)
    {
      g_string_append_printf (mbox, "In-Reply-To: <bench.%u@example.org>\n", root);
      g_string_append_printf (mbox, "References: <bench.%u@example.org>\n", root);
    }
  g_string_append (mbox, "MIME-Version: 1.0\n");
  if (index % 3 == 0)
    g_string_append (mbox, "Status: RO\n");

  append_words (body, rand, body_size (rand));

  if (kind < 70)
    {
      g_string_append (mbox, "Content-Type: text/plain; charset=utf-8\n");
      g_string_append (mbox, "Content-Transfer-Encoding: 8bit\n\n");
      g_string_append (mbox, body->str);
    }
  else if (kind < 90)
    {
      g_string_append (mbox, "Content-Type: multipart/alternative; boundary=\"alt\"\n\n");
      g_string_append (mbox, "--alt\nContent-Type: text/plain; charset=utf-8\n"
                             "Content-Transfer-Encoding: 8bit\n\n");
      g_string_append (mbox, body->str);
      g_string_append (mbox, "--alt\nContent-Type: text/html; charset=utf-8\n"
                             "Content-Transfer-Encoding: 8bit\n\n<html><body><p>");
      g_string_append (mbox, body->str);
      g_string_append (mbox, "</p></body></html>\n--alt--\n");
    }
  else
    {
      g_autoptr(GString) blob = g_string_new (NULL);
      g_autofree char *encoded = NULL;
      gsize blob_size = g_rand_int_range (rand, 2000, 40000);
      gsize encoded_len;

      while (blob->len < blob_size)
        g_string_append_c (blob, (char) g_rand_int_range (rand, 0, 256));
      encoded = g_base64_encode ((const guchar *) blob->str, blob->len);

      g_string_append (mbox, "Content-Type: multipart/mixed; boundary=\"mix\"\n\n");
      g_string_append (mbox, "--mix\nContent-Type: text/plain; charset=utf-8\n"
                             "Content-Transfer-Encoding: 8bit\n\n");
      g_string_append (mbox, body->str);
      g_string_append_printf (mbox, "--mix\nContent-Type: application/pdf; name=\"%s-%u.pdf\"\n"
                                    "Content-Disposition: attachment; filename=\"%s-%u.pdf\"\n"
                                    "Content-Transfer-Encoding: base64\n\n",
                              PICK (rand, words), index, words[index % 10], index);
      encoded_len = strlen (encoded);
      for (gsize i = 0; i < encoded_len; i += 76)
        {
          g_string_append_len (mbox, encoded + i, MIN (76, encoded_len - i));
          g_string_append_c (mbox, '\n');
        }
      g_string_append (mbox, "--mix--\n");
    }

  g_string_append_c (mbox, '\n');
}

static gboolean
write_corpus (const char  *path,
              guint        n_messages,
              GError     **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261122);
  g_autoptr(GArray) roots = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GString) chunk = g_string_new (NULL);
  gint64 date = 1672531200;  /* 2023-01-01 */

  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, error);
  if (out == NULL)
    return FALSE;

  for (guint i = 0; i < n_messages; i++)
    {
      date += g_rand_int_range (rand, 60, 1800);
      write_message (chunk, rand, i, roots, date);

      if (chunk->len > 4 * 1024 * 1024 || i + 1 == n_messages)
        {
          if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), chunk->str, chunk->len, NULL,
                                          NULL, error))
            return FALSE;
          g_string_truncate (chunk, 0);
        }
    }

  return g_output_stream_close (G_OUTPUT_STREAM (out), NULL, error);
}

static double
rss_mb (void)
{
  g_autofree char *text = NULL;
  long pages = 0;
  long resident = 0;

  if (!g_file_get_contents ("/proc/self/statm", &text, NULL, NULL) ||
      sscanf (text, "%ld %ld", &pages, &resident) != 2)
    return 0.0;

  return resident * (double) sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* The processor time of the whole process, every thread, in seconds. */
static double
cpu_seconds (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return 0;

  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* The processor time of the store's writer thread, in seconds: the one
 * thread that fills the index, so the import cannot go faster than one
 * message per its time per message.  Found by its name, as the kernel
 * keeps it (15 bytes); 0 when it cannot be read. */
static double
writer_cpu_seconds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *task;

  if (dir == NULL)
    return 0;

  while ((task = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm_path = g_build_filename ("/proc/self/task", task, "comm", NULL);
      g_autofree char *stat_path = g_build_filename ("/proc/self/task", task, "stat", NULL);
      g_autofree char *comm = NULL;
      g_autofree char *stat = NULL;
      unsigned long utime, stime;
      const char *fields;

      if (!g_file_get_contents (comm_path, &comm, NULL, NULL) ||
          !g_str_has_prefix (comm, "tern-store-writ"))
        continue;
      if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
        return 0;

      /* After the name, in parentheses: fields 3 on; utime and stime are
       * the 14th and 15th. */
      fields = strrchr (stat, ')');
      if (fields == NULL ||
          sscanf (fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                  &utime, &stime) != 2)
        return 0;

      return (utime + stime) / (double) sysconf (_SC_CLK_TCK);
    }

  return 0;
}

/* The machine's load over the last minute: other work slows the figures. */
static double
load_average (void)
{
  double load[1] = { 0 };

  if (getloadavg (load, 1) != 1)
    return -1;

  return load[0];
}

/* The bytes malloc has handed out and not had back, every thread's arena
 * and large blocks included, in MB.  A resident size reuses what an earlier
 * step freed and so can read low; this cannot. */
static double
heap_in_use_mb (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return (info.uordblks + info.hblkhd) / (1024.0 * 1024.0);
}

static double
peak_rss_mb (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

static gint64
file_size (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return 0;

  return st.st_size;
}

/* Waits until the rows first..first+count of @model have arrived. */
static void
wait_for_rows (GListModel *model,
               guint       first,
               guint       count)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  guint end = MIN (first + count, g_list_model_get_n_items (model));
  gboolean all_loaded = FALSE;

  for (guint i = first; i < end; i++)
    g_ptr_array_add (rows, g_list_model_get_item (model, i));

  while (!all_loaded)
    {
      all_loaded = TRUE;
      for (guint i = 0; i < rows->len && all_loaded; i++)
        all_loaded = tern_message_row_get_loaded (g_ptr_array_index (rows, i));
      if (!all_loaded)
        g_main_context_iteration (NULL, TRUE);
    }
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

static int
bench_store (guint    n_messages,
             gboolean as_json,
             gboolean keep)
{
  static const char *queries[] = {
    "meeting", "report budget", "from:alice", "subject:invoice", "has:attachment",
    "is:unread", "cafe", "zurich", "from:muller", "deadline -holiday", "\"next week\"",
    "proj", "after:2023-06-01 before:2023-07-01", "to:user", "is:unread report",
    "muen", "résumé", "server OR release", "subject:re", "is:flagged",
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *mbox = NULL;
  g_autofree char *data_dir = NULL;
  g_autoptr(TernStore) store = NULL;
  g_autoptr(TernFolder) folder = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TernImportResult) imported = NULL;
  g_autoptr(TernMessageListModel) model = NULL;
  g_autoptr(GFile) source = NULL;
  double search_ms[G_N_ELEMENTS (queries)];
  double import_s, first_rows_ms, middle_rows_ms, search_median_ms, model_rss, model_heap;
  double import_cpu_s, writer_cpu_s, load;
  double rss_before, heap_before;
  gint64 bytes;
  gint64 start;
  guint n_items;

  tmp = g_dir_make_tmp ("tern-bench-XXXXXX", &error);
  if (tmp == NULL)
    goto failed;
  mbox = g_build_filename (tmp, "corpus.mbox", NULL);
  data_dir = g_build_filename (tmp, "data", NULL);

  if (!as_json)
    g_print ("Generating %u messages…\n", n_messages);
  if (!write_corpus (mbox, n_messages, &error))
    goto failed;

  store = tern_store_open_sync (data_dir, NULL, &error);
  if (store == NULL)
    goto failed;

  tern_store_create_folder_async (store, TERN_LOCAL_ACCOUNT, "Bench", TERN_FOLDER_ROLE_NONE,
                                  NULL, tern_cli_got_result, &result);
  folder = tern_store_create_folder_finish (store, tern_cli_wait (&result), &error);
  g_clear_object (&result);
  if (folder == NULL)
    goto failed;

  /* Import, with indexing and search indexing. */
  source = g_file_new_for_path (mbox);
  load = load_average ();
  import_cpu_s = cpu_seconds ();
  writer_cpu_s = writer_cpu_seconds ();
  start = g_get_monotonic_time ();
  tern_store_import_async (store, tern_folder_get_id (folder), source, TERN_MAIL_FILE_MBOX,
                           NULL, NULL, NULL, tern_cli_got_result, &result);
  imported = tern_store_import_finish (store, tern_cli_wait (&result), &error);
  g_clear_object (&result);
  import_s = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  import_cpu_s = cpu_seconds () - import_cpu_s;
  writer_cpu_s = writer_cpu_seconds () - writer_cpu_s;
  if (imported == NULL)
    goto failed;
  if (imported->imported != n_messages)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Imported %u of %u generated messages", imported->imported, n_messages);
      goto failed;
    }

  /* The first rows, as a window opening the folder asks for them. */
  rss_before = rss_mb ();
  heap_before = heap_in_use_mb ();
  start = g_get_monotonic_time ();
  model = tern_message_list_model_new_for_folder (store, tern_folder_get_id (folder), FALSE);
  tern_message_list_model_load_async (model, NULL, tern_cli_got_result, &result);
  if (!tern_message_list_model_load_finish (model, tern_cli_wait (&result), &error))
    goto failed;
  g_clear_object (&result);
  wait_for_rows (G_LIST_MODEL (model), 0, 50);
  first_rows_ms = (g_get_monotonic_time () - start) / 1000.0;

  n_items = g_list_model_get_n_items (G_LIST_MODEL (model));
  start = g_get_monotonic_time ();
  wait_for_rows (G_LIST_MODEL (model), n_items / 2, 50);
  middle_rows_ms = (g_get_monotonic_time () - start) / 1000.0;

  /* Scrolling through the whole folder: the rows not held go again. */
  for (guint i = 0; i < n_items; i += 50)
    {
      g_autoptr(GObject) row = g_list_model_get_item (G_LIST_MODEL (model), i);
    }
  wait_for_rows (G_LIST_MODEL (model), n_items - 50, 50);
  model_rss = rss_mb () - rss_before;
  model_heap = heap_in_use_mb () - heap_before;

  /* Searches, as the search bar runs them: every match, and its first rows. */
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      g_autoptr(TernMessageListModel) search = NULL;

      start = g_get_monotonic_time ();
      search = tern_message_list_model_new_for_search (store, queries[i], 0);
      tern_message_list_model_load_async (search, NULL, tern_cli_got_result, &result);
      if (!tern_message_list_model_load_finish (search, tern_cli_wait (&result), &error))
        goto failed;
      g_clear_object (&result);
      wait_for_rows (G_LIST_MODEL (search), 0, 50);
      search_ms[i] = (g_get_monotonic_time () - start) / 1000.0;
    }
  qsort (search_ms, G_N_ELEMENTS (queries), sizeof (double), compare_doubles);
  search_median_ms = (search_ms[G_N_ELEMENTS (queries) / 2 - 1] +
                      search_ms[G_N_ELEMENTS (queries) / 2]) / 2.0;

  g_clear_object (&model);
  tern_store_close (store);
  bytes = file_size (data_dir, "store.sqlite") + file_size (data_dir, "store.sqlite-wal") +
          file_size (data_dir, "bodies.sqlite") + file_size (data_dir, "bodies.sqlite-wal");

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "messages");
      json_builder_add_int_value (builder, n_messages);
      json_builder_set_member_name (builder, "import_msgs_per_s");
      json_builder_add_double_value (builder, n_messages / import_s);
      json_builder_set_member_name (builder, "import_cpu_us_per_msg");
      json_builder_add_double_value (builder, import_cpu_s * G_USEC_PER_SEC / n_messages);
      json_builder_set_member_name (builder, "import_writer_us_per_msg");
      json_builder_add_double_value (builder, writer_cpu_s * G_USEC_PER_SEC / n_messages);
      json_builder_set_member_name (builder, "load_average");
      json_builder_add_double_value (builder, load);
      json_builder_set_member_name (builder, "first_rows_ms");
      json_builder_add_double_value (builder, first_rows_ms);
      json_builder_set_member_name (builder, "middle_rows_ms");
      json_builder_add_double_value (builder, middle_rows_ms);
      json_builder_set_member_name (builder, "search_median_ms");
      json_builder_add_double_value (builder, search_median_ms);
      json_builder_set_member_name (builder, "bytes_per_message");
      json_builder_add_double_value (builder, (double) bytes / n_messages);
      json_builder_set_member_name (builder, "model_rss_mb");
      json_builder_add_double_value (builder, model_rss);
      json_builder_set_member_name (builder, "model_heap_mb");
      json_builder_add_double_value (builder, model_heap);
      json_builder_set_member_name (builder, "peak_rss_mb");
      json_builder_add_double_value (builder, peak_rss_mb ());
      json_builder_end_object (builder);

      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
    }
  else
    {
      g_print ("Store benchmark, %u messages (median body about 10 KB)\n", n_messages);
      g_print ("  import:              %8.0f messages/s (%.1f s, target >= 5000)\n",
               n_messages / import_s, import_s);
      g_print ("  import, processor:   %8.0f µs/message, every thread (%u processors, "
               "load %.2f at the start)\n",
               import_cpu_s * G_USEC_PER_SEC / n_messages, g_get_num_processors (), load);
      g_print ("  import, writer:      %8.0f µs/message, the index's one writer thread\n",
               writer_cpu_s * G_USEC_PER_SEC / n_messages);
      g_print ("  first 50 rows:       %8.1f ms (target <= 50)\n", first_rows_ms);
      g_print ("  50 rows in middle:   %8.1f ms\n", middle_rows_ms);
      g_print ("  search, median of %u: %7.1f ms (target <= 30; slowest %.1f ms)\n",
               (guint) G_N_ELEMENTS (queries), search_median_ms,
               search_ms[G_N_ELEMENTS (queries) - 1]);
      g_print ("  on disk:             %8.0f bytes/message\n", (double) bytes / n_messages);
      g_print ("  model adds:          %8.1f MB resident (target <= 50), %.1f MB of heap\n",
               model_rss, model_heap);
      g_print ("  peak RSS:            %8.1f MB\n", peak_rss_mb ());
    }

  if (!keep)
    {
      g_autofree char *cmd = NULL;
      g_autofree char *quoted = g_shell_quote (tmp);

      cmd = g_strdup_printf ("rm -rf %s", quoted);
      if (system (cmd) != 0)
        g_printerr ("tern-cli bench: could not remove %s\n", tmp);
    }
  else
    {
      g_printerr ("The store is kept in %s\n", tmp);
    }

  return TERN_CLI_EXIT_OK;

failed:
  g_printerr ("tern-cli bench store: %s\n", error->message);
  return TERN_CLI_EXIT_FAILURE;
}

int
tern_cli_command_bench (TernCliContext  *context,
                        int              argc,
                        char           **argv)
{
  gboolean as_json = FALSE;
  gboolean keep = FALSE;
  int n_messages = 100000;
  const GOptionEntry entries[] = {
    { "messages", 0, 0, G_OPTION_ARG_INT, &n_messages,
      N_("The size of the generated corpus (100000)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print one JSON object"), NULL },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, N_("Keep the temporary store"), NULL },
    { NULL }
  };

  if (argc >= 2 && g_str_equal (argv[1], "mail")) return tern_cli_bench_mail (context, argc, argv);
  if (argc >= 2 && g_str_equal (argv[1], "imap")) return tern_cli_bench_imap (context, argc - 1, argv + 1);
  if (!tern_cli_parse ("bench", _("store"),
                       _("Measure Tern’s parts on this machine.  “store”: import, rows, "
                         "search, disk and memory on a generated corpus."),
                       entries, &argc, &argv))
    return TERN_CLI_EXIT_USAGE;

  if (argc != 2 || !g_str_equal (argv[1], "store") || n_messages < 100)
    {
      g_printerr (_("tern-cli bench: give “store”, and --messages of 100 or more\n"));
      return TERN_CLI_EXIT_USAGE;
    }

  return bench_store (n_messages, as_json, keep);
}
