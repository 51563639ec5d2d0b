// range_calibration.h — choosing a clipping range α for a tensor from calibration values.
// ("Calibration" here: quantization calibration on training images, not chip calibration; docs/glossary.md.)
//
// Quantizers (conventions of docs/quantization.md): a signed tensor clips to [−α, α] with codes
// ±(2^(bits−1) − 1), scale s = α / (2^(bits−1) − 1); an unsigned one (after a ReLU) clips to [0, α]
// with codes 0..2^bits − 1, s = α / (2^bits − 1). Q_α(x) = s · clamp(round(x / s), code range), with
// round = half away from zero. ChooseClip picks α by one of four methods (RangeMethod).
//
// ACIQ (Banner, Nahshan, Soudry, "Post-training 4-bit quantization of convolution networks for
// rapid-deployment", arXiv 1810.05723). For X with density f symmetric about 0 and an M-bit uniform
// quantizer over [−α, α] (2^M bins of width Δ = 2α / 2^M), the mean squared error is approximated as
//     MSE(α) = clip(α) + α² / (3 · 4^M),
// the second term being the rounding noise Δ²/12 = (2α/2^M)²/12 of values inside the range (taken,
// as ACIQ does, as if all the mass were inside), the first the clipping noise 2 ∫_α^∞ (x − α)² f(x) dx:
//   Laplace(0, b):  clip(α) = 2 b² e^(−α/b)
//                   (∫_α^∞ (x−α)² e^(−x/b)/(2b) dx = e^(−α/b) ∫_0^∞ t² e^(−t/b)/(2b) dt = b² e^(−α/b));
//   Gauss(0, σ²):   clip(α) = (α² + σ²) erfc(α/(√2 σ)) − α σ √(2/π) e^(−α²/(2σ²))   (exact).
// In units of b (σ), with a = α/b (α/σ), dMSE/da = 0 reads
//   Laplace:  e^(−a) = a / (3 · 4^M);
//   Gauss:    2 (φ(a) − a Q(a)) = a / (3 · 4^M),   φ the N(0,1) density, Q(a) = erfc(a/√2)/2;
// in both the left side decreases in a and the right side increases, so the root a*(M) is unique.
// AciqAlpha returns the published constants for M = 2..8 and the root for other M.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/rng.h"

namespace cimsim {

enum class RangeMethod { kMax, kPercentile, kMse, kAciq };
enum class AciqPrior { kLaplace, kGauss };

struct RangeParams {
  RangeMethod method = RangeMethod::kAciq;
  double percentile = 99.99;   // kPercentile: of |x| (signed) or of x (unsigned), in (0, 100]
  AciqPrior prior = AciqPrior::kLaplace;
  int mse_candidates = 128;    // kMse: α on the grid abs_max·i/candidates, i = 1..candidates; 1..65536
  // Throws std::invalid_argument naming the field, its value and the allowed range.
  void Validate() const;
};

// The ACIQ-optimal clipping a* = α*/b (Laplace) or α*/σ (Gauss) of a `bits`-bit quantizer, bits in
// 1..24 (ChooseClip needs up to 17: unsigned 16-bit tensors use bits + 1). For bits 2..8 the published
// constants: Laplace {2.83, 3.89, 5.03, 6.20, 7.41, 8.64, 9.89}, Gauss {1.71, 2.15, 2.55, 2.93, 3.28,
// 3.61, 3.92}; otherwise AciqAlphaSolved. Throws std::invalid_argument for bits outside 1..24.
double AciqAlpha(int bits, AciqPrior prior);
// The root a*(bits) of the stationarity condition above, by bisection on [0, 64] to 1e−12
// (bits 1..24). Reproduces the published table to within 0.01.
double AciqAlphaSolved(int bits, AciqPrior prior);

// The clipping value α for a tensor, 0 < α <= abs_max (or 0 when abs_max == 0: the caller then uses
// scale 1 and all codes 0). `values` may be a subsample; abs_max is the exact max |x| (signed) or max x
// (unsigned) of the full tensor.
//  kMax:        α = abs_max.
//  kPercentile: the `percentile`-th percentile of |x| (signed) or x (unsigned) over `values`, linear
//               interpolation between order statistics: rank r = p/100 · (n − 1), α = v(⌊r⌋) +
//               (r − ⌊r⌋)·(v(⌊r⌋+1) − v(⌊r⌋)) with v sorted ascending (NumPy's default), so p = 50 is
//               the median and p = 100 the sample maximum.
//  kMse:        the grid α = abs_max·i/candidates (i = 1..candidates) minimizing Σ (x − Q_α(x))² over
//               `values` (Q_α the quantizer above, sums in double); ties go to the smaller α.
//  kAciq:       b = mean |x − mean(x)| (Laplace) or σ = sqrt(mean (x − mean(x))²) (Gauss) over `values`;
//               α = AciqAlpha(bits', prior) · b with bits' = bits (signed) or bits + 1 (unsigned: [0, α]
//               with 2^bits codes has the step of a (bits+1)-bit quantizer over [−α, α]).
// Every method's α is then capped at abs_max; a method that yields α <= 0 although abs_max > 0 (a
// percentile that falls on zeros, b = 0 for constant values) falls back to α = abs_max.
// Throws std::invalid_argument for bits outside 2..16, invalid params, abs_max negative or not finite,
// empty values with abs_max > 0, non-finite values (naming the index and value).
double ChooseClip(std::span<const float> values, double abs_max, int bits, bool is_signed,
                  const RangeParams& params);

// Streaming statistics of one activation tensor over calibration images: the exact max x and max |x|,
// the number of values, and a seeded uniform reservoir sample of at most `capacity` values (Algorithm R:
// the t-th value, t = 0, 1, ..., is kept while t < capacity; after that it replaces sample[j] with
// j = rng.Below(t + 1) when j < capacity, so every value is in the sample with probability
// capacity / count). Add(values) is called once per image, in image order; everything is a pure
// function of the values in order, the capacity and the seed (how they are split into Add calls does
// not matter). The sample draws from ReservoirStream(seed) (common/streams.h).
class RangeStats {
 public:
  // capacity >= 1, else std::invalid_argument.
  RangeStats(int64_t capacity, uint64_t seed);

  // Throws std::invalid_argument for a non-finite value (naming its index in the stream and the value);
  // then nothing of this call's values is added.
  void Add(std::span<const float> values);

  double abs_max() const { return abs_max_; }   // max |x| over all values; 0 before any value
  double max() const { return max_; }           // max x; −infinity before any value
  // The abs_max argument ChooseClip wants: abs_max() if signed, else max(max(), 0).
  double RangeMax(bool is_signed) const;
  int64_t count() const { return count_; }
  int64_t capacity() const { return capacity_; }
  std::span<const float> sample() const { return sample_; }

 private:
  int64_t capacity_;
  Rng rng_;
  std::vector<float> sample_;
  int64_t count_ = 0;
  double abs_max_ = 0;
  double max_;
};

}  // namespace cimsim
