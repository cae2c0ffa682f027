#!/usr/bin/env bash
# ortho_run.sh - ortho-run, the launcher, as users meet it. Checks what does
# not depend on a trace database being written: option validation, the
# environment the command sees, where the library is found, exit statuses,
# signals, and the wait for processes the command leaves behind. Most checks
# preload a harmless system library (libm) in place of liborthotope.so, so
# no trace collector starts and nothing here waits on one; one check runs a
# command under the real library and only asks that it exits 0.
# Usage: ortho_run.sh ORTHO_RUN LIBORTHOTOPE [LIBDIR]
# (LIBDIR: CMAKE_INSTALL_LIBDIR, for the installed-layout check; default lib.)
set -euo pipefail

ortho_run=$1 library=$2 libdir=${3:-lib}
unset LD_PRELOAD ORTHO_LIB ORTHO_TRACE ORTHO_TRACE_DB ORTHO_TRACE_SAMPLE ORTHO_TRACE_STACKS \
  ORTHO_TRACE_OVERFLOW

work=$(cd "$(mktemp -d)" && pwd -P) # physical, as ortho-run's getcwd sees it
stray_pids=()                       # processes a failed check may leave running
cleanup() {
  local pid
  for pid in "${stray_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A library every glibc system has, next to the libc that sh uses.
libc=$(ldd /bin/sh | awk '$1 ~ /^libc\.so/ {print $3}')
harmless=$(dirname "$libc")/libm.so.6
[ -f "$harmless" ] || { echo "ortho_run.sh: no libm.so.6 next to $libc" >&2; exit 1; }

what=
check() {
  what=$1
  printf 'ortho_run.sh: %s\n' "$what"
}

fail() {
  {
    printf 'ortho_run.sh: FAIL: %s: %s\n' "$what" "$1"
    printf '  stdout: %s\n' "$(cat "$work/out" 2>/dev/null)"
    printf '  stderr: %s\n' "$(cat "$work/err" 2>/dev/null)"
  } >&2
  exit 1
}

# run [ortho-run arguments...]: runs ortho-run in $work, stdin closed,
# stdout and stderr to files (never a pipe: a leftover process holding a
# pipe would make the shell wait too and hide what ortho-run did).
run() {
  status=0
  (cd "$work" && exec "$ortho_run" "$@") >"$work/out" 2>"$work/err" </dev/null || status=$?
}

expect_status() {
  [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"
}

expect_out() {
  [ "$(cat "$work/out")" = "$1" ] || fail "stdout is not '$1'"
}

# expect_one_error_line REGEX: stderr is exactly one "ortho-run: " line
# matching REGEX (extended).
expect_one_error_line() {
  local lines
  lines=$(wc -l <"$work/err")
  [ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines"
  grep -Eq -- "^ortho-run: .*$1" "$work/err" || fail "stderr does not match '$1'"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# What the command sees, one field per variable.
probe='printf "%s|%s|%s|%s|%s|%s\n" "${LD_PRELOAD-unset}" "${ORTHO_TRACE-unset}" \
  "${ORTHO_TRACE_DB-unset}" "${ORTHO_TRACE_SAMPLE-unset}" "${ORTHO_TRACE_STACKS-unset}" \
  "${ORTHO_TRACE_OVERFLOW-unset}"'

# ---- usage ---------------------------------------------------------------

check "--help prints usage on stdout and exits 0"
run --help
expect_status 0
grep -q '^Usage: ortho-run' "$work/out" || fail "no usage line"

check "--version prints the version"
run --version
expect_status 0
grep -Eq '^ortho-run .*[0-9]+\.[0-9]+\.[0-9]+' "$work/out" || fail "no version"

check "no command is a usage error (2, one line)"
run --lib "$harmless"
expect_status 2
expect_one_error_line "no command given"

check "an unknown option is a usage error"
run --lib "$harmless" --frobnicate -- true
expect_status 2
expect_one_error_line "unknown option --frobnicate"

check "an option without its value is a usage error"
run --lib "$harmless" true --stacks
expect_status 0 # after the command name, --stacks is the command's own argument
run --stacks
expect_status 2
expect_one_error_line "--stacks needs a value"

for bad in "--sample 12q" "--sample -5" "--sample 1.5M" "--sample ''" "--stacks 257" \
  "--stacks abc" "--stacks -1" "--wait soon" "--wait 1e3"; do
  check "garbage is rejected before anything runs: $bad"
  rm -f "$work/ran"
  eval "run --lib \"\$harmless\" $bad -- touch \"\$work/ran\""
  expect_status 2
  expect_one_error_line "${bad%% *}"
  [ ! -e "$work/ran" ] || fail "the command ran"
done

check "-o in a directory that does not exist is a usage error"
run --lib "$harmless" -o "$work/no/such/dir/run.db" -- true
expect_status 2
expect_one_error_line "does not exist"

check "--lib naming no file is a usage error"
run --lib "$work/missing.so" -- true
expect_status 2
expect_one_error_line "no such file"

# ---- exit status ---------------------------------------------------------

check "the command's exit status is ortho-run's (3)"
run --lib "$harmless" -- sh -c 'exit 3'
expect_status 3

check "the command's first non-option starts it without --"
run --lib "$harmless" sh -c 'exit 4'
expect_status 4

check "a command killed by SIGTERM gives 143, by SIGKILL 137"
run --lib "$harmless" -- sh -c 'kill -TERM $$'
expect_status 143
run --lib "$harmless" -- sh -c 'kill -KILL $$'
expect_status 137

check "a command not found gives 127 and one line"
run --lib "$harmless" -- ortho-run-no-such-command
expect_status 127
expect_one_error_line "ortho-run-no-such-command: command not found"
run --lib "$harmless" -- ./no-such-file
expect_status 127
expect_one_error_line "no such file"

check "a file that is not executable gives 126 and one line"
: >"$work/not-executable"
run --lib "$harmless" -- "$work/not-executable"
expect_status 126
expect_one_error_line "cannot run .*not-executable"

# ---- environment ---------------------------------------------------------

check "default environment: the library preloaded, ORTHO_TRACE=1, no database path"
run --lib "$harmless" -- sh -c "$probe"
expect_status 0
expect_out "$harmless|1|unset|unset|unset|unset"

check "each option sets its variable; --sample is exported in bytes"
run --lib "$harmless" --full --sample 64k --stacks 16 --drop -- sh -c "$probe"
expect_out "$harmless|full|unset|65536|16|drop"
run --lib "$harmless" --sample 3M --stacks 0 -- sh -c "$probe"
expect_out "$harmless|1|unset|3145728|0|unset"
run --lib "$harmless" --sample 2g -- sh -c "$probe"
expect_out "$harmless|1|unset|2147483648|unset|unset"

check "-o is made absolute before it is exported"
mkdir -p "$work/sub"
run --lib "$harmless" -o sub/run.db -- sh -c "$probe"
expect_out "$harmless|1|$work/sub/run.db|unset|unset|unset"
run --lib "$harmless" --output="$work/sub/abs.db" -- sh -c "$probe"
expect_out "$harmless|1|$work/sub/abs.db|unset|unset|unset"

check "an existing LD_PRELOAD is kept, after the library"
existing=$(dirname "$libc")/libdl.so.2
[ -f "$existing" ] || existing=$harmless
LD_PRELOAD=$existing run --lib "$harmless" -- sh -c "$probe"
expect_out "$harmless $existing|1|unset|unset|unset|unset"

check "ORTHO_LIB is used when --lib is absent, and --lib wins over it"
cp "$harmless" "$work/from-env.so"
ORTHO_LIB=$work/from-env.so run -- sh -c "$probe"
expect_out "$work/from-env.so|1|unset|unset|unset|unset"
ORTHO_LIB=$work/from-env.so run --lib "$harmless" -- sh -c "$probe"
expect_out "$harmless|1|unset|unset|unset|unset"

# Copies of ortho-run in fake trees, each with libm standing in as the library.
if [ "${libdir#/}" = "$libdir" ]; then
  check "installed layout: P/bin/ortho-run preloads P/$libdir/liborthotope.so"
  mkdir -p "$work/prefix/bin" "$work/prefix/$libdir"
  cp "$ortho_run" "$work/prefix/bin/ortho-run"
  cp "$harmless" "$work/prefix/$libdir/liborthotope.so"
  status=0
  "$work/prefix/bin/ortho-run" -- sh -c "$probe" >"$work/out" 2>"$work/err" || status=$?
  expect_status 0
  expect_out "$work/prefix/$libdir/liborthotope.so|1|unset|unset|unset|unset"
fi

check "build tree: <build>/bin/ortho-run preloads <build>/liballoc/liborthotope.so"
mkdir -p "$work/build/bin" "$work/build/liballoc"
cp "$ortho_run" "$work/build/bin/ortho-run"
cp "$harmless" "$work/build/liballoc/liborthotope.so"
status=0
"$work/build/bin/ortho-run" -- sh -c "$probe" >"$work/out" 2>"$work/err" || status=$?
expect_status 0
expect_out "$work/build/liballoc/liborthotope.so|1|unset|unset|unset|unset"

check "no library anywhere: exit 2 and one line that says to pass --lib"
mkdir -p "$work/bare/bin"
cp "$ortho_run" "$work/bare/bin/ortho-run"
status=0
"$work/bare/bin/ortho-run" -- true >"$work/out" 2>"$work/err" || status=$?
expect_status 2
expect_one_error_line "cannot find liborthotope.so .*pass --lib"

# ---- processes left behind -----------------------------------------------

check "descendants left running are waited for before ortho-run returns"
rm -f "$work/marker"
run --lib "$harmless" -- sh -c '(sleep 1; touch "$1") </dev/null >/dev/null 2>&1 &' sh \
  "$work/marker"
expect_status 0
[ -e "$work/marker" ] || fail "ortho-run returned before the leftover process finished"

check "--wait 1 gives up on a leftover sleep 30 after about 1 s, with one line"
start=$(now_ms)
run --lib "$harmless" --wait 1 -- sh -c 'sleep 30 </dev/null >/dev/null 2>&1 & echo $! >"$1"' \
  sh "$work/sleeper"
elapsed=$(($(now_ms) - start))
stray_pids+=("$(cat "$work/sleeper")")
expect_status 0
expect_one_error_line "1 process still running after waiting 1 s \(pid $(cat "$work/sleeper") sleep\).*--wait"
if [ "$elapsed" -lt 900 ] || [ "$elapsed" -ge 10000 ]; then fail "returned after $elapsed ms"; fi
kill "$(cat "$work/sleeper")"

# ---- signals -------------------------------------------------------------

# check_forwarded SIGNAL STATUS: a signal sent to ortho-run reaches the
# command, which dies of it; ortho-run then exits with STATUS (128+n).
check_forwarded() {
  check "SIG$1 sent to ortho-run is forwarded to the command (exit $2)"
  rm -f "$work/command-pid"
  (cd "$work" && exec "$ortho_run" --lib "$harmless" -- sh -c 'echo $$ >"$1.tmp";
     mv "$1.tmp" "$1"; exec sleep 30' sh "$work/command-pid") \
    >"$work/out" 2>"$work/err" </dev/null &
  local launcher=$! tries=0
  while [ ! -e "$work/command-pid" ] && [ $tries -lt 500 ]; do
    sleep 0.01
    tries=$((tries + 1))
  done
  [ -e "$work/command-pid" ] || fail "the command did not start"
  stray_pids+=("$(cat "$work/command-pid")")
  kill "-$1" "$launcher"
  status=0
  wait "$launcher" || status=$?
  expect_status "$2"
}
check_forwarded TERM 143
check_forwarded HUP 129

# Bits of SigIgn for SIGHUP(1) SIGINT(2) SIGQUIT(3) SIGTERM(15).
ignored_bits() { echo $((0x$(awk '/^SigIgn:/ {print $2}' <<<"$1") & 0x4007)); }
show_ignored='grep "^SigIgn:" /proc/$$/status'

check "the command inherits ignored signals as without ortho-run (foreground and background)"
direct=$(sh -c "$show_ignored")
launched=$("$ortho_run" --lib "$harmless" -- sh -c "$show_ignored")
[ "$(ignored_bits "$direct")" = "$(ignored_bits "$launched")" ] ||
  fail "foreground: direct '$direct', under ortho-run '$launched'"
# A non-interactive shell runs background jobs with SIGINT and SIGQUIT ignored.
direct=$( { sh -c "$show_ignored" & } ; wait)
launched=$( { "$ortho_run" --lib "$harmless" -- sh -c "$show_ignored" & } ; wait)
[ "$(ignored_bits "$direct")" = "$(ignored_bits "$launched")" ] ||
  fail "background: direct '$direct', under ortho-run '$launched'"

# Signals twice over: a command that blocks SIGINT and SIGTERM and takes
# them with sigtimedwait counts every delivery (a second copy sent after the
# first was taken is not merged into it), then says how many it got.
cat >"$work/count_signals.py" <<'EOF_COUNT'
import os, signal, sys
wanted = {signal.SIGINT, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
print("ready", flush=True)
if sys.argv[1:] == ["kill-own-group"]:
    os.kill(0, signal.SIGTERM)  # pending at once; the loop takes it before any copy
count = 0
while signal.sigtimedwait(wanted, 1.0) is not None:
    count += 1
print("deliveries %d" % count, flush=True)
EOF_COUNT

# Runs ortho-run on a new terminal, types ^C once the command has printed
# "ready", and prints what the terminal showed. Exits with ortho-run's exit
# status, or says why not (killed by a signal, no return within 20 s).
cat >"$work/on_terminal.py" <<'EOF_TTY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen, deadline, typed = b"", time.time() + 20, False
while time.time() < deadline:
    if not typed and b"ready" in seen:
        os.write(fd, b"\x03")  # the terminal's interrupt character
        typed = True
    if select.select([fd], [], [], 0.05)[0]:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print(seen.decode(errors="replace"))
        if os.WIFSIGNALED(status):
            sys.exit("ortho-run was killed by signal %d" % os.WTERMSIG(status))
        sys.exit(os.WEXITSTATUS(status))
os.kill(pid, 9)
sys.exit("ortho-run did not return within 20 s; the terminal showed %r" % seen)
EOF_TTY

if command -v python3 >/dev/null; then
  check "^C on a terminal ends the command; ortho-run survives it and exits 130"
  status=0
  python3 "$work/on_terminal.py" "$ortho_run" --lib "$harmless" -- \
    sh -c 'echo ready; exec sleep 30' >"$work/out" 2>"$work/err" || status=$?
  expect_status 130

  check "^C on a terminal reaches the command once (ortho-run does not forward it)"
  status=0
  python3 "$work/on_terminal.py" "$ortho_run" --lib "$harmless" -- \
    python3 "$work/count_signals.py" >"$work/out" 2>"$work/err" || status=$?
  expect_status 0
  grep -q "deliveries 1" "$work/out" || fail "not exactly one delivery"

  check "a command that signals its own process group gets the signal once"
  status=0
  setsid -w "$ortho_run" --lib "$harmless" -- python3 "$work/count_signals.py" kill-own-group \
    >"$work/out" 2>"$work/err" </dev/null || status=$?
  expect_status 0
  grep -q "deliveries 1" "$work/out" || fail "not exactly one delivery"
else
  echo "ortho_run.sh: (skipped the terminal and group checks: no python3)"
fi

# ---- the real library ----------------------------------------------------

check "a command runs under the real library and its status comes back"
run --lib "$library" --wait 30 -o "$work/real.db" -- sh -c 'exit 0'
expect_status 0

echo "ortho_run.sh: all checks passed"
