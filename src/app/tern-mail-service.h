/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

#include "tern-account.h"
#include "tern-store.h"

G_BEGIN_DECLS

/*
 * TernMailService: the app's mail fetching, one per application.  Each
 * enabled IMAP account gets a full sync pass at once and then every sync
 * interval, with the INBOX watched (IDLE) between passes; each POP3
 * account is checked at its interval.  Failures wait longer each time and
 * are told once through TernMailService::problem.  Jobs the user asks for
 * (the quota, archiving old mail) run on the account's connection between
 * passes.
 */

#define TERN_TYPE_MAIL_SERVICE (tern_mail_service_get_type ())

G_DECLARE_FINAL_TYPE (TernMailService, tern_mail_service, TERN, MAIL_SERVICE, GObject)

TernMailService *tern_mail_service_new          (GApplication    *application,
                                                 TernStore       *store,
                                                 const char      *config_dir);
void             tern_mail_service_start        (TernMailService *self);
void             tern_mail_service_add_account  (TernMailService *self,
                                                 TernAccount     *account);
void             tern_mail_service_stop         (TernMailService *self);
void             tern_mail_service_push_changes (TernMailService *self);
gboolean         tern_mail_service_get_busy     (TernMailService *self);
gboolean         tern_mail_service_get_offline  (TernMailService *self);
void             tern_mail_service_remove_account_async  (TernMailService     *self,
                                                         const char          *account_id,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
gboolean         tern_mail_service_remove_account_finish (TernMailService     *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);
void             tern_mail_service_sync_soon    (TernMailService *self,
                                                 const char      *account_id);

void             tern_mail_service_get_quota_async  (TernMailService     *self,
                                                     const char          *account_id,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean         tern_mail_service_get_quota_finish (TernMailService     *self,
                                                     GAsyncResult        *result,
                                                     guint64             *out_used_kib,
                                                     guint64             *out_limit_kib,
                                                     GError             **error);
void             tern_mail_service_archive_async    (TernMailService     *self,
                                                     const char          *account_id,
                                                     const char          *folder_path,
                                                     guint                older_than_days,
                                                     gint64               local_folder_id,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean         tern_mail_service_archive_finish   (TernMailService     *self,
                                                     GAsyncResult        *result,
                                                     guint               *out_count,
                                                     GError             **error);

G_END_DECLS
