#!/usr/bin/env bash
# top_batch.sh - end-to-end test of `ortho-top --batch` and of its refusals:
# each screen printed from the real binary on the fixture databases, with
# its numbers compared to what sqlite3 says about the same file; and every
# kind of bad input (missing file, not a database, another application's
# database, a newer schema, an empty run, a bad option) gives one line on
# stderr, nothing on stdout, and a non-zero exit.
# Usage: top_batch.sh ORTHO_TOP FIXTURE_DIR
set -euo pipefail
top=$1 fixtures=$2
here=$(cd "$(dirname "$0")" && pwd)
schema=$here/../../schema/schema.sql
WORK=$(mktemp -d /tmp/top_batch.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TEST_NAME=top_batch

fail() {
  echo "top_batch.sh: FAIL: $1" >&2
  exit 1
}
sql() {
  sqlite3 -batch -noheader -cmd '.timeout 5000' "$1" "$2"
}
facts=$fixtures/facts.db

# ---- the class screen: every class, numbers as sqlite3 has them -----------
out=$("$top" --batch "$facts")
for class in $(sql "$facts" "SELECT class_name FROM classes WHERE process_id = 1 ORDER BY class_id"); do
  row=$(awk -v c="$class" '$1 == c' <<<"$out")
  [ -n "$row" ] || fail "no $class row in the class screen"
  read -r _ _ _ allocs frees live req usable waste _ <<<"$row"
  read -r e_live e_req e_usable e_waste <<<"$(sql "$facts" "SELECT sum(live_blocks),
      sum(live_requested_bytes), sum(live_usable_bytes),
      printf('%.2f', CASE WHEN sum(live_usable_bytes) > 0 THEN 100.0 * (sum(live_usable_bytes)
        - sum(live_requested_bytes)) / sum(live_usable_bytes) ELSE 0 END)
      FROM fragmentation WHERE class_name = '$class'" | tr '|' ' ')"
  [ "$live $req $usable $waste" = "$e_live $e_req $e_usable $e_waste" ] ||
    fail "$class: shows live/req/usable/waste% $live $req $usable $waste, sqlite3 says $e_live $e_req $e_usable $e_waste"
  # The whole run's totals, as class_totals has them.
  read -r e_allocs e_frees <<<"$(sql "$facts" "SELECT sum(allocs), sum(frees) FROM class_totals
      WHERE class_name = '$class'" | tr '|' ' ')"
  [ "$allocs $frees" = "$e_allocs $e_frees" ] ||
    fail "$class: shows allocs/frees $allocs $frees, class_totals says $e_allocs $e_frees"
done
head -5 <<<"$out" | grep -qE '^CLASS +ALLOC/s +FREE/s +ALLOCS +FREES +LIVE' ||
  fail "the class screen's columns are not CLASS ALLOC/s FREE/s ALLOCS FREES LIVE ..."
grep -q "process: all 3 processes" <<<"$out" || fail "the header does not name the 3 processes"
grep -q "finished run" <<<"$out" || fail "the header does not say the run finished"

# One process: the root's B256 row has the 7 leaked blocks.
root=$(sql "$facts" "SELECT process_id FROM processes WHERE via = 'root'")
out=$("$top" --batch --process "$root" "$facts")
grep -q "process: process $root " <<<"$out" || fail "--process $root: the header does not say so"
[ "$(awk '$1 == "B256" { print $6 }' <<<"$out")" = \
  "$(sql "$facts" "SELECT live_blocks FROM fragmentation WHERE process_id = $root AND class_name = 'B256'")" ] ||
  fail "--process $root: B256 live blocks differ from sqlite3"

# Sorted by LIVE: descending, so the first row is the most live class.
first=$("$top" --batch --sort LIVE "$facts" | awk '/^CLASS/ { getline; print $1; exit }')
[ "$first" = "$(sql "$facts" "SELECT class_name FROM fragmentation GROUP BY class_id
    ORDER BY sum(live_blocks) DESC, class_id LIMIT 1")" ] || fail "--sort LIVE puts $first first"
last=$("$top" --batch --sort LIVE --reverse "$facts" | awk 'NF { l = $1 } END { print l }')
[ "$last" = "$first" ] || fail "--sort LIVE --reverse puts $last last, not $first"

# At the start nothing was live yet.
out=$("$top" --batch --at start "$facts")
grep -q "time +0.000s" <<<"$out" || fail "--at start: the header does not show +0.000s"
[ "$(awk '$1 == "B256" { print $6 }' <<<"$out")" = 0 ] || fail "--at start: B256 already live"
[ "$(awk '$1 == "B6K" { print $4 }' <<<"$out")" = 0 ] || fail "--at start: B6K already counts allocations"

# The end of the run is class_stats' row whatever the series holds: a copy
# whose last commit changed B256's counters without a series row (as a
# commit stamped with no event time does) shows class_totals' and
# fragmentation's numbers, as ortho-report does.
cp "$facts" "$WORK/unsampled.db"
sql "$WORK/unsampled.db" "UPDATE class_stats SET allocs = allocs + 5, live_blocks = live_blocks + 5
  WHERE class_id = (SELECT class_id FROM classes WHERE process_id = 1 AND class_name = 'B256')"
out=$("$top" --batch "$WORK/unsampled.db")
read -r _ _ _ allocs _ live _ <<<"$(awk '$1 == "B256"' <<<"$out")"
[ "$allocs $live" = "$(sql "$WORK/unsampled.db" "SELECT sum(t.allocs) || ' ' || sum(f.live_blocks)
    FROM class_totals t JOIN fragmentation f USING (process_id, class_id) WHERE t.class_name = 'B256'")" ] ||
  fail "B256 at the end shows allocs/live $allocs $live, not class_totals' and fragmentation's"
report_json=$("$(dirname "$top")/ortho-report" --classes --format json "$WORK/unsampled.db" 2>/dev/null || true)
if [ -n "$report_json" ]; then
  [ "$(python3 -c 'import json, sys; d = json.load(sys.stdin); print(*[(c["allocs"], c["live_blocks"]) for c in d["classes"] if c["class_name"] == "B256"][0])' <<<"$report_json")" = "$allocs $live" ] ||
    fail "ortho-report and ortho-top disagree on B256"
fi

# ---- the other screens --------------------------------------------------------
out=$("$top" --batch --screen fragmentation "$facts")
cached=$(awk '$1 == "thread" && $2 == "caches" { print $3 }' <<<"$out")
[ "$cached" = "$(sql "$facts" "SELECT sum(cached_bytes) FROM fragmentation WHERE class_name <> 'LARGE'")" ] ||
  fail "fragmentation: thread caches $cached bytes, sqlite3 prices them differently"

out=$("$top" --batch --screen sites "$facts")
row=$(grep -E ' leak_here ' <<<"$out") || fail "sites: no leak_here row"
read -r live_b live _ <<<"$row"
[ "$live_b $live" = "$(sql "$facts" "SELECT sum(live_bytes) || ' ' || sum(live_blocks) FROM top_sites WHERE function = 'leak_here'")" ] ||
  fail "sites: leak_here shows $live_b bytes in $live blocks, sqlite3 disagrees"
grep -qE 'query_workload\.c:[0-9]+' <<<"$row" || fail "sites: leak_here has no file:line"
out=$("$top" --batch --screen sites --filter churn "$facts")
[ "$(grep -c ' churn ' <<<"$out")" = 1 ] && ! grep -q leak_here <<<"$out" ||
  fail "sites --filter churn: keeps other rows or loses churn"

out=$("$top" --batch --screen threads "$facts")
row=$(grep -E ' qw-freer ' <<<"$out") || fail "threads: no qw-freer row"
[ "$(awk '{ print $4, $5, $8 }' <<<"$row")" = \
  "$(sql "$facts" "SELECT allocs || ' ' || frees || ' ' || cross_thread_frees FROM threads WHERE name = 'qw-freer'")" ] ||
  fail "threads: qw-freer's allocs/frees/cross-thread frees differ from sqlite3: $row"

out=$("$top" --batch --screen corruption "$facts")
grep -qE "double_free +free +0x$(printf '%x' "$(sql "$facts" "SELECT address FROM corruption")")" <<<"$out" ||
  fail "corruption: the double free and its address are not listed"
grep -q "#0  free_twice" <<<"$out" || fail "corruption: the stack does not start at free_twice"
# Events past the collector's cap on stored rows are only counted
# (corruption_groups): the screen says how many there were in all. A copy
# of the fixture with its double free counted 5000 times, one row kept.
flood=$WORK/flood.db
cp "$facts" "$flood"
sql "$flood" "UPDATE corruption_groups SET events = 5000 WHERE process_id = 1"
out=$("$top" --batch --screen corruption "$flood")
grep -q "; 1 of 5000 events stored one by one, the rest only counted" <<<"$out" ||
  fail "corruption: the header does not count the events past the stored rows: $(sed -n 3p <<<"$out")"

out=$("$top" --batch --screen frag "$fixtures/tensor.db")
free_b=$(awk '$1 == "large" && $2 == "free" { print $3 }' <<<"$out")
[ "$free_b" = "$(sql "$fixtures/tensor.db" "SELECT large_mapped_bytes - large_unmapped_bytes - live_usable_bytes FROM class_stats WHERE class_id = 12")" ] ||
  fail "tensor.db: large free shows $free_b"

# ---- names that attack a terminal: shown escaped on every screen ---------------
hostile=$WORK/hostile.db
cp "$facts" "$hostile"
sqlite3 -batch "$hostile" <"$here/hostile_names.sql" || fail "cannot make the hostile database"
terminal_safe() { # terminal_safe FILE WHAT: UTF-8, no control character but newlines
  iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "$2: the output is not UTF-8"
  ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$1" || fail "$2: a raw control character"
  ! LC_ALL=C grep -q $'\xc2[\x80-\x9f]' "$1" || fail "$2: a raw C1 control character"
}
for screen in classes fragmentation sites threads corruption; do
  "$top" --batch --screen "$screen" "$hostile" >"$WORK/screen.txt" ||
    fail "--batch --screen $screen on names with escape sequences failed"
  terminal_safe "$WORK/screen.txt" "the $screen screen"
  grep -qF 'red\xff\xfe \u009b2J' "$WORK/screen.txt" ||
    fail "the $screen screen does not show the command line's bytes escaped"
done
out=$("$top" --batch --screen sites "$hostile")
grep -qF 'leak_here\x1b[2J\x1b]0;pwned\x07\u009b' <<<"$out" ||
  fail "the sites screen does not show leak_here's escape sequences as text"
out=$("$top" --batch --screen threads "$hostile")
grep -qF 'qw-freer\x1b[2J' <<<"$out" || fail "the threads screen does not show the thread name escaped"
out=$("$top" --batch --screen corruption "$hostile")
grep -qF '#0  free_twice\x1b[2J' <<<"$out" || fail "the event's stack does not show free_twice escaped"
grep -qF 'in /lib/evil\x1b[2J\xff.so' <<<"$out" || fail "the event's stack does not show the module escaped"
grep -qF 'free\x1b]0;t\x07' <<<"$out" || fail "the event's call is not shown escaped"
cp "$hostile" "$WORK/run"$'\e'"[2J.db"
"$top" --batch "$WORK/run"$'\e'"[2J.db" >"$WORK/screen.txt" 2>&1
terminal_safe "$WORK/screen.txt" "a database path with an escape sequence"
"$top" --batch "$WORK/none"$'\e'"[2J.db" >"$WORK/screen.txt" 2>&1 && fail "a missing path was shown"
terminal_safe "$WORK/screen.txt" "the refusal of a missing path with an escape sequence"
grep -qF 'none\x1b[2J.db' "$WORK/screen.txt" || fail "the refusal does not name the path escaped"

# ---- refusals: one line on stderr, nothing on stdout, non-zero ------------------
refused() { # refused WHAT EXPECTED-TEXT ARGS...
  local what=$1 expect=$2 status=0
  shift 2
  "$top" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || status=$?
  [ $status -ne 0 ] || fail "$what: exit status 0"
  [ ! -s "$WORK/out" ] || fail "$what: printed on stdout: $(cat "$WORK/out")"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$what: not one line on stderr: $(cat "$WORK/err")"
  grep -q -- "$expect" "$WORK/err" || fail "$what: stderr does not say '$expect': $(cat "$WORK/err")"
}
refused "a missing file" "No such file" --batch "$WORK/none.db"
refused "a missing file, interactive" "No such file" "$WORK/none.db"
echo "just some text, long enough to fill an SQLite header" >"$WORK/text.db"
refused "a text file" "not a trace database" "$WORK/text.db"
sqlite3 "$WORK/other.db" "PRAGMA application_id = 7; CREATE TABLE t(x)"
refused "another application's database" "not an orthotope trace" "$WORK/other.db"
sqlite3 "$WORK/newer.db" "PRAGMA application_id = 1330795592; PRAGMA user_version = 99; CREATE TABLE t(x)"
refused "a newer schema" "newer orthotope" "$WORK/newer.db"
sqlite3 "$WORK/empty.db" <"$schema"
refused "an empty run" "no traced process" --batch "$WORK/empty.db"
refused "an empty run, interactive" "no traced process" "$WORK/empty.db"
refused "an unknown screen" "not a screen" --batch --screen heap "$facts"
refused "an unknown column" "not a column" --batch --sort NOPE "$facts"
refused "an unknown process" "not a process_id" --batch --process 99 "$facts"
refused "no database" "give the trace database" --batch
refused "no terminal" "not a terminal" "$facts"
echo "top_batch.sh: ok"
