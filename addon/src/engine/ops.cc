#include "ops.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "float_clones.h"
#include "kernels/attention_int8_spec.h"
#include "kernels/layer_norm_spec.h"

// -Wpsabi: the 16-lane helpers below pass 64-byte vectors by value; they are always inlined,
// no ABI is crossed.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vigil::ops {
namespace {

// 2^n for an integral float n in [-126, 127] (exponent bits), on a float or lane by lane on a
// GCC float vector T with int32 lanes I.
template <class T, class I>
VIGIL_ALWAYS_INLINE inline T pow2(T n) {
  I bits;
  if constexpr (sizeof(T) == sizeof(float)) {
    bits = (static_cast<int32_t>(n) + 127) << 23;
  } else {
    bits = (__builtin_convertvector(n, I) + 127) << 23;
  }
  T scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return scale;
}

// exp(x) for x <= 0 (softmax after the max subtraction): Cody-Waite range reduction and the
// Cephes expf polynomial, branch-free so it vectorizes; relative error <= 2 ulp on [-87, 0]
// (engine_ops_test checks it against std::exp). Below -87 the result is clamped to ~1.6e-38.
// On a float, or lane by lane on a GCC float vector T with int32 lanes I (attention_zmm): the
// same operations, the same bits.
template <class T, class I = int32_t>
VIGIL_ALWAYS_INLINE inline T exp_nonpositive(T x) {
  x = x > -87.0f ? x : -87.0f;
  const float kLog2e = 1.44269504088896341f;
  const float kRound = 12582912.0f;  // 1.5 * 2^23: (v + kRound) - kRound rounds v to nearest
  const T n = (x * kLog2e + kRound) - kRound;
  T g = x - n * 0.693359375f;
  g = g - n * -2.12194440e-4f;
  T y = T{} + 1.9875691500e-4f;
  y = y * g + 1.3981999507e-3f;
  y = y * g + 8.3334519073e-3f;
  y = y * g + 4.1665795894e-2f;
  y = y * g + 1.6666665459e-1f;
  y = y * g + 5.0000001201e-1f;
  y = y * (g * g) + g + 1.0f;
  return y * pow2<T, I>(n);
}

// 255 * 2^y for y <= 0, for the int8 attention's u8 probabilities (softmax_row_u8 works in
// log2 units: y = s log2(e)): 2^n (exponent bits) times a degree-4 polynomial of the fraction
// f in [-0.5, 0.5] with the factor 255 folded in (least-squares fit on Chebyshev nodes,
// relative error <= 3.6e-6, i.e. <= 0.001 of one u8 step; the constant term is exactly 255 so
// the max maps to exactly 255). Below y = -29 the result is 255 * 2^-29 ~ 5e-7 (clamped; it
// rounds to 0 either way).
// On a float, or lane by lane on a GCC float vector T with int32 lanes I, as exp_nonpositive.
// exp2_255_clamped is the part after the clamp (y >= -29), for the portable loops that clamp
// in a loop of their own.
// The constants are kernels/attention_int8_spec.h's (shared with the fused attention kernels).
template <class T, class I = int32_t>
VIGIL_ALWAYS_INLINE inline T exp2_255_clamped(T y) {
  namespace su8 = kernels::softmax_u8;
  const T n = (y + su8::kRound) - su8::kRound;
  const T f = y - n;
  T p = T{} + su8::kP[0];
  p = p * f + su8::kP[1];
  p = p * f + su8::kP[2];
  p = p * f + su8::kP[3];
  p = p * f + su8::kP[4];
  return p * pow2<T, I>(n);
}
template <class T, class I = int32_t>
VIGIL_ALWAYS_INLINE inline T exp2_255_nonpositive(T y) {
  return exp2_255_clamped<T, I>(y > kernels::softmax_u8::kMinY ? y : kernels::softmax_u8::kMinY);
}

// The 4-row register block shared by attention() and linear_f32(): c_r[l] = sum_k a_r[k] w[k][l]
// for rows r < 4 (a_r = a + r * lda) and l < B (w row k at w + k * ldw), each sum over k in
// order from 0. B independent accumulators per row (B = 16: 4 add chains of 16 lanes); one
// inner loop over l with the rows written out (GCC vectorizes this shape cleanly; a loop over
// rows inside it gets shuffled across rows).
template <size_t B>
VIGIL_ALWAYS_INLINE inline void mac_4rows(const float* a, size_t lda, const float* w, size_t ldw,
                                          size_t k_len, float* c0, float* c1, float* c2, float* c3) {
  for (size_t l = 0; l < B; ++l) c0[l] = c1[l] = c2[l] = c3[l] = 0.0f;
  for (size_t k = 0; k < k_len; ++k) {
    const float* wr = w + k * ldw;
    const float a0 = a[k], a1 = a[lda + k], a2 = a[2 * lda + k], a3 = a[3 * lda + k];
    for (size_t l = 0; l < B; ++l) {
      c0[l] += a0 * wr[l];
      c1[l] += a1 * wr[l];
      c2[l] += a2 * wr[l];
      c3[l] += a3 * wr[l];
    }
  }
}

// attention()'s register blocks for 4 query rows (mac_4rows; B = 32 made GCC 12 spill the
// accumulators to the stack).
// Scores: s[r][m0 + l] = scale * sum_t q_r[t] k[m0 + l][t], summed over t in order.
template <size_t B>
VIGIL_ALWAYS_INLINE inline void scores_4rows(const float* q0, size_t ld, const float* kt, size_t n,
                                             size_t m0, size_t dh, float scale, float* s) {
  float c0[B], c1[B], c2[B], c3[B];
  mac_4rows<B>(q0, ld, kt + m0, n, dh, c0, c1, c2, c3);
  for (size_t l = 0; l < B; ++l) {
    s[m0 + l] = c0[l] * scale;
    s[n + m0 + l] = c1[l] * scale;
    s[2 * n + m0 + l] = c2[l] * scale;
    s[3 * n + m0 + l] = c3[l] * scale;
  }
}

// Outputs: o_r[t0 + l] = sum_m p_r[m] v[m][t0 + l], summed over m in order.
template <size_t B>
VIGIL_ALWAYS_INLINE inline void pv_4rows(const float* s, size_t n, const float* v0, size_t ld,
                                         size_t t0, float* o0, size_t d, const float* inv) {
  float c0[B], c1[B], c2[B], c3[B];
  mac_4rows<B>(s, n, v0 + t0, ld, n, c0, c1, c2, c3);
  float* o = o0 + t0;
  const float i0 = inv[0], i1 = inv[1], i2 = inv[2], i3 = inv[3];
  for (size_t l = 0; l < B; ++l) {
    o[l] = c0[l] * i0;
    o[d + l] = c1[l] * i1;
    o[2 * d + l] = c2[l] * i2;
    o[3 * d + l] = c3[l] * i3;
  }
}

}  // namespace

float exp_for_softmax(float x) { return exp_nonpositive(x); }

namespace {

// tree_sum8 / tree_sum16 / finish_mean / finish_rstd: kernels/layer_norm_spec.h (shared with the
// kernel tables' own LayerNorm forms).
using kernels::layer_norm_spec::finish_mean;
using kernels::layer_norm_spec::finish_rstd;
using kernels::layer_norm_spec::tree_sum16;
using kernels::layer_norm_spec::tree_sum8;

// 16-lane blocks written with GCC vector extensions: element-wise IEEE ops (no reassociation,
// no FMA under -ffp-contract=off), so the bits equal the scalar loops above. The compiler's
// auto-vectorizer left 1-3 cycles per element of loop overhead on 16-64-long rows. They run
// only where 64 bytes are one register (the x86-64-v4 clone, attention_zmm): GCC 12 lowers
// their compares, selects and narrowing conversions lane by lane in scalar code on narrower
// targets, so every other clone and NEON take the portable loop forms (zmm_forms()).
using F16 = float __attribute__((vector_size(64)));
using I16 = int32_t __attribute__((vector_size(64)));
using U16 = uint32_t __attribute__((vector_size(64)));
using B16 = int8_t __attribute__((vector_size(16)));

VIGIL_ALWAYS_INLINE inline F16 load16(const float* p) {
  F16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
VIGIL_ALWAYS_INLINE inline I16 load16i(const int32_t* p) {
  I16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
VIGIL_ALWAYS_INLINE inline void store16(float* p, F16 v) { std::memcpy(p, &v, sizeof v); }
VIGIL_ALWAYS_INLINE inline void store16b(int8_t* p, B16 v) { std::memcpy(p, &v, sizeof v); }

// GCC's __builtin_shuffle (clang, used for the fuzz builds, has only __builtin_shufflevector
// with literal indices): the shuffle-based paths below are GCC-only, with plain loops otherwise.
#if defined(__GNUC__) && !defined(__clang__)
#define VIGIL_VECTOR_SHUFFLE 1
#else
#define VIGIL_VECTOR_SHUFFLE 0
#endif

// max of the 16 lanes of u (unsigned; a max is exact in any order): halving shuffles.
VIGIL_ALWAYS_INLINE inline uint32_t hmax16(U16 u) {
#if VIGIL_VECTOR_SHUFFLE
  U16 t = __builtin_shuffle(u, U16{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  u = t > u ? t : u;
  t = __builtin_shuffle(u, U16{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11});
  u = t > u ? t : u;
  t = __builtin_shuffle(u, U16{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13});
  u = t > u ? t : u;
  t = __builtin_shuffle(u, U16{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14});
  u = t > u ? t : u;
  return u[0];
#else
  uint32_t m = 0;
  for (size_t l = 0; l < 16; ++l) m = u[l] > m ? u[l] : m;
  return m;
#endif
}

// Lane r = the max over the 16 lanes of v[r], r < 16 (unsigned; exact in any order): a
// transposing tree, 45 vector ops for 16 reductions instead of 16 latency-bound halving chains.
VIGIL_ALWAYS_INLINE inline U16 hmax16_16rows(const U16* v) {
  auto vmax = [](U16 a, U16 b) { return a > b ? a : b; };
#if VIGIL_VECTOR_SHUFFLE
  U16 w[8], x[4], y[2];
  for (size_t k = 0; k < 8; ++k) {  // lanes 0-7: row 2k's 8 partial maxima, 8-15: row 2k + 1's
    w[k] = vmax(__builtin_shuffle(v[2 * k], v[2 * k + 1], U16{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}),
                __builtin_shuffle(v[2 * k], v[2 * k + 1], U16{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}));
  }
  for (size_t k = 0; k < 4; ++k) {  // 4 lanes per row, rows 4k..4k+3
    x[k] = vmax(__builtin_shuffle(w[2 * k], w[2 * k + 1], U16{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27}),
                __builtin_shuffle(w[2 * k], w[2 * k + 1], U16{4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31}));
  }
  for (size_t k = 0; k < 2; ++k) {  // 2 lanes per row, rows 8k..8k+7
    y[k] = vmax(__builtin_shuffle(x[2 * k], x[2 * k + 1], U16{0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29}),
                __builtin_shuffle(x[2 * k], x[2 * k + 1], U16{2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31}));
  }
  return vmax(__builtin_shuffle(y[0], y[1], U16{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}),
              __builtin_shuffle(y[0], y[1], U16{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}));
#else
  U16 m = {};
  for (size_t r = 0; r < 16; ++r) {
    for (size_t l = 0; l < 16; ++l) m[r] = v[r][l] > m[r] ? v[r][l] : m[r];
  }
  (void)vmax;
  return m;
#endif
}

// quantize_block's clamp and half-away rounding on one 16-lane vector of already scaled values
// (as int32 lanes in [-127, 127]; round_clamp16 narrows them to bytes).
// lim: the clamp (127 for int8; the int8 attention's Q and K use 2047, where the rounding is
// still exact: the float spacing below 2048 is <= 2^-13).
VIGIL_ALWAYS_INLINE inline I16 round_clamp16i(F16 v, float lim = 127.0f) {
  v = v > -lim ? v : -lim;  // NaN -> -lim, as quantize_block
  v = v < lim ? v : lim;
  // Half away from zero: truncate v + copysign(0.5 - 2^-25, v) (exact for |v| <= lim; see
  // kernels/epilogue_impl.h half_away_bias).
  I16 b;
  std::memcpy(&b, &v, sizeof b);
  b = (b & INT32_MIN) | 0x3effffff;
  F16 h;
  std::memcpy(&h, &b, sizeof h);
  return __builtin_convertvector(v + h, I16);  // truncation
}
VIGIL_ALWAYS_INLINE inline B16 round_clamp16(F16 v) {
  return __builtin_convertvector(round_clamp16i(v), B16);
}

// dst[c * ldd + r] = src[r * lds + c] for a 16 x 16 block of T (float or int8): pure data
// movement. On x86 (GCC) in 4 stages of two-input shuffles of 16-lane vectors V (index vectors M),
// each swapping the off-diagonal b x b blocks of every 2b x 2b block (one vpermt2ps per
// shuffle for floats in the AVX-512 clone); elsewhere element by element.
template <class T, class V, class M>
VIGIL_ALWAYS_INLINE inline void transpose16x16(const T* src, size_t lds, T* dst, size_t ldd) {
#if defined(__x86_64__) && VIGIL_VECTOR_SHUFFLE
  static_assert(sizeof(V) == 16 * sizeof(T), "16 lanes of T");
  V r[16];
  for (size_t i = 0; i < 16; ++i) std::memcpy(&r[i], src + i * lds, sizeof r[i]);
  const M lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  const M hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  const M lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27};
  const M hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31};
  const M lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  const M hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  const M lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30};
  const M hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
  auto stage = [&](size_t b, M lo, M hi) {
    for (size_t i = 0; i < 16; ++i) {
      if ((i & b) != 0) continue;
      const V a = r[i], c = r[i + b];
      r[i] = __builtin_shuffle(a, c, lo);
      r[i + b] = __builtin_shuffle(a, c, hi);
    }
  };
  stage(8, lo8, hi8);
  stage(4, lo4, hi4);
  stage(2, lo2, hi2);
  stage(1, lo1, hi1);
  for (size_t i = 0; i < 16; ++i) std::memcpy(dst + i * ldd, &r[i], sizeof r[i]);
#else
  for (size_t r = 0; r < 16; ++r) {
    for (size_t c = 0; c < 16; ++c) dst[c * ldd + r] = src[r * lds + c];
  }
#endif
}
using U8x16 = uint8_t __attribute__((vector_size(16)));

// round_clamp16i for one value, into T (int8_t or int16_t).
template <class T>
VIGIL_ALWAYS_INLINE inline T round_clamp_one(float v, float lim) {
  v = v > -lim ? v : -lim;
  v = v < lim ? v : lim;
  return static_cast<T>(static_cast<int>(v + std::copysign(0x1.fffffep-2f, v)));
}

// q[j] = quantize_round(y[j] * inv_scale), j < nb: whole 16-lane blocks through round_clamp16,
// the rest one at a time with the same clamp and rounding.
VIGIL_ALWAYS_INLINE inline void quantize_block(const float* y, size_t nb, float inv_scale, int8_t* q) {
  size_t j = 0;
  for (; j + 16 <= nb; j += 16) store16b(q + j, round_clamp16(load16(y + j) * inv_scale));
  for (; j < nb; ++j) q[j] = round_clamp_one<int8_t>(y[j] * inv_scale, 127.0f);
}

// The portable forms of the 16-lane blocks above, for every clone but x86-64-v4 and for NEON:
// plain loops over a row, which GCC vectorizes at each target's register width. The 16-lane
// vector-extension blocks are lowered well only where 64 bytes are one register: elsewhere
// GCC 12 splits their compares, selects and narrowing conversions lane by lane through
// general registers (measured on the AVX2 and SSE2 clones: softmax_row_u8 7x and
// layer_norm_quantize 5x slower than the x86-64-v4 clone; NEON lowers them the same way).
// Same operations per element, same bits (engine_ops_test runs both forms on one CPU).
// T, lim: int8_t and 127, or the int8 attention's int16 Q and K and their limit.
template <class T = int8_t>
VIGIL_ALWAYS_INLINE inline void quantize_block_portable(const float* y, size_t nb, float inv_scale,
                                                        T* q, float lim = 127.0f) {
  constexpr size_t kChunk = 64;
  float c[kChunk];
  for (size_t j0 = 0; j0 < nb; j0 += kChunk) {
    const size_t m = nb - j0 < kChunk ? nb - j0 : kChunk;
    for (size_t j = 0; j < m; ++j) {  // clamp, then round: as two loops both vectorize
      float v = y[j0 + j] * inv_scale;
      v = v > -lim ? v : -lim;
      c[j] = v < lim ? v : lim;
    }
    for (size_t j = 0; j < m; ++j) {
      q[j0 + j] = static_cast<T>(static_cast<int>(c[j] + std::copysign(0x1.fffffep-2f, c[j])));
    }
  }
}

// The int8 attention's Q and K rows in int16 (attention_qk_levels, ops.h): q[j] =
// clamp(round_half_away(x[j] * inv), -kL, kL) for kL 2047 or 127, NaN -> -kL: quantize_block's
// steps with that limit; the portable form is quantize_block_portable<int16_t>.
using S16x16 = int16_t __attribute__((vector_size(32)));
VIGIL_ALWAYS_INLINE inline void quantize_row_s16_zmm(const float* x, size_t nb, float inv, float kL,
                                                     int16_t* q) {
  size_t j = 0;
  for (; j + 16 <= nb; j += 16) {
    const S16x16 r = __builtin_convertvector(round_clamp16i(load16(x + j) * inv, kL), S16x16);
    std::memcpy(q + j, &r, sizeof r);
  }
  for (; j < nb; ++j) q[j] = round_clamp_one<int16_t>(x[j] * inv, kL);
}

FloatForms g_forms = FloatForms::kCpu;  // force_float_forms (tests)

// The x86-64-v4 clone runs the 16-lane blocks (kZmm), every other clone and NEON the portable
// loops: one test per call of the public function (VIGIL_ZMM_OR_PORTABLE). Tests may force
// either form, on any CPU: each clone compiles both.
inline bool zmm_forms() {
  return g_forms == FloatForms::kCpu ? x86_64_v4() : g_forms == FloatForms::kZmm;
}
#define VIGIL_ZMM_OR_PORTABLE(fn, ...)       \
  if (zmm_forms()) return fn<true>(__VA_ARGS__); \
  return fn<false>(__VA_ARGS__);

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void quantize_row(const float* y, size_t nb, float inv_scale,
                                             int8_t* q) {
  if constexpr (kZmm) {
    quantize_block(y, nb, inv_scale, q);
  } else {
    quantize_block_portable(y, nb, inv_scale, q);
  }
}

// attention()'s x86-64-v4 form of the 4-row block (attention_zmm): scores for 4 query rows x
// 16 NB key columns in 4 NB 16-lane accumulators (16 zmm for NB = 4; the same in the AVX2
// clone would spill, so that clone keeps scores_4rows), the same sums over t in order as
// scores_4rows; mx[r] keeps the lane-wise running max of row r's scores.
template <size_t NB>
VIGIL_ALWAYS_INLINE inline void scores_4rows_zmm(const float* q0, size_t ld, const float* kt,
                                                 size_t n, size_t m0, size_t dh, float scale,
                                                 float* s, F16* mx) {
  F16 c[4][NB] = {};
  for (size_t t = 0; t < dh; ++t) {
    F16 k[NB];
    for (size_t b = 0; b < NB; ++b) k[b] = load16(kt + t * n + m0 + 16 * b);
    for (size_t r = 0; r < 4; ++r) {
      const float q = q0[r * ld + t];
      for (size_t b = 0; b < NB; ++b) c[r][b] += q * k[b];
    }
  }
  for (size_t r = 0; r < 4; ++r) {
    for (size_t b = 0; b < NB; ++b) {
      const F16 v = c[r][b] * scale;
      store16(s + r * n + m0 + 16 * b, v);
      mx[r] = v > mx[r] ? v : mx[r];
    }
  }
}

// The max over the 16 lanes of each of v[0..3] (finite floats: a max is exact in any order,
// and whether a zero max comes back +0 or -0 changes no x - max), the four rows folded into
// one vector first (then lanes 4r..4r+3 hold row r).
VIGIL_ALWAYS_INLINE inline void hmax16_4rows(const F16* v, float* out) {
#if VIGIL_VECTOR_SHUFFLE
  auto vmax = [](F16 a, F16 b) { return a > b ? a : b; };
  const I16 lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  const I16 hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
  const F16 ab = vmax(__builtin_shuffle(v[0], v[1], lo8), __builtin_shuffle(v[0], v[1], hi8));
  const F16 cd = vmax(__builtin_shuffle(v[2], v[3], lo8), __builtin_shuffle(v[2], v[3], hi8));
  const I16 lo4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  const I16 hi4 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  F16 m = vmax(__builtin_shuffle(ab, cd, lo4), __builtin_shuffle(ab, cd, hi4));
  m = vmax(m, __builtin_shuffle(m, I16{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}));
  m = vmax(m, __builtin_shuffle(m, I16{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}));
  for (size_t r = 0; r < 4; ++r) out[r] = m[4 * r];
#else
  for (size_t r = 0; r < 4; ++r) {
    float m = v[r][0];
    for (size_t l = 1; l < 16; ++l) m = v[r][l] > m ? v[r][l] : m;
    out[r] = m;
  }
#endif
}

// tree_sum16 of each of lane[0..3]: the same additions in the same order, the four rows'
// trees side by side in vectors of doubles.
VIGIL_ALWAYS_INLINE inline void tree_sum16_4rows(const F16* lane, double* out) {
#if VIGIL_VECTOR_SHUFFLE
  using F8h = float __attribute__((vector_size(32)));
  using D8h = double __attribute__((vector_size(64)));
  using L8 = int64_t __attribute__((vector_size(64)));
  D8h l[4];  // l[r][i] = lane[r][i] + lane[r][i + 8], in double (tree_sum16's first step)
  for (size_t r = 0; r < 4; ++r) {
    F8h lo, hi;
    std::memcpy(&lo, &lane[r], sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&lane[r]) + sizeof lo, sizeof hi);
    l[r] = __builtin_convertvector(lo, D8h) + __builtin_convertvector(hi, D8h);
  }
  // tree_sum8: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)); rows 0, 1 in x, 2, 3 in y.
  const L8 lo = {0, 1, 2, 3, 8, 9, 10, 11}, hi = {4, 5, 6, 7, 12, 13, 14, 15};
  const D8h x = __builtin_shuffle(l[0], l[1], lo) + __builtin_shuffle(l[0], l[1], hi);
  const D8h y = __builtin_shuffle(l[2], l[3], lo) + __builtin_shuffle(l[2], l[3], hi);
  const D8h z = __builtin_shuffle(x, y, L8{0, 1, 4, 5, 8, 9, 12, 13}) +
                __builtin_shuffle(x, y, L8{2, 3, 6, 7, 10, 11, 14, 15});
  const D8h w = __builtin_shuffle(z, L8{0, 2, 4, 6, 0, 2, 4, 6}) +
                __builtin_shuffle(z, L8{1, 3, 5, 7, 1, 3, 5, 7});
  for (size_t r = 0; r < 4; ++r) out[r] = w[r];
#else
  for (size_t r = 0; r < 4; ++r) {
    float f[16];
    std::memcpy(f, &lane[r], sizeof f);
    out[r] = tree_sum16(f);
  }
#endif
}

// softmax_unnormalized of the 4 score rows of s (row stride n) at once, the same bits:
// mx[r] holds the lane-wise max of row r's first n16 columns; the sum in 16 fixed lanes
// combined by tree_sum16, then the tail columns in order.
VIGIL_ALWAYS_INLINE inline void softmax_4rows(float* s, size_t n, size_t n16, const F16* mx,
                                              float* inv) {
  float m[4];
  hmax16_4rows(mx, m);
  F16 lane[4] = {};
  for (size_t r = 0; r < 4; ++r) {
    float* x = s + r * n;
    for (size_t j = n16; j < n; ++j) m[r] = x[j] > m[r] ? x[j] : m[r];
    for (size_t j = 0; j < n16; j += 16) {
      const F16 e = exp_nonpositive<F16, I16>(load16(x + j) - m[r]);
      store16(x + j, e);
      lane[r] += e;
    }
  }
  double sum[4];
  tree_sum16_4rows(lane, sum);
  for (size_t r = 0; r < 4; ++r) {
    float* x = s + r * n;
    for (size_t j = n16; j < n; ++j) {
      const float e = exp_nonpositive(x[j] - m[r]);
      x[j] = e;
      sum[r] += e;
    }
    inv[r] = static_cast<float>(1.0 / sum[r]);
  }
}

// LayerNorm's row statistics, in float lanes (docs/engine.md "LayerNorm"): each row's sum in 16
// fixed float lanes (lane l adds x[16 b + l], blocks in order), combined by tree_sum16 (in
// double), then the tail columns in order (in double); mean = float(sum / d). The same for
// (x - mean)^2 with x - mean in float; rstd = float(1 / sqrt(var / d + eps)) in double. Then
// y = ((x - mean) * rstd) * w + b in float. The same bits in every form: the x86-64-v4 blocks
// of R rows (R > 1 interleaves the rows' add chains; one row alone is bound by their latency),
// and the portable loops over 16 lanes for every other clone and NEON.

// sum[r] = tree_sum16 of the 16 lanes of acc[r], r < R (1 or 4).
template <size_t R>
VIGIL_ALWAYS_INLINE inline void lane_sums(const F16* acc, double* sum) {
  if constexpr (R == 4) {
    tree_sum16_4rows(acc, sum);
  } else {
    float f[16];
    std::memcpy(f, &acc[0], sizeof f);
    sum[0] = tree_sum16(f);
  }
}

// finish_mean / finish_rstd of R rows (layer_norm_spec.h), the R divisions as one vector
// division (IEEE: the same quotients; 4 scalar divisions per step were a fifth of a 64 x 64
// layer_norm_quantize); the square roots stay scalar.
using D4 = double __attribute__((vector_size(32)));
template <size_t R>
VIGIL_ALWAYS_INLINE inline void finish_means(const double* sum, size_t d, float* mean) {
  if constexpr (R == 4) {
    D4 s;
    std::memcpy(&s, sum, sizeof s);
    const D4 m = s / static_cast<double>(d);
    for (size_t r = 0; r < 4; ++r) mean[r] = static_cast<float>(m[r]);
  } else {
    for (size_t r = 0; r < R; ++r) mean[r] = finish_mean(sum[r], d);
  }
}
template <size_t R>
VIGIL_ALWAYS_INLINE inline void finish_rstds(const double* sum, size_t d, float eps, float* rstd) {
  if constexpr (R == 4) {
    D4 s;
    std::memcpy(&s, sum, sizeof s);
    D4 v = s / static_cast<double>(d) + static_cast<double>(eps);
    for (size_t r = 0; r < 4; ++r) v[r] = std::sqrt(v[r]);
    const D4 q = 1.0 / v;
    for (size_t r = 0; r < 4; ++r) rstd[r] = static_cast<float>(q[r]);
  } else {
    for (size_t r = 0; r < R; ++r) rstd[r] = finish_rstd(sum[r], d, eps);
  }
}

template <size_t R>
VIGIL_ALWAYS_INLINE inline void row_stats(const float* x, size_t d, float eps, float* mean_out,
                                          float* rstd_out) {
  static_assert(R == 1 || R == 4, "row_stats: 1 or 4 rows");
  const size_t d16 = d / 16 * 16;
  F16 acc[R] = {};
  for (size_t j0 = 0; j0 < d16; j0 += 16) {
    for (size_t r = 0; r < R; ++r) acc[r] += load16(x + r * d + j0);
  }
  double sum[R];
  lane_sums<R>(acc, sum);
  float mean[R];
  for (size_t r = 0; r < R; ++r) {
    for (size_t j = d16; j < d; ++j) sum[r] += x[r * d + j];
    acc[r] = F16{};
  }
  finish_means<R>(sum, d, mean);
  for (size_t j0 = 0; j0 < d16; j0 += 16) {
    for (size_t r = 0; r < R; ++r) {
      const F16 c = load16(x + r * d + j0) - mean[r];
      acc[r] += c * c;
    }
  }
  lane_sums<R>(acc, sum);
  for (size_t r = 0; r < R; ++r) {
    for (size_t j = d16; j < d; ++j) {
      const float c = x[r * d + j] - mean[r];
      sum[r] += c * c;
    }
    mean_out[r] = mean[r];
  }
  finish_rstds<R>(sum, d, eps, rstd_out);
}

// row_stats<1> as plain loops over 16 float lanes (the same sums in the same order): the form
// for every clone but x86-64-v4 and NEON (see quantize_block_portable).
VIGIL_ALWAYS_INLINE inline void row_stats_portable(const float* x, size_t d, float eps,
                                                   float* mean_out, float* rstd_out) {
  const size_t d16 = d / 16 * 16;
  float acc[16] = {};
  for (size_t j0 = 0; j0 < d16; j0 += 16) {
    for (size_t l = 0; l < 16; ++l) acc[l] += x[j0 + l];
  }
  double sum = tree_sum16(acc);
  for (size_t j = d16; j < d; ++j) sum += x[j];
  const float mean = finish_mean(sum, d);
  for (size_t l = 0; l < 16; ++l) acc[l] = 0.0f;
  for (size_t j0 = 0; j0 < d16; j0 += 16) {
    for (size_t l = 0; l < 16; ++l) {
      const float c = x[j0 + l] - mean;
      acc[l] += c * c;
    }
  }
  sum = tree_sum16(acc);
  for (size_t j = d16; j < d; ++j) {
    const float c = x[j] - mean;
    sum += c * c;
  }
  *mean_out = mean;
  *rstd_out = finish_rstd(sum, d, eps);
}

// finish(r, mean, rstd) for every row r < rows of x [rows][d]: the statistics of 4 rows at a
// time (row_stats<4>), up to 64 rows' before their finish calls, the last rows % 4 one by one.
template <bool kZmm, class F>
VIGIL_ALWAYS_INLINE inline void for_each_row_stats(const float* x, size_t rows, size_t d, float eps,
                                                   F finish) {
  size_t r = 0;
  // Up to 64 rows' statistics first, then their finish: the rows' (or 4-row blocks')
  // latency-bound chains (lane sums, tree, division, square root) overlap each other instead
  // of each waiting between two rows' normalization.
  constexpr size_t kChunk = 64;
  float mean[kChunk], rstd[kChunk];
  if constexpr (!kZmm) {  // the portable form: row_stats_portable, row by row
    while (r < rows) {
      const size_t nb = std::min(kChunk, rows - r);
      for (size_t i = 0; i < nb; ++i) row_stats_portable(x + (r + i) * d, d, eps, mean + i, rstd + i);
      for (size_t i = 0; i < nb; ++i) finish(r + i, mean[i], rstd[i]);
      r += nb;
    }
    return;
  }
  for (; r + 4 <= rows; ) {
    const size_t nb = std::min(kChunk, (rows - r) / 4 * 4);
    for (size_t i = 0; i < nb; i += 4) row_stats<4>(x + (r + i) * d, d, eps, mean + i, rstd + i);
    for (size_t i = 0; i < nb; ++i) finish(r + i, mean[i], rstd[i]);
    r += nb;
  }
  for (; r < rows; ++r) {
    float m1, s1;
    row_stats<1>(x + r * d, d, eps, &m1, &s1);
    finish(r, m1, s1);
  }
}

// The order-preserving integer image of a float's bits (negative patterns get their magnitude
// bits flipped; its own inverse), for int32_t or I16 lanes.
template <class T>
VIGIL_ALWAYS_INLINE inline T ordered_image(T b) {
  return b ^ ((b >> 31) & 0x7fffffff);
}

// max x[j], j < n >= 1 (finite values), through the order-preserving integer image of the
// floats (negative patterns get their magnitude bits flipped): an integer max reduction
// vectorizes, a float one does not without fast-math. The same value as a float max (a zero
// may come back as +0 where a float max kept -0: x - max and exp give the same bits).
VIGIL_ALWAYS_INLINE inline float max_ordered(const float* x, size_t n) {
  int32_t m = INT32_MIN;
  for (size_t j = 0; j < n; ++j) {
    int32_t b;
    std::memcpy(&b, x + j, sizeof b);
    b = ordered_image(b);
    m = b > m ? b : m;
  }
  m = ordered_image(m);
  float r;
  std::memcpy(&r, &m, sizeof r);
  return r;
}

// Attention's softmax without the normalization: x[j] = exp(x[j] - max) in place, returns
// 1 / sum (the caller scales the P V outputs instead of the n probabilities). The sum in 16
// fixed float lanes (the same order at every vector width), combined by tree_sum16.
VIGIL_ALWAYS_INLINE inline float softmax_unnormalized(float* x, size_t n) {
  constexpr size_t kLanes = 16;
  float lane[kLanes];
  const float mx = max_ordered(x, n);
  for (size_t l = 0; l < kLanes; ++l) lane[l] = 0.0f;
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const float e = exp_nonpositive(x[j + l] - mx);
      x[j + l] = e;
      lane[l] += e;
    }
  }
  double sum = tree_sum16(lane);
  for (; j < n; ++j) {
    const float e = exp_nonpositive(x[j] - mx);
    x[j] = e;
    sum += e;
  }
  return static_cast<float>(1.0 / sum);
}

// max |x[j]|, j < n, as the max of the sign-cleared bit patterns: for non-NaN floats the
// same value as a float max, and an integer max reduction vectorizes (a float one does not
// without fast-math); whole 16-lane blocks, then the tail.
template <bool kZmm>
VIGIL_ALWAYS_INLINE inline float abs_max_bits(const float* x, size_t n) {
  size_t j = 0;
  uint32_t m = 0;
  if constexpr (kZmm) {
    U16 m16 = {};
    for (; j + 16 <= n; j += 16) {
      U16 b;
      std::memcpy(&b, x + j, sizeof b);
      b &= 0x7fffffffu;
      m16 = b > m16 ? b : m16;
    }
    m = hmax16(m16);
  }
  for (; j < n; ++j) {
    uint32_t b;
    std::memcpy(&b, x + j, sizeof b);
    b &= 0x7fffffffu;
    m = b > m ? b : m;
  }
  float r;
  std::memcpy(&r, &m, sizeof r);
  return r;
}

}  // namespace

namespace {

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void layer_norm_form(const float* x, size_t rows, size_t d,
    const float* w, const float* b, float eps, float* y) {
  for_each_row_stats<kZmm>(x, rows, d, eps, [&](size_t r, float mean, float rstd) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    for (size_t j = 0; j < d; ++j) {
      const float nrm = (xr[j] - mean) * rstd;
      yr[j] = nrm * w[j] + b[j];
    }
  });
}

}  // namespace

VIGIL_FLOAT_CLONES
void layer_norm(const float* x, size_t rows, size_t d, const float* w, const float* b, float eps,
                float* y) {
  VIGIL_ZMM_OR_PORTABLE(layer_norm_form, x, rows, d, w, b, eps, y)
}

namespace {

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void layer_norm_quantize_form(const float* x, size_t rows, size_t d,
    const float* w, const float* b, float eps, float inv_scale, int8_t* q) {
  constexpr size_t kBlock = 64;
  float yb[kBlock];
  for_each_row_stats<kZmm>(x, rows, d, eps, [&](size_t r, float mean, float rstd) {
    const float* xr = x + r * d;
    size_t jz = 0;
    if constexpr (kZmm) {  // whole 16-lane blocks in registers: the same operations, no yb trip
      for (; jz + 16 <= d; jz += 16) {
        const F16 nrm = (load16(xr + jz) - mean) * rstd;
        store16b(q + r * d + jz, round_clamp16((nrm * load16(w + jz) + load16(b + jz)) * inv_scale));
      }
    }
    for (size_t j0 = jz; j0 < d; j0 += kBlock) {
      const size_t nb = d - j0 < kBlock ? d - j0 : kBlock;
      for (size_t j = 0; j < nb; ++j) {
        const float nrm = (xr[j0 + j] - mean) * rstd;
        yb[j] = nrm * w[j0 + j] + b[j0 + j];
      }
      quantize_row<kZmm>(yb, nb, inv_scale, q + r * d + j0);
    }
  });
}

}  // namespace

VIGIL_FLOAT_CLONES
void layer_norm_quantize(const float* x, size_t rows, size_t d, const float* w, const float* b,
                         float eps, float inv_scale, int8_t* q) {
  VIGIL_ZMM_OR_PORTABLE(layer_norm_quantize_form, x, rows, d, w, b, eps, inv_scale, q)
}

VIGIL_FLOAT_CLONES
void normalize_channels(const float* f, size_t rows, size_t channels, const float* mean,
                        const float* stdev, float* u) {
  constexpr size_t kRep = 64;  // mean/stdev repeated over a block of whole rows (a vector loop)
  if (channels != 0 && channels <= kRep) {
    const size_t per = kRep / channels * channels;  // elements per block: whole rows
    float m[kRep], s[kRep];
    for (size_t i = 0; i < per; ++i) {
      m[i] = mean[i % channels];
      s[i] = stdev[i % channels];
    }
    const size_t total = rows * channels;
    size_t j = 0;
    for (; j + per <= total; j += per) {
      for (size_t i = 0; i < per; ++i) u[j + i] = (f[j + i] - m[i]) / s[i];
    }
    for (size_t i = 0; j + i < total; ++i) u[j + i] = (f[j + i] - m[i]) / s[i];
    return;
  }
  for (size_t t = 0; t < rows; ++t) {
    for (size_t c = 0; c < channels; ++c) u[t * channels + c] = (f[t * channels + c] - mean[c]) / stdev[c];
  }
}

VIGIL_FLOAT_CLONES
bool all_finite(const float* x, size_t n) {
  uint32_t worst = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    b &= 0x7fffffffu;
    worst = b > worst ? b : worst;
  }
  return worst < 0x7f800000u;  // +-Inf is 0x7f800000, NaN above it
}

VIGIL_FLOAT_CLONES
void mean_rows(const float* z, size_t rows, size_t cols, float* out) {
  // 64 columns at a time so their sums run side by side over contiguous rows (one column at a
  // time was a latency-bound chain of `rows` adds).
  constexpr size_t kBlock = 64;
  for (size_t j0 = 0; j0 < cols; j0 += kBlock) {
    const size_t jb = cols - j0 < kBlock ? cols - j0 : kBlock;
    double s[kBlock] = {};
    for (size_t t = 0; t < rows; ++t) {
      const float* zr = z + t * cols + j0;
      for (size_t j = 0; j < jb; ++j) s[j] += zr[j];
    }
    for (size_t j = 0; j < jb; ++j) out[j0 + j] = static_cast<float>(s[j] / static_cast<double>(rows));
  }
}

namespace {

using D8 = double __attribute__((vector_size(64)));
using F8 = float __attribute__((vector_size(32)));

// 8 floats from p (the first `count`, the rest 0) widened to double.
VIGIL_ALWAYS_INLINE inline D8 load8_as_double(const float* p, size_t count) {
  F8 f = {};
  if (count == 8) {
    std::memcpy(&f, p, sizeof f);
  } else {
    for (size_t i = 0; i < count; ++i) f[i] = p[i];
  }
  return __builtin_convertvector(f, D8);
}

// channel_error[c0 .. c0 + CB) of reconstruction_errors: steps = n * patch_length elements per
// channel (element (step, c) at step * cf + c), each channel's sum over the steps in order. CB
// is a compile-time count so the accumulators stay in registers (with a run-time count they
// went through the stack, a store and a load in every add's chain).
template <size_t CB>
VIGIL_ALWAYS_INLINE inline void channel_errors_block(const float* recon, const float* u, size_t steps, size_t cf,
                                                     size_t c0, float* channel_error) {
  double acc[CB] = {};
  for (size_t ts = 0; ts < steps; ++ts) {
    for (size_t c = 0; c < CB; ++c) {
      const double e = static_cast<double>(recon[ts * cf + c0 + c]) - u[ts * cf + c0 + c];
      acc[c] += e * e;
    }
  }
  for (size_t c = 0; c < CB; ++c) channel_error[c0 + c] = static_cast<float>(acc[c] / static_cast<double>(steps));
}

// channel_error: one accumulator per channel, over t then s in order (the order is the
// definition; its chain of n * patch_length dependent adds is this loop's floor at any width),
// blocks of up to 8 channels.
VIGIL_ALWAYS_INLINE inline void channel_errors(const float* recon, const float* u, size_t steps, size_t cf,
                                               float* channel_error) {
  for (size_t c0 = 0; c0 < cf; c0 += 8) {
    switch (cf - c0 < 8 ? cf - c0 : 8) {
      case 1: channel_errors_block<1>(recon, u, steps, cf, c0, channel_error); break;
      case 2: channel_errors_block<2>(recon, u, steps, cf, c0, channel_error); break;
      case 3: channel_errors_block<3>(recon, u, steps, cf, c0, channel_error); break;
      case 4: channel_errors_block<4>(recon, u, steps, cf, c0, channel_error); break;
      case 5: channel_errors_block<5>(recon, u, steps, cf, c0, channel_error); break;
      case 6: channel_errors_block<6>(recon, u, steps, cf, c0, channel_error); break;
      case 7: channel_errors_block<7>(recon, u, steps, cf, c0, channel_error); break;
      default: channel_errors_block<8>(recon, u, steps, cf, c0, channel_error); break;
    }
  }
}

// patch_error: each token's sum over j in order, 8 tokens side by side (one token at a time is
// a latency-bound chain of pw dependent adds).
template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void patch_errors_form(const float* recon, const float* u, size_t n, size_t pw,
                                                  float* patch_error) {
  constexpr size_t kTokens = 8;
  for (size_t t0 = 0; t0 < n; t0 += kTokens) {
    const size_t tb = n - t0 < kTokens ? n - t0 : kTokens;
    if constexpr (kZmm) {
      // 8 tokens x 8 elements per step: the squares of each token's 8 elements (a vector per
      // token), transposed in registers to a vector per element (lanes = tokens), added in j
      // order. Tokens past tb and elements past pw are 0 (adding +0 to a sum of squares
      // changes no bit).
      D8 acc = {};
      for (size_t j0 = 0; j0 < pw; j0 += 8) {
        const size_t jb = pw - j0 < 8 ? pw - j0 : 8;
        D8 a[8];
        for (size_t i = 0; i < 8; ++i) {
          if (i < tb) {
            const D8 e = load8_as_double(recon + (t0 + i) * pw + j0, jb) - load8_as_double(u + (t0 + i) * pw + j0, jb);
            a[i] = e * e;
          } else {
            a[i] = D8{};
          }
        }
        D8 b[8], c[8];
        for (size_t i = 0; i < 8; i += 2) {  // b[i]: even elements of tokens i, i + 1; b[i + 1]: odd
          b[i] = __builtin_shufflevector(a[i], a[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
          b[i + 1] = __builtin_shufflevector(a[i], a[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
        }
        for (size_t i = 0; i < 8; i += 4) {  // c[i + k]: elements k and k + 4 of tokens i .. i + 3
          c[i] = __builtin_shufflevector(b[i], b[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
          c[i + 1] = __builtin_shufflevector(b[i + 1], b[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
          c[i + 2] = __builtin_shufflevector(b[i], b[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
          c[i + 3] = __builtin_shufflevector(b[i + 1], b[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
        }
        D8 col[8];  // col[j]: element j0 + j of the 8 tokens
        for (size_t k = 0; k < 4; ++k) {
          col[k] = __builtin_shufflevector(c[k], c[4 + k], 0, 1, 2, 3, 8, 9, 10, 11);
          col[k + 4] = __builtin_shufflevector(c[k], c[4 + k], 4, 5, 6, 7, 12, 13, 14, 15);
        }
        for (size_t j = 0; j < jb; ++j) acc += col[j];
      }
      for (size_t i = 0; i < tb; ++i) patch_error[t0 + i] = static_cast<float>(acc[i] / static_cast<double>(pw));
    } else {
      double acc[kTokens] = {};
      for (size_t j = 0; j < pw; ++j) {
        for (size_t i = 0; i < tb; ++i) {
          const double e = static_cast<double>(recon[(t0 + i) * pw + j]) - u[(t0 + i) * pw + j];
          acc[i] += e * e;
        }
      }
      for (size_t i = 0; i < tb; ++i) patch_error[t0 + i] = static_cast<float>(acc[i] / static_cast<double>(pw));
    }
  }
}

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void reconstruction_errors_form(const float* recon, const float* u,
    size_t n, size_t patch_length, size_t cf, float* patch_error, float* channel_error) {
  channel_errors(recon, u, n * patch_length, cf, channel_error);
  patch_errors_form<kZmm>(recon, u, n, patch_length * cf, patch_error);
}

}  // namespace

VIGIL_FLOAT_CLONES
void reconstruction_errors(const float* recon, const float* u, size_t n, size_t patch_length,
                           size_t channels, float* patch_error, float* channel_error) {
  VIGIL_ZMM_OR_PORTABLE(reconstruction_errors_form, recon, u, n, patch_length, channels, patch_error,
                        channel_error)
}

VIGIL_FLOAT_CLONES
void softmax(float* x, size_t n) {
  // Max and sum in 8 fixed lanes (the same order at every vector width), combined in a fixed
  // order: deterministic, and it vectorizes without -ffast-math.
  constexpr size_t kLanes = 8;
  float lane[kLanes];
  for (size_t l = 0; l < kLanes; ++l) lane[l] = x[0];
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
  }
  float mx = lane[0];
  for (size_t l = 1; l < kLanes; ++l) mx = lane[l] > mx ? lane[l] : mx;
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  for (size_t k = 0; k < n; ++k) x[k] = exp_nonpositive(x[k] - mx);
  for (size_t l = 0; l < kLanes; ++l) lane[l] = 0.0f;
  j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lane[l] += x[j + l];
  }
  double sum = 0.0;
  for (size_t l = 0; l < kLanes; ++l) sum += lane[l];
  for (; j < n; ++j) sum += x[j];
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t k = 0; k < n; ++k) x[k] *= inv;
}

float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752440f)); }

GeluTable make_gelu_table(float out_scale) {
  auto gelu_d = [](double x) { return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)); };
  // hi >= the input where GELU reaches y = 127 out_scale, without solving for it: for x >= 0,
  // GELU(x) >= x / 2 and x - GELU(x) = x (1 - Phi(x)) <= 0.170 (its maximum, near x = 0.75).
  const double y = 127.0 * static_cast<double>(out_scale);
  const double hi = std::min(2.0 * y, y + 0.171);
  // lo: every x <= lo has |GELU(x)| <= out_scale / 2, so it quantizes to 0 exactly as the
  // table's first entry does: |GELU(-x)| = x (1 - Phi(x)) <= phi(x) (Mills' ratio) for x > 0,
  // and phi(x) is decreasing, so x = phi^-1(out_scale / 2) is far enough.
  const double p = static_cast<double>(out_scale) * std::sqrt(2.0 * 3.14159265358979323846) / 2.0;
  const double lo = p >= 1.0 ? 0.0 : -std::sqrt(-2.0 * std::log(p));
  const double step = (hi - lo) / 254.0;
  GeluTable t;
  t.lo = static_cast<float>(lo);
  t.hi = static_cast<float>(hi);
  t.inv_step = static_cast<float>(1.0 / step);
  t.shift = static_cast<float>((-127.0 - lo / step) * step);
  for (int q = -127; q <= 127; ++q) {
    const double x = static_cast<double>(q) / static_cast<double>(t.inv_step) - static_cast<double>(t.shift);
    double v = gelu_d(x) / static_cast<double>(out_scale);
    v = std::min(127.0, std::max(-127.0, v));
    t.table[q + 128] = static_cast<int8_t>(v < 0.0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5));
  }
  t.table[0] = t.table[1];  // q = -128 is never produced (the epilogue clamps to -127)
  return t;
}

namespace {

// attention()'s body; kZmm: the 4-row blocks' scores and softmax in 16-lane vector
// accumulators (scores_4rows_zmm, softmax_4rows), for the x86-64-v4 function only. Both forms
// compute the same bits (engine_ops_test compares them).
template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void attention_heads(const float* qkv, size_t n, size_t d, size_t heads,
                                                size_t head_begin, size_t head_end, float* out,
                                                float* scratch) {
  const size_t dh = d / heads;
  const size_t ld = 3 * d;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  float* kt = scratch;          // [dh][n]
  float* s = scratch + dh * n;  // [kAttentionRows][n] score rows
  constexpr size_t kRows = kAttentionRows;  // the blocked loops below are written for 4
  static_assert(kRows == 4, "attention's row block is written out for 4 rows");
  constexpr size_t kBlock = 16;
  float inv[kRows];  // 1 / softmax sum per query row: P V is scaled once per output
  for (size_t h = head_begin; h < head_end; ++h) {
    const size_t qo = h * dh, ko = d + h * dh, vo = 2 * d + h * dh;
    if (n % 16 == 0 && dh % 16 == 0) {
      for (size_t m0 = 0; m0 < n; m0 += 16) {
        for (size_t t0 = 0; t0 < dh; t0 += 16) {
          transpose16x16<float, F16, I16>(qkv + m0 * ld + ko + t0, ld, kt + t0 * n + m0, n);
        }
      }
    } else {
      for (size_t m = 0; m < n; ++m) {
        for (size_t t = 0; t < dh; ++t) kt[t * n + m] = qkv[m * ld + ko + t];
      }
    }
    // Query rows in blocks of kRows (scores_4rows / pv_4rows): independent accumulators hide
    // the add latency. Every dot product (scores) and every output sum (P V) still runs over its
    // index in order, so the blocking changes speed only, never the result.
    size_t i0 = 0;
    for (; i0 + kRows <= n; i0 += kRows) {
      const float* q0 = qkv + i0 * ld + qo;
      size_t m0 = 0;
      F16 mx[kRows];  // kZmm: lane-wise running max of each row's scores
      if constexpr (kZmm) {
        for (F16& m : mx) m = F16{} - __builtin_huge_valf();
        for (; m0 + 4 * kBlock <= n; m0 += 4 * kBlock) {
          scores_4rows_zmm<4>(q0, ld, kt, n, m0, dh, scale, s, mx);
        }
        for (; m0 + kBlock <= n; m0 += kBlock) {
          scores_4rows_zmm<1>(q0, ld, kt, n, m0, dh, scale, s, mx);
        }
      } else {
        for (; m0 + kBlock <= n; m0 += kBlock) {
          scores_4rows<kBlock>(q0, ld, kt, n, m0, dh, scale, s);
        }
      }
      for (size_t r = 0; r < kRows; ++r) {
        const float* q = q0 + r * ld;
        for (size_t m = m0; m < n; ++m) {
          float acc = 0.0f;
          for (size_t t = 0; t < dh; ++t) acc += q[t] * kt[t * n + m];
          s[r * n + m] = acc * scale;
        }
        if constexpr (!kZmm) inv[r] = softmax_unnormalized(s + r * n, n);
      }
      if constexpr (kZmm) softmax_4rows(s, n, m0, mx, inv);
      float* o0 = out + i0 * d + h * dh;
      size_t t0 = 0;
      for (; t0 + kBlock <= dh; t0 += kBlock) pv_4rows<kBlock>(s, n, qkv + vo, ld, t0, o0, d, inv);
      for (size_t r = 0; r < kRows; ++r) {
        float* o = out + (i0 + r) * d + h * dh;
        for (size_t t = t0; t < dh; ++t) {
          float acc = 0.0f;
          for (size_t m = 0; m < n; ++m) acc += s[r * n + m] * qkv[m * ld + vo + t];
          o[t] = acc * inv[r];
        }
      }
    }
    for (size_t i = i0; i < n; ++i) {  // the last n % kRows rows, one at a time
      const float* q = qkv + i * ld + qo;
      size_t m0 = 0;
      for (; m0 + kBlock <= n; m0 += kBlock) {
        float acc[kBlock] = {};
        for (size_t t = 0; t < dh; ++t) {
          const float qt = q[t];
          const float* kr = kt + t * n + m0;
          for (size_t l = 0; l < kBlock; ++l) acc[l] += qt * kr[l];
        }
        for (size_t l = 0; l < kBlock; ++l) s[m0 + l] = acc[l] * scale;
      }
      for (size_t m = m0; m < n; ++m) {
        float acc = 0.0f;
        for (size_t t = 0; t < dh; ++t) acc += q[t] * kt[t * n + m];
        s[m] = acc * scale;
      }
      const float inv1 = softmax_unnormalized(s, n);
      float* o = out + i * d + h * dh;
      size_t t0 = 0;
      for (; t0 + kBlock <= dh; t0 += kBlock) {
        float acc[kBlock] = {};
        for (size_t m = 0; m < n; ++m) {
          const float p = s[m];
          const float* v = qkv + m * ld + vo + t0;
          for (size_t l = 0; l < kBlock; ++l) acc[l] += p * v[l];
        }
        for (size_t l = 0; l < kBlock; ++l) o[t0 + l] = acc[l] * inv1;
      }
      for (size_t t = t0; t < dh; ++t) {
        float acc = 0.0f;
        for (size_t m = 0; m < n; ++m) acc += s[m] * qkv[m * ld + vo + t];
        o[t] = acc * inv1;
      }
    }
  }
}

}  // namespace

#if VIGIL_X86_64_V4
VIGIL_TARGET_X86_64_V4
void attention_zmm(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
                   size_t head_end, float* out, float* scratch) {
  attention_heads<true>(qkv, n, d, heads, head_begin, head_end, out, scratch);
}
bool attention_zmm_runnable() { return x86_64_v4(); }
#else  // the same code in the baseline target (correct, not fast; not picked by attention())
void attention_zmm(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
                   size_t head_end, float* out, float* scratch) {
  attention_heads<true>(qkv, n, d, heads, head_begin, head_end, out, scratch);
}
bool attention_zmm_runnable() { return true; }
#endif

VIGIL_FLOAT_CLONES
void attention_portable(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
                        size_t head_end, float* out, float* scratch) {
  attention_heads<false>(qkv, n, d, heads, head_begin, head_end, out, scratch);
}

void attention(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
               size_t head_end, float* out, float* scratch) {
  if (x86_64_v4()) {
    attention_zmm(qkv, n, d, heads, head_begin, head_end, out, scratch);
  } else {
    attention_portable(qkv, n, d, heads, head_begin, head_end, out, scratch);
  }
}

namespace {

// 4 rows x B outputs of linear_f32's sums, each over k in order from 0 (the same sums as the
// one-row loop: blocking only adds independent accumulator chains).
template <size_t B>
VIGIL_ALWAYS_INLINE inline void linear_4rows(const float* a, size_t in, const float* wt, size_t ldw,
                                             float* t) {
  float c0[B], c1[B], c2[B], c3[B];
  mac_4rows<B>(a, in, wt, ldw, in, c0, c1, c2, c3);
  for (size_t l = 0; l < B; ++l) {
    t[l] = c0[l];
    t[B + l] = c1[l];
    t[2 * B + l] = c2[l];
    t[3 * B + l] = c3[l];
  }
}

}  // namespace

// The x86-64-v4 form of linear_4rows<32>: 4 rows x 2 vectors of F16 accumulators (8 registers;
// the float arrays of the plain form made GCC keep them on the stack, one load and one store per
// add). The same products and the same per-output sum over k in order: the same bits.
VIGIL_ALWAYS_INLINE inline void linear_4rows_zmm32(const float* a, size_t in, const float* wt, size_t ldw,
                                                   float* t) {
  F16 c[4][2] = {};
  for (size_t k = 0; k < in; ++k) {
    const F16 w0 = load16(wt + k * ldw), w1 = load16(wt + k * ldw + 16);
    for (size_t r = 0; r < 4; ++r) {
      const float av = a[r * in + k];
      c[r][0] += av * w0;
      c[r][1] += av * w1;
    }
  }
  for (size_t r = 0; r < 4; ++r) {
    store16(t + r * 32, c[r][0]);
    store16(t + r * 32 + 16, c[r][1]);
  }
}

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void linear_f32_form(const float* a, size_t m, size_t in, size_t out_features,
                                                const float* wt, const float* bias, bool gelu_act,
                                                bool accumulate, float* out, size_t ldo) {
  // Rows are computed into `tmp` in chunks of kChunk outputs (no allocation), then bias, GELU
  // and the store / residual add. Whole blocks of 4 rows x kB outputs go through
  // linear_4rows (more independent add chains); the rest one row at a time. Every output is
  // the same sum over k in order either way.
  constexpr size_t kChunk = 256;
  constexpr size_t kB = 32;
  constexpr size_t kRows4 = 4;
  float tmp[kChunk];
  float blk[kRows4 * kB];
  auto finish = [&](const float* t, size_t o0, size_t nb, float* orow) {
    for (size_t o = 0; o < nb; ++o) tmp[o] = t[o];
    if (bias != nullptr) {
      for (size_t o = 0; o < nb; ++o) tmp[o] += bias[o0 + o];
    }
    if (gelu_act) {
      for (size_t o = 0; o < nb; ++o) tmp[o] = gelu(tmp[o]);
    }
    if (accumulate) {
      for (size_t o = 0; o < nb; ++o) orow[o0 + o] += tmp[o];
    } else {
      for (size_t o = 0; o < nb; ++o) orow[o0 + o] = tmp[o];
    }
  };
  constexpr size_t kB2 = kB / 2;
  const size_t full = out_features / kB2 * kB2;
  size_t r = 0;
  for (; r + kRows4 <= m && full > 0; r += kRows4) {
    const float* ar = a + r * in;
    size_t o0 = 0;
    for (; o0 + kB <= full; o0 += kB) {
      if constexpr (kZmm) {
        linear_4rows_zmm32(ar, in, wt + o0, out_features, blk);
      } else {
        linear_4rows<kB>(ar, in, wt + o0, out_features, blk);
      }
      for (size_t i = 0; i < kRows4; ++i) finish(blk + i * kB, o0, kB, out + (r + i) * ldo);
    }
    if (o0 < full) {  // one block of kB / 2
      linear_4rows<kB2>(ar, in, wt + o0, out_features, blk);
      for (size_t i = 0; i < kRows4; ++i) finish(blk + i * kB2, o0, kB2, out + (r + i) * ldo);
    }
    for (size_t i = 0; i < kRows4 && full < out_features; ++i) {
      const float* ari = ar + i * in;
      const size_t nb = out_features - full;
      float t[kB];
      for (size_t o = 0; o < nb; ++o) t[o] = 0.0f;
      for (size_t k = 0; k < in; ++k) {
        const float av = ari[k];
        const float* w = wt + k * out_features + full;
        for (size_t o = 0; o < nb; ++o) t[o] += av * w[o];
      }
      finish(t, full, nb, out + (r + i) * ldo);
    }
  }
  for (; r < m; ++r) {
    const float* ar = a + r * in;
    float* orow = out + r * ldo;
    for (size_t o0 = 0; o0 < out_features; o0 += kChunk) {
      const size_t nb = out_features - o0 < kChunk ? out_features - o0 : kChunk;
      float t[kChunk];
      for (size_t o = 0; o < nb; ++o) t[o] = 0.0f;
      for (size_t k = 0; k < in; ++k) {
        const float av = ar[k];
        const float* w = wt + k * out_features + o0;
        for (size_t o = 0; o < nb; ++o) t[o] += av * w[o];
      }
      finish(t, o0, nb, orow);
    }
  }
}

VIGIL_FLOAT_CLONES
void linear_f32(const float* a, size_t m, size_t in, size_t out_features, const float* wt,
                const float* bias, bool gelu_act, bool accumulate, float* out, size_t ldo) {
  VIGIL_ZMM_OR_PORTABLE(linear_f32_form, a, m, in, out_features, wt, bias, gelu_act, accumulate, out, ldo)
}

namespace {

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void quantize_form(const float* __restrict x, size_t n, float inv_scale,
    int8_t* __restrict q) {
  // Clamp first (rounding is monotone, so clamp-then-round == round-then-clamp), written so a
  // NaN lands on -127 instead of reaching the int conversion; then exact half-away rounding
  // (round_clamp16).
  quantize_row<kZmm>(x, n, inv_scale, q);
}

}  // namespace

VIGIL_FLOAT_CLONES
void quantize(const float* __restrict x, size_t n, float inv_scale, int8_t* __restrict q) {
  VIGIL_ZMM_OR_PORTABLE(quantize_form, x, n, inv_scale, q)
}

namespace {

// Q or K of 16 rows of one head (x0: the first row's dh floats, row stride ld; dh % 16 == 0),
// the x86-64-v4 form of the row loop in quantize_attention_operands_form, the same bits: each
// slice's lane-wise |max| folded to one vector, the 16 rows' maxima reduced together
// (hmax16_16rows), the 16 scales (mx / kL) * scale_mul as vectors (IEEE division per lane;
// scale_mul 1 leaves mx / kL exact), each row quantized by kL / mx.
VIGIL_ALWAYS_INLINE inline void quantize_qk_16rows(const float* x0, size_t ld, size_t dh, float kL,
                                                   float scale_mul, float* scale, int16_t* q) {
  U16 m[16];
  for (size_t r = 0; r < 16; ++r) {
    U16 mr = {};
    for (size_t j = 0; j < dh; j += 16) {
      U16 b;
      std::memcpy(&b, x0 + r * ld + j, sizeof b);
      b &= 0x7fffffffu;
      mr = b > mr ? b : mr;
    }
    m[r] = mr;
  }
  const U16 mb = hmax16_16rows(m);
  F16 mx;
  std::memcpy(&mx, &mb, sizeof mx);
  const F16 inv = mx > 0.0f ? kL / mx : F16{};
  store16(scale, (mx / kL) * scale_mul);
  for (size_t r = 0; r < 16; ++r) quantize_row_s16_zmm(x0 + r * ld, dh, inv[r], kL, q + r * dh);
}

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline void quantize_attention_operands_form(const float* qkv, size_t n,
    size_t d, size_t head_begin, size_t head_end, size_t dh, float k_scale_mul, int32_t qk_levels,
    int16_t* q16, float* sq, int16_t* k16, float* ck, int8_t* v8t, float* sv, int32_t* colsum,
    uint32_t* vmax_bits, int8_t* vblock) {
  const float kL = static_cast<float>(qk_levels);
  const size_t ld = 3 * d;
  const size_t hc = head_end - head_begin;
  const size_t vc = hc * dh;  // V columns of these heads
  constexpr size_t kBlock = 64;
  // Pass 1: the V column maxima; Q and K quantized per (row, head) slice.
  const float* v0 = qkv + 2 * d + head_begin * dh;  // row i's V columns at v0 + i * ld
  size_t cz = 0;  // columns done in registers
  if constexpr (kZmm) {
    // Whole 16-column blocks, 4 at a time, their maxima in registers over all rows (in memory,
    // each row's max was a load and a store in the chain of the next row's).
    for (; cz + 16 <= vc; ) {
      const size_t nb = std::min<size_t>(4, (vc - cz) / 16);
      U16 m[4] = {};
      for (size_t i = 0; i < n; ++i) {
        for (size_t k = 0; k < 4; ++k) {
          if (k < nb) {
            U16 b;
            std::memcpy(&b, v0 + i * ld + cz + 16 * k, sizeof b);
            b &= 0x7fffffffu;
            m[k] = b > m[k] ? b : m[k];
          }
        }
      }
      for (size_t k = 0; k < nb; ++k) std::memcpy(vmax_bits + cz + 16 * k, &m[k], sizeof m[k]);
      cz += 16 * nb;
    }
  }
  for (size_t c = cz; c < vc; ++c) vmax_bits[c] = 0;
  for (size_t i = 0; i < n; ++i) {
    const float* v = v0 + i * ld;
    for (size_t c = cz; c < vc; ++c) {
      uint32_t b;
      std::memcpy(&b, v + c, sizeof b);
      b &= 0x7fffffffu;
      vmax_bits[c] = b > vmax_bits[c] ? b : vmax_bits[c];
    }
  }
  size_t i = 0;
  if constexpr (kZmm) {
    if (dh % 16 == 0) {  // whole blocks of 16 rows (quantize_qk_16rows)
      for (; i + 16 <= n; i += 16) {
        for (size_t hh = 0; hh < hc; ++hh) {
          const float* x0 = qkv + i * ld + (head_begin + hh) * dh;
          quantize_qk_16rows(x0, ld, dh, kL, 1.0f, sq + hh * n + i, q16 + (hh * n + i) * dh);
          quantize_qk_16rows(x0 + d, ld, dh, kL, k_scale_mul, ck + hh * n + i, k16 + (hh * n + i) * dh);
        }
      }
    }
  }
  // The rest (every row in the portable form, 16 rows at a time there: the 16 slices' maxima
  // first, then their scales and quantization, so the slices' max -> division -> quantize
  // chains overlap instead of running one after the other; the same operations per slice).
  constexpr size_t kRows = kZmm ? 1 : 16;
  while (i < n) {
    const size_t rb = std::min<size_t>(kRows, n - i);
    for (size_t hh = 0; hh < hc; ++hh) {
      const size_t h = head_begin + hh;
      for (int part = 0; part < 2; ++part) {
        float mxs[kRows];
        for (size_t r = 0; r < rb; ++r) mxs[r] = abs_max_bits<kZmm>(qkv + (i + r) * ld + part * d + h * dh, dh);
        for (size_t r = 0; r < rb; ++r) {
          const float* x = qkv + (i + r) * ld + part * d + h * dh;
          const float mx = mxs[r];
          const float inv = mx > 0.0f ? kL / mx : 0.0f;
          int16_t* q = (part == 0 ? q16 : k16) + (hh * n + i + r) * dh;
          if (part == 0) {
            sq[hh * n + i + r] = mx / kL;
          } else {
            ck[hh * n + i + r] = (mx / kL) * k_scale_mul;
          }
          if constexpr (kZmm) {
            quantize_row_s16_zmm(x, dh, inv, kL, q);
          } else {
            quantize_block_portable<int16_t>(x, dh, inv, q, kL);
          }
        }
      }
    }
    i += rb;
  }
  // V scales per column; vmax_bits then holds 127 / max as float bits (the quantization factor).
  float* inv = reinterpret_cast<float*>(vmax_bits);
  for (size_t c = 0; c < vc; ++c) {
    float mx;
    std::memcpy(&mx, vmax_bits + c, sizeof mx);
    sv[c] = mx / 127.0f;
    inv[c] = mx > 0.0f ? 127.0f / mx : 0.0f;
    colsum[c] = 0;
  }
  // Pass 2, blocks of kBlock rows: V quantized row by row into vblock [rows][vc], then written
  // transposed (v8t[c][m], c = head * dh + t) with the column sums.
  for (size_t m0 = 0; m0 < n; m0 += kBlock) {
    const size_t rb = n - m0 < kBlock ? n - m0 : kBlock;
    if constexpr (kZmm) {
      // Whole 16-column blocks, 4 at a time over the block's rows, their column sums in
      // registers (integer: the order is free); then the last vc % 16 columns row by row.
      const size_t c16 = vc / 16 * 16;
      for (size_t c0 = 0; c0 < c16; ) {
        const size_t nb = std::min<size_t>(4, (c16 - c0) / 16);
        F16 f[4];
        I16 cs[4];
        for (size_t k = 0; k < 4; ++k) {
          if (k < nb) {
            f[k] = load16(inv + c0 + 16 * k);
            cs[k] = load16i(colsum + c0 + 16 * k);
          }
        }
        for (size_t r = 0; r < rb; ++r) {
          const float* v = v0 + (m0 + r) * ld + c0;
          int8_t* q = vblock + r * vc + c0;
          for (size_t k = 0; k < 4; ++k) {
            if (k < nb) {
              const I16 qi = round_clamp16i(load16(v + 16 * k) * f[k]);
              store16b(q + 16 * k, __builtin_convertvector(qi, B16));
              cs[k] += qi;
            }
          }
        }
        for (size_t k = 0; k < nb; ++k) std::memcpy(colsum + c0 + 16 * k, &cs[k], sizeof cs[k]);
        c0 += 16 * nb;
      }
      for (size_t r = 0; r < rb && c16 < vc; ++r) {
        const float* v = v0 + (m0 + r) * ld;
        float y[16];  // the last vc % 16 columns
        for (size_t c = c16; c < vc; ++c) y[c - c16] = v[c] * inv[c];
        quantize_block(y, vc - c16, 1.0f, vblock + r * vc + c16);
      }
    } else {  // row by row: v * inv rounded as quantize_block(v * inv, 1), the same bits
      for (size_t r = 0; r < rb; ++r) {
        const float* v = v0 + (m0 + r) * ld;
        int8_t* q = vblock + r * vc;
        float y[64];
        for (size_t c0 = 0; c0 < vc; c0 += 64) {
          const size_t m = vc - c0 < 64 ? vc - c0 : 64;
          for (size_t c = 0; c < m; ++c) y[c] = v[c0 + c] * inv[c0 + c];
          quantize_block_portable(y, m, 1.0f, q + c0);
        }
        for (size_t c = 0; c < vc; ++c) colsum[c] += q[c];
      }
    }
    // The remaining columns' sums (integer: any order is exact), then the byte transpose.
    for (size_t c = kZmm ? vc / 16 * 16 : vc; c < vc; ++c) {
      int32_t sum = 0;
      for (size_t r = 0; r < rb; ++r) sum += vblock[r * vc + c];
      colsum[c] += sum;
    }
    size_t r16 = 0;
    if (vc % 16 == 0) {
      for (; r16 + 16 <= rb; r16 += 16) {
        for (size_t c0 = 0; c0 < vc; c0 += 16) {
          transpose16x16<int8_t, B16, U8x16>(vblock + r16 * vc + c0, vc, v8t + c0 * n + m0 + r16, n);
        }
      }
    }
    for (size_t c = 0; c < vc; ++c) {
      int8_t* dst = v8t + c * n + m0;
      for (size_t r = r16; r < rb; ++r) dst[r] = vblock[r * vc + c];
    }
  }
}

}  // namespace

VIGIL_FLOAT_CLONES
void quantize_attention_operands(const float* qkv, size_t n, size_t d, size_t head_begin,
                                 size_t head_end, size_t dh, float k_scale_mul, int32_t qk_levels,
                                 int16_t* q16, float* sq, int16_t* k16, float* ck, int8_t* v8t,
                                 float* sv, int32_t* colsum, uint32_t* vmax_bits, int8_t* vblock) {
  VIGIL_ZMM_OR_PORTABLE(quantize_attention_operands_form, qkv, n, d, head_begin, head_end, dh,
                        k_scale_mul, qk_levels, q16, sq, k16, ck, v8t, sv, colsum, vmax_bits, vblock)
}

VIGIL_FLOAT_CLONES
void attention_scores_s16(const int16_t* q, size_t rows, const int16_t* k, size_t n, size_t dh,
                          int32_t* s) {
  // Integer sums: exact in any order (|sum| < 2^31, ops.h), so the vectorizer
  // may reduce over t as it likes (a multiply-add of int16 pairs on x86, widening on NEON).
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < n; ++j) s[r * n + j] = kernels::dot_s16(q + r * dh, k + j * dh, dh);
  }
}

namespace {

template <bool kZmm>
VIGIL_ALWAYS_INLINE inline int32_t softmax_row_u8_form(const int32_t* acc, size_t n,
    float row_scale, const float* col_scale, float* tmp, int8_t* p) {
  // y = s log2(e) = (acc * (row_scale log2 e)) * col_scale, its max taken in the same pass
  // through the order-preserving integer image (see max_ordered).
  const float rs2 = row_scale * kernels::softmax_u8::kLog2e;
  // The x86-64-v4 form takes whole 16-lane blocks first; the portable one (and the v4 tail)
  // the row loops below, which vectorize at any width (see quantize_block_portable).
  const size_t n16 = kZmm ? n / 16 * 16 : 0;
  int32_t m = INT32_MIN;
  if constexpr (kZmm) {
    I16 m16 = I16{} + INT32_MIN;
    for (size_t j = 0; j < n16; j += 16) {
      const F16 y = (__builtin_convertvector(load16i(acc + j), F16) * rs2) * load16(col_scale + j);
      store16(tmp + j, y);
      I16 b;
      std::memcpy(&b, &y, sizeof b);
      b = ordered_image(b);
      m16 = b > m16 ? b : m16;
    }
    for (size_t l = 0; l < 16; ++l) m = m16[l] > m ? m16[l] : m;
  }
  for (size_t j = n16; j < n; ++j) {
    const float y = (static_cast<float>(acc[j]) * rs2) * col_scale[j];
    tmp[j] = y;
    int32_t b;
    std::memcpy(&b, &y, sizeof b);
    b = ordered_image(b);
    m = b > m ? b : m;
  }
  m = ordered_image(m);
  float mx;
  std::memcpy(&mx, &m, sizeof mx);
  // t = 255 * 2^(y - max) in [0, 255] (exactly 255 at the max): rounding half up is
  // truncation of t + 0.5.
  int32_t sum = 0;
  if constexpr (kZmm) {
    I16 sum16 = {};
    for (size_t k = 0; k < n16; k += 16) {
      const I16 u =
          __builtin_convertvector(exp2_255_nonpositive<F16, I16>(load16(tmp + k) - mx) + 0.5f, I16);
      sum16 += u;
      store16b(p + k, __builtin_convertvector(u - 128, B16));
    }
    for (size_t l = 0; l < 16; ++l) sum += sum16[l];
  }
#if defined(__aarch64__)
  // One loop on aarch64: std::fmax vectorizes there (fmaxnm) and is the spec's clamp (the
  // select maps NaN to kMinY, and so does fmax; -0 stays -0 either way).
  for (size_t k = n16; k < n; ++k) {
    const float y = std::fmax(tmp[k] - mx, kernels::softmax_u8::kMinY);
    const int u = static_cast<int>(exp2_255_clamped(y) + 0.5f);
    sum += u;
    p[k] = static_cast<int8_t>(u - 128);
  }
#else
  for (size_t k = n16; k < n; ++k) {  // exp2_255_nonpositive as its clamp, then the rest
    const float y = tmp[k] - mx;
    tmp[k] = y > kernels::softmax_u8::kMinY ? y : kernels::softmax_u8::kMinY;
  }
  for (size_t k = n16; k < n; ++k) {
    const int u = static_cast<int>(exp2_255_clamped(tmp[k]) + 0.5f);
    sum += u;
    p[k] = static_cast<int8_t>(u - 128);
  }
#endif
  return sum;
}

}  // namespace

VIGIL_FLOAT_CLONES
int32_t softmax_row_u8(const int32_t* acc, size_t n, float row_scale, const float* col_scale,
                       float* tmp, int8_t* p) {
  VIGIL_ZMM_OR_PORTABLE(softmax_row_u8_form, acc, n, row_scale, col_scale, tmp, p)
}

VIGIL_FLOAT_CLONES
float abs_max(const float* x, size_t n) {
  float mx = 0.0f;
  for (size_t j = 0; j < n; ++j) {
    const float a = std::fabs(x[j]);
    mx = a > mx ? a : mx;
  }
  return mx;
}

void force_float_forms(FloatForms forms) { g_forms = forms; }

}  // namespace vigil::ops
