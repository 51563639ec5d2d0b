#include "nets/integer_network.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/streams.h"
#include "nets/pool_window.h"
#include "quant/fixed_point.h"
#include "sim/ideal_core.h"

namespace cimsim {
namespace {

// Copies rows windows of `width` codes, the source rows `src_stride` apart, into one contiguous run
// (rows · width codes). The common widths are compile-time sizes, so each copy is a few vector moves
// instead of a memmove call (ResNet rows are 32, 16 and 8 codes, 64, 32 and 16 bytes).
template <int64_t kWidth>
void CopyWindowsFixed(const int16_t* src, int64_t src_stride, int64_t rows, int16_t* dst) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * kWidth, src + r * src_stride, kWidth * sizeof(int16_t));
}

void CopyWindows(const int16_t* src, int64_t src_stride, int64_t rows, int64_t width, int16_t* dst) {
  switch (width) {
    case 32: return CopyWindowsFixed<32>(src, src_stride, rows, dst);
    case 16: return CopyWindowsFixed<16>(src, src_stride, rows, dst);
    case 8: return CopyWindowsFixed<8>(src, src_stride, rows, dst);
    default:
      for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * src_stride, width, dst + r * width);
  }
}

// Lowers one image's codes x [C, H, W] into cols, row-major [C·k·k, OH·OW] with row stride ld (row
// (c·k + ky)·k + kx, the OIHW flattening; column oy·OW + ox), zero where the window leaves the image.
// First the codes go into a zero-padded int16 copy [C, H + 2p, W + 2p], so that every (row, oy) is a
// plain strided read without bounds checks (for stride 1, OH contiguous copies of OW codes).
void Im2Col(const int32_t* x, int64_t C, int64_t H, int64_t W, int k, int s, int p, int64_t OH, int64_t OW,
            std::vector<int16_t>& padded, int16_t* cols, int64_t ld) {
  const int64_t PH = H + 2 * p, PW = W + 2 * p, K = C * k * k;
  if (padded.size() < static_cast<size_t>(C * PH * PW)) padded.resize(static_cast<size_t>(C * PH * PW));
  if (p > 0) std::fill_n(padded.data(), C * PH * PW, int16_t{0});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < H; ++y) {
      const int32_t* src = x + (c * H + y) * W;
      int16_t* dst = padded.data() + (c * PH + y + p) * PW + p;
      for (int64_t i = 0; i < W; ++i) dst[i] = static_cast<int16_t>(src[i]);
    }
  for (int64_t r = 0; r < K; ++r) {
    const int64_t c = r / (k * k), ky = (r / k) % k, kx = r % k;
    const int16_t* a = padded.data() + (c * PH + ky) * PW + kx;   // row r's window for position (0, 0)
    int16_t* dst = cols + r * ld;
    if (s == 1) {
      CopyWindows(a, PW, OH, OW, dst);
      continue;
    }
    for (int64_t oy = 0; oy < OH; ++oy) {
      const int16_t* ar = a + oy * s * PW;
      int16_t* d = dst + oy * OW;
      for (int64_t ox = 0; ox < OW; ++ox) d[ox] = ar[ox * s];
    }
  }
}

// The conv node n's window over an input of shape in [C, H, W] and output out [N, OH, OW].
ConvWindow Window(const QNode& n, const std::array<int64_t, 3>& in, const std::array<int64_t, 3>& out) {
  ConvWindow g;
  g.channels = in[0], g.height = in[1], g.width = in[2];
  g.kernel = n.kernel, g.stride = n.stride, g.padding = n.padding;
  g.out_height = out[1], g.out_width = out[2];
  return g;
}

}  // namespace

std::unique_ptr<MvmCore> MakeIdealCore(const QNode& node, int /*index*/) {
  const int32_t in_lo = node.InputMin();
  const int32_t in_hi = node.InputMax();
  return std::make_unique<IdealCore>(std::span<const int16_t>(node.weights), node.out_channels, node.Depth(), node.CoreWeightBits(),
                                     in_lo, in_hi);
}

IntegerNetwork::IntegerNetwork(QuantizedModel model, const MvmCoreFactory& factory, const std::string& where,
                               uint64_t noise_seed)
    : model_(std::move(model)), noise_seed_(noise_seed) {
  model_.Validate(where);
  shapes_ = model_.NodeShapes();
  const size_t count = model_.nodes.size();
  cores_.resize(count);
  direct_.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const QNode& n = model_.nodes[i];
    if (n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear) {
      cores_[i] = factory(n, static_cast<int>(i));
      if (cores_[i]->Outputs() != n.out_channels || cores_[i]->Depth() != n.Depth())
        throw std::logic_error("MvmCore for " + n.name + " has the wrong shape");
      // The node's input codes lie in [InputMin, InputMax] (validated model); within [0, 255] they
      // are exactly their uint8 values. The direct conv computes the IdealCore's exact sums.
      const auto* ideal = dynamic_cast<const IdealCore*>(cores_[i].get());
      const ConvWindow g = Window(n, InputShape(n), shapes_[i]);
      if (n.kind == QNodeKind::kConv && ideal != nullptr && ideal->kernel() == IdealCore::Kernel::kU8S8 &&
          n.InputMin() >= 0 && n.InputMax() <= 255 && DirectConvU8::Applies(g))
        direct_[i] = std::make_unique<DirectConvU8>(n.weights, n.out_channels, g);
    }
  }
  FoldRequantsIntoDirectConvs();
  // Liveness plan over the nodes that run: a node's output takes a free slot; its inputs' slots free
  // after their last reader.
  std::vector<size_t> last_use(count, 0);
  for (size_t i = 0; i < count; ++i)
    for (int in : inputs_[i])
      if (in != QNode::kImage) last_use[static_cast<size_t>(in)] = i;
  last_use[count - 1] = count;  // the logits stay
  slot_.assign(count, -1);
  std::vector<int> free_slots;
  for (size_t i = 0; i < count; ++i) {
    if (folded_[i]) continue;
    int s;
    if (!free_slots.empty()) {
      s = free_slots.back();
      free_slots.pop_back();
    } else {
      s = static_cast<int>(slot_size_.size());
      slot_size_.push_back(0);
    }
    slot_[i] = s;
    const auto& sh = shapes_[i];
    slot_size_[static_cast<size_t>(s)] = std::max(slot_size_[static_cast<size_t>(s)], sh[0] * sh[1] * sh[2]);
    for (int in : inputs_[i]) {
      if (in == QNode::kImage || last_use[static_cast<size_t>(in)] != i) continue;
      const int freed = slot_[static_cast<size_t>(in)];
      if (std::find(free_slots.begin(), free_slots.end(), freed) == free_slots.end()) free_slots.push_back(freed);
    }
  }
}

void IntegerNetwork::FoldRequantsIntoDirectConvs() {
  const size_t count = model_.nodes.size();
  inputs_.resize(count);
  for (size_t i = 0; i < count; ++i) inputs_[i] = model_.nodes[i].inputs;
  folded_.assign(count, false);
  lut_.resize(count);
  std::vector<int> readers(count, 0);
  for (const QNode& n : model_.nodes)
    for (int in : n.inputs)
      if (in != QNode::kImage) ++readers[static_cast<size_t>(in)];
  for (size_t i = 0; i < count; ++i) {
    const int r = model_.nodes[i].inputs[0];
    if (direct_[i] == nullptr || r == QNode::kImage) continue;
    const QNode& requant = model_.nodes[static_cast<size_t>(r)];
    if (requant.kind != QNodeKind::kRequant || readers[static_cast<size_t>(r)] != 1) continue;
    const int source = requant.inputs[0];
    if (source == QNode::kImage) continue;
    const QNode& src = model_.nodes[static_cast<size_t>(source)];
    if (src.out_min < 0 || src.out_max > 255) continue;  // the source's codes must index a byte table
    // lut[v] = the requant node's output for input code v, by the reference arithmetic; within the
    // conv's input range [0, 255] (direct_ requires it), so a byte.
    std::vector<uint8_t>& lut = lut_[i];
    lut.assign(256, 0);
    for (int32_t v = 0; v < 256; ++v) {
      int32_t out = 0;
      RequantizeRowReference(&v, 1, 0, requant.pool, requant.out_min, requant.out_max, &out);
      lut[static_cast<size_t>(v)] = static_cast<uint8_t>(out);
    }
    inputs_[i][0] = source;
    folded_[static_cast<size_t>(r)] = true;
  }
}

void IntegerNetwork::SetImagesPerCall(int64_t images) {
  if (images < 1 || images > 4096)
    throw std::invalid_argument("IntegerNetwork::SetImagesPerCall: " + std::to_string(images) + "; allowed 1..4096");
  images_per_call_ = images;
}

std::array<int64_t, 3> IntegerNetwork::InputShape(const QNode& n) const {
  return n.inputs[0] == QNode::kImage
             ? std::array<int64_t, 3>{model_.input_chw[0], model_.input_chw[1], model_.input_chw[2]}
             : shapes_[static_cast<size_t>(n.inputs[0])];
}

const int32_t* IntegerNetwork::Buffer(const IntegerWorker& w, int64_t b, int input) const {
  const auto& slots = w.slots[static_cast<size_t>(b)];
  return input == QNode::kImage ? slots[slot_size_.size()].data()
                                : slots[static_cast<size_t>(slot_[static_cast<size_t>(input)])].data();
}

int32_t* IntegerNetwork::Output(IntegerWorker& w, int64_t b, int index) const {
  return w.slots[static_cast<size_t>(b)][static_cast<size_t>(slot_[static_cast<size_t>(index)])].data();
}

void IntegerNetwork::RunMvm(int index, int64_t B, IntegerWorker& w, int64_t first_index) const {
  const QNode& n = model_.nodes[static_cast<size_t>(index)];
  const auto in = InputShape(n);
  const auto& out = shapes_[static_cast<size_t>(index)];
  const int64_t positions = out[1] * out[2], ld = B * positions;
  if (const DirectConvU8* direct = direct_[static_cast<size_t>(index)].get()) {
    // Image by image: pack, multiply on the padded grid, requantize its valid columns.
    const ConvWindow g = Window(n, in, out);
    const int64_t columns = direct->GridColumns(), pitch = direct->GridPitch();
    if (w.acc.size() < static_cast<size_t>(n.out_channels * columns)) w.acc.resize(static_cast<size_t>(n.out_channels * columns));
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<uint8_t>& lut = lut_[static_cast<size_t>(index)];
      PackChannelQuadPlanes(Buffer(w, b, inputs_[static_cast<size_t>(index)][0]), g, w.planes,
                            lut.empty() ? nullptr : lut.data());
      direct->Run(w.planes, w.acc.data(), columns);
      int32_t* y = Output(w, b, index);
      for (int o = 0; o < n.out_channels; ++o)
        RequantizeRows(w.acc.data() + o * columns, out[1], out[2], pitch, n.bias[static_cast<size_t>(o)], n.Multiplier(o),
                       n.out_min, n.out_max, y + o * positions, out[2]);
    }
    return;
  }
  const auto acc_size = static_cast<size_t>(n.out_channels * ld);
  if (w.acc.size() < acc_size) w.acc.resize(acc_size);
  RunCoreMvm(index, B, w, first_index);
  for (int64_t b = 0; b < B; ++b) {
    int32_t* y = Output(w, b, index);
    for (int o = 0; o < n.out_channels; ++o)
      RequantizeRow(w.acc.data() + o * ld + b * positions, positions, n.bias[static_cast<size_t>(o)], n.Multiplier(o),
                    n.out_min, n.out_max, y + o * positions);
  }
}

void IntegerNetwork::RunCoreMvm(int index, int64_t B, IntegerWorker& w, int64_t first_index) const {
  const QNode& n = model_.nodes[static_cast<size_t>(index)];
  const auto in = InputShape(n);
  const auto& out = shapes_[static_cast<size_t>(index)];
  const int64_t positions = out[1] * out[2], K = n.Depth(), ld = B * positions;
  const auto cols_size = static_cast<size_t>(K * ld);
  if (w.cols.size() < cols_size) w.cols.resize(cols_size);
  InputCodes codes;
  if (n.kind == QNodeKind::kLinear) {
    for (int64_t b = 0; b < B; ++b) {
      const int32_t* x = Buffer(w, b, n.inputs[0]);
      for (int64_t k = 0; k < K; ++k) w.cols[static_cast<size_t>(b * K + k)] = static_cast<int16_t>(x[k]);
    }
    codes = InputCodes::VectorMajor(w.cols.data(), K, B);
  } else {
    for (int64_t b = 0; b < B; ++b) {
      Im2Col(Buffer(w, b, n.inputs[0]), in[0], in[1], in[2], n.kernel, n.stride, n.padding, out[1], out[2], w.padded,
             w.cols.data() + b * positions, ld);
    }
    codes = InputCodes::RowMajor(w.cols.data(), K, ld, ld);
  }
  w.rngs.resize(static_cast<size_t>(B), Rng(0));
  w.segments.resize(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    Rng& rng = w.rngs[static_cast<size_t>(b)];
    rng = ImageNoiseStream(noise_seed_, first_index + b, index);
    w.segments[static_cast<size_t>(b)] = {b * positions, positions, &rng, first_index + b};
  }
  if (B == 1) {   // image-major: the plain per-image call
    w.context = MvmContext{&w.rngs[0], nullptr, first_index, {}};
  } else {
    w.context = MvmContext{nullptr, nullptr, -1, std::span<const MvmSegment>(w.segments.data(), static_cast<size_t>(B))};
  }
  cores_[static_cast<size_t>(index)]->Multiply(codes, w.acc.data(), ld, w.context);
}

void IntegerNetwork::RunAdd(int index, const std::vector<const int32_t*>& xs, int32_t* y, IntegerWorker& w) const {
  const QNode& n = model_.nodes[static_cast<size_t>(index)];
  const auto& sh = shapes_[static_cast<size_t>(index)];
  const int64_t size = sh[0] * sh[1] * sh[2];
  constexpr int32_t kLo = std::numeric_limits<int32_t>::min(), kHi = std::numeric_limits<int32_t>::max();
  // Input j at the output scale: its codes; otherwise rescaled into the j-th part of w.tmp.
  const auto tmp_size = static_cast<size_t>(size) * std::min<size_t>(xs.size(), 2);
  if (w.tmp.size() < tmp_size) w.tmp.resize(tmp_size);
  auto at_output_scale = [&](size_t j) -> const int32_t* {
    if (n.rescale_identity[j]) return xs[j];
    int32_t* dst = w.tmp.data() + static_cast<int64_t>(j % 2) * size;
    RequantizeRow(xs[j], size, 0, n.Rescale(j), kLo, kHi, dst);
    return dst;
  };
  // Every input is within ±2^30 (validated), so the int64 sum of a few of them cannot overflow.
  if (xs.size() == 2) {   // the residual add: one pass, y = clamp(a + b)
    const int32_t* a = at_output_scale(0);
    const int32_t* b = at_output_scale(1);
    for (int64_t i = 0; i < size; ++i)
      y[i] = static_cast<int32_t>(std::clamp<int64_t>(int64_t{a[i]} + b[i], n.out_min, n.out_max));
    return;
  }
  // Any other count: a running sum kept within int32, the last addition clamped to the output range
  // (for two inputs the same as the pass above: 0 + a never leaves int32).
  std::fill_n(y, size, 0);
  for (size_t j = 0; j < xs.size(); ++j) {
    const int32_t* src = at_output_scale(j);
    const bool last = j + 1 == xs.size();
    for (int64_t i = 0; i < size; ++i) {
      const int64_t sum = static_cast<int64_t>(y[i]) + src[i];
      y[i] = last ? static_cast<int32_t>(std::clamp<int64_t>(sum, n.out_min, n.out_max))
                  : static_cast<int32_t>(std::clamp<int64_t>(sum, kLo, kHi));
    }
  }
}

void IntegerNetwork::RunOther(int index, int64_t b, IntegerWorker& w) const {
  const QNode& n = model_.nodes[static_cast<size_t>(index)];
  int32_t* y = Output(w, b, index);
  const int32_t* x = Buffer(w, b, n.inputs[0]);
  const std::array<int64_t, 3> in = InputShape(n);
  const auto& out = shapes_[static_cast<size_t>(index)];
  switch (n.kind) {
    case QNodeKind::kConv:
    case QNodeKind::kLinear: throw std::logic_error("IntegerNetwork::RunOther: " + n.name + " is an MVM node");
    case QNodeKind::kAdd: {
      std::vector<const int32_t*>& xs = w.inputs;
      xs.clear();
      for (int input : n.inputs) xs.push_back(Buffer(w, b, input));
      RunAdd(index, xs, y, w);
      break;
    }
    case QNodeKind::kGlobalAvgPool: {
      const int64_t hw = in[1] * in[2];
      for (int64_t c = 0; c < in[0]; ++c) {
        int32_t sum = 0;  // bounded by validation: H·W·max|x| < 2^31
        for (int64_t j = 0; j < hw; ++j) sum += x[c * hw + j];
        y[c] = std::clamp(MultiplyByQuantizedMultiplier(sum, n.pool), n.out_min, n.out_max);
      }
      break;
    }
    case QNodeKind::kRequant:
      RequantizeRow(x, out[0] * out[1] * out[2], 0, n.pool, n.out_min, n.out_max, y);
      break;
    case QNodeKind::kShortcutA: {
      const int64_t oc = out[0], oh = out[1], ow = out[2];
      std::fill_n(y, oc * oh * ow, 0);
      for (int64_t c = 0; c < in[0]; ++c)
        for (int64_t r = 0; r < oh; ++r)
          for (int64_t q = 0; q < ow; ++q)
            y[((c + n.pad) * oh + r) * ow + q] = x[(c * in[1] + r * n.stride) * in[2] + q * n.stride];
      break;
    }
    case QNodeKind::kMaxPool: {
      for (int64_t c = 0; c < out[0]; ++c)
        for (int64_t r = 0; r < out[1]; ++r)
          for (int64_t q = 0; q < out[2]; ++q) {
            const PoolWindow rows = ClippedPoolWindow(r, n.stride, n.padding, n.kernel, in[1]);
            const PoolWindow cols = ClippedPoolWindow(q, n.stride, n.padding, n.kernel, in[2]);
            int32_t m = std::numeric_limits<int32_t>::min();
            for (int64_t h = rows.lo; h < rows.hi; ++h)
              for (int64_t w = cols.lo; w < cols.hi; ++w) m = std::max(m, x[(c * in[1] + h) * in[2] + w]);
            y[(c * out[1] + r) * out[2] + q] = m;
          }
      break;
    }
  }
}

void IntegerNetwork::ForwardImage(const uint8_t* image, int32_t* logits, IntegerWorker& w, int64_t image_index) const {
  ForwardGroup(image, 1, logits, w, image_index);
}

void IntegerNetwork::ForwardGroup(const uint8_t* images, int64_t count, int32_t* logits, IntegerWorker& w,
                                  int64_t first_index) const {
  const int64_t plane = static_cast<int64_t>(model_.input_chw[1]) * model_.input_chw[2];
  const int64_t image_size = model_.input_chw[0] * plane;
  if (w.slots.size() < static_cast<size_t>(count)) w.slots.resize(static_cast<size_t>(count));
  for (int64_t b = 0; b < count; ++b) {
    auto& slots = w.slots[static_cast<size_t>(b)];
    // The plan's slots, then one for the image codes.
    if (slots.size() < slot_size_.size() + 1) slots.resize(slot_size_.size() + 1);
    for (size_t s = 0; s < slot_size_.size(); ++s)
      if (slots[s].size() < static_cast<size_t>(slot_size_[s])) slots[s].resize(static_cast<size_t>(slot_size_[s]));
    std::vector<int32_t>& codes = slots[slot_size_.size()];
    if (codes.size() < static_cast<size_t>(image_size)) codes.resize(static_cast<size_t>(image_size));
    const uint8_t* image = images + b * image_size;
    for (int64_t c = 0; c < model_.input_chw[0]; ++c) {
      const auto& lut = model_.input_lut[static_cast<size_t>(c)];
      for (int64_t i = 0; i < plane; ++i) codes[static_cast<size_t>(c * plane + i)] = lut[image[c * plane + i]];
    }
  }
  for (size_t i = 0; i < model_.nodes.size(); ++i) {
    if (folded_[i]) continue;
    const QNodeKind kind = model_.nodes[i].kind;
    if (kind == QNodeKind::kConv || kind == QNodeKind::kLinear) {
      RunMvm(static_cast<int>(i), count, w, first_index);
    } else {
      for (int64_t b = 0; b < count; ++b) RunOther(static_cast<int>(i), b, w);
    }
  }
  for (int64_t b = 0; b < count; ++b)
    std::copy_n(Output(w, b, static_cast<int>(model_.nodes.size()) - 1), model_.num_classes, logits + b * model_.num_classes);
}

void IntegerNetwork::Forward(const uint8_t* images, int64_t n, int32_t* logits, ThreadPool& pool,
                             int64_t first_index) {
  while (workers_.size() < static_cast<size_t>(pool.Threads())) workers_.push_back(std::make_unique<IntegerWorker>());
  const int64_t image_size = static_cast<int64_t>(model_.input_chw[0]) * model_.input_chw[1] * model_.input_chw[2];
  const int64_t group = images_per_call_;
  const int64_t groups = (n + group - 1) / group;
  pool.ParallelFor(groups, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    IntegerWorker& w = *workers_[static_cast<size_t>(worker)];
    for (std::ptrdiff_t g = begin; g < end; ++g) {
      const int64_t i = g * group, count = std::min(group, n - i);
      ForwardGroup(images + i * image_size, count, logits + i * model_.num_classes, w, first_index + i);
    }
  });
}

}  // namespace cimsim
