#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Header access gate: no file under src/A/ includes a private header of
another part src/B/.

    header_access.py SRC_DIR      exit 0, or 1 naming every violation

A header is private when its name has a hyphen: `<part>-internal.h` and
`<part>-<topic>.h` stay in their folder (and its subfolders); `<part>.h` and
the headers of src/common are for everyone.  Tests may include internals;
they live outside SRC_DIR and are not read.  Every part's folder is on its
dependents' include path, so the rule holds only if something checks it."""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def is_private(name):
    return "-" in os.path.basename(name)


def sources(src):
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(root, f)


def inside(path, folder):
    return os.path.commonpath([path, folder]) == folder


def violations(src):
    """[(file, line number, included header, the folder that owns it)]"""
    src = os.path.realpath(src)
    headers = {}                                      # basename -> [folders]
    for path in sources(src):
        if path.endswith(".h"):
            headers.setdefault(os.path.basename(path), []).append(os.path.dirname(path))
    found = []
    for path in sources(src):
        here = os.path.dirname(path)
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m or not is_private(m.group(2)):
                    continue
                name = m.group(2)
                if "/" in name and m.group(1) == '"':
                    target = os.path.realpath(os.path.join(here, name))
                    owners = [os.path.dirname(target)] if os.path.exists(target) else []
                else:
                    owners = headers.get(os.path.basename(name), [])
                # The compiler takes the includer's own folder first.
                if not owners or any(inside(here, o) for o in owners):
                    continue
                found.append((os.path.relpath(path, src), n, name,
                              os.path.relpath(owners[0], src)))
    return found


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(f"usage: {argv[0]} SRC_DIR", file=sys.stderr)
        return 2
    bad = violations(argv[1])
    for path, n, name, owner in bad:
        print(f"{path}:{n}: includes {name}, private to {owner}/")
    if bad:
        print(f"{len(bad)} include(s) of another part's private header; include its "
              "public <part>.h instead, or move what is shared there")
        return 1
    print("header access: every private header stays in its part")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
