#include "calib/drift_compensation.h"

#include <cmath>
#include <stdexcept>

#include "sim/column_readout.h"

namespace cimsim {

std::vector<int32_t> ReadLayer(const MvmCore& core, const LayerInputs& inputs, Rng* rng) {
  if (inputs.K != core.Depth())
    throw std::invalid_argument("ReadLayer: the inputs have K = " + std::to_string(inputs.K) + ", the layer " +
                                std::to_string(core.Depth()));
  std::vector<int32_t> y(static_cast<size_t>(core.Outputs() * inputs.n));
  if (inputs.n == 0) return y;
  const InputCodes x = InputCodes::VectorMajor(inputs.plain.data(), inputs.K, inputs.n);
  MvmContext ctx{rng};
  core.Multiply(x, y.data(), inputs.n, ctx);
  return y;
}

double GlobalDriftFactor(std::span<const int32_t> reference, std::span<const int32_t> now) {
  if (reference.size() != now.size())
    throw std::invalid_argument("GlobalDriftFactor: " + std::to_string(reference.size()) + " reference values, " +
                                std::to_string(now.size()) + " now");
  double ref = 0, cur = 0;
  for (int32_t v : reference) ref += std::abs(static_cast<double>(v));
  for (int32_t v : now) cur += std::abs(static_cast<double>(v));
  return cur > 0 ? ref / cur : 1.0;
}

std::unique_ptr<MvmCore> ScaleReadout(const MvmCore& core, double alpha, const std::string& where) {
  if (!std::isfinite(alpha) || !(alpha > 0))
    throw std::invalid_argument(where + ": ScaleReadout: the factor " + std::to_string(alpha) +
                                " is not a finite number > 0");
  const ColumnReadout& readout = RequireReadout(core, where);
  ReadoutSettings settings;
  for (const ColumnCorrection& c : readout.Corrections()) settings.corrections.push_back({alpha * c.gain, alpha * c.offset});
  return readout.WithReadout(settings, where);
}

double RelativeError(std::span<const int32_t> y, std::span<const int32_t> exact) {
  if (y.size() != exact.size())
    throw std::invalid_argument("RelativeError: " + std::to_string(y.size()) + " values against " +
                                std::to_string(exact.size()) + " exact ones");
  double err2 = 0, exact2 = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double e = exact[i], d = static_cast<double>(y[i]) - e;
    err2 += d * d;
    exact2 += e * e;
  }
  return exact2 > 0 ? std::sqrt(err2 / exact2) : 0.0;
}

}  // namespace cimsim
