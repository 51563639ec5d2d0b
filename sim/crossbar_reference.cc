// CrossbarCore::MultiplyReference — the slow, obvious oracle of the fast path (crossbar_core.h).
//
// Every column read is a loop over the tile's physical cells: the input slice x_t[k] of the read's
// pass, the two cells of the read (g+ and g−, or the offset cell and the reference cell) and the
// weight's digit, summed in plain double arithmetic in row order. The reads, their read-noise draws,
// the trace calls and the additions into each y[o, j] happen in the documented order, which is also
// the fast path's, so the two agree exactly (the grids make the column sums order-independent).
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/crossbar_core.h"
#include "sim/trace_sink.h"

namespace cimsim {

void CrossbarCore::MultiplyReference(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  CheckCall(x, ldy, ctx, "CrossbarCore::MultiplyReference");
  const int64_t n = x.n;
  std::vector<double> acc(static_cast<size_t>(N_ * n), 0.0);   // [N, n]

  for (int64_t j0 = 0; j0 < n; j0 += kVectorBlock) {
    const int64_t j1 = std::min(n, j0 + kVectorBlock);
    for (const Tile& tile : *tiles_) {
      for (int p = 0; p < passes_; ++p) {
        for (int t = 0; t < input_slices_; ++t) {
          for (int64_t j = j0; j < j1; ++j) {
            for (int sl = 0; sl < slices_; ++sl) {
              for (int64_t c = 0; c < tile.outs; ++c) {
                const int64_t o = tile.out0 + c;
                const int64_t plus = PlusColumn(sl, c, tile.outs), minus = MinusColumn(sl, c, tile.outs);
                double mean = 0, var = 0;
                int64_t ideal = 0;
                for (int64_t kl = 0; kl < tile.rows; ++kl) {
                  const int64_t k = tile.row0 + kl;
                  const int32_t xt = InputSlice(x(k, j), p, t);
                  mean += xt * (tile.g(kl, plus) - tile.g(kl, minus));
                  if (noisy_) var += static_cast<double>(xt) * xt * (tile.var(kl, plus) + tile.var(kl, minus));
                  ideal += xt * Digit(w_[static_cast<size_t>(o * K_ + k)], sl);
                }
                const double z = noisy_ ? ctx.rng->Normal() : 0.0;
                const size_t i = static_cast<size_t>(PeripheryIndex(tile.tile_row, sl, o));
                const ColumnCorrection& a = analog_[i];
                const double v = AnalogValue(mean, std::sqrt(var), z, noisy_, delta_g_, a.gain, a.offset);
                const double lsb = adc_lsb_[i];
                const double code = AdcCode(v, lsb);
                const double corrected = std::fma(corrections_[i].gain, code * lsb, corrections_[i].offset);
                acc[static_cast<size_t>(o * n + j)] += SignedScale(p, sl, t) * corrected;
                if (ctx.trace != nullptr) {
                  MvmRead r;
                  r.tile_row = tile.tile_row;
                  r.tile_col = tile.tile_col;
                  r.weight_slice = sl;
                  r.input_slice = t;
                  r.sign_pass = p;
                  r.output = o;
                  r.vector = j;
                  r.ideal = ideal;
                  r.analog = v;
                  r.code = static_cast<int32_t>(code);
                  r.lsb = lsb;
                  r.corrected = corrected;
                  ctx.trace->Record(r);
                }
              }
            }
          }
        }
      }
    }
  }

  for (int64_t j = 0; j < n; ++j) {
    int64_t x_sum = 0;   // the offset mapping's digital term is w_max·Σ_k x[k, j]
    if (params_.mapping == CrossbarMapping::kOffset) {
      for (int64_t k = 0; k < K_; ++k) x_sum += x(k, j);   // differential: 0
    }
    for (int64_t o = 0; o < N_; ++o) {
      y[o * ldy + j] = RoundSaturate(acc[static_cast<size_t>(o * n + j)] - static_cast<double>(w_max_ * x_sum));
    }
  }
}

}  // namespace cimsim
