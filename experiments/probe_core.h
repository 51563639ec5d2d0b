// probe_core.h — a CIM layer under measurement: the chip's MvmCore (any core) plus the exact integer product of
// every vector it sees (dot-product error statistics) and sampled per-read traces.
//
// Multiply(x) runs the chip on x (the result the network uses), then the exact IdealCore on x, and
// adds Σ (y − exact)², Σ exact² and the output count to the layer's totals in 128-bit integers (so
// totals do not depend on the order in which threads add them). Trace sampling (TraceSpec): when the
// call's item (MvmContext::item, the image index) lies in [first_image, first_image + vectors), one
// output position j is drawn by TracePositionStream(position_seed, item, node) and vector j is read once
// more through the chip with TraceReadStream(read_seed, item, node) (common/streams.h) and a
// TraceRecorder; the vector, its exact and measured outputs and every read (for a core with a
// ColumnReadout; none otherwise) are kept by image. Layout: docs/results_format.md. The probe is a
// decorator: name, shape, input range and the readout capability are the chip's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "nets/quantized_model.h"
#include "sim/column_readout.h"
#include "sim/ideal_core.h"
#include "sim/trace_sink.h"

namespace cimsim {

// The traces of one layer and instance, vectors in image order (docs/results_format.md).
struct LayerTrace {
  int node = 0;
  int64_t K = 0, N = 0;
  int64_t tile_rows = 0;
  int weight_slices = 0, input_slices = 0, sign_passes = 0;
  std::vector<int32_t> vector_instance, vector_position;
  std::vector<int64_t> vector_image;
  std::vector<int16_t> inputs;     // [V, K]
  std::vector<int64_t> exact;      // [V, N]
  std::vector<int32_t> measured;   // [V, N]
  std::vector<int32_t> read_vector, read_output, read_tile_row, read_tile_col, read_weight_slice, read_input_slice,
      read_sign_pass, read_code;
  std::vector<int64_t> read_ideal;
  std::vector<double> read_analog, read_lsb, read_calibrated;
  int64_t Vectors() const { return static_cast<int64_t>(vector_image.size()); }
  void Append(const LayerTrace& other);   // other's vectors after this one's (read_vector renumbered)
};

struct TraceSpec {
  int64_t vectors = 0;             // 0: no traces
  int64_t first_image = 0;
  uint64_t position_seed = 0, read_seed = 0;
};

class ProbeCore : public MvmCore {
 public:
  __extension__ typedef unsigned __int128 Sum;   // exact sums of squares (GCC/Clang extension)

  ProbeCore(std::unique_ptr<MvmCore> chip, const QNode& node, int node_index, const TraceSpec& traces);

  std::string_view Name() const override { return chip_->Name(); }
  int64_t Outputs() const override { return chip_->Outputs(); }
  int64_t Depth() const override { return chip_->Depth(); }
  CodeRange InputRange() const override { return chip_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override;
  const ColumnReadout* Readout() const override { return chip_->Readout(); }

  const MvmCore& chip() const { return *chip_; }
  double Rmse() const;        // over every output seen; 0 before any
  double Relative() const;    // RMSE / RMS(exact); 0 when every exact value was 0
  // The traces, vectors in image order, tagged with `instance`.
  LayerTrace Trace(int instance) const;

 private:
  struct VectorTrace {
    int32_t position = 0;
    std::vector<int16_t> inputs;
    std::vector<int64_t> exact;
    std::vector<int32_t> measured;
    std::vector<MvmRead> reads;
  };
  void RecordTrace(const InputCodes& x, int64_t image) const;

  std::unique_ptr<MvmCore> chip_;
  IdealCore exact_;
  int node_;
  TraceSpec spec_;
  mutable std::mutex mutex_;
  mutable Sum err2_ = 0, exact2_ = 0;
  mutable int64_t count_ = 0;
  mutable std::map<int64_t, VectorTrace> traces_;   // by image
};

}  // namespace cimsim
