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

// Lengths around 55/56 and 119/120 bytes change whether the padding needs an extra block
// (reference digests from Python's hashlib).
TEST(Sha256Test, PaddingBoundaryLengths) {
  const std::pair<size_t, const char*> cases[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
  };
  for (const auto& [n, hex] : cases) EXPECT_EQ(Sha256Hex(std::string(n, 'a')), hex) << n << " bytes";
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
