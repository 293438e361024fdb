#include "engine_test_model.h"

#include <cmath>
#include <complex>
#include <cstring>

namespace vigil::test {
namespace {

void put_bytes(std::vector<uint8_t>& b, const void* p, size_t n) {
  const uint8_t* c = static_cast<const uint8_t*>(p);
  b.insert(b.end(), c, c + n);
}
template <typename T>
void put(std::vector<uint8_t>& b, T v) { put_bytes(b, &v, sizeof v); }
void put_str(std::vector<uint8_t>& b, const std::string& s) {
  put<uint64_t>(b, s.size());
  put_bytes(b, s.data(), s.size());
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g_); }
  float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(g_); }

 private:
  std::mt19937_64 g_;
};

RefLinear random_linear(Rng& r, const std::string& name, size_t in, size_t out) {
  RefLinear l;
  l.name = name;
  l.in = in;
  l.out = out;
  const float a = 1.0f / std::sqrt(static_cast<float>(in));
  l.w.resize(in * out);
  for (float& v : l.w) v = r.uniform(-a, a) * 1.7f;
  l.b.resize(out);
  for (float& v : l.b) v = r.uniform(-0.1f, 0.1f);
  return l;
}

std::vector<float> around(Rng& r, size_t n, float center, float spread) {
  std::vector<float> v(n);
  for (float& x : v) x = center + r.uniform(-spread, spread);
  return v;
}

void quantize_linear(RefLinear* l, float absmax) {
  l->int8 = true;
  l->input_scale = absmax > 0.0f ? absmax / 127.0f : 1.0f;
  l->q.resize(l->w.size());
  l->scale.resize(l->out);
  for (size_t o = 0; o < l->out; ++o) {
    float mx = 0.0f;
    for (size_t k = 0; k < l->in; ++k) mx = std::max(mx, std::fabs(l->w[o * l->in + k]));
    const float s = mx > 0.0f ? mx / 127.0f : 1.0f;
    l->scale[o] = s;
    for (size_t k = 0; k < l->in; ++k) {
      float q = std::round(l->w[o * l->in + k] / s);
      q = std::min(127.0f, std::max(-127.0f, q));
      l->q[o * l->in + k] = static_cast<int8_t>(q);
      l->w[o * l->in + k] = q * s;  // keep the dequantized weights for references
    }
  }
}

void write_linear(GgufWriter& w, const RefLinear& l) {
  w.add_tensor_f32(l.name + ".bias", {l.out}, l.b);
  if (l.int8) {
    w.add_tensor_i8(l.name + ".weight", {l.in, l.out}, l.q);
    w.add_tensor_f32(l.name + ".scale", {l.out}, l.scale);
    w.add_tensor_f32(l.name + ".input_scale", {1}, {l.input_scale});
  } else {
    w.add_tensor_f32(l.name + ".weight", {l.in, l.out}, l.w);
  }
}

// ---- double-precision reference ----
using Mat = std::vector<double>;

Mat linear(const Mat& a, size_t m, const RefLinear& l) {
  Mat out(m * l.out);
  for (size_t r = 0; r < m; ++r) {
    for (size_t o = 0; o < l.out; ++o) {
      double s = 0.0;
      for (size_t k = 0; k < l.in; ++k) s += a[r * l.in + k] * static_cast<double>(l.w[o * l.in + k]);
      out[r * l.out + o] = s + l.b[o];
    }
  }
  return out;
}

Mat layer_norm(const Mat& x, size_t m, size_t d, const std::vector<float>& w,
               const std::vector<float>& b, double eps) {
  Mat y(m * d);
  for (size_t r = 0; r < m; ++r) {
    double mean = 0.0, var = 0.0;
    for (size_t j = 0; j < d; ++j) mean += x[r * d + j];
    mean /= d;
    for (size_t j = 0; j < d; ++j) var += (x[r * d + j] - mean) * (x[r * d + j] - mean);
    var /= d;
    for (size_t j = 0; j < d; ++j) y[r * d + j] = (x[r * d + j] - mean) / std::sqrt(var + eps) * w[j] + b[j];
  }
  return y;
}

void softmax(double* x, size_t n) {
  double mx = x[0], s = 0.0;
  for (size_t j = 1; j < n; ++j) mx = std::max(mx, x[j]);
  for (size_t j = 0; j < n; ++j) s += (x[j] = std::exp(x[j] - mx));
  for (size_t j = 0; j < n; ++j) x[j] /= s;
}

std::vector<std::complex<double>> dft(const std::vector<std::complex<double>>& x, bool inverse) {
  const size_t n = x.size();
  std::vector<std::complex<double>> y(n);
  const double sign = inverse ? 1.0 : -1.0;
  for (size_t k = 0; k < n; ++k) {
    std::complex<double> s = 0.0;
    for (size_t t = 0; t < n; ++t) {
      const double a = sign * 2.0 * M_PI * static_cast<double>((k * t) % n) / static_cast<double>(n);
      s += x[t] * std::complex<double>(std::cos(a), std::sin(a));
    }
    y[k] = inverse ? s / static_cast<double>(n) : s;
  }
  return y;
}

}  // namespace

void GgufWriter::add_string(const std::string& key, const std::string& v) {
  if (skip.count(key)) return;
  auto it = string_override.find(key);
  put_str(kv_, key); put<uint32_t>(kv_, 8); put_str(kv_, it == string_override.end() ? v : it->second);
  ++kv_count_;
}
void GgufWriter::add_u32(const std::string& key, uint32_t v) {
  if (skip.count(key)) return;
  auto it = u32_override.find(key);
  put_str(kv_, key); put<uint32_t>(kv_, 4); put<uint32_t>(kv_, it == u32_override.end() ? v : it->second);
  ++kv_count_;
}
void GgufWriter::add_f32(const std::string& key, float v) {
  if (skip.count(key)) return;
  put_str(kv_, key); put<uint32_t>(kv_, 6); put<float>(kv_, v); ++kv_count_;
}
void GgufWriter::add_bool(const std::string& key, bool v) {
  if (skip.count(key)) return;
  put_str(kv_, key); put<uint32_t>(kv_, 7); put<uint8_t>(kv_, v ? 1 : 0); ++kv_count_;
}
void GgufWriter::add_strings(const std::string& key, const std::vector<std::string>& v) {
  if (skip.count(key)) return;
  put_str(kv_, key); put<uint32_t>(kv_, 9); put<uint32_t>(kv_, 8); put<uint64_t>(kv_, v.size());
  for (const std::string& s : v) put_str(kv_, s);
  ++kv_count_;
}
void GgufWriter::add_tensor_f32(const std::string& name, std::vector<uint64_t> ne,
                                const std::vector<float>& v) {
  if (skip.count(name)) return;
  Tensor t{name, std::move(ne), 0, {}};
  put_bytes(t.bytes, v.data(), v.size() * sizeof(float));
  tensors_.push_back(std::move(t));
}
void GgufWriter::add_tensor_i8(const std::string& name, std::vector<uint64_t> ne,
                               const std::vector<int8_t>& v) {
  if (skip.count(name)) return;
  Tensor t{name, std::move(ne), 24, {}};
  put_bytes(t.bytes, v.data(), v.size());
  tensors_.push_back(std::move(t));
}

std::vector<uint8_t> GgufWriter::finish(uint32_t alignment) const {
  std::vector<uint8_t> out;
  put_bytes(out, "GGUF", 4);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, kv_count_ + 1);
  put_str(out, "general.alignment");
  put<uint32_t>(out, 4);
  put<uint32_t>(out, alignment);
  out.insert(out.end(), kv_.begin(), kv_.end());
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_str(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t n : t.ne) put<uint64_t>(out, n);
    put<uint32_t>(out, t.type);
    put<uint64_t>(out, offset);
    offset += (t.bytes.size() + alignment - 1) / alignment * alignment;
  }
  while (out.size() % alignment) out.push_back(0);
  for (const Tensor& t : tensors_) {
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    while (out.size() % alignment) out.push_back(0);
  }
  return out;
}

RefModel random_model(const TinySpec& s) {
  Rng r(s.seed);
  RefModel m;
  m.spec = s;
  const size_t cf = s.feature_channels(), n = s.tokens(), d = s.d, pw = s.patch_width();
  m.mean = around(r, cf, 0.0f, 0.3f);
  m.std = around(r, cf, 1.0f, 0.5f);
  m.pos = around(r, n * d, 0.0f, 0.2f);
  m.patch = random_linear(r, "patch_embd", pw, d);
  for (uint32_t i = 0; i < s.blocks; ++i) {
    RefBlock b;
    const std::string p = "blk." + std::to_string(i) + ".";
    b.ln1_w = around(r, d, 1.0f, 0.2f);
    b.ln1_b = around(r, d, 0.0f, 0.1f);
    b.qkv = random_linear(r, p + "attn_qkv", d, 3 * d);
    b.out = random_linear(r, p + "attn_output", d, d);
    b.ln2_w = around(r, d, 1.0f, 0.2f);
    b.ln2_b = around(r, d, 0.0f, 0.1f);
    b.up = random_linear(r, p + "ffn_up", d, s.ff);
    b.down = random_linear(r, p + "ffn_down", s.ff, d);
    m.blocks.push_back(std::move(b));
  }
  m.out_w = around(r, d, 1.0f, 0.2f);
  m.out_b = around(r, d, 0.0f, 0.1f);
  m.cls = random_linear(r, "cls", d, s.classes);
  for (float& v : m.cls.w) v *= 4.0f;  // spread the probabilities a little
  if (s.recon) m.recon = random_linear(r, "recon", d, pw);
  return m;
}

void quantize_encoder(RefModel* m, const std::map<std::string, float>& absmax) {
  auto q = [&](RefLinear& l) {
    auto it = absmax.find(l.name);
    quantize_linear(&l, it == absmax.end() ? 4.0f : it->second);
  };
  q(m->patch);
  for (RefBlock& b : m->blocks) {
    q(b.qkv);
    q(b.out);
    q(b.up);
    q(b.down);
  }
}

std::vector<uint8_t> write_gguf(const RefModel& m, GgufWriter w) {
  const TinySpec& s = m.spec;
  const std::string p = "vigil-tst.";
  w.add_string("general.architecture", "vigil-tst");
  w.add_string("general.name", "tiny-test");
  w.add_string("general.version", "0.0.1");
  w.add_u32(p + "window_length", s.window);
  w.add_u32(p + "channel_count", s.channels);
  w.add_f32(p + "sample_rate", s.sample_rate);
  std::vector<std::string> names;
  for (uint32_t c = 0; c < s.channels; ++c) names.push_back("ch" + std::to_string(c));
  w.add_strings(p + "channel_names", names);
  w.add_string(p + "frontend", s.spectral ? "spectral" : "none");
  if (s.spectral) {
    w.add_u32(p + "frontend.bins", s.bins);
    w.add_f32(p + "frontend.band_low_hz", s.band_low);
    w.add_f32(p + "frontend.band_high_hz", s.band_high);
  }
  w.add_u32(p + "patch_length", s.patch);
  w.add_u32(p + "embedding_length", s.d);
  w.add_u32(p + "block_count", s.blocks);
  w.add_u32(p + "attention.head_count", s.heads);
  w.add_u32(p + "feed_forward_length", s.ff);
  w.add_f32(p + "attention.layer_norm_epsilon", s.ln_eps);
  std::vector<std::string> labels;
  for (uint32_t k = 0; k < s.classes; ++k) labels.push_back("class" + std::to_string(k));
  w.add_strings(p + "labels", labels);
  w.add_bool(p + "has_reconstruction", s.recon);
  w.add_string(p + "quantization", m.patch.int8 ? "q8_static" : "f32");

  const uint64_t cf = s.feature_channels(), d = s.d;
  w.add_tensor_f32("norm.mean", {cf}, m.mean);
  w.add_tensor_f32("norm.std", {cf}, m.std);
  w.add_tensor_f32("pos_embd", {d, s.tokens()}, m.pos);
  write_linear(w, m.patch);
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const RefBlock& b = m.blocks[i];
    const std::string bp = "blk." + std::to_string(i) + ".";
    w.add_tensor_f32(bp + "attn_norm.weight", {d}, b.ln1_w);
    w.add_tensor_f32(bp + "attn_norm.bias", {d}, b.ln1_b);
    write_linear(w, b.qkv);
    write_linear(w, b.out);
    w.add_tensor_f32(bp + "ffn_norm.weight", {d}, b.ln2_w);
    w.add_tensor_f32(bp + "ffn_norm.bias", {d}, b.ln2_b);
    write_linear(w, b.up);
    write_linear(w, b.down);
  }
  w.add_tensor_f32("output_norm.weight", {d}, m.out_w);
  w.add_tensor_f32("output_norm.bias", {d}, m.out_b);
  write_linear(w, m.cls);
  if (s.recon) write_linear(w, m.recon);
  return w.finish();
}

std::vector<float> random_window(const TinySpec& s, uint64_t seed) {
  Rng r(seed);
  std::vector<float> x(static_cast<size_t>(s.window) * s.channels);
  for (uint32_t t = 0; t < s.window; ++t) {
    for (uint32_t c = 0; c < s.channels; ++c) {
      const double ph = 2.0 * M_PI * (3.0 + 2.0 * c) * t / s.window;
      x[t * s.channels + c] = static_cast<float>(0.8 * std::sin(ph) + 0.5 * r.normal() + 0.1 * c);
    }
  }
  return x;
}

std::vector<double> reference_features(const TinySpec& s, const std::vector<float>& x) {
  const size_t t = s.window, c = s.channels;
  if (!s.spectral) return std::vector<double>(x.begin(), x.end());
  const size_t b = s.bins, cf = 3 * c, g = (t / 2) / b;
  const double eps = 1e-6, fs = s.sample_rate;
  std::vector<double> f(b * cf);
  std::vector<double> w(t);
  double wsum = 0.0;
  for (size_t n = 0; n < t; ++n) wsum += (w[n] = 0.5 - 0.5 * std::cos(2.0 * M_PI * n / t));
  const long k_lo = static_cast<long>(std::ceil(static_cast<double>(s.band_low) * t / fs));
  const long k_hi = std::min<long>(static_cast<long>(t / 2) - 1,
                                   static_cast<long>(std::floor(static_cast<double>(s.band_high) * t / fs)));
  for (size_t ch = 0; ch < c; ++ch) {
    double mean = 0.0;
    for (size_t n = 0; n < t; ++n) mean += x[n * c + ch];
    mean /= t;
    std::vector<std::complex<double>> sw(t), sv(t);
    for (size_t n = 0; n < t; ++n) {
      sv[n] = x[n * c + ch] - mean;
      sw[n] = sv[n] * w[n];
    }
    auto S = dft(sw, false);
    auto Y = dft(sv, false);
    std::vector<std::complex<double>> Z(t, 0.0);
    for (long k = std::max<long>(k_lo, 0); k <= k_hi; ++k) Z[k] = 2.0 * Y[k];
    auto z = dft(Z, true);
    std::vector<double> e(t);
    double em = 0.0;
    for (size_t n = 0; n < t; ++n) em += (e[n] = std::abs(z[n]));
    em /= t;
    std::vector<std::complex<double>> ew(t);
    for (size_t n = 0; n < t; ++n) ew[n] = (e[n] - em) * w[n];
    auto E = dft(ew, false);
    std::vector<double> chans[3];
    for (size_t k = 0; k < b; ++k) {
      chans[0].push_back(std::log(2.0 * std::abs(S[k]) / wsum + eps));
      chans[1].push_back(std::log(2.0 * std::abs(E[k]) / wsum + eps));
      double sum = 0.0;
      for (size_t q = k * g; q < (k + 1) * g; ++q) sum += 2.0 * std::abs(S[q]) / wsum;
      chans[2].push_back(std::log(sum / g + eps));
    }
    for (size_t q = 0; q < 3; ++q) {
      double m = 0.0;
      for (double v : chans[q]) m += v;
      m /= b;
      for (size_t k = 0; k < b; ++k) f[k * cf + 3 * ch + q] = chans[q][k] - m;
    }
  }
  return f;
}

RefOutputs reference_forward(const RefModel& m, const std::vector<float>& x) {
  const TinySpec& s = m.spec;
  const size_t cf = s.feature_channels(), tf = s.feature_length(), n = s.tokens(), d = s.d;
  const size_t pw = s.patch_width(), heads = s.heads, dh = d / heads;
  RefOutputs out;
  out.features = reference_features(s, x);
  // The engine casts the features to float32 before normalizing (§1): do the same.
  Mat u(tf * cf);
  for (size_t t = 0; t < tf; ++t)
    for (size_t c = 0; c < cf; ++c)
      u[t * cf + c] = (static_cast<double>(static_cast<float>(out.features[t * cf + c])) - m.mean[c]) / m.std[c];
  Mat h = linear(u, n, m.patch);
  for (size_t j = 0; j < n * d; ++j) h[j] += m.pos[j];
  for (const RefBlock& b : m.blocks) {
    Mat a = layer_norm(h, n, d, b.ln1_w, b.ln1_b, s.ln_eps);
    Mat qkv = linear(a, n, b.qkv);
    Mat o(n * d, 0.0);
    std::vector<double> sc(n);
    for (size_t hd = 0; hd < heads; ++hd) {
      for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < n; ++j) {
          double dot = 0.0;
          for (size_t t = 0; t < dh; ++t) dot += qkv[i * 3 * d + hd * dh + t] * qkv[j * 3 * d + d + hd * dh + t];
          sc[j] = dot / std::sqrt(static_cast<double>(dh));
        }
        softmax(sc.data(), n);
        for (size_t t = 0; t < dh; ++t) {
          double v = 0.0;
          for (size_t j = 0; j < n; ++j) v += sc[j] * qkv[j * 3 * d + 2 * d + hd * dh + t];
          o[i * d + hd * dh + t] = v;
        }
      }
    }
    Mat ao = linear(o, n, b.out);
    for (size_t j = 0; j < n * d; ++j) h[j] += ao[j];
    a = layer_norm(h, n, d, b.ln2_w, b.ln2_b, s.ln_eps);
    Mat up = linear(a, n, b.up);
    for (double& v : up) v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    Mat dn = linear(up, n, b.down);
    for (size_t j = 0; j < n * d; ++j) h[j] += dn[j];
  }
  Mat z = layer_norm(h, n, d, m.out_w, m.out_b, s.ln_eps);
  out.embedding.assign(d, 0.0);
  for (size_t t = 0; t < n; ++t)
    for (size_t j = 0; j < d; ++j) out.embedding[j] += z[t * d + j] / n;
  Mat logits = linear(out.embedding, 1, m.cls);
  softmax(logits.data(), logits.size());
  out.probs = logits;
  if (s.recon) {
    Mat r = linear(z, n, m.recon);
    out.patch_error.assign(n, 0.0);
    out.channel_error.assign(cf, 0.0);
    for (size_t t = 0; t < n; ++t) {
      for (size_t j = 0; j < pw; ++j) {
        const double e = r[t * pw + j] - u[t * pw + j];
        out.patch_error[t] += e * e / pw;
        out.channel_error[j % cf] += e * e / (n * s.patch);
      }
    }
  }
  return out;
}

}  // namespace vigil::test
