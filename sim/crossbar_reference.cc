// CrossbarCore::MultiplyReference — the slow, obvious oracle of the fast path (crossbar_core.h).
//
// Every column read is a loop over the tile's physical cells (ProgrammedArray::Cells, rebuilt from the
// programming's draws): the input slice x_t[k] of the read's pass, the two cells of the read (g+ and
// g−, or the offset cell and the reference cell) and the weight's digit, summed in plain double
// arithmetic in row order; then ReadColumn (sim/read_column.h). The reads, their read-noise draws, the
// trace calls and the additions into each y[o, j] happen in the documented order, which is also the
// fast path's, so the two agree exactly (the grids make the column sums order-independent).
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/crossbar_core.h"
#include "sim/read_column.h"
#include "sim/trace_sink.h"

namespace cimsim {

void CrossbarCore::MultiplyReference(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  if (!ctx.segments.empty()) {
    ForEachSegment(x, y, ctx, [&](const InputCodes& xs, int32_t* ys, MvmContext& cs) { MultiplyReference(xs, ys, ldy, cs); });
    return;
  }
  CheckCall(x, ldy, ctx, "CrossbarCore::MultiplyReference");
  const CrossbarLayout& lay = layout();
  const int64_t N = lay.N(), K = lay.K(), n = x.n;
  const bool noisy = HasReadNoise();
  const std::span<const int16_t> w = array_->codes();
  const ReferenceCells cells = array_->Cells();
  std::vector<double> acc(static_cast<size_t>(N * n), 0.0);   // [N, n]

  for (int64_t j0 = 0; j0 < n; j0 += kVectorBlock) {
    const int64_t j1 = std::min(n, j0 + kVectorBlock);
    for (int64_t ti = 0; ti < lay.Tiles(); ++ti) {
      const TileSpan tile = lay.Tile(ti / lay.TileCols(), ti % lay.TileCols());
      const Eigen::ArrayXXd& g = cells.g[static_cast<size_t>(ti)];
      const Eigen::ArrayXXd* var = noisy ? &cells.var[static_cast<size_t>(ti)] : nullptr;
      for (int p = 0; p < lay.SignPasses(); ++p) {
        for (int t = 0; t < lay.InputSlices(); ++t) {
          for (int64_t j = j0; j < j1; ++j) {
            for (int sl = 0; sl < lay.WeightSlices(); ++sl) {
              for (int64_t c = 0; c < tile.outs; ++c) {
                const int64_t o = tile.out0 + c;
                const int64_t plus = lay.PlusColumn(sl, c, tile.outs), minus = lay.MinusColumn(sl, c, tile.outs);
                double mean = 0, v2 = 0;
                int64_t ideal = 0;
                for (int64_t kl = 0; kl < tile.rows; ++kl) {
                  const int64_t k = tile.row0 + kl;
                  const int32_t xt = lay.InputSlice(x(k, j), p, t);
                  mean += xt * (g(kl, plus) - g(kl, minus));
                  if (noisy) v2 += static_cast<double>(xt) * xt * ((*var)(kl, plus) + (*var)(kl, minus));
                  ideal += xt * lay.Digit(w[static_cast<size_t>(o * K + k)], sl);
                }
                const double z = noisy ? ctx.rng->Normal() : 0.0;
                const ColumnPeriphery col = readout_.Column(lay.PeripheryIndex(tile.tile_row, sl, o));
                const ColumnRead read = ReadColumn(mean, std::sqrt(v2), z, noisy, DeltaG(sl), col, readout_.CodeMin(),
                                                   readout_.CodeMax());
                acc[static_cast<size_t>(o * n + j)] += lay.SignedScale(p, sl, t) * read.corrected;
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
                  r.analog = read.analog;
                  r.code = static_cast<int32_t>(read.code);
                  r.lsb = col.lsb;
                  r.corrected = read.corrected;
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
    if (!lay.differential()) {
      for (int64_t k = 0; k < K; ++k) x_sum += x(k, j);   // differential: 0
    }
    for (int64_t o = 0; o < N; ++o) {
      y[o * ldy + j] = RoundSaturate(acc[static_cast<size_t>(o * n + j)] - static_cast<double>(lay.w_max() * x_sum));
    }
  }
}

}  // namespace cimsim
