/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "tern-autoconfig.h"
#include "tern-connection.h"
#include "tern-trust.h"

/*
 * Automatic set-up (see tern-autoconfig.h for the order of sources).
 *
 * Discovery is a queue of steps run one after another on the caller's main
 * context: each step either yields a complete result (a receiving and a
 * sending server) or notes what it tried and hands over to the next.  The
 * MX step may add steps (the table and autoconfig files of the MX host's
 * domain).  When every step has failed the error lists what was tried.
 *
 * Autoconfig files are fetched without following redirects (an HTTPS URL
 * redirected to plain HTTP would otherwise pass for authenticated), read up
 * to TERN_AUTOCONFIG_MAX_XML_SIZE bytes, and parsed with GMarkup, which
 * knows no DTDs or external entities; the parser also bounds the depth,
 * the number of servers and the length of every value.
 */

G_DEFINE_QUARK (tern-autoconfig-error-quark, tern_autoconfig_error)

#define DEFAULT_TIMEOUT_MSEC (10 * 1000)
#define MAX_DEPTH 16
#define MAX_SERVERS 32
#define MAX_VALUE_LENGTH 255
#define MAX_PORT_MAP 16

const char *
tern_autoconfig_source_to_string (TernAutoconfigSource source)
{
  switch (source)
    {
    case TERN_AUTOCONFIG_SOURCE_BUILTIN:
      return "built-in table";
    case TERN_AUTOCONFIG_SOURCE_AUTOCONFIG:
      return "autoconfig file";
    case TERN_AUTOCONFIG_SOURCE_SRV:
      return "DNS SRV records";
    case TERN_AUTOCONFIG_SOURCE_MX:
      return "the domain of the MX host";
    case TERN_AUTOCONFIG_SOURCE_PROBE:
      return "probing the usual ports";
    default:
      g_return_val_if_reached ("unknown");
    }
}

/* Results */

G_DEFINE_BOXED_TYPE (TernAutoconfigResult, tern_autoconfig_result,
                     tern_autoconfig_result_copy, tern_autoconfig_result_free)

TernAutoconfigResult *
tern_autoconfig_result_copy (const TernAutoconfigResult *result)
{
  TernAutoconfigResult *copy = g_memdup2 (result, sizeof *result);

  copy->source_detail = g_strdup (result->source_detail);
  copy->provider_name = g_strdup (result->provider_name);
  copy->receiving_host = g_strdup (result->receiving_host);
  copy->receiving_username = g_strdup (result->receiving_username);
  copy->sending_host = g_strdup (result->sending_host);
  copy->sending_username = g_strdup (result->sending_username);

  return copy;
}

void
tern_autoconfig_result_free (TernAutoconfigResult *result)
{
  if (result == NULL)
    return;

  g_free (result->source_detail);
  g_free (result->provider_name);
  g_free (result->receiving_host);
  g_free (result->receiving_username);
  g_free (result->sending_host);
  g_free (result->sending_username);
  g_free (result);
}

/**
 * tern_autoconfig_result_apply:
 *
 * Sets @account's servers, ports, security and user names from @result.
 */
void
tern_autoconfig_result_apply (const TernAutoconfigResult *result,
                              TernAccount                *account)
{
  g_return_if_fail (result != NULL);
  g_return_if_fail (TERN_IS_ACCOUNT (account));

  tern_account_set_receiving_protocol (account, result->receiving_protocol);
  tern_account_set_receiving_host (account, result->receiving_host);
  tern_account_set_receiving_security (account, result->receiving_security);
  tern_account_set_receiving_port (account, result->receiving_port);
  tern_account_set_receiving_username (account, result->receiving_username);
  tern_account_set_sending_host (account, result->sending_host);
  tern_account_set_sending_security (account, result->sending_security);
  tern_account_set_sending_port (account, result->sending_port);
  tern_account_set_sending_username (account, result->sending_username);
}

/* Addresses and host names */

static gboolean
split_address (const char  *address,
               char       **local_part,
               char       **domain)
{
  const char *at;

  if (address == NULL || !tern_account_address_is_valid (address))
    return FALSE;

  at = strrchr (address, '@');
  *local_part = g_strndup (address, at - address);
  *domain = g_ascii_strdown (at + 1, -1);
  return TRUE;
}

static gboolean
host_is_valid (const char *host)
{
  gsize length = host != NULL ? strlen (host) : 0;

  if (length == 0 || length > 253 || host[0] == '.' || host[0] == '-')
    return FALSE;

  for (const char *p = host; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
        return FALSE;
    }

  return TRUE;
}

/* Replaces Thunderbird's placeholders in a user name or host name. */
static char *
expand_placeholders (const char *text,
                     const char *address)
{
  g_autofree char *local_part = NULL;
  g_autofree char *domain = NULL;
  GString *out;

  if (text == NULL)
    return NULL;
  if (!split_address (address, &local_part, &domain))
    return g_strdup (text);

  out = g_string_new (text);
  g_string_replace (out, "%EMAILADDRESS%", address, 0);
  g_string_replace (out, "%EMAILLOCALPART%", local_part, 0);
  g_string_replace (out, "%EMAILDOMAIN%", domain, 0);
  return g_string_free (out, FALSE);
}

/**
 * tern_autoconfig_domain_of_host:
 * @host: a host name, such as an MX host "aspmx.l.google.com"
 *
 * The domain a host belongs to, as far as Tern can tell without the
 * public suffix list: its last two labels, or three when the last two look
 * like a country's second level ("mx.example.co.uk" → "example.co.uk").
 *
 * Returns: (transfer full) (nullable): the domain, lower case.
 */
char *
tern_autoconfig_domain_of_host (const char *host)
{
  g_autofree char *lower = NULL;
  g_auto(GStrv) labels = NULL;
  guint n;
  guint keep = 2;

  if (host == NULL)
    return NULL;

  lower = g_ascii_strdown (host, -1);
  if (g_str_has_suffix (lower, "."))
    lower[strlen (lower) - 1] = '\0';
  if (!host_is_valid (lower))
    return NULL;

  labels = g_strsplit (lower, ".", -1);
  n = g_strv_length (labels);
  if (n < 2)
    return NULL;

  if (n >= 3 && strlen (labels[n - 1]) == 2 && strlen (labels[n - 2]) <= 3)
    keep = 3;
  if (n < keep)
    keep = n;

  return g_strjoinv (".", labels + (n - keep));
}

/* The built-in table */

typedef struct
{
  const char *name;
  /* The domains of its addresses, and the domains of its MX hosts. */
  const char *domains;
  const char *imap_host;
  guint16 imap_port;
  TernSecurity imap_security;
  const char *smtp_host;
  guint16 smtp_port;
  TernSecurity smtp_security;
  /* The IMAP user name is the address's local part (iCloud). */
  gboolean imap_local_part;
} Provider;

/* From each provider's own help pages on setting up a mail program. */
static const Provider providers[] = {
  { "Gmail", "gmail.com googlemail.com google.com",
    "imap.gmail.com", 993, TERN_SECURITY_TLS, "smtp.gmail.com", 465, TERN_SECURITY_TLS, FALSE },
  { "Outlook.com", "outlook.com hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.it "
    "live.com live.co.uk msn.com outlook.de outlook.fr",
    "outlook.office365.com", 993, TERN_SECURITY_TLS,
    "smtp-mail.outlook.com", 587, TERN_SECURITY_STARTTLS, FALSE },
  { "Yahoo Mail", "yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com rocketmail.com yahoodns.net",
    "imap.mail.yahoo.com", 993, TERN_SECURITY_TLS,
    "smtp.mail.yahoo.com", 465, TERN_SECURITY_TLS, FALSE },
  { "iCloud Mail", "icloud.com me.com mac.com",
    "imap.mail.me.com", 993, TERN_SECURITY_TLS,
    "smtp.mail.me.com", 587, TERN_SECURITY_STARTTLS, TRUE },
  { "Fastmail", "fastmail.com fastmail.fm fastmail.net fastmail.org messagingengine.com",
    "imap.fastmail.com", 993, TERN_SECURITY_TLS,
    "smtp.fastmail.com", 465, TERN_SECURITY_TLS, FALSE },
  { "GMX", "gmx.net gmx.de gmx.at gmx.ch",
    "imap.gmx.net", 993, TERN_SECURITY_TLS, "mail.gmx.net", 587, TERN_SECURITY_STARTTLS, FALSE },
  { "GMX", "gmx.com gmx.us gmx.co.uk gmx.fr",
    "imap.gmx.com", 993, TERN_SECURITY_TLS, "mail.gmx.com", 587, TERN_SECURITY_STARTTLS, FALSE },
  { "Zoho Mail", "zoho.com zohomail.com",
    "imap.zoho.com", 993, TERN_SECURITY_TLS, "smtp.zoho.com", 465, TERN_SECURITY_TLS, FALSE },
  { "Zoho Mail (EU)", "zoho.eu zohomail.eu",
    "imap.zoho.eu", 993, TERN_SECURITY_TLS, "smtp.zoho.eu", 465, TERN_SECURITY_TLS, FALSE },
  /* Proton Mail is read through Proton Mail Bridge on this computer. */
  { "Proton Mail Bridge", "proton.me protonmail.com protonmail.ch pm.me",
    "127.0.0.1", 1143, TERN_SECURITY_STARTTLS,
    "127.0.0.1", 1025, TERN_SECURITY_STARTTLS, FALSE },
  { "mailbox.org", "mailbox.org",
    "imap.mailbox.org", 993, TERN_SECURITY_TLS,
    "smtp.mailbox.org", 465, TERN_SECURITY_TLS, FALSE },
  { "Posteo", "posteo.de posteo.net posteo.at posteo.ch posteo.eu posteo.org posteo.be",
    "posteo.de", 993, TERN_SECURITY_TLS, "posteo.de", 465, TERN_SECURITY_TLS, FALSE },
};

static const Provider *
find_provider (const char *domain)
{
  for (guint i = 0; i < G_N_ELEMENTS (providers); i++)
    {
      g_auto(GStrv) domains = g_strsplit (providers[i].domains, " ", -1);

      if (g_strv_contains ((const char * const *) domains, domain))
        return &providers[i];
    }

  return NULL;
}

static TernAutoconfigResult *
result_from_provider (const Provider *provider,
                      const char     *address)
{
  TernAutoconfigResult *result = g_new0 (TernAutoconfigResult, 1);
  g_autofree char *local_part = NULL;
  g_autofree char *domain = NULL;

  split_address (address, &local_part, &domain);
  result->source = TERN_AUTOCONFIG_SOURCE_BUILTIN;
  result->source_detail = g_strdup ("Tern’s built-in table of providers");
  result->authenticated = TRUE;
  result->provider_name = g_strdup (provider->name);
  result->receiving_protocol = TERN_RECEIVING_PROTOCOL_IMAP;
  result->receiving_host = g_strdup (provider->imap_host);
  result->receiving_port = provider->imap_port;
  result->receiving_security = provider->imap_security;
  result->receiving_username = g_strdup (provider->imap_local_part ? local_part : address);
  result->sending_host = g_strdup (provider->smtp_host);
  result->sending_port = provider->smtp_port;
  result->sending_security = provider->smtp_security;
  result->sending_username = g_strdup (address);

  return result;
}

/**
 * tern_autoconfig_lookup_builtin:
 * @address: an address
 *
 * Looks the address's domain up in Tern's table of large providers.  No
 * network I/O.
 *
 * Returns: (transfer full) (nullable): the settings, or %NULL.
 */
TernAutoconfigResult *
tern_autoconfig_lookup_builtin (const char *address)
{
  g_autofree char *local_part = NULL;
  g_autofree char *domain = NULL;
  const Provider *provider;

  if (!split_address (address, &local_part, &domain))
    return NULL;

  provider = find_provider (domain);
  return provider != NULL ? result_from_provider (provider, address) : NULL;
}

/* Autoconfig files */

typedef struct
{
  char *type;
  char *hostname;
  char *port;
  char *socket_type;
  char *username;
} Server;

static void
server_free (Server *server)
{
  g_free (server->type);
  g_free (server->hostname);
  g_free (server->port);
  g_free (server->socket_type);
  g_free (server->username);
  g_free (server);
}

typedef struct
{
  guint depth;
  gboolean in_provider;
  gboolean provider_done;
  Server *server;
  gboolean server_incoming;
  GPtrArray *incoming;
  GPtrArray *outgoing;
  char *display_name;
  GString *text;
  gboolean seen_root;
} Parser;

static void
parser_start_cb (GMarkupParseContext  *context,
                 const char           *element,
                 const char          **attribute_names,
                 const char          **attribute_values,
                 gpointer              user_data,
                 GError              **error)
{
  Parser *parser = user_data;

  if (++parser->depth > MAX_DEPTH)
    {
      g_set_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                   "the autoconfig file nests deeper than %d elements", MAX_DEPTH);
      return;
    }

  g_string_truncate (parser->text, 0);

  if (parser->depth == 1)
    {
      if (!g_str_equal (element, "clientConfig"))
        {
          g_set_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                       "the file is not an autoconfig file: its root is <%s>, "
                       "not <clientConfig>", element);
          return;
        }
      parser->seen_root = TRUE;
      return;
    }

  /* Only the first provider of a file counts. */
  if (parser->depth == 2 && g_str_equal (element, "emailProvider") && !parser->provider_done)
    {
      parser->in_provider = TRUE;
      return;
    }

  if (parser->in_provider && parser->depth == 3 &&
      (g_str_equal (element, "incomingServer") || g_str_equal (element, "outgoingServer")))
    {
      const char *type = NULL;

      g_markup_collect_attributes (element, attribute_names, attribute_values, NULL,
                                   G_MARKUP_COLLECT_STRING | G_MARKUP_COLLECT_OPTIONAL,
                                   "type", &type,
                                   G_MARKUP_COLLECT_INVALID);
      if (parser->incoming->len + parser->outgoing->len >= MAX_SERVERS)
        {
          g_set_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                       "the autoconfig file lists more than %d servers", MAX_SERVERS);
          return;
        }

      parser->server = g_new0 (Server, 1);
      parser->server->type = g_strdup (type);
      parser->server_incoming = g_str_equal (element, "incomingServer");
    }
}

static void
parser_end_cb (GMarkupParseContext  *context,
               const char           *element,
               gpointer              user_data,
               GError              **error)
{
  Parser *parser = user_data;
  char **field = NULL;

  if (parser->in_provider && parser->depth == 2)
    {
      parser->in_provider = FALSE;
      parser->provider_done = TRUE;
    }
  else if (parser->server != NULL && parser->depth == 3)
    {
      g_ptr_array_add (parser->server_incoming ? parser->incoming : parser->outgoing,
                       g_steal_pointer (&parser->server));
    }
  else if (parser->server != NULL && parser->depth == 4)
    {
      if (g_str_equal (element, "hostname"))
        field = &parser->server->hostname;
      else if (g_str_equal (element, "port"))
        field = &parser->server->port;
      else if (g_str_equal (element, "socketType"))
        field = &parser->server->socket_type;
      else if (g_str_equal (element, "username"))
        field = &parser->server->username;
    }
  else if (parser->in_provider && parser->depth == 3 && g_str_equal (element, "displayName"))
    {
      field = &parser->display_name;
    }

  if (field != NULL && *field == NULL)
    *field = g_strstrip (g_strdup (parser->text->str));

  g_string_truncate (parser->text, 0);
  parser->depth--;
}

static void
parser_text_cb (GMarkupParseContext  *context,
                const char           *text,
                gsize                 length,
                gpointer              user_data,
                GError              **error)
{
  Parser *parser = user_data;

  if (parser->text->len + length > MAX_VALUE_LENGTH)
    {
      /* Long text outside the values Tern reads (a long description) is
       * ignored; only a value Tern uses must be short. */
      if (parser->server != NULL && parser->depth == 4)
        {
          g_set_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                       "a value in the autoconfig file is longer than %d bytes",
                       MAX_VALUE_LENGTH);
        }
      return;
    }

  g_string_append_len (parser->text, text, length);
}

static gboolean
security_from_socket_type (const char   *socket_type,
                           TernSecurity *out)
{
  if (socket_type == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (socket_type, "SSL") == 0 || g_ascii_strcasecmp (socket_type, "TLS") == 0)
    *out = TERN_SECURITY_TLS;
  else if (g_ascii_strcasecmp (socket_type, "STARTTLS") == 0)
    *out = TERN_SECURITY_STARTTLS;
  else
    return FALSE;   /* "plain": never chosen automatically */

  return TRUE;
}

/* The first usable server of @type; servers without encryption are
 * skipped, since a password must not cross the wire in clear unless the
 * user chose it in so many words. */
static Server *
pick_server (GPtrArray    *servers,
             const char   *type,
             const char   *address,
             char        **host,
             guint16      *port,
             TernSecurity *security)
{
  for (guint i = 0; i < servers->len; i++)
    {
      Server *server = servers->pdata[i];
      guint64 number;

      if (g_strcmp0 (server->type, type) != 0)
        continue;
      if (!security_from_socket_type (server->socket_type, security))
        continue;
      if (server->port == NULL ||
          !g_ascii_string_to_unsigned (server->port, 10, 1, 65535, &number, NULL))
        continue;

      *host = expand_placeholders (server->hostname, address);
      if (!host_is_valid (*host))
        {
          g_clear_pointer (host, g_free);
          continue;
        }

      *port = (guint16) number;
      return server;
    }

  return NULL;
}

/**
 * tern_autoconfig_parse_xml:
 * @data: the file's bytes
 * @length: their number, at most %TERN_AUTOCONFIG_MAX_XML_SIZE
 * @address: the address being set up, for the placeholders
 *
 * Reads an autoconfig file (Thunderbird's config-v1.1.xml format) and
 * picks its first encrypted IMAP server (else POP3) and SMTP server.
 *
 * Returns: (transfer full) (nullable): the settings (with the source left
 *   for the caller to fill), or %NULL with %TERN_AUTOCONFIG_ERROR_INVALID.
 */
TernAutoconfigResult *
tern_autoconfig_parse_xml (const char  *data,
                           gsize        length,
                           const char  *address,
                           GError     **error)
{
  static const GMarkupParser callbacks = {
    parser_start_cb, parser_end_cb, parser_text_cb, NULL, NULL,
  };
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(TernAutoconfigResult) result = NULL;
  g_autoptr(GPtrArray) incoming = g_ptr_array_new_with_free_func ((GDestroyNotify) server_free);
  g_autoptr(GPtrArray) outgoing = g_ptr_array_new_with_free_func ((GDestroyNotify) server_free);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *display_name = NULL;
  Parser parser = { 0 };
  Server *in_server;
  Server *out_server;
  gboolean parsed;

  if (length > TERN_AUTOCONFIG_MAX_XML_SIZE)
    {
      g_set_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                   "the autoconfig file is larger than %d bytes", TERN_AUTOCONFIG_MAX_XML_SIZE);
      return NULL;
    }

  parser.incoming = incoming;
  parser.outgoing = outgoing;
  parser.text = text;

  context = g_markup_parse_context_new (&callbacks, G_MARKUP_PREFIX_ERROR_POSITION, &parser, NULL);
  parsed = g_markup_parse_context_parse (context, data, length, error) &&
           g_markup_parse_context_end_parse (context, error);
  g_clear_pointer (&parser.server, server_free);
  display_name = g_steal_pointer (&parser.display_name);

  if (!parsed)
    {
      if (error != NULL && *error != NULL && (*error)->domain != TERN_AUTOCONFIG_ERROR)
        {
          GError *markup_error = *error;

          *error = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                                "the autoconfig file is not well-formed XML: %s",
                                markup_error->message);
          g_error_free (markup_error);
        }
      return NULL;
    }

  if (!parser.seen_root)
    {
      g_set_error_literal (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                           "the autoconfig file is empty");
      return NULL;
    }

  result = g_new0 (TernAutoconfigResult, 1);
  result->provider_name = g_steal_pointer (&display_name);

  result->receiving_protocol = TERN_RECEIVING_PROTOCOL_IMAP;
  in_server = pick_server (incoming, "imap", address, &result->receiving_host,
                           &result->receiving_port, &result->receiving_security);
  if (in_server == NULL)
    {
      result->receiving_protocol = TERN_RECEIVING_PROTOCOL_POP3;
      in_server = pick_server (incoming, "pop3", address, &result->receiving_host,
                               &result->receiving_port, &result->receiving_security);
    }
  out_server = pick_server (outgoing, "smtp", address, &result->sending_host,
                            &result->sending_port, &result->sending_security);

  if (in_server == NULL || out_server == NULL)
    {
      g_set_error (error, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                   "the autoconfig file has no encrypted %s server with a host and port",
                   in_server == NULL ? "IMAP or POP3" : "SMTP");
      return NULL;
    }

  result->receiving_username = expand_placeholders (in_server->username != NULL
                                                      ? in_server->username : "%EMAILADDRESS%",
                                                    address);
  result->sending_username = expand_placeholders (out_server->username != NULL
                                                    ? out_server->username : "%EMAILADDRESS%",
                                                  address);

  return g_steal_pointer (&result);
}

/* Discovery */

struct _TernAutoconfig
{
  GObject parent_instance;

  guint16 port_map[MAX_PORT_MAP][2];
  guint n_port_map;
  GTlsDatabase *tls_database;
  guint timeout_msec;
};

G_DEFINE_FINAL_TYPE (TernAutoconfig, tern_autoconfig, G_TYPE_OBJECT)

static guint16
map_port (TernAutoconfig *self,
          guint16         port)
{
  for (guint i = 0; i < self->n_port_map; i++)
    {
      if (self->port_map[i][0] == port)
        return self->port_map[i][1];
    }

  return port;
}

typedef enum
{
  STEP_BUILTIN,
  STEP_XML,
  STEP_SRV,
  STEP_MX,
  STEP_PROBE,
} StepKind;

typedef struct
{
  StepKind kind;
  char *domain;
  char *url;
  gboolean authenticated;
  /* Found through the MX record: never authenticated. */
  gboolean via_mx;
} Step;

static void
step_free (Step *step)
{
  g_free (step->domain);
  g_free (step->url);
  g_free (step);
}

/* Probes, in the order they are preferred (see probes[] below) */
#define N_PROBES 11
typedef struct _ProbeRun ProbeRun;
static void probe_run_free (ProbeRun *run);

typedef struct
{
  char *address;
  char *domain;
  GQueue steps;
  GString *tried;
  SoupSession *session;

  /* SRV */
  guint srv_index;
  TernAutoconfigResult *partial;

  /* Probing: one run for each entry of probes[] */
  ProbeRun *probe_runs[N_PROBES];
  guint probes_pending;
} Discovery;

static void
discovery_free (Discovery *discovery)
{
  g_free (discovery->address);
  g_free (discovery->domain);
  g_queue_clear_full (&discovery->steps, (GDestroyNotify) step_free);
  g_string_free (discovery->tried, TRUE);
  g_clear_object (&discovery->session);
  g_clear_pointer (&discovery->partial, tern_autoconfig_result_free);
  for (guint i = 0; i < G_N_ELEMENTS (discovery->probe_runs); i++)
    g_clear_pointer (&discovery->probe_runs[i], probe_run_free);
  g_free (discovery);
}

static void run_next_step (GTask *task);

G_GNUC_PRINTF (2, 3)
static void
note_tried (Discovery  *discovery,
            const char *format,
            ...)
{
  va_list args;

  va_start (args, format);
  g_string_append (discovery->tried, "\n  ");
  g_string_append_vprintf (discovery->tried, format, args);
  va_end (args);
}

/* Moves on after a step failed, unless the caller cancelled. */
static void
step_failed (GTask  *task,
             GError *error)
{
  Discovery *discovery = g_task_get_task_data (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  if (error != NULL)
    {
      note_tried (discovery, "%s", error->message);
      g_error_free (error);
    }

  run_next_step (task);
}

static void
step_succeeded (GTask                *task,
                TernAutoconfigResult *result)
{
  g_task_return_pointer (task, result, (GDestroyNotify) tern_autoconfig_result_free);
  g_object_unref (task);
}

static void
queue_step (Discovery  *discovery,
            StepKind    kind,
            const char *domain,
            const char *url,
            gboolean    authenticated,
            gboolean    via_mx)
{
  Step *step = g_new0 (Step, 1);

  step->kind = kind;
  step->domain = g_strdup (domain);
  step->url = g_strdup (url);
  step->authenticated = authenticated;
  step->via_mx = via_mx;
  g_queue_push_tail (&discovery->steps, step);
}

static void
queue_autoconfig_steps (TernAutoconfig *self,
                        Discovery      *discovery,
                        const char     *domain,
                        gboolean        via_mx)
{
  const char *schemes[] = { "https", "http" };
  g_autofree char *escaped = g_uri_escape_string (discovery->address, NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      guint16 standard = i == 0 ? 443 : 80;
      guint16 port = map_port (self, standard);
      g_autofree char *port_text = port != standard ? g_strdup_printf (":%u", port) : g_strdup ("");
      g_autofree char *first = g_strdup_printf ("%s://autoconfig.%s%s/mail/config-v1.1.xml"
                                                "?emailaddress=%s",
                                                schemes[i], domain, port_text, escaped);
      g_autofree char *second = g_strdup_printf ("%s://%s%s/.well-known/autoconfig/mail/"
                                                 "config-v1.1.xml", schemes[i], domain,
                                                 port_text);

      queue_step (discovery, STEP_XML, domain, first, i == 0 && !via_mx, via_mx);
      queue_step (discovery, STEP_XML, domain, second, i == 0 && !via_mx, via_mx);
    }
}

/* Step: an autoconfig file over HTTP(S) */

typedef struct
{
  GTask *task;
  Step *step;
  GInputStream *stream;
  GByteArray *body;
  SoupMessage *message;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  g_clear_object (&fetch->stream);
  g_clear_pointer (&fetch->body, g_byte_array_unref);
  g_clear_object (&fetch->message);
  step_free (fetch->step);
  g_free (fetch);
}

static void
fetch_finish (Fetch *fetch)
{
  GTask *task = fetch->task;
  Discovery *discovery = g_task_get_task_data (task);
  GError *error = NULL;
  TernAutoconfigResult *result;

  result = tern_autoconfig_parse_xml ((const char *) fetch->body->data, fetch->body->len,
                                      discovery->address, &error);
  if (result == NULL)
    {
      GError *wrapped = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                                     "%s: %s", fetch->step->url, error->message);

      g_error_free (error);
      fetch_free (fetch);
      step_failed (task, wrapped);
      return;
    }

  result->source = fetch->step->via_mx ? TERN_AUTOCONFIG_SOURCE_MX
                                       : TERN_AUTOCONFIG_SOURCE_AUTOCONFIG;
  result->source_detail = g_strdup (fetch->step->url);
  result->authenticated = fetch->step->authenticated;
  fetch_free (fetch);
  step_succeeded (task, result);
}

static void
fetch_read_cb (GObject      *source,
               GAsyncResult *async_result,
               gpointer      user_data)
{
  Fetch *fetch = user_data;
  GError *error = NULL;
  g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source),
                                                              async_result, &error);
  GTask *task = fetch->task;

  if (chunk == NULL)
    {
      fetch_free (fetch);
      step_failed (task, error);
      return;
    }

  if (g_bytes_get_size (chunk) == 0)
    {
      fetch_finish (fetch);
      return;
    }

  g_byte_array_append (fetch->body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  if (fetch->body->len > TERN_AUTOCONFIG_MAX_XML_SIZE)
    {
      error = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_INVALID,
                           "%s: the file is larger than %d bytes", fetch->step->url,
                           TERN_AUTOCONFIG_MAX_XML_SIZE);
      fetch_free (fetch);
      step_failed (task, error);
      return;
    }

  g_input_stream_read_bytes_async (fetch->stream, 8192, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), fetch_read_cb, fetch);
}

static void
fetch_sent_cb (GObject      *source,
               GAsyncResult *async_result,
               gpointer      user_data)
{
  Fetch *fetch = user_data;
  GTask *task = fetch->task;
  GError *error = NULL;
  guint status;

  fetch->stream = soup_session_send_finish (SOUP_SESSION (source), async_result, &error);
  if (fetch->stream == NULL)
    {
      GError *wrapped = error;

      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          wrapped = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                 "%s: %s", fetch->step->url, error->message);
          g_error_free (error);
        }
      fetch_free (fetch);
      step_failed (task, wrapped);
      return;
    }

  status = soup_message_get_status (fetch->message);
  if (status != SOUP_STATUS_OK)
    {
      error = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                           "%s: the server answered %u %s", fetch->step->url, status,
                           soup_message_get_reason_phrase (fetch->message) != NULL
                             ? soup_message_get_reason_phrase (fetch->message) : "");
      fetch_free (fetch);
      step_failed (task, error);
      return;
    }

  fetch->body = g_byte_array_new ();
  g_input_stream_read_bytes_async (fetch->stream, 8192, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), fetch_read_cb, fetch);
}

static void
run_xml_step (GTask *task,
              Step  *step)
{
  Discovery *discovery = g_task_get_task_data (task);
  Fetch *fetch = g_new0 (Fetch, 1);

  fetch->task = task;
  fetch->step = step;
  fetch->message = soup_message_new (SOUP_METHOD_GET, step->url);
  if (fetch->message == NULL)
    {
      GError *error = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                   "%s: not a URL Tern can fetch", step->url);

      fetch_free (fetch);
      step_failed (task, error);
      return;
    }

  /* A redirect could lead from HTTPS to plain HTTP, or to another
   * domain: only the URL asked for counts. */
  soup_message_add_flags (fetch->message, SOUP_MESSAGE_NO_REDIRECT);
  soup_session_send_async (discovery->session, fetch->message, G_PRIORITY_DEFAULT,
                           g_task_get_cancellable (task), fetch_sent_cb, fetch);
}

/* Step: RFC 6186 SRV records */

typedef struct
{
  const char *service;
  gboolean sending;
  TernReceivingProtocol protocol;
  TernSecurity security;
} SrvService;

/* RFC 6186 §3.4 and RFC 8314: implicit TLS first. */
static const SrvService srv_services[] = {
  { "imaps", FALSE, TERN_RECEIVING_PROTOCOL_IMAP, TERN_SECURITY_TLS },
  { "imap", FALSE, TERN_RECEIVING_PROTOCOL_IMAP, TERN_SECURITY_STARTTLS },
  { "pop3s", FALSE, TERN_RECEIVING_PROTOCOL_POP3, TERN_SECURITY_TLS },
  { "pop3", FALSE, TERN_RECEIVING_PROTOCOL_POP3, TERN_SECURITY_STARTTLS },
  { "submissions", TRUE, 0, TERN_SECURITY_TLS },
  { "submission", TRUE, 0, TERN_SECURITY_STARTTLS },
};

static void run_srv_lookup (GTask *task);

static void
srv_lookup_cb (GObject      *source,
               GAsyncResult *async_result,
               gpointer      user_data)
{
  GTask *task = user_data;
  Discovery *discovery = g_task_get_task_data (task);
  const SrvService *service = &srv_services[discovery->srv_index];
  GError *error = NULL;
  GList *targets = g_resolver_lookup_service_finish (G_RESOLVER (source), async_result, &error);
  GSrvTarget *target = targets != NULL ? targets->data : NULL;
  TernAutoconfigResult *partial = discovery->partial;
  const char *hostname = target != NULL ? g_srv_target_get_hostname (target) : NULL;

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_list_free_full (targets, (GDestroyNotify) g_srv_target_free);
      step_failed (task, error);
      return;
    }
  g_clear_error (&error);

  /* A target of "." says the service is not offered (RFC 6186 §3.4). */
  if (hostname != NULL && !g_str_equal (hostname, ".") && !g_str_equal (hostname, "") &&
      host_is_valid (hostname) && g_srv_target_get_port (target) != 0)
    {
      g_autofree char *host = g_strdup (hostname);

      if (g_str_has_suffix (host, "."))
        host[strlen (host) - 1] = '\0';

      if (!service->sending && partial->receiving_host == NULL)
        {
          partial->receiving_protocol = service->protocol;
          partial->receiving_host = g_steal_pointer (&host);
          partial->receiving_port = g_srv_target_get_port (target);
          partial->receiving_security = service->security;
        }
      else if (service->sending && partial->sending_host == NULL)
        {
          partial->sending_host = g_steal_pointer (&host);
          partial->sending_port = g_srv_target_get_port (target);
          partial->sending_security = service->security;
        }
    }
  g_list_free_full (targets, (GDestroyNotify) g_srv_target_free);

  discovery->srv_index++;
  run_srv_lookup (task);
}

static void
run_srv_lookup (GTask *task)
{
  Discovery *discovery = g_task_get_task_data (task);
  TernAutoconfigResult *partial = discovery->partial;

  /* Skip the rest of a side once it has a server. */
  while (discovery->srv_index < G_N_ELEMENTS (srv_services) &&
         ((!srv_services[discovery->srv_index].sending && partial->receiving_host != NULL) ||
          (srv_services[discovery->srv_index].sending && partial->sending_host != NULL)))
    discovery->srv_index++;

  if (discovery->srv_index < G_N_ELEMENTS (srv_services))
    {
      g_resolver_lookup_service_async (g_resolver_get_default (),
                                       srv_services[discovery->srv_index].service, "tcp",
                                       discovery->domain, g_task_get_cancellable (task),
                                       srv_lookup_cb, task);
      return;
    }

  if (partial->receiving_host == NULL || partial->sending_host == NULL)
    {
      GError *error = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                   "DNS SRV records of %s: no %s server", discovery->domain,
                                   partial->receiving_host == NULL ? "IMAP or POP3"
                                                                   : "submission");

      g_clear_pointer (&discovery->partial, tern_autoconfig_result_free);
      step_failed (task, error);
      return;
    }

  partial->source = TERN_AUTOCONFIG_SOURCE_SRV;
  partial->source_detail = g_strdup_printf ("DNS SRV records of %s", discovery->domain);
  partial->authenticated = FALSE;
  partial->receiving_username = g_strdup (discovery->address);
  partial->sending_username = g_strdup (discovery->address);
  step_succeeded (task, g_steal_pointer (&discovery->partial));
}

/* Step: the MX host's domain */

static void
mx_lookup_cb (GObject      *source,
              GAsyncResult *async_result,
              gpointer      user_data)
{
  GTask *task = user_data;
  Discovery *discovery = g_task_get_task_data (task);
  TernAutoconfig *self = g_task_get_source_object (task);
  GError *error = NULL;
  GList *records = g_resolver_lookup_records_finish (G_RESOLVER (source), async_result, &error);
  g_autofree char *best_host = NULL;
  g_autofree char *mx_domain = NULL;
  guint16 best_preference = G_MAXUINT16;
  const Provider *provider;
  GList *to_queue = NULL;

  if (records == NULL)
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          GError *wrapped = g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                         "DNS MX record of %s: %s", discovery->domain,
                                         error->message);

          g_error_free (error);
          error = wrapped;
        }
      step_failed (task, error);
      return;
    }

  for (GList *l = records; l != NULL; l = l->next)
    {
      guint16 preference;
      const char *host;

      g_variant_get (l->data, "(q&s)", &preference, &host);
      if (preference < best_preference || best_host == NULL)
        {
          g_free (best_host);
          best_host = g_strdup (host);
          best_preference = preference;
        }
    }
  g_list_free_full (records, (GDestroyNotify) g_variant_unref);

  mx_domain = tern_autoconfig_domain_of_host (best_host);
  if (mx_domain == NULL || g_str_equal (mx_domain, discovery->domain))
    {
      step_failed (task, g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                      "DNS MX record of %s: %s is in the same domain",
                                      discovery->domain, best_host != NULL ? best_host : "?"));
      return;
    }

  provider = find_provider (mx_domain);
  if (provider != NULL)
    {
      TernAutoconfigResult *result = result_from_provider (provider, discovery->address);

      result->source = TERN_AUTOCONFIG_SOURCE_MX;
      g_free (result->source_detail);
      result->source_detail = g_strdup_printf ("the MX host %s of %s is %s’s (built-in table)",
                                               best_host, discovery->domain, provider->name);
      /* The table is trusted, but the MX record that led to it is not. */
      result->authenticated = FALSE;
      step_succeeded (task, result);
      return;
    }

  /* Try the MX domain's autoconfig files before what is left. */
  while (!g_queue_is_empty (&discovery->steps))
    to_queue = g_list_append (to_queue, g_queue_pop_head (&discovery->steps));
  queue_autoconfig_steps (self, discovery, mx_domain, TRUE);
  for (GList *l = to_queue; l != NULL; l = l->next)
    g_queue_push_tail (&discovery->steps, l->data);
  g_list_free (to_queue);

  note_tried (discovery, "DNS MX record of %s: %s, in the domain %s", discovery->domain,
              best_host, mx_domain);
  run_next_step (task);
}

/* Step: probing */

typedef struct
{
  const char *prefix;
  guint16 port;
  gboolean sending;
  TernReceivingProtocol protocol;
  const char *greeting;
  /* TERN_TRUST_TLS: TLS from the first byte, then the greeting is read;
   * otherwise the protocol's STARTTLS exchange must reach a certificate
   * that validates. */
  TernTrustMethod method;
} Probe;

/* Implicit TLS first (RFC 8314), then STARTTLS on the submission and
 * IMAP ports. */
static const Probe probes[] = {
  { "imap.", 993, FALSE, TERN_RECEIVING_PROTOCOL_IMAP, "* OK", TERN_TRUST_TLS },
  { "mail.", 993, FALSE, TERN_RECEIVING_PROTOCOL_IMAP, "* OK", TERN_TRUST_TLS },
  { "imap.", 143, FALSE, TERN_RECEIVING_PROTOCOL_IMAP, NULL, TERN_TRUST_STARTTLS_IMAP },
  { "mail.", 143, FALSE, TERN_RECEIVING_PROTOCOL_IMAP, NULL, TERN_TRUST_STARTTLS_IMAP },
  { "pop.", 995, FALSE, TERN_RECEIVING_PROTOCOL_POP3, "+OK", TERN_TRUST_TLS },
  { "pop3.", 995, FALSE, TERN_RECEIVING_PROTOCOL_POP3, "+OK", TERN_TRUST_TLS },
  { "mail.", 995, FALSE, TERN_RECEIVING_PROTOCOL_POP3, "+OK", TERN_TRUST_TLS },
  { "smtp.", 465, TRUE, 0, "220", TERN_TRUST_TLS },
  { "mail.", 465, TRUE, 0, "220", TERN_TRUST_TLS },
  { "smtp.", 587, TRUE, 0, NULL, TERN_TRUST_STARTTLS_SMTP },
  { "mail.", 587, TRUE, 0, NULL, TERN_TRUST_STARTTLS_SMTP },
};
G_STATIC_ASSERT (G_N_ELEMENTS (probes) == N_PROBES);

/* One probe under way.  Every probe starts at once, each on a connection
 * of its own, so that a server that never answers costs one timeout, not
 * one for each port tried after it.  When the last one is done, the first
 * of the list that answered, for receiving and for sending, is taken. */
struct _ProbeRun
{
  GTask *task;
  guint index;
  TernConnection *connection;
  GError *error;
  gboolean answered;
};

static void
probe_run_free (ProbeRun *run)
{
  g_clear_object (&run->connection);
  g_clear_error (&run->error);
  g_free (run);
}

static void
probes_finished (GTask *task)
{
  Discovery *discovery = g_task_get_task_data (task);
  TernAutoconfigResult *partial = discovery->partial;
  ProbeRun *receiving = NULL;
  ProbeRun *sending = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (probes); i++)
    {
      ProbeRun *run = discovery->probe_runs[i];

      if (run != NULL && g_error_matches (run->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          GError *error = g_steal_pointer (&run->error);

          g_clear_pointer (&discovery->partial, tern_autoconfig_result_free);
          step_failed (task, error);
          return;
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (probes); i++)
    {
      ProbeRun *run = discovery->probe_runs[i];
      const Probe *probe = &probes[i];
      ProbeRun **slot = probe->sending ? &sending : &receiving;

      if (run == NULL || *slot != NULL)
        continue;

      if (run->answered)
        *slot = run;
      else if (run->error != NULL)
        note_tried (discovery, "%s%s port %u: %s", probe->prefix, discovery->domain, probe->port,
                    run->error->message);
    }

  if (receiving != NULL)
    {
      const Probe *probe = &probes[receiving->index];

      partial->receiving_protocol = probe->protocol;
      partial->receiving_host = g_strconcat (probe->prefix, discovery->domain, NULL);
      partial->receiving_port = probe->port;
      partial->receiving_security = probe->method == TERN_TRUST_TLS ? TERN_SECURITY_TLS
                                                                    : TERN_SECURITY_STARTTLS;
    }
  if (sending != NULL)
    {
      const Probe *probe = &probes[sending->index];

      partial->sending_host = g_strconcat (probe->prefix, discovery->domain, NULL);
      partial->sending_port = probe->port;
      partial->sending_security = probe->method == TERN_TRUST_TLS ? TERN_SECURITY_TLS
                                                                  : TERN_SECURITY_STARTTLS;
    }

  if (partial->receiving_host == NULL || partial->sending_host == NULL)
    {
      g_clear_pointer (&discovery->partial, tern_autoconfig_result_free);
      run_next_step (task);
      return;
    }

  partial->source = TERN_AUTOCONFIG_SOURCE_PROBE;
  partial->source_detail = g_strdup_printf ("servers of %s that answered with a valid "
                                            "certificate", discovery->domain);
  /* A certificate that validates for the host proves the host. */
  partial->authenticated = TRUE;
  partial->receiving_username = g_strdup (discovery->address);
  partial->sending_username = g_strdup (discovery->address);
  step_succeeded (task, g_steal_pointer (&discovery->partial));
}

/* Takes @error; a probe without one answered. */
static void
probe_done (ProbeRun *run,
            GError   *error)
{
  GTask *task = run->task;
  Discovery *discovery = g_task_get_task_data (task);

  run->error = error;
  run->answered = error == NULL;

  g_assert (discovery->probes_pending > 0);
  if (--discovery->probes_pending == 0)
    probes_finished (task);
}

static void
probe_greeting_cb (GObject      *source,
                   GAsyncResult *async_result,
                   gpointer      user_data)
{
  ProbeRun *run = user_data;
  const Probe *probe = &probes[run->index];
  GError *error = NULL;
  g_autofree char *line = tern_connection_read_line_finish (TERN_CONNECTION (source),
                                                            async_result, NULL, &error);

  tern_connection_close (TERN_CONNECTION (source));
  if (line == NULL)
    probe_done (run, error);
  else if (!g_str_has_prefix (line, probe->greeting))
    probe_done (run, g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                  "not the greeting of a mail server"));
  else
    probe_done (run, NULL);
}

/* A STARTTLS probe: the exchange reached TLS, and the certificate
 * validated exactly when tern_trust_check_server says there is nothing to
 * trust by hand. */
static void
probe_checked_cb (GObject      *source,
                  GAsyncResult *async_result,
                  gpointer      user_data)
{
  ProbeRun *run = user_data;
  GError *error = NULL;
  g_autoptr(TernCertificateDetails) details = tern_trust_check_server_finish (async_result,
                                                                              &error);

  if (details != NULL)
    {
      g_autofree char *reasons = tern_certificate_describe_errors (details->errors);

      probe_done (run, g_error_new (TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                                    "the certificate was refused: %s", reasons));
      return;
    }

  if (!g_error_matches (error, TERN_TRUST_ERROR, TERN_TRUST_ERROR_VALID))
    {
      probe_done (run, error);
      return;
    }

  g_clear_error (&error);
  probe_done (run, NULL);
}

static void
probe_connected_cb (GObject      *source,
                    GAsyncResult *async_result,
                    gpointer      user_data)
{
  ProbeRun *run = user_data;
  GError *error = NULL;

  if (!tern_connection_connect_finish (TERN_CONNECTION (source), async_result, &error))
    {
      probe_done (run, error);
      return;
    }

  tern_connection_read_line_async (TERN_CONNECTION (source), 1024,
                                   g_task_get_cancellable (run->task), probe_greeting_cb, run);
}

static void
run_probes (GTask *task)
{
  Discovery *discovery = g_task_get_task_data (task);
  TernAutoconfig *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  /* Counted before any starts, as one may finish at once. */
  discovery->probes_pending = 1;

  for (guint i = 0; i < G_N_ELEMENTS (probes); i++)
    {
      const Probe *probe = &probes[i];
      g_autofree char *host = g_strconcat (probe->prefix, discovery->domain, NULL);
      ProbeRun *run = g_new0 (ProbeRun, 1);

      run->task = task;
      run->index = i;
      discovery->probe_runs[i] = run;
      discovery->probes_pending++;

      if (probe->method != TERN_TRUST_TLS)
        {
          tern_trust_check_server_async (host, map_port (self, probe->port), probe->method,
                                         self->tls_database, cancellable, probe_checked_cb, run);
          continue;
        }

      run->connection = tern_connection_new ();
      if (self->tls_database != NULL)
        tern_connection_set_tls_database (run->connection, self->tls_database);
      tern_connection_set_connect_timeout (run->connection, self->timeout_msec);
      tern_connection_set_io_timeout (run->connection, self->timeout_msec);
      tern_connection_connect_async (run->connection, host, map_port (self, probe->port),
                                     TERN_CONNECTION_SECURITY_TLS, cancellable,
                                     probe_connected_cb, run);
    }

  if (--discovery->probes_pending == 0)
    probes_finished (task);
}

/* The queue */

static void
run_next_step (GTask *task)
{
  Discovery *discovery = g_task_get_task_data (task);
  TernAutoconfig *self = g_task_get_source_object (task);
  Step *step = g_queue_pop_head (&discovery->steps);

  if (g_task_return_error_if_cancelled (task))
    {
      g_clear_pointer (&step, step_free);
      g_object_unref (task);
      return;
    }

  if (step == NULL)
    {
      g_task_return_new_error (task, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_NOT_FOUND,
                               "Tern could not find the servers of %s; enter them by hand. "
                               "Tried:%s", discovery->address, discovery->tried->str);
      g_object_unref (task);
      return;
    }

  switch (step->kind)
    {
    case STEP_BUILTIN:
      {
        TernAutoconfigResult *result = tern_autoconfig_lookup_builtin (discovery->address);

        step_free (step);
        if (result != NULL)
          {
            step_succeeded (task, result);
            return;
          }
        note_tried (discovery, "built-in table: %s is not a domain Tern knows",
                    discovery->domain);
        run_next_step (task);
      }
      return;

    case STEP_XML:
      run_xml_step (task, step);
      return;

    case STEP_SRV:
      step_free (step);
      discovery->srv_index = 0;
      discovery->partial = g_new0 (TernAutoconfigResult, 1);
      run_srv_lookup (task);
      return;

    case STEP_MX:
      step_free (step);
      g_resolver_lookup_records_async (g_resolver_get_default (), discovery->domain,
                                       G_RESOLVER_RECORD_MX, g_task_get_cancellable (task),
                                       mx_lookup_cb, task);
      return;

    case STEP_PROBE:
      step_free (step);
      discovery->partial = g_new0 (TernAutoconfigResult, 1);
      run_probes (task);
      return;

    default:
      g_assert_not_reached ();
    }

  (void) self;
}

/**
 * tern_autoconfig_discover_async:
 * @address: the address to set up
 * @cancellable: (nullable): a #GCancellable
 *
 * Finds the servers of @address, trying the sources in order (see
 * tern-autoconfig.h).  Names are resolved through g_resolver_get_default(),
 * which tests replace.
 */
void
tern_autoconfig_discover_async (TernAutoconfig      *self,
                                const char          *address,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;
  Discovery *discovery;
  g_autofree char *local_part = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *agent = NULL;

  g_return_if_fail (TERN_IS_AUTOCONFIG (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tern_autoconfig_discover_async);

  if (!split_address (address, &local_part, &domain))
    {
      g_task_return_new_error (task, TERN_AUTOCONFIG_ERROR, TERN_AUTOCONFIG_ERROR_BAD_ADDRESS,
                               "“%s” is not an email address such as name@example.com",
                               address != NULL ? address : "");
      g_object_unref (task);
      return;
    }

  discovery = g_new0 (Discovery, 1);
  discovery->address = g_strdup (address);
  discovery->domain = g_steal_pointer (&domain);
  discovery->tried = g_string_new (NULL);
  g_queue_init (&discovery->steps);
  agent = g_strdup_printf ("Tern/%s", PACKAGE_VERSION);
  discovery->session = soup_session_new_with_options ("timeout", MAX (self->timeout_msec / 1000, 1),
                                                      "user-agent", agent,
                                                      NULL);
  if (self->tls_database != NULL)
    soup_session_set_tls_database (discovery->session, self->tls_database);
  g_task_set_task_data (task, discovery, (GDestroyNotify) discovery_free);

  queue_step (discovery, STEP_BUILTIN, discovery->domain, NULL, TRUE, FALSE);
  queue_autoconfig_steps (self, discovery, discovery->domain, FALSE);
  queue_step (discovery, STEP_SRV, discovery->domain, NULL, FALSE, FALSE);
  queue_step (discovery, STEP_MX, discovery->domain, NULL, FALSE, FALSE);
  queue_step (discovery, STEP_PROBE, discovery->domain, NULL, TRUE, FALSE);

  run_next_step (task);
}

/**
 * tern_autoconfig_discover_finish:
 *
 * Returns: (transfer full) (nullable): the settings found, or %NULL with a
 *   %TERN_AUTOCONFIG_ERROR_NOT_FOUND error listing what was tried.
 */
TernAutoconfigResult *
tern_autoconfig_discover_finish (TernAutoconfig  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
tern_autoconfig_finalize (GObject *object)
{
  TernAutoconfig *self = TERN_AUTOCONFIG (object);

  g_clear_object (&self->tls_database);

  G_OBJECT_CLASS (tern_autoconfig_parent_class)->finalize (object);
}

static void
tern_autoconfig_class_init (TernAutoconfigClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tern_autoconfig_finalize;
}

static void
tern_autoconfig_init (TernAutoconfig *self)
{
  self->timeout_msec = DEFAULT_TIMEOUT_MSEC;
}

TernAutoconfig *
tern_autoconfig_new (void)
{
  return g_object_new (TERN_TYPE_AUTOCONFIG, NULL);
}

/**
 * tern_autoconfig_set_port_map:
 * @port: a port Tern would use (443, 80, 993, 995, 465)
 * @actual_port: the port to use instead
 *
 * Makes discovery connect to @actual_port where it would use @port: for
 * tests, whose servers cannot listen on the standard ports, and for a
 * local forwarder.
 */
void
tern_autoconfig_set_port_map (TernAutoconfig *self,
                              guint16         port,
                              guint16         actual_port)
{
  g_return_if_fail (TERN_IS_AUTOCONFIG (self));

  for (guint i = 0; i < self->n_port_map; i++)
    {
      if (self->port_map[i][0] == port)
        {
          self->port_map[i][1] = actual_port;
          return;
        }
    }

  g_return_if_fail (self->n_port_map < MAX_PORT_MAP);
  self->port_map[self->n_port_map][0] = port;
  self->port_map[self->n_port_map][1] = actual_port;
  self->n_port_map++;
}

/**
 * tern_autoconfig_set_tls_database:
 * @database: (nullable): the certificate authorities HTTPS and probes
 *   trust; %NULL for the system's
 */
void
tern_autoconfig_set_tls_database (TernAutoconfig *self,
                                  GTlsDatabase   *database)
{
  g_return_if_fail (TERN_IS_AUTOCONFIG (self));

  g_set_object (&self->tls_database, database);
}

/**
 * tern_autoconfig_set_timeout:
 * @msec: the most any one request or connection may take
 */
void
tern_autoconfig_set_timeout (TernAutoconfig *self,
                             guint           msec)
{
  g_return_if_fail (TERN_IS_AUTOCONFIG (self));

  self->timeout_msec = MAX (msec, 1);
}
