// The epilogue of kernels.h. epilogue_row is the baseline instantiation (used by scalar);
// SIMD files instantiate their own vectorized copy of the same source (epilogue_impl.h).
// Element-wise IEEE operations with -ffp-contract=off make the copies bit-identical; the tests
// check every mode against scalar.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace vigil::kernels {

// Applies the Epilogue of kernels.h to output row `row`, columns [n0, n0 + cols), given the
// row's int32 accumulators acc[0..cols).
void epilogue_row(const int32_t* acc, size_t row, size_t n0, size_t cols, const Epilogue& ep);

// True when exactly one output is set and the pointers the mode needs are present.
bool epilogue_valid(const Epilogue& ep, size_t n);

}  // namespace vigil::kernels
