/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-account-private.h"
#include "tern-account.h"
#include "tern-identity.h"

/*
 * Account files: reading and checking them, and writing them atomically.
 *
 * The file, `<config folder>/accounts/<id>.ini`, is a GKeyFile.  Its name
 * is the account's id: lower-case letters, digits and "-" ("local" is the
 * store's, for the folders on this computer).  For example:
 *
 *   [Account]
 *   Name=Work                  # shown in the sidebar; default: the address
 *   Enabled=true               # default: true
 *   Order=0                    # place in the account list, smallest first
 *   SyncInterval=15            # minutes between checks; 0 = only by hand
 *   OfflineDays=30             # days of mail kept offline; 0 = all of it
 *   Auth=password              # password | oauth2; default: password
 *   GoaId=account_1700000000_0 # made from this GNOME Online Accounts
 *                              # account, which keeps its passwords
 *
 *   [OAuth2]                   # required with Auth=oauth2, but for an
 *                              # online account (GoaId), whose tokens
 *                              # come from GNOME Online Accounts
 *   Provider=google            # google | microsoft | custom
 *   AuthorizationURI=https://id.example.com/authorize   # custom only,
 *   TokenURI=https://id.example.com/token   # required there; plain http
 *   ClientId=tern-desktop      #   only to 127.0.0.1 or localhost
 *   Scope=mail offline         # custom only, optional
 *
 *   [Receiving]
 *   Protocol=imap              # imap | pop3 (required)
 *   Host=imap.example.com      # required
 *   Port=993                   # default: from Protocol and Security
 *   Security=tls               # tls | starttls | none; default: tls
 *   Username=ada@example.com
 *   PasswordCommand=pass show mail/work   # optional: the password comes
 *                              # from this command's first line of output
 *
 *   [Sending]
 *   Host=smtp.example.com      # required
 *   Port=587                   # default: 465 with tls, else 587
 *   Security=starttls          # default: starttls
 *   Username=ada@example.com
 *   PasswordCommand=pass show mail/work-smtp   # optional, as above
 *
 *   [POP3]                     # read only when Protocol=pop3
 *   AfterDownload=delete       # delete | keep | keep-for-days; default: delete
 *   KeepDays=14                # with keep-for-days, 1 or more
 *   DeleteWhenDeletedHere=false
 *   DeliverTo=home             # another account's id; default: this Inbox
 *
 *   [Identity 1]               # one group per identity, in order
 *   Name=Ada Lovelace
 *   Address=ada@example.com    # required
 *   ReplyTo=team@example.com
 *   Signature=Ada\nExample Ltd # GKeyFile escapes: \n for a new line
 *   Default=true               # exactly one, unless there is one identity
 *   ComposeFormat=plain        # rich | plain: how the composer starts a
 *                              #   message from it; default: rich
 *   SmtpHost=smtp.other.org    # an own SMTP server for this address; with
 *   SmtpPort=465               #   SmtpPort, SmtpSecurity and SmtpUsername
 *   SmtpSecurity=tls           #   as in [Sending]
 *
 * (The comments above explain the keys; GKeyFile comments go on lines of
 * their own.)  With Auth=oauth2 the refresh token is in the keyring, like
 * a password, and no key may name a token or a secret (TokenURI is an
 * address, not a token).  No key may name a password (PasswordCommand holds a
 * command, not a password, and is the one exception): passwords come from the
 * credentials provider (the keyring), and a file that holds one is
 * refused with an error asking the user to remove it, so that it is never
 * read, copied or logged.  Unknown groups and keys are kept as they are
 * when Tern rewrites the file, for a newer Tern's sake.
 *
 * Every problem in a file is a TERN_ACCOUNT_ERROR whose message names the
 * file, the group and the key: `“…/work.ini”: [Receiving] Port: …`.
 */


#define ACCOUNT_GROUP   "Account"
#define RECEIVING_GROUP "Receiving"
#define SENDING_GROUP   "Sending"
#define POP3_GROUP      "POP3"
#define OAUTH2_GROUP    "OAuth2"
#define IDENTITY_PREFIX "Identity "
#define PASSWORD_COMMAND_KEY "PasswordCommand"

/* Reading a file */

typedef struct
{
  const char *path;
  GKeyFile *key_file;
} Reader;

G_GNUC_PRINTF (6, 7)
static void
set_key_error (GError     **error,
               gint         code,
               const char  *path,
               const char  *group,
               const char  *key,
               const char  *format,
               ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);

  if (key != NULL)
    g_set_error (error, TERN_ACCOUNT_ERROR, code, "“%s”: [%s] %s: %s", path, group, key, detail);
  else
    g_set_error (error, TERN_ACCOUNT_ERROR, code, "“%s”: [%s]: %s", path, group, detail);
}

/* A string value, or NULL for a key that is missing or empty. */
static char *
read_string (Reader     *reader,
             const char *group,
             const char *key)
{
  g_autofree char *value = g_key_file_get_string (reader->key_file, group, key, NULL);

  if (value == NULL || *g_strstrip (value) == '\0')
    return NULL;

  return g_steal_pointer (&value);
}

static gboolean
read_required_string (Reader      *reader,
                      const char  *group,
                      const char  *key,
                      char       **out,
                      GError     **error)
{
  *out = read_string (reader, group, key);
  if (*out == NULL)
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_MISSING_KEY, reader->path, group, key,
                     "this key is required and is missing or empty");
      return FALSE;
    }

  return TRUE;
}

static gboolean
read_host (Reader      *reader,
           const char  *group,
           const char  *key,
           gboolean     required,
           char       **out,
           GError     **error)
{
  const char *p;

  if (required)
    {
      if (!read_required_string (reader, group, key, out, error))
        return FALSE;
    }
  else
    {
      *out = read_string (reader, group, key);
      if (*out == NULL)
        return TRUE;
    }

  for (p = *out; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p) || *p == '/' || *p == '@' || g_ascii_iscntrl (*p))
        {
          set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, group, key,
                         "“%s” is not a host name", *out);
          g_clear_pointer (out, g_free);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
read_uint (Reader      *reader,
           const char  *group,
           const char  *key,
           guint        min,
           guint        max,
           guint        fallback,
           guint       *out,
           GError     **error)
{
  g_autofree char *text = read_string (reader, group, key);
  guint64 number;

  if (text == NULL)
    {
      *out = fallback;
      return TRUE;
    }

  if (!g_ascii_string_to_unsigned (text, 10, min, max, &number, NULL))
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, group, key,
                     "“%s” is not a whole number from %u to %u", text, min, max);
      return FALSE;
    }

  *out = (guint) number;
  return TRUE;
}

static gboolean
read_port (Reader      *reader,
           const char  *group,
           const char  *key,
           guint16      fallback,
           guint16     *out,
           GError     **error)
{
  g_autofree char *text = read_string (reader, group, key);
  guint64 number;

  if (text == NULL)
    {
      *out = fallback;
      return TRUE;
    }

  if (!g_ascii_string_to_unsigned (text, 10, 1, TERN_ACCOUNT_MAX_PORT, &number, NULL))
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, group, key,
                     "“%s” is not a port number from 1 to %d", text, TERN_ACCOUNT_MAX_PORT);
      return FALSE;
    }

  *out = (guint16) number;
  return TRUE;
}

static gboolean
read_boolean (Reader      *reader,
              const char  *group,
              const char  *key,
              gboolean     fallback,
              gboolean    *out,
              GError     **error)
{
  g_autofree char *text = read_string (reader, group, key);

  if (text == NULL)
    *out = fallback;
  else if (g_str_equal (text, "true"))
    *out = TRUE;
  else if (g_str_equal (text, "false"))
    *out = FALSE;
  else
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, group, key,
                     "“%s” is neither true nor false", text);
      return FALSE;
    }

  return TRUE;
}

static gboolean
read_enum (Reader      *reader,
           const char  *group,
           const char  *key,
           GType        type,
           gboolean     required,
           int          fallback,
           int         *out,
           GError     **error)
{
  g_autofree char *text = read_string (reader, group, key);
  g_autoptr(GEnumClass) klass = NULL;
  g_autoptr(GString) choices = NULL;
  GEnumValue *value;

  if (text == NULL)
    {
      if (required)
        {
          set_key_error (error, TERN_ACCOUNT_ERROR_MISSING_KEY, reader->path, group, key,
                         "this key is required and is missing or empty");
          return FALSE;
        }

      *out = fallback;
      return TRUE;
    }

  klass = g_type_class_ref (type);
  value = g_enum_get_value_by_nick (klass, text);
  if (value != NULL)
    {
      *out = value->value;
      return TRUE;
    }

  choices = g_string_new (NULL);
  for (guint i = 0; i < klass->n_values; i++)
    g_string_append_printf (choices, "%s%s", i > 0 ? ", " : "", klass->values[i].value_nick);

  set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, group, key,
                 "“%s” is not one of %s", text, choices->str);
  return FALSE;
}

static gboolean
read_address (Reader      *reader,
              const char  *group,
              const char  *key,
              gboolean     required,
              char       **out,
              GError     **error)
{
  if (required)
    {
      if (!read_required_string (reader, group, key, out, error))
        return FALSE;
    }
  else
    {
      *out = read_string (reader, group, key);
      if (*out == NULL)
        return TRUE;
    }

  if (!tern_account_address_is_valid (*out))
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, group, key,
                     "“%s” is not an email address such as name@example.com", *out);
      g_clear_pointer (out, g_free);
      return FALSE;
    }

  return TRUE;
}

static gboolean
key_names_a_password (const char *key)
{
  g_autofree char *folded = g_ascii_strdown (key, -1);

  /* The command that prints the password is not the password. */
  if (g_str_equal (key, PASSWORD_COMMAND_KEY))
    return FALSE;

  if (strstr (folded, "password") != NULL || strstr (folded, "passwd") != NULL)
    return TRUE;

  /* OAuth2 tokens and client secrets belong in the keyring too. */
  return (strstr (folded, "token") != NULL && !g_str_equal (key, "TokenURI")) ||
         strstr (folded, "secret") != NULL;
}

/* An OAuth2 endpoint: https, or http only to this computer (tests and
 * local bridges). */
static gboolean
read_endpoint (Reader      *reader,
               const char  *key,
               char       **out,
               GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;
  const char *host;

  if (!read_required_string (reader, OAUTH2_GROUP, key, out, error))
    return FALSE;

  uri = g_uri_parse (*out, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  host = uri != NULL ? g_uri_get_host (uri) : NULL;
  if (uri == NULL || host == NULL || *host == '\0' ||
      (g_strcmp0 (scheme, "https") != 0 &&
       !(g_strcmp0 (scheme, "http") == 0 &&
         (g_str_equal (host, "127.0.0.1") || g_str_equal (host, "localhost") ||
          g_str_equal (host, "::1")))))
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, OAUTH2_GROUP, key,
                     "“%s” is not an https address (plain http is allowed only to "
                     "127.0.0.1 or localhost)", *out);
      g_clear_pointer (out, g_free);
      return FALSE;
    }

  return TRUE;
}

static gboolean
read_oauth2 (Reader       *reader,
             TernAccount  *self,
             GError      **error)
{
  static const char * const providers[] = { "google", "microsoft", "custom", NULL };

  if (!read_required_string (reader, OAUTH2_GROUP, "Provider", &self->oauth2_provider, error))
    return FALSE;
  if (!g_strv_contains (providers, self->oauth2_provider))
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, OAUTH2_GROUP,
                     "Provider", "“%s” is not one of google, microsoft, custom",
                     self->oauth2_provider);
      return FALSE;
    }
  if (!g_str_equal (self->oauth2_provider, "custom"))
    return TRUE;

  return read_endpoint (reader, "AuthorizationURI", &self->oauth2_authorization_uri, error) &&
         read_endpoint (reader, "TokenURI", &self->oauth2_token_uri, error) &&
         read_required_string (reader, OAUTH2_GROUP, "ClientId", &self->oauth2_client_id,
                               error) &&
         ((self->oauth2_scope = read_string (reader, OAUTH2_GROUP, "Scope")), TRUE);
}

static gboolean
refuse_passwords (Reader  *reader,
                  GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (reader->key_file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (reader->key_file, groups[i], NULL, NULL);

      for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
        {
          /* The value is never read: the message must not carry it. */
          if (key_names_a_password (keys[j]))
            {
              set_key_error (error, TERN_ACCOUNT_ERROR_PASSWORD_IN_FILE, reader->path,
                             groups[i], keys[j],
                             "account files must not hold passwords; remove this key "
                             "(Tern keeps passwords in the keyring)");
              return FALSE;
            }
        }
    }

  return TRUE;
}

static gboolean
read_identity (Reader        *reader,
               const char    *group,
               TernIdentity **out,
               gboolean      *is_default,
               GError       **error)
{
  g_autoptr(TernIdentity) identity = NULL;
  g_autofree char *name = NULL;
  g_autofree char *address = NULL;
  g_autofree char *reply_to = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *smtp_host = NULL;
  g_autofree char *smtp_username = NULL;
  guint16 smtp_port;
  int smtp_security;
  int compose_format;

  if (!read_address (reader, group, "Address", TRUE, &address, error) ||
      !read_address (reader, group, "ReplyTo", FALSE, &reply_to, error) ||
      !read_boolean (reader, group, "Default", FALSE, is_default, error) ||
      !read_host (reader, group, "SmtpHost", FALSE, &smtp_host, error) ||
      !read_enum (reader, group, "SmtpSecurity", TERN_TYPE_SECURITY, FALSE,
                  TERN_SECURITY_STARTTLS, &smtp_security, error) ||
      !read_port (reader, group, "SmtpPort", tern_smtp_default_port (smtp_security),
                  &smtp_port, error) ||
      !read_enum (reader, group, "ComposeFormat", TERN_TYPE_COMPOSE_FORMAT, FALSE,
                  TERN_COMPOSE_FORMAT_RICH, &compose_format, error))
    return FALSE;

  name = read_string (reader, group, "Name");
  smtp_username = read_string (reader, group, "SmtpUsername");
  /* A signature keeps its own spacing, so it is read untrimmed. */
  signature = g_key_file_get_string (reader->key_file, group, "Signature", NULL);

  identity = tern_identity_new (name, address);
  tern_identity_set_reply_to (identity, reply_to);
  tern_identity_set_signature (identity, signature);
  tern_identity_set_smtp_host (identity, smtp_host);
  tern_identity_set_smtp_port (identity, smtp_port);
  tern_identity_set_smtp_security (identity, smtp_security);
  tern_identity_set_smtp_username (identity, smtp_username);
  tern_identity_set_compose_format (identity, compose_format);

  *out = g_steal_pointer (&identity);
  return TRUE;
}

static gboolean
read_identities (Reader      *reader,
                 TernAccount *self,
                 GError     **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (reader->key_file, NULL);
  g_autoptr(GPtrArray) identities = g_ptr_array_new_with_free_func (g_object_unref);
  const char *first_group = NULL;
  TernIdentity *chosen_default = NULL;

  for (guint i = 0; groups[i] != NULL; i++)
    {
      TernIdentity *identity = NULL;
      gboolean is_default = FALSE;

      if (!g_str_has_prefix (groups[i], IDENTITY_PREFIX))
        continue;

      if (!read_identity (reader, groups[i], &identity, &is_default, error))
        return FALSE;
      g_ptr_array_add (identities, identity);

      for (guint j = 0; j + 1 < identities->len; j++)
        {
          if (tern_account_address_equal (tern_identity_get_address (identities->pdata[j]),
                                          tern_identity_get_address (identity)))
            {
              set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, groups[i],
                             "Address", "another identity of this account already has "
                             "the address “%s”", tern_identity_get_address (identity));
              return FALSE;
            }
        }

      if (is_default && chosen_default != NULL)
        {
          set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, reader->path, groups[i],
                         "Default", "only one identity can be the default, and “%s” "
                         "already is", tern_identity_get_address (chosen_default));
          return FALSE;
        }
      if (is_default)
        chosen_default = identity;
      if (first_group == NULL)
        first_group = groups[i];
    }

  if (identities->len == 0)
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_MISSING_KEY, reader->path, IDENTITY_PREFIX "1",
                     "Address", "the account has no identity; add an [Identity 1] group "
                     "with the address it sends from");
      return FALSE;
    }

  /* One identity is the default by itself; among several, the file must
   * say which, rather than Tern guess the address replies go out from. */
  if (chosen_default == NULL && identities->len == 1)
    chosen_default = identities->pdata[0];
  if (chosen_default == NULL)
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_MISSING_KEY, reader->path, first_group,
                     "Default", "none of the %u identities is the default; set "
                     "Default=true on one", identities->len);
      return FALSE;
    }

  for (guint i = 0; i < identities->len; i++)
    {
      tern_identity_set_is_default (identities->pdata[i], identities->pdata[i] == chosen_default);
      g_list_store_append (self->identities, identities->pdata[i]);
    }

  return TRUE;
}

/* Fills @self, a new account that nobody else holds yet, from @key_file. */
static gboolean
read_account (TernAccount *self,
              GKeyFile    *key_file,
              const char  *path,
              GError     **error)
{
  Reader reader = { path, key_file };
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *id = NULL;
  int protocol;
  int receiving_security;
  int sending_security;
  int after_download;
  int auth_method;

  if (!g_str_has_suffix (basename, ".ini"))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "“%s”: an account file's name ends in “.ini”", path);
      return FALSE;
    }

  id = g_strndup (basename, strlen (basename) - strlen (".ini"));
  if (!tern_account_id_is_valid (id))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "“%s”: an account file's name is made of lower-case letters, digits "
                   "and “-” (and is not “%s”)", path, RESERVED_ID);
      return FALSE;
    }

  if (!refuse_passwords (&reader, error))
    return FALSE;

  if (!g_key_file_has_group (key_file, ACCOUNT_GROUP))
    {
      set_key_error (error, TERN_ACCOUNT_ERROR_MISSING_KEY, path, ACCOUNT_GROUP, NULL,
                     "this group is required and is missing");
      return FALSE;
    }

  if (!read_boolean (&reader, ACCOUNT_GROUP, "Enabled", TRUE, &self->enabled, error) ||
      !read_uint (&reader, ACCOUNT_GROUP, "Order", 0, G_MAXINT, 0, &self->order, error) ||
      !read_uint (&reader, ACCOUNT_GROUP, "SyncInterval", 0, TERN_ACCOUNT_MAX_SYNC_MINUTES,
                  TERN_ACCOUNT_DEFAULT_SYNC_MINUTES, &self->sync_interval, error) ||
      !read_uint (&reader, ACCOUNT_GROUP, "OfflineDays", 0, TERN_ACCOUNT_MAX_OFFLINE_DAYS,
                  TERN_ACCOUNT_DEFAULT_OFFLINE_DAYS, &self->offline_days, error))
    return FALSE;
  self->display_name = read_string (&reader, ACCOUNT_GROUP, "Name");
  self->goa_id = read_string (&reader, ACCOUNT_GROUP, "GoaId");

  if (!read_enum (&reader, ACCOUNT_GROUP, "Auth", TERN_TYPE_AUTH_METHOD, FALSE,
                  TERN_AUTH_METHOD_PASSWORD, &auth_method, error))
    return FALSE;
  self->auth_method = auth_method;
  if (self->auth_method == TERN_AUTH_METHOD_OAUTH2 && self->goa_id == NULL &&
      !read_oauth2 (&reader, self, error))
    return FALSE;

  if (!read_enum (&reader, RECEIVING_GROUP, "Protocol", TERN_TYPE_RECEIVING_PROTOCOL, TRUE,
                  TERN_RECEIVING_PROTOCOL_IMAP, &protocol, error) ||
      !read_host (&reader, RECEIVING_GROUP, "Host", TRUE, &self->receiving_host, error) ||
      !read_enum (&reader, RECEIVING_GROUP, "Security", TERN_TYPE_SECURITY, FALSE,
                  TERN_SECURITY_TLS, &receiving_security, error) ||
      !read_port (&reader, RECEIVING_GROUP, "Port",
                  tern_receiving_protocol_default_port (protocol, receiving_security),
                  &self->receiving_port, error))
    return FALSE;
  self->receiving_protocol = protocol;
  self->receiving_security = receiving_security;
  self->receiving_username = read_string (&reader, RECEIVING_GROUP, "Username");
  self->receiving_password_command = read_string (&reader, RECEIVING_GROUP,
                                                  PASSWORD_COMMAND_KEY);

  if (!read_host (&reader, SENDING_GROUP, "Host", TRUE, &self->sending_host, error) ||
      !read_enum (&reader, SENDING_GROUP, "Security", TERN_TYPE_SECURITY, FALSE,
                  TERN_SECURITY_STARTTLS, &sending_security, error) ||
      !read_port (&reader, SENDING_GROUP, "Port", tern_smtp_default_port (sending_security),
                  &self->sending_port, error))
    return FALSE;
  self->sending_security = sending_security;
  self->sending_username = read_string (&reader, SENDING_GROUP, "Username");
  self->sending_password_command = read_string (&reader, SENDING_GROUP, PASSWORD_COMMAND_KEY);

  if (self->receiving_protocol == TERN_RECEIVING_PROTOCOL_POP3)
    {
      if (!read_enum (&reader, POP3_GROUP, "AfterDownload", TERN_TYPE_POP3_AFTER_DOWNLOAD,
                      FALSE, TERN_POP3_AFTER_DOWNLOAD_DELETE, &after_download, error) ||
          !read_uint (&reader, POP3_GROUP, "KeepDays", 1, TERN_ACCOUNT_MAX_KEEP_DAYS,
                      TERN_ACCOUNT_DEFAULT_KEEP_DAYS, &self->pop3_keep_days, error) ||
          !read_boolean (&reader, POP3_GROUP, "DeleteWhenDeletedHere", FALSE,
                         &self->pop3_delete_on_server, error))
        return FALSE;
      self->pop3_after_download = after_download;

      self->pop3_deliver_to = read_string (&reader, POP3_GROUP, "DeliverTo");
      if (self->pop3_deliver_to != NULL && !tern_account_id_is_valid (self->pop3_deliver_to))
        {
          set_key_error (error, TERN_ACCOUNT_ERROR_INVALID_VALUE, path, POP3_GROUP, "DeliverTo",
                         "“%s” is not an account id", self->pop3_deliver_to);
          return FALSE;
        }
      if (g_strcmp0 (self->pop3_deliver_to, id) == 0)
        g_clear_pointer (&self->pop3_deliver_to, g_free);
    }

  if (!read_identities (&reader, self, error))
    return FALSE;

  self->id = g_steal_pointer (&id);
  self->source = g_key_file_ref (key_file);

  return TRUE;
}

/**
 * tern_account_new_from_file:
 * @path: an account file, `<id>.ini`
 * @error: return location for a #GError
 *
 * Reads and checks an account file (the format is described at the top of
 * tern-account.c).  The account's id is the file's name without ".ini".
 *
 * Returns: (transfer full) (nullable): the account, or %NULL with a
 *   %TERN_ACCOUNT_ERROR whose message names @path and the group and key at
 *   fault.
 */
TernAccount *
tern_account_new_from_file (const char  *path,
                            GError     **error)
{
  g_autoptr(TernAccount) self = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, &local_error) ||
      !g_key_file_load_from_data (key_file, data, length, G_KEY_FILE_KEEP_COMMENTS,
                                  &local_error))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "“%s”: %s", path, local_error->message);
      return NULL;
    }

  self = tern_account_new ();
  if (!read_account (self, key_file, path, error))
    return NULL;
  self->file_digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data,
                                                   length);

  return g_steal_pointer (&self);
}

/* Writing a file */

static void
write_string (GKeyFile   *key_file,
              const char *group,
              const char *key,
              const char *value)
{
  if (value != NULL)
    g_key_file_set_string (key_file, group, key, value);
  else
    g_key_file_remove_key (key_file, group, key, NULL);
}

static void
write_identity (GKeyFile     *key_file,
                const char   *group,
                TernIdentity *identity)
{
  write_string (key_file, group, "Name", tern_identity_get_name (identity));
  write_string (key_file, group, "Address", tern_identity_get_address (identity));
  write_string (key_file, group, "ReplyTo", tern_identity_get_reply_to (identity));
  write_string (key_file, group, "Signature", tern_identity_get_signature (identity));
  g_key_file_set_boolean (key_file, group, "Default", tern_identity_get_is_default (identity));
  /* Rich text is the default, and goes without saying. */
  write_string (key_file, group, "ComposeFormat",
                tern_identity_get_compose_format (identity) == TERN_COMPOSE_FORMAT_PLAIN
                ? tern_compose_format_to_string (TERN_COMPOSE_FORMAT_PLAIN) : NULL);

  if (tern_identity_has_smtp_server (identity))
    {
      write_string (key_file, group, "SmtpHost", tern_identity_get_smtp_host (identity));
      g_key_file_set_integer (key_file, group, "SmtpPort", tern_identity_get_smtp_port (identity));
      write_string (key_file, group, "SmtpSecurity",
                    tern_security_to_string (tern_identity_get_smtp_security (identity)));
      write_string (key_file, group, "SmtpUsername", tern_identity_get_smtp_username (identity));
    }
}

static GKeyFile *
write_key_file (TernAccount *self)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  guint n_identities;

  if (self->source != NULL)
    {
      gsize length;
      g_autofree char *data = g_key_file_to_data (self->source, &length, NULL);

      g_key_file_load_from_data (key_file, data, length, G_KEY_FILE_KEEP_COMMENTS, NULL);
    }
  else
    {
      g_key_file_set_string (key_file, ACCOUNT_GROUP, "Name", "");
      g_key_file_set_comment (key_file, NULL, NULL,
                              " A Tern account. Passwords are kept in the keyring, never here.",
                              NULL);
    }

  write_string (key_file, ACCOUNT_GROUP, "Name", self->display_name);
  g_key_file_set_boolean (key_file, ACCOUNT_GROUP, "Enabled", self->enabled);
  g_key_file_set_uint64 (key_file, ACCOUNT_GROUP, "Order", self->order);
  g_key_file_set_uint64 (key_file, ACCOUNT_GROUP, "SyncInterval", self->sync_interval);
  g_key_file_set_uint64 (key_file, ACCOUNT_GROUP, "OfflineDays", self->offline_days);
  write_string (key_file, ACCOUNT_GROUP, "GoaId", self->goa_id);
  if (self->auth_method == TERN_AUTH_METHOD_OAUTH2)
    {
      write_string (key_file, ACCOUNT_GROUP, "Auth", tern_auth_method_to_string (self->auth_method));
      if (self->oauth2_provider == NULL)
        g_key_file_remove_group (key_file, OAUTH2_GROUP, NULL);
      write_string (key_file, OAUTH2_GROUP, "Provider", self->oauth2_provider);
      write_string (key_file, OAUTH2_GROUP, "AuthorizationURI", self->oauth2_authorization_uri);
      write_string (key_file, OAUTH2_GROUP, "TokenURI", self->oauth2_token_uri);
      write_string (key_file, OAUTH2_GROUP, "ClientId", self->oauth2_client_id);
      write_string (key_file, OAUTH2_GROUP, "Scope", self->oauth2_scope);
    }
  else
    {
      g_key_file_remove_key (key_file, ACCOUNT_GROUP, "Auth", NULL);
      g_key_file_remove_group (key_file, OAUTH2_GROUP, NULL);
    }

  write_string (key_file, RECEIVING_GROUP, "Protocol",
                tern_receiving_protocol_to_string (self->receiving_protocol));
  write_string (key_file, RECEIVING_GROUP, "Host", self->receiving_host);
  g_key_file_set_integer (key_file, RECEIVING_GROUP, "Port", self->receiving_port);
  write_string (key_file, RECEIVING_GROUP, "Security",
                tern_security_to_string (self->receiving_security));
  write_string (key_file, RECEIVING_GROUP, "Username", self->receiving_username);
  write_string (key_file, RECEIVING_GROUP, PASSWORD_COMMAND_KEY,
                self->receiving_password_command);

  write_string (key_file, SENDING_GROUP, "Host", self->sending_host);
  g_key_file_set_integer (key_file, SENDING_GROUP, "Port", self->sending_port);
  write_string (key_file, SENDING_GROUP, "Security",
                tern_security_to_string (self->sending_security));
  write_string (key_file, SENDING_GROUP, "Username", self->sending_username);
  write_string (key_file, SENDING_GROUP, PASSWORD_COMMAND_KEY, self->sending_password_command);

  if (self->receiving_protocol == TERN_RECEIVING_PROTOCOL_POP3)
    {
      write_string (key_file, POP3_GROUP, "AfterDownload",
                    tern_pop3_after_download_to_string (self->pop3_after_download));
      g_key_file_set_uint64 (key_file, POP3_GROUP, "KeepDays", self->pop3_keep_days);
      g_key_file_set_boolean (key_file, POP3_GROUP, "DeleteWhenDeletedHere",
                              self->pop3_delete_on_server);
      write_string (key_file, POP3_GROUP, "DeliverTo", self->pop3_deliver_to);
    }
  else
    g_key_file_remove_group (key_file, POP3_GROUP, NULL);

  /* Identities are written afresh, numbered in their order. */
  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], IDENTITY_PREFIX))
        g_key_file_remove_group (key_file, groups[i], NULL);
    }

  n_identities = g_list_model_get_n_items (G_LIST_MODEL (self->identities));
  for (guint i = 0; i < n_identities; i++)
    {
      g_autoptr(TernIdentity) identity = g_list_model_get_item (G_LIST_MODEL (self->identities), i);
      g_autofree char *group = g_strdup_printf (IDENTITY_PREFIX "%u", i + 1);

      write_identity (key_file, group, identity);
    }

  return g_steal_pointer (&key_file);
}

/**
 * tern_account_save_to_file:
 * @self: a #TernAccount
 * @path: where to write, `<config folder>/accounts/<id>.ini`
 * @error: return location for a #GError
 *
 * Checks the account as tern_account_new_from_file() would check the
 * file, then writes it atomically: the file on disk is the old one or the
 * new one, never a mix, and only the user can read it (0600).  Nothing is
 * written when the check fails.
 *
 * Returns: %TRUE when the file is on disk.
 */
gboolean
tern_account_save_to_file (TernAccount  *self,
                           const char   *path,
                           GError      **error)
{
  g_autoptr(GKeyFile) key_file = NULL;
  g_autoptr(TernAccount) check = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (TERN_IS_ACCOUNT (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  key_file = write_key_file (self);

  /* The same rules as loading, so that Tern never writes a file it would
   * refuse to read. */
  check = tern_account_new ();
  if (!read_account (check, key_file, path, error))
    return FALSE;

  data = g_key_file_to_data (key_file, &length, NULL);
  if (!g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      g_set_error (error, TERN_ACCOUNT_ERROR, TERN_ACCOUNT_ERROR_FAILED,
                   "“%s”: %s", path, local_error->message);
      return FALSE;
    }

  g_clear_pointer (&self->source, g_key_file_unref);
  self->source = g_steal_pointer (&key_file);
  g_free (self->file_digest);
  self->file_digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data,
                                                   length);

  return TRUE;
}
