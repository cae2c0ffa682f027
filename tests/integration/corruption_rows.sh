#!/usr/bin/env bash
# corruption_rows.sh - the trace's side of each heap-check detection: a
# misuse program run through ortho-run with ORTHO_ON_CORRUPTION=report must
# leave one corruption row of the right kind, sited at the program's
# function that did the deed (for a guard page's fault: the faulting
# function, not the signal trampoline), and, where the allocator knows it,
# the stack that allocated the block. run_misuse.sh checks the stderr line
# of the same programs; this checks what lands in the database.
# Usage: corruption_rows.sh ORTHO_RUN MISUSE_BIN_DIR
set -uo pipefail

ortho_run=$1 bin=$2
unset LD_PRELOAD ORTHO_TRACE ORTHO_TRACE_DB ORTHO_CHECK ORTHO_GUARD_SAMPLE ORTHO_CLASSES
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect NAME ENV PROGRAM ARG KIND FUNCTION ALLOC_FUNCTION ("-": not checked)
expect() {
  local name=$1 env=$2 program=$3 arg=$4 kind=$5 function=$6 alloc=$7
  local db="$work/$name.db" row got
  rm -f "$db"*
  # shellcheck disable=SC2086 # $env is a list of VAR=VALUE words
  env $env ORTHO_ON_CORRUPTION=report "$ortho_run" -o "$db" -- "$bin/it_misuse_$program" $arg \
    >"$work/out" 2>"$work/err"
  row=$(sqlite3 "$db" "SELECT count(*), group_concat(kind), group_concat(function) FROM corruption
                       WHERE process_id = 1" 2>&1)
  got=$(sqlite3 "$db" "SELECT coalesce(s.function, '(none)') FROM corruption c
                       LEFT JOIN stack_sites s ON s.process_id = c.process_id
                                              AND s.stack_id = c.alloc_stack_id" 2>&1)
  if [ "$row" != "1|$kind|$function" ]; then
    echo "FAIL $name: corruption rows '$row', expected '1|$kind|$function'"
    sed 's/^/  stderr: /' "$work/err"
    failures=$((failures + 1))
  elif [ "$alloc" != "-" ] && [ "$got" != "$alloc" ]; then
    echo "FAIL $name: the allocation is sited at '$got', expected '$alloc'"
    failures=$((failures + 1))
  else
    echo "ok   $name: $kind at $function${alloc:+, allocated in $alloc}"
  fi
}

guard="ORTHO_GUARD_SAMPLE=1"
expect guard_overflow_by_one_byte "$guard" guard_sampled overflow overflow access_the_block main
expect guard_read_after_free "$guard" guard_sampled read_freed use_after_free access_the_block main
expect guard_write_after_free "$guard" guard_sampled write_freed use_after_free access_the_block main
expect write_after_free_planting_a_pointer "" write_after_free pointer use_after_free \
  reuse_after_write main
expect write_after_free_filling_the_block "" write_after_free fill use_after_free \
  reuse_after_write main
# The header zeroed: the allocation's words are gone with it.
expect write_after_free_zeroing_the_header "" write_after_free header use_after_free \
  reuse_after_write -
expect full_check_overflow_into_the_slack ORTHO_CHECK=full overflow_into_slack "" overflow \
  free_after_overflow main
expect full_check_write_into_a_quarantined_block ORTHO_CHECK=full write_after_free fill \
  use_after_free main main
[ "$failures" -eq 0 ] || { echo "$failures case(s) failed"; exit 1; }
echo "all cases passed"
