#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test twice — the release build,
# then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Real-data tests use CIMSIM_DATA (default ../shared/data/cifar10) and CIMSIM_MODEL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
source scripts/data_env.sh
scripts/build.sh release
(cd build && ctest --output-on-failure -j 2)
scripts/build.sh asan
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 2)
