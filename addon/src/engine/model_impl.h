// Internal state of a loaded model: owned weights (F32 copies, int8 packed panels), the static
// schedule's buffers carved from one arena, and calibration counters. Built by
// model_loader.cc, executed by forward.cc.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "frontend.h"
#include "ops.h"
#include "thread_pool.h"
#include "kernels/kernels.h"
#include "vigil/engine.h"

namespace vigil {

struct Linear {
  std::string name;  // e.g. "blk.0.ffn_up"
  size_t in = 0;
  size_t out = 0;
  bool int8 = false;
  std::vector<float> bias;  // [out]
  // F32 execution: weight transposed to [in][out] (see ops::linear_f32).
  std::vector<float> wt;
  // I8 execution: kernel-packed weight, epilogue scale[o] = input_scale * weight_scale[o].
  AlignedBuffer packed;
  std::vector<float> epi_scale;
  float input_scale = 0.0f;
  float inv_input_scale = 0.0f;
  // Calibration: max |input| seen while recording (F32 linears).
  float calib_abs_max = 0.0f;
};

struct LayerNormParams {
  std::vector<float> weight;  // [d]
  std::vector<float> bias;    // [d]
};

struct Block {
  LayerNormParams attn_norm;
  Linear attn_qkv;
  Linear attn_output;
  LayerNormParams ffn_norm;
  Linear ffn_up;
  Linear ffn_down;
  // ffn_up and ffn_down both int8: GELU as a table (ops::make_gelu_table), ffn_up's bias with
  // the table's shift folded in.
  ops::GeluTable gelu;
  std::vector<float> ffn_up_bias_q;
};

// Activation buffers of the static schedule (all views into ModelImpl::arena).
struct Buffers {
  float* features = nullptr;  // [T'][C'] front-end output f
  float* patches = nullptr;   // [N][P*C'] normalized u, read as patches p
  float* h = nullptr;         // [N][d] residual stream
  float* a = nullptr;         // [N][d] LN output (also z, the output norm)
  float* qkv = nullptr;       // [N][3d]
  float* attn = nullptr;      // [N][d] concatenated heads
  float* ffn = nullptr;       // [N][F] (null when every block's ffn_up -> ffn_down is int8 -> int8)
  float* attn_scratch = nullptr;  // [H][attention_scratch_floats]: one slice per head (heads run in parallel)
  float* logits = nullptr;    // [K]
  float* recon = nullptr;     // [N][P*C'] (reconstruction only)
  int8_t* q_in = nullptr;     // [N][max in] quantized linear input
  int8_t* q_ffn = nullptr;    // [N][F] GELU output requantized in the ffn_up epilogue
  double* frontend = nullptr; // spectral front-end scratch
};

class ModelImpl {
 public:
  ModelInfo info;
  const kernels::KernelTable* kernels = nullptr;
  int threads = 1;
  std::unique_ptr<ThreadPool> pool;  // null when threads == 1

  // Runs fn(row0, rows) over [0, m) split in contiguous row blocks across the pool.
  template <typename F>
  void for_rows(size_t m, F&& fn) {
    constexpr size_t kMinRows = 8;
    const size_t chunks = pool ? std::min<size_t>(pool->threads(), m / kMinRows) : 1;
    if (chunks <= 1) {
      fn(size_t{0}, m);
      return;
    }
    const size_t per = (m + chunks - 1) / chunks;
    auto task = [&](size_t i) {
      const size_t r0 = i * per;
      if (r0 < m) fn(r0, std::min(per, m - r0));
    };
    pool->parallel_for(chunks, task);
  }

  std::vector<float> norm_mean;  // [C']
  std::vector<float> norm_std;   // [C']
  std::vector<float> pos_embd;   // [N][d]
  Linear patch_embd;
  std::vector<Block> blocks;
  LayerNormParams output_norm;
  Linear cls;
  Linear recon;  // in == 0 when the model has no reconstruction head

  bool spectral = false;
  SpectralFrontend frontend;

  AlignedBuffer arena;
  Buffers buf;

  // int8 attention (LoadOptions::attention == "int8"): scratch slices of attn_i8_slice bytes,
  // one per concurrently processed head.
  bool attention_i8 = false;
  AlignedBuffer attn_i8;
  size_t attn_i8_slice = 0;

  bool calibrating = false;
  uint64_t calibration_windows = 0;

  // Every linear in schedule order (patch_embd, blocks..., cls, recon).
  template <typename F>
  void for_each_linear(F&& f) {
    f(patch_embd);
    for (Block& b : blocks) {
      f(b.attn_qkv);
      f(b.attn_output);
      f(b.ffn_up);
      f(b.ffn_down);
    }
    f(cls);
    if (recon.in != 0) f(recon);
  }
  template <typename F>
  void for_each_linear(F&& f) const {
    const_cast<ModelImpl*>(this)->for_each_linear(
        [&](Linear& l) { f(static_cast<const Linear&>(l)); });
  }

  void forward_features(const float* x);  // fills buf.features
  void forward(const float* x, const OutputBuffers& out);
};

// Builds a model from a GGUF buffer (model_loader.cc).
Status build_model(const uint8_t* data, size_t size, const LoadOptions& options,
                   std::unique_ptr<ModelImpl>* out);

}  // namespace vigil
