#include "frontend.h"

#include <cmath>

#include "float_clones.h"

namespace vigil {
namespace {
constexpr double kEps = 1e-6;
}

void SpectralFrontend::init(size_t t, size_t c, size_t bins, double fs, double lo, double hi) {
  t_ = t;
  c_ = c;
  bins_ = bins;
  group_ = (t / 2) / bins;
  window_.resize(t);
  const double two_pi = 6.283185307179586476925286766559;
  window_sum_ = 0.0;
  for (size_t n = 0; n < t; ++n) {
    window_[n] = 0.5 - 0.5 * std::cos(two_pi * static_cast<double>(n) / static_cast<double>(t));
    window_sum_ += window_[n];
  }
  const double lo_bin = std::ceil(lo * static_cast<double>(t) / fs);
  const double hi_bin = std::floor(hi * static_cast<double>(t) / fs);
  const double max_bin = static_cast<double>(t / 2 - 1);
  k_lo_ = lo_bin <= 0.0 ? 0 : static_cast<size_t>(lo_bin > max_bin + 1 ? max_bin + 1 : lo_bin);
  const double hi_clamped = hi_bin < max_bin ? hi_bin : max_bin;
  // An empty band (k_lo_ > k_hi_) leaves the envelope at ln(eps), i.e. 0 after centering.
  if (hi_clamped < 0.0) {
    k_lo_ = 1;
    k_hi_ = 0;
  } else {
    k_hi_ = static_cast<size_t>(hi_clamped);
  }
  fft_.init(t);
  neg_rev_.resize(t);
  for (size_t p = 0; p < t; ++p) {
    neg_rev_[p] = static_cast<uint32_t>(fft_.bitrev((t - fft_.bitrev(p)) & (t - 1)));
  }
}

VIGIL_FLOAT_CLONES
void SpectralFrontend::compute(const float* x, double* scratch, float* out) const {
  const size_t t = t_, b = bins_, cc = 3 * c_;
  double* sre = scratch;          // z = s*w + i s, then Z (bit-reversed order)
  double* sim = sre + t;
  double* yre = sim + t;          // band-passed Y (bit-reversed), then its inverse y
  double* yim = yre + t;
  double* ere = yim + t;          // e'*w then E
  double* eim = ere + t;
  double* mag = eim + t;          // 2|S[k]|/W, k < t/2
  double* spec = mag + t;
  double* env = spec + b;
  double* band = env + b;
  const double inv_w = 1.0 / window_sum_;

  const size_t half_t = t / 2;
  for (size_t c = 0; c < c_; ++c) {
    double mean = 0.0;
    for (size_t n = 0; n < t; ++n) mean += static_cast<double>(x[n * c_ + c]);
    mean /= static_cast<double>(t);
    // Both real spectra from one complex FFT: z = s w + i s, Z = FFT(z) (bit-reversed order),
    // then S[k] = (Z[k] + conj Z[-k]) / 2 (spectrum of s w) and Y[k] = (Z[k] - conj Z[-k]) / 2i
    // (spectrum of s).
    for (size_t n = 0; n < t; ++n) {
      const double s = static_cast<double>(x[n * c_ + c]) - mean;
      sre[n] = s * window_[n];
      sim[n] = s;
    }
    fft_.forward_dif(sre, sim);
    // 1. spectrum, position by position as the band-pass below (sequential reads of Z[p])
    for (size_t p = 0; p < t; ++p) {
      const size_t k = fft_.bitrev(p), q = neg_rev_[p];
      if (k >= half_t) continue;
      const double re = (sre[p] + sre[q]) * 0.5;
      const double im = (sim[p] - sim[q]) * 0.5;
      mag[k] = 2.0 * std::sqrt(re * re + im * im) * inv_w;
    }
    for (size_t k = 0; k < b; ++k) spec[k] = std::log(mag[k] + kEps);
    // 2. envelope: analytic band-pass of Y (x2 in the pass band, 0 elsewhere; kept in
    // bit-reversed order for the inverse), magnitude, windowed spectrum of the centered envelope.
    // Written position by position (bin k = bitrev(p), its mirror at neg_rev_[p]): sequential
    // stores, no zeroing pass (was a scatter into bitrev(k) for the band's bins).
    for (size_t p = 0; p < t; ++p) {
      const size_t k = fft_.bitrev(p), q = neg_rev_[p];
      const bool in_band = k >= k_lo_ && k <= k_hi_;
      yre[p] = in_band ? 2.0 * ((sim[p] + sim[q]) * 0.5) : 0.0;
      yim[p] = in_band ? 2.0 * ((sre[q] - sre[p]) * 0.5) : 0.0;
    }
    fft_.inverse_dit(yre, yim);
    double emean = 0.0;
    for (size_t n = 0; n < t; ++n) {
      ere[n] = std::sqrt(yre[n] * yre[n] + yim[n] * yim[n]);
      emean += ere[n];
    }
    emean /= static_cast<double>(t);
    for (size_t n = 0; n < t; ++n) {
      ere[n] = (ere[n] - emean) * window_[n];
      eim[n] = 0.0;
    }
    fft_.forward_dif(ere, eim);
    for (size_t k = 0; k < b; ++k) {
      const size_t p = fft_.bitrev(k);
      env[k] = std::log(2.0 * std::sqrt(ere[p] * ere[p] + eim[p] * eim[p]) * inv_w + kEps);
    }
    // 3. band energy
    for (size_t j = 0; j < b; ++j) {
      double sum = 0.0;
      for (size_t k = j * group_; k < (j + 1) * group_; ++k) sum += mag[k];
      band[j] = std::log(sum / static_cast<double>(group_) + kEps);
    }
    // 4. per-window centering of each feature channel
    double* chans[3] = {spec, env, band};
    for (size_t f = 0; f < 3; ++f) {
      double m = 0.0;
      for (size_t k = 0; k < b; ++k) m += chans[f][k];
      m /= static_cast<double>(b);
      for (size_t k = 0; k < b; ++k) out[k * cc + 3 * c + f] = static_cast<float>(chans[f][k] - m);
    }
  }
}

}  // namespace vigil
