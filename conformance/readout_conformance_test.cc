// The readout part of the MvmCore conformance suite (core_conformance_test.cc has the rest and the
// instantiation over the maker table): what a core with Readout() (sim/column_readout.h) promises.
//
//   8. Geometry().outputs = N; Columns() = the number of corrections, ADC lsb and ADC ranges; WithReadout
//      with identity corrections gives the core's own y (same stream); gain 2 on every column doubles y
//      (bound below); wrong sizes or non-finite values throw std::invalid_argument; ADC ranges given to a
//      core whose ranges are fixed throw std::logic_error (settable ranges: the current ones change
//      nothing); the original core is unchanged by WithReadout.
//   9. A TraceSink sees every read exactly once: n · sign_passes · input_slices · tile_rows ·
//      weight_slices · N reads, one per (vector, pass, input slice, readout column), and tracing does not
//      change y. A core without Readout() reports no reads.
//
// The gain-2 bound. The correction acts after the ADC, corrected = fma(gain, code·lsb, offset)
// (sim/read_column.h, docs/external_core.md), so the same stream gives the same codes and, for gain 2 and
// offset 0, exactly twice each corrected value; y = round_half_away(acc) where acc sums ±2^(s·c + t·b)·
// corrected, and doubling commutes with every rounded addition of that sum, so acc₂ = 2·acc exactly. Then
//     |y₂ − 2y| = |round(2·acc) − 2·round(acc)| <= |round(2·acc) − 2·acc| + 2·|acc − round(acc)| <= 1.5,
// hence <= 1 for integers; an exact core's acc is an integer, so y₂ = 2y. The offset mapping subtracts
// w_max·Σ_k x[k, j] from acc digitally after the corrections (sim/crossbar_core.h), so there y₂ − 2y
// obeys the same bound around + w_max·Σ_k x[k, j].
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "conformance/conformance_fixture.h"
#include "sim/column_readout.h"

namespace cimsim::conformance {
namespace {

// w_max·Σ_k x[k, j] of vector j of a vector-major batch: the offset mapping's digital term.
int64_t OffsetTerm(const Layer& l, const std::vector<int16_t>& x, int64_t j) {
  int64_t sum = 0;
  for (int64_t k = 0; k < l.K; ++k) sum += x[static_cast<size_t>(j * l.K + k)];
  return ((int64_t{1} << (l.weight_bits - 1)) - 1) * sum;
}

// Whether fn throws a std::logic_error that is not a std::invalid_argument (a logic_error too).
bool ThrowsLogicErrorProper(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument&) {
    return false;
  } catch (const std::logic_error&) {
    return true;
  }
  return false;
}

TEST_P(CoreConformance, ReadoutRescalesAndLeavesTheCoreUnchanged) {
  const int64_t n = 129;
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const ColumnReadout* r = c.core->Readout();
    if (!promises().readout) {
      EXPECT_EQ(r, nullptr);
      continue;
    }
    ASSERT_NE(r, nullptr);
    const ReadoutGeometry g = r->Geometry();
    const size_t columns = static_cast<size_t>(g.Columns());
    EXPECT_EQ(g.outputs, c.layer.N);
    EXPECT_GT(columns, 0u);
    EXPECT_EQ(r->Corrections().size(), columns);
    EXPECT_EQ(r->AdcLsb().size(), columns);
    EXPECT_EQ(r->AdcRanges().size(), columns);
    const std::vector<ColumnCorrection> corrections(r->Corrections().begin(), r->Corrections().end());
    const std::vector<double> lsb(r->AdcLsb().begin(), r->AdcLsb().end());

    const std::vector<int16_t> x = Vectors(c.layer, n, 12);
    const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
    const std::vector<int32_t> y = Apply(*c.core, view, 3);

    const auto identity = r->WithReadout({std::vector<ColumnCorrection>(columns), {}}, "conformance");
    EXPECT_EQ(identity->Outputs(), c.layer.N);
    EXPECT_EQ(identity->Depth(), c.layer.K);
    ASSERT_NE(identity->Readout(), nullptr);
    EXPECT_EQ(identity->Readout()->Geometry(), g);
    EXPECT_EQ(Apply(*identity, view, 3), y) << "identity corrections";

    const auto doubled =
        r->WithReadout({std::vector<ColumnCorrection>(columns, ColumnCorrection{2, 0}), {}}, "conformance");
    const std::vector<int32_t> y2 = Apply(*doubled, view, 3);
    int64_t beyond_bound = 0, inexact = 0;
    for (int64_t o = 0; o < c.layer.N; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        const size_t i = static_cast<size_t>(o * n + j);
        const int64_t term = promises().offset_mapping ? OffsetTerm(c.layer, x, j) : 0;
        const int64_t excess = int64_t{y2[i]} - 2 * int64_t{y[i]} - term;
        beyond_bound += std::llabs(excess) > 1;
        inexact += excess != 0;
      }
    }
    EXPECT_EQ(beyond_bound, 0) << "gain 2: |y2 - 2y| <= 1";
    if (promises().exact) {
      EXPECT_EQ(inexact, 0) << "gain 2 on an exact core: y2 = 2y";
    }

    for (size_t wrong : {columns - 1, columns + 1}) {
      EXPECT_THROW(r->WithReadout({std::vector<ColumnCorrection>(wrong), {}}, "conformance"), std::invalid_argument)
          << wrong << " corrections";
    }
    EXPECT_THROW(r->WithReadout({{}, {}}, "conformance"), std::invalid_argument);
    std::vector<ColumnCorrection> not_finite(columns);
    not_finite.back().offset = std::numeric_limits<double>::infinity();
    EXPECT_THROW(r->WithReadout({not_finite, {}}, "conformance"), std::invalid_argument);

    const std::vector<double> ranges(r->AdcRanges().begin(), r->AdcRanges().end());
    if (r->AdcRangesSettable()) {
      EXPECT_TRUE(r->AdcRangesFixedReason().empty());
      EXPECT_EQ(Apply(*r->WithReadout({corrections, ranges}, "conformance"), view, 3), y) << "the current ADC ranges";
      EXPECT_THROW(r->WithReadout({corrections, std::vector<double>(columns - 1, 1.0)}, "conformance"),
                   std::invalid_argument);
      EXPECT_THROW(r->WithReadout({corrections, std::vector<double>(columns, 0.0)}, "conformance"),
                   std::invalid_argument);
    } else {
      EXPECT_FALSE(r->AdcRangesFixedReason().empty());
      EXPECT_TRUE(ThrowsLogicErrorProper([&] { r->WithReadout({corrections, ranges}, "conformance"); }))
          << "ADC ranges on a core whose ranges are fixed: std::logic_error";
    }

    // The original: same corrections, lsb and y.
    EXPECT_EQ(std::vector<ColumnCorrection>(r->Corrections().begin(), r->Corrections().end()), corrections);
    EXPECT_EQ(std::vector<double>(r->AdcLsb().begin(), r->AdcLsb().end()), lsb);
    EXPECT_EQ(Apply(*c.core, view, 3), y) << "the original core after WithReadout";
  }
}

TEST_P(CoreConformance, TraceSeesEveryReadOnce) {
  const int64_t n = 5;
  for (const LayerCore& c : Cores()) {
    SCOPED_TRACE(c.layer.name);
    const std::vector<int16_t> x = Vectors(c.layer, n, 13);
    const InputCodes view = InputCodes::VectorMajor(x.data(), c.layer.K, n);
    const std::vector<int32_t> y = Apply(*c.core, view, 4);
    TraceRecorder trace;
    EXPECT_EQ(Apply(*c.core, view, 4, &trace), y) << "tracing does not change y";
    const ColumnReadout* r = c.core->Readout();
    if (r == nullptr) {
      EXPECT_TRUE(trace.reads.empty()) << "a core without Readout() reports no reads";
      continue;
    }
    const ReadoutGeometry g = r->Geometry();
    EXPECT_EQ(static_cast<int64_t>(trace.reads.size()),
              n * g.sign_passes * g.input_slices * g.tile_rows * g.weight_slices * c.layer.N);
    std::set<std::tuple<int64_t, int, int, int64_t>> seen;   // (vector, pass, input slice, readout column)
    int64_t outside = 0;
    for (const MvmRead& read : trace.reads) {
      outside += read.vector < 0 || read.vector >= n || read.sign_pass < 0 || read.sign_pass >= g.sign_passes ||
                 read.input_slice < 0 || read.input_slice >= g.input_slices || read.tile_row < 0 ||
                 read.tile_row >= g.tile_rows || read.weight_slice < 0 || read.weight_slice >= g.weight_slices ||
                 read.output < 0 || read.output >= g.outputs;
      const int64_t column = g.Index(read.tile_row, read.weight_slice, read.output);
      seen.insert({read.vector, read.sign_pass, read.input_slice, column});
    }
    EXPECT_EQ(outside, 0) << "reads outside the geometry";
    EXPECT_EQ(seen.size(), trace.reads.size()) << "a read reported twice";
  }
}

}  // namespace
}  // namespace cimsim::conformance
