// gemm_test_support.h — test helpers shared by the exact-GEMM tests (sim/int_gemm_test.cc,
// sim/int8_gemm_test.cc): random codes, the sentinel/pad check against the oracle, and the contract
// cases every kernel must meet (ldy = n, empty shapes, mismatched shapes).
//
// A "path" bundles one kernel with its input layout and oracle:
//   Codes; Fill(const InputCodes&, Codes&); Fast(w, N, K, x, y, ldy) (packs w [N, K] and runs the
//   kernel); Reference(w, N, K, x, y, ldy); kName.
// Int16Path: PairedCodes, IntGemm, IntGemmReference. Int8Path: QuadCodes, Int8Gemm, Int8GemmReference.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "common/rng.h"
#include "sim/input_codes.h"
#include "sim/int8_gemm.h"
#include "sim/int_gemm.h"
#include "sim/paired_codes.h"
#include "sim/quad_codes.h"

namespace cimsim::gemm_test {

constexpr int32_t kSentinel = -123456789;
constexpr int64_t kPad = 3;  // ldy = n + kPad; the pad columns must keep kSentinel

struct Int16Path {
  using Codes = PairedCodes;
  static constexpr const char* kName = "int16 path";
  static void Fill(const InputCodes& x, Codes& out) { FillPairedCodes(x, out); }
  static void Fast(const int16_t* w, int64_t N, int64_t K, const Codes& x, int32_t* y, int64_t ldy) {
    IntGemm(PackedWeights(w, N, K), x, y, ldy);
  }
  static void Reference(const int16_t* w, int64_t N, int64_t K, const Codes& x, int32_t* y, int64_t ldy) {
    IntGemmReference(w, N, K, x, y, ldy);
  }
};

struct Int8Path {
  using Codes = QuadCodes;
  static constexpr const char* kName = "u8xs8 path";
  static void Fill(const InputCodes& x, Codes& out) { FillQuadCodes(x, out); }
  static void Fast(const int16_t* w, int64_t N, int64_t K, const Codes& x, int32_t* y, int64_t ldy) {
    Int8Gemm(PackedWeights8(w, N, K), x, y, ldy);
  }
  static void Reference(const int16_t* w, int64_t N, int64_t K, const Codes& x, int32_t* y, int64_t ldy) {
    Int8GemmReference(w, N, K, x, y, ldy);
  }
};

// count codes uniform in [lo, hi].
inline std::vector<int16_t> RandomCodes(int64_t count, int lo, int hi, Rng& rng) {
  std::vector<int16_t> v(static_cast<size_t>(count));
  for (auto& c : v) c = static_cast<int16_t>(lo + static_cast<int>(rng.Below(static_cast<uint64_t>(hi - lo + 1))));
  return v;
}

// Path's codes for the vector-major [K, n] array cols (vector j at cols + j·K).
template <class Path>
typename Path::Codes FillCodes(const std::vector<int16_t>& cols, int64_t K, int64_t n) {
  typename Path::Codes x;
  Path::Fill(InputCodes::VectorMajor(cols.data(), K, n), x);
  return x;
}

// Path's fast output y [N, n] with ldy = n + kPad, sentinel-filled beforehand.
template <class Path>
std::vector<int32_t> RunFastPadded(const std::vector<int16_t>& w, int64_t N, int64_t K,
                                   const std::vector<int16_t>& cols, int64_t n) {
  const int64_t ldy = n + kPad;
  std::vector<int32_t> y(static_cast<size_t>(N * ldy), kSentinel);
  Path::Fast(w.data(), N, K, FillCodes<Path>(cols, K, n), y.data(), ldy);
  return y;
}

// Runs Path's kernel and oracle on w [N, K] and cols (vector-major [K, n]) into sentinel-filled
// buffers with ldy = n + kPad; both must agree everywhere and leave the pad columns alone. Each Also
// path's kernel (on its own layout of the same codes) must agree with the oracle too. Returns Path's
// kernel output.
template <class Path, class... Also>
std::vector<int32_t> CheckAgainstReference(const std::vector<int16_t>& w, int64_t N, int64_t K,
                                           const std::vector<int16_t>& cols, int64_t n) {
  const int64_t ldy = n + kPad;
  const typename Path::Codes x = FillCodes<Path>(cols, K, n);
  std::vector<int32_t> fast(static_cast<size_t>(N * ldy), kSentinel), ref = fast;
  Path::Fast(w.data(), N, K, x, fast.data(), ldy);
  Path::Reference(w.data(), N, K, x, ref.data(), ldy);
  const std::vector<std::vector<int32_t>> also = {RunFastPadded<Also>(w, N, K, cols, n)...};
  const char* also_names[] = {Also::kName..., ""};
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < ldy; ++j) {
      const size_t i = static_cast<size_t>(o * ldy + j);
      if (j < n) {
        EXPECT_EQ(fast[i], ref[i]) << "y[" << o << ", " << j << "], N=" << N << " K=" << K << " n=" << n;
        for (size_t a = 0; a < also.size(); ++a) {
          EXPECT_EQ(also[a][i], ref[i]) << also_names[a] << ", y[" << o << ", " << j << "]";
        }
      } else {
        EXPECT_EQ(fast[i], kSentinel) << "pad column " << j << " of row " << o << " written";
        EXPECT_EQ(ref[i], kSentinel) << "reference wrote pad column " << j << " of row " << o;
      }
      if (::testing::Test::HasFailure()) return fast;  // one failure is enough for a case
    }
  }
  return fast;
}

// No pad columns (ldy = n): a store past column n would land in the next row (or, on the last row,
// outside the buffer, which the sanitizer build catches). Weights in [w_lo, w_hi], inputs [0, 255].
template <class Path>
void CheckLdyEqualToNAndExactBuffer(int w_lo, int w_hi) {
  const int64_t N = 7, K = 27, n = 17;
  Rng rng(5);
  const std::vector<int16_t> w = RandomCodes(N * K, w_lo, w_hi, rng);
  const std::vector<int16_t> cols = RandomCodes(K * n, 0, 255, rng);
  const typename Path::Codes x = FillCodes<Path>(cols, K, n);
  std::vector<int32_t> fast(static_cast<size_t>(N * n)), ref(fast.size());
  Path::Fast(w.data(), N, K, x, fast.data(), n);
  Path::Reference(w.data(), N, K, x, ref.data(), n);
  EXPECT_EQ(fast, ref);
}

// n = 0 and N = 0 write nothing (y may be null); K = 0 writes the empty sum 0 for j < n only.
template <class Path>
void CheckEmptyShapes() {
  const std::vector<int16_t> w = {1, 2, 3, 4, 5, 6};
  typename Path::Codes x(3, 0);
  Path::Fast(w.data(), 2, 3, x, nullptr, 0);  // n = 0: nothing written
  x.Resize(3, 4);
  Path::Fast(w.data(), 0, 3, x, nullptr, 4);  // N = 0: nothing written
  // K = 0: every dot product is the empty sum, 0.
  x.Resize(0, 100);
  std::vector<int32_t> y(2 * 101, kSentinel);
  Path::Fast(w.data(), 2, 0, x, y.data(), 101);
  for (int64_t o = 0; o < 2; ++o) {
    for (int64_t j = 0; j < 101; ++j) EXPECT_EQ(y[static_cast<size_t>(o * 101 + j)], j < 100 ? 0 : kSentinel);
  }
}

// x.K() != K and ldy < n throw std::invalid_argument, from the kernel and the oracle.
template <class Path>
void CheckRejectsMismatchedShapes() {
  const std::vector<int16_t> w(12, 1);
  typename Path::Codes x(5, 2);
  std::vector<int32_t> y(12);
  EXPECT_THROW(Path::Fast(w.data(), 3, 4, x, y.data(), 2), std::invalid_argument);
  EXPECT_THROW(Path::Reference(w.data(), 3, 4, x, y.data(), 2), std::invalid_argument);
  x.Resize(4, 4);
  EXPECT_THROW(Path::Fast(w.data(), 3, 4, x, y.data(), 3), std::invalid_argument);  // ldy < n
}

using Shape = std::tuple<int64_t, int64_t, int64_t>;  // N, K, n

// "N<N>_K<K>_n<n>", the grid tests' parameter names.
inline std::string ShapeName(const ::testing::TestParamInfo<Shape>& info) {
  return "N" + std::to_string(std::get<0>(info.param)) + "_K" + std::to_string(std::get<1>(info.param)) + "_n" +
         std::to_string(std::get<2>(info.param));
}

}  // namespace cimsim::gemm_test
