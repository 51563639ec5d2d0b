#include "train/hardware_aware.h"

#include <algorithm>
#include <memory>

#include "common/error.h"
#include "train/qat_layers.h"

namespace cimsim {

double HardwareAwareParams::EpochFactor(int epoch) const {
  if (epoch_factors.empty()) return 1.0;
  return epoch_factors[std::min(static_cast<size_t>(std::max(epoch, 0)), epoch_factors.size() - 1)];
}

void EnableHardwareAwareTraining(QatNetwork& qat, const HardwareAwareParams& params, const std::string& where) {
  const DeviceModel device(params.device, where + ".xbar.device");
  std::string allowed;
  for (const QNode& n : qat.base.nodes)
    if (n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear) allowed += (allowed.empty() ? "" : ", ") + n.name;
  for (const auto& [name, strength] : params.layers) {
    int index = -1;
    for (size_t i = 0; i < qat.base.nodes.size(); ++i)
      if (qat.base.nodes[i].name == name) index = static_cast<int>(i);
    const QNode* node = index >= 0 ? &qat.base.nodes[static_cast<size_t>(index)] : nullptr;
    if (!node || (node->kind != QNodeKind::kConv && node->kind != QNodeKind::kLinear))
      throw InputError(where + ".layers: '" + name + "' is not a conv/linear layer of the model; allowed: " + allowed);
    auto* mvm = dynamic_cast<QatMvm*>(qat.net.nodes()[static_cast<size_t>(index)].layer.get());
    if (!mvm) throw std::logic_error("EnableHardwareAwareTraining: node " + name + " is not a QatMvm");
    auto noise = std::make_shared<const LayerHardwareNoise>(params.crossbar, device, node->out_channels, node->Depth(),
                                                            node->CoreWeightBits(), node->InputMin(), node->InputMax(),
                                                            strength, where + ".xbar.crossbar (layer " + name + ")",
                                                            params.read_times);
    mvm->EnableHardwareNoise(std::move(noise), params.seed, index);
  }
}

void SetHardwareNoiseFactor(QatNetwork& qat, double factor) {
  for (auto& node : qat.net.nodes())
    if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get()); mvm && mvm->hardware_noise()) mvm->SetHardwareNoiseFactor(factor);
}

}  // namespace cimsim
