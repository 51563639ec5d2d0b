#!/usr/bin/env bash
# slurm_experiment.sh — a cimsim experiment as a Slurm job array of N shards plus a merge job that runs
# once every shard has ended (docs/experiments.md, "Sharded runs").
#
#   scripts/slurm_experiment.sh CONFIG OUT_DIR N [extra sbatch options...]
#
# OUT_DIR must be on a file system every node sees. Each array task runs
#   cimsim experiment --config CONFIG --out OUT_DIR --shard auto
# (shard I = SLURM_ARRAY_TASK_ID of 0..N−1) with the CPUs Slurm gave it (--cpus-per-task; cimsim's thread
# default follows the task's CPU binding and cgroup). The merge job depends on the array with
# afterany, so it also runs when some shard failed: it then reports the points still waiting for units;
# resubmit those shards (sbatch --array=I,J ...) or run `cimsim experiment --config CONFIG --out OUT_DIR
# --resume`, then merge again. CIMSIM (default: cimsim on PATH) selects the binary.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 CONFIG OUT_DIR N [sbatch options...]" >&2
  exit 2
fi
config=$1 out=$2 n=$3
shift 3
case $n in '' | *[!0-9]* | 0) echo "$0: N = '$n'; expected a whole number >= 1" >&2; exit 2 ;; esac
[ -f "$config" ] || { echo "$0: $config: no such config file" >&2; exit 2; }
cimsim=${CIMSIM:-cimsim}
mkdir -p "$out/slurm"
array=$(sbatch --parsable --job-name=cimsim-shards --array="0-$((n - 1))" --output="$out/slurm/shard-%a.log" "$@" \
  --wrap="$cimsim experiment --config '$config' --out '$out' --shard auto")
merge=$(sbatch --parsable --job-name=cimsim-merge --dependency="afterany:${array%%;*}" --output="$out/slurm/merge.log" \
  --wrap="$cimsim experiment merge '$out'")
echo "submitted shards $array (0..$((n - 1))) and merge $merge; results: $out/results.h5"
