// point_units.h — a sweep point's chip instances as separate units of work, for sharded runs.
//
// Unit (p, k) is instance k of sweep point p: the chip with seed xbar.seed + k, programmed, calibrated
// and run over the test images exactly as in an unsharded run (experiments/experiment_runner.h: every
// draw of an instance comes from streams rooted at (noise_seed, p, k), so a unit's numbers do not
// depend on which process computed it, or on what else that process ran). Its result is a PointData
// with one instance, written once, atomically, to
//     DIR/units/NNNN-KKKK.h5      NNNN = IndexName(p, points_total), KKKK = IndexName(k, instances)
// in the point file format (results_file.h) plus root attributes `instance` and `instances`.
//
// MergeInstances joins a point's units, in instance order, into the PointData an unsharded run
// computes (per-instance arrays concatenated, traces appended, mean and sample std of the accuracies),
// so that points/NNNN.h5 and results.h5 are the same whatever the sharding (docs/experiments.md).
// Lifetime experiments are not split into units (their chips are read at every time together).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "experiments/results_file.h"

namespace cimsim {

std::string UnitFileName(const std::string& dir, int64_t point, int64_t instance, int64_t points_total,
                         int64_t instances);

// unit: one instance (k) of point unit.summary.index.
void WriteUnitFile(const std::string& path, const PointData& unit, int64_t instance, int64_t instances,
                   const std::string& config_key, int64_t points_total, const Provenance* provenance = nullptr);

// The unit back, bit for bit as written. InputError naming the file when it is not a unit file of this
// config (config_key), of point `point` and instance `instance`, or a dataset is missing or malformed.
PointData ReadUnitFile(const std::string& path, const std::string& config_key, int64_t point, int64_t instance,
                       int64_t points_total);
// ReadUnitFile, or nullopt when the file is damaged (its checksum fails): it is then set aside
// (SetAsideDamaged, experiments/results_file.h) so that the unit is computed again.
std::optional<PointData> ReadIntactUnitFile(const std::string& path, const std::string& config_key, int64_t point,
                                            int64_t instance, int64_t points_total, const std::string& dir);

// units[k] is instance k (one instance each, same point). std::invalid_argument when empty or when
// a unit holds other than one instance or another point.
PointData MergeInstances(const std::vector<PointData>& units);

}  // namespace cimsim
