#include "calib/output_statistics.h"

#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "nets/integer_network.h"

namespace cimsim {
namespace {

__extension__ typedef __int128 Wide;   // exact sums (GCC/Clang extension)

// Exact per-output sums of y and y² over every vector seen.
struct MomentSums {
  explicit MomentSums(int64_t outputs) : sum(static_cast<size_t>(outputs), 0), squares(static_cast<size_t>(outputs), 0) {}
  void Add(const int32_t* y, int64_t ldy, int64_t n) {
    for (size_t o = 0; o < sum.size(); ++o) {
      const int32_t* row = y + static_cast<int64_t>(o) * ldy;
      Wide s = 0, q = 0;
      for (int64_t j = 0; j < n; ++j) {
        s += row[j];
        q += static_cast<Wide>(int64_t{row[j]} * row[j]);
      }
      sum[o] += s;
      squares[o] += q;
    }
    count += n;
  }
  ChannelMoments Moments() const {
    ChannelMoments m;
    const Wide c = count;
    for (size_t o = 0; o < sum.size(); ++o) {
      // count²·variance = count·Σy² − (Σy)², exact and >= 0.
      const Wide spread = c * squares[o] - sum[o] * sum[o];
      m.mean.push_back(count > 0 ? static_cast<double>(sum[o]) / static_cast<double>(count) : 0.0);
      m.std.push_back(count > 0 ? std::sqrt(static_cast<double>(spread)) / static_cast<double>(count) : 0.0);
    }
    return m;
  }
  std::vector<Wide> sum, squares;
  int64_t count = 0;
};

// The exact core of a reference node, adding every output it computes to its sums.
class RecordingCore : public MvmCore {
 public:
  RecordingCore(std::unique_ptr<MvmCore> exact, MomentSums& sums, std::mutex& mutex)
      : exact_(std::move(exact)), sums_(sums), mutex_(mutex) {}
  std::string_view Name() const override { return exact_->Name(); }
  int64_t Outputs() const override { return exact_->Outputs(); }
  int64_t Depth() const override { return exact_->Depth(); }
  CodeRange InputRange() const override { return exact_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override {
    exact_->Multiply(x, y, ldy, ctx);
    MomentSums local(Outputs());
    local.Add(y, ldy, x.n);
    const std::lock_guard<std::mutex> lock(mutex_);
    for (size_t o = 0; o < local.sum.size(); ++o) {
      sums_.sum[o] += local.sum[o];
      sums_.squares[o] += local.squares[o];
    }
    sums_.count += local.count;
  }

 private:
  std::unique_ptr<MvmCore> exact_;
  MomentSums& sums_;
  std::mutex& mutex_;
};

// A chip node during the fit: called once with every image's vectors, it fits the node's correction
// on its own outputs, applies it and records it. Stateful: only for the one-group pass below.
class FittingCore : public MvmCore {
 public:
  FittingCore(const MvmCore& chip, const ChannelMoments& reference, OutputAffine& fitted)
      : chip_(chip), reference_(reference), fitted_(fitted) {}
  std::string_view Name() const override { return chip_.Name(); }
  int64_t Outputs() const override { return chip_.Outputs(); }
  int64_t Depth() const override { return chip_.Depth(); }
  CodeRange InputRange() const override { return chip_.InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override {
    if (called_) throw std::logic_error("FitOutputStatistics: a node was called twice (not one group)");
    called_ = true;
    chip_.Multiply(x, y, ldy, ctx);
    MomentSums sums(Outputs());
    sums.Add(y, ldy, x.n);
    fitted_ = MatchMoments(reference_, sums.Moments());
    ApplyOutputAffine(fitted_, y, ldy, x.n);
  }

 private:
  const MvmCore& chip_;
  const ChannelMoments& reference_;
  OutputAffine& fitted_;
  mutable bool called_ = false;
};

void CheckMvmNode(const QuantizedModel& model, int node, const char* what) {
  if (node < 0 || static_cast<size_t>(node) >= model.nodes.size() ||
      (model.nodes[static_cast<size_t>(node)].kind != QNodeKind::kConv &&
       model.nodes[static_cast<size_t>(node)].kind != QNodeKind::kLinear))
    throw std::invalid_argument(std::string(what) + ": node " + std::to_string(node) + " is not a conv/linear node");
}

}  // namespace

OutputAffine MatchMoments(const ChannelMoments& reference, const ChannelMoments& chip) {
  const size_t n = reference.mean.size();
  if (reference.std.size() != n || chip.mean.size() != n || chip.std.size() != n)
    throw std::invalid_argument("MatchMoments: moments of different sizes");
  OutputAffine a;
  for (size_t o = 0; o < n; ++o) {
    const double gain = chip.std[o] > 0 ? reference.std[o] / chip.std[o] : 1.0;
    a.gain.push_back(gain);
    a.offset.push_back(reference.mean[o] - gain * chip.mean[o]);
  }
  return a;
}

std::map<int, ChannelMoments> ReferenceMoments(const QuantizedModel& model, const std::vector<int>& nodes,
                                               const uint8_t* images, int64_t n, ThreadPool& pool) {
  if (n < 1) throw std::invalid_argument("ReferenceMoments: no images");
  std::map<int, MomentSums> sums;
  for (int i : nodes) {
    CheckMvmNode(model, i, "ReferenceMoments");
    sums.emplace(i, MomentSums(model.nodes[static_cast<size_t>(i)].out_channels));
  }
  std::mutex mutex;
  const auto factory = [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    auto it = sums.find(index);
    if (it == sums.end()) return MakeIdealCore(node, index);
    return std::make_unique<RecordingCore>(MakeIdealCore(node, index), it->second, mutex);
  };
  IntegerNetwork net(model, factory, "ReferenceMoments");
  std::vector<int32_t> logits(static_cast<size_t>(n * model.num_classes));
  net.Forward(images, n, logits.data(), pool);
  std::map<int, ChannelMoments> result;
  for (const auto& [i, s] : sums) result[i] = s.Moments();
  return result;
}

std::map<int, OutputAffine> FitOutputStatistics(const QuantizedModel& model, const std::vector<const MvmCore*>& cores,
                                                const std::map<int, ChannelMoments>& reference, const uint8_t* images,
                                                int64_t n, uint64_t noise_seed) {
  if (n < 1) throw std::invalid_argument("FitOutputStatistics: no images");
  if (cores.size() != model.nodes.size())
    throw std::invalid_argument("FitOutputStatistics: " + std::to_string(cores.size()) + " cores for " +
                                std::to_string(model.nodes.size()) + " nodes");
  std::map<int, OutputAffine> fitted;
  for (size_t i = 0; i < cores.size(); ++i) {
    if (cores[i] == nullptr) continue;
    CheckMvmNode(model, static_cast<int>(i), "FitOutputStatistics");
    if (!reference.contains(static_cast<int>(i)))
      throw std::invalid_argument("FitOutputStatistics: no reference moments for node " + std::to_string(i));
    fitted[static_cast<int>(i)] = OutputAffine{};
  }
  const auto factory = [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    const MvmCore* chip = cores[static_cast<size_t>(index)];
    if (chip == nullptr) return MakeIdealCore(node, index);
    return std::make_unique<FittingCore>(*chip, reference.at(index), fitted.at(index));
  };
  const IntegerNetwork net(model, factory, "FitOutputStatistics", noise_seed);
  IntegerWorker worker;
  std::vector<int32_t> logits(static_cast<size_t>(n * model.num_classes));
  net.ForwardGroup(images, n, logits.data(), worker, 0);
  return fitted;
}

void CorrectOutputStatistics(const QuantizedModel& model, std::vector<std::unique_ptr<MvmCore>>& cores,
                             const OutputStatisticsInputs& inputs, uint64_t noise_seed) {
  std::vector<const MvmCore*> view;
  for (const std::unique_ptr<MvmCore>& c : cores) view.push_back(c.get());
  std::map<int, OutputAffine> fitted =
      FitOutputStatistics(model, view, inputs.reference, inputs.images.data(), inputs.count, noise_seed);
  for (auto& [node, affine] : fitted) {
    std::unique_ptr<MvmCore>& core = cores[static_cast<size_t>(node)];
    core = std::make_unique<OutputAffineCore>(std::move(core), std::move(affine));
  }
}

}  // namespace cimsim
