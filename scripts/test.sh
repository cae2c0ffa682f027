#!/usr/bin/env bash
# test.sh - installs dependencies, builds, and runs every test: the normal
# build (unit + integration + real programs under LD_PRELOAD), then the unit
# suites again under AddressSanitizer+UBSan and under ThreadSanitizer (the
# viewer suites there read the trace databases the normal build made).
# Usage (as root on Debian 12): bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)

echo "== build and test (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORTHO_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DORTHO_SANITIZE=address,undefined \
  -DORTHO_WERROR=ON -DORTHO_BUILD_BENCH=OFF -DORTHO_BUILD_EXAMPLES=OFF \
  -DORTHO_FIXTURE_DIR="$PWD/build/tests/fixtures" >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs"

echo "== unit tests under ThreadSanitizer"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DORTHO_SANITIZE=thread \
  -DORTHO_WERROR=ON -DORTHO_BUILD_BENCH=OFF -DORTHO_BUILD_EXAMPLES=OFF \
  -DORTHO_FIXTURE_DIR="$PWD/build/tests/fixtures" >/dev/null
cmake --build build-tsan -j"$jobs"
ctest --test-dir build-tsan -L unit --output-on-failure -j"$jobs"
