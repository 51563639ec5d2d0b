// ExternalCore through scripts/chip_server.py: exactness against IdealCore (ideal device), noise
// determinism (noisy device), the readout capability, traces, and every injected fault.
#include "hil/external_core.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "common/test_support.h"
#include "hil/external_chip.h"
#include "hil/test_server.h"
#include "sim/ideal_core.h"
#include "sim/trace_sink.h"

namespace cimsim::hil {
namespace {

using cimsim::testing::HasPart;
using cimsim::testing::InputErrorOf;
using cimsim::testing::InvalidArgumentOf;
using test_server::CheckPython;
using test_server::ProcessGone;
using test_server::ServerCommand;

struct Layer {
  int64_t N, K;
  int weight_bits;
  CodeRange range;
};

std::vector<int16_t> RandomCodes(Rng& rng, int64_t count, int32_t lo, int32_t hi) {
  std::vector<int16_t> v(static_cast<size_t>(count));
  for (auto& c : v) c = static_cast<int16_t>(lo + static_cast<int32_t>(rng.Below(static_cast<uint64_t>(hi - lo + 1))));
  return v;
}

std::vector<int16_t> RandomWeights(Rng& rng, const Layer& l) {
  const int32_t w_max = (1 << (l.weight_bits - 1)) - 1;
  return RandomCodes(rng, l.N * l.K, -w_max, w_max);
}

ExternalChipParams Params(const std::vector<std::string>& args, const std::string& result = "reads",
                          double timeout_s = 10) {
  ExternalChipParams p;
  p.command = ServerCommand(args);
  p.result = result;
  p.timeout_s = timeout_s;
  return p;
}

std::vector<int32_t> Apply(const MvmCore& core, const std::vector<int16_t>& x, int64_t n, uint64_t seed,
                         TraceSink* trace = nullptr) {
  std::vector<int32_t> y(static_cast<size_t>(core.Outputs() * n));
  Rng rng(seed);
  MvmContext ctx{&rng, trace, -1};
  core.Multiply(InputCodes::VectorMajor(x.data(), core.Depth(), n), y.data(), n, ctx);
  return y;
}

std::vector<int32_t> Exact(const Layer& l, const std::vector<int16_t>& w, const std::vector<int16_t>& x, int64_t n) {
  IdealCore ideal(w, l.N, l.K, l.weight_bits, l.range.min, l.range.max);
  return Apply(ideal, x, n, 0);
}

class ExternalCoreTest : public ::testing::Test {
 protected:
  void SetUp() override { CheckPython(); }
};

// y of the ideal device equals IdealCore's for several shapes, input ranges, geometries, batch sizes
// (beyond the per-message batch) and both result kinds.
TEST_F(ExternalCoreTest, IdealDeviceMatchesIdealCoreExactly) {
  const std::vector<Layer> layers = {{5, 300, 8, {-127, 127}}, {16, 144, 8, {0, 255}}, {3, 1, 4, {0, 15}},
                                     {40, 200, 5, {-8, 7}}};
  const std::vector<std::vector<std::string>> geometries = {{}, {"--input-mode", "dac", "--rows-per-tile", "64"},
                                                            {"--input-slice-bits", "3", "--weight-slice-bits", "2"}};
  Rng rng(11);
  for (const auto& geometry : geometries) {
    for (const std::string result : {"reads", "results"}) {
      ExternalChipParams p = Params(geometry, result);
      p.max_vectors_per_message = 16;
      auto chip = ExternalChip::Open(p);
      for (const Layer& l : layers) {
        const std::vector<int16_t> w = RandomWeights(rng, l);
        auto core = chip->Program("layer", w, l.N, l.K, l.weight_bits, l.range);
        EXPECT_EQ(core->Name(), "external");
        EXPECT_EQ(core->InputRange(), l.range);
        for (int64_t n : {int64_t{1}, l.N, int64_t{37}}) {
          const std::vector<int16_t> x = RandomCodes(rng, l.K * n, l.range.min, l.range.max);
          EXPECT_EQ(Apply(*core, x, n, 5), Exact(l, w, x, n))
              << result << " N " << l.N << " K " << l.K << " n " << n << " geometry " << geometry.size();
        }
      }
    }
  }
}

TEST_F(ExternalCoreTest, StridedInputsAndLeadingDimension) {
  const Layer l{7, 50, 8, {-127, 127}};
  Rng rng(3);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  auto core = ExternalChip::Open(Params({}))->Program("fc", w, l.N, l.K, l.weight_bits, l.range);
  const int64_t n = 9, ldy = 12;
  const std::vector<int16_t> x = RandomCodes(rng, l.K * n, -127, 127);   // vector-major [K, n]
  std::vector<int16_t> rows(static_cast<size_t>(l.K * n));              // the same codes row-major
  for (int64_t k = 0; k < l.K; ++k)
    for (int64_t j = 0; j < n; ++j) rows[static_cast<size_t>(k * n + j)] = x[static_cast<size_t>(j * l.K + k)];
  std::vector<int32_t> y(static_cast<size_t>(l.N * ldy), -999);
  Rng stream(1);
  MvmContext ctx{&stream, nullptr, -1};
  core->Multiply(InputCodes::RowMajor(rows.data(), l.K, n), y.data(), ldy, ctx);
  const std::vector<int32_t> exact = Exact(l, w, x, n);
  for (int64_t o = 0; o < l.N; ++o) {
    for (int64_t j = 0; j < ldy; ++j) {
      EXPECT_EQ(y[static_cast<size_t>(o * ldy + j)], j < n ? exact[static_cast<size_t>(o * n + j)] : -999);
    }
  }
  EXPECT_THROW(core->Multiply(InputCodes::RowMajor(rows.data(), l.K - 1, n), y.data(), ldy, ctx),
               std::invalid_argument);
  EXPECT_THROW(core->Multiply(InputCodes::RowMajor(rows.data(), l.K, n), y.data(), n - 1, ctx), std::invalid_argument);
  MvmContext no_rng;
  EXPECT_THROW(core->Multiply(InputCodes::RowMajor(rows.data(), l.K, n), y.data(), ldy, no_rng), std::invalid_argument);
}

TEST_F(ExternalCoreTest, NoisyDeviceIsDeterministicPerStream) {
  const Layer l{8, 256, 8, {0, 255}};
  Rng rng(5);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  const int64_t n = 20;
  const std::vector<int16_t> x = RandomCodes(rng, l.K * n, 0, 255);
  for (const std::string result : {"reads", "results"}) {
    auto chip = ExternalChip::Open(Params({"--device", "noisy", "--adc-bits", "12"}, result));
    auto core = chip->Program("conv", w, l.N, l.K, l.weight_bits, l.range);
    const std::vector<int32_t> a = Apply(*core, x, n, 42), b = Apply(*core, x, n, 42), c = Apply(*core, x, n, 43);
    EXPECT_EQ(a, b) << result;
    EXPECT_NE(a, c) << result;
    // Noisy but close (12-bit ADC, programming noise 2 % of a digit range, read noise 0.2 % of full scale): a small relative error.
    const std::vector<int32_t> exact = Exact(l, w, x, n);
    double err = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      err += std::pow(a[i] - exact[i], 2);
      ref += std::pow(double(exact[i]), 2);
    }
    EXPECT_NE(a, exact) << result;
    EXPECT_LT(std::sqrt(err / ref), 0.1) << result;
  }
}

TEST_F(ExternalCoreTest, ConcurrentCallsGiveTheSameNumbersAsSequentialOnes) {
  const Layer l{8, 200, 8, {0, 255}};
  Rng rng(6);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  auto core = ExternalChip::Open(Params({"--device", "noisy"}))->Program("conv", w, l.N, l.K, l.weight_bits, l.range);
  const int64_t n = 10;
  const std::vector<int16_t> x = RandomCodes(rng, l.K * n, 0, 255);
  std::vector<std::vector<int32_t>> sequential, parallel(4);
  for (uint64_t s = 0; s < 4; ++s) sequential.push_back(Apply(*core, x, n, s));
  std::vector<std::thread> threads;
  for (uint64_t s = 0; s < 4; ++s) threads.emplace_back([&, s] { parallel[s] = Apply(*core, x, n, s); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(parallel, sequential);
}

TEST_F(ExternalCoreTest, ReadoutGeometryAndCorrections) {
  const Layer l{6, 300, 8, {0, 255}};
  Rng rng(8);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  auto chip = ExternalChip::Open(Params({}));
  auto core = chip->Program("layer1.0.conv2", w, l.N, l.K, l.weight_bits, l.range);
  const ColumnReadout* r = core->Readout();
  ASSERT_NE(r, nullptr);
  // 128-row tiles, 7 magnitude bits in 4-bit slices, 8 one-bit input slices, one pass.
  EXPECT_EQ(r->Geometry(), (ReadoutGeometry{3, 2, 6, 8, 1}));
  const size_t columns = 3 * 2 * 6;
  ASSERT_EQ(r->AdcLsb().size(), columns);
  ASSERT_EQ(r->AdcRanges().size(), columns);
  ASSERT_EQ(r->Corrections().size(), columns);
  EXPECT_GE(r->AdcBits(), 12);   // 128 rows · 1 · 15 needs 12 signed bits
  for (size_t i = 0; i < columns; ++i) {
    EXPECT_EQ(r->AdcLsb()[i], 1.0);
    EXPECT_EQ(r->AdcRanges()[i], std::ldexp(1.0, r->AdcBits() - 1));
    EXPECT_EQ(r->Corrections()[i], ColumnCorrection{});
  }
  EXPECT_FALSE(r->AdcRangesSettable());
  EXPECT_EQ(r->AdcRangesFixedReason(), "the external chip sets its own ADC ranges");

  const int64_t n = 5;
  const std::vector<int16_t> x = RandomCodes(rng, l.K * n, 0, 255);
  const std::vector<int32_t> y = Apply(*core, x, n, 1);

  // Gain 2 everywhere doubles y (the ideal device's codes are exact integers).
  ReadoutSettings gain2{std::vector<ColumnCorrection>(columns, ColumnCorrection{2, 0}), {}};
  auto doubled = r->WithReadout(gain2, "calibration");
  ASSERT_NE(doubled->Readout(), nullptr);
  EXPECT_EQ(doubled->Readout()->Corrections()[0], (ColumnCorrection{2, 0}));
  const std::vector<int32_t> y2 = Apply(*doubled, x, n, 1);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y2[i], 2 * y[i]);

  // Offset 1 on column (tile row 1, slice 0, output 4): + Σ_t 2^t = 255 on output 4 of every vector.
  ReadoutSettings offset{std::vector<ColumnCorrection>(columns), {}};
  offset.corrections[static_cast<size_t>(r->Geometry().Index(1, 0, 4))].offset = 1;
  const std::vector<int32_t> y3 = Apply(*r->WithReadout(offset, "calibration"), x, n, 1);
  for (int64_t o = 0; o < l.N; ++o)
    for (int64_t j = 0; j < n; ++j) {
      const size_t i = static_cast<size_t>(o * n + j);
      EXPECT_EQ(y3[i], y[i] + (o == 4 ? 255 : 0));
    }

  // The original is unchanged; wrong settings name the problem.
  EXPECT_EQ(Apply(*core, x, n, 1), y);
  EXPECT_TRUE(HasPart(cimsim::testing::MessageOf<std::logic_error>(
                          [&] { r->WithReadout({gain2.corrections, std::vector<double>(columns, 10.0)}, "cal"); },
                          "std::logic_error"),
                      "cal: layer layer1.0.conv2: ADC ranges cannot be set: the external chip sets its own ADC ranges"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { r->WithReadout({std::vector<ColumnCorrection>(3), {}}, "cal"); }),
                      "cal: layer layer1.0.conv2: 3 corrections; the layer has 36 readout columns"));
  EXPECT_TRUE(HasPart(
      InvalidArgumentOf([&] { r->WithReadout({std::vector<ColumnCorrection>(columns, {NAN, 0}), {}}, "cal"); }),
      "correction 0 is not finite"));

  auto results = ExternalChip::Open(Params({}, "results"))->Program("fc", w, l.N, l.K, l.weight_bits, l.range);
  EXPECT_EQ(results->Readout(), nullptr);
}

// The traced reads reproduce y through the documented formula; for the ideal device each code is the
// host's ideal column sum.
TEST_F(ExternalCoreTest, TracedReadsReproduceY) {
  const Layer l{5, 140, 6, {-31, 31}};
  Rng rng(9);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  const int64_t n = 3;
  const std::vector<int16_t> x = RandomCodes(rng, l.K * n, -31, 31);
  for (const std::string device : {"ideal", "noisy"}) {
    auto core = ExternalChip::Open(Params({"--device", device, "--weight-slice-bits", "2", "--input-slice-bits", "2"}))
                    ->Program("conv", w, l.N, l.K, l.weight_bits, l.range);
    const ReadoutGeometry g = core->Readout()->Geometry();
    EXPECT_EQ(g, (ReadoutGeometry{2, 3, 5, 3, 2}));   // 5 magnitude bits / 2; 5 input bits / 2; signed
    TraceRecorder trace;
    const std::vector<int32_t> y = Apply(*core, x, n, 77, &trace);
    ASSERT_EQ(static_cast<int64_t>(trace.reads.size()), n * g.sign_passes * g.input_slices * g.Columns());
    std::vector<double> acc(static_cast<size_t>(l.N * n), 0.0);
    int64_t differing = 0;
    for (const MvmRead& r : trace.reads) {
      EXPECT_EQ(r.tile_col, 0);
      EXPECT_EQ(r.analog, r.code * r.lsb);
      EXPECT_EQ(r.corrected, r.analog);
      acc[static_cast<size_t>(r.output * n + r.vector)] +=
          std::ldexp(r.sign_pass ? -1.0 : 1.0, 2 * r.weight_slice + 2 * r.input_slice) * r.corrected;
      if (device == "ideal") {
        EXPECT_EQ(r.code, r.ideal);
      }
      differing += r.code * r.lsb != static_cast<double>(r.ideal);
    }
    for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], static_cast<int32_t>(std::round(acc[i]))) << device;
    if (device == "ideal") {
      EXPECT_EQ(y, Exact(l, w, x, n));
    } else {
      EXPECT_GT(differing, 0);
    }
  }
}

// Each fault the server can inject at MULTIPLY becomes an InputError naming the server, the layer,
// the command and the problem, in time; the server process is gone afterwards.
TEST_F(ExternalCoreTest, FaultsAtMultiplyBecomeInputErrors) {
  struct Case {
    const char* fault;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"crash", "the server closed the connection before a frame header; the server exited with status 3"},
      {"stall", "no reply within the timeout of 2 s"},
      {"short", "(a short frame); the server exited with status 0"},
      {"version", "protocol version 99"},
      {"count", "the server sent 3360 values, expected 6720"},
      {"garbage", "bad frame magic"},
      {"error", "the server reported: injected fault"},
      {"huge", "exceeds the limit of"},
      {"type", "the server replied type 77, expected READS"},
  };
  const Layer l{4, 200, 8, {-127, 127}};
  Rng rng(10);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  const int64_t n = 30;   // 30 vectors · 2 passes · 7 input slices · (2 tile rows · 2 slices · 4 outputs) = 6720 reads
  const std::vector<int16_t> x = RandomCodes(rng, l.K * n, -127, 127);
  for (const Case& c : cases) {
    ExternalChipParams p = Params({"--fault", c.fault, "--fault-on", "multiply"}, "reads", 2);
    pid_t pid = -1;
    {
      auto chip = ExternalChip::Open(p);
      pid = chip->ServerPid();
      auto core = chip->Program("layer2.0.conv1", w, l.N, l.K, l.weight_bits, l.range);
      chip.reset();   // the core keeps the session
      const auto t0 = std::chrono::steady_clock::now();
      const std::string e = InputErrorOf([&] { Apply(*core, x, n, 1); });
      EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 4.0) << c.fault;
      EXPECT_TRUE(HasPart(e, "external chip \"" + p.Label().substr(15)));
      EXPECT_TRUE(HasPart(e, "\": layer layer2.0.conv1: MULTIPLY: "));
      EXPECT_TRUE(HasPart(e, c.problem));
      if (std::string(c.fault) == "error") {
        EXPECT_EQ(Apply(*core, x, n, 1), Exact(l, w, x, n));   // an ERROR reply leaves the session usable
      } else {
        EXPECT_EQ(InputErrorOf([&] { Apply(*core, x, n, 1); }), e);   // later calls repeat the first failure
      }
    }
    EXPECT_TRUE(ProcessGone(pid)) << c.fault;
  }
}

TEST_F(ExternalCoreTest, FaultsAtHelloAndProgram) {
  EXPECT_TRUE(HasPart(InputErrorOf([] { ExternalChip::Open(Params({"--fault", "crash", "--fault-on", "hello"})); }),
             "\": HELLO: the server closed the connection before a frame header; the server exited with status 3"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { ExternalChip::Open(Params({"--capabilities", "results"})); }),
             "HELLO: the device \"chip_server.py ideal device\" offers [\"results\"], not \"reads\" (external.result)"));
  ExternalChipParams bad_option = Params({});
  bad_option.options = {{"no_such_option", 1}};
  EXPECT_TRUE(HasPart(InputErrorOf([&] { ExternalChip::Open(bad_option); }),
             "HELLO: the server reported: ValueError: unknown option \"no_such_option\""));
  ExternalChipParams nothing;
  nothing.command = {"/nonexistent/chip"};
  EXPECT_TRUE(HasPart(InputErrorOf([&] { ExternalChip::Open(nothing); }),
             "external chip \"/nonexistent/chip\": cannot start \"/nonexistent/chip\""));

  const Layer l{4, 20, 8, {0, 255}};
  Rng rng(12);
  const std::vector<int16_t> w = RandomWeights(rng, l);
  auto chip = ExternalChip::Open(Params({"--fault", "count", "--fault-on", "program"}));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { chip->Program("conv1", w, l.N, l.K, l.weight_bits, l.range); }),
             "layer conv1: PROGRAM: the server sent 4 values, expected 8"));
  auto liar = ExternalChip::Open(Params({"--fault", "geometry", "--fault-on", "program"}));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { liar->Program("conv1", w, l.N, l.K, l.weight_bits, l.range); }),
                      "layer conv1: PROGRAM: the server reports weight_slices 3; a 8-bit weight in 4-bit slices needs 2"));
  // The options reach the server: a DAC geometry through HELLO options instead of argv.
  ExternalChipParams dac = Params({});
  dac.options = {{"input_mode", "dac"}};
  auto core = ExternalChip::Open(dac)->Program("conv1", w, l.N, l.K, l.weight_bits, l.range);
  EXPECT_EQ(core->Readout()->Geometry().input_slices, 1);
}

TEST_F(ExternalCoreTest, ParamsValidateNamesTheField) {
  ExternalChipParams p;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("chip.json: external"); }),
             "chip.json: external.command: neither command nor socket_path is set"));
  p.command = {"python3"};
  p.socket_path = "/tmp/x.sock";
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("e"); }), "e.socket_path: both command and socket_path are set"));
  p.socket_path.clear();
  p.timeout_s = 0;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("e"); }), "e.timeout_s: 0 is out of range; allowed > 0"));
  p.timeout_s = 1;
  p.result = "codes";
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("e"); }), "e.result: \"codes\" is not a result kind"));
  p.result = "results";
  p.options = 3;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("e"); }), "e.options: 3 is not a JSON object"));
  p.options = nlohmann::json::object();
  p.max_vectors_per_message = 0;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("e"); }), "e.max_vectors_per_message: 0 is out of range"));
  p.max_vectors_per_message = 1;
  p.Validate("e");
  EXPECT_EQ(p.Label(), "external chip \"python3\"");
}

}  // namespace
}  // namespace cimsim::hil
