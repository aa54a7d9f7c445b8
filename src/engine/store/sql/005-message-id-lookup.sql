-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Schema version 5: a message is found by its Message-ID through its
-- conversation (message_ids names the conversation of every ID, and
-- messages_conversation lists a conversation's messages), so the index on
-- messages (message_id), written for every message added, goes.
DROP INDEX IF EXISTS messages_message_id;
