#include "nets/linear.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "nets/aligned_scratch.h"
#include "nets/eigen_maps.h"
#include "nets/reference_ops.h"

namespace cimsim {

Linear::Linear(int in_features, int out_features)
    : in_(in_features),
      out_(out_features),
      weight_({out_features, in_features}),
      bias_({out_features}),
      weight_grad_({out_features, in_features}),
      bias_grad_({out_features}) {
  if (in_features < 1 || out_features < 1) throw std::invalid_argument("linear features must be >= 1");
}

Shape Linear::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 2 || inputs[0][1] != in_) {
    throw std::invalid_argument("linear expects one [N, " + std::to_string(in_) + "] input");
  }
  return {inputs[0][0], out_};
}

void Linear::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const ConstRowMap<float> w(weight_.data(), out_, in_);
  const Eigen::Map<const Eigen::RowVectorXf> b(bias_.data(), out_);
  // One matrix-vector product per image, so an image's logits never depend on the batch split.
  pool.ParallelFor(x.dim(0), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t n = begin; n < end; ++n) {
      Eigen::Map<Eigen::VectorXf> y(out.data() + n * out_, out_);
      y.noalias() = w * Eigen::Map<const Eigen::VectorXf>(x.data() + n * in_, in_);
      y += b.transpose();
    }
  });
}

void Linear::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = LinearReference(*inputs[0], weight_.Cast<double>(), bias_.Cast<double>());
}

void Linear::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  fn("weight", weight_);
  fn("bias", bias_);
}

void Linear::VisitParams(const std::function<void(const std::string&, Tensor&, Tensor&)>& fn) {
  fn("weight", weight_, weight_grad_);
  fn("bias", bias_, bias_grad_);
}

void Linear::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                      const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) {
  const Tensor& x = *inputs[0];
  const Shape y_shape = OutputShape({x.shape()});
  if (grad_out.shape() != y_shape) {
    throw std::invalid_argument("linear backward: gradient of shape " + ShapeString(grad_out.shape()) +
                                ", output has " + ShapeString(y_shape));
  }
  Tensor* gx = grad_inputs.empty() ? nullptr : grad_inputs[0];
  const int64_t N = x.dim(0), I = in_, O = out_;
  if (gx != nullptr) gx->Resize({N, I});
  weight_grad_.Resize({O, I});
  bias_grad_.Resize({O});
  const int64_t chunks = (N + kGradChunkImages - 1) / kGradChunkImages;
  if (chunks == 0) {
    weight_grad_.Fill(0.0f);
    bias_grad_.Fill(0.0f);
    return;
  }
  // One slot per chunk in worker 0's buffer (taken here, before the workers start): partial dL/dW,
  // partial dL/db, and the chunk's rows of dL/dx; each part starts on a 64-byte boundary.
  const int64_t w_size = RoundUpToAlignment(O * I), b_size = RoundUpToAlignment(O);
  const int64_t x_size = gx != nullptr ? RoundUpToAlignment(kGradChunkImages * I) : 0;
  const int64_t slot = w_size + b_size + x_size;
  ws.Reserve(pool.Threads());
  float* slots = AlignUp(ws.Buffer(0, static_cast<size_t>(chunks * slot + kAlignFloats)));
  const ConstRowMap<float> w(weight_.data(), O, I);
  pool.ParallelFor(chunks, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t c = begin; c < end; ++c) {
      const int64_t n0 = c * kGradChunkImages, m = std::min(kGradChunkImages, N - n0);
      const ConstRowMap<float> g(grad_out.data() + n0 * O, m, O);
      const ConstRowMap<float> xc(x.data() + n0 * I, m, I);
      float* partial_w = slots + c * slot;
      float* partial_b = partial_w + w_size;
      RowMap<float>(partial_w, O, I).noalias() = g.transpose() * xc;
      std::fill(partial_b, partial_b + O, 0.0f);
      for (int64_t r = 0; r < m; ++r) {
        const float* gr = grad_out.data() + (n0 + r) * O;
        for (int64_t o = 0; o < O; ++o) partial_b[o] += gr[o];
      }
      if (gx != nullptr) {
        float* rows = partial_b + b_size;
        RowMap<float>(rows, m, I).noalias() = g * w;
        std::copy(rows, rows + m * I, gx->data() + n0 * I);
      }
    }
  });
  // Sum the partials in chunk order (the same value for any thread count).
  SumChunkPartials(pool, slots, chunks, slot, 0, O * I, weight_grad_.data());
  SumChunkPartials(pool, slots, chunks, slot, w_size, O, bias_grad_.data());
}

void Linear::ForwardTrainReference(const std::vector<const TensorD*>& inputs,
                                   const std::vector<const TensorD*>& params, TensorD& out) const {
  out = LinearReference(*inputs[0], *params[0], *params[1]);
}

void Linear::BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                               const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                               std::vector<TensorD>& grad_params) const {
  grad_inputs.resize(1);
  grad_params.resize(2);
  LinearBackwardReference(*inputs[0], *params[0], grad_out, grad_inputs[0], grad_params[0], grad_params[1]);
}

int64_t Linear::MacsPerImage(const std::vector<Shape>&) const { return static_cast<int64_t>(in_) * out_; }

}  // namespace cimsim
