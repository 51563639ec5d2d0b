// normalize.h — per-channel input normalization of CIFAR-10 images (uint8 CHW -> float/double CHW).
//
// Convention (torchvision ToTensor + Normalize): for channel c in {R, G, B},
//   x = (pixel / 255 - mean[c]) / std[c],   mean[c] in [0, 1], std[c] in (0, 1].
// Input: one image, [3, H, W] uint8 (CHW; 32 × 32 unless a plane size H·W is given). Output: [3, H, W].
//
// NormalizeImage is the reference: the formula evaluated in double for every pixel (the float
// version rounds that double once). Normalizer is the fast path: a 256-entry table per channel
// holding the same rounded values, so both agree exactly (tested).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "data/cifar10.h"

namespace cimsim {

struct ChannelNorm {
  std::array<double, kCifarChannels> mean{};  // of pixel/255, per channel R, G, B; in [0, 1]
  std::array<double, kCifarChannels> std{};   // of pixel/255, per channel; in (0, 1]

  // Throws InputError naming `where` (e.g. the model file), the field (mean[1]) and the value.
  void Validate(const std::string& where) const;
};

// Reference: out[c*1024 + k] = (chw[c*1024 + k] / 255 - mean[c]) / std[c], computed in double.
void NormalizeImage(const uint8_t* chw, const ChannelNorm& norm, float* out);
void NormalizeImage(const uint8_t* chw, const ChannelNorm& norm, double* out);

// Fast path: per-channel lookup tables built once from a validated ChannelNorm.
class Normalizer {
 public:
  // Validates norm; `where` names its origin in the error message (e.g. the model file).
  explicit Normalizer(const ChannelNorm& norm, const std::string& where = "Normalizer");
  // The image input of a quantized network: pixel p of channel c maps to scale · codes[c][p] (the
  // real value of its 8-bit input code; nets/quantized_model.h). norm() is kept for reports only.
  static Normalizer QuantizedInput(const ChannelNorm& norm, double scale,
                                   const std::array<std::array<int16_t, 256>, kCifarChannels>& codes);

  // One image: chw is [3, 32, 32] uint8; out is [3, 32, 32].
  void Apply(const uint8_t* chw, float* out) const;
  void Apply(const uint8_t* chw, double* out) const;
  // One image of any size: chw is [3, H, W] uint8 with plane = H·W; out is [3, H, W].
  void Apply(const uint8_t* chw, int64_t plane, float* out) const;
  void Apply(const uint8_t* chw, int64_t plane, double* out) const;

  const ChannelNorm& norm() const { return norm_; }

 private:
  ChannelNorm norm_;
  std::array<std::array<float, 256>, kCifarChannels> table_f_;
  std::array<std::array<double, 256>, kCifarChannels> table_d_;
};

}  // namespace cimsim
