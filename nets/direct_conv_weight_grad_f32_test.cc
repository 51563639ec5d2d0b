// The direct weight-gradient kernel on its own: the grid against its definition, dWᵀ against the
// float64 sum of the header's first line (tolerance: float32 sums of ≤ 2,000 products of values in
// [−1, 1], relative 1e-5 of Σ|products|), and accumulation. Through Conv2d::Backward it is checked
// against Conv2dBackwardReference in conv_bn_backward_test.cc.
#include "nets/direct_conv_weight_grad_f32.h"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "nets/conv2d.h"
#include "nets/direct_conv_f32.h"
#include "nets/eigen_maps.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

using Case = testing::ConvCase;
using testing::Describe;

// The kernel's two operands for one image: x's phase planes and grad's grid (ld = its padded width).
struct Operands {
  std::vector<float> planes, grid;
  int64_t ld;
};

Operands Pack(const Tensor& x, const Tensor& grad, const Case& c, const ConvWindow& g) {
  Operands op{std::vector<float>(static_cast<size_t>(FloatPlanesSize(g))), {}, WeightGradPaddedOutputs(c.outputs)};
  PackFloatPlanes(x.data(), g, op.planes.data());
  op.grid.resize(static_cast<size_t>(WeightGradGridRows(g) * op.ld));
  PackWeightGradGrid(grad.data(), c.outputs, g, op.grid.data());
  return op;
}

std::vector<Case> Cases() {
  // Every tile the kernel dispatches to: 3×3 at stride 1 (one vector of outputs: 3 channels a tile and
  // the rest one by one; two vectors: one channel a tile), 3×3 at stride 2 (one or two vectors), and
  // the generic tiles of any other window (one, two or four vectors; the last step tile partial).
  return {
      {3, 16, 8, 8, 3, 1, 1},     // the stem's shape: 3×3 s1, one vector, one 3-channel tile
      {5, 3, 7, 6, 3, 1, 1},      // 3×3 s1, outputs padded to 16, a 3-channel tile and two single ones
      {6, 32, 8, 8, 3, 1, 1},     // 3×3 s1, two vectors
      {2, 64, 5, 5, 3, 1, 0},     // 3×3 s1, two tiles of two vectors, no padding
      {4, 17, 6, 9, 3, 2, 1},     // 3×3 s2, 17 outputs: two vectors, the second padded
      {3, 10, 9, 9, 3, 2, 1},     // 3×3 s2, one vector, odd sizes
      {4, 48, 9, 8, 1, 2, 0},     // generic: 1×1 stride 2 (option-B shortcut), three vectors → one a tile
      {3, 64, 7, 7, 1, 2, 0},     // generic: four vectors a tile, K = 3 (one partial step tile)
      {2, 32, 9, 8, 5, 1, 2},     // generic: 5×5, two vectors a tile, K = 50
      {2, 5, 11, 10, 5, 3, 2},    // generic: larger kernel, stride 3, one vector
      {2, 8, 10, 10, 3, 3, 1},    // generic: 3×3 at stride 3
      {16, 16, 32, 32, 3, 1, 1},  // ResNet-20 layer1 (the grid packed by 16 × 16 transposes)
      {3, 33, 16, 16, 3, 1, 1},   // two 16 × 16 transpose blocks and one channel packed alone
      {2, 32, 32, 32, 3, 2, 1},   // strided, 16 output columns: transposes on the phase grid
  };
}

// dW[o, c, ky, kx] from the definition, in float64.
std::vector<double> Reference(const Tensor& x, const Tensor& grad, const Case& c, const ConvWindow& g,
                              std::vector<double>& magnitude) {
  const int k = c.kernel;
  const int64_t K = c.channels * k * k;
  std::vector<double> dw(static_cast<size_t>(c.outputs * K), 0.0);
  magnitude.assign(dw.size(), 0.0);
  for (int64_t o = 0; o < c.outputs; ++o)
    for (int64_t ci = 0; ci < c.channels; ++ci)
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          const size_t at = static_cast<size_t>(o * K + (ci * k + ky) * k + kx);
          for (int64_t oy = 0; oy < g.out_height; ++oy)
            for (int64_t ox = 0; ox < g.out_width; ++ox) {
              const int64_t y = oy * c.stride + ky - c.padding, xx = ox * c.stride + kx - c.padding;
              if (y < 0 || y >= c.height || xx < 0 || xx >= c.width) continue;
              const double product = static_cast<double>(grad[(o * g.out_height + oy) * g.out_width + ox]) *
                                     static_cast<double>(x[(ci * c.height + y) * c.width + xx]);
              dw[at] += product;
              magnitude[at] += std::abs(product);
            }
        }
  return dw;
}

TEST(WeightGradGrid, HoldsTheGradientOnTheOutputGridAndZerosElsewhere) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Describe(c));
    const ConvWindow g = testing::WindowOf(c);
    ASSERT_TRUE(g.Consistent());
    const Tensor grad = testing::RandomTensor({c.outputs, g.out_height, g.out_width}, 7);
    const int64_t rows = WeightGradGridRows(g), ld = WeightGradPaddedOutputs(c.outputs), pws = g.PhaseWidth();
    ASSERT_EQ(ld % 16, 0);
    ASSERT_GE(ld, c.outputs);
    std::vector<float> grid(static_cast<size_t>(rows * ld), -1.0f);  // -1: not written
    PackWeightGradGrid(grad.data(), c.outputs, g, grid.data());
    for (int64_t j = 0; j < rows; ++j)
      for (int64_t o = 0; o < ld; ++o) {
        const int64_t oy = j / pws, ox = j % pws;
        const float want = o < c.outputs && ox < g.out_width ? grad[(o * g.out_height + oy) * g.out_width + ox] : 0.0f;
        ASSERT_EQ(grid[static_cast<size_t>(j * ld + o)], want) << "row " << j << " column " << o;
      }
  }
}

TEST(DirectConvWeightGradF32, MatchesTheFloat64DefinitionAndAccumulates) {
  uint64_t seed = 10;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Describe(c));
    const ConvWindow g = testing::WindowOf(c);
    const Tensor x = testing::RandomTensor({c.channels, c.height, c.width}, seed);
    const Tensor grad = testing::RandomTensor({c.outputs, g.out_height, g.out_width}, seed + 1);
    seed += 10;
    const Operands op = Pack(x, grad, c, g);
    const std::vector<float>& planes = op.planes;
    const std::vector<float>& grid = op.grid;
    const int64_t ld = op.ld, K = g.Depth();
    std::vector<float> dwt(static_cast<size_t>(K * ld), 123.0f);  // overwritten without accumulate
    DirectConvWeightGradF32(planes.data(), grid.data(), c.outputs, g, false, dwt.data());
    std::vector<double> magnitude;
    const std::vector<double> want = Reference(x, grad, c, g, magnitude);
    for (int64_t o = 0; o < c.outputs; ++o)
      for (int64_t q = 0; q < K; ++q) {
        const size_t at = static_cast<size_t>(o * K + q);
        ASSERT_NEAR(dwt[static_cast<size_t>(q * ld + o)], want[at], 1e-5 * magnitude[at] + 1e-30)
            << "output " << o << " step " << q;
      }
    for (int64_t q = 0; q < K; ++q)
      for (int64_t o = c.outputs; o < ld; ++o) ASSERT_EQ(dwt[static_cast<size_t>(q * ld + o)], 0.0f) << "padding column";
    // accumulate: a second call adds the same sums (bit for bit: x + x is exact).
    std::vector<float> twice = dwt;
    DirectConvWeightGradF32(planes.data(), grid.data(), c.outputs, g, true, twice.data());
    for (size_t i = 0; i < dwt.size(); ++i) ASSERT_EQ(twice[i], 2.0f * dwt[i]) << i;
  }
}

// The kernel's contract bit for bit (header): dWᵀ[(c, ky, kx), o] is one chain from +0 over the
// output positions (oy, ox) in order of x[c, s·oy + ky − p, s·ox + kx − p]·g[o, oy, ox] — fused, or
// rounded and then added in a scalar build (kDirectConvFusedChains) — added to what dWᵀ held when
// accumulating. The kernel's chain also runs over the grid's wasted columns and the padding, where
// one factor is 0: adding ±0 to a sum that is never −0 leaves it unchanged, so they are left out
// here. The AVX2 and AVX-512 paths are both held to this chain, so their builds give the same bits.
TEST(DirectConvWeightGradF32, EveryEntryIsItsChainBitForBit) {
  uint64_t seed = 300;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Describe(c));
    const ConvWindow g = testing::WindowOf(c);
    const Tensor x = testing::RandomTensor({c.channels, c.height, c.width}, seed);
    const Tensor grad = testing::RandomTensor({c.outputs, g.out_height, g.out_width}, seed + 1);
    const Tensor before = testing::RandomTensor({c.channels * c.kernel * c.kernel, c.outputs}, seed + 2);
    seed += 10;
    const Operands op = Pack(x, grad, c, g);
    const std::vector<float>& planes = op.planes;
    const std::vector<float>& grid = op.grid;
    const int64_t ld = op.ld, K = g.Depth();
    std::vector<float> fresh(static_cast<size_t>(K * ld)), accumulated(static_cast<size_t>(K * ld), 0.0f);
    for (int64_t q = 0; q < K; ++q)
      for (int64_t o = 0; o < c.outputs; ++o) accumulated[static_cast<size_t>(q * ld + o)] = before[q * c.outputs + o];
    DirectConvWeightGradF32(planes.data(), grid.data(), c.outputs, g, false, fresh.data());
    DirectConvWeightGradF32(planes.data(), grid.data(), c.outputs, g, true, accumulated.data());
    for (int64_t ci = 0; ci < c.channels; ++ci)
      for (int ky = 0; ky < c.kernel; ++ky)
        for (int kx = 0; kx < c.kernel; ++kx)
          for (int64_t o = 0; o < c.outputs; ++o) {
            const int64_t q = (ci * c.kernel + ky) * c.kernel + kx;
            float chain = 0.0f;
            for (int64_t oy = 0; oy < g.out_height; ++oy)
              for (int64_t ox = 0; ox < g.out_width; ++ox) {
                const int64_t iy = oy * c.stride + ky - c.padding, ix = ox * c.stride + kx - c.padding;
                if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
                chain = testing::ChainStep(chain, x[(ci * c.height + iy) * c.width + ix],
                                           grad[(o * g.out_height + oy) * g.out_width + ox], kDirectConvFusedChains);
              }
            const size_t at = static_cast<size_t>(q * ld + o);
            ASSERT_EQ(std::bit_cast<uint32_t>(fresh[at]), std::bit_cast<uint32_t>(chain))
                << "step " << q << " output " << o << ": " << fresh[at] << " against " << chain;
            const float sum = before[q * c.outputs + o] + chain;
            ASSERT_EQ(std::bit_cast<uint32_t>(accumulated[at]), std::bit_cast<uint32_t>(sum))
                << "accumulated, step " << q << " output " << o;
          }
  }
}

// Not a test: the weight gradient of one batch-128 ResNet-20 layer by this kernel and by the path it
// replaced (Im2Col per image, then one Eigen GEMM dW += g_n · cols_nᵀ), interleaved in one run, one
// thread (run with --gtest_also_run_disabled_tests --gtest_filter='*WeightGradThroughput*').
TEST(DirectConvWeightGradF32, DISABLED_WeightGradThroughputAgainstIm2ColGemm) {
  const int64_t batch = 128;
  for (const Case& c : {Case{3, 16, 32, 32, 3, 1, 1}, Case{16, 16, 32, 32, 3, 1, 1}, Case{16, 32, 32, 32, 3, 2, 1},
                        Case{32, 32, 16, 16, 3, 1, 1}, Case{32, 64, 16, 16, 3, 2, 1}, Case{64, 64, 8, 8, 3, 1, 1}}) {
    const ConvWindow g = testing::WindowOf(c);
    const int64_t K = g.Depth(), P = g.out_height * g.out_width, ld = WeightGradPaddedOutputs(c.outputs);
    const Tensor x = testing::RandomTensor({batch, c.channels, c.height, c.width}, 1);
    const Tensor grad = testing::RandomTensor({batch, c.outputs, g.out_height, g.out_width}, 2);
    std::vector<float> planes(static_cast<size_t>(FloatPlanesSize(g))), grid(static_cast<size_t>(WeightGradGridRows(g) * ld));
    std::vector<float> dwt(static_cast<size_t>(K * ld)), cols(static_cast<size_t>(K * P)), dw(static_cast<size_t>(c.outputs * K));
    const int64_t in_size = c.channels * c.height * c.width, out_size = c.outputs * P;
    auto direct = [&] {
      for (int64_t n = 0; n < batch; ++n) {
        PackFloatPlanes(x.data() + n * in_size, g, planes.data());
        PackWeightGradGrid(grad.data() + n * out_size, c.outputs, g, grid.data());
        DirectConvWeightGradF32(planes.data(), grid.data(), c.outputs, g, n > 0, dwt.data());
      }
    };
    auto im2col = [&] {
      RowMap<float> w(dw.data(), c.outputs, K);
      for (int64_t n = 0; n < batch; ++n) {
        Im2Col(x.data() + n * in_size, c.channels, c.height, c.width, c.kernel, c.stride, c.padding, cols.data());
        const ConstRowMap<float> gn(grad.data() + n * out_size, c.outputs, P);
        const ConstRowMap<float> cn(cols.data(), K, P);
        if (n == 0) {
          w.noalias() = gn * cn.transpose();
        } else {
          w.noalias() += gn * cn.transpose();
        }
      }
    };
    double best_direct = 1e30, best_im2col = 1e30;
    for (int r = 0; r < 10; ++r) {
      auto time = [](auto fn) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      };
      best_direct = std::min(best_direct, time(direct));
      best_im2col = std::min(best_im2col, time(im2col));
    }
    const double flops = 2.0 * static_cast<double>(batch * c.outputs * K * P);
    std::printf("weight grad %-22s direct %6.2f ms %6.1f GFLOP/s   im2col+GEMM %6.2f ms %6.1f GFLOP/s\n",
                Describe(c).c_str(), best_direct * 1e3, flops / best_direct * 1e-9, best_im2col * 1e3,
                flops / best_im2col * 1e-9);
  }
}

}  // namespace
}  // namespace cimsim
