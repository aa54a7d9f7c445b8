/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-mail-service.h"
#include "tern-store.h"

G_BEGIN_DECLS

#define TERN_TYPE_SIDEBAR (tern_sidebar_get_type ())

G_DECLARE_FINAL_TYPE (TernSidebar, tern_sidebar, TERN, SIDEBAR, GtkWidget)

void        tern_sidebar_set_accounts     (TernSidebar        *self,
                                           const char * const *accounts,
                                           const char * const *names);
void        tern_sidebar_set_store        (TernSidebar *self,
                                           TernStore   *store);
void        tern_sidebar_set_mail_service (TernSidebar     *self,
                                           TernMailService *service);
GPtrArray  *tern_sidebar_get_folders      (TernSidebar *self);
TernFolder *tern_sidebar_find_folder      (TernSidebar *self,
                                           gint64       folder_id);
TernFolder *tern_sidebar_find_role_folder (TernSidebar *self,
                                           const char  *account,
                                           TernFolderRole role);
void        tern_sidebar_select_role      (TernSidebar    *self,
                                           TernFolderRole  role);
const char *tern_folder_role_icon_name    (TernFolderRole role);

G_END_DECLS
