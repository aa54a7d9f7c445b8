#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check Tern's Flatpak manifest without building it.

Usage: check-flatpak-manifest.py MANIFEST APP-ID

flatpak-builder cannot run in the test environment, so this reads the
manifest as JSON and checks what a build of Tern depends on: the app ID, the
GNOME runtime, the command, GMime built before Tern, Tern built with meson
in the development profile, and a sandbox that does not reach into the
user's files (Tern saves attachments through the file chooser portal).
"""

import json
import sys

REQUIRED_FINISH_ARGS = (
    "--share=ipc",
    "--share=network",
    "--socket=wayland",
    "--socket=fallback-x11",
    "--device=dri",
)

FORBIDDEN_FINISH_ARGS = (
    # fallback-x11 gives X11 only where there is no Wayland.
    "--socket=x11",
    "--socket=session-bus",
    "--socket=system-bus",
    "--device=all",
)


def check_source(module_name, source, problems):
    kind = source.get("type")
    where = f"module {module_name!r}: {kind or 'untyped'} source"
    if kind == "git":
        if not source.get("url"):
            problems.append(f"{where} has no url")
        if not any(source.get(key) for key in ("tag", "commit", "branch")):
            problems.append(f"{where} names no tag, commit or branch")
    elif kind in ("archive", "file"):
        if not source.get("url") and not source.get("path"):
            problems.append(f"{where} has no url or path")
        if source.get("url") and not source.get("sha256"):
            problems.append(f"{where} downloads {source['url']} without a sha256")
    elif kind == "dir":
        if not source.get("path"):
            problems.append(f"{where} has no path")
    elif kind is None:
        problems.append(f"{where} has no type")


def check_manifest(manifest, app_id):
    problems = []

    def expect(key, wanted):
        value = manifest.get(key)
        if value != wanted:
            problems.append(f"{key} is {value!r}, expected {wanted!r}")

    expect("app-id", app_id)
    expect("runtime", "org.gnome.Platform")
    expect("sdk", "org.gnome.Sdk")
    expect("command", "tern")

    version = manifest.get("runtime-version")
    if not isinstance(version, str) or not version:
        problems.append(f"runtime-version is {version!r}, expected a version such as \"47\"")

    finish_args = manifest.get("finish-args", [])
    if not isinstance(finish_args, list):
        problems.append("finish-args is not a list")
        finish_args = []
    for arg in REQUIRED_FINISH_ARGS:
        if arg not in finish_args:
            problems.append(f"finish-args lacks {arg}")
    for arg in finish_args:
        if arg in FORBIDDEN_FINISH_ARGS:
            problems.append(f"finish-args has {arg}")
        if arg.startswith("--filesystem="):
            problems.append(f"finish-args has {arg}; Tern opens and saves files through the "
                            "file chooser portal and needs no file system access")

    modules = manifest.get("modules")
    if not isinstance(modules, list) or not modules:
        problems.append("modules is missing or empty")
        return problems

    names = []
    for module in modules:
        if isinstance(module, str):
            # A module kept in a file of its own; it is not Tern's or GMime's.
            names.append(module)
            continue
        name = module.get("name")
        names.append(name)
        if not name:
            problems.append("a module has no name")
            continue
        sources = module.get("sources")
        if not isinstance(sources, list) or not sources:
            problems.append(f"module {name!r} has no sources")
            continue
        for source in sources:
            if isinstance(source, dict):
                check_source(name, source, problems)

    if "gmime" not in names:
        problems.append("no module named 'gmime'; the GNOME runtime does not ship GMime")
    if names[-1] != "tern":
        problems.append(f"the last module is {names[-1]!r}, expected 'tern'")
    elif "gmime" in names and names.index("gmime") > names.index("tern"):
        problems.append("gmime is built after tern")

    tern = modules[-1] if isinstance(modules[-1], dict) else {}
    if tern.get("name") == "tern":
        if tern.get("buildsystem") != "meson":
            problems.append(f"tern's buildsystem is {tern.get('buildsystem')!r}, expected 'meson'")
        config_opts = tern.get("config-opts", [])
        for opt in ("-Dprofile=development", "-Dtests=false"):
            if opt not in config_opts:
                problems.append(f"tern's config-opts lack {opt}")
        dirs = [s for s in tern.get("sources", [])
                if isinstance(s, dict) and s.get("type") == "dir"]
        if not any(s.get("path") == ".." for s in dirs):
            problems.append("tern is not built from the source tree (a dir source with path '..')")

    return problems


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, app_id = argv[1], argv[2]

    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except json.JSONDecodeError as e:
        print(f"FAIL: {path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"FAIL: cannot read {path}: {e.strerror}", file=sys.stderr)
        return 1

    if not isinstance(manifest, dict):
        print(f"FAIL: {path}: the manifest is not a JSON object", file=sys.stderr)
        return 1

    problems = check_manifest(manifest, app_id)
    for problem in problems:
        print(f"FAIL: {path}: {problem}", file=sys.stderr)
    if problems:
        return 1

    print(f"{path}: {app_id} on {manifest['runtime']}//{manifest['runtime-version']}, "
          f"modules: {', '.join(m if isinstance(m, str) else m['name'] for m in manifest['modules'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
