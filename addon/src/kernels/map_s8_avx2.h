// KernelTable::map_s8 for the 256-bit x86 kernel files (avx2, avx_vnni): x[i] = table[x[i] +
// 128] for 32 bytes at a time by vpshufb, which looks up 16 entries per 128-bit lane: the
// index's low nibble selects within each of the table's 16 rows of 16 entries, and the row
// (the high nibble) is chosen by a byte compare and blend (3 instructions per row; the
// avx512_vnni file's vpermi2b and NEON's tbl look up 64 entries per instruction). The last
// n % 32 bytes through map_s8_scalar. Included only by those files (anonymous namespace,
// compiled with each file's flags).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernels.h"

namespace vigil::kernels {
namespace {

void map_s8_avx2(int8_t* x, size_t n, const int8_t* table) {
  if (n < 32) {
    map_s8_scalar(x, n, table);
    return;
  }
  // Row h of the table (entries 16 h .. 16 h + 15) in both 128-bit lanes.
  __m256i rows[16];
  for (int h = 0; h < 16; ++h) {
    rows[h] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * h)));
  }
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), low = _mm256_set1_epi8(0x0f);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i idx = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), flip);
    const __m256i lo = _mm256_and_si256(idx, low);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(idx, 4), low);
    __m256i r = _mm256_shuffle_epi8(rows[0], lo);
#pragma GCC unroll 15
    for (int h = 1; h < 16; ++h) {
      const __m256i hit = _mm256_cmpeq_epi8(hi, _mm256_set1_epi8(static_cast<char>(h)));
      r = _mm256_blendv_epi8(r, _mm256_shuffle_epi8(rows[h], lo), hit);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x + i), r);
  }
  map_s8_scalar(x + i, n - i, table);
}

}  // namespace
}  // namespace vigil::kernels
