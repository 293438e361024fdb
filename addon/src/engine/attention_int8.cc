#include "attention_int8.h"

#include <cmath>

#include "ops.h"

namespace vigil {
namespace {

constexpr size_t align64(size_t x) { return (x + 63) / 64 * 64; }

struct Layout {
  size_t q16, k16, v8t, sq, ck, sv, colsum, vmax, vblock, pv, s32, p8, o32, tmp, kt, fused, total;
};

constexpr size_t round16(size_t x) { return (x + 15) / 16 * 16; }
bool keys_prepared(const kernels::KernelTable& kt) {
  return kt.attention_keys != nullptr && kt.attention_scores_kt != nullptr;
}

// hc: heads handled by one call (all of them single-threaded, one per pool task).
Layout layout(const kernels::KernelTable& kt, size_t n, size_t dh, size_t hc) {
  Layout l{};
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t o = off;
    off += align64(bytes);
    return o;
  };
  const size_t rows = kAttentionI8Rows;
  l.q16 = take(hc * n * dh * sizeof(int16_t));
  l.k16 = take(hc * n * dh * sizeof(int16_t));
  l.v8t = take(hc * dh * n);
  l.sq = take(hc * n * sizeof(float));
  l.ck = take(hc * n * sizeof(float));
  l.sv = take(hc * dh * sizeof(float));
  l.colsum = take(hc * dh * sizeof(int32_t));
  l.vmax = take(hc * dh * sizeof(uint32_t));
  l.vblock = take(64 * hc * dh);
  if (kt.attention != nullptr) {  // the table's fused kernel: its own scratch only
    l.fused = take(kt.attention_scratch(n, dh));
    l.total = off;
    return l;
  }
  l.pv = take(kt.packed_size(dh, n));
  l.s32 = take(rows * n * sizeof(int32_t));
  l.p8 = take(rows * n);
  l.o32 = take(rows * dh * sizeof(int32_t));
  l.tmp = take(n * sizeof(float));
  l.kt = take(keys_prepared(kt) ? dh * round16(n) * sizeof(int16_t) : 0);
  l.total = off;
  return l;
}

}  // namespace

size_t attention_i8_scratch_bytes(const kernels::KernelTable& kt, size_t n, size_t dh,
                                  size_t heads_per_call) {
  return layout(kt, n, dh, heads_per_call).total;
}

void attention_i8(const kernels::KernelTable& kt, const float* qkv, size_t n, size_t d,
                  size_t heads, size_t head_begin, size_t head_end, float* out, uint8_t* scratch) {
  const size_t dh = d / heads;
  const size_t hc = head_end - head_begin;
  const Layout l = layout(kt, n, dh, hc);
  int16_t* q16 = reinterpret_cast<int16_t*>(scratch + l.q16);
  int16_t* k16 = reinterpret_cast<int16_t*>(scratch + l.k16);
  int8_t* v8t = reinterpret_cast<int8_t*>(scratch + l.v8t);
  float* sq = reinterpret_cast<float*>(scratch + l.sq);
  float* ck = reinterpret_cast<float*>(scratch + l.ck);
  float* sv = reinterpret_cast<float*>(scratch + l.sv);
  int32_t* colsum = reinterpret_cast<int32_t*>(scratch + l.colsum);
  const float inv_sqrt_dh = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  const int32_t qk_levels = ops::attention_qk_levels(n);
  // The table's own form where it has one (the same bits), else the engine's.
  const kernels::QuantizeAttentionOperandsFn quantize_operands =
      kt.quantize_attention_operands != nullptr ? kt.quantize_attention_operands : ops::quantize_attention_operands;
  quantize_operands(qkv, n, d, head_begin, head_end, dh, inv_sqrt_dh, qk_levels, q16, sq, k16, ck, v8t, sv,
                    colsum, reinterpret_cast<uint32_t*>(scratch + l.vmax),
                    reinterpret_cast<int8_t*>(scratch + l.vblock));
  if (kt.attention != nullptr) {
    for (size_t hh = 0; hh < hc; ++hh) {
      kernels::AttentionHead a;
      a.n = n;
      a.dh = dh;
      a.qk_levels = qk_levels;
      a.q16 = q16 + hh * n * dh;
      a.sq = sq + hh * n;
      a.k16 = k16 + hh * n * dh;
      a.ck = ck + hh * n;
      a.v8t = v8t + hh * dh * n;
      a.sv = sv + hh * dh;
      a.out = out + (head_begin + hh) * dh;
      a.ldo = d;
      a.scratch = scratch + l.fused;
      kt.attention(a);
    }
    return;
  }
  // The composed path: the table's (or the engine's) int16 scores, softmax_row_u8, gemm.
  void* pv = scratch + l.pv;
  int32_t* s32 = reinterpret_cast<int32_t*>(scratch + l.s32);
  int8_t* p8 = reinterpret_cast<int8_t*>(scratch + l.p8);
  int32_t* o32 = reinterpret_cast<int32_t*>(scratch + l.o32);
  float* tmp = reinterpret_cast<float*>(scratch + l.tmp);
  // The table's own softmax rows where it has them (the same bits as the engine's).
  const kernels::SoftmaxRowU8Fn softmax_row =
      kt.softmax_row_u8 != nullptr ? kt.softmax_row_u8 : ops::softmax_row_u8;
  for (size_t hh = 0; hh < hc; ++hh) {
    const size_t h = head_begin + hh;
    const int16_t* qh = q16 + hh * n * dh;
    const int16_t* kh = k16 + hh * n * dh;
    const float* sqh = sq + hh * n;
    const float* ckh = ck + hh * n;
    const float* svh = sv + hh * dh;
    const int32_t* csh = colsum + hh * dh;
    kt.pack(v8t + hh * dh * n, dh, n, pv);   // W = V8^T [dh][n]: O = P V8
    int16_t* keys = nullptr;  // K in the table's layout, when it has one
    if (keys_prepared(kt)) {
      keys = reinterpret_cast<int16_t*>(scratch + l.kt);
      kt.attention_keys(kh, n, dh, keys, round16(n));
    }
    for (size_t i0 = 0; i0 < n; i0 += kAttentionI8Rows) {
      const size_t rows = n - i0 < kAttentionI8Rows ? n - i0 : kAttentionI8Rows;
      if (keys != nullptr) {
        kt.attention_scores_kt(qh + i0 * dh, rows, keys, round16(n), n, dh, s32);
      } else {
        ops::attention_scores_s16(qh + i0 * dh, rows, kh, n, dh, s32);
      }
      float inv_sum[kAttentionI8Rows];
      for (size_t r = 0; r < rows; ++r) {
        const int32_t sum = softmax_row(s32 + r * n, n, sqh[i0 + r], ckh, tmp, p8 + r * n);
        inv_sum[r] = 1.0f / static_cast<float>(sum);
      }
      kernels::Epilogue eo;
      eo.out_i32 = o32;
      eo.ldo = dh;
      kt.gemm(rows, dh, n, p8, n, pv, eo);
      for (size_t r = 0; r < rows; ++r) {
        float* o = out + (i0 + r) * d + h * dh;
        const int32_t* a = o32 + r * dh;
        for (size_t t = 0; t < dh; ++t) {
          o[t] = (static_cast<float>(a[t] + 128 * csh[t]) * svh[t]) * inv_sum[r];
        }
      }
    }
  }
}

}  // namespace vigil
