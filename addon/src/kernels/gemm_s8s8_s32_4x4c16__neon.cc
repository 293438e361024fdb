// gemm_s8s8_s32_4x4c16__neon: smull/smlal pairs into int16, sadalp into int32; 4 rows x 4
// columns on aarch64 (16 accumulators), 2 x 4 on armv7 (16 q registers); GEMV 1 x 8.
// Layout: 4-column panels, 64 bytes per group of 16 K (c16), columns contiguous per group.
// Exact: weights are in [-127, 127], so each int16 lane holds a[k]w[k] + a[k+8]w[k+8] with
// |.| <= 2*128*127 = 32512 < 32767; sadalp widens to int32 before anything can overflow.
// Builds for armv8-a (baseline) and armv7-a with -mfpu=neon-vfpv4 (intrinsics common to both).
#include <arm_neon.h>

#include "kernels/attention_scores_neon.h"
#include "kernels/gemm_driver.h"

namespace vigil::kernels {
namespace {

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
  static constexpr bool kFusedEpilogue = false;  // the driver's int32 tile + epilogue_row_impl

  static void pack_header(const int8_t*, size_t, size_t, uint8_t*, size_t) {}

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, int8_t* buf,
                     size_t stride) {
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(buf + r * stride, a + r * lda, kc);
      for (size_t j = kc; j < kcpad; ++j) buf[r * stride + j] = 0;
    }
  }

  static void fix_row(int32_t*, size_t, size_t, const uint8_t*) {}

  // noipa: inlined or const-propagated into the driver, GCC 12 spills the accumulators to the
  // stack on every K step (seen in the disassembly); as a real call it keeps them in registers.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const int8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes, int32_t* c,
                    size_t ldc, bool accumulate) {
    constexpr int NC = NRV * 4;
    // One flat array: GCC keeps a 1-D array of vectors in registers, a 2-D one it spills.
    int32x4_t acc[MR * NC];
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
};

using D = Driver<Neon>;
const KernelTable kTable = {Isa::kNeon, "neon", D::packed_size, D::pack, D::gemm, nullptr, nullptr,
                            attention_scores_s16_neon};

}  // namespace

const KernelTable* table_neon() { return &kTable; }

}  // namespace vigil::kernels
