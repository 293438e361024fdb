// gemm_s8s8__scalar: the specification every SIMD kernel must match bit for bit.
// Layout: packed = W [N x K] int8 row-major, unchanged (one row per output column).
#include <cassert>
#include <cstring>

#include "kernels/epilogue.h"
#include "kernels/kernels.h"

namespace vigil::kernels {
namespace {

constexpr size_t kRowChunk = 64;  // columns finished per epilogue call (stack buffer)

size_t packed_size__scalar(size_t n, size_t k) { return n * k; }

void pack__scalar(const int8_t* w, size_t n, size_t k, void* packed) {
  assert(w != nullptr || n * k == 0);
  if (n * k != 0) std::memcpy(packed, w, n * k);
}

void gemm_s8s8__scalar(size_t m, size_t n, size_t k, const int8_t* a, size_t lda,
                       const void* packed, const Epilogue& ep) {
  assert(epilogue_valid(ep, n));
  assert(lda >= k);
  assert(packed != nullptr || n * k == 0);
  const int8_t* w = static_cast<const int8_t*>(packed);
  int32_t acc[kRowChunk];
  for (size_t i = 0; i < m; ++i) {
    const int8_t* ar = a + i * lda;
    for (size_t n0 = 0; n0 < n; n0 += kRowChunk) {
      const size_t cols = n - n0 < kRowChunk ? n - n0 : kRowChunk;
      for (size_t j = 0; j < cols; ++j) {
        const int8_t* wr = w + (n0 + j) * k;
        int32_t s = 0;
        for (size_t p = 0; p < k; ++p) s += static_cast<int32_t>(ar[p]) * static_cast<int32_t>(wr[p]);
        acc[j] = s;
      }
      epilogue_row(acc, i, n0, cols, ep);
    }
  }
}

const KernelTable kTableScalar = {Isa::kScalar, "scalar", packed_size__scalar, pack__scalar,
                                  gemm_s8s8__scalar, nullptr, nullptr, nullptr,
                                  map_s8_scalar, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace

const KernelTable* table_scalar() { return &kTableScalar; }

}  // namespace vigil::kernels
