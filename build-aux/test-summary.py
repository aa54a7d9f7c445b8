#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Adds up meson's test logs into one closing line.

Each TAP test counts by its subtests ("ok", "not ok", "# SKIP"); any other
test counts as one.  Names every failed test and subtest first, so the end of the output says
what broke, then prints "check: N passed, N failed, N skipped" and exits 1
when anything failed or a log is missing.
"""

import json
import re
import sys

TAP_LINE = re.compile(r"^(not ok|ok)\b[^#]*(#\s*(\w+))?", re.IGNORECASE)


def count_tap(stdout, failures):
    passed = failed = skipped = 0
    for line in stdout.splitlines():
        match = TAP_LINE.match(line.strip())
        if not match:
            continue
        directive = (match.group(3) or "").upper()
        if directive == "SKIP":
            skipped += 1
        elif match.group(1).lower() == "ok" or directive == "TODO":
            passed += 1
        else:
            failed += 1
            failures.append(line.strip())
    return passed, failed, skipped


def main(paths):
    passed = failed = skipped = 0
    ok = True
    failed_tests = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as log:
                entries = [json.loads(line) for line in log if line.strip()]
        except OSError as error:
            print(f"test-summary: cannot read {path}: {error}", file=sys.stderr)
            ok = False
            continue
        for entry in entries:
            result = entry.get("result", "")
            failures = []
            p, f, s = count_tap(entry.get("stdout") or "", failures)
            if p + f + s == 0:
                if result in ("OK", "EXPECTEDFAIL"):
                    p = 1
                elif result == "SKIP":
                    s = 1
                else:
                    f = 1
            elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and f == 0:
                # The test died, timed out or exited non-zero after reporting.
                f = 1
            if f:
                name = entry.get("name", "?")
                where = path.split("/meson-logs/")[0]
                failed_tests.append(f"{where}: {name}: {result}")
                failed_tests.extend(f"    {line}" for line in failures)
            passed += p
            failed += f
            skipped += s
    if failed_tests:
        print("Failed:")
        for line in failed_tests:
            print(f"  {line}")
    print(f"check: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
