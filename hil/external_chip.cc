// ExternalChip: the session (HELLO, PROGRAM, MULTIPLY), its error messages and the geometry check
// (hil/external_chip.h).
#include "hil/external_chip.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "hil/external_core.h"
#include "sim/layer_codes.h"

namespace cimsim::hil {
namespace {

constexpr int kMaxWeightBits = 16;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int MagnitudeBits(CodeRange r) {
  return std::bit_width(static_cast<uint32_t>(std::max({int64_t{r.max}, -int64_t{r.min}, int64_t{1}})));
}

}  // namespace

int32_t ChipLayer::Digit(int64_t o, int64_t k, int s) const {
  const int32_t w = weights[static_cast<size_t>(o * K + k)];
  const int32_t d = (std::abs(w) >> (s * weight_slice_bits)) & ((1 << weight_slice_bits) - 1);
  return w < 0 ? -d : d;
}

int32_t ChipLayer::InputSlice(int32_t x, int p, int t) const {
  const int32_t magnitude = std::max(p == 0 ? x : -x, 0);
  return dac ? magnitude : (magnitude >> (t * input_slice_bits)) & ((1 << input_slice_bits) - 1);
}

ExternalChip::ExternalChip(const ExternalChipParams& params)
    : params_(params), label_(params.Label()), reads_(params.result == "reads") {}

ExternalChip::~ExternalChip() { Close(); }

std::shared_ptr<ExternalChip> ExternalChip::Open(const ExternalChipParams& params, const std::string& where) {
  params.Validate(where);
  std::shared_ptr<ExternalChip> chip(new ExternalChip(params));
  try {
    chip->link_ = params.command.empty() ? ChipLink::Connect(params.socket_path, params.timeout_s)
                                         : ChipLink::Spawn(params.command, params.timeout_s);
  } catch (const ProtocolError& e) {
    throw InputError(chip->label_ + ": " + e.what());
  }
  const nlohmann::json hello = {{"protocol", kProtocolVersion}, {"client", "cimsim"}, {"options", params.options}};
  const Message reply = chip->Exchange("", MessageType::kHello, EncodeFrame(MessageType::kHello, hello),
                                       MessageType::kHelloReply);
  const std::lock_guard<std::mutex> lock(chip->mutex_);
  try {
    const int64_t version = IntField(reply, "protocol");
    if (version != kProtocolVersion) {
      throw ProtocolError("the server speaks protocol " + std::to_string(version) + ", this client " +
                          std::to_string(kProtocolVersion));
    }
    chip->device_ = StringField(reply, "device");
    const auto caps = reply.fields.find("capabilities");
    if (caps == reply.fields.end() || !caps->is_array()) throw ProtocolError("HELLO_REPLY: no \"capabilities\" array");
    for (const auto& c : *caps) {
      if (!c.is_string()) throw ProtocolError("HELLO_REPLY: a capability is not a string: " + c.dump());
      chip->capabilities_.push_back(c.get<std::string>());
    }
  } catch (const ProtocolError& e) {
    chip->Fail("", MessageType::kHello, e.what(), true);
  }
  if (std::find(chip->capabilities_.begin(), chip->capabilities_.end(), params.result) == chip->capabilities_.end()) {
    chip->Fail("", MessageType::kHello,
               "the device \"" + chip->device_ + "\" offers " + reply.fields["capabilities"].dump() + ", not \"" +
                   params.result + "\" (" + where + ".result)",
               true);
  }
  return chip;
}

pid_t ExternalChip::ServerPid() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return link_ ? link_->pid() : -1;
}

void ExternalChip::Close() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!link_) return;
  if (!link_->Broken()) {
    try {
      link_->Send(EncodeFrame(MessageType::kClose, nlohmann::json::object()));
    } catch (const ProtocolError&) {
      // Closing anyway: the link reaps the server below.
    }
  }
  link_->Close();
  link_.reset();
  if (failure_.empty()) failure_ = "the session was closed";
}

void ExternalChip::Fail(const std::string& layer, MessageType request, const std::string& problem, bool fatal) {
  const std::string message =
      label_ + ": " + (layer.empty() ? "" : "layer " + layer + ": ") + ToString(request) + ": " + problem;
  if (fatal && link_) {
    link_->Close();   // kills and reaps the server
    link_.reset();
    failure_ = message;
    failure_fatal_ = true;
  }
  throw InputError(message);
}

Message ExternalChip::Exchange(const std::string& layer, MessageType request, const std::vector<uint8_t>& frame,
                               MessageType expected) {
  const std::lock_guard<std::mutex> lock(mutex_);
  // After a fatal failure every later request (other threads' included) repeats that one message, so
  // a run reports the layer and problem where the chip failed, whichever worker sees it first.
  if (!link_ && failure_fatal_) throw InputError(failure_);
  if (!link_) Fail(layer, request, "the session has ended (" + failure_ + ")", false);
  Message m;
  try {
    link_->Send(frame);
    Frame f = link_->Receive();
    if (f.type != expected && f.type != MessageType::kError) {
      throw ProtocolError("the server replied " + ToString(f.type) + ", expected " + ToString(expected));
    }
    m = DecodePayload(f.type, f.payload);
  } catch (const ProtocolError& e) {
    Fail(layer, request, e.what(), true);
  }
  if (m.type == MessageType::kError) {
    const auto it = m.fields.find("message");
    Fail(layer, request,
         "the server reported: " + (it != m.fields.end() && it->is_string() ? it->get<std::string>() : m.fields.dump()),
         false);
  }
  return m;
}

std::unique_ptr<MvmCore> ExternalChip::Program(const std::string& layer, std::span<const int16_t> codes, int64_t N,
                                               int64_t K, int weight_bits, CodeRange range) {
  CheckLayerCodes("ExternalChip::Program: ", codes, N, K, weight_bits, kMaxWeightBits, range.min, range.max);
  auto programmed = std::make_shared<ChipLayer>();
  ChipLayer& l = *programmed;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    l.id = next_layer_id_++;
  }
  l.name = layer;
  l.N = N;
  l.K = K;
  l.weight_bits = weight_bits;
  l.range = range;
  l.weights.assign(codes.begin(), codes.end());
  const nlohmann::json fields = {{"layer_id", l.id}, {"layer", layer}, {"N", N}, {"K", K},
                                 {"weight_bits", weight_bits}, {"x_min", range.min}, {"x_max", range.max}};
  const Message reply = Exchange(layer, MessageType::kProgram,
                                 EncodeFrame(MessageType::kProgram, fields, codes.data(), codes.size_bytes()),
                                 MessageType::kProgrammed);
  try {
    ReadProgrammed(reply, l);
  } catch (const ProtocolError& e) {
    const std::lock_guard<std::mutex> lock(mutex_);
    Fail(layer, MessageType::kProgram, e.what(), false);
  }
  // Replies must fit the receive limit: vectors per message from the reply size of one vector.
  const int64_t per_vector = reads_ ? int64_t{4} * l.sign_passes * l.input_slices * l.Geometry().Columns() : 4 * N;
  const int64_t fit = static_cast<int64_t>(kDefaultMaxPayloadBytes - 4096) / per_vector;
  if (fit < 1) {
    const std::lock_guard<std::mutex> lock(mutex_);
    Fail(layer, MessageType::kProgram,
         "one vector's reply of " + std::to_string(per_vector) + " bytes exceeds the frame limit of " +
             std::to_string(kDefaultMaxPayloadBytes),
         false);
  }
  l.vectors_per_message = std::min(params_.max_vectors_per_message, fit);
  return std::make_unique<ExternalCore>(shared_from_this(), std::move(programmed),
                                        std::vector<ColumnCorrection>(reads_ ? l.lsb.size() : 0));
}

void ExternalChip::ReadProgrammed(const Message& m, ChipLayer& l) {
  if (IntField(m, "layer_id") != l.id) {
    throw ProtocolError("the reply is for layer_id " + std::to_string(IntField(m, "layer_id")) + ", expected " +
                        std::to_string(l.id));
  }
  if (!reads_) return;   // the host needs no geometry when the chip returns dot products
  auto expect = [](const std::string& field, int64_t got, int64_t want, const std::string& why) {
    if (got != want) {
      throw ProtocolError("the server reports " + field + " " + std::to_string(got) + "; " + why + " needs " +
                          std::to_string(want));
    }
  };
  auto within = [](const std::string& field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) {
      throw ProtocolError("the server reports " + field + " " + std::to_string(v) + "; allowed " + std::to_string(lo) +
                          ".." + std::to_string(hi));
    }
  };
  const std::string mapping = StringField(m, "mapping");
  if (mapping != "differential") {
    throw ProtocolError("the server reports mapping \"" + mapping + "\"; this host supports \"differential\"");
  }
  l.rows_per_tile = IntField(m, "rows_per_tile");
  within("rows_per_tile", l.rows_per_tile, 1, int64_t{1} << 30);
  l.tile_rows = IntField(m, "tile_rows");
  expect("tile_rows", l.tile_rows, CeilDiv(l.K, l.rows_per_tile),
         "K = " + std::to_string(l.K) + " on " + std::to_string(l.rows_per_tile) + "-row tiles");
  l.outputs_per_tile = IntField(m, "outputs_per_tile");
  within("outputs_per_tile", l.outputs_per_tile, 1, int64_t{1} << 30);
  const int magnitude_bits = l.weight_bits - 1;
  l.weight_slice_bits = static_cast<int>(IntField(m, "weight_slice_bits"));
  within("weight_slice_bits", l.weight_slice_bits, 1, magnitude_bits);
  l.weight_slices = static_cast<int>(IntField(m, "weight_slices"));
  expect("weight_slices", l.weight_slices, CeilDiv(magnitude_bits, l.weight_slice_bits),
         "a " + std::to_string(l.weight_bits) + "-bit weight in " + std::to_string(l.weight_slice_bits) + "-bit slices");
  const std::string mode = StringField(m, "input_mode");
  if (mode != "bit_serial" && mode != "dac") {
    throw ProtocolError("the server reports input_mode \"" + mode + "\"; allowed \"bit_serial\", \"dac\"");
  }
  l.dac = mode == "dac";
  const int input_bits = MagnitudeBits(l.range);
  l.input_slice_bits = static_cast<int>(IntField(m, "input_slice_bits"));
  l.input_slices = static_cast<int>(IntField(m, "input_slices"));
  if (l.dac) {
    expect("input_slices", l.input_slices, 1, "a DAC");
  } else {
    within("input_slice_bits", l.input_slice_bits, 1, 16);
    expect("input_slices", l.input_slices, CeilDiv(input_bits, l.input_slice_bits),
           std::to_string(input_bits) + "-bit input magnitudes in " + std::to_string(l.input_slice_bits) +
               "-bit slices");
  }
  l.sign_passes = static_cast<int>(IntField(m, "sign_passes"));
  expect("sign_passes", l.sign_passes, l.range.Signed() ? 2 : 1,
         std::string(l.range.Signed() ? "a signed" : "an unsigned") + " input range");
  l.adc_bits = static_cast<int>(IntField(m, "adc_bits"));
  within("adc_bits", l.adc_bits, 1, 31);
  l.lsb = ArrayOf<double>(m, static_cast<size_t>(l.Geometry().Columns()));
  for (size_t i = 0; i < l.lsb.size(); ++i) {
    if (!(l.lsb[i] > 0) || !std::isfinite(l.lsb[i])) {
      throw ProtocolError("the server reports lsb " + std::to_string(l.lsb[i]) + " for readout column " +
                          std::to_string(i) + "; must be finite and > 0");
    }
  }
}

std::vector<int32_t> ExternalChip::Multiply(const ChipLayer& l, const InputCodes& x, uint64_t seed) {
  const int64_t per_vector = reads_ ? l.sign_passes * l.input_slices * l.Geometry().Columns() : l.N;
  std::vector<int32_t> out(static_cast<size_t>(per_vector * x.n));
  std::vector<int16_t> packed;   // the message's vectors, dense [K, n_i]
  for (int64_t j0 = 0, i = 0; j0 < x.n; j0 += l.vectors_per_message, ++i) {
    const int64_t n = std::min(l.vectors_per_message, x.n - j0);
    const InputCodes part = x.Columns(j0, n);
    const int16_t* data = part.data;   // already the wire layout when vector-major and dense
    if (part.k_stride != 1 || part.j_stride != l.K) {
      packed.resize(static_cast<size_t>(l.K * n));
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t k = 0; k < l.K; ++k) packed[static_cast<size_t>(j * l.K + k)] = part(k, j);
      }
      data = packed.data();
    }
    const uint64_t message_seed = ExternalMessageSeed(seed, i);
    const nlohmann::json fields = {{"layer_id", l.id}, {"n", n}, {"seed", message_seed},
                                   {"result", reads_ ? "reads" : "results"}};
    const MessageType expected = reads_ ? MessageType::kReads : MessageType::kResults;
    const Message reply =
        Exchange(l.name, MessageType::kMultiply,
                 EncodeFrame(MessageType::kMultiply, fields, data, static_cast<size_t>(l.K * n) * sizeof(int16_t)),
                 expected);
    try {
      if (IntField(reply, "layer_id") != l.id || IntField(reply, "n") != n) {
        throw ProtocolError("the reply is for layer_id " + std::to_string(IntField(reply, "layer_id")) + " and " +
                            std::to_string(IntField(reply, "n")) + " vectors, expected " + std::to_string(l.id) +
                            " and " + std::to_string(n));
      }
      const std::vector<int32_t> values = ArrayOf<int32_t>(reply, static_cast<size_t>(per_vector * n));
      if (reads_) {   // vector-major: messages concatenate
        std::copy(values.begin(), values.end(), out.begin() + j0 * per_vector);
      } else {        // [N, n] row-major: message i fills columns [j0, j0 + n)
        for (int64_t o = 0; o < l.N; ++o) std::copy_n(values.begin() + o * n, n, out.begin() + o * x.n + j0);
      }
    } catch (const ProtocolError& e) {
      const std::lock_guard<std::mutex> lock(mutex_);
      Fail(l.name, MessageType::kMultiply, e.what(), true);
    }
  }
  return out;
}

}  // namespace cimsim::hil
