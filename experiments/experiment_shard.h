// experiment_shard.h — which share of an experiment's work units one process runs (`--shard`).
//
// A sharded run splits the units (sweep point p, chip instance k) (experiments/point_units.h) over N
// processes that share one output directory; shard I runs the units assigned to I and writes only their
// unit files, so no two shards ever write the same file. Every shard computes the same assignment from
// the config alone:
//   longest processing time first — units sorted by estimated cost, largest first (ties: lower unit
//   number u = p·instances + k first), each given to the shard with the least cost so far (ties: the
//   lowest shard) —
// which keeps the shards' totals within the largest unit's cost of each other when the points differ
// in cost (e.g. a sweep of the CIM/digital split point). The results do not depend on the assignment
// (every unit's draws are its own), only the wall time does.
//
// `--shard I/N` (0 <= I < N) or `--shard auto`, which reads, in this order:
//   Slurm job arrays   I = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (0 when MIN is unset),
//                      N = SLURM_ARRAY_TASK_COUNT
//   Open MPI           OMPI_COMM_WORLD_RANK / OMPI_COMM_WORLD_SIZE
//   MPICH, Intel MPI   PMI_RANK / PMI_SIZE
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cimsim {

struct ShardSpec {
  int64_t index = 0;   // I
  int64_t count = 1;   // N
};

// Reads a variable of the environment (nullptr when unset); std::getenv in the CLI, a map in tests.
using EnvLookup = std::function<const char*(const char*)>;

// `text` as given to --shard. InputError naming `--shard`, the value (or the variable) and what is
// allowed when it is malformed, out of range, or "auto" finds no launcher variables.
ShardSpec ParseShard(const std::string& text, const EnvLookup& env);

// The shard of every unit (costs[u] >= 0, finite) by the rule above. std::invalid_argument for
// shards < 1 or a negative or non-finite cost.
std::vector<int64_t> AssignUnits(const std::vector<double>& costs, int64_t shards);

}  // namespace cimsim
