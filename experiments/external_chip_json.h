// external_chip_json.h — the "external" section of a chip config: the layers' dot products come from
// an external chip server (hil/external_chip_params.h, docs/external_core.md) instead of a simulated
// crossbar.
//
//   "external": {"command": ["/usr/bin/python3", "scripts/chip_server.py", "--device", "noisy"],
//                                       argv of the server (no shell); or
//                "socket": "/run/chip.sock",   a Unix socket a server listens on (exactly one of the two)
//                "timeout_s": 30,              per frame sent or reply awaited, > 0
//                "result": "reads",            "reads" (column ADC codes: calibratable) or "results"
//                "options": {...},             passed verbatim to the server in HELLO
//                "max_vectors_per_message": 1024}
// The chip config's seed reaches the server as options.program_seed unless the options set it, so
// Monte Carlo instances (seed + k) are distinct chips on the emulator. "device" and "crossbar" do not
// apply to an external chip and are refused next to "external".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "hil/external_chip_params.h"

namespace cimsim {

// InputError "<where>.<key>: <problem>" for unknown keys, wrong types and invalid values.
hil::ExternalChipParams ReadExternalChip(const nlohmann::json& j, const std::string& where);
nlohmann::json ExternalChipToJson(const hil::ExternalChipParams& p);

}  // namespace cimsim
