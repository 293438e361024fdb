// Kernel tests: every available SIMD kernel against the scalar specification, with exact
// equality (int32 accumulators and every float/int8 epilogue mode), plus dispatch rules.
//
//   vigil_kernels_test exact      edge sizes, all epilogue modes, strided A/output, guards
//   vigil_kernels_test large      a few large shapes (64x192x64, 256x1024x1024, K=4099)
//   vigil_kernels_test dispatch   forced names, unknown/absent/unsupported names
//
// Prints "kernels: exercised <isa>..." for the ISAs it ran. Environment (used under qemu):
//   VIGIL_EXPECT_ISA=neon_dot[,neon]  fail unless each named ISA was available and exercised
//   VIGIL_EXPECT_BEST=neon            fail unless the default selection is exactly that ISA
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

using namespace vigil::kernels;

namespace {

int g_failures = 0;
std::set<std::string> g_exercised;

#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (!(cond)) {                                               \
      ++g_failures;                                              \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
      std::fprintf(stderr, __VA_ARGS__);                         \
      std::fprintf(stderr, "\n");                                \
    }                                                            \
  } while (0)

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint32_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<uint32_t>(s >> 16);
  }
  int range(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint32_t>(hi - lo + 1)); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(next() % 1000001) / 1e6f; }
};

// Values: mostly random, with whole rows/columns at the extremes (the worst case for any
// int16 pairing or u8 shift: -128 * -127 and 127 * 127 everywhere).
std::vector<int8_t> make_a(Rng& rng, size_t m, size_t lda, int variant) {
  std::vector<int8_t> a(m * lda + 1);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < lda; ++j) {
      int v = rng.range(-128, 127);
      if (variant == 1 && i % 3 == 0) v = -128;
      if (variant == 2 && i % 2 == 1) v = 127;
      a[i * lda + j] = static_cast<int8_t>(v);
    }
  }
  return a;
}

std::vector<int8_t> make_w(Rng& rng, size_t n, size_t k, int variant) {
  std::vector<int8_t> w(n * k + 1);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) {
      int v = rng.range(-127, 127);
      if (variant == 1 && i % 2 == 0) v = -127;
      if (variant == 2 && i % 3 == 2) v = 127;
      w[i * k + j] = static_cast<int8_t>(v);
    }
  }
  return w;
}

// Independent reference for the integer part (int64, no shared code with the kernels).
std::vector<int32_t> reference_i32(size_t m, size_t n, size_t k, const int8_t* a, size_t lda,
                                   const int8_t* w) {
  std::vector<int32_t> c(m * n);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      int64_t s = 0;
      for (size_t p = 0; p < k; ++p) s += int64_t{a[i * lda + p]} * int64_t{w[j * k + p]};
      c[i * n + j] = static_cast<int32_t>(s);
    }
  }
  return c;
}

// kF32BiasAccumulate and kI8Bias are the engine's residual linears and its ffn_up into the GELU
// table (forward.cc); the others cover the rest of the Epilogue.
enum Mode { kI32, kF32, kF32Bias, kF32BiasGelu, kF32Accumulate, kI8, kI8Gelu, kF32BiasAccumulate, kI8Bias, kModes };
const char* const kModeNames[] = {"i32", "f32", "f32+bias", "f32+bias+gelu", "f32+=bias+gelu", "i8", "i8+bias+gelu",
                                  "f32+=bias", "i8+bias"};

struct Packed {
  std::vector<uint8_t> buf;
  size_t offset = 0, size = 0;
  const void* data() const { return buf.data() + offset; }
};

constexpr uint8_t kGuard = 0xA5;

// Packs into a deliberately misaligned buffer (offset 1..63) with guard bytes after the end.
Packed pack(const KernelTable* t, const int8_t* w, size_t n, size_t k, size_t offset) {
  Packed p;
  p.size = t->packed_size(n, k);
  p.offset = offset;
  p.buf.assign(p.offset + p.size + 64, kGuard);
  t->pack(w, n, k, p.buf.data() + p.offset);
  for (size_t i = 0; i < 64; ++i) {
    if (p.buf[p.offset + p.size + i] != kGuard) {
      CHECK(false, "%s pack n=%zu k=%zu wrote past packed_size=%zu", t->name, n, k, p.size);
      break;
    }
  }
  return p;
}

// Runs one GEMM with the given mode into a strided output (ldo = n + pad) pre-filled with a
// canary pattern; returns the output bytes (whole buffer, canaries included).
struct Output {
  std::vector<float> f32;
  std::vector<int8_t> i8;
  std::vector<int32_t> i32;
};

Output run(const KernelTable* t, Mode mode, size_t m, size_t n, size_t k, const int8_t* a, size_t lda,
           const Packed& p, const std::vector<float>& scale, const std::vector<float>& bias, size_t ldo,
           float inv_scale) {
  Output o;
  Epilogue ep;
  ep.ldo = ldo;
  ep.scale = scale.data();
  const size_t cells = m * ldo + 1;
  switch (mode) {
    case kI32:
      o.i32.assign(cells, 0x5A5A5A5A);
      ep.out_i32 = o.i32.data();
      ep.scale = nullptr;
      break;
    case kF32:
    case kF32Bias:
    case kF32BiasGelu:
    case kF32Accumulate:
    case kF32BiasAccumulate:
      o.f32.assign(cells, 0.0f);
      for (size_t i = 0; i < cells; ++i) o.f32[i] = 0.25f * static_cast<float>(i % 17) - 2.0f;
      ep.out_f32 = o.f32.data();
      if (mode != kF32) ep.bias = bias.data();
      if (mode == kF32BiasGelu || mode == kF32Accumulate) ep.act = Activation::kGelu;
      ep.accumulate = mode == kF32Accumulate || mode == kF32BiasAccumulate;
      break;
    case kI8:
    case kI8Gelu:
    case kI8Bias:
      o.i8.assign(cells, 0x33);
      ep.out_i8 = o.i8.data();
      ep.out_inv_scale = inv_scale;
      if (mode != kI8) ep.bias = bias.data();
      if (mode == kI8Gelu) ep.act = Activation::kGelu;
      break;
    default:
      break;
  }
  t->gemm(m, n, k, a, lda, p.data(), ep);
  return o;
}

bool same_bits(const Output& x, const Output& y) {
  if (x.i32 != y.i32 || x.i8 != y.i8 || x.f32.size() != y.f32.size()) return false;
  return x.f32.empty() || std::memcmp(x.f32.data(), y.f32.data(), x.f32.size() * sizeof(float)) == 0;
}

// Checks the scalar output against kernels.h's formula written out here (the spec, literally).
void check_scalar_spec(Mode mode, size_t m, size_t n, const std::vector<int32_t>& ref, const Output& o,
                       const std::vector<float>& scale, const std::vector<float>& bias, size_t ldo,
                       float inv_scale) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const int32_t acc = ref[i * n + j];
      const size_t at = i * ldo + j;
      if (mode == kI32) {
        CHECK(o.i32[at] == acc, "scalar i32 (%zu,%zu) %d != %d", i, j, o.i32[at], acc);
        continue;
      }
      volatile float v = static_cast<float>(acc) * scale[j];
      if (mode != kF32 && mode != kI8) v = v + bias[j];
      if (mode == kF32BiasGelu || mode == kF32Accumulate || mode == kI8Gelu) {
        const float x = v;
        // The GELU is the shared vectorizable-erf function (its accuracy against double
        // std::erf is checked by engine_gelu_test); here every path must match its bits.
        v = vigil::kernels::gelu(x);
      }
      if (mode == kI8 || mode == kI8Gelu || mode == kI8Bias) {
        volatile float q = v * inv_scale;
        float c = q;
        int expect;
        if (!(c > -127.0f)) {
          expect = -127;
        } else if (c >= 127.0f) {
          expect = 127;
        } else {
          expect = static_cast<int>(std::round(c));  // round half away from zero
        }
        CHECK(o.i8[at] == expect, "scalar i8 (%zu,%zu) %d != %d (v=%.9g)", i, j, o.i8[at], expect, c);
      } else {
        float expect = v;
        if (mode == kF32Accumulate || mode == kF32BiasAccumulate) {
          volatile float prior = 0.25f * static_cast<float>(at % 17) - 2.0f;
          expect = prior + v;
        }
        CHECK(std::memcmp(&o.f32[at], &expect, 4) == 0, "scalar %s (%zu,%zu) %.9g != %.9g", kModeNames[mode], i,
              j, o.f32[at], expect);
      }
    }
  }
}

// Output cells in the row padding (ldo > n) and past the end must be untouched.
void check_canaries(const KernelTable* t, Mode mode, size_t m, size_t n, size_t ldo, const Output& o) {
  for (size_t i = 0; i <= m; ++i) {
    for (size_t j = (i == m ? 0 : n); j < (i == m ? 1 : ldo); ++j) {
      const size_t at = i * ldo + j;
      bool ok = true;
      if (!o.i32.empty()) ok = o.i32[at] == 0x5A5A5A5A;
      if (!o.i8.empty()) ok = o.i8[at] == 0x33;
      if (!o.f32.empty()) ok = o.f32[at] == 0.25f * static_cast<float>(at % 17) - 2.0f;
      if (!ok) {
        CHECK(false, "%s %s m=%zu n=%zu wrote outside its output at row %zu col %zu", t->name, kModeNames[mode], m,
              n, i, j);
        return;
      }
    }
  }
}

struct Case {
  size_t m, n, k;
};

// One shape: pack for each kernel, run every requested mode, compare bit for bit with scalar.
void check_shape(const std::vector<const KernelTable*>& kernels, size_t m, size_t n, size_t k, uint64_t seed,
                 bool all_modes, bool spec_check) {
  Rng rng(seed);
  const int variant = static_cast<int>(seed % 3);
  const size_t lda = k + (seed % 2 == 0 ? 0 : 5);
  const size_t ldo = n + (seed % 4 == 1 ? 3 : 0);
  std::vector<int8_t> a = make_a(rng, m, lda, variant);
  std::vector<int8_t> w = make_w(rng, n, k, variant);
  std::vector<float> scale(n), bias(n);
  for (size_t j = 0; j < n; ++j) {
    scale[j] = rng.uniform(1e-5f, 4e-4f) * (j % 5 == 0 ? 10.0f : 1.0f);
    bias[j] = rng.uniform(-2.0f, 2.0f);
  }
  const float inv_scale = rng.uniform(2.0f, 60.0f);
  const std::vector<int32_t> ref = reference_i32(m, n, k, a.data(), lda, w.data());

  const KernelTable* scalar = table_scalar();
  const Packed ps = pack(scalar, w.data(), n, k, 0);
  for (int mode = 0; mode < kModes; ++mode) {
    if (!all_modes && mode != kI32 && mode != static_cast<int>(seed % kModes)) continue;
    const Output want = run(scalar, static_cast<Mode>(mode), m, n, k, a.data(), lda, ps, scale, bias, ldo, inv_scale);
    if (spec_check) check_scalar_spec(static_cast<Mode>(mode), m, n, ref, want, scale, bias, ldo, inv_scale);
    check_canaries(scalar, static_cast<Mode>(mode), m, n, ldo, want);
    for (const KernelTable* t : kernels) {
      if (t == scalar) continue;
      const Packed p = pack(t, w.data(), n, k, 1 + seed % 63);
      const Output got = run(t, static_cast<Mode>(mode), m, n, k, a.data(), lda, p, scale, bias, ldo, inv_scale);
      g_exercised.insert(t->name);
      if (!same_bits(got, want)) {
        size_t first = 0;
        const size_t cells = m * ldo;
        for (; first < cells; ++first) {
          const bool diff = (!got.i32.empty() && got.i32[first] != want.i32[first]) ||
                            (!got.i8.empty() && got.i8[first] != want.i8[first]) ||
                            (!got.f32.empty() && std::memcmp(&got.f32[first], &want.f32[first], 4) != 0);
          if (diff) break;
        }
        CHECK(false, "%s != scalar: mode %s m=%zu n=%zu k=%zu lda=%zu ldo=%zu, first diff at row %zu col %zu",
              t->name, kModeNames[mode], m, n, k, lda, ldo, first / ldo, first % ldo);
        if (g_failures > 20) {
          std::fprintf(stderr, "too many failures, stopping\n");
          std::exit(1);
        }
      }
    }
  }
  g_exercised.insert("scalar");
}

// quantize_round (the requantization every int8 output uses) against its definition:
// clamp(round half away from zero, -127, 127), NaN -> -127. Every 251st float bit pattern of
// both signs, plus every float within 64 ulps of each k + 0.5 and of +-0.5 (where a cheaper
// rounding formula could go wrong).
void test_quantize_round() {
  auto expect_of = [](float c) {
    if (!(c > -127.0f)) return -127;
    if (c >= 127.0f) return 127;
    return static_cast<int>(std::round(c));
  };
  size_t checked = 0;
  auto check_one = [&](float c) {
    const int got = quantize_round(c);
    ++checked;
    CHECK(got == expect_of(c), "quantize_round(%.9g) = %d, expected %d", c, got, expect_of(c));
  };
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 251) {
    const uint32_t u = static_cast<uint32_t>(b);
    float c;
    std::memcpy(&c, &u, sizeof c);
    check_one(c);
  }
  for (int k = -128; k <= 127; ++k) {
    for (const float centre : {static_cast<float>(k) + 0.5f, 0.5f, -0.5f}) {
      float lo = centre, hi = centre;
      for (int step = 0; step < 64; ++step) {
        lo = std::nextafter(lo, -1e9f);
        hi = std::nextafter(hi, 1e9f);
        check_one(lo);
        check_one(hi);
      }
      check_one(centre);
    }
  }
  std::printf("kernels: quantize_round checked on %zu values\n", checked);
}

// The int8 epilogue on exact ties: small A and W with scale 0.5 make half of the outputs
// k + 0.5 (both signs), where half-away rounding differs from other roundings; every kernel's
// int8 output (no bias, no activation, inv 1) must equal std::round of the value.
void test_i8_ties(const std::vector<const KernelTable*>& kernels) {
  const size_t m = 7, n = 80, k = 8;  // a partial row block and a partial column tile
  Rng rng(77);
  std::vector<int8_t> a(m * k), w(n * k);
  for (auto& v : a) v = static_cast<int8_t>(rng.range(-3, 3));
  for (auto& v : w) v = static_cast<int8_t>(rng.range(-3, 3));
  std::vector<float> scale(n, 0.5f);
  size_t ties = 0;
  for (const KernelTable* t : kernels) {
    const Packed p = pack(t, w.data(), n, k, 0);
    std::vector<int8_t> out(m * n, 99);
    Epilogue ep;
    ep.scale = scale.data();
    ep.out_i8 = out.data();
    ep.out_inv_scale = 1.0f;
    ep.ldo = n;
    t->gemm(m, n, k, a.data(), k, p.data(), ep);
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        int acc = 0;
        for (size_t q = 0; q < k; ++q) acc += a[i * k + q] * w[j * k + q];
        const float v = static_cast<float>(acc) * 0.5f;
        ties += (acc % 2 != 0) && t == kernels.front();
        CHECK(out[i * n + j] == static_cast<int>(std::round(v)), "%s i8 tie (%zu,%zu) v=%g: %d", t->name, i, j,
              v, out[i * n + j]);
      }
    }
  }
  CHECK(ties > m * n / 4, "only %zu ties among %zu outputs", ties, m * n);
}

// MapS8Fn on every table against map_s8_scalar: every length 0..300 and some longer (the
// vector bodies and every tail), every byte value, a random table; and a byte past n stays.
void test_map_s8(const std::vector<const KernelTable*>& kernels) {
  int8_t table[256];
  uint64_t st = 12345;
  for (int i = 0; i < 256; ++i) {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    table[i] = static_cast<int8_t>(st >> 56);
  }
  std::vector<size_t> lens;
  for (size_t n = 0; n <= 300; ++n) lens.push_back(n);
  for (const size_t n : {1000u, 4096u, 4111u}) lens.push_back(n);
  for (const KernelTable* kt : kernels) {
    CHECK(kt->map_s8 != nullptr, "%s has no map_s8", kt->name);
    if (kt->map_s8 == nullptr) continue;
    for (const size_t n : lens) {
      std::vector<int8_t> x(n + 1), y(n + 1);
      for (size_t i = 0; i <= n; ++i) x[i] = y[i] = static_cast<int8_t>(i * 37 + n);
      kt->map_s8(x.data(), n, table);
      map_s8_scalar(y.data(), n, table);
      CHECK(x == y, "%s map_s8 != scalar at n=%zu", kt->name, n);
    }
    g_exercised.insert(std::string(kt->name));
  }
  // The spec itself: x[i] = table[x[i] + 128].
  int8_t all[256];
  for (int i = 0; i < 256; ++i) all[i] = static_cast<int8_t>(i - 128);
  map_s8_scalar(all, 256, table);
  bool spec = true;
  for (int i = 0; i < 256; ++i) spec = spec && all[i] == table[i];
  CHECK(spec, "map_s8_scalar is not table[x + 128]");
}

int test_exact(const std::vector<const KernelTable*>& kernels) {
  test_map_s8(kernels);
  test_i8_ties(kernels);
  test_quantize_round();
  // Tile edges for every kernel: MR in {1,2,4,6}, panel widths 4/8/16, NR tiles 4/16/32/64/128,
  // K groups 2/4/16, K chunks 512 (neon, neon_dot) / 1024 (avx2, avx512_vnni), column blocks
  // 128/192/256.
  const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 31};
  const size_t ns[] = {1,  3,  4,  5,  7,   8,   9,   13,  15,  16,  17,  23,  24,  25, 31, 32,
                       33, 47, 48, 49, 61,  63,  64,  65,  127, 128, 129, 191, 192, 193, 255, 257};
  const size_t ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 33, 61, 64, 67};
  uint64_t seed = 1;
  size_t cases = 0;
  for (size_t m : ms) {
    for (size_t n : ns) {
      for (size_t k : ks) {
        // every K for small M; a rotating third of the K values otherwise (keeps ASan runs short)
        if (m > 8 && (seed % 3) != 0) {
          ++seed;
          continue;
        }
        check_shape(kernels, m, n, k, seed, /*all_modes=*/m * n * k < 4000 || seed % 7 == 0,
                    /*spec_check=*/seed % 5 == 0);
        ++seed;
        ++cases;
      }
    }
  }
  // K around the 512 chunk boundary, and K not a multiple of 4/8/16 at larger sizes.
  const Case more[] = {{1, 64, 511}, {1, 65, 512}, {1, 129, 513}, {2, 17, 1023}, {5, 33, 1025},
                       {7, 24, 1031}, {6, 64, 512}, {13, 61, 509}, {4, 200, 1000}, {3, 300, 515},
                       // K = 0 (only the bias); K in 3 chunks of the fused x86 drivers (1024:
                       // partial sums stored, added to, then finished) with N past a column block.
                       {3, 17, 0}, {1, 33, 0}, {7, 70, 2049}, {1, 300, 2100}, {6, 300, 2500},
                       // Several full 6 x 64 tiles in a row and across row blocks (avx512_vnni
                       // finishes each in the next tile's K loop): fewer K groups than deferred
                       // vectors (K 1, 16), more (K 100, 64), ragged edges after them.
                       {12, 128, 64}, {13, 192, 16}, {19, 200, 100}, {64, 256, 64}, {25, 130, 1}, {6, 128, 3}};
  for (const Case& c : more) {
    check_shape(kernels, c.m, c.n, c.k, seed++, true, true);
    ++cases;
  }
  std::printf("kernels exact: %zu shapes checked against scalar\n", cases);
  return 0;
}

int test_large(const std::vector<const KernelTable*>& kernels) {
  const Case cases[] = {{64, 192, 64}, {17, 1024, 1024}, {256, 1024, 1024}, {3, 70, 4099}, {1, 1024, 1024}};
  uint64_t seed = 1000;
  for (const Case& c : cases) {
    check_shape(kernels, c.m, c.n, c.k, seed++, /*all_modes=*/false, /*spec_check=*/c.m * c.n * c.k < 3000000);
  }
  std::printf("kernels large: %zu shapes checked against scalar\n", sizeof(cases) / sizeof(cases[0]));
  return 0;
}

int test_dispatch() {
  std::string err;
  const std::vector<const KernelTable*> avail = available_kernels();
  const std::vector<const KernelTable*> compiled = compiled_kernels();
  CHECK(!avail.empty() && avail.back() == table_scalar(), "scalar must be available and last");
  const KernelTable* best = select_kernels(nullptr, &err);
  CHECK(best == avail.front(), "default selection must be the best available");
  CHECK(select_kernels("", &err) == best, "empty name must select the best available");
  for (const KernelTable* t : avail) {
    err.clear();
    CHECK(select_kernels(t->name, &err) == t, "forced '%s' must select exactly it (error: %s)", t->name,
          err.c_str());
    g_exercised.insert(std::string("dispatch:") + t->name);
  }
  err.clear();
  CHECK(select_kernels("avx9000", &err) == nullptr, "unknown name must be rejected");
  CHECK(err.find("unknown kernel ISA 'avx9000'") != std::string::npos, "error for unknown: '%s'", err.c_str());
  const char* const all[] = {"scalar", "neon", "neon_dot", "avx2", "avx512_vnni", "avx_vnni", "sse41"};
  for (const char* name : all) {
    bool is_compiled = false, is_avail = false;
    for (const KernelTable* t : compiled) is_compiled |= std::strcmp(t->name, name) == 0;
    for (const KernelTable* t : avail) is_avail |= std::strcmp(t->name, name) == 0;
    err.clear();
    const KernelTable* t = select_kernels(name, &err);
    if (!is_compiled) {
      CHECK(t == nullptr && err.find("not compiled into this binary") != std::string::npos,
            "'%s' is not compiled in, got table %p error '%s'", name, static_cast<const void*>(t), err.c_str());
    } else if (!is_avail) {
      CHECK(t == nullptr && err.find("not supported by this CPU: needs ") != std::string::npos,
            "'%s' is compiled but unsupported, got table %p error '%s'", name, static_cast<const void*>(t),
            err.c_str());
      std::printf("kernels dispatch: %s rejected: %s\n", name, err.c_str());
    } else {
      CHECK(t != nullptr && std::strcmp(t->name, name) == 0, "'%s' should be selectable", name);
    }
  }
  // Tables carry consistent names and ISAs.
  const KernelTable* by_fn[] = {table_scalar(), table_neon(), table_neon_dot(), table_avx2(), table_avx512_vnni(),
                                table_avx_vnni(), table_sse41()};
  for (int i = 0; i < 7; ++i) {
    if (by_fn[i] != nullptr) {
      CHECK(std::strcmp(by_fn[i]->name, all[i]) == 0, "table %d is named %s", i, by_fn[i]->name);
      CHECK(static_cast<int>(by_fn[i]->isa) == i, "table %s has isa %d", all[i], static_cast<int>(by_fn[i]->isa));
    }
  }
  // avx_vnni: both encodings of one source, the same name and ISA; the one served is the VEX
  // build where the CPU has AVX-VNNI, else the EVEX build where it has AVX-512 VNNI + VL.
  for (const KernelTable* t : {table_avx_vnni_vex(), table_avx_vnni_evex()}) {
    if (t != nullptr) {
      CHECK(std::strcmp(t->name, "avx_vnni") == 0 && t->isa == Isa::kAvxVnni, "an avx_vnni build is named %s", t->name);
    }
  }
  if (table_avx_vnni() != nullptr && cpu_supports(Isa::kAvxVnni, nullptr)) {
    const CpuFeatures& f = cpu_features();
    const KernelTable* want = f.avx_vnni && table_avx_vnni_vex() != nullptr ? table_avx_vnni_vex() : table_avx_vnni_evex();
    CHECK(table_avx_vnni() == want, "avx_vnni serves the %s build", want == table_avx_vnni_vex() ? "VEX" : "EVEX");
    std::printf("kernels dispatch: avx_vnni runs its %s build here\n", want == table_avx_vnni_vex() ? "VEX" : "EVEX");
  }
  std::printf("kernels dispatch: cpu %s; default %s\n", describe_cpu_features().c_str(), best->name);
  const char* expect_best = std::getenv("VIGIL_EXPECT_BEST");
  if (expect_best != nullptr && expect_best[0] != '\0') {
    CHECK(std::strcmp(best->name, expect_best) == 0, "VIGIL_EXPECT_BEST=%s but the default selection is %s",
          expect_best, best->name);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "exact";
  std::vector<const KernelTable*> kernels = available_kernels();
  std::string names;
  for (const KernelTable* t : kernels) names += std::string(" ") + t->name;
  std::printf("kernels: cpu %s; available:%s\n", describe_cpu_features().c_str(), names.c_str());

  if (what == "exact") {
    test_exact(kernels);
  } else if (what == "large") {
    test_large(kernels);
  } else if (what == "dispatch") {
    test_dispatch();
  } else {
    std::fprintf(stderr, "usage: %s exact|large|dispatch\n", argv[0]);
    return 2;
  }

  std::string ex;
  for (const std::string& s : g_exercised) ex += " " + s;
  std::printf("kernels: exercised%s\n", ex.c_str());
  const char* expect = std::getenv("VIGIL_EXPECT_ISA");
  if (expect != nullptr && expect[0] != '\0') {
    std::string list = expect;
    size_t pos = 0;
    while (pos <= list.size()) {
      const size_t comma = list.find(',', pos);
      const std::string name = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!name.empty()) {
        const bool hit = g_exercised.count(name) != 0 || g_exercised.count("dispatch:" + name) != 0;
        CHECK(hit, "VIGIL_EXPECT_ISA names %s, but it was not available/exercised here", name.c_str());
      }
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  if (g_failures != 0) {
    std::printf("kernels %s: FAILED (%d failures)\n", what.c_str(), g_failures);
    return 1;
  }
  std::printf("kernels %s: ok\n", what.c_str());
  return 0;
}
