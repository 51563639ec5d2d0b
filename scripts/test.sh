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
# Under the sanitizers every test runs again except two accuracy checks of the pretrained model (the
# W8A8 quantize/infer CLI run and the W4A4 AdaRound recipe, ~200 s under ASan): their code paths run
# under ASan in the unit tests on synthetic models; their figures are checked in the release pass above.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 2 \
  -E '^(QuantCliTest\.PretrainedResnet20W8A8|QuantConfigJsonRealData\.AdaRoundRecipeBeatsNearestRoundingAtW4A4)$')
