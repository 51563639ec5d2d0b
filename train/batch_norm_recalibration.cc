#include "train/batch_norm_recalibration.h"

#include <stdexcept>
#include <string>

#include "train/qat_layers.h"
#include "train/train_graph.h"

namespace cimsim {

std::vector<BatchNorm2d*> BatchNormsOf(Network& net) {
  std::vector<BatchNorm2d*> out;
  for (NetworkNode& node : net.nodes()) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(node.layer.get())) out.push_back(bn);
    if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get()); mvm != nullptr && mvm->batch_norm() != nullptr)
      out.push_back(mvm->batch_norm());
  }
  return out;
}

int64_t RecalibrateBatchNorm(Network& net, BatchSource& source, int64_t batches, ThreadPool& pool) {
  if (batches < 1 || batches > source.NumBatches())
    throw std::invalid_argument("batch_norm recalibration: " + std::to_string(batches) + " batches requested, the data has 1.." +
                                std::to_string(source.NumBatches()));
  const std::vector<BatchNorm2d*> norms = BatchNormsOf(net);
  if (norms.empty()) throw std::invalid_argument("batch_norm recalibration: the network has no BatchNorm");
  std::vector<double> momenta;
  for (BatchNorm2d* bn : norms) momenta.push_back(bn->momentum());
  TrainGraph graph(net);
  const int64_t B = source.BatchSize();
  const auto [C, H, W] = source.ImageShape();
  Tensor images({B, C, H, W});
  std::vector<int32_t> labels(static_cast<size_t>(B));
  int64_t used = 0, k = 0, n = 0;
  try {
    while (k < batches && source.Next(images.data(), labels.data(), &n, &pool)) {
      if (n == 0) continue;  // every image of the batch skipped (BadImagePolicy::kSkip)
      for (BatchNorm2d* bn : norms) bn->set_momentum(1.0 / static_cast<double>(k + 1));
      images.Resize({n, C, H, W});
      graph.ForwardTrain(images, pool);
      images.Resize({B, C, H, W});
      used += n;
      ++k;
    }
  } catch (...) {
    for (size_t i = 0; i < norms.size(); ++i) norms[i]->set_momentum(momenta[i]);
    throw;
  }
  for (size_t i = 0; i < norms.size(); ++i) norms[i]->set_momentum(momenta[i]);
  for (NetworkNode& node : net.nodes()) node.layer->ParamsChanged();
  return used;
}

}  // namespace cimsim
