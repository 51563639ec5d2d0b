#include "experiments/point_evaluation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "experiments/experiment_runner.h"

namespace cimsim {

int64_t CountCorrect(IntegerNetwork& net, const Cifar10Set& test, int64_t first, int64_t count, ThreadPool& pool,
                     Progress* progress, const std::atomic<bool>* stop) {
  int64_t correct = 0;
  const int64_t classes = net.model().num_classes;
  std::vector<int32_t> logits(static_cast<size_t>(kPointBatch * classes));
  for (int64_t b = 0; b < count; b += kPointBatch) {
    if (stop != nullptr && stop->load()) throw Interrupted(0);
    const int64_t n = std::min(kPointBatch, count - b), start = first + b;
    net.Forward(test.image(start), n, logits.data(), pool, start);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t* l = logits.data() + i * classes;
      const int64_t best = std::max_element(l, l + classes) - l;
      correct += best == test.labels[static_cast<size_t>(start + i)];
    }
    if (progress != nullptr) progress->Add(n);
  }
  return correct;
}

AccuracyStats Stats(std::span<const double> accuracy) {
  AccuracyStats s;
  if (accuracy.empty()) return s;
  double sum = 0;
  for (double a : accuracy) sum += a;
  s.mean = sum / static_cast<double>(accuracy.size());
  if (accuracy.size() < 2) return s;
  double d = 0;
  for (double x : accuracy) d += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(d / static_cast<double>(accuracy.size() - 1));
  return s;
}

}  // namespace cimsim
