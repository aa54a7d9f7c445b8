/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-test-resolver.h"

struct _TernTestResolver
{
  GResolver parent_instance;

  /* rrname → GList of GSrvTarget, domain → GList of GVariant (qs) */
  GHashTable *srv;
  GHashTable *mx;
  guint lookups;
};

G_DEFINE_FINAL_TYPE (TernTestResolver, tern_test_resolver, G_TYPE_RESOLVER)

static GList *
resolve_name (TernTestResolver          *self,
              const char                *hostname,
              GResolverNameLookupFlags   flags,
              GError                   **error)
{
  self->lookups++;

  if ((g_str_has_suffix (hostname, ".test") || g_str_equal (hostname, "localhost")) &&
      !(flags & G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY))
    return g_list_prepend (NULL, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));

  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
               "the test resolver does not know “%s”", hostname);
  return NULL;
}

static GList *
lookup_by_name (GResolver     *resolver,
                const char    *hostname,
                GCancellable  *cancellable,
                GError       **error)
{
  return resolve_name (TERN_TEST_RESOLVER (resolver), hostname, 0, error);
}

static GList *
lookup_by_name_with_flags (GResolver                 *resolver,
                           const char                *hostname,
                           GResolverNameLookupFlags   flags,
                           GCancellable              *cancellable,
                           GError                   **error)
{
  return resolve_name (TERN_TEST_RESOLVER (resolver), hostname, flags, error);
}

static void
return_list (GResolver           *resolver,
             GList               *list,
             GError              *error,
             GDestroyNotify       free_item,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, list, NULL);
  (void) free_item;
}

static void
lookup_by_name_with_flags_async (GResolver                *resolver,
                                 const char               *hostname,
                                 GResolverNameLookupFlags  flags,
                                 GCancellable             *cancellable,
                                 GAsyncReadyCallback       callback,
                                 gpointer                  user_data)
{
  GError *error = NULL;
  GList *list = resolve_name (TERN_TEST_RESOLVER (resolver), hostname, flags, &error);

  return_list (resolver, list, error, g_object_unref, cancellable, callback, user_data);
}

static void
lookup_by_name_async (GResolver           *resolver,
                      const char          *hostname,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  lookup_by_name_with_flags_async (resolver, hostname, 0, cancellable, callback, user_data);
}

static GList *
finish_list (GResolver     *resolver,
             GAsyncResult  *result,
             GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static char *
lookup_by_address (GResolver     *resolver,
                   GInetAddress  *address,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no reverse lookups in tests");
  return NULL;
}

static void
lookup_by_address_async (GResolver           *resolver,
                         GInetAddress        *address,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  return_list (resolver, NULL, g_error_new (G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                                            "no reverse lookups in tests"),
               NULL, cancellable, callback, user_data);
}

static char *
lookup_by_address_finish (GResolver     *resolver,
                          GAsyncResult  *result,
                          GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static GList *
copy_srv (TernTestResolver  *self,
          const char        *rrname,
          GError           **error)
{
  GList *targets = g_hash_table_lookup (self->srv, rrname);
  GList *copy = NULL;

  self->lookups++;
  if (targets == NULL)
    {
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no SRV record %s",
                   rrname);
      return NULL;
    }

  for (GList *l = targets; l != NULL; l = l->next)
    copy = g_list_append (copy, g_srv_target_copy (l->data));
  return copy;
}

static GList *
lookup_service (GResolver     *resolver,
                const char    *rrname,
                GCancellable  *cancellable,
                GError       **error)
{
  return copy_srv (TERN_TEST_RESOLVER (resolver), rrname, error);
}

static void
lookup_service_async (GResolver           *resolver,
                      const char          *rrname,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GError *error = NULL;
  GList *list = copy_srv (TERN_TEST_RESOLVER (resolver), rrname, &error);

  return_list (resolver, list, error, NULL, cancellable, callback, user_data);
}

static GList *
copy_records (TernTestResolver     *self,
              const char           *rrname,
              GResolverRecordType   type,
              GError              **error)
{
  GList *records = type == G_RESOLVER_RECORD_MX ? g_hash_table_lookup (self->mx, rrname) : NULL;
  GList *copy = NULL;

  self->lookups++;
  if (records == NULL)
    {
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no record for %s",
                   rrname);
      return NULL;
    }

  for (GList *l = records; l != NULL; l = l->next)
    copy = g_list_append (copy, g_variant_ref (l->data));
  return copy;
}

static GList *
lookup_records (GResolver            *resolver,
                const char           *rrname,
                GResolverRecordType   type,
                GCancellable         *cancellable,
                GError              **error)
{
  return copy_records (TERN_TEST_RESOLVER (resolver), rrname, type, error);
}

static void
lookup_records_async (GResolver           *resolver,
                      const char          *rrname,
                      GResolverRecordType  type,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GError *error = NULL;
  GList *list = copy_records (TERN_TEST_RESOLVER (resolver), rrname, type, &error);

  return_list (resolver, list, error, NULL, cancellable, callback, user_data);
}

static void
free_srv_list (gpointer data)
{
  g_list_free_full (data, (GDestroyNotify) g_srv_target_free);
}

static void
free_variant_list (gpointer data)
{
  g_list_free_full (data, (GDestroyNotify) g_variant_unref);
}

static void
tern_test_resolver_finalize (GObject *object)
{
  TernTestResolver *self = TERN_TEST_RESOLVER (object);

  g_clear_pointer (&self->srv, g_hash_table_unref);
  g_clear_pointer (&self->mx, g_hash_table_unref);

  G_OBJECT_CLASS (tern_test_resolver_parent_class)->finalize (object);
}

static void
tern_test_resolver_class_init (TernTestResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = tern_test_resolver_finalize;
  resolver_class->lookup_by_name = lookup_by_name;
  resolver_class->lookup_by_name_async = lookup_by_name_async;
  resolver_class->lookup_by_name_finish = finish_list;
  resolver_class->lookup_by_name_with_flags = lookup_by_name_with_flags;
  resolver_class->lookup_by_name_with_flags_async = lookup_by_name_with_flags_async;
  resolver_class->lookup_by_name_with_flags_finish = finish_list;
  resolver_class->lookup_by_address = lookup_by_address;
  resolver_class->lookup_by_address_async = lookup_by_address_async;
  resolver_class->lookup_by_address_finish = lookup_by_address_finish;
  resolver_class->lookup_service = lookup_service;
  resolver_class->lookup_service_async = lookup_service_async;
  resolver_class->lookup_service_finish = finish_list;
  resolver_class->lookup_records = lookup_records;
  resolver_class->lookup_records_async = lookup_records_async;
  resolver_class->lookup_records_finish = finish_list;
}

static void
tern_test_resolver_init (TernTestResolver *self)
{
  self->srv = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_srv_list);
  self->mx = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_variant_list);
}

TernTestResolver *
tern_test_resolver_new (void)
{
  return g_object_new (TERN_TYPE_TEST_RESOLVER, NULL);
}

void
tern_test_resolver_add_srv (TernTestResolver *self,
                            const char       *rrname,
                            const char       *target,
                            guint16           port)
{
  gpointer old_key = NULL;
  gpointer value = NULL;
  GList *list;

  g_hash_table_steal_extended (self->srv, rrname, &old_key, &value);
  g_free (old_key);
  list = value;
  list = g_list_append (list, g_srv_target_new (target, port, 0, 0));
  g_hash_table_insert (self->srv, g_strdup (rrname), list);
}

void
tern_test_resolver_add_mx (TernTestResolver *self,
                           const char       *domain,
                           guint16           preference,
                           const char       *host)
{
  gpointer old_key = NULL;
  gpointer value = NULL;
  GList *list;

  g_hash_table_steal_extended (self->mx, domain, &old_key, &value);
  g_free (old_key);
  list = value;
  list = g_list_append (list, g_variant_ref_sink (g_variant_new ("(qs)", preference, host)));
  g_hash_table_insert (self->mx, g_strdup (domain), list);
}

guint
tern_test_resolver_count_lookups (TernTestResolver *self)
{
  return self->lookups;
}
