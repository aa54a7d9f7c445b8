#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# OAuth2 accounts through tern-cli, end to end with real parts: a local
# OAuth2 provider (tests/servers/tern_test_oauth2.py), the real Dovecot of
# tests/servers/ checking every token by introspection at that provider,
# Postfix submission checking through Dovecot, and a real GNOME Keyring
# (run under tern-test-keyring.sh, then "tern-test-servers run --tap").
# "account add --oauth2 custom" signs in through $BROWSER (a script playing
# the user's browser); send, sync and fetch log in with XOAUTH2/OAUTHBEARER;
# a revoked sign-in fails cleanly; "account remove" asks first, then takes
# the account's mail and refresh token and leaves other accounts' mail.

set -u
CLI="$1"
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/tern-cli-oauth2-XXXXXX")
OAUTH_PID=""
cleanup () {
  if [ -n "$OAUTH_PID" ]; then kill "$OAUTH_PID" 2>/dev/null; wait "$OAUTH_PID" 2>/dev/null; fi
  rm -rf "$ROOT"
}
trap cleanup EXIT
echo "1..12"

PY="${TERN_TEST_SERVERS_PYTHON:-/usr/bin/python3}"
"$PY" "$(dirname "$TERN_TEST_SERVERS_CTL")/tern_test_oauth2.py" --port-file "$ROOT/oauth2.port" \
  > "$ROOT/oauth2.log" 2>&1 &
OAUTH_PID=$!
for i in $(seq 1 100); do [ -s "$ROOT/oauth2.port" ] && break; sleep 0.05; done
PORT=$(cat "$ROOT/oauth2.port")
ISSUER="http://127.0.0.1:$PORT"
if ! "$PY" "$TERN_TEST_SERVERS_CTL" oauth2 "$ISSUER/introspect" > "$ROOT/ctl.out" 2>&1; then
  echo "Bail out! Dovecot would not take the oauth2 passdb: $(cat "$ROOT/ctl.out")"
  exit 1
fi

# The "browser": opens the page, whose redirect goes to tern-cli's loopback
# server, as a user's browser does after they agree.
cat > "$ROOT/browser" <<SH
#!/bin/sh
exec "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20).read()' "\$1" >> "$ROOT/browser.log" 2>&1
SH
chmod +x "$ROOT/browser"
export BROWSER="$ROOT/browser"

tern () { "$CLI" --data-dir "$ROOT" "$@"; }
stat_of () { "$PY" -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))[sys.argv[2]])' "$ISSUER" "$1"; }
post () { "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], data=b"")' "$ISSUER/$1"; }
OAUTH="--oauth2 custom --oauth2-authorization-uri $ISSUER/authorize --oauth2-token-uri $ISSUER/token --oauth2-client-id tern-test-client --oauth2-scope mail"
H="$TERN_TEST_HOST"

# 1: the sign-in
if tern account add --email "$TERN_TEST_USER1" --name alice --imap "$H:$TERN_TEST_IMAPS_PORT" \
     --smtp "$H:$TERN_TEST_SMTPS_PORT" --security tls $OAUTH > "$ROOT/add.out" 2>&1 &&
   grep -q "$ISSUER/authorize?" "$ROOT/add.out" && grep -q "Signed in" "$ROOT/add.out" &&
   [ "$(stat_of code)" = 1 ]; then
  echo "ok 1 account add --oauth2 prints the address, opens \$BROWSER and signs in"
else
  echo "not ok 1 account add --oauth2 prints the address, opens \$BROWSER and signs in"
  sed 's/^/# /' "$ROOT/add.out" "$ROOT/browser.log" 2>/dev/null
fi
ID=$(tern account list 2>/dev/null | awk 'NR==1 {print $1}')
FILE="$ROOT/config/accounts/$ID.ini"

# 2: the file names the provider, the keyring holds the refresh token
if grep -q '^Auth=oauth2' "$FILE" && grep -q "^TokenURI=$ISSUER/token" "$FILE" &&
   ! grep -q 'rt-\|at-' "$FILE" &&
   secret-tool lookup account "$ID" kind oauth2-refresh-token | grep -q '^rt-'; then
  echo "ok 2 the account file has the provider and no token; the keyring has the refresh token"
else
  echo "not ok 2 the account file has the provider and no token; the keyring has the refresh token"
  sed 's/^/# /' "$FILE"
fi

tern trust "$H:$TERN_TEST_IMAPS_PORT" --starttls none --yes > /dev/null 2>&1
NET="--ca-file $TERN_TEST_CA_FILE"

# 3: SMTP with a token, through Postfix asking Dovecot
if printf 'Signed in with OAuth2.\n' |
   tern send --account "$ID" --to "$TERN_TEST_USER1" --to "$TERN_TEST_USER2" \
     --subject "OAuth2 round trip" $NET > "$ROOT/send.out" 2>&1 &&
   grep -q "1 sent" "$ROOT/send.out"; then
  echo "ok 3 send logs in to submission with an access token"
else
  echo "not ok 3 send logs in to submission with an access token"; sed 's/^/# /' "$ROOT/send.out"
fi

# 4: IMAP with a token
got=0
for i in $(seq 1 50); do
  tern sync "$ID" > "$ROOT/sync.out" 2>&1 || break
  if tern list "$ID:INBOX" 2>/dev/null | grep -q "OAuth2 round trip"; then got=1; break; fi
  sleep 0.2
done
if [ $got = 1 ]; then
  echo "ok 4 sync logs in to IMAP with an access token and gets the message"
else
  echo "not ok 4 sync logs in to IMAP with an access token and gets the message"
  sed 's/^/# /' "$ROOT/sync.out"
fi

# 5: every run got its access token with the refresh token
if [ "$(stat_of refresh)" -ge 2 ] && [ "$(stat_of code)" = 1 ]; then
  echo "ok 5 send and sync refresh the access token; no new sign-in"
else
  echo "not ok 5 send and sync refresh the access token; no new sign-in # refresh=$(stat_of refresh)"
fi

# 6: POP3 with a token (bob's account, signed in as bob)
if tern account add --email "$TERN_TEST_USER2" --name bob --pop3 "$H:$TERN_TEST_POP3S_PORT" \
     --smtp "$H:$TERN_TEST_SMTPS_PORT" --security tls $OAUTH > "$ROOT/add-bob.out" 2>&1; then
  BOB=$(tern account list 2>/dev/null | awk '$1 != "'"$ID"'" {print $1; exit}')
  got=0
  for i in $(seq 1 50); do
    tern fetch "$BOB" $NET > "$ROOT/fetch.out" 2>&1 || break
    if tern list "$BOB:INBOX" 2>/dev/null | grep -q "OAuth2 round trip"; then got=1; break; fi
    sleep 0.2
  done
else
  got=0; BOB=""
fi
if [ $got = 1 ]; then
  echo "ok 6 fetch logs in to POP3 with an access token and downloads the message"
else
  echo "not ok 6 fetch logs in to POP3 with an access token and downloads the message"
  sed 's/^/# /' "$ROOT/add-bob.out" "$ROOT/fetch.out"
fi

# 7: the user withdrew Tern's access: a clear error, mail kept
post revoke-refresh-tokens
if ! tern sync "$ID" > "$ROOT/sync-revoked.out" 2>&1 &&
   grep -q "OAuth2 access token" "$ROOT/sync-revoked.out" &&
   grep -q "invalid_grant" "$ROOT/sync-revoked.out" &&
   tern list "$ID:INBOX" 2>/dev/null | grep -q "OAuth2 round trip"; then
  echo "ok 7 a revoked sign-in fails with the provider's reason; the mail stays"
else
  echo "not ok 7 a revoked sign-in fails with the provider's reason; the mail stays"
  sed 's/^/# /' "$ROOT/sync-revoked.out"
fi

# 8: a new sign-in brings the account back
if tern account edit "$ID" --oauth2-sign-in > "$ROOT/edit.out" 2>&1 &&
   tern sync "$ID" > "$ROOT/sync-again.out" 2>&1; then
  echo "ok 8 account edit --oauth2-sign-in signs in again and sync works"
else
  echo "not ok 8 account edit --oauth2-sign-in signs in again and sync works"
  sed 's/^/# /' "$ROOT/edit.out" "$ROOT/sync-again.out"
fi

# 9: remove refuses without a confirmation and changes nothing
if ! tern account remove "$ID" < /dev/null > "$ROOT/remove-no.out" 2>&1 &&
   grep -q -- "--yes" "$ROOT/remove-no.out" && [ -f "$FILE" ] &&
   tern list "$ID:INBOX" 2>/dev/null | grep -q "OAuth2 round trip"; then
  echo "ok 9 account remove without --yes or a terminal refuses and keeps everything"
else
  echo "not ok 9 account remove without --yes or a terminal refuses and keeps everything"
  sed 's/^/# /' "$ROOT/remove-no.out"
fi

# 10-12: remove --yes takes the settings, the mail and the refresh token
tern account remove "$ID" --yes > "$ROOT/remove.out" 2>&1
if [ ! -f "$FILE" ] && ! tern list "$ID:INBOX" > /dev/null 2>&1 &&
   [ "$(tern folders 2>/dev/null | grep -c "^$ID:")" = 0 ]; then
  echo "ok 10 account remove --yes removes the account and its folders and mail"
else
  echo "not ok 10 account remove --yes removes the account and its folders and mail"
  sed 's/^/# /' "$ROOT/remove.out"; tern folders | sed 's/^/# /'
fi
if [ -z "$(secret-tool lookup account "$ID" kind oauth2-refresh-token)" ]; then
  echo "ok 11 account remove --yes removes the refresh token from the keyring"
else
  echo "not ok 11 account remove --yes removes the refresh token from the keyring"
fi
if [ -n "$BOB" ] && tern list "$BOB:INBOX" 2>/dev/null | grep -q "OAuth2 round trip" &&
   secret-tool lookup account "$BOB" kind oauth2-refresh-token | grep -q '^rt-'; then
  echo "ok 12 the other account's mail and refresh token stay"
else
  echo "not ok 12 the other account's mail and refresh token stay"
fi

"$PY" "$TERN_TEST_SERVERS_CTL" oauth2 --reset > /dev/null 2>&1
exit 0
