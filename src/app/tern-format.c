/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n.h>

#include "tern-format.h"

/*
 * How dates and sizes read in the message list and the reader, in the way
 * of other GNOME apps: the time for today, the weekday within the last week,
 * the day and month this year, a full date before.
 */

/* GNOME's clock setting, looked up once: every row of the list asks. */
static GSettings *
clock_settings (void)
{
  static GSettings *settings;
  static gsize looked_up;

  if (g_once_init_enter (&looked_up))
    {
      GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
      g_autoptr(GSettingsSchema) schema = NULL;

      if (source != NULL)
        schema = g_settings_schema_source_lookup (source, "org.gnome.desktop.interface", TRUE);
      if (schema != NULL && g_settings_schema_has_key (schema, "clock-format"))
        settings = g_settings_new_full (schema, NULL, NULL);
      g_once_init_leave (&looked_up, 1);
    }
  return settings;
}

static gboolean
use_24h_clock (void)
{
  /* GNOME's own setting, when the desktop has its schema; 24 hours
   * otherwise. */
  GSettings *settings = clock_settings ();
  g_autofree char *format = NULL;

  if (settings == NULL)
    return TRUE;
  format = g_settings_get_string (settings, "clock-format");
  return g_strcmp0 (format, "12h") != 0;
}

/* The local time zone, looked up again at most once a second.  GLib checks
 * the system's zone files each time it is asked for the local zone, and
 * every row of the list formats a date. */
#define ZONE_LOOKUP_INTERVAL G_USEC_PER_SEC

G_LOCK_DEFINE_STATIC (zone);

static GTimeZone *
local_zone (void)
{
  static GTimeZone *zone;
  static gint64 looked_up;
  gint64 now = g_get_monotonic_time ();
  GTimeZone *result;

  G_LOCK (zone);
  if (zone == NULL || now - looked_up >= ZONE_LOOKUP_INTERVAL)
    {
      g_clear_pointer (&zone, g_time_zone_unref);
      zone = g_time_zone_new_local ();
      looked_up = now;
    }
  result = g_time_zone_ref (zone);
  G_UNLOCK (zone);
  return result;
}

/**
 * tern_format_list_date:
 * @unix_time: a time in seconds since 1970
 * @now: (nullable): the present, or %NULL for the clock's
 *
 * Returns: (transfer full): the date as a message list shows it.
 */
char *
tern_format_list_date (gint64     unix_time,
                       GDateTime *now)
{
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GDateTime) today = NULL;
  g_autoptr(GDateTime) local_now = NULL;
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GTimeZone) zone = NULL;
  GTimeSpan since_midnight;

  if (unix_time <= 0)
    return g_strdup ("");

  zone = local_zone ();
  utc = g_date_time_new_from_unix_utc (unix_time);
  date = utc != NULL ? g_date_time_to_timezone (utc, zone) : NULL;
  local_now = now != NULL ? g_date_time_to_timezone (now, zone) : g_date_time_new_now (zone);
  if (date == NULL || local_now == NULL)
    return g_strdup ("");

  today = g_date_time_new (zone, g_date_time_get_year (local_now),
                           g_date_time_get_month (local_now),
                           g_date_time_get_day_of_month (local_now), 0, 0, 0);
  if (today == NULL)
    return g_strdup ("");
  since_midnight = g_date_time_difference (date, today);

  if (since_midnight >= 0 && since_midnight < G_TIME_SPAN_DAY)
    /* Translators: a time today, see the GDateTime docs */
    return g_date_time_format (date, use_24h_clock () ? _("%H:%M") : _("%-I:%M %p"));
  if (since_midnight < 0 && since_midnight >= -6 * G_TIME_SPAN_DAY)
    /* Translators: a day of the last week */
    return g_date_time_format (date, _("%A"));
  if (g_date_time_get_year (date) == g_date_time_get_year (local_now))
    /* Translators: a day of this year */
    return g_date_time_format (date, _("%-d %B"));

  /* Translators: a day of another year */
  return g_date_time_format (date, _("%-d %B %Y"));
}

/**
 * tern_format_full_date:
 *
 * Returns: (transfer full): the date and time in full, as the reader shows.
 */
char *
tern_format_full_date (gint64 unix_time)
{
  g_autoptr(GDateTime) date = NULL;
  g_autofree char *text = NULL;

  if (unix_time <= 0)
    return g_strdup ("");

  date = g_date_time_new_from_unix_local (unix_time);
  if (date == NULL)
    return g_strdup ("");

  /* Translators: a full date and time, see the GDateTime docs */
  text = g_date_time_format (date, use_24h_clock () ? _("%A %-d %B %Y, %H:%M")
                                                    : _("%A %-d %B %Y, %-I:%M %p"));
  return g_strdup (g_strstrip (text));
}

/**
 * tern_format_size:
 *
 * Returns: (transfer full): a file size for people ("12.3 kB").
 */
char *
tern_format_size (gint64 bytes)
{
  return g_format_size (MAX (bytes, 0));
}
