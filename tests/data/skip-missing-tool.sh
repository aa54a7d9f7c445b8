#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Stands in for a data test whose tool is not installed: meson reports the
# test as skipped (exit status 77) and says which tool to install.
echo "SKIP: $1 is not installed${2:+ (Debian package: $2)}"
exit 77
