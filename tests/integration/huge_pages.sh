#!/usr/bin/env bash
# huge_pages.sh - ORTHO_HUGE_PAGES in a real preloaded program: with 1, the
# mapping the arena carves blocks from carries the kernel's huge-page advice
# (VmFlags "hg" in the program's own /proc/self/smaps); with 0, and by
# default, no mapping does. grep reads its own smaps after it has allocated
# (locale, buffers), so its arena exists by then. Skipped (77) on a kernel
# without transparent huge pages, where no mapping can carry the advice.
#
# Usage: huge_pages.sh LIBORTHOTOPE
set -u
lib=$1
[ -e /sys/kernel/mm/transparent_hugepage/enabled ] || { echo "SKIP: no transparent huge pages in this kernel"; exit 77; }

# preloaded [VAR=VALUE...] COMMAND...: COMMAND with the library preloaded
# and ORTHO_HUGE_PAGES only as given.
preloaded() {
    env -u ORTHO_HUGE_PAGES LD_PRELOAD="$lib" "$@"
}

# advised [VAR=VALUE...]: how many mappings of a preloaded grep carry "hg".
advised() {
    preloaded "$@" grep -cE '^VmFlags:.* hg( |$)' /proc/self/smaps
}

on=$(advised ORTHO_HUGE_PAGES=1)
off=$(advised ORTHO_HUGE_PAGES=0)
default=$(advised)
echo "mappings with huge-page advice: ORTHO_HUGE_PAGES=1: $on, =0: $off, unset: $default"
status=0
[ "$on" -ge 1 ] || { echo "FAIL: ORTHO_HUGE_PAGES=1 left every mapping without the advice"; status=1; }
[ "$off" -eq 0 ] || { echo "FAIL: ORTHO_HUGE_PAGES=0 advised $off mappings"; status=1; }
[ "$default" -eq 0 ] || { echo "FAIL: the default advised $default mappings"; status=1; }
if [ "$status" -ne 0 ]; then
    echo "--- a preloaded grep's mappings with ORTHO_HUGE_PAGES=1:"
    preloaded ORTHO_HUGE_PAGES=1 grep -E '^[0-9a-f]+-|^VmFlags' /proc/self/smaps
fi
# Whether the kernel then gives huge pages depends on its setting and on
# free memory, so it is shown, not required.
echo "system setting: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
exit $status
