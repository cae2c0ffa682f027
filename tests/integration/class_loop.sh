#!/usr/bin/env bash
# class_loop.sh - the loop a user runs to fit the size classes to a
# program: trace it under the default table, ask ortho-report for a table
# (--suggest-classes N --output FILE), run it again with ORTHO_CLASSES=@FILE,
# and compare the two databases. The program is jq on a generated JSON file
# (many objects of a few hundred bytes, the case the default table serves
# worst). The second run must print the same bytes, record the same
# allocations and requested bytes, and hold fewer usable bytes; the table
# file must be one the allocator reads without a warning. Also checks the
# one-line refusals of --output.
# Usage: class_loop.sh ORTHO_RUN ORTHO_REPORT LIBORTHOTOPE
set -euo pipefail

ortho_run=$1 report=$2 library=$3
unset LD_PRELOAD ORTHO_CLASSES ORTHO_TRACE ORTHO_TRACE_DB ORTHO_TRACE_STACKS
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

what=
check() { what=$1; printf 'class_loop.sh: %s\n' "$what"; }
fail() { printf 'class_loop.sh: FAIL: %s: %s\n' "$what" "$1" >&2; exit 1; }

# 3,000 records: objects of 100-400 bytes, arrays and strings.
python3 - <<'PY' >records.json
import json
rows = [{"id": i, "user": "user%05d" % (i * 7919 % 2000), "group": "g%02d" % (i % 40),
         "tags": ["t%d" % (i % 7), "u%d" % (i % 11)], "score": i * 37 % 1000,
         "text": "record number %d of the set" % i} for i in range(3000)]
print(json.dumps(rows))
PY
filter='group_by(.group) | map({group: .[0].group, n: length, users: (map(.user) | unique | length), tags: (map(.tags[]) | unique)})'

totals() { # DB -> "allocs requested usable" over the small classes
  sqlite3 "$1" "SELECT sum(allocs), sum(requested_bytes), sum(usable_bytes) FROM class_totals
                WHERE class_name <> 'LARGE'"
}

check "the program runs traced under the default table"
ORTHO_TRACE_STACKS=0 ORTHO_LIB="$library" "$ortho_run" -o default.db -- jq -c "$filter" records.json \
  >out.default 2>err.default || fail "ortho-run exited $?: $(cat err.default)"
jq -c "$filter" records.json >out.plain
cmp -s out.plain out.default || fail "traced output differs from the plain run's"

check "--suggest-classes --output writes a table file and says how to use it"
"$report" --suggest-classes 16 --output tuned.classes default.db >suggest.txt 2>suggest.err ||
  fail "exit $?: $(cat suggest.err)"
grep -q "ORTHO_CLASSES=@tuned.classes" suggest.txt || fail "no hint in: $(tail -3 suggest.txt)"
sizes=$(grep -cv '^#' tuned.classes)
[ "$sizes" -ge 2 ] && [ "$sizes" -le 16 ] || fail "the file holds $sizes sizes: $(cat tuned.classes)"

check "--output - prints the same table and nothing else"
"$report" --suggest-classes 16 --output - default.db >stdout.classes 2>stdout.err ||
  fail "exit $?: $(cat stdout.err)"
diff <(grep -v '^#' tuned.classes) <(grep -v '^#' stdout.classes) >/dev/null ||
  fail "the sizes on stdout differ from the file's: $(cat stdout.classes)"
[ "$(grep -cvE '^(#|[0-9]+$)' stdout.classes)" -eq 0 ] ||
  fail "stdout holds more than the table: $(grep -vE '^(#|[0-9]+$)' stdout.classes | head -3)"

check "the next run with ORTHO_CLASSES=@FILE uses that table without a warning"
ORTHO_CLASSES=@tuned.classes ORTHO_TRACE_STACKS=0 ORTHO_LIB="$library" "$ortho_run" -o tuned.db -- \
  jq -c "$filter" records.json >out.tuned 2>err.tuned || fail "ortho-run exited $?: $(cat err.tuned)"
grep -q "orthotope:" err.tuned && fail "the allocator warned: $(cat err.tuned)"
cmp -s out.plain out.tuned || fail "output under the tuned table differs"
classes=$(sqlite3 tuned.db "SELECT count(*) FROM classes WHERE class_name <> 'LARGE'")
[ "$classes" -eq "$sizes" ] || fail "the trace has $classes classes, the file $sizes"
first=$(grep -v '^#' tuned.classes | head -1)
sqlite3 tuned.db "SELECT payload_size FROM classes ORDER BY class_id LIMIT 1" | grep -qx "$first" ||
  fail "the first class is not the file's $first"

check "the same allocations and requested bytes, fewer usable bytes"
read -r a0 r0 u0 <<<"$(totals default.db | tr '|' ' ')"
read -r a1 r1 u1 <<<"$(totals tuned.db | tr '|' ' ')"
[ "$a0" -eq "$a1" ] || fail "allocations $a0 then $a1"
[ "$r0" -eq "$r1" ] || fail "requested bytes $r0 then $r1"
[ "$u1" -lt "$u0" ] || fail "usable bytes did not fall: $u0 then $u1"
printf 'class_loop.sh: usable bytes %s -> %s for %s requested\n' "$u0" "$u1" "$r0"

check "ortho-report --what-if reads the same file and agrees with the new run's waste"
"$report" --what-if tuned.classes --format json default.db >whatif.json
want=$((u1 - r1))
python3 -c "import json,sys; d=json.load(open('whatif.json'))['what_if']; sys.exit(0 if d['waste_bytes']==$want else 1)" ||
  fail "what-if waste $(python3 -c "import json; print(json.load(open('whatif.json'))['what_if']['waste_bytes'])") vs measured $want"

refused() { # expected-text ortho-report-arguments...
  local needle=$1 status=0
  shift
  "$report" "$@" >out.r 2>err.r || status=$?
  [ "$status" -eq 2 ] || fail "exit $status for $*"
  [ "$(wc -l <err.r)" -eq 1 ] || fail "not one line: $(cat err.r)"
  grep -q "$needle" err.r || fail "does not say '$needle': $(cat err.r)"
}
check "--output without --suggest-classes is refused with one line"
refused "add --suggest-classes" --output x.classes default.db
check "a table longer than the allocator takes is refused with one line"
python3 - <<'PY' >many.txt
print(" ".join(str(64 * (i + 1)) for i in range(200)))
PY
# 200 sizes in a what-if are fine; asking for more classes than it runs is not.
"$report" --what-if many.txt default.db >/dev/null || fail "--what-if of 200 sizes failed"
refused "from 1 to 96" --suggest-classes 97 --output big.classes default.db
[ ! -e big.classes ] || fail "wrote a table the allocator would refuse"
check "an unwritable --output path is refused with one line"
refused "cannot write" --suggest-classes 8 --output /nonexistent/dir/t.classes default.db
echo "class_loop.sh: all checks passed"
