#!/usr/bin/env python3
"""report_cli.py - end-to-end tests of the ortho-report binary.

Each case runs the real program on trace databases of real traced runs (the
fixtures of make_fixtures.sh, plus runs traced here: a sampled run and the
report_leaky program with and without its extra leak) and checks the output
against what SQLite itself returns from the same database, never against
numbers copied from ortho-report's own output. The SVG is parsed with
xml.etree; the pprof profile is gunzipped and decoded by the protocol-buffers
reader below, written from the wire-format documentation.

Usage: report_cli.py CASE --report BIN --fixtures DIR --lib SO --workload BIN
                          --leaky BIN --runtime BIN
Exit status 0 when the case passes; the failing check is printed otherwise.
"""
import argparse
import gzip
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

ARGS = None
SCRATCH = None
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


# ---- running things ---------------------------------------------------------

def report(*argv, expect=0):
    """Runs ortho-report; returns (stdout, stderr); checks the exit status."""
    done = subprocess.run([ARGS.report, *argv], capture_output=True, text=True, timeout=120)
    check(done.returncode == expect,
          f"ortho-report {' '.join(argv)} exited {done.returncode}, expected {expect}\n"
          f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr}")
    return done.stdout, done.stderr


def fixture(name):
    path = os.path.join(ARGS.fixtures, name)
    check(os.path.exists(path), f"fixture {path} is missing (run the fixture.trace_databases test)")
    return path


def query(db, sql, *params):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def trace(name, argv, extra_env=None):
    """Runs argv with the library preloaded and tracing on into SCRATCH/name;
    returns the database once every traced process has ended."""
    db = os.path.join(SCRATCH, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORTHO_") and k != "LD_PRELOAD"}
    env.update({"ORTHO_TRACE": "1", "ORTHO_TRACE_DB": db, "LD_PRELOAD": ARGS.lib})
    env.update(extra_env or {})
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    check(done.returncode == 0, f"traced {argv} exited {done.returncode}: {done.stderr}")
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            ended = query(db, "SELECT count(*) > 0 AND count(end_ns) = count(*) FROM processes")
            if ended[0][0] == 1:
                # The collector may still hold the WAL; wait for it to close the file.
                time.sleep(0.3)
                return db
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise Failure(f"{db}: the traced processes did not all end within 15 s")


# ---- the documented text rules (docs/ortho-report.md) ----------------------

def human_bytes(n):
    """units.h's rule: 'N B' below 1 KiB, else one decimal of the largest
    binary unit not above the value."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 1024:
        return f"{sign}{n:.0f} B"
    value, unit = n / 1024, 0
    names = ["KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and unit < 3:
        value /= 1024
        unit += 1
    return f"{sign}{value:.1f} {names[unit]}"


# ---- a protocol-buffers reader, from the wire-format documentation --------

def pb_varint(data, at):
    shift = value = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def pb_fields(data):
    """Yields (field number, wire type, value) of one message; a
    length-delimited value is its bytes."""
    at = 0
    while at < len(data):
        key, at = pb_varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = pb_varint(data, at)
        elif wire == 2:
            length, at = pb_varint(data, at)
            value = data[at:at + length]
            check(len(value) == length, f"field {field}: length {length} runs past the end")
            at += length
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        else:
            raise Failure(f"wire type {wire} (field {field}) is not valid protobuf")
        yield field, wire, value


def pb_repeated_varints(wire, value):
    """A repeated varint field arrives packed (wire 2) or one by one (wire 0)."""
    if wire == 0:
        return [value]
    out, at = [], 0
    while at < len(value):
        v, at = pb_varint(value, at)
        out.append(v)
    return out


def signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def decode_profile(path):
    """profile.proto's Profile, with only the fields the checks need."""
    with open(path, "rb") as f:
        raw = f.read()
    check(raw[:2] == b"\x1f\x8b", f"{path} is not gzipped (magic {raw[:2]!r})")
    data = gzip.decompress(raw)
    p = {"sample_type": [], "sample": [], "mapping": {}, "location": {}, "function": {},
         "string_table": [], "comment": [], "period": None, "default_sample_type": 0}
    for field, wire, value in pb_fields(data):
        if field == 1:
            vt = {f: v for f, _, v in pb_fields(value)}
            p["sample_type"].append((vt.get(1, 0), vt.get(2, 0)))
        elif field == 2:
            s = {"location_id": [], "value": [], "label": []}
            for f, w, v in pb_fields(value):
                if f == 1:
                    s["location_id"] += pb_repeated_varints(w, v)
                elif f == 2:
                    s["value"] += [signed64(x) for x in pb_repeated_varints(w, v)]
                elif f == 3:
                    s["label"].append({lf: lv for lf, _, lv in pb_fields(v)})
            p["sample"].append(s)
        elif field == 3:
            m = {f: v for f, _, v in pb_fields(value)}
            p["mapping"][m[1]] = m
        elif field == 4:
            loc = {"lines": []}
            for f, _, v in pb_fields(value):
                if f == 4:
                    loc["lines"].append({lf: lv for lf, _, lv in pb_fields(v)})
                else:
                    loc[f] = v
            p["location"][loc[1]] = loc
        elif field == 5:
            fn = {f: v for f, _, v in pb_fields(value)}
            p["function"][fn[1]] = fn
        elif field == 6:
            p["string_table"].append(value.decode("utf-8"))
        elif field == 12:
            p["period"] = value
        elif field == 13:
            p["comment"].append(value)
        elif field == 14:
            p["default_sample_type"] = value
    return p


def profile_leaf_names(p, sample):
    """Function names of a sample's frames, leaf first."""
    names = []
    for lid in sample["location_id"]:
        check(lid in p["location"], f"sample names location {lid}, which the profile lacks")
        for line in p["location"][lid]["lines"]:
            fid = line.get(1, 0)
            check(fid in p["function"], f"location {lid} names function {fid}, which is missing")
            names.append(p["string_table"][p["function"][fid].get(2, 0)])
    return names


def check_profile_totals(p, db, sampled):
    strings = p["string_table"]
    check(strings and strings[0] == "", "string_table[0] is not the empty string")
    for index in [i for vt in p["sample_type"] for i in vt] + p["comment"]:
        check(0 <= index < len(strings), f"string index {index} is out of the table")
    types = [(strings[t], strings[u]) for t, u in p["sample_type"]]
    check(types == [("alloc_objects", "count"), ("alloc_space", "bytes"),
                    ("inuse_objects", "count"), ("inuse_space", "bytes")],
          f"sample types are {types}")
    totals = [sum(s["value"][i] for s in p["sample"]) for i in range(4)]
    if not sampled:
        expect = query(db, "SELECT sum(allocs), sum(alloc_bytes), sum(live_blocks), sum(live_bytes)"
                           " FROM sites")[0]
        check(tuple(totals) == tuple(expect),
              f"profile totals {totals} differ from the sites table {expect}")
        leaks = query(db, "SELECT count(*), coalesce(sum(requested_size), 0) FROM leaks")[0]
        check((totals[2], totals[3]) == leaks,
              f"profile in-use {totals[2:]} differs from the leaks view {leaks}")
        classes = query(db, "SELECT sum(allocs), sum(requested_bytes) FROM class_totals")[0]
        check((totals[0], totals[1]) == classes,
              f"profile allocations {totals[:2]} differ from class_totals {classes}")
    else:
        est = query(db, "SELECT sum(est_allocs), sum(est_bytes) FROM sites WHERE stack_id <> 0")[0]
        slack = len(p["sample"])  # each sample's estimate is rounded to a whole number
        check(abs(totals[0] - est[0]) <= slack and abs(totals[1] - est[1]) <= slack,
              f"sampled profile totals {totals[:2]} are not the estimates {est}")
    return totals


# ---- cases: the report -----------------------------------------------------

@case
def text_numbers_equal_the_views():
    db = fixture("facts.db")
    # Every live block counted as a leak, as the leaks view has them (the
    # runtime's own are set apart otherwise: see the suppression cases).
    out, _ = report("--no-default-suppressions", db)
    allocs, requested, usable = query(
        db, "SELECT sum(allocs), sum(requested_bytes), sum(usable_bytes) FROM class_totals")[0]
    line = f"allocated    {allocs} blocks, {human_bytes(requested)} requested, " \
           f"{human_bytes(usable)} usable ({100.0 * (usable - requested) / usable:.2f}% waste)"
    check(line in out, f"the overview lacks \"{line}\"\n{out}")
    live = query(db, "SELECT sum(live_blocks), sum(live_requested_bytes), sum(live_usable_bytes)"
                     " FROM fragmentation")[0]
    line = f"live at end  {live[0]} blocks, {human_bytes(live[1])} requested, " \
           f"{human_bytes(live[2])} usable"
    check(line in out, f"the overview lacks \"{line}\"")
    blocks, leaked, sites = query(
        db, "SELECT count(*), sum(requested_size), count(DISTINCT process_id || '|' ||"
            " coalesce(function, '') || '|' || coalesce(file, '') || '|' || coalesce(line, ''))"
            " FROM leaks")[0]
    check(f"leaks        {blocks} blocks, {human_bytes(leaked)}, from {sites} sites" in out,
          "the overview's leak line differs from the leaks view")
    # Every class row: exact counts, bytes by the documented rule, waste % as the docs' query.
    rows = query(db, "SELECT class_name, sum(allocs), sum(frees), sum(requested_bytes),"
                     " sum(usable_bytes) FROM class_totals GROUP BY class_id HAVING sum(allocs) > 0")
    section = out.split("Classes (all processes)")[1].split("\n\n")[0]
    for name, a, f, r, u in rows:
        pct = round(100.0 * (u - r) / u, 2)
        pattern = rf"^\s+{name}\s+{a}\s+{f}\s+{re.escape(human_bytes(r))}\s+" \
                  rf"{re.escape(human_bytes(u))}\s+{re.escape(human_bytes(u - r))}\s+{pct:.2f}%"
        check(re.search(pattern, section, re.M), f"class row {name} is not {pattern}\n{section}")
    # The top site by bytes and by count, aggregated per site as the docs' query does.
    top = query(db, "SELECT st.site_function, sum(si.allocs), sum(si.alloc_bytes) FROM sites si"
                    " JOIN stacks st USING (process_id, stack_id)"
                    " GROUP BY si.process_id, st.site_function, st.site_file, st.site_line"
                    " ORDER BY sum(si.alloc_bytes) DESC LIMIT 1")[0]
    by_bytes = out.split("Top sites by bytes allocated")[1].splitlines()[2]
    check(top[0] in by_bytes and f" {top[1]} " in by_bytes and human_bytes(top[2]) in by_bytes,
          f"the first site by bytes is \"{by_bytes}\", the database says {top}")
    kind, events = query(db, "SELECT kind, sum(events) FROM corruption_summary GROUP BY kind")[0]
    check(f"corruption   {events} event: {kind} x{events}" in out
          or f"corruption   {events} events: {kind} x{events}" in out,
          "the overview's corruption line differs from the corruption view")
    # The known facts of query_workload: leak_here's 7 x 200 B with its stack.
    check("7 blocks, 1.4 KiB (B256) from leak_here" in out, "leak_here's leak is not reported")
    leak_stack = out.split("from leak_here")[1].splitlines()
    check("#0 leak_here" in leak_stack[1] and "#1 main" in leak_stack[2],
          f"leak_here's stack is not innermost first: {leak_stack[1:3]}")


@case
def json_numbers_equal_the_views():
    db = fixture("facts.db")
    out, _ = report("--format", "json", "--no-default-suppressions", db)
    doc = json.loads(out)
    total = doc["totals"]
    allocs, frees, requested, usable = query(
        db, "SELECT sum(allocs), sum(frees), sum(requested_bytes), sum(usable_bytes)"
            " FROM class_totals")[0]
    check((total["allocs"], total["frees"], total["requested_bytes"], total["usable_bytes"])
          == (allocs, frees, requested, usable), f"JSON totals {total} differ from class_totals")
    leak = query(db, "SELECT count(*), sum(requested_size) FROM leaks")[0]
    check((total["leaked_blocks"], total["leaked_bytes"]) == leak, "JSON leak totals differ")
    check(total["corruption_events"] == query(db, "SELECT sum(events) FROM corruption_summary")[0][0],
          "JSON corruption count differs")
    # Classes: every active class, every number the views hold.
    want = {r[0]: r[1:] for r in query(
        db, "SELECT t.class_name, sum(t.allocs), sum(t.frees), sum(t.requested_bytes),"
            " sum(t.usable_bytes), sum(f.live_blocks), sum(f.live_requested_bytes),"
            " sum(f.live_usable_bytes), sum(f.cached_blocks), sum(f.pooled_blocks)"
            " FROM class_totals t JOIN fragmentation f USING (process_id, class_id)"
            " GROUP BY t.class_id HAVING sum(t.allocs) + sum(f.live_blocks) + sum(f.cached_blocks)"
            " + sum(f.pooled_blocks) > 0")}
    got = {c["class_name"]: (c["allocs"], c["frees"], c["requested_bytes"], c["usable_bytes"],
                             c["live_blocks"], c["live_requested_bytes"], c["live_usable_bytes"],
                             c["cached_blocks"], c["pooled_blocks"]) for c in doc["classes"]}
    check(got == want, f"JSON classes {got} differ from the views {want}")
    # Per process: the fragmentation view's waste % for one live class.
    pct = query(db, "SELECT waste_pct FROM fragmentation WHERE class_name = 'B256' AND process_id = 1")
    check(abs(100.0 * (1792 - 1400) / 1792 - pct[0][0]) < 0.005, "facts.db's B256 waste moved")
    # Sites: aggregated per site, as the docs' per-site query.
    want = sorted(query(
        db, "SELECT si.process_id, st.site_function, sum(si.allocs), sum(si.alloc_bytes),"
            " sum(si.live_blocks), sum(si.live_bytes) FROM sites si LEFT JOIN stacks st"
            " USING (process_id, stack_id)"
            " GROUP BY si.process_id, st.site_function, st.site_file, st.site_line"))
    got = sorted((s["process_id"], s["function"], s["allocs"], s["alloc_bytes"], s["live_blocks"],
                  s["live_bytes"]) for s in doc["sites"])
    check(got == want, f"JSON sites {got} differ from the database {want}")
    # Leaks per stack, with the whole stack in level order.
    want = sorted(query(db, "SELECT process_id, stack_id, count(*), sum(requested_size), function"
                            " FROM leaks GROUP BY process_id, stack_id"))
    got = sorted((l["process_id"], l["stack_id"], l["blocks"], l["bytes"], l["function"])
                 for l in doc["leaks"])
    check(got == want, f"JSON leaks {got} differ from the leaks view {want}")
    for l in doc["leaks"]:
        frames = [r[0] for r in query(db, "SELECT function FROM frames WHERE process_id = ? AND"
                                          " stack_id = ? ORDER BY level",
                                      l["process_id"], l["stack_id"])]
        got = [f["function"] for f in l["stack"]]
        check(len(got) == len(frames) and all(g == f.split("@")[0] for g, f in zip(got, frames)),
              f"leak stack {got} is not the frames {frames} in level order")
    events = query(db, "SELECT kind, function, address FROM corruption")
    got = [(c["kind"], c["function"], c["address"]) for c in doc["corruption"]]
    check(got == events, f"JSON corruption {got} differs from the view {events}")
    # Processes: one per row, with its own totals.
    procs = query(db, "SELECT process_id, pid, via FROM processes ORDER BY process_id")
    check([(p["process_id"], p["pid"], p["via"]) for p in doc["processes"]] == procs,
          "JSON processes differ from the processes table")


@case
def json_peak_is_exact_in_full_mode_and_bounded_otherwise():
    full = fixture("facts_full.db")
    doc = json.loads(report("--format", "json", full)[0])
    # The peak by a running sum over every allocation and free, in Python.
    events = []
    for a, f, u in query(full, "SELECT alloc_ns, free_ns, usable_size FROM allocations"
                               " WHERE process_id = 1"):
        events.append((a, u))
        if f is not None:
            events.append((f, -u))
    live = peak = 0
    for _, d in sorted(events):
        live += d
        peak = max(peak, live)
    root = doc["processes"][0]["peak_live_usable_bytes"]
    check(root["exact"] and root["low"] == peak == root["high"],
          f"full-mode peak {root} is not the running maximum {peak}")
    # Summary mode: the bounds hold the final live bytes and the per-class peaks' sum.
    doc = json.loads(report("--format", "json", fixture("facts.db"))[0])
    root = doc["processes"][0]["peak_live_usable_bytes"]
    high = query(fixture("facts.db"), "SELECT sum(peak_live_usable_bytes) FROM class_stats"
                                      " WHERE process_id = 1")[0][0]
    final = query(fixture("facts.db"), "SELECT sum(live_usable_bytes) FROM class_stats"
                                       " WHERE process_id = 1")[0][0]
    check(not root["exact"] and root["high"] == high and final <= root["low"] <= root["high"],
          f"summary-mode peak bounds {root}: expected low >= {final}, high = {high}")


@case
def each_section_option_prints_only_its_section():
    db = fixture("facts.db")
    for option, title, others in [("--leaks", "Leaks:", ["Classes", "Top sites", "Corruption"]),
                                  ("--sites", "Top sites by", ["Classes", "Leaks:", "Corruption"]),
                                  ("--classes", "Classes", ["Top sites", "Leaks:", "Corruption"]),
                                  ("--corruption", "Corruption:", ["Classes", "Top sites",
                                                                   "Leaks:"])]:
        out, _ = report(option, db)
        check(title in out, f"{option} does not print its section")
        check("program" not in out, f"{option} also prints the overview")
        for other in others:
            check(other not in out, f"{option} also prints {other}")
        doc = json.loads(report(option, "--format", "json", db)[0])
        # One key for the section (corruption: the events and their summary).
        keys = 4 if option == "--corruption" else 3
        check(len(doc) == keys and "schema_version" in doc and "database" in doc,
              f"{option} --format json holds {sorted(doc)}")


@case
def fail_on_leaks_and_corruption_gate_a_ci_run():
    db = fixture("facts.db")
    out, err = report("--fail-on-leaks", db, expect=1)
    check("Leaks:" in out and "--fail-on-leaks" in err and len(err.splitlines()) == 1,
          f"--fail-on-leaks: report and one line expected, stderr: {err}")
    _, err = report("--fail-on-corruption", "--leaks", db, expect=1)
    check("1 heap corruption events" in err, f"--fail-on-corruption says {err}")
    # A run without leaks or corruption passes both gates.
    clean = trace("clean.db", [ARGS.leaky, "none"], {"ORTHO_TRACE_STACKS": "0"})
    leaks = query(clean, "SELECT count(*) FROM leaks")[0][0]
    check(leaks > 0, "report_leaky keeps two blocks: the gate must see them")
    report("--fail-on-corruption", clean)
    report("--fail-on-leaks", clean, expect=1)


@case
def runtime_allocations_are_suppressed_apart_and_pass_the_leak_gate():
    # report_runtime frees all it allocates; the C runtime keeps its own.
    db = trace("runtime.db", [ARGS.runtime], {"LANG": "C.UTF-8"})
    live = query(db, "SELECT count(*), sum(requested_size) FROM leaks")[0]
    check(live[0] > 0, "the runtime kept no block: nothing to suppress")
    out, err = report("--leaks", "--fail-on-leaks", db)
    check("Leaks: none" in out and err == "", f"runtime blocks reported as leaks:\n{out}\n{err}")
    check(f"Suppressed (the C runtime's own blocks, or --suppressions): {live[0]} block" in out,
          f"the suppressed blocks are not counted apart:\n{out}")
    for site in ["_IO_file_doallocate", "allocate_dtv"]:
        check(re.search(rf"from {site} \(.*\): built-in site:", out),
              f"{site} is not shown suppressed by a built-in rule:\n{out}")
    overview, _ = report(db)
    check(f"leaks        none; suppressed: {live[0]} blocks" in overview,
          f"the overview does not count them apart:\n{overview}")
    doc = json.loads(report("--format", "json", db)[0])
    check(doc["totals"]["leaked_blocks"] == 0 and
          (doc["totals"]["suppressed_blocks"], doc["totals"]["suppressed_bytes"]) == live,
          f"JSON totals {doc['totals']}, the leaks view {live}")
    check(all(l["suppressed_by"].startswith("built-in site:") for l in doc["leaks"]),
          f"a JSON leak is not suppressed: {doc['leaks']}")
    # Without the built-in list they are leaks again, and the gate trips.
    out, err = report("--leaks", "--fail-on-leaks", "--no-default-suppressions", db, expect=1)
    check(f"Leaks: {live[0]} blocks" in out and "Suppressed" not in out, out)


@case
def a_suppressions_file_sets_apart_the_leaks_its_rules_match():
    db = fixture("facts.db")
    out, _ = report("--leaks", "--fail-on-leaks", db, expect=1)
    check("7 blocks, 1.4 KiB (B256) from leak_here" in out.split("Suppressed")[0], out)
    # A site rule, a frame rule on a source file name, and LeakSanitizer's spelling
    # on a module file name: each sets leak_here apart, and the gate passes.
    for n, rule in enumerate(["site:leak_h*", "frame:query_workload.c", "leak:it_query_workload",
                              "frame:*/tests/integration/it_query_workload"]):
        rules = write_table(f"rules{n}.txt", f"# leak_here is the test's own\n\n  {rule}  \n")
        out, err = report("--leaks", "--fail-on-leaks", "--suppressions", rules, db)
        check("Leaks: none" in out and err == "", f"{rule}: leak_here still leaks:\n{out}{err}")
        named = f": {rules}:3 {rule.replace('leak:', 'frame:')}"
        check(re.search(rf"from leak_here .*{re.escape(named)}$", out, re.M),
              f"{rule}: the rule is not named:\n{out}")
    # A rule that matches nothing changes nothing.
    rules = write_table("none.txt", "site:no_such_function\nframe:libnothing.so\n")
    report("--leaks", "--fail-on-leaks", "--suppressions", rules, db, expect=1)
    # The diff leaves suppressed leaks out: a run against itself with and without them.
    doc = json.loads(report("--diff", "--format", "json", "--suppressions",
                            write_table("all.txt", "frame:main\n"), db, db)[0])
    check(doc["empty"], f"diff with everything suppressed: {doc}")
    refused(["--suppressions", write_table("bad.txt", "site:ok\nfunction:main\n"), db],
            "bad.txt:2", "function:main", "site:PATTERN")
    refused(["--suppressions", write_table("empty.txt", "site:\n"), db], "empty.txt:1")
    refused(["--suppressions", os.path.join(SCRATCH, "missing.txt"), db], "missing.txt",
            "No such file")


@case
def a_run_without_stacks_reports_but_refuses_stack_outputs():
    db = fixture("nostacks.db")
    out, _ = report(db)
    check("stacks off (ORTHO_TRACE_STACKS=0)" in out, "the summary does not say stacks were off")
    check("without a stack (stacks were off)" in out, "leaks without stacks are not explained")
    for option, target in [("--flamegraph", "x.svg"), ("--folded", "x.txt"),
                           ("--pprof", "x.pb.gz")]:
        path = os.path.join(SCRATCH, target)
        _, err = report(option, path, db, expect=2)
        check(len(err.strip().splitlines()) == 1 and "stacks off" in err and db in err,
              f"{option} on a run without stacks says: {err}")
        check(not os.path.exists(path), f"{option} wrote {path} anyway")


@case
def the_summary_splits_allocations_by_the_function_called_and_an_older_file_has_no_split():
    db = fixture("facts.db")
    # query_workload's own calls are all malloc: 7 + 50 + 20000 + 4 + 1 in
    # the root, 3 in the exec'd child (see its opening comment); glibc may
    # add calls of its own (pthread_create's calloc), so the root's malloc
    # count is checked from the workload and the rest against the view.
    rows = query(db, "SELECT call, sum(allocs), sum(requested_bytes) FROM call_totals"
                     " GROUP BY call ORDER BY 2 DESC, 1")
    check(query(db, "SELECT sum(allocs) FROM call_totals WHERE process_id = 1 AND call = 'malloc'")
          == [(7 + 50 + 20000 + 4 + 1,)], "facts.db's root did not make the workload's mallocs")
    check(query(db, "SELECT call, sum(allocs) FROM call_totals WHERE process_id = 3 GROUP BY call")
          == [("malloc", 3)], "facts.db's exec'd child did not make its 3 mallocs")
    out, _ = report(db)
    line = "by call      " + ", ".join(f"{c} {n}" for c, n, _ in rows)
    check(line in out, f"the overview lacks \"{line}\"\n{out}")
    allocs = query(db, "SELECT sum(allocs) FROM class_totals")[0][0]
    check(sum(n for _, n, _ in rows) == allocs, "the calls do not add up to the allocations")
    doc = json.loads(report("--format", "json", db)[0])
    want = {c: {"allocs": n, "requested_bytes": b} for c, n, b in rows}
    check(doc["totals"]["calls"] == want, f"JSON calls {doc['totals']['calls']}, the view {want}")
    check(list(doc["totals"]["calls"]) == [c for c, _, _ in rows], "JSON calls are not most first")
    for p in doc["processes"]:
        want = {c: {"allocs": n, "requested_bytes": b} for c, n, b in query(
            db, "SELECT call, sum(allocs), sum(requested_bytes) FROM call_totals"
                " WHERE process_id = ? GROUP BY call", p["process_id"])}
        check(p["totals"]["calls"] == want,
              f"process {p['process_id']}: JSON calls {p['totals']['calls']}, the view {want}")
    # A file from before the split (no alloc_calls, no call_totals) still
    # reports, without the line, and JSON says null.
    older = scratch_copy("facts.db", "before_calls.db")
    conn = sqlite3.connect(older)
    conn.executescript("DROP VIEW call_totals; DROP TABLE alloc_calls;")
    conn.close()
    out, _ = report(older)
    check("allocated    " in out and "by call" not in out, f"an older file's overview:\n{out}")
    doc = json.loads(report("--format", "json", older)[0])
    check(doc["totals"]["calls"] is None and all(p["totals"]["calls"] is None
                                                 for p in doc["processes"]),
          "an older file's JSON calls are not null")


# ---- cases: stack outputs --------------------------------------------------

def scratch_copy(name, new_name):
    """A copy of fixture `name` in the scratch directory, to add rows to."""
    path = os.path.join(SCRATCH, new_name)
    shutil.copy(fixture(name), path)
    return path


SVG_CHAR_PX = 7.2    # a 12 px monospace character as Chromium draws it
SVG_TITLE_PX = 10.2  # the same at the title's 17 px


def check_svg_text_fits(root, ns):
    """Every frame label fits its frame (3 px padding each side) at 7.2 px a
    character, and the title leaves room for the buttons at its ends."""
    for g in root.findall(".//s:g[@class='f']", ns):
        label = g.find("s:text", ns).text or ""
        width = float(g.get("data-w"))
        check(len(label) * SVG_CHAR_PX <= width - 6 or not label,
              f"label \"{label}\" ({len(label)} characters) overflows its {width:.1f} px frame")
    title = "".join(root.find(".//s:text[@data-t]", ns).itertext())
    button = len("Reset zoom") * SVG_CHAR_PX
    room = 1200 - 2 * (10 + button)
    check(len(title.split("Flame graph")[0]) == 0, f"the first heading is not the title: {title}")
    shown = root.find(".//s:text[@data-t]/s:tspan", ns).text
    check(len(shown) * SVG_TITLE_PX <= room,
          f"the title \"{shown}\" ({len(shown) * SVG_TITLE_PX:.0f} px) covers the buttons ({room:.0f} px free)")


@case
def svg_parses_as_xml_and_names_the_leaking_function():
    db = fixture("facts.db")
    svg = os.path.join(SCRATCH, "live.svg")
    report("--flamegraph", svg, "--weight", "live-bytes", db)
    root = ElementTree.parse(svg).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    check(root.tag == "{http://www.w3.org/2000/svg}svg", f"root element is {root.tag}")
    script = root.find("s:script", ns)
    check(script is not None and "function zoom" in script.text,
          "the SVG has no zoom script: it is not interactive")
    node = subprocess.run(["sh", "-c", "command -v node"], capture_output=True, text=True)
    if node.returncode == 0:  # the script at least parses as JavaScript
        js = os.path.join(SCRATCH, "flame.js")
        with open(js, "w") as f:
            f.write(script.text)
        done = subprocess.run(["node", "--check", js], capture_output=True, text=True)
        check(done.returncode == 0, f"the flame graph's script does not parse: {done.stderr}")
    frames = root.findall(".//s:g[@class='f']", ns)
    names = {g.get("data-n") for g in frames}
    check("leak_here" in names, f"the live-bytes graph does not name leak_here: {sorted(names)}")
    check("churn" not in names, "churn frees everything, yet it is in the live-bytes graph")
    # The root frame's tooltip states the total, which must be the database's live bytes.
    live = query(db, "SELECT sum(live_bytes) FROM sites")[0][0]
    all_frame = [g for g in frames if g.get("data-n") == "all"][0]
    title = all_frame.find("s:title", ns).text
    check(f"live at exit ({live} bytes)" in title and "bytes live bytes" not in title,
          f"root title \"{title}\", live {live}")
    # Allocated bytes: every site wide enough to draw (0.1 px of the 1180 px
    # of frames) is drawn; churn, hand_over and hold_long in byte order.
    svg = os.path.join(SCRATCH, "alloc.svg")
    report("--flamegraph", svg, db)
    frames = ElementTree.parse(svg).getroot().findall(".//s:g[@class='f']", ns)
    widths = {g.get("data-n"): float(g.get("data-w")) for g in frames}
    total = query(db, "SELECT sum(alloc_bytes) FROM sites")[0][0]
    for site, nbytes in query(db, "SELECT st.site_function, sum(si.alloc_bytes) FROM sites si"
                                  " JOIN stacks st USING (process_id, stack_id)"
                                  " GROUP BY st.site_function"):
        drawn = nbytes / total * 1180 >= 0.1
        check((site in widths) == drawn,
              f"site {site} ({nbytes} of {total} bytes) {'is missing' if drawn else 'is drawn'}")
    check(widths["churn"] > widths["hand_over"] > widths["hold_long"],
          "frame widths do not follow allocated bytes")
    check_svg_text_fits(ElementTree.parse(svg).getroot(), ns)


@case
def a_stack_20000_frames_deep_goes_through_every_stack_output():
    db = scratch_copy("facts.db", "deep.db")
    depth = 20000
    conn = sqlite3.connect(db)
    # One stack of process 1, allocating most of the run's bytes so that
    # every frame of it is wide enough to draw; and a command line longer
    # than the title's room.
    conn.execute("INSERT INTO stacks VALUES (1, 999999, ?, 0, 'deep_0', '/src/deep.c', 10)",
                 (depth,))
    conn.execute("INSERT INTO sites VALUES (1, 999999, 5, 1000000000, 5, 1000000000, 0, 0,"
                 " 1000000000, 5, 1000000000)")
    conn.executemany("INSERT INTO frames VALUES (1, 999999, ?, ?, ?, '/work/deep', '/src/deep.c', ?)",
                     [(level, 4096 + level, f"deep_{level}", 10 + level) for level in range(depth)])
    conn.execute("UPDATE processes SET cmdline = ? WHERE process_id = 1",
                 ("/usr/bin/a-program-with-a-long-command-line " + "--option=value " * 40,))
    # A one-frame stack 148 px wide, whose long name must be cut: at 7.0 px
    # a character 20 would be kept (140 px), which overflow at 7.2 (144 px).
    total = conn.execute("SELECT sum(alloc_bytes) FROM sites").fetchone()[0]
    wide = round(148 * total / (1180 - 148))
    conn.execute("INSERT INTO stacks VALUES (1, 999998, 1, 0, 'a_function_whose_name_is_longer_than"
                 "_its_frame', '/src/deep.c', 5)")
    conn.execute("INSERT INTO sites VALUES (1, 999998, 1, ?, 1, ?, 0, 0, ?, 1, ?)",
                 (wide, wide, wide, wide))
    conn.execute("INSERT INTO frames VALUES (1, 999998, 0, 4000, 'a_function_whose_name_is_longer"
                 "_than_its_frame', '/work/deep', '/src/deep.c', 5)")
    conn.commit()
    conn.close()
    svg = os.path.join(SCRATCH, "deep.svg")
    report("--flamegraph", svg, db)
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ElementTree.parse(svg).getroot()
    depths = {g.get("data-n"): int(g.get("data-d")) for g in root.findall(".//s:g[@class='f']", ns)}
    # all, then the process's root frame, then the stack outermost first.
    check(depths.get("deep_0") == depth + 1 and depths.get(f"deep_{depth - 1}") == 2,
          f"the deep stack is not drawn whole: deep_0 at {depths.get('deep_0')}")
    check_svg_text_fits(root, ns)
    out, _ = report("--folded", "-", db)
    deep = [line for line in out.splitlines() if "deep_0 " in line]
    check(len(deep) == 1 and deep[0].count(";") == depth and deep[0].endswith(" 1000000000"),
          "the folded line of the deep stack does not hold its 20000 frames")
    path = os.path.join(SCRATCH, "deep.pb.gz")
    report("--pprof", path, db)
    p = decode_profile(path)
    check(max(len(s["location_id"]) for s in p["sample"]) == depth,
          "the pprof sample of the deep stack does not hold its 20000 locations")


@case
def folded_stacks_sum_to_the_database_and_start_at_the_root():
    db = fixture("facts.db")
    out, _ = report("--folded", "-", db)
    lines = out.strip().splitlines()
    weights = {}
    for line in lines:
        path, _, weight = line.rpartition(" ")
        check(weight.isdigit() and path, f"\"{line}\" is not 'frame;frame weight'")
        weights[path] = int(weight)
    total = query(db, "SELECT sum(alloc_bytes) FROM sites")[0][0]
    check(sum(weights.values()) == total, f"folded total {sum(weights.values())} != {total}")
    leak = [p for p in weights if p.endswith(";leak_here")]
    check(len(leak) == 1 and ";main;leak_here" in leak[0] and "_start" in leak[0].split(";")[1],
          f"leak_here's path is not outermost first: {leak}")
    counts, _ = report("--folded", "-", "--weight", "allocs", db)
    total = query(db, "SELECT sum(allocs) FROM sites")[0][0]
    check(sum(int(l.rpartition(" ")[2]) for l in counts.splitlines()) == total,
          "folded allocation counts do not sum to the sites table")


@case
def pprof_decodes_with_totals_equal_to_the_database():
    db = fixture("facts.db")
    path = os.path.join(SCRATCH, "facts.pb.gz")
    report("--pprof", path, db)
    p = decode_profile(path)
    check_profile_totals(p, db, sampled=False)
    strings = p["string_table"]
    check(strings[p["default_sample_type"]] == "alloc_space", "default sample type")
    # The in-use samples are the leaks; leak_here's is 7 x 200 bytes, leaf first.
    inuse = {tuple(profile_leaf_names(p, s)): s["value"][2:] for s in p["sample"]
             if s["value"][3] > 0}
    leak = [v for names, v in inuse.items() if names[0] == "leak_here" and names[1] == "main"]
    check(leak == [[7, 1400]], f"leak_here's in-use sample is {leak}; samples {inuse}")
    # Each sample carries its process's pid.
    pids = {r[0] for r in query(db, "SELECT pid FROM processes")}
    for s in p["sample"]:
        labels = [(strings[l.get(1, 0)], l.get(3)) for l in s["label"]]
        check(len(labels) == 1 and labels[0][0] == "pid" and labels[0][1] in pids,
              f"sample labels {labels}")
    # Locations point at mappings that exist, named after the modules.
    for loc in p["location"].values():
        if 2 in loc:
            check(loc[2] in p["mapping"], f"location {loc[1]} names a missing mapping")
    modules = {strings[m[5]] for m in p["mapping"].values()}
    check(any(m.endswith("it_query_workload") for m in modules), f"mappings: {modules}")
    go = subprocess.run(["sh", "-c", "command -v go"], capture_output=True, text=True)
    if go.returncode == 0:
        top = subprocess.run(["go", "tool", "pprof", "-top", "-sample_index=alloc_space", path],
                             capture_output=True, text=True, timeout=300)
        check(top.returncode == 0 and "churn" in top.stdout, f"go tool pprof: {top.stderr}")
    else:
        print("(go is not installed: go tool pprof not run; the profile was decoded here)")


@case
def pprof_names_the_main_executable_in_its_first_mapping():
    # date's first allocation comes from libc (setlocale), so the first
    # frame met is not the program's: pprof's "File:" must still be date.
    date = shutil.which("date")
    db = trace("date.db", [date])
    exe = query(db, "SELECT exe FROM processes WHERE parent_process_id IS NULL")[0][0]
    first_leaf = query(db, "SELECT f.module FROM frames f WHERE f.level = 0 AND f.stack_id ="
                           " (SELECT min(stack_id) FROM sites WHERE stack_id <> 0)")
    path = os.path.join(SCRATCH, "date.pb.gz")
    report("--pprof", path, db)
    p = decode_profile(path)
    first = list(p["mapping"].values())[0]
    name = p["string_table"][first.get(5, 0)]
    check(name == exe, f"mapping 1 is {name} (the first stack starts in {first_leaf}), not the"
                       f" program {exe}")
    check(first.get(1) == 1, f"the first mapping has id {first.get(1)}")
    go = subprocess.run(["sh", "-c", "command -v go"], capture_output=True, text=True)
    if go.returncode == 0:
        top = subprocess.run(["go", "tool", "pprof", "-top", path], capture_output=True,
                             text=True, timeout=300)
        check(f"File: {os.path.basename(exe)}" in top.stdout, f"go tool pprof: {top.stdout[:300]}")


@case
def pprof_of_a_sampled_run_carries_the_estimates():
    db = trace("sampled.db", [ARGS.workload],
               {"ORTHO_TRACE_SAMPLE": "65536", "ORTHO_ON_CORRUPTION": "report"})
    check(query(db, "SELECT max(sample_bytes) FROM processes")[0][0] == 65536, "not sampled")
    path = os.path.join(SCRATCH, "sampled.pb.gz")
    report("--pprof", path, db)
    p = decode_profile(path)
    check_profile_totals(p, db, sampled=True)
    check(any("estimates" in p["string_table"][c] for c in p["comment"]),
          "the sampled profile does not say its values are estimates")
    out, _ = report("--sites", db)
    check("estimated from sampled stacks" in out, "the sites section does not say it estimates")


# ---- cases: names that attack a terminal -------------------------------------

CLEAR = "\x1b[2J"                 # erase the screen
TITLE = "\x1b]0;pwned\x07"        # set the window title (OSC ... BEL)
C1_CSI = "\u009b"                 # the one-character CSI of 8-bit terminals


def hostile_copy(name):
    """facts.db with escape sequences, C1 controls, bidirectional overrides
    and bytes that are not UTF-8 in every kind of name the outputs print."""
    db = scratch_copy("facts.db", name)
    conn = sqlite3.connect(db)
    evil = "leak_here" + CLEAR + TITLE + C1_CSI
    conn.execute("UPDATE stacks SET site_function = ? WHERE site_function = 'leak_here'", (evil,))
    conn.execute("UPDATE frames SET function = ? WHERE function = 'leak_here'", (evil,))
    conn.execute("UPDATE frames SET function = ? WHERE function = 'main'", ("main\u202e" + CLEAR,))
    conn.execute("UPDATE frames SET module = CAST(? AS TEXT) WHERE level = 1",
                 (b"/lib/evil\x1b[2J\xff.so",))
    conn.execute("UPDATE stacks SET site_file = CAST(? AS TEXT) WHERE site_function = 'churn'",
                 (b"/src/churn\xff\xfe\x1b[2J.c",))
    conn.execute("UPDATE processes SET cmdline = CAST(? AS TEXT), exe = CAST(? AS TEXT)",
                 (b"/bin/prog \x1b[31mred\xff\xfe \xc2\x9b2J", b"/bin/prog\x1b[2J"))
    conn.execute("UPDATE threads SET name = ? WHERE name = 'qw-freer'", ("qw-freer" + CLEAR,))
    conn.execute("UPDATE corruption_events SET call = ?", ("free" + TITLE,))
    conn.commit()
    conn.close()
    return db


def check_terminal_safe(data, where, shows_escape=True):
    """data (bytes) is UTF-8 without a control character but line breaks,
    and shows the hostile names' escape sequences as text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Failure(f"{where}: not UTF-8 ({e}): {data[max(0, e.start - 40):e.end + 40]!r}")
    for i, ch in enumerate(text):
        code = ord(ch)
        if (code < 0x20 and ch != "\n") or 0x7F <= code <= 0x9F or 0x202A <= code <= 0x202E \
                or 0x2066 <= code <= 0x2069:
            raise Failure(f"{where}: raw U+{code:04X} in the output: {text[max(0, i - 40):i + 40]!r}")
    if shows_escape:
        check("\\x1b[2J" in text, f"{where}: the escape sequence is not shown escaped:\n{text[:1500]}")


def report_bytes(*argv, expect=0):
    done = subprocess.run([ARGS.report, *argv], capture_output=True, timeout=120)
    check(done.returncode == expect, f"ortho-report {' '.join(argv)} exited {done.returncode}: "
                                     f"{done.stderr[-2000:]!r}")
    return done.stdout, done.stderr


@case
def escape_sequences_in_names_are_shown_escaped_in_every_output():
    db = hostile_copy("hostile.db")
    for argv in [[], ["--leaks"], ["--sites"], ["--corruption"], ["--classes"],
                 ["--folded", "-"], ["--what-if", write_table("own.txt", "64 256 4K 6K 16K 128K")]]:
        out, err = report_bytes(*argv, db)
        check_terminal_safe(out, f"ortho-report {' '.join(argv)}",
                            shows_escape=argv[:1] not in (["--classes"], ["--what-if"]))
        check_terminal_safe(err, f"ortho-report {' '.join(argv)} (stderr)", shows_escape=False)
    out, err = report_bytes("--fail-on-leaks", db, expect=1)
    check_terminal_safe(err, "the --fail-on-leaks line", shows_escape=False)
    for pair in [(fixture("facts.db"), db), (db, fixture("facts.db"))]:
        out, _ = report_bytes("--diff", *pair)
        check_terminal_safe(out, "ortho-report --diff")
    # A path is printed as the name it is, too.
    odd = os.path.join(SCRATCH, "run\x1b[2J.db")
    shutil.copy(db, odd)
    out, _ = report_bytes(odd)
    check_terminal_safe(out, "a database path with an escape sequence")
    _, err = report_bytes(odd + "-missing", expect=2)
    check_terminal_safe(err, "the refusal of a missing path with an escape sequence")
    # Files: the flame graph is XML without a control character; pprof's
    # strings are UTF-8 (the proto3 rule Go's decoder enforces).
    svg = os.path.join(SCRATCH, "hostile.svg")
    report_bytes("--flamegraph", svg, db)
    with open(svg, "rb") as f:
        check_terminal_safe(f.read(), "the flame graph", shows_escape=False)
    ElementTree.parse(svg)
    path = os.path.join(SCRATCH, "hostile.pb.gz")
    report_bytes("--pprof", path, db)
    strings = decode_profile(path)["string_table"]
    check_terminal_safe("\n".join(strings).encode("utf-8"), "the pprof string table")


@case
def json_is_strict_utf8_and_carries_its_schema_version():
    db = hostile_copy("hostile.db")
    outputs = [report_bytes("--format", "json", db)[0],
               report_bytes("--diff", "--format", "json", fixture("facts.db"), db)[0],
               report_bytes("--suggest-classes", "4", "--format", "json", db)[0]]
    # A database path that is not UTF-8 at all must not break the document.
    odd = os.path.join(SCRATCH.encode(), b"run\xff\xfe.db")
    shutil.copy(db, odd)
    done = subprocess.run([ARGS.report.encode(), b"--classes", b"--format", b"json", odd],
                          capture_output=True, timeout=120)
    check(done.returncode == 0, f"--format json of a path that is not UTF-8: {done.stderr!r}")
    outputs.append(done.stdout)
    for out in outputs:
        try:
            doc = json.loads(out.decode("utf-8", errors="strict"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Failure(f"JSON output is not strict UTF-8 JSON: {e}")
        check(doc.get("schema_version") == 1, f"schema_version is {doc.get('schema_version')}")
        check(list(doc)[0] == "schema_version", f"schema_version is not the first key: {list(doc)}")
    doc = json.loads(outputs[0])
    root = [p for p in doc["processes"] if p["process_id"] == 1][0]
    check(root["cmdline"] == "/bin/prog \\x1b[31mred\\xff\\xfe \\u009b2J",
          f"the command line reads {root['cmdline']!r}")
    check(json.loads(outputs[-1])["database"].endswith("run\\xff\\xfe.db"),
          f"the path reads {json.loads(outputs[-1])['database']!r}")
    # Python's own strict parser is what `python3 -m json.tool` runs.
    tool = subprocess.run([sys.executable, "-m", "json.tool"], input=outputs[-1],
                          capture_output=True, timeout=60)
    check(tool.returncode == 0, f"python3 -m json.tool: {tool.stderr!r}")


# ---- cases: diff -----------------------------------------------------------

def leaky_runs():
    base = trace("base.db", [ARGS.leaky])
    again = trace("again.db", [ARGS.leaky])
    extra = trace("extra.db", [ARGS.leaky, "extra"])
    return base, again, extra


@case
def diff_of_a_run_with_itself_is_empty():
    db = fixture("facts.db")
    out, _ = report("--diff", db, db)
    check(out.strip().splitlines()[-1] == "no differences in classes, sites, leaks or corruption",
          f"diff of a run with itself:\n{out}")
    doc = json.loads(report("--diff", "--format", "json", db, db)[0])
    check(doc["empty"] and not doc["classes"] and not doc["sites"] and not doc["leaks"]
          and not doc["corruption"], f"JSON diff of a run with itself: {doc}")
    base, again, _ = leaky_runs()
    doc = json.loads(report("--diff", "--format", "json", base, again)[0])
    check(doc["empty"], f"two runs of the same program differ: {doc}")
    report("--diff", "--fail-on-leaks", "--fail-on-corruption", base, again)


@case
def diff_against_a_run_with_an_added_leak_shows_exactly_that_leak():
    base, _, extra = leaky_runs()
    doc = json.loads(report("--diff", "--format", "json", base, extra)[0])
    added = query(extra, "SELECT count(*), sum(requested_size) FROM leaks WHERE function ="
                         " 'leak_extra'")[0]
    check(added == (3, 3000), f"the extra run's leak_extra leaks {added}")
    check([(l["change"], l["function"], l["after"]["blocks"], l["after"]["bytes"])
           for l in doc["leaks"]] == [("new", "leak_extra", 3, 3000)],
          f"diff leaks: {doc['leaks']}")
    check([(s["change"], s["function"]) for s in doc["sites"]] == [("new", "leak_extra")],
          f"diff sites: {doc['sites']}")
    cls = query(extra, "SELECT class_name FROM classes WHERE process_id = 1"
                       " AND payload_size >= 1000 ORDER BY payload_size LIMIT 1")[0][0]
    check([c["class_name"] for c in doc["classes"]] == [cls], f"diff classes: {doc['classes']}")
    c = doc["classes"][0]
    check(c["after"]["allocs"] - c["before"]["allocs"] == 3
          and c["after"]["requested_bytes"] - c["before"]["requested_bytes"] == 3000,
          f"the class change is not 3 blocks of 1000 bytes: {c}")
    check(not doc["corruption"], "corruption changed")
    # The text groups the extra leak's stacks (one per unrolled call) by site.
    out, _ = report("--leaks", extra)
    check(f"3 blocks, {human_bytes(3000)} (B4K) from leak_extra" in out,
          f"the leaks of the extra run are not grouped by site:\n{out}")
    out, err = report("--diff", "--fail-on-leaks", base, extra, expect=1)
    check("new     leak_extra" in out and "leaks more" in err, f"text diff:\n{out}\n{err}")
    # The other way round, the leak is fixed and the gate is quiet.
    doc = json.loads(report("--diff", "--format", "json", "--fail-on-leaks", extra, base)[0])
    check([l["change"] for l in doc["leaks"]] == ["fixed"], f"reverse diff: {doc['leaks']}")


# ---- cases: what-if --------------------------------------------------------

def write_table(name, text):
    path = os.path.join(SCRATCH, name)
    with open(path, "w") as f:
        f.write(text)
    return path


@case
def what_if_under_the_allocators_own_table_is_the_databases_waste():
    for name in ["facts.db", "tensor.db"]:
        db = fixture(name)
        sizes = [r[0] for r in query(db, "SELECT payload_size FROM classes"
                                         " WHERE process_id = 1 AND payload_size IS NOT NULL")]
        table = write_table("own.txt", "# the allocator's classes\n" + "\n".join(map(str, sizes)))
        doc = json.loads(report("--what-if", table, "--format", "json", db)[0])
        waste = query(db, "SELECT coalesce(sum(usable_bytes - requested_bytes), 0) FROM class_totals"
                          " WHERE class_name <> 'LARGE'")[0][0]
        check(doc["what_if"]["waste_bytes"] == waste == doc["current"]["waste_bytes"],
              f"{name}: what-if waste {doc['what_if']['waste_bytes']}, current"
              f" {doc['current']['waste_bytes']}, database {waste}")
        per_class = {c["payload_size"]: c["waste_bytes"] for c in doc["what_if"]["classes"]}
        for payload, w in query(db, "SELECT payload_size, sum(usable_bytes - requested_bytes)"
                                    " FROM class_totals WHERE class_name <> 'LARGE'"
                                    " GROUP BY class_id"):
            check(per_class[payload] == w, f"{name}: class {payload} waste {per_class[payload]} != {w}")
    # The docs' example: a 5 KiB class takes the 5000-byte churn to 120 bytes each.
    db = fixture("facts.db")
    table = write_table("five.txt", "64 256 4K 5K 6K 8K 16K 32K 64K 128K 256K 1M 16M\n")
    doc = json.loads(report("--what-if", table, "--format", "json", db)[0])
    five = [c for c in doc["what_if"]["classes"] if c["payload_size"] == 5120][0]
    check(five["allocs"] == 20000 and five["waste_bytes"] == 20000 * 120, f"5K class: {five}")
    out, _ = report("--what-if", table, db)
    check("What if" in out and "change in waste" in out, f"text what-if:\n{out}")


@case
def suggested_classes_are_never_worse_than_the_current_table():
    for name in ["facts.db", "tensor.db"]:
        db = fixture(name)
        for n in [12, 13, 16]:
            doc = json.loads(report("--suggest-classes", str(n), "--format", "json", db)[0])
            got, current = doc["suggested"], doc["current"]
            check(len(got["payload_sizes"]) <= n, f"{name}: {n} classes asked, got {got}")
            check(all(s % 64 == 0 for s in got["payload_sizes"]), "payloads not 64-aligned")
            check(got["waste_bytes"] <= current["waste_bytes"],
                  f"{name}: suggested {n} classes waste {got['waste_bytes']} >"
                  f" current {current['waste_bytes']}")
            check(got["allocs"] == current["allocs"] and got["above_largest_class"]["allocs"] == 0,
                  f"{name}: the suggestion does not serve every request in scope")
            # Replaying the suggestion through --what-if gives the same waste.
            table = write_table("s.txt", " ".join(map(str, got["payload_sizes"])))
            again = json.loads(report("--what-if", table, "--format", "json", db)[0])
            check(again["what_if"]["waste_bytes"] == got["waste_bytes"], "replay differs")
    out, _ = report("--suggest-classes", "3", fixture("facts.db"))
    check("Suggested table of 3 classes" in out and "sizes:" in out, f"text suggestion:\n{out}")


@case
def a_suggested_table_written_to_a_file_runs_again_with_less_waste():
    """The loop of issue 16: trace, --suggest-classes N --output FILE,
    trace again with ORTHO_CLASSES=@FILE: the second run has the file's
    classes, the same requests and less waste, and the reports say so."""
    before = trace("loop_before.db", [ARGS.workload], {"ORTHO_ON_CORRUPTION": "report"})
    table = os.path.join(SCRATCH, "suggested.classes")
    out, _ = report("--suggest-classes", "12", "--output", table, before)
    check(os.path.exists(table), f"--output wrote no {table}:\n{out}")
    line = [l for l in out.splitlines() if "run with: ORTHO_CLASSES=" in l]
    check(len(line) == 1, f"no ORTHO_CLASSES= line in the suggestion:\n{out}")
    check(f"ORTHO_CLASSES=@{table}" in out, f"the text does not say how to use {table}:\n{out}")
    with open(table) as f:
        sizes = [int(w) for l in f for w in [l.split("#")[0].strip()] if w]
    doc = json.loads(report("--suggest-classes", "12", "--format", "json", before)[0])
    check(sizes == doc["suggested"]["payload_sizes"], f"file {sizes} != {doc['suggested']}")
    check(doc["ortho_classes"] == line[0].split("ORTHO_CLASSES=", 1)[1].strip(),
          f"json ortho_classes {doc['ortho_classes']} != the text's {line[0]}")

    after = trace("loop_after.db", [ARGS.workload],
                  {"ORTHO_ON_CORRUPTION": "report", "ORTHO_CLASSES": "@" + table})
    for pid, origin in query(after, "SELECT process_id, class_table FROM processes"):
        got = [r[0] for r in query(after, "SELECT payload_size FROM classes WHERE process_id = ?"
                                          " AND payload_size IS NOT NULL ORDER BY class_id", pid)]
        check(got == sizes, f"process {pid} ran classes {got}, not the file's {sizes}")
        check(origin.startswith("@"), f"process {pid}: class_table {origin}, not the file")

    def totals(db):
        return query(db, "SELECT sum(requested_bytes), sum(usable_bytes) FROM class_totals")[0]
    (req0, use0), (req1, use1) = totals(before), totals(after)
    check(req0 == req1, f"requested bytes changed: {req0} -> {req1}")
    check(use1 < use0, f"usable bytes did not fall: {use0} -> {use1}")
    def report_waste(db):
        classes = json.loads(report("--classes", "--format", "json", db)[0])["classes"]
        return sum(c["usable_bytes"] - c["requested_bytes"] for c in classes
                   if c["class_name"] != "LARGE")
    w0, w1 = report_waste(before), report_waste(after)
    check(w1 < w0 / 4, f"the report's waste went {w0} -> {w1}, not down to under a quarter")
    # The second run's waste in its classes is what the suggestion promised.
    check(w1 == doc["suggested"]["waste_bytes"],
          f"waste {w1} is not the promised {doc['suggested']['waste_bytes']}")
    out, _ = report("--diff", before, after)
    check("Classes" in out and "B4K" in out, f"the diff does not show the classes change:\n{out}")


@case
def a_flood_of_corruption_is_counted_exactly_and_listed_within_bounds():
    """100,000 bad frees over 20 call paths (trace_workload misuse): the
    collector stores the first 10,000 and counts all in corruption_summary.
    The report's counts are the summary's, every output is bounded by
    default (--top groups and events, saying what was left out and how to
    see it), --all lists everything, and the gate counts every event."""
    db = trace("flood.db", [ARGS.flood, "misuse", "100000", "20"],
               {"ORTHO_ON_CORRUPTION": "report"})
    events, stored, groups = query(db, "SELECT sum(events), sum(stored_events), count(*)"
                                       " FROM corruption_summary")[0]
    check((events, groups) == (100000, 20), f"the flood made {events} events in {groups} groups")
    check(stored == query(db, "SELECT count(*) FROM corruption")[0][0] == 10000,
          f"{stored} stored events")

    out, _ = report(db)
    check("corruption   100000 events: misaligned_pointer x100000" in out,
          "the overview does not count every event")
    check(len(out.splitlines()) < 400, f"the default report is {len(out.splitlines())} lines")
    out, _ = report("--corruption", db)
    lines = out.splitlines()
    check(lines[1].startswith("Corruption: 100000 events (10000 stored one by one, 90000 counted"),
          f"the corruption header is {lines[1]!r}")
    check(sum(1 for l in lines if re.match(r"^ +5000  misaligned_pointer in free\(\) at misuse_site", l))
          == 10, "not the top 10 groups of 5000 events each")
    check("(10 more groups with 50000 events left out; ortho-report --corruption --all" in out,
          "the text does not say which groups it left out and how to see them")
    check(sum(1 for l in lines if l.startswith("  misaligned_pointer in free() of 0x")) == 10,
          "not the first 10 stored events")
    check("(9990 more stored events left out; ortho-report --corruption --all" in out,
          "the text does not say which events it left out and how to see them")
    check(len(lines) < 200, f"--corruption printed {len(lines)} lines")
    out, _ = report("--corruption", "--top", "3", db)
    check("(17 more groups with 85000 events left out" in out, "--top 3 does not bound the groups")

    out, _ = report("--corruption", "--all", db)
    lines = out.splitlines()
    check(sum(1 for l in lines if re.match(r"^ +5000  misaligned_pointer", l)) == 20,
          "--all does not list every group")
    check(sum(1 for l in lines if l.startswith("  misaligned_pointer in free() of 0x")) == 10000,
          "--all does not list every stored event")
    check("left out" not in out, "--all still leaves something out")

    doc = json.loads(report("--format", "json", db)[0])
    summary = doc["corruption_summary"]
    check(doc["totals"]["corruption_events"] == 100000, f"JSON totals: {doc['totals']}")
    check((summary["events"], summary["stored_events"], summary["aggregated_events"])
          == (100000, 10000, 90000), f"JSON summary counts: {summary}")
    check(summary["kinds"] == [{"kind": "misaligned_pointer", "events": 100000}],
          f"JSON kinds: {summary['kinds']}")
    check(len(doc["corruption"]) == summary["listed_events"] == 10 and
          len(summary["by_site"]) == summary["listed_groups"] == 10 and
          summary["groups"] == 20 and not summary["complete"], "the JSON is not bounded to 10")
    check(sum(g["events"] for g in summary["by_site"]) == 50000, "JSON groups' events")
    doc = json.loads(report("--format", "json", "--all", "--corruption", db)[0])
    check(len(doc["corruption"]) == 10000 and len(doc["corruption_summary"]["by_site"]) == 20
          and doc["corruption_summary"]["complete"], "JSON --all does not list everything")

    _, err = report("--fail-on-corruption", "--classes", db, expect=1)
    check("100000 heap corruption events" in err, f"the gate says {err}")
    doc = json.loads(report("--diff", "--format", "json", fixture("facts.db"), db)[0])
    check({"kind": "misaligned_pointer", "before": 0, "after": 100000} in doc["corruption"],
          f"--diff corruption: {doc['corruption']}")


# ---- cases: bad input ------------------------------------------------------

def refused(argv, *needles):
    out, err = report(*argv, expect=2)
    lines = err.strip().splitlines()
    check(len(lines) == 1, f"{argv}: expected one line on stderr, got {lines}")
    check(lines[0].startswith("ortho-report: "), f"{argv}: \"{lines[0]}\" lacks the program name")
    for needle in needles:
        check(needle in lines[0], f"{argv}: \"{lines[0]}\" does not say \"{needle}\"")
    check(out == "", f"{argv}: printed a report anyway: {out[:200]}")


@case
def bad_files_are_refused_with_one_line():
    missing = os.path.join(SCRATCH, "missing.db")
    refused([missing], missing, "No such file")
    text = write_table("notes.db", "these are notes, not a database, long enough for a header\n")
    refused([text], "not a trace database")
    other = os.path.join(SCRATCH, "other.db")
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    refused([other], "not an orthotope trace")
    newer = os.path.join(SCRATCH, "newer.db")
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA application_id = 1330795592")
    conn.execute("PRAGMA user_version = 99")
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    refused([newer], "newer orthotope", "99")
    refused(["--diff", fixture("facts.db"), missing], missing)
    empty = os.path.join(SCRATCH, "empty.db")
    open(empty, "w").close()
    refused(["--pprof", os.path.join(SCRATCH, "x.pb.gz"), empty], "is empty")


@case
def bad_options_are_refused_with_one_line():
    db = fixture("facts.db")
    refused(["--bogus", db], "unknown option --bogus")
    refused(["-x", db], "unknown option -x")
    refused(["--format", "xml", db], "--format", "xml")
    refused(["--top", "0", db], "--top")
    refused(["--top", "ten", db], "--top")
    refused(["--weight", "heavy", "--folded", "-", db], "--weight")
    refused(["--weight", "allocs", db], "--weight applies to")
    refused(["--suggest-classes", "-3", db], "--suggest-classes")
    refused(["--suggest-classes", "97", db], "--suggest-classes", "96")
    refused(["--output", os.path.join(SCRATCH, "t.classes"), db], "--output", "--suggest-classes")
    refused(["--suggest-classes", "4", "--output", "/nonexistent-dir/t", db], "/nonexistent-dir/t")
    refused(["--what-if", os.path.join(SCRATCH, "none.txt"), db], "none.txt")
    refused(["--what-if", write_table("bad.txt", "64 256 lots\n"), db], "bad.txt:1", "lots")
    refused(["--what-if", write_table("twice.txt", "64 64\n"), db], "twice")
    refused(["--what-if", write_table("blank.txt", "# nothing\n"), db], "no class sizes")
    refused([db, db], "--diff")
    refused([], "no trace database")
    refused(["--diff", db], "two trace databases")
    refused(["--diff", "--pprof", "x", db, db], "cannot be combined")
    refused(["--flamegraph", "/nonexistent-dir/x.svg", db], "/nonexistent-dir/x.svg")
    refused(["--pprof"], "--pprof needs a value")


def main():
    global ARGS, SCRATCH
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=sorted(CASES))
    for name in ["report", "fixtures", "lib", "workload", "leaky", "runtime", "flood"]:
        parser.add_argument("--" + name, required=True)
    ARGS = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report_cli.") as scratch:
        SCRATCH = scratch
        try:
            CASES[ARGS.case]()
        except Failure as failure:
            print(f"report_cli.py {ARGS.case}: FAIL: {failure}", file=sys.stderr)
            return 1
    print(f"report_cli.py {ARGS.case}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
