#include "devices/device_params.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/field_checker.h"

namespace cimsim {
namespace {

// Points at which a programming-noise polynomial is checked for σ >= 0 over [g_min, g_max].
constexpr int kPolynomialCheckPoints = 4097;

double Horner(const std::vector<double>& c, double x) {
  double acc = 0;
  for (size_t k = c.size(); k-- > 0;) acc = std::fma(acc, x, c[k]);
  return acc;
}

std::string List(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + ShortestNumber(values[i]);
  return out + "]";
}

void ValidateProgramming(const ProgrammingNoise& p, const DeviceParams& d, const FieldChecker& c) {
  switch (p.kind) {
    case ProgrammingNoiseKind::kNone:
      return;
    case ProgrammingNoiseKind::kConstant:
      c.AtLeast(p.sigma, "programming_noise.sigma", 0);
      return;
    case ProgrammingNoiseKind::kProportional:
      c.AtLeast(p.relative, "programming_noise.relative", 0);
      return;
    case ProgrammingNoiseKind::kPolynomial:
      break;
    default:
      c.Fail("programming_noise.kind", std::to_string(static_cast<int>(p.kind)) +
                                           " is not a kind; allowed none, constant, proportional, polynomial");
  }
  const std::string field = "programming_noise.coefficients";
  if (p.coefficients.empty() || p.coefficients.size() > kMaxProgrammingCoefficients) {
    c.Fail(field, std::to_string(p.coefficients.size()) + " coefficients; allowed 1.." +
                      std::to_string(kMaxProgrammingCoefficients) + " (c_0, c_1, ...)");
  }
  for (size_t k = 0; k < p.coefficients.size(); ++k) c.Finite(p.coefficients[k], field + "[" + std::to_string(k) + "]");
  if (p.variable != PolynomialVariable::kGHat && p.variable != PolynomialVariable::kG) {
    c.Fail("programming_noise.variable",
           std::to_string(static_cast<int>(p.variable)) + " is not a variable; allowed g_hat, g");
  }
  c.AtLeast(p.g_max_reference, "programming_noise.g_max_reference", 0);
  // σ must be >= 0 wherever a target can be: over [g_min, g_max]. Reports the most negative point.
  const bool g_hat = p.variable == PolynomialVariable::kGHat;
  double worst_sigma = 0, worst_g = 0;
  for (int i = 0; i < kPolynomialCheckPoints; ++i) {
    const double g = i == kPolynomialCheckPoints - 1 ? d.g_max
                                                     : d.g_min + (d.g_max - d.g_min) * i / (kPolynomialCheckPoints - 1);
    const double sigma = Horner(p.coefficients, g_hat ? g / d.g_max : g);
    if (!(sigma >= worst_sigma)) {
      worst_sigma = sigma;
      worst_g = g;
    }
  }
  if (worst_sigma < 0 || std::isnan(worst_sigma)) {
    c.Fail(field, List(p.coefficients) + " give σ = " + ShortestNumber(worst_sigma) + " µS" +
                      (g_hat && p.g_max_reference > 0 ? " (before scaling)" : "") + " at g = " + ShortestNumber(worst_g) +
                      " µS" + (g_hat ? " (g_hat = " + ShortestNumber(worst_g / d.g_max) + ")" : "") +
                      "; σ must be >= 0 over [g_min, g_max] = [" + ShortestNumber(d.g_min) + ", " + ShortestNumber(d.g_max) + "] µS");
  }
}

void ValidateRead(const ReadNoise& r, const FieldChecker& c) {
  switch (r.kind) {
    case ReadNoiseKind::kNone:
      return;
    case ReadNoiseKind::kConstant:
      c.AtLeast(r.sigma, "read_noise.sigma", 0);
      return;
    case ReadNoiseKind::kProportional:
      c.AtLeast(r.relative, "read_noise.relative", 0);
      return;
    case ReadNoiseKind::kPcm1f:
      c.AtLeast(r.q_scale, "read_noise.q_scale", 0);
      c.AtLeast(r.q_exponent, "read_noise.q_exponent", 0);
      c.Above(r.q_floor, "read_noise.q_floor", 0);
      c.AtLeast(r.q_max, "read_noise.q_max", 0);
      c.Above(r.t_read, "read_noise.t_read", 0);
      c.AtLeast(r.t0, "read_noise.t0", 0);
      return;
  }
  c.Fail("read_noise.kind",
         std::to_string(static_cast<int>(r.kind)) + " is not a kind; allowed none, constant, proportional, pcm_1f");
}

void ValidateFit(const LogFit& f, const std::string& field, const FieldChecker& c) {
  c.Finite(f.slope, field + ".slope");
  c.Finite(f.intercept, field + ".intercept");
  c.AtLeast(f.min, field + ".min", 0);
  if (!(f.max >= f.min) || !std::isfinite(f.max)) {
    c.Fail(field + ".max", ShortestNumber(f.max) + " must be >= " + c.Name(field + ".min") + " (" + ShortestNumber(f.min) + ")");
  }
}

void ValidateDrift(const Drift& d, const FieldChecker& c) {
  switch (d.kind) {
    case DriftKind::kNone:
      return;
    case DriftKind::kConstantNu:
      c.Above(d.t0, "drift.t0", 0);
      c.AtLeast(d.nu, "drift.nu", 0);
      c.AtLeast(d.nu_std, "drift.nu_std", 0);
      return;
    case DriftKind::kPcm:
      c.Above(d.t0, "drift.t0", 0);
      ValidateFit(d.nu_mean_fit, "drift.nu_mean_fit", c);
      ValidateFit(d.nu_std_fit, "drift.nu_std_fit", c);
      return;
  }
  c.Fail("drift.kind", std::to_string(static_cast<int>(d.kind)) + " is not a kind; allowed none, constant_nu, pcm");
}

}  // namespace

std::string_view ToString(ProgrammingNoiseKind kind) {
  switch (kind) {
    case ProgrammingNoiseKind::kNone: return "none";
    case ProgrammingNoiseKind::kConstant: return "constant";
    case ProgrammingNoiseKind::kProportional: return "proportional";
    case ProgrammingNoiseKind::kPolynomial: return "polynomial";
  }
  return "?";
}

std::string_view ToString(PolynomialVariable variable) {
  return variable == PolynomialVariable::kGHat ? "g_hat" : variable == PolynomialVariable::kG ? "g" : "?";
}

std::string_view ToString(ReadNoiseKind kind) {
  switch (kind) {
    case ReadNoiseKind::kNone: return "none";
    case ReadNoiseKind::kConstant: return "constant";
    case ReadNoiseKind::kProportional: return "proportional";
    case ReadNoiseKind::kPcm1f: return "pcm_1f";
  }
  return "?";
}

std::string_view ToString(DriftKind kind) {
  switch (kind) {
    case DriftKind::kNone: return "none";
    case DriftKind::kConstantNu: return "constant_nu";
    case DriftKind::kPcm: return "pcm";
  }
  return "?";
}

void DeviceParams::Validate(const std::string& where) const {
  const FieldChecker c(where);
  c.AtLeast(g_min, "g_min", 0);
  c.Above(g_max, "g_max", 0);
  if (!(g_min < g_max)) c.Fail("g_min", ShortestNumber(g_min) + " must be < " + c.Name("g_max") + " (" + ShortestNumber(g_max) + ")");
  if (levels != 0 && (levels < 2 || levels > kMaxDeviceLevels)) {
    c.Fail("levels", std::to_string(levels) + " is out of range; allowed 0 (continuous) or 2.." +
                         std::to_string(kMaxDeviceLevels));
  }
  ValidateProgramming(programming, *this, c);
  ValidateRead(read, c);
  ValidateDrift(drift, c);
  c.Within(stuck_at_min, "stuck_at_min", 0, 1);
  c.Within(stuck_at_max, "stuck_at_max", 0, 1);
  if (!(stuck_at_min + stuck_at_max <= 1)) {
    c.Fail("stuck_at_max", ShortestNumber(stuck_at_max) + " plus " + c.Name("stuck_at_min") + " (" + ShortestNumber(stuck_at_min) +
                               ") is " + ShortestNumber(stuck_at_min + stuck_at_max) + "; the two fractions must sum to <= 1");
  }
  c.Within(g_max_variation, "g_max_variation", 0, 1);
}

}  // namespace cimsim
