// The maker table of the conformance suite (core_makers.h): IdealCore, four CrossbarCore settings and
// three ExternalCores on the reference chip server (scripts/chip_server.py).
#include "conformance/core_makers.h"

#include <algorithm>

#include "common/rng.h"
#include "devices/device_model.h"
#include "devices/device_presets.h"
#include "hil/external_chip.h"
#include "hil/test_server.h"
#include "sim/crossbar_core.h"
#include "sim/ideal_core.h"

namespace cimsim::conformance {

std::vector<Layer> Layers() {
  return {
      {"n10_k40_w8_s127", 10, 40, 8, {-127, 127}},
      {"n11_k37_w8_u255", 11, 37, 8, {0, 255}},
      {"n11_k37_w4_u15", 11, 37, 4, {0, 15}},
      {"n10_k40_w4_s127", 10, 40, 4, {-127, 127}},
      {"n64_k576_w8_u255", 64, 576, 8, {0, 255}},
      {"n64_k576_w4_s127", 64, 576, 4, {-127, 127}},
  };
}

namespace {

// ---- crossbar settings ----

// Weight digits of 4 bits, or of the whole magnitude when it has fewer (4-bit weights: 3 bits).
int SliceBits(int weight_bits) { return std::min(4, weight_bits - 1); }

// Ideal device, differential, bit-serial 1-bit inputs, 16-bit ADC: a column sums at most
// 128 rows · 1 · 15 = 1920 per read, so the ADC's lsb is 1 and every read is exact.
CrossbarParams BitSerialExact(int weight_bits) {
  CrossbarParams p;
  p.slice_bits = SliceBits(weight_bits);
  p.input = {InputMode::kBitSerial, 8, 1};
  p.adc.bits = 16;
  return p;
}

// Ideal device, offset mapping (one cell per weight), 8-bit DAC inputs, 24-bit ADC on 64-row tiles:
// full scale 64 · 255 · 254 < 2^23 − 1, so lsb 1 (experiments/real_data_test.cc).
CrossbarParams DacOffsetExact(int /*weight_bits*/) {
  CrossbarParams p;
  p.rows_max = 64;
  p.mapping = CrossbarMapping::kOffset;
  p.slice_bits = 0;
  p.input = {InputMode::kDac, 8, 1};
  p.adc.bits = 24;
  return p;
}

// 16 × 8 tiles (N, K not multiples): many tile rows and columns, 2-bit input slices, still exact
// (16 rows · 3 · 15 per read).
CrossbarParams SmallTilesExact(int weight_bits) {
  CrossbarParams p = BitSerialExact(weight_bits);
  p.rows_max = 16;
  p.cols_max = 8;
  p.input.slice_bits = 2;
  return p;
}

// PCM (programming and read noise, drift to one hour), 8-bit ADC with calibratable ranges.
CrossbarParams PcmNoisy(int weight_bits) {
  CrossbarParams p = BitSerialExact(weight_bits);
  p.adc.bits = 8;
  p.adc.range = AdcRange::kCalibrated;
  p.read_time = 3600;
  return p;
}

std::function<CoreBuilder()> Crossbar(const std::string& device, CrossbarParams (*params)(int weight_bits)) {
  return [device, params] {
    return CoreBuilder([model = DeviceModel(DevicePreset(device)), params](
                           const Layer& l, std::span<const int16_t> w, uint64_t seed) -> std::unique_ptr<MvmCore> {
      Rng rng(seed);
      return std::make_unique<CrossbarCore>(w, l.N, l.K, l.weight_bits, l.range.min, l.range.max, model,
                                            params(l.weight_bits), rng);
    });
  };
}

// ---- external chips ----

// One server session for the test; every layer is programmed on it. The build seed is unused: the
// server's programming noise has its own seed (--program-seed).
std::function<CoreBuilder()> External(const std::string& result, const std::vector<std::string>& args) {
  return [result, args] {
    hil::test_server::CheckPython();
    hil::ExternalChipParams p;
    p.command = hil::test_server::ServerCommand(args);
    p.result = result;
    p.timeout_s = 20;
    p.max_vectors_per_message = 100;   // batches of 129 and 300 take several messages
    std::shared_ptr<hil::ExternalChip> chip = hil::ExternalChip::Open(p, "conformance");
    return CoreBuilder([chip](const Layer& l, std::span<const int16_t> w, uint64_t /*seed*/) {
      return chip->Program(l.name, w, l.N, l.K, l.weight_bits, l.range);
    });
  };
}

}  // namespace

std::vector<CoreMaker> CoreMakers() {
  // {exact, noisy, readout, needs_rng, split, offset_mapping}
  return {
      {"ideal", {true, false, false, false, Split::kAny, false},
       [] {
         return CoreBuilder([](const Layer& l, std::span<const int16_t> w, uint64_t) -> std::unique_ptr<MvmCore> {
           return std::make_unique<IdealCore>(w, l.N, l.K, l.weight_bits, l.range.min, l.range.max);
         });
       }},
      {"crossbar_bitserial_exact", {true, false, true, false, Split::kAny, false},
       Crossbar("ideal", BitSerialExact)},
      {"crossbar_dac_offset_exact", {true, false, true, false, Split::kAny, true},
       Crossbar("ideal", DacOffsetExact)},
      {"crossbar_small_tiles_exact", {true, false, true, false, Split::kAny, false},
       Crossbar("ideal", SmallTilesExact)},
      {"crossbar_pcm_noisy", {false, true, true, true, Split::kBlocksOf128, false}, Crossbar("pcm", PcmNoisy)},
      // ExternalCore needs ctx.rng even on the ideal device (hil/external_core.h: one NextU64 per call
      // seeds the chip, which may draw noise the host cannot know about): needs_rng although not noisy.
      {"external_results_ideal", {true, false, false, true, Split::kAny, false}, External("results", {})},
      {"external_reads_ideal", {true, false, true, true, Split::kAny, false}, External("reads", {})},
      // The noisy chip seeds each call from one NextU64 of the stream (hil/external_core.h), so a split
      // batch draws other numbers than one call: no splitting promise.
      {"external_reads_noisy", {false, true, true, true, Split::kNone, false},
       External("reads", {"--device", "noisy", "--adc-bits", "12"})},
  };
}

}  // namespace cimsim::conformance
