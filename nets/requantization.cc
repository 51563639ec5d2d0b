#include "nets/requantization.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/error.h"

namespace cimsim {
namespace {

FixedPointMultiplier Multiplier(double real, const std::string& where, const std::string& node, const char* what) {
  if (!(real >= 0) || !std::isfinite(real) || real >= 1073741824.0)
    throw InputError(where + ": node " + node + ": " + what + " multiplier " + std::to_string(real) +
                     " is outside [0, 2^30) — its scales are degenerate");
  return QuantizeMultiplier(real);
}

}  // namespace

int64_t MaxInputCode(const QuantizedModel& model, int input) {
  if (input == QNode::kImage) return 127;
  const QNode& s = model.nodes[static_cast<size_t>(input)];
  return std::max(std::abs(static_cast<int64_t>(s.out_min)), std::abs(static_cast<int64_t>(s.out_max)));
}

FixedPointMultiplier MvmOutputMultiplier(double weight_scale, double in_scale, double out_scale, int64_t depth,
                                         int64_t max_weight_code, int64_t max_input_code, int64_t bias,
                                         const std::string& where, const std::string& node) {
  const int64_t worst = depth * max_weight_code * max_input_code;
  return WithHeadroom(Multiplier(weight_scale * in_scale / out_scale, where, node, "output"), worst + std::abs(bias));
}

FixedPointMultiplier RescaleMultiplier(double real, int64_t max_abs_input, const std::string& where,
                                       const std::string& node, const char* what) {
  return WithHeadroom(Multiplier(real, where, node, what), max_abs_input);
}

void SetMultipliers(QuantizedModel& model, const std::string& where) {
  const auto shapes = model.NodeShapes();
  auto scale_of = [&](int in) { return in == QNode::kImage ? model.input_scale : model.nodes[static_cast<size_t>(in)].out_scale; };
  for (QNode& n : model.nodes) {
    const int in = n.inputs[0];
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        n.multipliers.clear();
        n.shifts.clear();
        n.headrooms.clear();
        for (int64_t o = 0; o < n.out_channels; ++o) {
          const FixedPointMultiplier f =
              MvmOutputMultiplier(n.weight_scales[static_cast<size_t>(o)], scale_of(in), n.out_scale, n.Depth(),
                                  n.WeightRange().MaxAbs(), MaxInputCode(model, in), n.bias[static_cast<size_t>(o)], where, n.name);
          n.multipliers.push_back(f.multiplier);
          n.shifts.push_back(f.shift);
          n.headrooms.push_back(f.headroom);
        }
        break;
      }
      case QNodeKind::kAdd:
        n.rescale_multipliers.clear();
        n.rescale_shifts.clear();
        n.rescale_headrooms.clear();
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          const FixedPointMultiplier f =
              n.rescale_identity[i] ? FixedPointMultiplier{}
                                    : RescaleMultiplier(scale_of(n.inputs[i]) / n.out_scale, MaxInputCode(model, n.inputs[i]),
                                                        where, n.name, "rescale");
          n.rescale_multipliers.push_back(f.multiplier);
          n.rescale_shifts.push_back(f.shift);
          n.rescale_headrooms.push_back(f.headroom);
        }
        break;
      case QNodeKind::kGlobalAvgPool: {
        const std::array<int64_t, 3> s = in == QNode::kImage
                                             ? std::array<int64_t, 3>{model.input_chw[0], model.input_chw[1], model.input_chw[2]}
                                             : shapes[static_cast<size_t>(in)];
        const int64_t plane = s[1] * s[2];
        n.pool = RescaleMultiplier(scale_of(in) / (static_cast<double>(plane) * n.out_scale), plane * MaxInputCode(model, in),
                                   where, n.name, "pool");
        break;
      }
      case QNodeKind::kRequant:
        n.pool = RescaleMultiplier(scale_of(in) / n.out_scale, MaxInputCode(model, in), where, n.name, "requant");
        break;
      case QNodeKind::kShortcutA:
      case QNodeKind::kMaxPool:
        break;
    }
  }
}

}  // namespace cimsim
