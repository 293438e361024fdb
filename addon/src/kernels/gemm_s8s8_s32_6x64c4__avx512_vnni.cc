// gemm_s8s8_s32_6x64c4__avx512_vnni: vpdpbusd (u8 x s8 -> s32), 6 rows x 4 zmm (64 columns),
// K in groups of 4; GEMV (M == 1) uses 1 x 8 zmm (128 columns, 8 independent chains).
// Layout: [int32 128*colsum(W)[Np]] then 16-column panels, 64 bytes per K group (c4).
// Exact: A is fed as u8 = A + 128 (xor 0x80), so acc = A.W + 128*sum_k W[n,k]; the second
// term is computed once at pack time and subtracted before the epilogue. vpdpbusd does not
// saturate, and |acc| stays far below 2^31 for any K the engine uses.
#include <immintrin.h>

#include "kernels/gemm_driver.h"

#if !defined(__AVX512F__) || !defined(__AVX512VNNI__) || !defined(__AVX512BW__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni (kernels.cmake)"
#endif

namespace vigil::kernels {
namespace {

struct Avx512Vnni {
  using WElem = int8_t;
  using AElem = uint8_t;
  static constexpr size_t kPanel = 16, kKGroup = 4, kMR = 6, kNRV = 4, kNRVGemv = 8;
  static constexpr size_t kKC = 512, kNC = 256, kHeaderBytesPerCol = 4;

  static void pack_header(const int8_t* w, size_t n, size_t k, uint8_t* base, size_t np) {
    for (size_t c = 0; c < np; ++c) {
      int32_t s = 0;
      if (c < n) {
        for (size_t j = 0; j < k; ++j) s += w[c * k + j];
      }
      const int32_t v = s * 128;
      std::memcpy(base + c * 4, &v, 4);
    }
  }

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, uint8_t* buf,
                     size_t stride) {
    for (size_t r = 0; r < rows; ++r) {
      const int8_t* src = a + r * lda;
      uint8_t* dst = buf + r * stride;
      for (size_t j = 0; j < kc; ++j) dst[j] = static_cast<uint8_t>(src[j]) ^ 0x80u;
      for (size_t j = kc; j < kcpad; ++j) dst[j] = 0;
    }
  }

  static void fix_row(int32_t* row, size_t n0, size_t cols, const uint8_t* packed) {
    const uint8_t* h = packed + n0 * 4;
    size_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const __m512i v = _mm512_loadu_si512(row + j);
      const __m512i s = _mm512_loadu_si512(h + j * 4);
      _mm512_storeu_si512(row + j, _mm512_sub_epi32(v, s));
    }
    for (; j < cols; ++j) {
      int32_t s;
      std::memcpy(&s, h + j * 4, 4);
      row[j] -= s;
    }
  }

  // noipa: inlined or const-propagated into the driver, GCC 12 spills the accumulators to the
  // stack on every K step (seen in the disassembly); as a real call it keeps them in registers.
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const uint8_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes, int32_t* c,
                    size_t ldc, bool accumulate) {
    // One flat array: GCC keeps a 1-D array of vectors in registers, a 2-D one it spills.
    __m512i acc[MR * NRV];
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) acc[i] = _mm512_setzero_si512();
    for (size_t g = 0; g < kgroups; ++g) {
      __m512i wv[NRV];
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) wv[v] = _mm512_loadu_si512(w + v * pbytes + g * 64);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        int32_t a4;
        std::memcpy(&a4, abuf + r * kKC + g * 4, 4);
        const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 8
        for (int v = 0; v < NRV; ++v) acc[r * NRV + v] = _mm512_dpbusd_epi32(acc[r * NRV + v], av, wv[v]);
      }
    }
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {  // flat: a nested loop here makes GCC spill acc
      const int r = i / NRV, v = i % NRV;
      {
        int32_t* dst = c + r * ldc + v * 16;
        __m512i x = acc[r * NRV + v];
        if (accumulate) x = _mm512_add_epi32(x, _mm512_loadu_si512(dst));
        _mm512_storeu_si512(dst, x);
      }
    }
  }
};

using D = Driver<Avx512Vnni>;
const KernelTable kTable = {Isa::kAvx512Vnni, "avx512_vnni", D::packed_size, D::pack, D::gemm};

}  // namespace

const KernelTable* table_avx512_vnni() { return &kTable; }

}  // namespace vigil::kernels
