// parse_or_help.cc — the option parsing every subcommand shares.
#include <iostream>

#include "apps/cimsim/commands.h"
#include "common/error.h"

namespace cimsim::cli {

bool ParseOrHelp(const std::vector<std::string>& args, const boost::program_options::options_description& desc,
                 boost::program_options::variables_map& vm,
                 const boost::program_options::positional_options_description* positional) {
  namespace po = boost::program_options;
  po::command_line_parser parser(args);
  parser.options(desc);
  if (positional != nullptr) parser.positional(*positional);
  const po::parsed_options parsed = parser.run();
  // A word that is no option's value and that the command takes no positional argument for would be
  // ignored by the parser: refuse it (a mistyped or forgotten "--flag").
  for (const po::option& o : parsed.options) {
    // No option takes an empty value: an empty path would mean the current or root directory.
    if (o.position_key < 0)
      for (const std::string& value : o.value)
        if (value.empty()) throw InputError("--" + o.string_key + ": an empty value; give a path, name or number");
    if (o.position_key >= 0 && positional == nullptr)
      throw InputError("unexpected argument '" + (o.value.empty() ? std::string() : o.value.front()) +
                       "': this command takes no positional arguments; options start with -- (see --help)");
  }
  po::store(parsed, vm);
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace cimsim::cli
