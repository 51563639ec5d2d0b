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

// Max over k×k windows with the given stride, no padding: [N, C, H, W] -> [N, C, (H−k)/s+1, (W−k)/s+1].
TensorD MaxPoolReference(const TensorD& x, int k, int stride);

// y[n,o] = b[o] + Σ_i w[o,i] · x[n,i];  x: [N, I], w: [O, I], bias: [O].
TensorD LinearReference(const TensorD& x, const TensorD& w, const TensorD& bias);

// Option-A shortcut (He et al. 2016, CIFAR): y = zero-pad channels(x[:, :, ::s, ::s]) with
// `pad` zero channels before and after: [N, C, H, W] -> [N, C + 2·pad, ⌈H/s⌉, ⌈W/s⌉].
TensorD ShortcutAReference(const TensorD& x, int stride, int pad);

}  // namespace cimsim
