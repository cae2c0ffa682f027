#!/usr/bin/env python3
"""run_bench.py - orthotope's micro-benchmarks under every allocator, side by side.

Runs each workload of ortho-bench once per round under each allocator:
orthotope through its own API (--api ortho), glibc, mimalloc, jemalloc and
tcmalloc through aligned_alloc/free (--api malloc, chosen with LD_PRELOAD),
and orthotope-preload (its malloc shim, LD_PRELOAD) when liborthotope.so
exports malloc. Every sample is its own process, so each gets its own peak
RSS; allocators take turns within a round, in an order that rotates every
round, so machine noise lands on all of them alike. Reports the median ns
per op and median peak RSS of each cell, the best competitor and
orthotope's ratio to it, and rewrites the table between the bench:begin /
bench:end markers of bench/README.md (full runs only). Each run's reported
provider (the shared object that served the allocations) is checked, so a
preload that silently failed cannot be measured under the wrong name.

Usage: python3 bench/run_bench.py --build build [--quick] [--only WORKLOAD] [--rounds N]
                                 [--json FILE]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(BENCH_DIR, "README.md")
LIBDIR = "/usr/lib/x86_64-linux-gnu"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# Competitors: (name, library to preload or None for the system's own,
# basename prefix the provider reported by ortho-bench must have).
COMPETITORS = [
    ("glibc", None, "libc.so"),
    ("mimalloc", os.path.join(LIBDIR, "libmimalloc.so.2"), "libmimalloc"),
    ("jemalloc", os.path.join(LIBDIR, "libjemalloc.so.2"), "libjemalloc"),
    ("tcmalloc", os.path.join(LIBDIR, "libtcmalloc_minimal.so.4"), "libtcmalloc"),
]
DEFAULT_ROUNDS = 7      # samples (processes) per cell; the median is reported
QUICK_ROUNDS = 2        # --quick: enough to see that everything runs
RUN_TIMEOUT_S = 120     # one process; a full-size one takes about 0.3 s


class Allocator:
    """One column: how to run ortho-bench for it."""

    def __init__(self, name, api, preload, provider_prefix):
        self.name = name
        self.api = api                      # "ortho" or "malloc"
        self.preload = preload              # path for LD_PRELOAD, or None
        self.provider_prefix = provider_prefix


def exports_malloc(library):
    """True if `library` defines malloc in its dynamic symbol table; None if
    nm is not available to tell."""
    if shutil.which("nm") is None:
        return None
    out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True,
                         text=True).stdout
    return any(line.split()[-1:] == ["malloc"] for line in out.splitlines())


def package_version(path):
    """'package version' of the Debian package owning `path`, or ''."""
    try:
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True,
                               text=True).stdout.split(":")[0].strip()
        if not owner:
            return ""
        version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", owner],
                                 capture_output=True, text=True).stdout.strip()
        return "%s %s" % (owner, version)
    except OSError:
        return ""


def pick_allocators(build):
    """(allocators, notes): the columns to measure and why any are missing."""
    ortho_lib = os.path.abspath(os.path.join(build, "liballoc", "liborthotope.so"))
    allocators = [Allocator("orthotope", "ortho", None, "liborthotope")]
    notes = []
    shim = exports_malloc(ortho_lib)
    if shim:
        allocators.append(Allocator("orthotope-preload", "malloc", ortho_lib, "liborthotope"))
    elif shim is None:
        notes.append("orthotope-preload not measured: nm is not installed to check that "
                     "liborthotope.so exports malloc.")
    else:
        notes.append("orthotope-preload not measured: liborthotope.so does not export malloc yet.")
    for name, lib, prefix in COMPETITORS:
        if lib is not None and not os.path.exists(lib):
            notes.append("%s not measured: %s is not installed (column left out)." % (name, lib))
            continue
        allocators.append(Allocator(name, "malloc", lib, prefix))
    return allocators, notes


def parse_result(text):
    """The key=value fields of ortho-bench's `result` line, or None."""
    for line in text.splitlines():
        if line.startswith("result "):
            return dict(field.split("=", 1) for field in line.split()[1:])
    return None


def run_one(bench, alloc, workload, quick):
    """Runs one sample; returns (ns_per_op, peak_rss_kib, op_unit) or raises
    RuntimeError with the reason."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if alloc.preload:
        env["LD_PRELOAD"] = alloc.preload
    argv = [bench, "--api", alloc.api, "--samples", "1"] + (["--quick"] if quick else [])
    argv.append(workload)
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError("timed out after %d s" % RUN_TIMEOUT_S)
    result = parse_result(proc.stdout)
    if proc.returncode != 0 or result is None:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError("exit %d: %s" % (proc.returncode, tail))
    provider = os.path.basename(result.get("provider", ""))
    if not provider.startswith(alloc.provider_prefix):
        raise RuntimeError("served by %s, not %s: the preload did not take effect"
                           % (result.get("provider"), alloc.provider_prefix))
    return float(result["ns_per_op"]), int(result["peak_rss_kib"]), result["op"]


def compiler_line(build):
    """First line of --version of the compiler the build used."""
    compiler = "cc"
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_C_COMPILER:"):
                    compiler = line.split("=", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0] if out else compiler
    except OSError:
        return compiler


def machine_line(build):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, Linux %s, %s, %s" % (
        cpu, os.cpu_count() or 0, platform.release(), compiler_line(build),
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def relative_iqr(samples):
    """Interquartile range / median of `samples` (robust to the odd sample
    a busy machine slows down), or None for fewer than 2 samples."""
    if len(samples) < 2:
        return None
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return (q3 - q1) / statistics.median(samples)


def fmt_ns(value):
    if value is None:
        return "failed"
    if value < 10:
        return "%.2f" % value
    if value < 1000:
        return "%.1f" % value
    return "{:,.0f}".format(value)


def fmt_mib(kib):
    return "failed" if kib is None else "%.1f" % (kib / 1024.0)


def build_table(rows, allocators, notes, failures, rounds, build):
    names = [a.name for a in allocators]
    competitors = [n for n in names if n in {c[0] for c in COMPETITORS}]
    out = ["Machine: %s." % machine_line(build),
           "Each cell: median of %d samples, each sample a separate process (its own "
           "peak RSS), allocators interleaved round-robin in a rotating order. "
           "ns per op; the op is named in the second column. Ratio = orthotope / best "
           "competitor (below 1.00: orthotope is faster). IQR = interquartile range / "
           "median of orthotope's %d samples." % (rounds, rounds)]
    versions = [package_version(a.preload) for a in allocators
                if a.preload and a.name in competitors]
    versions = [v for v in versions if v]
    libc_name, libc_version = platform.libc_ver()
    if "glibc" in competitors and libc_version:
        versions.insert(0, "%s %s (the system's malloc)" % (libc_name, libc_version))
    if versions:
        out.append("Competitors: " + ", ".join(versions) + ".")
    out.extend(notes)
    out.append("")
    header = (["workload", "op"] + ["%s ns" % n for n in names] +
              ["best competitor", "ratio", "orthotope IQR"] +
              ["%s RSS MiB" % n for n in names])
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join([" --- ", " --- "] + [" ---: "] * (len(header) - 2)) + "|")
    for workload, unit, med_ns, med_rss, spread in rows:
        best_name, best = None, None
        for n in competitors:
            if med_ns.get(n) is not None and (best is None or med_ns[n] < best):
                best_name, best = n, med_ns[n]
        ortho = med_ns.get("orthotope")
        ratio = "%.2f" % (ortho / best) if ortho is not None and best else "n/a"
        cells = ([workload, unit] + [fmt_ns(med_ns.get(n)) for n in names] +
                 [best_name or "n/a", ratio,
                  "%.0f%%" % (100 * spread) if spread is not None else "n/a"] +
                 [fmt_mib(med_rss.get(n)) for n in names])
        out.append("| " + " | ".join(cells) + " |")
    if failures:
        out.append("")
        out.append("Failed runs (cell shows \"failed\"): " + "; ".join(failures) + ".")
    return "\n".join(out)


def write_readme(table, begin=BEGIN, end=END, heading="Results"):
    """Puts `table` between the `begin`/`end` markers of bench/README.md, or
    appends it under `heading` when the markers are missing."""
    try:
        with open(README) as f:
            text = f.read()
    except OSError:
        text = "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n" + table + "\n" + end + tail
    else:
        text += "\n## %s\n\n%s\n%s\n%s\n" % (heading, begin, table, end)
    with open(README, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="CMake build directory (default: build)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: %d rounds of 10 ms samples; README untouched"
                        % QUICK_ROUNDS)
    parser.add_argument("--only", action="append", metavar="WORKLOAD",
                        help="run only this workload (repeatable); README untouched")
    parser.add_argument("--rounds", type=int, help="samples per cell (default %d)" % DEFAULT_ROUNDS)
    parser.add_argument("--json", metavar="FILE", help="also write every sample to FILE")
    args = parser.parse_args()

    bench = os.path.abspath(os.path.join(args.build, "bench", "ortho-bench"))
    if not os.access(bench, os.X_OK):
        sys.exit("run_bench.py: %s not found; build it first: cmake --build %s --target ortho_bench"
                 % (bench, args.build))
    workloads = subprocess.run([bench, "--list"], capture_output=True, text=True,
                               check=True).stdout.split()
    if args.only:
        unknown = [w for w in args.only if w not in workloads]
        if unknown:
            sys.exit("run_bench.py: unknown workload %s; known: %s"
                     % (", ".join(unknown), " ".join(workloads)))
        workloads = [w for w in workloads if w in args.only]
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        sys.exit("run_bench.py: --rounds must be at least 1")
    allocators, notes = pick_allocators(args.build)
    for note in notes:
        print("note: " + note, file=sys.stderr)

    rows, failures, raw = [], [], {}
    for workload in workloads:
        ns = {a.name: [] for a in allocators}
        rss = {a.name: [] for a in allocators}
        failed = set()
        unit = "?"
        for r in range(rounds):
            shift = r % len(allocators)
            for alloc in allocators[shift:] + allocators[:shift]:
                if alloc.name in failed:
                    continue
                try:
                    value, peak, unit = run_one(bench, alloc, workload, args.quick)
                except RuntimeError as err:
                    failed.add(alloc.name)
                    failures.append("%s under %s: %s" % (workload, alloc.name, err))
                    print("FAILED %s under %s: %s" % (workload, alloc.name, err), file=sys.stderr)
                    continue
                ns[alloc.name].append(value)
                rss[alloc.name].append(peak)
        med_ns = {n: (statistics.median(v) if v and n not in failed else None)
                  for n, v in ns.items()}
        med_rss = {n: (statistics.median(v) if v and n not in failed else None)
                   for n, v in rss.items()}
        rows.append((workload, unit, med_ns, med_rss, relative_iqr(ns["orthotope"])
                     if "orthotope" not in failed else None))
        raw[workload] = {"op": unit, "ns_per_op": ns, "peak_rss_kib": rss}
        print("%-30s %s" % (workload, "  ".join("%s %s" % (n, fmt_ns(med_ns[n]))
                                                 for n in med_ns)), flush=True)

    table = build_table(rows, allocators, notes, failures, rounds, args.build)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_line(args.build), "rounds": rounds, "quick": args.quick,
                       "samples": raw}, f, indent=1)
    print()
    print(table)
    if args.quick or args.only:
        print("\n(--quick/--only: bench/README.md left unchanged)")
        return 1 if failures else 0
    write_readme(table)
    print("\nwrote the table into %s" % README)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
