// gemm_s8s8_s32_4x16c2__avx2: 4 rows x 2 ymm (16 columns), K in pairs; GEMV (M == 1) uses
// 1 x 8 ymm (64 columns). (4x24 needs 17+ ymm with the vpmaddwd temporaries: it spilled and ran
// 1.4x slower.) Layout: 8-column panels of int16 weights, 32 bytes per K pair (c2).
// Exact: A and W are sign-extended to int16 and multiplied with vpmaddwd (each int32 lane gets
// a[k]w[k] + a[k+1]w[k+1], |.| <= 2*128*127, no saturation), then vpaddd. No vpmaddubsw.
// Uses gemm_driver.h's packing only: the GEMM below is its own loop nest (A prepared once per
// row block for all of K up to kAChunk), the epilogue applied to the accumulators in
// registers and the output stored once (the avx512_vnni file's design).
#include <immintrin.h>

#include "kernels/gemm_ymm_fused.h"
#include "kernels/map_s8_avx2.h"

#if !defined(__AVX2__)
#error "this file must be compiled with -mavx2 (kernels.cmake)"
#endif

namespace vigil::kernels {

// attention_s16__avx2.cc: the fused int8 attention of this table.
size_t attention_s16_scratch__avx2(size_t n, size_t dh);
void attention_s16__avx2(const AttentionHead& head);

namespace {

struct Avx2 {
  using WElem = int16_t;
  using AElem = int16_t;
  static constexpr size_t kPanel = 8, kKGroup = 2, kMR = 4, kNRV = 2, kNRVGemv = 8;
  static constexpr size_t kHeaderBytesPerCol = 0;
  static constexpr bool kColumnCorrection = false;

  // One K group of 2: int16 pairs, a[k] w[k] + a[k+1] w[k+1] per int32 lane (exact).
  static __m256i dot(__m256i acc, __m256i a, __m256i w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, w)); }

  static void pack_header(const int8_t*, size_t, size_t, uint8_t*, size_t) {}

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, int16_t* buf,
                     size_t stride) {
    prep_a_s16(a, lda, rows, kc, kcpad, buf, stride);
  }
};

using D = Driver<Avx2>;

const KernelTable kTable = {Isa::kAvx2, "avx2", D::packed_size, D::pack, gemm_fused<Avx2>,
                            attention_s16_scratch__avx2, attention_s16__avx2,
                            nullptr, map_s8_avx2, nullptr, nullptr, nullptr, nullptr,
                            nullptr, nullptr};

}  // namespace

const KernelTable* table_avx2() { return &kTable; }

}  // namespace vigil::kernels
