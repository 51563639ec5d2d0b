#include "experiments/probe_core.h"

#include <cmath>

#include "common/rng.h"
#include "common/streams.h"

namespace cimsim {

void LayerTrace::Append(const LayerTrace& o) {
  if (Vectors() == 0 && read_vector.empty()) {   // the first part sets the layer's attributes
    node = o.node;
    K = o.K;
    N = o.N;
    tile_rows = o.tile_rows;
    weight_slices = o.weight_slices;
    input_slices = o.input_slices;
    sign_passes = o.sign_passes;
  }
  const int32_t shift = static_cast<int32_t>(Vectors());
  auto cat = [](auto& a, const auto& b) { a.insert(a.end(), b.begin(), b.end()); };
  cat(vector_instance, o.vector_instance);
  cat(vector_position, o.vector_position);
  cat(vector_image, o.vector_image);
  cat(inputs, o.inputs);
  cat(exact, o.exact);
  cat(measured, o.measured);
  for (int32_t v : o.read_vector) read_vector.push_back(v + shift);
  cat(read_output, o.read_output);
  cat(read_tile_row, o.read_tile_row);
  cat(read_tile_col, o.read_tile_col);
  cat(read_weight_slice, o.read_weight_slice);
  cat(read_input_slice, o.read_input_slice);
  cat(read_sign_pass, o.read_sign_pass);
  cat(read_code, o.read_code);
  cat(read_ideal, o.read_ideal);
  cat(read_analog, o.read_analog);
  cat(read_lsb, o.read_lsb);
  cat(read_calibrated, o.read_calibrated);
}

ProbeCore::ProbeCore(std::unique_ptr<MvmCore> chip, const QNode& node, int node_index, const TraceSpec& traces)
    : chip_(std::move(chip)),
      exact_(node.weights, node.out_channels, node.Depth(), node.CoreWeightBits(), node.InputMin(), node.InputMax()),
      node_(node_index),
      spec_(traces) {}

void ProbeCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  if (!ctx.segments.empty()) {   // per item: its traces are sampled by its own index and streams
    ForEachSegment(x, y, ctx, [&](const InputCodes& xs, int32_t* ys, MvmContext& cs) { Multiply(xs, ys, ldy, cs); });
    return;
  }
  chip_->Multiply(x, y, ldy, ctx);
  const int64_t n = x.n, N = Outputs();
  std::vector<int32_t> exact(static_cast<size_t>(N * n));
  MvmContext none;
  exact_.Multiply(x, exact.data(), n, none);
  Sum err2 = 0, exact2 = 0;
  for (int64_t o = 0; o < N; ++o)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t e = exact[static_cast<size_t>(o * n + j)];
      const int64_t d = int64_t{y[o * ldy + j]} - e;
      err2 += static_cast<Sum>(d * d);
      exact2 += static_cast<Sum>(e * e);
    }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    err2_ += err2;
    exact2_ += exact2;
    count_ += N * n;
  }
  if (spec_.vectors > 0 && ctx.item >= spec_.first_image && ctx.item < spec_.first_image + spec_.vectors)
    RecordTrace(x, ctx.item);
}

void ProbeCore::RecordTrace(const InputCodes& x, int64_t image) const {
  const int64_t K = Depth(), N = Outputs();
  VectorTrace t;
  Rng pick = TracePositionStream(spec_.position_seed, image, node_);
  const int64_t j = static_cast<int64_t>(pick.Below(static_cast<uint64_t>(x.n)));
  t.position = static_cast<int32_t>(j);
  t.inputs.resize(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) t.inputs[static_cast<size_t>(k)] = x(k, j);
  const InputCodes one = InputCodes::VectorMajor(t.inputs.data(), K, 1);
  std::vector<int32_t> exact(static_cast<size_t>(N));
  t.measured.resize(static_cast<size_t>(N));
  MvmContext none;
  exact_.Multiply(one, exact.data(), 1, none);
  t.exact.assign(exact.begin(), exact.end());
  Rng read = TraceReadStream(spec_.read_seed, image, node_);
  TraceRecorder recorder;
  MvmContext ctx{&read, &recorder, image};
  chip_->Multiply(one, t.measured.data(), 1, ctx);
  t.reads = std::move(recorder.reads);
  const std::lock_guard<std::mutex> lock(mutex_);
  traces_[image] = std::move(t);
}

double ProbeCore::Rmse() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return count_ > 0 ? std::sqrt(static_cast<double>(err2_) / static_cast<double>(count_)) : 0.0;
}

double ProbeCore::Relative() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return exact2_ > 0 ? std::sqrt(static_cast<double>(err2_) / static_cast<double>(exact2_)) : 0.0;
}

LayerTrace ProbeCore::Trace(int instance) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  LayerTrace out;
  out.node = node_;
  out.K = Depth();
  out.N = Outputs();
  if (const ColumnReadout* readout = chip_->Readout(); readout != nullptr) {
    const ReadoutGeometry g = readout->Geometry();
    out.tile_rows = g.tile_rows;
    out.weight_slices = g.weight_slices;
    out.input_slices = g.input_slices;
    out.sign_passes = g.sign_passes;
  }
  for (const auto& [image, t] : traces_) {
    const int32_t v = static_cast<int32_t>(out.Vectors());
    out.vector_instance.push_back(instance);
    out.vector_image.push_back(image);
    out.vector_position.push_back(t.position);
    out.inputs.insert(out.inputs.end(), t.inputs.begin(), t.inputs.end());
    out.exact.insert(out.exact.end(), t.exact.begin(), t.exact.end());
    out.measured.insert(out.measured.end(), t.measured.begin(), t.measured.end());
    for (const MvmRead& r : t.reads) {
      out.read_vector.push_back(v);
      out.read_output.push_back(static_cast<int32_t>(r.output));
      out.read_tile_row.push_back(static_cast<int32_t>(r.tile_row));
      out.read_tile_col.push_back(static_cast<int32_t>(r.tile_col));
      out.read_weight_slice.push_back(r.weight_slice);
      out.read_input_slice.push_back(r.input_slice);
      out.read_sign_pass.push_back(r.sign_pass);
      out.read_code.push_back(r.code);
      out.read_ideal.push_back(r.ideal);
      out.read_analog.push_back(r.analog);
      out.read_lsb.push_back(r.lsb);
      out.read_calibrated.push_back(r.corrected);
    }
  }
  return out;
}

}  // namespace cimsim
