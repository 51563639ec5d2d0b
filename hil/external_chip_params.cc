// ExternalChipParams::Validate and Label (hil/external_chip_params.h).
#include "hil/external_chip_params.h"

#include "common/field_checker.h"

namespace cimsim::hil {

void ExternalChipParams::Validate(const std::string& where) const {
  const FieldChecker c(where);
  if (command.empty() == socket_path.empty()) {
    c.Fail(command.empty() ? "command" : "socket_path",
           command.empty() ? "neither command nor socket_path is set; set exactly one"
                           : "both command and socket_path are set; set exactly one");
  }
  if (!command.empty() && command[0].empty()) c.Fail("command", "the program name (command[0]) is empty");
  c.Above(timeout_s, "timeout_s", 0);
  if (result != "reads" && result != "results") {
    c.Fail("result", "\"" + result + "\" is not a result kind; allowed \"reads\", \"results\"");
  }
  if (!options.is_object()) c.Fail("options", options.dump() + " is not a JSON object");
  if (max_vectors_per_message < 1 || max_vectors_per_message > 65536) {
    c.Fail("max_vectors_per_message", std::to_string(max_vectors_per_message) + " is out of range; allowed 1..65536");
  }
}

std::string ExternalChipParams::Label() const {
  std::string text;
  if (command.empty()) {
    text = "unix:" + socket_path;
  } else {
    for (const std::string& a : command) text += (text.empty() ? "" : " ") + a;
  }
  return "external chip \"" + text + "\"";
}

}  // namespace cimsim::hil
