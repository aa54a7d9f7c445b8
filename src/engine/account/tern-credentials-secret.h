/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-credentials.h"

G_BEGIN_DECLS

#define TERN_TYPE_CREDENTIALS_SECRET (tern_credentials_secret_get_type ())

G_DECLARE_FINAL_TYPE (TernCredentialsSecret, tern_credentials_secret, TERN, CREDENTIALS_SECRET,
                      GObject)

TernCredentials *tern_credentials_secret_new (void);

G_END_DECLS
