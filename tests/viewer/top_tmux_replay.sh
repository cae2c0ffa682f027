#!/usr/bin/env bash
# top_tmux_replay.sh - ortho-top in a real terminal (tmux, 80x24) on a
# finished run (the fixture facts.db): what is on the screen is compared
# with what sqlite3 says about the same file. Covers the class rows,
# switching screens (number keys, Tab), sorting (> and s), the filter, the
# corruption detail, the time cursor (b, e), help, resizing, colours on a
# colour terminal and plain text on a monochrome one, quitting with q,
# Ctrl-C and SIGTERM, and that the shell and its tty are sane afterwards.
# Usage: top_tmux_replay.sh ORTHO_TOP FIXTURE_DIR [LIBRARY WORKLOAD]
set -euo pipefail
top=$1 fixtures=$2
TEST_NAME=top_tmux_replay
WORK=$(mktemp -d /tmp/top_tmux_replay.XXXXXX)
. "$(dirname "$0")/top_tmux_lib.sh"
db=$WORK/facts.db
cp "$fixtures/facts.db" "$db"
tmux_begin

start_viewer() { # start_viewer ARGS...: runs ortho-top in the window
  type_line "$top $* $db; echo \"exit=\$?\""
  wait_for "ortho-top +facts\.db +finished run" 10 "the viewer's header"
}

# ---- the class screen ---------------------------------------------------------
# A finished run opens on the totals since the start; t switches to the
# rates per second and back.
start_viewer
wait_for '^CLASS +ALLOCS +FREES +LIVE' 5 "the class table with its totals"
screen_text | grep -qE '^CLASS +ALLOC/s' && fail "a finished run shows rates before totals"
screen_text | grep -q 'sort:CLASS^ totals' || fail "the tab line does not say totals"
for class in B6K B4K B256; do
  read -r allocs frees <<<"$(sql "$db" "SELECT sum(allocs), sum(frees) FROM class_totals
      WHERE class_name = '$class'" | tr '|' ' ')"
  expect_row_field "$class" 2 "$allocs" "allocations since the start"
  expect_row_field "$class" 3 "$frees" "frees since the start"
done
keys t
wait_for '^CLASS +ALLOC/s +FREE/s +LIVE' 5 "the rates after t"
screen_text | grep -q 'ALLOCS' && fail "the rates view still shows ALLOCS"
keys t
wait_for '^CLASS +ALLOCS +FREES +LIVE' 5 "the totals after t again"
for class in $(sql "$db" "SELECT class_name FROM classes WHERE process_id = 1 ORDER BY class_id"); do
  [ -n "$(row_field "$class" 1)" ] || fail "no $class row at 80x24"
done
screen_text | grep -q "process: all 3 processes" || fail "the header does not name the 3 processes"
for class in B256 B4K; do
  read -r live req usable <<<"$(sql "$db" "SELECT sum(live_blocks), sum(live_requested_bytes),
      sum(live_usable_bytes) FROM fragmentation WHERE class_name = '$class'" | tr '|' ' ')"
  expect_row_field "$class" 4 "$live" "live blocks"
  expect_row_field "$class" 5 "$req" "live requested bytes"
  expect_row_field "$class" 6 "$usable" "live usable bytes"
done

# Sort: > three times moves from CLASS to LIVE (descending); s reverses.
keys '>' '>' '>'
wait_for 'sort:LIVEv' 5 "the LIVE sort"
most=$(sql "$db" "SELECT class_name FROM fragmentation GROUP BY class_id
    ORDER BY sum(live_blocks) DESC, class_id LIMIT 1")
first_row() { screen_text | awk '/^CLASS/ { getline; print $1; exit }'; }
[ "$(first_row)" = "$most" ] || fail "sorted by LIVE, the first row is $(first_row), not $most"
keys s
wait_for 'sort:LIVE\^' 5 "the reversed sort"
[ "$(screen_text | awk '/^[A-Z0-9]+ / && $1 != "CLASS" { l = $1 } END { print l }')" = "$most" ] ||
  fail "reversed, $most is not the last row"

# Time cursor: b shows the start (nothing live yet), e the end again.
keys b
wait_for 'time \+0\.000s .*\[replay\]' 5 "the start of the run"
expect_row_field B256 4 0 "live blocks at the start"
keys e
wait_for '\[at end\]' 5 "the end of the run"
expect_row_field B256 4 "$(sql "$db" "SELECT sum(live_blocks) FROM fragmentation WHERE class_name = 'B256'")" \
  "live blocks at the end"

# ---- the other screens ---------------------------------------------------------
keys 2
wait_for 'where the bytes are' 5 "the fragmentation screen"
cached=$(sql "$db" "SELECT sum(cached_bytes) FROM fragmentation WHERE class_name <> 'LARGE'")
screen_text | grep -qE "thread caches +$cached " || fail "fragmentation: thread caches are not $cached bytes"
keys Tab
wait_for 'FUNCTION +FILE:LINE' 5 "the sites screen"
screen_text | grep -qE '^ +1400 +7 .* leak_here +query_workload\.c:[0-9]+' ||
  fail "sites: no leak_here row with 1400 live bytes in 7 blocks"
keys /
type_line churn
wait_gone 'leak_here' 5 "leak_here, filtered out"
screen_text | grep -q ' churn ' || fail "the filter churn lost the churn row"
keys Escape
wait_for 'leak_here' 5 "leak_here once the filter is cleared"
keys 4
wait_for 'qw-freer' 5 "the thread qw-freer"
keys 5
wait_for 'double_free +free' 5 "the double free"
keys Enter
wait_for 'detected at' 5 "the event's detail"
screen_text | grep -qE '#0 +free_twice' || fail "the detail's stack does not start at free_twice"
keys Escape
wait_for 'KIND +CALL' 5 "the corruption list again"
keys '?'
wait_for 'ortho-top keys' 5 "the help"
keys x
wait_gone 'ortho-top keys' 5 "the help after a key"
keys 1
wait_for '^CLASS +ALLOCS' 5 "the class screen again"

# ---- resize: wider shows more columns, narrower fewer, nothing left over ------
screen_text | grep -q 'REFILL/s' && fail "REFILL/s fits in 80 columns?"
tmux -L "$TMUX_SOCKET" resize-window -t t -x 132 -y 40
wait_for 'REFILL/s +DRAIN/s +CARVED' 5 "the columns a wide terminal has room for"
[ "$(screen_text | wc -l)" -ge 40 ] || fail "the capture is not 40 lines after the resize"
tmux -L "$TMUX_SOCKET" resize-window -t t -x 80 -y 24
wait_gone 'REFILL/s' 5 "REFILL/s after shrinking back"
wait_for '^CLASS +ALLOCS' 5 "the class table after shrinking back"
[ -n "$(row_field LARGE 1)" ] || fail "the LARGE row is gone at 80x24 after the resize"

# ---- colours ------------------------------------------------------------------
tmux -L "$TMUX_SOCKET" capture-pane -e -p -t t | grep -qE $'\e\\[[0-9;]*(3|4)[0-7]m' ||
  fail "no colours on a colour terminal (TERM=screen)"
quit_and_check_terminal

# ---- a monochrome terminal: plain text, still every class ------------------------
keys C-l
type_line "TERM=vt100 $top $db; echo \"exit=\$?\""
wait_for '^CLASS +ALLOCS' 10 "the class table on a vt100"
tmux -L "$TMUX_SOCKET" capture-pane -e -p -t t | grep -qE $'\e\\[[0-9;]*3[0-7]m' &&
  fail "colours on a monochrome terminal"
[ -n "$(row_field B16M 1)" ] || fail "no B16M row on a vt100"
keys C-c
check_terminal_sane

# ---- a terminal ncurses cannot drive: one line, untouched terminal -------------
keys C-l
type_line "TERM=dumb $top $db; echo \"exit=\$?\""
wait_for 'exit=1' 10 "the exit status on a dumb terminal"
screen_text | grep -q "ortho-top: cannot use the terminal" || fail "no one-line refusal on TERM=dumb"

# ---- SIGTERM: the terminal comes back, the viewer dies of the signal ------------
keys C-l
type_line "$top $db; echo \"exit=\$?\""
wait_for 'ortho-top +facts\.db' 10 "the viewer before SIGTERM"
shell=$(tmux -L "$TMUX_SOCKET" list-panes -t t -F '#{pane_pid}')
viewer=$(pgrep -P "$shell" -x ortho-top) || fail "cannot find the viewer's pid"
kill -TERM "$viewer"
wait_for '^exit=143$' 10 "exit status 143 (SIGTERM)"
check_terminal_sane
# ---- names with escape sequences: shown as text, never obeyed -------------------
cp "$fixtures/facts.db" "$WORK/hostile.db"
sqlite3 -batch "$WORK/hostile.db" <"$(dirname "$0")/hostile_names.sql"
title_before=$(tmux -L "$TMUX_SOCKET" display -p -t t '#{pane_title}')
keys C-l
type_line "$top --screen sites $WORK/hostile.db; echo \"exit=\$?\""
wait_for 'FUNCTION +FILE:LINE' 10 "the sites screen of the hostile database"
wait_for 'leak_here\\x1b\[2J' 5 "leak_here's escape sequence shown as text"
screen_text | grep -qF 'red\xff\xfe' || fail "the command line's bytes are not shown escaped"
keys 4
wait_for 'qw-freer\\x1b' 5 "the thread name's escape shown as text"
[ "$(tmux -L "$TMUX_SOCKET" display -p -t t '#{pane_title}')" = "$title_before" ] ||
  fail "a name retitled the window"
quit_and_check_terminal
echo "top_tmux_replay.sh: ok"
