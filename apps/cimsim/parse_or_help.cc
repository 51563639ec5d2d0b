// parse_or_help.cc — the option parsing every subcommand shares.
#include <iostream>

#include "apps/cimsim/commands.h"

namespace cimsim::cli {

bool ParseOrHelp(const std::vector<std::string>& args, const boost::program_options::options_description& desc,
                 boost::program_options::variables_map& vm,
                 const boost::program_options::positional_options_description* positional) {
  namespace po = boost::program_options;
  po::command_line_parser parser(args);
  parser.options(desc);
  if (positional != nullptr) parser.positional(*positional);
  po::store(parser.run(), vm);
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace cimsim::cli
