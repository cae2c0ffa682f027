#!/usr/bin/env bash
# deps.sh - installs what building, testing and benchmarking need, from
# Debian 12 packages. Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail
ORTHO_DEPS=(
  build-essential cmake pkg-config          # toolchain
  check libunwind-dev libdw-dev             # unit tests, stack frames, symbolization
  libsqlite3-dev sqlite3 libncurses-dev zlib1g-dev # trace database, viewer, gzipped pprof
  git perl python3 python3-numpy tmux procps # real programs in integration tests
  binutils xz-utils                         # stripped and MiniDebugInfo test programs
  libmimalloc-dev libjemalloc-dev libtcmalloc-minimal4 heaptrack zstd # benchmark competitors (zstd: heaptrack compresses with it, else gzip)
  jq mawk tcl valgrind                      # real-program benchmark, instruction counts (bench/)
)
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${ORTHO_DEPS[@]}" >/dev/null
else
  echo "deps.sh: not root; assuming these are installed: ${ORTHO_DEPS[*]}" >&2
fi
