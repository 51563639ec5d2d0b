// weight_average.h — an exponential moving average of a network's trainable parameters (Polyak
// averaging; the "EMA model" of timm and of many QAT recipes), the model a run deploys at its end.
//
// After every optimizer step t from the first averaged one on, for each parameter p (a weight, a
// bias, BatchNorm's γ and β, a quantizer's step, clip or α — whatever TrainGraph::Params lists):
//     a ← p                         at the first averaged step,
//     a ← d·a + (1 − d)·p           after that (computed in float64, rounded to float once),
// with the decay d in (0, 1): a averages the last ≈ 1/(1 − d) steps. BatchNorm running statistics
// are buffers, not parameters: the averaged network keeps the current ones (constant over the
// averaged steps when BatchNorm statistics are frozen by then; otherwise re-estimate them for the
// averaged weights with bn_recalibration_images).
// Swap() exchanges every parameter with its average in place (twice restores both), so the
// averaged network is evaluated or exported by the code that runs the network itself; the caller
// calls Layer::ParamsChanged afterwards (derived tensors such as fake-quantized weights).
// Deterministic: element-wise, no reduction, the same for any thread count.
#pragma once

#include <vector>

#include "nets/tensor.h"
#include "train/train_graph.h"

namespace cimsim {

// The config key "weight_average": {"decay": d, "start_epoch": E} of cimsim train and qat
// (experiments/train_config.h): averaging starts with the first step of epoch E (0-based), and the
// run's final model is the average.
struct WeightAverageParams {
  double decay = 0.999;  // in (0, 1)
  int start_epoch = 0;   // in [0, epochs)
};

class WeightAverage {
 public:
  // decay in (0, 1), else std::invalid_argument.
  WeightAverage(std::vector<ParamRef> params, double decay);

  // After an optimizer step: starts the average (a = p) on the first call, then updates it.
  void Update();
  bool started() const { return started_; }
  // Marks the average as started with the values now in averages() (a resumed run).
  void Restore();
  // Exchanges every parameter with its average. Throws std::logic_error before the first Update.
  void Swap();

  const std::vector<ParamRef>& params() const { return params_; }
  // One tensor per parameter, its shape; meaningful once started.
  std::vector<Tensor>& averages() { return averages_; }
  const std::vector<Tensor>& averages() const { return averages_; }

 private:
  std::vector<ParamRef> params_;
  std::vector<Tensor> averages_;
  double decay_;
  bool started_ = false;
};

}  // namespace cimsim
