#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The whole test suite: every suite of the development build, then the engine
# suite again in a build with AddressSanitizer and UndefinedBehaviorSanitizer.
# Prints one closing line, "check: N passed, N failed, N skipped", and exits
# non-zero when anything failed.
set -u

BUILDDIR="${BUILDDIR:-_build}"
ASAN_BUILDDIR="${ASAN_BUILDDIR:-_build-asan}"
MESON="${MESON:-meson}"
PYTHON=/usr/bin/python3

status=0
start=$(date +%s)

$MESON compile -C "$BUILDDIR" || exit 1
$MESON test -C "$BUILDDIR" --print-errorlogs --num-processes 2 || status=1

if [ ! -f "$ASAN_BUILDDIR/build.ninja" ]; then
  $MESON setup "$ASAN_BUILDDIR" -Dprofile=development -Dapp=false --werror \
    -Db_sanitize=address,undefined -Db_lundef=false || exit 1
fi
$MESON compile -C "$ASAN_BUILDDIR" || exit 1
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
LSAN_OPTIONS="suppressions=$(pwd)/build-aux/lsan.supp:print_suppressions=0" \
  $MESON test -C "$ASAN_BUILDDIR" --suite engine --print-errorlogs --num-processes 2 || status=1

end=$(date +%s)
echo "The suite took $((end - start)) s."

$PYTHON build-aux/test-summary.py \
  "$BUILDDIR/meson-logs/testlog.json" \
  "$ASAN_BUILDDIR/meson-logs/testlog.json" || status=1

exit $status
