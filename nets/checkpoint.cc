#include "nets/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "nets/builders.h"

namespace cimsim {
namespace {

constexpr const char* kParams = "/params";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int ReadSmallInt(const H5File& file, const std::string& name) {
  const int64_t v = file.ReadIntAttribute("/", name);
  if (v < -1000000 || v > 1000000) {
    throw InputError(file.Path() + ": attribute '" + name + "' = " + std::to_string(v) + " is out of range");
  }
  return static_cast<int>(v);
}

std::array<double, 3> ReadTriple(const H5File& file, const std::string& name) {
  const std::vector<double> v = file.ReadDoubleArrayAttribute("/", name);
  if (v.size() != 3) {
    throw InputError(file.Path() + ": attribute '" + name + "' has " + std::to_string(v.size()) +
                     " values, expected 3 (one per RGB channel)");
  }
  return {v[0], v[1], v[2]};
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

ModelSpec ReadModelSpec(const H5File& file) {
  ModelSpec spec;
  std::string arch = Lower(file.ReadStringAttribute("/", "arch"));
  if (StartsWith(arch, "resnet") && arch.size() > 6 &&
      std::all_of(arch.begin() + 6, arch.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (arch.size() > 10)
      throw InputError(file.Path() + ": attribute 'arch' = '" + arch + "': the depth of a ResNet has at most 4 digits");
    const int named_depth = std::stoi(arch.substr(6));
    arch = "resnet";
    if (file.HasAttribute("/", "depth") && ReadSmallInt(file, "depth") != named_depth) {
      throw InputError(file.Path() + ": attribute 'arch' names depth " + std::to_string(named_depth) +
                       " but attribute 'depth' = " + std::to_string(ReadSmallInt(file, "depth")));
    }
    spec.depth = named_depth;
  } else if (arch == "resnet") {
    spec.depth = ReadSmallInt(file, "depth");
  }
  spec.arch = arch;
  if (arch == "resnet" && IsFourStageResNetDepth(spec.depth) && !file.HasAttribute("/", "shortcut")) {
    spec.shortcut = 'B';  // ResNet-18/34 have option-B shortcuts only; an explicit "A" fails Validate
  } else if (arch == "resnet") {
    const std::string shortcut = file.ReadStringAttribute("/", "shortcut");
    if (shortcut.size() != 1) {
      throw InputError(file.Path() + ": attribute 'shortcut' = '" + shortcut + "' is not allowed: \"A\" or \"B\"");
    }
    spec.shortcut = static_cast<char>(std::toupper(static_cast<unsigned char>(shortcut[0])));
  }
  if (file.HasAttribute("/", "stem")) spec.stem = file.ReadStringAttribute("/", "stem");
  if (arch == "vgg") {
    spec.vgg_config = file.HasAttribute("/", "vgg_config") ? file.ReadStringAttribute("/", "vgg_config")
                                                           : std::string(kDefaultVggConfig);
  }
  spec.num_classes = ReadSmallInt(file, "num_classes");
  spec.input_norm.mean = ReadTriple(file, "input_mean");
  spec.input_norm.std = ReadTriple(file, "input_std");
  spec.Validate(file.Path());
  return spec;
}

void ReadStateDict(const H5File& file, Network& net, const std::string& what) {
  const std::string& path = file.Path();
  if (!file.Exists(kParams)) throw InputError(path + ": no group /params holding the state_dict tensors");

  // Map state_dict key -> dataset path, dropping a "module." prefix that every key carries.
  std::map<std::string, std::string> datasets;
  const std::vector<std::string> paths = file.ListDatasets(kParams);
  const std::string root = std::string(kParams) + "/";
  const bool all_module = !paths.empty() && std::all_of(paths.begin(), paths.end(), [&](const std::string& p) {
    return StartsWith(p, root + "module.");
  });
  for (const std::string& p : paths) datasets[p.substr(root.size() + (all_module ? 7 : 0))] = p;

  std::set<std::string> used;
  for (const NamedTensor& t : net.StateDict()) {
    const auto it = datasets.find(t.name);
    if (it == datasets.end()) {
      throw InputError(path + ": missing tensor '" + t.name + "' (shape " + ShapeString(t.tensor->shape()) +
                       ") that a " + what + " needs");
    }
    const H5Array array = file.ReadArray(it->second);
    if (array.shape != t.tensor->shape()) {
      throw InputError(path + ": tensor '" + t.name + "' has shape " + ShapeString(array.shape) + ", a " + what +
                       " needs " + ShapeString(t.tensor->shape()));
    }
    const bool variance = t.name.size() >= 12 && t.name.compare(t.name.size() - 12, 12, ".running_var") == 0;
    for (size_t i = 0; i < array.values.size(); ++i) {
      if (variance && array.values[i] < 0)
        throw InputError(path + ": tensor '" + t.name + "' holds a negative variance (" + std::to_string(array.values[i]) +
                         ") at flat index " + std::to_string(i) + "; a BatchNorm variance is >= 0");
      if (!std::isfinite(array.values[i])) {
        throw InputError(path + ": tensor '" + t.name + "' has a non-finite value at flat index " +
                         std::to_string(i));
      }
      (*t.tensor)[static_cast<int64_t>(i)] = static_cast<float>(array.values[i]);
    }
    used.insert(t.name);
  }
  std::vector<std::string> unused;
  for (const auto& [key, dataset] : datasets) {
    if (used.count(key)) continue;
    const std::string suffix = ".num_batches_tracked";
    if (EndsWith(key, suffix)) {
      const int node = net.Find(key.substr(0, key.size() - suffix.size()));
      if (node >= 0 && net.nodes()[static_cast<size_t>(node)].layer->Kind() == "batch_norm" &&
          NumElements(file.DatasetShape(dataset)) == 1) {
        continue;
      }
    }
    unused.push_back(key);
  }
  if (!unused.empty()) {
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 5; ++i) list += (i ? ", '" : "'") + unused[i] + "'";
    if (unused.size() > 5) list += " and " + std::to_string(unused.size() - 5) + " more";
    throw InputError(path + ": " + std::to_string(unused.size()) + " tensor(s) in /params that a " + what +
                     " does not use: " + list);
  }
  for (NetworkNode& node : net.nodes()) node.layer->ParamsChanged();
}

LoadedModel LoadModel(const std::string& path) {
  const H5File file = H5File::OpenRead(path);
  LoadedModel model{ReadModelSpec(file), Network()};
  model.net = BuildNetwork(model.spec);
  ReadStateDict(file, model.net, model.spec.Describe());
  return model;
}

void WriteStateDict(H5File& file, Network& net) {
  for (const NamedTensor& t : net.StateDict()) {
    file.WriteFloatArray(std::string(kParams) + "/" + t.name, t.tensor->shape(), t.tensor->data());
  }
}

void SaveModel(const std::string& path, const ModelSpec& spec, Network& net, const Provenance* provenance) {
  H5File file = H5File::CreateAtomic(path);
  if (provenance != nullptr) WriteProvenance(file, *provenance);
  WriteModel(file, spec, net);
  file.Commit();
}

void WriteModel(H5File& file, const ModelSpec& spec, Network& net) {
  spec.Validate(file.Path());
  file.WriteStringAttribute("/", "arch", spec.arch);
  if (spec.arch == "resnet") {
    file.WriteIntAttribute("/", "depth", spec.depth);
    file.WriteStringAttribute("/", "shortcut", std::string(1, spec.shortcut));
    // Written only when not the default, so the files of CIFAR networks stay as they were.
    if (spec.stem != "cifar") file.WriteStringAttribute("/", "stem", spec.stem);
  } else {
    file.WriteStringAttribute("/", "vgg_config", spec.vgg_config);
  }
  file.WriteIntAttribute("/", "num_classes", spec.num_classes);
  file.WriteDoubleArrayAttribute("/", "input_mean", {spec.input_norm.mean.begin(), spec.input_norm.mean.end()});
  file.WriteDoubleArrayAttribute("/", "input_std", {spec.input_norm.std.begin(), spec.input_norm.std.end()});
  WriteStateDict(file, net);
}

}  // namespace cimsim
