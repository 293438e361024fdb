// libFuzzer target: the GGUF loader and the run boundary.
// Every input must be answered with a status (never a crash, hang, leak or out-of-bounds read:
// built with -fsanitize=fuzzer,address,undefined). When a file loads, the model is also run on
// windows made from the input's own bytes (float bit patterns: NaN, Inf, denormals, 3e38) and
// the answer must be consistent: non-finite -> ENGINE_INPUT_NONFINITE, otherwise OK.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "vigil/engine.h"

namespace {

// Keep each execution fast: a hostile-but-valid file can describe a model that is legal yet
// slow (4096 tokens); those are loaded (the part under test) but not run.
constexpr size_t kMaxRunMemory = 8u << 20;

void check_run(vigil::Model& m, const uint8_t* data, size_t size) {
  const vigil::ModelInfo& info = m.info();
  if (info.memory_bytes > kMaxRunMemory) return;
  const size_t n = m.input_length();
  std::vector<float> x(n), probs(info.hp.class_count), emb(info.hp.embedding_length),
      pe(info.hp.tokens), ce(info.hp.feature_channels);
  vigil::OutputBuffers out{probs.data(), emb.data(), pe.data(), ce.data()};
  bool finite = true;
  for (size_t j = 0; j < n; ++j) {
    uint32_t bits = 0;
    for (size_t b = 0; b < 4 && size > 0; ++b) bits |= uint32_t{data[(4 * j + b) % size]} << (8 * b);
    std::memcpy(&x[j], &bits, 4);
    finite = finite && std::isfinite(x[j]);
  }
  vigil::Status s = m.run(x.data(), n, out);
  if (finite != s.ok()) __builtin_trap();
  if (!finite && s.code() != vigil::StatusCode::kInputNonFinite) __builtin_trap();
  // A window of small finite values always runs.
  for (size_t j = 0; j < n; ++j) x[j] = static_cast<float>(data[j % size]) / 64.0f - 2.0f;
  if (!m.run(x.data(), n, out).ok()) __builtin_trap();
  if (m.run(x.data(), n == 0 ? 1 : n - 1, out).code() != vigil::StatusCode::kInputShape) __builtin_trap();
  std::vector<float> f(m.feature_length());
  if (!m.features(x.data(), n, f.data(), f.size()).ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<vigil::Model> m;
  vigil::LoadOptions o;
  o.isa = "scalar";  // deterministic across machines; the kernel tables are equal by test
  vigil::Status s = vigil::Model::load_buffer(data, size, o, &m);
  if (!s.ok()) {
    if (m != nullptr || s.message().rfind("failed to ", 0) != 0) __builtin_trap();
    return 0;
  }
  if (size > 0) check_run(*m, data, size);
  // Models with an int8 linear also run the optional int8 attention (run-time packing and
  // dynamic scales on whatever shapes the input describes).
  if (size > 0 && m->info().int8_linears > 0) {
    std::unique_ptr<vigil::Model> mi;
    o.attention = "int8";
    if (!vigil::Model::load_buffer(data, size, o, &mi).ok() || mi->info().attention != "int8") __builtin_trap();
    check_run(*mi, data, size);
  }
  return 0;
}
