// MapS8Fn (kernels.h) for the NEON tables: on aarch64 16 bytes per step through the 256-byte
// table held in 16 q registers (tbl on the first 64 entries, tbx on the next three groups with
// the index moved down by 64 each: an index outside a group leaves the lane as it was); armv7
// has no 64-byte tbl (vtbl reaches 32 bytes, and the table would take every d register), so it
// keeps the plain loop. Exact either way (a lookup). Anonymous namespace: a private copy per
// kernel file.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vigil::kernels {
namespace {

void map_s8_neon(int8_t* x, size_t n, const int8_t* table) {
#if defined(__aarch64__)
  const uint8_t* t = reinterpret_cast<const uint8_t*>(table);
  const uint8x16x4_t t0 = vld1q_u8_x4(t), t1 = vld1q_u8_x4(t + 64), t2 = vld1q_u8_x4(t + 128),
                     t3 = vld1q_u8_x4(t + 192);
  const uint8x16_t k80 = vdupq_n_u8(0x80), k64 = vdupq_n_u8(64);
  uint8_t* p = reinterpret_cast<uint8_t*>(x);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const uint8x16_t idx = veorq_u8(vld1q_u8(p + i), k80);  // x + 128
    uint8x16_t r = vqtbl4q_u8(t0, idx);
    const uint8x16_t i1 = vsubq_u8(idx, k64);
    r = vqtbx4q_u8(r, t1, i1);
    const uint8x16_t i2 = vsubq_u8(i1, k64);
    r = vqtbx4q_u8(r, t2, i2);
    r = vqtbx4q_u8(r, t3, vsubq_u8(i2, k64));
    vst1q_u8(p + i, r);
  }
  map_s8_scalar(x + i, n - i, table);
#else
  map_s8_scalar(x, n, table);
#endif
}

}  // namespace
}  // namespace vigil::kernels
