#include "nets/layer.h"

#include <stdexcept>

namespace cimsim {

void Layer::Backward(const std::vector<const Tensor*>&, const Tensor&, const Tensor&, const std::vector<Tensor*>&,
                     ThreadPool&, Workspace&) {
  throw std::logic_error("layer " + std::string(Kind()) + " has no backward pass");
}

void Layer::ForwardTrainRelu(const std::vector<const Tensor*>&, Tensor&, ThreadPool&, Workspace&) {
  throw std::logic_error("layer " + std::string(Kind()) + " has no fused ReLU");
}

void Layer::BackwardRelu(const std::vector<const Tensor*>&, const Tensor&, const Tensor&, const std::vector<Tensor*>&,
                         ThreadPool&, Workspace&) {
  throw std::logic_error("layer " + std::string(Kind()) + " has no fused ReLU");
}

void Layer::BackwardReference(const std::vector<const TensorD*>&, const std::vector<const TensorD*>&, const TensorD&,
                              std::vector<TensorD>&, std::vector<TensorD>&) const {
  throw std::logic_error("layer " + std::string(Kind()) + " has no reference backward pass");
}

std::vector<TensorD> ParamsAsDouble(Layer& layer) {
  std::vector<TensorD> out;
  layer.VisitParams([&](const std::string&, Tensor& param, Tensor&) { out.push_back(param.Cast<double>()); });
  return out;
}

std::vector<const TensorD*> Pointers(const std::vector<TensorD>& params) {
  std::vector<const TensorD*> out;
  for (const TensorD& p : params) out.push_back(&p);
  return out;
}

}  // namespace cimsim
