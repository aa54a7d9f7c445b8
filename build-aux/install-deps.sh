#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs the Debian packages Tern needs, and nothing when they are all
# present already.  "build" is what `make run` needs; "test" adds what
# `make check` needs: the mail servers, Xvfb, the accessibility stack and the
# validators; "bench" adds the peers `make bench` measures Tern against.  Runs apt-get through sudo when not root.
set -eu

BUILD_PKGS="
  meson ninja-build pkg-config gcc gettext itstool
  libglib2.0-dev libglib2.0-bin glib-networking
  libgtk-4-dev libadwaita-1-dev libwebkitgtk-6.0-dev libsoup-3.0-dev
  libgnutls28-dev libsecret-1-dev libsqlite3-dev libgmime-3.0-dev libjson-glib-dev libzstd-dev
  libfribidi-dev
  libgoa-1.0-dev
  desktop-file-utils appstream
"

TEST_PKGS="
  dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix openssl
  xvfb xauth dbus dbus-x11 at-spi2-core python3 python3-pyatspi python3-gi
  gir1.2-atspi-2.0 gnome-keyring libsecret-tools gnome-online-accounts python3-dbus gdb
  imagemagick yelp-tools clang libclang-rt-14-dev
"

# The mail programs the benchmarks run side by side with Tern.
BENCH_PKGS="
  fetchmail msmtp isync
"

mode="${1:-build}"
case "$mode" in
  build) wanted="$BUILD_PKGS" ;;
  test) wanted="$BUILD_PKGS $TEST_PKGS" ;;
  bench) wanted="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS" ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=""
for pkg in $wanted; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "installed" ]; then
    missing="$missing $pkg"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

echo "Installing missing packages:$missing"

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
else
  SUDO="sudo"
fi

# The mail servers are started by the test suite under a temporary folder;
# their packaged system services must not start on installation.  A
# policy-rc.d that refuses every start does that for the time of the install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  own_policy=1
fi
cleanup() {
  if [ "$own_policy" -eq 1 ]; then
    $SUDO rm -f "$policy"
  fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it is used; "No configuration" leaves /etc/postfix alone.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections

if ! $SUDO apt-get install -y --no-install-recommends $missing; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends $missing
fi
