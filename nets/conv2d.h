// conv2d.h — 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d), square kernels.
//
// y[n,o,i,j] = b[o] + Σ_{c,ky,kx} W[o,c,ky,kx] · x[n,c, i·s+ky−p, j·s+kx−p], zero padding.
// Shapes: x [N, C, H, W], W [O, C, K, K] (OIHW), b [O], y [N, O, OH, OW] with
// OH = (H + 2p − K)/s + 1 (floor), likewise OW.
// Fast path (nets/direct_conv_f32.h): images are spread over the thread pool; per image a worker
// writes the zero-padded phase planes of x_n into its Workspace buffer and runs the implicit-GEMM
// kernel over them and the weights in place (no im2col matrix, nothing packed). Every output is one chain
// of multiply-adds over the OIHW depth, so it depends on the image alone (not the batch or the
// threads). Reference: Conv2dReference.
//
// Backward (g = dL/dy [N, O, OH, OW], P = OH·OW, K = C·k·k, cols_n = Im2Col(x_n) [K, P]):
//   dL/dW[o,c,ky,kx] = Σ_{n,i,j} g[n,o,i,j] · x[n,c, i·s+ky−p, j·s+kx−p]   i.e. dW[O, K] = Σ_n g_n · cols_nᵀ
//   dL/db[o]         = Σ_{n,i,j} g[n,o,i,j]
//   dL/dx[n,c,h,w]   = Σ_{o,ky,kx,i,j: i·s+ky−p = h, j·s+kx−p = w} W[o,c,ky,kx] · g[n,o,i,j]
//                      i.e. dx_n = Col2Im(Wᵀ[K, O] · g_n[O, P])   (Col2Im: the adjoint of Im2Col)
// Fast path: the batch is cut into chunks of kGradChunkImages images, one worker per chunk. Per
// image n of a chunk the worker adds dW_n to the chunk's partial without a lowered matrix: x_n's phase
// planes (as the forward packs them) and g_n's transposed grid go through the direct weight-gradient
// kernel (nets/direct_conv_weight_grad_f32.h), which accumulates dW_nᵀ [K, O_pad]; the summed
// partials are transposed into dW once per call. A 1×1/stride-1/pad-0 kernel (the "direct" case)
// instead takes one Eigen GEMM on x_n itself, dW += g_n · x_nᵀ. The partial db += the row sums of
// g_n, in float64. Then dx_n: at stride 1 with k > 1 (p <= k − 1) dx_n is itself a convolution, run
// on the forward's direct kernel without Col2Im:
//     dx_n = conv(g_n, W', stride 1, padding k − 1 − p),   W'[c, o, ky, kx] = W[o, c, k−1−ky, k−1−kx]
// (substitute ky → k − 1 − ky in the sum above: the output size is H + 2p − k + 1 + 2(k − 1 − p) − k
// + 1 = H), with W' [C, O·k·k] flipped and transposed once per call into a buffer the layer owns;
// otherwise dcols_n = Wᵀ · g_n (one GEMM) is Col2Im'd into dx_n (direct case: dx_n = Wᵀ · g_n).
// The partials, in 64-byte-aligned slots of a buffer the layer owns, are summed in chunk order, so
// every gradient is bit-identical for any thread count. Scratch: one aligned block per worker from
// the Workspace; nothing allocates once the buffers have grown to the largest batch.
// Reference: Conv2dBackwardReference.
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
  // grad_inputs[0] may be null (e.g. the first layer): the data gradient is then skipped.
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  // ("weight", weight, weight_grad) and, with a bias, ("bias", bias, bias_grad).
  void VisitParams(const std::function<void(const std::string&, Tensor&, Tensor&)>& fn) override;
  // params: {W [O, C, K, K]} or {W, b [O]} with a bias.
  void ForwardTrainReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                             TensorD& out) const override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;

  const Conv2dParams& params() const { return params_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  Tensor& weight_grad() { return weight_grad_; }
  Tensor& bias_grad() { return bias_grad_; }

 private:
  Conv2dParams params_;
  Tensor weight_;  // [O, C, K, K]
  Tensor bias_;    // [O] or empty
  Tensor weight_grad_;  // [O, C, K, K], dL/dW of the last Backward
  Tensor bias_grad_;    // [O] or empty, dL/db of the last Backward
  // Per-chunk partial dW and db of Backward (64-byte-aligned slots); grows to the largest batch seen.
  std::vector<float> partials_;
  std::vector<float> flipped_;   // W' of the stride-1 input gradient [C, O·k·k]
  std::vector<float> summed_;    // the chunks' dWᵀ [K, O_pad] summed, before the transpose into weight_grad_
};

// Lowers one image x_n [C, H, W] into cols [C·K·K, OH·OW] (row-major), zeros where the window
// leaves the image. Exposed for the integer and crossbar paths, which lower convolutions alike.
void Im2Col(const float* image, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* cols);
// The same with row stride `ld` >= OH·OW: element (r, p) of the lowered image at cols[r·ld + p], so
// that several images can sit side by side in one matrix.
void Im2Col(const float* image, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* cols, int64_t ld);
// The adjoint of Im2Col: image [C, H, W] = Σ over the lowered matrix's elements, each added to the
// input pixel it was copied from (elements that fell on padding are dropped). image is overwritten.
// cols [C·K·K, ld] with the lowered image in its first OH·OW columns.
void Col2Im(const float* cols, int64_t ld, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* image);

}  // namespace cimsim
