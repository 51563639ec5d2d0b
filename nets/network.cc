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

void Network::Forward(const Tensor& x, Tensor& out, ThreadPool& pool) {
  if (nodes_.empty()) throw std::logic_error("empty network");
  acts_.resize(nodes_.size());
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NetworkNode& node = nodes_[i];
    ins.clear();
    for (int in : node.inputs) ins.push_back(in == kInput ? &x : &acts_[static_cast<size_t>(in)]);
    Tensor result;
    if (!spare_.empty()) {
      result = std::move(spare_.back());
      spare_.pop_back();
    }
    node.layer->Forward(ins, result, pool);
    acts_[i] = std::move(result);
    for (int in : node.inputs) {
      if (in != kInput && last_use_[static_cast<size_t>(in)] == static_cast<int>(i) &&
          acts_[static_cast<size_t>(in)].size() > 0) {
        spare_.push_back(std::move(acts_[static_cast<size_t>(in)]));
        acts_[static_cast<size_t>(in)] = Tensor();
      }
    }
  }
  std::swap(out, acts_.back());
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
