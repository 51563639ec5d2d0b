// ExternalCore: the host side of a chip's reads (hil/external_core.h).
#include "hil/external_core.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/rng.h"
#include "common/streams.h"
#include "sim/trace_sink.h"

namespace cimsim::hil {
namespace {

// clamp(round_half_away(v), int32) as sim/crossbar_core.h's RoundSaturate.
int32_t RoundSaturate(double v) {
  const double r = std::round(v);   // std::round rounds half away from zero
  return static_cast<int32_t>(std::clamp(r, -2147483648.0, 2147483647.0));
}

}  // namespace

ExternalCore::ExternalCore(std::shared_ptr<ExternalChip> chip, std::shared_ptr<const ChipLayer> layer,
                           std::vector<ColumnCorrection> corrections)
    : chip_(std::move(chip)), layer_(std::move(layer)), corrections_(std::move(corrections)) {
  const double half = std::ldexp(1.0, std::max(layer_->adc_bits, 1) - 1);
  for (double lsb : layer_->lsb) ranges_.push_back(lsb * half);
}

const ColumnReadout* ExternalCore::Readout() const { return chip_->Reads() ? this : nullptr; }

std::unique_ptr<MvmCore> ExternalCore::WithReadout(const ReadoutSettings& settings, const std::string& where) const {
  const std::string prefix = where + ": layer " + layer_->name + ": ";
  if (!chip_->Reads()) {
    throw std::logic_error(prefix + chip_->Label() + " returns dot products (result \"results\"); it has no readout");
  }
  if (!settings.adc_ranges.empty()) throw std::logic_error(prefix + "ADC ranges cannot be set: " + AdcRangesFixedReason());
  const size_t columns = static_cast<size_t>(layer_->Geometry().Columns());
  if (settings.corrections.size() != columns) {
    throw std::invalid_argument(prefix + std::to_string(settings.corrections.size()) + " corrections; the layer has " +
                                std::to_string(columns) + " readout columns");
  }
  for (size_t i = 0; i < columns; ++i) {
    const ColumnCorrection& c = settings.corrections[i];
    if (!std::isfinite(c.gain) || !std::isfinite(c.offset)) {
      throw std::invalid_argument(prefix + "correction " + std::to_string(i) + " is not finite (gain " +
                                  std::to_string(c.gain) + ", offset " + std::to_string(c.offset) + ")");
    }
  }
  return std::make_unique<ExternalCore>(chip_, layer_, settings.corrections);
}

void ExternalCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  if (!ctx.segments.empty()) {   // one request per item, each seeded from the item's own stream
    ForEachSegment(x, y, ctx, [&](const InputCodes& xs, int32_t* ys, MvmContext& cs) { Multiply(xs, ys, ldy, cs); });
    return;
  }
  if (x.K != layer_->K) {
    throw std::invalid_argument("ExternalCore::Multiply: x.K = " + std::to_string(x.K) + " but the core's depth is " +
                                std::to_string(layer_->K));
  }
  if (ldy < x.n) {
    throw std::invalid_argument("ExternalCore::Multiply: ldy = " + std::to_string(ldy) + " < x.n = " +
                                std::to_string(x.n));
  }
  if (ctx.rng == nullptr) {
    throw std::invalid_argument("ExternalCore::Multiply: ctx.rng is null; the external chip's noise needs a stream");
  }
  const uint64_t seed = ExternalCallSeed(*ctx.rng);
  if (x.n == 0) return;
  const std::vector<int32_t> values = chip_->Multiply(*layer_, x, seed);
  if (!chip_->Reads()) {
    for (int64_t o = 0; o < layer_->N; ++o) std::copy_n(values.data() + o * x.n, x.n, y + o * ldy);
    return;
  }
  Assemble(x, values, y, ldy, ctx);
}

void ExternalCore::Assemble(const InputCodes& x, const std::vector<int32_t>& codes, int32_t* y, int64_t ldy,
                            MvmContext& ctx) const {
  const ChipLayer& l = *layer_;
  const ReadoutGeometry g = l.Geometry();
  const int64_t N = l.N, C = g.Columns();
  const int P = l.sign_passes, T = l.input_slices, S = l.weight_slices;
  const int b = l.dac ? 0 : l.input_slice_bits;
  std::vector<double> acc(static_cast<size_t>(N));
  std::vector<int32_t> xt(ctx.trace ? static_cast<size_t>(l.K) : 0);
  for (int64_t j = 0; j < x.n; ++j) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const int32_t* vec = codes.data() + j * P * T * C;   // [P, T, C]
    for (int64_t tr = 0; tr < l.tile_rows; ++tr) {
      for (int p = 0; p < P; ++p) {
        for (int t = 0; t < T; ++t) {
          const int32_t* read = vec + (p * T + t) * C;
          for (int s = 0; s < S; ++s) {
            const double scale = std::ldexp(p == 0 ? 1.0 : -1.0, s * l.weight_slice_bits + t * b);
            for (int64_t o = 0; o < N; ++o) {
              const size_t i = static_cast<size_t>(g.Index(tr, s, o));
              const double corrected = std::fma(corrections_[i].gain, read[i] * l.lsb[i], corrections_[i].offset);
              acc[static_cast<size_t>(o)] += scale * corrected;
            }
          }
        }
      }
    }
    for (int64_t o = 0; o < N; ++o) y[o * ldy + j] = RoundSaturate(acc[static_cast<size_t>(o)]);
    if (ctx.trace == nullptr) continue;
    // The reads of vector j in READS order, with the host's ideal column sums.
    for (int p = 0; p < P; ++p) {
      for (int t = 0; t < T; ++t) {
        for (int64_t k = 0; k < l.K; ++k) xt[static_cast<size_t>(k)] = l.InputSlice(x(k, j), p, t);
        const int32_t* read = vec + (p * T + t) * C;
        for (int64_t tr = 0; tr < l.tile_rows; ++tr) {
          const int64_t k0 = tr * l.rows_per_tile, k1 = std::min(l.K, k0 + l.rows_per_tile);
          for (int s = 0; s < S; ++s) {
            for (int64_t o = 0; o < N; ++o) {
              const size_t i = static_cast<size_t>(g.Index(tr, s, o));
              MvmRead r;
              r.tile_row = tr;
              r.tile_col = o / l.outputs_per_tile;
              r.weight_slice = s;
              r.input_slice = t;
              r.sign_pass = p;
              r.output = o;
              r.vector = j;
              for (int64_t k = k0; k < k1; ++k) r.ideal += int64_t{xt[static_cast<size_t>(k)]} * l.Digit(o, k, s);
              r.code = read[i];
              r.lsb = l.lsb[i];
              r.analog = r.code * r.lsb;
              r.corrected = std::fma(corrections_[i].gain, r.analog, corrections_[i].offset);
              ctx.trace->Record(r);
            }
          }
        }
      }
    }
  }
}

}  // namespace cimsim::hil
