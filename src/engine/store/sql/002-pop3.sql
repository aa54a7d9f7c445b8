-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- What Tern knows of the messages of POP3 mailboxes, by the server's unique
-- id (UIDL): which are safe in the store, since when, and which the user
-- deleted here.  A row in state 1 means the message is committed and synced
-- in the store, so the server's copy may go; it is written in the same
-- transaction as the message's index row.
--
-- state 0 (storing): written before the body, with the id the body will
-- get and its checksum, so that a crash between the body's commit and the
-- index's commit is resolved on the next run (the body is there and
-- matches: stored; else: forgotten and downloaded again).
CREATE TABLE pop3_uidls (
  account         TEXT NOT NULL,
  uidl            TEXT NOT NULL,
  state           INTEGER NOT NULL DEFAULT 0,
  message_id      INTEGER,
  checksum        TEXT,
  first_seen      INTEGER NOT NULL,
  deleted_here    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (account, uidl)
) WITHOUT ROWID;
CREATE INDEX pop3_uidls_message ON pop3_uidls (message_id);
