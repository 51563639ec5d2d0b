#include "common/input_file.h"

#include "common/error.h"

namespace cimsim {

std::string_view FileTypeName(std::filesystem::file_type type) {
  switch (type) {
    case std::filesystem::file_type::directory: return "a directory";
    case std::filesystem::file_type::fifo: return "a FIFO (named pipe)";
    case std::filesystem::file_type::character: return "a character device";
    case std::filesystem::file_type::block: return "a block device";
    case std::filesystem::file_type::socket: return "a socket";
    case std::filesystem::file_type::regular: return "a regular file";
    case std::filesystem::file_type::not_found: return "absent";
    default: return "of an unknown file type";
  }
}

uint64_t RequireRegularFile(const std::string& path, const std::string& what) {
  if (path.empty()) throw InputError("an empty path was given for the " + what);
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);  // stat(2): never blocks
  if (st.type() == std::filesystem::file_type::not_found) throw InputError(path + ": " + what + " not found");
  if (ec) throw InputError(path + ": cannot access the " + what + ": " + ec.message());
  if (!std::filesystem::is_regular_file(st))
    throw InputError(path + ": is " + std::string(FileTypeName(st.type())) + "; expected the " + what + " (a regular file)");
  const uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(path + ": cannot access the " + what + ": " + ec.message());
  return static_cast<uint64_t>(bytes);
}

}  // namespace cimsim
