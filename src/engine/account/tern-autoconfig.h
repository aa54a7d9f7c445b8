/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account.h"

G_BEGIN_DECLS

/*
 * Automatic set-up: from an address, the servers an account uses.  The
 * sources, tried in this order until one answers:
 *
 *   1. Tern's built-in table of large providers (no network at all);
 *   2. the provider's autoconfig file, the XML format Thunderbird reads, at
 *      https://autoconfig.DOMAIN/mail/config-v1.1.xml and
 *      https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml, then the
 *      same two over plain HTTP;
 *   3. RFC 6186 SRV records (_imaps._tcp, _imap._tcp, _pop3s._tcp, _pop3._tcp,
 *      _submissions._tcp, _submission._tcp);
 *   4. the domain of the MX host (aspmx.l.google.com → google.com), looked up
 *      in the table and then for an autoconfig file;
 *   5. probing imap.DOMAIN, pop.DOMAIN, smtp.DOMAIN, mail.DOMAIN on the
 *      TLS ports (993, 995, 465).
 *
 * A result says where it came from and whether that source was
 * authenticated: the table, an autoconfig file over HTTPS and a probe whose
 * certificate validated are; plain HTTP, DNS answers and anything found
 * through an MX record are not, and the caller must show such settings to
 * the user before any password is sent.
 */

#define TERN_AUTOCONFIG_ERROR (tern_autoconfig_error_quark ())

typedef enum
{
  /* No source knew the address's servers. */
  TERN_AUTOCONFIG_ERROR_NOT_FOUND,
  /* An autoconfig file is not one Tern can use. */
  TERN_AUTOCONFIG_ERROR_INVALID,
  /* The address is not an address. */
  TERN_AUTOCONFIG_ERROR_BAD_ADDRESS,
} TernAutoconfigError;

GQuark tern_autoconfig_error_quark (void);

typedef enum
{
  TERN_AUTOCONFIG_SOURCE_BUILTIN,
  TERN_AUTOCONFIG_SOURCE_AUTOCONFIG,
  TERN_AUTOCONFIG_SOURCE_SRV,
  TERN_AUTOCONFIG_SOURCE_MX,
  TERN_AUTOCONFIG_SOURCE_PROBE,
} TernAutoconfigSource;

const char *tern_autoconfig_source_to_string (TernAutoconfigSource source);

/* The most bytes an autoconfig file may have. */
#define TERN_AUTOCONFIG_MAX_XML_SIZE (64 * 1024)

typedef struct
{
  TernAutoconfigSource source;
  /* Where, in words: "built-in table", the URL, the DNS name asked. */
  char *source_detail;
  /* FALSE: show the settings to the user before sending a password. */
  gboolean authenticated;
  char *provider_name;

  TernReceivingProtocol receiving_protocol;
  char *receiving_host;
  guint16 receiving_port;
  TernSecurity receiving_security;
  char *receiving_username;

  char *sending_host;
  guint16 sending_port;
  TernSecurity sending_security;
  char *sending_username;
} TernAutoconfigResult;

#define TERN_TYPE_AUTOCONFIG_RESULT (tern_autoconfig_result_get_type ())
GType                 tern_autoconfig_result_get_type   (void) G_GNUC_CONST;
TernAutoconfigResult *tern_autoconfig_result_copy       (const TernAutoconfigResult *result);
void                  tern_autoconfig_result_free       (TernAutoconfigResult       *result);
void                  tern_autoconfig_result_apply      (const TernAutoconfigResult *result,
                                                         TernAccount                *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernAutoconfigResult, tern_autoconfig_result_free)

TernAutoconfigResult *tern_autoconfig_lookup_builtin    (const char                 *address);
TernAutoconfigResult *tern_autoconfig_parse_xml         (const char                 *data,
                                                         gsize                       length,
                                                         const char                 *address,
                                                         GError                    **error);
char                 *tern_autoconfig_domain_of_host    (const char                 *host);

#define TERN_TYPE_AUTOCONFIG (tern_autoconfig_get_type ())

G_DECLARE_FINAL_TYPE (TernAutoconfig, tern_autoconfig, TERN, AUTOCONFIG, GObject)

TernAutoconfig       *tern_autoconfig_new               (void);
void                  tern_autoconfig_set_port_map      (TernAutoconfig             *self,
                                                         guint16                     port,
                                                         guint16                     actual_port);
void                  tern_autoconfig_set_tls_database  (TernAutoconfig             *self,
                                                         GTlsDatabase               *database);
void                  tern_autoconfig_set_timeout       (TernAutoconfig             *self,
                                                         guint                       msec);
void                  tern_autoconfig_discover_async    (TernAutoconfig             *self,
                                                         const char                 *address,
                                                         GCancellable               *cancellable,
                                                         GAsyncReadyCallback         callback,
                                                         gpointer                    user_data);
TernAutoconfigResult *tern_autoconfig_discover_finish   (TernAutoconfig             *self,
                                                         GAsyncResult               *result,
                                                         GError                    **error);

G_END_DECLS
