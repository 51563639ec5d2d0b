// integer_network.h — the fast integer-only inference engine over a QuantizedModel.
//
// Per image (uint8 CHW pixels → int32 logits [num_classes]):
//   image codes = input_lut[c][pixel];
//   conv:   im2col of the input codes into a row-major [C·k·k, OH·OW] view (sim/input_codes.h) → the
//           node's MvmCore (IdealCore: exact int16×int16→int32 GEMM) → acc [O, OH·OW] → RequantizeRow per channel
//           (bias, fixed-point multiplier, rounding shift, clamp);
//   linear: the same with one input vector;
//   add:    inputs not at the output scale are rescaled with RequantizeRow, then summed and clamped;
//   pool / shortcut / max-pool: exact integer loops.
// No float anywhere on this path. Images are spread over the thread pool; each worker runs the whole
// graph on one image at a time with its own buffers, recycled by a liveness plan fixed at
// construction, so steady-state inference allocates nothing and an image's logits never depend on
// the thread count or the batch. Which MvmCore computes a layer's dot products is the caller's
// choice (the factory): that is how crossbar simulation and device/cloud placement plug in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/parallel.h"
#include "common/rng.h"
#include "nets/quantized_model.h"
#include "sim/mvm_core.h"

namespace cimsim {

// Makes the core for conv/linear node `index` of the model.
using MvmCoreFactory = std::function<std::unique_ptr<MvmCore>(const QNode& node, int index)>;
// The exact integer core for a node.
std::unique_ptr<MvmCore> MakeIdealCore(const QNode& node, int index);

// Scratch of one worker.
struct IntegerWorker {
  std::vector<std::vector<int32_t>> slots;  // activation buffers, shared by nodes per the liveness plan
  std::vector<int16_t> cols;                // im2col patches of the current conv, row-major [K, positions]
  std::vector<int16_t> padded;              // the current conv's input, zero-padded
  std::vector<int32_t> acc, tmp;            // accumulators / rescaled add input
  std::vector<const int32_t*> inputs;       // the current node's inputs
  Rng rng{0};                               // the current (image, node) stream for noisy cores
  MvmContext context;
};

class IntegerNetwork {
 public:
  // Validates the model (InputError naming `where`) and builds one core per conv/linear node.
  // noise_seed: the root of the random streams noisy cores draw from — the core of node i, for the
  // image with index m in its data set, draws from ImageNoiseStream(noise_seed, m, i)
  // (common/streams.h), so results depend on neither the thread count nor the batch.
  explicit IntegerNetwork(QuantizedModel model, const MvmCoreFactory& factory = MakeIdealCore,
                          const std::string& where = "quantized model", uint64_t noise_seed = 0);

  // images: n × (C·H·W) uint8 (CHW, as CIFAR-10 stores them), the data set's images first_index,
  // first_index + 1, …; logits: n × num_classes.
  void Forward(const uint8_t* images, int64_t n, int32_t* logits, ThreadPool& pool, int64_t first_index = 0);
  // One image (its data-set index: image_index) on the calling thread with the caller's scratch.
  void ForwardImage(const uint8_t* image, int32_t* logits, IntegerWorker& worker, int64_t image_index = 0) const;

  const QuantizedModel& model() const { return model_; }
  const MvmCore* core(int node) const { return cores_[static_cast<size_t>(node)].get(); }

 private:
  // A conv or linear node: im2col (conv) or the input vector (linear), the core's Multiply, requantization.
  void RunMvm(int index, const int32_t* x, int32_t* y, IntegerWorker& w, int64_t image_index) const;
  void RunAdd(int index, const std::vector<const int32_t*>& xs, int32_t* y, IntegerWorker& w) const;

  QuantizedModel model_;
  uint64_t noise_seed_;  // roots ImageNoiseStream
  std::vector<std::array<int64_t, 3>> shapes_;
  std::vector<std::unique_ptr<MvmCore>> cores_;  // null for non-MVM nodes
  std::vector<int> slot_;                        // node → activation buffer
  std::vector<int64_t> slot_size_;
  std::vector<std::unique_ptr<IntegerWorker>> workers_;
};

}  // namespace cimsim
