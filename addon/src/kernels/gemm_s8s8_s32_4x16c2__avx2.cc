// gemm_s8s8_s32_4x16c2__avx2: 4 rows x 2 ymm (16 columns), K in pairs; GEMV (M == 1) uses
// 1 x 8 ymm (64 columns). (4x24 needs 17+ ymm with the vpmaddwd temporaries: it spilled and ran
// 1.4x slower.) Layout: 8-column panels of int16 weights, 32 bytes per K pair (c2).
// Exact: A and W are sign-extended to int16 and multiplied with vpmaddwd (each int32 lane gets
// a[k]w[k] + a[k+1]w[k+1], |.| <= 2*128*127, no saturation), then vpaddd. No vpmaddubsw.
#include <immintrin.h>

#include "kernels/gemm_driver.h"

#if !defined(__AVX2__)
#error "this file must be compiled with -mavx2 (kernels.cmake)"
#endif

namespace vigil::kernels {
namespace {

struct Avx2 {
  using WElem = int16_t;
  using AElem = int16_t;
  static constexpr size_t kPanel = 8, kKGroup = 2, kMR = 4, kNRV = 2, kNRVGemv = 8;
  static constexpr size_t kKC = 512, kNC = 192, kHeaderBytesPerCol = 0;

  static void pack_header(const int8_t*, size_t, size_t, uint8_t*, size_t) {}

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, int16_t* buf,
                     size_t stride) {
    for (size_t r = 0; r < rows; ++r) {
      const int8_t* src = a + r * lda;
      int16_t* dst = buf + r * stride;
      for (size_t j = 0; j < kc; ++j) dst[j] = src[j];
      for (size_t j = kc; j < kcpad; ++j) dst[j] = 0;
    }
  }

  static void fix_row(int32_t*, size_t, size_t, const uint8_t*) {}

  // noipa: inlined or const-propagated into the driver, GCC 12 spills the accumulators to the
  // stack on every K step (seen in the disassembly); as a real call it keeps them in registers.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const int16_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes, int32_t* c,
                    size_t ldc, bool accumulate) {
    // One flat array: GCC keeps a 1-D array of vectors in registers, a 2-D one it spills.
    __m256i acc[MR * NRV];
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) acc[i] = _mm256_setzero_si256();
    for (size_t g = 0; g < kgroups; ++g) {
      __m256i wv[NRV];
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) {
        wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + v * pbytes + g * 32));
      }
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        int32_t a2;
        std::memcpy(&a2, abuf + r * kKC + g * 2, 4);
        const __m256i av = _mm256_set1_epi32(a2);
#pragma GCC unroll 8
        for (int v = 0; v < NRV; ++v) acc[r * NRV + v] = _mm256_add_epi32(acc[r * NRV + v], _mm256_madd_epi16(av, wv[v]));
      }
    }
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {  // flat: a nested loop here makes GCC spill acc
      const int r = i / NRV, v = i % NRV;
      {
        __m256i* dst = reinterpret_cast<__m256i*>(c + r * ldc + v * 8);
        __m256i x = acc[r * NRV + v];
        if (accumulate) x = _mm256_add_epi32(x, _mm256_loadu_si256(dst));
        _mm256_storeu_si256(dst, x);
      }
    }
  }
};

using D = Driver<Avx2>;
const KernelTable kTable = {Isa::kAvx2, "avx2", D::packed_size, D::pack, D::gemm};

}  // namespace

const KernelTable* table_avx2() { return &kTable; }

}  // namespace vigil::kernels
