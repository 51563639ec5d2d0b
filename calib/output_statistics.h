// output_statistics.h — per-channel output statistics of a whole chip network, recalibrated on known
// images (adaptive batch-norm statistics, "AdaBS": Joshi et al., Nature Communications 11, 2473 (2020)).
//
// Why. A column calibration (chip_calibration.h) fits each layer on its own, on the inputs the exact
// network gives it. In the chip network a layer's inputs are the outputs of noisy layers: zero-mean
// errors become a positive shift after every ReLU, and a channel's spread grows as errors compound
// through the layers. A chip can measure both on a few known images and undo them per output channel,
// as a network with BatchNorm would by recomputing its statistics on the chip.
//
// What. For CIM layer ℓ with outputs o (a conv's output channels), over the calibration images and
// every output position (a linear layer: one position), with μ and σ the mean and the (population)
// standard deviation of the layer's dot products y (integer dot-product units, before requantization):
//     ref:  the exact integer engine, every layer exact                 → μ_ref[o], σ_ref[o]
//     chip: the chip network, every layer before ℓ already corrected    → μ_chip[o], σ_chip[o]
//     correction  y' = μ_ref[o] + (y − μ_chip[o])·σ_ref[o]/σ_chip[o]
// i.e. OutputAffine gain = σ_ref/σ_chip, offset = μ_ref − gain·μ_chip (gain 1 and offset μ_ref − μ_chip
// when σ_chip = 0). The corrected layer's outputs on the calibration images then have the reference
// moments (up to the rounding of y' to integers).
//
// How. One layer-major pass (IntegerNetwork::ForwardGroup) of all n images in one group: each CIM
// node's core is called once with every image's vectors, fits its correction on them, applies it and
// hands the corrected outputs on, so every layer is fitted behind the corrected layers before it, in
// one pass. Sums are exact (128-bit integers). Read noise of image m at node i draws from
// ImageNoiseStream(noise_seed, m, i) (m = the image's place in the list): a pure function of the
// arguments, on the calling thread. Memory: the pass holds every image's activations and im2col
// patches at once (ResNet-20, 32×32 inputs: about 0.4 MB per image at the widest layer).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "common/parallel.h"
#include "nets/quantized_model.h"
#include "sim/mvm_core.h"
#include "sim/output_affine_core.h"

namespace cimsim {

struct ChannelMoments {
  std::vector<double> mean, std;   // [N]
};

// The exact integer engine's moments at `nodes` (conv/linear node indices) over images: n × (C·H·W)
// uint8 as IntegerNetwork::Forward takes them. Independent of the pool's thread count.
// std::invalid_argument for another node kind or n < 1.
std::map<int, ChannelMoments> ReferenceMoments(const QuantizedModel& model, const std::vector<int>& nodes,
                                               const uint8_t* images, int64_t n, ThreadPool& pool);

// The corrections of the chip network whose node i runs on cores[i] (cores.size() = model.nodes.size();
// non-null for the chip's conv/linear nodes, null: the exact core), fitted as above on the same images.
// reference must hold every chip node (std::invalid_argument otherwise). The cores are only called.
std::map<int, OutputAffine> FitOutputStatistics(const QuantizedModel& model, const std::vector<const MvmCore*>& cores,
                                                const std::map<int, ChannelMoments>& reference, const uint8_t* images,
                                                int64_t n, uint64_t noise_seed);

// What an experiment fits every chip on: the calibration images and the exact engine's moments on them.
struct OutputStatisticsInputs {
  std::vector<uint8_t> images;   // count × (C·H·W)
  int64_t count = 0;
  std::map<int, ChannelMoments> reference;   // every node that may run on the chip
};

// Fits the corrections of the chip network `cores` (as FitOutputStatistics) on inputs and replaces
// every non-null core by an OutputAffineCore around it.
void CorrectOutputStatistics(const QuantizedModel& model, std::vector<std::unique_ptr<MvmCore>>& cores,
                             const OutputStatisticsInputs& inputs, uint64_t noise_seed);

// The moment-matching map of one layer (the formula above). Sizes must agree (std::invalid_argument).
OutputAffine MatchMoments(const ChannelMoments& reference, const ChannelMoments& chip);

}  // namespace cimsim
