#!/usr/bin/env bash
# demo.sh - installs dependencies, builds, and shows the allocator: the C API
# tour, then an unmodified python3 numpy program running on it via LD_PRELOAD,
# then a double free caught with the stack that did it, then the same
# program traced: ortho-top's class screen and ortho-report's summary of
# its trace database.
# Usage (as root on Debian 12): bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
lib=$PWD/build/liballoc/liborthotope.so

echo "== the C API (examples/api_tour.c)"
./build/examples/ortho-api-tour

echo; echo "== python3 + numpy on orthotope via LD_PRELOAD"
LD_PRELOAD=$lib /usr/bin/python3 -c '
import ctypes, numpy as np
x = np.random.default_rng(0).standard_normal((512, 512))
y = (x @ x.T).sum()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc_usable_size.restype = ctypes.c_size_t
libc.malloc_usable_size.argtypes = [ctypes.c_void_p]
p = libc.malloc(100)
print("matrix product checksum %.3f; malloc(100) has %d usable bytes (our 256-byte class)"
      % (y, libc.malloc_usable_size(p)))'

echo; echo "== a double free, caught (ORTHO_ON_CORRUPTION=report keeps going)"
ORTHO_ON_CORRUPTION=report LD_PRELOAD=$lib /usr/bin/python3 -c '
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
p = libc.malloc(48); libc.free(p); libc.free(p)
print("still running after the report")'

echo; echo "== the tensor pipeline traced (ortho-run), then ortho-top and ortho-report"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./build/bin/ortho-run -o "$work/run.db" -- ./build/examples/ortho-tensor-pipeline 20
./build/bin/ortho-top --batch --screen classes "$work/run.db"
echo
./build/bin/ortho-report "$work/run.db"
echo
echo "(open it yourself: ./build/bin/ortho-top run.db after ./build/bin/ortho-run -o run.db -- CMD)"
