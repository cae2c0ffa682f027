#!/usr/bin/env python3
"""own_tables.py - the class table each real program would pick for itself.

Traces every program of the real-program set (programs.py) once under the
default table, without stacks, through ortho-run, and asks ortho-report
for the table of at most N classes with the least waste for that run
(--suggest-classes N --output DIR/PROGRAM.classes, N 16 by default). real_programs.py then
measures the programs with those tables side by side with the others:

    python3 bench/own_tables.py --build build-rel
    python3 bench/real_programs.py --build build-rel \\
        --variant general=ORTHO_CLASSES=general \\
        --variant own=ORTHO_CLASSES=@$PWD/build-rel/tables/{program}.classes

The inputs are the same (same makers, same scale), so the table fits the
run it is measured on: the best case for a suggestion, which is what the
issue's figure asks for ("a table suggested from the program's own
trace"). A program whose run the trace changes (its output differs, or it
fails) gets no table and a line saying why."""

import argparse
import os
import subprocess
import sys
import tempfile

import programs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", required=True, help="build tree with bin/ortho-run")
    parser.add_argument("--out", help="directory for PROGRAM.classes (default BUILD/tables)")
    parser.add_argument("--classes", type=int, default=16,
                        help="at most this many classes (default 16: more classes hold more "
                             "freed memory apart, see bench/README.md)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", action="append", help="this program only (repeatable)")
    args = parser.parse_args()
    args.build = os.path.abspath(args.build)
    run = os.path.join(args.build, "bin", "ortho-run")
    report = os.path.join(args.build, "bin", "ortho-report")
    for tool in (run, report):
        if not os.access(tool, os.X_OK):
            sys.exit("own_tables.py: %s not found; build first (cmake --build %s)"
                     % (tool, args.build))
    args.out = os.path.abspath(args.out or os.path.join(args.build, "tables"))
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ortho-tables.") as tmp:
        program_set, skipped = programs.make_set(tmp, args.scale, args.only)
        for name, why in skipped:
            print("skip %s: %s" % (name, why), file=sys.stderr)
        for p in program_set:
            db = os.path.join(tmp, p.name + ".db")
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("ORTHO_") and k != "LD_PRELOAD"}
            env.update(p.env)
            env["ORTHO_TRACE_STACKS"] = "0"
            stdin = open(p.stdin, "rb") if p.stdin else subprocess.DEVNULL
            done = subprocess.run([run, "-o", db, "--"] + p.argv, cwd=p.cwd, env=env,
                                  stdin=stdin, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            if p.stdin:
                stdin.close()
            if done.returncode != 0:
                print("%s: traced run failed (%d): %s" % (p.name, done.returncode,
                      done.stderr.decode(errors="replace").strip()[-300:]), file=sys.stderr)
                failed += 1
                continue
            out = os.path.join(args.out, p.name + ".classes")
            made = subprocess.run([report, "--suggest-classes", str(args.classes), "--output",
                                   out, db], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if made.returncode != 0:
                print("%s: %s" % (p.name, made.stderr.decode(errors="replace").strip()),
                      file=sys.stderr)
                failed += 1
                continue
            sizes = sum(1 for line in open(out) if line.strip() and not line.startswith("#"))
            print("%s: %d classes -> %s" % (p.name, sizes, out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
