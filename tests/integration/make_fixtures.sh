#!/usr/bin/env bash
# make_fixtures.sh - the trace databases the viewer tests (tests/viewer/) read:
# real traced runs of real programs, made once per test session by the CTest
# fixture `trace_databases`, so ortho-top's and ortho-report's models are
# tested against what the collector really writes, never against hand-made
# rows. Each database is complete (every traced process has ended) when this
# script exits 0.
#
#   facts.db      query_workload (facts known in advance: see its opening
#                 comment), summary mode, a double free in report mode
#   facts_full.db the same run in ORTHO_TRACE=full (one row per allocation)
#   nostacks.db   the same run with ORTHO_TRACE_STACKS=0
#   general.db    the same run under ORTHO_CLASSES=general (68 classes)
#   mixed.db      the same run with two tables in one tree: the root and its
#                 fork under the list 64,128,256,1K,8K (so 9000 and 70000
#                 bytes take LARGE), the exec'd child under general
#   tensor.db     the tensor pipeline example over 5 batches (if built)
# Usage: make_fixtures.sh LIBORTHOTOPE QUERY_WORKLOAD OUTDIR [TENSOR_PIPELINE]
set -euo pipefail

library=$1 workload=$2 out=$3 tensor=${4:-}
unset LD_PRELOAD ORTHO_TRACE ORTHO_TRACE_DB ORTHO_TRACE_SAMPLE ORTHO_TRACE_STACKS \
  ORTHO_TRACE_OVERFLOW ORTHO_ON_CORRUPTION ORTHO_TRACE_SOCK ORTHO_CLASSES QW_CHILD_CLASSES

fail() {
  echo "make_fixtures.sh: FAIL: $1" >&2
  exit 1
}
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"
. "$(dirname "$0")/trace_wait.sh"
mkdir -p "$out"

# trace NAME PROCESSES ENV... -- COMMAND...: runs COMMAND traced into
# OUTDIR/NAME and waits until the database shows PROCESSES ended images.
trace() {
  local name=$1 processes=$2 db=$out/$1
  shift 2
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  rm -f "$db" "$db-wal" "$db-shm" "$db.old" "$db.old-wal" "$db.old-shm"
  local status=0
  env "${vars[@]}" ORTHO_TRACE_DB="$db" LD_PRELOAD="$library" "$@" \
    >"$out/$name.out" 2>"$out/$name.err" </dev/null || status=$?
  [ "$status" -eq 0 ] || { cat "$out/$name.err" >&2; fail "$name: $1 exited $status"; }
  trace_wait_ended "$db" "$processes" 15 ||
    fail "$name: the database did not show $processes ended processes within 15 s"
  # The collector's last commit is in; fold the WAL in so readers see one file.
  sqlite3 -batch -cmd '.timeout 5000' "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
  echo "made $db"
}

trace facts.db 3 ORTHO_TRACE=1 ORTHO_ON_CORRUPTION=report -- "$workload"
trace facts_full.db 3 ORTHO_TRACE=full ORTHO_ON_CORRUPTION=report -- "$workload"
trace nostacks.db 3 ORTHO_TRACE=1 ORTHO_TRACE_STACKS=0 ORTHO_ON_CORRUPTION=report -- "$workload"
trace general.db 3 ORTHO_TRACE=1 ORTHO_ON_CORRUPTION=report ORTHO_CLASSES=general -- "$workload"
trace mixed.db 3 ORTHO_TRACE=1 ORTHO_ON_CORRUPTION=report ORTHO_CLASSES=64,128,256,1K,8K \
  QW_CHILD_CLASSES=general -- "$workload"
if [ -n "$tensor" ]; then
  trace tensor.db 1 ORTHO_TRACE=1 -- "$tensor" 5
fi
