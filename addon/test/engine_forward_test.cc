// Forward pass: fp32 engine vs a straightforward double-precision reference (test model
// support), int8 engine vs fp32 engine, determinism, every available kernel table giving
// bit-identical int8 outputs, calibration, and the input boundary.
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "attention_int8.h"
#include "ops.h"
#include "engine_harness.h"
#include "engine_test_model.h"
#include "kernels/dispatch.h"
#include "vigil/engine.h"

using namespace vigil;

namespace {

struct Out {
  std::vector<float> probs, emb, pe, ce;
  explicit Out(const Model& m)
      : probs(m.info().hp.class_count), emb(m.info().hp.embedding_length),
        pe(m.info().hp.tokens), ce(m.info().hp.feature_channels) {}
  OutputBuffers bufs() { return {probs.data(), emb.data(), pe.data(), ce.data()}; }
};

std::unique_ptr<Model> load(const std::vector<uint8_t>& b, const std::string& isa = "",
                            const std::string& attention = "", int threads = 1) {
  std::unique_ptr<Model> m;
  LoadOptions o;
  o.isa = isa;
  o.attention = attention;
  o.threads = threads;
  Status s = Model::load_buffer(b.data(), b.size(), o, &m);
  EXPECT(s.ok()) << s.message();
  return m;
}

// Static activation scales of an fp32 model: calibration over 40 random windows (seeds 100..139).
CalibrationStats calibrate(Model& f32, const test::TinySpec& s) {
  EXPECT(f32.set_calibration(true).ok());
  for (uint64_t seed = 100; seed < 140; ++seed) {
    auto x = test::random_window(s, seed);
    Out o(f32);
    EXPECT(f32.run(x.data(), x.size(), o.bufs()).ok());
  }
  return f32.calibration();
}

// |a - b| <= atol + rtol * |b|, reporting the worst element.
void expect_close(const std::vector<float>& a, const std::vector<double>& b, double atol, double rtol,
                  const std::string& what) {
  EXPECT(a.size() == b.size()) << what << " sizes " << a.size() << " vs " << b.size();
  double worst = 0;
  size_t at = 0;
  for (size_t j = 0; j < a.size() && j < b.size(); ++j) {
    const double excess = std::fabs(a[j] - b[j]) - (atol + rtol * std::fabs(b[j]));
    if (excess > worst) { worst = excess; at = j; }
  }
  EXPECT(worst <= 0) << what << " at " << at << ": " << a[at] << " vs " << b[at];
}

test::TinySpec spec_none() {
  test::TinySpec s;
  s.window = 32; s.channels = 3; s.patch = 4; s.d = 24; s.heads = 3; s.ff = 40; s.blocks = 2;
  s.classes = 4;
  return s;
}

test::TinySpec spec_spectral() {
  test::TinySpec s;
  s.spectral = true; s.window = 256; s.channels = 2; s.sample_rate = 2000.0f; s.bins = 32;
  s.band_low = 200.0f; s.band_high = 700.0f; s.patch = 4; s.d = 16; s.heads = 2; s.ff = 32;
  s.blocks = 2; s.classes = 3; s.seed = 7;
  return s;
}

}  // namespace

// fp32 tolerance: float32 accumulation over <= 40-term dots through 2 blocks vs double;
// 2e-4 absolute + 1e-3 relative covers the float error with margin (seen ~1e-6..1e-5).
TEST(fp32_forward_matches_double_reference) {
  for (const test::TinySpec& s : {spec_none(), spec_spectral()}) {
    for (bool recon : {true, false}) {
      test::TinySpec sp = s;
      sp.recon = recon;
      test::RefModel rm = test::random_model(sp);
      auto m = load(test::write_gguf(rm));
      if (!m) continue;
      for (uint64_t seed = 1; seed <= 4; ++seed) {
        auto x = test::random_window(sp, seed);
        Out o(*m);
        Status st = m->run(x.data(), x.size(), o.bufs());
        EXPECT(st.ok()) << st.message();
        test::RefOutputs ref = test::reference_forward(rm, x);
        const std::string tag = std::string(sp.spectral ? "spectral" : "none") + (recon ? "+recon" : "") +
                                " seed " + std::to_string(seed) + " ";
        expect_close(o.probs, ref.probs, 2e-5, 1e-3, tag + "probs");
        expect_close(o.emb, ref.embedding, 2e-4, 1e-3, tag + "embedding");
        if (recon) {
          expect_close(o.pe, ref.patch_error, 2e-4, 1e-3, tag + "patch_error");
          expect_close(o.ce, ref.channel_error, 2e-4, 1e-3, tag + "channel_error");
        }
        std::vector<float> f(m->feature_length());
        EXPECT(m->features(x.data(), x.size(), f.data(), f.size()).ok());
        expect_close(f, ref.features, 1e-5, 1e-5, tag + "features");
      }
    }
  }
}

// int8 vs fp32 on random models with static scales calibrated on the same distribution.
// Bounds from measurement with margin (seen 0.009 / 0.049): probabilities within 0.08, embedding within 0.15
// (LayerNorm output scale ~1), top-1 agreement >= 90% over 40 windows.
TEST(int8_forward_close_to_fp32) {
  for (const test::TinySpec& s : {spec_none(), spec_spectral()}) {
    test::RefModel rm = test::random_model(s);
    auto f32 = load(test::write_gguf(rm));
    if (!f32) continue;
    CalibrationStats cs = calibrate(*f32, s);
    EXPECT(cs.windows == 40) << cs.windows;
    std::map<std::string, float> absmax;
    for (auto& kv : cs.input_abs_max) {
      EXPECT(kv.second > 0.0f) << kv.first;
      absmax[kv.first] = kv.second;
    }
    EXPECT(absmax.count("blk.1.ffn_down") == 1 && absmax.count("patch_embd") == 1);
    test::RefModel qm = rm;
    test::quantize_encoder(&qm, absmax);
    auto q8 = load(test::write_gguf(qm));
    if (!q8) continue;
    EXPECT(q8->info().int8_linears == 1 + 4 * s.blocks) << q8->info().int8_linears;
    EXPECT(q8->set_calibration(true).code() == StatusCode::kCalibrationUnsupported);
    int agree = 0;
    double max_prob = 0, max_emb = 0;
    for (uint64_t seed = 1000; seed < 1040; ++seed) {
      auto x = test::random_window(s, seed);
      Out a(*f32), b(*q8);
      EXPECT(f32->run(x.data(), x.size(), a.bufs()).ok());
      EXPECT(q8->run(x.data(), x.size(), b.bufs()).ok());
      size_t ta = 0, tb = 0;
      for (size_t k = 0; k < a.probs.size(); ++k) {
        if (a.probs[k] > a.probs[ta]) ta = k;
        if (b.probs[k] > b.probs[tb]) tb = k;
        max_prob = std::max(max_prob, double(std::fabs(a.probs[k] - b.probs[k])));
      }
      for (size_t k = 0; k < a.emb.size(); ++k) max_emb = std::max(max_emb, double(std::fabs(a.emb[k] - b.emb[k])));
      agree += ta == tb;
    }
    std::printf("  %s: int8 vs fp32 top-1 %d/40, max |dprob| %.4f, max |demb| %.4f\n",
                s.spectral ? "spectral" : "none", agree, max_prob, max_emb);
    EXPECT(agree >= 36) << agree;
    EXPECT(max_prob <= 0.08) << max_prob;
    EXPECT(max_emb <= 0.15) << max_emb;
  }
}

TEST(int8_outputs_identical_on_every_available_kernel) {
  test::TinySpec s = spec_none();
  s.d = 48; s.heads = 4; s.ff = 72;  // widths that are not multiples of typical tiles
  test::RefModel rm = test::random_model(s);
  test::quantize_encoder(&rm, {});
  const auto bytes = test::write_gguf(rm);
  auto ref = load(bytes, "scalar");
  if (!ref) return;
  const auto x = test::random_window(s, 5);
  Out r(*ref);
  EXPECT(ref->run(x.data(), x.size(), r.bufs()).ok());
  for (const kernels::KernelTable* kt : kernels::available_kernels()) {
    auto m = load(bytes, kt->name);
    if (!m) continue;
    EXPECT(m->info().isa == kt->name);
    Out o(*m);
    EXPECT(m->run(x.data(), x.size(), o.bufs()).ok());
    EXPECT(o.probs == r.probs && o.emb == r.emb && o.pe == r.pe && o.ce == r.ce)
        << kt->name << " differs from scalar";
  }
}

// int8 attention (LoadOptions::attention = "int8") vs the same q8 model with float attention,
// on calibrated random models: top-1 agreement and output distances (measured values printed;
// bounds with margin). Also: bit-identical on every kernel table and with threads, and only
// models with an int8 linear switch.
TEST(int8_attention_close_to_float_attention) {
  for (const test::TinySpec& base : {spec_none(), spec_spectral()}) {
    test::TinySpec s = base;
    test::RefModel rm = test::random_model(s);
    auto f32 = load(test::write_gguf(rm));
    if (!f32) continue;
    std::map<std::string, float> absmax;
    for (auto& kv : calibrate(*f32, s).input_abs_max) absmax[kv.first] = kv.second;
    test::RefModel qm = rm;
    test::quantize_encoder(&qm, absmax);
    const auto bytes = test::write_gguf(qm);
    auto qf = load(bytes, "", "f32");
    auto qi = load(bytes, "", "int8");
    if (!qf || !qi) continue;
    EXPECT(qf->info().attention == "f32" && qi->info().attention == "int8") << qi->info().attention;
    EXPECT(qi->info().memory_bytes > qf->info().memory_bytes);
    int agree = 0, agree_fp32 = 0;
    double max_prob = 0, max_emb = 0;
    for (uint64_t seed = 1000; seed < 1040; ++seed) {
      auto x = test::random_window(s, seed);
      Out a(*qf), b(*qi), c(*f32);
      EXPECT(qf->run(x.data(), x.size(), a.bufs()).ok());
      EXPECT(qi->run(x.data(), x.size(), b.bufs()).ok());
      EXPECT(f32->run(x.data(), x.size(), c.bufs()).ok());
      size_t ta = 0, tb = 0, tc = 0;
      for (size_t k = 0; k < a.probs.size(); ++k) {
        if (a.probs[k] > a.probs[ta]) ta = k;
        if (b.probs[k] > b.probs[tb]) tb = k;
        if (c.probs[k] > c.probs[tc]) tc = k;
        max_prob = std::max(max_prob, double(std::fabs(a.probs[k] - b.probs[k])));
      }
      for (size_t k = 0; k < a.emb.size(); ++k) max_emb = std::max(max_emb, double(std::fabs(a.emb[k] - b.emb[k])));
      agree += ta == tb;
      agree_fp32 += tc == tb;
    }
    std::printf("  %s: int8 attention vs float attention top-1 %d/40 (vs fp32 model %d/40), "
                "max |dprob| %.4f, max |demb| %.4f\n",
                s.spectral ? "spectral" : "none", agree, agree_fp32, max_prob, max_emb);
    EXPECT(agree >= 36 && agree_fp32 >= 36) << agree << " " << agree_fp32;
    EXPECT(max_prob <= 0.08) << max_prob;
    EXPECT(max_emb <= 0.15) << max_emb;
    // Every kernel table and any thread count give the scalar table's bits.
    const auto x = test::random_window(s, 7);
    auto sc = load(bytes, "scalar", "int8");
    if (!sc) continue;
    Out r(*sc);
    EXPECT(sc->run(x.data(), x.size(), r.bufs()).ok());
    for (const kernels::KernelTable* kt : kernels::available_kernels()) {
      for (int threads : {1, 3}) {
        auto m = load(bytes, kt->name, "int8", threads);
        if (!m) continue;
        Out o(*m);
        EXPECT(m->run(x.data(), x.size(), o.bufs()).ok());
        EXPECT(o.probs == r.probs && o.emb == r.emb && o.pe == r.pe && o.ce == r.ce)
            << kt->name << " threads " << threads << " differs from scalar";
      }
    }
  }
}

// A model mixing int8 and F32 feed-forward linears runs both schedules in one pass (the int8
// pair hands over int8 in q_ffn, a mixed pair goes through the float ffn buffer, which only
// such a model allocates). Outputs stay close to the all-int8 model's.
TEST(mixed_int8_f32_feed_forward) {
  test::TinySpec s = spec_none();
  test::RefModel q8 = test::random_model(s);
  test::quantize_encoder(&q8, {});
  test::RefModel mixed = q8;
  mixed.blocks[0].down.int8 = false;  // int8 ffn_up -> F32 ffn_down (weights: the dequantized ones)
  mixed.blocks[1].up.int8 = false;    // F32 ffn_up -> int8 ffn_down
  auto a = load(test::write_gguf(q8));
  auto b = load(test::write_gguf(mixed));
  if (!a || !b) return;
  EXPECT(b->info().int8_linears + 2 == a->info().int8_linears) << b->info().int8_linears;
  double worst = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const auto x = test::random_window(s, seed);
    Out oa(*a), ob(*b);
    EXPECT(a->run(x.data(), x.size(), oa.bufs()).ok());
    EXPECT(b->run(x.data(), x.size(), ob.bufs()).ok());
    for (size_t k = 0; k < oa.probs.size(); ++k) worst = std::max(worst, double(std::fabs(oa.probs[k] - ob.probs[k])));
    EXPECT(oa.emb != ob.emb);  // the mixed linears really ran in float
  }
  EXPECT(worst <= 0.05) << worst;
}

TEST(attention_option) {
  const auto q8 = [] {
    test::RefModel rm = test::random_model(spec_none());
    test::quantize_encoder(&rm, {});
    return test::write_gguf(rm);
  }();
  const auto f32 = test::write_gguf(test::random_model(spec_none()));
  std::unique_ptr<Model> m;
  LoadOptions o;
  o.attention = "int4";
  Status st = Model::load_buffer(q8.data(), q8.size(), o, &m);
  EXPECT(st.code() == StatusCode::kInvalidArgument) << st.message();
  EXPECT(st.message().find("attention=\"int4\"") != std::string::npos) << st.message();
  // An all-F32 model keeps float attention (there is no int8 path to follow).
  auto mf = load(f32, "", "int8");
  if (mf) EXPECT(mf->info().attention == "f32") << mf->info().attention;
  // $VIGIL_ATTENTION applies when the option is empty; the option wins over it.
  setenv("VIGIL_ATTENTION", "int8", 1);
  auto me = load(q8, "", "");
  auto mo = load(q8, "", "f32");
  unsetenv("VIGIL_ATTENTION");
  if (me) EXPECT(me->info().attention == "int8") << me->info().attention;
  if (mo) EXPECT(mo->info().attention == "f32") << mo->info().attention;
  // Default ("" -> "auto"): float below kInt8AttentionMinTokens tokens, int8 from there on (q8
  // models only); "auto" spelled out is the same.
  auto md = load(q8, "", "");
  if (md) EXPECT(md->info().attention == "f32") << md->info().attention;
  for (const uint32_t tokens : {static_cast<uint32_t>(kInt8AttentionMinTokens - 1),
                                static_cast<uint32_t>(kInt8AttentionMinTokens)}) {
    test::TinySpec ls = spec_none();
    ls.window = tokens * ls.patch;
    ls.d = 8; ls.heads = 2; ls.ff = 8; ls.blocks = 1;
    test::RefModel lm = test::random_model(ls);
    const auto lf32 = test::write_gguf(lm);
    test::quantize_encoder(&lm, {});
    const auto lq8 = test::write_gguf(lm);
    const std::string want = tokens >= kInt8AttentionMinTokens ? "int8" : "f32";
    for (const char* opt : {"", "auto"}) {
      auto ma = load(lq8, "", opt);
      if (ma) EXPECT(ma->info().attention == want) << tokens << " tokens, option '" << opt << "': " << ma->info().attention;
    }
    auto mf32 = load(lf32, "", "auto");
    if (mf32) EXPECT(mf32->info().attention == "f32") << mf32->info().attention;
  }
  // Heads wider than kAttentionMaxHeadDim (int16 scores would overflow int32): "auto" keeps
  // float attention at any length, "int8" is refused with the reason.
  {
    test::TinySpec ws = spec_none();
    ws.window = static_cast<uint32_t>(kInt8AttentionMinTokens) * ws.patch;
    ws.d = static_cast<uint32_t>(ops::kAttentionMaxHeadDim) + 4; ws.heads = 1; ws.ff = 8; ws.blocks = 1;
    test::RefModel wm = test::random_model(ws);
    test::quantize_encoder(&wm, {});
    const auto wq8 = test::write_gguf(wm);
    auto ma = load(wq8, "", "auto");
    if (ma) EXPECT(ma->info().attention == "f32") << ma->info().attention;
    std::unique_ptr<Model> mi;
    LoadOptions oi;
    oi.attention = "int8";
    const Status si = Model::load_buffer(wq8.data(), wq8.size(), oi, &mi);
    EXPECT(si.code() == StatusCode::kInvalidArgument) << si.message();
    EXPECT(si.message().find("head dimensions up to 512") != std::string::npos) << si.message();
  }
}

TEST(threads_give_identical_outputs) {
  test::TinySpec s = spec_none();
  s.window = 256;  // 64 tokens: enough rows to split
  s.d = 32; s.heads = 4; s.ff = 48;
  for (bool int8 : {true, false}) {
    test::RefModel rm = test::random_model(s);
    if (int8) test::quantize_encoder(&rm, {});
    const auto bytes = test::write_gguf(rm);
    const auto x = test::random_window(s, 8);
    auto one = load(bytes);
    if (!one) return;
    Out ref(*one);
    EXPECT(one->run(x.data(), x.size(), ref.bufs()).ok());
    for (int threads : {2, 3, 5}) {
      std::unique_ptr<Model> m;
      LoadOptions o;
      o.threads = threads;
      Status st = Model::load_buffer(bytes.data(), bytes.size(), o, &m);
      EXPECT(st.ok()) << st.message();
      if (!m) continue;
      for (int rep = 0; rep < 20; ++rep) {
        Out out(*m);
        EXPECT(m->run(x.data(), x.size(), out.bufs()).ok());
        EXPECT(out.probs == ref.probs && out.emb == ref.emb && out.pe == ref.pe && out.ce == ref.ce)
            << (int8 ? "int8" : "fp32") << " threads " << threads << " rep " << rep;
      }
    }
  }
}

TEST(runs_are_deterministic_and_independent) {
  test::TinySpec s = spec_none();
  test::RefModel rm = test::random_model(s);
  test::quantize_encoder(&rm, {});
  auto m = load(test::write_gguf(rm));
  if (!m) return;
  const auto x1 = test::random_window(s, 1), x2 = test::random_window(s, 2);
  Out a(*m), b(*m), c(*m);
  EXPECT(m->run(x1.data(), x1.size(), a.bufs()).ok());
  EXPECT(m->run(x2.data(), x2.size(), b.bufs()).ok());
  EXPECT(m->run(x1.data(), x1.size(), c.bufs()).ok());
  EXPECT(a.probs == c.probs && a.emb == c.emb && a.pe == c.pe) << "state leaked between runs";
  EXPECT(a.emb != b.emb);
  double sum = 0;
  for (float p : a.probs) sum += p;
  EXPECT(std::fabs(sum - 1.0) < 1e-5) << sum;
}

TEST(input_boundary) {
  auto m = load(test::write_gguf(test::random_model(spec_none())));
  if (!m) return;
  Out o(*m);
  std::vector<float> x(m->input_length(), 0.1f);
  Status s = m->run(x.data(), x.size() - 1, o.bufs());
  EXPECT(s.code() == StatusCode::kInputShape) << s.message();
  EXPECT(s.message().find("expected windowLength * channelCount = 96") != std::string::npos) << s.message();
  x[17] = std::nanf("");
  s = m->run(x.data(), x.size(), o.bufs());
  EXPECT(s.code() == StatusCode::kInputNonFinite) << s.message();
  EXPECT(s.message().find("index 17") != std::string::npos) << s.message();
  x[17] = -INFINITY;
  EXPECT(m->run(x.data(), x.size(), o.bufs()).code() == StatusCode::kInputNonFinite);
  x[17] = 3.0e38f;  // finite but huge: runs (outputs may saturate, never crash)
  EXPECT(m->run(x.data(), x.size(), o.bufs()).ok());
  OutputBuffers bad = o.bufs();
  bad.patch_error = nullptr;
  x[17] = 0.0f;
  EXPECT(m->run(x.data(), x.size(), bad).code() == StatusCode::kInvalidArgument);
}

TEST(calibration_reset) {
  auto m = load(test::write_gguf(test::random_model(spec_none())));
  if (!m) return;
  Out o(*m);
  const auto x = test::random_window(spec_none(), 3);
  EXPECT(m->run(x.data(), x.size(), o.bufs()).ok());
  EXPECT(m->calibration().windows == 0);  // not recording yet
  EXPECT(m->set_calibration(true).ok());
  EXPECT(m->run(x.data(), x.size(), o.bufs()).ok());
  CalibrationStats cs = m->calibration();
  EXPECT(cs.windows == 1 && cs.input_abs_max.size() == 1 + 4 * 2 + 2) << cs.input_abs_max.size();
  // patch_embd's input is the normalized window: its max is computable here.
  double mx = 0;
  const test::RefModel rm = test::random_model(spec_none());
  for (size_t t = 0; t < 32; ++t)
    for (size_t c = 0; c < 3; ++c) mx = std::max(mx, std::fabs((double(x[t * 3 + c]) - rm.mean[c]) / rm.std[c]));
  EXPECT_NEAR(cs.input_abs_max[0].second, mx, 1e-5 * mx);
  m->reset_calibration();
  EXPECT(m->calibration().windows == 0 && m->calibration().input_abs_max[0].second == 0.0f);
}

int main() { return vigil::test::run_all_tests(); }
