/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A resolver for tests that answers from a table and never asks the
 * network: every name under ".test" resolves to 127.0.0.1 (so that nothing
 * a test connects to can leave the machine), SRV and MX records come from
 * what the test added, and every other name is not found.  Set it with
 * g_resolver_set_default() for the length of a test.
 */

#define TERN_TYPE_TEST_RESOLVER (tern_test_resolver_get_type ())

G_DECLARE_FINAL_TYPE (TernTestResolver, tern_test_resolver, TERN, TEST_RESOLVER, GResolver)

TernTestResolver *tern_test_resolver_new     (void);
void              tern_test_resolver_add_srv (TernTestResolver *self,
                                              const char       *rrname,
                                              const char       *target,
                                              guint16           port);
void              tern_test_resolver_add_mx  (TernTestResolver *self,
                                              const char       *domain,
                                              guint16           preference,
                                              const char       *host);
guint             tern_test_resolver_count_lookups (TernTestResolver *self);

G_END_DECLS
