// cimsim experiment — a quantized network on simulated CIM hardware over a sweep of chip parameters,
// placements and chip instances; results.h5, summary.json and traces into --out (docs/experiments.md).
// With --shard I/N (or auto) only shard I's units, into --out/units/; `cimsim experiment merge DIR`
// then builds results.h5 and summary.json from the units and points there.
//
// SIGINT / SIGTERM: the handler only sets a flag; the run stops between image batches, every finished
// point stays in --out, and the command exits 130 (SIGINT) or 143 (SIGTERM) after saying how to resume.
#include <boost/program_options.hpp>
#include <filesystem>
#include <cstdio>
#include <cstdlib>

#include "apps/cimsim/commands.h"
#include "common/error.h"
#include "apps/cimsim/output_path.h"
#include "common/directory_lock.h"
#include "apps/cimsim/stop_signal.h"
#include "experiments/experiment_config.h"
#include "experiments/experiment_runner.h"

namespace cimsim::cli {
namespace po = boost::program_options;
namespace {

void PrintTable(const std::vector<PointSummary>& points) {
  if (points.empty()) return;
  std::printf("%-6s %-44s %16s %12s %s\n", "point", "parameters", "accuracy %", "bytes/img", "mean rel. dot error (CIM layers)");
  for (const PointSummary& p : points) {
    double rel = 0;
    int n = 0;
    for (double r : p.dot_relative)
      if (r > 0) {
        rel += r;
        ++n;
      }
    std::printf("%-6lld %-44s %8.2f ± %5.2f %12lld %.4f\n", static_cast<long long>(p.index), p.params.dump().c_str(),
                100 * p.accuracy_mean, 100 * p.accuracy_std, static_cast<long long>(p.transmitted_bytes),
                n > 0 ? rel / n : 0.0);
  }
}

int MergeCommand(const std::vector<std::string>& args) {
  std::string dir;
  po::options_description desc(
      "cimsim experiment merge: results.h5 and summary.json of DIR from its finished points and the unit files\n"
      "of sharded runs (docs/experiments.md); needs neither the model nor the data, and may be run again\n"
      "usage: cimsim experiment merge DIR\noptions");
  desc.add_options()("help,h", "show this help")("dir", po::value(&dir)->required(), "the experiment's --out");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm, &positional)) return 0;
  if (!std::filesystem::is_directory(dir))
    throw InputError("experiment merge " + dir + ": not a directory; give an experiment's --out directory");
  const DirectoryLock lock(dir, "experiment merge");
  const Provenance provenance = CommandProvenance("experiment", {"merge", dir});
  const MergeOutcome m = MergeExperiment(dir, &provenance);
  std::vector<PointSummary> finished;
  for (const PointSummary& p : m.points)
    if (!p.params.is_null()) finished.push_back(p);
  PrintTable(finished);
  std::printf("wrote %s/results.h5 and %s/summary.json: %lld of %zu points (%lld joined from units now)", dir.c_str(),
              dir.c_str(), static_cast<long long>(m.finished_points), m.points.size(),
              static_cast<long long>(m.merged_points));
  if (m.missing_points > 0)
    std::printf("; %lld points wait for %lld unit(s): run the missing shards (or --resume) and merge again",
                static_cast<long long>(m.missing_points), static_cast<long long>(m.missing_units));
  std::printf("\n");
  return 0;
}

}  // namespace

int ExperimentCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "merge") return MergeCommand({args.begin() + 1, args.end()});
  std::string config_path, out_dir = "out/experiment", shard_text;
  bool resume = false;
  int threads = 0;
  po::options_description desc(
      "cimsim experiment: a quantized network on simulated CIM hardware over sweeps (docs/experiments.md)\n"
      "usage: cimsim experiment --config run.json [--out DIR] [--resume] [--threads T] [--shard I/N|auto]\n"
      "       cimsim experiment merge DIR\noptions");
  desc.add_options()("help,h", "show this help")(
      "config", po::value(&config_path)->required(), "experiment config, JSON (docs/experiments.md)")(
      "out", po::value(&out_dir)->default_value(out_dir), "output directory: results.h5, summary.json, points/")(
      "resume", po::bool_switch(&resume), "continue an interrupted run in --out, skipping finished points and units")(
      "threads", po::value(&threads)->default_value(0),
      "worker threads (0: the config's \"threads\", else the CPUs this process may use)")(
      "shard", po::value(&shard_text),
      "run only shard I of N (0 <= I < N) of the (point, instance) units into --out/units/; 'auto' reads "
      "Slurm array or MPI launcher variables; then: cimsim experiment merge DIR");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  if (threads < 0 || threads > 1024)
    throw InputError("--threads: " + std::to_string(threads) + " is out of range; allowed 0..1024 (0: automatic)");
  CheckOutputDirectory("--out", out_dir);
  const ExperimentConfig config = LoadExperimentConfig(config_path);
  ExperimentOptions options;
  options.out_dir = out_dir;
  options.resume = resume;
  options.threads = threads;
  options.stop = InstallStopHandlers();
  const Provenance provenance = CommandProvenance("experiment", args);
  options.provenance = &provenance;
  if (vm.count("shard")) {
    const ShardSpec shard = ParseShard(shard_text, [](const char* name) { return std::getenv(name); });
    std::filesystem::create_directories(out_dir);
    // The shards of one run share the directory; one process per shard; no unsharded run or merge meanwhile.
    const DirectoryLock run_lock(out_dir, "--out", DirectoryLock::Mode::kShared);
    const DirectoryLock shard_lock(out_dir, "--out", DirectoryLock::Mode::kExclusive,
                                   ".cimsim.shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".lock");
    try {
      const ShardOutcome r = RunExperimentShard(config, options, shard);
      std::printf("shard %lld/%lld: %lld units assigned, %lld already in %s, %lld written to %s/units/; "
                  "when every shard is done: cimsim experiment merge %s\n",
                  static_cast<long long>(shard.index), static_cast<long long>(shard.count),
                  static_cast<long long>(r.assigned), static_cast<long long>(r.reused), out_dir.c_str(),
                  static_cast<long long>(r.ran), out_dir.c_str(), out_dir.c_str());
      return 0;
    } catch (const Interrupted& e) {
      std::fprintf(stderr, "cimsim: interrupted; %d unit(s) of this shard are in %s/units; run the same command "
                           "again to continue\n", e.finished_points, out_dir.c_str());
      return 128 + StopSignal();
    }
  }
  std::filesystem::create_directories(out_dir);
  const DirectoryLock lock(out_dir, "--out");
  try {
    const std::vector<PointSummary> points = cimsim::RunExperiment(config, options);
    PrintTable(points);
    std::printf("wrote %s/results.h5 and %s/summary.json (%zu points)\n", out_dir.c_str(), out_dir.c_str(), points.size());
    return 0;
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "cimsim: interrupted; %d finished point(s) are in %s; continue with --resume\n",
                 e.finished_points, out_dir.c_str());
    return 128 + StopSignal();
  }
}

}  // namespace cimsim::cli
