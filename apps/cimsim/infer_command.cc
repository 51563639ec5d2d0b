// cimsim infer — accuracy of a quantized model through the integer-only engine.
#include <boost/program_options.hpp>
#include <iostream>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "common/error.h"
#include "common/progress.h"
#include "common/streams.h"
#include "data/cifar10.h"
#include "data/image_folder_views.h"
#include "experiments/eval_report.h"
#include "experiments/evaluate_integer.h"
#include "experiments/calibration_file.h"
#include "experiments/xbar_config.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim::cli {
namespace po = boost::program_options;

int InferCommand(const std::vector<std::string>& args) {
  std::string qmodel_path, data_flag, json_path, xbar_path, calibration_path;
  int64_t images_per_call = 1;
  int resize = 0;
  EvalParams params;
  params.threads = ThreadPool::HardwareThreads();
  params.precision = Precision::kInteger;
  po::options_description desc(
      "cimsim infer: top-1 accuracy of a quantized model, integer-only inference\n"
      "usage: cimsim infer --qmodel Q.h5 [--data PATH] [options]\noptions");
  desc.add_options()("help,h", "show this help")(
      "qmodel", po::value(&qmodel_path)->required(), "quantized model from `cimsim quantize` (HDF5)")(
      "data", po::value(&data_flag),
      "CIFAR-10 binary data: a directory (its test_batch.bin is used) or one .bin file, or an image folder "
      "(class subfolders; evaluation views at the model's input side); default: $CIMSIM_DATA")(
      "resize", po::value(&resize)->default_value(0),
      "image folder: Resize to this side before the CenterCrop (0 = side·256/224)")(
      "limit", po::value(&params.limit)->default_value(0), "evaluate only the first N images (0 = all)")(
      "batch", po::value(&params.batch_size)->default_value(100), "images per batch")(
      "threads", po::value(&params.threads)->default_value(params.threads), "worker threads")(
      "images-per-call", po::value(&images_per_call)->default_value(1),
      "layer-major execution: each worker runs every layer over this many images with one core call "
      "(1..4096; 1 = image by image); the logits do not depend on it")(
      "json", po::value(&json_path), "also write the figures to this JSON file (- : to stdout, the summary then to stderr)")(
      "crossbar", po::value(&xbar_path),
      "run every conv/linear layer on simulated crossbars described by this JSON file (device, crossbar, "
      "seed; docs/crossbar.md) instead of the exact integer core")(
      "calibration", po::value(&calibration_path),
      "with --crossbar: apply this chip calibration from `cimsim calibrate` (HDF5)")(
      "check", po::bool_switch(),
      "also run the slow integer reference (logits must be identical) and the fake-quantized float64 "
      "network (predictions should agree) on the same images, and report mismatches");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  params.Validate();
  if (images_per_call < 1 || images_per_call > 4096)
    throw InputError("--images-per-call: " + std::to_string(images_per_call) + " is out of range; allowed 1..4096");
  if (vm.count("json")) CheckWritableParent("--json", json_path);
  if (vm["check"].as<bool>() && !xbar_path.empty())
    throw InputError("--check compares the exact integer engine with its references; it cannot be combined with --crossbar");

  const std::string data_path = ResolveDataPath(data_flag);
  if (!calibration_path.empty() && xbar_path.empty())
    throw InputError("--calibration " + calibration_path + " needs --crossbar (the chip it calibrates)");
  XbarConfig xbar;
  MvmCoreFactory factory = MakeIdealCore;
  QuantizedModel model = LoadQuantizedModel(qmodel_path);
  if (!xbar_path.empty()) {
    xbar = LoadXbarConfig(xbar_path);
    factory = calibration_path.empty()
                  ? ChipCoreFactory(xbar)
                  : CalibratedChipCoreFactory(xbar, LoadChipCalibration(calibration_path), model, calibration_path);
  }
  IntegerNetwork net(std::move(model), factory, qmodel_path, ChipReadNoiseSeed(xbar.seed));
  net.SetImagesPerCall(images_per_call);
  const Cifar10Set data =
      IsImageFolder(data_path)
          ? LoadFolderTestImages(data_path, 0, params.limit > 0 ? params.limit : -1, net.model().input_chw[1], resize, 2)
          : LoadCifar10(data_path, Cifar10Split::kTest, params.limit > 0 ? params.limit : -1);
  const int64_t n = params.limit > 0 ? std::min(params.limit, data.size()) : data.size();
  Progress progress = Progress::ToStderr("infer", n);
  const EvalResult result = EvaluateInteger(net, data, params, &progress);
  const EvalContext context{qmodel_path, net.model().description, data_path, params};
  SummaryStream(json_path) << EvalSummaryText(result, context) << std::flush;
  nlohmann::json report = EvalReportJson(result, context);
  report["mvm_core"] = xbar_path.empty() ? "ideal" : std::string(net.core(0) != nullptr ? net.core(0)->Name() : "crossbar");
  if (!xbar_path.empty())
    report["crossbar"] = {{"file", xbar_path}, {"config", XbarConfigToJson(xbar)}, {"calibration", calibration_path}};
  if (vm["check"].as<bool>()) {
    Progress check_progress = Progress::ToStderr("check", n);
    const IntegerCheck check = CheckIntegerEngine(net, data, n, params.threads, &check_progress);
    SummaryStream(json_path) << "check on " << check.images << " images: reference logits differ on " << check.reference_mismatches
              << ", fake-quantized float64 predicts differently on " << check.fake_quant_mismatches << "\n";
    report["check"] = {{"images", check.images},
                       {"reference_logit_mismatches", check.reference_mismatches},
                       {"fake_quant_prediction_mismatches", check.fake_quant_mismatches},
                       {"first_mismatches", check.first_mismatches}};
  }
  report["provenance"] = ProvenanceJson(CommandProvenance("infer", args));
  if (!json_path.empty()) WriteJsonReport(json_path, report);
  return 0;
}

}  // namespace cimsim::cli
