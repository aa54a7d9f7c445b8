/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-mail-service.h"
#include "tern-store.h"
#include "tern-window.h"

G_BEGIN_DECLS

void tern_account_removal_present (TernWindow      *window,
                                   TernStore       *store,
                                   TernMailService *service,
                                   const char      *account_id);

G_END_DECLS
