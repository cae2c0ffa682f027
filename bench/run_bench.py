#!/usr/bin/env python3
"""run_bench.py - the crate orthotope's workloads (and a few of ours) under
every allocator and through every entry point, side by side.

A cell is one allocator through one entry point: orthotope through its own
API (ortho_alloc/ortho_free), through the crate's route (an instance per
sample, a cache per thread, size-checked free), through malloc/free and
through posix_memalign(64)/free (both under LD_PRELOAD); glibc, mimalloc,
jemalloc and tcmalloc through the last two; and any --variant of orthotope
(extra environment settings) through all four. Every cell of a workload is
one ortho-bench process measuring it the crate's way (3 warm-up samples, 9
timed, the median); a round runs every cell once, in an order that rotates
every round, so machine noise lands on all cells alike. A cell's figure is
the median of its rounds. Orthotope's ratio on a row is taken against the
best competitor on the same entry point, and for its own API rows against
the competitors' best entry point. Each run's provider (the shared object
that served the allocations) is checked, so a preload that silently failed
cannot be measured under the wrong name.

Modes:
  (default)       the timing table; rewrites bench/README.md between
                  bench:begin / bench:end (full runs only)
  --instructions  callgrind instruction counts per alloc+free pair of the
                  churn and mixed rows (instructions.py), orthotope against
                  tcmalloc; rewrites instr:begin / instr:end
  --smoke         every cell once at a thousandth of the iterations (or the
                  instruction mode at tiny counts): a check that everything
                  builds and runs, for CI; prints, writes nothing

Usage: python3 bench/run_bench.py --build build [--smoke] [--instructions]
           [--only WORKLOAD] [--rounds N] [--variant NAME=VAR=VALUE...]
           [--note TEXT] [--json FILE]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import allocators as allocs  # noqa: E402
import instructions  # noqa: E402
from entry_points import API_LABEL, ENTRY_POINTS, SHARED_APIS, make_cells  # noqa: E402
from machine import build_type, machine_line, package_version  # noqa: E402
from readme import publish  # noqa: E402

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
DEFAULT_ROUNDS = 3      # processes per cell, each itself the median of 9 samples
RUN_TIMEOUT_S = 600     # one process; the slowest full one (a handoff) takes about 30 s

def parse_result(text):
    """The key=value fields of ortho-bench's `result` line, or None."""
    for line in text.splitlines():
        if line.startswith("result "):
            return dict(field.split("=", 1) for field in line.split()[1:])
    return None


def list_workloads(bench):
    """[(name, origin, unit, iterations, per)] from ortho-bench --list."""
    out = subprocess.run([bench, "--list"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        name, origin, unit, iterations, per = line.split(" ", 4)
        rows.append((name, origin, unit, int(iterations), per))
    return rows


def run_cell(bench, cell, workload, smoke):
    """Runs one process; returns its result fields (values as floats) or
    raises RuntimeError with the reason."""
    argv = [bench, "--api", cell.api] + (["--smoke"] if smoke else []) + [workload]
    try:
        proc = subprocess.run(argv, env=cell.env(), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError("timed out after %d s" % RUN_TIMEOUT_S)
    result = parse_result(proc.stdout)
    if proc.returncode != 0 or result is None:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError("exit %d: %s" % (proc.returncode, tail))
    provider = os.path.basename(result.get("provider", ""))
    if not provider.startswith(cell.provider_prefix()):
        raise RuntimeError("served by %s, not %s: the preload did not take effect"
                           % (result.get("provider"), cell.provider_prefix()))
    result["values"] = [float(v) for v in result["values"].split(",")]
    result["median"] = float(result["median"])
    return result


def relative_iqr(samples):
    """Interquartile range / median of `samples`, or None for fewer than 2."""
    if len(samples) < 2:
        return None
    q1, _, q3 = statistics.quantiles(samples, n=4)
    median = statistics.median(samples)
    return (q3 - q1) / median if median else None


def fmt_value(value):
    if value is None:
        return "failed"
    if value < 1:
        return "%.3f" % value
    if value < 10:
        return "%.2f" % value
    if value < 1000:
        return "%.1f" % value
    return "{:,.0f}".format(value)


def verdict(ratio, spread):
    """How orthotope stands on a row: leads, a tie within the row's spread,
    or behind by how much (bold, so it stands out in the table)."""
    if ratio is None:
        return "n/a"
    if ratio <= 1.0:
        return "leads by %.0f%%" % (100 * (1 - ratio))
    behind = 100 * (ratio - 1)
    if spread is not None and ratio - 1 <= spread:
        return "tie (+%.0f%%, within the %.0f%% spread)" % (behind, 100 * spread)
    return "**behind by %.0f%%**" % behind


def best_competitor(cells, figures, apis):
    """(label, value, key) of the fastest competitor cell among `apis`."""
    best = (None, None, None)
    for c in cells:
        if c.allocator.kind != "competitor" or c.api not in apis:
            continue
        value = figures.get(c.key)
        if value is not None and (best[1] is None or value < best[1]):
            label = c.allocator.name if len(apis) == 1 else "%s (%s)" % (c.allocator.name, c.api)
            best = (label, value, c.key)
    return best


def build_table(results, cells, allocators, notes, failures, rounds, build, note):
    """The README table: a row per workload and entry point."""
    ortho_cols = [a for a in allocators if a.is_orthotope()]
    comp_cols = [a for a in allocators if a.kind == "competitor"]
    load = os.getloadavg()
    out = ["Machine: %s; %s build. Load average %.2f / %.2f / %.2f (1/5/15 min) at the end."
           % (machine_line(build), build_type(build), load[0], load[1], load[2])]
    if note:
        out.append(note)
    out.append("Each cell: the median of %d processes, each the crate's measurement (3 warm-up "
               "samples, then the median of 9 timed samples of the workload's fixed iteration "
               "count), cells interleaved round-robin in a rotating order. Figures in the row's "
               "unit per iteration. Orthotope's ratio is against the best competitor on the same "
               "entry point; on the ortho_* rows, against the competitors' best entry point. "
               "Spread: interquartile range / median of all timed samples of the orthotope cell "
               "and of that competitor, the larger of the two; a ratio within it is a tie."
               % rounds)
    versions = [package_version(a.preload) for a in comp_cols if a.preload]
    libc_name, libc_version = platform.libc_ver()
    if any(a.name == "glibc" for a in comp_cols) and libc_version:
        versions.insert(0, "%s %s" % (libc_name, libc_version))
    versions = [v for v in versions if v]
    if versions:
        out.append("Competitors: " + ", ".join(versions) + ".")
    for a in ortho_cols:
        if a.kind == "variant":
            out.append("Variant %s: orthotope with %s." % (
                a.name, " ".join("%s=%s" % kv for kv in a.env.items())))
    out.extend(notes)
    out.append("")
    header = (["workload", "unit per", "entry point"] + [a.name for a in ortho_cols] +
              [a.name for a in comp_cols] + ["best competitor", "orthotope / best", "spread",
                                             "where orthotope stands"])
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join([" --- "] * 3 + [" ---: "] * (len(header) - 4) + [" --- "]) + "|")
    for name, unit, per, figures, samples in results:
        for api, _, only in ENTRY_POINTS:
            row_cells = {c.allocator.name: c for c in cells if c.api == api}
            if not row_cells:
                continue
            best_label, best, best_key = best_competitor(
                cells, figures, SHARED_APIS if only else [api])
            ortho = figures.get("orthotope/%s" % api)
            ratio = ortho / best if ortho is not None and best else None
            spreads = [relative_iqr(samples.get(k, [])) for k in ("orthotope/%s" % api, best_key)]
            spreads = [s for s in spreads if s is not None]
            spread = max(spreads) if spreads else None
            row = [name, "%s, %s" % (unit, per), API_LABEL[api]]
            for a in ortho_cols + comp_cols:
                c = row_cells.get(a.name)
                row.append("–" if c is None else fmt_value(figures.get(c.key)))
            row += [best_label or "n/a", "%.2f" % ratio if ratio is not None else "n/a",
                    "%.0f%%" % (100 * spread) if spread is not None else "n/a",
                    verdict(ratio, spread)]
            out.append("| " + " | ".join(row) + " |")
    if failures:
        out.append("")
        out.append("Failed runs (cell shows \"failed\"): " + "; ".join(failures) + ".")
    return "\n".join(out)


def run_timing(args, bench, allocators, notes):
    workloads = list_workloads(bench)
    if args.only:
        known = [w[0] for w in workloads]
        unknown = [w for w in args.only if w not in known]
        if unknown:
            sys.exit("run_bench.py: unknown workload %s; known: %s"
                     % (", ".join(unknown), " ".join(known)))
        workloads = [w for w in workloads if w[0] in args.only]
    ortho_lib = allocs.orthotope_library(args.build)
    shim = allocs.exports_malloc(ortho_lib)
    if shim is False:
        notes.append("orthotope through malloc and posix_memalign not measured: "
                     "liborthotope.so does not export malloc.")
    cells = make_cells(allocators, shim is not False)
    rounds = 1 if args.smoke else (args.rounds or DEFAULT_ROUNDS)

    results, failures, raw = [], [], {}
    for name, origin, unit, iterations, per in workloads:
        medians = {c.key: [] for c in cells}
        samples = {c.key: [] for c in cells}
        failed = set()
        for r in range(rounds):
            shift = r % len(cells)
            for cell in cells[shift:] + cells[:shift]:
                if cell.key in failed:
                    continue
                try:
                    result = run_cell(bench, cell, name, args.smoke)
                except RuntimeError as err:
                    failed.add(cell.key)
                    failures.append("%s %s: %s" % (name, cell.key, err))
                    print("FAILED %s %s: %s" % (name, cell.key, err), file=sys.stderr)
                    continue
                medians[cell.key].append(result["median"])
                samples[cell.key].extend(result["values"])
        figures = {k: (statistics.median(v) if v and k not in failed else None)
                   for k, v in medians.items()}
        results.append((name, unit, per, figures, samples))
        raw[name] = {"origin": origin, "unit": unit, "per": per, "iterations": iterations,
                     "process_medians": medians, "samples": samples}
        print("%-30s %s" % (name, "  ".join("%s %s" % (k, fmt_value(figures[k]))
                                             for k in figures)), flush=True)

    table = build_table(results, cells, allocators, notes, failures, rounds, args.build,
                        args.note)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_line(args.build), "rounds": rounds,
                       "smoke": args.smoke, "workloads": raw}, f, indent=1)
    publish(table, not (args.smoke or args.only), BEGIN, END, "Results")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="CMake build directory (default: build)")
    parser.add_argument("--smoke", action="store_true",
                        help="every cell once at tiny counts; README untouched")
    parser.add_argument("--instructions", action="store_true",
                        help="callgrind instruction counts instead of times")
    parser.add_argument("--only", action="append", metavar="WORKLOAD",
                        help="run only this workload (repeatable); README untouched")
    parser.add_argument("--rounds", type=int,
                        help="processes per cell (default %d)" % DEFAULT_ROUNDS)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VAR=VALUE",
                        help="an orthotope column with extra environment settings (repeatable)")
    parser.add_argument("--note", default="",
                        help="a sentence for the table's header (e.g. what else ran)")
    parser.add_argument("--json", metavar="FILE", help="also write every sample to FILE")
    args = parser.parse_args()

    bench = os.path.abspath(os.path.join(args.build, "bench", "ortho-bench"))
    if not os.access(bench, os.X_OK):
        sys.exit("run_bench.py: %s not found; build it first: cmake --build %s --target ortho_bench"
                 % (bench, args.build))
    if args.rounds is not None and args.rounds < 1:
        sys.exit("run_bench.py: --rounds must be at least 1")
    try:
        allocators, notes = allocs.pick(args.build, args.variant)
    except ValueError as err:
        sys.exit("run_bench.py: %s" % err)
    for note in notes:
        print("note: " + note, file=sys.stderr)
    if args.instructions:
        return instructions.run(args, bench, allocators)
    return run_timing(args, bench, allocators, notes)


if __name__ == "__main__":
    sys.exit(main())
