// The int8 attention's int16 scores for the 256-bit x86 kernel files (avx2, avx_vnni): their
// KernelTable::attention_scores. Included only by those files (anonymous namespace, compiled
// with each file's flags).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/attention_int8_spec.h"

namespace vigil::kernels {
namespace {

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

}  // namespace
}  // namespace vigil::kernels
