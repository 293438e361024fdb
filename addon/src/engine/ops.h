// Float operators of the vigil-tst graph (docs/model-format.md §2). Loops are written so the
// compiler can vectorize across independent outputs without reassociating any sum (the build
// uses -ffp-contract=off and no fast-math): results do not depend on the vector width.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::ops {

// y[m] = LN(x[m]) * w + b over `d` features, rows m < rows. Mean and variance (biased) in double.
void layer_norm(const float* x, size_t rows, size_t d, const float* w, const float* b, float eps,
                float* y);

// quantize(layer_norm(x)) without the float buffer: q[m][j] = quantize_round(LN(x[m])[j] *
// inv_scale), the same bits as layer_norm followed by quantize.
void layer_norm_quantize(const float* x, size_t rows, size_t d, const float* w, const float* b,
                         float eps, float inv_scale, int8_t* q);

// In place over n >= 1 values: subtract the max, exp, normalize. exp is a vectorizable
// polynomial (<= 2 ulp, see exp_for_softmax); the sum uses 8 fixed float lanes, then double.
void softmax(float* x, size_t n);

// The exp used by softmax, for x <= 0 (exposed for its accuracy test).
float exp_for_softmax(float x);

// Exact GELU: 0.5 x (1 + erf(x / sqrt(2))).
float gelu(float x);

// The int8 FFN's GELU as a 256-entry table (docs/engine.md step 38, docs/model-format.md §2):
// ffn_up's epilogue quantizes GELU's input x affinely, q = clamp(round_half_away((x + shift) *
// inv_step), -127, 127) (the shift folded into ffn_up's bias), which maps [lo, hi] onto
// [-127, 127]; then ffn_down's int8 input is table[q + 128] = clamp(round_half_away(GELU(x_q) /
// out_scale), -127, 127) with x_q = q / inv_step - shift and GELU in double (std::erf).
// hi = min(2 y, y + 0.171) with y = 127 out_scale, at or above the input where GELU reaches
// ffn_down's calibrated input range (a larger input clamps to 127 either way; no root solving, so
// the TypeScript emulation derives the same floats), lo = -sqrt(-2 ln(out_scale sqrt(2 pi) / 2))
// (0 if that is negative): below lo |GELU| <= out_scale / 2, which quantizes to 0 as the table's
// first entry does. Everything from out_scale (finite, > 0): no model-format field.
struct GeluTable {
  float lo = 0.0f, hi = 0.0f;
  float inv_step = 0.0f;  // the epilogue's out_inv_scale
  float shift = 0.0f;     // added to ffn_up's bias
  int8_t table[256] = {};
};
GeluTable make_gelu_table(float out_scale);

// Query rows attention() processes together (register blocking).
constexpr size_t kAttentionRows = 4;

// Scratch floats attention() needs per concurrently processed head: transposed keys of one head
// plus kAttentionRows score rows.
constexpr size_t attention_scratch_floats(size_t n, size_t dh) { return n * (dh + kAttentionRows); }

// Multi-head self-attention, float. qkv: [n][3d] (q | k | v), out: [n][d] (heads concatenated).
// scratch: attention_scratch_floats(n, dh) floats.
// Heads [head_begin, head_end) only (threads split the heads); the short form does all heads.
void attention(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
               size_t head_end, float* out, float* scratch);
inline void attention(const float* qkv, size_t n, size_t d, size_t heads, float* out,
                      float* scratch) {
  attention(qkv, n, d, heads, 0, heads, out, scratch);
}
// layer_norm, layer_norm_quantize, quantize, quantize_attention_operands and softmax_row_u8
// have two forms with the same bits: 16-lane blocks (what the x86-64-v4 clone runs) and
// portable row loops (every other clone, NEON). Tests force one or the other on any CPU to pin
// them together; kCpu restores the CPU's choice. Not thread-safe against running ops.
enum class FloatForms { kCpu, kZmm, kPortable };
void force_float_forms(FloatForms forms);

// attention()'s two forms, for the tests that pin them to the same bits: attention_zmm (16-lane
// vector accumulators; attention() takes it on x86-64-v4 CPUs, where it is compiled for them)
// and attention_portable (every other CPU: the float clones, NEON, scalar). attention_zmm can
// run wherever attention_zmm_runnable() (everywhere but an x86 CPU without x86-64-v4).
void attention_zmm(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
                   size_t head_end, float* out, float* scratch);
bool attention_zmm_runnable();
void attention_portable(const float* qkv, size_t n, size_t d, size_t heads, size_t head_begin,
                        size_t head_end, float* out, float* scratch);

// int8 attention helpers (docs/engine.md "int8 attention"; attention_int8.cc runs the GEMMs).
// Q and K of the int8 attention are stored as int16 in [-L, L]: L = 2047 below
// kAttentionQK16MaxTokens tokens (16x finer than int8: short sequences, where int8 Q and K cost
// a shipped model accuracy and the finer scores cost little), L = 127 from there on (int8
// values: the scores' cost grows with the sequence). Any dot product of dh <=
// kAttentionMaxHeadDim (512) of them stays below 2^31.
constexpr size_t kAttentionQK16MaxTokens = 128;
constexpr size_t kAttentionMaxHeadDim = 512;
constexpr int32_t attention_qk_levels(size_t n) { return n < kAttentionQK16MaxTokens ? 2047 : 127; }

// The int8 attention's operands for heads [head_begin, head_end) (hh = h - head_begin) of
// qkv [n][3d] (q | k | v), in one pass over the rows plus one over V: symmetric scales max|x|/L
// (L = qk_levels, attention_qk_levels(n), for Q and K, 127 for V), q = clamp(round_half_away(x
// * (L / max)), -L, L) (an all-zero slice gives q = 0 and scale 0).
//   Q, K per (row, head): q16/k16 [hh][n][dh] (int16), sq[hh][n] = max/L, ck[hh][n] = (max/L) *
//   k_scale_mul (the caller's 1/sqrt(dh)).
//   V per column: v8t [hh * dh + t][n] (transposed), sv[hh * dh + t] = max/127, colsum = the
//   column's sum of quantized values.
// Scratch: vmax_bits [(he - hb) dh], vblock [64][(he - hb) dh]. The bits do not depend on how
// the heads are grouped into calls.
void quantize_attention_operands(const float* qkv, size_t n, size_t d, size_t head_begin,
                                 size_t head_end, size_t dh, float k_scale_mul, int32_t qk_levels,
                                 int16_t* q16, float* sq, int16_t* k16, float* ck, int8_t* v8t,
                                 float* sv, int32_t* colsum, uint32_t* vmax_bits, int8_t* vblock);

// s[r][j] = sum_t q[r][t] k[j][t] (int16 rows of length dh <= kAttentionMaxHeadDim, exact).
void attention_scores_s16(const int16_t* q, size_t rows, const int16_t* k, size_t n, size_t dh,
                          int32_t* s);

// One attention row from int32 scores: s[j] = ((float)acc[j] * row_scale) * col_scale[j],
// u[j] = round_half_up(255 exp(s[j] - max s)) in [0, 255] (the max is 255; computed as
// 255 * 2^(y[j] - max y) with y = (acc[j] * (row_scale log2 e)) * col_scale[j] and a
// polynomial 2^x within 3.6e-6 relative, ops.cc exp2_255_nonpositive), stored as p[j] = u[j] - 128
// (int8, the GEMM's A operand); returns sum_j u[j] (>= 255).
// tmp: n floats.
int32_t softmax_row_u8(const int32_t* acc, size_t n, float row_scale, const float* col_scale,
                       float* tmp, int8_t* p);

// out[m][o] (=|+=) act(sum_k a[m][k] * w[o][k] + bias[o]) with the weight stored transposed
// (wt[k][o], [in][out]) so the inner loop runs over independent outputs.
void linear_f32(const float* a, size_t m, size_t in, size_t out_features, const float* wt,
                const float* bias, bool gelu_act, bool accumulate, float* out, size_t ldo);

// q[i] = clamp(round_half_away(x[i] * inv_scale), -127, 127) (as kernels::quantize_round).
void quantize(const float* x, size_t n, float inv_scale, int8_t* q);

float abs_max(const float* x, size_t n);

// u[t][c] = (f[t][c] - mean[c]) / stdev[c] for t < rows, c < channels (IEEE subtraction and
// division per element: the bits of the plain double loop at any vector width).
void normalize_channels(const float* f, size_t rows, size_t channels, const float* mean,
                        const float* stdev, float* u);

// True when every x[i], i < n, is finite: one branch-free pass over the float bits (max of
// |bits| against the exponent-all-ones pattern), which vectorizes; the caller looks for the
// culprit only when it is false.
bool all_finite(const float* x, size_t n);

// out[j] = (float)((sum_{t < rows} (double)z[t][j]) / rows), j < cols: each column's sum in row
// order, in double (the mean pool of the classification head and the pooled embedding).
void mean_rows(const float* z, size_t rows, size_t cols, float* out);

// The reconstruction head's errors against the normalized patches u (both [n][patch_length *
// channels], time-major within a patch: element s * channels + c), in double, e = (double)r -
// (double)u, summed as e * e in element order:
//   patch_error[t] = (float)(sum_{j < pw} e[t][j]^2 / pw), the sum over j in order;
//   channel_error[c] = (float)(sum_{t < n, s < patch_length} e[t][s][c]^2 / (n patch_length)),
//   the sum over t, then s, in order.
void reconstruction_errors(const float* recon, const float* u, size_t n, size_t patch_length,
                           size_t channels, float* patch_error, float* channel_error);

}  // namespace vigil::ops
