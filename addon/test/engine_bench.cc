// Engine timing (not a test: never asserts a time). Builds the brief's three reference shapes
// as random q8 and fp32 vigil-tst models in memory and prints, per kernel path, the median load
// time and the median batch-1 inference time.
//   build/native/test/engine_bench [runs=200] [isa] [tiny|mid|large] [threads=1] [heads=d/32]
// ($VIGIL_ATTENTION=int8 loads the models with int8 attention; `vigil bench` uses 4 heads.
// $VIGIL_BENCH_THRASH_MB=N writes N MB between runs: cold caches, as when other work runs between
// the engine's calls.)
// Compare against onnxruntime in the same run with the project's benchmark scripts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <time.h>

#include "engine_test_model.h"
#include "kernels/dispatch.h"
#include "vigil/engine.h"

namespace {

// Thread CPU time in microseconds: steadier than the wall clock on a shared, loaded machine.
double cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Shape {
  const char* name;
  uint32_t blocks, d, ff, tokens;
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  const std::string only_isa = argc > 2 ? argv[2] : "";  // e.g. "avx512_vnni" (profiling)
  const std::string only_shape = argc > 3 ? argv[3] : "";  // e.g. "mid"
  const int threads = argc > 4 ? std::atoi(argv[4]) : 1;
  const int heads = argc > 5 ? std::atoi(argv[5]) : 0;  // 0: d / 32
  const char* thrash_mb = std::getenv("VIGIL_BENCH_THRASH_MB");
  std::vector<char> thrash(thrash_mb != nullptr ? static_cast<size_t>(std::atoi(thrash_mb)) << 20 : 0, 1);
  // The brief's table: encoder batch 1, frontend none, 1 channel, patch 1 -> seq = tokens.
  const Shape shapes[] = {{"tiny  L2 d64  ff256  seq64 ", 2, 64, 256, 64},
                          {"mid   L4 d128 ff512  seq128", 4, 128, 512, 128},
                          {"large L4 d256 ff1024 seq256", 4, 256, 1024, 256}};
  using clock = std::chrono::steady_clock;
  for (const Shape& sh : shapes) {
    if (!only_shape.empty() && std::string(sh.name).rfind(only_shape, 0) != 0) continue;
    vigil::test::TinySpec s;
    s.window = sh.tokens * 4;
    s.channels = 4;
    s.patch = 4;
    s.d = sh.d;
    s.heads = heads > 0 ? static_cast<uint32_t>(heads) : sh.d / 32;
    s.ff = sh.ff;
    s.blocks = sh.blocks;
    s.classes = 8;
    s.recon = true;
    vigil::test::RefModel m = vigil::test::random_model(s);
    const std::vector<uint8_t> f32 = vigil::test::write_gguf(m);
    vigil::test::quantize_encoder(&m, {});
    const std::vector<uint8_t> q8 = vigil::test::write_gguf(m);
    const std::vector<float> x = vigil::test::random_window(s, 1);
    for (const auto* kt : vigil::kernels::available_kernels()) {
      for (int quant = 1; quant >= 0; --quant) {
        if (!quant && kt != vigil::kernels::available_kernels().front()) continue;
        if (!only_isa.empty() && (only_isa != kt->name || !quant)) continue;
        const std::vector<uint8_t>& bytes = quant ? q8 : f32;
        vigil::LoadOptions o;
        o.isa = kt->name;
        o.threads = threads;
        std::vector<double> load_us;
        std::unique_ptr<vigil::Model> model;
        for (int j = 0; j < 30; ++j) {
          const auto t0 = clock::now();
          vigil::Status st = vigil::Model::load_buffer(bytes.data(), bytes.size(), o, &model);
          load_us.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count());
          if (!st.ok()) {
            std::fprintf(stderr, "%s\n", st.message().c_str());
            return 1;
          }
        }
        const auto& hp = model->info().hp;
        std::vector<float> p(hp.class_count), e(hp.embedding_length), pe(hp.tokens), ce(hp.feature_channels);
        vigil::OutputBuffers out{p.data(), e.data(), pe.data(), ce.data()};
        std::vector<double> run_us, run_cpu_us;
        for (int j = 0; j < runs + 5; ++j) {
          for (size_t i = 0; i < thrash.size(); i += 64) thrash[i] = static_cast<char>(thrash[i] + j);
          const auto t0 = clock::now();
          const double c0 = cpu_us();
          model->run(x.data(), x.size(), out);
          const double c1 = cpu_us();
          if (j >= 5) {
            run_us.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count());
            run_cpu_us.push_back(c1 - c0);
          }
        }
        std::printf("%s %-4s %-12s file %7zu B  load %7.1f us  run %9.1f us  (cpu %9.1f us)\n",
                    sh.name, quant ? "q8" : "f32", quant ? kt->name : "-", bytes.size(),
                    median(load_us), median(run_us), median(run_cpu_us));
      }
    }
  }
  return 0;
}
