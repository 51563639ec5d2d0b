// qat_layers.h — the layers of a quantization-aware-training network (docs/training.md, "QAT").
//
// A QAT network mirrors the integer model node by node (nets/quantized_model.h): every tensor
// between nodes holds real values r = s·code on its quantizer's grid (float32; the code is recovered
// exactly as round(r/s)), and every node computes what the integer engine computes, in the same
// order of roundings:
//  QatMvm (conv / linear, BatchNorm folded beforehand, or kept in training mode — below):
//    x_code = round(x/s_in), w_code = the weight quantizer's codes, b_code[o] = round(b[o]/(s_w[o]·s_in)),
//    acc = Σ w_code·x_code (a float32 GEMM on integers: exact while partial sums stay below 2^24 —
//    always for ≤ 6-bit weights or inputs of ResNet-20 sizes, almost always at 8 bits),
//    training: t = (acc + b_code)·M_o with M_o = s_w[o]·s_in/s_out in float64, out = s_out·clamp(round(t), lo, hi);
//    inference (Forward): out = s_out·clamp(MultiplyByQuantizedMultiplier(acc + b_code, M_o), lo, hi) with
//    the engine's fixed-point M_o (quant/fixed_point.h; the multiplier, shift and headroom that
//    nets/requantization.h gives the exported node), so inference is the exported integer network
//    bit for bit, not only up to near-ties of the real multiplier (which the fixed-point one
//    approximates to 2^-31 relative).
//  QatMvm with BatchNorm kept (QatMvmConfig::batch_norm): the weight quantizer holds the raw conv
//    weights v (step s_v[o]); training (ForwardTrain) computes z = s_v[o]·s_in·acc + b[o] (acc on the
//    codes of v), then BatchNorm with the batch statistics (nets/batch_norm.h, running statistics
//    updated), ŷ = γ(z − μ_B)/√(σ²_B + ε) + β, and out = s_out·clamp(round(ŷ/s_out), lo, hi). Inference
//    (Forward, and the export) folds the running statistics: a_o = γ_o/√(σ²_o + ε), the deployed weight
//    codes sign(a_o)·w_code with scale s_v[o]·|a_o| — the same integers, so the fold is exact — and
//    bias β_o + a_o·(b_o − μ_o) in accumulator units. Inference is thus exactly the exported integer
//    network; training differs from it only by batch versus running statistics (as in PyTorch QAT).
//  QatAdd: k = Σ_i R_i(round(x_i/s_i)), out = s_out·clamp(k, lo, hi), where R_i is the identity for an
//    input the model marks as already at the output's scale (rescale_identity) and otherwise the
//    fixed-point multiply by s_i/s_out.
//  QatAvgPool: out = s_out·clamp(R(Σ round(x/s_in)), lo, hi), R the fixed-point multiply by s_in/(H·W·s_out).
//  QatRequant: out = s_out·clamp(R(round(x/s_in)), lo, hi), R by s_in/s_out (a tensor re-quantized to
//    the fewer bits of the layers that read it).
//  Add, pool and requant use the fixed-point multiply in training too (their forward has no other
//  form); the multipliers are made from the current scales at every call with nets/requantization.h's
//  functions and headrooms, from the input code ranges of the model (max_input_code).
//  ForwardReference: the same with MultiplyByQuantizedMultiplierReference (QatMvm: its inference).
// Backward: the output quantizer's estimator (fixed: straight through inside the range; LSQ; DSQ) on
// the pre-quantization value y (QatMvm: y = s_out·t; add: Σ x_i; pool: mean x); straight through
// every inner rounding (input codes, bias codes); weights through the weight quantizer. Gradients do
// not flow into another node's scale (s_in), as in LSQ. Output quantizer partials are summed per image
// in image order, so everything is bit-identical for any thread count.
#pragma once

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/layer.h"
#include "quant/fixed_point.h"
#include "train/fake_quantizer.h"
#include "train/hardware_noise.h"

namespace cimsim {

struct QatMvmConfig {
  bool linear = false;   // linear: x [N, I] → [N, O] (computed as a 1×1 conv)
  Conv2dParams conv;     // linear: in_channels = I, out_channels = O, kernel 1, stride 1, padding 0
  int weight_bits = 8;
  WeightGrid weight_grid = WeightGrid::kSymmetric;  // kFull: LSQ only (quant/weight_grid.h)
  QatMethod weight_method = QatMethod::kFixed;
  std::vector<double> weight_scales;  // initial per-output-channel scales
  bool wide_output = false;           // int32 codes on the output grid: no clamp, straight through
  // The folded BatchNorm's per-channel factor a_o = γ_o/√(σ²_o+ε) (empty: 1). The trained parameter is
  // the layer's own weight v (as before folding); the quantized weight is w = float(v·a_o). SGD on v is
  // SGD on w with a per-channel rate a_o², the conditioning the network was trained with (BatchNorm
  // frozen at its running statistics).
  std::vector<double> fold_scale;
  // BatchNorm kept in training mode after the GEMM (conv only; fold_scale must then be all 1): its γ,
  // β, running statistics are set through QatMvm::batch_norm() before the first ParamsChanged.
  bool batch_norm = false;
  double bn_eps = 1e-5, bn_momentum = 0.1;
  // The largest |input code| the model's requantization headroom counts (nets/requantization.h,
  // MaxInputCode; 127 for the image).
  int64_t max_input_code = 127;
};

class QatMvm : public Layer {
 public:
  // input: the quantizer whose grid the input lies on; output: the quantizer of the output — this
  // node's own (`trains_output`: its parameters are this layer's) or, for a wide output, the grid of
  // the add it feeds (straight through, no parameters). Quantizers are not owned (QatNetwork owns them).
  QatMvm(const QatMvmConfig& config, const ActQuantizer* input, ActQuantizer* output, bool trains_output);

  std::string_view Kind() const override { return config_.linear ? "qat_linear" : "qat_conv"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void ForwardTrain(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;
  void VisitParams(const ParamVisitor& fn) override;
  void ParamsChanged() override;
  int64_t MacsPerImage(const std::vector<Shape>& inputs) const override;

  const QatMvmConfig& config() const { return config_; }
  Tensor& weight() { return weight_; }  // the trained weights v [O, C, k, k] or [O, I] (w = v·a_o)
  Tensor& bias() { return bias_; }      // [O]
  const ActQuantizer& output_quantizer() const { return *output_; }
  const WeightQuantizer& weight_quantizer() const { return wq_; }
  // The oscillation-dampening weight λ of the weight quantizer for the following steps
  // (WeightQuantizer::SetDampening; train/oscillation_dampening.h).
  void SetWeightDampening(double lambda) { wq_.SetDampening(lambda); }
  // Iterative freezing of oscillating weights (train/weight_freezing.h), tracked from the current codes
  // on; its state becomes tensors "weight_osc_*" of the layer (checkpointed with the parameters).
  void EnableWeightFreezing();
  // One training step of the tracker on the current codes; re-derives the codes (ParamsChanged) when it
  // froze a weight, whose frozen code may differ from its current one. Returns the number it froze.
  int64_t TrackWeightOscillations(double momentum, double threshold);
  // The trained weights v with every frozen weight at the value of its frozen code, c·s_o/a_o (so that
  // it quantizes to c at the current step); v itself when nothing is frozen.
  Tensor LatentWeights() const;
  BatchNorm2d* batch_norm() { return bn_.get(); }  // null unless config().batch_norm
  // Hardware-aware training (train/hardware_noise.h): from now on every ForwardTrain programs the current
  // weight codes on a fresh chip — draw number `step` (a counter kept as the tensor "hw_step", so a
  // resumed run continues the same draws) from HardwareNoiseProgramStream(seed, step, node) — and
  // computes acc with its effective weights plus read and ADC noise from
  // HardwareNoiseReadStream(seed, step, node, image) (common/streams.h). Backward is straight through:
  // the gradients of those noisy weights are the codes' gradients. Forward (inference, export) is not
  // affected.
  void EnableHardwareNoise(std::shared_ptr<const LayerHardwareNoise> noise, uint64_t seed, int64_t node);
  const LayerHardwareNoise* hardware_noise() const { return hw_.get(); }
  // Scales the layer's strength for the following steps (a strength schedule's factor, >= 0). At 0 the
  // step is noise-free — the clean GEMM, no draw — but still counts as a draw, so the draw numbers of
  // later steps do not depend on the schedule.
  void SetHardwareNoiseFactor(double factor);
  double hardware_noise_factor() const { return hw_factor_; }
  // The deployed integers of the current parameters: weight codes [O, K], per-channel scales, bias
  // codes (in accumulator units s_w[o]·s_in).
  std::vector<int16_t> WeightCodes() const;
  std::vector<double> WeightScales() const;
  std::vector<int64_t> BiasCodes() const;

 private:
  // x (real) → x codes [N, C, H, W] (a linear input [N, I] becomes [N, I, 1, 1]).
  void InputCodes(const Tensor& x, Tensor& xc, ThreadPool& pool) const;
  // acc → out (and y = s_out·t when y is non-null): training, with the real multipliers.
  void OutputStage(const Tensor& acc, Tensor& out, Tensor* y, ThreadPool& pool) const;
  // acc → out with the deployed fixed-point multipliers: inference.
  void DeployedOutputStage(const Tensor& acc, Tensor& out, ThreadPool& pool) const;
  // Per output channel, the fixed-point multiplier the export gives this layer's current parameters.
  std::vector<FixedPointMultiplier> DeployedMultipliers() const;
  // BatchNorm kept, training: acc → z → ŷ (y_, batch statistics) → out.
  void BatchNormTrainStage(Tensor& out, ThreadPool& pool, Workspace& ws);
  // The output's clamp range (a wide output: ±2^30).
  std::pair<double, double> OutputRange() const;

  QatMvmConfig config_;
  const ActQuantizer* input_;
  ActQuantizer* output_;
  bool trains_output_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  WeightQuantizer wq_;
  Conv2d conv_;                      // weights = the current weight codes, no bias
  std::vector<double> bias_codes_;   // [O]
  std::vector<double> multipliers_;  // M_o = s_w[o]·s_in/s_out (BatchNorm kept: sign(a_o)·s_v[o]·|a_o|·s_in/s_out)
  std::vector<double> deploy_scales_;  // per-channel scale of the deployed weight codes
  std::vector<double> row_sums_;       // Backward: Σ_p dL/dy[n, o, p] per (image, channel) [N·O]
  std::vector<double> bn_unit_, bn_shift_, bn_bias_sums_;  // BatchNorm kept: u_o = s_v[o]·s_in, b_o, Σ dL/dz [O]
  std::vector<int> deploy_signs_;      // ±1: deployed codes = sign·codes of the trained weights
  std::vector<float> folded_;        // w = v·a_o [O, K]
  std::unique_ptr<BatchNorm2d> bn_;  // BatchNorm kept in training mode, or null
  // Hardware-aware training: the noise model, its seed and node, the draw counter, the convs that
  // multiply the drawn weights and read variances, and their scratch.
  std::shared_ptr<const LayerHardwareNoise> hw_;
  uint64_t hw_seed_ = 0;
  int64_t hw_node_ = 0;
  Tensor hw_step_{1};
  double hw_factor_ = 1;
  std::unique_ptr<Conv2d> noisy_conv_, var_conv_;
  LayerHardwareNoise::Draw hw_draw_;
  std::vector<int16_t> hw_codes_;
  Tensor xq_, var_;
  // The GEMM of the last ForwardTrain (conv_, or noisy_conv_ with hardware noise), for Backward.
  Conv2d* train_conv_ = nullptr;
  // acc += N(0, var + u_o) per element, from per-image streams.
  void AddReadNoise(int64_t step, ThreadPool& pool, Workspace& ws);
  Tensor xc_, acc_, y_, grad_y_, grad_w_real_, grad_folded_;  // training state
  std::vector<QuantGradPartial> partials_;
};

class QatAdd : public Layer {
 public:
  // identity[i]: input i is at the output's scale already (the model's rescale_identity);
  // max_input_codes[i]: its largest |code| (nets/requantization.h, MaxInputCode).
  QatAdd(std::vector<const ActQuantizer*> inputs, ActQuantizer* output, std::vector<bool> identity,
         std::vector<int64_t> max_input_codes);
  std::string_view Kind() const override { return "qat_add"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;
  void VisitParams(const ParamVisitor& fn) override;
  void ParamsChanged() override { out_->Project(); }
  const ActQuantizer& output_quantizer() const { return *out_; }

  static constexpr size_t kMaxInputs = 4;

 private:
  // Per input, the fixed-point multiplier by s_i/s_out (unset for an identity input).
  std::array<FixedPointMultiplier, kMaxInputs> RescaleMultipliers() const;

  std::vector<const ActQuantizer*> inputs_;
  ActQuantizer* out_;
  std::vector<bool> identity_;
  std::vector<int64_t> max_input_codes_;
  Tensor y_, grad_y_;
  std::vector<QuantGradPartial> partials_;
};

class QatAvgPool : public Layer {
 public:
  QatAvgPool(const ActQuantizer* input, ActQuantizer* output, int64_t max_input_code);
  std::string_view Kind() const override { return "qat_global_avg_pool"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;
  void VisitParams(const ParamVisitor& fn) override;
  void ParamsChanged() override { out_->Project(); }
  const ActQuantizer& output_quantizer() const { return *out_; }

 private:
  const ActQuantizer* input_;
  ActQuantizer* out_;
  int64_t max_input_code_;
  Tensor y_, grad_y_;
  std::vector<QuantGradPartial> partials_;
};

class QatRequant : public Layer {
 public:
  QatRequant(const ActQuantizer* input, ActQuantizer* output, int64_t max_input_code);
  std::string_view Kind() const override { return "qat_requant"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;
  void VisitParams(const ParamVisitor& fn) override;
  void ParamsChanged() override { out_->Project(); }

 private:
  const ActQuantizer* input_;
  ActQuantizer* out_;
  int64_t max_input_code_;
  Tensor grad_y_;
  std::vector<QuantGradPartial> partials_;
};

}  // namespace cimsim
