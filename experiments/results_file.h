// results_file.h — the files of an experiment directory (layout: docs/results_format.md).
//
// A finished point is written once, atomically, to points/NNNN.h5 (group /points/NNNN with its
// attributes, accuracy, dot-product errors and traces, plus root attribute `config` and dataset
// `/summary` (one JSON string: a dataset, as 1,000 instances' summary outgrows an attribute's 64 KiB)
// so that --resume can check and reload it). results.h5 is then rebuilt atomically by copying the
// groups of every finished point file; summary.json likewise. No wall-clock values go into the HDF5
// files, so an interrupted and resumed run writes the same results.h5 content as an uninterrupted one.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/h5_file.h"
#include "experiments/experiment_runner.h"
#include "experiments/probe_core.h"

namespace cimsim {

struct PointData {
  PointSummary summary;
  std::string xbar_json;                      // instance 0's chip
  std::vector<std::string> cim_layers;
  int64_t images = 0;
  std::vector<int64_t> correct;               // [instances]
  std::vector<double> dot_rmse;               // [instances × layers]
  std::map<std::string, LayerTrace> traces;   // by layer name, every instance appended
  // Lifetime points only (lifetime set): the time and policy, and per instance and layer (every
  // conv/linear layer, 0 for digital ones) the drift factor α applied, the relative error on the
  // drift-reference input, and whether the layer was reprogrammed at this time (experiments/lifetime_runner.h).
  struct Lifetime {
    int64_t chip_point = 0, time_index = 0;
    double time = 0;                            // s after programming
    std::string policy;
    std::vector<double> drift_alpha;            // [instances × layers]
    std::vector<double> reference_relative;     // [instances × layers]
    std::vector<int32_t> reprogrammed;          // [instances × layers], 0 or 1
  };
  std::optional<Lifetime> lifetime;
};

// dir/points/NNNN.h5 and /points/NNNN, NNNN = IndexName(index, points_total) (common/index_names.h:
// four digits up to 10,000 points, wider beyond, so that names sort in point order).
std::string PointFileName(const std::string& dir, int64_t index, int64_t points_total);
std::string PointGroup(int64_t index, int64_t points_total);

// config_key: the config as JSON text, stored to recognise the run on --resume. Root attributes:
// config, points_total, and whatever `extra_attributes` writes (a unit file's instance); dataset /summary.
void WritePointFile(const std::string& path, const PointData& point, const std::string& config_key, int64_t points_total,
                    const std::function<void(H5File&)>& extra_attributes = {});
// A point or unit file that cannot be trusted: unreadable as HDF5, or its content checksum (written by
// WritePointFile, common/h5_file.h) differs — damaged or edited after it was written.
struct DamagedPointFile : InputError {
  using InputError::InputError;
};
// A point or unit file opened for reading after it was read whole in isolation and its content checksum
// verified (DamagedPointFile otherwise: unreadable, no checksum, or a different one).
H5File OpenVerifiedPointFile(const std::string& path);
// The summary of the opened point file `f`; InputError when it was written by another config (config_key
// differs) or is not a point file.
PointSummary ReadPointSummary(const H5File& f, const std::string& config_key);
// OpenVerifiedPointFile, then ReadPointSummary.
PointSummary ReadPointSummary(const std::string& path, const std::string& config_key);
// For --resume and merge: moves the damaged file `path` to dir/damaged/ (never over another file there),
// naming it and `why` in a note on stderr, so that its point or unit is computed again.
void SetAsideDamaged(const std::string& path, const std::string& dir, const DamagedPointFile& why);
// ReadPointSummary, or nullopt for a damaged file, which is set aside (SetAsideDamaged); another
// config's file still throws InputError. The file is read (and its checksum verified) once.
std::optional<PointSummary> ReadIntactPointSummary(const std::string& path, const std::string& config_key,
                                                   const std::string& dir);
// results.h5 from the finished point files (in index order). lifetime_json: the resolved "lifetime" config,
// written as the root attribute `lifetime` when not empty.
// With `provenance`, group /provenance records who wrote the file (common/provenance.h).
// `points`: the finished points' summaries, in the order of point_files, for the flat /table
// (experiments/results_table.h).
void WriteResultsFile(const std::string& path, const std::string& config_json, int64_t points_total, int64_t instances,
                      const nlohmann::json& swept, const std::vector<std::string>& point_files,
                      const std::vector<PointSummary>& points, const std::string& lifetime_json = "",
                      const Provenance* provenance = nullptr);
// summary.json, atomically (with "provenance" when given).
void WriteSummaryJson(const std::string& path, const nlohmann::json& config, const std::vector<PointSummary>& points,
                      int64_t points_total, const Provenance* provenance = nullptr);
nlohmann::json SummaryToJson(const PointSummary& s);
PointSummary SummaryFromJson(const nlohmann::json& j);

}  // namespace cimsim
