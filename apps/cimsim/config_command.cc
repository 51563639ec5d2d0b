// cimsim config convert — a config file rewritten as JSON or YAML (experiments/config_convert.h).
#include <boost/program_options.hpp>
#include <iostream>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "common/atomic_file.h"
#include "common/error.h"
#include "experiments/config_convert.h"
#include "experiments/config_file.h"

namespace cimsim::cli {
namespace po = boost::program_options;

int ConfigConvertCommand(const std::vector<std::string>& args) {
  std::string in, out;
  po::options_description desc(
      "cimsim config convert: a config file (train, qat, quantize, calibrate, experiment, chip; whole, or\n"
      "a file of sections) rewritten in the format its new name gives: *.yaml or *.yml is YAML, any other\n"
      "name JSON. Keys keep their order and every value its type; YAML comments are not carried over.\n"
      "usage: cimsim config convert IN OUT\noptions");
  desc.add_options()("help,h", "show this help")("in", po::value(&in)->required(), "the config file to read")(
      "out", po::value(&out)->required(), "the file to write (replaced atomically)");
  po::positional_options_description positional;
  positional.add("in", 1).add("out", 1);
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm, &positional)) return 0;
  if (out == "-") throw InputError("OUT: give a file name (its ending picks the format), not '-'");
  CheckWritableParent("OUT", out);
  const std::string text = ReadConfigText(in, "config");
  WriteFileAtomically(out, ConvertConfigText(text, in, out));
  std::cout << "wrote " << out << " (" << (FormatOfPath(out) == ConfigFormat::kYaml ? "YAML" : "JSON") << ") from "
            << in << "\n";
  return 0;
}

}  // namespace cimsim::cli
