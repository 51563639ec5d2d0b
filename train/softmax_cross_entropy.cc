#include "train/softmax_cross_entropy.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

// Checks the shapes and labels; returns nothing, throws std::invalid_argument.
template <typename T>
void CheckArguments(const TensorT<T>& logits, std::span<const int32_t> labels, const char* fn) {
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

// Index of the first maximum of row[0..k).
template <typename T>
int64_t ArgMax(const T* row, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

}  // namespace

LossResult SoftmaxCrossEntropy(const Tensor& logits, std::span<const int32_t> labels, Tensor* grad) {
  CheckArguments(logits, labels, "SoftmaxCrossEntropy");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (grad != nullptr) grad->Resize({n, k});
  const float inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  LossResult result;
  double loss_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = logits.data() + i * k;
    const int64_t y = labels[static_cast<size_t>(i)];
    const int64_t top = ArgMax(x, k);
    const float m = x[top];
    if (top == y) ++result.correct;
    double s = 0;
    if (grad != nullptr) {
      float* g = grad->data() + i * k;
      for (int64_t j = 0; j < k; ++j) {
        g[j] = std::exp(x[j] - m);
        s += static_cast<double>(g[j]);
      }
      const float scale = static_cast<float>(1.0 / s) * inv_n;
      for (int64_t j = 0; j < k; ++j) g[j] *= scale;
      g[y] -= inv_n;
    } else {
      for (int64_t j = 0; j < k; ++j) s += static_cast<double>(std::exp(x[j] - m));
    }
    loss_sum += std::log(s) + static_cast<double>(m) - static_cast<double>(x[y]);
  }
  result.loss = loss_sum / static_cast<double>(n);
  return result;
}

LossResult SoftmaxCrossEntropyReference(const TensorD& logits, std::span<const int32_t> labels, TensorD* grad) {
  CheckArguments(logits, labels, "SoftmaxCrossEntropyReference");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (grad != nullptr) grad->Resize({n, k});
  LossResult result;
  double loss_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* x = logits.data() + i * k;
    const int64_t y = labels[static_cast<size_t>(i)];
    const int64_t top = ArgMax(x, k);
    const double m = x[top];
    if (top == y) ++result.correct;
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += std::exp(x[j] - m);
    loss_sum += std::log(s) + m - x[y];
    if (grad != nullptr) {
      double* g = grad->data() + i * k;
      for (int64_t j = 0; j < k; ++j) {
        g[j] = (std::exp(x[j] - m) / s - (j == y ? 1.0 : 0.0)) / static_cast<double>(n);
      }
    }
  }
  result.loss = loss_sum / static_cast<double>(n);
  return result;
}

}  // namespace cimsim
