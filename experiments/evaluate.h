// evaluate.h — top-1 classification accuracy of a float network over a CIFAR-10 set.
//
// Images are normalized with the model's per-channel mean/std, run through the network in batches
// and classified by argmax of the logits (first index on a tie). Two precisions:
//  - float32: the fast path (Network::Forward, threaded over the batch);
//  - float64: every layer's slow reference (Network::ForwardReference) — an independent check.
// An image's prediction never depends on the batch size or the thread count.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/cifar10.h"
#include "data/normalize.h"
#include "nets/network.h"

namespace cimsim {

// kInteger: the integer engine over a quantized model (EvaluateInteger); Evaluate rejects it.
enum class Precision { kFloat32, kFloat64Reference, kInteger };

struct EvalParams {
  int64_t limit = 0;       // evaluate the first `limit` images; 0 = all
  int64_t batch_size = 100;
  int threads = 1;
  Precision precision = Precision::kFloat32;
  // Throws InputError naming the flag (--limit, --batch, --threads) and the value.
  void Validate() const;
};

struct EvalResult {
  int64_t correct = 0, total = 0;
  std::vector<std::string> class_names;            // by label (the data's; Start sets them)
  std::vector<int64_t> class_correct, class_total;  // by label
  std::vector<int32_t> predictions;  // per evaluated image, in data order
  double seconds = 0.0;              // wall time of the evaluation loop (normalize + forward)
  int64_t macs_per_image = 0;

  // Sizes the per-class tallies for the classes of `data`.
  void Start(const Cifar10Set& data) {
    class_names = data.ClassNames();
    class_correct.assign(class_names.size(), 0);
    class_total.assign(class_names.size(), 0);
  }
  // Tallies one image's prediction against its label (< class_names.size(): CheckLabelsClassifiable).
  void Record(int32_t prediction, int label) {
    predictions.push_back(prediction);
    class_total[static_cast<size_t>(label)]++;
    if (prediction == label) {
      correct++;
      class_correct[static_cast<size_t>(label)]++;
    }
  }
  double Top1Percent() const { return total ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
  double ImagesPerSecond() const { return seconds > 0 ? static_cast<double>(total) / seconds : 0.0; }
};

// InputError unless a model with `num_classes` logits can classify every label of `data` and every
// label names one of the data's classes.
void CheckLabelsClassifiable(int64_t num_classes, const Cifar10Set& data);

// `progress` may be null. Throws InputError when the network's output cannot classify the data
// (fewer logits than CIFAR-10 classes).
EvalResult Evaluate(Network& net, const ChannelNorm& norm, const Cifar10Set& data, const EvalParams& params,
                    Progress* progress);

}  // namespace cimsim
