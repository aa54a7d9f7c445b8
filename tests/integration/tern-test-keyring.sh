#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs a test program against a real GNOME Keyring in a private D-Bus
# session: a session bus of its own on a socket in a temporary folder, and
# a gnome-keyring-daemon unlocked with a known password, with HOME and the
# XDG folders pointing into the same temporary folder, so that neither the
# user's keyring nor their session bus is ever touched.  Both daemons are
# stopped by their process ids when the program ends.
#
# Usage: tern-test-keyring.sh PROGRAM [ARGUMENT...]
# Without dbus-daemon or gnome-keyring-daemon, reports a TAP skip.

set -u

if ! command -v dbus-daemon >/dev/null 2>&1 ||
   ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  echo "1..0 # SKIP dbus-daemon or gnome-keyring-daemon is not installed"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-keyring-XXXXXX") || exit 1
dbus_pid=""
keyring_pid=""

cleanup() {
  if [ -n "$keyring_pid" ]; then
    kill "$keyring_pid" 2>/dev/null
    wait "$keyring_pid" 2>/dev/null
  fi
  if [ -n "$dbus_pid" ]; then
    kill "$dbus_pid" 2>/dev/null
    wait "$dbus_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export HOME="$tmp/home"
export XDG_DATA_HOME="$tmp/data"
export XDG_CONFIG_HOME="$tmp/config"
export XDG_CACHE_HOME="$tmp/cache"
export XDG_RUNTIME_DIR="$tmp/runtime"
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK

cat > "$tmp/session.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/runtime/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

dbus-daemon --config-file="$tmp/session.conf" --nofork --nopidfile \
  >"$tmp/dbus.log" 2>&1 &
dbus_pid=$!
export DBUS_SESSION_BUS_ADDRESS="unix:path=$tmp/runtime/bus"

i=0
while [ ! -S "$tmp/runtime/bus" ]; do
  i=$((i + 1))
  if [ "$i" -gt 100 ] || ! kill -0 "$dbus_pid" 2>/dev/null; then
    echo "Bail out! the private D-Bus session did not start: $(cat "$tmp/dbus.log")"
    exit 1
  fi
  sleep 0.05
done

# --unlock reads the login keyring's password from stdin and creates the
# keyring with it; --foreground keeps the daemon our child, with a known pid.
printf '%s' "tern-test-keyring-password" |
  gnome-keyring-daemon --foreground --unlock --components=secrets \
  >"$tmp/keyring.out" 2>"$tmp/keyring.log" &
keyring_pid=$!

i=0
while ! dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
          org.freedesktop.DBus.GetNameOwner string:org.freedesktop.secrets \
          >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 200 ] || ! kill -0 "$keyring_pid" 2>/dev/null; then
    echo "Bail out! gnome-keyring-daemon did not start: $(cat "$tmp/keyring.log")"
    exit 1
  fi
  sleep 0.05
done

"$@"
status=$?
exit "$status"
