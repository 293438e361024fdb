// gemm_s8s8_s32_6x64c4__avx512_vnni: vpdpbusd (u8 x s8 -> s32), 6 rows x 4 zmm (64 columns),
// K in groups of 4; GEMV (M == 1) uses 1 x 8 zmm (128 columns, 8 independent chains).
// Layout: [int32 128*colsum(W)[Np]] then 16-column panels, 64 bytes per K group (c4).
// Exact: A is fed as u8 = A + 128 (xor 0x80), so acc = A.W + 128*sum_k W[n,k]; the second
// term is computed once at pack time and subtracted before the epilogue. vpdpbusd does not
// saturate, and |acc| stays far below 2^31 for any K the engine uses.
// Uses gemm_driver.h's packing only: the GEMM below is its own loop nest, A prepared once per
// row block for all of K (chunks of kAChunk beyond), the column-sum correction and the whole
// epilogue applied to the accumulators in registers and the output stored once (no int32 tile,
// no separate fix-up or epilogue pass).
#include <immintrin.h>

#include "kernels/dispatch.h"
#include "kernels/gemm_driver.h"
#include "kernels/map_s8_avx2.h"

// GCC 12 reports "'__Y' may be used uninitialized" inside its own avx512fintrin.h for the masked
// intrinsics (their pass-through operand is _mm512_undefined_ps()/_si512(), undefined on
// purpose); ~130 false positives per build of this file. Nothing in this file reads an
// uninitialized value (ASan/UBSan and the exactness tests run it).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#if !defined(__AVX512F__) || !defined(__AVX512VNNI__) || !defined(__AVX512BW__)
#error "this file must be compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni (kernels.cmake)"
#endif

namespace vigil::kernels {

// attention_u8s8__avx512_vnni.cc: the fused int8 attention of this table.
size_t attention_u8s8_scratch__avx512_vnni(size_t n, size_t dh);
void attention_u8s8__avx512_vnni(const AttentionHead& head);

namespace {

struct Avx512Vnni {
  using WElem = int8_t;
  using AElem = uint8_t;
  static constexpr size_t kPanel = 16, kKGroup = 4, kMR = 6, kNRV = 4, kNRVGemv = 8;
  static constexpr size_t kNC = 256, kHeaderBytesPerCol = 4;

  static void pack_header(const int8_t* w, size_t n, size_t k, uint8_t* base, size_t np) {
    pack_column_sums(w, n, k, base, np, 128);
  }

  static void prep_a(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, uint8_t* buf,
                     size_t stride) {
    for (size_t r = 0; r < rows; ++r) {
      const int8_t* src = a + r * lda;
      uint8_t* dst = buf + r * stride;
      for (size_t j = 0; j < kc; ++j) dst[j] = static_cast<uint8_t>(src[j]) ^ 0x80u;
      for (size_t j = kc; j < kcpad; ++j) dst[j] = 0;
    }
  }
};

// ---- Fused path: the column-sum correction and the whole Epilogue applied to each
// accumulator vector while it is in a register, the final output stored once. The float
// steps are the scalar spec's, element-wise in the same order (kernels.h):
//   v = (float)acc * scale; v = v + bias; GELU (epilogue_impl.h's float sequence);
//   f32: store or o + v;  i8: t = v * inv, clamp (max/min keep the spec's NaN -> -127),
//   truncate t + copysign(0.5 - 2^-25, t) (epilogue_impl.h half_away_bias).  -ffp-contract=off keeps mul and add separate.
struct Tile {
  const uint8_t* colsum;  // packed header at column n0 (int32 128*colsum)
  const float* scale;     // at n0
  const float* bias;      // at n0 or nullptr
  bool gelu;
  float* out_f32;         // at (row0, n0) or nullptr
  bool accumulate;
  int8_t* out_i8;         // at (row0, n0) or nullptr
  float inv;
  int32_t* out_i32;       // at (row0, n0) or nullptr
  size_t ldo;
  int32_t* part;          // partial sums of earlier K chunks (row stride kNC) or nullptr
  int32_t* part_out;      // non-null: store raw sums here (not the last K chunk), nothing else
};

// GELU of NV float vectors, epilogue_impl.h's exact per-lane float sequence; the NV vectors
// advance in lockstep (independent chains side by side: one vector at a time leaves the
// polynomial/division chain latency-bound).
template <int NV>
__attribute__((always_inline)) inline void gelu_vecs(__m512* x) {
  __m512 z[NV], z2[NV], p[NV], q[NV];
#pragma GCC unroll 8
  for (int i = 0; i < NV; ++i) {
    z[i] = _mm512_mul_ps(x[i], _mm512_set1_ps(0.70710678118654752440f));
    z[i] = _mm512_min_ps(_mm512_max_ps(z[i], _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    z2[i] = _mm512_mul_ps(z[i], z[i]);
    p[i] = _mm512_set1_ps(-2.72614225801306e-10f);
    q[i] = _mm512_set1_ps(-1.45660718464996e-05f);
  }
  static constexpr float kP[6] = {2.77068142495902e-08f,  -2.10102402082508e-06f, -5.69250639462346e-05f,
                                  -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f};
  static constexpr float kQ[4] = {-2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f,
                                  -1.42647390514189e-02f};
#pragma GCC unroll 6
  for (int s = 0; s < 6; ++s) {
#pragma GCC unroll 8
    for (int i = 0; i < NV; ++i) p[i] = _mm512_add_ps(_mm512_mul_ps(p[i], z2[i]), _mm512_set1_ps(kP[s]));
    if (s < 4) {
#pragma GCC unroll 8
      for (int i = 0; i < NV; ++i) q[i] = _mm512_add_ps(_mm512_mul_ps(q[i], z2[i]), _mm512_set1_ps(kQ[s]));
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < NV; ++i) {
    const __m512 e = _mm512_div_ps(_mm512_mul_ps(z[i], p[i]), q[i]);
    const __m512 one_plus = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
    const __m512 half_x = _mm512_mul_ps(_mm512_set1_ps(0.5f), x[i]);
    x[i] = _mm512_mul_ps(half_x, one_plus);
  }
}

// The int32 -> float steps of one accumulator vector (row r, columns [16 v, 16 v + 16) of the
// tile, lanes in mask): earlier K chunks added, the column-sum correction, scale, bias.
__attribute__((always_inline)) inline __m512 to_float(__m512i x, int r, int v, __mmask16 mask, const Tile& t) {
  const size_t col = static_cast<size_t>(v) * 16;
  if (t.part != nullptr) x = _mm512_add_epi32(x, _mm512_loadu_si512(t.part + r * Avx512Vnni::kNC + col));
  x = _mm512_sub_epi32(x, _mm512_maskz_loadu_epi32(mask, t.colsum + col * 4));
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), _mm512_maskz_loadu_ps(mask, t.scale + col));
  if (t.bias != nullptr) f = _mm512_add_ps(f, _mm512_maskz_loadu_ps(mask, t.bias + col));
  return f;
}

// The int8 output mode's value of one float vector, as int32 lanes: f * inv clamped to
// [-127, 127] (max/min keep the spec's NaN -> -127), then half away from zero: truncate
// q + copysign(0.5 - 2^-25, q) (epilogue_impl.h half_away_bias).
__attribute__((always_inline)) inline __m512i requant(__m512 f, float inv) {
  __m512 q = _mm512_mul_ps(f, _mm512_set1_ps(inv));
  q = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
  const __m512 h = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
      _mm512_castps_si512(q), _mm512_set1_epi32(0x3effffff), _mm512_set1_epi32(INT32_MIN), 0xec));  // (q & sign) | h
  return _mm512_cvttps_epi32(_mm512_add_ps(q, h));
}

// Stores one finished float vector (after the activation) in the Epilogue's output mode.
__attribute__((always_inline)) inline void store_vec(__m512 f, int r, int v, __mmask16 mask, const Tile& t) {
  const size_t o = static_cast<size_t>(r) * t.ldo + static_cast<size_t>(v) * 16;
  if (t.out_f32 != nullptr) {
    float* dst = t.out_f32 + o;
    if (t.accumulate) f = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, dst), f);
    _mm512_mask_storeu_ps(dst, mask, f);
    return;
  }
  _mm512_mask_cvtepi32_storeu_epi8(t.out_i8 + o, mask, requant(f, t.inv));
}

// Finishes one accumulator vector without an activation: raw partial sums (not the last K
// chunk), int32 output, or scale/bias and the float/int8 store, all in registers.
__attribute__((always_inline)) inline void finish_vec(__m512i x, int r, int v, __mmask16 mask, const Tile& t) {
  const size_t col = static_cast<size_t>(v) * 16;
  if (t.part_out != nullptr) {
    int32_t* dst = t.part_out + r * Avx512Vnni::kNC + col;
    if (t.part != nullptr) x = _mm512_add_epi32(x, _mm512_loadu_si512(dst));
    _mm512_storeu_si512(dst, x);
    return;
  }
  if (t.out_i32 != nullptr) {
    if (t.part != nullptr) x = _mm512_add_epi32(x, _mm512_loadu_si512(t.part + r * Avx512Vnni::kNC + col));
    x = _mm512_sub_epi32(x, _mm512_maskz_loadu_epi32(mask, t.colsum + col * 4));
    _mm512_mask_storeu_epi32(t.out_i32 + static_cast<size_t>(r) * t.ldo + col, mask, x);
    return;
  }
  store_vec(to_float(x, r, v, mask, t), r, v, mask, t);
}

// A tile's finish deferred into the next tile's K loop (software pipelining). Measured on Zen 4:
// vpdpbusd zmm occupies both FMA pipes, and among a K group's vpdpbusd the finish's converts,
// adds, clamps, logic, loads and stores issue for free (only its multiplies cost a cycle each),
// while the same finish run after the tile's own K loop cost ~160 cycles of a 6 x 4 tile's 384
// at K = 64 (vigil_bench_gemm: 67-72 % of peak, 55 % in the int8 output mode). So a tile of 64
// full columns (any rows) in the float or int8 output mode leaves its raw accumulators here and
// the next tile's K loop finishes them, two vectors per K group; flush() finishes the last one
// of a GEMM. The arithmetic per vector is finish_vec's (to_float, store_vec): the same bits.
enum class Defer { kNone, kF32, kF32Acc, kI8 };

struct Pending {
  static constexpr int kVectors = static_cast<int>(Avx512Vnni::kMR * Avx512Vnni::kNRV);
  alignas(64) int32_t acc[kVectors * 16];
  Tile t;
  Defer mode;
  int count;  // vectors deferred: rows x 4
};

// A deferred tile's fields as locals: the output stores (may_alias vector types) would otherwise
// force every field to be reloaded after each one.
struct Deferred {
  const int32_t* acc;
  const uint8_t* colsum;
  const float* scale;
  const float* bias;
  float* out_f32;
  int8_t* out_i8;
  size_t ldo;
  float inv;
};

Deferred deferred(const Pending& p) {
  return {p.acc, p.t.colsum, p.t.scale, p.t.bias, p.t.out_f32, p.t.out_i8, p.t.ldo, p.t.inv};
}

// Vector e (row e / 4, columns 16 (e % 4) ...) of a deferred full tile, in mode D.
template <Defer D>
__attribute__((always_inline)) inline void finish_deferred(const Deferred& d, int e) {
  const size_t v = static_cast<size_t>(e) & 3, r = static_cast<size_t>(e) >> 2;
  const __m512i x = _mm512_sub_epi32(_mm512_load_si512(d.acc + e * 16), _mm512_loadu_si512(d.colsum + v * 64));
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), _mm512_loadu_ps(d.scale + v * 16));
  if (d.bias != nullptr) f = _mm512_add_ps(f, _mm512_loadu_ps(d.bias + v * 16));
  const size_t o = r * d.ldo + v * 16;
  if constexpr (D == Defer::kI8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d.out_i8 + o), _mm512_cvtepi32_epi8(requant(f, d.inv)));
  } else {
    if constexpr (D == Defer::kF32Acc) f = _mm512_add_ps(_mm512_loadu_ps(d.out_f32 + o), f);
    _mm512_storeu_ps(d.out_f32 + o, f);
  }
}

template <Defer D>
void finish_deferred_all(const Pending& p) {
  const Deferred d = deferred(p);
  for (int e = 0; e < p.count; ++e) finish_deferred<D>(d, e);
}

void flush(Pending& p) {
  switch (p.mode) {
    case Defer::kF32: finish_deferred_all<Defer::kF32>(p); break;
    case Defer::kF32Acc: finish_deferred_all<Defer::kF32Acc>(p); break;
    case Defer::kI8: finish_deferred_all<Defer::kI8>(p); break;
    case Defer::kNone: break;
  }
  p.mode = Defer::kNone;
}

// The K loop of an MR x NRV tile into acc, finishing a deferred tile (mode D) on the way: two
// vectors per K group, one row of the deferred tile per two groups, its column blocks as
// constants (with a run-time vector index, the row / column arithmetic and reloads of the
// deferred tile's fields took as many instructions as the finish itself).
template <int MR, int NRV, Defer D>
__attribute__((always_inline)) inline void k_loop(__m512i* acc, const uint8_t* abuf, size_t astride, size_t kgroups,
                                                  const uint8_t* w, size_t pbytes, const Pending* pend) {
  auto group = [&](size_t g) __attribute__((always_inline)) {
    __m512i wv[NRV];
#pragma GCC unroll 8
    for (int v = 0; v < NRV; ++v) wv[v] = _mm512_loadu_si512(w + v * pbytes + g * 64);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t a4;
      std::memcpy(&a4, abuf + r * astride + g * 4, 4);
      const __m512i av = _mm512_set1_epi32(a4);
#pragma GCC unroll 8
      for (int v = 0; v < NRV; ++v) acc[r * NRV + v] = _mm512_dpbusd_epi32(acc[r * NRV + v], av, wv[v]);
    }
  };
  size_t g = 0;
  if constexpr (D != Defer::kNone) {
    const Deferred d = deferred(*pend);
    const int rows = pend->count / 4;  // full rows of 4 vectors
    int r = 0;
    for (; r < rows && g + 2 <= kgroups; ++r, g += 2) {
      group(g);
      finish_deferred<D>(d, 4 * r);
      finish_deferred<D>(d, 4 * r + 1);
      group(g + 1);
      finish_deferred<D>(d, 4 * r + 2);
      finish_deferred<D>(d, 4 * r + 3);
    }
    for (; g < kgroups; ++g) group(g);
    for (int e = 4 * r; e < pend->count; ++e) finish_deferred<D>(d, e);
  } else {
    for (; g < kgroups; ++g) group(g);
  }
}

// MR rows x NRV panels over kgroups K groups of the prepared A (row stride astride), then the
// fused finish. With pend: pend's deferred tile is finished in this tile's K loop, and this
// tile's finish is deferred into pend when it is a full 6 x 64 tile in a deferrable mode.
// cols: valid columns of this tile (<= 16 NRV).
template <int MR, int NRV>
__attribute__((noipa)) void micro_fused(const uint8_t* abuf, size_t astride, size_t kgroups, const uint8_t* w,
                                        size_t pbytes, size_t cols, const Tile& tile, Pending* pend) {
  // A local copy: the output stores cannot alias it, so its fields stay in registers instead
  // of being reloaded after every store.
  const Tile t = tile;
  __m512i acc[MR * NRV];
#pragma GCC unroll 32
  for (int i = 0; i < MR * NRV; ++i) acc[i] = _mm512_setzero_si512();
  switch (pend != nullptr ? pend->mode : Defer::kNone) {
    case Defer::kF32: k_loop<MR, NRV, Defer::kF32>(acc, abuf, astride, kgroups, w, pbytes, pend); break;
    case Defer::kF32Acc: k_loop<MR, NRV, Defer::kF32Acc>(acc, abuf, astride, kgroups, w, pbytes, pend); break;
    case Defer::kI8: k_loop<MR, NRV, Defer::kI8>(acc, abuf, astride, kgroups, w, pbytes, pend); break;
    case Defer::kNone: k_loop<MR, NRV, Defer::kNone>(acc, abuf, astride, kgroups, w, pbytes, pend); break;
  }
  if (pend != nullptr) pend->mode = Defer::kNone;
  __mmask16 masks[NRV];
#pragma GCC unroll 8
  for (int v = 0; v < NRV; ++v) {
    const size_t c0 = static_cast<size_t>(v) * 16;
    const size_t nv = cols > c0 ? (cols - c0 < 16 ? cols - c0 : 16) : 0;
    masks[v] = static_cast<__mmask16>((1u << nv) - 1u);
  }
  if (t.gelu && t.part_out == nullptr) {
    // GELU (a long float sequence with a division) in a rolled loop over the tile, one copy of its
    // code: unrolled 24 times it overflows the op cache and runs slower.
    alignas(64) float buf[MR * NRV * 16];
#pragma GCC unroll 32
    for (int i = 0; i < MR * NRV; ++i) {
      _mm512_store_ps(buf + i * 16, to_float(acc[i], i / NRV, i % NRV, masks[i % NRV], t));
    }
    constexpr int kG = (MR * NRV) % 4 == 0 ? 4 : 1;  // vectors per GELU step
#pragma GCC unroll 1
    for (int i = 0; i < MR * NRV; i += kG) {
      __m512 x[kG];
#pragma GCC unroll 4
      for (int j = 0; j < kG; ++j) x[j] = _mm512_load_ps(buf + (i + j) * 16);
      gelu_vecs<kG>(x);
#pragma GCC unroll 4
      for (int j = 0; j < kG; ++j) store_vec(x[j], (i + j) / NRV, (i + j) % NRV, masks[(i + j) % NRV], t);
    }
    return;
  }
  if constexpr (NRV == 4) {
    if (pend != nullptr && cols == 64 && t.part == nullptr && t.part_out == nullptr && t.out_i32 == nullptr &&
        t.scale != nullptr) {
#pragma GCC unroll 32
      for (int i = 0; i < MR * NRV; ++i) _mm512_store_si512(pend->acc + i * 16, acc[i]);
      pend->t = t;
      pend->mode = t.out_f32 != nullptr ? (t.accumulate ? Defer::kF32Acc : Defer::kF32) : Defer::kI8;
      pend->count = MR * NRV;
      return;
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR * NRV; ++i) finish_vec(acc[i], i / NRV, i % NRV, masks[i % NRV], t);
}

// Prepared A for up to kMR rows of one K chunk: u8 = A ^ 0x80, zero padded to the K group.
constexpr size_t kAChunk = 1024;  // K per chunk (bytes per prepared row)

// pend: the deferred finish carried from tile to tile (nullptr: each tile finishes itself).
template <int MR, int NRV>
void run_rows(size_t n, size_t k, const int8_t* a, size_t lda, size_t row0, const uint8_t* packed,
              const Epilogue& ep, Pending* pend) {
  using T = Avx512Vnni;
  alignas(64) uint8_t abuf[MR * kAChunk];
  alignas(64) int32_t part[MR * T::kNC];
  const size_t pbytes = Driver<T>::panel_bytes(k);
  const uint8_t* panels_base = packed + Driver<T>::header_bytes(n);
  const bool chunked = k > kAChunk;
  if (chunked && pend != nullptr) {  // partial sums live in this frame: no deferral across it
    flush(*pend);
    pend = nullptr;
  }
  if (!chunked) {
    const size_t kpad = round_up(k, 4);
    T::prep_a(a, lda, MR, k, kpad, abuf, kAChunk);
  }
  const size_t nblock = chunked ? T::kNC : n;  // unchunked: one pass over all columns
  for (size_t n0 = 0; n0 < n; n0 += nblock) {
    const size_t nc = min_sz(nblock, n - n0);
    Tile t;
    for (size_t k0 = 0; k0 < k || k0 == 0; k0 += kAChunk) {
      const size_t kc = min_sz(kAChunk, k - k0);
      const bool last = k0 + kAChunk >= k;
      if (chunked) T::prep_a(a + k0, lda, MR, kc, round_up(kc, 4), abuf, kAChunk);
      const size_t kgroups = round_up(kc, 4) / 4;
      const uint8_t* wk = panels_base + (n0 / 16) * pbytes + k0 / 4 * 64;
      for (size_t c0 = 0; c0 < nc; c0 += NRV * 16) {
        const size_t cols = min_sz(NRV * 16, nc - c0);
        const size_t col = n0 + c0;
        t.colsum = packed + col * 4;
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
        const uint8_t* wp = wk + (c0 / 16) * pbytes;
        if (cols > (NRV - 1) * 16) {
          micro_fused<MR, NRV>(abuf, kAChunk, kgroups, wp, pbytes, cols, t, pend);
        } else if constexpr (NRV > 1) {
          // Tail narrower than the full tile: one panel at a time.
          for (size_t p = 0; p * 16 < cols; ++p) {
            Tile tp = t;
            const size_t pc = p * 16;
            tp.colsum += pc * 4;
            if (tp.scale) tp.scale += pc;
            if (tp.bias) tp.bias += pc;
            if (tp.out_f32) tp.out_f32 += pc;
            if (tp.out_i8) tp.out_i8 += pc;
            if (tp.out_i32) tp.out_i32 += pc;
            if (tp.part) tp.part += pc;
            if (tp.part_out) tp.part_out += pc;
            micro_fused<MR, 1>(abuf, kAChunk, kgroups, wp + p * pbytes, pbytes, min_sz(16, cols - pc), tp, pend);
          }
        }
      }
      if (k == 0) break;
    }
  }
}

template <int MR>
void rows_dispatch(size_t mr, size_t n, size_t k, const int8_t* a, size_t lda, size_t row0, const uint8_t* packed,
                   const Epilogue& ep, Pending* pend) {
  if constexpr (MR > 1) {
    if (mr < static_cast<size_t>(MR)) return rows_dispatch<MR - 1>(mr, n, k, a, lda, row0, packed, ep, pend);
  }
  run_rows<MR, Avx512Vnni::kNRV>(n, k, a, lda, row0, packed, ep, pend);
}

void gemm_fused(size_t m, size_t n, size_t k, const int8_t* a, size_t lda, const void* packed, const Epilogue& ep) {
  assert(epilogue_valid(ep, n));
  assert(m == 0 || lda >= k);
  assert(packed != nullptr || n == 0);
  if (m == 0 || n == 0) return;
  const uint8_t* p = static_cast<const uint8_t*>(packed);
  if (m == 1) {
    run_rows<1, Avx512Vnni::kNRVGemv>(n, k, a, lda, 0, p, ep, nullptr);
    return;
  }
  Pending pend;
  pend.mode = Defer::kNone;
  for (size_t m0 = 0; m0 < m; m0 += Avx512Vnni::kMR) {
    const size_t mr = min_sz(Avx512Vnni::kMR, m - m0);
    rows_dispatch<Avx512Vnni::kMR>(mr, n, k, a + m0 * lda, lda, m0, p, ep, &pend);
  }
  flush(pend);
}

// MapS8Fn: with AVX-512 VBMI (Ice Lake, Zen 4 and later) 64 bytes per step, the 256-byte table
// in 4 zmm registers: vpermi2b on the index's low 7 bits for each half, the half picked by bit 7.
// Cascade Lake has VNNI without VBMI: the 256-bit tables' vpshufb lookup there (map_s8_avx2.h).
__attribute__((target("avx512vbmi"))) void map_s8__avx512vbmi(int8_t* x, size_t n, const int8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  const __m512i k80 = _mm512_set1_epi8(static_cast<char>(0x80));
  for (size_t i = 0; i < n; i += 64) {
    const size_t left = n - i;
    const __mmask64 m = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    const __m512i idx = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), k80);  // x + 128
    const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);
    _mm512_mask_storeu_epi8(x + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi));
  }
}

void map_s8__avx512(int8_t* x, size_t n, const int8_t* table) {
  // The OS state check of the table's selection covers zmm; VBMI is one more CPUID bit.
  if (cpu_features().avx512_vbmi) {
    map_s8__avx512vbmi(x, n, table);
  } else {
    map_s8_avx2(x, n, table);
  }
}

using D = Driver<Avx512Vnni>;
const KernelTable kTable = {Isa::kAvx512Vnni, "avx512_vnni", D::packed_size, D::pack, gemm_fused,
                            attention_u8s8_scratch__avx512_vnni, attention_u8s8__avx512_vnni, nullptr,
                            map_s8__avx512, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace

const KernelTable* table_avx512_vnni() { return &kTable; }

}  // namespace vigil::kernels
