// Blocked GEMM driver for the SIMD kernel files: the packing (every ISA) and the generic loop
// nest below (neon, neon_dot; avx2 and avx512_vnni run their own fused loop nest over the same
// packed layout). Included ONLY by ISA files, and
// everything here is in an anonymous namespace or templated on the file's own Traits, so each
// ISA's instantiation stays inside its own object file (no COMDAT merging of code compiled with
// AVX/dotprod flags into baseline callers). No std:: inline helpers for the same reason.
//
// The packed buffer needs no particular alignment (unaligned loads throughout); 64-byte
// alignment is merely faster. Packed weight layout (per ISA Traits):
//   [header: Traits::kHeaderBytesPerCol * Np bytes]   (VNNI: int32 128*colsum per column)
//   panels p = 0 .. Np/kPanel-1, each Kp/kKGroup groups of kPanel*kKGroup weights:
//     group g of panel p holds W[p*kPanel + c, g*kKGroup + j] at element c*kKGroup + j,
//     zero for c or k beyond N or K.  (Np = N rounded up to kPanel, Kp = K rounded up to kKGroup.)
// Loop nest: rows in blocks of kMR (kMR=1 with the wider GEMV tile when M == 1), columns in
// blocks of kNC, K in chunks of kKC; each (row block, column block, K chunk) converts its A
// slice once into a small stack buffer (Traits::prep_a), then runs the microkernel over
// kNRV panels at a time, accumulating into an int32 stack tile; the finished tile goes through
// Traits::fix_row and this ISA's copy of epilogue_row_impl. Traits with kFusedEpilogue (the
// aarch64 neon and neon_dot files) take block_fused instead when K fits one chunk.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/epilogue.h"
#include "kernels/epilogue_impl.h"
#include "kernels/kernels.h"

namespace vigil::kernels {
namespace {

constexpr size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }
constexpr size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

// The packed header of the u8 x s8 (VNNI) files: factor * sum_k w[c][k] as int32 per column c
// < np (N rounded up to the panel; 0 past n).
inline void pack_column_sums(const int8_t* w, size_t n, size_t k, uint8_t* base, size_t np, int32_t factor) {
  for (size_t c = 0; c < np; ++c) {
    int32_t s = 0;
    if (c < n) {
      for (size_t j = 0; j < k; ++j) s += w[c * k + j];
    }
    const int32_t v = factor * s;
    std::memcpy(base + c * 4, &v, 4);
  }
}

// prep_a of the int16 (pmaddwd) files: A's rows sign-extended to int16, zero padded to kcpad.
inline void prep_a_s16(const int8_t* a, size_t lda, size_t rows, size_t kc, size_t kcpad, int16_t* buf,
                       size_t stride) {
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* src = a + r * lda;
    int16_t* dst = buf + r * stride;
    for (size_t j = 0; j < kc; ++j) dst[j] = src[j];
    for (size_t j = kc; j < kcpad; ++j) dst[j] = 0;
  }
}

template <class T>
struct Driver {
  static size_t panel_bytes(size_t k) {
    return round_up(k, T::kKGroup) / T::kKGroup * T::kPanel * T::kKGroup * sizeof(typename T::WElem);
  }
  static size_t header_bytes(size_t n) { return round_up(n, T::kPanel) * T::kHeaderBytesPerCol; }

  static size_t packed_size(size_t n, size_t k) {
    return header_bytes(n) + round_up(n, T::kPanel) / T::kPanel * panel_bytes(k);
  }

  static void pack(const int8_t* w, size_t n, size_t k, void* packed) {
    uint8_t* base = static_cast<uint8_t*>(packed);
    const size_t np = round_up(n, T::kPanel), kp = round_up(k, T::kKGroup);
    T::pack_header(w, n, k, base, np);
    uint8_t* out = base + header_bytes(n);  // any alignment: elements are written with memcpy
    using WElem = typename T::WElem;
    const size_t pbytes = panel_bytes(k);
    constexpr size_t kGroupBytes = T::kKGroup * sizeof(WElem);
    constexpr size_t kGroupStride = T::kPanel * kGroupBytes;  // bytes between groups of one column
    // W is read row by row (one output column at a time, sequential: the file's bytes are cold),
    // each K group written to its place in the column's panel; a panel (kPanel columns) stays
    // in L1 while its columns are written. Columns past N are zero-filled.
    for (size_t col = 0; col < np; ++col) {
      uint8_t* dst = out + (col / T::kPanel) * pbytes + (col % T::kPanel) * kGroupBytes;
      const int8_t* src = col < n ? w + col * k : w;  // not read past N
      for (size_t g = 0; g < kp; g += T::kKGroup, dst += kGroupStride) {
        WElem grp[T::kKGroup];
        if (col < n && g + T::kKGroup <= k) {
          if constexpr (sizeof(WElem) == 1) {
            std::memcpy(dst, src + g, T::kKGroup);
            continue;
          }
          for (size_t j = 0; j < T::kKGroup; ++j) grp[j] = static_cast<WElem>(src[g + j]);
        } else {
          for (size_t j = 0; j < T::kKGroup; ++j) {
            grp[j] = static_cast<WElem>(col < n && g + j < k ? src[g + j] : 0);
          }
        }
        std::memcpy(dst, grp, sizeof(grp));
      }
    }
  }

  // Runs the microkernel over `panels` consecutive panels, kNRV (or kNRVGemv) at a time.
  template <int MR, int NRV>
  static void panels_loop(const typename T::AElem* abuf, size_t kgroups, const uint8_t* w0,
                          size_t pbytes, size_t panels, int32_t* c, size_t ldc, bool acc) {
    size_t p = 0;
    for (; p + NRV <= panels; p += NRV) {
      T::template micro<MR, NRV>(abuf, kgroups, w0 + p * pbytes, pbytes, c + p * T::kPanel, ldc, acc);
    }
    for (; p < panels; ++p) {
      T::template micro<MR, 1>(abuf, kgroups, w0 + p * pbytes, pbytes, c + p * T::kPanel, ldc, acc);
    }
  }

  // Traits with kFusedEpilogue (neon_dot) provide micro_fused<MR, NRV>: the K loop and the
  // Epilogue's float modes in registers for whole panels. Taken when K fits one chunk and the
  // output is float or int8; panels that do not fill the tile go through the int32 tile and
  // epilogue_row_impl as in block() (the same bits either way; kernels_exact).
  template <int MR, int NRV>
  static void block_fused(size_t n, size_t k, const int8_t* a, size_t lda, size_t row0,
                          const uint8_t* packed, const Epilogue& ep) {
    alignas(64) typename T::AElem abuf[MR * T::kKC];
    alignas(64) int32_t cbuf[MR * T::kPanel];
    const size_t pbytes = panel_bytes(k);
    const uint8_t* panels_base = packed + header_bytes(n);
    T::prep_a(a, lda, MR, k, round_up(k, T::kKGroup), abuf, T::kKC);
    const size_t kgroups = round_up(k, T::kKGroup) / T::kKGroup;
    const size_t panels = round_up(n, T::kPanel) / T::kPanel;
    size_t p = 0;
    if constexpr (T::kFusedPanels) {  // all whole panels in one call (neon)
      if (kgroups > 0) {
        p = n / T::kPanel;
        T::template micro_fused_panels<MR>(abuf, kgroups, panels_base, pbytes, p, row0, ep);
      }
    }
    for (; (p + NRV) * T::kPanel <= n; p += NRV) {
      T::template micro_fused<MR, NRV>(abuf, kgroups, panels_base + p * pbytes, pbytes, row0, p * T::kPanel, ep);
    }
    for (; p < panels; ++p) {
      const size_t n0 = p * T::kPanel, nc = min_sz(T::kPanel, n - n0);
      if (nc == T::kPanel) {
        T::template micro_fused<MR, 1>(abuf, kgroups, panels_base + p * pbytes, pbytes, row0, n0, ep);
        continue;
      }
      T::template micro<MR, 1>(abuf, kgroups, panels_base + p * pbytes, pbytes, cbuf, T::kPanel, false);
      for (size_t r = 0; r < MR; ++r) {
        T::fix_row(cbuf + r * T::kPanel, n0, nc, packed);
        epilogue_row_impl(cbuf + r * T::kPanel, row0 + r, n0, nc, ep);
      }
    }
  }

  template <int MR, int NRV>
  static void block(size_t n, size_t k, const int8_t* a, size_t lda, size_t row0,
                    const uint8_t* packed, const Epilogue& ep) {
    if constexpr (T::kFusedEpilogue) {
      if (k > 0 && k <= T::kKC && ep.out_i32 == nullptr) return block_fused<MR, NRV>(n, k, a, lda, row0, packed, ep);
    }
    constexpr size_t mr = MR;
    constexpr size_t kAStride = T::kKC;  // elements per prepared row (kKC is a multiple of the group)
    alignas(64) typename T::AElem abuf[MR * kAStride];
    alignas(64) int32_t cbuf[MR * T::kNC];
    const size_t pbytes = panel_bytes(k);
    const uint8_t* panels_base = packed + header_bytes(n);
    for (size_t n0 = 0; n0 < n; n0 += T::kNC) {
      const size_t nc = min_sz(T::kNC, n - n0);
      const size_t panels = round_up(nc, T::kPanel) / T::kPanel;
      const uint8_t* w0 = panels_base + (n0 / T::kPanel) * pbytes;
      for (size_t k0 = 0; k0 < k; k0 += T::kKC) {
        const size_t kc = min_sz(T::kKC, k - k0);
        const size_t kgroups = round_up(kc, T::kKGroup) / T::kKGroup;
        T::prep_a(a + k0, lda, mr, kc, round_up(kc, T::kKGroup), abuf, kAStride);
        const size_t woff = k0 / T::kKGroup * T::kPanel * T::kKGroup * sizeof(typename T::WElem);
        panels_loop<MR, NRV>(abuf, kgroups, w0 + woff, pbytes, panels, cbuf, T::kNC, k0 != 0);
      }
      if (k == 0) {
        for (size_t r = 0; r < mr; ++r) {
          for (size_t j = 0; j < nc; ++j) cbuf[r * T::kNC + j] = 0;
        }
      }
      for (size_t r = 0; r < mr; ++r) {
        int32_t* row = cbuf + r * T::kNC;
        T::fix_row(row, n0, nc, packed);
        epilogue_row_impl(row, row0 + r, n0, nc, ep);  // this ISA's vectorized copy
      }
    }
  }

  template <int MR>
  static void rows(size_t mr, size_t n, size_t k, const int8_t* a, size_t lda, size_t row0,
                   const uint8_t* packed, const Epilogue& ep) {
    if constexpr (MR > 1) {
      if (mr < static_cast<size_t>(MR)) return rows<MR - 1>(mr, n, k, a, lda, row0, packed, ep);
    }
    block<MR, T::kNRV>(n, k, a, lda, row0, packed, ep);
  }

  static void gemm(size_t m, size_t n, size_t k, const int8_t* a, size_t lda, const void* packed,
                   const Epilogue& ep) {
    assert(epilogue_valid(ep, n));
    assert(m == 0 || lda >= k);
    assert(packed != nullptr || n == 0);
    if (m == 0 || n == 0) return;
    const uint8_t* p = static_cast<const uint8_t*>(packed);
    if (m == 1) {  // GEMV: one row, the wider column tile for more independent chains
      block<1, T::kNRVGemv>(n, k, a, lda, 0, p, ep);
      return;
    }
    for (size_t m0 = 0; m0 < m; m0 += T::kMR) {
      const size_t mr = min_sz(T::kMR, m - m0);
      rows<T::kMR>(mr, n, k, a + m0 * lda, lda, m0, p, ep);
    }
  }
};

}  // namespace
}  // namespace vigil::kernels
