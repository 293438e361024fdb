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

// Two consecutive stages in one pass over the data (spans 2q then q for DIF, q then 2q for DIT):
// for k < q the four points x_j = x[k + j q] of a 4q block (r_j, i_j), the span-2q twiddles
// W at k (wr, wi) and at k + q (wr2, wi2), the span-q twiddles V at k (vr, vi). Each
// butterfly is written exactly as in butterflies_dif / butterflies: the same operations on the
// same values as the two stages one after the other (same bits), with half the loads and
// stores. The 14 streams are restrict parameters: derived inside the function from two base
// pointers, GCC 12 did not vectorize the loop.
template <bool kDif>
VIGIL_ALWAYS_INLINE inline void butterflies2(
    double* __restrict r0, double* __restrict r1, double* __restrict r2, double* __restrict r3,
    double* __restrict i0, double* __restrict i1, double* __restrict i2, double* __restrict i3,
    const double* __restrict wr, const double* __restrict wi, const double* __restrict wr2,
    const double* __restrict wi2, const double* __restrict vr, const double* __restrict vi,
    size_t q) {
  if constexpr (kDif) {
    for (size_t k = 0; k < q; ++k) {
      // span 2q: (x0, x2) with W[k], (x1, x3) with W[k + q]
      const double d02r = r0[k] - r2[k], d02i = i0[k] - i2[k];
      const double y0r = r0[k] + r2[k], y0i = i0[k] + i2[k];
      const double y2r = d02r * wr[k] - d02i * wi[k], y2i = d02r * wi[k] + d02i * wr[k];
      const double d13r = r1[k] - r3[k], d13i = i1[k] - i3[k];
      const double y1r = r1[k] + r3[k], y1i = i1[k] + i3[k];
      const double y3r = d13r * wr2[k] - d13i * wi2[k];
      const double y3i = d13r * wi2[k] + d13i * wr2[k];
      // span q: (y0, y1) and (y2, y3) with V[k]
      const double d01r = y0r - y1r, d01i = y0i - y1i;
      r0[k] = y0r + y1r;
      i0[k] = y0i + y1i;
      r1[k] = d01r * vr[k] - d01i * vi[k];
      i1[k] = d01r * vi[k] + d01i * vr[k];
      const double d23r = y2r - y3r, d23i = y2i - y3i;
      r2[k] = y2r + y3r;
      i2[k] = y2i + y3i;
      r3[k] = d23r * vr[k] - d23i * vi[k];
      i3[k] = d23r * vi[k] + d23i * vr[k];
    }
  } else {
    for (size_t k = 0; k < q; ++k) {
      // span q: (x0, x1) and (x2, x3) with V[k]
      const double t1r = r1[k] * vr[k] - i1[k] * vi[k], t1i = r1[k] * vi[k] + i1[k] * vr[k];
      const double y1r = r0[k] - t1r, y1i = i0[k] - t1i;
      const double y0r = r0[k] + t1r, y0i = i0[k] + t1i;
      const double t3r = r3[k] * vr[k] - i3[k] * vi[k], t3i = r3[k] * vi[k] + i3[k] * vr[k];
      const double y3r = r2[k] - t3r, y3i = i2[k] - t3i;
      const double y2r = r2[k] + t3r, y2i = i2[k] + t3i;
      // span 2q: (y0, y2) with W[k], (y1, y3) with W[k + q]
      const double t2r = y2r * wr[k] - y2i * wi[k], t2i = y2r * wi[k] + y2i * wr[k];
      r2[k] = y0r - t2r;
      i2[k] = y0i - t2i;
      r0[k] = y0r + t2r;
      i0[k] = y0i + t2i;
      const double t3r2 = y3r * wr2[k] - y3i * wi2[k];
      const double t3i2 = y3r * wi2[k] + y3i * wr2[k];
      r3[k] = y1r - t3r2;
      i3[k] = y1i - t3i2;
      r1[k] = y1r + t3r2;
      i1[k] = y1i + t3i2;
    }
  }
}

// Spans 2q and q of DIF (kDif) or q and 2q of DIT over [0, len), in one pass (blocks of 4q).
template <bool kDif>
VIGIL_ALWAYS_INLINE inline void stage_pair(double* re, double* im, size_t len, size_t q,
                                           const double* tw_re, const double* tw_im) {
  const double* wr = tw_re + 2 * q - 1;  // span 2q
  const double* wi = tw_im + 2 * q - 1;
  const double* vr = tw_re + q - 1;  // span q
  const double* vi = tw_im + q - 1;
  for (size_t start = 0; start < len; start += 4 * q) {
    double* r = re + start;
    double* i = im + start;
    butterflies2<kDif>(r, r + q, r + 2 * q, r + 3 * q, i, i + q, i + 2 * q, i + 3 * q, wr, wi,
                       wr + q, wi + q, vr, vi, q);
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
  const size_t last = n >= 8 ? 8 : 1;  // the spans below run in small_stages
  size_t half = n / 2;
  while (half >= last) {
    if (half / 2 >= last) {
      stage_pair<true>(re, im, n, half / 2, tw_re, tw_im);
      half >>= 2;
    } else {
      stage<true>(re, im, n, half, tw_re, tw_im);
      half >>= 1;
    }
  }
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
  while (half < n) {
    if (2 * half < n) {
      stage_pair<false>(re, im, n, half, tw_re, tw_im);
      half <<= 2;
    } else {
      stage<false>(re, im, n, half, tw_re, tw_im);
      half <<= 1;
    }
  }
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
