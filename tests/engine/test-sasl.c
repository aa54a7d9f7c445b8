/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-engine.h"
#include "tern-sasl.h"

/* The published SCRAM exchanges: RFC 5802 section 5 (SCRAM-SHA-1) and
 * RFC 7677 section 3 (SCRAM-SHA-256), user "user", password "pencil". */
#define SHA1_NONCE         "fyko+d2lbbFgONRv9qkxdawL"
#define SHA1_CLIENT_FIRST  "n,,n=user,r=" SHA1_NONCE
#define SHA1_SERVER_FIRST  "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define SHA1_CLIENT_FINAL  "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j," \
                           "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define SHA1_SERVER_FINAL  "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

#define SHA256_NONCE        "rOprNGfwEbeRWgbNEkqO"
#define SHA256_CLIENT_FIRST "n,,n=user,r=" SHA256_NONCE
#define SHA256_SERVER_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
                            "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define SHA256_CLIENT_FINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
                            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define SHA256_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static GBytes *
bytes (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static void
assert_bytes_equal (GBytes     *actual,
                    const void *expected,
                    gsize       expected_len)
{
  gsize len = 0;
  const void *data;

  g_assert_nonnull (actual);
  data = g_bytes_get_data (actual, &len);
  g_assert_cmpmem (data, len, expected, expected_len);
}

static void
assert_bytes_str (GBytes     *actual,
                  const char *expected)
{
  assert_bytes_equal (actual, expected, strlen (expected));
}

static GBytes *
step_str (TernSasl   *sasl,
          const char *challenge,
          GError    **error)
{
  g_autoptr(GBytes) challenge_bytes = bytes (challenge);

  return tern_sasl_step (sasl, challenge_bytes, error);
}

/* A SCRAM exchange with a known nonce, its client-first already sent. */
static TernSasl *
scram_started (const char *mechanism,
               const char *password,
               const char *nonce)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) first = NULL;
  TernSasl *sasl = tern_sasl_new (mechanism, "user", password, &error);

  g_assert_no_error (error);
  tern_sasl_set_nonce_for_testing (sasl, nonce);
  g_assert_true (tern_sasl_get_initial_response (sasl, &first));
  return sasl;
}

static void
test_scram_sha1_rfc5802_example (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("SCRAM-SHA-1", "user", "pencil", &error);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) final = NULL;
  g_autoptr(GBytes) last = NULL;

  g_assert_no_error (error);
  tern_sasl_set_nonce_for_testing (sasl, SHA1_NONCE);

  g_assert_true (tern_sasl_get_initial_response (sasl, &first));
  assert_bytes_str (first, SHA1_CLIENT_FIRST);
  g_assert_false (tern_sasl_is_complete (sasl));

  final = step_str (sasl, SHA1_SERVER_FIRST, &error);
  g_assert_no_error (error);
  assert_bytes_str (final, SHA1_CLIENT_FINAL);
  g_assert_false (tern_sasl_is_complete (sasl));

  last = step_str (sasl, SHA1_SERVER_FINAL, &error);
  g_assert_no_error (error);
  assert_bytes_str (last, "");
  g_assert_true (tern_sasl_is_complete (sasl));
  g_assert_true (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_no_error (error);
}

static void
test_scram_sha256_rfc7677_example (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("scram-sha-256", "user", "pencil", &error);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) final = NULL;
  g_autoptr(GBytes) last = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (tern_sasl_get_mechanism (sasl), ==, "SCRAM-SHA-256");
  tern_sasl_set_nonce_for_testing (sasl, SHA256_NONCE);

  g_assert_true (tern_sasl_get_initial_response (sasl, &first));
  assert_bytes_str (first, SHA256_CLIENT_FIRST);

  final = step_str (sasl, SHA256_SERVER_FIRST, &error);
  g_assert_no_error (error);
  assert_bytes_str (final, SHA256_CLIENT_FINAL);

  last = step_str (sasl, SHA256_SERVER_FINAL, &error);
  g_assert_no_error (error);
  assert_bytes_str (last, "");
  g_assert_true (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_no_error (error);
}

/* Without SASL-IR the server opens with an empty challenge, and may send
 * its signature as additional data of the success reply instead. */
static void
test_scram_without_initial_response_and_final_in_success (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("SCRAM-SHA-256", "user", "pencil", &error);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) final = NULL;
  g_autoptr(GBytes) success_data = bytes (SHA256_SERVER_FINAL);

  g_assert_no_error (error);
  tern_sasl_set_nonce_for_testing (sasl, SHA256_NONCE);

  first = tern_sasl_step (sasl, NULL, &error);
  g_assert_no_error (error);
  assert_bytes_str (first, SHA256_CLIENT_FIRST);

  final = step_str (sasl, SHA256_SERVER_FIRST, &error);
  g_assert_no_error (error);
  assert_bytes_str (final, SHA256_CLIENT_FINAL);

  g_assert_true (tern_sasl_verify_final (sasl, success_data, &error));
  g_assert_no_error (error);
  g_assert_true (tern_sasl_is_complete (sasl));
}

/* The password and username go through SASLprep before hashing: a soft
 * hyphen is mapped to nothing, so the RFC exchange still comes out. */
static void
test_scram_prepares_username_and_password (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("SCRAM-SHA-1", "us\xc2\xad" "er",
                                            "pen\xc2\xad" "cil", &error);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) final = NULL;

  g_assert_no_error (error);
  tern_sasl_set_nonce_for_testing (sasl, SHA1_NONCE);
  g_assert_true (tern_sasl_get_initial_response (sasl, &first));
  assert_bytes_str (first, SHA1_CLIENT_FIRST);
  final = step_str (sasl, SHA1_SERVER_FIRST, &error);
  g_assert_no_error (error);
  assert_bytes_str (final, SHA1_CLIENT_FINAL);
}

static void
test_scram_rejects_wrong_server_signature (void)
{
  const char *bad_finals[] = {
    "v=rmF8pqV8S7suAoZWja4dJRkFsKQ=",                     /* one bit off */
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",     /* SHA-256 length */
    "v=",
    "v=rmF9pqV8S7suAoZWja4dJRkFsK==",                     /* short */
    "v=rmF9pqV8S7suAoZWja4dJRkF!KQ=",                     /* not base64 */
    "x=rmF9pqV8S7suAoZWja4dJRkFsKQ=",                     /* no v= at all */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_finals); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
      g_autoptr(GBytes) final = step_str (sasl, SHA1_SERVER_FIRST, &error);
      g_autoptr(GBytes) last = NULL;

      g_assert_no_error (error);
      g_assert_nonnull (final);
      last = step_str (sasl, bad_finals[i], &error);
      g_assert_null (last);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED);
      g_assert_false (tern_sasl_is_complete (sasl));
      g_clear_error (&error);

      /* A success reply afterwards must not make the session trusted. */
      g_assert_false (tern_sasl_verify_final (sasl, NULL, &error));
      g_assert_nonnull (error);
    }
}

/* A server that says OK without ever sending its signature has not shown
 * that it knows the password. */
static void
test_scram_success_without_signature_is_not_verified (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-256", "pencil", SHA256_NONCE);
  g_autoptr(GBytes) final = step_str (sasl, SHA256_SERVER_FIRST, &error);

  g_assert_no_error (error);
  g_assert_nonnull (final);
  g_assert_false (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED);
}

static void
test_scram_success_before_server_first_is_not_verified (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-256", "pencil", SHA256_NONCE);

  g_assert_false (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED);
}

static void
test_scram_rejects_nonce_not_extending_ours (void)
{
  const char *bad_firsts[] = {
    /* someone else's nonce */
    "r=xxxx+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    /* ours, with nothing added */
    "r=" SHA1_NONCE ",s=QSXCR+Q6sek8bf92,i=4096",
    /* ours cut short */
    "r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096",
    /* ours with a space added */
    "r=" SHA1_NONCE " abc,s=QSXCR+Q6sek8bf92,i=4096",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_firsts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
      g_autoptr(GBytes) final = step_str (sasl, bad_firsts[i], &error);

      g_assert_null (final);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED);
    }
}

static void
test_scram_refuses_absurd_iteration_counts (void)
{
  const char *bad_counts[] = {
    "0", "1000001", "4294967297", "99999999999999999999999", "-4096", "+4096", "4096x",
    "", " 4096", "0x1000",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_counts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-256", "pencil", SHA256_NONCE);
      g_autofree char *first = g_strdup_printf ("r=" SHA256_NONCE "srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                                                "i=%s", bad_counts[i]);
      g_autoptr(GBytes) final = step_str (sasl, first, &error);

      g_assert_null (final);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE);
    }
}

/* Fewer than 4096 iterations still logs in (servers do that) but is logged;
 * the bounds themselves are accepted. */
static void
test_scram_accepts_low_iteration_count_with_a_message (void)
{
  const struct {
    const char *count;
    gboolean logged;
  } cases[] = {
    { "1", TRUE },
    { "4095", TRUE },
    { "4096", FALSE },
    { "1000000", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
      g_autofree char *first = g_strdup_printf ("r=" SHA1_NONCE "srv,s=QSXCR+Q6sek8bf92,i=%s",
                                                cases[i].count);
      g_autoptr(GBytes) final = NULL;

      if (cases[i].logged)
        g_test_expect_message ("tern-engine", G_LOG_LEVEL_MESSAGE, "*only*iterations*");
      final = step_str (sasl, first, &error);
      g_test_assert_expected_messages ();
      g_assert_no_error (error);
      g_assert_nonnull (final);
      g_assert_true (g_str_has_prefix (g_bytes_get_data (final, NULL),
                                       "c=biws,r=" SHA1_NONCE "srv,p="));
    }
}

static void
test_scram_rejects_malformed_server_first (void)
{
  const struct {
    const char *first;
    TernSaslError code;
  } cases[] = {
    { "", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "s=QSXCR+Q6sek8bf92,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=QSXCR+Q6sek8bf92", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,i=4096,s=QSXCR+Q6sek8bf92", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=QSXCR+Q6sek8bf9,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=QSXCR*Q6sek8bf92,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=QSXC=+Q6sek8bf92,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=====,i=4096", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=QSXCR+Q6sek8bf92,i=4096,\x01", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "r=" SHA1_NONCE "srv,s=QSXCR+Q6sek8bf92,i=4096,\xff", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "garbage", TERN_SASL_ERROR_BAD_CHALLENGE },
    { ",,,", TERN_SASL_ERROR_BAD_CHALLENGE },
    { "m=ext,r=" SHA1_NONCE "srv,s=QSXCR+Q6sek8bf92,i=4096", TERN_SASL_ERROR_UNSUPPORTED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
      g_autoptr(GBytes) final = step_str (sasl, cases[i].first, &error);

      g_test_message ("server-first case %" G_GSIZE_FORMAT, i);
      g_assert_null (final);
      g_assert_error (error, TERN_SASL_ERROR, (gint) cases[i].code);
    }
}

static void
test_scram_rejects_nul_and_oversized_challenges (void)
{
  static const char with_nul[] = "r=" SHA1_NONCE "srv\0,s=QSXCR+Q6sek8bf92,i=4096";
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
  g_autoptr(TernSasl) sasl2 = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
  g_autoptr(GBytes) nul_challenge = g_bytes_new (with_nul, sizeof with_nul - 1);
  g_autofree char *huge = g_malloc (TERN_SASL_MAX_CHALLENGE + 1);
  g_autoptr(GBytes) huge_challenge = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GBytes) response2 = NULL;

  response = tern_sasl_step (sasl, nul_challenge, &error);
  g_assert_null (response);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE);
  g_clear_error (&error);

  memset (huge, 'a', TERN_SASL_MAX_CHALLENGE + 1);
  huge_challenge = g_bytes_new (huge, TERN_SASL_MAX_CHALLENGE + 1);
  response2 = tern_sasl_step (sasl2, huge_challenge, &error);
  g_assert_null (response2);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE);
}

static void
test_scram_server_error_attribute_is_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = scram_started ("SCRAM-SHA-1", "pencil", SHA1_NONCE);
  g_autoptr(GBytes) final = step_str (sasl, SHA1_SERVER_FIRST, &error);
  g_autoptr(GBytes) last = NULL;

  g_assert_no_error (error);
  last = step_str (sasl, "e=invalid-proof", &error);
  g_assert_null (last);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "invalid-proof"));
}

static void
test_scram_escapes_username_and_authzid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("SCRAM-SHA-256", "a=b,c", "pencil", &error);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) final = NULL;
  g_autofree char *gs2_b64 = g_base64_encode ((const guchar *) "n,a=ad=3Dmin=2C,", 16);
  g_autofree char *expected_prefix = g_strdup_printf ("c=%s,r=nonce1srv,p=", gs2_b64);

  g_assert_no_error (error);
  g_assert_true (tern_sasl_set_authzid (sasl, "ad=min,", &error));
  g_assert_no_error (error);
  tern_sasl_set_nonce_for_testing (sasl, "nonce1");
  g_assert_true (tern_sasl_get_initial_response (sasl, &first));
  assert_bytes_str (first, "n,a=ad=3Dmin=2C,n=a=3Db=2Cc,r=nonce1");

  final = step_str (sasl, "r=nonce1srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (g_bytes_get_data (final, NULL), expected_prefix));
}

static void
test_scram_nonce_is_random (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) a = tern_sasl_new ("SCRAM-SHA-256", "user", "pencil", &error);
  g_autoptr(TernSasl) b = tern_sasl_new ("SCRAM-SHA-256", "user", "pencil", &error);
  g_autoptr(GBytes) first_a = NULL;
  g_autoptr(GBytes) first_b = NULL;
  const char *nonce_a;
  const char *nonce_b;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_get_initial_response (a, &first_a));
  g_assert_true (tern_sasl_get_initial_response (b, &first_b));
  nonce_a = strstr (g_bytes_get_data (first_a, NULL), ",r=");
  nonce_b = strstr (g_bytes_get_data (first_b, NULL), ",r=");
  g_assert_nonnull (nonce_a);
  g_assert_nonnull (nonce_b);
  g_assert_cmpuint (strlen (nonce_a + 3), >=, 24);
  g_assert_null (strchr (nonce_a + 3, ','));
  g_assert_cmpstr (nonce_a, !=, nonce_b);
}

static void
test_scram_refuses_unpreparable_password (void)
{
  const char *bad[] = { "pass\x07word", "pass\xe2\x80\xaeword", "\xee\x80\x80", "\xc2\xad",
                        "\xff" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = tern_sasl_new ("SCRAM-SHA-256", "user", bad[i], &error);

      g_assert_null (sasl);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED);
    }
}

static void
test_plain_without_authzid (void)
{
  static const char expected[] = "\0tim\0tanstaaftanstaaf";
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("PLAIN", "tim", "tanstaaftanstaaf", &error);
  g_autoptr(GBytes) response = NULL;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_get_initial_response (sasl, &response));
  assert_bytes_equal (response, expected, sizeof expected - 1);
  g_assert_true (tern_sasl_is_complete (sasl));
  g_assert_true (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_no_error (error);
}

static void
test_plain_with_authzid (void)
{
  static const char expected[] = "Ursel\0Kurt\0xipj3plmq";
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("PLAIN", "Kurt", "xipj3plmq", &error);
  g_autoptr(GBytes) response = NULL;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_set_authzid (sasl, "Ursel", &error));
  g_assert_true (tern_sasl_get_initial_response (sasl, &response));
  assert_bytes_equal (response, expected, sizeof expected - 1);
}

/* UTF-8 goes out as typed (the server prepares it), and an empty first
 * challenge gets the same response as SASL-IR would. */
static void
test_plain_utf8_after_empty_challenge (void)
{
  static const char expected[] = "\0j\xc3\xbcrgen@example.org\0p\xc3\xa4ss\xc2\xa0w\xc3\xb6rd";
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("plain", "j\xc3\xbcrgen@example.org",
                                            "p\xc3\xa4ss\xc2\xa0w\xc3\xb6rd", &error);
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GBytes) extra = NULL;

  g_assert_no_error (error);
  response = tern_sasl_step (sasl, NULL, &error);
  g_assert_no_error (error);
  assert_bytes_equal (response, expected, sizeof expected - 1);

  /* Nothing more is expected from PLAIN. */
  extra = step_str (sasl, "more?", &error);
  g_assert_null (extra);
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE);
}

static void
test_login_answers_prompts_in_order (void)
{
  const char *prompts[][2] = {
    { "Username:", "Password:" },
    { "User Name", "Password" },
    { "", "" },
    { "login:", "secret please" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (prompts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = tern_sasl_new ("LOGIN", "tim@example.org", "s3cret", &error);
      g_autoptr(GBytes) initial = NULL;
      g_autoptr(GBytes) user = NULL;
      g_autoptr(GBytes) pass = NULL;
      g_autoptr(GBytes) extra = NULL;

      g_assert_no_error (error);
      g_assert_false (tern_sasl_get_initial_response (sasl, &initial));
      g_assert_null (initial);

      user = step_str (sasl, prompts[i][0], &error);
      g_assert_no_error (error);
      assert_bytes_str (user, "tim@example.org");
      g_assert_false (tern_sasl_is_complete (sasl));

      pass = step_str (sasl, prompts[i][1], &error);
      g_assert_no_error (error);
      assert_bytes_str (pass, "s3cret");
      g_assert_true (tern_sasl_is_complete (sasl));

      extra = step_str (sasl, "Password:", &error);
      g_assert_null (extra);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE);
    }
}

static void
test_login_success_before_password_is_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("LOGIN", "tim", "s3cret", &error);
  g_autoptr(GBytes) user = step_str (sasl, "Username:", &error);

  g_assert_no_error (error);
  g_assert_false (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE);
}

static void
test_xoauth2_initial_response (void)
{
  static const char expected[] =
    "user=someuser@example.com\001"
    "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001";
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("XOAUTH2", "someuser@example.com",
                                            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
                                            &error);
  g_autoptr(GBytes) response = NULL;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_get_initial_response (sasl, &response));
  assert_bytes_equal (response, expected, sizeof expected - 1);
  g_assert_true (tern_sasl_is_complete (sasl));
  g_assert_null (tern_sasl_get_server_error (sasl));
}

static void
test_xoauth2_error_challenge (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("XOAUTH2", "someuser@example.com", "ya29.old",
                                            &error);
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GBytes) answer = NULL;
  const GError *server_error;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_get_initial_response (sasl, &response));
  answer = step_str (sasl, "{\"status\":\"401\",\"schemes\":\"bearer mac\","
                     "\"scope\":\"https://mail.google.com/\"}", &error);
  g_assert_no_error (error);
  assert_bytes_equal (answer, "", 0);

  server_error = tern_sasl_get_server_error (sasl);
  g_assert_error (server_error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID);
  g_assert_nonnull (strstr (server_error->message, "401"));
  g_assert_nonnull (strstr (server_error->message, "https://mail.google.com/"));
  g_assert_false (tern_sasl_is_complete (sasl));
  g_assert_false (tern_sasl_verify_final (sasl, NULL, &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_TOKEN_INVALID);
}

/* A status other than "token invalid", or no JSON at all, is still reported
 * and answered, never a crash. */
static void
test_xoauth2_other_error_challenges (void)
{
  const char *challenges[] = {
    "{\"status\":\"400\",\"schemes\":\"Bearer\"}",
    "{\"status\":403}",
    "not json at all",
    "[1,2,3]",
    "",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (challenges); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = tern_sasl_new ("XOAUTH2", "u@example.com", "tok", &error);
      g_autoptr(GBytes) response = NULL;
      g_autoptr(GBytes) answer = NULL;

      g_assert_true (tern_sasl_get_initial_response (sasl, &response));
      answer = step_str (sasl, challenges[i], &error);
      g_assert_no_error (error);
      assert_bytes_equal (answer, "", 0);
      g_assert_error (tern_sasl_get_server_error (sasl), TERN_SASL_ERROR,
                      TERN_SASL_ERROR_REFUSED);
    }
}

static void
test_oauthbearer_initial_response (void)
{
  /* RFC 7628 section 4.1 */
  static const char expected[] =
    "n,a=user@example.com,\001host=server.example.com\001port=143\001"
    "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";
  static const char expected_no_host[] =
    "n,a=us=2Cer@example.com,\001auth=Bearer tok\001\001";
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("OAUTHBEARER", "user@example.com",
                                            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                                            &error);
  g_autoptr(TernSasl) no_host = tern_sasl_new ("OAUTHBEARER", "us,er@example.com", "tok",
                                               &error);
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GBytes) response_no_host = NULL;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_set_server (sasl, "server.example.com", 143, &error));
  g_assert_no_error (error);
  g_assert_true (tern_sasl_get_initial_response (sasl, &response));
  assert_bytes_equal (response, expected, sizeof expected - 1);

  g_assert_true (tern_sasl_get_initial_response (no_host, &response_no_host));
  assert_bytes_equal (response_no_host, expected_no_host, sizeof expected_no_host - 1);
}

static void
test_oauthbearer_error_challenge (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) sasl = tern_sasl_new ("OAUTHBEARER", "user@example.com", "tok",
                                            &error);
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GBytes) answer = NULL;

  g_assert_no_error (error);
  g_assert_true (tern_sasl_get_initial_response (sasl, &response));
  answer = step_str (sasl, "{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
                     "\"openid-configuration\":\"https://example.com/.well-known/"
                     "openid-configuration\"}", &error);
  g_assert_no_error (error);
  assert_bytes_equal (answer, "\001", 1);
  g_assert_error (tern_sasl_get_server_error (sasl), TERN_SASL_ERROR,
                  TERN_SASL_ERROR_TOKEN_INVALID);
}

static void
test_oauth_refuses_bad_tokens (void)
{
  const char *bad[] = { "tok en", "tok\001en", "t\xc3\xb6ken", "tok\n" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = tern_sasl_new ("XOAUTH2", "u@example.com", bad[i], &error);

      g_assert_null (sasl);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED);
    }
}

static void
test_choose_mechanism (void)
{
  const char *dovecot[] = { "PLAIN", "LOGIN", "SCRAM-SHA-1", "SCRAM-SHA-256", NULL };
  const char *lower[] = { "login", "scram-sha-1", NULL };
  const char *plain_login[] = { "LOGIN", "PLAIN", NULL };
  const char *login_only[] = { "LOGIN", NULL };
  const char *gmail[] = { "XOAUTH2", "PLAIN", "PLAIN-CLIENTTOKEN", "OAUTHBEARER", NULL };
  const char *outlook[] = { "LOGIN", "XOAUTH2", NULL };
  const char *plus_only[] = { "SCRAM-SHA-256-PLUS", "CRAM-MD5", NULL };
  const char *empty[] = { NULL };

  g_assert_cmpstr (tern_sasl_choose_mechanism (dovecot, FALSE), ==, "SCRAM-SHA-256");
  g_assert_cmpstr (tern_sasl_choose_mechanism (lower, FALSE), ==, "SCRAM-SHA-1");
  g_assert_cmpstr (tern_sasl_choose_mechanism (plain_login, FALSE), ==, "PLAIN");
  g_assert_cmpstr (tern_sasl_choose_mechanism (login_only, FALSE), ==, "LOGIN");
  g_assert_cmpstr (tern_sasl_choose_mechanism (gmail, FALSE), ==, "PLAIN");
  g_assert_cmpstr (tern_sasl_choose_mechanism (gmail, TRUE), ==, "OAUTHBEARER");
  g_assert_cmpstr (tern_sasl_choose_mechanism (outlook, TRUE), ==, "XOAUTH2");
  /* A token is never offered as a password, nor a password as a token. */
  g_assert_null (tern_sasl_choose_mechanism (dovecot, TRUE));
  g_assert_null (tern_sasl_choose_mechanism ((const char * const *) outlook + 1, FALSE));
  g_assert_null (tern_sasl_choose_mechanism (plus_only, FALSE));
  g_assert_null (tern_sasl_choose_mechanism (empty, FALSE));
  g_assert_null (tern_sasl_choose_mechanism (NULL, FALSE));
}

static void
test_unknown_mechanism_is_unsupported (void)
{
  const char *unknown[] = { "CRAM-MD5", "SCRAM-SHA-256-PLUS", "GSSAPI", "", "PLAIN " };

  for (gsize i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = tern_sasl_new (unknown[i], "user", "pencil", &error);

      g_assert_null (sasl);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED);
      g_assert_false (tern_sasl_is_supported (unknown[i]));
    }
  g_assert_true (tern_sasl_is_supported ("scram-sha-256"));
}

static void
test_authzid_only_where_the_mechanism_carries_it (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernSasl) login = tern_sasl_new ("LOGIN", "tim", "pw", &error);
  g_autoptr(TernSasl) plain = tern_sasl_new ("PLAIN", "tim", "pw", &error);

  g_assert_no_error (error);
  g_assert_false (tern_sasl_set_authzid (login, "other", &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (tern_sasl_set_authzid (plain, "oth\ner", &error));
  g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED);
}

static void
test_new_refuses_empty_or_control_input (void)
{
  const char *cases[][3] = {
    { "PLAIN", "", "pw" },
    { "PLAIN", "tim", "" },
    { "LOGIN", "ti\rm", "pw" },
    { "PLAIN", "tim", "\xff" },
    { "SCRAM-SHA-1", "\xc2\xad", "pencil" },  /* empty once prepared */
    { "SCRAM-SHA-1", "us\x7f" "er", "pencil" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TernSasl) sasl = tern_sasl_new (cases[i][0], cases[i][1], cases[i][2], &error);

      g_assert_null (sasl);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED);
    }
}

static void
test_saslprep_maps (void)
{
  /* RFC 4013 section 3, plus the spaces and variation selectors. */
  const char *cases[][2] = {
    { "I\xc2\xad" "X", "IX" },                 /* soft hyphen */
    { "user", "user" },
    { "USER", "USER" },
    { "\xc2\xaa", "a" },                        /* NFKC */
    { "\xe2\x85\xa8", "IX" },                   /* ROMAN NUMERAL NINE, NFKC */
    { "a\xc2\xa0" "b", "a b" },                 /* NO-BREAK SPACE */
    { "a\xe3\x80\x80" "b", "a b" },             /* IDEOGRAPHIC SPACE */
    { "a\xe2\x80\xaf" "b", "a b" },             /* NARROW NO-BREAK SPACE */
    { "a\xe2\x80\x8b" "b", "ab" },              /* ZERO WIDTH SPACE (B.1) */
    { "a\xef\xb8\x8f" "b", "ab" },              /* VARIATION SELECTOR-16 */
    { "\xef\xbb\xbf" "ab", "ab" },              /* BOM */
    { "p\xc3\xa4ss w\xc3\xb6rd", "p\xc3\xa4ss w\xc3\xb6rd" },
    { "a\xcc\x88", "\xc3\xa4" },                /* composed by NFKC */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *prepped = tern_sasl_saslprep (cases[i][0], &error);

      g_assert_no_error (error);
      g_assert_cmpstr (prepped, ==, cases[i][1]);
    }
}

/* RFC 3454 section 6, with the examples of RFC 3454 and RFC 4013. */
static void
test_saslprep_bidi_rules (void)
{
  static const char *const allowed[] = {
    /* Right-to-left alone: Hebrew, Arabic, and Arabic digits between. */
    "\u05e9\u05dc\u05d5\u05dd",
    "\u0645\u0631\u062d\u0628\u0627",
    "\u0627\u0661\u0662\u0628",
    /* Neutral and European digits between right-to-left letters. */
    "\u05d0 1 \u05d1",
    /* Left-to-right alone, and neutrals around it. */
    "user@example.org",
    "1pass word2",
  };
  static const char *const refused[] = {
    /* Right-to-left mixed with left-to-right letters. */
    "\u05d0abc\u05d1",
    "abc\u05d0",
    /* RFC 3454 6: right-to-left must start and end the text. */
    "\u06271",
    "1\u0627",
    " \u05d0",
  };

  for (guint i = 0; i < G_N_ELEMENTS (allowed); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *prepped = tern_sasl_saslprep (allowed[i], &error);

      g_assert_no_error (error);
      g_assert_cmpstr (prepped, ==, allowed[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *prepped = tern_sasl_saslprep (refused[i], &error);

      g_assert_null (prepped);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED);
    }
}

static void
test_saslprep_rejects_prohibited (void)
{
  const char *cases[] = {
    "\x07",                    /* RFC 4013 example: BELL */
    "a\tb",
    "a\x7f" "b",
    "a\xc2\x85" "b",           /* NEXT LINE, C1 control */
    "a\xe2\x80\xa8" "b",       /* LINE SEPARATOR */
    "a\xee\x80\x80" "b",       /* private use U+E000 */
    "a\xf3\xb0\x80\x80",       /* plane 15 private use */
    "a\xef\xbf\xbe",           /* non-character U+FFFE */
    "a\xef\xb7\x90",           /* non-character U+FDD0 */
    "a\xef\xbf\xbd",           /* REPLACEMENT CHARACTER, C.6 */
    "a\xe2\xbf\xb0",           /* ideographic description, C.7 */
    "a\xe2\x80\x8e",           /* LEFT-TO-RIGHT MARK, C.8 */
    "a\xe2\x80\xae",           /* RIGHT-TO-LEFT OVERRIDE, C.8 */
    "a\xf3\xa0\x80\x81",       /* LANGUAGE TAG, C.9 */
    "a\xff" "b",               /* not UTF-8 */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *prepped = tern_sasl_saslprep (cases[i], &error);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_null (prepped);
      g_assert_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  tern_engine_init ();

  g_test_add_func ("/sasl/scram-sha-1/rfc5802-example", test_scram_sha1_rfc5802_example);
  g_test_add_func ("/sasl/scram-sha-256/rfc7677-example", test_scram_sha256_rfc7677_example);
  g_test_add_func ("/sasl/scram/works-without-initial-response-and-with-final-in-success",
                   test_scram_without_initial_response_and_final_in_success);
  g_test_add_func ("/sasl/scram/prepares-username-and-password",
                   test_scram_prepares_username_and_password);
  g_test_add_func ("/sasl/scram/rejects-wrong-server-signature",
                   test_scram_rejects_wrong_server_signature);
  g_test_add_func ("/sasl/scram/success-without-signature-is-not-verified",
                   test_scram_success_without_signature_is_not_verified);
  g_test_add_func ("/sasl/scram/success-before-server-first-is-not-verified",
                   test_scram_success_before_server_first_is_not_verified);
  g_test_add_func ("/sasl/scram/rejects-nonce-not-extending-ours",
                   test_scram_rejects_nonce_not_extending_ours);
  g_test_add_func ("/sasl/scram/refuses-absurd-iteration-counts",
                   test_scram_refuses_absurd_iteration_counts);
  g_test_add_func ("/sasl/scram/accepts-low-iteration-count-with-a-message",
                   test_scram_accepts_low_iteration_count_with_a_message);
  g_test_add_func ("/sasl/scram/rejects-malformed-server-first",
                   test_scram_rejects_malformed_server_first);
  g_test_add_func ("/sasl/scram/rejects-nul-and-oversized-challenges",
                   test_scram_rejects_nul_and_oversized_challenges);
  g_test_add_func ("/sasl/scram/server-error-attribute-is-refused",
                   test_scram_server_error_attribute_is_refused);
  g_test_add_func ("/sasl/scram/escapes-username-and-authzid",
                   test_scram_escapes_username_and_authzid);
  g_test_add_func ("/sasl/scram/nonce-is-random", test_scram_nonce_is_random);
  g_test_add_func ("/sasl/scram/refuses-unpreparable-password",
                   test_scram_refuses_unpreparable_password);
  g_test_add_func ("/sasl/plain/without-authzid", test_plain_without_authzid);
  g_test_add_func ("/sasl/plain/with-authzid", test_plain_with_authzid);
  g_test_add_func ("/sasl/plain/utf8-as-typed-after-empty-challenge",
                   test_plain_utf8_after_empty_challenge);
  g_test_add_func ("/sasl/login/answers-prompts-in-order-whatever-their-text",
                   test_login_answers_prompts_in_order);
  g_test_add_func ("/sasl/login/success-before-password-is-refused",
                   test_login_success_before_password_is_refused);
  g_test_add_func ("/sasl/xoauth2/initial-response", test_xoauth2_initial_response);
  g_test_add_func ("/sasl/xoauth2/error-challenge-answered-empty-and-reported",
                   test_xoauth2_error_challenge);
  g_test_add_func ("/sasl/xoauth2/other-error-challenges-reported",
                   test_xoauth2_other_error_challenges);
  g_test_add_func ("/sasl/oauthbearer/initial-response", test_oauthbearer_initial_response);
  g_test_add_func ("/sasl/oauthbearer/error-challenge-answered-with-ctrl-a",
                   test_oauthbearer_error_challenge);
  g_test_add_func ("/sasl/oauth/refuses-bad-tokens", test_oauth_refuses_bad_tokens);
  g_test_add_func ("/sasl/choose/strongest-for-the-kind-of-secret", test_choose_mechanism);
  g_test_add_func ("/sasl/new/unknown-mechanism-is-unsupported",
                   test_unknown_mechanism_is_unsupported);
  g_test_add_func ("/sasl/new/refuses-empty-or-control-input",
                   test_new_refuses_empty_or_control_input);
  g_test_add_func ("/sasl/authzid/only-where-the-mechanism-carries-it",
                   test_authzid_only_where_the_mechanism_carries_it);
  g_test_add_func ("/sasl/saslprep/maps-spaces-and-invisible-characters", test_saslprep_maps);
  g_test_add_func ("/sasl/saslprep/rejects-prohibited-output", test_saslprep_rejects_prohibited);
  g_test_add_func ("/sasl/saslprep/bidi-rules", test_saslprep_bidi_rules);

  return g_test_run ();
}
