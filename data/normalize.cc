#include "data/normalize.h"

#include <string>

#include "common/error.h"
#include "common/field_checker.h"

namespace cimsim {
namespace {

constexpr int kPlane = kCifarHeight * kCifarWidth;  // 1024 pixels per channel

// The one formula everything else must agree with.
double Formula(int pixel, double mean, double std) {
  return (static_cast<double>(pixel) / 255.0 - mean) / std;
}

template <typename T>
void Reference(const uint8_t* chw, const ChannelNorm& norm, T* out) {
  for (int c = 0; c < kCifarChannels; ++c) {
    for (int k = 0; k < kPlane; ++k) {
      out[c * kPlane + k] = static_cast<T>(Formula(chw[c * kPlane + k], norm.mean[c], norm.std[c]));
    }
  }
}

template <typename T>
void FromTable(const uint8_t* chw, int64_t plane, const std::array<std::array<T, 256>, kCifarChannels>& table,
               T* out) {
  for (int c = 0; c < kCifarChannels; ++c) {
    const T* t = table[c].data();
    const uint8_t* in = chw + c * plane;
    T* o = out + c * plane;
    for (int64_t k = 0; k < plane; ++k) o[k] = t[in[k]];
  }
}

}  // namespace

void ChannelNorm::Validate(const std::string& where) const {
  for (int c = 0; c < kCifarChannels; ++c) {
    const std::string idx = "[" + std::to_string(c) + "]";
    // Written so that NaN fails too.
    if (!(mean[c] >= 0.0 && mean[c] <= 1.0)) {
      throw InputError(where + ": input normalization mean" + idx + " = " + ShortestNumber(mean[c]) +
                       " is not allowed; the mean of pixel/255 must be in [0, 1]");
    }
    if (!(std[c] > 0.0 && std[c] <= 1.0)) {
      throw InputError(where + ": input normalization std" + idx + " = " + ShortestNumber(std[c]) +
                       " is not allowed; the std of pixel/255 must be in (0, 1]");
    }
  }
}

void NormalizeImage(const uint8_t* chw, const ChannelNorm& norm, float* out) {
  Reference(chw, norm, out);
}

void NormalizeImage(const uint8_t* chw, const ChannelNorm& norm, double* out) {
  Reference(chw, norm, out);
}

Normalizer::Normalizer(const ChannelNorm& norm, const std::string& where) : norm_(norm) {
  norm_.Validate(where);
  for (int c = 0; c < kCifarChannels; ++c) {
    for (int p = 0; p < 256; ++p) {
      const double v = Formula(p, norm_.mean[c], norm_.std[c]);
      table_d_[c][p] = v;
      table_f_[c][p] = static_cast<float>(v);
    }
  }
}

Normalizer Normalizer::QuantizedInput(const ChannelNorm& norm, double scale,
                                      const std::array<std::array<int16_t, 256>, kCifarChannels>& codes) {
  Normalizer n(norm, "quantized input");
  for (int c = 0; c < kCifarChannels; ++c) {
    for (int p = 0; p < 256; ++p) {
      n.table_d_[c][p] = scale * codes[c][p];
      n.table_f_[c][p] = static_cast<float>(n.table_d_[c][p]);
    }
  }
  return n;
}

void Normalizer::Apply(const uint8_t* chw, float* out) const { FromTable(chw, kPlane, table_f_, out); }

void Normalizer::Apply(const uint8_t* chw, int64_t plane, float* out) const { FromTable(chw, plane, table_f_, out); }

void Normalizer::Apply(const uint8_t* chw, int64_t plane, double* out) const { FromTable(chw, plane, table_d_, out); }

void Normalizer::Apply(const uint8_t* chw, double* out) const { FromTable(chw, kPlane, table_d_, out); }

}  // namespace cimsim
