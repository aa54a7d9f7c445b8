/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-web.h"

/*
 * What every message body view shares: one web context with the "cid:"
 * scheme, settings with scripts and plugins off, and the content filter
 * that blocks every load that is not cid:, data: or about:.  A body is
 * loaded only once the filter is compiled, so that no view ever runs
 * without it; the Content-Security-Policy that tern_web_build_document()
 * writes into every document is a second wall behind it.
 */

#define FILTER_ID "tern-block-remote"

static const char filter_rules[] =
  "[{\"trigger\":{\"url-filter\":\".*\"},\"action\":{\"type\":\"block\"}},"
  "{\"trigger\":{\"url-filter\":\"^cid:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^data:\"},\"action\":{\"type\":\"ignore-previous-rules\"}},"
  "{\"trigger\":{\"url-filter\":\"^about:\"},\"action\":{\"type\":\"ignore-previous-rules\"}}]";

static WebKitUserContentFilter *filter;
static gboolean filter_failed;
static GPtrArray *waiting;   /* GTask */
static WebKitSettings *settings;
static char *profile_cache_dir;

static void
cid_scheme_cb (WebKitURISchemeRequest *request,
               gpointer                user_data)
{
  WebKitWebView *view = webkit_uri_scheme_request_get_web_view (request);
  TernMimeDisplay *display = view != NULL ? g_object_get_data (G_OBJECT (view), "tern-display")
                                          : NULL;
  const char *path = webkit_uri_scheme_request_get_path (request);
  g_autofree char *content_id = NULL;
  g_autofree char *mime_type = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  content_id = path != NULL ? g_uri_unescape_string (path, NULL) : NULL;
  if (display == NULL || content_id == NULL)
    {
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such part");
      webkit_uri_scheme_request_finish_error (request, error);
      return;
    }

  bytes = tern_mime_display_get_cid_part (display, content_id, &mime_type, &error);
  if (bytes == NULL)
    {
      webkit_uri_scheme_request_finish_error (request, error);
      return;
    }

  stream = g_memory_input_stream_new_from_bytes (bytes);
  webkit_uri_scheme_request_finish (request, stream, g_bytes_get_size (bytes), mime_type);
}

static void
filter_saved_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&waiting);

  filter = webkit_user_content_filter_store_save_finish (WEBKIT_USER_CONTENT_FILTER_STORE (source),
                                                         result, &error);
  if (filter == NULL)
    {
      /* The policy in each document still blocks remote loads. */
      g_warning ("Could not compile the content filter: %s", error->message);
      filter_failed = TRUE;
    }

  for (guint i = 0; tasks != NULL && i < tasks->len; i++)
    g_task_return_boolean (tasks->pdata[i], TRUE);
}

/**
 * tern_web_init:
 * @cache_dir: where the compiled filter may be kept
 *
 * Sets up the shared web context.  Call once, before any view.
 */
void
tern_web_init (const char *cache_dir)
{
  WebKitWebContext *context = webkit_web_context_get_default ();
  g_autofree char *filter_dir = g_build_filename (cache_dir, "content-filters", NULL);
  g_autoptr(WebKitUserContentFilterStore) store = NULL;
  g_autoptr(GBytes) rules = g_bytes_new_static (filter_rules, sizeof filter_rules - 1);

  if (settings != NULL)
    return;

  profile_cache_dir = g_strdup (cache_dir);
  webkit_web_context_register_uri_scheme (context, "cid", cid_scheme_cb, NULL, NULL);
  webkit_web_context_set_cache_model (context, WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);

  settings = webkit_settings_new ();
  g_object_set (settings,
                "enable-javascript", FALSE,
                "enable-javascript-markup", FALSE,
                "javascript-can-open-windows-automatically", FALSE,
                "javascript-can-access-clipboard", FALSE,
                "enable-html5-database", FALSE,
                "enable-html5-local-storage", FALSE,
                "enable-page-cache", FALSE,
                "enable-webgl", FALSE,
                "enable-webaudio", FALSE,
                "enable-media", FALSE,
                "enable-developer-extras", FALSE,
                "enable-back-forward-navigation-gestures", FALSE,
                "enable-dns-prefetching", FALSE,
                "allow-file-access-from-file-urls", FALSE,
                "allow-universal-access-from-file-urls", FALSE,
                "allow-modal-dialogs", FALSE,
                "auto-load-images", TRUE,
                "hardware-acceleration-policy", WEBKIT_HARDWARE_ACCELERATION_POLICY_NEVER,
                "default-charset", "utf-8",
                NULL);

  waiting = g_ptr_array_new_with_free_func (g_object_unref);
  store = webkit_user_content_filter_store_new (filter_dir);
  webkit_user_content_filter_store_save (store, FILTER_ID, rules, NULL, filter_saved_cb, NULL);
}

/**
 * tern_web_get_cache_dir:
 *
 * Returns: the profile's cache folder, where opened attachments are
 *   written, as tern_web_init() was given it.
 */
const char *
tern_web_get_cache_dir (void)
{
  return profile_cache_dir != NULL ? profile_cache_dir : g_get_user_cache_dir ();
}

/**
 * tern_web_when_ready_async:
 *
 * Completes once views can be made with the content filter (or once it is
 * known that the filter could not be compiled).
 */
void
tern_web_when_ready_async (GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, tern_web_when_ready_async);
  if (waiting == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }

  g_ptr_array_add (waiting, task);
}

gboolean
tern_web_when_ready_finish (GAsyncResult  *result,
                            GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tern_web_new_view:
 * @block_remote: whether remote loads are blocked
 *
 * Returns: (transfer full): a web view for one message body.
 */
WebKitWebView *
tern_web_new_view (gboolean block_remote)
{
  g_autoptr(WebKitUserContentManager) manager = webkit_user_content_manager_new ();
  WebKitWebView *view;

  if (block_remote && filter != NULL)
    webkit_user_content_manager_add_filter (manager, filter);

  view = g_object_new (WEBKIT_TYPE_WEB_VIEW,
                       "web-context", webkit_web_context_get_default (),
                       "settings", settings,
                       "user-content-manager", manager,
                       NULL);
  g_object_ref_sink (view);

  return view;
}

/**
 * tern_web_set_remote_allowed:
 *
 * Lifts or sets again the content filter of @view; reload its document
 * afterwards, built with the same choice.
 */
void
tern_web_set_remote_allowed (WebKitWebView *view,
                             gboolean       allowed)
{
  WebKitUserContentManager *manager = webkit_web_view_get_user_content_manager (view);

  webkit_user_content_manager_remove_all_filters (manager);
  if (!allowed && filter != NULL)
    webkit_user_content_manager_add_filter (manager, filter);
}

/**
 * tern_web_build_document:
 * @body: the message's HTML, or its text made HTML when @is_html is %FALSE
 * @allow_remote: whether the user allowed remote content
 * @dark: whether the app shows its dark style
 *
 * Returns: (transfer full): the HTML document to load, with its
 *   Content-Security-Policy first: no script, no frame, no form, and loads
 *   only from cid: and data: (and http:/https: for images, styles, fonts
 *   and media when @allow_remote).
 */
char *
tern_web_build_document (const char *body,
                         gboolean    is_html,
                         gboolean    allow_remote,
                         gboolean    dark)
{
  GString *document = g_string_new ("<!DOCTYPE html>\n<meta charset=\"utf-8\">\n");
  const char *sources = allow_remote ? "cid: data: http: https:" : "cid: data:";
  const char *fg = dark ? "#ffffff" : "#1e1e1e";
  const char *link = dark ? "#78aeed" : "#1c71d8";
  /* Quoted text: a bar by the side, the text a little dimmer; levels
   * alternate the bar's colour so that each stands apart. */
  const char *quote = ".tern-quote { margin: 6px 0; padding: 0 0 0 10px; "
                      "border-left: 3px solid rgba(53, 132, 228, 0.6); opacity: 0.85; } "
                      ".tern-quote .tern-quote { border-left-color: rgba(46, 194, 126, 0.6); "
                      "opacity: 1; } "
                      ".tern-quote .tern-quote .tern-quote { "
                      "border-left-color: rgba(229, 165, 10, 0.6); } "
                      ".tern-quote .tern-quote .tern-quote .tern-quote { "
                      "border-left-color: rgba(154, 153, 150, 0.6); }";

  g_string_append_printf (document,
                          "<meta http-equiv=\"Content-Security-Policy\" content=\""
                          "default-src 'none'; script-src 'none'; object-src 'none'; "
                          "frame-src 'none'; child-src 'none'; form-action 'none'; "
                          "base-uri 'none'; img-src %s; media-src %s; font-src %s; "
                          "style-src 'unsafe-inline' %s\">\n",
                          sources, sources, sources, sources);
  g_string_append (document, "<meta name=\"referrer\" content=\"no-referrer\">\n");
  /* The page is transparent on the reader's card; what the engine draws
   * itself (form controls, scroll bars) follows the style. */
  g_string_append_printf (document, "<meta name=\"color-scheme\" content=\"%s\">\n",
                          dark && !is_html ? "dark" : "light");

  if (is_html)
    {
      /* HTML mail is written for a light page: in the dark style it keeps
       * its own light sheet, so that dark text set by the sender stays
       * readable, inside the reader's dark surroundings. */
      g_string_append_printf (document,
                              "<style>html { background: transparent; } "
                              "body { background: #ffffff; color: #000000; margin: 0; "
                              "padding: 12px; border-radius: 8px; overflow-wrap: anywhere; "
                              "font-family: sans-serif; } "
                              "img { max-width: 100%%; height: auto; } "
                              ".tern-plain { white-space: pre-wrap; } %s</style>\n",
                              quote);
      g_string_append (document, body);
    }
  else
    {
      g_string_append_printf (document,
                              "<style>html { background: transparent; color: %s; } "
                              "body { margin: 0; padding: 0 2px; font-family: sans-serif; "
                              "font-size: 11pt; line-height: 1.45; overflow-wrap: anywhere; } "
                              "a { color: %s; } "
                              ".tern-plain { white-space: pre-wrap; } %s</style>\n",
                              fg, link, quote);
      g_string_append (document, body);
    }

  return g_string_free (document, FALSE);
}
