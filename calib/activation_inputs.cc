#include "calib/activation_inputs.h"

#include <memory>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "data/calibration_subset.h"
#include "data/cifar10.h"
#include "data/image_folder_views.h"
#include "nets/integer_network.h"
#include "sim/ideal_core.h"

namespace cimsim {
namespace {

// What the sampling cores share: the current image and where each node's patches go.
struct Collector {
  int64_t image = 0;            // place of the current image in the list
  int64_t per_image = 1;
  uint64_t seed = 0;
  std::map<int, LayerInputs> taken;
};

// The exact core of a node that also copies per_image sampled input vectors into the collector.
class SamplingCore : public MvmCore {
 public:
  SamplingCore(std::unique_ptr<MvmCore> exact, int node, Collector& collector)
      : exact_(std::move(exact)), node_(node), collector_(collector) {}
  std::string_view Name() const override { return "sampling"; }
  int64_t Outputs() const override { return exact_->Outputs(); }
  int64_t Depth() const override { return exact_->Depth(); }
  CodeRange InputRange() const override { return exact_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override {
    if (!ctx.segments.empty()) throw std::logic_error("SamplingCore: one image per call (IntegerNetwork::ForwardImage)");
    exact_->Multiply(x, y, ldy, ctx);
    LayerInputs& in = collector_.taken[node_];
    Rng rng = ActivationSampleStream(collector_.seed, collector_.image, node_);
    for (int64_t i = 0; i < collector_.per_image; ++i) {
      const int64_t j = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(x.n)));
      for (int64_t k = 0; k < x.K; ++k) in.plain.push_back(x(k, j));
      ++in.n;
    }
  }

 private:
  std::unique_ptr<MvmCore> exact_;
  int node_;
  Collector& collector_;
};

}  // namespace

std::map<int, LayerInputs> SampleActivationInputs(const QuantizedModel& model, const std::vector<int>& nodes,
                                                  const uint8_t* images, int64_t n_images, int64_t vectors,
                                                  uint64_t seed) {
  if (n_images < 1 || vectors < 1)
    throw std::invalid_argument("SampleActivationInputs: n_images = " + std::to_string(n_images) + ", vectors = " +
                                std::to_string(vectors) + "; both must be >= 1");
  for (int i : nodes) {
    const QNodeKind kind = model.nodes.at(static_cast<size_t>(i)).kind;
    if (kind != QNodeKind::kConv && kind != QNodeKind::kLinear)
      throw std::invalid_argument("SampleActivationInputs: node " + std::to_string(i) + " is not a conv/linear layer");
  }
  Collector collector;
  collector.per_image = (vectors + n_images - 1) / n_images;
  collector.seed = seed;
  for (int i : nodes) collector.taken[i].K = model.nodes[static_cast<size_t>(i)].Depth();
  const auto factory = [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    std::unique_ptr<MvmCore> exact = MakeIdealCore(node, index);
    if (!collector.taken.contains(index)) return exact;
    return std::make_unique<SamplingCore>(std::move(exact), index, collector);
  };
  const IntegerNetwork net(model, factory, "quantized model");
  IntegerWorker worker;
  std::vector<int32_t> logits(static_cast<size_t>(model.num_classes));
  const int64_t image_size = model.input_chw[0] * model.input_chw[1] * model.input_chw[2];
  for (int64_t m = 0; m < n_images; ++m) {
    collector.image = m;
    net.ForwardImage(images + m * image_size, logits.data(), worker, m);
  }
  for (auto& [node, in] : collector.taken) {
    in.n = vectors;
    in.plain.resize(static_cast<size_t>(in.K * vectors));
  }
  return std::move(collector.taken);
}

std::map<int, CalibrationInputs> ActivationCalibrationInputs(const QuantizedModel& model, const std::vector<int>& nodes,
                                                             const uint8_t* images, int64_t n_images,
                                                             const ChipCalibrationParams& params) {
  if (n_images < 2)
    throw std::invalid_argument("ActivationCalibrationInputs: " + std::to_string(n_images) +
                                " images; fit and held-out inputs need at least 2");
  params.Validate("calibration");
  const int64_t fit_images = (n_images + 1) / 2;
  const int64_t image_size = model.input_chw[0] * model.input_chw[1] * model.input_chw[2];
  std::map<int, LayerInputs> fit =
      SampleActivationInputs(model, nodes, images, fit_images, params.fit_vectors, ActivationFitSeed(params.seed));
  std::map<int, LayerInputs> holdout = SampleActivationInputs(model, nodes, images + fit_images * image_size,
                                                              n_images - fit_images, params.holdout_vectors,
                                                              ActivationHoldoutSeed(params.seed));
  std::map<int, CalibrationInputs> result;
  for (int i : nodes) result[i] = {std::move(fit[i]), std::move(holdout[i])};
  return result;
}

std::vector<uint8_t> TrainingSubsetPixels(const QuantizedModel& model, const std::string& train_path, int64_t images,
                                          uint64_t seed) {
  if (IsImageFolder(train_path)) {
    // The evaluation views of a class-balanced subset, at the model's input side (Resize side·256/224).
    const ImageFolder folder = ScanImageFolder(train_path);
    const std::vector<int64_t> subset = CalibrationSubset(FolderLabels(folder), images, seed, true);
    Cifar10Set views =
        LoadFolderViews(folder, subset, EvalViewParams(model.input_chw[1], 0), 2, BadImagePolicy::kError, nullptr);
    if (views.image_bytes() != int64_t{model.input_chw[0]} * model.input_chw[1] * model.input_chw[2])
      throw InputError(train_path + ": the model takes non-square " + std::to_string(model.input_chw[1]) + "×" +
                       std::to_string(model.input_chw[2]) + " inputs; an image folder's views are square");
    return std::move(views.pixels);
  }
  const Cifar10Set train = LoadCifar10(train_path, Cifar10Split::kTrain);
  const std::vector<int64_t> subset = CalibrationSubset(train, images, seed, true);
  std::vector<uint8_t> pixels;
  for (int64_t i : subset) pixels.insert(pixels.end(), train.image(i), train.image(i) + train.image_bytes());
  return pixels;
}

std::map<int, CalibrationInputs> TrainingActivationInputs(const QuantizedModel& model, const std::vector<int>& nodes,
                                                          const std::string& train_path, int64_t images,
                                                          const ChipCalibrationParams& params) {
  const std::vector<uint8_t> pixels = TrainingSubsetPixels(model, train_path, images, params.seed);
  return ActivationCalibrationInputs(model, nodes, pixels.data(), images, params);
}

}  // namespace cimsim
