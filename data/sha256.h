// sha256.h — SHA-256 (FIPS 180-4), streaming, implemented here without external crypto libraries.
//
// Format details (FIPS 180-4 §5–6): the message is padded with a single 1 bit, then zero bits until
// its length is 448 mod 512 bits, then the original length in bits as a 64-bit big-endian integer.
// Each 512-bit (64-byte) block is processed as sixteen big-endian 32-bit words expanded to a
// 64-word schedule, and compressed into eight 32-bit state words (initial values H0 from §5.3.3).
// The digest is the final state written big-endian: 32 bytes, shown as 64 lowercase hex digits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cimsim {

class Sha256 {
 public:
  Sha256();

  // Feed `size` more bytes of the message; may be called any number of times with pieces of any size.
  void Update(const void* data, size_t size);
  // Pad, finish and return the 32-byte digest. The object is then reset, ready for a new message.
  std::array<uint8_t, 32> Final();

  // 64 lowercase hex digits.
  static std::string Hex(const std::array<uint8_t, 32>& digest);

 private:
  void Reset();
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;   // bytes in buffer_ (< 64)
  uint64_t length_ = 0;   // message length so far, in bytes
};

// Hex SHA-256 of a byte string.
std::string Sha256Hex(const std::string& bytes);
// Hex SHA-256 of a file's contents, read in chunks; InputError naming the file if it cannot be read.
std::string Sha256OfFile(const std::string& path);

}  // namespace cimsim
