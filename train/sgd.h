// sgd.h — stochastic gradient descent with momentum, weight decay and Nesterov momentum, with the
// semantics of PyTorch's torch.optim.SGD (dampening 0, maximize false).
//
// For every parameter p with gradient g, one Step(lr) computes, element-wise:
//   d = g + wd · p                                  (weight decay: L2 penalty wd/2·|p|² folded into d)
//   if momentum μ != 0:
//     b = d                  on the first step (steps() == 0),
//     b = μ · b + d          afterwards               (the momentum buffer, kept between steps)
//     d = d + μ · b          if nesterov,  else  d = b
//   p = p − lr · d
// Arithmetic is float32 with the coefficients rounded to float once per step (as PyTorch does for a
// float32 parameter); the order of operations above is the order of evaluation.
//
// State: the momentum buffers (one per parameter, same shape; none when μ = 0) and the number of steps
// taken. Both must go into a training checkpoint: an optimizer given the same parameters, gradients,
// buffers and step count continues bit-identically (buffers(), steps(), set_steps()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nets/tensor.h"

namespace cimsim {

struct SgdParams {
  double momentum = 0.9;       // μ in [0, 1)
  double weight_decay = 1e-4;  // wd >= 0 (e.g. 5e-4)
  bool nesterov = false;       // needs momentum > 0

  // Throws InputError naming "<where>.<field>", its value and the allowed range.
  void Validate(const std::string& where) const;
};

// One parameter the optimizer updates: its name (state_dict key, for messages and checkpoints), the
// parameter and its gradient (same shape). The tensors are owned by the network and must outlive the
// optimizer.
struct SgdEntry {
  std::string name;
  Tensor* param = nullptr;
  Tensor* grad = nullptr;
  bool weight_decay = true;  // false: wd = 0 for this parameter (e.g. a quantizer's step size)
};

class Sgd {
 public:
  // Validates params (InputError, where = "sgd"); throws std::invalid_argument for a null pointer, a
  // gradient whose shape differs from its parameter's, or a parameter listed twice. Buffers start at
  // zero (they are overwritten by the first step).
  Sgd(std::vector<SgdEntry> entries, const SgdParams& params);

  // One update of every parameter from its current gradient. lr > 0 and finite, else
  // std::invalid_argument; std::logic_error if a parameter, gradient or buffer has changed shape.
  void Step(double lr);

  const SgdParams& params() const { return params_; }
  const std::vector<SgdEntry>& entries() const { return entries_; }

  // The momentum buffers, in entries() order with the parameters' shapes; empty when momentum == 0.
  // A checkpoint reader may overwrite their values (not their shapes) before set_steps().
  std::vector<Tensor>& buffers() { return buffers_; }
  const std::vector<Tensor>& buffers() const { return buffers_; }
  // Steps taken so far; 0 means the next step initializes the buffers (b = d).
  int64_t steps() const { return steps_; }
  // Restores the step count of a checkpoint (steps >= 0, else std::invalid_argument).
  void set_steps(int64_t steps);

 private:
  std::vector<SgdEntry> entries_;
  SgdParams params_;
  std::vector<Tensor> buffers_;
  int64_t steps_ = 0;
};

}  // namespace cimsim
