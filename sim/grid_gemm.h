// grid_gemm.h — exact products of small integer inputs with a grid-valued matrix, through the int16 GEMM.
//
//     out[j, c] = Σ_{k<rows} x[k, j] · V[k, c]      j < n (input vectors), c < cols
//
// V [rows, cols] holds integer multiples of 2^−e (the crossbar's conductance and variance grids,
// sim/programmed_array.h): V = U·2^−e with integer units U, |U| < 2^62. Each column's common factor
// f_c = gcd_k |U[k, c]| (1 for an all-zero column) is taken out, U[k, c] = f_c·R[k, c] — an ideal
// device's column is Δg·(its digits), so R is just the digits — and R is split once into D int16
// digit planes with balanced 16-bit digits,
//     R = Σ_{d<D} R_d·2^(16d),   R_d in [−2^15, 2^15) for d < D − 1, the top plane R_{D−1} in int16,
// D the fewest planes for which the top digit of every entry fits. The planes side by side are the
// "inputs" [rows, D·cols] of one IntGemm call (sim/int_gemm.h) whose "weights" are the input vectors
// [n, rows] (PackedWeights): P[j, d·cols + c] = Σ_k x[k, j]·R_d[k, c], exact in int32 provided
//     rows · max|x| · 2^15 <= 2^31 − 1          (MaxInput(): max|x| <= ⌊(2^31 − 1) / (rows·2^15)⌋),
// then per output S = f_c·Σ_d P[j, d·cols + c]·2^(16d) in int64 (exact) and out = S·2^−e. Whenever |S| <= 2^53 this is
// exactly the double that any summation order of the products x·V gives, since each is an integer
// number of 2^−e units and every partial sum stays exact: a fast path that is bit-identical to plain
// double loops (GridMatrix::MultiplyReference, the oracle) on the crossbar's grids.
//
// Speed: an int16 VNNI step does 32 multiply-adds per 512-bit instruction against 8 for a double FMA,
// so with D = 2 planes a product costs about half of a double GEMM, with no packing of V per call;
// the common factors make an ideal device's conductances one plane (half the work again).
//
// Byte path. When one plane holds R and every R[k, c] lies in [−128, 127] (an ideal device's digits of
// up to 8 bits) and the build has AVX-512 VNNI (kInt8GemmIsFast), R^T is also kept as PackedWeights8
// [cols, rows] and HasBytePath() is true: MultiplyBytes takes the input vectors as unsigned bytes
// (QuadCodes [rows, n], x in [0, 255]) and runs Int8Gemm (sim/int8_gemm.h, `vpdpbusd`, 64 multiply-adds
// per instruction, twice the int16 rate): T[c, j] = Σ_k R[k, c]·x[k, j], exact in int32 since
// rows·128·255 < 2^31 for rows <= 65,793; out[j, c] = (T[c, j]·f_c)·2^−e, the same integers as above, so
// the same doubles, bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "sim/int8_gemm.h"
#include "sim/int_gemm.h"
#include "sim/paired_codes.h"
#include "sim/quad_codes.h"

namespace cimsim {

class GridMatrix {
 public:
  static constexpr int kMaxPlanes = 4;

  GridMatrix() = default;
  // v [rows, cols], every entry an integer multiple of 2^−e with |v·2^e| < 2^62 (std::invalid_argument
  // otherwise, naming the entry). e in [−60, 60].
  GridMatrix(const Eigen::MatrixXd& v, int e);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int planes() const { return planes_; }   // D
  int64_t factor(int64_t c) const { return factors_[static_cast<size_t>(c)]; }   // f_c, c < cols
  int exponent() const { return e_; }
  const Eigen::MatrixXd& values() const { return v_; }  // V [rows, cols]
  // The largest |x| for which every int32 partial sum is exact (at least 1 for rows <= 65535).
  int64_t MaxInput() const { return MaxInput(rows_); }
  static int64_t MaxInput(int64_t rows);   // the same for a matrix of `rows` rows

  // out[j·ld_out + c] for j < n = x.N(), c < cols, with x the n input vectors as the rows of
  // PackedWeights [n, rows]. Requires x.K() == rows(), ld_out >= cols(), |x| <= MaxInput() (the
  // caller's promise), `units` at least n·planes()·cols() int32 of scratch. Throws
  // std::invalid_argument for a shape mismatch. Allocation-free.
  void Multiply(const PackedWeights& x, int32_t* units, double* out, int64_t ld_out) const;
  // The oracle: plain double loops over k in order, x[k, j] = the pair entries of x. No scratch.
  void MultiplyReference(const PackedWeights& x, double* out, int64_t ld_out) const;

  // True when MultiplyBytes may be called (one plane, R in [−128, 127], AVX-512 VNNI build, rows <= 65,793).
  bool HasBytePath() const { return byte_path_; }
  // Multiply with the n input vectors as the columns of QuadCodes [rows, n] (unsigned bytes). Requires
  // HasBytePath(), x.K() == rows(), ld_out >= cols(), `units` at least cols()·n int32 of scratch.
  // Throws std::logic_error without the byte path, std::invalid_argument for a shape mismatch.
  // Allocation-free.
  void MultiplyBytes(const QuadCodes& x, int32_t* units, double* out, int64_t ld_out) const;

 private:
  int64_t rows_ = 0, cols_ = 0;
  int e_ = 0;
  Eigen::MatrixXd v_;                    // the values, for the reference
  int planes_ = 0;
  std::vector<int64_t> factors_;         // f_c [cols]
  bool unit_factors_ = true;             // every f_c = 1
  PairedCodes digits_;                   // [rows, D·cols]: column d·cols + c is digit d of R[·, c]
  bool byte_path_ = false;
  PackedWeights8 transposed_;            // byte path: R^T [cols, rows]
};

}  // namespace cimsim
