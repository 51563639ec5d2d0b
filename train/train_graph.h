// train_graph.h — a Network run batch-wise for training: the forward pass in training mode layer by
// layer over the whole batch, then the backward pass in reverse graph order.
//
// Inference runs depth-first (one image through the whole graph); training cannot, because BatchNorm
// in training mode needs the statistics of the whole batch at every layer. So ForwardTrain runs node
// i = 0..L−1 on the batch, keeping every node's output a_i (the layers' Backward needs its inputs and
// output), and Backward runs i = L−1..0 with
//     g_i = dL/da_i = Σ_{j consumes i} (dL/d input of j that is a_i),
// the contributions of a node's consumers summed in decreasing consumer order (a fixed order, so the
// sum does not depend on anything but the graph). Every layer's Backward is bit-identical for any
// thread count, hence so is the whole step. Tensors are kept between batches (Resize reuses their
// storage): a steady-state step allocates nothing once the largest batch has been seen.
#pragma once

#include <string>
#include <vector>

#include "nets/network.h"

namespace cimsim {

// One trainable tensor and its gradient, named by its state_dict key.
struct ParamRef {
  std::string name;
  Tensor* param;
  Tensor* grad;
};

class TrainGraph {
 public:
  // `net` must outlive the graph.
  explicit TrainGraph(Network& net);

  // x [N, C, H, W] → the last node's output (logits [N, classes]); training mode (BatchNorm batch
  // statistics and running-statistics updates).
  const Tensor& ForwardTrain(const Tensor& x, ThreadPool& pool);
  // grad_logits = dL/d(logits) of the last ForwardTrain → every layer's parameter gradients.
  void Backward(const Tensor& grad_logits, ThreadPool& pool);

  // Every trainable parameter, in state_dict order.
  std::vector<ParamRef> Params();

 private:
  Network& net_;
  const Tensor* input_ = nullptr;
  std::vector<Tensor> acts_;        // node outputs
  std::vector<Tensor> grads_;       // dL/d(node output)
  std::vector<char> has_grad_;      // grads_[i] holds a contribution in this Backward
  std::vector<Tensor> partial_;     // per input slot scratch for a second contribution
  std::vector<const Tensor*> ins_;
  std::vector<Tensor*> grad_ins_;
  Workspace ws_;
};

}  // namespace cimsim
