/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-mail-service.h"
#include "tern-store.h"

G_BEGIN_DECLS

void tern_archive_dialog_present (GtkWindow       *parent,
                                  TernStore       *store,
                                  TernMailService *service,
                                  GPtrArray       *folders,
                                  const char      *account_id);

G_END_DECLS
