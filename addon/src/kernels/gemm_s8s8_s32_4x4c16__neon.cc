// gemm_s8s8_s32_4x4c16__neon: smull/smlal pairs into int16, sadalp into int32; 4 rows x 4
// columns on aarch64 (16 accumulators), 2 x 4 on armv7 (16 q registers); GEMV 1 x 8.
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
  static constexpr size_t kMR = 4;
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

  // acc[r * NC + j] (NC = 4 NRV columns): the K loop's partial sums of row r, column j, in 4
  // lanes (reduce4_s32 finishes them).
  template <int MR, int NC>
  static inline __attribute__((always_inline)) void kloop(int32x4_t (&acc)[MR * NC], const int8_t* abuf,
                                                          size_t kgroups, const uint8_t* w, size_t pbytes) {
#pragma GCC unroll 32
    for (int i = 0; i < MR * NC; ++i) acc[i] = vdupq_n_s32(0);
    for (size_t g = 0; g < kgroups; ++g) {
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
          acc[r * NC + j] = vpadalq_s16(acc[r * NC + j], p);
        }
      }
    }
  }

  // noipa: inlined or const-propagated into the driver, GCC 12 spills the accumulators to the
  // stack on every K step (seen in the disassembly); as a real call it keeps them in registers.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const int8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes, int32_t* c,
                    size_t ldc, bool accumulate) {
    constexpr int NC = NRV * 4;
    // One flat array: GCC keeps a 1-D array of vectors in registers, a 2-D one it spills.
    int32x4_t acc[MR * NC];
    kloop<MR, NC>(acc, abuf, kgroups, w, pbytes);
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {  // flat: a nested loop here makes GCC spill acc
      const int r = i / NRV, v = i % NRV;
      {
        int32_t* dst = c + r * ldc + v * 4;
        int32x4_t x = reduce4_s32(acc[r * NC + v * 4], acc[r * NC + v * 4 + 1], acc[r * NC + v * 4 + 2], acc[r * NC + v * 4 + 3]);
        if (accumulate) x = vaddq_s32(x, vld1q_s32(dst));
        vst1q_s32(dst, x);
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
    constexpr int NC = NRV * 4;
    int32x4_t acc[MR * NC];
    kloop<MR, NC>(acc, abuf, kgroups, w, pbytes);
    float32x4_t v[MR * NRV];  // row r, panel q: columns n0 + 4 q + [0, 4)
#pragma GCC unroll 8
    for (int q = 0; q < NRV; ++q) {
      const size_t col = n0 + static_cast<size_t>(q) * 4;
      const float32x4_t sc = vld1q_f32(ep.scale + col);
      const float32x4_t bi = ep.bias != nullptr ? vld1q_f32(ep.bias + col) : vdupq_n_f32(0.0f);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const int32x4_t x = reduce4_s32(acc[r * NC + q * 4], acc[r * NC + q * 4 + 1], acc[r * NC + q * 4 + 2],
                                        acc[r * NC + q * 4 + 3]);
        float32x4_t t = vmulq_f32(vcvtq_f32_s32(x), sc);
        if (ep.bias != nullptr) t = vaddq_f32(t, bi);
        v[r * NRV + q] = t;
      }
    }
    if (ep.act == Activation::kGelu) gelu_vecs<MR * NRV>(v);
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
                            attention_scores_s16_neon, softmax_row_u8__neon, map_s8_neon, quantize_neon,
                            layer_norm_quantize_neon, quantize_attention_operands_neon, linear_f32_neon};

}  // namespace

const KernelTable* table_neon() { return &kTable; }

}  // namespace vigil::kernels
