// CrossbarCore: the composition of layout, programmed array, readout and column-sum engine, and the fast
// path's executor (blocks, tiles, passes, slices, reads). The reference path is crossbar_reference.cc;
// the maths is in the headers listed by crossbar_core.h.
#include "sim/crossbar_core.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/layer_codes.h"
#include "sim/read_column.h"
#include "sim/trace_sink.h"

namespace cimsim {
namespace {

// The layout of a layer, after the checks of the layer and of the parameters.
CrossbarLayout CheckedLayout(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
                             int32_t x_max, const CrossbarParams& params, const std::string& where) {
  CheckLayerCodes("CrossbarCore: ", codes, N, K, weight_bits, 16, x_min, x_max);
  params.Validate(where);
  params.ValidateLayer(where, weight_bits, x_min, x_max);
  return CrossbarLayout(N, K, weight_bits, x_min, x_max, params);
}

template <typename T>
void Grow(std::vector<T>& v, int64_t size) {
  if (v.size() < static_cast<size_t>(size)) v.resize(static_cast<size_t>(size));
}

// The reads of one slice of one vector without trace: acc[c] += scale·corrected, with read noise when
// sds (standard deviations) and z are non-null. Plain loops over ReadColumn that vectorize.
void AccumulateReads(const double* __restrict means, const double* __restrict sds, const double* __restrict z,
                     const double* __restrict lsb, const double* __restrict gain, const double* __restrict offset,
                     const double* __restrict analog_gain, const double* __restrict analog_offset,
                     double* __restrict acc, int64_t outs, double scale, double delta_g, double code_min,
                     double code_max) {
  if (z == nullptr) {
    for (int64_t c = 0; c < outs; ++c) {
      const ColumnPeriphery col{analog_gain[c], analog_offset[c], lsb[c], gain[c], offset[c]};
      acc[c] += scale * ReadColumn(means[c], 0.0, 0.0, false, delta_g, col, code_min, code_max).corrected;
    }
  } else {
    for (int64_t c = 0; c < outs; ++c) {
      const ColumnPeriphery col{analog_gain[c], analog_offset[c], lsb[c], gain[c], offset[c]};
      acc[c] += scale * ReadColumn(means[c], sds[c], z[c], true, delta_g, col, code_min, code_max).corrected;
    }
  }
}

// The reads of one slice of a vector whose input slice is zero on the tile's rows: every column sum is
// +0.0, so each read is the column's constant zero_read (see MultiplyBlock); acc[c] += scale·zero_read[c].
void AccumulateZeroReads(const double* __restrict zero_read, double* __restrict acc, int64_t outs, double scale) {
  for (int64_t c = 0; c < outs; ++c) acc[c] += scale * zero_read[c];
}

}  // namespace

CrossbarCore::CrossbarCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
                           int32_t x_max, const DeviceModel& device, const CrossbarParams& params, Rng& rng,
                           const std::string& where)
    : x_min_(x_min), x_max_(x_max), params_(params),
      array_(std::make_shared<const ProgrammedArray>(CheckedLayout(codes, N, K, weight_bits, x_min, x_max, params, where),
                                                     codes, device, params.read_time, params.read_noise, rng, where)),
      readout_(array_->layout(), params.adc, params.periphery, rng),
      engine_(array_) {}

CrossbarCore::~CrossbarCore() = default;

std::unique_ptr<CrossbarCore> CrossbarCore::Calibrated(const ReadoutSettings& settings, const std::string& where) const {
  CrossbarReadout readout = readout_.WithSettings(settings, where);
  std::unique_ptr<CrossbarCore> twin(new CrossbarCore(*this));
  twin->readout_ = std::move(readout);
  return twin;
}

std::unique_ptr<MvmCore> CrossbarCore::WithReadout(const ReadoutSettings& settings, const std::string& where) const {
  return Calibrated(settings, where);
}

std::unique_ptr<CrossbarCore> CrossbarCore::Aged(double read_time, const std::string& where) const {
  if (!std::isfinite(read_time) || read_time < 0)
    throw std::invalid_argument(where + (where.empty() ? "" : ": ") + "CrossbarCore::AtReadTime: the read time " +
                                std::to_string(read_time) + " s is not a finite number >= 0");
  std::unique_ptr<CrossbarCore> twin(new CrossbarCore(*this));
  twin->array_ = array_->AtReadTime(read_time);
  twin->engine_ = ColumnSumEngine(twin->array_);
  twin->params_.read_time = read_time;
  return twin;
}

std::unique_ptr<MvmCore> CrossbarCore::AtReadTime(double read_time, const std::string& where) const {
  return Aged(read_time, where);
}

void CrossbarCore::CheckCall(const InputCodes& x, int64_t ldy, const MvmContext& ctx, const char* what) const {
  if (x.K != Depth()) {
    throw std::invalid_argument(std::string(what) + ": x.K() = " + std::to_string(x.K) +
                                " but the core's depth is " + std::to_string(Depth()));
  }
  if (ldy < x.n) {
    throw std::invalid_argument(std::string(what) + ": ldy = " + std::to_string(ldy) + " < x.n() = " +
                                std::to_string(x.n));
  }
  if (HasReadNoise() && ctx.rng == nullptr) {
    throw std::invalid_argument(std::string(what) + ": the core has read noise but ctx.rng is null");
  }
}

// ---- the fast path ----

void CrossbarCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  const auto scratch = pool_.Take();
  Multiply(x, y, ldy, ctx, *scratch);
}

void CrossbarCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx,
                            CrossbarScratch& s) const {
  if (!ctx.segments.empty()) {   // one item at a time: each segment's reads draw from its own stream
    ForEachSegment(x, y, ctx, [&](const InputCodes& xs, int32_t* ys, MvmContext& cs) { Multiply(xs, ys, ldy, cs, s); });
    return;
  }
  CheckCall(x, ldy, ctx, "CrossbarCore::Multiply");
  const int64_t m = WeightSlices() * array_->tiles().front().span.outs;   // tile (0, 0) is the widest
  engine_.Reserve(s, ctx.trace != nullptr);
  if (HasReadNoise()) Grow(s.z, kVectorBlock * m);
  Grow(s.acc, kVectorBlock * Outputs());
  Grow(s.lsb, m);
  Grow(s.gain, m);
  Grow(s.offset, m);
  Grow(s.analog_gain, m);
  Grow(s.analog_offset, m);
  Grow(s.zero_read, m);
  if (ctx.trace != nullptr) s.zero_sums.assign(static_cast<size_t>(2 * m), 0.0);
  for (int64_t j0 = 0; j0 < x.n; j0 += kVectorBlock) {
    MultiplyBlock(x, j0, std::min(kVectorBlock, x.n - j0), y, ldy, ctx, s);
  }
}

void CrossbarCore::MultiplyBlock(const InputCodes& x, int64_t j0, int64_t nb, int32_t* y, int64_t ldy,
                                 MvmContext& ctx, CrossbarScratch& s) const {
  const CrossbarLayout& lay = layout();
  const int64_t N = lay.N();
  const int slices = lay.WeightSlices();
  const bool trace = ctx.trace != nullptr;
  const bool noisy = HasReadNoise();
  const double code_min = readout_.CodeMin(), code_max = readout_.CodeMax();
  std::fill_n(s.acc.data(), nb * N, 0.0);
  engine_.LoadInputs(x, j0, nb, s);

  for (const ArrayTile& tile : array_->tiles()) {
    const TileSpan& span = tile.span;
    const int64_t outs = span.outs, m = slices * outs, m2 = noisy ? 2 * m : m;
    for (int sl = 0; sl < slices; ++sl) {
      for (int64_t c = 0; c < outs; ++c) {
        const ColumnPeriphery col = readout_.Column(lay.PeripheryIndex(span.tile_row, sl, span.out0 + c));
        const size_t i = static_cast<size_t>(sl * outs + c);
        s.lsb[i] = col.lsb;
        s.gain[i] = col.gain;
        s.offset[i] = col.offset;
        s.analog_gain[i] = col.a;
        s.analog_offset[i] = col.b;
        // A read of zero column sums (mean = sd = +0.0): v = fma(+0, z, +0) = +0 for every finite z, so
        // its analog value, code and corrected value are this constant whatever its normal.
        s.zero_read[i] = ReadColumn(0.0, 0.0, 0.0, noisy, DeltaG(sl), col, code_min, code_max).corrected;
      }
    }

    for (int p = 0; p < lay.SignPasses(); ++p) {
      engine_.LoadTileBits(span, p, s);
      for (int t = 0; t < lay.InputSlices(); ++t) {
        // Column sums of the active vectors only (row i of s.reads for vector s.active[i]); the others'
        // input slice is zero on this tile and their sums are +0.0.
        const int64_t count = engine_.ActiveVectors(t, s);
        engine_.ColumnSums(tile, p, t, count, trace, s);

        // Without a trace the read noise is drawn first, in the documented order, and the reads then
        // run as plain loops; with a trace every read is drawn, computed and recorded in that order.
        // The normals of the zero vectors' reads are drawn (the stream is unchanged) but not transformed.
        if (noisy && !trace) ctx.rng->FillNormalRows(s.z.data(), nb, m, s.needed.data());
        // The reads, in the documented order: vector, then read column (slice-major).
        int64_t i_active = 0;
        for (int64_t j = 0; j < nb; ++j) {
          const bool active = s.needed[static_cast<size_t>(j)] != 0;
          const int64_t sums_row = i_active;   // the vector's row of s.reads and s.ideal when active
          if (active) ++i_active;
          double* acc = s.acc.data() + j * N + span.out0;
          if (!trace && !active) {
            for (int sl = 0; sl < slices; ++sl) {
              AccumulateZeroReads(s.zero_read.data() + sl * outs, acc, outs, lay.SignedScale(p, sl, t));
            }
            continue;
          }
          const double* row = active ? s.reads.data() + sums_row * m2 : s.zero_sums.data();
          for (int sl = 0; sl < slices; ++sl) {
            const double scale = lay.SignedScale(p, sl, t), delta_g = DeltaG(sl);
            const double* means = row + sl * outs;
            const double* sds = row + m + sl * outs;
            const int64_t first = sl * outs;
            if (!trace) {
              AccumulateReads(means, noisy ? sds : nullptr, noisy ? s.z.data() + j * m + first : nullptr,
                              s.lsb.data() + first, s.gain.data() + first, s.offset.data() + first,
                              s.analog_gain.data() + first, s.analog_offset.data() + first, acc, outs, scale,
                              delta_g, code_min, code_max);
              continue;
            }
            for (int64_t c = 0; c < outs; ++c) {
              const size_t i = static_cast<size_t>(first + c);
              const ColumnPeriphery col{s.analog_gain[i], s.analog_offset[i], s.lsb[i], s.gain[i], s.offset[i]};
              const double z = noisy ? ctx.rng->Normal() : 0.0;
              const ColumnRead read =
                  ReadColumn(means[c], noisy ? sds[c] : 0.0, z, noisy, delta_g, col, code_min, code_max);
              acc[c] += scale * read.corrected;
              MvmRead r;
              r.tile_row = span.tile_row;
              r.tile_col = span.tile_col;
              r.weight_slice = sl;
              r.input_slice = t;
              r.sign_pass = p;
              r.output = span.out0 + c;
              r.vector = j0 + j;
              r.ideal = active ? static_cast<int64_t>(s.ideal[static_cast<size_t>(sums_row * m + first + c)]) : 0;
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

  // y, after the offset mapping's digital term w_max·Σ_k x[k, j].
  const bool offset_mapping = !lay.differential();
  const int32_t w_max = lay.w_max();
  for (int64_t o = 0; o < N; ++o) {
    int32_t* out = y + o * ldy + j0;
    for (int64_t j = 0; j < nb; ++j) {
      const double term = offset_mapping ? static_cast<double>(w_max * s.x_sum[static_cast<size_t>(j)]) : 0.0;
      out[j] = RoundSaturate(s.acc[static_cast<size_t>(j * N + o)] - term);
    }
  }
}

}  // namespace cimsim
