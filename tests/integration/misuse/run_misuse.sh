#!/usr/bin/env bash
# run_misuse.sh - runs one misuse program under LD_PRELOAD twice and checks
# the diagnostic contract users and scripts rely on. Default policy: the
# process dies by SIGABRT (status 134) after printing exactly one stderr line
# that starts with "orthotope: ", names the kind in parentheses (one of the
# accepted KINDS), the pointer the program announced on stdout, "thread <tid>"
# with the program's own thread id, and "from <FUNCTION>" as the innermost
# frame outside the allocator. ORTHO_ON_CORRUPTION=report: the same line (up
# to the policy note), then the program runs to the end and exits 0.
#
# Usage: run_misuse.sh LIBORTHOTOPE PROGRAM KINDS FUNCTION [PROGRAM ARGS...]
#   KINDS is an extended regex of accepted kinds, e.g. "bad_magic|bad_checksum".
#   MISUSE_DEATH=segv in the environment expects death by SIGSEGV (status
#   139) instead: a guard page's fault, re-raised after the report.
set -u

if [ $# -lt 4 ]; then
    echo "usage: $0 LIBORTHOTOPE PROGRAM KINDS FUNCTION [ARGS...]" >&2
    exit 2
fi
lib=$1
program=$2
kinds=$3
function=$4
shift 4

work=$(mktemp -d "${TMPDIR:-/tmp}/ortho-misuse.XXXXXX")
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
    echo "FAIL ($policy): $*"
    failures=$((failures + 1))
}

# run POLICY: runs the program with stdout/stderr in $work, status in $status.
# The group redirection absorbs bash's own "Aborted" notice.
run() {
    policy=$1
    shift
    if [ "$policy" = abort ]; then
        { env -u ORTHO_ON_CORRUPTION LD_PRELOAD="$lib" "$program" "$@" \
            >"$work/out" 2>"$work/err"; } 2>/dev/null
    else
        { env ORTHO_ON_CORRUPTION=report LD_PRELOAD="$lib" "$program" "$@" \
            >"$work/out" 2>"$work/err"; } 2>/dev/null
    fi
    status=$?
    echo "== ORTHO_ON_CORRUPTION=$policy: exit status $status"
    echo "-- stdout:"
    cat "$work/out"
    echo "-- stderr:"
    cat "$work/err"
}

# check_line: checks the one diagnostic line; sets $shape, the line up to the
# policy note with the pointer and thread id replaced, for comparing runs.
check_line() {
    shape=""
    local announce pointer tid lines line
    announce=$(head -n 1 "$work/out")
    if [[ ! $announce =~ ^pointer\ (0x[0-9a-f]+)\ thread\ ([0-9]+)$ ]]; then
        fail "the program did not announce its pointer: '$announce'"
        return
    fi
    pointer=${BASH_REMATCH[1]}
    tid=${BASH_REMATCH[2]}

    lines=$(wc -l <"$work/err")
    if [ "$lines" -ne 1 ]; then
        fail "expected exactly one stderr line, got $lines"
        return
    fi
    line=$(cat "$work/err")
    [[ $line == "orthotope: "* ]] || fail "the line does not start with 'orthotope: '"
    if [[ $line =~ \ (0x[0-9a-f]+)\ \(([a-z_]+)[,\)] ]]; then
        local reported=${BASH_REMATCH[1]} kind=${BASH_REMATCH[2]}
        [[ $kind =~ ^($kinds)$ ]] || fail "kind is '$kind', expected one of: $kinds"
        [ $((reported)) -eq $((pointer)) ] ||
            fail "pointer is $reported, the program misused $pointer"
    else
        fail "no '<pointer> (<kind>' in the line"
    fi
    [[ $line =~ thread\ ([0-9]+) ]] || fail "the line does not name 'thread <tid>'"
    [[ $line =~ thread\ ${tid}[^0-9] ]] || fail "the line does not name thread $tid"
    [[ $line == *" from "* ]] || fail "the line names no frames ('from ')"
    [[ $line =~ \ from\ ${function}[\ \;] ]] ||
        fail "the innermost frame is not $function"

    shape=${line%%;*}
    shape=${shape//$pointer/<pointer>}
    shape=${shape//thread $tid/thread <tid>}
}

run abort "$@"
if [ "${MISUSE_DEATH:-abort}" = segv ]; then
    [ "$status" -eq 139 ] || fail "expected death by SIGSEGV (status 139), got status $status"
elif [ "$status" -ne 134 ]; then
    fail "expected death by SIGABRT (status 134), got status $status"
fi
check_line
abort_shape=$shape
grep -q "returned from the misuse" "$work/out" && fail "the misuse call returned"

run report "$@"
[ "$status" -eq 0 ] || fail "expected exit status 0, got $status"
check_line
grep -q "returned from the misuse" "$work/out" || fail "the misuse call did not return"
grep -q "allocator still works" "$work/out" || fail "the program did not run to the end"
if [ -n "$abort_shape" ] && [ "$shape" != "$abort_shape" ]; then
    fail "the line differs between the policies:
    abort:  $abort_shape
    report: $shape"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "ok: $(basename "$program") $*"
