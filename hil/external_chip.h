// external_chip.h — one session with an external dot-product chip server, shared by every layer.
//
// Open(params) starts the server (or connects to it), says HELLO (options passed through) and checks
// that the server speaks protocol 1 and offers the wanted result kind (ExternalChipParams::result).
// Program(layer, ...) sends the layer's weights (PROGRAM) and returns an ExternalCore
// (hil/external_core.h) holding the geometry the chip reports (PROGRAMMED) and a shared_ptr to this
// session; every layer of a network is programmed on the same session, with layer ids 0, 1, 2, ...
// in programming order. The wire format is hil/protocol.h, the prose docs/external_core.md.
//
// Requests are serialised: Exchange holds the session's mutex for one request and its reply, so
// cores may call Multiply from several workers at once.
//
// Errors. Every failure throws InputError (common/error.h)
//     <label>: layer <name>: <COMMAND>: <problem>
// e.g. `external chip "python3 scripts/chip_server.py": layer layer2.0.conv1: MULTIPLY: the server sent
// 1000 values, expected 2048` (HELLO errors have no layer). An ERROR message from the server
// ("the server reported: ...") leaves the session usable; any other failure (a timeout, the server's
// death, a malformed or unexpected reply) ends it: the server is killed and reaped, and every later
// request fails at once, repeating the first failure.
//
// Geometry check (result "reads"): the PROGRAMMED geometry must be self-consistent with the layer —
// mapping "differential", tile_rows = ⌈K / rows_per_tile⌉, weight_slices = ⌈(weight_bits − 1) / c⌉
// (c = weight_slice_bits), input_slices = ⌈InputMagnitudeBits / b⌉ (bit_serial, b = input_slice_bits) or 1
// (dac), sign_passes = 2 for signed inputs else 1, adc_bits in 1..31, outputs_per_tile >= 1, and one
// finite lsb > 0 per readout column — else the PROGRAM fails naming the field.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "hil/chip_link.h"
#include "hil/external_chip_params.h"
#include "sim/column_readout.h"
#include "sim/input_codes.h"

namespace cimsim {
class MvmCore;
}

namespace cimsim::hil {

// A programmed layer: what the host sent and what the chip reported (immutable, shared by a core and
// its calibrated twins).
struct ChipLayer {
  int64_t id = 0;
  std::string name;
  int64_t N = 0, K = 0;
  int weight_bits = 0;
  CodeRange range;
  std::vector<int16_t> weights;         // [N, K] row-major
  // PROGRAMMED (result "reads"; zeros and empty for "results")
  int64_t rows_per_tile = 0, tile_rows = 0, outputs_per_tile = 0;
  int weight_slice_bits = 0, weight_slices = 0;
  bool dac = false;                     // input_mode "dac" (else "bit_serial")
  int input_slice_bits = 0, input_slices = 0, sign_passes = 0, adc_bits = 0;
  std::vector<double> lsb;              // per readout column, ReadoutGeometry::Index order
  int64_t vectors_per_message = 1;      // MULTIPLY batch size for this layer

  ReadoutGeometry Geometry() const {
    return {tile_rows, weight_slices, N, input_slices, sign_passes};
  }
  // Signed digit s of weight (o, k): sign(w)·((|w| >> s·c) & (2^c − 1)).
  int32_t Digit(int64_t o, int64_t k, int s) const;
  // Input slice t of pass p of code x: ((p ? −x : x)⁺ >> t·b) & (2^b − 1) (bit-serial), (p ? −x : x)⁺ (dac).
  int32_t InputSlice(int32_t x, int p, int t) const;
};

class ExternalChip : public std::enable_shared_from_this<ExternalChip> {
 public:
  // Validates params (InputError naming `where`.field), starts the session, HELLO. InputError on any failure.
  static std::shared_ptr<ExternalChip> Open(const ExternalChipParams& params, const std::string& where = "external");
  ~ExternalChip();
  ExternalChip(const ExternalChip&) = delete;
  ExternalChip& operator=(const ExternalChip&) = delete;

  // PROGRAM: codes [N, K] row-major within ±(2^(weight_bits−1) − 1), weight_bits 2..16, inputs in
  // `range` (std::invalid_argument for these, like the simulated cores); InputError for the chip.
  std::unique_ptr<MvmCore> Program(const std::string& layer, std::span<const int16_t> codes, int64_t N, int64_t K,
                                   int weight_bits, CodeRange range);

  // MULTIPLY for vectors x (split into messages of layer.vectors_per_message; message i gets seed
  // ExternalMessageSeed(seed, i), common/streams.h). Returns, for all x.n vectors,
  // "reads": int32 codes [n, P, T, tile_rows, S, N]; "results": int32 y [N, n] row-major.
  std::vector<int32_t> Multiply(const ChipLayer& layer, const InputCodes& x, uint64_t seed);

  bool Reads() const { return reads_; }
  const std::string& DeviceName() const { return device_; }
  const std::vector<std::string>& Capabilities() const { return capabilities_; }
  const std::string& Label() const { return label_; }
  pid_t ServerPid() const;   // −1 for a socket connection or after the session ended (tests)
  // Sends CLOSE and ends the session (also done by the destructor). Never throws.
  void Close();

 private:
  explicit ExternalChip(const ExternalChipParams& params);
  // One request and its reply, under the mutex. Throws InputError with the context; `expected` is the
  // reply type (an ERROR reply is reported as such).
  Message Exchange(const std::string& layer, MessageType request, const std::vector<uint8_t>& frame,
                   MessageType expected);
  [[noreturn]] void Fail(const std::string& layer, MessageType request, const std::string& problem, bool fatal);
  void ReadProgrammed(const Message& m, ChipLayer& layer);

  ExternalChipParams params_;
  std::string label_;
  bool reads_;
  mutable std::mutex mutex_;
  std::unique_ptr<ChipLink> link_;
  std::string failure_;                 // the first fatal failure, once the session has ended
  bool failure_fatal_ = false;          // failure_ is a failure (not a clean close): repeated verbatim
  std::string device_;
  std::vector<std::string> capabilities_;
  int64_t next_layer_id_ = 0;
};

}  // namespace cimsim::hil
