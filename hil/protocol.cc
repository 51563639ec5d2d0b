// Framing and payload parsing of the chip protocol (hil/protocol.h).
#include "hil/protocol.h"

#include <sstream>

namespace cimsim::hil {
namespace {

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

std::string Hex(uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

}  // namespace

std::string ToString(MessageType type) {
  switch (type) {
    case MessageType::kHello: return "HELLO";
    case MessageType::kHelloReply: return "HELLO_REPLY";
    case MessageType::kProgram: return "PROGRAM";
    case MessageType::kProgrammed: return "PROGRAMMED";
    case MessageType::kMultiply: return "MULTIPLY";
    case MessageType::kReads: return "READS";
    case MessageType::kResults: return "RESULTS";
    case MessageType::kError: return "ERROR";
    case MessageType::kClose: return "CLOSE";
  }
  return "type " + std::to_string(static_cast<unsigned>(type));
}

void EncodeHeader(const FrameHeader& header, uint8_t out[kHeaderBytes]) {
  PutU32(out, kFrameMagic);
  PutU16(out + 4, header.version);
  PutU16(out + 6, static_cast<uint16_t>(header.type));
  PutU32(out + 8, header.payload_bytes);
}

FrameHeader DecodeHeader(const uint8_t bytes[kHeaderBytes], uint32_t max_payload_bytes) {
  const uint32_t magic = GetU32(bytes);
  if (magic != kFrameMagic) {
    throw ProtocolError("bad frame magic " + Hex(magic) + " (expected " + Hex(kFrameMagic) + ", \"CIMX\")");
  }
  FrameHeader h;
  h.version = GetU16(bytes + 4);
  if (h.version != kProtocolVersion) {
    throw ProtocolError("protocol version " + std::to_string(h.version) + " (this client speaks version " +
                        std::to_string(kProtocolVersion) + ")");
  }
  h.type = static_cast<MessageType>(GetU16(bytes + 6));
  h.payload_bytes = GetU32(bytes + 8);
  if (h.payload_bytes > max_payload_bytes) {
    throw ProtocolError("a " + ToString(h.type) + " frame of " + std::to_string(h.payload_bytes) +
                        " payload bytes exceeds the limit of " + std::to_string(max_payload_bytes));
  }
  return h;
}

std::vector<uint8_t> EncodePayload(const nlohmann::json& fields, const void* array, size_t array_bytes) {
  const std::string text = fields.dump();
  std::vector<uint8_t> out(4 + text.size() + array_bytes);
  PutU32(out.data(), static_cast<uint32_t>(text.size()));
  std::memcpy(out.data() + 4, text.data(), text.size());
  if (array_bytes > 0) std::memcpy(out.data() + 4 + text.size(), array, array_bytes);
  return out;
}

std::vector<uint8_t> EncodeFrame(MessageType type, const nlohmann::json& fields, const void* array,
                                 size_t array_bytes) {
  const std::string text = fields.dump();
  const size_t payload = 4 + text.size() + array_bytes;
  if (payload > UINT32_MAX) throw ProtocolError("a " + ToString(type) + " payload of " + std::to_string(payload) +
                                                " bytes does not fit the u32 length field");
  std::vector<uint8_t> out(kHeaderBytes + payload);
  EncodeHeader({kProtocolVersion, type, static_cast<uint32_t>(payload)}, out.data());
  uint8_t* p = out.data() + kHeaderBytes;
  PutU32(p, static_cast<uint32_t>(text.size()));
  std::memcpy(p + 4, text.data(), text.size());
  if (array_bytes > 0) std::memcpy(p + 4 + text.size(), array, array_bytes);
  return out;
}

Message DecodePayload(MessageType type, std::span<const uint8_t> payload) {
  const std::string what = ToString(type) + " payload";
  if (payload.size() < 4) {
    throw ProtocolError(what + " of " + std::to_string(payload.size()) + " bytes is shorter than its 4-byte JSON length");
  }
  const uint32_t json_bytes = GetU32(payload.data());
  if (json_bytes > payload.size() - 4) {
    throw ProtocolError(what + ": JSON length " + std::to_string(json_bytes) + " runs past the payload of " +
                        std::to_string(payload.size()) + " bytes");
  }
  Message m;
  m.type = type;
  const char* text = reinterpret_cast<const char*>(payload.data() + 4);
  m.fields = nlohmann::json::parse(text, text + json_bytes, nullptr, /*allow_exceptions=*/false);
  if (m.fields.is_discarded()) throw ProtocolError(what + ": the JSON part is not valid JSON");
  if (!m.fields.is_object()) throw ProtocolError(what + ": the JSON part is not an object");
  m.array.assign(payload.begin() + 4 + json_bytes, payload.end());
  return m;
}

int64_t IntField(const Message& m, const char* name) {
  const auto it = m.fields.find(name);
  if (it == m.fields.end() || !it->is_number_integer()) {
    throw ProtocolError(ToString(m.type) + ": field \"" + name + "\" is missing or not an integer");
  }
  return it->get<int64_t>();
}

std::string StringField(const Message& m, const char* name) {
  const auto it = m.fields.find(name);
  if (it == m.fields.end() || !it->is_string()) {
    throw ProtocolError(ToString(m.type) + ": field \"" + name + "\" is missing or not a string");
  }
  return it->get<std::string>();
}

}  // namespace cimsim::hil
