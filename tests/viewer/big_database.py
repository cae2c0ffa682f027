#!/usr/bin/env python3
"""big_database.py - both viewers read a trace database of a million
allocation sites within bounded memory.

A long run of a big program leaves millions of rows in `sites` (one per
distinct allocation stack); the viewers must let SQL pick what they show
(the top N, a stream for the JSON) instead of loading every row. The
database is a copy of the facts.db fixture (a real traced run) with a
million stacks added to its root process, each its own site with three
frames, and a leak every hundredth: the shape of a long run, made in
seconds. Each tool's peak resident memory is read from the kernel
(os.wait4's rusage of that very child) and must stay under a generous
bound that does not grow with the sites: the million rows alone take more
than the bound in memory. The outputs are checked too, against SQLite.

Usage: big_database.py --report BIN --top BIN --fixtures DIR
       (big_database.py --measure REPORT -- COMMAND...: the measuring helper)
Exit status 0 when every check passes; the failing one is printed otherwise.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading

SITES = 1000000
RSS_BOUND_MB = 100        # the tools need about 15 MB here; the rows alone would take GBs
RUN_TIMEOUT_S = 900       # a memory test, not a timing one: only a hang ends it


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def make_database(fixture, path):
    shutil.copy(fixture, path)
    conn = sqlite3.connect(path)
    base = conn.execute("SELECT coalesce(max(stack_id), 0) + 1 FROM sites").fetchone()[0]
    conn.executescript(f"""
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        BEGIN;
        CREATE TEMP TABLE n(i INTEGER PRIMARY KEY);
        WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {SITES})
        INSERT INTO n SELECT i FROM r;
        INSERT INTO stacks SELECT 1, {base} + i, 3, 0, 'site_' || i,
            '/src/gen/file' || (i % 997) || '.c', 1 + i % 4999 FROM n;
        INSERT INTO sites SELECT 1, {base} + i, 1 + i % 7, (1 + i % 7) * (16 + i % 1000), i % 7,
            (i % 7) * (16 + i % 1000), 1, 16 + i % 1000, 16 + i % 1000, 1 + i % 7,
            (1 + i % 7) * (16 + i % 1000) FROM n;
        INSERT INTO frames SELECT 1, {base} + i, 0, 4096 + i, 'site_' || i, '/work/gen/prog',
            '/src/gen/file' || (i % 997) || '.c', 1 + i % 4999 FROM n;
        INSERT INTO frames SELECT 1, {base} + i, 1, 8192 + i % 100, 'caller_' || (i % 100),
            '/work/gen/prog', '/src/gen/caller.c', 10 + i % 100 FROM n;
        INSERT INTO frames SELECT 1, {base} + i, 2, 12288, 'main', '/work/gen/prog',
            '/src/gen/main.c', 5 FROM n;
        INSERT INTO live_allocations SELECT 1, 1099511627776 + i * 64, 1, 16 + i % 100, 256, 1,
            1, {base} + i FROM n WHERE i % 100 = 0;
        COMMIT;
    """)
    conn.close()


def measure(report, argv):
    """--measure mode: runs argv (stdout and stderr inherited), then writes
    its exit status and peak resident KiB to the file `report`. It runs in a
    process of its own because Linux counts the parent's memory at the
    fork/exec in the child's peak: the test itself holds a JSON document of a
    million sites, this process only Python's start-up."""
    child = subprocess.Popen(argv)
    killed = []
    timer = threading.Timer(RUN_TIMEOUT_S, lambda: (killed.append(1), child.kill()))
    timer.start()
    _, status, usage = os.wait4(child.pid, 0)
    timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    with open(report, "w") as f:
        f.write(f"{'killed' if killed else child.returncode} {usage.ru_maxrss}\n")
    return 0


def run_measured(argv):
    """Runs argv; returns (stdout, stderr, peak resident memory in MiB as
    the kernel accounted that run), after checking the status and the bound."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as report:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", report.name,
                        "--", *argv], stdout=out, stderr=err, check=True)
        status, rss_kib = report.read().split()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        check(status != "killed", f"{' '.join(argv)} did not finish in {RUN_TIMEOUT_S} s")
        check(status == "0", f"{' '.join(argv)} exited {status}: {stderr[-1000:]!r}")
        rss_mb = int(rss_kib) / 1024
        print(f"{os.path.basename(argv[0])} {' '.join(argv[1:-1])}: {rss_mb:.1f} MiB peak")
        check(rss_mb < RSS_BOUND_MB,
              f"{' '.join(argv)} peaked at {rss_mb:.0f} MiB, over the {RSS_BOUND_MB} MiB bound")
        return stdout.decode("utf-8"), stderr.decode("utf-8"), rss_mb


def main():
    if len(sys.argv) > 3 and sys.argv[1] == "--measure" and sys.argv[3] == "--":
        return measure(sys.argv[2], sys.argv[4:])
    parser = argparse.ArgumentParser()
    for name in ["report", "top", "fixtures"]:
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="big_database.") as scratch:
        db = os.path.join(scratch, "big.db")
        try:
            make_database(os.path.join(args.fixtures, "facts.db"), db)
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            sites = conn.execute("SELECT count(*) FROM sites").fetchone()[0]
            check(sites > SITES, f"the database holds {sites} sites")
            leaks = conn.execute("SELECT count(*) FROM leaks").fetchone()[0]
            conn.close()
            # ortho-report: the summary ranks the top 10 of a million sites.
            out, _, _ = run_measured([args.report, "--no-default-suppressions", db])
            check("churn (query_workload.c" in out.split("Top sites by bytes allocated")[1],
                  "the top site by bytes is not churn")
            check(f"... {sites - 10} more" in out, f"the summary does not count the other sites")
            check(f"leaks        {leaks} blocks" in out, "the summary's leak count is wrong")
            # JSON lists every site, streamed.
            out, _, _ = run_measured([args.report, "--sites", "--format", "json", db])
            listed = len(json.loads(out)["sites"])
            check(listed == sites, f"JSON lists {listed} of {sites} sites")
            # ortho-top: the classes screen reads no site; the sites screen the first 1000.
            run_measured([args.top, "--batch", db])
            out, _, _ = run_measured([args.top, "--batch", "--screen", "sites", db])
            check(f"the first 1000 of {sites} sites" in out, "the sites screen does not say it"
                                                             " shows the first 1000")
            check(out.split("\n")[5].split()[5] == "leak_here",
                  f"the first row by live bytes is not leak_here: {out.splitlines()[5]}")
            out, _, _ = run_measured([args.top, "--batch", "--screen", "sites", "--filter",
                                      "site_999999", db])
            check(" site_999999 " in out, "the filter does not find site_999999")
        except Failure as failure:
            print(f"big_database.py: FAIL: {failure}", file=sys.stderr)
            return 1
    print("big_database.py: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
