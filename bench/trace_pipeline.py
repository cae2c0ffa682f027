#!/usr/bin/env python3
"""trace_pipeline.py - the python3 + numpy workload of trace_bench.py.

A small, deterministic stand-in for a Python inference/feature pipeline,
built so that the allocator under it sees real traffic of every size:
records serialized to JSON lines and parsed back into lists of dicts (as a
service reading requests would; Python keeps objects up to 512 bytes in its
own pools, so the traffic that reaches malloc is the longer strings, list
and dict tables, the JSON text and buffers), numpy arrays built from those
rows, matrix products through a few dense layers, temporary concatenations
and a sort, and one large temporary per pass. It prints
one line of checksums; trace_bench.py runs it once untimed under glibc for
the reference and checks that every timed run prints the same line, so a
run that computed something else fails instead of being timed. Needs
python3-numpy (Debian package). Usage: python3 bench/trace_pipeline.py
[--quick] (--quick: one pass instead of BATCHES, for smoke runs)
"""
import json
import sys

import numpy as np

BATCHES = 5         # pipeline passes
ROWS = 1500         # records per pass
FEATURES = 96       # numeric features per record
LAYERS = (256, 256, 64)


def make_lines(batch, rng):
    """One pass of requests as JSON lines, as they would arrive."""
    lines = []
    values = rng.standard_normal((ROWS, FEATURES)).round(5)
    for i in range(ROWS):
        row = {"id": batch * ROWS + i,
               "name": "item-%d-%d;" % (batch, i) * (10 + i % 60),   # 100 B to 1 KB
               "tags": ["t%d" % ((i * k) % 17) for k in range(6)]}
        for k in range(10):
            row["f%d" % k] = float(values[i, k])
        row["vec"] = values[i].tolist()
        lines.append(json.dumps(row))
    return lines


def make_rows(batch, rng):
    """A list of dict records, parsed from the JSON lines of one pass."""
    return [json.loads(line) for line in make_lines(batch, rng)]


def featurize(rows):
    """Rows -> a float matrix, through per-row Python lists."""
    return np.array([r["vec"] + [r["f0"] * r["f1"], len(r["name"]) / 100.0] for r in rows])


def main():
    rng = np.random.default_rng(20261125)
    weights = []
    width = FEATURES + 2
    for out in LAYERS:
        weights.append(rng.standard_normal((width, out)) / np.sqrt(width))
        width = out
    total, kept = 0.0, 0
    for batch in range(1 if "--quick" in sys.argv[1:] else BATCHES):
        rows = make_rows(batch, rng)
        x = featurize(rows)
        for w in weights:
            x = np.maximum(x @ w, 0.0)
        scores = x.sum(axis=1)
        order = np.argsort(-scores, kind="stable")[:100]
        top = [dict(rows[j], score=float(scores[j])) for j in order]
        kept += len({t["tags"][1] for t in top})
        wide = np.concatenate([x, x * 2.0, x ** 2], axis=1)          # temporaries
        big = np.outer(scores, scores)                                 # 32 MB: large path
        total += float(wide.mean()) + float(big.trace()) * 1e-6
    print("%.6f %d" % (total, kept))


if __name__ == "__main__":
    main()
