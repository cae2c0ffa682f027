#!/usr/bin/env bash
# run_example.sh - runs one example program and checks how it ends: the
# exit status it must have and an extended regex its combined output (lines
# joined by spaces, so one pattern can span lines) must match. Usage: run_example.sh STATUS REGEX program [args...]
# (set LD_PRELOAD or ORTHO_* in the test's environment as needed).
set -u
want_status=$1 pattern=$2
shift 2
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [ "$status" -ne "$want_status" ]; then
  echo "run_example.sh: $1 exited with $status, expected $want_status" >&2
  exit 1
fi
if ! tr '\n' ' ' <<<"$output" | grep -Eq -- "$pattern"; then
  echo "run_example.sh: output of $1 does not match: $pattern" >&2
  exit 1
fi
