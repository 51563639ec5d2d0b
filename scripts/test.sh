#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test twice — the release build,
# then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer — and then every
# fuzzer of cimsim's own parsers (fuzz/, libFuzzer under ASan + UBSan) for 15 s (docs/hardening.md).
# Real-data tests use CIMSIM_DATA (default ../shared/data/cifar10) and CIMSIM_MODEL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
source scripts/data_env.sh
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
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/../scripts/lsan_suppressions.txt" \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 2 \
  -E '^(RealData\.|ExternalChipRealData\.|QuantConfigJsonRealData\.|CliTest\.PretrainedResnet20|QuantCliTest\.PretrainedResnet20|LifetimeCliTest\.ReprogramsWithATinyThreshold|LifetimeCliTest\.AResumedRunEqualsAnUninterruptedOne|TrainCliTest\.SigtermThenResume|ShardCliTest\.KilledShards|ShardCliTest\.SlurmArrayScript|ShardCliTest\.LifetimeRunsShardBySweepPoint)')
# The fuzzers of cimsim's own parsers; the HDF5 loaders' fuzzers are the long run (docs/hardening.md:
# they find libhdf5 1.10.8's own hangs and overflows on damaged files within a minute).
scripts/fuzz.sh 15 json_config cifar10 tar_gz
