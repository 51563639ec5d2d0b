// cimsim — compute-in-memory simulation of quantized neural networks. Entry point: dispatches the
// subcommand and is the only place that prints errors and chooses exit codes:
//   0 success, 2 bad input (flags, files, data, configs), 1 internal error.
#include <boost/program_options/errors.hpp>
#include <hdf5.h>
#include <iostream>
#include <string>
#include <vector>

#include "apps/cimsim/commands.h"
#include "common/build_info.h"
#include "common/error.h"

namespace {

constexpr const char* kUsage =
    "usage: cimsim <command> [options]\n"
    "\n"
    "commands:\n"
    "  eval        top-1 accuracy of a float model on CIFAR-10\n"
    "  train       float training from scratch or fine-tuning, checkpoints and --resume\n"
    "  qat         quantization-aware fine-tuning (LSQ, DSQ, hybrid) into an integer model\n"
    "  quantize    post-training quantization of a float model into an integer model\n"
    "  infer       top-1 accuracy of a quantized model, integer-only inference (or on crossbars)\n"
    "  calibrate   program a simulated chip and fit its per-column corrections\n"
    "  experiment  sweeps of a quantized network on simulated CIM hardware, results into HDF5\n"
    "  data fetch  download, verify and unpack the CIFAR-10 binary archive\n"
    "  config convert  a config file rewritten as YAML or JSON\n"
    "\n"
    "Every config (--config, --crossbar) may be JSON or YAML (*.yaml, *.yml), and one file may hold the\n"
    "sections train, qat, quantize, calibrate, experiment and chip: each command reads its own.\n"
    "Run 'cimsim <command> --help' for the options of a command; 'cimsim --version' for the build.\n"
    "Data is found with --data PATH or the CIMSIM_DATA environment variable.\n";

int Dispatch(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string& command = args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version" || command == "version") {
    std::cout << "cimsim " << cimsim::BuildVersion() << "\ncommit " << cimsim::BuildCommit() << "\nbuild "
              << cimsim::BuildSettings() << "\n";
    return 0;
  }
  if (command == "eval") return cimsim::cli::EvalCommand({args.begin() + 1, args.end()});
  if (command == "train") return cimsim::cli::TrainCommand({args.begin() + 1, args.end()});
  if (command == "qat") return cimsim::cli::QatCommand({args.begin() + 1, args.end()});
  if (command == "quantize") return cimsim::cli::QuantizeCommand({args.begin() + 1, args.end()});
  if (command == "infer") return cimsim::cli::InferCommand({args.begin() + 1, args.end()});
  if (command == "calibrate") return cimsim::cli::CalibrateCommand({args.begin() + 1, args.end()});
  if (command == "experiment") return cimsim::cli::ExperimentCommand({args.begin() + 1, args.end()});
  if (command == "data") {
    if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h")) {
      std::cout << "usage: cimsim data fetch --url URL --sha256 HEX --out DIR\n"
                   "  fetch  download, verify and unpack the CIFAR-10 binary archive (cimsim data fetch --help)\n";
      return 0;
    }
    if (args.size() >= 2 && args[1] == "fetch") return cimsim::cli::DataFetchCommand({args.begin() + 2, args.end()});
    throw cimsim::InputError("unknown 'data' subcommand" + (args.size() >= 2 ? " '" + args[1] + "'" : std::string()) +
                             ": the only one is 'data fetch'");
  }
  if (command == "config") {
    if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h")) {
      std::cout << "usage: cimsim config convert IN OUT\n"
                   "  convert  a config file rewritten as YAML or JSON (cimsim config convert --help)\n";
      return 0;
    }
    if (args.size() >= 2 && args[1] == "convert") return cimsim::cli::ConfigConvertCommand({args.begin() + 2, args.end()});
    throw cimsim::InputError("unknown 'config' subcommand" + (args.size() >= 2 ? " '" + args[1] + "'" : std::string()) +
                             ": the only one is 'config convert'");
  }
  throw cimsim::InputError("unknown command '" + command + "': use eval, train, qat, quantize, infer, calibrate, experiment, data fetch or config convert (cimsim --help)");
}

}  // namespace

int main(int argc, char** argv) {
  // No HDF5 clean-up at exit: after a failed write (a full disk) libhdf5 1.10.8 keeps a half-closed file
  // and its exit handler crashes on it. Every file is closed by its owner before main returns.
  H5dont_atexit();
  try {
    return Dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cimsim::InputError& e) {
    std::cerr << "cimsim: error: " << e.what() << '\n';
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "cimsim: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cimsim: internal error: " << e.what() << '\n';
    return 1;
  }
}
