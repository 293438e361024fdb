// gemm_s8s8_s32_4x4c16__neon: smull/smlal pairs into int16, sadalp into int32; 6 rows x 4
// columns on aarch64 (24 accumulators, the K loop in assembly; fewer rows by the intrinsics'
// 4 x 4 form and below), 2 x 4 on armv7 (16 q registers, assembly); GEMV 1 x 8.
// Layout: 4-column panels, 64 bytes per group of 16 K (c16), columns contiguous per group.
// Exact: weights are in [-127, 127], so each int16 lane holds a[k]w[k] + a[k+8]w[k+8] with
// |.| <= 2*128*127 = 32512 < 32767; sadalp widens to int32 before anything can overflow.
// Builds for armv8-a (baseline) and armv7-a with -mfpu=neon-vfpv4 (intrinsics common to both).
#include <arm_neon.h>

#include "kernels/attention_scores_neon.h"
#include "kernels/epilogue_neon.h"
#include "kernels/float_rows_neon.h"
#include "kernels/gemm_driver.h"
#include "kernels/map_s8_neon.h"
#include "kernels/softmax_u8_neon.h"

namespace vigil::kernels {
namespace {

// The micro-kernels without GCC's pre-register-allocation scheduling: with it, GCC 12 issues
// all 16 products of a K group before their sadalp and spills 4 accumulators (64 instructions
// per K group on aarch64, 8 of them stack loads/stores); without it, 60 and no spill. (The
// cores this table targets, e.g. Cortex-A72, execute out of order.)
#pragma GCC push_options
#pragma GCC optimize("no-schedule-insns")

struct Neon {
  using WElem = int8_t;
  using AElem = int8_t;
#if defined(__aarch64__)
  static constexpr size_t kMR = 6;  // the 6 x 4 tile in assembly (kloop_6x4_asm)
#else
  static constexpr size_t kMR = 2;
#endif
  static constexpr size_t kPanel = 4, kKGroup = 16, kNRV = 1, kNRVGemv = 2;
  static constexpr size_t kKC = 512, kNC = 128, kHeaderBytesPerCol = 0;
  static constexpr bool kFusedEpilogue = true;  // micro_fused below

  static void pack_header(const int8_t*, size_t, size_t, uint8_t*, size_t) {}

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, int8_t* buf,
                     size_t stride) {
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(buf + r * stride, a + r * lda, kc);
      for (size_t j = kc; j < kcpad; ++j) buf[r * stride + j] = 0;
    }
  }

  static void fix_row(int32_t*, size_t, size_t, const uint8_t*) {}

#if defined(__arm__)
  // armv7, the 2 x 4 tile: the whole K loop in assembly, 30 instructions per K group of 16
  // (24 vmull/vmlal/vpadal, 4 loads with post-increment: both rows' 16 bytes and the panel's
  // 64, subs, bne) against 38 from the intrinsics (GCC re-derived the four weight addresses
  // from the panel base each group and zeroed the accumulators first); the first group
  // initializes the accumulators by vpaddl. Every q register is used: q0, q1 the rows, q2-q5
  // the 4 columns, q6, q7 the int16 products (rows alternate, two chains), q8-q11 row 0's
  // accumulators, q12-q15 row 1's. Then the 4-lane partial sums are reduced (vpadd) and
  // sums[r * 4 + j] = sum_k a[r][k] w[j][k] stored. kgroups >= 1. Integer sums: the same
  // values as the intrinsics in any order (kernels_exact).
  static inline __attribute__((always_inline)) void kloop_2x4_asm(const int8_t* abuf, size_t kgroups,
                                                                  const uint8_t* w, int32_t* sums) {
    const int8_t* a0 = abuf;
    const int8_t* a1 = abuf + kKC;
#define VIGIL_COLUMN(first, wlo, whi, acc0, acc1) \
  "vmull.s8 q6, d0, " wlo "\n\t"                  \
  "vmull.s8 q7, d2, " wlo "\n\t"                  \
  "vmlal.s8 q6, d1, " whi "\n\t"                  \
  "vmlal.s8 q7, d3, " whi "\n\t"                  \
  first " " acc0 ", q6\n\t"                       \
  first " " acc1 ", q7\n\t"
#define VIGIL_GROUP(first)                      \
  "vld1.8 {d0-d1}, [%[a0]]!\n\t"                \
  "vld1.8 {d2-d3}, [%[a1]]!\n\t"                \
  "vld1.8 {d4-d7}, [%[w]]!\n\t"                 \
  "vld1.8 {d8-d11}, [%[w]]!\n\t"                \
  VIGIL_COLUMN(first, "d4", "d5", "q8", "q12")  \
  VIGIL_COLUMN(first, "d6", "d7", "q9", "q13")  \
  VIGIL_COLUMN(first, "d8", "d9", "q10", "q14") \
  VIGIL_COLUMN(first, "d10", "d11", "q11", "q15")
    asm volatile(
        VIGIL_GROUP("vpaddl.s16")
        "subs %[k], %[k], #1\n\t"
        "beq 2f\n\t"
        "1:\n\t"
        VIGIL_GROUP("vpadal.s16")
        "subs %[k], %[k], #1\n\t"
        "bne 1b\n\t"
        "2:\n\t"
        VIGIL_ARMV7_REDUCE_2X4
        "vst1.32 {d0-d3}, [%[sums]]\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [w] "+r"(w), [k] "+r"(kgroups)
        : [sums] "r"(sums)
        : "cc", "memory", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12",
          "d13", "d14", "d15", "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26",
          "d27", "d28", "d29", "d30", "d31");
#undef VIGIL_GROUP
#undef VIGIL_COLUMN
  }
#endif

#if defined(__aarch64__)
  // aarch64, the 6 x 4 tile: the K loop in assembly on all 32 vector registers, v0-v5 the 6
  // rows' 16 bytes (5 loads at offsets kKC r, row 0 by post-index), v6 one column's 16 bytes
  // (4 post-index loads), v7 the int16 products, v8 + 4 r + j the accumulator of row r,
  // column j: 72 smull/smlal2/sadalp + 10 loads + subs/b.ne = 84 instructions for 384 MACs
  // (0.219 per MAC; the intrinsics' 4 x 4 tile took 60 for 256, 0.234, and GCC spills a 6 x 4
  // one). The first group initializes the accumulators by saddlp; then each row's 4 sums are
  // reduced by addp (3 per row) and sums[r * 4 + j] stored. kgroups >= 1. Integer sums: exact in
  // any order (kernels_exact).
  static inline __attribute__((always_inline)) void kloop_6x4_asm(const int8_t* abuf, size_t kgroups,
                                                                  const uint8_t* w, int32_t* sums) {
    const int8_t* a = abuf;
#define VIGIL_ROWCOL(op, r, acc)                 \
  "smull v7.8h, v" #r ".8b, v6.8b\n\t"          \
  "smlal2 v7.8h, v" #r ".16b, v6.16b\n\t"       \
  op " v" #acc ".4s, v7.8h\n\t"
#define VIGIL_COL(op, a0, a1, a2, a3, a4, a5)     \
  "ldr q6, [%[w]], #16\n\t"                     \
  VIGIL_ROWCOL(op, 0, a0) VIGIL_ROWCOL(op, 1, a1) VIGIL_ROWCOL(op, 2, a2) \
  VIGIL_ROWCOL(op, 3, a3) VIGIL_ROWCOL(op, 4, a4) VIGIL_ROWCOL(op, 5, a5)
#define VIGIL_GROUP(op)                          \
  "ldr q1, [%[a], #512]\n\t"                    \
  "ldr q2, [%[a], #1024]\n\t"                   \
  "ldr q3, [%[a], #1536]\n\t"                   \
  "ldr q4, [%[a], #2048]\n\t"                   \
  "ldr q5, [%[a], #2560]\n\t"                   \
  "ldr q0, [%[a]], #16\n\t"                     \
  VIGIL_COL(op, 8, 12, 16, 20, 24, 28)           \
  VIGIL_COL(op, 9, 13, 17, 21, 25, 29)           \
  VIGIL_COL(op, 10, 14, 18, 22, 26, 30)          \
  VIGIL_COL(op, 11, 15, 19, 23, 27, 31)
    static_assert(kKC == 512, "kloop_6x4_asm addresses the rows at kKC = 512 bytes apart");
    asm volatile(
        VIGIL_GROUP("saddlp")
        "subs %[k], %[k], #1\n\t"
        "b.eq 2f\n\t"
        "1:\n\t"
        VIGIL_GROUP("sadalp")
        "subs %[k], %[k], #1\n\t"
        "b.ne 1b\n\t"
        "2:\n\t"
        "addp v8.4s, v8.4s, v9.4s\n\t"
        "addp v10.4s, v10.4s, v11.4s\n\t"
        "addp v0.4s, v8.4s, v10.4s\n\t"
        "addp v12.4s, v12.4s, v13.4s\n\t"
        "addp v14.4s, v14.4s, v15.4s\n\t"
        "addp v1.4s, v12.4s, v14.4s\n\t"
        "addp v16.4s, v16.4s, v17.4s\n\t"
        "addp v18.4s, v18.4s, v19.4s\n\t"
        "addp v2.4s, v16.4s, v18.4s\n\t"
        "addp v20.4s, v20.4s, v21.4s\n\t"
        "addp v22.4s, v22.4s, v23.4s\n\t"
        "addp v3.4s, v20.4s, v22.4s\n\t"
        "addp v24.4s, v24.4s, v25.4s\n\t"
        "addp v26.4s, v26.4s, v27.4s\n\t"
        "addp v4.4s, v24.4s, v26.4s\n\t"
        "addp v28.4s, v28.4s, v29.4s\n\t"
        "addp v30.4s, v30.4s, v31.4s\n\t"
        "addp v5.4s, v28.4s, v30.4s\n\t"
        "st1 {v0.4s, v1.4s, v2.4s, v3.4s}, [%[sums]]\n\t"
        "add x16, %[sums], #64\n\t"
        "st1 {v4.4s, v5.4s}, [x16]\n\t"
        : [a] "+r"(a), [w] "+r"(w), [k] "+r"(kgroups)
        : [sums] "r"(sums)
        : "cc", "memory", "x16", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
          "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27",
          "v28", "v29", "v30", "v31");
#undef VIGIL_GROUP
#undef VIGIL_COL
#undef VIGIL_ROWCOL
  }
#endif

  // The tile an assembly K loop serves (armv7 2 x 4, aarch64 6 x 4: one panel), 0 if none.
#if defined(__arm__)
  static constexpr int kAsmRows = 2;
#elif defined(__aarch64__)
  static constexpr int kAsmRows = 6;
#else
  static constexpr int kAsmRows = 0;
#endif
  // sums[r * 4 + j] of the kAsmRows x 4 tile by its assembly K loop (kgroups >= 1).
  static inline __attribute__((always_inline)) void asm_tile(const int8_t* abuf, size_t kgroups, const uint8_t* w,
                                                             int32_t* sums) {
#if defined(__arm__)
    kloop_2x4_asm(abuf, kgroups, w, sums);
#elif defined(__aarch64__)
    kloop_6x4_asm(abuf, kgroups, w, sums);
#endif
  }

  // One K group g into the accumulators; kFirst: the group's pairwise sums initialize them
  // (sadalp onto zeros, without the zeros).
  template <int MR, int NC, bool kFirst>
  static inline __attribute__((always_inline)) void kgroup(int32x4_t (&acc)[MR * NC], const int8_t* abuf, size_t g,
                                                           const uint8_t* w, size_t pbytes) {
    int8x16_t av[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) av[r] = vld1q_s8(abuf + r * kKC + g * 16);
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) {
      const int8x16_t wv = vld1q_s8(reinterpret_cast<const int8_t*>(w + (j / 4) * pbytes + g * 64 + (j % 4) * 16));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        int16x8_t p = vmull_s8(vget_low_s8(av[r]), vget_low_s8(wv));
#if defined(__aarch64__)
        p = vmlal_high_s8(p, av[r], wv);  // smlal2: no extraction of the high halves
#else
        p = vmlal_s8(p, vget_high_s8(av[r]), vget_high_s8(wv));
#endif
        acc[r * NC + j] = kFirst ? vpaddlq_s16(p) : vpadalq_s16(acc[r * NC + j], p);
      }
    }
  }

  // acc[r * NC + j] (NC = 4 NRV columns): the K loop's partial sums of row r, column j, in 4
  // lanes (reduce4_s32 finishes them).
  template <int MR, int NC>
  static inline __attribute__((always_inline)) void kloop(int32x4_t (&acc)[MR * NC], const int8_t* abuf,
                                                          size_t kgroups, const uint8_t* w, size_t pbytes) {
    if (kgroups == 0) {
#pragma GCC unroll 32
      for (int i = 0; i < MR * NC; ++i) acc[i] = vdupq_n_s32(0);
      return;
    }
    kgroup<MR, NC, true>(acc, abuf, 0, w, pbytes);
    for (size_t g = 1; g < kgroups; ++g) kgroup<MR, NC, false>(acc, abuf, g, w, pbytes);
  }

  // x[r * NRV + q] = the int32 sums of row r, panel q (columns 4 q .. 4 q + 3): the assembly K
  // loop for its kAsmRows x 4 tile, else the intrinsics' K loop and reduce4_s32.
  template <int MR, int NRV>
  static inline __attribute__((always_inline)) void tile_sums(const int8_t* abuf, size_t kgroups, const uint8_t* w,
                                                              size_t pbytes, int32x4_t (&x)[MR * NRV]) {
    if constexpr (MR == kAsmRows && NRV == 1) {
      if (kgroups > 0) {
        alignas(16) int32_t sums[MR * 4];
        asm_tile(abuf, kgroups, w, sums);
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) x[r] = vld1q_s32(sums + r * 4);
        return;
      }
    }
    constexpr int NC = NRV * 4;
    // One flat array: GCC keeps a 1-D array of vectors in registers, a 2-D one it spills.
    int32x4_t acc[MR * NC];
    kloop<MR, NC>(acc, abuf, kgroups, w, pbytes);
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {
      const int r = i / NRV, q = i % NRV;
      x[i] = reduce4_s32(acc[r * NC + q * 4], acc[r * NC + q * 4 + 1], acc[r * NC + q * 4 + 2], acc[r * NC + q * 4 + 3]);
    }
  }

  // noipa: inlined or const-propagated into the driver, GCC 12 spills the accumulators to the
  // stack on every K step (seen in the disassembly); as a real call it keeps them in registers.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const int8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes, int32_t* c,
                    size_t ldc, bool accumulate) {
    int32x4_t x[MR * NRV];
    tile_sums<MR, NRV>(abuf, kgroups, w, pbytes, x);
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {  // flat: a nested loop here makes GCC spill
      int32_t* dst = c + (i / NRV) * ldc + (i % NRV) * 4;
      if (accumulate) x[i] = vaddq_s32(x[i], vld1q_s32(dst));
      vst1q_s32(dst, x[i]);
    }
  }

  // The fused epilogue's last steps for MR rows x NRV panels of float values v (row r, panel q
  // at v[r * NRV + q]): GELU if asked, then the float output (bias already added; accumulated
  // into the destination if asked) or the int8 requantization (one panel, an even row count:
  // two rows' bytes narrowed together), stored at row row0, column n0.
  template <int MR, int NRV>
  static inline __attribute__((always_inline)) void store_fused(float32x4_t (&v)[MR * NRV], size_t row0, size_t n0,
                                                                const Epilogue& ep) {
    if (ep.act == Activation::kGelu) gelu_vecs<MR * NRV>(v);
    if constexpr (NRV == 1 && MR % 2 == 0) {
      if (ep.out_f32 == nullptr) {  // int8 output: rows r and r + 1 narrowed together
#pragma GCC unroll 4
        for (int r = 0; r < MR; r += 2) {
          const int8x8_t b = vmovn_s16(vcombine_s16(vmovn_s32(requant_vec(v[r], ep.out_inv_scale)),
                                                    vmovn_s32(requant_vec(v[r + 1], ep.out_inv_scale))));
          const uint32_t b0 = vget_lane_u32(vreinterpret_u32_s8(b), 0), b1 = vget_lane_u32(vreinterpret_u32_s8(b), 1);
          std::memcpy(ep.out_i8 + (row0 + r) * ep.ldo + n0, &b0, sizeof b0);
          std::memcpy(ep.out_i8 + (row0 + r + 1) * ep.ldo + n0, &b1, sizeof b1);
        }
        return;
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const size_t o = (row0 + static_cast<size_t>(r)) * ep.ldo + n0;
#pragma GCC unroll 4
      for (int q = 0; q < NRV; ++q) {
        if (ep.out_f32 != nullptr) {
          float* dst = ep.out_f32 + o + q * 4;
          float32x4_t x = v[r * NRV + q];
          if (ep.accumulate) x = vaddq_f32(vld1q_f32(dst), x);
          vst1q_f32(dst, x);
        } else {  // 4 columns -> 4 bytes
          const int16x4_t h = vmovn_s32(requant_vec(v[r * NRV + q], ep.out_inv_scale));
          const int32_t b = vget_lane_s32(vreinterpret_s32_s8(vmovn_s16(vcombine_s16(h, h))), 0);
          std::memcpy(ep.out_i8 + o + q * 4, &b, sizeof b);
        }
      }
    }
  }

  // Fused epilogue (Driver::block_fused; the neon_dot file has the same design): the reduced
  // accumulators of MR rows x NRV whole panels (4 NRV columns) at output row row0, column n0,
  // through the Epilogue's float modes in registers (epilogue_neon.h, the spec's steps in its
  // order), stored once.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro_fused(const int8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes,
                                                 size_t row0, size_t n0, const Epilogue& ep) {
    fused_tile<MR, NRV>(abuf, kgroups, w, pbytes, row0, n0, ep);
  }

  template <int MR, int NRV>
  static inline __attribute__((always_inline)) void fused_tile(const int8_t* abuf, size_t kgroups, const uint8_t* w,
                                                               size_t pbytes, size_t row0, size_t n0,
                                                               const Epilogue& ep) {
    int32x4_t x[MR * NRV];
    tile_sums<MR, NRV>(abuf, kgroups, w, pbytes, x);
    float32x4_t v[MR * NRV];  // row r, panel q: columns n0 + 4 q + [0, 4)
#pragma GCC unroll 8
    for (int q = 0; q < NRV; ++q) {
      const size_t col = n0 + static_cast<size_t>(q) * 4;
      const float32x4_t sc = vld1q_f32(ep.scale + col);
      const float32x4_t bi = ep.bias != nullptr ? vld1q_f32(ep.bias + col) : vdupq_n_f32(0.0f);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        float32x4_t t = vmulq_f32(vcvtq_f32_s32(x[r * NRV + q]), sc);
        if (ep.bias != nullptr) t = vaddq_f32(t, bi);
        v[r * NRV + q] = t;
      }
    }
    store_fused<MR, NRV>(v, row0, n0, ep);
  }

  // The driver hands a row block's whole panels to micro_fused_panels in one call
  // (Driver::block_fused), so the call, the register saves and the epilogue's setup are paid
  // once per row block instead of once per tile (on armv7 ~85 instructions of a 2 x 4 tile's
  // ~255 at K = 64 were that and the epilogue).
  static constexpr bool kFusedPanels = true;

  // micro_fused<MR, 1> for panels p < panels of w (pbytes apart; output columns from 0): the
  // assembly K loop for the kAsmRows-row block, the intrinsics' for the rest. kgroups >= 1.
  template <int MR>
  __attribute__((noipa)) static void micro_fused_panels(const int8_t* abuf, size_t kgroups, const uint8_t* w,
                                                        size_t pbytes, size_t panels, size_t row0, const Epilogue& ep) {
    const Epilogue e = ep;  // a local copy: kept in registers across the assembly's memory clobber
    for (size_t p = 0; p < panels; ++p) fused_tile<MR, 1>(abuf, kgroups, w + p * pbytes, pbytes, row0, p * kPanel, e);
  }
};

#pragma GCC pop_options

// The composed int8 attention's softmax rows in NEON (softmax_u8_neon.h): on armv7 the
// engine's own form is scalar VFP (GCC vectorizes no float loop for armv7 NEON).
int32_t softmax_row_u8__neon(const int32_t* acc, size_t n, float row_scale, const float* col_scale, float* tmp,
                             int8_t* p) {
  return softmax_row_u8_neon<true>(acc, n, row_scale, col_scale, tmp, reinterpret_cast<uint8_t*>(p));
}

using D = Driver<Neon>;
const KernelTable kTable = {Isa::kNeon, "neon", D::packed_size, D::pack, D::gemm, nullptr, nullptr,
                            softmax_row_u8__neon, map_s8_neon, quantize_neon,
                            layer_norm_quantize_neon, quantize_attention_operands_neon, linear_f32_neon,
                            transpose_k_s16, attention_scores_kt_neon};

}  // namespace

const KernelTable* table_neon() { return &kTable; }

}  // namespace vigil::kernels
