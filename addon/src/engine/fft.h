// Radix-2 complex FFT in double precision (the spectral front end, docs/model-format.md §1).
// Twiddles and the bit-reversal permutation are computed once (at model load); transforms run
// in place on caller-owned arrays and allocate nothing.
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
  // X[k] = sum_n x[n] e^{-2 pi i k n / N}, unnormalized.
  void forward(double* re, double* im) const;
  // x[n] = (1/N) sum_k X[k] e^{+2 pi i k n / N}.
  void inverse(double* re, double* im) const;
  size_t memory_bytes() const;

 private:
  void transform(double* re, double* im, bool inverse) const;
  size_t n_ = 0;
  std::vector<double> cos_;  // [n/2]: cos(2 pi k / n)
  std::vector<double> sin_;  // [n/2]: sin(2 pi k / n)
  std::vector<uint32_t> bitrev_;
};

}  // namespace vigil
