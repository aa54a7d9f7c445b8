#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Extract Tern's strings the way `meson compile tern-pot` does, into a
temporary folder, and check the result.

Usage: check-pot-extract.py XGETTEXT SOURCE-ROOT

Fails when xgettext fails or warns, or when a file listed in
po/POTFILES.in gives no string at all: xgettext skips, without a word, a
file whose format it does not recognize, and its strings would then never
reach translators.
"""

import pathlib
import re
import subprocess
import sys
import tempfile

# The keywords and format flags that po/meson.build gets from meson's "glib"
# gettext preset, so that this run finds what `meson compile tern-pot` finds.
XGETTEXT_ARGS = [
    "--from-code=UTF-8",
    "--add-comments",
    "--keyword=_",
    "--keyword=N_",
    "--keyword=C_:1c,2",
    "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2",
    "--keyword=g_dngettext:2,3",
    "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format",
    "--flag=C_:2:pass-c-format",
    "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format",
    "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format",
    "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format",
    "--flag=g_set_error:4:c-format",
    "--flag=g_printerr:1:c-format",
    "--flag=g_print:1:c-format",
]

REFERENCE = re.compile(r"^#: (.*)$", re.MULTILINE)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    xgettext, root = argv[1], pathlib.Path(argv[2]).resolve()
    potfiles = root / "po" / "POTFILES.in"

    listed = []
    for line in potfiles.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            listed.append(line)

    with tempfile.TemporaryDirectory(prefix="tern-pot-") as tmp:
        pot = pathlib.Path(tmp) / "tern.pot"
        command = [xgettext, "--package-name=tern", f"--files-from={potfiles}",
                   f"--directory={root}", f"--output={pot}"] + XGETTEXT_ARGS
        result = subprocess.run(command, capture_output=True, text=True)
        if result.stderr:
            print(result.stderr, file=sys.stderr, end="")
        if result.returncode != 0:
            print(f"FAIL: xgettext exited with status {result.returncode}", file=sys.stderr)
            return 1
        if result.stderr:
            print("FAIL: xgettext warned about the sources (above)", file=sys.stderr)
            return 1
        text = pot.read_text(encoding="utf-8") if pot.exists() else ""

    referenced = set()
    for refs in REFERENCE.findall(text):
        for ref in refs.split():
            referenced.add(ref.rsplit(":", 1)[0])

    silent = [entry for entry in listed if entry not in referenced]
    for entry in silent:
        print(f"FAIL: xgettext found no string in {entry}", file=sys.stderr)
    if silent:
        return 1

    print(f"{text.count('msgid ') - 1} strings from {len(listed)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
