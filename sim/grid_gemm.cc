#include "sim/grid_gemm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

constexpr double kTwo62 = 4611686018427387904.0;

// The low 16 bits of u as a signed digit in [−2^15, 2^15); (u − digit) is then a multiple of 2^16.
int64_t LowDigit(int64_t u) { return static_cast<int64_t>(static_cast<int16_t>(static_cast<uint16_t>(u & 0xffff))); }

// Plane d of u (balanced digits below the top plane, the rest in the top one).
int64_t PlaneDigit(int64_t u, int d, int planes) {
  for (int i = 0; i < d; ++i) u = (u - LowDigit(u)) / 65536;
  return d + 1 < planes ? LowDigit(u) : u;
}

bool TopFits(int64_t u, int planes) {
  const int64_t top = PlaneDigit(u, planes - 1, planes);
  return top >= std::numeric_limits<int16_t>::min() && top <= std::numeric_limits<int16_t>::max();
}

void CheckShapes(const char* fn, int64_t x_k, int64_t rows, int64_t ld_out, int64_t cols) {
  if (x_k != rows) {
    throw std::invalid_argument(std::string(fn) + ": x.K() = " + std::to_string(x_k) + " but the matrix has " +
                                std::to_string(rows) + " rows");
  }
  if (ld_out < cols) {
    throw std::invalid_argument(std::string(fn) + ": ld_out = " + std::to_string(ld_out) + " < cols = " +
                                std::to_string(cols));
  }
}

}  // namespace

GridMatrix::GridMatrix(const Eigen::MatrixXd& v, int e) : rows_(v.rows()), cols_(v.cols()), e_(e), v_(v) {
  if (e < -60 || e > 60) throw std::invalid_argument("GridMatrix: e = " + std::to_string(e) + "; allowed [-60, 60]");
  Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic> units(rows_, cols_);
  for (int64_t c = 0; c < cols_; ++c) {
    for (int64_t k = 0; k < rows_; ++k) {
      const double scaled = std::ldexp(v(k, c), e);
      if (!(std::abs(scaled) < kTwo62) || scaled != std::trunc(scaled)) {
        throw std::invalid_argument("GridMatrix: v(" + std::to_string(k) + ", " + std::to_string(c) + ") = " +
                                    std::to_string(v(k, c)) + " is not an integer multiple of 2^-" +
                                    std::to_string(e) + " below 2^62 units");
      }
      units(k, c) = static_cast<int64_t>(scaled);
    }
  }
  factors_.assign(static_cast<size_t>(cols_), 1);
  int64_t lo = 0, hi = 0;   // the range of the reduced units R
  for (int64_t c = 0; c < cols_; ++c) {
    int64_t f = 0;
    for (int64_t k = 0; k < rows_; ++k) f = std::gcd(f, units(k, c));   // std::gcd of |values|; gcd(0, u) = |u|
    if (f == 0) f = 1;
    factors_[static_cast<size_t>(c)] = f;
    unit_factors_ = unit_factors_ && f == 1;
    for (int64_t k = 0; k < rows_; ++k) {
      units(k, c) /= f;
      lo = std::min(lo, units(k, c));
      hi = std::max(hi, units(k, c));
    }
  }
  planes_ = 1;
  while (!TopFits(lo, planes_) || !TopFits(hi, planes_)) ++planes_;   // the top digit is monotonic in u
  byte_path_ = kInt8GemmIsFast && planes_ == 1 && lo >= -128 && hi <= 127 && rows_ <= 65793;
  if (byte_path_) {
    std::vector<int16_t> rt(static_cast<size_t>(cols_ * rows_));
    for (int64_t c = 0; c < cols_; ++c)
      for (int64_t k = 0; k < rows_; ++k) rt[static_cast<size_t>(c * rows_ + k)] = static_cast<int16_t>(units(k, c));
    transposed_ = PackedWeights8(rt.data(), cols_, rows_);
  }
  digits_.Resize(rows_, planes_ * cols_);
  for (int d = 0; d < planes_; ++d)
    for (int64_t c = 0; c < cols_; ++c)
      for (int64_t k = 0; k < rows_; ++k)
        digits_.Set(k, d * cols_ + c, static_cast<int16_t>(PlaneDigit(units(k, c), d, planes_)));
}

int64_t GridMatrix::MaxInput(int64_t rows) {
  return std::numeric_limits<int32_t>::max() / (std::max<int64_t>(rows, 1) * 32768);
}

void GridMatrix::Multiply(const PackedWeights& x, int32_t* units, double* out, int64_t ld_out) const {
  CheckShapes("GridMatrix::Multiply", x.K(), rows_, ld_out, cols_);
  const int64_t n = x.N(), width = planes_ * cols_;
  if (rows_ == 0) {
    for (int64_t j = 0; j < n; ++j) std::fill_n(out + j * ld_out, cols_, 0.0);
    return;
  }
  IntGemm(x, digits_, units, width);
  const double scale = std::ldexp(1.0, -e_);
  for (int64_t j = 0; j < n; ++j) {
    const int32_t* p = units + j * width;
    double* o = out + j * ld_out;
    const int64_t* f = factors_.data();
    if (planes_ == 1 && unit_factors_) {
      for (int64_t c = 0; c < cols_; ++c) o[c] = static_cast<double>(p[c]) * scale;
    } else if (planes_ == 1) {
      for (int64_t c = 0; c < cols_; ++c) o[c] = static_cast<double>(int64_t{p[c]} * f[c]) * scale;
    } else if (planes_ == 2) {
      for (int64_t c = 0; c < cols_; ++c) o[c] = static_cast<double>((int64_t{p[cols_ + c]} * 65536 + p[c]) * f[c]) * scale;
    } else {
      for (int64_t c = 0; c < cols_; ++c) {
        int64_t s = p[(planes_ - 1) * cols_ + c];
        for (int d = planes_ - 2; d >= 0; --d) s = s * 65536 + p[d * cols_ + c];
        o[c] = static_cast<double>(s * f[c]) * scale;
      }
    }
  }
}

void GridMatrix::MultiplyBytes(const QuadCodes& x, int32_t* units, double* out, int64_t ld_out) const {
  if (!byte_path_) throw std::logic_error("GridMatrix::MultiplyBytes: the matrix has no byte path (HasBytePath() is false)");
  CheckShapes("GridMatrix::MultiplyBytes", x.K(), rows_, ld_out, cols_);
  const int64_t n = x.n();
  if (n == 0) return;
  if (rows_ == 0) {
    for (int64_t j = 0; j < n; ++j) std::fill_n(out + j * ld_out, cols_, 0.0);
    return;
  }
  Int8Gemm(transposed_, x, units, n);   // units [cols, n]
  const double scale = std::ldexp(1.0, -e_);
  const int64_t* f = factors_.data();
  // Transposed into the rows of out, 16 vectors at a time so that the reads of units stay in a few lines.
  constexpr int64_t kStrip = 16;
  for (int64_t j0 = 0; j0 < n; j0 += kStrip) {
    const int64_t j1 = std::min(n, j0 + kStrip);
    for (int64_t c = 0; c < cols_; ++c) {
      const int32_t* t = units + c * n;
      for (int64_t j = j0; j < j1; ++j) out[j * ld_out + c] = static_cast<double>(int64_t{t[j]} * f[c]) * scale;
    }
  }
}

void GridMatrix::MultiplyReference(const PackedWeights& x, double* out, int64_t ld_out) const {
  CheckShapes("GridMatrix::MultiplyReference", x.K(), rows_, ld_out, cols_);
  for (int64_t j = 0; j < x.N(); ++j) {
    for (int64_t c = 0; c < cols_; ++c) {
      double s = 0;
      for (int64_t k = 0; k < rows_; ++k) {
        const int32_t pair = x.Pair(j, k / 2);
        const int16_t code = static_cast<int16_t>(k % 2 == 0 ? pair & 0xffff : (pair >> 16) & 0xffff);
        s += static_cast<double>(code) * v_(k, c);
      }
      out[j * ld_out + c] = s;
    }
  }
}

}  // namespace cimsim
