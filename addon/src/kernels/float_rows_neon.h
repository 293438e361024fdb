// NEON forms of four of the engine's float operators (engine/ops.cc is the specification):
// ops::quantize, ops::layer_norm_quantize, ops::quantize_attention_operands and ops::linear_f32
// (without GELU), for the neon and neon_dot tables. On armv7 GCC
// vectorizes no float loop (armv7 NEON is not IEEE: it flushes subnormals, so GCC keeps float
// code in scalar VFP without -funsafe-math-optimizations) and these ran lane by lane (~1 M of
// a tiny forward's 6.7 M instructions; now ~0.2 M); on aarch64 they also take fewer
// instructions than GCC's vectorization of the engine's loops (LayerNorm 200 K -> 131 K per
// tiny forward). Element-wise in the specification's order with the same lane assignment for
// the sums, so the bits are the engine's (aarch64: always; armv7: whenever the operands and
// results are normal or zero, epilogue_neon.h: a subnormal reads as 0 on armv7 NEON, and
// quantizes to 0 either way). Header-only, anonymous namespace: compiled with the including
// file's flags.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/epilogue_impl.h"
#include "kernels/epilogue_neon.h"
#include "kernels/layer_norm_spec.h"

namespace vigil::kernels {
namespace {

// 16 values of y quantized with requant_vec (y * inv, clamped, rounded half away) to q.
inline __attribute__((always_inline)) void quantize16(float32x4_t y0, float32x4_t y1, float32x4_t y2,
                                                      float32x4_t y3, float inv, int8_t* q) {
  const int16x8_t lo = vcombine_s16(vmovn_s32(requant_vec(y0, inv)), vmovn_s32(requant_vec(y1, inv)));
  const int16x8_t hi = vcombine_s16(vmovn_s32(requant_vec(y2, inv)), vmovn_s32(requant_vec(y3, inv)));
  vst1q_s8(q, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
}

// QuantizeFn: ops::quantize.
void quantize_neon(const float* x, size_t n, float inv_scale, int8_t* q) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    quantize16(vld1q_f32(x + i), vld1q_f32(x + i + 4), vld1q_f32(x + i + 8), vld1q_f32(x + i + 12), inv_scale,
               q + i);
  }
  for (; i < n; ++i) q[i] = quantize_round_inline(x[i] * inv_scale);
}

// layer_norm_spec::tree_sum16 of the 16 lanes a0 | a1 | a2 | a3 (lane 4 k + i = register k's lane
// i): on aarch64 in float64x2 registers, the same additions in the same tree (l[i] = f[i] +
// f[i + 8], then ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))), ~16 instructions instead of
// ~45 through a stack copy; armv7 NEON has no double lanes.
inline __attribute__((always_inline)) double tree_sum16_neon(float32x4_t a0, float32x4_t a1, float32x4_t a2,
                                                            float32x4_t a3) {
#if defined(__aarch64__)
  const float64x2_t l01 = vaddq_f64(vcvt_f64_f32(vget_low_f32(a0)), vcvt_f64_f32(vget_low_f32(a2)));
  const float64x2_t l23 = vaddq_f64(vcvt_high_f64_f32(a0), vcvt_high_f64_f32(a2));
  const float64x2_t l45 = vaddq_f64(vcvt_f64_f32(vget_low_f32(a1)), vcvt_f64_f32(vget_low_f32(a3)));
  const float64x2_t l67 = vaddq_f64(vcvt_high_f64_f32(a1), vcvt_high_f64_f32(a3));
  // [(l0 + l4) + (l2 + l6), (l1 + l5) + (l3 + l7)], then lane 0 + lane 1
  const float64x2_t t = vaddq_f64(vaddq_f64(l01, l45), vaddq_f64(l23, l67));
  return vgetq_lane_f64(t, 0) + vgetq_lane_f64(t, 1);
#else
  float lanes[16];
  vst1q_f32(lanes, a0);
  vst1q_f32(lanes + 4, a1);
  vst1q_f32(lanes + 8, a2);
  vst1q_f32(lanes + 12, a3);
  return layer_norm_spec::tree_sum16(lanes);
#endif
}

// LayerNormQuantizeFn: ops::layer_norm_quantize's portable form (row_stats_portable, then each
// element's (x - mean) * rstd * w + b quantized). The 16 float lanes of the sums are the four
// q registers' lanes in order (lane 4 k + i is register k's lane i).
void layer_norm_quantize_neon(const float* x, size_t rows, size_t d, const float* w, const float* b, float eps,
                              float inv_scale, int8_t* q) {
  namespace lns = layer_norm_spec;
  const size_t d16 = d / 16 * 16;
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    int8_t* qr = q + r * d;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < d16; j += 16) {
      a0 = vaddq_f32(a0, vld1q_f32(xr + j));
      a1 = vaddq_f32(a1, vld1q_f32(xr + j + 4));
      a2 = vaddq_f32(a2, vld1q_f32(xr + j + 8));
      a3 = vaddq_f32(a3, vld1q_f32(xr + j + 12));
    }
    double sum = tree_sum16_neon(a0, a1, a2, a3);
    for (size_t j = d16; j < d; ++j) sum += xr[j];
    const float mean = lns::finish_mean(sum, d);
    const float32x4_t m = vdupq_n_f32(mean);
    a0 = a1 = a2 = a3 = vdupq_n_f32(0.0f);
    for (size_t j = 0; j < d16; j += 16) {
      const float32x4_t c0 = vsubq_f32(vld1q_f32(xr + j), m), c1 = vsubq_f32(vld1q_f32(xr + j + 4), m);
      const float32x4_t c2 = vsubq_f32(vld1q_f32(xr + j + 8), m), c3 = vsubq_f32(vld1q_f32(xr + j + 12), m);
      a0 = vaddq_f32(a0, vmulq_f32(c0, c0));
      a1 = vaddq_f32(a1, vmulq_f32(c1, c1));
      a2 = vaddq_f32(a2, vmulq_f32(c2, c2));
      a3 = vaddq_f32(a3, vmulq_f32(c3, c3));
    }
    sum = tree_sum16_neon(a0, a1, a2, a3);
    for (size_t j = d16; j < d; ++j) {
      const float c = xr[j] - mean;
      sum += c * c;
    }
    const float rstd = lns::finish_rstd(sum, d, eps);
    const float32x4_t s = vdupq_n_f32(rstd);
    auto y = [&](size_t j) __attribute__((always_inline)) {
      const float32x4_t nrm = vmulq_f32(vsubq_f32(vld1q_f32(xr + j), m), s);
      return vaddq_f32(vmulq_f32(nrm, vld1q_f32(w + j)), vld1q_f32(b + j));
    };
    for (size_t j = 0; j < d16; j += 16) quantize16(y(j), y(j + 4), y(j + 8), y(j + 12), inv_scale, qr + j);
    for (size_t j = d16; j < d; ++j) {
      const float nrm = (xr[j] - mean) * rstd;
      qr[j] = quantize_round_inline((nrm * w[j] + b[j]) * inv_scale);
    }
  }
}

// The scalar form of round_clamp_vec (epilogue_neon.h) for Q and K's limit kL (quantize_round_inline
// is the one for 127).
inline int32_t round_clamp_one(float v, float lim) {
  v = v > -lim ? v : -lim;
  v = v < lim ? v : lim;
  return static_cast<int32_t>(v + half_away_bias(v));
}

// max |bits| of x[0..n) as a float (abs_max_bits in ops.cc: an integer max of the magnitude
// bits, exact in any order).
inline float abs_max_bits_neon(const float* x, size_t n) {
  uint32x4_t m = vdupq_n_u32(0);
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    m = vmaxq_u32(m, vandq_u32(vld1q_u32(reinterpret_cast<const uint32_t*>(x + j)), vdupq_n_u32(0x7fffffffu)));
  }
  uint32x2_t h = vpmax_u32(vget_low_u32(m), vget_high_u32(m));
  h = vpmax_u32(h, h);
  uint32_t mb = vget_lane_u32(h, 0);
  for (; j < n; ++j) {
    uint32_t b;
    std::memcpy(&b, x + j, sizeof b);
    b &= 0x7fffffffu;
    mb = b > mb ? b : mb;
  }
  float r;
  std::memcpy(&r, &mb, sizeof r);
  return r;
}

// dst[c][i] (row stride ldd) = src[i][c] (row stride lds) for one 16 x 16 block of bytes: trn
// at 8, 16 and 32 bits between row pairs, then the rows' 64-bit halves combined (register k
// ends as column k). ~100 instructions per 256 bytes against ~2.6 per byte one at a time.
inline void transpose16x16_s8(const int8_t* src, size_t lds, int8_t* dst, size_t ldd) {
  uint8x16_t r[16];
  for (size_t i = 0; i < 16; ++i) r[i] = vld1q_u8(reinterpret_cast<const uint8_t*>(src + i * lds));
  for (size_t i = 0; i < 16; i += 2) {
    const uint8x16x2_t t = vtrnq_u8(r[i], r[i + 1]);
    r[i] = t.val[0];
    r[i + 1] = t.val[1];
  }
  for (size_t b = 0; b < 16; b += 4) {
    for (size_t k = 0; k < 2; ++k) {
      const uint16x8x2_t t = vtrnq_u16(vreinterpretq_u16_u8(r[b + k]), vreinterpretq_u16_u8(r[b + k + 2]));
      r[b + k] = vreinterpretq_u8_u16(t.val[0]);
      r[b + k + 2] = vreinterpretq_u8_u16(t.val[1]);
    }
  }
  for (size_t b = 0; b < 16; b += 8) {
    for (size_t k = 0; k < 4; ++k) {
      const uint32x4x2_t t = vtrnq_u32(vreinterpretq_u32_u8(r[b + k]), vreinterpretq_u32_u8(r[b + k + 4]));
      r[b + k] = vreinterpretq_u8_u32(t.val[0]);
      r[b + k + 4] = vreinterpretq_u8_u32(t.val[1]);
    }
  }
  for (size_t k = 0; k < 8; ++k) {
    vst1q_u8(reinterpret_cast<uint8_t*>(dst + k * ldd), vcombine_u8(vget_low_u8(r[k]), vget_low_u8(r[k + 8])));
    vst1q_u8(reinterpret_cast<uint8_t*>(dst + (k + 8) * ldd), vcombine_u8(vget_high_u8(r[k]), vget_high_u8(r[k + 8])));
  }
}

// QuantizeAttentionOperandsFn: ops::quantize_attention_operands (its portable form, the same
// steps per value): V's column maxima, Q and K per (row, head) slice to int16 with their
// scales, V per column to int8 with its scales and column sums, written transposed.
void quantize_attention_operands_neon(const float* qkv, size_t n, size_t d, size_t head_begin, size_t head_end,
                                      size_t dh, float k_scale_mul, int32_t qk_levels, int16_t* q16, float* sq,
                                      int16_t* k16, float* ck, int8_t* v8t, float* sv, int32_t* colsum,
                                      uint32_t* vmax_bits, int8_t* vblock) {
  const float kL = static_cast<float>(qk_levels);
  const size_t ld = 3 * d, hc = head_end - head_begin, vc = hc * dh;
  const float* v0 = qkv + 2 * d + head_begin * dh;
  // V column maxima, 16 columns at a time down the rows (registers, not memory, carry them).
  size_t c = 0;
  for (; c + 16 <= vc; c += 16) {
    uint32x4_t m0 = vdupq_n_u32(0), m1 = m0, m2 = m0, m3 = m0;
    const uint32x4_t abs = vdupq_n_u32(0x7fffffffu);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t* v = reinterpret_cast<const uint32_t*>(v0 + i * ld + c);
      m0 = vmaxq_u32(m0, vandq_u32(vld1q_u32(v), abs));
      m1 = vmaxq_u32(m1, vandq_u32(vld1q_u32(v + 4), abs));
      m2 = vmaxq_u32(m2, vandq_u32(vld1q_u32(v + 8), abs));
      m3 = vmaxq_u32(m3, vandq_u32(vld1q_u32(v + 12), abs));
    }
    vst1q_u32(vmax_bits + c, m0);
    vst1q_u32(vmax_bits + c + 4, m1);
    vst1q_u32(vmax_bits + c + 8, m2);
    vst1q_u32(vmax_bits + c + 12, m3);
  }
  for (; c < vc; ++c) {
    uint32_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      uint32_t b;
      std::memcpy(&b, v0 + i * ld + c, sizeof b);
      b &= 0x7fffffffu;
      m = b > m ? b : m;
    }
    vmax_bits[c] = m;
  }
  // Q and K: each (row, head) slice's max |x|, its scale, its int16 values. (4 rows of a head
  // at a time with their divisions as vector divisions took more instructions, not fewer.)
  for (size_t i = 0; i < n; ++i) {
    for (size_t hh = 0; hh < hc; ++hh) {
      for (int part = 0; part < 2; ++part) {
        const float* x = qkv + i * ld + part * d + (head_begin + hh) * dh;
        const float mx = abs_max_bits_neon(x, dh);
        const float inv = mx > 0.0f ? kL / mx : 0.0f;
        int16_t* q = (part == 0 ? q16 : k16) + (hh * n + i) * dh;
        if (part == 0) {
          sq[hh * n + i] = mx / kL;
        } else {
          ck[hh * n + i] = (mx / kL) * k_scale_mul;
        }
        const float32x4_t vi = vdupq_n_f32(inv);
        size_t j = 0;
        for (; j + 8 <= dh; j += 8) {
          const int32x4_t a = round_clamp_vec(vmulq_f32(vld1q_f32(x + j), vi), kL);
          const int32x4_t b = round_clamp_vec(vmulq_f32(vld1q_f32(x + j + 4), vi), kL);
          vst1q_s16(q + j, vcombine_s16(vmovn_s32(a), vmovn_s32(b)));
        }
        for (; j < dh; ++j) q[j] = static_cast<int16_t>(round_clamp_one(x[j] * inv, kL));
      }
    }
  }
  // V scales per column; vmax_bits then holds 127 / max as float bits.
  float* inv = reinterpret_cast<float*>(vmax_bits);
  for (c = 0; c < vc; ++c) {
    float mx;
    std::memcpy(&mx, vmax_bits + c, sizeof mx);
    sv[c] = mx / 127.0f;
    inv[c] = mx > 0.0f ? 127.0f / mx : 0.0f;
    colsum[c] = 0;
  }
  // V quantized row by row into vblock [rows][vc] (blocks of 64 rows) with the column sums,
  // then written transposed (v8t[c][i]).
  constexpr size_t kBlock = 64;
  for (size_t m0 = 0; m0 < n; m0 += kBlock) {
    const size_t rb = n - m0 < kBlock ? n - m0 : kBlock;
    // 8 columns at a time down the block's rows: their factors and column sums stay in
    // registers (through memory, every row's sums were a load and a store); then the last
    // vc % 8 columns.
    const size_t c8 = vc / 8 * 8;
    for (size_t c0 = 0; c0 < c8; c0 += 8) {
      const float32x4_t fa = vld1q_f32(inv + c0), fb = vld1q_f32(inv + c0 + 4);
      int32x4_t sa = vld1q_s32(colsum + c0), sb = vld1q_s32(colsum + c0 + 4);
      for (size_t r = 0; r < rb; ++r) {
        const float* v = v0 + (m0 + r) * ld + c0;
        const int32x4_t a = round_clamp_vec(vmulq_f32(vld1q_f32(v), fa), 127.0f);
        const int32x4_t b = round_clamp_vec(vmulq_f32(vld1q_f32(v + 4), fb), 127.0f);
        sa = vaddq_s32(sa, a);
        sb = vaddq_s32(sb, b);
        vst1_s8(vblock + r * vc + c0, vmovn_s16(vcombine_s16(vmovn_s32(a), vmovn_s32(b))));
      }
      vst1q_s32(colsum + c0, sa);
      vst1q_s32(colsum + c0 + 4, sb);
    }
    for (size_t r = 0; r < rb && c8 < vc; ++r) {
      const float* v = v0 + (m0 + r) * ld;
      for (c = c8; c < vc; ++c) {
        const int32_t qi = quantize_round_inline(v[c] * inv[c]);
        vblock[r * vc + c] = static_cast<int8_t>(qi);
        colsum[c] += qi;
      }
    }
    // Whole 16 x 16 blocks by registers, the rest byte by byte.
    size_t r16 = 0;
    if (vc % 16 == 0) {
      for (; r16 + 16 <= rb; r16 += 16) {
        for (size_t c0 = 0; c0 < vc; c0 += 16) {
          transpose16x16_s8(vblock + r16 * vc + c0, vc, v8t + c0 * n + m0 + r16, n);
        }
      }
    }
    for (c = 0; c < vc; ++c) {
      int8_t* dst = v8t + c * n + m0;
      for (size_t r = r16; r < rb; ++r) dst[r] = vblock[r * vc + c];
    }
  }
}

// LinearF32Fn: ops::linear_f32 without GELU: out[r][o] (= or +=) sum_k a[r][k] wt[k][o] (k in
// order, each product rounded, then added) + bias[o]. 4 rows x 8 outputs in 8 q registers.
void linear_f32_neon(const float* a, size_t m, size_t in, size_t out_features, const float* wt, const float* bias,
                     bool accumulate, float* out, size_t ldo) {
  auto finish = [&](float32x4_t t, size_t r, size_t o) __attribute__((always_inline)) {
    if (bias != nullptr) t = vaddq_f32(t, vld1q_f32(bias + o));
    float* dst = out + r * ldo + o;
    if (accumulate) t = vaddq_f32(vld1q_f32(dst), t);
    vst1q_f32(dst, t);
  };
  auto finish_one = [&](float t, size_t r, size_t o) {
    if (bias != nullptr) t = t + bias[o];
    float* dst = out + r * ldo + o;
    *dst = accumulate ? *dst + t : t;
  };
  const size_t o8 = out_features / 8 * 8, o4 = out_features / 4 * 4;
  size_t r = 0;
  for (; r + 4 <= m; r += 4) {
    for (size_t o = 0; o < o8; o += 8) {
      float32x4_t c[4][2];
      for (int i = 0; i < 4; ++i) c[i][0] = c[i][1] = vdupq_n_f32(0.0f);
      for (size_t k = 0; k < in; ++k) {
        const float32x4_t w0 = vld1q_f32(wt + k * out_features + o), w1 = vld1q_f32(wt + k * out_features + o + 4);
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          const float av = a[(r + i) * in + k];
          c[i][0] = vaddq_f32(c[i][0], vmulq_n_f32(w0, av));
          c[i][1] = vaddq_f32(c[i][1], vmulq_n_f32(w1, av));
        }
      }
      for (int i = 0; i < 4; ++i) {
        finish(c[i][0], r + i, o);
        finish(c[i][1], r + i, o + 4);
      }
    }
  }
  // The rows left, and the outputs past the 8-blocks of the 4-row blocks: 4 outputs, then 1.
  for (size_t rr = 0; rr < m; ++rr) {
    const size_t o0 = rr < r ? o8 : 0;
    for (size_t o = o0; o < o4; o += 4) {
      float32x4_t t = vdupq_n_f32(0.0f);
      for (size_t k = 0; k < in; ++k) t = vaddq_f32(t, vmulq_n_f32(vld1q_f32(wt + k * out_features + o), a[rr * in + k]));
      finish(t, rr, o);
    }
    for (size_t o = o0 > o4 ? o0 : o4; o < out_features; ++o) {
      float t = 0.0f;
      for (size_t k = 0; k < in; ++k) t += a[rr * in + k] * wt[k * out_features + o];
      finish_one(t, rr, o);
    }
  }
}

}  // namespace
}  // namespace vigil::kernels
