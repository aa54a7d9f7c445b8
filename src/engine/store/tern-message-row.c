/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include "tern-message-flags.h"
#include "tern-message-row.h"

/*
 * TernMessageRow: one row of a message list, a message or a conversation.
 * A row is handed out empty ("loaded" is FALSE) and filled when its page
 * arrives from the store; widgets bind to its properties and follow.
 * Each property notifies when it changes; "changed" comes once after a
 * fill or a count update that changed anything, for a widget that shows
 * the whole row and would otherwise redraw it once per property.
 */

struct _TernMessageRow
{
  GObject parent_instance;

  gint64 id;
  gint64 conversation_id;
  gint64 folder_id;
  gboolean loaded;
  char *subject;
  char *sender;
  char *preview;
  gint64 date;
  guint flags;
  gboolean has_attachments;
  guint count;
  guint unread_count;
};

G_DEFINE_FINAL_TYPE (TernMessageRow, tern_message_row, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_ID,
  PROP_CONVERSATION_ID,
  PROP_LOADED,
  PROP_SUBJECT,
  PROP_SENDER,
  PROP_PREVIEW,
  PROP_DATE,
  PROP_FLAGS,
  PROP_UNREAD,
  PROP_FLAGGED,
  PROP_HAS_ATTACHMENTS,
  PROP_COUNT,
  PROP_UNREAD_COUNT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tern_message_row_finalize (GObject *object)
{
  TernMessageRow *self = TERN_MESSAGE_ROW (object);

  g_free (self->subject);
  g_free (self->sender);
  g_free (self->preview);

  G_OBJECT_CLASS (tern_message_row_parent_class)->finalize (object);
}

static void
tern_message_row_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  TernMessageRow *self = TERN_MESSAGE_ROW (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_int64 (value, self->id);
      break;
    case PROP_CONVERSATION_ID:
      g_value_set_int64 (value, self->conversation_id);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    case PROP_SUBJECT:
      g_value_set_string (value, self->subject);
      break;
    case PROP_SENDER:
      g_value_set_string (value, self->sender);
      break;
    case PROP_PREVIEW:
      g_value_set_string (value, self->preview);
      break;
    case PROP_DATE:
      g_value_set_int64 (value, self->date);
      break;
    case PROP_FLAGS:
      g_value_set_uint (value, self->flags);
      break;
    case PROP_UNREAD:
      g_value_set_boolean (value, tern_message_row_get_unread (self));
      break;
    case PROP_FLAGGED:
      g_value_set_boolean (value, tern_message_row_get_flagged (self));
      break;
    case PROP_HAS_ATTACHMENTS:
      g_value_set_boolean (value, self->has_attachments);
      break;
    case PROP_COUNT:
      g_value_set_uint (value, self->count);
      break;
    case PROP_UNREAD_COUNT:
      g_value_set_uint (value, self->unread_count);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tern_message_row_class_init (TernMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = tern_message_row_finalize;
  object_class->get_property = tern_message_row_get_property;

  properties[PROP_ID] = g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_CONVERSATION_ID] =
    g_param_spec_int64 ("conversation-id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_LOADED] = g_param_spec_boolean ("loaded", NULL, NULL, FALSE, flags);
  properties[PROP_SUBJECT] = g_param_spec_string ("subject", NULL, NULL, NULL, flags);
  properties[PROP_SENDER] = g_param_spec_string ("sender", NULL, NULL, NULL, flags);
  properties[PROP_PREVIEW] = g_param_spec_string ("preview", NULL, NULL, NULL, flags);
  properties[PROP_DATE] = g_param_spec_int64 ("date", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_FLAGS] = g_param_spec_uint ("flags", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_UNREAD] = g_param_spec_boolean ("unread", NULL, NULL, FALSE, flags);
  properties[PROP_FLAGGED] = g_param_spec_boolean ("flagged", NULL, NULL, FALSE, flags);
  properties[PROP_HAS_ATTACHMENTS] =
    g_param_spec_boolean ("has-attachments", NULL, NULL, FALSE, flags);
  properties[PROP_COUNT] = g_param_spec_uint ("count", NULL, NULL, 0, G_MAXUINT, 1, flags);
  properties[PROP_UNREAD_COUNT] =
    g_param_spec_uint ("unread-count", NULL, NULL, 0, G_MAXUINT, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TernMessageRow::changed:
   *
   * Emitted once after a fill or a count update that changed any of the
   * row's properties, when their notifications have been sent.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
tern_message_row_init (TernMessageRow *self)
{
  self->count = 1;
}

TernMessageRow *
tern_message_row_new (gint64 id,
                      gint64 conversation_id,
                      gint64 folder_id)
{
  TernMessageRow *self = g_object_new (TERN_TYPE_MESSAGE_ROW, NULL);

  self->id = id;
  self->conversation_id = conversation_id;
  self->folder_id = folder_id;

  return self;
}

static void
notify (TernMessageRow *self,
        int             prop,
        gboolean       *changed)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
  *changed = TRUE;
}

void
tern_message_row_set_counts (TernMessageRow *self,
                             guint           count,
                             guint           unread_count)
{
  gboolean changed = FALSE;

  g_return_if_fail (TERN_IS_MESSAGE_ROW (self));

  if (self->count != count)
    {
      self->count = count;
      notify (self, PROP_COUNT, &changed);
    }
  if (self->unread_count != unread_count)
    {
      self->unread_count = unread_count;
      notify (self, PROP_UNREAD_COUNT, &changed);
    }
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
set_string (TernMessageRow  *self,
            char           **field,
            const char      *value,
            int              prop,
            gboolean        *changed)
{
  if (g_strcmp0 (*field, value) != 0)
    {
      g_free (*field);
      *field = g_strdup (value);
      notify (self, prop, changed);
    }
}

/**
 * tern_message_row_fill:
 * @message: the row's message, or for a conversation its newest message
 *
 * Fills the row from the store and notifies what changed.
 */
void
tern_message_row_fill (TernMessageRow *self,
                       TernMessage    *message)
{
  const char *name;
  gboolean was_unread;
  gboolean was_flagged;
  gboolean changed = FALSE;

  g_return_if_fail (TERN_IS_MESSAGE_ROW (self));

  g_object_freeze_notify (G_OBJECT (self));

  name = tern_message_get_from_name (message);
  if (name == NULL || *name == '\0')
    name = tern_message_get_from_address (message);

  if (self->conversation_id != tern_message_get_conversation_id (message))
    {
      self->conversation_id = tern_message_get_conversation_id (message);
      notify (self, PROP_CONVERSATION_ID, &changed);
    }

  set_string (self, &self->subject, tern_message_get_subject (message), PROP_SUBJECT, &changed);
  set_string (self, &self->sender, name, PROP_SENDER, &changed);
  set_string (self, &self->preview, tern_message_get_preview (message), PROP_PREVIEW, &changed);

  if (self->date != tern_message_get_date (message))
    {
      self->date = tern_message_get_date (message);
      notify (self, PROP_DATE, &changed);
    }

  was_unread = tern_message_row_get_unread (self);
  was_flagged = tern_message_row_get_flagged (self);
  if (self->flags != tern_message_get_flags (message))
    {
      self->flags = tern_message_get_flags (message);
      notify (self, PROP_FLAGS, &changed);
    }
  if (was_unread != tern_message_row_get_unread (self) || !self->loaded)
    notify (self, PROP_UNREAD, &changed);
  if (was_flagged != tern_message_row_get_flagged (self) || !self->loaded)
    notify (self, PROP_FLAGGED, &changed);

  if (self->has_attachments != tern_message_has_attachments (message))
    {
      self->has_attachments = tern_message_has_attachments (message);
      notify (self, PROP_HAS_ATTACHMENTS, &changed);
    }

  if (!self->loaded)
    {
      self->loaded = TRUE;
      notify (self, PROP_LOADED, &changed);
    }

  g_object_thaw_notify (G_OBJECT (self));
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

gint64 tern_message_row_get_id (TernMessageRow *self) { return self->id; }
gint64 tern_message_row_get_conversation_id (TernMessageRow *self) { return self->conversation_id; }
gint64 tern_message_row_get_folder_id (TernMessageRow *self) { return self->folder_id; }
gboolean tern_message_row_get_loaded (TernMessageRow *self) { return self->loaded; }
const char *tern_message_row_get_subject (TernMessageRow *self) { return self->subject; }
const char *tern_message_row_get_sender (TernMessageRow *self) { return self->sender; }
const char *tern_message_row_get_preview (TernMessageRow *self) { return self->preview; }
gint64 tern_message_row_get_date (TernMessageRow *self) { return self->date; }
guint tern_message_row_get_flags (TernMessageRow *self) { return self->flags; }
guint tern_message_row_get_count (TernMessageRow *self) { return self->count; }
guint tern_message_row_get_unread_count (TernMessageRow *self) { return self->unread_count; }
gboolean tern_message_row_get_has_attachments (TernMessageRow *self) { return self->has_attachments; }

gboolean
tern_message_row_get_unread (TernMessageRow *self)
{
  return (self->flags & (TERN_MESSAGE_FLAG_SEEN | TERN_MESSAGE_FLAG_DELETED)) == 0;
}

gboolean
tern_message_row_get_flagged (TernMessageRow *self)
{
  return (self->flags & TERN_MESSAGE_FLAG_FLAGGED) != 0;
}
