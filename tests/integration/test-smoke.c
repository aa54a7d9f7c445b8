/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Smoke tests of the real mail system: mail submitted to Postfix comes out
 * of Dovecot over IMAP and POP3, TLS validates against the set's own CA, and
 * the harness's control commands change what the servers do.  They run
 * under "tern-test-servers run", which starts a fresh set for this file. */

#include <stdio.h>
#include <string.h>

#include "tern-test-servers.h"
#include "tern-test-wire.h"

/* How long delivered mail may take to show up before a test gives up. */
#define DELIVERY_TIMEOUT_USEC (30 * G_USEC_PER_SEC)

/* Users by index: alice, bob, carol, dave. */
enum
{
  ALICE,
  BOB,
  CAROL,
  DAVE,
};

static char *
new_token (void)
{
  g_autofree char *uuid = g_uuid_string_random ();

  return g_strdup_printf ("tern-smoke-%s", uuid);
}

/* IMAP quoted string, enough for the test users' logins and passwords. */
static char *
imap_quote (const char *text)
{
  GString *quoted = g_string_new ("\"");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (quoted, '\\');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

static char *
sasl_plain (const TernTestUser *user,
            const char         *password)
{
  gsize login_length = strlen (user->login);
  gsize password_length = strlen (password);
  gsize length = 1 + login_length + 1 + password_length;
  g_autofree guchar *data = g_malloc0 (length);

  /* authzid (empty) NUL authcid NUL password */
  memcpy (data + 1, user->login, login_length);
  memcpy (data + 2 + login_length, password, password_length);
  return g_base64_encode (data, length);
}

static char *
build_message (const char *from,
               const char *to,
               const char *token)
{
  return g_strdup_printf ("From: Tern smoke test <%s>\r\n"
                          "To: <%s>\r\n"
                          "Subject: Smoke test %s\r\n"
                          "Message-ID: <%s@tern.test>\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=UTF-8\r\n"
                          "\r\n"
                          "The token of this message is %s.\r\n"
                          "..a line that starts with a dot must survive dot-stuffing.\r\n",
                          from, to, token, token, token);
}

/* Sends one message on an SMTP connection that has just been greeted (and,
 * for submission, upgraded with STARTTLS), authenticating as @sender. */
static void
smtp_send_authenticated (TernTestWire       *wire,
                         const TernTestUser *sender,
                         const char         *recipient,
                         const char         *token)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *auth_line = NULL;
  g_autofree char *mail_from = NULL;
  g_autofree char *rcpt_to = NULL;
  g_autofree char *message = NULL;

  g_assert_true (tern_test_wire_is_tls (wire));

  g_assert_true (tern_test_wire_send_line (wire, "EHLO client.tern.test", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, &reply, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (reply, "AUTH PLAIN"));

  auth = sasl_plain (sender, sender->password);
  auth_line = g_strdup_printf ("AUTH PLAIN %s", auth);
  g_assert_true (tern_test_wire_send_line (wire, auth_line, &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 235, NULL, &error));
  g_assert_no_error (error);

  mail_from = g_strdup_printf ("MAIL FROM:<%s>", sender->login);
  rcpt_to = g_strdup_printf ("RCPT TO:<%s>", recipient);
  g_assert_true (tern_test_wire_send_line (wire, mail_from, &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, rcpt_to, &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "DATA", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 354, NULL, &error));
  g_assert_no_error (error);

  /* build_message already doubled the leading dot of its dot line. */
  message = build_message (sender->login, recipient, token);
  g_assert_true (tern_test_wire_write (wire, message, -1, &error));
  g_assert_true (tern_test_wire_send_line (wire, ".", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "QUIT", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 221, NULL, &error));
  g_assert_no_error (error);
}

/* LOGIN with quoted strings, or a LITERAL+ literal for a password that a
 * quoted string cannot carry (8-bit characters). */
static char *
imap_login_command (const TernTestUser *user)
{
  g_autofree char *quoted_login = imap_quote (user->login);

  if (g_str_is_ascii (user->password))
    {
      g_autofree char *quoted_password = imap_quote (user->password);

      return g_strdup_printf ("LOGIN %s %s", quoted_login, quoted_password);
    }
  return g_strdup_printf ("LOGIN %s {%zu+}\r\n%s", quoted_login, strlen (user->password),
                          user->password);
}

static TernTestWire *
imaps_login (TernTestServers    *servers,
             const TernTestUser *user)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *login = imap_login_command (user);
  g_autofree char *status = NULL;

  wire = tern_test_wire_connect (servers, servers->imaps_port, TERN_TEST_WIRE_FLAGS_TLS, &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (greeting, "* OK"));

  status = tern_test_wire_imap_command (wire, "L1", login, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));
  return g_steal_pointer (&wire);
}

/* Waits until the message with @token is in @user's INBOX and returns its
 * text as IMAP gives it. */
static char *
imaps_wait_for_message (TernTestServers    *servers,
                        const TernTestUser *user,
                        const char         *token)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestWire) wire = imaps_login (servers, user);
  g_autofree char *status = NULL;
  g_autofree char *search = g_strdup_printf ("UID SEARCH HEADER Message-ID \"%s\"", token);
  gint64 deadline = g_get_monotonic_time () + DELIVERY_TIMEOUT_USEC;
  guint64 uid = 0;

  status = tern_test_wire_imap_command (wire, "S1", "SELECT INBOX", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));

  /* Each command lets Dovecot look at the folder again, so the search is
   * simply repeated until delivery has happened. */
  while (uid == 0)
    {
      g_autoptr(GString) untagged = g_string_new (NULL);
      g_autofree char *search_status = NULL;
      const char *found;

      search_status = tern_test_wire_imap_command (wire, "S2", search, untagged, &error);
      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (search_status, "OK"));
      found = strstr (untagged->str, "* SEARCH");
      g_assert_nonnull (found);
      found += strlen ("* SEARCH");
      if (*found == ' ')
        {
          g_auto(GStrv) words = g_strsplit (found + 1, " ", -1);

          /* The token is unique: exactly one message has it. */
          g_assert_cmpuint (g_strv_length (words), ==, 1);
          g_assert_true (g_ascii_string_to_unsigned (g_strstrip (words[0]), 10, 1, G_MAXUINT32,
                                                     &uid, &error));
          g_assert_no_error (error);
          break;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("the message %s did not reach %s's INBOX in time", token, user->login);
      g_usleep (20 * 1000);
    }

  {
    g_autoptr(GString) untagged = g_string_new (NULL);
    g_autofree char *fetch = g_strdup_printf ("UID FETCH %" G_GUINT64_FORMAT " BODY.PEEK[]", uid);
    g_autofree char *fetch_status = tern_test_wire_imap_command (wire, "F1", fetch, untagged,
                                                                 &error);

    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (fetch_status, "OK"));
    return g_string_free (g_steal_pointer (&untagged), FALSE);
  }
}

/* Logs in to POP3S as @user and returns the message that has @token. */
static char *
pop3s_find_message (TernTestServers    *servers,
                    const TernTestUser *user,
                    const char         *token)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestWire) wire = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *user_line = g_strdup_printf ("USER %s", user->login);
  g_autofree char *pass_line = g_strdup_printf ("PASS %s", user->password);
  g_autofree char *reply = NULL;
  g_autofree char *stat = NULL;
  g_autofree char *found = NULL;
  guint count = 0;

  wire = tern_test_wire_connect (servers, servers->pop3s_port, TERN_TEST_WIRE_FLAGS_TLS, &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (greeting, "+OK"));

  g_assert_true (tern_test_wire_send_line (wire, user_line, &error));
  reply = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (reply, "+OK"));
  g_clear_pointer (&reply, g_free);
  g_assert_true (tern_test_wire_send_line (wire, pass_line, &error));
  reply = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (reply, "+OK"));

  g_assert_true (tern_test_wire_send_line (wire, "STAT", &error));
  stat = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sscanf (stat, "+OK %u", &count), ==, 1);
  g_assert_cmpuint (count, >=, 1);

  for (guint i = 1; i <= count && found == NULL; i++)
    {
      g_autofree char *retr = g_strdup_printf ("RETR %u", i);
      g_autofree char *status = NULL;
      g_autofree char *message = NULL;

      g_assert_true (tern_test_wire_send_line (wire, retr, &error));
      status = tern_test_wire_read_line (wire, &error);
      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (status, "+OK"));
      message = tern_test_wire_pop3_multiline (wire, &error);
      g_assert_no_error (error);
      if (strstr (message, token) != NULL)
        found = g_steal_pointer (&message);
    }

  g_assert_true (tern_test_wire_send_line (wire, "QUIT", &error));
  g_clear_pointer (&reply, g_free);
  reply = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (reply, "+OK"));

  if (found == NULL)
    g_error ("no message with %s in %s's POP3 mailbox of %u", token, user->login, count);
  return g_steal_pointer (&found);
}

static void
assert_is_the_message (const char *text,
                       const char *token)
{
  g_autofree char *message_id = g_strdup_printf ("Message-ID: <%s@tern.test>", token);
  g_autofree char *body = g_strdup_printf ("The token of this message is %s.", token);

  g_assert_nonnull (strstr (text, message_id));
  g_assert_nonnull (strstr (text, body));
  /* The client doubled the dot; the server took it off again. */
  g_assert_nonnull (strstr (text, "\n.a line that starts with a dot"));
  g_assert_null (strstr (text, "..a line"));
}

static void
test_submission_reaches_imaps_and_pop3s (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = new_token ();
  g_autofree char *reply = NULL;
  g_autofree char *over_imap = NULL;
  g_autofree char *over_pop3 = NULL;
  const TernTestUser *alice;
  const TernTestUser *bob;

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, ALICE);
  bob = tern_test_servers_get_user (servers, BOB);

  wire = tern_test_wire_connect (servers, servers->submission_port, TERN_TEST_WIRE_FLAGS_NONE,
                                 &error);
  g_assert_no_error (error);
  g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
  g_assert_no_error (error);

  /* Before TLS the server offers STARTTLS and no way to send a password. */
  g_assert_true (tern_test_wire_send_line (wire, "EHLO client.tern.test", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, &reply, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (reply, "STARTTLS"));
  g_assert_null (strstr (reply, "AUTH"));

  g_assert_true (tern_test_wire_send_line (wire, "STARTTLS", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
  g_assert_true (tern_test_wire_start_tls (wire, &error));
  g_assert_no_error (error);

  smtp_send_authenticated (wire, alice, bob->login, token);

  over_imap = imaps_wait_for_message (servers, bob, token);
  assert_is_the_message (over_imap, token);
  over_pop3 = pop3s_find_message (servers, bob, token);
  assert_is_the_message (over_pop3, token);
}

static void
test_lmtp_delivery_reaches_imaps_and_pop3s (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = new_token ();
  g_autofree char *rcpt_to = NULL;
  g_autofree char *message = NULL;
  g_autofree char *over_imap = NULL;
  g_autofree char *over_pop3 = NULL;
  const TernTestUser *alice;

  /* Needs no Postfix: this is how mail arrives in a set without root. */
  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, ALICE);

  wire = tern_test_wire_connect (servers, servers->lmtp_port, TERN_TEST_WIRE_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "LHLO client.tern.test", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "MAIL FROM:<sender@example.org>", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  rcpt_to = g_strdup_printf ("RCPT TO:<%s>", alice->login);
  g_assert_true (tern_test_wire_send_line (wire, rcpt_to, &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "DATA", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 354, NULL, &error));
  g_assert_no_error (error);
  message = build_message ("sender@example.org", alice->login, token);
  g_assert_true (tern_test_wire_write (wire, message, -1, &error));
  g_assert_true (tern_test_wire_send_line (wire, ".", &error));
  /* LMTP answers once per recipient: one here. */
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "QUIT", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 221, NULL, &error));
  g_assert_no_error (error);

  over_imap = imaps_wait_for_message (servers, alice, token);
  assert_is_the_message (over_imap, token);
  over_pop3 = pop3s_find_message (servers, alice, token);
  assert_is_the_message (over_pop3, token);
}

static void
test_smtps_reaches_imaps (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = new_token ();
  g_autofree char *over_imap = NULL;

  if (servers == NULL)
    return;

  /* Dave's password has a space, quotes and a non-ASCII letter. */
  wire = tern_test_wire_connect (servers, servers->smtps_port, TERN_TEST_WIRE_FLAGS_TLS, &error);
  g_assert_no_error (error);
  g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
  g_assert_no_error (error);
  smtp_send_authenticated (wire, tern_test_servers_get_user (servers, DAVE),
                           tern_test_servers_get_user (servers, CAROL)->login, token);

  over_imap = imaps_wait_for_message (servers, tern_test_servers_get_user (servers, CAROL),
                                      token);
  assert_is_the_message (over_imap, token);
}

static void
test_submission_refuses_wrong_password (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *auth_line = NULL;
  g_autofree char *reply = NULL;
  const TernTestUser *alice;

  if (servers == NULL)
    return;
  alice = tern_test_servers_get_user (servers, ALICE);

  wire = tern_test_wire_connect (servers, servers->submission_port, TERN_TEST_WIRE_FLAGS_NONE,
                                 &error);
  g_assert_no_error (error);
  g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "EHLO client.tern.test", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "STARTTLS", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
  g_assert_true (tern_test_wire_start_tls (wire, &error));
  g_assert_true (tern_test_wire_send_line (wire, "EHLO client.tern.test", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_no_error (error);

  auth = sasl_plain (alice, "not-alices-password");
  auth_line = g_strdup_printf ("AUTH PLAIN %s", auth);
  g_assert_true (tern_test_wire_send_line (wire, auth_line, &error));
  g_assert_false (tern_test_wire_smtp_reply (wire, 235, &reply, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_true (g_str_has_prefix (reply, "535"));
  g_clear_pointer (&reply, g_free);

  /* Without a login, the server relays nothing, not even to its own users. */
  g_assert_true (tern_test_wire_send_line (wire, "MAIL FROM:<alice@tern.test>", &error));
  g_assert_true (tern_test_wire_smtp_reply (wire, 250, NULL, &error));
  g_assert_true (tern_test_wire_send_line (wire, "RCPT TO:<bob@tern.test>", &error));
  g_assert_no_error (error);
  g_assert_false (tern_test_wire_smtp_reply (wire, 250, &reply, &error));
  g_clear_error (&error);
  g_assert_true (reply[0] == '5' || reply[0] == '4');
}

/* The CAPABILITY line an IMAP server sends, before login or after it. */
static char *
imap_capability (TernTestServers    *servers,
                 const TernTestUser *login_as)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autofree char *greeting = NULL;
  g_autofree char *status = NULL;
  const char *line;

  if (login_as != NULL)
    {
      wire = imaps_login (servers, login_as);
    }
  else
    {
      wire = tern_test_wire_connect (servers, servers->imaps_port, TERN_TEST_WIRE_FLAGS_TLS,
                                     &error);
      g_assert_no_error (error);
      greeting = tern_test_wire_read_line (wire, &error);
      g_assert_no_error (error);
    }

  status = tern_test_wire_imap_command (wire, "C1", "CAPABILITY", untagged, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));
  line = strstr (untagged->str, "* CAPABILITY ");
  g_assert_nonnull (line);
  return g_strndup (line, strcspn (line, "\n"));
}

static gboolean
has_word (const char *line,
          const char *word)
{
  g_auto(GStrv) words = g_strsplit (line, " ", -1);

  return g_strv_contains ((const char * const *) words, word);
}

static void
test_imap_capability_toggle_shows_in_fresh_connection (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *toggled = NULL;
  g_autofree char *toggled_after_login = NULL;
  g_autofree char *restored = NULL;
  const TernTestUser *carol;

  if (servers == NULL)
    return;
  carol = tern_test_servers_get_user (servers, CAROL);

  before = imap_capability (servers, NULL);
  g_assert_true (has_word (before, "IMAP4rev1"));
  g_assert_false (has_word (before, "X-TERN-TOGGLE"));

  g_assert_true (tern_test_servers_set_imap_capability (servers, "IMAP4rev1 LITERAL+ X-TERN-TOGGLE",
                                                        &error));
  g_assert_no_error (error);
  toggled = imap_capability (servers, NULL);
  g_assert_true (has_word (toggled, "X-TERN-TOGGLE"));
  g_assert_false (has_word (toggled, "IDLE"));
  toggled_after_login = imap_capability (servers, carol);
  g_assert_true (has_word (toggled_after_login, "X-TERN-TOGGLE"));
  g_assert_false (has_word (toggled_after_login, "IDLE"));

  g_assert_true (tern_test_servers_set_imap_capability (servers, NULL, &error));
  g_assert_no_error (error);
  restored = imap_capability (servers, carol);
  g_assert_false (has_word (restored, "X-TERN-TOGGLE"));
  g_assert_true (has_word (restored, "IDLE"));
}

static void
test_pipelining_toggle_shows_in_fresh_ehlo (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_with_smtp_or_skip ();
  g_autoptr(GError) error = NULL;
  gboolean offered[3];

  if (servers == NULL)
    return;

  for (guint round = 0; round < G_N_ELEMENTS (offered); round++)
    {
      g_autoptr(TernTestWire) wire = NULL;
      g_autofree char *reply = NULL;

      if (round == 1)
        g_assert_true (tern_test_servers_postfix_set (servers, "smtpd_discard_ehlo_keywords",
                                                      "pipelining", &error));
      else if (round == 2)
        g_assert_true (tern_test_servers_postfix_set (servers, "smtpd_discard_ehlo_keywords",
                                                      NULL, &error));
      g_assert_no_error (error);

      wire = tern_test_wire_connect (servers, servers->submission_port,
                                     TERN_TEST_WIRE_FLAGS_NONE, &error);
      g_assert_no_error (error);
      g_assert_true (tern_test_wire_smtp_reply (wire, 220, NULL, &error));
      g_assert_true (tern_test_wire_send_line (wire, "EHLO client.tern.test", &error));
      g_assert_true (tern_test_wire_smtp_reply (wire, 250, &reply, &error));
      g_assert_no_error (error);
      offered[round] = strstr (reply, "PIPELINING") != NULL;
    }

  g_assert_true (offered[0]);
  g_assert_false (offered[1]);
  g_assert_true (offered[2]);
}

static void
test_load_mailbox_2000_gives_exists_2000 (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) untagged = g_string_new (NULL);
  g_autofree char *status = NULL;
  const TernTestUser *dave;
  struct
  {
    const char *search;
    const char *expected;
  } searches[] = {
    { "UID SEARCH HEADER Message-ID \"<tern-load-1-1@tern.test>\"", "* SEARCH 1\n" },
    { "UID SEARCH HEADER Message-ID \"<tern-load-1-2000@tern.test>\"", "* SEARCH 2000\n" },
    { "UID SEARCH HEADER Message-ID \"<tern-load-1-2001@tern.test>\"", "* SEARCH\n" },
  };

  if (servers == NULL)
    return;
  dave = tern_test_servers_get_user (servers, DAVE);

  g_assert_true (tern_test_servers_load_mailbox (servers, dave->login, "Loaded", 2000, &error));
  g_assert_no_error (error);

  wire = imaps_login (servers, dave);
  status = tern_test_wire_imap_command (wire, "S1", "SELECT Loaded", untagged, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (status, "OK"));
  g_assert_nonnull (strstr (untagged->str, "* 2000 EXISTS\n"));

  for (guint i = 0; i < G_N_ELEMENTS (searches); i++)
    {
      g_autoptr(GString) result = g_string_new (NULL);
      g_autofree char *search_status = tern_test_wire_imap_command (wire, "S2",
                                                                    searches[i].search,
                                                                    result, &error);

      g_assert_no_error (error);
      g_assert_true (g_str_has_prefix (search_status, "OK"));
      g_assert_cmpstr (result->str, ==, searches[i].expected);
    }

  /* The mailbox has threads and attachments, not 2000 lone text notes. */
  {
    g_autoptr(GString) replies = g_string_new (NULL);
    g_autoptr(GString) mixed = g_string_new (NULL);
    g_autofree char *replies_status = NULL;
    g_autofree char *mixed_status = NULL;

    replies_status = tern_test_wire_imap_command (wire, "S3",
                                                  "SEARCH HEADER In-Reply-To \"tern-load-1-\"",
                                                  replies, &error);
    g_assert_no_error (error);
    mixed_status = tern_test_wire_imap_command (wire, "S4",
                                                "SEARCH HEADER Content-Type \"multipart/mixed\"",
                                                mixed, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (replies->len, >, strlen ("* SEARCH 1 2 3 4 5 6 7 8 9 10"));
    g_assert_cmpuint (mixed->len, >, strlen ("* SEARCH 1 2 3 4 5 6 7 8 9 10"));
  }
}

static void
test_imaps_certificate_validates_only_against_test_ca (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  const char *good_identities[2];

  if (servers == NULL)
    return;
  good_identities[0] = servers->host;
  good_identities[1] = servers->hostname;

  database = tern_test_servers_new_tls_database (servers, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (good_identities); i++)
    {
      g_autoptr(TernTestWire) wire = tern_test_wire_connect (servers, servers->imaps_port,
                                                             TERN_TEST_WIRE_FLAGS_NONE, &error);

      g_assert_no_error (error);
      g_assert_true (tern_test_wire_start_tls_full (wire, database, good_identities[i], &error));
      g_assert_no_error (error);
    }

  /* The system's CAs do not know the test CA. */
  {
    g_autoptr(TernTestWire) wire = tern_test_wire_connect (servers, servers->imaps_port,
                                                           TERN_TEST_WIRE_FLAGS_NONE, &error);

    g_assert_no_error (error);
    g_assert_false (tern_test_wire_start_tls_full (wire, NULL, servers->host, &error));
    g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
    g_clear_error (&error);
  }

  /* The certificate does not name other hosts. */
  {
    g_autoptr(TernTestWire) wire = tern_test_wire_connect (servers, servers->imaps_port,
                                                           TERN_TEST_WIRE_FLAGS_NONE, &error);

    g_assert_no_error (error);
    g_assert_false (tern_test_wire_start_tls_full (wire, database, "imap.example.org", &error));
    g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
    g_clear_error (&error);
  }
}

static void
test_imap_refuses_login_before_starttls_from_remote (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *login = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *starttls = NULL;
  g_autofree char *accepted = NULL;
  const TernTestUser *bob;

  if (servers == NULL)
    return;
  bob = tern_test_servers_get_user (servers, BOB);
  login = imap_login_command (bob);

  wire = tern_test_wire_connect (servers, servers->imap_port, TERN_TEST_WIRE_FLAGS_AS_REMOTE,
                                 &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (greeting, " STARTTLS"));
  g_assert_nonnull (strstr (greeting, " LOGINDISABLED"));

  refused = tern_test_wire_imap_command (wire, "A1", login, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (g_str_has_prefix (refused, "OK"));

  starttls = tern_test_wire_imap_command (wire, "A2", "STARTTLS", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (starttls, "OK"));
  g_assert_true (tern_test_wire_start_tls (wire, &error));
  g_assert_no_error (error);

  accepted = tern_test_wire_imap_command (wire, "A3", login, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (accepted, "OK"));
}

static void
test_pop3_offers_user_only_after_stls_from_remote (void)
{
  g_autoptr(TernTestServers) servers = tern_test_servers_get_or_skip ();
  g_autoptr(TernTestWire) wire = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *capa_reply = NULL;
  g_autofree char *capa_before = NULL;
  g_autofree char *stls = NULL;
  g_autofree char *capa_after = NULL;
  g_autofree char *user_line = NULL;
  g_autofree char *pass_line = NULL;
  g_autofree char *user_reply = NULL;
  g_autofree char *pass_reply = NULL;
  const TernTestUser *dave;

  if (servers == NULL)
    return;
  dave = tern_test_servers_get_user (servers, DAVE);

  wire = tern_test_wire_connect (servers, servers->pop3_port, TERN_TEST_WIRE_FLAGS_AS_REMOTE,
                                 &error);
  g_assert_no_error (error);
  greeting = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (greeting, "+OK"));

  g_assert_true (tern_test_wire_send_line (wire, "CAPA", &error));
  capa_reply = tern_test_wire_read_line (wire, &error);
  capa_before = tern_test_wire_pop3_multiline (wire, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (capa_before, "STLS\r\n"));
  g_assert_null (strstr (capa_before, "USER\r\n"));

  g_assert_true (tern_test_wire_send_line (wire, "STLS", &error));
  stls = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (stls, "+OK"));
  g_assert_true (tern_test_wire_start_tls (wire, &error));
  g_assert_no_error (error);

  g_clear_pointer (&capa_reply, g_free);
  g_assert_true (tern_test_wire_send_line (wire, "CAPA", &error));
  capa_reply = tern_test_wire_read_line (wire, &error);
  capa_after = tern_test_wire_pop3_multiline (wire, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (capa_after, "USER\r\n"));

  /* PASS takes the rest of the line: spaces and quotes in it are fine. */
  user_line = g_strdup_printf ("USER %s", dave->login);
  pass_line = g_strdup_printf ("PASS %s", dave->password);
  g_assert_true (tern_test_wire_send_line (wire, user_line, &error));
  user_reply = tern_test_wire_read_line (wire, &error);
  g_assert_true (tern_test_wire_send_line (wire, pass_line, &error));
  pass_reply = tern_test_wire_read_line (wire, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (user_reply, "+OK"));
  g_assert_true (g_str_has_prefix (pass_reply, "+OK"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/integration/smoke/submission-reaches-imaps-and-pop3s",
                   test_submission_reaches_imaps_and_pop3s);
  g_test_add_func ("/integration/smoke/lmtp-delivery-reaches-imaps-and-pop3s",
                   test_lmtp_delivery_reaches_imaps_and_pop3s);
  g_test_add_func ("/integration/smoke/smtps-reaches-imaps",
                   test_smtps_reaches_imaps);
  g_test_add_func ("/integration/smoke/submission-refuses-wrong-password",
                   test_submission_refuses_wrong_password);
  g_test_add_func ("/integration/smoke/imap-capability-toggle-shows-in-fresh-connection",
                   test_imap_capability_toggle_shows_in_fresh_connection);
  g_test_add_func ("/integration/smoke/pipelining-toggle-shows-in-fresh-ehlo",
                   test_pipelining_toggle_shows_in_fresh_ehlo);
  g_test_add_func ("/integration/smoke/load-mailbox-2000-gives-exists-2000",
                   test_load_mailbox_2000_gives_exists_2000);
  g_test_add_func ("/integration/smoke/imaps-certificate-validates-only-against-test-ca",
                   test_imaps_certificate_validates_only_against_test_ca);
  g_test_add_func ("/integration/smoke/imap-refuses-login-before-starttls-from-remote",
                   test_imap_refuses_login_before_starttls_from_remote);
  g_test_add_func ("/integration/smoke/pop3-offers-user-only-after-stls-from-remote",
                   test_pop3_offers_user_only_after_stls_from_remote);

  return g_test_run ();
}
