#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: check-metainfo.sh APPSTREAMCLI METAINFO-FILE
#
# Validates the built metainfo file offline.  appstreamcli fails on errors
# and warnings only; software centres show the metadata that the "info"
# hints are about (a summary ending in a dot, an unknown tag), so this test
# fails on those as well.  Pedantic hints are shown but do not fail it.
set -u

appstreamcli="$1"
metainfo="$2"

output=$("$appstreamcli" validate --no-net --explain "$metainfo" 2>&1)
status=$?
printf '%s\n' "$output"

if [ "$status" -ne 0 ]; then
  echo "FAIL: appstreamcli validate exited with status $status" >&2
  exit 1
fi

if printf '%s\n' "$output" | grep -q '^I:'; then
  echo "FAIL: appstreamcli validate reported hints (lines starting with I:)" >&2
  exit 1
fi

exit 0
