// batch_norm.h — BatchNorm2d in inference mode (running statistics), PyTorch semantics.
//
// y[n,c,h,w] = γ_c · (x[n,c,h,w] − μ_c) / √(σ²_c + ε) + β_c, with μ, σ² the running mean and variance.
// Fast path: a per-channel affine y = a_c·x + b_c with a_c = γ_c/√(σ²_c+ε), b_c = β_c − a_c·μ_c
// computed in float64 then rounded once. Training mode arrives with the training issue.
// Tensors: weight (γ), bias (β), running_mean (μ), running_var (σ²), each [C].
#pragma once

#include "nets/layer.h"

namespace cimsim {

class BatchNorm2d : public Layer {
 public:
  explicit BatchNorm2d(int channels, double eps = 1e-5);

  std::string_view Kind() const override { return "batch_norm"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;

  int channels() const { return channels_; }
  double eps() const { return eps_; }
  Tensor& gamma() { return gamma_; }
  Tensor& beta() { return beta_; }
  Tensor& running_mean() { return mean_; }
  Tensor& running_var() { return var_; }

 private:
  int channels_;
  double eps_;
  Tensor gamma_, beta_, mean_, var_;
};

}  // namespace cimsim
