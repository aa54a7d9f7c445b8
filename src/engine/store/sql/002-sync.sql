-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Schema version 2: what IMAP folder sync keeps beside the messages.

-- The folder's name exactly as its server spells it (NULL for folders that
-- never came from a server), for the commands that name it.
ALTER TABLE folders ADD COLUMN remote_name TEXT;

-- A queued action names its messages by store id (message_ids) and by
-- their UIDs in the folder they were in (uids, in the same order): a move
-- takes a message's UID away locally at once, but the server still needs
-- it.  A move, copy or archive goes to target_id; a flag change sets
-- flags_add and clears flags_remove.
ALTER TABLE pending_actions ADD COLUMN uids TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_actions ADD COLUMN target_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pending_actions ADD COLUMN flags_add INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pending_actions ADD COLUMN flags_remove INTEGER NOT NULL DEFAULT 0;
CREATE INDEX pending_actions_folder ON pending_actions (folder_id);
