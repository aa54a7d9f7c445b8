/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account.h"
#include "tern-identity.h"

G_BEGIN_DECLS

#define TERN_TYPE_ACCOUNT_MANAGER (tern_account_manager_get_type ())

G_DECLARE_FINAL_TYPE (TernAccountManager, tern_account_manager, TERN, ACCOUNT_MANAGER, GObject)

TernAccountManager *tern_account_manager_new              (const char          *config_dir);

const char         *tern_account_manager_get_accounts_dir (TernAccountManager  *self);
GPtrArray          *tern_account_manager_load             (TernAccountManager  *self,
                                                           GError             **error);

TernAccount        *tern_account_manager_lookup           (TernAccountManager  *self,
                                                           const char          *id);
gboolean            tern_account_manager_add              (TernAccountManager  *self,
                                                           TernAccount         *account,
                                                           GError             **error);
gboolean            tern_account_manager_save             (TernAccountManager  *self,
                                                           TernAccount         *account,
                                                           GError             **error);
gboolean            tern_account_manager_remove           (TernAccountManager  *self,
                                                           TernAccount         *account,
                                                           GError             **error);
gboolean            tern_account_manager_set_enabled      (TernAccountManager  *self,
                                                           TernAccount         *account,
                                                           gboolean             enabled,
                                                           GError             **error);
gboolean            tern_account_manager_move             (TernAccountManager  *self,
                                                           TernAccount         *account,
                                                           guint                position,
                                                           GError             **error);

gboolean            tern_account_manager_choose_identity  (TernAccountManager  *self,
                                                           TernAccount         *received_by,
                                                           const char * const  *delivered_to,
                                                           const char * const  *x_original_to,
                                                           const char * const  *to,
                                                           const char * const  *cc,
                                                           TernAccount        **out_account,
                                                           TernIdentity       **out_identity);

G_END_DECLS
