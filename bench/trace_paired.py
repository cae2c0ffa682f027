#!/usr/bin/env python3
"""trace_paired.py - ours / heaptrack from the rounds of one or more
`trace_bench.py --programs ... --runs-json FILE` files, paired within rounds.

trace_bench's table takes the share from each configuration's median. On
a machine whose runs of one build move by up to half their time, one
table moves a program by more than its whole traced cost, so the figures
bench/README.md quotes for a build pool every round it ran: per program,
the added times of each round (ortho-run - preload, heaptrack - glibc;
the runs of one program in one round follow each other), their median
and their mean, and the share from each with a bootstrap interval over
the rounds (rounds resampled whole, so the pairing holds). Rounds with a
configuration missing are left out. Prints only. bench/runs/ keeps the
runs (gzipped; read as they are) behind the figures bench/README.md quotes.

    python3 bench/trace_paired.py runs-a.json runs-b.json.gz [--level 0.9]
    python3 bench/trace_paired.py --smoke     (CTest bench.trace_paired_smoke)
"""
import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile

from trace_bench import SHARE_CONFIGS, share_of

BOOTSTRAP_SAMPLES = 4000


def rounds_by_program(paths):
    """{program: [{config: seconds}]}, one dict per complete round; a
    round is keyed by its file and number, so files never merge rounds."""
    rounds = {}
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as f:
            for run in json.load(f):
                key = (run["program"], path, run["round"])
                rounds.setdefault(key, {})[run["config"]] = run["seconds"]
    out = {}
    for (program, _, _), times in sorted(rounds.items()):
        if all(c in times for c in SHARE_CONFIGS):
            out.setdefault(program, []).append(times)
    return out


def added_times(rounds):
    """(ours, heaptrack's): the time each added within each round,
    ortho-run - preload and heaptrack - glibc."""
    return ([r["ortho-run"] - r["preload"] for r in rounds],
            [r["heaptrack"] - r["glibc"] for r in rounds])


def pooled_share(rounds, centre):
    """centre (median or mean) of our added times over the same of
    heaptrack's."""
    ours, theirs = added_times(rounds)
    return share_of(centre(ours), 0.0, centre(theirs), 0.0)


def interval(rounds, centre, level, rng):
    """The bootstrap interval of pooled_share at `level`, or None when a
    resample has heaptrack adding nothing."""
    shares = []
    for _ in range(BOOTSTRAP_SAMPLES):
        v = pooled_share(rng.choices(rounds, k=len(rounds)), centre)
        if v is None:
            return None
        shares.append(v)
    shares.sort()
    tail = (1.0 - level) / 2.0
    return shares[int(tail * len(shares))], shares[min(len(shares) - 1, int((1.0 - tail) * len(shares)))]


def smoke(tmp):
    """Pools two files of made-up rounds whose added times are known by
    construction (ours 0.3 s, heaptrack's 1.5 s, spread evenly about
    them): both shares must be 0.2, with an interval around it, rounds
    of the two files must stay apart though their numbers repeat, and a
    round missing a configuration must be left out. Returns failures."""
    spread = [-0.10, -0.05, 0.0, 0.05, 0.10]
    paths = []
    for f in range(2):
        runs = []
        for r, e in enumerate(spread):
            slow = 0.4 * ((r + f) % 3)  # a slow stretch moves the whole round
            times = {"preload": 2.0 + slow, "ortho-run": 2.3 + slow + e,
                     "glibc": 1.0 + slow, "heaptrack": 2.5 + slow - 2 * e}
            runs += [{"program": "p: made up", "round": r, "config": c, "seconds": t}
                     for c, t in times.items()]
        runs.append({"program": "p: made up", "round": 99, "config": "preload", "seconds": 1.0})
        paths.append(os.path.join(tmp, "runs%d.json" % f))
        with open(paths[-1], "w") as out:
            json.dump(runs, out)
    rounds = rounds_by_program(paths).get("p: made up", [])
    failures = []
    if len(rounds) != 2 * len(spread):
        failures.append("%d complete rounds pooled, not %d" % (len(rounds), 2 * len(spread)))
    rng = random.Random(1)
    for centre in (statistics.median, statistics.mean):
        share = pooled_share(rounds, centre)
        lo, hi = interval(rounds, centre, 0.9, rng)
        if share is None or abs(share - 0.2) > 1e-9 or not lo <= share <= hi:
            failures.append("%s: share %s [%s, %s], not 0.2 inside its interval"
                            % (centre.__name__, share, lo, hi))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="--runs-json files of trace_bench.py --programs")
    parser.add_argument("--level", type=float, default=0.9, help="bootstrap interval (default 0.9)")
    parser.add_argument("--smoke", action="store_true",
                        help="check the pooling on made-up rounds of known shares, print nothing else")
    args = parser.parse_args()
    if args.smoke:
        with tempfile.TemporaryDirectory() as tmp:
            failures = smoke(tmp)
        for f in failures:
            print("trace_paired.py --smoke: " + f, file=sys.stderr)
        sys.exit(1 if failures else 0)
    if not args.runs:
        parser.error("give one or more --runs-json files of trace_bench.py --programs")
    if not 0.0 < args.level < 1.0:
        sys.exit("trace_paired.py: --level must lie between 0 and 1, such as 0.9")
    try:
        by_program = rounds_by_program(args.runs)
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        sys.exit("trace_paired.py: cannot read the runs (%s); give files that trace_bench.py "
                 "--programs --runs-json wrote" % e)
    if not by_program:
        sys.exit("trace_paired.py: no complete round in %s" % ", ".join(args.runs))
    rng = random.Random(1)  # the same files give the same intervals
    pct = int(round(args.level * 100))
    print("| program | rounds | ours added, median s | heaptrack added, median s | share by medians [%d%%] "
          "| share by means [%d%%] |" % (pct, pct))
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for program, rounds in by_program.items():
        cells = []
        for centre in (statistics.median, statistics.mean):
            share = pooled_share(rounds, centre)
            bounds = interval(rounds, centre, args.level, rng)
            if share is None:
                cells.append("-")
            elif bounds is None:
                cells.append("%.2f" % share)
            else:
                cells.append("%.2f [%.2f, %.2f]" % ((share,) + bounds))
        ours, theirs = added_times(rounds)
        print("| %s | %d | %.3f | %.3f | %s | %s |" % (program.split(":")[0], len(rounds),
                                                       statistics.median(ours),
                                                       statistics.median(theirs),
                                                       cells[0], cells[1]))


if __name__ == "__main__":
    main()
