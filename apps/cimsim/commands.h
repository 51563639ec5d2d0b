// commands.h — the subcommands of the cimsim executable. Each takes the arguments after its name,
// throws InputError / boost::program_options::error on bad input, and returns the exit code.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace cimsim::cli {

// Parses `args` against `desc` (and `positional`, when given) into `vm`. Returns false after printing
// the help text when --help was given; otherwise checks required options
// (boost::program_options::error on a bad flag).
bool ParseOrHelp(const std::vector<std::string>& args, const boost::program_options::options_description& desc,
                 boost::program_options::variables_map& vm,
                 const boost::program_options::positional_options_description* positional = nullptr);

// cimsim eval --model M.h5 [--data PATH] [--limit N] [--batch B] [--threads T] [--json FILE] [--reference]
int EvalCommand(const std::vector<std::string>& args);
// cimsim quantize --model M.h5 --config q.json [--data PATH] --out Q.h5
int QuantizeCommand(const std::vector<std::string>& args);
// cimsim infer --qmodel Q.h5 [--data PATH] [--limit N] [--batch B] [--threads T] [--json FILE] [--check]
int InferCommand(const std::vector<std::string>& args);
// cimsim calibrate --config cal.json --out CAL.h5
int CalibrateCommand(const std::vector<std::string>& args);
// cimsim experiment --config run.json [--out DIR] [--resume]
int ExperimentCommand(const std::vector<std::string>& args);
// cimsim train --config train.json --out DIR [--resume] [--model M.h5] [--epochs N] [--lr X] [--batch-size B]
int TrainCommand(const std::vector<std::string>& args);
// cimsim qat --config qat.json --out DIR [--resume] (or --model M.h5 --w-bits B --a-bits B [--method M])
int QatCommand(const std::vector<std::string>& args);
// cimsim data fetch --url URL --sha256 HEX --out DIR
int DataFetchCommand(const std::vector<std::string>& args);
// cimsim config convert IN OUT
int ConfigConvertCommand(const std::vector<std::string>& args);

}  // namespace cimsim::cli
