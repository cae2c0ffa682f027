#!/usr/bin/env bash
# queries.sh - every query of docs/queries.md, run against a real trace.
# Traces query_workload (whose trace holds facts known in advance: see its
# opening comment), then runs each ```sql block of the document, in order,
# with sqlite3. A block passes when sqlite3 exits 0 without an error and,
# for each <!-- expect: PATTERN --> comment between the previous block and
# this one, some line of its output matches PATTERN. A block without such a
# comment fails: a query nobody checks can rot unseen.
#
# PATTERN is matched against whole output lines (sqlite3 -batch -noheader
# -separator '|'), with `*` standing for any run of characters and
# everything else literal. It is the text after "<!-- expect: " up to
# " -->", leading spaces included.
# Usage: queries.sh LIBORTHOTOPE QUERY_WORKLOAD QUERIES_MD
set -euo pipefail

library=$1 workload=$2 document=$3
unset LD_PRELOAD ORTHO_TRACE ORTHO_TRACE_DB ORTHO_TRACE_SAMPLE ORTHO_TRACE_STACKS \
  ORTHO_TRACE_OVERFLOW ORTHO_ON_CORRUPTION

command -v sqlite3 >/dev/null || { echo "queries.sh: sqlite3 is not installed" >&2; exit 1; }
for file in "$library" "$workload" "$document"; do
  [ -f "$file" ] || { echo "queries.sh: no such file: $file" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/run.db
# root -> fork -> exec: the tree query_workload builds.
processes_expected=3

fail() {
  echo "queries.sh: FAIL: $1" >&2
  exit 1
}

# ---- the trace -------------------------------------------------------------

# The workload frees one block twice on purpose; report mode lets it go on.
status=0
ORTHO_TRACE=1 ORTHO_TRACE_DB=$db ORTHO_ON_CORRUPTION=report LD_PRELOAD=$library \
  "$workload" >"$work/out" 2>"$work/err" </dev/null || status=$?
if [ "$status" -ne 0 ]; then
  cat "$work/err" >&2
  fail "query_workload exited $status"
fi

. "$(dirname "$0")/trace_wait.sh"
trace_wait_ended "$db" $processes_expected 10 ||
  fail "the trace database did not show $processes_expected ended processes within 10 s"

# ---- the queries -------------------------------------------------------------

# literal_glob TEXT: TEXT as a bash pattern in which only `*` is special.
# ([[ == ]] also knows extglob's ?( @( !( +( *( forms: escape their openers.)
literal_glob() {
  local text=$1 out='' c i
  for ((i = 0; i < ${#text}; i++)); do
    c=${text:i:1}
    case $c in
      '*') out+='*' ;;
      [][\\?\(\)+@!]) out+="\\$c" ;;
      *) out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

# check_block NUMBER: runs $work/block.sql and tests it against expects[].
check_block() {
  local number=$1 first_line pattern glob line found
  first_line=$(head -n 1 "$work/block.sql")
  local label="block $number ($first_line ...)"
  [ "${#expects[@]}" -gt 0 ] || fail "$label has no <!-- expect: ... --> comment"
  local status=0
  sqlite3 -batch -noheader -cmd ".timeout 5000" -separator "|" "$db" <"$work/block.sql" >"$work/result" \
    2>"$work/error" || status=$?
  if [ "$status" -ne 0 ] || grep -q 'Error' "$work/result" "$work/error"; then
    cat "$work/error" >&2
    fail "$label: sqlite3 exited $status"
  fi
  for pattern in "${expects[@]}"; do
    glob=$(literal_glob "$pattern")
    found=0
    while IFS= read -r line; do
      # shellcheck disable=SC2053 # the right side is a pattern on purpose
      if [[ $line == $glob ]]; then
        found=1
        break
      fi
    done <"$work/result"
    if [ "$found" -ne 1 ]; then
      {
        echo "queries.sh: $label: no output line matches '$pattern'; the output:"
        sed 's/^/  /' "$work/result"
      } >&2
      fail "$label: expectation not met"
    fi
  done
  echo "queries.sh: ok: block $number, ${#expects[@]} expectation(s), $(wc -l <"$work/result") row(s)"
}

blocks=0
expects=()
in_sql=0
while IFS= read -r line || [ -n "$line" ]; do
  if [ "$in_sql" -eq 1 ]; then
    if [ "$line" = '```' ]; then
      in_sql=0
      blocks=$((blocks + 1))
      check_block "$blocks"
      expects=()
    else
      printf '%s\n' "$line" >>"$work/block.sql"
    fi
  elif [ "$line" = '```sql' ]; then
    in_sql=1
    : >"$work/block.sql"
  elif [[ $line == '<!-- expect: '*' -->' ]]; then
    line=${line#'<!-- expect: '}
    expects+=("${line%' -->'}")
  fi
done <"$document"
[ "$in_sql" -eq 0 ] || fail "the last \`\`\`sql block of $document is not closed"
[ "$blocks" -gt 0 ] || fail "no \`\`\`sql block in $document"
[ "${#expects[@]}" -eq 0 ] || fail "an expect comment after the last block belongs to no query"

echo "queries.sh: all $blocks queries passed"
