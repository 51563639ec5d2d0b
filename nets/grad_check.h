// grad_check.h — test support: a layer's backward passes checked against finite differences.
//
// For a layer f with inputs x_i and parameters θ_j and a fixed random cotangent g (same shape as the
// output), the scalar L = Σ g ⊙ f(x, θ) has ∂L/∂x_i = the layer's input gradient for grad_out = g.
// CheckReferenceGradients compares BackwardReference with central differences of ForwardTrainReference
// in float64: (L(v + h) − L(v − h)) / 2h, h = 1e-6 (truncation error O(h²·f''') ≈ 1e-12, rounding
// error ≈ 1e-16·|L|/h ≈ 1e-10·|L|), over every element of every input and parameter (or a seeded
// sample of `max_probes` elements for large tensors). Tolerance: |fd − analytic| <= tol·(1 + |fd|).
// CheckFastGradients runs ForwardTrain + Backward in float32 on the same values and compares every
// input and parameter gradient with BackwardReference: max |fast − ref| <= tol · max |ref|.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/rng.h"
#include "nets/layer.h"

namespace cimsim::testing {

inline TensorD RandomTensorD(const Shape& shape, uint64_t seed, double scale = 1.0) {
  TensorD t(shape);
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = scale * rng.Normal();
  return t;
}

inline double Dot(const TensorD& a, const TensorD& b) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Indices of `t` to probe: all, or `max_probes` seeded distinct-ish draws.
inline std::vector<int64_t> ProbeIndices(int64_t size, int64_t max_probes, uint64_t seed) {
  std::vector<int64_t> idx;
  if (size <= max_probes) {
    for (int64_t i = 0; i < size; ++i) idx.push_back(i);
    return idx;
  }
  Rng rng(seed);
  for (int64_t k = 0; k < max_probes; ++k) idx.push_back(static_cast<int64_t>(rng.Below(static_cast<uint64_t>(size))));
  return idx;
}

// Float64 reference backward vs central differences of the float64 reference forward.
inline void CheckReferenceGradients(const Layer& layer, const std::vector<TensorD>& inputs,
                                    const std::vector<TensorD>& params, uint64_t seed, double tol = 1e-6,
                                    int64_t max_probes = 400, double h = 1e-6) {
  std::vector<TensorD> x = inputs, p = params;
  auto forward = [&]() {
    std::vector<const TensorD*> xi;
    for (const TensorD& t : x) xi.push_back(&t);
    TensorD out;
    layer.ForwardTrainReference(xi, Pointers(p), out);
    return out;
  };
  const TensorD y0 = forward();
  const TensorD g = RandomTensorD(y0.shape(), seed);
  std::vector<TensorD> gx, gp;
  {
    std::vector<const TensorD*> xi;
    for (const TensorD& t : x) xi.push_back(&t);
    layer.BackwardReference(xi, Pointers(p), g, gx, gp);
  }
  ASSERT_EQ(gx.size(), x.size());
  ASSERT_EQ(gp.size(), p.size());
  auto check = [&](std::vector<TensorD>& vars, const std::vector<TensorD>& grads, const char* what) {
    for (size_t t = 0; t < vars.size(); ++t) {
      ASSERT_EQ(grads[t].shape(), vars[t].shape()) << what << " " << t;
      for (int64_t i : ProbeIndices(vars[t].size(), max_probes, seed + 17 * t + 1)) {
        const double v = vars[t][i];
        vars[t][i] = v + h;
        const double lp = Dot(g, forward());
        vars[t][i] = v - h;
        const double lm = Dot(g, forward());
        vars[t][i] = v;
        const double fd = (lp - lm) / (2 * h);
        EXPECT_NEAR(grads[t][i], fd, tol * (1 + std::abs(fd))) << layer.Kind() << " " << what << " " << t
                                                               << " element " << i;
      }
    }
  };
  check(x, gx, "input");
  check(p, gp, "param");
}

// Float32 fast backward vs the float64 reference backward on the same values.
inline void CheckFastGradients(Layer& layer, const std::vector<TensorD>& inputs, uint64_t seed, ThreadPool& pool,
                               double tol = 1e-4) {
  std::vector<Tensor> xf;
  for (const TensorD& t : inputs) xf.push_back(t.Cast<float>());
  // The reference sees exactly the float values the fast path sees.
  std::vector<TensorD> xd;
  for (const Tensor& t : xf) xd.push_back(t.Cast<double>());
  std::vector<const TensorD*> xdp;
  for (const TensorD& t : xd) xdp.push_back(&t);
  const std::vector<TensorD> pd = ParamsAsDouble(layer);
  TensorD yd;
  layer.ForwardTrainReference(xdp, Pointers(pd), yd);
  const Tensor g = RandomTensorD(yd.shape(), seed).Cast<float>();
  const TensorD gd = g.Cast<double>();
  std::vector<TensorD> gx_ref, gp_ref;
  layer.BackwardReference(xdp, Pointers(pd), gd, gx_ref, gp_ref);

  std::vector<const Tensor*> xp;
  for (const Tensor& t : xf) xp.push_back(&t);
  Workspace ws;
  Tensor y;
  layer.ForwardTrain(xp, y, pool, ws);
  ASSERT_EQ(y.shape(), yd.shape());
  std::vector<Tensor> gx(xf.size());
  std::vector<Tensor*> gxp;
  for (Tensor& t : gx) gxp.push_back(&t);
  layer.Backward(xp, y, g, gxp, pool, ws);
  auto compare = [&](const Tensor& fast, const TensorD& ref, const std::string& what) {
    ASSERT_EQ(fast.shape(), ref.shape()) << what;
    double max_err = 0, max_ref = 1e-30;
    for (int64_t i = 0; i < ref.size(); ++i) {
      max_err = std::max(max_err, std::abs(fast[i] - ref[i]));
      max_ref = std::max(max_ref, std::abs(ref[i]));
    }
    EXPECT_LE(max_err, tol * max_ref) << layer.Kind() << " " << what;
  };
  for (size_t i = 0; i < gx.size(); ++i) compare(gx[i], gx_ref[i], "input gradient " + std::to_string(i));
  size_t j = 0;
  layer.VisitParams([&](const std::string& suffix, Tensor&, Tensor& grad) {
    ASSERT_LT(j, gp_ref.size());
    compare(grad, gp_ref[j++], "gradient of " + suffix);
  });
  EXPECT_EQ(j, gp_ref.size());
}

}  // namespace cimsim::testing
