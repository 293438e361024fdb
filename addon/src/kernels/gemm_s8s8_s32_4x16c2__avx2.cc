// gemm_s8s8_s32_4x16c2__avx2: 4 rows x 2 ymm (16 columns), K in pairs; GEMV (M == 1) uses
// 1 x 8 ymm (64 columns). (4x24 needs 17+ ymm with the vpmaddwd temporaries: it spilled and ran
// 1.4x slower.) Layout: 8-column panels of int16 weights, 32 bytes per K pair (c2).
// Exact: A and W are sign-extended to int16 and multiplied with vpmaddwd (each int32 lane gets
// a[k]w[k] + a[k+1]w[k+1], |.| <= 2*128*127, no saturation), then vpaddd. No vpmaddubsw.
// Uses gemm_driver.h's packing only: the GEMM below is its own loop nest (A prepared once per
// row block for all of K up to kAChunk), the epilogue applied to the accumulators in
// registers and the output stored once (the avx512_vnni file's design).
#include <immintrin.h>

#include "kernels/attention_int8_spec.h"
#include "kernels/gemm_ymm_fused.h"

#if !defined(__AVX2__)
#error "this file must be compiled with -mavx2 (kernels.cmake)"
#endif

namespace vigil::kernels {
namespace {

struct Avx2 {
  using WElem = int16_t;
  using AElem = int16_t;
  static constexpr size_t kPanel = 8, kKGroup = 2, kMR = 4, kNRV = 2, kNRVGemv = 8;
  static constexpr size_t kNC = kYmmNC, kHeaderBytesPerCol = 0;
  static constexpr bool kColumnCorrection = false;

  // One K group of 2: int16 pairs, a[k] w[k] + a[k+1] w[k+1] per int32 lane (exact).
  static __m256i dot(__m256i acc, __m256i a, __m256i w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, w)); }

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
};

using D = Driver<Avx2>;

// The int8 attention's int16 scores (KernelTable::attention_scores): 8 keys at a time, each
// key's dot product over dh in 16-lane vpmaddwd chunks (exact int16 x int16 -> int32 pairs),
// the 8 partial vectors reduced together by a vphaddd tree; dh % 16 and n % 8 in scalar code.
void attention_scores_s16(const int16_t* q, size_t rows, const int16_t* k, size_t n, size_t dh, int32_t* s) {
  const size_t d16 = dh / 16 * 16;
  for (size_t r = 0; r < rows; ++r) {
    const int16_t* qr = q + r * dh;
    int32_t* sr = s + r * n;
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
      __m256i acc[8];
#pragma GCC unroll 8
      for (int e = 0; e < 8; ++e) acc[e] = _mm256_setzero_si256();
      for (size_t t = 0; t < d16; t += 16) {
        const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qr + t));
#pragma GCC unroll 8
        for (int e = 0; e < 8; ++e) {
          const __m256i kv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + (j + e) * dh + t));
          acc[e] = _mm256_add_epi32(acc[e], _mm256_madd_epi16(qv, kv));
        }
      }
      const __m256i h01 = _mm256_hadd_epi32(acc[0], acc[1]), h23 = _mm256_hadd_epi32(acc[2], acc[3]);
      const __m256i h45 = _mm256_hadd_epi32(acc[4], acc[5]), h67 = _mm256_hadd_epi32(acc[6], acc[7]);
      const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
      __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                                     _mm256_permute2x128_si256(h0123, h4567, 0x31));
      if (d16 < dh) {
        alignas(32) int32_t tail[8];
        for (int e = 0; e < 8; ++e) tail[e] = dot_s16(qr + d16, k + (j + e) * dh + d16, dh - d16);
        sum = _mm256_add_epi32(sum, _mm256_load_si256(reinterpret_cast<const __m256i*>(tail)));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(sr + j), sum);
    }
    for (; j < n; ++j) sr[j] = dot_s16(qr, k + j * dh, dh);
  }
}

const KernelTable kTable = {Isa::kAvx2, "avx2", D::packed_size, D::pack, gemm_fused<Avx2>, nullptr, nullptr,
                            attention_scores_s16, nullptr, map_s8_scalar, nullptr, nullptr, nullptr, nullptr};

}  // namespace

const KernelTable* table_avx2() { return &kTable; }

}  // namespace vigil::kernels
