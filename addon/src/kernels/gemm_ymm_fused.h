// The fused int8 GEMM of the 256-bit x86 kernel files (gemm_s8s8_s32_4x16c2__avx2.cc,
// gemm_s8s8_s32_4x16c4__avx_vnni.cc): rows in blocks of T::kMR, 2 ymm (16 columns) per tile
// (T::kNRVGemv ymm for one row), A prepared once per row block for all of K up to kAChunk, the
// Epilogue applied to the accumulators in registers and the output stored once (the
// avx512_vnni file's design). The files differ in their K loop only: T::dot multiplies one
// K group (4 bytes of A broadcast against 32 bytes of a panel: int16 pairs by vpmaddwd, or
// u8 x s8 quads by vpdpbusd) and T::kColumnCorrection starts the accumulators from the packed
// header's per-column int32 instead of 0. Included only by those files (anonymous namespace,
// compiled with each file's flags; see gemm_driver.h).
#pragma once

#include <immintrin.h>

#include "kernels/gemm_driver.h"

namespace vigil::kernels {
namespace {

constexpr size_t kYmmNC = 192;  // columns per block when K is chunked (partial sums in `part`)

// ---- Fused path (the same design as the avx512_vnni file): the whole Epilogue applied to each
// accumulator vector in registers, the output stored once. Float steps element-wise in the
// spec's order (kernels.h, epilogue_impl.h), -ffp-contract=off: bit-identical to scalar.
struct Tile {
  const float* scale;  // at n0
  const float* bias;   // at n0 or nullptr
  bool gelu;
  float* out_f32;      // at (row0, n0) or nullptr
  bool accumulate;
  int8_t* out_i8;      // at (row0, n0) or nullptr
  float inv;
  int32_t* out_i32;    // at (row0, n0) or nullptr
  size_t ldo;
  int32_t* part;       // partial sums of earlier K chunks (row stride kYmmNC) or nullptr
  int32_t* part_out;   // non-null: store raw sums here (not the last K chunk), nothing else
};

// Lane mask of the first nv (0..8) lanes, for maskload/maskstore. Those are slow on AMD
// (the masked store especially), so full vectors (nv == 8) use plain loads and stores.
inline __m256 load_n(const float* p, __m256i mask, size_t nv) {
  return nv == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}
inline void store_n(float* p, __m256i mask, size_t nv, __m256 v) {
  if (nv == 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, mask, v);
  }
}
inline __m256i lane_mask(size_t nv) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(nv)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// GELU of NV float vectors, epilogue_impl.h's exact per-lane float sequence; the NV vectors
// advance in lockstep (independent chains side by side: one vector at a time leaves the
// polynomial/division chain latency-bound).
template <int NV>
__attribute__((always_inline)) inline void gelu_vecs(__m256* x) {
  __m256 z[NV], z2[NV], p[NV], q[NV];
#pragma GCC unroll 8
  for (int i = 0; i < NV; ++i) {
    z[i] = _mm256_mul_ps(x[i], _mm256_set1_ps(0.70710678118654752440f));
    z[i] = _mm256_min_ps(_mm256_max_ps(z[i], _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    z2[i] = _mm256_mul_ps(z[i], z[i]);
    p[i] = _mm256_set1_ps(-2.72614225801306e-10f);
    q[i] = _mm256_set1_ps(-1.45660718464996e-05f);
  }
  static constexpr float kP[6] = {2.77068142495902e-08f,  -2.10102402082508e-06f, -5.69250639462346e-05f,
                                  -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f};
  static constexpr float kQ[4] = {-2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f,
                                  -1.42647390514189e-02f};
#pragma GCC unroll 6
  for (int s = 0; s < 6; ++s) {
#pragma GCC unroll 8
    for (int i = 0; i < NV; ++i) p[i] = _mm256_add_ps(_mm256_mul_ps(p[i], z2[i]), _mm256_set1_ps(kP[s]));
    if (s < 4) {
#pragma GCC unroll 8
      for (int i = 0; i < NV; ++i) q[i] = _mm256_add_ps(_mm256_mul_ps(q[i], z2[i]), _mm256_set1_ps(kQ[s]));
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < NV; ++i) {
    const __m256 e = _mm256_div_ps(_mm256_mul_ps(z[i], p[i]), q[i]);
    const __m256 one_plus = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
    const __m256 half_x = _mm256_mul_ps(_mm256_set1_ps(0.5f), x[i]);
    x[i] = _mm256_mul_ps(half_x, one_plus);
  }
}

// int32 -> float of one accumulator vector (row r, columns [8 v, 8 v + 8), nv valid lanes):
// earlier K chunks added, scale, bias.
__attribute__((always_inline)) inline __m256 to_float(__m256i x, int r, int v, __m256i mask, size_t nv,
                                                     const Tile& t) {
  const size_t col = static_cast<size_t>(v) * 8;
  if (t.part != nullptr) {
    x = _mm256_add_epi32(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.part + r * kYmmNC + col)));
  }
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(x), load_n(t.scale + col, mask, nv));
  if (t.bias != nullptr) f = _mm256_add_ps(f, load_n(t.bias + col, mask, nv));
  return f;
}

// Stores one finished float vector in the Epilogue's output mode.
__attribute__((always_inline)) inline void store_vec(__m256 f, int r, int v, __m256i mask, size_t nv, const Tile& t) {
  const size_t o = static_cast<size_t>(r) * t.ldo + static_cast<size_t>(v) * 8;
  if (t.out_f32 != nullptr) {
    float* dst = t.out_f32 + o;
    if (t.accumulate) f = _mm256_add_ps(load_n(dst, mask, nv), f);
    store_n(dst, mask, nv, f);
    return;
  }
  __m256 q = _mm256_mul_ps(f, _mm256_set1_ps(t.inv));
  q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
  // Half away from zero: truncate q + copysign(0.5 - 2^-25, q) (epilogue_impl.h half_away_bias).
  const __m256 h = _mm256_or_ps(_mm256_and_ps(q, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(0x1.fffffep-2f));
  const __m256i i = _mm256_cvttps_epi32(_mm256_add_ps(q, h));
  // 8 int32 in [-127, 127] -> 8 bytes (packs saturate, which never triggers here).
  const __m256i w16 = _mm256_packs_epi32(i, i);        // lane0: i0..i3 x2, lane1: i4..i7 x2
  const __m256i b8 = _mm256_packs_epi16(w16, w16);     // lane0 bytes i0..i3 ..., lane1 i4..i7 ...
  const uint64_t bytes = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_castsi256_si128(b8))) |
                         static_cast<uint64_t>(static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_extracti128_si256(b8, 1))))
                             << 32;
  int8_t* dst = t.out_i8 + o;
  if (nv == 8) {
    std::memcpy(dst, &bytes, 8);
  } else {
    for (size_t j = 0; j < nv; ++j) dst[j] = static_cast<int8_t>(bytes >> (8 * j));
  }
}

__attribute__((always_inline)) inline void finish_vec(__m256i x, int r, int v, __m256i mask, size_t nv, const Tile& t) {
  const size_t col = static_cast<size_t>(v) * 8;
  if (t.part_out != nullptr) {
    __m256i* dst = reinterpret_cast<__m256i*>(t.part_out + r * kYmmNC + col);
    if (t.part != nullptr) x = _mm256_add_epi32(x, _mm256_loadu_si256(dst));
    _mm256_storeu_si256(dst, x);
    return;
  }
  if (t.out_i32 != nullptr) {
    if (t.part != nullptr) {
      x = _mm256_add_epi32(x, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.part + r * kYmmNC + col)));
    }
    store_n(reinterpret_cast<float*>(t.out_i32 + static_cast<size_t>(r) * t.ldo + col), mask, nv, _mm256_castsi256_ps(x));
    return;
  }
  store_vec(to_float(x, r, v, mask, nv, t), r, v, mask, nv, t);
}

// noipa: inlined into the driver, GCC 12 spills the accumulators on every K step; as a real
// call it keeps them in registers. One flat accumulator array (a 2-D one GCC spills).
// abuf: the prepared A rows (astride bytes apart), 4 bytes per K group and row; w: the tile's
// first panel, 32 bytes per K group, panels pbytes apart; corr: the column corrections the
// accumulators start from (T::kColumnCorrection, the first K chunk) or nullptr (zero).
template <class T, int MR, int NRV>
__attribute__((noipa)) void micro_fused(const uint8_t* abuf, size_t astride, size_t kgroups, const uint8_t* w,
                                        size_t pbytes, size_t cols, const int32_t* corr, const Tile& tile) {
  const Tile t = tile;  // local: the output stores cannot alias it
  __m256i acc[MR * NRV];
#pragma GCC unroll 8
  for (int v = 0; v < NRV; ++v) {
    const __m256i c0 = corr != nullptr ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + v * 8))
                                       : _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[r * NRV + v] = c0;
  }
  for (size_t g = 0; g < kgroups; ++g) {
    __m256i wv[NRV];
#pragma GCC unroll 8
    for (int v = 0; v < NRV; ++v) wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + v * pbytes + g * 32));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t a4;
      std::memcpy(&a4, abuf + r * astride + g * 4, 4);
      const __m256i av = _mm256_set1_epi32(a4);
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) acc[r * NRV + v] = T::dot(acc[r * NRV + v], av, wv[v]);
    }
  }
  size_t nvs[NRV];
#pragma GCC unroll 8
  for (int v = 0; v < NRV; ++v) {
    const size_t c0 = static_cast<size_t>(v) * 8;
    nvs[v] = cols > c0 ? (cols - c0 < 8 ? cols - c0 : 8) : 0;
  }
  if (t.gelu && t.part_out == nullptr) {
    alignas(32) float buf[MR * NRV * 8];
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {
      _mm256_store_ps(buf + i * 8, to_float(acc[i], i / NRV, i % NRV, lane_mask(nvs[i % NRV]), nvs[i % NRV], t));
    }
    constexpr int kG = (MR * NRV) % 4 == 0 ? 4 : 1;  // vectors per GELU step
#pragma GCC unroll 1
    for (int i = 0; i < MR * NRV; i += kG) {
      __m256 x[kG];
#pragma GCC unroll 4
      for (int j = 0; j < kG; ++j) x[j] = _mm256_load_ps(buf + (i + j) * 8);
      gelu_vecs<kG>(x);
#pragma GCC unroll 4
      for (int j = 0; j < kG; ++j) {
        const int v = (i + j) % NRV;
        store_vec(x[j], (i + j) / NRV, v, lane_mask(nvs[v]), nvs[v], t);
      }
    }
    return;
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR * NRV; ++i) {
    const int v = i % NRV;
    finish_vec(acc[i], i / NRV, v, lane_mask(nvs[v]), nvs[v], t);
  }
}

constexpr size_t kAChunk = 1024;  // K per prepared chunk (int16 elements per row)

template <class T, int MR, int NRV>
void run_rows(size_t n, size_t k, const int8_t* a, size_t lda, size_t row0, const uint8_t* packed,
              const Epilogue& ep) {
  using AElem = typename T::AElem;
  constexpr size_t kG = T::kKGroup;
  constexpr size_t kAStrideBytes = kAChunk * sizeof(AElem);
  alignas(32) AElem abuf[MR * kAChunk];
  alignas(32) int32_t part[MR * kYmmNC];
  const uint8_t* ab = reinterpret_cast<const uint8_t*>(abuf);
  const size_t pbytes = Driver<T>::panel_bytes(k);
  const uint8_t* panels_base = packed + Driver<T>::header_bytes(n);
  const int32_t* corr_base = T::kColumnCorrection ? reinterpret_cast<const int32_t*>(packed) : nullptr;
  const bool chunked = k > kAChunk;
  if (!chunked) T::prep_a(a, lda, MR, k, round_up(k, kG), abuf, kAChunk);
  const size_t nblock = chunked ? kYmmNC : n;
  constexpr size_t kTile = NRV * 8;
  for (size_t n0 = 0; n0 < n; n0 += nblock) {
    const size_t nc = min_sz(nblock, n - n0);
    Tile t;
    for (size_t k0 = 0; k0 < k || k0 == 0; k0 += kAChunk) {
      const size_t kc = min_sz(kAChunk, k - k0);
      const bool last = k0 + kAChunk >= k;
      if (chunked) T::prep_a(a + k0, lda, MR, kc, round_up(kc, kG), abuf, kAChunk);
      const size_t kgroups = round_up(kc, kG) / kG;
      const uint8_t* wk = panels_base + (n0 / 8) * pbytes + k0 / kG * 32;
      for (size_t c0 = 0; c0 < nc; c0 += kTile) {
        const size_t cols = min_sz(kTile, nc - c0);
        const size_t col = n0 + c0;
        t.scale = ep.scale != nullptr ? ep.scale + col : nullptr;
        t.bias = ep.bias != nullptr ? ep.bias + col : nullptr;
        t.gelu = ep.act == Activation::kGelu;
        const size_t o = row0 * ep.ldo + col;
        t.out_f32 = ep.out_f32 != nullptr ? ep.out_f32 + o : nullptr;
        t.accumulate = ep.accumulate;
        t.out_i8 = ep.out_i8 != nullptr ? ep.out_i8 + o : nullptr;
        t.inv = ep.out_inv_scale;
        t.out_i32 = ep.out_i32 != nullptr ? ep.out_i32 + o : nullptr;
        t.ldo = ep.ldo;
        t.part = k0 != 0 ? part + c0 : nullptr;
        t.part_out = last ? nullptr : part + c0;
        const uint8_t* wp = wk + (c0 / 8) * pbytes;
        const int32_t* corr = corr_base != nullptr && k0 == 0 ? corr_base + col : nullptr;
        if (cols > (NRV - 1) * 8) {
          micro_fused<T, MR, NRV>(ab, kAStrideBytes, kgroups, wp, pbytes, cols, corr, t);
        } else if constexpr (NRV > 1) {
          for (size_t p = 0; p * 8 < cols; ++p) {  // narrower tail: one panel at a time
            Tile tp = t;
            const size_t pc = p * 8;
            if (tp.scale) tp.scale += pc;
            if (tp.bias) tp.bias += pc;
            if (tp.out_f32) tp.out_f32 += pc;
            if (tp.out_i8) tp.out_i8 += pc;
            if (tp.out_i32) tp.out_i32 += pc;
            if (tp.part) tp.part += pc;
            if (tp.part_out) tp.part_out += pc;
            micro_fused<T, MR, 1>(ab, kAStrideBytes, kgroups, wp + p * pbytes, pbytes, min_sz(8, cols - pc),
                                  corr != nullptr ? corr + pc : nullptr, tp);
          }
        }
      }
      if (k == 0) break;
    }
  }
}

template <class T, int MR>
void rows_dispatch(size_t mr, size_t n, size_t k, const int8_t* a, size_t lda, size_t row0, const uint8_t* packed,
                   const Epilogue& ep) {
  if constexpr (MR > 1) {
    if (mr < static_cast<size_t>(MR)) return rows_dispatch<T, MR - 1>(mr, n, k, a, lda, row0, packed, ep);
  }
  run_rows<T, MR, T::kNRV>(n, k, a, lda, row0, packed, ep);
}

template <class T>
void gemm_fused(size_t m, size_t n, size_t k, const int8_t* a, size_t lda, const void* packed, const Epilogue& ep) {
  assert(epilogue_valid(ep, n));
  assert(m == 0 || lda >= k);
  assert(packed != nullptr || n == 0);
  if (m == 0 || n == 0) return;
  const uint8_t* p = static_cast<const uint8_t*>(packed);
  if (m == 1) {
    run_rows<T, 1, T::kNRVGemv>(n, k, a, lda, 0, p, ep);
    return;
  }
  for (size_t m0 = 0; m0 < m; m0 += T::kMR) {
    const size_t mr = min_sz(T::kMR, m - m0);
    rows_dispatch<T, T::kMR>(mr, n, k, a + m0 * lda, lda, m0, p, ep);
  }
}

}  // namespace
}  // namespace vigil::kernels
