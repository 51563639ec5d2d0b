#include "nets/conv2d.h"

#include <algorithm>
#include <stdexcept>

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
  if (params.bias) bias_ = Tensor({params.out_channels});
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

void Im2Col(const float* image, int64_t channels, int64_t height, int64_t width, int kernel, int stride,
            int padding, float* cols) {
  const int64_t oh = (height + 2 * padding - kernel) / stride + 1;
  const int64_t ow = (width + 2 * padding - kernel) / stride + 1;
  float* row = cols;
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = image + c * height * width;
    for (int ky = 0; ky < kernel; ++ky) {
      for (int kx = 0; kx < kernel; ++kx, row += oh * ow) {
        // Output columns j whose input column x = j·s + kx − p lies inside [0, width): [j0, j1).
        const int64_t shift = kx - padding;
        const int64_t j0 = std::clamp<int64_t>((-shift + stride - 1) / stride, 0, ow);
        const int64_t j1 = std::clamp<int64_t>((width - shift + stride - 1) / stride, j0, ow);
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
          if (stride == 1) {
            for (int64_t j = j0; j < j1; ++j) dst[j] = src[j];
          } else {
            for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * stride];
          }
          for (int64_t j = j1; j < ow; ++j) dst[j] = 0.0f;
        }
      }
    }
  }
}

void Conv2d::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace& ws) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = params_.out_channels, K = C * params_.kernel * params_.kernel;
  const int64_t P = out.dim(2) * out.dim(3);
  const bool direct = params_.kernel == 1 && params_.stride == 1 && params_.padding == 0;
  const ConstRowMap<float> w(weight_.data(), O, K);
  ws.Reserve(pool.Threads());  // before the workers start: Buffer() then never resizes the outer list
  pool.ParallelFor(x.dim(0), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    float* cols = direct ? nullptr : ws.Buffer(worker, static_cast<size_t>(K * P));
    for (std::ptrdiff_t n = begin; n < end; ++n) {
      const float* image = x.data() + n * C * H * W;
      if (!direct) Im2Col(image, C, H, W, params_.kernel, params_.stride, params_.padding, cols);
      RowMap<float> y(out.data() + n * O * P, O, P);
      y.noalias() = w * ConstRowMap<float>(direct ? image : cols, K, P);
      if (bias_.size()) y.colwise() += Eigen::Map<const Eigen::VectorXf>(bias_.data(), O);
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

int64_t Conv2d::MacsPerImage(const std::vector<Shape>& inputs) const {
  const Shape y = OutputShape({{1, inputs[0][1], inputs[0][2], inputs[0][3]}});
  return y[1] * y[2] * y[3] * params_.in_channels * params_.kernel * params_.kernel;
}

}  // namespace cimsim
