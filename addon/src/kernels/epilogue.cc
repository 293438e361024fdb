// Shared scalar epilogue (see kernels.h for the exact order of operations).
#include "kernels/epilogue.h"
#include "kernels/epilogue_impl.h"

#include <cmath>

namespace vigil::kernels {

float gelu(float x) {
  // GELU 0.5 x (1 + erf(x / sqrt(2))) with the vectorizable erf of epilogue_impl.h
  // (max |erf error| <= 1e-7); the same function every ISA's epilogue inlines.
  return gelu_inline(x);
}

int8_t quantize_round(float v) { return quantize_round_inline(v); }

void map_s8_scalar(int8_t* x, size_t n, const int8_t* table) {
  for (size_t i = 0; i < n; ++i) x[i] = table[static_cast<uint8_t>(x[i] ^ 0x80)];
}

bool epilogue_valid(const Epilogue& ep, size_t n) {
  const int outs = (ep.out_f32 != nullptr) + (ep.out_i8 != nullptr) + (ep.out_i32 != nullptr);
  if (outs != 1) return false;
  if (ep.ldo < n) return false;
  if (ep.out_i32 == nullptr && ep.scale == nullptr) return false;
  return true;
}

void epilogue_row(const int32_t* acc, size_t row, size_t n0, size_t cols, const Epilogue& ep) {
  epilogue_row_impl(acc, row, n0, cols, ep);
}

}  // namespace vigil::kernels
