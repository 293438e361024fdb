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

#if defined(__arm__)
// armv7 assembly (here and in the neon GEMM): the 4-lane int32 partial sums of 2 rows x 4
// columns in q8-q11 (row 0) and q12-q15 (row 1) reduced by vpadd to q0 (row 0's 4 sums) and
// q1 (row 1's).
#define VIGIL_ARMV7_REDUCE_2X4                                                                    \
  "vpadd.i32 d16, d16, d17\n\t" "vpadd.i32 d18, d18, d19\n\t" "vpadd.i32 d20, d20, d21\n\t" \
  "vpadd.i32 d22, d22, d23\n\t" "vpadd.i32 d24, d24, d25\n\t" "vpadd.i32 d26, d26, d27\n\t" \
  "vpadd.i32 d28, d28, d29\n\t" "vpadd.i32 d30, d30, d31\n\t" "vpadd.i32 d0, d16, d18\n\t"  \
  "vpadd.i32 d1, d20, d22\n\t" "vpadd.i32 d2, d24, d26\n\t" "vpadd.i32 d3, d28, d30\n\t"

// armv7, 2 rows x 4 keys, d8 >= 8: the same sums in assembly, 24 instructions per 8-wide step
// (4 key loads with a register post-increment, 2 query loads, 16 vmull/vmlal; the first step
// initializes the accumulators by vmull) and the reduction (vpadd), against ~113 per block of
// 8 scores from the intrinsics at dh 16 (GCC recomputed every address from the loop indices).
// q0..q1 the rows' 8 values, q2..q5 the keys', q8..q11 row 0's accumulators, q12..q15 row 1's.
// s0, s1: the rows' 4 scores.
inline void scores_2x4_asm(const int16_t* q0, const int16_t* q1, const int16_t* k, size_t dh, size_t d8,
                           int32_t* s0, int32_t* s1) {
  const size_t kstride = dh * sizeof(int16_t);
  size_t steps = d8 / 8;
  const int16_t* kr = k;
#define VIGIL_STEP(first, second)                                                                  \
  "vld1.16 {d0-d1}, [%[q0]]!\n\t"                                                                 \
  "vld1.16 {d2-d3}, [%[q1]]!\n\t"                                                                 \
  "mov r12, %[k]\n\t"                                                                             \
  "vld1.16 {d4-d5}, [r12], %[ks]\n\t"                                                             \
  "vld1.16 {d6-d7}, [r12], %[ks]\n\t"                                                             \
  "vld1.16 {d8-d9}, [r12], %[ks]\n\t"                                                             \
  "vld1.16 {d10-d11}, [r12]\n\t"                                                                  \
  "add %[k], %[k], #16\n\t"                                                                       \
  first " q8, d0, d4\n\t" first " q9, d0, d6\n\t" first " q10, d0, d8\n\t" first " q11, d0, d10\n\t" \
  first " q12, d2, d4\n\t" first " q13, d2, d6\n\t" first " q14, d2, d8\n\t" first " q15, d2, d10\n\t" \
  second " q8, d1, d5\n\t" second " q9, d1, d7\n\t" second " q10, d1, d9\n\t" second " q11, d1, d11\n\t" \
  second " q12, d3, d5\n\t" second " q13, d3, d7\n\t" second " q14, d3, d9\n\t" second " q15, d3, d11\n\t"
  asm volatile(
      VIGIL_STEP("vmull.s16", "vmlal.s16")
      "subs %[steps], %[steps], #1\n\t"
      "beq 2f\n\t"
      "1:\n\t"
      VIGIL_STEP("vmlal.s16", "vmlal.s16")
      "subs %[steps], %[steps], #1\n\t"
      "bne 1b\n\t"
      "2:\n\t"
      VIGIL_ARMV7_REDUCE_2X4
      "vst1.32 {d0-d1}, [%[s0]]\n\t"
      "vst1.32 {d2-d3}, [%[s1]]\n\t"
      : [q0] "+r"(q0), [q1] "+r"(q1), [k] "+r"(kr), [steps] "+r"(steps)
      : [ks] "r"(kstride), [s0] "r"(s0), [s1] "r"(s1)
      : "cc", "memory", "r12", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d16",
        "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28", "d29", "d30", "d31");
#undef VIGIL_STEP
}
#endif

// R query rows x 4 keys of the int16 scores: for each 8-wide step of dh, the 4 keys' vectors
// loaded once and multiplied into all R rows' accumulators (smlal / smlal2: int16 x int16 ->
// int32, exact), the R x 4 partial vectors reduced 4 at a time (reduce4_s32); dh % 8 in scalar
// code. Key block j0 (4 keys from j0), rows from r0.
template <int R>
inline void scores_block_neon(const int16_t* q, const int16_t* k, size_t n, size_t dh, size_t d8, size_t r0,
                              size_t j0, int32_t* s) {
#if defined(__arm__)
  if constexpr (R == 2) {
    if (d8 >= 8) {
      int32_t* s0 = s + r0 * n + j0;
      scores_2x4_asm(q + r0 * dh, q + (r0 + 1) * dh, k + j0 * dh, dh, d8, s0, s0 + n);
      if (d8 < dh) {  // the dh % 8 tail added in scalar code
        for (size_t r = 0; r < 2; ++r) {
          for (size_t e = 0; e < 4; ++e) {
            s[(r0 + r) * n + j0 + e] += dot_s16(q + (r0 + r) * dh + d8, k + (j0 + e) * dh + d8, dh - d8);
          }
        }
      }
      return;
    }
  }
#endif
  int32x4_t acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) acc[r][e] = vdupq_n_s32(0);
  }
  for (size_t t = 0; t < d8; t += 8) {
    int16x8_t kv[4];
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) kv[e] = vld1q_s16(k + (j0 + e) * dh + t);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const int16x8_t qv = vld1q_s16(q + (r0 + r) * dh + t);
#pragma GCC unroll 4
      for (int e = 0; e < 4; ++e) {
        acc[r][e] = vmlal_s16(acc[r][e], vget_low_s16(qv), vget_low_s16(kv[e]));
#if defined(__aarch64__)
        acc[r][e] = vmlal_high_s16(acc[r][e], qv, kv[e]);  // smlal2: no extraction of the halves
#else
        acc[r][e] = vmlal_s16(acc[r][e], vget_high_s16(qv), vget_high_s16(kv[e]));
#endif
      }
    }
  }
  // Fully unrolled (GCC otherwise indexes acc[r] in a loop and spills all of it to the stack).
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    int32x4_t sum = reduce4_s32(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    if (d8 < dh) {
      const int16_t* qr = q + (r0 + r) * dh;
      int32_t tail[4];
      for (int e = 0; e < 4; ++e) tail[e] = dot_s16(qr + d8, k + (j0 + e) * dh + d8, dh - d8);
      sum = vaddq_s32(sum, vld1q_s32(tail));
    }
    vst1q_s32(s + (r0 + r) * n + j0, sum);
  }
}

// The int8 attention's int16 scores (KernelTable::attention_scores) for the neon and neon_dot
// tables: blocks of kRows query rows x 4 keys (scores_block_neon; 4 rows on aarch64's 32
// vector registers, 2 on armv7's 16), the last rows one at a time, n % 4 keys in scalar code.
// The engine's plain loop took ~27 instructions per score on neon_dot (GCC reduced each dot
// product on its own; counted under qemu), one row at a time ~14 at dh 16, 4 rows ~10 (tiny, under qemu).
inline void attention_scores_s16_neon(const int16_t* q, size_t rows, const int16_t* k, size_t n, size_t dh,
                                      int32_t* s) {
#if defined(__aarch64__)
  constexpr size_t kRows = 4;
#else
  constexpr size_t kRows = 2;
#endif
  const size_t d8 = dh / 8 * 8;
  const size_t n4 = n / 4 * 4;
  size_t r0 = 0;
  for (; r0 + kRows <= rows; r0 += kRows) {
    for (size_t j0 = 0; j0 < n4; j0 += 4) scores_block_neon<kRows>(q, k, n, dh, d8, r0, j0, s);
  }
  for (; r0 < rows; ++r0) {
    for (size_t j0 = 0; j0 < n4; j0 += 4) scores_block_neon<1>(q, k, n, dh, d8, r0, j0, s);
  }
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = n4; j < n; ++j) s[r * n + j] = dot_s16(q + r * dh, k + j * dh, dh);
  }
}

}  // namespace
}  // namespace vigil::kernels
