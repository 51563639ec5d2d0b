#include "sim/crossbar_fields.h"

#include "common/field_builders.h"

namespace cimsim {

std::vector<Field<CrossbarParams>> CrossbarFields() {
  using P = CrossbarParams;
  const std::string mode = "input.mode", range = "adc.range";
  return {
      IntField<P>("rows_max", [](auto& p) -> auto& { return p.rows_max; }, IntRange(1, kMaxCrossbarTileSize), "rows",
                  "tile size: dot-product positions per tile"),
      IntField<P>("cols_max", [](auto& p) -> auto& { return p.cols_max; }, IntRange(1, kMaxCrossbarTileSize),
                  "columns", "tile size: physical columns per tile"),
      ChoiceField<P>("mapping", [](auto& p) -> auto& { return p.mapping; }, EnumNames<CrossbarMapping>(2), "a mapping",
                     "weight → cells: a g+ / g− pair, or one cell plus a reference column per tile"),
      IntField<P>("slice_bits", [](auto& p) -> auto& { return p.slice_bits; }, IntRange(0, kMaxInputBits), "bits",
                  "bits per cell, at most the layer's magnitude bits; 0 = one cell (pair) per weight"),
      IntField<P>("devices_per_cell", [](auto& p) -> auto& { return p.devices_per_cell; },
                  IntRange(1, kMaxDevicesPerCell), "devices",
                  "devices in parallel per cell, each programmed to the same target; the cell is their sum"),
      BoolField<P>("full_range_slices", [](auto& p) -> auto& { return p.full_range_slices; },
                   "true: slice s steps (g_max − g_min)/d_max(s), so a slice with fewer digits than its cell "
                   "holds (the top slice) still spans the device's whole range"),
      BoolField<P>("replicate_rows", [](auto& p) -> auto& { return p.replicate_rows; },
                   "true: a layer of depth K <= rows_max/2 is written min(rows_max/K, 16/devices_per_cell) times "
                   "down its columns, all copies on the same input (as that many devices per cell)"),
      ChoiceField<P>(mode, [](auto& p) -> auto& { return p.input.mode; }, EnumNames<InputMode>(2), "an input mode",
                     "one read per pass (DAC), or input slices (bit-serial)"),
      When(IntField<P>("input.dac_bits", [](auto& p) -> auto& { return p.input.dac_bits; }, IntRange(1, kMaxInputBits),
                       "bits", "DAC resolution, at least the input magnitude bits"),
           mode, {"dac"}, "\"mode\": "),
      When(IntField<P>("input.slice_bits", [](auto& p) -> auto& { return p.input.slice_bits; },
                       IntRange(1, kMaxInputBits), "bits", "input bits per read"),
           mode, {"bit_serial"}, "\"mode\": "),
      IntField<P>("adc.bits", [](auto& p) -> auto& { return p.adc.bits; }, IntRange(1, kMaxAdcBits), "bits",
                  "ADC resolution (signed)"),
      ChoiceField<P>(range, [](auto& p) -> auto& { return p.adc.range; }, EnumNames<AdcRange>(3), "an ADC range",
                     "how the full scale is set"),
      Required(When(NumberField<P>("adc.fixed_range", [](auto& p) -> auto& { return p.adc.fixed_range; },
                                   WithText(Above(0), "> 0 (integer units), finite"), "integer units",
                                   "the ADC's full scale"),
                    range, {"fixed"}),
               "the full scale in integer units"),
      NumberField<P>("read_time", [](auto& p) -> auto& { return p.read_time; },
                     WithText(Closed(0, 1e12), "0..1e12 seconds (30,000 years)"), "s",
                     "time after programming at which drift and read noise are evaluated"),
      BoolField<P>("read_noise", [](auto& p) -> auto& { return p.read_noise; }, "false turns the device's read noise off"),
      NumberField<P>("periphery.gain_sigma", [](auto& p) -> auto& { return p.periphery.gain_sigma; },
                     WithText(Closed(0, 0.5), "0..0.5 (relative)"), "relative",
                     "σ of each column's analog gain: gain = max(0, 1 + gain_sigma·z)"),
      NumberField<P>("periphery.offset_sigma", [](auto& p) -> auto& { return p.periphery.offset_sigma; },
                     WithText(Closed(0, 1), "0..1 (fraction of the column's full scale)"), "of R",
                     "σ of each column's analog offset, a fraction of its nominal full scale R"),
  };
}

}  // namespace cimsim
