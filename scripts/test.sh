#!/usr/bin/env bash
# The test command. Usage: scripts/test.sh [quick|full]   (default: quick; CI runs quick)
#
# quick — every check that a change can break, sized for CI (2 cores, under 20 minutes):
#   1. the release program and tests, built for this machine's SIMD variant only (scripts/build.sh
#      quick), and every test except the long multi-run scenarios in LONG below, each of which repeats
#      what a shorter test of the same code checks;
#   2. one clang build with AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer coverage
#      (scripts/build.sh fuzz) that runs the bad-input corpus (every subcommand and file kind, damaged
#      files, a full disk mid-write) and the isolated HDF5 reads (SANITIZED below), then each fuzzer of
#      cimsim's own parsers for 15 s. The multi-run fault scenarios (SIGKILL/SIGTERM and resume, damaged
#      point files) take 70-370 s each under the sanitizers: quick mode runs them in the release pass,
#      full mode under ASan too.
# full — everything: the portable build with all three SIMD variants (and the test that they agree),
#   every test; every unit test again under gcc's ASan + UBSan (build-asan) except the real-data checks
#   and multi-run scenarios listed there; 30 s per parser fuzzer.
#
# Real-data tests use CIMSIM_DATA (default ../shared/data/cifar10) and CIMSIM_MODEL.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-quick}"
case "$mode" in quick|full) ;; *) echo "usage: scripts/test.sh [quick|full]" >&2; exit 2 ;; esac
scripts/install_deps.sh
source scripts/data_env.sh
sanitizer_env=(ASAN_OPTIONS=detect_leaks=1 "LSAN_OPTIONS=suppressions=$PWD/scripts/lsan_suppressions.txt"
               UBSAN_OPTIONS=print_stacktrace=1)

# Multi-run scenarios (17-46 s each here) whose code a shorter test already checks: the external chip
# server on the 1,228 lossless images (ExternalChipCliTest and CoreConformance check the same server on
# synthetic models), lifetime reprogramming with thread counts and a lifetime resume
# (LifetimeCliTest.PointsPerTime…, ExperimentCliTest resume tests), killed shards, lifetime shards and
# the Slurm script (ShardCliTest.FourShardsTogether…).
LONG='ExternalChipRealData\.IdealServer|LifetimeCliTest\.ReprogramsWithATinyThreshold|LifetimeCliTest\.AResumedRunEqualsAnUninterruptedOne|ShardCliTest\.KilledShards|ShardCliTest\.SlurmArrayScript|ShardCliTest\.LifetimeRunsShardBySweepPoint'
SANITIZED='^(HostileInputCliTest\.|RunIsolated\.|H5File\.)'

if [ "$mode" = quick ]; then
  scripts/build.sh quick
  (cd build && ctest --output-on-failure -j 2 -E "^(${LONG})")
  scripts/build.sh fuzz cimsim hostile_input_cli_test common_test
  (cd build-fuzz && env "${sanitizer_env[@]}" ctest --output-on-failure -j 2 -R "$SANITIZED")
  scripts/fuzz.sh 15 json_config yaml_config cifar10 tar_gz image
  exit 0
fi

scripts/build.sh release
(cd build && ctest --output-on-failure -j 2)
scripts/build.sh asan
# Under the sanitizers every test runs again except
#  - the checks of the pretrained ResNet-20 on the real CIFAR-10 images (suites RealData,
#    ExternalChipRealData, QuantConfigJsonRealData and the two Pretrained CLI runs, ~400 s under ASan):
#    they run the same code as the unit and CLI tests on synthetic models, which do run under ASan;
#  - six multi-run CLI scenarios (~450 s under ASan): two lifetime runs (reprogramming with thread
#    counts and policy subsets; resume), the training SIGTERM/resume run, and the sharded runs killed
#    and rerun, run through the Slurm script, or of a lifetime experiment. The same commands run under ASan in
#    LifetimeCliTest.PointsPerTime…, ExperimentCliTest.SigtermThenResume…, TrainCliTest.FromScratch… and
#    ShardCliTest.FourShardsTogether…; the excluded scenarios' figures are checked in the release pass.
#  The SIMD variants test is skipped there: the ASan build is one -march=native program.
(cd build-asan && env "${sanitizer_env[@]}" ctest --output-on-failure -j 2 \
  -E '^(RealData\.|ExternalChipRealData\.|QuantConfigJsonRealData\.|CliTest\.PretrainedResnet20|QuantCliTest\.PretrainedResnet20|LifetimeCliTest\.ReprogramsWithATinyThreshold|LifetimeCliTest\.AResumedRunEqualsAnUninterruptedOne|TrainCliTest\.SigtermThenResume|ShardCliTest\.KilledShards|ShardCliTest\.SlurmArrayScript|ShardCliTest\.LifetimeRunsShardBySweepPoint)')
# The fuzzers of cimsim's own parsers; the HDF5 loaders' fuzzers are the long run (docs/hardening.md:
# they find libhdf5 1.10.8's own hangs and overflows on damaged files within a minute).
scripts/fuzz.sh 30 json_config yaml_config cifar10 tar_gz image
