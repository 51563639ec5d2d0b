#include "experiments/external_chip_json.h"

#include <string_view>

#include "common/error.h"
#include "experiments/json_reader.h"

namespace cimsim {

namespace {
constexpr std::string_view kKeys[] = {"command", "socket", "timeout_s", "result", "options", "max_vectors_per_message"};
}  // namespace

hil::ExternalChipParams ReadExternalChip(const nlohmann::json& j, const std::string& where) {
  const JsonReader r(where, ".");
  r.RequireObject(j, "");
  r.CheckKeys(j, "", kKeys);
  hil::ExternalChipParams p;
  if (j.contains("command")) {
    const nlohmann::json& c = j["command"];
    if (!c.is_array() || c.empty()) r.Fail("command", "must be a non-empty array of strings (argv, no shell)");
    for (size_t i = 0; i < c.size(); ++i) p.command.push_back(r.String(c[i], "command[" + std::to_string(i) + "]"));
  }
  if (j.contains("socket")) p.socket_path = r.String(j["socket"], "socket");
  if (j.contains("timeout_s")) p.timeout_s = r.Number(j["timeout_s"], "timeout_s");
  if (j.contains("result")) p.result = r.String(j["result"], "result");
  if (j.contains("options")) {
    if (!j["options"].is_object()) r.Fail("options", "must be an object");
    p.options = j["options"];
  }
  if (j.contains("max_vectors_per_message"))
    p.max_vectors_per_message = r.Integer(j["max_vectors_per_message"], "max_vectors_per_message", 1, 65536);
  p.Validate(where);
  return p;
}

nlohmann::json ExternalChipToJson(const hil::ExternalChipParams& p) {
  nlohmann::json j = {{"timeout_s", p.timeout_s},
                      {"result", p.result},
                      {"options", p.options},
                      {"max_vectors_per_message", p.max_vectors_per_message}};
  if (!p.command.empty()) j["command"] = p.command;
  if (!p.socket_path.empty()) j["socket"] = p.socket_path;
  return j;
}

}  // namespace cimsim
