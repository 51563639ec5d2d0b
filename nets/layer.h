// layer.h — the interface every network layer implements.
//
// A layer maps one or more input tensors to one output tensor. Each layer has two forward paths:
//  - Forward: float32, fast (GEMM-shaped, threaded over the batch through the ThreadPool). Scratch
//    memory comes from the caller's Workspace (one buffer per worker of `pool`), so a layer holds no
//    mutable state and several threads may run the same layer at once with their own workspaces;
//  - ForwardReference: float64, plain loops written for obviousness — the oracle the fast path is
//    tested against, and what `cimsim eval --reference` runs.
// Parameters and buffers are exposed by VisitTensors in PyTorch state_dict order with their
// state_dict suffix ("weight", "bias", "running_mean", "running_var").
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/parallel.h"
#include "nets/tensor.h"

namespace cimsim {

// Reusable scratch buffers, one per worker of the pool a layer runs on. Buffer() grows a buffer only
// when it is too small, so steady-state inference does not allocate.
class Workspace {
 public:
  float* Buffer(int worker, size_t size) {
    if (buffers_.size() <= static_cast<size_t>(worker)) buffers_.resize(static_cast<size_t>(worker) + 1);
    std::vector<float>& b = buffers_[static_cast<size_t>(worker)];
    if (b.size() < size) b.resize(size);
    return b.data();
  }
  // Makes sure `workers` buffers exist, so that Buffer() never reallocates the outer vector while
  // several workers use it.
  void Reserve(int workers) {
    if (buffers_.size() < static_cast<size_t>(workers)) buffers_.resize(static_cast<size_t>(workers));
  }

 private:
  std::vector<std::vector<float>> buffers_;
};

class Layer {
 public:
  virtual ~Layer() = default;
  // Short kind name: "conv2d", "batch_norm", "relu", ...
  virtual std::string_view Kind() const = 0;
  // Shape of the output for the given input shapes; throws std::invalid_argument on a mismatch.
  virtual Shape OutputShape(const std::vector<Shape>& inputs) const = 0;
  // out is resized by the layer; it never aliases an input. Layers that need scratch take it from
  // ws, one buffer per worker of pool (reserved by the layer before its workers start).
  virtual void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
                       Workspace& ws) const = 0;
  virtual void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const = 0;
  virtual void VisitTensors(const std::function<void(const std::string& suffix, Tensor& t)>& fn) {
    (void)fn;
  }
  // Number of multiply-accumulates for one image with the given input shapes (batch dimension 1).
  virtual int64_t MacsPerImage(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return 0;
  }
};

}  // namespace cimsim
