#include "sim/crossbar_params.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/error.h"
#include "common/field_checker.h"
#include "sim/crossbar_fields.h"

namespace cimsim {
std::string_view ToString(CrossbarMapping mapping) {
  switch (mapping) {
    case CrossbarMapping::kDifferential: return "differential";
    case CrossbarMapping::kOffset: return "offset";
  }
  return "?";
}

std::string_view ToString(InputMode mode) {
  switch (mode) {
    case InputMode::kDac: return "dac";
    case InputMode::kBitSerial: return "bit_serial";
  }
  return "?";
}

std::string_view ToString(AdcRange range) {
  switch (range) {
    case AdcRange::kMax: return "max";
    case AdcRange::kFixed: return "fixed";
    case AdcRange::kCalibrated: return "calibrated";
  }
  return "?";
}

int RowCopies(const CrossbarParams& params, int64_t K) {
  if (!params.replicate_rows || K <= 0) return 1;
  const int64_t fit = params.rows_max / K;
  const int64_t cap = kMaxDevicesPerCell / params.devices_per_cell;
  return static_cast<int>(std::max<int64_t>(1, std::min(fit, cap)));
}

int WeightMagnitudeBits(CrossbarMapping mapping, int weight_bits) {
  return mapping == CrossbarMapping::kOffset ? weight_bits : weight_bits - 1;
}

int InputMagnitudeBits(int32_t x_min, int32_t x_max) {
  const uint32_t magnitude = static_cast<uint32_t>(std::max({int64_t{x_max}, -int64_t{x_min}, int64_t{1}}));
  return std::bit_width(magnitude);
}

void CrossbarParams::Validate(const std::string& where) const {
  ValidateFields(CrossbarFields(), *this, FieldChecker(where));   // every field is checked alone
}

void CrossbarParams::ValidateLayer(const std::string& where, int weight_bits, int32_t x_min, int32_t x_max) const {
  const FieldChecker c(where);
  const int magnitude_bits = WeightMagnitudeBits(mapping, weight_bits);
  const std::string layer = std::to_string(weight_bits) + "-bit weights with the " + std::string(ToString(mapping)) +
                            " mapping";
  if (slice_bits > magnitude_bits) {
    c.Fail("slice_bits", std::to_string(slice_bits) + " is larger than the " + std::to_string(magnitude_bits) +
                             " magnitude bits of " + layer + "; allowed 0.." + std::to_string(magnitude_bits));
  }
  const int cell_bits = slice_bits == 0 ? magnitude_bits : slice_bits;
  const int slices = (magnitude_bits + cell_bits - 1) / cell_bits;
  const int columns = mapping == CrossbarMapping::kDifferential ? 2 * slices : slices + 1;
  if (cols_max < columns) {
    c.Fail("cols_max", std::to_string(cols_max) + " columns cannot hold one output of " + layer + " in " +
                           std::to_string(slices) + " slice(s); allowed >= " + std::to_string(columns));
  }
  if (input.mode == InputMode::kDac) {
    const int input_bits = InputMagnitudeBits(x_min, x_max);
    if (input.dac_bits < input_bits) {
      c.Fail("input.dac_bits", std::to_string(input.dac_bits) + " bits cannot express input codes in [" +
                                   std::to_string(x_min) + ", " + std::to_string(x_max) + "] (" +
                                   std::to_string(input_bits) + " magnitude bits per pass); allowed " +
                                   std::to_string(input_bits) + ".." + std::to_string(kMaxInputBits));
    }
  }
}

}  // namespace cimsim
