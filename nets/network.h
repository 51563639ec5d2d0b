// network.h — a network as a list of named layer nodes in topological order.
//
// Node i computes layers[i](inputs...) where each input is an earlier node or the network input
// (kInput). The last node's output is the network's output (logits [N, classes]). Node names are
// PyTorch module paths ("conv1", "layer1.0.bn2", "linear"); a node's tensors appear in the
// state_dict as "<node name>.<suffix>" (e.g. "layer1.0.conv1.weight").
// Forward runs depth-first: the batch's images are spread over the pool and each worker runs the
// whole graph on one image at a time, on the calling worker only, so that an image's activations
// stay in cache and there is one synchronization per batch instead of one per layer. Each worker
// recycles its activation buffers (a node's output returns to a spare list right after its last
// consumer ran), so steady-state inference allocates nothing. An image's logits do not depend on
// the batch or the thread count. ForwardReference runs every layer's float64 reference.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nets/layer.h"

namespace cimsim {

struct NetworkNode {
  std::string name;
  std::unique_ptr<Layer> layer;
  std::vector<int> inputs;  // indices of earlier nodes, or Network::kInput
};

// Per-worker state of a forward pass: node outputs, recycled buffers, scratch, a serial pool.
struct GraphBuffers {
  std::vector<Tensor> acts;   // per-node outputs of the current pass
  std::vector<Tensor> spare;  // recycled buffers
  Workspace workspace;
  ThreadPool serial{1};
  Tensor image, logits;       // one image in, its output out
  std::vector<const Tensor*> inputs;  // the current node's inputs
};

struct NamedTensor {
  std::string name;  // state_dict key
  Tensor* tensor;
};

class Network {
 public:
  static constexpr int kInput = -1;

  // Appends a node; returns its index. Inputs must be earlier nodes or kInput; names unique.
  int Add(std::string name, std::unique_ptr<Layer> layer, std::vector<int> inputs);

  // x [N, C, H, W] -> out (the last node's output).
  void Forward(const Tensor& x, Tensor& out, ThreadPool& pool);
  // The same on the calling thread only, with the caller's buffers (one image or a whole batch).
  // `observer`, when given, sees every node's output right after the node ran (calibration).
  using Observer = std::function<void(int node, const Tensor& output)>;
  void ForwardSerial(const Tensor& x, Tensor& out, GraphBuffers& buffers, const Observer* observer = nullptr) const;
  TensorD ForwardReference(const TensorD& x) const;

  // Shape of every node's output for input shape `input` (throws on a mismatch).
  std::vector<Shape> NodeShapes(const Shape& input) const;
  int64_t MacsPerImage(const Shape& input_chw) const;

  std::vector<NamedTensor> StateDict();
  const std::vector<NetworkNode>& nodes() const { return nodes_; }
  std::vector<NetworkNode>& nodes() { return nodes_; }
  int Find(const std::string& name) const;  // -1 if absent

 private:
  std::vector<NetworkNode> nodes_;
  std::vector<int> last_use_;  // last node that reads node i's output
  std::vector<std::unique_ptr<GraphBuffers>> workers_;  // one per worker of the last Forward's pool
};

}  // namespace cimsim
