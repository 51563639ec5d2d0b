# Sourced by the scripts: points CIMSIM_DATA and CIMSIM_MODEL at ../shared (beside the clone) unless
# they are already set, and says so.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${CIMSIM_DATA:-}" ] && [ -d "$root/../shared/data/cifar10" ]; then
  export CIMSIM_DATA="$(cd "$root/../shared/data/cifar10" && pwd)"
fi
if [ -z "${CIMSIM_MODEL:-}" ]; then
  export CIMSIM_MODEL="$(cd "$root/.." && pwd)/shared/models/resnet20_cifar10.h5"
fi
echo "CIMSIM_DATA=${CIMSIM_DATA:-(unset)}  CIMSIM_MODEL=$CIMSIM_MODEL" >&2
