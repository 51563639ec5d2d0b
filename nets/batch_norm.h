// batch_norm.h — BatchNorm2d, PyTorch semantics, in inference and training mode.
//
// Inference (Forward): y[n,c,h,w] = γ_c · (x[n,c,h,w] − μ_c) / √(σ²_c + ε) + β_c, with μ, σ² the
// running mean and variance. Fast path: a per-channel affine y = a_c·x + b_c with
// a_c = γ_c/√(σ²_c+ε), b_c = β_c − a_c·μ_c computed in float64 then rounded once.
//
// Training (ForwardTrain), per channel c over the m = N·H·W values of the batch:
//   μ_B = (1/m) Σ x,  σ²_B = (1/m) Σ (x − μ_B)²  (biased),  x̂ = (x − μ_B)/√(σ²_B + ε),  y = γ·x̂ + β;
//   running_mean ← (1 − momentum)·running_mean + momentum·μ_B,
//   running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)  (unbiased; m >= 2 required).
// The layer keeps μ_B and 1/√(σ²_B + ε) for Backward. Statistics are summed in float64, each channel by
// one worker over all images in a fixed order (channels spread over the pool): results do not depend
// on the thread count.
// Backward (g = dL/dy, sums over the m values of channel c):
//   dL/dγ = Σ g·x̂,   dL/dβ = Σ g,
//   dL/dx = (γ/(m·√(σ²_B+ε))) · (m·g − Σ g − x̂ · Σ g·x̂),
// the two sums in float64 per channel (same scheme as the statistics), x̂ recomputed from x.
// Training with frozen statistics (set_frozen_statistics(true); QAT's "batch_norm_freeze_after", as
// PyTorch's freeze_bn_stats): ForwardTrain normalizes with the running μ, σ² — the inference formula —
// and leaves them unchanged; γ and β still train. Backward then treats μ, σ² as constants:
//   dL/dγ = Σ g·x̂,  dL/dβ = Σ g,  dL/dx = γ·g/√(σ²+ε)   (x̂ = (x − μ)/√(σ²+ε), running μ, σ²).
// References: BatchNormTrainReference, BatchNormTrainBackwardReference, and with frozen statistics
// BatchNormReference, BatchNormFrozenBackwardReference (float64, no state change).
// Tensors: weight (γ), bias (β), running_mean (μ), running_var (σ²), each [C]; the parameters are γ
// and β (VisitParams), the running statistics are buffers.
#pragma once

#include <vector>

#include "nets/layer.h"

namespace cimsim {

class BatchNorm2d : public Layer {
 public:
  explicit BatchNorm2d(int channels, double eps = 1e-5, double momentum = 0.1);

  std::string_view Kind() const override { return "batch_norm"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;

  // Batch statistics; updates the running statistics and keeps μ_B, 1/√(σ²_B+ε) for Backward.
  // Throws std::invalid_argument when a channel has fewer than 2 values (N·H·W < 2).
  void ForwardTrain(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
                    Workspace& ws) override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  // ("weight", γ, dγ), ("bias", β, dβ).
  void VisitParams(const std::function<void(const std::string&, Tensor&, Tensor&)>& fn) override;
  // params: {γ [C], β [C]}; batch statistics (frozen: the running ones), running statistics untouched.
  void ForwardTrainReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                             TensorD& out) const override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;

  int channels() const { return channels_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  // The running statistics' update factor from now on, in (0, 1] (1: replace by the batch statistics;
  // 1/k at the k-th batch: the running statistics are the mean of the k batches' statistics, as
  // PyTorch's momentum=None). Throws std::invalid_argument otherwise.
  void set_momentum(double momentum);
  // Frozen statistics in training (above); false (the default) restores batch statistics.
  void set_frozen_statistics(bool frozen) { frozen_ = frozen; }
  bool frozen_statistics() const { return frozen_; }
  Tensor& gamma() { return gamma_; }
  Tensor& beta() { return beta_; }
  Tensor& running_mean() { return mean_; }
  Tensor& running_var() { return var_; }
  const Tensor& gamma() const { return gamma_; }
  const Tensor& beta() const { return beta_; }
  const Tensor& running_mean() const { return mean_; }
  const Tensor& running_var() const { return var_; }
  Tensor& gamma_grad() { return gamma_grad_; }
  Tensor& beta_grad() { return beta_grad_; }

 private:
  int channels_;
  double eps_;
  double momentum_;
  bool frozen_ = false;
  Tensor gamma_, beta_, mean_, var_;
  Tensor gamma_grad_, beta_grad_;  // [C], of the last Backward
  // Of the last ForwardTrain, per channel: μ_B and 1/√(σ²_B + ε) (frozen: the running ones).
  std::vector<double> batch_mean_, batch_inv_std_;
};

}  // namespace cimsim
