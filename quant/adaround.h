// adaround.h — weight quantization that minimizes a layer's OUTPUT error on calibration inputs:
// per-channel clipping search, empirical bias correction and AdaRound (learned rounding).
// ("Calibration" here: quantization calibration — inputs from training images; docs/glossary.md.)
//
// A conv/linear layer computes y = W x (W [O, K] float, rows = output channels, K = C·k·k, x an
// im2col patch of its float input). The quantized layer computes ŷ = Ŵ x̂ with x̂ the patch of the
// input coming out of the already-quantized preceding layers and Ŵ[o] = s_o·q_o (q_o integer codes in
// ±Q, Q = 2^(bits−1) − 1). Everything here only needs the second moments of the patches
// (LayerMoments, accumulated in double over all calibration patches):
//   E ||W x − Ŵ x̂||² = tr(W Cxx Wᵀ) − 2 tr(W Cxq Ŵᵀ) + tr(Ŵ Cqq Ŵᵀ),
//   Cxx = E[x xᵀ], Cxq = E[x x̂ᵀ], Cqq = E[x̂ x̂ᵀ]   (K × K),   mx = E[x], mq = E[x̂],
// so one evaluation costs O·K² no matter how many patches were seen ("asymmetric" reconstruction:
// the float layer on float inputs is the target, the quantized layer on quantized inputs the fit).
//
// 1. Clipping search (OutputClipSearch): per row o, α_o on the grid max|w_o|·(t_min + (1 − t_min)·i/(n−1)),
//    i = 0..n−1, plus the α the weight method chose; s_o = α_o/Q, q_o = clamp(round(w_o/s_o), ±Q); the
//    α minimizing row o's output error e_o = w_o Cxx w_oᵀ − 2 w_o Cxq ŵ_oᵀ + ŵ_o Cqq ŵ_oᵀ (ties: the first).
// 2. AdaRound (Nagel et al., "Up or down? Adaptive rounding for post-training quantization", ICML 2020,
//    arXiv 2004.10568), scales fixed: W̃ = s·clamp(⌊W/s⌋ + h(V), −Q, Q), h(V) = clamp(σ(V)(ζ − γ) + γ, 0, 1),
//    ζ = 1.1, γ = −0.1, V initialised so that h(V) = W/s − ⌊W/s⌋. Loss
//      L(V) = rec(W̃)/rec_0 + λ · mean_ij (1 − |2 h(V_ij) − 1|^β)
//    with rec(W̃) = E||W x − W̃ x̂||² (above), rec_0 = rec at nearest rounding (so L starts near 1
//    whatever the layer's scale), the regularizer off for the first `warmup` fraction of the
//    iterations and β then decaying linearly from beta_start to beta_end. Gradient (closed form):
//      ∂rec/∂W̃ = 2 (W̃ Cqq − W Cxq),  ∂W̃/∂h = s (0 where the clamp to ±Q is active),
//      ∂h/∂V = (ζ − γ) σ(V)(1 − σ(V)) (0 where h is clamped to 0 or 1),
//      ∂reg/∂h = −2β |2h − 1|^(β−1) sign(2h − 1).
//    Adam on V (β1 0.9, β2 0.999, ε 1e−8), full batch (the moments are exact over all patches); the
//    final codes round up where h(V) >= 0.5. Deterministic (no random numbers; single-threaded GEMMs).
// 3. Empirical bias correction (Nagel et al. 2019, data-free quantization §4.2, with calibration
//    data): bias_shift_o = (W mx − Ŵ mq)_o, so that E[ŷ] = E[y] over the calibration patches; the
//    caller adds it to the layer's bias.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "quant/weight_quantizer.h"

namespace cimsim {

enum class WeightRounding { kNearest, kAdaRound };

struct AdaRoundParams {
  int iterations = 2000;         // Adam steps, 1..1000000
  double learning_rate = 0.01;   // Adam step size on V, (0, 10]
  double lambda = 5;             // weight of the rounding regularizer (mean over weights), >= 0; rec/rec_0 starts at 1
  double beta_start = 20, beta_end = 2;   // β annealing, each in [1, 100], beta_end <= beta_start
  double warmup = 0.2;           // fraction of the iterations without the regularizer, [0, 1)
  // Throws std::invalid_argument "<field> = <value>: must be ..." naming the config's field
  // (iterations, learning_rate, lambda, beta_start, beta_end, warmup).
  void Validate() const;
};

// What a layer asks of the output-error quantization.
struct OutputQuantParams {
  bool clip_search = false;            // 1. per-channel α search on the output error
  int clip_candidates = 40;            //    grid points (>= 2)
  double clip_min_fraction = 0.2;      //    t_min of the grid
  WeightRounding rounding = WeightRounding::kNearest;   // 2.
  AdaRoundParams adaround;
  bool bias_correction = false;        // 3. empirical bias correction
  bool Any() const { return clip_search || rounding == WeightRounding::kAdaRound || bias_correction; }
};

// Second moments of a layer's float and quantized input patches (see the top of the file).
class LayerMoments {
 public:
  explicit LayerMoments(int64_t k);
  // x, xq: [k, n] row-major (n patches, e.g. im2col columns), the same patches in float and quantized.
  void Add(const float* x, const float* xq, int64_t n);
  int64_t k() const { return k_; }
  int64_t count() const { return count_; }
  // Normalized by the patch count (throws std::logic_error before any patch).
  Eigen::MatrixXd Cxx() const, Cxq() const, Cqq() const;
  Eigen::VectorXd Mx() const, Mq() const;

 private:
  int64_t k_, count_ = 0;
  Eigen::MatrixXd xx_, xq_, qq_;
  Eigen::VectorXd sx_, sq_;
};

struct OutputQuantResult {
  QuantizedWeights weights;          // codes and scales (mean_shift as QuantizeWeights defines it)
  std::vector<double> bias_shift;    // [rows]: 0 unless bias_correction
  double error_nearest = 0;          // E||Wx − Ŵx̂||² with the weight method's scales, nearest rounding
  double error_final = 0;            // the same for the returned weights (before the bias shift)
  double error_float_inputs = 0;     // E||W x − W x̂||²: the part no weight choice can remove
};

// Starts from QuantizeWeights(w, rows, cols, wp) and applies 1–3 as `op` asks (with wp.bias_correction,
// ACIQ's rescaling of the nearest-rounding scales is kept unless the clip search replaces them, and
// mean_shift is recomputed for the final codes). Throws std::invalid_argument for a moments size other
// than cols, moments without patches, or invalid params.
OutputQuantResult QuantizeWeightsForOutput(const float* w, int64_t rows, int64_t cols, const WeightQuantParams& wp,
                                           const LayerMoments& moments, const OutputQuantParams& op);

// ---- AdaRound internals, exposed for tests ----

// The AdaRound problem of one layer with the scales fixed.
struct AdaRoundProblem {
  Eigen::MatrixXd w;          // [O, K] float weights
  Eigen::VectorXd scales;     // [O]
  double qmax = 7;            // Q
  Eigen::MatrixXd cxx, cxq, cqq;
  double rec0 = 1;            // normalization of rec (rec at nearest rounding)
};

constexpr double kAdaRoundZeta = 1.1, kAdaRoundGamma = -0.1;

// V with h(V) = frac(W/s) (clamped away from 0 and 1 so that V is finite).
Eigen::MatrixXd AdaRoundInitialV(const AdaRoundProblem& p);
// h(V) elementwise.
Eigen::MatrixXd AdaRoundH(const Eigen::MatrixXd& v);
// W̃ for the soft (h(V)) or, with hard, the final rounding (h >= 0.5).
Eigen::MatrixXd AdaRoundWeights(const AdaRoundProblem& p, const Eigen::MatrixXd& v, bool hard);
// E||W x − W̃ x̂||² for a weight matrix.
double ReconstructionError(const AdaRoundProblem& p, const Eigen::MatrixXd& w_tilde);
// L(V) with regularizer weight `lambda` (0: no regularizer) and β; the gradient ∂L/∂V into *grad when
// not null. Scalar = double (tests) or float (the optimizer).
template <typename Scalar>
double AdaRoundLoss(const AdaRoundProblem& p, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& v,
                    double lambda, double beta, Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>* grad);
// Runs Adam from AdaRoundInitialV; returns the final V.
Eigen::MatrixXd OptimizeAdaRound(const AdaRoundProblem& p, const AdaRoundParams& params);

}  // namespace cimsim
