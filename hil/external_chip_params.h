// external_chip_params.h — how to reach an external chip server (hil/external_chip.h): plain struct.
//
//   command                 argv of a server process to start (no shell; argv[0] is looked up in PATH),
//                           e.g. {"python3", "scripts/chip_server.py", "--device", "noisy"}; or
//   socket_path             a Unix socket a server already listens on. Exactly one of the two.
//   timeout_s               seconds any one frame may take to be sent, or a reply to arrive (the chip's
//                           compute time included); finite, > 0; default 30.
//   result                  "reads": the chip returns raw column ADC codes and the host applies the
//                           digital periphery (calibratable, ColumnReadout); "results": the chip returns
//                           integer dot products (no Readout()).
//   options                 a JSON object passed through verbatim in HELLO ("options"): the server's own
//                           settings (scripts/chip_server.py accepts its flag names with underscores).
//   max_vectors_per_message vectors per MULTIPLY, 1..65536 (default 1024); bigger calls are split.
//
// Validate(where) throws InputError "<where>.<field>: <problem>", the field spelled as above.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cimsim::hil {

struct ExternalChipParams {
  std::vector<std::string> command;
  std::string socket_path;
  double timeout_s = 30;
  std::string result = "reads";
  nlohmann::json options = nlohmann::json::object();
  int64_t max_vectors_per_message = 1024;

  void Validate(const std::string& where) const;
  // `external chip "python3 scripts/chip_server.py"` or `external chip "unix:/run/chip.sock"`: the
  // prefix of every error message of the session.
  std::string Label() const;
};

}  // namespace cimsim::hil
