#include "train/qat_layers.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <stdexcept>

#include "common/rounding.h"
#include "common/streams.h"
#include "nets/lane_sum.h"
#include "nets/reference_ops.h"
#include "nets/requantization.h"
#include "quant/fixed_point.h"

namespace cimsim {
namespace {

constexpr size_t kMaxAddInputs = QatAdd::kMaxInputs;

// The code range of a wide (int32) output, as the quantized model's (nets/quantize_network.cc).
constexpr double kWideLimit = 1 << 30;

// s·clamp(round(t), lo, hi) for a real quotient t (clamped first: the same value, and in the range
// where RoundHalfAway vectorizes).
inline float Requant(double t, double s, double lo, double hi) {
  return static_cast<float>(s * RoundHalfAway(std::clamp(t, lo, hi)));
}

// code[i] = R(round(x[i]/s_in)) for i < n (n <= the block), R the engine's fixed-point multiply by m
// (RequantizeRow with no bias and no clamp: MultiplyByQuantizedMultiplier element by element), or
// the identity when m is null — the fast paths of add and requant, in loops the compiler vectorizes.
inline void RescaledCodes(const float* x, std::ptrdiff_t n, double s_in, const FixedPointMultiplier* m, int32_t* code) {
  for (std::ptrdiff_t i = 0; i < n; ++i) code[i] = static_cast<int32_t>(RoundHalfAway(x[i] / s_in));
  if (m != nullptr) RequantizeRow(code, n, 0, *m, INT32_MIN, INT32_MAX, code);
}

// Where a degenerate scale is reported (an InputError from nets/requantization.h).
constexpr const char* kWhere = "QAT network";

// An integer sum saturated to int32, as the engine's accumulator + bias (quant/fixed_point.h).
inline int32_t SaturateInt32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
}

// s·clamp(q, lo, hi) for a requantized integer q.
inline float OnGrid(int64_t q, double s, double lo, double hi) {
  return static_cast<float>(s * std::clamp(static_cast<double>(q), lo, hi));
}

// Per-image quantizer partials, summed in image order, handed to the quantizer.
void BackwardPerImage(ActQuantizer& q, bool set_grads, const Tensor& y, const Tensor& grad_out, Tensor& grad_y,
                      std::vector<QuantGradPartial>& partials, ThreadPool& pool) {
  const int64_t n = y.dim(0), per = y.size() / n;
  grad_y.Resize(y.shape());
  partials.assign(static_cast<size_t>(n), QuantGradPartial{});
  pool.ParallelFor(n, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t i = b; i < e; ++i) {
      const size_t len = static_cast<size_t>(per);
      partials[static_cast<size_t>(i)] =
          q.Backward(std::span<const float>(y.data() + i * per, len), std::span<const float>(grad_out.data() + i * per, len),
                     std::span<float>(grad_y.data() + i * per, len));
    }
  });
  if (!set_grads) return;
  QuantGradPartial total;
  for (const QuantGradPartial& p : partials) total += p;
  q.SetGrads(total, y.size());
}

void CheckGradShape(const Tensor& grad_out, const Tensor& out, std::string_view kind) {
  if (grad_out.shape() != out.shape())
    throw std::invalid_argument(std::string(kind) + " backward: gradient " + ShapeString(grad_out.shape()) +
                                " does not match the output " + ShapeString(out.shape()));
}

}  // namespace

// ---------------------------------------------------------------- QatMvm

QatMvm::QatMvm(const QatMvmConfig& config, const ActQuantizer* input, ActQuantizer* output, bool trains_output)
    : config_(config),
      input_(input),
      output_(output),
      trains_output_(trains_output),
      wq_(config.weight_method, cimsim::WeightCodes(config.weight_bits, config.weight_grid), config.conv.out_channels,
          static_cast<int64_t>(config.conv.in_channels) * config.conv.kernel * config.conv.kernel, config.weight_scales),
      conv_([&] {
        Conv2dParams p = config.conv;
        p.bias = false;
        return p;
      }()) {
  if (input_ == nullptr || output_ == nullptr) throw std::invalid_argument("QatMvm: needs input and output quantizers");
  if (config_.wide_output && trains_output_) throw std::invalid_argument("QatMvm: a wide output has no quantizer of its own");
  const Conv2dParams& c = config_.conv;
  weight_ = config_.linear ? Tensor({c.out_channels, c.in_channels}) : Tensor({c.out_channels, c.in_channels, c.kernel, c.kernel});
  weight_grad_.Resize(weight_.shape());
  bias_ = Tensor({c.out_channels});
  bias_grad_.Resize(bias_.shape());
  if (config_.fold_scale.empty()) config_.fold_scale.assign(static_cast<size_t>(c.out_channels), 1.0);
  if (static_cast<int>(config_.fold_scale.size()) != c.out_channels)
    throw std::invalid_argument("QatMvm: fold_scale needs one factor per output channel");
  folded_.resize(static_cast<size_t>(weight_.size()));
  if (config_.batch_norm) {
    if (config_.linear) throw std::invalid_argument("QatMvm: BatchNorm is kept for convolutions only");
    for (double a : config_.fold_scale)
      if (a != 1.0) throw std::invalid_argument("QatMvm: BatchNorm kept in training mode and folded into the weights");
    bn_ = std::make_unique<BatchNorm2d>(c.out_channels, config_.bn_eps, config_.bn_momentum);
  }
}

Shape QatMvm::OutputShape(const std::vector<Shape>& inputs) const {
  if (!config_.linear) return conv_.OutputShape(inputs);
  if (inputs.size() != 1 || inputs[0].size() != 2 || inputs[0][1] != config_.conv.in_channels)
    throw std::invalid_argument("qat_linear expects one [N, " + std::to_string(config_.conv.in_channels) + "] input");
  return {inputs[0][0], config_.conv.out_channels};
}

int64_t QatMvm::MacsPerImage(const std::vector<Shape>& inputs) const {
  if (config_.linear) return static_cast<int64_t>(config_.conv.in_channels) * config_.conv.out_channels;
  return conv_.MacsPerImage(inputs);
}

void QatMvm::ParamsChanged() {
  if (trains_output_) output_->Project();
  wq_.Project();
  const int64_t O = config_.conv.out_channels, K = weight_.size() / O;
  for (int64_t o = 0; o < O; ++o) {
    const double a = config_.fold_scale[static_cast<size_t>(o)];
    for (int64_t k = 0; k < K; ++k) folded_[static_cast<size_t>(o * K + k)] = static_cast<float>(weight_[o * K + k] * a);
  }
  // BatchNorm kept: a channel with γ < 0 deploys its codes negated (below), so it trains on the
  // mirrored grid (full grid only; the symmetric grid is its own mirror image).
  if (bn_)
    for (int64_t o = 0; o < O; ++o) wq_.SetRowMirrored(o, bn_->gamma()[o] < 0);
  Tensor& codes = conv_.weight();
  wq_.Codes(folded_.data(), codes.data());
  const double s_in = input_->Scale(), s_out = output_quantizer().Scale();
  bias_codes_.resize(static_cast<size_t>(O));
  multipliers_.resize(static_cast<size_t>(O));
  deploy_scales_.resize(static_cast<size_t>(O));
  deploy_signs_.resize(static_cast<size_t>(O));
  for (int64_t o = 0; o < O; ++o) {
    double scale = wq_.Scale(o), bias = static_cast<double>(bias_[o]);
    int sign = 1;
    if (bn_) {  // fold the running statistics (see the header)
      const double a = static_cast<double>(bn_->gamma()[o]) /
                       std::sqrt(static_cast<double>(bn_->running_var()[o]) + bn_->eps());
      sign = a < 0 ? -1 : 1;
      scale *= std::abs(a);
      bias = static_cast<double>(bn_->beta()[o]) + a * (bias - static_cast<double>(bn_->running_mean()[o]));
    }
    const size_t u = static_cast<size_t>(o);
    deploy_scales_[u] = scale;
    deploy_signs_[u] = sign;
    const double acc_unit = scale * s_in;
    // (acc + sign·b_code)·(sign·M) = (sign·acc + b_code)·M: the deployed codes' result, exactly.
    bias_codes_[u] = sign * std::round(bias / acc_unit);
    multipliers_[u] = sign * acc_unit / s_out;
  }
}

std::pair<double, double> QatMvm::OutputRange() const {
  if (config_.wide_output) return {-kWideLimit, kWideLimit};
  return {output_quantizer().lo(), output_quantizer().hi()};
}

void QatMvm::InputCodes(const Tensor& x, Tensor& xc, ThreadPool& pool) const {
  if (config_.linear) {
    xc.Resize({x.dim(0), x.dim(1), 1, 1});
  } else {
    xc.Resize(x.shape());
  }
  const float s = static_cast<float>(input_->Scale());
  const float* src = x.data();
  float* dst = xc.data();
  pool.ParallelFor(x.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t i = b; i < e; ++i) dst[i] = RoundHalfAway(src[i] / s);
  });
}

void QatMvm::OutputStage(const Tensor& acc, Tensor& out, Tensor* y, ThreadPool& pool) const {
  const int64_t N = acc.dim(0), O = config_.conv.out_channels, P = acc.size() / (N * O);
  if (config_.linear) {
    out.Resize({N, O});
  } else {
    out.Resize(acc.shape());
  }
  if (y) y->Resize(out.shape());
  const double s = output_quantizer().Scale();
  const std::pair<double, double> range = OutputRange();
  const double lo = range.first, hi = range.second;  // plain variables: lambdas capture them (clang 14)
  pool.ParallelFor(N * O, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t no = b; no < e; ++no) {
      const size_t o = static_cast<size_t>(no % O);
      const double m = multipliers_[o], bc = bias_codes_[o];
      const float* a = acc.data() + no * P;
      float* dst = out.data() + no * P;
      for (int64_t p = 0; p < P; ++p) dst[p] = Requant((a[p] + bc) * m, s, lo, hi);
      if (y) {
        float* yd = y->data() + no * P;
        for (int64_t p = 0; p < P; ++p) yd[p] = static_cast<float>((a[p] + bc) * m * s);
      }
    }
  });
}

std::vector<FixedPointMultiplier> QatMvm::DeployedMultipliers() const {
  const Conv2dParams& c = config_.conv;
  const int64_t depth = static_cast<int64_t>(c.in_channels) * c.kernel * c.kernel;
  const double s_in = input_->Scale(), s_out = output_quantizer().Scale();
  std::vector<FixedPointMultiplier> m(static_cast<size_t>(c.out_channels));
  for (size_t o = 0; o < m.size(); ++o)
    m[o] = MvmOutputMultiplier(deploy_scales_[o], s_in, s_out, depth, wq_.codes().MaxAbs(), config_.max_input_code,
                               static_cast<int64_t>(deploy_signs_[o] * bias_codes_[o]), kWhere, std::string(Kind()));
  return m;
}

void QatMvm::DeployedOutputStage(const Tensor& acc, Tensor& out, ThreadPool& pool) const {
  const int64_t N = acc.dim(0), O = config_.conv.out_channels, P = acc.size() / (N * O);
  out.Resize(config_.linear ? Shape{N, O} : acc.shape());
  const std::vector<FixedPointMultiplier> m = DeployedMultipliers();
  const double s = output_quantizer().Scale();
  const std::pair<double, double> range = OutputRange();
  const double lo = range.first, hi = range.second;  // plain variables: lambdas capture them (clang 14)
  pool.ParallelFor(N * O, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t no = b; no < e; ++no) {
      const size_t o = static_cast<size_t>(no % O);
      // The deployed codes are sign·(these codes) with bias sign·b_code: their sum is sign·(acc + b_code).
      const int64_t sign = deploy_signs_[o], bc = static_cast<int64_t>(bias_codes_[o]);
      const float* a = acc.data() + no * P;
      float* dst = out.data() + no * P;
      for (int64_t p = 0; p < P; ++p)
        dst[p] = OnGrid(MultiplyByQuantizedMultiplier(SaturateInt32(sign * (static_cast<int64_t>(a[p]) + bc)), m[o]), s, lo, hi);
    }
  });
}

void QatMvm::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const {
  Tensor& xc = ws.Scratch(0);
  Tensor& acc = ws.Scratch(1);
  InputCodes(*inputs[0], xc, pool);
  conv_.Forward({&xc}, acc, pool, ws);
  DeployedOutputStage(acc, out, pool);
}

void QatMvm::EnableHardwareNoise(std::shared_ptr<const LayerHardwareNoise> noise, uint64_t seed, int64_t node) {
  const Conv2dParams& c = config_.conv;
  if (!noise || noise->outputs() != c.out_channels ||
      noise->rows() != static_cast<int64_t>(c.in_channels) * c.kernel * c.kernel)
    throw std::invalid_argument("QatMvm: hardware noise of another layer shape");
  hw_ = std::move(noise);
  hw_seed_ = seed;
  hw_node_ = node;
  Conv2dParams p = c;
  p.bias = false;
  noisy_conv_ = std::make_unique<Conv2d>(p);
  var_conv_ = std::make_unique<Conv2d>(p);
}

void QatMvm::SetHardwareNoiseFactor(double factor) {
  if (!hw_) throw std::logic_error("QatMvm::SetHardwareNoiseFactor: hardware noise is not enabled");
  if (!(factor >= 0) || !std::isfinite(factor)) throw std::invalid_argument("QatMvm: hardware noise factor must be finite and >= 0");
  hw_factor_ = factor;
}

void QatMvm::AddReadNoise(int64_t step, ThreadPool& pool, Workspace& ws) {
  const int64_t N = acc_.dim(0), O = config_.conv.out_channels, P = acc_.size() / (N * O);
  const bool reads = hw_->HasReadNoise();
  if (reads) {  // Σ_k q(x_k)·v[o, k]: the same GEMM shape on q(x) and the read variances
    xq_.Resize(xc_.shape());
    const float* src = xc_.data();
    float* dst = xq_.data();
    pool.ParallelFor(xc_.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
      for (std::ptrdiff_t i = b; i < e; ++i) dst[i] = hw_->InputVarianceWeight(static_cast<int32_t>(src[i]));
    });
    std::copy(hw_draw_.read_variance.begin(), hw_draw_.read_variance.end(), var_conv_->weight().data());
    var_conv_->Forward({&xq_}, var_, pool, ws);
  }
  pool.ParallelFor(N, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t n = b; n < e; ++n) {
      Rng rng = HardwareNoiseReadStream(hw_seed_, step, hw_node_, n);
      for (int64_t o = 0; o < O; ++o) {
        const double u = hw_draw_.adc_variance[static_cast<size_t>(o)];
        float* a = acc_.data() + (n * O + o) * P;
        const float* v = reads ? var_.data() + (n * O + o) * P : nullptr;
        for (int64_t p = 0; p < P; ++p) {
          const double sigma = std::sqrt(std::max(0.0, (v ? static_cast<double>(v[p]) : 0.0) + u));
          a[p] = static_cast<float>(a[p] + sigma * rng.Normal());
        }
      }
    }
  });
}

void QatMvm::ForwardTrain(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) {
  InputCodes(*inputs[0], xc_, pool);
  if (hw_ && hw_factor_ == 0) {
    hw_step_[0] += 1;
    conv_.Forward({&xc_}, acc_, pool, ws);
    train_conv_ = &conv_;
  } else if (hw_) {
    const int64_t step = static_cast<int64_t>(hw_step_[0]);
    const Tensor& codes = conv_.weight();
    hw_codes_.resize(static_cast<size_t>(codes.size()));
    for (int64_t i = 0; i < codes.size(); ++i) hw_codes_[static_cast<size_t>(i)] = static_cast<int16_t>(codes[i]);
    Rng rng = HardwareNoiseProgramStream(hw_seed_, step, hw_node_);
    hw_->Sample(hw_codes_, rng, hw_draw_, hw_factor_);
    std::copy(hw_draw_.weights.begin(), hw_draw_.weights.end(), noisy_conv_->weight().data());
    noisy_conv_->Forward({&xc_}, acc_, pool, ws);
    AddReadNoise(step, pool, ws);
    hw_step_[0] = static_cast<float>(step + 1);
    train_conv_ = noisy_conv_.get();
  } else {
    conv_.Forward({&xc_}, acc_, pool, ws);
    train_conv_ = &conv_;
  }
  if (bn_) {
    BatchNormTrainStage(out, pool, ws);
  } else {
    OutputStage(acc_, out, &y_, pool);
  }
}

void QatMvm::BatchNormTrainStage(Tensor& out, ThreadPool& pool, Workspace&) {
  const int64_t O = config_.conv.out_channels;
  const double s_in = input_->Scale();
  bn_unit_.resize(static_cast<size_t>(O));
  bn_shift_.resize(static_cast<size_t>(O));
  for (int64_t o = 0; o < O; ++o) {
    bn_unit_[static_cast<size_t>(o)] = wq_.Scale(o) * s_in;
    bn_shift_[static_cast<size_t>(o)] = bias_[o];
  }
  bn_->ForwardTrainAffine(acc_, bn_unit_, bn_shift_, y_, pool);  // BatchNorm of z = u·acc + b, z never formed
  out.Resize(y_.shape());
  const double s = output_quantizer().Scale();
  const std::pair<double, double> range = OutputRange();
  const double lo = range.first, hi = range.second;  // plain variables: lambdas capture them (clang 14)
  const float* y = y_.data();
  float* dst = out.data();
  pool.ParallelFor(out.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t i = b; i < e; ++i) dst[i] = Requant(y[i] / s, s, lo, hi);
  });
}

void QatMvm::Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                      const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) {
  CheckGradShape(grad_out, out, Kind());
  // Output quantizer: dL/dy and its parameter gradients (an owned quantizer only). A wide output is
  // not rounded, so dL/dy is grad_out itself.
  if (!config_.wide_output) BackwardPerImage(*output_, trains_output_, y_, grad_out, grad_y_, partials_, pool);
  const Tensor& grad_y = config_.wide_output ? grad_out : grad_y_;
  // The GEMM's backward runs on g_acc = dL/dacc / s_in, so that its input gradient is dL/dx itself
  // (x = s_in·x_code: dL/dx = W_codeᵀ·dL/dacc / s_in) and its weight gradient is dL/dw_code / s_in.
  //   y = s_w[o]·s_in·(acc + b_code):  g_acc = dL/dy · s_w[o],  dL/db = Σ dL/dy;
  //   BatchNorm kept, z = s_w[o]·s_in·acc + b: g_acc = dL/dacc / s_in from BatchNorm2d::BackwardAffine
  //   (with dL/dγ, dL/dβ, and dL/db = Σ dL/dz).
  const int64_t N = acc_.dim(0), O = config_.conv.out_channels, P = acc_.size() / (N * O);
  const double s_in = input_->Scale();
  Tensor& grad_acc = ws.Scratch(2);
  if (bn_) {
    bn_bias_sums_.resize(static_cast<size_t>(O));
    bn_->BackwardAffine(acc_, grad_y, 1.0 / s_in, &grad_acc, bn_bias_sums_, pool);
    for (int64_t o = 0; o < O; ++o) bias_grad_[o] = static_cast<float>(bn_bias_sums_[static_cast<size_t>(o)]);
  } else {
    // One pass per (image, channel) row: the scaled gradient and the row's sum of dL/dy (SumD,
    // nets/lane_sum.h); then per channel the rows' sums in image order.
    grad_acc.Resize(acc_.shape());
    row_sums_.resize(static_cast<size_t>(N * O));
    pool.ParallelFor(N * O, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
      for (std::ptrdiff_t no = b; no < e; ++no) {
        const float unit = static_cast<float>(wq_.Scale(no % O));
        const float* __restrict g = grad_y.data() + no * P;
        float* __restrict d = grad_acc.data() + no * P;
        row_sums_[static_cast<size_t>(no)] = SumD(P, [&](int64_t p) {
          d[p] = g[p] * unit;
          return static_cast<double>(g[p]);
        });
      }
    });
    for (int64_t o = 0; o < O; ++o) {
      double sum = 0.0;
      for (int64_t n = 0; n < N; ++n) sum += row_sums_[static_cast<size_t>(n * O + o)];
      bias_grad_[o] = static_cast<float>(sum);
    }
  }
  // The integer GEMM's backward on codes, its input gradient written straight into dL/dx (a linear
  // layer's [N, I, 1, 1] reshaped to [N, I], the same values).
  Tensor* gx = grad_inputs[0];
  Conv2d& train_conv = train_conv_ ? *train_conv_ : conv_;
  train_conv.Backward({&xc_}, acc_, grad_acc, {gx}, pool, ws);
  if (gx) gx->Resize(inputs[0]->shape());
  // Weights: dL/dŵ = dL/dw_code / s_w[o] = (the GEMM's weight gradient)·s_in/s_w[o], then through the
  // weight quantizer.
  const int64_t K = weight_.size() / O;
  grad_w_real_.Resize({O, K});
  const Tensor& gwc = train_conv.weight_grad();  // straight through the chip: dL/dŵ is dL/dw_code
  for (int64_t o = 0; o < O; ++o) {
    const float inv = static_cast<float>(s_in / wq_.Scale(o));
    for (int64_t k = 0; k < K; ++k) grad_w_real_[o * K + k] = gwc[o * K + k] * inv;
  }
  grad_folded_.Resize({O, K});
  wq_.Backward(folded_.data(), grad_w_real_.data(), grad_folded_.data());
  for (int64_t o = 0; o < O; ++o) {
    const float a = static_cast<float>(config_.fold_scale[static_cast<size_t>(o)]);
    for (int64_t k = 0; k < K; ++k) weight_grad_[o * K + k] = grad_folded_[o * K + k] * a;
  }
}

void QatMvm::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  const TensorD& x = *inputs[0];
  const double s_in = input_->Scale();
  TensorD xc = config_.linear ? TensorD({x.dim(0), x.dim(1), 1, 1}) : TensorD(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) xc[i] = std::round(x[i] / s_in);
  const TensorD acc = Conv2dReference(xc, conv_.weight().Cast<double>(), TensorD(), config_.conv.stride, config_.conv.padding);
  const ActQuantizer& q = output_quantizer();
  const std::pair<double, double> range = OutputRange();
  const std::vector<FixedPointMultiplier> m = DeployedMultipliers();
  const int64_t N = acc.dim(0), O = acc.dim(1), P = acc.size() / (N * O);
  out = config_.linear ? TensorD({N, O}) : TensorD(acc.shape());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t p = 0; p < P; ++p) {
        const int64_t i = (n * O + o) * P + p;
        const size_t u = static_cast<size_t>(o);
        const int64_t deployed = deploy_signs_[u] * (static_cast<int64_t>(acc[i]) + static_cast<int64_t>(bias_codes_[u]));
        const int32_t t = MultiplyByQuantizedMultiplierReference(SaturateInt32(deployed), m[u]);
        out[i] = q.Scale() * std::clamp(static_cast<double>(t), range.first, range.second);
      }
}

void QatMvm::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  VisitParams([&](const std::string& suffix, Tensor& p, Tensor&) { fn(suffix, p); });
  if (bn_) {
    fn("bn_running_mean", bn_->running_mean());
    fn("bn_running_var", bn_->running_var());
  }
  if (hw_) fn("hw_step", hw_step_);
  wq_.VisitState("weight_osc", fn);
}

void QatMvm::EnableWeightFreezing() {
  const Tensor& codes = conv_.weight();
  wq_.EnableFreezing(std::span<const float>(codes.data(), static_cast<size_t>(codes.size())));
}

int64_t QatMvm::TrackWeightOscillations(double momentum, double threshold) {
  const Tensor& codes = conv_.weight();
  const int64_t frozen = wq_.TrackOscillations(std::span<const float>(codes.data(), static_cast<size_t>(codes.size())), momentum, threshold);
  if (frozen > 0) ParamsChanged();
  return frozen;
}

Tensor QatMvm::LatentWeights() const {
  Tensor v = weight_;
  const OscillationTracker* frozen = wq_.freezing();
  if (frozen == nullptr) return v;
  const int64_t O = config_.conv.out_channels, K = v.size() / O;
  for (int64_t o = 0; o < O; ++o)
    for (int64_t k = 0; k < K; ++k)
      if (frozen->frozen(o * K + k) && config_.fold_scale[static_cast<size_t>(o)] != 0)  // a_o = 0: no value quantizes to c
        v[o * K + k] = static_cast<float>(frozen->frozen_code(o * K + k) * wq_.Scale(o) / config_.fold_scale[static_cast<size_t>(o)]);
  return v;
}

void QatMvm::VisitParams(const ParamVisitor& fn) {
  fn("weight", weight_, weight_grad_);
  fn("bias", bias_, bias_grad_);
  if (bn_) {
    fn("bn_weight", bn_->gamma(), bn_->gamma_grad());
    fn("bn_bias", bn_->beta(), bn_->beta_grad());
  }
  wq_.VisitParams("weight", fn);
  if (trains_output_) output_->VisitParams("act", fn);
}

std::vector<int16_t> QatMvm::WeightCodes() const {
  const Tensor& c = conv_.weight();
  std::vector<int16_t> out(static_cast<size_t>(c.size()));
  const int64_t K = c.size() / config_.conv.out_channels;
  for (int64_t i = 0; i < c.size(); ++i)
    out[static_cast<size_t>(i)] = static_cast<int16_t>(deploy_signs_[static_cast<size_t>(i / K)] * c[i]);
  return out;
}

std::vector<double> QatMvm::WeightScales() const { return deploy_scales_; }

std::vector<int64_t> QatMvm::BiasCodes() const {
  std::vector<int64_t> out;
  for (size_t o = 0; o < bias_codes_.size(); ++o) out.push_back(static_cast<int64_t>(deploy_signs_[o] * bias_codes_[o]));
  return out;
}

// ---------------------------------------------------------------- QatAdd

QatAdd::QatAdd(std::vector<const ActQuantizer*> inputs, ActQuantizer* output, std::vector<bool> identity,
               std::vector<int64_t> max_input_codes)
    : inputs_(std::move(inputs)), out_(output), identity_(std::move(identity)), max_input_codes_(std::move(max_input_codes)) {
  if (inputs_.size() < 2 || inputs_.size() > kMaxAddInputs || out_ == nullptr)
    throw std::invalid_argument("QatAdd: needs 2.." + std::to_string(kMaxAddInputs) + " inputs and an output quantizer");
  if (identity_.size() != inputs_.size() || max_input_codes_.size() != inputs_.size())
    throw std::invalid_argument("QatAdd: needs an identity flag and a largest code per input");
}

Shape QatAdd::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != inputs_.size()) throw std::invalid_argument("qat_add: wrong number of inputs");
  for (const Shape& s : inputs)
    if (s != inputs[0]) throw std::invalid_argument("qat_add: input shapes differ");
  return inputs[0];
}

std::array<FixedPointMultiplier, QatAdd::kMaxInputs> QatAdd::RescaleMultipliers() const {
  std::array<FixedPointMultiplier, kMaxAddInputs> rescale{};
  for (size_t j = 0; j < inputs_.size(); ++j)
    if (!identity_[j])
      rescale[j] = RescaleMultiplier(inputs_[j]->Scale() / out_->Scale(), max_input_codes_[j], kWhere, "add", "rescale");
  return rescale;
}

void QatAdd::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  std::vector<Shape> shapes;
  for (const Tensor* x : inputs) shapes.push_back(x->shape());
  out.Resize(OutputShape(shapes));
  const double s = out_->Scale(), lo = out_->lo(), hi = out_->hi();
  const std::array<FixedPointMultiplier, kMaxAddInputs> rescale = RescaleMultipliers();
  std::array<double, kMaxAddInputs> in_s{};
  std::array<bool, kMaxAddInputs> identity{};
  for (size_t j = 0; j < inputs_.size(); ++j) {
    in_s[j] = inputs_[j]->Scale();
    identity[j] = identity_[j];
  }
  // Blocks of kBlock elements, input by input: RescaledCodes, then an int64 sum — the arithmetic of
  // ForwardReference without a call per element.
  constexpr std::ptrdiff_t kBlock = 256;
  pool.ParallelFor(out.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    std::array<int32_t, kBlock> code;
    std::array<int64_t, kBlock> k;
    for (std::ptrdiff_t b0 = b; b0 < e; b0 += kBlock) {
      const std::ptrdiff_t n = std::min(kBlock, e - b0);
      std::fill_n(k.begin(), n, int64_t{0});
      for (size_t j = 0; j < inputs.size(); ++j) {
        RescaledCodes(inputs[j]->data() + b0, n, in_s[j], identity[j] ? nullptr : &rescale[j], code.data());
        for (std::ptrdiff_t i = 0; i < n; ++i) k[i] += code[i];
      }
      for (std::ptrdiff_t i = 0; i < n; ++i) out.data()[b0 + i] = OnGrid(k[i], s, lo, hi);
    }
  });
}

void QatAdd::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = TensorD(inputs[0]->shape());
  const double s = out_->Scale();
  const std::array<FixedPointMultiplier, kMaxAddInputs> rescale = RescaleMultipliers();
  for (int64_t i = 0; i < out.size(); ++i) {
    int64_t k = 0;
    for (size_t j = 0; j < inputs.size(); ++j) {
      const int32_t code = static_cast<int32_t>(std::round((*inputs[j])[i] / inputs_[j]->Scale()));
      k += identity_[j] ? code : MultiplyByQuantizedMultiplierReference(code, rescale[j]);
    }
    out[i] = s * std::clamp(static_cast<double>(k), static_cast<double>(out_->lo()), static_cast<double>(out_->hi()));
  }
}

void QatAdd::Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                      const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  CheckGradShape(grad_out, out, Kind());
  y_.Resize(out.shape());
  // y = x_0 + x_1 + ..., one input at a time over each block (a loop over the inputs inside the
  // element loop did not vectorize).
  pool.ParallelFor(y_.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    float* __restrict y = y_.data();
    const float* __restrict x0 = inputs[0]->data();
    for (std::ptrdiff_t i = b; i < e; ++i) y[i] = x0[i];
    for (size_t k = 1; k < inputs.size(); ++k) {
      const float* __restrict xk = inputs[k]->data();
      for (std::ptrdiff_t i = b; i < e; ++i) y[i] += xk[i];
    }
  });
  // dL/dx_k = dL/dy for every input: written into the first input's gradient, copied to the others.
  Tensor* first = nullptr;
  for (Tensor* g : grad_inputs) first = first ? first : g;
  Tensor& grad_y = first ? *first : grad_y_;
  BackwardPerImage(*out_, true, y_, grad_out, grad_y, partials_, pool);
  for (Tensor* g : grad_inputs) {
    if (!g || g == first) continue;
    g->Resize(out.shape());
    std::copy_n(grad_y.data(), grad_y.size(), g->data());
  }
}

void QatAdd::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  VisitParams([&](const std::string& suffix, Tensor& p, Tensor&) { fn(suffix, p); });
}

void QatAdd::VisitParams(const ParamVisitor& fn) { out_->VisitParams("act", fn); }

// ---------------------------------------------------------------- QatAvgPool

QatAvgPool::QatAvgPool(const ActQuantizer* input, ActQuantizer* output, int64_t max_input_code)
    : input_(input), out_(output), max_input_code_(max_input_code) {
  if (input_ == nullptr || out_ == nullptr) throw std::invalid_argument("QatAvgPool: needs input and output quantizers");
}

Shape QatAvgPool::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 4) throw std::invalid_argument("qat_global_avg_pool expects [N, C, H, W]");
  return {inputs[0][0], inputs[0][1]};
}

void QatAvgPool::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const int64_t plane = x.dim(2) * x.dim(3);
  const double s_in = input_->Scale(), s = out_->Scale(), lo = out_->lo(), hi = out_->hi();
  const FixedPointMultiplier m = RescaleMultiplier(s_in / (static_cast<double>(plane) * s), plane * max_input_code_, kWhere,
                                                   "global_avg_pool", "pool");
  pool.ParallelFor(out.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    for (std::ptrdiff_t nc = b; nc < e; ++nc) {
      double sum = 0;
      const float* src = x.data() + nc * plane;
      for (int64_t i = 0; i < plane; ++i) sum += RoundHalfAway(src[i] / s_in);
      out.data()[nc] = OnGrid(MultiplyByQuantizedMultiplier(SaturateInt32(static_cast<int64_t>(sum)), m), s, lo, hi);
    }
  });
}

void QatAvgPool::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  const TensorD& x = *inputs[0];
  out = TensorD({x.dim(0), x.dim(1)});
  const int64_t plane = x.dim(2) * x.dim(3);
  const FixedPointMultiplier m = RescaleMultiplier(input_->Scale() / (static_cast<double>(plane) * out_->Scale()),
                                                   plane * max_input_code_, kWhere, "global_avg_pool", "pool");
  for (int64_t nc = 0; nc < out.size(); ++nc) {
    int64_t sum = 0;
    for (int64_t i = 0; i < plane; ++i) sum += static_cast<int64_t>(std::round(x[nc * plane + i] / input_->Scale()));
    const int32_t t = MultiplyByQuantizedMultiplierReference(SaturateInt32(sum), m);
    out[nc] = out_->Scale() * std::clamp(static_cast<double>(t), static_cast<double>(out_->lo()), static_cast<double>(out_->hi()));
  }
}

void QatAvgPool::Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                          const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  CheckGradShape(grad_out, out, Kind());
  const Tensor& x = *inputs[0];
  const int64_t plane = x.dim(2) * x.dim(3);
  y_.Resize(out.shape());
  for (int64_t nc = 0; nc < out.size(); ++nc) {
    double sum = 0;
    for (int64_t i = 0; i < plane; ++i) sum += x.data()[nc * plane + i];
    y_[nc] = static_cast<float>(sum / static_cast<double>(plane));
  }
  BackwardPerImage(*out_, true, y_, grad_out, grad_y_, partials_, pool);
  if (!grad_inputs[0]) return;
  Tensor& g = *grad_inputs[0];
  g.Resize(x.shape());
  const float inv = 1.0f / static_cast<float>(plane);
  for (int64_t nc = 0; nc < out.size(); ++nc)
    for (int64_t i = 0; i < plane; ++i) g.data()[nc * plane + i] = grad_y_[nc] * inv;
}

void QatAvgPool::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  VisitParams([&](const std::string& suffix, Tensor& p, Tensor&) { fn(suffix, p); });
}

void QatAvgPool::VisitParams(const ParamVisitor& fn) { out_->VisitParams("act", fn); }

// ---------------------------------------------------------------- QatRequant

QatRequant::QatRequant(const ActQuantizer* input, ActQuantizer* output, int64_t max_input_code)
    : input_(input), out_(output), max_input_code_(max_input_code) {
  if (input_ == nullptr || out_ == nullptr) throw std::invalid_argument("QatRequant: needs input and output quantizers");
}

Shape QatRequant::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1) throw std::invalid_argument("qat_requant expects one input");
  return inputs[0];
}

void QatRequant::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(x.shape());
  const double s_in = input_->Scale(), s = out_->Scale(), lo = out_->lo(), hi = out_->hi();
  const FixedPointMultiplier m = RescaleMultiplier(s_in / s, max_input_code_, kWhere, "requant", "requant");
  // As QatAdd::Forward: blocks through RescaledCodes.
  constexpr std::ptrdiff_t kBlock = 256;
  pool.ParallelFor(x.size(), [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
    std::array<int32_t, kBlock> code;
    for (std::ptrdiff_t b0 = b; b0 < e; b0 += kBlock) {
      const std::ptrdiff_t n = std::min(kBlock, e - b0);
      RescaledCodes(x.data() + b0, n, s_in, &m, code.data());
      for (std::ptrdiff_t i = 0; i < n; ++i) out.data()[b0 + i] = OnGrid(code[i], s, lo, hi);
    }
  });
}

void QatRequant::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  const TensorD& x = *inputs[0];
  out = TensorD(x.shape());
  const FixedPointMultiplier m = RescaleMultiplier(input_->Scale() / out_->Scale(), max_input_code_, kWhere, "requant", "requant");
  for (int64_t i = 0; i < x.size(); ++i) {
    const int32_t t = MultiplyByQuantizedMultiplierReference(static_cast<int32_t>(std::round(x[i] / input_->Scale())), m);
    out[i] = out_->Scale() * std::clamp(static_cast<double>(t), static_cast<double>(out_->lo()), static_cast<double>(out_->hi()));
  }
}

void QatRequant::Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                          const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  CheckGradShape(grad_out, out, Kind());
  // dL/dx is written straight into the input's gradient (grad_y_ when nothing wants it).
  BackwardPerImage(*out_, true, *inputs[0], grad_out, grad_inputs[0] ? *grad_inputs[0] : grad_y_, partials_, pool);
}

void QatRequant::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  VisitParams([&](const std::string& suffix, Tensor& p, Tensor&) { fn(suffix, p); });
}

void QatRequant::VisitParams(const ParamVisitor& fn) { out_->VisitParams("act", fn); }

}  // namespace cimsim
