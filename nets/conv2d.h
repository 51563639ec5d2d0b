// conv2d.h — 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d), square kernels.
//
// y[n,o,i,j] = b[o] + Σ_{c,ky,kx} W[o,c,ky,kx] · x[n,c, i·s+ky−p, j·s+kx−p], zero padding.
// Shapes: x [N, C, H, W], W [O, C, K, K] (OIHW), b [O], y [N, O, OH, OW] with
// OH = (H + 2p − K)/s + 1 (floor), likewise OW.
// Fast path: per image, im2col into a per-worker scratch matrix from the Workspace, cols[C·K·K, OH·OW] (row-major;
// row index (c·K + ky)·K + kx, the OIHW flattening), then one GEMM y_n[O, OH·OW] = W[O, C·K·K] · cols
// through Eigen; images are spread over the thread pool. Reference: Conv2dReference.
#pragma once

#include <string>
#include <vector>

#include "nets/layer.h"

namespace cimsim {

struct Conv2dParams {
  int in_channels = 0, out_channels = 0, kernel = 3, stride = 1, padding = 1;
  bool bias = false;
  // Throws std::invalid_argument naming the field when a value is out of range.
  void Validate() const;
};

class Conv2d : public Layer {
 public:
  explicit Conv2d(const Conv2dParams& params);

  std::string_view Kind() const override { return "conv2d"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;
  int64_t MacsPerImage(const std::vector<Shape>& inputs) const override;

  const Conv2dParams& params() const { return params_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  Conv2dParams params_;
  Tensor weight_;  // [O, C, K, K]
  Tensor bias_;    // [O] or empty
};

// Lowers one image x_n [C, H, W] into cols [C·K·K, OH·OW] (row-major), zeros where the window
// leaves the image. Exposed for the integer and crossbar paths, which lower convolutions alike.
void Im2Col(const float* image, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* cols);

}  // namespace cimsim
