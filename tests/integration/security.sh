#!/usr/bin/env bash
# security.sh - tracing must not open a hole (issue 14): each case plays
# what a hostile local user, a setuid program or a buggy traced process
# does, against the real library, collector and database. Run as root (as
# CI does), the cases drop to an unprivileged user they create if missing
# (orthotope-test) for everything that user would do; the two cases that
# need root itself (a setuid program, a second user) skip otherwise, and
# the others then run as the calling user.
# Usage: security.sh CASE LIB PROBE SETUID_HELPER WORKLOAD ORTHO_RUN COLLECTOR
set -euo pipefail
case_name=$1 lib=$2 probe=$3 setuid_helper=$4 workload=$5 ortho_run=$6 collector=$7
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL ($case_name): $*" >&2; exit 1; }
skip() { echo "SKIP ($case_name): $*"; exit 77; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; echo "ok: $1 = $3"; }
# q DB SQL: one value (or rows joined by |); readers wait for a closing writer.
q() { sqlite3 -batch -noheader -cmd '.timeout 5000' -separator '|' "$1" "$2"; }
now() { date +%s.%N; }

# ---- who plays the other side ---------------------------------------------
test_user=orthotope-test
is_root=false
[ "$(id -u)" = 0 ] && is_root=true
if $is_root; then
  if ! id -u "$test_user" >/dev/null 2>&1; then
    # Two test runs may race to create it: either one's success will do.
    useradd --system --no-create-home --shell /usr/sbin/nologin "$test_user" 2>/dev/null || true
    id -u "$test_user" >/dev/null 2>&1 || skip "cannot create the unprivileged user $test_user (useradd failed)"
  fi
  user_uid=$(id -u "$test_user")
  user_gid=$(id -g "$test_user")
  as_user() { setpriv --reuid="$user_uid" --regid="$user_gid" --clear-groups "$@"; }
  as_user test -x "$probe" -a -r "$lib" -a -x "$workload" ||
    skip "the build tree is not readable by the unprivileged user $test_user; build in a directory every user can read"
else
  user_uid=$(id -u)
  as_user() { "$@"; }
fi
need_root() { $is_root || skip "needs root: it $1"; }

# A directory the unprivileged user owns.
work=$tmp/work
mkdir "$work"
$is_root && chown "$user_uid:$user_gid" "$work"

# Runs PROBE sizes traced as the user in the background, output in
# $work/NAME.out/.err; sets victim_pid (the probe's) and victim_sock.
# Extra environment first: start_victim NAME DB SIZE COUNT PAUSE_MS [VAR=VALUE...]
start_victim() {
  local name=$1 db=$2 size=$3 count=$4 pause=$5
  shift 5
  as_user env "$@" ORTHO_TRACE=1 ORTHO_TRACE_DB="$db" LD_PRELOAD="$lib" \
    "$probe" sizes "$size" "$count" "$pause" >"$work/$name.out" 2>"$work/$name.err" &
  victim_job=$!
  pids+=("$victim_job")
  await_sock "$work/$name.out"
}

# Waits for the "sock NAME pid PID" line of a sizes probe's output file.
await_sock() {
  for _ in $(seq 1 200); do
    if line=$(grep -m1 '^sock ' "$1" 2>/dev/null); then
      victim_sock=$(echo "$line" | cut -d' ' -f2)
      victim_pid=$(echo "$line" | cut -d' ' -f4)
      [ "$victim_sock" != - ] || fail "the victim is not traced: $(cat "${1%.out}.err")"
      return 0
    fi
    sleep 0.05
  done
  fail "the victim never started: $(cat "${1%.out}.err" 2>/dev/null)"
}

# Waits until every process of DB has ended (names written, end_ns set).
wait_ended() {
  for _ in $(seq 1 200); do
    if [ "$(q "$1" "select count(*) from processes where end_ns is null" 2>/dev/null || echo x)" = 0 ] &&
       [ "$(q "$1" "select count(*) from processes" 2>/dev/null || echo 0)" != 0 ]; then
      return 0
    fi
    sleep 0.05
  done
  fail "the processes in $1 never ended"
}

# The number of allocations of exactly SIZE bytes in DB.
allocs_of() { q "$1" "select coalesce(sum(allocs), 0) from size_histogram where requested_size = $2"; }

case $case_name in
a_setuid_program_ignores_every_orthotope_variable)
  need_root "installs a setuid-root program"
  suid=$tmp/suid
  mkdir "$suid"
  cp "$setuid_helper" "$suid/helper"
  chown root:root "$suid/helper"
  chmod 4755 "$suid/helper"
  got=$(as_user "$suid/helper")
  [ "$got" = "euid 0" ] || skip "a setuid program does not gain root here (a nosuid mount or no_new_privs): $got"
  # The "collector" only leaves a mark: any run of it is the hole.
  printf '#!/bin/sh\necho ran > "%s/ran"\n' "$work" >"$work/collector.sh"
  chmod 755 "$work/collector.sh"
  status=0
  out=$(as_user env ORTHO_TRACE=1 ORTHO_TRACE_COLLECTOR="$work/collector.sh" \
        ORTHO_TRACE_DB="$work/trace.db" "$suid/helper" 2>"$work/err") || status=$?
  expect_eq "exit status" "$status" 0
  expect_eq "output" "$out" "euid 0"
  [ ! -e "$work/ran" ] || fail "the program ran ORTHO_TRACE_COLLECTOR as root"
  [ ! -e "$work/trace.db" ] || fail "a trace database was written"
  echo "ok: no collector run, no database"
  expect_eq "lines on stderr" "$(wc -l <"$work/err")" 1
  grep -q "ignoring ORTHO_TRACE, ORTHO_TRACE_DB, ORTHO_TRACE_COLLECTOR: .*secure execution" "$work/err" ||
    fail "the line does not name what was ignored and why: $(cat "$work/err")"
  # The allocator's own settings do not apply either: the double free aborts.
  status=0
  out=$(as_user env ORTHO_ON_CORRUPTION=report "$suid/helper" double-free 2>"$work/err") || status=$?
  expect_eq "double free under ORTHO_ON_CORRUPTION=report: exit status" "$status" 134
  [[ $out != *survived* ]] || fail "ORTHO_ON_CORRUPTION=report kept a setuid program running"
  grep -q "ignoring ORTHO_ON_CORRUPTION" "$work/err" || fail "no line about the ignored variable: $(cat "$work/err")"
  ;;

another_users_connections_are_refused_and_the_traced_program_runs_as_fast)
  need_root "runs the traced program as root and the attacker as a second user"
  # A lossless root program with a small ring: any stall of the collector
  # stalls it. Its run time alone, then with eight connections from another
  # user held open (and reopened) the whole time.
  victim() {
    ORTHO_TRACE=1 ORTHO_TRACE_DB="$1" ORTHO_TRACE_RING_SIZE=4K LD_PRELOAD="$lib" \
      "$probe" sizes 4747 200000 1500 >"$tmp/$2.out" 2>"$tmp/$2.err" &
    victim_job=$!
    pids+=("$victim_job")
  }
  t0=$(now)
  victim "$tmp/alone.db" alone
  wait "$victim_job"
  alone=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
  t0=$(now)
  victim "$tmp/attacked.db" attacked
  await_sock "$tmp/attacked.out"
  as_user "$probe" idle "$victim_sock" 8 8 >"$work/idle.out" &
  attacker=$!
  pids+=("$attacker")
  wait "$victim_job" || fail "the traced program failed: $(cat "$tmp/attacked.err")"
  attacked=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
  wait "$attacker"
  echo "run time alone ${alone}s, with the other user's connections ${attacked}s; $(cat "$work/idle.out")"
  awk -v a="$alone" -v b="$attacked" 'BEGIN { exit !(b < 2 * a + 1) }' ||
    fail "the other user's idle connections stalled the program: ${attacked}s against ${alone}s alone"
  closed=$(sed -n 's/.* \([0-9]*\) closed by the collector/\1/p' "$work/idle.out")
  [ "${closed:-0}" -ge 8 ] || fail "the collector did not close the other user's connections: $(cat "$work/idle.out")"
  wait_ended "$tmp/attacked.db"
  expect_eq "every allocation recorded" "$(allocs_of "$tmp/attacked.db" 4747)" 200000
  expect_eq "refusals in trace_health" "$(q "$tmp/attacked.db" "select problem || '|' || (problem_count >= 8) || '|' || (problem_detail like 'uid $user_uid:%') from trace_health where process_id is null")" "other_user|1|1"
  expect_eq "lines about them" "$(grep -c 'refused a connection' "$tmp/attacked.err")" 1
  grep -q "refused a connection from process [0-9]* (uid $user_uid): it runs as another user" "$tmp/attacked.err" ||
    fail "the line does not say who was refused and why: $(cat "$tmp/attacked.err")"
  ;;

a_program_never_hands_its_segment_to_another_users_listener)
  need_root "runs the traced program as root and the fake collector as a second user"
  # Abstract names are anyone's: the user listens under a name, and a root
  # program is pointed at it (an inherited or guessed ORTHO_TRACE_SOCK).
  name=orthotope-fake-$$-$RANDOM
  as_user "$probe" listen "$name" 3 >"$work/listener.out" &
  listener=$!
  pids+=("$listener")
  for _ in $(seq 1 100); do grep -q "@$name" /proc/net/unix && break; sleep 0.02; done
  out=$(ORTHO_TRACE=1 ORTHO_TRACE_SOCK="$name" LD_PRELOAD="$lib" "$workload" counts 2>"$tmp/err")
  expect_eq "output" "$out" "counts done"
  wait "$listener"
  expect_eq "what the other user's listener got" "$(cat "$work/listener.out")" "listener: 1 connections, 0 segments received"
  expect_eq "lines" "$(wc -l <"$tmp/err")" 1
  grep -q "cannot reach the trace collector at @$name (Operation not permitted)" "$tmp/err" ||
    fail "the line does not say why: $(cat "$tmp/err")"
  ;;

idle_and_forged_connections_never_stall_or_end_a_traced_program)
  # All as one user: the collector's own user may still not freeze it or
  # end another process's image by naming that process.
  db=$work/run.db
  start_victim victim "$db" 4747 200000 2500 ORTHO_TRACE_RING_SIZE=4K
  as_user "$probe" idle "$victim_sock" 4 4 >"$work/idle.out" &
  idler=$!
  pids+=("$idler")
  expect_eq "a registration in the traced program's name" \
    "$(as_user "$probe" register "$victim_sock" --pid "$victim_pid" --via exec)" refused
  # Lossless with a 4K ring: if its image were ended it would wait forever.
  status=0
  timeout 40 tail --pid="$victim_job" -f /dev/null || status=$?
  [ "$status" = 0 ] || fail "the traced program hung after a forged registration in its name"
  wait "$victim_job" || fail "the traced program failed: $(cat "$work/victim.err")"
  wait "$idler"
  grep -q "sizes done" "$work/victim.out" || fail "output: $(cat "$work/victim.out")"
  closed=$(sed -n 's/.* \([0-9]*\) closed by the collector/\1/p' "$work/idle.out")
  [ "${closed:-0}" -ge 4 ] || fail "the idle connections were not closed at their deadline: $(cat "$work/idle.out")"
  echo "ok: $(cat "$work/idle.out")"
  wait_ended "$db"
  expect_eq "every allocation recorded" "$(allocs_of "$db" 4747)" 200000
  expect_eq "one image, ended by its exit" "$(q "$db" "select count(*) || '|' || min(end_reason) from processes")" "1|exit"
  expect_eq "the forged registration in trace_health" "$(q "$db" "select problem_count || '|' || problem_detail from trace_health where problem = 'forged_pid'")" \
    "1|uid $user_uid: it registered in the name of process $victim_pid"
  [ "$(q "$db" "select problem_count from trace_health where problem = 'silent_connection'")" -ge 4 ] ||
    fail "the idle connections are not in trace_health: $(q "$db" "select * from trace_health")"
  echo "ok: silent connections counted"
  ;;

a_segment_that_could_shrink_is_refused_and_a_sealed_one_cannot_shrink)
  db=$work/run.db
  start_victim victim "$db" 4747 20000 2000
  # Refused before it is mapped: shrinking it afterwards touches nothing.
  expect_eq "an unsealed segment, then shrunk" \
    "$(as_user "$probe" register "$victim_sock" --unsealed --shrink --hold 1 | tr '\n' ' ')" "refused shrunk "

  got=$(as_user "$probe" register "$victim_sock" --shrink --hold 1)
  [[ $got == "ack "*$'\n'"shrink refused" ]] || fail "a sealed segment: $got"
  echo "ok: the library's kind of segment registers and cannot shrink"
  wait "$victim_job" || fail "the traced program failed: $(cat "$work/victim.err")"
  ! grep -q "tracing stopped" "$work/victim.err" || fail "the collector died: $(cat "$work/victim.err")"
  wait_ended "$db"
  expect_eq "every allocation recorded" "$(allocs_of "$db" 4747)" 20000
  expect_eq "the refusal in trace_health" "$(q "$db" "select problem_count from trace_health where problem = 'unsealed_segment'")" 1
  ;;

a_gone_process_whose_segment_names_no_program_is_stored_without_a_name)
  # A process may be gone before the collector reads its registration;
  # its row then takes the program and arguments from its segment - only
  # fields that end in a NUL. The probe (untraced itself, LD_PRELOAD
  # emptied) sends a segment whose two fields are bytes without one and
  # leaves while the tree's collector is stopped.
  db=$work/run.db
  as_user "$ortho_run" -o "$db" -- "$BASH" -c '
    for p in /proc/[0-9]*; do
      read -r _ comm _ ppid _ < "$p/stat" 2>/dev/null || continue
      [ "$comm" = "(ortho-collector)" ] && [ "$ppid" = "$PPID" ] && c=${p#/proc/}
    done
    [ -n "${c:-}" ] || { echo "no collector of this tree"; exit 1; }
    kill -STOP "$c"
    LD_PRELOAD= "$0" register "$ORTHO_TRACE_SOCK" --unterminated --no-answer
    kill -CONT "$c"' "$probe" >"$work/out" 2>"$work/err" || fail "ortho-run failed: $(cat "$work/out" "$work/err")"
  expect_eq "the probe sent its segment" "$(cat "$work/out")" "sent"
  expect_eq "its row: no program, no arguments" "$(q "$db" "select count(*) || '|' || coalesce(max(exe), '-') || '|' || coalesce(max(cmdline), '-') from processes where via = 'exec'")" "1|-|-"
  expect_eq "every image ended" "$(q "$db" "select count(*) from processes where end_ns is null")" 0
  expect_eq "nothing refused" "$(q "$db" "select count(*) from health_events")" 0
  ;;
a_segment_added_for_more_threads_must_follow_its_own_running_image)
  # A traced process may add segments (more threads than slots), each only
  # as the next index of its own running image, with that image's start.
  db=$work/run.db
  got=$(as_user env ORTHO_TRACE=1 ORTHO_TRACE_DB="$db" LD_PRELOAD="$lib" "$probe" extend)
  # another start time, index 3 of 1, the right one, index 1 again
  [[ $got =~ ^refused\ refused\ ack\ [0-9]+\ refused$ ]] || fail "its four added segments: $got"
  echo "ok: $got"
  wait_ended "$db"
  expect_eq "its image ended cleanly with the slots added" \
    "$(q "$db" "select end_reason || '|' || trace_slots from processes")" "exit|$((4 + 4))"
  expect_eq "the refusals in trace_health" \
    "$(q "$db" "select problem_count || '|' || problem_detail from trace_health where problem = 'bad_segment'")" \
    "3|uid $user_uid: its added trace segment does not follow its image's segments"
  # A process with no image of its own adds nothing to another's.
  db=$work/other.db
  start_victim victim "$db" 4747 20000 1000
  expect_eq "an untraced process adding a segment" \
    "$(as_user env ORTHO_TRACE_SOCK="$victim_sock" "$probe" extend)" refused
  wait "$victim_job" || fail "the traced program failed: $(cat "$work/victim.err")"
  wait_ended "$db"
  expect_eq "every allocation recorded" "$(allocs_of "$db" 4747)" 20000
  expect_eq "the refusal in trace_health" \
    "$(q "$db" "select problem_count || '|' || problem_detail from trace_health where problem = 'bad_segment'")" \
    "1|uid $user_uid: it added a trace segment to no running traced image of its pid"
  ;;

a_scribbled_segment_is_abandoned_and_the_other_processes_keep_exact_counts)
  # One tree, one collector: four processes overwrite their own segment
  # (the geometry and identity line, the whole header with fixed random
  # bytes, another thread's ring header, only that ring's state) while two
  # others allocate known counts before and after them.
  db=$work/run.db
  status=0
  (cd "$work" && as_user "$ortho_run" -o "$db" -- sh -c "
     '$probe' sizes 6001 100 1500 &
     '$probe' scribble identity 5001 50 &
     '$probe' scribble header 5002 50 &
     '$probe' scribble ring 5003 50 &
     '$probe' scribble free 5004 50 &
     '$probe' sizes 6002 77 1500
     wait") >"$work/out" 2>"$work/err" || status=$?
  expect_eq "ortho-run exit status" "$status" 0
  expect_eq "scribblers done" "$(grep -c '^scribbled' "$work/out")" 4
  expect_eq "6001-byte allocations" "$(allocs_of "$db" 6001)" 100
  expect_eq "6002-byte allocations" "$(allocs_of "$db" 6002)" 77
  expect_eq "abandoned images" "$(q "$db" "select count(*) from processes where end_reason = 'abandoned'")" 4
  expect_eq "damage in trace_health" "$(q "$db" "select count(*) from trace_health where problem = 'segment_overwritten' and process_id is not null")" 4
  expect_eq "the other images ended normally" "$(q "$db" "select count(*) from processes p join size_histogram h using (process_id) where h.requested_size in (6001, 6002) and p.end_reason = 'exit'")" 2
  expect_eq "lines about the damage" "$(grep -c 'overwrote its own trace segment' "$work/err")" 4
  ;;

links_at_the_database_path_are_refused_and_nothing_is_created_or_overwritten)
  need_root "traces as root into a directory another user can write"
  shared=$tmp/shared   # like /tmp: every user writes, sticky
  private=$tmp/private # root's
  mkdir -m 1777 "$shared"
  mkdir -m 700 "$private"
  : >"$private/empty"
  as_user ln -s "$private/created.db" "$shared/dangling.db"
  as_user ln -s "$private/empty" "$shared/empty.db"
  as_user touch "$shared/side.db-wal"
  for name in dangling empty side; do
    out=$(ORTHO_TRACE=1 ORTHO_TRACE_DB="$shared/$name.db" LD_PRELOAD="$lib" "$workload" counts 2>"$tmp/$name.err")
    expect_eq "output ($name)" "$out" "counts done"
    expect_eq "lines ($name)" "$(wc -l <"$tmp/$name.err")" 1
  done
  grep -q "dangling.db is a symbolic link" "$tmp/dangling.err" || fail "dangling: $(cat "$tmp/dangling.err")"
  grep -q "empty.db is a symbolic link" "$tmp/empty.err" || fail "empty: $(cat "$tmp/empty.err")"
  grep -q "side.db-wal belongs to uid $user_uid" "$tmp/side.err" || fail "side file: $(cat "$tmp/side.err")"
  sleep 0.3 # a collector that had followed a link would have written by now
  [ ! -e "$private/created.db" ] || fail "the link's target was created"
  expect_eq "the empty file behind a link" "$(stat -c %s "$private/empty")" 0
  [ ! -e "$shared/side.db" ] || fail "a database was made beside another user's -wal"
  expect_eq "the links are untouched" "$(readlink "$shared/dangling.db")|$(readlink "$shared/empty.db")" \
    "$private/created.db|$private/empty"
  open=$tmp/open # every user writes, not sticky: names can be swapped
  mkdir -m 777 "$open"
  chmod 777 "$open"
  out=$(ORTHO_TRACE=1 ORTHO_TRACE_DB="$open/run.db" LD_PRELOAD="$lib" "$workload" counts 2>"$tmp/open.err")
  expect_eq "output (open directory)" "$out" "counts done"
  grep -q "writable by every user and not sticky" "$tmp/open.err" || fail "open directory: $(cat "$tmp/open.err")"
  [ ! -e "$open/run.db" ] || fail "a database was made in a directory anyone can swap names in"
  ;;

the_database_and_its_side_files_are_private)
  db=$work/run.db
  start_victim victim "$db" 4747 1000 1500
  modes=$(stat -c %a "$db" "$db-wal" "$db-shm" | tr '\n' ' ')
  expect_eq "modes of the database, -wal and -shm while written (umask $(umask))" "$modes" "600 600 600 "
  wait "$victim_job"
  wait_ended "$db"
  # Let that collector close the database (it holds a lock until then).
  for _ in $(seq 1 100); do [ -e "$db-wal" ] || break; sleep 0.05; done
  expect_eq "mode after the run" "$(stat -c %a "$db")" 600
  # A trace left readable by an older version is narrowed when moved aside.
  chmod 644 "$db"
  out=$(as_user sh -c "umask 022; ORTHO_TRACE=1 ORTHO_TRACE_DB='$db' LD_PRELOAD='$lib' exec '$workload' counts")
  expect_eq "second run" "$out" "counts done"
  wait_ended "$db"
  expect_eq "modes of the database and the previous one" "$(stat -c %a "$db" "$db.old" | tr '\n' ' ')" "600 600 "
  ;;

a_collector_or_ortho_run_with_the_library_preloaded_is_never_traced)
  # A collector "wrapper" that preloads the library and asks for tracing,
  # as /etc/ld.so.preload or a site wrapper would: each start is counted,
  # and a chain is cut at 5.
  cat >"$work/collector.sh" <<EOF
#!/bin/sh
echo start >>"$work/starts"
[ \$(wc -l <"$work/starts") -le 5 ] || exit 9
LD_PRELOAD='$lib' ORTHO_TRACE=1 ORTHO_TRACE_COLLECTOR='$work/collector.sh' ORTHO_TRACE_DB='$work/inner.db' \\
  exec '$collector' "\$@"
EOF
  chmod 755 "$work/collector.sh"
  out=$(cd "$work" && as_user env ORTHO_TRACE=1 ORTHO_TRACE_DB="$work/run.db" \
        ORTHO_TRACE_COLLECTOR="$work/collector.sh" LD_PRELOAD="$lib" "$workload" counts 2>"$work/err")
  expect_eq "output" "$out" "counts done"
  wait_ended "$work/run.db"
  expect_eq "collectors started" "$(wc -l <"$work/starts")" 1
  expect_eq "stderr" "$(cat "$work/err")" ""
  expect_eq "traced images" "$(q "$work/run.db" "select count(*) from processes")" 1
  [ ! -e "$work/inner.db" ] || fail "the collector traced itself into inner.db"
  # ortho-run with the library preloaded into itself: the command, not
  # ortho-run, starts the collector, for -o.
  mkdir "$work/run"
  $is_root && chown "$user_uid:$user_gid" "$work/run"
  out=$(cd "$work/run" && as_user env ORTHO_TRACE=1 LD_PRELOAD="$lib" "$ortho_run" -o "$work/run/o.db" -- "$workload" counts 2>"$work/run.err")
  expect_eq "ortho-run output" "$out" "counts done"
  expect_eq "images in -o's database" "$(q "$work/run/o.db" "select count(*) || '|' || (min(exe) like '%trace_workload') from processes")" "1|1"
  expect_eq "other databases in the working directory" "$(find "$work/run" -name '*.db' ! -name o.db | wc -l)" 0
  ;;

a_second_collector_never_takes_over_a_live_database)
  db=$work/run.db
  start_victim first "$db" 4747 1000 6000
  t0=$(now)
  out=$(as_user env ORTHO_TRACE=1 ORTHO_TRACE_DB="$db" LD_PRELOAD="$lib" "$probe" sizes 5858 10 0 2>"$work/second.err")
  [[ $out == *"sizes done" ]] || fail "the second program: $out"
  echo "ok: the second program ran untraced after $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')s"
  expect_eq "lines from the second" "$(wc -l <"$work/second.err")" 1
  grep -q "run.db is being written by a running trace collector" "$work/second.err" ||
    fail "the line does not say why: $(cat "$work/second.err")"
  kill -0 "$victim_job" 2>/dev/null || fail "the first program ended before the second was refused: the test proves nothing"
  wait "$victim_job"
  wait_ended "$db"
  [ ! -e "$db.old" ] || fail "the live database was moved aside"
  expect_eq "the first program's trace" "$(q "$db" "select count(*) from processes")|$(allocs_of "$db" 4747)|$(allocs_of "$db" 5858)" "1|1000|0"
  ;;

*)
  fail "unknown case"
  ;;
esac
