#include "nets/model_spec.h"

#include <sstream>

#include "common/error.h"

namespace cimsim {

std::string ExpandVggConfig(const std::string& config) {
  for (const VggPreset& p : kVggPresets)
    if (config == p.name) return p.config;
  return config;
}

void ModelSpec::Validate(const std::string& where) const {
  auto fail = [&](const std::string& field, const std::string& value, const std::string& allowed) {
    throw InputError(where + ": attribute '" + field + "' = " + value + " is not allowed: " + allowed);
  };
  if (arch != "resnet" && arch != "vgg") fail("arch", "'" + arch + "'", "use \"resnet\", \"resnetD\" or \"vgg\"");
  if (arch == "resnet" && !IsFourStageResNetDepth(depth) && (depth < 8 || (depth - 2) % 6 != 0 || depth > 1202)) {
    fail("depth", std::to_string(depth),
         "a CIFAR ResNet has depth 6n+2 (8, 14, 20, 32, 44, 56, 110, ...), or 18 or 34 (4-stage, 64-512 planes)");
  }
  if (arch == "resnet" && shortcut != 'A' && shortcut != 'B') {
    fail("shortcut", std::string("'") + shortcut + "'", "\"A\" (subsample + zero-pad) or \"B\" (1x1 conv + BN)");
  }
  if (arch == "resnet" && IsFourStageResNetDepth(depth) && shortcut != 'B') {
    fail("shortcut", std::string("'") + shortcut + "'",
         "ResNet-" + std::to_string(depth) + " always uses option-B shortcuts (1x1 conv + BN): \"B\" or leave it out");
  }
  if (stem != "cifar" && stem != "imagenet") fail("stem", "'" + stem + "'", "\"cifar\" or \"imagenet\"");
  if (stem == "imagenet" && !(arch == "resnet" && IsFourStageResNetDepth(depth)))
    fail("stem", "'imagenet'", "only ResNet-18 and ResNet-34 have the ImageNet stem; use \"cifar\" (or leave it out)");
  if (num_classes < 1 || num_classes > 100000) fail("num_classes", std::to_string(num_classes), "1..100000");
  if (arch == "vgg") {
    std::string presets;
    for (const VggPreset& p : kVggPresets) presets += std::string(presets.empty() ? "" : ", ") + "\"" + p.name + "\"";
    const std::string list = ExpandVggConfig(vgg_config);
    std::stringstream ss(list);
    std::string token;
    int convs = 0;
    while (std::getline(ss, token, ',')) {
      if (token == "M") continue;
      size_t used = 0;
      int width = 0;
      try {
        width = std::stoi(token, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != token.size() || width < 1 || width > 65536) {
        fail("vgg_config", "'" + vgg_config + "'",
             "comma-separated conv widths (1..65536) and M for max pooling, or a preset (" + presets + ")");
      }
      ++convs;
    }
    if (convs == 0) fail("vgg_config", "'" + vgg_config + "'", "at least one conv width, or a preset (" + presets + ")");
  }
  input_norm.Validate(where);
}

std::string ModelSpec::Describe() const {
  std::ostringstream out;
  if (arch == "resnet") {
    out << "resnet" << depth << " (" << (stem == "imagenet" ? "ImageNet stem, " : "") << "shortcut " << shortcut << ", "
        << num_classes << " classes)";
  } else {
    const std::string list = ExpandVggConfig(vgg_config);
    out << "vgg " << (list != vgg_config ? vgg_config + " " : "") << "[" << list << "] (" << num_classes
        << " classes)";
  }
  return out.str();
}

}  // namespace cimsim
