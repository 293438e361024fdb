// Header-only NEON forms of the epilogue's float steps (epilogue_impl.h, the specification),
// for the NEON kernel files' fused epilogues (anonymous namespace: a private copy per file,
// compiled with that file's flags). Element-wise, in the spec's order; the files are compiled
// with -ffp-contract=off, so no mul + add pair becomes an fmla.
// armv7: Advanced SIMD has no vector division (div_vec divides lane by lane in VFP, IEEE like
// the spec) and always flushes subnormal operands and results to zero. So the armv7 table
// matches the scalar spec bit for bit whenever the epilogue's operands and results are normal
// or zero (kernels_exact under qemu cortex-a15); a subnormal bias, input_scale * scale product,
// residual-stream value or GELU argument (|x| < 2^-126, which no trained model produces) reads
// as 0 there. In the int8 output modes such values round to 0 either way.
#pragma once

#include <arm_neon.h>

namespace vigil::kernels {
namespace {

// a > b lane by lane. On armv7 GCC lowers vcgtq_f32 (a generic vector comparison there) to 4
// VFP compares unless -funsafe-math-optimizations, which would also license rewrites that
// change the spec's bits; so the instruction itself (a subnormal compares as 0, which cannot
// change a comparison with the epilogue's nonzero limits).
inline __attribute__((always_inline)) uint32x4_t gt_vec(float32x4_t a, float32x4_t b) {
#if defined(__aarch64__)
  return vcgtq_f32(a, b);
#else
  uint32x4_t m;
  __asm__("vcgt.f32 %q0, %q1, %q2" : "=w"(m) : "w"(a), "w"(b));
  return m;
#endif
}

// x > lim ? x : lim and x < lim ? x : lim lane by lane, as compare + select: NaN gives lim, as
// in the spec (fmax/fmin would propagate it), and x passes through with its own bits.
inline __attribute__((always_inline)) float32x4_t select_gt(float32x4_t x, float lim) {
  const float32x4_t l = vdupq_n_f32(lim);
  return vbslq_f32(gt_vec(x, l), x, l);
}
inline __attribute__((always_inline)) float32x4_t select_lt(float32x4_t x, float lim) {
  const float32x4_t l = vdupq_n_f32(lim);
  return vbslq_f32(gt_vec(l, x), x, l);
}

// a / b lane by lane, correctly rounded (vdivq_f32 on aarch64, 4 VFP divisions on armv7).
inline __attribute__((always_inline)) float32x4_t div_vec(float32x4_t a, float32x4_t b) {
#if defined(__aarch64__)
  return vdivq_f32(a, b);
#else
  float32x4_t r = a;
  r = vsetq_lane_f32(vgetq_lane_f32(a, 0) / vgetq_lane_f32(b, 0), r, 0);
  r = vsetq_lane_f32(vgetq_lane_f32(a, 1) / vgetq_lane_f32(b, 1), r, 1);
  r = vsetq_lane_f32(vgetq_lane_f32(a, 2) / vgetq_lane_f32(b, 2), r, 2);
  r = vsetq_lane_f32(vgetq_lane_f32(a, 3) / vgetq_lane_f32(b, 3), r, 3);
  return r;
#endif
}

// gelu_inline (gelu_arg_inline, then gelu_finish_inline) of N vectors side by side.
template <int N>
inline __attribute__((always_inline)) void gelu_vecs(float32x4_t* x) {
  float32x4_t z[N], z2[N], p[N], q[N];
#pragma GCC unroll 4
  for (int i = 0; i < N; ++i) {
    z[i] = select_lt(select_gt(vmulq_f32(x[i], vdupq_n_f32(0.70710678118654752440f)), -4.0f), 4.0f);
    z2[i] = vmulq_f32(z[i], z[i]);
    p[i] = vdupq_n_f32(-2.72614225801306e-10f);
    q[i] = vdupq_n_f32(-1.45660718464996e-05f);
  }
  static constexpr float kP[6] = {2.77068142495902e-08f,  -2.10102402082508e-06f, -5.69250639462346e-05f,
                                  -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f};
  static constexpr float kQ[4] = {-2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f,
                                  -1.42647390514189e-02f};
#pragma GCC unroll 6
  for (int k = 0; k < 6; ++k) {
#pragma GCC unroll 4
    for (int i = 0; i < N; ++i) p[i] = vaddq_f32(vmulq_f32(p[i], z2[i]), vdupq_n_f32(kP[k]));
    if (k < 4) {
#pragma GCC unroll 4
      for (int i = 0; i < N; ++i) q[i] = vaddq_f32(vmulq_f32(q[i], z2[i]), vdupq_n_f32(kQ[k]));
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < N; ++i) {
    const float32x4_t e = div_vec(vmulq_f32(z[i], p[i]), q[i]);
    const float32x4_t one_plus = vaddq_f32(vdupq_n_f32(1.0f), e);
    const float32x4_t half_x = vmulq_f32(vdupq_n_f32(0.5f), x[i]);
    x[i] = vmulq_f32(half_x, one_plus);
  }
}

// clamp(round_half_away(y), -lim, lim) of 4 lanes as int32, NaN -> -lim: the spec's truncation
// of c + copysign(0.5 - 2^-25, c) (epilogue_impl.h half_away_bias; lim 127 or the attention's
// Q/K limit), on armv7 as written.
inline __attribute__((always_inline)) int32x4_t round_clamp_vec(float32x4_t y, float lim) {
#if defined(__aarch64__)
  // The clamps as fmaxnm / fminnm: the selects' values for every y that arithmetic produces (a
  // quiet NaN gives -lim, as the select does; +-0 and the limits themselves are kept). fcvtas
  // (round half away from zero) gives the same integer as the biased truncation for every
  // float |c| <= 2047 (checked over all of them against lround, docs/kernels.md), in one
  // instruction instead of four.
  const float32x4_t c = vminnmq_f32(vmaxnmq_f32(y, vdupq_n_f32(-lim)), vdupq_n_f32(lim));
  return vcvtaq_s32_f32(c);
#else
  const float32x4_t c = select_lt(select_gt(y, -lim), lim);
  const uint32x4_t h = vorrq_u32(vandq_u32(vreinterpretq_u32_f32(c), vdupq_n_u32(0x80000000u)),
                                 vdupq_n_u32(0x3effffffu));
  return vcvtq_s32_f32(vaddq_f32(c, vreinterpretq_f32_u32(h)));
#endif
}

// round_half_away_inline(clamp127_inline(v * inv)) of 4 lanes, as int32.
inline __attribute__((always_inline)) int32x4_t requant_vec(float32x4_t v, float inv) {
  return round_clamp_vec(vmulq_f32(v, vdupq_n_f32(inv)), 127.0f);
}

}  // namespace
}  // namespace vigil::kernels
