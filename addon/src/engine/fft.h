// Radix-2 complex FFT in double precision (the spectral front end, docs/model-format.md §1).
// Twiddles (one contiguous table per stage) and the bit-reversal table are computed once
// (at model load); transforms run in place on caller-owned arrays and allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil {

class Fft {
 public:
  // n must be a power of two >= 2 (checked by the caller).
  void init(size_t n);
  size_t size() const { return n_; }
  // X[k] = sum_n x[n] e^{-2 pi i k n / N} (unnormalized), computed by decimation in frequency:
  // natural-order input, X[k] left at position bitrev(k) (no permutation pass).
  void forward_dif(double* re, double* im) const;
  // x[n] = (1/N) sum_k X[k] e^{+2 pi i k n / N} by decimation in time: X in bit-reversed order
  // (as forward_dif leaves it), natural-order output.
  void inverse_dit(double* re, double* im) const;
  // The position of bin k in forward_dif's output (and of x[k] in inverse_dit's input).
  size_t bitrev(size_t k) const { return bitrev_[k]; }
  size_t memory_bytes() const;

 private:
  size_t n_ = 0;
  // Stage with butterfly span `half` uses entries [half - 1, 2 half - 1): cos / sin of
  // 2 pi k / (2 half), k < half; the sine table is stored negated and not negated, so a
  // stage's inner loop reads one contiguous table either way.
  std::vector<double> tw_re_;
  std::vector<double> tw_im_fwd_;  // -sin
  std::vector<double> tw_im_inv_;  // +sin
  std::vector<uint32_t> bitrev_;
};

}  // namespace vigil
