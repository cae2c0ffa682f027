# trace_wait.sh - sourced by the test scripts that read a trace database
# right after the traced program: a normal exit waits for the collector's
# commit, but the collector finishes the tree (end_ns, names of the last
# stacks) a moment later, on its own time.

# trace_wait_ended DB PROCESSES SECONDS: returns 0 once DB shows exactly
# PROCESSES images, all ended; 1 if it does not within SECONDS.
trace_wait_ended() {
  local db=$1 processes=$2 tries=$(($3 * 10))
  while [ "$(sqlite3 -batch -noheader -cmd '.timeout 5000' "$db" \
      "SELECT count(*) = $processes AND count(end_ns) = count(*) FROM processes" \
      2>/dev/null)" != 1 ]; do
    tries=$((tries - 1))
    [ $tries -gt 0 ] || return 1
    sleep 0.1
  done
}
