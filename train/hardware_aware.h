// hardware_aware.h — hardware-aware (noise-injection) training of a QAT network: which layers see the
// chip during training, on which chip, how strongly (docs/hardware_aware_training.md).
//
// Each listed conv/linear node of the QAT network gets a LayerHardwareNoise (train/hardware_noise.h)
// built from the chip config's CrossbarParams and DeviceModel for that node's weight bits and input
// code range — the layer exactly as `cimsim experiment` programs it — and draws from the streams of
// common/streams.h (HardwareNoiseProgramStream / HardwareNoiseReadStream, root `seed`, node = its index
// in the quantized model). Layers not listed are digital and train as before.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "devices/device_params.h"
#include "sim/crossbar_params.h"
#include "train/qat_network.h"

namespace cimsim {

struct HardwareAwareParams {
  CrossbarParams crossbar;
  DeviceParams device;
  uint64_t seed = 1;
  std::vector<std::pair<std::string, double>> layers;  // CIM layers (node names) and their strengths >= 0
};

// Throws InputError naming `where` for a layer that is not a conv/linear node of the network, or a chip
// that does not fit a layer (CrossbarParams::ValidateLayer, the device range).
void EnableHardwareAwareTraining(QatNetwork& qat, const HardwareAwareParams& params, const std::string& where);

}  // namespace cimsim
