// eigen_maps.h — Eigen views of raw row-major buffers (no copies).
#pragma once

#include <Eigen/Core>

namespace cimsim {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowMap = Eigen::Map<RowMatrix<T>>;
template <typename T>
using ConstRowMap = Eigen::Map<const RowMatrix<T>>;

}  // namespace cimsim
