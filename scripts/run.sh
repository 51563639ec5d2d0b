#!/usr/bin/env bash
# The main job: installs dependencies, builds, evaluates the pretrained float ResNet-20 on the CIFAR-10
# test set (CIMSIM_MODEL, default ../shared/models/resnet20_cifar10.h5; CIMSIM_DATA, default
# ../shared/data/cifar10), quantizes it W8A8 (configs/quant/w8a8_aciq.json, calibrated on training
# images), runs the integer engine on the same test set, and then the default experiment
# (experiments/configs/default.json: that W8A8 model on calibrated 128×128 PCM tiles, 1,000 test
# images, traces of three layers). Writes out/eval_resnet20.json, out/resnet20_w8a8.h5,
# out/infer_resnet20_w8a8.json and out/experiment/ (results.h5, summary.json). Extra arguments go to
# `cimsim eval` and `cimsim infer` (e.g. --data ../shared/data/cifar10/test_batch_exact.bin, --limit N).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
source scripts/data_env.sh
scripts/build.sh release
if [ ! -f "$CIMSIM_MODEL" ]; then
  echo "scripts/run.sh: model file $CIMSIM_MODEL not found; set CIMSIM_MODEL to a float model (docs/model_format.md)" >&2
  exit 2
fi
mkdir -p out
cimsim=build/apps/cimsim/cimsim
"$cimsim" eval --model "$CIMSIM_MODEL" ${CIMSIM_DATA:+--data "$CIMSIM_DATA"} --json out/eval_resnet20.json "$@"
"$cimsim" quantize --model "$CIMSIM_MODEL" --config configs/quant/w8a8_aciq.json \
  ${CIMSIM_DATA:+--data "$CIMSIM_DATA"} --out out/resnet20_w8a8.h5
"$cimsim" infer --qmodel out/resnet20_w8a8.h5 ${CIMSIM_DATA:+--data "$CIMSIM_DATA"} \
  --json out/infer_resnet20_w8a8.json "$@"
rm -rf out/experiment
"$cimsim" experiment --config experiments/configs/default.json --out out/experiment
