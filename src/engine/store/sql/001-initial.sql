-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Schema version 1 of the store's index.  Raw message bodies live in the
-- separate bodies database; nothing here holds a whole body.

CREATE TABLE folders (
  id              INTEGER PRIMARY KEY,
  account         TEXT NOT NULL,
  path            TEXT NOT NULL,
  name            TEXT NOT NULL,
  parent_id       INTEGER REFERENCES folders (id) ON DELETE CASCADE,
  delimiter       TEXT NOT NULL DEFAULT '/',
  role            INTEGER NOT NULL DEFAULT 0,
  uidvalidity     INTEGER,
  uidnext         INTEGER,
  highestmodseq   INTEGER,
  total           INTEGER NOT NULL DEFAULT 0,
  unread          INTEGER NOT NULL DEFAULT 0,
  subscribed      INTEGER NOT NULL DEFAULT 1,
  selectable      INTEGER NOT NULL DEFAULT 1,
  created         INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account, path)
);

CREATE TABLE conversations (
  id              INTEGER PRIMARY KEY,
  subject_key     TEXT NOT NULL DEFAULT '',
  first_date      INTEGER NOT NULL DEFAULT 0,
  last_date       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_subject ON conversations (subject_key, last_date);

-- Every Message-ID the store has seen, in a message or in its references,
-- and the conversation it belongs to.
CREATE TABLE message_ids (
  message_id      TEXT PRIMARY KEY,
  conversation_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX message_ids_conversation ON message_ids (conversation_id);

CREATE TABLE messages (
  id              INTEGER PRIMARY KEY,
  folder_id       INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  folder_role     INTEGER NOT NULL DEFAULT 0,
  uid             INTEGER,
  modseq          INTEGER,
  flags           INTEGER NOT NULL DEFAULT 0,
  keywords        TEXT,
  date            INTEGER NOT NULL DEFAULT 0,
  internal_date   INTEGER NOT NULL DEFAULT 0,
  size            INTEGER NOT NULL DEFAULT 0,
  subject         TEXT NOT NULL DEFAULT '',
  from_name       TEXT NOT NULL DEFAULT '',
  from_address    TEXT NOT NULL DEFAULT '',
  to_list         TEXT NOT NULL DEFAULT '',
  cc_list         TEXT NOT NULL DEFAULT '',
  bcc_list        TEXT NOT NULL DEFAULT '',
  reply_to        TEXT NOT NULL DEFAULT '',
  delivered_to    TEXT NOT NULL DEFAULT '',
  message_id      TEXT,
  in_reply_to     TEXT,
  refs            TEXT,
  conversation_id INTEGER NOT NULL DEFAULT 0,
  preview         TEXT NOT NULL DEFAULT '',
  has_attachments INTEGER NOT NULL DEFAULT 0,
  body_state      INTEGER NOT NULL DEFAULT 0,
  body_id         INTEGER,
  problems        INTEGER NOT NULL DEFAULT 0
);
-- The message lists read their order from these alone (covering indexes):
-- a folder, every folder of a role (the unified Inbox), and searches, which
-- filter on flags, attachments and folder while walking the dates.
CREATE INDEX messages_folder_date ON messages (folder_id, date DESC, id DESC);
CREATE INDEX messages_role_date ON messages (folder_role, date DESC, id DESC, folder_id);
CREATE INDEX messages_date ON messages (date DESC, id DESC, flags, has_attachments, folder_id);
CREATE UNIQUE INDEX messages_folder_uid ON messages (folder_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_conversation ON messages (conversation_id);

CREATE TABLE attachments (
  id              INTEGER PRIMARY KEY,
  message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  filename        TEXT NOT NULL DEFAULT '',
  mime_type       TEXT NOT NULL DEFAULT 'application/octet-stream',
  size            INTEGER NOT NULL DEFAULT 0,
  part_path       TEXT NOT NULL DEFAULT '',
  content_id      TEXT,
  is_inline       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_message ON attachments (message_id);

-- Addresses seen in mail, for completion in the composer.
CREATE TABLE addresses (
  address         TEXT PRIMARY KEY,
  name            TEXT NOT NULL DEFAULT '',
  use_count       INTEGER NOT NULL DEFAULT 0,
  last_used       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Outgoing mail waiting for SMTP.  The raw message is in the bodies
-- database before the first byte is sent.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  account         TEXT NOT NULL,
  identity        TEXT,
  body_id         INTEGER NOT NULL,
  recipients      TEXT NOT NULL,
  state           INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  created         INTEGER NOT NULL,
  send_after      INTEGER NOT NULL DEFAULT 0,
  next_attempt    INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT
);

-- Changes made while offline (or not yet replayed), in the order made.
CREATE TABLE pending_actions (
  id              INTEGER PRIMARY KEY,
  account         TEXT NOT NULL,
  folder_id       INTEGER,
  kind            INTEGER NOT NULL,
  message_ids     TEXT NOT NULL,
  argument        TEXT,
  created         INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT
);
CREATE INDEX pending_actions_account ON pending_actions (account, id);

-- The search index keeps neither the text (content = '') nor word
-- positions (detail = column): less than half the size, and faster to fill.
-- Removing a message's words takes its text again, made from its body.
CREATE VIRTUAL TABLE message_fts USING fts5 (
  subject, sender, recipients, body, attachments,
  tokenize = 'unicode61 remove_diacritics 2',
  content = '',
  detail = column
);

-- Folder counts follow the messages.  Adding mail updates them once a
-- batch, in the store's code; these triggers follow every later change.
-- A message is unread when it is neither seen (1) nor deleted (8).

CREATE TRIGGER messages_after_delete AFTER DELETE ON messages BEGIN
  UPDATE folders
     SET total = total - 1, unread = unread - ((OLD.flags & 9) = 0)
   WHERE id = OLD.folder_id;
END;

CREATE TRIGGER messages_after_flags AFTER UPDATE OF flags ON messages
  WHEN ((OLD.flags & 9) = 0) != ((NEW.flags & 9) = 0)
BEGIN
  UPDATE folders
     SET unread = unread - ((OLD.flags & 9) = 0) + ((NEW.flags & 9) = 0)
   WHERE id = NEW.folder_id;
END;

CREATE TRIGGER messages_after_move AFTER UPDATE OF folder_id ON messages
  WHEN OLD.folder_id != NEW.folder_id
BEGIN
  UPDATE folders
     SET total = total - 1, unread = unread - ((OLD.flags & 9) = 0)
   WHERE id = OLD.folder_id;
  UPDATE folders
     SET total = total + 1, unread = unread + ((NEW.flags & 9) = 0)
   WHERE id = NEW.folder_id;
END;

CREATE TRIGGER folders_after_role AFTER UPDATE OF role ON folders BEGIN
  UPDATE messages SET folder_role = NEW.role WHERE folder_id = NEW.id;
END;
