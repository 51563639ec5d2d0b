// output_path.h — early checks on output paths, so a long run never fails at its very end, and the
// JSON reports' "-" (standard output).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/provenance.h"

namespace cimsim::cli {

// An output file: not empty, not an existing directory, device, FIFO or socket (it would be replaced
// by a regular file, or block), in an existing writable directory; "-" (stdout) passes. Throws
// InputError naming `flag` and the path. Called before any computation.
void CheckWritableParent(const std::string& flag, const std::string& path);
// An output directory: not empty; an existing writable directory, or creatable (its nearest existing
// ancestor a writable directory). Throws InputError naming `flag` and the path.
void CheckOutputDirectory(const std::string& flag, const std::string& path);

// A --json report: "-" prints it to stdout, anything else is written atomically (eval_report.h).
void WriteJsonReport(const std::string& path, const nlohmann::json& report);

// This process's provenance running `cimsim <command> <args...>` (common/provenance.h).
Provenance CommandProvenance(const std::string& command, const std::vector<std::string>& args);

// Where a command's human-readable summary goes: stderr when the JSON report takes stdout.
std::ostream& SummaryStream(const std::string& json_path);

}  // namespace cimsim::cli
