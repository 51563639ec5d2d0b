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
#include "train/hardware_noise.h"
#include "train/qat_network.h"

namespace cimsim {

struct HardwareAwareParams {
  CrossbarParams crossbar;
  DeviceParams device;
  uint64_t seed = 1;
  std::vector<std::pair<std::string, double>> layers;  // CIM layers (node names) and their strengths >= 0
  // The strength schedule: epoch e (0-based) multiplies every layer's strength by epoch_factors[e] (the
  // last entry for later epochs; 1 when empty), e.g. {0.5, 1, 1, 0}: a ramp, then a noise-free epoch.
  std::vector<double> epoch_factors;
  // The read-time axis: each draw reads the chip at a log-uniform time after programming, compensated
  // globally or per column (train/hardware_noise.h); disabled by default (read at crossbar.read_time).
  HardwareReadTimes read_times;
  double EpochFactor(int epoch) const;
};

// Throws InputError naming `where` for a layer that is not a conv/linear node of the network, or a chip
// that does not fit a layer (CrossbarParams::ValidateLayer, the device range).
void EnableHardwareAwareTraining(QatNetwork& qat, const HardwareAwareParams& params, const std::string& where);

// Sets the schedule factor (>= 0) of every layer that trains with hardware noise.
void SetHardwareNoiseFactor(QatNetwork& qat, double factor);

}  // namespace cimsim
