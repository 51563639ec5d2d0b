// error.h — the exceptions cimsim libraries throw.
//
// InputError: the user gave something we cannot use (a file, a flag, a config field). Its message
// names the thing (file, field), the offending value and what is allowed. apps/cimsim/main maps it to
// exit code 2. Anything else that escapes to main is an internal error (exit code 1).
#pragma once

#include <stdexcept>
#include <string>

namespace cimsim {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace cimsim
