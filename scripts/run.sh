#!/usr/bin/env bash
# The main job: installs dependencies, builds, and evaluates the pretrained float ResNet-20 on the
# CIFAR-10 test set (CIMSIM_MODEL, default ../shared/models/resnet20_cifar10.h5; CIMSIM_DATA,
# default ../shared/data/cifar10), writing out/eval_resnet20.json. Extra arguments go to `cimsim eval`.
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
exec build/apps/cimsim/cimsim eval --model "$CIMSIM_MODEL" ${CIMSIM_DATA:+--data "$CIMSIM_DATA"} \
  --json out/eval_resnet20.json "$@"
