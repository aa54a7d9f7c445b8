#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# tern-cli bench imap against the test harness's own Dovecot over IMAPS,
# with a generated INBOX of COUNT messages (20000 unless given):
#   sh build-aux/bench-imap.sh [COUNT] [more tern-cli bench imap options]

set -e

BUILDDIR=${BUILDDIR:-_build}
COUNT=${1:-20000}
[ $# -gt 0 ] && shift
TERN_CLI="$(pwd)/$BUILDDIR/src/cli/tern-cli"
export TERN_CLI COUNT

exec /usr/bin/python3 tests/servers/tern-test-servers run --no-smtp -- sh -c '
  "$TERN_TEST_SERVERS_PYTHON" "$TERN_TEST_SERVERS_CTL" load-mailbox \
    --user "$TERN_TEST_USER1" --folder INBOX --count "$COUNT" >/dev/null
  exec "$TERN_CLI" bench imap --host "$TERN_TEST_HOSTNAME" --port "$TERN_TEST_IMAPS_PORT" \
    --user "$TERN_TEST_USER1" --password "$TERN_TEST_PASSWORD1" \
    --ca-file "$TERN_TEST_CA_FILE" "$@"' bench-imap "$@"
