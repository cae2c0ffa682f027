#!/usr/bin/env bash
# top_tmux_live.sh - ortho-top in a real terminal (tmux, 80x24) following a
# database while the traced program still writes it: top_workload (see its
# opening comment: 300 B6K blocks held for the whole run, steady B256
# churn) runs for a few seconds under the preloaded library. The viewer
# must show the run as live, numbers that sqlite3 confirms, rates while it
# runs, a pause that freezes the time shown, a clean resize, then notice
# the end of the run by itself, and quit leaving a sane terminal.
# Usage: top_tmux_live.sh ORTHO_TOP FIXTURE_DIR LIBRARY WORKLOAD
set -euo pipefail
top=$1 library=$3 workload=$4
TEST_NAME=top_tmux_live
WORK=$(mktemp -d /tmp/top_tmux_live.XXXXXX)
. "$(dirname "$0")/top_tmux_lib.sh"
db=$WORK/live.db
RUN_SECONDS=12  # long enough for the live checks on a loaded machine
tmux_begin

unset LD_PRELOAD ORTHO_TRACE_SOCK
ORTHO_TRACE=1 ORTHO_TRACE_DB=$db LD_PRELOAD=$library "$workload" $RUN_SECONDS \
  >"$WORK/workload.out" 2>"$WORK/workload.err" &
workload_pid=$!
CLEANUP_PID=$workload_pid  # killed by cleanup if a check fails while it runs

# The collector commits every 250 ms: wait for the first process row.
deadline=$((SECONDS + 10))
until [ "$(sql "$db" "SELECT count(*) FROM processes" 2>/dev/null || echo 0)" -ge 1 ]; do
  [ $SECONDS -lt $deadline ] || fail "the traced workload wrote no process row within 10 s"
  sleep 0.1
done

type_line "$top $db; echo \"exit=\$?\""
wait_for 'ortho-top +live\.db +live run .*\[following\]' 10 "a live run being followed"
screen_text | grep -q "process: all 1 process (root pid $workload_pid" ||
  fail "the header does not name the workload's pid $workload_pid"

# The held blocks: 300 live in B6K, as the database says.
deadline=$((SECONDS + 10))
until held=$(sql "$db" "SELECT live_blocks FROM class_stats JOIN classes USING (process_id, class_id)
    WHERE class_name = 'B6K'") && [ -n "$held" ]; do
  [ $SECONDS -lt $deadline ] || fail "the database shows no B6K counters within 10 s"
  sleep 0.1
done
expect_row_field B6K 4 "$held" "live B6K blocks while running"
expect_row_field B6K 4 300 "the workload's 300 held blocks"

# The churn: B256 allocations per second above zero while it runs.
deadline=$((SECONDS + 10))
until awk -v r="$(row_field B256 2)" 'BEGIN { exit !(r + 0 > 0) }'; do
  [ $SECONDS -lt $deadline ] || fail "B256 shows no allocations per second while the workload churns"
  sleep 0.1
done
[ "$(sql "$db" "SELECT count(*) FROM processes WHERE end_ns IS NULL")" = 1 ] ||
  fail "the workload ended before the live checks were done (raise RUN_SECONDS)"

# Pause: the time shown stops; resume: it moves again.
shown_time() { screen_text | sed -nE '1s/.*time (\+[0-9.]+s) of.*/\1/p'; }
keys p
wait_for '\[PAUSED\]' 5 "the pause"
paused_at=$(shown_time)
sleep 1.5
[ "$(shown_time)" = "$paused_at" ] || fail "the time moved while paused ($paused_at -> $(shown_time))"
keys p
wait_for '\[following\]' 5 "following again after the pause"
deadline=$((SECONDS + 5))
while [ "$(shown_time)" = "$paused_at" ]; do
  [ $SECONDS -lt $deadline ] || fail "the time did not move after the pause ended"
  sleep 0.1
done

# Resize while following.
tmux -L "$TMUX_SOCKET" resize-window -t t -x 120 -y 30
wait_for 'REFILL/s +DRAIN/s +CARVED' 5 "the wide columns after growing the window"
tmux -L "$TMUX_SOCKET" resize-window -t t -x 80 -y 24
wait_gone 'REFILL/s' 5 "the wide columns after shrinking the window"
wait_for '^LARGE ' 5 "the LARGE row after shrinking the window"

# The end of the run: the viewer notices by itself.
wait "$workload_pid" || fail "the workload failed: $(cat "$WORK/workload.err")"
wait_for 'ortho-top +live\.db +finished run' 15 "the run shown as finished"
deadline=$((SECONDS + 10))
until [ "$(sql "$db" "SELECT count(*) FROM processes WHERE end_ns IS NULL")" = 0 ]; do
  [ $SECONDS -lt $deadline ] || fail "the database does not show the run ended"
  sleep 0.1
done
# Live blocks and waste % (fields 4 and 7; bytes are shown compact here,
# exact in --batch, which top_batch.sh checks).
for class in B256 B4K B6K; do
  read -r live waste <<<"$(sql "$db" "SELECT live_blocks, printf('%.1f', waste_pct)
      FROM fragmentation WHERE class_name = '$class'" | tr '|' ' ')"
  expect_row_field "$class" 4 "$live" "$class live blocks at the end"
  expect_row_field "$class" 7 "$waste" "$class waste % at the end"
done
[ "$(row_field B6K 4)" = 300 ] || fail "B6K does not end with the 300 held blocks"

quit_and_check_terminal
echo "top_tmux_live.sh: ok"
