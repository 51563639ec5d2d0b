#include "train/train_graph.h"

#include <algorithm>
#include <stdexcept>

namespace cimsim {

TrainGraph::TrainGraph(Network& net, bool fuse_relu) : net_(net) {
  const std::vector<NetworkNode>& nodes = net.nodes();
  const size_t n = nodes.size();
  if (n == 0) throw std::logic_error("TrainGraph: empty network");
  acts_.resize(n);
  grads_.resize(n);
  has_grad_.assign(n, 0);
  size_t max_inputs = 0;
  std::vector<int> consumers(n, 0);
  for (const NetworkNode& node : nodes) {
    max_inputs = std::max(max_inputs, node.inputs.size());
    for (int in : node.inputs)
      if (in != Network::kInput) ++consumers[static_cast<size_t>(in)];
  }
  partial_.resize(max_inputs);
  fused_relu_.assign(n, 0);
  if (!fuse_relu) return;
  for (size_t j = 1; j < n; ++j) {
    const NetworkNode& node = nodes[j];
    const size_t i = j - 1;
    fused_relu_[j] = node.layer->Kind() == "relu" && node.inputs.size() == 1 && node.inputs[0] == static_cast<int>(i) &&
                     consumers[i] == 1 && nodes[i].layer->FusesRelu() && !fused_relu_[i];
  }
}

const Tensor& TrainGraph::ForwardTrain(const Tensor& x, ThreadPool& pool) {
  input_ = &x;
  std::vector<NetworkNode>& nodes = net_.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i + 1 < nodes.size() && fused_relu_[i + 1]) continue;  // runs with its ReLU, next
    const size_t owner = fused_relu_[i] ? i - 1 : i;  // the node whose layer runs and inputs it reads
    ins_.clear();
    for (int in : nodes[owner].inputs) ins_.push_back(in == Network::kInput ? &x : &acts_[static_cast<size_t>(in)]);
    if (fused_relu_[i]) {
      nodes[owner].layer->ForwardTrainRelu(ins_, acts_[i], pool, ws_);
    } else {
      nodes[i].layer->ForwardTrain(ins_, acts_[i], pool, ws_);
    }
  }
  return acts_.back();
}

void TrainGraph::Backward(const Tensor& grad_logits, ThreadPool& pool) {
  if (input_ == nullptr) throw std::logic_error("TrainGraph::Backward before ForwardTrain");
  if (grad_logits.shape() != acts_.back().shape())
    throw std::invalid_argument("TrainGraph::Backward: gradient shape " + ShapeString(grad_logits.shape()) +
                                " differs from the output " + ShapeString(acts_.back().shape()));
  std::vector<NetworkNode>& nodes = net_.nodes();
  std::fill(has_grad_.begin(), has_grad_.end(), 0);
  grads_.back().Resize(grad_logits.shape());
  std::copy_n(grad_logits.data(), grad_logits.size(), grads_.back().data());
  has_grad_.back() = 1;
  for (size_t i = nodes.size(); i-- > 0;) {
    if (!has_grad_[i]) continue;  // feeds nothing that reaches the loss (or a fused node's producer)
    const size_t owner = fused_relu_[i] ? i - 1 : i;  // whose inputs receive the gradient
    const NetworkNode& node = nodes[owner];
    ins_.clear();
    grad_ins_.clear();
    for (size_t s = 0; s < node.inputs.size(); ++s) {
      const int in = node.inputs[s];
      ins_.push_back(in == Network::kInput ? input_ : &acts_[static_cast<size_t>(in)]);
      if (in == Network::kInput) {
        grad_ins_.push_back(nullptr);
      } else if (!has_grad_[static_cast<size_t>(in)]) {
        grad_ins_.push_back(&grads_[static_cast<size_t>(in)]);  // first contribution: written in place
        has_grad_[static_cast<size_t>(in)] = 1;
      } else {
        grad_ins_.push_back(&partial_[s]);  // a later contribution: added below
      }
    }
    if (fused_relu_[i]) {
      node.layer->BackwardRelu(ins_, acts_[i], grads_[i], grad_ins_, pool, ws_);
    } else {
      node.layer->Backward(ins_, acts_[i], grads_[i], grad_ins_, pool, ws_);
    }
    for (size_t s = 0; s < node.inputs.size(); ++s) {
      const int in = node.inputs[s];
      if (in == Network::kInput) continue;
      Tensor& g = grads_[static_cast<size_t>(in)];
      if (grad_ins_[s] == &partial_[s]) {
        const Tensor& p = partial_[s];
        if (p.shape() != g.shape()) throw std::logic_error("TrainGraph: gradient shapes of node " + nodes[static_cast<size_t>(in)].name + " disagree");
        float* gd = g.data();
        const float* pd = p.data();
        const int64_t count = g.size();
        pool.ParallelFor(count, [&](std::ptrdiff_t b, std::ptrdiff_t e, int) {
          for (std::ptrdiff_t k = b; k < e; ++k) gd[k] += pd[k];
        });
      }
    }
  }
}

std::vector<ParamRef> TrainGraph::Params() {
  std::vector<ParamRef> out;
  for (NetworkNode& node : net_.nodes()) {
    node.layer->VisitParams([&](const std::string& suffix, Tensor& param, Tensor& grad) {
      out.push_back({node.name + "." + suffix, &param, &grad});
    });
  }
  return out;
}

int64_t TrainGraph::FusedRelus() const {
  return std::count(fused_relu_.begin(), fused_relu_.end(), 1);
}

}  // namespace cimsim
