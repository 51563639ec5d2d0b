// The MvmCore conformance suite: what every core promises at the boundary of sim/mvm_core.h, run on every
// core of the maker table (core_makers.h) over every layer of the suite (several shapes, signed and
// unsigned input ranges, 8- and 4-bit weights).
//
// A core must
//   1. report its shape: Outputs() = N, Depth() = K, InputRange() as built, a non-empty Name();
//   2. handle any batch size (0, 1, 2, 31, 128, 129, 300): write y[o, j] for j < n only (ldy = n + 3,
//      the padding keeps its sentinel), and an exact core gives IdealCore's y bit for bit;
//   3. accept any strides: vector-major, row-major with ld > n and junk in the padding, and Columns()
//      sub-views of either give the same y (noisy cores: the same stream);
//   4. be deterministic: the same stream gives the same y; a noisy core's y changes with the stream and a
//      null stream throws std::invalid_argument; a noiseless core gives the same y whatever the stream,
//      and one that does not need a stream accepts a null one and leaves a given one untouched;
//   5. split batches as it documents (core_makers.h, Split): consecutive calls over parts of a batch
//      with one stream give the y of one call;
//   6. honour segments (layer-major calls): one call whose context lists several items, each with its
//      own stream, gives the y of one call per item;
//   7. be thread-safe: two threads calling Multiply on one core, each with its own stream, give the y of
//      sequential calls;
//   8. reject bad calls with std::invalid_argument (x.K != Depth(), ldy < n), leaving y untouched;
// and, when it offers Readout(), the properties of readout_conformance_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "conformance/conformance_fixture.h"

namespace cimsim::conformance {
namespace {

TEST_P(CoreConformance, ReportsItsShape) {
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    EXPECT_EQ(c.core->Outputs(), c.layer.N);
    EXPECT_EQ(c.core->Depth(), c.layer.K);
    EXPECT_EQ(c.core->InputRange(), c.layer.range);
    EXPECT_FALSE(c.core->Name().empty());
    EXPECT_EQ(c.core->Readout() != nullptr, promises().readout);
  }
}

TEST_P(CoreConformance, AnyBatchSizeWritesOnlyItsColumns) {
  for (const LayerCore& c : Cores()) {
    for (int64_t n : {0, 1, 2, 31, 128, 129, 300}) {
      SCOPED_TRACE(c.layer.name + ", n = " + std::to_string(n));
      const std::vector<int16_t> x = Vectors(c.layer, std::max<int64_t>(n, 1), 7);
      const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
      const int64_t ldy = n + 3;
      const std::vector<int32_t> y = Apply(*c.core, view, 11, nullptr, ldy);
      const std::vector<int32_t> exact = Exact(c.layer, c.weights, view);
      int64_t padding_written = 0, differing = 0;
      for (int64_t o = 0; o < c.layer.N; ++o) {
        for (int64_t j = 0; j < ldy; ++j) {
          const int32_t v = y[static_cast<size_t>(o * ldy + j)];
          if (j >= n) {
            padding_written += v != kSentinel;
          } else {
            differing += v != exact[static_cast<size_t>(o * n + j)];
          }
        }
      }
      EXPECT_EQ(padding_written, 0);
      if (promises().exact) {
        EXPECT_EQ(differing, 0);
      }
    }
  }
}

TEST_P(CoreConformance, LayoutDoesNotChangeY) {
  const int64_t n = 129, pad = 5, first = 2;   // first: where the vectors start in the wider buffers
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const int64_t K = c.layer.K;
    const std::vector<int16_t> x = Vectors(c.layer, n, 3);
    const auto code = [&](int64_t k, int64_t j) { return x[static_cast<size_t>(j * K + k)]; };
    // Junk is in range: a core may read it only to ignore it (codes must lie in InputRange()).
    Rng junk(9);
    // Vector-major with ld = K + pad, and a wider one holding the vectors at columns [first, first + n).
    const int64_t ld_v = K + pad, wide = n + first + 3;
    std::vector<int16_t> vm = RandomCodes(junk, ld_v * wide, c.layer.range.min, c.layer.range.max);
    // Row-major with ld = wide (> n): row k holds code k of every vector from column `first` on.
    std::vector<int16_t> rm = RandomCodes(junk, K * wide, c.layer.range.min, c.layer.range.max);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t k = 0; k < K; ++k) {
        vm[static_cast<size_t>((first + j) * ld_v + k)] = code(k, j);
        rm[static_cast<size_t>(k * wide + first + j)] = code(k, j);
      }
    }
    const std::vector<int32_t> y = Apply(*c.core, InputCodes::VectorMajor(x.data(), K, n), 5);
    EXPECT_EQ(Apply(*c.core, InputCodes::VectorMajor(vm.data() + first * ld_v, K, n, ld_v), 5), y)
        << "vector-major, ld > K";
    EXPECT_EQ(Apply(*c.core, InputCodes::VectorMajor(vm.data(), K, wide, ld_v).Columns(first, n), 5), y)
        << "vector-major Columns()";
    EXPECT_EQ(Apply(*c.core, InputCodes::RowMajor(rm.data() + first, K, n, wide), 5), y) << "row-major, ld > n";
    EXPECT_EQ(Apply(*c.core, InputCodes::RowMajor(rm.data(), K, wide).Columns(first, n), 5), y)
        << "row-major Columns()";
  }
}

TEST_P(CoreConformance, DeterministicPerStream) {
  const int64_t n = 31;
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const std::vector<int16_t> x = Vectors(c.layer, n, 4);
    const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
    const std::vector<int32_t> y = Apply(*c.core, view, 7);
    EXPECT_EQ(Apply(*c.core, view, 7), y) << "same stream";
    if (promises().noisy) {
      EXPECT_NE(Apply(*c.core, view, 8), y) << "another stream";
    } else {
      EXPECT_EQ(Apply(*c.core, view, 8), y) << "another stream, noiseless core";
    }
    if (promises().needs_rng) {
      EXPECT_THROW(Apply(*c.core, view, std::nullopt), std::invalid_argument) << "null stream";
    } else {
      EXPECT_EQ(Apply(*c.core, view, std::nullopt), y) << "null stream";
      Rng used(7);
      std::vector<int32_t> out(y.size());
      MvmContext ctx{&used, nullptr, -1};
      c.core->Multiply(view, out.data(), n, ctx);
      EXPECT_EQ(used.NextU64(), Rng(7).NextU64()) << "a core that needs no stream draws nothing";
    }
  }
}

// y of consecutive calls over parts of x (sizes `parts`, one stream of `seed`), [N, x.n].
std::vector<int32_t> RunInParts(const MvmCore& core, const InputCodes& x, const std::vector<int64_t>& parts,
                                uint64_t seed) {
  std::vector<int32_t> y(static_cast<size_t>(core.Outputs() * x.n), kSentinel);
  Rng rng(seed);
  MvmContext ctx{&rng, nullptr, -1};
  int64_t j0 = 0;
  for (int64_t count : parts) {
    core.Multiply(x.Columns(j0, count), y.data() + j0, x.n, ctx);
    j0 += count;
  }
  return y;
}

TEST_P(CoreConformance, SplitBatchesAsDocumented) {
  if (promises().split == Split::kNone) {
    GTEST_SKIP() << GetParam().name << " promises nothing for split batches (see the maker table)";
  }
  const int64_t n = 300;
  const std::vector<std::vector<int64_t>> splits =
      promises().split == Split::kAny ? std::vector<std::vector<int64_t>>{{1, 30, 97, 172}, {150, 150}, {299, 1}}
                                      : std::vector<std::vector<int64_t>>{{128, 128, 44}, {256, 44}, {128, 172}};
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const std::vector<int16_t> x = Vectors(c.layer, n, 5);
    const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
    const std::vector<int32_t> whole = Apply(*c.core, view, 13);
    for (const auto& parts : splits) {
      EXPECT_EQ(RunInParts(*c.core, view, parts, 13), whole) << "parts " << ::testing::PrintToString(parts);
    }
  }
}

// Layer-major calls (MvmContext::segments, sim/mvm_core.h): one call carrying several items, each with
// its own stream, gives exactly what one call per item gives — every core, whatever its split promise.
TEST_P(CoreConformance, SegmentedCallsEqualOneCallPerSegment) {
  const std::vector<int64_t> sizes = {64, 1, 130, 17, 64};
  int64_t n = 0;
  for (int64_t s : sizes) n += s;
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const std::vector<int16_t> x = Vectors(c.layer, n, 8);
    const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
    std::vector<int32_t> separate(static_cast<size_t>(c.core->Outputs() * n), kSentinel);
    std::vector<Rng> streams;
    for (size_t i = 0; i < sizes.size(); ++i) streams.emplace_back(Rng(31).Derive(i));
    std::vector<MvmSegment> segments;
    int64_t first = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      Rng rng = Rng(31).Derive(i);
      MvmContext one{&rng, nullptr, static_cast<int64_t>(i)};
      c.core->Multiply(view.Columns(first, sizes[i]), separate.data() + first, n, one);
      segments.push_back({first, sizes[i], &streams[i], static_cast<int64_t>(i)});
      first += sizes[i];
    }
    std::vector<int32_t> together(separate.size(), kSentinel);
    MvmContext ctx;
    ctx.segments = segments;
    c.core->Multiply(view, together.data(), n, ctx);
    EXPECT_EQ(together, separate);
  }
}

TEST_P(CoreConformance, ConcurrentCallsEqualSequentialOnes) {
  const int64_t n = 129;
  const int rounds = 3;
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const std::vector<int16_t> x = Vectors(c.layer, n, 6);
    const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
    const std::vector<int32_t> a = Apply(*c.core, view, 21), b = Apply(*c.core, view, 22);
    std::vector<std::vector<int32_t>> from_a(rounds), from_b(rounds);
    std::thread ta([&] { for (auto& y : from_a) y = Apply(*c.core, view, 21); });
    std::thread tb([&] { for (auto& y : from_b) y = Apply(*c.core, view, 22); });
    ta.join();
    tb.join();
    for (int r = 0; r < rounds; ++r) {
      EXPECT_EQ(from_a[static_cast<size_t>(r)], a) << "thread a, round " << r;
      EXPECT_EQ(from_b[static_cast<size_t>(r)], b) << "thread b, round " << r;
    }
  }
}

TEST_P(CoreConformance, BadCallsThrowInvalidArgument) {
  const int64_t n = 5;
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const std::vector<int16_t> x = Vectors(c.layer, n + 1, 8);   // room for a view of depth K + 1
    const int64_t K = c.layer.K;
    std::vector<int32_t> y(static_cast<size_t>(c.layer.N * n), kSentinel);
    Rng rng(1);
    MvmContext ctx{&rng, nullptr, -1};
    EXPECT_THROW(c.core->Multiply(InputCodes::VectorMajor(x.data(), K - 1, n), y.data(), n, ctx), std::invalid_argument)
        << "x.K = K - 1";
    EXPECT_THROW(c.core->Multiply(InputCodes::VectorMajor(x.data(), K + 1, n), y.data(), n, ctx), std::invalid_argument)
        << "x.K = K + 1";
    EXPECT_THROW(c.core->Multiply(InputCodes::VectorMajor(x.data(), K, n), y.data(), n - 1, ctx), std::invalid_argument)
        << "ldy = n - 1";
    EXPECT_EQ(y, std::vector<int32_t>(y.size(), kSentinel)) << "a rejected call writes nothing";
  }
}

std::string MakerName(const ::testing::TestParamInfo<CoreMaker>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Makers, CoreConformance, ::testing::ValuesIn(CoreMakers()), MakerName);

}  // namespace
}  // namespace cimsim::conformance
