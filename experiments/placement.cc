#include "experiments/placement.h"

#include <algorithm>
#include <bit>

#include "common/error.h"

namespace cimsim {
namespace {

bool IsMvm(const QNode& n) { return n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear; }

int CodeBits(const QNode& n) {
  const uint64_t span = static_cast<uint64_t>(int64_t{n.out_max} - int64_t{n.out_min});
  return std::max(1, static_cast<int>(std::bit_width(span)));
}

}  // namespace

PlacementPlan ResolvePlacement(const QuantizedModel& model, const Placement& placement, const std::string& where) {
  PlacementPlan plan;
  const size_t count = model.nodes.size();
  plan.cim.assign(count, false);
  std::string names;
  for (const QNode& n : model.nodes)
    if (IsMvm(n)) {
      plan.mvm_layers.push_back(n.name);
      names += (names.empty() ? "" : ", ") + n.name;
    }
  auto find = [&](const std::string& name, const std::string& what) {
    for (size_t i = 0; i < count; ++i)
      if (IsMvm(model.nodes[i]) && model.nodes[i].name == name) return static_cast<int>(i);
    throw InputError(where + ": " + what + ": '" + name + "' is not a conv/linear layer of the model; layers: " + names);
  };
  if (!placement.split.empty()) {
    // Any node: a block's add is the natural cut (its 8-bit output), a conv before it sends its wide sum.
    std::string node_names;
    for (size_t i = 0; i < count && plan.split_node < 0; ++i)
      if (model.nodes[i].name == placement.split) plan.split_node = static_cast<int>(i);
    if (plan.split_node < 0) {
      for (const QNode& n : model.nodes) node_names += (node_names.empty() ? "" : ", ") + n.name;
      throw InputError(where + ": " + placement.path + ": '" + placement.split + "' is not a node of the model; nodes: " +
                       node_names);
    }
    for (int i = 0; i <= plan.split_node; ++i) plan.cim[static_cast<size_t>(i)] = IsMvm(model.nodes[static_cast<size_t>(i)]);
    const auto shapes = model.NodeShapes();
    int64_t bits = 0;
    for (int i = 0; i <= plan.split_node; ++i) {
      bool crosses = false;
      for (size_t j = static_cast<size_t>(plan.split_node) + 1; j < count; ++j)
        for (int in : model.nodes[j].inputs) crosses = crosses || in == i;
      if (!crosses) continue;
      const auto& s = shapes[static_cast<size_t>(i)];
      bits += s[0] * s[1] * s[2] * CodeBits(model.nodes[static_cast<size_t>(i)]);
    }
    plan.transmitted_bytes = (bits + 7) / 8;
  } else if (placement.all) {
    for (size_t i = 0; i < count; ++i) plan.cim[i] = IsMvm(model.nodes[i]);
  } else {
    for (const std::string& name : placement.cim) plan.cim[static_cast<size_t>(find(name, placement.path))] = true;
  }
  for (size_t i = 0; i < count; ++i)
    if (plan.cim[i]) plan.cim_layers.push_back(model.nodes[i].name);
  return plan;
}

}  // namespace cimsim
