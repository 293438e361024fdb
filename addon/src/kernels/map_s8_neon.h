// MapS8Fn (kernels.h) for the NEON tables: on aarch64 16 bytes per step through the 256-byte
// table held in 16 q registers (tbl on the first 64 entries, tbx on the next three groups with
// the index moved down by 64 each: an index outside a group leaves the lane as it was); armv7
// has no 64-byte tbl (vtbl reaches 32 bytes, and the table would take every d register), so it
// goes through the table's 32-byte groups in turn (below). Exact either way (a lookup).
// Anonymous namespace: a private copy per kernel file.
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
  // armv7: 32 bytes per step in assembly. The 256-byte table does not fit the registers with
  // the data (vtbx reaches 32 table bytes), so each of its eight 32-byte groups is loaded in
  // turn (one vld1 of 4 d registers) and looked up by vtbx on the 4 index registers, the
  // indices then moved down by 32 (an index outside the group leaves the lane as it was, and
  // a moved-down one that was inside wraps past 224): 64 instructions per 32 bytes against
  // ~6 per byte for the plain loop. GCC spilled the intrinsics' form of this (docs/engine.md).
  const size_t n32 = n / 32 * 32;
  if (n32 > 0) {
    uint8_t* p = reinterpret_cast<uint8_t*>(x);
    uint8_t* end = p + n32;
    const int8_t* t = table;
#define VIGIL_GROUP                                  \
  "vld1.8 {d0-d3}, [%[t]]!\n\t"                     \
  "vtbx.8 d8, {d0-d3}, d4\n\t"                      \
  "vtbx.8 d9, {d0-d3}, d5\n\t"                      \
  "vtbx.8 d10, {d0-d3}, d6\n\t"                     \
  "vtbx.8 d11, {d0-d3}, d7\n\t"                     \
  "vsub.i8 q2, q2, q6\n\t"                          \
  "vsub.i8 q3, q3, q6\n\t"
    asm volatile(
        "vmov.i8 q6, #32\n\t"
        "vmov.i8 q7, #0x80\n\t"
        "1:\n\t"
        "vld1.8 {d4-d7}, [%[p]]\n\t"
        "veor q2, q2, q7\n\t"  // x + 128
        "veor q3, q3, q7\n\t"
        VIGIL_GROUP VIGIL_GROUP VIGIL_GROUP VIGIL_GROUP VIGIL_GROUP VIGIL_GROUP VIGIL_GROUP VIGIL_GROUP
        "sub %[t], %[t], #256\n\t"
        "vst1.8 {d8-d11}, [%[p]]!\n\t"
        "cmp %[p], %[end]\n\t"
        "bne 1b\n\t"
        : [p] "+r"(p), [t] "+r"(t)
        : [end] "r"(end)
        : "cc", "memory", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13",
          "d14", "d15");
#undef VIGIL_GROUP
  }
  map_s8_scalar(x + n32, n - n32, table);
#endif
}

}  // namespace
}  // namespace vigil::kernels
