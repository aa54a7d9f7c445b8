/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-goa.h"

/*
 * GNOME Online Accounts' mail settings turned into Tern accounts.  The
 * online accounts are GOA's own object skeletons, filled the way
 * goa-daemon fills them for an IMAP/SMTP account, a Google account and a
 * calendar-only account.
 */

static GoaObject *
make_object (const char *path,
             const char *identity,
             gboolean    mail_disabled,
             GoaMail    *mail)
{
  GoaObjectSkeleton *object = goa_object_skeleton_new (path);
  g_autoptr(GoaAccount) account = goa_account_skeleton_new ();

  goa_account_set_presentation_identity (account, identity);
  goa_account_set_mail_disabled (account, mail_disabled);
  goa_object_skeleton_set_account (object, account);
  if (mail != NULL)
    goa_object_skeleton_set_mail (object, mail);

  return GOA_OBJECT (object);
}

static GoaMail *
make_mail (const char *address,
           const char *imap_host,
           gboolean    imap_ssl,
           gboolean    imap_tls,
           const char *smtp_host,
           gboolean    smtp_ssl,
           gboolean    smtp_tls)
{
  GoaMail *mail = goa_mail_skeleton_new ();

  goa_mail_set_email_address (mail, address);
  goa_mail_set_name (mail, "Ada Lovelace");
  goa_mail_set_imap_supported (mail, imap_host != NULL);
  goa_mail_set_imap_host (mail, imap_host);
  goa_mail_set_imap_use_ssl (mail, imap_ssl);
  goa_mail_set_imap_use_tls (mail, imap_tls);
  goa_mail_set_imap_user_name (mail, "ada");
  goa_mail_set_smtp_supported (mail, smtp_host != NULL);
  goa_mail_set_smtp_host (mail, smtp_host);
  goa_mail_set_smtp_use_ssl (mail, smtp_ssl);
  goa_mail_set_smtp_use_tls (mail, smtp_tls);
  goa_mail_set_smtp_user_name (mail, "ada@example.org");

  return mail;
}

static void
test_imap_smtp_account (void)
{
  g_autoptr(GoaMail) mail = make_mail ("ada@example.org", "imap.example.org:1993", FALSE, TRUE,
                                       "smtp.example.org", TRUE, FALSE);
  g_autoptr(GoaObject) object = make_object ("/org/gnome/OnlineAccounts/Accounts/a1",
                                             "ada@example.org", FALSE, mail);
  g_autoptr(GError) error = NULL;
  g_autoptr(TernAccount) account = tern_goa_account_new (object, &error);
  TernIdentity *identity;

  g_assert_no_error (error);
  g_assert_nonnull (account);
  g_assert_cmpstr (tern_account_get_display_name (account), ==, "ada@example.org");
  g_assert_cmpint (tern_account_get_receiving_protocol (account), ==,
                   TERN_RECEIVING_PROTOCOL_IMAP);
  g_assert_cmpstr (tern_account_get_receiving_host (account), ==, "imap.example.org");
  g_assert_cmpuint (tern_account_get_receiving_port (account), ==, 1993);
  g_assert_cmpint (tern_account_get_receiving_security (account), ==, TERN_SECURITY_STARTTLS);
  g_assert_cmpstr (tern_account_get_receiving_username (account), ==, "ada");
  g_assert_cmpstr (tern_account_get_sending_host (account), ==, "smtp.example.org");
  g_assert_cmpuint (tern_account_get_sending_port (account), ==, 465);
  g_assert_cmpint (tern_account_get_sending_security (account), ==, TERN_SECURITY_TLS);

  identity = tern_account_get_default_identity (account);
  g_assert_cmpstr (tern_identity_get_address (identity), ==, "ada@example.org");
  g_assert_cmpstr (tern_identity_get_name (identity), ==, "Ada Lovelace");
}

static void
test_list_skips_and_explains (void)
{
  g_autoptr(GoaMail) good = make_mail ("ada@gmail.com", "imap.gmail.com", TRUE, FALSE,
                                       "smtp.gmail.com", FALSE, TRUE);
  g_autoptr(GoaMail) no_smtp = make_mail ("bob@example.org", "imap.example.org", TRUE, FALSE,
                                          NULL, FALSE, FALSE);
  g_autoptr(GoaMail) bad_port = make_mail ("carol@example.org", "imap.example.org:99999", TRUE,
                                           FALSE, "smtp.example.org", TRUE, FALSE);
  g_autoptr(GoaMail) disabled = make_mail ("dave@example.org", "imap.example.org", TRUE, FALSE,
                                           "smtp.example.org", TRUE, FALSE);
  GoaObject *objects[] = {
    make_object ("/a/1", "Google", FALSE, good),
    make_object ("/a/2", "Calendar only", FALSE, NULL),
    make_object ("/a/3", "No SMTP", FALSE, no_smtp),
    make_object ("/a/4", "Bad port", FALSE, bad_port),
    make_object ("/a/5", "Mail off", TRUE, disabled),
  };
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) accounts = NULL;
  GList *list = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (objects); i++)
    list = g_list_append (list, objects[i]);

  accounts = tern_goa_accounts_from_list (list, &problems);
  g_assert_cmpuint (accounts->len, ==, 1);
  g_assert_cmpstr (tern_account_get_receiving_host (accounts->pdata[0]), ==, "imap.gmail.com");
  g_assert_cmpuint (tern_account_get_receiving_port (accounts->pdata[0]), ==, 993);
  g_assert_cmpuint (tern_account_get_sending_port (accounts->pdata[0]), ==, 587);
  g_assert_cmpstr (tern_account_get_display_name (accounts->pdata[0]), ==, "Google");

  /* The two with broken mail settings are explained; calendar-only and
   * mail turned off are not problems. */
  g_assert_cmpuint (problems->len, ==, 2);
  g_assert_nonnull (strstr (((GError *) problems->pdata[0])->message, "no SMTP server"));
  g_assert_nonnull (strstr (((GError *) problems->pdata[1])->message, "no IMAP server"));

  g_list_free_full (list, g_object_unref);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/goa/mail-account-becomes-a-tern-account", test_imap_smtp_account);
  g_test_add_func ("/goa/list-skips-accounts-without-usable-mail", test_list_skips_and_explains);

  return g_test_run ();
}
