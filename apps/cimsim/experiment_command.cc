// cimsim experiment — a quantized network on simulated CIM hardware over a sweep of chip parameters,
// placements and chip instances; results.h5, summary.json and traces into --out (docs/experiments.md).
//
// SIGINT / SIGTERM: the handler only sets a flag; the run stops between image batches, every finished
// point stays in --out, and the command exits 130 (SIGINT) or 143 (SIGTERM) after saying how to resume.
#include <boost/program_options.hpp>
#include <cstdio>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "apps/cimsim/stop_signal.h"
#include "experiments/experiment_config.h"
#include "experiments/experiment_runner.h"

namespace cimsim::cli {
namespace po = boost::program_options;
namespace {

void PrintTable(const std::vector<PointSummary>& points) {
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

}  // namespace

int ExperimentCommand(const std::vector<std::string>& args) {
  std::string config_path, out_dir = "out/experiment";
  bool resume = false;
  po::options_description desc(
      "cimsim experiment: a quantized network on simulated CIM hardware over sweeps (docs/experiments.md)\n"
      "usage: cimsim experiment --config run.json [--out DIR] [--resume]\noptions");
  desc.add_options()("help,h", "show this help")(
      "config", po::value(&config_path)->required(), "experiment config, JSON (docs/experiments.md)")(
      "out", po::value(&out_dir)->default_value(out_dir), "output directory: results.h5, summary.json, points/")(
      "resume", po::bool_switch(&resume), "continue an interrupted run in --out, skipping finished points");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  const ExperimentConfig config = LoadExperimentConfig(config_path);
  ExperimentOptions options;
  options.out_dir = out_dir;
  options.resume = resume;
  options.stop = InstallStopHandlers();
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
