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
// Training on an affine image of the input (ForwardTrainAffine / BackwardAffine; QAT with BatchNorm
// kept, x the integer accumulator and u_c = s_w[c]·s_in its unit): BatchNorm of z[n,c,·] = u_c·x + b_c
// (u_c > 0) without writing z. With μ_x, σ²_x the batch statistics of x (float64, as above):
//   μ_z = u·μ_x + b,  σ²_z = u²·σ²_x,  x̂ = (x − μ_x)·k with k = u/√(σ²_z + ε),  y = γ·x̂ + β,
// and the running statistics updated with μ_z, σ²_z — ForwardTrain({z}) up to the rounding of z, which
// is never formed. Frozen: k = u/√(σ²+ε) and x̂ = (x − (μ − b)/u)·k on the running μ, σ². The layer
// keeps the x-space μ and k, so Backward's formulas hold in x: dL/dx = u·dL/dz. BackwardAffine writes
// grad_scale·dL/dx (a constant the caller's chain rule wants, e.g. 1/s_in) and Σ dL/dz per channel:
// 0 with batch statistics (Σ x̂ = 0), γ·Σg/√(σ²+ε) frozen.
// References: BatchNormTrainReference, BatchNormTrainBackwardReference, and with frozen statistics
// BatchNormReference, BatchNormFrozenBackwardReference (float64, no state change).
// Tensors: weight (γ), bias (β), running_mean (μ), running_var (σ²), each [C]; the parameters are γ
// and β (VisitParams), the running statistics are buffers.
#pragma once

#include <span>
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
  // ForwardTrain and Backward with a ReLU after the BatchNorm fused in (Layer::FusesRelu): out =
  // max(y, 0) written in the normalizing pass, and the backward's sums and dL/dx on g·[out > 0].
  bool FusesRelu() const override { return true; }
  void ForwardTrainRelu(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
                        Workspace& ws) override;
  void BackwardRelu(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                    const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  // The affine-input variant (above): u, b of [C] (u > 0, finite; std::invalid_argument otherwise).
  void ForwardTrainAffine(const Tensor& x, std::span<const double> u, std::span<const double> b, Tensor& out,
                          ThreadPool& pool);
  // After ForwardTrainAffine: dγ, dβ; grad_x (if non-null) = grad_scale·dL/dx; sum_grad_z [C] = Σ dL/dz.
  void BackwardAffine(const Tensor& x, const Tensor& grad_out, double grad_scale, Tensor* grad_x,
                      std::span<double> sum_grad_z, ThreadPool& pool);
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
  // Of the last ForwardTrain, per channel: μ_B and 1/√(σ²_B + ε) (frozen: the running ones); after
  // ForwardTrainAffine the x-space μ and k (above).
  std::vector<double> batch_mean_, batch_inv_std_;
  // Channel c of x [N, C, H, W]: μ = Σx/m and Σ(x − μ)² (float64, two passes; ForwardTrain and
  // ForwardTrainAffine).
  struct ChannelMoments {
    double mean, squares;
  };
  ChannelMoments MomentsOf(const Tensor& x, int64_t c) const;
  // Keeps (μ, k) as channel c's batch statistics and writes out[·, c] = a·x + (β − γ·k·μ) with
  // a = γ·k, both rounded to float once; max(·, 0) of that when `relu`.
  void NormalizeChannel(const Tensor& x, int64_t c, double mean, double inv_std, Tensor& out, bool relu);
  // Forward's per-channel affine on the running statistics, followed by max(·, 0) when `relu`.
  void ApplyRunningAffine(const Tensor& x, Tensor& out, ThreadPool& pool, bool relu) const;
  // ForwardTrain's body; `relu` fuses the ReLU.
  void ForwardTrainBody(const Tensor& x, Tensor& out, ThreadPool& pool, bool relu);
  void CheckBackward(const Tensor& x, const Tensor& grad_out) const;
  // Backward's body: dγ, dβ, and grad_x = grad_scale·dL/dx on the kept statistics, for the gradient
  // g = grad_out, or (kMasked) g·[relu_out > 0].
  template <bool kMasked>
  void BackwardOnKept(const Tensor& x, const Tensor* relu_out, const Tensor& grad_out, double grad_scale, Tensor* gx,
                      ThreadPool& pool);
};

}  // namespace cimsim
