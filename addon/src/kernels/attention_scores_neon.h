// Header-only NEON code shared by the neon and neon_dot kernel files (anonymous namespace: a
// private copy per file, compiled with that file's flags; nothing merges with baseline code):
// the int8 attention's int16 scores from K transposed once per head (the neon table's
// attention_keys / attention_scores_kt, the neon_dot fused kernel's scores), and two reductions
// of the neon GEMM.
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
// armv7 assembly (the neon GEMM's 2 x 4 tile): the 4-lane int32 partial sums of 2 rows x 4
// columns in q8-q11 (row 0) and q12-q15 (row 1) reduced by vpadd to q0 (row 0's 4 sums) and
// q1 (row 1's).
#define VIGIL_ARMV7_REDUCE_2X4                                                                    \
  "vpadd.i32 d16, d16, d17\n\t" "vpadd.i32 d18, d18, d19\n\t" "vpadd.i32 d20, d20, d21\n\t" \
  "vpadd.i32 d22, d22, d23\n\t" "vpadd.i32 d24, d24, d25\n\t" "vpadd.i32 d26, d26, d27\n\t" \
  "vpadd.i32 d28, d28, d29\n\t" "vpadd.i32 d30, d30, d31\n\t" "vpadd.i32 d0, d16, d18\n\t"  \
  "vpadd.i32 d1, d20, d22\n\t" "vpadd.i32 d2, d24, d26\n\t" "vpadd.i32 d3, d28, d30\n\t"
#endif

// kt [dh][ldt] = k [n][dh] transposed (kt[t][j] = k[j][t]; ldt >= n rounded up to 16, zero for
// n <= j < ldt): 8 x 8 int16 blocks by transposes at 16, 32 and 64 bits (trn1/trn2 on aarch64,
// vtrn and half swaps on armv7), the edges element by element. Once per head, for
// attention_scores_kt_neon.
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
#if defined(__aarch64__)
        t[i] = vtrn1q_s16(r[i], r[i + 1]);
        t[i + 1] = vtrn2q_s16(r[i], r[i + 1]);
#else
        const int16x8x2_t p = vtrnq_s16(r[i], r[i + 1]);
        t[i] = p.val[0];
        t[i + 1] = p.val[1];
#endif
      }
      int32x4_t u[8];
#pragma GCC unroll 2
      for (int i = 0; i < 8; i += 4) {  // u[i + c]: column c (low half) and c + 4 of rows i..i+3
#if defined(__aarch64__)
        u[i] = vtrn1q_s32(vreinterpretq_s32_s16(t[i]), vreinterpretq_s32_s16(t[i + 2]));
        u[i + 2] = vtrn2q_s32(vreinterpretq_s32_s16(t[i]), vreinterpretq_s32_s16(t[i + 2]));
        u[i + 1] = vtrn1q_s32(vreinterpretq_s32_s16(t[i + 1]), vreinterpretq_s32_s16(t[i + 3]));
        u[i + 3] = vtrn2q_s32(vreinterpretq_s32_s16(t[i + 1]), vreinterpretq_s32_s16(t[i + 3]));
#else
        const int32x4x2_t a = vtrnq_s32(vreinterpretq_s32_s16(t[i]), vreinterpretq_s32_s16(t[i + 2]));
        const int32x4x2_t b = vtrnq_s32(vreinterpretq_s32_s16(t[i + 1]), vreinterpretq_s32_s16(t[i + 3]));
        u[i] = a.val[0];
        u[i + 2] = a.val[1];
        u[i + 1] = b.val[0];
        u[i + 3] = b.val[1];
#endif
      }
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {  // columns c and c + 4: the low and the high halves
        const int32x4_t lo = vcombine_s32(vget_low_s32(u[c]), vget_low_s32(u[4 + c]));
        const int32x4_t hi = vcombine_s32(vget_high_s32(u[c]), vget_high_s32(u[4 + c]));
        vst1q_s16(kt + (t0 + c) * ldt + j0, vreinterpretq_s16_s32(lo));
        vst1q_s16(kt + (t0 + c + 4) * ldt + j0, vreinterpretq_s16_s32(hi));
      }
    }
  }
  for (size_t t = 0; t < dh; ++t) {
    int16_t* row = kt + t * ldt;
    for (size_t j = t < d8 ? n8 : 0; j < n; ++j) row[j] = k[j * dh + t];
    for (size_t j = n; j < ldt; ++j) row[j] = 0;
  }
}

#if defined(__aarch64__)
constexpr int kScoresKtRows = 4;  // rows per block (scores_kt_4x16_asm)

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

#else
constexpr int kScoresKtRows = 2;  // rows per block (scores_kt_2x16_asm)

// armv7: scores_kt_block<2> for the whole 8-element steps of dh (steps >= 1) in assembly, on 16
// q registers: q8-q11 row 0's 16 sums, q12-q15 row 1's, d0-d1 / d2-d3 the rows' 8 values of q
// (the by-scalar operand must be in d0-d7), d4-d7 the 16 keys' values of one t (one vld1 of 32
// bytes, post-incremented by a kt row). 76 instructions per step of 8 for 256 products.
inline void scores_kt_2x16_asm(const int16_t* q, size_t dh, const int16_t* kc, size_t ldt, size_t steps,
                               int32_t* out, size_t ldo) {
  const int16_t* q0 = q;
  const int16_t* q1 = q + dh;
  const size_t kstride = ldt * sizeof(int16_t);
  int32_t* o0 = out;
  int32_t* o1 = out + ldo;
#define VIGIL_KT_U(d0, d2, u)                                                                      \
  "vld1.16 {d4-d7}, [%[k]], %[ks]\n\t"                                                            \
  "vmlal.s16 q8, d4, " d0 "[" #u "]\n\t" "vmlal.s16 q9, d5, " d0 "[" #u "]\n\t"                   \
  "vmlal.s16 q10, d6, " d0 "[" #u "]\n\t" "vmlal.s16 q11, d7, " d0 "[" #u "]\n\t"                 \
  "vmlal.s16 q12, d4, " d2 "[" #u "]\n\t" "vmlal.s16 q13, d5, " d2 "[" #u "]\n\t"                 \
  "vmlal.s16 q14, d6, " d2 "[" #u "]\n\t" "vmlal.s16 q15, d7, " d2 "[" #u "]\n\t"
  asm volatile(
      "vmov.i32 q8, #0\n\t" "vmov.i32 q9, #0\n\t" "vmov.i32 q10, #0\n\t" "vmov.i32 q11, #0\n\t"
      "vmov.i32 q12, #0\n\t" "vmov.i32 q13, #0\n\t" "vmov.i32 q14, #0\n\t" "vmov.i32 q15, #0\n\t"
      "1:\n\t"
      "vld1.16 {d0-d1}, [%[q0]]!\n\t"
      "vld1.16 {d2-d3}, [%[q1]]!\n\t"
      VIGIL_KT_U("d0", "d2", 0) VIGIL_KT_U("d0", "d2", 1) VIGIL_KT_U("d0", "d2", 2) VIGIL_KT_U("d0", "d2", 3)
      VIGIL_KT_U("d1", "d3", 0) VIGIL_KT_U("d1", "d3", 1) VIGIL_KT_U("d1", "d3", 2) VIGIL_KT_U("d1", "d3", 3)
      "subs %[steps], %[steps], #1\n\t"
      "bne 1b\n\t"
      "vst1.32 {d16-d19}, [%[o0]]!\n\t"
      "vst1.32 {d20-d23}, [%[o0]]\n\t"
      "vst1.32 {d24-d27}, [%[o1]]!\n\t"
      "vst1.32 {d28-d31}, [%[o1]]\n\t"
      : [q0] "+r"(q0), [q1] "+r"(q1), [k] "+r"(kc), [steps] "+r"(steps), [o0] "+r"(o0), [o1] "+r"(o1)
      : [ks] "r"(kstride)
      : "cc", "memory", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d16", "d17", "d18", "d19", "d20", "d21",
        "d22", "d23", "d24", "d25", "d26", "d27", "d28", "d29", "d30", "d31");
#undef VIGIL_KT_U
}
#endif

// R query rows x 16 keys from j0 of the int16 scores from kt (transpose_k_s16) into out (R rows
// of 16, row stride ldo): blocks of kScoresKtRows rows with dh >= 8 in assembly (each t of dh:
// one load of the 16 keys' values, multiply-adds by element, no reduction at the end); other
// row counts and dh < 8 by intrinsics on one q value at a time; dh % 8 added afterwards.
template <int R>
inline void scores_kt_block(const int16_t* q, size_t dh, const int16_t* kt, size_t ldt, size_t r0, size_t j0,
                            int32_t* out, size_t ldo) {
  const size_t d8 = dh / 8 * 8;
  size_t t = 0;
  if constexpr (R == kScoresKtRows) {
    if (d8 > 0) {
#if defined(__aarch64__)
      scores_kt_4x16_asm(q + r0 * dh, dh, kt + j0, ldt, d8 / 8, out, ldo);
#else
      scores_kt_2x16_asm(q + r0 * dh, dh, kt + j0, ldt, d8 / 8, out, ldo);
#endif
      t = d8;
    }
  }
  if (t == 0) {
    for (int r = 0; r < R; ++r) {
      for (int e = 0; e < 16; ++e) out[r * ldo + e] = 0;
    }
  }
  for (; t < dh; ++t) {
    const int16x8_t k0 = vld1q_s16(kt + t * ldt + j0), k1 = vld1q_s16(kt + t * ldt + j0 + 8);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const int16_t qs = q[(r0 + r) * dh + t];
      int32_t* o = out + r * ldo;
      vst1q_s32(o, vmlal_n_s16(vld1q_s32(o), vget_low_s16(k0), qs));
      vst1q_s32(o + 4, vmlal_n_s16(vld1q_s32(o + 4), vget_high_s16(k0), qs));
      vst1q_s32(o + 8, vmlal_n_s16(vld1q_s32(o + 8), vget_low_s16(k1), qs));
      vst1q_s32(o + 12, vmlal_n_s16(vld1q_s32(o + 12), vget_high_s16(k1), qs));
    }
  }
}

// The int16 scores s [rows][n] of rows query rows against the keys of kt (transpose_k_s16, row
// stride ldt): blocks of kScoresKtRows rows x 16 keys, the last rows one at a time; a block
// reaching past n goes through a small buffer (kt is zero there).
inline void attention_scores_kt_neon(const int16_t* q, size_t rows, const int16_t* kt, size_t ldt, size_t n,
                                     size_t dh, int32_t* s) {
  const size_t n16 = n / 16 * 16;
  int32_t edge[kScoresKtRows * 16];
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
  size_t r0 = 0;
  for (; r0 + kScoresKtRows <= rows; r0 += kScoresKtRows) run(std::integral_constant<int, kScoresKtRows>{}, r0);
  for (; r0 < rows; ++r0) run(std::integral_constant<int, 1>{}, r0);
}

}  // namespace
}  // namespace vigil::kernels
