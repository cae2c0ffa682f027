#!/usr/bin/env python3
"""real_programs.py - real Debian programs under each allocator, side by side.

Runs the same set of real workloads (python3 + numpy, perl, sqlite3, git,
gcc, cmake) with glibc's malloc, mimalloc, jemalloc, tcmalloc and
orthotope (each through LD_PRELOAD), interleaved round-robin so machine
noise hits every allocator alike. Reports the median wall time and the
median peak RSS of each, with ratios to glibc, and rewrites the table
between the `programs:begin` / `programs:end` markers of bench/README.md.
Every run's output is compared with glibc's: a program that behaves
differently under an allocator fails the benchmark instead of being timed.

Usage: python3 bench/real_programs.py --build build [--runs 5] [--quick]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
from run_bench import machine_line, write_readme  # noqa: E402  (shared with run_bench)
README = os.path.join(BENCH_DIR, "README.md")
LIBDIR = "/usr/lib/x86_64-linux-gnu"
COMPETITORS = [
    ("glibc", None),
    ("mimalloc", os.path.join(LIBDIR, "libmimalloc.so.2")),
    ("jemalloc", os.path.join(LIBDIR, "libjemalloc.so.2")),
    ("tcmalloc", os.path.join(LIBDIR, "libtcmalloc_minimal.so.4")),
]

NUMPY_SCRIPT = r"""
import numpy as np
rng = np.random.default_rng(7)
total = 0.0
for batch in range(8):
    x = rng.standard_normal((128, 768))
    for width in (1024, 1024, 256):
        w = rng.standard_normal((x.shape[1], width)) * 0.03
        x = np.maximum(x @ w, 0.0)
    big = np.ones((1500, 1500)) * batch      # an 18 MB temporary: large path
    total += float(x.sum()) + float(big[0, 0])
print(round(total, 6))
"""

PERL_SCRIPT = r"""
my %h; my @words;
for my $i (1..200000) { my $k = join('', map { chr(97 + ($i * $_) % 26) } 1..8); $h{$k}++; push @words, $k; }
my @sorted = sort { $h{$b} <=> $h{$a} || $a cmp $b } keys %h;
my $n = grep { /^[a-m]+$/ } @words;
print scalar(@sorted), " $n $sorted[0]\n";
"""

SQLITE_SQL = """
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200000)
INSERT INTO t SELECT x, printf('key%06d', x % 5000), x * 0.5 FROM c;
CREATE INDEX tk ON t(k);
SELECT count(*), count(DISTINCT k), round(sum(v), 1) FROM t;
SELECT k, count(*) FROM t GROUP BY k ORDER BY 2 DESC, 1 LIMIT 3;
"""

C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[32]; int value; };
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
    struct node *head = NULL;
    for (int i = 0; i < 1000; i++) {
        struct node *n = malloc(sizeof *n);
        snprintf(n->name, sizeof n->name, "n%d", i);
        n->value = (i * 7919) % 1000; n->next = head; head = n;
    }
    int values[1000], k = 0;
    for (struct node *n = head; n; n = n->next) values[k++] = n->value;
    qsort(values, 1000, sizeof values[0], cmp);
    printf("%d %d %d\n", values[0], values[500], values[999]);
    return 0;
}
"""


def workloads(tmp):
    """(name, argv, cwd, setup) for each program; setup runs once untimed."""
    with open(os.path.join(tmp, "prog.c"), "w") as f:
        f.write(C_PROGRAM)
    cmake_dir = os.path.join(tmp, "cmproj")
    os.makedirs(cmake_dir, exist_ok=True)
    with open(os.path.join(cmake_dir, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.13)\nproject(p C)\n"
                "add_executable(p ../prog.c)\n")
    git_dir = os.path.join(tmp, "repo")

    def git_setup():
        if os.path.isdir(git_dir):
            shutil.rmtree(git_dir)
        os.makedirs(git_dir)
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                   GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b")
        subprocess.run(["git", "init", "-q"], cwd=git_dir, check=True, env=env)
        for i in range(60):
            with open(os.path.join(git_dir, "f%d.txt" % (i % 20)), "a") as f:
                f.write(("line %d\n" % i) * 200)
            subprocess.run(["git", "add", "-A"], cwd=git_dir, check=True, env=env)
            subprocess.run(["git", "commit", "-qm", "c%d" % i], cwd=git_dir,
                           check=True, env=env)

    def cmake_clean():
        build = os.path.join(cmake_dir, "build")
        if os.path.isdir(build):
            shutil.rmtree(build)

    return [
        ("python3 numpy pipeline", ["/usr/bin/python3", "-c", NUMPY_SCRIPT], tmp, None),
        ("perl hash/sort/regex", ["perl", "-e", PERL_SCRIPT], tmp, None),
        ("sqlite3 200k rows", ["sqlite3", ":memory:", SQLITE_SQL], tmp, None),
        ("git log + gc", ["sh", "-c", "git log --format=%s | wc -l && git gc -q && git count-objects"],
         git_dir, git_setup),
        ("gcc -O2 compile", ["gcc", "-O2", "-o", "prog", "prog.c"], tmp, None),
        ("cmake configure", ["cmake", "-S", cmake_dir, "-B", os.path.join(cmake_dir, "build")],
         tmp, cmake_clean),
    ]


def run_measured(argv, cwd, preload, extra_env=None):
    """Runs argv (through os.wait4, for the child's own peak RSS) with
    `preload` as LD_PRELOAD (None: none) and `extra_env` added to the
    environment; returns (seconds, peak RSS KiB, exit code, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    env.update(extra_env or {})
    out_file = tempfile.TemporaryFile()
    err_file = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out_file, stderr=err_file)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_file.seek(0)
    err_file.seek(0)
    return seconds, usage.ru_maxrss, proc.returncode, out_file.read(), err_file.read()


def normalise(name, out):
    """Output that legitimately varies between runs (cmake's timings, paths)."""
    text = out.decode(errors="replace")
    text = re.sub(r"\(\d+\.\d+s\)", "(Ts)", text)
    text = re.sub(r"\d+ objects?, \d+ kilobytes", "N objects", text)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="CMake build directory")
    parser.add_argument("--runs", type=int, default=5, help="runs per program and allocator")
    parser.add_argument("--quick", action="store_true", help="2 runs, no README update")
    args = parser.parse_args()
    ortho = os.path.abspath(os.path.join(args.build, "liballoc", "liborthotope.so"))
    if not os.path.exists(ortho):
        sys.exit("real_programs.py: %s not found; build first (cmake --build %s)" % (ortho, args.build))
    runs = 2 if args.quick else args.runs
    allocators = [(n, p) for n, p in COMPETITORS if p is None or os.path.exists(p)]
    missing = [n for n, p in COMPETITORS if p is not None and not os.path.exists(p)]
    allocators.append(("orthotope", ortho))

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv, cwd, setup in workloads(tmp):
            if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
                print("skip %s: %s not installed" % (name, argv[0]), file=sys.stderr)
                continue
            times = {a: [] for a, _ in allocators}
            rss = {a: [] for a, _ in allocators}
            reference = None
            for _ in range(runs):
                for alloc, lib in allocators:
                    if setup:
                        setup()
                    seconds, peak, code, out, err = run_measured(argv, cwd, lib)
                    result = (code, normalise(name, out))
                    if reference is None:
                        reference = result
                    elif result != reference:
                        sys.exit("real_programs.py: %s behaves differently under %s "
                                 "(exit %d):\n%s\n%s" % (name, alloc, code, out.decode()[-500:],
                                                         err.decode()[-500:]))
                    times[alloc].append(seconds)
                    rss[alloc].append(peak)
            med_t = {a: statistics.median(v) for a, v in times.items()}
            med_r = {a: statistics.median(v) for a, v in rss.items()}
            rows.append((name, med_t, med_r))
            print("%-24s " % name + "  ".join(
                "%s %.3fs %.0fMiB" % (a, med_t[a], med_r[a] / 1024) for a, _ in allocators))

    names = [a for a, _ in allocators]
    lines = ["Machine: " + machine_line(args.build) + ". Median of %d runs per cell, interleaved; "
             "output checked identical to glibc's on every run." % runs]
    if missing:
        lines.append("Not installed, so not measured: " + ", ".join(missing) + ".")
    lines.append("")
    lines.append("| program | " + " | ".join("%s s" % n for n in names) +
                 " | orthotope / glibc time | " + " | ".join("%s RSS MiB" % n for n in names) +
                 " | orthotope / glibc RSS |")
    lines.append("|" + " --- |" * (2 * len(names) + 3))
    for name, med_t, med_r in rows:
        lines.append("| %s | " % name +
                     " | ".join("%.3f" % med_t[n] for n in names) +
                     " | %.2f | " % (med_t["orthotope"] / med_t["glibc"]) +
                     " | ".join("%.1f" % (med_r[n] / 1024) for n in names) +
                     " | %.2f |" % (med_r["orthotope"] / med_r["glibc"]))
    table = "\n".join(lines)
    print(table)
    if args.quick:
        return
    write_readme(table, "<!-- programs:begin -->", "<!-- programs:end -->", "Real programs")
    print("wrote the table into %s" % README)


if __name__ == "__main__":
    main()
