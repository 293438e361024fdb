// gemm_s8s8_s32_4x16c4__avx_vnni: 256-bit VNNI (vpdpbusd ymm: 32 u8 x s8 MACs per instruction,
// twice avx2's vpmaddwd) for the CPUs that have it without AVX-512: Alder Lake-N (N100, N305),
// Core 12th gen and later, Zen 5 client parts. 4 rows x 2 ymm (16 columns), K in groups of 4;
// GEMV (M == 1) 1 x 8 ymm. The loop nest and the epilogue in registers are gemm_ymm_fused.h's
// (shared with avx2); this file is the K loop and the packing.
// Exact (docs/kernels.md "u8 x s8"): vpdpbusd multiplies unsigned by signed bytes, so A is fed
// as a + 128 (a ^ 0x80) and each column's accumulators start at -128 sum_k w[k] (the packed
// header, int32 per column): sum_k (a[k] + 128) w[k] - 128 sum_k w[k] = sum_k a[k] w[k].
// No saturation: |products| <= 255 * 127 and 4 of them fit int32 with the sum.
//
// Built twice from this source (kernels.cmake): VEX-encoded with -mavxvnni (table
// avx_vnni_vex: the AVX-VNNI CPUs above) and, with VIGIL_AVX_VNNI_EVEX defined
// (gemm_s8s8_s32_4x16c4__avx_vnni_evex.cc), EVEX-encoded with -mavx512vnni -mavx512vl (table
// avx_vnni_evex: the same instructions' AVX-512 forms, which CPUs with AVX-512 VNNI run, so
// this kernel is tested and benchmarked on those machines; dispatch.cc serves either as
// "avx_vnni"). The two encodings of vpdpbusd ymm compute the same thing.
#include <immintrin.h>

#include "kernels/avx_vnni_encoding.h"
#include "kernels/gemm_ymm_fused.h"
#include "kernels/map_s8_avx2.h"

#if defined(VIGIL_AVX_VNNI_EVEX)
#define VIGIL_AVX_VNNI_TABLE table_avx_vnni_evex
#define VIGIL_ATTENTION_FN attention_u8s8__avx_vnni_evex
#define VIGIL_ATTENTION_SCRATCH_FN attention_u8s8_scratch__avx_vnni_evex
#else
#define VIGIL_AVX_VNNI_TABLE table_avx_vnni_vex
#define VIGIL_ATTENTION_FN attention_u8s8__avx_vnni
#define VIGIL_ATTENTION_SCRATCH_FN attention_u8s8_scratch__avx_vnni
#endif

namespace vigil::kernels {

// attention_u8s8__avx_vnni.cc (built in the same encoding): the fused int8 attention of this
// table.
size_t VIGIL_ATTENTION_SCRATCH_FN(size_t n, size_t dh);
void VIGIL_ATTENTION_FN(const AttentionHead& head);

namespace {

struct AvxVnni {
  using WElem = int8_t;
  using AElem = uint8_t;
  static constexpr size_t kPanel = 8, kKGroup = 4, kMR = 6, kNRV = 2, kNRVGemv = 8;
  static constexpr size_t kHeaderBytesPerCol = 4;
  static constexpr bool kColumnCorrection = true;

  // Header: per column (N rounded up to the panel), -128 sum_k w[c][k] as int32.
  static void pack_header(const int8_t* w, size_t n, size_t k, uint8_t* base, size_t np) {
    pack_column_sums(w, n, k, base, np, -128);
  }

  // a + 128 as u8 (a ^ 0x80); the padding to whole K groups is a = 0 (0x80) against zero
  // weights.
  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, uint8_t* buf,
                     size_t stride) {
    for (size_t r = 0; r < rows; ++r) {
      const int8_t* src = a + r * lda;
      uint8_t* dst = buf + r * stride;
      for (size_t j = 0; j < kc; ++j) dst[j] = static_cast<uint8_t>(src[j]) ^ 0x80u;
      for (size_t j = kc; j < kcpad; ++j) dst[j] = 0x80u;
    }
  }

  // One K group of 4: sum of 4 u8 x s8 products added to each int32 lane.
  static __m256i dot(__m256i acc, __m256i a, __m256i w) { return VIGIL_DPBUSD_YMM(acc, a, w); }
};

using D = Driver<AvxVnni>;

const KernelTable kTable = {Isa::kAvxVnni, "avx_vnni", D::packed_size, D::pack, gemm_fused<AvxVnni>,
                            VIGIL_ATTENTION_SCRATCH_FN, VIGIL_ATTENTION_FN, nullptr,
                            map_s8_avx2, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace

const KernelTable* VIGIL_AVX_VNNI_TABLE() { return &kTable; }

}  // namespace vigil::kernels
