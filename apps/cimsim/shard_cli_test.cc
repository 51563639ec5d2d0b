// End-to-end tests of sharded experiments: `cimsim experiment --shard I/N` processes started together
// on one output directory, then `cimsim experiment merge`, give the results.h5 and summary.json of
// one unsharded run — also when shards are killed and rerun, or the rest is finished by --resume, for
// a lifetime run, and through the Slurm script; bad --shard values exit 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/cimsim/cli_test_support.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using ShardCliTest = CliTest;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// summary.json without the wall-clock fields and the provenance, which no two runs share.
nlohmann::json SummaryWithoutTimes(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(Read(path));
  EXPECT_TRUE(j.contains("provenance")) << path;
  j.erase("provenance");
  for (nlohmann::json& p : j["points"]) {
    p.erase("seconds");
    p.erase("resumed");
  }
  return j;
}

// 12 points (3 devices × 2 ADC resolutions × 2 split points) × 3 instances of a quantized random
// ResNet-8, 6 images; the points differ in cost (the split moves layers off the chip), read noise is on.
std::string SweepConfig(const std::string& q, const std::string& data) {
  return R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data + R"(", "count": 6},
    "xbar": {"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "cols_max": 64, "read_noise": true}},
    "calibration": {"auto": {"inputs": "random", "fit_vectors": 32, "holdout_vectors": 32}},
    "instances": 3, "threads": 1,
    "sweep": [{"param": "device.preset", "values": ["ideal", "pcm", "rram"]},
              {"param": "crossbar.adc.bits", "values": [4, 8]},
              {"param": "split", "values": ["layer1.0.add", "layer3.0.add"]}],
    "traces": {"layers": ["layer1.0.conv2"], "vectors": 3}})";
}

std::vector<std::string> ShardArgs(const std::string& run, const std::string& out, int i) {
  return {"experiment", "--config", run, "--out", out, "--shard", std::to_string(i) + "/4"};
}

int Wait(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(ShardCliTest, FourShardsTogetherThenMergeGiveTheUnshardedResults) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string run = Config("run.json", SweepConfig(q, data));
  const RunResult whole = RunCimsim("experiment --config " + run + " --out " + Path("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  std::vector<pid_t> shards;
  for (int i = 0; i < 4; ++i) shards.push_back(SpawnCimsim(ShardArgs(run, Path("sharded"), i), Path("s" + std::to_string(i) + ".log")));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Wait(shards[static_cast<size_t>(i)]), 0) << Read(Path("s" + std::to_string(i) + ".log"));
  // Shards write only their units: no results yet, and every unit once.
  EXPECT_FALSE(fs::exists(Path("sharded/results.h5")));
  int units = 0;
  for (const auto& e : fs::directory_iterator(Path("sharded/units"))) units += e.path().extension() == ".h5" ? 1 : 0;
  EXPECT_EQ(units, 36);
  // Every shard had work (the balance itself: ExperimentShardTest).
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Read(Path("s" + std::to_string(i) + ".log")).find(" 0 units assigned"), std::string::npos);

  const RunResult merged = RunCimsim("experiment merge " + Path("sharded"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_NE(merged.output.find("12 of 12 points"), std::string::npos) << merged.output;
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("sharded/results.h5")).c_str()), 0);
  EXPECT_EQ(SummaryWithoutTimes(Path("whole/summary.json")), SummaryWithoutTimes(Path("sharded/summary.json")));
  // Merging again changes nothing.
  ASSERT_EQ(RunCimsim("experiment merge " + Path("sharded")).exit_code, 0);
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("sharded/results.h5")).c_str()), 0);
}

TEST_F(ShardCliTest, KilledShardsRerunOrResumeToTheSameResults) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string run = Config("run.json", SweepConfig(q, data));
  const RunResult whole = RunCimsim("experiment --config " + run + " --out " + Path("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  for (const std::string dir : {"rerun", "resume"}) {
    // Shards 0 and 1 finish; 2 and 3 are killed (SIGKILL) as soon as one unit file exists.
    std::vector<pid_t> shards;
    for (int i = 0; i < 4; ++i) shards.push_back(SpawnCimsim(ShardArgs(run, Path(dir), i), Path(dir + std::to_string(i) + ".log")));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool started = false;
    while (!started && std::chrono::steady_clock::now() < deadline) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(Path(dir + "/units"), ec)) started |= e.path().extension() == ".h5";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(started);
    kill(shards[2], SIGKILL);
    kill(shards[3], SIGKILL);
    EXPECT_EQ(Wait(shards[0]), 0);
    EXPECT_EQ(Wait(shards[1]), 0);
    EXPECT_EQ(Wait(shards[2]), 128 + SIGKILL);
    EXPECT_EQ(Wait(shards[3]), 128 + SIGKILL);
    // A merge now says what is missing and writes the points that are whole.
    const RunResult partial = RunCimsim("experiment merge " + Path(dir));
    ASSERT_EQ(partial.exit_code, 0) << partial.output;
    EXPECT_NE(partial.output.find("wait for"), std::string::npos) << partial.output;
    if (dir == "rerun") {
      for (int i : {2, 3}) {
        const RunResult again = RunCimsim("experiment --config " + run + " --out " + Path(dir) + " --shard " + std::to_string(i) + "/4");
        ASSERT_EQ(again.exit_code, 0) << again.output;
      }
      ASSERT_EQ(RunCimsim("experiment merge " + Path(dir)).exit_code, 0);
    } else {
      const RunResult resumed = RunCimsim("experiment --config " + run + " --out " + Path(dir) + " --resume");
      ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    }
    EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path(dir + "/results.h5")).c_str()), 0) << dir;
    EXPECT_EQ(SummaryWithoutTimes(Path("whole/summary.json")), SummaryWithoutTimes(Path(dir + "/summary.json"))) << dir;
  }
}

// scripts/slurm_experiment.sh against a stand-in `sbatch` that runs the array's tasks one after the
// other with Slurm's variables, then the dependent merge job: the results of one unsharded run.
TEST_F(ShardCliTest, SlurmArrayScriptGivesTheUnshardedResults) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string run = Config("run.json", SweepConfig(q, data));
  const RunResult whole = RunCimsim("experiment --config " + run + " --out " + Path("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  fs::create_directories(Path("bin"));
  {
    std::ofstream sbatch(Path("bin/sbatch"));
    sbatch << R"(#!/usr/bin/env bash
# Stand-in for Slurm's sbatch --parsable: --array=A-B runs --wrap once per task id with the array
# variables set, its output to --output (%a: the task id); prints only the job id, as sbatch does.
array="" wrap="" output=/dev/null
for a in "$@"; do
  case $a in --array=*) array=${a#--array=} ;; --wrap=*) wrap=${a#--wrap=} ;; --output=*) output=${a#--output=} ;; esac
done
if [ -n "$array" ]; then
  lo=${array%-*} hi=${array#*-}
  for ((i = lo; i <= hi; i++)); do
    SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_MIN=$lo SLURM_ARRAY_TASK_COUNT=$((hi - lo + 1)) \
      bash -c "$wrap" > "${output//%a/$i}" 2>&1 || exit 1
  done
  echo 1001
else
  bash -c "$wrap" > "$output" 2>&1 || exit 1
  echo 1002
fi
)";
  }
  fs::permissions(Path("bin/sbatch"), fs::perms::owner_all);
  const std::string script = std::string(CIMSIM_SOURCE_DIR) + "/scripts/slurm_experiment.sh";
  const RunResult r = RunCimsim("", "env -u CIMSIM_DATA PATH=" + Path("bin") + ":$PATH CIMSIM=" + Binary() + " " + script +
                                        " " + run + " " + Path("slurm") + " 3 #");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("submitted shards 1001 (0..2) and merge 1002"), std::string::npos) << r.output;
  EXPECT_NE(Read(Path("slurm/slurm/shard-2.log")).find("shard 2/3"), std::string::npos);
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("slurm/results.h5")).c_str()), 0);
  EXPECT_EQ(SummaryWithoutTimes(Path("whole/summary.json")), SummaryWithoutTimes(Path("slurm/summary.json")));
  // Bad arguments: exit 2 before anything is submitted.
  EXPECT_EQ(RunCimsim("", "env PATH=" + Path("bin") + ":$PATH " + script + " " + run + " " + Path("s2") + " zero #").exit_code, 2);
  EXPECT_FALSE(fs::exists(Path("s2")));
}

// Merge reads the config from the run's files: it needs neither the model (here deleted) nor the
// directory the shards ran in (relative paths).
TEST_F(ShardCliTest, MergeNeedsNeitherTheModelNorTheShardsDirectory) {
  Quantize();   // q.h5 in the test directory
  WriteData("test.bin", 6);
  Config("rel.json", SweepConfig("q.h5", "test.bin"));
  for (int i = 0; i < 2; ++i) {
    const RunResult r = RunCimsim("experiment --config rel.json --out out --shard " + std::to_string(i) + "/2",
                                  "cd " + Path("") + " && env -u CIMSIM_DATA ");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  fs::remove(Path("q.h5"));
  const RunResult merged = RunCimsim("experiment merge " + Path("out"), "cd / && env -u CIMSIM_DATA ");
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_NE(merged.output.find("12 of 12 points"), std::string::npos) << merged.output;
}

TEST_F(ShardCliTest, BadShardsExitTwo) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string run = Config("run.json", SweepConfig(q, data));
  const std::string ex = "experiment --config " + run + " --out " + Path("bad") + " --shard ";
  ExpectInputError(RunCimsim(ex + "4/4"), {"--shard", "4/4", "[0, 3]"});
  ExpectInputError(RunCimsim(ex + "1/0"), {"--shard", "1/0"});
  ExpectInputError(RunCimsim(ex + "x"), {"--shard", "'x'", "I/N"});
  ExpectInputError(RunCimsim(ex + "auto", "env -u CIMSIM_DATA -u SLURM_ARRAY_TASK_ID -u OMPI_COMM_WORLD_RANK -u PMI_RANK "),
                   {"--shard auto", "SLURM_ARRAY_TASK_ID"});
  ExpectInputError(RunCimsim(ex + "auto", "env -u CIMSIM_DATA SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_COUNT=4 "),
                   {"SLURM_ARRAY_TASK_ID", "7"});
  EXPECT_FALSE(fs::exists(Path("bad")));
  // auto from a Slurm array (ids 1..4): task 4 is shard 3 of 4.
  const RunResult slurm = RunCimsim(ex + "auto", "env -u CIMSIM_DATA SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=1 "
                                                 "SLURM_ARRAY_TASK_COUNT=4 ");
  ASSERT_EQ(slurm.exit_code, 0) << slurm.output;
  EXPECT_NE(slurm.output.find("shard 3/4"), std::string::npos) << slurm.output;
  // Merging a directory that is not an experiment's.
  ExpectInputError(RunCimsim("experiment merge " + Path("nowhere")), {"nowhere", "merge"});
}

// A lifetime run shards by sweep point: 3 chip points × 2 times × 2 policies over 2 shards, merged,
// equal the unsharded run.
TEST_F(ShardCliTest, LifetimeRunsShardBySweepPoint) {
  const std::string q = Quantize(), data = WriteData("test.bin", 8);
  const std::string life = Config("life.json", R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data +
                                                   R"(", "count": 8}, "xbar": {"device": {"preset": "pcm"},
      "crossbar": {"rows_max": 64, "cols_max": 64}},
    "calibration": {"auto": {"inputs": "random", "fit_vectors": 32, "holdout_vectors": 32}}, "instances": 2,
    "sweep": [{"param": "crossbar.adc.bits", "values": [4, 6, 8]}],
    "lifetime": {"times": [1, 86400], "policies": ["none", "global"]}})");
  const RunResult whole = RunCimsim("experiment --config " + life + " --out " + Path("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  for (int i = 0; i < 2; ++i) {
    const RunResult r = RunCimsim("experiment --config " + life + " --out " + Path("sharded") + " --shard " +
                                  std::to_string(i) + "/2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_FALSE(fs::exists(Path("sharded/results.h5")));
  const RunResult merged = RunCimsim("experiment merge " + Path("sharded"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_NE(merged.output.find("12 of 12 points"), std::string::npos) << merged.output;
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("sharded/results.h5")).c_str()), 0);
  EXPECT_EQ(SummaryWithoutTimes(Path("whole/summary.json")), SummaryWithoutTimes(Path("sharded/summary.json")));
}

}  // namespace
}  // namespace cimsim
