/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mime-subject.h"

/*
 * Threading falls back to the subject when a message carries neither
 * In-Reply-To nor References.  Two subjects belong to one conversation when
 * they are equal once the marks that replying and forwarding add are gone:
 *
 *   - reply and forward prefixes, in any case, repeated, with an optional
 *     counter: "Re:", "RE[2]:", "Re(3):", "Fwd:", "Fw:", and the prefixes of
 *     German ("AW:", "WG:"), Nordic ("SV:", "VS:") and Dutch ("Antw:")
 *     mail programs;
 *   - mailing-list tags in square brackets, such as "[tern-devel]", but only
 *     at the start, before or between such prefixes ("[list] Re: x" and
 *     "Re: [list] x" both become "x"); a tag elsewhere is part of the
 *     subject.
 *
 * What stays is trimmed and its runs of white space are made single spaces.
 * Case is kept; callers compare the results case-insensitively.  A subject
 * made only of a tag (such as "[PATCH]") keeps it rather than becoming empty.
 */

static const char * const reply_prefixes[] = {
  "re", "fwd", "fw", "aw", "wg", "sv", "vs", "antw",
};

/* A list tag is short and holds no other bracket. */
#define MAX_TAG_BYTES 64

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *
skip_spaces (const char *p)
{
  while (is_space (*p))
    p++;
  return p;
}

/* Returns where the text after a reply prefix starts, or NULL. */
static const char *
match_prefix (const char *p)
{
  for (guint i = 0; i < G_N_ELEMENTS (reply_prefixes); i++)
    {
      gsize len = strlen (reply_prefixes[i]);
      const char *q;

      if (g_ascii_strncasecmp (p, reply_prefixes[i], len) != 0)
        continue;

      q = p + len;

      /* An optional counter such as "[2]" or "(2)". */
      if (*q == '[' || *q == '(')
        {
          char close = *q == '[' ? ']' : ')';
          const char *d = q + 1;

          while (g_ascii_isdigit (*d))
            d++;
          if (d > q + 1 && *d == close)
            q = d + 1;
        }

      while (*q == ' ' || *q == '\t')
        q++;

      if (*q == ':')
        return q + 1;
    }

  return NULL;
}

/* Returns where the text after a list tag starts, or NULL. */
static const char *
match_tag (const char *p)
{
  const char *q;

  if (*p != '[')
    return NULL;

  for (q = p + 1; *q != '\0' && q - p <= MAX_TAG_BYTES; q++)
    {
      if (*q == '[')
        return NULL;
      if (*q == ']')
        return q > p + 1 ? q + 1 : NULL;
    }

  return NULL;
}

/* Skips every leading prefix and tag; sets @had_prefix when a prefix was seen. */
static const char *
skip_marks (const char *subject,
            gboolean   *had_prefix)
{
  const char *p = skip_spaces (subject);

  *had_prefix = FALSE;

  for (;;)
    {
      const char *next;

      if ((next = match_prefix (p)) != NULL)
        *had_prefix = TRUE;
      else if ((next = match_tag (p)) != NULL && *skip_spaces (next) != '\0')
        ;
      else
        break;

      p = skip_spaces (next);
    }

  return p;
}

/**
 * tern_mime_normalize_subject:
 * @subject: (nullable): a decoded subject
 *
 * Removes what replying and forwarding add to a subject (see above).
 * Linear in the length of @subject.
 *
 * Returns: (transfer full): the subject without reply or forward prefixes
 *   and leading list tags, trimmed, its white space collapsed; "" for %NULL.
 */
char *
tern_mime_normalize_subject (const char *subject)
{
  gboolean had_prefix;
  const char *p;
  GString *out;

  if (subject == NULL)
    return g_strdup ("");

  p = skip_marks (subject, &had_prefix);
  out = g_string_sized_new (strlen (p));

  for (; *p != '\0'; p++)
    {
      if (is_space (*p))
        {
          if (out->len > 0 && out->str[out->len - 1] != ' ')
            g_string_append_c (out, ' ');
        }
      else
        {
          g_string_append_c (out, *p);
        }
    }

  if (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);

  return g_string_free (out, FALSE);
}

/**
 * tern_mime_subject_is_reply_or_forward:
 * @subject: (nullable): a decoded subject
 *
 * Returns: %TRUE when @subject starts, after any list tags, with a reply or
 *   forward prefix that tern_mime_normalize_subject() removes.
 */
gboolean
tern_mime_subject_is_reply_or_forward (const char *subject)
{
  gboolean had_prefix;

  if (subject == NULL)
    return FALSE;

  skip_marks (subject, &had_prefix);
  return had_prefix;
}
