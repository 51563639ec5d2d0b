// cimsim eval — float model accuracy on CIFAR-10 (see README.md).
#include <boost/program_options.hpp>
#include <iostream>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "common/error.h"
#include "common/progress.h"
#include "data/cifar10.h"
#include "data/image_folder_views.h"
#include "experiments/eval_report.h"
#include "experiments/evaluate.h"
#include "nets/checkpoint.h"

namespace cimsim::cli {
namespace po = boost::program_options;

int EvalCommand(const std::vector<std::string>& args) {
  std::string model_path, data_flag, json_path;
  int crop = 224, resize = 0;
  EvalParams params;
  params.threads = ThreadPool::HardwareThreads();
  po::options_description desc(
      "cimsim eval: top-1 accuracy of a float model on CIFAR-10\n"
      "usage: cimsim eval --model M.h5 [--data PATH] [options]\noptions");
  desc.add_options()("help,h", "show this help")(
      "model", po::value(&model_path)->required(), "float model, HDF5 (docs/model_format.md)")(
      "data", po::value(&data_flag),
      "CIFAR-10 binary data: a directory (its test_batch.bin is used) or one .bin file, or an image folder "
      "(class subfolders; evaluation views); default: $CIMSIM_DATA")(
      "crop", po::value(&crop)->default_value(crop), "image folder: the side of the evaluation views")(
      "resize", po::value(&resize)->default_value(0), "image folder: Resize to this side before the CenterCrop (0 = crop·256/224)")("limit", po::value(&params.limit)->default_value(0),
                               "evaluate only the first N images (0 = all)")(
      "batch", po::value(&params.batch_size)->default_value(100), "images per batch")(
      "threads", po::value(&params.threads)->default_value(params.threads), "worker threads")(
      "json", po::value(&json_path), "also write the figures to this JSON file (- : to stdout, the summary then to stderr)")(
      "reference", po::bool_switch(), "run the slow float64 reference layers instead of the float32 fast path");
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  if (vm["reference"].as<bool>()) params.precision = Precision::kFloat64Reference;
  params.Validate();
  if (vm.count("json")) CheckWritableParent("--json", json_path);

  const std::string data_path = ResolveDataPath(data_flag);
  LoadedModel model = LoadModel(model_path);
  const Cifar10Set data = IsImageFolder(data_path)
                              ? LoadFolderTestImages(data_path, 0, params.limit > 0 ? params.limit : -1, crop, resize, 2)
                              : LoadCifar10(data_path, Cifar10Split::kTest, params.limit > 0 ? params.limit : -1);
  const int64_t n = params.limit > 0 ? std::min(params.limit, data.size()) : data.size();
  Progress progress = Progress::ToStderr("eval", n);
  const EvalResult result = Evaluate(model.net, model.spec.input_norm, data, params, &progress);
  const EvalContext context{model_path, model.spec.Describe(), data_path, params};
  SummaryStream(json_path) << EvalSummaryText(result, context) << std::flush;
  if (!json_path.empty()) {
    nlohmann::json report = EvalReportJson(result, context);
    report["provenance"] = ProvenanceJson(CommandProvenance("eval", args));
    WriteJsonReport(json_path, report);
  }
  return 0;
}

}  // namespace cimsim::cli
