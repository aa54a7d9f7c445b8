/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include "tern-credentials.h"

G_BEGIN_DECLS

#define TERN_TYPE_CREDENTIALS_MEMORY (tern_credentials_memory_get_type ())

G_DECLARE_FINAL_TYPE (TernCredentialsMemory, tern_credentials_memory, TERN, CREDENTIALS_MEMORY,
                      GObject)

TernCredentials *tern_credentials_memory_new (void);

G_END_DECLS
