// commands.h — the subcommands of the cimsim executable. Each takes the arguments after its name,
// throws InputError / boost::program_options::error on bad input, and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace cimsim::cli {

// cimsim eval --model M.h5 [--data PATH] [--limit N] [--batch B] [--threads T] [--json FILE] [--reference]
int RunEval(const std::vector<std::string>& args);
// cimsim data fetch --url URL --sha256 HEX --out DIR
int RunDataFetch(const std::vector<std::string>& args);

}  // namespace cimsim::cli
