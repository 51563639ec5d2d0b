// crossbar_params.h — the parameters of a simulated analog crossbar (CrossbarCore): plain structs, no maths.
//
// The model that uses them is sim/crossbar_core.h (and the headers it lists); the JSON form is
// experiments/crossbar_config_json.h; both are described in docs/crossbar.md. Integer units: an analog column value is expressed in units
// of one (input code step) × (one weight digit step), so an ideal column reads Σ_k x[k]·d[k] exactly.
//
//   rows_max, cols_max   tile size: a tile holds rows_max dot-product positions k (rows) × cols_max
//                        physical columns; 1..65536 each.
//   mapping              differential: a weight digit sits on a pair of cells g+ / g− in two physical
//                        columns; offset: one cell per digit holding u = w + w_max, plus one reference
//                        column per tile at g_min (the periphery subtracts w_max·Σ_k x_k digitally).
//   slice_bits           0 = one cell (pair) per weight; else bits per cell: the weight magnitude
//                        (differential: |w|, b_w − 1 bits; offset: u, b_w bits) is cut into
//                        S = ⌈bits / slice_bits⌉ digits; 0..16, and at most the magnitude bits of the
//                        layer (checked by ValidateLayer).
//   devices_per_cell     n devices in parallel form each cell (each g+ / g− of a digit, and the offset
//                        mapping's reference cell): all n programmed to the same device target, each
//                        with its own programming noise, drift exponent and read noise; the cell's
//                        conductance is their sum (sim/programmed_array.h). Independent errors average:
//                        the relative error of a cell falls as 1/√n, at n times the devices. 1..16.
//   full_range_slices    false: every weight slice's digit step is Δg = (g_max − g_0)/(2^c − 1), so a slice
//                        whose largest digit d_max(s) is below 2^c − 1 (the top slice when the magnitude
//                        bits are not a multiple of c: 8-bit weights in 4-bit cells keep digits 0..7 on
//                        the top slice) uses only d_max(s)/(2^c − 1) of the device's range. true: slice s
//                        steps Δg_s = (g_max − g_0)/d_max(s), every slice spans the whole range (a larger
//                        signal against the same programming and read errors); the column is read in
//                        integer units of its own Δg_s (sim/programmed_array.h).
//   replicate_rows       true: a layer of depth K that fits at least twice in a tile's rows (2K <= rows_max)
//                        is written r = RowCopies(params, K) = min(⌊rows_max/K⌋, ⌊16/n⌋) times down the
//                        same columns, copy j on rows [j·K, (j+1)·K), every copy driven by the same
//                        input; the column current sums the copies. Electrically that is r·n devices
//                        per cell (the same sum, the same independent draws), so the layout counts
//                        it so (CrossbarLayout::DevicesPerCell). It uses rows the tile has anyway (the
//                        stem's 27 rows fill 108 of 128): no tile, no column more. false: r = 1.
//   input.mode           dac: one read per vector, the code is the DAC level (dac_bits must cover the
//                        input magnitude bits); bit_serial: slice_bits input bits per read. Signed
//                        inputs take two passes (x = x⁺ − x⁻), either way.
//   input.dac_bits       1..16 (dac).       input.slice_bits   1..16 (bit_serial).
//   adc.bits             1..24, a signed ADC: codes −2^(B−1) .. 2^(B−1) − 1.
//   adc.range            max: full scale = the largest |value| a column can produce ideally, its lsb
//                        rounded up to a power of two; fixed: full scale = adc.fixed_range (> 0, integer
//                        units); calibrated: per column, set later by calibration (CrossbarCore::WithReadout).
//   read_time            seconds after programming (>= 0, finite) at which drift and read noise are
//                        evaluated.
//   read_noise           false turns the device's read noise off.
//   periphery            analog non-idealities of each column's readout (sense amplifier, integrator,
//                        ADC reference), drawn once per chip at programming and fixed afterwards:
//     .gain_sigma        relative σ of the column gain: gain = max(0, 1 + gain_sigma·z), z ~ N(0, 1); 0..0.5
//     .offset_sigma      σ of the column offset as a fraction of the column's nominal full scale R (the
//                        largest |value| an ideal column can produce, sim/crossbar_layout.h); 0..1
//                        The ADC sees gain·v + offset. Both 0 (the default): an ideal periphery, no draws.
//
// Validate(where) throws cimsim::InputError "<where>.<field>: <value> ...; allowed ...", the field
// spelled as in the JSON config ("adc.bits"), e.g. "xbar.json: crossbar.adc.bits: 40 is out of range;
// allowed 1..24". Fields of a mode that is not selected (dac_bits in bit_serial mode, fixed_range
// unless adc.range is fixed) are neither used nor validated. ValidateLayer adds the checks that need
// the layer: the weight bit width and the input code range.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cimsim {

constexpr int kMaxCrossbarTileSize = 65536;
constexpr int kMaxAdcBits = 24;
constexpr int kMaxInputBits = 16;
constexpr int kMaxDevicesPerCell = 16;

enum class CrossbarMapping { kDifferential, kOffset };
enum class InputMode { kDac, kBitSerial };
enum class AdcRange { kMax, kFixed, kCalibrated };

// Names as written in configs: "differential", "offset"; "dac", "bit_serial"; "max", "fixed", "calibrated".
std::string_view ToString(CrossbarMapping mapping);
std::string_view ToString(InputMode mode);
std::string_view ToString(AdcRange range);

struct InputParams {
  InputMode mode = InputMode::kBitSerial;
  int dac_bits = 8;        // dac: resolution of the input DAC, 1..16
  int slice_bits = 1;      // bit_serial: input bits per read, 1..16
  bool operator==(const InputParams&) const = default;
};

struct AdcParams {
  int bits = 8;                    // 1..24
  AdcRange range = AdcRange::kMax;
  double fixed_range = 0;          // fixed: full scale in integer units, > 0
  bool operator==(const AdcParams&) const = default;
};

struct PeripheryParams {
  double gain_sigma = 0;     // relative, 0..0.5
  double offset_sigma = 0;   // fraction of the column's nominal full scale, 0..1
  bool Ideal() const { return gain_sigma == 0 && offset_sigma == 0; }
  bool operator==(const PeripheryParams&) const = default;
};

struct CrossbarParams {
  int rows_max = 128, cols_max = 128;
  CrossbarMapping mapping = CrossbarMapping::kDifferential;
  int slice_bits = 0;
  int devices_per_cell = 1;
  bool replicate_rows = false;
  bool full_range_slices = false;
  InputParams input;
  AdcParams adc;
  double read_time = 0;            // s
  bool read_noise = true;
  PeripheryParams periphery;

  // Throws InputError naming "<where>.<field>", the value and the allowed range.
  void Validate(const std::string& where) const;
  // The checks that need the layer, for weights of weight_bits bits (2..16) and input codes in
  // [x_min, x_max]: slice_bits at most the weight magnitude bits, cols_max at least the physical columns
  // of one output (differential 2·S, offset S + 1), dac_bits at least the input magnitude bits
  // (InputMagnitudeBits). InputError as Validate.
  void ValidateLayer(const std::string& where, int weight_bits, int32_t x_min, int32_t x_max) const;
  bool operator==(const CrossbarParams&) const = default;
};

// r, the copies of a layer of depth K >= 1 down a tile's rows (replicate_rows above; 1 when it is false
// or 2K > rows_max): min(⌊rows_max/K⌋, ⌊kMaxDevicesPerCell/devices_per_cell⌋), at least 1.
int RowCopies(const CrossbarParams& params, int64_t K);

// Bits of the weight magnitude that is sliced: b_w − 1 (|w|, differential) or b_w (u = w + w_max, offset).
int WeightMagnitudeBits(CrossbarMapping mapping, int weight_bits);
// Bits of the largest input magnitude one pass applies: of max(x_max, −x_min) (at least 1), e.g. 8 for
// [0, 255], 7 for [−127, 127].
int InputMagnitudeBits(int32_t x_min, int32_t x_max);

}  // namespace cimsim
