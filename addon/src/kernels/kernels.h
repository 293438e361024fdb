// vigil kernels: one function-pointer table per ISA, same signatures in each.
//
// The scalar kernels are the specification. Every SIMD kernel must produce bit-identical
// results (integer accumulators and the float epilogue) on every input; the tests in
// addon/test/ check that at edge sizes. To keep the float epilogue bit-exact across ISAs,
// every kernel file is compiled with -ffp-contract=off and the epilogue computes, per element,
// exactly:  v = (float)acc * scale[n];  v = v + bias[n];  then the activation, then the store.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::kernels {

enum class Isa : int { kScalar = 0, kNeon = 1, kNeonDot = 2, kAvx2 = 3, kAvx512Vnni = 4, kAvxVnni = 5, kSse41 = 6 };

enum class Activation : int { kNone = 0, kGelu = 1 };

// Epilogue fused into the GEMM while the tile is in registers (or in a small row buffer).
// For output element (m, n) with int32 accumulator acc = sum_k A[m,k] * W[n,k]:
//   v = (float)acc * scale[n] + (bias ? bias[n] : 0)      (mul, then add: no FMA)
//   v = act(v)
//   if out_f32:  out_f32[m*ldo + n] = v            (or += v when accumulate: residual add)
//   if out_i8:   out_i8[m*ldo + n] = clamp(round_half_away(v * out_inv_scale), -127, 127)
//   if out_i32:  out_i32[m*ldo + n] = acc           (raw accumulators; scale/bias/act ignored)
// Exactly one of out_f32, out_i8, out_i32 is non-null.
struct Epilogue {
  const float* scale = nullptr;  // [N]: input_scale * weight_scale[n]
  const float* bias = nullptr;   // [N] or nullptr
  Activation act = Activation::kNone;
  float* out_f32 = nullptr;
  bool accumulate = false;
  int8_t* out_i8 = nullptr;
  float out_inv_scale = 1.0f;
  int32_t* out_i32 = nullptr;
  size_t ldo = 0;  // row stride of the output, in elements
};

// Weights W [N out x K in] int8 row-major, values in [-127, 127], packed once at load time
// into the ISA's panel layout (which may include per-column sums for the u8 x s8 VNNI form).
using PackedSizeFn = size_t (*)(size_t n, size_t k);
using PackFn = void (*)(const int8_t* w, size_t n, size_t k, void* packed);

// C[M x N] = A[M x K] * W^T with the epilogue. A is int8 row-major with row stride lda
// (values in [-128, 127]). packed came from this ISA's PackFn with the same n, k.
// M == 1 takes the kernel's GEMV path. No allocation, no threads: the caller owns both.
using GemmFn = void (*)(size_t m, size_t n, size_t k, const int8_t* a, size_t lda,
                        const void* packed, const Epilogue& ep);

// One head of the engine's int8 attention, fused (engine/attention_int8.h has the math; the
// engine runs the same computation through its int16 scores, ops::softmax_row_u8 and gemm on
// tables without it, and the bits are the same). Operands as ops::quantize_attention_operands
// makes them for the head: q16, k16 [n][dh] (int16 in [-qk_levels, qk_levels], qk_levels 2047
// or 127; dh <= 512: every score fits int32), v8t [dh][n] (int8), sq [n] (Q row scales), ck [n]
// (K row scales times 1/sqrt(dh)), sv [dh] (V column scales); out[i * ldo + t] for i < n,
// t < dh.
struct AttentionHead {
  size_t n = 0, dh = 0;
  int32_t qk_levels = 2047;
  const int16_t* q16 = nullptr;
  const float* sq = nullptr;
  const int16_t* k16 = nullptr;
  const float* ck = nullptr;
  const int8_t* v8t = nullptr;
  const float* sv = nullptr;
  float* out = nullptr;
  size_t ldo = 0;
  void* scratch = nullptr;  // AttentionScratchFn(n, dh) bytes, 64-byte aligned
};
using AttentionScratchFn = size_t (*)(size_t n, size_t dh);
using AttentionFn = void (*)(const AttentionHead& head);
// Optional for the composed attention, both or neither: keys(k, n, dh, kt, ldt) writes K [n][dh]
// once per head in the table's own layout (kt: dh * ldt int16, ldt = n rounded up to 16), then
// scores_kt gives s[r * n + j] = sum_t q[r * dh + t] k[j * dh + t], r < rows, j < n, from it
// (the int8 attention's scores from its int16 Q and K rows; dh <= 512, |values| <= 2047: exact
// in int32).
using AttentionKeysFn = void (*)(const int16_t* k, size_t n, size_t dh, int16_t* kt, size_t ldt);
using AttentionScoresKtFn = void (*)(const int16_t* q, size_t rows, const int16_t* kt, size_t ldt, size_t n,
                                     size_t dh, int32_t* s);

// x[i] = table[x[i] + 128] for i < n, in place: a 256-entry int8 table lookup (the int8 FFN's
// GELU, docs/kernels.md "Table lookup"). Any order, exact.
using MapS8Fn = void (*)(int8_t* x, size_t n, const int8_t* table);

// ops::softmax_row_u8's contract (engine/ops.h): p[j] = u[j] - 128 for j < n, returns sum u.
using SoftmaxRowU8Fn = int32_t (*)(const int32_t* acc, size_t n, float row_scale, const float* col_scale,
                                   float* tmp, int8_t* p);

// ops::quantize's contract (engine/ops.h): q[i] = clamp(round_half_away(x[i] * inv_scale), -127,
// 127), NaN -> -127, for i < n.
using QuantizeFn = void (*)(const float* x, size_t n, float inv_scale, int8_t* q);
// ops::layer_norm_quantize's contract (engine/ops.h): each row of x [rows][d] normalized as
// ops::layer_norm (statistics: kernels/layer_norm_spec.h) and quantized as QuantizeFn.
using LayerNormQuantizeFn = void (*)(const float* x, size_t rows, size_t d, const float* w, const float* b,
                                     float eps, float inv_scale, int8_t* q);

// ops::quantize_attention_operands' contract (engine/ops.h).
using QuantizeAttentionOperandsFn = void (*)(const float* qkv, size_t n, size_t d, size_t head_begin,
                                             size_t head_end, size_t dh, float k_scale_mul, int32_t qk_levels,
                                             int16_t* q16, float* sq, int16_t* k16, float* ck, int8_t* v8t,
                                             float* sv, int32_t* colsum, uint32_t* vmax_bits, int8_t* vblock);

// ops::linear_f32's contract (engine/ops.h) without the GELU: out (= or +=) a wt + bias.
using LinearF32Fn = void (*)(const float* a, size_t m, size_t in, size_t out_features, const float* wt,
                             const float* bias, bool accumulate, float* out, size_t ldo);

struct KernelTable {
  Isa isa;
  const char* name;  // "scalar", "neon", "neon_dot", "avx2", "avx512_vnni", "avx_vnni"
  PackedSizeFn packed_size;
  PackFn pack;
  GemmFn gemm;
  // Optional fused int8 attention (nullptr: the engine composes its scores, its softmax and
  // gemm).
  AttentionScratchFn attention_scratch;
  AttentionFn attention;
  // Optional u8 softmax row for that composition, the bits of ops::softmax_row_u8 (nullptr: the
  // engine's own).
  SoftmaxRowU8Fn softmax_row_u8;
  MapS8Fn map_s8;  // required (map_s8_scalar when the ISA has nothing faster)
  // Optional forms of the engine's float operators where the engine's own run slowly (armv7:
  // GCC vectorizes no float loop for NEON there), the same bits; nullptr: the engine's own.
  QuantizeFn quantize;
  LayerNormQuantizeFn layer_norm_quantize;
  QuantizeAttentionOperandsFn quantize_attention_operands;
  LinearF32Fn linear_f32;
  // Optional (nullptr: the engine's plain loop, ops::attention_scores_s16): the composed
  // attention's scores from K prepared once per head (neon: transposed, then multiply-adds by
  // element).
  AttentionKeysFn attention_keys;
  AttentionScoresKtFn attention_scores_kt;
};

// Per-ISA tables; a table is nullptr when its ISA is not compiled into this binary.
const KernelTable* table_scalar();
const KernelTable* table_neon();
const KernelTable* table_neon_dot();
const KernelTable* table_avx2();
// x86 without AVX2 (gemm_s8s8_s32_4x8c2__sse41.cc).
const KernelTable* table_sse41();
const KernelTable* table_avx512_vnni();
// 256-bit VNNI (gemm_s8s8_s32_4x16c4__avx_vnni.cc), one source in two encodings: the VEX build
// (AVX-VNNI CPUs) and the EVEX build (AVX-512 VNNI + VL CPUs). table_avx_vnni() is the one this
// CPU runs (the VEX build where it has AVX-VNNI), or either when neither runs here.
const KernelTable* table_avx_vnni();
const KernelTable* table_avx_vnni_vex();
const KernelTable* table_avx_vnni_evex();

// The shared scalar epilogue for one element (used by the scalar kernel and available to
// SIMD kernels that finish rows in scalar code).
float gelu(float x);
// The specification of MapS8Fn: a plain loop.
void map_s8_scalar(int8_t* x, size_t n, const int8_t* table);
int8_t quantize_round(float v);  // clamp(round_half_away(v), -127, 127)

}  // namespace vigil::kernels
