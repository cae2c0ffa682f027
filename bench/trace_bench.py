#!/usr/bin/env python3
"""trace_bench.py - what tracing costs and how much it can carry, side by side.

Owns the two tracing tables of bench/README.md. The first times whole
programs (ortho-bench's 64-byte churn and embedding batch, a python3 +
numpy pipeline, a scripted sqlite3 session, and a process tree: make -j2
running gcc on four small C files) under five configurations,
interleaved in a balanced order (balanced_order): glibc untraced, heaptrack on
glibc, the orthotope preload untraced, and the preload with ORTHO_TRACE=1
without and with stacks. Each traced time runs to the program's own exit,
which includes its wait for the collector to commit; each heaptrack time
runs to the `heaptrack` command's exit, which includes its wait for
heaptrack_interpret and the compressor. Each run's output is checked, and
each traced run's database must be complete (every process ended, nothing
dropped or lost, the stack depth asked for) or the run fails loudly
instead of being timed. The second table floods the collector
(bench/trace_flood.c, T threads of malloc/free pairs) in wait (lossless)
and drop mode and reports records in the database per second of wall
time. Full runs rewrite the tables between the trace:begin / trace:end and
flood:begin / flood:end markers; --quick prints only, as does --divide N
(the program table at 1/N of its inputs). --programs runs
instead a third table, programs of the real-program set (programs.py:
perl, sqlite3, python3 with PYTHONMALLOC=malloc, tclsh, jq...) as a user
traces them: through ortho-run, which returns once the database is
complete, with and without stacks, against the untraced preload, glibc and
heaptrack started on the program itself (heaptrack sees the program, not a
shell); it shows the time tracing adds against heaptrack's, the records
and what each cost, and the allocations counted by both, and rewrites the
table between the tprog:begin / tprog:end markers. Helpers come from
machine.py, readme.py, programs.py and run_bench.py.

Usage: python3 bench/trace_bench.py --build BUILD [--quick] [--rounds N] [--skip-flood]
       python3 bench/trace_bench.py --build BUILD --programs NAME,... [--quick] [--rounds N]
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
from machine import machine_line, package_version  # noqa: E402
from readme import write_readme  # noqa: E402
import programs  # noqa: E402
from run_bench import parse_result  # noqa: E402

PYTHON = "/usr/bin/python3"       # Debian's, the one python3-numpy is installed for
HEAPTRACK = "heaptrack"
DEFAULT_ROUNDS = 5                 # timed runs per cell; the median is reported
QUICK_ROUNDS = 1
QUICK_SCALE = 10                   # --quick divides every workload's size by this
COLLECTOR_EXIT_WAIT_S = 60         # how long to wait for a run's collector to go
TRACE_MARKERS = ("<!-- trace:begin -->", "<!-- trace:end -->")
FLOOD_MARKERS = ("<!-- flood:begin -->", "<!-- flood:end -->")
PROGRAM_MARKERS = ("<!-- tprog:begin -->", "<!-- tprog:end -->")
PROGRAM_ROUNDS = 3                 # --programs: runs per cell by default
FLOOD_PAIRS = 6000000              # malloc/free pairs per flood thread
FLOOD_THREADS = (1, 2)
TREE_WORKLOAD = "gcc build tree (make -B -j2, 4 C files)"


class Config:
    """One column of the workload table: how a program is run."""

    def __init__(self, name, ortho, trace_env, heaptrack, base):
        self.name = name
        self.ortho = ortho            # LD_PRELOAD=liborthotope.so
        self.trace_env = trace_env    # ORTHO_TRACE* variables, {} when untraced
        self.heaptrack = heaptrack    # run under `heaptrack -o ...`
        self.base = base              # the untraced configuration of its allocator

    @property
    def traced(self):
        return bool(self.trace_env)


CONFIGS = [
    Config("glibc", False, {}, False, None),
    Config("heaptrack", False, {}, True, "glibc"),
    Config("orthotope", True, {}, False, None),
    Config("trace, no stacks", True,
           {"ORTHO_TRACE": "1", "ORTHO_TRACE_STACKS": "0", "ORTHO_TRACE_OVERFLOW": "wait"},
           False, "orthotope"),
    Config("trace + stacks", True, {"ORTHO_TRACE": "1", "ORTHO_TRACE_OVERFLOW": "wait"},
           False, "orthotope"),
]
DEFAULT_STACK_DEPTH = 32           # ORTHO_TRACE_STACKS unset (docs/tracing.md)


class RunFailed(Exception):
    pass


# ---- the workloads ---------------------------------------------------------

def sqlite_script(path, rows):
    """Writes the sqlite3 session: a table, `rows` single-row INSERTs in one
    transaction (each statement parsed and run on its own, as an
    application would), an index, and queries over it."""
    with open(path, "w") as f:
        f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v REAL, note TEXT);\nBEGIN;\n")
        for i in range(rows):
            f.write("INSERT INTO t(k, v, note) VALUES ('key%05d', %d.25, '%s');\n"
                    % (i * 7919 % 5000, i, ("n%d" % i) * (1 + i % 9)))
        f.write("COMMIT;\nCREATE INDEX tk ON t(k);\n"
                "SELECT count(*), count(DISTINCT k), round(sum(v), 2) FROM t;\n"
                "SELECT k, count(*), max(length(note)) FROM t GROUP BY k "
                "ORDER BY 2 DESC, 1 LIMIT 3;\n"
                "SELECT count(*) FROM t a JOIN t b ON a.k = b.k "
                "WHERE a.id < 2000 AND b.id % 7 = 0;\n")


def build_tree(path, sources):
    """Writes a small C project under path: `sources` files and a Makefile
    that compiles each with gcc -O2 -g (make -j2 -B: a tree of make, gcc
    drivers, cc1 and as - one traced image each)."""
    os.makedirs(path, exist_ok=True)
    objects = []
    for i in range(sources):
        with open(os.path.join(path, "unit%d.c" % i), "w") as f:
            f.write("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                    "struct row%d { int id; double v[4]; char name[16]; };\n"
                    "int unit%d(int n) {\n"
                    "    struct row%d *rows = calloc((size_t)n, sizeof *rows);\n"
                    "    int sum = 0;\n"
                    "    for (int k = 0; k < n; k++) {\n"
                    "        rows[k].id = k * %d;\n"
                    "        snprintf(rows[k].name, sizeof rows[k].name, \"r%%d\", k);\n"
                    "        sum += rows[k].id + (int)strlen(rows[k].name);\n"
                    "    }\n"
                    "    free(rows);\n"
                    "    return sum;\n"
                    "}\n" % (i, i, i, i + 3))
        objects.append("unit%d.o" % i)
    with open(os.path.join(path, "Makefile"), "w") as f:
        f.write("all: %s\n%%.o: %%.c\n\tgcc -O2 -g -c $< -o $@\n" % " ".join(objects))
    return path


class Workload:
    """A program to time: argv, and how to tell its output is right."""

    def __init__(self, name, argv, bench_workload=None, env=None, stdin=None, cwd=None):
        self.name = name
        self.argv = argv
        self.bench_workload = bench_workload   # ortho-bench's workload name, or None
        self.reference = None                  # expected stdout (programs)
        self.env = dict(env or {})             # the program's own settings
        self.stdin = stdin                     # file fed to stdin, or None
        self.cwd = cwd                         # working directory, None: the scratch one

    def check(self, out, provider_prefix):
        """Raises RunFailed unless `out` is this program's right output."""
        if self.bench_workload is None:
            if out != self.reference:
                raise RunFailed("output differs from glibc's: %r" % out[-200:])
            return
        result = parse_result(out)
        if result is None or result.get("workload") != self.bench_workload:
            raise RunFailed("no result line from ortho-bench")
        provider = os.path.basename(result.get("provider", ""))
        if not provider.startswith(provider_prefix):
            raise RunFailed("served by %s, not %s: the preload did not take effect"
                            % (provider, provider_prefix))


def program_workloads(names, tmp, scale):
    """Workloads from the real-program set (programs.py), at 1/scale of
    their inputs, with their own environment, stdin and directory."""
    program_set, skipped = programs.make_set(os.path.join(tmp, "programs"), 1.0 / scale, names)
    for name, why in skipped:
        print("skip %s: %s" % (name, why), file=sys.stderr)
    return [Workload(p.title, p.argv, env=p.env, stdin=p.stdin, cwd=p.cwd) for p in program_set]


def make_workloads(build, tmp, scale):
    bench = os.path.abspath(os.path.join(build, "bench", "ortho-bench"))
    sql = os.path.join(tmp, "session.sql")
    sqlite_script(sql, 60000 // scale)
    pipeline = [PYTHON, os.path.join(BENCH_DIR, "trace_pipeline.py")]
    if scale != 1:
        pipeline.append("--quick")
    tree = build_tree(os.path.join(tmp, "tree"), 4)
    return [
        Workload("churn 64 B (ortho-bench same_thread_small_churn/64)",
                 [bench, "--api", "malloc", "--warmup", "0", "--samples", "1", "--iterations",
                  str(5000000 // scale), "same_thread_small_churn/64"],
                 "same_thread_small_churn/64"),
        Workload("embedding batch (ortho-bench embedding_batch)",
                 [bench, "--api", "malloc", "--warmup", "0", "--samples", "1", "--iterations",
                  str(81250 // scale), "embedding_batch"], "embedding_batch"),
        Workload("python3 numpy pipeline (bench/trace_pipeline.py)", pipeline),
        Workload("sqlite3 session (%d INSERTs, index, queries)" % (60000 // scale),
                 ["sqlite3", ":memory:", ".read " + sql]),
        Workload(TREE_WORKLOAD, ["make", "-s", "-B", "-j2", "-C", tree]),
    ]


# ---- running one program -----------------------------------------------------

def run_timed(argv, cwd, preload, extra_env=None, stdin=None, span=None):
    """Runs argv with `preload` as LD_PRELOAD (None: none), `extra_env`
    added to the environment and the file `stdin` (None: nothing) as its
    input; returns (seconds, exit code, stdout, stderr). A list `span` gets
    the CLOCK_MONOTONIC seconds of the start and of the return."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(extra_env or {})
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        with open(stdin or os.devnull, "rb") as in_file:
            start = time.monotonic()
            code = subprocess.run(argv, cwd=cwd, env=env, stdin=in_file, stdout=out_file,
                                  stderr=err_file).returncode
            seconds = time.monotonic() - start
        if span is not None:
            span[:] = [start, start + seconds]
        out_file.seek(0)
        err_file.seek(0)
        return seconds, code, out_file.read(), err_file.read()


def strip_heaptrack(out):
    """The program's own stdout out of `heaptrack`'s, which wraps it in
    lines of its own; also returns the output file heaptrack named."""
    lines = out.splitlines(keepends=True)
    path = None
    start, end = 0, len(lines)
    for i, line in enumerate(lines):
        if line.startswith("heaptrack output will be written to") and path is None:
            path = line.split('"')[1] if '"' in line else None
        elif line.startswith("starting application") and start == 0:
            start = i + 1
        elif line.startswith("Heaptrack finished!"):
            end = i
    return "".join(lines[start:end]), path


def collectors_of(db):
    """Pids of running ortho-collector processes writing `db`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"ortho-collector") and db.encode() in args:
            pids.append(int(entry))
    return pids


def wait_collector_gone(db):
    """Waits until the collector of `db` has exited (so that its closing work
    is not charged to the next run); returns the seconds waited. Raises
    RunFailed if it is still there after COLLECTOR_EXIT_WAIT_S."""
    start = time.monotonic()
    while collectors_of(db):
        if time.monotonic() - start > COLLECTOR_EXIT_WAIT_S:
            raise RunFailed("the collector was still running %d s after the program exited"
                            % COLLECTOR_EXIT_WAIT_S)
        time.sleep(0.002)
    return time.monotonic() - start


def ended_at_return(db):
    """True if every process row of `db` had end_ns set when we looked, right
    after the program returned (None if the database could not be read).
    A missing file stays missing: connecting would create an empty one."""
    if not os.path.exists(db):
        return None
    try:
        con = sqlite3.connect(db, timeout=10)
        try:
            rows = con.execute("SELECT end_ns FROM processes").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return bool(rows) and all(r[0] is not None for r in rows)


def remove_db(db):
    for suffix in ("", "-wal", "-shm", ".old"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)


def check_database(db, cfg):
    """Reads a traced run's database once its collector has exited:
    (records, allocations, worst lag ns), or RunFailed if it is incomplete."""
    if not os.path.exists(db):
        raise RunFailed("no trace database was written")
    con = sqlite3.connect(db, timeout=10)
    try:
        procs = con.execute("SELECT end_ns, records, dropped_records, lost_no_slot, "
                            "overflow, stack_depth, max_lag_ns FROM processes").fetchall()
        allocs = con.execute("SELECT coalesce(sum(allocs), 0) FROM class_totals").fetchone()[0]
    except sqlite3.Error as err:
        raise RunFailed("trace database unreadable: %s" % err)
    finally:
        con.close()
    if not procs:
        raise RunFailed("trace database has no process")
    if any(p[0] is None for p in procs):
        raise RunFailed("trace database incomplete: a process has no end_ns")
    dropped = sum(p[2] + p[3] for p in procs)
    if cfg.trace_env.get("ORTHO_TRACE_OVERFLOW", "wait") == "wait" and dropped:
        raise RunFailed("%d records dropped in wait (lossless) mode" % dropped)
    want_depth = int(cfg.trace_env.get("ORTHO_TRACE_STACKS", DEFAULT_STACK_DEPTH))
    if any(p[5] != want_depth for p in procs):
        raise RunFailed("traced with stack depth %s, not %d" % (procs[0][5], want_depth))
    return sum(p[1] for p in procs), allocs, max(p[6] for p in procs)


def run_config(cfg, wl, ortho_lib, tmp, serial):
    """One timed run: a dict with the wall seconds and, for a traced run,
    the allocations traced, the worst lag, whether the database was already
    final when the program returned, and how long the collector went on
    after that (the tail). Raises RunFailed with the reason when the run
    went wrong."""
    argv, env, preload = list(wl.argv), dict(wl.env), None
    db = os.path.join(tmp, "run%d.db" % serial)
    if cfg.heaptrack:
        argv = [HEAPTRACK, "-o", os.path.join(tmp, "heaptrack%d" % serial)] + argv
    if cfg.ortho:
        preload = ortho_lib
    if cfg.traced:
        env.update(cfg.trace_env, ORTHO_TRACE_DB=db)
    seconds, code, out, err = run_timed(argv, wl.cwd or tmp, preload, env, wl.stdin)
    result = {"seconds": seconds}
    if cfg.traced:
        result["ended"] = ended_at_return(db)
        result["tail"] = wait_collector_gone(db)
    out = out.decode(errors="replace")
    try:
        if code != 0:
            tail = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise RunFailed("exit %d: %s" % (code, tail))
        if cfg.heaptrack:
            out, path = strip_heaptrack(out)
            if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
                raise RunFailed("heaptrack wrote no data file")
            os.unlink(path)
        wl.check(out, "libheaptrack_preload" if cfg.heaptrack else
                 "liborthotope" if cfg.ortho else "libc.so")
        if cfg.traced:
            _, result["allocs"], result["lag"] = check_database(db, cfg)
        return result
    finally:
        if cfg.traced:
            remove_db(db)


# ---- the workload table ----------------------------------------------------

def fmt_s(v):
    return "failed" if v is None else "%.3f" % v


def fmt_x(v):
    return "n/a" if v is None else "%.2fx" % v


def fmt_ns(v):
    return "n/a" if v is None else ("%.0f" % v if abs(v) >= 10 else "%.1f" % v)


def set_reference(wl, tmp):
    """One untimed glibc run of `wl`: its output becomes the reference every
    measured run must print, and the page cache is warm for them."""
    _, code, out, err = run_timed(wl.argv, wl.cwd or tmp, None, wl.env, wl.stdin)
    if code != 0:
        sys.exit("trace_bench.py: %s fails even untraced under glibc (exit %d): %s"
                 % (wl.name, code, err.decode(errors="replace")[-300:]))
    wl.reference = out.decode(errors="replace")


def balanced_order(n, r):
    """The order of n configurations in round r, from a Williams design: a
    first row 0, 1, n-1, 2, n-2, ..., shifted by one each round, and for
    an odd n each row also reversed. Over its n rows (2n for an odd n)
    every configuration follows every other equally often. A plain
    rotation keeps one cyclic order, so a configuration follows the same
    one in every round but one in n: heaptrack's run was followed by
    preload's inside a round and by `ortho-run` with stacks across the
    start of one, never by the others (bench/README.md, A balanced
    order)."""
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(x + k) % n for x in first] for k in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows[r % len(rows)]


def run_round(wl, configs, r, state, failures, run_one):
    """Round `r` of workload `wl`: every config of `configs` once, in the
    order balanced_order gives round r. state is (runs {config name:
    [results]}, failed names, [serial number reached]); a config whose run
    fails is added to the failed names, noted in `failures` and skipped
    from then on. run_one(cfg, serial) does one run."""
    runs, failed, serial = state
    for cfg in (configs[i] for i in balanced_order(len(configs), r)):
        if cfg.name in failed:
            continue
        serial[0] += 1
        try:
            result = run_one(cfg, serial[0])
            result.update(round=r + 1, serial=serial[0])
            runs[cfg.name].append(result)
        except RunFailed as err:
            failed.add(cfg.name)
            failures.append("%s under %s: %s" % (wl.name, cfg.name, err))
            print("FAILED %s under %s: %s" % (wl.name, cfg.name, err), file=sys.stderr)


def run_rounds(wl, configs, rounds, serial, failures, run_one):
    """Runs every config of `configs` `rounds` times on workload `wl`,
    interleaved in run_round's balanced order. Returns ({config name:
    [results]}, failed names, the serial number reached)."""
    state = ({c.name: [] for c in configs}, set(), [serial])
    for r in range(rounds):
        run_round(wl, configs, r, state, failures, run_one)
    return state[0], state[1], state[2][0]


def workload_rows(workloads, configs, ortho_lib, tmp, rounds, failures):
    """Runs every workload under every configuration, `rounds` times,
    interleaved; returns one row per workload: (name, {config: median s},
    median allocations traced, {config: median collector tail s}, worst lag
    ns, traced runs whose database was not final at return, traced runs)."""
    rows = []
    serial = 0
    for wl in workloads:
        if wl.bench_workload is None:
            set_reference(wl, tmp)
        runs, failed, serial = run_rounds(
            wl, configs, rounds, serial, failures,
            lambda cfg, n: run_config(cfg, wl, ortho_lib, tmp, n))
        ok = {n: v for n, v in runs.items() if v and n not in failed}
        med = {n: (statistics.median(x["seconds"] for x in ok[n]) if n in ok else None)
               for n in runs}
        traced = [x for v in ok.values() for x in v if "allocs" in x]
        tails = {n: statistics.median(x["tail"] for x in v) for n, v in ok.items()
                 if v and "tail" in v[0]}
        rows.append((wl.name, med,
                     statistics.median(x["allocs"] for x in traced) if traced else None,
                     tails, max((x["lag"] for x in traced), default=None),
                     sum(1 for x in traced if not x["ended"]), len(traced)))
        print("%-52s %s" % (wl.name[:52], "  ".join("%s %s" % (n, fmt_s(med[n])) for n in med)),
              flush=True)
    return rows


def workload_table(rows, configs, notes, failures, rounds, build, load):
    names = [c.name for c in configs]
    by_name = {c.name: c for c in configs}
    traced = [n for n in names if by_name[n].traced]
    out = ["Machine: %s. Load average (1 min) %.2f at the start, %.2f at the end."
           % (machine_line(build), load[0], load[1]),
           "Each time: median of %d runs, wall seconds of the whole program from start "
           "to exit, configurations interleaved in a balanced order: over 2 x their number "
           "of rounds each follows every other equally often. "
           "Traced runs (ORTHO_TRACE=1, wait mode; stacks at the default depth %d or "
           "ORTHO_TRACE_STACKS=0) include the program's wait at exit for the collector "
           "to commit; every traced database was checked complete (all processes ended, "
           "0 dropped, the stack depth asked for) once the collector had exited. "
           "heaptrack times run until the `heaptrack` command exits, which waits for "
           "heaptrack_interpret and the compressor to finish the data file."
           % (rounds, DEFAULT_STACK_DEPTH)]
    versions = []
    libc_name, libc_version = platform.libc_ver()
    if libc_version:
        versions.append("%s %s" % (libc_name, libc_version))
    if "heaptrack" in names:
        hv = package_version(shutil.which(HEAPTRACK) or HEAPTRACK)
        if hv:
            versions.append(hv)
    if versions:
        out.append("Versions: " + ", ".join(versions) + ".")
    out.extend(notes)
    if any(r[0] == TREE_WORKLOAD for r in rows):
        out.append("The gcc build tree is a process tree: orthotope traces every image of it "
                   "(make, the gcc drivers, cc1, as), heaptrack only the process it starts "
                   "(make); `allocations` counts the whole tree, so its heaptrack columns are "
                   "the cost of tracing make alone, not a like-for-like comparison.")
    late = sum(r[5] for r in rows)
    total = sum(r[6] for r in rows)
    if total:
        out.append("The collector set processes.end_ns only after the program had returned "
                   "in %d of %d traced runs (it writes end_ns when it sees the process gone, "
                   "after the exit handshake the program waits for)." % (late, total))
    out.append("")
    header = (["workload", "allocations"] + ["%s s" % n for n in names] +
              ["%s slowdown" % n for n in names if by_name[n].base] +
              ["%s ns/alloc" % n for n in names if by_name[n].base] +
              ["no stacks / heaptrack cost", "stacks / heaptrack cost"] +
              ["%s collector tail s" % n for n in traced])
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|")
    for name, med, allocs, tails, _, _, _ in rows:
        def extra(n):
            b = by_name[n].base
            if med.get(n) is None or med.get(b) is None:
                return None
            return med[n] - med[b]
        slow = [None if extra(n) is None else med[n] / med[by_name[n].base]
                for n in names if by_name[n].base]
        per = [None if extra(n) is None or not allocs else extra(n) / allocs * 1e9
               for n in names if by_name[n].base]
        ht = extra("heaptrack") if "heaptrack" in names else None

        def share(n):
            e = extra(n) if n in med else None
            if e is None or ht is None or ht <= 0:
                return "n/a"
            return "%.2f" % (e / ht)
        cells = ([name, "{:,}".format(int(allocs)) if allocs else "n/a"] +
                 [fmt_s(med.get(n)) for n in names] + [fmt_x(v) for v in slow] +
                 [fmt_ns(v) for v in per] +
                 [share("trace, no stacks"), share("trace + stacks")] +
                 [fmt_s(tails.get(n)) for n in traced])
        out.append("| " + " | ".join(cells) + " |")
    if "heaptrack" not in names:
        out.append("")
        out.append("Cost shares vs heaptrack: n/a, heaptrack is not installed.")
    if failures:
        out.append("")
        out.append("Failed runs (cell shows \"failed\"): " + "; ".join(failures) + ".")
    return "\n".join(out)


# ---- real programs through ortho-run ----------------------------------------

class ProgramConfig:
    """One column of the program table: how a real program is run."""

    def __init__(self, name, kind, stacks=None):
        self.name = name
        self.kind = kind       # glibc, heaptrack, preload or ortho-run
        self.stacks = stacks   # ortho-run --stacks, None: the default depth


PROGRAM_CONFIGS = [
    ProgramConfig("preload", "preload"),
    ProgramConfig("ortho-run", "ortho-run"),
    ProgramConfig("ortho-run, no stacks", "ortho-run", 0),
    ProgramConfig("glibc", "glibc"),
    ProgramConfig("heaptrack", "heaptrack"),
]


def heaptrack_allocations(out):
    """The `allocations:` count of heaptrack's closing stats, or None."""
    m = re.search(r"^\s*allocations:\s*(\d+)\s*$", out, re.M)
    return int(m.group(1)) if m else None


def run_program(cfg, wl, ortho_lib, ortho_run, tmp, serial):
    """One timed run of a real program: wall seconds, CPU seconds of the
    whole tree (the program and, through ortho-run, the collector it
    reaps), and the allocations the tool counted (ortho-run: the
    database's, with its records; heaptrack: its stats). Raises RunFailed."""
    argv, env, preload = list(wl.argv), dict(wl.env), None
    db = os.path.join(tmp, "prog%d.db" % serial)
    if cfg.kind == "heaptrack":
        argv = [HEAPTRACK, "-o", os.path.join(tmp, "heaptrack%d" % serial)] + argv
    elif cfg.kind == "preload":
        preload = ortho_lib
    elif cfg.kind == "ortho-run":
        opts = ["-o", db, "--lib", ortho_lib]
        if cfg.stacks is not None:
            opts += ["--stacks", str(cfg.stacks)]
        argv = [ortho_run] + opts + ["--"] + argv
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    span = []
    seconds, code, out, err = run_timed(argv, wl.cwd or tmp, preload, env, wl.stdin, span)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {"seconds": seconds,
              "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}
    out = out.decode(errors="replace")
    try:
        if code != 0:
            tail = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise RunFailed("exit %d: %s" % (code, tail))
        if cfg.kind == "heaptrack":
            out, path = strip_heaptrack(out)
            if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
                raise RunFailed("heaptrack wrote no data file")
            os.unlink(path)
            result["allocs"] = heaptrack_allocations(out + "\n" + err.decode(errors="replace"))
            out = re.sub(r"(?s)heaptrack stats:.*\Z", "", out)
        wl.check(out, "")
        if cfg.kind == "ortho-run":
            if collectors_of(db):
                raise RunFailed("ortho-run returned while the collector still ran")
            depth = DEFAULT_STACK_DEPTH if cfg.stacks is None else cfg.stacks
            env_cfg = Config(cfg.name, True, {"ORTHO_TRACE": "1",
                                              "ORTHO_TRACE_STACKS": str(depth)}, False, None)
            result["records"], result["allocs"], _ = check_database(db, env_cfg)
            con = sqlite3.connect(db, timeout=10)
            try:
                result["wait_ms"], result["lag_ms"], first_ns, last_ns = con.execute(
                    "SELECT sum(ring_wait_ns) / 1e6, max(max_lag_ns) / 1e6, min(start_ns), "
                    "max(end_ns) FROM processes").fetchone()
            finally:
                con.close()
            # The database's times are CLOCK_MONOTONIC, as time.monotonic():
            # from ortho-run's start to the program's, and from the
            # program's end to ortho-run's return.
            if first_ns and last_ns:
                result["start_ms"] = (first_ns / 1e9 - span[0]) * 1e3
                result["tail_ms"] = (span[1] - last_ns / 1e9) * 1e3
        return result
    finally:
        if cfg.kind == "ortho-run":
            remove_db(db)


# The four configurations the key figure is made of, in the order of
# share_of's arguments: (ortho-run - preload) / (heaptrack - glibc).
SHARE_CONFIGS = ("ortho-run", "preload", "heaptrack", "glibc")


def share_of(ours, pre, ht, base):
    """ours / heaptrack from four times in seconds; None if heaptrack added
    nothing."""
    return (ours - pre) / (ht - base) if ht - base > 0 else None


def round_shares(runs, failed):
    """ours / heaptrack within each round, from the four runs of one round,
    which ran one after the other, so a slow stretch of the machine that
    lasts a round weighs on both sides. None without heaptrack or after a
    failure."""
    if any(n in failed or n not in runs for n in SHARE_CONFIGS):
        return None
    shares = [share_of(*(r["seconds"] for r in one_round))
              for one_round in zip(*(runs[n] for n in SHARE_CONFIGS))]
    return [v for v in shares if v is not None] or None


def fastest_share(runs, failed):
    """ours / heaptrack from each configuration's fastest run: noise here
    only ever adds time (one virtual CPU runs slow for stretches, see
    bench/README.md), so the fastest run is the one it touched least.
    None without heaptrack or after a failure."""
    if any(n in failed or not runs.get(n) for n in SHARE_CONFIGS):
        return None
    return share_of(*(min(x["seconds"] for x in runs[n]) for n in SHARE_CONFIGS))


def program_rows(workloads, configs, ortho_lib, ortho_run, tmp, rounds, failures):
    """Every program under every configuration, `rounds` times. A round
    runs every program once under each configuration (run_round's balanced
    order), one program after the other, so each program's runs spread
    over the whole benchmark: a slow stretch of the machine, which here
    lasts minutes, falls on a few rounds of every program rather than on
    all rounds of one. One row per program: (name, {config: median s},
    {config: median CPU s}, {config: median allocations}, median records,
    and with stacks the median time the program waited on full rings and
    the median worst lag, ms, then the per-round shares and the share of
    the fastest runs)."""
    for wl in workloads:
        set_reference(wl, tmp)
    serial = [0]  # one count over every program: each run's files get their own number
    states = [({c.name: [] for c in configs}, set(), serial) for _ in workloads]
    for r in range(rounds):
        for wl, state in zip(workloads, states):
            run_round(wl, configs, r, state, failures,
                      lambda cfg, n, wl=wl: run_program(cfg, wl, ortho_lib, ortho_run, tmp, n))
        print("round %d of %d done" % (r + 1, rounds), flush=True)
    rows, raw = [], []
    for wl, (runs, failed, _) in zip(workloads, states):
        raw += [dict(x, program=wl.name, config=n) for n, v in runs.items() for x in v]
        def med(name, key):
            v = [x[key] for x in runs[name] if x.get(key) is not None]
            return statistics.median(v) if v and name not in failed else None
        secs = {c.name: med(c.name, "seconds") for c in configs}
        cpu = {c.name: med(c.name, "cpu") for c in configs}
        allocs = {c.name: med(c.name, "allocs") for c in configs}
        rows.append((wl.name, secs, cpu, allocs, med("ortho-run", "records"),
                     med("ortho-run", "wait_ms"), med("ortho-run", "lag_ms"),
                     round_shares(runs, failed), fastest_share(runs, failed)))
        print("%-52s %s" % (wl.name[:52], "  ".join("%s %s" % (n, fmt_s(secs[n])) for n in secs)),
              flush=True)
        for n in ("ortho-run", "ortho-run, no stacks"):
            start, tail = med(n, "start_ms"), med(n, "tail_ms")
            if start is not None and tail is not None:
                print("    %s: %.1f ms from ortho-run's start to the program's, %.1f ms from "
                      "its end to ortho-run's return (medians)" % (n, start, tail), flush=True)
    return rows, sorted(raw, key=lambda x: x["serial"])


def program_table(rows, configs, failures, rounds, build, load):
    names = [c.name for c in configs]
    have_ht = "heaptrack" in names
    out = ["Machine: %s. Load average (1 min) %.2f at the start, %.2f at the end."
           % (machine_line(build), load[0], load[1]),
           "Each time: median of %d runs, wall seconds from start to exit. A round runs "
           "every program once under each configuration, one program after the other; a "
           "program's configurations run in a balanced order (over %d rounds each follows "
           "every other twice). preload: LD_PRELOAD=liborthotope.so, "
           "untraced. ortho-run: `ortho-run -o DB -- PROGRAM` (stacks at the default depth %d) "
           "and `ortho-run --stacks 0`; ortho-run returns once the database is complete, and "
           "every database was checked (all processes ended, 0 dropped, the depth asked for). "
           "heaptrack: `heaptrack -o FILE PROGRAM` on glibc, until the command returns (it "
           "waits for its data file). Added time: ortho-run - preload, heaptrack - glibc. "
           "ns/record: ortho-run's added time over the records in its database; CPU ns/record: "
           "the same for CPU time of the whole tree (program, collector, ortho-run). "
           "Ring waits: the time the program's threads waited on full rings "
           "(processes.ring_wait_ns); worst lag: max_lag_ns (ortho-run with stacks). "
           "Per round: the same share from the four runs of each round alone, its median "
           "and range over the rounds. Fastest runs: the same share from each "
           "configuration's fastest run."
           % (rounds, 2 * len(configs), DEFAULT_STACK_DEPTH)]
    libc_name, libc_version = platform.libc_ver()
    versions = ["%s %s" % (libc_name, libc_version)] if libc_version else []
    if have_ht:
        hv = package_version(shutil.which(HEAPTRACK) or HEAPTRACK)
        if hv:
            versions.append(hv)
    if versions:
        out.append("Versions: " + ", ".join(versions) + ".")
    out.append("")
    out.append("| program | preload s | ortho-run s | ortho-run, no stacks s | glibc s | "
               "heaptrack s | ours / heaptrack, added time (no stacks) | per round: median "
               "[range] | fastest runs | records | ns/record | CPU ns/record | ring waits ms | "
               "worst lag ms | allocations: ours / heaptrack |")
    out.append("| --- |" + " ---: |" * 14)
    for name, secs, cpu, allocs, records, wait_ms, lag_ms, rounds_share, fastest in rows:
        def added(n, base):
            if secs.get(n) is None or secs.get(base) is None:
                return None
            return secs[n] - secs[base]
        ours, bare = added("ortho-run", "preload"), added("ortho-run, no stacks", "preload")
        ht = added("heaptrack", "glibc") if have_ht else None

        def share(v):
            return "n/a" if v is None or ht is None or ht <= 0 else "%.2f" % (v / ht)
        per = None if ours is None or not records else ours / records * 1e9
        cpu_per = (None if not records or cpu.get("ortho-run") is None or
                   cpu.get("preload") is None else
                   (cpu["ortho-run"] - cpu["preload"]) / records * 1e9)
        a_ours, a_ht = allocs.get("ortho-run"), allocs.get("heaptrack")
        count = "%s / %s" % ("{:,}".format(int(a_ours)) if a_ours is not None else "n/a",
                             "{:,}".format(int(a_ht)) if a_ht is not None else "n/a")
        per_round = ("n/a" if not rounds_share else "%.2f [%.2f-%.2f]" % (
            statistics.median(rounds_share), min(rounds_share), max(rounds_share)))
        out.append("| %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s |"
                   % (name, fmt_s(secs.get("preload")), fmt_s(secs.get("ortho-run")),
                      fmt_s(secs.get("ortho-run, no stacks")), fmt_s(secs.get("glibc")),
                      fmt_s(secs.get("heaptrack")) if have_ht else "n/a", share(ours),
                      share(bare), per_round, "n/a" if fastest is None else "%.2f" % fastest,
                      "{:,}".format(int(records)) if records else "n/a",
                      fmt_ns(per), fmt_ns(cpu_per), fmt_ns(wait_ms), fmt_ns(lag_ms), count))
    if not have_ht:
        out.append("")
        out.append("heaptrack is not installed: its columns read n/a.")
    if failures:
        out.append("")
        out.append("Failed runs (cell shows \"failed\"): " + "; ".join(failures) + ".")
    return "\n".join(out)


def programs_main(args, names, ortho_lib, scale):
    """--programs: the program table alone; written unless --quick."""
    ortho_run = os.path.abspath(os.path.join(args.build, "bin", "ortho-run"))
    if not os.path.exists(ortho_run):
        sys.exit("trace_bench.py: %s not found; build first: cmake --build %s"
                 % (ortho_run, args.build))
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else PROGRAM_ROUNDS)
    configs = list(PROGRAM_CONFIGS)
    if shutil.which(HEAPTRACK) is None:
        configs = [c for c in configs if c.kind != "heaptrack"]
        print("note: heaptrack is not installed; its columns read n/a", file=sys.stderr)
    failures = []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        workloads = program_workloads(names, tmp, scale)
        rows, raw = program_rows(workloads, configs, ortho_lib, ortho_run, tmp, rounds, failures)
    if args.runs_json:
        with open(args.runs_json, "w") as f:
            json.dump(raw, f, indent=1)
        print("every run, in the order run: %s" % args.runs_json)
    table = program_table(rows, configs, failures, rounds, args.build,
                          (load_start, os.getloadavg()[0]))
    print()
    print(table)
    if failures:
        print("\n%d run(s) FAILED (listed under the table)" % len(failures), file=sys.stderr)
    if args.quick or args.divide is not None:
        print("\n(%s: bench/README.md left unchanged)" % ("--quick" if args.quick else "--divide"))
        return 1 if failures else 0
    write_readme(table, PROGRAM_MARKERS[0], PROGRAM_MARKERS[1], "Tracing real programs")
    print("\nwrote the table into %s" % os.path.join(BENCH_DIR, "README.md"))
    return 1 if failures else 0


# ---- the flood table -------------------------------------------------------

def flood_configs():
    """(label, threads, ORTHO_TRACE* env) of each flood row."""
    rows = []
    for overflow, stacks in (("wait", "0"), ("drop", "0"), ("wait", None)):
        for threads in FLOOD_THREADS:
            env = {"ORTHO_TRACE": "1", "ORTHO_TRACE_OVERFLOW": overflow}
            if stacks is not None:
                env["ORTHO_TRACE_STACKS"] = stacks
            label = "%s, %s" % (overflow + (" (lossless)" if overflow == "wait" else ""),
                                "no stacks" if stacks == "0" else
                                "stacks (depth %d)" % DEFAULT_STACK_DEPTH)
            rows.append((label, threads, env))
    return rows


def run_flood(flood, ortho_lib, tmp, threads, pairs, env, serial):
    """One flood run: dict of records, dropped, wall s, loop s, lag ns."""
    db = os.path.join(tmp, "flood%d.db" % serial)
    argv = [flood, "--threads", str(threads), "--pairs", str(pairs)]
    full_env = dict(env, ORTHO_TRACE_DB=db) if env else {}
    seconds, code, out, err = run_timed(argv, tmp, ortho_lib, full_env)
    try:
        if code != 0:
            raise RunFailed("exit %d: %s" % (code, err.decode(errors="replace").strip()[-200:]))
        fields = dict(f.split("=", 1) for f in out.decode().split()[1:] if "=" in f)
        if "loop_ns" not in fields:
            raise RunFailed("no result line from trace-flood")
        result = {"wall": seconds, "loop": int(fields["loop_ns"]) / 1e9}
        if not env:
            return result
        if not os.path.exists(db):
            raise RunFailed("no trace database was written")
        result["ended"] = ended_at_return(db)
        result["tail"] = wait_collector_gone(db)
        con = sqlite3.connect(db, timeout=10)
        try:
            procs = con.execute("SELECT end_ns, records, dropped_records, lost_no_slot, "
                                "max_lag_ns FROM processes").fetchall()
        finally:
            con.close()
        if not procs or any(p[0] is None for p in procs):
            raise RunFailed("trace database incomplete: a process has no end_ns")
        records = sum(p[1] for p in procs)
        dropped = sum(p[2] + p[3] for p in procs)
        if env["ORTHO_TRACE_OVERFLOW"] == "wait" and dropped:
            raise RunFailed("%d records dropped in wait (lossless) mode" % dropped)
        if records + dropped < 2 * threads * pairs:
            raise RunFailed("%d records + %d dropped < %d malloc/free events"
                            % (records, dropped, 2 * threads * pairs))
        result.update(records=records, dropped=dropped, lag=max(p[4] for p in procs))
        return result
    finally:
        if env:
            if collectors_of(db):
                wait_collector_gone(db)
            remove_db(db)


def flood_table(flood, ortho_lib, tmp, rounds, pairs, failures):
    configs = flood_configs()
    untraced = [("untraced (orthotope preload)", t, {}) for t in FLOOD_THREADS]
    everything = configs + untraced
    samples = {i: [] for i in range(len(everything))}
    failed, flood_failures = set(), []
    serial = 0
    for r in range(rounds):
        order = list(range(len(everything)))
        shift = r % len(order)
        for i in order[shift:] + order[:shift]:
            if i in failed:
                continue
            label, threads, env = everything[i]
            serial += 1
            try:
                samples[i].append(run_flood(flood, ortho_lib, tmp, threads, pairs, env, serial))
            except RunFailed as err:
                failed.add(i)
                flood_failures.append("flood %s, %d thread(s): %s" % (label, threads, err))
                print("FAILED flood %s, %d thread(s): %s" % (label, threads, err),
                      file=sys.stderr)

    def med(i, f):
        v = [f(s) for s in samples[i]]
        return statistics.median(v) if v and i not in failed else None

    out = ["Each row: median of %d runs of `trace-flood --threads T --pairs %d` (every "
           "thread does %d malloc(64)/free pairs) under LD_PRELOAD=liborthotope.so, rows "
           "interleaved round-robin. Wall s: the whole process, start to exit, including "
           "the wait for the collector at exit. records/s = records in the database "
           "(processes.records) / wall s; in drop mode that is what the collector received, "
           "and dropped %% = dropped / (received + dropped). Producer ns/pair: time the "
           "threads spent in their loops / pairs per thread."
           % (rounds, pairs, pairs), ""]
    out.append("| mode | threads | records in database | dropped | wall s | "
               "records/s (M) | dropped % | worst lag ms | producer ns/pair |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, (label, threads, env) in enumerate(everything):
        wall = med(i, lambda s: s["wall"])
        loop = med(i, lambda s: s["loop"] / pairs * 1e9)
        if not env:
            out.append("| %s | %d | - | - | %s | - | - | - | %s |"
                       % (label, threads, fmt_s(wall), fmt_ns(loop)))
            continue
        records = med(i, lambda s: s["records"])
        dropped = med(i, lambda s: s["dropped"])
        rate = med(i, lambda s: s["records"] / s["wall"] / 1e6)
        frac = med(i, lambda s: 100.0 * s["dropped"] / (s["records"] + s["dropped"]))
        lag = med(i, lambda s: s["lag"] / 1e6)
        if wall is None:
            out.append("| %s | %d | failed | | | | | | |" % (label, threads))
            continue
        out.append("| %s | %d | %s | %s | %s | %.1f | %.1f | %.1f | %s |"
                   % (label, threads, "{:,}".format(int(records)), "{:,}".format(int(dropped)),
                      fmt_s(wall), rate, frac, lag, fmt_ns(loop)))
        print("flood %-32s T=%d  %.1f M records/s  dropped %.1f%%" % (label, threads, rate, frac),
              flush=True)
    if flood_failures:
        out.append("")
        out.append("Failed runs (row shows \"failed\"): " + "; ".join(flood_failures) + ".")
    failures.extend(flood_failures)
    return "\n".join(out)


# ---- main ------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="CMake build directory (default: build)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: %d round, workloads 1/%d of full size; README untouched"
                        % (QUICK_ROUNDS, QUICK_SCALE))
    parser.add_argument("--rounds", type=int,
                        help="timed runs per cell (default %d)" % DEFAULT_ROUNDS)
    parser.add_argument("--skip-flood", action="store_true",
                        help="only the workload table (README untouched)")
    parser.add_argument("--programs", metavar="NAME,...",
                        help="instead, time these programs of the real-program set "
                        "(programs.py: %s) through ortho-run against heaptrack, in a table "
                        "of their own" % ",".join(programs.NAMES))
    parser.add_argument("--divide", type=int, metavar="N",
                        help="with --programs: inputs at 1/N of their size, for rounds short "
                        "enough that a slow stretch of the machine rarely splits one; the "
                        "table is printed, README untouched")
    parser.add_argument("--runs-json", metavar="FILE",
                        help="with --programs: also write every run (program, configuration, "
                        "round, order, seconds, CPU seconds, records; for ortho-run also ring "
                        "waits, worst lag, start and tail) to FILE as JSON")
    args = parser.parse_args()
    if args.runs_json and not args.programs:
        sys.exit("trace_bench.py: --runs-json writes the runs of the program table only; "
                 "add --programs NAME,... or leave --runs-json out")
    if args.divide is not None and (not args.programs or args.quick or args.divide < 1):
        sys.exit("trace_bench.py: --divide N takes a whole N of at least 1, with --programs "
                 "and without --quick (which divides by %d itself)" % QUICK_SCALE)
    extra = args.programs.split(",") if args.programs else []
    unknown = [n for n in extra if n not in programs.NAMES]
    if unknown:
        sys.exit("trace_bench.py: --programs %s: not in the set (%s)"
                 % (",".join(unknown), ",".join(programs.NAMES)))

    # Nothing inherited may change what a run measures.
    for key in [k for k in os.environ if k.startswith("ORTHO_")]:
        del os.environ[key]
    ortho_lib = os.path.abspath(os.path.join(args.build, "liballoc", "liborthotope.so"))
    flood = os.path.abspath(os.path.join(args.build, "bench", "trace-flood"))
    for path in (ortho_lib, flood, os.path.join(args.build, "bench", "ortho-bench")):
        if not os.path.exists(path):
            sys.exit("trace_bench.py: %s not found; build first: cmake --build %s"
                     % (path, args.build))
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        sys.exit("trace_bench.py: --rounds must be at least 1")
    scale = QUICK_SCALE if args.quick else (args.divide or 1)
    if extra:
        return programs_main(args, extra, ortho_lib, scale)
    configs, notes = list(CONFIGS), []
    if shutil.which(HEAPTRACK) is None:
        configs = [c for c in configs if not c.heaptrack]
        notes.append("heaptrack not measured: it is not installed (Debian package "
                     "`heaptrack`); its columns are left out.")
        print("note: " + notes[-1], file=sys.stderr)

    failures = []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        workloads = make_workloads(args.build, tmp, scale)
        rows = workload_rows(workloads, configs, ortho_lib, tmp, rounds, failures)
        load_mid = os.getloadavg()[0]
        table = workload_table(rows, configs, notes, failures, rounds, args.build,
                               (load_start, load_mid))
        print()
        print(table)
        flood_text = None
        if not args.skip_flood:
            print()
            flood_text = flood_table(flood, ortho_lib, tmp, rounds, FLOOD_PAIRS // scale,
                                     failures)
            flood_text = ("Machine: %s. Load average (1 min) %.2f at the start, %.2f at the "
                          "end.\n" % (machine_line(args.build), load_mid, os.getloadavg()[0])
                          + flood_text)
            print()
            print(flood_text)
    if failures:
        print("\n%d run(s) FAILED (listed under the tables)" % len(failures), file=sys.stderr)
    if args.quick or args.skip_flood:
        print("\n(--quick/--skip-flood: bench/README.md left unchanged)")
        return 1 if failures else 0
    write_readme(table, TRACE_MARKERS[0], TRACE_MARKERS[1], "Tracing")
    write_readme(flood_text, FLOOD_MARKERS[0], FLOOD_MARKERS[1], "Collector throughput")
    print("\nwrote the tables into %s" % os.path.join(BENCH_DIR, "README.md"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
