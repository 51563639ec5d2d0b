// provenance.h — who produced an output file: cimsim's version and commit (common/build_info.h), the
// command line, the host and the time, recorded in every file cimsim writes (results, point and unit
// files, quantized models, calibrations, checkpoints, JSON reports) beside the file's full config.
//
// In HDF5 files: a group /provenance with string attributes version, commit, build, command, host and
// time (ISO 8601, UTC, seconds). It is the one part of a file that differs between two runs that
// compute the same numbers (another host, another time, a sharded run and its merge), so comparisons
// of results leave it out: `h5diff --exclude-path /provenance A B`.
#pragma once

#include <string>
#include <vector>

namespace cimsim {

class H5File;

struct Provenance {
  std::string version, commit, build;   // BuildVersion(), BuildCommit(), BuildSettings()
  std::string command;                  // the command line, arguments shell-quoted where needed
  std::string host;                     // gethostname()
  std::string time;                     // UTC when the process started the command, "2026-11-30T21:05:00Z"
};

// The provenance of this process running `cimsim` with `args` (argv without argv[0]).
Provenance CurrentProvenance(const std::vector<std::string>& args);

// A shell word for s: as is when it holds only safe characters, else single-quoted.
std::string ShellQuote(const std::string& s);

// Writes group /provenance of f (replacing nothing: call once per file).
void WriteProvenance(H5File& f, const Provenance& p);

}  // namespace cimsim
