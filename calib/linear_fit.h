// linear_fit.h — the least-squares line through (measured, ideal) pairs, as chip calibration fits a
// column (docs/glossary.md).
//
// Model: ideal ≈ gain·measured + offset. With n pairs, means m̄, ī and centred sums
//   S_mm = Σ (m − m̄)²,  S_mi = Σ (m − m̄)(i − ī):   gain = S_mi / S_mm,  offset = ī − gain·m̄.
// Degenerate inputs: n = 0 → gain 1, offset 0 (nothing to correct); S_mm = 0 (a constant measured
// value) → gain 1, offset = ī − m̄ (only the mean can be corrected).
// LinearFit accumulates pairs in one pass with Welford-style updates of the means and centred sums
// (numerically stable for large offsets); FitLineReference is the two-pass textbook formula over
// stored pairs — the oracle. Both also give the RMS error before (ideal − measured) and after
// (ideal − gain·measured − offset).
#pragma once

#include <cstdint>
#include <span>

namespace cimsim {

struct LineFit {
  double gain = 1.0, offset = 0.0;
  int64_t count = 0;
  double rmse_before = 0.0, rmse_after = 0.0;
};

class LinearFit {
 public:
  void Add(double measured, double ideal);
  LineFit Result() const;

 private:
  int64_t n_ = 0;
  double mean_m_ = 0, mean_i_ = 0, s_mm_ = 0, s_mi_ = 0, s_ii_ = 0;  // centred sums
  double sum_sq_before_ = 0;                                        // Σ (i − m)²
};

// The two-pass formula over stored pairs (same size spans).
LineFit FitLineReference(std::span<const double> measured, std::span<const double> ideal);

}  // namespace cimsim
