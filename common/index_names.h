// index_names.h — zero-padded names for numbered files and groups that sort in numeric order.
//
// IndexName(i, count) is i in decimal, zero-padded to max(4, digits(count − 1)) characters: 0000 …
// 9999 for up to 10,000 items (the names cimsim has always written), 00000 … 10000 and on for more,
// so that every name of one set has the same width and lexicographic order is numeric order.
#pragma once

#include <cstdint>
#include <string>

namespace cimsim {

inline int IndexNameWidth(int64_t count) {
  int width = 1;
  for (int64_t last = count > 0 ? count - 1 : 0; last >= 10; last /= 10) ++width;
  return width < 4 ? 4 : width;
}

inline std::string IndexName(int64_t index, int64_t count) {
  std::string digits = std::to_string(index);
  const size_t width = static_cast<size_t>(IndexNameWidth(count));
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

}  // namespace cimsim
