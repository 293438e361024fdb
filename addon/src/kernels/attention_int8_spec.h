// The arithmetic of the int8 attention that the engine and the kernels share (the engine's
// ops::attention_scores_s16 and ops::softmax_row_u8 are the specification; kernels that compute
// the scores or fuse the attention, e.g. attention_u8s8__avx512_vnni.cc, repeat it, and
// engine_ops_test pins them to its bits):
// - scores: dot_s16 below, exact in int32 for |values| <= 2047 and length <= 512;
// - the u8 softmax's constants:
//   y[j] = ((float)acc[j] * (row_scale * kLog2e)) * col_scale[j];  t = y[j] - max_j y
//   t = t > kMinY ? t : kMinY;  n = (t + kRound) - kRound;  f = t - n
//   p = kP[0]; p = p * f + kP[k] (k = 1..4);  u[j] = (int)(p * 2^n + 0.5f)   (255 * 2^t, half up)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vigil::kernels {
namespace {  // internal linkage: each ISA file keeps its own copy (nothing to merge)

// The fused attention kernels' plain helpers (attention_u8s8__avx512_vnni.cc, attention_ymm.h).
inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// rows rows of row_bytes each, copied to rows of padded_bytes (the rest zero).
inline const uint8_t* pad_rows(const void* src, size_t rows, size_t row_bytes, size_t padded_bytes, uint8_t* dst) {
  for (size_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * padded_bytes, static_cast<const uint8_t*>(src) + r * row_bytes, row_bytes);
    std::memset(dst + r * padded_bytes + row_bytes, 0, padded_bytes - row_bytes);
  }
  return dst;
}

// sum_{t < len} a[t] b[t] of int16 values, in int32 (the scalar form of every score).
inline int32_t dot_s16(const int16_t* a, const int16_t* b, size_t len) {
  int32_t acc = 0;
  for (size_t t = 0; t < len; ++t) acc += static_cast<int32_t>(a[t]) * b[t];
  return acc;
}

}  // namespace
}  // namespace vigil::kernels

namespace vigil::kernels::softmax_u8 {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: (v + kRound) - kRound rounds v to nearest
constexpr float kMinY = -29.0f;        // 255 * 2^-29 ~ 5e-7 rounds to 0 either way
// 255 * 2^f on f in [-0.5, 0.5], highest power first (least squares on Chebyshev nodes,
// relative error <= 3.6e-6; the constant term is exactly 255 so the max maps to exactly 255).
constexpr float kP[5] = {2.46738946f, 14.2601191f, 61.2563738f, 176.745864f, 255.0f};

}  // namespace vigil::kernels::softmax_u8
