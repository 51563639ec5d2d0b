// cimsim calibrate — program a simulated chip, characterise its arrays and fit the periphery's
// per-column corrections (and ADC ranges), as one would calibrate a real chip.
#include <boost/program_options.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "common/error.h"
#include "common/progress.h"
#include "data/cifar10.h"
#include "calib/activation_inputs.h"
#include "experiments/calibrate_config.h"
#include "calib/trace_calibration.h"
#include "experiments/calibration_file.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim::cli {
namespace po = boost::program_options;

int CalibrateCommand(const std::vector<std::string>& args) {
  std::string config_path, out_path;
  po::options_description desc(
      "cimsim calibrate: program a simulated chip and fit its per-column corrections (docs/crossbar.md)\n"
      "usage: cimsim calibrate --config cal.json --out CAL.h5\noptions");
  desc.add_options()("help,h", "show this help")(
      "config", po::value(&config_path)->required(), "calibration config, JSON (docs/crossbar.md)")(
      "out", po::value(&out_path)->required(), "calibration file to write, HDF5");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  CheckWritableParent("--out", out_path);
  CalibrateConfig config = LoadCalibrateConfig(config_path);
  for (const std::string& note : config.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  const QuantizedModel model = LoadQuantizedModel(config.qmodel);
  model.Validate(config.qmodel);

  // Traces: the layers default to the traced ones, and every selected layer must have traces.
  const bool traces = config.inputs == CalibrationInputKind::kTraces;
  std::vector<std::string> traced;
  if (traces) {
    traced = TracedLayers(config.trace_file, config.trace_point);
    if (traced.empty())
      throw InputError(config_path + ": traces: " + config.trace_file + " has no traces at point " +
                       std::to_string(config.trace_point));
    if (config.layers.empty()) config.layers = traced;
    for (const std::string& name : config.layers)
      if (std::find(traced.begin(), traced.end(), name) == traced.end())
        throw InputError(config_path + ": layers: '" + name + "' has no traces at point " +
                         std::to_string(config.trace_point) + " of " + config.trace_file);
  }

  // The selected conv/linear nodes (all by default); unknown names are errors.
  std::vector<int> nodes;
  for (size_t i = 0; i < model.nodes.size(); ++i) {
    const QNode& n = model.nodes[i];
    if (n.kind != QNodeKind::kConv && n.kind != QNodeKind::kLinear) continue;
    if (config.layers.empty() || std::find(config.layers.begin(), config.layers.end(), n.name) != config.layers.end())
      nodes.push_back(static_cast<int>(i));
  }
  for (const std::string& name : config.layers) {
    const bool found = std::any_of(nodes.begin(), nodes.end(), [&](int i) { return model.nodes[static_cast<size_t>(i)].name == name; });
    if (!found) throw InputError(config_path + ": layers: '" + name + "' is not a conv/linear layer of " + config.qmodel);
  }

  // Real activations: the layers' inputs on a class-balanced subset of the training images.
  std::map<int, CalibrationInputs> activations;
  if (config.inputs == CalibrationInputKind::kActivations) {
    config.data = ResolveDataPath(config.data);
    activations = TrainingActivationInputs(model, nodes, config.data, config.images, config.params);
  }

  const MvmCoreFactory factory = ChipCoreFactory(config.xbar);
  ChipCalibrationFile file;
  file.qmodel = config.qmodel;
  file.xbar_config = XbarConfigToJson(config.xbar).dump();
  file.calibration_config = CalibrateConfigToJson(config).dump();
  Progress progress = Progress::ToStderr("calibrate", static_cast<int64_t>(nodes.size()));
  std::printf("%-22s %12s %12s %10s %10s\n", "layer", "rmse before", "rmse after", "rel before", "rel after");
  for (int i : nodes) {
    const QNode& n = model.nodes[static_cast<size_t>(i)];
    const std::unique_ptr<MvmCore> core = factory(n, i);
    const LayerCalibration cal =
        traces ? CalibrateFromReads(ReadTraceReads(config.trace_file, config.trace_point, config.trace_instance, n.name),
                                    *core, config.params, config_path)
        : activations.empty() ? CalibrateLayer(n, *core, config.params)
                              : CalibrateLayer(n, *core, activations.at(i), config.params);
    std::printf("%-22s %12.4g %12.4g %10.4g %10.4g\n", n.name.c_str(), cal.rmse_before, cal.rmse_after,
                cal.relative_before, cal.relative_after);
    const ReadoutGeometry geometry = RequireReadout(*core, n.name).Geometry();
    file.shapes[i] = {geometry.tile_rows, geometry.weight_slices, geometry.outputs};
    file.layers[i] = cal;
    progress.Add(1);
  }
  progress.Finish();
  const Provenance provenance = CommandProvenance("calibrate", args);
  SaveChipCalibration(out_path, file, &provenance);
  std::printf("wrote %s: %zu layers calibrated in %.1f s\n", out_path.c_str(), nodes.size(), progress.ElapsedSeconds());
  return 0;
}

}  // namespace cimsim::cli
