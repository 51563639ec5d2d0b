// integer_network.h — the fast integer-only inference engine over a QuantizedModel.
//
// Per image (uint8 CHW pixels → int32 logits [num_classes]):
//   image codes = input_lut[c][pixel];
//   conv:   im2col of the input codes into a row-major [C·k·k, OH·OW] view (sim/input_codes.h) → the
//           node's MvmCore (IdealCore: exact int16×int16→int32 GEMM) → acc [O, OH·OW] → RequantizeRow per channel
//           (bias, fixed-point multiplier, rounding shift, clamp). When the node's core is an IdealCore
//           on the u8×s8 kernel there is no lowering at all: the input is packed into channel-quad
//           planes and the kernel reads their shifted windows (nets/direct_conv_u8.h: the IdealCore's
//           exact sums, its weights reordered), requantized from the padded grid (RequantizeRows);
//   linear: the same with one input vector;
//   requant: RequantizeRow, or — when its only reader is such a direct conv and its input is 8-bit —
//           folded into that conv's packing as a 256-entry table (FoldRequantsIntoDirectConvs);
//   add:    inputs not at the output scale are rescaled with RequantizeRow, then summed and clamped;
//   pool / shortcut / max-pool: exact integer loops.
// No float anywhere on this path. Images are spread over the thread pool; each worker runs the whole
// graph on its images with its own buffers, recycled by a liveness plan fixed at construction, so
// steady-state inference allocates nothing and an image's logits never depend on the thread count or
// the batch.
//
// Image-major or layer-major. With images_per_call = 1 (the default) a worker runs the graph on one
// image at a time. With B > 1 it runs it layer-major on groups of B images: each node over all B
// images before the next node, a conv's B im2col matrices side by side in one row-major view
// [K, B·positions] and ONE MvmCore call per node and group (a direct u8 conv, which needs no core
// call, runs its B images one after the other), whose context lists one segment per image
// (MvmContext::segments: the image's vectors, its own stream and index). So a core sees B times the
// vectors per call (bigger GEMMs; an external chip gets fewer round trips, a crossbar's programmed
// tiles are reused across images), and — because every core must give what one call per segment
// gives — the logits are identical to image-major execution, whatever B. Which MvmCore computes a layer's dot products is the caller's
// choice (the factory): that is how crossbar simulation and device/cloud placement plug in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/parallel.h"
#include "common/rng.h"
#include "nets/direct_conv_u8.h"
#include "nets/quantized_model.h"
#include "sim/ideal_core.h"
#include "sim/mvm_core.h"

namespace cimsim {

// Makes the core for conv/linear node `index` of the model.
using MvmCoreFactory = std::function<std::unique_ptr<MvmCore>(const QNode& node, int index)>;
// The exact integer core for a node.
std::unique_ptr<MvmCore> MakeIdealCore(const QNode& node, int index);

// Scratch of one worker.
struct IntegerWorker {
  // Activation buffers of image b of the group: slots[b][s], shared by nodes per the liveness plan,
  // plus one last slot for the image's codes.
  std::vector<std::vector<std::vector<int32_t>>> slots;
  std::vector<int16_t> cols;                // the current MVM node's input codes: conv row-major
                                            // [K, B·positions], linear vector-major [B, K]
  std::vector<int16_t> padded;              // the current conv's input of one image, zero-padded
  std::vector<uint32_t> planes;             // the current direct conv's input, channel-quad planes
  std::vector<int32_t> acc, tmp;            // accumulators [N, B·positions] / rescaled add input
  std::vector<const int32_t*> inputs;       // the current node's inputs
  std::vector<Rng> rngs;                    // the (image, node) streams of the group, for noisy cores
  std::vector<MvmSegment> segments;         // one per image of the group (B > 1)
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
  // count images (indices first_index, ...) layer-major on the calling thread: one core call per node.
  void ForwardGroup(const uint8_t* images, int64_t count, int32_t* logits, IntegerWorker& worker,
                    int64_t first_index) const;

  // Images per core call in Forward (B above): 1 = image-major (default), 1..4096 (std::invalid_argument
  // otherwise). The logits do not depend on it.
  void SetImagesPerCall(int64_t images);
  int64_t images_per_call() const { return images_per_call_; }

  const QuantizedModel& model() const { return model_; }
  const MvmCore* core(int node) const { return cores_[static_cast<size_t>(node)].get(); }
  // Whether requant node `node` is folded into its reader (it does not run on its own).
  bool folded(int node) const { return folded_[static_cast<size_t>(node)]; }

 private:
  // Conv/linear node `index` over the group's B images (their input and output slots in w): im2col
  // (conv) or the input vectors (linear), one core Multiply, requantization.
  void RunMvm(int index, int64_t B, IntegerWorker& w, int64_t first_index) const;
  // Sets inputs_, folded_ and lut_: a requant node whose one reader is a direct conv and whose input
  // codes lie in [0, 255] is folded into that conv (the same codes reach the GEMM, one pass less).
  void FoldRequantsIntoDirectConvs();
  // Its dot products through the node's core (im2col view, Multiply with the image streams) into w.acc.
  void RunCoreMvm(int index, int64_t B, IntegerWorker& w, int64_t first_index) const;
  void RunAdd(int index, const std::vector<const int32_t*>& xs, int32_t* y, IntegerWorker& w) const;
  // Any other node on image b of the group.
  void RunOther(int index, int64_t b, IntegerWorker& w) const;
  const int32_t* Buffer(const IntegerWorker& w, int64_t b, int input) const;
  int32_t* Output(IntegerWorker& w, int64_t b, int index) const;
  std::array<int64_t, 3> InputShape(const QNode& n) const;

  QuantizedModel model_;
  uint64_t noise_seed_;  // roots ImageNoiseStream
  std::vector<std::array<int64_t, 3>> shapes_;
  std::vector<std::unique_ptr<MvmCore>> cores_;  // null for non-MVM nodes
  std::vector<std::unique_ptr<DirectConvU8>> direct_;  // conv nodes on an IdealCore's u8×s8 kernel, else null
  // Requant nodes folded into their direct conv: the node does not run (folded_), its one reader reads
  // the requant's input instead (inputs_, the inputs each node reads) and maps the codes through
  // lut_ (256 entries: the requant node's output for each input code) while packing them.
  std::vector<std::vector<int>> inputs_;
  std::vector<bool> folded_;
  std::vector<std::vector<uint8_t>> lut_;
  std::vector<int> slot_;                        // node → activation buffer
  std::vector<int64_t> slot_size_;
  std::vector<std::unique_ptr<IntegerWorker>> workers_;
  int64_t images_per_call_ = 1;
};

}  // namespace cimsim
