// The spectral front end (docs/model-format.md §1): per raw channel three feature channels
// (spectrum, envelope spectrum, band energy), all arithmetic in double, cast to float at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fft.h"

namespace vigil {

class SpectralFrontend {
 public:
  // t: window length (power of two >= 4), c: raw channels, bins: B (1 <= B <= t/2).
  void init(size_t t, size_t c, size_t bins, double sample_rate_hz, double band_low_hz,
            double band_high_hz);
  // Doubles of scratch that compute() needs (the caller carves them from the arena).
  size_t scratch_doubles() const { return 7 * t_ + 3 * bins_; }
  // x: [t][c] raw window; out: [bins][3c] features.
  void compute(const float* x, double* scratch, float* out) const;
  size_t memory_bytes() const {
    return fft_.memory_bytes() + window_.size() * sizeof(double) +
           neg_rev_.size() * sizeof(uint32_t);
  }
  size_t k_lo() const { return k_lo_; }
  size_t k_hi() const { return k_hi_; }

 private:
  size_t t_ = 0, c_ = 0, bins_ = 0, group_ = 0;
  size_t k_lo_ = 0, k_hi_ = 0;  // envelope pass band (inclusive); k_lo_ > k_hi_ means empty
  double window_sum_ = 0.0;
  std::vector<double> window_;  // periodic Hann
  // neg_rev_[p] = bitrev((t - bitrev(p)) mod t): where bin -k sits in forward_dif's output
  // when bin k sits at p (bitrev is its own inverse).
  std::vector<uint32_t> neg_rev_;
  Fft fft_;
};

}  // namespace vigil
