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

int64_t RecalibrateBatchNorm(Network& net, Batcher& batcher, int64_t batches, ThreadPool& pool) {
  if (batches < 1 || batches > batcher.NumBatches())
    throw std::invalid_argument("batch_norm recalibration: " + std::to_string(batches) + " batches requested, the data has 1.." +
                                std::to_string(batcher.NumBatches()));
  const std::vector<BatchNorm2d*> norms = BatchNormsOf(net);
  if (norms.empty()) throw std::invalid_argument("batch_norm recalibration: the network has no BatchNorm");
  std::vector<double> momenta;
  for (BatchNorm2d* bn : norms) momenta.push_back(bn->momentum());
  TrainGraph graph(net);
  const int64_t B = batcher.params().batch_size;
  Tensor images({B, kCifarChannels, kCifarHeight, kCifarWidth});
  std::vector<int32_t> labels(static_cast<size_t>(B));
  int64_t used = 0;
  try {
    for (int64_t b = 0; b < batches; ++b) {
      for (BatchNorm2d* bn : norms) bn->set_momentum(1.0 / static_cast<double>(b + 1));
      const int64_t n = batcher.Fill(b, images.data(), labels.data(), &pool);
      images.Resize({n, kCifarChannels, kCifarHeight, kCifarWidth});
      graph.ForwardTrain(images, pool);
      images.Resize({B, kCifarChannels, kCifarHeight, kCifarWidth});
      used += n;
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
