#!/usr/bin/env bash
# Configures and builds cimsim. Usage: scripts/build.sh [release|quick|asan|bench|fuzz] [TARGET...]
#   release -> build/       (-O3, portable: build/apps/cimsim/cimsim runs the best of the avx512, avx2 and
#                            scalar programs for the CPU it runs on; CIMSIM_ISA=<variant> forces one)
#   quick   -> build/       (the same, but only this machine's variant: the libraries are compiled once,
#                            not three times; scripts/test.sh quick)
#   asan    -> build-asan/  (AddressSanitizer + UndefinedBehaviorSanitizer, -O1, line tables only
#                            (-g1: file:line in reports, a faster build than -g), -march=native, no benchmarks,
#                            no precompiled headers: a source that forgets an #include fails here)
#   bench   -> build-bench/ (-O3 -march=native, with the benchmarks in build-bench/bench/: figures of
#                            this machine at its full instruction set)
#   fuzz    -> build-fuzz/  (clang, libFuzzer coverage + ASan + UBSan: the fuzzers of fuzz/, and the
#                            TARGETs given, e.g. cimsim and test programs to run under clang's sanitizers)
# Without TARGETs, everything of the mode is built (fuzz: the fuzzers).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-release}"
shift || true
jobs="$(nproc)"
targets=()
for t in "$@"; do targets+=(--target "$t"); done
case "$mode" in
  release|quick)
           others=ON; [ "$mode" = quick ] && others=OFF
           cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCIMSIM_ISA=portable -DCIMSIM_OTHER_VARIANTS=$others \
                 -DCIMSIM_BUILD_BENCH=OFF >/dev/null
           cmake --build build -j "$jobs" "${targets[@]}" ;;
  bench)   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCIMSIM_ISA=native -DCIMSIM_BUILD_BENCH=ON >/dev/null
           cmake --build build-bench -j "$jobs" "${targets[@]}" ;;
  asan)    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCIMSIM_ISA=native \
                 -DCIMSIM_SANITIZE=ON -DCIMSIM_BUILD_BENCH=OFF -DCIMSIM_PCH=OFF >/dev/null
           cmake --build build-asan -j "$jobs" "${targets[@]}" ;;
  fuzz)    cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
                 -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCIMSIM_ISA=native -DCIMSIM_FUZZ=ON \
                 -DCIMSIM_BUILD_BENCH=OFF >/dev/null
           cmake --build build-fuzz -j "$jobs" --target fuzzers "${targets[@]}" ;;
  *) echo "usage: scripts/build.sh [release|quick|asan|bench|fuzz] [TARGET...]" >&2; exit 2 ;;
esac
