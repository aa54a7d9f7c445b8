/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Client side of the SASL mechanisms the IMAP, POP3 and SMTP engines share:
 * PLAIN, LOGIN, SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2 and OAUTHBEARER.
 *
 * A #TernSasl works in raw bytes: the engine base64-decodes each challenge
 * before tern_sasl_step() and base64-encodes each response after it.  The
 * order of calls for one exchange is:
 *
 *   1. tern_sasl_new(), then the optional setters;
 *   2. tern_sasl_get_initial_response() when the protocol can send one with
 *      the command (IMAP SASL-IR, SMTP AUTH, POP3 AUTH); otherwise the first
 *      (empty) challenge passed to tern_sasl_step() gives the same bytes;
 *   3. tern_sasl_step() for every challenge, sending back what it returns,
 *      or cancelling the exchange ("*") when it fails;
 *   4. on the server's success reply, tern_sasl_verify_final(), with the
 *      additional data of that reply if there was any.  When it fails the
 *      session must be dropped: for SCRAM it means the server never proved
 *      it knows the password.
 *   5. on the server's failure reply, tern_sasl_get_server_error() tells why,
 *      when the mechanism learned it (OAuth error challenges).
 *
 * Every response is a #GBytes whose memory is wiped when it is freed.
 */

#define TERN_SASL_ERROR (tern_sasl_error_quark ())

/**
 * TernSaslError:
 * @TERN_SASL_ERROR_UNSUPPORTED: Tern does not implement the mechanism, or a
 *   mandatory extension the server asked for, or an option for it
 * @TERN_SASL_ERROR_PREP_FAILED: the username, password, token or another
 *   input cannot be sent with this mechanism (SASLprep refused it, it holds
 *   control characters, it is empty or not UTF-8)
 * @TERN_SASL_ERROR_BAD_CHALLENGE: the server sent something malformed, or
 *   something at a point of the exchange where it makes no sense
 * @TERN_SASL_ERROR_SERVER_NOT_VERIFIED: SCRAM: the server's signature is
 *   wrong or missing, or its nonce does not extend Tern's
 * @TERN_SASL_ERROR_REFUSED: the server refused the credentials inside the
 *   mechanism (SCRAM "e=", an OAuth error other than an invalid token)
 * @TERN_SASL_ERROR_TOKEN_INVALID: the server says the OAuth token is invalid
 *   or expired; refreshing it and trying again may help
 */
typedef enum {
  TERN_SASL_ERROR_UNSUPPORTED,
  TERN_SASL_ERROR_PREP_FAILED,
  TERN_SASL_ERROR_BAD_CHALLENGE,
  TERN_SASL_ERROR_SERVER_NOT_VERIFIED,
  TERN_SASL_ERROR_REFUSED,
  TERN_SASL_ERROR_TOKEN_INVALID,
} TernSaslError;

GQuark tern_sasl_error_quark (void);

/* The bounds Tern puts on a SCRAM server's iteration count: below 1 is
 * meaningless, above the maximum would let a server burn the client's CPU.
 * Counts below the recommended minimum are accepted and logged. */
#define TERN_SASL_SCRAM_MIN_ITERATIONS          1
#define TERN_SASL_SCRAM_RECOMMENDED_ITERATIONS  4096
#define TERN_SASL_SCRAM_MAX_ITERATIONS          1000000

/* The longest challenge Tern reads; real ones are a few hundred bytes. */
#define TERN_SASL_MAX_CHALLENGE                 (64 * 1024)

typedef struct _TernSasl TernSasl;

gboolean     tern_sasl_is_supported           (const char          *mechanism);
const char  *tern_sasl_choose_mechanism       (const char * const *server_mechanisms,
                                               gboolean             have_oauth_token);
char        *tern_sasl_saslprep               (const char          *text,
                                               GError             **error);

TernSasl    *tern_sasl_new                    (const char          *mechanism,
                                               const char          *username,
                                               const char          *secret,
                                               GError             **error);
void         tern_sasl_free                   (TernSasl            *self);

gboolean     tern_sasl_set_authzid            (TernSasl            *self,
                                               const char          *authzid,
                                               GError             **error);
gboolean     tern_sasl_set_server             (TernSasl            *self,
                                               const char          *host,
                                               guint16              port,
                                               GError             **error);

const char  *tern_sasl_get_mechanism          (TernSasl            *self);
gboolean     tern_sasl_get_initial_response   (TernSasl            *self,
                                               GBytes             **out);
GBytes      *tern_sasl_step                   (TernSasl            *self,
                                               GBytes              *challenge,
                                               GError             **error);
gboolean     tern_sasl_is_complete            (TernSasl            *self);
gboolean     tern_sasl_verify_final           (TernSasl            *self,
                                               GBytes              *additional_data,
                                               GError             **error);
const GError *tern_sasl_get_server_error      (TernSasl            *self);

void         tern_sasl_set_nonce_for_testing  (TernSasl            *self,
                                               const char          *nonce);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernSasl, tern_sasl_free)

G_END_DECLS
