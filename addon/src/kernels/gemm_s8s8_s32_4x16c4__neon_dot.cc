// gemm_s8s8_s32_4x16c4__neon_dot: sdot by lane, 4 rows x 16 columns (16 independent int32x4
// accumulator chains; one 16-byte A load feeds 4 K groups through lanes 0..3); GEMV 1 x 32.
// Layout: 16-column panels, 64 bytes per group of 4 K (c4): 4 columns x 4 K per q register.
// Exact: sdot multiplies s8 x s8 into s32 with no intermediate narrowing.
// Compiled with -march=armv8.2-a+dotprod on THIS file only; reached only via runtime dispatch.
#include <arm_neon.h>

#include "kernels/epilogue_neon.h"
#include "kernels/gemm_driver.h"
#include "kernels/float_rows_neon.h"
#include "kernels/map_s8_neon.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "this file must be compiled with -march=armv8.2-a+dotprod (kernels.cmake)"
#endif

namespace vigil::kernels {

// attention_u8u8__neon_dot.cc: the fused int8 attention of this table.
size_t attention_u8u8_scratch__neon_dot(size_t n, size_t dh);
void attention_u8u8__neon_dot(const AttentionHead& head);

namespace {

struct NeonDot {
  using WElem = int8_t;
  using AElem = int8_t;
  static constexpr size_t kPanel = 16, kKGroup = 4, kMR = 4, kNRV = 1, kNRVGemv = 2;
  static constexpr size_t kKC = 512, kNC = 256, kHeaderBytesPerCol = 0;

  static void pack_header(const int8_t*, size_t, size_t, uint8_t*, size_t) {}

  // Pads each row to a multiple of 16 (the A loads are 16 bytes; kKC is a multiple of 16).
  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t, int8_t* buf, size_t stride) {
    const size_t pad16 = (kc + 15) / 16 * 16;
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(buf + r * stride, a + r * lda, kc);
      for (size_t j = kc; j < pad16; ++j) buf[r * stride + j] = 0;
    }
  }

  static void fix_row(int32_t*, size_t, size_t, const uint8_t*) {}

  template <int MR, int NC, int Lane>
  static inline void step(int32x4_t (&acc)[MR * NC], const int8x16_t (&av)[MR], const uint8_t* w, size_t pbytes,
                          size_t g) {
#pragma GCC unroll 8
    for (int j = 0; j < NC; ++j) {
      const int8x16_t wv = vld1q_s8(reinterpret_cast<const int8_t*>(w + (j / 4) * pbytes + g * 64 + (j % 4) * 16));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) acc[r * NC + j] = vdotq_laneq_s32(acc[r * NC + j], wv, av[r], Lane);
    }
  }

  // acc[r * NC + j] += the K loop over kgroups groups of 4 (the A rows zero-padded to 16 bytes).
  template <int MR, int NC>
  static inline __attribute__((always_inline)) void kloop(int32x4_t (&acc)[MR * NC], const int8_t* abuf,
                                                          size_t kgroups, const uint8_t* w, size_t pbytes) {
#pragma GCC unroll 32
    for (int i = 0; i < MR * NC; ++i) acc[i] = vdupq_n_s32(0);
    size_t g = 0;
    for (; g + 4 <= kgroups; g += 4) {
      int8x16_t av[MR];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s8(abuf + r * kKC + g * 4);
      step<MR, NC, 0>(acc, av, w, pbytes, g);
      step<MR, NC, 1>(acc, av, w, pbytes, g + 1);
      step<MR, NC, 2>(acc, av, w, pbytes, g + 2);
      step<MR, NC, 3>(acc, av, w, pbytes, g + 3);
    }
    if (g < kgroups) {  // 1..3 trailing groups; the A row is zero-padded to 16 bytes
      int8x16_t av[MR];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s8(abuf + r * kKC + g * 4);
      step<MR, NC, 0>(acc, av, w, pbytes, g);
      if (g + 1 < kgroups) step<MR, NC, 1>(acc, av, w, pbytes, g + 1);
      if (g + 2 < kgroups) step<MR, NC, 2>(acc, av, w, pbytes, g + 2);
    }
  }

  // noipa: inlined or const-propagated into the driver, GCC 12 spills the accumulators to the
  // stack on every K step (seen in the disassembly); as a real call it keeps them in registers.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const int8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes, int32_t* c,
                    size_t ldc, bool accumulate) {
    constexpr int NC = NRV * 4;  // int32x4 accumulators per row
    // One flat array: GCC keeps a 1-D array of vectors in registers, a 2-D one it spills.
    int32x4_t acc[MR * NC];
    kloop<MR, NC>(acc, abuf, kgroups, w, pbytes);
#pragma GCC unroll 32
    for (int i = 0; i < MR * NC; ++i) {  // flat: a nested loop here makes GCC spill acc
      const int r = i / NC, j = i % NC;
      {
        int32_t* dst = c + r * ldc + (j / 4) * 16 + (j % 4) * 4;
        int32x4_t x = acc[r * NC + j];
        if (accumulate) x = vaddq_s32(x, vld1q_s32(dst));
        vst1q_s32(dst, x);
      }
    }
  }

  // ---- Fused epilogue (Driver::block takes it when K fits one chunk and the tile is whole):
  // the Epilogue's float modes applied to the accumulators in registers and the output stored
  // once, instead of an int32 tile in memory and epilogue_row_impl's passes over it. The
  // float steps are epilogue_impl.h's, element-wise in the same order (-ffp-contract=off: no
  // fmla): v = (float)acc * scale (+ bias); GELU (gelu_arg_inline's clamps as compare +
  // select, which keep its NaN -> -4, then gelu_finish_inline's sequence with fdiv);
  // f32: v or o + v; i8: clamp127_inline(v * inv) as compare + select (NaN -> -127), then
  // truncation of c + copysign(0.5 - 2^-25, c). kernels_exact pins it to scalar.
  static constexpr bool kFusedEpilogue = true;
  static constexpr bool kFusedPanels = false;  // one call per tile (the neon file runs a row block's panels per call)

  // MR rows x NRV whole panels (16 NRV columns) at output row row0, column n0 (panel start),
  // the Epilogue ep (float modes only: out_f32 or out_i8).
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro_fused(const int8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes,
                                                 size_t row0, size_t n0, const Epilogue& ep) {
    constexpr int NC = NRV * 4;
    int32x4_t acc[MR * NC];
    kloop<MR, NC>(acc, abuf, kgroups, w, pbytes);
    // Column j of this tile's accumulators: acc[r * NC + j] holds columns (j / 4) * 16 +
    // (j % 4) * 4 + [0, 4) (the panel layout's 4 K-group columns per q register).
    float32x4_t v[MR * NC];
#pragma GCC unroll 32
    for (int j = 0; j < NC; ++j) {
      const size_t col = n0 + static_cast<size_t>((j / 4) * 16 + (j % 4) * 4);
      const float32x4_t sc = vld1q_f32(ep.scale + col);
      const float32x4_t bi = ep.bias != nullptr ? vld1q_f32(ep.bias + col) : vdupq_n_f32(0.0f);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        float32x4_t t = vmulq_f32(vcvtq_f32_s32(acc[r * NC + j]), sc);
        if (ep.bias != nullptr) t = vaddq_f32(t, bi);
        v[r * NC + j] = t;
      }
    }
    if (ep.act == Activation::kGelu) {
      static_assert((MR * NC) % 4 == 0, "GELU runs 4 vectors at a time");
#pragma GCC unroll 1
      for (int i = 0; i < MR * NC; i += 4) gelu_vecs<4>(v + i);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const size_t o = (row0 + static_cast<size_t>(r)) * ep.ldo + n0;
      if (ep.out_f32 != nullptr) {
#pragma GCC unroll 8
        for (int j = 0; j < NC; ++j) {
          float* dst = ep.out_f32 + o + (j / 4) * 16 + (j % 4) * 4;
          float32x4_t x = v[r * NC + j];
          if (ep.accumulate) x = vaddq_f32(vld1q_f32(dst), x);
          vst1q_f32(dst, x);
        }
      } else {
#pragma GCC unroll 2
        for (int p = 0; p < NRV; ++p) {  // 16 columns -> 16 bytes
          const int32x4_t q0 = requant_vec(v[r * NC + p * 4 + 0], ep.out_inv_scale);
          const int32x4_t q1 = requant_vec(v[r * NC + p * 4 + 1], ep.out_inv_scale);
          const int32x4_t q2 = requant_vec(v[r * NC + p * 4 + 2], ep.out_inv_scale);
          const int32x4_t q3 = requant_vec(v[r * NC + p * 4 + 3], ep.out_inv_scale);
          const int16x8_t lo = vcombine_s16(vmovn_s32(q0), vmovn_s32(q1));
          const int16x8_t hi = vcombine_s16(vmovn_s32(q2), vmovn_s32(q3));
          vst1q_s8(ep.out_i8 + o + p * 16, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
        }
      }
    }
  }
};

using D = Driver<NeonDot>;
// sdot has no int16 form: the int8 attention's int16 scores are plain NEON (smlal).
const KernelTable kTable = {Isa::kNeonDot, "neon_dot", D::packed_size, D::pack, D::gemm,
                            attention_u8u8_scratch__neon_dot, attention_u8u8__neon_dot,
                            nullptr, map_s8_neon, quantize_neon, layer_norm_quantize_neon,
                            quantize_attention_operands_neon, linear_f32_neon, nullptr, nullptr};

}  // namespace

const KernelTable* table_neon_dot() { return &kTable; }

}  // namespace vigil::kernels
