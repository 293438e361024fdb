// Float operators, the FFT and the spectral front end against double-precision references.
// Tolerances: float ops ~1e-6 relative (a few float ulps over d <= 64 terms); FFT 1e-9 relative
// to the signal energy (double, radix-2 vs naive DFT); features 1e-4 (float output of log terms).
#include <algorithm>
#include <cmath>
#include <limits>
#include <complex>
#include <cstring>
#include <random>
#include <vector>

#include "engine_harness.h"
#include "engine_test_model.h"
#include "fft.h"
#include "frontend.h"
#include "attention_int8.h"
#include "kernels/dispatch.h"
#include "ops.h"

using namespace vigil;

namespace {
std::vector<float> randv(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// Multi-head self-attention of qkv [n][3d] (q | k | v) in double: out [n][d].
std::vector<double> attention_ref(const std::vector<float>& qkv, size_t n, size_t d, size_t heads) {
  const size_t dh = d / heads;
  std::vector<double> out(n * d), s(n);
  for (size_t h = 0; h < heads; ++h) {
    for (size_t i = 0; i < n; ++i) {
      double mx = -1e300, sum = 0;
      for (size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (size_t t = 0; t < dh; ++t) dot += double(qkv[i * 3 * d + h * dh + t]) * qkv[j * 3 * d + d + h * dh + t];
        s[j] = dot / std::sqrt(double(dh));
        mx = std::max(mx, s[j]);
      }
      for (double& v : s) sum += (v = std::exp(v - mx));
      for (size_t t = 0; t < dh; ++t) {
        double o = 0;
        for (size_t j = 0; j < n; ++j) o += s[j] / sum * qkv[j * 3 * d + 2 * d + h * dh + t];
        out[i * d + h * dh + t] = o;
      }
    }
  }
  return out;
}
}  // namespace

TEST(layer_norm_matches_double) {
  for (const size_t d : {48u, 40u, 13u, 3u}) {  // whole 16-lane blocks, blocks and a tail, only a tail
  const size_t rows = 5;
  auto x = randv(rows * d, 1, 3.0f), w = randv(d, 2), b = randv(d, 3);
  for (size_t j = 0; j < d; ++j) x[j] += 100.0f;  // a row with a large mean
  std::vector<float> y(rows * d);
  ops::layer_norm(x.data(), rows, d, w.data(), b.data(), 1e-5f, y.data());
  for (size_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (size_t j = 0; j < d; ++j) m += x[r * d + j];
    m /= d;
    for (size_t j = 0; j < d; ++j) v += (x[r * d + j] - m) * (x[r * d + j] - m);
    v /= d;
    for (size_t j = 0; j < d; ++j) {
      const double ref = (x[r * d + j] - m) / std::sqrt(v + 1e-5) * w[j] + b[j];
      EXPECT_NEAR(y[r * d + j], ref, 2e-6 * (1 + std::fabs(ref))) << "d " << d << " row " << r << " col " << j;
    }
  }
  }
}

TEST(normalize_channels_and_mean_rows_match_plain_loops_bit_for_bit) {
  // The forward pass's input normalization and mean pool (cloned, vectorized) against the plain
  // loops they replaced: IEEE (f - mean) / std per element; column sums in row order in double.
  // Channel counts that divide 64 or not, above 64 (the row-by-row path); row counts that leave
  // a partial block.
  for (size_t channels : {size_t{1}, size_t{3}, size_t{4}, size_t{7}, size_t{64}, size_t{65}, size_t{100}}) {
    for (size_t rows : {size_t{1}, size_t{5}, size_t{16}, size_t{33}, size_t{512}}) {
      auto f = randv(rows * channels, rows + channels, 4.0f), mean = randv(channels, 5), sd = randv(channels, 6);
      for (float& v : sd) v = std::fabs(v) + 0.05f;
      std::vector<float> got(rows * channels, -1.0f);
      ops::normalize_channels(f.data(), rows, channels, mean.data(), sd.data(), got.data());
      for (size_t t = 0; t < rows; ++t) {
        for (size_t c = 0; c < channels; ++c) {
          volatile float want = (f[t * channels + c] - mean[c]) / sd[c];
          EXPECT(std::memcmp(&got[t * channels + c], const_cast<float*>(&want), 4) == 0)
              << "normalize_channels rows " << rows << " channels " << channels << " at " << t << "," << c;
        }
      }
      std::vector<float> pooled(channels, -1.0f);
      ops::mean_rows(f.data(), rows, channels, pooled.data());
      for (size_t c = 0; c < channels; ++c) {
        double sum = 0;
        for (size_t t = 0; t < rows; ++t) sum += f[t * channels + c];
        const float want = static_cast<float>(sum / static_cast<double>(rows));
        EXPECT(std::memcmp(&pooled[c], &want, 4) == 0) << "mean_rows rows " << rows << " cols " << channels;
      }
    }
  }
}

TEST(reconstruction_errors_match_plain_loops_bit_for_bit) {
  // The reconstruction head's errors (cloned; the x86-64-v4 form transposes 8 tokens x 8
  // elements in registers) against the plain double loops of their definition (ops.h), in
  // both float forms: token counts that leave a partial block of 8, patch widths that are
  // not multiples of 8, channel counts 1..65.
  for (ops::FloatForms forms : {ops::FloatForms::kZmm, ops::FloatForms::kPortable}) {
    ops::force_float_forms(forms);
    for (size_t channels : {size_t{1}, size_t{3}, size_t{4}, size_t{9}, size_t{65}}) {
      for (size_t patch : {size_t{1}, size_t{5}, size_t{8}}) {
        for (size_t n : {size_t{1}, size_t{7}, size_t{8}, size_t{17}, size_t{64}}) {
          const size_t pw = patch * channels;
          auto r = randv(n * pw, n + pw, 3.0f), u = randv(n * pw, n * 7 + pw, 3.0f);
          std::vector<float> pe(n, -1.0f), ce(channels, -1.0f);
          ops::reconstruction_errors(r.data(), u.data(), n, patch, channels, pe.data(), ce.data());
          for (size_t t = 0; t < n; ++t) {
            double acc = 0;
            for (size_t j = 0; j < pw; ++j) {
              const double e = static_cast<double>(r[t * pw + j]) - u[t * pw + j];
              acc += e * e;
            }
            const float want = static_cast<float>(acc / static_cast<double>(pw));
            EXPECT(std::memcmp(&pe[t], &want, 4) == 0) << "patch_error n " << n << " patch " << patch << " channels "
                                                       << channels << " token " << t;
          }
          for (size_t c = 0; c < channels; ++c) {
            double acc = 0;
            for (size_t t = 0; t < n; ++t) {
              for (size_t s = 0; s < patch; ++s) {
                const double e = static_cast<double>(r[t * pw + s * channels + c]) - u[t * pw + s * channels + c];
                acc += e * e;
              }
            }
            const float want = static_cast<float>(acc / (static_cast<double>(n) * patch));
            EXPECT(std::memcmp(&ce[c], &want, 4) == 0) << "channel_error n " << n << " patch " << patch << " channels "
                                                       << channels << " channel " << c;
          }
        }
      }
    }
  }
  ops::force_float_forms(ops::FloatForms::kCpu);
}

TEST(all_finite_finds_every_non_finite_value) {
  // The input check's fast pass: every length 0..70 and 1000, one bad value at every position
  // (NaN of both signs and another payload, +-Inf), and the largest finite / subnormal values
  // that must pass.
  const float qnan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  uint32_t payload_bits = 0xffc00001u;  // a negative NaN with a payload
  float neg_nan;
  std::memcpy(&neg_nan, &payload_bits, sizeof neg_nan);
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{15}, size_t{16}, size_t{17}, size_t{63}, size_t{70}, size_t{1000}}) {
    std::vector<float> x = randv(n, n + 1, 1e3f);
    if (n > 0) x[n / 2] = std::numeric_limits<float>::max();
    if (n > 1) x[n - 1] = -std::numeric_limits<float>::denorm_min();
    EXPECT(ops::all_finite(x.data(), n)) << "finite values rejected, n " << n;
    for (size_t i = 0; i < n; ++i) {
      for (float bad : {qnan, -qnan, neg_nan, inf, -inf}) {
        const float keep = x[i];
        x[i] = bad;
        EXPECT(!ops::all_finite(x.data(), n)) << "missed " << bad << " at " << i << " of " << n;
        x[i] = keep;
      }
    }
  }
}

TEST(softmax_matches_double_and_sums_to_one) {
  auto x = randv(37, 4, 10.0f);
  x[3] = 80.0f;  // exp overflow without the max subtraction
  std::vector<double> ref(x.begin(), x.end());
  double mx = ref[0], s = 0;
  for (double v : ref) mx = std::max(mx, v);
  for (double& v : ref) s += (v = std::exp(v - mx));
  ops::softmax(x.data(), x.size());
  double sum = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    EXPECT_NEAR(x[j], ref[j] / s, 1e-7 + 1e-6 * ref[j] / s) << "at " << j;
    sum += x[j];
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(softmax_exp_is_within_two_ulp) {
  double worst = 0;
  for (float x = -87.0f; x <= 0.0f; x += 0.00731f) {
    const double ref = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(ops::exp_for_softmax(x) - ref) / ref);
  }
  EXPECT(worst <= 2.4e-7) << "max relative error " << worst;  // 2 ulp of float near 1
  EXPECT(ops::exp_for_softmax(0.0f) == 1.0f);
  EXPECT(ops::exp_for_softmax(-1000.0f) > 0.0f && ops::exp_for_softmax(-1000.0f) < 2e-38f);
}

TEST(softmax_lane_tail_sizes) {
  for (size_t n : {1u, 7u, 8u, 9u, 17u, 64u}) {
    auto x = randv(n, 40 + n, 5.0f);
    std::vector<double> ref(x.begin(), x.end());
    double mx = ref[0], s = 0;
    for (double v : ref) mx = std::max(mx, v);
    for (double& v : ref) s += (v = std::exp(v - mx));
    ops::softmax(x.data(), n);
    for (size_t j = 0; j < n; ++j) EXPECT_NEAR(x[j], ref[j] / s, 1e-7 + 1e-6 * ref[j] / s) << "n=" << n;
  }
}

TEST(gelu_matches_erf_form) {
  for (float x = -8.0f; x <= 8.0f; x += 0.0625f) {
    const double ref = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    EXPECT_NEAR(ops::gelu(x), ref, 1e-6 * (1 + std::fabs(ref))) << "x=" << x;
  }
}

TEST(attention_matches_double) {
  // Sizes around the 16-wide register blocks and 4-row query blocks: n and dh below, at and
  // above multiples of 16; n below and not a multiple of 4.
  struct Case { size_t n, d, heads; };
  for (const Case c : {Case{7, 12, 3}, Case{37, 64, 2}, Case{16, 48, 3}, Case{33, 40, 1}, Case{64, 64, 4}, Case{48, 64, 2}, Case{3, 16, 1}}) {
    const size_t n = c.n, d = c.d, heads = c.heads, dh = d / heads;
    auto qkv = randv(n * 3 * d, 5 + n, 1.5f);
    std::vector<float> out(n * d), scratch(ops::attention_scratch_floats(n, dh));
    ops::attention(qkv.data(), n, d, heads, out.data(), scratch.data());
    const std::vector<double> ref = attention_ref(qkv, n, d, heads);
    for (size_t i = 0; i < n; ++i) {
      for (size_t c = 0; c < d; ++c) {
        EXPECT_NEAR(out[i * d + c], ref[i * d + c], 2e-5 * (1 + std::fabs(ref[i * d + c])))
            << "n " << n << " dh " << dh << " head " << c / dh << " row " << i;
      }
    }
  }
}

TEST(attention_zmm_form_matches_portable_bit_for_bit) {
  // attention() takes attention_zmm on x86-64-v4 CPUs (16-lane accumulators, 4-row softmax
  // reductions) and attention_portable elsewhere: the same bits. Sizes cross the 64- and
  // 16-column score blocks and the 4-row query blocks; large scores reach exp's clamp.
  // (Off x86 GCC builds attention_zmm is the same 16-lane code for the baseline target: the
  // comparison runs there too, e.g. on NEON under qemu.)
  if (!ops::attention_zmm_runnable()) {
    std::printf("attention_zmm_form_matches_portable_bit_for_bit: x86 without x86-64-v4\n");
    return;
  }
  struct Case { size_t n, d, heads; float scale; };
  for (const Case c : {Case{64, 64, 4, 1.5f}, Case{100, 48, 3, 1.5f}, Case{130, 64, 2, 3.0f},
                       Case{16, 32, 2, 1.0f}, Case{7, 12, 3, 1.5f}, Case{80, 64, 4, 12.0f},
                       Case{21, 40, 1, 1.5f}}) {
    const size_t n = c.n, d = c.d, heads = c.heads, dh = d / heads;
    auto qkv = randv(n * 3 * d, 11 + n, c.scale);
    std::vector<float> scratch(ops::attention_scratch_floats(n, dh));
    std::vector<float> zmm(n * d, -1.0f), portable(n * d, -2.0f);
    ops::attention_zmm(qkv.data(), n, d, heads, 0, heads, zmm.data(), scratch.data());
    ops::attention_portable(qkv.data(), n, d, heads, 0, heads, portable.data(), scratch.data());
    EXPECT(std::memcmp(zmm.data(), portable.data(), zmm.size() * sizeof(float)) == 0)
        << "n " << n << " d " << d << " heads " << heads;
  }
}

TEST(portable_forms_match_zmm_forms_bit_for_bit) {
  // layer_norm, layer_norm_quantize, quantize, linear_f32, softmax_row_u8 and (through
  // attention_i8) quantize_attention_operands have a 16-lane form for x86-64-v4 and a portable loop form for
  // every other CPU: the same bits. Sizes around 8/16-lane blocks and the 64-float chunks;
  // quantize sees zeros of both signs, ties, huge values, infinities and NaNs. Both forms run
  // on every CPU (each clone compiles both), so this compares them on NEON under qemu too.
  auto both = [](auto run) {  // run() -> a byte vector, under each form
    ops::force_float_forms(ops::FloatForms::kZmm);
    const auto zmm = run();
    ops::force_float_forms(ops::FloatForms::kPortable);
    const auto portable = run();
    ops::force_float_forms(ops::FloatForms::kCpu);
    return zmm.size() == portable.size() &&
           std::memcmp(zmm.data(), portable.data(), zmm.size() * sizeof(zmm[0])) == 0;
  };
  // linear_f32 (its 4-row x 32-output blocks have a zmm form): rows around the 4-row blocks,
  // outputs around the 32 / 16 blocks, with and without bias, GELU and the residual add.
  for (size_t m : {1u, 4u, 5u, 64u}) {
    for (size_t outf : {8u, 16u, 31u, 32u, 33u, 48u, 64u, 100u}) {
      for (size_t in : {1u, 7u, 64u}) {
        const auto a = randv(m * in, m + in, 2.0f), wt = randv(in * outf, 3 + outf, 0.3f), b = randv(outf, 4);
        for (int mode = 0; mode < 3; ++mode) {
          EXPECT(both([&] {
            std::vector<float> y = randv(m * (outf + 3), 9, 1.0f);
            ops::linear_f32(a.data(), m, in, outf, wt.data(), mode == 0 ? nullptr : b.data(), mode == 1, mode == 2,
                            y.data(), outf + 3);
            return y;
          })) << "linear_f32 m " << m << " out " << outf << " in " << in << " mode " << mode;
        }
      }
    }
  }
  for (size_t n : {1u, 15u, 16u, 17u, 63u, 64u, 65u, 100u, 200u}) {
    std::vector<float> x = randv(n, 90 + n, 60.0f);
    const float specials[] = {0.0f, -0.0f, 126.5f / 1.5f, -126.5f / 1.5f, 0.5f / 1.5f, 1e30f,
                              -1e30f, INFINITY, -INFINITY, NAN, -NAN};
    for (size_t k = 0; k < n && k < 11; ++k) x[(k * 7) % n] = specials[k];
    EXPECT(both([&] {
      std::vector<int8_t> q(n);
      ops::quantize(x.data(), n, 1.5f, q.data());
      return q;
    })) << "quantize n " << n;
    std::mt19937 g(n);
    std::uniform_int_distribution<int32_t> u(-300000, 300000);
    std::vector<int32_t> acc(n);
    for (int32_t& a : acc) a = u(g);
    const std::vector<float> cs = randv(n, 7 + n, 1e-4f);
    std::vector<float> col(n);
    for (size_t j = 0; j < n; ++j) col[j] = std::fabs(cs[j]) + 1e-6f;
    EXPECT(both([&] {
      std::vector<float> tmp(n);
      std::vector<int8_t> p(n + 4);
      const int32_t sum = ops::softmax_row_u8(acc.data(), n, 0.37f, col.data(), tmp.data(), p.data());
      std::memcpy(p.data() + n, &sum, sizeof sum);
      return p;
    })) << "softmax_row_u8 n " << n;
  }
  // Rows: a 4-row block and a single row; more than one 64-row chunk of statistics
  // (for_each_row_stats) with a ragged end.
  // Offset rows (1000 +- 0.01, the second half of each case) make the int8 outputs sensitive to
  // a statistic one float ulp off.
  for (const size_t rows : {9u, 70u, 131u}) {
    for (size_t d : {8u, 13u, 64u, 100u}) {
      std::vector<float> x = randv(rows * d, 3 + d, 4.0f);
      const std::vector<float> w = randv(d, 4 + d), b = randv(d, 5 + d);
      for (size_t i = rows / 2 * d; i < rows * d; ++i) x[i] = 1000.0f + x[i] * 0.0025f;
      EXPECT(both([&] {
        std::vector<float> y(rows * d);
        ops::layer_norm(x.data(), rows, d, w.data(), b.data(), 1e-5f, y.data());
        return y;
      })) << "layer_norm rows " << rows << " d " << d;
      EXPECT(both([&] {
        std::vector<int8_t> q(rows * d);
        ops::layer_norm_quantize(x.data(), rows, d, w.data(), b.data(), 1e-5f, 40.0f, q.data());
        return q;
      })) << "layer_norm_quantize rows " << rows << " d " << d;
    }
  }
  struct Case { size_t n, d, heads; };
  const kernels::KernelTable& kt = *kernels::available_kernels().front();
  for (const Case c : {Case{7, 12, 3}, Case{100, 40, 2}, Case{130, 64, 2}, Case{64, 64, 4}, Case{70, 136, 2}}) {
    const auto qkv = randv(c.n * 3 * c.d, 17 + c.n, 1.5f);
    EXPECT(both([&] {
      std::vector<uint8_t> scratch(attention_i8_scratch_bytes(kt, c.n, c.d / c.heads, c.heads) + 64);
      uint8_t* s64 = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
      std::vector<float> out(c.n * c.d);
      attention_i8(kt, qkv.data(), c.n, c.d, c.heads, 0, c.heads, out.data(), s64);
      return out;
    })) << "attention_i8 n " << c.n << " d " << c.d;
  }
}

TEST(linear_f32_matches_double_with_residual_and_gelu) {
  const size_t m = 3, in = 19, outf = 300;  // outf > the 256-wide chunk
  auto a = randv(m * in, 6), w = randv(in * outf, 7, 0.3f), b = randv(outf, 8);
  std::vector<float> wt(in * outf);
  for (size_t o = 0; o < outf; ++o)
    for (size_t k = 0; k < in; ++k) wt[k * outf + o] = w[o * in + k];
  std::vector<float> y(m * outf, 1.0f);
  ops::linear_f32(a.data(), m, in, outf, wt.data(), b.data(), true, true, y.data(), outf);
  for (size_t r = 0; r < m; ++r) {
    for (size_t o = 0; o < outf; ++o) {
      double s = b[o];
      for (size_t k = 0; k < in; ++k) s += double(a[r * in + k]) * w[o * in + k];
      const double ref = 1.0 + 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)));
      EXPECT_NEAR(y[r * outf + o], ref, 1e-5 * (1 + std::fabs(ref)));
    }
  }
}

TEST(attention_i8_close_to_double_and_identical_on_every_kernel) {
  // int8 attention (attention_int8.h) against the double reference: dynamic int8 Q/K/V and u8
  // probabilities. Error bound relative to max |v| of the head, from measurement with margin
  // (printed). n crosses the 48-row query blocks; dh not a multiple of 4/16. The tables with a
  // fused attention kernel (avx512_vnni, avx_vnni, avx2, neon_dot) must give the bits of the composed path (all tables agree):
  // the cases also cross its 4-row blocks (n % 4), 64-key score passes (n > 64, n % 16),
  // 32-column P V passes (dh 48, 64), the padded copies (odd dh, n % 4), both Q/K
  // precisions (int16 below 128 tokens, int8-valued from 128: the kernel's vpdpbusd path) and, at scale
  // 12, rows whose probabilities mostly underflow to 0 (the -29 clamp; bits only: with scores
  // that sharp, int8 Q and K move the argmax and the error bound below does not hold).
  struct Case { size_t n, d, heads; float scale; };
  double worst = 0;
  for (const Case c : {Case{7, 12, 3, 1.5f}, Case{37, 64, 2, 1.5f}, Case{100, 40, 2, 1.5f}, Case{64, 64, 4, 1.5f},
                       Case{1, 16, 1, 1.5f}, Case{130, 128, 2, 1.5f}, Case{81, 90, 3, 1.5f}, Case{256, 96, 2, 1.5f},
                       Case{66, 64, 4, 12.0f}, Case{45, 21, 3, 1.5f}, Case{129, 42, 3, 1.5f}}) {
    const size_t n = c.n, d = c.d, heads = c.heads, dh = d / heads;
    auto qkv = randv(n * 3 * d, 7 + n, c.scale);
    std::vector<float> ref_out;
    for (const kernels::KernelTable* kt : kernels::available_kernels()) {
      std::vector<uint8_t> scratch(attention_i8_scratch_bytes(*kt, n, dh, heads) + 64);
      uint8_t* s64 = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
      std::vector<float> out(n * d, -7.0f);
      attention_i8(*kt, qkv.data(), n, d, heads, 0, heads, out.data(), s64);
      if (ref_out.empty()) {
        ref_out = out;
      } else {
        EXPECT(out == ref_out) << kt->name << " differs (n " << n << " d " << d << ")";
      }
      // Head by head (the thread pool's split) gives the same bits as all heads in one call.
      std::vector<uint8_t> scratch1(attention_i8_scratch_bytes(*kt, n, dh, 1) + 64);
      uint8_t* s1 = scratch1.data() + (64 - reinterpret_cast<uintptr_t>(scratch1.data()) % 64) % 64;
      std::vector<float> out1(n * d, -7.0f);
      for (size_t h = 0; h < heads; ++h) attention_i8(*kt, qkv.data(), n, d, heads, h, h + 1, out1.data(), s1);
      EXPECT(out1 == ref_out) << kt->name << " head by head differs (n " << n << " d " << d << ")";
    }
    if (c.scale > 2.0f) continue;
    const std::vector<double> ref = attention_ref(qkv, n, d, heads);
    for (size_t h = 0; h < heads; ++h) {
      double vmax = 0;
      for (size_t j = 0; j < n; ++j)
        for (size_t t = 0; t < dh; ++t) vmax = std::max(vmax, std::fabs(double(qkv[j * 3 * d + 2 * d + h * dh + t])));
      for (size_t i = 0; i < n; ++i) {
        for (size_t t = 0; t < dh; ++t) {
          const double o = ref[i * d + h * dh + t];
          const double err = std::fabs(ref_out[i * d + h * dh + t] - o) / vmax;
          worst = std::max(worst, err);
          EXPECT(err <= 0.05) << "n " << n << " dh " << dh << " head " << h << " row " << i << " err " << err;
        }
      }
    }
  }
  std::printf("  int8 attention vs double: max |error| / max|v| = %.4f\n", worst);
}

TEST(softmax_row_u8_max_is_255_and_sum_matches) {
  const int32_t acc[] = {100, -50, 100, 0, 7, -1000000, 99};
  const float cs[] = {0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f};
  float tmp[7];
  int8_t p[7];
  const int32_t sum = ops::softmax_row_u8(acc, 7, 1.0f, cs, tmp, p);
  int32_t s2 = 0;
  for (int j = 0; j < 7; ++j) {
    EXPECT(p[j] >= -128 && p[j] <= 127);
    s2 += p[j] + 128;
  }
  EXPECT(p[0] == 127 && p[2] == 127) << int(p[0]) << " " << int(p[2]);  // the max maps to 255
  EXPECT(p[5] == -128) << int(p[5]);                                     // exp underflow -> 0
  EXPECT(sum == s2) << sum << " vs " << s2;
  EXPECT(p[6] + 128 == static_cast<int>(std::lround(255.0 * std::exp(-0.01)))) << int(p[6]);
}

// A table's own softmax row (KernelTable::softmax_row_u8, the composed int8 attention's) gives
// ops::softmax_row_u8's bits: every n from 1 to 70 and some longer rows (the 16-key blocks and
// every tail), scores from ties at the max to far below the -29 clamp, per-key scales.
TEST(table_softmax_row_u8_matches_spec_bit_for_bit) {
  int tables = 0;
  for (const kernels::KernelTable* kt : kernels::available_kernels()) {
    if (kt->softmax_row_u8 == nullptr) continue;
    ++tables;
    std::printf("  %s: its own softmax_row_u8\n", kt->name);
    std::vector<size_t> sizes;
    for (size_t n = 1; n <= 70; ++n) sizes.push_back(n);
    for (const size_t n : {127u, 128u, 129u, 256u, 301u}) sizes.push_back(n);
    for (const size_t n : sizes) {
      for (const int seed : {1, 2, 3}) {
        std::vector<int32_t> acc(n);
        uint64_t st = 0x9e3779b97f4a7c15ull * (n * 7 + static_cast<uint64_t>(seed));
        for (size_t j = 0; j < n; ++j) {
          st = st * 6364136223846793005ull + 1442695040888963407ull;
          const int32_t r = static_cast<int32_t>(st >> 40) - (1 << 23);
          acc[j] = seed == 3 && j % 5 == 0 ? 4000000 : r / (seed == 1 ? 8 : 1);  // ties at the max
        }
        const auto col = randv(n, 40 + seed, 1.0f);
        std::vector<float> cs(n);
        for (size_t j = 0; j < n; ++j) cs[j] = 1e-4f * (1.0f + std::fabs(col[j]));
        std::vector<float> t1(n), t2(n);
        std::vector<int8_t> p1(n + 16, 7), p2(n + 16, 7);
        const int32_t s1 = ops::softmax_row_u8(acc.data(), n, 0.75f, cs.data(), t1.data(), p1.data());
        const int32_t s2 = kt->softmax_row_u8(acc.data(), n, 0.75f, cs.data(), t2.data(), p2.data());
        EXPECT(s1 == s2 && p1 == p2) << kt->name << " n " << n << " seed " << seed << ": sum " << s1
                                     << " vs " << s2;  // p2 == p1 also checks no byte past n
      }
    }
  }
  std::printf("  %d table(s) with their own softmax_row_u8\n", tables);
}

TEST(table_quantize_and_layer_norm_quantize_match_spec_bit_for_bit) {
  // A kernel table's own quantize / layer_norm_quantize (armv7 neon: float_rows_neon.h) against
  // the engine's: every length 0..70 and longer rows; quantize also sees zeros of both signs,
  // ties (k + 0.5 after the scale), values beyond the clamp, infinities and NaN; rows of
  // LayerNorm around the 16-lane blocks, a constant row, offsets and scales of both signs.
  // A byte written past the end fails it.
  int tables = 0;
  for (const kernels::KernelTable* kt : kernels::available_kernels()) {
    if (kt->quantize == nullptr && kt->layer_norm_quantize == nullptr) continue;
    ++tables;
    std::printf("  %s: its own quantize / layer_norm_quantize\n", kt->name);
    std::vector<size_t> sizes;
    for (size_t n = 0; n <= 70; ++n) sizes.push_back(n);
    for (const size_t n : {127u, 128u, 131u, 256u, 1000u}) sizes.push_back(n);
    if (kt->quantize != nullptr) {
      for (const size_t n : sizes) {
        std::vector<float> x = randv(n, 300 + n, 80.0f);
        const float specials[] = {0.0f, -0.0f, 2.5f / 1.5f, -2.5f / 1.5f, 126.5f / 1.5f, -126.5f / 1.5f,
                                  0.5f / 1.5f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, -NAN};
        for (size_t k = 0; k < n && k < 13; ++k) x[(k * 7) % n] = specials[k];
        std::vector<int8_t> q1(n + 16, 5), q2(n + 16, 5);
        ops::quantize(x.data(), n, 1.5f, q1.data());
        kt->quantize(x.data(), n, 1.5f, q2.data());
        EXPECT(q1 == q2) << kt->name << " quantize n " << n;
      }
    }
    if (kt->layer_norm_quantize != nullptr) {
      for (const size_t d : {1u, 3u, 15u, 16u, 17u, 31u, 32u, 33u, 64u, 70u, 128u, 131u}) {
        for (const size_t rows : {1u, 2u, 5u, 64u}) {
          std::vector<float> x = randv(rows * d, rows * 31 + d, 3.0f);
          for (size_t j = 0; j < d; ++j) x[j] = 0.75f;  // a constant row: variance 0
          for (size_t j = 0; j < x.size(); j += 5) x[j] += 40.0f;
          const auto w = randv(d, 7 + d, 1.5f), bias = randv(d, 8 + d, 0.5f);
          for (const float inv : {0.5f, 21.0f, 400.0f}) {
            std::vector<int8_t> q1(rows * d + 16, 5), q2(rows * d + 16, 5);
            ops::layer_norm_quantize(x.data(), rows, d, w.data(), bias.data(), 1e-5f, inv, q1.data());
            kt->layer_norm_quantize(x.data(), rows, d, w.data(), bias.data(), 1e-5f, inv, q2.data());
            EXPECT(q1 == q2) << kt->name << " layer_norm_quantize rows " << rows << " d " << d << " inv " << inv;
          }
        }
      }
      // Rows with a large common offset and a small spread (1000 +- 0.01): the float lane sums
      // round at ~1e-4 while rstd is ~100, so a mean or variance one float ulp off (another lane
      // order, a fused multiply-add) moves many outputs across a rounding boundary.
      for (const size_t d : {64u, 131u}) {
        const size_t rows = 256;
        std::vector<float> x = randv(rows * d, 77 + d, 0.01f);
        for (float& v : x) v += 1000.0f;
        const std::vector<float> w = randv(d, 78, 1.0f), bias(d, 0.0f);
        std::vector<int8_t> q1(rows * d), q2(rows * d);
        ops::layer_norm_quantize(x.data(), rows, d, w.data(), bias.data(), 1e-5f, 20.0f, q1.data());
        kt->layer_norm_quantize(x.data(), rows, d, w.data(), bias.data(), 1e-5f, 20.0f, q2.data());
        size_t diff = 0;
        for (size_t i = 0; i < q1.size(); ++i) diff += q1[i] != q2[i];
        EXPECT(diff == 0) << kt->name << " layer_norm_quantize offset rows d " << d << ": " << diff << " values differ";
      }
    }
  }
  std::printf("  %d table(s) with their own quantize / layer_norm_quantize\n", tables);
}

TEST(table_quantize_attention_operands_matches_spec_bit_for_bit) {
  // A kernel table's own quantize_attention_operands (neon, neon_dot: float_rows_neon.h) against
  // the engine's, every output: int16 Q and K with their scales, V^T int8 with its scales and
  // column sums. Both precisions (n below and from 128 tokens), head ranges, dh not a multiple
  // of 4 / 8 / 16, V columns not a multiple of 16, an all-zero Q slice and V column (scale 0).
  int tables = 0;
  struct Case { size_t n, d, heads, hb, he; };
  for (const kernels::KernelTable* kt : kernels::available_kernels()) {
    if (kt->quantize_attention_operands == nullptr) continue;
    ++tables;
    std::printf("  %s: its own quantize_attention_operands\n", kt->name);
    for (const Case c : {Case{64, 64, 4, 0, 4}, Case{7, 12, 3, 0, 3}, Case{130, 128, 4, 1, 3}, Case{45, 21, 3, 2, 3},
                         Case{129, 42, 3, 0, 3}, Case{1, 16, 1, 0, 1}, Case{66, 90, 3, 0, 2}, Case{200, 96, 2, 0, 2}}) {
      const size_t n = c.n, d = c.d, dh = d / c.heads, hc = c.he - c.hb, vc = hc * dh;
      auto qkv = randv(n * 3 * d, 500 + n + d, 2.0f);
      for (size_t t = 0; t < dh; ++t) qkv[c.hb * dh + t] = 0.0f;                       // row 0's Q slice
      for (size_t i = 0; i < n; ++i) qkv[i * 3 * d + 2 * d + c.hb * dh] = 0.0f;      // one V column
      const int32_t levels = ops::attention_qk_levels(n);
      struct Out {
        std::vector<int16_t> q16, k16;
        std::vector<float> sq, ck, sv;
        std::vector<int8_t> v8t;
        std::vector<int32_t> colsum;
      };
      auto run = [&](kernels::QuantizeAttentionOperandsFn fn) {
        Out o{std::vector<int16_t>(hc * n * dh, 9), std::vector<int16_t>(hc * n * dh, 9), std::vector<float>(hc * n),
              std::vector<float>(hc * n), std::vector<float>(vc), std::vector<int8_t>(vc * n, 9),
              std::vector<int32_t>(vc, 9)};
        std::vector<uint32_t> vmax(vc);
        std::vector<int8_t> vblock(64 * vc);
        fn(qkv.data(), n, d, c.hb, c.he, dh, 0.3f, levels, o.q16.data(), o.sq.data(), o.k16.data(), o.ck.data(),
           o.v8t.data(), o.sv.data(), o.colsum.data(), vmax.data(), vblock.data());
        return o;
      };
      const Out a = run(ops::quantize_attention_operands), b = run(kt->quantize_attention_operands);
      auto same_f = [](const std::vector<float>& x, const std::vector<float>& y) {
        return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
      };
      EXPECT(a.q16 == b.q16 && a.k16 == b.k16 && a.v8t == b.v8t && a.colsum == b.colsum && same_f(a.sq, b.sq) &&
             same_f(a.ck, b.ck) && same_f(a.sv, b.sv))
          << kt->name << " n " << n << " d " << d << " heads " << c.hb << ".." << c.he;
    }
  }
  std::printf("  %d table(s) with their own quantize_attention_operands\n", tables);
}

TEST(table_linear_f32_matches_spec_bit_for_bit) {
  // A kernel table's own linear_f32 (neon, neon_dot) against the engine's (no GELU): rows
  // around the 4-row blocks, outputs around the 8 / 4 blocks, with and without bias, stored or
  // added to a strided output whose padding must stay untouched.
  int tables = 0;
  for (const kernels::KernelTable* kt : kernels::available_kernels()) {
    if (kt->linear_f32 == nullptr) continue;
    ++tables;
    std::printf("  %s: its own linear_f32\n", kt->name);
    for (size_t m : {1u, 3u, 4u, 5u, 8u, 64u}) {
      for (size_t outf : {1u, 3u, 4u, 7u, 8u, 9u, 16u, 32u, 33u}) {
        for (size_t in : {1u, 7u, 64u}) {
          const auto a = randv(m * in, m + in, 2.0f), wt = randv(in * outf, 3 + outf, 0.3f), b = randv(outf, 4);
          for (int mode = 0; mode < 3; ++mode) {
            const float* bias = mode == 0 ? nullptr : b.data();
            const bool acc = mode == 2;
            std::vector<float> y1 = randv(m * (outf + 3), 9, 1.0f), y2 = y1;
            ops::linear_f32(a.data(), m, in, outf, wt.data(), bias, false, acc, y1.data(), outf + 3);
            kt->linear_f32(a.data(), m, in, outf, wt.data(), bias, acc, y2.data(), outf + 3);
            EXPECT(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0)
                << kt->name << " linear_f32 m " << m << " out " << outf << " in " << in << " mode " << mode;
          }
        }
      }
    }
  }
  std::printf("  %d table(s) with their own linear_f32\n", tables);
}

// ops::make_gelu_table: quantizing x as the epilogue does (q = clamp(round_half_away((x +
// shift) * inv_step), -127, 127), in float) and reading table[q + 128] * out_scale gives GELU(x)
// within half an output step plus GELU's slope (<= 1.13) times half an input step, for x in
// [lo, hi]; below lo, within half an output step (the table's 0); GELU taken within the output
// range +-127 out_scale. GELU(hi) reaches 127 out_scale.
TEST(gelu_table_approximates_gelu) {
  auto gelu_d = [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); };
  for (const float s : {1e-3f, 0.004f, 0.02f, 0.05f, 1.0f, 300.0f}) {
    const ops::GeluTable t = ops::make_gelu_table(s);
    const double y = 127.0 * s;
    EXPECT(t.hi == static_cast<float>(std::min(2.0 * y, y + 0.171)) && gelu_d(t.hi) >= y * (1 - 1e-7))
        << "hi " << t.hi << " s " << s;
    EXPECT(t.lo <= 0.0f && std::fabs(gelu_d(t.lo)) <= 0.5 * s && t.table[1] == 0) << t.lo;
    EXPECT(t.table[255] == 127) << int(t.table[255]);
    const double step = 1.0 / t.inv_step;
    double worst = 0.0;
    for (int i = 0; i <= 20000; ++i) {
      const float x = static_cast<float>(t.lo - 1.0 + (t.hi - t.lo + 2.0) * i / 20000.0);
      const float v = (x + t.shift) * t.inv_step;
      const float c = v > -127.0f ? (v < 127.0f ? v : 127.0f) : -127.0f;
      const int q = static_cast<int>(c < 0.0f ? -std::floor(-c + 0.5f) : std::floor(c + 0.5f));
      const double got = t.table[q + 128] * static_cast<double>(s);
      double bound = 0.5 * s + 1.13 * 0.5 * step + 1e-6 * (std::fabs(x) + 1.0);
      // The output range is +-127 out_scale (for a tiny out_scale it cuts GELU's minimum, -0.17).
      const double want = std::min(127.0 * s, std::max(-127.0 * s, gelu_d(x)));
      if (x < t.lo) bound = 0.5 * s + 1e-9;  // |GELU(x)| <= s / 2 there, and the table gives 0
      worst = std::max(worst, std::fabs(got - want) / bound);
      EXPECT(std::fabs(got - want) <= bound) << "s " << s << " x " << x << " q " << q << " got " << got
                                             << " want " << want;
      if (std::fabs(got - want) > bound) break;
    }
    std::printf("  out_scale %g: lo %.3f hi %.4f, worst error / bound %.3f\n", s, t.lo, t.hi, worst);
  }
}

TEST(linear_f32_row_blocks_match_single_rows_bit_for_bit) {
  // m >= 4 takes the 4-row x 32/16-output blocks; a lone row (m = 1) the plain loop. Every
  // output is the same ordered sum, so the two must agree exactly, tails included.
  for (const size_t m : {4u, 5u, 9u}) {
    for (const size_t outf : {8u, 16u, 17u, 31u, 32u, 48u, 50u, 300u}) {
      for (const int mode : {0, 1, 2}) {
        const size_t in = 23;
        auto a = randv(m * in, 11), wt = randv(in * outf, 12, 0.3f), b = randv(outf, 13);
        const bool gelu = mode == 1, acc = mode == 2;
        std::vector<float> y(m * (outf + 3), 0.5f), y1(m * (outf + 3), 0.5f);
        ops::linear_f32(a.data(), m, in, outf, wt.data(), mode == 0 ? nullptr : b.data(), gelu,
                        acc, y.data(), outf + 3);
        for (size_t r = 0; r < m; ++r) {
          ops::linear_f32(a.data() + r * in, 1, in, outf, wt.data(), mode == 0 ? nullptr : b.data(),
                          gelu, acc, y1.data() + r * (outf + 3), outf + 3);
        }
        EXPECT(y == y1) << "m=" << m << " out=" << outf << " mode=" << mode;
      }
    }
  }
}

TEST(quantize_rounds_half_away_and_clamps) {
  const float x[] = {0.5f, -0.5f, 1.5f, -1.5f, 0.49999997f, -0.49999997f, 126.5f, 127.4f,
                     1000.0f, -1000.0f, 2.5f, 0.0f, -0.0f, std::nanf("")};
  const int expect[] = {1, -1, 2, -2, 0, 0, 127, 127, 127, -127, 3, 0, 0, -127};
  int8_t q[14];
  ops::quantize(x, 14, 1.0f, q);
  for (int j = 0; j < 14; ++j) EXPECT(q[j] == expect[j]) << "x=" << x[j] << " got " << int(q[j]);
}

TEST(quantize_blocks_match_elementwise_rounding) {
  // Lengths around the 64-value blocks; halves, clamps and NaN spread over every position.
  for (const size_t n : {63u, 64u, 65u, 200u}) {
    auto x = randv(n, 30 + n, 60.0f);
    for (size_t j = 0; j < n; j += 7) x[j] = static_cast<float>(static_cast<int>(j % 41) - 20) + 0.5f;
    for (size_t j = 3; j < n; j += 11) x[j] = (j % 2 ? 1.0f : -1.0f) * 500.0f;
    x[n - 1] = std::nanf("");
    std::vector<int8_t> q(n);
    const float inv = 1.0f / 0.5f;
    ops::quantize(x.data(), n, inv, q.data());
    for (size_t j = 0; j < n; ++j) {
      const float v = x[j] * inv;
      const int expect = std::isnan(v) ? -127 : static_cast<int>(std::max(-127.0f, std::min(127.0f, std::round(v))));
      EXPECT(q[j] == expect) << "n " << n << " j " << j << " x=" << x[j] << " got " << int(q[j]);
    }
  }
}

TEST(layer_norm_quantize_equals_layer_norm_then_quantize) {
  // rows: 3 (one at a time), 9 (two 4-row blocks with interleaved statistics, then one row).
  for (const size_t d : {13u, 48u, 64u, 130u}) for (const size_t rows : {3u, 9u}) {  // below, at and across the 64-value blocks
    auto x = randv(rows * d, 40 + d, 2.0f), w = randv(d, 41), b = randv(d, 42);
    std::vector<float> y(rows * d);
    std::vector<int8_t> q_ref(rows * d), q(rows * d);
    const float inv = 1.0f / 0.02f;  // saturates part of the row
    ops::layer_norm(x.data(), rows, d, w.data(), b.data(), 1e-5f, y.data());
    ops::quantize(y.data(), rows * d, inv, q_ref.data());
    ops::layer_norm_quantize(x.data(), rows, d, w.data(), b.data(), 1e-5f, inv, q.data());
    for (size_t j = 0; j < rows * d; ++j) {
      EXPECT(q[j] == q_ref[j]) << "d " << d << " at " << j << ": " << int(q[j]) << " != " << int(q_ref[j]);
    }
  }
}

TEST(fft_matches_naive_dft) {
  // forward_dif leaves bin k at bitrev(k); inverse_dit takes that order back to the input.
  // Sizes below, at and above the 8-point blocks the last (DIF) / first (DIT) stages run in,
  // with odd and even numbers of the larger stages (paired in one pass, the odd one alone).
  for (size_t n : {2u, 4u, 8u, 16u, 32u, 64u, 256u, 2048u}) {
    Fft f;
    f.init(n);
    auto re = randv(n, 10 + n), im = randv(n, 20 + n);
    std::vector<double> r(re.begin(), re.end()), i(im.begin(), im.end());
    f.forward_dif(r.data(), i.data());
    double energy = 0;
    for (size_t k = 0; k < n; ++k) energy += double(re[k]) * re[k] + double(im[k]) * im[k];
    for (size_t k = 0; k < n; ++k) {
      std::complex<double> s = 0;
      for (size_t t = 0; t < n; ++t) {
        const double a = -2 * M_PI * double((k * t) % n) / n;
        s += std::complex<double>(re[t], im[t]) * std::complex<double>(std::cos(a), std::sin(a));
      }
      EXPECT_NEAR(r[f.bitrev(k)], s.real(), 1e-9 * std::sqrt(energy * n)) << "n=" << n << " k=" << k;
      EXPECT_NEAR(i[f.bitrev(k)], s.imag(), 1e-9 * std::sqrt(energy * n)) << "n=" << n << " k=" << k;
    }
    f.inverse_dit(r.data(), i.data());
    for (size_t t = 0; t < n; ++t) {
      EXPECT_NEAR(r[t], re[t], 1e-12 * std::sqrt(energy)) << "roundtrip n=" << n;
      EXPECT_NEAR(i[t], im[t], 1e-12 * std::sqrt(energy)) << "roundtrip n=" << n;
    }
  }
}

TEST(fft_is_radix2_stage_by_stage_bit_for_bit) {
  // The transform's operation order is part of the front end's definition (the shipped
  // bundles' goldens): Fft runs the span-4/2/1 stages per 8-point block and pairs the larger
  // stages in one pass, which must give the bits of plain radix-2 stages one after the other.
  const double two_pi = 6.283185307179586476925286766559;
  for (size_t n : {2u, 4u, 8u, 16u, 32u, 64u, 512u, 8192u}) {
    Fft f;
    f.init(n);
    std::vector<double> twr(n), twi_f(n), twi_i(n);  // span h at [h - 1, 2h - 1), as Fft::init
    for (size_t h = 1; h < n; h <<= 1) {
      for (size_t k = 0; k < h; ++k) {
        const double a = two_pi * static_cast<double>(k) / static_cast<double>(2 * h);
        twr[h - 1 + k] = std::cos(a);
        twi_f[h - 1 + k] = -std::sin(a);
        twi_i[h - 1 + k] = std::sin(a);
      }
    }
    const auto re = randv(n, 30 + n), im = randv(n, 40 + n);
    std::vector<double> r(re.begin(), re.end()), i(im.begin(), im.end()), rr = r, ri = i;
    f.forward_dif(r.data(), i.data());
    for (size_t h = n / 2; h >= 1; h >>= 1) {  // DIF: a' = a + b, b' = (a - b) w
      for (size_t s0 = 0; s0 < n; s0 += 2 * h) {
        for (size_t k = 0; k < h; ++k) {
          const size_t a = s0 + k, b = a + h;
          const double wr = twr[h - 1 + k], wi = twi_f[h - 1 + k];
          const double dr = rr[a] - rr[b], di = ri[a] - ri[b];
          rr[a] = rr[a] + rr[b];
          ri[a] = ri[a] + ri[b];
          rr[b] = dr * wr - di * wi;
          ri[b] = dr * wi + di * wr;
        }
      }
    }
    EXPECT(std::memcmp(r.data(), rr.data(), n * sizeof(double)) == 0 &&
           std::memcmp(i.data(), ri.data(), n * sizeof(double)) == 0) << "forward n " << n;
    f.inverse_dit(r.data(), i.data());
    for (size_t h = 1; h < n; h <<= 1) {  // DIT: t = b w, b' = a - t, a' = a + t
      for (size_t s0 = 0; s0 < n; s0 += 2 * h) {
        for (size_t k = 0; k < h; ++k) {
          const size_t a = s0 + k, b = a + h;
          const double wr = twr[h - 1 + k], wi = twi_i[h - 1 + k];
          const double tr = rr[b] * wr - ri[b] * wi, ti = rr[b] * wi + ri[b] * wr;
          rr[b] = rr[a] - tr;
          ri[b] = ri[a] - ti;
          rr[a] = rr[a] + tr;
          ri[a] = ri[a] + ti;
        }
      }
    }
    for (size_t k = 0; k < n; ++k) {
      rr[k] *= 1.0 / static_cast<double>(n);
      ri[k] *= 1.0 / static_cast<double>(n);
    }
    EXPECT(std::memcmp(r.data(), rr.data(), n * sizeof(double)) == 0 &&
           std::memcmp(i.data(), ri.data(), n * sizeof(double)) == 0) << "inverse n " << n;
  }
}

TEST(spectral_frontend_matches_reference) {
  test::TinySpec s;
  s.spectral = true;
  s.window = 128;
  s.channels = 3;
  s.sample_rate = 1000.0f;
  s.bins = 16;
  s.band_low = 50.0f;
  s.band_high = 300.0f;
  for (uint64_t seed : {1u, 2u, 3u}) {
    auto x = test::random_window(s, seed);
    for (size_t j = 0; j < x.size(); ++j) x[j] += 3.0f * std::sin(0.9f * j);  // an impact-like tone
    auto ref = test::reference_features(s, x);
    SpectralFrontend fe;
    fe.init(s.window, s.channels, s.bins, s.sample_rate, s.band_low, s.band_high);
    std::vector<double> scratch(fe.scratch_doubles());
    std::vector<float> out(s.bins * 3 * s.channels);
    fe.compute(x.data(), scratch.data(), out.data());
    for (size_t j = 0; j < out.size(); ++j) {
      EXPECT_NEAR(out[j], ref[j], 1e-5 * (1 + std::fabs(ref[j]))) << "seed " << seed << " feature " << j;
    }
  }
}

TEST(spectral_frontend_empty_band_gives_zero_envelope) {
  test::TinySpec s;
  s.spectral = true;
  s.window = 64;
  s.channels = 1;
  s.sample_rate = 64.0f;
  s.bins = 8;
  s.band_low = 40.0f;  // above Nyquist: empty pass band
  s.band_high = 50.0f;
  auto x = test::random_window(s, 9);
  SpectralFrontend fe;
  fe.init(s.window, s.channels, s.bins, s.sample_rate, s.band_low, s.band_high);
  std::vector<double> scratch(fe.scratch_doubles());
  std::vector<float> out(s.bins * 3);
  fe.compute(x.data(), scratch.data(), out.data());
  auto ref = test::reference_features(s, x);
  for (size_t k = 0; k < s.bins; ++k) {
    EXPECT(out[k * 3 + 1] == 0.0f) << "bin " << k << " envelope " << out[k * 3 + 1];
    EXPECT_NEAR(out[k * 3], ref[k * 3], 1e-5);
  }
}

int main() { return vigil::test::run_all_tests(); }
