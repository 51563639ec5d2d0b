// quant_plan.h — which bit widths and calibration each conv/linear layer gets, and whether it can be
// quantized after training (PTQ) or needs quantization-aware training (QAT).
// ("Calibration" here: quantization calibration, the `calibration` key of quant configs; docs/glossary.md.)
//
// Layers are named as in PyTorch's state_dict without the ".weight" suffix: "conv1",
// "layer1.0.conv1", "layer2.0.shortcut.0", "linear", "features.0", "classifier".
//
// Resolution: a layer starts from QuantPlan::defaults; then every LayerRule whose pattern matches
// its name (GlobMatch) overwrites the fields it sets, in rule order, so later rules win.
//
// Bit widths (2..8): weight_bits b_w gives symmetric signed codes [-(2^(b_w-1)-1), 2^(b_w-1)-1],
// per output channel or per tensor (weight_grid kFull, LSQ layers of cimsim qat only: codes
// [−2^(b_w−1), 2^(b_w−1) − 1], quant/weight_grid.h); activation_bits b_a is the width of the layer's INPUT codes,
// unsigned [0, 2^b_a - 1] after a ReLU (the image input of the first layer is signed).
//
// The hybrid rule (mode kAuto): a layer with min(b_w, b_a) >= 4 is quantized post-training; below 4
// bits it needs QAT (LSQ or DSQ). QAT is not built yet, so Resolve() rejects such a layer with an
// InputError naming it, its bits and the rule that set them, unless its mode is forced to kPtq.
//
// No JSON here: experiments/quant_config_json.h reads and writes these structs (docs/quant_config.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/adaround.h"
#include "quant/range_calibration.h"
#include "quant/weight_grid.h"

namespace cimsim {

constexpr int kMinQuantBits = 2;
constexpr int kMaxQuantBits = 8;
// The hybrid rule's threshold: both widths at least this many bits → PTQ, else QAT.
constexpr int kMinPtqBits = 4;

// kAuto: the hybrid rule decides; kPtq / kQat: forced.
enum class QuantMode { kAuto, kPtq, kQat };
// How a QAT layer learns its quantizers: LSQ (learned step) or DSQ (learned clip and soft staircase).
enum class QatAlgorithm { kLsq, kDsq };

struct LayerQuantParams {
  int weight_bits = 8, activation_bits = 8;     // 2..8; activation bits = this layer's INPUT codes
  bool per_channel = true;                      // weight scale per output channel (else per tensor)
  RangeParams weight_range, activation_range;   // defaults: ACIQ (Laplace prior)
  bool bias_correction = false;                 // ACIQ per-channel weight bias correction
  QuantMode mode = QuantMode::kAuto;
  QatAlgorithm qat_method = QatAlgorithm::kLsq;  // used when the layer resolves to QAT (cimsim qat)
  WeightGrid weight_grid = WeightGrid::kSymmetric;  // kFull: LSQ (QAT) layers only, weight_bits <= 7
  // Output-error weight quantization (quant/adaround.h), on the layer's calibration patches: the
  // float layer on float inputs is the target, the quantized layer on the inputs coming out of the
  // already-quantized preceding layers the fit.
  bool output_clip_search = false;              // per-channel α search on the layer output error
  bool output_bias_correction = false;          // empirical bias correction E[W x] − E[Ŵ x̂]
  WeightRounding rounding = WeightRounding::kNearest;   // nearest or AdaRound
  AdaRoundParams adaround;                      // used with rounding kAdaRound
  int64_t reconstruction_images = 64;           // the first N calibration images give the patches
  bool NeedsReconstruction() const {
    return output_clip_search || output_bias_correction || rounding == WeightRounding::kAdaRound;
  }

  // Throws InputError "<where>.weight_bits: 9 is out of range; allowed 2..8"; field names are the
  // config's (weight_calibration / activation_calibration for the two RangeParams).
  void Validate(const std::string& where) const;
};

// A rule's settings: only the fields that hold a value are applied.
struct LayerQuantOverride {
  std::optional<int> weight_bits, activation_bits;
  std::optional<bool> per_channel, bias_correction;
  std::optional<RangeParams> weight_range, activation_range;   // replace the whole RangeParams
  std::optional<QuantMode> mode;
  std::optional<QatAlgorithm> qat_method;
  std::optional<WeightGrid> weight_grid;
  std::optional<bool> output_clip_search, output_bias_correction;
  std::optional<WeightRounding> rounding;
  std::optional<AdaRoundParams> adaround;       // replaces the whole AdaRoundParams
  std::optional<int64_t> reconstruction_images;

  // Overwrites the fields of `params` that this override sets.
  void ApplyTo(LayerQuantParams& params) const;
};

struct LayerRule {
  std::string pattern;      // GlobMatch pattern over layer names
  LayerQuantOverride set;
  std::string where;        // for messages, e.g. "q.json: layers[2]"; empty → "rules[i]"
};

// The quantization calibration run for PTQ: `images` images drawn with `seed` (class_balanced: equal numbers per
// class), and at most `sample_capacity` activation values kept per layer for range fitting.
struct CalibrationParams {
  int64_t images = 500;
  uint64_t seed = 1;
  bool class_balanced = true;
  int64_t sample_capacity = int64_t{1} << 20;

  // Throws InputError "<where>.images: 0 is out of range; allowed >= 1" (likewise sample_capacity);
  // class_balanced needs images to be a multiple of 10 (images / 10 per class).
  void Validate(const std::string& where) const;
};

struct ResolvedLayer {
  std::string name;
  LayerQuantParams params;   // after defaults and rules; params.mode is as configured
  QuantMode mode;            // kPtq or kQat, after the hybrid rule
};

struct QuantPlan {
  LayerQuantParams defaults;
  std::vector<LayerRule> rules;
  CalibrationParams calibration;
  std::string source;   // file name for messages ("" when built in code)

  // One ResolvedLayer per name, in the given order. Throws InputError when a rule matches none of
  // layer_names (naming the rule and its pattern, listing the layer names), when calibration or a
  // resolved layer is invalid, or when a layer would need QAT (mode kAuto with min(bits) < 4, or
  // mode kQat): "<layer>: W3A8 is below 4 bits (weight_bits from q.json: layers[1]), which needs
  // quantization-aware training (LSQ/DSQ), not built yet; set "mode": "ptq" for that layer to
  // force post-training quantization". With allow_qat (cimsim qat) such layers resolve to kQat instead.
  std::vector<ResolvedLayer> Resolve(const std::vector<std::string>& layer_names, bool allow_qat = false) const;
};

// Whole-name glob match: '*' matches any run of characters (also empty, also dots), '?' exactly
// one character; everything else matches itself. "layer3.*" matches "layer3.0.conv1" but not
// "layer3"; "layer1*" also matches "layer10.0.conv1".
bool GlobMatch(std::string_view pattern, std::string_view name);

// Lower-case names as in the config: "max", "percentile", "mse", "aciq"; "auto", "ptq", "qat".
std::string_view ToString(RangeMethod method);
std::string_view ToString(QuantMode mode);
std::string_view ToString(QatAlgorithm method);      // "lsq", "dsq"
std::string_view ToString(WeightRounding rounding);   // "nearest", "adaround"

}  // namespace cimsim
