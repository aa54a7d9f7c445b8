/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-certificate-dialog.h"

/*
 * The dialog that shows a server certificate that does not validate: who
 * it was issued to and by, when it is valid, and its SHA-256 fingerprint,
 * for the user to compare with the one the provider gives.  The set-up
 * assistant shows it for the servers of a new account, the outbox for a
 * sending server whose certificate it refused.
 */

static void
add_detail (GtkGrid    *grid,
            int         row,
            const char *title,
            const char *value)
{
  GtkWidget *key = gtk_label_new (title);
  GtkWidget *text = gtk_label_new (value);

  gtk_label_set_xalign (GTK_LABEL (key), 1);
  gtk_label_set_yalign (GTK_LABEL (key), 0);
  gtk_widget_add_css_class (key, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (text), 0);
  /* A grid measures a wrapping label at its narrowest: a few characters
   * of width keep it from standing one letter a line. */
  gtk_label_set_wrap (GTK_LABEL (text), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (text), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_width_chars (GTK_LABEL (text), 24);
  gtk_label_set_max_width_chars (GTK_LABEL (text), 48);
  gtk_label_set_selectable (GTK_LABEL (text), TRUE);
  gtk_widget_set_hexpand (text, TRUE);
  gtk_grid_attach (grid, key, 0, row, 1, 1);
  gtk_grid_attach (grid, text, 1, row, 1, 1);
}

static char *
format_date (GDateTime *date)
{
  return date != NULL ? g_date_time_format (date, "%x") : g_strdup (_("unknown"));
}

/**
 * tern_certificate_dialog_new:
 * @parent: the window the dialog belongs to
 * @details: the certificate the server sent
 *
 * Returns: (transfer none): a dialog, not shown yet, whose responses are
 *   "cancel" and, unless the certificate was revoked, "trust".  Pinning
 *   the certificate on "trust" is the caller's part.
 */
AdwMessageDialog *
tern_certificate_dialog_new (GtkWindow                    *parent,
                             const TernCertificateDetails *details)
{
  AdwMessageDialog *dialog;
  GtkWidget *grid = gtk_grid_new ();
  g_autofree char *reasons = tern_certificate_describe_errors (details->errors);
  g_autofree char *from = format_date (details->not_before);
  g_autofree char *until = format_date (details->not_after);
  g_autofree char *fingerprint = NULL;
  g_autofree char *body = NULL;
  gboolean can_trust = tern_certificate_details_can_be_trusted (details);
  g_auto(GStrv) pairs = g_strsplit (details->fingerprint, ":", -1);
  GString *grouped = g_string_new (NULL);

  /* Eight pairs a line: four short lines to compare, pair by pair. */
  for (guint i = 0; pairs[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (grouped, i % 8 == 0 ? '\n' : ':');
      g_string_append (grouped, pairs[i]);
    }
  fingerprint = g_string_free (grouped, FALSE);

  if (can_trust)
    body = g_strdup_printf (_("The certificate of %s (port %u) could not be verified: %s.\n\n"
                              "Someone could be pretending to be your server to read your "
                              "password. Trust this certificate only if its fingerprint is the "
                              "one your provider gives."),
                            details->host, details->port, reasons);
  else
    body = g_strdup_printf (_("The certificate of %s (port %u) has been revoked by its issuer. "
                              "Tern will not log in to this server."),
                            details->host, details->port);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, _("Unverified Certificate"),
                                                       body));
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  add_detail (GTK_GRID (grid), 0, _("Issued to"), details->subject);
  add_detail (GTK_GRID (grid), 1, _("Issued by"), details->issuer);
  add_detail (GTK_GRID (grid), 2, _("Valid from"), from);
  add_detail (GTK_GRID (grid), 3, _("Valid until"), until);
  add_detail (GTK_GRID (grid), 4, _("SHA-256"), fingerprint);
  gtk_widget_add_css_class (gtk_grid_get_child_at (GTK_GRID (grid), 1, 4), "monospace");
  adw_message_dialog_set_extra_child (dialog, grid);

  adw_message_dialog_add_response (dialog, "cancel", _("_Cancel"));
  if (can_trust)
    {
      adw_message_dialog_add_response (dialog, "trust", _("_Trust"));
      adw_message_dialog_set_response_appearance (dialog, "trust", ADW_RESPONSE_DESTRUCTIVE);
    }
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  return dialog;
}
