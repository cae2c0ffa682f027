#!/usr/bin/env bash
# trace_db.sh - runs real programs under ORTHO_TRACE and checks the trace
# database they leave against ground truth fixed by trace_workload.c.
# Usage: trace_db.sh CASE LIB WORKLOAD ORTHO_RUN [CORRUPTION_EXAMPLE]
set -euo pipefail
case_name=$1 lib=$2 workload=$3 ortho_run=$4 corruption_example=${5:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL ($case_name): $*" >&2; exit 1; }

# q DB SQL: one value (or rows joined by |).
# .timeout: the collector may be closing the database (a WAL checkpoint)
# just as a query starts; readers wait for it as any SQLite reader should.
q() { sqlite3 -batch -noheader -cmd '.timeout 5000' -separator '|' "$1" "$2"; }

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; echo "ok: $1 = $3"; }

# Waits until every process row of DB has ended (the collector finishes a
# moment after the traced program when that program did not exit cleanly).
wait_ended() {
  local db=$1
  for _ in $(seq 1 200); do
    if [ -f "$db" ] && [ "$(q "$db" "select count(*) from processes where end_ns is null" 2>/dev/null || echo x)" = 0 ] \
       && [ "$(q "$db" "select count(*) from processes" 2>/dev/null || echo 0)" != 0 ]; then
      return 0
    fi
    sleep 0.05
  done
  fail "the processes in $db never ended"
}

traced() { ORTHO_TRACE=1 LD_PRELOAD="$lib" "$@"; }

# sequential_counted N: N short-lived threads one after the other, each
# one malloc/free: every one counted. Leaves the database at $db.
sequential_counted() {
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db traced "$workload" threads "$1")
  expect_eq output "$out" "threads done $1"
  wait_ended "$db"
  expect_eq "1234-byte allocations" "$(q "$db" "select allocs from size_histogram where requested_size=1234")" "$1"
  expect_eq "threads with one alloc and one free" "$(q "$db" "select count(*) from threads where allocs >= 1 and frees >= 1 and thread_id != (select pid from processes)")" "$1"
}

# together_counted N [VAR=VALUE...]: N threads alive at once (a barrier),
# traced with the given settings: every allocation counted, one thread row
# each, enough slots, a clean end and nothing lost.
together_counted() {
  local n=$1 db=$tmp/together.db
  shift
  out=$(env ORTHO_TRACE_DB="$db" "$@" ORTHO_TRACE=1 LD_PRELOAD="$lib" "$workload" together "$n" 2>"$tmp/err")
  expect_eq output "$out" "together done $n"
  expect_eq "nothing on stderr" "$(cat "$tmp/err")" ""
  wait_ended "$db"
  expect_eq "1235-byte allocations" "$(q "$db" "select allocs from size_histogram where requested_size=1235")" "$n"
  expect_eq "1236-byte allocations" "$(q "$db" "select allocs from size_histogram where requested_size=1236")" "$n"
  expect_eq "freed" "$(q "$db" "select sum(frees) from threads where thread_id != (select pid from processes)")" $((2 * n))
  expect_eq "threads" "$(q "$db" "select count(distinct thread_id) from threads where thread_id != (select pid from processes)")" "$n"
  expect_eq "one row per thread" "$(q "$db" "select count(*) from threads where thread_id != (select pid from processes)")" "$n"
  expect_eq "slots for all" "$(q "$db" "select trace_slots >= $n + 1 from processes")" 1
  expect_eq "clean end, nothing lost" "$(q "$db" "select end_reason||'|'||dropped_records||'|'||lost_no_slot from processes")" "exit|0|0"
  expect_eq "nothing refused" "$(q "$db" "select count(*) from health_events")" 0
  rm -f "$db" "$db"-wal "$db"-shm
}

# The tools that make stripped and MiniDebugInfo programs (scripts/deps.sh).
need_binutils() {
  local tool
  for tool in strip objcopy nm readelf xz; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
  done
  unset DEBUGINFOD_URLS # local files only: never a download
}

# cache_counts FORKS: cache_counters' own per-class counts against the trace's
# final gauges (the cases below say why they must agree).
cache_counts() {
  [ -n "${IT_CACHE_COUNTERS:-}" ] || fail "IT_CACHE_COUNTERS (the program) is not set"
  db=$tmp/run.db
  ORTHO_TRACE_INTERVAL_MS=10 ORTHO_TRACE_DB=$db traced "$IT_CACHE_COUNTERS" 40000 3 "$1" >"$tmp/truth"
  wait_ended "$db"
  expect_eq "classes counted" "$(wc -l <"$tmp/truth")" 12
  # The program's own image: with FORKS its children have rows too.
  local own="process_id = (select process_id from processes where via = 'root')"
  expect_eq "cross-thread frees" "$(q "$db" "select sum(cross_thread_frees) from class_stats where $own")" 120000
  while read -r name cached pooled carved live; do
    read -r got_cached got_pooled got_carved got_live < <(q "$db" "select s.cached_blocks, s.pooled_blocks,
        s.carved_blocks, s.live_blocks from class_stats s join classes c using (process_id, class_id)
        where c.class_name = '$name' and s.$own" | tr '|' ' ')
    expect_eq "$name cached|pooled|carved" "$got_cached|$got_pooled|$got_carved" "$cached|$pooled|$carved"
    [ "$got_live" -ge 0 ] && [ "$got_live" -le "$live" ] ||
      fail "$name: $got_live live blocks in the trace, $live to the allocator"
  done <"$tmp/truth"
  rows=$(q "$db" "select count(*) from class_series where $own")
  [ "$rows" -ge 12 ] || fail "only $rows class_series rows: the run gave no rows mid-run"
  expect_eq "class_series rows (of $rows) with a negative count" "$(q "$db" "select count(*) from class_series
      where $own and (cached_blocks < 0 or pooled_blocks < 0 or live_blocks < 0)")" 0
  expect_eq "images: the program and its children" "$(q "$db" "select count(*) from processes")" "$(($1 + 1))"
}

# class_totals_exact [VAR=VALUE...]: the counts workload traced with the
# given settings, against its ground truth: every class, the histogram,
# both leak sites with their stacks, and a clean end.
class_totals_exact() {
  db=$tmp/run.db
  out=$(env ORTHO_TRACE_DB="$db" "$@" ORTHO_TRACE=1 LD_PRELOAD="$lib" "$workload" counts)
  expect_eq "program output" "$out" "counts done"
  wait_ended "$db"
  # class: allocs|frees|requested (usable where it is the class payload)
  expect_eq B8K "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes||'|'||usable_bytes from class_totals where class_name='B8K'")" "100|100|700100|819200"
  expect_eq B16K "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes||'|'||usable_bytes from class_totals where class_name='B16K'")" "30|20|270030|491520"
  expect_eq B64K "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes||'|'||usable_bytes from class_totals where class_name='B64K'")" "40|40|1600040|2621440"
  expect_eq B1M "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes||'|'||usable_bytes from class_totals where class_name='B1M'")" "4|3|2000004|4194304"
  expect_eq LARGE "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes from class_totals where class_name='LARGE'")" "5|5|104857605"
  expect_eq "LARGE usable covers requested" "$(q "$db" "select usable_bytes >= requested_bytes from class_totals where class_name='LARGE'")" 1
  expect_eq "untouched classes are zero" "$(q "$db" "select count(*) from class_totals where class_name in ('B32K','B128K','B256K','B16M') and allocs != 0")" 0
  expect_eq "cross-thread frees of B64K" "$(q "$db" "select cross_thread_frees from class_stats where class_id=7")" 40
  expect_eq "thread pair for the handoff" "$(q "$db" "select sum(frees) from thread_pairs where alloc_thread_id != free_thread_id")" 40
  expect_eq "histogram of 37 bytes" "$(q "$db" "select allocs from size_histogram where requested_size=37")" 13
  expect_eq "histogram of 3001 bytes" "$(q "$db" "select allocs from size_histogram where requested_size=3001")" 6
  expect_eq "leaks at leak_site_one" "$(q "$db" "select count(*)||'|'||sum(requested_size)||'|'||min(class_name) from leaks where function='leak_site_one'")" "10|90010|B16K"
  expect_eq "leaks at leak_site_two" "$(q "$db" "select count(*)||'|'||min(class_name) from leaks where function='leak_site_two'")" "1|B1M"
  expect_eq "leak site file:line" "$(q "$db" "select distinct file like '%trace_workload.c' and line > 0 from leaks where function='leak_site_one'")" 1
  expect_eq "fragmentation has every class" "$(q "$db" "select count(*) from fragmentation")" 13
  expect_eq "process ended through exit" "$(q "$db" "select via||'|'||end_reason from processes")" "root|exit"
  expect_eq "nothing dropped" "$(q "$db" "select dropped_records from processes")" 0
  expect_eq "schema version" "$(q "$db" "pragma user_version")" 2
}

# pingpong_identity PLAYERS ROUNDS: trace_workload's pingpong under
# ORTHO_TRACE=full, both clocks: every allocation keeps an identity of
# its own, and every free finds it.
pingpong_identity() {
  players=$1
  rounds=$2
  calls=$(((rounds + 1) * 96))
  for clock in auto exact; do
    db=$tmp/pingpong-$clock.db
    out=$(ORTHO_TRACE_CLOCK=$clock ORTHO_TRACE_DB=$db ORTHO_TRACE=full LD_PRELOAD="$lib" "$workload" pingpong "$rounds" "$players" 2>"$tmp/err")
    expect_eq "$clock: output" "$out" "pingpong mallocs=$calls frees=$calls"
    expect_eq "$clock: nothing on stderr" "$(cat "$tmp/err")" ""
    wait_ended "$db"
    expect_eq "$clock: B8K allocations and frees" "$(q "$db" "select allocs||'|'||frees from class_totals where class_name='B8K'")" "$calls|$calls"
    expect_eq "$clock: frees that found no allocation" "$(q "$db" "select untracked_frees from processes")" 0
    expect_eq "$clock: B8K blocks left live" "$(q "$db" "select count(*) from leaks where class_name='B8K'")" 0
    expect_eq "$clock: B8K frees in the lifetime histogram" "$(q "$db" "select sum(frees) from lifetimes join classes using (process_id, class_id) where class_name='B8K'")" "$calls"
    rows="allocations join classes using (process_id, class_id) where class_name='B8K'"
    expect_eq "$clock: B8K allocations, each with an address and time of its own" "$(q "$db" "select count(*)||'|'||count(distinct address||'/'||alloc_ns) from $rows")" "$calls|$calls"
    expect_eq "$clock: frees stamped no later than their allocation" "$(q "$db" "select count(*) from $rows and free_ns <= alloc_ns")" 0
    expect_eq "$clock: blocks freed by the thread that allocated them (the first batch at most)" "$(q "$db" "select count(*) <= 96 from $rows and free_thread_id = thread_id")" 1
    expect_eq "$clock: threads that allocated" "$(q "$db" "select count(distinct thread_id) from $rows")" "$players"
    expect_eq "$clock: clean end, nothing lost" "$(q "$db" "select end_reason||'|'||dropped_records from processes")" "exit|0"
    rm -f "$db" "$db"-wal "$db"-shm
  done
}

case $case_name in
class_totals_match_the_workload_exactly)
  class_totals_exact
  ;;
class_totals_are_exact_when_the_program_does_not_wait_at_exit)
  # ORTHO_TRACE_EXIT=nowait: the program leaves without its exit commit;
  # the collector writes its counters and leaks with its end.
  class_totals_exact ORTHO_TRACE_EXIT=nowait
  ;;
sigkill_keeps_every_completed_allocation)
  db=$tmp/run.db
  set +e
  ORTHO_TRACE_DB=$db traced "$workload" kill 2000 >"$tmp/out"
  rc=$?
  set -e
  expect_eq "killed by SIGKILL" "$rc" 137
  printed=$(grep -c '^allocated' "$tmp/out")
  wait_ended "$db"
  got=$(q "$db" "select allocs from size_histogram where requested_size=777")
  [ "$got" -ge "$printed" ] || fail "database has $got allocations of 777 bytes, program printed $printed"
  echo "ok: $got >= $printed completed allocations survive SIGKILL"
  expect_eq "end reason" "$(q "$db" "select end_reason from processes")" abrupt
  expect_eq "all 777-byte blocks leak" "$(q "$db" "select count(*) from leaks where requested_size=777")" "$got"
  ;;
a_thousand_short_lived_threads_are_all_counted)
  sequential_counted 1000
  ;;
fork_and_exec_land_in_one_database)
  db=$tmp/run.db
  "$ortho_run" -o "$db" -- sh -c "\"$workload\" fork; true" >"$tmp/out" 2>"$tmp/err" || fail "ortho-run failed: $(cat "$tmp/err")"
  expect_eq output "$(cat "$tmp/out")" "fork done"
  # sh (root) -> [sh's fork child, unless sh uses vfork] -> exec'd workload
  # -> the workload's fork child: one row per traced image.
  images=$(q "$db" "select count(*) from processes")
  [ "$images" -ge 3 ] || fail "expected at least 3 process rows, got $images"
  echo "ok: $images process rows"
  expect_eq "every image ended" "$(q "$db" "select count(*) from processes where end_ns is null")" 0
  expect_eq "one root" "$(q "$db" "select count(*) from processes where via='root' and parent_process_id is null")" 1
  expect_eq "the exec'd workload descends from the root" "$(q "$db" "with recursive up(id) as (select parent_process_id from processes where via='exec' and exe like '%trace_workload' union select parent_process_id from processes join up on process_id=id where parent_process_id is not null) select count(*) from up join processes on process_id=id where via='root'")" 1
  expect_eq "parent's allocations" "$(q "$db" "select p.via||'|'||h.allocs from size_histogram h join processes p using(process_id) where requested_size=555")" "exec|3"
  expect_eq "child's allocations" "$(q "$db" "select p.via||'|'||h.allocs from size_histogram h join processes p using(process_id) where requested_size=666")" "fork|5"
  expect_eq "child's parent is the workload" "$(q "$db" "select count(*) from processes c join processes w on c.parent_process_id = w.process_id where c.via='fork' and w.via='exec' and w.exe like '%trace_workload'")" 1
  expect_eq "child's leaks name their function" "$(q "$db" "select count(*) from leaks l join processes p using(process_id) where p.via='fork' and function='leak_site_two'")" 5
  expect_eq "the workload exited through exit()" "$(q "$db" "select end_reason from processes where via='exec'")" exit
  ;;
a_fork_storm_of_200_children_is_complete_when_ortho_run_returns)
  # A parent of 4 threads forks 200 children at once. No waiting here: the
  # database must be whole when ortho-run returns.
  db=$tmp/run.db
  "$ortho_run" -o "$db" -- "$workload" forks 200 >"$tmp/out" 2>"$tmp/err" || fail "ortho-run failed: $(cat "$tmp/err")"
  expect_eq output "$(cat "$tmp/out")" "forks done 200"
  expect_eq "no image left untraced" "$(grep -c 'tracing off' "$tmp/err")" 0
  expect_eq "process rows, all ended" "$(q "$db" "select group_concat(row, ' ') from (select via||':'||count(*)||':'||sum(end_ns is not null) as row from processes group by via order by via)")" "fork:200:200 root:1:1"
  expect_eq "each child's leak, named" "$(q "$db" "select count(*)||'|'||count(distinct process_id) from leaks l join processes p using(process_id) where p.via='fork' and requested_size=667 and function='leak_site_two'")" "200|200"
  expect_eq "the parent's threads" "$(q "$db" "select allocs from size_histogram join processes using(process_id) where via='root' and requested_size=1238")" 3
  expect_eq "every stack written" "$(q "$db" "select count(*) from stacks s where not exists (select 1 from frames f where f.process_id=s.process_id and f.stack_id=s.stack_id)")" 0
  expect_eq "every frame of the program and the allocator named" "$(q "$db" "select count(*) from frames where function is null and (module like '%it_trace_workload' or module like '%liborthotope%')")" 0
  expect_eq "nothing refused or left unnamed" "$(q "$db" "select count(*) from health_events")" 0
  ;;
an_exec_loop_of_200_true_is_complete_when_ortho_run_returns)
  # bash forks a child that execs /bin/true, 200 times in a row: 401 images.
  db=$tmp/run.db
  "$ortho_run" -o "$db" -- "$BASH" -c 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i + 1)); done; echo loop done' \
    >"$tmp/out" 2>"$tmp/err" || fail "ortho-run failed: $(cat "$tmp/err")"
  expect_eq output "$(cat "$tmp/out")" "loop done"
  expect_eq "no image left untraced" "$(grep -c 'tracing off' "$tmp/err")" 0
  expect_eq "process rows, all ended" "$(q "$db" "select group_concat(row, ' ') from (select via||':'||end_reason||':'||count(*)||':'||sum(end_ns is not null) as row from processes group by via, end_reason order by via, end_reason)")" "exec:exit:200:200 fork:exec:200:200 root:exit:1:1"
  expect_eq "the exec'd images are true" "$(q "$db" "select count(*) from processes where via='exec' and exe like '%/true'")" 200
  expect_eq "every exec'd image descends from a fork child of the root" "$(q "$db" "select count(*) from processes e join processes f on e.parent_process_id=f.process_id join processes r on f.parent_process_id=r.process_id where e.via='exec' and f.via='fork' and r.via='root'")" 200
  expect_eq "every stack written" "$(q "$db" "select count(*) from stacks s where not exists (select 1 from frames f where f.process_id=s.process_id and f.stack_id=s.stack_id)")" 0
  expect_eq "every frame of the allocator named" "$(q "$db" "select count(*) from frames where function is null and module like '%liborthotope%'")" 0
  expect_eq "nothing refused or left unnamed" "$(q "$db" "select count(*) from health_events")" 0
  ;;
an_image_gone_before_its_registration_is_read_keeps_its_name_and_clean_end)
  # The tree's collector is stopped while bash runs /bin/true, which (as
  # ortho-run sets ORTHO_TRACE_EXIT=nowait) registers, exits and is reaped
  # before the collector reads a byte of it: /proc no longer knows it.
  # Builtins only between STOP and CONT, so no other image is made.
  db=$tmp/run.db
  "$ortho_run" -o "$db" -- "$BASH" -c '
    for p in /proc/[0-9]*; do
      read -r _ comm _ ppid _ < "$p/stat" 2>/dev/null || continue
      [ "$comm" = "(ortho-collector)" ] && [ "$ppid" = "$PPID" ] && c=${p#/proc/}
    done
    [ -n "${c:-}" ] || { echo "no collector of this tree"; exit 1; }
    kill -STOP "$c"; /bin/true one "two three"; kill -CONT "$c"; echo done' \
    >"$tmp/out" 2>"$tmp/err" || fail "ortho-run failed: $(cat "$tmp/out" "$tmp/err")"
  expect_eq output "$(cat "$tmp/out")" "done"
  expect_eq "images and their ends" "$(q "$db" "select group_concat(via || ':' || end_reason, ' ') from (select via, end_reason from processes order by process_id)")" "root:exit fork:exec exec:exit"
  expect_eq "the exec'd image's program and arguments, from its segment" "$(q "$db" "select (exe like '%/true') || '|' || cmdline from processes where via = 'exec'")" "1|/bin/true one two three"
  expect_eq "it descends from the fork child" "$(q "$db" "select count(*) from processes e join processes f on e.parent_process_id = f.process_id where e.via = 'exec' and f.via = 'fork'")" 1
  ;;
every_stack_is_named_under_a_256_descriptor_limit)
  # The collector inherits the limit. 200 images' stacks to name with 256
  # descriptors: every frame lies in a known module, and every frame of the
  # program and the allocator (both with symbols) is named.
  db=$tmp/run.db
  (ulimit -n 256 && "$ortho_run" -o "$db" -- "$workload" forks 200) >"$tmp/out" 2>"$tmp/err" || fail "ortho-run failed: $(cat "$tmp/err")"
  expect_eq output "$(cat "$tmp/out")" "forks done 200"
  expect_eq "no image left untraced" "$(grep -c 'tracing off' "$tmp/err")" 0
  expect_eq "process rows" "$(q "$db" "select count(*)||'|'||sum(end_ns is not null) from processes where via='fork'")" "200|200"
  frames=$(q "$db" "select count(*) from frames")
  [ "$frames" -ge 600 ] || fail "only $frames frames: each child has at least three"
  expect_eq "every frame in a module" "$(q "$db" "select count(*) from frames where module is null")" 0
  expect_eq "stacks with an unnamed frame of the program or the allocator" "$(q "$db" "select count(distinct process_id||'.'||stack_id) from frames where function is null and (module like '%it_trace_workload' or module like '%liborthotope%')")" 0
  expect_eq "every leak named" "$(q "$db" "select count(*) from leaks l join processes p using(process_id) where p.via='fork' and function='leak_site_two'")" 200
  expect_eq "nothing named without its file" "$(q "$db" "select count(*) from health_events where kind='symbols_without_fds'")" 0
  ;;
drop_mode_never_stalls_and_counts_what_it_lost)
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_TRACE_OVERFLOW=drop ORTHO_TRACE_RING_SIZE=16K ORTHO_TRACE_STACKS=0 traced "$workload" churn 1)
  [[ $out == "churn done "* ]] || fail "output: $out"
  pairs=${out#churn done }
  wait_ended "$db"
  dropped=$(q "$db" "select dropped_records from processes")
  allocs=$(q "$db" "select allocs from size_histogram where requested_size=48")
  echo "pairs $pairs, recorded allocs $allocs, dropped records $dropped"
  [ "$dropped" -gt 0 ] || fail "a 16K ring under a second of churn dropped nothing"
  # Each pair is two records: what arrived plus what was dropped covers them all.
  records=$(q "$db" "select records from processes")
  [ $((records + dropped)) -ge $((pairs * 2)) ] || fail "$records records arrived + $dropped dropped < $((pairs * 2)) sent"
  [ "$allocs" -le "$pairs" ] || fail "more allocations recorded ($allocs) than made ($pairs)"
  expect_eq "threads table has the drops" "$(q "$db" "select sum(dropped_records) from threads")" "$dropped"
  ;;
a_program_that_outruns_the_collector_is_told_how_often_and_how_long_it_waited)
  # A 16K ring (512 records) fills in microseconds: lossless mode makes the
  # thread wait, counts are exact, and the database says how it waited.
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_TRACE_RING_SIZE=16K ORTHO_TRACE_STACKS=0 traced "$workload" churn 1)
  [[ $out == "churn done "* ]] || fail "output: $out"
  pairs=${out#churn done }
  wait_ended "$db"
  expect_eq "every allocation" "$(q "$db" "select allocs from size_histogram where requested_size=48")" "$pairs"
  expect_eq "nothing dropped" "$(q "$db" "select dropped_records from processes")" 0
  expect_eq "it waited" "$(q "$db" "select ring_waits > 0 and ring_wait_ns > 0 from trace_health")" 1
  expect_eq "the thread's waits add up" "$(q "$db" "select sum(ring_waits)||'|'||sum(ring_wait_ns) from threads")" \
    "$(q "$db" "select ring_waits||'|'||ring_wait_ns from processes")"
  expect_eq "lag explained or in budget" "$(q "$db" "select max_lag_ns < 50000000 or late_batches > 0 from processes")" 1
  ;;
readers_query_while_the_collector_writes)
  db=$tmp/run.db
  ORTHO_TRACE_DB=$db traced "$workload" churn 2 >"$tmp/out" &
  pid=$!
  reads=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$db" ] && q "$db" "select count(*) from class_totals" >/dev/null 2>"$tmp/qerr"; then
      reads=$((reads + 1))
    elif [ -s "$tmp/qerr" ]; then
      fail "a read failed while the collector wrote: $(cat "$tmp/qerr")"
    fi
    sleep 0.05
  done
  wait "$pid"
  [ "$reads" -ge 5 ] || fail "only $reads reads succeeded during the run"
  echo "ok: $reads reads during the run"
  wait_ended "$db"
  [ "$(q "$db" "select count(*) from class_series where class_id=0")" -ge 3 ] || fail "the 2 s run has fewer than 3 B64 time-series rows"
  echo "ok: time series rows present"
  ;;
four_threads_alive_share_the_first_segment_and_a_fifth_adds_the_next)
  # Segment 0 has the 4 slots with the largest rings; the fifth thread
  # alive at once makes segment 1 (256 slots).
  db=$tmp/four.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_TRACE=1 LD_PRELOAD="$lib" "$workload" together 3)
  expect_eq output "$out" "together done 3"
  wait_ended "$db"
  expect_eq "slots of four threads" "$(q "$db" "select trace_slots from processes")" 4
  db=$tmp/five.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_TRACE=1 LD_PRELOAD="$lib" "$workload" together 4)
  expect_eq output "$out" "together done 4"
  wait_ended "$db"
  expect_eq "slots of five threads" "$(q "$db" "select trace_slots from processes")" $((4 + 256))
  expect_eq "every thread counted" "$(q "$db" "select count(*) from threads where thread_id != (select pid from processes)")" 4
  ;;
only_the_first_program_of_a_tree_keeps_the_large_rings)
  # The program the tree starts with (also once it has exec'd another
  # program in place) maps segment 0 with four 4 MiB rings; a program it
  # forks and execs maps four 512 KiB ones. Each cat prints its own maps.
  segment_kib() { # the size of the first orthotope-trace mapping in a maps dump
    # Reads to the end: a reader that stopped at the match could close the
    # pipe while cat still wrote, and cat's SIGPIPE then failed the test
    # (pipefail) without a word, now and then on a loaded machine.
    local range rest kib=
    while read -r range rest; do
      case $rest in *orthotope-trace*) [ -n "$kib" ] || kib=$(((16#${range#*-} - 16#${range%-*}) / 1024)) ;; esac
    done
    echo "$kib"
  }
  db=$tmp/root.db
  root=$(ORTHO_TRACE_DB=$db traced cat /proc/self/maps | segment_kib)
  wait_ended "$db"
  db=$tmp/exec.db
  in_place=$(ORTHO_TRACE_DB=$db traced sh -c 'exec cat /proc/self/maps' | segment_kib)
  wait_ended "$db"
  db=$tmp/child.db
  child=$(ORTHO_TRACE_DB=$db traced sh -c 'cat /proc/self/maps; true' | segment_kib)
  wait_ended "$db"
  expect_eq "processes of the forked child's tree" "$(q "$db" "select count(*) from processes")" 2
  # A child under a file size limit its own segment fits (8 MiB: its 2 MiB,
  # not the first program's 16 MiB) is traced; set inside the tree, after
  # the first program has started.
  db=$tmp/limited.db
  limited=$(ORTHO_TRACE_DB=$db traced bash -c 'ulimit -f 8192; cat /proc/self/maps; true' 2>"$tmp/limited.err" | segment_kib)
  wait_ended "$db"
  expect_eq "warnings of the limited child" "$(cat "$tmp/limited.err")" ""
  # bash, its fork child, and cat exec'd in that child.
  expect_eq "images of the limited tree" "$(q "$db" "select group_concat(via, ',') from (select via from processes order by via)")" "exec,fork,root"
  [ "${root:-0}" -ge $((4 * 4096)) ] || fail "the first program's segment 0 is ${root:-no} KiB, want 4 rings of 4 MiB"
  [ "${in_place:-0}" -ge $((4 * 4096)) ] || fail "after exec in place, segment 0 is ${in_place:-no} KiB, want 4 rings of 4 MiB"
  [ "${child:-0}" -ge $((4 * 512)) ] && [ "$child" -lt $((4 * 1024)) ] ||
    fail "a child's segment 0 is ${child:-no} KiB, want 4 rings of 512 KiB"
  [ "${limited:-0}" -eq "$child" ] || fail "a child under an 8 MiB file size limit has segment 0 of ${limited:-no} KiB, want $child"
  echo "ok: segment 0 of the first program $root KiB, after exec $in_place KiB, of a child $child KiB, of a limited child $limited KiB"
  ;;
three_hundred_threads_alive_together_are_all_counted)
  # More threads at once than an image's first two segments have slots (4 + 256):
  # the image adds a segment instead of making them wait.
  together_counted 300
  ;;
a_thousand_threads_alive_together_are_all_counted)
  together_counted 1000
  ;;
threads_alive_together_in_drop_mode_get_rings_too)
  together_counted 300 ORTHO_TRACE_OVERFLOW=drop
  ;;
threads_beyond_the_slots_that_can_be_added_are_counted_as_lost_in_drop_mode)
  # With 16K rings, segments 0 (4 slots, 0.2 MB) and 1 (256 slots, 12.7 MB)
  # fit a 20 MB file size limit and segment 2 (512 slots, 25 MB) does not:
  # 259 of the 600 threads get a ring (the main thread has one), the rest
  # count as lost.
  db=$tmp/run.db
  out=$(ulimit -f 20000; ORTHO_TRACE_DB=$db ORTHO_TRACE_OVERFLOW=drop ORTHO_TRACE_RING_SIZE=16K \
    traced "$workload" together 600 2>"$tmp/err")
  expect_eq output "$out" "together done 600"
  expect_eq "one line" "$(grep -c 'cannot add trace slots for more threads (File too large)' "$tmp/err")|$(wc -l <"$tmp/err")" "1|1"
  wait_ended "$db"
  expect_eq "slots" "$(q "$db" "select trace_slots from processes")" 260
  traced_threads=$(q "$db" "select allocs from size_histogram where requested_size=1235")
  expect_eq "threads with a ring" "$traced_threads" 259
  # After the barrier threads end and free slots the others may take.
  expect_eq "their second allocations" "$(q "$db" "select allocs between 259 and 600 from size_histogram where requested_size=1236")" 1
  expect_eq "the others' events counted as lost" "$(q "$db" "select lost_no_slot >= 4 * (600 - $traced_threads) from processes")" 1
  expect_eq "clean end" "$(q "$db" "select end_reason||'|'||dropped_records from processes")" "exit|0"
  ;;
released_slots_give_their_shared_memory_back)
  # 300 threads fill 10,000 records each into their rings, then exit: once
  # the collector has released their slots their pages are the kernel's
  # again, and the process's shared memory falls back near its headers.
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db traced "$workload" spike 300 5000)
  [[ $out =~ ^spike\ shmem_kib=([0-9]+)\ after_kib=([0-9]+)$ ]] || fail "output: $out"
  peak=${BASH_REMATCH[1]} after=${BASH_REMATCH[2]}
  echo "shared memory: $peak KiB with every ring written, $after KiB once released"
  [ "$peak" -gt 65536 ] || fail "the rings held only $peak KiB at the barrier (expected > 64 MiB)"
  [ "$after" -lt 16384 ] || fail "$after KiB of shared memory stayed resident after the threads ended"
  wait_ended "$db"
  expect_eq "1237-byte allocations" "$(q "$db" "select allocs from size_histogram where requested_size=1237")" 1500000
  ;;
twenty_thousand_sequential_threads_reuse_the_first_slots)
  sequential_counted 20000
  # One thread at a time: released slots are reused. Without reuse the
  # process would need 20,000 slots; a loaded machine may keep the
  # collector from releasing for a while and the segment grows a few times
  # (512 seen idle, more at load 6), so the bound is a tenth of that.
  slots=$(q "$db" "select trace_slots from processes")
  echo "trace slots for 20,000 sequential threads: $slots"
  expect_eq "slots reused" "$(q "$db" "select trace_slots <= 2048 from processes")" 1
  expect_eq "clean end, nothing lost" "$(q "$db" "select end_reason||'|'||dropped_records||'|'||lost_no_slot from processes")" "exit|0|0"
  ;;
a_flood_of_corruption_events_is_counted_exactly_and_kept_up_to_the_cap)
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_ON_CORRUPTION=report traced "$workload" misuse 100000 2>"$tmp/err")
  expect_eq output "$out" "misuse done 100000"
  grep -q 'misaligned_pointer' "$tmp/err" || fail "no misuse line: $(head -3 "$tmp/err")"
  wait_ended "$db"
  expect_eq "kept one by one" "$(q "$db" "select count(*) from corruption")" 10000
  expect_eq "kind whole, site named" "$(q "$db" "select distinct kind||'|'||function||'|'||call from corruption")" "misaligned_pointer|misuse_site|free"
  expect_eq "summary" "$(q "$db" "select kind||'|'||function||'|'||events||'|'||stored_events||'|'||aggregated_events from corruption_summary")" "misaligned_pointer|misuse_site|100000|10000|90000"
  expect_eq "first and last" "$(q "$db" "select first_ns = (select min(ts_ns) from corruption) and last_ns > (select max(ts_ns) from corruption) from corruption_summary")" 1
  expect_eq "process counts" "$(q "$db" "select corruption_events||'|'||corruption_aggregated||'|'||end_reason from processes")" "100000|90000|exit"
  expect_eq "trace_health says so" "$(q "$db" "select corruption_events||'|'||corruption_aggregated from trace_health")" "100000|90000"
  ;;
corruption_is_recorded_with_kind_and_function)
  db=$tmp/run.db
  set +e
  ORTHO_TRACE_DB=$db traced "$corruption_example" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  expect_eq "aborted" "$rc" 134
  wait_ended "$db"
  expect_eq "corruption row" "$(q "$db" "select kind||'|'||function||'|'||call from corruption")" "bad_checksum|main|free"
  expect_eq "raw header kept" "$(q "$db" "select length(header) from corruption_events")" 64
  ;;
bad_database_paths_leave_the_program_running)
  out=$(ORTHO_TRACE_DB=/nonexistent-dir/run.db traced "$workload" counts 2>"$tmp/err")
  expect_eq "output untouched (unwritable path)" "$out" "counts done"
  expect_eq "one line (unwritable path)" "$(wc -l <"$tmp/err")" 1
  grep -q "ORTHO_TRACE_DB" "$tmp/err" || fail "the line does not say what to do: $(cat "$tmp/err")"
  echo "not a database" >"$tmp/foreign.db"
  out=$(ORTHO_TRACE_DB=$tmp/foreign.db traced "$workload" counts 2>"$tmp/err")
  expect_eq "output untouched (foreign file)" "$out" "counts done"
  expect_eq "foreign file intact" "$(cat "$tmp/foreign.db")" "not a database"
  grep -q "refusing to overwrite" "$tmp/err" || fail "no refusal line: $(cat "$tmp/err")"
  # A previous trace at the path is kept as .old, not lost.
  ORTHO_TRACE_DB=$tmp/again.db traced "$workload" counts >/dev/null
  wait_ended "$tmp/again.db"
  ORTHO_TRACE_DB=$tmp/again.db traced "$workload" counts >/dev/null
  wait_ended "$tmp/again.db"
  expect_eq "previous trace kept" "$(q "$tmp/again.db.old" "select count(*) from processes")" 1
  ;;
a_missing_or_broken_collector_leaves_the_program_running)
  # Not there, not executable, exiting at once without a word (false), or
  # exiting "ready" without ever listening (true): the program's output and
  # status stay its own, stderr has one line naming what to fix, and no
  # database appears.
  printf '#!/bin/sh\nkill -SEGV $$\n' >"$tmp/crashing-collector"
  chmod +x "$tmp/crashing-collector"
  echo "not a program" >"$tmp/not-executable"
  chmod 644 "$tmp/not-executable"
  for collector in "$tmp/no-such-collector" "$tmp/not-executable" /bin/false /bin/true "$tmp/crashing-collector"; do
    db=$tmp/never.db
    status=0
    out=$(ORTHO_TRACE_COLLECTOR=$collector ORTHO_TRACE_DB=$db traced "$workload" counts 2>"$tmp/err") || status=$?
    expect_eq "exit status ($collector)" "$status" 0
    expect_eq "output untouched ($collector)" "$out" "counts done"
    expect_eq "one line ($collector)" "$(wc -l <"$tmp/err")" 1
    grep -q "tracing off: .*the program runs untraced" "$tmp/err" || fail "the line does not say tracing is off: $(cat "$tmp/err")"
    case $collector in
      /bin/true) grep -q "cannot reach the trace collector" "$tmp/err" ;;
      *) grep -q "ORTHO_TRACE_COLLECTOR" "$tmp/err" && grep -qF "$collector" "$tmp/err" ;;
    esac || fail "the line does not say what to fix: $(cat "$tmp/err")"
    [ ! -e "$db" ] || fail "a database appeared at $db with the collector $collector"
  done
  grep -q "killed by signal 11" "$tmp/err" || fail "the crash is not named: $(cat "$tmp/err")"
  ;;
a_program_that_closes_and_reuses_every_descriptor_is_traced_exactly)
  # The tracer keeps its registration socket open until it needs the
  # answer; a program that closes every descriptor and opens its own files
  # on those numbers must lose nothing, and no file of its is read.
  db=$tmp/run.db
  ORTHO_TRACE_DB=$db ORTHO_TRACE=1 LD_PRELOAD="$lib" "$workload" closefds 5000 >"$tmp/out" 2>"$tmp/err" ||
    fail "the program failed: $(cat "$tmp/err")"
  expect_eq "program output" "$(sort "$tmp/out" | tr '\n' ' ')" "closefds child done closefds done "
  expect_eq "nothing said on stderr" "$(cat "$tmp/err")" ""
  wait_ended "$db"
  expect_eq "both images, ended through the exit handshake" \
    "$(q "$db" "select group_concat(via || ':' || end_reason, ' ') from (select via, end_reason from processes order by process_id)")" \
    "root:exit fork:exit"
  expect_eq "777-byte allocations in each" \
    "$(q "$db" "select group_concat(n, ' ') from (select sum(allocs) n from size_histogram where requested_size = 777 group by process_id order by process_id)")" \
    "5000 5000"
  ;;
a_killed_collector_leaves_the_program_running)
  db=$tmp/run.db
  ORTHO_TRACE_DB=$db ORTHO_TRACE=1 LD_PRELOAD="$lib" "$workload" churn 2 >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  sleep 0.5
  collector=$(pgrep -f "ortho-collector .*--db $db" || true)
  [ -n "$collector" ] || fail "no collector found for $db"
  kill -9 $collector
  wait "$pid" || fail "the program failed after its collector was killed: $(cat "$tmp/err")"
  [[ $(cat "$tmp/out") == "churn done "* ]] || fail "output: $(cat "$tmp/out")"
  grep -q "tracing stopped" "$tmp/err" || fail "no line about the collector: $(cat "$tmp/err")"
  expect_eq "database still valid" "$(q "$db" "pragma integrity_check")" ok
  ;;
full_mode_stores_one_row_per_allocation)
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_TRACE=full LD_PRELOAD="$lib" "$workload" counts)
  expect_eq "program output" "$out" "counts done"
  wait_ended "$db"
  expect_eq "mode recorded" "$(q "$db" "select mode from processes")" full
  # Every class: as many rows as allocations, as many freed rows as frees,
  # the same requested bytes; compared class by class, all at once.
  expect_eq "classes whose rows disagree with class_totals" "$(q "$db" "
    select count(*) from class_totals t
    left join (select class_id, count(*) n, count(free_ns) freed, sum(requested_size) bytes
               from allocations group by class_id) a using (class_id)
    where coalesce(a.n, 0) != t.allocs or coalesce(a.freed, 0) != t.frees
       or coalesce(a.bytes, 0) != t.requested_bytes")" 0
  expect_eq "rows in all" "$(q "$db" "select count(*) = (select sum(allocs) from class_totals) from allocations")" 1
  expect_eq "unfreed rows are the live allocations" "$(q "$db" "select count(*) from allocations where free_ns is null")" \
    "$(q "$db" "select count(*) from live_allocations")"
  expect_eq "no block freed before it was allocated" "$(q "$db" "select count(*) from allocations where free_ns < alloc_ns")" 0
  expect_eq "cross-thread rows" "$(q "$db" "select count(*) from allocations where free_thread_id != thread_id")" \
    "$(q "$db" "select sum(cross_thread_frees) from class_stats")"
  expect_eq "leak rows carry their stack" "$(q "$db" "select count(*) from allocations a join stacks s using (process_id, stack_id) where a.free_ns is null and s.site_function = 'leak_site_one'")" 10
  ;;
sampling_keeps_counters_exact_and_estimates_the_bytes)
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db ORTHO_TRACE_SAMPLE=64K traced "$workload" counts)
  expect_eq "program output" "$out" "counts done"
  wait_ended "$db"
  expect_eq "sample size recorded" "$(q "$db" "select sample_bytes from processes")" 65536
  # The counters do not sample: the same exact totals as unsampled.
  expect_eq B8K "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes from class_totals where class_name='B8K'")" "100|100|700100"
  expect_eq LARGE "$(q "$db" "select allocs||'|'||frees||'|'||requested_bytes from class_totals where class_name='LARGE'")" "5|5|104857605"
  total=$(q "$db" "select sum(requested_bytes) from class_totals")
  with_stack=$(q "$db" "select coalesce(sum(allocs), 0) from sites where stack_id != 0")
  all=$(q "$db" "select sum(allocs) from class_totals")
  [ "$with_stack" -lt "$all" ] || fail "every allocation got a stack ($with_stack of $all): nothing was sampled"
  [ "$with_stack" -gt 0 ] || fail "no allocation got a stack"
  # Each 20 MiB block is sampled for sure (it spans hundreds of sampling
  # intervals), so the estimate must land near the exact total.
  expect_eq "estimated bytes within 30% of the exact total" \
    "$(q "$db" "select abs(sum(est_bytes) - $total) < 0.3 * $total from sites where stack_id != 0")" 1
  ;;
a_full_disk_leaves_the_program_running_and_the_database_valid)
  # A file size limit stands in for a full disk: the collector (which
  # inherits it) finds its database writes failing partway through a run.
  # 14 MB fits the shared segment of 4 KiB rings; the limit is per file, so
  # the rows of a full trace of 1.2 million allocations (about 100 MB) must
  # overflow the database and its WAL together.
  command -v perl >/dev/null || fail "perl is not installed"
  db=$tmp/run.db
  status=0
  out=$(ulimit -f 14000; ORTHO_TRACE_DB=$db ORTHO_TRACE_RING_SIZE=4K ORTHO_TRACE=full LD_PRELOAD="$lib" \
    perl -e 'my @a = map { "x" x 100 } 1..1200000; print scalar(@a), "\n"' 2>"$tmp/err") || status=$?
  expect_eq "program exit status" "$status" 0
  expect_eq "program output" "$out" 1200000
  for _ in $(seq 1 100); do
    grep -q "cannot write the trace database" "$tmp/err" && break
    sleep 0.05
  done
  expect_eq "lines about the failed write" "$(grep -c "cannot write the trace database" "$tmp/err")" 1
  grep -q "free space or pick another ORTHO_TRACE_DB" "$tmp/err" || fail "the line does not say what to do: $(cat "$tmp/err")"
  expect_eq "database still valid" "$(q "$db" "pragma integrity_check")" ok
  expect_eq "the process row survived" "$(q "$db" "select count(*) from processes")" 1
  ;;
every_call_path_keeps_its_own_stack_when_stacks_repeat)
  # The producer names a repeated stack without unwinding it (the stack
  # memo); paths built to look alike to it must still be told apart.
  # Each path allocates 600 times on each of two threads (trace_workload.c).
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db traced "$workload" shapes)
  expect_eq "program output" "$out" "shapes done"
  wait_ended "$db"
  # by_function LEVEL LIKE: "function:allocs" of the frame at LEVEL, summed.
  by_function() {
    q "$db" "select group_concat(function||':'||n, ' ') from (select f.function, sum(s.allocs) n
      from sites s join frames f on f.process_id = s.process_id and f.stack_id = s.stack_id
      where f.level = $1 and f.function like '$2' group by 1 order by 1)"
  }
  expect_eq "two sites at one depth" "$(by_function 0 'shape_site_%')" "shape_site_a:600 shape_site_b:600"
  expect_eq "one inner function, two callers" "$(by_function 1 'shape_outer_%')" "shape_outer_one:600 shape_outer_two:600"
  expect_eq "inner function total" "$(by_function 0 'shape_inner')" "shape_inner:1200"
  expect_eq "recursion, by depth" "$(q "$db" "select group_concat(k||':'||n, ' ') from (select k, sum(allocs) n from
      (select s.allocs, (select count(*) from frames f where f.process_id = s.process_id and f.stack_id = s.stack_id
        and f.function = 'shape_recurse') k from sites s) where k > 0 group by k order by k)")" "2:300 3:300 4:300 5:300"
  expect_eq "variable-length frames" "$(by_function 1 'shape_vla')" "shape_vla:1200"
  expect_eq "no other caller of the variable-length leaf" "$(by_function 0 'shape_vla_leaf')" "shape_vla_leaf:1200"
  # And the memo named them: each thread unwound its 15 paths (each twice
  # before the memo learns it, and once per layout of the variable frame)
  # and its set-up's allocations, not its 2400 allocations.
  expect_eq "the threads' unwinds add up" "$(q "$db" "select sum(stack_unwinds) from threads")" \
    "$(q "$db" "select stack_unwinds from processes")"
  q "$db" "select thread_id, allocs, stack_unwinds from threads"
  expect_eq "each thread unwound, but a few dozen times" \
    "$(q "$db" "select count(*) from threads where allocs >= 2400 and stack_unwinds between 15 and 120")" 2
  ;;
a_leak_through_an_allocation_wrapper_names_the_wrappers_caller)
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db traced "$workload" wrappers)
  expect_eq "program output" "$out" "wrappers done"
  wait_ended "$db"
  expect_eq "leaks by function" "$(q "$db" "select group_concat(function||':'||n, ' ') from (select function, count(*) n
      from leaks where requested_size in (3333, 3334, 40) group by 1 order by 1)")" \
    "leak_through_g_malloc:3 leak_through_strdup:2 leak_through_xmalloc:4"
  ;;
a_stripped_program_keeps_its_stacks_and_names_its_sites)
  # strip --strip-all leaves no name for leak_site_one (a static function):
  # its leaks keep their stacks and read "stripped+0xOFFSET < ...", OFFSET
  # a return address inside leak_site_one as the unstripped file places
  # it, then the first named caller (main has no name either).
  need_binutils
  strip --strip-all -o "$tmp/stripped" "$workload"
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db traced "$tmp/stripped" counts)
  expect_eq "program output" "$out" "counts done"
  wait_ended "$db"
  expect_eq "stacks without a site" "$(q "$db" "select count(*) from stacks where depth > 0 and site_function is null")" 0
  expect_eq "leaks without a stack or a function" "$(q "$db" "select count(*) from leaks where stack_id = 0 or function is null")" 0
  label=$(q "$db" "select function from leaks group by function having count(*) = 10 and sum(requested_size) = 90010")
  [[ $label =~ ^stripped\+0x([0-9a-f]+)\ \<\ \.\.\.\ \<\ __libc_start ]] ||
    fail "leak_site_one's 10 leaks are named '$label', not stripped+0xOFFSET < ... < __libc_start..."
  read -r start size < <(nm -S --defined-only "$workload" | awk '$4 == "leak_site_one" { print $1, $2 }')
  offset=$((16#${BASH_REMATCH[1]}))
  [ $((offset - 1)) -ge $((16#$start)) ] && [ $((offset - 1)) -lt $((16#$start + 16#$size)) ] ||
    fail "$label: the call at offset $((offset - 1)) is outside leak_site_one (0x$start, $((16#$size)) bytes)"
  echo "ok: leak_site_one's leaks are named $label, a call inside leak_site_one"
  ;;
a_program_with_minidebuginfo_names_its_static_functions)
  # A MiniDebugInfo program as Fedora builds them: stripped, with the
  # symbols of its static functions in .gnu_debugdata, an xz-compressed ELF
  # of a symbol table (no DWARF: names, no lines).
  need_binutils
  nm -D --defined-only --format=posix "$workload" | cut -d' ' -f1 | sort -u >"$tmp/dynamic"
  nm --defined-only --format=posix "$workload" | awk '$2 == "t" || $2 == "T" { print $1 }' | sort -u >"$tmp/functions"
  comm -13 "$tmp/dynamic" "$tmp/functions" >"$tmp/keep"
  grep -qx leak_site_one "$tmp/keep" || fail "leak_site_one is not among the symbols to keep"
  objcopy --only-keep-debug "$workload" "$tmp/full.debug"
  objcopy --strip-all --remove-section .comment --keep-symbols="$tmp/keep" "$tmp/full.debug" "$tmp/mini"
  xz "$tmp/mini"
  strip --strip-all -o "$tmp/minidebuginfo" "$workload"
  objcopy --add-section .gnu_debugdata="$tmp/mini.xz" "$tmp/minidebuginfo"
  db=$tmp/run.db
  out=$(ORTHO_TRACE_DB=$db traced "$tmp/minidebuginfo" counts)
  expect_eq "program output" "$out" "counts done"
  wait_ended "$db"
  expect_eq "leaks at leak_site_one" "$(q "$db" "select count(*)||'|'||sum(requested_size) from leaks where function='leak_site_one'")" "10|90010"
  expect_eq "leaks at leak_site_two" "$(q "$db" "select count(*) from leaks where function='leak_site_two'")" 1
  ;;
a_stripped_program_is_named_from_its_debug_file_found_by_build_id)
  # The -dbgsym layout: ROOT/.build-id/xx/yyyy.debug, here under a
  # temporary root named by ORTHO_TRACE_DEBUG_PATH. Without it the same
  # program has no names; with it, names and file:line.
  need_binutils
  id=$(readelf -n "$workload" | awk '/Build ID:/ { print $3 }')
  [ -n "$id" ] || fail "the workload has no build id"
  mkdir -p "$tmp/debug/.build-id/${id:0:2}"
  objcopy --only-keep-debug "$workload" "$tmp/debug/.build-id/${id:0:2}/${id:2}.debug"
  strip --strip-all -o "$tmp/stripped" "$workload"
  db=$tmp/without.db
  out=$(ORTHO_TRACE_DB=$db traced "$tmp/stripped" counts)
  wait_ended "$db"
  expect_eq "leaks at leak_site_one without the debug root" "$(q "$db" "select count(*) from leaks where function='leak_site_one'")" 0
  db=$tmp/with.db
  out=$(ORTHO_TRACE_DEBUG_PATH="relative/ignored:$tmp/debug" ORTHO_TRACE_DB=$db traced "$tmp/stripped" counts)
  expect_eq "program output" "$out" "counts done"
  wait_ended "$db"
  expect_eq "leaks at leak_site_one" "$(q "$db" "select count(*)||'|'||sum(requested_size) from leaks where function='leak_site_one'")" "10|90010"
  expect_eq "leak site file:line" "$(q "$db" "select distinct file like '%trace_workload.c' and line > 0 from leaks where function='leak_site_one'")" 1
  ;;
a_stripped_program_is_named_from_its_debug_file_found_by_debuglink)
  # The objcopy --add-gnu-debuglink layout: the debug file named in the
  # program, beside it, then in its .debug/ subdirectory. A file of that
  # name from another build (same symbols, another build id) is refused.
  need_binutils
  dir=$(cd "$tmp" && pwd -P)
  objcopy --only-keep-debug "$workload" "$dir/prog.debug"
  strip --strip-all -o "$dir/prog" "$workload"
  (cd "$dir" && objcopy --add-gnu-debuglink=prog.debug prog)
  leaks_at_site_one() {
    local db=$1
    wait_ended "$db"
    q "$db" "select count(*)||'|'||coalesce(sum(requested_size),0)||'|'||count(distinct file like '%trace_workload.c' and line > 0) from leaks where function='leak_site_one'"
  }
  out=$(ORTHO_TRACE_DB=$dir/beside.db traced "$dir/prog" counts)
  expect_eq "program output" "$out" "counts done"
  expect_eq "leak_site_one, debug file beside the program" "$(leaks_at_site_one "$dir/beside.db")" "10|90010|1"
  mkdir "$dir/.debug"
  mv "$dir/prog.debug" "$dir/.debug/prog.debug"
  out=$(ORTHO_TRACE_DB=$dir/subdir.db traced "$dir/prog" counts)
  expect_eq "leak_site_one, debug file in .debug/" "$(leaks_at_site_one "$dir/subdir.db")" "10|90010|1"
  # The decoy: the same debug file with its build id changed.
  id=$(readelf -n "$workload" | awk '/Build ID:/ { print $3 }')
  [ -n "$id" ] || fail "the workload has no build id"
  python3 - "$dir/.debug/prog.debug" "$id" <<'PY'
import sys
path, hexid = sys.argv[1], bytes.fromhex(sys.argv[2])
data = open(path, 'rb').read()
assert data.count(hexid) == 1, 'the build id is not found once in the debug file'
open(path, 'wb').write(data.replace(hexid, bytes(b ^ 0xff for b in hexid)))
PY
  out=$(ORTHO_TRACE_DB=$dir/decoy.db traced "$dir/prog" counts)
  expect_eq "program output with the decoy" "$out" "counts done"
  expect_eq "leak_site_one with another build's debug file" "$(leaks_at_site_one "$dir/decoy.db")" "0|0|0"
  ;;
a_plugin_opened_by_a_relative_path_is_named)
  # dlopen("./libplugin.so") from the plugin's own directory: the loader
  # knows it only by that relative name. A stripped copy, so its exported
  # functions are named from .dynsym alone.
  [ -n "${IT_PLUGIN:-}" ] || fail "IT_PLUGIN (the plugin library) is not set"
  need_binutils
  dir=$(cd "$tmp" && pwd -P)
  strip --strip-all -o "$dir/libplugin.so" "$IT_PLUGIN"
  db=$dir/run.db
  out=$(cd "$dir" && ORTHO_TRACE_DB=$db traced "$workload" plugin ./libplugin.so)
  expect_eq "program output" "$out" "plugin done"
  wait_ended "$db"
  expect_eq "the plugin's module row" "$(q "$db" "select path from modules where path like '%libplugin.so'")" "$dir/libplugin.so"
  expect_eq "leaks made in the plugin" "$(q "$db" "select count(*)||'|'||sum(requested_size) from leaks where function='plugin_make_greeting'")" "6|384"
  expect_eq "their frames' module" "$(q "$db" "select distinct f.module from leaks l join frames f using (process_id, stack_id) where f.level = 0 and l.function='plugin_make_greeting'")" "$dir/libplugin.so"
  ;;
a_cxx_programs_functions_are_named_demangled)
  # The collector loads libstdc++'s demangler only when it meets a C++
  # name (symmodule.c): a C++ program's own functions (its templates and
  # anonymous-namespace code, in .symtab as _Z names) must still read as
  # C++ in its frames, and none as the mangled name.
  [ -n "${IT_CXX_PROGRAM:-}" ] || fail "IT_CXX_PROGRAM (the program) is not set"
  db=$tmp/cxx.db
  "$ortho_run" -o "$db" --lib "$lib" -- "$IT_CXX_PROGRAM" >/dev/null 2>"$tmp/err" ||
    fail "the C++ program failed under ortho-run: $(cat "$tmp/err")"
  expect_eq "the program's frames named by a mangled name" "$(q "$db" "select count(*) from frames where function like '\_Z%' escape '\' and module like '%it_cxx_program'")" 0
  expect_eq "the program has frames named as C++" "$(q "$db" "select count(*) > 0 from frames where function like '%::%(%' and module like '%it_cxx_program'")" 1
  ;;
cache_pool_and_carved_counts_match_the_allocators_own_after_cross_thread_frees)
  # Three producer threads hand 40,000 messages each to three consumers;
  # blocks go round through the consumers' caches and the central pool.
  # The program prints the allocator's own count per class once all
  # threads are joined, then leaves without another allocation: the
  # trace's final gauges must be the same numbers. Live blocks may be
  # fewer in the trace: blocks allocated before tracing began (the
  # dynamic loader's) are live to the allocator but never seen.
  cache_counts 0
  ;;
every_free_finds_its_allocation_when_two_threads_reuse_the_same_blocks)
  # Two threads pass 96 blocks of class B8K back and forth, each freeing
  # the batch it gets and allocating the next from what it just freed or
  # what the other gave the central pool. Times between two reads of a
  # thread's clock are interpolated, and the two threads' clocks never
  # agree exactly. Still, with one row per allocation: every allocation
  # of an address has a time of its own (else a free can take the wrong
  # one), every free comes after its allocation, and each block is freed
  # by the thread it was handed to (all but the first batch, which the
  # main thread allocates and then frees in round 0). Both clock
  # settings, the same result.
  pingpong_identity 2 10000
  ;;
every_free_finds_its_allocation_when_sixteen_threads_pass_blocks_round_a_ring)
  # The same with 16 threads, more than the machine has cores, each
  # handing its batch to the next: a thread has mostly been asleep since
  # its last turn, so its window clock's guess trails, and the blocks'
  # allocation times, adopted at each free and refill, must move it on.
  pingpong_identity 16 4000
  ;;
cache_counts_of_a_parent_stay_its_own_while_it_forks)
  # The same, while main forks 20 children that leave at once: each
  # child's allocator retires the parent's other threads' caches, and the
  # drains it records went to the parent's ring (still mapped, shared)
  # before tracing was off in the child.
  cache_counts 20
  ;;
every_call_a_program_counts_itself_is_in_the_database_exactly)
  # call_counts.c calls malloc, calloc, realloc (of NULL, to 0, to a new
  # size, counted apart by whether the block moved), posix_memalign,
  # aligned_alloc, memalign, valloc, pvalloc, ortho_alloc,
  # ortho_alloc_aligned, operator new, and free, ortho_free and operator
  # delete, and prints how often it made each call and the bytes each kind
  # asked for. Traced
  # through ortho-run (which returns once the database is complete), the
  # database must hold exactly those calls: an allocation for every call
  # that returned a block, a realloc to a new size counted as one
  # allocation and one free whether or not it moved, a free for every free
  # of a block and every realloc to 0, and nothing for free(NULL); and
  # alloc_calls must split them by entry point exactly as the program
  # counted them (the five aligned calls are one entry, aligned, and the
  # two ortho_alloc calls one, ortho_api), in calls
  # and in bytes, adding up to class_stats.allocs in every class. Sizes
  # reach the large path.
  [ -n "${IT_CALL_COUNTS:-}" ] || fail "IT_CALL_COUNTS (the program) is not set"
  db=$tmp/calls.db
  "$ortho_run" -o "$db" --lib "$lib" -- "$IT_CALL_COUNTS" 200000 >"$tmp/truth" 2>"$tmp/err"
  declare -A n
  for field in $(cat "$tmp/truth"); do n[${field%%=*}]=${field#*=}; done
  [ -n "${n[malloc]:-}" ] && [ -n "${n[requested]:-}" ] || fail "no counts from the program: $(cat "$tmp/truth" "$tmp/err")"
  aligned_kinds="posix_memalign aligned_alloc memalign valloc pvalloc"
  for kind in malloc calloc realloc_null $aligned_kinds realloc_in_place realloc_moved realloc_zero free_null \
    ortho_alloc ortho_alloc_aligned new; do
    [ "${n[$kind]}" -gt 0 ] || fail "the program made no $kind call: the test would prove nothing"
  done
  reallocs=$((n[realloc_in_place] + n[realloc_moved]))
  aligned=0 aligned_bytes=0
  for kind in $aligned_kinds; do
    aligned=$((aligned + n[$kind])) aligned_bytes=$((aligned_bytes + n[bytes_$kind]))
  done
  api=$((n[ortho_alloc] + n[ortho_alloc_aligned]))
  api_bytes=$((n[bytes_ortho_alloc] + n[bytes_ortho_alloc_aligned]))
  allocs=$((n[malloc] + n[calloc] + n[realloc_null] + aligned + reallocs + api + n[new]))
  frees=$((n[free] + n[realloc_zero] + reallocs))
  # Per entry point, in the order SQL sorts the names: calls/bytes.
  split="aligned=$aligned/$aligned_bytes"
  for kind in calloc malloc new; do
    split="$split $kind=${n[$kind]}/${n[bytes_$kind]}"
  done
  split="$split ortho_api=$api/$api_bytes"
  for kind in realloc_in_place realloc_moved realloc_null; do
    split="$split $kind=${n[$kind]}/${n[bytes_$kind]}"
  done
  expect_eq "allocations by entry point (calls/bytes)" "$(q "$db" "select group_concat(call||'='||n||'/'||b, ' ')
      from (select call, sum(allocs) n, sum(requested_bytes) b from alloc_calls group by call order by call)")" "$split"
  expect_eq "classes whose calls do not add up to their allocations" "$(q "$db" "select count(*) from class_stats s
      where allocs <> (select coalesce(sum(a.allocs), 0) from alloc_calls a
                       where a.process_id = s.process_id and a.class_id = s.class_id)")" 0
  expect_eq "call_totals names every row's class" "$(q "$db" "select count(*), count(class_name) from call_totals")" \
    "$(q "$db" "select count(*), count(*) from alloc_calls")"
  expect_eq "in-place reallocs, both ways" "$(q "$db" "select sum(allocs) from alloc_calls where call = 'realloc_in_place'")" \
    "$(q "$db" "select sum(reallocs_in_place) from class_stats")"
  expect_eq "processes, all ended" "$(q "$db" "select count(*), count(end_ns) from processes")" "1|1"
  expect_eq "allocations" "$(q "$db" "select sum(allocs) from class_totals")" "$allocs"
  expect_eq "frees" "$(q "$db" "select sum(frees) from class_totals")" "$frees"
  expect_eq "reallocs in place" "$(q "$db" "select sum(reallocs_in_place) from class_stats")" "${n[realloc_in_place]}"
  expect_eq "bytes requested" "$(q "$db" "select sum(requested_bytes) from class_totals")" "${n[requested]}"
  expect_eq "live at exit" "$(q "$db" "select count(*) from live_allocations")" "${n[live]}"
  expect_eq "allocations by the program's one thread" "$(q "$db" "select sum(allocs) from threads")" "$allocs"
  expect_eq "frees of blocks never seen, dropped, lost" "$(q "$db" "select untracked_frees, dropped_records, lost_no_slot from processes")" "0|0|0"
  ;;
a_traced_process_the_command_leaves_running_is_complete_when_ortho_run_returns)
  # The command (a traced shell) exits at once and leaves a child that
  # starts a traced program 0.3 s later. ortho-run tells the collector
  # when only collectors are left of its tree, so the collector exits
  # without lingering; it must not do so while the child still runs:
  # when ortho-run returns, the late program is in the database, ended.
  [ -n "${IT_CALL_COUNTS:-}" ] || fail "IT_CALL_COUNTS (the program) is not set"
  db=$tmp/late.db
  "$ortho_run" -o "$db" --lib "$lib" -- sh -c '(sleep 0.3; exec "$1" 1000 >"$2") </dev/null 2>&1 &' \
    sh "$IT_CALL_COUNTS" "$tmp/late.out" 2>"$tmp/err"
  [ -s "$tmp/late.out" ] || fail "ortho-run returned before the late program ran"
  expect_eq "the late program's image, ended" "$(q "$db" "select count(*) from processes
      where cmdline like '%it_call_counts 1000%' and end_ns is not null")" 1
  expect_eq "images still running" "$(q "$db" "select count(*) from processes where end_ns is null")" 0
  malloc=$(sed -n 's/^malloc=\([0-9]*\) .*/\1/p' "$tmp/late.out")
  [ "${malloc:-0}" -gt 0 ] || fail "no counts from the late program: $(cat "$tmp/late.out")"
  ;;
counts_in_the_fixture_databases_are_never_negative_and_add_up)
  # Every database the viewer tests read (tests/integration/make_fixtures.sh):
  # no gauge below zero, at the end or in any row of the series, and at the
  # end cached + pooled + live never more than carved (less only by blocks
  # live since before tracing began).
  [ -n "${IT_FIXTURE_DIR:-}" ] || fail "IT_FIXTURE_DIR (the fixture databases) is not set"
  count=0
  for db in "$IT_FIXTURE_DIR"/*.db; do
    [ -f "$db" ] || continue
    count=$((count + 1))
    name=$(basename "$db")
    expect_eq "$name: class_stats rows with a negative count" "$(q "$db" "select count(*) from class_stats
        where cached_blocks < 0 or pooled_blocks < 0 or live_blocks < 0")" 0
    expect_eq "$name: class_series rows with a negative count" "$(q "$db" "select count(*) from class_series
        where cached_blocks < 0 or pooled_blocks < 0 or live_blocks < 0")" 0
    expect_eq "$name: classes holding more blocks than were carved" "$(q "$db" "select group_concat(process_id||':'||class_id)
        from class_stats where class_id < 12 and cached_blocks + pooled_blocks + live_blocks > carved_blocks")" ""
  done
  [ "$count" -ge 3 ] || fail "only $count fixture databases in $IT_FIXTURE_DIR"
  ;;
*)
  fail "unknown case"
  ;;
esac
