#!/usr/bin/env python3
"""trace_scale.py - how tracing scales with the work, not with one thread's speed.

Three tables, each row checked against the trace database before it is
printed (a run that lost or miscounted anything fails loudly instead):

- threads: bench/trace_scale.c's `threads N`, N threads alive at once
  (a barrier) doing 1000 malloc/free pairs each, on glibc, on the preload
  untraced and traced (ORTHO_TRACE=1, lossless, stacks on). Time until all N have
  done their pairs and in all, the process's peak RSS, the shared memory
  (the trace's rings) resident at the barrier, the slots the image ended
  with, the collector's peak RSS, and the worst lag.
- lag: bench/trace_flood.c, 2 threads of malloc/free pairs at full speed
  for about a minute (lossless): records per second, max_lag_ns, and why it
  passed the collector's 50 ms budget if it did (late_batches; ring_waits
  and ring_wait_ns: the program out-ran the collector; max_visit_gap_ns:
  the collector was held up).
- corruption: `misuse N` with ORTHO_ON_CORRUPTION=report, N frees of an
  interior pointer: events per second, the database's size, the events
  kept one by one (at most 10,000 per process) and counted (all).

Timings on a loaded machine are rough; counts and memory are not. Prints
markdown tables (bench/README.md keeps them); --quick runs a smaller set
in a few seconds (the CTest `bench` smoke test).

Usage: python3 bench/trace_scale.py --build BUILD [--quick] [--rounds N]
"""
import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
from child import run_measured  # noqa: E402
from machine import machine_line  # noqa: E402
from trace_bench import RunFailed, collectors_of, remove_db  # noqa: E402

THREADS = (300, 1000, 4000)
QUICK_THREADS = (300,)
PAIRS_PER_THREAD = 1000            # trace_scale.c's default
LAG_PAIRS = 270000000              # per flood thread: about a minute here
QUICK_LAG_PAIRS = 5000000
MISUSE = 100000
QUICK_MISUSE = 20000
CORRUPTION_KEPT = 10000            # STATE_CORRUPTION_EVENTS_MAX
LAG_BUDGET_NS = 50000000           # STATE_LAG_BUDGET_NS
COLLECTOR_WAIT_S = 120
RUN_USAGE = None                   # the build's run-usage launcher (main)


def parse_facts(out):
    """The key=value words of a program's one line of output."""
    facts = {}
    for word in out.decode().split():
        if "=" in word:
            key, value = word.split("=", 1)
            facts[key] = int(value) if value.lstrip("-").isdigit() else value
    return facts


def wait_done(db):
    """Waits for the collector of `db` to finish, sampling its peak RSS
    (VmHWM) while it runs; returns that peak in KiB (0 if it was gone)."""
    start = time.monotonic()
    peak = 0
    while True:
        pids = collectors_of(db)
        if not pids:
            return peak
        for pid in pids:
            try:
                with open("/proc/%d/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
        if time.monotonic() - start > COLLECTOR_WAIT_S:
            raise RunFailed("the collector was still running %d s after the program exited"
                            % COLLECTOR_WAIT_S)
        time.sleep(0.005)


def query(db, sql):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def run(argv, lib, env, db=None):
    """Runs argv on the preload (traced into db when given); returns the
    facts it printed, its time, peak RSS and the collector's peak RSS."""
    extra = dict(env)
    if db is not None:
        remove_db(db)
        extra.update({"ORTHO_TRACE": "1", "ORTHO_TRACE_DB": db})
    seconds, rss, rc, out, err = run_measured(RUN_USAGE, argv, None, lib, extra)
    if rc != 0:
        raise RunFailed("%s exited %d: %s" % (" ".join(argv), rc, err.decode()[-300:]))
    collector_kib = wait_done(db) if db is not None else 0
    return parse_facts(out), seconds, rss, collector_kib


def check_process(db, what):
    """The one process row of db: it ended cleanly and lost nothing."""
    rows = query(db, "SELECT end_reason, dropped_records, lost_no_slot, trace_slots, max_lag_ns, "
                     "late_batches, ring_waits, ring_wait_ns, max_visit_gap_ns, records, "
                     "last_ts_ns - start_ns FROM processes")
    if len(rows) != 1:
        raise RunFailed("%s: %d process rows" % (what, len(rows)))
    row = rows[0]
    if row[0] != "exit" or row[1] != 0 or row[2] != 0:
        raise RunFailed("%s: end %s, %d dropped, %d lost without a slot" % (what, row[0], row[1], row[2]))
    keys = ("end", "dropped", "lost", "slots", "max_lag_ns", "late", "waits", "wait_ns", "gap_ns",
            "records", "span_ns")
    return dict(zip(keys, row))


def threads_rows(build, lib, tmp, counts, rounds):
    prog = os.path.join(build, "bench", "trace-scale")
    rows = []
    for n in counts:
        cells = {"glibc": [], "untraced": [], "traced": []}
        for _ in range(rounds):
            facts, secs, rss, _ = run([prog, "threads", str(n)], None, {})
            cells["glibc"].append((facts, secs, rss, 0, None))
            facts, secs, rss, _ = run([prog, "threads", str(n)], lib, {})
            cells["untraced"].append((facts, secs, rss, 0, None))
            db = os.path.join(tmp, "threads.db")
            facts, secs, rss, coll = run([prog, "threads", str(n)], lib, {}, db)
            proc = check_process(db, "%d threads" % n)
            pairs = query(db, "SELECT allocs FROM size_histogram WHERE requested_size = 100")
            counted = pairs[0][0] if pairs else 0
            if counted < n * PAIRS_PER_THREAD:
                raise RunFailed("%d threads: %d allocations of 100 bytes counted, %d made"
                                % (n, counted, n * PAIRS_PER_THREAD))
            cells["traced"].append((facts, secs, rss, coll, proc))
        rows.append((n, cells))
    return rows


def med(values):
    return statistics.median(values) if values else 0


def mib(kib):
    return "%.0f MiB" % (kib / 1024.0)


def ms(ns):
    return "%.0f ms" % (ns / 1e6)


def threads_table(rows):
    lines = ["| threads alive | glibc: all alive / total | untraced: all alive / total | "
             "traced: all alive / total | untraced / glibc: total time, peak RSS | "
             "peak RSS glibc / untraced / traced | trace shared memory at the barrier | slots | "
             "collector peak RSS | max lag |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, cells in rows:
        g, u, t = cells["glibc"], cells["untraced"], cells["traced"]
        lines.append("| %d | %.2f s / %.2f s | %.2f s / %.2f s | %.2f s / %.2f s | %.2fx, %.2fx | "
                     "%s / %s / %s | %s | %d | %s | %s |" % (
            n, med([c[0]["alive_ns"] for c in g]) / 1e9, med([c[1] for c in g]),
            med([c[0]["alive_ns"] for c in u]) / 1e9, med([c[1] for c in u]),
            med([c[0]["alive_ns"] for c in t]) / 1e9, med([c[1] for c in t]),
            med([c[1] for c in u]) / med([c[1] for c in g]),
            med([c[2] for c in u]) / med([c[2] for c in g]),
            mib(med([c[2] for c in g])), mib(med([c[2] for c in u])), mib(med([c[2] for c in t])),
            mib(med([c[0]["shmem_kib"] for c in t])), max(c[4]["slots"] for c in t),
            mib(med([c[3] for c in t])), ms(max(c[4]["max_lag_ns"] for c in t))))
    return "\n".join(lines)


def lag_rows(build, lib, tmp, pairs, rounds):
    prog = os.path.join(build, "bench", "trace-flood")
    rows = []
    for _ in range(rounds):
        db = os.path.join(tmp, "lag.db")
        facts, secs, _, _ = run([prog, "--threads", "2", "--pairs", str(pairs)], lib, {}, db)
        proc = check_process(db, "lag flood")
        if proc["records"] < 4 * pairs:
            raise RunFailed("lag flood: %d records for %d pairs on 2 threads" % (proc["records"], pairs))
        rows.append((facts, secs, proc))
    return rows


def lag_table(rows):
    lines = ["| run | seconds | records/s | max lag | late batches (> 50 ms) | ring waits | "
             "time waited | longest collector gap |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for i, (facts, secs, p) in enumerate(rows, 1):
        loop_s = facts["loop_ns"] / 1e9
        lines.append("| %d | %.1f | %.1f M | %s | %d | %d | %s | %s |" % (
            i, loop_s, p["records"] / loop_s / 1e6, ms(p["max_lag_ns"]), p["late"], p["waits"],
            ms(p["wait_ns"]), ms(p["gap_ns"])))
    return "\n".join(lines)


def corruption_rows(build, lib, tmp, count, rounds):
    prog = os.path.join(build, "bench", "trace-scale")
    rows = []
    for _ in range(rounds):
        db = os.path.join(tmp, "misuse.db")
        facts, secs, rss, coll = run([prog, "misuse", str(count)], lib,
                                     {"ORTHO_ON_CORRUPTION": "report"}, db)
        check_process(db, "corruption flood")
        kept = query(db, "SELECT count(*) FROM corruption")[0][0]
        summary = query(db, "SELECT kind, events, stored_events FROM corruption_summary")
        counted = query(db, "SELECT corruption_events, corruption_aggregated FROM processes")[0]
        if (kept != min(count, CORRUPTION_KEPT) or len(summary) != 1 or
                summary[0] != ("misaligned_pointer", count, kept) or
                counted != (count, count - kept)):
            raise RunFailed("corruption flood of %d: %d kept, summary %s, counted %s"
                            % (count, kept, summary, counted))
        size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
        rows.append((count, facts, secs, size, kept, coll))
    return rows


def corruption_table(rows):
    lines = ["| events | seconds (program) | events/s | database | kept one by one | counted | "
             "collector peak RSS |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for count, facts, secs, size, kept, coll in rows:
        loop_s = facts["loop_ns"] / 1e9
        lines.append("| %d | %.2f | %.0f k | %.1f MiB | %d | %d | %s |" % (
            count, loop_s, count / loop_s / 1e3, size / 1048576.0, kept, count, mib(coll)))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="the CMake build directory")
    parser.add_argument("--quick", action="store_true", help="a smaller set, for a smoke test")
    parser.add_argument("--rounds", type=int, default=None, help="runs per row (default 3, quick 1)")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    lib = os.path.join(build, "liballoc", "liborthotope.so")
    global RUN_USAGE
    RUN_USAGE = os.path.join(build, "bench", "run-usage")
    for path in (lib, RUN_USAGE, os.path.join(build, "bench", "trace-scale"),
                 os.path.join(build, "bench", "trace-flood")):
        if not os.path.exists(path):
            sys.exit("trace_scale.py: %s is missing; build the tree first" % path)
    rounds = args.rounds or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="trace-scale-") as tmp:
        try:
            threads = threads_rows(build, lib, tmp, QUICK_THREADS if args.quick else THREADS, rounds)
            lag = lag_rows(build, lib, tmp, QUICK_LAG_PAIRS if args.quick else LAG_PAIRS,
                           1 if args.quick else rounds)
            corruption = corruption_rows(build, lib, tmp, QUICK_MISUSE if args.quick else MISUSE,
                                         1 if args.quick else rounds)
        except RunFailed as failure:
            sys.exit("trace_scale.py: %s" % failure)
    print("Machine: %s; load average %.1f when done." % (machine_line(build), os.getloadavg()[0]))
    print()
    print("Threads alive at once (each 1000 malloc/free pairs, then a barrier), lossless:")
    print()
    print(threads_table(threads))
    print()
    print("Lag under a sustained flood (2 threads of malloc/free pairs, lossless):")
    print()
    print(lag_table(lag))
    print()
    print("A flood of corruption events (ORTHO_ON_CORRUPTION=report):")
    print()
    print(corruption_table(corruption))


if __name__ == "__main__":
    main()
