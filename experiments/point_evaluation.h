// point_evaluation.h — what every experiment point does with a network of probed chip layers: classify
// the test images in batches and count the top-1 hits, and summarise the instances' accuracies.
//
// CountCorrect: images [first, first + count) of `test` through IntegerNetwork::Forward (spread over the
// pool) in batches of kPointBatch, argmax of the logits (the first index on a tie) against the label.
// Between batches the stop flag is checked (Interrupted(0), experiments/experiment_runner.h) and the
// progress advanced. The count depends only on the network (its cores and noise seed), not on threads.
// AccuracyStats: mean and sample standard deviation (0 for one value) over instances.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "common/parallel.h"
#include "common/progress.h"
#include "data/cifar10.h"
#include "nets/integer_network.h"

namespace cimsim {

constexpr int64_t kPointBatch = 100;

int64_t CountCorrect(IntegerNetwork& net, const Cifar10Set& test, int64_t first, int64_t count, ThreadPool& pool,
                     Progress* progress, const std::atomic<bool>* stop);

struct AccuracyStats {
  double mean = 0, std = 0;
};
AccuracyStats Stats(std::span<const double> accuracy);

}  // namespace cimsim
