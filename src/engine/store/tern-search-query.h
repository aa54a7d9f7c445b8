/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>
#include <sqlite3.h>

#include "tern-message-flags.h"

G_BEGIN_DECLS

#define TERN_SEARCH_QUERY_ERROR (tern_search_query_error_quark ())

/**
 * TernSearchQueryError:
 * @TERN_SEARCH_QUERY_ERROR_BAD_DATE: a `before:` or `after:` word does not
 *   hold a date written as YYYY-MM-DD
 *
 * The ways a search can fail to parse.  Everything else a user can type is
 * searched for as text.
 */
typedef enum {
  TERN_SEARCH_QUERY_ERROR_BAD_DATE,
} TernSearchQueryError;

/* Longer queries are searched for their first terms only, longer terms for
 * their first bytes (cut at a character boundary). */
#define TERN_SEARCH_QUERY_MAX_TERMS      100
#define TERN_SEARCH_QUERY_MAX_TERM_BYTES 1024

#define TERN_TYPE_SEARCH_QUERY (tern_search_query_get_type ())

typedef struct _TernSearchQuery TernSearchQuery;

GQuark           tern_search_query_error_quark    (void);
GType            tern_search_query_get_type       (void) G_GNUC_CONST;

TernSearchQuery *tern_search_query_parse          (const char       *text,
                                                   GError          **error);
TernSearchQuery *tern_search_query_parse_full     (const char       *text,
                                                   GTimeZone        *time_zone,
                                                   GError          **error);

TernSearchQuery *tern_search_query_ref            (TernSearchQuery  *self);
void             tern_search_query_unref          (TernSearchQuery  *self);

const char      *tern_search_query_get_text       (TernSearchQuery  *self);
gboolean         tern_search_query_is_empty       (TernSearchQuery  *self);
const char      *tern_search_query_get_fts_match  (TernSearchQuery  *self);

gboolean         tern_search_query_build_sql        (TernSearchQuery  *self,
                                                     GString          *where,
                                                     GPtrArray        *params);
gboolean         tern_search_query_build_filter_sql (TernSearchQuery  *self,
                                                     GString          *where,
                                                     GPtrArray        *params);

int              tern_search_query_bind           (GPtrArray        *params,
                                                   sqlite3_stmt     *stmt,
                                                   int               first_index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TernSearchQuery, tern_search_query_unref)

G_END_DECLS
