// The shared epilogue: every ISA finishes its int32 accumulators through this one function,
// compiled once with baseline flags and -ffp-contract=off, so the float results are identical
// across ISAs by construction (the integer accumulators are checked equal by the tests).
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
