// attention_u8u8__neon_dot: one head of the engine's int8 attention (engine/attention_int8.h)
// for the neon_dot table, fused: the int16 scores of 4 query rows (attention_scores_neon.h),
// the u8 softmax of ops::softmax_row_u8 (the specification; constants in
// attention_int8_spec.h) in 4-lane vectors, and P V by udot, instead of the composition's
// run-time packing of V^T into the GEMM's panels, per-row softmax calls, the u - 128 round
// trip, an int32 output tile and a separate scaling pass.
//
// Exactness (the bits of the composed path; engine_ops_test compares every table):
// - scores: exact int32 (attention_scores_kt_neon on K transposed once per head).
// - softmax: softmax_u8_neon.h (shared with the neon table's composed attention).
// - P V: udot of u (u8) with v ^ 0x80 = v + 128 (u8) gives sum u v + 128 sum u; the second
//   term is subtracted exactly (128 * the row's u sum). Then out = ((float)O * sv[t]) * inv,
//   inv = 1 / (float)sum, as the composition.
#include <arm_neon.h>

#include <cstring>
#include <type_traits>

#include "kernels/attention_int8_spec.h"
#include "kernels/attention_scores_neon.h"
#include "kernels/kernels.h"
#include "kernels/softmax_u8_neon.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "this file must be compiled with -march=armv8.2-a+dotprod (kernels.cmake)"
#endif

namespace vigil::kernels {
namespace {

constexpr size_t kRows = 4;  // query rows per block

constexpr size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// Scratch of one head: s32 [kRows][n] (the scores), y [n] (one row's scaled scores), ub
// [kRows][n16] (u, 0 past n), vp [n16 / 4][dhp] dwords (bytes v8t[t][4g..4g+3] ^ 0x80 at
// [g][t]; 0x80 past n and dh), kt [dh][n16] (K transposed, int16, 0 past n).
struct Layout {
  size_t n16, dhp, s32, y, ub, vp, kt, total;
};

Layout layout(size_t n, size_t dh) {
  Layout l{};
  l.n16 = round_up(n, 16);
  l.dhp = round_up(dh, 4);
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t o = off;
    off += round_up(bytes, 64);
    return o;
  };
  l.s32 = take(kRows * n * 4);
  l.y = take(n * 4);
  l.ub = take(kRows * l.n16);
  l.vp = take(l.n16 / 4 * l.dhp * 4);
  l.kt = take(dh * l.n16 * 2);
  l.total = off;
  return l;
}

// V^T's bytes regrouped for udot: vp[g][t] = v8t[t][4g..4g+3] ^ 0x80.
// Whole 4 x 16-byte blocks (4 rows t of v8t, 16 keys) by a 4 x 4 dword transpose; the edges
// (dh % 4 rows, n % 16 keys) byte by byte.
void prepare_v(const AttentionHead& h, const Layout& l, uint8_t* vp) {
  const size_t n = h.n, dh = h.dh;
  std::memset(vp, 0x80, l.n16 / 4 * l.dhp * 4);
  const uint8_t* v = reinterpret_cast<const uint8_t*>(h.v8t);
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const size_t d4 = dh / 4 * 4, n16 = n / 16 * 16;
  for (size_t t = 0; t < d4; t += 4) {
    for (size_t j = 0; j < n16; j += 16) {
      const uint32x4_t r0 = vreinterpretq_u32_u8(veorq_u8(vld1q_u8(v + t * n + j), flip));
      const uint32x4_t r1 = vreinterpretq_u32_u8(veorq_u8(vld1q_u8(v + (t + 1) * n + j), flip));
      const uint32x4_t r2 = vreinterpretq_u32_u8(veorq_u8(vld1q_u8(v + (t + 2) * n + j), flip));
      const uint32x4_t r3 = vreinterpretq_u32_u8(veorq_u8(vld1q_u8(v + (t + 3) * n + j), flip));
      // out[g] lane c = r_c[g]: dword g (keys j + 4g..) of rows t..t+3
      const uint64x2_t a = vreinterpretq_u64_u32(vtrn1q_u32(r0, r1)), b = vreinterpretq_u64_u32(vtrn2q_u32(r0, r1));
      const uint64x2_t c = vreinterpretq_u64_u32(vtrn1q_u32(r2, r3)), d = vreinterpretq_u64_u32(vtrn2q_u32(r2, r3));
      uint8_t* dst = vp + ((j / 4) * l.dhp + t) * 4;
      vst1q_u8(dst, vreinterpretq_u8_u64(vtrn1q_u64(a, c)));
      vst1q_u8(dst + l.dhp * 4, vreinterpretq_u8_u64(vtrn1q_u64(b, d)));
      vst1q_u8(dst + 2 * l.dhp * 4, vreinterpretq_u8_u64(vtrn2q_u64(a, c)));
      vst1q_u8(dst + 3 * l.dhp * 4, vreinterpretq_u8_u64(vtrn2q_u64(b, d)));
    }
  }
  for (size_t t = 0; t < dh; ++t) {
    const size_t j0 = t < d4 ? n16 : 0;
    for (size_t j = j0; j < n; ++j) vp[((j / 4) * l.dhp + t) * 4 + j % 4] = v[t * n + j] ^ 0x80u;
  }
}

// ops::softmax_row_u8 of one row of scores acc (n values; y: n floats of scratch), u into ub
// (0 from n to n16, which is a multiple of 16); returns the sum of u.
inline int32_t softmax_row(const int32_t* acc, size_t n, float row_scale, const float* ck, float* y_row,
                           uint8_t* ub) {
  return softmax_row_u8_neon<false>(acc, n, row_scale, ck, y_row, ub);
}

// out rows i0..i0+R-1: O = sum_j u[r][j] v[j][t] by udot (4 keys per dword, 16 per u load,
// 4 columns per accumulator), O = acc - 128 sum_r, then ((float)O * sv[t]) * inv_r.
template <int R>
void pv_rows(const AttentionHead& h, const Layout& l, const uint8_t* ub, const uint8_t* vp, size_t i0,
             const int32_t* sum, const float* inv) {
  const size_t dh = h.dh;
  for (size_t t0 = 0; t0 < l.dhp; t0 += 16) {  // up to 4 column vectors of 4 at a time
    const size_t tv = (l.dhp - t0) / 4 < 4 ? (l.dhp - t0) / 4 : 4;
    uint32x4_t acc[R][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) acc[r][c] = vdupq_n_u32(0);
    }
    for (size_t j0 = 0; j0 < l.n16; j0 += 16) {
      uint8x16_t a[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) a[r] = vld1q_u8(ub + r * l.n16 + j0);
      const uint8_t* g0 = vp + (j0 / 4 * l.dhp + t0) * 4;
      auto lane = [&](auto kLane) __attribute__((always_inline)) {
        constexpr int L = decltype(kLane)::value;
        const uint8_t* g = g0 + L * l.dhp * 4;
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          if (static_cast<size_t>(c) >= tv) break;
          const uint8x16_t v = vld1q_u8(g + c * 16);
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) acc[r][c] = vdotq_laneq_u32(acc[r][c], v, a[r], L);
        }
      };
      lane(std::integral_constant<int, 0>{});
      lane(std::integral_constant<int, 1>{});
      lane(std::integral_constant<int, 2>{});
      lane(std::integral_constant<int, 3>{});
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      float* o = h.out + (i0 + r) * h.ldo;
      const int32x4_t corr = vdupq_n_s32(128 * sum[r]);
      const float32x4_t vi = vdupq_n_f32(inv[r]);
      for (size_t c = 0; c < tv; ++c) {
        const size_t t = t0 + c * 4;
        const int32x4_t x = vsubq_s32(vreinterpretq_s32_u32(acc[r][c]), corr);
        if (t + 4 <= dh) {
          const float32x4_t v = vmulq_f32(vmulq_f32(vcvtq_f32_s32(x), vld1q_f32(h.sv + t)), vi);
          vst1q_f32(o + t, v);
        } else {
          int32_t xs[4];
          vst1q_s32(xs, x);
          for (size_t k = t; k < dh; ++k) o[k] = (static_cast<float>(xs[k - t]) * h.sv[k]) * inv[r];
        }
      }
    }
  }
}

template <int R>
void row_block(const AttentionHead& h, const Layout& l, uint8_t* s, size_t i0) {
  int32_t* s32 = reinterpret_cast<int32_t*>(s + l.s32);
  uint8_t* ub = s + l.ub;
  attention_scores_kt_neon(h.q16 + i0 * h.dh, R, reinterpret_cast<const int16_t*>(s + l.kt), l.n16, h.n, h.dh,
                           s32);
  int32_t sum[R];
  float inv[R];
  for (int r = 0; r < R; ++r) {
    sum[r] = softmax_row(s32 + r * h.n, h.n, h.sq[i0 + r], h.ck, reinterpret_cast<float*>(s + l.y), ub + r * l.n16);
    inv[r] = 1.0f / static_cast<float>(sum[r]);
  }
  pv_rows<R>(h, l, ub, s + l.vp, i0, sum, inv);
}

}  // namespace

size_t attention_u8u8_scratch__neon_dot(size_t n, size_t dh) { return layout(n, dh).total; }

void attention_u8u8__neon_dot(const AttentionHead& h) {
  const Layout l = layout(h.n, h.dh);
  uint8_t* s = static_cast<uint8_t*>(h.scratch);
  prepare_v(h, l, s + l.vp);
  transpose_k_s16(h.k16, h.n, h.dh, reinterpret_cast<int16_t*>(s + l.kt), l.n16);
  size_t i0 = 0;
  for (; i0 + kRows <= h.n; i0 += kRows) row_block<kRows>(h, l, s, i0);
  switch (h.n - i0) {
    case 3: row_block<3>(h, l, s, i0); break;
    case 2: row_block<2>(h, l, s, i0); break;
    case 1: row_block<1>(h, l, s, i0); break;
    default: break;
  }
}

}  // namespace vigil::kernels
