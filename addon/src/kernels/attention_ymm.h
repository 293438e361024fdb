// The fused int8 attention of the 256-bit x86 tables (KernelTable::attention of avx_vnni and
// avx2): one head of the engine's int8 attention (engine/attention_int8.h) in registers, the
// design of attention_u8s8__avx512_vnni.cc (see there) on ymm registers and the AVX2 (+ AVX-VNNI)
// instruction set: scores Q16 K16^T, the u8 softmax of ops::softmax_row_u8 (the specification;
// constants in attention_int8_spec.h), P V8 with the u8 probabilities, and the output scaling, 4
// query rows at a time, 8 keys or output columns per vector (16 ymm registers: 8 accumulators
// per pass). With VNNI (VIGIL_YMM_VNNI): scores by vpdpwssd, or for int8-valued Q and K by
// vpdpbusd with Q fed as q + 128 and the accumulators started at -128 sum_t k; P V by vpdpbusd
// on u8 quads. Without (avx2): scores by vpmaddwd + vpaddd on int16 pairs at either precision,
// P V by vpmaddwd + vpaddd on pairs of u (stored as int16) and V (widened to int16).
//
// Exactness (the bits of the engine's composed path on every table; engine_ops_test):
// - integer sums of exact products, any order (u v pairs: |.| <= 2 * 255 * 127; score pairs
//   <= 2 * 2047^2);
// - float steps per element in softmax_row_u8's order: the clamp at kMinY by vmaxps (the
//   spec's select, NaN included), n rounded to nearest-even by vroundps (the value of (t + 1.5
//   2^23) - 1.5 2^23 on [-29, 0]), 2^n by the exponent bits as the spec's pow2, then p * 2^n,
//   + 0.5 and truncation.
//
// Included by one .cc file per build (each with its own flags, kernels.cmake), which defines
// VIGIL_ATTENTION_FN / VIGIL_ATTENTION_SCRATCH_FN (the entry points, named for the build) and,
// for VNNI, VIGIL_YMM_VNNI with VIGIL_DPBUSD_YMM / VIGIL_DPWSSD_YMM (VEX or EVEX forms):
// attention_u8s8__avx_vnni.cc, attention_u8s8__avx_vnni_evex.cc, attention_s16__avx2.cc.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "kernels/attention_int8_spec.h"
#include "kernels/kernels.h"

#if !defined(__AVX2__) || !defined(VIGIL_ATTENTION_FN) || !defined(VIGIL_ATTENTION_SCRATCH_FN)
#error "attention_ymm.h: include it from one of its .cc files (needs -mavx2 and the entry point names)"
#endif

namespace vigil::kernels {
namespace {

#if defined(VIGIL_YMM_VNNI)
constexpr bool kVnni = true;
#else
constexpr bool kVnni = false;
#endif

constexpr size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// acc + a[0] b[0] + a[1] b[1] per int32 lane of int16 pairs (vpdpwssd, or vpmaddwd + vpaddd).
inline __m256i dot_pairs(__m256i acc, __m256i a, __m256i b) {
#if defined(VIGIL_YMM_VNNI)
  return VIGIL_DPWSSD_YMM(acc, a, b);
#else
  // The vpaddd through an asm with the accumulator tied to its result: through the intrinsic
  // GCC 12 added into the vpmaddwd's register and copied the sum back to the accumulator's
  // (a vmovdqa per product in the score and P V loops; objdump).
  const __m256i t = _mm256_madd_epi16(a, b);
  asm("vpaddd %1, %0, %0" : "+x"(acc) : "x"(t));
  return acc;
#endif
}

// acc + the 4 u8 x s8 products of a and b per int32 lane (vpdpbusd). VNNI builds only: without
// VNNI, quad_scores() is false and P V runs on pairs, so nothing calls it.
inline __m256i dot_quads(__m256i acc, __m256i a, __m256i b) {
#if defined(VIGIL_YMM_VNNI)
  return VIGIL_DPBUSD_YMM(acc, a, b);
#else
  (void)acc;
  (void)a;
  (void)b;
  __builtin_unreachable();
#endif
}

// The register tile of the scores and of P V: acc[r][b] += A row r's 4 bytes of each group g
// (a_rows + r * a_stride + 4 g, broadcast) times the B vectors of that group (w + g * w_group
// + 32 b): int16 pairs (kPairs) or u8 x s8 quads.
template <bool kPairs, int R, int NB>
__attribute__((always_inline)) inline void mac_tile(__m256i (&acc)[R][NB], const uint8_t* a_rows, size_t a_stride,
                                                    const uint8_t* w, size_t w_group, size_t groups) {
  for (size_t g = 0; g < groups; ++g) {
    __m256i bv[NB];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) bv[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + g * w_group + 32 * b));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256i a = _mm256_set1_epi32(load_i32(a_rows + r * a_stride + g * 4));
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) acc[r][b] = kPairs ? dot_pairs(acc[r][b], a, bv[b]) : dot_quads(acc[r][b], a, bv[b]);
    }
  }
}

constexpr int kRows = 4;       // query rows per block
constexpr int kKeyBlocks = 2;  // 8-key blocks per score pass: kRows x 2 accumulators
constexpr int kTBlocks = 2;    // 8-column output blocks per P V pass: kRows x 2 accumulators

// Scratch of one head, attention_u8s8__avx512_vnni.cc's layouts with 8-lane blocks: np: n
// rounded up to 8; dp: int16 pairs in dh; dg: K groups of 4 bytes in dh; dhp: dh rounded up to
// 8; n4: key groups of 4. int16 Q and K: kp[g][j] = k16[j][2g], k16[j][2g + 1]. int8 Q and K
// (qk_levels <= 127): kp[g][j] = bytes k[j][4g..4g+3] of k8 (rows narrowed to bytes, padded to
// dg * 4), Q as qu = q ^ 0x80, each score accumulator started at corr[j] = -128 sum_t k[j][t].
// VNNI: vp[g][t] = bytes v8[4g..4g+3][t], ub the u8 probabilities. Without: vp[g][t] = int16
// v8[2g][t], v8[2g + 1][t] (g < n2, from the widened copy v16), ub as int16. 0 past n and dh
// everywhere.
struct Layout {
  size_t np, dp, dg, dhp, n4, n2;
  size_t kp, qp, kpad, k8, qu, corr, vp, vpad, v16, ub, y, total;
};

Layout layout(size_t n, size_t dh) {
  Layout l{};
  l.np = round_up(n, 8);
  l.dp = round_up(dh, 2) / 2;
  l.dg = round_up(dh, 4) / 4;
  l.dhp = round_up(dh, 8);
  l.n4 = round_up(n, 4) / 4;
  l.n2 = round_up(n, 2) / 2;
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t o = off;
    off += round_up(bytes, 64);
    return o;
  };
  const bool odd = dh % 2 != 0;
  l.kp = take((l.dp > l.dg ? l.dp : l.dg) * l.np * 4);
  l.qp = take(odd ? n * l.dp * 4 : 0);    // odd dh: Q rows padded to dp pairs
  l.kpad = take(odd ? n * l.dp * 4 : 0);  // odd dh: K rows padded likewise
  l.k8 = take(kVnni ? n * l.dg * 4 : 0);
  l.qu = take(kVnni ? n * l.dg * 4 : 0);
  l.corr = take(kVnni ? l.np * 4 : 0);
  l.vp = take((kVnni ? l.n4 : l.n2) * l.dhp * 4);
  l.vpad = take(kVnni && n % 4 != 0 ? dh * l.n4 * 4 : 0);  // V^T rows padded to n4 groups
  l.v16 = take(kVnni ? 0 : dh * l.n2 * 4);                 // V^T rows widened to int16, n2 pairs
  l.ub = take(kRows * l.np * (kVnni ? 1 : 2));             // probabilities of one row block (0 past n)
  l.y = take(kRows * l.np * 4);                    // y of one row block
  l.total = off;
  return l;
}

// All-ones in the lanes of the 8-lane block starting at j0 that are below n.
__m256i lane_mask(size_t j0, size_t n) {
  const int left = j0 >= n ? 0 : (n - j0 >= 8 ? 8 : static_cast<int>(n - j0));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// dst[g][i] (row stride ld dwords) = dword g of row i of src (rows of `groups` dwords) for
// i < rows, 0 for rows <= i < count (count a multiple of 8): 8 x 8 dword blocks transposed in
// registers (unpack 32, unpack 64, 128-bit lane swap).
void transpose_dwords(const void* src, size_t rows, size_t groups, size_t count, uint8_t* dst, size_t ld) {
  const uint8_t* s8 = static_cast<const uint8_t*>(src);
  for (size_t i0 = 0; i0 < count; i0 += 8) {
    for (size_t g0 = 0; g0 < groups; g0 += 8) {
      const size_t gn = groups - g0 < 8 ? groups - g0 : 8;
      const __m256i gm = lane_mask(0, gn);
      __m256i r[8];
#pragma GCC unroll 8
      for (size_t i = 0; i < 8; ++i) {
        r[i] = i0 + i < rows
                   ? _mm256_maskload_epi32(reinterpret_cast<const int*>(s8 + ((i0 + i) * groups + g0) * 4), gm)
                   : _mm256_setzero_si256();
      }
      __m256i t[8], u[8], out[8];
#pragma GCC unroll 4
      for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
      }
#pragma GCC unroll 2
      for (int i = 0; i < 8; i += 4) {  // u[i + k]: column k (lane 0) and 4 + k (lane 1) of rows i .. i + 3
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
      }
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        out[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
        out[4 + k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
      }
#pragma GCC unroll 8
      for (size_t g = 0; g < 8; ++g) {
        if (g < gn) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + ((g0 + g) * ld + i0) * 4), out[g]);
      }
    }
  }
}

// Q's rows as int16 pairs: the operand itself for even dh, else a copy padded with a 0.
const int16_t* q_pairs(const AttentionHead& h, const Layout& l, uint8_t* s) {
  if (h.dh % 2 == 0) return h.q16;
  return reinterpret_cast<const int16_t*>(pad_rows(h.q16, h.n, h.dh * 2, l.dp * 4, s + l.qp));
}

// int8 Q and K: the int16 rows (values in [-127, 127]) narrowed to bytes and padded to dg * 4
// (Q xor 0x80, padded with 0x80 = q 0), K transposed by dwords, corr by vpdpbusd against ones.
void prepare_k8(const AttentionHead& h, const Layout& l, uint8_t* s) {
  const size_t n = h.n, dh = h.dh, w = l.dg * 4;
  auto narrow = [&](const int16_t* src, uint8_t* dst, uint8_t flip) {
    const __m256i fv = _mm256_set1_epi8(static_cast<char>(flip));
    for (size_t r = 0; r < n; ++r) {
      const int16_t* a = src + r * dh;
      uint8_t* b = dst + r * w;
      size_t t = 0;
      for (; t + 16 <= dh; t += 16) {  // 16 int16 -> 16 bytes (packs, then the two lanes' low halves)
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + t));
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi16(x, x), 0x08);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(b + t),
                         _mm_xor_si128(_mm256_castsi256_si128(p), _mm256_castsi256_si128(fv)));
      }
      for (; t < dh; ++t) b[t] = static_cast<uint8_t>(static_cast<int8_t>(a[t])) ^ flip;
      for (; t < w; ++t) b[t] = flip;
    }
  };
  narrow(h.k16, s + l.k8, 0);
  narrow(h.q16, s + l.qu, 0x80);
  transpose_dwords(s + l.k8, n, l.dg, l.np, s + l.kp, l.np);
  int32_t* corr = reinterpret_cast<int32_t*>(s + l.corr);
  for (size_t j0 = 0; j0 < l.np; j0 += 8) {
    __m256i sum = _mm256_setzero_si256();
    for (size_t g = 0; g < l.dg; ++g) {
      sum = dot_quads(sum, _mm256_set1_epi8(1),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + l.kp + (g * l.np + j0) * 4)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(corr + j0), _mm256_mullo_epi32(sum, _mm256_set1_epi32(-128)));
  }
}

// The scores run on int8 quads (VNNI, int8-valued Q and K) rather than int16 pairs.
bool quad_scores(const AttentionHead& h) { return kVnni && h.qk_levels <= 127; }

// K (in the scores' form) and V^T in the dword layouts above; odd dh (int16 K) and n % 4 != 0
// (V, VNNI) go through padded copies first, V^T widened to int16 pairs without VNNI.
void prepare(const AttentionHead& h, const Layout& l, uint8_t* s) {
  const size_t n = h.n, dh = h.dh;
  if (quad_scores(h)) {
    prepare_k8(h, l, s);
  } else {
    const void* k = dh % 2 == 0 ? static_cast<const void*>(h.k16) : pad_rows(h.k16, n, dh * 2, l.dp * 4, s + l.kpad);
    transpose_dwords(k, n, l.dp, l.np, s + l.kp, l.np);
  }
  if constexpr (kVnni) {
    const void* v = n % 4 == 0 ? static_cast<const void*>(h.v8t) : pad_rows(h.v8t, dh, n, l.n4 * 4, s + l.vpad);
    transpose_dwords(v, dh, l.n4, l.dhp, s + l.vp, l.dhp);
  } else {
    int16_t* w = reinterpret_cast<int16_t*>(s + l.v16);
    const size_t wn = l.n2 * 2;
    for (size_t t = 0; t < dh; ++t) {
      const int8_t* src = h.v8t + t * n;
      int16_t* dst = w + t * wn;
      size_t j = 0;
      for (; j + 16 <= n; j += 16) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j),
                            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j))));
      }
      for (; j < n; ++j) dst[j] = src[j];
      for (; j < wn; ++j) dst[j] = 0;
    }
    transpose_dwords(w, dh, l.n2, l.dhp, s + l.vp, l.dhp);
  }
}

// Scores of R rows x NB 8-key blocks from block b0: y = ((float)S * rs2[r]) * ck[j] into y,
// the rows' lane-wise max over keys < n into mx. kQ16: int16 pairs by vpdpwssd from q (Q's pair
// rows, dp per row); else int8 groups of 4 by vpdpbusd from qu, accumulators started at corr.
template <bool kQ16, int R, int NB>
void scores(const AttentionHead& h, const Layout& l, const uint8_t* s, const int16_t* q, size_t i0,
            size_t b0, const float* rs2, float* y, __m256* mx) {
  const uint8_t* kp = s + l.kp;
  const size_t groups = kQ16 ? l.dp : l.dg;
  const uint8_t* a_rows = kQ16 ? reinterpret_cast<const uint8_t*>(q + i0 * 2 * l.dp) : s + l.qu + i0 * l.dg * 4;
  const size_t a_stride = groups * 4;  // bytes per A row: 2 int16 or 4 int8 per group
  __m256i acc[R][NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const __m256i c = kQ16 ? _mm256_setzero_si256()
                           : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                 reinterpret_cast<const int32_t*>(s + l.corr) + (b0 + b) * 8));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][b] = c;
  }
  mac_tile<kQ16>(acc, a_rows, a_stride, kp + b0 * 8 * 4, l.np * 4, groups);
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_huge_valf());
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const size_t j0 = (b0 + b) * 8;
    const __m256i m = lane_mask(j0, h.n);
    const __m256 ck = _mm256_maskload_ps(h.ck + j0, m);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][b]), _mm256_set1_ps(rs2[r])), ck);
      _mm256_store_ps(y + r * l.np + j0, v);
      mx[r] = _mm256_max_ps(mx[r], _mm256_blendv_ps(neg_inf, v, _mm256_castsi256_ps(m)));
    }
  }
}

// Scores for NB blocks in the head's Q/K precision.
template <int R, int NB>
void scores_any(const AttentionHead& h, const Layout& l, const uint8_t* s, const int16_t* q, size_t i0,
                size_t b0, const float* rs2, float* y, __m256* mx) {
  if (quad_scores(h)) {
    scores<false, R, NB>(h, l, s, q, i0, b0, rs2, y, mx);
  } else {
    scores<true, R, NB>(h, l, s, q, i0, b0, rs2, y, mx);
  }
}

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x55));
  return _mm_cvtsi128_si32(s);
}

// u = (int)(255 * 2^(y - max) + 0.5) for R rows' keys (0 past n) into ub (row stride np), and
// inv[r] = 1 / sum u; the rows side by side (independent chains).
template <int R>
void softmax_rows(const Layout& l, size_t n, const float* y, const __m256* mx, uint8_t* ub, float* inv) {
  namespace su8 = softmax_u8;
  __m256 m[R];
  __m256i sum[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    m[r] = _mm256_set1_ps(hmax(mx[r]));
    sum[r] = _mm256_setzero_si256();
  }
  for (size_t j0 = 0; j0 < l.np; j0 += 8) {
    const __m256i keys = lane_mask(j0, n);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 t =
          _mm256_max_ps(_mm256_sub_ps(_mm256_load_ps(y + r * l.np + j0), m[r]), _mm256_set1_ps(su8::kMinY));
      const __m256 nr = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m256 f = _mm256_sub_ps(t, nr);
      __m256 p = _mm256_set1_ps(su8::kP[0]);
      p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(su8::kP[1]));
      p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(su8::kP[2]));
      p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(su8::kP[3]));
      p = _mm256_add_ps(_mm256_mul_ps(p, f), _mm256_set1_ps(su8::kP[4]));
      const __m256i pw = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nr), _mm256_set1_epi32(127)), 23);
      const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(pw));
      const __m256i u = _mm256_and_si256(_mm256_cvttps_epi32(_mm256_add_ps(e, _mm256_set1_ps(0.5f))), keys);
      sum[r] = _mm256_add_epi32(sum[r], u);
      const __m256i w = _mm256_packus_epi32(u, u);  // u0..u3 u0..u3 | u4..u7 u4..u7 (16 bits)
      if constexpr (kVnni) {
        // 8 bytes: lane 0's u0..u3 and lane 1's u4..u7 after the second pack.
        const __m256i b = _mm256_packus_epi16(w, _mm256_setzero_si256());
        const uint64_t bytes = static_cast<uint32_t>(_mm256_cvtsi256_si32(b)) |
                               static_cast<uint64_t>(static_cast<uint32_t>(_mm256_extract_epi32(b, 4))) << 32;
        std::memcpy(ub + r * l.np + j0, &bytes, 8);
      } else {  // 8 int16: the two lanes' low halves
        _mm_storeu_si128(reinterpret_cast<__m128i*>(ub + (r * l.np + j0) * 2),
                         _mm256_castsi256_si128(_mm256_permute4x64_epi64(w, 0x08)));
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) inv[r] = 1.0f / static_cast<float>(hsum(sum[r]));
}

// O = sum_j u[r][j] v8[j][t] for R rows and TB 8-column blocks from block c0, then
// out = ((float)O * sv[t]) * inv[r].
template <int R, int TB>
void pv(const AttentionHead& h, const Layout& l, const uint8_t* s, size_t i0, size_t c0, const float* inv) {
  const uint8_t* vp = s + l.vp;
  const uint8_t* ub = s + l.ub;
  __m256i acc[R][TB];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int c = 0; c < TB; ++c) acc[r][c] = _mm256_setzero_si256();
  }
  // Key groups: quads of u8 (VNNI) or pairs of int16, 4 bytes of a probability row either way.
  const size_t groups = kVnni ? l.n4 : l.n2;
  const size_t ub_row = l.np * (kVnni ? 1 : 2);
  mac_tile<!kVnni>(acc, ub, ub_row, vp + c0 * 8 * 4, l.dhp * 4, groups);
#pragma GCC unroll 2
  for (int c = 0; c < TB; ++c) {
    const size_t t0 = (c0 + c) * 8;
    const bool full = t0 + 8 <= h.dh;
    const __m256i m = lane_mask(t0, h.dh);
    const __m256 sv = full ? _mm256_loadu_ps(h.sv + t0) : _mm256_maskload_ps(h.sv + t0, m);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc[r][c]), sv), _mm256_set1_ps(inv[r]));
      float* dst = h.out + (i0 + r) * h.ldo + t0;
      if (full) {
        _mm256_storeu_ps(dst, v);
      } else {
        _mm256_maskstore_ps(dst, m, v);
      }
    }
  }
}

template <int R>
void row_block(const AttentionHead& h, const Layout& l, uint8_t* s, const int16_t* q, size_t i0) {
  float rs2[R], inv[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) rs2[r] = h.sq[i0 + r] * softmax_u8::kLog2e;
  float* y = reinterpret_cast<float*>(s + l.y);
  __m256 mx[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) mx[r] = _mm256_set1_ps(-__builtin_huge_valf());
  const size_t nb = l.np / 8;
  size_t b0 = 0;
  for (; b0 + kKeyBlocks <= nb; b0 += kKeyBlocks) scores_any<R, kKeyBlocks>(h, l, s, q, i0, b0, rs2, y, mx);
  if (b0 < nb) scores_any<R, 1>(h, l, s, q, i0, b0, rs2, y, mx);
  softmax_rows<R>(l, h.n, y, mx, s + l.ub, inv);
  const size_t tb = l.dhp / 8;
  size_t c0 = 0;
  for (; c0 + kTBlocks <= tb; c0 += kTBlocks) pv<R, kTBlocks>(h, l, s, i0, c0, inv);
  if (c0 < tb) pv<R, 1>(h, l, s, i0, c0, inv);
}

}  // namespace

size_t VIGIL_ATTENTION_SCRATCH_FN(size_t n, size_t dh) { return layout(n, dh).total; }

void VIGIL_ATTENTION_FN(const AttentionHead& h) {
  const Layout l = layout(h.n, h.dh);
  uint8_t* s = static_cast<uint8_t*>(h.scratch);
  prepare(h, l, s);
  const int16_t* q = quad_scores(h) ? nullptr : q_pairs(h, l, s);
  size_t i0 = 0;
  for (; i0 + kRows <= h.n; i0 += kRows) row_block<kRows>(h, l, s, q, i0);
  switch (h.n - i0) {
    case 3: row_block<3>(h, l, s, q, i0); break;
    case 2: row_block<2>(h, l, s, q, i0); break;
    case 1: row_block<1>(h, l, s, q, i0); break;
    default: break;
  }
}

}  // namespace vigil::kernels
