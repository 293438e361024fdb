// The scalar steps of the engine's LayerNorm statistics that every form shares (engine/ops.cc
// is the specification; kernels that implement KernelTable::layer_norm_quantize, e.g.
// float_rows_neon.h, repeat its lane order and call these): 16 float lanes (lane l adds
// x[16 b + l], blocks in order) combined in double by tree_sum16, the tail columns added in
// order, then the mean and 1 / sqrt(variance + eps) in double, rounded to float.
#pragma once

#include <cmath>
#include <cstddef>

namespace vigil::kernels::layer_norm_spec {

// Fixed-order pairwise sums of 8 double / 16 float lanes (in double): 3-4 dependent adds per
// row instead of 8-16 (the lane sums are short rows' critical path). The order is part of the
// definition, not chosen by the compiler.
inline double tree_sum8(const double* l) {
  return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}
inline double tree_sum16(const float* f) {
  double l[8];
  for (size_t i = 0; i < 8; ++i) l[i] = static_cast<double>(f[i]) + static_cast<double>(f[i + 8]);
  return tree_sum8(l);
}

inline float finish_mean(double sum, size_t d) { return static_cast<float>(sum / static_cast<double>(d)); }
inline float finish_rstd(double sum, size_t d, float eps) {
  return static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(d) + static_cast<double>(eps)));
}

}  // namespace vigil::kernels::layer_norm_spec
