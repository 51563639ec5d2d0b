#include "quant/adaround.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

template <typename S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string Num(double v) {
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// The problem's matrices in the optimizer's scalar type, with B = W Cxq precomputed.
template <typename S>
struct Prepared {
  Mat<S> cqq, b;
  Mat<S> floor_w;         // ⌊W/s⌋
  double constant = 0;    // tr(W Cxx Wᵀ)
  explicit Prepared(const AdaRoundProblem& p) {
    cqq = p.cqq.cast<S>();
    b = (p.w * p.cxq).cast<S>();
    constant = (p.w * p.cxx).cwiseProduct(p.w).sum();
    floor_w = (p.w.array() / p.scales.replicate(1, p.w.cols()).array()).floor().matrix().cast<S>();
  }
};

template <typename S>
struct Scratch {
  Mat<S> wt, prod;
  Eigen::MatrixXd sig;
};

template <typename S>
double LossPrepared(const AdaRoundProblem& p, const Prepared<S>& pr, const Mat<S>& v, double lambda, double beta,
                    Mat<S>* grad, Scratch<S>& sc) {
  const Eigen::Index rows = v.rows(), cols = v.cols();
  // σ(V), h and W̃.
  Mat<S>& wt = sc.wt;
  wt.resize(rows, cols);
  sc.sig.resize(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) {
      const double sig = Sigmoid(static_cast<double>(v(i, j)));
      sc.sig(i, j) = sig;
      const double h = std::clamp(sig * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma, 0.0, 1.0);
      wt(i, j) = static_cast<S>(p.scales(i) > 0 ? p.scales(i) * std::clamp(static_cast<double>(pr.floor_w(i, j)) + h, -p.qmax, p.qmax) : 0.0);
    }
  Mat<S>& prod = sc.prod;
  prod.noalias() = wt * pr.cqq;   // W̃ Cqq
  const double rec = static_cast<double>(prod.cwiseProduct(wt).sum()) -
                     2.0 * static_cast<double>(pr.b.cwiseProduct(wt).sum()) + pr.constant;
  const double n = static_cast<double>(rows * cols);
  double reg = 0;
  const bool with_reg = lambda > 0;
  if (grad) grad->resize(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) {
      const double sig = sc.sig(i, j);
      const double h_raw = sig * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma;
      const double h = std::clamp(h_raw, 0.0, 1.0);
      const double t = 2 * h - 1, at = std::fabs(t);
      const double pow_m1 = with_reg && at > 0 ? std::pow(at, beta - 1) : 0.0;   // |2h − 1|^(β−1)
      if (with_reg) reg += 1 - pow_m1 * at;
      if (!grad) continue;
      double dh = 0;  // ∂L/∂h
      const double code = static_cast<double>(pr.floor_w(i, j)) + h;
      if (p.scales(i) > 0 && code > -p.qmax && code < p.qmax) {
        dh = 2.0 * static_cast<double>(prod(i, j) - pr.b(i, j)) * p.scales(i) / p.rec0;
      }
      if (with_reg && at > 0) dh += lambda / n * (-2.0 * beta * pow_m1 * (t > 0 ? 1.0 : -1.0));
      const double dv = (h_raw > 0 && h_raw < 1) ? (kAdaRoundZeta - kAdaRoundGamma) * sig * (1 - sig) : 0.0;
      (*grad)(i, j) = static_cast<S>(dh * dv);
    }
  return rec / p.rec0 + (with_reg ? lambda * reg / n : 0.0);
}

void CheckFinite(double v, const char* field, const std::string& rule, bool ok) {
  if (!std::isfinite(v) || !ok) throw std::invalid_argument(std::string(field) + " = " + Num(v) + ": must be " + rule);
}

// Row o's output error for dequantized row `wq` (Cxx term included).
double RowError(const Eigen::MatrixXd& w, Eigen::Index o, const Eigen::RowVectorXd& wq, const Eigen::MatrixXd& cxx,
                const Eigen::MatrixXd& cxq, const Eigen::MatrixXd& cqq) {
  const Eigen::RowVectorXd wo = w.row(o);
  return wo.dot(cxx * wo.transpose()) - 2.0 * wo.dot(cxq * wq.transpose()) + wq.dot(cqq * wq.transpose());
}

}  // namespace

void AdaRoundParams::Validate() const {
  if (iterations < 1 || iterations > 1000000)
    throw std::invalid_argument("iterations = " + std::to_string(iterations) + ": must be in 1..1000000");
  CheckFinite(learning_rate, "learning_rate", "in (0, 10]", learning_rate > 0 && learning_rate <= 10);
  CheckFinite(lambda, "lambda", ">= 0", lambda >= 0);
  CheckFinite(beta_start, "beta_start", "in [1, 100]", beta_start >= 1 && beta_start <= 100);
  CheckFinite(beta_end, "beta_end", "in [1, 100] and <= beta_start (" + Num(beta_start) + ")",
              beta_end >= 1 && beta_end <= 100 && beta_end <= beta_start);
  CheckFinite(warmup, "warmup", "in [0, 1)", warmup >= 0 && warmup < 1);
}

LayerMoments::LayerMoments(int64_t k) : k_(k) {
  if (k < 1) throw std::invalid_argument("LayerMoments: k = " + std::to_string(k) + " must be >= 1");
  xx_ = Eigen::MatrixXd::Zero(k, k);
  xq_ = Eigen::MatrixXd::Zero(k, k);
  qq_ = Eigen::MatrixXd::Zero(k, k);
  sx_ = Eigen::VectorXd::Zero(k);
  sq_ = Eigen::VectorXd::Zero(k);
}

void LayerMoments::Add(const float* x, const float* xq, int64_t n) {
  if (n <= 0) return;
  const Eigen::Map<const RowMajorF> X(x, k_, n), Q(xq, k_, n);
  // float GEMMs over one chunk (at most a few thousand patches), accumulated in double.
  Eigen::MatrixXf t;
  t.noalias() = X * X.transpose();
  xx_ += t.cast<double>();
  t.noalias() = X * Q.transpose();
  xq_ += t.cast<double>();
  t.noalias() = Q * Q.transpose();
  qq_ += t.cast<double>();
  sx_ += X.rowwise().sum().cast<double>();
  sq_ += Q.rowwise().sum().cast<double>();
  count_ += n;
}

#define CIMSIM_MOMENT(Name, member, Type)                                                         \
  Type LayerMoments::Name() const {                                                                \
    if (count_ == 0) throw std::logic_error("LayerMoments::" #Name ": no patches were added");     \
    return member / static_cast<double>(count_);                                                   \
  }
CIMSIM_MOMENT(Cxx, xx_, Eigen::MatrixXd)
CIMSIM_MOMENT(Cxq, xq_, Eigen::MatrixXd)
CIMSIM_MOMENT(Cqq, qq_, Eigen::MatrixXd)
CIMSIM_MOMENT(Mx, sx_, Eigen::VectorXd)
CIMSIM_MOMENT(Mq, sq_, Eigen::VectorXd)
#undef CIMSIM_MOMENT

Eigen::MatrixXd AdaRoundInitialV(const AdaRoundProblem& p) {
  Eigen::MatrixXd v(p.w.rows(), p.w.cols());
  for (Eigen::Index j = 0; j < v.cols(); ++j)
    for (Eigen::Index i = 0; i < v.rows(); ++i) {
      const double s = p.scales(i);
      const double r = s > 0 ? p.w(i, j) / s : 0.0;
      const double frac = std::clamp(r - std::floor(r), 0.01, 0.99);
      // σ(V) = (frac − γ)/(ζ − γ)
      const double sig = (frac - kAdaRoundGamma) / (kAdaRoundZeta - kAdaRoundGamma);
      v(i, j) = std::log(sig / (1 - sig));
    }
  return v;
}

Eigen::MatrixXd AdaRoundH(const Eigen::MatrixXd& v) {
  return v.unaryExpr([](double x) {
    return std::clamp(Sigmoid(x) * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma, 0.0, 1.0);
  });
}

Eigen::MatrixXd AdaRoundWeights(const AdaRoundProblem& p, const Eigen::MatrixXd& v, bool hard) {
  const Eigen::MatrixXd h = AdaRoundH(v);
  Eigen::MatrixXd wt(v.rows(), v.cols());
  for (Eigen::Index j = 0; j < v.cols(); ++j)
    for (Eigen::Index i = 0; i < v.rows(); ++i) {
      const double s = p.scales(i);
      if (!(s > 0)) {
        wt(i, j) = 0;
        continue;
      }
      const double up = hard ? (h(i, j) >= 0.5 ? 1.0 : 0.0) : h(i, j);
      wt(i, j) = s * std::clamp(std::floor(p.w(i, j) / s) + up, -p.qmax, p.qmax);
    }
  return wt;
}

double ReconstructionError(const AdaRoundProblem& p, const Eigen::MatrixXd& wt) {
  return (p.w * p.cxx).cwiseProduct(p.w).sum() - 2.0 * (p.w * p.cxq).cwiseProduct(wt).sum() +
         (wt * p.cqq).cwiseProduct(wt).sum();
}

template <typename Scalar>
double AdaRoundLoss(const AdaRoundProblem& p, const Mat<Scalar>& v, double lambda, double beta, Mat<Scalar>* grad) {
  const Prepared<Scalar> pr(p);
  Scratch<Scalar> sc;
  return LossPrepared(p, pr, v, lambda, beta, grad, sc);
}
template double AdaRoundLoss<double>(const AdaRoundProblem&, const Mat<double>&, double, double, Mat<double>*);
template double AdaRoundLoss<float>(const AdaRoundProblem&, const Mat<float>&, double, double, Mat<float>*);

Eigen::MatrixXd OptimizeAdaRound(const AdaRoundProblem& p, const AdaRoundParams& params) {
  params.Validate();
  const Prepared<float> pr(p);
  Mat<float> v = AdaRoundInitialV(p).cast<float>();
  Mat<float> m = Mat<float>::Zero(v.rows(), v.cols()), s2 = m, grad;
  Scratch<float> sc;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double b1t = 1, b2t = 1;
  const int warm = static_cast<int>(std::floor(params.warmup * params.iterations));
  for (int t = 0; t < params.iterations; ++t) {
    double lambda = 0, beta = params.beta_start;
    if (t >= warm) {
      const double rel = params.iterations - warm > 1 ? static_cast<double>(t - warm) / (params.iterations - warm - 1) : 1.0;
      beta = params.beta_end + (params.beta_start - params.beta_end) * std::max(0.0, 1.0 - rel);
      lambda = params.lambda;
    }
    LossPrepared(p, pr, v, lambda, beta, &grad, sc);
    b1t *= b1;
    b2t *= b2;
    const float lr = static_cast<float>(params.learning_rate * std::sqrt(1 - b2t) / (1 - b1t));
    m = static_cast<float>(b1) * m + static_cast<float>(1 - b1) * grad;
    s2 = static_cast<float>(b2) * s2 + static_cast<float>(1 - b2) * grad.cwiseAbs2();
    v.array() -= lr * m.array() / (s2.array().sqrt() + static_cast<float>(eps));
  }
  return v.cast<double>();
}

OutputQuantResult QuantizeWeightsForOutput(const float* w, int64_t rows, int64_t cols, const WeightQuantParams& wp,
                                           const LayerMoments& moments, const OutputQuantParams& op) {
  if (moments.k() != cols)
    throw std::invalid_argument("QuantizeWeightsForOutput: moments of size " + std::to_string(moments.k()) +
                                " for a layer with " + std::to_string(cols) + " columns");
  if (moments.count() == 0) throw std::invalid_argument("QuantizeWeightsForOutput: no calibration patches");
  if (op.rounding == WeightRounding::kAdaRound) op.adaround.Validate();
  if (op.clip_search && (op.clip_candidates < 2 || !(op.clip_min_fraction > 0 && op.clip_min_fraction <= 1)))
    throw std::invalid_argument("QuantizeWeightsForOutput: clip_candidates >= 2 and clip_min_fraction in (0, 1]");
  OutputQuantResult r;
  r.weights = QuantizeWeights(w, rows, cols, wp);
  QuantizedWeights& qw = r.weights;
  const double qmax = std::ldexp(1.0, wp.bits - 1) - 1;

  AdaRoundProblem p;
  p.w = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(w, rows, cols).cast<double>();
  p.scales = Eigen::Map<const Eigen::VectorXd>(qw.scales.data(), rows);
  p.qmax = qmax;
  p.cxx = moments.Cxx();
  p.cxq = moments.Cxq();
  p.cqq = moments.Cqq();
  auto dequantized = [&] {
    Eigen::MatrixXd d(rows, cols);
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t k = 0; k < cols; ++k) d(o, k) = qw.scales[static_cast<size_t>(o)] * qw.codes[static_cast<size_t>(o * cols + k)];
    return d;
  };
  r.error_nearest = ReconstructionError(p, dequantized());
  r.error_float_inputs = ReconstructionError(p, p.w);

  if (op.clip_search) {
    for (int64_t o = 0; o < rows; ++o) {
      const double amax = p.w.row(o).cwiseAbs().maxCoeff();
      if (!(amax > 0)) continue;
      double best_err = std::numeric_limits<double>::infinity(), best_scale = qw.scales[static_cast<size_t>(o)];
      Eigen::RowVectorXd wq(cols);
      auto try_scale = [&](double s) {
        for (int64_t k = 0; k < cols; ++k) wq(k) = s * std::clamp(std::round(p.w(o, k) / s), -qmax, qmax);
        const double e = RowError(p.w, o, wq, p.cxx, p.cxq, p.cqq);
        if (e < best_err) {
          best_err = e;
          best_scale = s;
        }
      };
      try_scale(qw.scales[static_cast<size_t>(o)]);
      for (int i = 0; i < op.clip_candidates; ++i) {
        const double t = op.clip_min_fraction + (1 - op.clip_min_fraction) * i / (op.clip_candidates - 1);
        try_scale(amax * t / qmax);
      }
      qw.scales[static_cast<size_t>(o)] = best_scale;
      for (int64_t k = 0; k < cols; ++k)
        qw.codes[static_cast<size_t>(o * cols + k)] =
            static_cast<int16_t>(std::clamp(std::round(p.w(o, k) / best_scale), -qmax, qmax));
    }
    p.scales = Eigen::Map<const Eigen::VectorXd>(qw.scales.data(), rows);
  }

  if (op.rounding == WeightRounding::kAdaRound) {
    p.rec0 = std::max(ReconstructionError(p, dequantized()), 1e-30);
    const Eigen::MatrixXd v = OptimizeAdaRound(p, op.adaround);
    const Eigen::MatrixXd h = AdaRoundH(v);
    for (int64_t o = 0; o < rows; ++o) {
      const double s = qw.scales[static_cast<size_t>(o)];
      if (!(s > 0)) continue;
      for (int64_t k = 0; k < cols; ++k) {
        const double code = std::clamp(std::floor(p.w(o, k) / s) + (h(o, k) >= 0.5 ? 1.0 : 0.0), -qmax, qmax);
        qw.codes[static_cast<size_t>(o * cols + k)] = static_cast<int16_t>(code);
      }
    }
  }
  const Eigen::MatrixXd wq = dequantized();
  r.error_final = ReconstructionError(p, wq);

  if (wp.bias_correction) {  // ACIQ's mean shift for the final codes
    for (int64_t o = 0; o < rows; ++o)
      qw.mean_shift[static_cast<size_t>(o)] = p.w.row(o).mean() - wq.row(o).mean();
  }
  r.bias_shift.assign(static_cast<size_t>(rows), 0.0);
  if (op.bias_correction) {
    const Eigen::VectorXd shift = p.w * moments.Mx() - wq * moments.Mq();
    for (int64_t o = 0; o < rows; ++o) r.bias_shift[static_cast<size_t>(o)] = shift(o);
  }
  return r;
}

}  // namespace cimsim
