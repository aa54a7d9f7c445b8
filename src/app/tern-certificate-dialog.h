/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-trust.h"

G_BEGIN_DECLS

AdwMessageDialog *tern_certificate_dialog_new (GtkWindow                    *parent,
                                               const TernCertificateDetails *details);

G_END_DECLS
