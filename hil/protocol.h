// protocol.h — the wire format between cimsim and an external dot-product chip server (docs/external_core.md).
//
// A conversation is a sequence of frames over a byte stream (the server's stdin/stdout, or a Unix
// socket). Every frame is a 12-byte header followed by its payload, all little-endian:
//     magic u32 = 0x584D4943 (the bytes "CIMX")   version u16 = kProtocolVersion   type u16 (MessageType)
//     payload_bytes u32, then payload_bytes bytes of payload.
// Every payload has the same two parts:
//     json_bytes u32, then json_bytes of UTF-8 JSON (an object: the message's small fields), then the
//     message's array (raw little-endian values, possibly empty) up to the end of the payload.
// Messages (client → server, server → client):
//   HELLO       c→s  {"protocol": 1, "client": "cimsim", "options": {...}}                        no array
//   HELLO_REPLY s→c  {"protocol": 1, "device": "...", "capabilities": ["reads", "results"]}         no array
//   PROGRAM     c→s  {"layer_id", "layer", "N", "K", "weight_bits", "x_min", "x_max"}   int16 w [N, K] row-major
//   PROGRAMMED  s→c  {"layer_id", "mapping": "differential", "rows_per_tile", "tile_rows", "outputs_per_tile",
//                     "weight_slice_bits", "weight_slices", "input_mode": "bit_serial"|"dac",
//                     "input_slice_bits", "input_slices", "sign_passes", "adc_bits"}
//                                                       float64 lsb per readout column [tile_rows, S, N]
//   MULTIPLY    c→s  {"layer_id", "n", "seed" (u64), "result": "reads"|"results"}  int16 x [K, n] column-major
//   READS       s→c  {"layer_id", "n"}     int32 ADC codes [n, sign_passes, input_slices, tile_rows, S, N]
//                                          (vector-major; the last three = the readout column index)
//   RESULTS     s→c  {"layer_id", "n"}     int32 y [N, n] row-major, integer dot-product units
//   ERROR       s→c  {"message": "..."}    at any point instead of the expected reply; no array
//   CLOSE       c→s  {}                    the server exits; no reply
// The receiver enforces a maximum payload size before allocating (a lying length field cannot make it
// allocate gigabytes). This file only frames and parses; the meaning of the fields is checked by the
// session (hil/external_chip.h).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cimsim::hil {

static_assert(std::endian::native == std::endian::little, "the protocol's arrays are copied as little-endian");

constexpr uint32_t kFrameMagic = 0x584D4943;   // "CIMX" as bytes
constexpr uint16_t kProtocolVersion = 1;
constexpr size_t kHeaderBytes = 12;
constexpr uint32_t kDefaultMaxPayloadBytes = uint32_t{256} << 20;   // 256 MiB

enum class MessageType : uint16_t {
  kHello = 1,
  kHelloReply = 2,
  kProgram = 3,
  kProgrammed = 4,
  kMultiply = 5,
  kReads = 6,
  kResults = 7,
  kError = 8,
  kClose = 9,
};

// "HELLO", "HELLO_REPLY", ...; "type <number>" for a value outside the enum.
std::string ToString(MessageType type);

// A malformed frame or payload, or a broken byte stream. The message says what was wrong (without
// context: the session adds the server, layer and command).
class ProtocolError : public std::runtime_error {
 public:
  explicit ProtocolError(const std::string& message) : std::runtime_error(message) {}
};

struct FrameHeader {
  uint16_t version = kProtocolVersion;
  MessageType type = MessageType::kHello;
  uint32_t payload_bytes = 0;
};

// The 12 header bytes of a frame.
void EncodeHeader(const FrameHeader& header, uint8_t out[kHeaderBytes]);
// Parses 12 header bytes. Throws ProtocolError for a wrong magic, a version other than
// kProtocolVersion, or payload_bytes > max_payload_bytes. Any type value is accepted (the caller
// checks it against what it expects).
FrameHeader DecodeHeader(const uint8_t bytes[kHeaderBytes], uint32_t max_payload_bytes);

// A decoded message: its type, its JSON object and its raw array bytes.
struct Message {
  MessageType type = MessageType::kHello;
  nlohmann::json fields = nlohmann::json::object();
  std::vector<uint8_t> array;
};

// The payload of a message: u32 json length, the JSON text, then `array_bytes` raw bytes.
std::vector<uint8_t> EncodePayload(const nlohmann::json& fields, const void* array, size_t array_bytes);
// A whole frame (header + payload) ready to send.
std::vector<uint8_t> EncodeFrame(MessageType type, const nlohmann::json& fields, const void* array = nullptr,
                                 size_t array_bytes = 0);
// Parses a payload. Throws ProtocolError when the JSON length runs past the payload, the text is not
// valid JSON or not an object.
Message DecodePayload(MessageType type, std::span<const uint8_t> payload);

// The message's array as `count` values of T. Throws ProtocolError "the server sent <m> values,
// expected <count>" when the byte count differs (or is not a multiple of sizeof(T)).
template <typename T>
std::vector<T> ArrayOf(const Message& m, size_t count) {
  if (m.array.size() % sizeof(T) != 0 || m.array.size() / sizeof(T) != count) {
    throw ProtocolError("the server sent " +
                        (m.array.size() % sizeof(T) == 0 ? std::to_string(m.array.size() / sizeof(T)) + " values"
                                                         : std::to_string(m.array.size()) + " bytes") +
                        ", expected " + std::to_string(count));
  }
  std::vector<T> out(count);
  if (count > 0) std::memcpy(out.data(), m.array.data(), m.array.size());
  return out;
}

// Field accessors that throw ProtocolError "<message type>: field \"<name>\" is missing or not <kind>".
int64_t IntField(const Message& m, const char* name);
std::string StringField(const Message& m, const char* name);

}  // namespace cimsim::hil
