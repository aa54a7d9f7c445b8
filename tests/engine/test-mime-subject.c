/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-mime-subject.h"

static void
assert_normalized (const char *subject,
                   const char *expected)
{
  g_autofree char *normalized = tern_mime_normalize_subject (subject);

  g_assert_cmpstr (normalized, ==, expected);
}

static void
test_subject_strips_reply_and_forward_prefixes (void)
{
  assert_normalized ("Re: Lunch", "Lunch");
  assert_normalized ("RE: Lunch", "Lunch");
  assert_normalized ("Fwd: Lunch", "Lunch");
  assert_normalized ("FW: Lunch", "Lunch");
  assert_normalized ("AW: Mittagessen", "Mittagessen");
  assert_normalized ("WG: Mittagessen", "Mittagessen");
  assert_normalized ("SV: Lunsj", "Lunsj");
  assert_normalized ("Antw: Lunch", "Lunch");
  assert_normalized ("Re : Lunch", "Lunch");
}

static void
test_subject_strips_repeated_prefixes_with_counters (void)
{
  assert_normalized ("Re: Re: Fwd: RE: Lunch", "Lunch");
  assert_normalized ("Re[2]: Lunch", "Lunch");
  assert_normalized ("Re(3): AW[12]: Lunch", "Lunch");
  assert_normalized ("Re:Re:Lunch", "Lunch");
}

static void
test_subject_strips_leading_list_tags (void)
{
  assert_normalized ("[tern-devel] Re: Build fails", "Build fails");
  assert_normalized ("Re: [tern-devel] Build fails", "Build fails");
  assert_normalized ("Re: [tern-devel] Re: [tern-devel] Build fails", "Build fails");
}

static void
test_subject_keeps_tags_later_in_the_subject (void)
{
  assert_normalized ("Re: Build fails [linux]", "Build fails [linux]");
  assert_normalized ("Build [1] of 3", "Build [1] of 3");
}

static void
test_subject_keeps_a_subject_made_only_of_a_tag (void)
{
  assert_normalized ("[PATCH]", "[PATCH]");
  assert_normalized ("Re: [PATCH]", "[PATCH]");
}

static void
test_subject_collapses_white_space (void)
{
  assert_normalized ("  Re:   Lunch \t at\r\n noon  ", "Lunch at noon");
  assert_normalized ("", "");
  assert_normalized ("Re:", "");
}

static void
test_subject_keeps_words_that_start_like_prefixes (void)
{
  assert_normalized ("Research: results", "Research: results");
  assert_normalized ("Reply needed", "Reply needed");
  assert_normalized ("Fwiw: notes", "Fwiw: notes");
  assert_normalized ("Svar: ja", "Svar: ja");
  assert_normalized ("Re[x]: odd counter", "Re[x]: odd counter");
}

static void
test_subject_detects_reply_or_forward (void)
{
  g_assert_true (tern_mime_subject_is_reply_or_forward ("Re: Lunch"));
  g_assert_true (tern_mime_subject_is_reply_or_forward ("[list] Fwd: Lunch"));
  g_assert_true (tern_mime_subject_is_reply_or_forward ("  aw: Mittag"));
  g_assert_false (tern_mime_subject_is_reply_or_forward ("Lunch"));
  g_assert_false (tern_mime_subject_is_reply_or_forward ("[list] Lunch"));
  g_assert_false (tern_mime_subject_is_reply_or_forward ("Research: results"));
  g_assert_false (tern_mime_subject_is_reply_or_forward (NULL));
}

static void
test_subject_null_is_empty (void)
{
  assert_normalized (NULL, "");
}

static void
test_subject_long_subjects_take_linear_time (void)
{
  GString *subject = g_string_new (NULL);
  g_autofree char *normalized = NULL;

  for (guint i = 0; i < 200000; i++)
    g_string_append (subject, "Re: [a] ");
  g_string_append (subject, "end");

  normalized = tern_mime_normalize_subject (subject->str);
  g_assert_cmpstr (normalized, ==, "end");
  g_string_free (subject, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mime/subject/strips-reply-and-forward-prefixes", test_subject_strips_reply_and_forward_prefixes);
  g_test_add_func ("/mime/subject/strips-repeated-prefixes-with-counters", test_subject_strips_repeated_prefixes_with_counters);
  g_test_add_func ("/mime/subject/strips-leading-list-tags", test_subject_strips_leading_list_tags);
  g_test_add_func ("/mime/subject/keeps-tags-later-in-the-subject", test_subject_keeps_tags_later_in_the_subject);
  g_test_add_func ("/mime/subject/keeps-a-subject-made-only-of-a-tag", test_subject_keeps_a_subject_made_only_of_a_tag);
  g_test_add_func ("/mime/subject/collapses-white-space", test_subject_collapses_white_space);
  g_test_add_func ("/mime/subject/keeps-words-that-start-like-prefixes", test_subject_keeps_words_that_start_like_prefixes);
  g_test_add_func ("/mime/subject/detects-reply-or-forward", test_subject_detects_reply_or_forward);
  g_test_add_func ("/mime/subject/null-is-empty", test_subject_null_is_empty);
  g_test_add_func ("/mime/subject/long-subjects-take-linear-time", test_subject_long_subjects_take_linear_time);

  return g_test_run ();
}
