#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that po/POTFILES.in lists every file with translatable strings.

Usage: check-potfiles.py SOURCE-ROOT

A string marked for translation in a file that POTFILES.in does not list
never reaches translators, and a listed file that no longer exists breaks
`meson compile tern-pot`.  This looks at:

  src/**/*.c, src/**/*.h   calls of _(), N_(), C_(), NC_() and the
                           g_d*gettext() family
  ui/**/*.ui               translatable="yes" (or "true", "1")
  data/**/*.desktop.in, *.metainfo.xml.in, *.gschema.xml.in
                           always: their names, summaries and descriptions
                           are translated

Files in po/POTFILES.skip are not asked for (say, a file whose only "_("
is in a comment).
"""

import pathlib
import re
import sys

C_MARK = re.compile(
    r"(?<![A-Za-z0-9_])"
    r"(?:_|N_|C_|NC_|g_dgettext|g_dngettext|g_dpgettext|g_dpgettext2|g_dcgettext"
    r"|gettext|ngettext|pgettext)"
    r"\s*\(")
UI_MARK = re.compile(r"""translatable\s*=\s*["'](?:yes|true|1)["']""", re.IGNORECASE)
DATA_SUFFIXES = (".desktop.in", ".metainfo.xml.in", ".gschema.xml.in")


def read_list(path):
    """Return the entries of a POTFILES-style list, with their line numbers."""
    entries = []
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append((number, line))
    return entries


def has_translatable_strings(path):
    name = path.name
    if name.endswith(DATA_SUFFIXES):
        return True
    text = path.read_text(encoding="utf-8", errors="replace")
    if name.endswith(".ui"):
        return UI_MARK.search(text) is not None
    return C_MARK.search(text) is not None


def candidates(root):
    patterns = [
        ("src", "*.c"),
        ("src", "*.h"),
        ("ui", "*.ui"),
    ]
    patterns += [("data", "*" + suffix) for suffix in DATA_SUFFIXES]
    for folder, pattern in patterns:
        base = root / folder
        if base.is_dir():
            yield from sorted(base.rglob(pattern))


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1]).resolve()
    potfiles = root / "po" / "POTFILES.in"
    skipfile = root / "po" / "POTFILES.skip"

    if not potfiles.exists():
        print(f"FAIL: {potfiles} does not exist", file=sys.stderr)
        return 1

    problems = []
    listed = {}
    for number, entry in read_list(potfiles):
        if entry in listed:
            problems.append(f"po/POTFILES.in:{number}: {entry} is listed twice")
        listed[entry] = number
        if not (root / entry).is_file():
            problems.append(f"po/POTFILES.in:{number}: {entry} does not exist")

    skipped = {}
    for number, entry in read_list(skipfile):
        skipped[entry] = number
        if not (root / entry).is_file():
            problems.append(f"po/POTFILES.skip:{number}: {entry} does not exist")
        if entry in listed:
            problems.append(f"po/POTFILES.skip:{number}: {entry} is also in POTFILES.in")

    checked = 0
    for path in candidates(root):
        checked += 1
        relative = path.relative_to(root).as_posix()
        if relative in listed or relative in skipped:
            continue
        if has_translatable_strings(path):
            problems.append(f"{relative} has translatable strings but is not in po/POTFILES.in")

    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1

    print(f"po/POTFILES.in lists {len(listed)} files; {checked} source files checked")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
