// Header-only NEON code shared by the neon and neon_dot kernel files (anonymous namespace: a
// private copy per file, compiled with that file's flags; nothing merges with baseline code).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

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

#if defined(__aarch64__)
// kt [dh][ldt] = k [n][dh] transposed (kt[t][j] = k[j][t]; ldt >= n rounded up to 16, zero for
// n <= j < ldt): 8 x 8 int16 blocks by trn1/trn2 at 16, 32 and 64 bits, the edges element by
// element. Once per head, for attention_scores_kt_neon.
inline void transpose_k_s16(const int16_t* k, size_t n, size_t dh, int16_t* kt, size_t ldt) {
  const size_t n8 = n / 8 * 8, d8 = dh / 8 * 8;
  for (size_t j0 = 0; j0 < n8; j0 += 8) {
    for (size_t t0 = 0; t0 < d8; t0 += 8) {
      int16x8_t r[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) r[i] = vld1q_s16(k + (j0 + i) * dh + t0);
      int16x8_t t[8];
#pragma GCC unroll 4
      for (int i = 0; i < 8; i += 2) {
        t[i] = vtrn1q_s16(r[i], r[i + 1]);
        t[i + 1] = vtrn2q_s16(r[i], r[i + 1]);
      }
      int32x4_t u[8];
#pragma GCC unroll 2
      for (int i = 0; i < 8; i += 4) {  // u[i + c]: column c (low half) and c + 4 of rows i..i+3
        u[i] = vtrn1q_s32(vreinterpretq_s32_s16(t[i]), vreinterpretq_s32_s16(t[i + 2]));
        u[i + 2] = vtrn2q_s32(vreinterpretq_s32_s16(t[i]), vreinterpretq_s32_s16(t[i + 2]));
        u[i + 1] = vtrn1q_s32(vreinterpretq_s32_s16(t[i + 1]), vreinterpretq_s32_s16(t[i + 3]));
        u[i + 3] = vtrn2q_s32(vreinterpretq_s32_s16(t[i + 1]), vreinterpretq_s32_s16(t[i + 3]));
      }
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const int64x2_t lo = vreinterpretq_s64_s32(u[c]), hi = vreinterpretq_s64_s32(u[4 + c]);
        vst1q_s16(kt + (t0 + c) * ldt + j0, vreinterpretq_s16_s64(vtrn1q_s64(lo, hi)));
        vst1q_s16(kt + (t0 + c + 4) * ldt + j0, vreinterpretq_s16_s64(vtrn2q_s64(lo, hi)));
      }
    }
  }
  for (size_t t = 0; t < dh; ++t) {
    int16_t* row = kt + t * ldt;
    for (size_t j = t < d8 ? n8 : 0; j < n; ++j) row[j] = k[j * dh + t];
    for (size_t j = n; j < ldt; ++j) row[j] = 0;
  }
}

// scores_kt_block<4> for the whole 8-element steps of dh (steps >= 1) in assembly: GCC kept
// copies of the 16 accumulators (a register move per product, 213 instructions per step of 8
// against 142 here). v16-v31 the accumulators (row r in v16 + 4r .. v19 + 4r), v0-v3 the rows'
// 8 values of q (the by-element operand must be in v0-v15), v4-v5 the 16 keys' values of one t
// (one ld1 of 32 bytes, post-incremented by a kt row); the rows' 16 sums stored by one st1 each.
inline void scores_kt_4x16_asm(const int16_t* q, size_t dh, const int16_t* kc, size_t ldt, size_t steps,
                               int32_t* out, size_t ldo) {
  const int16_t* q0 = q;
  const int16_t* q1 = q + dh;
  const int16_t* q2 = q + 2 * dh;
  const int16_t* q3 = q + 3 * dh;
  const size_t kstride = ldt * sizeof(int16_t);
  int32_t* o1 = out + ldo;
  int32_t* o2 = out + 2 * ldo;
  int32_t* o3 = out + 3 * ldo;
#define VIGIL_KT_U(u)                                                                              \
  "ld1 {v4.8h, v5.8h}, [%[k]], %[ks]\n\t"                                                          \
  "smlal v16.4s, v4.4h, v0.h[" #u "]\n\t" "smlal2 v17.4s, v4.8h, v0.h[" #u "]\n\t"                 \
  "smlal v18.4s, v5.4h, v0.h[" #u "]\n\t" "smlal2 v19.4s, v5.8h, v0.h[" #u "]\n\t"                 \
  "smlal v20.4s, v4.4h, v1.h[" #u "]\n\t" "smlal2 v21.4s, v4.8h, v1.h[" #u "]\n\t"                 \
  "smlal v22.4s, v5.4h, v1.h[" #u "]\n\t" "smlal2 v23.4s, v5.8h, v1.h[" #u "]\n\t"                 \
  "smlal v24.4s, v4.4h, v2.h[" #u "]\n\t" "smlal2 v25.4s, v4.8h, v2.h[" #u "]\n\t"                 \
  "smlal v26.4s, v5.4h, v2.h[" #u "]\n\t" "smlal2 v27.4s, v5.8h, v2.h[" #u "]\n\t"                 \
  "smlal v28.4s, v4.4h, v3.h[" #u "]\n\t" "smlal2 v29.4s, v4.8h, v3.h[" #u "]\n\t"                 \
  "smlal v30.4s, v5.4h, v3.h[" #u "]\n\t" "smlal2 v31.4s, v5.8h, v3.h[" #u "]\n\t"
  asm volatile(
      "movi v16.4s, #0\n\t" "movi v17.4s, #0\n\t" "movi v18.4s, #0\n\t" "movi v19.4s, #0\n\t"
      "movi v20.4s, #0\n\t" "movi v21.4s, #0\n\t" "movi v22.4s, #0\n\t" "movi v23.4s, #0\n\t"
      "movi v24.4s, #0\n\t" "movi v25.4s, #0\n\t" "movi v26.4s, #0\n\t" "movi v27.4s, #0\n\t"
      "movi v28.4s, #0\n\t" "movi v29.4s, #0\n\t" "movi v30.4s, #0\n\t" "movi v31.4s, #0\n\t"
      "1:\n\t"
      "ldr q0, [%[q0]], #16\n\t"
      "ldr q1, [%[q1]], #16\n\t"
      "ldr q2, [%[q2]], #16\n\t"
      "ldr q3, [%[q3]], #16\n\t"
      VIGIL_KT_U(0) VIGIL_KT_U(1) VIGIL_KT_U(2) VIGIL_KT_U(3)
      VIGIL_KT_U(4) VIGIL_KT_U(5) VIGIL_KT_U(6) VIGIL_KT_U(7)
      "subs %[steps], %[steps], #1\n\t"
      "b.ne 1b\n\t"
      "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[o0]]\n\t"
      "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[o1]]\n\t"
      "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[o2]]\n\t"
      "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[o3]]\n\t"
      : [q0] "+r"(q0), [q1] "+r"(q1), [q2] "+r"(q2), [q3] "+r"(q3), [k] "+r"(kc), [steps] "+r"(steps)
      : [ks] "r"(kstride), [o0] "r"(out), [o1] "r"(o1), [o2] "r"(o2), [o3] "r"(o3)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
        "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
#undef VIGIL_KT_U
}

// R query rows x 16 keys from j0 of the int16 scores from kt (transpose_k_s16): per element t
// of dh, the 16 keys' values (2 loads) times each row's q[t] by lane (smlal / smlal2 by element:
// 16 instructions for 64 products, no reduction at the end). out: R rows of 16 (row stride ldo).
template <int R>
inline void scores_kt_block(const int16_t* q, size_t dh, const int16_t* kt, size_t ldt, size_t r0, size_t j0,
                            int32_t* out, size_t ldo) {
  if constexpr (R == 4) {
    if (dh >= 8) {
      const size_t d8 = dh / 8 * 8;
      scores_kt_4x16_asm(q + r0 * dh, dh, kt + j0, ldt, d8 / 8, out, ldo);
      for (size_t t = d8; t < dh; ++t) {  // dh % 8, added to the stored sums
        for (int r = 0; r < 4; ++r) {
          const int32_t qs = q[(r0 + r) * dh + t];
          for (int e = 0; e < 16; ++e) out[r * ldo + e] += qs * kt[t * ldt + j0 + e];
        }
      }
      return;
    }
  }
  int32x4_t acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) acc[r][e] = vdupq_n_s32(0);
  }
  const int16_t* kc = kt + j0;
  size_t t = 0;
  for (; t + 8 <= dh; t += 8) {
    int16x8_t qv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) qv[r] = vld1q_s16(q + (r0 + r) * dh + t);
#define VIGIL_KT_STEP(u)                                                                        \
  {                                                                                             \
    const int16x8_t k0 = vld1q_s16(kc + (t + (u)) * ldt), k1 = vld1q_s16(kc + (t + (u)) * ldt + 8); \
    for (int r = 0; r < R; ++r) {                                                               \
      acc[r][0] = vmlal_laneq_s16(acc[r][0], vget_low_s16(k0), qv[r], u);                       \
      acc[r][1] = vmlal_high_laneq_s16(acc[r][1], k0, qv[r], u);                                \
      acc[r][2] = vmlal_laneq_s16(acc[r][2], vget_low_s16(k1), qv[r], u);                       \
      acc[r][3] = vmlal_high_laneq_s16(acc[r][3], k1, qv[r], u);                                \
    }                                                                                           \
  }
    VIGIL_KT_STEP(0) VIGIL_KT_STEP(1) VIGIL_KT_STEP(2) VIGIL_KT_STEP(3)
    VIGIL_KT_STEP(4) VIGIL_KT_STEP(5) VIGIL_KT_STEP(6) VIGIL_KT_STEP(7)
#undef VIGIL_KT_STEP
  }
  for (; t < dh; ++t) {  // dh % 8
    const int16x8_t k0 = vld1q_s16(kc + t * ldt), k1 = vld1q_s16(kc + t * ldt + 8);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const int16_t qs = q[(r0 + r) * dh + t];
      acc[r][0] = vmlal_n_s16(acc[r][0], vget_low_s16(k0), qs);
      acc[r][1] = vmlal_high_n_s16(acc[r][1], k0, qs);
      acc[r][2] = vmlal_n_s16(acc[r][2], vget_low_s16(k1), qs);
      acc[r][3] = vmlal_high_n_s16(acc[r][3], k1, qs);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) vst1q_s32(out + r * ldo + 4 * e, acc[r][e]);
  }
}

// The int16 scores s [rows][n] of rows query rows against the keys of kt (transpose_k_s16, row
// stride ldt): blocks of 4 rows x 16 keys, the last rows one at a time; a block reaching past n
// goes through a small buffer (kt is zero there).
inline void attention_scores_kt_neon(const int16_t* q, size_t rows, const int16_t* kt, size_t ldt, size_t n,
                                     size_t dh, int32_t* s) {
  const size_t n16 = n / 16 * 16;
  int32_t edge[4 * 16];
  size_t r0 = 0;
  auto run = [&](auto rows_c, size_t r) {
    constexpr int R = decltype(rows_c)::value;
    for (size_t j0 = 0; j0 < n16; j0 += 16) scores_kt_block<R>(q, dh, kt, ldt, r, j0, s + r * n + j0, n);
    if (n16 < n) {
      scores_kt_block<R>(q, dh, kt, ldt, r, n16, edge, 16);
      for (int i = 0; i < R; ++i) {
        for (size_t j = n16; j < n; ++j) s[(r + i) * n + j] = edge[i * 16 + (j - n16)];
      }
    }
  };
  for (; r0 + 4 <= rows; r0 += 4) run(std::integral_constant<int, 4>{}, r0);
  for (; r0 < rows; ++r0) run(std::integral_constant<int, 1>{}, r0);
}
#endif

}  // namespace
}  // namespace vigil::kernels
