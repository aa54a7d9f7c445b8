#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# tern-cli send, fetch and outbox against the real Postfix and Dovecot of
# tests/servers/ (run under "tern-test-servers run --tap"): alice sends bob
# a message with an attachment; bob's POP3 account downloads it; alice's
# copy is in her Sent folder and the outbox is empty.  TAP output.

set -u
CLI="$1"
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/tern-cli-mail-XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/config/accounts"
echo "1..5"

account () { # ID USER PASSWORD
  printf '%s' "$3" > "$ROOT/$1.password"
  cat > "$ROOT/config/accounts/$1.ini" <<INI
[Account]
Name=$1

[Receiving]
Protocol=pop3
Host=$TERN_TEST_HOST
Port=$TERN_TEST_POP3_PORT
Security=starttls
Username=$2
PasswordCommand=cat '$ROOT/$1.password'

[Sending]
Host=$TERN_TEST_HOST
Port=$TERN_TEST_SUBMISSION_PORT
Security=starttls
Username=$2
PasswordCommand=cat '$ROOT/$1.password'

[POP3]
AfterDownload=delete

[Identity 1]
Name=$1 Tester
Address=$2
Default=true
INI
}

account alice "$TERN_TEST_USER1" "$TERN_TEST_PASSWORD1"
account bob "$TERN_TEST_USER2" "$TERN_TEST_PASSWORD2"
head -c 20000 /dev/urandom > "$ROOT/blob.bin"
tern () { "$CLI" --data-dir "$ROOT" "$@"; }
NET="--ca-file $TERN_TEST_CA_FILE --local-address $TERN_TEST_REMOTE_CLIENT_ADDRESS"

if printf 'Hello Bob,\nthe file is attached.\n' |
   tern send --account alice --to "$TERN_TEST_USER2" --subject "CLI round trip" \
     --attach "$ROOT/blob.bin" $NET > "$ROOT/send.out" 2>&1 &&
   grep -q "1 sent" "$ROOT/send.out"; then
  echo "ok 1 send queues and sends through submission"
else
  echo "not ok 1 send queues and sends through submission"; sed 's/^/# /' "$ROOT/send.out"
fi

got=0
for i in $(seq 1 100); do
  tern fetch bob $NET --json > "$ROOT/fetch.out" 2>&1
  if grep -q '"downloaded" : [1-9]' "$ROOT/fetch.out"; then got=1; break; fi
  sleep 0.2
done
if [ $got = 1 ]; then
  echo "ok 2 fetch downloads the message"
else
  echo "not ok 2 fetch downloads the message"; sed 's/^/# /' "$ROOT/fetch.out"
fi

if tern list bob:INBOX | grep -q "CLI round trip"; then
  echo "ok 3 the message is in bob's Inbox"
else
  echo "not ok 3 the message is in bob's Inbox"
fi

if tern list alice:Sent | grep -q "CLI round trip"; then
  echo "ok 4 alice's copy is in her Sent folder"
else
  echo "not ok 4 alice's copy is in her Sent folder"; tern folders | sed 's/^/# /'
fi

if [ "$(tern outbox --json | tr -d ' \n')" = "[]" ]; then
  echo "ok 5 the outbox is empty"
else
  echo "not ok 5 the outbox is empty"; tern outbox | sed 's/^/# /'
fi
