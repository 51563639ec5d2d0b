#include "nets/direct_conv_u8.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

// Byte-wise table lookup: every byte v of the quads becomes lut[v].
class ByteTable {
 public:
  explicit ByteTable(const uint8_t* lut) : lut_(lut) {
#if defined(__AVX512VBMI__)
    if (lut != nullptr)
      for (int i = 0; i < 4; ++i) part_[i] = _mm512_loadu_si512(lut + 64 * i);
#endif
  }
  bool active() const { return lut_ != nullptr; }
  uint32_t Map(uint32_t q) const {
    uint32_t out = 0;
    for (int b = 0; b < 4; ++b) out |= static_cast<uint32_t>(lut_[(q >> (8 * b)) & 0xff]) << (8 * b);
    return out;
  }
#if defined(__AVX512VBMI__)
  // vpermi2b looks up the low 7 bits in a 128-entry table; the top bit picks the half.
  __m512i Map(__m512i v) const {
    const __m512i low = _mm512_permutex2var_epi8(part_[0], v, part_[1]);
    const __m512i high = _mm512_permutex2var_epi8(part_[2], v, part_[3]);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high);
  }
#endif

 private:
  const uint8_t* lut_;
#if defined(__AVX512VBMI__)
  __m512i part_[4];
#endif
};

// q[i] = a[i] | b[i] << 8 | c[i] << 16 | d[i] << 24 for int32 codes in [0, 255], each code mapped
// through the table when kMapped; a missing channel (null) is 0 (not mapped).
template <bool kMapped>
void PackPixelQuads(const int32_t* a, const int32_t* b, const int32_t* c, const int32_t* d, uint32_t* q, int64_t n,
                    const ByteTable& table) {
  uint32_t present = 0;  // the bytes of the channels that exist
  const int32_t* rows[4] = {a, b, c, d};
  for (int k = 0; k < 4; ++k)
    if (rows[k] != nullptr) present |= 0xffu << (8 * k);
  int64_t i = 0;
#if defined(__AVX512F__)
#if !defined(__AVX512VBMI__)
  if constexpr (!kMapped)
#endif
  {
    const __m512i zero = _mm512_setzero_si512();
    auto load = [&](const int32_t* p) { return p != nullptr ? _mm512_loadu_si512(p + i) : zero; };
    [[maybe_unused]] const __m512i keep = _mm512_set1_epi32(static_cast<int32_t>(present));
    for (; i + 16 <= n; i += 16) {
      __m512i v = _mm512_or_si512(_mm512_or_si512(load(a), _mm512_slli_epi32(load(b), 8)),
                                  _mm512_or_si512(_mm512_slli_epi32(load(c), 16), _mm512_slli_epi32(load(d), 24)));
#if defined(__AVX512VBMI__)
      if constexpr (kMapped) v = _mm512_and_si512(table.Map(v), keep);
#endif
      _mm512_storeu_si512(q + i, v);
    }
  }
#endif
  auto at = [&](const int32_t* p) { return p != nullptr ? static_cast<uint32_t>(p[i]) : 0u; };
  for (; i < n; ++i) {
    const uint32_t v = at(a) | (at(b) << 8) | (at(c) << 16) | (at(d) << 24);
    if constexpr (kMapped) {
      q[i] = table.Map(v) & present;
    } else {
      q[i] = v;
    }
  }
}

}  // namespace

int64_t ChannelQuadPlaneStride(const ConvWindow& g) {
  // PH_s·PW_s plus a tail of at least 16 (the kernel's last vector), rounded to 16 uint32 (64 bytes).
  return (g.PhaseHeight() * g.PhaseWidth() + 16 + 15) / 16 * 16;
}

int64_t ChannelQuadPlanesSize(const ConvWindow& g) {
  return (g.channels + 3) / 4 * g.stride * g.stride * ChannelQuadPlaneStride(g);
}

void PackChannelQuadPlanes(const int32_t* x, const ConvWindow& g, std::vector<uint32_t>& planes, const uint8_t* lut) {
  const ByteTable table(lut);
  const int64_t C = g.channels, H = g.height, W = g.width, p = g.padding, s = g.stride, PW = g.PaddedWidth();
  const int64_t stride = ChannelQuadPlaneStride(g), Q = (C + 3) / 4;
  const auto size = static_cast<size_t>(ChannelQuadPlanesSize(g));
  if (planes.size() < size) planes.resize(size);
  for (int64_t q = 0; q < Q; ++q) {
    const int32_t* channel[4];  // the quad's channels, null past C
    for (int b = 0; b < 4; ++b) channel[b] = 4 * q + b < C ? x + (4 * q + b) * H * W : nullptr;
    if (s == 1) {
      uint32_t* plane = planes.data() + q * stride;
      // Top border rows and the left border of the first image row; then per image row its pixels
      // and the right border of this row with the left border of the next (contiguous); then the
      // bottom rows and the tail.
      std::fill_n(plane, p * PW + p, 0u);
      for (int64_t y = 0; y < H; ++y) {
        const int32_t* rows[4];
        for (int b = 0; b < 4; ++b) rows[b] = channel[b] != nullptr ? channel[b] + y * W : nullptr;
        uint32_t* dst = plane + (y + p) * PW + p;
        if (table.active()) {
          PackPixelQuads<true>(rows[0], rows[1], rows[2], rows[3], dst, W, table);
        } else {
          PackPixelQuads<false>(rows[0], rows[1], rows[2], rows[3], dst, W, table);
        }
        std::fill_n(dst + W, 2 * p, 0u);
      }
      std::fill(plane + (H + p) * PW + p, plane + stride, 0u);  // from just past the last row's right border
      continue;
    }
    // Stride s > 1: phase (a, c) gathers every s-th padded pixel, element by element.
    const int64_t PHs = g.PhaseHeight(), PWs = g.PhaseWidth();
    for (int64_t a = 0; a < s; ++a)
      for (int64_t c = 0; c < s; ++c) {
        uint32_t* plane = planes.data() + ((q * s + a) * s + c) * stride;
        for (int64_t y2 = 0; y2 < PHs; ++y2)
          for (int64_t x2 = 0; x2 < PWs; ++x2) {
            const int64_t y = s * y2 + a - p, xx = s * x2 + c - p;  // the input pixel, if inside
            uint32_t quad = 0;
            if (y >= 0 && y < H && xx >= 0 && xx < W)
              for (int b = 0; b < 4; ++b)
                if (channel[b] != nullptr)
                  quad |= static_cast<uint32_t>(lut != nullptr ? lut[channel[b][y * W + xx]] : channel[b][y * W + xx])
                          << (8 * b);
            plane[y2 * PWs + x2] = quad;
          }
        std::fill(plane + PHs * PWs, plane + stride, 0u);
      }
  }
}

bool DirectConvU8::Applies(const ConvWindow& g) { return g.Consistent(); }

int64_t DirectConvU8::GridPitch() const { return g_.PhaseWidth(); }

DirectConvU8::DirectConvU8(std::span<const int16_t> w, int64_t N, const ConvWindow& g) : g_(g) {
  if (!Applies(g))
    throw std::invalid_argument("DirectConvU8: the output shape " + std::to_string(g.out_height) + "×" +
                                std::to_string(g.out_width) + " is not that of a " + std::to_string(g.kernel) +
                                "×" + std::to_string(g.kernel) + " stride-" + std::to_string(g.stride) +
                                " convolution of a " + std::to_string(g.height) + "×" + std::to_string(g.width) +
                                " input padded by " + std::to_string(g.padding));
  const int64_t k = g.kernel, C = g.channels, Q = (C + 3) / 4, K = g.Depth(), steps = Q * k * k, s = g.stride;
  if (N < 1 || static_cast<int64_t>(w.size()) != N * K)
    throw std::invalid_argument("DirectConvU8: " + std::to_string(w.size()) + " weight codes for N = " +
                                std::to_string(N) + " outputs of depth " + std::to_string(K));
  // Reorder each row into k-step order (zero for channels >= C), then pack as Int8Gemm's weights.
  std::vector<int16_t> reordered(static_cast<size_t>(N * 4 * steps), 0);
  for (int64_t o = 0; o < N; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ky = 0; ky < k; ++ky)
        for (int64_t kx = 0; kx < k; ++kx) {
          const int64_t step = ((c / 4) * k + ky) * k + kx;
          reordered[static_cast<size_t>(o * 4 * steps + 4 * step + c % 4)] =
              w[static_cast<size_t>(o * K + (c * k + ky) * k + kx)];
        }
  weights_ = PackedWeights8(reordered.data(), N, 4 * steps);  // checks the range
  const int64_t PWs = g.PhaseWidth(), stride = ChannelQuadPlaneStride(g);
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t ky = 0; ky < k; ++ky)
      for (int64_t kx = 0; kx < k; ++kx)
        offsets_.push_back(((q * s + ky % s) * s + kx % s) * stride + (ky / s) * PWs + kx / s);
}

void DirectConvU8::Run(const std::vector<uint32_t>& planes, int32_t* grid, int64_t ldg) const {
  if (static_cast<int64_t>(planes.size()) < ChannelQuadPlanesSize(g_))
    throw std::invalid_argument("DirectConvU8::Run: " + std::to_string(planes.size()) + " plane codes, need " +
                                std::to_string(ChannelQuadPlanesSize(g_)));
  // Largest read: a plane's start + (OH − 1 + (k − 1)/s)·PW_s + OW − 1 + (k − 1)/s + 15 (the last
  // vector) <= its start + PH_s·PW_s + 14: inside ChannelQuadPlaneStride's tail.
  Int8GemmWindows(weights_, planes.data(), offsets_.data(), GridColumns(), grid, ldg);
}

}  // namespace cimsim
