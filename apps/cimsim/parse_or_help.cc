// parse_or_help.cc — the option parsing every subcommand shares.
#include <iostream>

#include "apps/cimsim/commands.h"

namespace cimsim::cli {

bool ParseOrHelp(const std::vector<std::string>& args, const boost::program_options::options_description& desc,
                 boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace cimsim::cli
