// batch_norm_recalibration.h — population BatchNorm statistics for the final network ("precise BN").
//
// During training the running statistics are an exponential moving average (momentum 0.1) of the
// batch statistics of the last few dozen steps, taken while the weights were still moving. For a
// network whose later layers are sensitive to small shifts of their inputs — a 2-bit network, whose
// activation quantizers have four levels — that estimate is noisy: the deployed accuracy of the same
// weights moves by about a point from one epoch to the next even at a learning rate near zero.
// Recalibration replaces the running statistics of every BatchNorm (float BatchNorm2d nodes, and
// those kept inside QAT convs) by the mean over K batches of the final network's batch statistics:
//   running_mean = (1/K) Σ_k μ_k,   running_var = (1/K) Σ_k σ²_k·m/(m − 1)
// (each batch in training mode, as during training, so later layers see what they were trained on;
// implemented as momentum 1/k at batch k, PyTorch's momentum=None). Parameters do not change.
// Reference: Wu & Johnson, "Rethinking 'Batch' in BatchNorm", arXiv 2105.07576 (precise BN).
// Deterministic: the batches come from the caller's BatchSource, and each BatchNorm's statistics are
// bit-identical for any thread count (nets/batch_norm.h).
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch_source.h"
#include "nets/batch_norm.h"
#include "nets/network.h"

namespace cimsim {

// Every BatchNorm of `net`: BatchNorm2d nodes and the BatchNorms kept inside QatMvm nodes, in node order.
std::vector<BatchNorm2d*> BatchNormsOf(Network& net);

// Runs the first `batches` non-empty batches of the source's current epoch (StartEpoch called by the
// caller; batches in [1, NumBatches()]) through `net` in training mode, and leaves every BatchNorm's running
// statistics at the mean of those batches' statistics. Momenta are restored afterwards. Returns the
// number of images used. Throws std::invalid_argument for a batch count out of range or a network
// without BatchNorm.
int64_t RecalibrateBatchNorm(Network& net, BatchSource& source, int64_t batches, ThreadPool& pool);

}  // namespace cimsim
