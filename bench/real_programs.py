#!/usr/bin/env python3
"""real_programs.py - real Debian programs under each allocator, side by side.

Runs the real-program set (programs.py: jq, sqlite3, perl, python3 with
PYTHONMALLOC=malloc, mawk, gcc -O2, git log -p, numpy, tclsh) under glibc's
malloc, mimalloc, jemalloc, tcmalloc and orthotope (each through
LD_PRELOAD), plus any --variant of orthotope (extra environment settings,
e.g. --variant general=ORTHO_CLASSES=general), interleaved round-robin in an
order that rotates every run, so machine noise hits every column alike.
Every run goes through run-usage (run_usage.c), which reports the program's
own wall time and its peak RSS from wait4 (the largest of the program and
the children it waited for). Every run's stdout must be byte-identical to
glibc's, and its exit status 0: a program that behaves differently under
an allocator is reported as failed, not timed. Reports the median of each
cell with ratios to glibc and to the best competitor, and rewrites the
tables between the programs:begin / programs:end markers of bench/README.md.

Usage: python3 bench/real_programs.py --build build [--runs N] [--smoke]
           [--scale X] [--only PROGRAM] [--variant NAME=VAR=VALUE...]
           [--note TEXT] [--json FILE]
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import allocators as allocs  # noqa: E402
import programs  # noqa: E402
from machine import build_type, machine_line, package_version  # noqa: E402
from readme import publish  # noqa: E402

BEGIN, END = "<!-- programs:begin -->", "<!-- programs:end -->"
DEFAULT_RUNS = 3
SMOKE_SCALE = 0.01        # --smoke: each program at a hundredth of its input
RUN_TIMEOUT_S = 600


class Outcome:
    """One run: seconds, peak RSS in KiB, and the digest of its stdout."""

    def __init__(self, seconds, maxrss_kib, digest):
        self.seconds = seconds
        self.maxrss_kib = maxrss_kib
        self.digest = digest


def run_program(run_usage, program, allocator, workdir):
    """Runs `program` once under `allocator`; returns an Outcome or raises
    RuntimeError with the reason."""
    report = os.path.join(workdir, "usage.txt")
    out_path = os.path.join(workdir, "stdout")
    err_path = os.path.join(workdir, "stderr")
    argv = [run_usage, report]
    settings = dict(program.env)
    if allocator.preload:
        settings["LD_PRELOAD"] = allocator.preload
    settings.update(allocator.settings(program.name))
    for var, value in settings.items():
        argv += ["--env", "%s=%s" % (var, value)]
    argv += program.argv
    stdin = open(program.stdin, "rb") if program.stdin else subprocess.DEVNULL
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.run(argv, cwd=program.cwd, stdin=stdin, stdout=out, stderr=err,
                                  env=allocator.child_env(with_preload=False),
                                  timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError("timed out after %d s" % RUN_TIMEOUT_S)
    finally:
        if program.stdin:
            stdin.close()
    with open(err_path, "rb") as f:
        err_tail = f.read()[-300:].decode(errors="replace").strip().replace("\n", " / ")
    if proc.returncode != 0:
        raise RuntimeError("run-usage failed: %s" % err_tail)
    with open(report) as f:
        fields = dict(item.split("=", 1) for item in f.read().split())
    if fields["signal"] != "0" or fields["exit"] != "0":
        raise RuntimeError("exit %s, signal %s: %s" % (fields["exit"], fields["signal"],
                                                       err_tail or "no stderr"))
    digest = hashlib.sha256()
    with open(out_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return Outcome(int(fields["wall_ns"]) / 1e9, int(fields["maxrss_kib"]), digest.hexdigest())


def measure(run_usage, program_set, allocators, runs, workdir):
    """{program: {allocator: [Outcome]}} and the failures, all runs
    interleaved; a cell whose output differs from glibc's is dropped."""
    results, failures = {}, []
    for program in program_set:
        cells = {a.name: [] for a in allocators}
        failed = {}
        for r in range(runs):
            shift = r % len(allocators)
            for a in allocators[shift:] + allocators[:shift]:
                if a.name in failed:
                    continue
                try:
                    cells[a.name].append(run_program(run_usage, program, a, workdir))
                except RuntimeError as err:
                    failed[a.name] = str(err)
        reference = cells.get("glibc") or []
        digests = {o.digest for o in reference}
        if len(digests) > 1:
            failed.setdefault("glibc", "its own runs gave different outputs; the program "
                              "is not deterministic here")
        for name, outcomes in cells.items():
            if name in failed or name == "glibc" or not digests:
                continue
            if any(o.digest not in digests for o in outcomes):
                failed[name] = "stdout differs from glibc's"
        for name, why in failed.items():
            cells[name] = []
            failures.append("%s under %s: %s" % (program.name, name, why))
            print("FAILED %s under %s: %s" % (program.name, name, why), file=sys.stderr)
        results[program.name] = cells
        print("%-8s %s" % (program.name, "  ".join(
            "%s %.2fs %.0fMiB" % (n, statistics.median(o.seconds for o in v),
                                   statistics.median(o.maxrss_kib for o in v) / 1024)
            for n, v in cells.items() if v)), flush=True)
    return results, failures


def median_of(outcomes, field):
    return statistics.median(getattr(o, field) for o in outcomes) if outcomes else None


def ratio_text(value, base):
    if value is None or not base:
        return "n/a"
    return "%.2f" % (value / base)


def marked(value, base, limit):
    """Ratio text, in bold when above `limit` (a target the issues set)."""
    text = ratio_text(value, base)
    if text != "n/a" and value / base > limit:
        return "**%s**" % text
    return text


def build_tables(program_set, results, allocators, notes, failures, runs, args):
    names = [a.name for a in allocators]
    competitors = [a.name for a in allocators if a.kind == "competitor"]
    ortho_cols = [a.name for a in allocators if a.is_orthotope()]
    load = os.getloadavg()
    out = ["Machine: %s; %s build of liborthotope. Load average %.2f / %.2f / %.2f (1/5/15 min) "
           "at the end." % (machine_line(args.build), build_type(args.build), *load)]
    if args.note:
        out.append(args.note)
    out.append("Each cell: median of %d runs, every program and allocator interleaved "
               "round-robin in a rotating order; wall time and peak RSS (wait4's ru_maxrss: the "
               "largest of the program and the children it waited for) of the program itself, "
               "started by run-usage. Every run's stdout was byte-identical to glibc's and its "
               "exit status 0, or the cell says failed. Scale %s of the default inputs."
               % (runs, args.scale))
    versions = [package_version(a.preload) for a in allocators
                if a.kind == "competitor" and a.preload]
    if any(v for v in versions):
        out.append("Competitors: " + ", ".join(v for v in versions if v) + ".")
    for a in allocators:
        if a.kind == "variant":
            out.append("Variant %s: orthotope with %s." % (
                a.name, " ".join("%s=%s" % kv for kv in a.env.items())))
    out.extend(notes)
    titles = ["", "| program | what it does |"]
    rows_time, rows_rss = [], []
    for program in program_set:
        cells = results[program.name]
        secs = {n: median_of(cells[n], "seconds") for n in names}
        rss = {n: median_of(cells[n], "maxrss_kib") for n in names}
        best_name = min((n for n in competitors if secs[n] is not None), key=lambda n: secs[n],
                        default=None)
        best = secs.get(best_name) if best_name else None
        titles.append("| %s | %s |" % (program.name, program.title.split(": ", 1)[-1]))
        rows_time.append("| %s | " % program.name +
                         " | ".join("%.2f" % secs[n] if secs[n] is not None else "failed"
                                    for n in names) +
                         " | %s | " % (best_name or "n/a") +
                         " | ".join("%s / %s" % (ratio_text(secs[o], secs.get("glibc")),
                                                 marked(secs[o], best, 1.05))
                                    for o in ortho_cols) + " |")
        rows_rss.append("| %s | " % program.name +
                        " | ".join("%.1f" % (rss[n] / 1024) if rss[n] is not None else "failed"
                                   for n in names) + " | " +
                        " | ".join(marked(rss[o], rss.get("glibc"), 1.3) for o in ortho_cols) +
                        " |")
    titles.insert(2, "| --- | --- |")
    out += titles
    out += ["", "Wall time, seconds. The ratio columns give time / glibc's and time / the best "
            "competitor's (bold: above 1.05x the best).", "",
            "| program | " + " | ".join(names) + " | best competitor | " +
            " | ".join("%s / glibc, / best" % o for o in ortho_cols) + " |",
            "| --- |" + " ---: |" * len(names) + " --- |" + " ---: |" * len(ortho_cols)]
    out += rows_time
    out += ["", "Peak RSS, MiB (bold ratio: above 1.3x glibc's).", "",
            "| program | " + " | ".join(names) + " | " +
            " | ".join("%s / glibc" % o for o in ortho_cols) + " |",
            "| --- |" + " ---: |" * (len(names) + len(ortho_cols))]
    out += rows_rss
    if failures:
        out += ["", "Failed runs (cell shows \"failed\"): " + "; ".join(failures) + "."]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="CMake build directory")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                        help="runs per program and allocator (default %d)" % DEFAULT_RUNS)
    parser.add_argument("--smoke", action="store_true",
                        help="1 run at scale %s; README untouched (CI)" % SMOKE_SCALE)
    parser.add_argument("--scale", type=float, help="input size factor (default 1.0)")
    parser.add_argument("--only", action="append", choices=programs.NAMES, metavar="PROGRAM",
                        help="only this program (repeatable): " + ", ".join(programs.NAMES))
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VAR=VALUE",
                        help="an orthotope column with extra environment settings (repeatable); "
                        "{program} in a value becomes the program's name")
    parser.add_argument("--note", default="", help="a sentence for the table's header")
    parser.add_argument("--json", metavar="FILE", help="also write every run to FILE")
    args = parser.parse_args()
    if args.scale is None:
        args.scale = SMOKE_SCALE if args.smoke else 1.0
    runs = 1 if args.smoke else args.runs
    if runs < 1 or args.scale <= 0:
        sys.exit("real_programs.py: --runs must be at least 1 and --scale above 0")

    run_usage = os.path.abspath(os.path.join(args.build, "bench", "run-usage"))
    ortho = allocs.orthotope_library(args.build)
    for path in (run_usage, ortho):
        if not os.path.exists(path):
            sys.exit("real_programs.py: %s not found; build first (cmake --build %s)"
                     % (path, args.build))
    try:
        allocators, notes = allocs.pick(args.build, args.variant)
    except ValueError as err:
        sys.exit("real_programs.py: %s" % err)

    with tempfile.TemporaryDirectory(prefix="ortho-real.") as tmp:
        program_set, skipped = programs.make_set(tmp, args.scale, args.only)
        for name, why in skipped:
            notes.append("%s not measured: %s." % (name, why))
            print("skip %s: %s" % (name, why), file=sys.stderr)
        workdir = os.path.join(tmp, "runs")
        os.makedirs(workdir)
        results, failures = measure(run_usage, program_set, allocators, runs, workdir)

    table = build_tables(program_set, results, allocators, notes, failures, runs, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_line(args.build), "runs": runs, "scale": args.scale,
                       "programs": {p: {a: [vars(o) for o in v] for a, v in cells.items()}
                                    for p, cells in results.items()}}, f, indent=1)
    publish(table, not (args.smoke or args.only or args.scale != 1.0), BEGIN, END,
            "Real programs", "--smoke/--only/--scale")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
