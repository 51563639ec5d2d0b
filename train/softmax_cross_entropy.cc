#include "train/softmax_cross_entropy.h"

#include <cmath>

#include "train/loss_arguments.h"

namespace cimsim {

LossResult SoftmaxCrossEntropy(const Tensor& logits, std::span<const int32_t> labels, Tensor* grad) {
  CheckLogitsAndLabels(logits, labels, "SoftmaxCrossEntropy");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (grad != nullptr) grad->Resize({n, k});
  const float inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  LossResult result;
  double loss_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = logits.data() + i * k;
    const int64_t y = labels[static_cast<size_t>(i)];
    const int64_t top = FirstArgMax(x, k);
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
  CheckLogitsAndLabels(logits, labels, "SoftmaxCrossEntropyReference");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  if (grad != nullptr) grad->Resize({n, k});
  LossResult result;
  double loss_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* x = logits.data() + i * k;
    const int64_t y = labels[static_cast<size_t>(i)];
    const int64_t top = FirstArgMax(x, k);
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
