-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- The delivery status notifications (RFC 3461) asked for each queued
-- message: dsn_notify holds TernSmtpDsnNotify bits (0: none asked), dsn_ret
-- a TernSmtpDsnRet (0: the server's default).  Rows queued before have
-- neither.
ALTER TABLE outbox ADD COLUMN dsn_notify INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN dsn_ret INTEGER NOT NULL DEFAULT 0;
