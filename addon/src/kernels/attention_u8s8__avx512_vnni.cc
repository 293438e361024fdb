// attention_u8s8__avx512_vnni: one head of the engine's int8 attention (engine/attention_int8.h)
// fused in registers: scores Q16 K16^T by vpdpwssd, the u8 softmax of ops::softmax_row_u8 (the
// specification; constants in attention_int8_spec.h), P V8 by vpdpbusd with the u8 probabilities as
// the unsigned operand, and the output scaling, 4 query rows at a time. No packing through the
// GEMM's panel layout, no int32 score or output tiles in memory, no u - 128 / + 128 round trip.
//
// Exactness (the bits of the engine's GEMM path on every kernel table; engine_ops_test):
// - scores: vpdpwssd on int16 pairs (|q|, |k| <= 2047, dh <= 512: no int32 overflow), or, when
//   the head's Q and K are int8-valued (qk_levels 127: sequences of 128 tokens or more),
//   vpdpbusd with Q fed as q ^ 0x80 = q + 128 and each accumulator started at -128 sum_t k.
//   P V: vpdpbusd, u in [0, 255] is already the unsigned operand. Integer sums are exact in any
//   order.
// - float steps per element in softmax_row_u8's order, with two instructions that give the
//   same values on this range: round-to-nearest-even of t in [-29, 0] by vrndscaleps instead of
//   (t + 1.5 2^23) - 1.5 2^23, and p * 2^n by vscalefps instead of the exponent-bits multiply
//   (n integral in [-29, 0], p in [127, 256): no overflow, underflow or rounding either way).
//   The row max is a float max (exact; a zero max of either sign gives the same u).
#include <immintrin.h>

#include <cstring>

#include "kernels/kernels.h"
#include "kernels/attention_int8_spec.h"

// GCC 12's avx512fintrin.h masked intrinsics trip -Wmaybe-uninitialized on their own undefined
// pass-through operands (as in gemm_s8s8_s32_6x64c4__avx512_vnni.cc); nothing here reads one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if !defined(__AVX512F__) || !defined(__AVX512VNNI__) || !defined(__AVX512BW__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni (kernels.cmake)"
#endif

namespace vigil::kernels {
namespace {

// acc + a . b by vpdpwssd (kQ16) or vpdpbusd, the accumulator tied to the result by the asm
// constraint. Through the intrinsics GCC 12 kept each of the scores' and P V's loop-carried
// accumulators in two registers, copying it out and back around every vpdpwssd (in the tiny
// model's scores loop: 16 vpdpwssd, 28 register moves and a spill per K group); tied, the loop
// is the loads, broadcasts and dot products only. The same instructions, the same bits.
template <bool kQ16>
inline __attribute__((always_inline)) __m512i dp_tied(__m512i acc, __m512i a, __m512i b) {
  if constexpr (kQ16) {
    asm("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b));
  } else {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b));
  }
  return acc;
}

constexpr size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

constexpr int kRows = 4;       // query rows per block
constexpr int kKeyBlocks = 4;  // 16-key blocks per score pass: kRows x 4 accumulators
constexpr int kTBlocks = 2;    // 16-column output blocks per P V pass: kRows x 2 x 2 accumulators

// Scratch of one head. np: n rounded up to 16; dp: int16 pairs in dh (dh rounded up to 2, / 2);
// dg: K groups of 4 bytes in dh; dhp: dh rounded up to 16; n4: key groups of 4.
// int16 Q and K: kp[g][j] = k16[j][2g], k16[j][2g + 1]. int8 Q and K (qk_levels <= 127):
// kp[g][j] = bytes k[j][4g..4g+3] of k8 (the rows narrowed to bytes, padded to dg * 4), Q as
// qu = q ^ 0x80 and each score accumulator started at corr[j] = -128 sum_t k[j][t] (vpdpbusd is
// u8 x s8): the exact sum_t q k. vp[g][t] = bytes v8[4g..4g+3][t]. 0 past n and dh everywhere.
struct Layout {
  size_t np, dp, dg, dhp, n4;
  size_t kp, qp, kpad, k8, qu, corr, vp, vpad, ub, y, total;
};

Layout layout(size_t n, size_t dh) {
  Layout l{};
  l.np = round_up(n, 16);
  l.dp = round_up(dh, 2) / 2;
  l.dg = round_up(dh, 4) / 4;
  l.dhp = round_up(dh, 16);
  l.n4 = round_up(n, 4) / 4;
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
  l.k8 = take(n * l.dg * 4);
  l.qu = take(n * l.dg * 4);
  l.corr = take(l.np * 4);
  l.vp = take(l.n4 * l.dhp * 4);
  l.vpad = take(n % 4 != 0 ? dh * l.n4 * 4 : 0);  // V^T rows padded to n4 groups
  l.ub = take(kRows * l.np);  // u8 probabilities of one row block (0 past n)
  l.y = take(kRows * l.np * 4);  // y of one row block
  l.total = off;
  return l;
}

// Lanes of the 16-key block starting at key j0 that are keys (< n); none from n on.
__mmask16 key_mask(size_t j0, size_t n) {
  if (j0 >= n) return 0;
  return n - j0 >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - j0)) - 1u);
}

// dst[g][i] (row stride ld dwords) = dword g of row i of src (rows of `groups` dwords) for
// i < rows, 0 for rows <= i < count (count a multiple of 16): 16 x 16 dword blocks transposed in
// registers (4 shuffle stages, 64 shuffles per block; 16 gathers per block cost ~2.5x as much).
void transpose_dwords(const void* src, size_t rows, size_t groups, size_t count, uint8_t* dst, size_t ld) {
  const uint8_t* s8 = static_cast<const uint8_t*>(src);
  for (size_t i0 = 0; i0 < count; i0 += 16) {
    for (size_t g0 = 0; g0 < groups; g0 += 16) {
      const size_t gn = groups - g0 < 16 ? groups - g0 : 16;
      const __mmask16 gm = static_cast<__mmask16>((1u << gn) - 1u);
      __m512i r[16];
#pragma GCC unroll 16
      for (size_t i = 0; i < 16; ++i) {
        r[i] = i0 + i < rows ? _mm512_maskz_loadu_epi32(gm, s8 + ((i0 + i) * groups + g0) * 4) : _mm512_setzero_si512();
      }
      __m512i t[16], u[16];
#pragma GCC unroll 8
      for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);  // per 128-bit lane: r_i[0] r_i+1[0] r_i[1] r_i+1[1]
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
      }
#pragma GCC unroll 4
      for (int i = 0; i < 16; i += 4) {  // u[i + k]: column 4 L + k of rows i .. i + 3 in lane L
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
      }
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const __m512i alo = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44), ahi = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xee);
        const __m512i blo = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);
        const __m512i bhi = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xee);
        const __m512i out[4] = {_mm512_shuffle_i32x4(alo, blo, 0x88), _mm512_shuffle_i32x4(alo, blo, 0xdd),
                                _mm512_shuffle_i32x4(ahi, bhi, 0x88), _mm512_shuffle_i32x4(ahi, bhi, 0xdd)};
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {  // out[q]: column 4 q + k
          const size_t g = 4 * static_cast<size_t>(q) + static_cast<size_t>(k);
          if (g < gn) _mm512_storeu_si512(dst + ((g0 + g) * ld + i0) * 4, out[q]);
        }
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
  // Row by row, 32 values per vpmovwb; the masked loads give 0 past dh, written up to w.
  auto narrow = [&](const int16_t* src, uint8_t* dst, __m256i flip) {
    for (size_t r = 0; r < n; ++r) {
      for (size_t t = 0; t < w; t += 32) {
        const size_t left = dh > t ? dh - t : 0;
        const __mmask32 in = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
        const __mmask32 out = w - t >= 32 ? ~__mmask32{0} : (__mmask32{1} << (w - t)) - 1;
        const __m256i b = _mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi16(in, src + r * dh + t));
        _mm256_mask_storeu_epi8(dst + r * w + t, out, _mm256_xor_si256(b, flip));
      }
    }
  };
  narrow(h.k16, s + l.k8, _mm256_setzero_si256());
  narrow(h.q16, s + l.qu, _mm256_set1_epi8(static_cast<char>(0x80)));
  transpose_dwords(s + l.k8, n, l.dg, l.np, s + l.kp, l.np);
  int32_t* corr = reinterpret_cast<int32_t*>(s + l.corr);
  for (size_t j0 = 0; j0 < l.np; j0 += 16) {
    __m512i sum = _mm512_setzero_si512();
    for (size_t g = 0; g < l.dg; ++g) {
      sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), _mm512_loadu_si512(s + l.kp + (g * l.np + j0) * 4));
    }
    _mm512_storeu_si512(corr + j0, _mm512_mullo_epi32(sum, _mm512_set1_epi32(-128)));
  }
}

// K (in the head's precision) and V^T in the dword layouts above; odd dh (int16 K) and
// n % 4 != 0 (V) go through padded copies first.
void prepare(const AttentionHead& h, const Layout& l, uint8_t* s) {
  const size_t n = h.n, dh = h.dh;
  if (h.qk_levels <= 127) {
    prepare_k8(h, l, s);
  } else {
    const void* k = dh % 2 == 0 ? static_cast<const void*>(h.k16) : pad_rows(h.k16, n, dh * 2, l.dp * 4, s + l.kpad);
    transpose_dwords(k, n, l.dp, l.np, s + l.kp, l.np);
  }
  const void* v = n % 4 == 0 ? static_cast<const void*>(h.v8t) : pad_rows(h.v8t, dh, n, l.n4 * 4, s + l.vpad);
  transpose_dwords(v, dh, l.n4, l.dhp, s + l.vp, l.dhp);
}

// Scores of R rows x NB 16-key blocks from block b0: y = ((float)S * rs2[r]) * ck[j] into y,
// the rows' lane-wise max (keys < n only) into mx. kQ16: int16 pairs by vpdpwssd from q (Q's
// pair rows, 2 dp per row); else int8 groups of 4 by vpdpbusd from qu, accumulators started
// at corr.
template <bool kQ16, int R, int NB>
void scores(const AttentionHead& h, const Layout& l, const uint8_t* s, const int16_t* q, size_t i0,
            size_t b0, const float* rs2, float* y, __m512* mx) {
  const uint8_t* kp = s + l.kp;
  const size_t groups = kQ16 ? l.dp : l.dg;
  const uint8_t* a_rows = kQ16 ? reinterpret_cast<const uint8_t*>(q + i0 * 2 * l.dp) : s + l.qu + i0 * l.dg * 4;
  const size_t a_stride = groups * 4;  // bytes per A row: 2 int16 or 4 int8 per group
  __m512i acc[R][NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const __m512i c = kQ16 ? _mm512_setzero_si512()
                           : _mm512_loadu_si512(reinterpret_cast<const int32_t*>(s + l.corr) + (b0 + b) * 16);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][b] = c;
  }
  for (size_t g = 0; g < groups; ++g) {
    __m512i k[NB];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) k[b] = _mm512_loadu_si512(kp + (g * l.np + (b0 + b) * 16) * 4);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i a = _mm512_set1_epi32(load_i32(a_rows + r * a_stride + g * 4));
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) {
        acc[r][b] = dp_tied<kQ16>(acc[r][b], a, k[b]);
      }
    }
  }
  const size_t n = h.n, np = l.np;  // locals: the y stores (may_alias) would force reloads
  const float* const ckp = h.ck;
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const size_t j0 = (b0 + b) * 16;
    const __mmask16 m = key_mask(j0, n);
    const __m512 ck = _mm512_maskz_loadu_ps(m, ckp + j0);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][b]), _mm512_set1_ps(rs2[r])), ck);
      _mm512_store_ps(y + r * np + j0, v);
      mx[r] = _mm512_mask_max_ps(mx[r], m, mx[r], v);
    }
  }
}

// Scores for NB blocks in the head's Q/K precision.
template <int R, int NB>
void scores_any(const AttentionHead& h, const Layout& l, const uint8_t* s, const int16_t* q, size_t i0,
                size_t b0, const float* rs2, float* y, __m512* mx) {
  if (h.qk_levels <= 127) {
    scores<false, R, NB>(h, l, s, q, i0, b0, rs2, y, mx);
  } else {
    scores<true, R, NB>(h, l, s, q, i0, b0, rs2, y, mx);
  }
}

// u = (int)(255 * 2^(y - max) + 0.5) for R rows' keys (0 past n) into ub (row stride np), and
// inv[r] = 1 / sum u; the rows side by side (independent chains).
template <int R>
void softmax_rows(const Layout& l, size_t n, const float* y, const __m512* mx, uint8_t* ub, float* inv) {
  namespace su8 = softmax_u8;
  __m512 m[R];
  __m512i sum[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    m[r] = _mm512_set1_ps(_mm512_reduce_max_ps(mx[r]));
    sum[r] = _mm512_setzero_si512();
  }
  // l.np in a local: the u8 stores (a may_alias vector type) would otherwise force a reload of
  // it after each one.
  const size_t np = l.np;
  for (size_t j0 = 0; j0 < np; j0 += 16) {
    const __mmask16 keys = key_mask(j0, n);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      // No clamp at kMinY: below it vrndscaleps/vscalefps give e < 255 * 2^-29 as well (down to
      // 0), so u = 0 either way; y is finite, so t is.
      const __m512 t = _mm512_sub_ps(_mm512_load_ps(y + r * np + j0), m[r]);
      const __m512 nr = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512 f = _mm512_sub_ps(t, nr);
      __m512 p = _mm512_set1_ps(su8::kP[0]);
      p = _mm512_add_ps(_mm512_mul_ps(p, f), _mm512_set1_ps(su8::kP[1]));
      p = _mm512_add_ps(_mm512_mul_ps(p, f), _mm512_set1_ps(su8::kP[2]));
      p = _mm512_add_ps(_mm512_mul_ps(p, f), _mm512_set1_ps(su8::kP[3]));
      p = _mm512_add_ps(_mm512_mul_ps(p, f), _mm512_set1_ps(su8::kP[4]));
      const __m512 e = _mm512_scalef_ps(p, nr);
      const __m512i u = _mm512_maskz_cvttps_epi32(keys, _mm512_add_ps(e, _mm512_set1_ps(0.5f)));
      sum[r] = _mm512_add_epi32(sum[r], u);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(ub + r * np + j0), _mm512_cvtepi32_epi8(u));
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) inv[r] = 1.0f / static_cast<float>(_mm512_reduce_add_epi32(sum[r]));
}

// O = sum_j u[r][j] v8[j][t] for R rows and TB 16-column blocks from block c0, then
// out = ((float)O * sv[t]) * inv[r]. Two accumulators per output vector (even and odd key
// groups) so the chains are half as long.
template <int R, int TB>
void pv(const AttentionHead& h, const Layout& l, const uint8_t* s, size_t i0, size_t c0, const float* inv) {
  const uint8_t* vp = s + l.vp;
  const uint8_t* ub = s + l.ub;
  __m512i acc[R][TB][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int c = 0; c < TB; ++c) acc[r][c][0] = acc[r][c][1] = _mm512_setzero_si512();
  }
  auto step = [&](size_t g, int half) __attribute__((always_inline)) {
    __m512i v[TB];
#pragma GCC unroll 2
    for (int c = 0; c < TB; ++c) v[c] = _mm512_loadu_si512(vp + (g * l.dhp + (c0 + c) * 16) * 4);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i a = _mm512_set1_epi32(load_i32(ub + r * l.np + g * 4));
#pragma GCC unroll 2
      for (int c = 0; c < TB; ++c) acc[r][c][half] = dp_tied<false>(acc[r][c][half], a, v[c]);
    }
  };
  size_t g = 0;
  for (; g + 2 <= l.n4; g += 2) {
    step(g, 0);
    step(g + 1, 1);
  }
  if (g < l.n4) step(g, 0);
  float* const out = h.out;  // locals: the stores (may_alias) would force reloads of h's fields
  const size_t ldo = h.ldo;
#pragma GCC unroll 2
  for (int c = 0; c < TB; ++c) {
    const size_t t0 = (c0 + c) * 16;
    const __mmask16 m = key_mask(t0, h.dh);
    const __m512 sv = _mm512_maskz_loadu_ps(m, h.sv + t0);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i o = _mm512_add_epi32(acc[r][c][0], acc[r][c][1]);
      const __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(o), sv), _mm512_set1_ps(inv[r]));
      _mm512_mask_storeu_ps(out + (i0 + r) * ldo + t0, m, v);
    }
  }
}

template <int R>
void row_block(const AttentionHead& h, const Layout& l, uint8_t* s, const int16_t* q, size_t i0) {
  float rs2[R], inv[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) rs2[r] = h.sq[i0 + r] * softmax_u8::kLog2e;
  float* y = reinterpret_cast<float*>(s + l.y);
  __m512 mx[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) mx[r] = _mm512_set1_ps(-__builtin_huge_valf());
  const size_t nb = l.np / 16;
  size_t b0 = 0;
  for (; b0 + kKeyBlocks <= nb; b0 += kKeyBlocks) scores_any<R, kKeyBlocks>(h, l, s, q, i0, b0, rs2, y, mx);
  switch (nb - b0) {
    case 3: scores_any<R, 3>(h, l, s, q, i0, b0, rs2, y, mx); break;
    case 2: scores_any<R, 2>(h, l, s, q, i0, b0, rs2, y, mx); break;
    case 1: scores_any<R, 1>(h, l, s, q, i0, b0, rs2, y, mx); break;
    default: break;
  }
  softmax_rows<R>(l, h.n, y, mx, s + l.ub, inv);
  const size_t tb = l.dhp / 16;
  size_t c0 = 0;
  for (; c0 + kTBlocks <= tb; c0 += kTBlocks) pv<R, kTBlocks>(h, l, s, i0, c0, inv);
  if (c0 < tb) pv<R, 1>(h, l, s, i0, c0, inv);
}

}  // namespace

size_t attention_u8s8_scratch__avx512_vnni(size_t n, size_t dh) { return layout(n, dh).total; }

void attention_u8s8__avx512_vnni(const AttentionHead& h) {
  const Layout l = layout(h.n, h.dh);
  uint8_t* s = static_cast<uint8_t*>(h.scratch);
  prepare(h, l, s);
  const int16_t* q = h.qk_levels <= 127 ? nullptr : q_pairs(h, l, s);
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
