// eval_report.h — an evaluation's figures as JSON (the `--json FILE` of `cimsim eval`).
//
// Fields: top1 (percent), correct, total, seconds, images_per_second, macs_per_image,
// gmacs_per_second, precision ("float32" | "float64-reference"), threads, batch, model, data,
// model_description, per_class [{class, name, correct, total, accuracy (percent)}].
// Written atomically: to a temporary file, then renamed, so an existing file is never half-written.
// Every JSON report cimsim writes also carries "provenance" (ProvenanceJson).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/provenance.h"
#include "experiments/evaluate.h"

namespace cimsim {

struct EvalContext {
  std::string model_path, model_description, data_path;
  EvalParams params;
};

nlohmann::json EvalReportJson(const EvalResult& result, const EvalContext& context);
// common/provenance.h as JSON: {version, commit, build, command, host, time}.
nlohmann::json ProvenanceJson(const Provenance& provenance);
// Throws InputError naming the path when it cannot be written.
void WriteJsonAtomically(const std::string& path, const nlohmann::json& json);
// Human-readable summary (several lines) for stdout.
std::string EvalSummaryText(const EvalResult& result, const EvalContext& context);

}  // namespace cimsim
