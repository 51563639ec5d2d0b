#include "experiments/eval_report.h"

#include <cstdio>

#include "common/atomic_file.h"

namespace cimsim {
namespace {

const char* PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFloat32: return "float32";
    case Precision::kFloat64Reference: return "float64-reference";
    case Precision::kInteger: return "integer";
  }
  return "?";
}

double Percent(int64_t a, int64_t b) { return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; }

}  // namespace

nlohmann::json EvalReportJson(const EvalResult& r, const EvalContext& c) {
  nlohmann::json per_class = nlohmann::json::array();
  for (size_t i = 0; i < r.class_names.size(); ++i) {
    per_class.push_back({{"class", i},
                         {"name", r.class_names[i]},
                         {"correct", r.class_correct[i]},
                         {"total", r.class_total[i]},
                         {"accuracy", Percent(r.class_correct[i], r.class_total[i])}});
  }
  return {{"top1", r.Top1Percent()},
          {"correct", r.correct},
          {"total", r.total},
          {"seconds", r.seconds},
          {"images_per_second", r.ImagesPerSecond()},
          {"macs_per_image", r.macs_per_image},
          {"gmacs_per_second", r.ImagesPerSecond() * static_cast<double>(r.macs_per_image) * 1e-9},
          {"precision", PrecisionName(c.params.precision)},
          {"threads", c.params.threads},
          {"batch", c.params.batch_size},
          {"model", c.model_path},
          {"model_description", c.model_description},
          {"data", c.data_path},
          {"per_class", per_class}};
}

nlohmann::json ProvenanceJson(const Provenance& p) {
  return {{"version", p.version}, {"commit", p.commit}, {"build", p.build},
          {"command", p.command}, {"host", p.host},       {"time", p.time}};
}

void WriteJsonAtomically(const std::string& path, const nlohmann::json& json) {
  WriteFileAtomically(path, json.dump(2) + "\n");
}

std::string EvalSummaryText(const EvalResult& r, const EvalContext& c) {
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "model   %s (%s)\ndata    %s\n", c.model_path.c_str(),
                c.model_description.c_str(), c.data_path.c_str());
  out += line;
  std::snprintf(line, sizeof line, "top-1   %.2f %% (%lld / %lld) [%s]\n", r.Top1Percent(),
                static_cast<long long>(r.correct), static_cast<long long>(r.total), PrecisionName(c.params.precision));
  out += line;
  std::snprintf(line, sizeof line, "speed   %.3f s, %.1f images/s, %.2f GMAC/s (%d threads, batch %lld)\n", r.seconds,
                r.ImagesPerSecond(), r.ImagesPerSecond() * static_cast<double>(r.macs_per_image) * 1e-9,
                c.params.threads, static_cast<long long>(c.params.batch_size));
  out += line;
  out += "per class:";
  for (size_t i = 0; i < r.class_names.size(); ++i) {
    std::snprintf(line, sizeof line, "%s %.40s %.1f%%", i % 5 == 0 ? "\n " : "", r.class_names[i].c_str(),
                  Percent(r.class_correct[i], r.class_total[i]));
    out += line;
  }
  return out + "\n";
}

}  // namespace cimsim
