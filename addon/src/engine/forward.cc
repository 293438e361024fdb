// One forward pass of the static schedule (docs/model-format.md §2). Everything lives in the
// arena laid out at load: no allocation, no graph interpretation per call.
//
// int8 linears: the input is quantized per tensor with the static input_scale
// (q = clamp(round_half_away(a * (1/input_scale)), -127, 127)), the kernel table's GEMM
// accumulates in int32 and its fused epilogue applies input_scale * weight_scale[o], the bias,
// GELU (a float ffn_up) and either the residual add (attn_output, ffn_down: accumulate into h)
// or, for ffn_up followed by an int8 ffn_down, the quantization of GELU's input to the index of
// the GELU table that yields ffn_down's int8 input (run_ffn_up_i8).
// Attention, LayerNorm, softmax and GELU outside the GEMM run in float.
#include <cmath>
#include <cstring>

#include "attention_int8.h"
#include "model_impl.h"
#include "ops.h"

namespace vigil {
namespace {

// The kernel table's own forms of ops::quantize / ops::layer_norm_quantize where it has them
// (kernels.h: the same bits), else the engine's.
void quantize_input(const ModelImpl& mi, const float* x, size_t n, float inv_scale, int8_t* q) {
  if (mi.kernels->quantize != nullptr) {
    mi.kernels->quantize(x, n, inv_scale, q);
  } else {
    ops::quantize(x, n, inv_scale, q);
  }
}
void layer_norm_quantize(const ModelImpl& mi, const float* x, size_t rows, size_t d, const LayerNormParams& nrm,
                         float eps, float inv_scale, int8_t* q) {
  if (mi.kernels->layer_norm_quantize != nullptr) {
    mi.kernels->layer_norm_quantize(x, rows, d, nrm.weight.data(), nrm.bias.data(), eps, inv_scale, q);
  } else {
    ops::layer_norm_quantize(x, rows, d, nrm.weight.data(), nrm.bias.data(), eps, inv_scale, q);
  }
}

struct LinearCall {
  const float* in = nullptr;  // [m][l.in]
  size_t m = 0;
  float* out = nullptr;       // [m][ldo]
  size_t ldo = 0;
  bool accumulate = false;
  bool gelu = false;
  int8_t* out_i8 = nullptr;   // int8 output (ffn_up -> int8 ffn_down), scale out_inv_scale
  float out_inv_scale = 1.0f;
};

void run_linear(ModelImpl& mi, Linear& l, const LinearCall& c) {
  if (!l.int8) {
    if (mi.calibrating) {
      const float mx = ops::abs_max(c.in, c.m * l.in);
      if (mx > l.calib_abs_max) l.calib_abs_max = mx;
    }
    mi.for_rows(c.m, [&](size_t r0, size_t rows) {
      if (mi.kernels->linear_f32 != nullptr && !c.gelu) {  // the table's own form: the same bits
        mi.kernels->linear_f32(c.in + r0 * l.in, rows, l.in, l.out, l.wt.data(), l.bias.data(), c.accumulate,
                               c.out + r0 * c.ldo, c.ldo);
      } else {
        ops::linear_f32(c.in + r0 * l.in, rows, l.in, l.out, l.wt.data(), l.bias.data(), c.gelu,
                        c.accumulate, c.out + r0 * c.ldo, c.ldo);
      }
    });
    return;
  }
  int8_t* q = mi.buf.q_in;
  quantize_input(mi, c.in, c.m * l.in, l.inv_input_scale, q);
  mi.for_rows(c.m, [&](size_t r0, size_t rows) {
    kernels::Epilogue ep;
    ep.scale = l.epi_scale.data();
    ep.bias = l.bias.data();
    ep.act = c.gelu ? kernels::Activation::kGelu : kernels::Activation::kNone;
    if (c.out_i8 != nullptr) {
      ep.out_i8 = c.out_i8 + r0 * c.ldo;
      ep.out_inv_scale = c.out_inv_scale;
    } else {
      ep.out_f32 = c.out + r0 * c.ldo;
      ep.accumulate = c.accumulate;
    }
    ep.ldo = c.ldo;
    mi.kernels->gemm(rows, l.out, l.in, q + r0 * l.in, l.in, l.packed.data(), ep);
  });
}

// An int8 linear whose input is already quantized to its input scale (by layer_norm_quantize
// or ops::quantize): float output, optional GELU, optional residual accumulate.
void run_linear_prequantized(ModelImpl& mi, Linear& l, const int8_t* q, size_t m, float* out,
                             size_t ldo, bool accumulate, bool gelu) {
  mi.for_rows(m, [&](size_t r0, size_t rows) {
    kernels::Epilogue ep;
    ep.scale = l.epi_scale.data();
    ep.bias = l.bias.data();
    ep.act = gelu ? kernels::Activation::kGelu : kernels::Activation::kNone;
    ep.out_f32 = out + r0 * ldo;
    ep.accumulate = accumulate;
    ep.ldo = ldo;
    mi.kernels->gemm(rows, l.out, l.in, q + r0 * l.in, l.in, l.packed.data(), ep);
  });
}

// ffn_up (int8, on prequantized input) into ffn_down's int8 input: the epilogue quantizes GELU's
// input to the table's index (bias with the shift folded in, scale 1 / inv_step), then the
// table maps each row block's bytes in place while they are in cache (ops::make_gelu_table).
void run_ffn_up_i8(ModelImpl& mi, Block& b, const int8_t* q, size_t m, int8_t* out) {
  Linear& l = b.ffn_up;
  mi.for_rows(m, [&](size_t r0, size_t rows) {
    kernels::Epilogue ep;
    ep.scale = l.epi_scale.data();
    ep.bias = b.ffn_up_bias_q.data();
    ep.out_i8 = out + r0 * l.out;
    ep.out_inv_scale = b.gelu.inv_step;
    ep.ldo = l.out;
    mi.kernels->gemm(rows, l.out, l.in, q + r0 * l.in, l.in, l.packed.data(), ep);
    mi.kernels->map_s8(out + r0 * l.out, rows * l.out, b.gelu.table);
  });
}

// LayerNorm feeding linear l: fused with the input quantization when l is int8 (the float LN
// output is never needed then), else LN into `a` and the float/int8 linear as usual.
void run_norm_linear(ModelImpl& mi, const LayerNormParams& nrm, float eps, Linear& l, size_t m, size_t d,
                     float* a, float* out, size_t ldo, bool gelu) {
  if (l.int8) {
    layer_norm_quantize(mi, mi.buf.h, m, d, nrm, eps, l.inv_input_scale, mi.buf.q_in);
    run_linear_prequantized(mi, l, mi.buf.q_in, m, out, ldo, false, gelu);
    return;
  }
  ops::layer_norm(mi.buf.h, m, d, nrm.weight.data(), nrm.bias.data(), eps, a);
  LinearCall c;
  c.in = a; c.m = m; c.out = out; c.ldo = ldo; c.gelu = gelu;
  run_linear(mi, l, c);
}

void run_attention(ModelImpl& mi, size_t n, size_t d, size_t heads) {
  const size_t slice = ops::attention_scratch_floats(n, d / heads);
  float* qkv = mi.buf.qkv;
  float* out = mi.buf.attn;
  if (mi.attention_i8) {
    uint8_t* s8 = mi.attn_i8.data();
    if (!mi.pool) {
      attention_i8(*mi.kernels, qkv, n, d, heads, 0, heads, out, s8);
      return;
    }
    auto task = [&](size_t h) {
      attention_i8(*mi.kernels, qkv, n, d, heads, h, h + 1, out, s8 + h * mi.attn_i8_slice);
    };
    mi.pool->parallel_for(heads, task);
    return;
  }
  float* scratch = mi.buf.attn_scratch;
  if (!mi.pool) {
    ops::attention(qkv, n, d, heads, 0, heads, out, scratch);
    return;
  }
  auto task = [&](size_t h) { ops::attention(qkv, n, d, heads, h, h + 1, out, scratch + h * slice); };
  mi.pool->parallel_for(heads, task);
}

}  // namespace

void ModelImpl::forward_features(const float* x) {
  const Hyperparameters& hp = info.hp;
  if (spectral) {
    frontend.compute(x, buf.frontend, buf.features);
  } else {
    const size_t len = static_cast<size_t>(hp.window_length) * hp.channel_count;
    for (size_t j = 0; j < len; ++j) buf.features[j] = x[j];
  }
}

void ModelImpl::forward(const float* x, const OutputBuffers& out) {
  const Hyperparameters& hp = info.hp;
  const size_t n = hp.tokens, d = hp.embedding_length, f = hp.feed_forward_length;
  const size_t cf = hp.feature_channels, tf = hp.feature_length;
  const size_t pw = static_cast<size_t>(hp.patch_length) * cf;
  const size_t k = hp.class_count;
  const float eps = hp.layer_norm_epsilon;

  forward_features(x);
  // u = (f - mean[c]) / std[c]; [T'][C'] row-major is already [N][P*C'] time-major patches.
  float* u = buf.patches;
  ops::normalize_channels(buf.features, tf, cf, norm_mean.data(), norm_std.data(), u);
  // h = p W^T + b + pos: seed h with pos and accumulate (float addition commutes exactly).
  std::memcpy(buf.h, pos_embd.data(), n * d * sizeof(float));
  {
    LinearCall c;
    c.in = u; c.m = n; c.out = buf.h; c.ldo = d; c.accumulate = true;
    run_linear(*this, patch_embd, c);
  }
  for (Block& b : blocks) {
    run_norm_linear(*this, b.attn_norm, eps, b.attn_qkv, n, d, buf.a, buf.qkv, 3 * d, false);
    run_attention(*this, n, d, hp.head_count);
    {
      LinearCall c;
      c.in = buf.attn; c.m = n; c.out = buf.h; c.ldo = d; c.accumulate = true;
      run_linear(*this, b.attn_output, c);
    }
    if (b.ffn_up.int8 && b.ffn_down.int8) {
      // LN fused with ffn_up's input quantization; ffn_up's epilogue quantizes GELU's input and
      // the GELU table gives ffn_down's int8 input: no float FFN activation is written.
      layer_norm_quantize(*this, buf.h, n, d, b.ffn_norm, eps, b.ffn_up.inv_input_scale, buf.q_in);
      run_ffn_up_i8(*this, b, buf.q_in, n, buf.q_ffn);
      run_linear_prequantized(*this, b.ffn_down, buf.q_ffn, n, buf.h, d, true, false);
    } else {
      run_norm_linear(*this, b.ffn_norm, eps, b.ffn_up, n, d, buf.a, buf.ffn, f, true);
      LinearCall down;
      down.in = buf.ffn; down.m = n; down.out = buf.h; down.ldo = d; down.accumulate = true;
      run_linear(*this, b.ffn_down, down);
    }
  }
  float* z = buf.a;
  ops::layer_norm(buf.h, n, d, output_norm.weight.data(), output_norm.bias.data(), eps, z);
  // Mean pool: each feature's sum over t in order, in double.
  ops::mean_rows(z, n, d, out.embedding);
  {
    LinearCall c;
    c.in = out.embedding; c.m = 1; c.out = buf.logits; c.ldo = k;
    run_linear(*this, cls, c);
  }
  ops::softmax(buf.logits, k);
  for (size_t j = 0; j < k; ++j) out.probs[j] = buf.logits[j];

  if (recon.in != 0) {
    LinearCall c;
    c.in = z; c.m = n; c.out = buf.recon; c.ldo = pw;
    run_linear(*this, recon, c);
    ops::reconstruction_errors(buf.recon, u, n, hp.patch_length, cf, out.patch_error, out.channel_error);
  }
  if (calibrating) ++calibration_windows;
}

}  // namespace vigil
