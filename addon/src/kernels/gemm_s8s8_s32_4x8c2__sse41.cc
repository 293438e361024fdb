// gemm_s8s8_s32_4x8c2__sse41: 4 rows x 2 xmm (8 columns), K in pairs; GEMV (M == 1) uses 1 x 8
// xmm (32 columns). For x86 CPUs without AVX2, which otherwise ran the scalar specification:
// the Atom / Celeron / Pentium Silver cores of many fanless gateways (Goldmont, Goldmont Plus,
// Tremont) and pre-Haswell Core / Xeon. SSE4.1 for pmovsxbw (A's sign extension) and the
// vectorized epilogue; the products are SSE2's pmaddwd.
// Layout: 4-column panels of int16 weights, 16 bytes per K pair (c2).
// Exact: A and W are sign-extended to int16 and multiplied with pmaddwd (each int32 lane gets
// a[k]w[k] + a[k+1]w[k+1], |.| <= 2*128*127, no saturation), then paddd. No pmaddubsw.
// gemm_driver.h's generic loop nest: the int32 tile through this file's epilogue_row_impl; the
// int8 attention is the engine's composition (scores, softmax and P V by this table's GEMM).
#include <smmintrin.h>

#include <cstring>

#include "kernels/gemm_driver.h"

#if !defined(__SSE4_1__)
#error "this file must be compiled with -msse4.1 (kernels.cmake)"
#endif

namespace vigil::kernels {
namespace {

struct Sse41 {
  using WElem = int16_t;
  using AElem = int16_t;
  static constexpr size_t kPanel = 4, kKGroup = 2, kMR = 4, kNRV = 2, kNRVGemv = 8;
  static constexpr size_t kKC = 512, kNC = 256, kHeaderBytesPerCol = 0;
  static constexpr bool kFusedEpilogue = false;

  static void pack_header(const int8_t*, size_t, size_t, uint8_t*, size_t) {}

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, int16_t* buf,
                     size_t stride) {
    prep_a_s16(a, lda, rows, kc, kcpad, buf, stride);
  }

  static void fix_row(int32_t*, size_t, size_t, const uint8_t*) {}

  // acc + x by paddd with the accumulator tied to the result: through the intrinsic GCC 12 kept
  // each loop-carried accumulator in two registers and copied it back every K group (objdump:
  // 8 movdqa and a spill per 8 pmaddwd; as in the avx512_vnni attention's dp_tied).
  static inline __attribute__((always_inline)) __m128i add_tied(__m128i acc, __m128i x) {
    asm("paddd %1, %0" : "+x"(acc) : "x"(x));  // no memory operand: SSE's needs 16-byte alignment
    return acc;
  }

  // acc[r][v] += A row r's pair (broadcast in av[r]) x panel v's group g.
  template <int MR, int NRV>
  static inline __attribute__((always_inline)) void step(__m128i* acc, const __m128i* av, const uint8_t* w,
                                                         size_t pbytes, size_t g) {
    __m128i wv[NRV];
#pragma GCC unroll 8
    for (int v = 0; v < NRV; ++v) {
      wv[v] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + static_cast<size_t>(v) * pbytes + g * 16));
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) acc[r * NRV + v] = add_tied(acc[r * NRV + v], _mm_madd_epi16(av[r], wv[v]));
    }
  }

  // c[r][4v + j] (+)= sum over the kgroups K pairs of A row r (abuf + r * kKC) times panel v's
  // column j: MR x NRV accumulators. Four K pairs of each row per 16-byte load, each broadcast
  // by pshufd (a movd + pshufd per pair and row before: SSE has no broadcast from memory).
  template <int MR, int NRV>
  __attribute__((noipa)) static void micro(const int16_t* abuf, size_t kgroups, const uint8_t* w, size_t pbytes,
                                           int32_t* c, size_t ldc, bool accumulate) {
    __m128i acc[MR * NRV];
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) acc[i] = _mm_setzero_si128();
    size_t g = 0;
    for (; g + 4 <= kgroups; g += 4) {
      __m128i a4[MR], av[MR];
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        a4[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(abuf + static_cast<size_t>(r) * kKC + 2 * g));
      }
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) av[r] = _mm_shuffle_epi32(a4[r], 0x00);
      step<MR, NRV>(acc, av, w, pbytes, g);
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) av[r] = _mm_shuffle_epi32(a4[r], 0x55);
      step<MR, NRV>(acc, av, w, pbytes, g + 1);
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) av[r] = _mm_shuffle_epi32(a4[r], 0xaa);
      step<MR, NRV>(acc, av, w, pbytes, g + 2);
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) av[r] = _mm_shuffle_epi32(a4[r], 0xff);
      step<MR, NRV>(acc, av, w, pbytes, g + 3);
    }
    for (; g < kgroups; ++g) {
      __m128i av[MR];
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        int32_t pair;
        std::memcpy(&pair, abuf + static_cast<size_t>(r) * kKC + 2 * g, sizeof pair);
        av[r] = _mm_set1_epi32(pair);
      }
      step<MR, NRV>(acc, av, w, pbytes, g);
    }
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {  // flat, as the neon file: a nested loop invites spills
      __m128i* dst = reinterpret_cast<__m128i*>(c + static_cast<size_t>(i / NRV) * ldc + (i % NRV) * 4);
      const __m128i x = accumulate ? _mm_add_epi32(_mm_loadu_si128(dst), acc[i]) : acc[i];
      _mm_storeu_si128(dst, x);
    }
  }
};

using D = Driver<Sse41>;

const KernelTable kTable = {Isa::kSse41, "sse41", D::packed_size, D::pack, D::gemm,
                            nullptr, nullptr, nullptr, map_s8_scalar, nullptr, nullptr, nullptr, nullptr,
                            nullptr, nullptr};

}  // namespace

const KernelTable* table_sse41() { return &kTable; }

}  // namespace vigil::kernels
