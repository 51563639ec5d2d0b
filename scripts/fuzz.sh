#!/usr/bin/env bash
# Builds the libFuzzer harnesses (build-fuzz/, clang + ASan + UBSan) and runs each for SECONDS (default
# 30) on one core, from seed corpora made by build-fuzz/fuzz/make_seeds and the repository's JSON
# configs. Usage: scripts/fuzz.sh [SECONDS] [FUZZER...]   (docs/hardening.md; the long run: 600)
# Corpora grow in fuzz-corpus/<fuzzer>/ (not committed); a crash leaves fuzz-corpus/crash-* and exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(json_config yaml_config float_model quantized_model calibration cifar10 tar_gz image)
scripts/build.sh fuzz
seeds=fuzz-corpus/seeds
rm -rf "$seeds"
build-fuzz/fuzz/make_seeds "$seeds"
mkdir -p "$seeds/json_config" "$seeds/yaml_config"
i=0
for f in configs/*/*.yaml experiments/configs/*.yaml; do
  for kind in 0 1 2 3 4 5; do  # the first byte picks the kind (fuzz/yaml_config_fuzzer.cc)
    { printf "\\x3$kind"; cat "$f"; } > "$seeds/yaml_config/seed_$i"
    i=$((i + 1))
  done
done
for f in configs/*/*.json experiments/configs/*.json; do
  for parser in 0 1 2 3 4 5; do  # the first byte picks the parser (fuzz/json_config_fuzzer.cc)
    { printf "\\x3$parser"; cat "$f"; } > "$seeds/json_config/seed_$i"
    i=$((i + 1))
  done
done
status=0
for name in "${fuzzers[@]}"; do
  corpus="fuzz-corpus/$name"
  mkdir -p "$corpus"
  log="fuzz-corpus/$name.log"
  echo "fuzzing $name for ${seconds}s ..."
  # Inputs up to the largest seed (the HDF5 models are a few hundred KiB), at least 64 KiB.
  max_len=$(find "$seeds/$name" -type f -printf '%s\n' | sort -n | tail -1)
  [ "${max_len:-0}" -ge 65536 ] || max_len=65536
  # Leaks inside libhdf5 on damaged files are the library's (docs/hardening.md); ours are still found.
  # Full malloc stacks (libhdf5 has no frame pointers): the suppression names a libhdf5 function.
  if ! ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:${ASAN_OPTIONS:-}" LSAN_OPTIONS="suppressions=$PWD/scripts/lsan_suppressions.txt" \
       "build-fuzz/fuzz/${name}_fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -rss_limit_mb=4096 \
       -artifact_prefix="fuzz-corpus/crash-$name-" "$corpus" "$seeds/$name" > "$log" 2>&1; then
    echo "FAILED: $name (see $log)"
    status=1
  fi
  grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$log" | tail -1 || true
  echo "  corpus: $(ls "$corpus" | wc -l) files"
done
exit $status
