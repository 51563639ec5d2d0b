// Framing and payload parsing (hil/protocol.h): round trips and malformed input.
#include "hil/protocol.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/test_support.h"

namespace cimsim::hil {
namespace {

std::string ErrorOf(const std::function<void()>& f) { return testing::MessageOf<ProtocolError>(f, "a ProtocolError"); }

TEST(Protocol, HeaderRoundTripAndMagicBytes) {
  uint8_t bytes[kHeaderBytes];
  EncodeHeader({kProtocolVersion, MessageType::kMultiply, 123456}, bytes);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes), 4), "CIMX");
  EXPECT_EQ(bytes[4], kProtocolVersion);
  EXPECT_EQ(bytes[5], 0);
  EXPECT_EQ(bytes[6], static_cast<uint8_t>(MessageType::kMultiply));
  const FrameHeader h = DecodeHeader(bytes, 1 << 20);
  EXPECT_EQ(h.version, kProtocolVersion);
  EXPECT_EQ(h.type, MessageType::kMultiply);
  EXPECT_EQ(h.payload_bytes, 123456u);
}

TEST(Protocol, MalformedHeadersAreRejected) {
  uint8_t bytes[kHeaderBytes];
  EncodeHeader({kProtocolVersion, MessageType::kReads, 100}, bytes);
  bytes[0] = 'X';
  EXPECT_NE(ErrorOf([&] { DecodeHeader(bytes, 1000); }).find("bad frame magic"), std::string::npos);

  EncodeHeader({7, MessageType::kReads, 100}, bytes);
  EXPECT_NE(ErrorOf([&] { DecodeHeader(bytes, 1000); }).find("protocol version 7"), std::string::npos);

  // A lying length field is rejected from the header alone.
  EncodeHeader({kProtocolVersion, MessageType::kReads, 0xFFFFFF00u}, bytes);
  const std::string e = ErrorOf([&] { DecodeHeader(bytes, 1000); });
  EXPECT_NE(e.find("READS frame of 4294967040 payload bytes exceeds the limit of 1000"), std::string::npos) << e;

  // An unknown type passes the header check (the session rejects it) and prints as a number.
  EncodeHeader({kProtocolVersion, static_cast<MessageType>(77), 0}, bytes);
  EXPECT_EQ(DecodeHeader(bytes, 1000).type, static_cast<MessageType>(77));
  EXPECT_EQ(ToString(static_cast<MessageType>(77)), "type 77");
}

TEST(Protocol, FrameRoundTripWithJsonAndArray) {
  const std::vector<int16_t> codes = {-32768, -1, 0, 1, 255, 32767};
  const nlohmann::json fields = {{"layer_id", 3}, {"layer", "layer2.0.conv1"}, {"seed", UINT64_MAX}};
  const std::vector<uint8_t> frame =
      EncodeFrame(MessageType::kMultiply, fields, codes.data(), codes.size() * sizeof(int16_t));
  const FrameHeader h = DecodeHeader(frame.data(), 1 << 20);
  ASSERT_EQ(h.payload_bytes, frame.size() - kHeaderBytes);
  const Message m = DecodePayload(h.type, std::span(frame).subspan(kHeaderBytes));
  EXPECT_EQ(m.type, MessageType::kMultiply);
  EXPECT_EQ(m.fields, fields);
  EXPECT_EQ(m.fields["seed"].get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(ArrayOf<int16_t>(m, codes.size()), codes);
  EXPECT_EQ(IntField(m, "layer_id"), 3);
  EXPECT_EQ(StringField(m, "layer"), "layer2.0.conv1");

  // EncodePayload is the frame without its header.
  EXPECT_EQ(EncodePayload(fields, codes.data(), codes.size() * sizeof(int16_t)),
            std::vector<uint8_t>(frame.begin() + kHeaderBytes, frame.end()));
}

TEST(Protocol, MalformedPayloadsAreRejected) {
  const std::vector<uint8_t> tiny = {1, 0};
  EXPECT_NE(ErrorOf([&] { DecodePayload(MessageType::kReads, tiny); }).find("shorter than its 4-byte"),
            std::string::npos);
  std::vector<uint8_t> past = {50, 0, 0, 0, '{', '}'};
  EXPECT_NE(ErrorOf([&] { DecodePayload(MessageType::kReads, past); }).find("JSON length 50 runs past"),
            std::string::npos);
  std::vector<uint8_t> bad = {3, 0, 0, 0, '{', 'x', '}'};
  EXPECT_NE(ErrorOf([&] { DecodePayload(MessageType::kReads, bad); }).find("not valid JSON"), std::string::npos);
  std::vector<uint8_t> array = {2, 0, 0, 0, '[', ']'};
  EXPECT_NE(ErrorOf([&] { DecodePayload(MessageType::kReads, array); }).find("not an object"), std::string::npos);

  const std::vector<int32_t> values(1001, 7);
  const std::vector<uint8_t> payload = EncodePayload({{"n", 1}}, values.data(), values.size() * 4);
  const Message m = DecodePayload(MessageType::kReads, payload);
  EXPECT_EQ(ArrayOf<int32_t>(m, 1001), values);
  EXPECT_EQ(ErrorOf([&] { ArrayOf<int32_t>(m, 2048); }), "the server sent 1001 values, expected 2048");
  EXPECT_EQ(ErrorOf([&] { ArrayOf<double>(m, 500); }), "the server sent 4004 bytes, expected 500");
  EXPECT_EQ(ErrorOf([&] { IntField(m, "layer_id"); }), "READS: field \"layer_id\" is missing or not an integer");
  EXPECT_EQ(ErrorOf([&] { StringField(m, "n"); }), "READS: field \"n\" is missing or not a string");
}

}  // namespace
}  // namespace cimsim::hil
