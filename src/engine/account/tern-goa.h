/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#define GOA_API_IS_SUBJECT_TO_CHANGE
#include <goa/goa.h>

#include "tern-account.h"

G_BEGIN_DECLS

/*
 * GNOME Online Accounts: the mail accounts the user set up in Settings,
 * turned into Tern accounts.  Built only when libgoa-1.0 is there (an
 * optional dependency).
 */

#define TERN_GOA_ERROR (tern_goa_error_quark ())

typedef enum
{
  /* The online account has no mail, or mail is turned off for it. */
  TERN_GOA_ERROR_NO_MAIL,
  /* Its mail settings are not ones Tern can use. */
  TERN_GOA_ERROR_UNSUPPORTED,
} TernGoaError;

GQuark       tern_goa_error_quark        (void);

TernAccount *tern_goa_account_new        (GoaObject  *object,
                                          GError    **error);
GPtrArray   *tern_goa_accounts_from_list (GList      *objects,
                                          GPtrArray **problems);

G_END_DECLS
