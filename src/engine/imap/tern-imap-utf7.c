/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Mailbox names in modified UTF-7 (RFC 3501, section 5.1.3), the form
 * servers use for names outside ASCII unless UTF8=ACCEPT is enabled.
 * Printable ASCII stands for itself ("&" as "&-"); everything else is UTF-16
 * in a base64 variant ("," for "/", no padding) between "&" and "-".
 *
 * Decoding is strict: any form an encoder should not produce is an error,
 * so a name never decodes to invalid UTF-8, and two different names never
 * decode to the same text.
 */

#include "config.h"

#include <string.h>

#include "tern-imap-utf7.h"

static const char b64_chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static gint
b64_value (guchar c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == ',')
    return 63;
  return -1;
}

static void
flush_run (GString *out,
           GArray  *units)
{
  guint32 bits = 0;
  guint n_bits = 0;

  if (units->len == 0)
    return;

  g_string_append_c (out, '&');
  for (guint i = 0; i < units->len; i++)
    {
      guint16 unit = g_array_index (units, guint16, i);

      bits = (bits << 16) | unit;
      n_bits += 16;
      while (n_bits >= 6)
        {
          n_bits -= 6;
          g_string_append_c (out, b64_chars[(bits >> n_bits) & 0x3f]);
        }
    }
  if (n_bits > 0)
    g_string_append_c (out, b64_chars[(bits << (6 - n_bits)) & 0x3f]);
  g_string_append_c (out, '-');
  g_array_set_size (units, 0);
}

/**
 * tern_imap_utf7_encode:
 * @utf8: a mailbox name in UTF-8
 * @error: return location for an error
 *
 * Returns: (transfer full): @utf8 in modified UTF-7, or %NULL with
 *   %TERN_IMAP_ERROR_INVALID_NAME when @utf8 is not valid UTF-8
 */
char *
tern_imap_utf7_encode (const char  *utf8,
                       GError     **error)
{
  g_autoptr(GArray) units = g_array_new (FALSE, FALSE, sizeof (guint16));
  GString *out;

  if (!g_utf8_validate (utf8, -1, NULL))
    {
      g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME,
                   "The mailbox name is not valid UTF-8");
      return NULL;
    }

  out = g_string_new (NULL);
  for (const char *p = utf8; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c >= 0x20 && c <= 0x7e)
        {
          flush_run (out, units);
          if (c == '&')
            g_string_append (out, "&-");
          else
            g_string_append_c (out, (char) c);
        }
      else if (c > 0xffff)
        {
          guint16 high = 0xd800 + ((c - 0x10000) >> 10);
          guint16 low = 0xdc00 + ((c - 0x10000) & 0x3ff);

          g_array_append_val (units, high);
          g_array_append_val (units, low);
        }
      else
        {
          guint16 unit = c;

          g_array_append_val (units, unit);
        }
    }
  flush_run (out, units);
  return g_string_free (out, FALSE);
}

static char *
invalid (GString     *out,
         GError     **error,
         gsize        offset,
         const char  *why)
{
  g_string_free (out, TRUE);
  g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME,
               "Invalid modified UTF-7 mailbox name at byte %" G_GSIZE_FORMAT ": %s",
               offset, why);
  return NULL;
}

/**
 * tern_imap_utf7_decode:
 * @mutf7: (array length=len): a mailbox name in modified UTF-7
 * @len: its length in bytes, or -1 when it ends with a NUL
 * @error: return location for an error
 *
 * Returns: (transfer full): the name in UTF-8, or %NULL with
 *   %TERN_IMAP_ERROR_INVALID_NAME when @mutf7 is not strictly valid
 *   modified UTF-7 (bytes outside printable ASCII, bad base64, an
 *   unterminated or needlessly encoded run, unpaired surrogates, NUL)
 */
char *
tern_imap_utf7_decode (const char  *mutf7,
                       gssize       len,
                       GError     **error)
{
  gsize n = len < 0 ? strlen (mutf7) : (gsize) len;
  GString *out = g_string_sized_new (n);
  gsize i = 0;

  while (i < n)
    {
      guchar c = mutf7[i];
      guint32 bits = 0;
      guint n_bits = 0;
      gunichar high = 0;
      gsize run_start;

      if (c < 0x20 || c > 0x7e)
        return invalid (out, error, i, "a byte outside printable ASCII");
      if (c != '&')
        {
          g_string_append_c (out, c);
          i++;
          continue;
        }
      if (i + 1 < n && mutf7[i + 1] == '-')
        {
          g_string_append_c (out, '&');
          i += 2;
          continue;
        }

      run_start = ++i;
      while (i < n && mutf7[i] != '-')
        {
          gint v = b64_value (mutf7[i]);

          if (v < 0)
            return invalid (out, error, i, "a byte that is not modified base64");
          bits = (bits << 6) | (guint32) v;
          n_bits += 6;
          if (n_bits >= 16)
            {
              gunichar unit;

              n_bits -= 16;
              unit = (bits >> n_bits) & 0xffff;
              bits &= (1u << n_bits) - 1;

              if (high != 0)
                {
                  if (unit < 0xdc00 || unit > 0xdfff)
                    return invalid (out, error, i, "an unpaired UTF-16 surrogate");
                  g_string_append_unichar (out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
                  high = 0;
                }
              else if (unit >= 0xd800 && unit <= 0xdbff)
                high = unit;
              else if (unit >= 0xdc00 && unit <= 0xdfff)
                return invalid (out, error, i, "an unpaired UTF-16 surrogate");
              else if (unit == 0)
                return invalid (out, error, i, "a NUL character");
              else if (unit >= 0x20 && unit <= 0x7e)
                return invalid (out, error, i, "printable ASCII encoded in base64");
              else
                g_string_append_unichar (out, unit);
            }
          i++;
        }
      if (i >= n)
        return invalid (out, error, run_start - 1, "a base64 run without its closing \"-\"");
      if (high != 0)
        return invalid (out, error, i, "an unpaired UTF-16 surrogate");
      if (n_bits >= 6 || bits != 0)
        return invalid (out, error, i, "base64 that does not end on a character");
      if (i == run_start)
        return invalid (out, error, i, "an empty base64 run");
      i++;
    }

  return g_string_free (out, FALSE);
}

/**
 * tern_imap_mailbox_name_decode:
 * @value: a mailbox name as the server sent it (an atom or a string)
 * @utf8_accepted: whether UTF8=ACCEPT is enabled, so that the server sends
 *   names in UTF-8 rather than modified UTF-7
 * @error: return location for an error
 *
 * Returns: (transfer full): the name in UTF-8, "INBOX" in upper case
 *   whatever its case was, or %NULL with %TERN_IMAP_ERROR_INVALID_NAME
 */
char *
tern_imap_mailbox_name_decode (const TernImapValue  *value,
                               gboolean              utf8_accepted,
                               GError              **error)
{
  if (value == NULL ||
      (value->kind != TERN_IMAP_VALUE_ATOM && value->kind != TERN_IMAP_VALUE_NUMBER &&
       value->kind != TERN_IMAP_VALUE_STRING))
    {
      g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME,
                   "A mailbox name must be an atom or a string");
      return NULL;
    }

  if (g_ascii_strcasecmp (value->str, "INBOX") == 0 && value->len == 5)
    return g_strdup ("INBOX");

  if (!utf8_accepted)
    return tern_imap_utf7_decode (value->str, value->len, error);

  if (!g_utf8_validate_len (value->str, value->len, NULL))
    {
      g_set_error (error, TERN_IMAP_ERROR, TERN_IMAP_ERROR_INVALID_NAME,
                   "The mailbox name is not valid UTF-8");
      return NULL;
    }
  return g_strndup (value->str, value->len);
}
