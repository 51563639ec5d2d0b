#include "data/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <unistd.h>

#include "common/error.h"

namespace cimsim {
namespace {

// FIPS 180-4 / NIST CSRC example vectors.
TEST(Sha256Test, EmptyMessage) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, TwoBlockMessage448Bits) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, OneMillionA) {
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, OddSizedPiecesEqualOneShot) {
  std::string message;
  for (int i = 0; i < 5000; ++i) message.push_back(static_cast<char>((i * 131 + 7) % 256));
  const std::string one_shot = Sha256Hex(message);
  for (size_t piece : {1, 3, 63, 64, 65, 127, 1000}) {
    Sha256 sha;
    for (size_t pos = 0; pos < message.size(); pos += piece) {
      sha.Update(message.data() + pos, std::min(piece, message.size() - pos));
    }
    EXPECT_EQ(Sha256::Hex(sha.Final()), one_shot) << "piece size " << piece;
  }
}

TEST(Sha256Test, FinalResetsForReuse) {
  Sha256 sha;
  sha.Update("garbage", 7);
  sha.Final();
  sha.Update("abc", 3);
  EXPECT_EQ(Sha256::Hex(sha.Final()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, OfFileMatchesInMemory) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("cimsim_sha256_test_" + std::to_string(::getpid()))).string();
  const std::string contents(200000, 'q');
  std::ofstream(path, std::ios::binary) << contents;
  EXPECT_EQ(Sha256OfFile(path), Sha256Hex(contents));
  std::remove(path.c_str());
}

TEST(Sha256Test, OfMissingFileThrowsNamingIt) {
  try {
    Sha256OfFile("/nonexistent/cimsim/file.bin");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cimsim/file.bin"), std::string::npos);
  }
}

}  // namespace
}  // namespace cimsim
