// The epilogue's body, header-only so each ISA file can instantiate a private copy that the
// compiler vectorizes with that file's ISA (anonymous namespace: nothing is shared with, or
// merged into, baseline code). epilogue.cc instantiates the baseline copy (epilogue_row).
// Bit-exactness across copies: only element-wise IEEE float mul/add, int->float conversion and
// float->int truncation are used, and every kernel file is compiled with -ffp-contract=off, so
// vector lanes produce the same bits as scalar code; gelu() is one shared out-of-line function.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vigil::kernels {
namespace {

inline int8_t quantize_round_inline(float v) {
  // Clamp first (rounding is monotone), written so NaN lands on -127; then exact half-away
  // rounding: v - trunc(v) is exact in float. Same as the engine's ops quantize().
  v = v > -127.0f ? v : -127.0f;
  v = v < 127.0f ? v : 127.0f;
  int i = static_cast<int>(v);
  const float fr = v - static_cast<float>(i);
  i += static_cast<int>(fr >= 0.5f) - static_cast<int>(fr <= -0.5f);
  return static_cast<int8_t>(i);
}
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
      for (size_t j = 0; j < nc; ++j) v[j] = gelu(v[j]);
    }
    if (ep.out_f32 != nullptr) {
      float* o = ep.out_f32 + base + c0;
      if (ep.accumulate) {
        for (size_t j = 0; j < nc; ++j) o[j] = o[j] + v[j];
      } else {
        for (size_t j = 0; j < nc; ++j) o[j] = v[j];
      }
    } else {
      int8_t* o = ep.out_i8 + base + c0;
      const float inv = ep.out_inv_scale;
      for (size_t j = 0; j < nc; ++j) o[j] = quantize_round_inline(v[j] * inv);
    }
  }
}

}  // namespace
}  // namespace vigil::kernels
