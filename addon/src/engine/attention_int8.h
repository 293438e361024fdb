// int8 multi-head attention (docs/engine.md "int8 attention"), with dynamic symmetric scales:
//   Q: per (row, head) scale, K: per (key row, head) scale, both max|x|/L, values in [-L, L]
//   stored as int16 (L = ops::attention_qk_levels(n): 2047 below 128 tokens, 127 from there),
//   V: per column scale max|x|/127 (int8);
//   S = Q16 K16^T (int32, ops::attention_scores_s16), s = (S * scale_q[i]) * (scale_k[j] /
//   sqrt(dh)) in float;
//   e = exp(s - max s), u = round(255 e) in [0, 255] (u8, the max is 255);
//   O = sum_m u[m] V8[m] (int32, on the kernel table's int8 GEMM; A is fed as u - 128 and
//   128 * colsum(V8) added back: exact),
//   o[t] = ((float)O[t] * scale_v[t]) * (1 / sum_m u[m])  (renormalized by the quantized sum).
// Integer products are exact in every kernel table and the float steps are element-wise, so
// every ISA gives the same bits (engine_forward_test checks it). A kernel table with a fused
// attention (KernelTable::attention; avx512_vnni, avx_vnni, avx2, neon_dot) runs each head's products, softmax and
// scaling in one kernel instead of gemm + ops::softmax_row_u8: the same bits (engine_ops_test).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vigil {

// LoadOptions::attention "auto" (the default) runs int8 attention on models with at least this
// many tokens and float attention below (docs/engine.md "int8 attention": the measured
// crossover; float keeps short-sequence models, the shipped ones included, on the reference).
constexpr size_t kInt8AttentionMinTokens = 64;

// Query rows per block (scores of one block stay in a small int32 buffer).
constexpr size_t kAttentionI8Rows = 48;

// Bytes of scratch one call over heads_per_call heads needs (64-byte aligned sub-buffers): the
// quantized Q, K, V^T of those heads plus one head's packed operands and score blocks.
size_t attention_i8_scratch_bytes(const kernels::KernelTable& kt, size_t n, size_t dh,
                                  size_t heads_per_call);

// Heads [head_begin, head_end) of qkv [n][3d] (q | k | v) into out [n][d]; scratch: one slice
// of attention_i8_scratch_bytes(kt, n, dh, head_end - head_begin) (64-byte aligned).
void attention_i8(const kernels::KernelTable& kt, const float* qkv, size_t n, size_t d,
                  size_t heads, size_t head_begin, size_t head_end, float* out, uint8_t* scratch);

}  // namespace vigil
