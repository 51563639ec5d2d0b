// evaluate_integer.h — top-1 accuracy of a quantized model through the integer engine, and the
// checks that the engine computes what it claims.
//
// EvaluateInteger: images in data order, in batches spread over the pool (IntegerNetwork::Forward),
// argmax of the int32 logits (first index on a tie). Same EvalResult as the float evaluation.
// CheckIntegerEngine: for the same images, the slow integer reference (IntegerReferenceForward)
// must give the fast engine's logits bit for bit, and the fake-quantized float64 network
// (FakeQuantForward) should predict the same class; both are counted, never assumed.
#pragma once

#include <cstdint>
#include <vector>

#include "common/progress.h"
#include "data/cifar10.h"
#include "experiments/evaluate.h"
#include "nets/integer_network.h"

namespace cimsim {

// params.precision is ignored (the engine is integer). Throws InputError when the model's input
// shape or classes do not fit CIFAR-10 images.
EvalResult EvaluateInteger(IntegerNetwork& net, const Cifar10Set& data, const EvalParams& params, Progress* progress);

struct IntegerCheck {
  int64_t images = 0;
  int64_t reference_mismatches = 0;   // images whose reference logits differ from the fast engine's
  int64_t fake_quant_mismatches = 0;  // images where the fake-quantized float64 network predicts differently
  std::vector<int64_t> first_mismatches;  // up to 10 image indices of either kind
};

// Runs the fast engine, the reference and the fake-quantized network on the first `limit` images
// (0 = all), threaded over images. The reference is slow (~50 ms per ResNet-20 image per thread).
IntegerCheck CheckIntegerEngine(IntegerNetwork& net, const Cifar10Set& data, int64_t limit, int threads,
                                Progress* progress);

}  // namespace cimsim
