// NEON forms of two of the engine's float operators (engine/ops.cc is the specification):
// ops::quantize and ops::layer_norm_quantize, for the neon and neon_dot tables. On armv7 GCC
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

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/epilogue_neon.h"
#include "kernels/layer_norm_spec.h"

namespace vigil::kernels {
namespace {

// The specification's scalar quantization of one value (quantize_block_portable): clamp with
// NaN -> -127, then truncate v + copysign(0.5 - 2^-25, v). In VFP (IEEE), for the tails.
inline int8_t quantize_one(float v) {
  v = v > -127.0f ? v : -127.0f;
  v = v < 127.0f ? v : 127.0f;
  return static_cast<int8_t>(static_cast<int>(v + std::copysign(0x1.fffffep-2f, v)));
}

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
  for (; i < n; ++i) q[i] = quantize_one(x[i] * inv_scale);
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
    float lanes[16];
    vst1q_f32(lanes, a0);
    vst1q_f32(lanes + 4, a1);
    vst1q_f32(lanes + 8, a2);
    vst1q_f32(lanes + 12, a3);
    double sum = lns::tree_sum16(lanes);
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
    vst1q_f32(lanes, a0);
    vst1q_f32(lanes + 4, a1);
    vst1q_f32(lanes + 8, a2);
    vst1q_f32(lanes + 12, a3);
    sum = lns::tree_sum16(lanes);
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
      qr[j] = quantize_one((nrm * w[j] + b[j]) * inv_scale);
    }
  }
}

}  // namespace
}  // namespace vigil::kernels
