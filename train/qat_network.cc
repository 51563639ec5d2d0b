#include "train/qat_network.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/error.h"
#include "nets/conv2d.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/quantize_network.h"
#include "nets/requantization.h"
#include "nets/shortcut_a.h"
#include "train/qat_layers.h"

namespace cimsim {
namespace {

bool IsMvm(QNodeKind k) { return k == QNodeKind::kConv || k == QNodeKind::kLinear; }
bool Inherits(QNodeKind k) { return k == QNodeKind::kShortcutA || k == QNodeKind::kMaxPool; }

// The method of node i's output tensor (see the header).
QatMethod TensorMethod(const QuantizedModel& m, const std::vector<std::vector<int>>& readers, int i,
                       const std::map<std::string, QatMethod>& methods) {
  int best_bits = -1;
  QatMethod best = QatMethod::kFixed;
  std::vector<int> stack(readers[static_cast<size_t>(i)].rbegin(), readers[static_cast<size_t>(i)].rend());
  std::vector<int> mvm;
  std::vector<char> seen(m.nodes.size(), 0);
  while (!stack.empty()) {
    const int r = stack.back();
    stack.pop_back();
    if (seen[static_cast<size_t>(r)]) continue;
    seen[static_cast<size_t>(r)] = 1;
    if (IsMvm(m.nodes[static_cast<size_t>(r)].kind)) {
      mvm.push_back(r);
      continue;
    }
    const auto& next = readers[static_cast<size_t>(r)];
    stack.insert(stack.end(), next.rbegin(), next.rend());
  }
  std::sort(mvm.begin(), mvm.end());
  for (int r : mvm) {
    const QNode& n = m.nodes[static_cast<size_t>(r)];
    if (n.input_bits > best_bits) {
      best_bits = n.input_bits;
      best = methods.at(n.name);
    }
  }
  return best;
}

}  // namespace

std::string_view ToString(QatBatchNorm mode) { return mode == QatBatchNorm::kTrain ? "train" : "folded"; }

void FreezeBatchNormStatistics(QatNetwork& qat, bool frozen) {
  for (NetworkNode& node : qat.net.nodes())
    if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get()); mvm && mvm->batch_norm()) mvm->batch_norm()->set_frozen_statistics(frozen);
}

void SetOscillationDampening(QatNetwork& qat, double lambda) {
  for (NetworkNode& node : qat.net.nodes())
    if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get())) mvm->SetWeightDampening(lambda);
}

void EnableWeightFreezing(QatNetwork& qat) {
  for (NetworkNode& node : qat.net.nodes())
    if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get()); mvm && mvm->weight_quantizer().method() != QatMethod::kFixed)
      mvm->EnableWeightFreezing();
}

int64_t TrackWeightOscillations(QatNetwork& qat, double momentum, double threshold) {
  int64_t frozen = 0;
  for (NetworkNode& node : qat.net.nodes())
    if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get()); mvm && mvm->weight_quantizer().freezing())
      frozen += mvm->TrackWeightOscillations(momentum, threshold);
  return frozen;
}

WeightFreezingCount CountFrozenWeights(const QatNetwork& qat) {
  WeightFreezingCount count;
  for (const NetworkNode& node : qat.net.nodes())
    if (const auto* mvm = dynamic_cast<const QatMvm*>(node.layer.get()))
      if (const OscillationTracker* t = mvm->weight_quantizer().freezing()) {
        count.frozen += t->FrozenCount();
        count.tracked += t->size();
      }
  return count;
}

double OscillationDampeningLoss(const QatNetwork& qat) {
  double sum = 0;
  for (const NetworkNode& node : qat.net.nodes())
    if (const auto* mvm = dynamic_cast<const QatMvm*>(node.layer.get())) sum += mvm->weight_quantizer().DampeningLoss();
  return sum;
}

std::unique_ptr<QatNetwork> BuildQatNetwork(const QuantizedModel& base, const Network& float_net,
                                            const std::map<std::string, QatMethod>& methods, QatBatchNorm batch_norm) {
  auto qat = std::make_unique<QatNetwork>();
  qat->base = base;
  const QuantizedModel& m = qat->base;
  const size_t count = m.nodes.size();
  for (const QNode& n : m.nodes)
    if (IsMvm(n.kind) && !methods.count(n.name)) throw std::invalid_argument("BuildQatNetwork: no QAT method for " + n.name);
  std::vector<std::vector<int>> readers(count);
  for (size_t i = 0; i < count; ++i)
    for (int in : m.nodes[i].inputs)
      if (in != QNode::kImage) readers[static_cast<size_t>(in)].push_back(static_cast<int>(i));
  qat->image = std::make_unique<ActQuantizer>(QatMethod::kFixed, -127, 127, m.input_scale);

  // Quantizers: every node with codes of its own gets one; wide convs share their add's; shortcuts
  // and max pools inherit their input's.
  std::vector<ActQuantizer*> own(count, nullptr);
  for (size_t i = 0; i < count; ++i) {
    const QNode& n = m.nodes[i];
    if (Inherits(n.kind)) continue;
    const bool wide_into_add = IsMvm(n.kind) && n.out_bits == 0 && i + 1 != count;
    if (wide_into_add) continue;
    const QatMethod method = n.out_bits == 0 ? QatMethod::kFixed : TensorMethod(m, readers, static_cast<int>(i), methods);
    qat->quantizers.push_back(std::make_unique<ActQuantizer>(method, n.out_min, n.out_max, n.out_scale));
    own[i] = qat->quantizers.back().get();
  }
  qat->grid.assign(count, nullptr);
  auto grid_of = [&](int in) -> const ActQuantizer* { return in == QNode::kImage ? qat->image.get() : qat->grid[static_cast<size_t>(in)]; };
  for (size_t i = 0; i < count; ++i) {
    const QNode& n = m.nodes[i];
    if (Inherits(n.kind)) {
      qat->grid[i] = grid_of(n.inputs[0]);
    } else if (own[i]) {
      qat->grid[i] = own[i];
    } else {  // a wide conv: the grid of its (single) add reader
      if (readers[i].size() != 1 || m.nodes[static_cast<size_t>(readers[i][0])].kind != QNodeKind::kAdd)
        throw std::invalid_argument("BuildQatNetwork: wide node " + n.name + " is not read by exactly one add");
      qat->grid[i] = own[static_cast<size_t>(readers[i][0])];
    }
  }
  for (size_t i = 0; i < count; ++i) {
    const QNode& n = m.nodes[i];
    std::vector<int> inputs(n.inputs.begin(), n.inputs.end());
    for (int& in : inputs)
      if (in == QNode::kImage) in = Network::kInput;
    std::unique_ptr<Layer> layer;
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        QatMvmConfig c;
        c.linear = n.kind == QNodeKind::kLinear;
        c.conv.in_channels = n.in_channels;
        c.conv.out_channels = n.out_channels;
        c.conv.kernel = n.kernel;
        c.conv.stride = n.stride;
        c.conv.padding = n.padding;
        c.weight_bits = n.weight_bits;
        c.weight_grid = n.weight_grid;
        c.weight_method = methods.at(n.name);
        c.weight_scales = n.weight_scales;
        c.wide_output = n.out_bits == 0;
        c.max_input_code = MaxInputCode(m, n.inputs[0]);
        const FoldedLayer folded = FoldLayer(float_net, n.name);
        const BatchNorm2d* bn = batch_norm == QatBatchNorm::kTrain ? folded.batch_norm : nullptr;
        if (bn) {  // the raw weights with the same codes: s_v = s_w/|a|
          if (c.weight_scales.size() != folded.scale.size())
            throw std::invalid_argument("BuildQatNetwork: float layer " + n.name + " does not match the model");
          for (size_t o = 0; o < folded.scale.size(); ++o) c.weight_scales[o] /= std::abs(folded.scale[o]);
          c.batch_norm = true;
          c.bn_eps = bn->eps();
          c.bn_momentum = bn->momentum();
        } else {
          c.fold_scale = folded.scale;
        }
        auto mvm = std::make_unique<QatMvm>(c, grid_of(n.inputs[0]), const_cast<ActQuantizer*>(qat->grid[i]),
                                            own[i] != nullptr && !c.wide_output);
        if (static_cast<int64_t>(folded.raw_weights.size()) != mvm->weight().size())
          throw std::invalid_argument("BuildQatNetwork: float layer " + n.name + " does not match the model");
        std::copy(folded.raw_weights.begin(), folded.raw_weights.end(), mvm->weight().data());
        const std::vector<double>& bias = bn ? folded.raw_bias : folded.bias;
        for (size_t o = 0; o < bias.size(); ++o) mvm->bias()[static_cast<int64_t>(o)] = static_cast<float>(bias[o]);
        if (bn) {
          BatchNorm2d& own_bn = *mvm->batch_norm();
          const BatchNorm2d& src = *bn;
          std::copy_n(src.gamma().data(), src.channels(), own_bn.gamma().data());
          std::copy_n(src.beta().data(), src.channels(), own_bn.beta().data());
          std::copy_n(src.running_mean().data(), src.channels(), own_bn.running_mean().data());
          std::copy_n(src.running_var().data(), src.channels(), own_bn.running_var().data());
        }
        layer = std::move(mvm);
        break;
      }
      case QNodeKind::kAdd: {
        std::vector<const ActQuantizer*> ins;
        std::vector<bool> identity;
        std::vector<int64_t> max_codes;
        for (size_t j = 0; j < n.inputs.size(); ++j) {
          ins.push_back(grid_of(n.inputs[j]));
          identity.push_back(n.rescale_identity[j] != 0);
          max_codes.push_back(MaxInputCode(m, n.inputs[j]));
        }
        layer = std::make_unique<QatAdd>(ins, own[i], identity, max_codes);
        break;
      }
      case QNodeKind::kGlobalAvgPool:
        layer = std::make_unique<QatAvgPool>(grid_of(n.inputs[0]), own[i], MaxInputCode(m, n.inputs[0]));
        break;
      case QNodeKind::kShortcutA:
        layer = std::make_unique<ShortcutA>(n.stride, n.pad);
        break;
      case QNodeKind::kMaxPool:
        layer = std::make_unique<MaxPool2d>(n.kernel, n.stride, n.padding);
        break;
      case QNodeKind::kRequant:
        layer = std::make_unique<QatRequant>(grid_of(n.inputs[0]), own[i], MaxInputCode(m, n.inputs[0]));
        break;
    }
    qat->net.Add(n.name, std::move(layer), inputs);
  }
  for (NetworkNode& node : qat->net.nodes()) node.layer->ParamsChanged();
  return qat;
}

void WriteLatentFloatNetwork(QatNetwork& qat, Network& float_net) {
  for (size_t i = 0; i < qat.base.nodes.size(); ++i) {
    const QNode& n = qat.base.nodes[i];
    if (!IsMvm(n.kind)) continue;
    auto* mvm = static_cast<QatMvm*>(qat.net.nodes()[i].layer.get());
    const FoldedLayer folded = FoldLayer(float_net, n.name);
    const int index = float_net.Find(n.name);
    Tensor* weight = nullptr;
    Tensor* bias = nullptr;
    if (auto* conv = dynamic_cast<Conv2d*>(float_net.nodes()[static_cast<size_t>(index)].layer.get())) {
      weight = &conv->weight();
      if (conv->bias().size() > 0) bias = &conv->bias();
    } else if (auto* linear = dynamic_cast<Linear*>(float_net.nodes()[static_cast<size_t>(index)].layer.get())) {
      weight = &linear->weight();
      bias = &linear->bias();
    } else {
      throw std::invalid_argument("WriteLatentFloatNetwork: float node " + n.name + " is not a conv or linear layer");
    }
    if (weight->size() != mvm->weight().size())
      throw std::invalid_argument("WriteLatentFloatNetwork: float layer " + n.name + " does not match the QAT network");
    const Tensor latent = mvm->LatentWeights();
    std::copy_n(latent.data(), weight->size(), weight->data());
    BatchNorm2d* bn = nullptr;
    for (NetworkNode& node : float_net.nodes())
      if (node.layer.get() == folded.batch_norm) bn = static_cast<BatchNorm2d*>(node.layer.get());
    const int64_t O = mvm->bias().size();
    if (mvm->batch_norm() != nullptr) {
      if (bn == nullptr) throw std::invalid_argument("WriteLatentFloatNetwork: float layer " + n.name + " has no BatchNorm");
      const BatchNorm2d& src = *mvm->batch_norm();
      for (int64_t o = 0; o < O; ++o) {
        bn->gamma()[o] = src.gamma()[o];
        bn->beta()[o] = src.beta()[o];
        bn->running_var()[o] = src.running_var()[o];
        const double b = mvm->bias()[o];
        if (bias != nullptr) {
          (*bias)[o] = static_cast<float>(b);
          bn->running_mean()[o] = src.running_mean()[o];
        } else {
          bn->running_mean()[o] = static_cast<float>(src.running_mean()[o] - b);
        }
      }
    } else if (bn != nullptr) {
      for (int64_t o = 0; o < O; ++o) {
        const double a = folded.scale[static_cast<size_t>(o)];
        if (a == 0) throw std::invalid_argument("WriteLatentFloatNetwork: layer " + n.name + ": folded BatchNorm factor 0");
        const double b_raw = bias != nullptr ? static_cast<double>((*bias)[o]) : 0.0;
        bn->running_mean()[o] = static_cast<float>(b_raw + (static_cast<double>(bn->beta()[o]) - mvm->bias()[o]) / a);
      }
    } else {
      for (int64_t o = 0; o < O; ++o) {
        if (bias != nullptr) {
          (*bias)[o] = mvm->bias()[o];
        } else if (mvm->bias()[o] != 0.0f) {
          throw std::invalid_argument("WriteLatentFloatNetwork: layer " + n.name + " has no bias for its trained bias");
        }
      }
    }
  }
}

QuantizedModel ExportQuantizedModel(QatNetwork& qat, const std::string& description, const std::string& where) {
  for (NetworkNode& node : qat.net.nodes()) node.layer->ParamsChanged();
  QuantizedModel m = qat.base;
  m.description = description;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    QNode& n = m.nodes[i];
    n.out_scale = qat.grid[i]->Scale();
    if (!IsMvm(n.kind)) continue;
    const auto* mvm = static_cast<const QatMvm*>(qat.net.nodes()[i].layer.get());
    n.weights = mvm->WeightCodes();
    n.weight_scales = mvm->WeightScales();
    n.bias.clear();
    for (int64_t b : mvm->BiasCodes()) {
      if (std::abs(b) >= (int64_t{1} << 30))
        throw InputError(where + ": layer " + n.name + ": a bias of " + std::to_string(b) +
                         " accumulator units is beyond ±2^30 (weight or input scale too small)");
      n.bias.push_back(static_cast<int32_t>(b));
    }
  }
  SetMultipliers(m, where);
  m.Validate(where);
  return m;
}

}  // namespace cimsim
