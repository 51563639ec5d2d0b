// reference_ops.h — slow, obvious float64 implementations of every layer: the oracle.
//
// Written as direct loops over the definition, with no tiling, no im2col and no vectorization,
// so that each can be checked by eye against the formula beside it. Shapes follow NCHW / OIHW.
#pragma once

#include "nets/tensor.h"

namespace cimsim {

// y[n,o,i,j] = b[o] + Σ_{c,ky,kx} w[o,c,ky,kx] · x[n,c, i·s + ky − p, j·s + kx − p]  (zero outside)
// x: [N, C, H, W], w: [O, C, KH, KW], bias: [O] or empty; y: [N, O, (H+2p−KH)/s+1, (W+2p−KW)/s+1].
TensorD Conv2dReference(const TensorD& x, const TensorD& w, const TensorD& bias, int stride, int pad);

// y = γ_c · (x − μ_c) / √(σ²_c + ε) + β_c per channel c.
TensorD BatchNormReference(const TensorD& x, const TensorD& gamma, const TensorD& beta,
                           const TensorD& mean, const TensorD& var, double eps);

TensorD ReluReference(const TensorD& x);
TensorD AddReference(const TensorD& a, const TensorD& b);

// [N, C, H, W] -> [N, C]: mean over H·W.
TensorD GlobalAvgPoolReference(const TensorD& x);

// Max over k×k windows with the given stride and padding (−∞, i.e. only the map's positions count):
// [N, C, H, W] -> [N, C, (H+2p−k)/s+1, (W+2p−k)/s+1].
TensorD MaxPoolReference(const TensorD& x, int k, int stride, int padding);

// y[n,o] = b[o] + Σ_i w[o,i] · x[n,i];  x: [N, I], w: [O, I], bias: [O].
TensorD LinearReference(const TensorD& x, const TensorD& w, const TensorD& bias);

// Option-A shortcut (He et al. 2016, CIFAR): y = zero-pad channels(x[:, :, ::s, ::s]) with
// `pad` zero channels before and after: [N, C, H, W] -> [N, C + 2·pad, ⌈H/s⌉, ⌈W/s⌉].
TensorD ShortcutAReference(const TensorD& x, int stride, int pad);

// ---- Backward references: given the forward's input(s) and g = dL/dy, the gradients dL/d(input)
// and dL/d(parameter), by the chain rule applied to the definitions above, element by element.

// ReLU: dL/dx = g · [x > 0] (the subgradient 0 is taken at the kink x = 0, as PyTorch does).
TensorD ReluBackwardReference(const TensorD& x, const TensorD& g);

// Global average pool: dL/dx[n,c,h,w] = g[n,c] / (H·W);  x_shape [N, C, H, W], g [N, C].
TensorD GlobalAvgPoolBackwardReference(const Shape& x_shape, const TensorD& g);

// Max pool (k×k windows, stride s, no padding): each output's gradient g[n,c,i,j] goes to the
// argmax of its window, and nothing else — dL/dx[n,c,h,w] = Σ_{(i,j): argmax(i,j) = (h,w)} g[n,c,i,j]
// (overlapping windows, s < k, add up). Ties: the first maximum in scan order (ky outer, kx inner),
// the element the forward's running max keeps. x [N, C, H, W], g [N, C, OH, OW].
TensorD MaxPoolBackwardReference(const TensorD& x, const TensorD& g, int k, int stride, int padding);

// Linear y = x·Wᵀ + b:  dL/dx[n,i] = Σ_o g[n,o]·W[o,i]  (g·W, [N, I]);
//   dL/dW[o,i] = Σ_n g[n,o]·x[n,i]  (gᵀ·x, [O, I]);  dL/db[o] = Σ_n g[n,o]  ([O]).
void LinearBackwardReference(const TensorD& x, const TensorD& w, const TensorD& g, TensorD& grad_x,
                             TensorD& grad_w, TensorD& grad_b);

// Option-A shortcut: dL/dx[n,c,i·s,j·s] = g[n,c+pad,i,j]; every other input element (those the
// stride skips) gets 0, and the padded channels' gradients are dropped. x_shape [N, C, H, W].
TensorD ShortcutABackwardReference(const Shape& x_shape, const TensorD& g, int stride, int pad);

// Conv2d (the definition above, stride s, padding p):
//   dL/dx[n,c,h,w] = Σ_{o,ky,kx,i,j: i·s+ky−p = h, j·s+kx−p = w} w[o,c,ky,kx] · g[n,o,i,j];
//   dL/dw[o,c,ky,kx] = Σ_{n,i,j} g[n,o,i,j] · x[n,c, i·s+ky−p, j·s+kx−p]  (zero outside);
//   dL/db[o] = Σ_{n,i,j} g[n,o,i,j].   x [N, C, H, W], w [O, C, KH, KW], g [N, O, OH, OW].
void Conv2dBackwardReference(const TensorD& x, const TensorD& w, const TensorD& g, int stride, int pad,
                             TensorD& grad_x, TensorD& grad_w, TensorD& grad_b);

// BatchNorm in training mode, per channel c over its m = N·H·W values: μ = (1/m) Σ x,
// σ² = (1/m) Σ (x − μ)² (biased), x̂ = (x − μ)/√(σ² + ε), y = γ_c·x̂ + β_c.
TensorD BatchNormTrainReference(const TensorD& x, const TensorD& gamma, const TensorD& beta, double eps);

// Its backward (μ, σ² depend on x): dL/dγ_c = Σ g·x̂,  dL/dβ_c = Σ g,
//   dL/dx = (γ_c/(m·√(σ²+ε))) · (m·g − Σ g − x̂ · Σ g·x̂)   (sums over channel c's m values).
void BatchNormTrainBackwardReference(const TensorD& x, const TensorD& gamma, const TensorD& g, double eps,
                                     TensorD& grad_x, TensorD& grad_gamma, TensorD& grad_beta);

// The backward of BatchNormReference with μ, σ² constants (BatchNorm training with frozen statistics):
//   x̂ = (x − μ_c)/√(σ²_c+ε),  dL/dγ_c = Σ g·x̂,  dL/dβ_c = Σ g,  dL/dx = γ_c·g/√(σ²_c+ε).
void BatchNormFrozenBackwardReference(const TensorD& x, const TensorD& gamma, const TensorD& mean, const TensorD& var,
                                      const TensorD& g, double eps, TensorD& grad_x, TensorD& grad_gamma,
                                      TensorD& grad_beta);

}  // namespace cimsim
