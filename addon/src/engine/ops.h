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

// int8 attention helpers (docs/engine.md "int8 attention"; attention_int8.cc runs the GEMMs).
// Per-row symmetric quantization of x[rows][cols] (row stride ld) into q[rows][cols] (stride
// ldq): scale[r] = max_j |x[r][j]| / 127, q = quantize_round(x * (127 / max)); an all-zero row
// gives q = 0 and scale 0.
void quantize_rows(const float* x, size_t rows, size_t cols, size_t ld, int8_t* q, size_t ldq,
                   float* scale);

// Per-column symmetric quantization of x[rows][cols] (row stride ld), written transposed:
// qt[c][r] = quantize_round(x[r][c] * (127 / max_r |x[r][c]|)), scale[c] = max / 127,
// colsum[c] = sum_r qt[c][r].
void quantize_cols_transposed(const float* x, size_t rows, size_t cols, size_t ld, int8_t* qt,
                              float* scale, int32_t* colsum);

// One attention row from int32 scores: s[j] = ((float)acc[j] * row_scale) * col_scale[j],
// e[j] = exp(s[j] - max s) in (0, 1], u[j] = round_half_away(255 e[j]) in [0, 255] (the max is
// 255), stored as p[j] = u[j] - 128 (int8, the GEMM's A operand); returns sum_j u[j] (>= 255).
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

}  // namespace vigil::ops
