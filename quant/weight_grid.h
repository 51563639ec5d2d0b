// weight_grid.h — which signed integer codes a b-bit weight may take.
//
//   kSymmetric (default): codes in [−(2^(b−1) − 1), 2^(b−1) − 1] — zero point 0, as many negative as
//                positive levels (2^b − 1 levels; at 2 bits the ternary {−1, 0, 1}). Every PTQ layer.
//   kFull:       codes in [−2^(b−1), 2^(b−1) − 1] — all 2^b levels of a b-bit two's-complement code,
//                LSQ's signed range Q_N = 2^(b−1), Q_P = 2^(b−1) − 1 (Esser et al., arXiv 1902.08153);
//                at 2 bits {−2, −1, 0, 1}. For LSQ layers of `cimsim qat` (quant/quant_plan.h).
//
// The MVM cores (sim/) take symmetric grids only. A full b-bit layer's codes lie in the symmetric
// (b+1)-bit grid, and that is the grid a core is given (CoreWeightBits): on a crossbar a magnitude
// of 2^(b−1) needs b magnitude bits, the digits of a (b+1)-bit symmetric weight; the integer engine's
// results do not depend on it (exact integer arithmetic). So a full layer needs b <= 7.
#pragma once

#include <cstdint>
#include <string_view>

namespace cimsim {

enum class WeightGrid { kSymmetric, kFull };

std::string_view ToString(WeightGrid grid);  // "symmetric", "full"

struct WeightCodeRange {
  int32_t min = 0, max = 0;        // codes in [min, max]
  int32_t MaxAbs() const { return -min > max ? -min : max; }
};

// bits in 2..8 (kFull: 2..7), else std::invalid_argument.
WeightCodeRange WeightCodes(int bits, WeightGrid grid);
// The symmetric grid width an MVM core is given for these codes: bits (kSymmetric) or bits + 1 (kFull).
int CoreWeightBits(int bits, WeightGrid grid);

}  // namespace cimsim
