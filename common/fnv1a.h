// fnv1a.h — the 64-bit FNV-1a hash (Fowler–Noll–Vo): h = 0xcbf29ce484222325, then per byte b:
// h = (h XOR b)·0x100000001b3 (mod 2^64). Fast and stable across platforms and versions, for ids and
// checksums that detect accidental change (not a cryptographic hash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cimsim {

// Fed incrementally; value() is the hash of every byte fed so far, in order.
class Fnv1a {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

inline uint64_t Fnv1a64(std::string_view bytes) {
  Fnv1a h;
  h.Bytes(bytes.data(), bytes.size());
  return h.value();
}

}  // namespace cimsim
