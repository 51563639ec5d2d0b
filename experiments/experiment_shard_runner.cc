// experiment_shard_runner.cc — RunExperimentShard and MergeExperiment (experiments/experiment_runner.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "common/h5_file.h"
#include "experiments/experiment_runner.h"
#include "experiments/lifetime_runner.h"
#include "experiments/point_units.h"
#include "experiments/run_support.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using namespace run_support;

}  // namespace

ShardOutcome RunExperimentShard(const ExperimentConfig& c, const ExperimentOptions& o, const ShardSpec& shard) {
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    throw InputError("--shard: " + std::to_string(shard.index) + "/" + std::to_string(shard.count) +
                     "; expected I/N with 0 <= I < N");
  const Prepared prep = Prepare(c);
  ThreadPool pool(ThreadCount(c, o));
  RunContext ctx{c, prep.model, prep.test, {}, {}, {}, pool, nullptr, o.stop};
  if (c.calibration.kind == CalibrationKind::kFile) ctx.file = LoadChipCalibration(c.calibration.file);
  const RunFiles f = MakeRunFiles(c, o.out_dir, static_cast<int64_t>(prep.points.size()), o.provenance);

  // Units: (point, instance), unit u = p·instances + k; in a lifetime run the sweep points (unit u = g,
  // every instance of a chip is read at every time in one process; its result points are its files).
  // Every shard computes the same assignment over all units.
  const bool lifetime = c.lifetime.has_value();
  const int64_t per_point = lifetime ? LifetimePointCount(*c.lifetime, 1) : 1;   // result points per unit
  const int64_t units_per_point = lifetime ? 1 : c.instances;
  std::vector<double> costs;
  for (const PlacementPlan& plan : prep.plans) {
    const double cost = UnitCost(prep.model, plan) * static_cast<double>(lifetime ? c.instances * per_point : 1);
    for (int64_t k = 0; k < units_per_point; ++k) costs.push_back(cost);
  }
  const std::vector<int64_t> owner = AssignUnits(costs, shard.count);
  // Whether unit u is in DIR already (files of another config: InputError).
  const auto done_already = [&](int64_t u) {
    if (lifetime) {
      for (int64_t r = u * per_point; r < (u + 1) * per_point; ++r) {
        const std::string file = PointFileName(o.out_dir, r, f.total);
        if (!fs::exists(file) || !ReadIntactPointSummary(file, f.key, o.out_dir)) return false;
      }
      return true;
    }
    const int64_t p = u / c.instances, k = u % c.instances;
    for (const std::string& file : {PointFileName(o.out_dir, p, f.total), UnitFileName(o.out_dir, p, k, f.total, c.instances)})
      if (fs::exists(file) && ReadIntactPointSummary(file, f.key, o.out_dir)) return true;
    return false;
  };
  ShardOutcome out;
  std::vector<int64_t> mine;
  for (size_t u = 0; u < owner.size(); ++u) {
    if (owner[u] != shard.index) continue;
    ++out.assigned;
    if (done_already(static_cast<int64_t>(u))) ++out.reused;
    else mine.push_back(static_cast<int64_t>(u));
  }
  if (mine.empty()) return out;
  MakeDirectory(o.out_dir + (lifetime ? "/points" : "/units"));
  ctx.activations = CalibrationActivations(c, prep);
  ctx.statistics = StatisticsInputs(c, prep, pool);
  std::unique_ptr<Progress> progress;
  if (o.progress)
    progress = std::make_unique<Progress>(
        Progress::ToStderr("shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count),
                           static_cast<int64_t>(mine.size()) * per_point * (lifetime ? c.instances : 1) * c.count));
  ctx.progress = progress.get();
  const LifetimeRun run{c, prep.model, prep.test, ctx.activations, ctx.statistics, pool, progress.get(), o.stop};
  for (const int64_t u : mine) {
    const auto start = std::chrono::steady_clock::now();
    try {
      if (lifetime) {
        // The chip point's (time, policy) result points, each saved as its time finishes.
        std::vector<bool> finished(static_cast<size_t>(f.total), false);   // this chip point's saved times
        for (int64_t r = u * per_point; r < (u + 1) * per_point; ++r)
          finished[static_cast<size_t>(r)] = fs::exists(PointFileName(o.out_dir, r, f.total));
        const auto save = [&](std::vector<std::pair<int64_t, PointData>>& time_points) {
          for (auto& [index, data] : time_points) {
            WritePointFile(PointFileName(o.out_dir, index, f.total), data, f.key, f.total, ProvenanceWriter(f));
            if (o.progress) PrintPoint(data.summary, f.total);
          }
        };
        RunLifetimePoint(run, prep.points[static_cast<size_t>(u)], prep.plans[static_cast<size_t>(u)], finished, save);
      } else {
        const int64_t p = u / c.instances, k = u % c.instances;
        const PointData unit =
            RunInstance(ctx, prep.points[static_cast<size_t>(p)], prep.plans[static_cast<size_t>(p)], k);
        WriteUnitFile(UnitFileName(o.out_dir, p, k, f.total, c.instances), unit, k, c.instances, f.key, f.total,
                      f.provenance);
        if (o.progress)
          std::fprintf(stderr, "unit point %lld instance %lld %s: accuracy %.2f %% (%.1f s)\n", static_cast<long long>(p),
                       static_cast<long long>(k), unit.summary.params.dump().c_str(), 100 * unit.summary.accuracy[0],
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    } catch (const Interrupted&) {
      throw Interrupted(static_cast<int>(out.ran));
    }
    ++out.ran;
  }
  if (progress) progress->Finish();
  return out;
}

MergeOutcome MergeExperiment(const std::string& dir, const Provenance* provenance) {
  // The run's config, from any of its files.
  std::string stored;
  std::string from;
  for (const char* sub : {"/points", "/units"}) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir + sub, ec))
      if (e.path().extension() == ".h5") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (!files.empty() && stored.empty()) {
      from = files.front().string();
      const H5File h = H5File::OpenRead(from);
      if (!h.HasAttribute("/", "config")) throw InputError(from + ": not a cimsim experiment point or unit file");
      stored = h.ReadStringAttribute("/", "config");
    }
  }
  if (stored.empty()) throw InputError(dir + ": no points/ or units/ files to merge (is it an experiment's --out?)");
  json config_json;
  try {
    config_json = json::parse(stored);
  } catch (const json::exception& e) {
    throw InputError(from + ": attribute config is not JSON: " + e.what());
  }
  const ExperimentConfig c = ParseExperimentConfig(config_json, from + " (attribute config)", ConfigFiles::kMayBeAbsent);
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  const RunFiles f = MakeRunFiles(c, dir, static_cast<int64_t>(points.size()), provenance);
  if (f.key != stored)
    throw InputError(from + ": its config does not read back to itself; merge it with the cimsim version that wrote it");
  MakeDirectory(dir + "/points");
  MergeOutcome out;
  const size_t total = static_cast<size_t>(f.total);
  out.points.resize(total);
  std::vector<bool> finished(total, false);
  for (size_t p = 0; p < total; ++p) {
    const int64_t pi = static_cast<int64_t>(p);
    const std::string point_file = PointFileName(dir, pi, f.total);
    if (const std::optional<PointSummary> s = fs::exists(point_file) ? ReadIntactPointSummary(point_file, f.key, dir)
                                                                      : std::nullopt) {
      out.points[p] = *s;
      finished[p] = true;
      continue;
    }
    if (c.lifetime) {
      ++out.missing_points;
      continue;
    }
    std::vector<PointData> units;
    for (int64_t k = 0; k < c.instances; ++k) {
      const std::string unit = UnitFileName(dir, pi, k, f.total, c.instances);
      std::optional<PointData> kept;
      if (fs::exists(unit)) kept = ReadIntactUnitFile(unit, f.key, pi, k, f.total, dir);
      if (!kept) {
        ++out.missing_units;
        continue;
      }
      units.push_back(std::move(*kept));
    }
    if (static_cast<int64_t>(units.size()) != c.instances) {
      ++out.missing_points;
      continue;
    }
    const PointData data = MergeInstances(units);
    WritePointFile(point_file, data, f.key, f.total, ProvenanceWriter(f));
    out.points[p] = data.summary;
    finished[p] = true;
    ++out.merged_points;
  }
  WriteTables(f, out.points, finished);
  for (size_t p = 0; p < total; ++p) out.finished_points += finished[p] ? 1 : 0;
  return out;
}

}  // namespace cimsim
