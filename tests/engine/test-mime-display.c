/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <string.h>

#include "tern-mime-display.h"

static TernMimeDisplay *
display_of (const char *raw)
{
  g_autoptr(GBytes) bytes = g_bytes_new (raw, strlen (raw));

  return tern_mime_display_new (bytes);
}

static const char alternative_related[] =
  "From: Zoë Martin <zoe@example.org>\r\n"
  "To: Ana <ana@example.net>\r\n"
  "Subject: =?UTF-8?Q?Caf=C3=A9?= plans\r\n"
  "Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n"
  "MIME-Version: 1.0\r\n"
  "Content-Type: multipart/mixed; boundary=\"m\"\r\n"
  "\r\n"
  "--m\r\n"
  "Content-Type: multipart/alternative; boundary=\"a\"\r\n"
  "\r\n"
  "--a\r\n"
  "Content-Type: text/plain; charset=utf-8\r\n"
  "\r\n"
  "Plain words\r\n"
  "--a\r\n"
  "Content-Type: multipart/related; boundary=\"r\"\r\n"
  "\r\n"
  "--r\r\n"
  "Content-Type: text/html; charset=iso-8859-1\r\n"
  "Content-Transfer-Encoding: quoted-printable\r\n"
  "\r\n"
  "<p>Caf=E9 <img src=3D\"cid:logo@x\"> <img src=3D\"https://track.example.com/p.gif\">"
  "<a href=3D\"https://evil.example.net/login\">https://bank.example.com</a>"
  "<a href=3D\"https://www.example.org/a\">example.org/a</a></p>\r\n"
  "--r\r\n"
  "Content-Type: image/png\r\n"
  "Content-ID: <logo@x>\r\n"
  "Content-Transfer-Encoding: base64\r\n"
  "\r\n"
  "iVBORw0KGgo=\r\n"
  "--r--\r\n"
  "--a--\r\n"
  "--m\r\n"
  "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
  "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
  "Content-Transfer-Encoding: base64\r\n"
  "\r\n"
  "JVBERi0xLjQK\r\n"
  "--m--\r\n";

static void
test_display_prefers_html_of_an_alternative (void)
{
  g_autoptr(TernMimeDisplay) display = display_of (alternative_related);
  const char *body = tern_mime_display_get_body (display);

  g_assert_true (tern_mime_display_is_html (display));
  /* Converted from ISO-8859-1 and decoded from quoted-printable. */
  g_assert_nonnull (strstr (body, "<p>Café <img src=\"cid:logo@x\">"));
  g_assert_null (strstr (body, "Plain words"));
  g_assert_cmpstr (tern_mime_message_get_subject (tern_mime_display_get_message (display)), ==,
                   "Café plans");
}

static void
test_display_serves_cid_parts_and_lists_attachments (void)
{
  g_autoptr(TernMimeDisplay) display = display_of (alternative_related);
  g_autoptr(GPtrArray) attachments = tern_mime_display_get_attachments (display);
  g_autoptr(GBytes) image = NULL;
  g_autoptr(GBytes) pdf = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *type = NULL;
  g_autofree char *pdf_type = NULL;
  TernAttachmentInfo *info;
  gsize size = 0;
  const guint8 *data;

  image = tern_mime_display_get_cid_part (display, "logo@x", &type, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (type, ==, "image/png");
  data = g_bytes_get_data (image, &size);
  g_assert_cmpuint (size, ==, 8);
  g_assert_cmpmem (data, 4, "\x89PNG", 4);

  /* The inline image is in the body; only the PDF is listed. */
  g_assert_cmpuint (attachments->len, ==, 1);
  info = attachments->pdata[0];
  g_assert_cmpstr (info->filename, ==, "report.pdf");
  g_assert_cmpstr (info->part_path, ==, "2");

  pdf = tern_mime_display_get_part (display, info->part_path, &pdf_type, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pdf_type, ==, "application/pdf");
  data = g_bytes_get_data (pdf, &size);
  g_assert_cmpuint (size, ==, 9);
  g_assert_cmpmem (data, 9, "%PDF-1.4\n", 9);

  g_assert_null (tern_mime_display_get_cid_part (display, "missing@x", NULL, &error));
  g_assert_error (error, TERN_MIME_DISPLAY_ERROR, TERN_MIME_DISPLAY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (tern_mime_display_get_part (display, "1", NULL, &error));
  g_assert_error (error, TERN_MIME_DISPLAY_ERROR, TERN_MIME_DISPLAY_ERROR_NOT_FOUND);
}

static void
test_display_finds_remote_resources (void)
{
  g_autoptr(TernMimeDisplay) display = display_of (alternative_related);
  g_autoptr(TernMimeDisplay) styled = NULL;
  g_auto(GStrv) hosts = NULL;
  g_auto(GStrv) styled_hosts = NULL;
  guint n = 0;

  hosts = tern_mime_display_get_remote_hosts (display, &n);
  /* The links' targets are not loaded, so they are not counted. */
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (g_strv_length (hosts), ==, 1);
  g_assert_cmpstr (hosts[0], ==, "track.example.com");

  styled = display_of ("Content-Type: text/html\r\n\r\n"
                       "<link rel=stylesheet href=\"http://css.example.com/a.css\">"
                       "<div style=\"background: url('//img.example.com/b.png')\"></div>"
                       "<table background=https://bg.example.com/c.jpg>"
                       "<img src=\"data:image/png;base64,AAAA\"><img src=\"cid:x\">");
  styled_hosts = tern_mime_display_get_remote_hosts (styled, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (styled_hosts[0], ==, "bg.example.com");
  g_assert_cmpstr (styled_hosts[1], ==, "css.example.com");
  g_assert_cmpstr (styled_hosts[2], ==, "img.example.com");
  g_assert_null (styled_hosts[3]);
}

static void
test_display_finds_deceptive_links (void)
{
  g_autoptr(TernMimeDisplay) display = display_of (alternative_related);
  g_autoptr(GHashTable) links = tern_mime_display_find_deceptive_links (
    tern_mime_display_get_body (display));

  g_assert_cmpuint (g_hash_table_size (links), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (links, "https://evil.example.net/login"), ==,
                   "https://bank.example.com");

  g_assert_true (tern_mime_display_link_is_deceptive ("paypal.com", "http://paypa1.example/x"));
  g_assert_true (tern_mime_display_link_is_deceptive ("help@bank.com", "mailto:help@evil.com"));
  g_assert_true (tern_mime_display_link_is_deceptive ("www.bank.com", "javascript:alert(1)"));
  g_assert_false (tern_mime_display_link_is_deceptive ("Click here", "https://evil.example"));
  g_assert_false (tern_mime_display_link_is_deceptive ("https://WWW.Example.org/",
                                                       "https://example.org/x"));
  g_assert_false (tern_mime_display_link_is_deceptive ("v1.2", "https://example.org/"));
}

static void
test_display_rewrites_links (void)
{
  g_autoptr(GPtrArray) targets = NULL;
  g_autofree char *html = tern_mime_display_rewrite_links (
    "<p><a href=\"https://a.example/x?b=1&amp;c=2\">one</a> "
    "<A class=x HREF='mailto:b@example.org'>two</A> <a href=http://c.example/>three</a> "
    "<a/href=\"https://d.example/\">four</a> <area shape=rect href=\"https://e.example/\"> "
    "<link href=\"https://css.example/a.css\"> <img src=\"https://f.example/i.png\"></p>",
    &targets);

  g_assert_cmpuint (targets->len, ==, 5);
  g_assert_cmpstr (targets->pdata[0], ==, "https://a.example/x?b=1&c=2");
  g_assert_cmpstr (targets->pdata[1], ==, "mailto:b@example.org");
  g_assert_cmpstr (targets->pdata[2], ==, "http://c.example/");
  g_assert_cmpstr (targets->pdata[3], ==, "https://d.example/");
  g_assert_cmpstr (targets->pdata[4], ==, "https://e.example/");
  g_assert_nonnull (strstr (html, "<a href=\"tern-link:0\">one</a>"));
  g_assert_nonnull (strstr (html, "<A class=x HREF=\"tern-link:1\">two</A>"));
  g_assert_nonnull (strstr (html, "<a href=\"tern-link:2\">three</a>"));
  g_assert_nonnull (strstr (html, "<a/href=\"tern-link:3\">four</a>"));
  g_assert_nonnull (strstr (html, "<area shape=rect href=\"tern-link:4\">"));
  /* Only links: style sheets and images are left to the blocking. */
  g_assert_nonnull (strstr (html, "<link href=\"https://css.example/a.css\">"));
  g_assert_nonnull (strstr (html, "<img src=\"https://f.example/i.png\">"));
  g_assert_null (strstr (html, "a.example"));
}

static void
test_display_escapes_and_links_plain_text (void)
{
  g_autoptr(TernMimeDisplay) display = display_of (
    "Subject: t\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "<script>alert(1)</script> & see https://example.org/a?b=1&c=2. "
    "Or www.example.com, or (http://example.net/x_(y)).\r\n");
  g_autofree char *html = NULL;

  g_assert_false (tern_mime_display_is_html (display));
  html = tern_mime_display_text_to_html (tern_mime_display_get_body (display));

  g_assert_null (strstr (html, "<script>"));
  g_assert_nonnull (strstr (html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; see "));
  g_assert_nonnull (strstr (html, "<a href=\"https://example.org/a?b=1&amp;c=2\">"
                                  "https://example.org/a?b=1&amp;c=2</a>. "));
  g_assert_nonnull (strstr (html, "<a href=\"http://www.example.com\">www.example.com</a>,"));
  g_assert_nonnull (strstr (html, ">http://example.net/x_(y)</a>)."));
  g_assert_true (g_str_has_prefix (html, "<div class=\"tern-plain\">"));
}

static void
test_display_survives_hostile_input (void)
{
  g_autoptr(GString) deep = g_string_new ("Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
  g_autoptr(TernMimeDisplay) display = NULL;
  g_autoptr(TernMimeDisplay) empty = NULL;
  g_autoptr(GBytes) none = g_bytes_new (NULL, 0);

  for (int i = 0; i < 5000; i++)
    g_string_append_printf (deep, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n",
                            i, i + 1);
  g_string_append (deep, "--b5000\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n");

  display = display_of (deep->str);
  g_assert_nonnull (tern_mime_display_get_body (display));

  empty = tern_mime_display_new (none);
  g_assert_cmpstr (tern_mime_display_get_body (empty), ==, "");
  g_assert_false (tern_mime_display_is_html (empty));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mime/display/prefers-html-of-an-alternative",
                   test_display_prefers_html_of_an_alternative);
  g_test_add_func ("/mime/display/serves-cid-parts-and-lists-attachments",
                   test_display_serves_cid_parts_and_lists_attachments);
  g_test_add_func ("/mime/display/finds-remote-resources", test_display_finds_remote_resources);
  g_test_add_func ("/mime/display/finds-deceptive-links", test_display_finds_deceptive_links);
  g_test_add_func ("/mime/display/rewrites-links", test_display_rewrites_links);
  g_test_add_func ("/mime/display/escapes-and-links-plain-text",
                   test_display_escapes_and_links_plain_text);
  g_test_add_func ("/mime/display/survives-hostile-input", test_display_survives_hostile_input);

  return g_test_run ();
}
