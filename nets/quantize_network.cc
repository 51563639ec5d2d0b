#include "nets/quantize_network.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <stdexcept>

#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "data/calibration_subset.h"
#include "data/normalize.h"
#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/shortcut_a.h"
#include "quant/adaround.h"
#include "quant/fixed_point.h"
#include "quant/range_calibration.h"
#include "quant/weight_quantizer.h"

namespace cimsim {
namespace {

constexpr int kImage = Network::kInput;
constexpr int32_t kWide = int32_t{1} << 30;
constexpr double kLogitCodes = 16384.0;  // 2^14 codes for the largest calibration logit

// One integer node in the making: the float nodes it covers and what it computes.
struct Group {
  QNodeKind kind;
  int head = 0, tail = 0;        // first and last float node
  int batch_norm = -1;           // folded BatchNorm node, if any
  bool relu = false;             // ends in a ReLU (unsigned output)
  std::vector<int> inputs;       // group indices or kImage
  // Filled by the later passes:
  bool is_unsigned = false;
  int bits = 0;                  // output code bits (0: wide)
  int governing_layer = -1;      // group of the conv/linear reader with the most bits
  int wide_into = -1;            // conv whose wide output feeds this add group
  int input_requant = -1;        // conv/linear: index into the requants its input comes through, or -1
  double scale = 1.0;
  int32_t lo = 0, hi = 0;
};

// A requant node in the making: group `source`'s output re-encoded at `bits` (fewer than the
// source's) for the conv/linear readers with those activation_bits; `first_reader` names it and
// supplies the range parameters.
struct Requant {
  int source = 0;
  int bits = 0;
  int first_reader = 0;
  bool is_unsigned = false;     // as the source
  double scale = 1.0;
  int32_t lo = 0, hi = 0;
  int node = -1;                // index in the QuantizedModel
};

// Mean over `sample` of the values a reader of the requant sees: x̂ = s_r·clamp(round(q/s_r)) of the
// source's grid value q = s·clamp(round(x/s)) (what the integer engine computes, up to fixed-point rounding).
double RequantizedMean(std::span<const float> sample, const Group& src, const Requant& r) {
  double sum = 0;
  for (float x : sample) {
    const double q = src.scale * std::clamp(std::round(x / src.scale), static_cast<double>(src.lo), static_cast<double>(src.hi));
    sum += r.scale * std::clamp(std::round(q / r.scale), static_cast<double>(r.lo), static_cast<double>(r.hi));
  }
  return sample.empty() ? 0.0 : sum / static_cast<double>(sample.size());
}

int QMax(int bits, bool is_unsigned) { return is_unsigned ? (1 << bits) - 1 : (1 << (bits - 1)) - 1; }

std::string KindOf(const Network& net, int i) {
  return std::string(net.nodes()[static_cast<size_t>(i)].layer->Kind());
}

std::vector<std::vector<int>> Consumers(const Network& net) {
  std::vector<std::vector<int>> out(net.nodes().size());
  for (size_t i = 0; i < net.nodes().size(); ++i)
    for (int in : net.nodes()[i].inputs)
      if (in != kImage) out[static_cast<size_t>(in)].push_back(static_cast<int>(i));
  return out;
}

// Step 1: fusion.
std::vector<Group> Fuse(const Network& net, std::vector<int>& group_of_tail) {
  const auto consumers = Consumers(net);
  const size_t count = net.nodes().size();
  std::vector<bool> used(count, false);
  group_of_tail.assign(count, -1);
  std::vector<Group> groups;
  auto follow = [&](int node, const char* kind) -> int {
    const auto& c = consumers[static_cast<size_t>(node)];
    return c.size() == 1 && KindOf(net, c[0]) == kind ? c[0] : -1;
  };
  for (size_t i = 0; i < count; ++i) {
    if (used[i]) continue;
    const std::string kind = KindOf(net, static_cast<int>(i));
    Group g;
    g.head = g.tail = static_cast<int>(i);
    if (kind == "conv2d" || kind == "add") {
      g.kind = kind == "conv2d" ? QNodeKind::kConv : QNodeKind::kAdd;
      if (kind == "conv2d") {
        const int bn = follow(g.tail, "batch_norm");
        if (bn >= 0) g.batch_norm = g.tail = bn;
      }
      const int relu = follow(g.tail, "relu");
      if (relu >= 0) {
        g.relu = true;
        g.tail = relu;
      }
    } else if (kind == "linear") {
      g.kind = QNodeKind::kLinear;
    } else if (kind == "global_avg_pool") {
      g.kind = QNodeKind::kGlobalAvgPool;
    } else if (kind == "shortcut_a") {
      g.kind = QNodeKind::kShortcutA;
    } else if (kind == "max_pool2d") {
      g.kind = QNodeKind::kMaxPool;
    } else {
      throw std::logic_error("cannot quantize node '" + net.nodes()[i].name + "' (" + kind +
                             "): only conv [+ BatchNorm] [+ ReLU], add [+ ReLU], linear, pools and shortcuts");
    }
    for (int n = g.head; n <= g.tail; ++n)
      if (n == g.head || n == g.batch_norm || n == g.tail) used[static_cast<size_t>(n)] = true;
    for (int in : net.nodes()[static_cast<size_t>(g.head)].inputs) {
      if (in == kImage) {
        g.inputs.push_back(kImage);
        continue;
      }
      const int src = group_of_tail[static_cast<size_t>(in)];
      if (src < 0)
        throw std::logic_error("node '" + net.nodes()[i].name + "' reads '" + net.nodes()[static_cast<size_t>(in)].name +
                               "' from inside a fused group");
      g.inputs.push_back(src);
    }
    group_of_tail[static_cast<size_t>(g.tail)] = static_cast<int>(groups.size());
    groups.push_back(g);
  }
  return groups;
}

bool IsMvm(QNodeKind k) { return k == QNodeKind::kConv || k == QNodeKind::kLinear; }
bool Inherits(QNodeKind k) { return k == QNodeKind::kShortcutA || k == QNodeKind::kMaxPool; }

// Float weights [O, K] and bias [O] of a conv/linear group with its BatchNorm folded in.
void FoldedWeights(const Network& net, const Group& g, std::vector<float>& w, std::vector<double>& b) {
  const Layer* layer = net.nodes()[static_cast<size_t>(g.head)].layer.get();
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  if (g.kind == QNodeKind::kConv) {
    const auto* conv = static_cast<const Conv2d*>(layer);
    weight = &conv->weight();
    if (conv->params().bias) bias = &conv->bias();
  } else {
    auto* lin = const_cast<Linear*>(static_cast<const Linear*>(layer));
    weight = &lin->weight();
    bias = &lin->bias();
  }
  const int64_t O = weight->dim(0), K = weight->size() / O;
  w.assign(weight->data(), weight->data() + weight->size());
  b.assign(static_cast<size_t>(O), 0.0);
  if (bias)
    for (int64_t o = 0; o < O; ++o) b[static_cast<size_t>(o)] = bias->data()[o];
  if (g.batch_norm < 0) return;
  const auto* bn = static_cast<const BatchNorm2d*>(net.nodes()[static_cast<size_t>(g.batch_norm)].layer.get());
  for (int64_t o = 0; o < O; ++o) {
    const double a = static_cast<double>(bn->gamma().data()[o]) /
                     std::sqrt(static_cast<double>(bn->running_var().data()[o]) + bn->eps());
    for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(o * K + k)] = static_cast<float>(w[static_cast<size_t>(o * K + k)] * a);
    b[static_cast<size_t>(o)] = (b[static_cast<size_t>(o)] - bn->running_mean().data()[o]) * a + bn->beta().data()[o];
  }
}

FixedPointMultiplier Multiplier(double real, const std::string& layer, const std::string& what) {
  if (!(real >= 0) || !std::isfinite(real) || real >= 1073741824.0)
    throw InputError("cannot quantize " + layer + ": " + what + " multiplier " + std::to_string(real) +
                     " is outside [0, 2^30) — the calibration ranges of this layer are degenerate");
  return QuantizeMultiplier(real);
}

double Mean(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// ---- Layer reconstruction (quant/adaround.h): output clip search, empirical bias correction,
// AdaRound. The first `images` calibration images are run twice, group by group in graph order, as
// the integer nodes are built: through the float network (folded float weights) and through the
// fake-quantized network made so far (every tensor s·clamp(round(y/s)) on its grid, as
// nets/fake_quant_forward.h). A layer that asks for it gets the second moments of its im2col input
// patches — float x and quantized x̂, at most kPatchesPerImage seeded positions per image — so its
// weights are fitted to the inputs the quantized layers before it really produce.
constexpr int64_t kPatchesPerImage = 256;

class Reconstruction {
 public:
  Reconstruction(const Network& net, const std::vector<Group>& groups, const std::vector<Requant>& requants,
                 const std::vector<std::vector<int>>& readers, const ModelSpec& spec, const QuantizedModel& model,
                 const Cifar10Set& data, std::vector<int64_t> images, uint64_t seed)
      : net_(net), groups_(groups), requants_(requants), seed_(seed),
        n_(static_cast<int64_t>(images.size())) {
    remaining_.resize(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) remaining_[g] = static_cast<int>(readers[g].size());
    acts_.resize(groups.size());
    requant_acts_.resize(requants.size());
    shapes_ = net.NodeShapes({1, kCifarChannels, data.height, data.width});
    image_.c = kCifarChannels;
    image_.h = data.height;
    image_.w = data.width;
    const int64_t size = image_.Size();
    image_.f.resize(static_cast<size_t>(n_ * size));
    image_.q.resize(static_cast<size_t>(n_ * size));
    const Normalizer normalizer(spec.input_norm, "model input normalization");
    const int64_t plane = int64_t{data.height} * data.width;
    for (int64_t i = 0; i < n_; ++i) {
      const uint8_t* px = data.image(images[static_cast<size_t>(i)]);
      normalizer.Apply(px, plane, image_.f.data() + i * size);
      for (int64_t k = 0; k < size; ++k)
        image_.q[static_cast<size_t>(i * size + k)] = static_cast<float>(
            model.input_scale * model.input_lut[static_cast<size_t>(k / plane)][px[k]]);
    }
  }

  int64_t images() const { return n_; }

  // The layer's weights from the moments of its input patches over the first `images` images.
  OutputQuantResult QuantizeLayer(int g, const QNode& n, const std::vector<float>& w, const WeightQuantParams& wp,
                                  const LayerQuantParams& p) {
    const Act& in = Input(g);
    const int64_t K = n.Depth(), images = std::min(p.reconstruction_images, n_);
    LayerMoments moments(K);
    std::vector<float> cf, cq, sf, sq;
    for (int64_t i = 0; i < images; ++i) {
      const int64_t P = Im2col(in, i, n, false, cf);
      Im2col(in, i, n, true, cq);
      // A seeded subset of the positions (partial Fisher–Yates), in increasing order.
      std::vector<int64_t> pos(static_cast<size_t>(P));
      std::iota(pos.begin(), pos.end(), int64_t{0});
      const int64_t m = std::min(P, kPatchesPerImage);
      if (m < P) {
        Rng r = ReconstructionPatchStream(seed_, g, i);
        for (int64_t j = 0; j < m; ++j) std::swap(pos[static_cast<size_t>(j)], pos[static_cast<size_t>(j + static_cast<int64_t>(r.Below(static_cast<uint64_t>(P - j))))]);
        pos.resize(static_cast<size_t>(m));
        std::sort(pos.begin(), pos.end());
      }
      sf.resize(static_cast<size_t>(K * m));
      sq.resize(static_cast<size_t>(K * m));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < m; ++j) {
          sf[static_cast<size_t>(k * m + j)] = cf[static_cast<size_t>(k * P + pos[static_cast<size_t>(j)])];
          sq[static_cast<size_t>(k * m + j)] = cq[static_cast<size_t>(k * P + pos[static_cast<size_t>(j)])];
        }
      moments.Add(sf.data(), sq.data(), m);
    }
    OutputQuantParams op;
    op.clip_search = p.output_clip_search;
    op.bias_correction = p.output_bias_correction;
    op.rounding = p.rounding;
    op.adaround = p.adaround;
    const auto start = std::chrono::steady_clock::now();
    OutputQuantResult r = QuantizeWeightsForOutput(w.data(), n.out_channels, K, wp, moments, op);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "reconstruct %-20s %s%s%s: output error %.4g -> %.4g (inputs alone %.4g), %lld patches, %.1f s\n",
                 n.name.c_str(), std::string(ToString(p.rounding)).c_str(), p.output_clip_search ? " +clip" : "",
                 p.output_bias_correction ? " +bias" : "", r.error_nearest, r.error_final, r.error_float_inputs,
                 static_cast<long long>(moments.count()), seconds);
    return r;
  }

  // The requant nodes of group g (run after Forward(g)): the float activations unchanged, the
  // fake-quantized ones re-quantized on the requant's grid, x̂ = s_r·clamp(round(q/s_r), lo, hi).
  void ForwardRequants(int g) {
    for (size_t r = 0; r < requants_.size(); ++r) {
      const Requant& rq = requants_[r];
      if (rq.source != g) continue;
      const Act& src = acts_[static_cast<size_t>(g)];
      Act& out = requant_acts_[r];
      out = src;
      for (float& v : out.q)
        v = static_cast<float>(rq.scale * std::clamp(std::round(v / rq.scale), static_cast<double>(rq.lo), static_cast<double>(rq.hi)));
    }
  }

  // Runs group g (its integer node n; w, b the folded float weights of a conv/linear) on the float
  // and the fake-quantized activations, then frees inputs no later group reads.
  void Forward(int g, const QNode& n, const std::vector<float>& w, const std::vector<double>& b) {
    const Group& grp = groups_[static_cast<size_t>(g)];
    Act& out = acts_[static_cast<size_t>(g)];
    if (remaining_[static_cast<size_t>(g)] == 0) {
      Release(g);
      return;
    }
    const Shape& shape = shapes_[static_cast<size_t>(grp.tail)];
    out.c = shape[1];
    out.h = shape.size() > 2 ? shape[2] : 1;
    out.w = shape.size() > 3 ? shape[3] : 1;
    const int64_t size = out.Size();
    out.f.assign(static_cast<size_t>(n_ * size), 0.f);
    out.q.assign(static_cast<size_t>(n_ * size), 0.f);
    const double s = grp.scale;
    const auto quantize = [&](double y) {
      return static_cast<float>(s * std::clamp(std::round(y / s), static_cast<double>(grp.lo), static_cast<double>(grp.hi)));
    };
    switch (grp.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        const Act& in = Input(g);
        const int64_t K = n.Depth(), O = n.out_channels;
        using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        const Eigen::Map<const RowMajor> wf(w.data(), O, K);
        RowMajor wq(O, K);
        for (int64_t o = 0; o < O; ++o)
          for (int64_t k = 0; k < K; ++k)
            wq(o, k) = static_cast<float>(n.weight_scales[static_cast<size_t>(o)] * n.weights[static_cast<size_t>(o * K + k)]);
        std::vector<float> cols;
        RowMajor y;
        for (int64_t i = 0; i < n_; ++i) {
          for (bool quant : {false, true}) {
            const int64_t P = Im2col(in, i, n, quant, cols);
            y.noalias() = (quant ? wq : RowMajor(wf)) * Eigen::Map<const RowMajor>(cols.data(), K, P);
            float* dst = (quant ? out.q : out.f).data() + i * size;
            for (int64_t o = 0; o < O; ++o) {
              const double bias = quant ? n.weight_scales[static_cast<size_t>(o)] * InScale(g) * n.bias[static_cast<size_t>(o)]
                                        : b[static_cast<size_t>(o)];
              for (int64_t q = 0; q < P; ++q) {
                const double v = static_cast<double>(y(o, q)) + bias;
                dst[o * P + q] = quant ? quantize(v) : static_cast<float>(grp.relu ? std::max(v, 0.0) : v);
              }
            }
          }
        }
        break;
      }
      case QNodeKind::kAdd: {
        for (int64_t k = 0; k < n_ * size; ++k) {
          double sf = 0, codes = 0;
          for (int in : grp.inputs) {
            sf += acts_[static_cast<size_t>(in)].f[static_cast<size_t>(k)];
            codes += std::round(acts_[static_cast<size_t>(in)].q[static_cast<size_t>(k)] / s);
          }
          out.f[static_cast<size_t>(k)] = static_cast<float>(grp.relu ? std::max(sf, 0.0) : sf);
          out.q[static_cast<size_t>(k)] = static_cast<float>(s * std::clamp(codes, static_cast<double>(grp.lo), static_cast<double>(grp.hi)));
        }
        break;
      }
      case QNodeKind::kGlobalAvgPool: {
        const Act& in = Input(g);
        const int64_t hw = in.h * in.w;
        for (int64_t i = 0; i < n_; ++i)
          for (int64_t c = 0; c < in.c; ++c) {
            double mf = 0, mq = 0;
            for (int64_t k = 0; k < hw; ++k) {
              mf += in.f[static_cast<size_t>((i * in.c + c) * hw + k)];
              mq += in.q[static_cast<size_t>((i * in.c + c) * hw + k)];
            }
            out.f[static_cast<size_t>(i * size + c)] = static_cast<float>(mf / static_cast<double>(hw));
            out.q[static_cast<size_t>(i * size + c)] = quantize(mq / static_cast<double>(hw));
          }
        break;
      }
      case QNodeKind::kRequant:
        throw std::logic_error("Reconstruction::Forward: requant nodes are not groups");
      case QNodeKind::kShortcutA:
      case QNodeKind::kMaxPool: {  // exact on grid values: the float layer on both
        const Act& in = Input(g);
        const Layer* layer = net_.nodes()[static_cast<size_t>(grp.head)].layer.get();
        for (bool quant : {false, true}) {
          Tensor x({n_, in.c, in.h, in.w}), y;
          const std::vector<float>& src = quant ? in.q : in.f;
          std::copy(src.begin(), src.end(), x.data());
          layer->Forward({&x}, y, pool_, workspace_);
          std::copy(y.data(), y.data() + y.size(), (quant ? out.q : out.f).data());
        }
        break;
      }
    }
    Release(g);
  }

 private:
  struct Act {
    std::vector<float> f, q;   // [images, c, h, w]: float network / fake-quantized network
    int64_t c = 0, h = 0, w = 0;
    int64_t Size() const { return c * h * w; }
  };

  // The layer's actual input: its requant node's output when it reads one.
  const Act& Input(int g) const {
    const Group& grp = groups_[static_cast<size_t>(g)];
    if (grp.input_requant >= 0) return requant_acts_[static_cast<size_t>(grp.input_requant)];
    const int in = grp.inputs[0];
    return in == kImage ? image_ : acts_[static_cast<size_t>(in)];
  }
  double InScale(int g) const {
    const Group& grp = groups_[static_cast<size_t>(g)];
    if (grp.input_requant >= 0) return requants_[static_cast<size_t>(grp.input_requant)].scale;
    const int in = grp.inputs[0];
    return in == kImage ? image_scale_ : groups_[static_cast<size_t>(in)].scale;
  }
  // A source's requant activations are freed with it (after its last reader, direct or not).
  void Release(int g) {
    for (int in : groups_[static_cast<size_t>(g)].inputs) {
      if (in == kImage) continue;
      if (--remaining_[static_cast<size_t>(in)] == 0) {
        acts_[static_cast<size_t>(in)] = Act{};
        for (size_t r = 0; r < requants_.size(); ++r)
          if (requants_[r].source == in) requant_acts_[r] = Act{};
      }
    }
  }

  // im2col of image i of `in` for node n: cols [C·k·k, OH·OW] row-major (OIHW order); returns OH·OW.
  static int64_t Im2col(const Act& in, int64_t i, const QNode& n, bool quant, std::vector<float>& cols) {
    const int64_t k = n.kind == QNodeKind::kConv ? n.kernel : 1, st = n.kind == QNodeKind::kConv ? n.stride : 1;
    const int64_t pad = n.kind == QNodeKind::kConv ? n.padding : 0;
    const int64_t C = in.c, H = in.h, W = in.w;
    const int64_t OH = (H + 2 * pad - k) / st + 1, OW = (W + 2 * pad - k) / st + 1, P = OH * OW;
    const float* x = (quant ? in.q : in.f).data() + i * in.Size();
    cols.assign(static_cast<size_t>(C * k * k * P), 0.f);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ki = 0; ki < k; ++ki)
        for (int64_t kj = 0; kj < k; ++kj) {
          float* row = cols.data() + ((c * k + ki) * k + kj) * P;
          for (int64_t oy = 0; oy < OH; ++oy) {
            const int64_t iy = oy * st + ki - pad;
            if (iy < 0 || iy >= H) continue;
            for (int64_t ox = 0; ox < OW; ++ox) {
              const int64_t ix = ox * st + kj - pad;
              if (ix >= 0 && ix < W) row[oy * OW + ox] = x[(c * H + iy) * W + ix];
            }
          }
        }
    return P;
  }

 public:
  double image_scale_ = 1.0;

 private:
  const Network& net_;
  const std::vector<Group>& groups_;
  const std::vector<Requant>& requants_;
  uint64_t seed_;  // roots ReconstructionPatchStream
  int64_t n_;
  std::vector<Shape> shapes_;
  std::vector<int> remaining_;
  std::vector<Act> acts_;
  std::vector<Act> requant_acts_;
  Act image_;
  ThreadPool pool_{1};
  Workspace workspace_;
};

}  // namespace

PlannedCalibration PlanCalibration(const Cifar10Set& train, const CalibrationParams& calibration) {
  PlannedCalibration planned;
  planned.indices = CalibrationSubset(train, calibration.images, calibration.seed, calibration.class_balanced);
  planned.options.sample_capacity = calibration.sample_capacity;
  planned.options.seed = calibration.seed;
  return planned;
}

std::vector<std::string> MvmLayerNames(const Network& net) {
  std::vector<std::string> names;
  for (const NetworkNode& n : net.nodes())
    if (n.layer->Kind() == "conv2d" || n.layer->Kind() == "linear") names.push_back(n.name);
  return names;
}

QuantizedModel QuantizeNetwork(const Network& net, const ModelSpec& spec, const std::vector<ResolvedLayer>& layers,
                               const Cifar10Set& calibration, const std::vector<int64_t>& indices,
                               const QuantizeOptions& options, Progress* progress) {
  std::vector<int> group_of_tail;
  std::vector<Group> groups = Fuse(net, group_of_tail);
  const size_t G = groups.size();
  std::map<std::string, const ResolvedLayer*> by_name;
  for (const ResolvedLayer& l : layers) by_name[l.name] = &l;
  auto params_of = [&](int g) -> const LayerQuantParams& {
    const std::string& name = net.nodes()[static_cast<size_t>(groups[static_cast<size_t>(g)].head)].name;
    auto it = by_name.find(name);
    if (it == by_name.end()) throw std::logic_error("no quantization parameters for layer " + name);
    if (it->second->mode != QuantMode::kPtq)
      throw InputError(name + ": needs quantization-aware training, which is not built yet");
    return it->second->params;
  };
  std::vector<std::vector<int>> readers(G);
  for (size_t g = 0; g < G; ++g)
    for (int in : groups[g].inputs)
      if (in != kImage) readers[static_cast<size_t>(in)].push_back(static_cast<int>(g));

  // Signedness (forward).
  for (Group& g : groups) {
    const bool in_unsigned = g.inputs[0] != kImage && groups[static_cast<size_t>(g.inputs[0])].is_unsigned;
    g.is_unsigned = g.relu || ((Inherits(g.kind) || g.kind == QNodeKind::kGlobalAvgPool) && in_unsigned);
  }
  // Step 3: bits (backward): the most bits any reader needs, and which layer's range params rule.
  for (size_t r = G; r-- > 0;) {
    Group& g = groups[r];
    for (int reader : readers[r]) {
      const Group& c = groups[static_cast<size_t>(reader)];
      const int bits = IsMvm(c.kind) ? params_of(reader).activation_bits : c.bits;
      const int gov = IsMvm(c.kind) ? reader : c.governing_layer;
      if (bits > g.bits) {
        g.bits = bits;
        g.governing_layer = gov;
      }
    }
  }
  // Wide convs: no ReLU, the only reader is an add.
  for (size_t g = 0; g < G; ++g) {
    Group& grp = groups[g];
    if (grp.kind == QNodeKind::kConv && !grp.relu && readers[g].size() == 1 &&
        groups[static_cast<size_t>(readers[g][0])].kind == QNodeKind::kAdd)
      grp.wide_into = readers[g][0];
  }
  // Requant nodes. A tensor's own bits (above) serve its widest reader; every conv/linear reader
  // whose activation_bits are fewer reads a requant node instead: one per (tensor, bit width), named
  // after its first reader ("<layer>.input"), placed right after the tensor's node. The bits a tensor
  // finally gets (step 4): none for wide tensors and the logits, the source's for shortcuts and max
  // pools, 8 for a tensor no conv/linear reads.
  std::vector<int> final_bits(G, 0);
  for (size_t g = 0; g < G; ++g) {
    const Group& grp = groups[g];
    if (grp.wide_into >= 0 || g + 1 == G) continue;
    if (Inherits(grp.kind))
      final_bits[g] = grp.inputs[0] == kImage ? 8 : final_bits[static_cast<size_t>(grp.inputs[0])];
    else
      final_bits[g] = grp.bits == 0 ? 8 : grp.bits;
  }
  std::vector<Requant> requants;
  for (size_t g = 0; g < G; ++g) {
    if (final_bits[g] == 0) continue;
    for (int reader : readers[g]) {
      Group& c = groups[static_cast<size_t>(reader)];
      if (!IsMvm(c.kind)) continue;
      const int bits = params_of(reader).activation_bits;
      if (bits >= final_bits[g]) continue;
      int r = 0;
      while (r < static_cast<int>(requants.size()) &&
             (requants[static_cast<size_t>(r)].source != static_cast<int>(g) || requants[static_cast<size_t>(r)].bits != bits))
        ++r;
      if (r == static_cast<int>(requants.size())) {
        Requant rq;
        rq.source = static_cast<int>(g);
        rq.bits = bits;
        rq.first_reader = reader;
        rq.is_unsigned = groups[g].is_unsigned;
        requants.push_back(rq);
      }
      c.input_requant = r;
    }
  }

  // Step 2: calibration statistics of every tensor that gets its own scale.
  std::vector<std::unique_ptr<RangeStats>> stats(G);
  // A shortcut / max pool gets no scale of its own; when it feeds a requant node, its statistics are
  // kept here (so `stats` stays as without requant nodes: a layer reading it directly sees mean 0).
  std::vector<std::unique_ptr<RangeStats>> requant_source_stats(G);
  std::vector<int> stats_of_node(net.nodes().size(), -1);
  for (size_t g = 0; g < G; ++g) {
    const Group& grp = groups[g];
    const bool feeds_requant =
        std::any_of(requants.begin(), requants.end(), [&](const Requant& r) { return r.source == static_cast<int>(g); });
    if ((Inherits(grp.kind) && !feeds_requant) || grp.wide_into >= 0) continue;
    (Inherits(grp.kind) ? requant_source_stats : stats)[g] =
        std::make_unique<RangeStats>(options.sample_capacity, RangeStatsSeed(options.seed, static_cast<int64_t>(g)));
    stats_of_node[static_cast<size_t>(grp.tail)] = static_cast<int>(g);
  }
  auto source_stats = [&](int g) -> const RangeStats& {
    return stats[static_cast<size_t>(g)] ? *stats[static_cast<size_t>(g)] : *requant_source_stats[static_cast<size_t>(g)];
  };
  // The network input's statistics: the group index after the last group.
  RangeStats image_stats(options.sample_capacity, RangeStatsSeed(options.seed, static_cast<int64_t>(G)));
  {
    const Normalizer normalizer(spec.input_norm, "model input normalization");
    GraphBuffers buffers;
    Tensor image({1, kCifarChannels, calibration.height, calibration.width}), logits;
    const int64_t plane = int64_t{calibration.height} * calibration.width;
    const Network::Observer observer = [&](int node, const Tensor& out) {
      const int g = stats_of_node[static_cast<size_t>(node)];
      if (g >= 0)
        (stats[static_cast<size_t>(g)] ? stats : requant_source_stats)[static_cast<size_t>(g)]->Add(
            std::span<const float>(out.data(), static_cast<size_t>(out.size())));
    };
    for (int64_t idx : indices) {
      normalizer.Apply(calibration.image(idx), plane, image.data());
      image_stats.Add(std::span<const float>(image.data(), static_cast<size_t>(image.size())));
      net.ForwardSerial(image, logits, buffers, &observer);
      if (progress) progress->Add(1);
    }
  }

  // Step 4: scales.
  QuantizedModel model;
  model.input_chw = {kCifarChannels, calibration.height, calibration.width};
  double image_max = 0;
  for (int c = 0; c < kCifarChannels; ++c) {
    const double m = spec.input_norm.mean[static_cast<size_t>(c)], s = spec.input_norm.std[static_cast<size_t>(c)];
    image_max = std::max({image_max, std::abs(-m / s), std::abs((1.0 - m) / s)});
  }
  model.input_scale = image_max / 127.0;
  for (int c = 0; c < kCifarChannels; ++c) {
    const double m = spec.input_norm.mean[static_cast<size_t>(c)], s = spec.input_norm.std[static_cast<size_t>(c)];
    for (int p = 0; p < 256; ++p) {
      const double code = std::round((p / 255.0 - m) / s / model.input_scale);
      model.input_lut[static_cast<size_t>(c)][static_cast<size_t>(p)] = static_cast<int16_t>(std::clamp(code, -127.0, 127.0));
    }
  }
  for (size_t g = 0; g < G; ++g) {
    Group& grp = groups[g];
    if (Inherits(grp.kind)) {
      const int in = grp.inputs[0];
      if (in == kImage) throw std::logic_error("a shortcut or pool directly on the image is not supported");
      const Group& src = groups[static_cast<size_t>(in)];
      grp.scale = src.scale;
      grp.lo = src.lo;
      grp.hi = src.hi;
      grp.bits = src.bits;
      continue;
    }
    if (grp.wide_into >= 0) continue;  // set below, from the add
    const RangeStats& st = *stats[g];
    if (g + 1 == G) {  // logits
      grp.bits = 0;
      grp.scale = st.abs_max() > 0 ? st.abs_max() / kLogitCodes : 1.0;
      grp.lo = -kWide;
      grp.hi = kWide;
      continue;
    }
    if (grp.bits == 0) grp.bits = 8;  // read by no conv/linear layer (only possible in unusual graphs)
    const RangeParams range =
        grp.governing_layer >= 0 ? params_of(grp.governing_layer).activation_range : RangeParams{};
    const double alpha =
        ChooseClip(st.sample(), st.RangeMax(!grp.is_unsigned), grp.bits, !grp.is_unsigned, range);
    const int qmax = QMax(grp.bits, grp.is_unsigned);
    grp.scale = alpha > 0 ? alpha / qmax : 1.0;
    grp.hi = qmax;
    grp.lo = grp.is_unsigned ? 0 : -qmax;
  }
  for (Group& grp : groups) {
    if (grp.wide_into < 0) continue;
    grp.scale = groups[static_cast<size_t>(grp.wide_into)].scale;
    grp.bits = 0;
    grp.lo = -kWide;
    grp.hi = kWide;
  }
  // Requant scales: the source tensor's statistics at the requant's bits, with the range params of
  // its first reader.
  for (Requant& rq : requants) {
    if (groups[static_cast<size_t>(rq.source)].bits != final_bits[static_cast<size_t>(rq.source)])
      throw std::logic_error("QuantizeNetwork: requant planned for the wrong bits");
    const RangeStats& st = source_stats(rq.source);
    const double alpha = ChooseClip(st.sample(), st.RangeMax(!rq.is_unsigned), rq.bits, !rq.is_unsigned,
                                    params_of(rq.first_reader).activation_range);
    const int qmax = QMax(rq.bits, rq.is_unsigned);
    rq.scale = alpha > 0 ? alpha / qmax : 1.0;
    rq.hi = qmax;
    rq.lo = rq.is_unsigned ? 0 : -qmax;
  }
  // Node indices: each group's node, followed by its requant nodes (in first-reader order).
  std::vector<int> node_of_group(G);
  {
    int next = 0;
    for (size_t g = 0; g < G; ++g) {
      node_of_group[g] = next++;
      for (Requant& rq : requants)
        if (rq.source == static_cast<int>(g)) rq.node = next++;
    }
  }

  // Layer reconstruction, when any layer asks for it (quant/adaround.h).
  std::unique_ptr<Reconstruction> recon;
  {
    int64_t images = 0;
    for (const ResolvedLayer& l : layers)
      if (l.params.NeedsReconstruction()) images = std::max(images, l.params.reconstruction_images);
    images = std::min(images, static_cast<int64_t>(indices.size()));
    if (images > 0) {
      recon = std::make_unique<Reconstruction>(net, groups, requants, readers, spec, model, calibration,
                                               std::vector<int64_t>(indices.begin(), indices.begin() + images), options.seed);
      recon->image_scale_ = model.input_scale;
    }
  }

  // Step 5: integer nodes.
  const std::array<int64_t, 3> image_shape{kCifarChannels, calibration.height, calibration.width};
  std::vector<Shape> float_shapes = net.NodeShapes({1, image_shape[0], image_shape[1], image_shape[2]});
  for (size_t g = 0; g < G; ++g) {
    const Group& grp = groups[g];
    QNode n;
    n.name = net.nodes()[static_cast<size_t>(grp.head)].name;
    n.kind = grp.kind;
    for (int in : grp.inputs) n.inputs.push_back(in == kImage ? kImage : node_of_group[static_cast<size_t>(in)]);
    n.out_scale = grp.scale;
    n.out_min = grp.lo;
    n.out_max = grp.hi;
    n.out_bits = grp.bits;
    const int in = grp.inputs[0];
    // A conv/linear reading a requant node: its input codes are the requant's.
    const Requant* rq = grp.input_requant >= 0 ? &requants[static_cast<size_t>(grp.input_requant)] : nullptr;
    if (rq) n.inputs[0] = rq->node;
    const double in_scale = rq ? rq->scale : in == kImage ? model.input_scale : groups[static_cast<size_t>(in)].scale;
    const Layer* layer = net.nodes()[static_cast<size_t>(grp.head)].layer.get();
    switch (grp.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        const LayerQuantParams& p = params_of(static_cast<int>(g));
        if (grp.kind == QNodeKind::kConv) {
          const Conv2dParams& cp = static_cast<const Conv2d*>(layer)->params();
          n.in_channels = cp.in_channels;
          n.out_channels = cp.out_channels;
          n.kernel = cp.kernel;
          n.stride = cp.stride;
          n.padding = cp.padding;
        } else {
          const auto* lin = static_cast<const Linear*>(layer);
          n.in_channels = lin->in_features();
          n.out_channels = lin->out_features();
        }
        n.input_signed = in == kImage;
        n.input_bits = rq ? rq->bits : in == kImage ? 8 : groups[static_cast<size_t>(in)].bits;
        n.weight_bits = p.weight_bits;
        std::vector<float> w;
        std::vector<double> b;
        FoldedWeights(net, grp, w, b);
        WeightQuantParams wp;
        wp.bits = p.weight_bits;
        wp.per_channel = p.per_channel;
        wp.range = p.weight_range;
        wp.bias_correction = p.bias_correction;
        const int64_t K = n.Depth();
        // The hook where a layer's weights are quantized.
        std::vector<double> bias_shift;
        QuantizedWeights qw;
        if (recon && p.NeedsReconstruction()) {
          OutputQuantResult r = recon->QuantizeLayer(static_cast<int>(g), n, w, wp, p);
          qw = std::move(r.weights);
          bias_shift = std::move(r.bias_shift);
        } else {
          qw = QuantizeWeights(w.data(), n.out_channels, K, wp);
        }
        // The calibration mean of the layer's input (float; through a requant node: of the values the
        // requant really passes on, on its grid).
        const double input_mean = in == kImage ? Mean(image_stats.sample())
                                  : rq ? RequantizedMean(source_stats(in).sample(), groups[static_cast<size_t>(in)], *rq)
                                       : [&] {
                                           const RangeStats* s = stats[static_cast<size_t>(in)].get();
                                           return s ? Mean(s->sample()) : 0.0;
                                         }();
        n.weights = std::move(qw.codes);
        n.weight_scales = qw.scales;
        for (int64_t o = 0; o < n.out_channels; ++o) {
          const double sw = qw.scales[static_cast<size_t>(o)];
          // The empirical correction (measured with the final weights) replaces ACIQ's folded mean shift.
          const double bias_real =
              b[static_cast<size_t>(o)] +
              (!bias_shift.empty() && p.output_bias_correction ? bias_shift[static_cast<size_t>(o)]
               : p.bias_correction ? qw.mean_shift[static_cast<size_t>(o)] * static_cast<double>(K) * input_mean
                                   : 0.0);
          const double bias_code = std::round(bias_real / (sw * in_scale));
          if (std::abs(bias_code) >= kWide)
            throw InputError("cannot quantize " + n.name + ": the bias of channel " + std::to_string(o) + " is " +
                             std::to_string(bias_code) + " accumulator units, beyond ±2^30 (weight scale too small)");
          n.bias.push_back(static_cast<int32_t>(bias_code));
        }
        // |acc + bias| <= K·max|w|·max|x| + |bias|: the headroom of each channel's multiplier.
        const int64_t in_max = n.input_signed ? 127
                               : rq           ? std::max(std::abs(rq->lo), std::abs(rq->hi))
                               : (in == kImage ? 127 : std::max(std::abs(groups[static_cast<size_t>(in)].lo), std::abs(groups[static_cast<size_t>(in)].hi)));
        const int64_t worst = K * n.WeightRange().MaxAbs() * in_max;
        for (int64_t o = 0; o < n.out_channels; ++o) {
          const double sw = qw.scales[static_cast<size_t>(o)];
          const FixedPointMultiplier m = WithHeadroom(Multiplier(sw * in_scale / grp.scale, n.name, "output"),
                                                      worst + std::abs(n.bias[static_cast<size_t>(o)]));
          n.multipliers.push_back(m.multiplier);
          n.shifts.push_back(m.shift);
          n.headrooms.push_back(m.headroom);
        }
        if (recon) recon->Forward(static_cast<int>(g), n, w, b);
        break;
      }
      case QNodeKind::kAdd:
        for (int src : grp.inputs) {
          const Group& s = groups[static_cast<size_t>(src)];
          const bool identity = s.wide_into == static_cast<int>(g);
          n.rescale_identity.push_back(identity ? 1 : 0);
          const FixedPointMultiplier m =
              identity ? FixedPointMultiplier{}
                       : WithHeadroom(Multiplier(s.scale / grp.scale, n.name, "rescale"), std::max(std::abs(s.lo), std::abs(s.hi)));
          n.rescale_multipliers.push_back(m.multiplier);
          n.rescale_shifts.push_back(m.shift);
          n.rescale_headrooms.push_back(m.headroom);
        }
        break;
      case QNodeKind::kGlobalAvgPool: {
        const Shape& s = in == kImage ? Shape{1, image_shape[0], image_shape[1], image_shape[2]}
                                      : float_shapes[static_cast<size_t>(groups[static_cast<size_t>(in)].tail)];
        const Group& src = groups[static_cast<size_t>(in)];
        n.pool = WithHeadroom(Multiplier(in_scale / (static_cast<double>(s[2] * s[3]) * grp.scale), n.name, "pool"),
                              s[2] * s[3] * std::max(std::abs(src.lo), std::abs(src.hi)));
        break;
      }
      case QNodeKind::kShortcutA: {
        const auto* sc = static_cast<const ShortcutA*>(layer);
        n.stride = sc->stride();
        n.pad = sc->pad_channels();
        break;
      }
      case QNodeKind::kMaxPool: {
        const auto* mp = static_cast<const MaxPool2d*>(layer);
        n.kernel = mp->kernel();
        n.stride = mp->stride();
        n.padding = mp->padding();
        break;
      }
      case QNodeKind::kRequant:
        throw std::logic_error("QuantizeNetwork: a fused group cannot be a requant node");
    }
    if (recon && !IsMvm(grp.kind)) recon->Forward(static_cast<int>(g), n, {}, {});
    if (static_cast<int>(model.nodes.size()) != node_of_group[g]) throw std::logic_error("QuantizeNetwork: node order");
    model.nodes.push_back(std::move(n));
    // This group's requant nodes: out = clamp(x·s_in/s_out) on the reader's grid.
    for (const Requant& r : requants) {
      if (r.source != static_cast<int>(g)) continue;
      QNode q;
      q.name = net.nodes()[static_cast<size_t>(groups[static_cast<size_t>(r.first_reader)].head)].name + ".input";
      q.kind = QNodeKind::kRequant;
      q.inputs = {node_of_group[g]};
      q.out_scale = r.scale;
      q.out_min = r.lo;
      q.out_max = r.hi;
      q.out_bits = r.bits;
      q.pool = WithHeadroom(Multiplier(grp.scale / r.scale, q.name, "requant"), std::max(std::abs(grp.lo), std::abs(grp.hi)));
      if (static_cast<int>(model.nodes.size()) != r.node) throw std::logic_error("QuantizeNetwork: requant node order");
      model.nodes.push_back(std::move(q));
    }
    if (recon) recon->ForwardRequants(static_cast<int>(g));
  }
  model.num_classes = spec.num_classes;
  model.description = options.description;
  model.Validate("quantized " + spec.Describe());
  return model;
}

FoldedLayer FoldLayer(const Network& net, const std::string& layer) {
  const int node = net.Find(layer);
  if (node < 0) throw std::invalid_argument("FoldLayer: no layer " + layer);
  Group g;
  const std::string kind = KindOf(net, node);
  if (kind != "conv2d" && kind != "linear") throw std::invalid_argument("FoldLayer: " + layer + " is a " + kind);
  g.kind = kind == "conv2d" ? QNodeKind::kConv : QNodeKind::kLinear;
  g.head = g.tail = node;
  FoldedLayer f;
  if (g.kind == QNodeKind::kConv) {
    const auto consumers = Consumers(net);
    const auto& c = consumers[static_cast<size_t>(node)];
    if (c.size() == 1 && KindOf(net, c[0]) == "batch_norm") g.batch_norm = c[0];
  }
  // The layer alone (no BatchNorm) gives the raw weights and bias; with it, the folded ones.
  Group raw = g;
  raw.batch_norm = -1;
  FoldedWeights(net, raw, f.raw_weights, f.raw_bias);
  FoldedWeights(net, g, f.weights, f.bias);
  const int64_t O = static_cast<int64_t>(f.bias.size());
  f.scale.assign(static_cast<size_t>(O), 1.0);
  if (g.batch_norm >= 0) {
    const auto* bn = static_cast<const BatchNorm2d*>(net.nodes()[static_cast<size_t>(g.batch_norm)].layer.get());
    f.batch_norm = bn;
    for (int64_t o = 0; o < O; ++o)
      f.scale[static_cast<size_t>(o)] = static_cast<double>(bn->gamma().data()[o]) /
                                        std::sqrt(static_cast<double>(bn->running_var().data()[o]) + bn->eps());
  }
  return f;
}

}  // namespace cimsim
