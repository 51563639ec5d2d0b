// ParseShard (I/N, auto from Slurm / Open MPI / PMI variables, errors) and AssignUnits (longest
// processing time first: deterministic, every unit once, shard totals within the largest unit's cost).
#include "experiments/experiment_shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "common/error.h"

namespace cimsim {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

void ExpectError(const std::string& text, const EnvLookup& env, const std::string& fragment) {
  try {
    ParseShard(text, env);
    ADD_FAILURE() << text << " was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ExperimentShardTest, ParsesIOverNAndEveryLauncher) {
  const EnvLookup none = Env({});
  const ShardSpec s = ParseShard("2/5", none);
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  const ShardSpec slurm = ParseShard("auto", Env({{"SLURM_ARRAY_TASK_ID", "12"}, {"SLURM_ARRAY_TASK_MIN", "10"},
                                                  {"SLURM_ARRAY_TASK_COUNT", "3"}, {"PMI_RANK", "0"}, {"PMI_SIZE", "9"}}));
  EXPECT_EQ(slurm.index, 2);   // Slurm comes first
  EXPECT_EQ(slurm.count, 3);
  const ShardSpec ompi = ParseShard("auto", Env({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}}));
  EXPECT_EQ(ompi.index, 1);
  EXPECT_EQ(ompi.count, 2);
  const ShardSpec pmi = ParseShard("auto", Env({{"PMI_RANK", "0"}, {"PMI_SIZE", "1"}}));
  EXPECT_EQ(pmi.index, 0);
  EXPECT_EQ(pmi.count, 1);
}

TEST(ExperimentShardTest, RefusesMalformedShards) {
  const EnvLookup none = Env({});
  ExpectError("3/3", none, "[0, 2]");
  ExpectError("0/0", none, "N in '0/0'");
  ExpectError("-1/3", none, "I in '-1/3'");
  ExpectError("1/3x", none, "N in '1/3x'");
  ExpectError("13", none, "I/N");
  ExpectError("", none, "I/N");
  ExpectError("auto", none, "PMI_RANK");
  ExpectError("auto", Env({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}), "SLURM_ARRAY_TASK_ID = 4");
  ExpectError("auto", Env({{"OMPI_COMM_WORLD_RANK", "a"}, {"OMPI_COMM_WORLD_SIZE", "2"}}), "OMPI_COMM_WORLD_RANK");
  ExpectError("auto", Env({{"PMI_RANK", "0"}, {"PMI_SIZE", "99999999999999"}}), "PMI_SIZE");
}

TEST(ExperimentShardTest, AssignsEveryUnitOnceBalancedAndTheSameEveryTime) {
  // Three kinds of points (the CIM/digital split moves layers off the chip), 3 instances each.
  std::vector<double> costs;
  for (int p = 0; p < 12; ++p)
    for (int k = 0; k < 3; ++k) costs.push_back(p % 3 == 0 ? 10.0 : p % 3 == 1 ? 4.0 : 1.0);
  for (int64_t shards : {1, 2, 4, 7, 36, 50}) {
    const std::vector<int64_t> a = AssignUnits(costs, shards);
    ASSERT_EQ(a.size(), costs.size());
    EXPECT_EQ(a, AssignUnits(costs, shards));
    std::vector<double> load(static_cast<size_t>(shards), 0.0);
    for (size_t u = 0; u < a.size(); ++u) {
      ASSERT_GE(a[u], 0);
      ASSERT_LT(a[u], shards);
      load[static_cast<size_t>(a[u])] += costs[u];
    }
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    if (shards <= 36) {
      EXPECT_LE(*hi - *lo, 10.0) << shards << " shards";   // within the largest unit
    }
  }
  // Four shards: 180 in total, 45 each exactly for these costs.
  const std::vector<int64_t> four = AssignUnits(costs, 4);
  std::vector<double> load(4, 0.0);
  for (size_t u = 0; u < four.size(); ++u) load[static_cast<size_t>(four[u])] += costs[u];
  for (double l : load) EXPECT_EQ(l, 45.0);
  EXPECT_THROW(AssignUnits(costs, 0), std::invalid_argument);
  EXPECT_THROW(AssignUnits({1.0, -1.0}, 2), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
