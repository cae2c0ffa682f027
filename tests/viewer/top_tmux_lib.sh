# top_tmux_lib.sh - helpers of ortho-top's tmux tests (sourced by
# top_tmux_replay.sh and top_tmux_live.sh): a tmux server of our own (its
# own socket, killed on exit, so nothing else's sessions are touched), one
# 80x24 window running a plain bash with a known prompt, and polling of the
# captured screen with a deadline instead of fixed sleeps.

PROMPT='top-test> '

fail() {
  echo "${TEST_NAME:-top_tmux}: FAIL: $1" >&2
  if [ -n "${TMUX_SOCKET:-}" ]; then
    echo "--- screen ---" >&2
    screen_text >&2 || true
  fi
  exit 1
}

# cleanup: our tmux server, then the scratch directory (retried: a
# collector may still be closing its files in it).
cleanup() {
  [ -z "${CLEANUP_PID:-}" ] || kill "$CLEANUP_PID" 2>/dev/null || true
  tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || { sleep 1; rm -rf "$WORK"; }
}

# tmux_begin: starts the server and the window; skips (77) without tmux.
tmux_begin() {
  command -v tmux >/dev/null || { echo "tmux is not installed: skipped"; exit 77; }
  command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"
  TMUX_SOCKET="ortho-top-test-$$"
  trap cleanup EXIT
  # TERM inside the pane is tmux's default-terminal ("screen"): colours.
  tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s t -x 80 -y 24 \
    "env -i PATH=/usr/bin:/bin HOME=$WORK HISTFILE=/dev/null TERM=screen LANG=C.UTF-8 PS1='$PROMPT' bash --norc --noprofile"
  wait_for '^top-test>' 10 "the shell prompt"
}

screen_text() {
  tmux -L "$TMUX_SOCKET" capture-pane -p -t t
}

keys() {
  tmux -L "$TMUX_SOCKET" send-keys -t t "$@"
}

# type_line TEXT: types a command and Enter.
type_line() {
  keys -l "$1"
  keys Enter
}

# wait_for REGEX SECONDS WHAT: until the screen matches (grep -E).
wait_for() {
  local deadline=$((SECONDS + $2))
  until screen_text | grep -qE -- "$1"; do
    [ $SECONDS -lt "$deadline" ] || fail "no $3 on the screen within $2 s (looked for /$1/)"
    sleep 0.1
  done
}

# wait_gone REGEX SECONDS WHAT: until the screen no longer matches.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while screen_text | grep -qE -- "$1"; do
    [ $SECONDS -lt "$deadline" ] || fail "$3 still on the screen after $2 s (/$1/)"
    sleep 0.1
  done
}

# row_field CLASS N: field N (awk, 1 = the class name) of the table row
# that starts with CLASS.
row_field() {
  screen_text | awk -v c="$1" -v n="$2" '$1 == c { print $n; exit }'
}

# sql DB QUERY: one value from sqlite3 (with a busy timeout: the live
# database is being written).
sql() {
  sqlite3 -batch -noheader -cmd '.timeout 5000' "$1" "$2"
}

# expect_row_field CLASS N VALUE WHAT: polls until the row shows VALUE.
expect_row_field() {
  local deadline=$((SECONDS + 10)) got
  while :; do
    got=$(row_field "$1" "$2")
    [ "$got" = "$3" ] && return 0
    [ $SECONDS -lt "$deadline" ] || fail "$4: the $1 row shows '$got', sqlite3 says '$3'"
    sleep 0.1
  done
}

# quit_and_check_terminal: q; the viewer's screen must go, its exit
# status (echoed by the command line that started it) be 0, and the tty be
# sane again (echo and canonical input on, a typed command runs).
quit_and_check_terminal() {
  keys q
  wait_gone 'ortho-top +[^ ]+ +(live|finished) run' 10 "the viewer after q"
  wait_for '^exit=0$' 10 "exit status 0 after q"
  check_terminal_sane
}

check_terminal_sane() {
  wait_for '^top-test> ?$' 10 "the prompt after the viewer ended"
  keys C-l
  type_line 'stty -a | tr " " "\n" | grep -xE -- "-?(echo|icanon|icrnl|opost)" | tr "\n" " "; echo "sum=$((40 + 2))"'
  wait_for 'sum=42' 10 "the output of a command typed after the viewer"
  local modes
  modes=$(screen_text | grep -E 'echo' | grep -E 'icanon' | tail -1)
  case "$modes" in
    *-echo*|*-icanon*|*-icrnl*|*-opost*) fail "the terminal is not sane after the viewer: $modes" ;;
  esac
  [ -n "$modes" ] || fail "stty -a printed no modes"
}
