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

#include <deque>
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
  // Whole tensors for a layer that runs other layers inside it (e.g. a fake-quantized conv holding its
  // input codes); owned by the workspace, used by the thread that owns the workspace, never by
  // the pool's workers. Slot numbers are the calling layer's choice; Resize keeps their storage. A
  // reference stays valid when later slots are added (a deque).
  Tensor& Scratch(size_t slot) {
    if (scratch_.size() <= slot) scratch_.resize(slot + 1);
    return scratch_[slot];
  }

 private:
  std::vector<std::vector<float>> buffers_;
  std::deque<Tensor> scratch_;
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

  // ---- Training (docs/training.md). A batch runs ForwardTrain on every node in graph order, then
  // Backward in reverse order with the same input and output tensors.
  //
  // ForwardTrain: the forward pass in training mode. Layers whose training forward differs from
  // inference (BatchNorm: batch statistics, running statistics updated) override it; a layer may keep
  // what its Backward needs (e.g. the batch mean and 1/σ). Default: Forward.
  virtual void ForwardTrain(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
                            Workspace& ws) {
    Forward(inputs, out, pool, ws);
  }
  // Backward: given the inputs and output of the last ForwardTrain and g = dL/d(out), writes
  // dL/d(inputs[i]) into *grad_inputs[i] (resized by the layer; overwritten, not accumulated; a null
  // pointer means that gradient is not needed) and dL/d(param) into the gradient tensors VisitParams
  // exposes (overwritten). Deterministic: bit-identical results for any thread count of `pool`
  // (reductions over the batch run in fixed chunks of kGradChunkImages images, summed in chunk order).
  // Throws std::logic_error for a layer that cannot train.
  virtual void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                        const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws);
  // A ReLU fused into this layer's training passes (TrainGraph does it when this node's only consumer
  // is the ReLU right after it in graph order): one pass over the output instead of three.
  //   ForwardTrainRelu: out = max(ForwardTrain(inputs), 0), the same floats the two layers give;
  //   BackwardRelu: given out = y of ForwardTrainRelu and g = dL/dy, what Backward writes for the
  //     gradient g·[y > 0] (the ReLU's backward; y > 0 exactly where the pre-ReLU value is > 0).
  // FusesRelu says whether the layer has them; the defaults throw std::logic_error.
  virtual bool FusesRelu() const { return false; }
  virtual void ForwardTrainRelu(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
                                Workspace& ws);
  virtual void BackwardRelu(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                            const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws);
  // Called after the parameters changed (an optimizer step, a checkpoint load): a layer whose forward
  // uses tensors derived from its parameters (e.g. fake-quantized weights) recomputes them here.
  virtual void ParamsChanged() {}
  // Trainable parameters with their gradients (same shapes), in VisitTensors order; buffers such as
  // BatchNorm's running statistics are not parameters. `suffix` is the state_dict suffix.
  virtual void VisitParams(const std::function<void(const std::string& suffix, Tensor& param, Tensor& grad)>& fn) {
    (void)fn;
  }
  // Float64 reference of the training forward and backward: plain loops over the definitions, the
  // oracle for finite differences and for the fast path. `params` are the layer's parameters in
  // VisitParams order (passed explicitly so that a test can perturb them in float64); no state
  // changes. BackwardReference resizes grad_inputs to one tensor per input and grad_params to one per
  // parameter. Defaults: the inference reference, and a std::logic_error for the backward.
  virtual void ForwardTrainReference(const std::vector<const TensorD*>& inputs,
                                     const std::vector<const TensorD*>& params, TensorD& out) const {
    (void)params;
    ForwardReference(inputs, out);
  }
  virtual void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                                 const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                                 std::vector<TensorD>& grad_params) const;
};

// Images per chunk in batch reductions of the backward passes (parameter gradients are summed per
// chunk, then the chunks in order), so that results do not depend on the thread count.
inline constexpr int64_t kGradChunkImages = 8;

// The layer's parameters in VisitParams order, as float64 copies (for the reference path).
std::vector<TensorD> ParamsAsDouble(Layer& layer);
// Pointers to `params`, the form the reference functions take.
std::vector<const TensorD*> Pointers(const std::vector<TensorD>& params);

}  // namespace cimsim
