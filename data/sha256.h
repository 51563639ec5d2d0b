// sha256.h — SHA-256 digests (FIPS 180-4) through OpenSSL's EVP interface (libcrypto), streaming.
//
// The digest is 32 bytes, shown as 64 lowercase hex digits. cimsim uses it to verify downloads
// (`cimsim data fetch`, data/fetch.h) while they stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace cimsim {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Feed `size` more bytes of the message; may be called any number of times with pieces of any size.
  void Update(const void* data, size_t size);
  // Finish and return the 32-byte digest. The object is then reset, ready for a new message.
  std::array<uint8_t, 32> Final();

  // 64 lowercase hex digits.
  static std::string Hex(const std::array<uint8_t, 32>& digest);

 private:
  struct Context;                    // the EVP_MD_CTX
  std::unique_ptr<Context> ctx_;
};

// Hex SHA-256 of a byte string.
std::string Sha256Hex(const std::string& bytes);
// Hex SHA-256 of a file's contents, read in chunks; InputError naming the file if it cannot be read.
std::string Sha256OfFile(const std::string& path);

}  // namespace cimsim
