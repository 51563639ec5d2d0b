// cimsim quantize — post-training quantization of a float model into an integer model file.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "common/progress.h"
#include "data/cifar10.h"
#include "experiments/quant_config_json.h"
#include "nets/checkpoint.h"
#include "nets/quantize_network.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim::cli {
namespace po = boost::program_options;

namespace {

// One line per conv/linear layer: its bits and scales.
void PrintLayers(const QuantizedModel& m, const std::vector<ResolvedLayer>& layers) {
  std::printf("%-22s %4s %4s %-10s %-10s %12s\n", "layer", "W", "A_in", "w-range", "a-range", "out scale");
  for (const QNode& n : m.nodes) {
    if (n.kind != QNodeKind::kConv && n.kind != QNodeKind::kLinear) continue;
    const ResolvedLayer* l = nullptr;
    for (const ResolvedLayer& r : layers)
      if (r.name == n.name) l = &r;
    // A layer reading a requant node: its input tensor has more bits, re-encoded for it.
    std::string via;
    if (n.inputs[0] != QNode::kImage) {
      const QNode& in = m.nodes[static_cast<size_t>(n.inputs[0])];
      if (in.kind == QNodeKind::kRequant)
        via = " (input requantized from " + std::to_string(m.nodes[static_cast<size_t>(in.inputs[0])].out_bits) + " bits)";
    }
    std::printf("%-22s %4d %4d %-10s %-10s %12.5g%s%s\n", n.name.c_str(), n.weight_bits, n.input_bits,
                l ? std::string(ToString(l->params.weight_range.method)).c_str() : "?",
                l ? std::string(ToString(l->params.activation_range.method)).c_str() : "?", n.out_scale,
                n.out_bits == 0 ? " (wide)" : "", via.c_str());
  }
}

}  // namespace

int QuantizeCommand(const std::vector<std::string>& args) {
  std::string model_path, config_path, data_flag, out_path;
  po::options_description desc(
      "cimsim quantize: post-training quantization of a float model (docs/quant_config.md)\n"
      "usage: cimsim quantize --model M.h5 --config q.json [--data PATH] --out Q.h5\noptions");
  desc.add_options()("help,h", "show this help")(
      "model", po::value(&model_path)->required(), "float model, HDF5 (docs/model_format.md)")(
      "config", po::value(&config_path)->required(), "quantization config, JSON (docs/quant_config.md)")(
      "data", po::value(&data_flag),
      "CIFAR-10 training data for range calibration: a directory (data_batch_1..5.bin) or one .bin file; "
      "default: $CIMSIM_DATA")("out", po::value(&out_path)->required(),
                               "quantized model to write, HDF5 (docs/quantization.md)");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  CheckWritableParent("--out", out_path);

  const QuantPlan plan = LoadQuantConfig(config_path);
  const std::string data_path = ResolveDataPath(data_flag);
  LoadedModel model = LoadModel(model_path);
  const std::vector<ResolvedLayer> layers = plan.Resolve(MvmLayerNames(model.net));
  const Cifar10Set train = LoadCifar10(data_path, Cifar10Split::kTrain);
  const Provenance provenance = CommandProvenance("quantize", args);
  PlannedCalibration cal = PlanCalibration(train, plan.calibration);
  cal.options.description = model.spec.Describe() + " quantized from " + model_path + " with " + config_path;
  Progress progress = Progress::ToStderr("calibrate", static_cast<int64_t>(cal.indices.size()));
  const QuantizedModel q = QuantizeNetwork(model.net, model.spec, layers, train, cal.indices, cal.options, &progress);
  progress.Finish();
  SaveQuantizedModel(q, out_path,
                     {{"source_model", model_path},
                      {"calibration_data", data_path},
                      {"quant_config", QuantPlanToJson(plan).dump()}},
                     &provenance);
  PrintLayers(q, layers);
  std::printf("wrote %s: %zu integer nodes, %lld MACs per image, calibrated on %zu training images in %.1f s\n",
              out_path.c_str(), q.nodes.size(), static_cast<long long>(q.MacsPerImage()), cal.indices.size(),
              progress.ElapsedSeconds());
  return 0;
}

}  // namespace cimsim::cli
