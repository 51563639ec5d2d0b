#include "devices/device_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace cimsim {
namespace {

// ĝ floor for ln ĝ in the pcm drift fits (g = 0 would give −∞).
constexpr double kDriftGHatFloor = 1e-7;

double EvalFit(const LogFit& f, double g_hat) {
  return std::clamp(std::fma(f.slope, std::log(g_hat), f.intercept), f.min, f.max);
}

void CheckSameShape(Eigen::Index rows_a, Eigen::Index cols_a, Eigen::Index rows_b, Eigen::Index cols_b,
                    const char* what) {
  if (rows_a != rows_b || cols_a != cols_b) {
    throw std::invalid_argument(std::string(what) + ": shapes differ (" + std::to_string(rows_a) + "x" +
                                std::to_string(cols_a) + " vs " + std::to_string(rows_b) + "x" +
                                std::to_string(cols_b) + ")");
  }
}

void CheckTime(double t_seconds, const char* what) {
  if (!(t_seconds >= 0) || !std::isfinite(t_seconds)) {
    throw std::invalid_argument(std::string(what) + ": t_seconds = " + std::to_string(t_seconds) +
                                " must be finite and >= 0 (seconds since programming)");
  }
}

}  // namespace

DeviceModel::DeviceModel(DeviceParams params, const std::string& where) : params_(std::move(params)) {
  params_.Validate(where);
  const DeviceParams& p = params_;
  variation_ = p.g_max_variation > 0;
  noise_ = p.programming.kind != ProgrammingNoiseKind::kNone;
  faults_ = p.stuck_at_min + p.stuck_at_max > 0;
  if (p.levels > 0) {
    step_ = (p.g_max - p.g_min) / (p.levels - 1);
    level_table_.resize(p.levels);
    for (int k = 0; k < p.levels; ++k) {
      // The last level is g_max itself, not g_min + (levels−1)·Δ with its rounding error.
      level_table_[k] = static_cast<float>(k == p.levels - 1 ? p.g_max : p.g_min + k * step_);
    }
  }
  if (p.programming.kind == ProgrammingNoiseKind::kPolynomial && p.programming.variable == PolynomialVariable::kGHat &&
      p.programming.g_max_reference > 0) {
    poly_scale_ = p.g_max / p.programming.g_max_reference;
  }
  g_max_sigma_ = p.g_max * p.g_max_variation;
}

std::string_view DeviceModel::Name() const {
  if (params_.preset.empty()) return "custom";
  return params_.preset;
}

int DeviceModel::DrawsPerCell() const { return int{variation_} + int{noise_} + int{faults_}; }

// ---- the scalar steps of Program ----

float DeviceModel::ClipTarget(float target) const {
  return std::min(std::max(target, static_cast<float>(params_.g_min)), static_cast<float>(params_.g_max));
}

float DeviceModel::Quantize(float g) const {
  if (params_.levels == 0) return g;
  const double k = std::floor((static_cast<double>(g) - params_.g_min) / step_ + 0.5);
  if (!(k > 0)) return level_table_.front();   // also a NaN target: no undefined cast
  return level_table_[static_cast<size_t>(std::min(k, static_cast<double>(params_.levels - 1)))];
}

float DeviceModel::DeviceGMax(double z_v) const {
  return static_cast<float>(std::max(params_.g_min, std::fma(g_max_sigma_, z_v, params_.g_max)));
}

float DeviceModel::ScaleToDevice(float q, float device_g_max) const {
  const double stretch = (static_cast<double>(device_g_max) - params_.g_min) / (params_.g_max - params_.g_min);
  return static_cast<float>(std::fma(static_cast<double>(q) - params_.g_min, stretch, params_.g_min));
}

float DeviceModel::AddProgrammingNoise(float g, float q, double z_p, float device_g_max) const {
  const float noisy = static_cast<float>(std::fma(SigmaAt(q), z_p, static_cast<double>(g)));
  return std::min(std::max(noisy, 0.0f), device_g_max);
}

float DeviceModel::ApplyFault(float g, double u) const {
  if (u < params_.stuck_at_min) return static_cast<float>(params_.g_min);
  if (u < params_.stuck_at_min + params_.stuck_at_max) return static_cast<float>(params_.g_max);
  return g;
}

double DeviceModel::SigmaAt(float q) const {
  const ProgrammingNoise& p = params_.programming;
  switch (p.kind) {
    case ProgrammingNoiseKind::kNone:
      return 0;
    case ProgrammingNoiseKind::kConstant:
      return p.sigma;
    case ProgrammingNoiseKind::kProportional:
      return p.relative * std::abs(static_cast<double>(q));
    case ProgrammingNoiseKind::kPolynomial: {
      const double x = p.variable == PolynomialVariable::kGHat ? q / params_.g_max : static_cast<double>(q);
      double acc = 0;
      for (size_t k = p.coefficients.size(); k-- > 0;) acc = std::fma(acc, x, p.coefficients[k]);
      return std::max(acc, 0.0) * poly_scale_;
    }
  }
  return 0;
}

float DeviceModel::ProgrammingSigma(float g_target) const { return static_cast<float>(SigmaAt(g_target)); }

// ---- Program: Eigen steps over chunks of cells ----

namespace {

// Cells per chunk: the draws and intermediate values of one chunk stay in L1/L2.
constexpr Eigen::Index kChunk = 2048;

}  // namespace

void DeviceModel::Program(Eigen::Ref<Eigen::ArrayXXf> g, Rng& rng) const {
  if (g.size() == 0) return;
  const DeviceParams& p = params_;
  const float g_min = static_cast<float>(p.g_min), g_max = static_cast<float>(p.g_max);
  const double both = p.stuck_at_min + p.stuck_at_max;

  // Scratch for one chunk: the draws of each step, the quantized targets, the cells' own g_max.
  Eigen::ArrayXd z_v(kChunk), z_p(kChunk), u(kChunk), sigma(kChunk);
  Eigen::ArrayXf q(kChunk), device_g_max(kChunk);

  // Chunks are pieces of columns, visited in cell order (a column of a Ref is contiguous).
  for (Eigen::Index c = 0; c < g.cols(); ++c) {
    for (Eigen::Index start = 0; start < g.rows(); start += kChunk) {
      const Eigen::Index n = std::min(kChunk, g.rows() - start);
      auto x = g.col(c).segment(start, n);

      // The chunk's draws, cell by cell in the documented order.
      for (Eigen::Index i = 0; i < n; ++i) {
        if (variation_) z_v[i] = rng.Normal();
        if (noise_) z_p[i] = rng.Normal();
        if (faults_) u[i] = rng.Uniform();
      }

      // 1. clip, 2. levels.
      x = x.max(g_min).min(g_max);
      if (p.levels > 0) x = x.unaryExpr([this](float v) { return Quantize(v); });
      if (noise_) q.head(n) = x;

      // 3. the cell's own g_max and the stretched target.
      if (variation_) {
        device_g_max.head(n) = z_v.head(n).unaryExpr([this](double z) { return DeviceGMax(z); });
        x = x.binaryExpr(device_g_max.head(n), [this](float v, float gm) { return ScaleToDevice(v, gm); });
      }

      // 4. programming noise, clipped to [0, G].
      if (noise_) {
        sigma.head(n) = q.head(n).unaryExpr([this](float v) { return SigmaAt(v); });
        for (Eigen::Index i = 0; i < n; ++i) {
          x[i] = static_cast<float>(std::fma(sigma[i], z_p[i], static_cast<double>(x[i])));
        }
        if (variation_) {
          x = x.max(0.0f).min(device_g_max.head(n));
        } else {
          x = x.max(0.0f).min(g_max);
        }
      }

      // 5. stuck-at faults.
      if (faults_) {
        x = (u.head(n) < p.stuck_at_min).select(g_min, (u.head(n) < both).select(g_max, x));
      }
    }
  }
}

// ---- ProgramReference: one cell at a time ----

void DeviceModel::ProgramReference(Eigen::Ref<Eigen::ArrayXXf> g, Rng& rng) const {
  for (Eigen::Index c = 0; c < g.cols(); ++c) {
    for (Eigen::Index r = 0; r < g.rows(); ++r) {
      const float q = Quantize(ClipTarget(g(r, c)));
      float device_g_max = static_cast<float>(params_.g_max);
      float x = q;
      if (variation_) {
        device_g_max = DeviceGMax(rng.Normal());
        x = ScaleToDevice(q, device_g_max);
      }
      if (noise_) x = AddProgrammingNoise(x, q, rng.Normal(), device_g_max);
      if (faults_) x = ApplyFault(x, rng.Uniform());
      g(r, c) = x;
    }
  }
}

// ---- drift ----

double DeviceModel::DriftNuMean(float g) const {
  const Drift& d = params_.drift;
  if (d.kind == DriftKind::kConstantNu) return d.nu;
  if (d.kind == DriftKind::kPcm) {
    return EvalFit(d.nu_mean_fit, std::max(std::abs(static_cast<double>(g)) / params_.g_max, kDriftGHatFloor));
  }
  return 0;
}

double DeviceModel::DriftNuStd(float g) const {
  const Drift& d = params_.drift;
  if (d.kind == DriftKind::kConstantNu) return d.nu_std;
  if (d.kind == DriftKind::kPcm) {
    return EvalFit(d.nu_std_fit, std::max(std::abs(static_cast<double>(g)) / params_.g_max, kDriftGHatFloor));
  }
  return 0;
}

void DeviceModel::DrawDrift(const Eigen::Ref<const Eigen::ArrayXXf>& g, Eigen::Ref<Eigen::ArrayXXf> nu,
                            Rng& rng) const {
  CheckSameShape(g.rows(), g.cols(), nu.rows(), nu.cols(), "DeviceModel::DrawDrift");
  if (params_.drift.kind == DriftKind::kNone) {
    nu.setZero();
    return;
  }
  for (Eigen::Index c = 0; c < g.cols(); ++c) {
    for (Eigen::Index r = 0; r < g.rows(); ++r) {
      const double z = rng.Normal();
      nu(r, c) = static_cast<float>(std::abs(std::fma(DriftNuStd(g(r, c)), z, DriftNuMean(g(r, c)))));
    }
  }
}

void DeviceModel::Age(Eigen::Ref<Eigen::ArrayXXf> g, const Eigen::Ref<const Eigen::ArrayXXf>& nu,
                      double t_seconds) const {
  CheckSameShape(g.rows(), g.cols(), nu.rows(), nu.cols(), "DeviceModel::Age");
  CheckTime(t_seconds, "DeviceModel::Age");
  if (params_.drift.kind == DriftKind::kNone) return;
  const double log_ratio = std::log1p(t_seconds / params_.drift.t0);   // ln((t + t0)/t0)
  g = g.binaryExpr(nu, [log_ratio](float gi, float nui) {
    return static_cast<float>(gi * std::exp(-static_cast<double>(nui) * log_ratio));
  });
}

// ---- read noise ----

namespace {

// sqrt(max(0, ln((t + t0 + t_read)/(2 t_read)))): the time factor of the pcm_1f read noise.
double Pcm1fTimeFactor(const ReadNoise& r, double t_seconds) {
  const double l = std::log((t_seconds + r.t0 + r.t_read) / (2 * r.t_read));
  return std::sqrt(std::max(l, 0.0));
}

double ReadSigmaAt(const ReadNoise& r, double g_max, float g, double time_factor) {
  const double a = std::abs(static_cast<double>(g));
  switch (r.kind) {
    case ReadNoiseKind::kNone:
      return 0;
    case ReadNoiseKind::kConstant:
      return r.sigma;
    case ReadNoiseKind::kProportional:
      return r.relative * a;
    case ReadNoiseKind::kPcm1f: {
      const double q = std::min(r.q_scale / std::max(std::pow(a / g_max, r.q_exponent), r.q_floor), r.q_max);
      return a * q * time_factor;
    }
  }
  return 0;
}

}  // namespace

float DeviceModel::ReadSigma(float g, double t_seconds) const {
  CheckTime(t_seconds, "DeviceModel::ReadSigma");
  const ReadNoise& r = params_.read;
  const double factor = r.kind == ReadNoiseKind::kPcm1f ? Pcm1fTimeFactor(r, t_seconds) : 0.0;
  return static_cast<float>(ReadSigmaAt(r, params_.g_max, g, factor));
}

void DeviceModel::ReadSigma(const Eigen::Ref<const Eigen::ArrayXXf>& g, double t_seconds,
                            Eigen::Ref<Eigen::ArrayXXf> sigma) const {
  CheckSameShape(g.rows(), g.cols(), sigma.rows(), sigma.cols(), "DeviceModel::ReadSigma");
  CheckTime(t_seconds, "DeviceModel::ReadSigma");
  const ReadNoise& r = params_.read;
  const double factor = r.kind == ReadNoiseKind::kPcm1f ? Pcm1fTimeFactor(r, t_seconds) : 0.0;
  const double g_max = params_.g_max;
  sigma = g.unaryExpr([&r, g_max, factor](float gi) { return static_cast<float>(ReadSigmaAt(r, g_max, gi, factor)); });
}

}  // namespace cimsim
