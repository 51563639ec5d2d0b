// results_table.h — the flat table of an experiment's results: one row per (point, instance), one
// column per swept parameter and per metric, for pandas, R and spreadsheets (docs/results_format.md).
//
// Columns, in order:
//   point, instance                          int64
//   <each swept path> (config order; lifetime runs end with lifetime.time, lifetime.policy)
//                                            int64 when every point's value is a JSON integer (or bool,
//                                            as 0/1), float64 when every value is a number, else string
//                                            (a JSON string as is, anything else as JSON text)
//   split                                    string ("" without a split; not repeated when "split" is swept)
//   transmitted_bytes                        int64, bytes per image at the split
//   accuracy                                 float64, fraction of the test images (0..1)
//   reprograms                               int64, lifetime runs only
//   dot_relative/<layer>                     float64 per conv/linear layer, model order (0: digital)
// Written as the compound dataset /table of results.h5 and as table.csv beside summary.json (RFC 4180:
// a header row, fields with a comma, quote or line break quoted, numbers in shortest round-trip form).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/h5_file.h"
#include "experiments/experiment_runner.h"

namespace cimsim {

std::vector<H5Column> ResultsTable(const nlohmann::json& swept, const std::vector<PointSummary>& points);

// The table as CSV text.
std::string TableCsv(const std::vector<H5Column>& columns);

}  // namespace cimsim
