#include "nets/conv2d.h"

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "nets/aligned_scratch.h"
#include "nets/direct_conv_f32.h"
#include "nets/direct_conv_weight_grad_f32.h"
#include "nets/eigen_maps.h"
#include "nets/reference_ops.h"

namespace cimsim {

void Conv2dParams::Validate() const {
  auto check = [](bool ok, const std::string& field, int value, const std::string& allowed) {
    if (!ok) throw std::invalid_argument("conv2d " + field + " = " + std::to_string(value) + ": must be " + allowed);
  };
  check(in_channels >= 1, "in_channels", in_channels, ">= 1");
  check(out_channels >= 1, "out_channels", out_channels, ">= 1");
  check(kernel >= 1, "kernel", kernel, ">= 1");
  check(stride >= 1, "stride", stride, ">= 1");
  check(padding >= 0 && padding < kernel, "padding", padding, "in [0, kernel)");
}

Conv2d::Conv2d(const Conv2dParams& params) : params_(params) {
  params_.Validate();
  weight_ = Tensor({params.out_channels, params.in_channels, params.kernel, params.kernel});
  weight_grad_ = Tensor(weight_.shape());
  if (params.bias) {
    bias_ = Tensor({params.out_channels});
    bias_grad_ = Tensor({params.out_channels});
  }
}

Shape Conv2d::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 4 || inputs[0][1] != params_.in_channels) {
    throw std::invalid_argument("conv2d expects one [N, " + std::to_string(params_.in_channels) +
                                ", H, W] input, got " + (inputs.empty() ? "none" : ShapeString(inputs[0])));
  }
  const int64_t h = inputs[0][2] + 2 * params_.padding - params_.kernel;
  const int64_t w = inputs[0][3] + 2 * params_.padding - params_.kernel;
  if (h < 0 || w < 0) throw std::invalid_argument("conv2d input " + ShapeString(inputs[0]) + " smaller than kernel");
  return {inputs[0][0], params_.out_channels, h / params_.stride + 1, w / params_.stride + 1};
}

namespace {

// Rows i = 0..oh−1 of one lowered row at stride 1: dst + i·ow gets zeros at [0, j0) and [j1, ow), and
// src + y·width + shift at [j0, j1), where y = i + ky − padding; rows with y outside the image are zero.
// Im2Col's rows are short (32, 16 or 8 floats, one fewer where the window overhangs the padding), so
// the copy length is a template parameter for those: a compile-time-size memcpy is a few vector
// moves, where a runtime-length loop spends more in its scalar remainder than in the copy.
template <int64_t kLength>
void CopyRowsStride1(const float* plane, int64_t height, int64_t width, int64_t shift, int64_t ky_minus_p,
                     int64_t oh, int64_t ow, int64_t j0, int64_t j1, float* row) {
  const int64_t length = kLength > 0 ? kLength : j1 - j0;
  for (int64_t i = 0; i < oh; ++i) {
    float* __restrict dst = row + i * ow;
    const int64_t y = i + ky_minus_p;
    if (y < 0 || y >= height) {
      std::fill(dst, dst + ow, 0.0f);
      continue;
    }
    const float* __restrict src = plane + y * width + shift;
    for (int64_t j = 0; j < j0; ++j) dst[j] = 0.0f;
    if constexpr (kLength > 0) {
      std::memcpy(dst + j0, src + j0, kLength * sizeof(float));
    } else {
      for (int64_t j = 0; j < length; ++j) dst[j0 + j] = src[j0 + j];
    }
    for (int64_t j = j1; j < ow; ++j) dst[j] = 0.0f;
  }
}

void CopyRowsStride1(const float* plane, int64_t height, int64_t width, int64_t shift, int64_t ky_minus_p, int64_t oh,
                     int64_t ow, int64_t j0, int64_t j1, float* row) {
  switch (j1 - j0) {
    case 32: return CopyRowsStride1<32>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
    case 31: return CopyRowsStride1<31>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
    case 16: return CopyRowsStride1<16>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
    case 15: return CopyRowsStride1<15>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
    case 8: return CopyRowsStride1<8>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
    case 7: return CopyRowsStride1<7>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
    default: return CopyRowsStride1<0>(plane, height, width, shift, ky_minus_p, oh, ow, j0, j1, row);
  }
}

}  // namespace

void Im2Col(const float* image, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* cols) {
  const int64_t oh = (height + 2 * padding - kernel) / stride + 1;
  const int64_t ow = (width + 2 * padding - kernel) / stride + 1;
  Im2Col(image, channels, height, width, kernel, stride, padding, cols, oh * ow);
}

void Im2Col(const float* image, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* cols, int64_t ld) {
  const int64_t oh = (height + 2 * padding - kernel) / stride + 1;
  const int64_t ow = (width + 2 * padding - kernel) / stride + 1;
  float* row = cols;
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = image + c * height * width;
    for (int ky = 0; ky < kernel; ++ky) {
      for (int kx = 0; kx < kernel; ++kx, row += ld) {
        // Output columns j whose input column x = j·s + kx − p lies inside [0, width): [j0, j1).
        const int64_t shift = kx - padding;
        const int64_t j0 = std::clamp<int64_t>((-shift + stride - 1) / stride, 0, ow);
        const int64_t j1 = std::clamp<int64_t>((width - shift + stride - 1) / stride, j0, ow);
        if (stride == 1) {
          CopyRowsStride1(plane, height, width, shift, ky - padding, oh, ow, j0, j1, row);
          continue;
        }
        for (int64_t i = 0; i < oh; ++i) {
          float* dst = row + i * ow;
          const int64_t y = i * stride + ky - padding;
          if (y < 0 || y >= height) {
            std::fill(dst, dst + ow, 0.0f);
            continue;
          }
          const float* src = plane + y * width + shift;
          // Plain loops: rows are short (8..32 floats), where library calls cost more than the copy.
          for (int64_t j = 0; j < j0; ++j) dst[j] = 0.0f;
          for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * stride];
          for (int64_t j = j1; j < ow; ++j) dst[j] = 0.0f;
        }
      }
    }
  }
}

void Col2Im(const float* cols, int64_t ld, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* image) {
  const int64_t oh = (height + 2 * padding - kernel) / stride + 1;
  const int64_t ow = (width + 2 * padding - kernel) / stride + 1;
  std::fill(image, image + channels * height * width, 0.0f);
  const float* row = cols;
  for (int64_t c = 0; c < channels; ++c) {
    float* plane = image + c * height * width;
    for (int ky = 0; ky < kernel; ++ky) {
      for (int kx = 0; kx < kernel; ++kx, row += ld) {
        // The same column range [j0, j1) as Im2Col: the elements that were copied from the image.
        const int64_t shift = kx - padding;
        const int64_t j0 = std::clamp<int64_t>((-shift + stride - 1) / stride, 0, ow);
        const int64_t j1 = std::clamp<int64_t>((width - shift + stride - 1) / stride, j0, ow);
        for (int64_t i = 0; i < oh; ++i) {
          const int64_t y = i * stride + ky - padding;
          if (y < 0 || y >= height) continue;
          // Pointers start at j0 (input column j0·s + kx − p >= 0), so they never point before the image.
          const float* __restrict src = row + i * ow + j0;
          float* __restrict dst = plane + y * width + j0 * stride + shift;
          if (stride == 1) {
            for (int64_t j = 0; j < j1 - j0; ++j) dst[j] += src[j];
          } else {
            for (int64_t j = 0; j < j1 - j0; ++j) dst[j * stride] += src[j];
          }
        }
      }
    }
  }
}

void Conv2d::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const ConvWindow g{x.dim(1), x.dim(2), x.dim(3), params_.kernel, params_.stride, params_.padding, out.dim(2), out.dim(3)};
  const int64_t O = params_.out_channels, image_size = g.channels * g.height * g.width;
  const int64_t P = out.dim(2) * out.dim(3);
  ws.Reserve(pool.Threads());  // before the workers start: Buffer() then never resizes the outer list
  pool.ParallelFor(x.dim(0), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    float* planes = ws.Buffer(worker, static_cast<size_t>(FloatPlanesSize(g)));  // one image's phase planes
    for (std::ptrdiff_t n = begin; n < end; ++n) {
      PackFloatPlanes(x.data() + n * image_size, g, planes);
      DirectConvF32(planes, weight_.data(), O, g, bias_.size() ? bias_.data() : nullptr, out.data() + n * O * P);
    }
  });
}

void Conv2d::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = Conv2dReference(*inputs[0], weight_.Cast<double>(), bias_.Cast<double>(), params_.stride,
                        params_.padding);
}

void Conv2d::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  fn("weight", weight_);
  if (params_.bias) fn("bias", bias_);
}

void Conv2d::VisitParams(const std::function<void(const std::string&, Tensor&, Tensor&)>& fn) {
  fn("weight", weight_, weight_grad_);
  if (params_.bias) fn("bias", bias_, bias_grad_);
}

void Conv2d::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                      const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) {
  const Tensor& x = *inputs[0];
  const Shape y_shape = OutputShape({x.shape()});
  if (grad_out.shape() != y_shape) {
    throw std::invalid_argument("conv2d backward: gradient of shape " + ShapeString(grad_out.shape()) +
                                ", output has " + ShapeString(y_shape));
  }
  Tensor* gx = grad_inputs.empty() ? nullptr : grad_inputs[0];
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = params_.out_channels, K = C * params_.kernel * params_.kernel, P = y_shape[2] * y_shape[3];
  const bool direct = params_.kernel == 1 && params_.stride == 1 && params_.padding == 0;
  const bool has_bias = params_.bias;
  if (gx != nullptr) gx->Resize(x.shape());
  const int64_t chunks = (N + kGradChunkImages - 1) / kGradChunkImages;
  if (chunks == 0) {
    weight_grad_.Fill(0.0f);
    bias_grad_.Fill(0.0f);
    return;
  }
  // Per-chunk partials: dW [O, K] (direct case) or dWᵀ [K, O_pad] (planes), then db [O], each on a
  // 64-byte boundary.
  const int64_t o_pad = WeightGradPaddedOutputs(O);
  const int64_t w_count = direct ? O * K : K * o_pad;
  const int64_t w_size = RoundUpToAlignment(w_count), b_size = has_bias ? RoundUpToAlignment(O) : 0;
  const int64_t slot = w_size + b_size;
  const size_t partials_size = static_cast<size_t>(chunks * slot + kAlignFloats);
  if (partials_.size() < partials_size) partials_.resize(partials_size);
  float* slots = AlignUp(partials_.data());
  // dx at stride 1 (k > 1): the convolution of g_n with the flipped, transposed weights W' (header).
  const int k = params_.kernel, pad_t = k - 1 - params_.padding;
  const ConvWindow gt{O, y_shape[2], y_shape[3], k, 1, std::max(pad_t, 0), H, W};
  const bool transposed = gx != nullptr && !direct && params_.stride == 1 && pad_t >= 0 && gt.Consistent();
  if (transposed) {
    if (flipped_.size() < static_cast<size_t>(C * O * k * k)) flipped_.resize(static_cast<size_t>(C * O * k * k));
    for (int64_t o = 0; o < O; ++o)
      for (int64_t ci = 0; ci < C; ++ci)
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx)
            flipped_[static_cast<size_t>(((ci * O + o) * k + ky) * k + kx)] =
                weight_[((o * C + ci) * k + (k - 1 - ky)) * k + (k - 1 - kx)];
  }
  // Per-worker scratch (64-byte-aligned blocks): x_n's phase planes and g_n's grid for the weight
  // gradient (not in the direct case, a GEMM on x_n itself); then either g_n's phase planes for the
  // transposed convolution or dcols_n [K, P] for Col2Im.
  const ConvWindow gw{C, H, W, k, params_.stride, params_.padding, y_shape[2], y_shape[3]};
  const int64_t x_planes_size = direct ? 0 : RoundUpToAlignment(FloatPlanesSize(gw));
  const int64_t grid_size = direct ? 0 : RoundUpToAlignment(WeightGradGridRows(gw) * o_pad);
  const int64_t planes_size = transposed ? RoundUpToAlignment(FloatPlanesSize(gt)) : 0;
  const int64_t cols_size = direct || transposed || gx == nullptr ? 0 : RoundUpToAlignment(K * P);
  const int64_t scratch_size = x_planes_size + grid_size + planes_size + cols_size;
  const ConstRowMap<float> w(weight_.data(), O, K);
  ws.Reserve(pool.Threads());  // before the workers start: Buffer() then never resizes the outer list
  pool.ParallelFor(chunks, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    float* scratch = scratch_size == 0 ? nullptr
                                       : AlignUp(ws.Buffer(worker, static_cast<size_t>(scratch_size + kAlignFloats)));
    float* x_planes = scratch;
    float* grid = scratch + x_planes_size;
    float* planes = transposed ? grid + grid_size : nullptr;
    float* dcols = cols_size > 0 ? grid + grid_size : nullptr;
    for (std::ptrdiff_t c = begin; c < end; ++c) {
      const int64_t n0 = c * kGradChunkImages, m = std::min(kGradChunkImages, N - n0);
      float* partial_b = slots + c * slot + w_size;
      for (int64_t r = 0; r < m; ++r) {
        const int64_t n = n0 + r;
        const float* image = x.data() + n * C * H * W;
        const float* g_n = grad_out.data() + n * O * P;
        const ConstRowMap<float> g(g_n, O, P);
        if (direct) {
          RowMap<float> partial_w(slots + c * slot, O, K);
          const ConstRowMap<float> x_n(image, K, P);
          if (r == 0) {
            partial_w.noalias() = g * x_n.transpose();
          } else {
            partial_w.noalias() += g * x_n.transpose();
          }
        } else {
          PackFloatPlanes(image, gw, x_planes);
          PackWeightGradGrid(g_n, O, gw, grid);
          DirectConvWeightGradF32(x_planes, grid, O, gw, r > 0, slots + c * slot);
        }
        if (has_bias) {
          for (int64_t o = 0; o < O; ++o) {
            double sum = 0.0;
            for (int64_t p = 0; p < P; ++p) sum += g(o, p);
            partial_b[o] = r == 0 ? static_cast<float>(sum) : partial_b[o] + static_cast<float>(sum);
          }
        }
        if (gx == nullptr) continue;
        if (direct) {
          RowMap<float>(gx->data() + n * C * P, C, P).noalias() = w.transpose() * g;
        } else if (transposed) {
          PackFloatPlanes(g_n, gt, planes);
          DirectConvF32(planes, flipped_.data(), C, gt, nullptr, gx->data() + n * C * H * W);
        } else {
          RowMap<float>(dcols, K, P).noalias() = w.transpose() * g;
          Col2Im(dcols, P, C, H, W, params_.kernel, params_.stride, params_.padding, gx->data() + n * C * H * W);
        }
      }
    }
  });
  // Sum the partials in chunk order (the same value for any thread count).
  if (direct) {
    SumChunkPartials(pool, slots, chunks, slot, 0, O * K, weight_grad_.data());
  } else {
    if (summed_.size() < static_cast<size_t>(w_count)) summed_.resize(static_cast<size_t>(w_count));
    SumChunkPartials(pool, slots, chunks, slot, 0, w_count, summed_.data());
    for (int64_t o = 0; o < O; ++o)
      for (int64_t q = 0; q < K; ++q) weight_grad_[o * K + q] = summed_[static_cast<size_t>(q * o_pad + o)];
  }
  if (has_bias) SumChunkPartials(pool, slots, chunks, slot, w_size, O, bias_grad_.data());
}

void Conv2d::ForwardTrainReference(const std::vector<const TensorD*>& inputs,
                                   const std::vector<const TensorD*>& params, TensorD& out) const {
  out = Conv2dReference(*inputs[0], *params[0], params_.bias ? *params[1] : TensorD(), params_.stride,
                        params_.padding);
}

void Conv2d::BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                               const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                               std::vector<TensorD>& grad_params) const {
  grad_inputs.resize(1);
  grad_params.resize(params_.bias ? 2 : 1);
  TensorD grad_b;
  Conv2dBackwardReference(*inputs[0], *params[0], grad_out, params_.stride, params_.padding, grad_inputs[0],
                          grad_params[0], grad_b);
  if (params_.bias) grad_params[1] = std::move(grad_b);
}

int64_t Conv2d::MacsPerImage(const std::vector<Shape>& inputs) const {
  const Shape y = OutputShape({{1, inputs[0][1], inputs[0][2], inputs[0][3]}});
  return y[1] * y[2] * y[3] * params_.in_channels * params_.kernel * params_.kernel;
}

}  // namespace cimsim
