#include "ops.h"

#include <cmath>

namespace vigil::ops {

void layer_norm(const float* x, size_t rows, size_t d, const float* w, const float* b, float eps,
                float* y) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double mean = 0.0;
    for (size_t j = 0; j < d; ++j) mean += xr[j];
    mean /= static_cast<double>(d);
    double var = 0.0;
    for (size_t j = 0; j < d; ++j) {
      const double c = xr[j] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const double rstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (size_t j = 0; j < d; ++j) {
      const float nrm = static_cast<float>((xr[j] - mean) * rstd);
      yr[j] = nrm * w[j] + b[j];
    }
  }
}

void softmax(float* x, size_t n) {
  float mx = x[0];
  for (size_t j = 1; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  double sum = 0.0;
  for (size_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - mx);
    sum += x[j];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t j = 0; j < n; ++j) x[j] *= inv;
}

float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752440f)); }

void attention(const float* qkv, size_t n, size_t d, size_t heads, float* out, float* scratch) {
  const size_t dh = d / heads;
  const size_t ld = 3 * d;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  float* kt = scratch;         // [dh][n]
  float* s = scratch + dh * n; // [n]
  for (size_t h = 0; h < heads; ++h) {
    const size_t qo = h * dh, ko = d + h * dh, vo = 2 * d + h * dh;
    for (size_t m = 0; m < n; ++m) {
      for (size_t t = 0; t < dh; ++t) kt[t * n + m] = qkv[m * ld + ko + t];
    }
    for (size_t i = 0; i < n; ++i) {
      const float* q = qkv + i * ld + qo;
      for (size_t m = 0; m < n; ++m) s[m] = 0.0f;
      for (size_t t = 0; t < dh; ++t) {
        const float qt = q[t];
        const float* kr = kt + t * n;
        for (size_t m = 0; m < n; ++m) s[m] += qt * kr[m];
      }
      for (size_t m = 0; m < n; ++m) s[m] *= scale;
      softmax(s, n);
      float* o = out + i * d + h * dh;
      for (size_t t = 0; t < dh; ++t) o[t] = 0.0f;
      for (size_t m = 0; m < n; ++m) {
        const float p = s[m];
        const float* v = qkv + m * ld + vo;
        for (size_t t = 0; t < dh; ++t) o[t] += p * v[t];
      }
    }
  }
}

void linear_f32(const float* a, size_t m, size_t in, size_t out_features, const float* wt,
                const float* bias, bool gelu_act, bool accumulate, float* out, size_t ldo) {
  // Rows are computed into the output row itself when not accumulating; for the residual
  // form the row sum must be complete before it is added, so it goes through `tmp` in
  // chunks of kChunk outputs (no allocation).
  constexpr size_t kChunk = 256;
  float tmp[kChunk];
  for (size_t r = 0; r < m; ++r) {
    const float* ar = a + r * in;
    float* orow = out + r * ldo;
    for (size_t o0 = 0; o0 < out_features; o0 += kChunk) {
      const size_t nb = out_features - o0 < kChunk ? out_features - o0 : kChunk;
      for (size_t o = 0; o < nb; ++o) tmp[o] = 0.0f;
      for (size_t k = 0; k < in; ++k) {
        const float av = ar[k];
        const float* w = wt + k * out_features + o0;
        for (size_t o = 0; o < nb; ++o) tmp[o] += av * w[o];
      }
      if (bias != nullptr) {
        for (size_t o = 0; o < nb; ++o) tmp[o] += bias[o0 + o];
      }
      if (gelu_act) {
        for (size_t o = 0; o < nb; ++o) tmp[o] = gelu(tmp[o]);
      }
      if (accumulate) {
        for (size_t o = 0; o < nb; ++o) orow[o0 + o] += tmp[o];
      } else {
        for (size_t o = 0; o < nb; ++o) orow[o0 + o] = tmp[o];
      }
    }
  }
}

void quantize(const float* x, size_t n, float inv_scale, int8_t* q) {
  // Clamp first (rounding is monotone, so clamp-then-round == round-then-clamp), written so a
  // NaN lands on -127 instead of reaching the int conversion; then exact half-away rounding:
  // v - trunc(v) is exact in float, so no 0.49999997 + 0.5 double-rounding trap.
  for (size_t j = 0; j < n; ++j) {
    float v = x[j] * inv_scale;
    v = v > -127.0f ? v : -127.0f;
    v = v < 127.0f ? v : 127.0f;
    int i = static_cast<int>(v);
    const float fr = v - static_cast<float>(i);
    i += static_cast<int>(fr >= 0.5f) - static_cast<int>(fr <= -0.5f);
    q[j] = static_cast<int8_t>(i);
  }
}

float abs_max(const float* x, size_t n) {
  float mx = 0.0f;
  for (size_t j = 0; j < n; ++j) {
    const float a = std::fabs(x[j]);
    mx = a > mx ? a : mx;
  }
  return mx;
}

}  // namespace vigil::ops
