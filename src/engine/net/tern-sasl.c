/* SPDX-License-Identifier: GPL-3.0-or-later */

/*
 * Client-side SASL mechanisms for the IMAP, POP3 and SMTP engines.
 *
 * PLAIN (RFC 4616) and LOGIN send the password as given; the server, not
 * Tern, prepares it.  SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677)
 * prepare username and password with SASLprep (see tern_sasl_saslprep() for
 * the part of RFC 4013 Tern implements), never bind to the TLS channel (the
 * GS2 header is always "n"), and insist that the server proves it knows the
 * password before the exchange counts as done.  XOAUTH2 (the Google and
 * Microsoft format) and OAUTHBEARER (RFC 7628) send a bearer token and turn
 * the server's JSON error challenge into an error the account can act on.
 *
 * Everything that holds a password, a token or a key derived from them is
 * wiped before it is freed: the object's own copies, the intermediate keys,
 * and the response bytes handed to the engine.
 */

#include "config.h"

#include <fribidi.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <json-glib/json-glib.h>

#include "tern-sasl.h"

G_DEFINE_QUARK (tern-sasl-error-quark, tern_sasl_error)

/* Bytes of randomness in a SCRAM client nonce: 144 bits, 24 base64 chars. */
#define NONCE_BYTES 18

/* Longest piece of server text quoted in an error message. */
#define MAX_QUOTED_CHARS 200

typedef enum {
  MECH_PLAIN,
  MECH_LOGIN,
  MECH_SCRAM_SHA_1,
  MECH_SCRAM_SHA_256,
  MECH_XOAUTH2,
  MECH_OAUTHBEARER,
} Mechanism;

static const struct {
  const char *name;
  Mechanism mech;
} mechanisms[] = {
  { "PLAIN", MECH_PLAIN },
  { "LOGIN", MECH_LOGIN },
  { "SCRAM-SHA-1", MECH_SCRAM_SHA_1 },
  { "SCRAM-SHA-256", MECH_SCRAM_SHA_256 },
  { "XOAUTH2", MECH_XOAUTH2 },
  { "OAUTHBEARER", MECH_OAUTHBEARER },
};

/* The order tern_sasl_choose_mechanism() prefers, strongest first. */
static const char * const password_preference[] = {
  "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", NULL,
};
static const char * const oauth_preference[] = {
  "OAUTHBEARER", "XOAUTH2", NULL,
};

typedef enum {
  STATE_START,            /* nothing sent yet */
  STATE_LOGIN_USER_SENT,  /* LOGIN: the username went out */
  STATE_SCRAM_FIRST_SENT, /* SCRAM: client-first went out */
  STATE_SCRAM_FINAL_SENT, /* SCRAM: client-final went out, proof expected */
  STATE_DONE,             /* all sent and, for SCRAM, the server verified */
  STATE_FAILED,
} State;

struct _TernSasl {
  Mechanism mech;
  const char *name;
  State state;

  /* SCRAM: after SASLprep and with "=" and "," escaped. */
  char *username;
  /* The password or the token; SCRAM: after SASLprep.  Wiped on free. */
  char *secret;
  char *authzid;
  char *host;
  guint16 port;

  /* SCRAM state. */
  char *nonce;
  char *gs2_header;
  char *client_first_bare;
  gnutls_mac_algorithm_t mac;
  gnutls_digest_algorithm_t digest;
  gsize hash_len;
  guint8 server_signature[64];

  GError *server_error;
};

/* Memory handling for secrets */

static void
wipe_string (char *str)
{
  if (str != NULL)
    {
      gnutls_memset (str, 0, strlen (str));
      g_free (str);
    }
}

typedef struct {
  gsize len;
  guint8 data[];
} WipedBlock;

static void
wiped_block_free (gpointer data)
{
  WipedBlock *block = data;

  gnutls_memset (block->data, 0, block->len);
  g_free (block);
}

/* A copy of @data in a GBytes that wipes its memory when it is freed. */
static GBytes *
bytes_new_wiped (const void *data,
                 gsize       len)
{
  WipedBlock *block = g_malloc (sizeof (WipedBlock) + len + 1);

  block->len = len;
  if (len > 0)
    memcpy (block->data, data, len);
  block->data[len] = '\0';
  return g_bytes_new_with_free_func (block->data, len, wiped_block_free, block);
}

/* Responses are built in a GString sized up front, so that growing it
 * never leaves a copy of a secret behind in freed memory. */
static GString *
secret_string_new (gsize hint)
{
  return g_string_sized_new (hint + 256);
}

static GBytes *
secret_string_free_to_bytes (GString *str)
{
  GBytes *bytes = bytes_new_wiped (str->str, str->len);

  gnutls_memset (str->str, 0, str->allocated_len);
  g_string_free (str, TRUE);
  return bytes;
}

/* Small helpers */

static gboolean
lookup_mechanism (const char *name,
                  Mechanism  *mech,
                  const char **canonical)
{
  for (gsize i = 0; i < G_N_ELEMENTS (mechanisms); i++)
    {
      if (g_ascii_strcasecmp (name, mechanisms[i].name) == 0)
        {
          *mech = mechanisms[i].mech;
          *canonical = mechanisms[i].name;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
is_scram (const TernSasl *self)
{
  return self->mech == MECH_SCRAM_SHA_1 || self->mech == MECH_SCRAM_SHA_256;
}

static gboolean
is_oauth (const TernSasl *self)
{
  return self->mech == MECH_XOAUTH2 || self->mech == MECH_OAUTHBEARER;
}

static gboolean
has_control_chars (const char *str)
{
  for (const guchar *p = (const guchar *) str; *p != '\0'; p++)
    {
      if (*p < 0x20 || *p == 0x7f)
        return TRUE;
    }
  return FALSE;
}

/* Server text made fit for an error message: valid UTF-8, no control
 * characters, not too long. */
static char *
quote_server_text (const char *text,
                   gssize      len)
{
  g_autofree char *valid = g_utf8_make_valid (text, len);
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      if (n == MAX_QUOTED_CHARS)
        {
          g_string_append (out, "…");
          break;
        }
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* "=" and "," escaped as RFC 5802 and RFC 7628 ask for names in a GS2
 * header or a SCRAM attribute. */
static char *
escape_saslname (const char *name)
{
  GString *out = g_string_sized_new (strlen (name) + 8);

  for (const char *p = name; *p != '\0'; p++)
    {
      if (*p == '=')
        g_string_append (out, "=3D");
      else if (*p == ',')
        g_string_append (out, "=2C");
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/* g_base64_decode() skips characters that are not base64; a salt or a
 * signature from a server must be exactly base64 or it is refused. */
static guint8 *
base64_decode_strict (const char *text,
                      gsize      *out_len)
{
  gsize len = strlen (text);

  if (len == 0 || len % 4 != 0)
    return NULL;
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (g_ascii_isalnum (c) || c == '+' || c == '/')
        continue;
      if (c == '=' && (i == len - 1 || (i == len - 2 && text[len - 1] == '=')))
        continue;
      return NULL;
    }
  return g_base64_decode (text, out_len);
}

/* The challenge as a NUL-terminated string, refused when it holds a NUL or
 * is longer than any real one. */
static char *
challenge_to_string (GBytes  *challenge,
                     GError **error)
{
  const char *data;
  gsize len = 0;

  if (challenge == NULL || g_bytes_get_size (challenge) == 0)
    return g_strdup ("");
  data = g_bytes_get_data (challenge, &len);
  if (len > TERN_SASL_MAX_CHALLENGE)
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                   "The server sent a challenge of %" G_GSIZE_FORMAT " bytes", len);
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                           "The server sent a challenge with a NUL byte in it");
      return NULL;
    }
  return g_strndup (data, len);
}

static gsize
bytes_size (GBytes *bytes)
{
  return bytes != NULL ? g_bytes_get_size (bytes) : 0;
}

/* SASLprep (RFC 4013) */

/* RFC 3454 table B.1: commonly mapped to nothing. */
static gboolean
maps_to_nothing (gunichar c)
{
  return c == 0x00ad || c == 0x034f || c == 0x1806 || (c >= 0x180b && c <= 0x180d) ||
         (c >= 0x200b && c <= 0x200d) || c == 0x2060 || (c >= 0xfe00 && c <= 0xfe0f) ||
         c == 0xfeff;
}

/* RFC 3454 table C.1.2: non-ASCII space characters, mapped to U+0020.
 * U+200B is in B.1 as well; B.1 wins, as in other SASLprep code. */
static gboolean
is_non_ascii_space (gunichar c)
{
  return c == 0x00a0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200b) || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

/* RFC 4013 section 2.3: tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6,
 * C.7, C.8 and C.9 of RFC 3454. */
static gboolean
is_prohibited (gunichar c)
{
  if (is_non_ascii_space (c))
    return TRUE;
  /* C.2.1 and the C0/C1 part of C.2.2 */
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
    return TRUE;
  /* C.2.2 */
  if (c == 0x06dd || c == 0x070f || c == 0x180e || c == 0x200c || c == 0x200d ||
      c == 0x2028 || c == 0x2029 || (c >= 0x2060 && c <= 0x2063) ||
      (c >= 0x206a && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffc) ||
      (c >= 0x1d173 && c <= 0x1d17a))
    return TRUE;
  /* C.3: private use */
  if ((c >= 0xe000 && c <= 0xf8ff) || (c >= 0xf0000 && c <= 0xffffd) ||
      (c >= 0x100000 && c <= 0x10fffd))
    return TRUE;
  /* C.4: non-characters */
  if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
    return TRUE;
  /* C.5: surrogates (valid UTF-8 cannot hold them, but be sure) */
  if (c >= 0xd800 && c <= 0xdfff)
    return TRUE;
  /* C.6: inappropriate for plain text */
  if (c >= 0xfff9 && c <= 0xfffd)
    return TRUE;
  /* C.7: inappropriate for canonical representation */
  if (c >= 0x2ff0 && c <= 0x2ffb)
    return TRUE;
  /* C.8: change display properties or deprecated */
  if (c == 0x0340 || c == 0x0341 || c == 0x200e || c == 0x200f ||
      (c >= 0x202a && c <= 0x202e))
    return TRUE;
  /* C.9: tagging characters */
  if (c == 0xe0001 || (c >= 0xe0020 && c <= 0xe007f))
    return TRUE;
  return FALSE;
}

/* RFC 3454 section 6: a text with any right-to-left character (bidi class
 * R or AL) holds no left-to-right one (class L), and starts and ends with
 * a right-to-left one. */
static gboolean
bidi_allowed (const char *text)
{
  gboolean has_rtl = FALSE;
  gboolean has_ltr = FALSE;
  gboolean first_rtl = FALSE;
  gboolean last_rtl = FALSE;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      FriBidiCharType type = fribidi_get_bidi_type (g_utf8_get_char (p));
      gboolean rtl = type == FRIBIDI_TYPE_RTL || type == FRIBIDI_TYPE_AL;

      if (p == text)
        first_rtl = rtl;
      last_rtl = rtl;
      has_rtl |= rtl;
      has_ltr |= type == FRIBIDI_TYPE_LTR;
    }

  return !has_rtl || (!has_ltr && first_rtl && last_rtl);
}

/**
 * tern_sasl_saslprep:
 * @text: a username or password in UTF-8
 * @error: return location for an error
 *
 * Prepares @text as SASLprep (RFC 4013) asks for a query string, in this
 * subset: the mapping of section 2.1 (non-ASCII spaces to U+0020, table
 * B.1 to nothing), normalization to NFKC, and the prohibited output of
 * section 2.3 (controls, private use, non-characters, surrogates, and
 * tables C.6 to C.9), and the bidirectional rules of section 2.4 (RFC 3454
 * section 6).  Unicode is not pinned to version 3.2: normalization uses
 * GLib's tables and the bidi classes FriBidi's.  Unassigned code points
 * are allowed, as RFC 5802 asks for SCRAM.
 *
 * The buffers that held @text on the way are wiped.
 *
 * Returns: (transfer full): the prepared text, which may be empty, or
 *   %NULL with %TERN_SASL_ERROR_PREP_FAILED when @text is not UTF-8, holds
 *   a prohibited character or mixes directions as section 2.4 forbids.  The caller should wipe it when it is a secret.
 */
char *
tern_sasl_saslprep (const char  *text,
                    GError     **error)
{
  GString *mapped;
  char *normalized;

  g_return_val_if_fail (text != NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                           "The text is not valid UTF-8");
      return NULL;
    }

  mapped = secret_string_new (strlen (text));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (maps_to_nothing (c))
        continue;
      if (is_non_ascii_space (c))
        g_string_append_c (mapped, ' ');
      else
        g_string_append_unichar (mapped, c);
    }

  normalized = g_utf8_normalize (mapped->str, mapped->len, G_NORMALIZE_NFKC);
  gnutls_memset (mapped->str, 0, mapped->allocated_len);
  g_string_free (mapped, TRUE);
  if (normalized == NULL)
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                           "The text could not be normalized");
      return NULL;
    }

  for (const char *p = normalized; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (is_prohibited (g_utf8_get_char (p)))
        {
          wipe_string (normalized);
          /* The character is not named: the text may be a password. */
          g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                               "The text holds a character SASLprep forbids (a control, "
                               "private-use, non-character or formatting code point)");
          return NULL;
        }
    }

  if (!bidi_allowed (normalized))
    {
      wipe_string (normalized);
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                           "The text mixes right-to-left and left-to-right letters in a way "
                           "SASLprep forbids");
      return NULL;
    }

  return normalized;
}

/* Choosing a mechanism */

/**
 * tern_sasl_is_supported:
 * @mechanism: a SASL mechanism name, in any case
 *
 * Returns: whether tern_sasl_new() accepts @mechanism
 */
gboolean
tern_sasl_is_supported (const char *mechanism)
{
  Mechanism mech;
  const char *canonical;

  g_return_val_if_fail (mechanism != NULL, FALSE);

  return lookup_mechanism (mechanism, &mech, &canonical);
}

/**
 * tern_sasl_choose_mechanism:
 * @server_mechanisms: (array zero-terminated=1): the mechanisms the server
 *   offers (IMAP "AUTH=" capabilities, the SMTP AUTH line, POP3 SASL), in
 *   any case
 * @have_oauth_token: whether the account signs in with an OAuth token
 *   rather than a password
 *
 * Picks the strongest mechanism the server offers for the kind of secret
 * the account has: with a password SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, LOGIN
 * in that order; with a token OAUTHBEARER, then XOAUTH2.  A token is never
 * sent as a password, nor a password as a token.  Channel-binding variants
 * ("-PLUS") are not chosen.  Whether a password mechanism may be used on
 * the connection at all (TLS) is the engine's decision, not this one's.
 *
 * Returns: (transfer none) (nullable): the mechanism's name in upper case,
 *   a static string, or %NULL when the server offers nothing usable
 */
const char *
tern_sasl_choose_mechanism (const char * const *server_mechanisms,
                            gboolean            have_oauth_token)
{
  const char * const *order = have_oauth_token ? oauth_preference : password_preference;

  if (server_mechanisms == NULL)
    return NULL;

  for (gsize i = 0; order[i] != NULL; i++)
    {
      for (gsize j = 0; server_mechanisms[j] != NULL; j++)
        {
          if (g_ascii_strcasecmp (order[i], server_mechanisms[j]) == 0)
            return order[i];
        }
    }
  return NULL;
}

/* Creating and freeing */

static gboolean
prepare_scram (TernSasl    *self,
               const char  *username,
               const char  *password,
               GError     **error)
{
  g_autofree char *prepped_user = NULL;
  guint8 random_bytes[NONCE_BYTES];
  int ret;

  prepped_user = tern_sasl_saslprep (username, error);
  if (prepped_user == NULL)
    {
      g_prefix_error (error, "The username cannot be used with %s: ", self->name);
      return FALSE;
    }
  self->secret = tern_sasl_saslprep (password, error);
  if (self->secret == NULL)
    {
      g_prefix_error (error, "The password cannot be used with %s: ", self->name);
      return FALSE;
    }
  if (*prepped_user == '\0' || *self->secret == '\0')
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                   "The %s is empty once prepared for %s",
                   *prepped_user == '\0' ? "username" : "password", self->name);
      return FALSE;
    }
  self->username = escape_saslname (prepped_user);

  ret = gnutls_rnd (GNUTLS_RND_NONCE, random_bytes, sizeof random_bytes);
  if (ret < 0)
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED,
                   "No random numbers for the %s nonce: %s", self->name,
                   gnutls_strerror (ret));
      return FALSE;
    }
  self->nonce = g_base64_encode (random_bytes, sizeof random_bytes);

  if (self->mech == MECH_SCRAM_SHA_1)
    {
      self->mac = GNUTLS_MAC_SHA1;
      self->digest = GNUTLS_DIG_SHA1;
      self->hash_len = 20;
    }
  else
    {
      self->mac = GNUTLS_MAC_SHA256;
      self->digest = GNUTLS_DIG_SHA256;
      self->hash_len = 32;
    }
  return TRUE;
}

static gboolean
is_bearer_token (const char *token)
{
  for (const guchar *p = (const guchar *) token; *p != '\0'; p++)
    {
      if (*p < 0x21 || *p > 0x7e)
        return FALSE;
    }
  return TRUE;
}

/**
 * tern_sasl_new:
 * @mechanism: the mechanism's name, in any case
 * @username: the login name, in UTF-8
 * @secret: the password, or for XOAUTH2 and OAUTHBEARER the access token
 * @error: return location for an error
 *
 * Starts one authentication exchange.  @secret is copied; the copy is wiped
 * when the exchange is freed.  For SCRAM, @username and @secret go through
 * tern_sasl_saslprep() here, and the client nonce is drawn from GnuTLS.
 *
 * Returns: (transfer full): the exchange, or %NULL with
 *   %TERN_SASL_ERROR_UNSUPPORTED for a mechanism Tern does not know, or
 *   %TERN_SASL_ERROR_PREP_FAILED when @username or @secret cannot be sent
 */
TernSasl *
tern_sasl_new (const char  *mechanism,
               const char  *username,
               const char  *secret,
               GError     **error)
{
  g_autoptr(TernSasl) self = NULL;
  Mechanism mech;
  const char *canonical;

  g_return_val_if_fail (mechanism != NULL, NULL);
  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (secret != NULL, NULL);

  if (!lookup_mechanism (mechanism, &mech, &canonical))
    {
      g_autofree char *quoted = quote_server_text (mechanism, -1);

      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED,
                   "Tern does not support the SASL mechanism “%s”", quoted);
      return NULL;
    }

  self = g_new0 (TernSasl, 1);
  self->mech = mech;
  self->name = canonical;
  self->state = STATE_START;

  if (*username == '\0' || !g_utf8_validate (username, -1, NULL) ||
      has_control_chars (username))
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                   "The username for %s is empty, not UTF-8, or holds control characters",
                   canonical);
      return NULL;
    }
  if (*secret == '\0' || !g_utf8_validate (secret, -1, NULL))
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                   "The %s for %s is empty or not UTF-8",
                   mech == MECH_XOAUTH2 || mech == MECH_OAUTHBEARER ? "token" : "password",
                   canonical);
      return NULL;
    }

  switch (mech)
    {
    case MECH_SCRAM_SHA_1:
    case MECH_SCRAM_SHA_256:
      if (!prepare_scram (self, username, secret, error))
        return NULL;
      break;

    case MECH_XOAUTH2:
    case MECH_OAUTHBEARER:
      if (!is_bearer_token (secret))
        {
          g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                       "The OAuth token for %s holds spaces, control characters or "
                       "non-ASCII characters", canonical);
          return NULL;
        }
      self->username = g_strdup (username);
      self->secret = g_strdup (secret);
      break;

    case MECH_PLAIN:
    case MECH_LOGIN:
    default:
      self->username = g_strdup (username);
      self->secret = g_strdup (secret);
      break;
    }

  return g_steal_pointer (&self);
}

/**
 * tern_sasl_free:
 * @self: (nullable): an exchange
 *
 * Frees @self after wiping the secret and every key derived from it.
 */
void
tern_sasl_free (TernSasl *self)
{
  if (self == NULL)
    return;

  wipe_string (self->secret);
  wipe_string (self->client_first_bare);
  wipe_string (self->nonce);
  gnutls_memset (self->server_signature, 0, sizeof self->server_signature);
  g_free (self->username);
  g_free (self->authzid);
  g_free (self->host);
  g_free (self->gs2_header);
  g_clear_error (&self->server_error);
  g_free (self);
}

/**
 * tern_sasl_set_authzid:
 * @self: an exchange that has not started
 * @authzid: (nullable): the identity to act as, or %NULL or "" for the
 *   username's own
 * @error: return location for an error
 *
 * Asks to act as another user (an admin reading a shared mailbox).  Only
 * PLAIN and SCRAM carry an authorization identity.
 *
 * Returns: %TRUE, or %FALSE with %TERN_SASL_ERROR_UNSUPPORTED for other
 *   mechanisms, or %TERN_SASL_ERROR_PREP_FAILED when @authzid is not UTF-8
 *   or holds control characters
 */
gboolean
tern_sasl_set_authzid (TernSasl    *self,
                       const char  *authzid,
                       GError     **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->state == STATE_START, FALSE);

  if (authzid == NULL || *authzid == '\0')
    {
      g_clear_pointer (&self->authzid, g_free);
      return TRUE;
    }
  if (self->mech != MECH_PLAIN && !is_scram (self))
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED,
                   "%s cannot carry an authorization identity", self->name);
      return FALSE;
    }
  if (!g_utf8_validate (authzid, -1, NULL) || has_control_chars (authzid))
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                           "The authorization identity is not UTF-8 or holds control "
                           "characters");
      return FALSE;
    }
  g_free (self->authzid);
  self->authzid = g_strdup (authzid);
  return TRUE;
}

/**
 * tern_sasl_set_server:
 * @self: an exchange that has not started
 * @host: the server's host name, as the account names it
 * @port: the server's port, or 0 to leave it out
 * @error: return location for an error
 *
 * Tells OAUTHBEARER which server the token is for (the "host" and "port"
 * fields of RFC 7628).  Other mechanisms ignore it.
 *
 * Returns: %TRUE, or %FALSE with %TERN_SASL_ERROR_PREP_FAILED when @host
 *   holds control characters or is not UTF-8
 */
gboolean
tern_sasl_set_server (TernSasl    *self,
                      const char  *host,
                      guint16      port,
                      GError     **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (host != NULL, FALSE);
  g_return_val_if_fail (self->state == STATE_START, FALSE);

  if (*host == '\0' || !g_utf8_validate (host, -1, NULL) || has_control_chars (host))
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_PREP_FAILED,
                           "The host name is empty, not UTF-8, or holds control characters");
      return FALSE;
    }
  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
  return TRUE;
}

/**
 * tern_sasl_set_nonce_for_testing:
 * @self: a SCRAM exchange that has not started
 * @nonce: the client nonce to use instead of a random one
 *
 * For tests that replay published exchanges.  Never call it elsewhere: a
 * nonce that repeats lets a recorded exchange be replayed.
 */
void
tern_sasl_set_nonce_for_testing (TernSasl   *self,
                                 const char *nonce)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (is_scram (self));
  g_return_if_fail (self->state == STATE_START);
  g_return_if_fail (nonce != NULL && *nonce != '\0' && strchr (nonce, ',') == NULL);

  wipe_string (self->nonce);
  self->nonce = g_strdup (nonce);
}

/**
 * tern_sasl_get_mechanism:
 * @self: an exchange
 *
 * Returns: (transfer none): the mechanism's name in upper case
 */
const char *
tern_sasl_get_mechanism (TernSasl *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->name;
}

/* The client's first message */

static GBytes *
plain_response (TernSasl *self)
{
  gsize authzid_len = self->authzid != NULL ? strlen (self->authzid) : 0;
  GString *out = secret_string_new (authzid_len + strlen (self->username) +
                                    strlen (self->secret));

  if (self->authzid != NULL)
    g_string_append (out, self->authzid);
  g_string_append_c (out, '\0');
  g_string_append (out, self->username);
  g_string_append_c (out, '\0');
  g_string_append (out, self->secret);
  self->state = STATE_DONE;
  return secret_string_free_to_bytes (out);
}

static GBytes *
scram_client_first (TernSasl *self)
{
  GString *out = secret_string_new (0);

  if (self->authzid != NULL)
    {
      g_autofree char *escaped = escape_saslname (self->authzid);

      self->gs2_header = g_strdup_printf ("n,a=%s,", escaped);
    }
  else
    {
      self->gs2_header = g_strdup ("n,,");
    }
  self->client_first_bare = g_strdup_printf ("n=%s,r=%s", self->username, self->nonce);

  g_string_append (out, self->gs2_header);
  g_string_append (out, self->client_first_bare);
  self->state = STATE_SCRAM_FIRST_SENT;
  return secret_string_free_to_bytes (out);
}

static GBytes *
xoauth2_response (TernSasl *self)
{
  GString *out = secret_string_new (strlen (self->username) + strlen (self->secret));

  g_string_append (out, "user=");
  g_string_append (out, self->username);
  g_string_append (out, "\001auth=Bearer ");
  g_string_append (out, self->secret);
  g_string_append (out, "\001\001");
  self->state = STATE_DONE;
  return secret_string_free_to_bytes (out);
}

static GBytes *
oauthbearer_response (TernSasl *self)
{
  g_autofree char *escaped = escape_saslname (self->username);
  GString *out = secret_string_new (strlen (escaped) + strlen (self->secret) +
                                    (self->host != NULL ? strlen (self->host) : 0));

  g_string_append (out, "n,a=");
  g_string_append (out, escaped);
  g_string_append (out, ",\001");
  if (self->host != NULL)
    {
      g_string_append (out, "host=");
      g_string_append (out, self->host);
      g_string_append_c (out, '\001');
    }
  if (self->host != NULL && self->port != 0)
    g_string_append_printf (out, "port=%u\001", (guint) self->port);
  g_string_append (out, "auth=Bearer ");
  g_string_append (out, self->secret);
  g_string_append (out, "\001\001");
  self->state = STATE_DONE;
  return secret_string_free_to_bytes (out);
}

static GBytes *
first_response (TernSasl *self)
{
  switch (self->mech)
    {
    case MECH_PLAIN:
      return plain_response (self);
    case MECH_SCRAM_SHA_1:
    case MECH_SCRAM_SHA_256:
      return scram_client_first (self);
    case MECH_XOAUTH2:
      return xoauth2_response (self);
    case MECH_OAUTHBEARER:
      return oauthbearer_response (self);
    case MECH_LOGIN:
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

/**
 * tern_sasl_get_initial_response:
 * @self: an exchange that has not started
 * @out: (out) (transfer full) (optional): the initial response, or %NULL
 *
 * Gives the response to send with the AUTHENTICATE or AUTH command itself
 * (SASL-IR).  LOGIN has none: the engine sends the bare command and answers
 * the prompts with tern_sasl_step().  The bytes may be empty, which the
 * transport must send as its form of an empty response ("=" in IMAP and
 * SMTP).
 *
 * Returns: whether the mechanism has an initial response
 */
gboolean
tern_sasl_get_initial_response (TernSasl  *self,
                                GBytes   **out)
{
  GBytes *response;

  if (out != NULL)
    *out = NULL;
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->state == STATE_START, FALSE);

  if (self->mech == MECH_LOGIN)
    return FALSE;

  response = first_response (self);
  if (out != NULL)
    *out = response;
  else
    g_bytes_unref (response);
  return TRUE;
}

/* SCRAM */

/* Splits a SCRAM message into its attributes, each "x=value". */
static char **
scram_split (const char  *message,
             GError     **error)
{
  g_auto(GStrv) attrs = NULL;

  if (!g_utf8_validate (message, -1, NULL) || has_control_chars (message))
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                           "The server's SCRAM message is not UTF-8 text");
      return NULL;
    }
  attrs = g_strsplit (message, ",", -1);
  for (gsize i = 0; attrs[i] != NULL; i++)
    {
      if (!g_ascii_isalpha (attrs[i][0]) || attrs[i][1] != '=')
        {
          g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                               "The server's SCRAM message is not a list of attributes");
          return NULL;
        }
    }
  return g_steal_pointer (&attrs);
}

static gboolean
scram_parse_iterations (const TernSasl  *self,
                        const char      *text,
                        guint           *out,
                        GError         **error)
{
  guint64 count;

  if (*text == '\0' || strspn (text, "0123456789") != strlen (text))
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                           "The server's SCRAM iteration count is not a number");
      return FALSE;
    }
  count = strlen (text) > 10 ? G_MAXUINT64 : g_ascii_strtoull (text, NULL, 10);
  if (count < TERN_SASL_SCRAM_MIN_ITERATIONS || count > TERN_SASL_SCRAM_MAX_ITERATIONS)
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                   "The server asked for %s %s iterations; Tern accepts %u to %u",
                   strlen (text) > 10 ? "more than 10^10" : text, self->name,
                   TERN_SASL_SCRAM_MIN_ITERATIONS, TERN_SASL_SCRAM_MAX_ITERATIONS);
      return FALSE;
    }
  if (count < TERN_SASL_SCRAM_RECOMMENDED_ITERATIONS)
    g_message ("The server stores the %s password with only %" G_GUINT64_FORMAT
               " iterations, fewer than the %u the RFC asks for",
               self->name, count, TERN_SASL_SCRAM_RECOMMENDED_ITERATIONS);
  *out = (guint) count;
  return TRUE;
}

static gboolean
is_printable_nonce (const char *nonce)
{
  for (const guchar *p = (const guchar *) nonce; *p != '\0'; p++)
    {
      if (*p < 0x21 || *p > 0x7e || *p == ',')
        return FALSE;
    }
  return TRUE;
}

static gboolean
hmac (const TernSasl *self,
      const void     *key,
      gsize           key_len,
      const void     *text,
      gsize           text_len,
      guint8         *out)
{
  return gnutls_hmac_fast (self->mac, key, key_len, text, text_len, out) == 0;
}

static GBytes *
scram_client_final (TernSasl  *self,
                    const char *server_first,
                    GError    **error)
{
  g_auto(GStrv) attrs = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree char *gs2_b64 = NULL;
  g_autofree char *without_proof = NULL;
  g_autofree char *auth_message = NULL;
  g_autofree char *proof_b64 = NULL;
  const char *server_nonce;
  gsize salt_len = 0;
  guint iterations = 0;
  guint8 salted[64], client_key[64], stored_key[64], client_sig[64], server_key[64];
  gnutls_datum_t key_datum, salt_datum;
  gboolean ok;
  GString *out;

  attrs = scram_split (server_first, error);
  if (attrs == NULL)
    return NULL;
  if (attrs[0] != NULL && attrs[0][0] == 'm')
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED,
                           "The server requires a SCRAM extension Tern does not know");
      return NULL;
    }
  if (g_strv_length (attrs) < 3 || attrs[0][0] != 'r' || attrs[1][0] != 's' ||
      attrs[2][0] != 'i')
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                           "The server's first SCRAM message lacks the nonce, salt or "
                           "iteration count");
      return NULL;
    }

  server_nonce = attrs[0] + 2;
  if (!g_str_has_prefix (server_nonce, self->nonce) ||
      strlen (server_nonce) <= strlen (self->nonce) || !is_printable_nonce (server_nonce))
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED,
                           "The server's SCRAM nonce does not extend the one Tern sent");
      return NULL;
    }
  salt = base64_decode_strict (attrs[1] + 2, &salt_len);
  if (salt == NULL || salt_len == 0)
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                           "The server's SCRAM salt is not valid base64");
      return NULL;
    }
  if (!scram_parse_iterations (self, attrs[2] + 2, &iterations, error))
    return NULL;

  gs2_b64 = g_base64_encode ((const guchar *) self->gs2_header, strlen (self->gs2_header));
  without_proof = g_strdup_printf ("c=%s,r=%s", gs2_b64, server_nonce);
  auth_message = g_strdup_printf ("%s,%s,%s", self->client_first_bare, server_first,
                                  without_proof);

  /* SaltedPassword, ClientKey, StoredKey, ClientSignature, ServerKey and
   * ServerSignature as RFC 5802 section 3 defines them. */
  key_datum.data = (unsigned char *) self->secret;
  key_datum.size = strlen (self->secret);
  salt_datum.data = salt;
  salt_datum.size = salt_len;
  ok = gnutls_pbkdf2 (self->mac, &key_datum, &salt_datum, iterations, salted,
                      self->hash_len) == 0 &&
       hmac (self, salted, self->hash_len, "Client Key", 10, client_key) &&
       gnutls_hash_fast (self->digest, client_key, self->hash_len, stored_key) == 0 &&
       hmac (self, stored_key, self->hash_len, auth_message, strlen (auth_message),
             client_sig) &&
       hmac (self, salted, self->hash_len, "Server Key", 10, server_key) &&
       hmac (self, server_key, self->hash_len, auth_message, strlen (auth_message),
             self->server_signature);
  if (ok)
    {
      for (gsize i = 0; i < self->hash_len; i++)
        client_key[i] ^= client_sig[i];
      proof_b64 = g_base64_encode (client_key, self->hash_len);
    }
  gnutls_memset (salted, 0, sizeof salted);
  gnutls_memset (client_key, 0, sizeof client_key);
  gnutls_memset (stored_key, 0, sizeof stored_key);
  gnutls_memset (client_sig, 0, sizeof client_sig);
  gnutls_memset (server_key, 0, sizeof server_key);
  if (!ok)
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_UNSUPPORTED,
                   "GnuTLS could not compute the %s keys", self->name);
      return NULL;
    }

  out = secret_string_new (strlen (without_proof) + strlen (proof_b64));
  g_string_append (out, without_proof);
  g_string_append (out, ",p=");
  g_string_append (out, proof_b64);
  wipe_string (g_steal_pointer (&proof_b64));
  self->state = STATE_SCRAM_FINAL_SENT;
  return secret_string_free_to_bytes (out);
}

static gboolean
scram_check_server_final (TernSasl    *self,
                          const char  *server_final,
                          GError     **error)
{
  g_auto(GStrv) attrs = NULL;
  g_autofree guint8 *signature = NULL;
  gsize signature_len = 0;

  attrs = scram_split (server_final, error);
  if (attrs == NULL)
    return FALSE;
  if (attrs[0] != NULL && attrs[0][0] == 'e')
    {
      g_autofree char *quoted = quote_server_text (attrs[0] + 2, -1);

      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_REFUSED,
                   "The server refused the %s login: %s", self->name, quoted);
      return FALSE;
    }
  if (attrs[0] == NULL || attrs[0][0] != 'v')
    {
      g_set_error_literal (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED,
                           "The server's last SCRAM message has no signature");
      return FALSE;
    }
  signature = base64_decode_strict (attrs[0] + 2, &signature_len);
  if (signature == NULL || signature_len != self->hash_len ||
      gnutls_memcmp (signature, self->server_signature, self->hash_len) != 0)
    {
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED,
                   "The server's %s signature is wrong: it may not be the server "
                   "that holds the password", self->name);
      return FALSE;
    }
  self->state = STATE_DONE;
  return TRUE;
}

/* OAuth errors */

static char *
json_member_text (JsonObject *object,
                  const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return quote_server_text (json_node_get_string (node), -1);
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return NULL;
}

/* The server's error challenge after an XOAUTH2 or OAUTHBEARER response
 * ({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}):
 * recorded for tern_sasl_get_server_error(), and answered with what the
 * mechanism asks for so that the server ends the exchange with a failure. */
static GBytes *
oauth_error_challenge (TernSasl   *self,
                       const char *challenge)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *status = NULL;
  g_autofree char *scope = NULL;
  TernSaslError code = TERN_SASL_ERROR_REFUSED;

  /* An empty document parses, with no root at all. */
  if (json_parser_load_from_data (parser, challenge, -1, NULL) &&
      json_parser_get_root (parser) != NULL &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *object = json_node_get_object (json_parser_get_root (parser));

      status = json_member_text (object, "status");
      scope = json_member_text (object, "scope");
    }

  if (status != NULL && (strcmp (status, "401") == 0 || strcmp (status, "invalid_token") == 0))
    code = TERN_SASL_ERROR_TOKEN_INVALID;

  g_clear_error (&self->server_error);
  if (status != NULL)
    self->server_error = g_error_new (TERN_SASL_ERROR, code,
                                      "The server refused the OAuth token (status %s%s%s)",
                                      status, scope != NULL ? ", scope " : "",
                                      scope != NULL ? scope : "");
  else
    self->server_error = g_error_new_literal (TERN_SASL_ERROR, code,
                                              "The server refused the OAuth token");
  self->state = STATE_FAILED;

  /* RFC 7628 section 3.2.3 asks for a lone %x01; XOAUTH2 for nothing. */
  if (self->mech == MECH_OAUTHBEARER)
    return bytes_new_wiped ("\001", 1);
  return bytes_new_wiped ("", 0);
}

/* Steps */

static GBytes *
step_internal (TernSasl    *self,
               const char  *challenge,
               GError     **error)
{
  switch (self->state)
    {
    case STATE_START:
      if (self->mech == MECH_LOGIN)
        {
          /* Servers word the prompts in many ways ("Username:", "User
           * Name", nothing at all), so only their order counts. */
          self->state = STATE_LOGIN_USER_SENT;
          return bytes_new_wiped (self->username, strlen (self->username));
        }
      if (*challenge != '\0')
        {
          g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                       "The server sent a non-empty challenge before %s started",
                       self->name);
          return NULL;
        }
      return first_response (self);

    case STATE_LOGIN_USER_SENT:
      self->state = STATE_DONE;
      return bytes_new_wiped (self->secret, strlen (self->secret));

    case STATE_SCRAM_FIRST_SENT:
      return scram_client_final (self, challenge, error);

    case STATE_SCRAM_FINAL_SENT:
      if (!scram_check_server_final (self, challenge, error))
        return NULL;
      return bytes_new_wiped ("", 0);

    case STATE_DONE:
      if (is_oauth (self))
        return oauth_error_challenge (self, challenge);
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                   "The server sent a challenge after %s had finished", self->name);
      return NULL;

    case STATE_FAILED:
    default:
      g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                   "The server sent a challenge after %s had failed", self->name);
      return NULL;
    }
}

/**
 * tern_sasl_step:
 * @self: an exchange
 * @challenge: (nullable): the server's challenge, base64-decoded; %NULL is
 *   the same as empty
 * @error: return location for an error
 *
 * Answers one challenge.  A failure ends the exchange: the engine cancels
 * it on the wire and drops or reuses the connection as its protocol allows.
 * An OAuth error challenge is not a failure here: it returns the answer the
 * mechanism requires, and tern_sasl_get_server_error() holds the reason.
 *
 * Returns: (transfer full): the response (wiped when freed), possibly
 *   empty, or %NULL with a #TernSaslError
 */
GBytes *
tern_sasl_step (TernSasl  *self,
                GBytes    *challenge,
                GError   **error)
{
  g_autofree char *text = NULL;
  GBytes *response;

  g_return_val_if_fail (self != NULL, NULL);

  text = challenge_to_string (challenge, error);
  if (text == NULL)
    {
      self->state = STATE_FAILED;
      return NULL;
    }
  response = step_internal (self, text, error);
  if (response == NULL)
    self->state = STATE_FAILED;
  return response;
}

/**
 * tern_sasl_is_complete:
 * @self: an exchange
 *
 * Returns: whether Tern has sent everything the mechanism needs and, for
 *   SCRAM, checked the server's signature; the server's reply decides the
 *   outcome
 */
gboolean
tern_sasl_is_complete (TernSasl *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->state == STATE_DONE;
}

/**
 * tern_sasl_verify_final:
 * @self: an exchange
 * @additional_data: (nullable): the additional data that came with the
 *   server's success reply, base64-decoded, or %NULL
 * @error: return location for an error
 *
 * Checks, once the server has said the login worked, that the exchange
 * really finished: for SCRAM, that the server proved it knows the password
 * (in its last challenge or in @additional_data).  When this fails the
 * engine must close the connection rather than use it.
 *
 * Returns: %TRUE when the login can be trusted, or %FALSE with
 *   %TERN_SASL_ERROR_SERVER_NOT_VERIFIED (SCRAM without a valid signature)
 *   or %TERN_SASL_ERROR_BAD_CHALLENGE (success before the exchange ended,
 *   unexpected data)
 */
gboolean
tern_sasl_verify_final (TernSasl  *self,
                        GBytes    *additional_data,
                        GError   **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->state == STATE_FAILED)
    {
      if (self->server_error != NULL)
        g_propagate_error (error, g_error_copy (self->server_error));
      else
        g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                     "The server reported success after %s had failed", self->name);
      return FALSE;
    }

  if (bytes_size (additional_data) > 0)
    {
      if (self->state != STATE_SCRAM_FINAL_SENT)
        {
          self->state = STATE_FAILED;
          g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                       "The server's success reply carries data %s does not expect",
                       self->name);
          return FALSE;
        }
      text = challenge_to_string (additional_data, error);
      if (text == NULL || !scram_check_server_final (self, text, error))
        {
          self->state = STATE_FAILED;
          return FALSE;
        }
    }

  if (self->state != STATE_DONE)
    {
      self->state = STATE_FAILED;
      if (is_scram (self))
        g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_SERVER_NOT_VERIFIED,
                     "The server reported success without proving it knows the %s "
                     "password", self->name);
      else
        g_set_error (error, TERN_SASL_ERROR, TERN_SASL_ERROR_BAD_CHALLENGE,
                     "The server reported success before %s had finished", self->name);
      return FALSE;
    }
  return TRUE;
}

/**
 * tern_sasl_get_server_error:
 * @self: an exchange
 *
 * Returns: (transfer none) (nullable): why the server refused the
 *   credentials, when the mechanism learned it (the error challenge of
 *   XOAUTH2 and OAUTHBEARER); %TERN_SASL_ERROR_TOKEN_INVALID means a fresh
 *   token may work
 */
const GError *
tern_sasl_get_server_error (TernSasl *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->server_error;
}
