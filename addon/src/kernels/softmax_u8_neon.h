// ops::softmax_row_u8 (the specification; constants and steps in attention_int8_spec.h) in
// 4-lane NEON vectors, for aarch64 and armv7: the neon_dot fused attention (u as uint8, zeros
// up to the next multiple of 16) and the neon table's composed attention
// (KernelTable::softmax_row_u8: p = u - 128 as int8, exactly n bytes). Anonymous namespace: a
// private copy per kernel file, compiled with that file's flags (-ffp-contract=off).
//
// Exactness, per element in the spec's order: y = ((float)S * rs2) * ck[j]; t = y - max; the
// clamp at -29 as a float max (y is finite, so it equals the spec's select); t rounded to an
// integer by frintn on aarch64 (round to nearest even, what (t + 1.5 2^23) - 1.5 2^23 gives on
// [-29, 0]) and by that very sum on armv7 (no frintn); the degree-4 polynomial as separate mul
// and add; p 2^n as n added to p's exponent bits; u = trunc(p 2^n + 0.5).
// The row max is a float max (the spec's integer-image max differs only in the sign of a zero;
// t and u are the same either way). armv7 NEON flushes subnormals to zero (epilogue_neon.h): a
// subnormal y reads as 0, and its u is 255 * 2^(0 - max) either way unless the max itself is
// subnormal (then every u is 255 in both).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/attention_int8_spec.h"

namespace vigil::kernels {
namespace {

inline __attribute__((always_inline)) float hmax_f32(float32x4_t v) {
#if defined(__aarch64__)
  return vmaxvq_f32(v);
#else
  const float32x2_t m = vpmax_f32(vget_low_f32(v), vget_high_f32(v));
  return vget_lane_f32(vpmax_f32(m, m), 0);
#endif
}

inline __attribute__((always_inline)) uint32_t hsum_u32(uint32x4_t v) {
#if defined(__aarch64__)
  return vaddvq_u32(v);
#else
  const uint32x2_t s = vadd_u32(vget_low_u32(v), vget_high_u32(v));
  return vget_lane_u32(vpadd_u32(s, s), 0);
#endif
}

// One row of scores acc (n values; y_row: n floats of scratch). kSigned: out[j] = u - 128 as
// int8 for j < n (the composition's A operand). Otherwise out[j] = u for j < n and 0 from n to
// the next multiple of 16 (the fused kernel's u rows). Returns the sum of u.
template <bool kSigned>
int32_t softmax_row_u8_neon(const int32_t* acc, size_t n, float row_scale, const float* ck, float* y_row,
                            uint8_t* out) {
  namespace su8 = softmax_u8;
  const float rs2 = row_scale * su8::kLog2e;
  float* s = y_row;
  const size_t n4 = n / 4 * 4;
  const float32x4_t vrs2 = vdupq_n_f32(rs2);
  auto y4 = [&](size_t j) __attribute__((always_inline)) {
    const float32x4_t y = vmulq_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(acc + j)), vrs2), vld1q_f32(ck + j));
    vst1q_f32(s + j, y);
    return y;
  };
  // 8 at a time with two running maxima (a max is exact in any order): the loop's own
  // instructions were 3 of every 10.
  float32x4_t mv = vdupq_n_f32(-__builtin_huge_valf()), mv2 = mv;
  size_t j4 = 0;
  for (; j4 + 8 <= n4; j4 += 8) {
    mv = vmaxq_f32(mv, y4(j4));
    mv2 = vmaxq_f32(mv2, y4(j4 + 4));
  }
  if (j4 < n4) mv = vmaxq_f32(mv, y4(j4));
  mv = vmaxq_f32(mv, mv2);
  float mx = hmax_f32(mv);
  for (size_t j = n4; j < n; ++j) {
    const float y = (static_cast<float>(acc[j]) * rs2) * ck[j];
    s[j] = y;
    mx = y > mx ? y : mx;
  }
  const float32x4_t vmx = vdupq_n_f32(mx), kMin = vdupq_n_f32(su8::kMinY), kHalf = vdupq_n_f32(0.5f);
  const float32x4_t p0 = vdupq_n_f32(su8::kP[0]), p1 = vdupq_n_f32(su8::kP[1]), p2 = vdupq_n_f32(su8::kP[2]),
                    p3 = vdupq_n_f32(su8::kP[3]), p4 = vdupq_n_f32(su8::kP[4]);
#if !defined(__aarch64__)
  const float32x4_t kRound = vdupq_n_f32(su8::kRound);
#endif
  auto u4 = [&](float32x4_t y) __attribute__((always_inline)) {
    const float32x4_t t = vmaxq_f32(vsubq_f32(y, vmx), kMin);
#if defined(__aarch64__)
    const float32x4_t nr = vrndnq_f32(t);
#else
    const float32x4_t nr = vsubq_f32(vaddq_f32(t, kRound), kRound);
#endif
    const float32x4_t f = vsubq_f32(t, nr);
    float32x4_t p = vaddq_f32(vmulq_f32(p0, f), p1);
    p = vaddq_f32(vmulq_f32(p, f), p2);
    p = vaddq_f32(vmulq_f32(p, f), p3);
    p = vaddq_f32(vmulq_f32(p, f), p4);
    // p 2^n by adding n to p's exponent: p in [180, 361) and n in [-29, 0] keep it normal, so
    // this is the spec's multiply by 2^n exactly (one instruction fewer).
    const float32x4_t e = vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), vshlq_n_s32(vcvtq_s32_f32(nr), 23)));
    // (Not fcvtau: for e = 0.5 - 2^-25, e + 0.5 rounds to 1.0, so the spec's u is 1, not 0.)
    return vcvtq_u32_f32(vaddq_f32(e, kHalf));
  };
  const uint8x16_t flip = vdupq_n_u8(kSigned ? 0x80 : 0);
  uint32x4_t sum = vdupq_n_u32(0);
  size_t j = 0;
#if !defined(__aarch64__)
  // armv7 (16 q registers): 8 at a time, so the constants stay in registers (4 vectors side by
  // side spilled them to the literal pool: ~35 of 128 instructions per 16 scores).
  // The signed form only (exactly n bytes out, so a tail from any j is right).
  if constexpr (kSigned) {
    for (; j + 8 <= n; j += 8) {
      const uint32x4_t a = u4(vld1q_f32(s + j)), b = u4(vld1q_f32(s + j + 4));
      sum = vaddq_u32(sum, vaddq_u32(a, b));
      vst1_u8(out + j, veor_u8(vmovn_u16(vcombine_u16(vmovn_u32(a), vmovn_u32(b))), vdup_n_u8(0x80)));
    }
  }
#endif
  for (; j + 16 <= n; j += 16) {  // 16 at a time: one 16-byte store
    const uint32x4_t a = u4(vld1q_f32(s + j)), b = u4(vld1q_f32(s + j + 4));
    const uint32x4_t c = u4(vld1q_f32(s + j + 8)), d = u4(vld1q_f32(s + j + 12));
    sum = vaddq_u32(vaddq_u32(sum, vaddq_u32(a, b)), vaddq_u32(c, d));
    const uint16x8_t ab = vcombine_u16(vmovn_u32(a), vmovn_u32(b));
    const uint16x8_t cd = vcombine_u16(vmovn_u32(c), vmovn_u32(d));
    vst1q_u8(out + j, veorq_u8(vcombine_u8(vmovn_u16(ab), vmovn_u16(cd)), flip));
  }
  if (j < n) {  // the last 1..15 keys: lanes past n give u = 0 (their y replaced by the max)
    float tail[16];
    for (size_t k = 0; k < 16; ++k) tail[k] = j + k < n ? s[j + k] : mx;
    uint32_t lanes[16];
    for (size_t q = 0; q < 4; ++q) vst1q_u32(lanes + 4 * q, u4(vld1q_f32(tail + 4 * q)));
    uint32_t rest = 0;
    const size_t end = kSigned ? n - j : 16;
    for (size_t k = 0; k < end; ++k) {
      const uint32_t v = j + k < n ? lanes[k] : 0u;
      rest += v;
      out[j + k] = static_cast<uint8_t>(kSigned ? v ^ 0x80u : v);
    }
    sum = vaddq_u32(sum, vsetq_lane_u32(rest, vdupq_n_u32(0), 0));
  }
  return static_cast<int32_t>(hsum_u32(sum));
}

}  // namespace
}  // namespace vigil::kernels
