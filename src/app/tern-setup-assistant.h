/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <adwaita.h>

#include "tern-engine.h"

G_BEGIN_DECLS

#define TERN_TYPE_SETUP_ASSISTANT (tern_setup_assistant_get_type ())

G_DECLARE_FINAL_TYPE (TernSetupAssistant, tern_setup_assistant, TERN, SETUP_ASSISTANT, AdwWindow)

TernSetupAssistant *tern_setup_assistant_new (GtkWindow *parent,
                                              TernPaths *paths);

G_END_DECLS
