#!/usr/bin/env bash
# top_tmux_classes.sh - ortho-top in a real terminal (tmux, 80x24) on runs
# traced under other size-class tables than the default (the fixtures
# general.db, ORTHO_CLASSES=general, and mixed.db, a tree whose root ran
# 64,128,256,1K,8K and whose exec'd child ran general): the classes screen
# shows the classes the database names, with the numbers sqlite3 gives for
# them, and a process shows only its own table.
# Usage: top_tmux_classes.sh ORTHO_TOP FIXTURE_DIR [LIBRARY WORKLOAD]
set -euo pipefail
top=$1 fixtures=$2
TEST_NAME=top_tmux_classes
WORK=$(mktemp -d /tmp/top_tmux_classes.XXXXXX)
. "$(dirname "$0")/top_tmux_lib.sh"
cp "$fixtures/general.db" "$fixtures/mixed.db" "$WORK/"
tmux_begin

# start_viewer DB ARGS...: runs ortho-top on WORK/DB in the window.
start_viewer() {
  local db=$1
  shift
  keys C-l
  type_line "$top $* $WORK/$db; echo \"exit=\$?\""
  wait_for "ortho-top +${db//./\\.} +finished run" 10 "the viewer's header on $db"
  wait_for '^CLASS +ALLOCS +FREES +LIVE' 5 "the class table with its totals"
}

# expect_class DB CLASS WHERE: the CLASS row shows the allocations, frees
# and live blocks sqlite3 sums for it over the processes WHERE selects.
expect_class() {
  local allocs frees live
  read -r allocs frees live <<<"$(sql "$WORK/$1" "SELECT sum(t.allocs), sum(t.frees),
      sum(f.live_blocks) FROM class_totals t JOIN fragmentation f USING (process_id, class_id)
      WHERE t.class_name = '$2' AND $3" | tr '|' ' ')"
  [ -n "$allocs" ] || fail "$1 has no class $2 where $3"
  expect_row_field "$2" 2 "$allocs" "$1: allocations of $2"
  expect_row_field "$2" 3 "$frees" "$1: frees of $2"
  expect_row_field "$2" 4 "$live" "$1: live blocks of $2"
}

# ---- general: the first rows are the general table's, in payload order ----
start_viewer general.db
first=$(sql "$WORK/general.db" "SELECT group_concat(class_name, ' ') FROM (SELECT class_name
    FROM classes WHERE process_id = 1 ORDER BY class_id LIMIT 8)")
shown=$(screen_text | awk '/^CLASS/ { for (i = 0; i < 8; i++) { getline; printf "%s%s", i ? " " : "", $1 } exit }')
[ "$shown" = "$first" ] || fail "general.db: the first rows are '$shown', the table starts '$first'"
case " $shown " in *" B320 "*) ;; *) fail "general.db: no B320 (a class only general has): $shown" ;; esac
expect_class general.db B320 1
# B5K (churn's 5000 bytes under general) lies below the screen: the filter finds it.
keys /
type_line B5K
wait_gone '^B64 ' 5 "the other classes, filtered out"
expect_class general.db B5K 1
[ "$(row_field B5K 2)" = 20000 ] || fail "general.db: B5K does not show churn's 20000 allocations"
keys Escape
wait_for '^B64 ' 5 "B64 once the filter is cleared"
quit_and_check_terminal

# ---- mixed: the tree sums each class; a process shows its own table -------
start_viewer mixed.db
for class in B8K B80K; do # the root's largest class, and one only the child has
  keys /
  type_line "$class"
  wait_gone '^B64 ' 5 "the other classes, filtered out"
  expect_class mixed.db "$class" 1
  keys Escape
  wait_for '^B64 ' 5 "B64 once the filter is cleared"
done
quit_and_check_terminal
root=$(sql "$WORK/mixed.db" "SELECT process_id FROM processes WHERE via = 'root'")
start_viewer mixed.db --process "$root"
rows=$(screen_text | awk '/^CLASS/ { on = 1; next } on && /^B[0-9]|^LARGE/ { printf "%s ", $1 }')
want=$(sql "$WORK/mixed.db" "SELECT group_concat(class_name, ' ') || ' ' FROM (SELECT class_name
    FROM classes WHERE process_id = $root ORDER BY class_id)")
[ "$rows" = "$want" ] || fail "the root's classes are '$rows', its table is '$want'"
expect_class mixed.db LARGE "process_id = $root"
quit_and_check_terminal
echo "top_tmux_classes.sh: ok"
