#include "experiments/experiment_shard.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "common/error.h"

namespace cimsim {
namespace {

// A whole decimal number in [lo, hi], or InputError naming `what`.
int64_t ParseCount(const std::string& text, int64_t lo, int64_t hi, const std::string& what) {
  int64_t v = 0;
  bool ok = !text.empty() && text.size() <= 12;
  for (char ch : text) {
    if (ch < '0' || ch > '9') ok = false;
    if (ok) v = v * 10 + (ch - '0');
  }
  if (!ok || v < lo || v > hi)
    throw InputError("--shard: " + what + " = '" + text + "'; expected a whole number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  return v;
}

constexpr int64_t kMaxShards = 1000000;

ShardSpec FromVariables(const EnvLookup& env, const char* rank, const char* size, const char* min = nullptr) {
  const int64_t n = ParseCount(env(size), 1, kMaxShards, std::string("auto: ") + size);
  const int64_t offset = min != nullptr && env(min) != nullptr ? ParseCount(env(min), 0, INT64_C(999999999999),
                                                                            std::string("auto: ") + min)
                                                               : 0;
  const int64_t id = ParseCount(env(rank), 0, INT64_C(999999999999), std::string("auto: ") + rank);
  if (id < offset || id - offset >= n)
    throw InputError(std::string("--shard: auto: ") + rank + " = " + std::to_string(id) + " gives shard " +
                     std::to_string(id - offset) + " of " + std::to_string(n) + "; expected 0 .. " +
                     std::to_string(n - 1));
  return {id - offset, n};
}

}  // namespace

ShardSpec ParseShard(const std::string& text, const EnvLookup& env) {
  if (text == "auto") {
    if (env("SLURM_ARRAY_TASK_ID") != nullptr && env("SLURM_ARRAY_TASK_COUNT") != nullptr)
      return FromVariables(env, "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN");
    if (env("OMPI_COMM_WORLD_RANK") != nullptr && env("OMPI_COMM_WORLD_SIZE") != nullptr)
      return FromVariables(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
    if (env("PMI_RANK") != nullptr && env("PMI_SIZE") != nullptr) return FromVariables(env, "PMI_RANK", "PMI_SIZE");
    throw InputError("--shard auto: none of SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, "
                     "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE or PMI_RANK/PMI_SIZE is set; "
                     "give --shard I/N (0 <= I < N) instead");
  }
  const size_t slash = text.find('/');
  if (slash == std::string::npos)
    throw InputError("--shard: '" + text + "'; expected I/N (shard I of N, 0 <= I < N) or auto");
  const int64_t n = ParseCount(text.substr(slash + 1), 1, kMaxShards, "N in '" + text + "'");
  const int64_t i = ParseCount(text.substr(0, slash), 0, n - 1, "I in '" + text + "'");
  return {i, n};
}

std::vector<int64_t> AssignUnits(const std::vector<double>& costs, int64_t shards) {
  if (shards < 1) throw std::invalid_argument("AssignUnits: shards = " + std::to_string(shards) + ", must be >= 1");
  for (double c : costs)
    if (!std::isfinite(c) || c < 0) throw std::invalid_argument("AssignUnits: a cost is negative or not finite");
  std::vector<size_t> order(costs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });
  std::vector<double> load(static_cast<size_t>(shards), 0.0);
  std::vector<int64_t> shard(costs.size(), 0);
  for (size_t u : order) {
    const auto least = std::min_element(load.begin(), load.end());   // the first of equal loads
    shard[u] = least - load.begin();
    *least += costs[u];
  }
  return shard;
}

}  // namespace cimsim
