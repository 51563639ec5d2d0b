#include "quant/quant_plan.h"

#include <algorithm>
#include <stdexcept>

#include "common/error.h"

namespace cimsim {
namespace {

std::string Field(const std::string& where, std::string_view field) {
  return where.empty() ? std::string(field) : where + "." + std::string(field);
}

void CheckBits(int bits, const std::string& where, std::string_view field) {
  if (bits < kMinQuantBits || bits > kMaxQuantBits) {
    throw InputError(Field(where, field) + ": " + std::to_string(bits) + " is out of range; allowed " +
                     std::to_string(kMinQuantBits) + ".." + std::to_string(kMaxQuantBits));
  }
}

void CheckRange(const RangeParams& range, const std::string& where, std::string_view field) {
  try {
    range.Validate();
  } catch (const std::invalid_argument& e) {
    throw InputError(Field(where, field) + ": " + e.what());
  }
}

void CheckAtLeastOne(int64_t value, const std::string& where, std::string_view field) {
  if (value < 1) throw InputError(Field(where, field) + ": " + std::to_string(value) + " is out of range; allowed >= 1");
}

// "a, b, c" — at most `limit` names, then "... (N more)".
std::string JoinNames(const std::vector<std::string>& names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size() - limit) + " more)";
  return out;
}

std::string BitsLabel(const LayerQuantParams& p) {
  return "W" + std::to_string(p.weight_bits) + "A" + std::to_string(p.activation_bits);
}

}  // namespace

void LayerQuantParams::Validate(const std::string& where) const {
  CheckBits(weight_bits, where, "weight_bits");
  CheckBits(activation_bits, where, "activation_bits");
  CheckRange(weight_range, where, "weight_calibration");
  CheckRange(activation_range, where, "activation_calibration");
  try {
    adaround.Validate();
  } catch (const std::invalid_argument& e) {
    throw InputError(Field(where, "adaround") + "." + e.what());
  }
  CheckAtLeastOne(reconstruction_images, where, "reconstruction_images");
  if (rounding != WeightRounding::kNearest && rounding != WeightRounding::kAdaRound) {
    throw InputError(Field(where, "rounding") + ": " + std::to_string(static_cast<int>(rounding)) +
                     " is not a rounding; allowed nearest, adaround");
  }
  if (mode != QuantMode::kAuto && mode != QuantMode::kPtq && mode != QuantMode::kQat) {
    throw InputError(Field(where, "mode") + ": " + std::to_string(static_cast<int>(mode)) +
                     " is not a mode; allowed auto, ptq, qat");
  }
}

void LayerQuantOverride::ApplyTo(LayerQuantParams& p) const {
  if (weight_bits) p.weight_bits = *weight_bits;
  if (activation_bits) p.activation_bits = *activation_bits;
  if (per_channel) p.per_channel = *per_channel;
  if (bias_correction) p.bias_correction = *bias_correction;
  if (weight_range) p.weight_range = *weight_range;
  if (activation_range) p.activation_range = *activation_range;
  if (mode) p.mode = *mode;
  if (qat_method) p.qat_method = *qat_method;
  if (weight_grid) p.weight_grid = *weight_grid;
  if (output_clip_search) p.output_clip_search = *output_clip_search;
  if (output_bias_correction) p.output_bias_correction = *output_bias_correction;
  if (rounding) p.rounding = *rounding;
  if (adaround) p.adaround = *adaround;
  if (reconstruction_images) p.reconstruction_images = *reconstruction_images;
}

void CalibrationParams::Validate(const std::string& where) const {
  CheckAtLeastOne(images, where, "images");
  CheckAtLeastOne(sample_capacity, where, "sample_capacity");
  if (class_balanced && images % 10 != 0)
    throw InputError(where + ".images: " + std::to_string(images) +
                     " is not a multiple of 10, which class_balanced needs (images / 10 per class); "
                     "use e.g. " + std::to_string((images + 9) / 10 * 10) + " or set class_balanced to false");
}

std::vector<ResolvedLayer> QuantPlan::Resolve(const std::vector<std::string>& layer_names, bool allow_qat) const {
  const std::string prefix = source.empty() ? "" : source + ": ";
  const std::string default_where = prefix + "default";
  auto rule_where = [&](size_t i) { return rules[i].where.empty() ? prefix + "rules[" + std::to_string(i) + "]" : rules[i].where; };

  calibration.Validate(prefix + "calibration");
  for (size_t i = 0; i < rules.size(); ++i) {
    const bool used = std::any_of(layer_names.begin(), layer_names.end(),
                                  [&](const std::string& name) { return GlobMatch(rules[i].pattern, name); });
    if (!used) {
      throw InputError(rule_where(i) + ": \"match\": \"" + rules[i].pattern + "\" matches none of the model's " +
                       std::to_string(layer_names.size()) + " layers: " + JoinNames(layer_names, 64));
    }
  }

  std::vector<ResolvedLayer> out;
  out.reserve(layer_names.size());
  for (const std::string& name : layer_names) {
    LayerQuantParams p = defaults;
    // Where each field that decides PTQ/QAT got its value, for the messages.
    std::string weight_from = default_where, activation_from = default_where, mode_from = default_where,
                grid_from = default_where;
    std::vector<std::string> applied = {default_where};
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!GlobMatch(rules[i].pattern, name)) continue;
      const LayerQuantOverride& set = rules[i].set;
      set.ApplyTo(p);
      applied.push_back(rule_where(i));
      if (set.weight_bits) weight_from = applied.back();
      if (set.activation_bits) activation_from = applied.back();
      if (set.mode) mode_from = applied.back();
      if (set.weight_grid) grid_from = applied.back();
    }
    try {
      p.Validate(name);
      if (p.NeedsReconstruction() && p.reconstruction_images > calibration.images)
        throw InputError(name + ".reconstruction_images: " + std::to_string(p.reconstruction_images) +
                         " is more than the calibration images (" + std::to_string(calibration.images) +
                         "); allowed 1.." + std::to_string(calibration.images));
    } catch (const InputError& e) {
      throw InputError(prefix + e.what() + " (layer " + name + " takes " + JoinNames(applied, applied.size()) + ")");
    }

    const bool needs_qat =
        p.mode == QuantMode::kQat || (p.mode == QuantMode::kAuto && std::min(p.weight_bits, p.activation_bits) < kMinPtqBits);
    if (p.weight_grid == WeightGrid::kFull && (allow_qat || !needs_qat)) {  // (else the QAT message below)
      const std::string grid = prefix + name + ".weight_grid: \"full\" (from " + grid_from + ") ";
      if (!allow_qat || !needs_qat || p.qat_method != QatAlgorithm::kLsq)
        throw InputError(grid + "is for layers trained with LSQ by cimsim qat, but this layer is " +
                         (needs_qat && allow_qat ? "trained with DSQ" : "quantized post-training") +
                         "; allowed \"symmetric\" here");
      if (p.weight_bits > kMaxQuantBits - 1)
        throw InputError(grid + "with weight_bits " + std::to_string(p.weight_bits) + " (from " + weight_from +
                         "); the full grid allows 2.." + std::to_string(kMaxQuantBits - 1) +
                         " bits (its cores take the symmetric grid one bit wider)");
    }
    if (allow_qat) {
      out.push_back({name, p, needs_qat ? QuantMode::kQat : QuantMode::kPtq});
      continue;
    }
    const std::string force_ptq = "set \"mode\": \"ptq\" for that layer to force post-training quantization, or train it with cimsim qat";
    if (p.mode == QuantMode::kQat) {
      throw InputError(name + ": \"mode\": \"qat\" (from " + mode_from + ") needs quantization-aware training " +
                       "(LSQ/DSQ: cimsim qat); " + force_ptq + ", or \"auto\" for the hybrid rule");
    }
    if (p.mode == QuantMode::kAuto && std::min(p.weight_bits, p.activation_bits) < kMinPtqBits) {
      std::string from;
      if (p.weight_bits < kMinPtqBits) from += "weight_bits from " + weight_from;
      if (p.activation_bits < kMinPtqBits) from += (from.empty() ? "" : ", ") + std::string("activation_bits from ") + activation_from;
      throw InputError(name + ": " + BitsLabel(p) + " is below " + std::to_string(kMinPtqBits) + " bits (" + from +
                       "), which needs quantization-aware training (LSQ/DSQ: cimsim qat); " + force_ptq);
    }
    out.push_back({name, p, QuantMode::kPtq});
  }
  return out;
}

bool GlobMatch(std::string_view pattern, std::string_view name) {
  // Greedy scan with one backtrack point: on a mismatch after a '*', let that '*' swallow one more
  // character and retry. Linear in |name| per '*' position, no recursion.
  size_t p = 0, n = 0;
  size_t star = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view ToString(RangeMethod method) {
  switch (method) {
    case RangeMethod::kMax: return "max";
    case RangeMethod::kPercentile: return "percentile";
    case RangeMethod::kMse: return "mse";
    case RangeMethod::kAciq: return "aciq";
  }
  return "unknown";
}

std::string_view ToString(QuantMode mode) {
  switch (mode) {
    case QuantMode::kAuto: return "auto";
    case QuantMode::kPtq: return "ptq";
    case QuantMode::kQat: return "qat";
  }
  return "unknown";
}

std::string_view ToString(QatAlgorithm method) {
  switch (method) {
    case QatAlgorithm::kLsq: return "lsq";
    case QatAlgorithm::kDsq: return "dsq";
  }
  return "unknown";
}

std::string_view ToString(WeightRounding rounding) {
  switch (rounding) {
    case WeightRounding::kNearest: return "nearest";
    case WeightRounding::kAdaRound: return "adaround";
  }
  return "unknown";
}

}  // namespace cimsim
