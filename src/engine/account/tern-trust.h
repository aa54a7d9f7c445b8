/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-connection.h"

G_BEGIN_DECLS

/*
 * Certificate trust: what Tern shows about a certificate that failed
 * validation, and the certificates the user accepted anyway, each pinned to
 * one host and port in `<config folder>/trusted-certificates.ini`.  A pin
 * holds the SHA-256 fingerprint: a different certificate on the same host
 * and port fails again and is shown again.  A revoked certificate can
 * never be pinned.
 */

#define TERN_TRUST_ERROR (tern_trust_error_quark ())

typedef enum
{
  /* The trust file cannot be read or written, or is damaged. */
  TERN_TRUST_ERROR_FAILED,
  /* The certificate has been revoked: nobody may override that. */
  TERN_TRUST_ERROR_REVOKED,
  /* The certificate validates: there is nothing to trust by hand. */
  TERN_TRUST_ERROR_VALID,
  /* The server did not take part in the STARTTLS exchange. */
  TERN_TRUST_ERROR_PROTOCOL,
} TernTrustError;

GQuark tern_trust_error_quark (void);

typedef struct
{
  char *host;
  guint16 port;
  char *subject;
  char *issuer;
  GDateTime *not_before;
  GDateTime *not_after;
  /* Upper-case hex pairs with colons, as tern_certificate_get_sha256_fingerprint(). */
  char *fingerprint;
  GTlsCertificateFlags errors;
} TernCertificateDetails;

#define TERN_TYPE_CERTIFICATE_DETAILS (tern_certificate_details_get_type ())
GType                   tern_certificate_details_get_type        (void) G_GNUC_CONST;
TernCertificateDetails *tern_certificate_details_new             (const char                   *host,
                                                                  guint16                       port,
                                                                  GTlsCertificate              *certificate,
                                                                  GTlsCertificateFlags          errors);
TernCertificateDetails *tern_certificate_details_copy            (const TernCertificateDetails *details);
void                    tern_certificate_details_free            (TernCertificateDetails       *details);
gboolean                tern_certificate_details_can_be_trusted  (const TernCertificateDetails *details);
char                   *tern_certificate_details_format          (const TernCertificateDetails *details);
char                   *tern_certificate_describe_errors         (GTlsCertificateFlags          errors);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernCertificateDetails, tern_certificate_details_free)

/* How tern_trust_check_server_async() reaches TLS. */
typedef enum
{
  TERN_TRUST_TLS,
  TERN_TRUST_STARTTLS_IMAP,
  TERN_TRUST_STARTTLS_POP3,
  TERN_TRUST_STARTTLS_SMTP,
} TernTrustMethod;

TernTrustMethod         tern_trust_method_for_port               (guint16                       port);

void                    tern_trust_check_server_async            (const char                   *host,
                                                                  guint16                       port,
                                                                  TernTrustMethod               method,
                                                                  GTlsDatabase                 *database,
                                                                  GCancellable                 *cancellable,
                                                                  GAsyncReadyCallback           callback,
                                                                  gpointer                      user_data);
TernCertificateDetails *tern_trust_check_server_finish           (GAsyncResult                 *result,
                                                                  GError                      **error);

#define TERN_TYPE_TRUST_STORE (tern_trust_store_get_type ())

G_DECLARE_FINAL_TYPE (TernTrustStore, tern_trust_store, TERN, TRUST_STORE, GObject)

TernTrustStore         *tern_trust_store_new                     (const char                   *config_dir);
const char             *tern_trust_store_get_path                (TernTrustStore               *self);
gboolean                tern_trust_store_load                    (TernTrustStore               *self,
                                                                  GError                      **error);
const char             *tern_trust_store_lookup                  (TernTrustStore               *self,
                                                                  const char                   *host,
                                                                  guint16                       port);
gboolean                tern_trust_store_pin                     (TernTrustStore               *self,
                                                                  const TernCertificateDetails *details,
                                                                  GError                      **error);
gboolean                tern_trust_store_forget                  (TernTrustStore               *self,
                                                                  const char                   *host,
                                                                  guint16                       port,
                                                                  GError                      **error);
gboolean                tern_trust_store_apply                   (TernTrustStore               *self,
                                                                  TernConnection               *connection,
                                                                  const char                   *host,
                                                                  guint16                       port,
                                                                  GError                      **error);

G_END_DECLS
