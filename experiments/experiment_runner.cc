#include "experiments/experiment_runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "experiments/lifetime_runner.h"
#include "experiments/point_units.h"
#include "experiments/run_support.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using namespace run_support;

// Rewrites the tables after finished points. A rewrite copies every finished point, so rewriting after
// each of P points would cost O(P²); instead a rewrite is skipped while less than 10× the previous
// rewrite's duration has passed since it ended (the tables then lag by a few points, which points/
// holds), keeping the total at most ~10 % of the run; Finish() always writes.
class TablesWriter {
 public:
  TablesWriter(const RunFiles& f, const std::vector<PointSummary>& done, const std::vector<bool>& finished)
      : f_(f), done_(done), finished_(finished) {}
  void AfterPoint() {
    const auto now = std::chrono::steady_clock::now();
    if (written_ && now - last_end_ < 10 * last_cost_) {
      pending_ = true;
      return;
    }
    Write();
  }
  void Finish() {
    if (pending_ || !written_) Write();
  }

 private:
  void Write() {
    const auto start = std::chrono::steady_clock::now();
    WriteTables(f_, done_, finished_);
    last_end_ = std::chrono::steady_clock::now();
    last_cost_ = last_end_ - start;
    written_ = true;
    pending_ = false;
  }
  const RunFiles& f_;
  const std::vector<PointSummary>& done_;
  const std::vector<bool>& finished_;
  std::chrono::steady_clock::time_point last_end_;
  std::chrono::steady_clock::duration last_cost_{};
  bool written_ = false, pending_ = false;
};

bool AnyUnitFile(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/units", ec))
    if (e.path().extension() == ".h5") return true;
  return false;
}

}  // namespace

std::vector<PointSummary> RunExperiment(const ExperimentConfig& c, const ExperimentOptions& o) {
  // ---- everything is checked before anything is written ----
  const Prepared prep = Prepare(c);
  const std::vector<ExperimentPoint>& points = prep.points;
  const std::vector<PlacementPlan>& plans = prep.plans;
  ThreadPool pool(ThreadCount(c, o));
  RunContext ctx{c, prep.model, prep.test, {}, {}, {}, pool, nullptr, o.stop};
  if (c.calibration.kind == CalibrationKind::kFile) ctx.file = LoadChipCalibration(c.calibration.file);

  // ---- the output directory ----
  const RunFiles f = MakeRunFiles(c, o.out_dir, static_cast<int64_t>(points.size()), o.provenance);
  MakeDirectory(o.out_dir + "/points");
  const size_t total = static_cast<size_t>(f.total);
  std::vector<PointSummary> done(total);
  std::vector<bool> finished(total, false);
  bool any_existing = AnyUnitFile(o.out_dir);
  for (size_t p = 0; p < total; ++p) {
    const std::string file = PointFileName(o.out_dir, static_cast<int64_t>(p), f.total);
    if (!fs::exists(file)) continue;
    any_existing = true;
    if (!o.resume) break;
    const std::optional<PointSummary> s = ReadIntactPointSummary(file, f.key, o.out_dir);
    if (!s) continue;
    done[p] = *s;
    finished[p] = true;
  }
  if (any_existing && !o.resume)
    throw InputError(o.out_dir + ": holds the results of an earlier run; pass --resume to continue it, or choose "
                                 "another --out");

  // ---- calibration inputs shared by every chip ----
  if (std::find(finished.begin(), finished.end(), false) != finished.end()) {
    ctx.activations = CalibrationActivations(c, prep);
    ctx.statistics = StatisticsInputs(c, prep, pool);
  }

  // ---- the points ----
  int64_t to_run = 0;
  for (bool fin : finished) to_run += fin ? 0 : 1;
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>(Progress::ToStderr("experiment", to_run * c.instances * c.count));
  ctx.progress = progress.get();
  TablesWriter tables(f, done, finished);
  tables.Finish();   // the directory is a readable (possibly empty) result from the start
  int finished_count = 0;
  for (bool fin : finished) finished_count += fin ? 1 : 0;
  if (c.lifetime) {
    const LifetimeRun run{c, prep.model, prep.test, ctx.activations, ctx.statistics, pool, progress.get(), o.stop};
    const int64_t per_point = LifetimePointCount(*c.lifetime, 1);
    for (size_t g = 0; g < points.size(); ++g) {
      const std::vector<bool> was_finished = finished;
      const auto first = was_finished.begin() + static_cast<int64_t>(g) * per_point;
      if (std::find(first, first + per_point, false) == first + per_point) continue;
      try {
        // Each time's finished (time, policy) points are saved as they come.
        const auto save = [&](std::vector<std::pair<int64_t, PointData>>& time_points) {
          for (auto& [index, data] : time_points) {
            WritePointFile(PointFileName(o.out_dir, index, f.total), data, f.key, f.total, ProvenanceWriter(f));
            done[static_cast<size_t>(index)] = data.summary;
            finished[static_cast<size_t>(index)] = true;
            ++finished_count;
          }
          tables.AfterPoint();
          if (!o.progress) return;
          for (const auto& [index, data] : time_points) PrintPoint(data.summary, f.total);
        };
        RunLifetimePoint(run, points[g], plans[g], was_finished, save);
      } catch (const Interrupted&) {
        tables.Finish();
        throw Interrupted(finished_count);
      }
    }
    tables.Finish();
    if (progress) progress->Finish();
    return done;
  }
  for (size_t p = 0; p < points.size(); ++p) {
    if (finished[p]) continue;
    const auto start = std::chrono::steady_clock::now();
    // Instance by instance; with --resume the units a sharded run left (units/) are read, not rerun.
    std::vector<PointData> units;
    try {
      for (int64_t k = 0; k < c.instances; ++k) {
        const std::string unit = UnitFileName(o.out_dir, static_cast<int64_t>(p), k, f.total, c.instances);
        std::optional<PointData> kept;
        if (o.resume && fs::exists(unit))
          kept = ReadIntactUnitFile(unit, f.key, static_cast<int64_t>(p), k, f.total, o.out_dir);
        units.push_back(kept ? std::move(*kept) : RunInstance(ctx, points[p], plans[p], k));
      }
    } catch (const Interrupted&) {
      tables.Finish();
      throw Interrupted(finished_count);
    }
    PointData data = MergeInstances(units);
    data.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WritePointFile(PointFileName(o.out_dir, static_cast<int64_t>(p), f.total), data, f.key, f.total, ProvenanceWriter(f));
    done[p] = data.summary;
    finished[p] = true;
    ++finished_count;
    tables.AfterPoint();
    if (o.progress) PrintPoint(data.summary, f.total);
  }
  tables.Finish();
  if (progress) progress->Finish();
  return done;
}

}  // namespace cimsim
