// loss_arguments.h — what the classification losses (train/softmax_cross_entropy.h,
// train/distillation_loss.h) share about their arguments: the shape and label checks and the top-1
// rule.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "nets/tensor.h"

namespace cimsim {

// Throws std::invalid_argument naming `fn` unless logits is [N, K] with N, K >= 1, labels has N values
// and each label lies in [0, K) (naming its index and value).
template <typename T>
void CheckLogitsAndLabels(const TensorT<T>& logits, std::span<const int32_t> labels, const char* fn) {
  if (logits.rank() != 2 || logits.dim(0) < 1 || logits.dim(1) < 1) {
    throw std::invalid_argument(std::string(fn) + ": logits must be [N, K] with N, K >= 1; got " +
                                ShapeString(logits.shape()));
  }
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (static_cast<int64_t>(labels.size()) != n) {
    throw std::invalid_argument(std::string(fn) + ": " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(n) + " rows of logits");
  }
  for (int64_t i = 0; i < n; ++i) {
    const int32_t y = labels[static_cast<size_t>(i)];
    if (y < 0 || y >= k) {
      throw std::invalid_argument(std::string(fn) + ": labels[" + std::to_string(i) + "] = " + std::to_string(y) +
                                  " is out of range; labels must be in [0, " + std::to_string(k) + ")");
    }
  }
}

// Index of the first maximum of row[0..k) (the top-1 rule of training and evaluation: ties go to the
// first class).
template <typename T>
int64_t FirstArgMax(const T* row, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

}  // namespace cimsim
