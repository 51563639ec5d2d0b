#!/usr/bin/env bash
# Configures and builds cimsim. Usage: scripts/build.sh [release|asan|bench|fuzz]
#   release -> build/       (-O3, portable: build/apps/cimsim/cimsim runs the best of the avx512, avx2 and
#                            scalar programs for the CPU it runs on; CIMSIM_ISA=<variant> forces one)
#   asan    -> build-asan/  (AddressSanitizer + UndefinedBehaviorSanitizer, -O1, line tables only
#                            (-g1: file:line in reports, a faster build than -g), -march=native, no benchmarks)
#   bench   -> build-bench/ (-O3 -march=native, with the benchmarks in build-bench/bench/: figures of
#                            this machine at its full instruction set)
#   fuzz    -> build-fuzz/  (clang, libFuzzer + ASan + UBSan: the fuzzers of fuzz/ only; scripts/fuzz.sh runs them)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-release}"
jobs="$(nproc)"
case "$mode" in
  release) cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCIMSIM_ISA=portable -DCIMSIM_BUILD_BENCH=OFF >/dev/null
           cmake --build build -j "$jobs" ;;
  bench)   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCIMSIM_ISA=native -DCIMSIM_BUILD_BENCH=ON >/dev/null
           cmake --build build-bench -j "$jobs" ;;
  asan)    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCIMSIM_ISA=native \
                 -DCIMSIM_SANITIZE=ON -DCIMSIM_BUILD_BENCH=OFF >/dev/null
           cmake --build build-asan -j "$jobs" ;;
  fuzz)    cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
                 -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCIMSIM_ISA=native -DCIMSIM_FUZZ=ON \
                 -DCIMSIM_BUILD_BENCH=OFF >/dev/null
           cmake --build build-fuzz -j "$jobs" --target fuzzers ;;
  *) echo "usage: scripts/build.sh [release|asan|bench|fuzz]" >&2; exit 2 ;;
esac
