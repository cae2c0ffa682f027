"""instructions.py - the instruction-count mode of run_bench.py: how many
instructions one alloc+free pair costs, counted by callgrind, for orthotope
through each entry point and for tcmalloc, on the churn and mixed rows (and
large_path, whose timing row needs the explanation).

Each count runs ortho-bench under `valgrind --tool=callgrind
--toggle-collect=crate_loop_*`, so only the timed loops of the crate's
workloads and what they call are counted, twice: N and 2N iterations (no
warm-up, one sample). The difference divided by N is the steady-state cost
of one iteration, with every one-time cost (first refills, carving spans,
page faults' kernel side is never counted by callgrind anyway) cancelled
out; divided by the allocations per iteration it is the cost of one pair.
callgrind_annotate splits the count by function and by the source file the
instructions came from, so orthotope's inlined fast path shows its parts
(header.h: the header stamp and check, size_class.h: the class lookup,
cache.h: the thread cache's pop and push). Counts do not depend on the
machine's load."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from entry_points import API_LABEL, ENTRY_POINTS, ORTHO_ONLY, SHARED_APIS, Cell
from machine import build_type, machine_line
from readme import publish

BEGIN, END = "<!-- instr:begin -->", "<!-- instr:end -->"
# The rows, with the allocations (= frees) one iteration makes under the
# crate's definitions, and N, the smaller of the two iteration counts.
WORKLOADS = [
    ("same_thread_small_churn/32", 1, 20000),
    ("same_thread_small_churn/64", 1, 20000),
    ("same_thread_small_churn/65", 1, 20000),
    ("same_thread_small_churn/4096", 1, 20000),
    ("same_thread_small_churn/70000", 1, 20000),
    ("embedding_batch", 8, 5000),
    ("mixed_size_churn", 8, 5000),
    ("large_path", 1, 1000),          # not asked for by the issue; explains that row
]
SMOKE_WORKLOADS = [("mixed_size_churn", 8, 50)]
COMPETITORS = ("tcmalloc",)           # the yardstick
APIS = ("ortho", "ortho-cache", "malloc", "memalign")
TOGGLE = "crate_loop_*"               # crate.c's timed loops
# A function (or one of its source files) below this many instructions per
# pair is left out of the breakdown.
SHOWN_MIN_PER_PAIR = 0.5
SKIP_STATUS = 77                      # CTest's skip code, when valgrind is missing

# "4,320,000 (18.67%)  /path/header.h:ortho_free [/path/lib.so]"
LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.+?):([^\s:]+)(?:\s+\[(.+)\])?\s*$")


def callgrind_profile(bench, cell, workload, iterations, workdir):
    """{(function, source file): instructions} of the toggled loops, and the
    total; raises RuntimeError with the reason."""
    out = os.path.join(workdir, "callgrind.out")
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
            "--toggle-collect=" + TOGGLE, bench, "--api", cell.api, "--warmup", "0",
            "--samples", "1", "--iterations", str(iterations), workload]
    proc = subprocess.run(argv, env=cell.env(), capture_output=True, text=True)
    if proc.returncode != 0 or "result " not in proc.stdout:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError("callgrind run failed (exit %d): %s" % (proc.returncode, tail))
    provider = re.search(r"provider=(\S+)", proc.stdout).group(1)
    if not os.path.basename(provider).startswith(cell.provider_prefix()):
        raise RuntimeError("served by %s, not %s" % (provider, cell.provider_prefix()))
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", out],
                          capture_output=True, text=True).stdout
    costs, total = {}, None
    for line in text.splitlines():
        if "PROGRAM TOTALS" in line:
            first = line.split()[0].replace(",", "")
            total = int(first) if first.isdigit() else 0  # "." when nothing was counted
            continue
        m = LINE.match(line)
        if m:
            key = (m.group(3), os.path.basename(m.group(2)))
            costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    if not total:
        raise RuntimeError("callgrind counted nothing in %s: is the loop still named %s?"
                           % (workload, TOGGLE))
    return costs, total


def per_pair(bench, cell, workload, pairs, n, workdir):
    """(instructions per pair, {(function, file): per pair})."""
    costs1, total1 = callgrind_profile(bench, cell, workload, n, workdir)
    costs2, total2 = callgrind_profile(bench, cell, workload, 2 * n, workdir)
    scale = 1.0 / (n * pairs)
    parts = {k: (costs2.get(k, 0) - costs1.get(k, 0)) * scale for k in set(costs1) | set(costs2)}
    return (total2 - total1) * scale, parts


def breakdown(parts):
    """'malloc 12.0 (header.h 5.0, cache.h 4.0), free 14.0' from the parts."""
    by_function = {}
    for (function, source), value in parts.items():
        by_function.setdefault(function, []).append((value, source))
    items = []
    for function, sources in by_function.items():
        total = sum(v for v, _ in sources)
        if total < SHOWN_MIN_PER_PAIR:
            continue
        shown = sorted(((v, s) for v, s in sources if v >= SHOWN_MIN_PER_PAIR), reverse=True)
        detail = ""
        if len(shown) > 1 or (shown and shown[0][1] != "???"):
            detail = " (" + ", ".join("%s %.1f" % (s, v) for v, s in shown) + ")"
        items.append((total, "%s %.1f%s" % (function, total, detail)))
    return "; ".join(text for _, text in sorted(items, reverse=True))


def run(args, bench, allocators):
    """The instruction-count mode of run_bench.py; returns the exit status."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("run_bench.py --instructions: valgrind is not installed (apt-get install "
              "valgrind; scripts/deps.sh does)", file=sys.stderr)
        return SKIP_STATUS if args.smoke else 1
    workloads = SMOKE_WORKLOADS if args.smoke else WORKLOADS
    if args.only:
        workloads = [w for w in WORKLOADS if w[0] in args.only]
        if not workloads:
            sys.exit("run_bench.py --instructions: --only names none of %s"
                     % " ".join(w[0] for w in WORKLOADS))
    columns = [a for a in allocators if a.is_orthotope() or a.name in COMPETITORS]
    cells = [Cell(a, api) for a in columns for api in APIS
             if a.is_orthotope() or api not in ORTHO_ONLY]
    if args.smoke:
        cells = [c for c in cells if c.key in ("orthotope/ortho", "orthotope/malloc",
                                               "tcmalloc/malloc")]
    comp_cols = [a for a in columns if not a.is_orthotope()]
    ortho_cols = [a for a in columns if a.is_orthotope()]

    counts, failures = {}, []
    with tempfile.TemporaryDirectory(prefix="ortho-instr.") as workdir:
        for workload, pairs, n in workloads:
            for cell in cells:
                try:
                    counts[(workload, cell.key)] = per_pair(bench, cell, workload, pairs, n,
                                                            workdir)
                except RuntimeError as err:
                    failures.append("%s %s: %s" % (workload, cell.key, err))
                    print("FAILED %s %s: %s" % (workload, cell.key, err), file=sys.stderr)
                    continue
                print("%-30s %-22s %7.1f instructions per pair" % (
                    workload, cell.key, counts[(workload, cell.key)][0]), flush=True)

    out = ["Machine: %s; %s build. Instruction counts do not depend on the load."
           % (machine_line(args.build), build_type(args.build)),
           "Instructions per alloc+free pair, counted by callgrind in the crate's timed loops "
           "(crate_loop_*, the loop's own instructions included) as the difference between a "
           "run of 2N and one of N iterations, so one-time costs cancel out. Ratio: orthotope / "
           "tcmalloc on the same entry point; on the ortho_* rows, against tcmalloc's best "
           "entry point. `bench_api.h` and `crate.c` parts are the benchmark's loop, the same "
           "for every allocator on an entry point.", ""]
    header = (["workload", "entry point"] + [a.name for a in ortho_cols] +
              [a.name for a in comp_cols] + ["orthotope / tcmalloc", "orthotope: where they go",
                                             "tcmalloc: where they go"])
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join([" --- "] * 2 + [" ---: "] * (len(columns) + 1) +
                              [" --- "] * 2) + "|")
    for workload, _, _ in workloads:
        for api, _, only in ENTRY_POINTS:
            if not any(c.api == api for c in cells):
                continue
            row = [workload, API_LABEL[api]]
            for a in ortho_cols + comp_cols:
                got = counts.get((workload, "%s/%s" % (a.name, api)))
                row.append("–" if got is None else "%.1f" % got[0])
            comp_apis = SHARED_APIS if only else [api]
            comp = [counts[(workload, "%s/%s" % (c, x))] for c in COMPETITORS for x in comp_apis
                    if (workload, "%s/%s" % (c, x)) in counts]
            best = min(comp, key=lambda c: c[0]) if comp else None
            ortho = counts.get((workload, "orthotope/%s" % api))
            row.append("%.2f" % (ortho[0] / best[0]) if ortho and best else "n/a")
            row.append(breakdown(ortho[1]) if ortho else "")
            row.append(breakdown(best[1]) if best and not only else "")
            out.append("| " + " | ".join(row) + " |")
    if failures:
        out += ["", "Failed: " + "; ".join(failures) + "."]
    publish("\n".join(out), not (args.smoke or args.only), BEGIN, END,
            "Instructions per operation")
    return 1 if failures else 0
