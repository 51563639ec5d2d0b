#include "sim/int8_gemm.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>

#include "sim/gemm_tiles.h"
#include "sim/gemm_tiles_avx512.h"
#endif
#include "sim/gemm_contract.h"

namespace cimsim {
namespace {

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

// The vector operations the shared micro-kernel (sim/gemm_tiles.h) needs: the shared zmm operations
// (sim/gemm_tiles_avx512.h) and vpdpbusd. A vector holds kLanes int32 lanes = kLanes columns of y;
// loaded from x it holds kLanes column quads (x[4kq .. 4kq+3, j]).
struct Isa : gemm_tiles::Avx512Tiles {
  using X = uint32_t;
  static constexpr int kXPerColumn = 1;  // a column quad is one uint32
  // acc + Σ_{b<4} u8(x.byte b)·s8(w.byte b) per int32 lane, wrap-around. The instruction itself
  // through inline asm, as IntGemm does for vpdpwssd (GCC 12 spills a large tile's accumulators with
  // the intrinsic). AT&T order: the signed source (w) first, then the unsigned one (x), then acc.
  static V Mac(V acc, V w, V x) {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
  }
};

static_assert(QuadCodes::kColumnAlign % Isa::kLanes == 0, "kernels read whole vectors of columns");

void Int8GemmVnni(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy) {
  gemm_tiles::TiledGemm<Isa, PackedWeights8::kRowBlock>(
      w.data(), w.N(), w.quads(), gemm_tiles::StridedRows<uint32_t>{x.QuadRow(0), x.n_stride()}, x.n(), y, ldy);
}

void Int8GemmWindowsVnni(const PackedWeights8& w, const uint32_t* x0, const int64_t* offsets, int64_t n, int32_t* y,
                         int64_t ldy) {
  gemm_tiles::TiledGemm<Isa, PackedWeights8::kRowBlock>(w.data(), w.N(), w.quads(),
                                                        gemm_tiles::OffsetRows<uint32_t>{x0, offsets}, n, y, ldy);
}

#else

// The quad product of one weight quad and one input quad, exact in int32 (|sum| <= 4·255·128).
int32_t QuadDot(int32_t w_quad, uint32_t x_quad) {
  int32_t dot = 0;
  for (int b = 0; b < 4; ++b) {
    dot += static_cast<int8_t>(static_cast<uint8_t>(static_cast<uint32_t>(w_quad) >> (8 * b))) *
           static_cast<int32_t>((x_quad >> (8 * b)) & 0xff);
  }
  return dot;
}

// The same sums lane by lane: int32 wrap-around additions (through uint32, defined behaviour) of
// exact u8·s8 products.
void Int8GemmScalar(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy) {
  const int64_t n = x.n();
  for (int64_t o = 0; o < w.N(); ++o) {
    int32_t* y_row = y + o * ldy;
    std::fill(y_row, y_row + n, 0);
    for (int64_t kq = 0; kq < w.quads(); ++kq) {
      const int32_t quad = w.Quad(o, kq);
      const uint32_t* xr = x.QuadRow(kq);
      for (int64_t j = 0; j < n; ++j) {
        y_row[j] = static_cast<int32_t>(static_cast<uint32_t>(y_row[j]) + static_cast<uint32_t>(QuadDot(quad, xr[j])));
      }
    }
  }
}

#endif

}  // namespace

PackedWeights8::PackedWeights8(const int16_t* w, int64_t N, int64_t K) {
  SetShapeZeroed(N, K, "PackedWeights8");
  for (int64_t o = 0; o < N; ++o) {
    const int16_t* row = w + o * K;
    for (int64_t kq = 0; kq < quads(); ++kq) {
      int8_t c[4] = {0, 0, 0, 0};  // codes past K stay 0
      for (int64_t b = 0; b < 4 && 4 * kq + b < K; ++b) {
        const int16_t code = row[4 * kq + b];
        if (code < -128 || code > 127) {
          throw std::invalid_argument("PackedWeights8: w[" + std::to_string(o) + ", " + std::to_string(4 * kq + b) +
                                      "] = " + std::to_string(code) + " is outside [-128, 127]");
        }
        c[b] = static_cast<int8_t>(code);
      }
      SetLane(o, kq, PackQuad(c[0], c[1], c[2], c[3]));
    }
  }
}

void Int8GemmReference(const int16_t* w, int64_t N, int64_t K, const QuadCodes& x, int32_t* y, int64_t ldy) {
  GemmReferenceLoops("Int8GemmReference", w, N, K, x, y, ldy);
}

void Int8Gemm(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy) {
  CheckGemmShapes("Int8Gemm", w.K(), x.K(), x.n(), ldy);
  if (GemmEmptyShape(w.N(), w.K(), x.n(), y, ldy)) return;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  Int8GemmVnni(w, x, y, ldy);
#else
  Int8GemmScalar(w, x, y, ldy);
#endif
}

void Int8GemmWindows(const PackedWeights8& w, const uint32_t* x0, const int64_t* offsets, int64_t n, int32_t* y,
                     int64_t ldy) {
  CheckGemmShapes("Int8GemmWindows", w.K(), w.K(), n, ldy);
  if (GemmEmptyShape(w.N(), w.K(), n, y, ldy)) return;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  Int8GemmWindowsVnni(w, x0, offsets, n, y, ldy);
#else
  // Lane by lane, int32 wrap-around additions (through uint32) of exact quad products.
  for (int64_t o = 0; o < w.N(); ++o) {
    for (int64_t j = 0; j < n; ++j) {
      uint32_t sum = 0;
      for (int64_t g = 0; g < w.quads(); ++g) sum += static_cast<uint32_t>(QuadDot(w.Quad(o, g), x0[offsets[g] + j]));
      y[o * ldy + j] = static_cast<int32_t>(sum);
    }
  }
#endif
}

void Int8GemmWindowsReference(const int16_t* w, int64_t N, int64_t K, const uint32_t* x0, const int64_t* offsets,
                              int64_t n, int32_t* y, int64_t ldy) {
  CheckGemmShapes("Int8GemmWindowsReference", K, K, n, ldy);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        const uint32_t quad = x0[offsets[k / 4] + j];
        sum += int64_t{w[o * K + k]} * static_cast<int64_t>((quad >> (8 * (k % 4))) & 0xff);
      }
      y[o * ldy + j] = static_cast<int32_t>(sum);
    }
  }
}

}  // namespace cimsim
