// Header-only NEON code shared by the neon and neon_dot kernel files (anonymous namespace: a
// private copy per file, compiled with that file's flags; nothing merges with baseline code).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/attention_int8_spec.h"

namespace vigil::kernels {
namespace {

// [sum(x0), sum(x1), sum(x2), sum(x3)] (integer: exact in any order).
inline int32x4_t reduce4_s32(int32x4_t x0, int32x4_t x1, int32x4_t x2, int32x4_t x3) {
#if defined(__aarch64__)
  return vpaddq_s32(vpaddq_s32(x0, x1), vpaddq_s32(x2, x3));
#else
  const int32x2_t s0 = vpadd_s32(vget_low_s32(x0), vget_high_s32(x0));
  const int32x2_t s1 = vpadd_s32(vget_low_s32(x1), vget_high_s32(x1));
  const int32x2_t s2 = vpadd_s32(vget_low_s32(x2), vget_high_s32(x2));
  const int32x2_t s3 = vpadd_s32(vget_low_s32(x3), vget_high_s32(x3));
  return vcombine_s32(vpadd_s32(s0, s1), vpadd_s32(s2, s3));
#endif
}

// The int8 attention's int16 scores (KernelTable::attention_scores) for the neon and neon_dot
// tables: 4 keys at a time, each key's products over dh by smlal on 4-lane halves (int16 x int16
// -> int32, exact), the 4 partial vectors reduced together (reduce4_s32); dh % 8 and n % 4 in
// scalar code. The engine's plain loop took ~27 instructions per score on neon_dot (GCC reduced
// each dot product on its own; counted under qemu), this ~8.
inline void attention_scores_s16_neon(const int16_t* q, size_t rows, const int16_t* k, size_t n, size_t dh,
                                      int32_t* s) {
  const size_t d8 = dh / 8 * 8;
  for (size_t r = 0; r < rows; ++r) {
    const int16_t* qr = q + r * dh;
    int32_t* sr = s + r * n;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
      for (size_t t = 0; t < d8; t += 8) {
        const int16x8_t qv = vld1q_s16(qr + t);
        for (int e = 0; e < 4; ++e) {
          const int16x8_t kv = vld1q_s16(k + (j + e) * dh + t);
          acc[e] = vmlal_s16(acc[e], vget_low_s16(qv), vget_low_s16(kv));
          acc[e] = vmlal_s16(acc[e], vget_high_s16(qv), vget_high_s16(kv));
        }
      }
      int32x4_t sum = reduce4_s32(acc[0], acc[1], acc[2], acc[3]);
      if (d8 < dh) {
        int32_t tail[4];
        for (int e = 0; e < 4; ++e) tail[e] = dot_s16(qr + d8, k + (j + e) * dh + d8, dh - d8);
        sum = vaddq_s32(sum, vld1q_s32(tail));
      }
      vst1q_s32(sr + j, sum);
    }
    for (; j < n; ++j) sr[j] = dot_s16(qr, k + j * dh, dh);
  }
}

}  // namespace
}  // namespace vigil::kernels
