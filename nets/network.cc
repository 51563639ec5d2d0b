#include "nets/network.h"

#include <algorithm>
#include <stdexcept>

namespace cimsim {

int Network::Add(std::string name, std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  const int index = static_cast<int>(nodes_.size());
  if (Find(name) >= 0) throw std::invalid_argument("duplicate node name " + name);
  if (inputs.empty()) throw std::invalid_argument("node " + name + " has no inputs");
  for (int in : inputs) {
    if (in != kInput && (in < 0 || in >= index)) throw std::invalid_argument("node " + name + " reads a later node");
    if (in != kInput) last_use_[static_cast<size_t>(in)] = index;
  }
  nodes_.push_back({std::move(name), std::move(layer), std::move(inputs)});
  last_use_.push_back(index);
  return index;
}

int Network::Find(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

void Network::ForwardSerial(const Tensor& x, Tensor& out, GraphBuffers& buffers, const Observer* observer) const {
  if (nodes_.empty()) throw std::logic_error("empty network");
  std::vector<Tensor>& acts = buffers.acts;
  acts.resize(nodes_.size());
  buffers.workspace.Reserve(1);
  std::vector<const Tensor*>& ins = buffers.inputs;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NetworkNode& node = nodes_[i];
    ins.clear();
    for (int in : node.inputs) ins.push_back(in == kInput ? &x : &acts[static_cast<size_t>(in)]);
    Tensor result;
    if (!buffers.spare.empty()) {
      result = std::move(buffers.spare.back());
      buffers.spare.pop_back();
    }
    node.layer->Forward(ins, result, buffers.serial, buffers.workspace);
    acts[i] = std::move(result);
    if (observer) (*observer)(static_cast<int>(i), acts[i]);
    for (int in : node.inputs) {
      if (in == kInput || last_use_[static_cast<size_t>(in)] != static_cast<int>(i)) continue;
      Tensor& done = acts[static_cast<size_t>(in)];
      if (done.size() > 0) buffers.spare.push_back(std::move(done));
      done = Tensor();
    }
  }
  std::swap(out, acts.back());
}

void Network::Forward(const Tensor& x, Tensor& out, ThreadPool& pool) {
  const int64_t n = x.dim(0);
  Shape image_shape = x.shape();
  image_shape[0] = 1;
  Shape out_shape = NodeShapes(image_shape).back();
  const int64_t out_size = NumElements(out_shape), in_size = NumElements(image_shape);
  out_shape[0] = n;
  out.Resize(out_shape);
  while (workers_.size() < static_cast<size_t>(pool.Threads())) workers_.push_back(std::make_unique<GraphBuffers>());
  pool.ParallelFor(n, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    GraphBuffers& b = *workers_[static_cast<size_t>(worker)];
    b.image.Resize(image_shape);
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      std::copy_n(x.data() + i * in_size, in_size, b.image.data());
      ForwardSerial(b.image, b.logits, b);
      std::copy_n(b.logits.data(), out_size, out.data() + i * out_size);
    }
  });
}

TensorD Network::ForwardReference(const TensorD& x) const {
  std::vector<TensorD> acts(nodes_.size());
  std::vector<const TensorD*> ins;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    ins.clear();
    for (int in : nodes_[i].inputs) ins.push_back(in == kInput ? &x : &acts[static_cast<size_t>(in)]);
    nodes_[i].layer->ForwardReference(ins, acts[i]);
  }
  return acts.back();
}

std::vector<Shape> Network::NodeShapes(const Shape& input) const {
  std::vector<Shape> shapes(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::vector<Shape> ins;
    for (int in : nodes_[i].inputs) ins.push_back(in == kInput ? input : shapes[static_cast<size_t>(in)]);
    shapes[i] = nodes_[i].layer->OutputShape(ins);
  }
  return shapes;
}

int64_t Network::MacsPerImage(const Shape& input_chw) const {
  Shape input = {1};
  input.insert(input.end(), input_chw.begin(), input_chw.end());
  const std::vector<Shape> shapes = NodeShapes(input);
  int64_t macs = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::vector<Shape> ins;
    for (int in : nodes_[i].inputs) ins.push_back(in == kInput ? input : shapes[static_cast<size_t>(in)]);
    macs += nodes_[i].layer->MacsPerImage(ins);
  }
  return macs;
}

std::vector<NamedTensor> Network::StateDict() {
  std::vector<NamedTensor> out;
  for (NetworkNode& node : nodes_) {
    node.layer->VisitTensors([&](const std::string& suffix, Tensor& t) {
      out.push_back({node.name + "." + suffix, &t});
    });
  }
  return out;
}

}  // namespace cimsim
