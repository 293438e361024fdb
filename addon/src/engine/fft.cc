#include "fft.h"

#include <cmath>

#include "float_clones.h"

namespace vigil {
namespace {

// One block of a radix-2 stage: for k < half, t = b[k] * w[k] (complex), b[k] = a[k] - t,
// a[k] = a[k] + t. Contiguous a, b and twiddles (restrict parameters: GCC vectorizes this
// across k, element-wise double arithmetic, the same bits at every vector width).
VIGIL_ALWAYS_INLINE inline void butterflies(double* __restrict ar, double* __restrict ai,
                                            double* __restrict br, double* __restrict bi,
                                            const double* __restrict wr,
                                            const double* __restrict wi, size_t half) {
  for (size_t k = 0; k < half; ++k) {
    const double tr = br[k] * wr[k] - bi[k] * wi[k];
    const double ti = br[k] * wi[k] + bi[k] * wr[k];
    br[k] = ar[k] - tr;
    bi[k] = ai[k] - ti;
    ar[k] = ar[k] + tr;
    ai[k] = ai[k] + ti;
  }
}

// One block of a decimation-in-frequency stage: for k < half, a' = a + b,
// b' = (a - b) * w[k] (complex); vectorized like butterflies().
VIGIL_ALWAYS_INLINE inline void butterflies_dif(double* __restrict ar, double* __restrict ai,
                                                double* __restrict br, double* __restrict bi,
                                                const double* __restrict wr,
                                                const double* __restrict wi, size_t half) {
  for (size_t k = 0; k < half; ++k) {
    const double dr = ar[k] - br[k];
    const double di = ai[k] - bi[k];
    ar[k] = ar[k] + br[k];
    ai[k] = ai[k] + bi[k];
    br[k] = dr * wr[k] - di * wi[k];
    bi[k] = dr * wi[k] + di * wr[k];
  }
}

// One stage of span `half` over the block [0, len) of re/im (blocks of 2 half): DIF or DIT
// butterflies with the stage's twiddles.
template <bool kDif>
VIGIL_ALWAYS_INLINE inline void stage(double* re, double* im, size_t len, size_t half,
                                      const double* tw_re, const double* tw_im) {
  for (size_t start = 0; start < len; start += 2 * half) {
    if constexpr (kDif) {
      butterflies_dif(re + start, im + start, re + start + half, im + start + half,
                      tw_re + half - 1, tw_im + half - 1, half);
    } else {
      butterflies(re + start, im + start, re + start + half, im + start + half, tw_re + half - 1,
                  tw_im + half - 1, half);
    }
  }
}

// The stages of span 4, 2 and 1 (DIF: in that order; DIT: 1, 2, 4) run block of 8 by block of 8
// with the spans known at compile time: unrolled straight-line code instead of 3 x n/8 loops
// of 1-4 iterations, which cost about as much as the other 10 stages of an 8192-point
// transform together. Blocks are independent in these stages, so the results are the same
// bits as stage by stage.
template <bool kDif>
VIGIL_ALWAYS_INLINE inline void small_stages(double* re, double* im, size_t n,
                                             const double* tw_re, const double* tw_im) {
  for (size_t b0 = 0; b0 < n; b0 += 8) {
    if constexpr (kDif) {
      stage<true>(re + b0, im + b0, 8, 4, tw_re, tw_im);
      stage<true>(re + b0, im + b0, 8, 2, tw_re, tw_im);
      stage<true>(re + b0, im + b0, 8, 1, tw_re, tw_im);
    } else {
      stage<false>(re + b0, im + b0, 8, 1, tw_re, tw_im);
      stage<false>(re + b0, im + b0, 8, 2, tw_re, tw_im);
      stage<false>(re + b0, im + b0, 8, 4, tw_re, tw_im);
    }
  }
}

// Decimation in frequency, spans n/2 down to 1: natural order in, bit-reversed order out.
VIGIL_FLOAT_CLONES
void stages_dif(double* re, double* im, size_t n, const double* tw_re, const double* tw_im) {
  size_t half = n / 2;
  for (; half >= (n >= 8 ? 8 : 1); half >>= 1) stage<true>(re, im, n, half, tw_re, tw_im);
  if (n >= 8) small_stages<true>(re, im, n, tw_re, tw_im);
}

// Decimation in time, spans 1 up to n/2: bit-reversed order in, natural order out.
VIGIL_FLOAT_CLONES
void stages_dit(double* re, double* im, size_t n, const double* tw_re, const double* tw_im) {
  size_t half = 1;
  if (n >= 8) {
    small_stages<false>(re, im, n, tw_re, tw_im);
    half = 8;
  }
  for (; half < n; half <<= 1) stage<false>(re, im, n, half, tw_re, tw_im);
}

}  // namespace

void Fft::init(size_t n) {
  n_ = n;
  const double two_pi = 6.283185307179586476925286766559;
  tw_re_.assign(n > 1 ? n - 1 : 1, 0.0);
  tw_im_fwd_.assign(tw_re_.size(), 0.0);
  tw_im_inv_.assign(tw_re_.size(), 0.0);
  for (size_t half = 1; half < n; half <<= 1) {
    for (size_t k = 0; k < half; ++k) {
      // The same angle as 2 pi (k n / (2 half)) / n: the scalings are powers of two.
      const double a = two_pi * static_cast<double>(k) / static_cast<double>(2 * half);
      tw_re_[half - 1 + k] = std::cos(a);
      tw_im_fwd_[half - 1 + k] = -std::sin(a);
      tw_im_inv_[half - 1 + k] = std::sin(a);
    }
  }
  size_t bits = 0;
  while ((size_t{1} << bits) < n) ++bits;
  bitrev_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    size_t r = 0;
    for (size_t b = 0; b < bits; ++b) r |= ((i >> b) & 1u) << (bits - 1 - b);
    bitrev_[i] = static_cast<uint32_t>(r);
  }
}

size_t Fft::memory_bytes() const {
  return (tw_re_.size() + tw_im_fwd_.size() + tw_im_inv_.size()) * sizeof(double) +
         bitrev_.size() * sizeof(uint32_t);
}

void Fft::forward_dif(double* re, double* im) const {
  stages_dif(re, im, n_, tw_re_.data(), tw_im_fwd_.data());
}

void Fft::inverse_dit(double* re, double* im) const {
  stages_dit(re, im, n_, tw_re_.data(), tw_im_inv_.data());
  const double s = 1.0 / static_cast<double>(n_);
  for (size_t i = 0; i < n_; ++i) {
    re[i] *= s;
    im[i] *= s;
  }
}


}  // namespace vigil
