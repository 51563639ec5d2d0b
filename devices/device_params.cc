#include "devices/device_params.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/field_checker.h"
#include "devices/device_fields.h"

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

// The checks of the polynomial that involve more than its own field: the number of coefficients,
// each finite, and σ >= 0 over [g_min, g_max] (reports the most negative point).
void ValidatePolynomial(const ProgrammingNoise& p, const DeviceParams& d, const FieldChecker& c) {
  const std::string field = "programming_noise.coefficients";
  if (p.coefficients.empty() || p.coefficients.size() > kMaxProgrammingCoefficients) {
    c.Fail(field, std::to_string(p.coefficients.size()) + " coefficients; allowed 1.." +
                      std::to_string(kMaxProgrammingCoefficients) + " (c_0, c_1, ...)");
  }
  for (size_t k = 0; k < p.coefficients.size(); ++k) c.Finite(p.coefficients[k], field + "[" + std::to_string(k) + "]");
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

void ValidateFitOrder(const LogFit& f, const std::string& field, const FieldChecker& c) {
  if (!(f.max >= f.min)) {
    c.Fail(field + ".max", ShortestNumber(f.max) + " must be >= " + c.Name(field + ".min") + " (" + ShortestNumber(f.min) + ")");
  }
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
  ValidateFields(DeviceFields(), *this, c);   // each field alone, in table order
  if (!(g_min < g_max)) c.Fail("g_min", ShortestNumber(g_min) + " must be < " + c.Name("g_max") + " (" + ShortestNumber(g_max) + ")");
  if (programming.kind == ProgrammingNoiseKind::kPolynomial) ValidatePolynomial(programming, *this, c);
  if (drift.kind == DriftKind::kPcm) {
    ValidateFitOrder(drift.nu_mean_fit, "drift.nu_mean_fit", c);
    ValidateFitOrder(drift.nu_std_fit, "drift.nu_std_fit", c);
  }
  if (!(stuck_at_min + stuck_at_max <= 1)) {
    c.Fail("stuck_at_max", ShortestNumber(stuck_at_max) + " plus " + c.Name("stuck_at_min") + " (" + ShortestNumber(stuck_at_min) +
                               ") is " + ShortestNumber(stuck_at_min + stuck_at_max) + "; the two fractions must sum to <= 1");
  }
}

}  // namespace cimsim
