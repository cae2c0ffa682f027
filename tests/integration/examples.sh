#!/usr/bin/env bash
# examples.sh - the checks of the examples (examples/*.c) that a single
# regex over their output cannot make: tables whose rows must add up,
# traced runs whose database must hold what the example is built to show,
# and argument refusals. Every expected value is computed here from the
# example's design (ring size, message sizes, leak counts, class payloads),
# never copied from the program's output.
#
#   examples.sh mixed_size_churn_table CHURN
#   examples.sh handoff_traced ORTHO_RUN HANDOFF ORTHO_TOP
#   examples.sh leak_traced ORTHO_RUN LEAK ORTHO_REPORT
#   examples.sh bad_arguments EMBEDDING_BATCH MIXED_SIZE_CHURN HANDOFF LEAK
set -euo pipefail
case_name=$1
shift
unset LD_PRELOAD ORTHO_LIB ORTHO_TRACE ORTHO_TRACE_DB ORTHO_TRACE_SAMPLE ORTHO_TRACE_STACKS \
  ORTHO_TRACE_OVERFLOW ORTHO_ON_CORRUPTION
. "$(dirname "$0")/trace_wait.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL ($case_name): $*" >&2; exit 1; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; echo "ok: $1 = $3"; }
# q DB SQL: one value (or rows joined by |); waits for a collector's commit.
q() { sqlite3 -batch -noheader -cmd '.timeout 5000' -separator '|' "$1" "$2"; }

# traced NAME COMMAND...: runs COMMAND under ortho-run into $tmp/NAME.db (as
# the README shows it), its stdout in $tmp/NAME.out, and waits until the
# database shows the one process ended.
traced() {
  local name=$1 ortho_run=$2
  shift 2
  command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"
  "$ortho_run" -o "$tmp/$name.db" -- "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null ||
    fail "ortho-run $* exited $?: $(cat "$tmp/$name.err")"
  cat "$tmp/$name.out"
  trace_wait_ended "$tmp/$name.db" 1 15 || fail "$tmp/$name.db did not show an ended process"
}

case $case_name in
mixed_size_churn_table)
  # The ring holds 256 blocks and every size is 16..70000 bytes, so the
  # classes are B64 ... B128K. Each row: requested <= usable, usable is
  # live x payload, requested above live x the previous class's payload;
  # the totals row is the sum of the rows.
  churn=$1 ops=5000
  "$churn" "$ops" >"$tmp/out"
  cat "$tmp/out"
  awk -v ring=256 '
    BEGIN {
      split("B64 B256 B4K B6K B8K B16K B32K B64K B128K", names, " ")
      split("64 256 4096 6144 8192 16384 32768 65536 131072", sizes, " ")
      below = 0
      for (i = 1; i <= 9; i++) { payload[names[i]] = sizes[i]; floor[names[i]] = below; below = sizes[i] }
      bad = 0
    }
    function complain(what) { print "mixed_size_churn_table: " what ": " $0; bad = 1 }
    $1 ~ /^B/ {
      if (!($1 in payload)) { complain("a class outside 16..70000 bytes"); next }
      if ($2 != payload[$1]) complain("payload is not " payload[$1])
      if ($4 > $5) complain("requested above usable")
      if ($5 != $3 * payload[$1]) complain("usable is not live x payload")
      if ($4 <= $3 * floor[$1]) complain("requested too small for the class")
      rows++; live += $3; requested += $4; usable += $5
    }
    $1 == "total" {
      totals++
      if ($3 != live || $4 != requested || $5 != usable)
        complain("totals are not the sum of the rows (" live " " requested " " usable ")")
      if ($3 != ring) complain("the ring does not hold " ring " blocks")
      want = sprintf("%.1f%%", 100 * (usable - requested) / usable)
      if ($6 != want) complain("total waste is not " want)
    }
    END {
      if (rows < 5) { print "mixed_size_churn_table: only " rows " class rows"; bad = 1 }
      if (totals != 1) { print "mixed_size_churn_table: " totals + 0 " totals rows"; bad = 1 }
      exit bad
    }' "$tmp/out" || fail "the table does not add up"
  echo "ok: every row is consistent and the totals row is their sum"
  ;;
handoff_traced)
  # Message seq (0 .. N-1) is 16 header bytes plus 16 + (seq*131) % 1000.
  ortho_run=$1 handoff=$2 ortho_top=$3 messages=3000
  bytes=$(awk -v n=$messages 'BEGIN { for (s = 0; s < n; s++) b += 32 + (s * 131) % 1000; print b }')
  traced handoff "$ortho_run" "$handoff" "$messages"
  grep -q "allocated $messages messages ($bytes bytes).* freed $messages ($bytes bytes), 0 bad" \
    "$tmp/handoff.out" || fail "the program did not report $messages messages of $bytes bytes"
  db=$tmp/handoff.db
  expect_eq "cross-thread pairs (allocated by|freed by|frees|bytes)" "$(q "$db" "
    SELECT a.name || '|' || f.name || '|' || tp.frees || '|' || tp.bytes
    FROM thread_pairs tp
    JOIN threads a ON a.process_id = tp.process_id AND a.thread_id = tp.alloc_thread_id
    JOIN threads f ON f.process_id = tp.process_id AND f.thread_id = tp.free_thread_id
    WHERE tp.alloc_thread_id <> tp.free_thread_id")" "producer|consumer|$messages|$bytes"
  expect_eq "cross-thread frees of all threads" "$(q "$db" "SELECT sum(cross_thread_frees) FROM threads")" "$messages"
  expect_eq "cross-thread frees of all classes" "$(q "$db" "SELECT sum(cross_thread_frees) FROM class_stats")" "$messages"
  expect_eq "frees by the consumer" "$(q "$db" "SELECT frees FROM threads WHERE name = 'consumer'")" "$messages"
  # ortho-top's Threads screen, as the README points to: XFREES is column 8.
  "$ortho_top" --batch --screen threads "$db" >"$tmp/top"
  cat "$tmp/top"
  expect_eq "ortho-top XFREES of the consumer" "$(awk '$2 == "consumer" { print $8 }' "$tmp/top")" "$messages"
  ;;
leak_traced)
  # parse_request leaks every tenth of 100 requests; open_session leaks the
  # name of each of 4 sessions (32 bytes each). Nothing else may leak.
  ortho_run=$1 leak=$2 ortho_report=$3
  traced leak "$ortho_run" "$leak"
  db=$tmp/leak.db
  expect_eq "leaks per function (function|blocks|bytes)" "$(q "$db" "
    SELECT function || '|' || count(*) || '|' || sum(requested_size) FROM leaks
    GROUP BY function ORDER BY function")" "$(printf 'open_session|4|128\nparse_request|10|%s' \
      "$(awk 'BEGIN { for (r = 9; r < 100; r += 10) b += length("id" r) + 1; print b }')")"
  expect_eq "leak sites carry file:line" "$(q "$db" "
    SELECT count(*) FROM leaks WHERE file LIKE '%/leak.c' AND line > 0")" 14
  # The line is the malloc call's own, as the source has it (the return
  # address the stack holds lies on the next line).
  source=$(q "$db" "SELECT DISTINCT file FROM leaks WHERE function = 'parse_request'")
  request_line=$(grep -n 'char \*copy = malloc(' "$source" | cut -d: -f1)
  session_line=$(grep -n 's->name = malloc(' "$source" | cut -d: -f1)
  expect_eq "parse_request's leaks name the line of its malloc" "$(q "$db" "
    SELECT DISTINCT line FROM leaks WHERE function = 'parse_request'")" "$request_line"
  expect_eq "open_session's leaks name the line of its malloc" "$(q "$db" "
    SELECT DISTINCT line FROM leaks WHERE function = 'open_session'")" "$session_line"
  "$ortho_report" --leaks "$db" >"$tmp/report"
  cat "$tmp/report"
  grep -Eq "^ *10 blocks, .* from parse_request \\(leak\\.c:$request_line\\)" "$tmp/report" ||
    fail "ortho-report --leaks does not name parse_request (leak.c:$request_line) with 10 blocks"
  grep -Eq "^ *4 blocks, .* from open_session \\(leak\\.c:$session_line\\)" "$tmp/report" ||
    fail "ortho-report --leaks does not name open_session (leak.c:$session_line) with 4 blocks"
  echo "ok: ortho-report --leaks names both functions at their malloc lines"
  ;;
bad_arguments)
  embedding=$1 churn=$2 handoff=$3 leak=$4
  # refused ARGS... -- PROGRAM: exit 2, nothing on stdout, one line on
  # stderr that names the program.
  refused() {
    local args=() status=0
    while [ "$1" != "--" ]; do args+=("$1"); shift; done
    local program=$2 name
    name=$(basename "$program")
    "$program" "${args[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null || status=$?
    [ "$status" -eq 2 ] || fail "$name ${args[*]}: exit status $status, want 2"
    [ ! -s "$tmp/out" ] || fail "$name ${args[*]}: printed on stdout: $(cat "$tmp/out")"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$name ${args[*]}: not one line: $(cat "$tmp/err")"
    grep -q "^$name: " "$tmp/err" || fail "$name ${args[*]}: the line does not name $name"
    echo "ok: $name '${args[*]}' -> $(cat "$tmp/err")"
  }
  for program in "$embedding" "$churn" "$handoff"; do
    for bad in abc 0 -5 12x "" " 7" 1.5 99999999999999999999999 1000000000000; do
      refused "$bad" -- "$program"
    done
    refused 1 2 -- "$program"
  done
  refused x -- "$leak"
  ;;
*)
  fail "unknown case"
  ;;
esac
