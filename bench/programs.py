"""programs.py - the real-program set of the benchmarks: Debian programs
doing allocation-heavy work on inputs generated here, each sized to run one
to a few seconds under glibc at scale 1.0. A program is a command (the real
binary first, so a tool started on it, heaptrack for one, sees the program
itself and not a shell), extra environment, a working directory and an
optional stdin file; its stdout is its result, deterministic, so runs under
different allocators can be compared byte for byte. Inputs are made once
per set (untimed), with fixed formulas instead of random numbers.

Used by real_programs.py (time and peak RSS per allocator); the same
definitions serve a tracing benchmark that wants the same programs."""
import os
import shutil
import subprocess

PYTHON = "/usr/bin/python3"   # Debian's, with python3-numpy; never a pyenv shim


class Program:
    """One real program: `name` is short (tables, file names, {program}),
    `title` says what it does, `argv`/`env`/`cwd`/`stdin` how to run it."""

    def __init__(self, name, title, argv, cwd, env=None, stdin=None):
        self.name = name
        self.title = title
        self.argv = argv
        self.cwd = cwd
        self.env = dict(env or {})
        self.stdin = stdin

    def missing(self):
        """Why this program cannot run here, or None."""
        if shutil.which(self.argv[0]) is None:
            return "%s is not installed" % self.argv[0]
        if self.name == "numpy":
            probe = subprocess.run([PYTHON, "-c", "import numpy"], capture_output=True)
            if probe.returncode != 0:
                return "python3-numpy is not installed"
        return None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def count(base, scale, least=10):
    """`base` scaled, at least `least` (smoke runs keep every program busy)."""
    return max(least, int(base * scale))


JQ_FILTER = ("group_by(.group) | map({group: .[0].group, n: length, "
             "users: (map(.user) | unique | length), score: (map(.score) | add), "
             "tags: (map(.tags[]) | unique)})")


def make_jq(tmp, scale):
    n = count(100000, scale)
    path = os.path.join(tmp, "records.json")
    with open(path, "w") as f:
        f.write("[")
        for i in range(n):
            f.write('%s{"id":%d,"user":"user%05d","group":"g%03d","tags":["t%d","u%d"],'
                    '"score":%d.%d,"text":"record number %d of the set"}'
                    % ("," if i else "", i, i * 7919 % 20000, i % 400, i % 7, i % 11,
                       i * 37 % 1000, i % 10, i))
        f.write("]\n")
    return Program("jq", "jq: %d records (JSON) through group_by" % n,
                   ["jq", "-c", JQ_FILTER, path], tmp)


def make_sqlite3(tmp, scale):
    n = count(1000000, scale)
    sql = write(os.path.join(tmp, "insert.sql"), """
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, score REAL);
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, score);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)
INSERT INTO t(name, grp, score)
  SELECT printf('name-%%08d', (x * 7919) %% 1000003), x %% 1000, (x * 37 %% 10007) / 8.0 FROM c;
SELECT count(*), count(DISTINCT grp) FROM t;
SELECT grp, count(*), sum(score) FROM t GROUP BY grp ORDER BY 3 DESC, 1 LIMIT 5;
""" % n)
    return Program("sqlite3", "sqlite3: a %d-row insert with two indexes, then aggregates" % n,
                   ["sqlite3", ":memory:"], tmp, stdin=sql)


PERL_SCRIPT = r"""
my ($n, $rounds) = @ARGV;
my $total = 0;
for my $round (1 .. $rounds) {
    my %h;
    for my $i (1 .. $n) {
        my $k = "key-" . (($i * 7919 + $round) % 1000003);
        $h{$k} = ("v" x (1 + $i % 16)) . $i;
    }
    my %by_length;
    while (my ($k, $v) = each %h) { push @{$by_length{length $v}}, $k; }
    my @keys = sort keys %h;
    $total += scalar(@keys) + length(join(",", @keys[0 .. 99])) + scalar(keys %by_length);
}
print "$total\n";
"""


def make_perl(tmp, scale):
    n = count(120000, scale)
    script = write(os.path.join(tmp, "hashes.pl"), PERL_SCRIPT)
    return Program("perl", "perl: hashes of %d small strings, 4 rounds" % n,
                   ["perl", script, str(n), "4"], tmp)


PYTHON_SCRIPT = r"""
import sys
n, passes = int(sys.argv[1]), int(sys.argv[2])
out = []
for p in range(passes):
    rows = [{"id": i, "name": "n%d" % (i * 7919 % n), "tags": [i % 7, i % 11, str(i % 13)],
             "score": (i * 37 % 1000) / 10} for i in range(n)]
    groups = {}
    for r in rows:
        groups.setdefault(r["name"][:4], []).append(r)
    summary = sorted(((k, len(v), round(sum(x["score"] for x in v), 3))
                      for k, v in groups.items()), key=lambda t: (-t[1], t[0]))
    index = {r["name"]: r for r in rows}
    words = " ".join(r["name"] for r in rows).split()
    out.append((len(rows), len(groups), summary[:2], len(index), len(set(words))))
print(out)
"""


def make_python3(tmp, scale):
    n = count(200000, scale)
    script = write(os.path.join(tmp, "dicts.py"), PYTHON_SCRIPT)
    return Program("python3", "python3 with PYTHONMALLOC=malloc: dicts and lists of %d rows, "
                   "3 passes" % n, [PYTHON, script, str(n), "3"], tmp,
                   env={"PYTHONMALLOC": "malloc"})


MAWK_PROGRAM = ('{ n[$1]++; s[$1] += $2; w[$3] = $4 " " $1 } '
                'END { for (k in n) { c++; t += s[k] } for (k in w) m += length(w[k]); '
                'print c, t, m }')


def make_mawk(tmp, scale):
    n = count(800000, scale)
    path = os.path.join(tmp, "lines.txt")
    with open(path, "w") as f:
        for i in range(n):
            f.write("user%05d %d w%06d %s\n" % (i * 7919 % 50000, i % 1000, i * 31 % 200000,
                                                "x" * (i % 23)))
    return Program("mawk", "mawk: %d lines into associative arrays" % n,
                   ["mawk", MAWK_PROGRAM, path], tmp)


def make_gcc(tmp, scale):
    n = count(250, scale, least=4)
    parts = ["#include <stddef.h>\n", "struct item { long key; double weight; char tag[24]; "
             "struct item *next; };\n"]
    for i in range(n):
        parts.append("""
static long work_%(i)d(struct item *items, size_t count, long seed)
{
    long acc = seed * %(k)d;
    for (size_t j = 0; j < count; j++) {
        struct item *it = &items[j];
        switch ((it->key + j) %% 5) {
        case 0: acc += it->key * %(a)d; break;
        case 1: acc ^= (long)(it->weight * %(b)d.0); break;
        case 2: acc -= it->tag[j %% 24] + %(c)d; break;
        case 3: if (it->next) acc += it->next->key; break;
        default: acc = acc * 31 + (long)j;
        }
        for (int r = 0; r < %(r)d; r++)
            acc += (acc >> r) & %(m)d;
    }
    return acc;
}
""" % {"i": i, "k": i + 3, "a": i % 17 + 1, "b": i % 13 + 2, "c": i % 29, "r": i % 6 + 1,
            "m": (i * 7) % 255 + 1})
    parts.append("long run_all(struct item *items, size_t count)\n{\n    long acc = 0;\n")
    parts += ["    acc += work_%d(items, count, acc);\n" % i for i in range(n)]
    parts.append("    return acc;\n}\n")
    path = write(os.path.join(tmp, "generated.c"), "".join(parts))
    return Program("gcc", "gcc -O2: a generated C file of %d functions, assembly to stdout" % n,
                   ["gcc", "-O2", "-S", "-o", "-", path], tmp)


def make_git(tmp, scale):
    commits = count(4000, scale)
    repo = os.path.join(tmp, "repo")
    env = {"HOME": tmp, "GIT_CONFIG_NOSYSTEM": "1", "GIT_PAGER": "cat", "LC_ALL": "C"}
    run_env = dict(os.environ, **env)
    subprocess.run(["git", "init", "-q", repo], check=True, env=run_env)
    # A fast-import stream: every commit rewrites a few of 40 files, so
    # `log -p` has real diffs to compute between packed blobs.
    files = {}
    stream = []
    for c in range(commits):
        stream.append("commit refs/heads/main\nmark :%d\n"
                      "committer Bench <bench@example.org> %d +0000\n"
                      % (c + 1, 1700000000 + c * 60))
        message = "change %d\n" % c
        stream.append("data %d\n%s" % (len(message), message))
        if c:
            stream.append("from :%d\n" % c)
        for f in ((c * 7) % 40, (c * 11 + 3) % 40, (c * 13 + 5) % 40):
            lines = files.setdefault(f, ["line %d of file %d\n" % (k, f) for k in range(120)])
            for k in range(c % 5 + 1):
                lines[(c * 17 + k * 29) % len(lines)] = "edit %d.%d in file %d\n" % (c, k, f)
            if c % 3 == 0:
                lines.insert((c * 5) % len(lines), "added in %d\n" % c)
            body = "".join(lines)
            stream.append("M 100644 inline src/file%02d.txt\ndata %d\n%s\n"
                          % (f, len(body.encode()), body))
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input="".join(stream).encode(),
                   check=True, env=run_env)
    subprocess.run(["git", "-C", repo, "gc", "-q"], check=True, env=run_env)
    return Program("git", "git log -p: %d commits (a generated, packed repository)" % commits,
                   ["git", "-C", repo, "log", "-p", "--no-color", "main"], tmp, env=env)


NUMPY_SCRIPT = r"""
import sys
import numpy as np
batches = int(sys.argv[1])
rng = np.random.default_rng(7)
dense, exact = 0.0, 0.0
for batch in range(batches):
    x = rng.standard_normal((128, 768))
    for width in (1024, 1024, 256):
        w = rng.standard_normal((x.shape[1], width)) * 0.03
        x = np.maximum(x @ w, 0.0)
    big = np.ones((1500, 1500)) * batch      # an 18 MB temporary: the large path
    parts = [np.arange(k, k + 4096, dtype=np.float64) for k in range(200)]
    dense += float(x.sum())
    exact += float(big[0, 0]) + float(np.concatenate(parts).sum())
# BLAS may sum in another order where blocks are aligned differently: 9
# significant digits of the dense part are stable, the rest is exact.
print("%.9g %.1f" % (dense, exact))
"""


def make_numpy(tmp, scale):
    batches = count(8, scale, least=1)
    script = write(os.path.join(tmp, "pipeline.py"), NUMPY_SCRIPT)
    return Program("numpy", "numpy: %d batches of dense layers and temporaries" % batches,
                   [PYTHON, script, str(batches)], tmp)


TCL_SCRIPT = r"""
set n [lindex $argv 0]
set d [dict create]
set l {}
for {set i 0} {$i < $n} {incr i} {
    set k "key[expr {($i * 7919) % 100003}]"
    dict lappend d [string range $k 0 5] $i
    lappend l [list $k [expr {$i % 97}] "value $i"]
}
set sorted [lsort -index 1 -integer [lsort -index 0 $l]]
set words [split [join [lrange $sorted 0 20000] " "] " "]
puts "[dict size $d] [llength $sorted] [lindex $sorted 0] [llength [lsort -unique $words]]"
"""


def make_tclsh(tmp, scale):
    n = count(300000, scale)
    script = write(os.path.join(tmp, "lists.tcl"), TCL_SCRIPT)
    return Program("tclsh", "tclsh: dicts and sorted lists of %d entries" % n,
                   ["tclsh", script, str(n)], tmp)


# The set, in table order: (name, maker).
MAKERS = [
    ("jq", make_jq),
    ("sqlite3", make_sqlite3),
    ("perl", make_perl),
    ("python3", make_python3),
    ("mawk", make_mawk),
    ("gcc", make_gcc),
    ("git", make_git),
    ("numpy", make_numpy),
    ("tclsh", make_tclsh),
]
NAMES = [name for name, _ in MAKERS]


def make_set(tmp, scale=1.0, only=None):
    """(programs, skipped): the set with its inputs made under `tmp`, and
    (name, reason) for each program that cannot run here."""
    programs, skipped = [], []
    for name, maker in MAKERS:
        if only and name not in only:
            continue
        binary = {"python3": PYTHON, "numpy": PYTHON, "gcc": "gcc"}.get(name, name)
        if shutil.which(binary) is None:
            skipped.append((name, "%s is not installed" % binary))
            continue
        workdir = os.path.join(tmp, name)
        os.makedirs(workdir, exist_ok=True)
        program = maker(workdir, scale)
        why = program.missing()
        if why:
            skipped.append((name, why))
        else:
            programs.append(program)
    return programs, skipped
