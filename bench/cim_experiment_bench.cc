// bench_cim_experiment — the full-scale CIM experiment against the integer engine on the same images,
// in one run (issue 14's target: the experiment at most 12× the engine's time, peak RSS ≤ 300 MB).
//
//   bench_cim_experiment [--images N] [--threads T]      (defaults: 10,000 images, 2 threads)
//
// Needs CIMSIM_DATA (the CIFAR-10 directory) and CIMSIM_MODEL (the pretrained float ResNet-20): the
// model is quantized W8A8 with configs/quant/w8a8_aciq.json into a temporary directory (not timed,
// in a child process),
// then
//   1. the integer engine (IdealCore on every layer, `cimsim infer`'s path) classifies the first N
//      test images (test_batch.bin) on T threads;
//   2. `cimsim experiment`'s RunExperiment runs experiments/configs/default.json — the default PCM
//      chip: 128×128 tiles, differential pairs, two 4-bit cells per weight, bit-serial inputs, 8-bit
//      calibrated ADC, read noise at 1 h, every conv/linear layer on the chip, automatic calibration
//      on activations — on the same N images with T threads, traces off. Its time includes
//      programming and calibrating the chip, as a user waits for them.
// Prints both wall times, their ratio and this process's peak resident set size (VmHWM: the test set
// and both runs; the quantization runs in a child process). Not a unit test: minutes at 10,000 images.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/parallel.h"
#include "data/cifar10.h"
#include "experiments/evaluate_integer.h"
#include "experiments/experiment_config.h"
#include "experiments/experiment_runner.h"
#include "experiments/quant_config_json.h"
#include "nets/checkpoint.h"
#include "nets/integer_network.h"
#include "nets/quantize_network.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim {
namespace {

// VmHWM of /proc/self/status in MB: the process's peak resident set size, or −1.
double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

// Writes the W8A8 model (as `cimsim quantize --config configs/quant/w8a8_aciq.json` makes it) to
// `path` in a child process, so that the training set and the float model never count towards this
// process's peak RSS. False when the child failed (it printed why).
bool QuantizeInChild(const char* model_path, const char* data_dir, const std::string& path) {
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    try {
      const QuantPlan plan = LoadQuantConfig(CIMSIM_SOURCE_DIR "/configs/quant/w8a8_aciq.json");
      LoadedModel model = LoadModel(model_path);
      const Cifar10Set train = LoadCifar10(data_dir, Cifar10Split::kTrain);
      const PlannedCalibration cal = PlanCalibration(train, plan.calibration);
      SaveQuantizedModel(QuantizeNetwork(model.net, model.spec, plan.Resolve(MvmLayerNames(model.net)), train,
                                         cal.indices, cal.options, nullptr),
                         path, {});
      std::fflush(nullptr);
      ::_exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_cim_experiment: quantizing %s: %s\n", model_path, e.what());
      std::fflush(nullptr);
      ::_exit(1);
    }
  }
  int status = 0;
  return ::waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Run(int64_t images, int threads) {
  const char* data_dir = std::getenv("CIMSIM_DATA");
  const char* model_path = std::getenv("CIMSIM_MODEL");
  if (data_dir == nullptr || model_path == nullptr) {
    std::fprintf(stderr, "bench_cim_experiment: set CIMSIM_DATA (CIFAR-10 directory) and CIMSIM_MODEL (float ResNet-20)\n");
    return 2;
  }
  const std::filesystem::path tmp = std::filesystem::temp_directory_path() /
                                    ("cimsim_bench_cim_" + std::to_string(static_cast<long long>(::getpid())));
  std::filesystem::create_directories(tmp);
  const std::string qmodel = (tmp / "w8a8.h5").string();

  if (!QuantizeInChild(model_path, data_dir, qmodel)) {
    std::filesystem::remove_all(tmp);
    return 2;
  }

  // 1. The integer engine.
  const std::string test_path = (std::filesystem::path(data_dir) / "test_batch.bin").string();
  const Cifar10Set test = LoadCifar10(test_path, Cifar10Split::kTest);
  IntegerNetwork engine(LoadQuantizedModel(qmodel));
  EvalParams params;
  params.limit = images;
  params.threads = threads;
  auto start = std::chrono::steady_clock::now();
  const EvalResult integer = EvaluateInteger(engine, test, params, nullptr);
  const double integer_s = Seconds(start);

  // 2. The experiment of experiments/configs/default.json on the same images.
  std::ifstream in(CIMSIM_SOURCE_DIR "/experiments/configs/default.json");
  nlohmann::json j = nlohmann::json::parse(in);
  j["model"]["qmodel"] = qmodel;
  j["data"] = {{"test", test_path}, {"count", images}};
  j.erase("traces");
  j["threads"] = threads;
  const ExperimentConfig config = ParseExperimentConfig(j, "experiments/configs/default.json (bench overrides)");
  ExperimentOptions run;
  run.out_dir = (tmp / "experiment").string();
  run.progress = false;
  start = std::chrono::steady_clock::now();
  const std::vector<PointSummary> points = RunExperiment(config, run);
  const double experiment_s = Seconds(start);

  const double peak_mb = PeakRssMb();
  std::filesystem::remove_all(tmp);
  std::printf("%lld images, %d threads: integer engine %.2f s (top-1 %.2f %%), CIM experiment (default PCM chip, "
              "read noise) %.1f s (top-1 %.2f %%)\n",
              static_cast<long long>(images), threads, integer_s, 100.0 * integer.correct / integer.total, experiment_s,
              100 * points.at(0).accuracy_mean);
  std::printf("CIM experiment / integer engine time = %.1f (target <= 12); peak RSS %.0f MB (target <= 300)\n",
              experiment_s / integer_s, peak_mb);
  return 0;
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  int64_t images = 10000;
  int threads = 2;
  po::options_description desc("bench_cim_experiment options");
  desc.add_options()("help,h", "show this help")("images", po::value(&images), "test images (1..10000)")(
      "threads", po::value(&threads), "worker threads (1..256)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::printf("%s\n", "usage: bench_cim_experiment [--images N] [--threads T]");
      return 0;
    }
    if (images < 1 || images > 10000 || threads < 1 || threads > 256) {
      std::fprintf(stderr, "bench_cim_experiment: --images %lld / --threads %d out of range (1..10000 / 1..256)\n",
                   static_cast<long long>(images), threads);
      return 2;
    }
    return cimsim::Run(images, threads);
  } catch (const po::error& e) {
    std::fprintf(stderr, "bench_cim_experiment: %s\n", e.what());
    return 2;
  } catch (const cimsim::InputError& e) {
    std::fprintf(stderr, "bench_cim_experiment: %s\n", e.what());
    return 2;
  }
}
