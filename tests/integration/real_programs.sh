#!/usr/bin/env bash
# real_programs.sh - runs real programs from Debian packages with and
# without LD_PRELOAD=liborthotope.so and requires the same stdout and the
# same exit statuses, because that is the promise of a drop-in malloc: users
# put it in front of python3, perl, sqlite3, git, gcc, g++, cmake and make,
# xz and sort, not in front of our own test programs. Each case is one
# function run twice in the same scratch directory (so paths in the output
# match); under the preload every command the case starts inherits
# LD_PRELOAD. Cases print "[cmd exit N]" after their important commands, so
# a status difference is an output difference. The preloaded run must put
# no "orthotope:" diagnostic on stderr, the plain run must succeed, and a
# case whose program is not installed is skipped with status 77. Inputs come
# from fixed seeds or fixed data; no output depends on timing or addresses.
#
# Usage: real_programs.sh LIBORTHOTOPE CASE
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 LIBORTHOTOPE CASE" >&2
    exit 2
fi
lib=$1
case_name=$2
python=/usr/bin/python3 # Debian's, with python3-numpy; not a pyenv shim

work=$(mktemp -d "${TMPDIR:-/tmp}/ortho-real.XXXXXX")
trap 'rm -rf "$work"' EXIT

skip() {
    echo "SKIP: $*"
    exit 77
}

# require PROGRAM...: skip unless every program is installed.
require() {
    local program
    for program in "$@"; do
        command -v "$program" >/dev/null 2>&1 || skip "$program is not installed"
    done
}

# st COMMAND...: runs a command, then records its exit status on stdout.
st() {
    "$@"
    echo "[$1 exit $?]"
}

# ---- cases ---------------------------------------------------------------

check_python_numpy() {
    require "$python"
    "$python" -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
}
case_python_numpy() {
    # Integer-valued float64 keeps sums exact whatever the summation order;
    # the one inverse is printed rounded.
    cat >pipeline.py <<'EOF'
import numpy as np

rng = np.random.default_rng(20240501)
a = rng.integers(-8, 9, size=(400, 300)).astype(np.float64)
b = rng.integers(-8, 9, size=(300, 500)).astype(np.float64)
c = a @ b
print("matmul", c.shape, int(c.sum()), int(np.abs(c).max()))
t = c.reshape(20, 20, 500).transpose(2, 0, 1).copy()
print("reshape", t.shape, int(t[::7, 3, :].sum()), t.flags["C_CONTIGUOUS"])
big = np.zeros((2048, 2048), dtype=np.float64)  # 32 MiB: the large path
big += np.arange(2048, dtype=np.float64)[:, None]
big *= 2.0
print("big", big.nbytes, int(big.sum()), int(big[-1, -1]))
temps = [np.ones(3_000_000) * k for k in range(5)]  # 24 MB temporaries
print("temps", [int(x.sum()) for x in temps])
del temps
stacked = np.concatenate([big.ravel(), big.ravel()[:1000]])
print("concat", stacked.shape, int(stacked[-1]))
x = rng.standard_normal((256, 256))
y = np.linalg.inv(x @ x.T + 256 * np.eye(256))
print("inverse trace %.6f" % float(np.trace(y)))
e = np.einsum("ij,jk->ik", a[:50, :], b[:, :60])
print("einsum", int(e.sum()))
s = np.sort(rng.integers(0, 1_000_000, size=2_500_000))  # 20 MB
print("sort", int(s[0]), int(s[-1]), int(s[1_250_000]))
u, counts = np.unique(s % 1000, return_counts=True)
print("unique", len(u), int(counts.max()), int(counts.min()))
z = np.zeros_like(big)
print("zeros_like", int(np.count_nonzero(z)))
strs = np.array([str(i) * 3 for i in range(100000)])
print("strings", strs.dtype, len(strs), strs[12345])
EOF
    st "$python" pipeline.py
}

check_perl_hash_sort_regex() { require perl; }
case_perl_hash_sort_regex() {
    cat >words.pl <<'EOF'
use strict;
use warnings;

my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed >> 8; }

my (%count, @words);
for my $i (1 .. 200000) {
    my $w = join '', map { chr(97 + rnd() % 26) } 1 .. (3 + rnd() % 4);
    push @words, $w;
    $count{$w}++;
}
print "distinct ", scalar(keys %count), "\n";
my @top = (sort { $count{$b} <=> $count{$a} || $a cmp $b } keys %count)[0 .. 9];
print "$_ $count{$_}\n" for @top;

my $text = join ' ', @words[0 .. 49999];
(my $vowelless = $text) =~ s/[aeiou]//g;
my @matches = $text =~ /\b(q\w*z)\b/g;
my $upper = $text =~ tr/a-m/A-M/r;
print length($vowelless), " ", scalar(@matches), " ", substr($upper, 0, 40), "\n";

my %by_len;
push @{ $by_len{ length $_ } }, $_ for @words;
print join(",", map { "$_:" . scalar(@{ $by_len{$_} }) } sort { $a <=> $b } keys %by_len), "\n";

my @sorted = sort @words;
print "$sorted[0] $sorted[-1] $sorted[100000]\n";
my $joined = join "\n", reverse @sorted;
print length($joined), "\n";
my $big = "x" x 20_000_000;    # above 16 MiB
$big =~ s/x{1000}$/y/;
print length($big), "\n";
my %nested;
$nested{ $_ % 97 }{ $_ % 13 } .= $_ for 1 .. 100000;
print scalar(keys %nested), " ", length($nested{5}{7}), "\n";
EOF
    st perl words.pl
}

check_sqlite3_cte_aggregates() { require sqlite3; }
case_sqlite3_cte_aggregates() {
    cat >script.sql <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, value REAL, blob BLOB);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10000)
INSERT INTO t SELECT n, n % 17, 'name' || (n * 7919 % 10007), (n * 31 % 1000) / 10.0,
                     zeroblob(n % 300) FROM seq;
CREATE INDEX t_grp ON t(grp, value);
SELECT count(*), sum(value), min(name), max(name), sum(length(blob)) FROM t;
SELECT grp, count(*), round(avg(value), 3), group_concat(id / 100 % 10, '')
  FROM t WHERE id % 100 = 0 GROUP BY grp ORDER BY grp;
SELECT name, count(*) AS c FROM t GROUP BY name HAVING c > 1 ORDER BY c DESC, name LIMIT 5;
SELECT a.grp, count(*) FROM t a JOIN t b ON a.id = b.id + 1 AND a.grp = (b.grp + 1) % 17
  GROUP BY a.grp ORDER BY a.grp LIMIT 5;
SELECT round(max(running), 2) FROM
  (SELECT sum(value) OVER (PARTITION BY grp ORDER BY id) AS running FROM t);
SELECT grp, value FROM t WHERE grp = 3 ORDER BY value DESC, id LIMIT 3;
DELETE FROM t WHERE id % 3 = 0;
VACUUM;
PRAGMA integrity_check;
SELECT count(*), total(value) FROM t;
EOF
    st sqlite3 test.db <script.sql
    st sqlite3 test.db "SELECT count(DISTINCT name) FROM t;"
}

check_git_commit_log_gc() { require git; }
case_git_commit_log_gc() {
    # Fixed identities and dates make the commit ids themselves comparable.
    export HOME=$PWD/home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
    export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.org
    export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@example.org
    export GIT_AUTHOR_DATE='2024-01-01T00:00:00 +0000' GIT_COMMITTER_DATE='2024-01-01T00:00:00 +0000'
    mkdir -p home
    st git init -q -b main repo
    cd repo || return
    for i in $(seq 1 30); do
        seq "$i" $((i * 500)) >"numbers-$((i % 7)).txt"
        printf 'commit %d\n%s\n' "$i" "$(seq -s ' ' 1 "$i")" >>notes.md
        git add -A
        git commit -q -m "commit $i: $((i * 500)) numbers"
    done
    echo "[commits exit $?]"
    git log --format=%s | head -n 5
    git log --format=%s | wc -l
    git rev-parse HEAD
    git log --format='%h %s' --stat -n 2
    st git gc -q
    git count-objects -v | grep -E '^(count|in-pack|packs):'
    st git fsck --no-progress
    git diff --shortstat HEAD~10 HEAD
    git archive --format=tar HEAD | sha256sum
    git branch -q topic HEAD~5 && git checkout -q topic && git log --format=%s -n 1
    echo "[git checkout exit $?]"
}

check_gcc_compile_and_run() { require gcc; }
case_gcc_compile_and_run() {
    cat >prog.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry { char key[16]; int count; struct entry *next; };

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    enum { N = 200000, BUCKETS = 4096 };
    char *sieve = calloc(N, 1);
    int primes = 0;
    for (int i = 2; i < N; i++) {
        if (sieve[i]) continue;
        primes++;
        for (long j = (long)i * i; j < N; j += i) sieve[j] = 1;
    }
    struct entry **table = calloc(BUCKETS, sizeof *table);
    char **keys = malloc(N * sizeof *keys);
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        keys[i] = malloc(16);
        snprintf(keys[i], 16, "k%u", (seed >> 16) % 5000);
        unsigned b = hash(keys[i]) % BUCKETS;
        struct entry *e = table[b];
        while (e && strcmp(e->key, keys[i]) != 0) e = e->next;
        if (!e) {
            e = calloc(1, sizeof *e);
            strcpy(e->key, keys[i]);
            e->next = table[b];
            table[b] = e;
        }
        e->count++;
    }
    qsort(keys, N, sizeof *keys, by_key);
    int distinct = 0, best = 0;
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry *e = table[b]; e; e = e->next) {
            distinct++;
            if (e->count > best) best = e->count;
        }
    printf("primes below %d: %d\n", N, primes);
    printf("keys: first %s last %s distinct %d most %d\n", keys[0], keys[N - 1], distinct, best);
    for (int i = 0; i < N; i++) free(keys[i]);
    free(keys);
    for (int b = 0; b < BUCKETS; b++)
        while (table[b]) { struct entry *next = table[b]->next; free(table[b]); table[b] = next; }
    free(table);
    free(sieve);
    return 0;
}
EOF
    st gcc -std=c11 -O2 -g -Wall -Wextra -c prog.c -o prog.o
    sha256sum prog.o
    st gcc prog.o -o prog
    st ./prog
}

check_gxx_compile_and_run() { require g++; }
case_gxx_compile_and_run() {
    cat >prog.cc <<'EOF'
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

template <typename T> struct Matrix {
    std::size_t rows, cols;
    std::vector<T> cells;
    Matrix(std::size_t r, std::size_t c) : rows(r), cols(c), cells(r * c) {}
    T &at(std::size_t r, std::size_t c) { return cells[r * cols + c]; }
    Matrix operator*(Matrix &other)
    {
        Matrix out(rows, other.cols);
        for (std::size_t i = 0; i < rows; i++)
            for (std::size_t k = 0; k < cols; k++)
                for (std::size_t j = 0; j < other.cols; j++)
                    out.at(i, j) += at(i, k) * other.at(k, j);
        return out;
    }
};

struct Node {
    virtual ~Node() = default;
    virtual long eval() const = 0;
};
struct Leaf : Node {
    long v;
    explicit Leaf(long value) : v(value) {}
    long eval() const override { return v; }
};
struct Add : Node {
    std::unique_ptr<Node> l, r;
    Add(std::unique_ptr<Node> a, std::unique_ptr<Node> b) : l(std::move(a)), r(std::move(b)) {}
    long eval() const override { return l->eval() + r->eval(); }
};

int main()
{
    Matrix<long> a(60, 60), b(60, 60);
    for (std::size_t i = 0; i < 60; i++)
        for (std::size_t j = 0; j < 60; j++) {
            a.at(i, j) = static_cast<long>((i * 7 + j) % 11);
            b.at(i, j) = static_cast<long>((i + j * 3) % 13);
        }
    Matrix<long> c = a * b;
    std::cout << "matrix sum " << std::accumulate(c.cells.begin(), c.cells.end(), 0L) << "\n";

    std::unique_ptr<Node> tree = std::make_unique<Leaf>(0);
    for (long i = 1; i <= 5000; i++)
        tree = std::make_unique<Add>(std::move(tree), std::make_unique<Leaf>(i));
    std::cout << "tree " << tree->eval() << "\n";

    std::map<std::string, std::vector<int>> index;
    std::unordered_map<int, std::string> names;
    std::set<std::string> seen;
    for (int i = 0; i < 100000; i++) {
        std::ostringstream word;
        word << "w" << (i * 7919) % 3001;
        index[word.str()].push_back(i);
        names[i % 5000] = word.str();
        seen.insert(word.str());
    }
    std::size_t longest = 0;
    for (const auto &entry : index)
        longest = std::max(longest, entry.second.size());
    std::cout << "index " << index.size() << " longest " << longest << " names " << names.size()
              << " first " << *seen.begin() << "\n";
    std::vector<std::string> sorted(seen.begin(), seen.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const std::string &x, const std::string &y) { return x.size() != y.size() ? x.size() < y.size() : x < y; });
    std::cout << "sorted " << sorted.front() << " " << sorted.back() << "\n";
    return 0;
}
EOF
    st g++ -std=c++17 -O1 -Wall -Wextra -c prog.cc -o prog.o
    sha256sum prog.o
    st g++ prog.o -o prog
    st ./prog
}

check_cmake_configure_and_make() { require cmake make cc; }
case_cmake_configure_and_make() {
    mkdir -p src
    cat >src/CMakeLists.txt <<'EOF'
cmake_minimum_required(VERSION 3.13)
project(demo C)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/table.h
  COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_CURRENT_BINARY_DIR}/table.h -P ${CMAKE_CURRENT_SOURCE_DIR}/gen.cmake
  DEPENDS gen.cmake)
add_library(shapes STATIC shapes.c ${CMAKE_CURRENT_BINARY_DIR}/table.h)
target_include_directories(shapes PUBLIC ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
add_library(greet SHARED greet.c)
add_executable(app main.c)
target_link_libraries(app PRIVATE shapes greet)
EOF
    cat >src/gen.cmake <<'EOF'
set(body "static const int table[] = {")
foreach(i RANGE 1 64)
  math(EXPR v "${i} * ${i}")
  string(APPEND body "${v},")
endforeach()
file(WRITE ${OUT} "${body}};\n")
EOF
    cat >src/shapes.c <<'EOF'
#include "table.h"
int shapes_sum(void) { int s = 0; for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) s += table[i]; return s; }
EOF
    cat >src/greet.c <<'EOF'
#include <stdio.h>
void greet(const char *who) { printf("hello, %s\n", who); }
EOF
    cat >src/main.c <<'EOF'
#include <stdio.h>
int shapes_sum(void);
void greet(const char *who);
int main(void) { greet("cmake"); printf("sum of squares %d\n", shapes_sum()); return 0; }
EOF
    # CMake 3.26+ prints how long configuring took: not comparable.
    cmake -S src -B build -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release 2>&1 |
        sed -E 's/ \([0-9.]+s\)$//'
    echo "[cmake configure exit ${PIPESTATUS[0]}]"
    # make -j2 interleaves its progress lines differently from run to run.
    make -C build -j2 >make.log 2>&1
    echo "[make exit $?]"
    grep -c 'Built target' make.log
    st ./build/app
    st cmake --build build --target clean
    ls build/app 2>/dev/null || echo "app removed by clean"
}

check_python_subprocess_threading() { require "$python"; }
case_python_subprocess_threading() {
    cat >tasks.py <<'EOF'
import concurrent.futures
import hashlib
import json
import multiprocessing
import queue
import subprocess
import sys
import threading


def churn(index, results):
    digest = hashlib.sha256()
    table = {}
    for k in range(20000):
        text = f"{index}-{k}" * (k % 7 + 1)
        table[text] = len(text)
        digest.update(text.encode())
    results[index] = (len(table), digest.hexdigest()[:16])


results = {}
threads = [threading.Thread(target=churn, args=(i, results)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i in sorted(results):
    print("thread", i, *results[i])

work = queue.Queue()
done = queue.Queue()


def consumer():
    while True:
        item = work.get()
        if item is None:
            return
        done.put(sum(item))


consumers = [threading.Thread(target=consumer) for _ in range(4)]
for t in consumers:
    t.start()
for n in range(2000):
    work.put(list(range(n % 300)))
for _ in consumers:
    work.put(None)
for t in consumers:
    t.join()
print("queue total", sum(done.get() for _ in range(2000)))

child = subprocess.run([sys.executable, "-c", "print(sum(range(10**6)))"],
                       capture_output=True, text=True, check=True)
print("child python", child.stdout.strip())
lines = "\n".join(str((i * 7919) % 100003) for i in range(50000)) + "\n"
sorted_out = subprocess.run(["sort", "-n"], input=lines, capture_output=True, text=True, check=True)
print("sort", hashlib.sha256(sorted_out.stdout.encode()).hexdigest()[:16])
payload = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # 20 MiB through a pipe
cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
echoed, _ = cat.communicate(payload)
print("cat", len(echoed), echoed == payload, cat.returncode)


def run_child(n):
    out = subprocess.run([sys.executable, "-c", f"import json; print(json.dumps(list(range({n}))))"],
                         capture_output=True, text=True, check=True)
    return len(json.loads(out.stdout))


with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    print("parallel children", list(pool.map(run_child, [10, 1000, 100000, 5])))


def square_sum(n):
    return sum(i * i for i in range(n))


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as workers:
        print("fork pool", workers.map(square_sum, [10, 1000, 100000]))
    blob = json.dumps({str(i): [i] * (i % 10) for i in range(100000)})
    print("json", len(blob), len(json.loads(blob)))
EOF
    st "$python" tasks.py
}

check_xz_multithreaded() { require xz seq; }
case_xz_multithreaded() {
    seq 1 3000000 >numbers.txt # about 21 MB
    # Fixed blocks make two threads compress in parallel and the output
    # independent of scheduling.
    st xz -T2 -3 --block-size=2MiB -k numbers.txt
    sha256sum numbers.txt.xz
    xz --robot -l numbers.txt.xz | grep -E '^totals' | cut -f2-5
    xz -T2 -dc numbers.txt.xz | sha256sum
    echo "[xz decompress exit ${PIPESTATUS[0]}]"
    sha256sum numbers.txt
}

check_sort_parallel() { require sort seq awk; }
case_sort_parallel() {
    seq 1 600000 | awk '{ print ($1 * 7919) % 1000003, $1 }' >pairs.txt
    sort --parallel=2 -S 64M -n pairs.txt | sha256sum
    echo "[sort -n exit ${PIPESTATUS[0]}]"
    # A small buffer forces temporary files and a multi-way merge.
    sort --parallel=2 -S 1M -T . -k2,2 pairs.txt | head -n 3
    sort --parallel=2 -u -k1,1n pairs.txt | tail -n 2
    echo "[sort -u exit ${PIPESTATUS[0]}]"
}

# ---- driver --------------------------------------------------------------

if ! declare -F "case_$case_name" >/dev/null; then
    echo "unknown case '$case_name'" >&2
    exit 2
fi
"check_$case_name"

# The preload must really load, or both runs would be glibc's.
if ! LD_PRELOAD="$lib" cat /proc/self/maps | grep -q liborthotope; then
    echo "FAIL: $lib does not load with LD_PRELOAD"
    exit 1
fi

# run_case MODE: runs the case in a fresh $work/run; output in $work/MODE.*
run_case() {
    local mode=$1
    rm -rf "$work/run"
    mkdir "$work/run"
    (
        cd "$work/run" || exit 1
        if [ "$mode" = preload ]; then
            export LD_PRELOAD="$lib"
        else
            unset LD_PRELOAD
        fi
        "case_$case_name"
    ) >"$work/$mode.out" 2>"$work/$mode.err"
    echo $? >"$work/$mode.status"
}

run_case plain
run_case preload

failed=0
if grep -qE '\[.* exit [1-9][0-9]*\]' "$work/plain.out"; then
    echo "FAIL: the case fails even without the preload:"
    grep -E '\[.* exit [1-9][0-9]*\]' "$work/plain.out"
    failed=1
fi
if ! cmp -s "$work/plain.out" "$work/preload.out"; then
    echo "FAIL: stdout differs with the preload (--- without, +++ with):"
    diff -u "$work/plain.out" "$work/preload.out" | head -n 60
    failed=1
fi
if ! cmp -s "$work/plain.status" "$work/preload.status"; then
    echo "FAIL: exit status $(cat "$work/plain.status") without, $(cat "$work/preload.status") with the preload"
    failed=1
fi
if grep -qE '^orthotope:|cannot be preloaded' "$work/preload.err"; then
    echo "FAIL: diagnostics under the preload:"
    grep -E '^orthotope:|cannot be preloaded' "$work/preload.err" | head -n 20
    failed=1
fi
if [ "$failed" -ne 0 ]; then
    echo "--- stderr without the preload:"
    head -n 30 "$work/plain.err"
    echo "--- stderr with the preload:"
    head -n 30 "$work/preload.err"
    exit 1
fi
echo "ok: $case_name gives the same output and status with and without the preload"
cat "$work/preload.out"
