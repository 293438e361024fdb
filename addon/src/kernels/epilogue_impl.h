// The epilogue's body, header-only so each ISA file can instantiate a private copy that the
// compiler vectorizes with that file's ISA (anonymous namespace: nothing is shared with, or
// merged into, baseline code). epilogue.cc instantiates the baseline copy (epilogue_row).
// Bit-exactness across copies: only element-wise IEEE float mul/add, int->float conversion and
// float->int truncation are used, and every kernel file is compiled with -ffp-contract=off, so
// vector lanes produce the same bits as scalar code; gelu_inline() is such a fixed sequence too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernels.h"

namespace vigil::kernels {
namespace {

// Half away from zero for |v| <= 127: truncate v + copysign(kHalfDown, v), kHalfDown = 0.5 -
// 2^-25 (the float below 0.5). Exact: below 0.5 the sum stays under 1, and from 0.5 on the sum
// lands on (or rounds to) the next integer exactly when the fraction is >= 0.5 (float spacing
// above 0.5 is >= 2^-24 > 2^-25). The same result as "trunc, then +-1 by the fraction" for
// every float (checked on all 2^32 bit patterns when this replaced it; kernels_test keeps
// a sweep). 3 vector ops instead of 6 in the SIMD copies.
constexpr float kHalfDown = 0x1.fffffep-2f;
inline float half_away_bias(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  uint32_t h;
  std::memcpy(&h, &kHalfDown, sizeof h);
  h |= b & 0x80000000u;
  float r;
  std::memcpy(&r, &h, sizeof r);
  return r;
}

// quantize_round's two steps: clamp to [-127, 127] first (rounding is monotone), written so NaN
// lands on -127; then half-away rounding (half_away_bias). Same as the engine's ops quantize().
inline float clamp127_inline(float v) {
  v = v > -127.0f ? v : -127.0f;
  return v < 127.0f ? v : 127.0f;
}
inline int8_t round_half_away_inline(float clamped) {
  return static_cast<int8_t>(static_cast<int>(clamped + half_away_bias(clamped)));
}
inline int8_t quantize_round_inline(float v) { return round_half_away_inline(clamp127_inline(v)); }

// GELU with a vectorizable erf (docs/model-format.md §2 note): erf(z) for z = x/sqrt(2), z
// clamped to [-4, 4] (|erf(4) - 1| < 1.6e-8), as z P(z^2) / Q(z^2) (the Cephes/XLA float
// rational, degree 13/8) evaluated in float: max |erf error| <= 5e-7 over all floats (measured
// 4.7e-7 near z = 3.27, a few ulp of 1); engine_gelu_test checks GELU against double std::erf.
// A fixed sequence of IEEE float mul/add/div (no libm, no FMA under -ffp-contract=off), so every
// SIMD instantiation gives scalar's bits. Float, not double: 16 lanes per AVX-512 vector and a
// float division cost ~1/3 of the double sequence (docs/engine.md "GELU in float"); the error is
// far below half an int8 step of ffn_down's input, the only consumer of the int8 path's GELU.
// The clamp is written so NaN stays NaN through 0.5 x (1 + erf).
// Split in two (argument clamp, then the rational) because GCC does not vectorize a loop in
// which the float clamp's selects feed further arithmetic; as two loops both vectorize.
inline float gelu_arg_inline(float x) {
  const float kInvSqrt2 = 0.70710678118654752440f;
  float z = x * kInvSqrt2;
  z = z > -4.0f ? z : -4.0f;
  z = z < 4.0f ? z : 4.0f;
  return z;
}
inline float gelu_finish_inline(float x, float z) {
  const float z2 = z * z;
  float p = -2.72614225801306e-10f;
  p = p * z2 + 2.77068142495902e-08f;
  p = p * z2 + -2.10102402082508e-06f;
  p = p * z2 + -5.69250639462346e-05f;
  p = p * z2 + -7.34990630326855e-04f;
  p = p * z2 + -2.95459980854025e-03f;
  p = p * z2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * z2 + -2.13374055278905e-04f;
  q = q * z2 + -1.68282697438203e-03f;
  q = q * z2 + -7.37332916720468e-03f;
  q = q * z2 + -1.42647390514189e-02f;
  const float e = z * p / q;
  const float one_plus = 1.0f + e;
  const float half_x = 0.5f * x;
  return half_x * one_plus;
}
inline float gelu_inline(float x) { return gelu_finish_inline(x, gelu_arg_inline(x)); }
}  // namespace


namespace {

// One loop per mode so the compiler can vectorize each (element-wise IEEE mul/add/convert give
// the same bits in SIMD lanes as in scalar code; -ffp-contract=off forbids fusing them).
inline void epilogue_row_impl(const int32_t* acc, size_t row, size_t n0, size_t cols, const Epilogue& ep) {
  const size_t base = row * ep.ldo + n0;
  if (ep.out_i32 != nullptr) {
    int32_t* o = ep.out_i32 + base;
    for (size_t j = 0; j < cols; ++j) o[j] = acc[j];
    return;
  }
  const float* scale = ep.scale + n0;
  const float* bias = ep.bias != nullptr ? ep.bias + n0 : nullptr;
  if (ep.act != Activation::kGelu && ep.out_f32 != nullptr && bias != nullptr) {
    // The common float modes in one loop each (no selects: it vectorizes), without the round
    // trip through v[]: the same operations in the same order as below.
    float* o = ep.out_f32 + base;
    if (ep.accumulate) {
      for (size_t j = 0; j < cols; ++j) {
        const float t = static_cast<float>(acc[j]) * scale[j];
        o[j] = o[j] + (t + bias[j]);
      }
    } else {
      for (size_t j = 0; j < cols; ++j) {
        const float t = static_cast<float>(acc[j]) * scale[j];
        o[j] = t + bias[j];
      }
    }
    return;
  }
  float v[64];
  for (size_t c0 = 0; c0 < cols; c0 += 64) {
    const size_t nc = cols - c0 < 64 ? cols - c0 : 64;
    if (bias != nullptr) {
      for (size_t j = 0; j < nc; ++j) {
        const float t = static_cast<float>(acc[c0 + j]) * scale[c0 + j];
        v[j] = t + bias[c0 + j];
      }
    } else {
      for (size_t j = 0; j < nc; ++j) v[j] = static_cast<float>(acc[c0 + j]) * scale[c0 + j];
    }
    if (ep.act == Activation::kGelu) {
      float z[64];
      for (size_t j = 0; j < nc; ++j) z[j] = gelu_arg_inline(v[j]);
      for (size_t j = 0; j < nc; ++j) v[j] = gelu_finish_inline(v[j], z[j]);
    }
    if (ep.out_f32 != nullptr) {
      float* o = ep.out_f32 + base + c0;
      if (ep.accumulate) {
        for (size_t j = 0; j < nc; ++j) o[j] = o[j] + v[j];
      } else {
        for (size_t j = 0; j < nc; ++j) o[j] = v[j];
      }
    } else {
      // quantize_round_inline as two loops (clamp, then round): one loop whose float
      // selects feed the conversion is not vectorized by GCC under -ftrapping-math.
      int8_t* o = ep.out_i8 + base + c0;
      const float inv = ep.out_inv_scale;
      for (size_t j = 0; j < nc; ++j) v[j] = clamp127_inline(v[j] * inv);
      for (size_t j = 0; j < nc; ++j) o[j] = round_half_away_inline(v[j]);
    }
  }
}

}  // namespace
}  // namespace vigil::kernels
