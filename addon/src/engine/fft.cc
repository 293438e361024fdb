#include "fft.h"

#include <cmath>
#include <utility>

namespace vigil {

void Fft::init(size_t n) {
  n_ = n;
  cos_.resize(n / 2);
  sin_.resize(n / 2);
  const double two_pi = 6.283185307179586476925286766559;
  for (size_t k = 0; k < n / 2; ++k) {
    const double a = two_pi * static_cast<double>(k) / static_cast<double>(n);
    cos_[k] = std::cos(a);
    sin_[k] = std::sin(a);
  }
  bitrev_.resize(n);
  size_t bits = 0;
  while ((size_t{1} << bits) < n) ++bits;
  for (size_t i = 0; i < n; ++i) {
    size_t r = 0;
    for (size_t b = 0; b < bits; ++b) r |= ((i >> b) & 1u) << (bits - 1 - b);
    bitrev_[i] = static_cast<uint32_t>(r);
  }
}

size_t Fft::memory_bytes() const {
  return (cos_.size() + sin_.size()) * sizeof(double) + bitrev_.size() * sizeof(uint32_t);
}

void Fft::transform(double* re, double* im, bool inverse) const {
  const size_t n = n_;
  for (size_t i = 0; i < n; ++i) {
    const size_t j = bitrev_[i];
    if (j > i) {
      std::swap(re[i], re[j]);
      std::swap(im[i], im[j]);
    }
  }
  const double sign = inverse ? 1.0 : -1.0;  // forward uses e^{-i...}
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len / 2;
    const size_t step = n / len;
    for (size_t start = 0; start < n; start += len) {
      for (size_t k = 0; k < half; ++k) {
        const double wr = cos_[k * step];
        const double wi = sign * sin_[k * step];
        const size_t a = start + k, b = a + half;
        const double tr = re[b] * wr - im[b] * wi;
        const double ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
  if (inverse) {
    const double s = 1.0 / static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) {
      re[i] *= s;
      im[i] *= s;
    }
  }
}

void Fft::forward(double* re, double* im) const { transform(re, im, false); }
void Fft::inverse(double* re, double* im) const { transform(re, im, true); }

}  // namespace vigil
