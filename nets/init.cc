#include "nets/init.h"

#include <cmath>

#include "common/rng.h"
#include "common/streams.h"
#include "nets/linear.h"

namespace cimsim {

void InitializeKaiming(Network& net, uint64_t seed) {
  int64_t index = 0;
  for (NetworkNode& node : net.nodes()) {
    const std::string_view kind = node.layer->Kind();
    const auto* linear = dynamic_cast<const Linear*>(node.layer.get());
    node.layer->VisitTensors([&](const std::string& suffix, Tensor& t) {
      Rng rng = WeightInitStream(seed, index++);
      if ((kind == "conv2d" || kind == "linear") && suffix == "weight") {
        const double fan_in = static_cast<double>(t.size() / t.dim(0));
        const double sigma = std::sqrt(2.0 / fan_in);
        for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(sigma * rng.Normal());
      } else if (linear != nullptr && suffix == "bias") {
        const double bound = 1.0 / std::sqrt(static_cast<double>(linear->in_features()));
        for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(bound * (2.0 * rng.Uniform() - 1.0));
      } else if (suffix == "bias") {
        t.Fill(0.0f);
      } else if (suffix == "running_var" || (kind == "batch_norm" && suffix == "weight")) {
        t.Fill(1.0f);
      } else {
        t.Fill(0.0f);
      }
    });
  }
}

}  // namespace cimsim
