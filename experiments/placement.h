// placement.h — which conv/linear layers of a quantized model run on the CIM device, and what a
// device/cloud split transmits.
//
// Placement (experiments/experiment_config.h): all layers; a list of layers; or a split after node L
// (any node: a conv/linear layer, or e.g. a residual block's add "layer2.0.add", whose 8-bit output is
// the natural cut): every node up to and including L (the nodes are in topological order) runs on the
// device — its conv/linear layers on CIM — and every later node digitally in the cloud. The feature maps that cross
// are the outputs of device nodes read by cloud nodes; each is sent as its integer codes bit-packed at
// b = ⌈log2(out_max − out_min + 1)⌉ bits per element (e.g. 8 for [0, 255], 17 for a wide residual sum):
//     transmitted_bytes = ⌈Σ_crossing elements·b / 8⌉   per image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/experiment_config.h"
#include "nets/quantized_model.h"

namespace cimsim {

struct PlacementPlan {
  std::vector<bool> cim;                  // per node: a conv/linear node on CIM
  std::vector<std::string> cim_layers;    // their names, in node order
  std::vector<std::string> mvm_layers;    // every conv/linear node name, in node order
  int split_node = -1;                    // the last device node (−1: no split)
  int64_t transmitted_bytes = 0;          // per image (0 without a split)
};

// InputError "<where>: <placement.path>: '<name>' is not a conv/linear layer of the model; layers: ..."
// for an unknown layer name, and "<where>: <placement.path>: '<name>' is not a node of the model; nodes: ..."
// for an unknown split node (path: "placement.cim", "placement.split", or "sweep[a].values[k]" when swept).
PlacementPlan ResolvePlacement(const QuantizedModel& model, const Placement& placement, const std::string& where);

}  // namespace cimsim
