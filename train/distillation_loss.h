// distillation_loss.h — knowledge distillation (Hinton, Vinyals & Dean, arXiv 1503.02531): the student
// learns from the labels and from a teacher's softened class probabilities, as quantization-aware
// training with the float network as teacher does (docs/training.md, "Distillation").
//
// For student logits x [N, K], teacher logits t [N, K], labels y [N], temperature T > 0 and weight
// α ∈ [0, 1]:
//   p_ik = softmax(x_i)_k,  p^T_ik = softmax(x_i / T)_k,  q^T_ik = softmax(t_i / T)_k
//   ℓ_i = (1 − α) · CE(x_i, y_i) + α · T² · KL(q^T_i ‖ p^T_i)
//       = (1 − α) · (log Σ_k e^{x_ik} − x_iy) + α · T² · Σ_k q^T_ik (log q^T_ik − log p^T_ik)
//   loss = (1/N) Σ_i ℓ_i
//   ∂loss/∂x_ik = [(1 − α)(p_ik − [k = y_i]) + α · T · (p^T_ik − q^T_ik)] / N
// The T² factor keeps the soft term's gradient on the scale of the hard one as T changes (Hinton et
// al., section 2) — when student and teacher logits have the same range. A quantized student that
// starts from post-training ranges has compressed logits (measured on one image: max logit 5.5 against
// the float teacher's 15.1), and at T = 4 the soft term then pulls far harder than the labels (≈ 16×
// on that image) and QAT diverges within a few steps; hence the default T = 1, where the soft gradient α (p − q) is on the labels' scale. The KL term is ≥ 0 and 0 exactly when the student's softened distribution equals the
// teacher's; the teacher gets no gradient. α = 0 is softmax cross-entropy (train/softmax_cross_entropy.h).
// correct = #{i : first argmax_k x_ik = y_i} (the student's top-1, as the training log reports).
//
// Two paths, like the cross-entropy: DistillationLoss (float logits; exponentials in float, row sums and
// the loss in double, grad in float) and DistillationLossReference (double throughout: the oracle for
// finite differences and for the fast path). Both are single-threaded and deterministic.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "nets/tensor.h"
#include "train/softmax_cross_entropy.h"

namespace cimsim {

struct DistillLossParams {
  double temperature = 1;  // T > 0 (finite)
  double weight = 0.9;     // α ∈ [0, 1]: the share of the teacher's term
  // InputError naming `where` (e.g. "run.json: distill") and the key for a value out of range.
  void Validate(const std::string& where) const;
};

// logits and teacher: rank 2, the same shape [N, K] (N, K >= 1); labels: N values in [0, K). grad (if
// non-null) is resized to [N, K] and overwritten with ∂loss/∂logits. Throws std::invalid_argument for
// wrong shapes or labels (grad unchanged). The parameters are assumed valid (Validate).
LossResult DistillationLoss(const Tensor& logits, const Tensor& teacher, std::span<const int32_t> labels,
                            const DistillLossParams& p, Tensor* grad);
LossResult DistillationLossReference(const TensorD& logits, const TensorD& teacher, std::span<const int32_t> labels,
                                     const DistillLossParams& p, TensorD* grad);

}  // namespace cimsim
