// vigil_bench_gemm: int8 GEMM throughput per available ISA vs the core's int8 peak.
//
//   vigil_bench_gemm [--quick] [--model] [--epilogue f32|acc|i8|gelu_i8] [--isa NAME] [--json]
// (--model: the benchmark models' linear shapes; --epilogue: the output mode timed, default f32.)
//
// Times are thread CPU time (robust on a shared machine). For each ISA and shape: median of 7 repeats (each repeat runs the GEMM enough times to last
// >= 20 ms), reported as GOPS (2 ops per MAC) and MAC/cycle. The clock is measured with a
// chain of dependent integer adds (1 cycle each on every x86/ARM core we target), so MAC/cycle
// uses the clock actually running (turbo included). On x86 the peak is measured too: a loop
// of independent vpdpbusd zmm (VNNI) or vpmaddwd ymm (AVX2) instructions, i.e. the
// instruction-throughput bound for that ISA on this core. On other ISAs the peak column is the
// documented value for the core class (docs/kernels.md). Timings under qemu mean nothing.
#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace vigil::kernels;
namespace {

// Thread CPU time, not wall time: the build machines are shared (load average often above
// the core count), and CPU time excludes the time slices other processes took from us.
struct Clock {
  using time_point = double;
  static double now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
};

double seconds_since(double t0) { return Clock::now() - t0; }

// Core clock in Hz from a dependent add chain (latency 1 cycle).
double measure_clock_hz() {
  std::vector<double> hz;
  for (int rep = 0; rep < 5; ++rep) {
    const uint64_t iters = 20'000'000;
    uint64_t x = 0;
    const auto t0 = Clock::now();
    for (uint64_t i = 0; i < iters; ++i) {
#if defined(__x86_64__)
      __asm__ volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
          : "+r"(x));
#elif defined(__aarch64__) || defined(__arm__)
      __asm__ volatile(
          "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
          "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
          "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
          "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1"
          : "+r"(x));
#else
      x += 16;
#endif
    }
    const double s = seconds_since(t0);
    hz.push_back(static_cast<double>(iters) * 16.0 / s);
    if (x == 1) std::printf(" ");  // keep x alive
  }
  std::sort(hz.begin(), hz.end());
  return hz[hz.size() / 2];
}

#if defined(__x86_64__)
// Throughput loops: 12 independent accumulators, so latency never limits.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) double peak_vnni_macs_per_s() {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
          a9 = a0, a10 = a0, a11 = a0;
  const __m512i x = _mm512_set1_epi32(0x01020304), y = _mm512_set1_epi32(0x05060708);
  const uint64_t iters = 2'000'000;
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < iters; ++i) {
#define VIGIL_DP(r) r = _mm512_dpbusd_epi32(r, x, y);
    VIGIL_DP(a0) VIGIL_DP(a1) VIGIL_DP(a2) VIGIL_DP(a3) VIGIL_DP(a4) VIGIL_DP(a5)
    VIGIL_DP(a6) VIGIL_DP(a7) VIGIL_DP(a8) VIGIL_DP(a9) VIGIL_DP(a10) VIGIL_DP(a11)
#undef VIGIL_DP
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
  }
  const double s = seconds_since(t0);
  int32_t sink[16];
  __m512i t = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                               _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
  t = _mm512_add_epi32(t, _mm512_add_epi32(_mm512_add_epi32(a8, a9), _mm512_add_epi32(a10, a11)));
  _mm512_storeu_si512(sink, t);
  if (sink[0] == 42) std::printf(" ");
  return static_cast<double>(iters) * 12 * 64 / s;  // 64 MACs per zmm vpdpbusd
}

// The avx_vnni table's instruction, vpdpbusd ymm, in the encoding that table runs here
// (kernels.h table_avx_vnni: VEX on AVX-VNNI CPUs, else EVEX).
#define VIGIL_PEAK_YMM_VNNI(name, target_isa, dpbusd)                                                      \
  __attribute__((target(target_isa))) double name() {                                                     \
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;   \
    const __m256i x = _mm256_set1_epi32(0x01020304), y = _mm256_set1_epi32(0x05060708);                    \
    const uint64_t iters = 2'000'000;                                                                      \
    const auto t0 = Clock::now();                                                                          \
    for (uint64_t i = 0; i < iters; ++i) {                                                                 \
      a0 = dpbusd(a0, x, y); a1 = dpbusd(a1, x, y); a2 = dpbusd(a2, x, y); a3 = dpbusd(a3, x, y);          \
      a4 = dpbusd(a4, x, y); a5 = dpbusd(a5, x, y); a6 = dpbusd(a6, x, y); a7 = dpbusd(a7, x, y);          \
      __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7)); \
    }                                                                                                      \
    const double s = seconds_since(t0);                                                                    \
    int32_t sink[8];                                                                                       \
    const __m256i t = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)), \
                                       _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7))); \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sink), t);                                              \
    if (sink[0] == 42) std::printf(" ");                                                                   \
    return static_cast<double>(iters) * 8 * 32 / s; /* 32 MACs per ymm vpdpbusd */                         \
  }
VIGIL_PEAK_YMM_VNNI(peak_avx_vnni_vex_macs_per_s, "avx2,avxvnni", _mm256_dpbusd_avx_epi32)
VIGIL_PEAK_YMM_VNNI(peak_avx_vnni_evex_macs_per_s, "avx2,avx512vl,avx512vnni", _mm256_dpbusd_epi32)
#undef VIGIL_PEAK_YMM_VNNI

// The exact int16 kernels' sequence, pmaddwd then paddd, on vector type V (intrinsics prefix P:
// _mm256 for avx2, _mm for sse41): 6 chains, each with its own multiplicand so the compiler
// cannot share one multiply.
#define VIGIL_PEAK_MADD(name, target_isa, V, P)                                                           \
  __attribute__((target(target_isa))) double name() {                                                     \
    V a0 = P##_set1_epi32(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;                                 \
    V x = P##_set1_epi32(0x00030004), y0 = P##_set1_epi32(0x00050006), y1 = P##_set1_epi32(1),             \
      y2 = P##_set1_epi32(2), y3 = P##_set1_epi32(3), y4 = P##_set1_epi32(4), y5 = P##_set1_epi32(5);      \
    const uint64_t iters = 2'000'000;                                                                      \
    const auto t0 = Clock::now();                                                                          \
    for (uint64_t i = 0; i < iters; ++i) {                                                                 \
      a0 = P##_add_epi32(a0, P##_madd_epi16(x, y0)); a1 = P##_add_epi32(a1, P##_madd_epi16(x, y1));        \
      a2 = P##_add_epi32(a2, P##_madd_epi16(x, y2)); a3 = P##_add_epi32(a3, P##_madd_epi16(x, y3));        \
      a4 = P##_add_epi32(a4, P##_madd_epi16(x, y4)); a5 = P##_add_epi32(a5, P##_madd_epi16(x, y5));        \
      __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));                  \
      __asm__ volatile("" : "+x"(x), "+x"(y0), "+x"(y1), "+x"(y2), "+x"(y3), "+x"(y4), "+x"(y5));          \
    }                                                                                                      \
    const double s = seconds_since(t0);                                                                    \
    const V t = P##_add_epi32(P##_add_epi32(P##_add_epi32(a0, a1), P##_add_epi32(a2, a3)),                 \
                              P##_add_epi32(a4, a5));                                                      \
    int32_t sink[sizeof(V) / 4];                                                                           \
    std::memcpy(sink, &t, sizeof t);                                                                       \
    if (sink[0] == 42) std::printf(" ");                                                                   \
    return static_cast<double>(iters) * 6 * (sizeof(V) / 2) / s; /* int16 lanes: MACs per pmaddwd */       \
  }
VIGIL_PEAK_MADD(peak_avx2_macs_per_s, "avx2", __m256i, _mm256)
VIGIL_PEAK_MADD(peak_sse41_macs_per_s, "sse4.1", __m128i, _mm)
#undef VIGIL_PEAK_MADD
#endif

// Measured (x86) or documented (ARM) peak in MAC/cycle; 0 when unknown.
double peak_mac_per_cycle(const KernelTable* t, double hz, std::string* how) {
#if defined(__x86_64__)
  if (t->isa == Isa::kAvx512Vnni) {
    double best = 0;
    for (int i = 0; i < 3; ++i) best = std::max(best, peak_vnni_macs_per_s());
    *how = "measured vpdpbusd zmm loop";
    return best / hz;
  }
  if (t->isa == Isa::kAvxVnni) {
    const bool vex = t == table_avx_vnni_vex();
    double best = 0;
    for (int i = 0; i < 3; ++i) {
      best = std::max(best, vex ? peak_avx_vnni_vex_macs_per_s() : peak_avx_vnni_evex_macs_per_s());
    }
    *how = vex ? "measured vpdpbusd ymm loop (VEX)" : "measured vpdpbusd ymm loop (EVEX build)";
    return best / hz;
  }
  if (t->isa == Isa::kSse41) {
    double best = 0;
    for (int i = 0; i < 3; ++i) best = std::max(best, peak_sse41_macs_per_s());
    *how = "measured pmaddwd+paddd xmm loop";
    return best / hz;
  }
  if (t->isa == Isa::kAvx2) {
    double best = 0;
    for (int i = 0; i < 3; ++i) best = std::max(best, peak_avx2_macs_per_s());
    *how = "measured vpmaddwd+vpaddd ymm loop";
    return best / hz;
  }
#endif
  (void)hz;
  if (t->isa == Isa::kNeon) {
    *how = "documented Cortex-A72 smull/smlal";
    return 8;
  }
  if (t->isa == Isa::kNeonDot) {
    *how = "documented Cortex-A76 sdot";
    return 32;
  }
  *how = "none (scalar)";
  return 0;
}

struct Shape {
  size_t m, n, k;
};

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, json = false, model = false;
  std::string mode = "f32";
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else if (std::strcmp(argv[i], "--model") == 0) {
      model = true;
    } else if (std::strcmp(argv[i], "--epilogue") == 0 && i + 1 < argc) {
      mode = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--model] [--epilogue f32|acc|i8|gelu_i8] [--isa NAME] [--json]\n",
                   argv[0]);
      return 2;
    }
  }
  std::vector<Shape> shapes = {{1, 256, 256},    {1, 1024, 1024},  {64, 64, 64},
                               {64, 192, 64},    {128, 512, 128},  {256, 256, 256},
                               {256, 1024, 1024}};
  if (quick) shapes = {{1, 256, 256}, {64, 64, 64}, {128, 512, 128}};
  // --model: the linears of the benchmark models (docs/benchmarks.md), M = tokens:
  // qkv [3d x d], attn_output [d x d], ffn_up [ff x d], ffn_down [d x ff].
  if (model) {
    shapes = {{64, 192, 64},   {64, 64, 64},    {64, 256, 64},    {64, 64, 256},
              {128, 384, 128}, {128, 128, 128}, {128, 512, 128},  {128, 128, 512},
              {256, 768, 256}, {256, 256, 256}, {256, 1024, 256}, {256, 256, 1024}};
  }
  if (mode != "f32" && mode != "acc" && mode != "i8" && mode != "gelu_i8") {
    std::fprintf(stderr, "--epilogue: expected f32, acc, i8 or gelu_i8, got %s\n", mode.c_str());
    return 2;
  }
  const int repeats = quick ? 3 : 7;
  const double min_seconds = quick ? 0.005 : 0.02;

  const double hz = measure_clock_hz();
  if (!json) {
    std::printf("cpu: %s\n", describe_cpu_features().c_str());
    std::printf("core clock (dependent-add chain): %.2f GHz\n", hz / 1e9);
    std::printf("%-12s %-16s %10s %10s %10s %8s  %s\n", "isa", "MxNxK", "GOPS", "MAC/cycle", "peak", "% peak",
                "peak source");
  } else {
    std::printf("{\"clock_hz\":%.0f,\"results\":[", hz);
  }
  bool first = true;
  for (const KernelTable* t : available_kernels()) {
    if (!only.empty() && only != t->name) continue;
    std::string how;
    const double peak = peak_mac_per_cycle(t, hz, &how);
    for (const Shape& s : shapes) {
      if (t->isa == Isa::kScalar && s.m * s.n * s.k > 40'000'000 && quick) continue;
      std::vector<int8_t> a(s.m * s.k), w(s.n * s.k);
      uint32_t r = 12345;
      for (auto& v : a) v = static_cast<int8_t>((r = r * 1664525u + 1013904223u) >> 24);
      for (auto& v : w) v = static_cast<int8_t>(static_cast<int>((r = r * 1664525u + 1013904223u) >> 25) - 64);
      std::vector<uint8_t> packed(t->packed_size(s.n, s.k) + 64);
      void* p = packed.data() + (64 - reinterpret_cast<uintptr_t>(packed.data()) % 64) % 64;
      t->pack(w.data(), s.n, s.k, p);
      std::vector<float> scale(s.n, 0.001f), bias(s.n, 0.5f), out(s.m * s.n);
      std::vector<int8_t> out_i8(s.m * s.n);
      Epilogue ep;
      ep.scale = scale.data();
      ep.bias = bias.data();
      ep.ldo = s.n;
      if (mode == "gelu_i8" || mode == "i8") {  // ffn_up: GELU, requantized to int8 (i8: no GELU)
        ep.act = mode == "i8" ? Activation::kNone : Activation::kGelu;
        ep.out_i8 = out_i8.data();
        ep.out_inv_scale = 20.0f;
      } else {  // f32: plain store; acc: the residual add
        ep.out_f32 = out.data();
        ep.accumulate = mode == "acc";
      }
      t->gemm(s.m, s.n, s.k, a.data(), s.k, p, ep);  // warm up
      // Calibrate the inner count so one repeat lasts >= min_seconds.
      size_t inner = 1;
      for (;;) {
        const auto t0 = Clock::now();
        for (size_t i = 0; i < inner; ++i) t->gemm(s.m, s.n, s.k, a.data(), s.k, p, ep);
        if (seconds_since(t0) >= min_seconds || inner > (1u << 24)) break;
        inner *= 2;
      }
      std::vector<double> secs;
      for (int rep = 0; rep < repeats; ++rep) {
        const auto t0 = Clock::now();
        for (size_t i = 0; i < inner; ++i) t->gemm(s.m, s.n, s.k, a.data(), s.k, p, ep);
        secs.push_back(seconds_since(t0) / static_cast<double>(inner));
      }
      std::sort(secs.begin(), secs.end());
      const double sec = secs[secs.size() / 2];
      const double macs = static_cast<double>(s.m) * s.n * s.k;
      const double gops = 2 * macs / sec / 1e9;
      const double mpc = macs / sec / hz;
      char shape[48];
      std::snprintf(shape, sizeof(shape), "%zux%zux%zu", s.m, s.n, s.k);
      if (json) {
        std::printf("%s{\"isa\":\"%s\",\"shape\":\"%s\",\"gops\":%.2f,\"mac_per_cycle\":%.2f,\"peak_mac_per_cycle\":%.2f}",
                    first ? "" : ",", t->name, shape, gops, mpc, peak);
        first = false;
      } else if (peak > 0) {
        std::printf("%-12s %-16s %10.1f %10.2f %10.1f %7.1f%%  %s\n", t->name, shape, gops, mpc, peak,
                    100.0 * mpc / peak, how.c_str());
      } else {
        std::printf("%-12s %-16s %10.1f %10.2f %10s %8s  %s\n", t->name, shape, gops, mpc, "-", "-", how.c_str());
      }
      std::fflush(stdout);
    }
  }
  if (json) std::printf("]}\n");
  return 0;
}
