/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * libFuzzer target for the autoconfig XML parser, which reads files from
 * any web server (plain HTTP included).  Whatever the input, the parser
 * returns a result or an error, never both; a result has a valid host, a
 * port and an encryption for both servers, and its text is valid UTF-8.
 */

#include "config.h"

#include <string.h>

#include "tern-autoconfig.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static void
check_host (const char *host)
{
  g_assert_nonnull (host);
  g_assert_true (g_utf8_validate (host, -1, NULL));
  g_assert_cmpuint (strlen (host), >, 0);
  g_assert_cmpuint (strlen (host), <=, 253);
  g_assert_null (strpbrk (host, " /@\r\n"));
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;

  result = tern_autoconfig_parse_xml ((const char *) data, size, "ada@example.com", &error);
  if (result == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (g_error_matches (error, TERN_AUTOCONFIG_ERROR,
                                      TERN_AUTOCONFIG_ERROR_INVALID));
      return 0;
    }

  g_assert_null (error);
  check_host (result->receiving_host);
  check_host (result->sending_host);
  g_assert_cmpuint (result->receiving_port, >, 0);
  g_assert_cmpuint (result->sending_port, >, 0);
  g_assert_true (result->receiving_security != TERN_SECURITY_NONE);
  g_assert_true (result->sending_security != TERN_SECURITY_NONE);
  g_assert_true (g_utf8_validate (result->receiving_username, -1, NULL));
  g_assert_true (g_utf8_validate (result->sending_username, -1, NULL));
  if (result->provider_name != NULL)
    g_assert_true (g_utf8_validate (result->provider_name, -1, NULL));

  return 0;
}
