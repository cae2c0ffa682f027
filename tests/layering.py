#!/usr/bin/env python3
"""layering.py - fails if a #include crosses the product's folders against
the one-way dependencies docs/architecture.md draws:

    util <- liballoc <- (port only) tracer <- tracer/collector
    util <- tools, util <- viewer, schema <- collector and viewer

Every quoted #include of every C source and header is resolved to the file it
names (the including file's own folder first, then anywhere in the tree, as
the build's include paths do), and the folder pair must be allowed. The
public header (orthotope.h) may be included from anywhere. tests/, bench/ and
examples/ are consumers and are not checked. Usage: layering.py SOURCE_DIR
"""
import os
import re
import sys

# Folder -> the folders its files may include from (itself always).
ALLOWED = {
    "util": set(),
    "liballoc": {"util", "liballoc/port"},
    "liballoc/port": {"util"},
    "tracer": {"util", "liballoc/port"},
    "tracer/collector": {"tracer", "util", "schema"},
    "schema": set(),
    "viewer": {"util", "schema"},
    "tools": {"util"},
}
PUBLIC = {"orthotope.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(root, path):
    """The most specific ALLOWED key that contains path (or None)."""
    rel = os.path.relpath(os.path.dirname(path), root).replace(os.sep, "/")
    best = None
    for key in ALLOWED:
        if rel == key or rel.startswith(key + "/"):
            if best is None or len(key) > len(best):
                best = key
    return best


def main():
    root = os.path.abspath(sys.argv[1])
    files = []
    for top in ALLOWED:
        if "/" in top:
            continue
        for base, dirs, names in os.walk(os.path.join(root, top)):
            files += [os.path.join(base, n) for n in names if n.endswith((".c", ".h"))]
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)
    bad = []
    for f in files:
        src = folder_of(root, f)
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for name in INCLUDE.findall(text):
            if os.path.basename(name) in PUBLIC:
                continue
            local = os.path.join(os.path.dirname(f), name)
            targets = [local] if os.path.exists(local) else by_name.get(os.path.basename(name), [])
            if not targets:
                continue  # generated (schema_text.c) or a system header in quotes
            dst = folder_of(root, targets[0])
            if dst is None or dst == src or dst in ALLOWED[src]:
                continue
            rel = os.path.relpath(f, root)
            bad.append(f"{rel}: includes \"{name}\" from {dst}/, which {src}/ may not depend on")
    for line in bad:
        print("layering.py: " + line)
    if bad:
        print(f"layering.py: {len(bad)} include(s) against the dependencies in docs/architecture.md")
        return 1
    print(f"layering.py: ok, {len(files)} files follow the one-way dependencies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
