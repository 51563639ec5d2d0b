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
//
// Fused ReLUs: a ReLU node j whose one input is node i = j − 1, where node j is i's only consumer
// and i's layer FusesRelu (BatchNorm, the residual Add), runs inside i: ForwardTrain calls i's
// ForwardTrainRelu into a_j (a_i is never formed) and Backward, at j, i's BackwardRelu with a_j and g_j,
// which writes the gradients of i's inputs (node i then has no gradient of its own and is skipped).
// Adjacent nodes only, so every other node's backward runs in the same order as without fusion. The
// floats are those of the separate layers — the same parameters, gradients and running statistics
// bit for bit (train_graph_test.cc) — with three passes over the tensor saved per pair.
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
  // `net` must outlive the graph. fuse_relu = false runs every node on its own (the definition the
  // fused graph is tested against).
  explicit TrainGraph(Network& net, bool fuse_relu = true);

  // x [N, C, H, W] → the last node's output (logits [N, classes]); training mode (BatchNorm batch
  // statistics and running-statistics updates).
  const Tensor& ForwardTrain(const Tensor& x, ThreadPool& pool);
  // grad_logits = dL/d(logits) of the last ForwardTrain → every layer's parameter gradients.
  void Backward(const Tensor& grad_logits, ThreadPool& pool);

  // Every trainable parameter, in state_dict order.
  std::vector<ParamRef> Params();
  // How many ReLU nodes run fused into the node before them.
  int64_t FusedRelus() const;

 private:
  Network& net_;
  const Tensor* input_ = nullptr;
  std::vector<Tensor> acts_;        // node outputs
  std::vector<Tensor> grads_;       // dL/d(node output)
  std::vector<char> has_grad_;      // grads_[i] holds a contribution in this Backward
  std::vector<char> fused_relu_;    // node i is a ReLU run inside node i − 1 (above)
  std::vector<Tensor> partial_;     // per input slot scratch for a second contribution
  std::vector<const Tensor*> ins_;
  std::vector<Tensor*> grad_ins_;
  Workspace ws_;
};

}  // namespace cimsim
