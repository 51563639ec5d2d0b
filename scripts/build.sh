#!/usr/bin/env bash
# Configures and builds cimsim. Usage: scripts/build.sh [release|asan]
#   release -> build/       (-O3 -march=native, benchmarks included)
#   asan    -> build-asan/  (AddressSanitizer + UndefinedBehaviorSanitizer, -O1, line tables only
#                            (-g1: file:line in reports, a faster build than -g), no benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-release}"
jobs="$(nproc)"
case "$mode" in
  release) cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
           cmake --build build -j "$jobs" ;;
  asan)    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
                 -DCIMSIM_SANITIZE=ON -DCIMSIM_BUILD_BENCH=OFF >/dev/null
           cmake --build build-asan -j "$jobs" ;;
  *) echo "usage: scripts/build.sh [release|asan]" >&2; exit 2 ;;
esac
