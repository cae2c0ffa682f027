#!/usr/bin/env python3
"""trace_tree.py - what a traced process tree costs the collector.

Two loads, each run through ortho-run (which returns once the collector has
finished) and checked against the trace database the moment ortho-run
returns - a run whose database is not complete then fails loudly:

- fork storm: bench/trace_tree.c's `forks N`, a parent of 4 threads forking
  N children at once (each 100 malloc/free pairs and one kept block). The
  database must hold N + 1 process rows, all ended, and every child's kept
  block as a leak with a named site.
- exec loop: `bash -c 'i=0; while [ $i -lt N ]; do /bin/true; ...'`: N
  fork+exec images of /bin/true (2 N + 1 rows, all ended), against the
  same command run plain (no preload, untraced).
- busy tree: bench/trace_tree.c's `busy N P`, N children alive at once,
  each making P malloc/free pairs (a build of N busy compilers, or a
  pre-fork server's workers): every allocation must be in the database
  (N P + the parent's), and the growth of the system's shared memory
  (Shmem) while all are alive is the rings they hold.

For each: ortho-run's wall time (until the database is complete), the
collector's peak RSS (VmHWM) and the most descriptors it held at once, both
sampled from /proc every few milliseconds while it runs (the peak RSS is
exact, being a high-water mark; the descriptor count can miss a peak
shorter than the sampling period).

Prints markdown tables (bench/README.md keeps them); --quick runs 100
forks and 50 execs in a few seconds.

Usage: python3 bench/trace_tree.py --build BUILD [--quick] [--rounds N]
"""
import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
from child import run_measured  # noqa: E402
from machine import machine_line  # noqa: E402
from trace_bench import RunFailed, collectors_of, remove_db  # noqa: E402

FORKS, QUICK_FORKS = 1000, 100
EXECS, QUICK_EXECS = 500, 50
BUSY, QUICK_BUSY = 1000, 20
BUSY_PAIRS, QUICK_BUSY_PAIRS = 150000, 20000
SAMPLE_S = 0.002
TARGET_RSS_MIB = 300
TARGET_FDS = 256
TARGET_EXEC_RATIO = 2.0


class CollectorSampler(threading.Thread):
    """Finds the ortho-collector writing `db` and samples its VmHWM and open
    descriptors until it exits or stop() is called."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db = db
        self.peak_kib = 0
        self.max_fds = 0
        self.samples = 0
        self.cpu_ticks = {}   # pid -> utime + stime, the latest seen
        self.seen = False
        self._halt = threading.Event()

    def stop(self):
        self._halt.set()
        self.join()

    def run(self):
        # The collector daemonizes: the first process found may be one that
        # exits at once, so a vanished pid means looking again.
        pid = None
        while not self._halt.is_set():
            if pid is None:
                pids = collectors_of(self.db)
                pid = pids[0] if pids else None
                self.seen = self.seen or pid is not None
            if pid is not None:
                try:
                    fds = len(os.listdir("/proc/%d/fd" % pid))
                    with open("/proc/%d/stat" % pid) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    self.cpu_ticks[pid] = int(fields[11]) + int(fields[12])
                    with open("/proc/%d/status" % pid) as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                    self.max_fds = max(self.max_fds, fds)
                    self.samples += 1
                except OSError:
                    pid = None  # it has exited
            time.sleep(SAMPLE_S)


    def cpu_seconds(self):
        """The collector's CPU time (user + system) as last sampled: a few
        milliseconds short at most."""
        return sum(self.cpu_ticks.values()) / float(os.sysconf("SC_CLK_TCK"))


def query(db, sql):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def traced(run_usage, ortho_run, argv, db):
    """Runs argv under ortho-run into db while sampling the collector;
    returns (seconds, collector peak KiB, collector max fds, output,
    collector CPU seconds)."""
    remove_db(db)
    sampler = CollectorSampler(db)
    sampler.start()
    seconds, _, rc, out, err = run_measured(run_usage, [ortho_run, "-o", db, "--"] + argv,
                                            None, None)
    sampler.stop()
    if rc != 0:
        raise RunFailed("%s exited %d: %s" % (" ".join(argv), rc, err.decode()[-300:]))
    if b"tracing off" in err:
        raise RunFailed("%s: an image ran untraced: %s" % (argv[0], err.decode()[-300:]))
    if not sampler.seen:
        raise RunFailed("%s: no collector was seen" % argv[0])
    return seconds, sampler.peak_kib, sampler.max_fds, out, sampler.cpu_seconds()


def check_rows(db, want, what):
    """The database as ortho-run left it: `want` maps via -> process rows,
    and every row has ended."""
    rows = dict(((via, (n, ended)) for via, n, ended in
                 query(db, "SELECT via, count(*), sum(end_ns IS NOT NULL) FROM processes "
                           "GROUP BY via")))
    got = dict((via, n) for via, (n, _) in rows.items())
    if got != want:
        raise RunFailed("%s: process rows %s, want %s" % (what, got, want))
    unended = sum(n - ended for n, ended in rows.values())
    if unended:
        raise RunFailed("%s: %d process rows not ended when ortho-run returned" % (what, unended))
    unwritten = query(db, "SELECT count(*) FROM stacks s WHERE NOT EXISTS (SELECT 1 FROM frames f "
                          "WHERE f.process_id = s.process_id AND f.stack_id = s.stack_id)")[0][0]
    if unwritten:
        raise RunFailed("%s: %d stacks without frames when ortho-run returned" % (what, unwritten))


def tools(build):
    """run-usage, ortho-run and trace-tree of the build."""
    return (os.path.join(build, "bench", "run-usage"), os.path.join(build, "bin", "ortho-run"),
            os.path.join(build, "bench", "trace-tree"))


def fork_rows(build, tmp, n, rounds):
    run_usage, ortho_run, prog = tools(build)
    runs = []
    for _ in range(rounds):
        db = os.path.join(tmp, "forks.db")
        secs, kib, fds, out, cpu = traced(run_usage, ortho_run, [prog, "forks", str(n)], db)
        if out.decode().split() != ["forks=%d" % n, "failed=0"]:
            raise RunFailed("fork storm: output %r" % out)
        check_rows(db, {"root": 1, "fork": n}, "fork storm")
        leaks = query(db, "SELECT count(*), count(DISTINCT process_id) FROM leaks "
                          "WHERE requested_size = 333 AND function IS NOT NULL")[0]
        if leaks != (n, n):
            raise RunFailed("fork storm: %s named leaks of the children's %d" % (leaks, n))
        runs.append((secs, kib, fds, cpu))
    return runs


def exec_rows(build, tmp, n, rounds):
    run_usage, ortho_run, _ = tools(build)
    loop = ["/bin/bash", "-c",
            "i=0; while [ $i -lt %d ]; do /bin/true; i=$((i + 1)); done" % n]
    runs = []
    for _ in range(rounds):  # interleaved: plain, then traced
        plain, _, rc, _, err = run_measured(run_usage, loop, None, None)
        if rc != 0:
            raise RunFailed("exec loop exited %d: %s" % (rc, err.decode()[-300:]))
        db = os.path.join(tmp, "execs.db")
        secs, kib, fds, _, cpu = traced(run_usage, ortho_run, loop, db)
        check_rows(db, {"root": 1, "fork": n, "exec": n}, "exec loop")
        runs.append((plain, secs, kib, fds, cpu))
    return runs


def busy_rows(build, tmp, n, pairs, rounds):
    run_usage, ortho_run, prog = tools(build)
    runs = []
    for _ in range(rounds):
        db = os.path.join(tmp, "busy.db")
        secs, kib, fds, out, cpu = traced(run_usage, ortho_run, [prog, "busy", str(n), str(pairs)], db)
        facts = dict(word.split("=", 1) for word in out.decode().split())
        if facts.get("busy") != str(n) or facts.get("failed") != "0":
            raise RunFailed("busy tree: output %r" % out)
        check_rows(db, {"root": 1, "fork": n}, "busy tree")
        allocs, dropped = query(db, "SELECT (SELECT sum(allocs) FROM class_totals), "
                                    "(SELECT sum(dropped_records) FROM processes)")[0]
        if dropped or allocs < n * pairs or allocs > n * pairs + 1000:
            raise RunFailed("busy tree: %s allocations (%s dropped), want %d and the parent's"
                            % (allocs, dropped, n * pairs))
        runs.append((secs, kib, fds, cpu, int(facts["shmem_kib"])))
    return runs


def med(values):
    return statistics.median(values)


def mib(kib):
    return "%.0f MiB" % (kib / 1024.0)


def table(forks, fork_runs, execs, exec_runs, busy, pairs, busy_runs):
    lines = ["| load | images | untraced s | traced s (ortho-run, DB complete) | traced / untraced | "
             "collector peak RSS | collector max fds | collector CPU s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines.append("| fork storm: 4-thread parent, %d children at once | %d | - | %.2f | - | %s | %d | %.2f |" % (
        forks, forks + 1, med([r[0] for r in fork_runs]), mib(max(r[1] for r in fork_runs)),
        max(r[2] for r in fork_runs), med([r[3] for r in fork_runs])))
    plain = med([r[0] for r in exec_runs])
    secs = med([r[1] for r in exec_runs])
    lines.append("| exec loop: bash, %d x /bin/true | %d | %.2f | %.2f | %.2fx | %s | %d | %.2f |" % (
        execs, 2 * execs + 1, plain, secs, secs / plain, mib(max(r[2] for r in exec_runs)),
        max(r[3] for r in exec_runs), med([r[4] for r in exec_runs])))
    lines.append("| busy tree: %d children alive at once, %d malloc/free pairs each; rings: %s of "
                 "shared memory | %d | - | %.2f | - | %s | %d | %.2f |" % (
                     busy, pairs, mib(max(r[4] for r in busy_runs)), busy + 1,
                     med([r[0] for r in busy_runs]), mib(max(r[1] for r in busy_runs)),
                     max(r[2] for r in busy_runs), med([r[3] for r in busy_runs])))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="the CMake build directory")
    parser.add_argument("--quick", action="store_true", help="a smaller set, for a smoke test")
    parser.add_argument("--rounds", type=int, default=None, help="runs per row (default 3, quick 1)")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    for rel in (("bench", "run-usage"), ("bench", "trace-tree"), ("bin", "ortho-run"),
                ("liballoc", "liborthotope.so"), ("liballoc", "ortho-collector")):
        if not os.path.exists(os.path.join(build, *rel)):
            sys.exit("trace_tree.py: %s is missing; build the tree first" % os.path.join(build, *rel))
    rounds = args.rounds or (1 if args.quick else 3)
    forks = QUICK_FORKS if args.quick else FORKS
    execs = QUICK_EXECS if args.quick else EXECS
    busy = QUICK_BUSY if args.quick else BUSY
    pairs = QUICK_BUSY_PAIRS if args.quick else BUSY_PAIRS
    with tempfile.TemporaryDirectory(prefix="trace-tree-") as tmp:
        try:
            fork_runs = fork_rows(build, tmp, forks, rounds)
            exec_runs = exec_rows(build, tmp, execs, rounds)
            busy_runs = busy_rows(build, tmp, busy, pairs, rounds)
        except RunFailed as failure:
            sys.exit("trace_tree.py: %s" % failure)
    print("Machine: %s; load average %.1f when done." % (machine_line(build), os.getloadavg()[0]))
    print()
    print("Median of %d runs (times); peak RSS and descriptors: the largest seen. Targets: "
          "collector peak RSS <= %d MiB, <= %d descriptors, exec loop <= %.0fx untraced."
          % (rounds, TARGET_RSS_MIB, TARGET_FDS, TARGET_EXEC_RATIO))
    print()
    print(table(forks, fork_runs, execs, exec_runs, busy, pairs, busy_runs))


if __name__ == "__main__":
    main()
