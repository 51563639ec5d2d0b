#include "nets/quantize_network.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <stdexcept>

#include "common/error.h"
#include "common/rng.h"
#include "data/normalize.h"
#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/shortcut_a.h"
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
  double scale = 1.0;
  int32_t lo = 0, hi = 0;
};

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
  auto* bn = const_cast<BatchNorm2d*>(static_cast<const BatchNorm2d*>(net.nodes()[static_cast<size_t>(g.batch_norm)].layer.get()));
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

}  // namespace

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

  // Step 2: calibration statistics of every tensor that gets its own scale.
  const Rng seeds(options.seed);
  std::vector<std::unique_ptr<RangeStats>> stats(G);
  std::vector<int> stats_of_node(net.nodes().size(), -1);
  for (size_t g = 0; g < G; ++g) {
    const Group& grp = groups[g];
    if (Inherits(grp.kind) || grp.wide_into >= 0) continue;
    Rng r = seeds.Derive(g);
    stats[g] = std::make_unique<RangeStats>(options.sample_capacity, r.NextU64());
    stats_of_node[static_cast<size_t>(grp.tail)] = static_cast<int>(g);
  }
  Rng image_seed = seeds.Derive(G);
  RangeStats image_stats(options.sample_capacity, image_seed.NextU64());
  {
    const Normalizer normalizer(spec.input_norm, "model input normalization");
    GraphBuffers buffers;
    Tensor image({1, kCifarChannels, kCifarHeight, kCifarWidth}), logits;
    const Network::Observer observer = [&](int node, const Tensor& out) {
      const int g = stats_of_node[static_cast<size_t>(node)];
      if (g >= 0) stats[static_cast<size_t>(g)]->Add(std::span<const float>(out.data(), static_cast<size_t>(out.size())));
    };
    for (int64_t idx : indices) {
      normalizer.Apply(calibration.image(idx), image.data());
      image_stats.Add(std::span<const float>(image.data(), static_cast<size_t>(image.size())));
      net.ForwardSerial(image, logits, buffers, &observer);
      if (progress) progress->Add(1);
    }
  }

  // Step 4: scales.
  QuantizedModel model;
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

  // Step 5: integer nodes.
  const std::array<int64_t, 3> image_shape{kCifarChannels, kCifarHeight, kCifarWidth};
  std::vector<Shape> float_shapes = net.NodeShapes({1, image_shape[0], image_shape[1], image_shape[2]});
  for (size_t g = 0; g < G; ++g) {
    const Group& grp = groups[g];
    QNode n;
    n.name = net.nodes()[static_cast<size_t>(grp.head)].name;
    n.kind = grp.kind;
    n.inputs = grp.inputs;
    n.out_scale = grp.scale;
    n.out_min = grp.lo;
    n.out_max = grp.hi;
    n.out_bits = grp.bits;
    const int in = grp.inputs[0];
    const double in_scale = in == kImage ? model.input_scale : groups[static_cast<size_t>(in)].scale;
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
        n.input_bits = in == kImage ? 8 : groups[static_cast<size_t>(in)].bits;
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
        QuantizedWeights qw = QuantizeWeights(w.data(), n.out_channels, K, wp);
        const double input_mean = in == kImage ? Mean(image_stats.sample()) : [&] {
          const RangeStats* s = stats[static_cast<size_t>(in)].get();
          return s ? Mean(s->sample()) : 0.0;
        }();
        n.weights = std::move(qw.codes);
        n.weight_scales = qw.scales;
        for (int64_t o = 0; o < n.out_channels; ++o) {
          const double sw = qw.scales[static_cast<size_t>(o)];
          const double bias_real = b[static_cast<size_t>(o)] +
                                   (p.bias_correction ? qw.mean_shift[static_cast<size_t>(o)] * static_cast<double>(K) * input_mean : 0.0);
          const double bias_code = std::round(bias_real / (sw * in_scale));
          if (std::abs(bias_code) >= kWide)
            throw InputError("cannot quantize " + n.name + ": the bias of channel " + std::to_string(o) + " is " +
                             std::to_string(bias_code) + " accumulator units, beyond ±2^30 (weight scale too small)");
          n.bias.push_back(static_cast<int32_t>(bias_code));
        }
        // |acc + bias| <= K·max|w|·max|x| + |bias|: the headroom of each channel's multiplier.
        const int64_t in_max = n.input_signed ? 127 : (in == kImage ? 127 : std::max(std::abs(groups[static_cast<size_t>(in)].lo), std::abs(groups[static_cast<size_t>(in)].hi)));
        const int64_t worst = K * ((1 << (n.weight_bits - 1)) - 1) * in_max;
        for (int64_t o = 0; o < n.out_channels; ++o) {
          const double sw = qw.scales[static_cast<size_t>(o)];
          const FixedPointMultiplier m = WithHeadroom(Multiplier(sw * in_scale / grp.scale, n.name, "output"),
                                                      worst + std::abs(n.bias[static_cast<size_t>(o)]));
          n.multipliers.push_back(m.multiplier);
          n.shifts.push_back(m.shift);
          n.headrooms.push_back(m.headroom);
        }
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
        break;
      }
    }
    model.nodes.push_back(std::move(n));
  }
  model.num_classes = spec.num_classes;
  model.description = options.description;
  model.Validate("quantized " + spec.Describe());
  return model;
}

}  // namespace cimsim
