// softmax_cross_entropy.h — the classification loss of training: softmax followed by cross-entropy,
// averaged over the batch (PyTorch nn.CrossEntropyLoss with reduction "mean", no label smoothing).
//
// For logits x [N, K] and labels y [N] (y_i in [0, K)):
//   m_i = max_k x_ik,   s_i = Σ_k exp(x_ik − m_i)                 (log-sum-exp with max subtraction:
//                                                                   every exp is in (0, 1], s_i in [1, K])
//   ℓ_i = log Σ_k exp(x_ik) − x_iy = log s_i + m_i − x_iy  (>= 0),   loss = (1/N) Σ_i ℓ_i
//   p_ik = exp(x_ik − m_i) / s_i                                    (softmax)
//   ∂loss/∂x_ik = (p_ik − [k = y_i]) / N                            (the gradient written to grad)
// correct = #{i : argmax_k x_ik = y_i}, the argmax being the first maximal k on ties (as the
// evaluation's top-1 count). The per-row loss and the batch mean are summed in double, rows in order;
// everything is single-threaded and deterministic (a batch of 128 × 10 logits is too small to split).
//
// Two paths, like the layers (nets/layer.h):
//  - SoftmaxCrossEntropy: float logits; exp in float, s_i accumulated in double, ℓ_i in double,
//    grad in float;
//  - SoftmaxCrossEntropyReference: everything in double, the oracle for finite differences and for the
//    fast path.
// Non-finite logits are not rejected: they give a non-finite loss, which the caller can detect.
#pragma once

#include <cstdint>
#include <span>

#include "nets/tensor.h"

namespace cimsim {

struct LossResult {
  double loss = 0;      // mean over the batch of −log softmax(x_i)[y_i]
  int64_t correct = 0;  // rows whose first argmax equals the label
};

// logits: rank 2 [N, K], N >= 1, K >= 1; labels: N values. grad (if non-null) is resized to [N, K] and
// overwritten with ∂loss/∂logits. Throws std::invalid_argument for a wrong logits rank or empty
// dimension, a labels count != N, or a label outside [0, K) (naming its index and value); then grad is
// unchanged.
LossResult SoftmaxCrossEntropy(const Tensor& logits, std::span<const int32_t> labels, Tensor* grad);
LossResult SoftmaxCrossEntropyReference(const TensorD& logits, std::span<const int32_t> labels, TensorD* grad);

}  // namespace cimsim
