// h5_strings.cc — see h5_strings.h.
#include "common/h5_strings.h"

#include <algorithm>
#include <cstdint>

#include "common/h5_file.h"
#include "common/h5_handle.h"

namespace cimsim {

std::vector<std::string> ReadStrings(hid_t type, hid_t space, const std::function<herr_t(hid_t, void*)>& read,
                                     const std::function<void(const std::string&)>& fail) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  const bool variable = H5Tis_variable_str(type) > 0;
  const size_t size = H5Tget_size(type);
  const size_t stride = variable ? sizeof(char*) : size;
  if (n < 0 || static_cast<uint64_t>(n) * stride > kMaxAttributeBytes)
    fail("declares " + std::to_string(n) + " strings of " + std::to_string(size) + " bytes, beyond the limits (damaged file?)");
  std::vector<std::string> out;
  if (n == 0) return out;
  H5Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), variable ? H5T_VARIABLE : size);
  H5Tset_cset(mem.get(), H5Tget_cset(type));
  if (variable) {
    std::vector<char*> values(static_cast<size_t>(n), nullptr);
    if (read(mem.get(), values.data()) < 0) fail("cannot be read (corrupt or truncated file?)");
    for (char* v : values) out.emplace_back(v != nullptr ? v : "");
    H5Dvlen_reclaim(mem.get(), space, H5P_DEFAULT, values.data());
  } else {
    std::vector<char> raw(static_cast<size_t>(n) * size);
    if (read(mem.get(), raw.data()) < 0) fail("cannot be read (corrupt or truncated file?)");
    for (hssize_t i = 0; i < n; ++i) {
      const char* v = raw.data() + static_cast<size_t>(i) * size;
      out.emplace_back(v, std::find(v, v + size, '\0'));
    }
  }
  return out;
}

}  // namespace cimsim
