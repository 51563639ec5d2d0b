#include "quant/weight_grid.h"

#include <stdexcept>
#include <string>

namespace cimsim {

std::string_view ToString(WeightGrid grid) {
  switch (grid) {
    case WeightGrid::kSymmetric: return "symmetric";
    case WeightGrid::kFull: return "full";
  }
  return "?";
}

WeightCodeRange WeightCodes(int bits, WeightGrid grid) {
  const int top_bits = grid == WeightGrid::kFull ? 7 : 8;
  if (bits < 2 || bits > top_bits)
    throw std::invalid_argument("WeightCodes: bits = " + std::to_string(bits) + " with the " + std::string(ToString(grid)) +
                                " grid; allowed 2.." + std::to_string(top_bits));
  const int32_t half = int32_t{1} << (bits - 1);
  return {grid == WeightGrid::kFull ? -half : -(half - 1), half - 1};
}

int CoreWeightBits(int bits, WeightGrid grid) {
  (void)WeightCodes(bits, grid);
  return grid == WeightGrid::kFull ? bits + 1 : bits;
}

}  // namespace cimsim
