// Shared scalar epilogue (see kernels.h for the exact order of operations).
#include "kernels/epilogue.h"

#include <cmath>

namespace vigil::kernels {

float gelu(float x) {
  // Exact GELU (PyTorch default): 0.5 x (1 + erf(x / sqrt(2))).
  const float kInvSqrt2 = 0.70710678118654752440f;
  const float e = std::erf(x * kInvSqrt2);
  const float one_plus = 1.0f + e;
  const float half_x = 0.5f * x;
  return half_x * one_plus;
}

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

int8_t quantize_round(float v) { return quantize_round_inline(v); }

bool epilogue_valid(const Epilogue& ep, size_t n) {
  const int outs = (ep.out_f32 != nullptr) + (ep.out_i8 != nullptr) + (ep.out_i32 != nullptr);
  if (outs != 1) return false;
  if (ep.ldo < n) return false;
  if (ep.out_i32 == nullptr && ep.scale == nullptr) return false;
  return true;
}

// One loop per mode so the compiler can vectorize each (element-wise IEEE mul/add/convert give
// the same bits in SIMD lanes as in scalar code; -ffp-contract=off forbids fusing them).
void epilogue_row(const int32_t* acc, size_t row, size_t n0, size_t cols, const Epilogue& ep) {
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

}  // namespace vigil::kernels
